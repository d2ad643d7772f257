//! Ballot mixing: what keeps the storage of `ballot` and `voter` rows from pairing a ballot with
//! its voter (issue 12 items 2 and 3).
//!
//! Every engine records, somewhere, the order in which rows arrived: SQLite places each new cell
//! of a B-tree page below the previous one, PostgreSQL appends to the heap (`ctid`) and stamps
//! each row with its transaction id (`xmin`, the same for a vote's ballot rows and voter row),
//! InnoDB numbers the records of a page in insertion order (heap number) and stamps them with
//! the transaction id too. Sorting ballots and voters by any of those pairs them.
//!
//! So a cast (or revoke) marks its election as pending ([`mark_pending`], in the cast's own
//! transaction), and [`mix_pending`] — run by the server every `VOTEBOX_BALLOT_MIX_INTERVAL`
//! seconds — re-writes each pending election in one transaction: reads all of its `ballot` and
//! `voter` rows, deletes them, and inserts them again in a fresh random order with the same ids
//! and contents (every encrypted link still opens; Elekto sees the same rows). Then
//! [`flush_files`] removes what the delete left behind in the files: PostgreSQL `VACUUM FULL`
//! (dead tuples gone, heap rewritten), MariaDB/MySQL `ALTER TABLE … FORCE` (table rebuilt, old
//! records and transaction ids gone), SQLite a `TRUNCATE` checkpoint of the WAL (every
//! connection runs with `secure_delete`, so freed cells are zeroed already).
//!
//! Casts, revokes, conclusion and the mix serialise per election on the election row: the mix
//! and the conclusion take it exclusively, casts and revokes shared (so voters still cast in
//! parallel), each as the first lock of its transaction, so no two of them wait on each other in
//! opposite orders. SQLite's `BEGIN IMMEDIATE` serialises everything anyway.
//!
//! What remains visible (the window between a cast and the next mix, logs and backups taken
//! meanwhile) is described per engine in `docs/security.md`.

use rand::seq::SliceRandom as _;
use sea_query::{Expr, ExprTrait, LockType, OnConflict, Query, SimpleExpr};

use crate::query::{Conn, ts_value};
use crate::schema::{Ballot, Election, VoteboxBallotMix, Voter};
use crate::{Backend, Db, DbError, ElectionId, Result, Timestamp, utc_now};

/// Rows per `INSERT` when re-writing an election: well below every engine's limit on bound
/// parameters (7 columns × 500 = 3,500; SQLite allows 32,766), few round trips.
const INSERT_BATCH: usize = 500;

/// PostgreSQL: how long [`flush_files`] waits for snapshots older than the rows it purges, and
/// how often it looks.
const PG_SNAPSHOT_WAIT: std::time::Duration = std::time::Duration::from_secs(10);
const PG_SNAPSHOT_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// A table whose rows can pair a ballot with a voter, for [`flush_files`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretTable {
    Ballot,
    Voter,
}

impl SecretTable {
    /// The statement that rewrites the table's files without its dead rows (PostgreSQL
    /// `VACUUM FULL`, MariaDB's table rebuild); SQLite flushes the whole file at once instead.
    fn rewrite_sql(self, backend: Backend) -> &'static str {
        match (backend, self) {
            (Backend::MySql, SecretTable::Ballot) => "ALTER TABLE `ballot` FORCE",
            (Backend::MySql, SecretTable::Voter) => "ALTER TABLE `voter` FORCE",
            (_, SecretTable::Ballot) => "VACUUM (FULL) ballot",
            (_, SecretTable::Voter) => "VACUUM (FULL) voter",
        }
    }
}

impl SecretTable {
    fn name(self) -> &'static str {
        match self {
            SecretTable::Ballot => "ballot",
            SecretTable::Voter => "voter",
        }
    }
}

/// What a mix did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MixReport {
    /// Elections re-written.
    pub elections: usize,
    /// `ballot` rows re-written.
    pub ballot_rows: u64,
    /// `voter` rows re-written.
    pub voter_rows: u64,
}

/// How [`lock_election`] locks the election row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ElectionLock {
    /// Casts and revokes: many at once, none while a mix or conclusion holds the row.
    Shared,
    /// Mix and conclusion: alone.
    Exclusive,
}

/// Locks the election row (see the module docs); on SQLite, whose `BEGIN IMMEDIATE` holds the
/// database's write lock, only reads it. `Ok(false)`: no such election. Must be the first lock
/// the transaction takes.
pub(crate) async fn lock_election(
    conn: &mut Conn<'_>,
    election_id: ElectionId,
    mode: ElectionLock,
) -> Result<bool> {
    let mut stmt = Query::select()
        .column(Election::Id)
        .from(Election::Table)
        .and_where(Expr::col(Election::Id).eq(election_id))
        .to_owned();
    match (conn.backend(), mode) {
        (Backend::Sqlite, _) => {}
        // KEY SHARE: does not conflict with the FK checks of inserts nor with a rename by sync.
        (Backend::Postgres, ElectionLock::Shared) => {
            stmt.lock(LockType::KeyShare);
        }
        (Backend::MySql, ElectionLock::Shared) => {
            stmt.lock(LockType::Share);
        }
        (_, ElectionLock::Exclusive) => {
            stmt.lock(LockType::Update);
        }
    }
    Ok(conn.fetch_optional::<(i32,)>(&stmt).await?.is_some())
}

/// Marks the election as having ballots to mix (inside the cast's or revoke's transaction).
pub(crate) async fn mark_pending(conn: &mut Conn<'_>, election_id: ElectionId) -> Result<()> {
    let backend = conn.backend();
    let stmt = Query::insert()
        .into_table(VoteboxBallotMix::Table)
        .columns([VoteboxBallotMix::ElectionId, VoteboxBallotMix::PendingSince])
        .values_panic([
            election_id.into(),
            ts_value(backend, Some(utc_now())).into(),
        ])
        .on_conflict(
            OnConflict::column(VoteboxBallotMix::ElectionId)
                .do_nothing_on([VoteboxBallotMix::ElectionId])
                .to_owned(),
        )
        .to_owned();
    conn.execute(&stmt).await?;
    Ok(())
}

/// Elections with ballots cast or revoked since their last mix, and since when (oldest first).
pub async fn pending(db: &Db) -> Result<Vec<(ElectionId, Timestamp)>> {
    let stmt = Query::select()
        .columns([VoteboxBallotMix::ElectionId, VoteboxBallotMix::PendingSince])
        .from(VoteboxBallotMix::Table)
        .to_owned();
    let mut rows: Vec<(ElectionId, Timestamp)> = db.fetch_all(&stmt).await?;
    rows.sort_by_key(|(id, since)| (*since, *id));
    Ok(rows)
}

/// Mixes every pending election (each in its own transaction), then flushes the files once.
/// Nothing pending: nothing written, no flush. When the flush fails the elections are marked
/// pending again, so the next round re-writes and flushes them.
pub async fn mix_pending(db: &Db) -> Result<MixReport> {
    let mut report = MixReport::default();
    let mut mixed = Vec::new();
    for (election_id, _) in pending(db).await? {
        let one = mix_rows(db, election_id).await?;
        report.elections += one.elections;
        report.ballot_rows += one.ballot_rows;
        report.voter_rows += one.voter_rows;
        if one.elections > 0 {
            mixed.push(election_id);
        }
    }
    if !mixed.is_empty() {
        flush_or_retry_later(db, &[SecretTable::Ballot, SecretTable::Voter], &mixed).await?;
    }
    Ok(report)
}

/// Mixes one election now, pending or not, and flushes the files.
pub async fn mix_election(db: &Db, election_id: ElectionId) -> Result<MixReport> {
    let report = mix_rows(db, election_id).await?;
    flush_or_retry_later(
        db,
        &[SecretTable::Ballot, SecretTable::Voter],
        &[election_id],
    )
    .await?;
    Ok(report)
}

/// [`flush_files`]; when it fails, marks `elections` pending so that the next mix round
/// re-writes them and flushes again, then returns the error.
pub(crate) async fn flush_or_retry_later(
    db: &Db,
    tables: &[SecretTable],
    elections: &[ElectionId],
) -> Result<()> {
    let Err(e) = flush_files(db, tables).await else {
        return Ok(());
    };
    for &election_id in elections {
        if let Err(mark) = mark_pending(&mut db.acquire().await?.conn(), election_id).await {
            tracing::error!(%election_id, error = %mark, "cannot mark the election for another mix");
        }
    }
    Err(e)
}

/// A `ballot` row as stored; `rowid` on SQLite only (kept, so the row is the same row).
type BallotRow = (
    Option<i64>,
    String,
    Option<i32>,
    Option<i32>,
    String,
    String,
);

/// A `voter` row as stored.
type VoterRow = (
    i32,
    Option<i32>,
    Option<i32>,
    Option<Timestamp>,
    Option<Timestamp>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
);

/// The re-write of one election, in one transaction; clears its pending mark.
async fn mix_rows(db: &Db, election_id: ElectionId) -> Result<MixReport> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let backend = conn.backend();
    let exists = lock_election(&mut conn, election_id, ElectionLock::Exclusive).await?;

    let mut ballots = if exists {
        read_ballots(&mut conn, election_id).await?
    } else {
        Vec::new()
    };
    let mut voters = if exists {
        read_voters(&mut conn, election_id).await?
    } else {
        Vec::new()
    };
    {
        // rand's thread RNG: a CSPRNG (ChaCha) seeded from the OS, so the order predicts
        // nothing. (Scoped: it must not live across an await.)
        let mut rng = rand::rng();
        ballots.shuffle(&mut rng);
        voters.shuffle(&mut rng);
    }

    rewrite(
        &mut conn,
        (Ballot::Table, Ballot::ElectionId),
        election_id,
        &ballots,
        |rows| insert_ballots(backend, rows),
    )
    .await?;
    rewrite(
        &mut conn,
        (Voter::Table, Voter::ElectionId),
        election_id,
        &voters,
        |rows| insert_voters(backend, rows),
    )
    .await?;

    let clear = Query::delete()
        .from_table(VoteboxBallotMix::Table)
        .and_where(Expr::col(VoteboxBallotMix::ElectionId).eq(election_id))
        .to_owned();
    conn.execute(&clear).await?;
    tx.commit().await?;
    Ok(MixReport {
        elections: usize::from(exists),
        ballot_rows: ballots.len() as u64,
        voter_rows: voters.len() as u64,
    })
}

async fn read_ballots(conn: &mut Conn<'_>, election_id: ElectionId) -> Result<Vec<BallotRow>> {
    let mut stmt = Query::select();
    if conn.backend() == Backend::Sqlite {
        stmt.column(Ballot::RowId);
    } else {
        stmt.expr(Expr::val(Option::<i64>::None));
    }
    stmt.columns([
        Ballot::Id,
        Ballot::ElectionId,
        Ballot::Rank,
        Ballot::Candidate,
        Ballot::Voter,
    ])
    .from(Ballot::Table)
    .and_where(Expr::col(Ballot::ElectionId).eq(election_id));
    conn.fetch_all(&stmt).await
}

async fn read_voters(conn: &mut Conn<'_>, election_id: ElectionId) -> Result<Vec<VoterRow>> {
    let stmt = Query::select()
        .columns([
            Voter::Id,
            Voter::UserId,
            Voter::ElectionId,
            Voter::CreatedAt,
            Voter::UpdatedAt,
            Voter::Salt,
            Voter::BallotId,
        ])
        .from(Voter::Table)
        .and_where(Expr::col(Voter::ElectionId).eq(election_id))
        .to_owned();
    conn.fetch_all(&stmt).await
}

/// Deletes the election's rows of `table` (whose election column is `column`) and inserts
/// `rows` in their new order, in batches; nothing when the election has no such rows.
async fn rewrite<T, C, R>(
    conn: &mut Conn<'_>,
    (table, column): (T, C),
    election_id: ElectionId,
    rows: &[R],
    insert: impl Fn(&[R]) -> sea_query::InsertStatement,
) -> Result<()>
where
    T: sea_query::IntoTableRef,
    C: sea_query::IntoColumnRef,
{
    if rows.is_empty() {
        return Ok(());
    }
    let delete = Query::delete()
        .from_table(table)
        .and_where(Expr::col(column).eq(election_id))
        .to_owned();
    conn.execute(&delete).await?;
    for chunk in rows.chunks(INSERT_BATCH) {
        conn.execute(&insert(chunk)).await?;
    }
    Ok(())
}

fn insert_ballots(backend: Backend, rows: &[BallotRow]) -> sea_query::InsertStatement {
    let mut insert = Query::insert();
    insert.into_table(Ballot::Table);
    let mut columns = vec![
        Ballot::Id,
        Ballot::ElectionId,
        Ballot::Rank,
        Ballot::Candidate,
        Ballot::Voter,
    ];
    if backend == Backend::Sqlite {
        columns.insert(0, Ballot::RowId);
    }
    insert.columns(columns);
    for (rowid, id, election_id, rank, candidate, voter) in rows {
        let mut values: Vec<SimpleExpr> = Vec::with_capacity(6);
        if backend == Backend::Sqlite {
            values.push((*rowid).into());
        }
        values.extend([
            id.as_str().into(),
            (*election_id).into(),
            (*rank).into(),
            candidate.as_str().into(),
            voter.as_str().into(),
        ]);
        insert.values_panic(values);
    }
    insert
}

fn insert_voters(backend: Backend, rows: &[VoterRow]) -> sea_query::InsertStatement {
    let mut insert = Query::insert();
    insert.into_table(Voter::Table).columns([
        Voter::Id,
        Voter::UserId,
        Voter::ElectionId,
        Voter::CreatedAt,
        Voter::UpdatedAt,
        Voter::Salt,
        Voter::BallotId,
    ]);
    for (id, user_id, election_id, created_at, updated_at, salt, ballot_id) in rows {
        insert.values_panic([
            (*id).into(),
            (*user_id).into(),
            (*election_id).into(),
            ts_value(backend, *created_at).into(),
            ts_value(backend, *updated_at).into(),
            salt.clone().into(),
            ballot_id.clone().into(),
        ]);
    }
    insert
}

/// Makes deleted and superseded rows of `tables` unrecoverable from the database files, outside
/// any transaction:
/// - PostgreSQL: `VACUUM FULL` (needs ownership of the tables): the heap is rewritten without
///   dead tuples, in the current (mixed) order.
/// - MariaDB/MySQL: `ALTER TABLE … FORCE` (needs `ALTER`): the table is rebuilt, in primary key
///   order, without delete-marked records and with fresh page layouts.
/// - SQLite: `PRAGMA wal_checkpoint(TRUNCATE)`: every page goes back to the main file and the
///   WAL, which holds older page images, is emptied. Freed cells and pages were zeroed when they
///   were freed (`secure_delete`, set on every connection). Fails with [`DbError::Flush`] when a
///   reader kept the checkpoint from completing.
pub async fn flush_files(db: &Db, tables: &[SecretTable]) -> Result<()> {
    match db {
        Db::Pg(pool) => {
            // VACUUM FULL copies "recently dead" row versions: those a snapshot taken before the
            // delete committed may still see (an autoanalyze, a pg_dump). Wait for the snapshots
            // open now to end first.
            wait_for_older_pg_snapshots(pool).await?;
            for table in tables {
                sqlx::query(table.rewrite_sql(Backend::Postgres))
                    .execute(pool)
                    .await?;
            }
        }
        Db::My(pool) => {
            for table in tables {
                sqlx::query(table.rewrite_sql(Backend::MySql))
                    .execute(pool)
                    .await?;
            }
        }
        Db::Lite(pool) => {
            let (busy, _log, _checkpointed): (i64, i64, i64) =
                sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                    .fetch_one(pool)
                    .await?;
            if busy != 0 {
                let names: Vec<&str> = tables.iter().map(|t| t.name()).collect();
                return Err(DbError::Flush(format!(
                    "the SQLite WAL could not be checkpointed and truncated (a reader was busy); \
                     old images of {} stay in it until the next flush",
                    names.join(", ")
                )));
            }
        }
    }
    Ok(())
}

/// Waits until `VACUUM FULL` can drop the row versions deleted before this call, which takes two
/// things (see `GetOldestNonRemovableTransactionId` in PostgreSQL):
/// - every transaction of the whole cluster that had an id when this call began has ended: the
///   vacuum's own snapshot starts at the oldest running transaction id of *any* database, so a
///   long write in another database of the same server would make it keep every deleted row
///   (seen under load: all 180 old copies kept). `pg_current_snapshot()` shows them without
///   any privilege;
/// - every other session of this database that held a snapshot then has released it (or taken
///   a newer one). Sessions whose `backend_xmin` the role may not see (other roles' sessions
///   without `pg_read_all_stats`) are not waited for.
///
/// Fails with [`DbError::Flush`] after [`PG_SNAPSHOT_WAIT`] (a long transaction; the next round
/// tries again).
async fn wait_for_older_pg_snapshots(pool: &sqlx::PgPool) -> Result<()> {
    const OPEN_SNAPSHOTS: &str = "SELECT pid, backend_xmin::text FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
         AND backend_xmin IS NOT NULL";
    // Ids below `xmax` were assigned before this call; once `xmin` (the oldest id still
    // running, cluster-wide) reaches it, all of them have ended.
    const NEXT_ID: &str = "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint";
    const OLDEST_RUNNING: &str = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint";
    let (next_id,): (i64,) = sqlx::query_as(NEXT_ID).fetch_one(pool).await?;
    let older: Vec<(i32, String)> = sqlx::query_as(OPEN_SNAPSHOTS).fetch_all(pool).await?;
    let deadline = tokio::time::Instant::now() + PG_SNAPSHOT_WAIT;
    loop {
        let (oldest_running,): (i64,) = sqlx::query_as(OLDEST_RUNNING).fetch_one(pool).await?;
        let now: Vec<(i32, String)> = sqlx::query_as(OPEN_SNAPSHOTS).fetch_all(pool).await?;
        let waiting = older.iter().filter(|s| now.contains(s)).count();
        if waiting == 0 && oldest_running >= next_id {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(DbError::Flush(format!(
                "transactions older than the mix are still open on the server ({waiting} in \
                 this database): the old row versions they may see stay in the files until \
                 the next round"
            )));
        }
        tokio::time::sleep(PG_SNAPSHOT_POLL).await;
    }
}
