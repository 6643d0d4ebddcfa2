//! The `netpol` command line. The only module that touches files, the terminal and the
//! process's exit code.

pub mod analyze;
mod diff;
mod docs;
mod fmt;
pub mod graph;
mod import;
mod input;
mod learn;
pub mod output;
pub mod render;
mod replay;
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
        #[command(flatten)]
        format: DiagFormat,
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
        #[command(flatten)]
        format: DiagFormat,
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
        /// The report: for people (diagnostics on stderr), JSON (the report on stdout, the
        /// diagnostics as JSON on stderr), GitHub annotations or SARIF (diagnostics, on stderr)
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// The same as --format json (an older spelling)
        #[arg(long, hide = true, conflicts_with = "format")]
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
        /// The source: a workload (`ns/name`, or a name only one namespace declares), `namespace
        /// NAME`, an address or a network (`8.8.8.8`, `10.0.0.0/8`), or a built-in peer (`world`
        /// is answered for a documentation address outside the cluster, which is said)
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
        /// The form of the answer on stdout: `human`, or `json` (the verdict per target, the
        /// deciding rules with file and line, the addresses each answer stands for)
        #[arg(long, value_enum, default_value = "human")]
        format: AnswerFormat,
        /// Exit with the answer: 0 allowed, 1 not allowed, 4 possibly or partly allowed or the
        /// targets disagree, 5 errors in the input (2 stays a bad command line)
        #[arg(long)]
        exit_status: bool,
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
        /// A table for people, or every allowed pair as CSV or JSON (with JSON, diagnostics
        /// are JSON too, on stderr); `--as` is an older spelling
        #[arg(long, alias = "as", value_enum, default_value = "table")]
        format: analyze::MatrixFormat,
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
        target: Option<OneTargetArg>,
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
    /// Judge recorded flows against a policy: which would it drop, and by which rule?
    ///
    /// FLOWS are Hubble's export (`hubble observe -o jsonpb`, one JSON object per line; `-`
    /// for stdin). Each flow that opens a connection is judged as `netpol why` judges one, on
    /// the source's meaning (or with -t, a target's reading of the compiled manifests); the
    /// flows that would be dropped are grouped by the rule, or the missing rule, that
    /// decides. Exit 0: every judged flow is allowed; 1: some would be dropped; 4: none for
    /// certain, some possibly; 2: the input could not be read.
    Replay {
        /// The policy: a .netpol file or a directory of them; or policy manifests (YAML or
        /// JSON, any dialect), read as their CNI enforces them
        #[arg(value_name = "PROGRAM")]
        program: PathBuf,
        /// Flow files, as `hubble observe -o jsonpb` writes them
        #[arg(required = true, value_name = "FLOWS")]
        flows: Vec<PathBuf>,
        /// Judge on this target's reading of the compiled manifests, instead of the source's
        /// meaning
        #[arg(long, short, value_enum)]
        target: Option<OneTargetArg>,
        #[command(flatten)]
        versions: VersionArgs,
        #[command(flatten)]
        world: WorldArgs,
        /// Set a parameter, overriding its default (repeatable)
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
        set: Vec<(String, String)>,
        /// human for terminals, markdown for a pull-request comment, json for tools
        #[arg(long, value_enum, default_value = "human")]
        format: replay::ReplayFormat,
        /// When to color diagnostics (NO_COLOR in the environment means never for auto)
        #[arg(long, value_enum, default_value = "auto")]
        color: ColorArg,
    },
    /// Propose .netpol source that allows the connections recorded flows hold
    ///
    /// FLOWS are Hubble's export (`hubble observe -o jsonpb`; `-` for stdin). Pods are grouped
    /// into workloads by the workloads the flows name, else by their stable labels; each rule's
    /// reason counts the flows it covers. A namespace gets `default deny all` when every pod of
    /// it was seen (--inventory), or with --default-deny. The source is checked by compiling it.
    Learn {
        /// Flow files, as `hubble observe -o jsonpb` writes them
        #[arg(required = true, value_name = "FLOWS")]
        flows: Vec<PathBuf>,
        /// Write the source to FILE (a new .netpol file; an existing one is never replaced);
        /// default: stdout
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Namespaces, pods and workloads (`kubectl get namespaces,pods -A -o yaml`): their labels
        /// stand for the flows', and a namespace whose pods were all seen gets a default deny
        /// (repeatable)
        #[arg(long, value_name = "PATH")]
        inventory: Vec<PathBuf>,
        /// The namespace of inventory objects that name none
        #[arg(long, value_name = "NAME", default_value = "default")]
        namespace: String,
        /// Write `default deny all` in every namespace learned, even where pods the recording
        /// did not see may exist
        #[arg(long)]
        default_deny: bool,
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
        format: DiagFormat,
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
    /// How diagnostics are printed: each command's own `--format` sets it (the convention:
    /// `--format` chooses the form of what a command reports; see `DiagFormat`)
    #[arg(skip = Format::Human)]
    format: Format,
    /// When to color human diagnostics (NO_COLOR in the environment means never for auto)
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorArg,
    #[command(flatten)]
    levels: LevelArgs,
}

/// What to do with the diagnostics of one code, and how many to print. In the source,
/// `# netpol: allow CODE` allows a code on one line or statement ([`crate::allow`]).
#[derive(Args, Clone, Default)]
struct LevelArgs {
    /// Do not report the warnings (or notes) of CODE, e.g. `--allow W0203` (repeatable)
    #[arg(long = "allow", value_name = "CODE")]
    allow: Vec<String>,
    /// Keep the warnings of CODE warnings, even with --deny-warnings (repeatable)
    #[arg(long = "warn", value_name = "CODE")]
    warn: Vec<String>,
    /// Make the warnings of CODE errors: exit 1 when there is one (repeatable)
    #[arg(long = "deny", value_name = "CODE")]
    deny: Vec<String>,
    /// Print errors only; the exit status is the same as without
    #[arg(long)]
    quiet: bool,
    /// Print every diagnostic: without it, the human format shows the first 10 of each code
    /// and counts the rest
    #[arg(long)]
    all: bool,
}

impl LevelArgs {
    /// The codes given, upper-cased, or why they cannot be used: an unknown code, an error's
    /// code, or one code given two levels.
    fn validate(&self) -> Result<(), String> {
        let mut levels: std::collections::BTreeMap<String, &str> = Default::default();
        for (flag, codes) in [("--allow", &self.allow), ("--warn", &self.warn), ("--deny", &self.deny)] {
            for code in codes {
                let upper = code.trim().to_ascii_uppercase();
                if crate::explain::page(&upper).is_none() {
                    return Err(format!(
                        "`{flag} {code}`: no diagnostic has the code `{code}`\n\
                         help: codes look like W0203; `netpol explain CODE` prints a code's page"
                    ));
                }
                if upper.starts_with('E') {
                    return Err(format!(
                        "`{flag} {code}`: {upper} is an error, and errors cannot be allowed, warned or \
                         denied\nhelp: --allow, --warn and --deny take the codes of warnings (W…) and notes (N…)"
                    ));
                }
                if let Some(other) = levels.insert(upper.clone(), flag).filter(|f| *f != flag) {
                    return Err(format!(
                        "{upper} is given to both {other} and {flag}\nhelp: give each code one level"
                    ));
                }
            }
        }
        Ok(())
    }

    fn has(codes: &[String], code: &str) -> bool {
        codes.iter().any(|c| c.trim().eq_ignore_ascii_case(code))
    }

    /// Takes away the allowed codes and makes the denied ones errors.
    fn apply(&self, diags: &mut Vec<crate::diagnostic::Diagnostic>) {
        if self.allow.is_empty() && self.deny.is_empty() {
            return;
        }
        diags.retain(|d| d.is_error() || !Self::has(&self.allow, d.code));
        for d in diags.iter_mut().filter(|d| !d.is_error() && Self::has(&self.deny, d.code)) {
            d.severity = crate::diagnostic::Severity::Error;
            let why = format!("an error by `--deny {}`", d.code);
            d.help = Some(match d.help.take() {
                Some(h) => format!("{h} ({why})"),
                None => why,
            });
        }
    }
}

impl InputArgs {
    /// Whether the diagnostics fail the run: an error, or with --deny-warnings a warning whose
    /// code is not kept a warning by --warn.
    fn fails(&self, diags: &[crate::diagnostic::Diagnostic]) -> bool {
        diags.iter().any(|d| d.is_error()) || self.warnings_deny(diags)
    }

    /// Whether --deny-warnings fails the run on these diagnostics' warnings.
    fn warnings_deny(&self, diags: &[crate::diagnostic::Diagnostic]) -> bool {
        self.deny_warnings
            && diags.iter().any(|d| d.is_warning() && !LevelArgs::has(&self.levels.warn, d.code))
    }

    /// A compile of `paths`, with the --allow and --deny levels applied.
    fn compile(&self, paths: &[String], options: &Options) -> Compilation {
        let mut c = driver::compile(paths, &FsLoader, options);
        self.levels.apply(&mut c.diagnostics);
        c
    }

    /// [`Self::compile`], each target's objects handed to `sink` ([`driver::compile_into`]).
    fn compile_into(
        &self,
        paths: &[String],
        options: &Options,
        sink: &mut dyn FnMut(Target, Vec<crate::backend::Object>),
    ) -> Compilation {
        let mut c = driver::compile_into(paths, &FsLoader, options, sink);
        self.levels.apply(&mut c.diagnostics);
        c
    }
}

/// `--format` of the commands whose report is their diagnostics (`compile`, whose stdout is
/// the YAML, prints them on stderr in this format).
#[derive(Args)]
struct DiagFormat {
    /// How to print diagnostics: for people, JSON, GitHub annotations, or SARIF 2.1.0 for code
    /// scanning
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
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

/// One target, for the commands that read a program's compiled manifests.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OneTargetArg {
    Kubernetes,
    Cilium,
    Calico,
    KubernetesCnp,
}

impl OneTargetArg {
    fn target(self) -> Target {
        match self {
            OneTargetArg::Kubernetes => Target::Kubernetes,
            OneTargetArg::Cilium => Target::Cilium,
            OneTargetArg::Calico => Target::Calico,
            OneTargetArg::KubernetesCnp => Target::KubernetesCnp,
        }
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
    /// An experimental ClusterNetworkPolicy feature the cluster's implementation of the
    /// network-policy API supports, for --target kubernetes-cnp (repeatable): `domain-names`
    /// lets allows to DNS names be written
    #[arg(long = "cnp-feature", value_name = "FEATURE", value_enum, value_delimiter = ',')]
    cnp_features: Vec<CnpFeatureArg>,
    /// The priority (0-1000) of the first ClusterNetworkPolicy --target kubernetes-cnp writes in
    /// each tier; the others follow one by one. Keep it clear of the cluster's other policies:
    /// two of one priority that match one connection are undefined
    #[arg(long, value_name = "PRIORITY", default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=1000))]
    cnp_first_priority: u16,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CnpFeatureArg {
    /// Egress `domainNames` peers (experimental channel, Accept rules only)
    DomainNames,
}

impl VersionArgs {
    fn versions(&self) -> Versions {
        let mut cnp =
            crate::backend::CnpFeatures { first_priority: self.cnp_first_priority, ..Default::default() };
        for f in &self.cnp_features {
            match f {
                CnpFeatureArg::DomainNames => cnp.domain_names = true,
            }
        }
        Versions { cilium: self.cilium_version, calico: self.calico_version, cnp }
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
    /// Kubernetes NetworkPolicy, with ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2)
    /// for deny rules and cluster-wide defaults; not part of `all`
    KubernetesCnp,
    /// Every CNI dialect: kubernetes, cilium and calico
    All,
}

impl TargetArg {
    fn targets(self) -> Vec<Target> {
        match self {
            TargetArg::Kubernetes => vec![Target::Kubernetes],
            TargetArg::Cilium => vec![Target::Cilium],
            TargetArg::Calico => vec![Target::Calico],
            TargetArg::KubernetesCnp => vec![Target::KubernetesCnp],
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
    KubernetesCnp,
}

impl SemanticsArg {
    /// The target whose reading is asked for; `None` for the source's meaning.
    fn target(self) -> Option<Target> {
        match self {
            SemanticsArg::Source => None,
            SemanticsArg::Kubernetes => Some(Target::Kubernetes),
            SemanticsArg::Cilium => Some(Target::Cilium),
            SemanticsArg::Calico => Some(Target::Calico),
            SemanticsArg::KubernetesCnp => Some(Target::KubernetesCnp),
        }
    }
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
    if let Some(Err(e)) = cli.command.input().map(|i| i.levels.validate()) {
        say(format_args!("error: {e}"));
        return EXIT_USAGE;
    }
    match cli.command {
        Command::Compile { mut input, format, target, versions, output, dry_run, allow_empty } => {
            input.format = format.format;
            let write = output::WriteOptions { dry_run, allow_empty };
            compile(&input, target, versions.versions(), output.as_deref(), write)
        }
        Command::Check { mut input, format, target, versions, world } => {
            input.format = format.format;
            match world_inputs(&input, &world) {
                Ok(Some(w)) => world_check(&input, &w),
                Ok(None) => {
                    check(&input, target.map(TargetArg::targets).unwrap_or_default(), versions.versions())
                }
                Err(code) => code,
            }
        }
        Command::Verify { mut input, format, target, versions, world, json } => {
            input.format = if json { Format::Json } else { format };
            let json = input.format == Format::Json;
            match world_inputs(&input, &world) {
                Ok(Some(w)) => world_verify(&input, &w, json),
                Ok(None) => verify(&input, target.targets(), versions.versions(), json),
                Err(code) => code,
            }
        }
        Command::Why { path, from, to, ports, target, versions, world, set, format, exit_status } => {
            let input = InputArgs {
                paths: vec![path],
                set,
                deny_warnings: false,
                format: Format::Human,
                color: ColorArg::Auto,
                levels: LevelArgs::default(),
            };
            match world_inputs(&input, &world) {
                Ok(Some(w)) => world_why(&input, &w, &from, &to, &ports, (format, exit_status)),
                Ok(None) => {
                    let answer = (format, exit_status);
                    why(&input, &from, &to, &ports, target.targets(), versions.versions(), answer)
                }
                Err(code) if exit_status && code == EXIT_ERRORS => analyze::EXIT_WHY_ERRORS,
                Err(code) => code,
            }
        }
        Command::Matrix { mut input, target, versions, world, format } => {
            if format == analyze::MatrixFormat::Json {
                input.format = Format::Json;
            }
            match world_inputs(&input, &world) {
                Ok(Some(w)) => world_matrix(&input, &w, format),
                Ok(None) => matrix(&input, target, versions.versions(), format),
                Err(code) => code,
            }
        }
        Command::Graph { paths, set, format, target, versions, dns, color } => {
            let input = InputArgs {
                paths,
                set,
                deny_warnings: false,
                format: Format::Human,
                color,
                levels: LevelArgs::default(),
            };
            graph_command(&input, target, versions.versions(), format, dns)
        }
        Command::Diff { paths, git, old, new, target, world, set, format, color } => {
            diff::run(&diff::DiffArgs {
                paths: &paths,
                old: &old,
                new: &new,
                git: git.as_deref(),
                target: target.map(OneTargetArg::target),
                inventory: &world.inventory,
                cni: world.cni.map(CniArg::dialect),
                namespace: &world.namespace,
                set: &set,
                format,
                color,
            })
        }
        Command::Replay { program, flows, target, versions, world, set, format, color } => {
            replay::run(&replay::ReplayArgs {
                program: &program,
                flows: &flows,
                inventory: &world.inventory,
                target: target.map(OneTargetArg::target),
                versions: versions.versions(),
                cni: world.cni.map(CniArg::dialect),
                namespace: &world.namespace,
                set: &set,
                format,
                color,
            })
        }
        Command::Learn { flows, output, inventory, namespace, default_deny, color } => {
            learn::run(&learn::LearnArgs {
                flows: &flows,
                inventory: &inventory,
                namespace: &namespace,
                output: output.as_deref(),
                default_deny,
                color,
            })
        }
        Command::Fmt { paths, check, color } => fmt::run(&paths, check, color),
        Command::Explain { code } => explain(&code),
        Command::Completions { shell } => docs::completions(shell),
        Command::Man { command } => docs::man(command.as_deref()),
        Command::Import { mut input, format, world, output, lossy, to } => {
            input.format = format.format;
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

impl Command {
    /// The diagnostic arguments of a command that has them.
    fn input(&self) -> Option<&InputArgs> {
        match self {
            Command::Compile { input, .. }
            | Command::Check { input, .. }
            | Command::Verify { input, .. }
            | Command::Matrix { input, .. }
            | Command::Import { input, .. } => Some(input),
            _ => None,
        }
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
    ) -> (WorldOut, i32),
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
    let (out, code) = f(&mut l, program.as_ref(), &r, &mut more);
    l.diagnostics.extend(more);
    report_all(input, &l.sources, &mut l.diagnostics, machine_on_stdout);
    let written = match out {
        WorldOut::Text(text) => print_out(&text, code),
        // Written as it is made, after the diagnostics: it grows with the square of the pods.
        WorldOut::Matrix(format) => stream_out(code, |out| world::write_matrix(&r, format, out)),
    };
    // What the input's diagnostics fail decides the code, whatever the writing did.
    if input.fails(&l.diagnostics) {
        EXIT_ERRORS
    } else {
        written
    }
}

/// What a command over the world prints on stdout.
enum WorldOut {
    Text(String),
    /// The matrix of the reading, in this format.
    Matrix(analyze::MatrixFormat),
}

fn world_check(input: &InputArgs, w: &WorldPaths) -> i32 {
    with_world(input, w, true, &[], |l, program, r, diags| {
        let found =
            crate::world::coverage::check(&l.sources, &l.world, r.population, &*r.semantics, program, r.cni);
        diags.extend(found);
        (WorldOut::Text(String::new()), EXIT_OK)
    })
}

fn world_matrix(input: &InputArgs, w: &WorldPaths, format: analyze::MatrixFormat) -> i32 {
    with_world(input, w, false, &[], |_, _, _, _| (WorldOut::Matrix(format), EXIT_OK))
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
        (WorldOut::Text(text), world::exit_code(ok))
    })
}

/// `why`'s answer: its form on stdout, and whether the exit status says it.
type AnswerArgs = (AnswerFormat, bool);

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum AnswerFormat {
    Human,
    Json,
}

/// `why`'s answer printed as asked; the exit code.
fn print_answer(r: &analyze::WhyReport, (format, exit_status): AnswerArgs) -> i32 {
    let text = match format {
        AnswerFormat::Human => analyze::print_why(r),
        AnswerFormat::Json => format!("{}\n", serde_json::to_string_pretty(r).unwrap_or_default()),
    };
    print_out(&text, if exit_status { r.answer.exit_code() } else { EXIT_OK })
}

fn world_why(
    input: &InputArgs,
    w: &WorldPaths,
    from: &str,
    to: &str,
    ports: &[String],
    answer: AnswerArgs,
) -> i32 {
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
    // The answer's code travels out of `with_world` apart from its own codes (1 there is an
    // error in the input, 1 here may be "not allowed").
    let mut answered = None;
    let code = with_world(input, w, false, &world::addresses(&[from, to]), |l, _, r, _| {
        match world::why(&l.sources, r, from, to, &ports) {
            Ok(report) => {
                let text = match answer.0 {
                    AnswerFormat::Human => analyze::print_why(&report),
                    AnswerFormat::Json => {
                        format!("{}\n", serde_json::to_string_pretty(&report).unwrap_or_default())
                    }
                };
                answered = Some(report.answer.exit_code());
                (WorldOut::Text(text), EXIT_OK)
            }
            Err(e) => {
                say(format_args!("error: {e}"));
                (WorldOut::Text(String::new()), EXIT_USAGE)
            }
        }
    });
    match (answer.1, code, answered) {
        (false, _, _) => code,
        (true, EXIT_OK, Some(a)) => a,
        (true, EXIT_ERRORS, _) => analyze::EXIT_WHY_ERRORS,
        (true, _, _) => code,
    }
}

/// Every diagnostic, sorted, in the format asked for, after --allow and --deny: on stderr, or
/// the machine formats on stdout for `check` (whose only output they are).
fn report_all(
    input: &InputArgs,
    sources: &crate::span::SourceMap,
    d: &mut Vec<crate::diagnostic::Diagnostic>,
    machine_on_stdout: bool,
) {
    input.levels.apply(d);
    crate::diagnostic::sort(d);
    let _ = print_diagnostics(input, sources, d, machine_on_stdout);
}

/// Prints diagnostics in the format asked for: the machine formats on stdout when
/// `machine_on_stdout`, else on stderr; the human format on stderr, at most
/// [`render::PER_CODE`] of each code unless --all. With --quiet, errors only. Fails only when
/// stdout does.
fn print_diagnostics(
    input: &InputArgs,
    sources: &crate::span::SourceMap,
    d: &[crate::diagnostic::Diagnostic],
    machine_on_stdout: bool,
) -> std::io::Result<()> {
    let errors_only: Vec<_>;
    let d = if input.levels.quiet {
        errors_only = d.iter().filter(|d| d.is_error()).cloned().collect();
        &errors_only[..]
    } else {
        d
    };
    let machine = match input.format {
        Format::Human => None,
        Format::Json => Some(render::json(sources, d)),
        Format::Github => Some(render::github(sources, d)),
        Format::Sarif => Some(sarif::sarif(sources, d)),
    };
    if let Some(text) = machine {
        if machine_on_stdout {
            return write_stdout(text.as_bytes());
        }
        let _ = std::io::stderr().write_all(text.as_bytes());
        return Ok(());
    }
    if d.is_empty() {
        return Ok(());
    }
    // Buffered: the renderer writes each diagnostic in many small pieces, and thousands of
    // warnings written one piece per system call took longer than the compile.
    let mut err = BufferedStandardStream::stderr(color_choice(input.color));
    let per_code = (!input.levels.all).then_some(render::PER_CODE);
    let _ = render::human_report(&mut err, sources, d, per_code);
    let _ = err.flush();
    Ok(())
}

fn verify(input: &InputArgs, targets: Vec<Target>, versions: Versions, json: bool) -> i32 {
    // Each target's objects go to a spool as soon as they are emitted (into memory only where
    // no temporary file can be written), and are read back from it one target at a time, so
    // no more than one target's objects and reading are held. The program's `expect`s read
    // each target on their own and free it (`keep_read_back` would hold every target's
    // objects, parsed, until the end).
    let (c, held) = match compile_held(input, targets, versions, Vec::new()) {
        Ok(compiled) => compiled,
        Err(code) => return code,
    };
    let _ = report(input, &c, true);
    if input.fails(&c.diagnostics) {
        return EXIT_ERRORS;
    }
    let Some(r) = analyze::verify(&c, &manifests(&held)) else { return EXIT_ERRORS };
    let text = if json {
        format!("{}\n", serde_json::to_string_pretty(&r).unwrap_or_default())
    } else {
        analyze::print_verify(&r)
    };
    print_out(&text, if r.ok() { EXIT_OK } else { EXIT_ERRORS })
}

/// Compiles the input's paths for `targets` (with `queries`, see [`Options::queries`]), each
/// target's objects handed to a spool as soon as they are emitted ([`Held::spool`]) for the
/// engine to read back one target at a time; `Err` with the exit code where the paths cannot
/// be listed.
fn compile_held(
    input: &InputArgs,
    targets: Vec<Target>,
    versions: Versions,
    queries: Vec<String>,
) -> Result<(Compilation, Vec<(Target, Held)>), i32> {
    let paths = expand_paths(&input.paths, false)?;
    let options = Options { overrides: input.set.clone(), targets, versions, queries, ..Options::default() };
    let mut held: Vec<(Target, Held)> = Vec::new();
    let c = input.compile_into(&paths, &options, &mut |t, objects| held.push((t, Held::spool(objects))));
    Ok((c, held))
}

/// Each held target with its objects, as the engine reads them.
fn manifests(held: &[(Target, Held)]) -> Vec<(Target, &dyn crate::analysis::targets::Manifests)> {
    held.iter().map(|(t, h)| (*t, h.manifests())).collect()
}

/// A target and its objects, or none for the source's meaning.
type Of<'a> = Option<(Target, &'a dyn crate::analysis::targets::Manifests)>;

/// The objects of `target` among those held: `Ok(None)` for the source's meaning, `Err` where
/// the target was asked for and is not held (a compile that did not emit it failed).
fn held_target(held: &[(Target, Held)], target: Option<Target>) -> Result<Of<'_>, ()> {
    match target {
        None => Ok(None),
        Some(t) => held.iter().find(|(h, _)| *h == t).map(|(_, h)| Some((t, h.manifests()))).ok_or(()),
    }
}

/// A target's objects until they are read: spooled to a temporary file, or in memory where no
/// temporary file could be written.
enum Held {
    Spooled(crate::spool::Spooled<String>),
    Memory(Vec<crate::backend::Object>),
}

impl Held {
    fn spool(objects: Vec<crate::backend::Object>) -> Held {
        match crate::analysis::targets::spool(&objects) {
            Ok(s) => Held::Spooled(s),
            Err(_) => Held::Memory(objects),
        }
    }

    fn manifests(&self) -> &dyn crate::analysis::targets::Manifests {
        match self {
            Held::Spooled(s) => s,
            Held::Memory(objects) => objects,
        }
    }
}

fn why(
    input: &InputArgs,
    from: &str,
    to: &str,
    ports: &[String],
    targets: Vec<Target>,
    versions: Versions,
    answer: AnswerArgs,
) -> i32 {
    let errors = if answer.1 { analyze::EXIT_WHY_ERRORS } else { EXIT_ERRORS };
    let words: Vec<&str> = ports.iter().map(String::as_str).collect();
    let ports = match words.split_first() {
        None => String::new(),
        Some((&"on", rest)) => format!(" on {}", rest.join(" ")),
        Some(_) => format!(" on {}", words.join(" ")),
    };
    let query = format!("expect {from} can reach {to}{ports}");
    // As `verify`: each target spooled, and read back one at a time.
    let (c, held) = match compile_held(input, targets, versions, vec![query]) {
        Ok(compiled) => compiled,
        Err(code) if code == EXIT_ERRORS => return errors,
        Err(code) => return code,
    };
    if c.has_errors() {
        let _ = report(input, &c, true);
        return errors;
    }
    match analyze::why(&c, &manifests(&held)) {
        Some(r) => print_answer(&r, answer),
        None => errors,
    }
}

fn matrix(input: &InputArgs, target: SemanticsArg, versions: Versions, format: analyze::MatrixFormat) -> i32 {
    let target = target.target();
    let (c, held) = match compile_held(input, target.into_iter().collect(), versions, Vec::new()) {
        Ok(compiled) => compiled,
        Err(code) => return code,
    };
    let _ = report(input, &c, true);
    if input.fails(&c.diagnostics) {
        return EXIT_ERRORS;
    }
    let Ok(of) = held_target(&held, target) else { return EXIT_ERRORS };
    let Some(program) = c.program.as_ref() else { return EXIT_ERRORS };
    // Written as it is made: the matrix grows with the square of the points.
    stream_out(EXIT_OK, |out| analyze::matrix(program, of, format, out))
}

fn graph_command(
    input: &InputArgs,
    target: SemanticsArg,
    versions: Versions,
    format: graph::GraphFormat,
    every_dns_edge: bool,
) -> i32 {
    let target = target.target();
    let (mut c, held) = match compile_held(input, target.into_iter().collect(), versions, Vec::new()) {
        Ok(compiled) => compiled,
        Err(code) => return code,
    };
    let of = held_target(&held, target);
    if c.has_errors() || of.is_err() {
        let _ = report(input, &c, true);
        return EXIT_ERRORS;
    }
    // A diagram too large for its format is one more diagnostic (E0501).
    let diagram = graph::diagram(&c, of.ok().flatten(), format, every_dns_edge);
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
    // To stdout (one target): its objects, written once the run has passed. To a folder: each
    // target's documents go to a spool as soon as the target is emitted, so no more than one
    // target's documents are ever held; the folder is written from the spool at the end.
    let mut held = Vec::new();
    let mut spool: Option<std::io::Result<output::Spool>> = None;
    let per_target = target == TargetArg::All;
    let c = input.compile_into(&paths, &options, &mut |t, objects| match output {
        None => held.extend(objects),
        Some(_) => {
            let spool = spool.get_or_insert_with(output::Spool::new);
            let Ok(s) = spool else { return };
            for o in &objects {
                let rel = output::relative_path(o);
                let rel = if per_target { Path::new(t.name()).join(rel) } else { rel };
                if let Err(e) = s.push(rel, &o.yaml) {
                    *spool = Err(e);
                    return;
                }
            }
        }
    });
    let _ = report(input, &c, true);
    let failed = input.fails(&c.diagnostics);
    if failed {
        return EXIT_ERRORS;
    }
    match output {
        None => {
            // Standard output flushes at every line end it is handed; a buffer of its own
            // writes the documents in large blocks.
            let mut stdout = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            let written = held
                .iter()
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
            let spooled = spool.unwrap_or_else(output::Spool::new).and_then(output::Spool::finish);
            let spooled = match spooled {
                Ok(s) => s,
                Err(e) => {
                    say(format_args!("error: cannot write a temporary file for the output: {e}"));
                    say(format_args!(
                        "help: nothing was changed in `{}`; set TMPDIR to a folder with room",
                        dir.display()
                    ));
                    return EXIT_IO;
                }
            };
            let files = output::contents(&spooled);
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
    left_to_exit((held, c));
    EXIT_OK
}

/// Leaves `value` to the operating system, unfreed: the process exits once the command has
/// returned, and freeing a large compilation's program and documents piece by piece, most of
/// it on one thread, only delays that exit (8–11 ms at 10,000 workloads).
fn left_to_exit<T>(value: T) {
    std::mem::forget(value);
}

fn check(input: &InputArgs, targets: Vec<Target>, versions: Versions) -> i32 {
    let paths = match expand_paths(&input.paths, false) {
        Ok(paths) => paths,
        Err(code) => return code,
    };
    let options = Options { overrides: input.set.clone(), targets, versions, ..Options::default() };
    let c = input.compile(&paths, &options);
    let code = if input.fails(&c.diagnostics) { EXIT_ERRORS } else { EXIT_OK };
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
    print_diagnostics(input, &c.sources, &c.diagnostics, !stdout_is_yaml)
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
    wrote(write_stdout(text.as_bytes()), code)
}

/// Output written on stdout as `write` makes it (through a buffer, not held whole); returns
/// `code`, as [`print_out`] does.
fn stream_out(code: i32, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> i32 {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    wrote(write(&mut out).and_then(|_| out.flush()), code)
}

/// `code` after output written on stdout, as [`print_out`] judges the result of writing it.
fn wrote(result: std::io::Result<()>, code: i32) -> i32 {
    match result {
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

/// A writer for tests of output written as it is made: takes `budget` bytes, then fails every
/// write (as a pipe whose reader went away); counts the writes, and those that failed.
#[cfg(test)]
pub(crate) struct FailAfter {
    pub budget: usize,
    pub writes: usize,
    pub failed: usize,
}

#[cfg(test)]
impl FailAfter {
    pub fn new(budget: usize) -> Self {
        FailAfter { budget, writes: 0, failed: 0 }
    }
}

#[cfg(test)]
impl std::io::Write for FailAfter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writes += 1;
        if self.budget == 0 {
            self.failed += 1;
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        let n = buf.len().min(self.budget);
        self.budget -= n;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
