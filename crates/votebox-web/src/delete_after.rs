//! Concluding ended elections (`delete_after: True`): after every meta sync (start-up, the
//! periodic resync, `votebox sync`, the webhook all run [`crate::meta_sync::sync`]) and on the
//! secrecy timer ([`crate::AppState::secrecy_round`]). See `votebox_db::conclusion`.

use time::PrimitiveDateTime;
use votebox_core::audit::Event;
use votebox_core::meta::{Catalog, Status};
use votebox_db::Db;
use votebox_db::conclusion::ConcludeOutcome;

/// For every completed election with `delete_after: True`, deletes the encrypted voter→ballot
/// links (ballots and voter rows stay), from the rows and from the database files, once across
/// instances. Failures are logged and do not fail the caller. Returns the number of voter rows
/// changed.
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
        match votebox_db::conclusion::conclude(db, row.id).await {
            Ok(ConcludeOutcome::Concluded { links }) => {
                total += links;
                let event = Event::delete_after_done(links);
                crate::audit::record(db, row.id, &e.key, now, event).await;
                tracing::info!(
                    key = %e.key,
                    voters = links,
                    "election concluded (delete_after): voter→ballot links erased from the rows and the database files; ballots and voter rows kept"
                );
            }
            Ok(ConcludeOutcome::AlreadyConcluded | ConcludeOutcome::NoElection) => {}
            Err(err) => {
                tracing::error!(key = %e.key, error = %err, "cannot erase the voter→ballot links");
            }
        }
    }
    total
}
