//! The `netpol` command line. The only module that touches files, the terminal and the
//! process's exit code.

pub mod analyze;
mod diff;
mod docs;
mod fmt;
pub mod graph;
mod import;
mod input;
pub mod output;
pub mod render;
mod sarif;
mod world;

use crate::backend::{Target, Version, Versions};
use crate::driver::{self, Compilation, Options};
use clap::{Args, Parser, Subcommand, ValueEnum};
use codespan_reporting::term::termcolor::{BufferedStandardStream, ColorChoice};
use render::Format;
use std::io::Write;
use std::path::{Path, PathBuf};

use input::expand_paths;
pub(crate) use input::FsLoader;

/// Exit codes, documented in the README.
pub const EXIT_OK: i32 = 0;
pub const EXIT_ERRORS: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_IO: i32 = 3;

#[derive(Parser)]
#[command(
    name = "netpol",
    version,
    about = "Compile .netpol connectivity rules into Kubernetes, Cilium and Calico network policies",
    long_about = "Compile .netpol connectivity rules into Kubernetes, Cilium and Calico network policies.\n\n\
        netpol checks names, values and cross-side consistency, proves `expect` assertions, \
        and emits deterministic, kubectl-apply-ready manifests.",
    after_help = "Exit codes: 0 success, 1 errors in the input (or warnings with --deny-warnings), \
        2 bad command line, 3 output could not be written.\nRun `netpol explain E0101` for the page of a diagnostic code."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check and compile to manifests: one YAML stream on stdout, or one file per object with -o
    Compile {
        #[command(flatten)]
        input: InputArgs,
        /// The policy dialect to emit; `all` needs -o and writes one folder per target
        #[arg(long, short, value_enum, default_value = "kubernetes")]
        target: TargetArg,
        #[command(flatten)]
        versions: VersionArgs,
        /// Write one file per object under DIR (DIR/<namespace>/<kind>-<name>.yaml, or
        /// DIR/<target>/… with --target all), as one all-or-nothing change that replaces or
        /// removes only files netpol wrote there (listed in DIR/.netpol-manifest)
        #[arg(long, short, value_name = "DIR")]
        output: Option<PathBuf>,
        /// With -o: list what would be written, left unchanged and removed; write nothing
        #[arg(long, requires = "output")]
        dry_run: bool,
        /// With -o: a program that yields no objects may empty DIR of the files netpol wrote
        #[arg(long, requires = "output")]
        allow_empty: bool,
    },
    /// Check without writing anything; exit 1 on errors
    ///
    /// With --inventory (and policy manifests, or the program), report what the policies
    /// leave uncovered among the inventory's pods: selectors that pick nothing, pods no policy
    /// isolates, named ports no container declares
    Check {
        #[command(flatten)]
        input: InputArgs,
        /// Also check that this target (or `all` targets) can express every construct
        #[arg(long, short, value_enum)]
        target: Option<TargetArg>,
        #[command(flatten)]
        versions: VersionArgs,
        #[command(flatten)]
        world: WorldArgs,
    },
    /// Prove every `expect` on every target, and check that each target's manifests allow
    /// exactly what the source means; exit 1 on any difference
    ///
    /// Given policy manifests (YAML or JSON, any dialect) instead, check the `expect` lines of
    /// the .netpol files against what those manifests allow; exit 1 when one fails
    Verify {
        #[command(flatten)]
        input: InputArgs,
        /// The targets to verify
        #[arg(long, short, value_enum, default_value = "all")]
        target: TargetArg,
        #[command(flatten)]
        versions: VersionArgs,
        #[command(flatten)]
        world: WorldArgs,
        /// Print the report as JSON on stdout
        #[arg(long)]
        json: bool,
    },
    /// Is a connection allowed, and by which lines? e.g. `netpol why shop.netpol shop/web shop/db on tcp 5432`
    ///
    /// Given policy manifests (YAML or JSON, any dialect) instead, the ends are pods of the
    /// inventory (`ns/pod`, `ns/name(Deployment)`), addresses, `host` or `kube-apiserver`
    Why {
        /// A .netpol file or a directory of them; or policy manifests (.yaml, .yml, .json, `-`)
        #[arg(value_name = "PATH")]
        path: PathBuf,
        /// The source: a workload (`ns/name`), `namespace NAME`, a network, or a built-in peer
        from: String,
        /// The destination, written the same way
        to: String,
        /// Optional ports, as in the language: `on tcp 5432`, `on udp 53 and tcp 53`
        #[arg(num_args = 0.., value_name = "on PORTS")]
        ports: Vec<String>,
        /// The targets to ask besides the source
        #[arg(long, short, value_enum, default_value = "all")]
        target: TargetArg,
        #[command(flatten)]
        versions: VersionArgs,
        #[command(flatten)]
        world: WorldArgs,
        /// Set a parameter, overriding its default (repeatable)
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
        set: Vec<(String, String)>,
    },
    /// The reachability matrix: which point may open a connection to which, on which ports
    ///
    /// Given policy manifests (YAML or JSON, any dialect), the matrix of what they allow, over
    /// the pods of --inventory
    Matrix {
        #[command(flatten)]
        input: InputArgs,
        /// Whose reading: the source's meaning, or a target's reading of its manifests
        #[arg(long, short, value_enum, default_value = "source")]
        target: SemanticsArg,
        #[command(flatten)]
        versions: VersionArgs,
        #[command(flatten)]
        world: WorldArgs,
        /// A table for people, or every allowed pair as CSV or JSON
        #[arg(long = "as", id = "as", value_enum, default_value = "table")]
        layout: analyze::MatrixFormat,
    },
    /// Which connections a policy change adds or removes: `netpol diff OLD NEW`, or
    /// `netpol diff --git REV [PATH]` against the working tree; exit 0 same, 1 different
    ///
    /// Each side is .netpol files (their meaning, or with -t a target's reading of the
    /// compiled manifests) or policy manifests of any dialect, read as their CNI enforces
    /// them, over one set of pods (--inventory, or pods made up from both sides)
    Diff {
        /// OLD and NEW: .netpol files or policy manifests (files or directories); with --git,
        /// the one PATH compared with its state at REV (default: `.`)
        #[arg(value_name = "PATH", num_args = 0..=2)]
        paths: Vec<PathBuf>,
        /// Compare PATH as it is at this git revision (the old side) with the working tree
        #[arg(long, value_name = "REV")]
        git: Option<String>,
        /// A path of the old side, when it has several (repeatable; with --new, instead of OLD NEW)
        #[arg(long = "old", value_name = "PATH")]
        old: Vec<PathBuf>,
        /// A path of the new side, when it has several (repeatable; with --old)
        #[arg(long = "new", value_name = "PATH")]
        new: Vec<PathBuf>,
        /// Read .netpol sides as this target's compiled manifests, instead of their meaning
        #[arg(long, short, value_enum)]
        target: Option<CniArg>,
        #[command(flatten)]
        world: WorldArgs,
        /// Set a parameter of the .netpol sides, overriding its default (repeatable)
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
        set: Vec<(String, String)>,
        /// human for terminals, markdown for a pull-request comment, json for tools
        #[arg(long, value_enum, default_value = "human")]
        format: diff::DiffFormat,
        /// When to color diagnostics (NO_COLOR in the environment means never for auto)
        #[arg(long, value_enum, default_value = "auto")]
        color: ColorArg,
    },
    /// The connectivity as a diagram: Mermaid, Graphviz DOT, or SVG (no Graphviz needed)
    Graph {
        /// .netpol files, or directories to search for them
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Set a parameter, overriding its default (repeatable)
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
        set: Vec<(String, String)>,
        /// The diagram's format
        #[arg(long, value_enum, default_value = "mermaid")]
        format: graph::GraphFormat,
        /// Whose reading: the source's meaning, or a target's reading of its manifests
        #[arg(long, short, value_enum, default_value = "source")]
        target: SemanticsArg,
        #[command(flatten)]
        versions: VersionArgs,
        /// Draw every workload's edge to kube-dns; by default the alike ones are drawn once, as
        /// a note on the kube-dns node
        #[arg(long)]
        dns: bool,
        /// When to color human diagnostics (NO_COLOR in the environment means never for auto)
        #[arg(long, value_enum, default_value = "auto")]
        color: ColorArg,
    },
    /// Turn policy manifests (Kubernetes, Cilium or Calico YAML or JSON) into .netpol source,
    /// proved to allow exactly what they allow
    ///
    /// The source is compiled back to the input's own dialect and both readings are compared on
    /// every side of every pod; any difference, or any construct the language cannot say, is an
    /// error and nothing is written (see --lossy). With --to, the source is also proved on
    /// another CNI (a migration).
    #[command(mut_arg("paths", |a| a.help(
        "Policy manifests: .yaml, .yml or .json files, directories of them, or `-` for stdin"
    )))]
    #[command(mut_arg("set", |a| a.hide(true)))]
    Import {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        world: WorldArgs,
        /// Write the source to FILE.netpol (a new file), or one file per namespace under DIR;
        /// default: stdout
        #[arg(long, short, value_name = "FILE|DIR")]
        output: Option<PathBuf>,
        /// Write what the language can say; each construct it cannot is a warning and a
        /// comment in the source, and the proof holds for everything kept
        #[arg(long)]
        lossy: bool,
        /// Also prove the source on this CNI: a migration (repeatable)
        #[arg(long, value_enum, value_name = "TARGET")]
        to: Vec<CniArg>,
    },
    /// Rewrite .netpol files in the canonical layout (`-` formats stdin to stdout)
    Fmt {
        /// .netpol files, directories to search for them, or `-` for stdin
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Write nothing; print a diff for every file not in the layout and exit 1 if there is one
        #[arg(long)]
        check: bool,
        /// When to color diagnostics (NO_COLOR in the environment means never for auto)
        #[arg(long, value_enum, default_value = "auto")]
        color: ColorArg,
    },
    /// Run the language server on stdin and stdout (diagnostics, hover, completion, quick
    /// fixes, definitions, references, symbols, formatting), for editors
    Lsp,
    /// Print the page of a diagnostic code or of a word of the language, e.g. `netpol explain
    /// E0101` or `netpol explain kube-dns`
    Explain {
        /// A code such as E0101 or W0203, or a keyword or built-in peer such as `accepts`
        code: String,
    },
    /// Print a shell completion script, e.g. `source <(netpol completions bash)`
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff), e.g. `netpol man > netpol.1 && man -l netpol.1`
    Man {
        /// The page of one command (`netpol man import` is netpol-import(1)); default: netpol(1)
        command: Option<String>,
    },
}

#[derive(Args)]
struct InputArgs {
    /// .netpol files, or directories to search for them
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Set a parameter, overriding its default (repeatable)
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
    set: Vec<(String, String)>,
    /// Fail (exit 1) on warnings too
    #[arg(long)]
    deny_warnings: bool,
    /// How to print diagnostics
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// When to color human diagnostics (NO_COLOR in the environment means never for auto)
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorArg,
}

/// Policies and pods that netpol did not write (`verify`, `why`, `matrix`).
#[derive(Args)]
struct WorldArgs {
    /// Namespaces, pods and workloads (Deployments, StatefulSets, …), as YAML or JSON files,
    /// directories or `-` (e.g. `kubectl get namespaces,pods -A -o yaml`): the answers are
    /// about these pods (repeatable)
    #[arg(long, value_name = "PATH")]
    inventory: Vec<PathBuf>,
    /// Read policy manifests as this CNI enforces them (default: the CNI their kinds name;
    /// Kubernetes NetworkPolicies alone are read as the Kubernetes API defines them)
    #[arg(long, value_enum)]
    cni: Option<CniArg>,
    /// The namespace of manifests that name none, as `kubectl apply -n` would place them
    #[arg(long, value_name = "NAME", default_value = "default")]
    namespace: String,
}

impl WorldArgs {
    fn given(&self) -> bool {
        !self.inventory.is_empty() || self.cni.is_some()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CniArg {
    Kubernetes,
    Cilium,
    Calico,
}

impl CniArg {
    fn dialect(self) -> crate::world::Dialect {
        match self {
            CniArg::Kubernetes => crate::world::Dialect::Kubernetes,
            CniArg::Cilium => crate::world::Dialect::Cilium,
            CniArg::Calico => crate::world::Dialect::Calico,
        }
    }
}

#[derive(Args)]
struct VersionArgs {
    /// The oldest Cilium release the policies must work on (port ranges and `enableDefaultDeny`
    /// need 1.16)
    #[arg(long, value_name = "VERSION", default_value_t = Versions::DEFAULT.cilium, value_parser = parse_version)]
    cilium_version: Version,
    /// The oldest Calico release the policies must work on (`tier` is written from 3.29)
    #[arg(long, value_name = "VERSION", default_value_t = Versions::DEFAULT.calico, value_parser = parse_version)]
    calico_version: Version,
}

impl VersionArgs {
    fn versions(&self) -> Versions {
        Versions { cilium: self.cilium_version, calico: self.calico_version }
    }
}

fn parse_version(s: &str) -> Result<Version, String> {
    s.parse()
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TargetArg {
    Kubernetes,
    Cilium,
    Calico,
    /// Every target
    All,
}

impl TargetArg {
    fn targets(self) -> Vec<Target> {
        match self {
            TargetArg::Kubernetes => vec![Target::Kubernetes],
            TargetArg::Cilium => vec![Target::Cilium],
            TargetArg::Calico => vec![Target::Calico],
            TargetArg::All => Target::ALL.to_vec(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SemanticsArg {
    /// What the source means
    Source,
    Kubernetes,
    Cilium,
    Calico,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorArg {
    Auto,
    Always,
    Never,
}

fn parse_set(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected NAME=VALUE, got `{s}`"))
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
        }
    };
    match cli.command {
        Command::Compile { input, target, versions, output, dry_run, allow_empty } => {
            let write = output::WriteOptions { dry_run, allow_empty };
            compile(&input, target, versions.versions(), output.as_deref(), write)
        }
        Command::Check { input, target, versions, world } => match world_inputs(&input, &world) {
            Ok(Some(w)) => world_check(&input, &w),
            Ok(None) => {
                check(&input, target.map(TargetArg::targets).unwrap_or_default(), versions.versions())
            }
            Err(code) => code,
        },
        Command::Verify { input, target, versions, world, json } => match world_inputs(&input, &world) {
            Ok(Some(w)) => world_verify(&input, &w, json),
            Ok(None) => verify(&input, target.targets(), versions.versions(), json),
            Err(code) => code,
        },
        Command::Why { path, from, to, ports, target, versions, world, set } => {
            let input = InputArgs {
                paths: vec![path],
                set,
                deny_warnings: false,
                format: Format::Human,
                color: ColorArg::Auto,
            };
            match world_inputs(&input, &world) {
                Ok(Some(w)) => world_why(&input, &w, &from, &to, &ports),
                Ok(None) => why(&input, &from, &to, &ports, target.targets(), versions.versions()),
                Err(code) => code,
            }
        }
        Command::Matrix { input, target, versions, world, layout: format } => {
            match world_inputs(&input, &world) {
                Ok(Some(w)) => world_matrix(&input, &w, format),
                Ok(None) => matrix(&input, target, versions.versions(), format),
                Err(code) => code,
            }
        }
        Command::Graph { paths, set, format, target, versions, dns, color } => {
            let input = InputArgs { paths, set, deny_warnings: false, format: Format::Human, color };
            graph_command(&input, target, versions.versions(), format, dns)
        }
        Command::Diff { paths, git, old, new, target, world, set, format, color } => {
            diff::run(&diff::DiffArgs {
                paths: &paths,
                old: &old,
                new: &new,
                git: git.as_deref(),
                target: target.map(|t| crate::world::reading::target(t.dialect())),
                inventory: &world.inventory,
                cni: world.cni.map(CniArg::dialect),
                namespace: &world.namespace,
                set: &set,
                format,
                color,
            })
        }
        Command::Fmt { paths, check, color } => fmt::run(&paths, check, color),
        Command::Explain { code } => explain(&code),
        Command::Completions { shell } => docs::completions(shell),
        Command::Man { command } => docs::man(command.as_deref()),
        Command::Import { input, world, output, lossy, to } => {
            let (sources, manifests) = match input::expand_inputs(&input.paths) {
                Ok(x) => x,
                Err(code) => return code,
            };
            if let Some(code) = import::refuse_sources(&sources) {
                return code;
            }
            let inventory = match input::expand_manifests(&world.inventory) {
                Ok(x) => x,
                Err(code) => return code,
            };
            let to = to.iter().map(|c| crate::world::reading::target(c.dialect())).collect();
            import::run(import::ImportArgs {
                input: &input,
                manifests,
                inventory,
                namespace: world.namespace.clone(),
                cni: world.cni.map(CniArg::dialect),
                output,
                lossy,
                to,
            })
        }
        Command::Lsp => crate::lsp::run(),
    }
}

/// The paths and options of an analysis command over the world, once expanded.
struct WorldPaths {
    sources: Vec<String>,
    manifests: Vec<PathBuf>,
    inventory: Vec<PathBuf>,
    set: Vec<(String, String)>,
    namespace: String,
    cni: Option<crate::world::Dialect>,
}

impl WorldPaths {
    fn input(&self) -> world::WorldInput<'_> {
        world::WorldInput {
            sources: &self.sources,
            manifests: &self.manifests,
            inventory: &self.inventory,
            set: &self.set,
            namespace: &self.namespace,
        }
    }
}

/// `Some` when the command is about manifests (a manifest path, `--inventory` or `--cni`);
/// `None` for a program alone, read the usual way.
fn world_inputs(input: &InputArgs, w: &WorldArgs) -> Result<Option<WorldPaths>, i32> {
    let (sources, manifests) = input::expand_inputs(&input.paths)?;
    if manifests.is_empty() && !w.given() {
        return Ok(None);
    }
    let inventory = input::expand_manifests(&w.inventory)?;
    Ok(Some(WorldPaths {
        sources,
        manifests,
        inventory,
        set: input.set.clone(),
        namespace: w.namespace.clone(),
        cni: w.cni.map(CniArg::dialect),
    }))
}

/// Loads the world, reads it as its CNI, and hands the reading to `f`; prints every
/// diagnostic. Exit 1 on errors (or warnings with --deny-warnings), else `f`'s code.
fn with_world(
    input: &InputArgs,
    w: &WorldPaths,
    // `check`: diagnostics in machine formats on stdout, and named ports kept as names.
    machine_on_stdout: bool,
    extra: &[std::net::IpAddr],
    f: impl FnOnce(
        &mut world::Loaded,
        Option<&crate::ir::Program>,
        &world::Read,
        &mut Vec<crate::diagnostic::Diagnostic>,
    ) -> (String, i32),
) -> i32 {
    let mut l = match world::load(&w.input()) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let cni = world::choose(&mut l, w.cni);
    let failed_early = l.diagnostics.iter().any(|d| d.is_error()) || cni.is_none();
    if failed_early {
        report_all(input, &l.sources, &mut l.diagnostics, machine_on_stdout);
        return EXIT_ERRORS;
    }
    let cni = cni.expect("checked");
    let program = l.program.take();
    let population = crate::world::universe::build(&l.world, program.as_ref(), extra);
    let r = world::read(&mut l, cni, program.as_ref(), &population, !machine_on_stdout);
    let mut more = Vec::new();
    let (text, code) = f(&mut l, program.as_ref(), &r, &mut more);
    l.diagnostics.extend(more);
    report_all(input, &l.sources, &mut l.diagnostics, machine_on_stdout);
    let d = &l.diagnostics;
    if d.iter().any(|d| d.is_error()) || (input.deny_warnings && d.iter().any(|d| d.is_warning())) {
        let _ = print_out(&text, EXIT_ERRORS);
        return EXIT_ERRORS;
    }
    print_out(&text, code)
}

fn world_check(input: &InputArgs, w: &WorldPaths) -> i32 {
    with_world(input, w, true, &[], |l, program, r, diags| {
        let found =
            crate::world::coverage::check(&l.sources, &l.world, r.population, &*r.semantics, program, r.cni);
        diags.extend(found);
        (String::new(), EXIT_OK)
    })
}

fn world_matrix(input: &InputArgs, w: &WorldPaths, format: analyze::MatrixFormat) -> i32 {
    with_world(input, w, false, &[], |_, _, r, _| (world::matrix(r, format), EXIT_OK))
}

fn world_verify(input: &InputArgs, w: &WorldPaths, json: bool) -> i32 {
    with_world(input, w, false, &[], |l, program, r, diags| {
        let report = world::verify(&l.sources, program, &l.world, r, diags);
        let ok = report.expects_failed == 0;
        let text = if json {
            format!("{}\n", serde_json::to_string_pretty(&report).unwrap_or_default())
        } else {
            world::print_verify(&report)
        };
        (text, world::exit_code(ok))
    })
}

fn world_why(input: &InputArgs, w: &WorldPaths, from: &str, to: &str, ports: &[String]) -> i32 {
    let ports = match world::parse_ports(ports) {
        Ok(p) => p,
        Err(e) => {
            say(format_args!("error: {e}"));
            say(format_args!(
                "help: write ports as the language does: `on tcp 5432`, `on udp 53 and tcp 53`"
            ));
            return EXIT_USAGE;
        }
    };
    with_world(input, w, false, &world::addresses(&[from, to]), |l, _, r, _| {
        match world::why(&l.sources, r, from, to, &ports) {
            Ok(text) => (text, EXIT_OK),
            Err(e) => {
                say(format_args!("error: {e}"));
                (String::new(), EXIT_USAGE)
            }
        }
    })
}

/// Every diagnostic, sorted, in the format asked for: on stderr, or the machine formats on
/// stdout for `check` (whose only output they are).
fn report_all(
    input: &InputArgs,
    sources: &crate::span::SourceMap,
    d: &mut [crate::diagnostic::Diagnostic],
    machine_on_stdout: bool,
) {
    crate::diagnostic::sort(d);
    let machine = match input.format {
        Format::Json => Some(render::json(sources, d)),
        Format::Github => Some(render::github(sources, d)),
        Format::Sarif => Some(sarif::sarif(sources, d)),
        Format::Human => None,
    };
    match machine {
        Some(text) if machine_on_stdout => {
            let _ = write_stdout(text.as_bytes());
        }
        Some(text) => {
            let _ = std::io::stderr().write_all(text.as_bytes());
        }
        None => {
            if d.is_empty() {
                return;
            }
            let mut err = BufferedStandardStream::stderr(color_choice(input.color));
            let _ = render::human(&mut err, sources, d);
            let _ = writeln!(err, "netpol: {}", render::summary(d));
            let _ = err.flush();
        }
    }
}

/// Compiles for `targets`; reports diagnostics (all of them, or only when there are errors).
fn compile_for(
    input: &InputArgs,
    targets: Vec<Target>,
    versions: Versions,
    queries: Vec<String>,
) -> Result<Compilation, i32> {
    let paths = expand_paths(&input.paths, false)?;
    let options = Options {
        overrides: input.set.clone(),
        targets,
        versions,
        queries,
        keep_read_back: true,
        ..Options::default()
    };
    Ok(driver::compile(&paths, &FsLoader, &options))
}

fn verify(input: &InputArgs, targets: Vec<Target>, versions: Versions, json: bool) -> i32 {
    let c = match compile_for(input, targets, versions, Vec::new()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let _ = report(input, &c, true);
    if c.has_errors() || (input.deny_warnings && !c.diagnostics.is_empty()) {
        return EXIT_ERRORS;
    }
    let Some(r) = analyze::verify(&c) else { return EXIT_ERRORS };
    let text = if json {
        format!("{}\n", serde_json::to_string_pretty(&r).unwrap_or_default())
    } else {
        analyze::print_verify(&r)
    };
    print_out(&text, if r.ok() { EXIT_OK } else { EXIT_ERRORS })
}

fn why(
    input: &InputArgs,
    from: &str,
    to: &str,
    ports: &[String],
    targets: Vec<Target>,
    versions: Versions,
) -> i32 {
    let words: Vec<&str> = ports.iter().map(String::as_str).collect();
    let ports = match words.split_first() {
        None => String::new(),
        Some((&"on", rest)) => format!(" on {}", rest.join(" ")),
        Some(_) => format!(" on {}", words.join(" ")),
    };
    let query = format!("expect {from} can reach {to}{ports}");
    let c = match compile_for(input, targets, versions, vec![query]) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if c.has_errors() {
        let _ = report(input, &c, true);
        return EXIT_ERRORS;
    }
    match analyze::why(&c) {
        Some(text) => print_out(&text, EXIT_OK),
        None => EXIT_ERRORS,
    }
}

fn matrix(input: &InputArgs, target: SemanticsArg, versions: Versions, format: analyze::MatrixFormat) -> i32 {
    let (targets, name) = match target {
        SemanticsArg::Source => (Vec::new(), "source"),
        SemanticsArg::Kubernetes => (vec![Target::Kubernetes], "kubernetes"),
        SemanticsArg::Cilium => (vec![Target::Cilium], "cilium"),
        SemanticsArg::Calico => (vec![Target::Calico], "calico"),
    };
    let c = match compile_for(input, targets, versions, Vec::new()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let _ = report(input, &c, true);
    if c.has_errors() || (input.deny_warnings && !c.diagnostics.is_empty()) {
        return EXIT_ERRORS;
    }
    match analyze::matrix(&c, name, format) {
        Some(text) => print_out(&text, EXIT_OK),
        None => EXIT_ERRORS,
    }
}

fn graph_command(
    input: &InputArgs,
    target: SemanticsArg,
    versions: Versions,
    format: graph::GraphFormat,
    every_dns_edge: bool,
) -> i32 {
    let target = match target {
        SemanticsArg::Source => None,
        SemanticsArg::Kubernetes => Some(Target::Kubernetes),
        SemanticsArg::Cilium => Some(Target::Cilium),
        SemanticsArg::Calico => Some(Target::Calico),
    };
    let mut c = match compile_for(input, target.into_iter().collect(), versions, Vec::new()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if c.has_errors() {
        let _ = report(input, &c, true);
        return EXIT_ERRORS;
    }
    // A diagram too large for its format is one more diagnostic (E0501).
    let diagram = graph::diagram(&c, target, format, every_dns_edge);
    if let Some(Err(d)) = &diagram {
        c.diagnostics.push((**d).clone());
    }
    let _ = report(input, &c, true);
    match diagram {
        Some(Ok(text)) => print_out(&text, EXIT_OK),
        _ => EXIT_ERRORS,
    }
}

fn compile(
    input: &InputArgs,
    target: TargetArg,
    versions: Versions,
    output: Option<&Path>,
    write: output::WriteOptions,
) -> i32 {
    if target == TargetArg::All && output.is_none() {
        say(format_args!(
            "error: `--target all` writes one folder per target; give the output folder with -o DIR"
        ));
        return EXIT_USAGE;
    }
    let paths = match expand_paths(&input.paths, false) {
        Ok(paths) => paths,
        Err(code) => return code,
    };
    let options =
        Options { overrides: input.set.clone(), targets: target.targets(), versions, ..Options::default() };
    let c = driver::compile(&paths, &FsLoader, &options);
    let _ = report(input, &c, true);
    let failed = c.has_errors() || (input.deny_warnings && !c.diagnostics.is_empty());
    if failed {
        return EXIT_ERRORS;
    }
    match output {
        None => {
            let mut stdout = std::io::stdout().lock();
            let written = c
                .outputs
                .iter()
                .flat_map(|(_, o)| o.iter())
                .try_for_each(|o| {
                    stdout.write_all(b"---\n").and_then(|_| stdout.write_all(o.yaml.as_bytes()))
                })
                .and_then(|_| stdout.flush());
            // As `print_out`: a closed stdout stops the stream quietly.
            match written {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    say(format_args!("error: cannot write to stdout: {e}"));
                    return EXIT_IO;
                }
                _ => {}
            }
        }
        Some(dir) => {
            // One target: DIR/<namespace>/…; all of them: DIR/<target>/<namespace>/….
            let per_target = target == TargetArg::All;
            let files: Vec<_> = c
                .outputs
                .iter()
                .flat_map(|(t, objects)| {
                    objects.iter().map(move |o| {
                        let rel = output::relative_path(o);
                        let rel = if per_target { Path::new(t.name()).join(rel) } else { rel };
                        (rel, o.yaml.as_str())
                    })
                })
                .collect();
            match output::write_tree(dir, &files, write) {
                Ok(summary) => {
                    if let Some(how) = &summary.recovered {
                        eprintln!("note: {how} in {}", dir.display());
                    }
                    if write.dry_run {
                        let mut stdout = std::io::stdout().lock();
                        let lines = (summary.written.iter().map(|p| ("write", p)))
                            .chain(summary.unchanged.iter().map(|p| ("unchanged", p)))
                            .chain(summary.removed.iter().map(|p| ("remove", p)));
                        for (what, p) in lines {
                            if writeln!(stdout, "{what:<9} {}", p.display()).is_err() {
                                return EXIT_IO;
                            }
                        }
                    }
                    for (p, why) in &summary.left {
                        eprintln!("warning: left `{}` in place: {why}", p.display());
                    }
                    eprintln!("{}", summary.line(dir, write.dry_run));
                }
                Err(e) => {
                    eprintln!("error: cannot write to `{}`: {e}", dir.display());
                    eprintln!("help: {}", e.help());
                    return if matches!(e, output::Error::Empty) { EXIT_ERRORS } else { EXIT_IO };
                }
            }
        }
    }
    EXIT_OK
}

fn check(input: &InputArgs, targets: Vec<Target>, versions: Versions) -> i32 {
    let paths = match expand_paths(&input.paths, false) {
        Ok(paths) => paths,
        Err(code) => return code,
    };
    let options = Options { overrides: input.set.clone(), targets, versions, ..Options::default() };
    let c = driver::compile(&paths, &FsLoader, &options);
    let code = if c.has_errors() || (input.deny_warnings && !c.diagnostics.is_empty()) {
        EXIT_ERRORS
    } else {
        EXIT_OK
    };
    match report(input, &c, false) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            say(format_args!("error: cannot write to stdout: {e}"));
            EXIT_IO
        }
        _ => code,
    }
}

fn explain(code: &str) -> i32 {
    match crate::explain::page(code).or_else(|| crate::words::page(code)) {
        Some(page) => print_out(page, EXIT_OK),
        None => {
            say(format_args!(
                "error: no diagnostic has the code `{code}`, and the language has no such word"
            ));
            say(format_args!(
                "help: codes look like E0101 or W0203 (see docs/errors/README.md); words are keywords \
                 and built-in peers such as `accepts` or `kube-dns` (see docs/language/)"
            ));
            EXIT_USAGE
        }
    }
}

/// Prints diagnostics: machine formats on stdout for `check` (its only output), everything
/// else on stderr, so `compile`'s stdout stays pure YAML. Fails only when stdout does.
fn report(input: &InputArgs, c: &Compilation, stdout_is_yaml: bool) -> std::io::Result<()> {
    let d = &c.diagnostics;
    let machine = match input.format {
        Format::Human => None,
        Format::Json => Some(render::json(&c.sources, d)),
        Format::Github => Some(render::github(&c.sources, d)),
        Format::Sarif => Some(sarif::sarif(&c.sources, d)),
    };
    if let Some(text) = machine {
        if stdout_is_yaml {
            let _ = std::io::stderr().write_all(text.as_bytes());
            return Ok(());
        }
        return write_stdout(text.as_bytes());
    }
    if d.is_empty() {
        return Ok(());
    }
    // Buffered: the renderer writes each diagnostic in many small pieces, and thousands of
    // warnings written one piece per system call took longer than the compile.
    let mut err = BufferedStandardStream::stderr(color_choice(input.color));
    let _ = render::human(&mut err, &c.sources, d);
    let _ = writeln!(err, "netpol: {}", render::summary(d));
    let _ = err.flush();
    Ok(())
}

/// Writes all of `bytes` on stdout and flushes.
fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes).and_then(|_| stdout.flush())
}

/// Prints a command's output on stdout; returns `code`, the command's exit code.
///
/// A closed stdout (`netpol matrix … | head -1`) is no error: the reader took what it wanted,
/// so the output stops there, quietly, and the exit code stays what the command's result makes
/// it (0, or 1 for a failed `verify`). ripgrep does the same ("A broken pipe means graceful
/// termination", BurntSushi/ripgrep crates/core/main.rs); Rust ignores SIGPIPE, so netpol
/// sees the error instead of being killed by the signal as a C tool is. Any other failure to
/// write is exit 3, after a message.
fn print_out(text: &str, code: i32) -> i32 {
    match write_stdout(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            say(format_args!("error: cannot write to stdout: {e}"));
            EXIT_IO
        }
        _ => code,
    }
}

/// A line on stderr. Unlike `eprintln!`, a closed stderr is not a panic.
fn say(line: std::fmt::Arguments) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn color_choice(c: ColorArg) -> ColorChoice {
    match c {
        ColorArg::Always => ColorChoice::Always,
        ColorArg::Never => ColorChoice::Never,
        ColorArg::Auto if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) => ColorChoice::Never,
        ColorArg::Auto if std::io::IsTerminal::is_terminal(&std::io::stderr()) => ColorChoice::Auto,
        ColorArg::Auto => ColorChoice::Never,
    }
}
