//! CSRF protection for every state-changing POST except the webhook.
//!
//! Two independent checks:
//! 1. [`CsrfForm`]: the form must carry the session's token as `csrf_token` (or in an
//!    `X-CSRF-Token`/`X-CSRFToken` header, like Flask-WTF), compared in constant time. Failure →
//!    400 "CSRF Error" page.
//! 2. `tower_http::csrf::CsrfLayer` on the HTML routes (router.rs): browsers' `Sec-Fetch-Site` /
//!    `Origin` headers must not say cross-site.

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::AppError;
use crate::session::Session;

/// Form bodies are small; the ballot of the largest election is a few KiB.
const FORM_LIMIT: usize = 256 * 1024;

/// An `application/x-www-form-urlencoded` body whose `csrf_token` matched the session's
/// token. `T` is deserialised with serde_html_form (repeated keys allowed); a `csrf_token` field
/// in `T` is optional.
#[derive(Debug, Clone)]
pub struct CsrfForm<T>(pub T);

impl<T, S> FromRequest<S> for CsrfForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| AppError::internal("session middleware missing"))?;
        let bytes = to_bytes(body, FORM_LIMIT).await.map_err(|_| {
            AppError::message(
                StatusCode::PAYLOAD_TOO_LARGE,
                "413 Payload Too Large",
                "The submitted form is too large.",
            )
        })?;
        let from_form = url::form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == "csrf_token")
            .map(|(_, v)| v.into_owned());
        let from_header = ["x-csrf-token", "x-csrftoken"].iter().find_map(|h| {
            parts
                .headers
                .get(*h)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
        let submitted = from_form.or(from_header).unwrap_or_default();
        if !session.csrf_matches(&submitted) {
            tracing::info!(path = %parts.uri.path(), "CSRF check failed");
            return Err(AppError::Csrf);
        }
        let req = Request::from_parts(parts, Body::from(bytes));
        let axum_extra::extract::Form(value) =
            axum_extra::extract::Form::<T>::from_request(req, state)
                .await
                .map_err(|e| AppError::BadRequest(e.body_text()))?;
        Ok(CsrfForm(value))
    }
}
