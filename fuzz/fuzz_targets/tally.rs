//! The `votebox tally` readers (Elekto CSV, BLT, PrefLib, ABIF, format detection) on arbitrary
//! text, and every counting method on what they accept: never a panic, errors with a position.
#![no_main]

#[path = "../../crates/votebox-core/tests/fuzz_props/mod.rs"]
mod fuzz_props;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz_props::check_reader(&fuzz_props::tally_input(data));
});
