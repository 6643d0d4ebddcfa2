//! Stage 4, `emit`: IR → manifests. Each target is one module behind [`Backend`], picked by
//! [`Target`]; differences between CNIs live inside their module. Errors: E03xx.

pub mod kubernetes;

use crate::diagnostic::Diagnostic;
use crate::ir::Program;
use crate::span::Span;

/// The policy dialect to emit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Kubernetes,
}

impl Target {
    pub const ALL: [Target; 1] = [Target::Kubernetes];

    pub fn name(self) -> &'static str {
        match self {
            Target::Kubernetes => "kubernetes",
        }
    }

    pub fn backend(self) -> &'static dyn Backend {
        match self {
            Target::Kubernetes => &kubernetes::Kubernetes,
        }
    }
}

/// One emitted object, ready to serialize.
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    pub kind: &'static str,
    /// `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    pub name: String,
    /// The full object (`apiVersion`, `kind`, `metadata`, `spec`) as one YAML document, in
    /// API field order. Objects are serialized as they are built, so a large program never
    /// holds a second, generic copy of its output.
    pub yaml: String,
    /// The statement this object mainly comes from.
    pub origin: Span,
}

impl Object {
    /// The object as a JSON value, read back from its YAML (for inspection and validation).
    pub fn body(&self) -> serde_json::Value {
        crate::yaml::parse(&self.yaml)
    }
}

/// What a backend may ask of its caller beyond the IR: how to print a source location.
pub struct EmitContext<'a> {
    /// `file:line` of a span, for annotations. `Sync`: backends may emit on several threads.
    pub locate: &'a (dyn Fn(Span) -> String + Sync),
}

pub trait Backend: Sync {
    fn target(&self) -> Target;

    /// Every object for `program`, sorted by namespace and name; or every construct this
    /// target cannot express.
    fn emit(&self, program: &Program, cx: &EmitContext) -> Result<Vec<Object>, Vec<EmitError>>;
}

/// Labels every emitted object carries.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "netpol");
/// Annotation keys carrying provenance.
pub const ANNOTATION_SOURCE: &str = "netpol/source";
pub const ANNOTATION_RULES: &str = "netpol/rules";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmitError {
    /// The target has no way to express `construct`; emitting anything would drop or widen it.
    Unsupported { target: Target, construct: String, span: Span, help: String },
    /// Two objects would share a name; applying both would silently keep only one.
    NameClash { target: Target, name: String, first: Span, span: Span },
}

impl EmitError {
    pub fn code(&self) -> &'static str {
        match self {
            EmitError::Unsupported { .. } => "E0301",
            EmitError::NameClash { .. } => "E0302",
        }
    }

    pub fn to_diagnostic(&self) -> Diagnostic {
        match self {
            EmitError::Unsupported { target, construct, span, help } => Diagnostic::error(
                self.code(),
                format!("target `{}` cannot express {construct}", target.name()),
                *span,
                format!("not expressible in {}", target.name()),
            )
            .with_help(help.clone()),
            EmitError::NameClash { target, name, first, span } => Diagnostic::error(
                self.code(),
                format!("two {} objects would be named `{name}`", target.name()),
                *span,
                "this object's name",
            )
            .with_label(*first, "clashes with the object from here")
            .with_help("rename the workload, so every emitted object has its own name"),
        }
    }
}

/// Sorts objects by (namespace, kind, name) and reports clashing names.
pub fn finish(target: Target, mut objects: Vec<Object>) -> Result<Vec<Object>, Vec<EmitError>> {
    objects.sort_by(|a, b| (&a.namespace, a.kind, &a.name).cmp(&(&b.namespace, b.kind, &b.name)));
    let clashes: Vec<EmitError> = objects
        .windows(2)
        .filter(|w| (&w[0].namespace, w[0].kind, &w[0].name) == (&w[1].namespace, w[1].kind, &w[1].name))
        .map(|w| EmitError::NameClash {
            target,
            name: w[1].name.clone(),
            first: w[0].origin,
            span: w[1].origin,
        })
        .collect();
    if clashes.is_empty() {
        Ok(objects)
    } else {
        Err(clashes)
    }
}
