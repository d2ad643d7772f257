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
//! database ([`SchemaKind::LegacyElekto`]). Adopting one (v1 → v2 upgrade, index names, SQLite
//! orphans) is a later step that will run under the same lock before the migrator; until then
//! [`run`] refuses such a database and changes nothing.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use sea_query::{Asterisk, Expr, ExprTrait, Order, Query};
use sqlx::migrate::{Migration, Migrator};
use sqlx::{Connection, MySqlConnection, PgConnection};

use crate::query::Conn;
use crate::{Backend, Db, DbError, Result};

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

/// Applies every pending migration under a database-wide lock. Returns the ones applied now
/// (empty when up to date). Idempotent.
///
/// Errors with [`DbError::Migrate`] for a legacy Elekto database (not adopted yet), a dirty
/// migration that is not re-runnable, an edited or unknown applied migration, or a lock wait
/// longer than [`LOCK_WAIT`].
pub async fn run(db: &Db) -> Result<Vec<MigrationState>> {
    match db {
        Db::Pg(pool) => {
            // Detached: the advisory lock is per session and must not go back to the pool.
            let mut conn = pool.acquire().await?.detach();
            let result = async {
                lock_pg(&mut conn).await?;
                run_locked(&mut Conn::Pg(&mut conn)).await
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
                run_locked(&mut Conn::My(&mut conn)).await
            }
            .await;
            let _ = conn.close().await;
            result
        }
        Db::Lite(pool) => {
            let mut tx = begin_immediate(pool).await?;
            let applied = run_locked(&mut Conn::Lite(&mut tx)).await?;
            tx.commit().await?;
            Ok(applied)
        }
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
    let schema_version = if has_table(conn, "schema_version").await? {
        let stmt = Query::select()
            .column("version")
            .from("schema_version")
            .order_by("version", Order::Desc)
            .limit(1)
            .to_owned();
        conn.fetch_optional::<(i32,)>(&stmt)
            .await?
            .map(|(v,)| i64::from(v))
    } else {
        None
    };
    Ok(SchemaKind::LegacyElekto { schema_version })
}

/// The migration run proper; the caller holds the lock.
async fn run_locked(conn: &mut Conn<'_>) -> Result<Vec<MigrationState>> {
    let migrator = migrator(conn.backend());
    match detect_in(conn).await? {
        SchemaKind::LegacyElekto { schema_version } => {
            return Err(DbError::Migrate(format!(
                "this database holds Elekto's tables (schema_version {}) but no votebox \
                 migration history ({MIGRATIONS_TABLE}); adopting a legacy Elekto database is not \
                 supported yet, so nothing was changed",
                schema_version.map_or_else(|| "absent".to_owned(), |v| v.to_string()),
            )));
        }
        SchemaKind::Managed => clear_rerunnable_dirty(conn, &migrator).await?,
        SchemaKind::Empty => {}
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

    let result = match conn {
        Conn::Pg(c) => migrator.run_direct(None, &mut **c, false).await,
        Conn::My(c) => migrator.run_direct(None, &mut **c, false).await,
        Conn::Lite(c) => migrator.run_direct(None, &mut **c, false).await,
    };
    result.map_err(|e| DbError::Migrate(e.to_string()))?;
    for m in &pending {
        tracing::info!(version = m.version, description = %m.description, "migration applied");
    }
    Ok(pending)
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

/// `BEGIN IMMEDIATE` on a pooled SQLite connection, retrying while another connection or
/// process holds the write lock.
async fn begin_immediate(
    pool: &sqlx::SqlitePool,
) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
    let mut wait = LockWait::new("the SQLite write lock");
    loop {
        match pool.begin_with("BEGIN IMMEDIATE").await {
            Ok(tx) => return Ok(tx),
            Err(e) if sqlite_busy(&e) => {
                wait.still_waiting()?;
                // The busy handler already waited; this only spaces out SQLITE_LOCKED retries.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// SQLITE_BUSY (5) or SQLITE_LOCKED (6), including their extended codes.
fn sqlite_busy(e: &sqlx::Error) -> bool {
    let code = e
        .as_database_error()
        .and_then(|d| d.code())
        .and_then(|c| c.parse::<i32>().ok());
    matches!(code.map(|c| c & 0xff), Some(5 | 6))
}
