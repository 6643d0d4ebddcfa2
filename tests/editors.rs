//! The editor grammars in `editors/` against the language: every keyword and protocol of
//! `grammar/netpol.pest` is known to the TextMate grammar (VS Code), the Vim syntax and the
//! tree-sitter grammar and its highlight queries, and every example has a committed
//! highlighting record that is current and clean (no `invalid` TextMate scope, no tree-sitter
//! `ERROR` or `MISSING` node).
//!
//! This test only reads files. The records it reads are written and checked against the
//! real tools by `editors/test.sh` (vscode-tmgrammar-snap, headless Vim, `tree-sitter test`);
//! when an example changes, that script's update mode rewrites them.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    let path = root().join(rel);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The words of the pest grammar: the `kw_*` rules, the `protocol` rule and the `builtin` rule.
struct Language {
    keywords: BTreeSet<String>,
    protocols: BTreeSet<String>,
    builtins: BTreeSet<String>,
}

/// The double-quoted literals of one pest rule body (`^"tcp"` counts as `tcp`).
fn quoted_literals(body: &str) -> Vec<String> {
    body.split('"').skip(1).step_by(2).map(str::to_string).collect()
}

fn language() -> Language {
    let pest = read("grammar/netpol.pest");
    let mut keywords = BTreeSet::new();
    let mut protocols = BTreeSet::new();
    let mut builtins = BTreeSet::new();
    for line in pest.lines() {
        let Some((name, body)) = line.split_once('=') else {
            continue;
        };
        let name = name.trim();
        if name.starts_with("kw_") {
            let words = quoted_literals(body);
            assert_eq!(words.len(), 1, "{name} should match exactly one word: {line}");
            keywords.insert(words[0].clone());
        } else if name == "protocol" {
            protocols.extend(quoted_literals(body));
        } else if name == "builtin" {
            builtins.extend(quoted_literals(body));
        }
    }
    // Guard against a grammar layout this reader no longer understands.
    assert!(keywords.len() >= 30, "only {} kw_* rules found in netpol.pest", keywords.len());
    for expected in ["accepts", "connects", "does-not-exist", "namespaces", "true"] {
        assert!(keywords.contains(expected), "kw rule for {expected:?} not found");
    }
    assert_eq!(protocols, ["sctp", "tcp", "udp"].map(String::from).into());
    assert!(builtins.contains("kube-dns") && builtins.len() >= 7, "builtins: {builtins:?}");
    Language { keywords, protocols, builtins }
}

/// Splits a regular expression or source text into words of letters and `-`.
fn words(text: &str) -> BTreeSet<&str> {
    text.split(|c: char| !(c.is_ascii_alphabetic() || c == '-'))
        .map(|w| w.trim_matches('-'))
        .filter(|w| !w.is_empty())
        .collect()
}

fn examples() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(root().join("examples")).expect("examples/") {
        let path = entry.expect("examples/ entry").path();
        if path.extension().is_some_and(|e| e == "netpol") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            out.push((name, fs::read_to_string(&path).expect("example")));
        }
    }
    out.sort();
    assert!(out.len() >= 5, "examples/ holds only {} .netpol files", out.len());
    out
}

fn file_names(dir: &Path, suffix: &str) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(suffix).map(str::to_string))
        .collect()
}

// ---- TextMate (VS Code) -------------------------------------------------------------------

/// Every pattern of a TextMate grammar: its regular expressions and the scopes it assigns.
fn textmate_patterns(value: &serde_json::Value, out: &mut Vec<(String, Vec<String>)>) {
    match value {
        serde_json::Value::Object(map) => {
            let regex: Vec<&str> =
                ["match", "begin", "end"].iter().filter_map(|k| map.get(*k)?.as_str()).collect();
            if !regex.is_empty() {
                let mut scopes = Vec::new();
                if let Some(name) = map.get("name").and_then(|n| n.as_str()) {
                    scopes.push(name.to_string());
                }
                for key in ["captures", "beginCaptures", "endCaptures"] {
                    if let Some(caps) = map.get(key).and_then(|c| c.as_object()) {
                        for cap in caps.values() {
                            if let Some(name) = cap.get("name").and_then(|n| n.as_str()) {
                                scopes.push(name.to_string());
                            }
                        }
                    }
                }
                out.push((regex.join(" "), scopes));
            }
            for v in map.values() {
                textmate_patterns(v, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| textmate_patterns(v, out)),
        _ => {}
    }
}

#[test]
fn textmate_grammar_knows_every_keyword_and_protocol() {
    let lang = language();
    let grammar: serde_json::Value =
        serde_json::from_str(&read("editors/vscode/syntaxes/netpol.tmLanguage.json"))
            .expect("netpol.tmLanguage.json is JSON");
    assert_eq!(grammar["scopeName"], "source.netpol");
    let mut patterns = Vec::new();
    textmate_patterns(&grammar, &mut patterns);

    let highlighted = |word: &str, scope_prefixes: &[&str]| {
        patterns.iter().any(|(regex, scopes)| {
            words(regex).contains(word)
                && scopes.iter().any(|s| scope_prefixes.iter().any(|p| s.starts_with(p)))
        })
    };
    let mut missing = Vec::new();
    for kw in &lang.keywords {
        if !highlighted(kw, &["keyword.", "constant.language."]) {
            missing.push(format!("keyword {kw}"));
        }
    }
    for proto in &lang.protocols {
        if !highlighted(proto, &["support.type.protocol."]) {
            missing.push(format!("protocol {proto}"));
        }
    }
    for builtin in &lang.builtins {
        if !highlighted(builtin, &["support.constant."]) {
            missing.push(format!("builtin peer {builtin}"));
        }
    }
    assert!(missing.is_empty(), "netpol.tmLanguage.json does not highlight: {missing:?}");
}

/// The source lines of a vscode-tmgrammar-snap snapshot (lines starting with `>`).
fn snapshot_source(snap: &str) -> Vec<&str> {
    snap.lines().filter_map(|l| l.strip_prefix('>')).collect()
}

#[test]
fn textmate_snapshots_are_current_and_have_no_invalid_scope() {
    let dir = root().join("editors/vscode/test/snap");
    let mut problems = Vec::new();
    let examples = examples();
    for (name, text) in &examples {
        let rel = format!("editors/vscode/test/snap/{name}.netpol.snap");
        let Ok(snap) = fs::read_to_string(root().join(&rel)) else {
            problems.push(format!("{rel} is missing"));
            continue;
        };
        // The snapshot has one source line per newline-separated piece, the last one included.
        if snapshot_source(&snap) != text.split('\n').collect::<Vec<_>>() {
            problems.push(format!("{rel} is not a snapshot of the current examples/{name}.netpol"));
        }
        for (n, line) in snap.lines().enumerate() {
            if line.starts_with('#') && line.contains("invalid") {
                problems.push(format!("{rel}:{}: {line}", n + 1));
            }
        }
    }
    let known: BTreeSet<String> = examples.iter().map(|(n, _)| n.clone()).collect();
    for stale in file_names(&dir, ".netpol.snap").difference(&known) {
        problems.push(format!("{stale}.netpol.snap has no example"));
    }
    assert!(
        problems.is_empty(),
        "TextMate snapshots (refresh with `editors/test.sh --update`):\n{}",
        problems.join("\n")
    );
}

// ---- Vim -----------------------------------------------------------------------------------

#[test]
fn vim_syntax_knows_every_keyword_and_protocol() {
    let lang = language();
    let syntax = read("editors/vim/syntax/netpol.vim");
    let mut vim_keywords = BTreeSet::new();
    for line in syntax.lines() {
        let mut parts = line.split_whitespace();
        if parts.next() != Some("syn") || parts.next() != Some("keyword") {
            continue;
        }
        parts.next(); // the group
        vim_keywords.extend(
            parts
                .filter(|w| !w.contains('=') && !matches!(*w, "contained" | "skipwhite" | "skipnl"))
                .map(str::to_string),
        );
    }
    let missing: Vec<&String> = lang
        .keywords
        .iter()
        .chain(&lang.protocols)
        .chain(&lang.builtins)
        .filter(|w| !vim_keywords.contains(*w))
        .collect();
    assert!(missing.is_empty(), "syntax/netpol.vim has no `syn keyword` for {missing:?}");
    assert!(syntax.contains("syn case ignore"), "protocols are case-insensitive");
}

#[test]
fn vim_expected_files_are_current() {
    let mut problems = Vec::new();
    for (name, text) in examples() {
        let rel = format!("editors/vim/test/expected/{name}.syn");
        let Ok(expected) = fs::read_to_string(root().join(&rel)) else {
            problems.push(format!("{rel} is missing"));
            continue;
        };
        let source: Vec<&str> = expected.lines().filter_map(|l| l.strip_prefix("> ")).collect();
        let lines: Vec<&str> = text.lines().collect();
        if source.len() != lines.len() || source.iter().zip(&lines).any(|(a, b)| a != b) {
            problems.push(format!("{rel} is not a record of the current examples/{name}.netpol"));
        }
    }
    assert!(
        problems.is_empty(),
        "Vim expected files (refresh with `editors/test.sh --update`):\n{}",
        problems.join("\n")
    );
}

// ---- tree-sitter ---------------------------------------------------------------------------

#[test]
fn tree_sitter_grammar_and_highlights_know_every_keyword_and_protocol() {
    let lang = language();
    let grammar_js = read("editors/tree-sitter-netpol/grammar.js");
    let grammar_json = read("editors/tree-sitter-netpol/src/grammar.json");
    let highlights = read("editors/tree-sitter-netpol/queries/highlights.scm");
    let mut missing = Vec::new();
    for kw in lang.keywords.iter().chain(&lang.builtins) {
        if !grammar_js.contains(&format!("'{kw}'")) {
            missing.push(format!("grammar.js: '{kw}'"));
        }
        if !grammar_json.contains(&format!("\"value\": \"{kw}\"")) {
            missing.push(format!("src/grammar.json: {kw} (regenerate the parser)"));
        }
    }
    // Keywords are highlighted by name; `true`/`false` and the builtin peers through their
    // nodes, `(boolean)` and `(builtin_peer)`.
    for kw in &lang.keywords {
        let by_node = matches!(kw.as_str(), "true" | "false");
        if !by_node && !highlights.contains(&format!("\"{kw}\"")) {
            missing.push(format!("highlights.scm: \"{kw}\""));
        }
    }
    for node in ["(boolean)", "(builtin_peer)", "(protocol)"] {
        if !highlights.contains(node) {
            missing.push(format!("highlights.scm: {node}"));
        }
    }
    for proto in &lang.protocols {
        if !grammar_js.contains(&format!("'{proto}'")) {
            missing.push(format!("grammar.js: protocol '{proto}'"));
        }
    }
    assert!(missing.is_empty(), "the tree-sitter grammar lacks: {missing:?}");
}

/// Splits a tree-sitter corpus file into (title, input, expected tree) triples.
fn corpus_tests(text: &str) -> Vec<(String, String, String)> {
    let is_rule = |l: &str, c: char| l.len() >= 3 && l.chars().all(|x| x == c);
    let lines: Vec<&str> = text.lines().collect();
    let mut tests = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !is_rule(lines[i], '=') {
            i += 1;
            continue;
        }
        let title = lines.get(i + 1).copied().unwrap_or_default().to_string();
        let mut j = i + 2;
        while j < lines.len() && !is_rule(lines[j], '=') {
            j += 1;
        }
        let body_start = j + 1;
        let mut k = body_start;
        while k < lines.len() && !is_rule(lines[k], '-') {
            k += 1;
        }
        let mut end = k + 1;
        while end < lines.len() && !is_rule(lines[end], '=') {
            end += 1;
        }
        let input = lines[body_start..k.min(lines.len())].join("\n");
        let tree = lines[(k + 1).min(lines.len())..end].join("\n");
        tests.push((title, input, tree));
        i = end;
    }
    tests
}

#[test]
fn tree_sitter_parses_every_example_without_errors() {
    let dir = root().join("editors/tree-sitter-netpol/test/corpus/examples");
    let mut problems = Vec::new();
    let examples = examples();
    for (name, text) in &examples {
        let rel = format!("editors/tree-sitter-netpol/test/corpus/examples/{name}.txt");
        let Ok(corpus) = fs::read_to_string(root().join(&rel)) else {
            problems.push(format!("{rel} is missing"));
            continue;
        };
        let tests = corpus_tests(&corpus);
        let [(title, input, tree)] = tests.as_slice() else {
            problems.push(format!("{rel} should hold exactly one test, not {}", tests.len()));
            continue;
        };
        if title != &format!("examples/{name}.netpol") || input.trim() != text.trim() {
            problems.push(format!("{rel} is not a test of the current examples/{name}.netpol"));
        }
        if !tree.trim_start().starts_with("(source_file") {
            problems.push(format!("{rel}: no expected tree"));
        }
        for bad in ["ERROR", "MISSING"] {
            if tree.contains(bad) {
                problems.push(format!("{rel}: the expected tree has {bad} nodes"));
            }
        }
    }
    let known: BTreeSet<String> = examples.iter().map(|(n, _)| n.clone()).collect();
    for stale in file_names(&dir, ".txt").difference(&known) {
        problems.push(format!("test/corpus/examples/{stale}.txt has no example"));
    }
    assert!(
        problems.is_empty(),
        "tree-sitter example corpus (refresh with `editors/test.sh --update`):\n{}",
        problems.join("\n")
    );
}

#[test]
fn corpus_reader_splits_tests() {
    let text =
        "===\na\n===\n\nx -> y\n\n---\n\n(source_file)\n\n===\nb\n===\nz\n---\n(source_file (ERROR))\n";
    let tests = corpus_tests(text);
    assert_eq!(tests.len(), 2);
    assert_eq!(tests[0].0, "a");
    assert_eq!(tests[0].1.trim(), "x -> y");
    assert_eq!(tests[0].2.trim(), "(source_file)");
    assert_eq!(tests[1].1.trim(), "z");
    assert!(tests[1].2.contains("ERROR"));
}
