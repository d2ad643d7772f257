//! Issue 12 items 7–10 on all three engines: logout ends every session (a copied cookie included)
//! and cannot be triggered by another site or an image; browser hardening headers and the
//! `Secure` cookie default; bounded ballot form decoding; the webhook's plain-text errors.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::cookie::CookieStore as _;
use reqwest::header::HeaderMap;

use crate::harness::{Options, PLAIN_HTTP_APP_URL, TestApp, db_test, extract_csrf, location};

fn assert_contains(body: &str, needle: &str) {
    assert!(body.contains(needle), "expected {needle:?} in:\n{body}");
}

/// The `Cookie:` header the test client would send (its whole jar for this server).
fn cookie_header(app: &TestApp) -> String {
    app.jar
        .cookies(&app.url("/").parse().expect("url"))
        .and_then(|v| v.to_str().ok().map(str::to_owned))
        .expect("the client holds a session cookie")
}

/// A second client (no cookie jar, no fetch metadata) that sends `cookie` by hand: a copy of the
/// session cookie used from somewhere else.
fn copied_cookie_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client")
}

/// GET `path` with the copied `cookie`: 200 (logged in) or 302 to the login page.
async fn logged_in_with(app: &TestApp, cookie: &str) -> bool {
    let resp = copied_cookie_client()
        .get(app.url("/app"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("GET /app");
    match resp.status() {
        StatusCode::OK => true,
        StatusCode::FOUND => {
            assert!(location(&resp).starts_with("/login?r="), "{resp:?}");
            false
        }
        s => panic!("GET /app with a copied cookie: {s}"),
    }
}

async fn logged_in(app: &TestApp) -> bool {
    match app.get("/app").await.status() {
        StatusCode::OK => true,
        StatusCode::FOUND => false,
        s => panic!("GET /app: {s}"),
    }
}

async fn generation(app: &TestApp, login: &str) -> i64 {
    let uid = app.user_id(login).await;
    votebox_db::sessions::generation(app.db(), uid)
        .await
        .expect("generation")
}

// ------------------------------------------------------------------------------------------------
// Item 7: logout ends the session for good

/// A browser of its own (cookie jar, navigation fetch metadata) logged in as `login`.
async fn other_browser(app: &TestApp, login: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_provider(std::sync::Arc::new(reqwest::cookie::Jar::default()))
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(crate::harness::browser_navigation_headers())
        .build()
        .expect("reqwest client");
    let page = client.get(app.url("/login")).send().await.unwrap();
    let token = extract_csrf(&page.text().await.unwrap()).expect("login form");
    let resp = client
        .post(app.url("/demo/login"))
        .form(&[("csrf_token", token.as_str()), ("login", login)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND, "login {login}");
    client
}

async fn browser_logged_in(app: &TestApp, client: &reqwest::Client) -> bool {
    let resp = client.get(app.url("/app")).send().await.unwrap();
    resp.status() == StatusCode::OK
}

db_test!(logout_ends_copied_sessions, |app| {
    let liggitt = other_browser(&app, "liggitt").await;
    app.login_as("dims").await;
    let copied = cookie_header(&app);
    assert!(logged_in_with(&app, &copied).await, "the copy works first");
    assert_eq!(generation(&app, "dims").await, 0);

    // Logout (the nav's POST form) ends this session and every copy of it.
    let token = app.csrf_token("/app").await;
    let resp = app.post_form("/logout", &[("csrf_token", &token)]).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), "/login");
    assert!(!logged_in(&app).await);
    assert!(!logged_in_with(&app, &copied).await, "a copied cookie dies");
    assert_eq!(generation(&app, "dims").await, 1);

    // A new login works; the old copy stays dead, and the new cookie dies at the next logout,
    // also when that logout happens in another browser (GET /logout, a same-origin navigation).
    app.login_as("dims").await;
    assert!(logged_in(&app).await);
    assert!(!logged_in_with(&app, &copied).await);
    let second = cookie_header(&app);
    assert!(logged_in_with(&app, &second).await);
    let resp = copied_cookie_client()
        .get(app.url("/logout"))
        .header("cookie", &second)
        .headers(crate::harness::browser_navigation_headers())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), "/login");
    assert!(!logged_in(&app).await, "logged out in every browser");
    assert_eq!(generation(&app, "dims").await, 2);

    // Another user's session is untouched.
    assert!(browser_logged_in(&app, &liggitt).await);
    assert_eq!(generation(&app, "liggitt").await, 0);
});

db_test!(logout_by_get_needs_a_same_origin_navigation, |app| {
    app.login_as("dims").await;
    let copied = cookie_header(&app);

    // What an <img src="/logout"> in a candidate biography sends (same origin, image), what
    // another site's image or link sends, and a client without fetch metadata: none logs out;
    // each gets a page with a CSRF-protected "Log out" button.
    let image = [
        ("sec-fetch-site", "same-origin"),
        ("sec-fetch-mode", "no-cors"),
        ("sec-fetch-dest", "image"),
    ];
    let cross_site_image = [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-mode", "no-cors"),
        ("sec-fetch-dest", "image"),
    ];
    let cross_site_link = [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-mode", "navigate"),
        ("sec-fetch-dest", "document"),
    ];
    let same_site_frame = [
        ("sec-fetch-site", "same-origin"),
        ("sec-fetch-mode", "navigate"),
        ("sec-fetch-dest", "iframe"),
    ];
    for headers in [
        &image[..],
        &cross_site_image,
        &cross_site_link,
        &same_site_frame,
        &[],
    ] {
        let mut req = copied_cookie_client()
            .get(app.url("/logout"))
            .header("cookie", &copied);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{headers:?}");
        assert!(resp.headers().get("set-cookie").is_none(), "{headers:?}");
        let body = resp.text().await.unwrap();
        assert_contains(&body, "<form method=\"post\" action=\"/logout\">");
        assert_contains(&body, "Log out");
        assert!(extract_csrf(&body).is_some(), "{body}");
        assert!(logged_in(&app).await, "{headers:?} must not log out");
        assert!(logged_in_with(&app, &copied).await);
    }
    assert_eq!(generation(&app, "dims").await, 0);

    // The page's button logs out (with the browser's own cookie and token).
    let token = {
        let mut req = app.client.get(app.url("/logout"));
        for (name, value) in cross_site_link {
            req = req.header(name, value);
        }
        let body = req.send().await.unwrap().text().await.unwrap();
        extract_csrf(&body).expect("token on the logout page")
    };
    let resp = app.post_form("/logout", &[("csrf_token", &token)]).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert!(!logged_in(&app).await);
    assert!(!logged_in_with(&app, &copied).await);

    // A typed URL or a bookmark (Sec-Fetch-Site: none) logs out directly.
    app.login_as("dims").await;
    let resp = app
        .client
        .get(app.url("/logout"))
        .header("sec-fetch-site", "none")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), "/login");
    assert!(!logged_in(&app).await);
});

db_test!(unverifiable_session_is_anonymous_but_kept, |app| {
    app.login_as("dims").await;
    // The generation cannot be read (here: its table is gone; in production: the database is
    // down). The request is served as logged out, and the cookie is not touched.
    crate::harness::exec(app.db(), "DROP TABLE votebox_user_session".to_owned()).await;
    let resp = app.get("/app").await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert!(location(&resp).starts_with("/login?r="));
    assert!(resp.headers().get("set-cookie").is_none());
    crate::harness::exec(
        app.db(),
        "CREATE TABLE votebox_user_session (user_id INTEGER NOT NULL, \
         generation BIGINT NOT NULL, PRIMARY KEY (user_id))"
            .to_owned(),
    )
    .await;
    assert!(
        logged_in(&app).await,
        "logged in again once it can be checked"
    );
});

db_test!(
    session_lifetime_is_configurable,
    Options {
        session_lifetime: Duration::from_secs(2),
        ..Options::default()
    },
    |app| {
        app.login_as("dims").await;
        assert!(logged_in(&app).await);
        tokio::time::sleep(Duration::from_millis(3100)).await;
        assert!(!logged_in(&app).await, "the login expired after 2 s");
    }
);

// ------------------------------------------------------------------------------------------------
// Item 8: browser hardening

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
        .to_str()
        .expect("ASCII header")
}

fn assert_hardened(headers: &HeaderMap, path: &str) {
    let csp = header(headers, "content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self';",
        "style-src 'self'",
        "img-src 'self' https:",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(directive), "{path}: {directive} in {csp}");
    }
    assert!(
        !csp.contains("script-src 'self' "),
        "{path}: only votebox's own script files: {csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
    assert_eq!(header(headers, "x-frame-options"), "DENY", "{path}");
    assert_eq!(header(headers, "referrer-policy"), "same-origin", "{path}");
    assert_eq!(
        header(headers, "x-content-type-options"),
        "nosniff",
        "{path}"
    );
}

db_test!(security_headers_on_every_response, |app| {
    app.login_as("dims").await;
    for path in [
        "/",
        "/elections",
        "/app",
        "/app/elections/2021---GB",
        "/app/elections/2021---GB/vote",
        "/static/css/main.css",
        "/no/such/page",
        "/health",
        "/login",
    ] {
        let resp = app.get(path).await;
        assert_hardened(resp.headers(), path);
        assert!(
            resp.headers().get("strict-transport-security").is_none(),
            "no HSTS without an https APP_URL: {path}"
        );
    }
    let resp = app.webhook(b"{}", None).await;
    assert_hardened(resp.headers(), "webhook");

    // The pages carry no inline script and no inline style for the CSP to block: the one
    // script is votebox's static file.
    let no_script_or_inline_style = |path: &str, body: &str| {
        let scripts: Vec<&str> = body
            .match_indices("<script")
            .map(|(i, _)| &body[i..])
            .collect();
        for script in scripts {
            assert!(
                script.starts_with("<script src=\"/static/js/local-time.js\" defer></script>"),
                "{path}: {script}"
            );
        }
        assert!(!body.contains("style="), "{path}");
        assert!(!body.contains("<style"), "{path}");
    };
    for path in ["/app", "/app/elections/2021---GB/vote", "/elections"] {
        no_script_or_inline_style(path, &app.ok_page(path).await);
    }
    let logout_page = app
        .client
        .get(app.url("/logout"))
        .header("sec-fetch-dest", "image")
        .send()
        .await
        .unwrap();
    assert_hardened(logout_page.headers(), "/logout (page)");
    no_script_or_inline_style("/logout", &logout_page.text().await.unwrap());
    app.get("/logout").await;
    no_script_or_inline_style("/login", &app.ok_page("/login").await);
});

db_test!(
    hsts_and_secure_cookie_over_https,
    Options {
        app_url: Some("https://elections.example.org".to_owned()),
        ..Options::github()
    },
    |app| {
        let resp = app.get("/login").await;
        assert_eq!(
            header(resp.headers(), "strict-transport-security"),
            "max-age=31536000"
        );
        assert_hardened(resp.headers(), "/login");
        // Signing in posts to /oauth/github/login, which redirects to the authorize URL: the CSP
        // lets that form redirect go to GitHub's origin.
        let csp = header(resp.headers(), "content-security-policy");
        let authorize = url::Url::parse(&app.fake_github().authorize_url()).unwrap();
        let origin = authorize.origin().ascii_serialization();
        assert!(
            csp.contains(&format!("form-action 'self' {origin};")),
            "{csp}"
        );
        let cookie = header(resp.headers(), "set-cookie");
        assert!(cookie.contains("; Secure"), "{cookie}");
    }
);

db_test!(session_cookie_is_secure_by_default, |app| {
    // No APP_URL: Secure. Browsers (and reqwest's jar) accept it on http://127.0.0.1 and
    // http://localhost, so logging in works.
    let resp = app.get("/login").await;
    let cookie = header(resp.headers(), "set-cookie").to_owned();
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    app.login_as("dims").await;
    assert!(logged_in(&app).await);
    let token = app.csrf_token("/app").await;
    let resp = app.post_form("/logout", &[("csrf_token", &token)]).await;
    let removal = header(resp.headers(), "set-cookie").to_owned();
    assert!(removal.contains("; Secure"), "{removal}");
});

db_test!(
    explicit_http_app_url_turns_secure_off,
    Options {
        app_url: Some(PLAIN_HTTP_APP_URL.to_owned()),
        ..Options::default()
    },
    |app| {
        let resp = app.get("/login").await;
        let cookie = header(resp.headers(), "set-cookie").to_owned();
        assert!(!cookie.contains("Secure"), "{cookie}");
        assert!(resp.headers().get("strict-transport-security").is_none());
        app.login_as("dims").await;
        assert!(logged_in(&app).await);
    }
);

// ------------------------------------------------------------------------------------------------
// Item 9: bounded form decoding

const VOTE: &str = "/app/elections/2021---GB/vote";

/// A vote form body with the session's token and `extra` junk fields.
async fn vote_body(app: &TestApp, fields: &[(&str, &str)], extra: usize) -> String {
    let token = app.csrf_token("/app/elections/2021---GB").await;
    let mut body = url::form_urlencoded::Serializer::new(String::new());
    body.append_pair("csrf_token", &token);
    for (k, v) in fields {
        body.append_pair(k, v);
    }
    for i in 0..extra {
        body.append_pair(&format!("junk{i}"), "x");
    }
    body.finish()
}

async fn post_body(app: &TestApp, path: &str, body: String) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("POST")
}

async fn voted(app: &TestApp, login: &str) -> bool {
    let uid = app.user_id(login).await;
    let election = votebox_db::elections::find_by_key(app.db(), "2021---GB")
        .await
        .unwrap()
        .unwrap()
        .id;
    votebox_db::voters::has_voted(app.db(), uid, login, election)
        .await
        .unwrap()
}

db_test!(ballot_form_field_count_is_capped, |app| {
    // 2021---GB has 3 candidates: at most 2 × 3 + 16 = 22 fields.
    app.login_as("dims").await;
    let body = vote_body(&app, &[("password", "")], 40).await;
    let resp = post_body(&app, VOTE, body).await;
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let page = resp.text().await.unwrap();
    assert_contains(&page, "The ballot form has too many fields (at most 22");
    assert!(!voted(&app, "dims").await, "nothing written");

    // Within the cap, the usual validation answers (here: a candidate sent twice).
    let body = vote_body(
        &app,
        &[
            ("candidate@dims", "1"),
            ("candidate@dims", "2"),
            ("password", "secret-passphrase"),
        ],
        3,
    )
    .await;
    let resp = post_body(&app, VOTE, body).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_contains(
        &resp.text().await.unwrap(),
        "The candidate dims was ranked more than once.",
    );
    assert!(!voted(&app, "dims").await);

    // The largest body the form limit lets through (256 KiB of tiny fields) is refused quickly.
    let token = app.csrf_token("/app/elections/2021---GB").await;
    let mut huge = format!("csrf_token={token}");
    while huge.len() < 250 * 1024 {
        huge.push_str("&candidate@dims=1");
    }
    let started = std::time::Instant::now();
    let resp = post_body(&app, VOTE, huge).await;
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
});

db_test!(eligibility_and_status_come_before_the_form, |app| {
    // Not a voter: "Not Eligible" whatever the form holds (it is never decoded).
    app.login_as("mallory").await;
    let body = vote_body(&app, &[], 1000).await;
    let resp = post_body(&app, VOTE, body).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_contains(&resp.text().await.unwrap(), "Not Eligible");
    for path in [
        "/app/elections/2021---GB/vote/view",
        "/app/elections/2021---GB/vote/edit",
    ] {
        let body = vote_body(&app, &[("password", "x")], 1000).await;
        let resp = post_body(&app, path, body).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
    }

    // A voter of a completed election (dims votes in 2021---TOC): "Voting is closed", not a form error.
    app.get("/logout").await;
    app.login_as("dims").await;
    let token = app.csrf_token("/app/elections/2021---TOC").await;
    let mut body = format!("csrf_token={token}");
    for i in 0..1000 {
        body.push_str(&format!("&candidate@c{i}=1"));
    }
    let resp = post_body(&app, "/app/elections/2021---TOC/vote", body).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_contains(&resp.text().await.unwrap(), "Voting is closed");
});

// ------------------------------------------------------------------------------------------------
// Item 10: the webhook's errors are plain text

db_test!(webhook_errors_are_plain_text, |app| {
    let body = br#"{"zen":"Design for failure."}"#;
    let wrong = votebox_meta::signature_header("another-secret", body);
    for signature in [None, Some("sha1=abc"), Some(wrong.as_str())] {
        let resp = app.webhook(body, signature).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            header(resp.headers(), "content-type"),
            "text/plain; charset=utf-8"
        );
        let text = resp.text().await.unwrap();
        assert!(!text.contains('<'), "{text}");
        assert!(text.contains("X-Hub-Signature-256"), "{text}");
    }
});
