//! Each target's reading of its own emitted manifests, with that CNI's documented semantics,
//! written from upstream documentation and source, never from the backends' code:
//! - [`kubernetes`]: `networking.k8s.io/v1` NetworkPolicy;
//! - [`cilium`]: `cilium.io/v2` CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy;
//! - [`calico`]: `projectcalico.org/v3` NetworkPolicy, GlobalNetworkPolicy and Tier (and their
//!   `crd.projectcalico.org/v1` forms), network sets, and Kubernetes NetworkPolicy as Calico
//!   enforces it.
//!
//! A reader takes the objects as JSON values (as read back from the YAML) and gives the
//! [`Side`](super::side::Side) of any point of the [`Universe`]. Shapes the CNI would reject or
//! read in a way no source means (two selector kinds in one Cilium rule, a port without a
//! protocol where that matters) are reported as problems rather than guessed at.

pub use crate::targets::calico::read as calico;
pub use crate::targets::cilium::read as cilium;
pub use crate::targets::kubernetes::read as kubernetes;

use super::matrix::Semantics;
use super::side::Origin;
use super::universe::{PointId, Universe};
use crate::backend::{Object, Target, ANNOTATION_RULES, ANNOTATION_SOURCE};
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;

/// A target's reading of a set of objects.
pub struct Reading<'u> {
    pub semantics: Box<dyn Semantics + 'u>,
    /// Objects or fields the CNI would reject or that mean nothing the source can say.
    pub problems: Vec<String>,
}

/// Manifests for a reader: already read back as JSON values, or emitted objects whose YAML
/// is parsed by the worker that reads them. The second way, each worker parses a block, reads
/// it and frees it before the next, so the parsed trees of all objects never exist at once and
/// are freed on the thread that made them.
pub trait Manifests: Sync {
    fn count(&self) -> usize;

    /// The objects in `range` as JSON values, and why any of them could not be read (such an
    /// object is left out: a CNI would be handed something other than what a reader sees).
    fn values(&self, range: std::ops::Range<usize>) -> (Cow<'_, [Value]>, Vec<String>);

    /// The kind and namespace (`None` for a cluster-wide object) of object `i`, where they are
    /// known without reading it: for emitted objects.
    fn kind_and_namespace(&self, _i: usize) -> Option<(&str, Option<&str>)> {
        None
    }
}

/// Kinds of policy that police only pods of their own namespace: a Kubernetes NetworkPolicy
/// applies to the pods its `podSelector` selects, and "an empty selector matches all pods in
/// the policy's namespace" (`NetworkPolicySpec`); a CiliumNetworkPolicy's endpointSelector is
/// always scoped to the policy's namespace (Cilium `kubernetes.rst`, `SEMANTICS.md`); a Calico
/// "`NetworkPolicy` in a specific namespace only applies to workload endpoint resources in that
/// namespace" (docs.tigera.io, resources/networkpolicy). Whatever else such an object says, it
/// changes nothing for the sides of a pod of another namespace.
const NAMESPACE_POLICIES: [&str; 2] = ["NetworkPolicy", "CiliumNetworkPolicy"];

/// The objects of `of` that can bear on the sides of pods in `namespaces`: every object, less
/// the [`NAMESPACE_POLICIES`] of other namespaces. What the sides of those pods are, a reading
/// of these gives as a reading of all of them does (`netpol why` asks about a few points of a
/// large program). Objects whose kind and namespace are not known up front are kept.
pub fn bearing_on<'a>(of: &'a dyn Manifests, namespaces: &std::collections::BTreeSet<&str>) -> Subset<'a> {
    let keep = (0..of.count())
        .filter(|&i| match of.kind_and_namespace(i) {
            Some((kind, Some(ns))) if NAMESPACE_POLICIES.contains(&kind) => namespaces.contains(ns),
            _ => true,
        })
        .collect();
    Subset { of, keep }
}

/// Some of the objects of a set of manifests, in their order ([`bearing_on`]).
pub struct Subset<'a> {
    of: &'a dyn Manifests,
    keep: Vec<usize>,
}

impl Manifests for Subset<'_> {
    fn count(&self) -> usize {
        self.keep.len()
    }

    fn values(&self, range: std::ops::Range<usize>) -> (Cow<'_, [Value]>, Vec<String>) {
        let mut values = Vec::with_capacity(range.len());
        let mut problems = Vec::new();
        // Objects kept one after another are read together (a spool reads them with one read).
        for run in self.keep[range].chunk_by(|a, b| *b == a + 1) {
            let (v, p) = self.of.values(run[0]..run[run.len() - 1] + 1);
            values.extend(v.into_owned());
            problems.extend(p);
        }
        (Cow::Owned(values), problems)
    }

    fn kind_and_namespace(&self, i: usize) -> Option<(&str, Option<&str>)> {
        self.of.kind_and_namespace(self.keep[i])
    }
}

impl Manifests for [Value] {
    fn count(&self) -> usize {
        self.len()
    }

    fn values(&self, range: std::ops::Range<usize>) -> (Cow<'_, [Value]>, Vec<String>) {
        (Cow::Borrowed(&self[range]), Vec::new())
    }
}

impl Manifests for Vec<Value> {
    fn count(&self) -> usize {
        self.len()
    }

    fn values(&self, range: std::ops::Range<usize>) -> (Cow<'_, [Value]>, Vec<String>) {
        (Cow::Borrowed(&self[range]), Vec::new())
    }
}

impl<const N: usize> Manifests for [Value; N] {
    fn count(&self) -> usize {
        N
    }

    fn values(&self, range: std::ops::Range<usize>) -> (Cow<'_, [Value]>, Vec<String>) {
        (Cow::Borrowed(&self[range]), Vec::new())
    }
}

impl Manifests for [Object] {
    fn count(&self) -> usize {
        self.len()
    }

    fn kind_and_namespace(&self, i: usize) -> Option<(&str, Option<&str>)> {
        Some((self[i].kind, self[i].namespace.as_deref()))
    }

    fn values(&self, range: std::ops::Range<usize>) -> (Cow<'_, [Value]>, Vec<String>) {
        let mut values = Vec::with_capacity(range.len());
        let mut problems = Vec::new();
        for o in &self[range] {
            match crate::yaml::parse(&o.yaml) {
                Ok(v) => values.push(v),
                Err(e) => problems.push(format!("{}: {e}", label(o))),
            }
        }
        (Cow::Owned(values), problems)
    }
}

impl Manifests for Vec<Object> {
    fn count(&self) -> usize {
        self.len()
    }

    fn values(&self, range: std::ops::Range<usize>) -> (Cow<'_, [Value]>, Vec<String>) {
        self.as_slice().values(range)
    }

    fn kind_and_namespace(&self, i: usize) -> Option<(&str, Option<&str>)> {
        self.as_slice().kind_and_namespace(i)
    }
}

/// An emitted object as problems name it: `Kind namespace/name` (`-` for no namespace).
fn label(o: &Object) -> String {
    format!("{} {}/{}", o.kind, o.namespace.as_deref().unwrap_or("-"), o.name)
}

/// The kind and namespace a [`label`] names (neither a kind nor a namespace holds a space or a
/// `/`, and `-` is no namespace's name).
fn label_kind_and_namespace(label: &str) -> Option<(&str, Option<&str>)> {
    let (kind, rest) = label.split_once(' ')?;
    let (ns, _) = rest.split_once('/')?;
    Some((kind, (ns != "-").then_some(ns)))
}

/// Emitted objects written to a spool, each labelled with [`label`], to be read back from it.
pub fn spool(objects: &[Object]) -> std::io::Result<crate::spool::Spooled<String>> {
    let mut spool = crate::spool::Spool::new()?;
    for o in objects {
        spool.push(label(o), &o.yaml)?;
    }
    spool.finish()
}

/// Documents spooled to a temporary file, each labelled with its object ([`label`]): each
/// worker reads its block from the file, parses it and frees it.
impl Manifests for crate::spool::Spooled<String> {
    fn count(&self) -> usize {
        self.len()
    }

    fn values(&self, range: std::ops::Range<usize>) -> (Cow<'_, [Value]>, Vec<String>) {
        let mut values = Vec::with_capacity(range.len());
        let mut problems = Vec::new();
        let read = self.texts(range.clone(), |i, text| {
            match text.map_err(|e| e.to_string()).and_then(crate::yaml::parse) {
                Ok(v) => values.push(v),
                Err(e) => problems.push(format!("{}: {e}", self.label(i))),
            }
        });
        if let Err(e) = read {
            let unread =
                range.map(|i| format!("{}: cannot be read back from its temporary file: {e}", self.label(i)));
            return (Cow::Owned(Vec::new()), unread.collect());
        }
        (Cow::Owned(values), problems)
    }

    fn kind_and_namespace(&self, i: usize) -> Option<(&str, Option<&str>)> {
        label_kind_and_namespace(self.label(i))
    }
}

/// Objects a reader's worker parses at once: it reads its block in slices of this many, so
/// the parsed trees held at once stay bounded however large the input (a block is an eighth
/// of a thread's share: 6,250 objects, hundreds of MB of trees, at 100,000 objects on two).
pub(crate) const SLICE: usize = 128;

/// `range` in slices of [`SLICE`], in order.
pub(crate) fn slices(range: std::ops::Range<usize>) -> impl Iterator<Item = std::ops::Range<usize>> {
    let end = range.end;
    range.step_by(SLICE).map(move |start| start..(start + SLICE).min(end))
}

/// The objects in `range`, a slice at a time: for each slice, why any of them could not be
/// read (`Err`), then each one that could (`Ok`), in order.
pub(crate) fn each_object(
    objects: &(impl Manifests + ?Sized),
    range: std::ops::Range<usize>,
    mut each: impl FnMut(Result<&Value, String>),
) {
    for slice in slices(range) {
        let (values, unread) = objects.values(slice);
        unread.into_iter().for_each(|p| each(Err(p)));
        values.iter().for_each(|v| each(Ok(v)));
    }
}

/// Reads `objects` (each a whole manifest) as `target` would.
pub fn read<'u>(target: Target, objects: &(impl Manifests + ?Sized), u: &'u Universe) -> Reading<'u> {
    match target {
        // ClusterNetworkPolicies are read beside NetworkPolicies: the tiers around them.
        Target::Kubernetes | Target::KubernetesCnp => kubernetes::read(objects, u),
        Target::Cilium => cilium::read(objects, u),
        Target::Calico => calico::read(objects, u),
    }
}

/// Reads each target's objects in turn and hands the reading to `each`. What `each` keeps (the
/// reading, its rows) is freed beside the next target's reading, and first where there is one
/// thread ([`crate::par::join`] runs its first task first), so no more than one target's
/// reading is held at a time (`netpol verify`, `netpol why`).
pub fn read_each<'u, K>(
    outputs: &[(Target, &dyn Manifests)],
    u: &'u Universe,
    mut each: impl FnMut(Target, Reading<'u>) -> K,
) {
    let mut kept = None;
    for &(t, objects) in outputs {
        let old = kept.take();
        let ((), reading) = crate::par::join(move || drop(old), || read(t, objects, u));
        kept = Some(each(t, reading));
    }
}

/// Per worker, the problems found and each object read: what it says per direction and the
/// pods it selects.
pub(crate) type ReadParts<S> = Vec<(Vec<String>, Vec<([S; 2], Vec<PointId>)>)>;

/// Per point, the objects that select it, by direction (ingress, egress).
pub(crate) type Selecting = Vec<[Vec<u32>; 2]>;

/// Joins the workers' reads in order: every problem, every object's sides, and per point and
/// direction the objects that select it where `says` holds of their side (a side that says
/// nothing neither isolates nor allows).
pub(crate) fn join_reads<S>(
    parts: ReadParts<S>,
    points: usize,
    says: impl Fn(&S) -> bool,
) -> (Vec<String>, Vec<[S; 2]>, Selecting) {
    let mut problems = Vec::new();
    let mut objects = Vec::new();
    let mut selecting = vec![[Vec::new(), Vec::new()]; points];
    for (p, read) in parts {
        problems.extend(p);
        for (sides, pods) in read {
            let index = objects.len() as u32;
            let said = [says(&sides[0]), says(&sides[1])];
            for p in pods {
                for d in 0..2 {
                    if said[d] {
                        selecting[p as usize][d].push(index);
                    }
                }
            }
            objects.push(sides);
        }
    }
    (problems, objects, selecting)
}

/// The emitted objects read back from their YAML, on every core, in order.
pub fn bodies(objects: &[Object]) -> Vec<Value> {
    crate::par::chunks(objects.len(), 64, |range| objects[range].iter().map(Object::body).collect::<Vec<_>>())
        .into_iter()
        .flatten()
        .collect()
}

/// `Kind namespace/name` (or `Kind name` for cluster-scoped objects).
pub fn object_name(obj: &Value) -> String {
    let kind = obj["kind"].as_str().unwrap_or("?");
    let name = obj["metadata"]["name"].as_str().unwrap_or("?");
    match obj["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}

/// Where a rule of an object comes from: the object, the path of the rule in it, and the
/// `file:line` of the statement it was emitted for. That is the rule's own `netpol/source`
/// annotation (Calico rules carry metadata), else the rule's entry in the object's
/// `netpol/rules` annotation (`ingress[1]: reason (file:line)`), else the object's
/// `netpol/source`.
pub fn origin(obj: &Value, rule: String, rule_value: Option<&Value>) -> Origin {
    let first = |s: &str| s.split(',').next().unwrap_or(s).trim().to_string();
    let own = rule_value.and_then(|r| r["metadata"]["annotations"][ANNOTATION_SOURCE].as_str()).map(first);
    let key = rule.strip_prefix("spec.").unwrap_or(&rule);
    let listed = obj["metadata"]["annotations"][ANNOTATION_RULES].as_str().and_then(|notes| {
        notes.lines().find_map(|line| {
            let rest = line.strip_prefix(key)?;
            if !(rest.starts_with(':') || rest.starts_with(' ')) {
                return None;
            }
            let open = rest.rfind('(')?;
            Some(rest[open + 1..].trim_end().trim_end_matches(')').to_string())
        })
    });
    let source =
        own.or(listed).or_else(|| obj["metadata"]["annotations"][ANNOTATION_SOURCE].as_str().map(first));
    Origin::Manifest { object: shared_object_name(obj), rule, source }
}

/// [`object_name`], as the string the previous call on this thread returned when the name is
/// the same: the rules of one object, read one after another, share one name.
fn shared_object_name(obj: &Value) -> Arc<str> {
    thread_local! {
        static LAST: std::cell::RefCell<Option<Arc<str>>> = const { std::cell::RefCell::new(None) };
    }
    let name = object_name(obj);
    LAST.with_borrow_mut(|last| match last {
        Some(shared) if **shared == *name => shared.clone(),
        _ => last.insert(Arc::from(name)).clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn name_of(o: &Origin) -> Arc<str> {
        match o {
            Origin::Manifest { object, .. } => object.clone(),
            Origin::Source(_) => panic!("a manifest's origin"),
        }
    }

    #[test]
    fn the_rules_of_one_object_share_its_name() {
        let policy = |name: &str| json!({"kind": "NetworkPolicy", "metadata": {"name": name, "namespace": "shop"}, "spec": {}});
        let (a, b) = (policy("a"), policy("b"));
        let first = name_of(&origin(&a, "spec.ingress[0]".into(), None));
        let second = name_of(&origin(&a, "spec.ingress[1]".into(), None));
        assert_eq!(&*first, "NetworkPolicy shop/a");
        assert!(Arc::ptr_eq(&first, &second), "one string for the object's rules");
        let other = name_of(&origin(&b, "spec.ingress[0]".into(), None));
        assert_eq!(&*other, "NetworkPolicy shop/b");
        // Back to the first object: the same name again, whichever string holds it.
        assert_eq!(name_of(&origin(&a, "spec.egress[0]".into(), None)), first);
    }

    /// A spooled object's kind and namespace come from its label, as the objects say them.
    #[test]
    fn a_spooled_object_keeps_its_kind_and_namespace() {
        let object = |kind: &'static str, namespace: Option<&str>| Object {
            kind,
            namespace: namespace.map(str::to_string),
            name: "allow-web".to_string(),
            yaml: format!("kind: {kind}\n"),
            origin: crate::span::Span::default(),
        };
        let objects = vec![
            object("NetworkPolicy", Some("shop")),
            object("CiliumNetworkPolicy", Some("kube-system")),
            object("CiliumClusterwideNetworkPolicy", None),
            object("GlobalNetworkPolicy", None),
        ];
        let spooled = spool(&objects).expect("a temporary file");
        for i in 0..objects.len() {
            assert_eq!(spooled.kind_and_namespace(i), objects.kind_and_namespace(i), "{i}");
        }
        assert_eq!(spooled.kind_and_namespace(0), Some(("NetworkPolicy", Some("shop"))));
        assert_eq!(spooled.kind_and_namespace(2), Some(("CiliumClusterwideNetworkPolicy", None)));
        // Asked about `shop`: the other namespace's policy is left out, cluster-wide ones kept.
        let shop = std::collections::BTreeSet::from(["shop"]);
        let kept = bearing_on(&spooled, &shop);
        let kinds = ["NetworkPolicy", "CiliumClusterwideNetworkPolicy", "GlobalNetworkPolicy"];
        assert_eq!(kept.count(), 3);
        assert_eq!((0..3).map(|i| kept.kind_and_namespace(i).unwrap().0).collect::<Vec<_>>(), kinds);
        // Read across the gap, and from inside a run: the objects kept, in order.
        let read = |range: std::ops::Range<usize>| {
            let (values, problems) = kept.values(range);
            assert!(problems.is_empty(), "{problems:?}");
            values.iter().map(|v| v["kind"].as_str().unwrap_or("").to_string()).collect::<Vec<_>>()
        };
        assert_eq!(read(0..3), kinds);
        assert_eq!(read(1..3), kinds[1..]);
        assert_eq!(read(0..1), kinds[..1]);
    }
}
