//! The world a question is asked about: policy manifests that anyone wrote, in any of the three
//! dialects, and the cluster's namespaces and pods (the inventory), read from YAML or JSON
//! streams: files written by hand, Helm-rendered output, `kubectl get … -o yaml` dumps.
//!
//! Every document is classified by its `apiVersion` and `kind` ([`classify`]):
//! - policies: `networking.k8s.io/v1` NetworkPolicy and `policy.networking.k8s.io/v1alpha2`
//!   ClusterNetworkPolicy (Kubernetes, cluster-scoped for the latter); `cilium.io/v2`
//!   CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy (Cilium); `projectcalico.org/v3`
//!   NetworkPolicy, GlobalNetworkPolicy, Tier and the other policy kinds, and the same objects
//!   as stored under `crd.projectcalico.org/v1` (Calico). Each dialect's reader in
//!   [`crate::analysis::targets`] reads them as its CNI does;
//! - inventory ([`inventory`]): Namespaces, Pods, the pod templates of Deployments,
//!   StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs and ReplicationControllers, and
//!   Services;
//! - lists (`kind: List`, or `PodList` and the like as the API returns them): their items,
//!   each classified in turn;
//! - policy kinds netpol does not read (AdminNetworkPolicy, BaselineAdminNetworkPolicy, and
//!   ClusterNetworkPolicy under a CNI other than the API's own reading) are a warning, since
//!   they change what the cluster allows; anything else is skipped with a note.
//!
//! Diagnostics point at the document (or list item) in its file, and name the object and the
//! field path.

pub mod coverage;
pub mod expects;
pub mod inventory;
pub mod ports;
pub mod reading;
pub mod universe;

use crate::diagnostic::Diagnostic;
use crate::span::{FileId, SourceMap, Span};
use inventory::Inventory;
use serde_json::Value;

/// A policy dialect, read per document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dialect {
    Kubernetes,
    Cilium,
    Calico,
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Kubernetes => "kubernetes",
            Dialect::Cilium => "cilium",
            Dialect::Calico => "calico",
        }
    }
}

/// What a document is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Policy(Dialect),
    /// A policy kind netpol does not read, which changes what a cluster allows.
    UnreadPolicy,
    Inventory(inventory::Kind),
    List,
    Other,
}

use crate::analysis::targets::kubernetes::{CNP_API_VERSION, CNP_KIND};

const CALICO_V3: &str = "projectcalico.org/v3";
const CALICO_CRD: &str = "crd.projectcalico.org/v1";
/// Calico's policy kinds (projectcalico/api `pkg/apis/projectcalico/v3`).
const CALICO_KINDS: [&str; 9] = [
    "NetworkPolicy",
    "GlobalNetworkPolicy",
    "Tier",
    "NetworkSet",
    "GlobalNetworkSet",
    "StagedNetworkPolicy",
    "StagedGlobalNetworkPolicy",
    "StagedKubernetesNetworkPolicy",
    "HostEndpoint",
];

/// The class of a document, from its `apiVersion` and `kind`.
pub fn classify(v: &Value) -> Class {
    let (Some(api), Some(kind)) = (v["apiVersion"].as_str(), v["kind"].as_str()) else {
        return if v["items"].is_array() && v["kind"].as_str().is_some_and(|k| k.ends_with("List")) {
            Class::List
        } else {
            Class::Other
        };
    };
    let group = api.rsplit_once('/').map_or("", |(g, _)| g);
    match (api, kind) {
        ("networking.k8s.io/v1", "NetworkPolicy") => Class::Policy(Dialect::Kubernetes),
        (CNP_API_VERSION, CNP_KIND) => Class::Policy(Dialect::Kubernetes),
        ("cilium.io/v2", "CiliumNetworkPolicy" | "CiliumClusterwideNetworkPolicy") => {
            Class::Policy(Dialect::Cilium)
        }
        (CALICO_V3 | CALICO_CRD, k) if CALICO_KINDS.contains(&k) => Class::Policy(Dialect::Calico),
        _ if kind.ends_with("List") && v["items"].is_array() => Class::List,
        // AdminNetworkPolicy, BaselineAdminNetworkPolicy (v1alpha1), other versions of
        // ClusterNetworkPolicy; Cilium's other policy kinds (CiliumCIDRGroup, the v2alpha1 forms).
        _ if group == "policy.networking.k8s.io" => Class::UnreadPolicy,
        _ if group == "cilium.io" && kind.contains("Policy") => Class::UnreadPolicy,
        _ => match inventory::kind(group, kind) {
            Some(k) => Class::Inventory(k),
            None => Class::Other,
        },
    }
}

/// An object read from a stream.
#[derive(Clone, Debug)]
pub struct Object {
    pub value: Value,
    /// The document, or the list item, in its file.
    pub span: Span,
    /// Where the object is inside its document: `items[3]` for a list item, else empty.
    pub path: String,
}

impl Object {
    /// `Kind namespace/name`, as readers name objects in their problems.
    pub fn name(&self) -> String {
        crate::analysis::targets::object_name(&self.value)
    }

    /// The span of `field` (`spec.ingress[0]`) in the object, as near as the file shows it.
    pub fn locate(&self, sources: &SourceMap, field: &str) -> Span {
        let text = &sources.text(self.span.file)[self.span.range()];
        let path = match (self.path.is_empty(), field.is_empty()) {
            (true, _) => field.to_string(),
            (false, true) => self.path.clone(),
            (false, false) => format!("{}.{field}", self.path),
        };
        match crate::yaml::locate(text, &path) {
            Some((s, e)) => {
                let base = self.span.start as usize;
                Span::new(self.span.file, base + s, base + e)
            }
            None => self.span,
        }
    }
}

/// Where an input file's objects go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    /// Policies, and any inventory objects beside them.
    Policies,
    /// Inventory only (`--inventory`): policies in it are left out, with a note.
    Inventory,
}

/// Everything read from the input streams.
#[derive(Default)]
pub struct World {
    pub policies: Vec<(Dialect, Object)>,
    pub inventory: Inventory,
    /// Whether an inventory was given (`--inventory`, or inventory objects beside policies).
    pub has_inventory: bool,
    pub diagnostics: Vec<Diagnostic>,
    /// Addresses known to be outside the cluster (recorded flows' `reserved:world` ends).
    pub outside: std::collections::BTreeSet<std::net::IpAddr>,
}

/// The span of line `n` (from 1) of `text`, without its indentation and line break.
fn line_span(text: &str, file: FileId, n: usize) -> Option<Span> {
    let start = if n <= 1 { 0 } else { text.match_indices('\n').nth(n - 2)?.0 + 1 };
    let line = text[start..].split('\n').next()?;
    let indent = line.len() - line.trim_start().len();
    Some(Span::new(file, start + indent, start + line.trim_end().len()))
}

/// Lists nested deeper than this are refused (a `List` of `List`s is already unusual).
const MAX_LIST_DEPTH: usize = 8;

impl World {
    /// Reads every document of one file. Namespaced objects without a namespace are read in
    /// `default_namespace`, as `kubectl apply` would put them (one note per file says so).
    pub fn add_file(&mut self, sources: &SourceMap, file: FileId, usage: Use, default_namespace: &str) {
        let text = sources.text(file);
        let mut defaulted = 0;
        let mut first_defaulted: Option<Span> = None;
        for doc in crate::yaml::parse_stream(text) {
            let span = Span::new(file, doc.start, doc.end.max(doc.start));
            let value = match doc.value {
                Ok(Value::Null) => continue,
                Ok(v) => v,
                Err(e) => {
                    // `line N: …`: the line the reader stopped at.
                    let span = e
                        .strip_prefix("line ")
                        .and_then(|r| r.split_once(':'))
                        .and_then(|(n, _)| n.parse::<usize>().ok())
                        .and_then(|n| line_span(text, file, n))
                        .unwrap_or(span);
                    self.diagnostics.push(
                        Diagnostic::error("E0601", format!("cannot read this document: {e}"), span, "here")
                            .with_help(
                                "manifests are YAML or JSON; quote any scalar that YAML 1.1 and 1.2 read differently \
                                 (kubectl reads YAML 1.1), and drop anchors and tags",
                            ),
                    );
                    continue;
                }
            };
            let object = Object { value, span, path: String::new() };
            self.add_object(
                sources,
                object,
                usage,
                default_namespace,
                0,
                &mut (&mut defaulted, &mut first_defaulted),
            );
        }
        if let Some(span) = first_defaulted {
            self.diagnostics.push(
                Diagnostic::note(
                    "N0603",
                    format!(
                        "{defaulted} object(s) in this file have no namespace; read in `{default_namespace}`"
                    ),
                    span,
                    "the first of them",
                )
                .with_help(
                    "`kubectl apply` puts them in the namespace of its context; say which with --namespace",
                ),
            );
        }
    }

    fn add_object(
        &mut self,
        sources: &SourceMap,
        mut object: Object,
        usage: Use,
        default_namespace: &str,
        depth: usize,
        defaulted: &mut (&mut usize, &mut Option<Span>),
    ) {
        let class = classify(&object.value);
        // The object itself in its file (at its `kind`), found only when a diagnostic needs it.
        let here = |o: &Object| o.locate(sources, "kind");
        let namespaced = match class {
            Class::Policy(_) => !matches!(
                object.value["kind"].as_str(),
                Some(
                    "CiliumClusterwideNetworkPolicy"
                        | CNP_KIND
                        | "GlobalNetworkPolicy"
                        | "Tier"
                        | "GlobalNetworkSet"
                        | "StagedGlobalNetworkPolicy"
                        | "HostEndpoint"
                )
            ),
            Class::Inventory(k) => k.is_namespaced(),
            _ => false,
        };
        if namespaced && object.value["metadata"]["namespace"].as_str().is_none() {
            if let Some(meta) = object.value.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.insert("namespace".into(), Value::String(default_namespace.to_string()));
                *defaulted.0 += 1;
                if defaulted.1.is_none() {
                    *defaulted.1 = Some(here(&object));
                }
            }
        }
        match class {
            Class::Policy(d) => match usage {
                Use::Policies => self.policies.push((d, object)),
                Use::Inventory => self.diagnostics.push(
                    Diagnostic::note(
                        "N0603",
                        format!("{} is a policy in an inventory file; not read as a policy", object.name()),
                        here(&object),
                        "this object",
                    )
                    .with_help("give policies as paths, and only namespaces, pods and workloads with --inventory"),
                ),
            },
            Class::UnreadPolicy => self.diagnostics.push(
                Diagnostic::warning(
                    "W0602",
                    format!(
                        "{} is a kind of policy netpol does not read: the answers leave it out",
                        object.name()
                    ),
                    here(&object),
                    "not read",
                )
                .with_help(
                    "what this policy allows or denies is not in the answers; check the connections it decides by hand",
                ),
            ),
            Class::Inventory(kind) => {
                self.has_inventory = true;
                if let Err(why) = self.inventory.add_at(kind, &object.value, Some((object.span, object.path.clone()))) {
                    self.diagnostics.push(
                        Diagnostic::warning(
                            "W0604",
                            format!("{}: {why}; left out of the inventory", object.name()),
                            here(&object),
                            "this object",
                        )
                        .with_help("fix the object, or leave it out of the inventory"),
                    );
                }
            }
            Class::List => {
                if depth >= MAX_LIST_DEPTH {
                    self.diagnostics.push(
                        Diagnostic::error("E0601", "lists nested too deep; not read", here(&object), "here")
                            .with_help("give the items as documents of a stream"),
                    );
                    return;
                }
                let list_kind = object.value["kind"].as_str().unwrap_or("List").to_string();
                let list_api = object.value["apiVersion"].clone();
                let Value::Array(items) = object.value["items"].take() else { return };
                for (i, mut item) in items.into_iter().enumerate() {
                    // The API returns a typed list's items without their kind.
                    if let Some(map) = item.as_object_mut() {
                        if !map.contains_key("kind") && list_kind != "List" {
                            let kind = list_kind.trim_end_matches("List").to_string();
                            map.insert("kind".into(), Value::String(kind));
                            if !map.contains_key("apiVersion") {
                                map.insert("apiVersion".into(), list_api.clone());
                            }
                        }
                    }
                    let path =
                        if object.path.is_empty() { format!("items[{i}]") } else { format!("{}.items[{i}]", object.path) };
                    // The item keeps its document's span; its path locates it there.
                    let item = Object { value: item, span: object.span, path };
                    self.add_object(sources, item, usage, default_namespace, depth + 1, defaulted);
                }
            }
            Class::Other => {
                let kind = object.value["kind"].as_str().unwrap_or("a document without a kind");
                self.diagnostics.push(
                    Diagnostic::note(
                        "N0603",
                        format!("skipped {kind}: neither a policy nor part of the inventory"),
                        here(&object),
                        "skipped",
                    )
                    .with_help("netpol reads network policies, namespaces, pods, workloads and services"),
                );
            }
        }
    }

    /// The dialects of the policies read, in order.
    pub fn dialects(&self) -> Vec<Dialect> {
        let mut d: Vec<Dialect> = self.policies.iter().map(|(d, _)| *d).collect();
        d.sort();
        d.dedup();
        d
    }
}
