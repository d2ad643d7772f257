//! Property-based fuzzing of every parser that reads untrusted bytes (issue 7, item 6):
//!
//! * the meta parsers through [`load_catalog`]: `election.yaml`, `voters.yaml`, candidate files
//!   (front matter + Markdown), `election_desc.md` / `results.md`;
//! * the `tally` input readers: Elekto CSV, BLT, PrefLib, ABIF and format detection, and every
//!   counting method on whatever they accept;
//! * what `votebox verify` reads: ballot boards (CSV and JSON), typed receipts, results.md drafts.
//!
//! Inputs are arbitrary bytes, structured YAML-ish noise, and mutations (byte flips, splices,
//! truncations, YAML-special insertions) of valid files. Properties: never panic; an election
//! directory with an `election.yaml` always appears in the catalog, `Ok` or `Broken`, and a
//! broken one never hides a valid sibling; readers return `Ok` or a positioned error.
//!
//! Bounded for CI: `VOTEBOX_FUZZ_CASES` cases per property (default 256; `PROPTEST_CASES` is
//! honoured too). A longer local run: `VOTEBOX_FUZZ_CASES=20000 cargo test -p votebox-core
//! --test fuzz --release`. Regressions found are pinned as plain `#[test]`s at the bottom, and
//! proptest keeps failing seeds under `tests/fuzz.proptest-regressions`.

mod fuzz_props;

use std::sync::OnceLock;

use proptest::prelude::*;
use votebox_core::count::{Method, TieBreak, Unranked};
use votebox_core::meta::MetaFiles;
use votebox_core::results::{Counting, MarkdownInfo, StoredBallots, results_markdown};
use votebox_core::verify::{Board, Receipt, check_draft, read_draft};

use fuzz_props::*;

fn cases() -> u32 {
    std::env::var("VOTEBOX_FUZZ_CASES")
        .or_else(|_| std::env::var("PROPTEST_CASES"))
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        // Shrinking a slow input can take long; keep CI bounded.
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    }
}

// ----- seeds: valid files are in fuzz_props ----------------------------------------------------

/// Fragments that stress YAML and Markdown parsers.
const SPECIAL: &[&str] = &[
    "\n",
    ":",
    ": ",
    "- ",
    "---\n",
    "...\n",
    "&a ",
    "*a",
    "!!binary ",
    "!!python/object ",
    "? ",
    "|\n",
    ">\n",
    "{",
    "}",
    "[",
    "]",
    "\"",
    "'",
    "#",
    "%YAML 1.1\n",
    "<<: *a\n",
    "\t",
    "\u{feff}",
    "\0",
    "\r\n",
    "~",
    "null",
    "True",
    "0x1F",
    "1e999",
    "-1",
    "99999999999999999999",
    "2023-02-30 25:61:61",
    "2023-03-14T00:00:01.123456Z",
    "\u{202e}",
    "<script>",
    "](javascript:",
    "|---|",
    "    ",
    "-------------------------------------------------------------\n",
];

/// A valid text, mutated: each step flips a byte, inserts a special fragment, deletes or
/// duplicates a range, or truncates.
fn mutated(seed: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let step = (0u8..5, any::<usize>(), any::<usize>(), any::<u8>());
    prop::collection::vec(step, 0..12).prop_map(move |steps| {
        let mut b = seed.as_bytes().to_vec();
        for (kind, at, len, byte) in steps {
            let at = if b.is_empty() { 0 } else { at % (b.len() + 1) };
            match kind {
                0 => {
                    if at < b.len() {
                        b[at] = byte;
                    }
                }
                1 => {
                    let frag = SPECIAL[len % SPECIAL.len()].as_bytes();
                    b.splice(at..at, frag.iter().copied());
                }
                2 => {
                    let end = (at + len % 64).min(b.len());
                    b.drain(at..end);
                }
                3 => {
                    let end = (at + len % 64).min(b.len());
                    let dup: Vec<u8> = b[at..end].to_vec();
                    b.splice(at..at, dup);
                }
                _ => b.truncate(at),
            }
        }
        b
    })
}

/// YAML-looking noise: lines of `key: value` / `- item` with random indentation and scalars.
fn yamlish() -> impl Strategy<Value = Vec<u8>> {
    let key = prop::sample::select(vec![
        "name",
        "organization",
        "start_datetime",
        "end_datetime",
        "no_winners",
        "allow_no_opinion",
        "delete_after",
        "show_candidate_fields",
        "election_officers",
        "eligibility",
        "exception_description",
        "exception_due",
        "exceptions_due",
        "eligible_voters",
        "voting_method",
        "unranked",
        "tie_break_seed",
        "ID",
        "info",
        "x",
    ]);
    let scalar = prop_oneof![
        Just(String::new()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        "[a-zA-Z0-9 _:./'\"-]{0,24}",
        prop::sample::select(SPECIAL.to_vec()).prop_map(str::to_owned),
        Just("2023-03-14 00:00:01".to_owned()),
        Just("[a, b, {c: d}]".to_owned()),
    ];
    let line = (0usize..6, prop::bool::ANY, key, scalar).prop_map(|(indent, item, k, v)| {
        let pad = " ".repeat(indent);
        if item {
            format!("{pad}- {v}\n")
        } else {
            format!("{pad}{k}: {v}\n")
        }
    });
    prop::collection::vec(line, 0..24).prop_map(|lines| lines.concat().into_bytes())
}

fn any_file(seed: &'static str) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => mutated(seed),
        2 => yamlish(),
        1 => prop::collection::vec(any::<u8>(), 0..512),
        1 => Just(seed.as_bytes().to_vec()),
    ]
}

// ----- meta -------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn election_yaml_never_panics(election in any_file(ELECTION_YAML)) {
        let mut files = MetaFiles::new();
        sibling(&mut files);
        files.insert("elections/fuzz/election.yaml".into(), election);
        files.insert("elections/fuzz/voters.yaml".into(), VOTERS_YAML.as_bytes().to_vec());
        check_catalog(&files);
    }

    #[test]
    fn voters_yaml_never_panics(voters in any_file(VOTERS_YAML)) {
        let mut files = MetaFiles::new();
        sibling(&mut files);
        files.insert("elections/fuzz/election.yaml".into(), ELECTION_YAML.as_bytes().to_vec());
        files.insert("elections/fuzz/voters.yaml".into(), voters);
        check_catalog(&files);
    }

    #[test]
    fn candidate_file_never_panics(
        candidate in any_file(CANDIDATE_MD),
        name in "[a-z0-9._-]{0,12}",
    ) {
        let mut files = MetaFiles::new();
        sibling(&mut files);
        files.insert("elections/fuzz/election.yaml".into(), ELECTION_YAML.as_bytes().to_vec());
        files.insert("elections/fuzz/voters.yaml".into(), VOTERS_YAML.as_bytes().to_vec());
        files.insert(format!("elections/fuzz/candidate-{name}.md"), candidate);
        check_catalog(&files);
    }

    #[test]
    fn markdown_files_never_panic(desc in any_file(DESC_MD), results in any_file(DESC_MD)) {
        let mut files = MetaFiles::new();
        sibling(&mut files);
        files.insert("elections/fuzz/election.yaml".into(), ELECTION_YAML.as_bytes().to_vec());
        files.insert("elections/fuzz/voters.yaml".into(), VOTERS_YAML.as_bytes().to_vec());
        files.insert("elections/fuzz/election_desc.md".into(), desc);
        files.insert("elections/fuzz/results.md".into(), results);
        check_catalog(&files);
    }

    #[test]
    fn whole_election_directory_never_panics(
        election in any_file(ELECTION_YAML),
        voters in any_file(VOTERS_YAML),
        candidates in prop::collection::vec(any_file(CANDIDATE_MD), 0..4),
    ) {
        let mut files = MetaFiles::new();
        sibling(&mut files);
        files.insert("elections/fuzz/election.yaml".into(), election);
        files.insert("elections/fuzz/voters.yaml".into(), voters);
        for (i, c) in candidates.into_iter().enumerate() {
            files.insert(format!("elections/fuzz/candidate-c{i}.md"), c);
        }
        check_catalog(&files);
    }
}

// ----- tally input readers ----------------------------------------------------------------------

fn text_of(seed: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => mutated(seed).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        1 => ".{0,256}",
        1 => "[0-9,:;=>{}\\[\\]\"# \\n-]{0,200}",
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn elekto_csv_reader_never_panics(text in text_of(CSV)) {
        check_reader(&text);
    }

    #[test]
    fn blt_reader_never_panics(text in text_of(BLT)) {
        check_reader(&text);
    }

    #[test]
    fn preflib_reader_never_panics(text in text_of(PREFLIB)) {
        check_reader(&text);
    }

    #[test]
    fn abif_reader_never_panics(text in text_of(ABIF)) {
        check_reader(&text);
    }
}

// ----- ballot boards, receipts and results.md drafts (`votebox verify`) --------------------------

/// A valid board: three ballots over a, b, c (one ranks a candidate no longer standing).
fn seed_board() -> &'static Board {
    static BOARD: OnceLock<Board> = OnceLock::new();
    BOARD.get_or_init(|| {
        let rows: Vec<(&str, &str, Option<i64>)> = vec![
            ("u1", "a", Some(1)),
            ("u1", "b", Some(2)),
            ("u2", "b", Some(1)),
            ("u2", "c", Some(100_000_000)),
            ("u2", "gone", Some(2)),
            ("u3", "c", Some(1)),
            ("u3", "a", Some(1)),
        ];
        let ids: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let counting = Counting {
            method: Method::Schulze,
            unranked: Unranked::NoOpinion,
            tie_break: Some(TieBreak::from_seed("seed, with \"quotes\"")),
            warnings: Vec::new(),
        };
        Board::from_parts(
            "fuzz---board",
            &counting,
            1,
            &StoredBallots::from_rows(&ids, rows),
        )
    })
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn board_csv() -> &'static str {
    static S: OnceLock<&'static str> = OnceLock::new();
    S.get_or_init(|| leak(seed_board().to_csv()))
}

fn board_json() -> &'static str {
    static S: OnceLock<&'static str> = OnceLock::new();
    S.get_or_init(|| leak(seed_board().to_json()))
}

fn board_draft() -> &'static str {
    static S: OnceLock<&'static str> = OnceLock::new();
    S.get_or_init(|| {
        let b = seed_board();
        let info = MarkdownInfo {
            title: "Fuzz",
            board_sha256: Some(b.sha256()),
            ..MarkdownInfo::default()
        };
        leak(results_markdown(
            &b.count().expect("the seed board counts"),
            &info,
        ))
    })
}

/// Reads `text` as a board: an error names a line; a board read back is counted without a
/// panic and survives its own canonical CSV and JSON unchanged.
fn check_board(text: &str) {
    match Board::parse(text) {
        Err(e) => assert!(e.line >= 1 && !e.message.is_empty(), "{e}"),
        Ok(board) => {
            let _ = board.count();
            assert_eq!(Board::parse(&board.to_csv()).as_ref(), Ok(&board));
            assert_eq!(Board::parse(&board.to_json()).as_ref(), Ok(&board));
            for e in &board.entries {
                assert_eq!(board.find(&e.receipt), Some(e));
                let _ = board.ranking(e).to_string();
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn board_csv_reader_never_panics(text in text_of(board_csv())) {
        check_board(&text);
    }

    #[test]
    fn board_json_reader_never_panics(text in text_of(board_json())) {
        check_board(&text);
    }

    #[test]
    fn typed_receipts_never_panic(text in ".{0,64}") {
        if let Ok(r) = text.parse::<Receipt>() {
            prop_assert_eq!(r.to_string().parse::<Receipt>(), Ok(r.clone()));
            prop_assert_eq!(r.compact().len(), 20);
        }
    }

    #[test]
    fn draft_checks_never_panic(text in text_of(board_draft())) {
        let board = seed_board();
        let outcome = board.count().expect("the seed board counts");
        let _ = read_draft(&text);
        let differences = check_draft(&text, board, &outcome);
        if text == board_draft() {
            prop_assert!(differences.is_empty(), "{:?}", differences);
        }
    }
}

// ----- hostile inputs found by hand or by the properties above ----------------------------------

fn one_election(election: &[u8]) -> MetaFiles {
    let mut files = MetaFiles::new();
    sibling(&mut files);
    files.insert("elections/fuzz/election.yaml".into(), election.to_vec());
    files.insert(
        "elections/fuzz/voters.yaml".into(),
        VOTERS_YAML.as_bytes().to_vec(),
    );
    files
}

#[test]
fn deeply_nested_yaml_is_an_error_not_a_stack_overflow() {
    for depth in [1_000, 100_000] {
        let flow = format!("name: {}{}\n", "[".repeat(depth), "]".repeat(depth));
        check_catalog(&one_election(flow.as_bytes()));
        let block: String = (0..depth.min(5_000))
            .map(|i| format!("{}- \n", " ".repeat(i)))
            .collect();
        check_catalog(&one_election(block.as_bytes()));
        let maps = format!("name: {}1{}\n", "{a: ".repeat(depth), "}".repeat(depth));
        check_catalog(&one_election(maps.as_bytes()));
    }
}

#[test]
fn alias_bomb_is_bounded() {
    // "Billion laughs": each level references the previous one ten times.
    let mut y = String::from("a0: &a0 [\"lol\"]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        y.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    y.push_str(
        "name: *a9\nstart_datetime: 2023-03-14 00:00:01\nend_datetime: 2023-08-04 23:59:00\n",
    );
    check_catalog(&one_election(y.as_bytes()));
    let mut voters = one_election(ELECTION_YAML.as_bytes());
    voters.insert(
        "elections/fuzz/voters.yaml".into(),
        y.replace("name:", "eligible_voters:").into_bytes(),
    );
    check_catalog(&voters);
}

#[test]
fn huge_numbers_and_odd_scalars_are_errors() {
    for (key, value) in [
        ("no_winners", "99999999999999999999999999"),
        ("no_winners", "-1"),
        ("no_winners", "1e999"),
        ("no_winners", ".nan"),
        ("start_datetime", "9999-99-99 99:99:99"),
        ("start_datetime", "-271821-04-20 00:00:00"),
        ("start_datetime", "+275760-09-13 00:00:00"),
        ("allow_no_opinion", "!!binary aGVsbG8="),
        ("name", "!!python/object:os.system ['id']"),
        ("election_officers", "{a: b}"),
    ] {
        let y = ELECTION_YAML
            .lines()
            .filter(|l| !l.starts_with(key))
            .chain(std::iter::once(format!("{key}: {value}").as_str()))
            .collect::<Vec<_>>()
            .join("\n");
        check_catalog(&one_election(y.as_bytes()));
    }
}

#[test]
fn readers_survive_hostile_sizes() {
    for text in [
        "1000000000 1\n1 1 0\n0\n",
        "3 99999999999999999999\n",
        "2 1\n4294967296 1 2 0\n0\n\"a\"\n\"b\"\n\"t\"\n",
        "# NUMBER ALTERNATIVES: 18446744073709551615\n1: 1\n",
        "18446744073709551615\n1,a\n",
        "18446744073709551615 1\n1 1 0\n0\n",
        "# NUMBER ALTERNATIVES: 65535\n1: 1\n",
        "=a:[A]\n99999999999999999999:a\n",
        "a,b\n4294967295,-4294967296\n",
        "\u{feff}\r\n",
        "",
    ] {
        check_reader(text);
    }
    let many_candidates = (0..5_000)
        .map(|i| format!("c{i}"))
        .collect::<Vec<_>>()
        .join(",");
    check_reader(&format!("{many_candidates}\n"));
}
