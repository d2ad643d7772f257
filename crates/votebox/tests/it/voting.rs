//! Casting, viewing, revoking, exception requests and their review, on all three engines
//! (checklist items 36–49, 60–62 of `elekto-reference.md` §9).
//!
//! Every KDF costs ~3 s and 512 MiB, so only a few tests run it: the storage-format test, the
//! cast → view → revoke → recast journey, the wrong-passphrase test (on a ballot Elekto sealed),
//! the double-submit test and the secrecy test. Every other test stops before the KDF.
//!
//! Fixture roles (2021---GB is running at the pinned clock):
//! * `dims`, `liggitt`, `jberkus`, … : eligible voters of 2021---GB;
//! * `kalkayan`: officer of 2021---GB (and name_the_app), not a voter of 2021---GB;
//! * `mrbobbytables`: officer and voter of 2021---GB only;
//! * `Mallory-Officer`: officer of `xss` only;
//! * `mallory`: nothing anywhere.

use std::sync::Arc;
use votebox_db::ElectionId;

use reqwest::StatusCode;
use reqwest::cookie::Jar;
use votebox_db::Db;
use votebox_db::ballots::{self, NO_OPINION};
use votebox_db::testing::sea_query::{Asterisk, Expr, ExprTrait, Query};
use votebox_db::testing::{exec as exec_stmt, fetch_all};

use crate::harness::{Engine, Options, TestApp, db_test, extract_csrf, location};

const GB: &str = "2021---GB";
const GB_NAME: &str = "Select our 2021 General Board Rep";
const VOTE: &str = "/app/elections/2021---GB/vote";
const VIEW: &str = "/app/elections/2021---GB/vote/view";
const EDIT: &str = "/app/elections/2021---GB/vote/edit";
const ELECTION: &str = "/app/elections/2021---GB";
const MSG_NOT_VOTED: &str = "You have not voted yet";
const MSG_WRONG: &str = "Incorrect passphrase: it must be the passphrase you chose when you voted.";
const MSG_NO_PASSPHRASE: &str =
    "This ballot was cast without a passphrase: nobody, you included, can view or revoke it.";
const MSG_REVOKED: &str = "The old ballot is successfully deleted, please re-cast the ballot.";

/// An election where "No opinion" is not allowed.
const STRICT_YAML: &str = "name: Strict Election\norganization: Strict Org\n\
start_datetime: 2023-08-01 00:00:00\nend_datetime: 2023-08-30 00:00:00\nno_winners: 1\n\
allow_no_opinion: False\nshow_candidate_fields:\nelection_officers:\n  - kalkayan\n";
const STRICT_VOTERS: &str = "eligible_voters:\n  - dims\n";

fn strict() -> Options {
    Options::default()
        .with_file("elections/strict/election.yaml", STRICT_YAML)
        .with_file("elections/strict/voters.yaml", STRICT_VOTERS)
        .with_file(
            "elections/strict/candidate-one.md",
            "---\nname: One\nID: one\n---\n",
        )
        .with_file(
            "elections/strict/candidate-two.md",
            "---\nname: Two\nID: two\n---\n",
        )
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

/// The `<select name="candidate@<id>">…</select>` of a vote form.
fn select_of<'a>(body: &'a str, id: &str) -> &'a str {
    let start = body
        .find(&format!("name=\"candidate@{id}\""))
        .unwrap_or_else(|| panic!("no select for {id} in:\n{body}"));
    let end = body[start..].find("</select>").expect("select closes") + start;
    &body[start..end]
}

/// The value of the selected option of a select.
fn selected(select: &str) -> Option<&str> {
    let at = select.find(" selected")?;
    let before = &select[..at];
    let v = before.rfind("value=\"")? + "value=\"".len();
    let end = before[v..].find('"')? + v;
    Some(&before[v..end])
}

async fn count(db: &Db, table: &'static str) -> i64 {
    let stmt = Query::select()
        .expr(Expr::col(Asterisk).count())
        .from(table)
        .to_owned();
    let rows: Vec<(i64,)> = fetch_all(db, &stmt).await.unwrap();
    rows[0].0
}

async fn election_id(app: &TestApp, key: &str) -> ElectionId {
    votebox_db::elections::find_by_key(app.db(), key)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("election {key} not synced"))
        .id
}

/// POSTs a form with this session's CSRF token (taken from `token_page`).
async fn post_with_token(
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
    token_page: &str,
) -> reqwest::Response {
    let token = app.csrf_token(token_page).await;
    let mut form: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
    form.extend_from_slice(fields);
    app.post_form(path, &form).await
}

/// A vote POST with the session's token.
async fn vote(app: &TestApp, fields: &[(&str, &str)]) -> reqwest::Response {
    post_with_token(app, VOTE, fields, ELECTION).await
}

/// The flash messages shown on the next page of `path`.
async fn flashes_on(app: &TestApp, path: &str) -> String {
    let body = app.ok_page(path).await;
    body.split("<div class=\"flash ")
        .skip(1)
        .map(|s| {
            let s = s.split("</div>").next().unwrap_or_default();
            s.split_once("</span> ").map_or(s, |(_, message)| message)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

// ------------------------------------------------------------------------------------------------
// 36: the vote form

db_test!(checklist_36_vote_form_fields, strict(), |app| {
    // Anonymous: login first.
    let resp = app.get(VOTE).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert!(location(&resp).starts_with("/login?r="));

    app.login_as("dims").await;
    let election = app.ok_page(ELECTION).await;
    assert_contains(&election, &format!("href=\"{VOTE}\""));

    let body = app.ok_page(VOTE).await;
    for id in ["aaron", "dims", "paris"] {
        let select = select_of(&body, id);
        let values: Vec<&str> = select
            .match_indices("<option value=\"")
            .map(|(i, m)| {
                let rest = &select[i + m.len()..];
                &rest[..rest.find('"').unwrap()]
            })
            .collect();
        assert_eq!(values, ["100000000", "1", "2", "3"], "{id}");
        assert_contains(select, ">No opinion</option>");
        // #95: an untouched ballot is "No opinion", not everyone tied last.
        assert_eq!(selected(select), Some("100000000"), "{id}");
    }
    assert_contains(&body, "name=\"password\"");
    assert_contains(&body, "name=\"password_confirm\"");
    assert_contains(&body, "minlength=\"6\"");
    assert!(extract_csrf(&body).is_some_and(|t| !t.is_empty()));
    assert_contains(
        &body,
        "If you leave the passphrase empty, this ballot can never be viewed, changed or revoked, by you or by anyone.",
    );
    assert_contains(&body, "Submit Vote");
    assert_contains(&body, "action=\"/app/elections/2021---GB/vote\"");

    // allow_no_opinion: False → no "No opinion", no default, the browser asks for a rank.
    let body = app.ok_page("/app/elections/strict/vote").await;
    let select = select_of(&body, "one");
    assert_lacks(select, "100000000");
    assert_contains(select, "required");
    assert_eq!(selected(select), Some(""));

    // Not running (2021---TOC completed): refused before any form.
    let (status, body) = app.page("/app/elections/2021---TOC/vote").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_contains(&body, "Voting is closed");
    assert_lacks(&body, "candidate@");

    // Not eligible: Elekto's "Not Eligible | <name>" page, now with 403.
    app.get("/logout").await;
    app.login_as("mallory").await;
    let (status, body) = app.page(VOTE).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_contains(&body, &format!("Not Eligible | {GB_NAME}"));
    assert_contains(&body, "href=\"/app/elections/2021---GB/exception\"");
    assert_lacks(&body, "candidate@");
});

// ------------------------------------------------------------------------------------------------
// 38, 41: validation before anything is written (no KDF runs in these tests)

db_test!(checklist_41_rejects_unknown_candidate, strict(), |app| {
    app.login_as("dims").await;
    let bad: &[(&[(&str, &str)], &str)] = &[
        (
            &[
                ("candidate@aaron", "2"),
                ("candidate@nobody", "1"),
                ("password", ""),
            ],
            "Unknown candidate: nobody.",
        ),
        (
            &[("candidate@aaron", "4"), ("password", "")],
            "Invalid rank for aaron: choose a number from 1 to 3 or &#34;No opinion&#34;.",
        ),
        (
            &[("candidate@aaron", "0"), ("password", "")],
            "Invalid rank for aaron",
        ),
        (
            &[("candidate@aaron", "-1"), ("password", "")],
            "Invalid rank for aaron",
        ),
        (
            &[("candidate@aaron", "1.5"), ("password", "")],
            "Invalid rank for aaron",
        ),
        (
            &[("candidate@aaron", "abc"), ("password", "")],
            "Invalid rank for aaron",
        ),
        (
            &[("candidate@aaron", "99999999999"), ("password", "")],
            "Invalid rank for aaron",
        ),
        (
            &[
                ("candidate@aaron", "1"),
                ("candidate@aaron", "2"),
                ("password", ""),
            ],
            "The candidate aaron was ranked more than once.",
        ),
    ];
    for (fields, message) in bad {
        let resp = vote(&app, fields).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{fields:?}");
        let body = resp.text().await.unwrap();
        assert_contains(&body, message);
        // The form is shown again.
        assert_contains(&body, "name=\"candidate@paris\"");
    }
    // The ranking entered is kept on the re-displayed form.
    let resp = vote(
        &app,
        &[
            ("candidate@dims", "3"),
            ("candidate@aaron", "2"),
            ("candidate@nobody", "1"),
            ("password", ""),
        ],
    )
    .await;
    let body = resp.text().await.unwrap();
    assert_eq!(selected(select_of(&body, "dims")), Some("3"));
    assert_eq!(selected(select_of(&body, "aaron")), Some("2"));
    assert_eq!(selected(select_of(&body, "paris")), Some("100000000"));
    // …in the order the voter saw it.
    assert!(body.find("candidate@dims").unwrap() < body.find("candidate@aaron").unwrap());

    // allow_no_opinion: False: "No opinion" and a missing candidate are refused.
    let strict_vote = |fields: &'static [(&'static str, &'static str)]| {
        post_with_token(&app, "/app/elections/strict/vote", fields, ELECTION)
    };
    let resp = strict_vote(&[
        ("candidate@one", "100000000"),
        ("candidate@two", "1"),
        ("password", ""),
    ])
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_contains(
        &resp.text().await.unwrap(),
        "&#34;No opinion&#34; is not allowed in this election: please rank one.",
    );
    let resp = strict_vote(&[("candidate@two", "1"), ("password", "")]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_contains(&resp.text().await.unwrap(), "Please choose a rank for one.");
    let resp = strict_vote(&[
        ("candidate@one", ""),
        ("candidate@two", "1"),
        ("password", ""),
    ])
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // A missing password field is a plain 400 (Elekto).
    let resp = vote(&app, &[("candidate@aaron", "1")]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    assert_eq!(count(app.db(), "ballot").await, 0);
    assert_eq!(count(app.db(), "voter").await, 0);
});

db_test!(checklist_38_short_passphrase_keeps_ranking, |app| {
    app.login_as("dims").await;
    let resp = vote(
        &app,
        &[
            ("candidate@aaron", "1"),
            ("candidate@dims", "2"),
            ("candidate@paris", "2"),
            ("password", "abc12"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body = resp.text().await.unwrap();
    assert_contains(&body, "Please enter a passphrase with minimum 6 characters");
    assert_eq!(selected(select_of(&body, "aaron")), Some("1"));
    assert_eq!(selected(select_of(&body, "dims")), Some("2"));
    assert_eq!(selected(select_of(&body, "paris")), Some("2"));
    assert_lacks(&body, "abc12"); // the passphrase is never echoed

    // Length in code points, as Elekto (5 characters, 10 bytes).
    let resp = vote(&app, &[("candidate@aaron", "1"), ("password", "ééééé")]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // The confirmation must match (#86).
    let resp = vote(
        &app,
        &[
            ("candidate@aaron", "1"),
            ("password", "abcdef"),
            ("password_confirm", "abcdeg"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_contains(
        &resp.text().await.unwrap(),
        "The two passphrases do not match.",
    );

    // #95: a ballot that ranks everyone equally is shown again once, with a checkbox.
    for fields in [
        &[("password", "")][..],
        &[
            ("candidate@aaron", "2"),
            ("candidate@dims", "2"),
            ("candidate@paris", "2"),
            ("password", ""),
        ][..],
    ] {
        let resp = vote(&app, fields).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = resp.text().await.unwrap();
        assert_contains(&body, "name=\"confirm_all_equal\"");
    }
    assert_eq!(count(app.db(), "ballot").await, 0);
    assert_eq!(count(app.db(), "voter").await, 0);
});

db_test!(checklist_41_not_running_or_not_eligible_refused, |app| {
    // 2021---TOC is completed; dims is eligible there.
    app.login_as("dims").await;
    let resp = post_with_token(
        &app,
        "/app/elections/2021---TOC/vote",
        &[("candidate@jberkus", "1"), ("password", "")],
        ELECTION,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_contains(&resp.text().await.unwrap(), "Voting is closed");
    app.get("/logout").await;
    app.login_as("mallory").await;
    let resp = vote(&app, &[("candidate@aaron", "1"), ("password", "")]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_contains(&resp.text().await.unwrap(), "Not Eligible");
    assert_eq!(count(app.db(), "ballot").await, 0);
    assert_eq!(count(app.db(), "voter").await, 0);
});

db_test!(
    checklist_41_upcoming_refused,
    Options::at(time::macros::datetime!(2023-07-01 00:00:00)),
    |app| {
        app.login_as("dims").await;
        let (status, body) = app.page(VOTE).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_contains(&body, "Voting has not started yet");
        let resp = vote(&app, &[("candidate@aaron", "1"), ("password", "")]).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(count(app.db(), "voter").await, 0);
    }
);

// ------------------------------------------------------------------------------------------------
// 42, 43: already voted, confirmation

db_test!(checklist_42_43_already_voted_and_confirmation, |app| {
    app.login_as("dims").await;
    // 43: not voted yet → the confirmation page sends back to the election.
    let resp = app.get("/app/elections/2021---GB/confirmation").await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), ELECTION);

    app.mark_voted("dims", GB).await;
    let body = app.ok_page(VOTE).await;
    assert_contains(&body, "You have already voted");
    assert_contains(
        &body,
        "To re-cast your vote, please visit the election page.",
    );
    assert_lacks(&body, "candidate@");
    let resp = vote(&app, &[("candidate@aaron", "1"), ("password", "")]).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert_contains(&resp.text().await.unwrap(), "You have already voted");
    assert_eq!(count(app.db(), "ballot").await, 0);
    assert_eq!(count(app.db(), "voter").await, 1);

    let body = app.ok_page("/app/elections/2021---GB/confirmation").await;
    assert_contains(&body, &format!("Thank you for voting in {GB_NAME}"));
});

// ------------------------------------------------------------------------------------------------
// 39, 40, 43: what a cast stores

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A hyphenated lowercase uuid4, as Python's `str(uuid.uuid4())`.
fn is_uuid4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && parts.iter().all(|p| is_lower_hex(p))
        && parts[2].starts_with('4')
        && matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b')
}

#[derive(Debug, sqlx::FromRow)]
struct VoterRow {
    user_id: Option<i32>,
    election_id: Option<i32>,
    salt: Option<Vec<u8>>,
    ballot_id: Option<Vec<u8>>,
    created_at: Option<votebox_db::Timestamp>,
    updated_at: Option<votebox_db::Timestamp>,
}

async fn voter_rows(db: &Db) -> Vec<VoterRow> {
    fetch_all(
        db,
        &Query::select()
            .columns([
                "user_id",
                "election_id",
                "salt",
                "ballot_id",
                "created_at",
                "updated_at",
            ])
            .from("voter")
            .to_owned(),
    )
    .await
    .unwrap()
}

async fn ballot_table(db: &Db) -> Vec<(String, Option<i32>, Option<i32>, String, String)> {
    fetch_all(
        db,
        &Query::select()
            .columns(["id", "election_id", "rank", "candidate", "voter"])
            .from("ballot")
            .to_owned(),
    )
    .await
    .unwrap()
}

db_test!(checklist_37_39_form_encoding_and_storage_format, |app| {
    app.login_as("dims").await;
    let resp = vote(
        &app,
        &[
            ("candidate@aaron", "1"),
            ("candidate@dims", "1"),
            ("candidate@paris", "100000000"),
            ("password", "correct horse"),
            ("password_confirm", "correct horse"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), "/app/elections/2021---GB/confirmation");
    let body = app.ok_page("/app/elections/2021---GB/confirmation").await;
    assert_contains(&body, &format!("Thank you for voting in {GB_NAME}"));

    let eid = election_id(&app, GB).await;
    let uid = app.user_id("dims").await;
    let mut ballots = ballot_table(app.db()).await;
    ballots.sort_by(|a, b| a.3.cmp(&b.3));
    assert_eq!(ballots.len(), 3);
    let uuid = ballots[0].4.clone();
    assert!(is_uuid4(&uuid), "{uuid}");
    for (id, election, _, _, voter) in &ballots {
        assert_eq!(id.len(), 32, "{id}");
        assert!(is_lower_hex(id), "{id}");
        assert_eq!(*election, Some(eid.0));
        assert_eq!(*voter, uuid);
    }
    let ranks: Vec<(&str, Option<i32>)> = ballots.iter().map(|b| (b.3.as_str(), b.2)).collect();
    assert_eq!(
        ranks,
        [
            ("aaron", Some(1)),
            ("dims", Some(1)),
            ("paris", Some(NO_OPINION))
        ]
    );

    let voters = voter_rows(app.db()).await;
    assert_eq!(voters.len(), 1);
    let v = &voters[0];
    assert_eq!((v.user_id, v.election_id), (Some(uid.0), Some(eid.0)));
    assert!(v.created_at.is_some() && v.created_at == v.updated_at);
    let salt = v.salt.clone().unwrap();
    let blob = v.ballot_id.clone().unwrap();
    assert_eq!(salt.len(), 16);
    assert_eq!(blob.len(), 76);
    // Elekto's decrypt() (same parameters) opens the link.
    let opened = tokio::task::spawn_blocking(move || {
        votebox_core::crypto::decrypt_link("correct horse", &salt, &blob)
    })
    .await
    .unwrap()
    .expect("the stored link opens with the passphrase");
    assert_eq!(opened, uuid);

    // The election page now offers "View Ballot".
    let body = app.ok_page(ELECTION).await;
    assert_contains(&body, "id=\"voter-status\">Voted<");
    assert_contains(&body, "action=\"/app/elections/2021---GB/vote/view\"");
});

// ------------------------------------------------------------------------------------------------
// 40, 44–46: the journey

db_test!(
    checklist_40_44_45_46_elekto_97_cast_view_revoke_recast,
    |app| {
        app.login_as("liggitt").await;
        // 44: nothing to view yet.
        let resp = post_with_token(&app, VIEW, &[("password", "whatever")], ELECTION).await;
        assert_eq!(resp.status(), StatusCode::FOUND);
        assert_eq!(location(&resp), ELECTION);
        assert_contains(&flashes_on(&app, ELECTION).await, MSG_NOT_VOTED);

        // Cast with a tie (aaron = paris = 1) and a No opinion (dims).
        let pass = "journey passphrase";
        let resp = vote(
            &app,
            &[
                ("candidate@paris", "1"),
                ("candidate@aaron", "1"),
                ("candidate@dims", "100000000"),
                ("password", pass),
                ("password_confirm", pass),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::FOUND);

        // 44/45: view with the passphrase: names, IDs, "No opinion" (#97).
        let resp = post_with_token(&app, VIEW, &[("password", pass)], ELECTION).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let body = resp.text().await.unwrap();
        assert_contains(&body, "<h1>Your Ballot</h1>");
        for (name, id, rank) in [
            ("Aaron Crickenberker", "aaron", "1"),
            ("Paris Pittman", "paris", "1"),
            ("Davanum Srinivas", "dims", "No opinion"),
        ] {
            assert_contains(
                &body,
                &format!(
                    "<tr><td>{name}</td><td><code>{id}</code></td><td class=\"rank\">{rank}</td></tr>"
                ),
            );
        }
        assert_lacks(&body, "100000000");
        assert_contains(&body, "action=\"/app/elections/2021---GB/vote/edit\"");
        assert_contains(&body, "Revoke Ballot");

        // 46: revoke with the passphrase; the rows are gone and voting is possible again.
        let resp = post_with_token(&app, EDIT, &[("password", pass)], ELECTION).await;
        assert_eq!(resp.status(), StatusCode::FOUND);
        assert_eq!(location(&resp), ELECTION);
        let body = app.ok_page(ELECTION).await;
        assert_contains(&body, MSG_REVOKED);
        assert_contains(&body, &format!("href=\"{VOTE}\""));
        assert_eq!(count(app.db(), "ballot").await, 0);
        assert_eq!(count(app.db(), "voter").await, 0);

        // 40: recast without a passphrase: stored with a link nobody can open, marked as such.
        let resp = vote(
            &app,
            &[
                ("candidate@paris", "2"),
                ("candidate@aaron", "1"),
                ("candidate@dims", "3"),
                ("password", ""),
                ("password_confirm", ""),
            ],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::FOUND);
        assert_eq!(count(app.db(), "ballot").await, 3);
        let voters = voter_rows(app.db()).await;
        assert_eq!(voters.len(), 1);
        assert_eq!(voters[0].ballot_id.as_ref().map(Vec::len), Some(76));
        assert_eq!(voters[0].salt.as_deref(), Some(&[0u8; 16][..]));
        // Nothing opens it, and the voter is told why (no KDF runs).
        let resp = post_with_token(&app, VIEW, &[("password", "")], ELECTION).await;
        assert_eq!(resp.status(), StatusCode::FOUND);
        assert_contains(&flashes_on(&app, ELECTION).await, MSG_NO_PASSPHRASE);
        let resp = post_with_token(&app, VIEW, &[("password", "a guess")], ELECTION).await;
        assert_eq!(resp.status(), StatusCode::FOUND);
        assert_contains(&flashes_on(&app, ELECTION).await, MSG_NO_PASSPHRASE);
        let resp = post_with_token(&app, EDIT, &[("password", "")], ELECTION).await;
        assert_eq!(resp.status(), StatusCode::FOUND);
        assert_eq!(count(app.db(), "ballot").await, 3);
    }
);

// ------------------------------------------------------------------------------------------------
// 44: a wrong passphrase, on a ballot sealed by Elekto itself

/// `elekto-exact-random-1` of `shared/fixtures/crypto/vectors.json`: made by Elekto's own
/// `encrypt()` (PyNaCl 1.5.0).
const ELEKTO_PASSPHRASE: &str = "Elekto exact path, random salt+nonce";
const ELEKTO_SALT: &str = "1ce0e9fb8e345c72541f27e40e2e0029";
const ELEKTO_BLOB: &str = "b94ceebc1d9d2ef44c73f49202a94b4e37db4a71ead803b5dde612660f8f3fbba82775e5a2c5cf0a45a298ee50af0c473558a4cb91d64656cf9ed274a3253c793ff0d6eaaa741ac6d520b64d";
const ELEKTO_UUID: &str = "a4929671-d33b-484e-ba69-e7fb232b312e";

async fn insert_ballot_row(db: &Db, election: ElectionId, candidate: &str, rank: i32, voter: &str) {
    let id = format!("{:032x}", rand::random::<u128>());
    let stmt = Query::insert()
        .into_table("ballot")
        .columns(["id", "election_id", "rank", "candidate", "voter"])
        .values_panic([
            id.into(),
            election.into(),
            rank.into(),
            candidate.into(),
            voter.into(),
        ])
        .to_owned();
    exec_stmt(db, &stmt).await.unwrap();
}

async fn seed_elekto_ballot(app: &TestApp, login: &str) {
    let eid = election_id(app, GB).await;
    let uid = app.user_id(login).await;
    let stmt = Query::insert()
        .into_table("voter")
        .columns(["user_id", "election_id", "salt", "ballot_id"])
        .values_panic([
            uid.into(),
            eid.into(),
            hex::decode(ELEKTO_SALT).unwrap().into(),
            hex::decode(ELEKTO_BLOB).unwrap().into(),
        ])
        .to_owned();
    exec_stmt(app.db(), &stmt).await.unwrap();
    for (c, r) in [("aaron", 2), ("dims", 1), ("paris", NO_OPINION)] {
        insert_ballot_row(app.db(), eid, c, r, ELEKTO_UUID).await;
    }
}

db_test!(checklist_44_view_wrong_passphrase, |app| {
    seed_elekto_ballot(&app, "jberkus").await;
    app.login_as("jberkus").await;
    let resp = post_with_token(&app, VIEW, &[("password", "not the passphrase")], ELECTION).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), ELECTION);
    assert_contains(&flashes_on(&app, ELECTION).await, MSG_WRONG);

    // The right passphrase opens Elekto's ballot.
    let resp = post_with_token(&app, VIEW, &[("password", ELEKTO_PASSPHRASE)], ELECTION).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.text().await.unwrap();
    assert_contains(&body, "<td><code>dims</code></td><td class=\"rank\">1</td>");
    assert_contains(
        &body,
        "<td><code>paris</code></td><td class=\"rank\">No opinion</td>",
    );
    // Sorted by rank.
    assert!(body.find("<code>dims</code>").unwrap() < body.find("<code>aaron</code>").unwrap());

    // Missing password field: 400 (Elekto); nothing changes.
    let resp = post_with_token(&app, EDIT, &[], ELECTION).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(count(app.db(), "ballot").await, 3);
    assert_eq!(count(app.db(), "voter").await, 1);
});

// ------------------------------------------------------------------------------------------------
// 47: legacy rows

db_test!(checklist_47_62_legacy_null_salt_cannot_view, |app| {
    // A v1 voter row (NULL salt and ballot_id) and ballots keyed by a Werkzeug hash.
    app.mark_voted("dims", GB).await;
    let eid = election_id(&app, GB).await;
    let legacy = "pbkdf2:sha256:150000$abcdefgh$0123456789abcdef";
    for (c, r) in [("aaron", 1), ("dims", 2), ("paris", 3)] {
        insert_ballot_row(app.db(), eid, c, r, legacy).await;
    }
    app.login_as("dims").await;
    for path in [VIEW, EDIT] {
        let resp = post_with_token(&app, path, &[("password", "any passphrase")], ELECTION).await;
        assert_eq!(resp.status(), StatusCode::FOUND, "{path}");
        assert_eq!(location(&resp), ELECTION);
        assert_contains(&flashes_on(&app, ELECTION).await, MSG_WRONG);
    }
    // 62: legacy checks use up the same passphrase attempts as the KDF ones.
    for _ in 2..votebox_web::PASSPHRASE_ATTEMPTS {
        let resp = post_with_token(&app, VIEW, &[("password", "another guess")], ELECTION).await;
        assert_eq!(resp.status(), StatusCode::FOUND);
    }
    let resp = post_with_token(&app, VIEW, &[("password", "one too many")], ELECTION).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    // Still counted: the rows are there for results and the CSV.
    assert_eq!(count(app.db(), "voter").await, 1);
    let rows = ballots::all_for_election(app.db(), eid).await.unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|(v, _, _)| v == legacy));
});

// ------------------------------------------------------------------------------------------------
// 48, 49: exception requests

const EXC: &str = "/app/elections/2021---GB/exception";

fn exception_fields(name: &str) -> Vec<(&str, &str)> {
    vec![
        ("name", name),
        ("email", "mallory@example.org"),
        ("chat", "@mallory"),
        ("description", "Docs and reviews"),
        ("comments", ""),
    ]
}

db_test!(checklist_48_exception_flow, |app| {
    app.login_as("mallory").await;
    let body = app.ok_page(EXC).await;
    assert_contains(&body, &format!("Voter Exception form for {GB_NAME}"));
    assert_contains(&body, "If you are a member of the steering committee");
    for field in [
        "name=\"name\"",
        "name=\"email\"",
        "name=\"chat\"",
        "name=\"description\"",
        "name=\"comments\"",
        "placeholder=\"List of contributions\"",
    ] {
        assert_contains(&body, field);
    }

    // A missing field: 400, the form kept.
    let resp = post_with_token(
        &app,
        EXC,
        &[
            ("name", "Mallory M"),
            ("email", "m@example.org"),
            ("chat", "@m"),
            ("comments", ""),
        ],
        EXC,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body = resp.text().await.unwrap();
    assert_contains(&body, "The field Contributions is missing.");
    assert_contains(&body, "value=\"Mallory M\"");
    // Too long for VARCHAR(255).
    let long = "x".repeat(256);
    let resp = post_with_token(&app, EXC, &exception_fields(&long), EXC).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_contains(
        &resp.text().await.unwrap(),
        "Name is too long: at most 255 characters.",
    );
    assert_eq!(count(app.db(), "request").await, 0);

    // Accepted.
    let name = "Mallory Ångström 🗳";
    let resp = post_with_token(&app, EXC, &exception_fields(name), EXC).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), ELECTION);
    assert_contains(
        &flashes_on(&app, ELECTION).await,
        "Request successfully submitted.",
    );
    let eid = election_id(&app, GB).await;
    let uid = app.user_id("mallory").await;
    let rows = votebox_db::requests::list_for_election(app.db(), eid)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.user_id, Some(uid));
    assert_eq!(r.name.as_deref(), Some(name));
    assert_eq!(r.email.as_deref(), Some("mallory@example.org"));
    assert_eq!(r.chat.as_deref(), Some("@mallory"));
    assert_eq!(r.description.as_deref(), Some("Docs and reviews"));
    assert_eq!(r.comments.as_deref(), Some(""));
    assert_eq!(r.reviewed, Some(false));
    assert!(r.created_at.is_some());

    // A second request in the same election.
    let body = app.ok_page(EXC).await;
    assert_contains(&body, "You have already requested an exception.");
    let resp = post_with_token(&app, EXC, &exception_fields(name), ELECTION).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert_eq!(count(app.db(), "request").await, 1);
    // …but another election is separate (name_the_app, open until 2023-08-19).
    let resp = post_with_token(
        &app,
        "/app/elections/name_the_app/exception",
        &exception_fields(name),
        ELECTION,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(count(app.db(), "request").await, 2);

    // After exception_due (xss: defaults to its start, 2023-08-05).
    let resp = app.get("/app/elections/xss/exception").await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), "/app/elections/xss");
    assert_contains(
        &flashes_on(&app, "/app/elections/xss").await,
        "Not accepting any exception request.",
    );
    let resp = post_with_token(
        &app,
        "/app/elections/xss/exception",
        &exception_fields(name),
        ELECTION,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(count(app.db(), "request").await, 2);

    // Already eligible.
    app.get("/logout").await;
    app.login_as("dims").await;
    let resp = app.get(EXC).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_contains(
        &flashes_on(&app, ELECTION).await,
        "You are already eligible to vote in the election.",
    );
    let resp = post_with_token(&app, EXC, &exception_fields("Dims"), ELECTION).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(count(app.db(), "request").await, 2);
});

/// Files an exception request for `login` in `key` through the database API.
async fn file_request(app: &TestApp, login: &str, key: &str, name: &str) -> votebox_db::RequestId {
    let uid = app.user_id(login).await;
    let eid = election_id(app, key).await;
    let form = votebox_db::requests::NewRequest {
        name,
        email: "someone@example.org",
        chat: "@someone",
        description: "contributions <b>bold</b>",
        comments: "a comment",
    };
    match votebox_db::requests::create(app.db(), uid, login, eid, &form)
        .await
        .unwrap()
    {
        votebox_db::requests::CreateOutcome::Created(id) => id,
        other => panic!("{other:?}"),
    }
}

async fn reviewed(app: &TestApp, key: &str, rid: votebox_db::RequestId) -> bool {
    let eid = election_id(app, key).await;
    votebox_db::requests::get_in_election(app.db(), eid, rid)
        .await
        .unwrap()
        .unwrap()
        .is_reviewed()
}

db_test!(checklist_49_review_scoped_to_election, |app| {
    let r_gb = file_request(&app, "mallory", GB, "Mallory GB").await;
    let r_app = file_request(&app, "mallory", "name_the_app", "Mallory App").await;
    let gb_review = format!("/app/elections/2021---GB/admin/exception/{r_gb}");

    // mrbobbytables: officer of 2021---GB only.
    app.login_as("mrbobbytables").await;
    let body = app.ok_page("/app/elections/2021---GB/admin/").await;
    assert_contains(&body, "Exception Requests");
    assert_contains(&body, &format!("href=\"{gb_review}\">Mallory GB</a>"));
    assert_contains(&body, "someone@example.org");
    assert_contains(&body, "@someone");
    assert_contains(&body, "Not Reviewed");
    assert_contains(&body, "Filed on ");
    assert_lacks(&body, "Mallory App");

    let body = app.ok_page(&gb_review).await;
    assert_contains(&body, "Exception Request for Mallory GB");
    assert_contains(&body, "Filed by <strong>mallory</strong> on ");
    assert_contains(&body, "contributions &#60;b&#62;bold&#60;/b&#62;");
    assert_contains(&body, "a comment");
    assert_contains(&body, "Mark as reviewed");

    // A request of another election, through this election's URL: 404.
    let (status, _) = app
        .page(&format!("/app/elections/2021---GB/admin/exception/{r_app}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Through its own election's URL: not an officer there, 403.
    let (status, body) = app
        .page(&format!(
            "/app/elections/name_the_app/admin/exception/{r_app}"
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_contains(&body, "You are not an Election officer");
    for rid in ["999999", "abc", "-1"] {
        let (status, _) = app
            .page(&format!("/app/elections/2021---GB/admin/exception/{rid}"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{rid}");
    }

    // Toggle (CSRF) → 200 with the page; twice → back.
    let resp = post_with_token(&app, &gb_review, &[], &gb_review).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_contains(&resp.text().await.unwrap(), ">Reviewed<");
    assert!(reviewed(&app, GB, r_gb).await);
    let body = app.ok_page("/app/elections/2021---GB/admin/").await;
    assert_contains(&body, ">Reviewed<");
    let resp = post_with_token(&app, &gb_review, &[], &gb_review).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(!reviewed(&app, GB, r_gb).await);
    // Toggling the other election's request through this election: 404, unchanged.
    let resp = post_with_token(
        &app,
        &format!("/app/elections/2021---GB/admin/exception/{r_app}"),
        &[],
        &gb_review,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(!reviewed(&app, "name_the_app", r_app).await);
    // Without a CSRF token: 400, unchanged.
    let resp = app.post_form(&gb_review, &[]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(!reviewed(&app, GB, r_gb).await);

    // kalkayan, officer of both, sees the other election's request in its own dashboard.
    app.get("/logout").await;
    app.login_as("kalkayan").await;
    let body = app.ok_page("/app/elections/name_the_app/admin/").await;
    assert_contains(&body, "Mallory App");
    assert_lacks(&body, "Mallory GB");
});

// ------------------------------------------------------------------------------------------------
// 60: CSRF

db_test!(checklist_60_csrf_missing_token_400_no_write, |app| {
    app.login_as("dims").await;
    app.ok_page(ELECTION).await; // the session has a token; the forms below do not send it
    let ballot = [
        ("candidate@aaron", "1"),
        ("candidate@dims", "2"),
        ("candidate@paris", "3"),
        ("password", ""),
    ];
    for (path, fields) in [
        (VOTE, &ballot[..]),
        (VIEW, &[("password", "x")][..]),
        (EDIT, &[("password", "x")][..]),
    ] {
        let resp = app.post_form(path, fields).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{path}");
        assert_contains(&resp.text().await.unwrap(), "CSRF Error");
        let mut forged = fields.to_vec();
        forged.push(("csrf_token", "forged"));
        let resp = app.post_form(path, &forged).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{path}");
    }
    // A cross-site browser POST with the right token.
    let token = app.csrf_token(ELECTION).await;
    let mut fields = ballot.to_vec();
    fields.push(("csrf_token", &token));
    let resp = app
        .client
        .post(app.url(VOTE))
        .header("sec-fetch-site", "cross-site")
        .header("origin", "https://evil.example")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(count(app.db(), "ballot").await, 0);
    assert_eq!(count(app.db(), "voter").await, 0);

    app.get("/logout").await;
    app.login_as("mallory").await;
    app.ok_page(EXC).await;
    let resp = app.post_form(EXC, &exception_fields("Mallory")).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(count(app.db(), "request").await, 0);
});

// ------------------------------------------------------------------------------------------------
// 61: authorization matrix

/// A browser of its own (cookie jar), logged in as `login` through the demo login, or anonymous.
struct Browser {
    client: reqwest::Client,
    base: String,
}

impl Browser {
    async fn new(app: &TestApp, login: Option<&str>) -> Browser {
        let client = reqwest::Client::builder()
            .cookie_provider(Arc::new(Jar::default()))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let b = Browser {
            client,
            base: app.base.clone(),
        };
        if let Some(login) = login {
            let token = b.token("/login").await;
            let resp = b
                .client
                .post(format!("{}/demo/login", b.base))
                .form(&[("csrf_token", token.as_str()), ("login", login)])
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::FOUND, "login {login}");
        }
        b
    }

    /// This session's CSRF token (any page with a form; anonymous: the login page).
    async fn token(&self, page: &str) -> String {
        let body = self
            .client
            .get(format!("{}{page}", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        extract_csrf(&body).unwrap_or_default()
    }

    async fn get(&self, path: &str) -> (StatusCode, String, String) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let loc = location(&resp);
        (status, loc, resp.text().await.unwrap())
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String, String) {
        let token = self.token("/app").await;
        let token = if token.is_empty() {
            self.token("/login").await
        } else {
            token
        };
        let mut form = vec![("csrf_token", token.as_str())];
        form.extend_from_slice(fields);
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let loc = location(&resp);
        (status, loc, resp.text().await.unwrap())
    }
}

/// (method, path, form, expectations per role).
type Row<'a> = (&'a str, String, &'a [(&'a str, &'a str)], [Expect; 5]);

/// What a request may answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Login,
    /// 302 to the election page.
    Back,
    Status(u16),
}

db_test!(checklist_61_authorization_matrix, |app| {
    use Expect::{Back, Login, Status};
    let rid = file_request(&app, "eve", GB, "Eve").await;
    let review = format!("/app/elections/2021---GB/admin/exception/{rid}");
    let roles = [
        "anonymous",
        "mallory",
        "dims",
        "kalkayan",
        "Mallory-Officer",
    ];
    let mut browsers = Vec::new();
    for role in roles {
        let login = (role != "anonymous").then_some(role);
        browsers.push(Browser::new(&app, login).await);
    }
    // A ballot that passes every check but the passphrase length (so no KDF ever runs here).
    let short_pass = [("candidate@aaron", "1"), ("password", "abc")];
    let no_fields: [(&str, &str); 0] = [];
    // (method, path, form, expectations per role in `roles` order)
    let matrix: Vec<Row> = vec![
        (
            "GET",
            VOTE.to_owned(),
            &no_fields,
            [Login, Status(403), Status(200), Status(403), Status(403)],
        ),
        (
            "POST",
            VOTE.to_owned(),
            &short_pass,
            [Login, Status(403), Status(400), Status(403), Status(403)],
        ),
        (
            "POST",
            VIEW.to_owned(),
            &[("password", "x")],
            [Login, Status(403), Back, Status(403), Status(403)],
        ),
        (
            "POST",
            EDIT.to_owned(),
            &[("password", "x")],
            [Login, Status(403), Back, Status(403), Status(403)],
        ),
        (
            "GET",
            "/app/elections/2021---GB/confirmation".to_owned(),
            &no_fields,
            [Login, Back, Back, Back, Back],
        ),
        (
            "GET",
            EXC.to_owned(),
            &no_fields,
            [Login, Status(200), Back, Status(200), Status(200)],
        ),
        (
            "POST",
            EXC.to_owned(),
            &[("name", "x")],
            [Login, Status(400), Back, Status(400), Status(400)],
        ),
        (
            "GET",
            "/app/elections/2021---GB/admin/".to_owned(),
            &no_fields,
            [Login, Status(403), Status(403), Status(200), Status(403)],
        ),
        (
            "GET",
            review.clone(),
            &no_fields,
            [Login, Status(403), Status(403), Status(200), Status(403)],
        ),
        (
            "POST",
            review.clone(),
            &no_fields,
            [Login, Status(403), Status(403), Status(200), Status(403)],
        ),
    ];
    for (method, path, form, expectations) in &matrix {
        for ((role, browser), expect) in roles.iter().zip(&browsers).zip(expectations) {
            let (status, loc, body) = if *method == "GET" {
                browser.get(path).await
            } else {
                browser.post(path, form).await
            };
            let ctx = format!("{method} {path} as {role}: {status} {loc}\n{body}");
            match expect {
                Login => {
                    assert_eq!(status, StatusCode::FOUND, "{ctx}");
                    assert!(loc.starts_with("/login?r="), "{ctx}");
                }
                Back => {
                    assert_eq!(status, StatusCode::FOUND, "{ctx}");
                    assert_eq!(loc, ELECTION, "{ctx}");
                }
                Status(code) => assert_eq!(status.as_u16(), *code, "{ctx}"),
            }
            // Anything refused shows a message, never someone else's data.
            if matches!(expect, Status(403)) {
                assert!(
                    body.contains("Not Eligible")
                        || body.contains("You are not an Election officer"),
                    "{ctx}"
                );
                assert_lacks(&body, "someone@example.org");
            }
        }
    }
    // Nothing was cast; the one toggle (kalkayan's) is the only write.
    assert_eq!(count(app.db(), "voter").await, 0);
    assert_eq!(count(app.db(), "ballot").await, 0);
    assert_eq!(count(app.db(), "request").await, 1);
    assert!(reviewed(&app, GB, rid).await);
});

// ------------------------------------------------------------------------------------------------
// 41/62: concurrency and the KDF bound

db_test!(checklist_41_double_submit_casts_once, |app| {
    app.login_as("cblecker").await;
    let token = app.csrf_token(ELECTION).await;
    let fields = [
        ("csrf_token", token.as_str()),
        ("candidate@aaron", "1"),
        ("candidate@dims", "2"),
        ("candidate@paris", "3"),
        ("password", "double submit"),
    ];
    let (a, b) = tokio::join!(app.post_form(VOTE, &fields), app.post_form(VOTE, &fields));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses[0], 302, "{statuses:?}");
    assert!(matches!(statuses[1], 409 | 429), "{statuses:?}");
    assert_eq!(count(app.db(), "voter").await, 1);
    assert_eq!(count(app.db(), "ballot").await, 3);
});

// ------------------------------------------------------------------------------------------------
// Secrecy: nothing a database holder reads links a ballot to a voter

/// Every table's name.
async fn table_names(db: &Db) -> Vec<String> {
    let rows: Vec<(String,)> = match db {
        Db::Lite(p) => sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(p)
            .await
            .unwrap(),
        Db::Pg(p) => sqlx::query_as(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
        )
        .fetch_all(p)
        .await
        .unwrap(),
        Db::My(p) => sqlx::query_as(
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE()",
        )
        .fetch_all(p)
        .await
        .unwrap(),
    };
    rows.into_iter().map(|(n,)| n).collect()
}

/// Every (column, text) of every row of `table`: text columns as they are, binary columns as
/// lowercase hex and as lossy UTF-8; other types are skipped.
macro_rules! scan_rows {
    ($pool:expr, $sql:expr) => {{
        use sqlx::{Column as _, Row as _};
        let rows = sqlx::query(sqlx::AssertSqlSafe($sql))
            .fetch_all($pool)
            .await
            .unwrap();
        let mut out = Vec::new();
        for row in &rows {
            for (i, col) in row.columns().iter().enumerate() {
                let name = col.name().to_owned();
                if let Ok(Some(s)) = row.try_get::<Option<String>, _>(i) {
                    out.push((name, s));
                } else if let Ok(Some(b)) = row.try_get::<Option<Vec<u8>>, _>(i) {
                    out.push((name.clone(), hex::encode(&b)));
                    out.push((name, String::from_utf8_lossy(&b).into_owned()));
                }
            }
        }
        out
    }};
}

async fn scan_table(db: &Db, table: &str) -> Vec<(String, String)> {
    match db {
        Db::Lite(p) => scan_rows!(p, format!("SELECT * FROM \"{table}\"")),
        Db::Pg(p) => scan_rows!(p, format!("SELECT * FROM \"{table}\"")),
        Db::My(p) => scan_rows!(p, format!("SELECT * FROM `{table}`")),
    }
}

async fn column_names(db: &Db, table: &str) -> Vec<String> {
    let mut names: Vec<String> = match db {
        Db::Lite(p) => sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(format!(
            "SELECT name FROM pragma_table_info('{table}')"
        )))
        .fetch_all(p)
        .await
        .unwrap(),
        Db::Pg(p) => sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(format!(
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '{table}'"
        )))
        .fetch_all(p)
        .await
        .unwrap(),
        Db::My(p) => sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(format!(
            "SELECT CAST(column_name AS CHAR) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '{table}'"
        )))
        .fetch_all(p)
        .await
        .unwrap(),
    }
    .into_iter()
    .map(|(n,)| n)
    .collect();
    names.sort();
    names
}

db_test!(ballot_secrecy_no_link_in_any_table, |app| {
    // Three voters through the web, at once (the KDF semaphore queues them)…
    let voters = ["dims", "liggitt", "nikhita"];
    let mut browsers = Vec::new();
    for v in voters {
        browsers.push(Browser::new(&app, Some(v)).await);
    }
    let casts = browsers.iter().enumerate().map(|(i, b)| async move {
        let pass = format!("secret passphrase {i}");
        let rank = (i + 1).to_string();
        b.post(
            VOTE,
            &[
                ("candidate@aaron", rank.as_str()),
                ("candidate@dims", "2"),
                ("candidate@paris", "100000000"),
                ("password", pass.as_str()),
            ],
        )
        .await
    });
    for (status, loc, body) in futures_join_all(casts).await {
        assert_eq!(status, StatusCode::FOUND, "{loc} {body}");
    }
    // …and 27 more through the same database function, one after the other (known order).
    let eid = election_id(&app, GB).await;
    let mut order: Vec<String> = Vec::new();
    for i in 0..27 {
        let login = format!("bulk-voter-{i}");
        let uid = app.user_id(&login).await;
        let uuid = ballots::new_ballot_voter();
        let rows = vec![
            ("aaron".to_owned(), 1),
            ("dims".to_owned(), 2),
            ("paris".to_owned(), 3),
        ];
        let salt = votebox_core::crypto::random_salt();
        let blob: Vec<u8> = (0..76).map(|_| rand::random::<u8>()).collect();
        ballots::cast(
            app.db(),
            &ballots::NewBallot {
                election_id: eid,
                user_id: uid,
                login: &login,
                rows: &rows,
                ballot_voter: &uuid,
                salt: &salt,
                sealed_ballot_voter: &blob,
            },
        )
        .await
        .unwrap();
        order.push(uuid);
    }
    assert_eq!(count(app.db(), "voter").await, 30);
    assert_eq!(count(app.db(), "ballot").await, 90);

    // The ballot table carries no timestamps and nothing but Elekto's five columns.
    assert_eq!(
        column_names(app.db(), "ballot").await,
        ["candidate", "election_id", "id", "rank", "voter"]
    );
    assert_eq!(
        column_names(app.db(), "voter").await,
        [
            "ballot_id",
            "created_at",
            "election_id",
            "id",
            "salt",
            "updated_at",
            "user_id"
        ]
    );

    // No ballot uuid or ballot id appears anywhere outside the ballot table (in text, hex or raw
    // bytes): the only link is the encrypted voter.ballot_id.
    let ballot_rows = ballot_table(app.db()).await;
    let mut secrets: Vec<String> = Vec::new();
    for (id, _, _, _, voter) in &ballot_rows {
        secrets.push(id.clone());
        secrets.push(voter.clone());
        secrets.push(voter.replace('-', ""));
        secrets.push(hex::encode(voter.as_bytes()));
    }
    secrets.sort();
    secrets.dedup();
    let tables = table_names(app.db()).await;
    for t in [
        "ballot",
        "voter",
        "user",
        "election",
        "request",
        "schema_version",
    ] {
        assert!(tables.iter().any(|x| x == t), "{t} missing from {tables:?}");
    }
    // The scan does read text and binary columns.
    assert!(
        scan_table(app.db(), "user")
            .await
            .iter()
            .any(|(c, v)| c == "username" && v == "dims")
    );
    assert!(
        scan_table(app.db(), "voter")
            .await
            .iter()
            .any(|(c, v)| c == "ballot_id" && v.len() == 152 && is_lower_hex(v))
    );
    for table in tables.iter().filter(|t| *t != "ballot") {
        for (column, value) in scan_table(app.db(), table).await {
            for s in &secrets {
                assert!(
                    !value.contains(s.as_str()),
                    "{table}.{column} contains ballot data {s}"
                );
            }
        }
    }

    // Storage order: on SQLite the ballot rowids and voter ids are random, so neither follows
    // voting order (chance of 27 in order by luck: 1/27!). MySQL clusters by the random ballot
    // id; PostgreSQL's heap order does follow insertion (docs/security.md).
    if app.engine == Engine::Sqlite {
        let Db::Lite(pool) = app.db() else {
            unreachable!()
        };
        let rows: Vec<(i64, String)> = sqlx::query_as("SELECT rowid, voter FROM ballot")
            .fetch_all(pool)
            .await
            .unwrap();
        let rowid_of = |uuid: &str| {
            rows.iter()
                .filter(|(_, v)| v == uuid)
                .map(|(r, _)| *r)
                .min()
                .unwrap()
        };
        let rowids: Vec<i64> = order.iter().map(|u| rowid_of(u)).collect();
        assert!(
            rowids.windows(2).any(|w| w[0] > w[1]),
            "ballot rowids follow voting order"
        );
        let vids: Vec<(i64,)> = sqlx::query_as("SELECT id FROM voter ORDER BY user_id")
            .fetch_all(pool)
            .await
            .unwrap();
        assert!(
            vids.windows(2).any(|w| w[0].0 > w[1].0),
            "voter ids follow voting order"
        );
    }
    if app.engine != Engine::Postgres {
        let scan: Vec<(String,)> = fetch_all(
            app.db(),
            &Query::select()
                .column("voter")
                .from("ballot")
                .and_where(Expr::col("election_id").eq(eid))
                .to_owned(),
        )
        .await
        .unwrap();
        let mut seen: Vec<usize> = Vec::new();
        for (v,) in &scan {
            if let Some(p) = order.iter().position(|u| u == v)
                && !seen.contains(&p)
            {
                seen.push(p);
            }
        }
        assert!(
            seen.windows(2).any(|w| w[0] > w[1]),
            "ballots come back in voting order"
        );
    }
});

/// `futures::future::join_all` without the dependency.
async fn futures_join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let handles: Vec<_> = futures.into_iter().collect();
    let mut out = Vec::with_capacity(handles.len());
    // Poll them concurrently through a local set of pinned futures.
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = handles.into_iter().map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if results[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => results[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.extend(results.into_iter().map(|r| r.expect("ready")));
    out
}
