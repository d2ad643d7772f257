//! The properties every fuzzer of votebox-core checks, shared by the proptest targets
//! (`tests/fuzz.rs`), the libFuzzer targets (`fuzz/fuzz_targets/`, which include this file by
//! path) and the replay of the kept libFuzzer corpus in CI (`tests/fuzz_corpus.rs`).
//!
//! A libFuzzer input is raw bytes: [`meta_input`] and [`tally_input`] say how they become meta
//! files or reader text, so a corpus file means the same thing everywhere.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use votebox_core::count::formats::{Format, detect_format, parse_auto, parse_ballots};
use votebox_core::count::{CountOptions, Method, count, parse_elekto_csv};
use votebox_core::meta::{CatalogEntry, MetaFiles, load_catalog};

pub const ELECTION_YAML: &str = "name: 2021 Steering Committee Election
organization: Kubernetes
start_datetime: 2023-03-14 00:00:01
end_datetime: 2023-08-04 23:59:00
no_winners: 4
allow_no_opinion: True
delete_after: True
show_candidate_fields:
  - employer
  - slack
election_officers:
  - jberkus
  - alisondy
eligibility: Kubernetes Org members with 50 or more contributions.
exception_description: Not all contributions are measured by DevStats.
exception_due: 2023-10-31 10:00:00
voting_method: schulze
";

pub const VOTERS_YAML: &str = "eligible_voters:
  - dims
  - liggitt
  - jberkus
  - 'quoted'
";

pub const CANDIDATE_MD: &str = "-------------------------------------------------------------
name: Josh Berkus
ID: jberkus
info:
  - employer: Elekto
  - slack: jberkus
-------------------------------------------------------------

## SIGS

- SIGS/WG/UGs you're a member of <script>alert(1)</script>

[link](javascript:alert(1))
";

pub const DESC_MD: &str = "# Election\n\nSome *markdown* with <b>html</b> and a table:\n\n| a | b |\n|---|---|\n| 1 | 2 |\n";

pub const CSV: &str = "alice,bob,carol\n1,2,3\n2,No opinion,1\n100000000,1,1\n\"1\",2,3\n";
pub const BLT: &str =
    "3 1\n1 1 2 3 0\n2 2 1 0\n1 3 0\n0\n\"Alice\"\n\"Bob\"\n\"Carol\"\n\"Title\"\n";
pub const PREFLIB: &str = "# FILE NAME: x.soc\n# DATA TYPE: soc\n# NUMBER ALTERNATIVES: 3\n# ALTERNATIVE NAME 1: A\n# ALTERNATIVE NAME 2: B\n# ALTERNATIVE NAME 3: C\n# NUMBER VOTERS: 3\n# NUMBER UNIQUE ORDERS: 2\n2: 1,2,3\n1: 3,{1,2}\n";
pub const ABIF: &str =
    "{\"title\": \"x\"}\n=a:[Alice]\n=b:[Bob]\n=c:[Carol]\n3:a>b>c\n2:b=c>a\n1:c\n";

/// A valid sibling election that must survive whatever happens next to it.
pub fn sibling(files: &mut MetaFiles) {
    files.insert(
        "elections/good/election.yaml".into(),
        ELECTION_YAML.as_bytes().to_vec(),
    );
    files.insert(
        "elections/good/voters.yaml".into(),
        VOTERS_YAML.as_bytes().to_vec(),
    );
    files.insert(
        "elections/good/candidate-jberkus.md".into(),
        CANDIDATE_MD.as_bytes().to_vec(),
    );
}

pub fn check_catalog(files: &MetaFiles) {
    let started = Instant::now();
    let catalog = load_catalog(files, "elections");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "load_catalog took {:?}",
        started.elapsed()
    );
    match catalog.get("good") {
        Some(CatalogEntry::Ok(e)) => assert_eq!(e.key, "good"),
        other => panic!(
            "the valid sibling election is not Ok: {:?}",
            other.map(|e| e.key().to_owned())
        ),
    }
    // The fuzzed election is reported, parsed or broken, never dropped.
    assert!(catalog.get("fuzz").is_some(), "election `fuzz` vanished");
    // Every broken entry names its file and a message.
    for b in catalog.broken() {
        assert!(!b.error.message.is_empty());
        assert!(!b.error.file.is_empty());
    }
    // Rendering a parsed election's text must not panic either (done inside load_catalog for
    // descriptions and candidate bodies); list helpers too.
    let _ = catalog.elections_newest_first();
}

/// Counts whatever a reader accepted with every method (small inputs only), checking nothing
/// panics and errors are errors.
pub fn count_everything(profile: &votebox_core::count::Profile) {
    if profile.candidates().len() > 12 {
        return;
    }
    for method in Method::ALL {
        let _ = count(profile, &CountOptions::new(method, 1));
        let _ = count(profile, &CountOptions::new(method, 2));
    }
}

pub fn check_reader(text: &str) {
    let started = Instant::now();
    let _ = detect_format(text);
    if let Ok(parsed) = parse_auto(text) {
        count_everything(&parsed.profile);
    }
    for format in [
        Format::ElektoCsv,
        Format::Blt,
        Format::PrefLib,
        Format::Abif,
    ] {
        match parse_ballots(text, format) {
            Ok(parsed) => {
                assert_eq!(parsed.names.len(), parsed.profile.candidates().len());
                count_everything(&parsed.profile);
            }
            Err(e) => {
                assert!(e.line >= 1 && e.column >= 1, "{e}");
                assert!(!e.message.is_empty());
            }
        }
    }
    let _ = parse_elekto_csv(text);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "readers took {:?}",
        started.elapsed()
    );
}

/// The meta file a libFuzzer input replaces, chosen by its first byte; the rest of the input is
/// that file's content. The other files of election `fuzz` and the sibling `good` are valid.
pub const META_SLOTS: [&str; 4] = [
    "election.yaml",
    "voters.yaml",
    "candidate-fuzz.md",
    "election_desc.md",
];

/// Decodes a libFuzzer input (`[slot byte] content…`) into a meta tree with election `fuzz`
/// next to the valid election `good`.
pub fn meta_input(data: &[u8]) -> MetaFiles {
    let (slot, content) = match data.split_first() {
        Some((&slot, content)) => (usize::from(slot) % META_SLOTS.len(), content),
        None => (0, data),
    };
    let mut files = MetaFiles::new();
    sibling(&mut files);
    files.insert(
        "elections/fuzz/election.yaml".into(),
        ELECTION_YAML.as_bytes().to_vec(),
    );
    files.insert(
        "elections/fuzz/voters.yaml".into(),
        VOTERS_YAML.as_bytes().to_vec(),
    );
    files.insert(
        format!("elections/fuzz/{}", META_SLOTS[slot]),
        content.to_vec(),
    );
    files
}

/// A libFuzzer input as the text the `tally` readers get (invalid UTF-8 replaced, as reading a
/// file lossily would).
pub fn tally_input(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}
