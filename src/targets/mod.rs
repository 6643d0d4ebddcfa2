//! Each CNI in one place: `targets::<cni>::emit` writes its policies from the IR, and
//! `targets::<cni>::read` reads any policies of that dialect (netpol's own or anyone's) as the
//! CNI enforces them. `crate::backend` holds what the emitters share (the `Backend` trait,
//! objects, validation) and `crate::analysis::targets` what the readers share (`Manifests`,
//! `Reading`, origins); both re-export the per-CNI modules under their old names.
//!
//! The rule, checked by `tests/layout.rs`: a reader never imports its emitter, or any
//! emitter, so a mistake in one is never copied into the judge of it.

pub mod calico;
pub mod cilium;
pub mod kubernetes;
