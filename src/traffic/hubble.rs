//! Hubble's flow export, as `hubble observe -o jsonpb` (or `-o json`) writes it: one JSON
//! object per line, `{"flow": {…}, "node_name": …, "time": …}`, or the flow object itself.
//!
//! The fields read are those of Cilium's `flow.proto` (`api/v1/flow/flow.proto`), under the
//! names protojson gives them with `UseProtoNames` (Hubble's printer), and under their
//! lowerCamelCase JSON names as well, since both are valid protojson:
//!
//! - `verdict` and `traffic_direction`: enum values, as names (a number is kept as its text);
//! - `IP.source`, `IP.destination`;
//! - `l4.TCP|UDP|SCTP.destination_port` (and `TCP.flags`), `l4.ICMPv4|ICMPv6.type`;
//! - `source` and `destination`: `namespace`, `pod_name`, `labels` (`source:key=value`, e.g.
//!   `k8s:app=web`, `reserved:world`), `workloads` (`name`, `kind`);
//! - `is_reply` (a `BoolValue`: absent when Hubble cannot tell), and the older `reply`;
//! - `l7.dns.query`.
//!
//! Every other field is ignored. Lines that are not flows (`node_status`, `lost_events`, the
//! other responses of `GetFlows`) are counted and skipped.

use serde::Deserialize;
use std::borrow::Cow;

/// The longest line read; a longer one is a malformed record (a flow is a few kilobytes).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// An enum field: its name, or a number where the export wrote numbers.
#[derive(Deserialize, Debug)]
#[serde(untagged)]
pub enum Name<'a> {
    #[serde(borrow)]
    Text(Cow<'a, str>),
    Number(i64),
}

impl Name<'_> {
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Name::Text(t) => Cow::Borrowed(t),
            Name::Number(n) => Cow::Owned(n.to_string()),
        }
    }
}

/// One line: a `GetFlowsResponse` (its `flow`), or a flow itself.
#[derive(Deserialize, Debug, Default)]
pub struct Record<'a> {
    #[serde(borrow)]
    pub flow: Option<Box<Record<'a>>>,
    #[serde(borrow)]
    pub verdict: Option<Name<'a>>,
    #[serde(rename = "IP", alias = "ip")]
    pub ip: Option<Ip<'a>>,
    pub l4: Option<Layer4>,
    #[serde(borrow)]
    pub source: Option<Endpoint<'a>>,
    #[serde(borrow)]
    pub destination: Option<Endpoint<'a>>,
    #[serde(alias = "trafficDirection", borrow)]
    pub traffic_direction: Option<Name<'a>>,
    #[serde(alias = "isReply")]
    pub is_reply: Option<bool>,
    /// The field `is_reply` replaced (Cilium 1.7).
    pub reply: Option<bool>,
    #[serde(borrow)]
    pub l7: Option<Layer7<'a>>,
}

impl Record<'_> {
    /// Whether the line holds a flow: a `flow` field, or a flow's own fields.
    pub fn is_flow(&self) -> bool {
        self.ip.is_some() || self.l4.is_some() || self.source.is_some() || self.destination.is_some()
    }
}

#[derive(Deserialize, Debug)]
pub struct Ip<'a> {
    #[serde(borrow)]
    pub source: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub destination: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Debug)]
pub struct Layer4 {
    #[serde(rename = "TCP", alias = "tcp")]
    pub tcp: Option<Ports>,
    #[serde(rename = "UDP", alias = "udp")]
    pub udp: Option<Ports>,
    #[serde(rename = "SCTP", alias = "sctp")]
    pub sctp: Option<Ports>,
    #[serde(rename = "ICMPv4", alias = "icmpv4")]
    pub icmpv4: Option<Icmp>,
    #[serde(rename = "ICMPv6", alias = "icmpv6")]
    pub icmpv6: Option<Icmp>,
}

#[derive(Deserialize, Debug)]
pub struct Ports {
    #[serde(alias = "destinationPort", default)]
    pub destination_port: u32,
    pub flags: Option<TcpFlags>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(default)]
pub struct TcpFlags {
    #[serde(rename = "SYN")]
    pub syn: bool,
    #[serde(rename = "ACK")]
    pub ack: bool,
}

#[derive(Deserialize, Debug)]
pub struct Icmp {
    #[serde(rename = "type", default)]
    pub kind: u32,
}

#[derive(Deserialize, Debug, Default)]
pub struct Endpoint<'a> {
    #[serde(borrow)]
    pub namespace: Option<Cow<'a, str>>,
    #[serde(alias = "podName", borrow)]
    pub pod_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub labels: Vec<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub workloads: Vec<Workload<'a>>,
}

#[derive(Deserialize, Debug)]
pub struct Workload<'a> {
    #[serde(borrow)]
    pub name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub kind: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Debug)]
pub struct Layer7<'a> {
    #[serde(borrow)]
    pub dns: Option<Dns<'a>>,
}

#[derive(Deserialize, Debug)]
pub struct Dns<'a> {
    #[serde(borrow)]
    pub query: Option<Cow<'a, str>>,
}

/// Reads one line. `Ok(None)`: a line that holds no flow (another response, or blank).
pub fn parse(line: &str) -> Result<Option<Record<'_>>, String> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let mut r: Record = serde_json::from_str(line).map_err(|e| describe(&e))?;
    if let Some(inner) = r.flow.take() {
        return Ok(Some(*inner));
    }
    Ok(r.is_flow().then_some(r))
}

/// A parse error without serde's position (the diagnostic has it), said plainly.
fn describe(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let text = match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!("not a JSON object: {text}")
        }
        _ => format!("not a Hubble flow: {text}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_the_response_and_the_bare_flow_under_both_names() {
        let wrapped = r#"{"flow":{"verdict":"FORWARDED","IP":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"TCP":{"source_port":40000,"destination_port":8080,"flags":{"SYN":true}}},"source":{"namespace":"shop","pod_name":"web-1","labels":["k8s:app=web"]},"destination":{"namespace":"shop","pod_name":"db-0","labels":["k8s:app=db"]},"traffic_direction":"EGRESS","is_reply":false},"node_name":"n1"}"#;
        let r = parse(wrapped).expect("reads").expect("a flow");
        assert_eq!(r.l4.as_ref().and_then(|l| l.tcp.as_ref()).map(|t| t.destination_port), Some(8080));
        assert_eq!(r.source.as_ref().and_then(|s| s.pod_name.as_deref()), Some("web-1"));
        assert_eq!(r.is_reply, Some(false));
        let camel = r#"{"ip":{"source":"10.0.0.1","destination":"10.0.0.2"},"l4":{"UDP":{"destinationPort":53}},"source":{"namespace":"shop","podName":"web-1"},"isReply":true,"unknown":{"x":[1,2]}}"#;
        let r = parse(camel).expect("reads").expect("a flow");
        assert_eq!(r.l4.as_ref().and_then(|l| l.udp.as_ref()).map(|t| t.destination_port), Some(53));
        assert_eq!(r.source.as_ref().and_then(|s| s.pod_name.as_deref()), Some("web-1"));
        assert_eq!(r.is_reply, Some(true));
    }

    #[test]
    fn other_responses_and_blank_lines_hold_no_flow() {
        assert!(parse(r#"{"node_status":{"state_change":"NODE_CONNECTED"}}"#).expect("reads").is_none());
        assert!(parse("  ").expect("reads").is_none());
    }

    #[test]
    fn bad_lines_say_what_they_are() {
        let e = parse("{\"flow\": {\"IP\": ").expect_err("truncated");
        assert!(e.starts_with("not a JSON object"), "{e}");
        let e = parse(r#"{"flow":{"l4":{"TCP":{"destination_port":"http"}}}}"#).expect_err("a port as text");
        assert!(e.starts_with("not a Hubble flow"), "{e}");
        assert!(!e.contains("at line"), "{e}");
    }
}
