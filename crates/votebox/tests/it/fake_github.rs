//! A fake GitHub OAuth provider on `127.0.0.1:0`, enough for votebox's login flow:
//!
//! * `GET /login/oauth/authorize`: consents at once (or denies, when told to) and sends 302 to the
//!   app's callback with `code` + `state` (or `error=access_denied` + `state`), as GitHub does for
//!   an OAuth App whose callback URL is registered (no `redirect_uri` needed);
//! * `POST /login/oauth/access_token`: checks HTTP Basic client credentials and the one-time code;
//!   answers errors like GitHub, with **200** and `{"error": …}`; answers form-encoded text when
//!   the client does not ask for JSON (as GitHub does);
//! * `GET /api/v3/user` (a GitHub Enterprise-style API base): `id`, `login`, `name` of the token's
//!   account; 401 for a bad token, 403 without a `User-Agent`.
//!
//! Every request is recorded so tests can assert what votebox sent.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const CLIENT_ID: &str = "fake-client-id";
/// Has characters that client_secret_basic must URL-encode before Base64 (RFC 6749 §2.3.1).
pub const CLIENT_SECRET: &str = "fake secret/+=";

/// A GitHub account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeUser {
    pub id: i64,
    pub login: String,
    pub name: Option<String>,
}

impl FakeUser {
    /// The account `login`, with an id derived from the lower-cased login (so the same login
    /// always is the same account) and the name `Name of <login>`.
    pub fn for_login(login: &str) -> FakeUser {
        FakeUser {
            id: id_for(login),
            login: login.to_owned(),
            name: Some(format!("Name of {login}")),
        }
    }
}

/// FNV-1a of the lower-cased login, kept positive and below 2^40.
pub fn id_for(login: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in login.to_ascii_lowercase().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % (1 << 40)) as i64 + 1
}

/// What votebox sent to the token endpoint.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub authorization: Option<String>,
    pub accept: Option<String>,
    pub content_type: Option<String>,
    pub form: Vec<(String, String)>,
}

/// What votebox sent to `GET /user`.
#[derive(Debug, Clone)]
pub struct UserRequest {
    pub authorization: Option<String>,
    pub accept: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Default)]
struct FakeState {
    callback: Option<String>,
    next_user: Option<FakeUser>,
    deny: bool,
    token_error: Option<String>,
    counter: u64,
    codes: HashMap<String, FakeUser>,
    tokens: HashMap<String, FakeUser>,
    authorize_requests: Vec<Vec<(String, String)>>,
    token_requests: Vec<TokenRequest>,
    user_requests: Vec<UserRequest>,
}

type Shared = Arc<Mutex<FakeState>>;

fn lock(s: &Shared) -> MutexGuard<'_, FakeState> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct FakeGithub {
    pub base: String,
    state: Shared,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl FakeGithub {
    pub async fn start() -> FakeGithub {
        let state: Shared = Arc::default();
        let app = Router::new()
            .route("/login/oauth/authorize", get(authorize))
            .route("/login/oauth/access_token", post(access_token))
            .route("/api/v3/user", get(user))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake GitHub");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        FakeGithub {
            base: format!("http://{addr}"),
            state,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub fn authorize_url(&self) -> String {
        format!("{}/login/oauth/authorize", self.base)
    }

    pub fn access_token_url(&self) -> String {
        format!("{}/login/oauth/access_token", self.base)
    }

    pub fn api_url(&self) -> String {
        format!("{}/api/v3", self.base)
    }

    /// The OAuth App's registered callback URL (the app's address is known after it started).
    pub fn set_callback(&self, url: String) {
        lock(&self.state).callback = Some(url);
    }

    /// The account that consents at the next authorize request.
    pub fn sign_in_as(&self, user: FakeUser) {
        lock(&self.state).next_user = Some(user);
    }

    /// Whether the user presses "Cancel" on the consent page.
    pub fn deny(&self, deny: bool) {
        lock(&self.state).deny = deny;
    }

    /// Makes the token endpoint answer `200 {"error": error}` (None: normal behaviour).
    pub fn token_error(&self, error: Option<&str>) {
        lock(&self.state).token_error = error.map(str::to_owned);
    }

    /// Query pairs of every authorize request.
    pub fn authorize_requests(&self) -> Vec<Vec<(String, String)>> {
        lock(&self.state).authorize_requests.clone()
    }

    pub fn token_requests(&self) -> Vec<TokenRequest> {
        lock(&self.state).token_requests.clone()
    }

    pub fn user_requests(&self) -> Vec<UserRequest> {
        lock(&self.state).user_requests.clone()
    }

    /// A code for `user` as the authorize endpoint would issue it (for hand-made callbacks).
    pub fn issue_code(&self, user: FakeUser) -> String {
        let mut s = lock(&self.state);
        s.counter += 1;
        let code = format!("code{}", s.counter);
        s.codes.insert(code.clone(), user);
        code
    }

    /// Stops the server and waits until its port is closed (an unreachable provider).
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn redirect(location: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location.to_owned())]).into_response()
}

async fn authorize(
    State(state): State<Shared>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let mut s = lock(&state);
    s.authorize_requests.push(query.clone());
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if get("client_id").as_deref() != Some(CLIENT_ID) {
        return (StatusCode::NOT_FOUND, "unknown client_id").into_response();
    }
    let Some(callback) = s.callback.clone() else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "no callback registered").into_response();
    };
    let mut url = url::Url::parse(&callback).expect("callback URL");
    {
        let mut pairs = url.query_pairs_mut();
        if s.deny {
            pairs.append_pair("error", "access_denied");
            pairs.append_pair(
                "error_description",
                "The user has denied your application access.",
            );
        } else {
            let Some(user) = s.next_user.clone() else {
                return (StatusCode::BAD_REQUEST, "test did not say who signs in").into_response();
            };
            s.counter += 1;
            let code = format!("code{}", s.counter);
            s.codes.insert(code.clone(), user);
            pairs.append_pair("code", &code);
        }
        if let Some(st) = get("state") {
            pairs.append_pair("state", &st);
        }
    }
    redirect(url.as_str())
}

fn json(body: serde_json::Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

fn token_error(error: &str) -> Response {
    json(serde_json::json!({
        "error": error,
        "error_description": format!("fake GitHub: {error}"),
        "error_uri": "https://docs.github.com/apps/troubleshooting",
    }))
}

/// Basic credentials as RFC 6749 §2.3.1 sends them: each part URL-encoded, then Base64.
fn basic_ok(authorization: Option<&str>) -> bool {
    let Some(b64) = authorization.and_then(|a| a.strip_prefix("Basic ")) else {
        return false;
    };
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64) else {
        return false;
    };
    let Ok(raw) = String::from_utf8(raw) else {
        return false;
    };
    let Some((id, secret)) = raw.split_once(':') else {
        return false;
    };
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    decode(id).as_deref() == Some(CLIENT_ID) && decode(secret).as_deref() == Some(CLIENT_SECRET)
}

async fn access_token(State(state): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let request = TokenRequest {
        authorization: header_text(&headers, header::AUTHORIZATION),
        accept: header_text(&headers, header::ACCEPT),
        content_type: header_text(&headers, header::CONTENT_TYPE),
        form: form.clone(),
    };
    let mut s = lock(&state);
    s.token_requests.push(request.clone());
    if !request
        .accept
        .as_deref()
        .is_some_and(|a| a.contains("application/json"))
    {
        // GitHub's default answer format.
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/x-www-form-urlencoded")],
            "error=not_asked_for_json",
        )
            .into_response();
    }
    if let Some(e) = s.token_error.clone() {
        return token_error(&e);
    }
    if !basic_ok(request.authorization.as_deref()) {
        return token_error("incorrect_client_credentials");
    }
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if get("grant_type") != Some("authorization_code") {
        return token_error("unsupported_grant_type");
    }
    let Some(user) = get("code").and_then(|c| s.codes.remove(c)) else {
        return token_error("bad_verification_code");
    };
    s.counter += 1;
    let token = format!("gho_fake{}", s.counter);
    s.tokens.insert(token.clone(), user);
    json(serde_json::json!({
        "access_token": token,
        "token_type": "bearer",
        "scope": "read:user",
    }))
}

async fn user(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let request = UserRequest {
        authorization: header_text(&headers, header::AUTHORIZATION),
        accept: header_text(&headers, header::ACCEPT),
        user_agent: header_text(&headers, header::USER_AGENT),
    };
    let mut s = lock(&state);
    s.user_requests.push(request.clone());
    if request.user_agent.is_none() {
        return (
            StatusCode::FORBIDDEN,
            "Request forbidden by administrative rules.",
        )
            .into_response();
    }
    let account = request
        .authorization
        .as_deref()
        .and_then(|a| a.strip_prefix("Bearer "))
        .and_then(|t| s.tokens.get(t).cloned());
    match account {
        Some(u) => json(serde_json::json!({
            "login": u.login,
            "id": u.id,
            "node_id": "MDQ6VXNlcjE=",
            "type": "User",
            "site_admin": false,
            "name": u.name,
        })),
        None => (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            r#"{"message":"Bad credentials","status":"401"}"#,
        )
            .into_response(),
    }
}
