//! The audit chain as the server keeps it (format: [`votebox_core::audit`], storage:
//! [`votebox_db::audit`]): what is recorded when, and the check the officer pages show.
//!
//! * After every meta sync, one `meta_synced` entry per election whose files changed.
//! * On every secrecy-timer round, after every sync and before the officer results pages,
//!   [`observe`] records a state change of voting the first time any instance sees it:
//!   `voting_opened` while running, `voting_closed` (with the count and digest of the ballots)
//!   once the election has been over for [`CLOSE_SETTLE`]. An entry's `at` is when votebox saw
//!   the change, not when it happened (that is the `start`/`end` in its detail); with no
//!   instance running it is recorded late. Idempotent across instances through
//!   [`AppendRule::OnTransition`] and the table's primary key.
//! * The handlers record exception requests, exports, results views and conclusions.
//!
//! Nothing is recorded per ballot cast or revoked.

use std::collections::HashMap;
use std::time::Duration;

use time::PrimitiveDateTime;
use votebox_core::audit::{
    self, BallotsDigest, BrokenLink, Entry, Event, EventKind, Head, ballots_digest,
};
use votebox_core::meta::{Catalog, Election, Status};
use votebox_core::results::StoredBallots;
use votebox_core::verify::Board;
use votebox_db::audit::{self as store, AppendRule};
use votebox_db::{Db, DbError, ElectionId};

/// How long after `end_datetime` the ballots are counted for `voting_closed`: a cast whose
/// checks passed just before the end may still be committing.
pub(crate) const CLOSE_SETTLE: Duration = Duration::from_secs(60);

/// The state changes of voting, for [`AppendRule::OnTransition`].
const OPEN_CLOSE: &[EventKind] = &[EventKind::VotingOpened, EventKind::VotingClosed];

/// Appends `event` unconditionally; a failure is logged, not returned (the action it records
/// has already happened).
pub(crate) async fn record(
    db: &Db,
    election_id: ElectionId,
    key: &str,
    now: PrimitiveDateTime,
    event: Event,
) {
    if let Err(e) = store::append(db, election_id, key, now, &event, AppendRule::Always).await {
        tracing::error!(election = key, kind = %event.kind, error = %e, "cannot record the audit event");
    }
}

/// Records a board served, unless it is the one recorded last (so a public board viewed by
/// anyone adds an entry only when its ballots or settings changed). Failures are logged.
pub(crate) async fn record_board(
    db: &Db,
    election_id: ElectionId,
    key: &str,
    now: PrimitiveDateTime,
    board_sha256: &str,
) {
    let event = Event::board_made(board_sha256);
    if let Err(e) = store::append(db, election_id, key, now, &event, AppendRule::IfChanged).await {
        tracing::error!(election = key, error = %e, "cannot record the board in the audit chain");
    }
}

/// Records the meta commit for every election whose files differ from the last recorded ones,
/// then observes every election. Failures are logged.
pub(crate) async fn record_sync(db: &Db, catalog: &Catalog, commit: &str, now: PrimitiveDateTime) {
    let ids = match election_ids(db).await {
        Ok(ids) => ids,
        Err(e) => {
            tracing::error!(error = %e, "cannot record the meta commit in the audit chains");
            return;
        }
    };
    for e in catalog.elections() {
        let Some(&id) = ids.get(&e.key) else { continue };
        let event = Event::meta_synced(commit, &e.files_sha256);
        if let Err(err) = store::append(db, id, &e.key, now, &event, AppendRule::IfChanged).await {
            tracing::error!(election = %e.key, error = %err, "cannot record the meta commit");
        }
    }
    observe_all(db, catalog, now).await;
}

/// [`observe`] for every election of the catalog that is in the database. Failures are logged.
pub(crate) async fn observe_all(db: &Db, catalog: &Catalog, now: PrimitiveDateTime) {
    let ids = match election_ids(db).await {
        Ok(ids) => ids,
        Err(e) => {
            tracing::error!(error = %e, "cannot observe the elections for the audit chains");
            return;
        }
    };
    for e in catalog.elections() {
        if let Some(&id) = ids.get(&e.key)
            && let Err(err) = observe(db, e, id, now).await
        {
            tracing::error!(election = %e.key, error = %err, "cannot record voting opened/closed");
        }
    }
}

async fn election_ids(db: &Db) -> Result<HashMap<String, ElectionId>, DbError> {
    let rows = votebox_db::elections::list(db).await?;
    Ok(rows.into_iter().map(|r| (r.key, r.id)).collect())
}

/// Records that voting is open or closed, unless the chain already says so (see the module
/// docs). The ballots are read only when a close is to be recorded.
pub(crate) async fn observe(
    db: &Db,
    election: &Election,
    election_id: ElectionId,
    now: PrimitiveDateTime,
) -> Result<(), DbError> {
    let key = &election.key;
    let rule = AppendRule::OnTransition(OPEN_CLOSE);
    match election.status(now) {
        Status::Upcoming => {}
        Status::Running => {
            let event = Event::voting_opened(election.start);
            if let Some(e) = store::append(db, election_id, key, now, &event, rule).await? {
                tracing::info!(election = %key, seq = e.seq, "audit: voting opened");
            }
        }
        Status::Completed => {
            if now < election.end + CLOSE_SETTLE {
                return Ok(());
            }
            let last = store::latest(db, election_id, OPEN_CLOSE).await?;
            if last.is_some_and(|l| l.event_kind() == Some(EventKind::VotingClosed)) {
                return Ok(());
            }
            let current = Current::read(db, election, election_id).await?;
            let event = Event::voting_closed(election.end, &current.ballots, &current.board_sha256);
            if let Some(e) = store::append(db, election_id, key, now, &event, rule).await? {
                let ballots = current.ballots.ballots;
                tracing::info!(election = %key, seq = e.seq, ballots, "audit: voting closed");
            }
        }
    }
    Ok(())
}

/// The election's ballots as stored now: their count and digest, and their board's SHA-256.
#[derive(Debug, Clone)]
pub(crate) struct Current {
    pub ballots: BallotsDigest,
    pub board_sha256: String,
}

impl Current {
    /// From the ballot rows (`ballots::all_for_election`) and the election's stored ballots.
    pub fn of(
        election: &Election,
        rows: &[(String, String, Option<i32>)],
        stored: &StoredBallots,
    ) -> Current {
        Current {
            ballots: digest_rows(rows),
            board_sha256: Board::new(election, stored).sha256(),
        }
    }

    /// Reads the ballots from the database.
    pub async fn read(
        db: &Db,
        election: &Election,
        election_id: ElectionId,
    ) -> Result<Current, DbError> {
        let rows = votebox_db::ballots::all_for_election(db, election_id).await?;
        let ids: Vec<String> = election.candidates.iter().map(|c| c.id.clone()).collect();
        let stored = StoredBallots::from_rows(
            &ids,
            rows.iter()
                .map(|(v, c, r)| (v.as_str(), c.as_str(), r.map(i64::from))),
        );
        Ok(Current::of(election, &rows, &stored))
    }
}

/// [`ballots_digest`] of `(voter, candidate, rank)` rows as `ballots::all_for_election` reads them.
pub(crate) fn digest_rows(rows: &[(String, String, Option<i32>)]) -> BallotsDigest {
    ballots_digest(
        rows.iter()
            .map(|(v, c, r)| (v.as_str(), c.as_str(), r.map(i64::from))),
    )
}

/// What the chain says about an election now: is it intact, and are the ballots still those
/// recorded when voting closed.
#[derive(Debug, Clone)]
pub(crate) struct AuditCheck {
    pub entries: Vec<Entry>,
    /// The verified head (`None`: empty chain), or the first broken link.
    pub verified: Result<Option<Head>, BrokenLink>,
    /// The latest `voting_closed`, when voting is closed as far as the chain knows.
    pub closed: Option<Entry>,
    pub now: Current,
}

impl AuditCheck {
    /// Reads and verifies the chain; `now` describes the ballots stored now.
    pub async fn load(
        db: &Db,
        election_id: ElectionId,
        key: &str,
        now: Current,
    ) -> Result<AuditCheck, DbError> {
        let entries = store::entries(db, election_id).await?;
        let verified = audit::verify(key, &entries);
        let closed = audit::last_close(&entries).cloned();
        Ok(AuditCheck {
            entries,
            verified,
            closed,
            now,
        })
    }

    /// The head of an intact chain.
    pub fn head(&self) -> Option<&Head> {
        self.verified.as_ref().ok().and_then(Option::as_ref)
    }

    /// `(ballots, SHA-256)` recorded at close.
    pub fn ballots_at_close(&self) -> Option<(u64, String)> {
        let d = self.closed.as_ref()?.recorded_ballots()?;
        Some((d.ballots, d.sha256))
    }

    /// The board's SHA-256 recorded at close.
    pub fn board_at_close(&self) -> Option<String> {
        self.closed.as_ref()?.recorded_board_sha256()
    }

    /// The chain verifies, and the ballots and their board are those recorded at close.
    pub fn intact_since_close(&self) -> bool {
        self.head().is_some()
            && self
                .ballots_at_close()
                .is_some_and(|(_, sha)| sha == self.now.ballots.sha256)
            && self.board_at_close() == Some(self.now.board_sha256.clone())
    }

    /// What the officers must be warned of: a broken chain, ballots that differ from those
    /// recorded at close.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Err(broken) = &self.verified {
            out.push(format!(
                "The audit log does not verify: {broken}. Someone changed the log in the database."
            ));
        }
        if let Some(closed) = &self.closed {
            let now = &self.now.ballots;
            let ballots_same = match self.ballots_at_close() {
                Some((_, sha)) if sha == now.sha256 => true,
                Some((n, sha)) => {
                    out.push(format!(
                        "The ballots in the database are not those recorded when voting closed \
                     (audit entry {}, {}): then {n} ballots, SHA-256 {sha}; now {} ballots, \
                     SHA-256 {}. Ballots were changed, added or removed after the election ended.",
                        closed.seq,
                        audit::format_at(closed.at),
                        now.ballots,
                        now.sha256
                    ));
                    false
                }
                None => {
                    out.push(format!(
                        "Audit entry {} (voting closed) has no ballot count or digest.",
                        closed.seq
                    ));
                    false
                }
            };
            let board_now = &self.now.board_sha256;
            match self.board_at_close() {
                Some(then) if then == *board_now => {}
                Some(then) => out.push(format!(
                    "The ballot board's SHA-256 is not the one recorded when voting closed (audit \
                     entry {}): then {then}, now {board_now}.{}",
                    closed.seq,
                    if ballots_same {
                        " The ballots are unchanged: the election's counting settings or \
                         candidates in the meta repository changed since."
                    } else {
                        ""
                    }
                )),
                None => out.push(format!(
                    "Audit entry {} (voting closed) has no board SHA-256.",
                    closed.seq
                )),
            }
        }
        out
    }
}
