//! Pages, redirects, guards and the webhook, on all three engines (checklist numbers from
//! `elekto-reference.md` §9).

use base64::Engine as _;
use reqwest::StatusCode;
use time::macros::datetime;
use votebox_db::users::LoginDetails;

use crate::harness::{
    AFTER_ALL, APP_NAME, META_SECRET, Options, PLAIN_HTTP_APP_URL, db_test, extract_csrf, location,
};

const GB: &str = "Select our 2021 General Board Rep";
const TOC: &str = "2021 Steering Committee Election";
const NAME_APP: &str = "Select The Name of the Application";
const XSS_ESCAPED: &str = "XSS &#60;script&#62;";
const FUTURE: &str = "Future Election";

/// Byte offsets of each needle in `body` (panics when one is missing).
fn positions(body: &str, needles: &[&str]) -> Vec<usize> {
    needles
        .iter()
        .map(|n| {
            body.find(n)
                .unwrap_or_else(|| panic!("{n:?} not found in:\n{body}"))
        })
        .collect()
}

fn assert_contains(body: &str, needle: &str) {
    assert!(body.contains(needle), "expected {needle:?} in:\n{body}");
}

fn assert_lacks(body: &str, needle: &str) {
    assert!(
        !body.contains(needle),
        "did not expect {needle:?} in:\n{body}"
    );
}

/// The URL hidden in a `/login?r=…` location: percent-decode, `$` → `/`, base64-decode.
fn decode_r(location: &str) -> String {
    let r = location
        .strip_prefix("/login?r=")
        .unwrap_or_else(|| panic!("not a login redirect: {location}"));
    let r = percent_encoding::percent_decode_str(r)
        .decode_utf8()
        .expect("utf-8")
        .replace('$', "/");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(r)
        .expect("base64");
    String::from_utf8(bytes).expect("utf-8 URL")
}

// ------------------------------------------------------------------------------------------------
// Configuration and health

db_test!(checklist_30_root_redirect, |app| {
    let resp = app.get("/").await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), "/app");

    // Anonymous /app → login; logged in → the dashboard.
    let resp = app.get("/app").await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert!(location(&resp).starts_with("/login?r="));
    app.login_as("jberkus").await;
    let resp = app.get("/").await;
    assert_eq!(location(&resp), "/app");
    app.ok_page("/app").await;
});

db_test!(checklist_10_health, |app| {
    let resp = app.get("/health").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "text/html; charset=utf-8"
    );
    assert_eq!(resp.text().await.unwrap(), "");
    // No database dependency: still 200 once the pool is closed.
    app.db().close().await;
    let resp = app.get("/health").await;
    assert_eq!(resp.status(), StatusCode::OK);
});

db_test!(checklist_5_app_name, |app| {
    let body = app.ok_page("/elections").await;
    assert_contains(&body, &format!("elekto ({APP_NAME})"));
    assert_contains(&body, &format!("<title>Elections | {APP_NAME}</title>"));
    assert_contains(&body, "href=\"/app\"");

    let (status, body) = app.page("/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_contains(&body, &format!("<title>404 Not Found | {APP_NAME}</title>"));
    assert_contains(&body, &format!("elekto ({APP_NAME})"));
});

db_test!(
    custom_app_name_everywhere,
    Options {
        app_name: "k8s.elections".to_owned(),
        ..Options::default()
    },
    |app| {
        let body = app.ok_page("/elections/2021---GB").await;
        assert_contains(&body, "elekto (k8s.elections)");
        assert_contains(&body, &format!("<title>{GB} | k8s.elections</title>"));
        let (_, body) = app.page("/elections/nope").await;
        assert_contains(&body, "404 Not Found | k8s.elections");
    }
);

// ------------------------------------------------------------------------------------------------
// Lists

db_test!(checklist_32_list_sorted_and_filtered, |app| {
    // Public list: every election, newest start first.
    let body = app.ok_page("/elections").await;
    assert_contains(
        &body,
        "Index for all the elections contained by the repository.",
    );
    let pos = positions(&body, &[FUTURE, XSS_ESCAPED, NAME_APP, GB, TOC]);
    assert!(
        pos.windows(2).all(|w| w[0] < w[1]),
        "not sorted by start desc: {pos:?}"
    );
    assert_contains(&body, "href=\"/elections/2021---GB\"");
    assert_contains(&body, "href=\"/elections/2024---future\"");
    assert_contains(&body, "Kubernetes");
    assert_contains(
        &body,
        "From <time datetime=\"2023-08-01T00:00:01Z\" data-local>2023-08-01 00:00:01 UTC</time> to <time datetime=\"2023-08-22T23:59:00Z\" data-local>2023-08-22 23:59:00 UTC</time>",
    );
    assert_contains(&body, "href=\"/elections?status=running\"");
    assert_contains(&body, "href=\"/elections?status=upcoming\"");
    assert_contains(&body, "href=\"/elections?status=completed\"");

    // Filter: exact status.
    let body = app.ok_page("/elections?status=running").await;
    let pos = positions(&body, &[XSS_ESCAPED, NAME_APP, GB]);
    assert!(pos.windows(2).all(|w| w[0] < w[1]));
    assert_lacks(&body, TOC);
    assert_lacks(&body, FUTURE);
    let body = app.ok_page("/elections?status=completed").await;
    assert_contains(&body, TOC);
    assert_lacks(&body, GB);
    let body = app.ok_page("/elections?status=upcoming").await;
    assert_contains(&body, FUTURE);
    assert_lacks(&body, TOC);

    // Unknown status: empty list.
    let body = app.ok_page("/elections?status=bogus").await;
    assert_contains(&body, "No Elections found");
    assert_contains(&body, "for bogus filter");

    // The app list: same order, /app links, login required.
    let resp = app.get("/app/elections?status=running").await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    app.login_as("dims").await;
    let body = app.ok_page("/app/elections").await;
    let pos = positions(&body, &[FUTURE, XSS_ESCAPED, NAME_APP, GB, TOC]);
    assert!(pos.windows(2).all(|w| w[0] < w[1]));
    assert_contains(&body, "href=\"/app/elections/2021---TOC\"");
    assert_contains(&body, "href=\"/app/elections?status=completed\"");
    let body = app.ok_page("/app/elections?status=completed").await;
    assert_contains(&body, TOC);
    assert_lacks(&body, NAME_APP);
});

db_test!(status_computed_with_pinned_clock, |app| {
    // 2023-08-10 12:00: TOC over, GB / name_the_app / xss running, future upcoming.
    let body = app.ok_page("/elections/2021---TOC").await;
    assert_contains(&body, "status-completed\">completed<");
    let body = app.ok_page("/elections/2021---GB").await;
    assert_contains(&body, "status-running\">running<");
    let body = app.ok_page("/elections/2024---future").await;
    assert_contains(&body, "status-upcoming\">upcoming<");
});

db_test!(
    status_boundaries_inclusive,
    // GB: 2023-08-01 00:00:01 … 2023-08-22 23:59:00 — the start second is running.
    Options::at(datetime!(2023-08-01 00:00:01)),
    |app| {
        let body = app.ok_page("/elections?status=running").await;
        assert_contains(&body, GB);
        // name_the_app starts the next day.
        assert_lacks(&body, NAME_APP);
        let body = app.ok_page("/elections?status=upcoming").await;
        assert_contains(&body, NAME_APP);
    }
);

db_test!(status_after_every_end, Options::at(AFTER_ALL), |app| {
    let body = app.ok_page("/elections?status=completed").await;
    for name in [GB, TOC, NAME_APP, XSS_ESCAPED] {
        assert_contains(&body, name);
    }
    assert_lacks(&body, FUTURE);
    let body = app.ok_page("/elections?status=running").await;
    assert_contains(&body, "No Elections found");
});

db_test!(checklist_31_dashboard, |app| {
    app.login_as("jberkus").await;
    let body = app.ok_page("/app").await;
    assert_contains(&body, "Welcome! jberkus");
    assert_contains(&body, "Voting now");
    for name in [GB, NAME_APP, XSS_ESCAPED] {
        assert_contains(&body, name);
    }
    // TOC has ended; jberkus could vote in it, so it is listed as ended, not voted.
    assert_contains(&body, "<h2>Ended</h2>");
    assert_contains(&body, "Did not vote");

    app.mark_voted("jberkus", "2021---TOC").await;
    let body = app.ok_page("/app").await;
    assert_contains(&body, TOC);
    assert_contains(
        &body,
        "<span class=\"badge voted\">Voted</span> Voting ended on <time datetime=\"2023-08-04T23:59:00Z\" data-local>2023-08-04 23:59:00 UTC</time>.",
    );
    assert_contains(&body, "href=\"/app/elections/2021---TOC\"");
});

db_test!(
    dashboard_nothing_to_do,
    Options::at(datetime!(2025-06-01 00:00:00)),
    |app| {
        app.login_as("mallory").await;
        let body = app.ok_page("/app").await;
        assert_contains(&body, "Welcome! mallory");
        assert_contains(&body, "Sit back and relax: there is nothing to do yet.");
    }
);

db_test!(
    dashboard_results_link_when_published,
    Options::at(AFTER_ALL),
    |app| {
        app.login_as("dims").await;
        app.mark_voted("dims", "2021---GB").await;
        let body = app.ok_page("/app").await;
        assert_contains(&body, "<h2>Ended</h2>");
        assert_contains(&body, "href=\"/app/elections/2021---GB/results/\"");
    }
);

// ------------------------------------------------------------------------------------------------
// Election pages

db_test!(public_election_page, |app| {
    let body = app.ok_page("/elections/2021---GB").await;
    assert_contains(&body, GB);
    assert_contains(&body, "Kubernetes");
    assert_contains(&body, "<h1>Select our GB Rep</h1>");
    for id in ["aaron", "dims", "paris"] {
        assert_contains(
            &body,
            &format!("/app/elections/2021---GB/candidates/{id}\""),
        );
        assert_contains(&body, &format!("{id} | "));
    }
    assert_contains(&body, "Sign in to check whether you can vote");
    assert_contains(&body, "href=\"/app/elections/2021---GB\"");
    let body = app.ok_page("/elections/2021---TOC").await;
    assert_contains(&body, "Sign in to see the results");
    // No voter data on the public page.
    assert_lacks(&body, "derekwaynecarr");

    app.login_as("dims").await;
    let body = app.ok_page("/elections/2021---TOC").await;
    assert_contains(&body, "Go to the election's page to see the results");
});

db_test!(checklist_12_nested_key_and_dotdot_404, |app| {
    // Public side.
    app.ok_page("/elections/2021---TOC").await;
    assert_eq!(app.raw_get("/elections/..").await.0, 404);
    assert_eq!(app.raw_get("/elections/%2E%2E").await.0, 404);
    app.login_as("dims").await;
    let body = app.ok_page("/app/elections/2021---TOC").await;
    assert_contains(&body, TOC);
    // The directory form, a directory without election.yaml, and traversal: all 404.
    for path in [
        "/app/elections/2021/TOC",
        "/app/elections/2021",
        "/app/elections/..",
        "/app/elections/%2E%2E",
        "/app/elections/..%2F..",
        "/app/elections/2021---TOC---..",
        "/app/elections/elections---2021---TOC",
        "/app/elections/2021---TOC/candidates/..",
    ] {
        let (status, raw) = app.raw_get(path).await;
        assert_eq!(status, 404, "{path}: {raw}");
    }
    let (status, body) = app.page("/app/elections/2021---TOC/").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
});

db_test!(checklist_33_election_page_buttons, |app| {
    // jberkus: eligible voter and officer of 2021---GB (running), has not voted.
    app.login_as("jberkus").await;
    let body = app.ok_page("/app/elections/2021---GB").await;
    assert_contains(&body, "id=\"voter-status\">Eligible<");
    assert_contains(&body, "You are on the voter list and have not voted yet.");
    assert_contains(
        &body,
        "<dt>Voting opens</dt><dd><time datetime=\"2023-08-01T00:00:01Z\" data-local>2023-08-01 00:00:01 UTC</time></dd>",
    );
    assert_contains(&body, "href=\"/app/elections/2021---GB/vote\"");
    assert_lacks(&body, "View Ballot");
    assert_contains(&body, "href=\"/app/elections/2021---GB/admin/\"");
    assert_lacks(&body, "Results (not published yet)");
    assert_lacks(&body, "exception form");
    for id in ["aaron", "dims", "paris"] {
        assert_contains(
            &body,
            &format!("href=\"/app/elections/2021---GB/candidates/{id}\""),
        );
    }

    // After voting: the View Ballot form (POST …/vote/view, password, csrf), no Vote button.
    app.mark_voted("jberkus", "2021---GB").await;
    let body = app.ok_page("/app/elections/2021---GB").await;
    assert_contains(&body, "id=\"voter-status\">Voted<");
    assert_lacks(&body, "href=\"/app/elections/2021---GB/vote\"");
    assert_contains(&body, "action=\"/app/elections/2021---GB/vote/view\"");
    assert_contains(&body, "name=\"password\"");
    assert_contains(&body, "View Ballot");
    let view_form = &body[body.find("/vote/view").unwrap()..];
    assert!(extract_csrf(view_form).is_some_and(|t| !t.is_empty()));

    // Completed, results.md absent: disabled "Results (not published yet)", no Vote/View.
    let body = app.ok_page("/app/elections/2021---TOC").await;
    assert_contains(&body, "Results (not published yet)");
    assert_lacks(&body, "/vote\"");
    assert_lacks(&body, "View Ballot");
    assert_lacks(&body, "have not voted yet");
    assert_contains(&body, "href=\"/app/elections/2021---TOC/admin/\"");

    // Eligibility is case-insensitive (#84): voters.yaml says "JBerkus".
    let body = app.ok_page("/app/elections/xss").await;
    assert_contains(&body, "id=\"voter-status\">Eligible<");
    assert_lacks(&body, "/admin/");

    // mallory: not eligible anywhere, no officer.
    app.get("/logout").await;
    app.login_as("mallory").await;
    let body = app.ok_page("/app/elections/2021---GB").await;
    assert_contains(&body, "Not eligible");
    assert_contains(&body, "href=\"/app/elections/2021---GB/exception\"");
    assert_contains(
        &body,
        "before <time datetime=\"2023-08-13T10:00:00Z\" data-local>2023-08-13 10:00:00 UTC</time>.",
    );
    assert_lacks(&body, "/vote\"");
    assert_lacks(&body, "/admin/");
    assert_lacks(&body, "have not voted yet");
    // No exception_due: the deadline is the start.
    let body = app.ok_page("/app/elections/2024---future").await;
    assert_contains(
        &body,
        "before <time datetime=\"2024-01-01T00:00:00Z\" data-local>2024-01-01 00:00:00 UTC</time>.",
    );
});

db_test!(
    results_button_when_published,
    Options::at(AFTER_ALL),
    |app| {
        app.login_as("mallory").await;
        let body = app.ok_page("/app/elections/2021---GB").await;
        assert_contains(&body, "href=\"/app/elections/2021---GB/results/\"");
        assert_lacks(&body, "Results (not published yet)");
        let body = app.ok_page("/app/elections/2021---GB/results/").await;
        assert_contains(&body, "Winner: Paris Pittman");
        assert_contains(&body, GB);
        // Completed without results.md.
        let body = app.ok_page("/app/elections/2021---TOC/results/").await;
        assert_contains(&body, "No results have been published");
    }
);

db_test!(results_before_the_end, |app| {
    let resp = app.get("/app/elections/2021---GB/results/").await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    app.login_as("dims").await;
    let body = app.ok_page("/app/elections/2021---GB/results/").await;
    assert_contains(&body, "The election is not completed yet");
    assert_contains(&body, "The application needs election to be over first.");
    assert_lacks(&body, "Winner: Paris Pittman");
});

db_test!(checklist_34_trailing_slash_308, |app| {
    app.login_as("jberkus").await;
    for (from, to) in [
        (
            "/app/elections/2021---GB/results",
            "/app/elections/2021---GB/results/",
        ),
        (
            "/app/elections/2021---GB/admin",
            "/app/elections/2021---GB/admin/",
        ),
        (
            "/app/elections/2021---GB/admin?x=1",
            "/app/elections/2021---GB/admin/?x=1",
        ),
    ] {
        let resp = app.get(from).await;
        assert_eq!(resp.status(), StatusCode::PERMANENT_REDIRECT, "{from}");
        assert_eq!(location(&resp), to);
    }
    app.ok_page("/app/elections/2021---GB/admin/").await;
});

db_test!(checklist_35_unknown_404, |app| {
    for path in ["/elections/nope", "/nope", "/app/nope", "/static/nope.css"] {
        let (status, body) = app.page(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_contains(&body, "404 Not Found");
    }
    app.login_as("dims").await;
    for path in [
        "/app/elections/nope",
        "/app/elections/nope/candidates/x",
        "/app/elections/2021---GB/candidates/nobody",
        "/app/elections/nope/results/",
        "/app/elections/nope/admin/",
    ] {
        let (status, body) = app.page(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_contains(&body, "404 Not Found");
        assert_contains(&body, &format!("elekto ({APP_NAME})"));
    }
    // Not an officer: 403 with Elekto's message.
    let (status, body) = app.page("/app/elections/2021---GB/admin/").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_contains(&body, "You are not an Election officer");
    // Wrong method: 405 page.
    let resp = app
        .client
        .delete(app.url("/elections"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
});

db_test!(officer_dashboard, |app| {
    app.mark_voted("dims", "2021---GB").await;
    app.mark_voted("liggitt", "2021---GB").await;
    app.login_as("JBERKUS").await; // officers compare case-insensitively (#84)
    let body = app.ok_page("/app/elections/2021---GB/admin/").await;
    assert_contains(&body, "<h1>Election Officer's Dashboard</h1>");
    assert_contains(&body, GB);
    assert_contains(
        &body,
        "<span class=\"number\" id=\"turnout\">2 / 8</span> <span class=\"label\">voted / eligible (live)</span>",
    );
    assert_lacks(&body, "No one has voted.");
    let body = app.ok_page("/app/elections/name_the_app/admin/").await;
    assert_contains(&body, "No one has voted.");
});

db_test!(
    checklist_16_candidate_page_fields,
    Options::default().with_file(
        "elections/2021/GB/candidate-oldname.md",
        "---\nname: Renamed Person\nID: newid\ninfo:\n  employer: Mapping Corp\n---\n\nHello **there**.\n",
    ),
    |app| {
        let resp = app.get("/app/elections/2021---TOC/candidates/jberkus").await;
        assert_eq!(resp.status(), StatusCode::FOUND);
        app.login_as("mallory").await; // no eligibility needed
        let body = app.ok_page("/app/elections/2021---TOC/candidates/jberkus").await;
        assert_contains(&body, "Josh Berkus");
        assert_contains(&body, "<span class=\"badge\">jberkus</span>");
        assert_contains(&body, &format!("Running for <a href=\"/app/elections/2021---TOC\">{TOC}</a>"));
        let pos = positions(&body, &["<strong>employer</strong> | Elekto", "<strong>slack</strong> | jberkus"]);
        assert!(pos[0] < pos[1], "fields in show_candidate_fields order");

        // A field the candidate lacks says so; an empty body is "No profile submitted.".
        let body = app.ok_page("/app/elections/xss/candidates/plain").await;
        assert_contains(
            &body,
            "<strong>employer</strong> | <span class=\"muted\">not given</span></li>",
        );
        assert_contains(&body, "<strong>slack</strong> | plain-slack");
        assert_contains(&body, "No profile submitted.");

        // show_candidate_fields empty (null): no fields, still 200 (Elekto #98).
        let body = app.ok_page("/app/elections/name_the_app/candidates/elekto").await;
        assert_lacks(&body, "<strong>Language</strong>");
        assert_contains(&body, "Esperanto");

        // ID and file name differ: both the ID link and Elekto's file-name link work;
        // mapping-form info is accepted.
        for cid in ["newid", "oldname"] {
            let body = app.ok_page(&format!("/app/elections/2021---GB/candidates/{cid}")).await;
            assert_contains(&body, "Renamed Person");
            assert_contains(&body, "<strong>employer</strong> | Mapping Corp");
            assert_contains(&body, "<strong>there</strong>");
        }
    }
);

db_test!(checklist_20_candidates_shuffled, |app| {
    let ids = ["delectus", "e6n", "elekto", "notcivs", "ribemont"];
    let order = |body: &str| -> Vec<usize> {
        let mut pos: Vec<(usize, usize)> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let needle = format!("/candidates/{id}\"");
                (body.find(&needle).expect("candidate listed"), i)
            })
            .collect();
        pos.sort();
        pos.into_iter().map(|(_, i)| i).collect()
    };
    let mut public = std::collections::BTreeSet::new();
    for _ in 0..25 {
        public.insert(order(&app.ok_page("/elections/name_the_app").await));
    }
    assert!(public.len() > 1, "public page never reshuffled: {public:?}");
    app.login_as("jberkus").await;
    let mut inside = std::collections::BTreeSet::new();
    for _ in 0..25 {
        inside.insert(order(&app.ok_page("/app/elections/name_the_app").await));
    }
    assert!(
        inside.len() > 1,
        "election page never reshuffled: {inside:?}"
    );
});

db_test!(checklist_19_missing_description_empty, |app| {
    let body = app.ok_page("/elections/2024---future").await;
    assert_contains(&body, "<div class=\"description\"></div>");
    assert_lacks(&body, "None");
    app.login_as("jberkus").await;
    let body = app.ok_page("/app/elections/2024---future").await;
    assert_contains(&body, "<div class=\"description\"></div>");
    assert_lacks(&body, "None");
});

db_test!(xss_sanitised, |app| {
    app.login_as("eve").await;
    for path in [
        "/elections",
        "/elections/xss",
        "/app/elections",
        "/app/elections/xss",
        "/app",
        "/app/elections/xss/candidates/evil",
        "/app/elections/xss/candidates/plain",
    ] {
        // votebox's own static script is the only one a page may carry.
        let own = "<script src=\"/static/js/local-time.js\" defer></script>";
        let body = app.ok_page(path).await.replacen(own, "", 1);
        assert_lacks(&body, "<script");
        assert_lacks(&body, "onerror");
        assert_lacks(&body, "javascript:");
        assert_lacks(&body, "<b>Evil</b>");
    }
    let body = app.ok_page("/app/elections/xss").await;
    assert_contains(&body, "&#60;script&#62;alert(");
    assert_contains(&body, "<strong>bold</strong>");
    assert_contains(&body, "href=\"https://example.org/\"");
    let body = app.ok_page("/app/elections/xss/candidates/evil").await;
    assert_contains(&body, "Evil &#60;script&#62;");
    assert_contains(&body, "<em>emphasis</em>");
});

db_test!(
    checklist_29_static_in_key_is_not_anonymous,
    Options::default()
        .with_file(
            "elections/ecstatic-2024/election.yaml",
            "name: Ecstatic\nstart_datetime: 2023-08-01 00:00:00\nend_datetime: 2023-08-30 00:00:00\nelection_officers: []\n",
        )
        .with_file("elections/ecstatic-2024/voters.yaml", "eligible_voters:\n  - dims\n"),
    |app| {
        app.login_as("dims").await;
        let body = app.ok_page("/app/elections/ecstatic-2024").await;
        assert_contains(&body, "id=\"voter-status\">Eligible<");
        let resp = app.get("/static/css/main.css").await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
        let resp = app.get("/static/favicon.svg").await;
        assert_eq!(resp.status(), StatusCode::OK);
    }
);

// ------------------------------------------------------------------------------------------------
// Login, logout, CSRF

db_test!(checklist_27_login_redirect_r, |app| {
    let resp = app.get("/app/elections/2021---GB?tab=x").await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    let loc = location(&resp);
    assert!(loc.starts_with("/login?r="), "{loc}");
    // Werkzeug quoting: `$` literal, `=` encoded, no `/` left in the value.
    let value = loc.trim_start_matches("/login?r=");
    assert!(!value.contains('/') && !value.contains('='), "{value}");
    assert_eq!(decode_r(&loc), app.url("/app/elections/2021---GB?tab=x"));

    // The login page passes r through to the GitHub form and the demo form.
    let r = percent_encoding::percent_decode_str(value)
        .decode_utf8()
        .unwrap()
        .into_owned();
    let body = app.ok_page(&loc).await;
    assert_contains(&body, "Sign in with Github");
    assert_contains(&body, "action=\"/oauth/github/login?r=");
    let token = extract_csrf(&body).expect("csrf token");
    let resp = app
        .post_form(
            "/demo/login",
            &[("csrf_token", &token), ("login", "dims"), ("r", &r)],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), "/app/elections/2021---GB?tab=x");
    app.ok_page("/app/elections/2021---GB").await;

    // Logged in: /login → /app.
    let resp = app.get("/login").await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), "/app");
});

db_test!(login_redirect_stays_on_this_site, |app| {
    let evil = base64::engine::general_purpose::STANDARD
        .encode("https://evil.example/app/elections/xss")
        .replace('/', "$");
    let token = app.csrf_token("/login").await;
    let resp = app
        .post_form(
            "/demo/login",
            &[("csrf_token", &token), ("login", "eve"), ("r", &evil)],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), "/app/elections/xss");
});

db_test!(login_page_and_demo_login, |app| {
    let body = app.ok_page("/login").await;
    assert_contains(&body, "Sign in with Github");
    assert_contains(&body, "action=\"/oauth/github/login\"");
    assert_contains(&body, "Demo login (not for production)");
    for login in ["jberkus", "dims", "mallory", "kalkayan", "Mallory-Officer"] {
        assert_contains(&body, &format!("<option value=\"{login}\">"));
    }
    // GitHub OAuth is not configured in this build: a clear page, after the CSRF check.
    let token = extract_csrf(&body).unwrap();
    let (status, page) = {
        let resp = app
            .post_form("/oauth/github/login", &[("csrf_token", &token)])
            .await;
        (resp.status(), resp.text().await.unwrap())
    };
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
    assert_contains(&page, "GitHub login is not configured");

    // The demo login creates the user row.
    app.login_as("newcomer").await;
    let row = votebox_db::users::find_by_id(app.db(), app.user_id("newcomer").await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.username.as_deref(), Some("newcomer"));
    // Bad logins are refused.
    app.get("/logout").await;
    let token = app.csrf_token("/login").await;
    let resp = app
        .post_form(
            "/demo/login",
            &[("csrf_token", &token), ("login", "<script>")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
});

db_test!(
    demo_login_disabled_is_404,
    Options {
        demo_login: false,
        ..Options::default()
    },
    |app| {
        let body = app.ok_page("/login").await;
        assert_lacks(&body, "Demo login");
        let token = extract_csrf(&body).unwrap();
        let resp = app
            .post_form(
                "/demo/login",
                &[("csrf_token", &token), ("login", "jberkus")],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    }
);

db_test!(checklist_28_logout, |app| {
    app.login_as("jberkus").await;
    let uid = app.user_id("jberkus").await;
    votebox_db::users::upsert_login(
        app.db(),
        &LoginDetails {
            token: Some("tok"),
            ..LoginDetails::login("jberkus")
        },
    )
    .await
    .unwrap();
    let resp = app.get("/logout").await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), "/login");
    let row = votebox_db::users::find_by_id(app.db(), uid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.token, None);
    assert_eq!(row.token_expires_at, None);
    let resp = app.get("/app").await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert!(location(&resp).starts_with("/login?r="));
    // Logged out: /logout just goes to /login (no `r` that would log out again after login).
    let resp = app.get("/logout").await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), "/login");

    // POST /logout needs the CSRF token.
    app.login_as("jberkus").await;
    let resp = app.post_form("/logout", &[]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    app.ok_page("/app").await;
    let token = app.csrf_token("/app").await;
    let resp = app.post_form("/logout", &[("csrf_token", &token)]).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), "/login");
    assert_eq!(app.get("/app").await.status(), StatusCode::FOUND);
});

db_test!(checklist_60_csrf_required, |app| {
    // No token, wrong token, token of another session: 400 "CSRF Error".
    app.ok_page("/login").await;
    for token in ["", "forged"] {
        let resp = app
            .post_form(
                "/demo/login",
                &[("csrf_token", token), ("login", "jberkus")],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let body = resp.text().await.unwrap();
        assert_contains(&body, "CSRF Error");
        assert_contains(&body, &format!("CSRF Error | {APP_NAME}"));
    }
    let other = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let other_body = other
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let other_token = extract_csrf(&other_body).unwrap();
    let resp = app
        .post_form(
            "/demo/login",
            &[("csrf_token", &other_token), ("login", "jberkus")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // A browser's cross-site POST is refused even with the right token.
    let token = app.csrf_token("/login").await;
    let resp = app
        .client
        .post(app.url("/demo/login"))
        .header("sec-fetch-site", "cross-site")
        .header("origin", "https://evil.example")
        .form(&[("csrf_token", token.as_str()), ("login", "jberkus")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // Same-origin browser POST works.
    let resp = app
        .client
        .post(app.url("/demo/login"))
        .header("sec-fetch-site", "same-origin")
        .header("origin", app.base.clone())
        .form(&[("csrf_token", token.as_str()), ("login", "jberkus")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
});

db_test!(
    session_cookie_flags,
    Options {
        // Secure is the default; only an explicit http:// APP_URL turns it off.
        app_url: Some(PLAIN_HTTP_APP_URL.to_owned()),
        ..Options::default()
    },
    |app| {
        let resp = app.get("/login").await;
        let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.starts_with("votebox_session="), "{cookie}");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
        assert!(!cookie.contains("Secure"), "{cookie}");
        // Pages without a form set no cookie for anonymous visitors.
        let fresh = reqwest::Client::new();
        let resp = fresh.get(app.url("/elections")).send().await.unwrap();
        assert!(resp.headers().get("set-cookie").is_none());
    }
);

db_test!(
    session_cookie_secure_over_https,
    Options {
        app_url: Some("https://elections.example.org".to_owned()),
        ..Options::default()
    },
    |app| {
        let resp = app.get("/login").await;
        let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.contains("Secure"), "{cookie}");
        // The login redirect uses APP_URL as the base of `r`.
        let resp = app.get("/app/elections").await;
        assert_eq!(
            decode_r(&location(&resp)),
            "https://elections.example.org/app/elections"
        );
    }
);

// ------------------------------------------------------------------------------------------------
// Webhook and sync

db_test!(checklist_21_webhook_signature, |app| {
    let body = br#"{"zen":"Keep it logically awesome."}"#;
    let resp = app.webhook(body, None).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_contains(
        &resp.text().await.unwrap(),
        "X-Hub-Signature-256 is not provided or invalid",
    );

    let resp = app.webhook(body, Some("sha1=abc")).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    let wrong = votebox_meta::signature_header("another-secret", body);
    let resp = app.webhook(body, Some(&wrong)).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_contains(&resp.text().await.unwrap(), "Invalid X-Hub-Signature-256");

    // Valid signature, no session or CSRF token: 200 with the sync log.
    let good = votebox_meta::signature_header(META_SECRET, body);
    let resp = app.webhook(body, Some(&good)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "text/html; charset=utf-8"
    );
    let log = resp.text().await.unwrap();
    assert_contains(&log, "Syncing started");
    assert_contains(&log, "Syncing completed");

    // The signature covers the raw body whatever the content type.
    let resp = app
        .client
        .post(app.url("/v1/webhooks/meta/sync"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-hub-signature-256", good.clone())
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    // Bodies over 1 MiB are refused before any work.
    let big = vec![b'x'; 1024 * 1024 + 1];
    let sig = votebox_meta::signature_header(META_SECRET, &big);
    let status = app.oversized_webhook(&big, &sig).await;
    assert!(
        matches!(status, None | Some(StatusCode::PAYLOAD_TOO_LARGE)),
        "{status:?}"
    );

    // A new election pushed to the meta shows up after the webhook.
    app.meta.write(
        "elections/2025/new/election.yaml",
        "name: Brand New\nstart_datetime: 2025-01-01 00:00:00\nend_datetime: 2025-01-02 00:00:00\nelection_officers: []\n",
    );
    app.meta
        .write("elections/2025/new/voters.yaml", "eligible_voters: []\n");
    app.meta.commit_and_push("add an election");
    assert_lacks(&app.ok_page("/elections").await, "Brand New");
    let resp = app.signed_webhook().await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_contains(
        &resp.text().await.unwrap(),
        " + Brand New added in the database.",
    );
    assert_contains(&app.ok_page("/elections").await, "Brand New");
    let row = votebox_db::elections::find_by_key(app.db(), "2025---new")
        .await
        .unwrap();
    assert_eq!(row.and_then(|r| r.name).as_deref(), Some("Brand New"));
});

db_test!(
    checklist_21_webhook_without_secret_500,
    Options {
        meta_secret: None,
        debug: true,
        ..Options::default()
    },
    |app| {
        let body = b"{}";
        let sig = votebox_meta::signature_header(META_SECRET, body);
        let resp = app.webhook(body, Some(&sig)).await;
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_contains(&resp.text().await.unwrap(), "META_SECRET is not set");
    }
);

db_test!(
    webhook_checks_signature_even_in_debug,
    Options {
        debug: true,
        ..Options::default()
    },
    |app| {
        let resp = app.webhook(b"{}", None).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    }
);

db_test!(checklist_22_orphan_kept, |app| {
    app.mark_voted("dims", "2021---TOC").await;
    // Rewrite history without the TOC election and force-push it.
    app.meta.remove("elections/2021/TOC");
    app.meta.amend_and_force_push();
    let resp = app.signed_webhook().await;
    assert_eq!(resp.status(), StatusCode::OK);
    let log = resp.text().await.unwrap();
    assert_contains(
        &log,
        " ! 2021---TOC kept: directory gone, 1 voters/0 ballots/0 requests kept",
    );
    assert_contains(&log, "votebox prune-orphan 2021---TOC");

    // The row and its voter survive; the election is gone from the pages.
    let row = votebox_db::elections::find_by_key(app.db(), "2021---TOC")
        .await
        .unwrap();
    let row = row.expect("orphaned election row kept");
    assert_eq!(
        votebox_db::voters::count(app.db(), row.id).await.unwrap(),
        1
    );
    assert_lacks(&app.ok_page("/elections").await, TOC);
    app.login_as("dims").await;
    let (status, _) = app.page("/app/elections/2021---TOC").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The dashboard skips the vanished election instead of failing.
    let body = app.ok_page("/app").await;
    assert_lacks(&body, TOC);
    assert_lacks(&body, "2021---TOC");
});

db_test!(
    checklist_23_broken_election_isolated,
    Options::default()
        .with_file(
            "elections/broken/election.yaml",
            "name: [unclosed\nstart_datetime: nope\n"
        )
        .with_file("elections/broken/voters.yaml", "eligible_voters: []\n"),
    |app| {
        // Lists still work and name the broken election without details.
        for path in ["/elections", "/elections?status=running"] {
            let body = app.ok_page(path).await;
            assert_contains(&body, GB);
        }
        let body = app.ok_page("/elections").await;
        assert_contains(&body, "<code>broken</code>");
        assert_lacks(&body, "unclosed");
        // The public page: a generic error, status 500.
        let (status, body) = app.page("/elections/broken").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_contains(&body, "Error While rendering the election");
        assert_lacks(&body, "election.yaml");
        // Logged in: the app list and dashboard work; the election page names the problem.
        app.login_as("jberkus").await;
        app.ok_page("/app").await;
        assert_contains(&app.ok_page("/app/elections").await, "<code>broken</code>");
        let (status, body) = app.page("/app/elections/broken").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_contains(&body, "Error While rendering the election");
        assert_contains(&body, "elections/broken/election.yaml");
        let (status, _) = app.page("/app/elections/broken/candidates/x").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        // The sync log reports it; the healthy elections were synced.
        let log = app.signed_webhook().await.text().await.unwrap();
        assert_contains(&log, " x elections/broken/election.yaml");
        assert!(
            votebox_db::elections::find_by_key(app.db(), "broken")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            votebox_db::elections::find_by_key(app.db(), "2021---GB")
                .await
                .unwrap()
                .is_some()
        );
    }
);

db_test!(webhook_git_failure_keeps_snapshot, |app| {
    std::fs::rename(&app.meta.bare, app.meta.bare.with_extension("gone")).unwrap();
    let resp = app.signed_webhook().await;
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    let text = resp.text().await.unwrap();
    assert_contains(&text, "previous version is still served");
    assert_lacks(&text, "remote.git");
    let body = app.ok_page("/elections").await;
    assert_contains(&body, GB);
});

db_test!(
    snapshot_not_loaded_503,
    Options {
        sync_on_start: false,
        ..Options::default()
    },
    |app| {
        let (status, body) = app.page("/elections").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_contains(&body, "not loaded yet");
        assert_eq!(app.get("/health").await.status(), StatusCode::OK);
        assert_eq!(app.signed_webhook().await.status(), StatusCode::OK);
        assert_contains(&app.ok_page("/elections").await, GB);
    }
);
