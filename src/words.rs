//! The pages of the language's words (built-in peers, keywords, protocols, parameter types),
//! from `docs/language/`: one place for the texts that hover shows in the editor and that
//! `netpol explain WORD` prints.

/// Each page with the words it explains. A word is in at most one page.
pub const PAGES: &[(&[&str], &str)] = &[
    (&["anywhere", "anything"], include_str!("../docs/language/anywhere.md")),
    (&["world"], include_str!("../docs/language/world.md")),
    (&["cluster"], include_str!("../docs/language/cluster.md")),
    (&["host"], include_str!("../docs/language/host.md")),
    (&["kube-apiserver"], include_str!("../docs/language/kube-apiserver.md")),
    (&["kube-dns"], include_str!("../docs/language/kube-dns.md")),
    (&["accepts"], include_str!("../docs/language/accepts.md")),
    (&["connects", "connects to"], include_str!("../docs/language/connects.md")),
    (&["refuses"], include_str!("../docs/language/refuses.md")),
    (&["never", "never connects to"], include_str!("../docs/language/never.md")),
    (&["nothing"], include_str!("../docs/language/nothing.md")),
    (&["from"], include_str!("../docs/language/from.md")),
    (&["to"], include_str!("../docs/language/to.md")),
    (&["->"], include_str!("../docs/language/edge.md")),
    (&["on", "and"], include_str!("../docs/language/ports.md")),
    (&["tcp", "udp", "sctp"], include_str!("../docs/language/tcp.md")),
    (
        &["default", "deny", "default deny", "ingress", "egress", "all"],
        include_str!("../docs/language/default.md"),
    ),
    (&["expect", "can", "cannot", "reach"], include_str!("../docs/language/expect.md")),
    (&["namespace"], include_str!("../docs/language/namespace.md")),
    (&["namespaces"], include_str!("../docs/language/namespaces.md")),
    (&["workload"], include_str!("../docs/language/workload.md")),
    (&["group"], include_str!("../docs/language/group.md")),
    (&["param"], include_str!("../docs/language/param.md")),
    (&["if", "else"], include_str!("../docs/language/if.md")),
    (&["import"], include_str!("../docs/language/import.md")),
    (&["except"], include_str!("../docs/language/except.md")),
    (&["in", "notin", "exists", "does-not-exist"], include_str!("../docs/language/selector.md")),
    (&["true", "false"], include_str!("../docs/language/bool.md")),
    (&["bool", "int", "port", "cidr", "string"], include_str!("../docs/language/types.md")),
];

/// The page of `word` (a keyword, built-in peer, protocol or type; protocols in any case).
pub fn page(word: &str) -> Option<&'static str> {
    let word = word.trim();
    let lower = word.to_ascii_lowercase();
    let word = if matches!(lower.as_str(), "tcp" | "udp" | "sctp") { lower.as_str() } else { word };
    PAGES.iter().find(|(words, _)| words.contains(&word)).map(|(_, p)| *p)
}

/// The one-line summary of a word's page: its title after the words.
pub fn summary(word: &str) -> Option<&'static str> {
    let title = page(word)?.lines().next()?;
    Some(title.split_once(": ").map_or(title, |(_, s)| s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_peer_keyword_and_protocol_has_a_page() {
        let grammar = include_str!("../grammar/netpol.pest");
        let keywords = grammar.lines().filter(|l| l.starts_with("kw_")).filter_map(|l| l.split('"').nth(1));
        for word in
            keywords.chain(crate::resolve::RESERVED.iter().copied()).chain(["tcp", "udp", "sctp", "->"])
        {
            assert!(page(word).is_some(), "no page for `{word}`");
        }
        assert_eq!(page("TCP"), page("tcp"));
    }

    #[test]
    fn each_word_is_in_one_page_and_each_page_is_titled() {
        let mut seen = std::collections::HashSet::new();
        for (words, page) in PAGES {
            assert!(page.starts_with("# `"), "{page}");
            for w in *words {
                assert!(seen.insert(*w), "`{w}` twice");
            }
        }
    }
}
