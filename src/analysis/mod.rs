//! Stage 5, `analyze`: what a program allows. Port sets ([`ports`]), the points reachability is
//! computed over ([`universe`], with a pod for each pair of selectors that can pick one pod,
//! [`overlap`]), sides and how they fold ([`side`]), the source's meaning ([`reach`]), each
//! target's reading of its manifests ([`targets`]), the reachability matrix ([`matrix`]), the
//! comparison of a target with the source ([`verify`]), and `expect` verdicts (E04xx,
//! [`expect`]).

pub mod diff;
pub mod expect;
pub mod matrix;
pub mod overlap;
pub mod ports;
pub mod reach;
pub mod side;
pub mod targets;
pub mod universe;
pub mod verify;
