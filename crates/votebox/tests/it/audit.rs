//! The audit chain through the real server, on every engine (issue 14 items 4 and 5): what is
//! recorded (and that no cast is), voting closed recorded once by instances racing, and
//! tampering that shows: a ballot row changed, added or removed after the end makes the results
//! page warn and `votebox audit verify` fail; an edited audit entry is named by `audit verify`
//! (database and exported log) and on the audit page.

use reqwest::StatusCode;
use time::macros::datetime;
use votebox_core::audit::{self, Entry};
use votebox_core::results::StoredBallots;
use votebox_core::verify::{Board, check_draft, read_draft};
use votebox_db::testing::exec;
use votebox_db::testing::sea_query::{Expr, ExprTrait, Query};

use crate::harness::{Options, TestApp, db_test, location};

const KEY: &str = "audited";
const ELECTION: &str = "/app/elections/audited";
const ADMIN: &str = "/app/elections/audited/admin";
const OFFICER: &str = "kalkayan";
const BIN: &str = env!("CARGO_BIN_EXE_votebox");

/// Running at `DEFAULT_NOW` (2023-08-10 12:00), exceptions until 2023-08-15, ends 2023-08-20.
fn audited_election() -> Options {
    Options::default()
        .with_file(
            "elections/audited/election.yaml",
            "name: Audited Election\norganization: Org\nstart_datetime: 2023-08-01 00:00:00\n\
             end_datetime: 2023-08-20 00:00:00\nexception_due: 2023-08-15 00:00:00\n\
             no_winners: 1\nallow_no_opinion: True\nshow_candidate_fields:\n\
             election_officers:\n  - kalkayan\n",
        )
        .with_file(
            "elections/audited/voters.yaml",
            "eligible_voters:\n  - dims\n  - liggitt\n  - jberkus\n",
        )
        .with_file(
            "elections/audited/candidate-one.md",
            "---\nname: One\nID: one\n---\n",
        )
        .with_file(
            "elections/audited/candidate-two.md",
            "---\nname: Two\nID: two\n---\n",
        )
}

async fn switch_to(app: &TestApp, login: &str) {
    let resp = app.get("/logout").await;
    assert!(resp.status().is_redirection(), "logout: {}", resp.status());
    app.login_as(login).await;
}

async fn post_with_token(
    app: &TestApp,
    path: &str,
    token_page: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let token = app.csrf_token(token_page).await;
    let mut form: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
    form.extend_from_slice(fields);
    app.post_form(path, &form).await
}

async fn election_id(app: &TestApp) -> votebox_db::ElectionId {
    votebox_db::elections::find_by_key(app.db(), KEY)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn entries(app: &TestApp) -> Vec<Entry> {
    votebox_db::audit::entries(app.db(), election_id(app).await)
        .await
        .unwrap()
}

fn kinds(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.kind.as_str()).collect()
}

/// Casts directly in the database (no KDF: what is tested here is what comes after).
async fn cast_direct(app: &TestApp, login: &str, one: i32, two: i32) -> String {
    let uuid = votebox_db::ballots::new_ballot_voter();
    let rows = [("one".to_owned(), one), ("two".to_owned(), two)];
    let outcome = votebox_db::ballots::cast(
        app.db(),
        &votebox_db::ballots::NewBallot {
            election_id: election_id(app).await,
            user_id: app.user_id(login).await,
            login,
            rows: &rows,
            ballot_voter: &uuid,
            salt: &[1; 16],
            sealed_ballot_voter: &[2; 76],
        },
    )
    .await
    .unwrap();
    assert_eq!(outcome, votebox_db::ballots::CastOutcome::Cast);
    uuid
}

/// `votebox audit verify ARGS…` → (exit code, stdout).
async fn audit_verify(args: &[&str]) -> (i32, String) {
    let out = tokio::process::Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(std::env::temp_dir())
        .args(["audit", "verify"])
        .args(args)
        .output()
        .await
        .expect("run votebox audit verify");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.code().unwrap_or(-1), format!("{stdout}{stderr}"))
}

async fn verify_db(app: &TestApp) -> (i32, String) {
    audit_verify(&["--database", &app.test_db.url, "--election", KEY]).await
}

/// The board of the ballots stored now, as the server makes it.
async fn board_now(app: &TestApp) -> Board {
    let snapshot = app.state.snapshot().unwrap();
    let election = snapshot
        .catalog
        .elections()
        .find(|e| e.key == KEY)
        .unwrap()
        .clone();
    let rows = votebox_db::ballots::all_for_election(app.db(), election_id(app).await)
        .await
        .unwrap();
    let ids: Vec<String> = election.candidates.iter().map(|c| c.id.clone()).collect();
    let stored = StoredBallots::from_rows(
        &ids,
        rows.into_iter().map(|(v, c, r)| (v, c, r.map(i64::from))),
    );
    Board::new(&election, &stored)
}

async fn results_page(app: &TestApp) -> String {
    app.ok_page(&format!("{ADMIN}/results")).await
}

fn ballot_rank(
    uuid: &str,
    candidate: &str,
    rank: i32,
) -> votebox_db::testing::sea_query::UpdateStatement {
    Query::update()
        .table("ballot")
        .value("rank", rank)
        .and_where(Expr::col("voter").eq(uuid))
        .and_where(Expr::col("candidate").eq(candidate))
        .to_owned()
}

/// The results page and `audit verify` agree that the ballots are (not) those of the close.
async fn assert_ballots_intact(app: &TestApp, intact: bool, what: &str) {
    let body = results_page(app).await;
    let (code, out) = verify_db(app).await;
    if intact {
        assert!(body.contains("id=\"audit-ok\""), "{what}: {body}");
        assert!(!body.contains("audit-warning"), "{what}: {body}");
        assert_eq!(code, 0, "{what}: {out}");
        assert!(out.contains("ballots match"), "{what}: {out}");
    } else {
        assert!(
            body.contains("class=\"warning audit-warning\""),
            "{what}: {body}"
        );
        assert!(
            body.contains("not those recorded when voting closed"),
            "{what}: {body}"
        );
        assert!(
            body.contains("SHA-256 is not the one recorded when voting closed"),
            "{what}: {body}"
        );
        assert!(!body.contains("id=\"audit-ok\""), "{what}: {body}");
        assert_eq!(code, 1, "{what}: {out}");
        assert!(out.contains("BALLOTS CHANGED"), "{what}: {out}");
    }
}

db_test!(tampering_shows, audited_election(), |app| {
    let eid = election_id(&app).await;
    // The first sync recorded the election's files and that voting is open.
    let start = entries(&app).await;
    assert_eq!(kinds(&start), ["meta_synced", "voting_opened"]);
    let files = start[0].field("files_sha256").unwrap();
    assert_eq!(files.as_str().unwrap().len(), 64);

    // A cast through the web form, two more directly: no entry for any of them.
    switch_to(&app, "dims").await;
    let pass = "dims passphrase";
    let vote = format!("{ELECTION}/vote");
    let resp = post_with_token(
        &app,
        &vote,
        ELECTION,
        &[
            ("candidate@one", "1"),
            ("candidate@two", "2"),
            ("password", pass),
            ("password_confirm", pass),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    let liggitt = cast_direct(&app, "liggitt", 1, 2).await;
    cast_direct(&app, "jberkus", 2, 1).await;
    app.state.secrecy_round().await; // the mix: still no entry
    assert_eq!(
        kinds(&entries(&app).await),
        ["meta_synced", "voting_opened"]
    );

    // An exception request filed and reviewed: recorded without its content or requester.
    switch_to(&app, "mallory").await;
    let exc = format!("{ELECTION}/exception");
    let fields = [
        ("name", "Mallory M"),
        ("email", "mallory@example.org"),
        ("chat", "@mallory"),
        ("description", "Docs and reviews"),
        ("comments", ""),
    ];
    let resp = post_with_token(&app, &exc, &exc, &fields).await;
    assert_eq!(resp.status(), StatusCode::FOUND, "{}", location(&resp));
    let request = votebox_db::requests::list_for_election(app.db(), eid)
        .await
        .unwrap()[0]
        .id;
    switch_to(&app, OFFICER).await;
    let review = format!("{ADMIN}/exception/{request}");
    let resp = post_with_token(&app, &review, &review, &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let log = entries(&app).await;
    assert_eq!(kinds(&log)[2..], ["exception_filed", "exception_reviewed"]);
    assert_eq!(log[2].detail, format!("{{\"request\":{request}}}"));
    assert_eq!(
        log[3].detail,
        format!("{{\"officer\":\"kalkayan\",\"request\":{request},\"reviewed\":true}}")
    );
    for e in &log {
        for secret in ["mallory", "dims", "liggitt", "jberkus", "Docs", &liggitt] {
            assert!(!e.detail.contains(secret), "{secret} in {e:?}");
        }
    }

    // Voting ends; two instances' timer rounds race to record the close: one entry.
    app.set_now(datetime!(2023-08-20 00:00:30));
    app.state.secrecy_round().await; // within the settle time: not yet
    assert_eq!(entries(&app).await.len(), 4);
    app.set_now(datetime!(2023-08-20 00:02:00));
    tokio::join!(app.state.secrecy_round(), app.state.secrecy_round());
    let log = entries(&app).await;
    assert_eq!(kinds(&log)[4..], ["voting_closed"]);
    assert_eq!(log[4].field("ballots"), Some(3.into()));
    assert_eq!(log[4].at, datetime!(2023-08-20 00:02:00));
    assert_eq!(log[4].field("end"), Some("2023-08-20T00:00:00Z".into()));
    assert!(audit::verify(KEY, &log).is_ok());
    let board_at_close = board_now(&app).await;
    assert_eq!(board_at_close.len(), 3);
    assert_eq!(
        log[4].field("board_sha256"),
        Some(board_at_close.sha256().into())
    );
    // The board served (twice, page and CSV) is recorded once, by its SHA-256 alone.
    for path in ["/elections/audited/board", "/elections/audited/board.csv"] {
        app.ok_page(path).await;
    }
    let log = entries(&app).await;
    assert_eq!(kinds(&log)[5..], ["board_made"]);
    assert_eq!(
        log[5].detail,
        format!("{{\"sha256\":\"{}\"}}", board_at_close.sha256())
    );

    // Untouched: the page says so, audit verify passes; both were recorded.
    assert_ballots_intact(&app, true, "untouched").await;
    let log = entries(&app).await;
    assert_eq!(log.last().unwrap().kind, "results_viewed");
    assert!(
        log.last()
            .unwrap()
            .detail
            .contains("\"officer\":\"kalkayan\"")
    );

    // A ballot row changed, then put back.
    exec(app.db(), &ballot_rank(&liggitt, "one", 2))
        .await
        .unwrap();
    assert_ballots_intact(&app, false, "changed").await;
    exec(app.db(), &ballot_rank(&liggitt, "one", 1))
        .await
        .unwrap();
    assert_ballots_intact(&app, true, "changed back").await;
    // A ballot added, then taken out again.
    let stuffed = votebox_db::ballots::new_ballot_voter();
    let add = Query::insert()
        .into_table("ballot")
        .columns(["id", "election_id", "rank", "candidate", "voter"])
        .values_panic([
            "f".repeat(32).into(),
            eid.0.into(),
            1.into(),
            "two".into(),
            stuffed.as_str().into(),
        ])
        .to_owned();
    exec(app.db(), &add).await.unwrap();
    assert_ballots_intact(&app, false, "added").await;
    let take_out = Query::delete()
        .from_table("ballot")
        .and_where(Expr::col("voter").eq(stuffed.as_str()))
        .to_owned();
    exec(app.db(), &take_out).await.unwrap();
    assert_ballots_intact(&app, true, "added and removed").await;
    // A ballot row removed.
    let remove = Query::delete()
        .from_table("ballot")
        .and_where(Expr::col("voter").eq(liggitt.as_str()))
        .and_where(Expr::col("candidate").eq("two"))
        .to_owned();
    exec(app.db(), &remove).await.unwrap();
    assert_ballots_intact(&app, false, "removed").await;

    let board_later = board_now(&app).await;
    assert_ne!(board_later.sha256(), board_at_close.sha256());
    let resp = app.get("/elections/audited/board.csv").await;
    assert_eq!(
        resp.headers()["x-votebox-board-sha256"],
        board_later.sha256().as_str()
    );
    let last = entries(&app).await.pop().unwrap();
    assert_eq!(last.kind, "board_made");
    assert!(last.detail.contains(&board_later.sha256()), "{last:?}");

    // The draft quotes the head; the exported log verifies against it.
    let draft = app.ok_page(&format!("{ADMIN}/results.md?seed=s1")).await;
    let head = votebox_db::audit::head(app.db(), eid)
        .await
        .unwrap()
        .unwrap();
    // The draft's own export entry came after the head it quotes.
    let quoted = format!("Audit chain head: entry {}, SHA-256 `", head.seq - 1);
    assert!(draft.contains(&quoted), "{draft}");
    assert!(
        draft.contains("WARNING: The ballots in the database"),
        "{draft}"
    );
    // It certifies the board of the close: the board of today does not verify against it.
    let claims = read_draft(&draft);
    assert_eq!(claims.board_sha256.unwrap().1, board_at_close.sha256());
    let outcome = board_later.count().unwrap();
    let differences = check_draft(&draft, &board_later, &outcome);
    assert!(
        differences
            .iter()
            .any(|d| d.message.contains(&board_later.sha256())),
        "{differences:?}"
    );
    let log = entries(&app).await;
    let anchor = format!("{}:{}", log[log.len() - 2].seq, log[log.len() - 2].hash);
    let resp = app.get(&format!("{ADMIN}/audit.jsonl")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let jsonl = resp.text().await.unwrap();
    assert_eq!(jsonl.lines().count(), log.len());
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("audit.jsonl");
    std::fs::write(&file, &jsonl).unwrap();
    let file = file.to_str().unwrap().to_owned();
    let (code, out) = audit_verify(&[&file, "--head", &anchor]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("chain intact"), "{out}");
    // The board downloaded at the close matches the chain; today's does not.
    for (board, ok) in [(&board_at_close, true), (&board_later, false)] {
        let path = dir.path().join(format!("board-{ok}.csv"));
        std::fs::write(&path, board.to_csv()).unwrap();
        let (code, out) = audit_verify(&[&file, "--board", path.to_str().unwrap()]).await;
        if ok {
            assert_eq!(code, 0, "{out}");
            assert!(
                out.contains("the board is the one recorded at close"),
                "{out}"
            );
        } else {
            assert_eq!(code, 1, "{out}");
            assert!(out.contains("BOARD CHANGED"), "{out}");
        }
    }

    // An audit entry edited in the database: named by audit verify and on the audit page.
    let edit = Query::update()
        .table("votebox_audit_event")
        .value("detail_json", "{\"request\":999}")
        .and_where(Expr::col("election_id").eq(eid.0))
        .and_where(Expr::col("seq").eq(3))
        .to_owned();
    exec(app.db(), &edit).await.unwrap();
    let (code, out) = verify_db(&app).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("BROKEN: entry 3: its hash does not match"),
        "{out}"
    );
    let page = app.ok_page(&format!("{ADMIN}/audit")).await;
    assert!(
        page.contains("The audit log does not verify: entry 3"),
        "{page}"
    );
    assert!(page.contains("id=\"audit-broken\"><td>3</td>"), "{page}");
    // The same edit in the exported file; a reordered file.
    let edited = jsonl.replacen(
        &format!("\\\"request\\\":{request}}}"),
        "\\\"request\\\":999}",
        1,
    );
    assert_ne!(edited, jsonl);
    let edited_file = dir.path().join("edited.jsonl");
    std::fs::write(&edited_file, edited).unwrap();
    let (code, out) = audit_verify(&[edited_file.to_str().unwrap()]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("entry 3"), "{out}");
    let mut lines: Vec<&str> = jsonl.lines().collect();
    lines.swap(1, 2);
    let moved_file = dir.path().join("moved.jsonl");
    std::fs::write(&moved_file, lines.join("\n")).unwrap();
    let (code, out) = audit_verify(&[moved_file.to_str().unwrap()]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("BROKEN: entry 2"), "{out}");

    // Only officers see the log.
    switch_to(&app, "dims").await;
    let (status, _) = app.page(&format!("{ADMIN}/audit")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.page(&format!("{ADMIN}/audit.jsonl")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
});
