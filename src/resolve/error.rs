//! Name-resolution and value errors (E01xx).

use crate::diagnostic::Diagnostic;
use crate::span::Span;

/// What kind of thing a name denotes, for "wrong kind" messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Workload,
    Group,
    NamespaceSet,
    Param,
    Namespace,
}

impl Kind {
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Workload => "workload",
            Kind::Group => "group",
            Kind::NamespaceSet => "namespace set",
            Kind::Param => "parameter",
            Kind::Namespace => "namespace",
        }
    }
}

/// `Ambiguous`: a bare name in a question (`netpol why`) that names a workload in several
/// namespaces, with the `ns/name`s it could be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResolveError {
    Unknown { name: String, what: &'static str, suggestion: Option<String>, span: Span },
    Ambiguous { name: String, candidates: Vec<String>, span: Span },
    Duplicate { name: String, kind: Kind, first: Span, span: Span },
    WrongKind { name: String, kind: Kind, expected: &'static str, span: Span },
    BadLabelKey { key: String, why: String, span: Span },
    BadLabelValue { value: String, why: String, span: Span },
    UnknownParam { name: String, suggestion: Option<String>, span: Span },
    BadParamValue { name: String, ty: String, value: String, span: Span },
    UnknownType { ty: String, span: Span },
    Reserved { name: String, span: Span },
    BadName { name: String, kind: Kind, span: Span },
    BadCondition { message: String, span: Span },
    ExceptOutside { except: String, net: String, span: Span, net_span: Span },
    ExceptWhole { net: String, span: Span, net_span: Span },
    BadDnsName { name: String, span: Span },
    NoValue { name: String, span: Span },
    BadNamedPort { name: String, span: Span },
    DuplicateLabelKey { key: String, first: Span, span: Span },
    GroupCycle { name: String, span: Span },
    NoNamespace { what: &'static str, span: Span },
    DnsNotDestination { name: String, span: Span },
    EdgeWithoutWorkload { span: Span },
    BadExpectEndpoint { text: String, span: Span },
}

impl ResolveError {
    pub fn code(&self) -> &'static str {
        use ResolveError::*;
        match self {
            Unknown { .. } | Ambiguous { .. } => "E0101",
            Duplicate { .. } => "E0102",
            WrongKind { .. } | EdgeWithoutWorkload { .. } | BadExpectEndpoint { .. } => "E0103",
            BadLabelKey { .. } => "E0104",
            BadLabelValue { .. } => "E0105",
            UnknownParam { .. } => "E0106",
            BadParamValue { .. } | UnknownType { .. } => "E0107",
            Reserved { .. } => "E0108",
            BadName { .. } => "E0109",
            BadCondition { .. } => "E0110",
            ExceptOutside { .. } | ExceptWhole { .. } => "E0111",
            BadDnsName { .. } => "E0112",
            NoValue { .. } => "E0113",
            BadNamedPort { .. } => "E0114",
            DuplicateLabelKey { .. } => "E0115",
            GroupCycle { .. } => "E0116",
            NoNamespace { .. } => "E0117",
            DnsNotDestination { .. } => "E0118",
        }
    }

    pub fn to_diagnostic(&self) -> Diagnostic {
        use ResolveError::*;
        let code = self.code();
        match self {
            Unknown { name, what, suggestion, span } => {
                let d = Diagnostic::error(code, format!("unknown {what} `{name}`"), *span, "not declared");
                match suggestion {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_help(declare_help(name)),
                }
            }
            Ambiguous { name, candidates, span } => {
                let list: Vec<String> = candidates.iter().map(|c| format!("`{c}`")).collect();
                Diagnostic::error(
                    code,
                    format!("`{name}` is a workload in {} namespaces", candidates.len()),
                    *span,
                    "could be any of them",
                )
                .with_help(format!("name one with its namespace: {}", list.join(", ")))
            }
            Duplicate { name, kind, first, span } => Diagnostic::error(
                code,
                format!("{} `{name}` is declared twice", kind.noun()),
                *span,
                "declared again here",
            )
            .with_label(*first, "first declared here")
            .with_help(if first.file == span.file {
                "rename one of them, or remove the second declaration"
            } else {
                // `netpol check examples/`: a directory's files are one program.
                "rename one of them, or remove the second declaration; the files given (every .netpol \
                 file of a directory) make one program, so check separate programs one file at a time"
            }),
            WrongKind { name, kind, expected, span } => Diagnostic::error(
                code,
                format!("`{name}` is a {}, but {expected} is needed here", kind.noun()),
                *span,
                format!("this is a {}", kind.noun()),
            )
            .with_help(format!("use {expected} in this position")),
            EdgeWithoutWorkload { span } => Diagnostic::error(
                code,
                "an edge needs a workload on at least one side",
                *span,
                "no side of this edge is a workload",
            )
            .with_help("name a declared workload as the source or the destination"),
            BadExpectEndpoint { text, span } => Diagnostic::error(
                code,
                format!("`{text}` cannot be an end of an expectation"),
                *span,
                "not one endpoint",
            )
            .with_help("name one workload, namespace, network or built-in peer; expect each member of a group separately"),
            BadLabelKey { key, why, span } => {
                Diagnostic::error(code, format!("invalid label key `{key}`"), *span, why.clone()).with_help(
                    "a key is an optional DNS-subdomain prefix and `/`, then up to 63 characters of \
                     letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit",
                )
            }
            BadLabelValue { value, why, span } => {
                Diagnostic::error(code, format!("invalid label value `{value}`"), *span, why.clone()).with_help(
                    "a value is empty or up to 63 characters of letters, digits, `-`, `_` and `.`, \
                     starting and ending with a letter or digit",
                )
            }
            UnknownParam { name, suggestion, span } => {
                let d = Diagnostic::error(code, format!("unknown parameter `{name}`"), *span, "no such parameter");
                match suggestion {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")),
                    None => d.with_help("declare it with `param NAME: TYPE = DEFAULT`"),
                }
            }
            BadParamValue { name, ty, value, span } => Diagnostic::error(
                code,
                format!("`{value}` is not a valid {ty} for parameter `{name}`"),
                *span,
                format!("expected a {ty}"),
            )
            .with_help(type_help(ty)),
            UnknownType { ty, span } => {
                Diagnostic::error(code, format!("unknown parameter type `{ty}`"), *span, "unknown type")
                    .with_help("parameter types are `cidr`, `bool`, `int`, `port` and `string`")
            }
            Reserved { name, span } => {
                Diagnostic::error(code, format!("`{name}` is a built-in peer and cannot be declared"), *span, "reserved")
                    .with_help("choose another name")
            }
            BadName { name, kind, span } => Diagnostic::error(
                code,
                format!("{} name `{name}` is not a valid Kubernetes name", kind.noun()),
                *span,
                "not a DNS-1123 label",
            )
            .with_help("use at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit"),
            BadCondition { message, span } => Diagnostic::error(code, message.clone(), *span, "in this condition")
                .with_help(
                    "test a `bool` parameter (`if istio { … }`), or compare a parameter with a value of its type \
                     (`if env == prod { … }`)",
                ),
            ExceptOutside { except, net, span, net_span } => Diagnostic::error(
                code,
                format!("`{except}` is not inside `{net}`"),
                *span,
                "this exception is outside the network",
            )
            .with_label(*net_span, "the network")
            .with_help("an `except` must name a part of the network before it"),
            ExceptWhole { net, span, net_span } => Diagnostic::error(
                code,
                format!("the exception `{net}` is the whole network"),
                *span,
                "this exception leaves nothing of the network",
            )
            .with_label(*net_span, "the network")
            .with_help("an `except` must name a smaller part of the network; to allow nothing here, remove the peer"),
            BadDnsName { name, span } => {
                Diagnostic::error(code, format!("invalid DNS name `{name}`"), *span, "not a DNS name or pattern")
                    .with_help("write a name such as `\"api.example.com\"` or a pattern such as `\"*.example.com\"`")
            }
            NoValue { name, span } => {
                Diagnostic::error(code, format!("parameter `{name}` has no value"), *span, "no default")
                    .with_help(format!("give it a default, or pass `--set {name}=VALUE`"))
            }
            BadNamedPort { name, span } => Diagnostic::error(
                code,
                format!("invalid named port `{name}`"),
                *span,
                "not a container port name",
            )
            .with_help("a port name has at most 15 lowercase letters, digits and `-`, with at least one letter"),
            DuplicateLabelKey { key, first, span } => Diagnostic::error(
                code,
                format!("label key `{key}` appears twice in one selector"),
                *span,
                "used again here",
            )
            .with_label(*first, "first used here")
            .with_help("use one term per key; `key in (a, b)` selects several values"),
            GroupCycle { name, span } => {
                Diagnostic::error(code, format!("group `{name}` contains itself"), *span, "cycle through here")
                    .with_help("remove the reference that leads back to the group")
            }
            NoNamespace { what, span } => {
                Diagnostic::error(code, format!("{what} outside any namespace"), *span, "no namespace for this")
                    .with_help(
                        "add a `namespace` line above it, as in `namespace shop`, or put it in a block, as in \
                         `namespace shop { workload web { app: web } }`",
                    )
            }
            DnsNotDestination { name, span } => Diagnostic::error(
                code,
                format!("DNS name `{name}` can only be a destination"),
                *span,
                "used as a source or subject",
            )
            .with_help(
                "DNS names select egress destinations, as in `web connects to \"api.example.com\" on tcp 443`",
            ),
        }
    }
}

fn type_help(ty: &str) -> &'static str {
    match ty {
        "cidr" => "write a network such as `10.0.0.0/8` or an address such as `10.0.0.1`",
        "bool" => "write `true` or `false`",
        "int" => "write a whole number",
        "port" => "write a port number from 1 to 65535",
        _ => "write a string",
    }
}

/// How to declare an unknown workload `name`: in its namespace when it names one
/// (`monitoring/prometheus`), as a line that parses as written.
fn declare_help(name: &str) -> String {
    match name.split_once('/') {
        Some((ns, short)) => format!(
            "declare it in namespace `{ns}`, as in `namespace {ns} {{ workload {short} {{ app: {short} }} }}`"
        ),
        None => format!("declare it, as in `workload {name} {{ app: {name} }}`"),
    }
}
