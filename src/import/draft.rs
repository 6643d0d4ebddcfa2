//! What an importer makes of foreign policies before any name is chosen: per object, the pods it
//! polices and its statements in the language's terms, with the object and field each came
//! from, and every construct the language cannot say ([`Loss`]).
//!
//! Each dialect's translator (`kubernetes`, `cilium`, `calico`) fills a [`Draft`]; the writer
//! (`write`) names workloads and namespace sets and prints the source; the proof (`proof`)
//! compiles that source back and compares readings.

use crate::ir::{CidrBlock, Direction, Entity, LabelSelector, Ports};

/// The statements of every object read, in input order, and what could not be said.
#[derive(Clone, Debug, Default)]
pub struct Draft {
    pub policies: Vec<Policy>,
    pub losses: Vec<Loss>,
    /// Fields left out because they have no effect (rules of a direction `policyTypes` leaves
    /// out): warnings, never a refusal.
    pub ignored: Vec<Loss>,
}

/// One foreign object (or one of a Cilium object's `specs`), as statements.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The index of the object in the world's policies.
    pub object: usize,
    /// `NetworkPolicy shop/api`: how reasons name the object.
    pub title: String,
    /// The object's own name (`api`): a name for its workload when no label gives a better one.
    pub name: String,
    /// The namespace whose pods it polices.
    pub namespace: String,
    pub subject: Subject,
    pub statements: Vec<Statement>,
    /// The object carries `app.kubernetes.io/managed-by: netpol`: its name is the name of the
    /// workload it was written for, and its reasons are the source's.
    pub from_netpol: bool,
}

/// The pods a policy polices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    /// The pods a selector picks in the policy's namespace.
    Pods(LabelSelector),
}

#[derive(Clone, Debug)]
pub struct Statement {
    pub kind: Kind,
    pub peers: Vec<Peer>,
    /// `None`: written without ports (every port; DNS ports for `kube-dns` alone).
    pub ports: Option<Ports>,
    /// The human reason: the original's where netpol wrote it, else where the rule came from.
    pub reason: String,
    /// The field the statement came from (`spec.ingress[1]`).
    pub path: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Allow(Direction),
    Deny(Direction),
    /// Isolated in a direction with no rule (`accepts nothing` / `connects to nothing`).
    Nothing(Direction),
    /// Every pod of the namespace isolated in a direction (`default deny`).
    DefaultDeny(Direction),
}

/// A peer in the language's terms, before names are chosen.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Peer {
    /// The pods a selector picks in one namespace.
    Pods {
        namespace: String,
        selector: LabelSelector,
    },
    /// Every pod of one namespace.
    Namespace(String),
    /// Every pod of the namespaces a selector picks.
    Namespaces(LabelSelector),
    /// The pods a selector picks in the namespaces another picks.
    PodsIn {
        pods: LabelSelector,
        namespaces: LabelSelector,
    },
    Cidr(CidrBlock),
    Entity(Entity),
    Fqdn(String),
}

/// A construct the language cannot say: a diagnostic at the object's field. With `--lossy`
/// the rest is written and the loss becomes a comment where the statement would go.
#[derive(Clone, Debug)]
pub struct Loss {
    pub code: &'static str,
    pub object: usize,
    pub path: String,
    pub message: String,
    pub help: String,
}
