//! Errors of handlers and extractors, turned into HTML pages with real status codes.
//!
//! [`AppError::into_response`] only sets the status and attaches an [`ErrorPage`] extension; the
//! `render_error_pages` middleware (router.rs) then renders the page with the layout (APP_NAME,
//! login state). Internal details are logged, never shown.
//!
//! Below [`AppError`]: one builder per refusal the pages share, so a refusal reads the same
//! wherever it is made.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use votebox_core::ballot::TooManyFields;
use votebox_core::count::CountError;
use votebox_core::meta::{BrokenElection, Election, Status, display_utc};

use crate::github::GithubError;

/// What an error page shows: `<title>{heading} | <APP_NAME></title>`, heading and message.
#[derive(Debug, Clone)]
pub(crate) struct ErrorPage {
    pub heading: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Unknown URL, election or candidate.
    #[error("not found")]
    NotFound,
    /// Logged in but not allowed (e.g. "You are not an Election officer").
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Missing or wrong `csrf_token`.
    #[error("missing or invalid csrf token")]
    Csrf,
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A message page (title and text) with the given status.
    #[error("{title}: {message}")]
    Message {
        status: StatusCode,
        title: String,
        message: String,
    },
    /// The meta repository has not been loaded yet.
    #[error("meta repository not loaded yet")]
    NotLoaded,
    /// A feature that this instance has not configured (e.g. GitHub login).
    #[error("not configured: {0}")]
    NotConfigured(String),
    /// Anything unexpected. The detail is logged, the page says only "500".
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn internal(e: impl std::fmt::Display) -> AppError {
        AppError::Internal(e.to_string())
    }

    pub fn message(
        status: StatusCode,
        title: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        AppError::Message {
            status,
            title: title.into(),
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Csrf | AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Message { status, .. } => *status,
            AppError::NotLoaded => StatusCode::SERVICE_UNAVAILABLE,
            AppError::NotConfigured(_) => StatusCode::NOT_IMPLEMENTED,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn page(&self) -> ErrorPage {
        let (heading, message) = match self {
            AppError::NotFound => (
                "404 Not Found".to_owned(),
                "The page you are looking for does not exist.".to_owned(),
            ),
            AppError::Forbidden(m) => ("403 - Forbidden".to_owned(), m.clone()),
            AppError::Csrf => (
                "CSRF Error".to_owned(),
                "Missing or Invalid csrf token".to_owned(),
            ),
            AppError::BadRequest(m) => ("400 Bad Request".to_owned(), m.clone()),
            AppError::Message { title, message, .. } => (title.clone(), message.clone()),
            AppError::NotLoaded => (
                "503 Service Unavailable".to_owned(),
                "The meta repository is not loaded yet. Please try again in a moment.".to_owned(),
            ),
            AppError::NotConfigured(m) => ("501 Not Implemented".to_owned(), m.clone()),
            AppError::Internal(_) => (
                "500 - Server Error".to_owned(),
                "Something went wrong on our side; the error has been logged.".to_owned(),
            ),
        };
        ErrorPage { heading, message }
    }
}

impl From<votebox_db::DbError> for AppError {
    fn from(e: votebox_db::DbError) -> Self {
        if e.is_unavailable() {
            // An outage, not a bug: a clear 503 page; the pool reconnects by itself.
            tracing::error!(error = %e, "database unavailable");
            return AppError::message(
                StatusCode::SERVICE_UNAVAILABLE,
                "503 Service Unavailable",
                "The database cannot be reached at the moment. Please try again in a minute.",
            );
        }
        if e.is_contended() {
            // Lost a lock to a concurrent transaction, which rolled back whole: nothing was
            // written, so sending the form again is safe.
            tracing::warn!(error = %e, "database contention; the request was rolled back");
            return AppError::message(
                StatusCode::SERVICE_UNAVAILABLE,
                "503 Service Unavailable",
                "The server was too busy to finish this request and nothing was saved. Please go back and send it again.",
            );
        }
        AppError::Internal(e.to_string())
    }
}

impl From<PathRejection> for AppError {
    fn from(_: PathRejection) -> Self {
        AppError::NotFound
    }
}

impl From<QueryRejection> for AppError {
    fn from(e: QueryRejection) -> Self {
        AppError::BadRequest(e.body_text())
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(format!("template: {e}"))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(detail) = &self {
            tracing::error!(error = %detail, "internal error");
        }
        error_response(self.status(), self.page())
    }
}

/// A plain-text response carrying an [`ErrorPage`]; the error-page middleware renders it as HTML.
pub(crate) fn error_response(status: StatusCode, page: ErrorPage) -> Response {
    let body = format!("{}\n\n{}\n", page.heading, page.message);
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp.extensions_mut().insert(page);
    resp
}

pub(crate) type AppResult<T> = Result<T, AppError>;

// ----------------------------------------------------------------------------------------------
// Refusals

/// The page for a broken election. `details`: show the parse error (logged-in pages) or a
/// generic text (public pages).
pub(crate) fn broken_election(b: &BrokenElection, details: bool) -> AppError {
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

/// A page that must write, for an election the sync has not added to the database yet.
pub(crate) fn election_not_ready() -> AppError {
    AppError::message(
        StatusCode::SERVICE_UNAVAILABLE,
        "This election is not ready yet",
        "The election has not been added to the database yet. Please try again in a minute.",
    )
}

/// The officer check: 403 page "You are not an Election officer".
pub(crate) fn not_officer() -> AppError {
    AppError::Forbidden("You are not an Election officer".to_owned())
}

/// The election is not running: no voting and no revoking.
pub(crate) fn voting_closed(e: &Election, status: Status) -> AppError {
    let (title, message) = match status {
        Status::Upcoming => (
            "Voting has not started yet",
            format!("Voting in {} starts at {}.", e.name, display_utc(e.start)),
        ),
        _ => (
            "Voting is closed",
            format!(
                "Voting in {} ended at {}; ballots can no longer be cast or changed.",
                e.name,
                display_utc(e.end)
            ),
        ),
    };
    AppError::message(StatusCode::FORBIDDEN, title, message)
}

/// Elekto's message page for results requested too early (status 200, as Elekto).
pub(crate) fn not_completed() -> AppError {
    AppError::message(
        StatusCode::OK,
        "The election is not completed yet",
        "The application needs election to be over first.",
    )
}

/// `status`: 200 on the form (Elekto's message page), 409 on a POST.
pub(crate) fn already_voted(status: StatusCode) -> AppError {
    AppError::message(
        status,
        "You have already voted",
        "To re-cast your vote, please visit the election page.",
    )
}

/// `status`: 200 on the form (Elekto's message page), 409 on a POST.
pub(crate) fn already_requested(status: StatusCode) -> AppError {
    AppError::message(
        status,
        "You have already requested an exception.",
        "You have already requested an exception for this election; Please wait for the admin \
         to review your request.",
    )
}

pub(crate) fn too_many_ballot_fields(too_many: TooManyFields) -> AppError {
    tracing::info!(
        max = too_many.max,
        "ballot form with too many fields refused"
    );
    AppError::message(
        StatusCode::PAYLOAD_TOO_LARGE,
        "413 Payload Too Large",
        format!("{too_many} Please use the voting form of this site."),
    )
}

/// A `results.md` draft of a count that is not possible (status 200, a message page).
pub(crate) fn cannot_count(err: CountError) -> AppError {
    AppError::message(
        StatusCode::OK,
        "The results cannot be counted",
        err.to_string(),
    )
}

/// A ballot, view or revoke form without its `password` field (not sent by our forms).
pub(crate) fn no_password_field() -> AppError {
    AppError::BadRequest("The form has no password field.".to_owned())
}

/// The user cancelled consent on GitHub.
pub(crate) fn github_login_cancelled() -> AppError {
    AppError::message(
        StatusCode::FORBIDDEN,
        "GitHub login was cancelled",
        "You did not authorize this application on GitHub, so you are not signed in. \
         Sign in again from the login page to continue.",
    )
}

pub(crate) fn github_not_configured() -> AppError {
    AppError::NotConfigured(
        "GitHub login is not configured on this instance (GITHUB_CLIENT_ID is not set).".to_owned(),
    )
}

pub(crate) fn github_login_failed(status: StatusCode, message: String) -> AppError {
    AppError::message(
        status,
        "GitHub login failed",
        format!("{message} You are not signed in; please sign in again from the login page."),
    )
}

/// The page for a failed exchange or user lookup: a refused code is the user's to retry (400);
/// GitHub unreachable or answering nonsense is a gateway failure (502).
pub(crate) fn github_failure(e: GithubError) -> AppError {
    match &e {
        GithubError::Refused { .. } => {
            tracing::warn!(error = %e, "GitHub login failed");
            github_login_failed(StatusCode::BAD_REQUEST, format!("{e}."))
        }
        GithubError::Unreachable(_) => {
            tracing::error!(error = %e, "GitHub login failed");
            github_login_failed(
                StatusCode::BAD_GATEWAY,
                "GitHub could not be reached. Please try again in a moment.".to_owned(),
            )
        }
        GithubError::BadResponse(_) => {
            tracing::error!(error = %e, "GitHub login failed");
            github_login_failed(
                StatusCode::BAD_GATEWAY,
                "GitHub gave an unexpected answer; the error has been logged.".to_owned(),
            )
        }
    }
}
