//! Upgrading legacy Elekto databases (issue 5; checklist items 55–59), on the real engines, with
//! the databases Elekto's own code made (`shared/fixtures/legacy-db`): every fixture is loaded
//! into a fresh database, `migrate::run` adopts it, and its manifest is checked row by row; every
//! voter link opens (schema 2: Argon2i + SecretBox; schema 1: the Werkzeug hash), the counts
//! are the same before and after, and a second run changes nothing.
//!
//! The KDF costs 512 MiB and ~3 s per schema-2 link: each distinct link is opened once, at most
//! two at a time across this test binary.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock, Mutex};
use votebox_db::{ElectionId, UserId};

use serde_json::Value;
use votebox_core::count::{Ballot, CountOptions, Method, Profile, count, elekto_groups};
use votebox_db::migrate::{self, Progress, SchemaKind};
use votebox_db::testing::elekto_fixtures::{
    ELEKTO_TABLES, Fixture, ballot_rows, check_manifest, columns, exec, fixture, fixtures,
    read_only_url, rows_as_text, run_sql_text, schema_fingerprint, snapshot, sqlite_path,
};
use votebox_db::{Backend, Db, ballots, schema1_ballots};

/// At most two 512 MiB KDFs at once in this test binary.
static KDF_SLOTS: LazyLock<Arc<tokio::sync::Semaphore>> =
    LazyLock::new(|| Arc::new(tokio::sync::Semaphore::new(2)));

/// One test per fixture file.
macro_rules! per_fixture {
    ($($test:ident => $name:literal),+ $(,)?) => {
        $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() { upgrade_fixture(fixture($name)).await })+
    };
}

per_fixture!(
    checklist_57_sqlite_schema1_0_5_1 => "elekto-0.5.1-schema1-sqlite",
    checklist_55_sqlite_schema2_0_6_0 => "elekto-0.6.0-schema2-sqlite",
    checklist_55_sqlite_schema2_head => "elekto-head-77a0806-schema2-sqlite",
    checklist_57_postgres_schema1_0_5_1 => "elekto-0.5.1-schema1-postgres",
    checklist_55_postgres_migrated_by_elekto_0_6 => "elekto-0.5.1-postgres-migrated-by-0.6.0-schema2",
    checklist_55_postgres_schema2_0_6_0 => "elekto-0.6.0-schema2-postgres",
    checklist_55_postgres_schema2_head => "elekto-head-77a0806-schema2-postgres",
    checklist_57_mysql_schema1_0_5_1 => "elekto-0.5.1-schema1-mysql",
    checklist_55_mysql_schema2_0_6_0 => "elekto-0.6.0-schema2-mysql",
    checklist_55_mysql_schema2_head => "elekto-head-77a0806-schema2-mysql",
);

/// Every event `run_with_progress` reported.
fn collector() -> (
    Arc<Mutex<Vec<Progress>>>,
    impl Fn(Progress) + Send + Sync + 'static,
) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    (events, move |p: Progress| sink.lock().unwrap().push(p))
}

fn text_of(events: &Mutex<Vec<Progress>>) -> String {
    events
        .lock()
        .unwrap()
        .iter()
        .map(|p| format!("{p:?}\n"))
        .collect()
}

/// `(election_id, voter, candidate, rank)`.
type Row = (Option<i64>, String, String, Option<i64>);
/// Per election id: ballots counted and Elekto's Schulze groups.
type Tally = BTreeMap<Option<i64>, (u64, Vec<(u32, Vec<String>)>)>;

/// Schulze (Elekto's rule) of every election id found in `rows`: the groups and ballot count.
fn tally(rows: &[Row]) -> Tally {
    let mut by_election: BTreeMap<Option<i64>, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        by_election.entry(r.0).or_default().push(r);
    }
    by_election
        .into_iter()
        .map(|(eid, rows)| {
            let candidates: Vec<String> = rows
                .iter()
                .map(|r| r.2.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let mut ballots: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
            for r in &rows {
                let i = candidates.iter().position(|c| *c == r.2).unwrap();
                let ranks = ballots
                    .entry(r.1.as_str())
                    .or_insert_with(|| vec![100_000_000; candidates.len()]);
                ranks[i] = r.3.map_or(100_000_000, |v| u32::try_from(v).unwrap());
            }
            let mut profile = Profile::new(candidates).unwrap();
            for ranks in ballots.values() {
                profile.push(&Ballot::from_elekto_ranks(ranks)).unwrap();
            }
            let outcome = count(&profile, &CountOptions::new(Method::Schulze, 1)).unwrap();
            (eid, (outcome.ballots, elekto_groups(&outcome)))
        })
        .collect()
}

/// The same rows read the way the application reads them (`ballots::all_for_election`).
async fn app_ballot_rows(db: &Db, election_ids: &BTreeSet<Option<i64>>) -> Vec<Row> {
    let mut out = Vec::new();
    for eid in election_ids.iter().flatten() {
        let id = ElectionId(i32::try_from(*eid).unwrap());
        for (voter, candidate, rank) in ballots::all_for_election(db, id).await.unwrap() {
            out.push((Some(*eid), voter, candidate, rank.map(i64::from)));
        }
    }
    out.sort();
    out
}

/// Opens every voter link of the manifest: schema 2 with the KDF (once per link, two at a
/// time), schema 1 with the Werkzeug hash, both through the functions the web layer uses; each
/// must lead to exactly its ballot rows.
async fn check_links(db: &Db, manifest: &Value) {
    let mut tasks = Vec::new();
    for v in manifest["voters"].as_array().unwrap() {
        let link = v["link"].clone();
        let election_id = ElectionId(i32::try_from(v["election_id"].as_i64().unwrap()).unwrap());
        let user_id = UserId(i32::try_from(v["user_id"].as_i64().unwrap()).unwrap());
        let passphrase = link["passphrase"].as_str().unwrap().to_owned();
        let expected = link["ballot_voter"].as_str().unwrap().to_owned();
        let rows = link["ballot_rows"].as_u64().unwrap();
        let username = v["username"].as_str().unwrap().to_owned();
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let stored = ballots::voter_link(&db, user_id, election_id)
                .await
                .unwrap()
                .expect("voter row");
            let opened = match (&stored.salt, &stored.ballot_id) {
                (Some(salt), Some(blob)) => {
                    let _slot = KDF_SLOTS.acquire().await.unwrap();
                    let (salt, blob, pass) = (salt.clone(), blob.clone(), passphrase.clone());
                    tokio::task::spawn_blocking(move || {
                        votebox_core::crypto::decrypt_link(&pass, &salt, &blob)
                    })
                    .await
                    .unwrap()
                    .unwrap_or_else(|e| panic!("{username}: link does not open: {e}"))
                }
                (None, None) => {
                    assert_eq!(
                        link["kind"], "werkzeug-hash-of-username+passphrase",
                        "{username}"
                    );
                    let hashes = schema1_ballots::v1_ballot_voters(&db, election_id)
                        .await
                        .unwrap();
                    let (u, p) = (username.clone(), passphrase.clone());
                    let found = tokio::task::spawn_blocking(move || {
                        votebox_core::schema1_link::find_v1_ballot(&hashes, &u, &p, 2)
                            .map(str::to_owned)
                    })
                    .await
                    .unwrap();
                    found.unwrap_or_else(|| panic!("{username}: no schema-1 ballot matches"))
                }
                other => panic!("{username}: half a link {other:?}"),
            };
            assert_eq!(opened, expected, "{username} in election {election_id}");
            let ballot = ballots::ballot_rows(&db, election_id, &opened)
                .await
                .unwrap();
            assert_eq!(ballot.len() as u64, rows, "{username}: ballot rows");
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// What Elekto 0.7's `update_schema` + ORM need to start on the database (rollback, item 58):
/// `schema_version` holding 2, every table and column of schema 2.
async fn assert_elekto_would_start(db: &Db) {
    let versions = rows_as_text(db, "schema_version").await;
    assert_eq!(versions.len(), 1, "{versions:?}");
    assert_eq!(versions[0]["version"].as_deref(), Some("2"));
    for (table, cols) in [
        ("voter", vec!["salt", "ballot_id"]),
        (
            "ballot",
            vec!["id", "election_id", "rank", "candidate", "voter"],
        ),
    ] {
        let have: Vec<String> = columns(db, table).await.into_iter().map(|c| c.0).collect();
        for c in cols {
            assert!(have.iter().any(|h| h == c), "{table}.{c} missing: {have:?}");
        }
    }
    let id_type = columns(db, "ballot")
        .await
        .into_iter()
        .find(|c| c.0 == "id")
        .unwrap()
        .1;
    assert!(
        id_type.contains("char"),
        "ballot.id must be CHAR(32), is {id_type}"
    );
}

async fn upgrade_fixture(f: Fixture) {
    let manifest = f.manifest();
    let (db, url, _guard) = f.load().await;
    let original = if f.backend == Backend::Sqlite {
        Some(snapshot(&db).await)
    } else {
        None
    };
    let elekto_schema_before = schema_fingerprint(&db, Some(ELEKTO_TABLES)).await;
    let rows_before = ballot_rows(&db).await;
    let tally_before = tally(&rows_before);
    assert!(matches!(
        migrate::detect(&db).await.unwrap(),
        SchemaKind::LegacyElekto { .. }
    ));

    let (events, sink) = collector();
    let applied = migrate::run_with_progress(&db, &sink)
        .await
        .unwrap_or_else(|e| panic!("{}: migrate failed: {e}\n{}", f.name, text_of(&events)));
    let log = text_of(&events);
    assert!(!applied.is_empty(), "votebox's own migrations ran");
    assert_eq!(migrate::detect(&db).await.unwrap(), SchemaKind::Managed);
    assert!(
        migrate::status(&db)
            .await
            .unwrap()
            .iter()
            .all(|m| m.applied)
    );

    // What it found (item 1).
    let found = events
        .lock()
        .unwrap()
        .iter()
        .find_map(|p| match p {
            Progress::Found(m) => Some(m.clone()),
            _ => None,
        })
        .expect("a Found event");
    assert!(
        found.contains(&format!("schema {}", f.schema)),
        "{}: {found}",
        f.name
    );
    if f.name.contains("migrated-by") {
        assert!(found.contains("Elekto's own migration"), "{found}");
    }

    // Every row (item 2), both ballot-id forms (55), every link.
    check_manifest(&db, &manifest)
        .await
        .unwrap_or_else(|e| panic!("{}: manifest differs after migrate:\n{e}\n{log}", f.name));
    check_links(&db, &manifest).await;

    // Counts before and after are the same (59), read the way the application reads them.
    let ids: BTreeSet<Option<i64>> = rows_before.iter().map(|r| r.0).collect();
    let rows_after = app_ballot_rows(&db, &ids).await;
    assert_eq!(rows_after.len(), rows_before.len());
    assert_eq!(tally(&rows_after), tally_before, "{}", f.name);

    // Orphans are kept and reported.
    let orphans = &manifest["orphans_referencing_missing_election"];
    if !orphans["ballot"].as_array().unwrap().is_empty() {
        assert!(
            log.contains("whose election no longer exists"),
            "{}: orphans not reported:\n{log}",
            f.name
        );
    }

    // Schema: a schema-2 database keeps Elekto's tables exactly (55); schema 1 becomes what
    // Elekto 0.6 makes (57).
    let elekto_schema_after = schema_fingerprint(&db, Some(ELEKTO_TABLES)).await;
    if f.schema == 2 {
        assert_eq!(
            elekto_schema_after, elekto_schema_before,
            "{}: Elekto's tables were altered",
            f.name
        );
    } else {
        let reference = match f.backend {
            Backend::Postgres => "elekto-0.5.1-postgres-migrated-by-0.6.0-schema2",
            Backend::MySql => "elekto-0.6.0-schema2-mysql",
            Backend::Sqlite => "elekto-0.6.0-schema2-sqlite",
        };
        let (rdb, _rurl, _rguard) = fixture(reference).load().await;
        if f.backend == Backend::Sqlite {
            // ALTER TABLE ADD COLUMN and Elekto 0.5's CHECK keep other tables' text apart:
            // compare columns, and the rebuilt ballot table's text.
            for t in ELEKTO_TABLES {
                assert_eq!(columns(&db, t).await, columns(&rdb, t).await, "{t}");
            }
            assert_eq!(
                schema_fingerprint(&db, Some(&["ballot"])).await,
                schema_fingerprint(&rdb, Some(&["ballot"])).await
            );
        } else {
            // (MariaDB: Elekto 0.5's CHECK on request.reviewed stays; SQLAlchemy 1.4 no longer
            // writes it. Harmless, and not ours to drop.)
            let tables: &[&str] = if f.backend == Backend::MySql {
                &["ballot", "election", "schema_version", "user", "voter"]
            } else {
                ELEKTO_TABLES
            };
            assert_eq!(
                schema_fingerprint(&db, Some(tables)).await,
                schema_fingerprint(&rdb, Some(tables)).await,
                "{}: differs from {reference}",
                f.name
            );
        }
        rdb.close().await;
    }
    assert_elekto_would_start(&db).await;

    // votebox's additions are new tables only (58).
    let tables = votebox_db::testing::elekto_fixtures::tables(&db).await;
    for t in &tables {
        assert!(
            ELEKTO_TABLES.contains(&t.as_str())
                || t.starts_with("votebox_")
                || t == "_sqlx_migrations",
            "unexpected table {t}"
        );
    }

    // SQLite: a consistent backup of the original, named in the output (item 4).
    if let Some(original) = original {
        let line = events
            .lock()
            .unwrap()
            .iter()
            .find_map(|p| match p {
                Progress::Note(m) if m.starts_with("backup") => Some(m.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no backup reported:\n{log}"));
        let path = line.rsplit(": ").next().unwrap();
        assert!(std::path::Path::new(path).exists(), "{path}");
        assert_eq!(
            std::path::Path::new(path).parent(),
            sqlite_path(&url).parent()
        );
        let backup = Db::connect_sqlite(std::path::Path::new(path))
            .await
            .unwrap();
        assert_eq!(
            snapshot(&backup).await,
            original,
            "backup differs from the original"
        );
        backup.close().await;
    }

    // A second run changes nothing.
    let before = snapshot(&db).await;
    let (events2, sink2) = collector();
    let again = migrate::run_with_progress(&db, &sink2).await.unwrap();
    assert_eq!(again, [], "{}", f.name);
    assert_eq!(
        snapshot(&db).await,
        before,
        "{}: second migrate changed data",
        f.name
    );
    assert!(
        text_of(&events2).contains("managed by votebox"),
        "{}",
        text_of(&events2)
    );
    db.close().await;
}

// ---------------------------------------------------------------------------------------------
// Per engine.

votebox_db::on_every_engine!(
    checklist_57_two_concurrent_migrations_of_a_schema1_database,
    checklist_55_unknown_columns_tables_and_indexes_are_kept,
    checklist_55_newer_schema_or_votebox_is_refused_unchanged,
    checklist_55_hand_modified_schema_missing_columns_is_refused,
    checklist_57_partly_upgraded_schema1_is_completed,
);

fn schema1(backend: Backend) -> Fixture {
    fixtures(backend).find(|f| f.schema == 1).unwrap()
}

fn schema2(backend: Backend) -> Fixture {
    fixtures(backend).find(|f| f.schema == 2).unwrap()
}

async fn checklist_57_two_concurrent_migrations_of_a_schema1_database(backend: Backend) {
    let f = schema1(backend);
    let (url, _guard) = f.load_url().await;
    let a = Db::connect(&url).await.unwrap();
    let b = Db::connect(&url).await.unwrap();
    let (ra, rb) = tokio::join!(
        tokio::spawn({
            let a = a.clone();
            async move { migrate::run(&a).await }
        }),
        tokio::spawn({
            let b = b.clone();
            async move { migrate::run(&b).await }
        })
    );
    let (ra, rb) = (ra.unwrap().unwrap(), rb.unwrap().unwrap());
    assert!(
        ra.is_empty() != rb.is_empty(),
        "exactly one applied the migrations: {ra:?} {rb:?}"
    );
    check_manifest(&a, &f.manifest()).await.unwrap();
    let marker = rows_as_text(&a, migrate::MARKER_TABLE).await;
    assert_eq!(marker.len(), 1, "one upgrade recorded: {marker:?}");
    assert!(marker[0]["finished_at"].is_some());
    if backend == Backend::Sqlite {
        let dir = sqlite_path(&url).parent().unwrap().to_owned();
        let backups = std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains("before-votebox")
            })
            .count();
        assert_eq!(backups, 1);
    }
    a.close().await;
    b.close().await;
}

async fn checklist_55_unknown_columns_tables_and_indexes_are_kept(backend: Backend) {
    let f = schema1(backend);
    let (db, _url, _guard) = f.load().await;
    let (note_col, idx) = match backend {
        Backend::MySql => ("`note`", "`ix_operator_candidate`"),
        _ => ("note", "ix_operator_candidate"),
    };
    exec(
        &db,
        &format!("ALTER TABLE ballot ADD COLUMN {note_col} VARCHAR(40) DEFAULT 'kept'"),
    )
    .await;
    exec(&db, &format!("UPDATE ballot SET {note_col} = candidate")).await;
    exec(&db, &format!("CREATE INDEX {idx} ON ballot (candidate)")).await;
    exec(
        &db,
        "CREATE TABLE operator_audit (id INTEGER PRIMARY KEY, what VARCHAR(40))",
    )
    .await;
    exec(
        &db,
        "INSERT INTO operator_audit (id, what) VALUES (1, 'kept too')",
    )
    .await;
    exec(
        &db,
        &format!("ALTER TABLE voter ADD COLUMN {note_col} VARCHAR(40)"),
    )
    .await;
    exec(&db, &format!("UPDATE voter SET {note_col} = 'v'")).await;
    if backend == Backend::Sqlite {
        exec(
            &db,
            "CREATE TRIGGER operator_trigger AFTER DELETE ON ballot BEGIN \
             INSERT INTO operator_audit (what) VALUES (old.candidate); END",
        )
        .await;
    }

    let (events, sink) = collector();
    migrate::run_with_progress(&db, &sink).await.unwrap();
    let log = text_of(&events);
    assert!(log.contains("operator_audit"), "{log}");
    assert!(log.contains("ballot.note"), "{log}");
    check_manifest(&db, &f.manifest()).await.unwrap();

    let ballots = rows_as_text(&db, "ballot").await;
    assert!(
        ballots
            .iter()
            .all(|r| r["note"].is_some() && r["note"] == r["candidate"]),
        "{ballots:?}"
    );
    assert!(
        rows_as_text(&db, "voter")
            .await
            .iter()
            .all(|r| r["note"].as_deref() == Some("v"))
    );
    assert_eq!(rows_as_text(&db, "operator_audit").await.len(), 1);
    let schema = schema_fingerprint(&db, Some(&["ballot"])).await;
    assert!(schema.contains("ix_operator_candidate"), "{schema}");
    if backend == Backend::Sqlite {
        let all = schema_fingerprint(&db, None).await;
        assert!(all.contains("operator_trigger"), "{all}");
        // The trigger works on the new table.
        exec(&db, "DELETE FROM ballot WHERE candidate = 'aaron'").await;
        assert!(rows_as_text(&db, "operator_audit").await.len() > 1);
    }
    db.close().await;
}

async fn checklist_55_newer_schema_or_votebox_is_refused_unchanged(backend: Backend) {
    // Elekto schema_version 3: refused before anything is written.
    let (db, _url, _guard) = schema2(backend).load().await;
    exec(&db, "UPDATE schema_version SET version = 3").await;
    let before = snapshot(&db).await;
    let err = migrate::run(&db).await.unwrap_err().to_string();
    assert!(err.contains("newer"), "{err}");
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(snapshot(&db).await, before);
    db.close().await;

    // A votebox database migrated by a newer votebox: refused before anything is written.
    let (db, _url, _guard) = schema2(backend).load().await;
    migrate::run(&db).await.unwrap();
    let checksum = if backend == Backend::Postgres {
        "'\\x00'::bytea"
    } else {
        "X'00'"
    };
    exec(
        &db,
        &format!(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (9999, 'from the future', TRUE, {checksum}, 1)"
        ),
    )
    .await;
    let before = snapshot(&db).await;
    let err = migrate::run(&db).await.unwrap_err().to_string();
    assert!(
        err.contains("newer votebox") && err.contains("9999"),
        "{err}"
    );
    assert_eq!(snapshot(&db).await, before);
    db.close().await;
}

async fn checklist_55_hand_modified_schema_missing_columns_is_refused(backend: Backend) {
    let (db, _url, _guard) = schema2(backend).load().await;
    let col = if backend == Backend::MySql {
        "`chat`"
    } else {
        "chat"
    };
    exec(&db, &format!("ALTER TABLE request DROP COLUMN {col}")).await;
    let before = snapshot(&db).await;
    let err = migrate::run(&db).await.unwrap_err().to_string();
    assert!(err.contains("request.chat"), "{err}");
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(snapshot(&db).await, before);
    db.close().await;
}

async fn checklist_57_partly_upgraded_schema1_is_completed(backend: Backend) {
    let f = schema1(backend);
    let (db, _url, _guard) = f.load().await;
    // An operator started Elekto's manual SQL and stopped after the first ALTER.
    let blob = if backend == Backend::Postgres {
        "BYTEA"
    } else {
        "BLOB"
    };
    exec(&db, &format!("ALTER TABLE voter ADD COLUMN salt {blob}")).await;
    let (events, sink) = collector();
    migrate::run_with_progress(&db, &sink).await.unwrap();
    assert!(
        text_of(&events).contains("partly upgraded"),
        "{}",
        text_of(&events)
    );
    check_manifest(&db, &f.manifest()).await.unwrap();
    assert_elekto_would_start(&db).await;
    db.close().await;
}

// ---------------------------------------------------------------------------------------------
// No ALTER permission (item 5), on the two server engines.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checklist_57_read_only_user_gets_the_sql_and_nothing_changes_postgres() {
    read_only_user(Backend::Postgres, 1).await;
    read_only_user(Backend::Postgres, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checklist_57_read_only_user_gets_the_sql_and_nothing_changes_mysql() {
    read_only_user(Backend::MySql, 1).await;
    read_only_user(Backend::MySql, 2).await;
}

async fn read_only_user(backend: Backend, schema: u32) {
    let f = fixtures(backend).find(|f| f.schema == schema).unwrap();
    let (admin, url, _guard) = f.load().await;
    let before = snapshot(&admin).await;
    let ro_url = read_only_url(&url).await;
    let ro = Db::connect(&ro_url).await.unwrap();
    let (events, sink) = collector();
    let err = migrate::run_with_progress(&ro, &sink)
        .await
        .unwrap_err()
        .to_string();
    ro.close().await;
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(
        snapshot(&admin).await,
        before,
        "the read-only attempt changed something"
    );
    let sql = events
        .lock()
        .unwrap()
        .iter()
        .find_map(|p| match p {
            Progress::ManualSql(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no SQL printed: {err}"));
    assert!(sql.contains("_sqlx_migrations"), "{sql}");
    assert_eq!(sql.contains("ALTER TABLE"), schema == 1, "{sql}");

    // The owner runs exactly that SQL; votebox then finds nothing to do and every row is there.
    let (ok, out) = run_sql_text(backend, &url, &sql);
    assert!(ok, "the printed SQL failed:\n{out}\n{sql}");
    assert_eq!(migrate::detect(&admin).await.unwrap(), SchemaKind::Managed);
    assert_eq!(migrate::run(&admin).await.unwrap(), []);
    check_manifest(&admin, &f.manifest()).await.unwrap();
    assert_elekto_would_start(&admin).await;
    admin.close().await;
}

// ---------------------------------------------------------------------------------------------
// `--print-sql` text matches what `migrate` does (a schema-1 database upgraded by the printed
// SQL looks exactly like one upgraded by `migrate`).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checklist_57_printed_sql_equals_migrate_on_every_engine() {
    for backend in Backend::ALL {
        let f = schema1(backend);
        let (by_migrate, _u1, _g1) = f.load().await;
        migrate::run(&by_migrate).await.unwrap();
        let (url, _g2) = f.load_url().await;
        let sql = migrate::print_sql(backend, 1).unwrap();
        let (ok, out) = run_sql_text(backend, &url, &sql);
        assert!(ok, "{backend}: printed SQL failed:\n{out}");
        let by_hand = Db::connect(&url).await.unwrap();
        assert_eq!(
            schema_fingerprint(&by_hand, Some(ELEKTO_TABLES)).await,
            schema_fingerprint(&by_migrate, Some(ELEKTO_TABLES)).await,
            "{backend}"
        );
        check_manifest(&by_hand, &f.manifest()).await.unwrap();
        assert_eq!(migrate::run(&by_hand).await.unwrap(), [], "{backend}");
        by_hand.close().await;
        by_migrate.close().await;
    }
}
