//! `verify`, `why` and `matrix` over the world: policy manifests anyone wrote (any dialect) and
//! an inventory of namespaces and pods (`--inventory`), instead of, or beside, a `.netpol`
//! program. The library does the reading (`crate::world`); this module reads the files and
//! prints.

use super::analyze::{
    connection_report, csv_line, ports_text, report, settle, write_json_matrix, write_table, End,
    JsonConnection, MatrixFormat, Question, WhyReport, CSV_HEADER,
};
use super::input::{read_manifest, read_stream_limited, MAX_MANIFEST_BYTES};
use super::{say, EXIT_ERRORS, EXIT_OK};
use crate::analysis::matrix::{Allowed, Rows, Semantics};
use crate::analysis::ports::PortSet;
use crate::analysis::reach::SourceSemantics;
use crate::analysis::side::Cell;
use crate::diagnostic::Diagnostic;
use crate::driver::{self, Options};
use crate::ir::{Program, Protocol};
use crate::span::SourceMap;
use crate::world::ports::Resolved;
use crate::world::universe::Population;
use crate::world::{reading, Dialect, Use, World};
use serde::Serialize;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;

/// What the command line gives besides the paths.
pub(crate) struct WorldInput<'a> {
    pub sources: &'a [String],
    pub manifests: &'a [PathBuf],
    pub inventory: &'a [PathBuf],
    pub set: &'a [(String, String)],
    pub namespace: &'a str,
}

/// The inputs read: the sources (manifests among them, for diagnostics), the program of the
/// `.netpol` files if any, and the world.
pub(crate) struct Loaded {
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
    pub program: Option<Program>,
    pub world: World,
}

/// Compiles the `.netpol` files (no target) and reads every manifest. `Err`: the exit code,
/// once the reason is printed.
pub(crate) fn load(input: &WorldInput) -> Result<Loaded, i32> {
    let (sources, mut diagnostics, program) = if input.sources.is_empty() {
        (SourceMap::new(), Vec::new(), None)
    } else {
        let options =
            Options { overrides: input.set.to_vec(), expects_elsewhere: true, ..Options::default() };
        let c = driver::compile(input.sources, &super::FsLoader, &options);
        (c.sources, c.diagnostics, c.program)
    };
    let mut sources = sources;
    let mut world = World::default();
    let mut stdin_read = false;
    let files = input
        .manifests
        .iter()
        .map(|p| (p, Use::Policies))
        .chain(input.inventory.iter().map(|p| (p, Use::Inventory)));
    for (path, usage) in files {
        let (name, text) = if path.as_os_str() == "-" {
            if stdin_read {
                say(format_args!("error: `-` (stdin) is given twice"));
                return Err(EXIT_ERRORS);
            }
            stdin_read = true;
            ("<stdin>".to_string(), read_stream_limited(std::io::stdin().lock(), MAX_MANIFEST_BYTES))
        } else {
            (path.display().to_string(), read_manifest(path))
        };
        let text = match text {
            Ok(t) => t,
            Err(why) => {
                say(format_args!("error: cannot read `{name}`: {why}"));
                return Err(EXIT_ERRORS);
            }
        };
        let file = sources.add(name, text);
        world.add_file(&sources, file, usage, input.namespace);
    }
    diagnostics.append(&mut world.diagnostics);
    Ok(Loaded { sources, diagnostics, program, world })
}

/// What answers over the world: the manifests read as one CNI (their diagnostics added), or,
/// where there are no policy manifests, the program's own meaning over the inventory's pods.
pub(crate) struct Read<'a> {
    /// `None`: the program's meaning.
    pub cni: Option<Dialect>,
    /// `kubernetes reading of the manifests`, or `source`.
    pub label: String,
    pub population: &'a Population,
    pub semantics: Box<dyn Semantics + 'a>,
    pub problems: usize,
}

/// `resolve_names`: with an inventory, resolve named ports against its containers
/// (`crate::world::ports`); `check` keeps them, to find names no container declares.
pub(crate) fn read<'a>(
    l: &mut Loaded,
    cni: Dialect,
    program: Option<&'a Program>,
    population: &'a Population,
    resolve_names: bool,
) -> Read<'a> {
    let resolve = resolve_names && l.world.has_inventory;
    let wrap = |sem: Box<dyn Semantics + 'a>, cni: Option<Dialect>| -> Box<dyn Semantics + 'a> {
        if resolve {
            Box::new(Resolved::new(sem, population, cni))
        } else {
            sem
        }
    };
    if let Some(program) = program.filter(|_| l.world.policies.is_empty()) {
        let semantics = wrap(Box::new(SourceSemantics::new(program, &population.universe)), None);
        return Read { cni: None, label: "source".to_string(), population, semantics, problems: 0 };
    }
    let (reading, diags) = reading::read(&l.world, cni, &population.universe, &l.sources);
    l.diagnostics.extend(diags);
    Read {
        cni: Some(cni),
        label: format!("{} reading of the manifests", cni.name()),
        population,
        semantics: wrap(reading.semantics, Some(cni)),
        problems: reading.problems.len(),
    }
}

/// The dialect to read as, or the E0606 diagnostic added.
pub(crate) fn choose(l: &mut Loaded, cni: Option<Dialect>) -> Option<Dialect> {
    match reading::choose(&l.world, cni) {
        Ok(d) => Some(d),
        Err(d) => {
            l.diagnostics.push(*d);
            None
        }
    }
}

// ---- matrix -----------------------------------------------------------------------------

#[derive(Serialize)]
struct JsonPoint<'a> {
    name: &'a str,
    /// The inventory pods the point stands for.
    pods: Vec<&'a str>,
}

/// The matrix of the reading, written to `out` as it is made: the table a source point's row
/// at a time; CSV and JSON every pair of inventory pods (one by one, even where several share
/// a point) and other points that is possibly allowed, sorted by name, a source name at a
/// time. Either grows with the square of the pods, so neither is held whole: what is held is
/// the rows, the names, and one source's destinations. The first error writing to `out`.
pub(crate) fn write_matrix(
    r: &Read,
    format: MatrixFormat,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let pop = r.population;
    let u = &pop.universe;
    let rows = Rows::build(&*r.semantics, u);
    let allowed = rows.allowed(u);
    match format {
        MatrixFormat::Table => write_table(u, &rows, &r.label, out),
        MatrixFormat::Csv => {
            out.write_all(CSV_HEADER)?;
            by_name(pop, &allowed, |c| csv_line(out, c))
        }
        MatrixFormat::Json => {
            let points = u.ids().map(|p| JsonPoint { name: &u.point(p).name, pods: pop.names(p) });
            write_json_matrix(out, &r.label, points, |each| by_name(pop, &allowed, each))
        }
    }
}

/// Calls `f` with each possibly allowed pair of names (an inventory pod's, or a point's own
/// where it stands for none) and its certain and possible ports as text, in the order of the
/// four texts (the order a sort of every such line gives). One source name's destinations are
/// held at a time, and kept for the next name while it stands for the same points (the pods of
/// one workload follow each other by name).
fn by_name<E>(
    pop: &Population,
    allowed: &Allowed,
    mut f: impl FnMut(&JsonConnection) -> Result<(), E>,
) -> Result<(), E> {
    let u = &pop.universe;
    let mut sources: Vec<(&str, u32)> =
        u.ids().flat_map(|p| pop.names(p).into_iter().map(move |a| (a, p))).collect();
    sources.sort_unstable();
    // The names' points, and their destinations sorted: names and an index into `texts`.
    let mut held: (Vec<u32>, Vec<(&str, usize)>) = (Vec::new(), Vec::new());
    let mut texts: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < sources.len() {
        let from = sources[i].0;
        let points: Vec<u32> = sources[i..].iter().take_while(|x| x.0 == from).map(|x| x.1).collect();
        i += points.len();
        if points != held.0 {
            let mut to = Vec::new();
            texts.clear();
            let mut last: Option<Cell> = None;
            for &s in &points {
                allowed.row(s, |d, cell| {
                    if last.as_ref() != Some(cell) {
                        texts.push((ports_text(&cell.certain), ports_text(&cell.possible)));
                        last = Some(cell.clone());
                    }
                    to.extend(pop.names(d).into_iter().map(|b| (b, texts.len() - 1)));
                });
            }
            to.sort_unstable_by(|x, y| (x.0, &texts[x.1]).cmp(&(y.0, &texts[y.1])));
            held = (points, to);
        }
        for &(to, t) in &held.1 {
            let (certain, possible) = &texts[t];
            f(&JsonConnection { from, to, certain, possible })?;
        }
    }
    Ok(())
}

// ---- why --------------------------------------------------------------------------------

/// The addresses among `names` (a question may name any address).
pub(crate) fn addresses(names: &[&str]) -> Vec<IpAddr> {
    names.iter().filter_map(|n| n.parse().ok()).collect()
}

/// Ports as the language writes them: `tcp 80`, `tcp 80, 443 and udp 53`, `tcp 8000-8100`,
/// `tcp http`; an optional leading `on`.
pub(crate) fn parse_ports(words: &[String]) -> Result<PortSet, String> {
    let text = words.join(" ");
    let text = text.trim();
    let text = text.strip_prefix("on ").unwrap_or(text).trim();
    if text.is_empty() {
        return Ok(PortSet::all());
    }
    let mut out = PortSet::empty();
    for part in text.split(" and ") {
        let mut it = part.trim().splitn(2, ' ');
        let proto = it.next().unwrap_or("");
        let protocol = Protocol::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(proto))
            .ok_or_else(|| format!("`{proto}` is not tcp, udp or sctp"))?;
        let Some(list) = it.next() else {
            out = out.union(&PortSet::protocol(protocol));
            continue;
        };
        for item in list.split(',').map(str::trim) {
            let number = |s: &str| s.parse::<u16>().ok().filter(|n| *n > 0);
            let set = match item.split_once('-') {
                Some((a, b)) if number(a).is_some() => match (number(a), number(b)) {
                    (Some(a), Some(b)) if a <= b => PortSet::range(protocol, a, b),
                    _ => return Err(format!("`{item}` is not a port range")),
                },
                _ => match number(item) {
                    Some(n) => PortSet::range(protocol, n, n),
                    None if !item.is_empty()
                        && item.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
                    {
                        PortSet::named(protocol, item)
                    }
                    None => return Err(format!("`{item}` is not a port")),
                },
            };
            out = out.union(&set);
        }
    }
    Ok(out)
}

/// `netpol why` over the world: the verdict for `from` → `to` and the rules that decide it.
pub(crate) fn why(
    sources: &SourceMap,
    r: &Read,
    from: &str,
    to: &str,
    ports: &PortSet,
) -> Result<WhyReport, String> {
    let pop = r.population;
    let u = &pop.universe;
    let find = |name: &str| {
        pop.find(name).ok_or_else(|| {
            format!("`{name}` is no pod of the inventory, address, `host` or `kube-apiserver`")
        })
    };
    let (s, d) = (find(from)?, find(to)?);
    let semantics: [(String, &dyn Semantics); 1] = [(r.label.to_string(), &*r.semantics)];
    let end = |name: &str| End { name: name.to_string(), addresses: None };
    let connection = connection_report(sources, u, &semantics, (s, d), (end(from), end(to)), ports);
    let mut question = Question {
        from: from.to_string(),
        to: to.to_string(),
        ports: (!ports.is_all()).then(|| ports.to_string()),
        answers: Vec::new(),
        notes: Vec::new(),
        connections: vec![connection],
    };
    settle(&mut question, &[r.label.to_string()]);
    Ok(report(vec![question]))
}

// ---- verify -----------------------------------------------------------------------------

/// Counts of the reading, for `verify`'s report.
#[derive(Serialize)]
pub(crate) struct WorldReport {
    /// The CNI the manifests are read as, or `source`.
    pub cni: &'static str,
    pub points: usize,
    pub inventory_pods: usize,
    pub possible_pairs: u64,
    pub certain_pairs: u64,
    pub problems: usize,
    pub expects: usize,
    pub expects_failed: usize,
}

/// Checks the program's `expect`s against the reading (their failures added to
/// `diagnostics`) and counts what the reading allows.
pub(crate) fn verify(
    sources: &SourceMap,
    program: Option<&Program>,
    world: &World,
    r: &Read,
    diagnostics: &mut Vec<Diagnostic>,
) -> WorldReport {
    let pop = r.population;
    let u = &pop.universe;
    let rows = Rows::build(&*r.semantics, u);
    let (possible_pairs, certain_pairs) = rows.count(u);
    let (expects, failed) = match program {
        Some(program) => {
            let failures = crate::world::expects::check(sources, program, world, r.cni, u, &*r.semantics);
            let failed = failures.len();
            diagnostics.extend(failures);
            (program.expects.len(), failed)
        }
        None => (0, 0),
    };
    WorldReport {
        cni: r.cni.map_or("source", Dialect::name),
        points: u.len(),
        inventory_pods: pop.members.iter().map(Vec::len).sum(),
        possible_pairs,
        certain_pairs,
        problems: r.problems,
        expects,
        expects_failed: failed,
    }
}

pub(crate) fn print_verify(r: &WorldReport) -> String {
    let whose = if r.cni == "source" {
        "the program".to_string()
    } else {
        format!("manifests, as {} enforces them", r.cni)
    };
    let mut out = format!(
        "{whose}: {} points ({} inventory pods), {} pairs allowed on some port ({} more possibly)\n",
        r.points,
        r.inventory_pods,
        r.certain_pairs,
        r.possible_pairs - r.certain_pairs
    );
    if r.problems > 0 {
        let _ = writeln!(
            out,
            "{} problem(s) in the manifests: the connections they decide are only possibly known",
            r.problems
        );
    }
    if r.expects > 0 {
        let _ = writeln!(out, "expect: {} of {} hold", r.expects - r.expects_failed, r.expects);
    }
    out
}

pub(crate) fn exit_code(ok: bool) -> i32 {
    if ok {
        EXIT_OK
    } else {
        EXIT_ERRORS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::analyze::csv;

    /// The matrix as it was made before it was written a source name at a time: every line
    /// held, then sorted.
    fn whole(r: &Read, format: MatrixFormat) -> String {
        #[derive(Serialize)]
        struct Whole<'a> {
            semantics: String,
            points: Vec<JsonPoint<'a>>,
            connections: Vec<JsonConnection<'a>>,
        }
        let pop = r.population;
        let u = &pop.universe;
        let rows = Rows::build(&*r.semantics, u);
        if format == MatrixFormat::Table {
            let mut out = Vec::new();
            write_table(u, &rows, &r.label, &mut out).expect("written to memory");
            return String::from_utf8(out).expect("UTF-8");
        }
        let mut lines: Vec<(String, String, String, String)> = Vec::new();
        rows.for_each_allowed(u, |s, d, cell| {
            let (certain, possible) = (ports_text(&cell.certain), ports_text(&cell.possible));
            for a in pop.names(s) {
                for b in pop.names(d) {
                    lines.push((a.to_string(), b.to_string(), certain.clone(), possible.clone()));
                }
            }
        });
        lines.sort();
        if format == MatrixFormat::Json {
            let points = u.ids().map(|p| JsonPoint { name: &u.point(p).name, pods: pop.names(p) }).collect();
            let connections = lines
                .iter()
                .map(|(from, to, certain, possible)| JsonConnection { from, to, certain, possible })
                .collect();
            let m = Whole { semantics: r.label.clone(), points, connections };
            return serde_json::to_string_pretty(&m).expect("plain data") + "\n";
        }
        let mut out = String::from("from,to,certain,possible\n");
        for (a, b, c, p) in lines {
            let _ = writeln!(out, "{},{},{},{}", csv(&a), csv(&b), csv(&c), csv(&p));
        }
        out
    }

    /// Three namespaces, each with two workloads of several replicas, a bare pod, and policies
    /// that name pods of other namespaces and networks (so points stand for several pods, and
    /// addresses are points too).
    fn generated_world(dir: &std::path::Path) -> (PathBuf, PathBuf) {
        let (mut inventory, mut policies) =
            (String::from("apiVersion: v1\nkind: List\nitems:\n"), String::new());
        for ns in ["alpha", "beta", "gamma"] {
            let _ = writeln!(
                inventory,
                "- {{apiVersion: v1, kind: Namespace, metadata: {{name: {ns}, labels: {{team: {ns}}}}}}}"
            );
            for (name, replicas) in [("web", 3), ("db", 2)] {
                let _ = write!(
                    inventory,
                    "- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {{name: {name}, namespace: {ns}}}\n  spec:\n    replicas: {replicas}\n    template:\n      metadata: {{labels: {{app: {name}}}}}\n      spec: {{containers: [{{name: c, ports: [{{name: p, containerPort: 80}}]}}]}}\n"
                );
            }
            let _ = writeln!(
                inventory,
                "- {{apiVersion: v1, kind: Pod, metadata: {{name: job-1, namespace: {ns}, labels: {{app: job}}}}, spec: {{containers: [{{name: c}}]}}}}"
            );
            let _ = write!(
                policies,
                "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: db, namespace: {ns}}}\nspec:\n  podSelector: {{matchLabels: {{app: db}}}}\n  ingress:\n  - from: [{{podSelector: {{matchLabels: {{app: web}}}}}}]\n    ports: [{{port: 5432}}, {{port: 80, protocol: UDP}}]\n  - from: [{{namespaceSelector: {{matchLabels: {{team: beta}}}}}}]\n    ports: [{{port: 9187}}]\n  egress:\n  - to: [{{ipBlock: {{cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}}}]\n  policyTypes: [Ingress, Egress]\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: web, namespace: {ns}}}\nspec:\n  podSelector: {{matchLabels: {{app: web}}}}\n  ingress:\n  - from: [{{namespaceSelector: {{}}, podSelector: {{matchLabels: {{app: job}}}}}}, {{ipBlock: {{cidr: 192.168.0.0/16}}}}]\n    ports: [{{port: 80}}]\n"
            );
        }
        let (i, p) = (dir.join("inventory.yaml"), dir.join("policies.yaml"));
        std::fs::write(&i, inventory).expect("written");
        std::fs::write(&p, policies).expect("written");
        (i, p)
    }

    /// Each world's matrix, in each format, as a reading of its manifests and, where a program
    /// is given alone, as the program's meaning over the inventory.
    fn each_matrix(mut check: impl FnMut(&str, &Read, MatrixFormat)) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let (generated_inventory, generated_policies) = generated_world(dir.path());
        let cluster = |p: &str| PathBuf::from(format!("examples/cluster/{p}"));
        let worlds: Vec<(Vec<String>, Vec<PathBuf>, PathBuf)> = vec![
            (vec![], vec![cluster("kubernetes/policies.yaml")], cluster("inventory.yaml")),
            (vec![], vec![cluster("cilium/policies.yaml")], cluster("inventory.yaml")),
            (vec![], vec![cluster("calico/policies.yaml")], cluster("inventory.yaml")),
            (vec!["examples/cluster/expects.netpol".into()], vec![], cluster("inventory.yaml")),
            (vec![], vec![generated_policies], generated_inventory),
        ];
        for (sources, manifests, inventory) in &worlds {
            let inventory = [inventory.clone()];
            let input =
                WorldInput { sources, manifests, inventory: &inventory, set: &[], namespace: "default" };
            let mut l = load(&input).unwrap_or_else(|code| panic!("{manifests:?}: not loaded ({code})"));
            let cni = choose(&mut l, None).expect("a dialect");
            let program = l.program.take();
            let population = crate::world::universe::build(&l.world, program.as_ref(), &[]);
            let r = read(&mut l, cni, program.as_ref(), &population, true);
            let errors: Vec<_> = l.diagnostics.iter().filter(|d| d.is_error()).map(|d| &d.message).collect();
            assert!(errors.is_empty(), "{manifests:?}: {errors:?}");
            let name = format!("{sources:?} {manifests:?} as {}", r.label);
            for format in [MatrixFormat::Table, MatrixFormat::Csv, MatrixFormat::Json] {
                check(&name, &r, format);
            }
        }
    }

    #[test]
    fn the_matrix_written_a_source_name_at_a_time_is_the_sorted_matrix() {
        let mut pods_shared = false;
        each_matrix(|name, r, format| {
            let mut out = Vec::new();
            write_matrix(r, format, &mut out).expect("written to memory");
            let written = String::from_utf8(out).expect("UTF-8");
            assert_eq!(written, whole(r, format), "{name}, {format:?}");
            assert!(written.lines().count() > 10, "{name}, {format:?}: a matrix with pairs in it");
            pods_shared |= r.population.members.iter().any(|m| m.len() > 1);
        });
        assert!(pods_shared, "some point stands for several pods");
    }

    #[test]
    fn the_matrix_stops_at_the_first_failed_write() {
        each_matrix(|name, r, format| {
            let mut out = crate::cli::FailAfter::new(200);
            assert!(
                write_matrix(r, format, &mut out).is_err(),
                "{name}, {format:?}: the failed write is the result"
            );
            assert_eq!(out.failed, 1, "{name}, {format:?}: no write after the failed one");
        });
    }
}
