//! Raw SQL on any engine: the SQL text is built in this module tree from constants and quoted
//! identifiers only.

use crate::query::{AnyRow, Conn, trusted_sql};
use crate::{Backend, Result};

pub(super) async fn exec(conn: &mut Conn<'_>, sql: &str) -> Result<u64> {
    let q = trusted_sql(sql.to_owned());
    Ok(match conn {
        Conn::Pg(c) => sqlx::query(q).execute(&mut **c).await?.rows_affected(),
        Conn::My(c) => sqlx::query(q).execute(&mut **c).await?.rows_affected(),
        Conn::Lite(c) => sqlx::query(q).execute(&mut **c).await?.rows_affected(),
    })
}

pub(super) async fn fetch<T: AnyRow>(conn: &mut Conn<'_>, sql: &str) -> Result<Vec<T>> {
    let q = trusted_sql(sql.to_owned());
    Ok(match conn {
        Conn::Pg(c) => sqlx::query_as(q).fetch_all(&mut **c).await?,
        Conn::My(c) => sqlx::query_as(q).fetch_all(&mut **c).await?,
        Conn::Lite(c) => sqlx::query_as(q).fetch_all(&mut **c).await?,
    })
}

/// An identifier quoted for the engine.
pub(super) fn q(backend: Backend, name: &str) -> String {
    match backend {
        Backend::MySql => format!("`{}`", name.replace('`', "``")),
        Backend::Postgres | Backend::Sqlite => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// A string literal (for names read from the catalog, never for user input).
pub(super) fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
