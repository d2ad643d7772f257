//! Health endpoints.
//!
//! * `GET /health`: Elekto's — 200 with an empty body, no database or meta check (the sample
//!   Kubernetes readiness probe uses it; kept as it was).
//! * `GET /healthz/live`: liveness — the process answers HTTP. 200 `ok`.
//! * `GET /healthz/ready`: readiness — the database answers `SELECT 1` within
//!   [`READY_DB_TIMEOUT`] **and** a meta snapshot is loaded. 200 with one line per check, or 503
//!   with the failing check's reason (plain text; no secrets: errors name the host, never the
//!   password).

use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;

/// How long readiness waits for the database (the pool's own acquire timeout is much longer).
pub(crate) const READY_DB_TIMEOUT: Duration = Duration::from_secs(3);

pub(crate) async fn health() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], "")
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

pub(crate) async fn live() -> Response {
    text(StatusCode::OK, "ok\n".to_owned())
}

pub(crate) async fn ready(State(state): State<AppState>) -> Response {
    let db = match tokio::time::timeout(READY_DB_TIMEOUT, state.db().ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("unreachable: {e}")),
        Err(_) => Err(format!("no answer within {} s", READY_DB_TIMEOUT.as_secs())),
    };
    let meta = match state.snapshot() {
        Some(s) => Ok(s.commit.clone()),
        None => Err("no snapshot loaded yet".to_owned()),
    };
    let mut body = String::new();
    match &db {
        Ok(()) => body.push_str("database: ok\n"),
        Err(e) => body.push_str(&format!("database: {e}\n")),
    }
    match &meta {
        Ok(commit) => body.push_str(&format!("meta: ok (commit {commit})\n")),
        Err(e) => body.push_str(&format!("meta: {e}\n")),
    }
    if db.is_ok() && meta.is_ok() {
        text(StatusCode::OK, body)
    } else {
        tracing::warn!(reason = %body.trim_end().replace('\n', "; "), "not ready");
        text(StatusCode::SERVICE_UNAVAILABLE, body)
    }
}
