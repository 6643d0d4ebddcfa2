//! A [`Draft`] as `.netpol` source: names chosen, statements grouped per namespace and
//! workload in one fixed order, and the text put through `netpol fmt`, so the same input always
//! gives the same bytes and importing netpol's own output gives back the same source.
//!
//! Order: namespace sets (program-wide) first; then per namespace, by name: its workloads (by
//! name), its default denies, and per workload (by
//! name) its ingress allows, ingress denies, `accepts nothing`, then the same for egress. A
//! workload's rules keep the order of the objects and rules they came from.
//!
//! A list of [`GROUP_MIN_PEERS`] or more peers that two or more rules of a namespace repeat
//! becomes a `group` of that namespace, declared after its workloads (groups are expanded
//! when compiled, so the output is the same either way).

use super::draft::{Draft, Kind, Peer, Statement, Subject};
use super::names;
use crate::ir::{Direction, LabelOp, LabelSelector, PortMatch, Ports, Protocol};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// How the source is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One file.
    Single,
    /// A file per namespace (`<namespace>.netpol`), and `namespaces.netpol` for namespace sets.
    PerNamespace,
}

/// The files written: (file name, text); one with an empty name for [`Layout::Single`].
pub type Files = Vec<(String, String)>;

/// What was written, and the names chosen (for the proof's messages).
pub struct Written {
    pub files: Files,
}

/// The fewest peers a repeated list needs to become a group.
pub const GROUP_MIN_PEERS: usize = 3;

/// The comment each file starts with.
pub const HEADER: &str =
    "# Imported by `netpol import`. Each rule's reason names the object and field it came from.\n";

struct Names {
    /// (namespace, selector) → workload name.
    workloads: BTreeMap<(String, LabelSelector), String>,
    /// Per namespace, its workloads in naming order.
    order: BTreeMap<String, Vec<(String, LabelSelector)>>,
    sets: BTreeMap<LabelSelector, String>,
    taken: BTreeSet<String>,
    /// Workload names are unique per namespace, and never a set's name.
    per_ns: BTreeMap<String, BTreeSet<String>>,
}

impl Names {
    /// `own`: the policy netpol wrote for this workload, whose name is the workload's.
    fn workload(&mut self, ns: &str, s: &LabelSelector, policy: Option<&str>, own: bool) -> String {
        let key = (ns.to_string(), s.clone());
        if let Some(n) = self.workloads.get(&key) {
            return n.clone();
        }
        let mut taken = self.per_ns.get(ns).cloned().unwrap_or_default();
        taken.extend(self.sets.values().cloned());
        let mut candidates = names::workload_candidates(s, policy);
        if let (true, Some(p)) = (own, policy) {
            candidates.insert(0, p.to_string());
        }
        let name = names::choose(&candidates, &mut taken);
        self.per_ns.entry(ns.to_string()).or_default().insert(name.clone());
        self.taken.insert(name.clone());
        self.workloads.insert(key, name.clone());
        self.order.entry(ns.to_string()).or_default().push((name.clone(), s.clone()));
        name
    }

    fn set(&mut self, s: &LabelSelector) -> String {
        if let Some(n) = self.sets.get(s) {
            return n.clone();
        }
        let name = names::choose(&names::set_candidates(s), &mut self.taken);
        self.sets.insert(s.clone(), name.clone());
        name
    }
}

/// Writes `draft`. `lost`: per namespace, the comments for what could not be said (`--lossy`).
pub fn write(draft: &Draft, layout: Layout, lost: &BTreeMap<String, Vec<String>>) -> Written {
    write_with_header(draft, layout, lost, HEADER)
}

/// As [`write`], each file starting with `header` (comment lines, each ending in a newline).
pub fn write_with_header(
    draft: &Draft,
    layout: Layout,
    lost: &BTreeMap<String, Vec<String>>,
    header: &str,
) -> Written {
    let mut n = Names {
        workloads: BTreeMap::new(),
        order: BTreeMap::new(),
        sets: BTreeMap::new(),
        taken: BTreeSet::new(),
        per_ns: BTreeMap::new(),
    };
    // Sets first, in selector order: their names are program-wide.
    let mut set_selectors = BTreeSet::new();
    for s in draft.policies.iter().flat_map(|p| &p.statements).flat_map(|s| &s.peers) {
        match s {
            Peer::Namespaces(sel) | Peer::PodsIn { namespaces: sel, .. } => {
                set_selectors.insert(sel.clone());
            }
            _ => {}
        }
    }
    for s in &set_selectors {
        n.set(s);
    }
    // Subjects, in input order; netpol's own objects keep their workload's name.
    for p in &draft.policies {
        let Subject::Pods(sel) = &p.subject;
        let has_rules = p.statements.iter().any(|s| !matches!(s.kind, Kind::DefaultDeny(_)));
        if has_rules {
            n.workload(&p.namespace, sel, Some(&p.name), p.from_netpol);
        }
    }
    // Peers, in a fixed order.
    let mut peers = BTreeSet::new();
    for p in &draft.policies {
        for s in &p.statements {
            for peer in &s.peers {
                match peer {
                    Peer::Pods { namespace, selector } => {
                        peers.insert((namespace.clone(), selector.clone()));
                    }
                    Peer::PodsIn { pods, .. } => {
                        peers.insert((p.namespace.clone(), pods.clone()));
                    }
                    _ => {}
                }
            }
        }
    }
    for (ns, sel) in &peers {
        n.workload(ns, sel, None, false);
    }

    // Statements per namespace and workload.
    type Lines = BTreeMap<String, Vec<(usize, String)>>;
    let mut denies: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
    let mut rules: BTreeMap<String, Lines> = BTreeMap::new();
    // Per namespace and subject: (rank, peer texts, statement), before groups are chosen.
    type Drafted<'a> = BTreeMap<String, BTreeMap<String, Vec<(usize, Vec<String>, &'a Statement)>>>;
    let mut drafted: Drafted = BTreeMap::new();
    // Which workloads have allows per direction: their `nothing` goes without saying.
    let mut allows: BTreeSet<(String, String, Direction)> = BTreeSet::new();
    for p in &draft.policies {
        let Subject::Pods(sel) = &p.subject;
        for s in &p.statements {
            if let Kind::Allow(d) = s.kind {
                allows.insert((
                    p.namespace.clone(),
                    n.workloads[&(p.namespace.clone(), sel.clone())].clone(),
                    d,
                ));
            }
        }
    }
    for p in &draft.policies {
        let Subject::Pods(sel) = &p.subject;
        for s in &p.statements {
            if let Kind::DefaultDeny(d) = s.kind {
                denies.entry(p.namespace.clone()).or_default().insert(d.as_str());
                continue;
            }
            let subject = n.workloads[&(p.namespace.clone(), sel.clone())].clone();
            if let Kind::Nothing(d) = s.kind {
                if allows.contains(&(p.namespace.clone(), subject.clone(), d)) {
                    continue;
                }
            }
            let rank = match s.kind {
                Kind::Allow(Direction::Ingress) => 0,
                Kind::Deny(Direction::Ingress) => 1,
                Kind::Nothing(Direction::Ingress) => 2,
                Kind::Allow(Direction::Egress) => 3,
                Kind::Deny(Direction::Egress) => 4,
                Kind::Nothing(Direction::Egress) => 5,
                Kind::DefaultDeny(_) => unreachable!("handled above"),
            };
            let list: Vec<String> = s.peers.iter().map(|x| peer(&n, &p.namespace, x)).collect();
            let lines = drafted.entry(p.namespace.clone()).or_default().entry(subject.clone()).or_default();
            if !lines
                .iter()
                .any(|(_, l, st)| *l == list && statement(&subject, st, None) == statement(&subject, s, None))
            {
                lines.push((rank, list, s));
            }
        }
    }
    // Repeated peer lists become groups, named from their members.
    let mut groups: BTreeMap<String, BTreeMap<Vec<String>, String>> = BTreeMap::new();
    for (ns, per_subject) in &drafted {
        let mut count: BTreeMap<&Vec<String>, usize> = BTreeMap::new();
        for (_, list, _) in per_subject.values().flatten() {
            if list.len() >= GROUP_MIN_PEERS {
                *count.entry(list).or_default() += 1;
            }
        }
        let mut taken = n.per_ns.get(ns).cloned().unwrap_or_default();
        taken.extend(n.sets.values().cloned());
        for (list, _) in count.into_iter().filter(|(_, c)| *c >= 2) {
            let name = names::choose(&names::group_candidates(list), &mut taken);
            groups.entry(ns.clone()).or_default().insert(list.clone(), name);
        }
    }
    for (ns, per_subject) in &drafted {
        for (subject, lines) in per_subject {
            let out = rules.entry(ns.clone()).or_default().entry(subject.clone()).or_default();
            for (rank, list, st) in lines {
                let text = match groups.get(ns).and_then(|g| g.get(list)) {
                    Some(group) => group.clone(),
                    None => list.join(", "),
                };
                out.push((*rank, statement(subject, st, Some(&text))));
            }
        }
    }

    // A policy of namespace "" is cluster-wide: its default denies are written outside any
    // namespace, first.
    let cluster = denies.remove("").unwrap_or_default();
    let mut namespaces: BTreeSet<String> = n.order.keys().cloned().collect();
    namespaces.extend(denies.keys().cloned());
    namespaces.extend(lost.keys().cloned());
    let mut sets_text = String::new();
    if cluster.len() == 2 {
        sets_text.push_str("default deny all\n");
    } else {
        cluster.iter().for_each(|d| {
            let _ = writeln!(sets_text, "default deny {d}");
        });
    }
    for (sel, name) in &n.sets {
        let _ = writeln!(sets_text, "namespaces {name} {}", selector(sel));
    }
    let block = |ns: &str| -> String {
        let mut out = String::new();
        let mut declared: Vec<&(String, LabelSelector)> = n.order.get(ns).into_iter().flatten().collect();
        declared.sort();
        for (name, sel) in declared {
            let _ = writeln!(out, "workload {name} {}", selector(sel));
        }
        if let Some(g) = groups.get(ns) {
            let mut g: Vec<(&String, &Vec<String>)> = g.iter().map(|(list, name)| (name, list)).collect();
            g.sort();
            for (name, list) in g {
                let _ = writeln!(out, "group {name} = {}", list.join(", "));
            }
        }
        if let Some(d) = denies.get(ns) {
            out.push('\n');
            if d.len() == 2 {
                out.push_str("default deny all\n");
            } else {
                d.iter().for_each(|d| {
                    let _ = writeln!(out, "default deny {d}");
                });
            }
        }
        for (_, lines) in rules.get(ns).into_iter().flatten() {
            out.push('\n');
            let mut lines = lines.clone();
            lines.sort_by_key(|(rank, _)| *rank);
            for (_, l) in lines {
                out.push_str(&l);
                out.push('\n');
            }
        }
        if let Some(lost) = lost.get(ns) {
            out.push('\n');
            for l in lost {
                let _ = writeln!(out, "# {}", l.replace('\n', " "));
            }
        }
        out
    };
    // Each piece is formatted on its own (and on every core): a file of a whole cluster would
    // otherwise be parsed whole, twice. Pieces are separated by a blank line, as `fmt` keeps them.
    let indent = |body: String| -> String {
        let mut out = String::with_capacity(body.len() + body.len() / 8);
        for line in body.lines() {
            if line.is_empty() {
                out.push('\n');
            } else {
                let _ = writeln!(out, "  {line}");
            }
        }
        out
    };
    let files: Vec<(String, Vec<String>)> = match layout {
        Layout::Single => {
            let mut pieces = vec![if sets_text.is_empty() {
                header.to_string()
            } else {
                format!("{header}\n{sets_text}")
            }];
            pieces
                .extend(namespaces.iter().map(|ns| format!("namespace {ns} {{\n{}}}\n", indent(block(ns)))));
            vec![(String::new(), pieces)]
        }
        Layout::PerNamespace => {
            let mut files = Vec::new();
            if !sets_text.is_empty() {
                files.push(("namespaces.netpol".to_string(), vec![format!("{header}\n{sets_text}")]));
            }
            for ns in &namespaces {
                files.push((
                    format!("{ns}.netpol"),
                    vec![format!("{header}\nnamespace {ns}\n\n{}", block(ns))],
                ));
            }
            files
        }
    };
    let files = files
        .into_iter()
        .map(|(name, pieces)| {
            let formatted = crate::par::blocks(pieces.len(), 64, |range| {
                range
                    .map(|i| crate::fmt::format_source(&pieces[i]).unwrap_or_else(|_| pieces[i].clone()))
                    .collect::<Vec<_>>()
            });
            let text = formatted.into_iter().flatten().collect::<Vec<_>>().join("\n");
            (name, text)
        })
        .collect();
    Written { files }
}

/// One statement; `peers`: its peers as written (a list, or a group's name). `None` leaves them
/// out, for comparing statements apart from their peers.
fn statement(subject: &str, s: &Statement, peers: Option<&str>) -> String {
    let peers = || peers.unwrap_or("").to_string();
    let ports = s.ports.as_ref().map(port_text);
    let mut line = match (s.kind, ports) {
        (Kind::Allow(Direction::Ingress), None) => format!("{subject} accepts from {}", peers()),
        (Kind::Allow(Direction::Ingress), Some(p)) => format!("{subject} accepts {p} from {}", peers()),
        (Kind::Allow(Direction::Egress), None) => format!("{subject} connects to {}", peers()),
        (Kind::Allow(Direction::Egress), Some(p)) => format!("{subject} connects to {} on {p}", peers()),
        (Kind::Deny(Direction::Ingress), None) => format!("{subject} refuses from {}", peers()),
        (Kind::Deny(Direction::Ingress), Some(p)) => format!("{subject} refuses {p} from {}", peers()),
        (Kind::Deny(Direction::Egress), None) => format!("{subject} never connects to {}", peers()),
        (Kind::Deny(Direction::Egress), Some(p)) => format!("{subject} never connects to {} on {p}", peers()),
        (Kind::Nothing(Direction::Ingress), _) => format!("{subject} accepts nothing"),
        (Kind::Nothing(Direction::Egress), _) => format!("{subject} connects to nothing"),
        (Kind::DefaultDeny(d), _) => format!("default deny {}", d.as_str()),
    };
    if !s.reason.is_empty() {
        let _ = write!(line, "  {}", quote(&s.reason));
    }
    line
}

fn peer(n: &Names, ns: &str, p: &Peer) -> String {
    match p {
        Peer::Pods { namespace, selector } => {
            let name = n.workloads[&(namespace.clone(), selector.clone())].clone();
            if namespace == ns {
                name
            } else {
                format!("{namespace}/{name}")
            }
        }
        Peer::Namespace(name) => format!("namespace {name}"),
        Peer::Namespaces(sel) => n.sets[sel].clone(),
        Peer::PodsIn { pods, namespaces } => {
            let w = n.workloads[&(ns.to_string(), pods.clone())].clone();
            format!("{w} in {}", n.sets[namespaces])
        }
        Peer::Cidr(c) => match c.except.as_slice() {
            [] => c.net.to_string(),
            [one] => format!("{} except {one}", c.net),
            many => {
                let list: Vec<String> = many.iter().map(|e| e.to_string()).collect();
                format!("{} except ({})", c.net, list.join(", "))
            }
        },
        Peer::Entity(e) => e.keyword().to_string(),
        Peer::Fqdn(name) => quote(name),
    }
}

/// Ports as the language writes them: `tcp 80, 8000-8080, http and udp`.
pub fn port_text(p: &Ports) -> String {
    let Ports::Some(rules) = p else { return "tcp and udp and sctp".to_string() };
    let mut parts = Vec::new();
    for proto in [Protocol::Tcp, Protocol::Udp, Protocol::Sctp] {
        let of: Vec<&PortMatch> = rules.iter().filter(|r| r.protocol == proto).map(|r| &r.port).collect();
        if of.is_empty() {
            continue;
        }
        let word = proto_word(proto);
        if of.contains(&&PortMatch::All) {
            parts.push(word.to_string());
            continue;
        }
        let items: Vec<String> = of
            .iter()
            .map(|m| match m {
                PortMatch::Single(p) => p.to_string(),
                PortMatch::Range(a, b) => format!("{a}-{b}"),
                PortMatch::Named(name) => name.clone(),
                PortMatch::All => unreachable!("handled above"),
            })
            .collect();
        parts.push(format!("{word} {}", items.join(", ")));
    }
    parts.join(" and ")
}

fn proto_word(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    }
}

/// A selector as the language writes it.
pub fn selector(s: &LabelSelector) -> String {
    let mut terms: Vec<String> = s.match_labels.iter().map(|(k, v)| format!("{k}: {}", value(v))).collect();
    for e in &s.expressions {
        let values = || e.values.iter().map(|v| value(v)).collect::<Vec<_>>().join(", ");
        terms.push(match e.op {
            LabelOp::In => format!("{} in ({})", e.key, values()),
            LabelOp::NotIn => format!("{} notin ({})", e.key, values()),
            LabelOp::Exists => format!("{} exists", e.key),
            LabelOp::DoesNotExist => format!("{} does-not-exist", e.key),
        });
    }
    if terms.is_empty() {
        "{}".to_string()
    } else {
        format!("{{ {} }}", terms.join(", "))
    }
}

/// A label value: bare where the grammar takes it bare, else quoted.
fn value(v: &str) -> String {
    let bare = !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if bare {
        v.to_string()
    } else {
        quote(v)
    }
}

/// A string literal: `"` and `\` escaped, line breaks as spaces.
pub fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
