//! Operations (issue 7, items 2 and 3): health and readiness, request ids, Prometheus metrics on
//! their own listener, logs free of secrets, graceful shutdown with a ballot cast in flight.
//!
//! Readiness runs in-process on the three engines; the rest drives the real `votebox` binary
//! (SQLite), as an operator would run it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::fake_github::{CLIENT_ID, CLIENT_SECRET, FakeGithub, FakeUser};
use crate::harness::{MetaFixture, Options, db_test, extract_csrf, location};

const BIN: &str = env!("CARGO_BIN_EXE_votebox");

// ------------------------------------------------------------------------------------------------
// Readiness and liveness, in-process, every engine

db_test!(healthz_ready_needs_database_and_meta, |app| {
    let resp = app.get("/healthz/live").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app.get("/healthz/ready").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.text().await.unwrap();
    assert!(body.contains("database: ok"), "{body}");
    assert!(body.contains("meta: ok (commit "), "{body}");

    // Database gone: not ready (503 with the reason), still alive, Elekto's /health still 200.
    app.db().close().await;
    let resp = app.get("/healthz/ready").await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = resp.text().await.unwrap();
    assert!(body.contains("database: unreachable"), "{body}");
    assert!(body.contains("meta: ok"), "{body}");
    assert_eq!(app.get("/healthz/live").await.status(), StatusCode::OK);
    assert_eq!(app.get("/health").await.status(), StatusCode::OK);
});

db_test!(
    healthz_ready_waits_for_the_first_snapshot,
    Options {
        sync_on_start: false,
        ..Options::default()
    },
    |app| {
        let resp = app.get("/healthz/ready").await;
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = resp.text().await.unwrap();
        assert!(body.contains("meta: no snapshot loaded yet"), "{body}");
        assert!(body.contains("database: ok"), "{body}");
        app.state.sync_meta().await.expect("sync");
        assert_eq!(app.get("/healthz/ready").await.status(), StatusCode::OK);
    }
);

db_test!(request_ids_are_generated_and_propagated, |app| {
    let resp = app.get("/elections").await;
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let resp = app
        .client
        .get(app.url("/elections"))
        .header("x-request-id", "from-the-proxy-42")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "from-the-proxy-42");
    // Error pages too.
    let resp = app.get("/no/such/page").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(resp.headers().contains_key("x-request-id"));
});

// ------------------------------------------------------------------------------------------------
// The real binary

/// An election running whatever the date, with two candidates and the test voters.
pub(crate) fn ops_election(voters: &[&str]) -> Vec<(String, String)> {
    let mut list = String::from("eligible_voters:\n");
    for v in voters {
        list.push_str(&format!("  - {v}\n"));
    }
    vec![
        (
            "elections/ops/election.yaml".into(),
            "name: Ops Test Election\norganization: votebox\n\
             start_datetime: 2000-01-01 00:00:00\nend_datetime: 2099-12-31 23:59:59\n\
             no_winners: 1\nallow_no_opinion: True\ndelete_after: False\n\
             election_officers:\n  - officer\n"
                .into(),
        ),
        ("elections/ops/voters.yaml".into(), list),
        (
            "elections/ops/candidate-alpha.md".into(),
            "-------\nname: Alpha\nID: alpha\n-------\nAlpha's statement.\n".into(),
        ),
        (
            "elections/ops/candidate-beta.md".into(),
            "-------\nname: Beta\nID: beta\n-------\nBeta's statement.\n".into(),
        ),
    ]
}

const APP_KEY: &str = "ops-test-app-key-0123456789abcdef-SECRET";
pub(crate) const META_SECRET: &str = "ops-test-meta-secret-SECRET";

/// A running `votebox serve`, its stderr collected line by line.
pub(crate) struct Proc {
    pub(crate) child: Child,
    pub(crate) addr: String,
    log: Arc<Mutex<Vec<String>>>,
    dir: tempfile::TempDir,
    _meta: Option<MetaFixture>,
}

impl Proc {
    /// On a SQLite file in its own temp dir.
    pub(crate) fn start(extra_env: &[(&str, String)], meta: MetaFixture) -> Proc {
        Proc::start_on(None, extra_env, meta)
    }

    /// On `database_url` (`DATABASE_URL`), or SQLite when `None`.
    pub(crate) fn start_on(
        database_url: Option<&str>,
        extra_env: &[(&str, String)],
        meta: MetaFixture,
    ) -> Proc {
        let remote = meta.remote_url();
        Proc::spawn(database_url, extra_env, &remote, Some(meta))
    }

    /// One of several instances on `database_url` fetching the meta from `remote` (a fixture the
    /// caller keeps), each with a mirror of its own.
    pub(crate) fn start_instance(
        database_url: &str,
        extra_env: &[(&str, String)],
        remote: &str,
    ) -> Proc {
        Proc::spawn(Some(database_url), extra_env, remote, None)
    }

    fn spawn(
        database_url: Option<&str>,
        extra_env: &[(&str, String)],
        remote: &str,
        meta: Option<MetaFixture>,
    ) -> Proc {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path());
        match database_url {
            Some(url) => {
                cmd.env("DATABASE_URL", url);
            }
            None => {
                cmd.env("DB_CONNECTION", "sqlite")
                    .env("DB_PATH", dir.path().join("votebox.db"));
            }
        }
        cmd.env("META_REPO", remote)
            .env("META_PATH", dir.path().join("mirror"))
            .env("ELECTION_DIR", "elections")
            .env("VOTEBOX_DATA_DIR", dir.path().join("data"))
            .env("APP_KEY", APP_KEY)
            .env("META_SECRET", META_SECRET)
            .env("APP_PORT", "0")
            .current_dir(dir.path())
            .args(["serve", "--migrate", "--resync-interval", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start votebox");
        let log = Arc::new(Mutex::new(Vec::new()));
        let err = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let mut proc = Proc {
            child,
            addr: String::new(),
            log,
            dir,
            _meta: meta,
        };
        proc.addr = proc
            .wait_for_log("listening on http://", Duration::from_secs(120))
            .split("listening on http://")
            .nth(1)
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        proc
    }

    pub(crate) fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits for a log line containing `needle`; returns it.
    pub(crate) fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.log.lock().unwrap().iter().find(|l| l.contains(needle)) {
                return l.clone();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(200));
                panic!(
                    "votebox exited ({status}) before logging {needle:?}:\n{}",
                    self.log_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in the log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) fn db_path(&self) -> PathBuf {
        self.dir.path().join("votebox.db")
    }

    /// The instance's meta mirror (`META_PATH`).
    pub(crate) fn mirror_path(&self) -> PathBuf {
        self.dir.path().join("mirror")
    }

    /// SIGKILL: no grace, requests in flight are cut.
    pub(crate) fn sigkill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub(crate) fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the exit; returns the exit code (None: killed after `timeout`).
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                // Let the reader thread drain the last lines.
                std::thread::sleep(Duration::from_millis(200));
                return s.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

pub(crate) async fn csrf(client: &reqwest::Client, url: &str) -> String {
    let body = client.get(url).send().await.unwrap().text().await.unwrap();
    extract_csrf(&body).unwrap_or_else(|| panic!("no csrf_token on {url}:\n{body}"))
}

async fn demo_login(p: &Proc, client: &reqwest::Client, login: &str) {
    let token = csrf(client, &p.url("/login")).await;
    let resp = client
        .post(p.url("/demo/login"))
        .form(&[("csrf_token", token.as_str()), ("login", login), ("r", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND, "demo login as {login}");
}

/// Rows in the SQLite database after the server stopped: (voter rows of `login`, ballot rows).
async fn stored(db_path: &Path, login: &str) -> (i64, i64) {
    let db = votebox_db::Db::connect_sqlite(db_path).await.unwrap();
    let votebox_db::Db::Lite(pool) = &db else {
        unreachable!()
    };
    let voters: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM voter v JOIN user u ON u.id = v.user_id WHERE u.username = ?",
    )
    .bind(login)
    .fetch_one(pool)
    .await
    .unwrap();
    let ballots: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ballot")
        .fetch_one(pool)
        .await
        .unwrap();
    db.close().await;
    (voters, ballots)
}

/// The address of the process's metrics listener, from its log (`VOTEBOX_METRICS_ADDR` set).
pub(crate) fn metrics_url(p: &mut Proc) -> String {
    let line = p.wait_for_log("metrics on http://", Duration::from_secs(30));
    let url = format!(
        "http://{}",
        line.split("metrics on http://").nth(1).unwrap().trim_end()
    );
    let url = url
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches('"')
        .to_owned();
    assert!(url.ends_with("/metrics"), "{url}");
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_on_their_own_listener_labelled_by_route() {
    let meta = MetaFixture::create(&ops_election(&["voter1"]));
    let mut p = Proc::start(
        &[
            ("VOTEBOX_METRICS_ADDR", "127.0.0.1:0".into()),
            ("VOTEBOX_DEMO_LOGIN", "1".into()),
        ],
        meta,
    );
    let metrics_url = metrics_url(&mut p);
    let c = client();
    for path in [
        "/elections",
        "/elections/ops",
        "/elections/2021---GB",
        "/no/such/page",
    ] {
        c.get(p.url(path)).send().await.unwrap();
    }
    // Not on the public port.
    let resp = c.get(p.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    demo_login(&p, &c, "voter1").await;
    let form = c
        .get(p.url("/app/elections/ops/vote"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let token = extract_csrf(&form.text().await.unwrap()).unwrap();
    let resp = c
        .post(p.url("/app/elections/ops/vote"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("candidate@alpha", "1"),
            ("candidate@beta", "2"),
            ("password", "a long passphrase"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);

    let text = c
        .get(&metrics_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "http_requests_total{method=\"GET\",path=\"/elections/{eid}\",status=\"200\"} 2",
        "http_requests_total{method=\"GET\",path=\"/elections\",status=\"200\"} 1",
        // /no/such/page and /metrics on the public port.
        "http_requests_total{method=\"GET\",path=\"<unmatched>\",status=\"404\"} 2",
        "http_requests_total{method=\"POST\",path=\"/app/elections/{eid}/vote\",status=\"302\"} 1",
        "http_request_duration_seconds_bucket{method=\"GET\",path=\"/elections\",status=\"200\",le=\"0.5\"}",
        "ballots_cast_total 1",
        "kdf_queue_depth 0",
        "kdf_wait_seconds_count 1",
        "meta_sync_total{result=\"ok\"} 1",
        "meta_sync_age_seconds ",
        "meta_sync_last_success_timestamp_seconds ",
    ] {
        assert!(text.contains(needle), "{needle:?} not in /metrics:\n{text}");
    }
    // Route patterns, never raw URLs (bounded cardinality).
    assert!(!text.contains("2021---GB"), "{text}");
    assert!(!text.contains("/no/such/page"), "{text}");

    p.sigterm();
    assert_eq!(p.wait_exit(Duration::from_secs(30)), Some(0));
}

/// Login through the (fake) GitHub OAuth flow and a real ballot cast, logged at `trace` in JSON:
/// no passphrase, token, cookie, secret or ballot content may appear in the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_carry_no_secrets() {
    let github = FakeGithub::start().await;
    let meta = MetaFixture::create(&ops_election(&["octo-voter"]));
    let mut p = Proc::start(
        &[
            ("RUST_LOG", "trace".into()),
            ("LOG_FORMAT", "json".into()),
            ("GITHUB_CLIENT_ID", CLIENT_ID.into()),
            ("GITHUB_CLIENT_SECRET", CLIENT_SECRET.into()),
            ("GITHUB_AUTHORIZE_URL", github.authorize_url()),
            ("GITHUB_ACCESS_TOKEN_URL", github.access_token_url()),
            ("GITHUB_API_URL", github.api_url()),
        ],
        meta,
    );
    github.set_callback(p.url("/oauth/github/callback"));
    github.sign_in_as(FakeUser::for_login("octo-voter"));
    let c = client();

    // OAuth login: login page → POST → authorize → callback (code + state in the query).
    let token = csrf(&c, &p.url("/login")).await;
    let resp = c
        .post(p.url("/oauth/github/login"))
        .header("x-request-id", "ops-req-login-1")
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    let authorize = location(&resp);
    let resp = c.get(&authorize).send().await.unwrap();
    let callback = location(&resp);
    let query: Vec<(String, String)> = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let code = query.iter().find(|(k, _)| k == "code").unwrap().1.clone();
    let state = query.iter().find(|(k, _)| k == "state").unwrap().1.clone();
    let resp = c.get(&callback).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND, "callback");
    assert!(
        !github.token_requests().is_empty(),
        "votebox exchanged the code for a token"
    );

    // A real vote, with a passphrase, sent with an explicit Cookie header too.
    let form = c
        .get(p.url("/app/elections/ops/vote"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let csrf_token = extract_csrf(&form.text().await.unwrap()).unwrap();
    let passphrase = "correct horse battery staple PASSPHRASE";
    let resp = c
        .post(p.url("/app/elections/ops/vote"))
        .header("x-request-id", "ops-req-vote-1")
        .form(&[
            ("csrf_token", csrf_token.as_str()),
            ("candidate@alpha", "2"),
            ("candidate@beta", "1"),
            ("password", passphrase),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND, "vote");
    assert_eq!(location(&resp), "/app/elections/ops/confirmation");
    // The receipt shown on the confirmation page (issue 14) is never logged either.
    let confirmation = c
        .get(p.url("/app/elections/ops/confirmation"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let receipt = confirmation
        .split("id=\"receipt-code\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("no receipt on the confirmation page:\n{confirmation}"))
        .to_owned();
    // A hand-made request with a Cookie and an Authorization header.
    let raw_cookie = "votebox_session=RAW-COOKIE-VALUE-SECRET; other=ANOTHER-COOKIE-SECRET";
    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(p.url("/app/elections/ops/vote/view"))
        .header("cookie", raw_cookie)
        .header("authorization", "Bearer AUTH-HEADER-SECRET")
        .form(&[
            ("password", "VIEW-PASSPHRASE-SECRET"),
            ("csrf_token", "CSRF-SECRET"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        resp.status().is_client_error() || resp.status().is_redirection(),
        "{}",
        resp.status()
    );

    p.sigterm();
    assert_eq!(p.wait_exit(Duration::from_secs(60)), Some(0));
    let log = p.log_text();

    // The log is really there, in JSON, with request spans and ids.
    assert!(log.lines().count() > 20, "{log}");
    assert!(
        log.lines()
            .filter(|l| l.starts_with('{'))
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "every line is JSON"
    );
    assert!(
        log.contains("ops-req-vote-1"),
        "request id in the span:\n{log}"
    );
    assert!(log.contains("ballot cast"), "{log}");

    let secrets: Vec<String> = vec![
        passphrase.into(),
        "correct horse".into(),
        "VIEW-PASSPHRASE-SECRET".into(),
        "RAW-COOKIE-VALUE-SECRET".into(),
        "ANOTHER-COOKIE-SECRET".into(),
        "AUTH-HEADER-SECRET".into(),
        "CSRF-SECRET".into(),
        csrf_token.clone(),
        token.clone(),
        APP_KEY.into(),
        META_SECRET.into(),
        CLIENT_SECRET.into(),
        "gho_fake".into(),
        format!("code={code}"),
        state.clone(),
        "candidate@".into(),
        "candidate%40".into(),
        receipt.clone(),
        receipt.replace('-', ""),
    ];
    for s in &secrets {
        assert!(!log.contains(s.as_str()), "the log contains {s:?}:\n{log}");
    }
    // Cookies and headers are never logged at all.
    let lower = log.to_ascii_lowercase();
    for h in [
        "votebox_session=",
        "set-cookie",
        "\"cookie\"",
        "authorization",
    ] {
        assert!(!lower.contains(h), "the log contains {h:?}:\n{log}");
    }
    let (voters, ballots) = stored(&p.db_path(), "octo-voter").await;
    assert_eq!((voters, ballots), (1, 2));
}

/// SIGTERM while a ballot cast waits on the KDF: the cast completes (302), is stored exactly
/// once, new connections are refused, and the process exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_an_in_flight_ballot_cast() {
    let meta = MetaFixture::create(&ops_election(&["voter1"]));
    let mut p = Proc::start(
        &[
            ("VOTEBOX_DEMO_LOGIN", "1".into()),
            ("VOTEBOX_METRICS_ADDR", "127.0.0.1:0".into()),
        ],
        meta,
    );
    let metrics = metrics_url(&mut p);
    let c = client();
    demo_login(&p, &c, "voter1").await;
    let form = c
        .get(p.url("/app/elections/ops/vote"))
        .send()
        .await
        .unwrap();
    let token = extract_csrf(&form.text().await.unwrap()).unwrap();

    let cast = {
        let c = c.clone();
        let url = p.url("/app/elections/ops/vote");
        tokio::spawn(async move {
            let started = Instant::now();
            let resp = c
                .post(url)
                .form(&[
                    ("csrf_token", token.as_str()),
                    ("candidate@alpha", "1"),
                    ("candidate@beta", "2"),
                    ("password", "a long passphrase"),
                ])
                .send()
                .await
                .expect("the in-flight cast gets its answer");
            (resp.status(), location(&resp), started.elapsed())
        })
    };
    // SIGTERM once the cast holds its KDF slot (Argon2i runs for seconds): a fixed sleep would
    // race the request on a busy machine.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = c.get(&metrics).send().await.unwrap().text().await.unwrap();
        if text.contains("kdf_wait_seconds_count 1") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cast never reached the KDF:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    p.sigterm();
    p.wait_for_log("shutting down", Duration::from_secs(30));
    // No new connections once shutdown began.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let refused = reqwest::Client::new()
        .get(p.url("/health"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(refused.is_err(), "accepted a connection after SIGTERM");

    let (status, loc, took) = cast.await.unwrap();
    assert_eq!(status, StatusCode::FOUND, "the cast completed");
    assert_eq!(loc, "/app/elections/ops/confirmation");
    let code = p.wait_exit(Duration::from_secs(60));
    let log = p.log_text();
    assert_eq!(code, Some(0), "{log}");
    let shutdown_at = log.find("shutting down").unwrap();
    let cast_at = log.find("ballot cast").expect(&log);
    assert!(
        shutdown_at < cast_at,
        "the ballot was stored after shutdown began ({took:?}):\n{log}"
    );
    assert!(log.contains("stopped"), "{log}");
    assert_eq!(stored(&p.db_path(), "voter1").await, (1, 2));
}

/// A request that never finishes does not keep the process alive past the grace period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_grace_period_is_bounded() {
    let meta = MetaFixture::create(&[]);
    let mut p = Proc::start(&[("VOTEBOX_SHUTDOWN_GRACE_SECONDS", "1".into())], meta);
    // A webhook POST whose body never arrives in full.
    let mut stream = tokio::net::TcpStream::connect(&p.addr).await.unwrap();
    use tokio::io::AsyncWriteExt as _;
    stream
        .write_all(
            format!(
                "POST /v1/webhooks/meta/sync HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"ref\":",
                p.addr
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = Instant::now();
    p.sigterm();
    let code = p.wait_exit(Duration::from_secs(20));
    let took = signalled.elapsed();
    let log = p.log_text();
    assert_eq!(code, Some(0), "{log}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(took >= Duration::from_millis(900), "did not wait: {took:?}");
    assert!(log.contains("grace period"), "{log}");
    drop(stream);
}
