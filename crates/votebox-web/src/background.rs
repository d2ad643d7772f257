//! The secrecy timer: every `VOTEBOX_BALLOT_MIX_INTERVAL` seconds (and once at start-up) the
//! server mixes the ballots cast since the last round ([`votebox_db::ballot_mixing`]) and
//! concludes the ended `delete_after` elections ([`votebox_db::conclusion`]). The interval is
//! the window during which a copy of the database can still pair a fresh ballot with its voter
//! (`docs/security.md`).
//!
//! Every instance runs the timer, but a round runs on the one instance holding the lease
//! [`BALLOT_MIX_LEASE`] ([`AppState::take_periodic_lease`]), so the files are rewritten once per
//! interval however many instances there are; another instance takes over within two intervals
//! when the holder stops. (Were two rounds to overlap, the database still serialises them: the
//! mix locks each election, the conclusion runs once.)

use std::time::Duration;

use crate::app::AppState;

/// The lease of the secrecy timer's rounds.
pub const BALLOT_MIX_LEASE: &str = "ballot-mix";

/// `VOTEBOX_BALLOT_MIX_INTERVAL` default.
pub const DEFAULT_BALLOT_MIX_INTERVAL: Duration = Duration::from_secs(30);
/// The allowed range of `VOTEBOX_BALLOT_MIX_INTERVAL`, in seconds: a window longer than a
/// minute would leave fresh ballots linkable for too long.
pub const BALLOT_MIX_INTERVAL_SECONDS: std::ops::RangeInclusive<u64> = 1..=60;

impl AppState {
    /// One round of the timer: mixes every election with ballots cast or revoked since its last
    /// mix, records voting opened or closed in the audit chains ([`crate::audit::observe`]),
    /// then concludes ended `delete_after` elections of the served snapshot. Failures are
    /// logged; the next round tries again.
    pub async fn secrecy_round(&self) {
        match votebox_db::ballot_mixing::mix_pending(self.db()).await {
            Ok(report) if report.elections > 0 => tracing::debug!(
                elections = report.elections,
                ballot_rows = report.ballot_rows,
                voter_rows = report.voter_rows,
                "ballots mixed"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(
                error = %e,
                "cannot mix the ballots: recently cast ballots stay linkable to their voters in the database until a mix succeeds"
            ),
        }
        if let Some(snapshot) = self.snapshot() {
            crate::audit::observe_all(self.db(), &snapshot.catalog, self.now()).await;
            crate::delete_after::conclude_ended_elections(self.db(), &snapshot.catalog, self.now())
                .await;
        }
    }
}

/// Runs [`AppState::secrecy_round`] now and then every `interval` while this instance holds
/// [`BALLOT_MIX_LEASE`], until the task is aborted.
pub fn spawn_secrecy_timer(state: AppState, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        // A slow round (a large mix) delays the next one rather than queueing several.
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await; // the first tick is immediate: start-up runs a round
            if state.take_periodic_lease(BALLOT_MIX_LEASE, interval).await {
                state.secrecy_round().await;
            }
        }
    })
}
