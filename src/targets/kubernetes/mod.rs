//! Kubernetes: the emitter ([`emit`], behind [`crate::backend::Backend`]) and the reader
//! ([`read`], the CNI's semantics of any manifests) side by side. The reader never uses the
//! emitter: it is the independent judge of what the emitter writes (`tests/layout.rs`).

pub mod emit;
pub mod emit_cluster;
pub mod read;
pub mod selector;
