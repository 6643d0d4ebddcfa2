//! Parse, resolve and check, every backend, and every target's read-back compared with the
//! source: `netpol::fuzzing::pipeline`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| netpol::fuzzing::pipeline(data));
