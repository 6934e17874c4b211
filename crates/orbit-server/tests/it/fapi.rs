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
    let r = reqwest::Client::new().post(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Another browser cannot mint tokens for this session.
    let other = server.browser();
    server.create_user("eve@example.com", GOOD_PASSWORD).await;
    other.sign_in("eve@example.com", GOOD_PASSWORD).await;
    let r = other.http.post(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // After sign-out the session is gone for this browser too.
    browser
        .submit(&server.url("/sign-out"), &server.url("/sign-out"), &[])
        .await;
    let r = browser.http.post(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn jwks_shape_and_unknown_hosts() {
    let server = TestServer::start().await;
    let r = reqwest::get(server.url("/.well-known/jwks.json"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
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
    let url = server.url(&format!("/v1/client/sessions/{sid}/tokens"));
    let jwks = server.jwks().await;
    let mint = || async {
        let r = browser.http.post(&url).send().await.unwrap();
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
    let r = browser.http.post(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
