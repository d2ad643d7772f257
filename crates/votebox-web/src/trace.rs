//! Request logging: one `request` span per request, carrying the request id (`x-request-id`,
//! set by `SetRequestIdLayer` when the client or proxy sent none, and echoed in the response),
//! the method and the **path only**.
//!
//! Never logged: the query string (the OAuth callback's `code` and `state` travel there),
//! headers (cookies, `Authorization`), request or response bodies (passphrases, ballots, CSRF
//! tokens). The integration test `ops::logs_carry_no_secrets` holds this.

use axum::body::Body;
use axum::http::Request;
use tower_http::request_id::RequestId;
use tower_http::trace::DefaultOnResponse;
use tracing::{Level, Span};

/// Longest request id copied into the log (a client may send its own).
const MAX_ID_LEN: usize = 64;

/// The span of one request: `request{id=… method=GET path=/elections}`.
pub(crate) fn request_span(req: &Request<Body>) -> Span {
    let id = req
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .or_else(|| {
            req.headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
        })
        .unwrap_or("-");
    let id = match id.char_indices().nth(MAX_ID_LEN) {
        Some((cut, _)) => &id[..cut],
        None => id,
    };
    tracing::info_span!(
        "request",
        id = %id,
        method = %req.method(),
        path = %req.uri().path(),
    )
}

/// One `finished processing request` line per response (status and latency), at INFO.
pub(crate) fn on_response() -> DefaultOnResponse {
    DefaultOnResponse::new()
        .level(Level::INFO)
        .latency_unit(tower_http::LatencyUnit::Millis)
        .include_headers(false)
}
