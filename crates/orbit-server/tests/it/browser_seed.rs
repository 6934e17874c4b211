//! The seed's scenario in real Chromium: the same steps as `sdk.rs` (which plays the browser
//! with a reqwest cookie jar), driven through headless Chromium over WebDriver.
//!
//! 1. sign up on the primary from its home page's "Sign up" link (Orbit's hosted form);
//! 2. the satellite's `/profile` shows the same user with no credentials typed;
//! 3. sign out on the satellite (its link -> Orbit's sign-out page -> button);
//! 4. signed out, the satellite's `/profile` goes to Orbit's sign-in page and, once signed in,
//!    comes back to `/profile`;
//! 5. the second satellite's `/profile` shows the same user.
//!
//! Development: one plain-http Orbit on 127.0.0.1, apps on `localhost` ports. Production-like:
//! `ProdWorld` (TLS on 443 of loopback addresses), Chromium's DNS mapped with
//! `--host-resolver-rules`. Screenshots: `target/screenshots/seed-dev/`, `.../seed-prod/`.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (`apt-get install -y chromium
//! chromium-driver`); fails, rather than skips, without them.

// Helpers of a test: a failed step should panic with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::chromium::{in_chromium, Page};
use crate::harness::*;
use crate::world::*;
use std::ops::{Deref, DerefMut};

// ---- page helpers -------------------------------------------------------------------------

/// The browser's page, with the scenario's own checks.
struct Tab(Page);

impl Deref for Tab {
    type Target = Page;
    fn deref(&self) -> &Page {
        &self.0
    }
}

impl DerefMut for Tab {
    fn deref_mut(&mut self) -> &mut Page {
        &mut self.0
    }
}

impl Tab {
    /// The page is an app page whose body says `text` ("You are signed in." / "...out.").
    async fn assert_says(&self, text: &str, step: &str) {
        let body = self.body().await;
        assert!(
            body.contains(text),
            "{step}: expected {text:?}\n{}",
            self.describe().await
        );
    }

    /// The page is at `path` on `origin`.
    async fn assert_at(&self, origin: &str, path: &str, step: &str) {
        let url = self.url().await;
        assert_eq!(url.origin().ascii_serialization(), origin, "{step}: {url}");
        assert_eq!(url.path(), path, "{step}: {url}");
    }

    /// The example apps' profile page for `email` / `name`, on `origin` at path `/profile`.
    async fn wait_for_profile(&self, origin: &str, email: &str, name: &str, step: &str) {
        self.wait_for("#email", step).await;
        self.assert_at(origin, "/profile", step).await;
        assert_eq!(
            self.text("#email").await,
            email,
            "{step}\n{}",
            self.describe().await
        );
        assert_eq!(
            self.text("#name").await,
            name,
            "{step}\n{}",
            self.describe().await
        );
    }
}

// ---- development --------------------------------------------------------------------------

#[tokio::test]
async fn seed_scenario_in_chromium_development() {
    let crate::sdk::DevSeed { server, p1, sats } = crate::sdk::dev_seed().await;

    let orbit_base = server.base.clone();
    let primary = format!("http://localhost:{p1}");
    let sat = format!("http://localhost:{}", sats[0]);
    let sat2 = format!("http://localhost:{}", sats[1]);
    // Chromium resolves `localhost` itself; nothing to map.
    in_chromium(
        "seed scenario in Chromium (seed-dev)",
        "seed-dev",
        &[],
        move |page| {
            seed_journey(
                Tab(page),
                Seed {
                    orbit_origin: orbit_base,
                    primary,
                    sat,
                    sat2,
                    email: "ada@example.com",
                    first_name: "Ada",
                    last_name: "Lovelace",
                    primary_signed_out_everywhere: false,
                },
            )
        },
    )
    .await;
    drop(server);
}

// ---- production-like ----------------------------------------------------------------------

#[tokio::test]
async fn seed_scenario_in_chromium_production_like() {
    let world = ProdWorld::start().await;
    let (apps, servers) = crate::sdk::prod_seed_apps(&world).await;

    let args = world.chromium_args(&apps);

    // Chromium speaks HTTP/2 to the TLS servers and enforces the pages' CSP on form redirects;
    // both once broke this scenario (hosts read from `Host` only; `form-action 'self'`).
    in_chromium(
        "seed scenario in Chromium (seed-prod)",
        "seed-prod",
        &args,
        move |page| {
            seed_journey(
                Tab(page),
                Seed {
                    orbit_origin: "https://clerk.primary.test".into(),
                    primary: "https://primary.test".into(),
                    sat: "https://satellite.test".into(),
                    sat2: "https://satellite2.test".into(),
                    email: "grace@example.com",
                    first_name: "Grace",
                    last_name: "Hopper",
                    primary_signed_out_everywhere: true,
                },
            )
        },
    )
    .await;
    drop(servers);
    drop(world);
}

// ---- the scenario -------------------------------------------------------------------------

struct Seed {
    /// Origin of Orbit's hosted pages for the primary (sign-up, sign-in).
    orbit_origin: String,
    primary: String,
    sat: String,
    sat2: String,
    email: &'static str,
    first_name: &'static str,
    last_name: &'static str,
    /// Production-like: signing out on the satellite signs the primary out at once. In
    /// development the primary may keep its session token for up to 60 s, so it is not checked.
    primary_signed_out_everywhere: bool,
}

async fn seed_journey(mut tab: Tab, s: Seed) {
    let name = format!("{} {}", s.first_name, s.last_name);
    let trace = std::env::var("ORBIT_TRACE_REDIRECTS").is_ok();

    // (1) Sign up on the primary, from its home page's "Sign up" link.
    tab.goto(&format!("{}/", s.primary)).await;
    tab.wait_for("#sign-up", "primary home, signed out").await;
    tab.assert_says("You are signed out.", "primary home before sign-up")
        .await;
    tab.screenshot("primary-home-signed-out").await;
    tab.click("#sign-up").await;
    tab.wait_for(
        "form[action='/sign-up'] #password",
        "Orbit's sign-up page from the primary's link",
    )
    .await;
    tab.assert_at(&s.orbit_origin, "/sign-up", "Orbit's sign-up page")
        .await;
    tab.fill("#first_name", s.first_name).await;
    tab.fill("#last_name", s.last_name).await;
    tab.fill("#email_address", s.email).await;
    tab.fill("#password", GOOD_PASSWORD).await;
    tab.screenshot("sign-up-form").await;
    tab.click("form[action='/sign-up'] button[type=submit]")
        .await;
    tab.wait_for("#profile", "primary home after sign-up").await;
    let at = tab.url().await;
    assert_eq!(
        at.as_str(),
        format!("{}/", s.primary),
        "back on the primary's home, handshake parameters gone"
    );
    tab.assert_says("You are signed in.", "primary home after sign-up")
        .await;
    if trace {
        eprintln!(
            "cookies after sign-up (at {at}): {}",
            tab.all_cookies().await
        );
    }
    tab.screenshot("primary-home-signed-in").await;

    // (2) The satellite's protected page: the same user, no credentials typed.
    tab.goto(&format!("{}/profile", s.sat)).await;
    tab.wait_for_profile(
        &s.sat,
        s.email,
        &name,
        "satellite /profile after sign-up on the primary",
    )
    .await;
    let at = tab.url().await;
    assert_eq!(
        at.as_str(),
        format!("{}/profile?__clerk_synced=true", s.sat),
        "as in sdk.rs"
    );
    if trace {
        eprintln!(
            "cookies on the satellite (at {at}): {}",
            tab.all_cookies().await
        );
    }
    tab.screenshot("satellite-profile-synced").await;

    // (3) Sign out on the satellite: its link -> Orbit's sign-out page -> the button.
    tab.click("a#sign-out").await;
    tab.wait_for(
        "form[action='/sign-out'] button#sign-out",
        "Orbit's sign-out page from the satellite",
    )
    .await;
    let sign_out_page = tab.url().await;
    assert_eq!(sign_out_page.path(), "/sign-out", "{sign_out_page}");
    tab.screenshot("sign-out-page").await;
    tab.click("form[action='/sign-out'] button#sign-out").await;
    // The satellite's signed-out home has a "Sign in on the primary" link; no Orbit page does.
    tab.wait_for("a#sign-in", "satellite home after sign-out")
        .await;
    assert_eq!(
        tab.origin().await,
        s.sat,
        "back on the satellite\n{}",
        tab.describe().await
    );
    assert_eq!(tab.url().await.path(), "/");
    tab.assert_says("You are signed out.", "satellite home after sign-out")
        .await;
    tab.screenshot("satellite-home-signed-out").await;
    if s.primary_signed_out_everywhere {
        tab.goto(&format!("{}/", s.primary)).await;
        tab.wait_for(
            "#sign-up",
            "primary home after signing out on the satellite",
        )
        .await;
        assert_eq!(tab.origin().await, s.primary);
        tab.assert_says("You are signed out.", "the primary is signed out too")
            .await;
        tab.screenshot("primary-home-signed-out-too").await;
    }

    // (4) Signed out, the satellite's /profile -> Orbit's sign-in -> back to /profile.
    tab.goto(&format!("{}/profile", s.sat)).await;
    tab.wait_for(
        "form[action='/sign-in'] #password",
        "satellite /profile while signed out",
    )
    .await;
    tab.assert_at(&s.orbit_origin, "/sign-in", "Orbit's sign-in page")
        .await;
    let back = tab.value("input[name=redirect_url]").await;
    assert!(
        back.starts_with(&format!("{}/profile", s.sat)),
        "sign-in comes back to the satellite's /profile: {back:?}"
    );
    tab.fill("#email_address", s.email).await;
    tab.fill("#password", GOOD_PASSWORD).await;
    tab.screenshot("sign-in-for-satellite").await;
    tab.click("form[action='/sign-in'] button[type=submit]")
        .await;
    tab.wait_for_profile(
        &s.sat,
        s.email,
        &name,
        "satellite /profile after signing in",
    )
    .await;
    tab.screenshot("satellite-profile-after-sign-in").await;

    // (5) The second satellite: the same user.
    tab.goto(&format!("{}/profile", s.sat2)).await;
    tab.wait_for_profile(&s.sat2, s.email, &name, "second satellite /profile")
        .await;
    tab.screenshot("satellite2-profile").await;
}
