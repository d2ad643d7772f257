//! Bounding the ballot KDF (checklist 62): every cast, view and revoke runs one Argon2i with
//! 512 MiB of memory and several seconds of CPU.
//!
//! * A global [`tokio::sync::Semaphore`] sized from the configuration (`VOTEBOX_KDF_CONCURRENCY`,
//!   by default what the machine's cores and memory allow) limits how many run at once on this
//!   instance; a burst of voters queues instead of exhausting memory.
//! * At most one KDF per user is queued or running, across every instance on the database: a
//!   second request while the first is still being processed is refused at once (429), so one
//!   voter cannot fill the queues. The claim is a row in the database
//!   ([`votebox_db::user_limits::claim`]), checked after a local set that spares the database
//!   a round trip for repeats on the same instance.
//! * Passphrase checks (view and revoke) are rate limited per user, across instances: at most
//!   [`PASSPHRASE_ATTEMPTS`] KDF runs in [`PASSPHRASE_WINDOW`]; more get 429 until the window
//!   moves on. (Casting needs no limit: a voter casts once.)
//! * The KDF runs on tokio's blocking pool (`spawn_blocking`). The semaphore permit and the
//!   per-user claim move into the blocking task, so a client that disconnects mid-way frees
//!   neither before the KDF has really finished.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::AppError;
use votebox_db::{Db, UserId};

/// Memory one KDF needs, with headroom: Argon2i's 512 MiB work area plus the rest of the process.
pub const KDF_MEMORY_BUDGET: u64 = 768 * 1024 * 1024;

/// The default number of concurrent KDFs: one per core, as many as `available_memory_bytes`
/// holds at [`KDF_MEMORY_BUDGET`] each, at least one.
pub fn kdf_concurrency_for(cores: usize, available_memory_bytes: u64) -> usize {
    let by_memory =
        usize::try_from(available_memory_bytes / KDF_MEMORY_BUDGET).unwrap_or(usize::MAX);
    cores.min(by_memory).max(1)
}

/// View/revoke passphrase attempts allowed per user in [`PASSPHRASE_WINDOW`].
pub const PASSPHRASE_ATTEMPTS: usize = 10;
/// The sliding window of [`PASSPHRASE_ATTEMPTS`].
pub const PASSPHRASE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The global and per-user limits on concurrent key derivations.
pub(crate) struct KdfLimiter {
    permits: Arc<Semaphore>,
    concurrency: u32,
    /// Requests waiting for a permit.
    waiting: Arc<AtomicUsize>,
    /// Users with a claim held by this instance.
    in_flight: Arc<Mutex<HashSet<UserId>>>,
}

/// A user's claim on their single KDF slot; released on drop (in the database too).
pub(crate) struct UserClaim {
    user_id: UserId,
    in_flight: Arc<Mutex<HashSet<UserId>>>,
    /// The database and holder of the shared claim (`None`: this instance only, in unit tests).
    shared: Option<(Db, String)>,
}

impl UserClaim {
    /// Releases the claim now, in the database first (a drop releases it in the background).
    pub async fn release(mut self) {
        if let Some((db, holder)) = self.shared.take()
            && let Err(e) = votebox_db::user_limits::release(&db, self.user_id, &holder).await
        {
            tracing::warn!(error = %e, "cannot release a KDF claim; it lapses by itself");
        }
    }
}

impl Drop for UserClaim {
    fn drop(&mut self) {
        if let Some((db, holder)) = self.shared.take() {
            let user_id = self.user_id;
            // Dropped on a runtime thread (a handler, or the blocking task that ran the KDF).
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    if let Err(e) = votebox_db::user_limits::release(&db, user_id, &holder).await
                    {
                        tracing::warn!(error = %e, "cannot release a KDF claim; it lapses by itself");
                    }
                });
            }
        }
        self.in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.user_id);
    }
}

impl KdfLimiter {
    /// `concurrency` KDFs at once (at least one).
    pub fn new(concurrency: usize) -> KdfLimiter {
        let concurrency = concurrency.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
        KdfLimiter {
            permits: Arc::new(Semaphore::new(concurrency)),
            concurrency: u32::try_from(concurrency).unwrap_or(u32::MAX),
            waiting: Arc::new(AtomicUsize::new(0)),
            in_flight: Arc::new(Mutex::new(HashSet::new())),
        }
    }

    /// Records a passphrase attempt of `user_id` (view or revoke), or returns `false` when the
    /// user already made [`PASSPHRASE_ATTEMPTS`] in the last [`PASSPHRASE_WINDOW`], on any
    /// instance. Call it holding the user's claim.
    pub async fn passphrase_attempt(&self, db: &Db, user_id: UserId) -> Result<bool, AppError> {
        Ok(votebox_db::user_limits::passphrase_attempt(
            db,
            user_id,
            PASSPHRASE_ATTEMPTS,
            PASSPHRASE_WINDOW,
        )
        .await?)
    }

    /// Claims the user's KDF slot on this instance only.
    fn claim_here(&self, user_id: UserId) -> Option<UserClaim> {
        let mut set = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        set.insert(user_id).then(|| UserClaim {
            user_id,
            in_flight: self.in_flight.clone(),
            shared: None,
        })
    }

    /// Claims the user's KDF slot for this instance (`holder`), or `None` when one of their
    /// requests is still being processed here or on another instance.
    pub async fn claim(
        &self,
        db: &Db,
        holder: &str,
        user_id: UserId,
    ) -> Result<Option<UserClaim>, AppError> {
        let Some(mut claim) = self.claim_here(user_id) else {
            return Ok(None);
        };
        if !votebox_db::user_limits::claim(db, user_id, holder, crate::instances::CLAIM_TTL).await?
        {
            return Ok(None);
        }
        claim.shared = Some((db.clone(), holder.to_owned()));
        Ok(Some(claim))
    }

    /// Extends the claims this instance holds in the database (none: nothing written).
    pub async fn extend_claims(&self, db: &Db, holder: &str) {
        let any = !self
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty();
        if any
            && let Err(e) =
                votebox_db::user_limits::extend_claims(db, holder, crate::instances::CLAIM_TTL)
                    .await
        {
            tracing::warn!(error = %e, "cannot extend this instance's KDF claims");
        }
    }

    /// Waits for a global permit, then runs `work` on the blocking pool, holding the permit and
    /// `claim` until it returns; the claim is released (in the database too) before this
    /// returns, so the user's next request finds it free.
    pub async fn run<T, F>(&self, claim: UserClaim, work: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        // kdf_queue_depth / kdf_wait_seconds (metrics.rs).
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let permit = crate::metrics::acquire_kdf_slot_owned(self.permits.clone()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let permit =
            permit.map_err(|e| AppError::internal(format!("KDF semaphore closed: {e}")))?;
        // A task of its own owns the permit and the claim: a client that disconnects mid-way
        // frees neither before the KDF has really finished.
        let task = tokio::spawn(async move {
            let done = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                work()
            })
            .await;
            claim.release().await;
            done
        });
        let failed =
            |e: tokio::task::JoinError| AppError::internal(format!("KDF task failed: {e}"));
        task.await.map_err(failed)?.map_err(failed)
    }
}

impl KdfLimiter {
    /// Takes every permit (see `AppState::pause_kdf`).
    pub async fn pause(&self) -> OwnedSemaphorePermit {
        self.permits
            .clone()
            .acquire_many_owned(self.concurrency)
            .await
            .expect("the KDF semaphore is never closed")
    }

    /// Requests waiting for a permit.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }
}

/// The 429 page when a user has tried too many passphrases recently.
pub(crate) fn too_many_attempts() -> AppError {
    AppError::message(
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        "Too many attempts",
        format!(
            "You have entered a passphrase {PASSPHRASE_ATTEMPTS} times in the last {} minutes. \
             Please wait a while before trying again.",
            PASSPHRASE_WINDOW.as_secs() / 60
        ),
    )
}

/// The 429 page for a second request while the user's first is still running the KDF.
pub(crate) fn busy() -> AppError {
    AppError::message(
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        "Your ballot is already being processed",
        "A request of yours is already processing a passphrase (this takes a few seconds). \
         Please wait for it to finish, then reload the election page.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checklist_62_default_concurrency_from_cores_and_memory() {
        const GIB: u64 = 1024 * 1024 * 1024;
        assert_eq!(kdf_concurrency_for(2, 22 * GIB), 2);
        assert_eq!(kdf_concurrency_for(16, 2 * GIB), 2);
        assert_eq!(kdf_concurrency_for(8, GIB / 2), 1);
        assert_eq!(kdf_concurrency_for(0, 0), 1);
    }

    #[tokio::test]
    async fn checklist_62_one_kdf_claim_per_user_here() {
        let limiter = KdfLimiter::new(0);
        let a = limiter.claim_here(UserId(1)).expect("first claim");
        assert!(limiter.claim_here(UserId(1)).is_none());
        let b = limiter.claim_here(UserId(2)).expect("another user");
        drop(a);
        let again = limiter.claim_here(UserId(1)).expect("released on drop");
        // The claim is held until the work is done.
        let v = limiter.run(again, || 41 + 1).await.unwrap();
        assert_eq!(v, 42);
        assert!(limiter.claim_here(UserId(1)).is_some());
        drop(b);
    }

    #[tokio::test]
    async fn checklist_62_permits_bound_concurrency() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let limiter = Arc::new(KdfLimiter::new(2));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for user in 0..6 {
            let (limiter, running, peak) = (limiter.clone(), running.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                let claim = limiter.claim_here(UserId(user)).unwrap();
                limiter
                    .run(claim, move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(30));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                    .unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }
}
