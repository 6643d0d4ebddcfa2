//! The policies of a [`World`] read as one CNI enforces them.
//!
//! A cluster runs one CNI, and that CNI enforces Kubernetes NetworkPolicies beside its own
//! kinds: Cilium turns them into Cilium rules, Calico into policies of its default tier. The
//! reading is therefore chosen per input: Cilium's where Cilium policies are present, Calico's
//! where Calico policies are, Kubernetes' (the API's own semantics) for NetworkPolicies alone,
//! or the one `--cni` names. Policies of both Cilium and Calico in one input are an error
//! (E0606): no cluster enforces both.
//!
//! ClusterNetworkPolicies (`policy.networking.k8s.io/v1alpha2`) are read with the Kubernetes
//! dialect only: a Cilium or Calico reading leaves them out, with a warning (W0602) for each,
//! rather than guess how that CNI orders them against its own tiers.
//!
//! Each problem a reader reports (a field it does not model, a shape the CNI rejects) becomes
//! a warning (W0605) at the object and field it names.

use super::{Dialect, Object, World};
use crate::analysis::targets::kubernetes::is_cluster_network_policy;
use crate::analysis::targets::{self, Reading};
use crate::analysis::universe::Universe;
use crate::backend::Target;
use crate::diagnostic::Diagnostic;
use crate::span::SourceMap;
use serde_json::Value;

/// The CNI whose reading answers for `world`: `cni` if given, else the one its policies'
/// dialects imply. `Err` when Cilium and Calico policies meet.
pub fn choose(world: &World, cni: Option<Dialect>) -> Result<Dialect, Box<Diagnostic>> {
    let present = world.dialects();
    let foreign = |d: Dialect| present.contains(&d);
    let chosen = match cni {
        Some(d) => d,
        None if foreign(Dialect::Cilium) => Dialect::Cilium,
        None if foreign(Dialect::Calico) => Dialect::Calico,
        None => Dialect::Kubernetes,
    };
    // A CNI's own kinds that another CNI would never see.
    let clash = [Dialect::Cilium, Dialect::Calico].into_iter().find(|d| *d != chosen && foreign(*d));
    if let Some(other) = clash {
        let first = world.policies.iter().find(|(d, _)| *d == other).map(|(_, o)| o);
        let span = first.map(|o| o.span).expect("a policy of that dialect");
        let message = if cni.is_some() {
            format!("{} policies in an input read as {} enforces it", title(other), title(chosen))
        } else {
            "Cilium and Calico policies in one input: no cluster enforces both".to_string()
        };
        return Err(Box::new(
            Diagnostic::error("E0606", message, span, format!("a {} policy", title(other)))
                .with_help("give the policies of one cluster at a time, or pick the CNI with --cni"),
        ));
    }
    Ok(chosen)
}

fn title(d: Dialect) -> &'static str {
    match d {
        Dialect::Kubernetes => "Kubernetes",
        Dialect::Cilium => "Cilium",
        Dialect::Calico => "Calico",
    }
}

/// The dialect whose CNI reads a target's manifests.
pub fn dialect_of(t: Target) -> Dialect {
    match t {
        Target::Kubernetes | Target::KubernetesCnp => Dialect::Kubernetes,
        Target::Cilium => Dialect::Cilium,
        Target::Calico => Dialect::Calico,
    }
}

/// The target whose reader reads a dialect.
pub fn target(d: Dialect) -> Target {
    match d {
        Dialect::Kubernetes => Target::Kubernetes,
        Dialect::Cilium => Target::Cilium,
        Dialect::Calico => Target::Calico,
    }
}

/// The policies of `world` that `cni` enforces: its own kinds and Kubernetes NetworkPolicies
/// (and ClusterNetworkPolicies, read with the Kubernetes dialect only).
pub fn policies(world: &World, cni: Dialect) -> Vec<&Object> {
    world
        .policies
        .iter()
        .filter(|(d, o)| {
            *d == cni
                || (*d == Dialect::Kubernetes
                    && (cni == Dialect::Kubernetes || !is_cluster_network_policy(&o.value)))
        })
        .map(|(_, o)| o)
        .collect()
}

/// Reads the policies `cni` enforces over `u`; the reader's problems as warnings (W0605).
pub fn read<'u>(
    world: &World,
    cni: Dialect,
    u: &'u Universe,
    sources: &SourceMap,
) -> (Reading<'u>, Vec<Diagnostic>) {
    let objects = policies(world, cni);
    let reading = targets::read(target(cni), &Borrowed(&objects), u);
    let mut diagnostics: Vec<Diagnostic> =
        reading.problems.iter().map(|p| problem(p, &objects, sources)).collect();
    if cni != Dialect::Kubernetes {
        for (_, o) in world
            .policies
            .iter()
            .filter(|(d, o)| *d == Dialect::Kubernetes && is_cluster_network_policy(&o.value))
        {
            diagnostics.push(
                Diagnostic::warning(
                    "W0602",
                    format!(
                        "{} is read with the Kubernetes API's semantics only, not as {} enforces it: the answers leave it out",
                        o.name(),
                        title(cni)
                    ),
                    o.locate(sources, "kind"),
                    "not read",
                )
                .with_help(
                    "what this policy allows or denies is not in the answers; check the connections it decides by hand, \
                     or ask with --cni kubernetes",
                ),
            );
        }
    }
    (reading, diagnostics)
}

/// The objects as a reader takes them: each worker copies its block of values, reads it and
/// drops it, so the values are never all held twice.
struct Borrowed<'a>(&'a [&'a Object]);

impl targets::Manifests for Borrowed<'_> {
    fn count(&self) -> usize {
        self.0.len()
    }

    fn values(&self, range: std::ops::Range<usize>) -> (std::borrow::Cow<'_, [Value]>, Vec<String>) {
        (std::borrow::Cow::Owned(self.0[range].iter().map(|o| o.value.clone()).collect()), Vec::new())
    }
}

/// A reader's problem (`Kind ns/name field.path: what`) as a warning at that object's field.
pub fn problem(text: &str, objects: &[&Object], sources: &SourceMap) -> Diagnostic {
    // The object the problem names: the longest name it starts with.
    let named = objects
        .iter()
        .map(|o| (o.name(), *o))
        .filter(|(n, _)| {
            text.strip_prefix(n.as_str()).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', ':']))
        })
        .max_by_key(|(n, _)| n.len());
    let help =
        "the answers for the connections this decides say \"possibly\" (or leave the object out, as the \
                CNI would); fix the object, or check those connections by hand";
    let Some((name, object)) = named else {
        // No object named: the first one stands for the input.
        let span = objects.first().map(|o| o.span).unwrap_or_default();
        return Diagnostic::warning("W0605", text.to_string(), span, "in these policies").with_help(help);
    };
    let rest = text[name.len()..].trim_start_matches([' ', ':']);
    let field = rest.split([':', ' ']).next().unwrap_or("");
    let is_path = field.starts_with("spec") || field.starts_with("metadata") || field.starts_with("specs");
    let span = if is_path { object.locate(sources, field) } else { object.locate(sources, "") };
    let label = if is_path { field.to_string() } else { "this object".to_string() };
    Diagnostic::warning("W0605", text.to_string(), span, label).with_help(help)
}
