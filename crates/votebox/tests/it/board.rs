//! Receipts, the ballot board, "check my receipt" and `votebox verify` over HTTP, on all three
//! engines (issue 14 items 1–3).
//!
//! `verify---vote` runs at the pinned clock (2023-08-01 … 08-20) with the default board access
//! (`officers`), `verify---open` too with a public board (the browser journey's); `verify---public` (`ballot_board: public`) and `verify---off` (`off`) ended in
//! 2022. Voters: `vera`, `victor`; officer: `olga`. Only the first test runs the KDF (cast, view,
//! revoke, recast); the others seed ballot rows as Elekto stores them.

use std::path::Path;
use std::process::{Command, Stdio};

use reqwest::StatusCode;
use votebox_core::verify::{Board, Receipt};
use votebox_db::testing::sea_query::{Expr, ExprTrait, Query};
use votebox_db::testing::{exec, fetch_all};

use crate::harness::{AFTER_ALL, Options, TestApp, db_test, extract_csrf, location};
use crate::results::seed_ballot;

const VOTE_KEY: &str = "verify---vote";
const PUBLIC_KEY: &str = "verify---public";
const OFF_KEY: &str = "verify---off";
pub(crate) const OFFICER: &str = "olga";
const BIN: &str = env!("CARGO_BIN_EXE_votebox");

fn election_yaml(name: &str, start: &str, end: &str, board: Option<&str>) -> String {
    let board = board.map_or(String::new(), |b| format!("ballot_board: {b}\n"));
    format!(
        "name: {name}\norganization: votebox tests\nstart_datetime: {start}\nend_datetime: {end}\n\
         no_winners: 1\nallow_no_opinion: True\nelection_officers:\n  - {OFFICER}\n{board}"
    )
}

/// The fixture meta plus the three elections of this module.
/// While the `public` election runs, and well after it ended (past the audit chain's settling time).
const DURING_PUBLIC: time::PrimitiveDateTime = time::macros::datetime!(2022-01-15 00:00:00);
const AFTER_PUBLIC: time::PrimitiveDateTime = time::macros::datetime!(2022-02-01 00:05:00);

pub(crate) fn options() -> Options {
    let mut o = Options::default();
    for (dir, name, start, end, board) in [
        (
            "vote",
            "Receipt Vote",
            "2023-08-01 00:00:00",
            "2023-08-20 00:00:00",
            None,
        ),
        (
            "open",
            "Open Board Vote",
            "2023-08-01 00:00:00",
            "2023-08-20 00:00:00",
            Some("public"),
        ),
        (
            "public",
            "Public Board",
            "2022-01-01 00:00:00",
            "2022-02-01 00:00:00",
            Some("public"),
        ),
        (
            "off",
            "No Board",
            "2022-01-01 00:00:00",
            "2022-02-01 00:00:00",
            Some("off"),
        ),
    ] {
        o = o
            .with_file(
                &format!("elections/verify/{dir}/election.yaml"),
                &election_yaml(name, start, end, board),
            )
            .with_file(
                &format!("elections/verify/{dir}/voters.yaml"),
                "eligible_voters:\n  - vera\n  - victor\n",
            );
        for (id, cname) in [
            ("alpha", "Alpha Ant"),
            ("beta", "Beta Bee"),
            ("gamma", "Gamma Gnu"),
        ] {
            o = o.with_file(
                &format!("elections/verify/{dir}/candidate-{id}.md"),
                &format!("-------\nname: {cname}\nID: {id}\n-------\n{cname}'s statement.\n"),
            );
        }
    }
    o
}

fn assert_contains(body: &str, needle: &str) {
    assert!(body.contains(needle), "expected {needle:?} in:\n{body}");
}

fn assert_lacks(body: &str, needle: &str) {
    assert!(
        !body.contains(needle),
        "did not expect {needle:?} in:\n{body}"
    );
}

/// Logs out (GET /logout) and back in as `login`.
async fn switch_user(app: &TestApp, login: &str) {
    let resp = app.get("/logout").await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    app.login_as(login).await;
}

/// POSTs `fields` with the CSRF token found on `token_page`.
async fn post(
    app: &TestApp,
    path: &str,
    token_page: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let body = app.ok_page(token_page).await;
    let token = extract_csrf(&body).unwrap_or_else(|| panic!("no csrf_token on {token_page}"));
    let mut form = vec![("csrf_token", token.as_str())];
    form.extend_from_slice(fields);
    app.post_form(path, &form).await
}

/// The receipt code shown on a page, if any.
fn receipt_on(body: &str) -> Option<String> {
    let start = body.find("id=\"receipt-code\">")? + "id=\"receipt-code\">".len();
    let end = body[start..].find('<')? + start;
    Some(body[start..end].to_owned())
}

/// The `ballot.voter` uuids of an election.
async fn ballot_uuids(app: &TestApp, key: &str) -> Vec<String> {
    let election = votebox_db::elections::find_by_key(app.db(), key)
        .await
        .unwrap()
        .unwrap();
    let stmt = Query::select()
        .distinct()
        .column("voter")
        .from("ballot")
        .and_where(Expr::col("election_id").eq(election.id))
        .to_owned();
    let rows: Vec<(String,)> = fetch_all(app.db(), &stmt).await.unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

fn receipt_url(key: &str) -> String {
    format!("/elections/{key}/receipt")
}

fn board_url(key: &str, suffix: &str) -> String {
    format!("/elections/{key}/board{suffix}")
}

/// Checks `code` on the receipt page (the logged-in user, or anonymous).
async fn check_receipt(app: &TestApp, key: &str, code: &str) -> (StatusCode, String) {
    let url = receipt_url(key);
    let resp = post(app, &url, &url, &[("receipt", code)]).await;
    let status = resp.status();
    (status, resp.text().await.unwrap())
}

pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the real binary: `votebox verify args…` in `dir`.
pub(crate) fn verify(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .current_dir(dir)
        .arg("verify")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run votebox verify");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

db_test!(
    receipt_on_confirmation_and_view_gone_on_revoke_checked_after_the_end,
    options(),
    |app| {
        let (vote, election) = (
            format!("/app/elections/{VOTE_KEY}/vote"),
            format!("/app/elections/{VOTE_KEY}"),
        );
        let pass = "receipt passphrase";
        app.login_as("vera").await;
        let resp = post(
            &app,
            &vote,
            &vote,
            &[
                ("candidate@alpha", "1"),
                ("candidate@beta", "2"),
                ("candidate@gamma", "100000000"),
                ("password", pass),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::FOUND);
        assert_eq!(location(&resp), format!("{election}/confirmation"));

        // The confirmation page shows the receipt once; it is the hash of the stored ballot's uuid.
        let body = app.ok_page(&format!("{election}/confirmation")).await;
        let first = receipt_on(&body).unwrap_or_else(|| panic!("no receipt on:\n{body}"));
        let uuids = ballot_uuids(&app, VOTE_KEY).await;
        assert_eq!(uuids.len(), 1);
        assert_eq!(first, Receipt::of(VOTE_KEY, &uuids[0]).to_string());
        assert_contains(&body, "Anyone you show it to can look up how you voted");
        let again = app.ok_page(&format!("{election}/confirmation")).await;
        assert_eq!(receipt_on(&again), None);
        assert_contains(&again, "Your receipt was shown once");

        // Viewing the ballot with the passphrase shows the same code.
        let resp = post(
            &app,
            &format!("{vote}/view"),
            &election,
            &[("password", pass)],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            receipt_on(&resp.text().await.unwrap()).as_deref(),
            Some(first.as_str())
        );

        // No board and no receipt check while voting runs.
        let (_, body) = app.page(&receipt_url(VOTE_KEY)).await;
        assert_contains(&body, "The election is not completed yet");

        // Revoke and recast: a new receipt.
        let resp = post(
            &app,
            &format!("{vote}/edit"),
            &election,
            &[("password", pass)],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::FOUND);
        let resp = post(
            &app,
            &vote,
            &vote,
            &[
                ("candidate@alpha", "2"),
                ("candidate@beta", "1"),
                ("candidate@gamma", "3"),
                ("password", pass),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::FOUND);
        let second = receipt_on(&app.ok_page(&format!("{election}/confirmation")).await).unwrap();
        assert_ne!(first, second);

        // After the end, the voter checks: the recast ballot's ranking; the revoked one is gone.
        app.set_now(AFTER_ALL);
        let (status, body) =
            check_receipt(&app, VOTE_KEY, &second.to_lowercase().replace('-', " ")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_contains(
            &body,
            "is on the ballot board and was counted with this ranking",
        );
        assert_contains(
            &body,
            "<tr><td class=\"rank\">1</td><td>Beta Bee (beta)</td></tr>",
        );
        assert_contains(
            &body,
            "<tr><td class=\"rank\">3</td><td>Gamma Gnu (gamma)</td></tr>",
        );
        assert_contains(&body, "prove");
        let (status, body) = check_receipt(&app, VOTE_KEY, &first).await;
        assert_eq!(status, StatusCode::OK);
        assert_contains(&body, "is <strong>not</strong> on the ballot board");
        let (status, body) = check_receipt(&app, VOTE_KEY, "not-a-receipt").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_contains(&body, "That is not a receipt code");

        // The board is the officers' (the default): a voter is refused, the officer sees it.
        let (status, _) = app.page(&board_url(VOTE_KEY, "")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        switch_user(&app, OFFICER).await;
        let page = app.ok_page(&board_url(VOTE_KEY, "")).await;
        assert_contains(&page, &second);
        assert_lacks(&page, &first);
        let resp = app.get(&board_url(VOTE_KEY, ".csv")).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let sha = resp.headers()["x-votebox-board-sha256"]
            .to_str()
            .unwrap()
            .to_owned();
        let csv = resp.text().await.unwrap();
        let board = Board::parse(&csv).unwrap();
        assert_eq!(board.sha256(), sha);
        assert_contains(&page, &format!("<code id=\"board-sha256\">{sha}</code>"));
        let draft = app.ok_page(&format!("{election}/admin/results.md")).await;
        assert_contains(&draft, &format!("- Ballot board: SHA-256 `{sha}`"));
        assert_contains(&draft, "- Ballots counted: 1\n");

        // Anyone with the files recounts them with the binary.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("board.csv"), &csv).unwrap();
        std::fs::write(dir.path().join("results.md"), &draft).unwrap();
        let run = verify(
            dir.path(),
            &["board.csv", "--results", "results.md", "--receipt", &second],
        );
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert_contains(
            &run.stdout,
            &format!("Receipt {second} is on the board: 1: beta; 2: alpha; 3: gamma"),
        );
        assert_contains(&run.stdout, "match the recount");
        let run = verify(dir.path(), &["board.csv", "--receipt", &first]);
        assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
        assert_contains(&run.stdout, "is NOT on the board");
    }
);

/// Three ballots as Elekto stores them in `key`; returns their uuids.
async fn seed_three(app: &TestApp, key: &str) -> Vec<String> {
    let mut uuids = Vec::new();
    for (login, ranks) in [
        ("vera", [("alpha", 1), ("beta", 2), ("gamma", 3)]),
        (
            "victor",
            [("alpha", 2), ("beta", 1), ("gamma", 100_000_000)],
        ),
        ("olga", [("alpha", 1), ("beta", 3), ("gamma", 2)]),
    ] {
        app.get("/logout").await;
        app.login_as(login).await;
        uuids.push(seed_ballot(app, key, Some(login), &ranks).await);
    }
    app.get("/logout").await;
    uuids
}

db_test!(board_access_follows_ballot_board, options(), |app| {
    let uuids = seed_three(&app, PUBLIC_KEY).await;
    seed_three(&app, OFF_KEY).await;
    // Public: anyone, logged in or not, sees the board (linked from the election's public page)
    // and checks receipts.
    let page = app.ok_page(&format!("/elections/{PUBLIC_KEY}")).await;
    assert_contains(&page, &format!("href=\"{}\"", board_url(PUBLIC_KEY, "")));
    let page = app.ok_page(&format!("/elections/{OFF_KEY}")).await;
    assert_lacks(&page, "/board");
    let page = app.ok_page(&board_url(PUBLIC_KEY, "")).await;
    for u in &uuids {
        assert_contains(&page, &Receipt::of(PUBLIC_KEY, u).to_string());
    }
    assert_contains(&page, "<span class=\"number\" id=\"board-count\">3</span>");
    for suffix in [".csv", ".json"] {
        let resp = app.get(&board_url(PUBLIC_KEY, suffix)).await;
        assert_eq!(resp.status(), StatusCode::OK, "{suffix}");
    }
    let victor = Receipt::of(PUBLIC_KEY, &uuids[1]).to_string();
    let (status, body) = check_receipt(&app, PUBLIC_KEY, &victor).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_contains(
        &body,
        "<tr><td class=\"rank\">No opinion</td><td>Gamma Gnu (gamma)</td></tr>",
    );
    // Off: no board, no check.
    for path in [
        board_url(OFF_KEY, ""),
        board_url(OFF_KEY, ".csv"),
        receipt_url(OFF_KEY),
    ] {
        let (status, _) = app.page(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    // Officers (the default): anonymous visitors are sent to the login page.
    for path in [
        board_url(VOTE_KEY, ""),
        board_url(VOTE_KEY, ".json"),
        receipt_url(VOTE_KEY),
    ] {
        let resp = app.get(&path).await;
        assert_eq!(resp.status(), StatusCode::FOUND, "{path}");
        assert!(location(&resp).starts_with("/login?r="), "{path}");
    }
    // Someone who is neither a voter nor an officer of the election may not check receipts.
    app.login_as("mallory").await;
    app.set_now(AFTER_ALL);
    let (status, _) = app.page(&receipt_url(VOTE_KEY)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
});

db_test!(
    verify_accepts_the_downloads_and_catches_a_changed_ballot,
    Options {
        now: DURING_PUBLIC,
        ..options()
    },
    |app| {
        // Cast while voting is open, then the election ends: the audit chain records these
        // three ballots at the close, and the draft certifies that board.
        let uuids = seed_three(&app, PUBLIC_KEY).await;
        app.set_now(AFTER_PUBLIC);
        app.login_as(OFFICER).await;
        let dir = tempfile::tempdir().unwrap();
        let csv = app.ok_page(&board_url(PUBLIC_KEY, ".csv")).await;
        let json = app.ok_page(&board_url(PUBLIC_KEY, ".json")).await;
        let draft = app
            .ok_page(&format!("/app/elections/{PUBLIC_KEY}/admin/results.md"))
            .await;
        for (name, text) in [
            ("board.csv", &csv),
            ("board.json", &json),
            ("results.md", &draft),
        ] {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        // The CSV and the JSON are the same board: both recount to the draft.
        for board in ["board.csv", "board.json"] {
            let run = verify(dir.path(), &[board, "--results", "results.md"]);
            assert_eq!(run.code, 0, "{board}: {}{}", run.stdout, run.stderr);
            assert_contains(&run.stdout, "Winners:    alpha");
            assert_contains(&run.stdout, &Board::parse(&csv).unwrap().sha256());
        }
        // A ballot changed in the database after the election: the new board no longer matches
        // the draft that was published.
        let election = votebox_db::elections::find_by_key(app.db(), PUBLIC_KEY)
            .await
            .unwrap()
            .unwrap();
        let stmt = Query::update()
            .table("ballot")
            .value("rank", 1)
            .and_where(Expr::col("election_id").eq(election.id))
            .and_where(Expr::col("voter").eq(uuids[1].as_str()))
            .and_where(Expr::col("candidate").eq("gamma"))
            .to_owned();
        exec(app.db(), &stmt).await.unwrap();
        let changed = app.ok_page(&board_url(PUBLIC_KEY, ".csv")).await;
        assert_ne!(changed, csv);
        std::fs::write(dir.path().join("changed.csv"), &changed).unwrap();
        let run = verify(dir.path(), &["changed.csv", "--results", "results.md"]);
        assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
        assert_contains(&run.stdout, "ballot board SHA-256 is");
        assert_contains(&run.stderr, "differs from the recount");
        // A hand-edited line: a usage error naming the line.
        let edited = csv.replacen(",1,", ",first,", 1);
        std::fs::write(dir.path().join("edited.csv"), &edited).unwrap();
        let line = edited.lines().position(|l| l.contains("first")).unwrap() + 1;
        let run = verify(dir.path(), &["edited.csv"]);
        assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
        assert_contains(&run.stderr, &format!("edited.csv: line {line}: column"));
        assert_contains(&run.stderr, "`first`");
    }
);
