use super::*;
use crate::results::StoredBallots;

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Three ballots over a, b, c, one of which also ranks `gone` (no longer a candidate).
fn stored() -> StoredBallots {
    let rows: Vec<(&str, &str, Option<i64>)> = vec![
        ("u1", "a", Some(1)),
        ("u1", "b", Some(2)),
        ("u1", "c", Some(100_000_000)),
        ("u2", "a", Some(2)),
        ("u2", "b", Some(1)),
        ("u2", "c", Some(1)),
        ("u2", "gone", Some(3)),
        ("u3", "a", Some(1)),
        ("u3", "b", Some(3)),
        ("u3", "c", Some(2)),
    ];
    StoredBallots::from_rows(&ids(&["c", "a", "b"]), rows)
}

fn counting(seed: Option<&str>) -> Counting {
    Counting {
        method: Method::Schulze,
        unranked: Unranked::NoOpinion,
        tie_break: seed.map(TieBreak::from_seed),
        warnings: Vec::new(),
    }
}

fn board() -> Board {
    Board::from_parts("2021---TOC", &counting(Some("42")), 1, &stored())
}

#[test]
fn a_board_lists_every_ballot_by_receipt() {
    let b = board();
    assert_eq!(b.len(), 3);
    assert_eq!(b.candidates, ids(&["a", "b", "c"]));
    assert_eq!(b.not_counted, ids(&["gone"]));
    let receipts: Vec<&Receipt> = b.entries.iter().map(|e| &e.receipt).collect();
    assert!(receipts.windows(2).all(|w| w[0] < w[1]));
    let u2 = Receipt::of("2021---TOC", "u2");
    let entry = b.find(&u2).unwrap();
    assert_eq!(entry.ranks, vec![Some(2), Some(1), Some(1), Some(3)]);
    assert_eq!(b.ranking(entry).to_string(), "1: b, c; 2: a; 3: gone");
    let u1 = b.find(&Receipt::of("2021---TOC", "u1")).unwrap();
    assert_eq!(b.ranking(u1).to_string(), "1: a; 2: b; No opinion: c, gone");
    assert!(b.find(&Receipt::of("other", "u1")).is_none());
}

#[test]
fn the_csv_is_canonical_and_reads_back() {
    let b = board();
    let csv = b.to_csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[..8],
        [
            "# votebox ballot board v1",
            "# election: \"2021---TOC\"",
            "# method: \"schulze\"",
            "# unranked: \"no-opinion\"",
            "# seats: 1",
            "# tie_break_seed: \"42\"",
            "# not_counted: [\"gone\"]",
            "receipt,a,b,c,gone",
        ]
    );
    assert_eq!(lines.len(), 11);
    let u1 = Receipt::of("2021---TOC", "u1");
    assert!(
        csv.contains(&format!("\n{u1},1,2,No opinion,No opinion\n")),
        "{csv}"
    );
    assert_eq!(Board::parse(&csv), Ok(b.clone()));
    assert_eq!(b.sha256(), sha256_hex(csv.as_bytes()));
    // Windows line ends and a BOM (a spreadsheet's save) read the same.
    let crlf = format!("\u{feff}{}", csv.replace('\n', "\r\n"));
    assert_eq!(Board::parse(&crlf), Ok(b.clone()));
    // Lines in another order are the same board with the same fingerprint.
    let mut reordered: Vec<&str> = lines.clone();
    reordered[8..].reverse();
    let reordered = Board::parse(&(reordered.join("\n") + "\n")).unwrap();
    assert_eq!(reordered.sha256(), b.sha256());
}

#[test]
fn the_fingerprint_follows_the_ballots_not_their_storage() {
    let b = board();
    // The same ballots under the same uuids, given in another order: the same board.
    let mut rows: Vec<(String, String, Option<i64>)> = Vec::new();
    for s in stored().ballots.iter().rev() {
        for (c, r) in b.columns().zip(&s.ranks) {
            rows.push((s.uuid.clone(), c.to_owned(), *r));
        }
    }
    let again = StoredBallots::from_rows(&ids(&["a", "b", "c"]), rows);
    let again = Board::from_parts("2021---TOC", &counting(Some("42")), 1, &again);
    assert_eq!(again.sha256(), b.sha256());
    // One rank changed: another fingerprint.
    let mut changed = b.clone();
    changed.entries[0].ranks[0] = Some(7);
    assert_ne!(changed.sha256(), b.sha256());
    // A ballot removed: another fingerprint.
    let mut fewer = b.clone();
    fewer.entries.pop();
    assert_ne!(fewer.sha256(), b.sha256());
}

#[test]
fn the_json_carries_the_csv_fingerprint_and_reads_back() {
    let b = board();
    let json = b.to_json();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["format"], JSON_FORMAT);
    assert_eq!(v["sha256"], b.sha256());
    assert_eq!(v["ballots"].as_array().unwrap().len(), 3);
    assert_eq!(v["tie_break_seed"], "42");
    assert_eq!(Board::parse(&json), Ok(b.clone()));
    // Every ballot on a line of its own.
    assert_eq!(
        json.lines().filter(|l| l.contains("\"receipt\"")).count(),
        3
    );
    // A rank edited in the JSON no longer matches its sha256.
    let first = b.entries[0].receipt.to_string();
    let edited: Vec<String> = json
        .lines()
        .map(|l| match l.contains(&first) {
            true => format!("    {{\"receipt\": \"{first}\", \"ranks\": [77, null, null, null]}},"),
            false => l.to_owned(),
        })
        .collect();
    let edited = edited.join("\n");
    let err = Board::parse(&edited).unwrap_err();
    assert!(err.message.contains("the file was changed"), "{err}");
    assert_eq!(
        err.line,
        json.lines().position(|l| l.contains("\"sha256\"")).unwrap() + 1
    );
    // An empty board is valid too.
    let empty = Board::from_parts(
        "e",
        &counting(None),
        2,
        &StoredBallots::from_rows(&ids(&["x"]), Vec::<(String, String, Option<i64>)>::new()),
    );
    assert_eq!(Board::parse(&empty.to_json()), Ok(empty.clone()));
    assert_eq!(Board::parse(&empty.to_csv()), Ok(empty));
}

#[test]
fn a_recount_matches_the_count_of_the_stored_ballots() {
    let b = board();
    let direct = count(
        &stored().profile(),
        &counting(Some("42")).options(Method::Schulze, Unranked::NoOpinion, 1),
    )
    .unwrap();
    let recount = b.count().unwrap();
    assert_eq!(recount.winners, direct.winners);
    assert_eq!(recount.ranking, direct.ranking);
    assert_eq!(recount.ballots, 3);
    assert_eq!(recount.candidates, ids(&["a", "b", "c"]));
    // Read back from its CSV, the same.
    assert_eq!(Board::parse(&b.to_csv()).unwrap().count().unwrap(), recount);
}

fn error(text: &str) -> BoardError {
    Board::parse(text).unwrap_err()
}

#[test]
fn bad_boards_name_the_line() {
    let csv = board().to_csv();
    let lines: Vec<String> = csv.lines().map(str::to_owned).collect();
    let with = |n: usize, line: &str| {
        let mut l = lines.clone();
        l[n - 1] = line.to_owned();
        l.join("\n") + "\n"
    };
    assert_eq!(error("a,b\n1,2\n").line, 1);
    assert!(error("a,b\n1,2\n").message.contains("votebox tally"));
    let e = error(&with(3, "# method: \"borda\""));
    assert_eq!(e.line, 3);
    assert!(e.message.contains("unknown counting method `borda`"), "{e}");
    let e = error(&with(5, "# seats: many"));
    assert_eq!(e.line, 5);
    let e = error(&with(2, "# colour: \"red\""));
    assert!(e.message.contains("unknown field `colour`"), "{e}");
    let e = error(&with(8, "ballot,a,b,c,gone"));
    assert_eq!((e.line, e.message.contains("receipt")), (8, true));
    let e = error(&with(8, "receipt,a,b,gone,c"));
    assert!(e.message.contains("last columns"), "{e}");
    let code = board().entries[1].receipt.to_string();
    let typo = format!(
        "{}{}",
        &code[..22],
        if code.ends_with('0') { '1' } else { '0' }
    );
    let e = error(&with(10, &format!("{typo},1,2,3,4")));
    assert_eq!(e.line, 10);
    assert!(e.message.contains("check character"), "{e}");
    let e = error(&with(10, &format!("{code},1,2,3")));
    assert_eq!(e.line, 10);
    assert!(e.message.contains("4 cells, but the header has 5"), "{e}");
    let e = error(&with(11, &format!("{code},1,2,first,4")));
    assert_eq!(e.line, 11);
    assert!(e.message.contains("`first`"), "{e}");
    let e = error(&with(11, &lines[9]));
    assert_eq!(e.line, 11);
    assert!(e.message.contains("on the board twice"), "{e}");
    let e = error(&lines[..7].join("\n"));
    assert!(e.message.contains("missing the header line"), "{e}");
    let no_method: Vec<&str> = lines
        .iter()
        .map(String::as_str)
        .filter(|l| !l.starts_with("# method"))
        .collect();
    let e = error(&no_method.join("\n"));
    assert!(e.message.contains("does not say its `method`"), "{e}");
}

#[test]
fn bad_json_names_the_line() {
    let json = board().to_json();
    let e = error(&json.replacen("\"seats\": 1", "\"seats\": -1", 1));
    assert_eq!(e.line, 6, "{e}");
    let e = error(&json.replacen("\"ranks\": [", "\"ranks\": [1, ", 1));
    assert_eq!(e.line, 12, "{e}");
    assert!(e.message.contains("5 ranks, but the board has 4"), "{e}");
    let e = error("{\"format\": 1}");
    assert_eq!(e.line, 1);
}

#[test]
fn access_reads_the_election_key() {
    let mut e = crate::ballot::tests_props::election(true);
    assert_eq!(BoardAccess::of(&e), (BoardAccess::Officers, None));
    for (value, access) in [
        ("public", BoardAccess::Public),
        (" Officers ", BoardAccess::Officers),
        ("off", BoardAccess::Off),
        ("false", BoardAccess::Off),
    ] {
        e.ballot_board = Some(value.to_owned());
        assert_eq!(BoardAccess::of(&e), (access, None));
    }
    e.ballot_board = Some("publc".to_owned());
    let (access, warning) = BoardAccess::of(&e);
    assert_eq!(access, BoardAccess::Officers);
    assert!(warning.unwrap().contains("`publc`"));
}

#[test]
fn a_star_board_holds_stars_only() {
    // The same ballots as a STAR board: every value (1, 2, 3) is a valid score.
    let star = Counting {
        method: Method::Star,
        ..counting(Some("42"))
    };
    let b = Board::from_parts("2021---TOC", &star, 1, &stored());
    let csv = b.to_csv();
    assert_eq!(Board::parse(&csv), Ok(b.clone()));
    // A score edited to 7 on a ballot line: refused with its line, never renumbered.
    let lines: Vec<&str> = csv.lines().collect();
    let last = lines.len();
    let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let cells: Vec<&str> = lines[last - 1].split(',').collect();
    edited[last - 1] = format!("{},7,{}", cells[0], cells[2..].join(","));
    let e = error(&(edited.join("\n") + "\n"));
    assert_eq!(e.line, last, "{e}");
    assert!(e.message.contains("0 to 5 stars, found 7"), "{e}");
    // The ranked board keeps any integer (Elekto's counts renumber ranks in order).
    let ranked = board().to_csv();
    assert!(Board::parse(&ranked).is_ok());
}
