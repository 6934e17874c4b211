//! The portal in a real browser: headless Chromium driven over WebDriver (chromedriver +
//! fantoccini) through sign-up, sign-out, a failed and a good sign-in, a password change and a
//! sign-in with the new password. Every step asserts on what the page shows and leaves a PNG under
//! `target/screenshots/portal/`.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian: `apt-get install -y chromium
//! chromium-driver`); the test fails, rather than skips, without them.

// Helpers of a test: a failed step should panic with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::chromium::{in_chromium, Page};
use crate::harness::{TestServer, GOOD_PASSWORD};
use cookie::SameSite;
use fantoccini::Locator;
use std::ops::{Deref, DerefMut};

const EMAIL: &str = "ada@example.com";
const FIRST_NAME: &str = "Ada";
const LAST_NAME: &str = "Lovelace";
const NEW_PASSWORD: &str = "a brand new passphrase 2026";
const BAD_CREDENTIALS: &str = "The email address or password is incorrect.";

// ---- page helpers -------------------------------------------------------------------------

/// The browser's page on the portal at `base`, with the journey's own steps.
struct Tab {
    page: Page,
    base: String,
}

impl Deref for Tab {
    type Target = Page;
    fn deref(&self) -> &Page {
        &self.page
    }
}

impl DerefMut for Tab {
    fn deref_mut(&mut self) -> &mut Page {
        &mut self.page
    }
}

impl Tab {
    /// Opens `path` on the portal.
    async fn open(&self, path: &str) {
        self.goto(&format!("{}{path}", self.base)).await;
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

// ---- the journey --------------------------------------------------------------------------

async fn journey(mut tab: Tab) {
    // 1. Sign up.
    tab.open("/sign-up").await;
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
    tab.open("/user").await;
    let back_to_profile =
        serde_urlencoded::to_string([("redirect_url", format!("{}/user", tab.base))]).unwrap();
    tab.wait_for_sign_in_at(
        &format!("/sign-in?{back_to_profile}"),
        "profile after the final sign-out",
    )
    .await;
    assert_eq!(
        tab.value("input[name=redirect_url]").await,
        format!("{}/user", tab.base)
    );
}

#[tokio::test]
async fn portal_journey_in_chromium() {
    let server = TestServer::start().await;
    let base = server.base.clone();
    in_chromium("portal journey in Chromium", "portal", &[], move |page| {
        journey(Tab { page, base })
    })
    .await;
    drop(server);
}
