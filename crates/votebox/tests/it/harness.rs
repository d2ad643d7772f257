//! Integration-test harness: a real votebox server on `127.0.0.1:0`, a fresh database on one of
//! the three engines, and a real git meta repository (bare remote + work tree) in a temp dir.
//!
//! * Database (`votebox_db::testing`): SQLite in a temp file; PostgreSQL / MariaDB
//!   `CREATE DATABASE vbt_<random>` through the admin URLs `VOTEBOX_TEST_POSTGRES_URL` (default
//!   `postgres://postgres@127.0.0.1:5432/postgres`) and `VOTEBOX_TEST_MYSQL_URL` (default
//!   `mysql://root@127.0.0.1:3306/mysql`), dropped afterwards. An unreachable server makes the
//!   test fail loudly; it is never skipped.
//! * Meta: `tests/fixtures/meta/elekto.meta.test` (Elekto's own test meta) plus
//!   `tests/fixtures/meta/votebox-extra` (an XSS election and an upcoming nested one), committed
//!   to a work tree and pushed to a bare repo served as `file://`.
//! * Client: reqwest with a cookie store, redirects not followed, and a browser's fetch metadata
//!   for a same-origin navigation on every request ([`browser_navigation_headers`]; a request may
//!   override them). [`TestApp::login_as`] uses the demo login form (enabled in the test config),
//!   CSRF token included. No `APP_URL` by default, so the session cookie is `Secure` (reqwest,
//!   like browsers, sends Secure cookies to `http://127.0.0.1`).
//!
//! [`db_test!`] expands one test body into `<name>::sqlite`, `<name>::postgres`, `<name>::mysql`.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use votebox_db::users::LoginDetails;

use reqwest::StatusCode;
use reqwest::cookie::{CookieStore as _, Jar};
use tempfile::TempDir;
use time::PrimitiveDateTime;
use time::macros::datetime;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::oneshot;
use votebox_db::Db;
use votebox_meta::MetaRepo;
use votebox_web::{AppState, Clock, WebConfig};

use crate::fake_github::{self, FakeGithub, FakeUser};

/// Expands a test body into one `#[tokio::test]` per database engine:
/// `db_test!(name, |app| async_body)` or `db_test!(name, options_expr, |app| async_body)`.
macro_rules! db_test {
    ($name:ident, |$app:ident| $body:block) => {
        db_test!($name, $crate::harness::Options::default(), |$app| $body);
    };
    ($name:ident, $opts:expr, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($app: $crate::harness::TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::harness::TestApp::spawn_with($crate::harness::Engine::Sqlite, $opts).await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run($crate::harness::TestApp::spawn_with($crate::harness::Engine::Postgres, $opts).await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() {
                run($crate::harness::TestApp::spawn_with($crate::harness::Engine::MySql, $opts).await).await
            }
        }
    };
}
pub(crate) use db_test;

/// The engine a test runs on: the storage layer's own enum.
pub use votebox_db::Backend as Engine;

/// The pinned "now" of most tests: 2021---TOC completed, 2021---GB, name_the_app and xss
/// running, 2024---future upcoming.
pub const DEFAULT_NOW: PrimitiveDateTime = datetime!(2023-08-10 12:00:00);
/// After every fixture election but `2024---future` ended: 2021---GB's results are published.
pub const AFTER_ALL: PrimitiveDateTime = datetime!(2023-09-15 00:00:00);
pub const APP_NAME: &str = "vb-test.elections";
pub const META_SECRET: &str = "test-webhook-secret";

/// What a test can change about its server.
#[derive(Debug, Clone)]
pub struct Options {
    pub now: PrimitiveDateTime,
    pub app_name: String,
    pub meta_secret: Option<String>,
    pub demo_login: bool,
    pub debug: bool,
    pub app_url: Option<String>,
    /// Run `sync_meta` before serving (false: the server starts with no snapshot).
    pub sync_on_start: bool,
    /// Extra files for the meta repository: (path from the repo root, content).
    pub extra_files: Vec<(String, String)>,
    /// Start a fake GitHub OAuth provider ([`TestApp::github`]) and configure the app with it.
    pub github: bool,
    /// How long a login lasts (`VOTEBOX_SESSION_LIFETIME_SECONDS`).
    pub session_lifetime: std::time::Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            now: DEFAULT_NOW,
            app_name: APP_NAME.to_owned(),
            meta_secret: Some(META_SECRET.to_owned()),
            demo_login: true,
            debug: false,
            app_url: None,
            sync_on_start: true,
            extra_files: Vec::new(),
            github: false,
            session_lifetime: votebox_web::DEFAULT_SESSION_LIFETIME,
        }
    }
}

impl Options {
    pub fn at(now: PrimitiveDateTime) -> Options {
        Options {
            now,
            ..Options::default()
        }
    }

    /// The defaults plus the fake GitHub provider.
    pub fn github() -> Options {
        Options {
            github: true,
            ..Options::default()
        }
    }

    pub fn with_file(mut self, path: &str, content: &str) -> Options {
        self.extra_files.push((path.to_owned(), content.to_owned()));
        self
    }
}

// ------------------------------------------------------------------------------------------------
// Databases

fn random_suffix() -> String {
    use rand::Rng as _;
    let bytes: [u8; 6] = rand::rng().random();
    hex::encode(bytes)
}

/// Runs one statement on any engine (test setup only; `sql` is built from trusted parts).
pub async fn exec(db: &Db, sql: String) {
    let result = match db {
        Db::Pg(p) => sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .execute(p)
            .await
            .map(|_| ()),
        Db::My(p) => sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .execute(p)
            .await
            .map(|_| ()),
        Db::Lite(p) => sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .execute(p)
            .await
            .map(|_| ()),
    };
    if let Err(e) = result {
        panic!("test SQL failed: {sql}: {e}");
    }
}

/// A fresh, migrated database (`votebox_db::testing`); dropped with this value.
pub struct TestDb {
    pub db: Db,
    pub engine: Engine,
    pub url: String,
    _guard: votebox_db::testing::TestDatabase,
}

impl TestDb {
    /// A database the test prepared itself (dropped with the returned value, like `create`'s).
    pub fn from_parts(
        db: Db,
        engine: Engine,
        url: String,
        guard: votebox_db::testing::TestDatabase,
    ) -> TestDb {
        TestDb {
            db,
            engine,
            url,
            _guard: guard,
        }
    }

    /// Panics (never skips) when the engine's server is unreachable.
    pub async fn create(engine: Engine) -> TestDb {
        let (db, url, guard) = votebox_db::testing::migrated_database(engine).await;
        TestDb {
            db,
            engine,
            url,
            _guard: guard,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Close the pool on a runtime of its own (Drop is synchronous) before the guard drops the
        // database, so MariaDB never waits on our idle connections.
        let db = self.db.clone();
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(db.close());
            }
        })
        .join();
    }
}

// ------------------------------------------------------------------------------------------------
// Meta repository

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/meta")
}

/// Runs git in `dir`, isolated from the user's configuration; panics on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Votebox Test",
            "-c",
            "user.email=test@votebox.invalid",
        ])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("run git");
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read fixture dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy fixture file");
        }
    }
}

/// A work tree that pushes to a bare `remote.git`; votebox fetches from the bare repo.
pub struct MetaFixture {
    dir: TempDir,
    pub work: PathBuf,
    pub bare: PathBuf,
}

impl MetaFixture {
    pub fn create(extra_files: &[(String, String)]) -> MetaFixture {
        let dir = TempDir::new().expect("temp dir");
        let work = dir.path().join("work");
        let bare = dir.path().join("remote.git");
        copy_dir(&fixtures_dir().join("elekto.meta.test"), &work);
        copy_dir(&fixtures_dir().join("votebox-extra"), &work);
        let fixture = MetaFixture { dir, work, bare };
        for (path, content) in extra_files {
            fixture.write(path, content);
        }
        git(&fixture.work, &["init", "-q", "-b", "main"]);
        git(&fixture.work, &["add", "-A"]);
        git(&fixture.work, &["commit", "-q", "-m", "fixture meta"]);
        git(
            fixture.dir.path(),
            &["init", "-q", "--bare", "-b", "main", "remote.git"],
        );
        let bare = fixture.bare.to_str().expect("utf-8 path").to_owned();
        git(&fixture.work, &["push", "-q", &bare, "main"]);
        fixture
    }

    pub fn remote_url(&self) -> String {
        format!("file://{}", self.bare.display())
    }

    /// Where votebox keeps its mirror (created by the first fetch).
    pub fn mirror_path(&self) -> PathBuf {
        self.dir.path().join("mirror")
    }

    pub fn write(&self, path: &str, content: &str) {
        let target = self.work.join(path);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("create dir");
        std::fs::write(target, content).expect("write meta file");
    }

    pub fn remove(&self, path: &str) {
        let target = self.work.join(path);
        if target.is_dir() {
            std::fs::remove_dir_all(target).expect("remove meta dir");
        } else {
            std::fs::remove_file(target).expect("remove meta file");
        }
    }

    /// Commits the work tree and pushes it.
    pub fn commit_and_push(&self, message: &str) {
        let bare = self.bare.to_str().expect("utf-8 path").to_owned();
        git(&self.work, &["add", "-A"]);
        git(&self.work, &["commit", "-q", "-m", message]);
        git(&self.work, &["push", "-q", &bare, "main"]);
    }

    /// Rewrites the last commit with the work tree's content and force-pushes it.
    pub fn amend_and_force_push(&self) {
        let bare = self.bare.to_str().expect("utf-8 path").to_owned();
        git(&self.work, &["add", "-A"]);
        git(
            &self.work,
            &["commit", "-q", "--amend", "-m", "rewritten history"],
        );
        git(&self.work, &["push", "-q", "--force", &bare, "main"]);
    }
}

// ------------------------------------------------------------------------------------------------
// The server

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    pub jar: Arc<Jar>,
    pub state: AppState,
    /// The server's clock, at `Options::now` until a test moves it ([`TestApp::set_now`]).
    pub clock: Clock,
    pub meta: MetaFixture,
    pub engine: Engine,
    /// The fake GitHub provider (with `Options::github`).
    pub github: Option<FakeGithub>,
    shutdown: Option<oneshot::Sender<()>>,
    /// Last: dropped after the server was told to stop.
    pub test_db: TestDb,
}

impl TestApp {
    pub async fn spawn(engine: Engine) -> TestApp {
        TestApp::spawn_with(engine, Options::default()).await
    }

    pub async fn spawn_with(engine: Engine, opts: Options) -> TestApp {
        TestApp::spawn_on(TestDb::create(engine).await, opts).await
    }

    /// [`TestApp::spawn_with`] on a database prepared by the test (e.g. a migrated legacy one).
    pub async fn spawn_on(test_db: TestDb, opts: Options) -> TestApp {
        let engine = test_db.engine;
        let meta = MetaFixture::create(&opts.extra_files);
        let repo = MetaRepo::new(meta.remote_url(), meta.mirror_path(), "main", "elections");
        let github = match opts.github {
            true => Some(FakeGithub::start().await),
            false => None,
        };
        let config = WebConfig {
            app_name: opts.app_name.clone(),
            app_key: format!("test-key-{}", random_suffix()),
            app_url: opts.app_url.clone(),
            debug: opts.debug,
            meta_secret: opts.meta_secret.clone(),
            github_redirect: "/oauth/github/callback".to_owned(),
            min_passcode_length: 6,
            demo_login: opts.demo_login,
            github_client_id: github.as_ref().map(|_| fake_github::CLIENT_ID.to_owned()),
            github_client_secret: github
                .as_ref()
                .map(|_| fake_github::CLIENT_SECRET.to_owned()),
            github_authorize_url: github.as_ref().map_or_else(
                || votebox_web::DEFAULT_GITHUB_AUTHORIZE_URL.to_owned(),
                FakeGithub::authorize_url,
            ),
            github_access_token_url: github.as_ref().map_or_else(
                || votebox_web::DEFAULT_GITHUB_ACCESS_TOKEN_URL.to_owned(),
                FakeGithub::access_token_url,
            ),
            github_api_url: github.as_ref().map_or_else(
                || votebox_web::DEFAULT_GITHUB_API_URL.to_owned(),
                FakeGithub::api_url,
            ),
            kdf_concurrency: 2,
            session_lifetime: opts.session_lifetime,
        };
        let clock = Clock::manual(opts.now);
        let state = AppState::new(config, test_db.db.clone(), repo, clock.clone());
        if opts.sync_on_start {
            state
                .sync_meta()
                .await
                .unwrap_or_else(|e| panic!("initial meta sync: {e}"));
        }

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        if let Some(gh) = &github {
            gh.set_callback(format!("http://{addr}/oauth/github/callback"));
        }
        let (tx, rx) = oneshot::channel::<()>();
        let server_state = state.clone();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.await;
            };
            if let Err(e) = votebox_web::serve(listener, server_state, shutdown).await {
                eprintln!("test server error: {e}");
            }
        });

        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(browser_navigation_headers())
            .build()
            .expect("reqwest client");
        TestApp {
            addr,
            base: format!("http://{addr}"),
            client,
            jar,
            state,
            clock,
            meta,
            engine,
            github,
            shutdown: Some(tx),
            test_db,
        }
    }

    pub fn db(&self) -> &Db {
        &self.test_db.db
    }

    /// Moves the server's clock.
    pub fn set_now(&self, now: PrimitiveDateTime) {
        self.clock.set(now);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// GET → (status, body).
    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let resp = self.get(path).await;
        let status = resp.status();
        (status, resp.text().await.expect("body"))
    }

    /// GET that must answer 200; returns the body.
    pub async fn ok_page(&self, path: &str) -> String {
        let (status, body) = self.page(path).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// The `csrf_token` of the form on `page`.
    pub async fn csrf_token(&self, page: &str) -> String {
        let body = self.ok_page(page).await;
        extract_csrf(&body).unwrap_or_else(|| panic!("no csrf_token on {page}: {body}"))
    }

    /// Logs in as `login` through the demo login form; fails the test if that does not work.
    pub async fn login_as(&self, login: &str) {
        let token = self.csrf_token("/login").await;
        let resp = self
            .post_form(
                "/demo/login",
                &[("csrf_token", &token), ("login", login), ("r", "")],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::FOUND, "demo login as {login}");
        assert_eq!(location(&resp), "/app");
    }

    /// The fake GitHub provider; panics unless the app was started with `Options::github`.
    pub fn fake_github(&self) -> &FakeGithub {
        self.github
            .as_ref()
            .expect("this test app has no fake GitHub (use Options::github())")
    }

    /// Logs in as `login` through the GitHub OAuth flow (fake provider): login page → POST
    /// `/oauth/github/login` → authorize → callback. Returns the callback's 302 target.
    pub async fn login_via_github(&self, login: &str) -> String {
        self.login_via_github_as(FakeUser::for_login(login), "")
            .await
    }

    /// The GitHub flow for `user`, with the login page's `r` (raw query value, may be empty).
    pub async fn login_via_github_as(&self, user: FakeUser, r: &str) -> String {
        self.fake_github().sign_in_as(user.clone());
        let login_page = if r.is_empty() {
            "/login".to_owned()
        } else {
            format!("/login?r={r}")
        };
        let token = self.csrf_token(&login_page).await;
        let post = if r.is_empty() {
            "/oauth/github/login".to_owned()
        } else {
            format!("/oauth/github/login?r={r}")
        };
        let resp = self.post_form(&post, &[("csrf_token", &token)]).await;
        assert_eq!(resp.status(), StatusCode::FOUND, "POST {post}");
        let authorize = location(&resp);
        let resp = self
            .client
            .get(&authorize)
            .send()
            .await
            .expect("fake authorize");
        assert_eq!(resp.status(), StatusCode::FOUND, "authorize {authorize}");
        let callback = location(&resp);
        assert!(callback.starts_with(&self.base), "{callback}");
        let resp = self.client.get(&callback).send().await.expect("callback");
        let status = resp.status();
        let target = location(&resp);
        assert_eq!(
            status,
            StatusCode::FOUND,
            "GitHub login as {}: {}",
            user.login,
            resp.text().await.unwrap_or_default()
        );
        target
    }

    /// `user.id` of `login` (creating the row if missing).
    pub async fn user_id(&self, login: &str) -> votebox_db::UserId {
        votebox_db::users::upsert_login(self.db(), &LoginDetails::login(login))
            .await
            .expect("upsert user")
            .id
    }

    /// Inserts a `voter` row (user `login` has voted in election `key`) directly in the database.
    pub async fn mark_voted(&self, login: &str, key: &str) {
        let uid = self.user_id(login).await;
        let election = votebox_db::elections::find_by_key(self.db(), key)
            .await
            .expect("find election")
            .unwrap_or_else(|| panic!("election {key} not synced"));
        exec(
            self.db(),
            format!(
                "INSERT INTO voter (user_id, election_id) VALUES ({uid}, {})",
                election.id
            ),
        )
        .await;
    }

    /// POSTs `body` to the meta webhook with the given `X-Hub-Signature-256` (None: no header).
    pub async fn webhook(&self, body: &[u8], signature: Option<&str>) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.url("/v1/webhooks/meta/sync"))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(sig) = signature {
            req = req.header("x-hub-signature-256", sig);
        }
        req.send().await.expect("webhook request")
    }

    /// A webhook call with a body over the server's limit, on a connection of its own: the
    /// server answers 413 from the Content-Length and closes the connection, so the client sees
    /// the 413 or, if it was still writing the body, a broken pipe. Returns the status, `None`
    /// for the broken pipe; panics on anything else.
    pub async fn oversized_webhook(&self, body: &[u8], signature: &str) -> Option<StatusCode> {
        let sent = reqwest::Client::new()
            .post(self.url("/v1/webhooks/meta/sync"))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signature)
            .body(body.to_vec())
            .send()
            .await;
        match sent {
            Ok(resp) => {
                assert_eq!(resp.headers()["connection"], "close");
                Some(resp.status())
            }
            Err(e) => {
                assert!(
                    e.is_request() && format!("{e:?}").contains("BodyWrite"),
                    "refused before the body was read, expected; got {e:?}"
                );
                None
            }
        }
    }

    /// A correctly signed webhook call.
    pub async fn signed_webhook(&self) -> reqwest::Response {
        let body = br#"{"ref":"refs/heads/main"}"#;
        let sig = votebox_meta::signature_header(META_SECRET, body);
        self.webhook(body, Some(&sig)).await
    }

    /// Sends `GET <raw_path>` byte-for-byte (no client-side `..` normalisation), with the
    /// session cookie; returns the status code and the raw response.
    pub async fn raw_get(&self, raw_path: &str) -> (u16, String) {
        let cookie = self
            .jar
            .cookies(&self.url("/").parse().expect("url"))
            .and_then(|v| v.to_str().ok().map(str::to_owned));
        let mut stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect");
        let mut request = format!(
            "GET {raw_path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        if let Some(c) = cookie {
            request.push_str(&format!("Cookie: {c}\r\n"));
        }
        request.push_str("\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .expect("write request");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read response");
        let text = String::from_utf8_lossy(&raw).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {text:?}"));
        (status, text)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The fetch metadata a browser sends when the user follows a link or submits a form on the site
/// (`Sec-Fetch-Site: same-origin`, `Sec-Fetch-Mode: navigate`, `Sec-Fetch-Dest: document`). The
/// test client sends them by default, as the user of the site it plays; a request may override
/// them (a cross-site POST, an `<img>` pointing at `/logout`).
pub fn browser_navigation_headers() -> reqwest::header::HeaderMap {
    let mut headers = reqwest::header::HeaderMap::new();
    for (name, value) in [
        ("sec-fetch-site", "same-origin"),
        ("sec-fetch-mode", "navigate"),
        ("sec-fetch-dest", "document"),
    ] {
        headers.insert(name, reqwest::header::HeaderValue::from_static(value));
    }
    headers
}

/// An explicit plain-http `APP_URL`: the only setting with which the session cookie is not
/// `Secure`.
pub const PLAIN_HTTP_APP_URL: &str = "http://127.0.0.1";

/// The value of the first `name="csrf_token"` hidden input.
pub fn extract_csrf(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf_token\"")?;
    let rest = &html[at..];
    let v = rest.find("value=\"")? + "value=\"".len();
    let end = rest[v..].find('"')?;
    Some(rest[v..v + end].to_owned())
}

/// The `Location` header.
pub fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A loopback port nothing listens on, for a server the test starts itself (HAProxy, a
/// `votebox serve` that must come back on the same port, chromedriver, a private database).
///
/// Chosen below the kernel's ephemeral range, never from it: a port of that range, free when
/// chosen, can become the source port of any outgoing connection before the server binds it,
/// or even connect to itself (a health check to a port where nothing listens yet gets the
/// same port as source, TCP simultaneous open), and the server then fails with "Address
/// already in use". Ports are handed out in turn from a per-process offset, so the tests of one
/// run never get the same port, and a port something else listens on is skipped.
pub(crate) fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const LOW: u32 = 10_000;
    let high = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32_768)
        .min(65_536);
    assert!(
        high > LOW + 1_000,
        "ephemeral ports start at {high}: no room below"
    );
    let start = std::process::id() * 997;
    for _ in 0..(high - LOW) {
        let port = LOW + (start + NEXT.fetch_add(1, Ordering::Relaxed)) % (high - LOW);
        let port = u16::try_from(port).expect("below 65536");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port below {high}");
}
