//! Replays the libFuzzer corpus kept in `fuzz/corpus/` (every input that reached new code in a
//! `cargo fuzz` run, minimised) through the same properties, so CI re-checks all of it on stable
//! Rust without a fuzzer: what a fuzzing run once explored stays explored.

mod fuzz_props;

use std::path::PathBuf;

/// The files of `fuzz/corpus/<target>`; fails if the folder is missing or nearly empty, so this
/// test cannot pass by replaying nothing.
fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../fuzz/corpus/{target}"));
    let mut inputs: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("corpus entry").path();
            let bytes = std::fs::read(&path).expect("corpus file");
            (path, bytes)
        })
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= 10,
        "{} holds only {} inputs",
        dir.display(),
        inputs.len()
    );
    inputs
}

/// Runs `check` on every input, naming the input that fails.
fn replay(target: &str, check: impl Fn(&[u8])) {
    for (path, bytes) in corpus(target) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&bytes)));
        if let Err(panic) = outcome {
            std::panic::resume_unwind(Box::new(format!(
                "fuzz corpus input {} fails: {:?}",
                path.display(),
                panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
            )));
        }
    }
}

#[test]
fn meta_corpus_holds() {
    replay("meta", |data| {
        fuzz_props::check_catalog(&fuzz_props::meta_input(data))
    });
}

#[test]
fn tally_corpus_holds() {
    replay("tally", |data| {
        fuzz_props::check_reader(&fuzz_props::tally_input(data))
    });
}
