//! One meta sync: fetch and parse the meta repository, bring the `election` table in line with
//! it, record the commit in the audit chains of the elections it changed, conclude the
//! elections that ended (`delete_after`) and publish the commit to the other instances. A
//! function of the database, the meta repository, the snapshot being served and the time, so
//! that `votebox sync` runs it without a web server and the server (start-up, periodic resync,
//! webhook) runs the same code before serving the new snapshot.
//!
//! Several instances on one database: a sync runs under the database lease [`FETCH_LEASE`], so
//! one instance at a time fetches; it then stores the commit and its files in
//! `votebox_meta_snapshot` ([`votebox_db::meta_snapshots`]), from which every other instance
//! picks it up within [`crate::instances::FOLLOW_INTERVAL`] without contacting the remote.

use std::fmt;

use std::time::Duration;

use time::PrimitiveDateTime;
use votebox_core::meta::BrokenElection;
use votebox_db::Db;
use votebox_db::elections::SyncReport;
use votebox_meta::{GitError, MetaRepo, Snapshot};

use crate::metrics::{SyncResult, record_meta_sync};

/// A sync that succeeded: what it did, and the snapshot to serve from now on.
pub struct Synced {
    pub outcome: SyncOutcome,
    pub snapshot: Snapshot,
}

/// What one sync did; `Display` is the sync log (Elekto-like lines).
#[derive(Debug, Clone)]
pub struct SyncOutcome {
    /// The meta commit now being served.
    pub commit: String,
    /// The database changes.
    pub report: SyncReport,
    /// (key, name) of every election added to the database.
    pub added: Vec<(String, String)>,
    /// Elections whose files could not be parsed (kept out of the database sync).
    pub broken: Vec<BrokenElection>,
}

/// Why a sync failed. The previous snapshot keeps being served.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("could not update the meta repository: {0}")]
    Git(#[from] GitError),
    #[error("could not sync the elections into the database: {0}")]
    Db(#[from] votebox_db::DbError),
    /// Another instance held the fetch lease for longer than a sync may wait.
    #[error(
        "another instance ({holder}) has been fetching the meta repository for {waited:?}; not fetching at the same time"
    )]
    Busy { holder: String, waited: Duration },
    /// The new commit has no election that parses while the one served has some (an emptied or
    /// garbage tree, e.g. a bad force-push): refused, the last good snapshot keeps serving.
    #[error(
        "meta commit {commit} has no valid election ({broken} broken) while the served commit has {served}; refusing it and still serving the previous snapshot"
    )]
    Rejected {
        commit: String,
        broken: usize,
        served: usize,
    },
}

/// The lease held while fetching the meta repository and publishing what was fetched.
pub const FETCH_LEASE: &str = "meta-fetch";
/// How long the fetch lease lasts without being extended (its holder extends it every third).
const FETCH_LEASE_TTL: Duration = Duration::from_secs(30);
/// How often a sync waiting for the fetch lease looks again.
const FETCH_LEASE_POLL: Duration = Duration::from_millis(200);

/// Fetches and parses the meta repository, syncs the database with it and publishes it to the
/// other instances, holding the fetch lease as `holder` (an instance id) for all of it. `current`
/// is the snapshot being served (`None` when nothing is served yet): a new commit without any
/// valid election does not replace one that has some. Failures are logged and counted in the
/// metrics.
pub async fn sync(
    db: &Db,
    meta: &MetaRepo,
    holder: &str,
    current: Option<&Snapshot>,
    now: PrimitiveDateTime,
) -> Result<Synced, SyncError> {
    let result = sync_leased(db, meta, holder, current, now).await;
    record_meta_sync(match &result {
        Ok(_) => SyncResult::Ok,
        Err(SyncError::Git(_)) => SyncResult::GitError,
        Err(SyncError::Rejected { .. }) => SyncResult::Rejected,
        Err(SyncError::Db(_) | SyncError::Busy { .. }) => SyncResult::DbError,
    });
    if let Err(e) = &result {
        tracing::error!(error = %e, "meta sync failed; still serving the previous snapshot");
    }
    result
}

async fn sync_leased(
    db: &Db,
    meta: &MetaRepo,
    holder: &str,
    current: Option<&Snapshot>,
    now: PrimitiveDateTime,
) -> Result<Synced, SyncError> {
    // As long as a fetch may take, and then some: a fetch that began before the push this sync
    // answers must finish, and this one fetch again after it.
    let wait = meta.timeout() * 3;
    let Some(lease) = votebox_db::leases::hold(
        db,
        FETCH_LEASE,
        holder,
        FETCH_LEASE_TTL,
        wait,
        FETCH_LEASE_POLL,
    )
    .await?
    else {
        let holder = votebox_db::leases::holder(db, FETCH_LEASE)
            .await?
            .map_or_else(String::new, |(holder, _)| holder);
        return Err(SyncError::Busy {
            holder,
            waited: wait,
        });
    };
    let synced = sync_unrecorded(db, meta, current, now).await;
    if let Err(e) = lease.release().await {
        tracing::warn!(error = %e, "cannot release the meta fetch lease; it expires by itself");
    }
    synced
}

async fn sync_unrecorded(
    db: &Db,
    meta: &MetaRepo,
    current: Option<&Snapshot>,
    now: PrimitiveDateTime,
) -> Result<Synced, SyncError> {
    let (commit, files) = meta.fetch_files().await?;
    let archive = votebox_meta::archive::pack(&files);
    let snapshot = meta.parse(commit, files).await;
    if let Some(current) = current {
        let served = current.catalog.elections().count();
        if served > 0
            && snapshot.commit != current.commit
            && snapshot.catalog.elections().next().is_none()
        {
            return Err(SyncError::Rejected {
                commit: snapshot.commit.clone(),
                broken: snapshot.catalog.broken().count(),
                served,
            });
        }
    }
    let pairs: Vec<(String, String)> = snapshot
        .catalog
        .elections()
        .map(|e| (e.key.clone(), e.name.clone()))
        .collect();
    let report = votebox_db::elections::sync(db, &pairs).await?;
    let added = report
        .added
        .iter()
        .map(|key| {
            let name = pairs
                .iter()
                .find(|(k, _)| k == key)
                .map_or_else(|| key.clone(), |(_, n)| n.clone());
            (key.clone(), name)
        })
        .collect();
    for o in &report.orphaned {
        tracing::warn!(
            key = %o.key,
            voters = o.voters,
            ballots = o.ballots,
            requests = o.requests,
            "election directory gone from the meta; database rows kept"
        );
    }
    let outcome = SyncOutcome {
        commit: snapshot.commit.clone(),
        report,
        added,
        broken: snapshot.catalog.broken().cloned().collect(),
    };
    crate::audit::record_sync(db, &snapshot.catalog, &snapshot.commit, now).await;
    crate::delete_after::conclude_ended_elections(db, &snapshot.catalog, now).await;
    publish(db, meta, &snapshot.commit, archive).await;
    Ok(Synced { outcome, snapshot })
}

impl fmt::Display for SyncOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "---------------------*=  Syncing started =*----------------------"
        )?;
        writeln!(f)?;
        writeln!(f, " * meta commit {}", self.commit)?;
        for (_, name) in &self.added {
            writeln!(f, " + {name} added in the database.")?;
        }
        for key in &self.report.renamed {
            writeln!(f, " ~ {key} renamed in the database.")?;
        }
        for o in &self.report.orphaned {
            writeln!(
                f,
                " ! {} kept: directory gone, {} voters/{} ballots/{} requests kept (remove with `votebox prune-orphan {}`)",
                o.key, o.voters, o.ballots, o.requests, o.key
            )?;
        }
        for b in &self.broken {
            writeln!(f, " x {}", b.error)?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "---------------------*= Syncing completed *=--------------------"
        )
    }
}

/// Stores the commit and its files for the other instances. A failure is logged, not fatal:
/// this instance serves the commit anyway, the others at the next sync that publishes.
async fn publish(
    db: &Db,
    meta: &MetaRepo,
    commit: &str,
    archive: Result<Vec<u8>, votebox_meta::archive::ArchiveError>,
) {
    let published = match archive {
        Ok(archive) => votebox_db::meta_snapshots::publish(db, &meta.source_id(), commit, &archive)
            .await
            .map(|()| archive.len())
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match published {
        Ok(bytes) => tracing::debug!(
            commit,
            bytes,
            "meta commit published to the other instances"
        ),
        Err(error) => tracing::error!(
            commit,
            %error,
            "cannot publish the meta commit in the database: other instances keep serving their commit until a later sync publishes one"
        ),
    }
}
