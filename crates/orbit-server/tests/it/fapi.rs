//! Frontend API over HTTP: JWKS, session tokens for the browser's own session, host routing.

use crate::bapi::verify_with_jwks;
use crate::harness::*;
use orbit_core::clock::{Clock, ManualClock, SystemClock, DAY, MINUTE};
use reqwest::StatusCode;
use serde_json::Value;

async fn signed_in_browser(server: &TestServer) -> (Browser, String) {
    server.create_user("ada@example.com", GOOD_PASSWORD).await;
    let b = server.browser();
    let r = b.sign_in("ada@example.com", GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let sessions = server.sessions_of_the_user("&status=active").await;
    (b, sessions[0]["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn tokens_for_the_clients_own_session_only() {
    let server = TestServer::start().await;
    let (browser, sid) = signed_in_browser(&server).await;
    let url = server.url(&format!("/v1/client/sessions/{sid}/tokens"));

    let post_from = async |origin: &str| {
        browser
            .http
            .post(&url)
            .header("origin", origin)
            .send()
            .await
            .unwrap()
    };
    let r = post_from("http://localhost:3000").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
    assert_eq!(r.headers()["access-control-allow-credentials"], "true");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let token: Value = r.json().await.unwrap();
    let jwks = server.jwks().await;
    let (_, claims) = verify_with_jwks(token["jwt"].as_str().unwrap(), &jwks);
    assert_eq!(claims["azp"], "http://localhost:3000");
    assert_eq!(claims["sid"], sid);

    // Foreign origins get nothing.
    let r = post_from("https://evil.example").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get("access-control-allow-origin").is_none());
    // Without the browser's cookie there is no client.
    let r = server.browser().mint(&server.base, &sid).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Another browser cannot mint tokens for this session.
    let other = server.browser();
    server.create_user("eve@example.com", GOOD_PASSWORD).await;
    other.sign_in("eve@example.com", GOOD_PASSWORD).await;
    let r = other.mint(&server.base, &sid).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // After sign-out the session is gone for this browser too.
    browser
        .submit(&server.url("/sign-out"), &server.url("/sign-out"), &[])
        .await;
    let r = browser.mint(&server.base, &sid).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// Every FAPI POST (and the sign-out DELETE) needs an `Origin` of the instance: without one,
/// with `null` or with a foreign one it is refused with Clerk's error shape, changes nothing and
/// grants no CORS.
#[tokio::test]
async fn fapi_posts_need_an_allowed_origin() {
    let server = TestServer::start().await;
    let (browser, sid) = signed_in_browser(&server).await;
    let endpoints = [
        (
            reqwest::Method::POST,
            format!("/v1/client/sessions/{sid}/tokens"),
        ),
        (
            reqwest::Method::POST,
            format!("/v1/client/sessions/{sid}/end"),
        ),
        (reqwest::Method::DELETE, "/v1/client/sessions".to_owned()),
        (reqwest::Method::POST, "/v1/dev_browser".to_owned()),
    ];
    let refusals = [
        (None, "no Origin header"),
        (Some("null"), "Origin is null"),
        (Some("https://evil.example"), "https://evil.example is not"),
        // Same host, other scheme: not this FAPI origin.
        (Some("https://127.0.0.1"), "https://127.0.0.1 is not"),
    ];
    for (method, path) in &endpoints {
        for (origin, says) in refusals {
            let mut req = browser.http.request(method.clone(), server.url(path));
            if let Some(o) = origin {
                req = req.header("origin", o);
            }
            let r = req.send().await.unwrap();
            assert_eq!(
                r.status(),
                StatusCode::FORBIDDEN,
                "{method} {path} {origin:?}"
            );
            assert!(r.headers().get("access-control-allow-origin").is_none());
            assert!(r.headers().get("set-cookie").is_none(), "{path} {origin:?}");
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["errors"][0]["code"], "origin_invalid", "{body}");
            let long = body["errors"][0]["long_message"].as_str().unwrap();
            assert!(long.contains(says), "{path} {origin:?}: {long}");
            assert!(body["clerk_trace_id"].is_string(), "{body}");
        }
    }
    // Nothing was ended: the session still mints from the FAPI host itself and from the app.
    for origin in [server.base.as_str(), "http://localhost:3000"] {
        let r = browser.mint_as(&server.base, &sid, origin).await;
        assert_eq!(r.status(), StatusCode::OK, "{origin}");
        let jwt = r.json::<Value>().await.unwrap()["jwt"]
            .as_str()
            .unwrap()
            .to_owned();
        let (_, claims) = verify_with_jwks(&jwt, &server.jwks().await);
        assert_eq!(claims["azp"], origin);
    }
}

#[tokio::test]
async fn jwks_shape_and_unknown_hosts() {
    let server = TestServer::start().await;
    let r = reqwest::get(server.url("/.well-known/jwks.json"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // An HTTP cache may keep it 5 s, which the publish lead of a rotated key includes.
    assert_eq!(r.headers()["cache-control"], "public, max-age=5");
    let jwks: Value = r.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let k = &keys[0];
    assert_eq!(
        (
            k["kty"].as_str(),
            k["use"].as_str(),
            k["alg"].as_str(),
            k["e"].as_str()
        ),
        (Some("RSA"), Some("sig"), Some("RS256"), Some("AQAB"))
    );
    assert!(k["kid"].as_str().unwrap().len() > 8);

    // A Host no instance serves is a 404 that says so.
    let at_unknown_host = async |path: &str| {
        reqwest::Client::new()
            .get(server.url(path))
            .header("host", "clerk.unknown.example")
            .send()
            .await
            .unwrap()
    };
    let r = at_unknown_host("/.well-known/jwks.json").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "host_not_found");
    assert!(body["errors"][0]["long_message"]
        .as_str()
        .unwrap()
        .contains("clerk.unknown.example"));
    assert_eq!(
        at_unknown_host("/sign-in").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn data_survives_a_restart() {
    let server = TestServer::start().await;
    let user = server.create_user("ada@example.com", GOOD_PASSWORD).await;
    let pk = server.publishable_key.clone();
    let jwks_before = server.jwks().await;
    let server = server.restart().await;
    assert_eq!(server.publishable_key, pk, "keys are persisted");
    let (s, got) = server
        .backend()
        .get(&format!("/v1/users/{}", user["id"].as_str().unwrap()))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got["id"], user["id"]);
    // The instance's FAPI host is fixed at creation; the restarted server listens elsewhere
    // but the signing key is the same one.
    let jwks_after = server.backend().get("/v1/jwks").await.1;
    assert_eq!(jwks_after, jwks_before);
}

#[tokio::test]
async fn the_server_runs_on_the_clock_it_is_given() {
    // Starts at the real time: the browser's cookie jar still expires cookies on real time.
    let clock = ManualClock::new(SystemClock.now_ms());
    let server = TestServer::start_with_clock(&clock).await;
    let (browser, sid) = signed_in_browser(&server).await;
    let jwks = server.jwks().await;
    let mint = || async {
        let r = browser.mint(&server.base, &sid).await;
        assert_eq!(r.status(), StatusCode::OK);
        let token: Value = r.json().await.unwrap();
        verify_with_jwks(token["jwt"].as_str().unwrap(), &jwks).1
    };

    let claims = mint().await;
    assert_eq!(claims["iat"], clock.now_secs());
    assert_eq!(claims["exp"], clock.now_secs() + 60);
    let first_iat = clock.now_secs();

    clock.advance_ms(10 * MINUTE);
    let claims = mint().await;
    assert_eq!(claims["iat"], first_iat + 600);
    assert_eq!(claims["exp"], first_iat + 660);
    let (status, session) = server.backend().get(&format!("/v1/sessions/{sid}")).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["status"], "active");

    // Seven days without a token refresh: the session has expired, over HTTP too.
    clock.advance_ms(7 * DAY);
    let (status, session) = server.backend().get(&format!("/v1/sessions/{sid}")).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["status"], "expired");
    let r = browser.mint(&server.base, &sid).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// Rows in the server's database, by table, read through a second handle on its file.
pub async fn row_counts(server: &TestServer) -> std::collections::BTreeMap<String, i64> {
    let db = server.dir.path().join("orbit.db");
    let store = orbit_storage::SqliteStore::open(&db).await.unwrap();
    let counts = store.row_counts().await.unwrap();
    store.close().await;
    counts
}

#[tokio::test]
async fn dev_browsers_need_an_allowed_origin() {
    let server = TestServer::start().await;
    let url = server.url("/v1/dev_browser");
    let before = row_counts(&server).await;
    for origin in [None, Some("https://evil.example"), Some("null")] {
        let b = server.browser();
        let mut req = b.http.post(&url);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{origin:?}");
        assert!(r.headers().get("set-cookie").is_none(), "{origin:?}");
        assert!(r.headers().get("access-control-allow-origin").is_none());
    }
    assert_eq!(row_counts(&server).await, before);
    // clerk-js posts from the app's origin, which the instance allows; the FAPI host itself too.
    for origin in ["http://localhost:3000", server.base.as_str()] {
        let r = server
            .browser()
            .http
            .post(&url)
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{origin}");
        assert_eq!(r.headers()["access-control-allow-origin"], origin);
        let body: Value = r.json().await.unwrap();
        assert!(body["id"].as_str().unwrap().starts_with("dvb_"), "{body}");
    }
}

#[tokio::test]
async fn dev_browsers_expire_after_thirty_days_unused() {
    use crate::world::directive_value;
    let clock = ManualClock::new(SystemClock.now_ms());
    let server = TestServer::start_with_clock(&clock).await;
    let r = server.dev_browser_from_the_app().await;
    let dvb = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The app's handshake, from a browser without cookies: the development browser token alone
    // names the client, and the answer keeps the token while it is alive.
    let handshake_dev_browser = async || {
        let directives = server.dev_browser_handshake(&dvb).await;
        directive_value(&directives, "__clerk_db_jwt=").unwrap()
    };
    assert_eq!(handshake_dev_browser().await, dvb);
    // Used within 30 days, it lives on: the lifetime counts from the last use.
    clock.advance_ms(29 * DAY);
    assert_eq!(handshake_dev_browser().await, dvb);
    clock.advance_ms(29 * DAY);
    assert_eq!(handshake_dev_browser().await, dvb);
    // Thirty days unused: it stands for nothing, the app gets a new one, and housekeeping
    // deletes it.
    clock.advance_ms(30 * DAY);
    assert_ne!(handshake_dev_browser().await, dvb);
    let before = row_counts(&server).await["dev_browsers"];
    assert!(server.orbit().prune_dev_browsers().await.unwrap() >= 1);
    assert!(row_counts(&server).await["dev_browsers"] < before);
}
