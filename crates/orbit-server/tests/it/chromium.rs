//! Headless Chromium driven over WebDriver (chromedriver + fantoccini), shared by the browser
//! tests (`browser.rs`, `browser_seed.rs`): chromedriver as a child process, a Chromium session
//! with a fresh profile, a `Page` with the helpers a journey needs (waits that explain what the
//! browser shows instead, form filling, screenshots) and `in_chromium`, which runs a journey so
//! that a failed assertion still closes Chromium.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian: `apt-get install -y chromium
//! chromium-driver`); the tests fail, rather than skip, without them.

// Helpers of a test: a failed step should panic with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::harness::stopwatch;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use std::future::Future;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use url::Url;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const INSTALL_HINT: &str = "run `apt-get install -y chromium chromium-driver`";

/// How long a page (with all its redirects) may take to appear after a navigation or a submit.
const PAGE_TIMEOUT: Duration = Duration::from_secs(20);

// ---- chromedriver -------------------------------------------------------------------------

/// A chromedriver child process in its own process group; the group (chromedriver and any
/// Chromium it started) is killed on drop.
pub struct ChromeDriver {
    child: Child,
    url: String,
}

impl ChromeDriver {
    pub async fn start() -> Self {
        for (path, what) in [(CHROMEDRIVER, "chromedriver"), (CHROMIUM, "Chromium")] {
            assert!(
                Path::new(path).exists(),
                "{what} not found at {path}: {INSTALL_HINT} to run the browser tests"
            );
        }
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
            l.local_addr().expect("local addr").port()
        };
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER} ({e}): {INSTALL_HINT}"));
        let mut driver = ChromeDriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        driver.wait_ready().await;
        driver
    }

    /// Polls `GET /status` until chromedriver reports itself ready.
    async fn wait_ready(&mut self) {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let deadline = stopwatch() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("chromedriver exited before it was ready ({status})");
            }
            if let Ok(r) = http.get(format!("{}/status", self.url)).send().await {
                if let Ok(v) = r.json::<serde_json::Value>().await {
                    if v["value"]["ready"] == serde_json::Value::Bool(true) {
                        return;
                    }
                }
            }
            assert!(
                stopwatch() < deadline,
                "chromedriver at {} not ready after 20 s",
                self.url
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The whole group, so that no Chromium outlives a test that failed before it could
        // close its WebDriver session.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebDriver session on headless Chromium with a fresh profile, `extra_args` appended to
/// Chromium's command line (for example `--host-resolver-rules=...`).
pub async fn chromium_session(
    driver: &ChromeDriver,
    profile: &Path,
    extra_args: &[String],
    network_log: bool,
) -> Client {
    let mut caps = serde_json::json!({
        "browserName": "chrome",
        // Every console message, for `Page::console_entries` (the default keeps fewer).
        "goog:loggingPrefs": {"browser": "ALL"},
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--window-size=1280,1800",
                format!("--user-data-dir={}", profile.display()),
            ],
        },
    });
    if network_log {
        // The DevTools `Network.*` events, read back with `Page::network_events`.
        caps["goog:loggingPrefs"]["performance"] = "ALL".into();
        caps["goog:chromeOptions"]["perfLoggingPrefs"] =
            serde_json::json!({"enableNetwork": true, "enablePage": false});
    }
    if let Some(args) = caps["goog:chromeOptions"]["args"].as_array_mut() {
        args.extend(
            extra_args
                .iter()
                .map(|a| serde_json::Value::String(a.clone())),
        );
    }
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| panic!("cannot start a Chromium session through chromedriver: {e}"))
}

/// `target/screenshots/<name>/` at the workspace root, created and emptied of earlier PNGs.
pub fn screenshot_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/screenshots")
        .join(name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    let dir = dir.canonicalize().unwrap();
    // Stale pictures from an earlier run would pass for this run's.
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        if entry.path().extension().is_some_and(|x| x == "png") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    dir
}

/// Runs `journey` in its own task on a fresh Chromium (chromedriver, profile and screenshot
/// directory `target/screenshots/<shots_name>/`), so that a failed assertion still lets the
/// session (and Chromium) close; then re-raises the journey's panic. `what` names the run in
/// the timing line.
pub async fn in_chromium<F, Fut>(what: &str, shots_name: &str, extra_args: &[String], journey: F)
where
    F: FnOnce(Page) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_in_chromium(what, shots_name, extra_args, false, journey).await;
}

/// `in_chromium` with Chromium's network events recorded, for `Page::network_events`.
pub async fn in_chromium_recording_network<F, Fut>(
    what: &str,
    shots_name: &str,
    extra_args: &[String],
    journey: F,
) where
    F: FnOnce(Page) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_in_chromium(what, shots_name, extra_args, true, journey).await;
}

async fn run_in_chromium<F, Fut>(
    what: &str,
    shots_name: &str,
    extra_args: &[String],
    network_log: bool,
    journey: F,
) where
    F: FnOnce(Page) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let started = stopwatch();
    let shots = screenshot_dir(shots_name);
    let driver = ChromeDriver::start().await;
    let profile = tempfile::tempdir().unwrap();
    let client = chromium_session(&driver, profile.path(), extra_args, network_log).await;
    let page = Page {
        c: client.clone(),
        shots: shots.clone(),
        n: 0,
    };
    let outcome = tokio::spawn(journey(page)).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(p) => std::panic::resume_unwind(p),
            Err(e) => panic!("journey task: {e}"),
        }
    }
    eprintln!(
        "{what}: {:.1?}; screenshots in {}",
        started.elapsed(),
        shots.display()
    );
}

// ---- page helpers -------------------------------------------------------------------------

/// The browser's one tab, with numbered screenshots into its screenshot directory.
pub struct Page {
    pub c: Client,
    shots: PathBuf,
    n: usize,
}

impl Page {
    pub async fn goto(&self, url: &str) {
        if let Err(e) = self.c.goto(url).await {
            panic!("GET {url}: {e}\n{}", self.describe().await);
        }
    }

    /// Waits until an element matching `css` is on the page; on timeout, saves what the browser
    /// shows as `failed.png` and fails with it.
    pub async fn wait_for(&self, css: &str, step: &str) -> Element {
        match self
            .c
            .wait()
            .at_most(PAGE_TIMEOUT)
            .every(Duration::from_millis(50))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => {
                self.failure_shot().await;
                panic!(
                    "{step}: no `{css}` on the page ({e})\n{}",
                    self.describe().await
                )
            }
        }
    }

    /// What the browser shows when a wait times out, as `failed.png`.
    async fn failure_shot(&self) {
        if let Ok(png) = self.c.screenshot().await {
            let _ = std::fs::write(self.shots.join("failed.png"), png);
        }
    }

    /// Where the browser is, what it shows and what it logged, for a failure message.
    pub async fn describe(&self) -> String {
        let url = self
            .c
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_else(|e| format!("<{e}>"));
        let title = self.c.title().await.unwrap_or_default();
        let text = match self.c.find(Locator::Css("body")).await {
            Ok(b) => b.text().await.unwrap_or_default(),
            Err(e) => format!("<{e}>"),
        };
        format!(
            "browser is at {url} ({title:?}), showing:\n{text}\nconsole:\n{}",
            self.console().await
        )
    }

    /// What Chromium logged to the console since the last call (CSP violations, blocked
    /// cookies, failed loads), one message a line.
    async fn console(&self) -> String {
        match self.c.issue_cmd(BrowserLog).await {
            Ok(v) => v
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|e| {
                            format!(
                                "  [{}] {}",
                                e["level"].as_str().unwrap_or("?"),
                                e["message"].as_str().unwrap_or("?")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_else(|| v.to_string()),
            Err(e) => format!("  <no browser log: {e}>"),
        }
    }

    /// The console entries (`{level, message, source, timestamp}`) Chromium logged since the
    /// last call (of this or of `describe`, which shows and drains them too).
    pub async fn console_entries(&self) -> Vec<serde_json::Value> {
        match self.c.issue_cmd(BrowserLog).await {
            Ok(serde_json::Value::Array(a)) => a,
            Ok(v) => panic!("chromedriver's browser log is not a list: {v}"),
            Err(e) => panic!("chromedriver's browser log: {e}"),
        }
    }

    /// Waits until the page's text contains `text`; on timeout, fails with what it shows.
    pub async fn wait_for_text(&self, text: &str, step: &str) {
        let deadline = stopwatch() + PAGE_TIMEOUT;
        loop {
            if let Ok(body) = self.c.find(Locator::Css("body")).await {
                if body.text().await.is_ok_and(|t| t.contains(text)) {
                    return;
                }
            }
            if stopwatch() > deadline {
                self.failure_shot().await;
                panic!(
                    "{step}: the page never said {text:?}\n{}",
                    self.describe().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn find(&self, css: &str) -> Element {
        match self.c.find(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => panic!("no `{css}` ({e})\n{}", self.describe().await),
        }
    }

    pub async fn exists(&self, css: &str) -> bool {
        match self.c.find(Locator::Css(css)).await {
            Ok(_) => true,
            Err(e) if e.is_no_such_element() => false,
            Err(e) => panic!("find `{css}`: {e}"),
        }
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap().trim().to_owned()
    }

    pub async fn body(&self) -> String {
        self.text("body").await
    }

    /// The `value` property of the input `css`.
    pub async fn value(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    /// Types `value` into the input `css`, replacing what it held.
    pub async fn fill(&self, css: &str, value: &str) {
        let input = self.find(css).await;
        input.clear().await.unwrap();
        input
            .send_keys(value)
            .await
            .unwrap_or_else(|e| panic!("type into `{css}`: {e}"));
    }

    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click `{css}`: {e}"));
    }

    pub async fn url(&self) -> Url {
        self.c.current_url().await.unwrap()
    }

    /// Path and query of the page shown.
    pub async fn location(&self) -> String {
        let u = self.url().await;
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        }
    }

    /// Origin of the page shown (`scheme://host[:port]`).
    pub async fn origin(&self) -> String {
        self.url().await.origin().ascii_serialization()
    }

    /// Every cookie the browser holds (all domains), as `name@domain` lines, for the log.
    pub async fn all_cookies(&self) -> String {
        match self.c.get_all_cookies().await {
            Ok(v) => v
                .iter()
                .map(|c| format!("{}@{}", c.name(), c.domain().unwrap_or("?")))
                .collect::<Vec<_>>()
                .join(", "),
            Err(e) => format!("<{e}>"),
        }
    }

    /// Saves what the browser shows as `NN-<name>.png`, numbered in order.
    pub async fn screenshot(&mut self, name: &str) {
        self.n += 1;
        let png = self
            .c
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        let path = self.shots.join(format!("{:02}-{name}.png", self.n));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
}

/// chromedriver's (non-W3C) `POST /session/{id}/se/log {"type": "browser"}`: the console.
#[derive(Debug)]
struct BrowserLog;

/// The same for `{"type": "performance"}`: DevTools events, when the session records them.
#[derive(Debug)]
struct PerformanceLog;

impl fantoccini::wd::WebDriverCompatibleCommand for PerformanceLog {
    fn endpoint(&self, base_url: &Url, session_id: Option<&str>) -> Result<Url, url::ParseError> {
        BrowserLog.endpoint(base_url, session_id)
    }
    fn method_and_body(&self, _: &Url) -> (axum::http::Method, Option<String>) {
        (
            axum::http::Method::POST,
            Some(r#"{"type":"performance"}"#.into()),
        )
    }
}

impl Page {
    /// The DevTools `Network.*` events Chromium recorded since the last call, each as
    /// `(logged at, ms since the epoch; the event's {method, params})` (sessions started by
    /// `in_chromium_recording_network` only).
    pub async fn network_events(&self) -> Vec<(f64, serde_json::Value)> {
        let entries = match self.c.issue_cmd(PerformanceLog).await {
            Ok(serde_json::Value::Array(a)) => a,
            Ok(v) => panic!("chromedriver's performance log is not a list: {v}"),
            Err(e) => panic!("chromedriver's performance log: {e}"),
        };
        entries
            .iter()
            .filter_map(|e| {
                let at = e["timestamp"].as_f64()?;
                let msg: serde_json::Value = serde_json::from_str(e["message"].as_str()?).ok()?;
                let event = msg["message"].clone();
                event["method"]
                    .as_str()?
                    .starts_with("Network.")
                    .then_some((at, event))
            })
            .collect()
    }
}

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base_url: &Url, session_id: Option<&str>) -> Result<Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }
    fn method_and_body(&self, _: &Url) -> (axum::http::Method, Option<String>) {
        (
            axum::http::Method::POST,
            Some(r#"{"type":"browser"}"#.into()),
        )
    }
}
