//! The spanned syntax tree of one `.netpol` file. It knows nothing of name binding: every
//! reference is a plain [`NameRef`], resolved later into the IR.

use crate::span::{Span, Spanned};
use ipnet::IpNet;

/// One parsed file.
#[derive(Clone, Debug, PartialEq)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Import(Spanned<String>),
    Param(ParamDecl),
    NamespaceStmt(Ident),
    NamespaceBlock(NamespaceBlock),
    Namespaces(SelectorDecl),
    Workload(SelectorDecl),
    Group(GroupDecl),
    If(IfBlock),
    DefaultDeny(DefaultDeny),
    /// Boxed: twice the size of a rule, and rare; every item in a list takes the room of the
    /// largest.
    Expect(Box<Expect>),
    Rule(Rule),
    Edge(Edge),
}

/// A declared or referenced name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A reference, optionally qualified by a namespace: `kafka` or `monitoring/prometheus`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameRef {
    pub namespace: Option<Ident>,
    pub name: Ident,
}

impl NameRef {
    /// The whole reference, from the namespace (if any) to the end of the name: derived, not
    /// stored, as the syntax tree holds one per rule and peer.
    pub fn span(&self) -> Span {
        match &self.namespace {
            Some(ns) => Span { end: self.name.span.end, ..ns.span },
            None => self.name.span,
        }
    }
}

impl std::fmt::Display for NameRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}", ns.name, self.name.name),
            None => f.write_str(&self.name.name),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ParamDecl {
    pub name: Ident,
    pub ty: Ident,
    pub default: Option<Literal>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NamespaceBlock {
    pub name: Ident,
    pub items: Vec<Item>,
    pub span: Span,
}

/// `workload NAME { selector }` or `namespaces NAME { selector }`.
#[derive(Clone, Debug, PartialEq)]
pub struct SelectorDecl {
    pub name: Ident,
    pub selector: Selector,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct GroupDecl {
    pub name: Ident,
    pub peers: Vec<Peer>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    pub terms: Vec<SelTerm>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SelTerm {
    Eq { key: Spanned<String>, value: Spanned<String> },
    In { key: Spanned<String>, values: Vec<Spanned<String>> },
    NotIn { key: Spanned<String>, values: Vec<Spanned<String>> },
    Exists { key: Spanned<String> },
    NotExists { key: Spanned<String> },
}

impl SelTerm {
    pub fn key(&self) -> &Spanned<String> {
        match self {
            SelTerm::Eq { key, .. }
            | SelTerm::In { key, .. }
            | SelTerm::NotIn { key, .. }
            | SelTerm::Exists { key }
            | SelTerm::NotExists { key } => key,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Literal {
    pub kind: LiteralKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum LiteralKind {
    String(String),
    Cidr(IpNet),
    Number(u32),
    Range(u16, u16),
    Bool(bool),
    Name(String),
}

/// `if c { … } else if c { … } … else { … }`. The chain is flat, however long it is, so no
/// pass over the tree recurses once per `else if`.
#[derive(Clone, Debug, PartialEq)]
pub struct IfBlock {
    /// The `if` and each `else if`, in order: the first whose condition holds is taken.
    pub branches: Vec<Branch>,
    /// The final `else`, taken when no condition holds (empty without one).
    pub otherwise: Vec<Item>,
    pub span: Span,
}

/// One `if c { … }` or `else if c { … }` of an [`IfBlock`].
#[derive(Clone, Debug, PartialEq)]
pub struct Branch {
    pub condition: Condition,
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub negated: bool,
    pub param: Ident,
    /// `== literal` (true) or `!= literal` (false).
    pub compare: Option<(bool, Literal)>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirectionSpec {
    Ingress,
    Egress,
    All,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DefaultDeny {
    pub direction: DirectionSpec,
    pub reason: Option<Spanned<String>>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expect {
    pub from: Peer,
    pub can: bool,
    pub to: Peer,
    pub ports: Option<PortSpec>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub subject: NameRef,
    pub body: RuleBody,
    pub reason: Option<Spanned<String>>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RuleBody {
    AcceptsNothing,
    Accepts { ports: Option<PortSpec>, peers: Vec<Peer> },
    ConnectsNothing,
    Connects { peers: Vec<Peer>, ports: Option<PortSpec> },
    Refuses { ports: Option<PortSpec>, peers: Vec<Peer> },
    NeverConnects { peers: Vec<Peer>, ports: Option<PortSpec> },
}

/// `a, b -> c on tcp 80`: egress on each source, ingress on each destination.
#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    pub from: Vec<Peer>,
    pub to: Vec<Peer>,
    pub ports: Option<PortSpec>,
    pub reason: Option<Spanned<String>>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub const ALL: [Protocol; 3] = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp];

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct PortSpec {
    pub groups: Vec<ProtoPorts>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ProtoPorts {
    pub protocol: Protocol,
    /// Empty means every port of the protocol.
    pub ports: Vec<PortItem>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortItem {
    Number(Spanned<u16>),
    Range(Spanned<(u16, u16)>),
    /// A named container port, or a reference to a `port` parameter of that name. Boxed: a
    /// number or range is 16 bytes, a name 40.
    Name(Box<Ident>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Builtin {
    Anywhere,
    World,
    Cluster,
    Host,
    KubeApiserver,
    KubeDns,
}

impl Builtin {
    pub fn keyword(self) -> &'static str {
        match self {
            Builtin::Anywhere => "anywhere",
            Builtin::World => "world",
            Builtin::Cluster => "cluster",
            Builtin::Host => "host",
            Builtin::KubeApiserver => "kube-apiserver",
            Builtin::KubeDns => "kube-dns",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Peer {
    Builtin(Spanned<Builtin>),
    Namespace(Ident),
    Dns(Spanned<String>),
    Cidr(CidrPeer),
    Name(NameRef),
    /// `workload in namespaces-set`. Boxed: the largest peer by far, and rare.
    In(Box<WorkloadIn>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadIn {
    pub workload: NameRef,
    pub namespaces: Ident,
    pub span: Span,
}

impl Peer {
    pub fn span(&self) -> Span {
        match self {
            Peer::Builtin(b) => b.span,
            Peer::Namespace(i) => i.span,
            Peer::Dns(d) => d.span,
            Peer::Cidr(c) => c.span,
            Peer::Name(n) => n.span(),
            Peer::In(w) => w.span,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct CidrPeer {
    pub net: Spanned<IpNet>,
    pub except: Vec<Spanned<IpNet>>,
    pub span: Span,
}
