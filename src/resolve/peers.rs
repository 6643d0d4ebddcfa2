//! Peers, subjects and ports: references in rules, resolved against the declarations.

use super::error::{Kind, ResolveError};
use super::names;
use super::params::{ParamType, Value};
use super::{GroupDef, Members, Resolver};
use crate::ir::{self, Entity, NamespaceId, Peer, PeerRef, PortMatch, PortRule, Ports, WorkloadId};
use crate::span::Span;
use crate::syntax::ast::{self, Builtin};
use std::collections::HashSet;
use std::sync::Arc;

/// A group being expanded: where it is in its list, and the members found so far.
struct GroupFrame<'a> {
    name: String,
    ns: Option<NamespaceId>,
    peers: &'a [ast::Peer],
    next: usize,
    set: PeerSet,
}

/// Peers in the order first added, each once.
#[derive(Default)]
struct PeerSet {
    list: Vec<Peer>,
    seen: HashSet<Peer>,
}

impl PeerSet {
    fn add(&mut self, p: &Peer) {
        if !self.seen.contains(p) {
            self.seen.insert(p.clone());
            self.list.push(p.clone());
        }
    }
}

impl<'a> Resolver<'a> {
    /// Resolves a peer list in namespace `ns`, expanding groups. A peer written (or reached
    /// through groups) more than once is kept once, where it first occurs: a list is a set.
    pub(super) fn peers(&mut self, list: &[ast::Peer], ns: Option<NamespaceId>) -> Vec<PeerRef> {
        let mut out = Vec::new();
        for p in list {
            self.peer(p, ns, &mut out);
        }
        if out.len() > 1 {
            let mut seen = HashSet::with_capacity(out.len());
            let keep: Vec<bool> = out.iter().map(|p| seen.insert(&p.peer)).collect();
            let mut keep = keep.into_iter();
            out.retain(|_| keep.next().unwrap_or(true));
        }
        out
    }

    fn peer(&mut self, p: &ast::Peer, ns: Option<NamespaceId>, out: &mut Vec<PeerRef>) {
        let span = p.span();
        let peer = match p {
            ast::Peer::Builtin(b) => Peer::Entity(entity(b.value)),
            ast::Peer::Namespace(name) => match self.namespace(name) {
                Some(id) => Peer::Namespace(id),
                None => return,
            },
            ast::Peer::Dns(d) => {
                if !names::is_dns_pattern(&d.value) {
                    self.errors.push(ResolveError::BadDnsName { name: d.value.clone(), span: d.span });
                    return;
                }
                Peer::Fqdn(d.value.trim_end_matches('.').to_ascii_lowercase())
            }
            ast::Peer::Cidr(c) => Peer::Cidr(self.cidr(c)),
            ast::Peer::Name(r) => return self.named_peer(r, ns, out),
            ast::Peer::In(w) => {
                let workload = self.workload_ref(&w.workload, ns);
                let set = self.namespace_set_ref(&w.namespaces);
                match (workload, set) {
                    (Some(w), Some(s)) => Peer::WorkloadIn(w, s),
                    _ => return,
                }
            }
        };
        out.push(PeerRef { peer, span });
    }

    fn cidr(&mut self, c: &ast::CidrPeer) -> ir::CidrBlock {
        let net = c.net.value;
        let mut except = Vec::new();
        for e in &c.except {
            // Kubernetes wants each exception a strict subset of its network (`ValidateIPBlock`
            // in kubernetes/kubernetes pkg/apis/networking/validation/validation.go: "must be a
            // strict subset of `cidr`"). Cilium (`CIDRRule` validation, pkg/policy/api) and
            // Calico (`notNets`) take an exception equal to its network and match nothing,
            // except that Calico 3.31+ refuses `notNets: [0.0.0.0/0]` (libcalico-go v3
            // validator, "catch-all CIDR in negation"). One meaning for the language: a network
            // minus all of itself is a mistake on every target.
            if e.value == net {
                self.errors.push(ResolveError::ExceptWhole {
                    net: net.to_string(),
                    span: e.span,
                    net_span: c.net.span,
                });
            } else if net.contains(&e.value) {
                except.push(e.value);
            } else {
                self.errors.push(ResolveError::ExceptOutside {
                    except: e.value.to_string(),
                    net: net.to_string(),
                    span: e.span,
                    net_span: c.net.span,
                });
            }
        }
        except.sort();
        except.dedup();
        ir::CidrBlock { net, except }
    }

    /// The workload `r` names: `ns/name`, or a name of namespace `ns`.
    fn find_workload(&self, r: &ast::NameRef, ns: Option<NamespaceId>) -> Option<WorkloadId> {
        let home = match &r.namespace {
            Some(q) => self.namespace_ids.get(&q.name).copied(),
            None => ns,
        };
        home.and_then(|n| self.workload_ids.get(n, &r.name.name))
    }

    /// The workload `r` names, or an error.
    fn workload_ref(&mut self, r: &ast::NameRef, ns: Option<NamespaceId>) -> Option<WorkloadId> {
        if let Some(id) = self.find_workload(r, ns) {
            return Some(id);
        }
        match self.globals.get(&r.name.name).map(|g| g.kind).filter(|_| r.namespace.is_none()) {
            Some(kind) => self.errors.push(ResolveError::WrongKind {
                name: r.name.name.clone(),
                kind,
                expected: "a workload (whose selector picks the pods)",
                span: r.span(),
            }),
            None => self.unknown(
                r,
                "workload",
                r.namespace
                    .as_ref()
                    .map(|q| q.name.clone())
                    .or_else(|| ns.map(|n| self.program.namespace(n).name.clone()))
                    .as_deref(),
            ),
        }
        None
    }

    /// The `namespaces` set `name` names, or an error.
    fn namespace_set_ref(&mut self, name: &ast::Ident) -> Option<ir::NamespaceSetId> {
        if let Some(id) = self.namespace_set_ids.get(&name.name) {
            return Some(*id);
        }
        let kind = self.globals.get(&name.name).map(|g| g.kind);
        let kind = kind.or_else(|| self.namespace_ids.contains_key(&name.name).then_some(Kind::Namespace));
        match kind {
            Some(kind) => self.errors.push(ResolveError::WrongKind {
                name: name.name.clone(),
                kind,
                expected: "a `namespaces` set (for one namespace, write `namespace/workload`)",
                span: name.span,
            }),
            None => {
                let r = ast::NameRef { namespace: None, name: name.clone() };
                self.unknown(&r, "namespace set", None);
            }
        }
        None
    }

    fn named_peer(&mut self, r: &ast::NameRef, ns: Option<NamespaceId>, out: &mut Vec<PeerRef>) {
        if let Some(id) = self.find_workload(r, ns) {
            out.push(PeerRef { peer: Peer::Workload(id), span: r.span() });
            return;
        }
        if let Some(q) = &r.namespace {
            return self.unknown(r, "workload", Some(q.name.as_str()));
        }
        let name = &r.name.name;
        match self.globals.get(name).map(|g| g.kind) {
            Some(Kind::Group) => return out.extend(self.expand_group(name, r.span())),
            Some(Kind::NamespaceSet) => {
                if let Some(id) = self.namespace_set_ids.get(name) {
                    out.push(PeerRef { peer: Peer::NamespaceSet(*id), span: r.span() });
                }
                return;
            }
            _ => {}
        }
        match self.param_value(name, r.span()) {
            Some((ParamType::Cidr, Some(Value::Cidr(net)))) => out.push(PeerRef {
                peer: Peer::Cidr(ir::CidrBlock { net, except: Vec::new() }),
                span: r.span(),
            }),
            Some((ParamType::Cidr, _)) => {}
            Some(_) => self.errors.push(ResolveError::WrongKind {
                name: name.clone(),
                kind: Kind::Param,
                expected: "a peer (a workload, group, network or `cidr` parameter)",
                span: r.span(),
            }),
            None => self.unknown(r, "peer", ns.map(|n| self.program.namespace(n).name.clone()).as_deref()),
        }
    }

    /// The members of group `name`, spanned at `at` (where the group is used).
    fn expand_group(&mut self, name: &str, at: Span) -> Vec<PeerRef> {
        let members = self.group_members(name, at);
        members.iter().map(|p| PeerRef { peer: p.clone(), span: at }).collect()
    }

    /// The peers group `name` stands for, each once, in the order first written. A group is a
    /// set: a peer named twice, directly or through other groups, is one member, so groups
    /// that double at each level stay as small as their distinct members. Each group is
    /// expanded once, in the namespace it was declared in, and the members are kept for every
    /// later use. The groups it names are expanded on an explicit stack, not by recursion, so
    /// a chain of any length takes no stack; a group met again while it is being expanded
    /// closes a cycle (E0116, at the reference).
    fn group_members(&mut self, name: &str, at: Span) -> Arc<[Peer]> {
        match self.group_def(name).map(|d| &d.members) {
            None => return Arc::from([]),
            Some(Members::Done(done)) => return done.clone(),
            Some(Members::Expanding) => {
                self.errors.push(ResolveError::GroupCycle { name: name.to_string(), span: at });
                return Arc::from([]);
            }
            Some(Members::Pending) => {}
        }
        let mut stack = vec![self.open_group(name)];
        loop {
            let top = stack.last_mut().expect("the group being expanded");
            let Some(p) = top.peers.get(top.next) else {
                let done = stack.pop().expect("the group being expanded");
                let members: Arc<[Peer]> = done.set.list.into();
                if let Some(def) = self.group_def_mut(&done.name) {
                    def.members = Members::Done(members.clone());
                }
                match stack.last_mut() {
                    Some(parent) => members.iter().for_each(|m| parent.set.add(m)),
                    None => return members,
                }
                continue;
            };
            top.next += 1;
            let ns = top.ns;
            let Some((inner, span)) = self.group_reference(p, ns) else {
                let mut out = Vec::new();
                self.peer(p, ns, &mut out);
                out.iter().for_each(|m| top.set.add(&m.peer));
                continue;
            };
            match self.group_def(inner).map(|d| &d.members) {
                None => {}
                Some(Members::Done(done)) => done.iter().for_each(|m| top.set.add(m)),
                Some(Members::Expanding) => {
                    self.errors.push(ResolveError::GroupCycle { name: inner.to_string(), span });
                }
                Some(Members::Pending) => {
                    let frame = self.open_group(inner);
                    stack.push(frame);
                }
            }
        }
    }

    fn group_def(&self, name: &str) -> Option<&GroupDef<'_>> {
        self.globals.get(name).and_then(|g| g.group.as_ref())
    }

    fn group_def_mut(&mut self, name: &str) -> Option<&mut GroupDef<'a>> {
        self.globals.get_mut(name).and_then(|g| g.group.as_mut())
    }

    /// Marks group `name` as being expanded and returns its frame.
    fn open_group(&mut self, name: &str) -> GroupFrame<'a> {
        let def = self.group_def_mut(name).expect("a declared group");
        def.members = Members::Expanding;
        GroupFrame {
            name: name.to_string(),
            ns: def.namespace,
            peers: def.peers,
            next: 0,
            set: PeerSet::default(),
        }
    }

    /// The group `p` names in namespace `ns` (and where), read as [`Self::named_peer`] reads
    /// it: an unqualified name that is no workload of `ns` but a declared group.
    fn group_reference<'p>(&self, p: &'p ast::Peer, ns: Option<NamespaceId>) -> Option<(&'p str, Span)> {
        let ast::Peer::Name(r) = p else { return None };
        let group = r.namespace.is_none()
            && self.find_workload(r, ns).is_none()
            && self.globals.get(&r.name.name).is_some_and(|g| g.kind == Kind::Group);
        group.then_some((r.name.name.as_str(), r.span()))
    }

    /// E0101. The first [`super::SUGGESTIONS`] unknown names get a "did you mean", found among
    /// every declared name; the rest none, so a file of thousands of unknown names costs their
    /// number, not their number times the declarations.
    fn unknown(&mut self, r: &ast::NameRef, what: &'static str, ns: Option<&str>) {
        let name = r.to_string();
        self.unknown_names += 1;
        if self.unknown_names > super::SUGGESTIONS {
            self.errors.push(ResolveError::Unknown { name, what, suggestion: None, span: r.span() });
            return;
        }
        let mut candidates: Vec<String> = self.globals.keys().cloned().collect();
        candidates.extend(self.params.keys().cloned());
        candidates.extend(super::RESERVED.iter().map(|s| s.to_string()));
        for (wns, wname) in self.workload_ids.iter() {
            let ns_name = &self.program.namespace(wns).name;
            match (&r.namespace, ns) {
                (None, Some(cur)) if cur == ns_name => candidates.push(wname.to_string()),
                _ => candidates.push(format!("{ns_name}/{wname}")),
            }
        }
        let suggestion = super::suggest(&name, candidates.iter().map(String::as_str));
        self.errors.push(ResolveError::Unknown { name, what, suggestion, span: r.span() });
    }

    /// The workloads a rule's subject names: a workload, or a group of workloads.
    pub(super) fn subjects(&mut self, r: &ast::NameRef, ns: Option<NamespaceId>) -> Vec<WorkloadId> {
        let errors_before = self.errors.len();
        let mut peers = Vec::new();
        self.named_peer(r, ns, &mut peers);
        if self.errors.len() > errors_before {
            return Vec::new();
        }
        let mut out = Vec::new();
        for p in peers {
            match p.peer {
                Peer::Workload(w) => out.push(w),
                _ => {
                    let kind = self.globals.get(&r.name.name).map_or(Kind::Param, |g| g.kind);
                    self.errors.push(ResolveError::WrongKind {
                        name: r.to_string(),
                        kind,
                        expected: "a workload (or a group of workloads)",
                        span: r.span(),
                    });
                    return Vec::new();
                }
            }
        }
        out
    }

    /// A port list; `None` (no `on …`) means every port.
    pub(super) fn ports(&mut self, spec: Option<&ast::PortSpec>) -> Ports {
        let Some(spec) = spec else { return Ports::All };
        let mut out = Vec::new();
        for g in &spec.groups {
            if g.ports.is_empty() {
                out.push(PortRule { protocol: g.protocol, port: PortMatch::All });
            }
            for item in &g.ports {
                let port = match item {
                    ast::PortItem::Number(n) => PortMatch::Single(n.value),
                    ast::PortItem::Range(r) if r.value.0 == r.value.1 => PortMatch::Single(r.value.0),
                    ast::PortItem::Range(r) => PortMatch::Range(r.value.0, r.value.1),
                    ast::PortItem::Name(id) => match self.named_port(id) {
                        Some(p) => p,
                        None => continue,
                    },
                };
                out.push(PortRule { protocol: g.protocol, port });
            }
        }
        out.sort();
        out.dedup();
        Ports::Some(out)
    }

    /// A name in port position: a `port`/`int` parameter if one has that name, else a named
    /// container port.
    fn named_port(&mut self, id: &ast::Ident) -> Option<PortMatch> {
        match self.param_value(&id.name, id.span) {
            Some((_, None)) => return None,
            Some((_, Some(Value::Port(p)))) => return Some(PortMatch::Single(p)),
            Some((_, Some(Value::Int(n @ 1..=65535)))) => return Some(PortMatch::Single(n as u16)),
            Some((ty, Some(v))) => {
                let value = match v {
                    Value::Int(n) => n.to_string(),
                    _ => format!("a {}", ty.name()),
                };
                self.errors.push(ResolveError::BadParamValue {
                    name: id.name.clone(),
                    ty: "port".into(),
                    value,
                    span: id.span,
                });
                return None;
            }
            None => {}
        }
        if !names::is_port_name(&id.name) {
            self.errors.push(ResolveError::BadNamedPort { name: id.name.clone(), span: id.span });
            return None;
        }
        Some(PortMatch::Named(id.name.clone()))
    }
}

fn entity(b: Builtin) -> Entity {
    match b {
        Builtin::Anywhere => Entity::Anywhere,
        Builtin::World => Entity::World,
        Builtin::Cluster => Entity::Cluster,
        Builtin::Host => Entity::Host,
        Builtin::KubeApiserver => Entity::KubeApiserver,
        Builtin::KubeDns => Entity::KubeDns,
    }
}
