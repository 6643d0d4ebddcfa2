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
        /// The keyword the misspelled word at the spot most likely is.
        suggestion: Option<&'static str>,
        /// What the grammar wanted there, in words, with examples: the help line.
        help: &'static str,
        span: Span,
    },
    /// The syntax errors past [`super::MAX_SYNTAX_ERRORS`]: counted, not listed.
    NotShown {
        shown: usize,
        more: usize,
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
            SyntaxError::Unexpected { .. } | SyntaxError::NotShown { .. } => "E0001",
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
            | SyntaxError::NotShown { span, .. }
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
            SyntaxError::Unexpected { found, expected, suggestion, help, .. } => {
                let d = Diagnostic::error(
                    code,
                    format!("unexpected {found}"),
                    span,
                    format!("expected {}", or_list(expected)),
                );
                match suggestion {
                    Some(word) => d.with_help(format!("did you mean `{word}`? {help}")),
                    None => d.with_help(*help),
                }
            }
            SyntaxError::NotShown { shown, more, .. } => Diagnostic::error(
                code,
                format!("{} more syntax errors not shown", thousands(*more)),
                span,
                "the first error not shown",
            )
            .with_help(format!(
                "netpol lists the first {shown} syntax errors of a file and counts the statements \
                 after them that do not parse; fix these and run it again"
            ))
            .with_not_shown(*more),
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
        let positives: &[Rule] = match &err.variant {
            pest::error::ErrorVariant::ParsingError { positives, .. } => positives,
            pest::error::ErrorVariant::CustomError { .. } => &[],
        };
        let (found, len) = token_at(text, at);
        let word = text.get(at..at + len).unwrap_or("");
        SyntaxError::Unexpected {
            found,
            expected,
            suggestion: suggest_keyword(word, positives)
                .or_else(|| suggest_lead(&text[..at.min(text.len())], positives)),
            help: help_for(positives, &text[..at.min(text.len())], word.is_empty()),
            span: Span::new(file, at, at + len),
        }
    }
}

/// `19980` as `19,980`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The keyword (or protocol, or built-in peer) the grammar expected at the spot that `word`
/// most likely misspells: `conects` → `connects`, `tpc` → `tcp`, `fromm` → `from`.
fn suggest_keyword(word: &str, expected: &[Rule]) -> Option<&'static str> {
    if word.is_empty() || !word.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return None;
    }
    let word = word.to_ascii_lowercase();
    expected
        .iter()
        .flat_map(|r| keywords(*r).iter().copied())
        .filter(|k| *k != word)
        .map(|k| (strsim::damerau_levenshtein(&word, k), k))
        // One edit in a short word, two in a longer one: `to` is not a misspelling of `on`.
        .filter(|(d, k)| *d <= if k.len() <= 4 { 1 } else { 2 } && *d < word.len())
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, k)| k)
}

/// When the grammar read the first word of a line as a workload's name and then found no rule
/// after it (`defalt deny ingress`), the statement keyword that word most likely misspells.
fn suggest_lead(before: &str, expected: &[Rule]) -> Option<&'static str> {
    if !expected.iter().any(|r| matches!(r, Rule::accepts | Rule::connects | Rule::kw_accepts | Rule::arrow))
    {
        return None;
    }
    let line = before.rsplit('\n').next().unwrap_or("").trim_start_matches('\u{feff}').trim();
    if line.is_empty() || line.contains(char::is_whitespace) {
        return None;
    }
    let statements = [
        Rule::kw_import,
        Rule::kw_param,
        Rule::kw_namespace,
        Rule::kw_namespaces,
        Rule::kw_workload,
        Rule::kw_group,
        Rule::kw_if,
        Rule::kw_default,
        Rule::kw_expect,
    ];
    suggest_keyword(line, &statements)
}

/// The words a rule stands for at the start of what it matches.
fn keywords(r: Rule) -> &'static [&'static str] {
    match r {
        Rule::import | Rule::kw_import => &["import"],
        Rule::param_decl | Rule::kw_param => &["param"],
        Rule::namespace_stmt | Rule::namespace_block | Rule::kw_namespace | Rule::namespace_peer => {
            &["namespace"]
        }
        Rule::namespaces_decl | Rule::kw_namespaces => &["namespaces"],
        Rule::workload_decl | Rule::kw_workload => &["workload"],
        Rule::group_decl | Rule::kw_group => &["group"],
        Rule::if_block | Rule::kw_if => &["if"],
        Rule::kw_else => &["else"],
        Rule::default_deny | Rule::kw_default => &["default"],
        Rule::expect_stmt | Rule::kw_expect => &["expect"],
        Rule::accepts | Rule::kw_accepts => &["accepts"],
        Rule::connects | Rule::kw_connects => &["connects"],
        Rule::refuses | Rule::kw_refuses => &["refuses"],
        Rule::never_connects | Rule::kw_never => &["never"],
        Rule::kw_nothing => &["nothing"],
        Rule::kw_from => &["from"],
        Rule::kw_to => &["to"],
        Rule::kw_on => &["on"],
        Rule::kw_and => &["and"],
        Rule::kw_except => &["except"],
        Rule::kw_deny => &["deny"],
        Rule::direction => &["ingress", "egress", "all"],
        Rule::kw_ingress => &["ingress"],
        Rule::kw_egress => &["egress"],
        Rule::verdict => &["can", "cannot"],
        Rule::kw_can => &["can"],
        Rule::kw_cannot => &["cannot"],
        Rule::kw_reach => &["reach"],
        Rule::kw_in => &["in"],
        Rule::kw_notin => &["notin"],
        Rule::kw_exists => &["exists"],
        Rule::kw_does_not_exist => &["does-not-exist"],
        Rule::kw_true | Rule::kw_false => &["true", "false"],
        Rule::port_spec | Rule::proto_ports | Rule::protocol => &["tcp", "udp", "sctp"],
        Rule::builtin => &["anywhere", "anything", "world", "cluster", "host", "kube-apiserver", "kube-dns"],
        _ => &[],
    }
}

/// The help line of a syntax error: what the grammar wanted at the spot, in words, with
/// examples that parse where they are meant to go. `before` is the text before the spot;
/// `at_line_end` says the spot is the end of a line or of the file.
fn help_for(expected: &[Rule], before: &str, at_line_end: bool) -> &'static str {
    let has = |rules: &[Rule]| expected.iter().any(|r| rules.contains(r));
    // Where a statement may start, the grammar also expects a peer (an edge starts with one).
    let line_start = has(&[Rule::workload_decl, Rule::kw_workload, Rule::default_deny, Rule::expect_stmt])
        || before.rsplit('\n').next().is_none_or(|l| l.trim().is_empty())
            && !has(&[Rule::peer_list, Rule::peer]);
    if has(&[Rule::protocol, Rule::port_spec, Rule::proto_ports]) && !line_start {
        return "ports follow a protocol, as in `tcp 80`, `udp 53`, `tcp 8000-8100`, `tcp 80, 443` or \
                `tcp 80 and udp 53`";
    }
    if has(&[Rule::accepts, Rule::connects, Rule::refuses, Rule::never_connects, Rule::kw_accepts])
        && !line_start
    {
        return "a rule names its workload, then `accepts`, `connects`, `refuses` or `never`, as in \
                `web accepts tcp 80 from api` or `web connects to db on tcp 5432`";
    }
    if has(&[Rule::kw_from]) {
        return "`accepts` and `refuses` take their peers after `from`, as in `web accepts tcp 80 from api`";
    }
    if has(&[Rule::kw_to]) {
        return "`connects` takes its peers after `to`, as in `web connects to db on tcp 5432`";
    }
    if has(&[Rule::direction, Rule::kw_ingress, Rule::kw_egress, Rule::kw_all]) {
        return "a default deny names a direction, as in `default deny ingress`, `default deny egress` or \
                `default deny all`";
    }
    if has(&[Rule::verdict, Rule::kw_can, Rule::kw_cannot, Rule::kw_reach]) {
        return "an expectation reads `expect api can reach web on tcp 80` or `expect api cannot reach db`";
    }
    if has(&[
        Rule::sel_eq,
        Rule::sel_in,
        Rule::label_key,
        Rule::label_value,
        Rule::bare_value,
        Rule::kw_notin,
        Rule::kw_exists,
        Rule::kw_does_not_exist,
    ]) {
        return "a selector lists label terms between braces, as in `{ app: web }`, \
                `{ app: web, tier in (front, back) }` or `{ !canary }`";
    }
    if has(&[Rule::peer_list, Rule::peer, Rule::ref_name, Rule::builtin, Rule::cidr_peer]) && !line_start {
        return "a peer is a workload (`web`, `shop/web`), `namespace shop`, a network (`10.0.0.0/8`), \
                a DNS name (`\"api.example.com\"`) or a built-in peer (`world`, `cluster`, `kube-dns`)";
    }
    if has(&[Rule::condition, Rule::negation, Rule::compare]) {
        return "a condition tests a parameter, as in `istio`, `!istio` or `env == prod`";
    }
    if has(&[Rule::selector]) {
        return "a declaration names its pods by a selector, as in `workload web { app: web }`";
    }
    if at_line_end && !line_start {
        return "each statement takes one line; continue a list on the next line after a `,`";
    }
    "a line holds one statement: a declaration (`workload web { app: web }`), a rule \
     (`web accepts tcp 80 from api`), an edge (`api -> web on tcp 80`), `default deny ingress`, \
     or `expect api can reach web`"
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
