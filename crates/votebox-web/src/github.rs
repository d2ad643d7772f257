//! GitHub OAuth: the authorization-code flow (oauth2 5.0 over reqwest 0.13) and `GET /user`.
//!
//! The three endpoints come from the configuration (`GITHUB_AUTHORIZE_URL`,
//! `GITHUB_ACCESS_TOKEN_URL`, `GITHUB_API_URL`), so GitHub Enterprise (`https://HOST/login/oauth/…`,
//! API `https://HOST/api/v3`) and the tests' fake provider on loopback are just other values.
//!
//! As Elekto: no `redirect_uri` is sent (GitHub uses the OAuth App's registered callback), the
//! client authenticates to the token endpoint with HTTP Basic (client_secret_basic), the body is
//! `grant_type=authorization_code&code=…`, `Accept: application/json`. Differences: the scope is
//! `read:user` (Elekto's `user:login,name` is not a GitHub scope), and every call has a 10 s
//! timeout and follows no redirects.
//!
//! GitHub answers token errors (a used or expired code, wrong client credentials) with **HTTP
//! 200** and an `error` field. The HTTP adapter below turns such a 200 into a 400 so that oauth2
//! reports it as a server error response ([`GithubError::Refused`]) instead of a parse failure.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use oauth2::basic::{BasicClient, BasicErrorResponse};
use oauth2::{
    AsyncHttpClient, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, HttpRequest, HttpResponse, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use serde::Deserialize;

use crate::config::WebConfig;

/// Timeout of each call to GitHub (token exchange, `GET /user`), connection included.
pub(crate) const GITHUB_TIMEOUT: Duration = Duration::from_secs(10);
/// The scope asked for: read access to the public profile (enough for `GET /user`).
pub(crate) const GITHUB_SCOPE: &str = "read:user";
/// `User-Agent` of every call (GitHub's API refuses requests without one).
const USER_AGENT: &str = "votebox";
/// Largest response body read from GitHub.
const MAX_BODY: usize = 1024 * 1024;

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// A configured GitHub OAuth App (built once, shared by every request).
pub(crate) struct Github {
    client: Client,
    http: Http,
    user_url: String,
}

/// The account GitHub says the token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct GithubUser {
    /// GitHub's numeric user id (stable across renames).
    pub id: i64,
    /// The login in GitHub's canonical case.
    pub login: String,
    /// Display name; GitHub sends `null` when none is set.
    #[serde(default)]
    pub name: Option<String>,
}

/// Why a login could not be completed. Every case is a page for the user, never a 500.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GithubError {
    /// The token endpoint refused the code (`bad_verification_code`, `incorrect_client_credentials`…).
    #[error("GitHub refused the authorization code: {error}{}", .description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Refused {
        error: String,
        description: Option<String>,
    },
    /// GitHub could not be reached (connection refused, DNS, TLS, timeout).
    #[error("GitHub could not be reached: {0}")]
    Unreachable(String),
    /// GitHub answered something unexpected (status, content type, missing fields).
    #[error("unexpected answer from GitHub: {0}")]
    BadResponse(String),
}

impl Github {
    /// The OAuth App of `config`; `Ok(None)` when `GITHUB_CLIENT_ID` is not set, `Err` when a URL
    /// is unusable or the HTTP client cannot be built.
    pub(crate) fn from_config(config: &WebConfig) -> Result<Option<Github>, String> {
        let Some(client_id) = config
            .github_client_id
            .as_deref()
            .filter(|s| !s.trim().is_empty())
        else {
            return Ok(None);
        };
        let auth_url = AuthUrl::new(config.github_authorize_url.trim().to_owned())
            .map_err(|e| format!("GITHUB_AUTHORIZE_URL: {e}"))?;
        let token_url = TokenUrl::new(config.github_access_token_url.trim().to_owned())
            .map_err(|e| format!("GITHUB_ACCESS_TOKEN_URL: {e}"))?;
        let api = config.github_api_url.trim().trim_end_matches('/');
        let user_url = format!("{api}/user");
        url::Url::parse(&user_url).map_err(|e| format!("GITHUB_API_URL: {e}"))?;

        let mut client = BasicClient::new(ClientId::new(client_id.trim().to_owned()))
            .set_auth_uri(auth_url)
            .set_token_uri(token_url);
        if let Some(secret) = config.github_client_secret.as_deref() {
            client = client.set_client_secret(ClientSecret::new(secret.to_owned()));
        }
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(GITHUB_TIMEOUT)
            .connect_timeout(GITHUB_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Some(Github {
            client,
            http: Http(http),
            user_url,
        }))
    }

    /// `<authorize_url>?response_type=code&client_id=…&state=…&scope=read%3Auser` (no
    /// `redirect_uri`).
    pub(crate) fn authorize_url(&self, state: &str) -> String {
        let state = state.to_owned();
        let (url, _) = self
            .client
            .authorize_url(move || CsrfToken::new(state))
            .add_scope(Scope::new(GITHUB_SCOPE.to_owned()))
            .url();
        url.into()
    }

    /// Exchanges the authorization code for an access token.
    pub(crate) async fn exchange_code(&self, code: &str) -> Result<String, GithubError> {
        let response = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        Ok(response.access_token().secret().clone())
    }

    /// `GET <api>/user` with the access token.
    pub(crate) async fn user(&self, token: &str) -> Result<GithubUser, GithubError> {
        let response = self
            .http
            .0
            .get(&self.user_url)
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .send()
            .await
            .map_err(request_error)?;
        let status = response.status();
        let body = read_body(response).await.map_err(request_error)?;
        if !status.is_success() {
            return Err(GithubError::BadResponse(format!(
                "GET /user answered HTTP {status}"
            )));
        }
        let user: GithubUser = serde_json::from_slice(&body)
            .map_err(|e| GithubError::BadResponse(format!("GET /user: {e}")))?;
        let login_ok = !user.login.trim().is_empty()
            && user.login.len() <= 255
            && !user.login.chars().any(char::is_control);
        if !login_ok {
            return Err(GithubError::BadResponse(
                "GET /user gave an unusable login".to_owned(),
            ));
        }
        Ok(user)
    }
}

fn request_error(e: reqwest::Error) -> GithubError {
    if e.is_connect() || e.is_timeout() {
        GithubError::Unreachable(error_chain(&e))
    } else {
        GithubError::BadResponse(error_chain(&e))
    }
}

/// `e: cause: cause…` (reqwest's own message is terse).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn token_error(e: RequestTokenError<reqwest::Error, BasicErrorResponse>) -> GithubError {
    match e {
        RequestTokenError::ServerResponse(r) => GithubError::Refused {
            error: r.error().as_ref().to_owned(),
            description: r.error_description().cloned(),
        },
        RequestTokenError::Request(e) => request_error(e),
        RequestTokenError::Parse(e, _) => GithubError::BadResponse(format!("token response: {e}")),
        RequestTokenError::Other(m) => GithubError::BadResponse(format!("token response: {m}")),
    }
}

/// Reads at most [`MAX_BODY`] bytes.
async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_BODY {
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// oauth2's HTTP client over reqwest 0.13 (oauth2's own `reqwest` feature pins 0.12).
struct Http(reqwest::Client);

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = reqwest::Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request)?;
            let response = self.0.execute(request).await?;
            let mut status = response.status();
            let mut builder = http_response_builder(&response);
            let body = read_body(response).await?;
            if status == reqwest::StatusCode::OK && has_error_field(&body) {
                // GitHub's token errors come with 200: make them errors for oauth2.
                status = reqwest::StatusCode::BAD_REQUEST;
            }
            builder = builder.status(status);
            Ok(builder
                .body(body)
                .expect("status and headers come from a valid response"))
        })
    }
}

fn http_response_builder(response: &reqwest::Response) -> oauth2::http::response::Builder {
    let mut builder = oauth2::http::Response::builder();
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    builder
}

/// Whether a JSON body is an object with an `error` member.
fn has_error_field(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        error: Option<serde_json::Value>,
    }
    serde_json::from_slice::<Probe>(body).is_ok_and(|p| p.error.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> WebConfig {
        WebConfig {
            github_client_id: Some("cid".to_owned()),
            github_client_secret: Some("secret".to_owned()),
            github_authorize_url: "https://ghe.example/login/oauth/authorize?x=1".to_owned(),
            github_api_url: "https://ghe.example/api/v3/".to_owned(),
            ..WebConfig::new("unit", "unit-key")
        }
    }

    #[test]
    fn not_configured_without_client_id() {
        assert!(
            Github::from_config(&WebConfig::new("unit", "k"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn authorize_url_has_elekto_params_and_no_redirect_uri() {
        let gh = Github::from_config(&config()).unwrap().unwrap();
        let url = url::Url::parse(&gh.authorize_url("st4te")).unwrap();
        assert_eq!(url.host_str(), Some("ghe.example"));
        assert_eq!(url.path(), "/login/oauth/authorize");
        let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("x"), Some("1"));
        assert_eq!(get("response_type"), Some("code"));
        assert_eq!(get("client_id"), Some("cid"));
        assert_eq!(get("state"), Some("st4te"));
        assert_eq!(get("scope"), Some("read:user"));
        assert_eq!(get("redirect_uri"), None);
        assert_eq!(gh.user_url, "https://ghe.example/api/v3/user");
    }

    #[test]
    fn bad_urls_are_reported() {
        let c = WebConfig {
            github_access_token_url: "not a url".to_owned(),
            ..config()
        };
        assert!(
            Github::from_config(&c)
                .err()
                .unwrap()
                .contains("GITHUB_ACCESS_TOKEN_URL")
        );
    }

    #[test]
    fn error_field_detection() {
        assert!(has_error_field(br#"{"error":"bad_verification_code"}"#));
        assert!(!has_error_field(
            br#"{"access_token":"x","token_type":"bearer"}"#
        ));
        assert!(!has_error_field(b"<html>"));
    }
}
