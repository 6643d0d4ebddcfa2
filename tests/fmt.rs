//! `netpol fmt` as a library (`netpol::fmt::format_source`): the layout of tricky inputs
//! (snapshots), idempotence, and that formatting never changes what a program means: the
//! same YAML for every target (up to the `file:line` annotations) and the same diagnostics,
//! for every example and for generated programs written in a messy layout.

mod common;

use common::gen;
use common::*;
use netpol::backend::Target;
use netpol::fmt::format_source;
use proptest::prelude::*;

fn fmt(src: &str) -> String {
    match format_source(src) {
        Ok(out) => out,
        Err(d) => {
            panic!("does not format: {:?}\n{src}", d.iter().map(|d| (d.code, &d.message)).collect::<Vec<_>>())
        }
    }
}

/// Snapshots the input and its formatted text, and checks the result is a fixed point.
fn snapshot(name: &str, src: &str) {
    let out = fmt(src);
    assert_eq!(fmt(&out), out, "{name}: formatting the result again changes it");
    insta::assert_snapshot!(name, format!("----- INPUT\n{src}\n----- OUTPUT\n{out}"));
}

#[test]
fn comments_everywhere() {
    snapshot(
        "comments_everywhere",
        "# file header\n\
         namespace shop {   # after the brace\n\
         # first inside, not indented\n\
         workload web { app: web }# glued to the brace\n\
         workload gw {   # after a selector brace\n\
         \x20 app: gw,   # after a term\n\
         \x20 # between terms\n\
         \x20 tier in (edge,   # inside a value list\n\
         \x20   public),\n\
         \x20 # before the closing brace\n\
         }\n\
         group g = web,   # after a peer\n\
         \x20  # between peers\n\
         \x20  gw\n\
         web accepts tcp 80,   # after a port\n\
         \x20     443 from anywhere   \"reason\"   # after a reason\n\
         \x20  # last inside\n\
         }   # after the closing brace\n\
         # file footer",
    );
}

#[test]
fn blank_line_runs() {
    snapshot(
        "blank_line_runs",
        "\n\n\nnamespace a\n\n\n\nworkload w { app: w }\n\n\n# c\n\n\n\nw accepts tcp 80 from anywhere\nnamespace b {\n\n\n  workload v { app: v }\n\n\n\n  v connects to kube-dns\n\n\n}\n\n\n",
    );
}

#[test]
fn nested_blocks_and_conditions() {
    snapshot(
        "nested_blocks_and_conditions",
        "param env: string = \"dev\"\nparam mesh :bool=false\nnamespace shop { workload web { app: web }\n\
         if env==\"prod\"{ web accepts tcp 443 from anywhere } else if !mesh {\nweb accepts tcp 80 from anywhere\n  if env != \"x\" {\n  web connects to kube-dns\n  }\n  } else {}\n\
         if mesh {\n}\n}\nnamespace empty {}\nnamespace commented {\n  # nothing yet\n}\n",
    );
}

#[test]
fn long_lists_keep_their_breaks() {
    snapshot(
        "long_lists_keep_their_breaks",
        "namespace shop\nworkload a { app: a }\nworkload b { app: b }\nworkload c { app: c }\n\
         group everyone =\n  a,\n    b,\n c\n\
         group some = a,\n  b\n\
         a accepts tcp 80, 443,\n    8080, 8443 and udp 53 from b,\n c,\n     10.0.0.0/8 except (10.1.0.0/16,\n 10.2.0.0/16,\n) \"many\"\n\
         a, b,\n c -> kube-dns\n\
         workload d {\n app: d, tier in (x,\n y), }\n\
         workload e { app: e, tier in (x, y), }\n",
    );
}

#[test]
fn ipv6_cidrs_named_ports_and_reasons_with_hashes() {
    snapshot(
        "ipv6_named_ports_reasons",
        "namespace billing\nworkload invoicer{app:invoicer}\n\
         invoicer accepts tcp http , grpc-web from fd00:10::/32 except fd00:10:99::/48 \"offices # IPv6\"\n\
         invoicer connects to ::/0 , 2001:db8::1 on tcp https   \"a \\\"quoted\\\" # reason\"  # and a comment\n\
         invoicer -> \"*.example.com\" on tcp 443 \"# not a comment\"\n\
         expect invoicer can reach 2001:db8::1 on tcp https\n",
    );
}

#[test]
fn alignment_runs() {
    snapshot(
        "alignment_runs",
        "namespace blog\nworkload web { app: web }\nworkload api-server { app: api }\n# a comment keeps the run\nworkload db { app: postgres }\n\n\
         workload cache { app: redis }\nnamespaces prod-teams { env: prod }\nnamespaces t { env: test }\n\
         group data-users = api-server\ngroup app-tier = web, data-users\n\
         web accepts tcp 80 from anywhere \"public\"\nweb -> api-server on tcp 8080 \"pages\"\n\
         web connects to kube-dns\ndefault deny ingress \"lock\"\nexpect web can reach api-server on tcp 8080\n\
         data-users -> db on tcp 5432 \"queries\"\n",
    );
}

#[test]
fn tabs_and_no_trailing_newline() {
    snapshot(
        "tabs_and_no_trailing_newline",
        "namespace\ta\t\t# tabbed\t\n\tworkload\tw\t{\tapp:\tw\t}\nw\taccepts\ttcp\t80\tfrom\tanywhere\t\"tab\tinside\"",
    );
}

#[test]
fn empty_and_comment_only_files() {
    assert_eq!(fmt(""), "");
    assert_eq!(fmt("\n\n  \n"), "");
    assert_eq!(fmt("  # only   \n\n\n   # comments"), "# only\n\n# comments\n");
}

#[test]
fn crlf_input_keeps_crlf() {
    let src = "namespace a\r\n\r\n\r\nworkload  w {app: w}\r\nw accepts tcp 80 from anywhere \"r\" # c\r\n";
    let lf = fmt(&src.replace("\r\n", "\n"));
    assert_eq!(lf, "namespace a\n\nworkload w { app: w }\nw accepts tcp 80 from anywhere  \"r\"  # c\n");
    assert_eq!(fmt(src), lf.replace('\n', "\r\n"));
}

#[test]
fn a_file_that_does_not_parse_gets_the_parse_diagnostics() {
    for src in [
        "namespace a\nworkload w { app: w }\nw accepts tcp 80 frm x\n",
        "namespace a\nw accepts tcp 70000 from x\n",
        // The parser meets the end of the file twice: one diagnostic, as `check` gives.
        "s,\n#",
        // Errors found out of file order are reported in file order.
        "workload w{a:w\n}w",
    ] {
        let codes = |d: &[netpol::diagnostic::Diagnostic]| d.iter().map(|d| d.code).collect::<Vec<_>>();
        let got = format_source(src).expect_err("must refuse");
        let check = compile_str(src, &[], &[]);
        assert_eq!(codes(&got), codes(&check.diagnostics));
        assert_eq!(got, check.diagnostics, "the same diagnostics as `netpol check`");
    }
}

// ---- examples -------------------------------------------------------------------------------

#[test]
fn every_example_is_formatted() {
    for path in examples() {
        let text = std::fs::read_to_string(root().join(&path)).expect("read");
        let out = fmt(&text);
        assert!(
            out == text,
            "{path} is not formatted; run `netpol fmt examples/`:\n{}",
            first_difference(&text, &out)
        );
    }
}

fn first_difference(a: &str, b: &str) -> String {
    let line = a.lines().zip(b.lines()).position(|(x, y)| x != y).unwrap_or(0);
    format!("line {}:\n- {:?}\n+ {:?}", line + 1, a.lines().nth(line), b.lines().nth(line))
}

/// The examples in a scrambled layout (spaces, tabs, indentation, blank-line runs, CRLF, no
/// final newline) format back to exactly the committed file, and mean the same.
#[test]
fn scrambled_examples_format_back_to_the_examples() {
    for path in examples() {
        let text = std::fs::read_to_string(root().join(&path)).expect("read");
        for seed in 1..=4u64 {
            let messy = scramble_spaces(&text, seed);
            let out = fmt(&messy);
            let expected = if messy.contains("\r\n") { text.replace('\n', "\r\n") } else { text.clone() };
            assert!(out == expected, "{path}, seed {seed}:\n{}", first_difference(&expected, &out));
            assert_eq!(meaning(&messy, &[]), meaning(&text, &[]), "{path}, seed {seed}");
        }
    }
}

/// Prefixes of every example (cut at line ends and in the middle of lines, up to 60 per file)
/// either format to a fixed point or get parse diagnostics; the formatter's own safety net
/// never fires.
#[test]
fn truncated_examples_format_or_get_parse_diagnostics() {
    for path in examples() {
        let text = std::fs::read_to_string(root().join(&path)).expect("read");
        let mut cuts = Vec::new();
        let mut start = 0;
        for line in text.split_inclusive('\n') {
            let middle = (start..start + line.len() / 2 + 1).rev().find(|&i| text.is_char_boundary(i));
            cuts.extend(middle);
            start += line.len();
            cuts.push(start - usize::from(line.ends_with('\n')));
        }
        let step = cuts.len().div_ceil(60); // at most 60 cuts per file keeps this test quick
        for cut in cuts.into_iter().step_by(step) {
            match format_source(&text[..cut]) {
                Ok(out) => assert_eq!(fmt(&out), out, "{path} cut at {cut}"),
                Err(d) => assert!(d.iter().all(|d| d.code.starts_with("E00")), "{path} cut at {cut}: {d:?}"),
            }
        }
    }
}

// ---- generated programs -------------------------------------------------------------------

/// What a program means: per target, the error codes, or the YAML with `file:line`
/// annotations reduced to the file (formatting may move lines).
fn meaning(src: &str, sets: &[(&str, &str)]) -> Vec<(Vec<&'static str>, String)> {
    Target::ALL
        .iter()
        .map(|t| {
            let c = compile_str(src, &[*t], sets);
            let yaml = c.outputs.first().map(|(_, o)| netpol::yaml::stream(o)).unwrap_or_default();
            (codes(&c), strip_lines(&yaml))
        })
        .collect()
}

fn strip_lines(yaml: &str) -> String {
    let mut out = String::with_capacity(yaml.len());
    let mut rest = yaml;
    while let Some(i) = rest.find(".netpol:") {
        let (head, tail) = rest.split_at(i + ".netpol:".len());
        out.push_str(head);
        out.push('N');
        rest = tail.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn formatting_is_idempotent_and_keeps_the_meaning((src, seed) in (program(), any::<u64>())) {
        let messy = scramble(&src, seed);
        let out = format_source(&messy).map_err(|d| TestCaseError::fail(format!("{d:?}\n{messy}")))?;
        let again = format_source(&out).map_err(|d| TestCaseError::fail(format!("{d:?}\n{out}")))?;
        prop_assert_eq!(&again, &out, "not idempotent:\n{}", messy);
        for sets in [&[][..], &[("mesh", "true")][..]] {
            prop_assert_eq!(meaning(&messy, sets), meaning(&out, sets), "meaning changed:\n{}\n---- formatted\n{}", messy, out);
        }
    }
}

/// The generator is not vacuous: the scrambled programs really are messy, and most compile.
#[test]
fn generated_programs_are_messy_and_mostly_compile() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut changed, mut compiled) = (0, 0);
    for seed in 0..30u64 {
        let src = program().new_tree(&mut runner).expect("tree").current();
        let messy = scramble(&src, seed);
        changed += usize::from(fmt(&messy) != messy);
        // For some target: each refuses some constructs (Cilium, e.g., port names on egress).
        compiled += usize::from(Target::ALL.iter().any(|t| !compile_str(&messy, &[*t], &[]).has_errors()));
    }
    assert!(changed >= 28, "only {changed} of 30 scrambled programs needed formatting");
    assert!(compiled >= 15, "only {compiled} of 30 generated programs compiled");
}

/// A random program (`tests/common/gen.rs`) with every construct whose layout matters:
/// namespace blocks, `if`/`else`, groups, edges, reasons (with `#` inside), selectors with
/// lists, IPv6 networks, named ports and `expect`.
fn program() -> impl Strategy<Value = String> {
    gen::program(gen::Shape { conditional: true, isolation: false, expects: true, denies: false })
}

// ---- scrambling -----------------------------------------------------------------------------

/// A small deterministic random source for the scramblers.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
    fn blanks(&mut self, min: u64) -> String {
        (0..min + self.below(3)).map(|_| if self.below(3) == 0 { '\t' } else { ' ' }).collect()
    }
}

/// Splits a line into code and the rest from its comment on; strings stay in the code part.
fn split_comment(line: &str) -> (&str, &str) {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '#' if !in_string => return (&line[..i], &line[i..]),
            _ => {}
        }
    }
    (line, "")
}

/// `code` with every run of spaces outside strings replaced by 1–3 random blanks, and no space
/// at all next to brackets, commas and colons where `tight` says so.
fn scramble_code(code: &str, rng: &mut Rng, tight: bool) -> String {
    let mut out = String::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = code.trim().chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            ' ' => {
                while chars.next_if_eq(&' ').is_some() {}
                let next = chars.peek().copied().unwrap_or(' ');
                let prev = out.chars().last().unwrap_or(' ');
                let punct = |c: char| "{}(),:".contains(c);
                if !(tight && (punct(next) || punct(prev)) && rng.below(2) == 0) {
                    out.push_str(&rng.blanks(1));
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Only horizontal changes and blank-line runs, which the layout does not keep: the result
/// formats back to the same text as `text`.
fn scramble_spaces(text: &str, seed: u64) -> String {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut out = String::new();
    for line in text.lines() {
        let (code, comment) = split_comment(line);
        out.push_str(&rng.blanks(0));
        out.push_str(&scramble_code(code, &mut rng, true));
        if !comment.is_empty() {
            out.push_str(&rng.blanks(u64::from(!code.trim().is_empty())));
            out.push_str(comment);
        }
        out.push_str(&rng.blanks(0));
        out.push('\n');
        if line.trim().is_empty() {
            out.push_str(&"\n".repeat(rng.below(3) as usize));
        }
    }
    finish_scramble(out, &mut rng)
}

/// Everything [`scramble_spaces`] does, plus new line breaks after commas, trailing and
/// full-line comments, and blank lines anywhere between statements.
fn scramble(text: &str, seed: u64) -> String {
    let mut rng = Rng(seed | 1);
    let mut out = String::new();
    for line in text.lines() {
        if rng.below(6) == 0 {
            out.push_str(&format!("{}# note {}\n", rng.blanks(0), rng.below(100)));
        }
        let code = scramble_code(line, &mut rng, true);
        let mut broken = String::new();
        let mut in_string = false;
        for c in code.chars() {
            broken.push(c);
            if c == '"' {
                in_string = !in_string;
            }
            if c == ',' && !in_string && rng.below(4) == 0 {
                if rng.below(2) == 0 {
                    broken.push_str(" # after a comma");
                }
                broken.push('\n');
                broken.push_str(&rng.blanks(0));
            }
        }
        out.push_str(&rng.blanks(0));
        out.push_str(&broken);
        if rng.below(4) == 0 {
            out.push_str(&format!("{}# trailing", rng.blanks(1)));
        }
        out.push('\n');
        out.push_str(&"\n".repeat(rng.below(4).saturating_sub(2) as usize));
    }
    finish_scramble(out, &mut rng)
}

/// Sometimes CRLF line ends, sometimes no final newline.
fn finish_scramble(mut out: String, rng: &mut Rng) -> String {
    if rng.below(3) == 0 {
        out = out.replace('\n', "\r\n");
    }
    if rng.below(3) == 0 {
        out = out.trim_end_matches(['\r', '\n']).to_string();
    }
    out
}
