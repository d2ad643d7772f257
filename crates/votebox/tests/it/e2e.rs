//! Browser journeys in headless Chromium (see `e2e_support.rs`). Screenshots are saved under
//! `<target>/tmp/e2e-output/`.

use fantoccini::Locator;
use reqwest::StatusCode;

use crate::e2e_support::Browser;
use crate::fake_github::FakeUser;
use crate::harness::{AFTER_ALL, Engine, Options, TestApp, db_test};
use crate::results::{OFFICER, WORKED, results_options, seed_worked_example};

/// Issue 4 item 8: an officer signs in, opens the results of a finished election, switches the
/// method in the what-if panel, and downloads the ballots CSV.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_officer_results_journey() {
    let app = TestApp::spawn_with(Engine::Sqlite, results_options(AFTER_ALL)).await;
    seed_worked_example(&app).await;
    let browser = Browser::start().await;
    browser.demo_login(&app.base, OFFICER).await;

    // The officer dashboard links to the results.
    let c = &browser.client;
    c.goto(&app.url(&format!("/app/elections/{WORKED}/admin/")))
        .await
        .unwrap();
    c.find(Locator::LinkText("Generate Results"))
        .await
        .expect("Generate Results link")
        .click()
        .await
        .unwrap();
    browser
        .wait_for_path(&format!("/app/elections/{WORKED}/admin/results"))
        .await;
    let html = browser.source().await;
    assert!(
        html.contains("<strong>A tie decides seat 1</strong> (the only seat)"),
        "{html}"
    );
    assert!(!html.contains("is the Condorcet winner"));
    browser.screenshot("results-configured").await;

    // What if: Debian's rule for unranked candidates (no JavaScript: a GET form).
    c.find(Locator::Css("select#method"))
        .await
        .unwrap()
        .select_by_value("ranked-pairs")
        .await
        .unwrap();
    c.find(Locator::Css("select#unranked"))
        .await
        .unwrap()
        .select_by_value("last")
        .await
        .unwrap();
    c.find(Locator::Css("button#recount"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while c.current_url().await.unwrap().query() != Some("method=ranked-pairs&unranked=last") {
        assert!(
            std::time::Instant::now() < deadline,
            "the what-if form did not navigate"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let html = browser.source().await;
    assert!(
        html.contains("Ranked Pairs (winning votes)</strong>"),
        "{html}"
    );
    assert!(html.contains("This is a \"what if\" recount"), "{html}");
    assert!(html.contains("is the Condorcet winner"), "{html}");
    assert!(html.contains("id=\"what-if-differs\""), "{html}");
    let shown = c
        .find(Locator::Css("table.what-if tr.current"))
        .await
        .expect("the shown count is marked");
    assert_eq!(
        shown.attr("data-method").await.unwrap().as_deref(),
        Some("ranked-pairs")
    );
    browser.screenshot("results-what-if").await;

    // Download the CSV the way the browser would: its link, its session cookie.
    let href = c
        .find(Locator::Css("a#csv-link"))
        .await
        .unwrap()
        .prop("href")
        .await
        .unwrap()
        .expect("csv link href");
    let resp = reqwest::Client::new()
        .get(&href)
        .header("cookie", browser.cookie_header().await)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-disposition"].to_str().unwrap(),
        "attachment; filename=ballots-results---worked.csv"
    );
    let csv = resp.text().await.unwrap();
    assert!(csv.starts_with("A,B,C,D\n"), "{csv}");
    assert_eq!(csv.lines().count(), 4, "{csv}");
    // Without the session the link is the login redirect, not the file.
    let anon = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&href)
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), StatusCode::FOUND);
    browser.close().await;
}

const GB: &str = "/app/elections/2021---GB";

async fn gb_id(app: &TestApp) -> votebox_db::ElectionId {
    votebox_db::elections::find_by_key(app.db(), "2021---GB")
        .await
        .unwrap()
        .expect("2021---GB synced")
        .id
}

/// 2021---GB's ballot rows as (candidate, rank), sorted by candidate.
async fn ballot_rows(app: &TestApp) -> Vec<(String, Option<i32>)> {
    let rows = votebox_db::ballots::all_for_election(app.db(), gb_id(app).await)
        .await
        .unwrap();
    let mut out: Vec<_> = rows.into_iter().map(|(_, c, r)| (c, r)).collect();
    out.sort();
    out
}

async fn request_count(app: &TestApp) -> usize {
    votebox_db::requests::list_for_election(app.db(), gb_id(app).await)
        .await
        .unwrap()
        .len()
}

/// The flash messages of the current page.
async fn flashes(browser: &Browser) -> String {
    let mut out = Vec::new();
    for flash in browser
        .client
        .find_all(Locator::Css("div.flash"))
        .await
        .unwrap()
    {
        out.push(flash.text().await.unwrap());
    }
    out.join("\n")
}

// Issue 6 item 8: a voter signs in through the (fake) GitHub provider, ranks with a tie and a
// "No opinion", views the ballot with the passphrase, revokes and recasts it; then an ineligible
// user files an exception request. On every engine: the browser drives real writes.
db_test!(e2e_voter_journey, Options::github(), |app| {
    let engine = format!("{:?}", app.engine).to_lowercase();
    let browser = Browser::start().await;
    let c = &browser.client;
    app.fake_github().sign_in_as(FakeUser::for_login("liggitt"));
    browser.github_login(&app.base).await;

    // The election page offers the ballot; the form starts at "No opinion" everywhere.
    c.goto(&app.url(GB)).await.unwrap();
    browser
        .click(Locator::Css("a.button.primary[href$='/vote']"))
        .await;
    browser.wait_for_path(&format!("{GB}/vote")).await;
    let html = browser.source().await;
    assert!(
        html.contains("this ballot can never be viewed, changed or revoked"),
        "the empty-passphrase warning is shown before submitting:\n{html}"
    );
    // Aaron and Paris tied first, Davanum left at "No opinion".
    let pass = "browser journey passphrase";
    browser
        .fill_ballot(&[("aaron", "1"), ("paris", "1")], pass)
        .await;
    browser.screenshot(&format!("ballot-{engine}")).await;
    browser
        .click(Locator::Css("form.ballot button[type='submit']"))
        .await;
    browser.wait_for_path(&format!("{GB}/confirmation")).await;
    assert!(browser.source().await.contains("Thank you for voting"));
    let no_opinion = Some(votebox_db::ballots::NO_OPINION);
    assert_eq!(
        ballot_rows(&app).await,
        [("aaron", Some(1)), ("dims", no_opinion), ("paris", Some(1))]
            .map(|(c, r)| (c.to_owned(), r))
    );

    // View it with the passphrase.
    c.goto(&app.url(GB)).await.unwrap();
    browser
        .fill("form[action$='/vote/view'] #password", pass)
        .await;
    browser
        .click(Locator::Css(
            "form[action$='/vote/view'] button[type='submit']",
        ))
        .await;
    browser.wait_for_path(&format!("{GB}/vote/view")).await;
    let html = browser.source().await;
    for (name, id, rank) in [
        ("Aaron Crickenberker", "aaron", "1"),
        ("Paris Pittman", "paris", "1"),
        ("Davanum Srinivas", "dims", "No opinion"),
    ] {
        let row = format!(
            "<tr><td>{name}</td><td><code>{id}</code></td><td class=\"rank\">{rank}</td></tr>"
        );
        assert!(html.contains(&row), "expected {row} in:\n{html}");
    }
    browser.screenshot(&format!("your-ballot-{engine}")).await;

    // Revoke it: back to the election page, free to vote again.
    browser.fill("form.revoke #password", pass).await;
    browser
        .click(Locator::Css("form.revoke button[type='submit']"))
        .await;
    browser.wait_for_path(GB).await;
    assert!(
        flashes(&browser).await.contains("successfully deleted"),
        "{}",
        browser.source().await
    );
    assert_eq!(ballot_rows(&app).await, []);

    // Recast: a strict order this time.
    browser
        .click(Locator::Css("a.button.primary[href$='/vote']"))
        .await;
    browser.wait_for_path(&format!("{GB}/vote")).await;
    browser
        .fill_ballot(&[("dims", "1"), ("aaron", "2"), ("paris", "3")], pass)
        .await;
    browser
        .click(Locator::Css("form.ballot button[type='submit']"))
        .await;
    browser.wait_for_path(&format!("{GB}/confirmation")).await;
    assert_eq!(
        ballot_rows(&app).await,
        [("aaron", Some(2)), ("dims", Some(1)), ("paris", Some(3))].map(|(c, r)| (c.to_owned(), r))
    );

    // An ineligible user signs in and files an exception request.
    c.goto(&app.url("/logout")).await.unwrap();
    browser.wait_for_path("/login").await;
    app.fake_github().sign_in_as(FakeUser::for_login("mallory"));
    browser.github_login(&app.base).await;
    c.goto(&app.url(GB)).await.unwrap();
    browser.click(Locator::LinkText("exception form")).await;
    browser.wait_for_path(&format!("{GB}/exception")).await;
    browser.fill("#name", "Mallory M").await;
    browser.fill("#email", "mallory@example.org").await;
    browser.fill("#chat", "@mallory").await;
    browser.fill("#description", "Docs and reviews").await;
    browser.screenshot(&format!("exception-{engine}")).await;
    browser
        .click(Locator::Css("form.exception button[type='submit']"))
        .await;
    browser.wait_for_path(GB).await;
    assert!(
        flashes(&browser)
            .await
            .contains("Request successfully submitted."),
        "{}",
        browser.source().await
    );
    assert_eq!(request_count(&app).await, 1);
    browser.close().await;
});

/// A candidate biography with an image pointing at `/logout` (Markdown keeps relative images).
const IMG_TRAP: &str = "-------\nname: Image Trap\nID: imgtrap\n-------\n\
Nice biography. <img src=\"/logout\" alt=\"trap\"> ![also a trap](/logout)\n";

// Issue 12 item 7, in a real browser: an image pointing at `/logout` in a candidate biography
// and a link to `/logout` on another site do not log out (the link gets a "Log out" button that
// does); a logout in one browser ends a copied session cookie; the CSP blocks nothing the pages
// need (styles apply, no console error).
db_test!(
    e2e_logout_cannot_be_forced,
    Options::default().with_file("elections/2021/GB/candidate-imgtrap.md", IMG_TRAP),
    |app| {
        let engine = format!("{:?}", app.engine).to_lowercase();
        let browser = Browser::start().await;
        let c = &browser.client;
        browser.demo_login(&app.base, "dims").await;
        let copied = browser.cookie_header().await;

        // The biography's images load /logout as images: still logged in.
        c.goto(&app.url(&format!("{GB}/candidates/imgtrap")))
            .await
            .unwrap();
        let html = browser.source().await;
        assert!(html.contains("Nice biography."), "{html}");
        assert!(
            html.contains("src=\"/logout\""),
            "the trap is on the page: {html}"
        );
        browser.screenshot(&format!("imgtrap-{engine}")).await;
        c.goto(&app.url("/app")).await.unwrap();
        browser.wait_for_path("/app").await;

        // Another site's link to /logout (a cross-site top-level navigation, which carries the
        // SameSite=Lax cookie): a confirmation page, still logged in.
        let evil = format!(
            "data:text/html,<a id=\"go\" href=\"{}\">free stickers</a>",
            app.url("/logout")
        );
        c.goto(&evil).await.unwrap();
        browser.click(Locator::Css("a#go")).await;
        browser.wait_for_path("/logout").await;
        let html = browser.source().await;
        assert!(html.contains("Do you want to log out"), "{html}");
        browser
            .screenshot(&format!("logout-confirm-{engine}"))
            .await;
        c.goto(&app.url("/app")).await.unwrap();
        browser.wait_for_path("/app").await;
        let still = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(app.url("/app"))
            .header("cookie", &copied)
            .send()
            .await
            .unwrap();
        assert_eq!(still.status(), StatusCode::OK, "the copied cookie works");

        // The nav's Logout button (POST) ends the session, and the copy with it.
        browser
            .click(Locator::Css("form.logout button[type='submit']"))
            .await;
        browser.wait_for_path("/login").await;
        let after = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(app.url("/app"))
            .header("cookie", &copied)
            .send()
            .await
            .unwrap();
        assert_eq!(
            after.status(),
            StatusCode::FOUND,
            "the copied cookie is dead"
        );
        c.goto(&app.url("/app")).await.unwrap();
        assert!(
            c.current_url().await.unwrap().path() == "/login",
            "logged out in the browser"
        );

        // The stylesheet applied under the CSP (the top bar is laid out by main.css).
        let css_applied: serde_json::Value = c
            .execute(
                "return getComputedStyle(document.querySelector('header.topbar')).display;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(css_applied, serde_json::json!("flex"), "main.css applied");
        browser.close().await;
    }
);

/// Issue 14 item 6: a voter casts and copies the receipt; once voting has ended, the voter finds
/// it on the (public) ballot board with the same ranking and checks it on "Check my receipt";
/// the officer downloads the board and the results.md draft from the results page, and the
/// `votebox verify` binary accepts them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_receipt_board_verify_journey() {
    const KEY: &str = "verify---open";
    let app = TestApp::spawn_with(Engine::Sqlite, crate::board::options()).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    browser.demo_login(&app.base, "vera").await;

    // Cast: Beta first, Alpha second, Gamma left at "No opinion".
    let vote = format!("/app/elections/{KEY}/vote");
    c.goto(&app.url(&vote)).await.unwrap();
    let pass = "receipt journey passphrase";
    browser
        .fill_ballot(&[("beta", "1"), ("alpha", "2")], pass)
        .await;
    browser
        .click(Locator::Css("form.ballot button[type='submit']"))
        .await;
    browser
        .wait_for_path(&format!("/app/elections/{KEY}/confirmation"))
        .await;
    let receipt = browser
        .find(Locator::Css("#receipt-code"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(receipt.len(), 23, "{receipt}");
    browser.screenshot("receipt-confirmation").await;

    // Voting ends; the voter finds the receipt on the board, with the ranking cast.
    app.set_now(AFTER_ALL);
    c.goto(&app.url(&format!("/elections/{KEY}/board")))
        .await
        .unwrap();
    let row = browser
        .find(Locator::XPath(&format!(
            "//table[contains(@class,'board')]//tr[td/code[text()='{receipt}']]/td[2]"
        )))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(row, "1: beta; 2: alpha; No opinion: gamma");
    browser.screenshot("receipt-on-board").await;

    // And on "Check my receipt", typed in lower case.
    c.goto(&app.url(&format!("/elections/{KEY}/receipt")))
        .await
        .unwrap();
    browser.fill("#receipt", &receipt.to_lowercase()).await;
    browser
        .click(Locator::Css("form.receipt-form button[type='submit']"))
        .await;
    let found = browser.find(Locator::Css("#receipt-result")).await;
    let text = found.text().await.unwrap();
    assert!(text.contains(&receipt), "{text}");
    assert!(text.contains("Beta Bee (beta)"), "{text}");
    browser.screenshot("receipt-checked").await;

    // The officer downloads the board and the draft from the results page.
    c.goto(&app.url("/logout")).await.unwrap();
    browser.wait_for_path("/login").await;
    browser.demo_login(&app.base, crate::board::OFFICER).await;
    c.goto(&app.url(&format!("/app/elections/{KEY}/admin/results")))
        .await
        .unwrap();
    browser.click(Locator::Css("a#board-link")).await;
    browser
        .wait_for_path(&format!("/elections/{KEY}/board"))
        .await;
    browser.screenshot("board-officer").await;
    let b = &browser;
    let href = |selector: &'static str| async move {
        b.find(Locator::Css(selector))
            .await
            .prop("href")
            .await
            .unwrap()
            .expect("href")
    };
    let board_href = href("a#board-csv").await;
    c.goto(&app.url(&format!("/app/elections/{KEY}/admin/results")))
        .await
        .unwrap();
    let md_href = href("a#md-link").await;
    let cookie = browser.cookie_header().await;
    let download = |url: String| {
        let cookie = cookie.clone();
        async move {
            let resp = reqwest::Client::new()
                .get(&url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{url}");
            resp.text().await.unwrap()
        }
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("board.csv"), download(board_href).await).unwrap();
    std::fs::write(dir.path().join("results.md"), download(md_href).await).unwrap();
    let run = crate::board::verify(
        dir.path(),
        &[
            "board.csv",
            "--results",
            "results.md",
            "--receipt",
            &receipt,
        ],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("match the recount"), "{}", run.stdout);
    browser.close().await;
}

/// Issue 13 item 6: every page type (public, voter dashboard, ballot with its errors,
/// confirmation, exception, officer dashboard, results) passes axe-core's WCAG 2.2 A/AA rules
/// with no serious or critical violation, and is saved as a screenshot at 1280 and 390 px wide
/// (`<target>/tmp/e2e-output/a11y-<page>-<width>.png`). One journey, on SQLite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_every_page_type_accessible() {
    let axe = crate::e2e_support::axe_source();
    let app =
        TestApp::spawn_with(Engine::Sqlite, results_options(crate::harness::DEFAULT_NOW)).await;
    seed_worked_example(&app).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    let mut failures = Vec::new();
    let mut check = async |name: &str| {
        for width in [1280, 390] {
            browser
                .resize(width, if width == 390 { 844 } else { 1000 })
                .await;
            browser.screenshot(&format!("a11y-{name}-{width}")).await;
        }
        browser.resize(1280, 1000).await;
        let (violations, passes) = browser.axe(&axe).await;
        eprintln!(
            "axe {name}: {passes} rules passed, {} violated",
            violations.len()
        );
        assert!(passes > 10, "axe-core checked {name}");
        for v in violations {
            let impact = v.impact.clone().unwrap_or_default();
            eprintln!(
                "axe {name}: {impact} {} ({}): {} node(s)",
                v.id,
                v.help,
                v.nodes.len()
            );
            if impact == "serious" || impact == "critical" {
                let targets: Vec<String> =
                    v.nodes.iter().map(|n| n["target"].to_string()).collect();
                failures.push(format!(
                    "{name}: {impact} {}: {} at {}",
                    v.id,
                    v.help,
                    targets.join(" ")
                ));
            }
        }
    };

    // Public election page.
    c.goto(&app.url("/elections/2021---GB")).await.unwrap();
    check("public").await;

    // A voter: dashboard, the ballot (sent back once with errors tied to the fields), the
    // confirmation.
    browser.demo_login(&app.base, "dims").await;
    check("dashboard").await;
    c.goto(&app.url(&format!("{GB}/vote"))).await.unwrap();
    check("ballot").await;
    browser.select("select[name='candidate@aaron']", "1").await;
    browser.fill("#password", "one passphrase").await;
    browser.fill("#password_confirm", "another one").await;
    browser
        .click(Locator::Css("form.ballot button[type='submit']"))
        .await;
    browser.find(Locator::Css("#form-errors")).await;
    assert_eq!(
        browser
            .find(Locator::Css("#password"))
            .await
            .attr("aria-describedby")
            .await
            .unwrap()
            .as_deref(),
        Some("error-1")
    );
    check("ballot-errors").await;
    c.goto(&app.url(&format!("{GB}/vote"))).await.unwrap();
    browser.select("select[name='candidate@paris']", "1").await;
    browser
        .click(Locator::Css("form.ballot button[type='submit']"))
        .await;
    browser.wait_for_path(&format!("{GB}/confirmation")).await;
    check("confirmation").await;
    c.goto(&app.url(GB)).await.unwrap();
    // The local-time script ran under the CSP: the reader's time next to the UTC one.
    let local = browser.find(Locator::Css("dl.dates span.local-time")).await;
    let text = local.text().await.unwrap();
    assert!(
        text.starts_with("(your time: ") && text.contains("2023"),
        "{text}"
    );
    check("election-voted").await;

    // Not eligible: the election page and the exception form, with errors.
    browser
        .click(Locator::Css("form.logout button[type='submit']"))
        .await;
    browser.wait_for_path("/login").await;
    browser.demo_login(&app.base, "mallory").await;
    c.goto(&app.url(GB)).await.unwrap();
    check("election-not-eligible").await;
    c.goto(&app.url(&format!("{GB}/exception"))).await.unwrap();
    check("exception").await;
    browser.fill("#email", "mallory@example.org").await;
    c.execute(
        "document.querySelector('form.exception').noValidate = true;",
        vec![],
    )
    .await
    .unwrap();
    browser
        .click(Locator::Css("form.exception button[type='submit']"))
        .await;
    browser.find(Locator::Css("#form-errors")).await;
    check("exception-errors").await;

    // The officer: dashboard and results of a completed election.
    browser
        .click(Locator::Css("form.logout button[type='submit']"))
        .await;
    browser.wait_for_path("/login").await;
    browser.demo_login(&app.base, OFFICER).await;
    c.goto(&app.url(&format!("/app/elections/{WORKED}/admin/")))
        .await
        .unwrap();
    check("officer-dashboard").await;
    c.goto(&app.url(&format!("/app/elections/{WORKED}/admin/results")))
        .await
        .unwrap();
    check("results").await;

    browser.close().await;
    assert!(
        failures.is_empty(),
        "axe-core violations:\n{}",
        failures.join("\n")
    );
}
