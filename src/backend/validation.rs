//! What the API servers check beyond their schemas, and which check of netpol keeps each rule.
//!
//! A policy that passes the CRD or OpenAPI schema can still be refused when it is applied
//! (Kubernetes' `ValidateNetworkPolicy`), or accepted and then marked invalid and never
//! enforced (Cilium's `Sanitize()` / `Validate()` in the agent), or refused by Calico's API
//! server (its v3 validator). netpol stops before that: every rule a `.netpol` program can
//! reach is a compile error with a code, and the rest cannot be reached because netpol never
//! writes the field or the value. The table lists each rule, where it lives upstream, and what
//! keeps it. `tests/validation.rs` has a test for each new check and reads this table: every
//! code it names has a page.
//!
//! Sources: kubernetes/kubernetes `pkg/apis/networking/validation/validation.go`
//! (`ValidateNetworkPolicySpec`, `ValidateNetworkPolicyPort`, `ValidateNetworkPolicyPeer`,
//! `ValidateIPBlock`) and `pkg/apis/core/validation/ips.go` (`parseCIDR`), kubernetes/apimachinery
//! `pkg/api/validation/objectmeta.go` and `pkg/apis/meta/v1/validation` (`ValidateLabelSelector`);
//! cilium/cilium `pkg/policy/api/rule_validation.go`, `selector.go`, `fqdn.go`, `pkg/labels`
//! (`IsValidCiliumLabelKey`), `pkg/fqdn/matchpattern`; projectcalico/calico
//! `libcalico-go/lib/validator/v3/validator.go` (v3.32.0), `libcalico-go/lib/selector/tokenizer`
//! and the v3 CRDs (`api/pkg/apis/projectcalico/v3`).
//!
//! | target | upstream rule | reachable from `.netpol`? | kept by |
//! | --- | --- | --- | --- |
//! | Kubernetes | `protocol` is TCP, UDP or SCTP | no: the grammar has only `tcp`, `udp`, `sctp` | grammar |
//! | Kubernetes | `port`, `endPort` are 1–65535 (`IsValidPortNum`) | yes | E0002 |
//! | Kubernetes | `endPort` ≥ `port` | yes | E0003 (a range `a-a` is written as port `a`) |
//! | Kubernetes | `endPort` only with a numeric `port` | no: a range is numbers, and a named port never gets `endPort` | `kubernetes::ports` |
//! | Kubernetes | a named `port` is an IANA service name (`IsValidPortName`) | yes | E0114 |
//! | Kubernetes | a peer names something, and `ipBlock` stands alone | no: each IR peer becomes one peer of one kind | `kubernetes::peer` |
//! | Kubernetes | selector keys are qualified names, values label values | yes | E0104, E0105 |
//! | Kubernetes | `In`/`NotIn` have values, `Exists`/`DoesNotExist` none | no: a value list is never empty, `exists` takes none | grammar |
//! | Kubernetes | `ipBlock.cidr` parses, no leading zeros (`parseCIDR`) | yes | E0004 (Rust's address parser refuses leading zeros) |
//! | Kubernetes | no bits beyond the prefix length (strict `parseCIDR`) | yes | E0005 |
//! | Kubernetes | no IPv4-mapped IPv6 address (strict `parseCIDR`) | yes: `::ffff:10.0.0.0/104` | E0004 |
//! | Kubernetes | each `except` is a strict subset of `cidr` (`ValidateIPBlock`) | yes: outside, or equal | E0111 |
//! | Kubernetes | `policyTypes`: at most two, `Ingress` or `Egress` | no: written by the backend | `kubernetes::workload_policy` |
//! | Kubernetes | `metadata.name` a DNS subdomain, `namespace` a DNS label | yes | E0109 (names are DNS labels; emitted names add fixed parts) |
//! | all | annotation keys are qualified names | no: the keys are fixed (`netpol/source`, `netpol/rules`, `netpol/reason`) | — |
//! | all | at most 256 KiB of annotations per object (`ValidateAnnotations`) | yes: long reasons, thousands of rules | E0304 (`annotations_too_large`) |
//! | Cilium | at least one of `ingress`, `ingressDeny`, `egress`, `egressDeny` | no: a policy is written only for a direction it governs | `cilium::workload_policy` |
//! | Cilium | one L3 selector kind per rule (`combining … is not supported`) | no: peers are split per kind | `cilium::rules` |
//! | Cilium | `toServices` without `toPorts`; ICMP rules; listeners; host policies | no: never written | — |
//! | Cilium | at most 40 ports per `toPorts` entry | no: longer lists are split | `cilium::MAX_PORTS` |
//! | Cilium | a port parses as 0–65535 or an IANA service name | yes | E0002, E0114 (port 0 only for a protocol without ports) |
//! | Cilium | DNS rules: egress only, port 53 given, no port 0 or range, TCP/UDP | no: only the DNS-proxy rule has them, on UDP/TCP 53 | `cilium::dns_proxy_rule` |
//! | Cilium | L7 rules need the agent's L7 proxy (`enable-l7-proxy`, on by default) | no: a setting of the cluster, not of the program | — |
//! | Cilium | `cidr` parses; each `except` inside it, same family (`CIDRRule`) | yes | E0004, E0005, E0111 (netpol also refuses an `except` equal to its network) |
//! | Cilium | entities are known names | no: only `all`, `world`, `host`, `kube-apiserver` | `cilium::peer` |
//! | Cilium | `matchName` `[-a-zA-Z0-9_.]`, `matchPattern` `[-a-zA-Z0-9_.*]`, at most 255, one of the two | yes | E0112 (letters, digits, `-`, `*`, at most 253) |
//! | Cilium | deny rules have no `toFQDNs` | yes | E0301 |
//! | Cilium | selector keys, with their source, are qualified names (`EndpointSelector.Sanitize`) | yes: long keys | E0104, and E0304 (`cilium::validated_key_problem`) |
//! | Cilium | selector values are label values | yes | E0105 |
//! | Calico | policy names: a DNS label or `label.label`, at most 253 | yes | E0109 (`netpol-deny.<workload>` is `label.label`) |
//! | Calico | tier names: a DNS label | no: the one tier is `netpol-deny` | — |
//! | Calico | `types` without repeats | no: written by the backend | `calico::workload_policies` |
//! | Calico | `services` only as the peer, alone in its entity rule, no ports in a destination | yes: `kube-apiserver` on given ports | E0301 |
//! | Calico | selectors parse and fit 1024 characters; no `global()` | yes | E0304 (quoting, length) |
//! | Calico | numeric ports need a `protocol` that has ports | no: `protocol` is written whenever ports are | `calico::port_groups` |
//! | Calico | a range has min ≤ max, ports 1–65535 | yes | E0003, E0002 |
//! | Calico | a named port is an IANA service name | yes | E0114 |
//! | Calico | `nets`/`notNets` parse, one IP family per rule | yes | E0004; nets grouped per family, exceptions inside their network (E0111) |
//! | Calico | no IPv4-mapped IPv6 (read as IPv4 by `cnet.ParseCIDR`, so a family mix) | yes | E0004 |
//! | Calico | no `0.0.0.0/0` or `::/0` in `notNets` (3.31+, "catch-all CIDR in negation") | yes: `0.0.0.0/0 except 0.0.0.0/0` | E0111 |
//! | Calico | at most 256 `notNets`, 50 ports, 1024 rules per direction (CRD) | yes | E0304 (`notNets`, rules); ports are split |
//! | Calico | at most 256 KiB of annotations on a rule (`validateRuleMetadata`) | yes: a long reason | E0304 |
//! | Calico | HTTP, ICMP, `ipVersion`, `serviceAccounts`, `notProtocol` rules | no: never written | — |
//! | Calico | a Tier's `defaultAction` exists (3.29+) | yes: deny rules | E0303 below 3.29 (`calico::TIER_SINCE`) |
//!
//! Not checked, because no validator has them and they depend on the cluster: the size of a
//! whole object against etcd's request limit (`--max-request-bytes`, 1.5 MiB by default), that
//! the namespace exists, and agent settings such as Cilium's SCTP support.

use super::{EmitError, Target};
use crate::span::Span;
use std::collections::BTreeMap;

/// Most bytes of annotations one object may carry: the sum of every key's and value's length
/// (`TotalAnnotationSizeLimitB` and `ValidateAnnotations` in kubernetes/apimachinery
/// `pkg/api/validation/objectmeta.go`, applied to every object the API server stores). Calico
/// applies the same limit to each rule's `metadata.annotations` (`validateRuleMetadata` in
/// projectcalico/calico `libcalico-go/lib/validator/v3/validator.go`).
pub const MAX_ANNOTATIONS: usize = 256 * 1024;

/// An object's `netpol/rules` annotation as it is made: a line per rule it holds, written
/// into one string (a string per line, joined at the end, copied every line twice).
#[derive(Default)]
pub(crate) struct Notes {
    text: String,
    lines: usize,
}

impl Notes {
    /// Adds a line.
    pub(crate) fn line(&mut self, line: std::fmt::Arguments) {
        use std::fmt::Write as _;
        if self.lines > 0 {
            self.text.push('\n');
        }
        self.lines += 1;
        // Writing to a String cannot fail.
        let _ = self.text.write_fmt(line);
    }
}

/// E0304 when `annotations` exceed [`MAX_ANNOTATIONS`]; `on` names what carries them.
/// A workload's object's provenance annotations (`netpol/source`, and `netpol/rules` when
/// there are notes), with an error in `errors` if they pass the API server's limit.
pub(crate) fn provenance(
    target: Target,
    kind: &str,
    wl: &crate::ir::Workload,
    source: String,
    notes: Notes,
    errors: &mut Vec<EmitError>,
) -> BTreeMap<String, String> {
    let mut annotations = BTreeMap::from([(super::ANNOTATION_SOURCE.to_string(), source)]);
    if notes.lines > 0 {
        annotations.insert(super::ANNOTATION_RULES.to_string(), notes.text);
    }
    let on = format!("the {kind} `{}`", wl.name);
    errors.extend(annotations_too_large(target, &annotations, &on, wl.span));
    annotations
}

pub(crate) fn annotations_too_large(
    target: Target,
    annotations: &BTreeMap<String, String>,
    on: &str,
    span: Span,
) -> Option<EmitError> {
    let size: usize = annotations.iter().map(|(k, v)| k.len() + v.len()).sum();
    (size > MAX_ANNOTATIONS).then(|| EmitError::Unrepresentable {
        target,
        what: format!("{size} bytes of annotations on {on} (the API server takes at most {MAX_ANNOTATIONS})"),
        span,
        help: "the annotations carry each rule's source line and reason: shorten the reasons, or split the \
               workload's rules between two workloads"
            .to_string(),
    })
}
