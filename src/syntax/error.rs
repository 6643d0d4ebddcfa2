//! Syntax errors (E00xx): malformed text and malformed literal values.

use super::parser::Rule;
use crate::diagnostic::Diagnostic;
use crate::span::{FileId, Span};
use ipnet::IpNet;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyntaxError {
    /// The text does not fit the grammar.
    Unexpected {
        found: String,
        expected: Vec<&'static str>,
        span: Span,
    },
    BadPort {
        text: String,
        span: Span,
    },
    BadRange {
        text: String,
        span: Span,
    },
    BadCidr {
        text: String,
        span: Span,
    },
    HostBits {
        text: String,
        network: IpNet,
        span: Span,
    },
    /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`): Kubernetes refuses it
    /// (`parseCIDR` in kubernetes/kubernetes pkg/apis/core/validation/ips.go, "must not have an
    /// IPv4-mapped IPv6 address"), Calico's `cnet.ParseCIDR` reads it as IPv4, Cilium's
    /// `netip.ParsePrefix` as IPv6: readers disagree on what it matches.
    MappedIpv4 {
        text: String,
        /// The same network written as IPv4.
        ipv4: String,
        span: Span,
    },
    BadEscape {
        text: String,
        span: Span,
    },
    /// A bracket that opens one level more than [`super::MAX_NESTING`] allows.
    TooDeep {
        max: usize,
        span: Span,
    },
}

impl SyntaxError {
    pub fn code(&self) -> &'static str {
        match self {
            SyntaxError::Unexpected { .. } => "E0001",
            SyntaxError::BadPort { .. } => "E0002",
            SyntaxError::BadRange { .. } => "E0003",
            SyntaxError::BadCidr { .. } | SyntaxError::MappedIpv4 { .. } => "E0004",
            SyntaxError::HostBits { .. } => "E0005",
            SyntaxError::BadEscape { .. } => "E0006",
            SyntaxError::TooDeep { .. } => "E0008",
        }
    }

    pub fn span(&self) -> Span {
        match self {
            SyntaxError::Unexpected { span, .. }
            | SyntaxError::BadPort { span, .. }
            | SyntaxError::BadRange { span, .. }
            | SyntaxError::BadCidr { span, .. }
            | SyntaxError::MappedIpv4 { span, .. }
            | SyntaxError::HostBits { span, .. }
            | SyntaxError::BadEscape { span, .. }
            | SyntaxError::TooDeep { span, .. } => *span,
        }
    }

    pub fn to_diagnostic(&self) -> Diagnostic {
        let code = self.code();
        let span = self.span();
        match self {
            SyntaxError::Unexpected { found, expected, .. } => Diagnostic::error(
                code,
                format!("unexpected {found}"),
                span,
                format!("expected {}", or_list(expected)),
            )
            .with_help("each statement takes one line; continue a list on the next line after a `,`"),
            SyntaxError::BadPort { text, .. } => {
                Diagnostic::error(code, format!("invalid port `{text}`"), span, "not a port number")
                    .with_help("ports are numbers from 1 to 65535")
            }
            SyntaxError::BadRange { text, .. } => {
                Diagnostic::error(code, format!("invalid port range `{text}`"), span, "the range is empty")
                    .with_help("write the lower port first, as in `8000-8100`")
            }
            SyntaxError::BadCidr { text, .. } => {
                Diagnostic::error(code, format!("invalid CIDR `{text}`"), span, "not an IPv4 or IPv6 network")
                    .with_help("write an address and a prefix length, as in `10.0.0.0/8` or `2001:db8::/32`")
            }
            SyntaxError::MappedIpv4 { text, ipv4, .. } => Diagnostic::error(
                code,
                format!("CIDR `{text}` is an IPv4-mapped IPv6 address"),
                span,
                "targets disagree on whether this is IPv4 or IPv6",
            )
            .with_help(format!(
                "write the IPv4 network `{ipv4}`; Kubernetes refuses IPv4-mapped addresses, and Calico and \
                 Cilium disagree on what they match"
            )),
            SyntaxError::HostBits { text, network, .. } => Diagnostic::error(
                code,
                format!("CIDR `{text}` has host bits set"),
                span,
                "bits after the prefix length are not zero",
            )
            .with_help(format!("write the network address `{network}`")),
            SyntaxError::BadEscape { text, .. } => {
                Diagnostic::error(code, format!("unknown escape `{text}` in string"), span, "unknown escape")
                    .with_help("strings accept the escapes \\\", \\\\, \\n and \\t")
            }
            SyntaxError::TooDeep { max, .. } => Diagnostic::error(
                code,
                format!("blocks nested more than {max} deep"),
                span,
                format!("this opens level {}", max + 1),
            )
            .with_help(format!(
                "`namespace` and `if` blocks, selectors and `( … )` lists nest at most {max} deep; \
                 move the inner statements out, or test the conditions in an `else if` chain"
            )),
        }
    }

    pub(crate) fn from_pest(file: FileId, text: &str, err: pest::error::Error<Rule>) -> SyntaxError {
        let at = match err.location {
            pest::error::InputLocation::Pos(p) => p,
            pest::error::InputLocation::Span((s, _)) => s,
        };
        let expected = match &err.variant {
            pest::error::ErrorVariant::ParsingError { positives, .. } => describe(positives),
            pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
        };
        let (found, len) = token_at(text, at);
        SyntaxError::Unexpected { found, expected, span: Span::new(file, at, at + len) }
    }
}

/// What stands at byte `at`, for "unexpected …", and its length in bytes.
fn token_at(text: &str, at: usize) -> (String, usize) {
    let rest = text.get(at..).unwrap_or("");
    match rest.chars().next() {
        None => ("end of file".to_string(), 0),
        Some('\n') | Some('\r') => ("end of line".to_string(), 0),
        Some(c) if c.is_alphanumeric() || c == '_' => {
            let len =
                rest.find(|c: char| !(c.is_alphanumeric() || "-_./:".contains(c))).unwrap_or(rest.len());
            (format!("`{}`", &rest[..len]), len)
        }
        Some('"') => ("string".to_string(), rest.find('\n').unwrap_or(rest.len()).min(rest.len())),
        Some(c) => (format!("`{c}`"), c.len_utf8()),
    }
}

fn or_list(items: &[&str]) -> String {
    match items {
        [] => "something else".to_string(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

/// User words for grammar rules, deduplicated, sorted and trimmed.
fn describe(rules: &[Rule]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = rules.iter().filter_map(|r| rule_name(*r)).collect();
    out.sort_unstable();
    out.dedup();
    if out.len() > 8 {
        out.truncate(8);
        out.push("…");
    }
    out
}

fn rule_name(r: Rule) -> Option<&'static str> {
    Some(match r {
        Rule::EOI => "end of file",
        Rule::import | Rule::kw_import => "`import`",
        Rule::param_decl | Rule::kw_param => "`param`",
        Rule::namespace_stmt | Rule::namespace_block | Rule::kw_namespace | Rule::namespace_peer => {
            "`namespace`"
        }
        Rule::namespaces_decl | Rule::kw_namespaces => "`namespaces`",
        Rule::workload_decl | Rule::kw_workload => "`workload`",
        Rule::group_decl | Rule::kw_group => "`group`",
        Rule::if_block | Rule::kw_if => "`if`",
        Rule::kw_else => "`else`",
        Rule::default_deny | Rule::kw_default => "`default`",
        Rule::expect_stmt | Rule::kw_expect => "`expect`",
        Rule::rule_stmt | Rule::edge | Rule::subject => "a statement",
        Rule::selector => "a label selector `{ … }`",
        Rule::sel_eq | Rule::sel_in | Rule::sel_notin | Rule::sel_exists | Rule::sel_not_exists => {
            "a label term"
        }
        Rule::sel_bang => "`!`",
        Rule::label_key => "a label key",
        Rule::label_value | Rule::bare_value => "a label value",
        Rule::value_list => "a value list `( … )`",
        Rule::literal => "a value",
        Rule::block => "`{`",
        Rule::condition | Rule::negation => "a condition",
        Rule::compare => "`==` or `!=`",
        Rule::accepts | Rule::kw_accepts => "`accepts`",
        Rule::connects | Rule::kw_connects => "`connects`",
        Rule::refuses | Rule::kw_refuses => "`refuses`",
        Rule::never_connects | Rule::kw_never => "`never`",
        Rule::kw_nothing => "`nothing`",
        Rule::kw_from => "`from`",
        Rule::kw_to => "`to`",
        Rule::kw_on => "`on`",
        Rule::kw_and => "`and`",
        Rule::kw_except => "`except`",
        Rule::kw_deny => "`deny`",
        Rule::direction | Rule::kw_ingress | Rule::kw_egress | Rule::kw_all => "`ingress`, `egress` or `all`",
        Rule::verdict | Rule::kw_can | Rule::kw_cannot => "`can` or `cannot`",
        Rule::kw_reach => "`reach`",
        Rule::kw_in => "`in`",
        Rule::kw_notin => "`notin`",
        Rule::kw_exists => "`exists`",
        Rule::kw_does_not_exist => "`does-not-exist`",
        Rule::kw_true | Rule::kw_false => "`true` or `false`",
        Rule::arrow => "`->`",
        Rule::reason => "a reason string",
        Rule::port_spec | Rule::proto_ports | Rule::protocol => "a protocol (`tcp`, `udp`, `sctp`)",
        Rule::port_range | Rule::number | Rule::named_port => "a port",
        Rule::peer_list | Rule::peer | Rule::builtin | Rule::ref_name | Rule::cidr_peer => "a peer",
        Rule::dns_name | Rule::string | Rule::string_inner => "a string",
        Rule::cidr | Rule::cidr_list | Rule::ipv4 | Rule::ipv6 => "a CIDR",
        Rule::name | Rule::ident => "a name",
        _ => return None,
    })
}
