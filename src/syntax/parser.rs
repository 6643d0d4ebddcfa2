//! pest → AST. One lowering function per grammar rule. A shape the grammar rules out is a bug
//! (`expect("grammar: …")`); a bad value (port 70000, a malformed CIDR) is a spanned
//! [`SyntaxError`] and lowering goes on, so one run reports every bad value in the file.

use super::ast::{self, *};
use super::error::SyntaxError;
use crate::span::{FileId, Span, Spanned};
use ipnet::IpNet;
use pest::iterators::Pair;
use pest::Parser as _;
use std::net::IpAddr;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/netpol.pest"]
pub(crate) struct NetpolParser;

/// Parses one file. Syntax errors are recovered from line by line, so all of them are reported;
/// a file with syntax errors yields no AST.
pub fn parse(file: FileId, text: &str) -> Result<File, Vec<SyntaxError>> {
    let mut errors = Vec::new();
    let mut patched: Option<String> = None;
    loop {
        let source = patched.as_deref().unwrap_or(text);
        match NetpolParser::parse(Rule::file, source) {
            Ok(mut pairs) => {
                if !errors.is_empty() {
                    return Err(errors);
                }
                let mut lower = Lower { file, errors: Vec::new() };
                let root = pairs.next().expect("grammar: file");
                let items = lower.items(root.into_inner());
                return if lower.errors.is_empty() { Ok(File { items }) } else { Err(lower.errors) };
            }
            Err(e) => {
                let err = SyntaxError::from_pest(file, source, e);
                let at = err.span().start as usize;
                errors.push(err);
                // Blank the offending line and try again; stop after a handful of errors.
                match blank_line(source, at) {
                    Some(next) if errors.len() < 20 => patched = Some(next),
                    _ => return Err(errors),
                }
            }
        }
    }
}

/// `text` with the line holding byte `at` replaced by spaces (same length, so spans hold),
/// or `None` when that changes nothing.
fn blank_line(text: &str, at: usize) -> Option<String> {
    let at = at.min(text.len());
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let line = &text[start..end];
    if line.trim().is_empty() {
        return None;
    }
    // Same byte length, so every span after the blanked line still points at the right text.
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..start]);
    for c in line.chars() {
        if c == '\r' {
            out.push(c);
        } else {
            out.extend(std::iter::repeat_n(' ', c.len_utf8()));
        }
    }
    out.push_str(&text[end..]);
    Some(out)
}

struct Lower {
    file: FileId,
    errors: Vec<SyntaxError>,
}

type P<'i> = Pair<'i, Rule>;

impl Lower {
    fn span(&self, p: &P) -> Span {
        let s = p.as_span();
        Span::new(self.file, s.start(), s.end())
    }

    fn items<'i>(&mut self, pairs: impl Iterator<Item = P<'i>>) -> Vec<Item> {
        pairs.filter(|p| p.as_rule() != Rule::EOI).map(|p| self.item(p)).collect()
    }

    fn item(&mut self, p: P) -> Item {
        match p.as_rule() {
            Rule::import => Item::Import(self.import(p)),
            Rule::param_decl => Item::Param(self.param_decl(p)),
            Rule::namespace_stmt => Item::NamespaceStmt(self.name(inner(p).nth(1))),
            Rule::namespace_block => Item::NamespaceBlock(self.namespace_block(p)),
            Rule::namespaces_decl => Item::Namespaces(self.selector_decl(p)),
            Rule::workload_decl => Item::Workload(self.selector_decl(p)),
            Rule::group_decl => Item::Group(self.group_decl(p)),
            Rule::if_block => Item::If(self.if_block(p)),
            Rule::default_deny => Item::DefaultDeny(self.default_deny(p)),
            Rule::expect_stmt => Item::Expect(self.expect_stmt(p)),
            Rule::rule_stmt => Item::Rule(self.rule(p)),
            Rule::edge => Item::Edge(self.edge(p)),
            r => unreachable!("grammar: unexpected item {r:?}"),
        }
    }

    fn import(&mut self, p: P) -> Spanned<String> {
        let s = inner(p).nth(1).expect("grammar: import path");
        self.string(s)
    }

    fn param_decl(&mut self, p: P) -> ParamDecl {
        let span = self.span(&p);
        let mut it = inner(p).skip(1);
        let name = self.name(it.next());
        let ty = self.name(it.next());
        let default = it.next().map(|l| self.literal(l));
        ParamDecl { name, ty, default, span }
    }

    fn namespace_block(&mut self, p: P) -> NamespaceBlock {
        let span = self.span(&p);
        let mut it = inner(p).skip(1);
        let name = self.name(it.next());
        let items = self.items(it);
        NamespaceBlock { name, items, span }
    }

    fn selector_decl(&mut self, p: P) -> SelectorDecl {
        let span = self.span(&p);
        let mut it = inner(p).skip(1);
        let name = self.name(it.next());
        let selector = self.selector(it.next().expect("grammar: selector"));
        SelectorDecl { name, selector, span }
    }

    fn group_decl(&mut self, p: P) -> GroupDecl {
        let span = self.span(&p);
        let mut it = inner(p).skip(1);
        let name = self.name(it.next());
        let peers = self.peer_list(it.next().expect("grammar: group peers"));
        GroupDecl { name, peers, span }
    }

    fn selector(&mut self, p: P) -> Selector {
        let span = self.span(&p);
        let terms = inner(p).map(|t| self.sel_term(t)).collect();
        Selector { terms, span }
    }

    fn sel_term(&mut self, p: P) -> SelTerm {
        let kind = p.as_rule();
        let mut it = inner(p);
        let key = self.text(it.next().expect("grammar: label key"));
        match kind {
            Rule::sel_eq => SelTerm::Eq { key, value: self.label_value(it.next()) },
            Rule::sel_in => SelTerm::In { key, values: self.value_list(it.nth(1)) },
            Rule::sel_notin => SelTerm::NotIn { key, values: self.value_list(it.nth(1)) },
            Rule::sel_exists => SelTerm::Exists { key },
            Rule::sel_not_exists | Rule::sel_bang => SelTerm::NotExists { key },
            r => unreachable!("grammar: unexpected selector term {r:?}"),
        }
    }

    fn value_list(&mut self, p: Option<P>) -> Vec<Spanned<String>> {
        inner(p.expect("grammar: value list")).map(|v| self.label_value(Some(v))).collect()
    }

    fn label_value(&mut self, p: Option<P>) -> Spanned<String> {
        let v = inner(p.expect("grammar: label value")).next().expect("grammar: label value");
        match v.as_rule() {
            Rule::string => self.string(v),
            _ => self.text(v),
        }
    }

    fn literal(&mut self, p: P) -> Literal {
        let span = self.span(&p);
        let v = inner(p).next().expect("grammar: literal");
        let kind = match v.as_rule() {
            Rule::string => LiteralKind::String(self.string(v).value),
            Rule::cidr => LiteralKind::Cidr(self.cidr(v).value),
            Rule::port_range => {
                let (lo, hi) = self.port_range(v).value;
                LiteralKind::Range(lo, hi)
            }
            Rule::number => LiteralKind::Number(v.as_str().parse().unwrap_or(u32::MAX)),
            Rule::kw_true => LiteralKind::Bool(true),
            Rule::kw_false => LiteralKind::Bool(false),
            Rule::name => LiteralKind::Name(v.as_str().to_string()),
            r => unreachable!("grammar: unexpected literal {r:?}"),
        };
        Literal { kind, span }
    }

    fn if_block(&mut self, p: P) -> IfBlock {
        let span = self.span(&p);
        let mut it = inner(p).skip(1);
        let condition = self.condition(it.next().expect("grammar: condition"));
        let then = self.block(it.next().expect("grammar: then block"));
        let otherwise = match it.nth(1) {
            None => Vec::new(),
            Some(b) if b.as_rule() == Rule::block => self.block(b),
            Some(nested) => vec![Item::If(self.if_block(nested))],
        };
        IfBlock { condition, then, otherwise, span }
    }

    fn block(&mut self, p: P) -> Vec<Item> {
        self.items(inner(p))
    }

    fn condition(&mut self, p: P) -> Condition {
        let span = self.span(&p);
        let mut it = inner(p).peekable();
        let negated = it.next_if(|x| x.as_rule() == Rule::negation).is_some();
        let param = self.name(it.next());
        let compare = it.next().map(|op| {
            let lit = self.literal(it.next().expect("grammar: comparison literal"));
            (op.as_str() == "==", lit)
        });
        Condition { negated, param, compare, span }
    }

    fn default_deny(&mut self, p: P) -> DefaultDeny {
        let span = self.span(&p);
        let mut it = inner(p).skip(2);
        let d = it.next().expect("grammar: direction");
        let direction = match inner(d).next().expect("grammar: direction keyword").as_rule() {
            Rule::kw_ingress => DirectionSpec::Ingress,
            Rule::kw_egress => DirectionSpec::Egress,
            _ => DirectionSpec::All,
        };
        let reason = it.next().map(|r| self.reason(r));
        DefaultDeny { direction, reason, span }
    }

    fn expect_stmt(&mut self, p: P) -> Expect {
        let span = self.span(&p);
        let mut it = inner(p).skip(1);
        let from = self.peer(it.next().expect("grammar: expect source"));
        let verdict = it.next().expect("grammar: verdict");
        let can = inner(verdict).next().map(|k| k.as_rule()) == Some(Rule::kw_can);
        let to = self.peer(it.nth(1).expect("grammar: expect destination"));
        let ports = it.nth(1).map(|ps| self.port_spec(ps));
        Expect { from, can, to, ports, span }
    }

    fn rule(&mut self, p: P) -> ast::Rule {
        let span = self.span(&p);
        let mut it = inner(p);
        let subject = self.subject(it.next().expect("grammar: subject"));
        let body_pair = it.next().expect("grammar: rule body");
        let body = self.rule_body(body_pair);
        let reason = it.next().map(|r| self.reason(r));
        ast::Rule { subject, body, reason, span }
    }

    fn subject(&mut self, p: P) -> NameRef {
        let x = inner(p).next().expect("grammar: subject name");
        self.name_ref(x)
    }

    fn rule_body(&mut self, p: P) -> RuleBody {
        let kind = p.as_rule();
        let parts: Vec<P> = inner(p).collect();
        let ports = |l: &mut Self| {
            parts.iter().find(|x| x.as_rule() == Rule::port_spec).map(|x| l.port_spec(x.clone()))
        };
        let ports = ports(self);
        let peers = parts
            .iter()
            .find(|x| x.as_rule() == Rule::peer_list)
            .map(|x| self.peer_list(x.clone()))
            .unwrap_or_default();
        match kind {
            Rule::accepts_nothing => RuleBody::AcceptsNothing,
            Rule::accepts => RuleBody::Accepts { ports, peers },
            Rule::connects_nothing => RuleBody::ConnectsNothing,
            Rule::connects => RuleBody::Connects { peers, ports },
            Rule::refuses => RuleBody::Refuses { ports, peers },
            Rule::never_connects => RuleBody::NeverConnects { peers, ports },
            r => unreachable!("grammar: unexpected rule body {r:?}"),
        }
    }

    fn edge(&mut self, p: P) -> Edge {
        let span = self.span(&p);
        let mut it = inner(p);
        let from = self.peer_list(it.next().expect("grammar: edge sources"));
        let to = self.peer_list(it.nth(1).expect("grammar: edge destinations"));
        let mut ports = None;
        let mut reason = None;
        for x in it {
            match x.as_rule() {
                Rule::port_spec => ports = Some(self.port_spec(x)),
                Rule::reason => reason = Some(self.reason(x)),
                _ => {}
            }
        }
        Edge { from, to, ports, reason, span }
    }

    fn reason(&mut self, p: P) -> Spanned<String> {
        self.string(inner(p).next().expect("grammar: reason string"))
    }

    fn port_spec(&mut self, p: P) -> PortSpec {
        let span = self.span(&p);
        let groups =
            inner(p).filter(|x| x.as_rule() == Rule::proto_ports).map(|x| self.proto_ports(x)).collect();
        PortSpec { groups, span }
    }

    fn proto_ports(&mut self, p: P) -> ProtoPorts {
        let span = self.span(&p);
        let mut it = inner(p);
        let protocol = match it.next().expect("grammar: protocol").as_str().to_ascii_lowercase().as_str() {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            _ => Protocol::Sctp,
        };
        let ports = it.map(|x| self.port_item(x)).collect();
        ProtoPorts { protocol, ports, span }
    }

    fn port_item(&mut self, p: P) -> PortItem {
        match p.as_rule() {
            Rule::number => PortItem::Number(self.port_number(p)),
            Rule::port_range => PortItem::Range(self.port_range(p)),
            Rule::named_port => PortItem::Name(self.ident(p)),
            r => unreachable!("grammar: unexpected port item {r:?}"),
        }
    }

    fn port_number(&mut self, p: P) -> Spanned<u16> {
        let span = self.span(&p);
        match p.as_str().parse::<u32>() {
            Ok(n @ 1..=65535) => Spanned::new(n as u16, span),
            _ => {
                self.errors.push(SyntaxError::BadPort { text: p.as_str().to_string(), span });
                Spanned::new(1, span)
            }
        }
    }

    fn port_range(&mut self, p: P) -> Spanned<(u16, u16)> {
        let span = self.span(&p);
        let text = p.as_str();
        let (lo, hi) = text.split_once('-').expect("grammar: range has a dash");
        let parse = |s: &str| s.parse::<u32>().ok().filter(|n| (1..=65535).contains(n));
        match (parse(lo), parse(hi)) {
            (Some(a), Some(b)) if a <= b => Spanned::new((a as u16, b as u16), span),
            (Some(_), Some(_)) => {
                self.errors.push(SyntaxError::BadRange { text: text.to_string(), span });
                Spanned::new((1, 1), span)
            }
            _ => {
                self.errors.push(SyntaxError::BadPort { text: text.to_string(), span });
                Spanned::new((1, 1), span)
            }
        }
    }

    fn peer_list(&mut self, p: P) -> Vec<Peer> {
        inner(p).map(|x| self.peer(x)).collect()
    }

    fn peer(&mut self, p: P) -> Peer {
        let x = inner(p).next().expect("grammar: peer");
        let span = self.span(&x);
        match x.as_rule() {
            Rule::builtin => Peer::Builtin(Spanned::new(builtin(x.as_str()), span)),
            Rule::namespace_peer => Peer::Namespace(self.name(inner(x).nth(1))),
            Rule::dns_name => Peer::Dns(self.string(inner(x).next().expect("grammar: dns string"))),
            Rule::cidr_peer => Peer::Cidr(self.cidr_peer(x)),
            Rule::qualified | Rule::name => Peer::Name(self.name_ref(x)),
            r => unreachable!("grammar: unexpected peer {r:?}"),
        }
    }

    fn cidr_peer(&mut self, p: P) -> CidrPeer {
        let span = self.span(&p);
        let mut it = inner(p);
        let net = self.cidr(it.next().expect("grammar: cidr"));
        let except = match it.nth(1) {
            None => Vec::new(),
            Some(x) if x.as_rule() == Rule::cidr_list => inner(x).map(|c| self.cidr(c)).collect(),
            Some(x) => vec![self.cidr(x)],
        };
        CidrPeer { net, except, span }
    }

    /// A CIDR, or a bare address taken as a single host (`/32` or `/128`).
    fn cidr(&mut self, p: P) -> Spanned<IpNet> {
        let span = self.span(&p);
        let text = p.as_str();
        let parsed = if text.contains('/') {
            text.parse::<IpNet>().ok()
        } else {
            text.parse::<IpAddr>().ok().map(IpNet::from)
        };
        match parsed {
            Some(net) if net.trunc() == net => Spanned::new(net, span),
            Some(net) => {
                self.errors.push(SyntaxError::HostBits {
                    text: text.to_string(),
                    network: net.trunc(),
                    span,
                });
                Spanned::new(net.trunc(), span)
            }
            None => {
                self.errors.push(SyntaxError::BadCidr { text: text.to_string(), span });
                Spanned::new(IpNet::from(IpAddr::from([0, 0, 0, 0])), span)
            }
        }
    }

    fn name_ref(&mut self, p: P) -> NameRef {
        let span = self.span(&p);
        if p.as_rule() == Rule::qualified {
            let (ns, name) = p.as_str().split_once('/').expect("grammar: qualified has a slash");
            let ns_span = Span::new(self.file, span.start as usize, span.start as usize + ns.len());
            let name_span = Span::new(self.file, ns_span.end as usize + 1, span.end as usize);
            return NameRef {
                namespace: Some(Ident { name: ns.to_string(), span: ns_span }),
                name: Ident { name: name.to_string(), span: name_span },
                span,
            };
        }
        NameRef { namespace: None, name: self.ident(p), span }
    }

    fn name(&mut self, p: Option<P>) -> Ident {
        self.ident(p.expect("grammar: name"))
    }

    fn ident(&mut self, p: P) -> Ident {
        Ident { name: p.as_str().to_string(), span: self.span(&p) }
    }

    fn text(&mut self, p: P) -> Spanned<String> {
        Spanned::new(p.as_str().to_string(), self.span(&p))
    }

    /// A string literal without its quotes, escapes resolved.
    fn string(&mut self, p: P) -> Spanned<String> {
        let span = self.span(&p);
        let raw = inner(p).next().map(|i| i.as_str()).unwrap_or("");
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(c @ ('"' | '\\')) => out.push(c),
                other => {
                    self.errors.push(SyntaxError::BadEscape {
                        text: format!("\\{}", other.map(String::from).unwrap_or_default()),
                        span,
                    });
                }
            }
        }
        Spanned::new(out, span)
    }
}

fn inner(p: P) -> pest::iterators::Pairs<Rule> {
    p.into_inner()
}

fn builtin(s: &str) -> Builtin {
    match s {
        "anywhere" | "anything" => Builtin::Anywhere,
        "world" => Builtin::World,
        "cluster" => Builtin::Cluster,
        "host" => Builtin::Host,
        "kube-apiserver" => Builtin::KubeApiserver,
        _ => Builtin::KubeDns,
    }
}
