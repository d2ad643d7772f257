//! Step 2: the steps a database still needs, from its [`Shape`]. Pure: no I/O.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::inspect::{Column, Shape, is_integer_type, is_text_type};
use super::sql::q;
use super::{ELEKTO_SCHEMA_VERSION, MARKER_TABLE, MIGRATIONS_TABLE};
use crate::schema::{ADDED_IN_SCHEMA_2, DROPPED_IN_SCHEMA_2, ELEKTO_COLUMNS, elekto_tables};
use crate::{Backend, DbError, Result};

/// One step of the upgrade: statements run in order (one implicit commit each on MySQL).
#[derive(Debug, Clone)]
pub(super) struct Step {
    /// Stable name, for the progress marker and the test hook (`before:ID` / `after:ID`).
    pub(super) id: &'static str,
    pub(super) what: String,
    pub(super) sql: Vec<String>,
}

#[derive(Debug, Clone)]
pub(super) struct Plan {
    /// 1 or 2: what the database was (for messages and the marker).
    pub(super) from: i64,
    /// Description of what was found.
    pub(super) found: String,
    pub(super) steps: Vec<Step>,
    /// Kept things worth telling the operator (unknown objects, odd but harmless states).
    pub(super) notes: Vec<String>,
    /// Every one of Elekto's six tables exists after the steps: migration 0001 is recorded
    /// without running it. Otherwise the migrator runs 0001 (`CREATE TABLE IF NOT EXISTS`) to
    /// create the missing ones, as Elekto's `create_all` would.
    pub(super) baseline: bool,
}

/// Why a database cannot be adopted (nothing was changed).
pub(super) fn refuse(msg: impl std::fmt::Display) -> DbError {
    DbError::Migrate(format!("{msg}; nothing was changed"))
}

pub(super) fn plan(backend: Backend, shape: &Shape) -> Result<Plan> {
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
            // Schema 1 lacks them; the plan adds them.
            let added_by_upgrade = ADDED_IN_SCHEMA_2.contains(&(*table, *c));
            if !added_by_upgrade && !shape.has_column(table, c) {
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
    let known_tables: BTreeSet<&str> = elekto_tables().collect();
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
                && !DROPPED_IN_SCHEMA_2.contains(&(table.as_str(), c.name.as_str()))
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

pub(super) const PG_PAD: &str = "FM00000000000000000000000000000000";

pub(super) fn plan_pg(
    shape: &Shape,
    v2_claimed: bool,
    ballot_upgrade: bool,
    steps: &mut Vec<Step>,
) {
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

pub(super) fn schema_version_insert(backend: Backend) -> Step {
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
pub(super) fn sqlite_ballot_ddl(extra: &[String]) -> String {
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

pub(super) const SQLITE_OLD_BALLOT: &str = "_votebox_ballot_schema1";

pub(super) fn plan_sqlite(
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
pub(super) fn mysql_index_clause(shape: &Shape, table: &str) -> Option<String> {
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

pub(super) fn plan_mysql(
    shape: &Shape,
    v2_claimed: bool,
    ballot_upgrade: bool,
    steps: &mut Vec<Step>,
) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::elekto_upgrade::inspect::canonical_shape;

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
}
