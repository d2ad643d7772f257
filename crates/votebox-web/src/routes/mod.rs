//! Handlers, one module per area. Shared helpers live here.

pub(crate) mod app;
pub(crate) mod auth;
pub(crate) mod ballot;
pub(crate) mod exception;
pub(crate) mod health;
pub(crate) mod public;
pub(crate) mod results;
pub(crate) mod webhook;

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use votebox_core::meta::{BrokenElection, Election};
use votebox_meta::Snapshot;

use crate::app::{AppState, Resolved, resolve};
use crate::error::{AppError, AppResult};

/// `302 Found` with a relative `Location`, as Flask's `redirect()` (axum's `Redirect::to` is 303).
pub(crate) fn found(location: &str) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// `308 Permanent Redirect` to the slash form of the current path (Flask's strict-slash rule).
pub(crate) fn to_slash_form(parts_uri: &axum::http::Uri) -> Response {
    let mut location = format!("{}/", parts_uri.path());
    if let Some(q) = parts_uri.query() {
        location.push('?');
        location.push_str(q);
    }
    let mut resp = StatusCode::PERMANENT_REDIRECT.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// The snapshot being served, or 503 when none is loaded yet.
pub(crate) fn snapshot(state: &AppState) -> AppResult<Arc<Snapshot>> {
    state.snapshot().ok_or(AppError::NotLoaded)
}

/// The election with this key; unknown keys (anything discovery did not produce) → 404.
pub(crate) fn find_election<'a>(snap: &'a Snapshot, key: &str) -> AppResult<Resolved<'a>> {
    resolve(&snap.catalog, key).ok_or(AppError::NotFound)
}

/// A parsed election or the "Error While rendering the election" page (500) with the reason.
pub(crate) fn parsed_election<'a>(snap: &'a Snapshot, key: &str) -> AppResult<&'a Election> {
    match find_election(snap, key)? {
        Resolved::Ok(e) => Ok(e),
        Resolved::Broken(b) => Err(broken_error(b, true)),
    }
}

/// The page for a broken election. `details`: show the parse error (logged-in pages) or a
/// generic text (public pages).
pub(crate) fn broken_error(b: &BrokenElection, details: bool) -> AppError {
    tracing::warn!(key = %b.key, error = %b.error, "request for a broken election");
    let message = if details {
        b.error.to_string()
    } else {
        "This election's files have an error, so it could not be loaded.".to_owned()
    };
    AppError::message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Error While rendering the election",
        message,
    )
}

/// Like axum's `Path`, but a path that does not decode is a 404 page, not a plain-text 400.
pub(crate) struct PathParams<T>(pub T);

impl<S, T> FromRequestParts<S> for PathParams<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(t)| PathParams(t))
            .map_err(|_| AppError::NotFound)
    }
}

/// Like axum's `Query`, but errors are rendered as the 400 page.
pub(crate) struct QueryParams<T>(pub T);

impl<S, T> FromRequestParts<S> for QueryParams<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(t)| QueryParams(t))
            .map_err(|e| AppError::BadRequest(e.body_text()))
    }
}

/// Fallback for unknown URLs.
pub(crate) async fn not_found() -> AppError {
    AppError::NotFound
}
