//! Several instances on one database (PostgreSQL or MySQL/MariaDB; SQLite is one instance).
//!
//! * **One fetch, everyone updated.** A sync (start-up, webhook, periodic) fetches under the
//!   database lease `meta-fetch` and publishes the commit with its files
//!   ([`crate::meta_sync`]). Every instance looks at the published commit id every
//!   [`FOLLOW_INTERVAL`] (one primary-key lookup) and, when it changed, installs the published
//!   files without contacting the git remote ([`AppState::follow_published`]).
//! * **Periodic work once.** The periodic meta sync and the secrecy timer (ballot mix,
//!   `delete_after` conclusion) run on the instance holding their lease
//!   ([`AppState::take_periodic_lease`]); it keeps the lease while it keeps running the job, and
//!   another instance takes over when it stops (killed, stopped) for two periods.
//! * **Per-user limits everywhere.** A user's one KDF in progress and their passphrase attempts
//!   are rows in the database ([`votebox_db::user_limits`]); this instance extends its claims
//!   every [`CLAIM_EXTEND_EVERY`] ticks, so a killed instance's claims lapse after [`CLAIM_TTL`].
//!
//! Sessions need nothing here: the session is an encrypted cookie (same `APP_KEY` everywhere)
//! and logout's session generation is in the database.

use std::time::Duration;

use crate::app::AppState;

/// How often an instance looks for a meta commit published by another.
pub const FOLLOW_INTERVAL: Duration = Duration::from_secs(1);
/// How long a KDF claim lasts without being extended.
pub(crate) const CLAIM_TTL: Duration = Duration::from_secs(15);
/// Follow ticks between two extensions of this instance's KDF claims (5 s).
const CLAIM_EXTEND_EVERY: u32 = 5;

/// A process id for leases and claims: the host name (the pod's, in Kubernetes) and 64 random
/// bits, at most 64 characters.
pub(crate) fn new_instance_id() -> String {
    let host: String = std::env::var("HOSTNAME")
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .take(40)
        .collect();
    let random: u64 = rand::random();
    if host.is_empty() {
        format!("{random:016x}")
    } else {
        format!("{host}-{random:016x}")
    }
}

impl AppState {
    /// Looks at the meta commit published in the database and serves it when it is new
    /// (another instance fetched it). `Ok(true)`: a new snapshot was installed. Skipped while
    /// this instance is syncing itself.
    pub async fn follow_published(&self) -> anyhow::Result<bool> {
        use anyhow::Context as _;
        let source = self.meta().source_id();
        let Some((commit, published_at)) =
            votebox_db::meta_snapshots::published_commit(self.db(), &source).await?
        else {
            return Ok(false);
        };
        crate::metrics::note_meta_synced_at(published_at.assume_utc().unix_timestamp());
        if self.seen_published().as_deref() == Some(commit.as_str()) {
            return Ok(false);
        }
        let Some(_slot) = self.try_sync_slot() else {
            return Ok(false);
        };
        if self.snapshot().is_some_and(|s| s.commit == commit) {
            self.note_published(&commit);
            return Ok(false);
        }
        let Some(published) = votebox_db::meta_snapshots::load(self.db(), &source).await? else {
            return Ok(false);
        };
        let commit = published.commit_id.clone();
        let snapshot = self
            .meta()
            .parse_archive(published.commit_id, published.files)
            .await
            .with_context(|| format!("meta commit {commit} published in the database"))?;
        self.note_published(&commit);
        tracing::info!(commit, "meta commit published by another instance");
        self.install_snapshot(snapshot);
        Ok(true)
    }

    /// Takes or keeps the lease of a job run every `interval` on one instance. `true`: run it
    /// now. The holder keeps it by running the job; others get it after two missed periods.
    pub async fn take_periodic_lease(&self, name: &str, interval: Duration) -> bool {
        let ttl = interval * 2 + Duration::from_secs(5);
        match votebox_db::leases::try_take(self.db(), name, self.instance_id(), ttl).await {
            Ok(taken) => taken,
            Err(e) => {
                tracing::warn!(lease = name, error = %e, "cannot take a job's lease; skipping this round");
                false
            }
        }
    }
}

/// Follows the published meta commit every [`FOLLOW_INTERVAL`] and extends this instance's KDF
/// claims, until the task is aborted.
pub fn spawn_instance_tasks(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(FOLLOW_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ticks = 0u32;
        loop {
            tick.tick().await;
            if let Err(e) = state.follow_published().await {
                tracing::warn!(error = %format!("{e:#}"), "cannot follow the published meta commit");
            }
            ticks = ticks.wrapping_add(1);
            if ticks.is_multiple_of(CLAIM_EXTEND_EVERY) {
                state
                    .kdf()
                    .extend_claims(state.db(), state.instance_id())
                    .await;
            }
        }
    })
}
