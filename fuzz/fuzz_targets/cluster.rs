//! Fuzzes the cluster root type: verify + decode (+ apply for snapshots) + stable re-encoding.
//! Run with `cargo +nightly fuzz run cluster` from the repository root (or `make fuzz`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| schema::fuzzing::cluster(data));
