//! The seed's Remix apps (`examples/remix/primary` and `.../satellite`, Clerk's published
//! `@clerk/remix` 4 with the clerk-js 5 bundle Orbit serves) against Orbit in real Chromium, in
//! development and production-like setups (issue 12): the same six-step journey as the Next.js
//! stacks, on `nextjs.rs`'s harness (`npm ci` once per run, one `remix vite:build` and `tsc` per
//! app and run, since `@clerk/remix` reads its variables at run time, `remix-serve` with the
//! variables `orbit serve` prints). Then the two generations side by side: a Remix satellite and
//! a Next.js App Router satellite of one primary, signed in by one sign-in. Screenshots:
//! `target/screenshots/remix-dev/`, `.../remix-prod/`, `.../cross-stack-prod/`.

// Helpers of a test: a failed step should panic with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::chromium::{in_chromium, Page};
use crate::harness::stopwatch;
use crate::nextjs::*;

pub(crate) const REMIX: Stack = Stack {
    dir: "remix",
    framework: Framework::Remix,
    satellite_url_var: "SATELLITE_URL",
};

#[tokio::test]
async fn seed_remix_apps_in_chromium_development() {
    development_journey(REMIX).await;
}

#[tokio::test]
async fn seed_remix_apps_in_chromium_production_like() {
    production_journey(REMIX).await;
}

/// One production-like world with two verified satellites: `satellite.test` runs the Remix
/// satellite (clerk-js 5, `@clerk/backend` 2), `satellite2.test` the Next.js App Router satellite
/// (clerk-js 6 and `@clerk/ui` 1, `@clerk/backend` 3), both of the Remix primary. One sign-up on
/// the primary signs the browser in on both, each through its own handshake and sync.
#[tokio::test]
async fn a_remix_and_a_nextjs_satellite_of_one_primary_signed_in_by_one_sign_in() {
    let world = prod_world().await;
    world.add_satellite("satellite.test", true).await;
    world.add_satellite("satellite2.test", true).await;
    let (printed, remix_satellite) =
        printed_env(REMIX, &world.server, &world.secret_key, "satellite.test").await;
    // The primary may send a signed-in user back to either (the Next.js satellite's sign-in
    // goes through the primary's <SignIn/>, which sends it back).
    let remix_primary = primary_env(
        REMIX,
        &printed,
        "https://satellite.test,https://satellite2.test",
    );
    let (_, next_satellite) = printed_env(
        APP_ROUTER,
        &world.server,
        &world.secret_key,
        "satellite2.test",
    )
    .await;
    assert_eq!(
        next_satellite["NEXT_PUBLIC_CLERK_DOMAIN"],
        "satellite2.test"
    );

    let node = NodeToWorld::new(&world);
    let started = stopwatch();
    tokio::join!(install(REMIX), install(APP_ROUTER));
    // The Next.js satellite's build bakes this world's publishable key in: a directory of its own.
    tokio::join!(
        build(REMIX, "primary", "cross", remix_primary.clone()),
        build(REMIX, "satellite", "cross", remix_satellite.clone()),
        build(
            APP_ROUTER,
            "satellite",
            ".next-cross",
            next_satellite.clone()
        ),
    );
    let (p, s, s2) = (free_port().await, free_port().await, free_port().await);
    let apps = vec![
        ProdApp::serve(
            &world,
            "primary.test",
            AppProcess::start(REMIX, "primary", "cross", &remix_primary, &node.env, p).await,
        )
        .await,
        ProdApp::serve(
            &world,
            "satellite.test",
            AppProcess::start(REMIX, "satellite", "cross", &remix_satellite, &node.env, s).await,
        )
        .await,
        ProdApp::serve(
            &world,
            "satellite2.test",
            AppProcess::start(
                APP_ROUTER,
                "satellite",
                ".next-cross",
                &next_satellite,
                &node.env,
                s2,
            )
            .await,
        )
        .await,
    ];
    eprintln!(
        "cross-stack apps built and started: {:.1?}",
        started.elapsed()
    );
    in_chromium(
        "a Remix and a Next.js satellite of one primary (cross-stack-prod)",
        "cross-stack-prod",
        &chromium_args(&world, &apps),
        cross_journey,
    )
    .await;
    drop(apps);
}

async fn cross_journey(page: Page) {
    let mut tab = Tab::new(page);
    let email = "ada@example.com";
    tab.sign_up_on_primary("https://primary.test", email).await;
    tab.satellite_profile_signed_in("https://satellite.test", email, "remix-satellite-profile")
        .await;
    tab.satellite_profile_signed_in("https://satellite2.test", email, "nextjs-satellite-profile")
        .await;
    // Both stay signed in: back on the Remix satellite, its server and clerk-js see the user.
    tab.page.goto("https://satellite.test/").await;
    tab.page
        .wait_for("#signed-in", "the Remix satellite's home, still signed in")
        .await;
    tab.step_done("remix-satellite-still-signed-in").await;
    tab.finish();
}
