//! Application state: configuration, database, meta repository and the current meta snapshot.

use std::fmt;
use std::sync::{Arc, RwLock};

use axum_extra::extract::cookie::Key;
use sha2::{Digest, Sha512};
use time::{OffsetDateTime, PrimitiveDateTime};
use votebox_core::meta::{BrokenElection, Catalog, CatalogEntry, Election};
use votebox_db::Db;
use votebox_meta::{MetaRepo, Snapshot};

use crate::meta_sync::{self, SyncError, SyncOutcome};

use crate::config::WebConfig;

/// Where "now" comes from. Election status is computed from it; tests pin it or move it.
#[derive(Debug, Clone)]
pub enum Clock {
    System,
    Fixed(PrimitiveDateTime),
    /// A clock the caller moves ([`Clock::set`]); for tests of what happens as a deadline passes.
    Manual(Arc<std::sync::Mutex<PrimitiveDateTime>>),
}

impl Clock {
    /// A [`Clock::Manual`] starting at `t`.
    pub fn manual(t: PrimitiveDateTime) -> Clock {
        Clock::Manual(Arc::new(std::sync::Mutex::new(t)))
    }

    /// Moves a [`Clock::Manual`] to `t` (every clone sees it); other clocks ignore it.
    pub fn set(&self, t: PrimitiveDateTime) {
        if let Clock::Manual(m) = self {
            *m.lock().unwrap_or_else(|e| e.into_inner()) = t;
        }
    }

    /// The current naive UTC time (as Elekto compares election datetimes).
    pub fn now(&self) -> PrimitiveDateTime {
        match self {
            Clock::System => {
                let now = OffsetDateTime::now_utc();
                PrimitiveDateTime::new(now.date(), now.time())
            }
            Clock::Fixed(t) => *t,
            Clock::Manual(m) => *m.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }
}

/// Shared state of every request. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub(crate) struct Inner {
    config: WebConfig,
    db: Db,
    meta: MetaRepo,
    clock: Clock,
    cookie_key: Key,
    secure_cookies: bool,
    /// The GitHub OAuth App (`None`: not configured).
    github: Option<crate::github::Github>,
    snapshot: RwLock<Option<Arc<Snapshot>>>,
    /// Bounds the ballot KDF (global semaphore, one per user).
    kdf: crate::kdf::KdfLimiter,
    /// Serialises syncs: two webhooks never fetch into the mirror at once.
    sync_lock: tokio::sync::Mutex<()>,
    /// This process among the instances sharing the database (leases, KDF claims).
    instance_id: String,
    /// The last commit seen published in the database ([`crate::instances`]).
    seen_published: std::sync::Mutex<Option<String>>,
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("app_name", &self.0.config.app_name)
            .field("meta", &self.0.meta)
            .field("clock", &self.0.clock)
            .finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(config: WebConfig, db: Db, meta: MetaRepo, clock: Clock) -> AppState {
        let cookie_key = derive_cookie_key(&config.app_key);
        let kdf_concurrency = config.kdf_concurrency;
        let secure_cookies = !config.app_url_is_http();
        let github = crate::github::Github::from_config(&config).unwrap_or_else(|e| {
            tracing::error!(error = %e, "GitHub login disabled: bad configuration");
            None
        });
        AppState(Arc::new(Inner {
            config,
            db,
            meta,
            clock,
            cookie_key,
            secure_cookies,
            github,
            snapshot: RwLock::new(None),
            kdf: crate::kdf::KdfLimiter::new(kdf_concurrency),
            sync_lock: tokio::sync::Mutex::new(()),
            instance_id: crate::instances::new_instance_id(),
            seen_published: std::sync::Mutex::new(None),
        }))
    }

    pub fn config(&self) -> &WebConfig {
        &self.0.config
    }

    pub fn db(&self) -> &Db {
        &self.0.db
    }

    pub fn meta(&self) -> &MetaRepo {
        &self.0.meta
    }

    /// Current naive UTC time from the configured clock.
    pub fn now(&self) -> PrimitiveDateTime {
        self.0.clock.now()
    }

    pub(crate) fn cookie_key(&self) -> &Key {
        &self.0.cookie_key
    }

    pub(crate) fn secure_cookies(&self) -> bool {
        self.0.secure_cookies
    }

    /// Holds every KDF slot until the returned guard is dropped: casts, views and revokes that
    /// pass their checks meanwhile wait in the queue ([`AppState::kdf_waiting`]). For tests that
    /// need a request parked between its checks and its write.
    #[doc(hidden)]
    pub async fn pause_kdf(&self) -> impl Drop + Send + use<> {
        self.kdf().pause().await
    }

    /// Requests waiting for a KDF slot.
    #[doc(hidden)]
    pub fn kdf_waiting(&self) -> usize {
        self.kdf().waiting()
    }

    pub(crate) fn kdf(&self) -> &crate::kdf::KdfLimiter {
        &self.0.kdf
    }

    pub(crate) fn github(&self) -> Option<&crate::github::Github> {
        self.0.github.as_ref()
    }

    /// The snapshot being served, if one has been loaded.
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.0
            .snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Serves `snapshot` from now on (start-up from the local mirror). Broken elections are logged.
    pub fn install_snapshot(&self, snapshot: Snapshot) {
        log_broken(&snapshot.catalog);
        tracing::info!(
            commit = %snapshot.commit,
            elections = snapshot.catalog.entries.len(),
            "meta snapshot installed"
        );
        *self.0.snapshot.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(snapshot));
    }

    /// Runs [`meta_sync::sync`] against the snapshot being served and, when it succeeds,
    /// serves the new one (and has published it to the other instances). On failure the last
    /// good snapshot keeps being served. One sync at a time per instance, one fetch at a time
    /// across instances.
    pub async fn sync_meta(&self) -> Result<SyncOutcome, SyncError> {
        let _guard = self.0.sync_lock.lock().await;
        let current = self.snapshot();
        let synced = meta_sync::sync(
            self.db(),
            self.meta(),
            self.instance_id(),
            current.as_deref(),
            self.now(),
        )
        .await?;
        self.note_published(&synced.snapshot.commit);
        self.install_snapshot(synced.snapshot);
        Ok(synced.outcome)
    }

    /// This process's id among the instances sharing the database.
    pub fn instance_id(&self) -> &str {
        &self.0.instance_id
    }

    /// Records `commit` as the last one seen published; `true` when it is new.
    pub(crate) fn note_published(&self, commit: &str) -> bool {
        let mut seen = self
            .0
            .seen_published
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if seen.as_deref() == Some(commit) {
            return false;
        }
        *seen = Some(commit.to_owned());
        true
    }

    /// The last commit seen published.
    pub(crate) fn seen_published(&self) -> Option<String> {
        self.0
            .seen_published
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// This instance's sync slot, unless a sync is running (a follower never installs over it).
    pub(crate) fn try_sync_slot(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        self.0.sync_lock.try_lock().ok()
    }
}

fn log_broken(catalog: &Catalog) {
    for b in catalog.broken() {
        tracing::warn!(key = %b.key, error = %b.error, "election could not be loaded");
    }
}

/// 64-byte cookie key from `APP_KEY` (SHA-512 with a domain-separation prefix).
fn derive_cookie_key(app_key: &str) -> Key {
    let mut h = Sha512::new();
    h.update(b"votebox session cookie key v1\0");
    h.update(app_key.as_bytes());
    let out = h.finalize();
    Key::from(out.as_slice())
}

/// An election resolved from a URL key.
pub(crate) enum Resolved<'a> {
    Ok(&'a Arc<Election>),
    Broken(&'a BrokenElection),
}

/// Looks `key` up among the keys discovery produced (so `..` and friends never match).
pub(crate) fn resolve<'a>(catalog: &'a Catalog, key: &str) -> Option<Resolved<'a>> {
    catalog.get(key).map(|e| match e {
        CatalogEntry::Ok(e) => Resolved::Ok(e),
        CatalogEntry::Broken(b) => Resolved::Broken(b),
    })
}
