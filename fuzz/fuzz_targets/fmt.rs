//! `netpol fmt`: idempotent, and the formatted text means what the input meant:
//! `netpol::fuzzing::fmt`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| netpol::fuzzing::fmt(data));
