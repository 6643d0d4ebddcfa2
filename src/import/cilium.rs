//! Cilium `cilium.io/v2` CiliumNetworkPolicy → statements. The meaning of each field is the
//! reader's (`crate::targets::cilium::read`, which cites Cilium's documentation and code):
//! a spec polices the pods its `endpointSelector` picks in the policy's namespace; a direction
//! with rules (allow or deny) is isolated unless `enableDefaultDeny` turns that off; allows add
//! up and denies win; a rule without an L3 field covers every peer when it has ports and no
//! peer otherwise; a present but empty peer list selects nothing; a rule without `toPorts`
//! covers every port; a port without a protocol is every protocol.
//!
//! Shapes, and what they become (each spec of `specs` is a policy of its own):
//! - a direction isolated by rules that select nothing (`ingress: [{}]`, `fromEntities: []`):
//!   `accepts nothing` / `connects to nothing`, or `default deny` for `endpointSelector: {}`;
//! - endpoint selectors: keys with the `k8s:` or `any:` source or none read pod labels; the
//!   namespace key (`k8s:io.kubernetes.pod.namespace`) naming one namespace → that namespace's
//!   pods (`namespace N` alone, `kube-dns` for the cluster DNS pods with ports), `Exists` →
//!   every namespace (`cluster` alone); namespace labels (`io.cilium.k8s.namespace.labels.*`)
//!   with the namespace key → namespace sets; without the namespace key → the policy's
//!   namespace;
//! - entities `all`, `world`, `host`, `kube-apiserver` → `anywhere`, `world`, `host`,
//!   `kube-apiserver`; CIDRs and CIDR sets → networks; `toFQDNs` → DNS names;
//! - ingress and egress deny sections → `refuses` / `never connects to`.
//!
//! What the language has no word for (L7 rules, services, groups, nodes, requirements, ICMP,
//! TLS, authentication, other entities, clusterwide policies, allows that do not isolate) is a
//! loss at its field.

use super::draft::{Draft, Kind, Loss, Peer, Policy, Statement, Subject};
use super::fields;
use super::kubernetes::{is_kube_dns, UNREADABLE};
use super::NO_WORD;
use crate::ir::{Direction, Entity, LabelSelector, Ports, KUBE_DNS_NAMESPACE};
use serde_json::Value;

/// A failure: the field, the code, and what is wrong there.
type Failure = (String, &'static str, String);

fn no_word(at: impl Into<String>, what: impl Into<String>) -> Failure {
    (at.into(), NO_WORD, what.into())
}

fn unreadable(at: impl Into<String>, what: impl Into<String>) -> Failure {
    (at.into(), UNREADABLE, what.into())
}

/// The mark of a field Cilium refuses the whole object for (`Parse`, `Sanitize`); reported as
/// [`UNREADABLE`].
const REFUSED: &str = "refused";

fn refused(at: impl Into<String>, what: impl Into<String>) -> Failure {
    (at.into(), REFUSED, what.into())
}

/// Adds the statements of CiliumNetworkPolicy `obj` (the world's policy number `index`).
pub fn translate(index: usize, obj: &Value, draft: &mut Draft) {
    let title = crate::analysis::targets::object_name(obj);
    // `scope`: the field whose rules the loss takes with it, when wider than the field itself.
    let lose = |draft: &mut Draft, (at, code, why): Failure, scope: Option<&str>| {
        let (code, why) = if code == REFUSED {
            (UNREADABLE, format!("{why}: Cilium refuses the policy, so it enforces none of it"))
        } else {
            (code, why)
        };
        let help = if code == NO_WORD {
            "the language has no word for this; keep this part as a Cilium policy of its own, or leave it out"
        } else {
            "fix the object: Cilium would refuse it, or read it in a way the import cannot prove"
        };
        draft.losses.push(Loss {
            code,
            object: index,
            message: format!("{title} {at}: {why}"),
            path: scope.map_or(at, str::to_string),
            help: help.to_string(),
        })
    };
    let name = obj["metadata"]["name"].as_str().unwrap_or("policy").to_string();
    if obj["kind"].as_str() == Some("CiliumClusterwideNetworkPolicy") {
        match clusterwide(obj) {
            // The empty namespace: the file level, where `default deny` is cluster-wide.
            Ok(dirs) => draft.policies.push(Policy {
                object: index,
                title: title.clone(),
                name,
                namespace: String::new(),
                subject: Subject::Pods(LabelSelector::default()),
                statements: dirs
                    .into_iter()
                    .map(|(dir, path)| Statement {
                        kind: Kind::DefaultDeny(dir),
                        peers: Vec::new(),
                        ports: None,
                        reason: format!("from {title} {path}"),
                        path,
                    })
                    .collect(),
                from_netpol: fields::from_netpol(obj),
            }),
            Err(f) => lose(draft, f, Some("")),
        }
        return;
    }
    let Some(namespace) = obj["metadata"]["namespace"].as_str().map(str::to_string) else {
        let why = "a CiliumNetworkPolicy without a namespace is put where it is applied, unknown here";
        return lose(draft, unreadable("metadata.namespace", why), Some(""));
    };
    let own = fields::from_netpol(obj);
    let reasons = fields::netpol_reasons(obj);
    let mut specs: Vec<(String, &Value)> = Vec::new();
    if !obj["spec"].is_null() {
        specs.push(("spec".to_string(), &obj["spec"]));
    }
    match &obj["specs"] {
        Value::Null => {}
        Value::Array(l) => specs.extend(l.iter().enumerate().map(|(i, s)| (format!("specs[{i}]"), s))),
        _ => return lose(draft, unreadable("specs", "must be a list"), None),
    }
    if specs.is_empty() {
        return lose(draft, refused("", "neither `spec` nor `specs`"), None);
    }
    let mut policies = Vec::new();
    let mut failures: Vec<(Failure, Option<String>)> = Vec::new();
    for (path, spec) in specs {
        let mut cx =
            Spec { namespace: &namespace, title: &title, own, reasons: &reasons, losses: Vec::new() };
        let policy = cx.spec(&path, spec);
        failures.extend(cx.losses);
        match policy {
            Ok((subject, statements)) => policies.push(Policy {
                object: index,
                title: title.clone(),
                name: name.clone(),
                namespace: namespace.clone(),
                subject: Subject::Pods(subject),
                statements,
                from_netpol: own,
            }),
            // The whole spec is left out: the loss takes all its rules with it.
            Err(f) => failures.push((f, Some(path))),
        }
    }
    // What Cilium refuses, it enforces none of: the object is read as absent, and so says
    // nothing here.
    if let Some((f, _)) = failures.iter().find(|(f, _)| f.1 == REFUSED) {
        return lose(draft, f.clone(), Some(""));
    }
    draft.policies.extend(policies);
    for (f, scope) in failures {
        lose(draft, f, scope.as_deref());
    }
}

/// A CiliumClusterwideNetworkPolicy the language can say: a cluster-wide `default deny`, which
/// netpol writes as every pod (the namespace label `Exists`) isolated by rules that select
/// nothing. The directions it isolates, with their fields.
fn clusterwide(obj: &Value) -> Result<Vec<(Direction, String)>, Failure> {
    let spec = &obj["spec"];
    let why =
        "a clusterwide policy other than a cluster-wide default deny (every pod, isolated by rules that \
               select nothing)";
    if !obj["specs"].is_null() || !spec.is_object() {
        return Err(no_word("", why));
    }
    if !spec["nodeSelector"].is_null() {
        return Err(no_word(
            "spec.nodeSelector",
            "a host policy (`nodeSelector`): the language says pods, not nodes",
        ));
    }
    for (k, v) in spec.as_object().into_iter().flatten() {
        if !v.is_null()
            && !["endpointSelector", "ingress", "egress", "description", "labels", "log"]
                .contains(&k.as_str())
        {
            return Err(no_word(format!("spec.{k}"), why));
        }
    }
    if !peers::every_pod(&spec["endpointSelector"]) {
        return Err(no_word("spec.endpointSelector", why));
    }
    let mut dirs = Vec::new();
    for dir in [Direction::Ingress, Direction::Egress] {
        let key = dir.as_str();
        let rules = spec[key].as_array().map(Vec::as_slice).unwrap_or_default();
        for (i, rule) in rules.iter().enumerate() {
            let at = format!("spec.{key}[{i}]");
            if !matches!(rule_of(rule, dir, false, "", &at), Ok(None)) {
                return Err(no_word(at, why));
            }
        }
        if !rules.is_empty() {
            dirs.push((dir, format!("spec.{key}")));
        }
    }
    if dirs.is_empty() {
        return Err(no_word("", why));
    }
    Ok(dirs)
}

struct Spec<'a> {
    namespace: &'a str,
    title: &'a str,
    own: bool,
    reasons: &'a std::collections::BTreeMap<String, String>,
    /// Losses of single rules, with the field whose rules each takes with it when wider than
    /// its own; the rest of the spec is still said.
    losses: Vec<(Failure, Option<String>)>,
}

/// One allow or deny rule, translated.
struct Translated {
    peers: Vec<Peer>,
    ports: Option<Ports>,
    /// The rule sends DNS lookups through Cilium's DNS proxy, letting every name through
    /// (`rules.dns: [{matchPattern: "*"}]`): at L4 an allow like any other.
    dns_proxy: bool,
}

impl Spec<'_> {
    fn spec(&mut self, path: &str, spec: &Value) -> Result<(LabelSelector, Vec<Statement>), Failure> {
        if !spec.is_object() {
            return Err(refused(path, "a spec must be an object"));
        }
        // Host policies are clusterwide ("rule cannot have NodeSelector", `CiliumNetworkPolicy.Parse`).
        if !spec["nodeSelector"].is_null() {
            return Err(refused(format!("{path}.nodeSelector"), "a namespaced policy with a `nodeSelector`"));
        }
        if spec["endpointSelector"].is_null() {
            return Err(refused(path, "no `endpointSelector`"));
        }
        let at = format!("{path}.endpointSelector");
        // A subject the language cannot say loses the spec, yet its rules are read for what
        // Cilium refuses.
        let (subject, lost) = match subject(&spec["endpointSelector"]) {
            Ok(s) => (s, None),
            Err((c, w)) if c == REFUSED => return Err((at, c, w)),
            Err((c, w)) => (LabelSelector::default(), Some((at, c, w))),
        };
        let edd = &spec["enableDefaultDeny"];
        let mut statements = Vec::new();
        for (dir, allow_key, deny_key) in
            [(Direction::Ingress, "ingress", "ingressDeny"), (Direction::Egress, "egress", "egressDeny")]
        {
            let list = |key: &str| -> Result<&[Value], Failure> {
                match &spec[key] {
                    Value::Null => Ok(&[]),
                    Value::Array(l) => Ok(l),
                    _ => Err(refused(format!("{path}.{key}"), "must be a list")),
                }
            };
            let (allow, deny) = (list(allow_key)?, list(deny_key)?);
            let explicit = edd[allow_key].as_bool();
            let has_rules = !allow.is_empty() || !deny.is_empty();
            let isolated = has_rules && explicit.unwrap_or(true);
            let mut allows: Vec<(Statement, bool)> = Vec::new();
            for (i, rule) in allow.iter().enumerate() {
                let at = format!("{path}.{allow_key}[{i}]");
                match rule_of(rule, dir, false, self.namespace, &at) {
                    // Allows that do not isolate have no word; what Cilium refuses still counts.
                    Err(f) if !isolated && f.1 != REFUSED => {}
                    Ok(_) if !isolated => {}
                    Ok(Some(t)) => {
                        allows.push((self.statement(Kind::Allow(dir), t.peers, t.ports, &at), t.dns_proxy))
                    }
                    Ok(None) => {}
                    Err(f) => self.lose(f),
                }
            }
            if !allow.is_empty() && !isolated {
                self.lose(no_word(
                    format!("{path}.{allow_key}"),
                    format!(
                        "allow rules under `enableDefaultDeny.{allow_key}: false`, which leave the pods' other \
                         {allow_key} open"
                    ),
                ));
            }
            // netpol regenerates the DNS proxy rule for DNS names from the DNS it allows: a
            // proxy rule that another rule already allows says nothing more.
            if allows.iter().any(|(s, _)| s.peers.iter().any(|p| matches!(p, Peer::Fqdn(_)))) {
                let plain: Vec<Statement> =
                    allows.iter().filter(|(_, p)| !p).map(|(s, _)| s.clone()).collect();
                let covered = plain.iter().fold([false; 2], |a, s| {
                    let d = dns_ports(s);
                    [a[0] || d[0], a[1] || d[1]]
                });
                allows.retain(|(s, proxy)| !proxy || !redundant_proxy(s, covered));
            }
            let mut denies = Vec::new();
            for (i, rule) in deny.iter().enumerate() {
                let at = format!("{path}.{deny_key}[{i}]");
                match rule_of(rule, dir, true, self.namespace, &at) {
                    Ok(Some(t)) => denies.push(self.statement(Kind::Deny(dir), t.peers, t.ports, &at)),
                    Ok(None) => {}
                    Err(f) => self.lose(f),
                }
            }
            self.dns_for_names(&mut allows, &denies);
            let any_allow = !allows.is_empty();
            statements.extend(allows.into_iter().map(|(s, _)| s));
            if isolated && !any_allow {
                let kind = if subject.is_empty() { Kind::DefaultDeny(dir) } else { Kind::Nothing(dir) };
                let at = match explicit {
                    Some(_) => format!("{path}.enableDefaultDeny.{allow_key}"),
                    None if !allow.is_empty() => format!("{path}.{allow_key}"),
                    None => format!("{path}.{deny_key}"),
                };
                let reason = if self.own {
                    // netpol notes its own `nothing` rule as `ingress[0]: nothing: <reason>`.
                    let note = self.reasons.get(&format!("{allow_key}[0]")).map_or("", String::as_str);
                    let reason = note.strip_prefix("nothing").unwrap_or("");
                    reason.strip_prefix(": ").unwrap_or(reason).to_string()
                } else {
                    format!("from {} {at}", self.title)
                };
                statements.push(Statement { kind, peers: Vec::new(), ports: None, reason, path: at });
            }
            statements.extend(denies);
        }
        match lost {
            Some(f) => Err(f),
            None => Ok((subject, statements)),
        }
    }

    /// DNS names need DNS lookups through Cilium's DNS proxy, which netpol writes only over
    /// the DNS the source allows: names without any are a loss (compiled, they would be an
    /// error).
    fn dns_for_names(&mut self, allows: &mut Vec<(Statement, bool)>, denies: &[Statement]) {
        let names = |s: &Statement| s.peers.iter().any(|p| matches!(p, Peer::Fqdn(_)));
        let any = |list: &mut dyn Iterator<Item = &Statement>| {
            list.fold([false; 2], |a, s| {
                let d = dns_ports(s);
                [a[0] || d[0], a[1] || d[1]]
            })
        };
        let allowed = any(&mut allows.iter().map(|(s, _)| s));
        let denied = any(&mut denies.iter());
        let dns = (allowed[0] && !denied[0]) || (allowed[1] && !denied[1]);
        if !allows.iter().any(|(s, _)| names(s)) || dns {
            return;
        }
        for (s, _) in allows.iter_mut().filter(|(s, _)| names(s)) {
            self.lose(no_word(
                s.path.clone(),
                "DNS names without DNS lookups to kube-dns allowed: netpol sends lookups through Cilium's \
                 DNS proxy only where the source allows them",
            ));
            s.peers.retain(|p| !matches!(p, Peer::Fqdn(_)));
        }
        allows.retain(|(s, _)| !s.peers.is_empty());
    }

    /// A rule's loss. Requirements (`fromRequires`, `toRequires`) bear on every endpoint rule
    /// of their direction (`crate::targets::cilium::read`): their loss takes the section.
    fn lose(&mut self, f: Failure) {
        let scope = ["fromRequires", "toRequires"]
            .iter()
            .find_map(|k| f.0.find(&format!(".{k}")))
            .and_then(|i| f.0[..i].rfind('['))
            .map(|i| f.0[..i].trim_end_matches("Deny").to_string());
        self.losses.push((f, scope));
    }

    fn statement(&self, kind: Kind, peers: Vec<Peer>, ports: Option<Ports>, path: &str) -> Statement {
        Statement {
            kind,
            peers,
            ports,
            reason: fields::reason(self.reasons, self.own, self.title, path),
            path: path.to_string(),
        }
    }
}

/// On which of UDP 53 and TCP 53 a statement certainly covers the cluster DNS pods, as netpol's
/// Cilium emitter counts them for the DNS proxy rule (CIDRs never cover pods on Cilium).
fn dns_ports(s: &Statement) -> [bool; 2] {
    use crate::ir::{PortMatch, Protocol};
    let dns_pods = |p: &Peer| match p {
        Peer::Entity(Entity::KubeDns | Entity::Anywhere | Entity::Cluster) => true,
        Peer::Namespace(n) => n == KUBE_DNS_NAMESPACE,
        Peer::Pods { namespace, selector } => {
            namespace == KUBE_DNS_NAMESPACE && (selector.is_empty() || is_kube_dns(selector))
        }
        _ => false,
    };
    if !s.peers.iter().any(dns_pods) {
        return [false; 2];
    }
    let on = |protocol: Protocol| match &s.ports {
        None | Some(Ports::All) => true,
        Some(Ports::Some(list)) => list.iter().any(|r| {
            r.protocol == protocol
                && match r.port {
                    PortMatch::All => true,
                    PortMatch::Single(p) => p == 53,
                    PortMatch::Range(a, b) => (a..=b).contains(&53),
                    PortMatch::Named(_) => false,
                }
        }),
    };
    [on(Protocol::Udp), on(Protocol::Tcp)]
}

/// Whether a DNS proxy rule allows nothing but DNS to the cluster DNS pods that other allows
/// (`covered`: UDP 53, TCP 53) do not already allow: netpol writes it again from those.
fn redundant_proxy(s: &Statement, covered: [bool; 2]) -> bool {
    use crate::ir::{PortMatch, Protocol};
    let dns = |r: &crate::ir::PortRule| match (r.protocol, &r.port) {
        (Protocol::Udp, PortMatch::Single(53)) => covered[0],
        (Protocol::Tcp, PortMatch::Single(53)) => covered[1],
        _ => false,
    };
    s.peers == [Peer::Entity(Entity::KubeDns)]
        && match &s.ports {
            None => covered == [true; 2],
            Some(Ports::Some(list)) => list.iter().all(dns),
            Some(Ports::All) => false,
        }
}

/// The L3 fields of a rule, by direction and kind (`pkg/policy/api/{ingress,egress}.go`).
fn l3_keys(dir: Direction, deny: bool) -> &'static [&'static str] {
    match (dir, deny) {
        (Direction::Ingress, _) => {
            &["fromEndpoints", "fromEntities", "fromCIDR", "fromCIDRSet", "fromNodes", "fromGroups"]
        }
        (Direction::Egress, true) => {
            &["toEndpoints", "toEntities", "toCIDR", "toCIDRSet", "toServices", "toNodes", "toGroups"]
        }
        (Direction::Egress, false) => &[
            "toEndpoints",
            "toEntities",
            "toCIDR",
            "toCIDRSet",
            "toFQDNs",
            "toServices",
            "toNodes",
            "toGroups",
        ],
    }
}

/// One rule: `None` when it selects no peer (it still isolates its direction). What Cilium
/// refuses comes first: it takes the whole object with it, a loss only the rule.
fn rule_of(
    rule: &Value,
    dir: Direction,
    deny: bool,
    namespace: &str,
    at: &str,
) -> Result<Option<Translated>, Failure> {
    let Some(map) = rule.as_object() else { return Err(unreadable(at, "a rule must be an object")) };
    let mut lost: Option<Failure> = None;
    let mut lose = |f: Failure| -> Result<(), Failure> {
        if f.1 == REFUSED {
            return Err(f);
        }
        lost.get_or_insert(f);
        Ok(())
    };
    let kinds = l3_keys(dir, deny);
    let requires = if dir == Direction::Ingress { "fromRequires" } else { "toRequires" };
    let present = |k: &str| map.get(k).is_some_and(|v| !v.is_null());
    let nonempty = |k: &str| map.get(k).and_then(Value::as_array).is_some_and(|l| !l.is_empty());
    let l3: Vec<&str> = kinds.iter().copied().filter(|k| present(k)).collect();
    let full: Vec<&&str> = l3.iter().filter(|k| nonempty(k)).collect();
    if let [a, b, ..] = full.as_slice() {
        return Err(refused(at, format!("combines `{a}` and `{b}`")));
    }
    for k in ["icmps", "toServices"] {
        if nonempty(k) && nonempty("toPorts") {
            return Err(refused(at, format!("has both `{k}` and `toPorts`")));
        }
    }
    if nonempty(requires) {
        let what = format!("`{requires}` (requirements on every peer of the subject)");
        lose(no_word(format!("{at}.{requires}"), what))?;
    }
    for k in map.keys() {
        let k = k.as_str();
        if !(kinds.contains(&k)
            || k == requires
            || k == "toPorts"
            || k == "icmps"
            || (k == "authentication" && !deny))
        {
            lose(unreadable(format!("{at}.{k}"), "not a field of this rule (the CRD schema prunes it)"))?;
        }
    }
    if nonempty("icmps") {
        lose(no_word(format!("{at}.icmps"), "ICMP types (`icmps`)"))?;
    }
    if map.get("authentication").is_some_and(|a| !a.is_null() && a["mode"] != "disabled") {
        lose(no_word(format!("{at}.authentication"), "mutual authentication (`authentication`)"))?;
    }
    const UNSAID: [&str; 5] = ["toServices", "toNodes", "fromNodes", "toGroups", "fromGroups"];
    for k in UNSAID {
        if present(k) {
            let what = match k {
                "toServices" => "Kubernetes services as peers",
                "toGroups" | "fromGroups" => "cloud provider groups as peers",
                _ => "nodes by their labels as peers",
            };
            lose(no_word(format!("{at}.{k}"), format!("{what} (`{k}`)")))?;
        }
    }
    let (ports, dns_proxy) = match ports::to_ports(map.get("toPorts"), dir, deny, at) {
        Ok(p) => p,
        Err(f) => {
            lose(f)?;
            (None, false)
        }
    };
    let mut peers = Vec::new();
    if l3.is_empty() && matches!(map.get("toPorts"), Some(Value::Array(l)) if !l.is_empty()) {
        // Without a peer list: every peer with ports, none without.
        peers.push(Peer::Entity(Entity::Anywhere));
    }
    let with_ports = ports.is_some();
    for key in l3.iter().filter(|k| !UNSAID.contains(k)) {
        let Some(list) = map[*key].as_array() else {
            lose(unreadable(format!("{at}.{key}"), "must be a list"))?;
            continue;
        };
        for (j, v) in list.iter().enumerate() {
            let at = format!("{at}.{key}[{j}]");
            let peer = match *key {
                "fromEndpoints" | "toEndpoints" => endpoints(v, namespace, with_ports),
                "fromEntities" | "toEntities" => entity(v).map(|p| vec![p]),
                "fromCIDR" | "toCIDR" => fields::string(v, "cidr")
                    .and_then(|net| fields::cidr(net, &[]))
                    .map(|c| vec![Peer::Cidr(c)])
                    .map_err(|w| (REFUSED, w)),
                "fromCIDRSet" | "toCIDRSet" => cidr_set(v).map(|p| vec![p]),
                _ => fqdn(v).map(|p| vec![p]),
            };
            match peer {
                Ok(p) => peers.extend(p),
                Err((c, w)) => lose((at, c, w))?,
            }
        }
    }
    if let Some(f) = lost {
        return Err(f);
    }
    if peers.is_empty() {
        return Ok(None);
    }
    peers.dedup();
    let mut ports = ports;
    // `connects to kube-dns` alone means its DNS ports.
    if peers == [Peer::Entity(Entity::KubeDns)] && ports == Some(Ports::dns()) {
        ports = None;
    }
    Ok(Some(Translated { peers, ports, dns_proxy }))
}

mod peers;
mod ports;

use peers::{cidr_set, endpoints, entity, fqdn, subject};

#[cfg(test)]
mod tests;
