//! The points of a [`World`]: its inventory's pods, or pods made up from its policies when
//! there is no inventory, plus the points outside the pods every universe has.
//!
//! - **With an inventory**, there is one point per distinct namespace, labels, named ports
//!   and service account; a point stands for every inventory pod that has them
//!   ([`Population::members`]), so answers name the inventory's objects. Namespaces listed in
//!   the inventory have known labels; others (named only by a pod, a policy or the program)
//!   are known by name alone. The cluster DNS pod is the inventory's (`k8s-app: kube-dns` in
//!   `kube-system`), else one is added, since every cluster has one.
//! - **Without one**, each namespace some policy or the program names gets a pod without labels,
//!   and each label set a policy's selectors ask for (`matchLabels`, an `In` value, a Calico
//!   `key == 'value'`) a pod in the policy's namespace, and every workload of the program its
//!   representative pod. These only choose *which* pods are looked at: what a policy does to
//!   each is always read exactly.
//! - **Addresses**: the first and last address of every network a policy names (any string of
//!   a policy that reads as a network or an address), of every network of the program's
//!   `expect`s, and any address a question names.

use super::inventory::NamedPort;
use super::World;
use crate::analysis::universe::{Role, Universe, ZoneId, KUBE_DNS_POD};
use crate::ir::{Peer, Program, KUBE_DNS_LABEL, KUBE_DNS_NAMESPACE};
use ipnet::IpNet;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// A universe built from a world, with the inventory pods each point stands for.
pub struct Population {
    pub universe: Universe,
    /// Per point: the inventory pods it stands for, as `namespace/name`; empty for points
    /// that are not inventory pods.
    pub members: Vec<Vec<String>>,
    /// Per point: the named container ports of its pods (inventory pods only).
    pub ports: Vec<Vec<NamedPort>>,
    /// Per point: where the first of its inventory pods is (its document and path there).
    pub at: Vec<Option<(crate::span::Span, String)>>,
}

impl Population {
    /// The universe with its zones bound to `program`'s namespaces instead, for reading that
    /// program over the same points. `None` when a namespace of the program has no zone (the
    /// universe was not built for it).
    pub fn bound_to(&self, program: &Program) -> Option<Universe> {
        let mut u = self.universe.clone();
        let mut zone_of_ns = Vec::with_capacity(program.namespaces.len());
        for n in &program.namespaces {
            zone_of_ns.push(u.zone_named(&n.name)?);
        }
        for z in 0..u.zones.len() {
            let name = &u.zones[z].name;
            let ns = program.namespaces.iter().position(|n| &n.name == name);
            u.zones[z].namespace = ns.map(|i| crate::ir::NamespaceId(i as u32));
        }
        let kube_dns = u.kube_dns();
        u.set_inventory(zone_of_ns, kube_dns);
        Some(u)
    }

    /// The names a point stands for: its inventory pods, or its own name.
    pub fn names(&self, p: u32) -> Vec<&str> {
        match self.members.get(p as usize) {
            Some(m) if !m.is_empty() => m.iter().map(String::as_str).collect(),
            _ => vec![self.universe.point(p).name.as_str()],
        }
    }

    /// The point a name stands for: an inventory pod (`ns/name`, `ns/name(Kind)`, or `ns/name`
    /// for a workload's template), a point's own name, or an address.
    pub fn find(&self, name: &str) -> Option<u32> {
        let u = &self.universe;
        if let Some(p) = self.members.iter().position(|m| m.iter().any(|x| x == name)) {
            return Some(p as u32);
        }
        fn template(x: &str) -> Option<&str> {
            x.strip_suffix(')').and_then(|x| x.rsplit_once('(')).map(|x| x.0)
        }
        if let Some(p) = self.members.iter().position(|m| m.iter().any(|x| template(x) == Some(name))) {
            return Some(p as u32);
        }
        u.ids().find(|p| u.point(*p).name == name)
    }
}

/// Builds the universe of `world` (and of `program`'s namespaces, workloads and networks),
/// with `extra` addresses.
pub fn build(world: &World, program: Option<&Program>, extra: &[IpAddr]) -> Population {
    let programs: Vec<&Program> = program.into_iter().collect();
    build_for(world, &programs, extra)
}

/// [`build`] for several programs at once (`diff` compares two): the namespaces, workloads and
/// networks of each. The universe is bound to the first program's namespaces; see
/// [`Population::bound_to`] for the others.
pub fn build_for(world: &World, programs: &[&Program], extra: &[IpAddr]) -> Population {
    let program = programs.first().copied();
    let mut u = Universe::empty();
    // Zones: every namespace named anywhere, in name order; known labels where listed.
    let mut names: BTreeSet<String> = BTreeSet::from([KUBE_DNS_NAMESPACE.to_string()]);
    names.extend(world.inventory.namespaces.iter().map(|n| n.name.clone()));
    let pods = world.inventory.pods();
    names.extend(pods.iter().map(|p| p.namespace.clone()));
    for (_, o) in &world.policies {
        names.extend(o.value["metadata"]["namespace"].as_str().map(str::to_string));
        if !world.has_inventory {
            collect_namespace_names(&o.value, &mut names);
        }
    }
    for p in programs {
        names.extend(p.namespaces.iter().map(|n| n.name.clone()));
    }
    let listed: BTreeMap<&str, &BTreeMap<String, String>> =
        world.inventory.namespaces.iter().map(|n| (n.name.as_str(), &n.labels)).collect();
    let mut zone_of: BTreeMap<String, ZoneId> = BTreeMap::new();
    for name in &names {
        let ns = program.and_then(|p| p.namespaces.iter().position(|n| &n.name == name));
        let z = u.add_zone(name, ns.map(|i| crate::ir::NamespaceId(i as u32)));
        if let Some(labels) = listed.get(name.as_str()) {
            let zone = u.zone_mut(z);
            zone.labels = (*labels).clone();
            zone.labels_known = true;
        }
        zone_of.insert(name.clone(), z);
    }
    let mut members: Vec<Vec<String>> = Vec::new();
    let mut ports: Vec<Vec<NamedPort>> = Vec::new();
    let mut at: Vec<Option<(crate::span::Span, String)>> = Vec::new();
    let mut kube_dns = None;
    let (dns_key, dns_value) = KUBE_DNS_LABEL;
    if world.has_inventory {
        // One point per distinct (namespace, labels, named ports, service account).
        type Key<'a> = (&'a str, &'a BTreeMap<String, String>, &'a [NamedPort], &'a str);
        let mut groups: BTreeMap<Key, Vec<(String, &super::inventory::Pod)>> = BTreeMap::new();
        for p in &pods {
            groups
                .entry((&p.namespace, &p.labels, &p.ports, &p.service_account))
                .or_default()
                .push((format!("{}/{}", p.namespace, p.name), p));
        }
        for ((ns, labels, named, sa), mut group) in groups {
            group.sort_by(|a, b| a.0.cmp(&b.0));
            let first_at = group[0].1.at.clone();
            let names: Vec<String> = group.into_iter().map(|g| g.0).collect();
            let name = match names.len() {
                1 => names[0].clone(),
                n => format!("{} (+{} like it)", names[0], n - 1),
            };
            let p = u.add_pod(Role::Inventory, zone_of[ns], labels.clone(), name);
            u.points[p as usize].service_account = Some(sa.to_string());
            if kube_dns.is_none()
                && ns == KUBE_DNS_NAMESPACE
                && labels.get(dns_key).is_some_and(|v| v == dns_value)
            {
                kube_dns = Some(p);
            }
            pad(&mut members, p);
            members[p as usize] = names;
            ports.resize(p as usize + 1, Vec::new());
            ports[p as usize] = named.to_vec();
            at.resize(p as usize + 1, None);
            at[p as usize] = first_at;
        }
    } else {
        // A pod without labels in every namespace, and the label sets policies ask for.
        for z in zone_of.values() {
            let name = format!("{}/<unlabelled pod>", u.zone(*z).name);
            let p = u.add_pod(Role::Unlabelled, *z, BTreeMap::new(), name);
            u.zone_mut(*z).unlabelled = p;
        }
        let mut wanted: BTreeSet<(ZoneId, BTreeMap<String, String>)> = BTreeSet::new();
        for (_, o) in &world.policies {
            let home = o.value["metadata"]["namespace"].as_str().and_then(|n| zone_of.get(n).copied());
            let mut sets = Vec::new();
            collect_label_sets(&o.value, &mut sets);
            for labels in sets.into_iter().filter(|l| !l.is_empty()) {
                match home {
                    Some(z) => {
                        wanted.insert((z, labels));
                    }
                    // A cluster-wide policy: its label sets in every namespace.
                    None => wanted.extend(zone_of.values().map(|z| (*z, labels.clone()))),
                }
            }
        }
        for p in programs {
            for w in &p.workloads {
                let z = zone_of[&p.namespace(w.namespace).name];
                wanted.insert((z, w.selector.representative()));
            }
        }
        for (z, labels) in wanted {
            let text: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let name = format!("{}/<pod {}>", u.zone(z).name, text.join(","));
            u.add_pod(Role::Inventory, z, labels, name);
        }
    }
    let kube_dns = match kube_dns {
        Some(p) => p,
        None => u.add_pod(
            Role::KubeDns,
            zone_of[KUBE_DNS_NAMESPACE],
            BTreeMap::from([(dns_key.to_string(), dns_value.to_string())]),
            KUBE_DNS_POD.to_string(),
        ),
    };
    let mut addresses: BTreeSet<IpAddr> = extra.iter().copied().collect();
    for (_, o) in &world.policies {
        collect_addresses(&o.value, &mut addresses);
    }
    for p in programs {
        for e in &p.expects {
            for peer in [&e.from, &e.to] {
                if let Peer::Cidr(c) = &peer.peer {
                    for n in std::iter::once(&c.net).chain(&c.except) {
                        addresses.extend([n.network(), n.broadcast()]);
                    }
                }
            }
        }
    }
    let zone_of_ns =
        program.map(|p| p.namespaces.iter().map(|n| zone_of[&n.name]).collect()).unwrap_or_default();
    u.set_inventory(zone_of_ns, kube_dns);
    u.finish_with_outside(addresses, &world.outside);
    pad(&mut members, u.len() as u32 - 1);
    ports.resize(u.len(), Vec::new());
    at.resize(u.len(), None);
    Population { universe: u, members, ports, at }
}

fn pad(members: &mut Vec<Vec<String>>, p: u32) {
    if members.len() <= p as usize {
        members.resize(p as usize + 1, Vec::new());
    }
}

/// Every string of a policy that reads as a network or an address: the first and last
/// address of each.
fn collect_addresses(v: &Value, out: &mut BTreeSet<IpAddr>) {
    match v {
        Value::String(s) => {
            if let Ok(n) = s.parse::<IpNet>() {
                out.extend([n.network(), n.broadcast()]);
            } else if let Ok(ip) = s.parse::<IpAddr>() {
                out.insert(ip);
            }
        }
        Value::Array(items) => items.iter().for_each(|x| collect_addresses(x, out)),
        Value::Object(m) => m.values().for_each(|x| collect_addresses(x, out)),
        _ => {}
    }
}

/// Namespace names a policy's selectors mention.
fn collect_namespace_names(v: &Value, out: &mut BTreeSet<String>) {
    const KEYS: [&str; 3] =
        ["kubernetes.io/metadata.name", "k8s:io.kubernetes.pod.namespace", "io.kubernetes.pod.namespace"];
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    (k, Value::String(s)) if KEYS.contains(&k) => {
                        out.insert(s.clone());
                    }
                    ("selector" | "namespaceSelector", Value::String(s)) => {
                        for (k, value) in calico_pairs(s) {
                            if k == "projectcalico.org/name" || k == "projectcalico.org/namespace" {
                                out.insert(value);
                            }
                        }
                    }
                    _ => collect_namespace_names(x, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| collect_namespace_names(x, out)),
        _ => {}
    }
}

/// `key == 'value'` terms of a Calico selector.
fn calico_pairs(s: &str) -> Vec<(String, String)> {
    static TERM: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"([A-Za-z0-9_./-]+)\s*==\s*(?:'([^']*)'|"([^"]*)")"#).expect("a valid pattern")
    });
    TERM.captures_iter(s)
        .map(|c| (c[1].to_string(), c.get(2).or(c.get(3)).map_or("", |m| m.as_str()).to_string()))
        .collect()
}

/// The pod label sets a policy's selectors ask for: each `matchLabels` (with the first value of
/// each `In` expression beside it) and each Calico selector's equalities, without the keys
/// that name namespaces or other label sources.
fn collect_label_sets(v: &Value, out: &mut Vec<BTreeMap<String, String>>) {
    let pod_key = |k: &str| -> Option<String> {
        let bare = match k.split_once(':') {
            Some(("k8s" | "any", rest)) => rest,
            Some(_) => return None,
            None => k,
        };
        let namespace_key = bare == "kubernetes.io/metadata.name"
            || bare.starts_with("io.kubernetes.pod.namespace")
            || bare.starts_with("io.cilium.")
            || bare.starts_with("projectcalico.org/")
            || bare.starts_with("pcns.");
        (!namespace_key).then(|| bare.to_string())
    };
    match v {
        Value::Object(m) => {
            let mut set = BTreeMap::new();
            if let Some(Value::Object(labels)) = m.get("matchLabels") {
                for (k, x) in labels {
                    if let (Some(k), Some(x)) = (pod_key(k), x.as_str()) {
                        set.insert(k, x.to_string());
                    }
                }
            }
            for e in m.get("matchExpressions").and_then(Value::as_array).into_iter().flatten() {
                if e["operator"] == "In" {
                    if let (Some(k), Some(x)) = (e["key"].as_str().and_then(pod_key), e["values"][0].as_str())
                    {
                        set.insert(k, x.to_string());
                    }
                }
            }
            if !set.is_empty() {
                out.push(set);
            }
            for (k, x) in m {
                if let ("selector", Value::String(s)) = (k.as_str(), x) {
                    let set: BTreeMap<String, String> =
                        calico_pairs(s).into_iter().filter_map(|(k, v)| Some((pod_key(&k)?, v))).collect();
                    out.push(set);
                } else if k != "matchLabels" && k != "matchExpressions" {
                    collect_label_sets(x, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| collect_label_sets(x, out)),
        _ => {}
    }
}
