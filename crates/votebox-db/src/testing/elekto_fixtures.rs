//! Legacy Elekto databases for tests: the fixtures in `shared/fixtures/legacy-db` (made by
//! Elekto's own code at 0.5.1, 0.6.0 and 77a0806), loaded into fresh databases on the real
//! servers, their manifests compared row by row, and snapshots of a whole database.
//!
//! * SQLite fixtures are copied (writable) into the test database's temporary folder.
//! * PostgreSQL dumps are loaded with `psql`, MariaDB dumps with `mariadb` (or `mysql`), as the
//!   fixtures' README says; a missing client fails the test loudly.
//!
//! The directory is `$VOTEBOX_LEGACY_FIXTURES`, else `shared/fixtures/legacy-db` beside the
//! repository.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use super::{TestDatabase, fresh_url};
use crate::query::{AnyRow, trusted_sql};
use crate::schema::ELEKTO_COLUMNS;
use crate::{Backend, Db, Result};

/// Overrides the fixture directory.
pub const FIXTURES_ENV: &str = "VOTEBOX_LEGACY_FIXTURES";

/// Where the fixtures are.
pub fn fixtures_dir() -> PathBuf {
    match std::env::var_os(FIXTURES_ENV) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/legacy-db"),
    }
}

/// One fixture database and its manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fixture {
    /// File name without extension, e.g. `elekto-0.5.1-schema1-postgres`.
    pub name: &'static str,
    pub backend: Backend,
    /// Elekto's schema version in the file (1 or 2).
    pub schema: u32,
}

/// Every fixture, in a fixed order.
pub const FIXTURES: &[Fixture] = &[
    Fixture {
        name: "elekto-0.5.1-schema1-sqlite",
        backend: Backend::Sqlite,
        schema: 1,
    },
    Fixture {
        name: "elekto-0.6.0-schema2-sqlite",
        backend: Backend::Sqlite,
        schema: 2,
    },
    Fixture {
        name: "elekto-head-77a0806-schema2-sqlite",
        backend: Backend::Sqlite,
        schema: 2,
    },
    Fixture {
        name: "elekto-0.5.1-schema1-postgres",
        backend: Backend::Postgres,
        schema: 1,
    },
    Fixture {
        name: "elekto-0.5.1-postgres-migrated-by-0.6.0-schema2",
        backend: Backend::Postgres,
        schema: 2,
    },
    Fixture {
        name: "elekto-0.6.0-schema2-postgres",
        backend: Backend::Postgres,
        schema: 2,
    },
    Fixture {
        name: "elekto-head-77a0806-schema2-postgres",
        backend: Backend::Postgres,
        schema: 2,
    },
    Fixture {
        name: "elekto-0.5.1-schema1-mysql",
        backend: Backend::MySql,
        schema: 1,
    },
    Fixture {
        name: "elekto-0.6.0-schema2-mysql",
        backend: Backend::MySql,
        schema: 2,
    },
    Fixture {
        name: "elekto-head-77a0806-schema2-mysql",
        backend: Backend::MySql,
        schema: 2,
    },
];

/// The fixtures of one engine.
pub fn fixtures(backend: Backend) -> impl Iterator<Item = Fixture> {
    FIXTURES
        .iter()
        .copied()
        .filter(move |f| f.backend == backend)
}

/// The fixture of that name.
pub fn fixture(name: &str) -> Fixture {
    *FIXTURES
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no legacy fixture {name}"))
}

impl Fixture {
    pub fn data_path(&self) -> PathBuf {
        let ext = if self.backend == Backend::Sqlite {
            "db"
        } else {
            "sql"
        };
        fixtures_dir().join(format!("{}.{ext}", self.name))
    }

    pub fn manifest(&self) -> Value {
        let path = fixtures_dir().join(format!("{}.manifest.json", self.name));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading legacy fixture manifest {}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// A fresh database on the fixture's engine holding the fixture (not connected).
    pub async fn load_url(&self) -> (String, TestDatabase) {
        let (url, guard) = fresh_url(self.backend).await;
        self.load_into(&url);
        (url, guard)
    }

    /// Loads the fixture into the (empty) database at `url`.
    pub fn load_into(&self, url: &str) {
        let data = self.data_path();
        match self.backend {
            Backend::Sqlite => {
                let target = sqlite_path(url);
                std::fs::copy(&data, &target).unwrap_or_else(|e| {
                    panic!("copying {} to {}: {e}", data.display(), target.display())
                });
                let mut perms = std::fs::metadata(&target).unwrap().permissions();
                #[allow(clippy::permissions_set_readonly_false)]
                perms.set_readonly(false);
                std::fs::set_permissions(&target, perms).unwrap();
            }
            Backend::Postgres => run_sql_file(Backend::Postgres, url, &data),
            Backend::MySql => run_sql_file(Backend::MySql, url, &data),
        }
    }

    /// [`Fixture::load_url`], connected.
    pub async fn load(&self) -> (Db, String, TestDatabase) {
        let (url, guard) = self.load_url().await;
        let db = Db::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
        (db, url, guard)
    }
}

/// The file of a `sqlite://PATH` test URL.
pub fn sqlite_path(url: &str) -> PathBuf {
    PathBuf::from(
        url.strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .expect("sqlite URL"),
    )
}

/// Runs a SQL script with the engine's command-line client (`psql` / `mariadb`), stopping at
/// the first error; panics with the client's output on failure.
pub fn run_sql_file(backend: Backend, url: &str, file: &Path) {
    let out = client_command(backend, url)
        .stdin(std::fs::File::open(file).unwrap_or_else(|e| panic!("{}: {e}", file.display())))
        .output()
        .unwrap_or_else(|e| panic!("running the {backend} client (is it installed?): {e}"));
    assert!(
        out.status.success(),
        "loading {} into {url} failed:\n{}{}",
        file.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs SQL text with the engine's command-line client; returns `(success, stdout+stderr)`.
pub fn run_sql_text(backend: Backend, url: &str, sql: &str) -> (bool, String) {
    use std::io::Write as _;
    let mut child = client_command(backend, url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running the {backend} client (is it installed?): {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(sql.as_bytes())
        .expect("write SQL");
    let out = child.wait_with_output().expect("client output");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn client_command(backend: Backend, url: &str) -> Command {
    match backend {
        Backend::Postgres => {
            let mut c = Command::new("psql");
            c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url]);
            c
        }
        Backend::MySql => {
            let u = url::Url::parse(url).expect("mysql URL");
            let client = if which("mariadb") { "mariadb" } else { "mysql" };
            let mut c = Command::new(client);
            c.arg(format!("-h{}", u.host_str().unwrap_or("127.0.0.1")))
                .arg(format!("-P{}", u.port().unwrap_or(3306)))
                .arg(format!("-u{}", u.username()))
                .arg("--default-character-set=utf8mb4")
                .arg(u.path().trim_start_matches('/'));
            if let Some(p) = u.password() {
                c.env("MYSQL_PWD", p);
            }
            c
        }
        Backend::Sqlite => {
            let mut c = Command::new("sqlite3");
            c.arg(sqlite_path(url));
            c
        }
    }
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

// ---------------------------------------------------------------------------------------------
// Reading rows as text.

async fn fetch<T: AnyRow>(db: &Db, sql: &str) -> Result<Vec<T>> {
    let q = trusted_sql(sql.to_owned());
    Ok(match db {
        Db::Pg(p) => sqlx::query_as(q).fetch_all(p).await?,
        Db::My(p) => sqlx::query_as(q).fetch_all(p).await?,
        Db::Lite(p) => sqlx::query_as(q).fetch_all(p).await?,
    })
}

/// Runs one statement (test setup); panics on failure.
pub async fn exec(db: &Db, sql: &str) {
    let q = trusted_sql(sql.to_owned());
    let r = match db {
        Db::Pg(p) => sqlx::query(q).execute(p).await.map(|_| ()),
        Db::My(p) => sqlx::query(q).execute(p).await.map(|_| ()),
        Db::Lite(p) => sqlx::query(q).execute(p).await.map(|_| ()),
    };
    if let Err(e) = r {
        panic!("test SQL failed: {sql}: {e}");
    }
}

fn quote(backend: Backend, name: &str) -> String {
    match backend {
        Backend::MySql => format!("`{name}`"),
        _ => format!("\"{name}\""),
    }
}

/// Names of the tables (base tables) in the database, sorted.
pub async fn tables(db: &Db) -> Vec<String> {
    let sql = match db.backend() {
        Backend::Postgres => {
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        }
        Backend::MySql => {
            "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1"
        }
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1"
        }
    };
    let rows: Vec<(String,)> = fetch(db, sql).await.expect("list tables");
    rows.into_iter().map(|(t,)| t).collect()
}

/// `(name, type)` of a table's columns, in order (types lowercase, as the engine reports them).
pub async fn columns(db: &Db, table: &str) -> Vec<(String, String)> {
    let sql = match db.backend() {
        Backend::Postgres => format!(
            "SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '{table}' ORDER BY ordinal_position"
        ),
        Backend::MySql => format!(
            "SELECT CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{table}' ORDER BY ORDINAL_POSITION"
        ),
        Backend::Sqlite => {
            format!("SELECT name, type FROM pragma_table_info('{table}') ORDER BY cid")
        }
    };
    let rows: Vec<(String, String)> = fetch(db, &sql).await.expect("list columns");
    rows.into_iter()
        .map(|(n, t)| (n, t.to_ascii_lowercase()))
        .collect()
}

/// Every row of `table` with every column rendered as text (blobs as lowercase hex), keyed by
/// column name, in a stable order.
pub async fn rows_as_text(db: &Db, table: &str) -> Vec<BTreeMap<String, Option<String>>> {
    let backend = db.backend();
    let cols = columns(db, table).await;
    if cols.is_empty() {
        return Vec::new();
    }
    let exprs: Vec<String> = cols
        .iter()
        .map(|(name, ty)| {
            let c = quote(backend, name);
            let blob = ty.contains("blob") || ty.contains("bytea") || ty.contains("binary");
            match (backend, blob) {
                (Backend::Postgres, true) => format!("encode({c}, 'hex')"),
                (Backend::Postgres, false) => format!("{c}::text"),
                (Backend::MySql, true) => format!("LOWER(HEX({c}))"),
                (Backend::MySql, false) => format!("CAST({c} AS CHAR)"),
                (Backend::Sqlite, true) => {
                    format!("CASE WHEN {c} IS NULL THEN NULL ELSE lower(hex({c})) END")
                }
                (Backend::Sqlite, false) => format!("CAST({c} AS TEXT)"),
            }
        })
        .collect();
    // One text column per row, separated by unit separators (NULL as a marker), so that any
    // number of columns decodes as a single String.
    let sep = match backend {
        Backend::MySql => "CHAR(31)",
        Backend::Postgres => "chr(31)",
        Backend::Sqlite => "char(31)",
    };
    let null = "\u{1}NULL\u{1}";
    let parts: Vec<String> = exprs
        .iter()
        .map(|e| format!("COALESCE({e}, '{null}')"))
        .collect();
    let joined = match backend {
        Backend::MySql => format!("CONCAT_WS({sep}, {})", parts.join(", ")),
        _ => parts.join(&format!(" || {sep} || ")),
    };
    let sql = format!("SELECT {joined} FROM {}", quote(backend, table));
    let rows: Vec<(String,)> = fetch(db, &sql).await.expect("read rows");
    let mut out: Vec<BTreeMap<String, Option<String>>> = rows
        .into_iter()
        .map(|(line,)| {
            cols.iter()
                .zip(line.split('\u{1f}'))
                .map(|((name, _), v)| (name.clone(), (v != null).then(|| v.to_owned())))
                .collect()
        })
        .collect();
    out.sort();
    out
}

/// A text description of the whole database (schema and every row of every table), to show
/// that a second `migrate` changes nothing.
pub async fn snapshot(db: &Db) -> String {
    let mut out = schema_fingerprint(db, None).await;
    for t in tables(db).await {
        out.push_str(&format!("\n== {t}\n"));
        for r in rows_as_text(db, &t).await {
            out.push_str(&format!("{r:?}\n"));
        }
    }
    out
}

/// The schema of the given tables (all when `None`): columns, indexes, constraints, as the
/// engine describes them (MySQL: `SHOW CREATE TABLE` without the AUTO_INCREMENT counter).
pub async fn schema_fingerprint(db: &Db, only: Option<&[&str]>) -> String {
    let keep = |t: &str| only.is_none_or(|o| o.contains(&t));
    let mut out = String::new();
    match db.backend() {
        Backend::Sqlite => {
            let rows: Vec<(String, String, String, Option<String>)> = fetch(
                db,
                "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY tbl_name, type DESC, name",
            )
            .await
            .expect("sqlite_master");
            for (ty, name, table, sql) in rows.into_iter().filter(|r| keep(&r.2)) {
                out.push_str(&format!(
                    "{ty} {name} on {table}: {}\n",
                    sql.unwrap_or_default()
                ));
            }
        }
        Backend::Postgres => {
            let cols: Vec<(String, String, String, String, Option<String>)> = fetch(
                db,
                "SELECT table_name::text, column_name::text, \
                        format_type(a.atttypid, a.atttypmod), is_nullable::text, column_default::text \
                 FROM information_schema.columns c \
                 JOIN pg_attribute a ON a.attrelid = (quote_ident(c.table_schema) || '.' || quote_ident(c.table_name))::regclass \
                      AND a.attname = c.column_name \
                 WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position",
            )
            .await
            .expect("columns");
            for (t, c, ty, null, default) in cols.into_iter().filter(|r| keep(&r.0)) {
                out.push_str(&format!(
                    "column {t}.{c} {ty} null={null} default={default:?}\n"
                ));
            }
            let idx: Vec<(String, String, String)> = fetch(
                db,
                "SELECT tablename::text, indexname::text, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1, 2",
            )
            .await
            .expect("indexes");
            for (t, i, def) in idx.into_iter().filter(|r| keep(&r.0)) {
                out.push_str(&format!("index {t}.{i}: {def}\n"));
            }
            let cons: Vec<(String, String, String)> = fetch(
                db,
                "SELECT c.conrelid::regclass::text, c.conname::text, pg_get_constraintdef(c.oid) \
                 FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
                 WHERE n.nspname = current_schema() ORDER BY 1, 2",
            )
            .await
            .expect("constraints");
            for (t, n, def) in cons.into_iter().filter(|r| keep(r.0.trim_matches('"'))) {
                out.push_str(&format!("constraint {t}.{n}: {def}\n"));
            }
        }
        Backend::MySql => {
            for t in tables(db).await.into_iter().filter(|t| keep(t)) {
                let rows: Vec<(String, String)> = fetch(db, &format!("SHOW CREATE TABLE `{t}`"))
                    .await
                    .expect("show create");
                let ddl = rows.into_iter().next().map(|r| r.1).unwrap_or_default();
                let ddl: String = ddl
                    .split(' ')
                    .filter(|w| !w.starts_with("AUTO_INCREMENT="))
                    .collect::<Vec<_>>()
                    .join(" ");
                out.push_str(&format!("{ddl}\n"));
            }
        }
    }
    out
}

/// Elekto's six tables.
pub const ELEKTO_TABLES: &[&str] = &[
    "ballot",
    "election",
    "request",
    "schema_version",
    "user",
    "voter",
];

/// The manifest's section for a table.
fn manifest_rows<'m>(manifest: &'m Value, table: &str) -> &'m [Value] {
    let key = match table {
        "user" => "users",
        "election" => "elections",
        "voter" => "voters",
        "ballot" => "ballots",
        "request" => "requests",
        "schema_version" => "schema_version_rows",
        _ => unreachable!(),
    };
    manifest[key].as_array().map_or(&[], Vec::as_slice)
}

/// A manifest value as the text [`rows_as_text`] gives for it.
fn manifest_text(backend: Backend, table: &str, column: &str, v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(match backend {
            Backend::Postgres => b.to_string(),
            _ => u8::from(*b).to_string(),
        }),
        Value::Number(n) if table == "ballot" && column == "id" => {
            // Schema-1 integer ids: 32 zero-padded digits after the upgrade, as Elekto's.
            Some(format!("{:032}", n.as_u64().expect("ballot id")))
        }
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => Some(o["hex"].as_str().expect("hex value").to_owned()),
        Value::Array(_) => panic!("unexpected array in manifest"),
    }
}

/// Timestamps compare without trailing zeros in the fraction (PostgreSQL's text drops them,
/// Python's keeps six digits).
fn normalise(v: Option<String>) -> Option<String> {
    v.map(|s| {
        let is_ts = s.len() >= 19
            && s.as_bytes()[4] == b'-'
            && s.as_bytes()[10] == b' '
            && s.as_bytes()[13] == b':';
        if is_ts && s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s
        }
    })
}

/// Compares the database with the manifest, table by table and row by row (schema-2 columns:
/// schema-1 ballot ids as 32 zero-padded digits, schema-1 voters with NULL salt and ballot_id,
/// no ballot timestamps). Returns every difference.
pub async fn check_manifest(db: &Db, manifest: &Value) -> std::result::Result<(), String> {
    let backend = db.backend();
    let mut problems = Vec::new();
    for (table, cols) in ELEKTO_COLUMNS {
        let actual = rows_as_text(db, table).await;
        let key = |r: &BTreeMap<String, Option<String>>| {
            r.get(cols[0]).cloned().flatten().unwrap_or_default()
        };
        let actual: BTreeMap<String, BTreeMap<String, Option<String>>> = actual
            .into_iter()
            .map(|r| {
                let r: BTreeMap<String, Option<String>> = cols
                    .iter()
                    .map(|c| ((*c).to_owned(), normalise(r.get(*c).cloned().flatten())))
                    .collect();
                (key(&r), r)
            })
            .collect();
        // Schema 1 had no schema_version; the upgrade records 2, as Elekto's does.
        let v2_row = [serde_json::json!({"version": 2})];
        let listed = match manifest_rows(manifest, table) {
            [] if *table == "schema_version" => &v2_row[..],
            rows => rows,
        };
        let expected: BTreeMap<String, BTreeMap<String, Option<String>>> = listed
            .iter()
            .map(|row| {
                let r: BTreeMap<String, Option<String>> = cols
                    .iter()
                    .map(|c| {
                        (
                            (*c).to_owned(),
                            normalise(manifest_text(
                                backend,
                                table,
                                c,
                                row.get(*c).unwrap_or(&Value::Null),
                            )),
                        )
                    })
                    .collect();
                (key(&r), r)
            })
            .collect();
        let expected_count = manifest["row_counts"][table]
            .as_u64()
            .unwrap_or(listed.len() as u64);
        if expected.len() as u64 != expected_count {
            problems.push(format!(
                "{table}: manifest lists {} rows, row_counts says {expected_count}",
                expected.len()
            ));
        }
        for (k, e) in &expected {
            match actual.get(k) {
                None => problems.push(format!("{table} {k}: missing")),
                Some(a) if a != e => {
                    problems.push(format!("{table} {k}: expected {e:?}, found {a:?}"));
                }
                Some(_) => {}
            }
        }
        for k in actual.keys().filter(|k| !expected.contains_key(*k)) {
            problems.push(format!("{table} {k}: not in the manifest"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// Every `ballot` row as `(election_id, voter, candidate, rank)`, on any schema version.
pub async fn ballot_rows(db: &Db) -> Vec<(Option<i64>, String, String, Option<i64>)> {
    let int = if db.backend() == Backend::MySql {
        "SIGNED"
    } else {
        "BIGINT"
    };
    let rank = quote(db.backend(), "rank");
    let mut rows: Vec<(Option<i64>, String, String, Option<i64>)> = fetch(
        db,
        &format!(
            "SELECT CAST(election_id AS {int}), voter, candidate, CAST({rank} AS {int}) FROM ballot"
        ),
    )
    .await
    .expect("ballot rows");
    rows.sort();
    rows
}

/// Creates a login that may only read the database at `url` (`SELECT` on every table) and
/// returns a URL for it. PostgreSQL: a role with CONNECT/USAGE/SELECT; MariaDB: a user with
/// `SELECT` on the database.
pub async fn read_only_url(url: &str) -> String {
    let backend = Backend::from_url(url).expect("server URL");
    let name = format!("vbro_{:012x}", rand::random::<u64>() >> 16);
    let mut u = url::Url::parse(url).expect("URL");
    let database = u.path().trim_start_matches('/').to_owned();
    let admin = Db::connect(url).await.expect("connect as admin");
    match backend {
        Backend::Postgres => {
            exec(&admin, &format!("CREATE ROLE {name} LOGIN")).await;
            exec(
                &admin,
                &format!("GRANT CONNECT ON DATABASE \"{database}\" TO {name}"),
            )
            .await;
            exec(&admin, &format!("GRANT USAGE ON SCHEMA public TO {name}")).await;
            exec(
                &admin,
                &format!("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {name}"),
            )
            .await;
            exec(
                &admin,
                &format!("REVOKE CREATE ON SCHEMA public FROM {name}"),
            )
            .await;
        }
        Backend::MySql => {
            exec(
                &admin,
                &format!("CREATE USER '{name}'@'%' IDENTIFIED BY 'ro-pass'"),
            )
            .await;
            exec(
                &admin,
                &format!("GRANT SELECT ON `{database}`.* TO '{name}'@'%'"),
            )
            .await;
            let _ = u.set_password(Some("ro-pass"));
        }
        Backend::Sqlite => panic!("no users on SQLite"),
    }
    admin.close().await;
    let _ = u.set_username(&name);
    u.to_string()
}
