//! votebox's HTTP layer: Elekto's URLs and pages, served by axum.
//!
//! * [`AppState`] holds the configuration, the database, the meta repository and the current
//!   parsed snapshot of it ([`AppState::sync_meta`] refreshes it).
//! * [`router`] builds every route and layer; [`serve`] runs it on a listener until shutdown.
//!
//! Pages are server-rendered askama templates (usable without JavaScript). Error pages carry real
//! status codes (Elekto sends most of them with 200). Sessions are one encrypted cookie; every
//! state-changing POST except the webhook carries a per-session `csrf_token`.

mod app;
mod audit;
mod background;
mod config;
mod csrf;
mod delete_after;
mod error;
mod extract;
mod github;
pub mod instances;
mod kdf;
pub mod meta_sync;
pub mod metrics;
mod response;
mod router;
mod routes;
mod session;
mod static_files;
mod trace;
mod views;

pub use app::{AppState, Clock};
pub use background::{
    BALLOT_MIX_INTERVAL_SECONDS, DEFAULT_BALLOT_MIX_INTERVAL, spawn_secrecy_timer,
};
pub use config::{
    DEFAULT_GITHUB_ACCESS_TOKEN_URL, DEFAULT_GITHUB_API_URL, DEFAULT_GITHUB_AUTHORIZE_URL,
    DEFAULT_GITHUB_REDIRECT, DEFAULT_SESSION_LIFETIME, WebConfig,
};
pub use csrf::CsrfForm;
pub use error::AppError;
pub use instances::spawn_instance_tasks;
pub use kdf::{PASSPHRASE_ATTEMPTS, kdf_concurrency_for};
pub use meta_sync::{SyncError, SyncOutcome};
pub use router::router;
pub use session::{CurrentUser, Session};

use std::future::Future;

/// Serves [`router`] on `listener` until `shutdown` completes, then finishes in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// How [`serve_with_grace`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Every request in flight when shutdown began was answered.
    Drained,
    /// The grace period ran out; the connections still open were dropped.
    GraceExpired,
}

/// [`serve`] with a bound on the drain: once `shutdown` completes the listener stops accepting,
/// requests in flight (a ballot cast waiting on the KDF included) may finish for at most
/// `grace`, then the remaining connections are dropped.
pub async fn serve_with_grace(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: std::time::Duration,
) -> std::io::Result<Stopped> {
    let (began_tx, began_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        let _ = began_tx.send(());
    };
    let server = serve(listener, state, signal);
    let deadline = async move {
        match began_rx.await {
            Ok(()) => tokio::time::sleep(grace).await,
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        result = server => result.map(|()| Stopped::Drained),
        () = deadline => Ok(Stopped::GraceExpired),
    }
}
