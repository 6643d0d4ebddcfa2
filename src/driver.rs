//! The pipeline, end to end: load → parse → resolve → check → analyze → emit. The library
//! does no IO itself; files come through a [`Loader`] the caller provides.

use crate::analysis::expect::check_expects;
use crate::backend::{EmitContext, Object, Target, Versions};
use crate::diagnostic::{self, Diagnostic};
use crate::resolve::{self, Override};
use crate::span::{FileId, SourceMap, Span, Spanned};
use crate::syntax::{self, ast};
use std::collections::HashSet;

/// Where source files come from.
pub trait Loader {
    /// The text of the file at `path`.
    fn load(&self, path: &str) -> Result<String, String>;
    /// The path of `import` written in the file at `from`.
    fn join(&self, from: &str, import: &str) -> String;
    /// A key identifying the file, to load each file once.
    fn key(&self, path: &str) -> String {
        path.to_string()
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
    let resolved = resolve::resolve(&c.sources, &files, &overrides);
    drop(files); // the IR owns everything later stages need; the syntax tree can go
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
    c.diagnostics.extend(crate::check::check(&resolved));
    c.diagnostics.extend(check_expects(&resolved.program).iter().map(|f| f.to_diagnostic()));
    if c.has_errors() {
        c.program = Some(resolved.program);
        return finish(c);
    }
    let sources = &c.sources;
    let locate = |span: Span| format!("{}:{}", sources.name(span.file), sources.start_of(span).line);
    let cx = EmitContext { locate: &locate, versions: options.versions };
    let mut outputs = Vec::new();
    let mut errors = Vec::new();
    for target in &options.targets {
        match target.backend().emit(&resolved.program, &cx) {
            Ok(objects) => outputs.push((*target, objects)),
            Err(e) => errors.extend(e.iter().map(|e| e.to_diagnostic())),
        }
    }
    c.diagnostics.extend(errors);
    if !c.has_errors() {
        let (diagnostics, read_back) =
            check_target_expects(&resolved.program, &c.sources, &outputs, options.keep_read_back);
        c.diagnostics.extend(diagnostics);
        if options.keep_read_back {
            c.read_back = read_back;
        }
    }
    if !c.has_errors() {
        c.outputs = outputs;
    }
    c.program = Some(resolved.program);
    finish(c)
}

/// The `expect`s of the program, against each target's reading of its own manifests. They
/// already hold in the source; a failure here means a target cannot keep what the source says.
fn check_target_expects(
    program: &crate::ir::Program,
    sources: &SourceMap,
    outputs: &[(Target, Vec<Object>)],
    keep: bool,
) -> (Vec<Diagnostic>, Vec<(Target, Vec<serde_json::Value>)>) {
    use crate::analysis::{side::Origin, targets, universe::Universe};
    if program.expects.is_empty() || outputs.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let u = Universe::new(program);
    let locate = |o: &Origin| match o {
        Origin::Source(s) => Some(*s),
        Origin::Manifest { source, .. } => source.as_deref().and_then(|l| sources.locate(l)),
    };
    let mut out = Vec::new();
    let mut read_back = Vec::new();
    for (target, objects) in outputs {
        // Kept, the objects are parsed once here; else each reader's worker parses and frees
        // its own.
        let bodies = keep.then(|| targets::bodies(objects));
        let reading = match &bodies {
            Some(b) => targets::read(*target, b, &u),
            None => targets::read(*target, objects, &u),
        };
        let failures =
            crate::analysis::expect::check(program, &u, &*reading.semantics, Some(*target), &locate);
        out.extend(failures.iter().map(|f| f.to_diagnostic()));
        drop(reading);
        read_back.extend(bodies.map(|b| (*target, b)));
    }
    (out, read_back)
}

fn finish(mut c: Compilation) -> Compilation {
    diagnostic::sort(&mut c.diagnostics);
    c.diagnostics.dedup();
    c
}

/// Loads and parses every input and, depth first, every file it imports, once each.
fn load_all(paths: &[String], loader: &dyn Loader, c: &mut Compilation) -> Vec<(FileId, ast::File)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut stack: Vec<(String, Option<Spanned<String>>)> =
        paths.iter().rev().map(|p| (p.clone(), None)).collect();
    while let Some((path, imported_at)) = stack.pop() {
        if !seen.insert(loader.key(&path)) {
            continue;
        }
        let text = match loader.load(&path) {
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
        let file = c.sources.add(path.clone(), text);
        match syntax::parse(file, c.sources.text(file)) {
            Ok(ast) => {
                for item in ast.items.iter().rev() {
                    if let ast::Item::Import(i) = item {
                        stack.push((loader.join(&path, &i.value), Some(i.clone())));
                    }
                }
                out.push((file, ast));
            }
            Err(errors) => c.diagnostics.extend(errors.iter().map(|e| e.to_diagnostic())),
        }
    }
    out
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
