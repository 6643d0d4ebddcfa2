//! `netpol import`: policies someone already has (any dialect the readers read) → `.netpol`
//! source, proved to mean the same.
//!
//! 1. Each object is translated into statements in the language's terms ([`draft`]); what the
//!    language cannot say is a loss, a diagnostic at the object's field.
//! 2. The writer ([`write`]) names workloads and namespace sets and prints the source in
//!    `netpol fmt`'s layout.
//! 3. The proof ([`proof`]) compiles that source for the input's own CNI, reads it back, and
//!    compares it with the originals' reading on every side of every point. Any difference fails
//!    the import. With `to`, the same for another CNI (a migration): differences where one CNI
//!    leaves open what the other decides are the CNIs' own, and are reported as such.
//!
//! Losses refuse the import unless `lossy`: then the rest is written, each loss is a comment
//! in its namespace, and the proof still holds for everything kept (a difference is excused
//! only where the original rules that decide it include a lost one).

pub mod calico;
pub mod calico_rules;
pub mod cilium;
pub mod draft;
pub mod fields;
pub mod kubernetes;
pub mod names;
pub mod proof;
pub mod write;

use crate::backend::Target;
use crate::diagnostic::Diagnostic;
use crate::ir::LabelSelector;
use crate::span::SourceMap;
use crate::world::{reading, Dialect, World};
use draft::{Draft, Loss, Peer, Subject};
use proof::{Mismatch, Proof};
use std::collections::BTreeMap;
pub use write::Layout;

/// A construct the language has no word for.
pub const NO_WORD: &str = "E0702";
/// A selector on a per-pod or per-revision label.
pub const PER_POD: &str = "W0703";
/// The imported source means something else than the originals.
pub const PROOF_FAILED: &str = "E0701";
/// A field the readers do not model: the import cannot know what it keeps.
pub const NOT_MODELLED: &str = "E0704";
/// Rules with no effect, left out.
pub const IGNORED: &str = "W0705";
/// A migration leaves open what the originals decide, or the reverse: the CNIs differ there.
pub const CNIS_DIFFER: &str = "W0706";

#[derive(Clone, Debug)]
pub struct Options {
    pub layout: Layout,
    /// Write what can be said, mark each loss with a comment.
    pub lossy: bool,
    /// The CNI whose reading is the original's (`--cni`), else the one the objects imply.
    pub cni: Option<Dialect>,
    /// Also prove the imported source on these targets.
    pub to: Vec<Target>,
}

/// What an import produced.
pub struct Import {
    /// The source files; empty when the import is refused.
    pub files: write::Files,
    pub diagnostics: Vec<Diagnostic>,
    /// The CNI whose reading was matched.
    pub cni: Option<Dialect>,
    /// The proof on the input's own CNI, then one per `to` target.
    pub proofs: Vec<(Target, Proof)>,
    /// The compile errors of the imported source, with the source map their spans are in.
    pub compile_errors: Vec<(Target, SourceMap, Vec<Diagnostic>)>,
    /// One line per proof: what was proved, on which CNI.
    pub summaries: Vec<String>,
    /// Whether the files may be written: no loss (or `lossy`), every proof held.
    pub ok: bool,
}

/// Imports the policies of `world`.
pub fn import(world: &World, sources: &SourceMap, options: &Options) -> Import {
    let mut out = Import {
        files: Vec::new(),
        diagnostics: Vec::new(),
        cni: None,
        proofs: Vec::new(),
        compile_errors: Vec::new(),
        summaries: Vec::new(),
        ok: false,
    };
    let cni = match reading::choose(world, options.cni) {
        Ok(c) => c,
        Err(d) => {
            out.diagnostics.push(*d);
            return out;
        }
    };
    out.cni = Some(cni);
    if world.policies.is_empty() {
        return out;
    }
    let mut draft = Draft::default();
    for (i, (dialect, object)) in world.policies.iter().enumerate() {
        match dialect {
            Dialect::Kubernetes => {
                kubernetes::translate_on(i, &object.value, &mut draft, cni == Dialect::Cilium)
            }
            Dialect::Cilium => cilium::translate(i, &object.value, &mut draft),
            // Translated together below: order and tiers relate Calico policies.
            Dialect::Calico => {}
        }
    }
    let of = |d: Dialect| -> Vec<(usize, &serde_json::Value)> {
        world
            .policies
            .iter()
            .enumerate()
            .filter(|(_, (x, _))| *x == d)
            .map(|(i, (_, o))| (i, &o.value))
            .collect()
    };
    let calico_objects = of(Dialect::Calico);
    if !calico_objects.is_empty() {
        calico::translate(&calico_objects, &of(Dialect::Kubernetes), &mut draft);
        draft.policies.sort_by_key(|p| p.object);
    }
    per_pod_labels(world, sources, &draft, &mut out.diagnostics);
    let object_ns = |i: usize| {
        world.policies[i].1.value["metadata"]["namespace"].as_str().unwrap_or("default").to_string()
    };
    let mut lost: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in &draft.losses {
        lost.entry(object_ns(l.object))
            .or_default()
            .push(format!("not imported ({}): {}", l.code, l.message));
    }
    if !options.lossy {
        lost.clear();
    }
    let written = write::write(&draft, options.layout, &lost);
    let own = reading::target(cni);
    let mut proofs_hold = true;
    let objects = world.policies.len();
    let plural = if objects == 1 { "object allows" } else { "objects allow" };
    for target in std::iter::once(own).chain(options.to.iter().copied().filter(|t| *t != own)) {
        let mut p = proof::prove(world, sources, cni, &written.files, target);
        if let Some((map, errors)) = p.compile_errors.take() {
            out.summaries.push(format!(
                "not proved on {}: the imported source does not compile for it",
                target.title()
            ));
            out.compile_errors.push((target, map, errors));
            proofs_hold = false;
            continue;
        }
        let (mut failed, mut cnis_count, mut excused_count) = (0, 0, 0);
        for m in &p.differences {
            let excused = excused(m, &draft, world);
            let cnis = target != own && cnis_differ(m);
            let d = mismatch_diagnostic(world, sources, m, target, own, excused, cnis);
            if excused {
                excused_count += 1;
                continue;
            }
            if d.is_error() {
                failed += 1;
            } else {
                cnis_count += 1;
            }
            out.diagnostics.push(d);
        }
        proofs_hold &= failed == 0;
        let scope = format!("{} points, {} sides compared", p.points, p.sides);
        out.summaries.push(match (failed, cnis_count, excused_count) {
            (0, 0, 0) => format!(
                "proved on {}: the imported source allows exactly what the {objects} original {plural} ({scope})",
                target.title()
            ),
            (0, c, e) => {
                let mut except = Vec::new();
                if c > 0 {
                    except.push(format!("{c} connection(s) the two CNIs read differently (W0706)"));
                }
                if e > 0 {
                    except.push(format!("{e} decided by what was not imported"));
                }
                format!(
                    "proved on {}: the imported source allows exactly what the {objects} original {plural}, \
                     except {} ({scope})",
                    target.title(),
                    except.join(" and ")
                )
            }
            (f, _, _) => format!("not proved on {}: {f} connection(s) differ ({scope})", target.title()),
        });
        // What the readers do not model: the proof cannot vouch for it. Said once: where a
        // loss already names the field, the loss says it.
        if target == own {
            let lost: Vec<crate::span::Span> = draft
                .losses
                .iter()
                .chain(&draft.ignored)
                .map(|l| {
                    // An object lost whole (no statement of it kept): its every field.
                    let path = if whole(&draft, l.object) { "" } else { l.path.as_str() };
                    world.policies[l.object].1.locate(sources, path)
                })
                .collect();
            for d in std::mem::take(&mut p.problems) {
                let s = d.primary.span;
                let overlaps = |l: &crate::span::Span| {
                    l.file == s.file && l.start < s.end.max(s.start + 1) && s.start < l.end.max(l.start + 1)
                };
                if !lost.iter().any(overlaps) {
                    out.diagnostics.push(not_modelled(d, options.lossy));
                }
            }
        }
        out.proofs.push((target, p));
    }
    let losses: Vec<Diagnostic> =
        draft.losses.iter().map(|l| loss(world, sources, l, options.lossy)).collect();
    out.diagnostics.extend(losses);
    for l in &draft.ignored {
        let object = &world.policies[l.object].1;
        let d =
            Diagnostic::warning(l.code, l.message.clone(), object.locate(sources, &l.path), l.path.clone())
                .with_help(l.help.clone());
        out.diagnostics.push(d);
    }
    let refused = out.diagnostics.iter().any(Diagnostic::is_error);
    out.ok = proofs_hold && !refused;
    if out.ok {
        out.files = written.files;
    }
    out
}

/// A loss as a diagnostic: an error, or with `lossy` a warning.
fn loss(world: &World, sources: &SourceMap, l: &Loss, lossy: bool) -> Diagnostic {
    let object = &world.policies[l.object].1;
    let span = object.locate(sources, &l.path);
    let label = if l.path.is_empty() { "this object".to_string() } else { l.path.clone() };
    let d = if lossy {
        Diagnostic::warning(l.code, l.message.clone(), span, label)
    } else {
        Diagnostic::error(l.code, l.message.clone(), span, label)
    };
    d.with_help(if lossy {
        format!("{}; it is left out of the source, marked by a comment", l.help)
    } else {
        format!("{}; or import the rest with --lossy", l.help)
    })
}

/// A reader's problem (W0605) as an import error: what the readers do not model cannot be
/// proved kept.
fn not_modelled(mut d: Diagnostic, lossy: bool) -> Diagnostic {
    d.code = NOT_MODELLED;
    if !lossy {
        d.severity = crate::diagnostic::Severity::Error;
    }
    d.help = Some(
        "netpol's reading of this field is \"possibly\", so no import can be proved to keep it; fix the \
         object, or import the rest with --lossy"
            .to_string(),
    );
    d
}

/// Whether a difference comes from a lost construct: an original rule that decides it was lost.
fn excused(m: &Mismatch, draft: &Draft, world: &World) -> bool {
    draft.losses.iter().any(|l| {
        let name = world.policies[l.object].1.name();
        m.origins.iter().any(|(object, rule)| {
            *object == name
                && (l.path.is_empty()
                    || whole(draft, l.object)
                    || rule_paths(rule)
                        .iter()
                        .any(|r| r.starts_with(&l.path) || l.path.starts_with(r.as_str())))
        })
    })
}

/// The rules a reader's origin names: rules read as one are named together
/// (`spec.egress[0,1,2]`).
fn rule_paths(rule: &str) -> Vec<String> {
    if let Some((head, rest)) = rule.split_once('[') {
        if let Some((inner, tail)) = rest.split_once(']') {
            if inner.contains(',') {
                return inner.split(',').map(|i| format!("{head}[{}]{tail}", i.trim())).collect();
            }
        }
    }
    vec![rule.to_string()]
}

/// Whether object `i` was lost whole: a loss of it, and no statement kept.
fn whole(draft: &Draft, i: usize) -> bool {
    !draft.policies.iter().any(|p| p.object == i)
}

/// One reading leaves open ("possibly") what the other decides: the CNIs' own difference.
fn cnis_differ(m: &Mismatch) -> bool {
    use crate::analysis::verify::Verdict;
    m.original == Verdict::Possibly || m.imported == Verdict::Possibly
}

fn mismatch_diagnostic(
    world: &World,
    sources: &SourceMap,
    m: &Mismatch,
    target: Target,
    own: Target,
    excused: bool,
    cnis: bool,
) -> Diagnostic {
    let find = |name: &str| world.policies.iter().map(|(_, o)| o).find(|o| o.name() == name);
    let at = m.origins.iter().find_map(|(object, rule)| find(object).map(|o| (o, rule)));
    let (span, label) = match at {
        Some((o, rule)) => (o.locate(sources, rule), format!("{} {rule}", o.name())),
        None => (
            world.policies.first().map(|(_, o)| o.span).unwrap_or_default(),
            "no original rule decides it".to_string(),
        ),
    };
    let (code, message, help) = if cnis {
        (
            CNIS_DIFFER,
            format!("on {}, {}", target.title(), m.text),
            "the two CNIs read this differently (one leaves open what the other decides); check the \
             connection on the target CNI",
        )
    } else {
        // netpol's backends are proved to mean the source on every CNI, up to what a CNI leaves
        // open; any other difference is a bug in the import or a backend.
        let on = if target == own { String::new() } else { format!(" on {}", target.title()) };
        (
            PROOF_FAILED,
            format!("the imported source does not mean what the originals do{on}: {}", m.text),
            "this is a bug in netpol: report it with the objects; nothing was written",
        )
    };
    let mut d = if cnis || excused {
        Diagnostic::warning(code, message, span, label)
    } else {
        Diagnostic::error(code, message, span, label)
    };
    for (object, rule) in m.origins.iter().skip(1) {
        if let Some(o) = find(object) {
            d.secondary.push(crate::diagnostic::Label {
                span: o.locate(sources, rule),
                message: format!("{object} {rule}"),
            });
        }
    }
    d.with_help(help)
}

/// W0703 for each selector on a label that names one pod or one revision.
fn per_pod_labels(world: &World, sources: &SourceMap, draft: &Draft, out: &mut Vec<Diagnostic>) {
    let bad = |s: &LabelSelector| -> Option<String> {
        let keys = s.match_labels.keys().chain(s.expressions.iter().map(|e| &e.key));
        keys.into_iter().find(|k| names::PER_POD_LABELS.contains(&k.as_str())).cloned()
    };
    for p in &draft.policies {
        let object = &world.policies[p.object].1;
        let mut found: Vec<(String, String)> = Vec::new();
        let Subject::Pods(s) = &p.subject;
        if let Some(k) = bad(s) {
            let subject = match world.policies[p.object].0 {
                Dialect::Calico => "spec.selector".to_string(),
                // A Cilium spec may be one of `specs`: its statements' paths say which.
                Dialect::Cilium => {
                    let spec = p.statements.first().and_then(|s| s.path.split('.').next()).unwrap_or("spec");
                    format!("{spec}.endpointSelector")
                }
                Dialect::Kubernetes => "spec.podSelector".to_string(),
            };
            found.push((subject, k));
        }
        for st in &p.statements {
            for peer in &st.peers {
                let sel = match peer {
                    Peer::Pods { selector, .. } => Some(selector),
                    Peer::PodsIn { pods, .. } => Some(pods),
                    _ => None,
                };
                if let Some(k) = sel.and_then(bad) {
                    found.push((st.path.clone(), k));
                }
            }
        }
        for (path, key) in found {
            out.push(
                Diagnostic::warning(
                    PER_POD,
                    format!(
                        "{} selects pods by `{key}`, a label that changes with each pod or revision",
                        p.title
                    ),
                    object.locate(sources, &path),
                    path,
                )
                .with_help(
                    "the import keeps the selector as it is; select on a label the workload's pods keep",
                ),
            );
        }
    }
}
