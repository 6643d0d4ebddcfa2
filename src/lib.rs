#![doc = include_str!("../ARCHITECTURE.md")]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod alloc;
pub mod allow;
pub mod analysis;
pub mod backend;
pub mod check;
pub mod cli;
pub mod diagnostic;
pub mod driver;
pub mod explain;
pub mod fmt;
pub mod fs;
#[doc(hidden)]
pub mod fuzzing;
pub mod graph;
pub mod import;
pub mod ir;
pub mod lsp;
pub mod par;
pub mod resolve;
pub mod span;
pub mod spool;
pub mod syntax;
pub mod targets;
pub mod traffic;
pub mod words;
pub mod world;
pub mod yaml;
