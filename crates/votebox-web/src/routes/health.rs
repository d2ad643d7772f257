//! `GET /health`: 200 with an empty body, no database or meta check (Kubernetes readiness probe).

use axum::http::header;
use axum::response::IntoResponse;

pub(crate) async fn health() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], "")
}
