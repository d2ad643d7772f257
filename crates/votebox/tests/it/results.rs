//! Officer results, the ballot CSV, the results.md draft and the conclusion of an election, on
//! all three engines (checklist 50–54 and 59 of `elekto-reference.md` §9; issue 4 items 3–5).
//!
//! Ballots are seeded as real `ballot` and `voter` rows, as Elekto (and votebox) store them.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use time::PrimitiveDateTime;
use votebox_db::testing::sea_query::{Asterisk, Expr, ExprTrait, Query};
use votebox_db::testing::{exec, fetch_all};

use crate::harness::{AFTER_ALL, DEFAULT_NOW, Options, TestApp, db_test, location};

/// Completed elections added to the fixture meta: `results---worked` (the worked example of
/// §6.5: candidates A–D, one seat, `delete_after: True`) and `results---seats` (a–d with names,
/// two seats, no `delete_after`). Officer of both: `olivia`.
pub const WORKED: &str = "results---worked";
pub const SEATS: &str = "results---seats";
pub const OFFICER: &str = "olivia";

fn candidate(id: &str, name: &str) -> String {
    format!(
        "-------------------------------------------------------------\nname: {name}\nID: {id}\ninfo:\n  - employer: Test\n-------------------------------------------------------------\n\n{name}'s statement.\n"
    )
}

fn election_yaml(name: &str, seats: u32, delete_after: bool) -> String {
    format!(
        "name: {name}\norganization: votebox tests\nstart_datetime: 2022-01-01 00:00:00\nend_datetime: 2022-02-01 00:00:00\nno_winners: {seats}\nallow_no_opinion: True\ndelete_after: {}\nshow_candidate_fields:\n  - employer\nelection_officers:\n  - {OFFICER}\n",
        if delete_after { "True" } else { "False" }
    )
}

/// The fixture meta plus the two results elections, with the clock at `now`.
pub fn results_options(now: PrimitiveDateTime) -> Options {
    let mut o = Options::at(now)
        .with_file(
            "elections/results/worked/election.yaml",
            &election_yaml("Worked Example", 1, true),
        )
        .with_file(
            "elections/results/worked/voters.yaml",
            "eligible_voters:\n  - v1\n  - v2\n  - v3\n  - v4\n",
        )
        .with_file(
            "elections/results/seats/election.yaml",
            &election_yaml("Seat Cut", 2, false),
        )
        .with_file(
            "elections/results/seats/voters.yaml",
            "eligible_voters:\n  - v1\n  - v2\n  - v3\n  - v4\n  - v5\n",
        );
    // Counting options from election.yaml (votebox-only keys), and an unknown value.
    let options_yaml = format!(
        "{}voting_method: ranked_pairs\nunranked: last\ntie_break_seed: meta-commit-abc\n",
        election_yaml("Options", 1, false)
    );
    o = o
        .with_file("elections/results/options/election.yaml", &options_yaml)
        .with_file(
            "elections/results/options/voters.yaml",
            "eligible_voters:\n  - v1\n",
        )
        .with_file(
            "elections/results/badopt/election.yaml",
            &format!(
                "{}voting_method: borda\n",
                election_yaml("Bad Options", 1, false)
            ),
        );
    for dir in ["options", "badopt"] {
        for id in ["x", "y"] {
            o = o.with_file(
                &format!("elections/results/{dir}/candidate-{id}.md"),
                &candidate(id, &format!("Candidate {id}")),
            );
        }
    }
    for id in ["A", "B", "C", "D"] {
        o = o.with_file(
            &format!("elections/results/worked/candidate-{id}.md"),
            &candidate(id, &format!("Candidate {id}")),
        );
    }
    for (id, name) in [("a", "Alice"), ("b", "Bob"), ("c", "Carol"), ("d", "Dan")] {
        o = o.with_file(
            &format!("elections/results/seats/candidate-{id}.md"),
            &candidate(id, name),
        );
    }
    o
}

fn uuid() -> String {
    let b: [u8; 16] = rand::random();
    let h = hex::encode(b);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// Stores one ballot as Elekto does: one `ballot` row per (candidate, rank) with a fresh uuid,
/// and, when `login` is given, a `voter` row with a (dummy) salt and encrypted link. A rank of
/// 100000000 is "No opinion". Returns the ballot uuid.
pub async fn seed_ballot(
    app: &TestApp,
    key: &str,
    login: Option<&str>,
    ranks: &[(&str, i64)],
) -> String {
    let election = votebox_db::elections::find_by_key(app.db(), key)
        .await
        .expect("find election")
        .unwrap_or_else(|| panic!("election {key} not synced"));
    let voter = uuid();
    for (cand, rank) in ranks {
        let id: [u8; 16] = rand::random();
        let stmt = Query::insert()
            .into_table("ballot")
            .columns(["id", "election_id", "rank", "candidate", "voter"])
            .values_panic([
                hex::encode(id).into(),
                election.id.into(),
                (*rank as i32).into(),
                (*cand).into(),
                voter.as_str().into(),
            ])
            .to_owned();
        exec(app.db(), &stmt).await.expect("insert ballot row");
    }
    if let Some(login) = login {
        let uid = app.user_id(login).await;
        let salt: [u8; 16] = rand::random();
        let link = vec![7u8; 76];
        let stmt = Query::insert()
            .into_table("voter")
            .columns(["user_id", "election_id", "salt", "ballot_id"])
            .values_panic([
                uid.into(),
                election.id.into(),
                salt.to_vec().into(),
                link.into(),
            ])
            .to_owned();
        exec(app.db(), &stmt).await.expect("insert voter row");
    }
    voter
}

/// The worked example of reference §6.5 (three ballots).
pub async fn seed_worked_example(app: &TestApp) {
    seed_ballot(
        app,
        WORKED,
        Some("v1"),
        &[("A", 1), ("B", 2), ("C", 3), ("D", 4)],
    )
    .await;
    seed_ballot(
        app,
        WORKED,
        Some("v2"),
        &[("B", 1), ("A", 2), ("C", 3), ("D", 4)],
    )
    .await;
    seed_ballot(
        app,
        WORKED,
        Some("v3"),
        &[("A", 1), ("B", 100_000_000), ("C", 2), ("D", 100_000_000)],
    )
    .await;
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

fn admin(key: &str, rest: &str) -> String {
    format!("/app/elections/{key}/admin/{rest}")
}

const NOT_OFFICER: &str = "You are not an Election officer";
const NOT_COMPLETED: [&str; 2] = [
    "The election is not completed yet",
    "The application needs election to be over first.",
];

db_test!(
    checklist_50_results_officer_only_completed_only,
    results_options(AFTER_ALL),
    |app| {
        seed_worked_example(&app).await;
        let pages = ["results", "download", "results.md"];
        // Anonymous: the login redirect.
        for p in pages {
            let resp = app.get(&admin(WORKED, p)).await;
            assert_eq!(resp.status(), StatusCode::FOUND, "{p}");
            assert!(location(&resp).starts_with("/login?r="), "{p}");
        }
        // A voter of the election, and an officer of other elections: 403.
        for login in ["v1", "jberkus"] {
            switch_user(&app, login).await;
            for p in pages {
                let (status, body) = app.page(&admin(WORKED, p)).await;
                assert_eq!(status, StatusCode::FORBIDDEN, "{login} {p}");
                assert_contains(&body, NOT_OFFICER);
                assert_lacks(&body, "No opinion");
            }
            let (status, _) = app.page(&admin(WORKED, "")).await;
            assert_eq!(status, StatusCode::FORBIDDEN);
        }
        // An officer of an election that is not over: the "not completed" message, no data.
        switch_user(&app, "jberkus").await;
        for p in pages {
            let (status, body) = app.page(&admin("2024---future", p)).await;
            assert_eq!(status, StatusCode::OK, "{p}");
            for m in NOT_COMPLETED {
                assert_contains(&body, m);
            }
        }
        let dash = app.ok_page(&admin("2024---future", "")).await;
        assert_lacks(&dash, "Generate Results");
        // The officer of the completed election: everything, linked from the dashboard.
        switch_user(&app, OFFICER).await;
        let dash = app.ok_page(&admin(WORKED, "")).await;
        for (text, href) in [
            ("Generate Results", "admin/results\""),
            ("Export and download ballots to CSV", "admin/download?seed="),
            ("results.md draft", "admin/results.md?seed="),
        ] {
            assert_contains(&dash, text);
            assert_contains(&dash, href);
        }
        for p in pages {
            let resp = app.get(&admin(WORKED, p)).await;
            assert_eq!(resp.status(), StatusCode::OK, "{p}");
        }
        // Officers are compared case-insensitively (checklist 15).
        switch_user(&app, "OLIVIA").await;
        app.ok_page(&admin(WORKED, "results")).await;
    }
);

db_test!(
    checklist_51_worked_example,
    results_options(AFTER_ALL),
    |app| {
        seed_worked_example(&app).await;
        app.login_as(OFFICER).await;
        let body = app.ok_page(&admin(WORKED, "results")).await;
        // Method and semantics: Elekto's by default.
        assert_contains(
            &body,
            "Counted with <strong>Schulze (winning votes)</strong>",
        );
        assert_contains(&body, "(<code>no-opinion</code>)");
        assert_contains(&body, "This is the election's configured count.");
        // {A, B} tied first (label 1), C labelled 3, D labelled 4.
        assert_contains(
            &body,
            "<strong>A tie decides seat 1</strong> (the only seat): 2 candidates are tied for 1 seat",
        );
        assert_lacks(&body, "is the Condorcet winner");
        let ranking = section(&body, "id=\"ranking\"");
        let rows: Vec<&str> = ranking.split("<tr class=\"tier").skip(1).collect();
        assert_eq!(rows.len(), 3, "{ranking}");
        assert_contains(
            rows[0],
            "<td class=\"rank\">1 <span class=\"badge tie-badge\">tie</span>",
        );
        assert_contains(rows[0], "<code>A</code>");
        assert_contains(rows[0], "<code>B</code>");
        assert_contains(rows[1], "<td class=\"rank\">3</td>");
        assert_contains(rows[1], "<code>C</code>");
        assert_contains(rows[2], "<td class=\"rank\">4</td>");
        assert_contains(rows[2], "<code>D</code>");
        // One seat, two tied for it.
        assert_contains(
            &body,
            "Tie across the last seat:</strong> 1 seat(s) remain for 2 tied candidates",
        );
        // Pairwise matrix, standard orientation (row over column): A over C on all three ballots.
        let pairwise = section(&body, "id=\"pairwise\"");
        assert_contains(
            pairwise,
            "title=\"ballots ranking A over C: 3; C over A: 0\"",
        );
        assert_contains(
            pairwise,
            "title=\"ballots ranking A over B: 1; B over A: 1\"",
        );
        assert_contains(
            pairwise,
            "title=\"ballots ranking B over D: 2; D over B: 0\"",
        );
        assert_contains(&body, "id=\"strongest-paths\"");
        // Ballots, voters, eligible, turnout.
        assert_contains(&body, "<span class=\"number\" id=\"ballot-count\">3</span>");
        assert_contains(&body, "<span class=\"number\" id=\"turnout\">75.0%</span>");
        // Names as well as IDs.
        assert_contains(&body, "Candidate A <code>A</code>");
        // The what-if panel: every method and rule, links and a GET form.
        let what_if = section(&body, "id=\"what-if\"");
        assert_eq!(what_if.matches("<tr class=").count(), 16, "{what_if}");
        assert_contains(what_if, "method=schulze-margins&#38;unranked=last");
        assert_contains(what_if, "<form method=\"get\"");
        // A recount with Debian's rule: v3's unranked B and D go last, so A wins alone.
        let body = app
            .ok_page(&admin(WORKED, "results?method=schulze&unranked=last"))
            .await;
        assert_contains(&body, "This is a \"what if\" recount");
        assert_contains(&body, "<strong>is the Condorcet winner</strong>");
        assert_contains(&body, "Candidate A (<code>A</code>)");
        // Scottish STV: the stages in the rounds table, the count sheet in the count log.
        let body = app
            .ok_page(&admin(WORKED, "results?method=stv-scottish"))
            .await;
        let rounds = section(&body, "id=\"rounds\"");
        assert_contains(rounds, "<tr><td>1</td>");
        assert_contains(&body, "Stage 1, first preferences");
        assert_contains(&body, "(rule 46)");
        // A bad choice is a 400 page.
        let (status, _) = app.page(&admin(WORKED, "results?method=borda")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        // Ranked ballots cannot be recounted with STAR (it reads stars), nor is it offered.
        let (status, body) = app.page(&admin(WORKED, "results?method=star")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_contains(&body, "this election has ranked ballots");
        assert!(!what_if.contains("method=star"));
    }
);

/// The text from `marker` up to the end of its `</section>`.
fn section<'a>(body: &'a str, marker: &str) -> &'a str {
    let start = body
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not found in:\n{body}"));
    let rest = &body[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

db_test!(
    checklist_52_tie_labels_and_seat_cut,
    results_options(AFTER_ALL),
    |app| {
        app.login_as(OFFICER).await;
        // No ballots: said so, not shown as a tie (Elekto: "the Condorcet winner").
        let body = app.ok_page(&admin(SEATS, "results")).await;
        assert_contains(&body, "No ballots were cast");
        assert_lacks(&body, "tie decides");
        assert_lacks(&body, "is the Condorcet winner");
        assert_contains(&body, "<span class=\"number\" id=\"ballot-count\">0</span>");

        // a > b = c > d on three ballots, one of them also ranking a stale ID first.
        for (login, extra) in [("v1", false), ("v2", false), ("v3", true)] {
            let mut ranks = vec![("a", 1), ("b", 2), ("c", 2), ("d", 3)];
            if extra {
                ranks = vec![("zed", 1), ("a", 2), ("b", 3), ("c", 3), ("d", 4)];
            }
            seed_ballot(&app, SEATS, Some(login), &ranks).await;
        }
        let body = app.ok_page(&admin(SEATS, "results")).await;
        // Alice elected; the tie for the second seat announced with the seat it decides.
        assert_contains(
            &body,
            "Elected: <strong>Alice</strong> (<code>a</code>). <strong>A tie decides seat 2</strong>: 2 candidates are tied for 1 seat: Bob (<code>b</code>), Carol (<code>c</code>).",
        );
        // Two seats: a elected, b and c tied across the cut, flagged.
        let winners = section(&body, "id=\"winners\"");
        assert_contains(winners, "<li>Alice (<code>a</code>)</li>");
        assert_contains(
            winners,
            "<strong>Tie across the last seat:</strong> 1 seat(s) remain for 2 tied candidates: Bob (<code>b</code>), Carol (<code>c</code>)",
        );
        let ranking = section(&body, "id=\"ranking\"");
        assert_contains(ranking, "<tr class=\"tier elected\">");
        assert_contains(ranking, "<tr class=\"tier tied\">");
        assert_contains(
            ranking,
            "<span class=\"cand tied\">Bob <code>b</code></span>",
        );
        assert_contains(
            ranking,
            "<td class=\"rank\">2 <span class=\"badge tie-badge\">tie</span>",
        );
        assert_contains(ranking, "<td class=\"rank\">4</td>");
        // The stale ID: counted separately, with a warning, never a crash.
        assert_contains(&body, "id=\"stale-warning\"");
        assert_contains(&body, "<code>zed</code>: on 1 ballot(s), ranked on 1");
        assert_contains(&body, "<span class=\"number\" id=\"ballot-count\">3</span>");
        // Turnout: 3 voters of 5 eligible.
        assert_contains(&body, "<span class=\"number\" id=\"turnout\">60.0%</span>");
        // Condorcet winner and Smith set.
        let cond = section(&body, "id=\"condorcet\"");
        assert_contains(cond, "Condorcet winner: <strong>Alice</strong>");
        assert_contains(cond, "Smith set: <code>a</code>.");
        // The draft says the same.
        let md = app
            .get(&admin(SEATS, "results.md?seed=x"))
            .await
            .text()
            .await
            .unwrap();
        assert_contains(&md, "- Alice (`a`)\n");
        assert_contains(
            &md,
            "**Tie:** 1 remaining seat(s) between Bob (`b`), Carol (`c`).",
        );
        assert_contains(&md, "| 2 (tie) | Bob (`b`) / Carol (`c`) |");
        assert_contains(
            &md,
            "- Not counted: `zed` is no longer a candidate (1 ballot(s) ranked it)",
        );
    }
);

db_test!(checklist_53_csv_format, results_options(AFTER_ALL), |app| {
    seed_worked_example(&app).await;
    app.login_as(OFFICER).await;
    let resp = app.get(&admin(WORKED, "download")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    assert_eq!(
        resp.headers()["content-disposition"].to_str().unwrap(),
        "attachment; filename=ballots-results---worked.csv"
    );
    let body = resp.text().await.unwrap();
    assert!(body.ends_with('\n'), "{body:?}");
    assert!(!body.contains('\r') && !body.contains('"'), "{body:?}");
    let lines: Vec<&str> = body.split_terminator('\n').collect();
    assert_eq!(lines[0], "A,B,C,D");
    let rows: BTreeSet<&str> = lines[1..].iter().copied().collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(
        rows,
        BTreeSet::from(["1,2,3,4", "2,1,3,4", "1,No opinion,2,No opinion"])
    );
    // A ballot whose every candidate is "No opinion" still has its line.
    seed_ballot(
        &app,
        WORKED,
        None,
        &[
            ("A", 100_000_000),
            ("B", 100_000_000),
            ("C", 100_000_000),
            ("D", 100_000_000),
        ],
    )
    .await;
    let body = app
        .get(&admin(WORKED, "download"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("\nNo opinion,No opinion,No opinion,No opinion\n"),
        "{body}"
    );
    // The file reads back with the offline reader.
    let p = votebox_core::count::parse_elekto_csv(&body).unwrap();
    assert_eq!(p.num_ballots(), 4);
});

db_test!(
    checklist_54_csv_stable_columns_shuffled_rows,
    results_options(AFTER_ALL),
    |app| {
        // Twelve ballots inserted in a known order, each with a distinct first choice pattern;
        // one also ranks an ID that is no longer a candidate.
        let mut expected = Vec::new();
        for i in 0..12i64 {
            let a = 1 + i % 4;
            let ranks = [
                ("A", a),
                ("B", 1 + (i + 1) % 4),
                ("C", 1 + (i + 2) % 4),
                ("D", 5 + i),
            ];
            seed_ballot(&app, WORKED, None, &ranks).await;
            expected.push(format!(
                "{},{},{},{},No opinion",
                ranks[0].1, ranks[1].1, ranks[2].1, ranks[3].1
            ));
        }
        seed_ballot(&app, WORKED, None, &[("gone,id", 1), ("A", 2)]).await;
        expected.push("2,No opinion,No opinion,No opinion,1".to_owned());
        app.login_as(OFFICER).await;

        let get = |seed: &str| {
            let path = admin(WORKED, &format!("download?seed={seed}"));
            let seed = seed.to_owned();
            let app = &app;
            async move {
                let resp = app.get(&path).await;
                assert_eq!(resp.status(), StatusCode::OK);
                assert_eq!(
                    resp.headers()["x-votebox-export-seed"].to_str().unwrap(),
                    seed.as_str()
                );
                resp.text().await.unwrap()
            }
        };
        let first = get("alpha").await;
        // Stable columns (sorted IDs, the stale one last and RFC 4180 quoted), same bytes for the
        // same seed.
        assert!(first.starts_with("A,B,C,D,\"gone,id\"\n"), "{first}");
        assert_eq!(first, get("alpha").await);
        let lines: Vec<String> = first.lines().skip(1).map(str::to_owned).collect();
        let mut sorted = lines.clone();
        sorted.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(sorted, want, "every ballot once, stale column aligned");
        // Line order depends on the seed only: not insertion order, and it changes with the seed.
        let orders: BTreeSet<Vec<String>> = {
            let mut set = BTreeSet::new();
            for s in ["s1", "s2", "s3", "s4", "s5"] {
                set.insert(get(s).await.lines().skip(1).map(str::to_owned).collect());
            }
            set
        };
        assert!(orders.len() > 1, "the seed changes the order");
        assert!(
            orders.iter().chain([&lines]).any(|o| *o != expected),
            "lines are not in insertion order"
        );
        // Without a seed: a fresh random one, reported in the header; header line unchanged.
        let resp = app.get(&admin(WORKED, "download")).await;
        let seed = resp.headers()["x-votebox-export-seed"]
            .to_str()
            .unwrap()
            .to_owned();
        let body = resp.text().await.unwrap();
        assert!(body.starts_with("A,B,C,D,\"gone,id\"\n"));
        assert_eq!(body, get(&seed).await);
        // results.md quotes the SHA-256 of exactly the CSV served with its seed.
        let md = app
            .get(&admin(WORKED, "results.md?seed=alpha"))
            .await
            .text()
            .await
            .unwrap();
        let sha = votebox_core::results::sha256_hex(first.as_bytes());
        assert_contains(&md, &format!("(export seed `alpha`), SHA-256 `{sha}`"));
        assert_contains(&md, "- Ballots counted: 13");
        assert_contains(&md, "- Method: Schulze (winning votes) (`schulze`)");
        // The results page links both with one seed.
        let page = app.ok_page(&admin(WORKED, "results")).await;
        let csv_href = attr_after(&page, "id=\"csv-link\" href=\"");
        let md_href = attr_after(&page, "id=\"md-link\" href=\"");
        let seed = csv_href.split("seed=").nth(1).unwrap().to_owned();
        assert!(md_href.contains(&format!("seed={seed}&#38;")), "{md_href}");
    }
);

fn attr_after(body: &str, marker: &str) -> String {
    let at = body
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {body}"))
        + marker.len();
    body[at..body[at..].find('"').unwrap() + at].to_owned()
}

/// Row counts of every table, to show that reading results writes nothing.
async fn table_counts(app: &TestApp) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for t in [
        "election",
        "user",
        "voter",
        "ballot",
        "request",
        "schema_version",
    ] {
        let stmt = Query::select()
            .expr(Expr::col(Asterisk).count())
            .from(t)
            .to_owned();
        let rows: Vec<(i64,)> = fetch_all(app.db(), &stmt).await.unwrap();
        out.push((t.to_owned(), rows[0].0));
    }
    out
}

db_test!(
    checklist_59_results_not_stored,
    results_options(AFTER_ALL),
    |app| {
        seed_worked_example(&app).await;
        app.login_as(OFFICER).await;
        let before = table_counts(&app).await;
        for p in [
            "results",
            "results?method=irv",
            "results?method=stv-meek&unranked=last",
            "download",
            "results.md",
        ] {
            let resp = app.get(&admin(WORKED, p)).await;
            assert_eq!(resp.status(), StatusCode::OK, "{p}");
        }
        assert_eq!(
            table_counts(&app).await,
            before,
            "reading results wrote rows"
        );
        // Computed from the ballot rows at request time: a new ballot shows at once.
        seed_ballot(&app, WORKED, Some("v4"), &[("C", 1), ("D", 2)]).await;
        let body = app.ok_page(&admin(WORKED, "results")).await;
        assert_contains(&body, "<span class=\"number\" id=\"ballot-count\">4</span>");
        assert_contains(&body, "<span class=\"number\" id=\"turnout\">100.0%</span>");
    }
);

/// A nullable BLOB column.
type Bytes = Option<Vec<u8>>;

/// Voter rows of `key` as (has salt, has link) pairs.
async fn links(app: &TestApp, key: &str) -> Vec<(bool, bool)> {
    let id = votebox_db::elections::find_by_key(app.db(), key)
        .await
        .unwrap()
        .unwrap()
        .id;
    let stmt = Query::select()
        .columns(["salt", "ballot_id"])
        .from("voter")
        .and_where(Expr::col("election_id").eq(id))
        .to_owned();
    let rows: Vec<(Bytes, Bytes)> = fetch_all(app.db(), &stmt).await.unwrap();
    rows.into_iter()
        .map(|(s, b)| (s.is_some(), b.is_some()))
        .collect()
}

async fn ballot_rows(app: &TestApp, key: &str) -> usize {
    let id = votebox_db::elections::find_by_key(app.db(), key)
        .await
        .unwrap()
        .unwrap()
        .id;
    votebox_db::ballots::all_for_election(app.db(), id)
        .await
        .unwrap()
        .len()
}

db_test!(
    conclusion_delete_after_forgets_voter_links,
    results_options(DEFAULT_NOW),
    |app| {
        // WORKED: ended, delete_after. SEATS: ended, no delete_after. 2021---GB: delete_after but
        // still running at DEFAULT_NOW.
        seed_worked_example(&app).await;
        seed_ballot(&app, SEATS, Some("v1"), &[("a", 1)]).await;
        seed_ballot(&app, "2021---GB", Some("dims"), &[("aaron", 1)]).await;
        assert_eq!(links(&app, WORKED).await, vec![(true, true); 3]);

        app.state.sync_meta().await.expect("sync");
        assert_eq!(links(&app, WORKED).await, vec![(false, false); 3]);
        assert_eq!(ballot_rows(&app, WORKED).await, 12, "ballots kept");
        assert_eq!(links(&app, SEATS).await, vec![(true, true)]);
        assert_eq!(links(&app, "2021---GB").await, vec![(true, true)]);
        // The record of who voted is kept.
        let uid = app.user_id("v1").await;
        let worked = votebox_db::elections::find_by_key(app.db(), WORKED)
            .await
            .unwrap()
            .unwrap();
        assert!(
            votebox_db::voters::has_voted(app.db(), uid, "v1", worked.id)
                .await
                .unwrap()
        );

        // Idempotent: nothing left to change, and a second sync changes nothing.
        assert_eq!(
            votebox_db::conclusion::forget_voter_links(app.db(), worked.id)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            votebox_db::conclusion::remaining_links(app.db(), worked.id)
                .await
                .unwrap(),
            0
        );
        app.state.sync_meta().await.expect("second sync");
        assert_eq!(links(&app, WORKED).await, vec![(false, false); 3]);
        assert_eq!(links(&app, "2021---GB").await, vec![(true, true)]);
        // Results still count every ballot after the conclusion.
        app.login_as(OFFICER).await;
        let body = app.ok_page(&admin(WORKED, "results")).await;
        assert_contains(&body, "<span class=\"number\" id=\"ballot-count\">3</span>");
    }
);

db_test!(
    results_counting_options_from_election_yaml,
    results_options(AFTER_ALL),
    |app| {
        // x and y tie exactly: the configured seed decides, and the page says so.
        seed_ballot(&app, "results---options", Some("v1"), &[("x", 1), ("y", 2)]).await;
        seed_ballot(&app, "results---options", None, &[("y", 1), ("x", 2)]).await;
        seed_ballot(&app, "results---badopt", None, &[("y", 1)]).await;
        app.login_as(OFFICER).await;
        let body = app.ok_page(&admin("results---options", "results")).await;
        assert_contains(
            &body,
            "Counted with <strong>Ranked Pairs (winning votes)</strong>",
        );
        assert_contains(&body, "(<code>last</code>)");
        assert_contains(&body, "This is the election's configured count.");
        assert_contains(&body, "Tie-break seed &#34;meta-commit-abc&#34;");
        assert_lacks(&body, "id=\"seat-tie\"");
        let winners = section(&body, "id=\"winners\"");
        assert_eq!(winners.matches("<li>").count(), 1, "{winners}");
        let md = app
            .get(&admin("results---options", "results.md?seed=1"))
            .await
            .text()
            .await
            .unwrap();
        assert_contains(&md, "- Tie-break: seed `meta-commit-abc`");
        assert_contains(&md, "(`ranked-pairs`)");
        // An unknown value: a warning, and Elekto's Schulze.
        let body = app.ok_page(&admin("results---badopt", "results")).await;
        assert_contains(
            &body,
            "election.yaml voting_method: unknown counting method `borda`",
        );
        assert_contains(
            &body,
            "Counted with <strong>Schulze (winning votes)</strong>",
        );
    }
);
