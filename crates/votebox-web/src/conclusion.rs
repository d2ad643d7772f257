//! Concluding ended elections (`delete_after: True`) after every meta sync: start-up, the
//! periodic resync, `votebox sync` and the webhook all run [`crate::meta_sync::sync`], which
//! calls [`conclude_ended_elections`]. See `votebox_db::conclusion`.

use time::PrimitiveDateTime;
use votebox_core::meta::{Catalog, Status};
use votebox_db::Db;

/// For every completed election with `delete_after: True`, deletes the encrypted
/// voter→ballot links (ballots and voter rows stay). Idempotent; failures are logged and do
/// not fail the sync. Returns the number of voter rows changed.
pub(crate) async fn conclude_ended_elections(
    db: &Db,
    catalog: &Catalog,
    now: PrimitiveDateTime,
) -> u64 {
    let mut total = 0;
    for e in catalog
        .elections()
        .filter(|e| e.delete_after && e.status(now) == Status::Completed)
    {
        let row = match votebox_db::elections::find_by_key(db, &e.key).await {
            Ok(Some(row)) => row,
            Ok(None) => continue,
            Err(err) => {
                tracing::error!(key = %e.key, error = %err, "cannot conclude the election");
                continue;
            }
        };
        match votebox_db::conclusion::forget_voter_links(db, row.id).await {
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
