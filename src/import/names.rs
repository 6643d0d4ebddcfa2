//! Names for the workloads and namespace sets an import declares: from the labels people name
//! workloads by, else from the policy's name; always valid (a DNS-1123 label that is a name in
//! the language, no keyword, no built-in peer) and unique.

use crate::ir::{LabelOp, LabelSelector};
use std::collections::BTreeSet;

/// The labels that name a workload, most telling first.
const NAME_LABELS: [&str; 9] = [
    "app.kubernetes.io/name",
    "app",
    "k8s-app",
    "name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "component",
    "role",
    "tier",
];

/// Labels that differ per pod or per revision: a selector on one picks one pod, or one rollout,
/// and stops matching when the pods are replaced (kubernetes/website `well-known labels`).
pub const PER_POD_LABELS: [&str; 8] = [
    "pod-template-hash",
    "controller-revision-hash",
    "pod-template-generation",
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
    "controller-uid",
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-completion-index",
];

/// The language's words: never a declared name.
const WORDS: [&str; 41] = [
    "import",
    "namespace",
    "namespaces",
    "workload",
    "group",
    "param",
    "if",
    "else",
    "accepts",
    "connects",
    "refuses",
    "never",
    "nothing",
    "from",
    "to",
    "on",
    "and",
    "except",
    "default",
    "deny",
    "ingress",
    "egress",
    "all",
    "expect",
    "can",
    "cannot",
    "reach",
    "in",
    "notin",
    "exists",
    "does-not-exist",
    "true",
    "false",
    "tcp",
    "udp",
    "sctp",
    "anywhere",
    "anything",
    "world",
    "cluster",
    "host",
];

/// `text` as a name: lower case, runs of other characters as one `-`, starting with a letter,
/// at most 63 characters; `None` when nothing is left.
pub fn sanitize(text: &str) -> Option<String> {
    let mut out = String::new();
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let start = out.find(|c: char| c.is_ascii_lowercase())?;
    let mut out = out[start..].to_string();
    out.truncate(63);
    while out.ends_with('-') {
        out.pop();
    }
    Some(out).filter(|s| !s.is_empty())
}

/// Whether `name` may be declared as is.
pub fn is_free_word(name: &str) -> bool {
    !WORDS.contains(&name) && name != "kube-apiserver" && name != "kube-dns"
}

/// The value a selector gives a label key: its exact value, or its one `in` value.
fn value_of<'a>(s: &'a LabelSelector, key: &str) -> Option<&'a str> {
    s.match_labels.get(key).map(String::as_str).or_else(|| {
        s.expressions
            .iter()
            .find(|e| e.key == key && e.op == LabelOp::In && e.values.len() == 1)
            .map(|e| e.values[0].as_str())
    })
}

/// Names to try for a workload, best first.
pub fn workload_candidates(s: &LabelSelector, policy: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    let primary = NAME_LABELS.iter().find_map(|k| value_of(s, k));
    if let Some(p) = primary {
        out.push(p.to_string());
        // With the other exact values: `api` and `api-canary`.
        let rest: Vec<&str> = s.match_labels.values().map(String::as_str).filter(|v| *v != p).collect();
        if !rest.is_empty() {
            out.push(format!("{p}-{}", rest.join("-")));
        }
    }
    if let Some(p) = policy {
        out.push(p.to_string());
    }
    if primary.is_none() {
        let all: Vec<&str> = s.match_labels.values().map(String::as_str).collect();
        if !all.is_empty() {
            out.push(all.join("-"));
        }
    }
    if s.is_empty() {
        out.push("all-pods".to_string());
    }
    out
}

/// Names to try for a namespace set.
pub fn set_candidates(s: &LabelSelector) -> Vec<String> {
    let mut out = Vec::new();
    if s.is_empty() {
        out.push("all-namespaces".to_string());
    }
    let labels: Vec<String> = s.match_labels.iter().map(|(k, v)| format!("{}-{v}", last(k))).collect();
    if !labels.is_empty() {
        out.push(format!("{}-namespaces", labels.join("-")));
    }
    let exprs: Vec<String> =
        s.expressions.iter().map(|e| format!("{}-{}", last(&e.key), e.values.join("-"))).collect();
    if !exprs.is_empty() {
        out.push(format!("{}-namespaces", exprs.join("-")));
    }
    out.push("namespaces-set".to_string());
    out
}

fn last(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

/// The first candidate not in `taken` (sanitized), else the first with a number; recorded.
/// Names for a group of peers (as written): its members joined when that is short, else the
/// first two and "others".
pub fn group_candidates(peers: &[String]) -> Vec<String> {
    let simple: Vec<&str> = peers
        .iter()
        .map(|p| p.rsplit('/').next().unwrap_or(p).trim_matches('"'))
        .map(|p| p.split_whitespace().last().unwrap_or(p))
        .collect();
    let mut out = Vec::new();
    let joined = simple.join("-");
    if joined.len() <= 32 {
        out.push(joined);
    }
    if let [a, b, ..] = simple.as_slice() {
        out.push(format!("{a}-{b}-and-others"));
    }
    out.push("peers".to_string());
    out
}

pub fn choose(candidates: &[String], taken: &mut BTreeSet<String>) -> String {
    let mut clean: Vec<String> =
        candidates.iter().filter_map(|c| sanitize(c)).filter(|c| is_free_word(c)).collect();
    if clean.is_empty() {
        clean.push("pods".to_string());
    }
    if let Some(c) = clean.iter().find(|c| !taken.contains(*c)) {
        taken.insert(c.clone());
        return c.clone();
    }
    let base = clean[0].clone();
    for n in 2.. {
        let suffix = format!("-{n}");
        let mut stem = base.clone();
        stem.truncate(63 - suffix.len());
        let name = format!("{}{suffix}", stem.trim_end_matches('-'));
        if !taken.contains(&name) {
            taken.insert(name.clone());
            return name;
        }
    }
    unreachable!("some number is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(pairs: &[(&str, &str)]) -> LabelSelector {
        LabelSelector {
            match_labels: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            expressions: Vec::new(),
        }
    }

    #[test]
    fn names_come_from_labels_then_policies_and_are_valid() {
        let mut taken = BTreeSet::new();
        assert_eq!(choose(&workload_candidates(&sel(&[("app", "API_v2")]), Some("p")), &mut taken), "api-v2");
        assert_eq!(
            choose(
                &workload_candidates(&sel(&[("app", "api-v2"), ("track", "canary")]), Some("p")),
                &mut taken
            ),
            "api-v2-canary"
        );
        assert_eq!(choose(&workload_candidates(&sel(&[("app", "api-v2")]), None), &mut taken), "api-v2-2");
        assert_eq!(
            choose(&workload_candidates(&sel(&[("x", "world")]), Some("9lives")), &mut taken),
            "lives"
        );
        assert_eq!(choose(&workload_candidates(&sel(&[("app", "world")]), None), &mut taken), "pods");
        assert_eq!(sanitize("--A.b__c--"), Some("a-b-c".to_string()));
        assert_eq!(sanitize("123"), None);
        assert_eq!(sanitize(&"a".repeat(80)).unwrap().len(), 63);
    }

    #[test]
    fn set_names() {
        let mut taken = BTreeSet::new();
        assert_eq!(choose(&set_candidates(&sel(&[("team", "a")])), &mut taken), "team-a-namespaces");
        assert_eq!(choose(&set_candidates(&LabelSelector::default()), &mut taken), "all-namespaces");
    }
}
