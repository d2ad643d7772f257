//! The one place where a sea-query statement becomes SQL text for sqlx and runs on the right
//! engine, plus the transactions shared by the query modules (table identifiers: [`crate::schema`]).
//!
//! Query modules build a statement once (`Query::select()…`) and call one of the `fetch_*` /
//! `execute` methods of [`Db`] or of a [`Conn`] (inside a transaction). Rows are decoded by
//! `#[derive(sqlx::FromRow)]` structs, which work for all three row types.

use sea_query::{
    InsertStatement, MysqlQueryBuilder, PostgresQueryBuilder, SqliteQueryBuilder, Value,
};
use sea_query_sqlx::SqlxBinder;
use sqlx::mysql::{MySql, MySqlConnection, MySqlQueryResult, MySqlRow};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgQueryResult, PgRow, Postgres};
use sqlx::sqlite::{Sqlite, SqliteConnection, SqliteQueryResult, SqliteRow};
use sqlx::{FromRow, Transaction};

use crate::{Backend, Db, DbError, Result, Timestamp};

// ---------------------------------------------------------------------------------------------
// The dispatch.

/// Marks SQL text as safe for sqlx 0.9 (`query_with` only takes `&'static str` otherwise).
///
/// This is the crate's only `AssertSqlSafe`. Two kinds of text reach it: what a sea-query builder
/// rendered (identifiers quoted, every value a bound parameter), and — in `testing` only —
/// `CREATE/DROP DATABASE` naming an identifier this crate generated itself.
pub(crate) fn trusted_sql(sql: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql)
}

/// Renders `$stmt` with the query builder of `$conn`'s engine and evaluates `$body` with `$sql`
/// (the SQL text), `$args` (the bound values) and `$ex` (`&mut &mut XxxConnection`) in scope.
/// `$body` is expanded once per engine, so it may use engine-specific types generically.
macro_rules! db_run {
    ($conn:expr, $stmt:expr, |$sql:ident, $args:ident, $ex:ident| $body:expr) => {
        match $conn {
            Conn::Pg($ex) => {
                let (sql, $args) = $stmt.build_sqlx(PostgresQueryBuilder);
                let $sql = trusted_sql(sql);
                $body
            }
            Conn::My($ex) => {
                let (sql, $args) = $stmt.build_sqlx(MysqlQueryBuilder);
                let $sql = trusted_sql(sql);
                $body
            }
            Conn::Lite($ex) => {
                let (sql, $args) = $stmt.build_sqlx(SqliteQueryBuilder);
                let $sql = trusted_sql(sql);
                $body
            }
        }
    };
}

/// A row type that decodes from all three engines (`#[derive(sqlx::FromRow)]` structs, tuples).
pub(crate) trait AnyRow:
    for<'r> FromRow<'r, PgRow>
    + for<'r> FromRow<'r, MySqlRow>
    + for<'r> FromRow<'r, SqliteRow>
    + Send
    + Unpin
{
}
impl<T> AnyRow for T where
    T: for<'r> FromRow<'r, PgRow>
        + for<'r> FromRow<'r, MySqlRow>
        + for<'r> FromRow<'r, SqliteRow>
        + Send
        + Unpin
{
}

/// What an `INSERT`/`UPDATE`/`DELETE` reports.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Done {
    pub rows_affected: u64,
    /// MySQL `LAST_INSERT_ID()` / SQLite `last_insert_rowid()`; `None` on PostgreSQL.
    pub last_insert_id: Option<i64>,
}

trait QueryDone {
    fn done(&self) -> Done;
}
impl QueryDone for PgQueryResult {
    fn done(&self) -> Done {
        Done {
            rows_affected: self.rows_affected(),
            last_insert_id: None,
        }
    }
}
impl QueryDone for MySqlQueryResult {
    fn done(&self) -> Done {
        Done {
            rows_affected: self.rows_affected(),
            last_insert_id: i64::try_from(self.last_insert_id()).ok(),
        }
    }
}
impl QueryDone for SqliteQueryResult {
    fn done(&self) -> Done {
        Done {
            rows_affected: self.rows_affected(),
            last_insert_id: Some(self.last_insert_rowid()),
        }
    }
}

/// A borrowed connection (pooled or inside a transaction) on one of the three engines.
pub(crate) enum Conn<'c> {
    Pg(&'c mut PgConnection),
    My(&'c mut MySqlConnection),
    Lite(&'c mut SqliteConnection),
}

impl Conn<'_> {
    pub fn backend(&self) -> Backend {
        match self {
            Conn::Pg(_) => Backend::Postgres,
            Conn::My(_) => Backend::MySql,
            Conn::Lite(_) => Backend::Sqlite,
        }
    }

    pub async fn fetch_all<T: AnyRow>(
        &mut self,
        stmt: &(impl SqlxBinder + Sync),
    ) -> Result<Vec<T>> {
        Ok(db_run!(self, stmt, |sql, args, ex| sqlx::query_as_with(
            sql, args
        )
        .fetch_all(&mut **ex)
        .await?))
    }

    pub async fn fetch_optional<T: AnyRow>(
        &mut self,
        stmt: &(impl SqlxBinder + Sync),
    ) -> Result<Option<T>> {
        Ok(db_run!(self, stmt, |sql, args, ex| sqlx::query_as_with(
            sql, args
        )
        .fetch_optional(&mut **ex)
        .await?))
    }

    pub async fn fetch_one<T: AnyRow>(&mut self, stmt: &(impl SqlxBinder + Sync)) -> Result<T> {
        Ok(db_run!(self, stmt, |sql, args, ex| sqlx::query_as_with(
            sql, args
        )
        .fetch_one(&mut **ex)
        .await?))
    }

    pub async fn execute(&mut self, stmt: &(impl SqlxBinder + Sync)) -> Result<Done> {
        Ok(db_run!(self, stmt, |sql, args, ex| sqlx::query_with(
            sql, args
        )
        .execute(&mut **ex)
        .await?
        .done()))
    }

    /// Runs an `INSERT` of one row and returns the new `id` (`RETURNING id` on PostgreSQL, the
    /// driver's last insert id on MySQL and SQLite).
    pub async fn insert_id(&mut self, stmt: &InsertStatement) -> Result<i32> {
        let id = if self.backend() == Backend::Postgres {
            let mut stmt = stmt.clone();
            stmt.returning_col("id");
            let (id,): (i32,) = self.fetch_one(&stmt).await?;
            i64::from(id)
        } else {
            self.execute(stmt)
                .await?
                .last_insert_id
                .ok_or_else(|| DbError::Unexpected("INSERT reported no row id".into()))?
        };
        i32::try_from(id)
            .map_err(|_| DbError::Unexpected(format!("inserted id {id} exceeds INTEGER")))
    }
}

/// A connection checked out of the pool.
pub(crate) enum Pooled {
    Pg(PoolConnection<Postgres>),
    My(PoolConnection<MySql>),
    Lite(PoolConnection<Sqlite>),
}

impl Pooled {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Pooled::Pg(c) => Conn::Pg(c),
            Pooled::My(c) => Conn::My(c),
            Pooled::Lite(c) => Conn::Lite(c),
        }
    }
}

/// An open transaction; rolled back when dropped without [`Tx::commit`].
pub(crate) enum Tx {
    Pg(Transaction<'static, Postgres>),
    My(Transaction<'static, MySql>),
    Lite(Transaction<'static, Sqlite>),
}

impl Tx {
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Tx::Pg(t) => Conn::Pg(t),
            Tx::My(t) => Conn::My(t),
            Tx::Lite(t) => Conn::Lite(t),
        }
    }

    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Pg(t) => t.commit().await?,
            Tx::My(t) => t.commit().await?,
            Tx::Lite(t) => t.commit().await?,
        }
        Ok(())
    }
}

impl Db {
    pub(crate) async fn acquire(&self) -> Result<Pooled> {
        Ok(match self {
            Db::Pg(p) => Pooled::Pg(p.acquire().await?),
            Db::My(p) => Pooled::My(p.acquire().await?),
            Db::Lite(p) => Pooled::Lite(p.acquire().await?),
        })
    }

    /// Starts a read-write transaction. On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken
    /// up front (waiting up to the busy timeout), so a transaction that reads and then writes
    /// cannot fail half-way with SQLITE_BUSY when another connection wrote meanwhile.
    pub(crate) async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Db::Pg(p) => Tx::Pg(p.begin().await?),
            Db::My(p) => Tx::My(p.begin().await?),
            Db::Lite(p) => Tx::Lite(p.begin_with("BEGIN IMMEDIATE").await?),
        })
    }

    pub(crate) async fn fetch_all<T: AnyRow>(
        &self,
        stmt: &(impl SqlxBinder + Sync),
    ) -> Result<Vec<T>> {
        self.acquire().await?.conn().fetch_all(stmt).await
    }

    pub(crate) async fn fetch_optional<T: AnyRow>(
        &self,
        stmt: &(impl SqlxBinder + Sync),
    ) -> Result<Option<T>> {
        self.acquire().await?.conn().fetch_optional(stmt).await
    }

    pub(crate) async fn fetch_one<T: AnyRow>(&self, stmt: &(impl SqlxBinder + Sync)) -> Result<T> {
        self.acquire().await?.conn().fetch_one(stmt).await
    }

    pub(crate) async fn execute(&self, stmt: &(impl SqlxBinder + Sync)) -> Result<Done> {
        self.acquire().await?.conn().execute(stmt).await
    }
}

// ---------------------------------------------------------------------------------------------
// Values whose encoding differs per engine.

/// A timestamp (or NULL) to bind. PostgreSQL and MySQL get a typed `TIMESTAMP`/`DATETIME`
/// parameter; SQLite gets the text Python/SQLAlchemy writes, `YYYY-MM-DD HH:MM:SS.ffffff`
/// (sqlx would write `….0`), so rows stay byte-identical to Elekto's.
pub(crate) fn ts_value(backend: Backend, t: Option<Timestamp>) -> Value {
    match backend {
        Backend::Sqlite => Value::from(t.map(format_sqlite_timestamp)),
        Backend::Postgres | Backend::MySql => Value::from(t),
    }
}

/// `%Y-%m-%d %H:%M:%S.%f` (six fractional digits), as Python's `datetime.__str__` with micros.
pub(crate) fn format_sqlite_timestamp(t: Timestamp) -> String {
    const FMT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:6]"
    );
    t.format(FMT).expect("a PrimitiveDateTime always formats")
}

/// Whether a sqlx error is a UNIQUE (or primary key) violation.
pub(crate) fn is_unique_violation(err: &DbError) -> bool {
    matches!(err, DbError::Sqlx(sqlx::Error::Database(e)) if e.is_unique_violation())
}

/// Runs `attempt` again, once, when it lost an insert race (a UNIQUE violation): the second
/// run finds the winner's row.
pub(crate) async fn retry_after_insert_race<T, F>(mut attempt: impl FnMut() -> F) -> Result<T>
where
    F: std::future::Future<Output = Result<T>>,
{
    match attempt().await {
        Err(e) if is_unique_violation(&e) => {
            tracing::debug!("lost an insert race; retrying once");
            attempt().await
        }
        other => other,
    }
}

/// How often [`retry_contended`] runs a transaction again before giving up.
const CONTENDED_RETRIES: u32 = 4;

/// Runs `attempt`, one whole transaction, again when it lost to a concurrent one
/// ([`DbError::is_contended`]): the database rolled it back whole and expects the client to
/// re-issue it. On MariaDB this is routine: the mix's `ALTER TABLE … FORCE` takes metadata locks
/// on `ballot`, `voter` and their parent tables, and the metadata lock detector ends a cast that
/// holds the election row while waiting for the rebuilt table (1213). After a short random pause,
/// at most [`CONTENDED_RETRIES`] times; then the error goes up (a "send it again" page).
pub(crate) async fn retry_contended<T, F>(mut attempt: impl FnMut() -> F) -> Result<T>
where
    F: std::future::Future<Output = Result<T>>,
{
    let mut retries = 0;
    loop {
        match attempt().await {
            Err(e) if e.is_contended() && retries < CONTENDED_RETRIES => {
                retries += 1;
                tracing::debug!(error = %e, retries, "lost to a concurrent transaction; retrying");
                let pause =
                    rand::Rng::random_range(&mut rand::rng(), 10..=100 * u64::from(retries));
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn sqlite_timestamp_text_is_pythons() {
        assert_eq!(
            format_sqlite_timestamp(datetime!(2021-09-13 00:00:01)),
            "2021-09-13 00:00:01.000000"
        );
        assert_eq!(
            format_sqlite_timestamp(datetime!(2021-09-13 07:08:09.123456)),
            "2021-09-13 07:08:09.123456"
        );
    }

    #[test]
    fn identifiers_are_quoted_per_dialect() {
        use sea_query::{Expr, ExprTrait, Query};

        use sea_query::Iden;

        use crate::schema::{Election, User, VoteboxElectionState};
        let q = Query::select()
            .columns([User::Id, User::Username])
            .from(User::Table)
            .and_where(Expr::col(User::Id).eq(1))
            .to_owned();
        assert_eq!(
            q.to_string(PostgresQueryBuilder),
            r#"SELECT "id", "username" FROM "user" WHERE "id" = 1"#
        );
        assert_eq!(
            q.to_string(MysqlQueryBuilder),
            "SELECT `id`, `username` FROM `user` WHERE `id` = 1"
        );
        let q = Query::select()
            .column(Election::Key)
            .from(Election::Table)
            .to_owned();
        assert_eq!(
            q.to_string(MysqlQueryBuilder),
            "SELECT `key` FROM `election`"
        );
        assert_eq!(
            VoteboxElectionState::Table.to_string(),
            "votebox_election_state"
        );
    }
}
