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
mod csrf;
mod error;
mod router;
mod routes;
mod session;
mod static_files;
mod views;

pub use app::{AppState, Clock, SyncError, SyncOutcome, WebConfig};
pub use csrf::CsrfForm;
pub use error::AppError;
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
