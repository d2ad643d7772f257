//! Ballot secrecy through the real server (issue 12 items 2 and 4): ballots cast with the web
//! form are mixed by the secrecy timer's round once the window has passed, still open with their
//! passphrases afterwards and are all counted; at the end of a `delete_after` election the round
//! (no meta sync needed) erases the voter→ballot links. The file-level checks are in
//! `votebox-db/tests/secrecy.rs`.

use reqwest::StatusCode;
use time::Duration;
use votebox_db::ballot_mixing;
use votebox_db::testing::fetch_all;
use votebox_db::testing::sea_query::{Expr, ExprTrait, Query};

use crate::harness::{DEFAULT_NOW, Options, TestApp, db_test};

const KEY: &str = "secret";
const VOTE: &str = "/app/elections/secret/vote";
const VIEW: &str = "/app/elections/secret/vote/view";
const ELECTION: &str = "/app/elections/secret";

/// Running at `DEFAULT_NOW` (2023-08-10 12:00), ends 2023-08-20, `delete_after: True`.
fn secret_election() -> Options {
    Options::default()
        .with_file(
            "elections/secret/election.yaml",
            "name: Secret Election\norganization: Org\nstart_datetime: 2023-08-01 00:00:00\n\
             end_datetime: 2023-08-20 00:00:00\nno_winners: 1\nallow_no_opinion: True\n\
             delete_after: True\nshow_candidate_fields:\nelection_officers:\n  - kalkayan\n",
        )
        .with_file(
            "elections/secret/voters.yaml",
            "eligible_voters:\n  - dims\n  - liggitt\n",
        )
        .with_file(
            "elections/secret/candidate-one.md",
            "---\nname: One\nID: one\n---\n",
        )
        .with_file(
            "elections/secret/candidate-two.md",
            "---\nname: Two\nID: two\n---\n",
        )
}

async fn post_with_token(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let token = app.csrf_token(ELECTION).await;
    let mut form: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
    form.extend_from_slice(fields);
    app.post_form(path, &form).await
}

/// The ballot page of the signed-in user, or the status and body of the refusal.
async fn view(app: &TestApp, pass: &str) -> (StatusCode, String) {
    let resp = post_with_token(app, VIEW, &[("password", pass)]).await;
    let status = resp.status();
    (status, resp.text().await.unwrap())
}

/// Signs in as `login`, ending the previous session first.
async fn switch_to(app: &TestApp, login: &str) {
    let resp = app.get("/logout").await;
    assert!(resp.status().is_redirection(), "logout: {}", resp.status());
    app.login_as(login).await;
}

async fn election_id(app: &TestApp) -> votebox_db::ElectionId {
    votebox_db::elections::find_by_key(app.db(), KEY)
        .await
        .unwrap()
        .unwrap()
        .id
}

db_test!(
    mixed_ballots_still_open_and_count,
    secret_election(),
    |app| {
        // Two votes through the web form, opposite rankings.
        let votes = [
            ("dims", "dims passphrase", "1", "2"),
            ("liggitt", "liggitt passphrase", "2", "1"),
        ];
        for (login, pass, one, two) in votes {
            switch_to(&app, login).await;
            let resp = post_with_token(
                &app,
                VOTE,
                &[
                    ("candidate@one", one),
                    ("candidate@two", two),
                    ("password", pass),
                    ("password_confirm", pass),
                ],
            )
            .await;
            assert_eq!(resp.status(), StatusCode::FOUND, "{login}");
        }
        let eid = election_id(&app).await;
        let ballots_before = votebox_db::ballots::all_for_election(app.db(), eid)
            .await
            .unwrap();
        assert_eq!(ballots_before.len(), 4);
        let pending = ballot_mixing::pending(app.db()).await.unwrap();
        assert_eq!(pending.iter().map(|(e, _)| *e).collect::<Vec<_>>(), [eid]);

        // The voter rows keep the cast day only.
        let stamps: Vec<(Option<votebox_db::Timestamp>, Option<votebox_db::Timestamp>)> =
            fetch_all(
                app.db(),
                &Query::select()
                    .columns(["created_at", "updated_at"])
                    .from("voter")
                    .and_where(Expr::col("election_id").eq(eid))
                    .to_owned(),
            )
            .await
            .unwrap();
        assert_eq!(stamps.len(), 2);
        for (created, updated) in stamps {
            let created = created.unwrap();
            assert_eq!(created.time(), time::Time::MIDNIGHT, "{created}");
            assert_eq!(updated, Some(created));
        }

        // The window passes; the timer's round mixes.
        app.set_now(DEFAULT_NOW + Duration::seconds(31));
        app.state.secrecy_round().await;
        assert!(ballot_mixing::pending(app.db()).await.unwrap().is_empty());
        assert_eq!(
            votebox_db::ballots::all_for_election(app.db(), eid)
                .await
                .unwrap(),
            ballots_before,
            "same ballots, all counted"
        );

        // Every ballot still opens with its passphrase.
        for (login, pass, one, two) in votes {
            switch_to(&app, login).await;
            let (status, body) = view(&app, pass).await;
            assert_eq!(status, StatusCode::OK, "{login}: {body}");
            assert!(body.contains("<h1>Your Ballot</h1>"), "{body}");
            for (id, rank) in [("one", one), ("two", two)] {
                assert!(
                    body.contains(&format!(
                        "<td><code>{id}</code></td><td class=\"rank\">{rank}</td>"
                    )),
                    "{login}: {id} ranked {rank} in:\n{body}"
                );
            }
        }

        // The election ends: the next round concludes it without any meta sync.
        assert!(
            !votebox_db::conclusion::is_concluded(app.db(), eid)
                .await
                .unwrap()
        );
        app.set_now(time::macros::datetime!(2023-08-21 00:00:00));
        app.state.secrecy_round().await;
        assert!(
            votebox_db::conclusion::is_concluded(app.db(), eid)
                .await
                .unwrap()
        );
        assert_eq!(
            votebox_db::conclusion::remaining_links(app.db(), eid)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            votebox_db::ballots::all_for_election(app.db(), eid)
                .await
                .unwrap(),
            ballots_before,
            "ballots kept for the results"
        );
        // A second round (or instance) changes nothing.
        app.state.secrecy_round().await;
        assert_eq!(
            votebox_db::ballots::all_for_election(app.db(), eid)
                .await
                .unwrap()
                .len(),
            4
        );
    }
);
