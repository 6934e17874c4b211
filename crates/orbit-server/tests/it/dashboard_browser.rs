//! Issue 11's proof in real Chromium: the seed's first production step, "Domains > Satellites >
//! Add satellite domain", done by an operator in the dashboard of a production-like world
//! (`https://orbit.test/dashboard`, the local DNS server, `clerk.*` hosts over TLS), then the
//! satellite's app, configured with the `.env` the dashboard shows, working in the same browser.
//! On the way, what must not work: an end user's session does not open the dashboard, the
//! dashboard is not on a production FAPI host, a wrong password is refused, and a form posted
//! from another page (CSRF) changes nothing. Screenshots: `target/screenshots/dashboard/`.

// Helpers of a test: a failed step should panic with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::chromium::{in_chromium, Page};
use crate::dns_server::Answer;
use crate::harness::*;
use crate::nextjs::{
    build, chromium_args, install, one_at_a_time, primary_env, printed_env, prod_world, AppProcess,
    Env, NodeToWorld, ProdApp, Tab, APP_ROUTER,
};
use fantoccini::Locator;

const OPERATOR: &str = "root@example.com";
const END_USER: &str = "ada@example.com";

/// Clicks the link whose text is `text`.
async fn click_link(page: &Page, text: &str, step: &str) {
    let link = page
        .c
        .wait()
        .at_most(std::time::Duration::from_secs(20))
        .for_element(Locator::LinkText(text))
        .await
        .unwrap_or_else(|e| panic!("{step}: no link {text:?} ({e})"));
    link.click().await.unwrap();
}

/// Clicks the button whose text is `text`.
async fn click_button(page: &Page, text: &str, step: &str) {
    let xpath = format!("//button[normalize-space()='{text}']");
    let button = page
        .c
        .wait()
        .at_most(std::time::Duration::from_secs(20))
        .for_element(Locator::XPath(&xpath))
        .await
        .unwrap_or_else(|e| panic!("{step}: no button {text:?} ({e})"));
    button.click().await.unwrap();
}

/// The `KEY=value` lines of the page's text.
fn env_lines(text: &str) -> Env {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.trim().split_once('=')?;
            let key_ok = !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            key_ok.then(|| (k.to_owned(), v.trim().to_owned()))
        })
        .collect()
}

#[tokio::test]
async fn the_seeds_add_satellite_domain_steps_in_the_dashboard_in_chromium() {
    let _next_cross = one_at_a_time("nextjs .next-dashboard").await;
    let world = prod_world().await;
    // DNS has no record for the satellite yet: the operator creates it mid-way.
    world.dns.remove("clerk.satellite.test");
    let mut stdin = std::io::Cursor::new(format!("{GOOD_PASSWORD}\n"));
    orbit_server::cli::admin_create(world.server.orbit(), OPERATOR, &mut stdin)
        .await
        .unwrap();
    world.backend().create_user(END_USER, GOOD_PASSWORD).await;
    let args = world.chromium_args(&[]);
    let dns = world.dns.zone_handle();

    // The dashboard part, in one browser; it hands back the .env the dashboard showed.
    let (tx, rx) = tokio::sync::oneshot::channel();
    in_chromium(
        "the seed's dashboard steps (dashboard)",
        "dashboard",
        &args,
        move |page| async move {
            let env = dashboard_steps(page, dns).await;
            let _ = tx.send(env);
        },
    )
    .await;
    let shown = rx.await.unwrap();

    // The satellite's app with exactly what the dashboard showed for Next.js; the primary's
    // as `orbit instance show` prints it.
    let mut satellite: Env = shown
        .into_iter()
        .filter(|(k, _)| {
            k.starts_with("NEXT_PUBLIC_CLERK_") || k == "CLERK_SECRET_KEY" || k == "CLERK_API_URL"
        })
        .collect();
    // The page leaves the secret key for the operator to fill in (it is shown once, when
    // created); the operator pastes the one they kept.
    assert_eq!(
        satellite.get("CLERK_SECRET_KEY").map(String::as_str),
        Some("")
    );
    satellite.insert("CLERK_SECRET_KEY".into(), world.secret_key.clone());
    assert_eq!(satellite["NEXT_PUBLIC_CLERK_DOMAIN"], "satellite.test");
    assert_eq!(
        satellite["NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY"],
        world.publishable_key
    );
    let (printed, _) = printed_env(
        APP_ROUTER,
        &world.server,
        &world.secret_key,
        "satellite.test",
    )
    .await;
    let primary = primary_env(APP_ROUTER, &printed, "https://satellite.test");
    let node = NodeToWorld::new(&world);
    install(APP_ROUTER).await;
    tokio::join!(
        build(APP_ROUTER, "primary", ".next-dashboard", primary.clone()),
        build(
            APP_ROUTER,
            "satellite",
            ".next-dashboard",
            satellite.clone()
        ),
    );
    let (p, s) = (
        crate::nextjs::free_port().await,
        crate::nextjs::free_port().await,
    );
    let apps = vec![
        ProdApp::serve(
            &world,
            "primary.test",
            AppProcess::start(
                APP_ROUTER,
                "primary",
                ".next-dashboard",
                &primary,
                &node.env,
                p,
            )
            .await,
        )
        .await,
        ProdApp::serve(
            &world,
            "satellite.test",
            AppProcess::start(
                APP_ROUTER,
                "satellite",
                ".next-dashboard",
                &satellite,
                &node.env,
                s,
            )
            .await,
        )
        .await,
    ];
    in_chromium(
        "the satellite the dashboard added, in Chromium (dashboard-satellite)",
        "dashboard-satellite",
        &chromium_args(&world, &apps),
        |page| async move {
            let mut tab = Tab::new(page);
            tab.sign_up_on_primary("https://primary.test", "grace@example.com")
                .await;
            tab.satellite_profile_signed_in(
                "https://satellite.test",
                "grace@example.com",
                "satellite-profile",
            )
            .await;
            tab.finish();
        },
    )
    .await;
    drop(apps);
}

async fn dashboard_steps(mut page: Page, dns: crate::dns_server::ZoneHandle) -> Env {
    // An end user signed in on the primary's hosted page is not an operator.
    page.goto("https://clerk.primary.test/sign-in").await;
    page.wait_for("form[action='/sign-in'] #password", "the hosted sign-in")
        .await;
    page.fill("#email_address", END_USER).await;
    page.fill("#password", GOOD_PASSWORD).await;
    page.click("form[action='/sign-in'] button[type=submit]")
        .await;
    page.wait_for_text("ada@example.com", "signed in as an end user")
        .await;
    page.goto("https://orbit.test/dashboard").await;
    page.wait_for(
        "form[action='/dashboard/sign-in']",
        "the dashboard, as an end user",
    )
    .await;
    assert_eq!(page.url().await.path(), "/dashboard/sign-in");
    page.screenshot("end-user-gets-the-sign-in").await;
    // Not on a production instance's Frontend API host.
    page.goto("https://clerk.primary.test/dashboard").await;
    assert!(
        !page.exists("form[action='/dashboard/sign-in']").await,
        "{}",
        page.describe().await
    );
    page.screenshot("not-on-clerk-primary-test").await;

    // A wrong password.
    page.goto("https://orbit.test/dashboard/sign-in").await;
    page.wait_for(
        "form[action='/dashboard/sign-in']",
        "the dashboard's sign-in",
    )
    .await;
    page.fill("input[name=email_address]", OPERATOR).await;
    page.fill("input[name=password]", "not the password").await;
    page.click("form[action='/dashboard/sign-in'] button[type=submit]")
        .await;
    page.wait_for("#form-error", "a wrong password").await;
    assert_eq!(page.url().await.path(), "/dashboard/sign-in");
    page.screenshot("wrong-password").await;

    // The operator signs in.
    page.fill("input[name=email_address]", OPERATOR).await;
    page.fill("input[name=password]", GOOD_PASSWORD).await;
    page.click("form[action='/dashboard/sign-in'] button[type=submit]")
        .await;
    page.wait_for_text("primary.test", "the dashboard's home")
        .await;
    page.screenshot("dashboard-home").await;

    // CSRF: a page of another origin posts the sign-out form; the operator stays signed in.
    page.goto(
        "data:text/html,<form id=f method=post action='https://orbit.test/dashboard/sign-out'>\
         <input name=csrf_token value=forged></form><script>f.submit()</script>",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    // Chromium sends no SameSite=Strict cookie with it and an `Origin: null`: the dashboard
    // answers as to a signed-out browser (its sign-in page), and the session is untouched.
    page.screenshot("forged-post-from-another-page").await;
    page.goto("https://orbit.test/dashboard").await;
    page.wait_for_text("primary.test", "still signed in after the forged post")
        .await;
    assert_ne!(page.url().await.path(), "/dashboard/sign-in");

    // The seed: "navigate to the Domains page", "select the Satellites tab", "select the Add
    // satellite domain button".
    // The production instance's row on the home page, its "Domains" link.
    let domains = page
        .c
        .find(Locator::XPath(
            "//tr[td[contains(., 'primary.test')]]//a[normalize-space()='Domains']",
        ))
        .await
        .unwrap_or_else(|e| panic!("no Domains link for primary.test ({e})"));
    domains.click().await.unwrap();
    page.wait_for_text("Primary", "the Domains page").await;
    page.screenshot("domains-primary-tab").await;
    page.click("#tab-satellites").await;
    page.wait_for_text("Add satellite domain", "the Satellites tab")
        .await;
    page.screenshot("satellites-tab").await;
    click_link(
        &page,
        "Add satellite domain",
        "the Add satellite domain button",
    )
    .await;
    page.wait_for("input[name=name]", "the Add satellite domain form")
        .await;
    page.fill("input[name=name]", "satellite.test").await;
    page.screenshot("add-satellite-form").await;
    click_button(&page, "Add satellite domain", "submitting the form").await;

    // "DNS Configuration": the record to create, and Pending until DNS has it.
    page.wait_for_text("DNS Configuration", "the new satellite's DNS Configuration")
        .await;
    let body = page.body().await;
    assert!(body.contains("clerk.satellite.test"), "{body}");
    assert!(body.contains("CNAME"), "{body}");
    assert!(body.contains("orbit.test"), "{body}");
    assert!(body.contains("Pending"), "{body}");
    page.screenshot("dns-configuration-pending").await;

    // The operator creates the record; Verify runs the check now.
    dns.set("clerk.satellite.test", Answer::Cname("orbit.test"));
    click_button(&page, "Verify", "the Verify button").await;
    page.wait_for_text("Verified", "the satellite after Verify")
        .await;
    page.screenshot("verified").await;

    // The satellite's `.env`, as shown.
    let env = env_lines(&page.body().await);
    assert!(
        env.contains_key("NEXT_PUBLIC_CLERK_DOMAIN"),
        "the satellite's .env on the page: {env:?}\n{}",
        page.describe().await
    );
    env
}
