//! The label selectors the Cilium emitter writes, and the identity-label checks on their keys.

use super::*;

/// How the Cilium agent spells the `k8s:` source when it validates a selector key: Cilium 1.17
/// and 1.18 turn `k8s:app` into `k8s.app` (`NewESFromK8sLabelSelectorWithExtender` in
/// `pkg/policy/api/selector.go`) and check that as a Kubernetes qualified name. Later
/// releases check the key after the `:` (`IsValidCiliumLabelKey` in `pkg/labels`), which the
/// longer form always satisfies.
pub(super) const K8S_VALIDATED: &str = "k8s.";

/// The key as Cilium's `EndpointSelector.Sanitize` validates it.
pub(super) fn validated_key(full: &str) -> String {
    format!("{K8S_VALIDATED}{}", full.strip_prefix(K8S_SOURCE).unwrap_or(full))
}

/// Why Cilium refuses a selector on the key `full` (`k8s:` and any namespace-label prefix
/// included), or `None`. `full` comes from a valid Kubernetes key, so only the lengths can
/// fail: a name part of at most 63 characters, a prefix before `/` of at most 253
/// (apimachinery `IsQualifiedName`). Checked against Cilium's own `Sanitize()` (the policy
/// oracle in `shared/oracles/cilium`): a 60-character pod label key, or a 29-character
/// namespace label key, makes the whole policy invalid, so it would never be enforced.
pub(super) fn validated_key_problem(full: &str) -> Option<String> {
    let key = validated_key(full);
    match key.split_once('/') {
        Some((prefix, _)) if prefix.len() > 253 => {
            Some(format!("Cilium checks the prefix `{prefix}`: {} characters, at most 253", prefix.len()))
        }
        None if key.len() > 63 => {
            Some(format!("Cilium checks `{key}`: {} characters, at most 63", key.len()))
        }
        _ => None,
    }
}

/// A workload's selector over Kubernetes pod labels, optionally pinned to a namespace.
pub fn pod_selector(s: &LabelSelector, namespace: Option<&str>) -> meta::LabelSelector {
    let mut labels: BTreeMap<String, String> =
        s.match_labels.iter().map(|(k, v)| (format!("{K8S_SOURCE}{k}"), v.clone())).collect();
    if let Some(ns) = namespace {
        labels.insert(NAMESPACE_LABEL.to_string(), ns.to_string());
    }
    let expressions =
        s.expressions.iter().map(|e| requirement(&format!("{K8S_SOURCE}{}", e.key), e.op, &e.values));
    selector(labels, expressions.collect())
}

pub(super) fn namespace_selector(name: &str) -> meta::LabelSelector {
    selector(BTreeMap::from([(NAMESPACE_LABEL.to_string(), name.to_string())]), Vec::new())
}

/// Pods of the namespaces whose labels match `s`. The namespace-key requirement keeps Cilium
/// from scoping the selector to the policy's own namespace (`getEndpointSelector`).
pub(super) fn namespace_set_selector(s: &LabelSelector) -> meta::LabelSelector {
    let labels =
        s.match_labels.iter().map(|(k, v)| (format!("{NAMESPACE_LABELS_PREFIX}{k}"), v.clone())).collect();
    let mut expressions: Vec<meta::LabelSelectorRequirement> = s
        .expressions
        .iter()
        .map(|e| requirement(&format!("{NAMESPACE_LABELS_PREFIX}{}", e.key), e.op, &e.values))
        .collect();
    expressions.push(requirement(NAMESPACE_LABEL, LabelOp::Exists, &[]));
    selector(labels, expressions)
}

/// The pods `pods` picks in the namespaces whose labels match `set`: the pod labels and the
/// namespace labels in one endpoint selector, which must hold together.
pub(super) fn workload_in_selector(pods: &LabelSelector, set: &LabelSelector) -> meta::LabelSelector {
    let mut labels: BTreeMap<String, String> =
        pods.match_labels.iter().map(|(k, v)| (format!("{K8S_SOURCE}{k}"), v.clone())).collect();
    labels.extend(set.match_labels.iter().map(|(k, v)| (format!("{NAMESPACE_LABELS_PREFIX}{k}"), v.clone())));
    let mut expressions: Vec<meta::LabelSelectorRequirement> = pods
        .expressions
        .iter()
        .map(|e| requirement(&format!("{K8S_SOURCE}{}", e.key), e.op, &e.values))
        .collect();
    expressions.extend(
        set.expressions
            .iter()
            .map(|e| requirement(&format!("{NAMESPACE_LABELS_PREFIX}{}", e.key), e.op, &e.values)),
    );
    expressions.push(requirement(NAMESPACE_LABEL, LabelOp::Exists, &[]));
    selector(labels, expressions)
}

/// Every pod in every namespace: what Cilium itself adds to a clusterwide selector
/// (`getEndpointSelector`: "only match endpoints that contains a namespace label").
pub(super) fn all_pods_selector() -> meta::LabelSelector {
    selector(BTreeMap::new(), vec![requirement(NAMESPACE_LABEL, LabelOp::Exists, &[])])
}

pub(super) fn kube_dns_selector() -> meta::LabelSelector {
    selector(
        BTreeMap::from([
            (NAMESPACE_LABEL.to_string(), KUBE_DNS_NAMESPACE.to_string()),
            (format!("{K8S_SOURCE}{}", KUBE_DNS_LABEL.0), KUBE_DNS_LABEL.1.to_string()),
        ]),
        Vec::new(),
    )
}

pub(super) fn requirement(key: &str, op: LabelOp, values: &[String]) -> meta::LabelSelectorRequirement {
    meta::LabelSelectorRequirement {
        key: key.to_string(),
        operator: op.as_k8s().to_string(),
        values: (!values.is_empty()).then(|| values.to_vec()),
    }
}

pub(super) fn selector(
    labels: BTreeMap<String, String>,
    expressions: Vec<meta::LabelSelectorRequirement>,
) -> meta::LabelSelector {
    meta::LabelSelector {
        match_labels: (!labels.is_empty()).then_some(labels),
        match_expressions: (!expressions.is_empty()).then_some(expressions),
    }
}

/// A selector of the program, as [`Emitter::checked`] keeps it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Labels {
    Workload(WorkloadId),
    Set(NamespaceSetId),
}

impl Emitter<'_> {
    /// [`identity_labels`](Self::identity_labels) of a workload's or a namespace set's selector,
    /// once per emitter.
    pub(super) fn check_labels(&mut self, of: Labels) {
        if !self.checked.insert(of) {
            return;
        }
        let p = self.program;
        match of {
            Labels::Workload(w) => {
                let wl = p.workload(w);
                self.identity_labels(&wl.selector, "", wl.span);
            }
            Labels::Set(s) => {
                let set = p.namespace_set(s);
                self.identity_labels(&set.selector, NAMESPACE_LABELS_PREFIX, set.span);
            }
        }
    }

    /// Cilium matches selectors against security identities, which leave out the labels its
    /// default label filter drops (`pkg/labelsfilter/filter.go`: `kubernetes.io/…`,
    /// `k8s.io/…`, `pod-template-hash`, …). A selector on such a label matches no pod: as a
    /// subject the workload would be left unpoliced, as a peer the rule would allow nothing,
    /// and a `DoesNotExist` would match every pod. Each is a different meaning, so it is an
    /// error. `prefix` is how the key appears in identities (namespace labels are copied
    /// onto pods under a prefix).
    fn identity_labels(&mut self, s: &LabelSelector, prefix: &str, span: Span) {
        let keys = s.match_labels.keys().chain(s.expressions.iter().map(|e| &e.key));
        for key in keys {
            let full = format!("{prefix}{key}");
            if let Some(why) = validated_key_problem(&full) {
                self.errors.push(EmitError::Unrepresentable {
                    target: Target::Cilium,
                    what: format!("the label key `{key}` ({why})"),
                    span,
                    help: format!(
                        "Cilium validates a selector key with its source as part of the key \
                         (`{}`), so a pod label key without `/` has at most {} characters and a \
                         namespace label key at most {}; shorten the key or select on another label",
                        validated_key(&full),
                        63 - K8S_VALIDATED.len(),
                        63 - K8S_VALIDATED.len() - (NAMESPACE_LABELS_PREFIX.len() - K8S_SOURCE.len()),
                    ),
                });
            }
            if !crate::analysis::targets::cilium::in_identity(full.strip_prefix(K8S_SOURCE).unwrap_or(&full))
            {
                self.errors.push(EmitError::Unsupported {
                    target: Target::Cilium,
                    construct: format!("a selector on the label `{key}`"),
                    span,
                    help: format!(
                        "Cilium's default label filter leaves `{key}` out of security identities, so no \
                         pod matches it; select on another label of these pods (e.g. `app.kubernetes.io/name`)"
                    ),
                });
            }
        }
    }
}
