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

//!
//! The files follow those steps: `inspect.rs` (1, and the orphan report), `plan.rs` (2, pure:
//! a [`plan::Plan`] from a [`inspect::Shape`], unit-tested on its own), `privileges.rs` (3),
//! `backup.rs` (4), `apply.rs` (5 and 6), `manual_sql.rs` (the SQL printed for an owner and by
//! `votebox migrate --print-sql`), `sql.rs` (raw statements on any engine). This file runs them.

mod apply;
mod backup;
mod inspect;
mod manual_sql;
mod plan;
mod privileges;
mod sql;

use std::collections::BTreeSet;
use std::time::Duration;

use sqlx::Connection;

use self::apply::apply;
use self::backup::sqlite_backup;
use self::inspect::{inspect, orphan_notes, orphans};
use self::manual_sql::manual_sql;
use self::plan::plan;
use self::privileges::{is_permission_error, mysql_missing_privileges};
use self::sql::fetch;
use super::{MIGRATIONS_TABLE, Progress, migrator, up_migrations};
use crate::query::Conn;
use crate::{Backend, DbError, Result};

pub(super) use self::inspect::unfinished_upgrade;
pub use self::manual_sql::print_sql;

/// The table in which votebox records its upgrades of Elekto databases.
pub const MARKER_TABLE: &str = "votebox_legacy_upgrade";

/// Test hook: when set, every point of a legacy upgrade is printed to stderr as
/// `votebox: migrate point: NAME`, and the process stops (sleeps until killed) at the point
/// whose name equals the value. Lets the tests SIGKILL `votebox migrate` at every step.
pub const PAUSE_ENV: &str = "VOTEBOX_MIGRATE_PAUSE_AT";

/// The schema version Elekto's code at 0.6–0.7 writes and expects.
pub const ELEKTO_SCHEMA_VERSION: i64 = 2;

/// Reports progress and implements the [`PAUSE_ENV`] test hook.
pub(super) struct Reporter<'a> {
    pub progress: &'a (dyn Fn(Progress) + Send + Sync),
    pub(super) pause_at: Option<String>,
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
