//! Pages that tell voters and officers the truth at a glance (issue 13), on all three engines:
//! the voter's status everywhere, a ballot without a passphrase, the confirmation page, the
//! election page's head, exception requests as the requester and the officers see them,
//! candidate profiles, and the officer pages' headline, turnout and exports. Tests named
//! `elekto_<n>_…` pin an Elekto request (github.com/elekto-io/elekto issue n).

use reqwest::StatusCode;
use time::macros::datetime;

use crate::harness::{AFTER_ALL, Options, TestApp, db_test, location};
use crate::results::{OFFICER, SEATS, WORKED, results_options, seed_ballot, seed_worked_example};

const GB: &str = "/app/elections/2021---GB";
const FUTURE: &str = "/app/elections/2024---future";

fn assert_contains(body: &str, needle: &str) {
    assert!(body.contains(needle), "expected {needle:?} in:\n{body}");
}

fn assert_lacks(body: &str, needle: &str) {
    assert!(
        !body.contains(needle),
        "did not expect {needle:?} in:\n{body}"
    );
}

/// POSTs `fields` to `path` with the CSRF token of `token_page`.
async fn post(
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
    token_page: &str,
) -> reqwest::Response {
    let token = app.csrf_token(token_page).await;
    let mut form: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
    form.extend_from_slice(fields);
    app.post_form(path, &form).await
}

/// The part of `body` from `marker` to the end of its `</ul>` or `</section>`.
fn part<'a>(body: &'a str, marker: &str) -> &'a str {
    let start = body
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in:\n{body}"));
    let rest = &body[start..];
    let end = ["</ul>", "</section>"]
        .iter()
        .filter_map(|e| rest.find(e))
        .min()
        .unwrap_or(rest.len());
    &rest[..end]
}

/// The `<li>` of the election `key` in a list part.
fn item<'a>(list: &'a str, key: &str) -> &'a str {
    let href = format!("href=\"/app/elections/{key}\"");
    let at = list
        .find(&href)
        .unwrap_or_else(|| panic!("{key} not in:\n{list}"));
    let rest = &list[at..];
    &rest[..rest.find("</li>").unwrap_or(rest.len())]
}

fn badge(label: &str) -> String {
    let class = match label {
        "Not eligible" => "not-eligible",
        "Eligible" => "eligible",
        "Voted" => "voted",
        other => panic!("no badge {other}"),
    };
    format!("<span class=\"badge {class}\">{label}</span>")
}

// Elekto #50: one badge, three states (Not eligible / Eligible / Voted), the same on the
// dashboard, the elections list and the election page; the dashboard sorts running, upcoming and
// ended elections apart (Elekto listed a running election under "Previously Voted … Voting ended").
db_test!(elekto_50_voter_status_everywhere, |app| {
    app.login_as("dims").await;
    let dash = app.ok_page("/app").await;
    let running = part(&dash, "id=\"running\"");
    assert_contains(item(running, "2021---GB"), &badge("Eligible"));
    assert_contains(
        item(running, "2021---GB"),
        "href=\"/app/elections/2021---GB/vote\"",
    );
    assert_contains(item(running, "name_the_app"), &badge("Not eligible"));
    assert_contains(
        item(part(&dash, "id=\"upcoming\""), "2024---future"),
        &badge("Not eligible"),
    );
    // Ended: the completed election dims could vote in, and did not.
    assert_contains(
        item(part(&dash, "id=\"ended\""), "2021---TOC"),
        "Did not vote",
    );
    let list = app.ok_page("/app/elections").await;
    assert_contains(item(&list, "2021---GB"), &badge("Eligible"));
    assert_contains(item(&list, "name_the_app"), &badge("Not eligible"));
    let page = app.ok_page(GB).await;
    assert_contains(
        &page,
        "<span class=\"badge eligible\" id=\"voter-status\">Eligible</span>",
    );
    assert_contains(&page, "You are on the voter list and have not voted yet.");

    // Vote (no passphrase): Voted everywhere, and still under "Voting now" while it runs.
    let resp = post(
        &app,
        &format!("{GB}/vote"),
        &[("candidate@aaron", "1"), ("password", "")],
        GB,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    let dash = app.ok_page("/app").await;
    let gb = item(part(&dash, "id=\"running\""), "2021---GB");
    assert_contains(gb, &badge("Voted"));
    assert_contains(gb, "Voting is open until");
    assert_lacks(gb, "/vote\"");
    assert_lacks(&dash, "Voting ended on <time datetime=\"2023-08-22");
    assert_contains(
        item(&app.ok_page("/app/elections").await, "2021---GB"),
        &badge("Voted"),
    );
    assert_contains(&app.ok_page(GB).await, "id=\"voter-status\">Voted</span>");

    // Public pages carry no personal badge.
    let public = app.ok_page("/elections").await;
    assert_lacks(&public, "badge voted");
    assert_lacks(&public, "badge eligible");
});

// A ballot cast without a passphrase is labelled so and offers no view or revoke; the
// confirmation page names the election, the day, and what can still be done with the ballot.
db_test!(ballot_without_passphrase_is_labelled, |app| {
    app.login_as("liggitt").await;
    let resp = post(
        &app,
        &format!("{GB}/vote"),
        &[("candidate@paris", "1"), ("password", "")],
        GB,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(location(&resp), format!("{GB}/confirmation"));
    let confirmation = app.ok_page(&format!("{GB}/confirmation")).await;
    assert_contains(
        &confirmation,
        "Your ballot in <strong>Select our 2021 General Board Rep</strong> has been recorded on ",
    );
    assert_contains(
        &confirmation,
        "without a passphrase</strong>: it cannot be viewed or revoked",
    );
    assert_contains(&confirmation, "role=\"status\"");
    let page = app.ok_page(GB).await;
    assert_contains(
        &page,
        "You cast this ballot without a passphrase, so it cannot be viewed or revoked",
    );
    assert_lacks(&page, "/vote/view");
    assert_lacks(&page, "View Ballot");
    // One word everywhere: passphrase.
    for p in [page.as_str(), confirmation.as_str()] {
        assert_lacks(&p.to_lowercase(), "password<");
        assert_lacks(p, "Incorrect password");
    }
});

// The election page: status, dates (UTC, machine-readable for the local-time script), the
// voter's status and the main action come before the description, on the public page too; an
// Anywhere-on-Earth deadline is spelled out.
db_test!(
    election_page_head_and_anywhere_on_earth,
    Options::default()
        .with_file(
            "elections/aoe/election.yaml",
            "name: AoE Election\norganization: Kubernetes\nstart_datetime: 2023-08-01 00:00:01\n# End of day Anywhere on Earth\nend_datetime: 2023-08-26 11:59:59\nno_winners: 1\nshow_candidate_fields:\n  - employer\nelection_officers:\n  - jberkus\nexception_due: 2023-08-20 12:00:00\n",
        )
        .with_file("elections/aoe/voters.yaml", "eligible_voters:\n  - dims\n")
        .with_file("elections/aoe/election_desc.md", "# About this election\n\nLong text.\n"),
    |app| {
        for path in ["/elections/aoe", "/app/elections/aoe"] {
            if path.starts_with("/app") {
                app.login_as("mallory").await;
            }
            let body = app.ok_page(path).await;
            let head = body.find("class=\"at-a-glance\"").expect("the at-a-glance block");
            assert!(head < body.find("About this election").unwrap(), "{body}");
            assert_contains(&body, "Voting is open until <time datetime=\"2023-08-26T11:59:59Z\" data-local>2023-08-26 11:59:59 UTC</time> <span class=\"aoe\">(end of 2023-08-25 Anywhere on Earth)</span>");
            assert_contains(&body, "<time datetime=\"2023-08-01T00:00:01Z\" data-local>2023-08-01 00:00:01 UTC</time>");
            assert_contains(&body, "data-countdown=\"2023-08-26T11:59:59Z\"");
            assert_contains(&body, "<script src=\"/static/js/local-time.js\" defer></script>");
        }
        // mallory: not eligible, invited to ask for an exception before its (AoE) deadline.
        let body = app.ok_page("/app/elections/aoe").await;
        assert_contains(&body, "id=\"voter-status\">Not eligible</span>");
        assert_contains(&body, "exception form</a> before <time datetime=\"2023-08-20T12:00:00Z\"");
        assert_contains(&body, "(end of 2023-08-19 Anywhere on Earth)");
        // The script is served, under the CSP's script-src 'self'.
        let js = app.get("/static/js/local-time.js").await;
        assert_eq!(js.status(), StatusCode::OK);
        assert_contains(js.headers()["content-type"].to_str().unwrap(), "javascript");
        assert_contains(&js.text().await.unwrap(), "data-countdown");
    }
);

// Elekto #83 (exception requests per election): the invitation shows only while requests are
// accepted and the user has none; the requester then sees "pending", then "reviewed"; officers
// see the time to the minute in UTC and what reviewing means and what to do next.
db_test!(elekto_83_exception_request_states, |app| {
    app.login_as("mallory").await;
    let body = app.ok_page(GB).await;
    assert_contains(
        &body,
        "fill in the <a href=\"/app/elections/2021---GB/exception\">exception form</a>",
    );
    let resp = post(
        &app,
        &format!("{GB}/exception"),
        &[
            ("name", "Mallory"),
            ("email", "m@example.org"),
            ("chat", "@m"),
            ("description", "Docs"),
            ("comments", ""),
        ],
        &format!("{GB}/exception"),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    let body = app.ok_page(GB).await;
    assert_contains(&body, "role=\"status\"");
    assert_contains(&body, "Request successfully submitted.");
    assert_contains(&body, "Your exception request is <strong>pending</strong>");
    assert_lacks(&body, "exception form</a>");

    // The officer's view.
    app.get("/logout").await;
    app.login_as("jberkus").await;
    let admin = app.ok_page(&format!("{GB}/admin/")).await;
    let filed = admin
        .split("Filed on ")
        .nth(1)
        .expect("the filing time")
        .split("</small>")
        .next()
        .unwrap();
    assert!(
        filed.len() == "2023-08-10 12:00 UTC".len()
            && filed.ends_with(" UTC")
            && !filed.contains('.'),
        "{filed}"
    );
    let href = admin
        .split("href=\"/app/elections/2021---GB/admin/exception/")
        .nth(1)
        .unwrap();
    let rid = href.split('"').next().unwrap();
    let review = format!("{GB}/admin/exception/{rid}");
    let body = app.ok_page(&review).await;
    assert_contains(
        &body,
        &format!("Filed by <strong>mallory</strong> on {filed}"),
    );
    assert_contains(
        &body,
        "add\n    the login <code>mallory</code> to this election's <code>voters.yaml</code>",
    );
    assert_contains(&body, "Mark as reviewed");
    let resp = post(&app, &review, &[], &review).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_contains(&resp.text().await.unwrap(), "Mark as not reviewed");

    app.get("/logout").await;
    app.login_as("mallory").await;
    let body = app.ok_page(GB).await;
    assert_contains(
        &body,
        "Your exception request has been <strong>reviewed</strong>",
    );
    // After exception_due (2023-08-13 10:00): no invitation for anyone.
    app.get("/logout").await;
    app.set_now(datetime!(2023-08-14 00:00:00));
    app.login_as("nobody-else").await;
    let body = app.ok_page(GB).await;
    assert_contains(&body, "id=\"voter-status\">Not eligible</span>");
    assert_lacks(&body, "exception form");
});

// Exception form errors are tied to their fields.
db_test!(exception_form_errors_name_their_fields, |app| {
    app.login_as("mallory").await;
    let path = format!("{GB}/exception");
    let resp = post(
        &app,
        &path,
        &[
            ("name", " "),
            ("email", "m@example.org"),
            ("chat", "@m"),
            ("description", ""),
            ("comments", ""),
        ],
        &path,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body = resp.text().await.unwrap();
    assert_contains(&body, "role=\"alert\"");
    assert_contains(
        &body,
        "<li class=\"error\" id=\"error-name\"><a href=\"#name\">Please fill in Name.</a></li>",
    );
    assert_contains(
        &body,
        "id=\"name\" value=\" \" maxlength=\"255\" required aria-invalid=\"true\" aria-describedby=\"error-name\"",
    );
    assert_contains(&body, "aria-describedby=\"error-description\"");
    assert_lacks(&body, "aria-describedby=\"error-email\"");
});

const MALFORMED_INFO: &str = "---\nname: Broken Info\nID: broken\ninfo: to be added\n---\n";
const MAPPING_INFO: &str =
    "---\nname: Mapped Info\nID: mapped\ninfo:\n  employer: Mapping Corp\n---\n\nHello.\n";

// Elekto #85: a candidate with an empty profile or malformed `info` (and the mapping form of
// `info`) has a page that works: a clear note, never an error page, and the election still loads.
db_test!(
    elekto_85_candidate_profiles_empty_malformed_mapping,
    Options::default()
        .with_file("elections/2021/GB/candidate-broken.md", MALFORMED_INFO)
        .with_file("elections/2021/GB/candidate-mapped.md", MAPPING_INFO),
    |app| {
        app.login_as("dims").await;
        let body = app.ok_page(&format!("{GB}/candidates/broken")).await;
        assert_contains(&body, "<h1>Broken Info");
        assert_contains(
            &body,
            "id=\"info-note\">This candidate&#39;s `info` could not be read",
        );
        assert_contains(&body, "No profile submitted.");
        assert_contains(
            &body,
            "<strong>employer</strong> | <span class=\"muted\">not given</span>",
        );
        let body = app.ok_page(&format!("{GB}/candidates/mapped")).await;
        assert_contains(&body, "<strong>employer</strong> | Mapping Corp");
        assert_lacks(&body, "info-note");
        // The election and its ballot still work.
        assert_contains(&app.ok_page(GB).await, "Broken Info");
        assert_contains(
            &app.ok_page(&format!("{GB}/vote")).await,
            "candidate@broken",
        );
    }
);

// Elekto #98: `show_candidate_fields` may be left out (2024---future has it empty: `null`).
db_test!(
    elekto_98_show_candidate_fields_optional,
    Options::default().with_file("elections/2024/future/candidate-solo.md", MAPPING_INFO),
    |app| {
        app.login_as("jberkus").await;
        let body = app.ok_page(&format!("{FUTURE}/candidates/mapped")).await;
        assert_contains(&body, "<h1>Mapped Info");
        assert_lacks(&body, "Mapping Corp");
    }
);

// Officer pages: the headline names the elected seats; a tie is announced only when it decides a
// seat, and says which; no ballots says so; turnout on the dashboard; one seed for both exports;
// a what-if draft is marked; file names carry the election key.
db_test!(
    officer_pages_tell_the_truth,
    results_options(AFTER_ALL),
    |app| {
        app.login_as(OFFICER).await;
        let admin = |key: &str, rest: &str| format!("/app/elections/{key}/admin/{rest}");
        // No ballots: "No ballots were cast", never a tie.
        let body = app.ok_page(&admin(SEATS, "results")).await;
        assert_contains(&body, "No ballots were cast");
        assert_lacks(&body, "tie decides");
        assert_lacks(&body, "id=\"seat-tie\"");
        let md = app
            .get(&admin(SEATS, "results.md?seed=x"))
            .await
            .text()
            .await
            .unwrap();
        assert_contains(&md, "No ballots were cast");
        assert_lacks(&md, "**Tie:**");

        // Two seats filled cleanly (a > b > c = d): both named, no tie announced although c and d
        // share a rank below the cut.
        for login in ["v1", "v2", "v3"] {
            seed_ballot(
                &app,
                SEATS,
                Some(login),
                &[("a", 1), ("b", 2), ("c", 3), ("d", 3)],
            )
            .await;
        }
        let body = app.ok_page(&admin(SEATS, "results")).await;
        assert_contains(
            &body,
            "Elected to the 2 seats: <strong>Alice</strong> (<code>a</code>), <strong>Bob</strong> (<code>b</code>).",
        );
        assert_lacks(&body, "tie decides");
        assert_lacks(&body, "Tie for first place");
        // The matrix reads without colour: a sign in every cell.
        assert_contains(
            &body,
            "<span class=\"sign\" aria-hidden=\"true\">+</span>3<span class=\"visually-hidden\"> (wins)</span>",
        );

        // One seat, two tied for it: the tie is announced, with the seat it decides.
        seed_worked_example(&app).await;
        let body = app.ok_page(&admin(WORKED, "results")).await;
        assert_contains(
            &body,
            "<strong>A tie decides seat 1</strong> (the only seat): 2 candidates are tied for 1 seat",
        );

        // The dashboard: turnout, and the two exports with one seed; their file names carry the key.
        let dash = app.ok_page(&admin(WORKED, "")).await;
        assert_contains(&dash, "<span class=\"number\" id=\"turnout\">3 / 4</span>");
        let csv_href = dash
            .split("id=\"csv-link\" href=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        let md_href = dash
            .split("id=\"md-link\" href=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        let seed = csv_href.split("seed=").nth(1).unwrap().to_owned();
        assert!(
            !seed.is_empty() && md_href.ends_with(&format!("seed={seed}")),
            "{csv_href} {md_href}"
        );
        let csv = app.get(&csv_href).await;
        assert_eq!(
            csv.headers()["content-disposition"],
            "attachment; filename=ballots-results---worked.csv"
        );
        let csv = csv.text().await.unwrap();
        let md = app.get(&md_href).await;
        assert_eq!(
            md.headers()["content-disposition"],
            "attachment; filename=results-results---worked.md"
        );
        let md = md.text().await.unwrap();
        let sha = votebox_core::results::sha256_hex(csv.as_bytes());
        assert_contains(
            &md,
            &format!("`ballots-results---worked.csv` (export seed `{seed}`), SHA-256 `{sha}`"),
        );
        assert_lacks(&md, "WHAT-IF");
        // A what-if draft says so, in its title, its notes and its file name.
        let resp = app
            .get(&admin(
                WORKED,
                "results.md?seed=s&method=ranked-pairs&unranked=last",
            ))
            .await;
        assert_eq!(
            resp.headers()["content-disposition"],
            "attachment; filename=results-what-if-ranked-pairs-last-results---worked.md"
        );
        let md = resp.text().await.unwrap();
        assert_contains(
            &md,
            "(what-if recount: ranked-pairs, unranked last; not the configured count)",
        );
        assert_contains(
            &md,
            "WHAT-IF RECOUNT: counted with ranked-pairs and unranked last",
        );
        let page = app
            .ok_page(&admin(WORKED, "results?method=ranked-pairs&unranked=last"))
            .await;
        assert_contains(&page, "results.md draft (what-if recount)</a>");
    }
);

// Live turnout on the officer dashboard while voting runs.
db_test!(officer_dashboard_live_turnout, |app| {
    app.mark_voted("dims", "2021---GB").await;
    app.login_as("jberkus").await;
    let body = app.ok_page(&format!("{GB}/admin/")).await;
    assert_contains(
        &body,
        "<span class=\"number\" id=\"turnout\">1 / 8</span> <span class=\"label\">voted / eligible (live)</span>",
    );
});

// Completed elections show on the dashboard under "Ended" with their results.
db_test!(dashboard_ended_section, Options::at(AFTER_ALL), |app| {
    app.login_as("dims").await;
    app.mark_voted("dims", "2021---GB").await;
    let dash = app.ok_page("/app").await;
    let ended = part(&dash, "id=\"ended\"");
    let gb = item(ended, "2021---GB");
    assert_contains(gb, &badge("Voted"));
    assert_contains(gb, "href=\"/app/elections/2021---GB/results/\"");
    assert_lacks(&dash, "id=\"running\"");
    assert_contains(item(ended, "2021---TOC"), "Did not vote");
});
