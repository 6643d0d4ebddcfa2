//! The inventory: the namespaces and pods of a cluster, from the objects that describe them.
//!
//! - A `Namespace` gives its labels. The API server sets `kubernetes.io/metadata.name` on every
//!   namespace (since 1.22), so that label is added when a manifest leaves it out.
//! - A `Pod` is a pod; a workload's pod template (Deployment, StatefulSet, DaemonSet,
//!   ReplicaSet, ReplicationController, Job, CronJob) stands for the pods it makes: their
//!   namespace, labels, named container ports and service account
//!   (`spec.serviceAccountName`, else `default`).
//! - In a dump that holds both a workload and its pods (`kubectl get all -o yaml`), the pods
//!   stand for themselves and the template that made them is left out, known through the
//!   `ownerReferences` of the pods and of their ReplicaSets and Jobs. A ReplicaSet or Job whose
//!   owner (Deployment, CronJob) is in the inventory is left out too: the owner's template
//!   stands for it.
//! - A `Service` is kept with its selector and ports, for the policy kinds that name services.

use crate::ir::Protocol;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The kinds of inventory objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Namespace,
    Pod,
    Deployment,
    StatefulSet,
    DaemonSet,
    ReplicaSet,
    ReplicationController,
    Job,
    CronJob,
    Service,
}

impl Kind {
    pub fn is_namespaced(self) -> bool {
        self != Kind::Namespace
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Namespace => "Namespace",
            Kind::Pod => "Pod",
            Kind::Deployment => "Deployment",
            Kind::StatefulSet => "StatefulSet",
            Kind::DaemonSet => "DaemonSet",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::ReplicationController => "ReplicationController",
            Kind::Job => "Job",
            Kind::CronJob => "CronJob",
            Kind::Service => "Service",
        }
    }
}

/// The inventory kind of an API group (`""` for the core group) and kind.
pub fn kind(group: &str, kind: &str) -> Option<Kind> {
    Some(match (group, kind) {
        ("", "Namespace") => Kind::Namespace,
        ("", "Pod") => Kind::Pod,
        ("", "Service") => Kind::Service,
        ("", "ReplicationController") => Kind::ReplicationController,
        ("apps" | "extensions", "Deployment") => Kind::Deployment,
        ("apps" | "extensions", "DaemonSet") => Kind::DaemonSet,
        ("apps" | "extensions", "ReplicaSet") => Kind::ReplicaSet,
        ("apps", "StatefulSet") => Kind::StatefulSet,
        ("batch", "Job") => Kind::Job,
        ("batch", "CronJob") => Kind::CronJob,
        _ => return None,
    })
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NamedPort {
    pub name: String,
    pub protocol: Protocol,
    pub port: u16,
}

#[derive(Clone, Debug)]
pub struct Namespace {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

/// A pod, or the pods of a template.
#[derive(Clone, Debug)]
pub struct Pod {
    pub namespace: String,
    /// `name` for a Pod, `name(Kind)` for a workload's template.
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// Sorted.
    pub ports: Vec<NamedPort>,
    pub service_account: String,
    /// The object it comes from: a Pod, or the workload whose template it is.
    kind: Kind,
    /// The object's own name.
    object: String,
    /// The controller that owns the object, as its `ownerReferences` say: (kind, name).
    owner: Option<(String, String)>,
    /// Where the object is: its document and its path there (see [`super::Object`]).
    pub at: Option<(crate::span::Span, String)>,
}

#[derive(Clone, Debug)]
pub struct Service {
    pub namespace: String,
    pub name: String,
    /// `None`: a Service without a selector (its endpoints are managed by hand).
    pub selector: Option<BTreeMap<String, String>>,
}

#[derive(Default)]
pub struct Inventory {
    pub namespaces: Vec<Namespace>,
    /// Pods and templates, in the order read; see [`Inventory::pods`].
    entries: Vec<Pod>,
    pub services: Vec<Service>,
}

fn string_map(v: &Value, what: &str) -> Result<BTreeMap<String, String>, String> {
    match v {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(format!("{what} `{k}` has the value {other}, which is not a string")),
            })
            .collect(),
        other => Err(format!("{what} are not a map: {other}")),
    }
}

/// The controller among `ownerReferences` (`controller: true`), else the first owner.
fn owner(meta: &Value) -> Option<(String, String)> {
    let refs = meta["ownerReferences"].as_array()?;
    let r = refs.iter().find(|r| r["controller"] == Value::Bool(true)).or(refs.first())?;
    Some((r["kind"].as_str()?.to_string(), r["name"].as_str()?.to_string()))
}

/// A pod spec's named container ports and service account.
fn pod_spec(spec: &Value) -> Result<(Vec<NamedPort>, String), String> {
    let mut ports = BTreeSet::new();
    for (i, c) in spec["containers"].as_array().into_iter().flatten().enumerate() {
        for (j, p) in c["ports"].as_array().into_iter().flatten().enumerate() {
            let at = format!("spec.containers[{i}].ports[{j}]");
            let Some(name) = p["name"].as_str() else { continue };
            let port = p["containerPort"]
                .as_u64()
                .filter(|n| (1..=65535).contains(n))
                .ok_or_else(|| format!("{at}.containerPort is not a port number"))?;
            // "Must be UDP, TCP, or SCTP. Defaults to "TCP"" (core/v1 ContainerPort).
            let protocol = match p["protocol"].as_str() {
                None => Protocol::Tcp,
                Some(s) => Protocol::ALL
                    .into_iter()
                    .find(|x| x.as_str() == s)
                    .ok_or_else(|| format!("{at}.protocol {s:?} is not TCP, UDP or SCTP"))?,
            };
            ports.insert(NamedPort { name: name.to_string(), protocol, port: port as u16 });
        }
    }
    // `serviceAccount` is the deprecated alias (core/v1 PodSpec).
    let sa = spec["serviceAccountName"].as_str().or(spec["serviceAccount"].as_str()).unwrap_or("default");
    Ok((ports.into_iter().collect(), sa.to_string()))
}

impl Inventory {
    /// Adds one object of `kind`; `Err` says why it cannot be used.
    pub fn add(&mut self, kind: Kind, v: &Value) -> Result<(), String> {
        self.add_at(kind, v, None)
    }

    /// [`Inventory::add`], remembering where the object is.
    pub fn add_at(
        &mut self,
        kind: Kind,
        v: &Value,
        at: Option<(crate::span::Span, String)>,
    ) -> Result<(), String> {
        let meta = &v["metadata"];
        let name = meta["name"].as_str().ok_or("no metadata.name")?.to_string();
        let namespace = || -> Result<String, String> {
            Ok(meta["namespace"].as_str().ok_or("no metadata.namespace")?.to_string())
        };
        match kind {
            Kind::Namespace => {
                let mut labels = string_map(&meta["labels"], "metadata.labels")?;
                labels
                    .entry(crate::analysis::universe::NAMESPACE_NAME_LABEL.to_string())
                    .or_insert_with(|| name.clone());
                self.namespaces.push(Namespace { name, labels });
            }
            Kind::Service => {
                let selector = match &v["spec"]["selector"] {
                    Value::Null => None,
                    s => Some(string_map(s, "spec.selector")?),
                };
                self.services.push(Service { namespace: namespace()?, name, selector });
            }
            _ => {
                let template = match kind {
                    Kind::Pod => v,
                    Kind::CronJob => &v["spec"]["jobTemplate"]["spec"]["template"],
                    _ => &v["spec"]["template"],
                };
                if !template.is_object() {
                    return Err("no pod template".into());
                }
                let labels = string_map(&template["metadata"]["labels"], "labels")?;
                let (ports, service_account) = pod_spec(&template["spec"])?;
                let shown = if kind == Kind::Pod { name.clone() } else { format!("{name}({})", kind.name()) };
                self.entries.push(Pod {
                    namespace: namespace()?,
                    name: shown,
                    labels,
                    ports,
                    service_account,
                    kind,
                    object: name,
                    owner: owner(meta),
                    at,
                });
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty() && self.entries.is_empty()
    }

    /// The pods: every Pod, and the template of every workload that no Pod or owning workload
    /// of the inventory stands for (see the module comment).
    pub fn pods(&self) -> Vec<&Pod> {
        // (namespace, kind, name) of every workload present.
        let present: BTreeSet<(&str, &str, &str)> = self
            .entries
            .iter()
            .filter(|p| p.kind != Kind::Pod)
            .map(|p| (p.namespace.as_str(), p.kind.name(), p.object.as_str()))
            .collect();
        // Owners of ReplicaSets and Jobs: (namespace, kind, name) → its owner's (kind, name).
        let owner_of: BTreeMap<(&str, &str, &str), (&str, &str)> = self
            .entries
            .iter()
            .filter(|p| matches!(p.kind, Kind::ReplicaSet | Kind::Job))
            .filter_map(|p| {
                let (k, n) = p.owner.as_ref()?;
                Some(((p.namespace.as_str(), p.kind.name(), p.object.as_str()), (k.as_str(), n.as_str())))
            })
            .collect();
        // Workloads some Pod stands for: its owner, and its owner's owner.
        let mut made_pods: BTreeSet<(&str, &str, &str)> = BTreeSet::new();
        for p in self.entries.iter().filter(|p| p.kind == Kind::Pod) {
            if let Some((k, n)) = &p.owner {
                let key = (p.namespace.as_str(), k.as_str(), n.as_str());
                made_pods.insert(key);
                if let Some((k2, n2)) = owner_of.get(&key) {
                    made_pods.insert((p.namespace.as_str(), k2, n2));
                }
            }
        }
        self.entries
            .iter()
            .filter(|p| {
                if p.kind == Kind::Pod {
                    return true;
                }
                let key = (p.namespace.as_str(), p.kind.name(), p.object.as_str());
                if made_pods.contains(&key) {
                    return false;
                }
                // A ReplicaSet or Job whose owner is here: the owner's template stands for it.
                !owner_of.get(&key).is_some_and(|(k, n)| present.contains(&(p.namespace.as_str(), k, n)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn add(inv: &mut Inventory, v: Value) {
        let api = v["apiVersion"].as_str().expect("api");
        let group = api.rsplit_once('/').map_or("", |x| x.0);
        let k = kind(group, v["kind"].as_str().expect("kind")).expect("inventory kind");
        inv.add(k, &v).expect("reads");
    }

    #[test]
    fn pods_stand_for_the_workloads_that_made_them() {
        let mut inv = Inventory::default();
        let template = json!({"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}, {"containerPort": 9}]}]}});
        add(
            &mut inv,
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"}, "spec": {"template": template}}),
        );
        add(
            &mut inv,
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-1", "namespace": "shop", "ownerReferences": [{"kind": "Deployment", "name": "web", "controller": true}]},
            "spec": {"template": template}}),
        );
        add(
            &mut inv,
            json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-1-x", "namespace": "shop", "labels": {"app": "web"},
                         "ownerReferences": [{"kind": "ReplicaSet", "name": "web-1", "controller": true}]},
            "spec": {"serviceAccountName": "web", "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]}]}}),
        );
        add(
            &mut inv,
            json!({"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "report", "namespace": "shop"},
            "spec": {"jobTemplate": {"spec": {"template": {"metadata": {"labels": {"app": "report"}}, "spec": {"containers": []}}}}}}),
        );
        let pods = inv.pods();
        let names: Vec<&str> = pods.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["web-1-x", "report(CronJob)"]);
        assert_eq!(pods[0].service_account, "web");
        assert_eq!(pods[0].ports, [NamedPort { name: "http".into(), protocol: Protocol::Tcp, port: 8080 }]);
        assert_eq!(pods[1].service_account, "default");
        // Without its pods the Deployment's template stands for them, and not the ReplicaSet's.
        let mut inv = Inventory::default();
        add(
            &mut inv,
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"}, "spec": {"template": template}}),
        );
        add(
            &mut inv,
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-1", "namespace": "shop", "ownerReferences": [{"kind": "Deployment", "name": "web"}]},
            "spec": {"template": template}}),
        );
        let pods = inv.pods();
        assert_eq!(pods.len(), 1);
        assert_eq!(pods[0].name, "web(Deployment)");
        assert_eq!(pods[0].ports.len(), 1, "only named ports are kept");
    }

    #[test]
    fn odd_objects_say_why() {
        let mut inv = Inventory::default();
        let bad = [
            (Kind::Pod, json!({"metadata": {"namespace": "a"}})),
            (Kind::Pod, json!({"metadata": {"name": "p"}})),
            (Kind::Pod, json!({"metadata": {"name": "p", "namespace": "a", "labels": {"on": true}}})),
            (Kind::Deployment, json!({"metadata": {"name": "d", "namespace": "a"}})),
            (
                Kind::Pod,
                json!({"metadata": {"name": "p", "namespace": "a"},
                "spec": {"containers": [{"ports": [{"name": "x", "containerPort": 0}]}]}}),
            ),
            (
                Kind::Pod,
                json!({"metadata": {"name": "p", "namespace": "a"},
                "spec": {"containers": [{"ports": [{"name": "x", "containerPort": 80, "protocol": "tcp"}]}]}}),
            ),
        ];
        for (k, v) in bad {
            assert!(inv.add(k, &v).is_err(), "{v}");
        }
        assert!(inv.is_empty());
        inv.add(Kind::Namespace, &json!({"metadata": {"name": "shop", "labels": {"team": "a"}}}))
            .expect("ns");
        assert_eq!(inv.namespaces[0].labels["kubernetes.io/metadata.name"], "shop");
    }
}
