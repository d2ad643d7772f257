//! Several instances on one database (issue 16 item 2), in process: a second instance beside the
//! harness's, on the same database and meta remote, with a mirror of its own.
//!
//! * one fetch, everyone updated: a webhook to one instance makes the other serve the new
//!   commit, and the other never runs git (its mirror is never created);
//! * periodic work runs on the instance holding its lease;
//! * the per-user KDF claim and passphrase attempts are the database's, whichever instance
//!   made them.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use votebox_meta::MetaRepo;
use votebox_web::AppState;

use crate::harness::{TestApp, db_test, location};

const DEADLINE: Duration = Duration::from_secs(60);

/// A second instance of `app`: same configuration, database, clock and meta remote, its own
/// mirror (under `dir`), serving HTTP on 127.0.0.1 and following what other instances publish.
async fn second_instance(app: &TestApp, dir: &std::path::Path) -> (AppState, String) {
    let repo = MetaRepo::new(
        app.meta.remote_url(),
        dir.join("mirror-b"),
        "main",
        "elections",
    );
    let state = AppState::new(
        app.state.config().clone(),
        app.db().clone(),
        repo,
        app.clock.clone(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let served = state.clone();
    tokio::spawn(async move {
        let _ = votebox_web::serve(listener, served, std::future::pending()).await;
    });
    votebox_web::spawn_instance_tasks(state.clone());
    (state, base)
}

async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done().await {
        assert!(
            started.elapsed() < DEADLINE,
            "{what}: not within {DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

db_test!(one_fetch_updates_every_instance, |app| {
    let dir = tempfile::tempdir().unwrap();
    let (b, b_base) = second_instance(&app, dir.path()).await;
    let first = app
        .state
        .snapshot()
        .expect("A synced at start")
        .commit
        .clone();
    // B starts from what A published: the same commit, never fetched by B.
    wait_for("B serves A's commit", async || {
        b.snapshot().is_some_and(|s| s.commit == first)
    })
    .await;
    let page = format!("{b_base}/elections/2021---GB");
    assert_eq!(reqwest::get(&page).await.unwrap().status(), StatusCode::OK);

    // A push, and its webhook reaches A only.
    app.meta.write(
        "elections/instances-new/election.yaml",
        "name: Added Later\norganization: votebox\nstart_datetime: 2000-01-01 00:00:00\n\
         end_datetime: 2099-12-31 23:59:59\nno_winners: 1\nallow_no_opinion: True\n\
         delete_after: False\nelection_officers:\n  - officer\n",
    );
    app.meta.write(
        "elections/instances-new/voters.yaml",
        "eligible_voters:\n  - alice\n",
    );
    app.meta.commit_and_push("add an election");
    let new_page = format!("{b_base}/elections/instances-new");
    assert_eq!(
        reqwest::get(&new_page).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.signed_webhook().await.status(), StatusCode::OK);
    let second = app.state.snapshot().unwrap().commit.clone();
    assert_ne!(second, first);
    let took = wait_for("B serves the new election", async || {
        reqwest::get(&new_page).await.unwrap().status() == StatusCode::OK
    })
    .await;
    eprintln!(
        "{:?}: B served the new commit {took:?} after A's webhook",
        app.engine
    );
    assert_eq!(b.snapshot().unwrap().commit, second);
    assert!(
        !dir.path().join("mirror-b").exists(),
        "B fetched from the remote itself"
    );
});

db_test!(periodic_work_runs_on_the_lease_holder, |app| {
    let dir = tempfile::tempdir().unwrap();
    let (b, _) = second_instance(&app, dir.path()).await;
    let every = Duration::from_secs(30);
    assert!(app.state.take_periodic_lease("job", every).await);
    assert!(
        !b.take_periodic_lease("job", every).await,
        "one instance runs it"
    );
    // The holder keeps it round after round.
    assert!(app.state.take_periodic_lease("job", every).await);
    assert!(!b.take_periodic_lease("job", every).await);
    assert!(b.take_periodic_lease("another job", every).await);
    assert_ne!(app.state.instance_id(), b.instance_id());
});

const GB: &str = "2021---GB";
const VIEW: &str = "/app/elections/2021---GB/vote/view";
const ELECTION: &str = "/app/elections/2021---GB";

async fn view(app: &TestApp, passphrase: &str) -> reqwest::Response {
    let token = app.csrf_token(ELECTION).await;
    app.post_form(VIEW, &[("csrf_token", &token), ("password", passphrase)])
        .await
}

db_test!(kdf_limits_hold_across_instances, |app| {
    app.mark_voted("dims", GB).await;
    app.login_as("dims").await;
    let dims = app.user_id("dims").await;
    // Another instance is running a KDF of dims: this one refuses a second at once.
    assert!(
        votebox_db::user_limits::claim(app.db(), dims, "other-instance", DEADLINE)
            .await
            .unwrap()
    );
    let resp = view(&app, "a guess").await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("already being processed")
    );
    votebox_db::user_limits::release(app.db(), dims, "other-instance")
        .await
        .unwrap();
    let resp = view(&app, "a guess").await;
    assert_eq!(resp.status(), StatusCode::FOUND, "wrong passphrase: back");
    assert_eq!(location(&resp), ELECTION);
    // The claim was this instance's and is gone: another instance may claim now.
    wait_for("the claim is released", async || {
        votebox_db::user_limits::claim(app.db(), dims, "other-instance", Duration::ZERO)
            .await
            .unwrap()
    })
    .await;
    // Passphrase attempts made on other instances count here.
    for _ in 1..votebox_web::PASSPHRASE_ATTEMPTS {
        assert!(
            votebox_db::user_limits::passphrase_attempt(
                app.db(),
                dims,
                votebox_web::PASSPHRASE_ATTEMPTS,
                Duration::from_secs(900),
            )
            .await
            .unwrap()
        );
    }
    let resp = view(&app, "one too many").await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.text().await.unwrap().contains("Too many attempts"));
});
