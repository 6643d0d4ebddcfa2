//! The selector language against upstream's own cases.

use super::*;
use proptest::prelude::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Ported from the reference evaluator's `calico_selectors_tokenize_and_parse_as_upstream`.
#[test]
fn selectors_tokenize_parse_and_evaluate_as_upstream() {
    let l = labels(&[("a", "x"), ("in", "not"), ("b.c/d-e_f", "")]);
    for (sel, want) in [
        ("", true),
        ("all()", true),
        ("  all( )  ", true),
        ("a == 'x'", true),
        ("a == \"x\"", true),
        ("a != 'x'", false),
        ("missing != 'x'", true),
        ("in == 'not'", true),
        ("in in {'not'}", true),
        ("in not in {'not'}", false),
        ("in not\tin {'not'}", false),
        ("missing not in {'x'}", true),
        ("missing in {'x'}", false),
        ("a in {}", false),
        ("a in {'y', 'x',}", true),
        ("has(b.c/d-e_f)", true),
        ("has( b.c/d-e_f )", true),
        ("b.c/d-e_f == ''", true),
        ("!has(a)", false),
        ("!!has(a)", true),
        ("! has(a)", false),
        ("a == 'y' || has(in) && in == 'not'", true),
        ("(a == 'y' || has(in)) && in == 'no'", false),
        ("!(a == 'y')", true),
        ("a contains 'x'", true),
        ("a starts  with 'x'", true),
        ("a ends with 'y'", false),
        ("global()", true),
    ] {
        let e = parse(sel).unwrap_or_else(|e| panic!("{sel}: {e}"));
        assert_eq!(e.matches(&l), want, "{sel}: {e:?}");
    }
    assert_eq!(parse("!!has(a)").expect("parses"), Expr::Has("a".into()));
    assert_eq!(
        parse("a == 'x' && b != \"y\" || !has(c)").expect("parses"),
        Expr::Or(vec![
            Expr::And(vec![Expr::Eq("a".into(), "x".into()), Expr::Ne("b".into(), "y".into())]),
            Expr::Not(Box::new(Expr::Has("c".into()))),
        ])
    );
    for bad in [
        "a = 'x'",
        "a == x",
        "a == 'x",
        "a == 'x' b",
        "a",
        "has(a",
        "has()",
        "(a == 'x'",
        "a in 'x'",
        "a in {'x'",
        "a & b",
        "a | b",
        "a not 'x'",
        "a starts 'x'",
        "a == 'x' &&",
        "a ≠ 'x'",
        "≠",
        "all(",
        ")",
    ] {
        assert!(parse(bad).is_err(), "{bad} should not parse");
    }
}

#[test]
fn tokens_are_upstreams() {
    assert_eq!(
        tokenize("a in {'x', \"y\"} && !has(b)").expect("tokenizes"),
        vec![
            Tok::Label("a".into()),
            Tok::In,
            Tok::LBrace,
            Tok::Str("x".into()),
            Tok::Comma,
            Tok::Str("y".into()),
            Tok::RBrace,
            Tok::And,
            Tok::Not,
            Tok::Has("b".into()),
            Tok::Eof,
        ]
    );
    // After a label, `in…` is an operator even without a blank, as upstream.
    assert_eq!(tokenize("a inx {}").expect("tokenizes")[1], Tok::In);
    // A selector cannot end in a label (`findIdentifier` returns "" at the end of input).
    assert!(tokenize("a == 'x' || b").is_err());
}

#[test]
fn open_labels_evaluate_by_kleene_logic() {
    use Match::*;
    let get = |k: &str| match k {
        "name" => Lookup::Known(Some("prod")),
        "gone" => Lookup::Known(None),
        _ => Lookup::Unknown,
    };
    for (sel, want) in [
        ("name == 'prod'", Yes),
        ("name != 'prod'", No),
        ("env == 'prod'", Maybe),
        ("!has(env)", Maybe),
        ("env in {}", No),
        ("env not in {}", Yes),
        ("name == 'prod' && env == 'x'", Maybe),
        ("name == 'dev' && env == 'x'", No),
        ("name == 'prod' || env == 'x'", Yes),
        ("name == 'dev' || env == 'x'", Maybe),
        ("!(name == 'dev' || env == 'x')", Maybe),
        ("has(gone)", No),
        ("gone not in {'a'}", Yes),
        ("global()", No),
        ("all()", Yes),
    ] {
        assert_eq!(parse(sel).expect("parses").eval(&get, No), want, "{sel}");
    }
}

#[test]
fn hints_are_required_labels() {
    let usable = |k: &str| k != "skip";
    assert_eq!(parse("a == 'x' && has(b)").expect("p").hint(usable), Some(("a", "x")));
    assert_eq!(parse("has(b) && a in {'x'}").expect("p").hint(usable), Some(("a", "x")));
    assert_eq!(parse("skip == 'x' && a == 'y'").expect("p").hint(usable), Some(("a", "y")));
    assert_eq!(parse("a == 'x' || b == 'y'").expect("p").hint(usable), None);
    assert_eq!(parse("a in {'x', 'y'}").expect("p").hint(usable), None);
    assert_eq!(parse("!(a == 'x')").expect("p").hint(usable), None);
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}a == 'x'{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(parse(&deep).is_err());
    let fine = format!("{}a == 'x'{}", "(".repeat(50), ")".repeat(50));
    assert!(parse(&fine).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// No input makes the tokenizer or the parser panic.
    #[test]
    fn any_text_parses_or_fails_cleanly(s in "[a-z !=&|(){},'\"\t.≠/_-]{0,40}") {
        let _ = parse(&s);
    }

    /// Evaluating with every label known agrees with two-valued evaluation.
    #[test]
    fn known_labels_evaluate_two_valued(
        s in "(a|b|c) (==|!=) '(x|y)'( (&&|\\|\\|) !?has\\((a|b)\\))?",
        a in proptest::option::of("[xy]"),
    ) {
        let e = parse(&s).map_err(|e| TestCaseError::fail(format!("{s}: {e}")))?;
        let mut l = BTreeMap::new();
        if let Some(a) = a {
            l.insert("a".to_string(), a);
        }
        let three = e.eval(&|k| Lookup::Known(l.get(k).map(String::as_str)), Match::Yes);
        prop_assert_eq!(three == Match::Yes, e.matches(&l));
        prop_assert_ne!(three, Match::Maybe);
    }
}
