//! Cookies under attack (docs/design/sessions-and-tokens.md): a client planted before sign-in
//! (session fixation across linked hosts and development browsers), cookies tossed from a
//! sibling or parent domain, and how far session tokens reach.

use crate::harness::*;
use crate::world::*;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::StatusCode;
use serde_json::Value;
use std::sync::Arc;
use url::Url;

const PRIMARY_FAPI: &str = "https://clerk.primary.test";
const SAT_FAPI: &str = "https://clerk.satellite.test";

/// A satellite handshake that asks for a sync, resolved as the satellite's app does.
async fn sync_satellite(world: &ProdWorld, browser: &WorldBrowser) -> (Vec<Hop>, AppView) {
    world
        .handshake_and_resolve(
            browser,
            "clerk.satellite.test",
            "https://satellite.test/?__clerk_synced=false",
            "satellite-needs-syncing",
        )
        .await
}

/// A token refresh on the satellite (no sync asked for), resolved as its app does.
async fn refresh_on_satellite(world: &ProdWorld, browser: &WorldBrowser) -> (Vec<Hop>, AppView) {
    world
        .handshake_and_resolve(
            browser,
            "clerk.satellite.test",
            "https://satellite.test/orders",
            "session-token-expired-refresh-non-eligible-no-refresh-cookie",
        )
        .await
}

/// The active session ids of `user_id` (BAPI).
async fn active_sessions(world: &ProdWorld, user_id: &str) -> Vec<String> {
    let (status, sessions) = world
        .backend()
        .get(&format!("/v1/sessions?user_id={user_id}&status=active"))
        .await;
    assert_eq!(status, StatusCode::OK, "{sessions}");
    sessions
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Signs the browser's client out from the primary's app (`DELETE /v1/client/sessions`).
async fn sign_out_on_primary(browser: &WorldBrowser) {
    let r = browser
        .http
        .delete(format!("{PRIMARY_FAPI}/v1/client/sessions"))
        .header("origin", "https://primary.test")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_client_planted_before_sign_in_carries_no_session_to_linked_hosts() {
    let world = ProdWorld::start().await;
    world.add_satellite("satellite.test", true).await;
    let victim_user = world
        .backend()
        .create_user("victim@example.com", GOOD_PASSWORD)
        .await;
    let victim_id = victim_user["id"].as_str().unwrap();

    // The attacker gets a client on the primary and links the satellite's host to it. A visit
    // gets no client (clients are created lazily) and a signed-out sync links nothing, so the
    // attacker signs in to an account of their own first.
    let (attacker, mallory_id) = world.signed_in_browser("mallory@example.com").await;
    let (hops, view) = sync_satellite(&world, &attacker).await;
    assert_eq!(hops.len(), 3, "{hops:#?}");
    assert_eq!(view.claims.unwrap()["sub"], mallory_id);
    // Signed out again (the sign-in page would otherwise greet the victim as the attacker),
    // the client and its tokens on both hosts live on.
    sign_out_on_primary(&attacker).await;
    let planted = attacker
        .cookie(&format!("{PRIMARY_FAPI}/"), "__Host-client")
        .expect("the attacker's client on the primary");
    assert!(attacker
        .cookie(&format!("{SAT_FAPI}/"), "__Host-client")
        .is_some());

    // ... plants the primary's cookie in the victim's browser, and the victim signs in.
    let victim = world.browser();
    victim.jar.add_cookie_str(
        &format!("__Host-client={planted}; Path=/; Secure; HttpOnly; SameSite=Lax"),
        &Url::parse(PRIMARY_FAPI).unwrap(),
    );
    victim.sign_in("victim@example.com").await;
    let own = victim.cookie(&format!("{PRIMARY_FAPI}/"), "__Host-client");
    assert!(own.is_some() && own.as_deref() != Some(planted.as_str()));
    let sessions = active_sessions(&world, victim_id).await;
    assert_eq!(sessions.len(), 1);
    let sid = &sessions[0];

    // The attacker's tokens, on the satellite and on the primary, stand for nothing now: they
    // mint no token for the victim's session...
    for (fapi, origin) in [
        (SAT_FAPI, "https://satellite.test"),
        (PRIMARY_FAPI, "https://primary.test"),
    ] {
        let r = attacker
            .http
            .post(format!("{fapi}/v1/client/sessions/{sid}/tokens"))
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{fapi}");
    }
    // ... and the satellite's handshake does not hand the victim's session to the attacker's
    // browser: its host has to sync again, and the attacker's browser is signed out.
    let (hops, view) = refresh_on_satellite(&world, &attacker).await;
    assert_eq!(hops.len(), 3, "{hops:#?}");
    assert!(view.claims.is_none(), "{:?}", view.claims);
    let (_, view) = world.refresh_on_primary(&attacker).await;
    assert!(view.claims.is_none(), "{:?}", view.claims);

    // The victim is signed in on the primary's app, and on the satellite's after a sync.
    let (_, view) = world.refresh_on_primary(&victim).await;
    assert_eq!(view.claims.unwrap()["sub"], victim_id);
    let (_, view) = sync_satellite(&world, &victim).await;
    assert_eq!(view.claims.unwrap()["sub"], victim_id);
    assert_eq!(
        active_sessions(&world, victim_id).await,
        std::slice::from_ref(sid)
    );
}

#[tokio::test]
async fn after_sign_in_on_the_primary_a_linked_satellite_syncs_again() {
    let world = ProdWorld::start().await;
    world.add_satellite("satellite.test", true).await;
    let user = world
        .backend()
        .create_user("ada@example.com", GOOD_PASSWORD)
        .await;
    // Visited signed out: the sync links the satellite's host to nothing (no client is created
    // for a visit), so its next handshake syncs again.
    let browser = world.browser();
    let (_, view) = sync_satellite(&world, &browser).await;
    assert!(view.claims.is_none());
    let (hops, view) = refresh_on_satellite(&world, &browser).await;
    assert_eq!(hops.len(), 3, "not linked: syncs again: {hops:#?}");
    assert!(view.claims.is_none());

    // Signed in and synced: the satellite's host is linked, handshakes are answered at once.
    browser.sign_in("ada@example.com").await;
    let (hops, view) = refresh_on_satellite(&world, &browser).await;
    assert_eq!(hops.len(), 3, "{hops:#?}");
    assert_eq!(view.claims.unwrap()["sub"], user["id"]);
    let (hops, _) = refresh_on_satellite(&world, &browser).await;
    assert_eq!(hops.len(), 1, "linked: answered at once: {hops:#?}");

    // Signing in again on the primary (after signing out) retires that client: the
    // satellite's next handshake syncs (three hops) and finds the new session.
    sign_out_on_primary(&browser).await;
    browser.sign_in("ada@example.com").await;
    let (hops, view) = refresh_on_satellite(&world, &browser).await;
    assert_eq!(hops.len(), 3, "{hops:#?}");
    assert_eq!(view.claims.unwrap()["sub"], user["id"]);
    let (hops, view) = refresh_on_satellite(&world, &browser).await;
    assert_eq!(hops.len(), 1, "{hops:#?}");
    assert_eq!(view.claims.unwrap()["sub"], user["id"]);
}

/// A browser on the development server whose cookies live in `jar`.
fn browser_with_jar(server: &TestServer, jar: Arc<Jar>) -> Browser {
    Browser {
        http: reqwest::Client::builder()
            .cookie_provider(jar)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        origin: server.base.clone(),
    }
}

/// The session token a development handshake hands out for the development browser `dvb`.
async fn session_for_dev_browser(server: &TestServer, dvb: &str) -> Option<String> {
    let directives = server.dev_browser_handshake(dvb).await;
    directive_value(&directives, "__session=").filter(|t| !t.is_empty())
}

/// `POST /v1/dev_browser` from the app's origin by `browser`: the development browser token.
async fn dev_browser_of(server: &TestServer, browser: &Browser) -> String {
    let r = browser
        .http
        .post(server.url("/v1/dev_browser"))
        .header("origin", "http://localhost:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn development_browsers_of_a_planted_client_die_at_sign_in() {
    let server = TestServer::start().await;
    let victim_id = server
        .create_user("victim@example.com", GOOD_PASSWORD)
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server
        .create_user("mallory@example.com", GOOD_PASSWORD)
        .await;
    // A visit gets no client (clients are created lazily), so the attacker signs in to an
    // account of their own for one: a `__client` cookie, and a development browser for that
    // client. Then signs out, keeping both.
    let jar = Arc::new(Jar::default());
    let attacker = browser_with_jar(&server, jar.clone());
    let r = attacker.sign_in("mallory@example.com", GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let dvb = dev_browser_of(&server, &attacker).await;
    let client_cookie = jar
        .cookies(&Url::parse(&server.base).unwrap())
        .unwrap()
        .to_str()
        .unwrap()
        .split("; ")
        .find(|c| c.starts_with("__client="))
        .expect("a __client cookie")
        .to_owned();
    let r = attacker
        .http
        .delete(server.url("/v1/client/sessions"))
        .header("origin", server.base.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(session_for_dev_browser(&server, &dvb).await, None);

    // The client's cookie is planted in the victim's browser, who signs in.
    let jar = Arc::new(Jar::default());
    jar.add_cookie_str(&client_cookie, &Url::parse(&server.base).unwrap());
    let victim = browser_with_jar(&server, jar);
    let r = victim.sign_in("victim@example.com", GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let (_, sessions) = server
        .backend()
        .get(&format!("/v1/sessions?user_id={victim_id}&status=active"))
        .await;
    assert_eq!(sessions.as_array().unwrap().len(), 1, "{sessions}");

    // The attacker's development browser does not carry the victim's session.
    assert_eq!(session_for_dev_browser(&server, &dvb).await, None);
}

/// A development browser of no client (what a visit gets) is never bound to the client of a
/// browser that brings it along: a link can carry anyone's token.
#[tokio::test]
async fn a_development_browser_of_no_client_is_never_bound_to_a_victims_client() {
    let server = TestServer::start().await;
    server
        .create_user("victim@example.com", GOOD_PASSWORD)
        .await;
    let dvb = dev_browser_of(&server, &server.browser()).await;
    assert_eq!(session_for_dev_browser(&server, &dvb).await, None);

    // The victim, signed in, follows the attacker's link to a development handshake that
    // carries the attacker's development browser.
    let victim = server.browser();
    let r = victim.sign_in("victim@example.com", GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let directives = server.dev_browser_handshake_by(&victim, &dvb).await;
    // The victim's app is signed in with a development browser of the victim's own...
    assert!(directive_value(&directives, "__session=").is_some_and(|t| !t.is_empty()));
    let own = directive_value(&directives, "__clerk_db_jwt=").unwrap();
    assert_ne!(own, dvb);
    assert!(session_for_dev_browser(&server, &own).await.is_some());
    // ... and the attacker's still stands for nothing.
    assert_eq!(session_for_dev_browser(&server, &dvb).await, None);
}

/// `Set-Cookie` values of `r` whose name is `name`.
fn set_cookies_named(r: &reqwest::Response, name: &str) -> Vec<String> {
    let prefix = format!("{name}=");
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .filter(|c| c.starts_with(&prefix))
        .collect()
}

fn assert_host_cookie(c: &str) {
    assert!(
        c.contains("; Path=/;") && c.contains("; Secure") && c.contains("; HttpOnly"),
        "{c}"
    );
    assert!(!c.contains("Domain="), "{c}");
}

#[tokio::test]
async fn on_https_orbits_own_cookies_are_host_prefixed() {
    let world = ProdWorld::start().await;
    world.add_satellite("satellite.test", true).await;
    world
        .backend()
        .create_user("ada@example.com", GOOD_PASSWORD)
        .await;
    let browser = world.browser();
    let page = browser
        .http
        .get(format!("{PRIMARY_FAPI}/sign-in"))
        .send()
        .await
        .unwrap();
    let csrf = set_cookies_named(&page, "__Host-orbit_csrf");
    assert_eq!(csrf.len(), 1, "{:?}", page.headers());
    assert_host_cookie(&csrf[0]);
    assert!(set_cookies_named(&page, "__orbit_csrf").is_empty());

    let fields = [
        ("email_address", "ada@example.com"),
        ("password", GOOD_PASSWORD),
    ];
    let r = submit_portal_form(&browser.http, PRIMARY_FAPI, "/sign-in", &fields).await;
    let client = set_cookies_named(&r, "__Host-client");
    assert_eq!(client.len(), 1, "{:?}", r.headers());
    assert_host_cookie(&client[0]);
    assert!(set_cookies_named(&r, "__client").is_empty());

    // The sync state and the satellite's own client cookie too.
    let (hops, view) = sync_satellite(&world, &browser).await;
    assert!(view.claims.is_some());
    assert_host_cookie(hops[0].set_cookie("__Host-orbit_sync"));
    assert_host_cookie(hops[2].set_cookie("__Host-client"));
    assert!(hops[2]
        .set_cookie("__Host-orbit_sync")
        .contains("Max-Age=0"));
}

#[tokio::test]
async fn a_tossed_client_cookie_is_never_read() {
    let world = ProdWorld::start().await;
    let (attacker, _) = world.signed_in_browser("mallory@example.com").await;
    let attackers = attacker
        .cookie(&format!("{PRIMARY_FAPI}/"), "__Host-client")
        .unwrap();
    world
        .backend()
        .create_user("ada@example.com", GOOD_PASSWORD)
        .await;

    // A host under the parent domain sets the plain name for the whole domain: the FAPI host
    // reads only its `__Host-` cookie on https, so the victim is not signed in as the attacker.
    let victim = world.browser();
    victim.jar.add_cookie_str(
        &format!("__client={attackers}; Path=/; Domain=primary.test; Secure"),
        &Url::parse("https://blog.primary.test/").unwrap(),
    );
    assert!(victim
        .cookie(&format!("{PRIMARY_FAPI}/"), "__client")
        .is_some());
    let profile = victim.get(&format!("{PRIMARY_FAPI}/user")).await;
    assert_eq!(profile.status, StatusCode::SEE_OTHER, "{}", profile.body);
    assert!(profile.location.unwrap().contains("/sign-in"));

    // Signed in, the victim's own cookie is the one read.
    victim.sign_in("ada@example.com").await;
    let profile = victim.get(&format!("{PRIMARY_FAPI}/user")).await;
    assert_eq!(profile.status, StatusCode::OK);
    assert!(profile.body.contains("ada@example.com"));
    assert!(!profile.body.contains("mallory@example.com"));

    // Two cookies of one name (which a browser never sends for a `__Host-` name unless
    // something is wrong) are no cookie: neither is picked.
    let own = victim
        .cookie(&format!("{PRIMARY_FAPI}/"), "__Host-client")
        .unwrap();
    assert_a_repeated_cookie_is_no_cookie(
        &world.browser().http,
        &format!("{PRIMARY_FAPI}/user"),
        "__Host-client",
        &own,
        &attackers,
    )
    .await;
}

/// The profile page at `url` shows the signed-in user with `own` as the cookie `name`, and
/// nobody's (303 to sign-in) when `planted` comes along under the same name, in either order.
async fn assert_a_repeated_cookie_is_no_cookie(
    http: &reqwest::Client,
    url: &str,
    name: &str,
    own: &str,
    planted: &str,
) {
    let status = async |cookie: String| {
        let r = http
            .get(url)
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        (r.status(), cookie)
    };
    let (alone, c) = status(format!("{name}={own}")).await;
    assert_eq!(alone, StatusCode::OK, "{c}");
    for both in [
        format!("{name}={planted}; {name}={own}"),
        format!("{name}={own}; {name}={planted}"),
    ] {
        let (got, c) = status(both).await;
        assert_eq!(got, StatusCode::SEE_OTHER, "{c}");
    }
}

#[tokio::test]
async fn on_http_a_repeated_client_cookie_is_no_cookie() {
    let server = TestServer::start().await;
    server.create_user("ada@example.com", GOOD_PASSWORD).await;
    server
        .create_user("mallory@example.com", GOOD_PASSWORD)
        .await;
    let token_of = async |email: &str| {
        let r = server.browser().sign_in(email, GOOD_PASSWORD).await;
        let c = r
            .set_cookies()
            .into_iter()
            .find(|c| c.starts_with("__client="))
            .unwrap();
        c.split(';').next().unwrap()["__client=".len()..].to_owned()
    };
    let own = token_of("ada@example.com").await;
    let planted = token_of("mallory@example.com").await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    assert_a_repeated_cookie_is_no_cookie(&http, &server.url("/user"), "__client", &own, &planted)
        .await;
}

#[tokio::test]
async fn session_tokens_stay_on_the_apps_host() {
    let world = ProdWorld::start().await;
    world.add_satellite("satellite.test", true).await;
    let (browser, user_id) = world.signed_in_browser("ada@example.com").await;

    let (hops, view) = world.refresh_on_primary(&browser).await;
    assert_eq!(view.claims.as_ref().unwrap()["sub"], user_id);
    // The nonce cookie FAPI sets is on the app's domain; the directives put the session token
    // host-only on the app's host and `__client_uat` on the registrable domain.
    assert!(hops[0]
        .set_cookie("__clerk_handshake_nonce")
        .contains("Domain=primary.test"));
    let fresh: Vec<&String> = view
        .directives
        .iter()
        .filter(|d| d.starts_with("__session=") && !d.starts_with("__session=;"))
        .collect();
    assert_eq!(fresh.len(), 1, "{:?}", view.directives);
    assert!(!fresh[0].contains("Domain="), "{}", fresh[0]);
    assert!(view
        .directives
        .iter()
        .any(|d| d.starts_with("__client_uat=") && d.contains("Domain=primary.test")));

    // In the browser's jar: the app's host has the token, its sibling hosts do not.
    let token = browser.cookie("https://primary.test/", "__session");
    assert!(token.is_some_and(|t| !t.is_empty()));
    for sibling in ["https://blog.primary.test/", "https://status.primary.test/"] {
        assert_eq!(browser.cookie(sibling, "__session"), None, "{sibling}");
    }

    // The same on a satellite.
    let (_, view) = sync_satellite(&world, &browser).await;
    assert_eq!(view.claims.unwrap()["sub"], user_id);
    assert!(browser
        .cookie("https://satellite.test/", "__session")
        .is_some_and(|t| !t.is_empty()));
    assert_eq!(
        browser.cookie("https://shop.satellite.test/", "__session"),
        None
    );
}
