//! `votebox migrate` on legacy Elekto databases (issue 5, checklist 55–59), as an operator runs
//! it: the real binary against the fixtures Elekto's own code made (`shared/fixtures/legacy-db`),
//! killed with SIGKILL at every step of the upgrade and rerun, run twice at once, run as a user
//! that may not alter tables, and `--print-sql`. The row-by-row checks come from
//! `votebox_db::testing::elekto_fixtures` (the same as the library tests, which also open every link).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use votebox_db::migrate::{self, SchemaKind};
use votebox_db::testing::TestDatabase;
use votebox_db::testing::elekto_fixtures::{
    Fixture, check_manifest, fixtures, read_only_url, rows_as_text, snapshot, sqlite_path,
};
use votebox_db::{Backend, Db};

const BIN: &str = env!("CARGO_BIN_EXE_votebox");

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// The environment that points votebox at the database `url` (Elekto's variables for SQLite,
/// `DATABASE_URL` for the servers).
fn db_env(url: &str) -> Vec<(String, String)> {
    match Backend::from_url(url) {
        Some(Backend::Sqlite) => vec![
            ("DB_CONNECTION".into(), "sqlite".into()),
            (
                "DB_PATH".into(),
                sqlite_path(url).to_string_lossy().into_owned(),
            ),
        ],
        _ => vec![("DATABASE_URL".into(), url.to_owned())],
    }
}

fn command(dir: &Path, env: &[(String, String)], args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("RUST_LOG", "warn")
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn votebox(dir: &Path, env: &[(String, String)], args: &[&str]) -> Output {
    let out = command(dir, env, args).output().expect("run votebox");
    let o = Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!o.stderr.contains("panicked"), "{o:?}");
    o
}

/// `votebox migrate` with the pause hook set to `point`; returns the child once it reports it
/// paused there (or exited: then `None`), with everything it wrote to stderr so far.
fn migrate_paused_at(
    dir: &Path,
    env: &[(String, String)],
    point: &str,
) -> (Option<Child>, Vec<String>) {
    let mut env = env.to_vec();
    env.push((migrate::PAUSE_ENV.into(), point.into()));
    let mut child = command(dir, &env, &["migrate"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn votebox migrate");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                let paused = line.starts_with("votebox: paused at");
                lines.push(line);
                if paused {
                    return (Some(child), lines);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = child.wait();
                return (None, lines);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                assert!(Instant::now() < deadline, "no pause at {point}: {lines:?}");
            }
        }
    }
}

/// SIGKILL (what `Child::kill` sends on Unix) and reap.
fn sigkill(mut child: Child) {
    child.kill().expect("SIGKILL");
    let _ = child.wait();
}

/// Every pause point of a full upgrade of this fixture, in order (from a complete run).
async fn points_of(f: Fixture) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let (url, _guard) = f.load_url().await;
    let (child, lines) = migrate_paused_at(dir.path(), &db_env(&url), "(list every point)");
    assert!(child.is_none());
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("votebox: migrate point: "))
        .map(str::to_owned)
        .collect()
}

async fn connect(url: &str) -> Db {
    Db::connect(url).await.unwrap()
}

/// After a rerun: complete and correct, and Elekto could start on it.
async fn assert_complete(f: Fixture, url: &str, context: &str) {
    let db = connect(url).await;
    assert_eq!(
        migrate::detect(&db).await.unwrap(),
        SchemaKind::Managed,
        "{context}"
    );
    assert!(
        migrate::status(&db)
            .await
            .unwrap()
            .iter()
            .all(|m| m.applied),
        "{context}"
    );
    check_manifest(&db, &f.manifest())
        .await
        .unwrap_or_else(|e| panic!("{context}: {e}"));
    let marker = rows_as_text(&db, migrate::MARKER_TABLE).await;
    assert!(
        marker.iter().all(|r| r["finished_at"].is_some()),
        "{context}: {marker:?}"
    );
    let versions = rows_as_text(&db, "schema_version").await;
    assert_eq!(versions.len(), 1, "{context}");
    assert_eq!(versions[0]["version"].as_deref(), Some("2"), "{context}");
    migrate::ensure_adopted(&db).await.unwrap();
    db.close().await;
}

/// Kill `votebox migrate` at every point of the upgrade of `f`, check what the kill left, rerun,
/// check the result; then the same with kills after a delay (in flight, wherever they land).
async fn sigkill_everywhere(f: Fixture) {
    let points = points_of(f).await;
    assert!(points.len() >= 8, "{points:?}");
    let transactional = f.backend != Backend::MySql;
    for point in &points {
        let dir = tempfile::tempdir().unwrap();
        let (url, _guard): (String, TestDatabase) = f.load_url().await;
        let env = db_env(&url);
        let original = snapshot(&connect(&url).await).await;
        let (child, lines) = migrate_paused_at(dir.path(), &env, point);
        let child = child.unwrap_or_else(|| panic!("{point}: exited before pausing: {lines:?}"));
        sigkill(child);

        let db = connect(&url).await;
        let adoption_done = point == "before:migrations" || point == "after:migrations";
        if transactional && !(f.backend == Backend::Postgres && adoption_done) {
            // One transaction (SQLite: everything; PostgreSQL: the adoption): nothing changed.
            assert!(
                matches!(
                    migrate::detect(&db).await.unwrap(),
                    SchemaKind::LegacyElekto { .. }
                ),
                "{}: killed at {point}, the database is not as before",
                f.name
            );
            // (SQLite: the backup file is new, but it is outside the database.)
            assert_eq!(
                snapshot(&db).await,
                original,
                "{}: killed at {point}",
                f.name
            );
        } else if !adoption_done && point != "after:finish" {
            // MySQL part-way: recorded, and refused by the server until finished (after
            // `after:finish` only votebox's additive migrations are pending).
            assert!(
                migrate::ensure_adopted(&db).await.is_err(),
                "{}: a half-upgraded database is accepted (killed at {point})",
                f.name
            );
        }
        db.close().await;

        let rerun = votebox(dir.path(), &env, &["migrate"]);
        assert_eq!(
            rerun.code, 0,
            "{}: rerun after kill at {point}: {rerun:?}",
            f.name
        );
        assert!(rerun.stdout.contains("database is up to date"), "{rerun:?}");
        assert_complete(f, &url, &format!("{} killed at {point}", f.name)).await;
    }

    for delay_ms in [5, 20, 60, 120, 250, 500] {
        let dir = tempfile::tempdir().unwrap();
        let (url, _guard) = f.load_url().await;
        let env = db_env(&url);
        let child = command(dir.path(), &env, &["migrate"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        sigkill(child);
        let rerun = votebox(dir.path(), &env, &["migrate"]);
        assert_eq!(
            rerun.code, 0,
            "{}: rerun after kill at {delay_ms} ms: {rerun:?}",
            f.name
        );
        assert_complete(f, &url, &format!("{} killed after {delay_ms} ms", f.name)).await;
    }
}

fn schema1(backend: Backend) -> Fixture {
    fixtures(backend).find(|f| f.schema == 1).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checklist_57_sigkill_at_every_step_then_rerun_sqlite() {
    sigkill_everywhere(schema1(Backend::Sqlite)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checklist_57_sigkill_at_every_step_then_rerun_postgres() {
    sigkill_everywhere(schema1(Backend::Postgres)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checklist_57_sigkill_at_every_step_then_rerun_mysql() {
    sigkill_everywhere(schema1(Backend::MySql)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checklist_55_sigkill_during_adoption_of_schema2_then_rerun() {
    for backend in Backend::ALL {
        let f = fixtures(backend).find(|f| f.schema == 2).unwrap();
        let points = points_of(f).await;
        // Kill at a few points of the (short) adoption: before anything, mid-way, at the end.
        for point in ["after:marker", "after:history-table", "after:finish"] {
            assert!(points.iter().any(|p| p == point), "{points:?}");
            let dir = tempfile::tempdir().unwrap();
            let (url, _guard) = f.load_url().await;
            let env = db_env(&url);
            let (child, lines) = migrate_paused_at(dir.path(), &env, point);
            sigkill(child.unwrap_or_else(|| panic!("{point}: {lines:?}")));
            let rerun = votebox(dir.path(), &env, &["migrate"]);
            assert_eq!(rerun.code, 0, "{rerun:?}");
            assert_complete(f, &url, &format!("{} killed at {point}", f.name)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// The normal run prints what it found, each step, the backup (SQLite), and rerunning changes
/// nothing; `serve` refuses the database until it is migrated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checklist_57_migrate_prints_what_it_found_and_each_step() {
    for backend in Backend::ALL {
        let f = schema1(backend);
        let dir = tempfile::tempdir().unwrap();
        let (url, _guard) = f.load_url().await;
        let env = db_env(&url);

        // Not migrated yet: the server refuses to serve it.
        let mut serve_env = env.clone();
        for (k, v) in [
            ("META_REPO", "file:///nonexistent/meta.git"),
            ("ELECTION_DIR", "elections"),
            ("APP_PORT", "0"),
            (
                "APP_KEY",
                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            ),
        ] {
            serve_env.push((k.into(), v.into()));
        }
        let serve = votebox(dir.path(), &serve_env, &["serve"]);
        assert_ne!(serve.code, 0, "{serve:?}");
        assert!(serve.stderr.contains("votebox migrate"), "{serve:?}");

        let o = votebox(dir.path(), &env, &["migrate"]);
        assert_eq!(o.code, 0, "{o:?}");
        assert!(
            o.stdout
                .contains("found an Elekto database at schema 1 (Elekto 0.5.x"),
            "{o:?}"
        );
        assert!(o.stdout.contains("step: create schema_version"), "{o:?}");
        assert!(o.stdout.contains("step: add voter.salt"), "{o:?}");
        assert!(o.stdout.contains("applied migration 2"), "{o:?}");
        assert!(o.stdout.contains("database is up to date"), "{o:?}");
        if backend == Backend::Sqlite {
            let line = o
                .stdout
                .lines()
                .find(|l| l.starts_with("note: backup of the Elekto database"))
                .unwrap_or_else(|| panic!("{o:?}"));
            let path = line.rsplit(": ").next().unwrap();
            assert!(Path::new(path).exists(), "{line}");
            assert!(
                o.stdout.contains("whose election no longer exists"),
                "{o:?}"
            );
        }
        let again = votebox(dir.path(), &env, &["migrate"]);
        assert_eq!(again.code, 0, "{again:?}");
        assert!(again.stdout.contains("managed by votebox"), "{again:?}");
        assert!(!again.stdout.contains("step:"), "{again:?}");
        assert!(!again.stdout.contains("applied migration"), "{again:?}");
        assert_complete(f, &url, backend.name()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checklist_57_two_migrate_processes_at_once() {
    for backend in Backend::ALL {
        let f = schema1(backend);
        let dir = tempfile::tempdir().unwrap();
        let (url, _guard) = f.load_url().await;
        let env = db_env(&url);
        let children: Vec<Child> = (0..2)
            .map(|_| {
                command(dir.path(), &env, &["migrate"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outs: Vec<std::process::Output> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        for o in &outs {
            assert!(
                o.status.success(),
                "{backend}: {}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let upgraded = outs
            .iter()
            .filter(|o| String::from_utf8_lossy(&o.stdout).contains("step: "))
            .count();
        assert_eq!(upgraded, 1, "{backend}: exactly one process upgraded");
        assert_complete(f, &url, backend.name()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checklist_57_no_alter_permission_prints_sql_and_changes_nothing() {
    for backend in [Backend::Postgres, Backend::MySql] {
        let f = schema1(backend);
        let dir = tempfile::tempdir().unwrap();
        let (url, _guard) = f.load_url().await;
        let admin = connect(&url).await;
        let before = snapshot(&admin).await;
        let ro = read_only_url(&url).await;
        let o = votebox(dir.path(), &db_env(&ro), &["migrate"]);
        assert_eq!(o.code, 1, "{o:?}");
        assert!(
            o.stdout.contains("SQL for the owner of the tables"),
            "{o:?}"
        );
        assert!(o.stdout.contains("ALTER TABLE"), "{o:?}");
        assert!(o.stdout.contains("INSERT INTO _sqlx_migrations"), "{o:?}");
        let last = o.stderr.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("votebox: error:") && last.contains("nothing was changed"),
            "{o:?}"
        );
        assert_eq!(
            snapshot(&admin).await,
            before,
            "{backend}: something changed"
        );
        admin.close().await;
    }
}

#[test]
fn checklist_57_print_sql_for_every_engine_and_starting_version() {
    let dir = tempfile::tempdir().unwrap();
    for (engine, marker) in [
        (
            "pg",
            "ALTER TABLE ballot ALTER COLUMN id TYPE CHAR(32) USING to_char(id",
        ),
        (
            "mysql",
            "ALTER TABLE `ballot` MODIFY `id` CHAR(32) NOT NULL",
        ),
        ("sqlite", "ALTER TABLE ballot RENAME TO"),
    ] {
        let v1 = votebox(
            dir.path(),
            &[],
            &["migrate", "--print-sql", "--engine", engine, "--from", "1"],
        );
        assert_eq!(v1.code, 0, "{v1:?}");
        assert!(v1.stdout.contains(marker), "{engine}: {v1:?}");
        assert!(v1.stdout.contains("_sqlx_migrations"), "{v1:?}");
        let v2 = votebox(
            dir.path(),
            &[],
            &["migrate", "--print-sql", "--engine", engine, "--from", "2"],
        );
        assert_eq!(v2.code, 0, "{v2:?}");
        assert!(!v2.stdout.contains("ALTER TABLE"), "{engine}: {v2:?}");
        assert!(v2.stdout.contains("votebox_election_state"), "{v2:?}");
    }
    // Default: from 1, engine from the configuration.
    let o = votebox(
        dir.path(),
        &[("DB_CONNECTION".into(), "postgresql".into())],
        &["migrate", "--print-sql"],
    );
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.stdout.contains("to_char(id"), "{o:?}");
    // Neither --engine nor a configuration: a usage/configuration error, exit 2.
    let o = votebox(dir.path(), &[], &["migrate", "--print-sql"]);
    assert_eq!(o.code, 2, "{o:?}");
    let o = votebox(
        dir.path(),
        &[],
        &["migrate", "--print-sql", "--engine", "pg", "--from", "3"],
    );
    assert_eq!(o.code, 2, "{o:?}");
}

// ---------------------------------------------------------------------------------------------
// The server on a migrated fixture (item 2): a voter from the fixture logs in, sees that they
// voted, views their ballot with the passphrase; schema-1 voters can also revoke (item 3).

async fn serve_migrated(f: Fixture) -> crate::harness::TestApp {
    use crate::harness::{Options, TestApp, TestDb};
    let (db, url, guard) = f.load().await;
    migrate::run(&db).await.unwrap();
    TestApp::spawn_on(
        TestDb::from_parts(db, f.backend, url, guard),
        Options::default(),
    )
    .await
}

/// dims's ballot in 2021---GB, from the manifest: (ballot voter, candidate → rank).
fn dims_ballot(f: Fixture) -> (String, Vec<(String, i64)>) {
    let m = f.manifest();
    let set = m["ballot_sets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["username"] == "dims" && s["election_key"] == "2021---GB")
        .expect("dims voted in 2021---GB");
    let rows = set["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["candidate"].as_str().unwrap().to_owned(),
                r["rank"].as_i64().unwrap(),
            )
        })
        .collect();
    (set["ballot_voter"].as_str().unwrap().to_owned(), rows)
}

async fn view_and_revoke(f: Fixture, revoke: bool) {
    use reqwest::StatusCode;
    let app = serve_migrated(f).await;
    app.login_as("dims").await;
    let dashboard = app.ok_page("/app").await;
    assert!(dashboard.contains("2021---GB"), "{}: {dashboard}", f.name);
    let page = app.ok_page("/app/elections/2021---GB").await;
    assert!(
        page.contains("id=\"voter-status\">Voted<"),
        "{}: {page}",
        f.name
    );

    let token = app.csrf_token("/app/elections/2021---GB").await;
    let wrong = app
        .post_form(
            "/app/elections/2021---GB/vote/view",
            &[("password", "not-the-passphrase"), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::FOUND, "{}", f.name);

    let (ballot_voter, rows) = dims_ballot(f);
    let resp = app
        .post_form(
            "/app/elections/2021---GB/vote/view",
            &[("password", "dims-2021-vote"), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", f.name);
    let body = resp.text().await.unwrap();
    for (candidate, rank) in &rows {
        assert!(
            body.contains(candidate.as_str()),
            "{}: {candidate} missing:\n{body}",
            f.name
        );
        if *rank != 100_000_000 {
            assert!(body.contains(&rank.to_string()), "{}: rank {rank}", f.name);
        }
    }

    if revoke {
        let db = app.db().clone();
        let election_id = votebox_db::elections::find_by_key(&db, "2021---GB")
            .await
            .unwrap()
            .unwrap()
            .id;
        let before = votebox_db::ballots::all_for_election(&db, election_id)
            .await
            .unwrap();
        let resp = app
            .post_form(
                "/app/elections/2021---GB/vote/edit",
                &[("password", "dims-2021-vote"), ("csrf_token", &token)],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::FOUND, "{}", f.name);
        let after = votebox_db::ballots::all_for_election(&db, election_id)
            .await
            .unwrap();
        assert_eq!(after.len(), before.len() - rows.len(), "{}", f.name);
        assert!(after.iter().all(|r| r.0 != ballot_voter), "{}", f.name);
        let page = app.ok_page("/app/elections/2021---GB").await;
        assert!(
            page.contains("href=\"/app/elections/2021---GB/vote\""),
            "{}: can vote again:\n{page}",
            f.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checklist_57_schema1_voter_views_and_revokes_with_passphrase_sqlite() {
    view_and_revoke(schema1(Backend::Sqlite), true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checklist_57_schema1_voter_views_and_revokes_with_passphrase_postgres() {
    view_and_revoke(schema1(Backend::Postgres), true).await;
    // The database Elekto 0.6 itself upgraded: its voters were locked out there.
    view_and_revoke(
        votebox_db::testing::elekto_fixtures::fixture(
            "elekto-0.5.1-postgres-migrated-by-0.6.0-schema2",
        ),
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checklist_57_schema1_voter_views_and_revokes_with_passphrase_mysql() {
    view_and_revoke(schema1(Backend::MySql), true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checklist_55_schema2_voter_views_ballot_after_migrate() {
    for backend in Backend::ALL {
        let f = fixtures(backend).find(|f| f.schema == 2).unwrap();
        view_and_revoke(f, false).await;
    }
}
