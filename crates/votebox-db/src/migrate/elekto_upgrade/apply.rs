//! Steps 5 and 6: running the plan, the progress marker, and the migration-history baseline.

use sea_query::{Alias, Expr, ExprTrait, Query};
use sqlx::migrate::Migrate;

use super::inspect::Shape;
use super::plan::Plan;
use super::sql::{exec, fetch};
use super::{MARKER_TABLE, MIGRATIONS_TABLE, Progress, Reporter, migrator, up_migrations};
use crate::query::{Conn, ts_value};
use crate::{Backend, DbError, Result, utc_now};

pub(super) async fn apply(
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

pub(super) async fn start_marker(conn: &mut Conn<'_>, from: i64) -> Result<i64> {
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

pub(super) async fn set_marker_step(conn: &mut Conn<'_>, id: i64, step: &str) -> Result<()> {
    let stmt = Query::update()
        .table(Alias::new(MARKER_TABLE))
        .value(Alias::new("last_step"), step)
        .and_where(Expr::col(Alias::new("id")).eq(id))
        .to_owned();
    conn.execute(&stmt).await?;
    Ok(())
}

pub(super) async fn finish_marker(conn: &mut Conn<'_>, id: i64, report: &[String]) -> Result<()> {
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
