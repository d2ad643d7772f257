//! The meta parsers (`election.yaml`, `voters.yaml`, candidate files, Markdown) on arbitrary
//! bytes: never a panic, the fuzzed election always listed (parsed or broken), its valid sibling
//! always parsed. Input layout: `fuzz_props::meta_input`.
#![no_main]

#[path = "../../crates/votebox-core/tests/fuzz_props/mod.rs"]
mod fuzz_props;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz_props::check_catalog(&fuzz_props::meta_input(data));
});
