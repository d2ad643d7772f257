//! One meta sync: fetch and parse the meta repository, bring the `election` table in line with
//! it, record the commit in the audit chains of the elections it changed, and conclude the
//! elections that ended (`delete_after`). A function of the database, the
//! meta repository, the snapshot being served and the time, so that `votebox sync` runs it
//! without a web server and the server (start-up, periodic resync, webhook) runs the same code
//! before serving the new snapshot.

use std::fmt;

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

/// Fetches and parses the meta repository and syncs the database with it. `current` is the
/// snapshot being served (`None` when nothing is served yet): a new commit without any valid
/// election does not replace one that has some. Failures are logged and counted in the metrics.
pub async fn sync(
    db: &Db,
    meta: &MetaRepo,
    current: Option<&Snapshot>,
    now: PrimitiveDateTime,
) -> Result<Synced, SyncError> {
    let result = sync_unrecorded(db, meta, current, now).await;
    record_meta_sync(match &result {
        Ok(_) => SyncResult::Ok,
        Err(SyncError::Git(_)) => SyncResult::GitError,
        Err(SyncError::Rejected { .. }) => SyncResult::Rejected,
        Err(SyncError::Db(_)) => SyncResult::DbError,
    });
    if let Err(e) = &result {
        tracing::error!(error = %e, "meta sync failed; still serving the previous snapshot");
    }
    result
}

async fn sync_unrecorded(
    db: &Db,
    meta: &MetaRepo,
    current: Option<&Snapshot>,
    now: PrimitiveDateTime,
) -> Result<Synced, SyncError> {
    let snapshot = meta.load().await?;
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
