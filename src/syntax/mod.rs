//! Stage 1, `parse`: text → spanned AST ([`ast::File`]). Knows nothing of names or targets.
//! Errors: E00xx ([`SyntaxError`]).

pub mod ast;
mod error;
mod parser;

pub use error::{thousands, SyntaxError};
pub use parser::{parse, MAX_NESTING, MAX_SYNTAX_ERRORS};

/// The pest parser and its rules, for the formatter (which lays out the parse tree itself).
pub(crate) use parser::{NetpolParser, Rule};
