//! STAR score ballots (issue 15 item 2) on all three engines, through the real server: the
//! 0–5 star form, a bad score refused with nothing stored, cast → view (stars shown) → revoke →
//! recast, and, once the election is over, the officers' STAR results with the runoff matrix,
//! the CSV of stars and `votebox tally --method star` on that CSV.
//!
//! The election is local to these tests (`star---poll`, `voting_method: star`): no shared
//! fixture election changes.

use std::process::{Command, Stdio};

use reqwest::StatusCode;
use votebox_db::Db;
use votebox_db::testing::fetch_all;
use votebox_db::testing::sea_query::{Asterisk, Expr, ExprTrait, Query};

use crate::harness::{AFTER_ALL, Options, TestApp, db_test, location};
use crate::results::seed_ballot;

const KEY: &str = "star---poll";
const VOTE: &str = "/app/elections/star---poll/vote";
const VIEW: &str = "/app/elections/star---poll/vote/view";
const EDIT: &str = "/app/elections/star---poll/vote/edit";
const ELECTION: &str = "/app/elections/star---poll";
const OFFICER: &str = "olivia";

/// A STAR election running at the harness's default clock, over by [`AFTER_ALL`]; candidates
/// of the "Space Fabric Odyssey" worked example.
fn star_options() -> Options {
    let yaml = format!(
        "name: Star Poll\norganization: votebox tests\nstart_datetime: 2023-08-01 00:00:00\n\
         end_datetime: 2023-08-30 00:00:00\nno_winners: 1\nallow_no_opinion: True\n\
         voting_method: star\nshow_candidate_fields:\nelection_officers:\n  - {OFFICER}\n"
    );
    let mut o = Options::default()
        .with_file("elections/star/poll/election.yaml", &yaml)
        .with_file(
            "elections/star/poll/voters.yaml",
            "eligible_voters:\n  - dims\n  - v1\n",
        );
    for (id, name) in [
        ("space", "Purple Space Fabric"),
        ("plain", "Plain Purple Fabric"),
        ("white", "White Space Fabric"),
    ] {
        o = o.with_file(
            &format!("elections/star/poll/candidate-{id}.md"),
            &format!("---\nname: {name}\nID: {id}\n---\n\n{name}.\n"),
        );
    }
    o
}

fn assert_contains(body: &str, needle: &str) {
    assert!(body.contains(needle), "expected {needle:?} in:\n{body}");
}

async fn ballot_rows(db: &Db) -> Vec<(String, i32)> {
    let stmt = Query::select()
        .columns(["candidate", "rank"])
        .from("ballot")
        .to_owned();
    let mut rows: Vec<(String, i32)> = fetch_all(db, &stmt).await.unwrap();
    rows.sort();
    rows
}

async fn voter_count(db: &Db) -> i64 {
    let stmt = Query::select()
        .expr(Expr::col(Asterisk).count())
        .from("voter")
        .to_owned();
    let rows: Vec<(i64,)> = fetch_all(db, &stmt).await.unwrap();
    rows[0].0
}

async fn post_with_token(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let token = app.csrf_token(ELECTION).await;
    let mut form: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
    form.extend_from_slice(fields);
    app.post_form(path, &form).await
}

db_test!(star_cast_view_revoke_recast, star_options(), |app| {
    app.login_as("dims").await;
    // The form: an explanation and six native radio buttons (0 checked) per candidate.
    let form = app.ok_page(VOTE).await;
    assert_contains(&form, "Give each candidate <strong>0 to 5 stars</strong>");
    assert_contains(&form, "two candidates with the most stars");
    for id in ["space", "plain", "white"] {
        let radios = form
            .matches(&format!("type=\"radio\" name=\"candidate@{id}\""))
            .count();
        assert_eq!(radios, 6, "{id}");
    }
    assert_eq!(form.matches("value=\"0\" checked").count(), 3);
    assert_contains(&form, "<legend>Purple Space Fabric");
    assert_contains(&form, "> 5 stars</label>");
    assert!(!form.contains("<select name=\"candidate@"));

    // Bad scores: 400, the message names the candidate, nothing stored.
    for bad in ["6", "x", "-1", "55"] {
        let resp = post_with_token(
            &app,
            VOTE,
            &[
                ("candidate@space", bad),
                ("candidate@plain", "3"),
                ("password", ""),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body = resp.text().await.unwrap();
        assert_contains(&body, "Invalid score for space: choose from 0 to 5 stars.");
        // The voter's other choice is kept.
        assert_contains(&body, "value=\"3\" checked");
        assert!(ballot_rows(app.db()).await.is_empty());
        assert_eq!(voter_count(app.db()).await, 0);
    }

    // Cast with a passphrase: one row per candidate, the stars in `rank`.
    let pass = "star journey passphrase";
    let resp = post_with_token(
        &app,
        VOTE,
        &[
            ("candidate@space", "5"),
            ("candidate@plain", "3"),
            ("candidate@white", "0"),
            ("password", pass),
            ("password_confirm", pass),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(
        ballot_rows(app.db()).await,
        vec![
            ("plain".to_owned(), 3),
            ("space".to_owned(), 5),
            ("white".to_owned(), 0)
        ]
    );

    // View with the passphrase: stars, not ranks.
    let resp = post_with_token(&app, VIEW, &[("password", pass)]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.text().await.unwrap();
    assert_contains(&body, "<th scope=\"col\">Stars</th>");
    for (name, id, stars) in [
        ("Purple Space Fabric", "space", "5 stars"),
        ("Plain Purple Fabric", "plain", "3 stars"),
        ("White Space Fabric", "white", "0 stars"),
    ] {
        assert_contains(
            &body,
            &format!(
                "<tr><td>{name}</td><td><code>{id}</code></td><td class=\"rank\">{stars}</td></tr>"
            ),
        );
    }

    // Revoke, then recast: a candidate left out gets 0 stars.
    let resp = post_with_token(&app, EDIT, &[("password", pass)]).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), ELECTION);
    assert!(ballot_rows(app.db()).await.is_empty());
    let resp = post_with_token(
        &app,
        VOTE,
        &[
            ("candidate@space", "4"),
            ("candidate@white", "5"),
            ("password", ""),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(
        ballot_rows(app.db()).await,
        vec![
            ("plain".to_owned(), 0),
            ("space".to_owned(), 4),
            ("white".to_owned(), 5)
        ]
    );
    assert_eq!(voter_count(app.db()).await, 1);
});

// The "Space Fabric Odyssey" worked example (see votebox-core's `count::star` tests): totals
// 38, 21, 20; Purple Space Fabric beats Plain Purple Fabric 6 to 3 in the runoff.
db_test!(star_results_csv_and_tally, star_options(), |app| {
    app.login_as("dims").await;
    // One ballot through the form, the other eight seeded as stored rows.
    let resp = post_with_token(
        &app,
        VOTE,
        &[
            ("candidate@space", "4"),
            ("candidate@plain", "0"),
            ("candidate@white", "5"),
            ("password", ""),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    let lines: [(usize, [i64; 3]); 3] = [(2, [5, 3, 0]), (3, [4, 5, 0]), (3, [4, 0, 5])];
    for (n, [space, plain, white]) in lines {
        for _ in 0..n {
            seed_ballot(
                &app,
                KEY,
                None,
                &[("space", space), ("plain", plain), ("white", white)],
            )
            .await;
        }
    }
    app.set_now(AFTER_ALL);
    let resp = app.get("/logout").await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    app.login_as(OFFICER).await;

    let admin = format!("{ELECTION}/admin");
    let body = app.ok_page(&format!("{admin}/results")).await;
    assert_contains(&body, "STAR voting (score then automatic runoff");
    assert_contains(&body, "<li>Purple Space Fabric (<code>space</code>)</li>");
    assert_contains(&body, "<section id=\"star\">");
    assert_contains(
        &body,
        "Seat 1: Purple Space Fabric (<code>space</code>) elected",
    );
    for (id, total) in [("space", 38), ("plain", 21), ("white", 20)] {
        assert_contains(&body, &format!("<code>{id}</code></th><td>{total}</td>"));
    }
    assert_contains(&body, "<td class=\"prefer-first\">6</td>");
    assert_contains(&body, "<td class=\"prefer-second\">3</td>");
    assert_contains(&body, "<td class=\"no-preference\">0</td>");
    // What-if: STAR only; a ranked method cannot count stars.
    assert!(!body.contains("<option value=\"schulze\""));
    assert!(!body.contains("name=\"unranked\""));
    let (status, body) = app.page(&format!("{admin}/results?method=schulze")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_contains(&body, "score ballots");

    // The draft shows the scoring round and the runoff matrix.
    let md = app.ok_page(&format!("{admin}/results.md?seed=star")).await;
    assert_contains(&md, "## STAR count");
    assert_contains(
        &md,
        "| Purple Space Fabric (`space`) over Plain Purple Fabric (`plain`) | 6 |",
    );

    // The CSV holds the stars in Elekto's layout, and `votebox tally --method star` on it
    // elects the same candidate.
    let resp = app.get(&format!("{admin}/download?seed=star")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let csv = resp.text().await.unwrap();
    let mut rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.remove(0), "plain,space,white");
    rows.sort_unstable();
    assert_eq!(
        rows,
        vec![
            "0,4,5", "0,4,5", "0,4,5", "0,4,5", "3,5,0", "3,5,0", "5,4,0", "5,4,0", "5,4,0"
        ]
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ballots.csv");
    std::fs::write(&file, &csv).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_votebox"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .current_dir(dir.path())
        .args(["tally", "--method", "star"])
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_contains(&stdout, "Winners:    space");
    assert_contains(
        &stdout,
        "Runoff: space preferred on 6, plain preferred on 3, no preference 0",
    );
});
