//! A headless Chromium for browser tests, driven over WebDriver by `fantoccini`.
//!
//! [`Browser::start`] launches Debian's `chromedriver` on a free loopback port and opens a
//! Chromium session with a throw-away profile (flags: `--headless --no-sandbox --disable-gpu`
//! and everything that would reach the network off). Both binaries must be installed
//! (`apt-get install chromium chromium-driver`; `.ci/run` does it): a missing browser fails the
//! test, it never skips. `CHROMEDRIVER` and `CHROMIUM` override the binaries' paths.
//! Screenshots go to `<target>/tmp/e2e-output/` ([`output_dir`]).
//!
//! ```ignore
//! let browser = Browser::start().await;
//! browser.client.goto(&app.url("/login")).await.unwrap();
//! browser.screenshot("login").await;
//! browser.close().await;
//! ```

#![allow(dead_code)]

use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

use crate::harness::free_port;
use tempfile::TempDir;

/// Where screenshots are saved (created on demand).
pub fn output_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e-output");
    std::fs::create_dir_all(&dir).expect("create the e2e output folder");
    dir
}

fn binary(env: &str, candidates: &[&str]) -> PathBuf {
    if let Some(p) = std::env::var_os(env) {
        return PathBuf::from(p);
    }
    for c in candidates {
        let p = PathBuf::from(c);
        if p.exists() {
            return p;
        }
    }
    panic!(
        "\n\n*** e2e tests need {candidates:?} (Debian: apt-get install chromium chromium-driver; \
         .ci/run installs them), or set {env}. Browser tests never skip.\n"
    );
}

/// The axe-core release the accessibility checks run (`.ci/run` installs exactly this one).
pub const AXE_VERSION: &str = "4.10.2";

/// `axe.min.js` of the npm package `axe-core`: `VOTEBOX_AXE_JS`, else
/// `~/.cache/votebox-e2e/node_modules/axe-core/axe.min.js`, where `.ci/run` installs it
/// (`npm install --prefix ~/.cache/votebox-e2e axe-core@<AXE_VERSION>`). Missing: the test fails.
pub fn axe_source() -> String {
    let path = std::env::var_os("VOTEBOX_AXE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_default();
            PathBuf::from(home).join(".cache/votebox-e2e/node_modules/axe-core/axe.min.js")
        });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "\n\n*** the accessibility tests need axe-core {AXE_VERSION} at {} ({e}).\n\
             Install it: npm install --prefix ~/.cache/votebox-e2e axe-core@{AXE_VERSION}\n\
             (.ci/run does), or point VOTEBOX_AXE_JS at axe.min.js. Browser tests never skip.\n",
            path.display()
        )
    })
}

/// One axe-core finding.
#[derive(Debug, serde::Deserialize)]
pub struct AxeViolation {
    pub id: String,
    pub impact: Option<String>,
    pub help: String,
    pub nodes: Vec<serde_json::Value>,
}

/// A running chromedriver and one browser session; dropped → both stopped.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: TempDir,
}

impl Browser {
    pub async fn start() -> Browser {
        let driver_bin = binary(
            "CHROMEDRIVER",
            &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
        );
        let chromium = binary(
            "CHROMIUM",
            &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        );
        let profile = tempfile::Builder::new()
            .prefix("vb-chromium-")
            .tempdir()
            .expect("profile dir");
        let port = free_port();
        // Its own process group, so Chromium (its child) can be stopped with it even when a
        // test panics before the session is closed.
        let mut driver = Command::new(&driver_bin)
            .process_group(0)
            // A reader outside UTC, so pages show their local-time enhancement.
            .env("TZ", "Europe/Berlin")
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver_bin.display()));
        let url = format!("http://127.0.0.1:{port}");
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-default-apps".to_owned(),
            "--disable-extensions".to_owned(),
            "--no-first-run".to_owned(),
            "--window-size=1280,1800".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({ "binary": chromium, "args": args }),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let connected = ClientBuilder::rustls()
                .expect("rustls client")
                .capabilities(caps.clone())
                .connect(&url)
                .await;
            match connected {
                Ok(c) => break c,
                Err(e) if Instant::now() < deadline => {
                    if let Ok(Some(status)) = driver.try_wait() {
                        panic!("chromedriver exited ({status}) before accepting a session: {e}");
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => {
                    let _ = driver.kill();
                    panic!("no browser session from chromedriver at {url}: {e}");
                }
            }
        };
        Browser {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Saves a PNG screenshot of the page as `<output_dir>/<name>.png`; returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let path = output_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        eprintln!("screenshot: {}", path.display());
        path
    }

    /// Runs axe-core (`source`: [`axe_source`]) on the current page against WCAG 2.0–2.2 A and
    /// AA; returns its violations (every impact) and the number of rules the page passed.
    pub async fn axe(&self, source: &str) -> (Vec<AxeViolation>, usize) {
        self.client
            .execute(source, vec![])
            .await
            .expect("inject axe-core");
        let version = self
            .client
            .execute("return axe.version;", vec![])
            .await
            .expect("axe.version");
        assert_eq!(
            version,
            serde_json::json!(AXE_VERSION),
            "the pinned axe-core"
        );
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 axe.run(document, {runOnly: {type: 'tag', values: \
                   ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})\
                   .then(r => done({violations: r.violations, passes: r.passes.length}),\
                         e => done({error: String(e)}));",
                vec![],
            )
            .await
            .expect("run axe-core");
        #[derive(serde::Deserialize)]
        struct Answer {
            violations: Vec<AxeViolation>,
            passes: usize,
        }
        let answer: Answer = serde_json::from_value(found.clone())
            .unwrap_or_else(|e| panic!("axe-core answered {found} ({e})"));
        (answer.violations, answer.passes)
    }

    /// Sets the browser window to `width` × `height` CSS pixels.
    pub async fn resize(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("resize the window");
    }

    /// The browser's cookies as a `Cookie:` header value (to fetch a link as the browser would).
    pub async fn cookie_header(&self) -> String {
        self.client
            .get_all_cookies()
            .await
            .expect("cookies")
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The page's HTML.
    pub async fn source(&self) -> String {
        self.client.source().await.expect("page source")
    }

    /// Signs in through votebox's demo login form as `login`.
    pub async fn demo_login(&self, base: &str, login: &str) {
        self.client
            .goto(&format!("{base}/login"))
            .await
            .expect("open /login");
        self.client
            .find(Locator::Css(
                "form[action='/demo/login'] select[name='login']",
            ))
            .await
            .expect("demo login select")
            .select_by_value(login)
            .await
            .expect("pick the login");
        self.client
            .find(Locator::Css(
                "form[action='/demo/login'] button[type='submit']",
            ))
            .await
            .expect("demo login button")
            .click()
            .await
            .expect("submit the demo login");
        self.wait_for_path("/app").await;
    }

    /// Waits (up to 60 s: a ballot cast queues for the KDF behind other tests' casts) until the
    /// current URL's path is `path` (after a click that navigates).
    pub async fn wait_for_path(&self, path: &str) -> url::Url {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let url = self.client.current_url().await.expect("current url");
            if url.path() == path {
                return url;
            }
            if Instant::now() > deadline {
                let html = self.source().await;
                panic!("expected to reach {path}, still at {url}:\n{html}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Signs in through the "Sign in with Github" button; `fake` must already be told who
    /// consents ([`crate::fake_github::FakeGithub::sign_in_as`]). The browser really visits the
    /// fake provider's authorize page and comes back through votebox's callback.
    pub async fn github_login(&self, base: &str) {
        self.client
            .goto(&format!("{base}/login"))
            .await
            .expect("open /login");
        self.click(Locator::Css(
            "form[action^='/oauth/github/login'] button[type='submit']",
        ))
        .await;
        self.wait_for_path("/app").await;
    }

    /// Finds an element and clicks it; fails the test with the page when it is missing.
    pub async fn click(&self, locator: Locator<'_>) {
        self.find(locator).await.click().await.expect("click");
    }

    /// Finds an element, waiting up to 30 s for it: a click that submits a form returns before
    /// the browser has loaded the next page when the machine is busy. Fails the test with the
    /// page's HTML when it never appears.
    pub async fn find(&self, locator: Locator<'_>) -> fantoccini::elements::Element {
        let found = self
            .client
            .wait()
            .at_most(Duration::from_secs(30))
            .every(Duration::from_millis(50))
            .for_element(locator)
            .await;
        match found {
            Ok(element) => element,
            Err(e) => {
                let html = self.source().await;
                panic!("no element {locator:?} ({e}) on:\n{html}");
            }
        }
    }

    /// Types `text` into the form field `selector`.
    pub async fn fill(&self, selector: &str, text: &str) {
        self.find(Locator::Css(selector))
            .await
            .send_keys(text)
            .await
            .expect("type into the field");
    }

    /// Picks the option of value `value` in the select `selector`.
    pub async fn select(&self, selector: &str, value: &str) {
        self.find(Locator::Css(selector))
            .await
            .select_by_value(value)
            .await
            .expect("select an option");
    }

    /// Fills the ballot form: `ranks` as (candidate id, rank), the rest left at "No opinion", and
    /// the passphrase twice.
    pub async fn fill_ballot(&self, ranks: &[(&str, &str)], passphrase: &str) {
        for (candidate, rank) in ranks {
            self.select(&format!("select[name='candidate@{candidate}']"), rank)
                .await;
        }
        self.fill("#password", passphrase).await;
        self.fill("#password_confirm", passphrase).await;
    }

    /// Ends the session and stops chromedriver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The whole group: chromedriver and the browser it started (ours only: group = its pid).
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
