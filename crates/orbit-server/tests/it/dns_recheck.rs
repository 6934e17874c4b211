//! Verified satellites stay under watch (docs/design/dns-verification.md "Re-checks and
//! suspension"): the production-like world on a manual clock, its DNS changed under it.

use crate::cli::{orbit, output_of};
use crate::dns_server::Answer;
use crate::harness::stopwatch;
use crate::world::*;
use orbit_core::clock::{ManualClock, HOUR};
use reqwest::StatusCode;
use serde_json::Value;

const T0: i64 = 1_800_000_000_000;
const RECORD: &str = "clerk.satellite.test";

/// What the periodic check runs, once.
async fn recheck(world: &ProdWorld) {
    let resolver = orbit_server::serve::resolver(&world.server.config).unwrap();
    for (before, after) in world
        .server
        .orbit()
        .recheck_satellites(resolver.as_ref(), "orbit.test")
        .await
        .unwrap()
    {
        after.unwrap_or_else(|e| panic!("{}: {e}", before.name));
    }
}

/// `satellite.test` as BAPI shows it.
async fn shown(world: &ProdWorld) -> Value {
    let (status, list) = world.backend().get("/v1/domains").await;
    assert_eq!(status, StatusCode::OK);
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "satellite.test")
        .unwrap()
        .clone()
}

/// (verified, dns_failures, dns_failing_since, suspended_at) of `satellite.test` through BAPI.
async fn state(world: &ProdWorld) -> (bool, u64, Option<i64>, Option<i64>) {
    let d = shown(world).await;
    (
        d["verified"].as_bool().unwrap(),
        d["dns_failures"].as_u64().unwrap(),
        d["dns_failing_since"].as_i64(),
        d["suspended_at"].as_i64(),
    )
}

/// `orbit <args> --instance <production instance> --data-dir <the world's>`, with the world's DNS
/// (which answers from this test's runtime, so the command runs off it).
async fn cli(world: &ProdWorld, args: &[&str]) -> (bool, String, String) {
    let mut command = orbit();
    command
        .args(args)
        .args(["--instance", &world.instance.id, "--data-dir"])
        .arg(world.server.dir.path())
        .env("ORBIT_DNS_SERVERS", world.dns.addr.to_string())
        .env("ORBIT_CNAME_TARGET", "orbit.test");
    output_of(command).await
}

/// The `orbit domain list` line of `satellite.test`.
async fn listed(world: &ProdWorld) -> String {
    let (ok, out, err) = cli(world, &["domain", "list"]).await;
    assert!(ok, "{err}");
    out.lines()
        .find(|l| l.starts_with("satellite.test "))
        .unwrap_or_else(|| panic!("{out}"))
        .to_owned()
}

/// A satellite handshake that needs a sync: the three redirects back to the app.
async fn syncs(browser: &WorldBrowser) -> bool {
    let hops = browser
        .handshake(
            RECORD,
            "https://satellite.test/?__clerk_synced=false",
            "satellite-needs-syncing",
        )
        .await;
    hops.len() == 3
        && hops
            .iter()
            .all(|h| h.status == StatusCode::TEMPORARY_REDIRECT)
        && final_url(&hops) == "https://satellite.test/?__clerk_synced=true"
}

/// Where the primary's sign-in page sends a signed-in browser asked to go to the satellite.
async fn portal_redirect(browser: &WorldBrowser) -> Option<String> {
    browser
        .get("https://clerk.primary.test/sign-in?redirect_url=https%3A%2F%2Fsatellite.test%2Fafter")
        .await
        .location
}

#[tokio::test]
async fn a_lapsed_satellite_is_suspended_after_the_grace_period_until_the_operator_restores_it() {
    let clock = ManualClock::new(T0);
    let world = ProdWorld::start_on(Some(&clock), |_| {}).await;
    world.add_satellite("satellite.test", true).await;
    let (browser, _) = world.signed_in_browser("ada@example.com").await;
    assert!(syncs(&browser).await);
    assert_eq!(state(&world).await, (true, 0, None, None));
    assert_eq!(
        portal_redirect(&browser).await.as_deref(),
        Some("https://satellite.test/after")
    );

    // The record points elsewhere: a failure, counted from its time; the domain still works.
    world.dns.set(RECORD, Answer::Cname("elsewhere.test"));
    recheck(&world).await;
    assert_eq!(state(&world).await, (true, 1, Some(T0), None));
    assert!(shown(&world).await["verification_error"]
        .as_str()
        .unwrap()
        .contains("is a CNAME for elsewhere.test, but it must point to orbit.test"));
    assert!(syncs(&browser).await, "still syncs during the grace period");

    // A passing check within the grace period ends the run.
    world.dns.set(RECORD, Answer::Cname("orbit.test"));
    clock.advance_ms(HOUR);
    recheck(&world).await;
    assert_eq!(state(&world).await, (true, 0, None, None));

    // A new run; SERVFAIL counts as much as a wrong record.
    world.dns.set(RECORD, Answer::ServFail);
    clock.advance_ms(HOUR);
    let run = T0 + 2 * HOUR;
    recheck(&world).await;
    assert_eq!(state(&world).await, (true, 1, Some(run), None));
    world.dns.remove(RECORD);
    clock.advance_ms(72 * HOUR - 1);
    recheck(&world).await;
    assert_eq!(state(&world).await, (true, 2, Some(run), None));
    let line = listed(&world).await;
    assert!(
        line.contains("verified, but DNS checks fail since 2027-01-15 10:00 UTC (2 in a row): clerk.satellite.test does not exist in DNS")
            && line.contains("suspended at 2027-01-18 10:00 UTC unless fixed"),
        "{line}"
    );
    assert!(
        syncs(&browser).await,
        "still syncs on the grace period's last millisecond"
    );
    // A sync that starts now, and one whose token is issued now, finish after the suspension.
    let started = browser.get(&fresh_start()).await;
    assert_eq!(started.status, StatusCode::TEMPORARY_REDIRECT);
    let to_primary = started.location.unwrap();
    let link = browser
        .get(&browser.get(&fresh_start()).await.location.unwrap())
        .await
        .location
        .unwrap();

    // The grace period is over: the next failure suspends.
    clock.advance_ms(1);
    recheck(&world).await;
    let suspended_at = T0 + 74 * HOUR;
    assert_eq!(
        state(&world).await,
        (false, 3, Some(run), Some(suspended_at))
    );
    let line = listed(&world).await;
    assert!(
        line.contains("suspended since 2027-01-18 10:00 UTC (DNS checks fail since 2027-01-15 10:00 UTC): clerk.satellite.test does not exist in DNS")
            && line.contains("run `orbit domain verify satellite.test`"),
        "{line}"
    );
    let (ok, json, _) = cli(&world, &["domain", "list", "--json"]).await;
    assert!(ok);
    let json: Value = serde_json::from_str(&json).unwrap();
    let d = json
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "satellite.test")
        .unwrap();
    assert_eq!(d["suspended_at"], suspended_at);
    assert!(d["status"].as_str().unwrap().starts_with("suspended since"));

    // Its FAPI host serves nothing: handshakes, the link of a token issued before, refreshes.
    let refused = browser.get(&fresh_start()).await;
    assert_refused(
        &refused,
        StatusCode::MISDIRECTED_REQUEST,
        "domain_suspended",
    );
    assert!(
        refused.body.contains("does not exist in DNS"),
        "{}",
        refused.body
    );
    assert_refused(
        &browser.get(&link).await,
        StatusCode::MISDIRECTED_REQUEST,
        "domain_suspended",
    );
    let page = browser
        .http
        .get(format!("https://{RECORD}/v1/client/handshake"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::MISDIRECTED_REQUEST);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("<h1>Satellite domain suspended</h1>"));
    // The primary issues no sync token for it, not even for a sync started before.
    let hop = browser.get(&to_primary).await;
    assert_refused(&hop, StatusCode::BAD_REQUEST, "Satellite suspended");
    // No redirect goes there.
    assert!(
        !portal_redirect(&browser)
            .await
            .is_some_and(|l| l.contains("satellite.test")),
        "the portal still redirects to a suspended domain"
    );

    // The record is right again: the timer notes it, but only the operator restores.
    world.dns.set(RECORD, Answer::Cname("orbit.test"));
    clock.advance_ms(HOUR);
    recheck(&world).await;
    assert_eq!(
        state(&world).await,
        (false, 3, Some(run), Some(suspended_at))
    );
    assert!(listed(&world)
        .await
        .contains("the CNAME record is right again"));
    assert!(!syncs(&browser).await);
    let (ok, out, err) = cli(&world, &["domain", "verify", "satellite.test"]).await;
    assert!(ok, "{out}{err}");
    assert_eq!(state(&world).await, (true, 0, None, None));
    assert!(listed(&world).await.ends_with(" verified"));
    assert!(syncs(&browser).await, "restored");
    assert_eq!(
        portal_redirect(&browser).await.as_deref(),
        Some("https://satellite.test/after")
    );
}

fn fresh_start() -> String {
    handshake_url(
        RECORD,
        "https://satellite.test/?__clerk_synced=false",
        "satellite-needs-syncing",
    )
}

/// `hop` is an error page or JSON that says `what`, sets nothing and redirects nowhere.
fn assert_refused(hop: &Hop, status: StatusCode, what: &str) {
    assert_eq!(hop.status, status, "{}: {}", hop.url, hop.body);
    assert!(hop.body.contains(what), "{}", hop.body);
    assert!(
        hop.location.is_none() && hop.set_cookies.is_empty(),
        "{hop:?}"
    );
}

/// The timer itself re-checks verified satellites (here with no grace period).
#[tokio::test]
async fn the_periodic_check_suspends_a_verified_satellite() {
    let world = ProdWorld::start_on(None, |c| {
        c.dns_check_interval_secs = 1;
        c.dns_recheck_grace_secs = 0;
    })
    .await;
    world.add_satellite("satellite.test", true).await;
    world.dns.set(RECORD, Answer::Cname("someone-else.test"));
    let started = stopwatch();
    loop {
        let d = shown(&world).await;
        if d["suspended_at"].is_i64() {
            assert_eq!(d["verified"], false);
            assert!(d["verification_error"]
                .as_str()
                .unwrap()
                .contains("someone-else.test"));
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "not suspended: {d}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
