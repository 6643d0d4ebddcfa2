//! The pipeline, end to end: load → parse → resolve → check → analyze → emit. The library
//! does no IO itself; files come through a [`Loader`] the caller provides.

use crate::analysis::expect::check_expects;
use crate::backend::{EmitContext, Object, Target, Versions};
use crate::diagnostic::{self, Diagnostic};
use crate::resolve::{self, Override};
use crate::span::{FileId, SourceMap, Span, Spanned};
use crate::syntax::{self, ast};
use std::collections::HashSet;

/// Where source files come from. Shared by the threads that read and parse the files named on
/// the command line side by side.
pub trait Loader: Sync {
    /// The text of the file at `path`.
    fn load(&self, path: &str) -> Result<String, String>;
    /// The path of `import` written in the file at `from`.
    fn join(&self, from: &str, import: &str) -> String;
    /// A key identifying the file, to load each file once.
    fn key(&self, path: &str) -> String {
        path.to_string()
    }
    /// Whether the file at `path` is known to be netpol source, so that its text may be quoted
    /// in diagnostics. When a file that is not does not parse, the compile says so in one
    /// diagnostic that shows none of it: an `import "/etc/shadow"` must not print the file's
    /// first line. The file system's loader says yes for names ending in `.netpol`.
    fn is_source(&self, _path: &str) -> bool {
        true
    }
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--set name=value`, in command-line order.
    pub overrides: Vec<(String, String)>,
    /// Targets to emit; empty to stop after the checks.
    pub targets: Vec<Target>,
    /// The CNI releases the output must work on.
    pub versions: Versions,
    /// Questions about the program, as `expect` lines (`netpol why`): resolved like the program's
    /// own, but returned in [`Compilation::queries`] instead of being asserted.
    pub queries: Vec<String>,
    /// Keep the manifests read back from their YAML for `expect` in [`Compilation::read_back`],
    /// so an analysis after the compile does not parse them again.
    pub keep_read_back: bool,
    /// Leave the program's `expect`s unchecked: they are about other policies (manifests
    /// netpol did not write, `crate::world::expects`), not about the program's rules.
    pub expects_elsewhere: bool,
}

/// Everything one run produced. `outputs` is empty unless there are no errors.
pub struct Compilation {
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
    pub outputs: Vec<(Target, Vec<Object>)>,
    /// The checked program, when resolving succeeded (for the analyses: verify, why, matrix).
    pub program: Option<crate::ir::Program>,
    /// The resolved [`Options::queries`].
    pub queries: Vec<crate::ir::Expect>,
    /// Each target's objects as read back from their YAML, in `outputs` order, when
    /// [`Options::keep_read_back`] asked for them and the `expect`s needed them.
    pub read_back: Vec<(Target, Vec<serde_json::Value>)>,
}

impl Compilation {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Compiles the files at `paths` (and what they import).
pub fn compile(paths: &[String], loader: &dyn Loader, options: &Options) -> Compilation {
    compile_with_syntax(paths, loader, options, &mut |_, _, _| {})
}

/// [`compile`], handing each file that parsed to `syntax` before the syntax trees are dropped
/// (the language server indexes names and their uses from them, without parsing again).
pub fn compile_with_syntax(
    paths: &[String],
    loader: &dyn Loader,
    options: &Options,
    syntax: &mut dyn FnMut(&SourceMap, FileId, &ast::File),
) -> Compilation {
    let mut outputs = Vec::new();
    let mut c = run(paths, loader, options, syntax, &mut |target, objects| outputs.push((target, objects)));
    if !c.has_errors() {
        c.outputs = outputs;
    }
    c
}

/// [`compile`], handing each target's objects to `sink` as soon as they are emitted and their
/// `expect`s checked, so a caller that writes them out never holds every target's documents
/// at once. [`Compilation::outputs`] stays empty.
///
/// Objects reach `sink` only while the run has no error, but a later target can still fail:
/// when the returned compilation has errors, whatever `sink` got must be thrown away.
pub fn compile_into(
    paths: &[String],
    loader: &dyn Loader,
    options: &Options,
    sink: &mut dyn FnMut(Target, Vec<Object>),
) -> Compilation {
    run(paths, loader, options, &mut |_, _, _| {}, sink)
}

fn run(
    paths: &[String],
    loader: &dyn Loader,
    options: &Options,
    syntax: &mut dyn FnMut(&SourceMap, FileId, &ast::File),
    sink: &mut dyn FnMut(Target, Vec<Object>),
) -> Compilation {
    let mut c = Compilation {
        sources: SourceMap::new(),
        diagnostics: Vec::new(),
        outputs: Vec::new(),
        program: None,
        queries: Vec::new(),
        read_back: Vec::new(),
    };
    let mut files = load_all(paths, loader, &mut c);
    files.iter().for_each(|(file, ast)| syntax(&c.sources, *file, ast));
    let query_file = (!options.queries.is_empty()).then(|| {
        let text: String = options.queries.iter().map(|q| format!("{q}\n")).collect();
        c.sources.add("<query>", text)
    });
    if let Some(file) = query_file {
        match syntax::parse(file, c.sources.text(file)) {
            Ok(ast) => files.push((file, ast)),
            Err(errors) => c.diagnostics.extend(errors.iter().map(|e| e.to_diagnostic())),
        }
    }
    if c.has_errors() {
        return finish(c);
    }
    let overrides = overrides(&options.overrides, &mut c.sources);
    let resolved = resolve::resolve_with_questions(&c.sources, &files, &overrides, query_file);
    let mut resolved = match resolved {
        Ok(r) => r,
        Err(errors) => {
            c.diagnostics.extend(errors.iter().map(|e| e.to_diagnostic()));
            return finish(c);
        }
    };
    if let Some(file) = query_file {
        let (queries, expects) = std::mem::take(&mut resolved.program.expects)
            .into_iter()
            .partition(|e: &crate::ir::Expect| e.origin.file == file);
        resolved.program.expects = expects;
        c.queries = queries;
    }
    // The IR owns everything later stages need. The syntax tree is freed beside the checks
    // (tens of MB in small pieces for a large program, 7–15 ms), or before them on one thread.
    let ((), checked) = crate::par::join(move || drop(files), || crate::check::check(&resolved));
    c.diagnostics.extend(checked);
    if !options.expects_elsewhere {
        c.diagnostics.extend(check_expects(&resolved.program).iter().map(|f| f.to_diagnostic()));
    }
    if c.has_errors() {
        c.program = Some(resolved.program);
        return finish(c);
    }
    let sources = &c.sources;
    let locate = |span: Span| format!("{}:{}", sources.name(span.file), sources.line_of(span));
    let cx = EmitContext { locate: &locate, versions: options.versions };
    // Every target is emitted, so one run reports every target's errors. A target's `expect`
    // failures count only when every target emitted (as they always have), so they wait.
    let mut emit_errors = Vec::new();
    let mut expect_failures = Vec::new();
    let mut read_back = Vec::new();
    let mut expects = TargetExpects::new(&resolved.program, &c.sources, options.keep_read_back);
    for target in &options.targets {
        match target.backend().emit(&resolved.program, &cx) {
            Ok(objects) if emit_errors.is_empty() => {
                let (failures, bodies) = expects.check(*target, &objects);
                let failed = failures.iter().any(Diagnostic::is_error);
                expect_failures.extend(failures);
                read_back.extend(bodies.map(|b| (*target, b)));
                if !failed && !expect_failures.iter().any(Diagnostic::is_error) {
                    sink(*target, objects);
                }
            }
            Ok(_) => {}
            Err(e) => emit_errors.extend(e.iter().map(|e| e.to_diagnostic())),
        }
    }
    if emit_errors.is_empty() {
        c.diagnostics.extend(expect_failures);
        if options.keep_read_back {
            c.read_back = read_back;
        }
    }
    c.diagnostics.extend(emit_errors);
    c.program = Some(resolved.program);
    finish(c)
}

/// The `expect`s of the program, against each target's reading of its own manifests. They
/// already hold in the source; a failure here means a target cannot keep what the source says.
struct TargetExpects<'a> {
    program: &'a crate::ir::Program,
    sources: &'a SourceMap,
    /// Keep each target's objects as read back (parsed once, here).
    keep: bool,
    /// The points, built for the first target that needs them.
    universe: Option<crate::analysis::universe::Universe>,
}

impl<'a> TargetExpects<'a> {
    fn new(program: &'a crate::ir::Program, sources: &'a SourceMap, keep: bool) -> Self {
        TargetExpects { program, sources, keep, universe: None }
    }

    /// The failures of `target`, and its objects read back when kept.
    fn check(
        &mut self,
        target: Target,
        objects: &[Object],
    ) -> (Vec<Diagnostic>, Option<Vec<serde_json::Value>>) {
        use crate::analysis::{side::Origin, targets, universe::Universe};
        if self.program.expects.is_empty() {
            return (Vec::new(), None);
        }
        let u = self.universe.get_or_insert_with(|| Universe::new(self.program));
        let sources = self.sources;
        let locate = |o: &Origin| match o {
            Origin::Source(s) => Some(*s),
            Origin::Manifest { source, .. } => source.as_deref().and_then(|l| sources.locate(l)),
        };
        // Kept, the objects are parsed once here; else each reader's worker parses and frees
        // its own.
        let bodies = self.keep.then(|| targets::bodies(objects));
        let reading = match &bodies {
            Some(b) => targets::read(target, b, u),
            None => targets::read(target, objects, u),
        };
        let failures =
            crate::analysis::expect::check(self.program, u, &*reading.semantics, Some(target), &locate);
        (failures.iter().map(|f| f.to_diagnostic()).collect(), bodies)
    }
}

/// Sorts the diagnostics and applies the `# netpol: allow` comments ([`crate::allow`]); an allow
/// that matched nothing is reported only when the checks ran (the program resolved).
fn finish(mut c: Compilation) -> Compilation {
    crate::allow::apply(&c.sources, &mut c.diagnostics, c.program.is_some());
    diagnostic::sort(&mut c.diagnostics);
    c.diagnostics.dedup();
    c
}

/// Loads and parses every input and, depth first, every file it imports, once each.
fn load_all(paths: &[String], loader: &dyn Loader, c: &mut Compilation) -> Vec<(FileId, ast::File)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut early = read_ahead(paths, loader, c.sources.len());
    let mut stack: Vec<(String, Option<Spanned<String>>, Option<usize>)> =
        paths.iter().enumerate().rev().map(|(i, p)| (p.clone(), None, Some(i))).collect();
    while let Some((path, imported_at, given)) = stack.pop() {
        if !seen.insert(loader.key(&path)) {
            continue;
        }
        let read = given.and_then(|i| early.get_mut(i).and_then(Option::take));
        let (loaded, parsed_early) = match read {
            Some(ReadAhead { text, parsed }) => (text, parsed),
            None => (loader.load(&path), None),
        };
        let text = match loaded {
            Ok(t) => t,
            Err(why) => {
                if let Some(at) = imported_at {
                    c.diagnostics.push(
                        Diagnostic::error(
                            "E0007",
                            format!("cannot read imported file `{}`", at.value),
                            at.span,
                            why,
                        )
                        .with_help("import paths are relative to the importing file"),
                    );
                } else {
                    let file = c.sources.add(path.clone(), String::new());
                    c.diagnostics.push(
                        Diagnostic::error(
                            "E0007",
                            format!("cannot read `{path}`"),
                            Span::new(file, 0, 0),
                            why,
                        )
                        .with_help("check the path"),
                    );
                }
                continue;
            }
        };
        // The id the file gets when added, so that it is added only once its text may be kept.
        let file = FileId(c.sources.len() as u32);
        let parsed = match parsed_early {
            Some((id, parsed)) if id == file => parsed,
            _ => syntax::parse(file, &text),
        };
        if parsed.is_err() && !loader.is_source(&path) {
            // Kept empty, so no later stage (the language server's index) reads it again.
            let file = c.sources.add(path.clone(), String::new());
            c.diagnostics.push(not_source(&path, imported_at, file));
            continue;
        }
        let added = c.sources.add(path.clone(), text);
        debug_assert_eq!(added, file);
        match parsed {
            Ok(ast) => {
                for item in ast.items.iter().rev() {
                    if let ast::Item::Import(i) = item {
                        stack.push((loader.join(&path, &i.value), Some(i.clone()), None));
                    }
                }
                out.push((file, ast));
            }
            Err(errors) => c.diagnostics.extend(errors.iter().map(|e| e.to_diagnostic())),
        }
    }
    out
}

/// A file named on the command line, read and parsed ahead ([`read_ahead`]).
struct ReadAhead {
    text: Result<String, String>,
    /// The parse, and the id it was parsed as; `None` where it could not be read.
    parsed: Option<(FileId, Result<ast::File, Vec<syntax::SyntaxError>>)>,
}

/// The files named on the command line, read and parsed on every core before they are walked
/// in order. Each is parsed as the id it gets when no file before it imports another or is
/// named twice (the id after the `first` already taken, in order); [`load_all`] uses a parse
/// only where the file gets that id, and parses again where it does not, so the result is the
/// one of reading the files one by one.
fn read_ahead(paths: &[String], loader: &dyn Loader, first: usize) -> Vec<Option<ReadAhead>> {
    if paths.len() < 2 || crate::par::threads() < 2 {
        return Vec::new();
    }
    crate::par::blocks(paths.len(), 2, |range| {
        range
            .map(|i| {
                let text = loader.load(&paths[i]);
                let file = FileId((first + i) as u32);
                let parsed = text.as_ref().ok().map(|t| (file, syntax::parse(file, t)));
                Some(ReadAhead { text, parsed })
            })
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect()
}

/// A file that is not netpol source by name and does not parse: said without quoting it.
fn not_source(path: &str, imported_at: Option<Spanned<String>>, file: FileId) -> Diagnostic {
    let label = "it does not parse, and its name does not end in `.netpol`";
    match imported_at {
        Some(at) => Diagnostic::error(
            "E0007",
            format!("imported file `{}` is not netpol source", at.value),
            at.span,
            label,
        )
        .with_help("import `.netpol` files; netpol shows nothing of a file that is not netpol source"),
        None => {
            Diagnostic::error("E0007", format!("`{path}` is not netpol source"), Span::new(file, 0, 0), label)
                .with_help("pass `.netpol` files; netpol shows nothing of a file that is not netpol source")
        }
    }
}

/// `--set` values as spans into a virtual `<command line>` file, so their errors render like
/// any other.
fn overrides(pairs: &[(String, String)], sources: &mut SourceMap) -> Vec<Override> {
    if pairs.is_empty() {
        return Vec::new();
    }
    let mut text = String::new();
    let mut spans = Vec::new();
    for (name, value) in pairs {
        let start = text.len() + "--set ".len();
        text.push_str(&format!("--set {name}={value}\n"));
        spans.push((start, start + name.len(), start + name.len() + 1 + value.len()));
    }
    let file = sources.add("<command line>", text);
    pairs
        .iter()
        .zip(spans)
        .map(|((name, value), (s, m, e))| Override {
            name: Spanned::new(name.clone(), Span::new(file, s, m)),
            value: Spanned::new(value.clone(), Span::new(file, m + 1, e)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files in memory; netpol source by name, as the file system's loader says.
    struct Files(&'static [(&'static str, &'static str)]);

    impl Loader for Files {
        fn load(&self, path: &str) -> Result<String, String> {
            self.0
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, t)| t.to_string())
                .ok_or_else(|| "no such file".into())
        }
        fn join(&self, _from: &str, import: &str) -> String {
            import.to_string()
        }
        fn is_source(&self, path: &str) -> bool {
            path.ends_with(".netpol")
        }
    }

    const SECRET: &str = "hunter2-s3cr3t";

    /// Files named on the command line are read and parsed ahead, each as the id it gets when
    /// nothing before it imports a file; where an import (or a file named twice, or one that
    /// cannot be read) moves the ids, the walk in order still numbers them, and every span points
    /// into its own file.
    #[test]
    fn files_read_ahead_keep_the_ids_and_spans_of_reading_them_in_order() {
        let files = Files(&[
            ("a.netpol", "import \"lib.netpol\"\nnamespace a\nworkload web { app: web }\nweb accepts tcp 80 from nobody-a\n"),
            ("lib.netpol", "namespace lib\nworkload db { app: db }\ndb accepts tcp 80 from nobody-lib\n"),
            ("b.netpol", "namespace b\nworkload api { app: api }\napi accepts tcp 80 from nobody-b\n"),
            ("c.netpol", "namespace c\nworkload x { app: x }\nx accepts tcp 80 from nobody-c\n"),
        ]);
        let names = |c: &Compilation| -> Vec<String> {
            (0..c.sources.len()).map(|f| c.sources.name(FileId(f as u32)).to_string()).collect()
        };
        let paths = ["b.netpol", "a.netpol", "missing.netpol", "c.netpol"].map(String::from);
        let c = compile(&paths, &files, &Options::default());
        assert_eq!(names(&c), ["b.netpol", "a.netpol", "lib.netpol", "missing.netpol", "c.netpol"]);
        assert!(c.diagnostics.iter().any(|d| d.code == "E0007" && d.message.contains("missing.netpol")));
        // A file named twice takes no id the second time.
        let paths = ["b.netpol", "b.netpol", "c.netpol"].map(String::from);
        let c = compile(&paths, &files, &Options::default());
        assert_eq!(names(&c), ["b.netpol", "c.netpol"]);
        let at: Vec<&str> = c
            .diagnostics
            .iter()
            .map(|d| &c.sources.text(d.primary.span.file)[d.primary.span.range()])
            .collect();
        assert_eq!(at, ["nobody-b", "nobody-c"]);
        let paths = ["b.netpol", "a.netpol", "c.netpol"].map(String::from);
        let c = compile(&paths, &files, &Options::default());
        assert_eq!(names(&c), ["b.netpol", "a.netpol", "lib.netpol", "c.netpol"]);
        // Each unknown name is reported in its own file, at its own text.
        let mut ports: Vec<(&str, &str)> = c
            .diagnostics
            .iter()
            .filter(|d| d.code != "E0007")
            .map(|d| {
                let span = d.primary.span;
                (c.sources.name(span.file), &c.sources.text(span.file)[span.range()])
            })
            .collect();
        ports.sort();
        assert_eq!(
            ports,
            [
                ("a.netpol", "nobody-a"),
                ("b.netpol", "nobody-b"),
                ("c.netpol", "nobody-c"),
                ("lib.netpol", "nobody-lib")
            ]
        );
    }

    #[test]
    fn a_file_that_is_not_source_and_does_not_parse_is_not_quoted() {
        let files = Files(&[
            ("main.netpol", "namespace shop\nimport \"secrets.env\"\nworkload web { app: web }\n"),
            ("secrets.env", "password hunter2-s3cr3t\n"),
            ("own.netpol", "password hunter2-s3cr3t\n"),
        ]);
        let c = compile(&["main.netpol".to_string()], &files, &Options::default());
        let codes: Vec<&str> = c.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["E0007"]);
        let d = &c.diagnostics[0];
        assert_eq!(d.message, "imported file `secrets.env` is not netpol source");
        assert_eq!(c.sources.name(d.primary.span.file), "main.netpol");
        let shown = format!("{d:?}");
        assert!(!shown.contains(SECRET), "{shown}");
        let kept: Vec<&str> = (0..c.sources.len()).map(|f| c.sources.text(FileId(f as u32))).collect();
        assert!(kept.iter().all(|t| !t.contains(SECRET)), "{kept:?}");
        // As a root, the same; a `.netpol` file with that text is quoted as any other.
        let c = compile(&["secrets.env".to_string()], &files, &Options::default());
        assert_eq!(c.diagnostics.len(), 1);
        assert_eq!(c.diagnostics[0].message, "`secrets.env` is not netpol source");
        let c = compile(&["own.netpol".to_string()], &files, &Options::default());
        assert!(c.diagnostics.iter().any(|d| d.code == "E0001" && d.message.contains(SECRET)));
    }

    /// `compile_into` reports what `compile` reports and hands over what `compile` keeps, one
    /// target at a time; a run that fails in a later target still reports as `compile` does.
    #[test]
    fn compile_into_hands_over_what_compile_keeps() {
        const GOOD: &str = "namespace shop\nworkload web { app: web }\nworkload db { app: db }\n\
                            web -> db on tcp 5432\nweb connects to kube-dns\nexpect web can reach db on tcp 5432\n";
        // Cilium emits; Kubernetes cannot say the deny (E0301).
        const LATER_FAILS: &str = "namespace shop\nworkload web { app: web }\nworkload db { app: db }\n\
                                   web -> db on tcp 5432\ndb refuses tcp 22 from web\n";
        for (text, targets) in
            [(GOOD, Target::ALL.to_vec()), (LATER_FAILS, vec![Target::Cilium, Target::Kubernetes])]
        {
            let files = Files(Box::leak(Box::new([("p.netpol", text)])));
            let options = Options { targets, ..Options::default() };
            let kept = compile(&["p.netpol".to_string()], &files, &options);
            let mut handed = Vec::new();
            let c = compile_into(&["p.netpol".to_string()], &files, &options, &mut |t, objects| {
                handed.push((t, objects.into_iter().map(|o| o.yaml).collect::<Vec<_>>()))
            });
            assert!(c.outputs.is_empty());
            assert_eq!(format!("{:?}", c.diagnostics), format!("{:?}", kept.diagnostics));
            if kept.has_errors() {
                assert!(kept.outputs.is_empty());
                assert_eq!(handed.iter().map(|(t, _)| *t).collect::<Vec<_>>(), [Target::Cilium]);
            } else {
                let kept: Vec<_> = kept
                    .outputs
                    .into_iter()
                    .map(|(t, o)| (t, o.into_iter().map(|o| o.yaml).collect()))
                    .collect();
                assert_eq!(kept.len(), 3);
                assert_eq!(handed, kept);
            }
        }
    }
}
