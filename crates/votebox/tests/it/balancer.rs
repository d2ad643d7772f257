//! Several `votebox serve` processes behind HAProxy (issue 16 items 1 and 4): the real binary,
//! three instances on one PostgreSQL or MariaDB database, one bare meta repository over
//! `file://`, the fake GitHub OAuth provider, and HAProxy (Debian's package; `.ci/run` installs
//! it) running `deploy/haproxy/votebox.cfg` on loopback ports: round-robin, no stickiness.
//!
//! * `balancer_<engine>` (CI): `BALANCER_VOTERS` voters (default 20) log in through the balancer
//!   (each OAuth step may reach another instance) and cast with the real KDF while readers load
//!   pages; after a third of the ballots one instance is killed with SIGKILL and restarted.
//!   Then a webhook through the balancer must update every instance, with one fetch. Asserts:
//!   every ballot stored exactly once, one per login, no 5xx but on casts cut by the kill (and
//!   those answer the balancer's "Please try again" page), no request without an answer but
//!   during the kill (re-sent at once, as a browser does: see [`send`]), every voter done.
//! * `bench_<engine>` (ignored; `bash benches/instances.sh`): ballots per second sustained by 1,
//!   2 and 3 instances, page requests per second through the balancer (wrk), memory per
//!   instance.
//!
//! Traffic goes to 127.0.0.1 only; every wait has a deadline.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::fake_github::{FakeGithub, FakeUser};
use crate::harness::{Engine, MetaFixture, TestDb, extract_csrf, free_port, location};
use crate::load::{env_usize, percentile, scalar, server_env, status_kib, stored, voter_logins};
use crate::ops::{META_SECRET, Proc, ops_election};

/// Words of the balancer's 502/503 pages (`deploy/haproxy/errors/`).
const RETRY_PAGE: &str = "Please try again";
const READ_PAGES: [&str; 4] = ["/elections", "/elections/ops", "/elections/2021---GB", "/"];

// ------------------------------------------------------------------------------------------------
// HAProxy

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// HAProxy in the foreground, running `deploy/haproxy/votebox.cfg` with loopback addresses.
struct Haproxy {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Haproxy {
    fn start(backends: &[u16]) -> Haproxy {
        let deploy = repo_root().join("deploy/haproxy");
        let example = std::fs::read_to_string(deploy.join("votebox.cfg")).expect("the example");
        let port = free_port();
        let mut cfg = String::new();
        for line in example.lines() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("bind ") {
                cfg.push_str(&format!("    bind 127.0.0.1:{port}\n"));
            } else if trimmed.starts_with("server ") {
                continue;
            } else {
                cfg.push_str(&line.replace(
                    "/etc/haproxy/errors/",
                    &format!("{}/errors/", deploy.display()),
                ));
                cfg.push('\n');
            }
        }
        for (i, backend) in backends.iter().enumerate() {
            cfg.push_str(&format!(
                "    server votebox-{i} 127.0.0.1:{backend} check\n"
            ));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("haproxy.cfg");
        std::fs::write(&path, cfg).unwrap();
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haproxy is installed (Debian package haproxy; .ci/run installs it)");
        Haproxy {
            child,
            port,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------------------------------------
// A cluster: instances + balancer

struct Cluster {
    lb: Haproxy,
    ports: Vec<u16>,
    instances: Vec<Option<Proc>>,
    db_url: String,
    remote: String,
    env: Vec<(&'static str, String)>,
}

impl Cluster {
    async fn start(db_url: &str, remote: &str, github: &FakeGithub, n: usize) -> Cluster {
        let mut env = server_env(github);
        // One 512 MiB KDF at a time per instance: three fit any CI machine.
        env.push((
            "VOTEBOX_KDF_CONCURRENCY",
            std::env::var("BALANCER_KDF_CONCURRENCY").unwrap_or_else(|_| "1".into()),
        ));
        let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let mut cluster = Cluster {
            lb: Haproxy::start(&ports),
            ports,
            instances: (0..n).map(|_| None).collect(),
            db_url: db_url.to_owned(),
            remote: remote.to_owned(),
            env,
        };
        for i in 0..n {
            cluster.start_instance(i).await;
        }
        // Through the balancer once its health checks passed.
        let c = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = c.get(cluster.lb.url("/healthz/ready")).send().await
                && r.status() == StatusCode::OK
            {
                break;
            }
            assert!(Instant::now() < deadline, "the balancer never got ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        cluster
    }

    async fn start_instance(&mut self, i: usize) {
        let mut env = self.env.clone();
        env.push(("APP_PORT", self.ports[i].to_string()));
        let (url, remote) = (self.db_url.clone(), self.remote.clone());
        let proc = tokio::task::spawn_blocking(move || {
            let env_refs: Vec<(&str, String)> = env.iter().map(|(k, v)| (*k, v.clone())).collect();
            Proc::start_instance(&url, &env_refs, &remote)
        })
        .await
        .unwrap();
        self.instances[i] = Some(proc);
    }

    fn pid(&self, i: usize) -> Option<u32> {
        self.instances[i].as_ref().map(|p| p.child.id())
    }

    /// The metrics listener instance `i` announced in its log.
    fn metrics_url(&mut self, i: usize) -> String {
        crate::ops::metrics_url(self.instances[i].as_mut().expect("a running instance"))
    }

    /// The warnings and errors every instance logged (a killed one's are gone with it).
    fn problems(&self) -> Vec<String> {
        self.instances
            .iter()
            .flatten()
            .flat_map(|p| {
                p.log_text()
                    .lines()
                    .filter(|l| l.contains("WARN") || l.contains("ERROR"))
                    .map(|l| format!("{}: {l}", p.addr))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn stop(&mut self) -> Vec<Option<i32>> {
        for p in self.instances.iter().flatten() {
            p.sigterm();
        }
        self.instances
            .iter_mut()
            .flatten()
            .map(|p| p.wait_exit(Duration::from_secs(60)))
            .collect()
    }
}

// ------------------------------------------------------------------------------------------------
// Clients

#[derive(Default)]
struct Record {
    /// (what, status) → count.
    statuses: BTreeMap<(String, u16), u64>,
    /// (seconds since start, what, status, answered with the retry page) of every 5xx.
    server_errors: Vec<(f64, String, u16, bool)>,
    /// The start of each 5xx page that is not the balancer's retry page.
    other_error_pages: Vec<String>,
    /// Every request that got no answer at all.
    transport_errors: Vec<NoAnswer>,
    page_reads: u64,
    cast_ms: Vec<f64>,
}

/// A request that got no answer.
struct NoAnswer {
    /// Seconds since start.
    at: f64,
    what: String,
    error: String,
    /// Re-sent at once, as a browser does (see [`send`]); otherwise the voter tries again later.
    resent: bool,
}

type Shared = Arc<Mutex<Record>>;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap()
}

/// An answer, or why it is worth trying again (a 5xx, a 429, no answer at all).
enum Answer {
    Got(StatusCode, String, String),
    Retry,
}

async fn send(rec: &Shared, started: Instant, what: &str, req: reqwest::RequestBuilder) -> Answer {
    // When an instance dies while answering a request that came on a kept-alive connection,
    // HAProxy closes that connection without an answer, as the instance would have, and the
    // browser sends the request again, POST included (Chromium and Firefox re-send once when a
    // reused connection closes before any response header). So does this voter.
    let again = req.try_clone();
    let mut sent = req.send().await;
    if let (Err(e), Some(again)) = (&sent, again)
        && closed_before_answer(e)
    {
        rec.lock().unwrap().transport_errors.push(NoAnswer {
            at: started.elapsed().as_secs_f64(),
            what: what.to_owned(),
            error: format!("{e:?}"),
            resent: true,
        });
        sent = again.send().await;
    }
    let resp = match sent {
        Ok(r) => r,
        Err(e) => {
            rec.lock().unwrap().transport_errors.push(NoAnswer {
                at: started.elapsed().as_secs_f64(),
                what: what.to_owned(),
                error: format!("{e:?}"),
                resent: false,
            });
            return Answer::Retry;
        }
    };
    let status = resp.status();
    let loc = location(&resp);
    let body = resp.text().await.unwrap_or_default();
    let mut r = rec.lock().unwrap();
    *r.statuses
        .entry((what.to_owned(), status.as_u16()))
        .or_default() += 1;
    if status.is_server_error() {
        r.server_errors.push((
            started.elapsed().as_secs_f64(),
            what.to_owned(),
            status.as_u16(),
            body.contains(RETRY_PAGE),
        ));
        if !body.contains(RETRY_PAGE) {
            r.other_error_pages.push(body.chars().take(600).collect());
        }
        return Answer::Retry;
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Answer::Retry;
    }
    Answer::Got(status, loc, body)
}

/// The connection closed before any byte of an answer: what a browser re-sends.
fn closed_before_answer(e: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            return h.is_incomplete_message();
        }
        source = s.source();
    }
    false
}

/// Logs in through the balancer: login page, POST to GitHub's authorize URL, callback with a
/// code the fake provider issued for this voter (each step may reach another instance).
async fn login(
    c: &reqwest::Client,
    lb: &str,
    github: &FakeGithub,
    login: &str,
    rec: &Shared,
    started: Instant,
) -> Result<bool, String> {
    let Answer::Got(_, _, body) =
        send(rec, started, "login page", c.get(format!("{lb}/login"))).await
    else {
        return Ok(false);
    };
    let token = extract_csrf(&body).ok_or("no csrf on /login")?;
    let Answer::Got(status, authorize, _) = send(
        rec,
        started,
        "oauth start",
        c.post(format!("{lb}/oauth/github/login"))
            .form(&[("csrf_token", token.as_str())]),
    )
    .await
    else {
        return Ok(false);
    };
    if status != StatusCode::FOUND {
        return Err(format!("oauth start: {status}"));
    }
    let authorize = url::Url::parse(&authorize).map_err(|e| e.to_string())?;
    let state = authorize
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .ok_or("no state")?;
    let code = github.issue_code(FakeUser::for_login(login));
    let callback = format!("{lb}/oauth/github/callback?code={code}&state={state}");
    match send(rec, started, "oauth callback", c.get(callback)).await {
        Answer::Got(StatusCode::FOUND, _, _) => Ok(true),
        Answer::Got(status, _, body) => Err(format!("callback: {status}: {body:.200}")),
        Answer::Retry => Ok(false),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cast {
    Stored,
    /// A retry found the ballot stored (the answer to the first try was lost).
    AlreadyStored,
}

/// Logs in and casts one ballot through the balancer, like a voter who reloads the election page
/// after an error page: until stored (or found stored), or `deadline`.
async fn vote(
    lb: &str,
    github: &FakeGithub,
    who: &str,
    rec: &Shared,
    started: Instant,
    deadline: Instant,
) -> Result<(Cast, u32), String> {
    let c = client();
    let mut tries = 0u32;
    let mut logged_in = false;
    loop {
        if Instant::now() > deadline {
            return Err(format!("{who}: deadline reached after {tries} tries"));
        }
        if tries > 0 {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        tries += 1;
        if !logged_in {
            logged_in = login(&c, lb, github, who, rec, started)
                .await
                .map_err(|e| format!("{who}: {e}"))?;
            if !logged_in {
                continue;
            }
        }
        let vote_url = format!("{lb}/app/elections/ops/vote");
        let Answer::Got(status, _, body) = send(rec, started, "vote form", c.get(&vote_url)).await
        else {
            continue;
        };
        if status != StatusCode::OK {
            return Err(format!("{who}: vote form {status}: {body:.300}"));
        }
        if body.contains("You have already voted") {
            return Ok((Cast::AlreadyStored, tries - 1));
        }
        let token = extract_csrf(&body).ok_or(format!("{who}: no csrf on the vote form"))?;
        let (a, b) = if who.ends_with(['0', '2', '4', '6', '8']) {
            ("1", "2")
        } else {
            ("2", "1")
        };
        let passphrase = format!("passphrase of {who}");
        let t0 = Instant::now();
        let post = c.post(&vote_url).form(&[
            ("csrf_token", token.as_str()),
            ("candidate@alpha", a),
            ("candidate@beta", b),
            ("password", passphrase.as_str()),
        ]);
        match send(rec, started, "cast", post).await {
            Answer::Got(StatusCode::FOUND, loc, _) if loc.ends_with("/confirmation") => {
                rec.lock()
                    .unwrap()
                    .cast_ms
                    .push(t0.elapsed().as_secs_f64() * 1000.0);
                return Ok((Cast::Stored, tries - 1));
            }
            Answer::Got(StatusCode::CONFLICT, _, _) => return Ok((Cast::AlreadyStored, tries - 1)),
            Answer::Got(status, _, body) => {
                return Err(format!("{who}: cast {status}: {body:.300}"));
            }
            Answer::Retry => continue,
        }
    }
}

fn spawn_readers(
    lb: &str,
    n: usize,
    rec: &Shared,
    started: Instant,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..n)
        .map(|i| {
            let (lb, rec, stop) = (lb.to_owned(), rec.clone(), stop.clone());
            tokio::spawn(async move {
                let c = reqwest::Client::new();
                let mut k = i;
                while !stop.load(Ordering::Relaxed) {
                    let path = READ_PAGES[k % READ_PAGES.len()];
                    k += 1;
                    if let Answer::Got(..) =
                        send(&rec, started, "page", c.get(format!("{lb}{path}"))).await
                    {
                        rec.lock().unwrap().page_reads += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        })
        .collect()
}

/// Peak RSS (KiB) of each pid, sampled every 100 ms until `stop`.
fn spawn_rss_sampler(
    pids: Arc<Mutex<Vec<Option<u32>>>>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<u64>> {
    std::thread::spawn(move || {
        let mut peaks = vec![0u64; pids.lock().unwrap().len()];
        while !stop.load(Ordering::Relaxed) {
            for (i, pid) in pids.lock().unwrap().iter().enumerate() {
                if let Some(kib) = pid.and_then(|pid| status_kib(pid, "VmRSS:")) {
                    peaks[i] = peaks[i].max(kib);
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        peaks
    })
}

// ------------------------------------------------------------------------------------------------
// A vote through the balancer

struct Run {
    seconds: f64,
    outcomes: BTreeMap<String, u64>,
    errors: Vec<String>,
    rec: Record,
    peak_rss_kib: Vec<u64>,
    /// When the instance was killed and when it served again (seconds since start).
    kill: Option<(f64, f64)>,
}

/// `logins` vote through the balancer, `concurrency` at a time, with `readers` loading pages;
/// with `kill_after`, instance 1 is killed (SIGKILL) once that many voters are done, and restarted.
async fn run_vote(
    cluster: &mut Cluster,
    github: &Arc<FakeGithub>,
    logins: &[String],
    concurrency: usize,
    readers: usize,
    kill_after: Option<usize>,
) -> Run {
    let started = Instant::now();
    let deadline =
        started + Duration::from_secs(env_usize("BALANCER_DEADLINE_SECONDS", 3600) as u64);
    let rec: Shared = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let pids = Arc::new(Mutex::new(
        (0..cluster.instances.len())
            .map(|i| cluster.pid(i))
            .collect::<Vec<_>>(),
    ));
    let rss = spawn_rss_sampler(pids.clone(), stop.clone());
    let lb = cluster.lb.url("");
    let reader_tasks = spawn_readers(&lb, readers, &rec, started, &stop);
    let done = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let tasks: Vec<_> = logins
        .iter()
        .map(|who| {
            let (lb, github, rec, gate, who, done) = (
                lb.clone(),
                github.clone(),
                rec.clone(),
                gate.clone(),
                who.clone(),
                done.clone(),
            );
            tokio::spawn(async move {
                let _turn = gate.acquire_owned().await.unwrap();
                let result = vote(&lb, &github, &who, &rec, started, deadline).await;
                done.fetch_add(1, Ordering::SeqCst);
                result
            })
        })
        .collect();
    let mut kill = None;
    if let Some(after) = kill_after {
        while done.load(Ordering::SeqCst) < after {
            assert!(Instant::now() < deadline, "voting stalled before the kill");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let killed_at = started.elapsed().as_secs_f64();
        cluster.instances[1].as_mut().expect("instance 1").sigkill();
        pids.lock().unwrap()[1] = None;
        cluster.start_instance(1).await;
        pids.lock().unwrap()[1] = cluster.pid(1);
        kill = Some((killed_at, started.elapsed().as_secs_f64()));
    }
    let mut outcomes = BTreeMap::new();
    let mut errors = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok((cast, retries)) => {
                *outcomes.entry(format!("{cast:?}")).or_default() += 1;
                if retries > 0 {
                    *outcomes.entry("retried".to_owned()).or_default() += 1;
                }
            }
            Err(e) => errors.push(e),
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in reader_tasks {
        t.await.unwrap();
    }
    let peak_rss_kib = rss.join().unwrap();
    let rec = std::mem::take(&mut *rec.lock().unwrap());
    Run {
        seconds,
        outcomes,
        errors,
        rec,
        peak_rss_kib,
        kill,
    }
}

fn print_run(label: &str, n: usize, run: &Run) {
    println!(
        "{label}: {n} ballots in {:.1} s = {:.2} ballots/s; outcomes {:?}; voter errors {}; \
         cast p50 {:.0} ms p99 {:.0} ms; page reads {}; transport errors {}; 5xx {}; \
         peak RSS per instance {:?} MiB",
        run.seconds,
        n as f64 / run.seconds,
        run.outcomes,
        run.errors.len(),
        percentile(&run.rec.cast_ms, 50.0),
        percentile(&run.rec.cast_ms, 99.0),
        run.rec.page_reads,
        run.rec.transport_errors.len(),
        run.rec.server_errors.len(),
        run.peak_rss_kib
            .iter()
            .map(|k| k / 1024)
            .collect::<Vec<_>>()
    );
}

/// Every ballot stored exactly once, one per login.
async fn assert_stored_once(db_url: &str, n: usize) {
    let (voters, doubled, ballots, distinct) = stored(db_url).await;
    assert_eq!(voters, n as i64, "one voter row per voter");
    assert_eq!(doubled, 0, "no user voted twice");
    assert_eq!(ballots, 2 * n as i64, "two ballot rows per voter");
    assert_eq!(distinct, n as i64, "one ballot per voter");
    let db = votebox_db::Db::connect(db_url).await.unwrap();
    let claims = scalar(
        &db,
        "SELECT COUNT(*) FROM votebox_login_claim c JOIN election e ON e.id = c.election_id \
         WHERE e.name = 'Ops Test Election' AND c.kind = 'ballot'"
            .to_owned(),
    )
    .await;
    db.close().await;
    assert_eq!(claims, n as i64, "one ballot claim per login");
}

fn mirror_commit(mirror: &Path) -> String {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(mirror)
        .args(["rev-parse", "refs/votebox/meta/main"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

// ------------------------------------------------------------------------------------------------
// CI: three instances, one killed mid-vote

async fn balancer(engine: Engine) {
    let n = env_usize("BALANCER_VOTERS", 20);
    let test_db = TestDb::create(engine).await;
    let github = Arc::new(FakeGithub::start().await);
    let logins = voter_logins(n);
    let refs: Vec<&str> = logins.iter().map(String::as_str).collect();
    let meta = MetaFixture::create(&ops_election(&refs));
    let mut cluster = Cluster::start(&test_db.url, &meta.remote_url(), &github, 3).await;

    let run = run_vote(&mut cluster, &github, &logins, 6, 2, Some(n / 3)).await;
    print_run(&format!("{engine:?}, 3 instances, one killed"), n, &run);
    let (killed_at, restarted_at) = run.kill.expect("killed");
    println!(
        "killed instance 1 at {killed_at:.1} s, serving again at {restarted_at:.1} s; 5xx: {:?}; other error pages: {:#?}",
        run.rec.server_errors, run.rec.other_error_pages
    );
    for line in cluster.problems() {
        println!("{line}");
    }
    for e in &run.rec.transport_errors {
        println!(
            "no answer at {:.1} s to {} (re-sent: {}): {}",
            e.at, e.what, e.resent, e.error
        );
    }
    assert!(run.errors.is_empty(), "voter errors: {:#?}", run.errors);
    assert_stored_once(&test_db.url, n).await;
    for e in &run.rec.transport_errors {
        // Only requests in flight on the killed instance may go unanswered.
        assert!(
            e.at >= killed_at && e.at <= restarted_at + 5.0,
            "no answer to {} at {:.1} s, outside the kill ({killed_at:.1}–{restarted_at:.1} s): {}",
            e.what,
            e.at,
            e.error
        );
    }
    for (at, what, status, retry_page) in &run.rec.server_errors {
        // Only a POST in flight on the killed instance may fail (the balancer retries GETs and
        // connection failures), with the retry page.
        assert!(
            what == "cast" || what == "oauth start",
            "{what} answered {status} at {at:.1} s"
        );
        assert!(*retry_page, "{status} at {at:.1} s without the retry page");
        assert!(
            *at >= killed_at && *at <= restarted_at + 5.0,
            "{status} at {at:.1} s, outside the kill ({killed_at:.1}–{restarted_at:.1} s)"
        );
    }

    // One fetch, everyone updated: a push, its webhook through the balancer.
    meta.write(
        "elections/later/election.yaml",
        "name: Later\norganization: votebox\nstart_datetime: 2000-01-01 00:00:00\n\
         end_datetime: 2099-12-31 23:59:59\nno_winners: 1\nallow_no_opinion: True\n\
         delete_after: False\nelection_officers:\n  - officer\n",
    );
    meta.write(
        "elections/later/voters.yaml",
        "eligible_voters:\n  - lv0000\n",
    );
    meta.commit_and_push("a later election");
    let before: Vec<String> = cluster
        .instances
        .iter()
        .flatten()
        .map(|p| mirror_commit(&p.mirror_path()))
        .collect();
    let body = br#"{"ref":"refs/heads/main"}"#;
    let resp = reqwest::Client::new()
        .post(cluster.lb.url("/v1/webhooks/meta/sync"))
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            votebox_meta::signature_header(META_SECRET, body),
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let sent = Instant::now();
    for p in cluster.instances.iter().flatten() {
        let page = p.url("/elections/later");
        while reqwest::get(&page).await.unwrap().status() != StatusCode::OK {
            assert!(
                sent.elapsed() < Duration::from_secs(60),
                "{page} never served"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    println!(
        "webhook through the balancer: every instance served the new commit {:.2} s after it answered",
        sent.elapsed().as_secs_f64()
    );
    let after: Vec<String> = cluster
        .instances
        .iter()
        .flatten()
        .map(|p| mirror_commit(&p.mirror_path()))
        .collect();
    let fetched = before.iter().zip(&after).filter(|(b, a)| b != a).count();
    assert_eq!(
        fetched, 1,
        "one instance fetched the push: {before:?} → {after:?}"
    );

    let codes = cluster.stop();
    assert!(codes.iter().all(|c| *c == Some(0)), "exit codes {codes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balancer_postgres() {
    balancer(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balancer_mysql() {
    balancer(Engine::MySql).await;
}

// ------------------------------------------------------------------------------------------------
// A real browser whose cast is cut by a kill

/// Titles of the pages a voter may see when the instance running their cast dies: the
/// balancer's retry page (a POST on a new connection), or, when the browser re-sent the POST by
/// itself (a kept-alive connection closed without an answer), the other instance's "already
/// being processed" page (the dead instance's claim on the user's KDF has not lapsed yet).
const CUT_CAST_PAGES: [&str; 2] = [RETRY_PAGE, "Your ballot is already being processed"];

/// Headless Chromium casts through HAProxy in front of two instances on PostgreSQL, and the
/// instance running the cast's KDF is killed with SIGKILL. The voter must see a page that says
/// what to do, never a browser error; after the dead instance's claim lapses they cast again
/// and the ballot is stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_a_cast_cut_by_a_kill_ends_on_a_clear_page() {
    use crate::e2e_support::Browser;
    use fantoccini::Locator;

    let test_db = TestDb::create(Engine::Postgres).await;
    let github = Arc::new(FakeGithub::start().await);
    let meta = MetaFixture::create(&ops_election(&["kim"]));
    let mut cluster = Cluster::start(&test_db.url, &meta.remote_url(), &github, 2).await;
    github.set_callback(cluster.lb.url("/oauth/github/callback"));
    let metrics: Vec<String> = (0..2).map(|i| cluster.metrics_url(i)).collect();
    let pids: Vec<u32> = (0..2).map(|i| cluster.pid(i).expect("running")).collect();
    let lb = cluster.lb.url("");
    let vote = format!("{lb}/app/elections/ops/vote");
    let pass = "a passphrase cut short";

    let browser = Browser::start().await;
    github.sign_in_as(FakeUser::for_login("kim"));
    browser.github_login(&lb).await;
    browser.client.goto(&vote).await.expect("open the ballot");
    browser
        .fill_ballot(&[("alpha", "1"), ("beta", "2")], pass)
        .await;

    // Kills whichever instance starts the cast's KDF, as soon as it does.
    let killer = tokio::spawn(async move {
        let c = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            for (i, url) in metrics.iter().enumerate() {
                let text = match c.get(url).send().await {
                    Ok(r) => r.text().await.unwrap_or_default(),
                    Err(_) => continue,
                };
                if text.contains("kdf_wait_seconds_count 1") {
                    let status = Command::new("kill")
                        .args(["-KILL", &pids[i].to_string()])
                        .status()
                        .expect("kill");
                    assert!(status.success(), "kill -KILL {}", pids[i]);
                    return (i, Instant::now());
                }
            }
            assert!(
                Instant::now() < deadline,
                "no instance started the cast's KDF"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    browser
        .click(Locator::Css("form.ballot button[type='submit']"))
        .await;
    let (killed, killed_at) = killer.await.unwrap();

    let deadline = Instant::now() + Duration::from_secs(60);
    let seen = loop {
        let url = browser.client.current_url().await.expect("current url");
        assert_ne!(
            url.scheme(),
            "chrome-error",
            "the browser showed its own error page"
        );
        let html = browser.source().await;
        if let Some(title) = CUT_CAST_PAGES.iter().find(|t| html.contains(**t)) {
            break *title;
        }
        assert!(
            Instant::now() < deadline,
            "no page that says what to do after the kill, at {url}:\n{html}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    browser.screenshot("balancer-cast-cut-by-a-kill").await;
    println!("instance {killed} killed mid-cast; the browser showed {seen:?}");
    cluster.instances[killed]
        .as_mut()
        .expect("the killed instance")
        .sigkill();

    // Once the dead instance's claim on the voter's KDF has lapsed (votebox-web's `CLAIM_TTL`,
    // 15 s after its last extension), the voter casts again.
    tokio::time::sleep_until((killed_at + Duration::from_secs(16)).into()).await;
    browser
        .client
        .goto(&vote)
        .await
        .expect("open the ballot again");
    browser
        .fill_ballot(&[("alpha", "1"), ("beta", "2")], pass)
        .await;
    browser
        .click(Locator::Css("form.ballot button[type='submit']"))
        .await;
    browser
        .wait_for_path("/app/elections/ops/confirmation")
        .await;
    browser.close().await;
    let (voters, doubled, ballots, distinct) = stored(&test_db.url).await;
    assert_eq!((voters, doubled, ballots, distinct), (1, 0, 2, 1));
    cluster.instances[killed] = None;
    cluster.stop();
}

// ------------------------------------------------------------------------------------------------
// Bench: 1, 2, 3 instances

/// `wrk` through the balancer for `seconds` on `path`; returns requests/s (and wrk's summary).
fn wrk(url: &str, seconds: u64) -> (f64, String) {
    let out = Command::new("wrk")
        .args(["-t2", "-c32", &format!("-d{seconds}s"), "--latency", url])
        .output()
        .expect("wrk is installed (Debian package wrk)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let rps = text
        .lines()
        .find(|l| l.starts_with("Requests/sec:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    (rps, text)
}

async fn bench(engine: Engine) {
    let n = env_usize("BENCH_VOTERS", 500);
    let counts: Vec<usize> = std::env::var("BENCH_INSTANCES")
        .unwrap_or_else(|_| "1 2 3".into())
        .split_whitespace()
        .filter_map(|c| c.parse().ok())
        .collect();
    let concurrency = env_usize("BENCH_CONCURRENCY", 16);
    println!(
        "\n=== instances bench: {engine:?}, {n} voters per run ({concurrency} at a time), real KDF (Argon2i 512 MiB), VOTEBOX_KDF_CONCURRENCY={} per instance, {} cores ===",
        std::env::var("BALANCER_KDF_CONCURRENCY").unwrap_or_else(|_| "1".into()),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for k in counts {
        let test_db = TestDb::create(engine).await;
        let github = Arc::new(FakeGithub::start().await);
        let logins = voter_logins(n);
        let refs: Vec<&str> = logins.iter().map(String::as_str).collect();
        let meta = MetaFixture::create(&ops_election(&refs));
        let mut cluster = Cluster::start(&test_db.url, &meta.remote_url(), &github, k).await;
        let idle: Vec<u64> = (0..k)
            .filter_map(|i| cluster.pid(i).and_then(|p| status_kib(p, "VmRSS:")))
            .map(|kib| kib / 1024)
            .collect();
        let run = run_vote(&mut cluster, &github, &logins, concurrency, 0, None).await;
        print_run(&format!("{k} instance(s)"), n, &run);
        println!("idle RSS per instance before voting: {idle:?} MiB");
        assert!(run.errors.is_empty(), "voter errors: {:#?}", run.errors);
        assert!(run.rec.server_errors.is_empty());
        assert_stored_once(&test_db.url, n).await;
        for path in ["/elections", "/elections/ops"] {
            let (rps, text) = wrk(
                &cluster.lb.url(path),
                env_usize("BENCH_WRK_SECONDS", 10) as u64,
            );
            println!(
                "wrk -t2 -c32 through the balancer, {k} instance(s), GET {path}: {rps:.0} requests/s"
            );
            if std::env::var_os("BENCH_VERBOSE").is_some() {
                println!("{text}");
            }
        }
        let after: Vec<u64> = (0..k)
            .filter_map(|i| cluster.pid(i).and_then(|p| status_kib(p, "VmRSS:")))
            .map(|kib| kib / 1024)
            .collect();
        println!("RSS per instance after the run: {after:?} MiB");
        cluster.stop();
        drop(cluster);
        drop(test_db);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "minutes of CPU: bash benches/instances.sh"]
async fn bench_postgres() {
    bench(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "minutes of CPU: bash benches/instances.sh"]
async fn bench_mysql() {
    bench(Engine::MySql).await;
}
