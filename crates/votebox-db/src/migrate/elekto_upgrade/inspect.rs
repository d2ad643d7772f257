//! Step 1: what the database holds (tables, columns, indexes, versions, our marker), and the
//! read-only orphan report.

use std::collections::{BTreeMap, BTreeSet};

use sea_query::{Alias, Expr, ExprTrait, Order, Query};

use super::MARKER_TABLE;
use super::sql::{fetch, lit, q};
use crate::query::Conn;
use crate::schema::{ADDED_IN_SCHEMA_2, ELEKTO_COLUMNS, elekto_tables};
use crate::{Backend, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Column {
    pub(super) name: String,
    /// Lowercase declared/base type (`integer`, `character`, `varchar`, `char(32)`, …).
    pub(super) data_type: String,
    pub(super) not_null: bool,
    pub(super) default: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Index {
    pub(super) table: String,
    pub(super) name: String,
    pub(super) columns: Vec<String>,
    /// SQLite: the `CREATE INDEX` text (None for automatic indexes of constraints).
    pub(super) sql: Option<String>,
}

/// An upgrade of ours that has not finished (MySQL after a crash; never seen on the
/// transactional engines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Marker {
    pub(super) id: i64,
    pub(super) from_version: i64,
    pub(super) started_at: String,
    pub(super) last_step: Option<String>,
}

/// What the database holds, as far as the upgrade is concerned.
#[derive(Debug, Clone, Default)]
pub(super) struct Shape {
    pub(super) tables: BTreeSet<String>,
    pub(super) columns: BTreeMap<String, Vec<Column>>,
    pub(super) indexes: Vec<Index>,
    /// `None`: no `schema_version` table.
    pub(super) schema_versions: Option<Vec<i64>>,
    /// PostgreSQL: name of the ballot table's primary key constraint.
    pub(super) ballot_pk: Option<String>,
    /// MySQL: `ballot.id` values that are decimal digits shorter than 32 (an interrupted upgrade
    /// between the column change and the padding).
    pub(super) short_numeric_ballot_ids: i64,
    /// SQLite: triggers on `ballot` (`CREATE TRIGGER` text).
    pub(super) ballot_triggers: Vec<String>,
    pub(super) marker: Option<Marker>,
    pub(super) marker_table: bool,
}

impl Shape {
    pub(super) fn has(&self, table: &str) -> bool {
        self.tables.contains(table)
    }

    pub(super) fn column(&self, table: &str, name: &str) -> Option<&Column> {
        self.columns.get(table)?.iter().find(|c| c.name == name)
    }

    pub(super) fn has_column(&self, table: &str, name: &str) -> bool {
        self.column(table, name).is_some()
    }

    /// An index of `table` whose first column is `column`.
    pub(super) fn index_on(&self, table: &str, column: &str) -> Option<&Index> {
        self.indexes
            .iter()
            .find(|i| i.table == table && i.columns.first().map(String::as_str) == Some(column))
    }

    pub(super) fn index_named(&self, table: &str, name: &str) -> Option<&Index> {
        self.indexes
            .iter()
            .find(|i| i.table == table && i.name == name)
    }

    pub(super) fn schema_version(&self) -> Option<i64> {
        self.schema_versions.as_ref()?.iter().copied().max()
    }

    /// `ballot.id` is an integer column (schema 1).
    pub(super) fn ballot_id_is_integer(&self) -> bool {
        self.column("ballot", "id")
            .is_some_and(|c| is_integer_type(&c.data_type))
    }
}

pub(super) fn is_integer_type(t: &str) -> bool {
    let t = t.to_ascii_lowercase();
    t.contains("int") || t == "serial" || t == "bigserial"
}

pub(super) fn is_text_type(t: &str) -> bool {
    let t = t.to_ascii_lowercase();
    t.contains("char") || t.contains("text") || t.contains("clob") || t.is_empty()
}

pub(super) async fn inspect(conn: &mut Conn<'_>) -> Result<Shape> {
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

    for table in elekto_tables() {
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
pub(in crate::migrate) async fn unfinished_upgrade(conn: &mut Conn<'_>) -> Result<bool> {
    if !crate::migrate::has_table(conn, MARKER_TABLE).await? {
        return Ok(false);
    }
    let sql = format!(
        "SELECT COUNT(*) FROM {} WHERE finished_at IS NULL",
        q(conn.backend(), MARKER_TABLE)
    );
    let rows: Vec<(i64,)> = fetch(conn, &sql).await?;
    Ok(rows.first().is_some_and(|r| r.0 > 0))
}

/// The shape Elekto's own code creates, at schema `from` (1 = Elekto 0.5.x, 2 = 0.6+).
pub(super) fn canonical_shape(backend: Backend, from: u32) -> Shape {
    let mut shape = Shape::default();
    for (table, columns) in ELEKTO_COLUMNS {
        if *table == "schema_version" && from < 2 {
            continue;
        }
        shape.tables.insert((*table).to_owned());
        let mut cols: Vec<Column> = columns
            .iter()
            .filter(|c| from >= 2 || !ADDED_IN_SCHEMA_2.contains(&(*table, **c)))
            .map(|c| Column {
                name: (*c).to_owned(),
                data_type: if *c == "id" && *table == "ballot" && from >= 2 {
                    "char(32)".to_owned()
                } else if ADDED_IN_SCHEMA_2.contains(&(*table, *c)) {
                    "blob".to_owned()
                } else if ["id", "user_id", "election_id", "rank", "version"].contains(c) {
                    "integer".to_owned()
                } else {
                    "varchar(255)".to_owned()
                },
                not_null: false,
                default: None,
            })
            .collect();
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

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Orphans {
    /// table → (rows, distinct missing election ids)
    pub(super) by_election: BTreeMap<&'static str, (i64, Vec<i64>)>,
    /// table → rows whose user_id has no user
    pub(super) by_user: BTreeMap<&'static str, i64>,
}

pub(super) async fn orphans(conn: &mut Conn<'_>, shape: &Shape) -> Result<Orphans> {
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

pub(super) fn orphan_notes(o: &Orphans) -> Vec<String> {
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
