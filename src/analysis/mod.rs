//! Stage 5, `analyze`: what a program allows. Port and address sets, the IR's reachability
//! meaning ([`reach`]), and `expect` verdicts (E04xx).

pub mod expect;
pub mod ports;
pub mod reach;
