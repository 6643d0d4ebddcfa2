//! Compile-time benchmark: generated programs of 1,250 to 10,000 workloads (≈10 rules each),
//! timed through the whole pipeline (`driver::compile_into` + `yaml::stream` of each target,
//! dropped before the next target is emitted, as `netpol compile` writes each one out).
//!
//!     cargo bench --bench compile                # every size, one child process per size
//!     cargo bench --bench compile -- --quick     # the smallest size only (CI smoke run)
//!     NETPOL_BENCH_QUICK=1 cargo bench --bench compile
//!     NETPOL_BENCH_SIZE=5000 target/release/deps/compile-*   # one size, in this process
//!     NETPOL_BENCH_TARGET=all cargo bench --bench compile  # kubernetes (default), cilium, calico or all
//!     NETPOL_BENCH_SIZE=100000 NETPOL_BENCH_SOURCE=/tmp/p.netpol target/release/deps/compile-*
//!         # only write the program, to time the binary: /usr/bin/time -v netpol compile /tmp/p.netpol
//!
//! After the sizes, a table of pathological inputs (deep nesting, `else if` chains, group chains,
//! groups that double at each level, long `except` lists, overlapping networks, workloads whose
//! selectors can pick the same pods), each at a size and ten times it, shows that the work grows
//! linearly (small sizes in quick mode).
//!
//! Each size runs in its own process (the bench re-executes itself with `NETPOL_BENCH_SIZE`), so
//! the peak memory (`VmHWM`) is per size. It still covers the whole process: the generated
//! source text, three compilations one after the other, and each target's YAML in turn.
//!
//! The targets are informational: this is a benchmark, not a test, and exits 0 whatever the
//! numbers are. It exits 1 only when the generated program does not compile, which is a bug in
//! the generator (or in the compiler).

use netpol::backend::Target;
use netpol::diagnostic::Diagnostic;
use netpol::driver::{compile, compile_into, Compilation, Loader, Options};
use std::collections::{BTreeMap, HashMap};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

/// Workload counts; namespaces scale with them (100 at 10,000).
const SIZES: [usize; 4] = [1250, 2500, 5000, 10000];
const RUNS: usize = 3;
/// The targets, at the largest size.
const TARGET_MS: f64 = 1000.0;
const TARGET_MB: f64 = 300.0;
const SIZE_VAR: &str = "NETPOL_BENCH_SIZE";
const QUICK_VAR: &str = "NETPOL_BENCH_QUICK";
const TARGET_VAR: &str = "NETPOL_BENCH_TARGET";
/// With a size: write the generated program to this path and stop.
const SOURCE_VAR: &str = "NETPOL_BENCH_SOURCE";

/// The targets to emit: `$NETPOL_BENCH_TARGET` (a target name or `all`), else Kubernetes.
fn bench_targets() -> Vec<Target> {
    match std::env::var(TARGET_VAR).ok().as_deref() {
        None | Some("") => vec![Target::Kubernetes],
        Some("all") => Target::ALL.to_vec(),
        Some(name) => {
            vec![Target::from_name(name).unwrap_or_else(|| panic!("{TARGET_VAR}: unknown target {name}"))]
        }
    }
}
/// The line a child prints for its parent to read.
const RESULT_TAG: &str = "netpol-bench-result";
const FILE: &str = "gen.netpol";

mod gen;

/// The allocator the `netpol` binary uses (`src/main.rs`), so the numbers are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use gen::{generate, namespaces_for, SEED};

/// Rule statements in a generated program (everything but declarations, braces and comments).
fn count_rules(text: &str) -> usize {
    text.lines()
        .map(str::trim)
        .filter(|l| {
            !(l.is_empty()
                || l.starts_with('#')
                || l.starts_with("namespace ")
                || l.starts_with("workload ")
                || *l == "}")
        })
        .count()
}

// ---- measurement ----------------------------------------------------------------------------

struct Mem(HashMap<String, String>);

impl Loader for Mem {
    fn load(&self, path: &str) -> Result<String, String> {
        self.0.get(path).cloned().ok_or_else(|| "missing".into())
    }

    fn join(&self, _from: &str, import: &str) -> String {
        import.to_string()
    }
}

/// One size's numbers.
struct Measured {
    workloads: usize,
    namespaces: usize,
    rules: usize,
    in_bytes: usize,
    out_bytes: usize,
    warnings: usize,
    best: Duration,
    median: Duration,
    /// Peak resident memory of the process, KiB (`None` where `/proc` is missing).
    peak_kib: Option<u64>,
}

/// Generates, then compiles `RUNS` times. `Err` when the program does not compile.
fn measure(workloads: usize) -> Result<Measured, String> {
    let namespaces = namespaces_for(workloads);
    let text = generate(workloads, namespaces, SEED);
    let (rules, in_bytes) = (count_rules(&text), text.len());
    let loader = Mem(HashMap::from([(FILE.to_string(), text)]));
    let options = Options { overrides: vec![], targets: bench_targets(), ..Options::default() };
    let paths = [FILE.to_string()];

    let mut times = Vec::new();
    let (mut out_bytes, mut warnings) = (0, 0);
    for run in 0..RUNS {
        let start = Instant::now();
        // As `netpol compile` runs: each target's stream is written out (here: measured and
        // dropped) before the next target is emitted, so no run holds every target's YAML.
        let mut bytes = 0;
        let c = compile_into(&paths, &loader, &options, &mut |_, objects| {
            bytes += netpol::yaml::stream(&objects).len();
        });
        times.push(start.elapsed());
        if run == 0 {
            if let Some(d) = c.diagnostics.iter().find(|d| d.is_error()) {
                let errors = c.diagnostics.iter().filter(|d| d.is_error()).count();
                return Err(format!("{errors} error(s); the first: {}", describe(&c, d)));
            }
            if bytes == 0 {
                return Err("no output".into());
            }
            out_bytes = bytes;
            warnings = c.diagnostics.len();
            print_warning_summary(&c);
        }
    }
    times.sort();
    Ok(Measured {
        workloads,
        namespaces,
        rules,
        in_bytes,
        out_bytes,
        warnings,
        best: times[0],
        median: times[times.len() / 2],
        peak_kib: peak_kib(),
    })
}

/// `gen.netpol:LINE: CODE message`, then the line itself.
fn describe(c: &Compilation, d: &Diagnostic) -> String {
    let span = d.primary.span;
    let line = c.sources.start_of(span).line;
    let text = c.sources.text(span.file).lines().nth(line.saturating_sub(1)).unwrap_or("").trim();
    format!(
        "{}:{line}: {} {} ({})\n    {text}",
        c.sources.name(span.file),
        d.code,
        d.message,
        d.primary.message
    )
}

/// Warnings by code, on stderr: a quiet generator has few (each is a generator inconsistency).
fn print_warning_summary(c: &Compilation) {
    let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &c.diagnostics {
        *by_code.entry(d.code).or_default() += 1;
    }
    if let Some(d) = c.diagnostics.first() {
        let codes: Vec<String> = by_code.iter().map(|(code, n)| format!("{code} x{n}")).collect();
        eprintln!("  warnings: {}; the first: {}", codes.join(", "), describe(c, d));
    }
}

/// `VmHWM` of this process, KiB.
fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

impl Measured {
    fn to_line(&self) -> String {
        format!(
            "{RESULT_TAG} {} {} {} {} {} {} {} {} {}",
            self.workloads,
            self.namespaces,
            self.rules,
            self.in_bytes,
            self.out_bytes,
            self.warnings,
            self.best.as_nanos(),
            self.median.as_nanos(),
            self.peak_kib.map_or("-".to_string(), |k| k.to_string())
        )
    }

    fn from_line(line: &str) -> Option<Measured> {
        let f: Vec<&str> = line.strip_prefix(RESULT_TAG)?.split_whitespace().collect();
        let n = |i: usize| f.get(i).and_then(|s| s.parse::<u64>().ok());
        let nanos = |i: usize| n(i).map(Duration::from_nanos);
        Some(Measured {
            workloads: n(0)? as usize,
            namespaces: n(1)? as usize,
            rules: n(2)? as usize,
            in_bytes: n(3)? as usize,
            out_bytes: n(4)? as usize,
            warnings: n(5)? as usize,
            best: nanos(6)?,
            median: nanos(7)?,
            peak_kib: n(8),
        })
    }
}

/// Runs one size in a fresh copy of this process, for a peak memory of that size alone. Falls
/// back to measuring in this process when re-executing fails.
fn measure_in_child(workloads: usize) -> Result<Measured, String> {
    let child = std::env::current_exe().and_then(|exe| {
        Command::new(exe).env(SIZE_VAR, workloads.to_string()).stderr(std::process::Stdio::inherit()).output()
    });
    match child {
        Ok(out) => {
            let stdout = String::from_utf8_lossy(&out.stdout);
            match stdout.lines().find_map(Measured::from_line) {
                Some(m) if out.status.success() => Ok(m),
                _ => Err(format!("child for {workloads} workloads failed ({}):\n{stdout}", out.status)),
            }
        }
        Err(e) => {
            eprintln!("  cannot re-execute the bench ({e}); measuring in this process");
            measure(workloads).map(|m| Measured { peak_kib: None, ..m })
        }
    }
}

/// Times each pipeline stage, best of [`RUNS`], through the library's public stage functions,
/// on `NETPOL_THREADS` threads (one per core by default), and the floor: the YAML writer alone
/// writing the same objects again, on as many threads (each object's document read back into a
/// tree first, not timed). The ratio of the whole compile (the sum of the stages' best times)
/// to that floor is what compiling adds to writing. Peak memory is read during the first run.
fn stages(workloads: usize) {
    use netpol::span::SourceMap;
    use std::time::Instant;
    let text = generate(workloads, (workloads / 100).max(1), SEED);
    let mut sources = SourceMap::new();
    let file = sources.add("gen.netpol", text);
    // Each stage's best time, and the time one thread alone was busy in that run.
    // (time, (one thread alone, one worker at the uneven end of a parallel call)).
    type Lap = (Duration, (Duration, Duration));
    type Best = Option<Lap>;
    let best = |a: &mut Best, d: Lap| *a = Some(a.map_or(d, |a| a.min(d)));
    let timed = |start: (Instant, netpol::par::BusyTime)| {
        let b = netpol::par::busy() - start.1;
        (start.0.elapsed(), (b.alone, b.uneven))
    };
    let now = || (Instant::now(), netpol::par::busy());
    let (mut parse, mut resolve, mut check): (Best, Best, Best) = (None, None, None);
    let mut mem = None;
    let mut diagnostics = 0;
    let mut kept = None;
    for _ in 0..RUNS {
        let t = now();
        let ast = netpol::syntax::parse(file, sources.text(file)).expect("parses");
        best(&mut parse, timed(t));
        let mem_parse = peak_kib().unwrap_or(0);
        let t = now();
        let files = [(file, ast)];
        let resolved = netpol::resolve::resolve(&sources, &files, &[]).expect("resolves");
        best(&mut resolve, timed(t));
        let mem_resolve = peak_kib().unwrap_or(0);
        drop(files);
        let t = now();
        let diags = netpol::check::check(&resolved);
        best(&mut check, timed(t));
        diagnostics = diags.len();
        mem.get_or_insert((mem_parse, mem_resolve, peak_kib().unwrap_or(0)));
        kept = Some(resolved);
    }
    let resolved = kept.expect("at least one run");
    let (parse, resolve, check) = (parse.unwrap(), resolve.unwrap(), check.unwrap());
    let (mem_parse, mem_resolve, mem_check) = mem.unwrap();
    let locate = |span: netpol::span::Span| format!("gen.netpol:{}", sources.line_of(span));
    let cx = netpol::backend::EmitContext { locate: &locate, versions: netpol::backend::Versions::DEFAULT };
    let one = |d: Lap| format!("{:.0} ms ({:.0} alone, {:.0} uneven)", ms(d.0), ms(d.1 .0), ms(d.1 .1));
    eprintln!(
        "  stages at {workloads} workloads on {} thread(s), best of {RUNS}: parse {}, resolve {}, check {} ({diagnostics} diagnostics)",
        netpol::par::threads(),
        one(parse), one(resolve), one(check)
    );
    eprintln!(
        "    peak memory after parse {:.0} MB, resolve {:.0} MB, check {:.0} MB (source text {:.0} MB)",
        mb(mem_parse),
        mb(mem_resolve),
        mb(mem_check),
        sources.text(file).len() as f64 / 1048576.0
    );
    let (parse, resolve, check) = (parse.0, resolve.0, check.0);
    for target in bench_targets() {
        let (mut emit, mut stream, mut floor): (Best, Best, Best) = (None, None, None);
        let (mut bytes, mut written, mut mem_emit) = (0, 0, None);
        for _ in 0..RUNS {
            let t = now();
            let objects = target.backend().emit(&resolved.program, &cx).expect("emits");
            best(&mut emit, timed(t));
            let t = now();
            let yaml = netpol::yaml::stream(&objects);
            best(&mut stream, timed(t));
            bytes = yaml.len();
            drop(yaml);
            mem_emit.get_or_insert(peak_kib().unwrap_or(0));
            let trees: Vec<serde_json::Value> = objects.iter().map(|o| o.body()).collect();
            drop(objects);
            // On as many threads as emit, in the same chunks.
            let t = now();
            written = netpol::par::chunks(trees.len(), 256, |r| {
                trees[r].iter().map(|v| netpol::yaml::document(v).len()).sum::<usize>()
            })
            .into_iter()
            .sum();
            best(&mut floor, timed(t));
        }
        let (emit, stream, floor) = (emit.unwrap(), stream.unwrap(), floor.unwrap());
        let emit_one = one(emit);
        let (emit, stream, floor) = (emit.0, stream.0, floor.0);
        let whole = parse + resolve + check + emit + stream;
        eprintln!(
            "    {}: emit+serialize {emit_one}, stream {:.0} ms ({bytes} bytes, peak {:.0} MB); the writer alone {:.0} ms \
             ({written} bytes): compile is {:.1}× the writer",
            target.name(),
            ms(stream),
            mb(mem_emit.unwrap()),
            ms(floor),
            whole.as_secs_f64() / floor.as_secs_f64().max(1e-9)
        );
    }
}

// ---- pathological inputs --------------------------------------------------------------------

/// Programs that used to blow up (stack overflows, exponential group expansion, quadratic
/// steps), each generated at a size and at ten times it: a linear compiler takes about ten
/// times longer, so the `growth` column (time per item at the larger size over time per item
/// at the smaller) stays near 1. Before the fixes it read 3 to 80.
struct Pathological {
    name: &'static str,
    /// The item counted (`n` in the table).
    unit: &'static str,
    /// Sizes: quick (CI) and full.
    sizes: ([usize; 2], [usize; 2]),
    generate: fn(usize) -> String,
    /// Also run `fmt` on it.
    fmt: bool,
}

const PATHOLOGICAL: &[Pathological] = &[
    Pathological {
        name: "if nested to the limit",
        unit: "levels",
        sizes: ([netpol::syntax::MAX_NESTING - 1; 2], [netpol::syntax::MAX_NESTING - 1; 2]),
        generate: |n| {
            format!(
                "param p: bool = true\nnamespace n {{\nworkload w {{ app: w }}\n{}w accepts tcp 80 from anywhere\n{}}}\n",
                "if p {\n".repeat(n),
                "}\n".repeat(n)
            )
        },
        fmt: true,
    },
    Pathological {
        name: "else-if chain",
        unit: "branches",
        sizes: ([1_000, 10_000], [10_000, 100_000]),
        generate: |n| {
            let mut s = String::from("param p: int = 3\nnamespace n\nworkload w { app: w }\nif p == 0 {\n  w accepts tcp 1 from anywhere\n}");
            for i in 1..n {
                s.push_str(&format!(
                    " else if p == {i} {{\n  w accepts tcp {} from anywhere\n}}",
                    i % 65535 + 1
                ));
            }
            s.push_str(" else {\n  w accepts tcp 9 from anywhere\n}\nw connects to kube-dns\n");
            s
        },
        fmt: true,
    },
    Pathological {
        name: "group chain g1 = g0, g2 = g1, ...",
        unit: "groups",
        sizes: ([1_000, 10_000], [10_000, 100_000]),
        generate: |n| {
            let mut s = String::from("namespace n\nworkload w { app: w }\ngroup g0 = w\n");
            for i in 1..n {
                s.push_str(&format!("group g{i} = g{}\n", i - 1));
            }
            s.push_str(&format!("w accepts tcp 80 from g{0}\ng{0} connects to w, kube-dns\n", n - 1));
            s
        },
        fmt: false,
    },
    Pathological {
        name: "groups doubling at each level, in an edge",
        unit: "levels",
        sizes: ([24, 240], [24, 240]),
        generate: |n| {
            let mut s =
                String::from("namespace n\nworkload w { app: w }\nworkload v { app: v }\ngroup g0 = w, v\n");
            for i in 1..n {
                s.push_str(&format!("group g{i} = g{0}, g{0}\n", i - 1));
            }
            s.push_str(&format!("g{0} -> g{0} on tcp 80\ng{0} connects to kube-dns\n", n - 1));
            s
        },
        fmt: false,
    },
    Pathological {
        name: "except list",
        unit: "exceptions",
        sizes: ([1_000, 10_000], [6_500, 65_000]),
        generate: |n| {
            let list: Vec<String> =
                (0..n).map(|i| format!("10.{}.{}.0/24", (i >> 8) & 255, i & 255)).collect();
            format!(
                "namespace n\nworkload w {{ app: w }}\nw connects to kube-dns\nw connects to 10.0.0.0/8 except (\n{}\n)\n",
                list.join(",\n")
            )
        },
        fmt: false,
    },
    Pathological {
        name: "overlapping networks, one port each",
        unit: "networks",
        sizes: ([1_000, 5_000], [2_000, 20_000]),
        generate: |n| {
            // Networks of every length from /8 to /24 inside 10.0.0.0/8, from a fixed seed.
            let mut state: u64 = SEED;
            let mut next = || {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (state >> 33) as u32
            };
            // The rules go to workloads of 2,000 each, all selecting the same pods: every pod
            // still gets every network, and no NetworkPolicy outgrows the 256 KiB the API
            // server takes in annotations (E0304).
            let mut s = String::from("namespace n\n");
            for k in 0..n.div_ceil(2_000) {
                s.push_str(&format!("workload w{k} {{ app: w }}\nw{k} connects to kube-dns\n"));
            }
            for i in 0..n {
                let len = 8 + next() % 17;
                let addr = (10u32 << 24) | (next() & 0x00ff_ffff);
                let net = ipnet::Ipv4Net::new(addr.into(), len as u8).expect("prefix").trunc();
                s.push_str(&format!("w{} connects to {net} on tcp {}\n", i / 2_000, i % 65535 + 1));
            }
            s
        },
        fmt: false,
    },
    Pathological {
        name: "workloads that can share pods, apps x teams",
        unit: "workloads",
        sizes: ([1_000, 5_000], [2_000, 20_000]),
        generate: |n| {
            // Half select by `app`, half by `team`: every app can share a pod with every team,
            // (n/2)^2 pairs, of which the universe takes one pod per workload (W0210).
            let mut s = String::from("namespace n\n");
            for i in 0..n {
                let key = if i % 2 == 0 { "app" } else { "team" };
                s.push_str(&format!("workload w{i} {{ {key}: w{i} }}\n"));
            }
            s.push_str("w0 connects to kube-dns\n");
            s
        },
        fmt: false,
    },
];

/// Compiles (Kubernetes, and YAML), and formats where asked; the best of `RUNS` runs.
fn time_pathological(p: &Pathological, n: usize) -> Result<Duration, String> {
    let text = (p.generate)(n);
    let loader = Mem(HashMap::from([(FILE.to_string(), text.clone())]));
    let options = Options { overrides: vec![], targets: vec![Target::Kubernetes], ..Options::default() };
    let paths = [FILE.to_string()];
    let mut best = Duration::MAX;
    for _ in 0..RUNS {
        let start = Instant::now();
        let c = compile(&paths, &loader, &options);
        if let Some(d) = c.diagnostics.iter().find(|d| d.is_error()) {
            return Err(describe(&c, d));
        }
        let yaml: usize = c.outputs.iter().map(|(_, objects)| netpol::yaml::stream(objects).len()).sum();
        if yaml == 0 {
            return Err("no output".into());
        }
        if p.fmt {
            netpol::fmt::format_source(&text).map_err(|d| format!("fmt: {}", d[0].message))?;
        }
        best = best.min(start.elapsed());
    }
    Ok(best)
}

fn pathological(quick: bool) -> Result<(), String> {
    println!();
    println!("pathological inputs: compile (+ fmt where marked), best of {RUNS}; growth = time per item at the larger size / at the smaller");
    println!("{:<44} {:>16} {:>10} {:>10} {:>10} {:>7}", "input", "n", "ms", "n'", "ms", "growth");
    for p in PATHOLOGICAL {
        let [small, large] = if quick { p.sizes.0 } else { p.sizes.1 };
        let (a, b) = (time_pathological(p, small)?, time_pathological(p, large)?);
        let growth = (ms(b) / large as f64) / (ms(a) / small as f64);
        let name = format!("{}{}", p.name, if p.fmt { " (+fmt)" } else { "" });
        println!(
            "{name:<44} {:>16} {:>10.1} {:>10} {:>10.1} {:>7}",
            format!("{small} {}", p.unit),
            ms(a),
            large,
            ms(b),
            if small == large { "-".to_string() } else { format!("{growth:.1}") }
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    netpol::alloc::tune();
    // `cargo bench` passes `--bench`; any other argument but `--quick` is ignored too.
    let quick = std::env::args().any(|a| a == "--quick")
        || std::env::var(QUICK_VAR).is_ok_and(|v| !v.is_empty() && v != "0");

    if let Ok(size) = std::env::var(SIZE_VAR) {
        let Ok(workloads) = size.trim().parse::<usize>() else {
            eprintln!("{SIZE_VAR}={size}: not a number of workloads");
            return ExitCode::FAILURE;
        };
        if let Some(path) = std::env::var_os(SOURCE_VAR) {
            // The program alone, to measure the `netpol` binary on it.
            let text = generate(workloads, namespaces_for(workloads), SEED);
            if let Err(e) = std::fs::write(&path, text) {
                eprintln!("{SOURCE_VAR}: cannot write {}: {e}", std::path::Path::new(&path).display());
                return ExitCode::FAILURE;
            }
            return ExitCode::SUCCESS;
        }
        if std::env::var_os("NETPOL_BENCH_STAGES").is_some() {
            stages(workloads);
        }
        return match measure(workloads) {
            Ok(m) => {
                println!("{}", m.to_line());
                eprintln!(
                    "  {workloads} workloads: best {:.1} ms, median {:.1} ms, peak {}",
                    ms(m.best),
                    ms(m.median),
                    m.peak_kib.map_or("n/a".to_string(), |k| format!("{:.1} MB", mb(k)))
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("generated program for {workloads} workloads does not compile: {e}");
                ExitCode::FAILURE
            }
        };
    }

    let sizes: &[usize] = if quick { &SIZES[..1] } else { &SIZES };
    println!("netpol compile benchmark: compile + yaml::stream of each target in turn, best and median of {RUNS} runs, one process per size");
    let mut results = Vec::new();
    for &workloads in sizes {
        eprintln!("measuring {workloads} workloads ...");
        match measure_in_child(workloads) {
            Ok(m) => results.push(m),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
    }

    println!();
    println!(
        "{:>9} {:>5} {:>7} {:>10} {:>11} {:>5} {:>9} {:>9} {:>10} {:>9}",
        "workloads",
        "ns",
        "rules",
        "in bytes",
        "out bytes",
        "warn",
        "best ms",
        "median ms",
        "ms/1k wl",
        "peak MB"
    );
    for m in &results {
        println!(
            "{:>9} {:>5} {:>7} {:>10} {:>11} {:>5} {:>9.1} {:>9.1} {:>10.1} {:>9}",
            m.workloads,
            m.namespaces,
            m.rules,
            m.in_bytes,
            m.out_bytes,
            m.warnings,
            ms(m.best),
            ms(m.median),
            ms(m.best) / (m.workloads as f64 / 1000.0),
            m.peak_kib.map_or("n/a".to_string(), |k| format!("{:.1}", mb(k)))
        );
    }
    println!();
    if let Err(e) = pathological(quick) {
        eprintln!("a pathological input does not compile: {e}");
        return ExitCode::FAILURE;
    }
    println!();
    let largest = SIZES[SIZES.len() - 1];
    if quick {
        // A smoke run on a busy CI machine: it shows the numbers and checks that the work is
        // right, but it does not judge the timings.
        println!("smoke run: timings not judged against the target ({largest} workloads < {TARGET_MS:.0} ms, peak < {TARGET_MB:.0} MB); run without {QUICK_VAR} to judge them");
        return ExitCode::SUCCESS;
    }
    println!("target: {largest} workloads < {TARGET_MS:.0} ms, peak < {TARGET_MB:.0} MB");
    println!("(smaller sizes: the time budget scaled linearly, the same peak limit; informational only)");
    for m in &results {
        let scale = m.workloads as f64 / largest as f64;
        let time_ok = ms(m.best) < TARGET_MS * scale;
        let mem_ok = m.peak_kib.is_some_and(|k| mb(k) < TARGET_MB);
        println!(
            "  {:>5} workloads: {} (time {:.1} ms vs {:.0} ms, peak {} vs {TARGET_MB:.0} MB)",
            m.workloads,
            if time_ok && mem_ok { "PASS" } else { "FAIL" },
            ms(m.best),
            TARGET_MS * scale,
            m.peak_kib.map_or("n/a".to_string(), |k| format!("{:.1} MB", mb(k))),
        );
    }
    ExitCode::SUCCESS
}
