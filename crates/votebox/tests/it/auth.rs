//! GitHub OAuth login, logout, session cookie and identity, against the fake provider
//! (`fake_github.rs`), on all three engines (checklist numbers from `elekto-reference.md` §9).

use base64::Engine as _;
use reqwest::StatusCode;
use votebox_db::users::LoginDetails;
use votebox_db::{identity, users};

use crate::fake_github::{FakeUser, id_for};
use crate::harness::{Options, PLAIN_HTTP_APP_URL, TestApp, db_test, extract_csrf, location};

const GB: &str = "Select our 2021 General Board Rep";
const BAD_STATE: &str = "Missing or Invalid csrf token";

fn assert_contains(body: &str, needle: &str) {
    assert!(body.contains(needle), "expected {needle:?} in:\n{body}");
}

fn assert_lacks(body: &str, needle: &str) {
    assert!(
        !body.contains(needle),
        "did not expect {needle:?} in:\n{body}"
    );
}

/// `r` as Elekto builds it: base64 of `url`, `/` → `$` (not yet URL-encoded).
fn r_value(url: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(url)
        .replace('/', "$")
        .replace('+', "%2B")
        .replace('=', "%3D")
}

fn query_pairs(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .unwrap_or_else(|e| panic!("{url}: {e}"))
        .query_pairs()
        .into_owned()
        .collect()
}

fn param(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// Starts the flow (login page → POST `/oauth/github/login`) and returns the authorize URL.
async fn start_login(app: &TestApp) -> String {
    let token = app.csrf_token("/login").await;
    let resp = app
        .post_form("/oauth/github/login", &[("csrf_token", &token)])
        .await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    location(&resp)
}

/// Follows the fake authorize URL and returns the callback URL it sends back to.
async fn consent(app: &TestApp, authorize: &str) -> String {
    let resp = app.client.get(authorize).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    location(&resp)
}

async fn get_abs(app: &TestApp, url: &str) -> (StatusCode, String) {
    let resp = app.client.get(url).send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

async fn user_row(app: &TestApp, login: &str) -> users::UserRow {
    identity::find_by_github_id(app.db(), id_for(login))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no user row for GitHub account {login}"))
}

/// Logged in: `/app` answers 200; else 302 to the login page.
async fn logged_in(app: &TestApp) -> bool {
    match app.get("/app").await.status() {
        StatusCode::OK => true,
        StatusCode::FOUND => false,
        s => panic!("GET /app: {s}"),
    }
}

// ------------------------------------------------------------------------------------------------
// Login page and authorize redirect

db_test!(checklist_24_login_page, Options::github(), |app| {
    let body = app.ok_page("/login").await;
    assert_contains(&body, "Sign in with Github");
    assert_contains(&body, "method=\"post\" action=\"/oauth/github/login\"");
    assert!(extract_csrf(&body).is_some_and(|t| !t.is_empty()));
    // `r` is passed through to the form.
    let body = app.ok_page("/login?r=abc%24def%3D").await;
    assert_contains(&body, "action=\"/oauth/github/login?r=abc%24def%3D\"");

    // Logged in: /login → /app.
    assert_eq!(app.login_via_github("dims").await, "/app");
    let resp = app.get("/login").await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), "/app");
});

db_test!(checklist_4_25_authorize_url, Options::github(), |app| {
    let gh = app.fake_github();
    let authorize = start_login(&app).await;
    assert!(
        authorize.starts_with(&format!("{}?", gh.authorize_url())),
        "{authorize}"
    );
    let q = query_pairs(&authorize);
    assert_eq!(param(&q, "response_type").as_deref(), Some("code"));
    assert_eq!(
        param(&q, "client_id").as_deref(),
        Some(crate::fake_github::CLIENT_ID)
    );
    assert_eq!(param(&q, "scope").as_deref(), Some("read:user"));
    assert_eq!(
        param(&q, "redirect_uri"),
        None,
        "checklist 4: no redirect_uri"
    );
    let state = param(&q, "state").expect("state");
    assert!(state.len() >= 32, "{state}");

    // Every attempt gets a new state; the one in the session is the latest.
    let again = param(&query_pairs(&start_login(&app).await), "state").unwrap();
    assert_ne!(again, state);
    gh.sign_in_as(FakeUser::for_login("dims"));
    let code = gh.issue_code(FakeUser::for_login("dims"));
    let (status, _) = get_abs(
        &app,
        &app.url(&format!("/oauth/github/callback?code={code}&state={state}")),
    )
    .await;
    assert_eq!(status, StatusCode::FOUND);
    assert!(!logged_in(&app).await, "a stale state must not log in");

    // The POST is CSRF-checked.
    let resp = app
        .post_form("/oauth/github/login", &[("csrf_token", "forged")])
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.headers().get("location").is_none());
});

// ------------------------------------------------------------------------------------------------
// Callback

db_test!(checklist_26_state_checked, Options::github(), |app| {
    let gh = app.fake_github();
    let code = gh.issue_code(FakeUser::for_login("dims"));

    // No state in the session, none in the query.
    let resp = app
        .get(&format!("/oauth/github/callback?code={code}"))
        .await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), "/login");
    assert_contains(&app.ok_page("/login").await, BAD_STATE);

    // A state in the session, a wrong one in the query: refused, and the real one is spent.
    let authorize = start_login(&app).await;
    let state = param(&query_pairs(&authorize), "state").unwrap();
    for query in [
        format!("code={code}&state=wrong"),
        format!("code={code}"),
        format!("code={code}&state="),
        format!("code={code}&state={state}"),
    ] {
        let resp = app.get(&format!("/oauth/github/callback?{query}")).await;
        assert_eq!(resp.status(), StatusCode::FOUND, "{query}");
        assert_eq!(location(&resp), "/login", "{query}");
        assert_contains(&app.ok_page("/login").await, BAD_STATE);
    }
    assert!(!logged_in(&app).await);
    assert!(
        gh.token_requests().is_empty(),
        "no exchange without a valid state"
    );
});

db_test!(
    checklist_26_login_creates_and_updates_user,
    Options::github(),
    |app| {
        let gh = app.fake_github();
        let before = votebox_db::utc_now();
        assert_eq!(app.login_via_github("dims").await, "/app");
        let after = votebox_db::utc_now();
        assert!(logged_in(&app).await);
        assert_contains(&app.ok_page("/app").await, "Name of dims");

        let row = user_row(&app, "dims").await;
        assert_eq!(row.username.as_deref(), Some("dims"));
        assert_eq!(row.name.as_deref(), Some("Name of dims"));
        let token = row.token.clone().expect("token stored");
        assert!(token.starts_with("gho_fake"), "{token}");
        let expires = row.token_expires_at.expect("expiry stored");
        let day = time::Duration::days(1);
        let slack = time::Duration::seconds(2);
        assert!(
            expires >= before + day - slack && expires <= after + day + slack,
            "{expires} not ≈ now + 1 day"
        );
        assert_eq!(
            identity::github_id_of(app.db(), row.id).await.unwrap(),
            Some(id_for("dims"))
        );

        // What went over the wire, as Elekto sends it.
        let t = gh.token_requests().pop().unwrap();
        let basic = t.authorization.expect("HTTP Basic client authentication");
        assert!(basic.starts_with("Basic "), "{basic}");
        assert!(t.accept.unwrap().contains("application/json"));
        assert!(
            t.content_type
                .unwrap()
                .starts_with("application/x-www-form-urlencoded")
        );
        assert_eq!(
            param(&t.form, "grant_type").as_deref(),
            Some("authorization_code")
        );
        assert!(param(&t.form, "code").is_some());
        assert_eq!(param(&t.form, "redirect_uri"), None);
        assert_eq!(
            param(&t.form, "client_secret"),
            None,
            "secret only in the header"
        );
        let u = gh.user_requests().pop().unwrap();
        assert_eq!(u.authorization, Some(format!("Bearer {token}")));
        assert_eq!(u.accept.as_deref(), Some("application/vnd.github+json"));
        assert_eq!(u.user_agent.as_deref(), Some("votebox"));

        // Second login (name changed on GitHub): same row, new token, name kept (as Elekto).
        app.get("/logout").await;
        let renamed = FakeUser {
            name: Some("Dims Renamed".to_owned()),
            ..FakeUser::for_login("dims")
        };
        assert_eq!(app.login_via_github_as(renamed, "").await, "/app");
        let again = user_row(&app, "dims").await;
        assert_eq!(again.id, row.id);
        assert_eq!(again.name.as_deref(), Some("Name of dims"));
        assert_ne!(again.token.as_deref(), Some(token.as_str()));
        assert!(again.token.is_some());
    }
);

db_test!(checklist_26_redirect_target, Options::github(), |app| {
    // A saved same-origin target.
    let r = r_value(&app.url("/app/elections/2021---GB"));
    assert_eq!(
        app.login_via_github_as(FakeUser::for_login("dims"), &r)
            .await,
        "/app/elections/2021---GB"
    );
    app.get("/logout").await;

    // Another site: only its path is kept (no open redirect).
    let r = r_value("https://evil.example/app/elections/xss?x=1");
    assert_eq!(
        app.login_via_github_as(FakeUser::for_login("dims"), &r)
            .await,
        "/app/elections/xss?x=1"
    );
    app.get("/logout").await;

    // Scheme-relative, backslash tricks, javascript: and invalid base64: ignored → /app.
    for bad in [
        r_value("//evil.example/app"),
        r_value("/\\evil.example/app"),
        r_value("javascript:alert(1)"),
        "!!!not-base64!!!".to_owned(),
        "%FF%FE".to_owned(),
    ] {
        assert_eq!(
            app.login_via_github_as(FakeUser::for_login("dims"), &bad)
                .await,
            "/app",
            "r={bad}"
        );
        app.get("/logout").await;
    }
});

db_test!(checklist_27_back_where_you_were, Options::github(), |app| {
    let resp = app.get("/app/elections/2021---GB?tab=x").await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    let login_url = location(&resp);
    assert!(login_url.starts_with("/login?r="), "{login_url}");

    // The login page's form carries `r`; GitHub sends the user back; they land where they were.
    let body = app.ok_page(&login_url).await;
    let action_at = body.find("action=\"/oauth/github/login?r=").expect("form");
    let action = &body[action_at + "action=\"".len()..];
    let action = &action[..action.find('"').unwrap()];
    let token = extract_csrf(&body).unwrap();
    app.fake_github().sign_in_as(FakeUser::for_login("dims"));
    let resp = app.post_form(action, &[("csrf_token", &token)]).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    let callback = consent(&app, &location(&resp)).await;
    let resp = app.client.get(&callback).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), "/app/elections/2021---GB?tab=x");
    assert_contains(&app.ok_page("/app/elections/2021---GB?tab=x").await, GB);
});

// ------------------------------------------------------------------------------------------------
// Logout and cookie

db_test!(
    checklist_28_logout_after_github_login,
    Options::github(),
    |app| {
        app.login_via_github("jberkus").await;
        let before = user_row(&app, "jberkus").await;
        assert!(before.token.is_some() && before.token_expires_at.is_some());

        let resp = app.get("/logout").await;
        assert_eq!(resp.status(), StatusCode::FOUND);
        assert_eq!(location(&resp), "/login");
        let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(
            cookie.starts_with("votebox_session=;"),
            "cookie removed: {cookie}"
        );
        assert!(cookie.contains("Max-Age=0"), "{cookie}");

        let after = user_row(&app, "jberkus").await;
        assert_eq!(after.id, before.id);
        assert_eq!(after.token, None);
        assert_eq!(after.token_expires_at, None);
        assert!(!logged_in(&app).await);
    }
);

db_test!(
    checklist_29_session_cookie_flags,
    Options {
        // Secure is the default; only an explicit http:// APP_URL turns it off.
        app_url: Some(PLAIN_HTTP_APP_URL.to_owned()),
        ..Options::github()
    },
    |app| {
        app.fake_github().sign_in_as(FakeUser::for_login("dims"));
        let authorize = start_login(&app).await;
        let callback = consent(&app, &authorize).await;
        let resp = app.client.get(&callback).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::FOUND);
        let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.starts_with("votebox_session="), "{cookie}");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
        assert!(!cookie.contains("Secure"), "{cookie}");
        // Encrypted: neither the login nor the GitHub token can be read from it.
        let token = user_row(&app, "dims").await.token.unwrap();
        let value = cookie.split(';').next().unwrap();
        assert_lacks(value, "dims");
        assert_lacks(value, &token);
        // Tampering with it logs out (and never errors).
        let tampered = format!("{}A", value);
        let resp = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(app.url("/app"))
            .header("cookie", tampered)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FOUND);
        assert!(location(&resp).starts_with("/login?r="));
    }
);

db_test!(
    checklist_29_secure_cookie_over_https,
    Options {
        app_url: Some("https://elections.example.org".to_owned()),
        ..Options::github()
    },
    |app| {
        // reqwest's jar would not send a Secure cookie over http: carry it by hand.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let resp = client.get(app.url("/login")).send().await.unwrap();
        let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.contains("Secure"), "{cookie}");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
        let pair = cookie.split(';').next().unwrap().to_owned();
        let token = extract_csrf(&resp.text().await.unwrap()).unwrap();
        let resp = client
            .post(app.url("/oauth/github/login"))
            .header("cookie", pair)
            .header("origin", "https://elections.example.org")
            .form(&[("csrf_token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FOUND);
        let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.contains("Secure"), "{cookie}");
    }
);

// ------------------------------------------------------------------------------------------------
// Failures: clear pages, never a 500

db_test!(
    token_error_with_200_is_a_clear_page,
    Options::github(),
    |app| {
        let gh = app.fake_github();
        gh.sign_in_as(FakeUser::for_login("dims"));
        gh.token_error(Some("bad_verification_code"));
        let callback = consent(&app, &start_login(&app).await).await;
        let (status, body) = get_abs(&app, &callback).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_contains(&body, "GitHub login failed");
        assert_contains(&body, "bad_verification_code");
        assert!(!logged_in(&app).await);
        assert!(
            identity::find_by_github_id(app.db(), id_for("dims"))
                .await
                .unwrap()
                .is_none()
        );

        // A code used twice is refused by GitHub the same way.
        gh.token_error(None);
        let callback = consent(&app, &start_login(&app).await).await;
        let (status, _) = get_abs(&app, &callback).await;
        assert_eq!(status, StatusCode::FOUND);
        app.get("/logout").await;
        let state = param(&query_pairs(&start_login(&app).await), "state").unwrap();
        let code = param(&query_pairs(&callback), "code").unwrap();
        let (status, body) = get_abs(
            &app,
            &app.url(&format!("/oauth/github/callback?code={code}&state={state}")),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_contains(&body, "bad_verification_code");
    }
);

db_test!(denied_consent_is_a_clear_page, Options::github(), |app| {
    let gh = app.fake_github();
    gh.deny(true);
    let callback = consent(&app, &start_login(&app).await).await;
    assert_eq!(
        param(&query_pairs(&callback), "error").as_deref(),
        Some("access_denied")
    );
    let (status, body) = get_abs(&app, &callback).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_contains(&body, "GitHub login was cancelled");
    assert!(!logged_in(&app).await);
    assert!(gh.token_requests().is_empty());

    // A valid state but no code and no error: also a clear page.
    let state = param(&query_pairs(&start_login(&app).await), "state").unwrap();
    let (status, body) = get_abs(
        &app,
        &app.url(&format!("/oauth/github/callback?state={state}")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_contains(&body, "GitHub did not send an authorization code");
});

db_test!(provider_unreachable_is_502, Options::github(), |app| {
    let mut app = app;
    let authorize = start_login(&app).await;
    let state = param(&query_pairs(&authorize), "state").unwrap();
    app.github.as_mut().unwrap().stop().await;
    let (status, body) = get_abs(
        &app,
        &app.url(&format!("/oauth/github/callback?code=abc&state={state}")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_contains(&body, "GitHub could not be reached");
    assert!(!logged_in(&app).await);
});

// ------------------------------------------------------------------------------------------------
// Identity

db_test!(
    checklist_15_login_case_insensitive,
    Options::github()
        .with_file(
            "elections/k8s-2023/election.yaml",
            "name: Case Election\nstart_datetime: 2023-08-01 00:00:00\nend_datetime: 2023-08-30 00:00:00\nelection_officers:\n  - bentheelder\n",
        )
        .with_file(
            "elections/k8s-2023/voters.yaml",
            "eligible_voters:\n  - bentheelder\n",
        ),
    |app| {
        // A legacy row written by Elekto in another case (no GitHub id yet).
        let legacy = users::upsert_login(app.db(), &LoginDetails {name: Some("Ben"), ..LoginDetails::login("bentheelder")})
            .await
            .unwrap();
        app.login_via_github("BenTheElder").await;
        let body = app.ok_page("/app/elections/k8s-2023").await;
        assert_contains(&body, "id=\"voter-status\">Eligible<");
        assert_eq!(
            app.get("/app/elections/k8s-2023/admin/").await.status(),
            StatusCode::OK
        );
        // The legacy row was adopted: same id, canonical case, GitHub id recorded, name kept.
        let row = user_row(&app, "BenTheElder").await;
        assert_eq!(row.id, legacy.id);
        assert_eq!(row.username.as_deref(), Some("BenTheElder"));
        assert_eq!(row.name.as_deref(), Some("Ben"));
    }
);

db_test!(
    renamed_account_keeps_its_user_row,
    Options::github(),
    |app| {
        let before = FakeUser {
            id: 4242,
            login: "dims".to_owned(),
            name: Some("Davanum".to_owned()),
        };
        app.login_via_github_as(before.clone(), "").await;
        app.mark_voted("dims", "2021---GB").await;
        let row = identity::find_by_github_id(app.db(), 4242)
            .await
            .unwrap()
            .unwrap();
        app.get("/logout").await;

        // Renamed on GitHub: the same row, the new login, the voting history kept.
        let after = FakeUser {
            login: "dims-renamed".to_owned(),
            ..before.clone()
        };
        app.login_via_github_as(after, "").await;
        let renamed = identity::find_by_github_id(app.db(), 4242)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(renamed.id, row.id);
        assert_eq!(renamed.username.as_deref(), Some("dims-renamed"));
        let dashboard = app.ok_page("/app").await;
        let voted = dashboard
            .split_once("<span class=\"badge voted\">Voted</span>")
            .expect("voting history kept")
            .0;
        assert_contains(voted.rsplit("<li").next().unwrap(), "2021---GB");
        app.get("/logout").await;

        // Someone new takes the old login: a new row, not the renamed account's history.
        let newcomer = FakeUser {
            id: 777,
            login: "dims".to_owned(),
            name: None,
        };
        app.login_via_github_as(newcomer, "").await;
        let fresh = identity::find_by_github_id(app.db(), 777)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(fresh.id, row.id);
        assert_eq!(fresh.username.as_deref(), Some("dims"));
        // One ballot per eligible login: the login `dims` has voted (under the account that
        // held it then), so its new holder cannot vote again.
        let body = app.ok_page("/app/elections/2021---GB").await;
        assert_contains(&body, "id=\"voter-status\">Voted</span>");
    }
);

db_test!(identity_matching_rules, |app| {
    let db = app.db();
    let later = Some(votebox_db::utc_now() + time::Duration::days(1));

    // 1. A new account gets a new row; the same account is found again by id.
    let a = identity::login_github(
        db,
        1,
        &LoginDetails {
            name: Some("Alice"),
            token: Some("t1"),
            token_expires_at: later,
            ..LoginDetails::login("alice")
        },
    )
    .await
    .unwrap();
    let a2 = identity::login_github(
        db,
        1,
        &LoginDetails {
            name: Some("Other"),
            token: Some("t2"),
            token_expires_at: later,
            ..LoginDetails::login("alice")
        },
    )
    .await
    .unwrap();
    assert_eq!(a2.id, a.id);
    assert_eq!(a2.name.as_deref(), Some("Alice"));
    assert_eq!(a2.token.as_deref(), Some("t2"));

    // 2. Alice renames to "alice2"; a stale legacy row "ALICE2" is in the way: it steps aside.
    let stale = users::upsert_login(db, &LoginDetails::login("ALICE2"))
        .await
        .unwrap();
    let a3 = identity::login_github(
        db,
        1,
        &LoginDetails {
            token: Some("t3"),
            token_expires_at: later,
            ..LoginDetails::login("alice2")
        },
    )
    .await
    .unwrap();
    assert_eq!(a3.id, a.id);
    assert_eq!(a3.username.as_deref(), Some("alice2"));
    let stale = users::find_by_id(db, stale.id).await.unwrap().unwrap();
    assert_eq!(
        stale.username.as_deref(),
        Some(identity::retired_username("ALICE2", stale.id).as_str())
    );

    // 3. Bob takes the login "alice2" while Alice's row still holds it (Alice renamed again but
    //    has not logged in since): Bob gets a new row; Alice's row is renamed out of the way and
    //    gets her new login back on her next login.
    let b = identity::login_github(
        db,
        2,
        &LoginDetails {
            name: Some("Bob"),
            token: Some("tb"),
            token_expires_at: later,
            ..LoginDetails::login("alice2")
        },
    )
    .await
    .unwrap();
    assert_ne!(b.id, a.id);
    assert_eq!(b.username.as_deref(), Some("alice2"));
    let a_row = users::find_by_id(db, a.id).await.unwrap().unwrap();
    assert_eq!(
        a_row.username.as_deref(),
        Some(identity::retired_username("alice2", a.id).as_str())
    );
    let a4 = identity::login_github(
        db,
        1,
        &LoginDetails {
            token: Some("t4"),
            token_expires_at: later,
            ..LoginDetails::login("alice3")
        },
    )
    .await
    .unwrap();
    assert_eq!((a4.id, a4.username.as_deref()), (a.id, Some("alice3")));

    // 4. A legacy row is adopted case-insensitively, once.
    let legacy = users::upsert_login(
        db,
        &LoginDetails {
            name: Some("Carol"),
            ..LoginDetails::login("carol")
        },
    )
    .await
    .unwrap();
    let c = identity::login_github(
        db,
        3,
        &LoginDetails {
            name: Some("C."),
            token: Some("tc"),
            token_expires_at: later,
            ..LoginDetails::login("Carol")
        },
    )
    .await
    .unwrap();
    assert_eq!(c.id, legacy.id);
    assert_eq!(c.username.as_deref(), Some("Carol"));
    assert_eq!(c.name.as_deref(), Some("Carol"));
    assert_eq!(identity::github_id_of(db, c.id).await.unwrap(), Some(3));

    // 5. Two first logins of one account at once: one row.
    let first = LoginDetails {
        token: Some("x"),
        token_expires_at: later,
        ..LoginDetails::login("dave")
    };
    let second = LoginDetails {
        token: Some("y"),
        ..first
    };
    let (x, y) = tokio::join!(
        identity::login_github(db, 4, &first),
        identity::login_github(db, 4, &second),
    );
    assert_eq!(x.unwrap().id, y.unwrap().id);
    // Nothing lost: every GitHub id maps to a distinct row.
    let mut ids = Vec::new();
    for gid in 1..=4 {
        ids.push(
            identity::find_by_github_id(db, gid)
                .await
                .unwrap()
                .unwrap()
                .id,
        );
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4);
});
