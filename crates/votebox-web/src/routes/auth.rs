//! Login page, GitHub login (not configured yet), demo login, logout.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use votebox_db::users;

use super::{QueryParams, found};
use crate::app::AppState;
use crate::csrf::CsrfForm;
use crate::error::{AppError, AppResult};
use crate::session::{CurrentUser, Session, decode_redirect};
use crate::views::{Layout, LoginPage, render_ok};

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LoginQuery {
    #[serde(default)]
    r: Option<String>,
}

/// A form with nothing but the CSRF token.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct EmptyForm {}

/// `GET /login`: logged in → 302 `/app`; else the login page (`r` passed through).
pub(crate) async fn login_page(
    State(state): State<AppState>,
    session: Session,
    QueryParams(q): QueryParams<LoginQuery>,
) -> AppResult<Response> {
    if session.user().is_some() {
        return Ok(found("/app"));
    }
    let demo_logins = state.config().demo_login.then(|| demo_logins(&state));
    render_ok(&LoginPage {
        layout: Layout::new(&state, &session, "Login"),
        r: q.r.unwrap_or_default(),
        csrf_token: session.csrf_token(),
        demo_logins,
    })
}

/// Logins offered by the demo form: every voter and officer of every election, plus `mallory`
/// (nobody's voter or officer). Case-insensitively unique, sorted.
fn demo_logins(state: &AppState) -> Vec<String> {
    let mut all: BTreeMap<String, String> = BTreeMap::new();
    let mut add = |login: &str| {
        let login = login.trim();
        if !login.is_empty() {
            all.entry(login.to_ascii_lowercase())
                .or_insert_with(|| login.to_owned());
        }
    };
    if let Some(snap) = state.snapshot() {
        for e in snap.catalog.elections() {
            for v in e.voters.iter().flatten() {
                add(v);
            }
            for o in &e.election_officers {
                add(o);
            }
        }
    }
    add("mallory");
    all.into_values().collect()
}

/// `POST /oauth/github/login`: the OAuth flow is not built yet.
pub(crate) async fn github_login(CsrfForm(_): CsrfForm<EmptyForm>) -> AppError {
    AppError::NotConfigured("GitHub login is not configured on this instance.".to_owned())
}

#[derive(Debug, Deserialize)]
pub(crate) struct DemoLoginForm {
    login: String,
    #[serde(default)]
    r: Option<String>,
}

/// A GitHub-like login: ASCII letters, digits, `-` and `_`, at most 64 characters.
fn valid_login(login: &str) -> bool {
    !login.is_empty()
        && login.len() <= 64
        && login
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `POST /demo/login` (only routed when demo login is enabled): logs in as any user.
pub(crate) async fn demo_login(
    State(state): State<AppState>,
    session: Session,
    CsrfForm(form): CsrfForm<DemoLoginForm>,
) -> AppResult<Response> {
    let login = form.login.trim();
    if !valid_login(login) {
        return Err(AppError::BadRequest("Invalid user login.".to_owned()));
    }
    let row = users::upsert_login(state.db(), login, None, None, None).await?;
    tracing::warn!(login, user_id = row.id, "demo login (not for production)");
    session.log_in(CurrentUser {
        id: row.id,
        login: row.username.clone().unwrap_or_else(|| login.to_owned()),
        name: row.name.clone(),
    });
    let target = form
        .r
        .as_deref()
        .and_then(decode_redirect)
        .or_else(|| session.take_redirect())
        .unwrap_or_else(|| "/app".to_owned());
    Ok(found(&target))
}

/// `GET /logout`: clears the user's token and the session, then 302 `/login`. Without a login it
/// goes straight to `/login` (Elekto's `/login?r=<…/logout>` would log out again after login).
pub(crate) async fn logout_get(State(state): State<AppState>, session: Session) -> Response {
    logout(&state, &session).await
}

/// `POST /logout` (CSRF-checked).
pub(crate) async fn logout_post(
    State(state): State<AppState>,
    session: Session,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Response {
    logout(&state, &session).await
}

async fn logout(state: &AppState, session: &Session) -> Response {
    if let Some(user) = session.user()
        && let Err(e) = users::clear_token(state.db(), user.id).await
    {
        // Logging out must work even when the database does not.
        tracing::error!(error = %e, user_id = user.id, "could not clear the user's token");
    }
    session.clear();
    found("/login")
}
