//! Statements → IR rules: ingress and egress rules, isolations, edges, default denies and
//! expectations.

use super::error::ResolveError;
use super::Resolver;
use crate::ir::{self, Action, Direction, Entity, NamespaceId, Peer, PeerRef, Ports, WorkloadId};
use crate::span::{Span, Spanned};
use crate::syntax::ast::{self, RuleBody};

impl Resolver<'_> {
    pub(super) fn statement(&mut self, ns: Option<NamespaceId>, item: &ast::Item) {
        match item {
            ast::Item::Rule(r) => self.rule(r, ns),
            ast::Item::Edge(e) => self.edge(e, ns),
            ast::Item::DefaultDeny(d) => self.default_deny(d, ns),
            ast::Item::Expect(e) => self.expect(e, ns),
            _ => unreachable!("resolve: declarations are handled in pass 2"),
        }
    }

    fn rule(&mut self, r: &ast::Rule, ns: Option<NamespaceId>) {
        let subjects = self.subjects(&r.subject, ns);
        let reason = r.reason.as_ref().map(|s| s.value.clone());
        let (direction, action, peers, ports) = match &r.body {
            RuleBody::AcceptsNothing | RuleBody::ConnectsNothing => {
                let direction = if matches!(r.body, RuleBody::AcceptsNothing) {
                    Direction::Ingress
                } else {
                    Direction::Egress
                };
                for subject in subjects {
                    self.program.isolations.push(ir::Isolation {
                        subject,
                        direction,
                        reason: reason.clone(),
                        origin: r.span,
                    });
                }
                return;
            }
            RuleBody::Accepts { ports, peers } => (Direction::Ingress, Action::Allow, peers, ports),
            RuleBody::Refuses { ports, peers } => (Direction::Ingress, Action::Deny, peers, ports),
            RuleBody::Connects { peers, ports } => (Direction::Egress, Action::Allow, peers, ports),
            RuleBody::NeverConnects { peers, ports } => (Direction::Egress, Action::Deny, peers, ports),
        };
        let peers = self.peers(peers, ns);
        let ports = self.ports(ports.as_ref());
        if direction == Direction::Ingress {
            self.no_dns_sources(&peers);
        }
        for subject in subjects {
            self.push_rule(subject, direction, action, peers.clone(), ports.clone(), reason.clone(), r.span);
        }
    }

    /// Adds a rule. An egress allow to `kube-dns` with no ports means DNS: it is split off with
    /// UDP and TCP 53, so "connects to kube-dns" never opens every port of the DNS pods.
    #[allow(clippy::too_many_arguments)]
    fn push_rule(
        &mut self,
        subject: WorkloadId,
        direction: Direction,
        action: Action,
        peers: Vec<PeerRef>,
        ports: Ports,
        reason: Option<String>,
        origin: Span,
    ) {
        let is_dns = |p: &PeerRef| p.peer == Peer::Entity(Entity::KubeDns);
        let split = direction == Direction::Egress && ports == Ports::All && peers.iter().any(is_dns);
        let (dns, rest): (Vec<PeerRef>, Vec<PeerRef>) =
            if split { peers.into_iter().partition(is_dns) } else { (Vec::new(), peers) };
        if !dns.is_empty() {
            let rule = ir::Rule {
                subject,
                direction,
                action,
                peers: dns,
                ports: Ports::dns(),
                reason: reason.clone(),
                origin,
            };
            self.program.rules.push(rule);
        }
        if !rest.is_empty() {
            self.program.rules.push(ir::Rule {
                subject,
                direction,
                action,
                peers: rest,
                ports,
                reason,
                origin,
            });
        }
    }

    fn no_dns_sources(&mut self, peers: &[PeerRef]) {
        for p in peers {
            if let Peer::Fqdn(name) = &p.peer {
                self.errors.push(ResolveError::DnsNotDestination { name: name.clone(), span: p.span });
            }
        }
    }

    fn edge(&mut self, e: &ast::Edge, ns: Option<NamespaceId>) {
        let sources = self.peers(&e.from, ns);
        let dests = self.peers(&e.to, ns);
        let ports = self.ports(e.ports.as_ref());
        let reason = e.reason.as_ref().map(|s| s.value.clone());
        self.no_dns_sources(&sources);
        let workloads = |ps: &[PeerRef]| -> Vec<WorkloadId> {
            ps.iter().filter_map(|p| if let Peer::Workload(w) = p.peer { Some(w) } else { None }).collect()
        };
        let (src_w, dst_w) = (workloads(&sources), workloads(&dests));
        if src_w.is_empty() && dst_w.is_empty() && !sources.is_empty() && !dests.is_empty() {
            self.errors.push(ResolveError::EdgeWithoutWorkload { span: e.span });
            return;
        }
        for w in src_w {
            self.push_rule(
                w,
                Direction::Egress,
                Action::Allow,
                dests.clone(),
                ports.clone(),
                reason.clone(),
                e.span,
            );
        }
        for w in dst_w {
            let rule = ir::Rule {
                subject: w,
                direction: Direction::Ingress,
                action: Action::Allow,
                peers: sources.clone(),
                ports: ports.clone(),
                reason: reason.clone(),
                origin: e.span,
            };
            self.program.rules.push(rule);
        }
    }

    fn default_deny(&mut self, d: &ast::DefaultDeny, ns: Option<NamespaceId>) {
        let directions: &[Direction] = match d.direction {
            ast::DirectionSpec::Ingress => &[Direction::Ingress],
            ast::DirectionSpec::Egress => &[Direction::Egress],
            ast::DirectionSpec::All => &[Direction::Ingress, Direction::Egress],
        };
        let reason = d.reason.as_ref().map(|s: &Spanned<String>| s.value.clone());
        for &direction in directions {
            let dd = ir::DefaultDeny { namespace: ns, direction, reason: reason.clone(), origin: d.span };
            self.program.default_denies.push(dd);
        }
    }

    fn expect(&mut self, e: &ast::Expect, ns: Option<NamespaceId>) {
        let question = ns.is_none() && self.questions == Some(e.span.file);
        let (from, to) = if question {
            let from = self.question_namespace(&e.from).and_then(|ns| self.single_peer(&e.from, ns));
            let to = self.question_namespace(&e.to).and_then(|ns| self.single_peer(&e.to, ns));
            (from, to)
        } else {
            (self.single_peer(&e.from, ns), self.single_peer(&e.to, ns))
        };
        let ports = e.ports.as_ref().map(|p| self.ports(Some(p)));
        if let (Some(from), Some(to)) = (from, to) {
            self.program.expects.push(ir::Expect { from, to, can: e.can, ports, origin: e.span });
        }
    }

    /// The namespace a question's end is read in: for a bare workload name, the one namespace
    /// that declares a workload of that name (none declares one: outside any namespace, as a
    /// top-level `expect` reads it). `None`: the name is ambiguous, reported.
    fn question_namespace(&mut self, p: &ast::Peer) -> Option<Option<NamespaceId>> {
        let r = match p {
            ast::Peer::Name(r) => r,
            ast::Peer::In(w) => &w.workload,
            _ => return Some(None),
        };
        if r.namespace.is_some() {
            return Some(None);
        }
        let mut homes: Vec<NamespaceId> =
            self.workload_ids.iter().filter(|(_, name)| *name == r.name.name).map(|(ns, _)| ns).collect();
        homes.sort();
        match homes.as_slice() {
            [] => Some(None),
            [one] => Some(Some(*one)),
            many => {
                let candidates = many
                    .iter()
                    .map(|ns| format!("{}/{}", self.program.namespace(*ns).name, r.name.name))
                    .collect();
                self.errors.push(ResolveError::Ambiguous {
                    name: r.name.name.clone(),
                    candidates,
                    span: r.span(),
                });
                None
            }
        }
    }

    /// An `expect` endpoint: one workload, namespace, network or built-in peer.
    fn single_peer(&mut self, p: &ast::Peer, ns: Option<NamespaceId>) -> Option<PeerRef> {
        let errors_before = self.errors.len();
        let mut peers = self.peers(std::slice::from_ref(p), ns);
        if self.errors.len() > errors_before {
            return None;
        }
        if peers.len() != 1 || matches!(peers[0].peer, Peer::Fqdn(_) | Peer::NamespaceSet(_)) {
            self.errors
                .push(ResolveError::BadExpectEndpoint { text: self.text_of(p.span()), span: p.span() });
            return None;
        }
        peers.pop()
    }
}
