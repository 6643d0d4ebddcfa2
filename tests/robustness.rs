//! No input makes the compiler panic: random bytes, random text made of the language's own
//! tokens, and every truncation of every example.

mod common;

use common::*;
use netpol::backend::Target;
use proptest::prelude::*;

fn no_panic(src: &str) {
    // Every backend runs even when another reports errors, so all three are exercised.
    let c = compile_str(src, &Target::ALL, &[]);
    // Rendering walks every span: a span past the end of its file would panic here.
    let _ = render(&c);
    for (_, objects) in &c.outputs {
        let _ = netpol::yaml::stream(objects);
    }
}

const TOKENS: &[&str] = &[
    "namespace",
    "workload",
    "group",
    "param",
    "if",
    "else",
    "accepts",
    "connects",
    "to",
    "from",
    "on",
    "nothing",
    "refuses",
    "never",
    "->",
    "default",
    "deny",
    "ingress",
    "egress",
    "all",
    "expect",
    "can",
    "cannot",
    "reach",
    "import",
    "namespaces",
    "tcp",
    "udp",
    "sctp",
    "and",
    "except",
    "anywhere",
    "world",
    "kube-dns",
    "web",
    "db",
    "a/b",
    "{",
    "}",
    "(",
    ")",
    ",",
    ":",
    "=",
    "==",
    "!",
    "\n",
    "\n",
    " ",
    "80",
    "0",
    "99999",
    "8000-8100",
    "9-1",
    "10.0.0.0/8",
    "10.0.0.1/8",
    "::/0",
    "fe80::1",
    "300.1.1.1/8",
    "\"x\"",
    "\"*.a.com\"",
    "\"\\q\"",
    "app: web",
    "tier in (a)",
    "cidr",
    "bool",
    "true",
    "# c",
    "é",
    "\r\n",
    "\"",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_do_not_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        no_panic(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_token_soup_does_not_panic(idx in proptest::collection::vec(0..TOKENS.len(), 0..80)) {
        let src: String = idx.iter().map(|i| format!("{} ", TOKENS[*i])).collect();
        no_panic(&src);
    }
}

#[test]
fn every_truncation_of_every_example_is_handled() {
    for path in examples() {
        let text = std::fs::read_to_string(root().join(&path)).expect("read");
        let cuts: Vec<usize> = (0..text.len()).filter(|i| text.is_char_boundary(*i)).step_by(7).collect();
        for cut in cuts {
            no_panic(&text[..cut]);
        }
    }
}

#[test]
fn deep_and_wide_inputs_are_handled() {
    let nested = format!(
        "param p: bool = true\nnamespace n\n{}workload w {{ a: b }}\n{}",
        "if p {\n".repeat(200),
        "}\n".repeat(200)
    );
    no_panic(&nested);
    let wide = format!(
        "namespace n\nworkload w {{ a: b }}\nw accepts tcp {} from anywhere\n",
        (1..3000).map(|p| p.to_string()).collect::<Vec<_>>().join(", ")
    );
    let c = compile_str(&wide, &[Target::Kubernetes], &[]);
    assert!(!c.has_errors(), "{}", render(&c));
}
