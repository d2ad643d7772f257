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
            let digest = current_ballots(db, election_id).await?;
            let event = Event::voting_closed(election.end, &digest);
            if let Some(e) = store::append(db, election_id, key, now, &event, rule).await? {
                let ballots = digest.ballots;
                tracing::info!(election = %key, seq = e.seq, ballots, "audit: voting closed");
            }
        }
    }
    Ok(())
}

/// The count and digest of the election's ballots as stored now.
pub(crate) async fn current_ballots(
    db: &Db,
    election_id: ElectionId,
) -> Result<BallotsDigest, DbError> {
    let rows = votebox_db::ballots::all_for_election(db, election_id).await?;
    Ok(digest_rows(&rows))
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
    pub ballots_now: BallotsDigest,
}

impl AuditCheck {
    /// Reads and verifies the chain; `ballots_now` is the digest of the stored ballots.
    pub async fn load(
        db: &Db,
        election_id: ElectionId,
        key: &str,
        ballots_now: BallotsDigest,
    ) -> Result<AuditCheck, DbError> {
        let entries = store::entries(db, election_id).await?;
        let verified = audit::verify(key, &entries);
        let closed = audit::last_close(&entries).cloned();
        Ok(AuditCheck {
            entries,
            verified,
            closed,
            ballots_now,
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
            let now = &self.ballots_now;
            match self.ballots_at_close() {
                Some((_, sha)) if sha == now.sha256 => {}
                Some((n, sha)) => out.push(format!(
                    "The ballots in the database are not those recorded when voting closed \
                     (audit entry {}, {}): then {n} ballots, SHA-256 {sha}; now {} ballots, \
                     SHA-256 {}. Ballots were changed, added or removed after the election ended.",
                    closed.seq,
                    audit::format_at(closed.at),
                    now.ballots,
                    now.sha256
                )),
                None => out.push(format!(
                    "Audit entry {} (voting closed) has no ballot count or digest.",
                    closed.seq
                )),
            }
        }
        out
    }
}
