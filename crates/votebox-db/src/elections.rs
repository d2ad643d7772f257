//! The `election` table: one row per meta election key, kept in step by sync.
//!
//! Unlike Elekto, sync never deletes: an election whose key disappeared from the meta repository
//! (a renamed or moved directory) keeps its row, voters, ballots and requests, is reported as an
//! orphan, and its first sighting is recorded in `votebox_election_state.orphaned_at`. Only
//! [`delete_orphan`], called by an explicit operator command, removes it.

use std::collections::{HashMap, HashSet};

use sea_query::{Asterisk, Expr, ExprTrait, IntoIden, OnConflict, Order, Query, SelectStatement};

use crate::ElectionId;
use crate::query::{Conn, is_unique_violation, ts_value};
use crate::schema::{Ballot, Election, Request, VoteboxAuditEvent, VoteboxElectionState, Voter};
use crate::{Db, Result, Timestamp, utc_now};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ElectionRow {
    pub id: ElectionId,
    pub key: String,
    pub name: Option<String>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
}

/// What a sync changed. Rows whose key vanished from the meta are never deleted here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Keys inserted.
    pub added: Vec<String>,
    /// Keys whose name changed.
    pub renamed: Vec<String>,
    /// Keys in the database but no longer in the meta (kept, with their data).
    pub orphaned: Vec<OrphanInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrphanInfo {
    pub key: String,
    pub voters: i64,
    pub ballots: i64,
    pub requests: i64,
    /// When a sync first found this key missing from the meta (kept across syncs; cleared when
    /// the key comes back). `None` only for rows orphaned before votebox ran migration 0002.
    pub orphaned_since: Option<Timestamp>,
}

fn select_elections() -> SelectStatement {
    Query::select()
        .columns([
            Election::Id,
            Election::Key,
            Election::Name,
            Election::CreatedAt,
            Election::UpdatedAt,
        ])
        .from(Election::Table)
        .order_by(Election::Id, Order::Asc)
        .to_owned()
}

/// Inserts new keys and updates names, in one transaction. `meta` is (key, name) of every parsed election.
///
/// - A key in `meta` without a row is inserted (`created_at = updated_at = now`, as Elekto).
/// - A row whose name differs gets the new name (`updated_at` untouched, as Elekto).
/// - A row whose key is not in `meta` is reported in [`SyncReport::orphaned`] with the number of
///   voter, ballot and request rows that hang off it; nothing of it is deleted.
///
/// Keys are compared exactly (case-sensitively). If `meta` lists a key twice, the first wins.
/// Two syncs at once are safe: a sync that loses an insert race is retried once.
pub async fn sync(db: &Db, meta: &[(String, String)]) -> Result<SyncReport> {
    match sync_once(db, meta).await {
        Err(e) if is_unique_violation(&e) => {
            tracing::debug!("election sync raced with another sync; retrying once");
            sync_once(db, meta).await
        }
        other => other,
    }
}

async fn sync_once(db: &Db, meta: &[(String, String)]) -> Result<SyncReport> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let backend = conn.backend();
    let now = Some(utc_now());

    let existing: Vec<ElectionRow> = conn.fetch_all(&select_elections()).await?;
    let by_key: HashMap<&str, &ElectionRow> =
        existing.iter().map(|r| (r.key.as_str(), r)).collect();

    let mut report = SyncReport::default();
    let mut in_meta: HashSet<&str> = HashSet::new();
    for (key, name) in meta {
        if !in_meta.insert(key.as_str()) {
            continue;
        }
        match by_key.get(key.as_str()) {
            Some(row) if row.name.as_deref() == Some(name.as_str()) => {}
            Some(row) => {
                let stmt = Query::update()
                    .table(Election::Table)
                    .value(Election::Name, name.as_str())
                    .and_where(Expr::col(Election::Id).eq(row.id))
                    .to_owned();
                conn.execute(&stmt).await?;
                report.renamed.push(key.clone());
            }
            None => {
                let stmt = Query::insert()
                    .into_table(Election::Table)
                    .columns([
                        Election::Key,
                        Election::Name,
                        Election::CreatedAt,
                        Election::UpdatedAt,
                    ])
                    .values_panic([
                        key.as_str().into(),
                        name.as_str().into(),
                        ts_value(backend, now).into(),
                        ts_value(backend, now).into(),
                    ])
                    .to_owned();
                conn.execute(&stmt).await?;
                report.added.push(key.clone());
            }
        }
    }

    let orphans: Vec<&ElectionRow> = existing
        .iter()
        .filter(|r| !in_meta.contains(r.key.as_str()))
        .collect();
    let orphan_ids: Vec<ElectionId> = orphans.iter().map(|r| r.id).collect();
    let voters = count_by_election(&mut conn, Voter::Table, &orphan_ids).await?;
    let ballots = count_by_election(&mut conn, Ballot::Table, &orphan_ids).await?;
    let requests = count_by_election(&mut conn, Request::Table, &orphan_ids).await?;

    // votebox_election_state.orphaned_at: set on first sighting, cleared when the key is back.
    let states: HashMap<ElectionId, Option<Timestamp>> = conn
        .fetch_all::<(ElectionId, Option<Timestamp>)>(
            &Query::select()
                .columns([
                    VoteboxElectionState::ElectionId,
                    VoteboxElectionState::OrphanedAt,
                ])
                .from(VoteboxElectionState::Table)
                .to_owned(),
        )
        .await?
        .into_iter()
        .collect();
    for row in &existing {
        let orphaned = !in_meta.contains(row.key.as_str());
        let stored = states.get(&row.id);
        let set_to = match (orphaned, stored) {
            (true, None) => {
                let stmt = Query::insert()
                    .into_table(VoteboxElectionState::Table)
                    .columns([
                        VoteboxElectionState::ElectionId,
                        VoteboxElectionState::OrphanedAt,
                    ])
                    .values_panic([row.id.into(), ts_value(backend, now).into()])
                    .on_conflict(
                        OnConflict::column(VoteboxElectionState::ElectionId)
                            .do_nothing_on([VoteboxElectionState::ElectionId])
                            .to_owned(),
                    )
                    .to_owned();
                conn.execute(&stmt).await?;
                continue;
            }
            (true, Some(None)) => now,
            (false, Some(Some(_))) => None,
            _ => continue,
        };
        let stmt = Query::update()
            .table(VoteboxElectionState::Table)
            .value(VoteboxElectionState::OrphanedAt, ts_value(backend, set_to))
            .and_where(Expr::col(VoteboxElectionState::ElectionId).eq(row.id))
            .to_owned();
        conn.execute(&stmt).await?;
    }

    report.orphaned = orphans
        .iter()
        .map(|r| OrphanInfo {
            key: r.key.clone(),
            voters: voters.get(&r.id).copied().unwrap_or(0),
            ballots: ballots.get(&r.id).copied().unwrap_or(0),
            requests: requests.get(&r.id).copied().unwrap_or(0),
            orphaned_since: match states.get(&r.id) {
                Some(Some(t)) => Some(*t),
                _ => now,
            },
        })
        .collect();

    tx.commit().await?;
    if !report.added.is_empty() || !report.renamed.is_empty() || !report.orphaned.is_empty() {
        tracing::info!(
            added = ?report.added,
            renamed = ?report.renamed,
            orphaned = ?report.orphaned.iter().map(|o| &o.key).collect::<Vec<_>>(),
            "elections synced"
        );
    }
    Ok(report)
}

/// `election_id -> COUNT(*)` in `table` for the given ids (absent: zero rows).
async fn count_by_election(
    conn: &mut Conn<'_>,
    table: impl IntoIden,
    ids: &[ElectionId],
) -> Result<HashMap<ElectionId, i64>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    // voter, ballot and request all call the column `election_id`.
    let col = Voter::ElectionId;
    let stmt = Query::select()
        .column(col)
        .expr(Expr::col(Asterisk).count())
        .from(table)
        .and_where(Expr::col(col).is_in(ids.iter().copied()))
        .group_by_col(col)
        .to_owned();
    Ok(conn
        .fetch_all::<(ElectionId, i64)>(&stmt)
        .await?
        .into_iter()
        .collect())
}

pub async fn list(db: &Db) -> Result<Vec<ElectionRow>> {
    db.fetch_all(&select_elections()).await
}

/// The row with exactly this key (case-sensitive on every engine, although MySQL's collation
/// compares case-insensitively).
pub async fn find_by_key(db: &Db, key: &str) -> Result<Option<ElectionRow>> {
    let mut conn = db.acquire().await?;
    find_by_key_in(&mut conn.conn(), key).await
}

async fn find_by_key_in(conn: &mut Conn<'_>, key: &str) -> Result<Option<ElectionRow>> {
    let stmt = select_elections()
        .and_where(Expr::col(Election::Key).eq(key))
        .to_owned();
    let rows: Vec<ElectionRow> = conn.fetch_all(&stmt).await?;
    Ok(rows.into_iter().find(|r| r.key == key))
}

/// Deletes an orphaned election row and everything that hangs off it (voters, ballots, requests).
/// Only an explicit operator command calls this. Refuses (Ok(false)) when `key` is in `meta_keys`.
///
/// Returns Ok(false) too when no election has this key. The child rows are deleted explicitly
/// (not left to ON DELETE CASCADE), since legacy SQLite databases were written without foreign
/// key enforcement; all in one transaction.
pub async fn delete_orphan(db: &Db, key: &str, meta_keys: &[String]) -> Result<bool> {
    if meta_keys.iter().any(|k| k == key) {
        return Ok(false);
    }
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let Some(row) = find_by_key_in(&mut conn, key).await? else {
        return Ok(false);
    };
    let mut deleted = Vec::new();
    for (table, col) in [
        (Voter::Table.into_iden(), Voter::ElectionId.into_iden()),
        (Ballot::Table.into_iden(), Ballot::ElectionId.into_iden()),
        (Request::Table.into_iden(), Request::ElectionId.into_iden()),
        (
            VoteboxElectionState::Table.into_iden(),
            VoteboxElectionState::ElectionId.into_iden(),
        ),
        (
            VoteboxAuditEvent::Table.into_iden(),
            VoteboxAuditEvent::ElectionId.into_iden(),
        ),
        (Election::Table.into_iden(), Election::Id.into_iden()),
    ] {
        let name = table.to_string();
        let stmt = Query::delete()
            .from_table(table)
            .and_where(Expr::col(col).eq(row.id))
            .to_owned();
        deleted.push((name, conn.execute(&stmt).await?.rows_affected));
    }
    tx.commit().await?;
    tracing::warn!(key, id = %row.id, ?deleted, "orphaned election deleted");
    Ok(true)
}
