//! Adopting a database written by Python Elekto: schema 1 (0.5.x) or 2 (0.6+), on every engine.
//!
//! Called by [`super::run`] under its lock, before the sqlx migrator, whenever the database holds
//! Elekto's tables but no votebox history (or an upgrade of ours was interrupted). Outline:
//!
//! 1. **Inspect** ([`Shape`]): tables, columns, indexes, `schema_version`, our progress marker.
//!    Refuse (changing nothing) a `schema_version` above 2, an Elekto table that lacks one of
//!    Elekto's columns, or a ballot table whose `id` is neither integer nor text.
//! 2. **Plan** ([`Plan`]): only the steps this database still needs, so a half-upgraded database
//!    (ours after a crash, or a manual attempt) is completed rather than refused. Schema 1 → 2 is
//!    Elekto 0.6's PostgreSQL upgrade (§5.4: same statements, same index names
//!    `voter_election_id` / `ballot_election_id`); on SQLite a rebuild of `ballot`; on MySQL
//!    single `ALTER TABLE` statements. Old integer ballot ids become 32 zero-padded decimal
//!    digits everywhere, as Elekto's upgrade made them.
//! 3. **Check** that the user may do it (MySQL: privileges read from `information_schema`;
//!    PostgreSQL: the transaction is rolled back on `insufficient_privilege`), else print the SQL
//!    for an owner and stop with nothing changed.
//! 4. **Back up** (SQLite): `VACUUM INTO` a file next to the database, before the first change.
//! 5. **Apply**: PostgreSQL in one transaction; SQLite inside the caller's one `BEGIN IMMEDIATE`
//!    transaction; MySQL statement by statement (DDL commits implicitly): every step is
//!    idempotent, is re-planned from the real schema on the next run, and the table
//!    `votebox_legacy_upgrade` records the upgrade (start, last step, finish, report). Elekto's
//!    `schema_version` is written last on MySQL, so Elekto refuses a half-upgraded database.
//! 6. **Record** the baseline: `_sqlx_migrations` with migration 0001 (Elekto's tables) marked
//!    as applied without running it — its `CREATE … IF NOT EXISTS` would add an `ix_*` twin of
//!    the `voter_election_id` index made by Elekto's PostgreSQL upgrade. The migrator then applies
//!    votebox's own additive migrations.
//!
//! Nothing is deleted: orphan rows (SQLite never enforced foreign keys) are kept and reported,
//! unknown tables, columns and indexes are kept (on the SQLite rebuild the extra `ballot`
//! columns, indexes and triggers are carried over). The only things Elekto's schema 2 drops go
//! too, as in Elekto's own upgrade: `ballot.created_at`/`updated_at` of schema-1 ballots (they
//! would tie each ballot to its voter row by time) and the integer ballot-id sequence default.
//! `schema_version` stays 2, so Python Elekto still runs on the result.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sea_query::{Alias, Expr, ExprTrait, Order, Query};
use sqlx::Connection;
use sqlx::migrate::Migrate;

use super::{MIGRATIONS_TABLE, Progress, migrator, up_migrations};
use crate::query::{AnyRow, Conn, trusted_sql, ts_value};
use crate::{Backend, DbError, Result, utc_now};

/// The table in which votebox records its upgrades of Elekto databases.
pub const MARKER_TABLE: &str = "votebox_legacy_upgrade";

/// Test hook: when set, every point of a legacy upgrade is printed to stderr as
/// `votebox: migrate point: NAME`, and the process stops (sleeps until killed) at the point
/// whose name equals the value. Lets the tests SIGKILL `votebox migrate` at every step.
pub const PAUSE_ENV: &str = "VOTEBOX_MIGRATE_PAUSE_AT";

/// The schema version Elekto's code at 0.6–0.7 writes and expects.
pub const ELEKTO_SCHEMA_VERSION: i64 = 2;

/// Elekto's tables and the columns its code reads and writes (schema 2; `voter.salt` and
/// `voter.ballot_id` are added by the upgrade, `ballot.created_at`/`updated_at` removed).
const ELEKTO_COLUMNS: &[(&str, &[&str])] = &[
    (
        "user",
        &[
            "id",
            "username",
            "name",
            "token",
            "token_expires_at",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "election",
        &["id", "key", "name", "created_at", "updated_at"],
    ),
    (
        "voter",
        &["id", "user_id", "election_id", "created_at", "updated_at"],
    ),
    (
        "ballot",
        &["id", "election_id", "rank", "candidate", "voter"],
    ),
    (
        "request",
        &[
            "id",
            "user_id",
            "election_id",
            "name",
            "email",
            "chat",
            "description",
            "comments",
            "reviewed",
            "created_at",
            "updated_at",
        ],
    ),
    ("schema_version", &["version"]),
];

/// Columns Elekto had at some version and votebox knows (not reported as unknown).
const KNOWN_EXTRA_COLUMNS: &[(&str, &str)] = &[
    ("voter", "salt"),
    ("voter", "ballot_id"),
    ("ballot", "created_at"),
    ("ballot", "updated_at"),
];

// ---------------------------------------------------------------------------------------------
// Raw SQL on any engine (the SQL text is built here from constants and quoted identifiers).

async fn exec(conn: &mut Conn<'_>, sql: &str) -> Result<u64> {
    let q = trusted_sql(sql.to_owned());
    Ok(match conn {
        Conn::Pg(c) => sqlx::query(q).execute(&mut **c).await?.rows_affected(),
        Conn::My(c) => sqlx::query(q).execute(&mut **c).await?.rows_affected(),
        Conn::Lite(c) => sqlx::query(q).execute(&mut **c).await?.rows_affected(),
    })
}

async fn fetch<T: AnyRow>(conn: &mut Conn<'_>, sql: &str) -> Result<Vec<T>> {
    let q = trusted_sql(sql.to_owned());
    Ok(match conn {
        Conn::Pg(c) => sqlx::query_as(q).fetch_all(&mut **c).await?,
        Conn::My(c) => sqlx::query_as(q).fetch_all(&mut **c).await?,
        Conn::Lite(c) => sqlx::query_as(q).fetch_all(&mut **c).await?,
    })
}

/// An identifier quoted for the engine.
fn q(backend: Backend, name: &str) -> String {
    match backend {
        Backend::MySql => format!("`{}`", name.replace('`', "``")),
        Backend::Postgres | Backend::Sqlite => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// A string literal (for names read from the catalog, never for user input).
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

// ---------------------------------------------------------------------------------------------
// Inspection.

#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    name: String,
    /// Lowercase declared/base type (`integer`, `character`, `varchar`, `char(32)`, …).
    data_type: String,
    not_null: bool,
    default: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Index {
    table: String,
    name: String,
    columns: Vec<String>,
    /// SQLite: the `CREATE INDEX` text (None for automatic indexes of constraints).
    sql: Option<String>,
}

/// An upgrade of ours that has not finished (MySQL after a crash; never seen on the
/// transactional engines).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Marker {
    id: i64,
    from_version: i64,
    started_at: String,
    last_step: Option<String>,
}

/// What the database holds, as far as the upgrade is concerned.
#[derive(Debug, Clone, Default)]
struct Shape {
    tables: BTreeSet<String>,
    columns: BTreeMap<String, Vec<Column>>,
    indexes: Vec<Index>,
    /// `None`: no `schema_version` table.
    schema_versions: Option<Vec<i64>>,
    /// PostgreSQL: name of the ballot table's primary key constraint.
    ballot_pk: Option<String>,
    /// MySQL: `ballot.id` values that are decimal digits shorter than 32 (an interrupted upgrade
    /// between the column change and the padding).
    short_numeric_ballot_ids: i64,
    /// SQLite: triggers on `ballot` (`CREATE TRIGGER` text).
    ballot_triggers: Vec<String>,
    marker: Option<Marker>,
    marker_table: bool,
}

impl Shape {
    fn has(&self, table: &str) -> bool {
        self.tables.contains(table)
    }

    fn column(&self, table: &str, name: &str) -> Option<&Column> {
        self.columns.get(table)?.iter().find(|c| c.name == name)
    }

    fn has_column(&self, table: &str, name: &str) -> bool {
        self.column(table, name).is_some()
    }

    /// An index of `table` whose first column is `column`.
    fn index_on(&self, table: &str, column: &str) -> Option<&Index> {
        self.indexes
            .iter()
            .find(|i| i.table == table && i.columns.first().map(String::as_str) == Some(column))
    }

    fn index_named(&self, table: &str, name: &str) -> Option<&Index> {
        self.indexes
            .iter()
            .find(|i| i.table == table && i.name == name)
    }

    fn schema_version(&self) -> Option<i64> {
        self.schema_versions.as_ref()?.iter().copied().max()
    }

    /// `ballot.id` is an integer column (schema 1).
    fn ballot_id_is_integer(&self) -> bool {
        self.column("ballot", "id")
            .is_some_and(|c| is_integer_type(&c.data_type))
    }
}

fn is_integer_type(t: &str) -> bool {
    let t = t.to_ascii_lowercase();
    t.contains("int") || t == "serial" || t == "bigserial"
}

fn is_text_type(t: &str) -> bool {
    let t = t.to_ascii_lowercase();
    t.contains("char") || t.contains("text") || t.contains("clob") || t.is_empty()
}

async fn inspect(conn: &mut Conn<'_>) -> Result<Shape> {
    let backend = conn.backend();
    let mut shape = Shape::default();
    let tables: Vec<(String,)> = match backend {
        Backend::Postgres => {
            fetch(
                conn,
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
            )
            .await?
        }
        Backend::MySql => {
            fetch(
                conn,
                "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'",
            )
            .await?
        }
        Backend::Sqlite => {
            fetch(
                conn,
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
            )
            .await?
        }
    };
    shape.tables = tables.into_iter().map(|(t,)| t).collect();

    for (table, _) in ELEKTO_COLUMNS {
        if !shape.has(table) {
            continue;
        }
        let columns: Vec<Column> = match backend {
            Backend::Postgres | Backend::MySql => {
                let sql = if backend == Backend::Postgres {
                    format!(
                        "SELECT column_name::text, data_type::text, is_nullable::text, column_default::text \
                         FROM information_schema.columns \
                         WHERE table_schema = current_schema() AND table_name = {} \
                         ORDER BY ordinal_position",
                        lit(table)
                    )
                } else {
                    format!(
                        "SELECT CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR), \
                         CAST(IS_NULLABLE AS CHAR), CAST(COLUMN_DEFAULT AS CHAR) \
                         FROM information_schema.COLUMNS \
                         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = {} \
                         ORDER BY ORDINAL_POSITION",
                        lit(table)
                    )
                };
                let rows: Vec<(String, String, String, Option<String>)> = fetch(conn, &sql).await?;
                rows.into_iter()
                    .map(|(name, t, nullable, default)| Column {
                        name,
                        data_type: t.to_ascii_lowercase(),
                        not_null: nullable == "NO",
                        default,
                    })
                    .collect()
            }
            Backend::Sqlite => {
                let rows: Vec<(String, String, i64, Option<String>)> = fetch(
                    conn,
                    &format!(
                        "SELECT name, type, \"notnull\", dflt_value FROM pragma_table_info({}) ORDER BY cid",
                        lit(table)
                    ),
                )
                .await?;
                rows.into_iter()
                    .map(|(name, t, not_null, default)| Column {
                        name,
                        data_type: t.to_ascii_lowercase(),
                        not_null: not_null != 0,
                        default,
                    })
                    .collect()
            }
        };
        shape.columns.insert((*table).to_owned(), columns);
    }

    shape.indexes = match backend {
        Backend::Postgres => {
            let rows: Vec<(String, String, String)> = fetch(
                conn,
                "SELECT t.relname::text, i.relname::text, \
                        array_to_string(ARRAY(SELECT COALESCE(a.attname::text, '') \
                              FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, n) \
                              LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
                              ORDER BY k.n), chr(31)) \
                 FROM pg_index x \
                 JOIN pg_class t ON t.oid = x.indrelid \
                 JOIN pg_class i ON i.oid = x.indexrelid \
                 JOIN pg_namespace n ON n.oid = t.relnamespace \
                 WHERE n.nspname = current_schema()",
            )
            .await?;
            rows.into_iter()
                .map(|(table, name, columns)| Index {
                    table,
                    name,
                    columns: columns.split('\u{1f}').map(str::to_owned).collect(),
                    sql: None,
                })
                .collect()
        }
        Backend::MySql => {
            let rows: Vec<(String, String, String)> = fetch(
                conn,
                "SELECT CAST(TABLE_NAME AS CHAR), CAST(INDEX_NAME AS CHAR), \
                        CAST(COALESCE(COLUMN_NAME, '') AS CHAR) \
                 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() \
                 ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
            )
            .await?;
            let mut out: Vec<Index> = Vec::new();
            for (table, name, column) in rows {
                match out.last_mut() {
                    Some(last) if last.table == table && last.name == name => {
                        last.columns.push(column);
                    }
                    _ => out.push(Index {
                        table,
                        name,
                        columns: vec![column],
                        sql: None,
                    }),
                }
            }
            out
        }
        Backend::Sqlite => {
            let rows: Vec<(String, String, Option<String>)> = fetch(
                conn,
                "SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'index'",
            )
            .await?;
            let mut out = Vec::new();
            for (table, name, sql) in rows {
                let cols: Vec<(Option<String>,)> = fetch(
                    conn,
                    &format!(
                        "SELECT name FROM pragma_index_info({}) ORDER BY seqno",
                        lit(&name)
                    ),
                )
                .await?;
                out.push(Index {
                    table,
                    name,
                    columns: cols.into_iter().map(|(c,)| c.unwrap_or_default()).collect(),
                    sql,
                });
            }
            out
        }
    };

    if shape.has("schema_version") {
        let rows: Vec<(i64,)> = fetch(
            conn,
            &format!(
                "SELECT CAST(version AS {}) FROM schema_version",
                if backend == Backend::MySql {
                    "SIGNED"
                } else {
                    "BIGINT"
                }
            ),
        )
        .await?;
        shape.schema_versions = Some(rows.into_iter().map(|(v,)| v).collect());
    }

    if backend == Backend::Postgres && shape.has("ballot") {
        let rows: Vec<(String,)> = fetch(
            conn,
            "SELECT c.conname::text FROM pg_constraint c \
             JOIN pg_class t ON t.oid = c.conrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE n.nspname = current_schema() AND t.relname = 'ballot' AND c.contype = 'p'",
        )
        .await?;
        shape.ballot_pk = rows.into_iter().next().map(|(n,)| n);
    }
    if backend == Backend::MySql && shape.has("ballot") && !shape.ballot_id_is_integer() {
        let rows: Vec<(i64,)> = fetch(
            conn,
            "SELECT COUNT(*) FROM `ballot` WHERE CHAR_LENGTH(`id`) < 32 AND `id` REGEXP '^[0-9]+$'",
        )
        .await?;
        shape.short_numeric_ballot_ids = rows.first().map_or(0, |r| r.0);
    }
    if backend == Backend::Sqlite && shape.has("ballot") {
        let rows: Vec<(Option<String>,)> = fetch(
            conn,
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'ballot'",
        )
        .await?;
        shape.ballot_triggers = rows.into_iter().filter_map(|(s,)| s).collect();
    }

    shape.marker_table = shape.has(MARKER_TABLE);
    if shape.marker_table {
        let rows: Vec<(i64, i64, String, Option<String>)> = fetch(
            conn,
            &format!(
                "SELECT CAST(id AS {int}), CAST(from_version AS {int}), CAST(started_at AS {text}), last_step \
                 FROM {t} WHERE finished_at IS NULL ORDER BY id DESC",
                int = if backend == Backend::MySql { "SIGNED" } else { "BIGINT" },
                text = if backend == Backend::MySql { "CHAR" } else { "TEXT" },
                t = q(backend, MARKER_TABLE)
            ),
        )
        .await?;
        shape.marker = rows
            .into_iter()
            .next()
            .map(|(id, from_version, started_at, last_step)| Marker {
                id,
                from_version,
                started_at,
                last_step,
            });
    }
    Ok(shape)
}

/// Whether an upgrade of ours was left unfinished (MySQL after a crash). Read-only.
pub(super) async fn unfinished_upgrade(conn: &mut Conn<'_>) -> Result<bool> {
    if !super::has_table(conn, MARKER_TABLE).await? {
        return Ok(false);
    }
    let sql = format!(
        "SELECT COUNT(*) FROM {} WHERE finished_at IS NULL",
        q(conn.backend(), MARKER_TABLE)
    );
    let rows: Vec<(i64,)> = fetch(conn, &sql).await?;
    Ok(rows.first().is_some_and(|r| r.0 > 0))
}

// ---------------------------------------------------------------------------------------------
// The plan.

/// One step of the upgrade: statements run in order (one implicit commit each on MySQL).
#[derive(Debug, Clone)]
struct Step {
    /// Stable name, for the progress marker and the test hook (`before:ID` / `after:ID`).
    id: &'static str,
    what: String,
    sql: Vec<String>,
}

#[derive(Debug, Clone)]
struct Plan {
    /// 1 or 2: what the database was (for messages and the marker).
    from: i64,
    /// Description of what was found.
    found: String,
    steps: Vec<Step>,
    /// Kept things worth telling the operator (unknown objects, odd but harmless states).
    notes: Vec<String>,
    /// Every one of Elekto's six tables exists after the steps: migration 0001 is recorded
    /// without running it. Otherwise the migrator runs 0001 (`CREATE TABLE IF NOT EXISTS`) to
    /// create the missing ones, as Elekto's `create_all` would.
    baseline: bool,
}

/// Why a database cannot be adopted (nothing was changed).
fn refuse(msg: impl std::fmt::Display) -> DbError {
    DbError::Migrate(format!("{msg}; nothing was changed"))
}

fn plan(backend: Backend, shape: &Shape) -> Result<Plan> {
    // Newer Elekto schema.
    if let Some(v) = shape.schema_version()
        && v > ELEKTO_SCHEMA_VERSION
    {
        return Err(refuse(format!(
            "Elekto's schema_version is {v}, newer than the version this votebox knows \
             ({ELEKTO_SCHEMA_VERSION}); upgrade votebox"
        )));
    }
    // Missing columns: a schema Elekto itself could not run on.
    let mut missing = Vec::new();
    for (table, columns) in ELEKTO_COLUMNS {
        if !shape.has(table) {
            continue;
        }
        for c in *columns {
            if !shape.has_column(table, c) {
                missing.push(format!("{table}.{c}"));
            }
        }
    }
    if !missing.is_empty() {
        return Err(refuse(format!(
            "this database has Elekto's tables but not all of Elekto's columns (missing: {}); \
             it was modified by hand or is not an Elekto database. Restore the columns (see \
             `votebox migrate --print-sql`) and run `votebox migrate` again",
            missing.join(", ")
        )));
    }
    if shape.has("ballot")
        && let Some(c) = shape.column("ballot", "id")
        && !is_integer_type(&c.data_type)
        && !is_text_type(&c.data_type)
    {
        return Err(refuse(format!(
            "ballot.id has type {}, neither Elekto 0.5's integer nor 0.6's CHAR(32)",
            c.data_type
        )));
    }

    let v2_claimed = shape.schema_versions.is_some();
    let voter_v2 = !shape.has("voter")
        || (shape.has_column("voter", "salt") && shape.has_column("voter", "ballot_id"));
    let ballot_v2 = !shape.has("ballot")
        || (!shape.ballot_id_is_integer() && shape.short_numeric_ballot_ids == 0);
    let ballot_timestamps =
        shape.has_column("ballot", "created_at") || shape.has_column("ballot", "updated_at");
    let from = if v2_claimed { 2 } else { 1 };

    let mut notes = Vec::new();
    let mut found = match (v2_claimed, shape.schema_version()) {
        (false, _) => {
            "an Elekto database at schema 1 (Elekto 0.5.x: no schema_version table)".to_owned()
        }
        (true, Some(v)) => format!("an Elekto database at schema {v} (Elekto 0.6 or later)"),
        (true, None) => "an Elekto database with an empty schema_version table (Elekto 0.6+ \
                         treats it as schema 2)"
            .to_owned(),
    };
    if let Some(i) = shape.index_named("voter", "voter_election_id")
        && i.columns.first().map(String::as_str) == Some("election_id")
    {
        found.push_str(", upgraded from schema 1 by Elekto's own migration");
    }
    if let Some(m) = &shape.marker {
        found.push_str(&format!(
            "; an upgrade by votebox (from schema {}) started at {} was interrupted{}: resuming it",
            m.from_version,
            m.started_at,
            m.last_step
                .as_deref()
                .map(|s| format!(" after step `{s}`"))
                .unwrap_or_default()
        ));
    } else if from == 1 && (shape.has_column("voter", "salt") || !shape.ballot_id_is_integer()) {
        notes.push(
            "the schema-1 tables are already partly upgraded (by hand?): only the missing \
             steps are applied"
                .to_owned(),
        );
    } else if from == 2 && (!voter_v2 || !ballot_v2) {
        notes.push(
            "schema_version says 2 but the tables are partly at schema 1: the missing steps \
             of the upgrade are applied"
                .to_owned(),
        );
    }
    if from == 2 && ballot_timestamps && ballot_v2 {
        notes.push(
            "ballot still has created_at/updated_at next to schema 2 columns: kept as they are"
                .to_owned(),
        );
    }

    let mut steps = Vec::new();
    let ballot_needs_upgrade = shape.has("ballot")
        && (shape.ballot_id_is_integer()
            || shape.short_numeric_ballot_ids > 0
            || (!v2_claimed && ballot_timestamps));
    match backend {
        Backend::Postgres => plan_pg(shape, v2_claimed, ballot_needs_upgrade, &mut steps),
        Backend::Sqlite => plan_sqlite(
            shape,
            v2_claimed,
            ballot_needs_upgrade,
            &mut steps,
            &mut notes,
        ),
        Backend::MySql => plan_mysql(shape, v2_claimed, ballot_needs_upgrade, &mut steps),
    }

    // Unknown objects: kept, and said so.
    let known_tables: BTreeSet<&str> = ELEKTO_COLUMNS.iter().map(|(t, _)| *t).collect();
    let unknown_tables: Vec<&str> = shape
        .tables
        .iter()
        .map(String::as_str)
        .filter(|t| {
            !known_tables.contains(t)
                && *t != MIGRATIONS_TABLE
                && *t != MARKER_TABLE
                && !t.starts_with("votebox_")
        })
        .collect();
    if !unknown_tables.is_empty() {
        notes.push(format!(
            "tables that are not Elekto's are kept as they are: {}",
            unknown_tables.join(", ")
        ));
    }
    let mut unknown_columns = Vec::new();
    for (table, columns) in &shape.columns {
        let known: &[&str] = ELEKTO_COLUMNS
            .iter()
            .find(|(t, _)| t == table)
            .map_or(&[], |(_, c)| c);
        for c in columns {
            if !known.contains(&c.name.as_str())
                && !KNOWN_EXTRA_COLUMNS.contains(&(table.as_str(), c.name.as_str()))
            {
                unknown_columns.push(format!("{table}.{}", c.name));
            }
        }
    }
    if !unknown_columns.is_empty() {
        notes.push(format!(
            "columns that are not Elekto's are kept with their values: {}",
            unknown_columns.join(", ")
        ));
    }

    let baseline = ["user", "election", "voter", "ballot", "request"]
        .iter()
        .all(|t| shape.has(t));
    if !baseline {
        let absent: Vec<&str> = ["user", "election", "voter", "ballot", "request"]
            .into_iter()
            .filter(|t| !shape.has(t))
            .collect();
        notes.push(format!(
            "Elekto tables missing, created as Elekto's `create_all` would: {}",
            absent.join(", ")
        ));
    }
    Ok(Plan {
        from,
        found,
        steps,
        notes,
        baseline,
    })
}

const PG_PAD: &str = "FM00000000000000000000000000000000";

fn plan_pg(shape: &Shape, v2_claimed: bool, ballot_upgrade: bool, steps: &mut Vec<Step>) {
    // Elekto 0.6 `update_schema_2`, statement for statement, each only if still needed.
    if !v2_claimed {
        steps.push(Step {
            id: "schema-version",
            what: "create schema_version and record version 2".to_owned(),
            sql: vec![
                "CREATE TABLE schema_version ( version INT PRIMARY KEY)".to_owned(),
                "INSERT INTO schema_version VALUES ( 2 )".to_owned(),
            ],
        });
    } else if shape.schema_version().is_none() {
        steps.push(schema_version_insert(Backend::Postgres));
    }
    if shape.has("voter") {
        let mut adds = Vec::new();
        for c in ["salt", "ballot_id"] {
            if !shape.has_column("voter", c) {
                adds.push(format!("ADD COLUMN {c} BYTEA"));
            }
        }
        if !adds.is_empty() {
            steps.push(Step {
                id: "voter-columns",
                what: "add voter.salt and voter.ballot_id (BYTEA, NULL for schema-1 voters)"
                    .to_owned(),
                sql: vec![format!("ALTER TABLE voter {}", adds.join(", "))],
            });
        }
        if shape.index_on("voter", "election_id").is_none() {
            let name = if v2_claimed {
                "ix_voter_election_id"
            } else {
                "voter_election_id"
            };
            steps.push(Step {
                id: "voter-index",
                what: format!("create index {name} on voter(election_id)"),
                sql: vec![format!("CREATE INDEX {name} ON voter(election_id)")],
            });
        }
    }
    if shape.has("ballot") {
        let drops: Vec<String> = ["created_at", "updated_at"]
            .into_iter()
            .filter(|c| !v2_claimed && shape.has_column("ballot", c))
            .map(|c| format!("DROP COLUMN {c}"))
            .collect();
        if !drops.is_empty() {
            steps.push(Step {
                id: "ballot-timestamps",
                what: "drop ballot.created_at and ballot.updated_at (Elekto 0.6 removed them: \
                       they tie a ballot to its voter row)"
                    .to_owned(),
                sql: vec![format!("ALTER TABLE ballot {}", drops.join(", "))],
            });
        }
        if ballot_upgrade && shape.ballot_id_is_integer() {
            let mut sql = Vec::new();
            if let Some(pk) = &shape.ballot_pk {
                sql.push(format!(
                    "ALTER TABLE ballot DROP CONSTRAINT {}",
                    q(Backend::Postgres, pk)
                ));
            }
            sql.push(format!(
                "ALTER TABLE ballot ALTER COLUMN id TYPE CHAR(32) USING to_char(id , '{PG_PAD}')"
            ));
            sql.push("ALTER TABLE ballot ALTER COLUMN id DROP DEFAULT".to_owned());
            sql.push("ALTER TABLE ballot ADD CONSTRAINT ballot_pkey PRIMARY KEY ( id )".to_owned());
            steps.push(Step {
                id: "ballot-id",
                what: "turn ballot.id into CHAR(32): old ids become 32 zero-padded digits"
                    .to_owned(),
                sql,
            });
        }
        if shape.index_on("ballot", "election_id").is_none() {
            let name = if v2_claimed {
                "ix_ballot_election_id"
            } else {
                "ballot_election_id"
            };
            steps.push(Step {
                id: "ballot-index",
                what: format!("create index {name} on ballot(election_id)"),
                sql: vec![format!("CREATE INDEX {name} ON ballot(election_id)")],
            });
        }
    }
}

fn schema_version_insert(backend: Backend) -> Step {
    let dual = if backend == Backend::MySql {
        " FROM DUAL"
    } else {
        ""
    };
    Step {
        id: "schema-version-row",
        what: "schema_version is empty: record version 2 (as Elekto does)".to_owned(),
        sql: vec![format!(
            "INSERT INTO {t} ({v}) SELECT 2{dual} WHERE NOT EXISTS (SELECT 1 FROM {t})",
            t = q(backend, "schema_version"),
            v = q(backend, "version"),
        )],
    }
}

/// `CREATE TABLE ballot` exactly as SQLAlchemy 1.4 writes it for Elekto 0.6+ on SQLite, with
/// any extra column definitions before the table constraints.
fn sqlite_ballot_ddl(extra: &[String]) -> String {
    let mut s = String::from(
        "CREATE TABLE ballot (\n\tid CHAR(32) NOT NULL, \n\telection_id INTEGER, \n\trank INTEGER, \n\tcandidate VARCHAR(255) NOT NULL, \n\tvoter VARCHAR(255) NOT NULL, \n",
    );
    for e in extra {
        let _ = writeln!(s, "\t{e}, ");
    }
    s.push_str(
        "\tPRIMARY KEY (id), \n\tFOREIGN KEY(election_id) REFERENCES election (id) ON DELETE CASCADE\n)",
    );
    s
}

const SQLITE_OLD_BALLOT: &str = "_votebox_ballot_schema1";

fn plan_sqlite(
    shape: &Shape,
    v2_claimed: bool,
    ballot_upgrade: bool,
    steps: &mut Vec<Step>,
    notes: &mut Vec<String>,
) {
    let b = Backend::Sqlite;
    if !v2_claimed {
        steps.push(Step {
            id: "schema-version",
            what: "create schema_version and record version 2".to_owned(),
            sql: vec![
                "CREATE TABLE schema_version (\n\tversion INTEGER NOT NULL, \n\tPRIMARY KEY (version)\n)"
                    .to_owned(),
                "INSERT INTO schema_version (version) VALUES (2)".to_owned(),
            ],
        });
    } else if shape.schema_version().is_none() {
        steps.push(schema_version_insert(b));
    }
    if shape.has("voter") {
        let sql: Vec<String> = ["salt", "ballot_id"]
            .into_iter()
            .filter(|c| !shape.has_column("voter", c))
            .map(|c| format!("ALTER TABLE voter ADD COLUMN {c} BLOB"))
            .collect();
        if !sql.is_empty() {
            steps.push(Step {
                id: "voter-columns",
                what: "add voter.salt and voter.ballot_id (BLOB, NULL for schema-1 voters)"
                    .to_owned(),
                sql,
            });
        }
        if shape.index_on("voter", "election_id").is_none() {
            steps.push(Step {
                id: "voter-index",
                what: "create index ix_voter_election_id on voter(election_id)".to_owned(),
                sql: vec!["CREATE INDEX ix_voter_election_id ON voter (election_id)".to_owned()],
            });
        }
    }
    if shape.has("ballot") && ballot_upgrade {
        // The documented 12-step rebuild (foreign keys are off on this connection): the old
        // table is renamed with legacy_alter_table on (so nothing else is rewritten to point at
        // it), the new one gets Elekto's exact DDL, rows are copied in rowid order, the old
        // table goes, and indexes and triggers are recreated.
        let known = ["id", "election_id", "rank", "candidate", "voter"];
        let dropped = ["created_at", "updated_at"];
        let extra: Vec<&Column> = shape.columns["ballot"]
            .iter()
            .filter(|c| !known.contains(&c.name.as_str()) && !dropped.contains(&c.name.as_str()))
            .collect();
        let extra_defs: Vec<String> = extra
            .iter()
            .map(|c| {
                let mut d = format!("{} {}", q(b, &c.name), c.data_type.to_ascii_uppercase());
                if c.not_null {
                    d.push_str(" NOT NULL");
                }
                if let Some(v) = &c.default {
                    let _ = write!(d, " DEFAULT {v}");
                }
                d.trim_end().to_owned()
            })
            .collect();
        let mut cols: Vec<String> = known.iter().map(|c| (*c).to_owned()).collect();
        cols.extend(extra.iter().map(|c| q(b, &c.name)));
        let mut select = cols.clone();
        select[0] =
            "CASE WHEN typeof(id) = 'integer' THEN printf('%032d', id) ELSE id END".to_owned();
        let mut sql = vec![
            "PRAGMA legacy_alter_table = ON".to_owned(),
            format!("ALTER TABLE ballot RENAME TO {SQLITE_OLD_BALLOT}"),
            "PRAGMA legacy_alter_table = OFF".to_owned(),
            sqlite_ballot_ddl(&extra_defs),
            format!(
                "INSERT INTO ballot ({}) SELECT {} FROM {SQLITE_OLD_BALLOT} ORDER BY rowid",
                cols.join(", "),
                select.join(", ")
            ),
            format!("DROP TABLE {SQLITE_OLD_BALLOT}"),
        ];
        let mut election_index = false;
        for i in shape.indexes.iter().filter(|i| i.table == "ballot") {
            let Some(text) = &i.sql else { continue };
            if i.columns.iter().any(|c| dropped.contains(&c.as_str())) {
                notes.push(format!(
                    "index {} on ballot's dropped timestamp columns cannot be kept",
                    i.name
                ));
                continue;
            }
            election_index |= i.columns.first().map(String::as_str) == Some("election_id");
            sql.push(text.clone());
        }
        if !election_index {
            sql.push("CREATE INDEX ix_ballot_election_id ON ballot (election_id)".to_owned());
        }
        sql.extend(shape.ballot_triggers.iter().cloned());
        let mut what = "rebuild ballot with Elekto 0.6's definition: id CHAR(32) (old ids become \
                        32 zero-padded digits), without created_at/updated_at"
            .to_owned();
        if !extra.is_empty() {
            let _ = write!(
                what,
                "; extra columns kept: {}",
                extra
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        steps.push(Step {
            id: "ballot-rebuild",
            what,
            sql,
        });
    } else if shape.has("ballot") && shape.index_on("ballot", "election_id").is_none() {
        steps.push(Step {
            id: "ballot-index",
            what: "create index ix_ballot_election_id on ballot(election_id)".to_owned(),
            sql: vec!["CREATE INDEX ix_ballot_election_id ON ballot (election_id)".to_owned()],
        });
    }
}

/// MySQL: `ALTER TABLE` clauses that give `table` the index `ix_<table>_election_id`: rename
/// InnoDB's automatic foreign-key index `election_id` (what Elekto 0.5 tables have), or add one.
fn mysql_index_clause(shape: &Shape, table: &str) -> Option<String> {
    let name = format!("ix_{table}_election_id");
    if shape.index_named(table, &name).is_some() {
        return None;
    }
    if let Some(i) = shape.index_named(table, "election_id")
        && i.columns == ["election_id"]
    {
        return Some(format!("RENAME INDEX `election_id` TO `{name}`"));
    }
    if shape.index_on(table, "election_id").is_some() {
        return None;
    }
    Some(format!("ADD INDEX `{name}` (`election_id`)"))
}

fn plan_mysql(shape: &Shape, v2_claimed: bool, ballot_upgrade: bool, steps: &mut Vec<Step>) {
    // One ALTER TABLE per table (each is atomic in InnoDB); the Elekto marker schema_version
    // comes last, so Elekto refuses the database until every other step is done.
    if shape.has("voter") {
        let mut clauses: Vec<String> = ["salt", "ballot_id"]
            .into_iter()
            .filter(|c| !shape.has_column("voter", c))
            .map(|c| format!("ADD COLUMN `{c}` BLOB"))
            .collect();
        if !v2_claimed || shape.index_on("voter", "election_id").is_none() {
            clauses.extend(mysql_index_clause(shape, "voter"));
        }
        if !clauses.is_empty() {
            steps.push(Step {
                id: "voter-columns",
                what: "add voter.salt and voter.ballot_id (BLOB, NULL for schema-1 voters), \
                       index ix_voter_election_id"
                    .to_owned(),
                sql: vec![format!("ALTER TABLE `voter` {}", clauses.join(", "))],
            });
        }
    }
    if shape.has("ballot") {
        let mut clauses = Vec::new();
        if ballot_upgrade && shape.ballot_id_is_integer() {
            clauses.push("MODIFY `id` CHAR(32) NOT NULL".to_owned());
        }
        if !v2_claimed {
            for c in ["created_at", "updated_at"] {
                if shape.has_column("ballot", c) {
                    clauses.push(format!("DROP COLUMN `{c}`"));
                }
            }
        }
        if !v2_claimed || shape.index_on("ballot", "election_id").is_none() {
            clauses.extend(mysql_index_clause(shape, "ballot"));
        }
        if !clauses.is_empty() {
            steps.push(Step {
                id: "ballot-columns",
                what: "ballot: id becomes CHAR(32), created_at/updated_at dropped (Elekto 0.6 \
                       removed them: they tie a ballot to its voter row), index \
                       ix_ballot_election_id"
                    .to_owned(),
                sql: vec![format!("ALTER TABLE `ballot` {}", clauses.join(", "))],
            });
        }
        if ballot_upgrade && (shape.ballot_id_is_integer() || shape.short_numeric_ballot_ids > 0) {
            steps.push(Step {
                id: "ballot-ids",
                what: "old ballot ids become 32 zero-padded digits, as Elekto's upgrade made them"
                    .to_owned(),
                sql: vec![
                    "UPDATE `ballot` SET `id` = LPAD(`id`, 32, '0') \
                     WHERE CHAR_LENGTH(`id`) < 32 AND `id` REGEXP '^[0-9]+$'"
                        .to_owned(),
                ],
            });
        }
    }
    if !v2_claimed {
        steps.push(Step {
            id: "schema-version",
            what: "create schema_version and record version 2".to_owned(),
            sql: vec![
                "CREATE TABLE IF NOT EXISTS `schema_version` (\n    `version` INTEGER NOT NULL,\n    PRIMARY KEY (`version`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4".to_owned(),
                "INSERT INTO `schema_version` (`version`) SELECT 2 FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM `schema_version`)".to_owned(),
            ],
        });
    } else if shape.schema_version().is_none() {
        steps.push(schema_version_insert(Backend::MySql));
    }
}

// ---------------------------------------------------------------------------------------------
// Orphans and other reports (read-only).

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Orphans {
    /// table → (rows, distinct missing election ids)
    by_election: BTreeMap<&'static str, (i64, Vec<i64>)>,
    /// table → rows whose user_id has no user
    by_user: BTreeMap<&'static str, i64>,
}

async fn orphans(conn: &mut Conn<'_>, shape: &Shape) -> Result<Orphans> {
    let mut out = Orphans::default();
    if !shape.has("election") {
        return Ok(out);
    }
    for table in ["voter", "ballot", "request"] {
        if !shape.has(table) {
            continue;
        }
        let t = Alias::new(table);
        let stmt = Query::select()
            .expr(Expr::col((t.clone(), Alias::new("election_id"))))
            .expr(Expr::cust("COUNT(*)"))
            .from(t.clone())
            .left_join(
                Alias::new("election"),
                Expr::col((Alias::new("election"), Alias::new("id")))
                    .equals((t.clone(), Alias::new("election_id"))),
            )
            .and_where(Expr::col((Alias::new("election"), Alias::new("id"))).is_null())
            .and_where(Expr::col((t.clone(), Alias::new("election_id"))).is_not_null())
            .group_by_col((t.clone(), Alias::new("election_id")))
            .order_by((t.clone(), Alias::new("election_id")), Order::Asc)
            .to_owned();
        let rows: Vec<(i32, i64)> = conn.fetch_all(&stmt).await?;
        if !rows.is_empty() {
            let n = rows.iter().map(|r| r.1).sum();
            out.by_election
                .insert(table, (n, rows.iter().map(|r| i64::from(r.0)).collect()));
        }
    }
    if shape.has("user") {
        for table in ["voter", "request"] {
            if !shape.has(table) {
                continue;
            }
            let t = Alias::new(table);
            let stmt = Query::select()
                .expr(Expr::cust("COUNT(*)"))
                .from(t.clone())
                .left_join(
                    Alias::new("user"),
                    Expr::col((Alias::new("user"), Alias::new("id")))
                        .equals((t.clone(), Alias::new("user_id"))),
                )
                .and_where(Expr::col((Alias::new("user"), Alias::new("id"))).is_null())
                .and_where(Expr::col((t.clone(), Alias::new("user_id"))).is_not_null())
                .to_owned();
            let (n,): (i64,) = conn.fetch_one(&stmt).await?;
            if n > 0 {
                out.by_user.insert(table, n);
            }
        }
    }
    Ok(out)
}

fn orphan_notes(o: &Orphans) -> Vec<String> {
    let mut notes = Vec::new();
    for (table, (n, ids)) in &o.by_election {
        notes.push(format!(
            "kept {n} {table} row(s) whose election no longer exists (election id {}): Elekto \
             deleted those elections without deleting their rows (SQLite never enforced the \
             foreign keys). They belong to no election, so no count includes them; nothing \
             was dropped",
            ids.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for (table, n) in &o.by_user {
        notes.push(format!(
            "kept {n} {table} row(s) whose user no longer exists; nothing was dropped"
        ));
    }
    notes
}

// ---------------------------------------------------------------------------------------------
// Privileges (MySQL; PostgreSQL learns it from the failed statement inside its transaction).

async fn mysql_missing_privileges(conn: &mut Conn<'_>, plan: &Plan) -> Result<Vec<String>> {
    let (user,): (String,) = fetch(conn, "SELECT CAST(CURRENT_USER() AS CHAR)")
        .await?
        .into_iter()
        .next()
        .unwrap_or_default();
    let roles: Vec<(Option<String>,)> = fetch(conn, "SELECT CAST(CURRENT_ROLE() AS CHAR)")
        .await
        .unwrap_or_default();
    let mut grantees = vec![grantee(&user)];
    for r in roles
        .into_iter()
        .filter_map(|(r,)| r)
        .flat_map(|r| r.split(',').map(str::to_owned).collect::<Vec<_>>())
    {
        let r = r.trim().replace('`', "");
        if r.is_empty() || r.eq_ignore_ascii_case("none") {
            continue;
        }
        grantees.push(grantee(&r));
        grantees.push(format!("'{}'", r.split('@').next().unwrap_or(&r)));
        grantees.push(format!("'{}'@''", r.split('@').next().unwrap_or(&r)));
    }
    let list = grantees
        .iter()
        .map(|g| lit(g))
        .collect::<Vec<_>>()
        .join(", ");
    let rows: Vec<(String, String)> = fetch(
        conn,
        &format!(
            "SELECT '*', CAST(PRIVILEGE_TYPE AS CHAR) FROM information_schema.USER_PRIVILEGES WHERE GRANTEE IN ({list}) \
             UNION ALL SELECT '*', CAST(PRIVILEGE_TYPE AS CHAR) FROM information_schema.SCHEMA_PRIVILEGES \
               WHERE GRANTEE IN ({list}) AND DATABASE() LIKE TABLE_SCHEMA \
             UNION ALL SELECT CAST(TABLE_NAME AS CHAR), CAST(PRIVILEGE_TYPE AS CHAR) FROM information_schema.TABLE_PRIVILEGES \
               WHERE GRANTEE IN ({list}) AND TABLE_SCHEMA = DATABASE()"
        ),
    )
    .await?;
    let has = |table: &str, privilege: &str| {
        rows.iter().any(|(t, p)| {
            (t == "*" || t == table)
                && (p.eq_ignore_ascii_case(privilege) || p.eq_ignore_ascii_case("ALL PRIVILEGES"))
        })
    };
    let mut missing = Vec::new();
    // New tables (history, marker, votebox's own) and their rows.
    for p in ["CREATE", "SELECT", "INSERT", "UPDATE", "DELETE"] {
        if !has("*", p) {
            missing.push(format!("{p} on the database"));
        }
    }
    for step in &plan.steps {
        let table = match step.id {
            "voter-columns" => "voter",
            "ballot-columns" | "ballot-ids" => "ballot",
            _ => continue,
        };
        for p in ["ALTER", "UPDATE"] {
            if step.id == "ballot-ids" && p == "ALTER" {
                continue;
            }
            if !has(table, p) {
                let m = format!("{p} on {table}");
                if !missing.contains(&m) {
                    missing.push(m);
                }
            }
        }
    }
    Ok(missing)
}

/// `user@host` (CURRENT_USER) → `'user'@'host'` (information_schema's GRANTEE).
fn grantee(user_at_host: &str) -> String {
    match user_at_host.rsplit_once('@') {
        Some((u, h)) => format!("'{u}'@'{h}'"),
        None => format!("'{user_at_host}'"),
    }
}

fn is_permission_error(e: &DbError) -> bool {
    let DbError::Sqlx(sqlx::Error::Database(d)) = e else {
        return false;
    };
    if d.code().as_deref() == Some("42501") {
        return true; // PostgreSQL insufficient_privilege
    }
    if let Some(my) = d.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        // ER_DBACCESS_DENIED, ER_TABLEACCESS_DENIED, ER_COLUMNACCESS_DENIED,
        // ER_SPECIFIC_ACCESS_DENIED, ER_ACCESS_DENIED (no such user) …
        return matches!(my.number(), 1044 | 1045 | 1142 | 1143 | 1227);
    }
    // SQLITE_READONLY, SQLITE_PERM, SQLITE_AUTH
    matches!(
        d.code()
            .and_then(|c| c.parse::<i32>().ok())
            .map(|c| c & 0xff),
        Some(8 | 3 | 23)
    )
}

// ---------------------------------------------------------------------------------------------
// Manual SQL (for operators who run it themselves, and `votebox migrate --print-sql`).

/// The bookkeeping table sqlx keeps, exactly as sqlx 0.9 creates it.
fn migrations_table_ddl(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => {
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (\n    version BIGINT PRIMARY KEY,\n    description TEXT NOT NULL,\n    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),\n    success BOOLEAN NOT NULL,\n    checksum BYTEA NOT NULL,\n    execution_time BIGINT NOT NULL\n)"
        }
        Backend::MySql => {
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (\n    version BIGINT PRIMARY KEY,\n    description TEXT NOT NULL,\n    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n    success BOOLEAN NOT NULL,\n    checksum BLOB NOT NULL,\n    execution_time BIGINT NOT NULL\n)"
        }
        Backend::Sqlite => {
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (\n    version BIGINT PRIMARY KEY,\n    description TEXT NOT NULL,\n    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n    success BOOLEAN NOT NULL,\n    checksum BLOB NOT NULL,\n    execution_time BIGINT NOT NULL\n)"
        }
    }
}

fn history_insert(backend: Backend, version: i64, description: &str, checksum: &[u8]) -> String {
    let checksum = match backend {
        Backend::Postgres => format!("'\\x{}'::bytea", hex_lower(checksum)),
        Backend::MySql | Backend::Sqlite => format!("X'{}'", hex_lower(checksum)),
    };
    format!(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES ({version}, {}, TRUE, {checksum}, -1)",
        lit(description)
    )
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The complete SQL an owner can run by hand instead of `votebox migrate`, for this plan:
/// Elekto's schema 1 → 2 steps (if any), votebox's additive migrations, and the migration
/// history that makes `votebox migrate` see the database as up to date afterwards.
fn manual_sql(backend: Backend, plan: &Plan, applied: &BTreeSet<i64>) -> String {
    let m = migrator(backend);
    let mut out = String::new();
    let comment = "--";
    let _ = writeln!(
        out,
        "{comment} votebox {}: upgrade of {} on {backend}.",
        env!("CARGO_PKG_VERSION"),
        plan.found
    );
    let _ = writeln!(
        out,
        "{comment} Run as the owner of the tables (or a user allowed to ALTER and CREATE them), \
         then run `votebox migrate` again: it will find nothing left to do."
    );
    let tx = backend != Backend::MySql;
    if tx {
        let _ = writeln!(out, "BEGIN;");
    } else {
        let _ = writeln!(
            out,
            "{comment} MySQL commits each ALTER/CREATE at once: run the statements in order. If the \
             session is interrupted, `votebox migrate` (as the owner) finishes the job."
        );
    }
    if !plan.steps.is_empty() {
        let _ = writeln!(out, "\n{comment} Elekto schema 1 -> 2");
        for step in &plan.steps {
            let _ = writeln!(out, "{comment} {}", step.what);
            for s in &step.sql {
                let _ = writeln!(out, "{s};");
            }
        }
    }
    let _ = writeln!(out, "\n{comment} votebox's migration history");
    let _ = writeln!(out, "{};", migrations_table_ddl(backend));
    for mig in up_migrations(&m) {
        if applied.contains(&mig.version) {
            continue;
        }
        let _ = writeln!(
            out,
            "\n{comment} migration {:04} {}",
            mig.version, mig.description
        );
        if mig.version == 1 && plan.baseline {
            let _ = writeln!(
                out,
                "{comment} (Elekto's tables: already there, recorded without running it)"
            );
        } else {
            let body = mig.sql.as_str().trim_end();
            let _ = writeln!(out, "{body}");
            if !body.ends_with(';') {
                out.push_str(";\n");
            }
        }
        let _ = writeln!(
            out,
            "{};",
            history_insert(backend, mig.version, &mig.description, &mig.checksum)
        );
    }
    if tx {
        let _ = writeln!(out, "\nCOMMIT;");
    }
    out
}

/// The shape Elekto's own code creates, at schema `from` (1 = Elekto 0.5.x, 2 = 0.6+).
fn canonical_shape(backend: Backend, from: u32) -> Shape {
    let mut shape = Shape::default();
    for (table, columns) in ELEKTO_COLUMNS {
        if *table == "schema_version" && from < 2 {
            continue;
        }
        shape.tables.insert((*table).to_owned());
        let mut cols: Vec<Column> = columns
            .iter()
            .map(|c| Column {
                name: (*c).to_owned(),
                data_type: if *c == "id" && *table == "ballot" && from >= 2 {
                    "char(32)".to_owned()
                } else if ["id", "user_id", "election_id", "rank", "version"].contains(c) {
                    "integer".to_owned()
                } else {
                    "varchar(255)".to_owned()
                },
                not_null: false,
                default: None,
            })
            .collect();
        if *table == "voter" && from >= 2 {
            for c in ["salt", "ballot_id"] {
                cols.push(Column {
                    name: c.to_owned(),
                    data_type: "blob".to_owned(),
                    not_null: false,
                    default: None,
                });
            }
        }
        if *table == "ballot" && from < 2 {
            for c in ["created_at", "updated_at"] {
                cols.push(Column {
                    name: c.to_owned(),
                    data_type: "datetime".to_owned(),
                    not_null: false,
                    default: None,
                });
            }
        }
        shape.columns.insert((*table).to_owned(), cols);
    }
    for table in ["voter", "ballot"] {
        let name = match (from, backend) {
            (2, _) => Some(format!("ix_{table}_election_id")),
            (_, Backend::MySql) => Some("election_id".to_owned()),
            _ => None,
        };
        if let Some(name) = name {
            shape.indexes.push(Index {
                table: table.to_owned(),
                name,
                columns: vec!["election_id".to_owned()],
                sql: None,
            });
        }
    }
    if from >= 2 {
        shape.schema_versions = Some(vec![2]);
    }
    if backend == Backend::Postgres {
        shape.ballot_pk = Some("ballot_pkey".to_owned());
    }
    shape
}

/// `votebox migrate --print-sql`: the SQL that upgrades a database made by Elekto at schema
/// `from` (1: Elekto 0.5.x; 2: Elekto 0.6+) on `backend` to what `votebox migrate` leaves, for an
/// owner to run by hand.
pub fn print_sql(backend: Backend, from: u32) -> Result<String> {
    if !(1..=2).contains(&from) {
        return Err(DbError::Migrate(format!(
            "--from must be 1 (Elekto 0.5) or 2 (Elekto 0.6 and later), not {from}"
        )));
    }
    let shape = canonical_shape(backend, from);
    let plan = plan(backend, &shape)?;
    Ok(manual_sql(backend, &plan, &BTreeSet::new()))
}

// ---------------------------------------------------------------------------------------------
// Execution.

/// Reports progress and implements the [`PAUSE_ENV`] test hook.
pub(super) struct Reporter<'a> {
    pub progress: &'a (dyn Fn(Progress) + Send + Sync),
    pause_at: Option<String>,
}

impl<'a> Reporter<'a> {
    pub(super) fn new(progress: &'a (dyn Fn(Progress) + Send + Sync)) -> Self {
        Reporter {
            progress,
            pause_at: std::env::var(PAUSE_ENV).ok().filter(|v| !v.is_empty()),
        }
    }

    pub(super) fn emit(&self, p: Progress) {
        (self.progress)(p);
    }

    /// A named point of the upgrade (see [`PAUSE_ENV`]).
    pub(super) async fn point(&self, name: &str) {
        let Some(at) = &self.pause_at else { return };
        eprintln!("votebox: migrate point: {name}");
        if at == name {
            eprintln!("votebox: paused at {name} ({PAUSE_ENV}); waiting to be killed");
            loop {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
        }
    }
}

/// Adopts the legacy Elekto database behind `conn` (the caller holds the migration lock and, on
/// SQLite, the one write transaction). Does nothing when the database is not legacy and no
/// upgrade of ours is unfinished. Returns whether anything was adopted.
pub(super) async fn adopt(conn: &mut Conn<'_>, reporter: &Reporter<'_>) -> Result<bool> {
    let backend = conn.backend();
    let shape = inspect(conn).await?;
    let legacy = shape.has("election") && !shape.has(MIGRATIONS_TABLE);
    if !legacy && shape.marker.is_none() {
        return Ok(false);
    }
    let plan = plan(backend, &shape)?;
    reporter.emit(Progress::Found(plan.found.clone()));
    let orphans = orphans(conn, &shape).await?;
    let mut notes = plan.notes.clone();
    notes.extend(orphan_notes(&orphans));
    for n in &notes {
        reporter.emit(Progress::Note(n.clone()));
    }
    if plan.steps.is_empty() {
        reporter.emit(Progress::Step(
            "Elekto's tables are kept exactly as they are (schema 2)".to_owned(),
        ));
    }

    let applied: BTreeSet<i64> = if shape.has(MIGRATIONS_TABLE) {
        let rows: Vec<(i64,)> = fetch(
            conn,
            &format!("SELECT version FROM {MIGRATIONS_TABLE} WHERE success = TRUE"),
        )
        .await?;
        rows.into_iter().map(|(v,)| v).collect()
    } else {
        BTreeSet::new()
    };

    if backend == Backend::MySql {
        let missing = mysql_missing_privileges(conn, &plan).await?;
        if !missing.is_empty() {
            reporter.emit(Progress::ManualSql(manual_sql(backend, &plan, &applied)));
            return Err(DbError::Migrate(format!(
                "the database user lacks privileges to upgrade this Elekto database ({}); \
                 nothing was changed. Grant them (e.g. `GRANT ALL ON <database>.* TO <user>`) \
                 and run `votebox migrate` again, or have an owner run the SQL printed above",
                missing.join(", ")
            )));
        }
    }

    let mut report = notes.clone();
    if backend == Backend::Sqlite {
        reporter.point("before:backup").await;
        match sqlite_backup(conn).await? {
            Some(path) => {
                let msg = format!(
                    "backup of the Elekto database before any change: {}",
                    path.display()
                );
                reporter.emit(Progress::Note(msg.clone()));
                report.push(msg);
            }
            None => reporter.emit(Progress::Note(
                "in-memory database: no backup file".to_owned(),
            )),
        }
        reporter.point("after:backup").await;
    }

    let result = match conn {
        Conn::Pg(c) => {
            let mut tx = c.begin().await?;
            let r = apply(&mut Conn::Pg(&mut tx), &shape, &plan, &report, reporter).await;
            match r {
                Ok(()) => {
                    reporter.point("before:commit").await;
                    tx.commit().await?;
                    Ok(())
                }
                Err(e) => {
                    let _ = tx.rollback().await;
                    Err(e)
                }
            }
        }
        _ => apply(conn, &shape, &plan, &report, reporter).await,
    };
    if let Err(e) = result {
        let permission = is_permission_error(&e);
        let transactional = backend != Backend::MySql;
        if !transactional {
            // What remains, from the schema as it is now.
            let remaining = match inspect(conn).await {
                Ok(now) => self::plan(backend, &now).ok(),
                Err(_) => None,
            };
            let remaining = remaining.as_ref().unwrap_or(&plan);
            reporter.emit(Progress::ManualSql(manual_sql(
                backend, remaining, &applied,
            )));
        } else if permission {
            reporter.emit(Progress::ManualSql(manual_sql(backend, &plan, &applied)));
        }
        let what = match (transactional, permission) {
            (true, true) => "the database user may not change these tables; nothing was changed \
                             (the transaction was rolled back). Have the owner of the tables run \
                             the SQL printed above, or run `votebox migrate` as the owner"
                .to_owned(),
            (true, false) => {
                "the upgrade failed and was rolled back; nothing was changed".to_owned()
            }
            (false, true) => "the database user lacks a privilege for the next step. Nothing is \
                              lost: the steps done so far are recorded in votebox_legacy_upgrade. \
                              Grant the privilege and run `votebox migrate` again (it resumes), \
                              or have an owner run the SQL printed above (what remains)"
                .to_owned(),
            (false, false) => "the upgrade stopped part-way (MySQL commits each schema change at \
                               once). Nothing is lost: every step done so far is recorded in \
                               votebox_legacy_upgrade and `votebox migrate` resumes from there; \
                               Elekto refuses the database until it is finished"
                .to_owned(),
        };
        return Err(DbError::Migrate(format!("{what}: {e}")));
    }
    Ok(true)
}

async fn apply(
    conn: &mut Conn<'_>,
    shape: &Shape,
    plan: &Plan,
    report: &[String],
    reporter: &Reporter<'_>,
) -> Result<()> {
    let backend = conn.backend();
    let marker_id = match &shape.marker {
        Some(m) => m.id,
        None => {
            reporter.point("before:marker").await;
            let id = start_marker(conn, plan.from).await?;
            reporter.point("after:marker").await;
            id
        }
    };
    for step in &plan.steps {
        reporter.emit(Progress::Step(step.what.clone()));
        reporter.point(&format!("before:{}", step.id)).await;
        for (i, sql) in step.sql.iter().enumerate() {
            if i > 0 {
                reporter.point(&format!("within:{}:{i}", step.id)).await;
            }
            exec(conn, sql).await?;
        }
        set_marker_step(conn, marker_id, step.id).await?;
        reporter.point(&format!("after:{}", step.id)).await;
    }

    reporter.point("before:history").await;
    let m = migrator(backend);
    let baseline = up_migrations(&m).find(|m| m.version == 1);
    match conn {
        Conn::Pg(c) => c.ensure_migrations_table(MIGRATIONS_TABLE).await,
        Conn::My(c) => c.ensure_migrations_table(MIGRATIONS_TABLE).await,
        Conn::Lite(c) => c.ensure_migrations_table(MIGRATIONS_TABLE).await,
    }
    .map_err(|e| DbError::Migrate(e.to_string()))?;
    reporter.point("after:history-table").await;
    if plan.baseline
        && let Some(base) = baseline
    {
        let rows: Vec<(i64,)> = fetch(
            conn,
            &format!("SELECT version FROM {MIGRATIONS_TABLE} WHERE version = 1"),
        )
        .await?;
        if rows.is_empty() {
            match conn {
                Conn::Pg(c) => c.skip(MIGRATIONS_TABLE, base).await,
                Conn::My(c) => c.skip(MIGRATIONS_TABLE, base).await,
                Conn::Lite(c) => c.skip(MIGRATIONS_TABLE, base).await,
            }
            .map_err(|e| DbError::Migrate(e.to_string()))?;
            reporter.emit(Progress::Step(format!(
                "recorded migration {:04} ({}) as applied: Elekto's tables are already there",
                base.version, base.description
            )));
        }
    }
    reporter.point("after:history").await;
    finish_marker(conn, marker_id, report).await?;
    reporter.point("after:finish").await;
    Ok(())
}

async fn start_marker(conn: &mut Conn<'_>, from: i64) -> Result<i64> {
    let backend = conn.backend();
    let ddl = match backend {
        Backend::Postgres => format!(
            "CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (\n    id SERIAL PRIMARY KEY,\n    from_version INTEGER NOT NULL,\n    started_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,\n    last_step VARCHAR(64),\n    finished_at TIMESTAMP WITHOUT TIME ZONE,\n    report TEXT\n)"
        ),
        Backend::MySql => format!(
            "CREATE TABLE IF NOT EXISTS `{MARKER_TABLE}` (\n    `id` INTEGER NOT NULL AUTO_INCREMENT,\n    `from_version` INTEGER NOT NULL,\n    `started_at` DATETIME(6) NOT NULL,\n    `last_step` VARCHAR(64),\n    `finished_at` DATETIME(6),\n    `report` TEXT,\n    PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        ),
        Backend::Sqlite => format!(
            "CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (\n    id INTEGER NOT NULL PRIMARY KEY,\n    from_version INTEGER NOT NULL,\n    started_at DATETIME NOT NULL,\n    last_step VARCHAR(64),\n    finished_at DATETIME,\n    report TEXT\n)"
        ),
    };
    exec(conn, &ddl).await?;
    let stmt = Query::insert()
        .into_table(Alias::new(MARKER_TABLE))
        .columns([Alias::new("from_version"), Alias::new("started_at")])
        .values_panic([
            Expr::val(from),
            Expr::val(ts_value(backend, Some(utc_now()))),
        ])
        .to_owned();
    let id = conn.insert_id(&stmt).await?;
    Ok(i64::from(id))
}

async fn set_marker_step(conn: &mut Conn<'_>, id: i64, step: &str) -> Result<()> {
    let stmt = Query::update()
        .table(Alias::new(MARKER_TABLE))
        .value(Alias::new("last_step"), step)
        .and_where(Expr::col(Alias::new("id")).eq(id))
        .to_owned();
    conn.execute(&stmt).await?;
    Ok(())
}

async fn finish_marker(conn: &mut Conn<'_>, id: i64, report: &[String]) -> Result<()> {
    let backend = conn.backend();
    let stmt = Query::update()
        .table(Alias::new(MARKER_TABLE))
        .value(
            Alias::new("finished_at"),
            Expr::val(ts_value(backend, Some(utc_now()))),
        )
        .value(Alias::new("report"), report.join("\n"))
        .and_where(Expr::col(Alias::new("id")).eq(id))
        .to_owned();
    conn.execute(&stmt).await?;
    Ok(())
}

/// `VACUUM INTO` a new file next to the database (`<stem>.before-votebox-<UTC time>.<ext>`),
/// from a second, read-only connection: the caller's transaction holds the write lock but has
/// written nothing yet, so the copy is the database as it is. `None` for in-memory databases.
async fn sqlite_backup(conn: &mut Conn<'_>) -> Result<Option<PathBuf>> {
    let rows: Vec<(String, String)> =
        fetch(conn, "SELECT name, file FROM pragma_database_list").await?;
    let Some((_, file)) = rows.into_iter().find(|(n, _)| n == "main") else {
        return Ok(None);
    };
    if file.is_empty() {
        return Ok(None);
    }
    let source = PathBuf::from(&file);
    let target = backup_path(&source);
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&source)
        .read_only(true)
        .busy_timeout(Duration::from_secs(30));
    let mut reader = sqlx::SqliteConnection::connect_with(&opts).await?;
    let result = sqlx::query("VACUUM INTO ?")
        .bind(target.to_string_lossy().into_owned())
        .execute(&mut reader)
        .await;
    let _ = reader.close().await;
    result.map_err(|e| {
        DbError::Migrate(format!(
            "cannot write the backup {} before upgrading (is the folder writable?): {e}; \
             nothing was changed",
            target.display()
        ))
    })?;
    Ok(Some(target))
}

fn backup_path(source: &Path) -> PathBuf {
    let now = time::OffsetDateTime::now_utc();
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let dir = source.parent().unwrap_or(Path::new("."));
    let stem = source
        .file_stem()
        .map_or_else(|| "elekto".into(), |s| s.to_string_lossy().into_owned());
    let ext = source
        .extension()
        .map_or_else(|| "db".into(), |s| s.to_string_lossy().into_owned());
    let mut n = 0;
    loop {
        let suffix = if n == 0 {
            String::new()
        } else {
            format!("-{n}")
        };
        let p = dir.join(format!("{stem}.before-votebox-{stamp}{suffix}.{ext}"));
        if !p.exists() {
            return p;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_plans_follow_elekto() {
        let pg = plan(Backend::Postgres, &canonical_shape(Backend::Postgres, 1)).unwrap();
        let ids: Vec<&str> = pg.steps.iter().map(|s| s.id).collect();
        assert_eq!(
            ids,
            [
                "schema-version",
                "voter-columns",
                "voter-index",
                "ballot-timestamps",
                "ballot-id",
                "ballot-index"
            ]
        );
        let sql: Vec<String> = pg.steps.iter().flat_map(|s| s.sql.clone()).collect();
        // Elekto 0.6 update_schema_2, in order.
        assert_eq!(
            sql,
            [
                "CREATE TABLE schema_version ( version INT PRIMARY KEY)",
                "INSERT INTO schema_version VALUES ( 2 )",
                "ALTER TABLE voter ADD COLUMN salt BYTEA, ADD COLUMN ballot_id BYTEA",
                "CREATE INDEX voter_election_id ON voter(election_id)",
                "ALTER TABLE ballot DROP COLUMN created_at, DROP COLUMN updated_at",
                "ALTER TABLE ballot DROP CONSTRAINT \"ballot_pkey\"",
                "ALTER TABLE ballot ALTER COLUMN id TYPE CHAR(32) USING to_char(id , 'FM00000000000000000000000000000000')",
                "ALTER TABLE ballot ALTER COLUMN id DROP DEFAULT",
                "ALTER TABLE ballot ADD CONSTRAINT ballot_pkey PRIMARY KEY ( id )",
                "CREATE INDEX ballot_election_id ON ballot(election_id)",
            ]
        );
        for b in Backend::ALL {
            let v2 = plan(b, &canonical_shape(b, 2)).unwrap();
            assert!(v2.steps.is_empty(), "{b}: {:?}", v2.steps);
            assert!(v2.baseline);
            let v1 = plan(b, &canonical_shape(b, 1)).unwrap();
            assert!(!v1.steps.is_empty());
            assert_eq!(v1.from, 1);
        }
        let my = plan(Backend::MySql, &canonical_shape(Backend::MySql, 1)).unwrap();
        assert_eq!(
            my.steps.last().map(|s| s.id),
            Some("schema-version"),
            "Elekto's marker comes last on MySQL"
        );
    }

    #[test]
    fn newer_schema_version_is_refused() {
        let mut shape = canonical_shape(Backend::Sqlite, 2);
        shape.schema_versions = Some(vec![3]);
        let err = plan(Backend::Sqlite, &shape).unwrap_err().to_string();
        assert!(err.contains("newer"), "{err}");
        assert!(err.contains("nothing was changed"), "{err}");
    }

    #[test]
    fn missing_columns_are_refused() {
        let mut shape = canonical_shape(Backend::Postgres, 2);
        shape
            .columns
            .get_mut("election")
            .unwrap()
            .retain(|c| c.name != "key");
        let err = plan(Backend::Postgres, &shape).unwrap_err().to_string();
        assert!(err.contains("election.key"), "{err}");
    }

    #[test]
    fn print_sql_covers_every_engine_and_version() {
        for b in Backend::ALL {
            for from in [1, 2] {
                let sql = print_sql(b, from).unwrap();
                assert!(sql.contains("_sqlx_migrations"), "{sql}");
                assert!(sql.contains("votebox_election_state"), "{sql}");
                assert_eq!(
                    sql.contains("schema_version"),
                    from == 1,
                    "{b} {from}\n{sql}"
                );
            }
        }
        assert!(print_sql(Backend::Sqlite, 3).is_err());
    }

    #[test]
    fn grantee_format() {
        assert_eq!(grantee("vote@%"), "'vote'@'%'");
        assert_eq!(grantee("root@127.0.0.1"), "'root'@'127.0.0.1'");
    }
}
