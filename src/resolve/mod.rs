//! Stage 2, `resolve`: AST → IR. Binds names to ids, applies parameters and `--set`
//! overrides, decides conditional blocks, expands groups and edges. Errors: E01xx.
//!
//! Passes: (1) parameters from every file, then overrides; (2) declarations, walking namespaces
//! and the branches conditions select; (3) statements, in source order (on every core for a
//! large program, joined so the program is the one a single walk builds: see
//! [`Resolver::statements`]).

mod error;
mod names;
mod params;
mod peers;
mod stmts;

pub use error::{Kind, ResolveError};
pub use names::{is_dns_pattern, is_port_name, label_key_problem, label_value_problem};
pub use params::Override;

use crate::ir::{self, NamespaceId, NamespaceSetId, Program, WorkloadId};
use crate::span::{FileId, SourceMap, Span};
use crate::syntax::ast;
use params::Param;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// A declaration nothing refers to (reported by the checker as W0204).
#[derive(Clone, Debug)]
pub struct Unused {
    pub kind: Kind,
    pub name: String,
    pub span: Span,
}

/// The resolved program and what resolve learned that only the checker reports.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub program: Program,
    pub unused: Vec<Unused>,
}

/// Resolves every parsed file of one compilation into one program.
pub fn resolve(
    sources: &SourceMap,
    files: &[(FileId, ast::File)],
    overrides: &[Override],
) -> Result<Resolved, Vec<ResolveError>> {
    resolve_with_questions(sources, files, overrides, None)
}

/// [`resolve`], where the `expect` lines of file `questions` are questions asked from outside
/// any namespace (`netpol why`): a bare name there means the workload of that name in whichever
/// namespace declares one, resolved as an `expect` line in that namespace resolves it; a name
/// several namespaces declare is an error that lists them.
pub fn resolve_with_questions(
    sources: &SourceMap,
    files: &[(FileId, ast::File)],
    overrides: &[Override],
    questions: Option<FileId>,
) -> Result<Resolved, Vec<ResolveError>> {
    // The names the files use, for W0204, are gathered beside the resolver's walk: they
    // depend on the syntax tree alone, and were a third of this stage on one thread.
    let (r, referenced) = crate::par::join(
        || {
            let mut r = Resolver::declarations(sources, files, overrides, questions);
            let stmts = std::mem::take(&mut r.stmts);
            r.statements(&stmts);
            r
        },
        || references(files),
    );
    if !r.errors.is_empty() {
        return Err(r.errors);
    }
    let unused = r.unused(&referenced);
    let mut program = r.program;
    program.index();
    Ok(Resolved { program, unused })
}

/// Declared names that are not workloads: one flat, program-wide scope.
#[derive(Clone)]
struct Global<'a> {
    kind: Kind,
    span: Span,
    group: Option<GroupDef<'a>>,
}

#[derive(Clone)]
struct GroupDef<'a> {
    namespace: Option<NamespaceId>,
    peers: &'a [ast::Peer],
    members: Members,
}

/// How far a group's expansion is ([`Resolver::group_members`]).
#[derive(Clone)]
enum Members {
    Pending,
    /// On the expansion stack now: meeting it again closes a cycle.
    Expanding,
    Done(Arc<[ir::Peer]>),
}

pub(crate) struct Resolver<'a> {
    sources: &'a SourceMap,
    errors: Vec<ResolveError>,
    program: Program,
    params: BTreeMap<String, Param>,
    reported_no_value: HashSet<String>,
    globals: HashMap<String, Global<'a>>,
    namespace_ids: HashMap<String, NamespaceId>,
    /// Shared with the forks of [`Resolver::statements`], which only read it.
    workload_ids: Arc<WorkloadNames>,
    namespace_set_ids: HashMap<String, NamespaceSetId>,
    stmts: Vec<(Option<NamespaceId>, &'a ast::Item)>,
    /// Unknown names reported so far (E0101): only the first [`SUGGESTIONS`] get a suggestion.
    unknown_names: usize,
    /// The file of questions (`netpol why`), see [`resolve_with_questions`].
    questions: Option<FileId>,
}

/// The declared workloads, by namespace and then by name: a statement's lookup borrows the name
/// it was written with instead of building an owned key (one allocation per workload named).
#[derive(Clone, Default)]
struct WorkloadNames(Vec<HashMap<String, WorkloadId>>);

impl WorkloadNames {
    fn get(&self, ns: NamespaceId, name: &str) -> Option<WorkloadId> {
        self.0.get(ns.index())?.get(name).copied()
    }

    fn insert(&mut self, ns: NamespaceId, name: String, id: WorkloadId) {
        if self.0.len() <= ns.index() {
            self.0.resize_with(ns.index() + 1, HashMap::new);
        }
        self.0[ns.index()].insert(name, id);
    }

    /// Every declared workload's namespace and name, namespace by namespace.
    fn iter(&self) -> impl Iterator<Item = (NamespaceId, &str)> {
        self.0
            .iter()
            .enumerate()
            .flat_map(|(ns, names)| names.keys().map(move |name| (NamespaceId(ns as u32), name.as_str())))
    }
}

/// How many unknown names get a "did you mean": each suggestion compares the name with every
/// declaration.
const SUGGESTIONS: usize = 64;

/// Statements a fork of [`Resolver::statements`] takes at least: fewer resolve faster on one
/// thread than the fork costs.
const FORK_STATEMENTS: usize = 4096;

/// A statement to resolve (pass 3), with the namespace it was written in.
type Statement<'a> = (Option<NamespaceId>, &'a ast::Item);

impl<'a> Resolver<'a> {
    /// Passes 1 and 2: the parameters and overrides, then the declarations; the statements
    /// are gathered in `stmts` for pass 3.
    fn declarations(
        sources: &'a SourceMap,
        files: &'a [(FileId, ast::File)],
        overrides: &[Override],
        questions: Option<FileId>,
    ) -> Self {
        let mut r = Resolver::new(sources);
        r.questions = questions;
        for (_, f) in files {
            for item in &f.items {
                if let ast::Item::Param(p) = item {
                    r.declare_param(p);
                }
            }
        }
        r.apply_overrides(overrides);
        for (_, f) in files {
            r.walk_file(&f.items);
        }
        r
    }

    fn new(sources: &'a SourceMap) -> Self {
        Resolver {
            sources,
            errors: Vec::new(),
            program: Program::default(),
            params: BTreeMap::new(),
            reported_no_value: HashSet::new(),
            globals: HashMap::new(),
            namespace_ids: HashMap::new(),
            workload_ids: Arc::default(),
            namespace_set_ids: HashMap::new(),
            stmts: Vec::new(),
            unknown_names: 0,
            questions: None,
        }
    }

    /// Pass 3: resolves the statements in order. A large program's statements are cut into one
    /// run per thread, and each run is resolved by a fork of the declarations
    /// ([`Resolver::fork`]); the forks' rules are joined in statement order, and the namespaces
    /// they met first are numbered in that order ([`Resolver::join`]), so the program is the
    /// one a single walk builds, on any number of threads. Where any fork reports an error,
    /// its work is dropped and the statements are resolved again on one thread, so the
    /// diagnostics (which name is the first unknown one, which group cycle is met first) are
    /// the sequential ones.
    fn statements(&mut self, stmts: &[Statement<'a>]) {
        let runs = crate::par::threads().min(stmts.len() / FORK_STATEMENTS);
        if runs > 1 && self.statements_forked(stmts, &even_ranges(stmts.len(), runs)) {
            return;
        }
        for &(ns, item) in stmts {
            self.statement(ns, item);
        }
    }

    /// [`Resolver::statements`] by forks, one per range of `stmts` (the ranges cover it in
    /// order), run on every core. False, with `self` untouched, where a fork met an error.
    fn statements_forked(&mut self, stmts: &[Statement<'a>], runs: &[std::ops::Range<usize>]) -> bool {
        let this = &*self;
        let forks = crate::par::chunks(runs.len(), 2, |range| {
            let mut forks = Vec::new();
            for run in &runs[range] {
                let mut fork = this.fork();
                for &(ns, item) in &stmts[run.clone()] {
                    fork.statement(ns, item);
                    if !fork.errors.is_empty() {
                        return None;
                    }
                }
                forks.push(fork);
            }
            Some(forks)
        });
        let Some(forks) = forks.into_iter().collect::<Option<Vec<_>>>() else { return false };
        let known = self.program.namespaces.len();
        let mut forks: Vec<Resolver<'a>> = forks.into_iter().flatten().collect();
        // The first fork's rules become the program's ([`Resolver::join`]): room for the others'.
        let rules: usize = forks.iter().map(|f| f.program.rules.len()).sum();
        if let Some(first) = forks.first_mut() {
            first.program.rules.reserve_exact(rules - first.program.rules.len());
        }
        for fork in forks {
            self.join(fork, known);
        }
        true
    }

    /// A resolver for a run of statements: the declarations of this one (parameters, names,
    /// groups, namespaces), and none of its statements' results. It does not hold the workloads
    /// themselves: statements look them up by name (`workload_ids`) and refer to them by id.
    fn fork(&self) -> Resolver<'a> {
        let mut program = Program::default();
        program.namespaces = self.program.namespaces.clone();
        Resolver {
            sources: self.sources,
            errors: Vec::new(),
            program,
            params: self.params.clone(),
            reported_no_value: self.reported_no_value.clone(),
            globals: self.globals.clone(),
            namespace_ids: self.namespace_ids.clone(),
            workload_ids: Arc::clone(&self.workload_ids),
            namespace_set_ids: self.namespace_set_ids.clone(),
            stmts: Vec::new(),
            unknown_names: self.unknown_names,
            questions: self.questions,
        }
    }

    /// Appends a fork's results. The namespaces it named first (past the `known` it was forked
    /// with) are numbered here, in the order the fork met them, and its peers renumbered: joined
    /// in statement order, each namespace gets the number a single walk gives it.
    fn join(&mut self, fork: Resolver<'a>, known: usize) {
        let new: Vec<NamespaceId> =
            fork.program.namespaces[known..].iter().map(|n| self.intern_namespace(&n.name, n.span)).collect();
        let renumber = |p: &mut ir::PeerRef| {
            if let ir::Peer::Namespace(id) = &mut p.peer {
                if let Some(i) = id.index().checked_sub(known) {
                    *id = new[i];
                }
            }
        };
        let mut p = fork.program;
        if !new.is_empty() {
            p.rules.iter_mut().for_each(|r| r.peers.iter_mut().for_each(renumber));
        }
        if self.program.rules.is_empty() {
            self.program.rules = p.rules;
        } else {
            self.program.rules.append(&mut p.rules);
        }
        // A default deny names the namespace it was written in, numbered in pass 2.
        self.program.isolations.extend(p.isolations);
        self.program.default_denies.extend(p.default_denies);
        self.program.expects.extend(p.expects.into_iter().map(|mut e| {
            renumber(&mut e.from);
            renumber(&mut e.to);
            e
        }));
    }

    fn text_of(&self, span: Span) -> String {
        self.sources.text(span.file).get(span.range()).unwrap_or("").to_string()
    }

    /// Pass 2 over one file: the namespace statement applies to the rest of its file.
    fn walk_file(&mut self, items: &'a [ast::Item]) {
        let mut ns = None;
        for item in items {
            match item {
                ast::Item::NamespaceStmt(name) => ns = self.namespace(name),
                ast::Item::Param(_) | ast::Item::Import(_) => {}
                _ => self.walk(item, ns),
            }
        }
    }

    fn walk(&mut self, item: &'a ast::Item, ns: Option<NamespaceId>) {
        match item {
            ast::Item::NamespaceBlock(b) => {
                let inner = self.namespace(&b.name);
                b.items.iter().for_each(|i| self.walk(i, inner));
            }
            ast::Item::If(b) => {
                // The first branch whose condition holds; a condition in error stops the
                // chain, and the conditions after a branch taken are not evaluated.
                let mut taken = &b.otherwise;
                for branch in &b.branches {
                    match self.condition(&branch.condition) {
                        Some(true) => {
                            taken = &branch.items;
                            break;
                        }
                        Some(false) => {}
                        None => return,
                    }
                }
                taken.iter().for_each(|i| self.walk(i, ns));
            }
            ast::Item::Workload(d) => self.declare_workload(d, ns),
            ast::Item::Namespaces(d) => self.declare_namespace_set(d),
            ast::Item::Group(g) => {
                if self.declare_global(&g.name, Kind::Group) {
                    let def = GroupDef { namespace: ns, peers: &g.peers, members: Members::Pending };
                    if let Some(global) = self.globals.get_mut(&g.name.name) {
                        global.group = Some(def);
                    }
                }
            }
            _ => self.stmts.push((ns, item)),
        }
    }

    /// Interns a namespace by name, validating it.
    fn namespace(&mut self, name: &ast::Ident) -> Option<NamespaceId> {
        if !names::is_dns1123_label(&name.name) {
            self.errors.push(ResolveError::BadName {
                name: name.name.clone(),
                kind: Kind::Namespace,
                span: name.span,
            });
            return None;
        }
        Some(self.intern_namespace(&name.name, name.span))
    }

    fn intern_namespace(&mut self, name: &str, span: Span) -> NamespaceId {
        if let Some(id) = self.namespace_ids.get(name) {
            return *id;
        }
        let id = NamespaceId(self.program.namespaces.len() as u32);
        self.program.namespaces.push(ir::Namespace { name: name.to_string(), span });
        self.namespace_ids.insert(name.to_string(), id);
        id
    }

    /// Registers a program-wide name; false (after reporting) if it is taken or reserved.
    fn declare_global(&mut self, name: &ast::Ident, kind: Kind) -> bool {
        if !self.check_declared_name(name, kind) {
            return false;
        }
        if let Some(first) = self.first_declaration(&name.name) {
            self.errors.push(ResolveError::Duplicate {
                name: name.name.clone(),
                kind,
                first,
                span: name.span,
            });
            return false;
        }
        self.globals.insert(name.name.clone(), Global { kind, span: name.span, group: None });
        true
    }

    fn first_declaration(&self, name: &str) -> Option<Span> {
        self.globals.get(name).map(|g| g.span).or_else(|| self.params.get(name).map(|p| p.span))
    }

    fn check_declared_name(&mut self, name: &ast::Ident, kind: Kind) -> bool {
        if RESERVED.contains(&name.name.as_str()) {
            self.errors.push(ResolveError::Reserved { name: name.name.clone(), span: name.span });
            return false;
        }
        if kind == Kind::Workload && !names::is_dns1123_label(&name.name) {
            self.errors.push(ResolveError::BadName { name: name.name.clone(), kind, span: name.span });
            return false;
        }
        true
    }

    fn declare_workload(&mut self, d: &ast::SelectorDecl, ns: Option<NamespaceId>) {
        let Some(ns) = ns else {
            self.errors.push(ResolveError::NoNamespace { what: "workload declared", span: d.span });
            return;
        };
        if !self.check_declared_name(&d.name, Kind::Workload) {
            return;
        }
        let first = self.workload_ids.get(ns, &d.name.name).map(|id| self.program.workload(id).span);
        if let Some(first) = first.or_else(|| self.first_declaration(&d.name.name)) {
            let name = d.name.name.clone();
            self.errors.push(ResolveError::Duplicate {
                name,
                kind: Kind::Workload,
                first,
                span: d.name.span,
            });
            return;
        }
        let selector = self.selector(&d.selector);
        let id = WorkloadId(self.program.workloads.len() as u32);
        self.program.workloads.push(ir::Workload {
            name: d.name.name.clone(),
            namespace: ns,
            selector,
            span: d.name.span,
        });
        Arc::make_mut(&mut self.workload_ids).insert(ns, d.name.name.clone(), id);
    }

    fn declare_namespace_set(&mut self, d: &ast::SelectorDecl) {
        if !self.declare_global(&d.name, Kind::NamespaceSet) {
            return;
        }
        let selector = self.selector(&d.selector);
        let id = NamespaceSetId(self.program.namespace_sets.len() as u32);
        self.program.namespace_sets.push(ir::NamespaceSet {
            name: d.name.name.clone(),
            selector,
            span: d.name.span,
        });
        self.namespace_set_ids.insert(d.name.name.clone(), id);
    }

    fn selector(&mut self, s: &ast::Selector) -> ir::LabelSelector {
        let mut out = ir::LabelSelector::default();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for term in &s.terms {
            let key = term.key();
            if let Some(why) = names::label_key_problem(&key.value) {
                self.errors.push(ResolveError::BadLabelKey { key: key.value.clone(), why, span: key.span });
            }
            if let Some(first) = seen.insert(&key.value, key.span) {
                self.errors.push(ResolveError::DuplicateLabelKey {
                    key: key.value.clone(),
                    first,
                    span: key.span,
                });
            }
            let (op, values) = match term {
                ast::SelTerm::Eq { value, .. } => {
                    self.check_label_value(value);
                    out.match_labels.insert(key.value.clone(), value.value.clone());
                    continue;
                }
                ast::SelTerm::In { values, .. } => (ir::LabelOp::In, values.as_slice()),
                ast::SelTerm::NotIn { values, .. } => (ir::LabelOp::NotIn, values.as_slice()),
                ast::SelTerm::Exists { .. } => (ir::LabelOp::Exists, &[][..]),
                ast::SelTerm::NotExists { .. } => (ir::LabelOp::DoesNotExist, &[][..]),
            };
            values.iter().for_each(|v| self.check_label_value(v));
            let mut values: Vec<String> = values.iter().map(|v| v.value.clone()).collect();
            values.sort();
            values.dedup();
            out.expressions.push(ir::LabelExpr { key: key.value.clone(), op, values });
        }
        out.expressions.sort();
        out
    }

    fn check_label_value(&mut self, v: &crate::span::Spanned<String>) {
        if let Some(why) = names::label_value_problem(&v.value) {
            self.errors.push(ResolveError::BadLabelValue { value: v.value.clone(), why, span: v.span });
        }
    }

    /// Declarations whose name is written nowhere else. Usage is textual and counts every
    /// branch of every `if`, so a name used only under a condition that is off is not unused.
    /// A workload counts as used by a reference in its own namespace (or qualified with it),
    /// or by one written outside any namespace.
    fn unused(&self, referenced: &References) -> Vec<Unused> {
        let mut out: Vec<Unused> = Vec::new();
        for w in &self.program.workloads {
            let ns = self.program.namespace(w.namespace).name.as_str();
            let name = w.name.as_str();
            if !referenced.scoped.contains(&(Some(ns), name)) && !referenced.scoped.contains(&(None, name)) {
                out.push(Unused { kind: Kind::Workload, name: w.name.clone(), span: w.span });
            }
        }
        for (name, g) in &self.globals {
            if !referenced.names.contains(name.as_str()) {
                out.push(Unused { kind: g.kind, name: name.clone(), span: g.span });
            }
        }
        out.sort_by_key(|u| u.span);
        out
    }
}

/// Every name a statement refers to (subjects, peers, port names, conditions), in all files
/// and all branches: by name alone, and with the namespace it is looked up in (`None` where
/// the text does not tell).
#[derive(Default)]
struct References<'a> {
    names: HashSet<&'a str>,
    scoped: HashSet<(Option<&'a str>, &'a str)>,
}

impl<'a> References<'a> {
    fn add(&mut self, ns: Option<&'a str>, r: &'a ast::NameRef) {
        self.names.insert(&r.name.name);
        self.scoped.insert((r.namespace.as_ref().map(|q| q.name.as_str()).or(ns), &r.name.name));
    }

    fn peers(&mut self, ns: Option<&'a str>, ps: &'a [ast::Peer]) {
        for p in ps {
            match p {
                ast::Peer::Name(r) => self.add(ns, r),
                ast::Peer::In(w) => {
                    self.add(ns, &w.workload);
                    self.names.insert(&w.namespaces.name);
                }
                _ => {}
            }
        }
    }

    fn ports(&mut self, spec: &'a Option<ast::PortSpec>) {
        for g in spec.iter().flat_map(|s| &s.groups) {
            for item in &g.ports {
                if let ast::PortItem::Name(id) = item {
                    self.names.insert(&id.name);
                }
            }
        }
    }

    /// `ns`: the namespace of the enclosing block or the last `namespace` statement.
    fn items(&mut self, mut ns: Option<&'a str>, list: &'a [ast::Item]) {
        for item in list {
            match item {
                ast::Item::NamespaceStmt(n) => ns = Some(&n.name),
                ast::Item::NamespaceBlock(b) => self.items(Some(&b.name.name), &b.items),
                ast::Item::If(b) => {
                    for branch in &b.branches {
                        self.names.insert(&branch.condition.param.name);
                        self.items(ns, &branch.items);
                    }
                    self.items(ns, &b.otherwise);
                }
                ast::Item::Group(g) => self.peers(ns, &g.peers),
                ast::Item::Rule(r) => {
                    self.add(ns, &r.subject);
                    match &r.body {
                        ast::RuleBody::Accepts { ports: p, peers: ps }
                        | ast::RuleBody::Refuses { ports: p, peers: ps }
                        | ast::RuleBody::Connects { peers: ps, ports: p }
                        | ast::RuleBody::NeverConnects { peers: ps, ports: p } => {
                            self.peers(ns, ps);
                            self.ports(p);
                        }
                        ast::RuleBody::AcceptsNothing | ast::RuleBody::ConnectsNothing => {}
                    }
                }
                ast::Item::Edge(e) => {
                    self.peers(ns, &e.from);
                    self.peers(ns, &e.to);
                    self.ports(&e.ports);
                }
                ast::Item::Expect(e) => {
                    self.peers(ns, std::slice::from_ref(&e.from));
                    self.peers(ns, std::slice::from_ref(&e.to));
                    self.ports(&e.ports);
                }
                _ => {}
            }
        }
    }
}

/// `0..n` cut into `parts` contiguous ranges whose lengths differ by at most one.
fn even_ranges(n: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    (0..parts).map(|i| (i * n / parts)..((i + 1) * n / parts)).collect()
}

fn references(files: &[(FileId, ast::File)]) -> References<'_> {
    let mut out = References::default();
    for (_, f) in files {
        out.items(None, &f.items);
    }
    out
}

/// Words that name built-in peers; they cannot be declared.
pub const RESERVED: &[&str] =
    &["anywhere", "anything", "world", "cluster", "host", "kube-apiserver", "kube-dns"];

/// The closest of `candidates` to `name`, if it is close enough to be a likely typo.
pub(crate) fn suggest<'c>(name: &str, candidates: impl Iterator<Item = &'c str>) -> Option<String> {
    candidates
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, c)| *score > 0.8 && *c != name)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A program whose statements name namespaces no block declares (first met at different
    /// statements, some only through a group, some in an `expect`), groups, edges, networks
    /// and default denies: what a fork must number and join as one walk does.
    fn program(statements: usize, unknown_at: Option<usize>) -> String {
        let mut s = String::from("default deny ingress\n");
        s += "namespace b {\n  workload web { app: web }\n  workload worker { app: worker }\n}\n";
        s += "namespace a {\n  workload web { app: web }\n  workload api { app: api }\n  workload db { app: db }\n";
        s += "  group clients = web, b/worker, namespace via-group\n";
        for i in 0..statements {
            let port = 1000 + i;
            let line = match i % 7 {
                _ if Some(i) == unknown_at => "  api accepts tcp 80 from nobody\n".to_string(),
                0 => format!("  api accepts tcp {port} from namespace ns-{}\n", (i / 7) % 11),
                1 => format!("  web connects to db on tcp {port}\n"),
                2 if i > statements / 2 => "  db accepts tcp 5432 from clients\n".to_string(),
                2 => format!("  db accepts tcp {port} from b/web\n"),
                3 => format!("  web -> b/worker, namespace ns-{} on tcp {port}\n", (i / 5) % 13),
                4 => format!("  expect namespace ns-{} cannot reach db\n", (i / 3) % 17),
                5 => format!("  api connects to 10.{}.0.0/16 on tcp 443\n", i % 256),
                _ => "  default deny egress\n".to_string(),
            };
            s += &line;
        }
        s + "}\n"
    }

    /// Resolves `text` through pass 3 on one thread, and with its statements cut into `runs`
    /// forks; returns both resolvers' program and errors, and whether the forks were joined.
    fn one_and_forked(
        text: &str,
        runs: impl Fn(usize) -> Vec<std::ops::Range<usize>>,
    ) -> (String, String, bool) {
        let mut sources = SourceMap::new();
        let file = sources.add("p.netpol", text);
        let files = [(file, crate::syntax::parse(file, text).expect("parses"))];
        let mut one = Resolver::declarations(&sources, &files, &[], None);
        let stmts = std::mem::take(&mut one.stmts);
        for &(ns, item) in &stmts {
            one.statement(ns, item);
        }
        let mut forked = Resolver::declarations(&sources, &files, &[], None);
        let stmts = std::mem::take(&mut forked.stmts);
        let joined = forked.statements_forked(&stmts, &runs(stmts.len()));
        if !joined {
            for &(ns, item) in &stmts {
                forked.statement(ns, item);
            }
        }
        let show = |r: &Resolver| format!("{:?}\n{:?}", r.program, r.errors);
        (show(&one), show(&forked), joined)
    }

    #[test]
    fn forks_build_the_program_one_walk_builds() {
        let text = program(300, None);
        for runs in 1..=9 {
            let (one, forked, joined) = one_and_forked(&text, |n| even_ranges(n, runs));
            assert!(joined, "{runs} runs");
            assert!(one.ends_with("\n[]"), "the program resolves: {one}");
            assert_eq!(forked, one, "{runs} runs");
        }
        // Uneven runs, one of them empty, and runs of one statement.
        let uneven = |n: usize| vec![0..1, 1..1, 1..2, 2..40, 40..n];
        let (one, forked, joined) = one_and_forked(&text, uneven);
        assert!(joined);
        assert_eq!(forked, one);
        // The namespaces first named by statements are numbered in order of first use.
        assert!(one.contains("\"ns-0\"") && one.find("\"ns-0\"") < one.find("\"ns-10\""));
        assert!(one.contains("\"via-group\""));
    }

    #[test]
    fn a_fork_that_meets_an_error_leaves_the_walk_to_one_thread() {
        let text = program(300, Some(200));
        let (one, forked, joined) = one_and_forked(&text, |n| even_ranges(n, 4));
        assert!(!joined, "a fork met `nobody`");
        assert!(one.contains("nobody") && !one.ends_with("\n[]"));
        assert_eq!(forked, one);
    }

    #[test]
    fn even_ranges_cover_the_statements_in_order() {
        for (n, parts) in [(0, 1), (10, 3), (10, 10), (4099, 16), (7, 2)] {
            let ranges = even_ranges(n, parts);
            assert_eq!(ranges.len(), parts);
            assert_eq!(ranges.iter().flat_map(|r| r.clone()).collect::<Vec<_>>(), (0..n).collect::<Vec<_>>());
            assert!(ranges.iter().all(|r| r.len() == n / parts || r.len() == n / parts + 1), "{ranges:?}");
        }
    }
}
