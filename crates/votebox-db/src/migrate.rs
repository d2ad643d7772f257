//! Schema migrations: per-dialect SQL trees with the same numbers and names, a lock so that two
//! processes never both apply one, and (later) adoption of legacy Elekto databases.
//!
//! # Files
//! `migrations/{postgres,mysql,sqlite}/NNNN_name.sql`, embedded at compile time with
//! `sqlx::migrate!`. Every number exists in all three trees under the same name. sqlx records each
//! applied migration in `_sqlx_migrations` (version, description, checksum = SHA-384 of the file,
//! success flag, time): editing an applied file makes [`run`] fail with a checksum mismatch, and a
//! database that has a migration this binary does not know (migrated by a newer votebox) is refused
//! too. Rules for new migrations:
//! - additive only on Elekto's tables (new tables, new nullable columns), so the Python server
//!   still runs on the database;
//! - every statement idempotent (`IF NOT EXISTS`, insert-if-missing). MySQL commits DDL
//!   implicitly, so a crash half-way leaves a *dirty* row (`success = FALSE`); a file whose text
//!   contains the marker `votebox:rerunnable` is then simply run again by the next [`run`] (its
//!   dirty row is deleted first, under the lock). Without the marker the dirty row stops [`run`]
//!   until an operator repairs the database.
//! - on SQLite a table rebuild needs `PRAGMA foreign_keys=OFF`, which is a no-op inside the
//!   transaction [`run`] holds: use `PRAGMA defer_foreign_keys = ON` plus `PRAGMA
//!   foreign_key_check`, or do it in Rust before the migrator (like legacy adoption will).
//!
//! # Lock
//! [`run`] first takes a database-wide lock, then reads the migration history, so of two processes
//! starting at once one applies the migrations and the other waits and finds nothing to do:
//! - PostgreSQL: session advisory lock `pg_try_advisory_lock(LOCK_KEY)` (advisory locks are per
//!   database), polled every 100 ms, on a connection detached from the pool and closed afterwards,
//!   so the lock can never leak back into the pool (closing the session releases it).
//! - MySQL/MariaDB: `GET_LOCK('votebox_migrate:<database>', 1)` in a loop (lock names are
//!   server-wide, hence the database name), also on a detached connection that is closed after.
//! - SQLite (sqlx has no lock there): everything — history check, migrations, bookkeeping — runs in
//!   one `BEGIN IMMEDIATE` transaction, which holds SQLite's write lock; a second process blocks
//!   in the busy handler (5 s) and retries. SQLite DDL is transactional, so a crash leaves nothing
//!   half-applied.
//!
//! Both give up after [`LOCK_WAIT`].
//!
//! # Legacy Elekto databases
//! A database with Elekto's `election` table but no `_sqlx_migrations` is a legacy Elekto
//! database ([`SchemaKind::LegacyElekto`]): schema 1 (Elekto 0.5, no `schema_version`) or 2
//! (0.6+, fresh or upgraded by Elekto's PostgreSQL migration). [`run`] adopts it under the same
//! lock, before the migrator, on every engine: schema 1 → 2 as Elekto 0.6 does it (PostgreSQL in
//! one transaction; SQLite by a table rebuild inside the one transaction, after a `VACUUM INTO`
//! backup; MySQL in idempotent, resumable single statements), then the history is recorded with
//! 0001 as the baseline. See `migrate/elekto_upgrade/` for the details. A `schema_version` above 2, a
//! database migrated by a newer votebox (unknown migration versions) or a hand-modified Elekto
//! schema missing Elekto's columns is refused before anything is changed.
//!
//! [`run_with_progress`] reports what it found and each step ([`Progress`]); when the user may
//! not change the tables it reports the SQL an owner can run ([`Progress::ManualSql`], also
//! [`print_sql`]) and fails with nothing changed.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use sea_query::{Asterisk, Expr, ExprTrait, Order, Query};
use sqlx::migrate::{Migration, Migrator};
use sqlx::{Connection, MySqlConnection, PgConnection};

use crate::query::{Conn, trusted_sql};
use crate::{Backend, Db, DbError, Result};

mod elekto_upgrade;

pub use elekto_upgrade::{ELEKTO_SCHEMA_VERSION, MARKER_TABLE, PAUSE_ENV, print_sql};

/// What [`run_with_progress`] reports as it works (`votebox migrate` prints each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// What the database holds, before anything is changed.
    Found(String),
    /// A step about to be applied.
    Step(String),
    /// Worth knowing, changes nothing: the backup file, kept orphan rows or unknown objects.
    Note(String),
    /// SQL for an operator to run by hand (several lines); [`run_with_progress`] then fails
    /// with nothing changed (or, on MySQL, resumably part-way).
    ManualSql(String),
}

/// Logs [`Progress`] with `tracing` (what [`run`] does).
fn log_progress(p: Progress) {
    match p {
        Progress::Found(m) => tracing::info!("migrate: found {m}"),
        Progress::Step(m) => tracing::info!("migrate: {m}"),
        Progress::Note(m) => tracing::warn!("migrate: {m}"),
        Progress::ManualSql(sql) => {
            tracing::warn!("migrate: SQL for the owner of the tables:\n{sql}")
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    pub version: i64,
    pub description: String,
    pub applied: bool,
}

/// What a database holds, as far as migrations are concerned (see [`detect`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaKind {
    /// Neither votebox's migration history nor Elekto's `election` table.
    Empty,
    /// votebox's migration history (`_sqlx_migrations`) exists.
    Managed,
    /// Elekto's tables without votebox's history: a database written by Python Elekto.
    /// `schema_version` is the value in Elekto's `schema_version` table: `None` when the table is
    /// missing (schema 1) or empty.
    LegacyElekto { schema_version: Option<i64> },
}

/// The table in which sqlx records applied migrations.
pub const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// A migration file containing this text may be re-run after it failed half-way on MySQL.
pub const RERUNNABLE_MARKER: &str = "votebox:rerunnable";

/// How long [`run`] waits for another process's migration lock before giving up.
pub const LOCK_WAIT: Duration = Duration::from_secs(600);

/// PostgreSQL advisory lock key of [`run`] ("votebox" in ASCII, plus 1).
pub const PG_LOCK_KEY: i64 = 0x0076_6f74_6562_6f78_i64 + 1;

/// The embedded migrations of one engine. Locking is ours (see module docs), not sqlx's.
fn migrator(backend: Backend) -> Migrator {
    let mut m = match backend {
        Backend::Postgres => sqlx::migrate!("migrations/postgres"),
        Backend::MySql => sqlx::migrate!("migrations/mysql"),
        Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
    };
    m.set_locking(false);
    m
}

fn up_migrations(m: &Migrator) -> impl Iterator<Item = &Migration> {
    m.iter().filter(|m| !m.migration_type.is_down_migration())
}

/// Applies every pending migration under a database-wide lock, adopting a legacy Elekto
/// database first. Returns the ones applied now (empty when up to date). Idempotent. Progress
/// goes to the log; see [`run_with_progress`].
///
/// Errors with [`DbError::Migrate`] for a database newer than this binary (Elekto
/// `schema_version` above 2, or migrations this binary does not know), a hand-modified Elekto
/// schema, missing privileges, a dirty migration that is not re-runnable, an edited migration,
/// or a lock wait longer than [`LOCK_WAIT`].
pub async fn run(db: &Db) -> Result<Vec<MigrationState>> {
    run_with_progress(db, &log_progress).await
}

/// [`run`], reporting what it finds and does to `progress` as it goes.
pub async fn run_with_progress(
    db: &Db,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<Vec<MigrationState>> {
    let reporter = elekto_upgrade::Reporter::new(progress);
    match db {
        Db::Pg(pool) => {
            // Detached: the advisory lock is per session and must not go back to the pool.
            let mut conn = pool.acquire().await?.detach();
            let result = async {
                lock_pg(&mut conn).await?;
                run_locked(&mut Conn::Pg(&mut conn), &reporter).await
            }
            .await;
            // Ending the session releases the lock (also when the process dies).
            let _ = conn.close().await;
            result
        }
        Db::My(pool) => {
            let mut conn = pool.acquire().await?.detach();
            let result = async {
                lock_mysql(&mut conn).await?;
                run_locked(&mut Conn::My(&mut conn), &reporter).await
            }
            .await;
            let _ = conn.close().await;
            result
        }
        Db::Lite(pool) => {
            // A legacy file is adopted with foreign keys off on this connection (the ballot
            // rebuild copies orphan rows, which Elekto left on SQLite); the pragma cannot change
            // inside the transaction, so it is decided from a first look without the lock
            // (the decision is re-checked under it). The connection never returns to the pool.
            let legacy = matches!(detect(db).await?, SchemaKind::LegacyElekto { .. });
            let mut conn = pool.acquire().await?.detach();
            let result = async {
                if legacy {
                    sqlx::query("PRAGMA foreign_keys = OFF")
                        .execute(&mut conn)
                        .await?;
                }
                let mut tx = begin_immediate_on(&mut conn).await?;
                let applied = run_locked(&mut Conn::Lite(&mut tx), &reporter).await?;
                tx.commit().await?;
                Ok(applied)
            }
            .await;
            let _ = conn.close().await;
            result
        }
    }
}

/// Fails unless the database is ready to be served: not a legacy Elekto database (or a
/// half-done upgrade of one) that `votebox migrate` has not adopted yet. Read-only; pending
/// additive migrations are not an error here.
pub async fn ensure_adopted(db: &Db) -> Result<()> {
    let mut pooled = db.acquire().await?;
    let mut conn = pooled.conn();
    let unfinished = elekto_upgrade::unfinished_upgrade(&mut conn).await?;
    match detect_in(&mut conn).await? {
        SchemaKind::LegacyElekto { schema_version } => Err(DbError::Migrate(format!(
            "the database holds Elekto's tables (schema {}) that votebox has not adopted yet: \
             run `votebox migrate` first",
            schema_version.unwrap_or(1)
        ))),
        _ if unfinished => Err(DbError::Migrate(
            "an upgrade of this Elekto database by `votebox migrate` was interrupted: run \
             `votebox migrate` again to finish it"
                .into(),
        )),
        _ => Ok(()),
    }
}

/// Every known migration, applied or pending.
///
/// Sorted by version. Also lists, as applied, versions recorded in the database that this
/// binary does not know (written by a newer votebox). A migration that failed half-way (dirty)
/// is listed as not applied. Takes no lock and writes nothing.
pub async fn status(db: &Db) -> Result<Vec<MigrationState>> {
    let mut pooled = db.acquire().await?;
    let mut conn = pooled.conn();
    let migrator = migrator(conn.backend());
    let recorded = recorded_migrations(&mut conn).await?;
    let mut out: Vec<MigrationState> = up_migrations(&migrator)
        .map(|m| MigrationState {
            version: m.version,
            description: m.description.to_string(),
            applied: recorded.get(&m.version).is_some_and(|(_, ok)| *ok),
        })
        .collect();
    for (version, (description, ok)) in &recorded {
        if !migrator.version_exists(*version) {
            out.push(MigrationState {
                version: *version,
                description: description.clone(),
                applied: *ok,
            });
        }
    }
    out.sort_by_key(|m| m.version);
    Ok(out)
}

/// Classifies the database (see [`SchemaKind`]). Read-only.
pub async fn detect(db: &Db) -> Result<SchemaKind> {
    detect_in(&mut db.acquire().await?.conn()).await
}

async fn detect_in(conn: &mut Conn<'_>) -> Result<SchemaKind> {
    if has_table(conn, MIGRATIONS_TABLE).await? {
        return Ok(SchemaKind::Managed);
    }
    if !has_table(conn, "election").await? {
        return Ok(SchemaKind::Empty);
    }
    let schema_version = elekto_schema_version(conn).await?;
    Ok(SchemaKind::LegacyElekto { schema_version })
}

/// The highest version in Elekto's `schema_version` table; `None` when there is no such table.
async fn elekto_schema_version(conn: &mut Conn<'_>) -> Result<Option<i64>> {
    if !has_table(conn, "schema_version").await? {
        return Ok(None);
    }
    let stmt = Query::select()
        .column("version")
        .from("schema_version")
        .order_by("version", Order::Desc)
        .limit(1)
        .to_owned();
    Ok(conn
        .fetch_optional::<(i32,)>(&stmt)
        .await?
        .map(|(v,)| i64::from(v)))
}

/// The migration run proper; the caller holds the lock.
async fn run_locked(
    conn: &mut Conn<'_>,
    reporter: &elekto_upgrade::Reporter<'_>,
) -> Result<Vec<MigrationState>> {
    let migrator = migrator(conn.backend());
    let kind = detect_in(conn).await?;
    if kind == SchemaKind::Managed {
        refuse_newer(conn, &migrator).await?;
    }
    let adopted = elekto_upgrade::adopt(conn, reporter).await?;
    match kind {
        SchemaKind::Empty => reporter.emit(Progress::Found(
            "an empty database: creating Elekto's tables (schema 2) and votebox's".to_owned(),
        )),
        SchemaKind::Managed if !adopted => {
            reporter.emit(Progress::Found("a database managed by votebox".to_owned()))
        }
        _ => {}
    }
    if detect_in(conn).await? == SchemaKind::Managed {
        clear_rerunnable_dirty(conn, &migrator).await?;
    }

    let recorded = recorded_migrations(conn).await?;
    let pending: Vec<MigrationState> = up_migrations(&migrator)
        .filter(|m| !recorded.contains_key(&m.version))
        .map(|m| MigrationState {
            version: m.version,
            description: m.description.to_string(),
            applied: true,
        })
        .collect();
    reporter.point("before:migrations").await;
    let result = match conn {
        Conn::Pg(c) => migrator.run_direct(None, &mut **c, false).await,
        Conn::My(c) => migrator.run_direct(None, &mut **c, false).await,
        Conn::Lite(c) => migrator.run_direct(None, &mut **c, false).await,
    };
    result.map_err(|e| DbError::Migrate(e.to_string()))?;
    reporter.point("after:migrations").await;
    for m in &pending {
        tracing::info!(version = m.version, description = %m.description, "migration applied");
    }
    Ok(pending)
}

/// Refuses, before anything is written, a database that a newer votebox migrated (history rows
/// for versions this binary does not know) or whose Elekto `schema_version` is above 2.
async fn refuse_newer(conn: &mut Conn<'_>, migrator: &Migrator) -> Result<()> {
    let recorded = recorded_migrations(conn).await?;
    let mut unknown: Vec<(i64, String)> = recorded
        .iter()
        .filter(|(v, _)| !migrator.version_exists(**v))
        .map(|(v, (d, _))| (*v, d.clone()))
        .collect();
    if !unknown.is_empty() {
        unknown.sort();
        let known = up_migrations(migrator)
            .map(|m| m.version)
            .max()
            .unwrap_or(0);
        return Err(DbError::Migrate(format!(
            "this database was migrated by a newer votebox: migration(s) {} are unknown to this \
             binary, which knows up to {known:04}; run the newer votebox (nothing was changed)",
            unknown
                .iter()
                .map(|(v, d)| format!("{v:04} ({d})"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if let Some(v) = elekto_schema_version(conn).await?
        && v > ELEKTO_SCHEMA_VERSION
    {
        return Err(DbError::Migrate(format!(
            "Elekto's schema_version is {v}, newer than the version this votebox knows \
             ({ELEKTO_SCHEMA_VERSION}); nothing was changed"
        )));
    }
    Ok(())
}

/// `version -> (description, success)` from `_sqlx_migrations`; empty when the table is missing.
async fn recorded_migrations(conn: &mut Conn<'_>) -> Result<HashMap<i64, (String, bool)>> {
    if !has_table(conn, MIGRATIONS_TABLE).await? {
        return Ok(HashMap::new());
    }
    let stmt = Query::select()
        .columns(["version", "description", "success"])
        .from(MIGRATIONS_TABLE)
        .to_owned();
    let rows: Vec<(i64, String, bool)> = conn.fetch_all(&stmt).await?;
    Ok(rows.into_iter().map(|(v, d, ok)| (v, (d, ok))).collect())
}

/// Deletes the dirty history rows of re-runnable migrations so that the migrator runs them again.
async fn clear_rerunnable_dirty(conn: &mut Conn<'_>, migrator: &Migrator) -> Result<()> {
    let dirty: HashSet<i64> = recorded_migrations(conn)
        .await?
        .into_iter()
        .filter(|(_, (_, ok))| !ok)
        .map(|(v, _)| v)
        .collect();
    for m in up_migrations(migrator).filter(|m| dirty.contains(&m.version)) {
        if !m.sql.as_str().contains(RERUNNABLE_MARKER) {
            continue; // the migrator reports it as dirty
        }
        tracing::warn!(
            version = m.version,
            description = %m.description,
            "migration failed half-way earlier; running it again"
        );
        let stmt = Query::delete()
            .from_table(MIGRATIONS_TABLE)
            .and_where(Expr::col("version").eq(m.version))
            .to_owned();
        conn.execute(&stmt).await?;
    }
    Ok(())
}

/// Whether a table of this name exists in the connection's current database/schema.
pub(crate) async fn has_table(conn: &mut Conn<'_>, name: &str) -> Result<bool> {
    let count = Expr::col(Asterisk).count();
    let stmt = match conn.backend() {
        Backend::Postgres | Backend::MySql => {
            let current = if conn.backend() == Backend::Postgres {
                Expr::cust("current_schema()")
            } else {
                Expr::cust("DATABASE()")
            };
            Query::select()
                .expr(count)
                .from(("information_schema", "tables"))
                .and_where(Expr::col("table_schema").eq(current))
                .and_where(Expr::col("table_name").eq(name))
                .to_owned()
        }
        Backend::Sqlite => Query::select()
            .expr(count)
            .from("sqlite_master")
            .and_where(Expr::col("type").eq("table"))
            .and_where(Expr::col("name").eq(name))
            .to_owned(),
    };
    let (n,): (i64,) = conn.fetch_one(&stmt).await?;
    Ok(n > 0)
}

// ---------------------------------------------------------------------------------------------
// Locks.

struct LockWait {
    what: &'static str,
    start: Instant,
    logged: bool,
}

impl LockWait {
    fn new(what: &'static str) -> Self {
        LockWait {
            what,
            start: Instant::now(),
            logged: false,
        }
    }

    /// Called after a failed attempt: logs once, errors after [`LOCK_WAIT`].
    fn still_waiting(&mut self) -> Result<()> {
        if !self.logged {
            tracing::info!(
                "another process is migrating the database; waiting for {}",
                self.what
            );
            self.logged = true;
        }
        if self.start.elapsed() >= LOCK_WAIT {
            return Err(DbError::Migrate(format!(
                "gave up waiting for {} after {:?}",
                self.what, LOCK_WAIT
            )));
        }
        Ok(())
    }
}

async fn lock_pg(conn: &mut PgConnection) -> Result<()> {
    let mut wait = LockWait::new("the PostgreSQL advisory lock");
    loop {
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(PG_LOCK_KEY)
            .fetch_one(&mut *conn)
            .await?;
        if got {
            return Ok(());
        }
        wait.still_waiting()?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn lock_mysql(conn: &mut MySqlConnection) -> Result<()> {
    let mut wait = LockWait::new("the MySQL migration lock (GET_LOCK)");
    loop {
        // 1 on success, 0 after the 1 s timeout, NULL on error (e.g. no database selected).
        let got: Option<i64> = sqlx::query_scalar(
            "SELECT GET_LOCK(LEFT(CONCAT('votebox_migrate:', DATABASE()), 64), 1)",
        )
        .fetch_one(&mut *conn)
        .await?;
        match got {
            Some(1) => return Ok(()),
            Some(_) => wait.still_waiting()?,
            None => {
                return Err(DbError::Migrate(
                    "GET_LOCK failed (is a database selected in the URL?)".into(),
                ));
            }
        }
    }
}

/// `BEGIN IMMEDIATE` on a SQLite connection of [`run`]'s own (closed afterwards), waiting up to
/// [`LOCK_WAIT`] while another connection or process holds the write lock: the connection's
/// busy handler does the waiting.
async fn begin_immediate_on(
    conn: &mut sqlx::SqliteConnection,
) -> Result<sqlx::Transaction<'_, sqlx::Sqlite>> {
    sqlx::query(trusted_sql(format!(
        "PRAGMA busy_timeout = {}",
        LOCK_WAIT.as_millis()
    )))
    .execute(&mut *conn)
    .await?;
    conn.begin_with("BEGIN IMMEDIATE").await.map_err(|e| {
        if crate::pool::is_sqlite_busy(&e) {
            DbError::Migrate(format!(
                "gave up waiting for the SQLite write lock after {LOCK_WAIT:?}"
            ))
        } else {
            e.into()
        }
    })
}
