//! Satellite domains end to end, production-like: TLS on 443, FAPI hosts `clerk.*.test`, DNS
//! verification against a local DNS server, the handshake and the sync across hosts.

use crate::harness::{Backend, GOOD_PASSWORD};
use crate::world::*;
use orbit_core::clock::{Clock, ManualClock, SystemClock};
use orbit_core::model::{InstanceKind, InstanceSettings};
use orbit_core::satellite::HANDSHAKE_TTL;
use reqwest::StatusCode;
use serde_json::json;
use url::Url;

fn assert_nothing_set_and_no_redirect(hop: &Hop) {
    assert_eq!(
        hop.status,
        StatusCode::BAD_REQUEST,
        "{}: {}",
        hop.url,
        hop.body
    );
    assert!(hop.location.is_none(), "{hop:?}");
    assert!(hop.set_cookies.is_empty(), "{hop:?}");
}

#[tokio::test]
async fn signed_in_on_the_primary_means_signed_in_on_the_satellite() {
    let world = ProdWorld::start().await;
    world.add_satellite("satellite.test", true).await;
    let (browser, user_id) = world.signed_in_browser("ada@example.com").await;

    let start = handshake_url(
        "clerk.satellite.test",
        "https://satellite.test/profile?__clerk_synced=false",
        "satellite-needs-syncing",
    );
    let hops = browser.follow(&start).await;
    let hosts: Vec<String> = hops
        .iter()
        .map(|h| Url::parse(&h.url).unwrap().host_str().unwrap().to_owned())
        .collect();
    // satellite FAPI -> primary FAPI (sync) -> satellite FAPI (link) -> app: three redirects.
    assert_eq!(
        hosts,
        vec![
            "clerk.satellite.test",
            "clerk.primary.test",
            "clerk.satellite.test"
        ],
        "{hops:#?}"
    );
    assert!(hops
        .iter()
        .all(|h| h.status == StatusCode::TEMPORARY_REDIRECT));
    assert!(hops.iter().all(|h| h.location.is_some()));
    let back = final_url(&hops);
    assert_eq!(back, "https://satellite.test/profile?__clerk_synced=true");
    // The nonce cookie is set on the satellite's registrable domain, HttpOnly and Secure.
    let nonce_cookie = hops[2].set_cookie("__clerk_handshake_nonce");
    assert!(
        nonce_cookie.contains("Domain=satellite.test")
            && nonce_cookie.contains("Secure")
            && nonce_cookie.contains("HttpOnly"),
        "{nonce_cookie}"
    );
    // The satellite FAPI host now has its own client cookie for the same client (`__Host-` on
    // https).
    let client_cookie = hops[2].set_cookie("__Host-client");
    assert!(
        client_cookie.contains("HttpOnly")
            && client_cookie.contains("Secure")
            && !client_cookie.contains("Domain"),
        "{client_cookie}"
    );

    let view = world.app_resolves(&browser, &back).await;
    let claims = view.claims.expect("signed in on the satellite");
    assert_eq!(claims["sub"], user_id);
    assert_eq!(claims["iss"], "https://clerk.satellite.test");
    assert_eq!(claims["azp"], "https://satellite.test");
    assert!(view
        .directives
        .iter()
        .any(|d| d.starts_with("__client_uat=") && !d.starts_with("__client_uat=0;")));
    // The session token is host-only on the app's host; `__client_uat` and the handshake
    // cookies are scoped to the satellite's domain.
    for d in &view.directives {
        let host_only = d.starts_with("__session=ey");
        assert_eq!(!d.contains("Domain="), host_only, "{d}");
        assert!(host_only || d.contains("Domain=satellite.test"), "{d}");
    }
    // The directives cleared the nonce cookie on the app's side.
    assert_eq!(
        browser.cookie("https://satellite.test/", "__clerk_handshake_nonce"),
        None
    );

    // Later handshakes (token refresh) are answered at once from the linked client.
    let (again, view) = world
        .handshake_and_resolve(
            &browser,
            "clerk.satellite.test",
            "https://satellite.test/orders",
            "session-token-expired-refresh-non-eligible-no-refresh-cookie",
        )
        .await;
    assert_eq!(again.len(), 1, "{again:#?}");
    assert_eq!(view.claims.unwrap()["sub"], user_id);
}

#[tokio::test]
async fn signed_out_ends_signed_out_without_a_loop() {
    let world = ProdWorld::start().await;
    world.add_satellite("satellite.test", true).await;
    let rows_before = row_counts(&world).await;
    let browser = world.browser();
    let hops = browser
        .handshake(
            "clerk.satellite.test",
            "https://satellite.test/?__clerk_synced=false",
            "satellite-needs-syncing",
        )
        .await;
    assert_eq!(hops.len(), 3);
    // Signed out on the primary: no client is created for the sync, on either host; the link
    // clears any `__client` the satellite's host had.
    let rows = row_counts(&world).await;
    for table in ["clients", "client_tokens"] {
        assert_eq!(rows[table], rows_before[table], "{table}: {rows:?}");
    }
    for hop in &hops[..2] {
        assert!(
            !hop.set_cookies
                .iter()
                .any(|c| c.starts_with("__Host-client=")),
            "{hop:?}"
        );
    }
    assert!(
        hops[2].set_cookie("__Host-client").contains("Max-Age=0"),
        "{:?}",
        hops[2]
    );
    let back = final_url(&hops);
    assert_eq!(back, "https://satellite.test/?__clerk_synced=true");
    let view = world.app_resolves(&browser, &back).await;
    assert!(view.claims.is_none());
    assert!(
        view.directives
            .iter()
            .any(|d| d.starts_with("__session=; ")),
        "{:?}",
        view.directives
    );
    assert!(view
        .directives
        .iter()
        .any(|d| d.starts_with("__client_uat=0;")));

    // Signing in on the primary afterwards gives the browser a fresh client: the satellite's
    // next handshake syncs again (no loop: three hops) and is signed in.
    world
        .backend()
        .create_user("bob@example.com", GOOD_PASSWORD)
        .await;
    browser.sign_in("bob@example.com").await;
    let (hops, view) = world
        .handshake_and_resolve(
            &browser,
            "clerk.satellite.test",
            "https://satellite.test/",
            "session-token-but-no-client-uat",
        )
        .await;
    assert_eq!(hops.len(), 3, "{hops:#?}");
    assert!(view.claims.is_some());
}

#[tokio::test]
async fn sign_out_on_the_satellite_signs_out_everywhere_and_two_satellites_share_the_client() {
    let world = ProdWorld::start().await;
    world.add_satellite("satellite.test", true).await;
    world.add_satellite("satellite2.test", true).await;
    let (browser, user_id) = world.signed_in_browser("ada@example.com").await;
    for sat in ["satellite.test", "satellite2.test"] {
        let (_, view) = world
            .handshake_and_resolve(
                &browser,
                &format!("clerk.{sat}"),
                &format!("https://{sat}/?__clerk_synced=false"),
                "satellite-needs-syncing",
            )
            .await;
        assert_eq!(view.claims.unwrap()["sub"], user_id, "{sat}");
    }
    // The primary's own handshake is signed in.
    let (hops, primary_view) = world.refresh_on_primary(&browser).await;
    assert_eq!(hops.len(), 1);
    assert_eq!(
        primary_view.claims.as_ref().unwrap()["iss"],
        "https://clerk.primary.test"
    );

    // Sign out from satellite 2's FAPI (as clerk-js or the SDK's sign-out does); a cross-site
    // request cannot do that.
    for (origin, expected) in [
        ("https://satellite2.test", StatusCode::OK),
        ("https://evil.example", StatusCode::FORBIDDEN),
    ] {
        let r = browser
            .http
            .delete("https://clerk.satellite2.test/v1/client/sessions")
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), expected, "{origin}");
    }

    for (fapi, app) in [
        ("clerk.primary.test", "https://primary.test/"),
        ("clerk.satellite.test", "https://satellite.test/"),
    ] {
        let (_, view) = world
            .handshake_and_resolve(&browser, fapi, app, "session-token-expired")
            .await;
        assert!(
            view.claims.is_none(),
            "{app} is signed out after sign-out on satellite2"
        );
    }
}

#[tokio::test]
async fn unverified_satellites_are_refused_and_dns_checks_explain_why() {
    let world = ProdWorld::start().await;
    let created = world.add_satellite("unverified.test", false).await;
    assert_eq!(created["object"], "domain");
    assert_eq!(created["is_satellite"], true);
    assert_eq!(created["frontend_api_url"], "https://clerk.unverified.test");
    assert_eq!(
        created["cname_targets"],
        json!([{"host": "clerk.unverified.test", "value": "orbit.test", "required": true}])
    );
    assert_eq!(created["verified"], false);

    let browser = world.browser();
    let url = handshake_url(
        "clerk.unverified.test",
        "https://unverified.test/",
        "satellite-needs-syncing",
    );
    let hop = browser.get(&url).await;
    assert_eq!(hop.status, StatusCode::MISDIRECTED_REQUEST);
    assert!(
        hop.body.contains("clerk.unverified.test -> orbit.test"),
        "{}",
        hop.body
    );
    assert!(hop.location.is_none() && hop.set_cookies.is_empty());
    // A browser gets the same explanation as a page.
    let page = browser
        .http
        .get(&url)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::MISDIRECTED_REQUEST);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<h1>Satellite domain not verified</h1>")
            && html.contains("orbit domain verify unverified.test"),
        "{html}"
    );
    // The primary will not sync it either.
    let hop = browser
        .get("https://clerk.primary.test/v1/client/sync?link_domain=unverified.test&__orbit_sync=x")
        .await;
    assert_nothing_set_and_no_redirect(&hop);

    // DNS outcomes, each with its reason stored.
    let orbit = world.server.orbit();
    let resolver = orbit_server::serve::resolver(&world.server.config).unwrap();
    let cases = [
        ("satellite.test", true, None),
        ("satellite2.test", true, None),
        (
            "wrong.test",
            false,
            Some("is a CNAME for elsewhere.test, but it must point to orbit.test"),
        ),
        ("norecord.test", false, Some("has no CNAME record")),
        ("unverified.test", false, Some("does not exist in DNS")),
        ("slow.test", false, Some("timed out")),
    ];
    for (name, verified, reason) in cases {
        let d = match orbit.find_domain(&world.instance, name).await {
            Ok(d) => d,
            Err(_) => orbit.add_satellite(&world.instance, name).await.unwrap(),
        };
        let checked = orbit
            .verify_domain(&d, resolver.as_ref(), "orbit.test")
            .await
            .unwrap();
        assert_eq!(
            checked.verified, verified,
            "{name}: {:?}",
            checked.verification_error
        );
        match reason {
            Some(r) => assert!(
                checked
                    .verification_error
                    .as_deref()
                    .unwrap_or_default()
                    .contains(r),
                "{name}: {:?}",
                checked.verification_error
            ),
            None => assert_eq!(checked.verification_error, None),
        }
        assert!(checked.checked_at.is_some());
    }
    // The reasons are shown through BAPI.
    let (_, list) = world.backend().get("/v1/domains").await;
    let wrong = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "wrong.test")
        .unwrap();
    assert!(wrong["verification_error"]
        .as_str()
        .unwrap()
        .contains("elsewhere.test"));
    assert_eq!(list["total_count"], list["data"].as_array().unwrap().len());
}

#[tokio::test]
async fn hostile_sync_and_link_requests_set_nothing() {
    let world = ProdWorld::start().await;
    world.add_satellite("satellite.test", true).await;
    world.add_satellite("satellite2.test", true).await;
    let (browser, _) = world.signed_in_browser("ada@example.com").await;

    // Walk the sync by hand to capture the link URL.
    let link_url = fresh_link_url(&browser).await;
    assert!(
        link_url.starts_with("https://clerk.satellite.test/v1/client/link?__clerk_token="),
        "{link_url}"
    );

    // Another browser (no state cookie) cannot use it, and trying spends it.
    let thief = world.browser();
    assert_nothing_set_and_no_redirect(&thief.get(&link_url).await);
    assert_nothing_set_and_no_redirect(&browser.get(&link_url).await);

    // A fresh token, used once, cannot be replayed.
    let link_url = fresh_link_url(&browser).await;
    let ok = browser.get(&link_url).await;
    assert_eq!(ok.status, StatusCode::TEMPORARY_REDIRECT);
    assert_nothing_set_and_no_redirect(&browser.get(&link_url).await);

    // A token minted for satellite A presented at satellite B.
    let link_url = fresh_link_url(&browser).await;
    let at_b = link_url.replace("clerk.satellite.test", "clerk.satellite2.test");
    assert_nothing_set_and_no_redirect(&browser.get(&at_b).await);
    // ... and it is spent for A too.
    assert_nothing_set_and_no_redirect(&browser.get(&link_url).await);

    for url in [
        // Forged and missing tokens.
        "https://clerk.satellite.test/v1/client/link?__clerk_token=forged",
        "https://clerk.satellite.test/v1/client/link",
        // The sync endpoint only links registered satellites, and only from a pending sync.
        "https://clerk.primary.test/v1/client/sync?link_domain=evil.test&__orbit_sync=x",
        "https://clerk.primary.test/v1/client/sync?link_domain=satellite.test",
        "https://clerk.primary.test/v1/client/sync?link_domain=satellite.test&__orbit_sync=x&redirect_url=https%3A%2F%2Fevil.test%2F",
    ] {
        assert_nothing_set_and_no_redirect(&browser.get(url).await);
    }
}

/// Starts a sync of `satellite.test` and follows it by hand up to the primary's redirect to the
/// satellite's link endpoint; returns that link URL (unused).
async fn fresh_link_url(browser: &WorldBrowser) -> String {
    let start = handshake_url(
        "clerk.satellite.test",
        "https://satellite.test/?__clerk_synced=false",
        "satellite-needs-syncing",
    );
    let to_primary = browser.get(&start).await;
    let to_link = browser.get(to_primary.location.as_deref().unwrap()).await;
    to_link.location.unwrap()
}

/// A nonce's directives are read, not consumed (docs/protocol.md "The handshake"): @clerk/remix's
/// root loader and route loader resolve the same nonce at once. Readable by the instance's backend
/// as often as asked until it expires, across a restart; never by another instance's backend.
#[tokio::test]
async fn handshake_nonces_are_readable_until_they_expire_even_across_restarts_and_races() {
    let clock = ManualClock::new(SystemClock.now_ms());
    let world = ProdWorld::start_on(Some(&clock), |_| {}).await;
    world.add_satellite("satellite.test", true).await;
    let (browser, _) = world.signed_in_browser("ada@example.com").await;
    let nonce = primary_nonce(&browser).await;
    let bapi = world.backend();
    let path = payload_path(&nonce);
    let (s, first) = bapi.get(&path).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    assert!(
        first["directives"]
            .as_array()
            .is_some_and(|d| !d.is_empty()),
        "{first}"
    );
    assert_eq!(bapi.get(&path).await, (StatusCode::OK, first.clone()));

    // Another instance's secret key does not read it.
    let orbit = world.server.orbit();
    let other = orbit
        .create_application(
            "Other",
            InstanceKind::Production,
            "other.test",
            "clerk.other.test",
        )
        .await
        .unwrap();
    // Without a mail server, as the world's own instance (else the restart below refuses).
    let settings = InstanceSettings {
        sign_up_email_verification: false,
        ..other.settings.clone()
    };
    let other = orbit.update_settings(&other.id, settings).await.unwrap();
    let other_key = orbit.credentials(&other).await.unwrap().secret_key;
    let stranger = Backend {
        key: other_key,
        ..world.backend()
    };
    let (s, body) = stranger.get(&path).await;
    assert_eq!(
        (s, body["errors"][0]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("handshake_nonce_invalid"))
    );

    // 8 concurrent readers of one fresh nonce, as an app's loaders: all get the same directives.
    let nonce = primary_nonce(&browser).await;
    let reads = concurrent_payloads(&world, &nonce, 8).await;
    assert!(
        reads[0].0 == StatusCode::OK && reads.iter().all(|r| *r == reads[0]),
        "{reads:?}"
    );

    // Still readable after a restart and until the end of its minute, then refused.
    let world = world.restart().await;
    let bapi = world.backend();
    assert_eq!(bapi.get(&path).await, (StatusCode::OK, first));
    clock.advance_ms(HANDSHAKE_TTL - 1_000);
    assert_eq!(bapi.get(&path).await.0, StatusCode::OK);
    clock.advance_ms(1_000);
    let (s, body) = bapi.get(&path).await;
    assert_eq!(
        (s, body["errors"][0]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("handshake_nonce_invalid"))
    );
    let reads = concurrent_payloads(&world, &nonce, 8).await;
    assert!(
        reads.iter().all(|r| r.0 == StatusCode::NOT_FOUND),
        "{reads:?}"
    );
}

/// `n` concurrent BAPI reads of `nonce`'s payload: status and body of each.
async fn concurrent_payloads(
    world: &ProdWorld,
    nonce: &str,
    n: usize,
) -> Vec<(StatusCode, serde_json::Value)> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let bapi = world.backend();
            let path = payload_path(nonce);
            tokio::spawn(async move { bapi.get(&path).await })
        })
        .collect();
    let mut reads = Vec::new();
    for t in tasks {
        reads.push(t.await.unwrap());
    }
    reads
}

/// A fresh handshake nonce of the primary for `browser`, as the app gets it in a cookie.
async fn primary_nonce(browser: &WorldBrowser) -> String {
    let hops = browser
        .handshake(
            "clerk.primary.test",
            "https://primary.test/",
            "session-token-expired",
        )
        .await;
    browser
        .cookie(&final_url(&hops), "__clerk_handshake_nonce")
        .unwrap()
}

fn payload_path(nonce: &str) -> String {
    format!("/v1/clients/handshake_payload?nonce={nonce}")
}

#[tokio::test]
async fn hostile_redirect_urls_at_the_handshake() {
    let world = ProdWorld::start().await;
    world.add_satellite("satellite.test", true).await;
    let browser = world.browser();
    let hostile = [
        "https://evil.test/",
        "https://satellite.test.evil.test/",
        "https://evilsatellite.test/",
        "http://satellite.test/",
        "https://satellite.test:8443/",
        "https://user@satellite.test/",
        "https://satellite.test@evil.test/",
        "//evil.test/",
        "/relative/path",
        "javascript:alert(1)",
        "data:text/html,hi",
        "https:evil.test",
        "https:/\\evil.test",
        "https://satellite.test\\@evil.test/",
        "https://sаtellite.test/",
        "https://xn--stellite-3qf.test/",
        "https://unregistered.test/",
        " https://satellite.test/",
        "https://satellite.test/\n",
        "https://satellite.test%2F@evil.test/",
        "ftp://satellite.test/",
        "file:///etc/passwd",
        "https://[::1]/",
        "https://127.0.0.1/",
        "https://primary.test/",
        "https://clerk.satellite.test.evil.test/",
        "https://satellite.test./",
        "https://*.satellite.test/",
        "",
        "https://SATELLITE.test@evil.test",
        "\\\\evil.test",
    ];
    for raw in hostile {
        let mut u = Url::parse("https://clerk.satellite.test/v1/client/handshake").unwrap();
        u.query_pairs_mut()
            .append_pair("redirect_url", raw)
            .append_pair("format", "nonce");
        let hop = browser.get(u.as_str()).await;
        assert_nothing_set_and_no_redirect(&hop);
    }
    // The page names the origin and says how to register it.
    let mut u = Url::parse("https://clerk.satellite.test/v1/client/handshake").unwrap();
    u.query_pairs_mut()
        .append_pair("redirect_url", "https://preview-42.shop.test/cart");
    let hop = browser.get(u.as_str()).await;
    assert!(
        hop.body.contains("https://preview-42.shop.test"),
        "{}",
        hop.body
    );
    assert!(
        hop.body
            .contains("orbit domain add-satellite preview-42.shop.test"),
        "{}",
        hop.body
    );
}

#[tokio::test]
async fn token_format_carries_a_signed_handshake() {
    let world = ProdWorld::start().await;
    let (browser, user_id) = world.signed_in_browser("ada@example.com").await;
    let url = handshake_url(
        "clerk.primary.test",
        "https://primary.test/",
        "session-token-expired",
    )
    .replace("format=nonce", "format=token");
    let hops = browser.follow(&url).await;
    let jwt = hops[0]
        .set_cookie("__clerk_handshake")
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("__clerk_handshake=");
    let (_, jwks) = world.backend().get("/v1/jwks").await;
    let (_, payload) = crate::bapi::verify_with_jwks(jwt, &jwks);
    let directives: Vec<String> = payload["handshake"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d.as_str().map(str::to_owned))
        .collect();
    let token = directive_value(&directives, "__session").unwrap();
    assert_eq!(
        crate::bapi::verify_with_jwks(&token, &jwks).1["sub"],
        user_id
    );
    assert_eq!(hops[0].status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(hops[0].location.as_deref(), Some("https://primary.test/"));
}

#[tokio::test]
async fn cookies_blocked_ends_on_a_clear_page_within_the_redirect_budget() {
    let world = ProdWorld::start().await;
    world.add_satellite("satellite.test", true).await;
    // A browser that keeps no cookies at all.
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .add_root_certificate(
            reqwest::Certificate::from_pem(world.certs.ca_pem.as_bytes()).unwrap(),
        );
    for h in HOSTS {
        b = b.resolve(h, std::net::SocketAddr::new(world.ip, 443));
    }
    let jarless = WorldBrowser {
        http: b.build().unwrap(),
        jar: std::sync::Arc::new(reqwest::cookie::Jar::default()),
    };
    let hops = jarless
        .handshake(
            "clerk.satellite.test",
            "https://satellite.test/?__clerk_synced=false",
            "satellite-needs-syncing",
        )
        .await;
    assert_eq!(hops.len(), 3, "{hops:#?}");
    let last = hops.last().unwrap();
    assert_eq!(last.status, StatusCode::BAD_REQUEST);
    assert!(last.body.contains("cookies"), "{}", last.body);
    assert!(last.set_cookies.is_empty());
}

#[tokio::test]
async fn portal_pages_on_a_satellite_host_go_to_the_primary() {
    let world = ProdWorld::start().await;
    world.add_satellite("satellite.test", true).await;
    let hop = world
        .browser()
        .get("https://clerk.satellite.test/sign-in?redirect_url=https%3A%2F%2Fsatellite.test%2F")
        .await;
    assert_eq!(hop.status, StatusCode::SEE_OTHER);
    assert_eq!(
        hop.location.as_deref(),
        Some("https://clerk.primary.test/sign-in?redirect_url=https%3A%2F%2Fsatellite.test%2F")
    );
}

/// Development: one FAPI host (plain http) for the primary and its satellites; the nonce travels
/// in the URL and a development browser token identifies the client.
#[tokio::test]
async fn development_handshake_with_dev_browser() {
    use crate::harness::*;
    let server = TestServer::start().await;
    let d = server
        .backend()
        .add_satellite("http://localhost:3001")
        .await;
    assert_eq!(d["name"], "localhost:3001");
    assert_eq!(d["frontend_api_url"], server.base);
    assert_eq!(
        d["cname_targets"],
        serde_json::Value::Null,
        "development needs no DNS"
    );

    let browser = server.browser();
    let handshake = |redirect: &str, dvb: Option<&str>| {
        let mut u = Url::parse(&server.url("/v1/client/handshake")).unwrap();
        u.query_pairs_mut()
            .append_pair("redirect_url", redirect)
            .append_pair("__clerk_api_version", "2026-05-12")
            .append_pair("suffixed_cookies", "true")
            .append_pair("__clerk_hs_reason", "dev-browser-missing")
            .append_pair("format", "nonce");
        if let Some(d) = dvb {
            u.query_pairs_mut().append_pair("__clerk_db_jwt", d);
        }
        u.to_string()
    };
    let redeem = async |location: &str| {
        let u = Url::parse(location).unwrap();
        let nonce = u
            .query_pairs()
            .find(|(k, _)| k == "__clerk_handshake_nonce")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        server.backend().handshake_directives(&nonce).await
    };
    let value =
        |directives: &[String], name: &str| directive_value(directives, &format!("{name}="));

    // First visit: no client yet. Orbit creates none (clients are created at sign-in), answers
    // signed out and hands out a dev browser of no client.
    let r = browser
        .get(&handshake("http://localhost:3001/x", None))
        .await;
    assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT);
    let location = r.location().unwrap().to_owned();
    assert!(
        location
            .starts_with("http://localhost:3001/x?__clerk_synced=true&__clerk_handshake_nonce="),
        "{location}"
    );
    assert!(
        !r.set_cookies().iter().any(|c| c.starts_with("__client=")),
        "{:?}",
        r.set_cookies()
    );
    let directives = redeem(&location).await;
    let dvb = value(&directives, "__clerk_db_jwt").expect("a dev browser directive");
    assert!(dvb.starts_with("dvb_"));
    // suffixed_cookies=true: the suffixed names carry the same values.
    let suffix = orbit_proto::cookie_suffix(&server.publishable_key);
    assert_eq!(
        value(&directives, &format!("__clerk_db_jwt_{suffix}")).as_deref(),
        Some(dvb.as_str())
    );
    assert_eq!(
        value(&directives, &format!("__client_uat_{suffix}")).as_deref(),
        Some("0")
    );
    assert_eq!(value(&directives, "__session").unwrap_or_default(), "");
    assert!(
        directives
            .iter()
            .all(|d| !d.contains("Domain=") && !d.contains("Secure")),
        "{directives:?}"
    );

    // Sign in on the portal with the same browser; the app's next handshake (with its dev
    // browser token) is signed in, for the primary and for the satellite. That token stands for
    // no client and is never bound to one, so the first handshake hands the app a dev browser
    // of the new client, which later handshakes keep.
    server.create_user("ada@example.com", GOOD_PASSWORD).await;
    let r = browser.sign_in("ada@example.com", GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let mut kept: Option<String> = None;
    for app in ["http://localhost:3000/", "http://localhost:3001/profile"] {
        let sent = kept.clone().unwrap_or_else(|| dvb.clone());
        let r = browser.get(&handshake(app, Some(&sent))).await;
        let directives = redeem(r.location().unwrap()).await;
        let token = value(&directives, "__session").unwrap();
        let (_, jwks) = server.backend().get("/v1/jwks").await;
        let claims = crate::bapi::verify_with_jwks(&token, &jwks).1;
        assert_eq!(
            claims["iss"], server.base,
            "development tokens name the one FAPI host"
        );
        assert_eq!(
            claims["azp"],
            app.trim_end_matches('/').trim_end_matches("/profile")
        );
        let got = value(&directives, "__clerk_db_jwt").unwrap();
        match &kept {
            None => assert_ne!(
                got, dvb,
                "a dev browser of no client is not bound to the signed-in client"
            ),
            Some(k) => assert_eq!(&got, k, "the same dev browser is kept"),
        }
        kept = Some(got);
    }
    // Unregistered origins are refused in development too.
    let r = browser
        .get(&handshake("http://localhost:3002/", Some(&dvb)))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body.contains("orbit domain add-satellite localhost:3002"),
        "{}",
        r.body
    );
}

/// Rows in the world's database, by table, read through a second handle on its file.
async fn row_counts(world: &ProdWorld) -> std::collections::BTreeMap<String, i64> {
    let db = world.server.dir.path().join("orbit.db");
    let store = orbit_storage::SqliteStore::open(&db).await.unwrap();
    let counts = store.row_counts().await.unwrap();
    store.close().await;
    counts
}

#[tokio::test]
async fn anonymous_sync_requests_create_nothing() {
    use orbit_core::random::{Random, SystemRandom};
    let world = ProdWorld::start().await;
    world.add_satellite("satellite.test", true).await;
    world.add_satellite("satellite2.test", true).await;
    let before = row_counts(&world).await;
    let browser = world.browser();
    for _ in 0..200 {
        let id = SystemRandom.token(16);
        let hop = browser
            .get(&format!(
                "https://clerk.primary.test/v1/client/sync?link_domain=satellite.test&__orbit_sync={id}"
            ))
            .await;
        assert_nothing_set_and_no_redirect(&hop);
        assert!(hop.body.contains("Sync not started"), "{}", hop.body);
    }
    assert_eq!(row_counts(&world).await, before);

    // A live pending sync of another satellite does not start this one's either.
    let start = handshake_url(
        "clerk.satellite2.test",
        "https://satellite2.test/?__clerk_synced=false",
        "satellite-needs-syncing",
    );
    let to_primary = browser.get(&start).await;
    let to_primary = Url::parse(to_primary.location.as_deref().unwrap()).unwrap();
    let other = to_primary
        .query_pairs()
        .find(|(k, _)| k == "__orbit_sync")
        .unwrap()
        .1
        .into_owned();
    let before = row_counts(&world).await;
    let hop = browser
        .get(&format!(
            "https://clerk.primary.test/v1/client/sync?link_domain=satellite.test&__orbit_sync={other}"
        ))
        .await;
    assert_nothing_set_and_no_redirect(&hop);
    assert_eq!(row_counts(&world).await, before);
    // ... while its own satellite's sync goes through.
    let hop = browser.get(to_primary.as_str()).await;
    assert_eq!(hop.status, StatusCode::TEMPORARY_REDIRECT, "{}", hop.body);
}
