//! The diagnostic data every stage produces: a stable code, a severity, a message, a primary
//! labelled span, secondary labels, and a help line. Rendering (human, JSON, GitHub) lives in
//! the CLI; the library only builds these values.

use crate::span::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    /// Information that changes no outcome: `--deny-warnings` does not count it.
    Note,
}

/// A span with a short text saying what is at that spot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// One problem found in the user's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub primary: Label,
    pub secondary: Vec<Label>,
    pub help: Option<String>,
    /// How many more problems of the same kind this one stands for, not shown one by one (the
    /// parser stops listing syntax errors after [`crate::syntax::MAX_SYNTAX_ERRORS`]). They
    /// count in the totals: a file with 20,000 syntax errors has 20,000 errors.
    pub not_shown: usize,
}

impl Diagnostic {
    pub fn error(
        code: &'static str,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            primary: Label { span, message: label.into() },
            secondary: Vec::new(),
            help: None,
            not_shown: 0,
        }
    }

    pub fn warning(
        code: &'static str,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic { severity: Severity::Warning, ..Self::error(code, message, span, label) }
    }

    pub fn note(
        code: &'static str,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic { severity: Severity::Note, ..Self::error(code, message, span, label) }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Self {
        self.secondary.push(Label { span, message: message.into() });
        self
    }

    pub fn with_not_shown(mut self, n: usize) -> Self {
        self.not_shown = n;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    pub fn is_warning(&self) -> bool {
        self.severity == Severity::Warning
    }
}

/// Sorts diagnostics by file position so output does not depend on the order stages ran in.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        (a.primary.span.file, a.primary.span.start, a.code, &a.message).cmp(&(
            b.primary.span.file,
            b.primary.span.start,
            b.code,
            &b.message,
        ))
    });
}
