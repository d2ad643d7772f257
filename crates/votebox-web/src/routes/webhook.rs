//! `POST /v1/webhooks/meta/sync`: GitHub push webhook → fetch the meta, sync the database.
//!
//! No session, no CSRF token: the `X-Hub-Signature-256` HMAC (key `META_SECRET`) over the raw
//! body authenticates the call, whatever the content type. Answers are plain text: the sync log
//! on success (200, `text/html` like Elekto), a short reason otherwise.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::meta_sync::SyncError;

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.into(),
    )
        .into_response()
}

/// The call is GitHub's: `META_SECRET` is set and the body carries its signature. Otherwise the
/// status and text to answer: 500 without a secret (the webhook is disabled), 400 for a bad
/// signature.
fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), (StatusCode, String)> {
    let Some(secret) = state
        .config()
        .meta_secret
        .as_deref()
        .filter(|s| !s.is_empty())
    else {
        tracing::error!("meta webhook called, but META_SECRET is not set: refusing to sync");
        return Err((
            StatusCode::INTERNAL_SERVER_ERROR,
            "META_SECRET is not set on the server, so the webhook is disabled.\n".to_owned(),
        ));
    };
    if state.config().debug {
        tracing::warn!(
            "APP_DEBUG is set: Elekto would skip the webhook signature check; votebox checks it anyway"
        );
    }
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    votebox_meta::verify_signature(secret, body, signature).map_err(|e| {
        tracing::warn!(error = %e, "meta webhook refused");
        (StatusCode::BAD_REQUEST, format!("{e}\n"))
    })
}

pub(crate) async fn sync(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err((status, reason)) = authenticate(&state, &headers, &body) {
        return text(status, reason);
    }
    match state.sync_meta().await {
        Ok(outcome) => {
            tracing::info!(commit = %outcome.commit, "meta synced by webhook");
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                outcome.to_string(),
            )
                .into_response()
        }
        // Details (git stderr, SQL) stay in the server log.
        Err(SyncError::Git(_)) => text(
            StatusCode::BAD_GATEWAY,
            "Sync failed: the meta repository could not be fetched or read; the previous version is still served. See the server log.\n",
        ),
        Err(SyncError::Rejected { .. }) => text(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Sync refused: the new meta commit has no valid election; the previous version is still served. See the server log.\n",
        ),
        Err(SyncError::Busy { .. }) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "Sync postponed: another instance has been fetching the meta repository for too long; the previous version is still served. See the server log.\n",
        ),
        Err(SyncError::Db(_)) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sync failed: the database could not be updated; the previous version is still served. See the server log.\n",
        ),
    }
}
