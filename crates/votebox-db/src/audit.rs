//! The audit chain's storage: `votebox_audit_event` (migration 0007), one hash-chained log per
//! election. The format and its verification are `votebox_core::audit`.
//!
//! [`append`] adds an entry after the current head in one transaction. The primary key
//! `(election_id, seq)` keeps the chain from forking when several instances append at once: of
//! two appends of the same `seq` only one commits, and the other starts again from the new head
//! (re-checking its [`AppendRule`] there, so "record once" events stay recorded once). Nothing
//! here ever updates or deletes an entry.

use sea_query::{Expr, ExprTrait, Order, Query};
use votebox_core::audit::{Entry, Event, EventKind, Head};

use crate::query::{Conn, is_unique_violation, ts_value};
use crate::schema::VoteboxAuditEvent as A;
use crate::{Db, DbError, ElectionId, Result, Timestamp};

/// How often [`append`] starts again after losing a race for the next `seq`.
const APPEND_ATTEMPTS: usize = 32;

/// When [`append`] records its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendRule {
    /// Every time (a request filed, an export made, results viewed).
    Always,
    /// Unless the latest entry of the same kind has the same detail (a meta commit that did not
    /// change the election's files).
    IfChanged,
    /// Unless the latest entry of one of these kinds is of the event's own kind: a state change
    /// recorded once per change however many instances observe it (voting opened / closed;
    /// `[DeleteAfterDone]` alone: once ever).
    OnTransition(&'static [EventKind]),
}

/// Appends `event` to the election's chain at `at` unless `rule` says it is recorded already.
/// Returns the new entry, or `None` when nothing was written. `key` is the election's key,
/// which every entry's hash covers.
pub async fn append(
    db: &Db,
    election_id: ElectionId,
    key: &str,
    at: Timestamp,
    event: &Event,
    rule: AppendRule,
) -> Result<Option<Entry>> {
    // Most calls find the event recorded already (every timer round, every sync): a plain read
    // answers them without taking a write lock.
    if let Some(kinds) = rule.kinds(event)
        && recorded(rule, event, latest(db, election_id, kinds).await?.as_ref())
    {
        return Ok(None);
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        match try_append(db, election_id, key, at, event, rule).await {
            Err(e) if is_lost_race(&e) && attempt < APPEND_ATTEMPTS => {
                tracing::debug!(%election_id, attempt, "audit append lost a race; retrying");
                tokio::task::yield_now().await;
            }
            other => return other,
        }
    }
}

impl AppendRule {
    /// The kinds whose latest entry decides whether `event` is recorded already.
    fn kinds<'a>(&self, event: &'a Event) -> Option<&'a [EventKind]> {
        match *self {
            AppendRule::Always => None,
            AppendRule::IfChanged => Some(std::slice::from_ref(&event.kind)),
            AppendRule::OnTransition(group) => Some(group),
        }
    }
}

/// Whether `last` (the latest entry of [`AppendRule::kinds`]) already records `event`.
fn recorded(rule: AppendRule, event: &Event, last: Option<&Entry>) -> bool {
    last.is_some_and(|last| {
        last.kind == event.kind.as_str()
            && (rule != AppendRule::IfChanged || last.detail == event.detail)
    })
}

/// A concurrent append took the same `seq` (or the engine gave up on the conflict).
fn is_lost_race(e: &DbError) -> bool {
    is_unique_violation(e)
        || matches!(e, DbError::Sqlx(sqlx::Error::Database(d))
            if d.code().is_some_and(|c| c == "40001" || c == "40P01"))
}

async fn try_append(
    db: &Db,
    election_id: ElectionId,
    key: &str,
    at: Timestamp,
    event: &Event,
    rule: AppendRule,
) -> Result<Option<Entry>> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    // The head first: under READ COMMITTED each statement sees what has committed when it
    // starts, so an entry committed after this read is either seen by the rule's read below or
    // holds the `seq` this append is about to take (the insert fails and we start again). Read
    // the other way round, an entry committed in between would be missed by the rule and this
    // one appended after it.
    let head = head_in(&mut conn, election_id).await?;
    if let Some(kinds) = rule.kinds(event)
        && recorded(
            rule,
            event,
            latest_in(&mut conn, election_id, kinds).await?.as_ref(),
        )
    {
        return Ok(None);
    }
    let entry = Entry::next(key, head.as_ref(), at, event);
    let backend = conn.backend();
    let insert = Query::insert()
        .into_table(A::Table)
        .columns([
            A::ElectionId,
            A::Seq,
            A::At,
            A::Kind,
            A::DetailJson,
            A::PrevHash,
            A::Hash,
        ])
        .values_panic([
            election_id.into(),
            entry.seq.into(),
            ts_value(backend, Some(entry.at)).into(),
            entry.kind.clone().into(),
            entry.detail.clone().into(),
            entry.prev_hash.clone().into(),
            entry.hash.clone().into(),
        ])
        .to_owned();
    conn.execute(&insert).await?;
    tx.commit().await?;
    Ok(Some(entry))
}

/// A stored row: seq, at, kind, detail_json, prev_hash, hash.
type Row = (i64, Timestamp, String, String, String, String);

fn entry(row: Row) -> Entry {
    let (seq, at, kind, detail, prev_hash, hash) = row;
    Entry {
        seq,
        at,
        kind,
        detail,
        prev_hash,
        hash,
    }
}

fn select_entries(election_id: ElectionId) -> sea_query::SelectStatement {
    Query::select()
        .columns([A::Seq, A::At, A::Kind, A::DetailJson, A::PrevHash, A::Hash])
        .from(A::Table)
        .and_where(Expr::col(A::ElectionId).eq(election_id))
        .to_owned()
}

/// Every entry of the election's chain, by `seq`.
pub async fn entries(db: &Db, election_id: ElectionId) -> Result<Vec<Entry>> {
    let stmt = select_entries(election_id)
        .order_by(A::Seq, Order::Asc)
        .to_owned();
    let rows: Vec<Row> = db.fetch_all(&stmt).await?;
    Ok(rows.into_iter().map(entry).collect())
}

/// The latest entry of one of `kinds` (highest `seq`), if any.
pub async fn latest(
    db: &Db,
    election_id: ElectionId,
    kinds: &[EventKind],
) -> Result<Option<Entry>> {
    latest_in(&mut db.acquire().await?.conn(), election_id, kinds).await
}

async fn latest_in(
    conn: &mut Conn<'_>,
    election_id: ElectionId,
    kinds: &[EventKind],
) -> Result<Option<Entry>> {
    let stmt = select_entries(election_id)
        .and_where(Expr::col(A::Kind).is_in(kinds.iter().map(|k| k.as_str())))
        .order_by(A::Seq, Order::Desc)
        .limit(1)
        .to_owned();
    Ok(conn.fetch_optional::<Row>(&stmt).await?.map(entry))
}

/// The chain's last entry as stored (`None` while empty). Not verified: see
/// `votebox_core::audit::verify`.
pub async fn head(db: &Db, election_id: ElectionId) -> Result<Option<Head>> {
    head_in(&mut db.acquire().await?.conn(), election_id).await
}

async fn head_in(conn: &mut Conn<'_>, election_id: ElectionId) -> Result<Option<Head>> {
    let stmt = Query::select()
        .columns([A::Seq, A::Hash])
        .from(A::Table)
        .and_where(Expr::col(A::ElectionId).eq(election_id))
        .order_by(A::Seq, Order::Desc)
        .limit(1)
        .to_owned();
    Ok(conn
        .fetch_optional::<(i64, String)>(&stmt)
        .await?
        .map(|(seq, hash)| Head { seq, hash }))
}
