//! Stage 4, `emit`: IR → manifests. Each target is one module behind [`Backend`], picked by
//! [`Target`]; differences between CNIs live inside their module. Errors: E03xx.

pub use crate::targets::calico::emit as calico;
pub use crate::targets::cilium::emit as cilium;
pub use crate::targets::kubernetes::emit as kubernetes;
pub use crate::targets::kubernetes::emit_cluster as kubernetes_cnp;
pub mod validation;

use crate::diagnostic::Diagnostic;
use crate::ir::{Program, Protocol};
use crate::span::Span;
use std::fmt;
use std::str::FromStr;

/// The policy dialect to emit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Kubernetes,
    Cilium,
    Calico,
    /// Kubernetes NetworkPolicy for allows, with the network-policy API's ClusterNetworkPolicy
    /// (`policy.networking.k8s.io/v1alpha2`) for deny rules and cluster-wide defaults. Opt-in:
    /// not one of [`Target::ALL`], since a cluster needs an implementation of that API.
    KubernetesCnp,
}

impl Target {
    /// The three CNI dialects (`--target all`).
    pub const ALL: [Target; 3] = [Target::Kubernetes, Target::Cilium, Target::Calico];
    /// Every target, the opt-in ones included.
    pub const EVERY: [Target; 4] =
        [Target::Kubernetes, Target::Cilium, Target::Calico, Target::KubernetesCnp];

    pub fn name(self) -> &'static str {
        match self {
            Target::Kubernetes => "kubernetes",
            Target::Cilium => "cilium",
            Target::Calico => "calico",
            Target::KubernetesCnp => "kubernetes-cnp",
        }
    }

    /// The product name, for messages.
    pub fn title(self) -> &'static str {
        match self {
            Target::Kubernetes => "Kubernetes NetworkPolicy",
            Target::Cilium => "Cilium",
            Target::Calico => "Calico",
            Target::KubernetesCnp => "Kubernetes with ClusterNetworkPolicy",
        }
    }

    pub fn from_name(name: &str) -> Option<Target> {
        Target::EVERY.into_iter().find(|t| t.name() == name)
    }

    pub fn backend(self) -> &'static dyn Backend {
        match self {
            Target::Kubernetes => &kubernetes::Kubernetes,
            Target::Cilium => &cilium::Cilium,
            Target::Calico => &calico::Calico,
            Target::KubernetesCnp => &kubernetes_cnp::KubernetesCnp,
        }
    }
}

/// A CNI release, `major.minor[.patch]`, as given to `--cilium-version` / `--calico-version`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Version {
        Version { major, minor, patch }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.patch == 0 {
            write!(f, "{}.{}", self.major, self.minor)
        } else {
            write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
        }
    }
}

impl FromStr for Version {
    type Err = String;

    fn from_str(s: &str) -> Result<Version, String> {
        let bad = || format!("expected a version such as 1.16 or 1.16.3, got `{s}`");
        let t = s.trim().strip_prefix('v').unwrap_or(s.trim());
        let parts: Vec<&str> = t.split('.').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(bad());
        }
        let num = |p: &str| -> Result<u32, String> {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            p.parse().map_err(|_| bad())
        };
        Ok(Version {
            major: num(parts[0])?,
            minor: num(parts[1])?,
            patch: parts.get(2).map(|p| num(p)).transpose()?.unwrap_or(0),
        })
    }
}

/// The CNI releases the emitted policies must work on, and the optional ClusterNetworkPolicy
/// features the cluster's implementation of the network-policy API has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Versions {
    pub cilium: Version,
    pub calico: Version,
    pub cnp: CnpFeatures,
}

impl Versions {
    /// Cilium 1.18 and Calico 3.32: the oldest Cilium minor release still maintained, and the
    /// Calico release whose v3 CRDs the tests validate against; ClusterNetworkPolicy's standard
    /// channel only.
    pub const DEFAULT: Versions = Versions {
        cilium: Version::new(1, 18, 0),
        calico: Version::new(3, 32, 0),
        cnp: CnpFeatures::STANDARD,
    };
}

/// The experimental ClusterNetworkPolicy fields (network-policy-api v0.2.0, experimental
/// channel) an implementation supports, as the user names them (`--cnp-feature`). The standard
/// channel has none of them, and implementations differ in which they take.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CnpFeatures {
    /// Egress `domainNames` peers (Accept rules only).
    pub domain_names: bool,
    /// The priority of the first policy netpol writes in each tier (`--cnp-first-priority`):
    /// the rest follow one by one, so they stay clear of other administrators' priorities.
    pub first_priority: u16,
}

impl CnpFeatures {
    pub const STANDARD: CnpFeatures = CnpFeatures { domain_names: false, first_priority: 0 };
}

impl Default for Versions {
    fn default() -> Versions {
        Versions::DEFAULT
    }
}

/// One emitted object, ready to serialize.
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    pub kind: &'static str,
    /// `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    pub name: String,
    /// The full object (`apiVersion`, `kind`, `metadata`, `spec`) as one YAML document, in
    /// API field order. Objects are serialized as they are built, so a large program never
    /// holds a second, generic copy of its output.
    pub yaml: String,
    /// The statement this object mainly comes from.
    pub origin: Span,
}

impl Object {
    /// The object as a JSON value, read back from its YAML (for inspection and validation);
    /// `Null` when [`crate::yaml::parse`] refuses it.
    pub fn body(&self) -> serde_json::Value {
        crate::yaml::parse(&self.yaml).unwrap_or(serde_json::Value::Null)
    }
}

/// What a backend may ask of its caller beyond the IR: how to print a source location.
pub struct EmitContext<'a> {
    /// `file:line` of a span, for annotations. `Sync`: backends may emit on several threads.
    pub locate: &'a (dyn Fn(Span) -> String + Sync),
    /// The CNI releases to emit for.
    pub versions: Versions,
}

pub trait Backend: Sync {
    fn target(&self) -> Target;

    /// Every object for `program`, sorted by namespace and name; or every construct this
    /// target cannot express.
    fn emit(&self, program: &Program, cx: &EmitContext) -> Result<Vec<Object>, Vec<EmitError>>;
}

/// Labels every emitted object carries.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "netpol");
/// Annotation keys carrying provenance.
pub const ANNOTATION_SOURCE: &str = "netpol/source";
pub const ANNOTATION_RULES: &str = "netpol/rules";

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EmitError {
    /// The target has no way to express `construct`; emitting anything would drop or widen it.
    Unsupported { target: Target, construct: String, span: Span, help: String },
    /// Two objects would share a name; applying both would silently keep only one.
    NameClash { target: Target, name: String, first: Span, span: Span },
    /// The target can express `construct`, but not in the release the user runs.
    NeedsVersion { target: Target, construct: String, needs: Version, have: Version, span: Span },
    /// The target can express `construct` only with an optional feature the user has not said
    /// the cluster's implementation has (`flag`, e.g. `--cnp-feature domain-names`).
    NeedsFeature { target: Target, construct: String, feature: &'static str, flag: String, span: Span },
    /// A value the target's syntax cannot hold (too long, too many items, unquotable).
    Unrepresentable { target: Target, what: String, span: Span, help: String },
    /// Cilium resolves DNS names through its DNS proxy, which only sees lookups the
    /// workload may already send to the cluster DNS.
    FqdnWithoutDns { workload: String, span: Span },
    /// Cilium resolves a port name in an egress rule over the container ports of every pod of
    /// the cluster, not on the destination, so the rule would not mean what the source says.
    EgressNamedPort { name: String, protocol: Protocol, deny: bool, span: Span },
}

impl EmitError {
    pub fn code(&self) -> &'static str {
        match self {
            EmitError::Unsupported { .. } => "E0301",
            EmitError::NameClash { .. } => "E0302",
            EmitError::NeedsVersion { .. } | EmitError::NeedsFeature { .. } => "E0303",
            EmitError::Unrepresentable { .. } => "E0304",
            EmitError::FqdnWithoutDns { .. } => "E0305",
            EmitError::EgressNamedPort { .. } => "E0306",
        }
    }

    pub fn to_diagnostic(&self) -> Diagnostic {
        match self {
            EmitError::Unsupported { target, construct, span, help } => Diagnostic::error(
                self.code(),
                format!("target `{}` cannot express {construct}", target.name()),
                *span,
                format!("not expressible in {}", target.name()),
            )
            .with_help(help.clone()),
            EmitError::NameClash { target, name, first, span } => Diagnostic::error(
                self.code(),
                format!("two {} objects would be named `{name}`", target.name()),
                *span,
                "this object's name",
            )
            .with_label(*first, "clashes with the object from here")
            .with_help("rename the workload, so every emitted object has its own name"),
            EmitError::NeedsVersion { target, construct, needs, have, span } => {
                let flag = format!("--{}-version", target.name());
                Diagnostic::error(
                    self.code(),
                    format!("{construct} need {} {needs} or later; the target is {have}", target.title()),
                    *span,
                    format!("needs {} {needs}", target.title()),
                )
                .with_help(format!(
                    "if every cluster runs {} {needs} or later, say so with `{flag} {needs}`; \
                     otherwise rewrite the rule without {construct}",
                    target.title()
                ))
            }
            EmitError::NeedsFeature { target, construct, feature, flag, span } => Diagnostic::error(
                self.code(),
                format!("{construct} need {feature}, which not every implementation has"),
                *span,
                format!("needs {feature} (target `{}`)", target.name()),
            )
            .with_help(format!(
                "if the cluster's implementation supports {feature}, say so with `{flag}`; otherwise \
                 rewrite the rule without {construct}"
            )),
            EmitError::Unrepresentable { target, what, span, help } => Diagnostic::error(
                self.code(),
                format!("target `{}` cannot hold {what}", target.name()),
                *span,
                format!("does not fit {}", target.title()),
            )
            .with_help(help.clone()),
            EmitError::FqdnWithoutDns { workload, span } => Diagnostic::error(
                self.code(),
                format!("DNS names need `{workload}` to reach the cluster DNS on UDP or TCP 53"),
                *span,
                "Cilium learns the addresses of this name from DNS answers",
            )
            .with_help(format!(
                "Cilium matches DNS names through its DNS proxy, which only sees lookups the workload \
                 may send; add `{workload} connects to kube-dns`"
            )),
            EmitError::EgressNamedPort { name, protocol, deny, span } => {
                let port = format!("{} {name}", protocol.as_str().to_ascii_lowercase());
                let (verb, none) =
                    if *deny { ("denies", "denies nothing") } else { ("allows", "allows nothing") };
                Diagnostic::error(
                    self.code(),
                    format!("Cilium does not resolve the port name `{name}` on the destination of an egress rule"),
                    *span,
                    format!("`{port}` in an egress rule"),
                )
                .with_help(format!(
                    "Cilium looks `{name}` up in the container ports of every pod of the cluster: if two pods \
                     give it different numbers the rule {none}, and otherwise it {verb} that number towards \
                     every destination of the rule, whether the destination names the port or not; write the \
                     port number instead, e.g. `{} 8080`",
                    protocol.as_str().to_ascii_lowercase()
                ))
            }
        }
    }
}

/// Emits every workload's objects on several threads. `emit` gets a range of workload indices
/// and returns that range's objects and errors; they come back joined in workload order, so
/// the result never depends on scheduling.
pub(crate) fn per_workload(
    program: &Program,
    emit: impl Fn(std::ops::Range<usize>) -> (Vec<Object>, Vec<EmitError>) + Sync,
) -> (Vec<Object>, Vec<EmitError>) {
    let (mut objects, mut errors) = (Vec::new(), Vec::new());
    for (o, e) in crate::par::blocks(program.workloads.len(), 256, emit) {
        objects.extend(o);
        errors.extend(e);
    }
    (objects, errors)
}

/// The end of every backend's `emit`: its errors if there are any, else the objects sorted by
/// (namespace, kind, name), or the names that clash.
pub fn finish(
    target: Target,
    mut objects: Vec<Object>,
    errors: Vec<EmitError>,
) -> Result<Vec<Object>, Vec<EmitError>> {
    if !errors.is_empty() {
        return Err(errors);
    }
    objects.sort_by(|a, b| (&a.namespace, a.kind, &a.name).cmp(&(&b.namespace, b.kind, &b.name)));
    let clashes: Vec<EmitError> = objects
        .windows(2)
        .filter(|w| (&w[0].namespace, w[0].kind, &w[0].name) == (&w[1].namespace, w[1].kind, &w[1].name))
        .map(|w| EmitError::NameClash {
            target,
            name: w[1].name.clone(),
            first: w[0].origin,
            span: w[1].origin,
        })
        .collect();
    if clashes.is_empty() {
        Ok(objects)
    } else {
        Err(clashes)
    }
}

/// A custom resource as written: `apiVersion`, `kind`, `metadata`, `spec`, in that order.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Manifest<'a, S> {
    api_version: &'a str,
    kind: &'a str,
    metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    spec: S,
}

/// An [`Object`] for a custom resource (Cilium, Calico) whose spec is a typed serde struct.
pub(crate) fn custom_object<S: serde::Serialize>(
    api_version: &str,
    kind: &'static str,
    name: &str,
    namespace: Option<String>,
    annotations: std::collections::BTreeMap<String, String>,
    spec: S,
    origin: Span,
) -> Object {
    let manifest =
        Manifest { api_version, kind, metadata: metadata(name, namespace.as_deref(), annotations), spec };
    Object { kind, namespace, name: name.to_string(), yaml: crate::yaml::document(&manifest), origin }
}

/// Object metadata every backend writes: name, namespace, the managed-by label, annotations.
pub(crate) fn metadata(
    name: &str,
    namespace: Option<&str>,
    annotations: std::collections::BTreeMap<String, String>,
) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        name: Some(name.to_string()),
        namespace: namespace.map(str::to_string),
        labels: Some(std::collections::BTreeMap::from([(
            MANAGED_BY.0.to_string(),
            MANAGED_BY.1.to_string(),
        )])),
        annotations: (!annotations.is_empty()).then_some(annotations),
        ..Default::default()
    }
}

/// A default deny's object name (`default-deny-ingress`) and annotations (its source line, and
/// its reason as the rules' note), the annotations checked against the size limit (E0304 in
/// `errors`). `kind` names the object in that message. Every backend writes its default denies'
/// names and annotations this way.
pub(crate) fn default_deny_meta(
    target: Target,
    kind: &str,
    d: &crate::ir::DefaultDeny,
    cx: &EmitContext,
    errors: &mut Vec<EmitError>,
) -> (String, std::collections::BTreeMap<String, String>) {
    let mut annotations =
        std::collections::BTreeMap::from([(ANNOTATION_SOURCE.to_string(), (cx.locate)(d.origin))]);
    if let Some(r) = &d.reason {
        annotations.insert(ANNOTATION_RULES.to_string(), r.clone());
    }
    let name = format!("default-deny-{}", d.direction.as_str());
    let on = format!("the {kind} `{name}`");
    errors.extend(validation::annotations_too_large(target, &annotations, &on, d.origin));
    (name, annotations)
}

/// The words of a deny rule, for messages.
pub(crate) fn deny_construct(direction: crate::ir::Direction) -> &'static str {
    match direction {
        crate::ir::Direction::Ingress => "deny rules (`refuses`)",
        crate::ir::Direction::Egress => "deny rules (`never connects to`)",
    }
}

/// `: reason`, or nothing.
pub(crate) fn reason_suffix(reason: &Option<String>) -> String {
    reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
}
