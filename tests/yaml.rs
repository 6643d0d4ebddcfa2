//! Emitted YAML reads the same under YAML 1.1 (kubectl's go-yaml v2, PyYAML) and YAML 1.2
//! (serde_yaml): every document of every example on every target, generated label values and
//! arbitrary strings. The YAML 1.1 reader here is written from the YAML 1.1 type repository
//! (yaml.org/type/*.html), independently of `netpol::yaml`, over saphyr-parser's events; the
//! YAML 1.2 reader is serde_yaml. `.ci/run` also compares PyYAML's reading (.ci/yaml11.py).

mod common;

use common::*;
use netpol::backend::Target;
use proptest::prelude::*;
use regex::Regex;
use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::{json, Value};
use std::sync::LazyLock;

/// How YAML 1.1 types a plain scalar, from the type repository's regular expressions (with
/// go-yaml v2's `0o` octal, which kubectl accepts too). Timestamps and merge keys are marked.
fn yaml11_scalar(s: &str) -> Value {
    static BOOL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$")
            .unwrap()
    });
    static NULL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(~|null|Null|NULL|)$").unwrap());
    static INT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^([-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?0o[0-7_]+|[-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+)$").unwrap()
    });
    static FLOAT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^([-+]?([0-9][0-9_]*)?\.[0-9.]*([eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$").unwrap()
    });
    static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]*)?([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?)$").unwrap()
    });
    if BOOL.is_match(s) {
        return Value::Bool(matches!(
            s,
            "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON"
        ));
    }
    if NULL.is_match(s) {
        return Value::Null;
    }
    if INT.is_match(s) {
        let t = s.replace('_', "");
        let (neg, t) = match t.strip_prefix('-') {
            Some(r) => (true, r.to_string()),
            None => (false, t.trim_start_matches('+').to_string()),
        };
        let v = if t.contains(':') {
            t.split(':').fold(0i64, |a, d| a * 60 + d.parse::<i64>().unwrap())
        } else if let Some(b) = t.strip_prefix("0b") {
            i64::from_str_radix(b, 2).unwrap()
        } else if let Some(h) = t.strip_prefix("0x") {
            i64::from_str_radix(h, 16).unwrap()
        } else if let Some(o) = t.strip_prefix("0o") {
            i64::from_str_radix(o, 8).unwrap()
        } else if t.len() > 1 && t.starts_with('0') {
            i64::from_str_radix(&t[1..], 8).unwrap()
        } else {
            t.parse::<i64>().unwrap()
        };
        return json!(if neg { -v } else { v });
    }
    if FLOAT.is_match(s) {
        return json!({ "!!float": s });
    }
    if TIMESTAMP.is_match(s) {
        return json!({ "!!timestamp": s });
    }
    if s == "<<" || s == "=" {
        return json!({ "!!merge-or-value": s });
    }
    Value::String(s.to_string())
}

/// A document read with YAML 1.1 typing.
fn read_yaml11(doc: &str) -> Value {
    enum Open {
        Seq(Vec<Value>),
        Map(serde_json::Map<String, Value>, Option<String>),
    }
    let mut stack = Vec::new();
    let mut root = Value::Null;
    for ev in Parser::new_from_str(doc) {
        let (ev, _) = ev.expect("YAML");
        let v = match ev {
            Event::SequenceStart(..) => {
                stack.push(Open::Seq(Vec::new()));
                continue;
            }
            Event::MappingStart(..) => {
                stack.push(Open::Map(serde_json::Map::new(), None));
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Open::Seq(v)) => Value::Array(v),
                _ => panic!("unbalanced"),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Open::Map(m, _)) => Value::Object(m),
                _ => panic!("unbalanced"),
            },
            Event::Scalar(t, ScalarStyle::Plain, _, None) => yaml11_scalar(&t),
            Event::Scalar(t, ..) => Value::String(t.into_owned()),
            _ => continue,
        };
        match stack.last_mut() {
            None => root = v,
            Some(Open::Seq(items)) => items.push(v),
            Some(Open::Map(m, key)) => match key.take() {
                Some(k) => {
                    m.insert(k, v);
                }
                // A key YAML 1.1 types as a boolean or number is not the string it should be.
                None => {
                    *key = Some(match v {
                        Value::String(s) => s,
                        other => format!("(non-string key {other})"),
                    })
                }
            },
        }
    }
    root
}

fn read_yaml12(doc: &str) -> Value {
    serde_yaml::from_str(doc).expect("YAML 1.2")
}

fn assert_same_reading(doc: &str, context: &str) {
    let (a, b) = (read_yaml11(doc), read_yaml12(doc));
    assert_eq!(a, b, "{context}: YAML 1.1 and 1.2 read differently:\n{doc}");
    assert_eq!(netpol::yaml::parse(doc).as_ref(), Ok(&b), "{context}: netpol's read-back differs:\n{doc}");
}

#[test]
fn every_example_reads_the_same_under_yaml_1_1_and_1_2() {
    let mut documents = 0;
    for path in examples() {
        for target in Target::ALL {
            let c = netpol::driver::compile(
                std::slice::from_ref(&path),
                &DiskLoader,
                &netpol::driver::Options { targets: vec![target], ..Default::default() },
            );
            for (_, objects) in &c.outputs {
                for o in objects {
                    assert_same_reading(&o.yaml, &format!("{path} ({})", target.name()));
                    documents += 1;
                }
            }
        }
    }
    assert!(documents > 50, "only {documents} documents");
}

/// Label values that YAML 1.1 and 1.2 readers type differently, each a valid Kubernetes label
/// value and name.
const TRAPS: &[&str] = &[
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "Y",
    "N",
    "Yes",
    "ON",
    "Off",
    "true",
    "False",
    "null",
    "1_000",
    "0o17",
    "010",
    "08",
    "0x1F",
    "0b101",
    "1e3",
    "12e10",
    "2024-01-02",
    "1",
    "007",
    "1.5",
    "3.14e0",
];

#[test]
fn trap_values_are_quoted_on_every_target() {
    for value in TRAPS {
        let src = format!(
            "namespace shop\nworkload web {{ app: \"{value}\", tier: x }}\nworkload db {{ app: db }}\n\
             db accepts tcp 5432 from web\nweb connects to db on tcp 5432\n"
        );
        let c = compile_str(&src, &Target::ALL, &[]);
        assert!(!c.has_errors(), "{value}: {}", render(&c));
        for (t, objects) in &c.outputs {
            let mut seen = false;
            for o in objects {
                assert_same_reading(&o.yaml, &format!("{value} ({})", t.name()));
                seen |= o.yaml.contains(&format!("'{value}'")) || o.yaml.contains(&format!("\"{value}\""));
                let doc = read_yaml12(&o.yaml);
                assert!(!doc.to_string().contains(&format!(":{value},")), "{value} typed in {doc}");
            }
            assert!(seen, "{value} never written quoted for {}", t.name());
        }
    }
}

#[test]
fn the_read_back_refuses_plain_scalars_the_readers_type_differently() {
    for (doc, needle) in [
        ("metadata:\n  labels:\n    app: on\n", "`on`"),
        ("spec:\n  port: 0o17\n", "`0o17`"),
        ("a: 1_000\n", "`1_000`"),
        ("on: x\n", "`on`"),
        ("a: 2024-01-02\n", "timestamp"),
        ("a: 010\n", "`010`"),
    ] {
        let err = netpol::yaml::parse(doc).expect_err(doc);
        assert!(err.contains(needle), "{doc}: {err}");
    }
    for doc in ["a: 'on'\n", "a: \"0o17\"\n", "a: 80\n", "a: true\n", "a: web\n"] {
        assert!(netpol::yaml::parse(doc).is_ok(), "{doc}");
    }
}

/// `verify` reads the objects back: a writer that let a bare `on` through is caught.
#[test]
fn verify_reports_a_document_kubectl_would_read_differently() {
    let src = "namespace shop\nworkload web { app: \"on\" }\nworkload db { app: db }\ndb accepts tcp 5432 from web\n";
    let c = compile_str(src, &[Target::Kubernetes], &[]);
    assert!(!c.has_errors(), "{}", render(&c));
    let mut objects = c.outputs[0].1.clone();
    let program = c.program.as_ref().expect("program");
    let u = netpol::analysis::universe::Universe::new(program);
    let clean = netpol::analysis::targets::read(Target::Kubernetes, &objects, &u);
    assert!(clean.problems.is_empty(), "{:?}", clean.problems);
    for o in &mut objects {
        o.yaml = o.yaml.replace("'on'", "on");
    }
    assert!(objects.iter().any(|o| o.yaml.contains("app: on\n")));
    let broken = netpol::analysis::targets::read(Target::Kubernetes, &objects, &u);
    assert!(
        broken.problems.iter().any(|p| p.contains("plain `on`") && p.contains("quote it")),
        "{:?}",
        broken.problems
    );
}

#[derive(serde::Serialize)]
struct Probe {
    key: String,
    list: Vec<String>,
    map: std::collections::BTreeMap<String, String>,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Any label value, generated from the characters and shapes the traps are made of.
    #[test]
    fn generated_label_values_read_the_same(value in "[0-9a-zA-Z]([-0-9a-zA-Z_.]{0,10}[0-9a-zA-Z])?|[0-9][0-9_]{0,6}|0[oxbOXB][0-9a-fA-F_]{1,4}|[yYnN]|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,3}e[0-9]") {
        let src = format!("namespace shop\nworkload web {{ app: \"{value}\" }}\nweb accepts tcp 80 from namespace shop\n");
        let c = compile_str(&src, &Target::ALL, &[]);
        prop_assume!(!c.has_errors());
        for (t, objects) in &c.outputs {
            for o in objects {
                let (a, b) = (read_yaml11(&o.yaml), read_yaml12(&o.yaml));
                prop_assert_eq!(&a, &b, "{} {}:\n{}", value, t.name(), o.yaml);
                prop_assert_eq!(netpol::yaml::parse(&o.yaml).ok(), Some(b));
            }
        }
    }

    /// Any string, as a key, in a list and as a value, reads back as itself under both.
    #[test]
    fn any_string_round_trips(s in "\\PC{0,12}|[\\x00-\\x7f\u{85}\u{a0}\u{2028}\u{2029}\u{feff}]{0,12}|[ \n]{0,3}[a-z \n]{0,8}") {
        let probe = Probe { key: s.clone(), list: vec![s.clone(), "x".into()], map: [(s.clone(), s.clone())].into() };
        let doc = netpol::yaml::document(&probe);
        let want = json!({ "key": s, "list": [s, "x"], "map": { s.clone(): s } });
        prop_assert_eq!(read_yaml12(&doc), want.clone(), "{}", doc);
        prop_assert_eq!(read_yaml11(&doc), want.clone(), "{}", doc);
        prop_assert_eq!(netpol::yaml::parse(&doc), Ok(want));
    }
}
