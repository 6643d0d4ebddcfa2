//! `netpol replay PROGRAM FLOWS…`: recorded flows judged against a policy, as `why` judges one
//! connection; the flows it would drop, grouped by the rule (or the missing rule) that decides.
//!
//! The flows are read first (`crate::traffic`), by connection; each flow's ends become pods
//! of the world's inventory (beside `--inventory`'s), addresses outside the cluster, the node
//! or the API server. The program is read over those points: its meaning, or with `-t` its
//! compiled manifests as that target's CNI enforces them; policy manifests as their CNI does.
//! Each distinct connection is judged once, however many flows it has.

use super::analyze::{explain_side, Answer, Line, RuleRef};
use super::input::{expand_inputs, expand_manifests, read_manifest, read_stream_limited, MAX_MANIFEST_BYTES};
use super::render::Format;
use super::{report_all, say, ColorArg, InputArgs, EXIT_IO, EXIT_OK, EXIT_USAGE};
use crate::analysis::expect::Sides;
use crate::analysis::matrix::{node_to_its_pod, Semantics};
use crate::analysis::ports::PortSet;
use crate::analysis::reach::SourceSemantics;
use crate::analysis::side::Cell;
use crate::analysis::targets;
use crate::analysis::universe::{PointId, Universe};
use crate::backend::{Target, Versions};
use crate::diagnostic::Diagnostic;
use crate::driver::{self, Compilation, Options};
use crate::ir::{Direction, Protocol};
use crate::span::SourceMap;
use crate::traffic::{At, End, Port, Recorded};
use crate::world::inventory::Kind;
use crate::world::ports::Resolved;
use crate::world::universe::Population;
use crate::world::{reading, Dialect, Use, World};
use clap::ValueEnum;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// `replay`: some recorded flow would be dropped.
pub const EXIT_DROPPED: i32 = 1;
/// `replay`: nothing would be dropped for certain, but some flows possibly would.
pub const EXIT_POSSIBLY: i32 = 4;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReplayFormat {
    /// For terminals
    Human,
    /// For a pull-request comment
    Markdown,
    /// For tools (fields documented in the README)
    Json,
}

pub(crate) struct ReplayArgs<'a> {
    pub program: &'a Path,
    pub flows: &'a [PathBuf],
    pub inventory: &'a [PathBuf],
    pub target: Option<Target>,
    pub versions: Versions,
    pub cni: Option<Dialect>,
    pub namespace: &'a str,
    pub set: &'a [(String, String)],
    pub format: ReplayFormat,
    pub color: ColorArg,
}

/// How the policy is read.
enum Policy {
    Program(Box<Compilation>),
    Manifests(Dialect),
}

pub(crate) fn run(a: &ReplayArgs) -> i32 {
    match run_inner(a) {
        Ok(code) => code,
        Err(EXIT_IO) => EXIT_IO,
        // Input that cannot be replayed is trouble (2): 1 means "dropped" here.
        Err(_) => EXIT_USAGE,
    }
}

/// Human diagnostics on stderr, in `color`: the flow commands take no diagnostic options.
pub(crate) fn plain_input(color: ColorArg) -> InputArgs {
    InputArgs {
        paths: Vec::new(),
        set: Vec::new(),
        deny_warnings: false,
        format: Format::Human,
        color,
        levels: Default::default(),
    }
}

/// Reads the flow files (`-`: stdin), a line at a time, and reports what they hold that is
/// not a flow. `Err`: the exit code, when a file cannot be read or holds no flow.
pub(crate) fn read_flows(paths: &[PathBuf], input: &InputArgs) -> Result<Recorded, i32> {
    let mut sources = SourceMap::new();
    let mut recorded = Recorded::default();
    let mut diags: Vec<Diagnostic> = Vec::new();
    for path in paths {
        let found = if path.as_os_str() == "-" {
            recorded.read("<stdin>", std::io::stdin().lock(), &mut sources)
        } else {
            std::fs::File::open(path).and_then(|file| {
                recorded.read(
                    &path.display().to_string(),
                    BufReader::with_capacity(1 << 16, file),
                    &mut sources,
                )
            })
        };
        match found {
            Ok(d) => diags.extend(d),
            Err(e) => {
                say(format_args!("error: cannot read `{}`: {e}", path.display()));
                return Err(EXIT_USAGE);
            }
        }
    }
    let failed = diags.iter().any(Diagnostic::is_error);
    report_all(input, &sources, &mut diags, false);
    if failed {
        Err(EXIT_USAGE)
    } else {
        Ok(recorded)
    }
}

fn run_inner(a: &ReplayArgs) -> Result<i32, i32> {
    let input = plain_input(a.color);
    let stdin = a.flows.iter().chain(a.inventory).filter(|p| p.as_os_str() == "-").count()
        + usize::from(a.program.as_os_str() == "-");
    if stdin > 1 {
        say(format_args!("error: `-` (stdin) is given twice"));
        return Err(EXIT_USAGE);
    }
    let recorded = read_flows(a.flows, &input)?;
    // The policy and the inventory.
    let mut man = SourceMap::new();
    let mut world = World::default();
    for p in expand_manifests(a.inventory)? {
        let file = add_file(&mut man, &p)?;
        world.add_file(&man, file, Use::Inventory, a.namespace);
    }
    let (sources, manifests) = expand_inputs(std::slice::from_ref(&a.program.to_path_buf()))?;
    if !sources.is_empty() && !manifests.is_empty() {
        say(format_args!(
            "error: `{}` holds both .netpol files and policy manifests; give one kind",
            a.program.display()
        ));
        return Err(EXIT_USAGE);
    }
    for p in &manifests {
        let file = add_file(&mut man, p)?;
        world.add_file(&man, file, Use::Policies, a.namespace);
    }
    let mut diags = std::mem::take(&mut world.diagnostics);
    let policy = if sources.is_empty() {
        if a.target.is_some() {
            say(format_args!("error: -t reads a .netpol program's compiled manifests; policy manifests are read as their CNI enforces them (see --cni)"));
            return Err(EXIT_USAGE);
        }
        match reading::choose(&world, a.cni) {
            Ok(d) => Policy::Manifests(d),
            Err(d) => {
                diags.push(*d);
                report_all(&input, &man, &mut diags, false);
                return Err(EXIT_USAGE);
            }
        }
    } else {
        let options = Options {
            overrides: a.set.to_vec(),
            expects_elsewhere: true,
            targets: a.target.into_iter().collect(),
            versions: a.versions,
            ..Options::default()
        };
        let mut c = driver::compile(&sources, &super::FsLoader, &options);
        if !c.diagnostics.is_empty() {
            report_all(&input, &c.sources, &mut c.diagnostics, false);
        }
        if c.has_errors() || c.program.is_none() {
            return Err(EXIT_USAGE);
        }
        Policy::Program(Box::new(c))
    };
    if diags.iter().any(Diagnostic::is_error) {
        report_all(&input, &man, &mut diags, false);
        return Err(EXIT_USAGE);
    }
    add_recorded_pods(&mut world, &recorded);
    let program = match &policy {
        Policy::Program(c) => c.program.as_ref(),
        Policy::Manifests(_) => None,
    };
    let extra: Vec<std::net::IpAddr> = recorded
        .ends
        .iter()
        .filter_map(|e| match e {
            End::World(ip) => {
                world.outside.insert(*ip);
                Some(*ip)
            }
            End::Address(ip) => Some(*ip),
            _ => None,
        })
        .collect();
    let pop = crate::world::universe::build(&world, program, &extra);
    let u = &pop.universe;
    fn wrap<'a>(
        sem: Box<dyn Semantics + 'a>,
        pop: &'a Population,
        cni: Option<Dialect>,
    ) -> Box<dyn Semantics + 'a> {
        Box::new(Resolved::new(sem, pop, cni))
    }
    let (sem, label, explain_sources): (Box<dyn Semantics>, String, &SourceMap) = match &policy {
        Policy::Program(c) => match a.target {
            Some(t) => {
                let none = Vec::new();
                let objects = c.outputs.iter().find(|(x, _)| *x == t).map_or(&none, |(_, o)| o);
                let r = targets::read(t, objects, u);
                (
                    wrap(r.semantics, &pop, Some(reading::dialect_of(t))),
                    format!("compiled:{}", t.name()),
                    &c.sources,
                )
            }
            None => {
                let p = c.program.as_ref().expect("checked");
                (wrap(Box::new(SourceSemantics::new(p, u)), &pop, None), "source".to_string(), &c.sources)
            }
        },
        Policy::Manifests(cni) => {
            let (r, found) = reading::read(&world, *cni, u, &man);
            diags.extend(found);
            (wrap(r.semantics, &pop, Some(*cni)), cni.name().to_string(), &man)
        }
    };
    report_all(&input, &man, &mut diags, false);
    let points = points_of(&recorded, &pop);
    let report = judge(&recorded, &points, u, &*sem, explain_sources, &label, a.program);
    let text = match a.format {
        ReplayFormat::Human => report.human(),
        ReplayFormat::Markdown => report.markdown(),
        ReplayFormat::Json => format!("{}\n", serde_json::to_string_pretty(&report).unwrap_or_default()),
    };
    let code = if report.dropped_flows > 0 {
        EXIT_DROPPED
    } else if report.possibly_flows > 0 {
        EXIT_POSSIBLY
    } else {
        EXIT_OK
    };
    Ok(super::print_out(&text, code))
}

/// Reads a manifest file (`-`: stdin) into `man`; `Err`: the exit code, said.
pub(crate) fn add_file(man: &mut SourceMap, p: &Path) -> Result<crate::span::FileId, i32> {
    let (name, text) = if p.as_os_str() == "-" {
        ("<stdin>".to_string(), read_stream_limited(std::io::stdin().lock(), MAX_MANIFEST_BYTES))
    } else {
        (p.display().to_string(), read_manifest(p))
    };
    match text {
        Ok(text) => Ok(man.add(name, text)),
        Err(why) => {
            say(format_args!("error: cannot read `{name}`: {why}"));
            Err(EXIT_USAGE)
        }
    }
}

/// The recorded pods as inventory pods (those `--inventory` does not already hold, by
/// `namespace/name`), and the namespaces whose labels the flows give.
pub(crate) fn add_recorded_pods(world: &mut World, recorded: &Recorded) {
    let held: std::collections::HashSet<(String, String)> =
        world.inventory.pods().iter().map(|p| (p.namespace.clone(), p.name.clone())).collect();
    let listed: std::collections::HashSet<String> =
        world.inventory.namespaces.iter().map(|n| n.name.clone()).collect();
    for (ns, labels) in &recorded.namespace_labels {
        if !listed.contains(ns) {
            let v = serde_json::json!({"metadata": {"name": ns, "labels": labels}});
            let _ = world.inventory.add(Kind::Namespace, &v);
        }
    }
    for e in &recorded.ends {
        let End::Pod(p) = e else { continue };
        if held.contains(&(p.namespace.clone(), p.name.clone())) {
            continue;
        }
        let mut spec = serde_json::Map::new();
        if let Some(sa) = &p.service_account {
            spec.insert("serviceAccountName".into(), sa.clone().into());
        }
        let v = serde_json::json!({
            "metadata": {"name": p.name, "namespace": p.namespace, "labels": p.labels},
            "spec": spec,
        });
        let _ = world.inventory.add(Kind::Pod, &v);
    }
    world.has_inventory = true;
}

/// The point of each recorded end, by its index.
pub(crate) fn points_of(recorded: &Recorded, pop: &Population) -> Vec<Option<PointId>> {
    let u = &pop.universe;
    let mut by_name: HashMap<&str, PointId> = HashMap::new();
    for (p, names) in pop.members.iter().enumerate() {
        for n in names {
            by_name.entry(n.as_str()).or_insert(p as PointId);
        }
    }
    recorded
        .ends
        .iter()
        .map(|e| match e {
            End::Pod(p) => by_name.get(format!("{}/{}", p.namespace, p.name).as_str()).copied(),
            End::Host => Some(u.host()),
            End::ApiServer => Some(u.api_server()),
            End::World(ip) | End::Address(ip) => {
                u.addresses_in(&ipnet::IpNet::from(*ip)).find(|(a, _)| a == ip).map(|(_, p)| p)
            }
        })
        .collect()
}

/// The ports a recorded connection stands for.
fn port_set(port: Port) -> PortSet {
    match port {
        Port::Tcp(p) => PortSet::range(Protocol::Tcp, p, p),
        Port::Udp(p) => PortSet::range(Protocol::Udp, p, p),
        Port::Sctp(p) => PortSet::range(Protocol::Sctp, p, p),
        // Rules name TCP, UDP and SCTP ports only; only a rule for every port covers ICMP.
        Port::Echo => PortSet::all(),
    }
}

/// The answer for one recorded connection.
fn answer(cell: &Cell, port: Port) -> Answer {
    match port {
        // Rules name TCP, UDP and SCTP ports; ICMP passes only where no policy restricts the
        // side or a rule allows every port (no `ports` field: every protocol, in all three
        // CNIs). So an echo is allowed where every port certainly is, dropped where not every
        // port possibly is, and otherwise possibly. (Rules that list every port of all three
        // protocols one by one read as every port here, though they leave ICMP out.)
        Port::Echo if cell.certain.is_all() => Answer::Allowed,
        Port::Echo if !cell.possible.is_all() => Answer::NotAllowed,
        Port::Echo => Answer::Possibly,
        _ => Answer::of_cell(cell, &port_set(port)),
    }
}

#[derive(Serialize)]
pub(crate) struct Example {
    pub at: String,
    pub from: String,
    pub to: String,
    pub port: String,
    /// The verdict the recording gives (`FORWARDED`, `DROPPED`…).
    pub recorded: String,
}

/// Flows that one rule, or one missing rule, decides.
#[derive(Serialize)]
pub(crate) struct Group {
    /// What decides, as the human form says it (one line per deciding side).
    pub decided_by: Vec<String>,
    pub rules: Vec<RuleRef>,
    pub flows: u64,
    pub connections: u64,
    pub example: Example,
}

#[derive(Serialize)]
pub(crate) struct NotJudged {
    pub reason: String,
    pub flows: u64,
    pub example: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct ReplayReport {
    /// `source`, `compiled:TARGET`, or the CNI the manifests are read as.
    pub semantics: String,
    pub policy: String,
    pub files: Vec<String>,
    pub counts: crate::traffic::Counts,
    pub connections: usize,
    pub allowed_flows: u64,
    pub dropped_flows: u64,
    pub possibly_flows: u64,
    pub not_judged_flows: u64,
    pub dropped: Vec<Group>,
    pub possibly: Vec<Group>,
    pub not_judged: Vec<NotJudged>,
}

/// The lines of the sides of `s → d` that do not certainly allow `ports`.
fn deciding_lines(
    sources: &SourceMap,
    u: &Universe,
    sides: &mut Sides,
    (s, d): (PointId, PointId),
    ports: &PortSet,
) -> Vec<Line> {
    let mut out = Vec::new();
    for (dir, subject, other) in [(Direction::Egress, s, d), (Direction::Ingress, d, s)] {
        if dir == Direction::Ingress && node_to_its_pod(u, s, d) {
            continue;
        }
        let side = sides.get(subject, dir).clone();
        let cell = side.at(u, other);
        if !side.is_open() && (cell.certain.is_empty() || !ports.is_subset(&cell.certain)) {
            let name = u.point(subject).name.clone();
            out.extend(explain_side(sources, u, &side, other, dir, &name, ports));
        }
    }
    out
}

/// Judges every recorded connection.
fn judge(
    recorded: &Recorded,
    points: &[Option<PointId>],
    u: &Universe,
    sem: &dyn Semantics,
    sources: &SourceMap,
    label: &str,
    policy: &Path,
) -> ReplayReport {
    let mut sides = Sides::new(sem);
    let mut dropped: BTreeMap<Vec<String>, Group> = BTreeMap::new();
    let mut possibly: BTreeMap<Vec<String>, Group> = BTreeMap::new();
    let (mut allowed_flows, mut dropped_flows, mut possibly_flows) = (0, 0, 0);
    let mut not_judged: BTreeMap<String, (u64, Option<At>)> =
        recorded.unjudged.iter().map(|(reason, u)| (reason.clone(), (u.flows, u.first))).collect();
    for (&(f, t, port), seen) in recorded.sorted() {
        let (Some(s), Some(d)) = (points[f as usize], points[t as usize]) else {
            let e = not_judged.entry("an end netpol could not place".to_string()).or_default();
            e.0 += seen.flows;
            e.1.get_or_insert(seen.first);
            continue;
        };
        let egress = sides.get(s, Direction::Egress).at(u, d);
        let ingress =
            if node_to_its_pod(u, s, d) { Cell::all() } else { sides.get(d, Direction::Ingress).at(u, s) };
        let cell = egress.intersect(&ingress);
        let a = answer(&cell, port);
        let into = match a {
            Answer::Allowed => {
                allowed_flows += seen.flows;
                continue;
            }
            Answer::NotAllowed => {
                dropped_flows += seen.flows;
                &mut dropped
            }
            _ => {
                possibly_flows += seen.flows;
                &mut possibly
            }
        };
        let ports = port_set(port);
        let lines = deciding_lines(sources, u, &mut sides, (s, d), &ports);
        let rules: Vec<RuleRef> = lines
            .iter()
            .filter_map(|l| l.rule.clone())
            .filter(|r| r.action != "allows" || r.if_address_matches)
            .collect();
        let key: Vec<String> = rules.iter().map(rule_key).collect();
        let group = into.entry(key).or_insert_with(|| Group {
            decided_by: lines.iter().map(|l| l.text.clone()).collect(),
            rules,
            flows: 0,
            connections: 0,
            example: Example {
                at: recorded.place(seen.first),
                from: recorded.end(f).name(),
                to: recorded.end(t).name(),
                port: port.to_string(),
                recorded: seen.verdict.clone(),
            },
        });
        group.flows += seen.flows;
        group.connections += 1;
    }
    let order = |m: BTreeMap<Vec<String>, Group>| {
        let mut v: Vec<Group> = m.into_values().collect();
        v.sort_by(|a, b| b.flows.cmp(&a.flows).then_with(|| a.decided_by.cmp(&b.decided_by)));
        v
    };
    let not_judged: Vec<NotJudged> = not_judged
        .into_iter()
        .map(|(reason, (flows, first))| NotJudged {
            reason,
            flows,
            example: first.map(|at| recorded.place(at)),
        })
        .collect();
    ReplayReport {
        semantics: label.to_string(),
        policy: policy.display().to_string(),
        files: recorded.files.clone(),
        counts: recorded.counts.clone(),
        connections: recorded.connections.len(),
        allowed_flows,
        dropped_flows,
        possibly_flows,
        not_judged_flows: not_judged.iter().map(|n| n.flows).sum(),
        dropped: order(dropped),
        possibly: order(possibly),
        not_judged,
    }
}

/// What identifies a deciding rule, whichever pod it decides for.
fn rule_key(r: &RuleRef) -> String {
    let place = match (&r.file, r.line, &r.object, &r.rule) {
        (Some(f), Some(l), _, _) => format!("{f}:{l}"),
        (_, _, Some(o), Some(rule)) => format!("{o} {rule}"),
        (_, _, Some(o), None) => o.clone(),
        _ => String::new(),
    };
    format!("{} {} {place}", r.direction, r.action)
}

impl ReplayReport {
    fn summary(&self) -> String {
        let c = &self.counts;
        let mut out = format!(
            "replayed {} against {} ({}): {} ({})",
            count(c.flows, "flow"),
            self.policy,
            self.semantics,
            count(self.connections as u64, "connection"),
            count(c.opening, "flow"),
        );
        if c.replies > 0 {
            let own = if c.replies == 1 { "its" } else { "their" };
            let _ = write!(out, ", and {} not judged on {own} own", count(c.replies, "reply"));
        }
        if c.other_lines > 0 {
            let _ = write!(out, "; {} without a flow skipped", count(c.other_lines, "line"));
        }
        out
    }

    pub(crate) fn human(&self) -> String {
        let mut out = format!("{}\n", self.summary());
        let groups = |out: &mut String, title: &str, list: &[Group], flows: u64| {
            if list.is_empty() {
                return;
            }
            let _ = writeln!(
                out,
                "\n{title}: {}, in {} by what decides",
                count(flows, "flow"),
                count(list.len() as u64, "group")
            );
            for g in list {
                let _ = writeln!(out);
                for l in &g.decided_by {
                    let _ = writeln!(out, "  {l}");
                }
                let e = &g.example;
                let _ = writeln!(
                    out,
                    "    {}, {}; e.g. {}: {} -> {} on {} (recorded {})",
                    count(g.flows, "flow"),
                    count(g.connections, "connection"),
                    e.at,
                    e.from,
                    e.to,
                    e.port,
                    e.recorded
                );
            }
        };
        groups(&mut out, "would drop", &self.dropped, self.dropped_flows);
        groups(
            &mut out,
            "possibly dropped (depends on facts the policy leaves open)",
            &self.possibly,
            self.possibly_flows,
        );
        if !self.not_judged.is_empty() {
            let _ = writeln!(out, "\nnot judged: {}", count(self.not_judged_flows, "flow"));
            for n in &self.not_judged {
                let e = n.example.as_deref().map_or_else(String::new, |e| format!("; e.g. {e}"));
                let _ = writeln!(out, "  {}: {}{e}", n.reason, count(n.flows, "flow"));
            }
        }
        let _ = writeln!(
            out,
            "\n{}",
            if self.dropped_flows > 0 {
                format!("{} of {} judged flows would be dropped", self.dropped_flows, self.judged())
            } else if self.possibly_flows > 0 {
                format!(
                    "nothing would be dropped for certain; {} possibly would",
                    count(self.possibly_flows, "flow")
                )
            } else {
                format!("every judged flow is allowed ({})", count(self.judged(), "flow"))
            }
        );
        out
    }

    fn judged(&self) -> u64 {
        self.allowed_flows + self.dropped_flows + self.possibly_flows
    }

    pub(crate) fn markdown(&self) -> String {
        let mut out = String::new();
        let head = if self.dropped_flows > 0 {
            format!("**{} of {} judged flows would be dropped**", self.dropped_flows, self.judged())
        } else if self.possibly_flows > 0 {
            format!(
                "**No recorded flow would be dropped for certain; {} possibly would**",
                count(self.possibly_flows, "flow")
            )
        } else {
            format!("**Every judged flow is allowed ({})**", count(self.judged(), "flow"))
        };
        let _ = writeln!(out, "{head} by `{}` ({}).\n", self.policy, self.semantics);
        for (title, list) in [("Would drop", &self.dropped), ("Possibly dropped", &self.possibly)] {
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(out, "| {title} | flows | connections | example |\n|---|---:|---:|---|");
            for g in list.iter() {
                let what = g.decided_by.iter().map(|l| md(l.trim())).collect::<Vec<_>>().join("<br>");
                let e = &g.example;
                let _ = writeln!(
                    out,
                    "| {what} | {} | {} | `{}` → `{}` on {} ({}) |",
                    g.flows,
                    g.connections,
                    md(&e.from),
                    md(&e.to),
                    e.port,
                    md(&e.at)
                );
            }
            out.push('\n');
        }
        if !self.not_judged.is_empty() {
            let _ = writeln!(
                out,
                "Not judged: {} ({}).",
                count(self.not_judged_flows, "flow"),
                self.not_judged.iter().map(|n| md(&n.reason)).collect::<Vec<_>>().join("; ")
            );
        }
        out
    }
}

/// `1 flow`, `2 flows`, `2 replies`.
fn count(n: u64, noun: &str) -> String {
    match (n, noun.strip_suffix('y')) {
        (1, _) => format!("1 {noun}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        _ => format!("{n} {noun}s"),
    }
}

/// Text safe in a Markdown table cell.
fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('`', "'")
}
