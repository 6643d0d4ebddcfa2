//! Recorded traffic: flows read from Hubble's export ([`hubble`]), each placed at its two ends
//! and taken together by connection, for `netpol replay` and `netpol learn`.
//!
//! Reading is streaming: what is kept grows with the distinct endpoints and connections seen,
//! never with the number of flows (a connection keeps its count and its first flow's line).
//!
//! **Which flows open a connection.** A flow whose `is_reply` is true is a reply, and a TCP
//! segment with both SYN and ACK set is one where `is_reply` is absent. ICMP echo requests
//! (ICMPv4 type 8, ICMPv6 type 128) open a connection; echo replies, ICMP errors and ICMPv6
//! neighbour discovery do not. Everything else opens one: policies decide connections, and
//! every packet of an allowed one is allowed.
//!
//! **Where an end is.** From the endpoint's identity labels, as Cilium gives them
//! (`pkg/labels`, `pkg/k8s/apis/cilium.io/const.go`):
//! - a pod: an endpoint with a `namespace`; its labels are the `k8s:` ones, without
//!   `io.kubernetes.pod.namespace` and Cilium's own `io.cilium.k8s.*`. Among those,
//!   `io.cilium.k8s.namespace.labels.KEY` are its namespace's labels (all of them, so the
//!   namespace's labels are known) and `io.cilium.k8s.policy.serviceaccount` its service
//!   account;
//! - `reserved:host`: the node; `reserved:kube-apiserver`: the API server;
//! - `reserved:world` (and `world-ipv4`, `world-ipv6`): its address, outside the cluster;
//! - `reserved:remote-node`, or no identity at all: its address, which policies may or may not
//!   treat as inside the cluster (an open fact, so answers about it may say "possibly");
//! - `reserved:health`, `reserved:init`, `reserved:unmanaged`, `reserved:ingress`: endpoints the
//!   language has no peer for; their flows are counted as not judged, with the reason.

pub mod hubble;
pub mod learn;

use crate::diagnostic::Diagnostic;
use crate::span::{SourceMap, Span};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::BufRead;
use std::net::IpAddr;

/// A pod as its flows show it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pod {
    pub namespace: String,
    /// `pod_name`, else the first workload's `name(Kind)`, else `<ADDRESS>`.
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub service_account: Option<String>,
    /// The first of `workloads`: (kind, name).
    pub workload: Option<(String, String)>,
}

/// Where one end of a flow is.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum End {
    Pod(Pod),
    /// An address outside the cluster (`reserved:world`).
    World(IpAddr),
    Host,
    ApiServer,
    /// An address the record does not place (a remote node, an endpoint without identity).
    Address(IpAddr),
}

impl End {
    /// How reports name it: `ns/pod`, an address, `host`, `kube-apiserver`.
    pub fn name(&self) -> String {
        match self {
            End::Pod(p) => format!("{}/{}", p.namespace, p.name),
            End::World(ip) | End::Address(ip) => ip.to_string(),
            End::Host => "host".to_string(),
            End::ApiServer => "kube-apiserver".to_string(),
        }
    }
}

/// A connection's protocol and destination port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Port {
    Tcp(u16),
    Udp(u16),
    Sctp(u16),
    /// An ICMP (or ICMPv6) echo request.
    Echo,
}

impl std::fmt::Display for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Port::Tcp(p) => write!(f, "tcp {p}"),
            Port::Udp(p) => write!(f, "udp {p}"),
            Port::Sctp(p) => write!(f, "sctp {p}"),
            Port::Echo => write!(f, "icmp echo"),
        }
    }
}

/// Where a flow was read: the file's index in [`Recorded::files`] and the line (from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct At {
    pub file: u32,
    pub line: u64,
}

/// The flows of one connection.
#[derive(Clone, Debug)]
pub struct Seen {
    pub flows: u64,
    /// The first flow's place and its recorded verdict.
    pub first: At,
    pub verdict: String,
    /// Recorded as dropped (`DROPPED`, `ERROR`), at least once.
    pub dropped: u64,
}

/// Flows not judged, by reason.
#[derive(Clone, Debug, Default)]
pub struct Unjudged {
    pub flows: u64,
    pub first: Option<At>,
}

/// Counts of what was read.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Counts {
    /// Lines that hold a flow.
    pub flows: u64,
    /// Flows that open a connection (judged or not).
    pub opening: u64,
    /// Replies, echo replies, ICMP errors and neighbour discovery: not connections.
    pub replies: u64,
    /// Lines that hold another response (`node_status`, `lost_events`…) or nothing.
    pub other_lines: u64,
    /// Lines that could not be read (each a W0801, up to a limit).
    pub malformed: u64,
}

/// Everything read from the flow files, by connection.
#[derive(Default)]
pub struct Recorded {
    pub files: Vec<String>,
    /// Distinct ends, in the order first seen.
    pub ends: Vec<End>,
    index: HashMap<End, u32>,
    /// (from, to, port) → its flows.
    pub connections: HashMap<(u32, u32, Port), Seen>,
    /// Namespaces whose labels the flows give (all of them).
    pub namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
    /// DNS names each end asked for (`l7.dns.query`), for `learn`.
    pub dns: BTreeMap<u32, BTreeSet<String>>,
    pub unjudged: BTreeMap<String, Unjudged>,
    pub counts: Counts,
}

/// How many malformed lines of one file get a diagnostic of their own.
pub const SHOWN_PER_FILE: u64 = 20;

const NAMESPACE_LABELS: &str = "io.cilium.k8s.namespace.labels.";
const SERVICE_ACCOUNT: &str = "io.cilium.k8s.policy.serviceaccount";

impl Recorded {
    pub fn end(&self, i: u32) -> &End {
        &self.ends[i as usize]
    }

    fn intern(&mut self, e: End) -> u32 {
        if let Some(&i) = self.index.get(&e) {
            return i;
        }
        let i = self.ends.len() as u32;
        self.index.insert(e.clone(), i);
        self.ends.push(e);
        i
    }

    /// The connections in a stable order: by from, to and port names.
    pub fn sorted(&self) -> Vec<(&(u32, u32, Port), &Seen)> {
        let mut v: Vec<_> = self.connections.iter().collect();
        v.sort_by(|a, b| (a.1.first, a.0).cmp(&(b.1.first, b.0)));
        v
    }

    /// `file:line` of a flow.
    pub fn place(&self, at: At) -> String {
        format!("{}:{}", self.files[at.file as usize], at.line)
    }

    /// Reads one flow file (`name` as diagnostics show it), line by line. Malformed lines are
    /// W0801 (the first [`SHOWN_PER_FILE`] each with its line; the others counted); a file
    /// that holds no flow is E0802. The diagnostics point into a text added to `sources`
    /// that holds only the lines they show, at their line numbers.
    pub fn read(
        &mut self,
        name: &str,
        mut reader: impl BufRead,
        sources: &mut SourceMap,
    ) -> Result<Vec<Diagnostic>, std::io::Error> {
        let file = self.files.len() as u32;
        self.files.push(name.to_string());
        let mut shown = Shown::default();
        let mut flows_here = 0u64;
        let mut malformed_here = 0u64;
        let mut buf = Vec::new();
        let mut line_no = 0u64;
        let mut first: Option<Vec<u8>> = None;
        loop {
            buf.clear();
            let n = std::io::Read::take(&mut reader, MAX_LINE as u64 + 1).read_until(b'\n', &mut buf)?;
            if n == 0 {
                break;
            }
            line_no += 1;
            if line_no == 1 && flows_here == 0 {
                first = Some(buf[..buf.len().min(240)].to_vec());
            }
            let too_long = buf.len() > MAX_LINE && buf.last() != Some(&b'\n');
            if too_long {
                // Skip the rest of the line without holding it.
                loop {
                    let chunk = reader.fill_buf()?;
                    if chunk.is_empty() {
                        break;
                    }
                    match chunk.iter().position(|&b| b == b'\n') {
                        Some(i) => {
                            reader.consume(i + 1);
                            break;
                        }
                        None => {
                            let len = chunk.len();
                            reader.consume(len);
                        }
                    }
                }
                malformed_here += 1;
                shown.add(line_no, &buf[..200], format!("a line longer than {} MiB", MAX_LINE >> 20));
                continue;
            }
            let text = match std::str::from_utf8(&buf) {
                Ok(t) => t,
                Err(_) => {
                    malformed_here += 1;
                    shown.add(line_no, &buf, "not UTF-8 text".to_string());
                    continue;
                }
            };
            let text = if line_no == 1 { text.trim_start_matches('\u{feff}') } else { text };
            let text = text.trim_end_matches(['\n', '\r']);
            match hubble::parse(text) {
                Ok(Some(r)) => {
                    flows_here += 1;
                    self.add(&r, At { file, line: line_no });
                }
                Ok(None) => self.counts.other_lines += 1,
                Err(why) => {
                    malformed_here += 1;
                    shown.add(line_no, text.as_bytes(), why);
                }
            }
        }
        self.counts.flows += flows_here;
        self.counts.malformed += malformed_here;
        // A file with no flow shows its first line (when no malformed line is shown already).
        let first_line = match (flows_here, first) {
            (0, Some(bytes)) if shown.notes.is_empty() => Some(shown.context(1, &bytes)),
            _ => None,
        };
        let (text, notes) = shown.finish();
        let id = sources.add(name.to_string(), text);
        let mut diagnostics: Vec<Diagnostic> = notes
            .into_iter()
            .map(|(range, why)| {
                Diagnostic::warning("W0801", format!("cannot read this flow: {why}"), Span::new(id, range.0, range.1), "this line")
                    .with_help("flows are read as `hubble observe -o jsonpb` writes them, one JSON object per line; this line is skipped")
            })
            .collect();
        let hidden = malformed_here.saturating_sub(SHOWN_PER_FILE);
        if let Some(last) = diagnostics.last_mut() {
            *last = last.clone().with_not_shown(hidden as usize);
        }
        if flows_here == 0 {
            let (range, label) = match (diagnostics.first(), first_line) {
                (Some(d), _) => {
                    ((d.primary.span.start as usize, d.primary.span.end as usize), "no line is a flow")
                }
                (None, Some(range)) => (range, "the first line; no line is a flow"),
                (None, None) => ((0, 0), "this file is empty"),
            };
            diagnostics.push(no_flows(Span::new(id, range.0, range.1), label, name, malformed_here));
        }
        Ok(diagnostics)
    }

    /// Takes one flow in.
    fn add(&mut self, r: &hubble::Record, at: At) {
        if r.l4.is_none() {
            // Nothing to judge a policy of ports and protocols on.
            self.counts.opening += 1;
            let u = self.unjudged.entry("a flow without layer-4 fields (l4)".to_string()).or_default();
            u.flows += 1;
            u.first.get_or_insert(at);
            return;
        }
        let Some(port) = opening_port(r) else {
            self.counts.replies += 1;
            return;
        };
        self.counts.opening += 1;
        let ip = |s: Option<&std::borrow::Cow<str>>| s.and_then(|s| s.parse::<IpAddr>().ok());
        let from = place(r.source.as_ref(), ip(r.ip.as_ref().and_then(|i| i.source.as_ref())));
        let to = place(r.destination.as_ref(), ip(r.ip.as_ref().and_then(|i| i.destination.as_ref())));
        let (from, to) = match (from, to) {
            (Ok(f), Ok(t)) => (f, t),
            (Err(why), _) | (_, Err(why)) => {
                let u = self.unjudged.entry(why).or_default();
                u.flows += 1;
                u.first.get_or_insert(at);
                return;
            }
        };
        for (end, ep) in [(&from, r.source.as_ref()), (&to, r.destination.as_ref())] {
            if let (End::Pod(p), Some(ep)) = (end, ep) {
                let ns: BTreeMap<String, String> = ep
                    .labels
                    .iter()
                    .filter_map(|l| l.strip_prefix("k8s:")?.strip_prefix(NAMESPACE_LABELS)?.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                if !ns.is_empty() {
                    self.namespace_labels.entry(p.namespace.clone()).or_default().extend(ns);
                }
            }
        }
        let query = r.l7.as_ref().and_then(|l| l.dns.as_ref()).and_then(|d| d.query.as_deref());
        let (f, t) = (self.intern(from), self.intern(to));
        if let Some(q) = query {
            let q = q.trim_end_matches('.').to_ascii_lowercase();
            if !q.is_empty() {
                self.dns.entry(f).or_default().insert(q);
            }
        }
        let verdict = r.verdict.as_ref().map_or_else(|| "UNKNOWN".to_string(), |v| v.text().into_owned());
        let dropped = matches!(verdict.as_str(), "DROPPED" | "ERROR");
        let seen = self.connections.entry((f, t, port)).or_insert_with(|| Seen {
            flows: 0,
            first: at,
            verdict: verdict.clone(),
            dropped: 0,
        });
        seen.flows += 1;
        seen.dropped += u64::from(dropped);
    }
}

const MAX_LINE: usize = hubble::MAX_LINE_BYTES;

/// The port of a flow that opens a connection; `None` for replies and ICMP that is not an
/// echo request.
fn opening_port(r: &hubble::Record) -> Option<Port> {
    let l4 = r.l4.as_ref()?;
    let reply = r.is_reply.or(r.reply);
    if let Some(icmp) = l4.icmpv4.as_ref() {
        return (icmp.kind == 8 && reply != Some(true)).then_some(Port::Echo);
    }
    if let Some(icmp) = l4.icmpv6.as_ref() {
        return (icmp.kind == 128 && reply != Some(true)).then_some(Port::Echo);
    }
    if reply == Some(true) {
        return None;
    }
    let port = |p: &hubble::Ports| u16::try_from(p.destination_port).ok().filter(|p| *p > 0);
    if let Some(tcp) = l4.tcp.as_ref() {
        let syn_ack = tcp.flags.as_ref().is_some_and(|f| f.syn && f.ack);
        if reply.is_none() && syn_ack {
            return None;
        }
        return port(tcp).map(Port::Tcp);
    }
    if let Some(udp) = l4.udp.as_ref() {
        return port(udp).map(Port::Udp);
    }
    l4.sctp.as_ref().and_then(port).map(Port::Sctp)
}

/// Where an endpoint is; `Err`: why it is not judged.
fn place(ep: Option<&hubble::Endpoint>, ip: Option<IpAddr>) -> Result<End, String> {
    let labels: Vec<&str> = ep.map(|e| e.labels.iter().map(|l| l.as_ref()).collect()).unwrap_or_default();
    let reserved = |name: &str| labels.iter().any(|l| l.strip_prefix("reserved:") == Some(name));
    if reserved("kube-apiserver") {
        return Ok(End::ApiServer);
    }
    if reserved("host") {
        return Ok(End::Host);
    }
    for (name, what) in [
        ("health", "reserved:health (Cilium's health checks)"),
        ("init", "reserved:init (an endpoint whose identity was not known yet)"),
        ("unmanaged", "reserved:unmanaged (an endpoint Cilium does not manage)"),
        ("ingress", "reserved:ingress (Cilium's ingress proxy)"),
    ] {
        if reserved(name) {
            return Err(what.to_string());
        }
    }
    let world = reserved("world") || reserved("world-ipv4") || reserved("world-ipv6");
    if world {
        return ip.map(End::World).ok_or_else(|| "reserved:world without an address".to_string());
    }
    let namespace = ep.and_then(|e| e.namespace.as_deref()).filter(|n| !n.is_empty());
    let Some(namespace) = namespace else {
        return ip.map(End::Address).ok_or_else(|| "an endpoint without identity or address".to_string());
    };
    let ep = ep.expect("a namespace comes from an endpoint");
    let mut pod_labels = BTreeMap::new();
    let mut service_account = None;
    for l in &labels {
        let Some(kv) = l.strip_prefix("k8s:") else { continue };
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        if k == SERVICE_ACCOUNT {
            service_account = Some(v.to_string());
        } else if k == "io.kubernetes.pod.namespace" || k.starts_with("io.cilium.k8s.") {
            continue;
        } else {
            pod_labels.insert(k.to_string(), v.to_string());
        }
    }
    let workload = ep.workloads.iter().find_map(|w| {
        Some((w.kind.as_deref().unwrap_or("Workload").to_string(), w.name.as_deref()?.to_string()))
    });
    let name = match (ep.pod_name.as_deref().filter(|n| !n.is_empty()), &workload, ip) {
        (Some(n), _, _) => n.to_string(),
        (None, Some((kind, name)), _) => format!("{name}({kind})"),
        (None, None, Some(ip)) => format!("<{ip}>"),
        (None, None, None) => "<pod>".to_string(),
    };
    Ok(End::Pod(Pod {
        namespace: namespace.to_string(),
        name,
        labels: pod_labels,
        service_account,
        workload,
    }))
}

/// A shown line's byte range in the sparse text, and why it could not be read.
type Note = ((usize, usize), String);

/// The malformed lines shown, kept at their line numbers in a text of their own.
#[derive(Default)]
struct Shown {
    text: String,
    lines: u64,
    notes: Vec<Note>,
}

impl Shown {
    fn add(&mut self, line: u64, bytes: &[u8], why: String) {
        if self.notes.len() as u64 >= SHOWN_PER_FILE {
            return;
        }
        while self.lines + 1 < line {
            self.text.push('\n');
            self.lines += 1;
        }
        let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(240)]);
        let shown = shown.trim_end_matches(['\n', '\r']);
        let start = self.text.len();
        self.text.push_str(shown);
        self.notes.push(((start, self.text.len()), why));
        self.text.push('\n');
        self.lines += 1;
    }

    /// A line shown without a note (line 1 only, before any other); its byte range.
    fn context(&mut self, line: u64, bytes: &[u8]) -> (usize, usize) {
        debug_assert!(self.lines < line);
        while self.lines + 1 < line {
            self.text.push('\n');
            self.lines += 1;
        }
        let shown = String::from_utf8_lossy(bytes);
        let shown = shown.trim_end_matches(['\n', '\r']);
        let start = self.text.len();
        self.text.push_str(shown);
        let end = self.text.len();
        self.text.push('\n');
        self.lines += 1;
        (start, end)
    }

    fn finish(self) -> (String, Vec<Note>) {
        (self.text, self.notes)
    }
}

fn no_flows(span: Span, label: &str, name: &str, malformed: u64) -> Diagnostic {
    let what = if malformed > 0 {
        let lines = if malformed == 1 {
            "1 line that is not a flow".to_string()
        } else {
            format!("{malformed} lines that are not flows")
        };
        format!("no flow could be read from `{name}` ({lines})")
    } else {
        format!("`{name}` holds no flow")
    };
    Diagnostic::error("E0802", what, span, label)
        .with_help("record flows with `hubble observe -o jsonpb > flows.json` (one JSON object per line)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Recorded, Vec<Diagnostic>, SourceMap) {
        let mut r = Recorded::default();
        let mut sources = SourceMap::new();
        let d = r.read("flows.json", text.as_bytes(), &mut sources).expect("reads");
        (r, d, sources)
    }

    const WEB_TO_DB: &str = r#"{"flow":{"verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"destination_port":5432,"flags":{"SYN":true}}},"source":{"namespace":"shop","pod_name":"web-1","labels":["k8s:app=web","k8s:io.kubernetes.pod.namespace=shop","k8s:io.cilium.k8s.policy.serviceaccount=web","k8s:io.cilium.k8s.namespace.labels.team=a"]},"destination":{"namespace":"shop","pod_name":"db-0","labels":["k8s:app=db"]},"is_reply":false}}"#;

    #[test]
    fn flows_of_one_connection_are_counted_together() {
        let reply = r#"{"flow":{"IP":{"source":"10.0.0.2","destination":"10.0.0.1"},"l4":{"TCP":{"destination_port":40000,"flags":{"SYN":true,"ACK":true}}},"source":{"namespace":"shop","pod_name":"db-0"},"destination":{"namespace":"shop","pod_name":"web-1"}}}"#;
        let text = format!("{WEB_TO_DB}\n{WEB_TO_DB}\n{reply}\n{{\"node_status\":{{}}}}\n");
        let (r, d, _) = read(&text);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(r.connections.len(), 1);
        let ((f, t, port), seen) = r.sorted()[0];
        assert_eq!((seen.flows, seen.first.line, *port), (2, 1, Port::Tcp(5432)));
        let End::Pod(web) = r.end(*f) else { panic!("a pod") };
        assert_eq!(web.labels, BTreeMap::from([("app".to_string(), "web".to_string())]));
        assert_eq!(web.service_account.as_deref(), Some("web"));
        assert_eq!(r.end(*t).name(), "shop/db-0");
        assert_eq!(r.namespace_labels["shop"]["team"], "a");
        assert_eq!((r.counts.flows, r.counts.replies, r.counts.other_lines), (3, 1, 1));
    }

    #[test]
    fn reserved_identities_are_placed_or_said_not_judged() {
        let flow = |src: &str, dst: &str| {
            format!(
                r#"{{"flow":{{"IP":{{"source":"10.0.0.1","destination":"8.8.8.8"}},"l4":{{"UDP":{{"destination_port":53}}}},"source":{src},"destination":{dst}}}}}"#
            )
        };
        let text = [
            flow(r#"{"namespace":"shop","pod_name":"web-1"}"#, r#"{"labels":["reserved:world"]}"#),
            flow(
                r#"{"labels":["reserved:host"]}"#,
                r#"{"labels":["reserved:kube-apiserver","reserved:remote-node"]}"#,
            ),
            flow(r#"{"labels":["reserved:health"]}"#, r#"{"labels":["reserved:world"]}"#),
            flow(r#"{"labels":["reserved:remote-node"]}"#, r#"{}"#),
        ]
        .join("\n");
        let (r, _, _) = read(&text);
        let names: BTreeSet<String> = r.ends.iter().map(End::name).collect();
        assert!(r.ends.contains(&End::World("8.8.8.8".parse().expect("ip"))));
        assert!(r.ends.contains(&End::Host) && r.ends.contains(&End::ApiServer), "{names:?}");
        assert!(r.ends.contains(&End::Address("10.0.0.1".parse().expect("ip"))), "{names:?}");
        assert_eq!(r.unjudged.len(), 1);
        assert!(r.unjudged.keys().next().expect("one").starts_with("reserved:health"));
    }

    #[test]
    fn icmp_echo_requests_open_and_the_rest_do_not() {
        let icmp = |v: &str, t: u32| {
            format!(
                r#"{{"flow":{{"IP":{{"source":"10.0.0.1","destination":"10.0.0.2"}},"l4":{{"{v}":{{"type":{t}}}}},"source":{{"namespace":"a","pod_name":"x"}},"destination":{{"namespace":"a","pod_name":"y"}}}}}}"#
            )
        };
        let text = [
            icmp("ICMPv4", 8),
            icmp("ICMPv4", 0),
            icmp("ICMPv4", 3),
            icmp("ICMPv6", 128),
            icmp("ICMPv6", 135),
        ]
        .join("\n");
        let (r, _, _) = read(&text);
        assert_eq!((r.counts.opening, r.counts.replies), (2, 3));
    }

    #[test]
    fn malformed_lines_are_warnings_at_their_line_and_the_rest_is_read() {
        let text = format!("{WEB_TO_DB}\nnot json\n{WEB_TO_DB}\n{{\"flow\":{{\"l4\":{{\"TCP\":{{\"destination_port\":\"x\"}}}}}}}}\n");
        let (r, d, sources) = read(&text);
        assert_eq!(r.counts.flows, 2);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d.iter().all(|d| d.code == "W0801"));
        assert_eq!(sources.start_of(d[0].primary.span).line, 2);
        assert_eq!(sources.start_of(d[1].primary.span).line, 4);
    }

    #[test]
    fn a_file_without_flows_is_an_error() {
        let (_, d, _) = read("a: b\nc: d\n");
        assert_eq!(d.last().map(|d| d.code), Some("E0802"));
        let (_, d, _) = read("");
        assert_eq!(d.iter().map(|d| d.code).collect::<Vec<_>>(), ["E0802"]);
    }

    #[test]
    fn an_overlong_line_is_skipped_without_being_held() {
        let long = format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_LINE + 10));
        let (r, d, _) = read(&format!("{long}\n{WEB_TO_DB}\n"));
        assert_eq!(r.counts.flows, 1);
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("longer than"), "{}", d[0].message);
    }
}
