//! The satellite sync as clerk-js starts it on a production satellite: a full-page navigation to
//! `https://clerk.<satellite>/v1/client/sync?redirect_url=<page>` (`clerk.ts`
//! `#buildSyncUrlForProductionInstances`), which must come back with `__clerk_synced=true`.

use crate::fapi_clerkjs::CLERK_JS_QUERY;
use crate::world::*;
use reqwest::StatusCode;
use serde_json::Value;
use url::Url;

fn clerk_js_sync(redirect_url: Option<&str>) -> String {
    let mut u = Url::parse("https://clerk.satellite.test/v1/client/sync").unwrap();
    if let Some(r) = redirect_url {
        u.query_pairs_mut().append_pair("redirect_url", r);
    }
    u.to_string()
}

fn hosts(hops: &[Hop]) -> Vec<String> {
    hops.iter()
        .map(|h| Url::parse(&h.url).unwrap().host_str().unwrap().to_owned())
        .collect()
}

/// `GET /v1/client` on the satellite's FAPI host, as clerk-js on the satellite's page loads it.
async fn client_on_the_satellite(browser: &WorldBrowser) -> (StatusCode, Option<String>, Value) {
    let r = browser
        .http
        .get(format!(
            "https://clerk.satellite.test/v1/client?{CLERK_JS_QUERY}"
        ))
        .header("origin", "https://satellite.test")
        .send()
        .await
        .unwrap();
    let status = r.status();
    let cors = r
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, cors, r.json().await.unwrap())
}

#[tokio::test]
async fn clerk_js_syncs_a_production_satellite_through_its_own_host() {
    let world = ProdWorld::start().await;
    world.add_satellite("satellite.test", true).await;
    let (browser, user_id) = world.signed_in_browser("ada@example.com").await;
    // Before the sync, the satellite's FAPI host knows no client for this browser.
    let (status, _, body) = client_on_the_satellite(&browser).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["response"], Value::Null);

    let hops = browser
        .follow(&clerk_js_sync(Some(
            "https://satellite.test/profile?tab=1&__clerk_synced=false",
        )))
        .await;
    // satellite FAPI -> primary FAPI (sync) -> satellite FAPI (link) -> the page.
    assert_eq!(
        hosts(&hops),
        [
            "clerk.satellite.test",
            "clerk.primary.test",
            "clerk.satellite.test"
        ],
        "{hops:#?}"
    );
    assert!(hops
        .iter()
        .all(|h| h.status == StatusCode::TEMPORARY_REDIRECT));
    // `true` in place of `false`, the rest of the page's URL kept.
    let back = final_url(&hops);
    assert_eq!(
        back,
        "https://satellite.test/profile?tab=1&__clerk_synced=true"
    );
    assert!(hops[2].set_cookie("__Host-client").contains("HttpOnly"));

    // The app's middleware redeems the handshake: signed in as the primary's user, both cookie
    // names written (clerk-js and the SDKs read the suffixed one first).
    let view = world.app_resolves(&browser, &back).await;
    let claims = view.claims.expect("signed in on the satellite");
    assert_eq!(claims["sub"], user_id);
    assert_eq!(claims["iss"], "https://clerk.satellite.test");
    assert!(view
        .directives
        .iter()
        .any(|d| d.starts_with("__client_uat_") && !d.contains("__client_uat_=0")));

    // And clerk-js on the satellite's page now loads the same user from its own FAPI host.
    let (status, cors, body) = client_on_the_satellite(&browser).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(cors.as_deref(), Some("https://satellite.test"));
    let session = &body["response"]["sessions"][0];
    assert_eq!(session["user"]["id"], user_id.as_str());
    assert_eq!(
        session["user"]["email_addresses"][0]["email_address"],
        "ada@example.com"
    );
}

#[tokio::test]
async fn signed_out_on_the_primary_the_sync_comes_back_signed_out_and_synced() {
    let world = ProdWorld::start().await;
    world.add_satellite("satellite.test", true).await;
    let browser = world.browser();
    let hops = browser
        .follow(&clerk_js_sync(Some(
            "https://satellite.test/?__clerk_synced=false",
        )))
        .await;
    assert_eq!(hops.len(), 3, "{hops:#?}");
    let back = final_url(&hops);
    assert_eq!(back, "https://satellite.test/?__clerk_synced=true");
    let view = world.app_resolves(&browser, &back).await;
    assert!(view.claims.is_none());
    let (_, _, body) = client_on_the_satellite(&browser).await;
    assert_eq!(body["response"], Value::Null);
}

/// The satellite's sync sends the browser only back to the satellite's own pages; anything
/// else is a page that says so, with nothing set and no redirect.
#[tokio::test]
async fn the_sync_returns_only_to_the_satellites_own_pages() {
    let world = ProdWorld::start().await;
    world.add_satellite("satellite.test", true).await;
    world.add_satellite("satellite2.test", true).await;
    let (browser, _) = world.signed_in_browser("ada@example.com").await;
    for (redirect_url, says) in [
        (None, "Missing redirect_url"),
        (Some("https://primary.test/"), "Invalid redirect_url"),
        (Some("https://satellite2.test/"), "Invalid redirect_url"),
        (
            Some("https://evil.example/"),
            "Redirect origin not registered",
        ),
        (
            Some("http://satellite.test/"),
            "Redirect origin not registered",
        ),
        (Some("/relative"), "Invalid redirect_url"),
    ] {
        let hop = browser.get(&clerk_js_sync(redirect_url)).await;
        assert_eq!(
            hop.status,
            StatusCode::BAD_REQUEST,
            "{redirect_url:?}: {}",
            hop.body
        );
        assert!(hop.location.is_none(), "{hop:?}");
        assert!(hop.set_cookies.is_empty(), "{hop:?}");
        assert!(hop.body.contains(says), "{redirect_url:?}: {}", hop.body);
    }
}

/// clerk-js on the production primary's app: the environment of a production instance, a
/// sign-in through the primary's FAPI host, and the sign-out. FAPI writes `__client_uat` on the
/// registrable domain itself (clerk-js never does in production), plain and suffixed; its own
/// cookies carry the `__Host-` prefix.
#[tokio::test]
async fn production_sign_in_sets_client_uat_on_the_registrable_domain() {
    let world = ProdWorld::start().await;
    world.add_satellite("satellite.test", true).await;
    world
        .backend()
        .create_user("ada@example.com", crate::harness::GOOD_PASSWORD)
        .await;
    let browser = world.browser();
    let fapi = "https://clerk.primary.test";
    let call = async |path: &str, form: &[(&str, &str)], origin: &str| {
        let r = browser
            .http
            .post(format!("{fapi}/v1{path}"))
            .header("origin", origin)
            .form(form)
            .send()
            .await
            .unwrap();
        let cookies: Vec<String> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        let cors = r
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned());
        (r.status(), cookies, cors, r.json::<Value>().await.unwrap())
    };

    let env: Value = browser
        .http
        .get(format!("{fapi}/v1/environment"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let display = &env["display_config"];
    assert_eq!(display["instance_environment_type"], "production");
    assert_eq!(display["sign_in_url"], "https://clerk.primary.test/sign-in");
    assert_eq!(display["home_url"], "https://primary.test");
    // The instance's setting (this world has no mail server, so it is off).
    let (_, instance) = world.backend().get("/v1/instance").await;
    assert_eq!(
        env["user_settings"]["attributes"]["email_address"]["verify_at_sign_up"],
        instance["sign_up"]["email_verification"]
    );

    // clerk-js on a satellite's page may call the primary's FAPI too: its origin is allowed.
    let (status, cookies, cors, body) = call(
        "/client/sign_ins",
        &[("identifier", "ada@example.com")],
        "https://satellite.test",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(cors.as_deref(), Some("https://satellite.test"));
    let bound = cookies
        .iter()
        .find(|c| c.starts_with("__Host-orbit_sign_in="))
        .expect("the attempt's cookie, __Host- on https");
    assert!(
        bound.contains("Secure") && !bound.contains("Domain"),
        "{bound}"
    );
    let id = body["response"]["id"].as_str().unwrap().to_owned();

    let (status, cookies, _, body) = call(
        &format!("/client/sign_ins/{id}/attempt_first_factor"),
        &[
            ("strategy", "password"),
            ("password", crate::harness::GOOD_PASSWORD),
        ],
        "https://primary.test",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let uat: Vec<&String> = cookies
        .iter()
        .filter(|c| c.starts_with("__client_uat"))
        .collect();
    assert_eq!(uat.len(), 2, "plain and suffixed: {cookies:?}");
    for c in &uat {
        assert!(
            c.contains("Domain=primary.test") && c.contains("Secure") && c.contains("SameSite=Lax"),
            "{c}"
        );
        assert!(!c.contains("=0;"), "signed in: {c}");
    }
    assert!(cookies.iter().any(|c| c.starts_with("__Host-client=")));
    assert!(cookies
        .iter()
        .any(|c| c.starts_with("__Host-orbit_sign_in=;")));
    let updated_secs = body["client"]["updated_at"].as_i64().unwrap() / 1000;
    assert!(
        uat[0].starts_with(&format!("__client_uat={updated_secs};")),
        "{}",
        uat[0]
    );

    // The app's server sees the sign-in at its next request: a handshake answers signed in.
    let (_, view) = world.refresh_on_primary(&browser).await;
    assert!(view.claims.is_some());

    // clerk-js's sign-out: `__client_uat=0` on the same domain.
    let (status, cookies, _, _) = call(
        "/client/sessions?_method=DELETE",
        &[],
        "https://primary.test",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("__client_uat=0;") && c.contains("Domain=primary.test")),
        "{cookies:?}"
    );
    let (_, view) = world.refresh_on_primary(&browser).await;
    assert!(view.claims.is_none());
}

/// `GET /v1/client` on the primary's FAPI host, as clerk-js on the primary's page loads it:
/// status, the `__client_uat` cookies it sets, and the body.
async fn client_on_the_primary(browser: &WorldBrowser) -> (StatusCode, Vec<String>, Value) {
    let r = browser
        .http
        .get(format!(
            "https://clerk.primary.test/v1/client?{CLERK_JS_QUERY}"
        ))
        .header("origin", "https://primary.test")
        .send()
        .await
        .unwrap();
    let uat = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .filter(|c| c.starts_with("__client_uat"))
        .collect();
    (r.status(), uat, r.json().await.unwrap())
}

/// clerk-js signs out on a synced satellite (`DELETE /v1/client/sessions` on the satellite's
/// host). The primary's `__client_uat` still says "signed in", so the primary's server would
/// trust its session token until it expires; the primary's clerk-js loading its client is told
/// there is no session and that cookie is set to 0 on the primary's registrable domain, so the
/// primary's next request handshakes. The cookie is only ever lowered this way: a signed-in
/// client's answer, or one that already agrees, sets nothing.
#[tokio::test]
async fn a_sign_out_on_the_satellite_zeroes_the_primarys_client_uat_when_its_client_loads() {
    let world = ProdWorld::start().await;
    world.add_satellite("satellite.test", true).await;
    let (browser, _) = world.signed_in_browser("ada@example.com").await;
    let uat_before = cookie_in(&browser.jar, "https://primary.test/", "__client_uat")
        .expect("the sign-in set __client_uat on primary.test");
    assert_ne!(uat_before, "0");
    // Signed in: the client loads with its session and no cookie is touched.
    let (status, uat, body) = client_on_the_primary(&browser).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["response"]["last_active_session_id"].is_string(),
        "{body}"
    );
    assert!(
        uat.is_empty(),
        "a signed-in client sets no __client_uat: {uat:?}"
    );

    let hops = browser
        .follow(&clerk_js_sync(Some(
            "https://satellite.test/?__clerk_synced=false",
        )))
        .await;
    assert_eq!(
        final_url(&hops),
        "https://satellite.test/?__clerk_synced=true"
    );
    let r = browser
        .http
        .post(format!(
            "https://clerk.satellite.test/v1/client/sessions?_method=DELETE&{CLERK_JS_QUERY}"
        ))
        .header("origin", "https://satellite.test")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        cookie_in(&browser.jar, "https://primary.test/", "__client_uat").as_deref(),
        Some(uat_before.as_str()),
        "the satellite's FAPI host cannot reach the primary's cookie"
    );

    let (status, uat, body) = client_on_the_primary(&browser).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["response"]["sessions"].as_array().unwrap().is_empty(),
        "{body}"
    );
    assert_eq!(uat.len(), 2, "plain and suffixed: {uat:?}");
    for c in &uat {
        assert!(c.contains("=0;"), "{c}");
        assert!(
            c.contains("Domain=primary.test") && c.contains("Secure"),
            "{c}"
        );
    }
    assert_eq!(
        cookie_in(&browser.jar, "https://primary.test/", "__client_uat").as_deref(),
        Some("0")
    );
    // Now the cookie agrees: nothing more is set.
    let (_, uat, _) = client_on_the_primary(&browser).await;
    assert!(uat.is_empty(), "{uat:?}");
}
