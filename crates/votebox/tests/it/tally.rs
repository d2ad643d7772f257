//! `votebox tally` (issue 4 item 6): the real binary on every real election of the shared
//! counting fixtures (`../shared/fixtures/counting/real`, ballots from `../shared/fixtures/meta`)
//! gives the recorded result; bad input is a usage error naming line and column.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_votebox");

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn tally(args: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .current_dir(dir.path())
        .arg("tally")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run votebox tally");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

/// A BLT file (rankings), which a STAR count refuses.
fn blt_ranked_for_star(dir: &tempfile::TempDir) -> String {
    let blt = dir.path().join("ranked.blt");
    std::fs::write(&blt, "2 1\n1 1 2 0\n0\n\"A\"\n\"B\"\n\"T\"\n").unwrap();
    blt.to_string_lossy().into_owned()
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().expect("string").to_owned())
        .collect()
}

fn tier_sets(v: &Value) -> Vec<BTreeSet<String>> {
    v.as_array()
        .expect("tiers")
        .iter()
        .map(|t| strs(t).into_iter().collect())
        .collect()
}

#[test]
fn tally_real_elections_give_the_recorded_results() {
    let dir = shared().join("counting/real");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 14, "every real election of the fixtures");
    for case in cases {
        let c: Value = serde_json::from_str(&std::fs::read_to_string(&case).unwrap()).unwrap();
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let csv = shared().join("meta").join(c["ballots"].as_str().unwrap());
        let seats = c["seats"].as_u64().unwrap().to_string();
        let run = tally(&[csv.to_str().unwrap(), "--seats", &seats, "--format", "json"]);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        let out: Value = serde_json::from_str(&run.stdout).unwrap();
        // Elekto's groups (number of Schulze defeats → tier), exactly.
        let elekto: Vec<BTreeSet<String>> = c["elekto_output"]["ranks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| strs(&g[1]).into_iter().collect())
            .collect();
        assert_eq!(tier_sets(&out["ranking"]), elekto, "{name}: ranking");
        let defeats: Vec<u64> = c["elekto_output"]["ranks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g[0].as_u64().unwrap())
            .collect();
        let got: Vec<u64> = out["tier_defeats"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(got, defeats, "{name}: Elekto's defeat counts");
        // The officers' published result.
        let expected = &c["expected"];
        let winners: BTreeSet<String> = strs(&out["winners"]).into_iter().collect();
        let official: BTreeSet<String> = strs(&expected["winners"]).into_iter().collect();
        assert_eq!(winners, official, "{name}: winners");
        assert_eq!(out["ties_at_last_seat"], serde_json::json!([]), "{name}");
        if let Some(tiers) = expected.get("tiers") {
            assert_eq!(
                tier_sets(&out["ranking"]),
                tier_sets(tiers),
                "{name}: tiers"
            );
        }
        // Pairwise matrix present (a Condorcet method), in the candidates' order.
        let n = out["candidates"].as_array().unwrap().len();
        assert_eq!(out["pairwise"].as_array().unwrap().len(), n, "{name}");
        assert_eq!(out["input"]["format"], "elekto-csv");
        assert_eq!(out["input"]["sha256"], c["ballots_sha256"], "{name}");
    }
}

#[test]
fn tally_formats_methods_and_errors() {
    let csv = shared().join("meta/kubernetes+community/elections/code-of-conduct/2025/ballots.csv");
    let csv = csv.to_str().unwrap();
    // Text: the tie for first place is shown as a tie.
    let run = tally(&[csv, "--seats", "3"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("Method:     Schulze (winning votes) (schulze)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("(tie)"), "{}", run.stdout);
    assert!(
        run.stdout.contains("Condorcet winner: none"),
        "{}",
        run.stdout
    );
    // Markdown: a results.md draft quoting the file's hash.
    let run = tally(&[csv, "--seats", "3", "--format", "markdown"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("# Results: ballots.csv\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("67f7ee6079d79429e579348bbbfd6c9ffbab10370512fd279b77f3587c6ed2ab"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("| 1 (tie) |"), "{}", run.stdout);
    // Every method and rule runs; STV fills 3 seats.
    for m in [
        "schulze",
        "schulze-margins",
        "ranked-pairs",
        "minimax",
        "copeland",
        "stv-meek",
        "stv-scottish",
    ] {
        for u in ["no-opinion", "last"] {
            let run = tally(&[
                csv,
                "--seats",
                "3",
                "--method",
                m,
                "--unranked",
                u,
                "--format",
                "json",
            ]);
            assert_eq!(run.code, 0, "{m} {u}: {}", run.stderr);
            let out: Value = serde_json::from_str(&run.stdout).unwrap();
            assert_eq!(out["method"], m);
            assert_eq!(out["unranked"], u);
            let filled = out["winners"].as_array().unwrap().len()
                + out["ties_at_last_seat"].as_array().unwrap().len();
            assert!(filled >= 3, "{m} {u}: {out}");
        }
    }
    // Scottish STV: the count sheet is in the JSON (every stage), the text report and the
    // markdown draft.
    let run = tally(&[
        csv,
        "--seats",
        "3",
        "--method",
        "stv-scottish",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    let rounds = out["rounds"].as_array().unwrap();
    assert_eq!(rounds[0]["stage"]["kind"], "first-preferences", "{out}");
    assert!(
        rounds.iter().all(|r| r["stage"]["notes"].is_array()),
        "{out}"
    );
    let run = tally(&[csv, "--seats", "3", "--method", "stv-scottish"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("Note: Stage 1, first preferences"),
        "{}",
        run.stdout
    );
    let run = tally(&[
        csv,
        "--seats",
        "3",
        "--method",
        "stv-scottish",
        "--format",
        "markdown",
    ]);
    assert!(run.stdout.contains("## Count sheet"), "{}", run.stdout);
    let run = tally(&[csv, "--method", "irv", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // IRV fills one seat: asking for more is a usage error.
    let run = tally(&[csv, "--method", "irv", "--seats", "2"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("IRV fills exactly one seat"),
        "{}",
        run.stderr
    );
    // A tie-break seed decides the tie and is recorded.
    let run = tally(&[
        csv,
        "--seats",
        "1",
        "--tie-break-seed",
        "abc",
        "--format",
        "json",
    ]);
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["winners"].as_array().unwrap().len(), 1, "{out}");
    assert_eq!(out["tie_break"]["seed"], "abc");
    assert_eq!(out["tie_break"]["used"], true);

    // Bad input: exit 2, the file, line and column named.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "alpha,beta\n1,2\n1,x2\n").unwrap();
    let run = tally(&[bad.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("bad.csv: elekto-csv: line 3, column 3: expected an integer rank or `No opinion`, found `x2`"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
    let run = tally(&[dir.path().join("missing.csv").to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("missing.csv: cannot be read"),
        "{}",
        run.stderr
    );
    let run = tally(&[csv, "--method", "borda"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    // STAR reads stars as they are: a value outside 0 to 5 is named, not renumbered.
    let stars = dir.path().join("stars.csv");
    std::fs::write(&stars, "alpha,beta\n5,0\n-1,3\n").unwrap();
    let run = tally(&[stars.to_str().unwrap(), "--method", "star"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "stars.csv: elekto-csv: line 3, column 1: a score is 0 to 5 stars or `No opinion`, found `-1`"
        ),
        "{}",
        run.stderr
    );
    let run = tally(&[blt_ranked_for_star(&dir).as_str(), "--method", "star"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("score ballots (STAR)"),
        "{}",
        run.stderr
    );

    // Other formats, detected from the content: BLT with its own seat count.
    let blt = dir.path().join("election.blt");
    std::fs::write(
        &blt,
        "3 2\n4 1 2 0\n3 2 3 0\n2 3 1 0\n0\n\"Ann\"\n\"Bo\"\n\"Cy\"\n\"Test BLT\"\n",
    )
    .unwrap();
    let run = tally(&[
        blt.to_str().unwrap(),
        "--method",
        "stv-meek",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["input"]["format"], "blt");
    assert_eq!(out["seats"], 2);
    // ABIF, with candidate names.
    let abif = dir.path().join("e.abif");
    std::fs::write(&abif, "=a:[Alice]\n=b:[Bob]\n3:a>b\n1:b>a\n").unwrap();
    let run = tally(&[abif.to_str().unwrap(), "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["winners"], serde_json::json!(["a"]));
    assert_eq!(out["names"]["a"], "Alice");
}
