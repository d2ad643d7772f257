//! votebox-db against real engines: every test runs on SQLite (temporary file), PostgreSQL and
//! MariaDB/MySQL, each in a database of its own (see `votebox_db::testing`). A server that cannot
//! be reached fails the test loudly; nothing is skipped.

use time::macros::datetime;
use votebox_db::migrate::{self, MigrationState, SchemaKind};
use votebox_db::testing::sea_query::{Asterisk, Expr, ExprTrait, Query};
use votebox_db::testing::{self, exec, fetch_all};
use votebox_db::users::LoginDetails;
use votebox_db::{Backend, Db, DbError, ElectionId, Timestamp, UserId, elections, users, voters};

votebox_db::on_every_engine!(
    connect_and_ping,
    checklist_56_migrate_creates_elekto_schema_once,
    migrate_status_lists_versions,
    concurrent_migrations_apply_each_once,
    migrate_waits_for_a_held_lock,
    dirty_rerunnable_migration_runs_again,
    legacy_elekto_database_is_refused,
    sync_adds_renames_and_keeps_orphans,
    delete_orphan_removes_children_only_when_asked,
    upsert_login_is_case_insensitive,
    timestamps_round_trip,
    voter_queries,
    a_lost_lock_is_contended,
);

// ---------------------------------------------------------------------------------------------
// helpers

fn versions(states: &[MigrationState]) -> Vec<i64> {
    states.iter().map(|m| m.version).collect()
}

async fn count_rows(db: &Db, table: &'static str) -> i64 {
    let stmt = Query::select()
        .expr(Expr::col(Asterisk).count())
        .from(table)
        .to_owned();
    let rows: Vec<(i64,)> = fetch_all(db, &stmt).await.unwrap();
    rows[0].0
}

async fn count_for_election(db: &Db, table: &'static str, election_id: ElectionId) -> i64 {
    let stmt = Query::select()
        .expr(Expr::col(Asterisk).count())
        .from(table)
        .and_where(Expr::col("election_id").eq(election_id))
        .to_owned();
    let rows: Vec<(i64,)> = fetch_all(db, &stmt).await.unwrap();
    rows[0].0
}

async fn election_id(db: &Db, key: &str) -> ElectionId {
    elections::find_by_key(db, key)
        .await
        .unwrap()
        .expect("election row")
        .id
}

async fn insert_voter(db: &Db, user_id: UserId, election_id: ElectionId) {
    let stmt = Query::insert()
        .into_table("voter")
        .columns(["user_id", "election_id", "salt", "ballot_id"])
        .values_panic([
            user_id.into(),
            election_id.into(),
            vec![7u8; 16].into(),
            vec![9u8; 76].into(),
        ])
        .to_owned();
    assert_eq!(exec(db, &stmt).await.unwrap(), 1);
}

async fn insert_ballot(db: &Db, election_id: ElectionId, candidate: &str, rank: i32) {
    let id = format!("{:032x}", rand::random::<u128>());
    let stmt = Query::insert()
        .into_table("ballot")
        .columns(["id", "election_id", "rank", "candidate", "voter"])
        .values_panic([
            id.into(),
            election_id.into(),
            rank.into(),
            candidate.into(),
            "0b6f2c8e-8d3c-4a57-9f5e-1d2b3c4d5e6f".into(),
        ])
        .to_owned();
    assert_eq!(exec(db, &stmt).await.unwrap(), 1);
}

async fn insert_request(db: &Db, user_id: UserId, election_id: ElectionId) {
    let stmt = Query::insert()
        .into_table("request")
        .columns([
            "user_id",
            "election_id",
            "name",
            "description",
            "comments",
            "reviewed",
        ])
        .values_panic([
            user_id.into(),
            election_id.into(),
            "Zoë Ångström 🗳".into(),
            "please".into(),
            "".into(),
            false.into(),
        ])
        .to_owned();
    assert_eq!(exec(db, &stmt).await.unwrap(), 1);
}

async fn seed_user(db: &Db, login: &str) -> UserId {
    users::upsert_login(
        db,
        &LoginDetails {
            name: Some(login),
            token: Some("gho_x"),
            ..LoginDetails::login(login)
        },
    )
    .await
    .unwrap()
    .id
}

/// Runs a static statement directly on the pool (DDL the API never issues).
async fn raw(db: &Db, sql: &'static str) {
    match db {
        Db::Pg(p) => {
            sqlx::raw_sql(sql).execute(p).await.unwrap();
        }
        Db::My(p) => {
            sqlx::raw_sql(sql).execute(p).await.unwrap();
        }
        Db::Lite(p) => {
            sqlx::raw_sql(sql).execute(p).await.unwrap();
        }
    }
}

/// Index names on a table, from the engine's catalog.
async fn index_names(db: &Db, table: &str) -> Vec<String> {
    let stmt = match db.backend() {
        Backend::Postgres => Query::select()
            .column("indexname")
            .from("pg_indexes")
            .and_where(Expr::col("schemaname").eq(Expr::cust("current_schema()")))
            .and_where(Expr::col("tablename").eq(table))
            .to_owned(),
        Backend::MySql => Query::select()
            .distinct()
            .expr(Expr::col("index_name").cast_as("CHAR"))
            .from(("information_schema", "statistics"))
            .and_where(Expr::col("table_schema").eq(Expr::cust("DATABASE()")))
            .and_where(Expr::col("table_name").eq(table))
            .to_owned(),
        Backend::Sqlite => Query::select()
            .column("name")
            .from("sqlite_master")
            .and_where(Expr::col("type").eq("index"))
            .and_where(Expr::col("tbl_name").eq(table))
            .to_owned(),
    };
    let rows: Vec<(String,)> = fetch_all(db, &stmt).await.unwrap();
    rows.into_iter().map(|(n,)| n).collect()
}

// ---------------------------------------------------------------------------------------------
// tests

async fn connect_and_ping(backend: Backend) {
    let (db, url, _guard) = testing::fresh_database(backend).await;
    assert_eq!(db.backend(), backend);
    assert_eq!(Backend::from_url(&url), Some(backend));
    db.ping().await.unwrap();
    // A second pool on the same URL sees the same database.
    let again = Db::connect(&url).await.unwrap();
    again.ping().await.unwrap();
    again.close().await;
}

/// Managed databases often require TLS: `?sslmode=require` must give an encrypted session. (The
/// PostgreSQL of this machine, like Debian's default, has TLS on with its snakeoil certificate.)
#[tokio::test]
async fn postgres_tls_when_the_url_requires_it() {
    let (_db, url, _guard) = testing::fresh_database(Backend::Postgres).await;
    let sep = if url.contains('?') { '&' } else { '?' };
    let db = Db::connect(&format!("{url}{sep}sslmode=require"))
        .await
        .expect("a TLS connection to PostgreSQL with sslmode=require");
    let stmt = Query::select()
        .expr(Expr::cust("ssl"))
        .from("pg_stat_ssl")
        .and_where(Expr::cust("pid = pg_backend_pid()"))
        .to_owned();
    let rows: Vec<(bool,)> = fetch_all(&db, &stmt).await.unwrap();
    assert_eq!(rows, [(true,)], "the session is encrypted");
    db.close().await;
}

async fn checklist_56_migrate_creates_elekto_schema_once(backend: Backend) {
    let (db, _url, _guard) = testing::fresh_database(backend).await;
    assert_eq!(migrate::detect(&db).await.unwrap(), SchemaKind::Empty);

    let applied = migrate::run(&db).await.unwrap();
    assert_eq!(versions(&applied), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert!(applied.iter().all(|m| m.applied));
    assert_eq!(migrate::detect(&db).await.unwrap(), SchemaKind::Managed);

    // Elekto's marker row.
    let rows: Vec<(i32,)> = fetch_all(
        &db,
        &Query::select()
            .column("version")
            .from("schema_version")
            .to_owned(),
    )
    .await
    .unwrap();
    assert_eq!(rows, [(2,)]);

    // Every Elekto column exists under its name (an empty SELECT of all of them succeeds).
    let tables: [(&str, &[&str]); 17] = [
        (
            "election",
            &["id", "key", "name", "created_at", "updated_at"],
        ),
        (
            "user",
            &[
                "id",
                "username",
                "name",
                "token",
                "token_expires_at",
                "created_at",
                "updated_at",
            ],
        ),
        (
            "voter",
            &[
                "id",
                "user_id",
                "election_id",
                "created_at",
                "updated_at",
                "salt",
                "ballot_id",
            ],
        ),
        (
            "ballot",
            &["id", "election_id", "rank", "candidate", "voter"],
        ),
        (
            "request",
            &[
                "id",
                "user_id",
                "election_id",
                "name",
                "email",
                "chat",
                "description",
                "comments",
                "reviewed",
                "created_at",
                "updated_at",
            ],
        ),
        ("schema_version", &["version"]),
        ("votebox_election_state", &["election_id", "orphaned_at"]),
        (
            "votebox_user_identity",
            &["user_id", "github_id", "created_at"],
        ),
        (
            "votebox_login_claim",
            &["election_id", "kind", "login", "user_id"],
        ),
        ("votebox_user_session", &["user_id", "generation"]),
        ("votebox_ballot_mix", &["election_id", "pending_since"]),
        ("votebox_conclusion", &["election_id", "concluded_at"]),
        (
            "votebox_audit_event",
            &[
                "election_id",
                "seq",
                "at",
                "kind",
                "detail_json",
                "prev_hash",
                "hash",
            ],
        ),
        ("votebox_lease", &["name", "holder", "expires_at"]),
        (
            "votebox_meta_snapshot",
            &["source", "commit_id", "files", "published_at"],
        ),
        ("votebox_kdf_claim", &["user_id", "holder", "expires_at"]),
        ("votebox_passphrase_attempt", &["user_id", "attempted_at"]),
    ];
    for (table, columns) in tables {
        let stmt = Query::select()
            .columns(columns.iter().copied())
            .from(table)
            .to_owned();
        exec(&db, &stmt)
            .await
            .unwrap_or_else(|e| panic!("{backend}: table {table}: {e}"));
    }

    // Elekto's index names.
    assert!(
        index_names(&db, "voter")
            .await
            .contains(&"ix_voter_election_id".to_owned())
    );
    assert!(
        index_names(&db, "ballot")
            .await
            .contains(&"ix_ballot_election_id".to_owned())
    );

    // Foreign keys are enforced (SQLite too: PRAGMA foreign_keys=ON on every connection).
    let orphan_voter = Query::insert()
        .into_table("voter")
        .columns(["user_id", "election_id"])
        .values_panic([Option::<i32>::None.into(), 424242.into()])
        .to_owned();
    let err = exec(&db, &orphan_voter).await.expect_err("FK violation");
    assert!(
        matches!(err, DbError::Sqlx(sqlx::Error::Database(_))),
        "{err:?}"
    );

    // UNIQUE(election.key), UNIQUE(user.username).
    elections::sync(&db, &[("k".into(), "K".into())])
        .await
        .unwrap();
    let dup = Query::insert()
        .into_table("election")
        .columns(["key", "name"])
        .values_panic(["k".into(), "again".into()])
        .to_owned();
    assert!(exec(&db, &dup).await.is_err());

    // Second run: nothing to do, nothing changed.
    assert_eq!(migrate::run(&db).await.unwrap(), []);
    assert_eq!(count_rows(&db, "_sqlx_migrations").await, 8);
    assert_eq!(count_rows(&db, "schema_version").await, 1);
    assert_eq!(count_rows(&db, "election").await, 1);
}

async fn migrate_status_lists_versions(backend: Backend) {
    let (db, _url, _guard) = testing::fresh_database(backend).await;
    let before = migrate::status(&db).await.unwrap();
    assert_eq!(
        before,
        [
            MigrationState {
                version: 1,
                description: "elekto schema v2".into(),
                applied: false
            },
            MigrationState {
                version: 2,
                description: "votebox additions".into(),
                applied: false
            },
            MigrationState {
                version: 3,
                description: "github identity".into(),
                applied: false
            },
            MigrationState {
                version: 4,
                description: "login claims".into(),
                applied: false
            },
            MigrationState {
                version: 5,
                description: "session generation".into(),
                applied: false
            },
            MigrationState {
                version: 6,
                description: "ballot secrecy".into(),
                applied: false
            },
            MigrationState {
                version: 7,
                description: "audit chain".into(),
                applied: false
            },
            MigrationState {
                version: 8,
                description: "instances".into(),
                applied: false
            },
        ]
    );
    // status writes nothing.
    assert_eq!(migrate::detect(&db).await.unwrap(), SchemaKind::Empty);

    migrate::run(&db).await.unwrap();
    let after = migrate::status(&db).await.unwrap();
    assert_eq!(versions(&after), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert!(after.iter().all(|m| m.applied), "{after:?}");
    assert_eq!(
        after
            .iter()
            .map(|m| m.description.as_str())
            .collect::<Vec<_>>(),
        [
            "elekto schema v2",
            "votebox additions",
            "github identity",
            "login claims",
            "session generation",
            "ballot secrecy",
            "audit chain",
            "instances"
        ]
    );
}

async fn concurrent_migrations_apply_each_once(backend: Backend) {
    let (url, _guard) = testing::fresh_url(backend).await;
    // Separate pools, as separate processes would have.
    let mut pools = Vec::new();
    for _ in 0..3 {
        pools.push(Db::connect(&url).await.unwrap());
    }
    let runs = pools.iter().map(|db| {
        let db = db.clone();
        tokio::spawn(async move { migrate::run(&db).await })
    });
    let mut all_applied = Vec::new();
    let mut non_empty = 0;
    for run in runs.collect::<Vec<_>>() {
        let applied = run
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
        if !applied.is_empty() {
            non_empty += 1;
        }
        all_applied.extend(versions(&applied));
    }
    all_applied.sort();
    assert_eq!(
        all_applied,
        [1, 2, 3, 4, 5, 6, 7, 8],
        "each migration applied exactly once"
    );
    assert_eq!(non_empty, 1, "one process did all the work");

    let db = &pools[0];
    assert_eq!(count_rows(db, "_sqlx_migrations").await, 8);
    assert_eq!(count_rows(db, "schema_version").await, 1);
    assert!(migrate::status(db).await.unwrap().iter().all(|m| m.applied));
    for db in &pools {
        db.close().await;
    }
}

/// The lock as another votebox process would hold it.
enum HeldLock {
    Pg(sqlx::PgConnection),
    My(sqlx::MySqlConnection),
    Lite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

async fn hold_migration_lock(db: &Db) -> HeldLock {
    match db {
        Db::Pg(p) => {
            let mut c = p.acquire().await.unwrap().detach();
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(migrate::PG_LOCK_KEY)
                .execute(&mut c)
                .await
                .unwrap();
            HeldLock::Pg(c)
        }
        Db::My(p) => {
            let mut c = p.acquire().await.unwrap().detach();
            let got: i64 = sqlx::query_scalar(
                "SELECT GET_LOCK(LEFT(CONCAT('votebox_migrate:', DATABASE()), 64), 0)",
            )
            .fetch_one(&mut c)
            .await
            .unwrap();
            assert_eq!(got, 1);
            HeldLock::My(c)
        }
        Db::Lite(p) => HeldLock::Lite(p.begin_with("BEGIN IMMEDIATE").await.unwrap()),
    }
}

async fn release_migration_lock(held: HeldLock) {
    use sqlx::Connection;
    match held {
        HeldLock::Pg(c) => c.close().await.unwrap(),
        HeldLock::My(c) => c.close().await.unwrap(),
        HeldLock::Lite(tx) => tx.rollback().await.unwrap(),
    }
}

async fn migrate_waits_for_a_held_lock(backend: Backend) {
    let (url, _guard) = testing::fresh_url(backend).await;
    let other_process = Db::connect(&url).await.unwrap();
    let db = Db::connect(&url).await.unwrap();
    let held = hold_migration_lock(&other_process).await;

    let task = tokio::spawn({
        let db = db.clone();
        async move { migrate::run(&db).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(
        !task.is_finished(),
        "{backend}: migrate::run did not wait for the lock"
    );
    assert_eq!(migrate::detect(&db).await.unwrap(), SchemaKind::Empty);

    release_migration_lock(held).await;
    let applied = tokio::time::timeout(std::time::Duration::from_secs(30), task)
        .await
        .expect("run finishes once the lock is free")
        .unwrap()
        .unwrap();
    assert_eq!(versions(&applied), [1, 2, 3, 4, 5, 6, 7, 8]);
    other_process.close().await;
    db.close().await;
}

/// A migration that failed half-way (MySQL commits DDL implicitly, so sqlx leaves its row with
/// success = FALSE) is listed as pending and, being re-runnable, applied again by the next run.
async fn dirty_rerunnable_migration_runs_again(backend: Backend) {
    let (db, _url, _guard) = testing::migrated_database(backend).await;
    let mark_dirty = Query::update()
        .table("_sqlx_migrations")
        .value("success", false)
        .and_where(Expr::col("version").eq(2))
        .to_owned();
    assert_eq!(exec(&db, &mark_dirty).await.unwrap(), 1);
    let status = migrate::status(&db).await.unwrap();
    assert_eq!(
        status
            .iter()
            .map(|m| (m.version, m.applied))
            .collect::<Vec<_>>(),
        [
            (1, true),
            (2, false),
            (3, true),
            (4, true),
            (5, true),
            (6, true),
            (7, true),
            (8, true)
        ]
    );

    let applied = migrate::run(&db).await.unwrap();
    assert_eq!(versions(&applied), [2]);
    assert!(
        migrate::status(&db)
            .await
            .unwrap()
            .iter()
            .all(|m| m.applied)
    );
    assert_eq!(count_rows(&db, "_sqlx_migrations").await, 8);
    assert_eq!(migrate::run(&db).await.unwrap(), []);
}

async fn legacy_elekto_database_is_refused(backend: Backend) {
    let (db, _url, _guard) = testing::fresh_database(backend).await;
    raw(
        &db,
        "CREATE TABLE election (id INTEGER NOT NULL PRIMARY KEY)",
    )
    .await;
    assert_eq!(
        migrate::detect(&db).await.unwrap(),
        SchemaKind::LegacyElekto {
            schema_version: None
        }
    );
    raw(
        &db,
        "CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY)",
    )
    .await;
    raw(&db, "INSERT INTO schema_version (version) VALUES (2)").await;
    assert_eq!(
        migrate::detect(&db).await.unwrap(),
        SchemaKind::LegacyElekto {
            schema_version: Some(2)
        }
    );

    // Adopting legacy databases: tests/legacy.rs. This one lacks Elekto's columns (a
    // hand-made `election (id)`), so it is refused before anything is written.
    let err = migrate::run(&db)
        .await
        .expect_err("incomplete Elekto schema refused");
    assert!(
        matches!(&err, DbError::Migrate(m) if m.contains("not all of Elekto's columns")
            && m.contains("election.key") && m.contains("nothing was changed")),
        "{err}"
    );
    // Nothing was written.
    assert_eq!(
        migrate::detect(&db).await.unwrap(),
        SchemaKind::LegacyElekto {
            schema_version: Some(2)
        }
    );
    assert!(
        migrate::status(&db)
            .await
            .unwrap()
            .iter()
            .all(|m| !m.applied)
    );
}

async fn sync_adds_renames_and_keeps_orphans(backend: Backend) {
    let (db, _url, _guard) = testing::migrated_database(backend).await;
    let meta = |items: &[(&str, &str)]| -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, n)| (k.to_string(), n.to_string()))
            .collect()
    };

    let report = elections::sync(&db, &meta(&[("2021-GB", "GB"), ("name_the_app", "Name")]))
        .await
        .unwrap();
    assert_eq!(report.added, ["2021-GB", "name_the_app"]);
    assert!(report.renamed.is_empty() && report.orphaned.is_empty());
    let rows = elections::list(&db).await.unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| (r.key.as_str(), r.name.as_deref()))
            .collect::<Vec<_>>(),
        [("2021-GB", Some("GB")), ("name_the_app", Some("Name"))]
    );
    assert!(
        rows.iter()
            .all(|r| r.created_at.is_some() && r.created_at == r.updated_at)
    );
    let gb = rows[0].clone();

    // Elekto's rename of elections/2021-GB to elections/2021/GB: a new key, and the old one is
    // kept with its data.
    let user = seed_user(&db, "dims").await;
    insert_voter(&db, user, gb.id).await;
    insert_voter(&db, user, gb.id).await;
    insert_ballot(&db, gb.id, "dims", 1).await;
    insert_ballot(&db, gb.id, "paris", 2).await;
    insert_ballot(&db, gb.id, "aaron", 100_000_000).await;
    insert_request(&db, user, gb.id).await;

    let new_meta = meta(&[("2021---GB", "GB"), ("name_the_app", "Name the app")]);
    let report = elections::sync(&db, &new_meta).await.unwrap();
    assert_eq!(report.added, ["2021---GB"]);
    assert_eq!(report.renamed, ["name_the_app"]);
    assert_eq!(report.orphaned.len(), 1);
    let orphan = &report.orphaned[0];
    assert_eq!(
        (
            orphan.key.as_str(),
            orphan.voters,
            orphan.ballots,
            orphan.requests
        ),
        ("2021-GB", 2, 3, 1)
    );
    let since = orphan.orphaned_since.expect("orphaned_since");

    // Nothing deleted; the name update left created/updated_at alone.
    let rows = elections::list(&db).await.unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        elections::find_by_key(&db, "2021-GB").await.unwrap(),
        Some(gb.clone())
    );
    let app = elections::find_by_key(&db, "name_the_app")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(app.name.as_deref(), Some("Name the app"));
    assert_eq!(app.updated_at, rows[1].updated_at);
    assert_eq!(count_for_election(&db, "ballot", gb.id).await, 3);

    // Same meta again: no change, the orphan keeps its first-seen time.
    let report = elections::sync(&db, &new_meta).await.unwrap();
    assert!(report.added.is_empty() && report.renamed.is_empty());
    assert_eq!(report.orphaned.len(), 1);
    assert_eq!(report.orphaned[0].orphaned_since, Some(since));

    // The key comes back: no longer an orphan, state cleared.
    let back = meta(&[
        ("2021-GB", "GB"),
        ("2021---GB", "GB"),
        ("name_the_app", "Name the app"),
    ]);
    let report = elections::sync(&db, &back).await.unwrap();
    assert!(
        report.added.is_empty() && report.orphaned.is_empty(),
        "{report:?}"
    );
    let state: Vec<(i32, Option<Timestamp>)> = fetch_all(
        &db,
        &Query::select()
            .columns(["election_id", "orphaned_at"])
            .from("votebox_election_state")
            .to_owned(),
    )
    .await
    .unwrap();
    assert_eq!(state, [(gb.id.0, None)]);

    // Keys are exact: a key differing only in case is another election (except that MySQL's
    // case-insensitive UNIQUE index refuses it, as it did for Elekto).
    assert_eq!(elections::find_by_key(&db, "2021-gb").await.unwrap(), None);
    assert_eq!(elections::list(&db).await.unwrap().len(), 3);
}

async fn delete_orphan_removes_children_only_when_asked(backend: Backend) {
    let (db, _url, _guard) = testing::migrated_database(backend).await;
    let both = [
        ("a".to_owned(), "A".to_owned()),
        ("b".to_owned(), "B".to_owned()),
    ];
    elections::sync(&db, &both).await.unwrap();
    let (a, b) = (election_id(&db, "a").await, election_id(&db, "b").await);
    let user = seed_user(&db, "kalkayan").await;
    for id in [a, b] {
        insert_voter(&db, user, id).await;
        insert_ballot(&db, id, "x", 1).await;
        insert_ballot(&db, id, "y", 2).await;
        insert_request(&db, user, id).await;
    }
    let report = elections::sync(&db, &both[..1]).await.unwrap();
    assert_eq!(report.orphaned.len(), 1);

    let meta_keys = vec!["a".to_owned()];
    // Refused while the key is in the meta; unknown keys are a no-op.
    assert!(
        !elections::delete_orphan(&db, "b", &["a".into(), "b".into()])
            .await
            .unwrap()
    );
    assert!(
        !elections::delete_orphan(&db, "nope", &meta_keys)
            .await
            .unwrap()
    );
    assert!(
        !elections::delete_orphan(&db, "a", &meta_keys)
            .await
            .unwrap()
    );
    assert_eq!(count_for_election(&db, "ballot", b).await, 2);

    assert!(
        elections::delete_orphan(&db, "b", &meta_keys)
            .await
            .unwrap()
    );
    assert_eq!(elections::find_by_key(&db, "b").await.unwrap(), None);
    for table in ["voter", "ballot", "request", "votebox_election_state"] {
        assert_eq!(count_for_election(&db, table, b).await, 0, "{table}");
    }
    // The other election and the user are untouched.
    assert_eq!(count_for_election(&db, "voter", a).await, 1);
    assert_eq!(count_for_election(&db, "ballot", a).await, 2);
    assert_eq!(count_for_election(&db, "request", a).await, 1);
    assert!(users::find_by_id(&db, user).await.unwrap().is_some());
    // Deleting again finds nothing.
    assert!(
        !elections::delete_orphan(&db, "b", &meta_keys)
            .await
            .unwrap()
    );
}

async fn upsert_login_is_case_insensitive(backend: Backend) {
    let (db, _url, _guard) = testing::migrated_database(backend).await;
    let exp1 = datetime!(2026-11-26 09:42:21);
    let exp2 = datetime!(2026-11-27 10:00:00);

    let first = users::upsert_login(
        &db,
        &LoginDetails {
            name: Some("Sergey Kanzhelev"),
            token: Some("t1"),
            token_expires_at: Some(exp1),
            ..LoginDetails::login("SergeyKanzhelev")
        },
    )
    .await
    .unwrap();
    assert_eq!(first.username.as_deref(), Some("SergeyKanzhelev"));
    assert_eq!(first.name.as_deref(), Some("Sergey Kanzhelev"));
    assert_eq!(first.token.as_deref(), Some("t1"));
    assert_eq!(first.token_expires_at, Some(exp1));
    assert!(first.created_at.is_some());

    // Same person, other case: the same row; only token and expiry change.
    let again = users::upsert_login(
        &db,
        &LoginDetails {
            name: Some("Someone Else"),
            token: Some("t2"),
            token_expires_at: Some(exp2),
            ..LoginDetails::login("sergeykanzhelev")
        },
    )
    .await
    .unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(again.username.as_deref(), Some("SergeyKanzhelev"));
    assert_eq!(again.name.as_deref(), Some("Sergey Kanzhelev"));
    assert_eq!(again.token.as_deref(), Some("t2"));
    assert_eq!(again.token_expires_at, Some(exp2));
    assert_eq!(again.created_at, first.created_at);
    assert_eq!(count_rows(&db, "user").await, 1);
    assert_eq!(
        users::find_by_id(&db, first.id).await.unwrap(),
        Some(again.clone())
    );

    // Others: no profile name, non-ASCII name.
    let liggitt = users::upsert_login(
        &db,
        &LoginDetails {
            token: Some("t3"),
            ..LoginDetails::login("liggitt")
        },
    )
    .await
    .unwrap();
    assert_ne!(liggitt.id, first.id);
    assert_eq!(liggitt.name, None);
    let zoe = users::upsert_login(
        &db,
        &LoginDetails {
            name: Some("Zoë Ångström 🗳"),
            ..LoginDetails::login("ZoeAngstrom")
        },
    )
    .await
    .unwrap();
    assert_eq!(zoe.name.as_deref(), Some("Zoë Ångström 🗳"));
    assert_eq!(
        users::upsert_login(&db, &LoginDetails::login("ZOEANGSTROM"))
            .await
            .unwrap()
            .id,
        zoe.id
    );

    // Logout.
    users::clear_token(&db, first.id).await.unwrap();
    let out = users::find_by_id(&db, first.id).await.unwrap().unwrap();
    assert_eq!((out.token, out.token_expires_at), (None, None));
    assert_eq!(out.name.as_deref(), Some("Sergey Kanzhelev"));
    assert_eq!(users::find_by_id(&db, UserId(999_999)).await.unwrap(), None);
}

async fn timestamps_round_trip(backend: Backend) {
    let (db, _url, _guard) = testing::migrated_database(backend).await;
    let exp = datetime!(2021-09-13 00:00:01.123456);
    let user = users::upsert_login(
        &db,
        &LoginDetails {
            name: Some("Josh"),
            token: Some("t"),
            token_expires_at: Some(exp),
            ..LoginDetails::login("jberkus")
        },
    )
    .await
    .unwrap();
    let stored = user.token_expires_at.unwrap();
    match backend {
        // DATETIME without fractional seconds, as Elekto's MySQL columns.
        Backend::MySql => assert_eq!(
            stored.replace_nanosecond(0).unwrap(),
            exp.replace_nanosecond(0).unwrap()
        ),
        Backend::Postgres | Backend::Sqlite => assert_eq!(stored, exp),
    }
    let created = user.created_at.unwrap();
    let now = votebox_db::utc_now();
    assert!(
        (now - created).whole_seconds().abs() < 60,
        "created_at {created} vs now {now}"
    );

    if backend == Backend::Sqlite {
        // Byte-compatible with what Python/SQLAlchemy writes.
        let rows: Vec<(String, String)> = fetch_all(
            &db,
            &Query::select()
                .expr(Expr::col("token_expires_at").cast_as("TEXT"))
                .expr(Expr::col("created_at").cast_as("TEXT"))
                .from("user")
                .to_owned(),
        )
        .await
        .unwrap();
        assert_eq!(rows[0].0, "2021-09-13 00:00:01.123456");
        let created_text = &rows[0].1;
        assert_eq!(created_text.len(), 26, "{created_text}");
        assert_eq!(&created_text[19..20], ".", "{created_text}");
    }

    // Elekto's SQLite rows written by CURRENT_TIMESTAMP have no fraction; both forms decode.
    if backend == Backend::Sqlite {
        let legacy = Query::update()
            .table("user")
            .value("created_at", "2021-09-13 07:08:09")
            .to_owned();
        exec(&db, &legacy).await.unwrap();
        let user = users::find_by_id(&db, user.id).await.unwrap().unwrap();
        assert_eq!(user.created_at, Some(datetime!(2021-09-13 07:08:09)));
    }
}

async fn voter_queries(backend: Backend) {
    let (db, _url, _guard) = testing::migrated_database(backend).await;
    let meta: Vec<(String, String)> = ["name_the_app", "2021---TOC", "2021---GB"]
        .iter()
        .map(|k| (k.to_string(), k.to_uppercase()))
        .collect();
    elections::sync(&db, &meta).await.unwrap();
    let (app, toc, gb) = (
        election_id(&db, "name_the_app").await,
        election_id(&db, "2021---TOC").await,
        election_id(&db, "2021---GB").await,
    );
    let u1 = seed_user(&db, "parispittman").await;
    let u2 = seed_user(&db, "dims").await;
    let u3 = seed_user(&db, "liggitt").await;
    insert_voter(&db, u1, app).await;
    insert_voter(&db, u1, gb).await;
    insert_voter(&db, u1, gb).await; // no UNIQUE(user_id, election_id) in Elekto's schema
    insert_voter(&db, u2, app).await;

    assert!(
        voters::has_voted(&db, u1, "parispittman", app)
            .await
            .unwrap()
    );
    assert!(
        voters::has_voted(&db, u1, "parispittman", gb)
            .await
            .unwrap()
    );
    assert!(
        !voters::has_voted(&db, u1, "parispittman", toc)
            .await
            .unwrap()
    );
    assert!(!voters::has_voted(&db, u2, "dims", gb).await.unwrap());
    assert!(!voters::has_voted(&db, u3, "liggitt", app).await.unwrap());

    assert_eq!(
        voters::voted_election_keys(&db, u1).await.unwrap(),
        ["2021---GB", "name_the_app"]
    );
    assert_eq!(
        voters::voted_election_keys(&db, u2).await.unwrap(),
        ["name_the_app"]
    );
    assert!(
        voters::voted_election_keys(&db, u3)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        voters::voted_election_keys(&db, UserId(999_999))
            .await
            .unwrap()
            .is_empty()
    );

    assert_eq!(voters::count(&db, app).await.unwrap(), 2);
    assert_eq!(voters::count(&db, gb).await.unwrap(), 2);
    assert_eq!(voters::count(&db, toc).await.unwrap(), 0);
    assert_eq!(voters::count(&db, ElectionId(999_999)).await.unwrap(), 0);
}

/// Compile-time check: the API's futures are `Send` (axum handlers need that).
#[allow(dead_code, clippy::let_underscore_future)]
fn api_futures_are_send(db: &Db) {
    fn send<T: Send>(_: T) {}
    send(Db::connect("sqlite::memory:"));
    send(db.ping());
    send(migrate::run(db));
    send(migrate::status(db));
    send(migrate::detect(db));
    send(elections::sync(db, &[]));
    send(elections::list(db));
    send(elections::find_by_key(db, "k"));
    send(elections::delete_orphan(db, "k", &[]));
    send(users::upsert_login(db, &LoginDetails::login("u")));
    send(users::find_by_id(db, UserId(1)));
    send(users::clear_token(db, UserId(1)));
    send(voters::has_voted(db, UserId(1), "x", ElectionId(1)));
    send(voters::voted_election_keys(db, UserId(1)));
    send(voters::count(db, ElectionId(1)));
}

/// A transaction that loses a lock to another one is told apart from a bug (`is_contended`):
/// the web layer answers it with a "send it again" page, not a 500.
async fn a_lost_lock_is_contended(backend: Backend) {
    use sqlx::{Connection, Executor};
    let (_db, url, _guard) = testing::migrated_database(backend).await;
    let setup = "CREATE TABLE contention_probe (id INTEGER PRIMARY KEY, v INTEGER)";
    let fill = "INSERT INTO contention_probe (id, v) VALUES (1, 1)";
    let update = "UPDATE contention_probe SET v = v + 1 WHERE id = 1";
    let lost: sqlx::Error = match backend {
        Backend::Sqlite => {
            let mut holder = sqlx::SqliteConnection::connect(&url).await.unwrap();
            let mut other = sqlx::SqliteConnection::connect(&url).await.unwrap();
            holder.execute(setup).await.unwrap();
            holder.execute(fill).await.unwrap();
            holder.execute("BEGIN IMMEDIATE").await.unwrap();
            holder.execute(update).await.unwrap();
            other.execute("PRAGMA busy_timeout = 0").await.unwrap();
            other.execute(update).await.unwrap_err()
        }
        Backend::Postgres => {
            let mut holder = sqlx::PgConnection::connect(&url).await.unwrap();
            let mut other = sqlx::PgConnection::connect(&url).await.unwrap();
            holder.execute(setup).await.unwrap();
            holder.execute(fill).await.unwrap();
            holder.execute("BEGIN").await.unwrap();
            holder.execute(update).await.unwrap();
            other.execute("SET lock_timeout = '200ms'").await.unwrap();
            other.execute(update).await.unwrap_err()
        }
        Backend::MySql => {
            let mut holder = sqlx::MySqlConnection::connect(&url).await.unwrap();
            let mut other = sqlx::MySqlConnection::connect(&url).await.unwrap();
            holder.execute(setup).await.unwrap();
            holder.execute(fill).await.unwrap();
            holder.execute("BEGIN").await.unwrap();
            holder.execute(update).await.unwrap();
            other
                .execute("SET SESSION innodb_lock_wait_timeout = 1")
                .await
                .unwrap();
            other.execute(update).await.unwrap_err()
        }
    };
    let lost = DbError::from(lost);
    assert!(lost.is_contended(), "{lost}");
    assert!(!lost.is_unavailable(), "{lost}");
    let bug = DbError::from(sqlx::Error::Protocol("not a lock".into()));
    assert!(!bug.is_contended());
}
