//! The trust promises (issue "One eligible login, one vote"), on all three engines:
//! one ballot and one exception request per eligible login across GitHub renames, a ballot cast
//! without a passphrase sealed with a random secret, and the deadline checked again at the
//! moment of writing.

use reqwest::StatusCode;
use time::macros::datetime;
use votebox_db::Db;
use votebox_db::testing::fetch_all;
use votebox_db::testing::sea_query::{Asterisk, Expr, ExprTrait, Query};

use crate::fake_github::FakeUser;
use crate::harness::{Options, TestApp, db_test, extract_csrf, location};

const ELECTION: &str = "/app/elections/once";
const VOTE: &str = "/app/elections/once/vote";
const EDIT: &str = "/app/elections/once/vote/edit";
const EXCEPTION: &str = "/app/elections/once/exception";
/// `once` runs from 2023-08-01 to 2023-08-30; the harness clock starts at 2023-08-10.
const AFTER_END: time::PrimitiveDateTime = datetime!(2023-08-30 00:00:01);

/// An election whose voters are `dave` and `erin`; exceptions may be requested until 2023-08-20.
fn once() -> Options {
    Options::github()
        .with_file(
            "elections/once/election.yaml",
            "name: Once\norganization: Trust Org\nstart_datetime: 2023-08-01 00:00:00\n\
             end_datetime: 2023-08-30 00:00:00\nexception_due: 2023-08-20 00:00:00\n\
             no_winners: 1\nallow_no_opinion: True\nelection_officers:\n  - olivia\n",
        )
        .with_file(
            "elections/once/voters.yaml",
            "eligible_voters:\n  - dave\n  - erin\n",
        )
        .with_file(
            "elections/once/candidate-one.md",
            "---\nname: One\nID: one\n---\n",
        )
        .with_file(
            "elections/once/candidate-two.md",
            "---\nname: Two\nID: two\n---\n",
        )
}

/// A browser of its own (no cookies): the next sign-in starts from scratch.
fn new_session(app: &mut TestApp) {
    app.jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    app.client = reqwest::Client::builder()
        .cookie_provider(app.jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
}

fn account(id: i64, login: &str) -> FakeUser {
    FakeUser {
        id,
        login: login.to_owned(),
        name: None,
    }
}

async fn count(db: &Db, table: &'static str) -> i64 {
    let stmt = Query::select()
        .expr(Expr::col(Asterisk).count())
        .from(table)
        .to_owned();
    let rows: Vec<(i64,)> = fetch_all(db, &stmt).await.unwrap();
    rows[0].0
}

/// POSTs `fields` to `path` with the CSRF token of `token_page`.
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

async fn cast(app: &TestApp, password: &str) -> reqwest::Response {
    post(
        app,
        VOTE,
        ELECTION,
        &[
            ("candidate@one", "1"),
            ("candidate@two", "2"),
            ("password", password),
        ],
    )
    .await
}

db_test!(one_ballot_per_login_across_renames, once(), |app| {
    let mut app = app;
    // Account A, login `dave`, votes.
    let a = account(9101, "dave");
    app.login_via_github_as(a.clone(), "").await;
    let resp = cast(&app, "correct horse battery").await;
    assert_eq!(
        resp.status(),
        StatusCode::FOUND,
        "{}",
        resp.text().await.unwrap()
    );
    assert_eq!(location(&resp), "/app/elections/once/confirmation");
    assert_eq!(count(app.db(), "voter").await, 1);
    assert_eq!(count(app.db(), "ballot").await, 2);

    // A renames itself to `dave2`: not a voter of this election.
    new_session(&mut app);
    app.login_via_github_as(account(9101, "dave2"), "").await;
    let (status, body) = app.page(VOTE).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("Not Eligible"), "{body}");

    // Account B takes the login (in another case): `dave` has voted already.
    new_session(&mut app);
    app.login_via_github_as(account(9102, "Dave"), "").await;
    let (status, body) = app.page(VOTE).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("You have already voted"), "{body}");
    let resp = cast(&app, "another passphrase").await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("You have already voted")
    );
    assert_eq!(count(app.db(), "voter").await, 1, "no new voter row");
    assert_eq!(count(app.db(), "ballot").await, 2, "no new ballot");

    // The other voter is not affected.
    new_session(&mut app);
    app.login_via_github_as(account(9103, "erin"), "").await;
    assert_eq!(cast(&app, "").await.status(), StatusCode::FOUND);
    assert_eq!(count(app.db(), "voter").await, 2);
});

db_test!(
    concurrent_casts_under_one_login_store_one_ballot,
    once(),
    |app| {
        let mut app = app;
        // Session A: account 9201 signs in as `dave`. Session B: account 9202 takes the login
        // `dave` (9201 renamed itself). Both sessions now say `dave`, and they cast at once.
        app.login_via_github_as(account(9201, "dave"), "").await;
        let token_a = extract_csrf(&app.ok_page(ELECTION).await).unwrap();
        let client_a = app.client.clone();
        new_session(&mut app);
        app.login_via_github_as(account(9202, "dave"), "").await;
        let token_b = extract_csrf(&app.ok_page(ELECTION).await).unwrap();
        let fields = |t: &str| {
            vec![
                ("csrf_token".to_owned(), t.to_owned()),
                ("candidate@one".to_owned(), "1".to_owned()),
                ("candidate@two".to_owned(), "2".to_owned()),
                ("password".to_owned(), "correct horse battery".to_owned()),
            ]
        };
        let (ra, rb) = tokio::join!(
            client_a.post(app.url(VOTE)).form(&fields(&token_a)).send(),
            app.client
                .post(app.url(VOTE))
                .form(&fields(&token_b))
                .send(),
        );
        let mut statuses = [ra.unwrap().status(), rb.unwrap().status()];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::FOUND, StatusCode::CONFLICT]);
        assert_eq!(count(app.db(), "voter").await, 1);
        assert_eq!(count(app.db(), "ballot").await, 2);
    }
);

db_test!(
    one_exception_request_per_login_across_renames,
    once(),
    |app| {
        let mut app = app;
        let fields = [
            ("name", "Frank"),
            ("email", "frank@example.org"),
            ("chat", "@frank"),
            ("description", "Docs and reviews"),
            ("comments", ""),
        ];
        // Account A, login `frank` (not a voter), requests an exception.
        app.login_via_github_as(account(9301, "frank"), "").await;
        let resp = post(&app, EXCEPTION, EXCEPTION, &fields).await;
        assert_eq!(resp.status(), StatusCode::FOUND);
        assert_eq!(count(app.db(), "request").await, 1);

        // A renames itself; B takes `frank`: already requested, no new request row.
        new_session(&mut app);
        app.login_via_github_as(account(9301, "frank2"), "").await;
        new_session(&mut app);
        app.login_via_github_as(account(9302, "frank"), "").await;
        let (status, body) = app.page(EXCEPTION).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.contains("You have already requested an exception"),
            "{body}"
        );
        let token = extract_csrf(&app.ok_page(ELECTION).await).unwrap();
        let mut form = vec![("csrf_token", token.as_str())];
        form.extend_from_slice(&fields);
        let resp = app.post_form(EXCEPTION, &form).await;
        assert_eq!(resp.status(), StatusCode::CONFLICT);
        assert_eq!(count(app.db(), "request").await, 1, "no new request row");

        // A, as `frank2`, still sees its own request.
        new_session(&mut app);
        app.login_via_github_as(account(9301, "frank2"), "").await;
        let (_, body) = app.page(EXCEPTION).await;
        assert!(
            body.contains("You have already requested an exception"),
            "{body}"
        );
    }
);

db_test!(
    a_ballot_without_passphrase_has_no_link_to_guess,
    once(),
    |app| {
        app.login_via_github_as(account(9401, "dave"), "").await;
        assert_eq!(cast(&app, "").await.status(), StatusCode::FOUND);
        // Elekto sealed it with a six-digit passcode (10^6 guesses); votebox stores no link.
        let eid = votebox_db::elections::find_by_key(app.db(), "once")
            .await
            .unwrap()
            .unwrap()
            .id;
        let uid = app.user_id("dave").await;
        let link = votebox_db::ballots::voter_link(app.db(), uid, eid)
            .await
            .unwrap()
            .unwrap();
        let (salt, blob) = (link.salt.unwrap(), link.ballot_id.unwrap());
        assert_eq!(salt, votebox_db::ballots::NO_PASSPHRASE_SALT);
        assert_eq!(blob, votebox_db::ballots::NO_PASSPHRASE_LINK);
        // A few guesses of the old kind fail (each costs one full KDF, so only a few).
        for guess in ["000000", "123456", "999999"] {
            assert!(votebox_core::crypto::decrypt_link(guess, &salt, &blob).is_err());
        }
    }
);

db_test!(
    casting_after_the_deadline_passed_during_the_kdf_writes_nothing,
    once(),
    |app| {
        app.login_via_github_as(account(9501, "dave"), "").await;
        let token = extract_csrf(&app.ok_page(ELECTION).await).unwrap();
        // Park the cast between its checks and its write: every KDF slot is held.
        let pause = app.state.pause_kdf().await;
        let request = app
            .client
            .post(app.url(VOTE))
            .form(&[
                ("csrf_token", token.as_str()),
                ("candidate@one", "1"),
                ("candidate@two", "2"),
                ("password", "correct horse battery"),
            ])
            .send();
        let parked = tokio::spawn(request);
        while app.state.kdf_waiting() == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        app.set_now(AFTER_END);
        drop(pause);
        let resp = parked.await.unwrap().unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert!(resp.text().await.unwrap().contains("Voting is closed"));
        assert_eq!(count(app.db(), "voter").await, 0);
        assert_eq!(count(app.db(), "ballot").await, 0);
    }
);

db_test!(
    revoking_after_the_deadline_passed_during_the_kdf_deletes_nothing,
    once(),
    |app| {
        app.login_via_github_as(account(9601, "dave"), "").await;
        assert_eq!(
            cast(&app, "correct horse battery").await.status(),
            StatusCode::FOUND
        );
        let token = extract_csrf(&app.ok_page(ELECTION).await).unwrap();
        let pause = app.state.pause_kdf().await;
        let request = app
            .client
            .post(app.url(EDIT))
            .form(&[
                ("csrf_token", token.as_str()),
                ("password", "correct horse battery"),
            ])
            .send();
        let parked = tokio::spawn(request);
        while app.state.kdf_waiting() == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        app.set_now(AFTER_END);
        drop(pause);
        let resp = parked.await.unwrap().unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert!(resp.text().await.unwrap().contains("Voting is closed"));
        assert_eq!(count(app.db(), "voter").await, 1, "the ballot stays");
        assert_eq!(count(app.db(), "ballot").await, 2);
    }
);
