//! Concluding ended elections (`delete_after: True`) after every meta sync: start-up, the
//! periodic resync, `votebox sync` and the webhook all go through [`AppState::sync_meta`],
//! which calls [`AppState::conclude_ended_elections`]. See `votebox_db::conclusion`.

use votebox_core::meta::{Catalog, Status};

use crate::app::AppState;

impl AppState {
    /// For every completed election with `delete_after: True`, deletes the encrypted
    /// voter→ballot links (ballots and voter rows stay). Idempotent; failures are logged and do
    /// not fail the sync. Returns the number of voter rows changed.
    pub async fn conclude_ended_elections(&self, catalog: &Catalog) -> u64 {
        let now = self.now();
        let mut total = 0;
        for e in catalog
            .elections()
            .filter(|e| e.delete_after && e.status(now) == Status::Completed)
        {
            let row = match votebox_db::elections::find_by_key(self.db(), &e.key).await {
                Ok(Some(row)) => row,
                Ok(None) => continue,
                Err(err) => {
                    tracing::error!(key = %e.key, error = %err, "cannot conclude the election");
                    continue;
                }
            };
            match votebox_db::conclusion::forget_voter_links(self.db(), row.id).await {
                Ok(0) => {}
                Ok(n) => {
                    total += n;
                    tracing::info!(
                        key = %e.key,
                        voters = n,
                        "election concluded (delete_after): voter→ballot links deleted; ballots and voter rows kept"
                    );
                }
                Err(err) => {
                    tracing::error!(key = %e.key, error = %err, "cannot delete the voter→ballot links");
                }
            }
        }
        total
    }
}
