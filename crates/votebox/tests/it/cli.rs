//! The real `votebox` binary, run as an operator would: configuration errors, `.env` precedence,
//! migrate, sync, elections / prune-orphan, generate-key, entrypoint and demo.
//!
//! Every run gets a cleared environment (only PATH, HOME and what the test sets) and its own
//! temporary working directory, so no `.env` or variable of the developer's leaks in.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_votebox");

fn fixture_meta() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/meta/elekto-io+elekto.meta.test")
}

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

fn command(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("RUST_BACKTRACE", "1")
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn votebox(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let out = command(dir, env, args).output().expect("run votebox");
    let o = Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_no_panic(&o.stderr);
    o
}

fn assert_no_panic(stderr: &str) {
    for bad in [
        "panicked",
        "stack backtrace",
        "RUST_BACKTRACE",
        "not yet implemented",
    ] {
        assert!(!stderr.contains(bad), "stderr shows a panic:\n{stderr}");
    }
}

/// Exit status 2 and exactly one `votebox: error: VAR: …` line, as the last line of stderr.
fn assert_config_error(o: &Output, var: &str) {
    assert_eq!(o.code, 2, "{o:?}");
    let errors: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| l.contains("votebox: error"))
        .collect();
    assert_eq!(errors.len(), 1, "{o:?}");
    assert!(
        errors[0].starts_with(&format!("votebox: error: {var}: ")),
        "{o:?}"
    );
    assert_eq!(o.stderr.lines().last(), Some(errors[0]), "{o:?}");
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=votebox test",
            "-c",
            "user.email=test@votebox.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::write(&target, std::fs::read(entry.path()).unwrap()).unwrap();
        }
    }
}

/// A meta repository like a GitHub one: a work tree to edit and a bare repo to fetch from.
struct MetaRepo {
    work: PathBuf,
    bare: PathBuf,
}

impl MetaRepo {
    /// Elekto's own test meta (`elekto.meta.test`: 2021/GB, 2021/TOC, name_the_app).
    fn elekto_test(dir: &Path) -> MetaRepo {
        let work = dir.join("meta-work");
        copy_tree(&fixture_meta(), &work);
        git(&work, &["init", "-q"]);
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", "initial meta"]);
        let bare = dir.join("meta.git");
        git(
            dir,
            &[
                "clone",
                "-q",
                "--bare",
                work.to_str().unwrap(),
                bare.to_str().unwrap(),
            ],
        );
        MetaRepo { work, bare }
    }

    fn url(&self) -> String {
        format!("file://{}", self.bare.display())
    }

    fn remove_and_push(&self, path: &str) {
        git(&self.work, &["rm", "-r", "-q", path]);
        git(
            &self.work,
            &["commit", "-q", "-m", &format!("remove {path}")],
        );
        git(
            &self.work,
            &["push", "-q", self.bare.to_str().unwrap(), "HEAD:main"],
        );
    }
}

/// The settings of a SQLite deployment using `meta`.
fn sqlite_env(dir: &Path, meta: Option<&MetaRepo>) -> Vec<(String, String)> {
    let mut env = vec![
        ("DB_CONNECTION".to_owned(), "sqlite".to_owned()),
        (
            "DB_PATH".to_owned(),
            dir.join("elekto.db").display().to_string(),
        ),
        (
            "META_PATH".to_owned(),
            dir.join("meta-mirror").display().to_string(),
        ),
        ("ELECTION_DIR".to_owned(), "elections".to_owned()),
        (
            "VOTEBOX_DATA_DIR".to_owned(),
            dir.join("data").display().to_string(),
        ),
    ];
    if let Some(m) = meta {
        env.push(("META_REPO".to_owned(), m.url()));
    }
    env
}

fn pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

// ----- help and configuration errors -------------------------------------------------------------

#[test]
fn checklist_1_help_lists_every_subcommand_and_variable() {
    let dir = tempfile::tempdir().unwrap();
    let o = votebox(dir.path(), &[], &["--help"]);
    assert_eq!(o.code, 0, "{o:?}");
    for sub in [
        "serve",
        "migrate",
        "sync",
        "elections",
        "prune-orphan",
        "generate-key",
        "entrypoint",
        "demo",
    ] {
        assert!(o.stdout.contains(sub), "--help lacks {sub}:\n{}", o.stdout);
    }
    for var in [
        "DB_CONNECTION",
        "META_REPO",
        "ELECTION_DIR",
        "APP_KEY",
        "docs/configuration.md",
    ] {
        assert!(o.stdout.contains(var), "--help lacks {var}:\n{}", o.stdout);
    }
    let o = votebox(dir.path(), &[], &["serve", "--help"]);
    for opt in ["--host", "--port", "--migrate", "--resync-interval"] {
        assert!(
            o.stdout.contains(opt),
            "serve --help lacks {opt}:\n{}",
            o.stdout
        );
    }
}

#[test]
fn checklist_1_missing_db_connection_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let o = votebox(dir.path(), &[], &["migrate"]);
    assert_config_error(&o, "DB_CONNECTION");
    assert_eq!(o.stderr.lines().count(), 1, "{o:?}");
    assert!(o.stdout.is_empty(), "{o:?}");
}

#[test]
fn checklist_1_invalid_db_connection_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let o = votebox(dir.path(), &[("DB_CONNECTION", "oracle")], &["migrate"]);
    assert_config_error(&o, "DB_CONNECTION");
    assert!(o.stderr.contains("oracle"), "{o:?}");
}

#[test]
fn checklist_1_invalid_min_passcode_length_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let o = votebox(
        dir.path(),
        &[
            ("DB_CONNECTION", "sqlite"),
            ("DB_PATH", db.to_str().unwrap()),
            ("MIN_PASSCODE_LENGTH", "six"),
        ],
        &["migrate"],
    );
    assert_config_error(&o, "MIN_PASSCODE_LENGTH");
    assert!(
        !db.exists(),
        "nothing may happen after a configuration error"
    );
}

#[test]
fn checklist_1_invalid_values_name_their_variable() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value) in [
        ("APP_PORT", "http"),
        ("GITHUB_REDIRECT", "oauth/callback"),
        ("ELECTION_DIR", "/elections"),
        ("DB_PORT", "mysql"),
    ] {
        let o = votebox(
            dir.path(),
            &[("DB_CONNECTION", "mysql"), (var, value)],
            &["migrate"],
        );
        assert_config_error(&o, var);
    }
}

#[test]
fn checklist_8_sync_requires_meta_repo() {
    let dir = tempfile::tempdir().unwrap();
    let env = sqlite_env(dir.path(), None);
    let o = votebox(dir.path(), &pairs(&env), &["sync"]);
    assert_config_error(&o, "META_REPO");
}

#[test]
fn checklist_9_app_connect_socket_is_rejected_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let meta = MetaRepo::elekto_test(dir.path());
    let mut env = sqlite_env(dir.path(), Some(&meta));
    env.push(("APP_CONNECT".into(), "socket".into()));
    let o = votebox(dir.path(), &pairs(&env), &["entrypoint", "--port", "0"]);
    assert_config_error(&o, "APP_CONNECT");
    assert!(o.stderr.contains("HTTP"), "{o:?}");
}

// ----- .env --------------------------------------------------------------------------------------

#[test]
fn checklist_3_dotenv_overrides_the_process_environment() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("from-env.db");
    std::fs::write(dir.path().join(".env"), "MIN_PASSCODE_LENGTH=abc\n").unwrap();
    let o = votebox(
        dir.path(),
        &[
            ("DB_CONNECTION", "sqlite"),
            ("DB_PATH", db.to_str().unwrap()),
            ("MIN_PASSCODE_LENGTH", "8"),
        ],
        &["migrate"],
    );
    // The file's (invalid) value won over the environment's valid one.
    assert_config_error(&o, "MIN_PASSCODE_LENGTH");
    assert!(
        o.stderr.contains(".env overrides MIN_PASSCODE_LENGTH"),
        "{o:?}"
    );
}

#[test]
fn checklist_3_dotenv_empty_value_blanks_a_variable_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "# copied from .env.example\nDB_CONNECTION=\nAPP_KEY=\n",
    )
    .unwrap();
    let o = votebox(
        dir.path(),
        &[
            ("DB_CONNECTION", "sqlite"),
            ("APP_KEY", "a-real-secret-value"),
        ],
        &["migrate"],
    );
    assert_config_error(&o, "DB_CONNECTION");
    for var in ["DB_CONNECTION", "APP_KEY"] {
        assert!(
            o.stderr
                .lines()
                .any(|l| l.contains(var) && l.contains("EMPTY")),
            "no warning for {var}: {o:?}"
        );
    }
    assert!(!o.stderr.contains("a-real-secret-value"), "{o:?}");
}

#[test]
fn checklist_3_dotenv_supplies_settings_and_testing_selects_env_testing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "DB_CONNECTION=sqlite\nDB_PATH=from-dotenv.db\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join(".env.testing"),
        "DB_CONNECTION=sqlite\nDB_PATH=from-dotenv-testing.db\n",
    )
    .unwrap();
    let o = votebox(dir.path(), &[], &["migrate"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(dir.path().join("from-dotenv.db").exists());
    assert!(
        !o.stderr.contains("overrides"),
        "nothing was overridden: {o:?}"
    );

    let o = votebox(dir.path(), &[("TESTING", "1")], &["migrate"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(dir.path().join("from-dotenv-testing.db").exists());
}

// ----- migrate -----------------------------------------------------------------------------------

#[test]
fn checklist_7_migrate_twice_on_sqlite_second_applies_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let env = sqlite_env(dir.path(), None);
    let env = pairs(&env);

    let o = votebox(dir.path(), &env, &["migrate", "--status"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.stdout.contains("pending"), "{o:?}");

    let first = votebox(dir.path(), &env, &["migrate"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert!(first.stdout.contains("applied migration"), "{first:?}");
    assert!(first.stdout.contains("database is up to date"), "{first:?}");
    assert!(dir.path().join("elekto.db").exists());

    let second = votebox(dir.path(), &env, &["migrate"]);
    assert_eq!(second.code, 0, "{second:?}");
    assert!(!second.stdout.contains("applied migration"), "{second:?}");
    assert!(
        second.stdout.contains("database is up to date"),
        "{second:?}"
    );

    let status = votebox(dir.path(), &env, &["migrate", "--status"]);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(status.stdout.contains("applied"), "{status:?}");
    assert!(!status.stdout.contains("pending"), "{status:?}");
    assert!(
        status.stdout.contains("database is up to date"),
        "{status:?}"
    );
}

#[test]
fn checklist_2_sqlite_default_path_is_under_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let o = votebox(dir.path(), &[("DB_CONNECTION", "sqlite")], &["migrate"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(dir.path().join("data/votebox.db").exists(), "{o:?}");
}

#[test]
fn checklist_7_migrate_fails_non_zero_when_the_database_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let o = votebox(
        dir.path(),
        &[
            ("DB_CONNECTION", "postgresql"),
            ("DB_HOST", "127.0.0.1"),
            ("DB_PORT", "9"),
            ("DB_PASSWORD", "hunter2-secret"),
            ("DB_DATABASE", "elekto"),
        ],
        &["migrate"],
    );
    assert_eq!(o.code, 1, "{o:?}");
    let last = o.stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("votebox: error: "), "{o:?}");
    assert!(
        !o.stderr.contains("hunter2-secret"),
        "password leaked: {o:?}"
    );
}

/// The admin URL of a test server (same variables and defaults as the harness).
fn admin_url(var: &str, default: &str) -> url::Url {
    let raw = std::env::var(var).ok().filter(|v| !v.is_empty());
    url::Url::parse(raw.as_deref().unwrap_or(default)).expect("admin URL")
}

/// Runs statements on a test server as admin; panics (loudly, never skips) if it is unreachable.
fn admin_exec(url: &url::Url, statements: &[String]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = votebox_db::Db::connect(url.as_str())
            .await
            .unwrap_or_else(|e| {
                panic!("test database server unreachable ({e}); start it (bash .ci/run does)")
            });
        for sql in statements {
            crate::harness::exec(&db, sql.clone()).await;
        }
        db.close().await;
    });
}

fn unique_name() -> String {
    format!("vbt_cli_{:016x}", rand::random::<u64>())
}

/// DB_HOST, DB_PORT, DB_USERNAME, DB_PASSWORD (as written in an Elekto config) from an admin URL.
fn elekto_db_env(url: &url::Url) -> Vec<(String, String)> {
    vec![
        (
            "DB_HOST".into(),
            url.host_str().unwrap_or("127.0.0.1").into(),
        ),
        (
            "DB_PORT".into(),
            url.port().map(|p| p.to_string()).unwrap_or_default(),
        ),
        ("DB_USERNAME".into(), url.username().into()),
        (
            "DB_PASSWORD".into(),
            url.password().unwrap_or_default().into(),
        ),
    ]
}

#[test]
fn checklist_2_postgresql_from_elekto_variables() {
    let dir = tempfile::tempdir().unwrap();
    let admin = admin_url(
        "VOTEBOX_TEST_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    );
    let name = unique_name();
    admin_exec(&admin, &[format!("CREATE DATABASE {name}")]);
    let mut env = elekto_db_env(&admin);
    env.push(("DB_CONNECTION".into(), "postgresql".into()));
    env.push(("DB_DATABASE".into(), name.clone()));
    let first = votebox(dir.path(), &pairs(&env), &["migrate"]);
    let second = votebox(dir.path(), &pairs(&env), &["migrate"]);
    admin_exec(
        &admin,
        &[format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")],
    );
    assert_eq!(first.code, 0, "{first:?}");
    assert!(first.stdout.contains("applied migration"), "{first:?}");
    assert_eq!(second.code, 0, "{second:?}");
    assert!(!second.stdout.contains("applied migration"), "{second:?}");
}

#[test]
fn checklist_2_mysql_password_is_percent_decoded_like_sqlalchemy() {
    let dir = tempfile::tempdir().unwrap();
    let admin = admin_url(
        "VOTEBOX_TEST_MYSQL_URL",
        "mysql://root@127.0.0.1:3306/mysql",
    );
    let name = unique_name();
    // The real password. Elekto's users must write it percent-encoded, since SQLAlchemy decodes it.
    let password = "p@ss:w/rd%1";
    let encoded = "p%40ss:w/rd%251";
    let mut setup = vec![format!("CREATE DATABASE {name}")];
    for host in ["%", "localhost"] {
        setup.push(format!(
            "CREATE USER '{name}'@'{host}' IDENTIFIED BY '{password}'"
        ));
        setup.push(format!("GRANT ALL ON {name}.* TO '{name}'@'{host}'"));
    }
    admin_exec(&admin, &setup);
    let mut env = elekto_db_env(&admin);
    env.retain(|(k, _)| k == "DB_HOST" || k == "DB_PORT");
    env.push(("DB_CONNECTION".into(), "mysql".into()));
    env.push(("DB_USERNAME".into(), name.clone()));
    env.push(("DB_PASSWORD".into(), encoded.into()));
    env.push(("DB_DATABASE".into(), name.clone()));
    let o = votebox(dir.path(), &pairs(&env), &["migrate"]);
    admin_exec(
        &admin,
        &[
            format!("DROP DATABASE IF EXISTS {name}"),
            format!("DROP USER IF EXISTS '{name}'@'%'"),
            format!("DROP USER IF EXISTS '{name}'@'localhost'"),
        ],
    );
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.stdout.contains("database is up to date"), "{o:?}");
    assert!(
        !o.stderr.contains(password) && !o.stderr.contains(encoded),
        "{o:?}"
    );
}

// ----- sync, elections, prune-orphan -------------------------------------------------------------

#[test]
fn checklist_8_sync_clones_a_local_bare_repo_and_prints_added_elections() {
    let dir = tempfile::tempdir().unwrap();
    let meta = MetaRepo::elekto_test(dir.path());
    let env = sqlite_env(dir.path(), Some(&meta));
    let env = pairs(&env);
    assert_eq!(votebox(dir.path(), &env, &["migrate"]).code, 0);

    let o = votebox(dir.path(), &env, &["sync"]);
    assert_eq!(o.code, 0, "{o:?}");
    for name in [
        "Select our 2021 General Board Rep",
        "2021 Steering Committee Election",
        "Select The Name of the Application",
    ] {
        assert!(o.stdout.contains(&format!("{name} added")), "{name}: {o:?}");
    }
    assert!(dir.path().join("meta-mirror").exists());

    // Again: clone exists, fetch, nothing new.
    let o = votebox(dir.path(), &env, &["sync"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(!o.stdout.contains("added"), "{o:?}");
}

#[test]
fn checklist_8_sync_with_unreachable_meta_repo_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = sqlite_env(dir.path(), None);
    env.push((
        "META_REPO".into(),
        format!("file://{}/does-not-exist.git", dir.path().display()),
    ));
    let env = pairs(&env);
    assert_eq!(votebox(dir.path(), &env, &["migrate"]).code, 0);
    let o = votebox(dir.path(), &env, &["sync"]);
    assert_eq!(o.code, 1, "{o:?}");
    let last = o.stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("votebox: error: sync failed"), "{o:?}");
}

#[test]
fn checklist_22_orphaned_election_is_kept_listed_and_pruned_only_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let meta = MetaRepo::elekto_test(dir.path());
    let env = sqlite_env(dir.path(), Some(&meta));
    let env = pairs(&env);
    assert_eq!(votebox(dir.path(), &env, &["migrate"]).code, 0);
    assert_eq!(votebox(dir.path(), &env, &["sync"]).code, 0);

    meta.remove_and_push("elections/name_the_app");
    let o = votebox(dir.path(), &env, &["sync"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.stdout.contains("name_the_app kept"), "{o:?}");

    let o = votebox(dir.path(), &env, &["elections"]);
    assert_eq!(o.code, 0, "{o:?}");
    let line = |key: &str| {
        o.stdout
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("{key} not listed: {o:?}"))
            .to_owned()
    };
    assert!(line("name_the_app").contains("ORPHANED"), "{o:?}");
    assert!(line("2021---GB").contains("present"), "{o:?}");
    assert!(line("2021---TOC").contains("present"), "{o:?}");

    // Still in the meta: refused.
    let o = votebox(dir.path(), &env, &["prune-orphan", "2021---GB", "--yes"]);
    assert_eq!(o.code, 1, "{o:?}");
    assert!(o.stderr.contains("still in the meta"), "{o:?}");
    // Unknown key.
    let o = votebox(
        dir.path(),
        &env,
        &["prune-orphan", "no-such-election", "--yes"],
    );
    assert_eq!(o.code, 1, "{o:?}");
    // Dry run, then the real thing.
    let o = votebox(dir.path(), &env, &["prune-orphan", "name_the_app"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.stdout.contains("nothing deleted"), "{o:?}");
    let o = votebox(dir.path(), &env, &["prune-orphan", "name_the_app", "--yes"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.stdout.contains("deleted election name_the_app"), "{o:?}");

    let o = votebox(dir.path(), &env, &["elections"]);
    assert!(!o.stdout.contains("name_the_app"), "{o:?}");
    assert!(o.stdout.contains("2021---GB"), "{o:?}");
}

// ----- generate-key ------------------------------------------------------------------------------

#[test]
fn checklist_6_generate_key_prints_or_writes_a_64_hex_key() {
    let dir = tempfile::tempdir().unwrap();
    let o = votebox(dir.path(), &[], &["generate-key"]);
    assert_eq!(o.code, 0, "{o:?}");
    let key = o.stdout.trim().strip_prefix("APP_KEY=").expect("APP_KEY=");
    assert_eq!(key.len(), 64);
    assert!(
        key.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );

    std::fs::write(dir.path().join(".env"), "APP_NAME=mine\nAPP_KEY=\n").unwrap();
    let o = votebox(dir.path(), &[], &["generate-key", "--write"]);
    assert_eq!(o.code, 0, "{o:?}");
    let text = std::fs::read_to_string(dir.path().join(".env")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "APP_NAME=mine");
    assert!(lines[1].starts_with("APP_KEY='") && lines[1].len() == "APP_KEY=''".len() + 64);
}

// ----- running servers ---------------------------------------------------------------------------

/// A running `votebox` process, stopped (SIGTERM) when dropped.
struct Server {
    child: Child,
    addr: String,
    stdout: mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
    seen: Vec<String>,
}

impl Server {
    /// Starts `votebox args…` and waits for a stdout line containing `marker` and an URL.
    fn start(dir: &Path, env: &[(&str, &str)], args: &[&str], marker: &str) -> Server {
        let mut child = command(dir, env, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start votebox");
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        let mut server = Server {
            child,
            addr: String::new(),
            stdout: rx,
            stderr,
            seen: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            match server.stdout.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    let found = line.contains(marker);
                    server.seen.push(line.clone());
                    if found {
                        let url = line.split("http://").nth(1).expect("URL on the line");
                        server.addr = url.trim_end_matches('/').to_owned();
                        return server;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = server.child.try_wait() {
                        let (_, stderr) = server.stop();
                        panic!("votebox exited ({status}) before {marker:?}\n{stderr}");
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        let seen = server.seen.join("\n");
        let (_, stderr) = server.stop();
        panic!("no {marker:?} line within 120 s\n--- stdout\n{seen}\n--- stderr\n{stderr}");
    }

    fn stdout_so_far(&mut self) -> String {
        while let Ok(line) = self.stdout.try_recv() {
            self.seen.push(line);
        }
        self.seen.join("\n")
    }

    /// SIGTERM, then waits; returns (exit code, stderr).
    fn stop(mut self) -> (Option<i32>, String) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        let code = loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                break status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stderr = std::mem::replace(&mut self.stderr, std::thread::spawn(String::new));
        (code, stderr.join().unwrap_or_default())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `GET path` over plain HTTP/1.1; returns (status, body).
fn http_get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    let _ = s.read_to_string(&mut response);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, response)
}

#[test]
fn checklist_9_entrypoint_migrates_syncs_then_serves() {
    let dir = tempfile::tempdir().unwrap();
    let meta = MetaRepo::elekto_test(dir.path());
    let env = sqlite_env(dir.path(), Some(&meta));
    let mut server = Server::start(
        dir.path(),
        &pairs(&env),
        &["entrypoint", "--host", "127.0.0.1", "--port", "0"],
        "starting votebox on",
    );
    let (status, body) = http_get(&server.addr, "/health");
    assert_eq!(status, 200, "{body}");
    let out = server.stdout_so_far();
    let migrated = out.find("database is up to date").expect(&out);
    let synced = out
        .find("2021 Steering Committee Election added")
        .expect(&out);
    let started = out.find("starting votebox on").expect(&out);
    assert!(migrated < synced && synced < started, "{out}");
    // Checklist 6: APP_KEY unset → a key was generated and kept in the data dir.
    let key = std::fs::read_to_string(dir.path().join("data/app_key")).unwrap();
    assert_eq!(key.trim().len(), 64);
    let (code, stderr) = server.stop();
    assert_no_panic(&stderr);
    assert!(stderr.contains("APP_KEY is not set"), "{stderr}");
    assert_eq!(code, Some(0), "graceful stop on SIGTERM\n{stderr}");
}

#[test]
fn checklist_9_serve_uses_the_last_fetched_meta_when_the_remote_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let meta = MetaRepo::elekto_test(dir.path());
    let env = sqlite_env(dir.path(), Some(&meta));
    assert_eq!(votebox(dir.path(), &pairs(&env), &["migrate"]).code, 0);
    assert_eq!(votebox(dir.path(), &pairs(&env), &["sync"]).code, 0);

    std::fs::rename(&meta.bare, dir.path().join("gone.git")).unwrap();
    let mut env = env;
    env.push(("APP_KEY".into(), "0123456789abcdef0123456789abcdef".into()));
    env.push(("APP_PORT".into(), "0".into()));
    env.push(("RUST_LOG".into(), "info".into()));
    // `serve` prints nothing on stdout; entrypoint-style stdout is not available, so use the log.
    let mut child = command(
        dir.path(),
        &pairs(&env),
        &["serve", "--resync-interval", "0"],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let err = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut log = String::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut addr = None;
    while Instant::now() < deadline && addr.is_none() {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                addr = Some(rest.trim_end_matches('/').to_owned());
            }
            log.push_str(&line);
            log.push('\n');
        } else if let Ok(Some(_)) = child.try_wait() {
            break;
        }
    }
    let Some(addr) = addr else {
        let _ = child.kill();
        panic!("serve did not start:\n{log}");
    };
    let (status, _) = http_get(&addr, "/health");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 200);
    assert!(log.contains("serving the last fetched commit"), "{log}");
}

#[test]
fn demo_runs_without_network_or_account() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo-data");
    let mut server = Server::start(
        dir.path(),
        // A deployment's settings in the environment must not leak into the demo.
        &[("DB_CONNECTION", "oracle"), ("META_REPO", "/nonexistent")],
        &["demo", "--data-dir", data.to_str().unwrap(), "--port", "0"],
        "votebox demo is running: open http://127.0.0.1:",
    );
    let (status, body) = http_get(&server.addr, "/health");
    assert_eq!(status, 200, "{body}");
    let (status, body) = http_get(&server.addr, "/elections");
    assert_eq!(status, 200, "{body}");
    for name in [
        "Demo Foundation Steering Committee Election",
        "Demo Foundation Code of Conduct Committee Election",
        "Name the Demo Foundation Mascot",
    ] {
        assert!(body.contains(name), "{name} not on /elections:\n{body}");
    }
    assert!(data.join("votebox.db").exists());
    assert!(data.join("meta-source/.git").exists());
    // Issue 13 item 1: the completed elections have their sample ballots (one voter row and one
    // ballot row per candidate each), the multi-seat one included; the others have none.
    let cast = demo_ballots(&data.join("votebox.db"));
    assert_eq!(
        cast,
        [
            ("archive---infra-team".to_owned(), 3, 12),
            ("archive---mascot".to_owned(), 4, 16),
        ],
    );
    assert!(data.join("app_key").exists());
    let out = server.stdout_so_far();
    assert!(out.contains("alice"), "{out}");
    let (code, stderr) = server.stop();
    assert_no_panic(&stderr);
    assert_eq!(code, Some(0), "{stderr}");

    // A second start reuses the folder (same key, same repository).
    let key = std::fs::read_to_string(data.join("app_key")).unwrap();
    let server = Server::start(
        dir.path(),
        &[],
        &["demo", "--data-dir", data.to_str().unwrap(), "--port", "0"],
        "votebox demo is running",
    );
    assert_eq!(http_get(&server.addr, "/health").0, 200);
    let (code, _) = server.stop();
    assert_eq!(code, Some(0));
    assert_eq!(std::fs::read_to_string(data.join("app_key")).unwrap(), key);
    assert_eq!(
        demo_ballots(&data.join("votebox.db")),
        cast,
        "cast once only"
    );
}

/// (election key, voter rows, ballot rows) of every election with ballots in a demo database.
fn demo_ballots(path: &Path) -> Vec<(String, i64, i64)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = votebox_db::Db::connect_sqlite(path).await.unwrap();
        let mut out = Vec::new();
        for e in votebox_db::elections::list(&db).await.unwrap() {
            let voters = votebox_db::voters::count(&db, e.id).await.unwrap();
            let rows = votebox_db::ballots::all_for_election(&db, e.id)
                .await
                .unwrap()
                .len() as i64;
            if voters > 0 || rows > 0 {
                out.push((e.key, voters, rows));
            }
        }
        db.close().await;
        out.sort();
        out
    })
}
