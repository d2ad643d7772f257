//! CSRF protection for every state-changing POST except the webhook.
//!
//! Two independent checks:
//! 1. [`CsrfForm`]: the form must carry the session's token as `csrf_token` (or in an
//!    `X-CSRF-Token`/`X-CSRFToken` header, like Flask-WTF), compared in constant time. Failure →
//!    400 "CSRF Error" page.
//! 2. `tower_http::csrf::CsrfLayer` on the HTML routes (router.rs): browsers' `Sec-Fetch-Site` /
//!    `Origin` headers must not say cross-site.

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{FromRequest, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
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

/// The raw `application/x-www-form-urlencoded` body of a request whose `csrf_token` matched
/// (as for [`CsrfForm`]), for handlers that check who may post **before** decoding the form and
/// then decode it lazily (`url::form_urlencoded::parse`), e.g. with a cap on the number of fields.
#[derive(Debug, Clone)]
pub struct CsrfFormBody(pub Bytes);

/// Reads the body (at most [`FORM_LIMIT`]) and checks its CSRF token against the session's.
/// Only the `csrf_token` field is looked for: the scan stops there, nothing else is decoded.
async fn checked_body(req: Request) -> Result<(Parts, Bytes), AppError> {
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
    Ok((parts, bytes))
}

impl<S: Send + Sync> FromRequest<S> for CsrfFormBody {
    type Rejection = AppError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, bytes) = checked_body(req).await?;
        // As axum's `Form`: the media type must be urlencoded (parameters such as a charset
        // are allowed).
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Err(AppError::BadRequest(
                "Form requests must have `Content-Type: application/x-www-form-urlencoded`"
                    .to_owned(),
            ));
        }
        Ok(CsrfFormBody(bytes))
    }
}

impl<T, S> FromRequest<S> for CsrfForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, bytes) = checked_body(req).await?;
        let req = Request::from_parts(parts, Body::from(bytes));
        let axum_extra::extract::Form(value) =
            axum_extra::extract::Form::<T>::from_request(req, state)
                .await
                .map_err(|e| AppError::BadRequest(e.body_text()))?;
        Ok(CsrfForm(value))
    }
}
