//! The web layer's settings, read by the binary from Elekto's environment variables.

use std::fmt;
use std::time::Duration;

/// Web settings, read by the binary from Elekto's environment variables.
/// [`WebConfig::new`] gives the defaults (GitHub login not configured).
#[derive(Clone)]
pub struct WebConfig {
    /// `APP_NAME`: shown in the breadcrumb `elekto (<APP_NAME>)`, page titles and error pages.
    pub app_name: String,
    /// `APP_KEY`: the session cookie key is derived from it.
    pub app_key: String,
    /// `APP_URL`: public base URL. Optional. The session cookie is `Secure` unless it is an
    /// explicit `http://` URL; `https://` also turns on HSTS.
    pub app_url: Option<String>,
    /// `APP_DEBUG`.
    pub debug: bool,
    /// `META_SECRET`: the webhook's HMAC key. `None` disables the webhook (500).
    pub meta_secret: Option<String>,
    /// `GITHUB_REDIRECT`: path of the OAuth callback.
    pub github_redirect: String,
    /// `MIN_PASSCODE_LENGTH`.
    pub min_passcode_length: usize,
    /// Offer a login form without GitHub (demo instances and tests only).
    pub demo_login: bool,
    /// `GITHUB_CLIENT_ID`: the OAuth App. `None`: GitHub login answers 501 "not configured".
    pub github_client_id: Option<String>,
    /// `GITHUB_CLIENT_SECRET`.
    pub github_client_secret: Option<String>,
    /// `GITHUB_AUTHORIZE_URL` (default [`DEFAULT_GITHUB_AUTHORIZE_URL`]).
    pub github_authorize_url: String,
    /// `GITHUB_ACCESS_TOKEN_URL` (default [`DEFAULT_GITHUB_ACCESS_TOKEN_URL`]).
    pub github_access_token_url: String,
    /// `GITHUB_API_URL` (default [`DEFAULT_GITHUB_API_URL`]); the user is read from `<it>/user`.
    pub github_api_url: String,
    /// `VOTEBOX_KDF_CONCURRENCY`: how many ballot KDFs (Argon2i, 512 MiB each) may run at once
    /// (at least 1). The binary defaults it from cores and memory ([`crate::kdf_concurrency_for`]).
    pub kdf_concurrency: usize,
    /// `VOTEBOX_SESSION_LIFETIME_SECONDS`: how long a login lasts (default
    /// [`DEFAULT_SESSION_LIFETIME`], Elekto's `token_expires_at`).
    pub session_lifetime: Duration,
}

/// A login lasts one day, like Elekto's `token_expires_at = now + 1 day`.
pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

pub const DEFAULT_GITHUB_REDIRECT: &str = "/oauth/github/callback";
pub const DEFAULT_GITHUB_AUTHORIZE_URL: &str = "https://github.com/login/oauth/authorize";
pub const DEFAULT_GITHUB_ACCESS_TOKEN_URL: &str = "https://github.com/login/oauth/access_token";
pub const DEFAULT_GITHUB_API_URL: &str = "https://api.github.com";

impl WebConfig {
    /// Elekto's defaults for everything but the name and key: no `APP_URL`, no webhook secret,
    /// callback `/oauth/github/callback`, `MIN_PASSCODE_LENGTH` 6, no demo login, GitHub login
    /// not configured (github.com endpoints).
    pub fn new(app_name: impl Into<String>, app_key: impl Into<String>) -> WebConfig {
        WebConfig {
            app_name: app_name.into(),
            app_key: app_key.into(),
            app_url: None,
            debug: false,
            meta_secret: None,
            github_redirect: DEFAULT_GITHUB_REDIRECT.to_owned(),
            min_passcode_length: 6,
            demo_login: false,
            github_client_id: None,
            github_client_secret: None,
            github_authorize_url: DEFAULT_GITHUB_AUTHORIZE_URL.to_owned(),
            github_access_token_url: DEFAULT_GITHUB_ACCESS_TOKEN_URL.to_owned(),
            github_api_url: DEFAULT_GITHUB_API_URL.to_owned(),
            kdf_concurrency: 1,
            session_lifetime: DEFAULT_SESSION_LIFETIME,
        }
    }

    /// `APP_URL` is an explicit `http://` URL: the only case in which the session cookie is not
    /// `Secure` (a plain-http deployment, or a browser that refuses Secure cookies on
    /// `http://localhost`).
    pub fn app_url_is_http(&self) -> bool {
        self.app_url_scheme().as_deref() == Some("http")
    }

    /// `APP_URL` is an `https://` URL: HSTS is sent.
    pub fn app_url_is_https(&self) -> bool {
        self.app_url_scheme().as_deref() == Some("https")
    }

    fn app_url_scheme(&self) -> Option<String> {
        let url = self.app_url.as_deref()?.trim();
        let (scheme, _) = url.split_once("://")?;
        Some(scheme.to_ascii_lowercase())
    }
}

/// Secrets (`APP_KEY`, `META_SECRET`, `GITHUB_CLIENT_SECRET`) are not printed.
impl fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |s: &Option<String>| s.as_ref().map(|_| "***");
        f.debug_struct("WebConfig")
            .field("app_name", &self.app_name)
            .field("app_url", &self.app_url)
            .field("debug", &self.debug)
            .field("meta_secret", &hidden(&self.meta_secret))
            .field("github_redirect", &self.github_redirect)
            .field("min_passcode_length", &self.min_passcode_length)
            .field("demo_login", &self.demo_login)
            .field("github_client_id", &self.github_client_id)
            .field("github_client_secret", &hidden(&self.github_client_secret))
            .field("github_authorize_url", &self.github_authorize_url)
            .field("github_access_token_url", &self.github_access_token_url)
            .field("github_api_url", &self.github_api_url)
            .field("kdf_concurrency", &self.kdf_concurrency)
            .field("session_lifetime", &self.session_lifetime)
            .finish_non_exhaustive()
    }
}
