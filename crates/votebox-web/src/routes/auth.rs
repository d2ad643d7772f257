//! Login page, GitHub login (OAuth authorization-code flow), demo login, logout.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use votebox_db::{identity, sessions, users};

use crate::app::AppState;
use crate::csrf::CsrfForm;
use crate::error::{self, AppError, AppResult};
use crate::extract::QueryParams;
use crate::response::{found, render_ok};
use crate::session::{CurrentUser, Session, decode_redirect, random_token};
use crate::views::{Layout, LoginPage};
use votebox_db::users::LoginDetails;

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

/// `POST /oauth/github/login` (CSRF-checked): a fresh OAuth `state` in the session, the `r`
/// target in the session if it is a same-origin path (anything else is ignored), then 302 to
/// GitHub's authorize URL (`response_type=code`, `client_id`, `state`, `scope=read:user`; no
/// `redirect_uri`, as Elekto).
pub(crate) async fn github_login(
    State(state): State<AppState>,
    session: Session,
    QueryParams(q): QueryParams<LoginQuery>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<Response> {
    let github = state.github().ok_or_else(error::github_not_configured)?;
    let oauth_state = random_token();
    session.set_oauth_state(Some(oauth_state.clone()));
    session.set_redirect(q.r.as_deref().and_then(decode_redirect));
    Ok(found(&github.authorize_url(&oauth_state)))
}

/// Query of the OAuth callback (GitHub sends `code` and `state`, or `error`, `error_description`
/// and `state` when the user cancels).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// Elekto's flash for a missing or wrong OAuth `state`.
const BAD_STATE: &str = "Missing or Invalid csrf token";

/// `GET <GITHUB_REDIRECT>`: checks `state` against the session (else flash and 302 `/login`),
/// exchanges the code, reads `GET /user`, finds or creates the user row by GitHub id, then login
/// (votebox_db::identity), logs the session in and sends 302 to the saved target or `/app`.
/// Cancelled consent, refused codes and an unreachable GitHub give a page saying so.
pub(crate) async fn github_callback(
    State(state): State<AppState>,
    session: Session,
    QueryParams(q): QueryParams<CallbackQuery>,
) -> AppResult<Response> {
    let github = state.github().ok_or_else(error::github_not_configured)?;
    if !oauth_state_matches(&session, q.state.as_deref()) {
        tracing::info!("OAuth callback with a missing or wrong state");
        session.flash(BAD_STATE);
        return Ok(found("/login"));
    }
    let code = granted_code(&q)?;
    let token = github
        .exchange_code(code)
        .await
        .map_err(error::github_failure)?;
    let user = github.user(&token).await.map_err(error::github_failure)?;
    let expires = votebox_db::utc_now() + time::Duration::days(1);
    let row = identity::login_github(
        state.db(),
        user.id,
        &LoginDetails {
            name: user.name.as_deref(),
            token: Some(&token),
            token_expires_at: Some(expires),
            ..LoginDetails::login(&user.login)
        },
    )
    .await?;
    tracing::info!(user_id = %row.id, github_id = user.id, login = %user.login, "GitHub login");
    log_in(
        &state,
        &session,
        CurrentUser {
            id: row.id,
            login: row.username.clone().unwrap_or(user.login),
            name: row.name.clone(),
        },
    )
    .await?;
    let target = session.take_redirect().unwrap_or_else(|| "/app".to_owned());
    Ok(found(&target))
}

/// Whether the callback's `state` is the one this session sent to GitHub. One use only: the
/// session forgets it whatever happens next.
fn oauth_state_matches(session: &Session, got: Option<&str>) -> bool {
    use subtle::ConstantTimeEq as _;
    match (got, session.take_oauth_state()) {
        (Some(got), Some(want)) if !got.is_empty() => {
            bool::from(got.as_bytes().ct_eq(want.as_bytes()))
        }
        _ => false,
    }
}

/// The authorization code GitHub sent back; cancelled consent or a refusal is an error page.
fn granted_code(q: &CallbackQuery) -> AppResult<&str> {
    if let Some(error) = q.error.as_deref().filter(|e| !e.is_empty()) {
        tracing::info!(error, "GitHub login not granted");
        if error == "access_denied" {
            return Err(error::github_login_cancelled());
        }
        let detail = q
            .error_description
            .as_deref()
            .map(|d| format!("{error}: {d}"))
            .unwrap_or_else(|| error.to_owned());
        return Err(error::github_login_failed(
            StatusCode::BAD_REQUEST,
            format!("GitHub did not grant the login ({detail})."),
        ));
    }
    q.code.as_deref().filter(|c| !c.is_empty()).ok_or_else(|| {
        error::github_login_failed(
            StatusCode::BAD_REQUEST,
            "GitHub did not send an authorization code.".to_owned(),
        )
    })
}

/// Paths the OAuth callback (`GITHUB_REDIRECT`) may not take: votebox's own routes.
const RESERVED_PATHS: &[&str] = &[
    "/",
    "/elections",
    "/login",
    "/logout",
    "/health",
    "/oauth/github/login",
    "/demo/login",
];
const RESERVED_PREFIXES: &[&str] = &[
    "/app",
    "/elections/",
    "/static/",
    "/v1/",
    "/healthz",
    "/metrics",
];

/// Whether `path` can be routed as the OAuth callback: a plain path (letters, digits, `/-_.~`)
/// that is none of votebox's own routes. (axum would panic on a clash or on `{…}`/`*` segments.)
pub(crate) fn usable_callback_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.contains("//")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b))
        && !RESERVED_PATHS.contains(&path)
        && !RESERVED_PREFIXES.iter().any(|p| path.starts_with(p))
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
    let row = users::upsert_login(state.db(), &LoginDetails::login(login)).await?;
    tracing::warn!(login, user_id = %row.id, "demo login (not for production)");
    log_in(
        &state,
        &session,
        CurrentUser {
            id: row.id,
            login: row.username.clone().unwrap_or_else(|| login.to_owned()),
            name: row.name.clone(),
        },
    )
    .await?;
    let target = form
        .r
        .as_deref()
        .and_then(decode_redirect)
        .or_else(|| session.take_redirect())
        .unwrap_or_else(|| "/app".to_owned());
    Ok(found(&target))
}

/// Logs `user` into `session` at the user's current session generation, for the configured
/// lifetime.
async fn log_in(state: &AppState, session: &Session, user: CurrentUser) -> AppResult<()> {
    let generation = sessions::generation(state.db(), user.id).await?;
    session.log_in(user, generation, state.config().session_lifetime);
    Ok(())
}

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage {
    layout: Layout,
    csrf_token: String,
}

/// Whether the request is a top-level navigation the user made on this site (a link, a typed
/// URL, a bookmark), going by the browser's fetch metadata: `Sec-Fetch-Site` is `same-origin` or
/// `none`, and `Sec-Fetch-Dest` is `document` (or, if a browser sends no `Sec-Fetch-Dest`,
/// `Sec-Fetch-Mode` is `navigate`). An image or a frame (`<img src=/logout>` in a biography), a
/// fetch, a cross-site link and a client without fetch metadata all fail it.
fn same_origin_navigation(headers: &HeaderMap) -> bool {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let site_ok = matches!(get("sec-fetch-site"), Some("same-origin" | "none"));
    let dest_ok = match get("sec-fetch-dest") {
        Some(dest) => dest == "document",
        None => get("sec-fetch-mode") == Some("navigate"),
    };
    site_ok && dest_ok
}

/// `GET /logout` (Elekto's URL): logs out only on a same-origin top-level navigation (see
/// [`same_origin_navigation`]); any other request gets a page with a "Log out" button (a
/// CSRF-protected POST), so neither another site nor an image can log anyone out. Without a login
/// it goes straight to `/login` (Elekto's `/login?r=<…/logout>` would log out again after login).
pub(crate) async fn logout_get(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
) -> AppResult<Response> {
    if session.user().is_none() || same_origin_navigation(&headers) {
        return Ok(logout(&state, &session).await);
    }
    render_ok(&LogoutPage {
        layout: Layout::new(&state, &session, "Log out"),
        csrf_token: session.csrf_token(),
    })
}

/// `POST /logout` (CSRF-checked).
pub(crate) async fn logout_post(
    State(state): State<AppState>,
    session: Session,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Response {
    logout(&state, &session).await
}

/// Ends every session of the user (the session generation is incremented, so copies of the
/// cookie stop working on every instance), clears the user's token and this session, then 302
/// `/login`.
async fn logout(state: &AppState, session: &Session) -> Response {
    let user = session.user();
    session.clear();
    if let Some(user) = user {
        if let Err(e) = sessions::end_sessions(state.db(), user.id).await {
            // This browser is logged out whatever happens; other copies of the cookie are not.
            tracing::error!(error = %e, user_id = %user.id, "could not end the user's sessions");
            session.flash(
                "You are logged out here, but your sessions elsewhere could not be ended: \
                 please log out again in a moment.",
            );
        }
        if let Err(e) = users::clear_token(state.db(), user.id).await {
            // Logging out must work even when the database does not.
            tracing::error!(error = %e, user_id = %user.id, "could not clear the user's token");
        }
    }
    found("/login")
}
