//! The reachability engine against the upstream Kubernetes e2e network-policy suite
//! (kubernetes/kubernetes `test/e2e/network/netpol/`: `network_policy.go`, `reachability.go`,
//! `model.go`, `truthtable.go`). The cases follow `network_policy.go` at revision 9db638c0807a,
//! where every case probes all 81 pairs; later revisions create only the pods a case needs and
//! keep the same expectations on them.
//!
//! The suite's model: namespaces `x`, `y` and `z`, each with pods `a`, `b` and `c` labelled
//! `pod: <name>`; every pod serves TCP, UDP and SCTP on ports 80 and 81 from container ports
//! named `serve-<port>-<protocol>` (`serve-80-tcp`). Each case applies policies and asserts a
//! 9x9 truth table (rows: from, columns: to) for one port and protocol. Here each case is the
//! same policy written in `.netpol`, compiled, and the engine's matrix is compared with the
//! suite's expected table. Each case names the upstream `ginkgo.It` title it reproduces.
//!
//! Translation rules:
//! - a policy's `podSelector` becomes rules on the workloads it selects: `pod: a` is workload
//!   `a`; a set-based selector is a workload declared with that selector (`pod in (b)`), which
//!   the engine applies to every pod it picks; an empty `podSelector` is the workload `every`,
//!   declared with an empty selector, or a `default deny` when the policy only isolates;
//! - peers: `podSelector` alone is a workload of the policy's namespace (an empty one is
//!   `namespace x`); a `namespaceSelector` on the name plus a `podSelector` is `ns/workload`;
//!   `namespaceSelector: {}` is a `namespaces` set with an empty selector, and with an empty
//!   `podSelector` too, `cluster`; a `namespaceSelector` on a set of namespaces plus a
//!   `podSelector` is `workload in set`; an omitted `from` / `to` is `anywhere`;
//! - namespaces carry only their name label `kubernetes.io/metadata.name` here. The revision
//!   read selects namespaces on that label; older revisions labelled each namespace `ns: <name>`
//!   and selected on `ns`, which is the same selection: selectors on `ns` are written on
//!   `kubernetes.io/metadata.name`;
//! - a `NetworkPolicyPort` without a protocol is TCP (the API default);
//! - a case that changes policies or labels half-way is one program per step.
//!
//! Each step is also checked as the suite writes it: `tests/upstream/kubernetes/e2e/` holds the
//! NetworkPolicies the case creates (transcribed from the Go builders to YAML as the API server
//! receives them; one file per step, named after the step's title). Those manifests must read,
//! under the Kubernetes reader, to the same truth table, and must import (`netpol import`, with
//! the model's pods and namespaces as the inventory) with the proof holding.
//!
//! Self-traffic: the suite ignores a pod's connections to itself (`ignoreLoopback = true` in
//! `network_policy.go`, kubernetes#95879). The engine's cell `x/a -> x/a` means one replica of a
//! workload to another replica, which policies do restrict, so the diagonal is never compared.
//!
//! Suite cases not reproduced, and why:
//! - "should allow egress access to server in CIDR block", "should enforce except clause while
//!   egress access to server in CIDR block", "should ensure an IP overlapping both IPBlock.CIDR
//!   and IPBlock.Except is allowed": their ipBlocks are built from the pods' own addresses,
//!   which the model has no notion of (the engine leaves open whether a network holds a pod).
//! - "should allow ingress access from updated namespace": the policy selects namespaces on a
//!   label other than the name (`ns2: updated`), added to `y` half-way; namespaces carry only
//!   their name label here and the language cannot give a namespace labels.
//! - The legacy suite (`network_legacy.go`) asserts single connections through Services, not
//!   truth tables; it is not reproduced.
//!
//! No truth-table case in the revision read uses `endPort`; the two port-range cases at the end
//! are variants of upstream cases, marked as such.

mod common;

use netpol::analysis::matrix::{Rows, Semantics};
use netpol::analysis::ports::PortSet;
use netpol::analysis::reach::SourceSemantics;
use netpol::analysis::universe::{PointId, Universe};
use netpol::backend::Target;
use netpol::import::{self, Layout, Options};
use netpol::ir::{Program, Protocol, WorkloadId};
use netpol::span::SourceMap;
use netpol::world::{Use, World};
use std::fmt::Write as _;

const NAMESPACES: [&str; 3] = ["x", "y", "z"];
const PODS: [&str; 3] = ["a", "b", "c"];

/// The nine pods of the model, in the suite's order: `x/a`, `x/b`, …, `z/c`.
fn pod_strings() -> Vec<String> {
    NAMESPACES.iter().flat_map(|n| PODS.iter().map(move |p| format!("{n}/{p}"))).collect()
}

fn index_of(pod: &str) -> usize {
    pod_strings().iter().position(|p| p == pod).unwrap_or_else(|| panic!("no pod {pod} in the model"))
}

/// The model's namespaces and pods as workloads. `relabel` gives some pods other labels than
/// `pod: <name>` (for the cases that change a pod's labels half-way).
fn model(relabel: &[(&str, &str)]) -> String {
    let mut out = String::from("# The suite's model: namespaces x, y, z with pods a, b, c.\n");
    for ns in NAMESPACES {
        writeln!(out, "namespace {ns} {{").unwrap();
        for pod in PODS {
            let name = format!("{ns}/{pod}");
            let labels = relabel
                .iter()
                .find(|(p, _)| *p == name)
                .map_or_else(|| format!("pod: {pod}"), |(_, l)| l.to_string());
            writeln!(out, "  workload {pod} {{ {labels} }}").unwrap();
        }
        writeln!(out, "}}").unwrap();
    }
    out
}

// ---- the suite's truth tables (`reachability.go`, `truthtable.go`) --------------------------

/// Matches pods by namespace and name; `None` matches every one (upstream `Peer`).
#[derive(Clone, Copy)]
struct Peer {
    namespace: Option<&'static str>,
    pod: Option<&'static str>,
}

impl Peer {
    fn matches(&self, pod: &str) -> bool {
        let (ns, name) = pod.split_once('/').expect("ns/pod");
        self.namespace.is_none_or(|n| n == ns) && self.pod.is_none_or(|p| p == name)
    }
}

/// `&Peer{}`: every pod.
fn any() -> Peer {
    Peer { namespace: None, pod: None }
}

/// `&Peer{Namespace: ns}`.
fn ns(namespace: &'static str) -> Peer {
    Peer { namespace: Some(namespace), pod: None }
}

/// `&Peer{Namespace: ns, Pod: pod}`, written `ns/pod`.
fn pod(pod: &'static str) -> Peer {
    let (ns, name) = pod.split_once('/').expect("ns/pod");
    Peer { namespace: Some(ns), pod: Some(name) }
}

/// A 9x9 truth table: `allowed[from][to]`, pods in the suite's order.
#[derive(Clone, PartialEq, Eq)]
struct Table {
    allowed: [[bool; 9]; 9],
}

impl Table {
    /// `NewReachability(pods, default)`.
    fn new(default: bool) -> Table {
        Table { allowed: [[default; 9]; 9] }
    }

    /// `Expect(from, to, connected)`.
    fn set(mut self, from: &str, to: &str, connected: bool) -> Table {
        self.allowed[index_of(from)][index_of(to)] = connected;
        self
    }

    /// `ExpectPeer(from, to, connected)`.
    fn peer(mut self, from: Peer, to: Peer, connected: bool) -> Table {
        let pods = pod_strings();
        for (i, f) in pods.iter().enumerate() {
            for (j, t) in pods.iter().enumerate() {
                if from.matches(f) && to.matches(t) {
                    self.allowed[i][j] = connected;
                }
            }
        }
        self
    }

    /// `ExpectAllIngress(pod, connected)`: every connection to `pod`.
    fn all_ingress(self, to: &'static str, connected: bool) -> Table {
        self.peer(any(), pod(to), connected)
    }

    /// `ExpectAllEgress(pod, connected)`: every connection from `pod`.
    fn all_egress(self, from: &'static str, connected: bool) -> Table {
        self.peer(pod(from), any(), connected)
    }

    /// Like upstream `PrettyPrint`: `.` allowed, `X` denied.
    fn pretty(&self) -> String {
        render(|i, j| if self.allowed[i][j] { '.' } else { 'X' })
    }

    /// Where two tables differ, loopback aside: `X` for a difference, `.` otherwise (the
    /// upstream comparison table), and `-` on the ignored diagonal.
    fn comparison(&self, other: &Table) -> String {
        render(|i, j| {
            if i == j {
                '-'
            } else if self.allowed[i][j] == other.allowed[i][j] {
                '.'
            } else {
                'X'
            }
        })
    }

    /// Equal everywhere but on the diagonal (self-traffic is ignored, see the module comment).
    fn agrees(&self, other: &Table) -> bool {
        (0..9).all(|i| (0..9).all(|j| i == j || self.allowed[i][j] == other.allowed[i][j]))
    }
}

fn render(mark: impl Fn(usize, usize) -> char) -> String {
    let pods = pod_strings();
    let mut out = format!("-\t{}\n", pods.join("\t"));
    for (i, from) in pods.iter().enumerate() {
        let row: Vec<String> = (0..9).map(|j| mark(i, j).to_string()).collect();
        writeln!(out, "{from}\t{}", row.join("\t")).unwrap();
    }
    out
}

/// One `ValidateOrFail`: a connection to `port` over `protocol`, and the expected table.
struct Probe {
    protocol: Protocol,
    port: u16,
    expected: Table,
}

fn tcp(port: u16, expected: Table) -> Probe {
    Probe { protocol: Protocol::Tcp, port, expected }
}

fn udp(port: u16, expected: Table) -> Probe {
    Probe { protocol: Protocol::Udp, port, expected }
}

fn sctp(port: u16, expected: Table) -> Probe {
    Probe { protocol: Protocol::Sctp, port, expected }
}

// ---- the engine's tables ------------------------------------------------------------------

/// The name of the container port serving `port` over `protocol` in the model (`model.go`,
/// `Container.PortName`).
fn port_name(protocol: Protocol, port: u16) -> String {
    let p = match protocol {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    };
    format!("serve-{port}-{p}")
}

/// Whether a port set lets the probe through: the probe's port by number, or by the name the
/// destination pod gives it.
fn lets_through(set: &PortSet, protocol: Protocol, port: u16) -> bool {
    set.contains(protocol, port) || set.contains_name(protocol, &port_name(protocol, port))
}

/// The semantics whose matrices must equal the suite's tables: the source's meaning, and each
/// target's reading of the manifests it emitted (`objects`, one list per target that compiled),
/// through `netpol::analysis::targets::read`.
fn semantics_under_test<'u>(
    program: &'u Program,
    u: &'u Universe,
    objects: &[(Target, Vec<serde_json::Value>)],
) -> Vec<(String, Box<dyn Semantics + 'u>)> {
    let mut out: Vec<(String, Box<dyn Semantics + 'u>)> =
        vec![("source".to_string(), Box::new(SourceSemantics::new(program, u)))];
    for (target, values) in objects {
        let reading = netpol::analysis::targets::read(*target, values, u);
        assert!(reading.problems.is_empty(), "{}: {:?}", target.name(), reading.problems);
        out.push((target.name().to_string(), reading.semantics));
    }
    out
}

/// The engine's tables for one probe under one semantics: certainly and possibly allowed.
///
/// A probe is judged side by side (the source's egress towards the destination, the
/// destination's ingress from the source), each letting it through by number or by port name,
/// rather than on the intersected cell: the engine keeps port names and numbers apart, so an
/// egress that allows `serve-80-tcp` and an ingress that allows `80` intersect to nothing,
/// though both let a connection to port 80 of these pods through.
fn observed(rows: &Rows, u: &Universe, points: &[PointId], probe: &Probe) -> (Table, Table) {
    let (mut certain, mut possible) = (Table::new(false), Table::new(false));
    let names = pod_strings();
    for (i, &s) in points.iter().enumerate() {
        for (j, &d) in points.iter().enumerate() {
            let out = rows.egress[s as usize].get(u, d);
            let inn = rows.ingress[d as usize].get(u, s);
            let through = |a: &PortSet, b: &PortSet| {
                lets_through(a, probe.protocol, probe.port) && lets_through(b, probe.protocol, probe.port)
            };
            certain.allowed[i][j] = through(&out.certain, &inn.certain);
            possible.allowed[i][j] = through(&out.possible, &inn.possible);
            // No case here names a port on one side and numbers it on the other, so the
            // matrix's own cell must give the same answer.
            let cell = rows.cell(u, s, d);
            let by_cell = lets_through(&cell.certain, probe.protocol, probe.port);
            assert_eq!(
                by_cell, certain.allowed[i][j],
                "cell and sides disagree on {} -> {}",
                names[i], names[j]
            );
        }
    }
    (certain, possible)
}

/// The points of the nine model pods, in the suite's order.
fn model_points(program: &Program, u: &Universe) -> Vec<PointId> {
    pod_strings()
        .iter()
        .map(|name| {
            let i = (0..program.workloads.len())
                .find(|&i| program.qualified_name(WorkloadId(i as u32)) == *name)
                .unwrap_or_else(|| panic!("workload {name} not declared"));
            u.workload(WorkloadId(i as u32))
        })
        .collect()
}

// ---- running a case -----------------------------------------------------------------------

/// Compiles `policies` after the model, for every target, and checks every probe's table under
/// every semantics under test.
fn check(title: &str, policies: &str, probes: &[Probe]) {
    check_model(title, &[], policies, probes)
}

/// [`check`] with some model pods relabelled.
fn check_model(title: &str, relabel: &[(&str, &str)], policies: &str, probes: &[Probe]) {
    check_full(title, relabel, policies, probes, &[])
}

/// [`check_model`], with the error code each target that cannot express the program must stop
/// with (`E03xx`); every other target must compile without errors.
fn check_full(
    title: &str,
    relabel: &[(&str, &str)],
    policies: &str,
    probes: &[Probe],
    target_errors: &[(Target, &str)],
) {
    let source = format!("{}\n{policies}", model(relabel));
    let checked = common::compile_str(&source, &[], &[]);
    assert!(!checked.has_errors(), "{title}: the program has errors:\n{}", common::render(&checked));
    let program = checked.program.expect("a checked program");

    let mut objects: Vec<(Target, Vec<serde_json::Value>)> = Vec::new();
    for target in Target::ALL {
        let c = common::compile_str(&source, &[target], &[]);
        match target_errors.iter().find(|(t, _)| *t == target) {
            Some((_, code)) => {
                let errors: Vec<&str> =
                    c.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.code).collect();
                assert!(
                    !errors.is_empty() && errors.iter().all(|e| e == code),
                    "{title}: expected {code} for {}, got {errors:?}\n{}",
                    target.name(),
                    common::render(&c)
                );
            }
            None => {
                assert!(
                    !c.has_errors(),
                    "{title}: does not compile for {}:\n{}",
                    target.name(),
                    common::render(&c)
                );
                let (_, emitted) = c.outputs.into_iter().find(|(t, _)| *t == target).expect("outputs");
                objects.push((target, emitted.iter().map(|o| o.body()).collect()));
            }
        }
    }

    let u = Universe::new(&program);
    let points = model_points(&program, &u);
    let mut failures = Vec::new();
    let mut under_test = semantics_under_test(&program, &u, &objects);
    if let Some(values) = upstream_manifests(title, relabel) {
        let reading = netpol::analysis::targets::read(Target::Kubernetes, &values, &u);
        assert!(reading.problems.is_empty(), "{title}: upstream YAML: {:?}", reading.problems);
        under_test.push(("upstream YAML (Kubernetes reader)".to_string(), reading.semantics));
    }
    for (name, semantics) in under_test {
        let rows = Rows::build(semantics.as_ref(), &u);
        for probe in probes {
            let what = format!("{name}, port {} ({})", probe.port, port_name(probe.protocol, probe.port));
            let (certain, possible) = observed(&rows, &u, &points, probe);
            if certain != possible {
                failures.push(format!(
                    "{what}: certain and possible differ (no fact is open in these cases)\n\
                     certain:\n{}\npossible:\n{}",
                    certain.pretty(),
                    possible.pretty()
                ));
            }
            if !probe.expected.agrees(&certain) {
                failures.push(format!(
                    "{what}:\nexpected:\n{}\nobserved:\n{}\ncomparison (X: differs, -: loopback, ignored):\n{}",
                    probe.expected.pretty(),
                    certain.pretty(),
                    probe.expected.comparison(&certain)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{title}\n\n{}\nsource:\n{source}", failures.join("\n"));
}

// ---- the suite's own manifests -------------------------------------------------------------

/// The file of a step's upstream manifests: its title, lower case, runs of other characters
/// as one `-`.
fn upstream_file(title: &str) -> std::path::PathBuf {
    let mut slug = String::new();
    for c in title.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    common::root().join("tests/upstream/kubernetes/e2e").join(format!("{}.yaml", slug.trim_matches('-')))
}

/// The model's namespaces and pods as inventory: every pod serves ports 80 and 81 on each
/// protocol from the suite's named container ports (`model.go`).
fn model_inventory(relabel: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for ns in NAMESPACES {
        writeln!(out, "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: '{ns}'").unwrap();
        for pod in PODS {
            let name = format!("{ns}/{pod}");
            let labels = relabel
                .iter()
                .find(|(p, _)| *p == name)
                .map_or_else(|| format!("pod: {pod}"), |(_, l)| l.to_string());
            writeln!(
                out,
                "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: '{pod}'\n  namespace: '{ns}'\n  labels:"
            )
            .unwrap();
            for pair in labels.split(", ") {
                let (k, v) = pair.split_once(": ").expect("key: value");
                writeln!(out, "    {k}: '{v}'").unwrap();
            }
            writeln!(out, "spec:\n  containers:\n  - name: serve\n    image: agnhost\n    ports:").unwrap();
            for port in [80u16, 81] {
                for protocol in [Protocol::Tcp, Protocol::Udp, Protocol::Sctp] {
                    writeln!(
                        out,
                        "    - name: {}\n      containerPort: {port}\n      protocol: {}",
                        port_name(protocol, port),
                        protocol.as_str()
                    )
                    .unwrap();
                }
            }
        }
    }
    out
}

/// The step's upstream NetworkPolicies, read as netpol reads any manifests, after checking that
/// they import with the proof holding. `None` for the variants, which are not upstream cases.
fn upstream_manifests(title: &str, relabel: &[(&str, &str)]) -> Option<Vec<serde_json::Value>> {
    if title.starts_with("variant of") {
        return None;
    }
    let path = upstream_file(title);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{title}: the upstream manifests {}: {e}", path.display()));
    let mut sources = SourceMap::new();
    let mut world = World::default();
    let file = sources.add(path.display().to_string(), text);
    world.add_file(&sources, file, Use::Policies, "default");
    let inventory = sources.add("model.yaml".to_string(), model_inventory(relabel));
    world.add_file(&sources, inventory, Use::Inventory, "default");
    assert!(!world.diagnostics.iter().any(|d| d.is_error()), "{title}: {:?}", world.diagnostics);
    assert!(world.policies.iter().all(|(_, o)| o.value["kind"] == "NetworkPolicy"));
    if !world.policies.is_empty() {
        let options = Options { layout: Layout::Single, lossy: false, cni: None, to: Vec::new() };
        let imported = import::import(&world, &sources, &options);
        let errors: Vec<String> =
            imported.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.message.clone()).collect();
        assert!(
            imported.ok && errors.is_empty(),
            "{title}: the upstream manifests do not import: {errors:#?}\n{:?}",
            imported.summaries
        );
    }
    Some(world.policies.into_iter().map(|(_, o)| o.value).collect())
}

// ---- NetworkPolicy between server and client (TCP) ----------------------------------------

// ginkgo.It("should support a 'default-deny-ingress' policy")
#[test]
fn default_deny_ingress() {
    check(
        "should support a 'default-deny-ingress' policy",
        "namespace x {\n  default deny ingress\n}",
        &[tcp(80, Table::new(true).peer(any(), ns("x"), false))],
    );
}

// ginkgo.It("should support a 'default-deny-all' policy")
#[test]
fn default_deny_all() {
    check(
        "should support a 'default-deny-all' policy",
        "namespace x {\n  default deny all\n}",
        &[tcp(80, Table::new(true).peer(any(), ns("x"), false).peer(ns("x"), any(), false))],
    );
}

// ginkgo.It("should enforce policy to allow traffic from pods within server namespace based on PodSelector")
#[test]
fn allow_from_pods_within_server_namespace_by_pod_selector() {
    check(
        "should enforce policy to allow traffic from pods within server namespace based on PodSelector",
        "namespace x {\n  a accepts from b\n}",
        &[tcp(80, Table::new(true).all_ingress("x/a", false).set("x/b", "x/a", true))],
    );
}

// ginkgo.It("should enforce policy to allow ingress traffic for a target")
// A default deny over x, then x/a accepts from one peer with an empty podSelector and an empty
// namespaceSelector: every pod of every namespace, `cluster`.
#[test]
fn allow_ingress_for_a_target() {
    check(
        "should enforce policy to allow ingress traffic for a target",
        "namespace x {\n  default deny ingress\n  a accepts from cluster\n}",
        &[tcp(
            80,
            Table::new(true).all_ingress("x/a", true).all_ingress("x/b", false).all_ingress("x/c", false),
        )],
    );
}

// ginkgo.It("should enforce policy to allow ingress traffic from pods in all namespaces")
// `namespaceSelector: {matchLabels: {}}` alone: a namespace set with an empty selector.
#[test]
fn allow_ingress_from_pods_in_all_namespaces() {
    check(
        "should enforce policy to allow ingress traffic from pods in all namespaces",
        "namespaces every-namespace { }\nnamespace x {\n  a accepts from every-namespace\n}",
        &[tcp(80, Table::new(true))],
    );
}

// ginkgo.It("should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector")
// `namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}`: the namespace `y`.
#[test]
fn allow_only_from_a_different_namespace_by_namespace_selector() {
    check(
        "should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector",
        "namespace x {\n  a accepts from namespace y\n}",
        &[tcp(80, Table::new(true).peer(ns("x"), pod("x/a"), false).peer(ns("z"), pod("x/a"), false))],
    );
}

// ginkgo.It("should enforce policy based on PodSelector with MatchExpressions")
// The peer `podSelector: {matchExpressions: [pod In (b)]}` is a workload with that selector.
#[test]
fn pod_selector_with_match_expressions() {
    check(
        "should enforce policy based on PodSelector with MatchExpressions",
        "namespace x {\n  workload pod-in-b { pod in (b) }\n  a accepts from pod-in-b\n}",
        &[tcp(80, Table::new(true).all_ingress("x/a", false).set("x/b", "x/a", true))],
    );
}

// ginkgo.It("should enforce policy based on NamespaceSelector with MatchExpressions")
#[test]
fn namespace_selector_with_match_expressions() {
    check(
        "should enforce policy based on NamespaceSelector with MatchExpressions",
        "namespaces name-in-y { kubernetes.io/metadata.name in (y) }\n\
         namespace x {\n  a accepts from name-in-y\n}",
        &[tcp(80, Table::new(true).peer(ns("x"), pod("x/a"), false).peer(ns("z"), pod("x/a"), false))],
    );
}

// ginkgo.It("should enforce policy based on PodSelector or NamespaceSelector")
// Two peers: every namespace but x (NotIn), or `pod: b` of x.
#[test]
fn pod_selector_or_namespace_selector() {
    check(
        "should enforce policy based on PodSelector or NamespaceSelector",
        "namespaces not-x { kubernetes.io/metadata.name notin (x) }\n\
         namespace x {\n  a accepts from not-x, b\n}",
        &[tcp(80, Table::new(true).set("x/a", "x/a", false).set("x/c", "x/a", false))],
    );
}

// ginkgo.It("should enforce policy based on PodSelector and NamespaceSelector")
// One peer: `pod: b` in every namespace but x (NotIn), `b in not-x`.
#[test]
fn pod_selector_and_namespace_selector() {
    check(
        "should enforce policy based on PodSelector and NamespaceSelector",
        "namespaces not-x { kubernetes.io/metadata.name notin (x) }\n\
         namespace x {\n  a accepts from b in not-x\n}",
        &[tcp(
            80,
            Table::new(true).all_ingress("x/a", false).set("y/b", "x/a", true).set("z/b", "x/a", true),
        )],
    );
}

// ginkgo.It("should enforce policy based on Multiple PodSelectors and NamespaceSelectors")
// One peer: `pod In (b, c)` in every namespace but x.
#[test]
fn multiple_pod_selectors_and_namespace_selectors() {
    check(
        "should enforce policy based on Multiple PodSelectors and NamespaceSelectors",
        "namespaces not-x { kubernetes.io/metadata.name notin (x) }\n\
         namespace x {\n  workload pod-in-b-c { pod in (b, c) }\n  a accepts from pod-in-b-c in not-x\n}",
        &[tcp(
            80,
            Table::new(true)
                .peer(ns("x"), pod("x/a"), false)
                .set("y/a", "x/a", false)
                .set("z/a", "x/a", false),
        )],
    );
}

// ginkgo.It("should enforce policy based on any PodSelectors")
#[test]
fn any_pod_selectors() {
    check(
        "should enforce policy based on any PodSelectors",
        "namespace x {\n  a accepts from b, c\n}",
        &[tcp(
            80,
            Table::new(true).all_ingress("x/a", false).set("x/b", "x/a", true).set("x/c", "x/a", true),
        )],
    );
}

// ginkgo.It("should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector")
// One peer: namespace `y` by name and `pod: a`, the workload `y/a`.
#[test]
fn allow_only_from_a_pod_in_a_different_namespace() {
    check(
        "should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector",
        "namespace x {\n  a accepts from y/a\n}",
        &[tcp(80, Table::new(true).all_ingress("x/a", false).set("y/a", "x/a", true))],
    );
}

// ginkgo.It("should enforce policy based on Ports")
#[test]
fn ports() {
    check(
        "should enforce policy based on Ports",
        "namespace x {\n  a accepts tcp 81 from namespace y\n}",
        &[tcp(
            81,
            Table::new(true).peer(ns("x"), pod("x/a"), false).peer(ns("y"), pod("x/a"), true).peer(
                ns("z"),
                pod("x/a"),
                false,
            ),
        )],
    );
}

// ginkgo.It("should enforce multiple, stacked policies with overlapping podSelectors")
// Two policies select `pod: a`; the second is written on a second workload with the same
// selector, so the engine must add up the rules of every workload that picks x/a.
#[test]
fn multiple_stacked_policies_with_overlapping_pod_selectors() {
    let title = "should enforce multiple, stacked policies with overlapping podSelectors";
    let allow = || {
        Table::new(true).peer(ns("x"), pod("x/a"), false).peer(ns("y"), pod("x/a"), true).peer(
            ns("z"),
            pod("x/a"),
            false,
        )
    };
    let first = "namespace x {\n  a accepts tcp 81 from namespace y\n}";
    check(
        &format!("{title} (first policy)"),
        first,
        &[tcp(81, allow()), tcp(80, Table::new(true).all_ingress("x/a", false))],
    );
    let both = format!("{first}\nnamespace x {{\n  workload also-a {{ pod: a }}\n  also-a accepts tcp 80 from namespace y\n}}");
    check(&format!("{title} (both policies)"), &both, &[tcp(81, allow()), tcp(80, allow())]);
}

// ginkgo.It("should support allow-all policy")
// `podSelector: {}` with `ingress: [{}]`: the workload `every` (empty selector) accepts
// everything.
#[test]
fn allow_all_policy() {
    check(
        "should support allow-all policy",
        "namespace x {\n  workload every { }\n  every accepts from anywhere\n}",
        &[tcp(80, Table::new(true)), tcp(81, Table::new(true))],
    );
}

// ginkgo.It("should allow ingress access on one named port")
#[test]
fn ingress_on_one_named_port() {
    check(
        "should allow ingress access on one named port",
        "namespace x {\n  workload every { }\n  every accepts tcp serve-81-tcp from anywhere\n}",
        &[tcp(81, Table::new(true)), tcp(80, Table::new(true).peer(any(), ns("x"), false))],
    );
}

// ginkgo.It("should allow ingress access from namespace on one named port")
#[test]
fn ingress_from_namespace_on_one_named_port() {
    check(
        "should allow ingress access from namespace on one named port",
        "namespace x {\n  a accepts tcp serve-80-tcp from namespace y\n}",
        &[
            tcp(80, Table::new(true).peer(ns("x"), pod("x/a"), false).peer(ns("z"), pod("x/a"), false)),
            tcp(81, Table::new(true).all_ingress("x/a", false)),
        ],
    );
}

// ginkgo.It("should allow egress access on one named port")
// An egress rule with ports and no `to`: every destination, on the destination's
// `serve-80-tcp`. Cilium resolves an egress name over every pod of the cluster instead, not
// on the destination: E0306.
#[test]
fn egress_on_one_named_port() {
    check_full(
        "should allow egress access on one named port",
        &[],
        "namespace x {\n  workload every { }\n  every connects to anywhere on tcp serve-80-tcp\n}",
        &[tcp(80, Table::new(true)), tcp(81, Table::new(true).peer(ns("x"), any(), false))],
        &[(Target::Cilium, "E0306")],
    );
}

// ginkgo.It("should enforce updated policy")
#[test]
fn updated_policy() {
    let title = "should enforce updated policy";
    check(
        &format!("{title} (allow all)"),
        "namespace x {\n  workload every { }\n  every accepts from anywhere\n}",
        &[tcp(81, Table::new(true))],
    );
    check(
        &format!("{title} (updated to deny all)"),
        "namespace x {\n  workload every { }\n  every accepts nothing\n}",
        &[tcp(81, Table::new(true).peer(any(), ns("x"), false))],
    );
}

// ginkgo.It("should allow ingress access from updated pod")
// The policy allows `{pod: b, pod2: updated}`; half-way x/b gets the label `pod2: updated`.
#[test]
fn ingress_from_updated_pod() {
    let title = "should allow ingress access from updated pod";
    let policy =
        "namespace x {\n  workload b-updated { pod: b, pod2: updated }\n  a accepts from b-updated\n}";
    check(&format!("{title} (before)"), policy, &[tcp(80, Table::new(true).all_ingress("x/a", false))]);
    check_model(
        &format!("{title} (x/b relabelled)"),
        &[("x/b", "pod: b, pod2: updated")],
        policy,
        &[tcp(80, Table::new(true).all_ingress("x/a", false).set("x/b", "x/a", true))],
    );
}

// ginkgo.It("should deny ingress from pods on other namespaces")
// `podSelector: {}` on both ends: every pod of x accepts from every pod of x.
#[test]
fn deny_ingress_from_pods_on_other_namespaces() {
    check(
        "should deny ingress from pods on other namespaces",
        "namespace x {\n  workload every { }\n  every accepts from namespace x\n}",
        &[tcp(80, Table::new(true).peer(ns("y"), ns("x"), false).peer(ns("z"), ns("x"), false))],
    );
}

// ginkgo.It("should deny ingress access to updated pod")
// The policy isolates `target: isolated`; half-way x/a gets that label.
#[test]
fn deny_ingress_to_updated_pod() {
    let title = "should deny ingress access to updated pod";
    let policy = "namespace x {\n  workload isolated { target: isolated }\n  isolated accepts nothing\n}";
    check(&format!("{title} (before)"), policy, &[tcp(80, Table::new(true))]);
    check_model(
        &format!("{title} (x/a relabelled)"),
        &[("x/a", "pod: a, target: isolated")],
        policy,
        &[tcp(80, Table::new(true).all_ingress("x/a", false))],
    );
}

// ginkgo.It("should deny egress from pods based on PodSelector")
#[test]
fn deny_egress_by_pod_selector() {
    check(
        "should deny egress from pods based on PodSelector",
        "namespace x {\n  a connects to nothing\n}",
        &[tcp(80, Table::new(true).all_egress("x/a", false))],
    );
}

// ginkgo.It("should deny egress from all pods in a namespace")
#[test]
fn deny_egress_from_all_pods_in_a_namespace() {
    check(
        "should deny egress from all pods in a namespace",
        "namespace x {\n  default deny egress\n}",
        &[tcp(80, Table::new(true).peer(ns("x"), any(), false))],
    );
}

// ginkgo.It("should work with Ingress, Egress specified together")
#[test]
fn ingress_and_egress_together() {
    check(
        "should work with Ingress, Egress specified together",
        "namespace x {\n  a accepts from b\n  a connects to anywhere on tcp 80\n}",
        &[
            tcp(80, Table::new(true).all_ingress("x/a", false).set("x/b", "x/a", true)),
            tcp(
                81,
                Table::new(true).all_ingress("x/a", false).all_egress("x/a", false).set("x/b", "x/a", true),
            ),
        ],
    );
}

// ginkgo.It("should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)")
// Egress of x/a to y/a only; y/a and y/b accept from x/a (namespace x by name and `pod: a`).
#[test]
fn deny_egress_on_the_client_side() {
    check(
        "should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)",
        "namespace x {\n  a connects to y/a\n}\n\
         namespace y {\n  a accepts from x/a\n  b accepts from x/a\n}",
        &[tcp(
            80,
            Table::new(true)
                .peer(pod("x/a"), any(), false)
                .peer(any(), pod("y/a"), false)
                .peer(pod("x/a"), pod("y/a"), true)
                .peer(any(), pod("y/b"), false),
        )],
    );
}

// ginkgo.It("should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector")
#[test]
fn egress_to_a_server_in_a_different_namespace() {
    check(
        "should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector",
        "namespace x {\n  a connects to y/a\n}",
        &[tcp(80, Table::new(true).all_egress("x/a", false).set("x/a", "y/a", true))],
    );
}

// ginkgo.It("should enforce ingress policy allowing any port traffic to a server on a specific protocol")
#[test]
fn ingress_on_any_port_of_one_protocol() {
    check(
        "should enforce ingress policy allowing any port traffic to a server on a specific protocol",
        "namespace x {\n  a accepts tcp from anywhere\n}",
        &[tcp(80, Table::new(true)), udp(80, Table::new(true).peer(any(), pod("x/a"), false))],
    );
}

// ginkgo.It("should enforce multiple ingress policies with ingress allow-all policy taking precedence")
// Both policies select every pod of x; the second is written on a second workload with an
// empty selector.
#[test]
fn multiple_ingress_policies_with_allow_all() {
    let title = "should enforce multiple ingress policies with ingress allow-all policy taking precedence";
    let first = "namespace x {\n  workload every { }\n  every accepts tcp 80 from anywhere\n}";
    check(
        &format!("{title} (port 80 only)"),
        first,
        &[tcp(81, Table::new(true).peer(any(), ns("x"), false))],
    );
    let both =
        format!("{first}\nnamespace x {{\n  workload every-too {{ }}\n  every-too accepts from anywhere\n}}");
    check(&format!("{title} (and allow all)"), &both, &[tcp(81, Table::new(true))]);
}

// ginkgo.It("should enforce multiple egress policies with egress allow-all policy taking precedence")
#[test]
fn multiple_egress_policies_with_allow_all() {
    let title = "should enforce multiple egress policies with egress allow-all policy taking precedence";
    let first = "namespace x {\n  workload every { }\n  every connects to anywhere on tcp 80\n}";
    check(
        &format!("{title} (port 80 only)"),
        first,
        &[tcp(81, Table::new(true).peer(ns("x"), any(), false))],
    );
    let both =
        format!("{first}\nnamespace x {{\n  workload every-too {{ }}\n  every-too connects to anywhere\n}}");
    check(&format!("{title} (and allow all)"), &both, &[tcp(81, Table::new(true))]);
}

// ginkgo.It("should stop enforcing policies after they are deleted")
// One policy over every pod of x with both policy types and no rules, then no policy.
#[test]
fn stop_enforcing_after_deletion() {
    let title = "should stop enforcing policies after they are deleted";
    check(
        &format!("{title} (deny all)"),
        "namespace x {\n  workload every { }\n  every accepts nothing\n  every connects to nothing\n}",
        &[tcp(80, Table::new(true).peer(ns("x"), any(), false).peer(any(), ns("x"), false))],
    );
    check(&format!("{title} (deleted)"), "", &[tcp(80, Table::new(true))]);
}

// ginkgo.It("should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector")
#[test]
fn ingress_and_egress_controlled_independently() {
    let title =
        "should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector";
    let egress = "namespace x {\n  a connects to anywhere\n}";
    check(&format!("{title} (allow egress)"), egress, &[tcp(80, Table::new(true))]);
    check(
        &format!("{title} (and deny ingress)"),
        &format!("{egress}\nnamespace x {{\n  a accepts nothing\n}}"),
        &[tcp(80, Table::new(true).all_ingress("x/a", false))],
    );
}

// ginkgo.It("should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't support SCTP")
#[test]
fn sctp_is_not_tcp() {
    check(
        "should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't support SCTP",
        "namespace x {\n  default deny ingress\n  a accepts sctp 81 from anywhere\n}",
        &[tcp(81, Table::new(true).peer(any(), ns("x"), false))],
    );
}

// ginkgo.It("should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin doesn't support SCTP")
#[test]
fn sctp_policy_isolates() {
    check(
        "should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin doesn't support SCTP",
        "namespace x {\n  a accepts sctp 80 from anywhere\n}",
        &[tcp(81, Table::new(true).all_ingress("x/a", false))],
    );
}

// ginkgo.It("should not allow access by TCP when a policy specifies only UDP")
#[test]
fn udp_policy_does_not_allow_tcp() {
    check(
        "should not allow access by TCP when a policy specifies only UDP",
        "namespace x {\n  a accepts udp 81 from anywhere\n}",
        &[tcp(81, Table::new(true).all_ingress("x/a", false))],
    );
}

// ginkgo.It("should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label")
#[test]
fn namespace_selector_match_labels_on_the_name_label() {
    check(
        "should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label",
        "namespaces name-y { kubernetes.io/metadata.name: y }\nnamespace x {\n  a accepts from name-y\n}",
        &[tcp(80, Table::new(true).peer(ns("x"), pod("x/a"), false).peer(ns("z"), pod("x/a"), false))],
    );
}

// ginkgo.It("should enforce policy based on NamespaceSelector with MatchExpressions using default ns label")
// An egress policy on x/a towards every namespace but y.
#[test]
fn namespace_selector_match_expressions_on_the_name_label() {
    check(
        "should enforce policy based on NamespaceSelector with MatchExpressions using default ns label",
        "namespaces not-y { kubernetes.io/metadata.name notin (y) }\nnamespace x {\n  a connects to not-y\n}",
        &[tcp(80, Table::new(true).peer(pod("x/a"), ns("y"), false))],
    );
}

// ---- NetworkPolicy between server and client using UDP ------------------------------------

// ginkgo.It("should support a 'default-deny-ingress' policy") [UDP]
#[test]
fn udp_default_deny_ingress() {
    check(
        "should support a 'default-deny-ingress' policy (UDP)",
        "namespace x {\n  default deny ingress\n}",
        &[udp(80, Table::new(true).peer(any(), ns("x"), false))],
    );
}

// ginkgo.It("should enforce policy based on Ports") [UDP]
#[test]
fn udp_ports() {
    check(
        "should enforce policy based on Ports (UDP)",
        "namespace x {\n  a accepts udp 81 from namespace y\n}",
        &[udp(81, Table::new(true).peer(ns("x"), pod("x/a"), false).peer(ns("z"), pod("x/a"), false))],
    );
}

// ginkgo.It("should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector") [UDP]
#[test]
fn udp_allow_only_from_a_pod_in_a_different_namespace() {
    check(
        "should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector (UDP)",
        "namespace x {\n  a accepts from y/a\n}",
        &[udp(80, Table::new(true).all_ingress("x/a", false).set("y/a", "x/a", true))],
    );
}

// ---- NetworkPolicy between server and client using SCTP -----------------------------------

// ginkgo.It("should support a 'default-deny-ingress' policy") [SCTP]
#[test]
fn sctp_default_deny_ingress() {
    check(
        "should support a 'default-deny-ingress' policy (SCTP)",
        "namespace x {\n  default deny ingress\n}",
        &[sctp(80, Table::new(true).peer(any(), ns("x"), false))],
    );
}

// ginkgo.It("should enforce policy based on Ports") [SCTP]
#[test]
fn sctp_ports() {
    check(
        "should enforce policy based on Ports (SCTP)",
        "namespace x {\n  a accepts sctp 81 from namespace y\n}",
        &[sctp(81, Table::new(true).peer(ns("x"), pod("x/a"), false).peer(ns("z"), pod("x/a"), false))],
    );
}

// ginkgo.It("should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector") [SCTP]
#[test]
fn sctp_allow_only_from_a_pod_in_a_different_namespace() {
    check(
        "should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector (SCTP)",
        "namespace x {\n  a accepts from y/a\n}",
        &[sctp(80, Table::new(true).all_ingress("x/a", false).set("y/a", "x/a", true))],
    );
}

// ---- port ranges: variants of upstream cases, not upstream cases ---------------------------

// Variant of ginkgo.It("should enforce policy based on Ports"): the port is the range 81-82
// (`port: 81, endPort: 82`), so 81 is allowed from y and 80 from nobody.
#[test]
fn port_range_ingress() {
    check(
        "variant of: should enforce policy based on Ports, with endPort",
        "namespace x {\n  a accepts tcp 81-82 from namespace y\n}",
        &[
            tcp(81, Table::new(true).peer(ns("x"), pod("x/a"), false).peer(ns("z"), pod("x/a"), false)),
            tcp(80, Table::new(true).all_ingress("x/a", false)),
        ],
    );
}

// Variant of ginkgo.It("should enforce multiple egress policies with egress allow-all policy
// taking precedence"), first step: the egress port is the range 79-80, over UDP.
#[test]
fn port_range_egress() {
    check(
        "variant of: should enforce multiple egress policies with egress allow-all policy taking precedence, with endPort",
        "namespace x {\n  workload every { }\n  every connects to anywhere on udp 79-80\n}",
        &[
            udp(80, Table::new(true)),
            udp(81, Table::new(true).peer(ns("x"), any(), false)),
            tcp(80, Table::new(true).peer(ns("x"), any(), false)),
        ],
    );
}
