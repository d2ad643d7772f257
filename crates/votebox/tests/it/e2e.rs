//! Browser journeys in headless Chromium (see `e2e_support.rs`). Screenshots are saved under
//! `<target>/tmp/e2e-output/`.

use fantoccini::Locator;
use reqwest::StatusCode;

use crate::e2e_support::Browser;
use crate::harness::{AFTER_ALL, Engine, TestApp};
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
        html.contains("Tie for first place between 2 candidates"),
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
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
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
        "attachment; filename=ballots.csv"
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
