//! The portal in a real browser: headless Chromium driven over WebDriver (chromedriver +
//! fantoccini) through sign-up, sign-out, a failed and a good sign-in, a password change and a
//! sign-in with the new password. Every step asserts on what the page shows and leaves a PNG under
//! `target/screenshots/portal/`.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian: `apt-get install -y chromium
//! chromium-driver`); the test fails, rather than skips, without them.

// Helpers of a test: a failed step should panic with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::harness::{stopwatch, TestServer, GOOD_PASSWORD};
use cookie::SameSite;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const INSTALL_HINT: &str = "run `apt-get install -y chromium chromium-driver`";

const EMAIL: &str = "ada@example.com";
const FIRST_NAME: &str = "Ada";
const LAST_NAME: &str = "Lovelace";
const NEW_PASSWORD: &str = "a brand new passphrase 2026";
const BAD_CREDENTIALS: &str = "The email address or password is incorrect.";

/// How long a page may take to appear after a navigation or a submit.
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

/// A WebDriver session on headless Chromium with a fresh profile.
async fn chromium_session(driver: &ChromeDriver, profile: &Path) -> Client {
    chromium_session_with(driver, profile, &[]).await
}

/// Like `chromium_session`, with `extra_args` appended to Chromium's command line (for
/// example `--host-resolver-rules=...`).
pub async fn chromium_session_with(
    driver: &ChromeDriver,
    profile: &Path,
    extra_args: &[String],
) -> Client {
    let mut caps = serde_json::json!({
        "browserName": "chrome",
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

// ---- page helpers -------------------------------------------------------------------------

struct Tab {
    c: Client,
    base: String,
    shots: PathBuf,
    n: usize,
}

impl Tab {
    async fn goto(&self, path: &str) {
        self.c
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    }

    /// Waits until an element matching `css` is on the page; on timeout, fails with what the
    /// browser shows instead.
    async fn wait_for(&self, css: &str, step: &str) -> Element {
        match self
            .c
            .wait()
            .at_most(PAGE_TIMEOUT)
            .every(Duration::from_millis(50))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => panic!(
                "{step}: no `{css}` on the page ({e})\n{}",
                self.describe().await
            ),
        }
    }

    async fn describe(&self) -> String {
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
        format!("browser is at {url} ({title:?}), showing:\n{text}")
    }

    async fn find(&self, css: &str) -> Element {
        match self.c.find(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => panic!("no `{css}` ({e})\n{}", self.describe().await),
        }
    }

    async fn exists(&self, css: &str) -> bool {
        match self.c.find(Locator::Css(css)).await {
            Ok(_) => true,
            Err(e) if e.is_no_such_element() => false,
            Err(e) => panic!("find `{css}`: {e}"),
        }
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap().trim().to_owned()
    }

    async fn value(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    /// Types `value` into the input `css`, replacing what it held.
    async fn fill(&self, css: &str, value: &str) {
        let input = self.find(css).await;
        input.clear().await.unwrap();
        input
            .send_keys(value)
            .await
            .unwrap_or_else(|e| panic!("type into `{css}`: {e}"));
    }

    async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click `{css}`: {e}"));
    }

    /// Path and query of the page shown.
    async fn location(&self) -> String {
        let u = self.c.current_url().await.unwrap();
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        }
    }

    async fn screenshot(&mut self, name: &str) {
        self.n += 1;
        let png = self
            .c
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        let path = self.shots.join(format!("{:02}-{name}.png", self.n));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// The sign-in form is shown at `/sign-in` (and no one is signed in on this page).
    async fn wait_for_sign_in(&self, step: &str) {
        self.wait_for_sign_in_at("/sign-in", step).await;
    }

    async fn wait_for_sign_in_at(&self, location: &str, step: &str) {
        self.wait_for("form[action='/sign-in'] #password", step)
            .await;
        assert_eq!(self.location().await, location, "{step}");
        assert!(!self.exists("#current-email").await, "{step}");
    }

    async fn sign_in(&self, password: &str) {
        self.fill("#email_address", EMAIL).await;
        self.fill("#password", password).await;
        self.click("form[action='/sign-in'] button[type=submit]")
            .await;
    }

    /// The profile page is shown for the journey's user.
    async fn wait_for_profile(&self, step: &str) {
        self.wait_for("#current-email", step).await;
        assert_eq!(self.text("#current-email").await, EMAIL, "{step}");
        assert_eq!(self.value("#first_name").await, FIRST_NAME, "{step}");
        assert_eq!(self.value("#last_name").await, LAST_NAME, "{step}");
    }

    async fn sign_out(&self, step: &str) {
        self.click("#sign-out").await;
        self.wait_for_sign_in(step).await;
    }

    async fn assert_client_cookie(&self, step: &str) {
        let c = self
            .c
            .get_named_cookie("__client")
            .await
            .unwrap_or_else(|e| panic!("{step}: no __client cookie: {e}"));
        assert!(!c.value().is_empty(), "{step}: empty __client");
        assert_eq!(
            c.http_only(),
            Some(true),
            "{step}: __client must be HttpOnly: {c:?}"
        );
        assert_eq!(
            c.same_site(),
            Some(SameSite::Lax),
            "{step}: __client must be SameSite=Lax: {c:?}"
        );
        assert_eq!(c.path(), Some("/"), "{step}: {c:?}");
    }
}

fn screenshot_dir() -> PathBuf {
    screenshot_dir_named("portal")
}

/// `target/screenshots/<name>/` at the workspace root, created and emptied of earlier PNGs.
pub fn screenshot_dir_named(name: &str) -> PathBuf {
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

// ---- the journey --------------------------------------------------------------------------

async fn journey(mut tab: Tab) {
    // 1. Sign up.
    tab.goto("/sign-up").await;
    tab.wait_for("form[action='/sign-up'] #password", "sign-up page")
        .await;
    assert_eq!(tab.c.title().await.unwrap(), "Create your account");
    tab.fill("#first_name", FIRST_NAME).await;
    tab.fill("#last_name", LAST_NAME).await;
    tab.fill("#email_address", EMAIL).await;
    tab.fill("#password", GOOD_PASSWORD).await;
    tab.screenshot("sign-up-form").await;
    tab.click("form[action='/sign-up'] button[type=submit]")
        .await;

    tab.wait_for_profile("after sign-up").await;
    assert_eq!(tab.location().await, "/user");
    assert_eq!(tab.c.title().await.unwrap(), "Your account");
    let rows = tab
        .c
        .find_all(Locator::Css("#sessions tr td:first-child"))
        .await
        .unwrap();
    assert_eq!(
        rows.len(),
        1,
        "one active session after sign-up\n{}",
        tab.describe().await
    );
    let device = rows[0].text().await.unwrap();
    assert!(device.contains("This device"), "session row {device:?}");
    assert!(
        device.contains("Chrome"),
        "session row names the browser: {device:?}"
    );
    tab.assert_client_cookie("after sign-up").await;
    tab.screenshot("profile-after-sign-up").await;

    // 2. Sign out.
    tab.sign_out("sign-out after sign-up").await;
    tab.screenshot("signed-out").await;

    // 3. A wrong password.
    tab.sign_in("not the password at all").await;
    let error = tab
        .wait_for("#form-error", "sign-in with a wrong password")
        .await;
    assert_eq!(error.text().await.unwrap().trim(), BAD_CREDENTIALS);
    assert_eq!(tab.location().await, "/sign-in");
    assert!(!tab.exists("#current-email").await);
    assert_eq!(
        tab.value("#email_address").await,
        EMAIL,
        "the email is kept"
    );
    assert_eq!(
        tab.value("#password").await,
        "",
        "the password is not sent back"
    );
    tab.screenshot("sign-in-error").await;

    // 4. The right password.
    tab.sign_in(GOOD_PASSWORD).await;
    tab.wait_for_profile("sign-in with the right password")
        .await;
    assert_eq!(tab.location().await, "/user");
    assert!(!tab.exists("#notice").await);
    tab.assert_client_cookie("after sign-in").await;
    tab.screenshot("profile-after-sign-in").await;

    // 5. Change the password: first one that is too short, then a good one.
    tab.fill("#current_password", GOOD_PASSWORD).await;
    tab.fill("#new_password", "short").await;
    tab.click("form[action='/user/password'] button[type=submit]")
        .await;
    let field_error = tab
        .wait_for(
            "#new_password-error",
            "password change to a too-short password",
        )
        .await;
    assert_eq!(
        field_error.text().await.unwrap().trim(),
        "Passwords must be at least 8 characters long."
    );
    assert_eq!(
        tab.find("#new_password")
            .await
            .attr("aria-invalid")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );
    assert!(
        !tab.exists("#current_password-error").await,
        "the current password was right"
    );
    assert!(!tab.exists("#notice").await);
    assert_eq!(tab.text("#current-email").await, EMAIL);
    tab.screenshot("password-too-short").await;

    tab.fill("#current_password", GOOD_PASSWORD).await;
    tab.fill("#new_password", NEW_PASSWORD).await;
    tab.click("form[action='/user/password'] button[type=submit]")
        .await;
    let notice = tab.wait_for("#notice", "password change").await;
    assert_eq!(
        notice.text().await.unwrap().trim(),
        "Your password was changed."
    );
    assert_eq!(tab.location().await, "/user?notice=password");
    assert!(!tab.exists("#new_password-error").await);
    tab.wait_for_profile("after the password change").await;
    tab.screenshot("profile-after-password-change").await;

    // 6. Sign out; the old password no longer works, the new one does.
    tab.sign_out("sign-out after the password change").await;
    tab.sign_in(GOOD_PASSWORD).await;
    let error = tab
        .wait_for("#form-error", "sign-in with the old password")
        .await;
    assert_eq!(error.text().await.unwrap().trim(), BAD_CREDENTIALS);
    tab.screenshot("old-password-rejected").await;

    tab.sign_in(NEW_PASSWORD).await;
    tab.wait_for_profile("sign-in with the new password").await;
    assert_eq!(tab.location().await, "/user");
    tab.assert_client_cookie("after sign-in with the new password")
        .await;
    tab.screenshot("profile-after-new-password").await;

    tab.sign_out("final sign-out").await;
    tab.screenshot("signed-out-final").await;

    // Signed out for real: the profile page sends the browser back to sign-in.
    tab.goto("/user").await;
    let back_to_profile =
        serde_urlencoded::to_string([("redirect_url", format!("{}/user", tab.base))]).unwrap();
    tab.wait_for_sign_in_at(
        &format!("/sign-in?{back_to_profile}"),
        "profile after the final sign-out",
    )
    .await;
    assert_eq!(
        tab.find("input[name=redirect_url]")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some(&*format!("{}/user", tab.base))
    );
}

#[tokio::test]
async fn portal_journey_in_chromium() {
    let started = stopwatch();
    let server = TestServer::start().await;
    let shots = screenshot_dir();
    let driver = ChromeDriver::start().await;
    let profile = tempfile::tempdir().unwrap();
    let client = chromium_session(&driver, profile.path()).await;

    // In its own task so that a failed assertion still lets the session (and Chromium) close.
    let tab = Tab {
        c: client.clone(),
        base: server.base.clone(),
        shots: shots.clone(),
        n: 0,
    };
    let outcome = tokio::spawn(journey(tab)).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(p) => std::panic::resume_unwind(p),
            Err(e) => panic!("journey task: {e}"),
        }
    }
    eprintln!(
        "portal journey in Chromium: {:.1?}; screenshots in {}",
        started.elapsed(),
        shots.display()
    );
}
