//! Load and database-fault tests (issue 7, items 4 and 5) on the real binary: voters log in
//! through the fake GitHub OAuth provider and cast ballots with the real KDF (Elekto's Argon2i
//! cost, never weakened), while readers hammer the public pages.
//!
//! Ignored in `cargo test` (minutes of CPU); run them in release:
//! * `bash benches/load.sh` — `load::load_<engine>`: `LOAD_VOTERS` voters (default 500), prints
//!   figures, asserts zero 5xx and every ballot stored exactly once;
//! * `bash benches/faults.sh` — `load::db_restart_<engine>`: a private PostgreSQL / MariaDB
//!   server on loopback (never the shared one) stopped and started mid-load: 503 page during the
//!   outage, recovery by itself, nothing lost or doubled.
//!
//! Every loop is bounded by a deadline; traffic goes to 127.0.0.1 only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use votebox_db::Db;

use crate::fake_github::{CLIENT_ID, CLIENT_SECRET, FakeGithub, FakeUser};
use crate::harness::{Engine, MetaFixture, TestDb, extract_csrf, free_port, location};
use crate::ops::{Proc, client, csrf, ops_election};

const ELECTION: &str = "ops";
const PAGES: [&str; 4] = [
    "/elections",
    "/elections/ops",
    "/elections/2021---GB",
    "/health",
];

// ------------------------------------------------------------------------------------------------
// Recording

#[derive(Default)]
struct Record {
    /// Status → count, every request.
    statuses: BTreeMap<u16, u64>,
    /// Public page latencies while casting.
    page_ms: Vec<f64>,
    /// Whole cast (vote page GET + POST) latencies.
    cast_ms: Vec<f64>,
    /// Requests that got no HTTP answer at all.
    transport_errors: u64,
    /// The first few of them.
    transport_samples: Vec<String>,
    /// (seconds since start, status) of every 5xx.
    server_errors: Vec<(f64, u16)>,
}

type Shared = Arc<Mutex<Record>>;

fn note(rec: &Shared, started: Instant, status: StatusCode) {
    let mut r = rec.lock().unwrap();
    *r.statuses.entry(status.as_u16()).or_default() += 1;
    if status.is_server_error() {
        r.server_errors
            .push((started.elapsed().as_secs_f64(), status.as_u16()));
    }
}

fn transport(rec: &Shared, e: &reqwest::Error) {
    let mut r = rec.lock().unwrap();
    r.transport_errors += 1;
    if r.transport_samples.len() < 5 {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        r.transport_samples.push(text);
    }
}

pub(crate) fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v[i.min(v.len() - 1)]
}

pub(crate) fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ------------------------------------------------------------------------------------------------
// Voters

/// Where the server listens (what the client tasks need of a [`Proc`]).
#[derive(Clone)]
struct Target {
    base: String,
}

impl Target {
    fn of(p: &Proc) -> Target {
        Target { base: p.url("") }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

pub(crate) fn voter_logins(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("lv{i:04}")).collect()
}

/// The GitHub login through the fake provider, concurrency-safe: the code is issued for this
/// voter directly (no shared "next user"), with the `state` votebox put in the authorize URL.
async fn oauth_login(
    c: &reqwest::Client,
    p: &Target,
    github: &FakeGithub,
    login: &str,
) -> Result<(), String> {
    let token = csrf(c, &p.url("/login")).await;
    let resp = c
        .post(p.url("/oauth/github/login"))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .map_err(|e| format!("POST /oauth/github/login: {e}"))?;
    if resp.status() != StatusCode::FOUND {
        return Err(format!("POST /oauth/github/login: {}", resp.status()));
    }
    let authorize = url::Url::parse(&location(&resp)).map_err(|e| e.to_string())?;
    let state = authorize
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .ok_or("no state")?;
    let code = github.issue_code(FakeUser::for_login(login));
    let resp = c
        .get(p.url(&format!("/oauth/github/callback?code={code}&state={state}")))
        .send()
        .await
        .map_err(|e| format!("callback: {e}"))?;
    if resp.status() != StatusCode::FOUND {
        return Err(format!(
            "callback: {} {}",
            resp.status(),
            resp.text().await.unwrap_or_default()
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cast {
    /// 302 to the confirmation page.
    Stored,
    /// A retry found the ballot already stored (its first answer was lost in an outage).
    AlreadyStored,
}

/// Logs in and casts one ballot; retries (like a voter pressing reload) on 503 and transport
/// errors until `deadline`. Any other answer is an error.
async fn vote(
    p: &Target,
    github: &FakeGithub,
    login: &str,
    rec: &Shared,
    started: Instant,
    deadline: Instant,
) -> Result<(Cast, u32), String> {
    let c = client();
    let mut retries = 0u32;
    let mut logged_in = false;
    loop {
        if Instant::now() > deadline {
            return Err(format!("{login}: deadline reached after {retries} retries"));
        }
        if retries > 0 {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        if !logged_in {
            match oauth_login(&c, p, github, login).await {
                Ok(()) => logged_in = true,
                Err(e) if e.contains("503") || e.contains("error sending") => {
                    retries += 1;
                    continue;
                }
                Err(e) => return Err(format!("{login}: login: {e}")),
            }
        }
        let t0 = Instant::now();
        let form = match c.get(p.url("/app/elections/ops/vote")).send().await {
            Ok(r) => r,
            Err(e) => {
                transport(rec, &e);
                retries += 1;
                continue;
            }
        };
        let status = form.status();
        note(rec, started, status);
        let body = form.text().await.unwrap_or_default();
        match status {
            StatusCode::OK if body.contains("You have already voted") => {
                return Ok((Cast::AlreadyStored, retries));
            }
            StatusCode::OK => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                retries += 1;
                continue;
            }
            s => return Err(format!("{login}: vote form {s}: {body:.300}")),
        }
        let token = extract_csrf(&body).ok_or(format!("{login}: no csrf on the vote form"))?;
        // Alternate rankings, so counting is not trivial.
        let (a, b) = if login.ends_with(['0', '2', '4', '6', '8']) {
            ("1", "2")
        } else {
            ("2", "1")
        };
        let passphrase = format!("passphrase of {login}");
        let resp = match c
            .post(p.url("/app/elections/ops/vote"))
            .form(&[
                ("csrf_token", token.as_str()),
                ("candidate@alpha", a),
                ("candidate@beta", b),
                ("password", passphrase.as_str()),
            ])
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                transport(rec, &e);
                retries += 1;
                continue;
            }
        };
        let status = resp.status();
        note(rec, started, status);
        match status {
            StatusCode::FOUND if location(&resp).ends_with("/confirmation") => {
                rec.lock()
                    .unwrap()
                    .cast_ms
                    .push(t0.elapsed().as_secs_f64() * 1000.0);
                return Ok((Cast::Stored, retries));
            }
            StatusCode::CONFLICT => return Ok((Cast::AlreadyStored, retries)),
            // 429: this voter's previous attempt (whose answer was lost) still holds its KDF
            // slot; 503: the database is away. A voter waits and tries again.
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                retries += 1;
                continue;
            }
            s => {
                let body = resp.text().await.unwrap_or_default();
                return Err(format!("{login}: cast {s}: {body:.300}"));
            }
        }
    }
}

/// One task per voter; at most `LOAD_CONCURRENCY` (default 16) voters are casting at a time, as
/// voters arriving over the voting period rather than all in the same second (500 at once would
/// queue on the KDF for longer than any proxy or browser waits).
fn spawn_voters(
    target: &Target,
    github: &Arc<FakeGithub>,
    logins: &[String],
    rec: &Shared,
    started: Instant,
    deadline: Instant,
) -> Vec<tokio::task::JoinHandle<Result<(Cast, u32), String>>> {
    let gate = Arc::new(tokio::sync::Semaphore::new(env_usize(
        "LOAD_CONCURRENCY",
        16,
    )));
    logins
        .iter()
        .map(|login| {
            let (target, github, rec, gate) =
                (target.clone(), github.clone(), rec.clone(), gate.clone());
            let login = login.clone();
            tokio::spawn(async move {
                let _turn = gate.acquire_owned().await.expect("gate");
                vote(&target, &github, &login, &rec, started, deadline).await
            })
        })
        .collect()
}

/// Readers: GET the public pages in a loop until `stop`, recording latency and status.
fn spawn_readers(
    p: &Target,
    n: usize,
    rec: Shared,
    started: Instant,
    stop: Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..n)
        .map(|i| {
            let base = p.url("");
            let rec = rec.clone();
            let stop = stop.clone();
            let pause = Duration::from_millis(env_usize("LOAD_READ_PAUSE_MS", 10) as u64);
            tokio::spawn(async move {
                let c = reqwest::Client::builder()
                    .timeout(Duration::from_secs(60))
                    .build()
                    .unwrap();
                let mut k = i;
                while !stop.load(Ordering::Relaxed) {
                    let path = PAGES[k % PAGES.len()];
                    k += 1;
                    let t0 = Instant::now();
                    match c.get(format!("{base}{path}")).send().await {
                        Ok(resp) => {
                            let status = resp.status();
                            let _ = resp.bytes().await;
                            note(&rec, started, status);
                            rec.lock()
                                .unwrap()
                                .page_ms
                                .push(t0.elapsed().as_secs_f64() * 1000.0);
                        }
                        Err(e) => {
                            transport(&rec, &e);
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                    if pause > Duration::ZERO {
                        tokio::time::sleep(pause).await;
                    }
                }
            })
        })
        .collect()
}

/// Samples the process's resident memory every 100 ms; returns the peak (KiB) when stopped.
fn spawn_rss_sampler(pid: u32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut peak = 0;
        while !stop.load(Ordering::Relaxed) {
            peak = peak.max(status_kib(pid, "VmRSS:").unwrap_or(0));
            std::thread::sleep(Duration::from_millis(100));
        }
        peak.max(status_kib(pid, "VmHWM:").unwrap_or(0))
    })
}

pub(crate) fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

// ------------------------------------------------------------------------------------------------
// Checking what was stored

pub(crate) async fn scalar(db: &Db, sql: String) -> i64 {
    let q = sqlx::AssertSqlSafe(sql.clone());
    let r = match db {
        Db::Pg(p) => sqlx::query_scalar::<_, i64>(q).fetch_one(p).await,
        Db::My(p) => sqlx::query_scalar::<_, i64>(q).fetch_one(p).await,
        Db::Lite(p) => sqlx::query_scalar::<_, i64>(q).fetch_one(p).await,
    };
    r.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// (voter rows, users with more than one voter row, ballot rows, distinct ballot voters).
pub(crate) async fn stored(url: &str) -> (i64, i64, i64, i64) {
    let db = Db::connect(url).await.expect("connect to check");
    let id = votebox_db::elections::find_by_key(&db, ELECTION)
        .await
        .unwrap()
        .expect("election synced")
        .id;
    let voters = scalar(
        &db,
        format!("SELECT COUNT(*) FROM voter WHERE election_id = {id}"),
    )
    .await;
    let doubled = scalar(
        &db,
        format!(
            "SELECT COUNT(*) FROM (SELECT user_id FROM voter WHERE election_id = {id} \
             GROUP BY user_id HAVING COUNT(*) > 1) d"
        ),
    )
    .await;
    let ballots = scalar(
        &db,
        format!("SELECT COUNT(*) FROM ballot WHERE election_id = {id}"),
    )
    .await;
    let distinct = scalar(
        &db,
        format!("SELECT COUNT(DISTINCT voter) FROM ballot WHERE election_id = {id}"),
    )
    .await;
    db.close().await;
    (voters, doubled, ballots, distinct)
}

pub(crate) fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

// ------------------------------------------------------------------------------------------------
// The votebox process

pub(crate) fn server_env(github: &FakeGithub) -> Vec<(&'static str, String)> {
    vec![
        ("GITHUB_CLIENT_ID", CLIENT_ID.into()),
        ("GITHUB_CLIENT_SECRET", CLIENT_SECRET.into()),
        ("GITHUB_AUTHORIZE_URL", github.authorize_url()),
        ("GITHUB_ACCESS_TOKEN_URL", github.access_token_url()),
        ("GITHUB_API_URL", github.api_url()),
        ("VOTEBOX_METRICS_ADDR", "127.0.0.1:0".into()),
        ("RUST_LOG", "warn,votebox=info".into()),
    ]
}

async fn start_votebox(url: &str, github: &FakeGithub, voters: &[String]) -> (Proc, String) {
    let refs: Vec<&str> = voters.iter().map(String::as_str).collect();
    let meta = MetaFixture::create(&ops_election(&refs));
    let env = server_env(github);
    let env_refs: Vec<(&str, String)> = env.iter().map(|(k, v)| (*k, v.clone())).collect();
    let mut p = Proc::start_on(Some(url), &env_refs, meta);
    github.set_callback(p.url("/oauth/github/callback"));
    let line = p.wait_for_log("metrics on http://", Duration::from_secs(30));
    let metrics = format!(
        "http://{}",
        line.split("metrics on http://")
            .nth(1)
            .unwrap()
            .split(['"', ' '])
            .next()
            .unwrap()
    );
    (p, metrics)
}

async fn scrape(metrics_url: &str) -> String {
    reqwest::get(metrics_url)
        .await
        .expect("scrape")
        .text()
        .await
        .unwrap()
}

// ------------------------------------------------------------------------------------------------
// Load test

async fn load(engine: Engine) {
    let n = env_usize("LOAD_VOTERS", 500);
    let readers = env_usize("LOAD_READERS", 8);
    let deadline_s = env_usize("LOAD_DEADLINE_SECONDS", 40 * 60) as u64;
    let test_db = TestDb::create(engine).await;
    let github = FakeGithub::start().await;
    let logins = voter_logins(n);
    let (mut p, metrics_url) = start_votebox(&test_db.url, &github, &logins).await;

    let started = Instant::now();
    let deadline = started + Duration::from_secs(deadline_s);
    let rec: Shared = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let rss = spawn_rss_sampler(p.child.id(), stop.clone());
    let reader_tasks = spawn_readers(&Target::of(&p), readers, rec.clone(), started, stop.clone());
    let max_queue = Arc::new(AtomicU64::new(0));
    let queue_probe = {
        let stop = stop.clone();
        let url = metrics_url.clone();
        let max_queue = max_queue.clone();
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(r) = reqwest::get(&url).await
                    && let Ok(t) = r.text().await
                    && let Some(d) = metric(&t, "kdf_queue_depth")
                {
                    max_queue.fetch_max(d as u64, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };

    let target = Target::of(&p);
    let github = Arc::new(github);
    let tasks = spawn_voters(&target, &github, &logins, &rec, started, deadline);
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    let mut errors = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok((c, r)) => {
                *outcomes.entry(format!("{c:?}")).or_default() += 1;
                if r > 0 {
                    *outcomes.entry("retried".into()).or_default() += 1;
                }
            }
            Err(e) => errors.push(e),
        }
    }
    let cast_time = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for t in reader_tasks {
        t.await.unwrap();
    }
    queue_probe.await.unwrap();
    let metrics_text = scrape(&metrics_url).await;
    let peak_rss_kib = rss.join().unwrap();
    p.sigterm();
    let code = p.wait_exit(Duration::from_secs(60));
    let (voters, doubled, ballots, distinct) = stored(&test_db.url).await;
    let rec = rec.lock().unwrap();

    println!("\n=== load test: {engine:?}, {n} voters, {readers} readers ===");
    println!(
        "casting took {:.1} s ({:.2} ballots/s); outcomes {outcomes:?}; errors {}",
        cast_time.as_secs_f64(),
        n as f64 / cast_time.as_secs_f64(),
        errors.len()
    );
    println!(
        "page reads during casting: {} requests, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        rec.page_ms.len(),
        percentile(&rec.page_ms, 50.0),
        percentile(&rec.page_ms, 99.0),
        percentile(&rec.page_ms, 100.0)
    );
    println!(
        "cast (form + POST, incl. KDF queue): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; peak kdf_queue_depth {}",
        percentile(&rec.cast_ms, 50.0),
        percentile(&rec.cast_ms, 99.0),
        percentile(&rec.cast_ms, 100.0),
        max_queue.load(Ordering::Relaxed)
    );
    println!(
        "statuses {:?}; transport errors {} {:?}; 5xx {}",
        rec.statuses,
        rec.transport_errors,
        rec.transport_samples,
        rec.server_errors.len()
    );
    println!(
        "peak RSS {:.0} MiB; stored: {voters} voter rows ({doubled} doubled), {ballots} ballot rows, {distinct} ballot voters; ballots_cast_total {:?}; exit {code:?}",
        peak_rss_kib as f64 / 1024.0,
        metric(&metrics_text, "ballots_cast_total")
    );

    assert!(errors.is_empty(), "voter errors: {errors:#?}");
    assert!(rec.server_errors.is_empty(), "5xx: {:?}", rec.server_errors);
    assert_eq!(voters, n as i64, "one voter row per voter");
    assert_eq!(doubled, 0);
    assert_eq!(ballots, 2 * n as i64, "two ballot rows per voter");
    assert_eq!(distinct, n as i64);
    assert_eq!(metric(&metrics_text, "ballots_cast_total"), Some(n as f64));
    assert_eq!(code, Some(0));
    drop(test_db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "minutes of CPU: bash benches/load.sh"]
async fn load_sqlite() {
    load(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "minutes of CPU: bash benches/load.sh"]
async fn load_postgres() {
    load(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "minutes of CPU: bash benches/load.sh"]
async fn load_mysql() {
    load(Engine::MySql).await;
}

// ------------------------------------------------------------------------------------------------
// Database restart under load (private servers)

/// A throw-away PostgreSQL or MariaDB server of our own on 127.0.0.1 (the shared servers other
/// tests use are never stopped). Runs as the `postgres` / `mysql` system user when we are root.
struct PrivateDb {
    engine: Engine,
    port: u16,
    dir: tempfile::TempDir,
    /// MariaDB runs in the foreground as our child; PostgreSQL through `pg_ctl`.
    child: Option<Child>,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `cmd args…` as `user` when root (servers refuse to run as root), else as ourselves.
fn as_user(user: &str, program: &Path, args: &[String]) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", user, "--"]).arg(program).args(args);
        c
    } else {
        let mut c = Command::new(program);
        c.args(args);
        c
    }
}

fn pg_bin(name: &str) -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (/usr/lib/postgresql)")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    versions.sort();
    versions
        .last()
        .expect("a PostgreSQL version")
        .join("bin")
        .join(name)
}

fn run_ok(mut c: Command, what: &str) {
    let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl PrivateDb {
    fn create(engine: Engine) -> PrivateDb {
        let dir = tempfile::Builder::new()
            .prefix("votebox-privdb-")
            .tempdir()
            .unwrap();
        let port = free_port();
        let owner = match engine {
            Engine::Postgres => "postgres",
            Engine::MySql => "mysql",
            Engine::Sqlite => unreachable!("no server for SQLite"),
        };
        if is_root() {
            run_ok(
                {
                    let mut c = Command::new("chown");
                    c.args(["-R", owner]).arg(dir.path());
                    c
                },
                "chown",
            );
        }
        let data = dir.path().join("data").display().to_string();
        match engine {
            Engine::Postgres => run_ok(
                as_user(
                    owner,
                    &pg_bin("initdb"),
                    &[
                        "-D".into(),
                        data,
                        "-A".into(),
                        "trust".into(),
                        "-U".into(),
                        "postgres".into(),
                        "--no-sync".into(),
                        "-E".into(),
                        "UTF8".into(),
                    ],
                ),
                "initdb",
            ),
            Engine::MySql => run_ok(
                as_user(
                    owner,
                    Path::new("/usr/bin/mariadb-install-db"),
                    &[
                        "--no-defaults".into(),
                        format!("--datadir={data}"),
                        "--auth-root-authentication-method=normal".into(),
                        "--skip-test-db".into(),
                    ],
                ),
                "mariadb-install-db",
            ),
            Engine::Sqlite => unreachable!(),
        }
        let mut db = PrivateDb {
            engine,
            port,
            dir,
            child: None,
        };
        db.start();
        db
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn admin_url(&self) -> String {
        match self.engine {
            Engine::Postgres => format!("postgres://postgres@127.0.0.1:{}/postgres", self.port),
            _ => format!("mysql://root@127.0.0.1:{}/mysql", self.port),
        }
    }

    fn url(&self) -> String {
        match self.engine {
            Engine::Postgres => format!("postgres://postgres@127.0.0.1:{}/votebox", self.port),
            _ => format!("mysql://root@127.0.0.1:{}/votebox", self.port),
        }
    }

    fn start(&mut self) {
        let dir = self.dir.path().display().to_string();
        match self.engine {
            Engine::Postgres => run_ok(
                as_user(
                    "postgres",
                    &pg_bin("pg_ctl"),
                    &[
                        "-D".into(),
                        self.data(),
                        "-l".into(),
                        format!("{dir}/server.log"),
                        "-o".into(),
                        format!(
                            "-p {} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off",
                            self.port
                        ),
                        "-w".into(),
                        "start".into(),
                    ],
                ),
                "pg_ctl start",
            ),
            Engine::MySql => {
                let child = as_user(
                    "mysql",
                    Path::new("/usr/sbin/mariadbd"),
                    &[
                        "--no-defaults".into(),
                        format!("--datadir={}", self.data()),
                        format!("--port={}", self.port),
                        "--bind-address=127.0.0.1".into(),
                        format!("--socket={dir}/mysqld.sock"),
                        format!("--pid-file={dir}/mysqld.pid"),
                        "--skip-log-bin".into(),
                        "--innodb-buffer-pool-size=64M".into(),
                        "--innodb-flush-log-at-trx-commit=2".into(),
                    ],
                )
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start mariadbd");
                self.child = Some(child);
            }
            Engine::Sqlite => unreachable!(),
        }
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "{:?} did not start", self.engine);
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop(&mut self) {
        match self.engine {
            Engine::Postgres => run_ok(
                as_user(
                    "postgres",
                    &pg_bin("pg_ctl"),
                    &[
                        "-D".into(),
                        self.data(),
                        "-m".into(),
                        "fast".into(),
                        "-w".into(),
                        "stop".into(),
                    ],
                ),
                "pg_ctl stop",
            ),
            _ => {
                if let Some(mut child) = self.child.take() {
                    // runuser forwards SIGTERM to mariadbd, which shuts down cleanly.
                    let _ = Command::new("kill")
                        .args(["-TERM", &child.id().to_string()])
                        .status();
                    let deadline = Instant::now() + Duration::from_secs(60);
                    while child.try_wait().ok().flatten().is_none() {
                        if Instant::now() > deadline {
                            let _ = child.kill();
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
                // If runuser did not pass the signal on: mariadbd's own pid, from its pid file.
                let pid_file = self.dir.path().join("mysqld.pid");
                if let Ok(pid) = std::fs::read_to_string(&pid_file) {
                    let _ = Command::new("kill").args(["-TERM", pid.trim()]).status();
                }
                let deadline = Instant::now() + Duration::from_secs(30);
                while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                    && Instant::now() < deadline
                {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    async fn create_database(&self) {
        let admin = Db::connect(&self.admin_url()).await.expect("admin connect");
        let sql = "CREATE DATABASE votebox".to_owned();
        match &admin {
            Db::Pg(p) => {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(p)
                    .await
                    .unwrap();
            }
            Db::My(p) => {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(p)
                    .await
                    .unwrap();
            }
            Db::Lite(_) => unreachable!(),
        }
        admin.close().await;
    }
}

impl Drop for PrivateDb {
    fn drop(&mut self) {
        let running = std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok();
        if running || self.child.is_some() {
            self.stop();
        }
    }
}

/// The database server is stopped for `DB_OUTAGE_SECONDS` (default 10) while voters cast and
/// readers read, then started again.
async fn db_restart(engine: Engine) {
    let n = env_usize("FAULT_VOTERS", 40);
    let outage = Duration::from_secs(env_usize("DB_OUTAGE_SECONDS", 10) as u64);
    let mut server = PrivateDb::create(engine);
    server.create_database().await;
    let github = FakeGithub::start().await;
    let mut logins = voter_logins(n);
    logins.push("probe".into());
    let (mut p, metrics_url) = start_votebox(&server.url(), &github, &logins).await;
    let target = Target::of(&p);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(20 * 60);
    let rec: Shared = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let readers = spawn_readers(&target, 4, rec.clone(), started, stop.clone());

    // A logged-in probe whose page needs the database.
    let probe = client();
    oauth_login(&probe, &target, &github, "probe")
        .await
        .expect("probe login");

    let github = Arc::new(github);
    let tasks = spawn_voters(&target, &github, &voter_logins(n), &rec, started, deadline);

    tokio::time::sleep(Duration::from_secs(3)).await;
    let outage_start = started.elapsed().as_secs_f64();
    server.stop();
    // During the outage: a clear 503 page on what needs the database, readiness 503, the public
    // pages (served from the meta snapshot) still 200.
    let t0 = Instant::now();
    let resp = probe
        .get(target.url("/app/elections/ops"))
        .send()
        .await
        .expect("answer during the outage");
    let page_wait = t0.elapsed();
    let status = resp.status();
    let body = resp.text().await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body:.500}");
    assert!(
        body.contains("The database cannot be reached"),
        "{body:.500}"
    );
    let ready = reqwest::get(target.url("/healthz/ready")).await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let public = reqwest::get(target.url("/elections/ops")).await.unwrap();
    let public_status = public.status();
    let remaining = outage.saturating_sub(t0.elapsed());
    tokio::time::sleep(remaining).await;
    server.start();
    let outage_end = started.elapsed().as_secs_f64();
    // Recovery by itself.
    let t1 = Instant::now();
    loop {
        let r = reqwest::get(target.url("/healthz/ready")).await;
        if r.is_ok_and(|r| r.status() == StatusCode::OK) {
            break;
        }
        assert!(t1.elapsed() < Duration::from_secs(60), "no recovery");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let recovered_after = t1.elapsed();

    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    let mut errors = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok((c, r)) => {
                *outcomes.entry(format!("{c:?}")).or_default() += 1;
                if r > 0 {
                    *outcomes.entry("retried".into()).or_default() += 1;
                }
            }
            Err(e) => errors.push(e),
        }
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.await.unwrap();
    }
    let metrics_text = scrape(&metrics_url).await;
    p.sigterm();
    let code = p.wait_exit(Duration::from_secs(60));
    let (voters, doubled, ballots, distinct) = stored(&server.url()).await;
    let rec = rec.lock().unwrap();
    let non_503: Vec<&(f64, u16)> = rec
        .server_errors
        .iter()
        .filter(|(_, s)| *s != 503)
        .collect();
    let late_503: Vec<&(f64, u16)> = rec
        .server_errors
        .iter()
        .filter(|(t, _)| *t < outage_start - 1.0 || *t > outage_end + 15.0)
        .collect();

    println!("\n=== database restart: {engine:?}, {n} voters, outage {outage:?} ===");
    println!(
        "DB page during the outage: 503 after {:.1} s; public page {public_status}; ready again {:.1} s after the restart",
        page_wait.as_secs_f64(),
        recovered_after.as_secs_f64()
    );
    println!(
        "outcomes {outcomes:?}; errors {}; statuses {:?}; transport errors {} {:?}; 503s {}",
        errors.len(),
        rec.statuses,
        rec.transport_errors,
        rec.transport_samples,
        rec.server_errors.len()
    );
    println!(
        "stored: {voters} voter rows ({doubled} doubled), {ballots} ballot rows, {distinct} ballot voters; ballots_cast_total {:?}; exit {code:?}",
        metric(&metrics_text, "ballots_cast_total")
    );

    assert!(errors.is_empty(), "{errors:#?}");
    assert!(non_503.is_empty(), "5xx other than 503: {non_503:?}");
    assert!(late_503.is_empty(), "503 outside the outage: {late_503:?}");
    assert_eq!(
        public_status,
        StatusCode::OK,
        "public pages need no database"
    );
    assert_eq!((voters, doubled), (n as i64, 0), "nothing lost or doubled");
    assert_eq!((ballots, distinct), (2 * n as i64, n as i64));
    assert_eq!(code, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts private database servers: bash benches/faults.sh"]
async fn db_restart_postgres() {
    db_restart(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts private database servers: bash benches/faults.sh"]
async fn db_restart_mariadb() {
    db_restart(Engine::MySql).await;
}
