//! The session: one AES-GCM encrypted cookie ([`PrivateCookieJar`]) holding a small JSON struct
//! (user id, login, name, CSRF token, flashes, pending redirect/OAuth state).
//!
//! The `session_middleware` decodes it into a [`Session`] request extension before the handler
//! runs and writes it back (`Set-Cookie`) only when its content changed. Cookie flags: `HttpOnly`,
//! `SameSite=Lax` (the OAuth callback is a cross-site top-level GET), `Path=/`, and `Secure`
//! unless `APP_URL` is an explicit `http://` URL (browsers accept Secure cookies on
//! `http://localhost`). A login lasts `VOTEBOX_SESSION_LIFETIME_SECONDS` (default 24 hours, like
//! Elekto's `token_expires_at`).
//!
//! Logout is final: a login records the user's session generation (`votebox_db::sessions`) in
//! the cookie, the middleware compares it with the database whenever the cookie holds a login
//! (one primary-key lookup), and logout increments it. A cookie issued before a logout (a copy
//! included, on any instance) is then treated as logged out.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, PrivateCookieJar, SameSite};
use base64::Engine as _;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::error::AppError;
use crate::response::found;
use votebox_db::UserId;

pub(crate) const COOKIE_NAME: &str = "votebox_session";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct SessionData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<SessionUser>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    csrf: Option<String>,
    /// Messages about something that went wrong (shown with `role="alert"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    flashes: Vec<String>,
    /// Messages confirming something done (shown with `role="status"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    notices: Vec<String>,
    /// Where to go after login (a same-origin path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    redirect: Option<String>,
    /// Pending OAuth `state`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    oauth_state: Option<String>,
    /// The receipt of the ballot just cast, until the confirmation page shows it: it lives only
    /// in this encrypted cookie, never on the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    receipt: Option<ReceiptNote>,
}

/// A receipt waiting for the confirmation page of its election.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ReceiptNote {
    election: String,
    code: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SessionUser {
    id: i32,
    login: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// Unix seconds after which the login is no longer valid.
    exp: i64,
    /// The user's session generation at login (`votebox_db::sessions`); cookies written before
    /// generations existed hold 0, the generation of a user who never logged out.
    #[serde(default)]
    generation: i64,
}

/// The logged-in user, as an extractor: rejects with 302 → `/login?r=…` (Elekto's auth guard).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    /// `user.id`.
    pub id: UserId,
    /// GitHub login as stored in `user.username`.
    pub login: String,
    /// `user.name` (may be missing).
    pub name: Option<String>,
}

impl CurrentUser {
    /// The name to greet the user with: `name`, else the login.
    pub fn display_name(&self) -> &str {
        self.name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(&self.login)
    }
}

/// Handle on the request's session. Cheap to clone; changes are written back by the middleware.
#[derive(Clone, Debug)]
pub struct Session(Arc<Mutex<SessionData>>);

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Session {
    fn new(data: SessionData) -> Session {
        Session(Arc::new(Mutex::new(data)))
    }

    fn lock(&self) -> MutexGuard<'_, SessionData> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn snapshot(&self) -> SessionData {
        self.lock().clone()
    }

    /// The logged-in user; an expired login is dropped from the session.
    pub fn user(&self) -> Option<CurrentUser> {
        let mut data = self.lock();
        match &data.user {
            Some(u) if u.exp > unix_now() => Some(CurrentUser {
                id: UserId(u.id),
                login: u.login.clone(),
                name: u.name.clone(),
            }),
            Some(_) => {
                data.user = None;
                None
            }
            None => None,
        }
    }

    /// Logs `user` in for `lifetime`, at session `generation` (read from the database just
    /// before). The CSRF token is renewed (no fixation across login).
    pub fn log_in(&self, user: CurrentUser, generation: i64, lifetime: Duration) {
        let seconds = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
        let mut data = self.lock();
        data.user = Some(SessionUser {
            id: user.id.0,
            login: user.login,
            name: user.name,
            exp: unix_now().saturating_add(seconds),
            generation,
        });
        data.csrf = Some(random_token());
        data.oauth_state = None;
    }

    /// Logs out: the whole session is cleared (the cookie is removed).
    pub fn clear(&self) {
        *self.lock() = SessionData::default();
    }

    /// The session's CSRF token, created on first use.
    pub fn csrf_token(&self) -> String {
        self.lock().csrf.get_or_insert_with(random_token).clone()
    }

    /// Constant-time comparison of a submitted token with the session's.
    pub fn csrf_matches(&self, submitted: &str) -> bool {
        use subtle::ConstantTimeEq as _;
        match &self.lock().csrf {
            Some(expected) if !submitted.is_empty() => {
                bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
            }
            _ => false,
        }
    }

    /// Queues a message saying what went wrong, for the next rendered page.
    pub fn flash(&self, message: impl Into<String>) {
        self.lock().flashes.push(message.into());
    }

    /// Queues a message confirming what was done, for the next rendered page.
    pub fn notice(&self, message: impl Into<String>) {
        self.lock().notices.push(message.into());
    }

    /// Takes the queued messages: (problems, confirmations). Done by every rendered page.
    pub fn take_flashes(&self) -> (Vec<String>, Vec<String>) {
        let mut data = self.lock();
        (
            std::mem::take(&mut data.flashes),
            std::mem::take(&mut data.notices),
        )
    }

    /// Remembers where to go after login.
    pub fn set_redirect(&self, path: Option<String>) {
        self.lock().redirect = path;
    }

    pub fn take_redirect(&self) -> Option<String> {
        self.lock().redirect.take()
    }

    /// Keeps the receipt of a ballot just cast in `election` for its confirmation page.
    pub fn set_receipt(&self, election: &str, code: String) {
        self.lock().receipt = Some(ReceiptNote {
            election: election.to_owned(),
            code,
        });
    }

    /// Takes the receipt kept for `election` (shown once); a receipt of another election stays.
    pub fn take_receipt(&self, election: &str) -> Option<String> {
        let mut data = self.lock();
        match &data.receipt {
            Some(note) if note.election == election => data.receipt.take().map(|n| n.code),
            _ => None,
        }
    }

    pub fn set_oauth_state(&self, state: Option<String>) {
        self.lock().oauth_state = state;
    }

    pub fn take_oauth_state(&self) -> Option<String> {
        self.lock().oauth_state.take()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| AppError::internal("session middleware missing"))
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        match session.user() {
            Some(u) => Ok(u),
            None => Err(found(&login_redirect_location(parts, state))),
        }
    }
}

/// Characters Werkzeug's `url_for` leaves unencoded in query values (besides alphanumerics and
/// `-._~`): `!$'()*,/:;?@`. So `$` stays literal and `=`/`+` are percent-encoded, like Elekto.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b',')
    .remove(b'/')
    .remove(b':')
    .remove(b';')
    .remove(b'?')
    .remove(b'@');

/// `/login?r=<base64(full request URL) with / → $, url-encoded>` (Elekto §4.1).
pub(crate) fn login_redirect_location(parts: &Parts, state: &AppState) -> String {
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let base = match state.config().app_url.as_deref() {
        Some(u) if !u.trim().is_empty() => u.trim().trim_end_matches('/').to_owned(),
        _ => {
            let host = parts
                .headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .or_else(|| parts.uri.authority().map(|a| a.as_str()))
                .unwrap_or("localhost");
            format!("http://{host}")
        }
    };
    let full = format!("{base}{path_and_query}");
    let encoded = base64::engine::general_purpose::STANDARD
        .encode(full.as_bytes())
        .replace('/', "$");
    format!("/login?r={}", utf8_percent_encode(&encoded, QUERY_VALUE))
}

/// Inverse of the `r` encoding: `$` → `/`, base64-decode, and keep only a same-origin path
/// (path and query of the URL), so a crafted `r` cannot redirect elsewhere.
pub(crate) fn decode_redirect(r: &str) -> Option<String> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let r = r.trim();
    if r.is_empty() {
        return None;
    }
    let bytes = LENIENT.decode(r.replace('$', "/")).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    safe_local_path(&text)
}

/// `text` as a same-origin path: a relative path is kept, an absolute URL gives its path and query.
pub(crate) fn safe_local_path(text: &str) -> Option<String> {
    let candidate = if text.starts_with('/') {
        text.to_owned()
    } else {
        let url = url::Url::parse(text).ok()?;
        if !matches!(url.scheme(), "http" | "https") {
            return None;
        }
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    };
    let ok = candidate.starts_with('/')
        && !candidate.starts_with("//")
        && !candidate.starts_with("/\\")
        && !candidate.chars().any(|c| c.is_control() || c == '\\');
    ok.then_some(candidate)
}

/// Loads the session cookie into a [`Session`] extension and writes it back when it changed.
pub(crate) async fn session_middleware(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let jar = PrivateCookieJar::from_headers(req.headers(), state.cookie_key().clone());
    let mut original: SessionData = jar
        .get(COOKIE_NAME)
        .and_then(|c| serde_json::from_str(c.value()).ok())
        .unwrap_or_default();
    // Static files need no login: they are served as anonymous (no generation lookup), and
    // the cookie is left as it is.
    if req.uri().path().starts_with("/static/") {
        original.user = None;
    }
    let mut data = original.clone();
    if let Some(user) = original.user.as_ref().filter(|u| u.exp > unix_now()) {
        match votebox_db::sessions::generation(state.db(), UserId(user.id)).await {
            Ok(current) if current == user.generation => {}
            Ok(current) => {
                // Logged out since (here or on another instance): the cookie is rewritten
                // without the login.
                tracing::debug!(
                    user_id = user.id,
                    cookie = user.generation,
                    current,
                    "session ended by a logout"
                );
                data.user = None;
            }
            Err(e) => {
                // Fail closed: anonymous for this request. The cookie is left as it is unless
                // the request changes the session, so browsing during an outage does not log
                // anyone out (a logout then still removes the cookie).
                tracing::warn!(
                    error = %e,
                    user_id = user.id,
                    "cannot check the session generation; serving the request as logged out"
                );
                data.user = None;
                original.user = None;
            }
        }
    }
    let had_cookie = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(COOKIE_NAME));
    let session = Session::new(data);
    req.extensions_mut().insert(session.clone());

    let mut resp = next.run(req).await;

    let current = session.snapshot();
    if current == original {
        return resp;
    }
    let secure = state.secure_cookies();
    if current == SessionData::default() {
        if had_cookie {
            let removal = Cookie::build((COOKIE_NAME, ""))
                .path("/")
                .http_only(true)
                .secure(secure)
                .same_site(SameSite::Lax)
                .max_age(time::Duration::ZERO)
                .expires(time::OffsetDateTime::UNIX_EPOCH)
                .build();
            if let Ok(v) = HeaderValue::from_str(&removal.encoded().to_string()) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        return resp;
    }
    let Ok(json) = serde_json::to_string(&current) else {
        return resp;
    };
    let cookie = Cookie::build((COOKIE_NAME, json))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .build();
    let jar = PrivateCookieJar::new(state.cookie_key().clone()).add(cookie);
    (jar, resp).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_paths_stay_local() {
        assert_eq!(safe_local_path("/app?x=1").as_deref(), Some("/app?x=1"));
        assert_eq!(
            safe_local_path("http://evil.example/app/elections/x?y").as_deref(),
            Some("/app/elections/x?y")
        );
        assert_eq!(safe_local_path("//evil.example/"), None);
        assert_eq!(safe_local_path("/\\evil.example"), None);
        assert_eq!(safe_local_path("javascript:alert(1)"), None);
    }

    #[test]
    fn r_round_trip() {
        let full = "http://127.0.0.1:8080/app/elections/2021---TOC?a=b";
        let enc = base64::engine::general_purpose::STANDARD
            .encode(full)
            .replace('/', "$");
        assert_eq!(
            decode_redirect(&enc).as_deref(),
            Some("/app/elections/2021---TOC?a=b")
        );
        assert_eq!(decode_redirect("!!!"), None);
    }
}
