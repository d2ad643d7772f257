//! The SQL an owner runs by hand (when this user may not), and `votebox migrate --print-sql`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::inspect::canonical_shape;
use super::plan::{Plan, plan};
use super::sql::lit;
use super::{migrator, up_migrations};
use crate::{Backend, DbError, Result};

/// The bookkeeping table sqlx keeps, exactly as sqlx 0.9 creates it.
pub(super) fn migrations_table_ddl(backend: Backend) -> &'static str {
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

pub(super) fn history_insert(
    backend: Backend,
    version: i64,
    description: &str,
    checksum: &[u8],
) -> String {
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

pub(super) fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The complete SQL an owner can run by hand instead of `votebox migrate`, for this plan:
/// Elekto's schema 1 → 2 steps (if any), votebox's additive migrations, and the migration
/// history that makes `votebox migrate` see the database as up to date afterwards.
pub(super) fn manual_sql(backend: Backend, plan: &Plan, applied: &BTreeSet<i64>) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
