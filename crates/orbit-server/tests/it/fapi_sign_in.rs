//! Sign-in through the Frontend API as clerk-js drives it (docs/design/frontend-api.md
//! "Sign-in"), and every hostile variant: other browsers' attempts, replays, races, expiry,
//! enumeration, limits, foreign origins.

use crate::bapi::verify_with_jwks;
use crate::fapi::row_counts;
use crate::fapi_clerkjs::{Answer, ClerkJs, APP};
use crate::harness::*;
use orbit_core::clock::{Clock, ManualClock, SystemClock, MINUTE};
use reqwest::header::{COOKIE, ORIGIN};
use reqwest::StatusCode;
use serde_json::Value;

const ADA: &str = "ada@example.com";

/// The value of the cookie `name` the answer sets (`None` when it sets none).
fn set_cookie(r: &Answer, name: &str) -> Option<String> {
    r.set_cookies()
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
}

/// `POST /v1/client/sign_ins` with `identifier`, as `SignInStart.tsx` sends it.
async fn start(js: &ClerkJs, identifier: &str) -> Answer {
    js.post(
        "/client/sign_ins",
        &[("identifier", identifier), ("locale", "en-US")],
    )
    .await
}

async fn password(js: &ClerkJs, sign_in: &str, password: &str) -> Answer {
    js.post(
        &format!("/client/sign_ins/{sign_in}/attempt_first_factor"),
        &[("strategy", "password"), ("password", password)],
    )
    .await
}

fn id_of(r: &Answer) -> String {
    r.body["response"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn sign_in_as_clerk_js_does_it() {
    let server = TestServer::start().await;
    server.create_user(ADA, GOOD_PASSWORD).await;
    let js = ClerkJs::new(&server, APP);

    let r = start(&js, ADA).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.cors(), Some(APP));
    let sign_in = &r.body["response"];
    assert_eq!(sign_in["object"], "sign_in_attempt");
    assert_eq!(sign_in["status"], "needs_first_factor");
    assert_eq!(sign_in["identifier"], ADA);
    assert_eq!(
        sign_in["supported_first_factors"],
        serde_json::json!([{"strategy": "password"}])
    );
    assert!(sign_in["id"].as_str().unwrap().starts_with("sia_"));
    // No client yet: the attempt travels in a client without an id, and the attempt is bound
    // to this browser by a cookie of its own.
    assert_eq!(r.body["client"]["id"], "");
    assert_eq!(r.body["client"]["sign_in"]["id"], sign_in["id"]);
    let bound = set_cookie(&r, "__orbit_sign_in").expect("the attempt's cookie");
    assert!(
        bound.contains("HttpOnly") && bound.contains("Max-Age=1800"),
        "{bound}"
    );
    assert!(
        set_cookie(&r, "__client").is_none(),
        "no client before the password"
    );
    // The browser's client shows the attempt in progress (a reload on the password page).
    let r2 = js.get("/client").await;
    assert_eq!(r2.body["response"]["sign_in"]["id"], sign_in["id"]);

    let id = id_of(&r);
    let r = password(&js, &id, GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let done = &r.body["response"];
    assert_eq!(done["status"], "complete");
    assert_eq!(done["first_factor_verification"]["status"], "verified");
    let sid = done["created_session_id"].as_str().unwrap();
    // The piggybacked client already holds the session, active (clerk-js's setActive looks it
    // up there), with a token for the page.
    let client = &r.body["client"];
    assert!(client["id"].as_str().unwrap().starts_with("client_"));
    assert_eq!(client["last_active_session_id"], sid);
    assert_eq!(client["sessions"][0]["id"], sid);
    assert_eq!(client["sessions"][0]["status"], "active");
    let jwt = client["sessions"][0]["last_active_token"]["jwt"]
        .as_str()
        .unwrap();
    let (_, claims) = verify_with_jwks(jwt, &server.jwks().await);
    assert_eq!(
        (claims["sid"].as_str(), claims["azp"].as_str()),
        (Some(sid), Some(APP))
    );
    // The browser's new client, its device, and the attempt's cookie cleared.
    assert!(
        set_cookie(&r, "__client").is_some(),
        "{:?}",
        r.set_cookies()
    );
    assert!(set_cookie(&r, "__orbit_device").is_some());
    assert!(set_cookie(&r, "__orbit_sign_in")
        .unwrap()
        .contains("Max-Age=0"));
    // Signed in for every later call.
    let r = js
        .post(&format!("/client/sessions/{sid}/tokens"), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = js.get("/client").await;
    assert_eq!(r.body["response"]["sessions"][0]["id"], sid);
    assert_eq!(r.body["response"]["sign_in"], Value::Null);

    // Signing in again (another account) starts on a fresh client and ends the first session.
    server.create_user("bea@example.com", GOOD_PASSWORD).await;
    let first_client = r.body["response"]["id"].clone();
    let r = start(&js, "bea@example.com").await;
    assert_eq!(r.body["client"]["id"], first_client, "the browser's client");
    let r = password(&js, &id_of(&r), GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_ne!(r.body["client"]["id"], first_client);
    assert_eq!(r.body["client"]["sessions"].as_array().unwrap().len(), 1);
    let r = js
        .post(&format!("/client/sessions/{sid}/tokens"), &[])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "the first session ended");
}

#[tokio::test]
async fn a_filled_in_password_signs_in_at_the_first_step() {
    let server = TestServer::start().await;
    server.create_user(ADA, GOOD_PASSWORD).await;
    let js = ClerkJs::new(&server, APP);
    let with = async |pw: &str| {
        js.post(
            "/client/sign_ins",
            &[
                ("identifier", ADA),
                ("password", pw),
                ("strategy", "password"),
            ],
        )
        .await
    };
    // Wrong: the code `SignInStart.tsx` answers by asking for the identifier alone.
    let r = with("wrong password").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.error_code(), "form_password_incorrect");
    let r = with(GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["response"]["status"], "complete");
    assert!(set_cookie(&r, "__client").is_some());
}

/// Enumeration: the identifier step answers known and unknown addresses alike, and the password
/// step fails for both with one code and one message.
#[tokio::test]
async fn known_and_unknown_identifiers_get_the_same_answers() {
    let server = TestServer::start().await;
    server.create_user(ADA, GOOD_PASSWORD).await;
    let js = ClerkJs::new(&server, APP);
    let known = start(&js, ADA).await;
    let unknown = start(&js, "nobody@example.com").await;
    // The same, but for the attempt's own id, time and identifier.
    let strip = |r: &Answer| {
        let mut v = r.body.clone();
        for path in [&["response"][..], &["client", "sign_in"][..]] {
            let mut s = &mut v;
            for p in path {
                s = &mut s[*p];
            }
            s["id"] = Value::Null;
            s["abandon_at"] = Value::Null;
            s["identifier"] = Value::Null;
        }
        v["client"]["created_at"] = Value::Null;
        v["client"]["updated_at"] = Value::Null;
        v
    };
    assert_eq!(known.status, unknown.status);
    assert_eq!(strip(&known), strip(&unknown));
    assert_eq!(
        known.body["response"]["user_data"]["first_name"],
        Value::Null
    );

    let wrong = password(&js, &id_of(&known), "wrong password").await;
    let nobody = password(&js, &id_of(&unknown), GOOD_PASSWORD).await;
    // The second attempt is the one whose cookie the browser holds now; the first is refused
    // as another browser's would be. Use one browser per attempt instead.
    assert_eq!(wrong.status, StatusCode::NOT_FOUND, "{}", wrong.body);
    assert_eq!(
        nobody.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        nobody.body
    );
    let js_known = ClerkJs::new(&server, APP);
    let wrong = password(
        &js_known,
        &id_of(&start(&js_known, ADA).await),
        "wrong password",
    )
    .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.body
    );
    let without_trace = |r: &Answer| {
        let mut v = r.body.clone();
        v["clerk_trace_id"] = Value::Null;
        v
    };
    assert_eq!(without_trace(&wrong), without_trace(&nobody));
    assert_eq!(wrong.error_code(), "form_password_incorrect");
    assert_eq!(wrong.body["errors"][0]["meta"]["param_name"], "password");
    assert_eq!(wrong.cors(), Some(APP), "clerk-js must read the error");
}

#[tokio::test]
async fn a_wrong_password_leaves_the_attempt_open() {
    let server = TestServer::start().await;
    server.create_user(ADA, GOOD_PASSWORD).await;
    let js = ClerkJs::new(&server, APP);
    let id = id_of(&start(&js, ADA).await);
    let r = password(&js, &id, "wrong password").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = password(&js, &id, GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["response"]["status"], "complete");
}

#[tokio::test]
async fn malformed_sign_ins_are_refused_and_store_nothing() {
    let server = TestServer::start().await;
    server.create_user(ADA, GOOD_PASSWORD).await;
    let js = ClerkJs::new(&server, APP);
    let before = row_counts(&server).await;
    for (form, code) in [
        (vec![("locale", "en")], "form_param_missing"),
        (vec![("identifier", "")], "form_param_missing"),
        (
            vec![("identifier", ADA), ("strategy", "email_code")],
            "strategy_for_user_invalid",
        ),
    ] {
        let r = js.post("/client/sign_ins", &form).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{form:?}: {}",
            r.body
        );
        assert_eq!(r.error_code(), code, "{form:?}");
    }
    // From another site, or without Origin: refused before anything is stored.
    let evil = ClerkJs::new(&server, "https://evil.example");
    let r = start(&evil, ADA).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.cors(), None);
    let r = js
        .send(
            js.http
                .post(js.url("/client/sign_ins"))
                .form(&[("identifier", ADA)]),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(row_counts(&server).await, before);

    // The password step without a strategy, with another one, without a password.
    let id = id_of(&start(&js, ADA).await);
    let path = format!("/client/sign_ins/{id}/attempt_first_factor");
    for (form, code) in [
        (vec![("password", GOOD_PASSWORD)], "form_param_missing"),
        (
            vec![("strategy", "email_code"), ("code", "123456")],
            "strategy_for_user_invalid",
        ),
        (vec![("strategy", "password")], "form_param_missing"),
    ] {
        let r = js.post(&path, &form).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{form:?}: {}",
            r.body
        );
        assert_eq!(r.error_code(), code, "{form:?}");
    }
    // The attempt is still good.
    assert_eq!(
        password(&js, &id, GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
}

/// Another browser cannot use an attempt's id, with or without an attempt of its own.
#[tokio::test]
async fn another_browsers_sign_in_id_is_not_found() {
    let server = TestServer::start().await;
    server.create_user(ADA, GOOD_PASSWORD).await;
    let victim = ClerkJs::new(&server, APP);
    let id = id_of(&start(&victim, ADA).await);
    let stranger = ClerkJs::new(&server, APP);
    let r = password(&stranger, &id, GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(r.error_code(), "resource_not_found");
    start(&stranger, "eve@example.com").await;
    let r = password(&stranger, &id, GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // A cookie naming the victim's id with a made-up token is no better.
    let r = stranger
        .send(
            stranger
                .http
                .post(stranger.url(&format!("/client/sign_ins/{id}/attempt_first_factor")))
                .header(ORIGIN, APP)
                .header(COOKIE, format!("__orbit_sign_in={id}.made-up-token"))
                .form(&[("strategy", "password"), ("password", GOOD_PASSWORD)]),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        server.sessions_of_the_user("&status=active").await,
        serde_json::json!([])
    );
    // The victim's own attempt is untouched.
    assert_eq!(
        password(&victim, &id, GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
}

/// A completed attempt cannot be used again: not by a replay of the request with its cookie,
/// nor by a second request racing the first. Either way one session exists.
#[tokio::test]
async fn a_completed_attempt_cannot_be_replayed_or_raced() {
    let server = TestServer::start().await;
    server.create_user(ADA, GOOD_PASSWORD).await;
    let js = ClerkJs::new(&server, APP);
    let r = start(&js, ADA).await;
    let id = id_of(&r);
    let bound = set_cookie(&r, "__orbit_sign_in").unwrap();
    let cookie = bound.split(';').next().unwrap().to_owned();
    let replay = async || {
        let http = reqwest::Client::new();
        js.send(
            http.post(js.url(&format!("/client/sign_ins/{id}/attempt_first_factor")))
                .header(ORIGIN, APP)
                .header(COOKIE, cookie.as_str())
                .form(&[("strategy", "password"), ("password", GOOD_PASSWORD)]),
        )
        .await
    };
    // Two requests at once, with the same cookie.
    let (a, b) = tokio::join!(replay(), replay());
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::BAD_REQUEST],
        "{} / {}",
        a.body,
        b.body
    );
    let loser = if a.status == StatusCode::OK { &b } else { &a };
    assert_eq!(loser.error_code(), "verification_already_verified");
    assert!(set_cookie(loser, "__client").is_none());
    // And later, after the cookie was cleared in the browser: still refused.
    let r = replay().await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.error_code(), "verification_already_verified");
    let sessions = server.sessions_of_the_user("").await;
    assert_eq!(sessions.as_array().unwrap().len(), 1, "{sessions}");
}

#[tokio::test]
async fn an_attempt_expires_after_thirty_minutes() {
    let clock = ManualClock::new(SystemClock.now_ms());
    let server = TestServer::start_with_clock(&clock).await;
    server.create_user(ADA, GOOD_PASSWORD).await;
    let js = ClerkJs::new(&server, APP);
    let r = start(&js, ADA).await;
    assert_eq!(
        r.body["response"]["abandon_at"],
        clock.now_ms() + 30 * MINUTE
    );
    let id = id_of(&r);
    assert_eq!(row_counts(&server).await["sign_in_attempts"], 1);
    // The cookie lives as long as the attempt on the browser's real clock, so it is sent.
    clock.advance_ms(30 * MINUTE);
    let r = password(&js, &id, GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(js.get("/client").await.body["response"], Value::Null);
    // Housekeeping deletes it (its timer may have done so already).
    server.orbit().prune_sign_ins().await.unwrap();
    assert_eq!(row_counts(&server).await["sign_in_attempts"], 0);
}

/// The Frontend API and the hosted page share one set of limits: failures on one brake the
/// other, and a 429 carries `Retry-After`, readable by the page.
#[tokio::test]
async fn the_limits_are_the_hosted_pages() {
    let server = TestServer::account_limited(3).await;
    server.create_user(ADA, GOOD_PASSWORD).await;
    let page = server.browser();
    for _ in 0..2 {
        let r = page.sign_in(ADA, "wrong password").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let js = ClerkJs::new(&server, APP);
    let id = id_of(&start(&js, ADA).await);
    let r = password(&js, &id, "wrong password").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    // The account's brake for this source is full: even the right password waits.
    let r = password(&js, &id, GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert_eq!(r.error_code(), "too_many_requests");
    let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=300).contains(&wait), "{wait}");
    assert!(r.headers["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .contains("retry-after"));
    // So is the hosted page.
    let r = page.sign_in(ADA, GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

/// Starting attempts takes a budget of its own per source: a flood of starts is refused
/// without using up the sign-ins.
#[tokio::test]
async fn starting_attempts_has_a_budget_of_its_own() {
    let server = TestServer::behind_proxy(3, 1000).await;
    server.create_user(ADA, GOOD_PASSWORD).await;
    let js = ClerkJs::new(&server, APP);
    for _ in 0..3 {
        assert_eq!(start(&js, "flood@example.com").await.status, StatusCode::OK);
    }
    let r = start(&js, ADA).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(r.headers.get("retry-after").is_some());
    // The hosted page's sign-in uses both budgets: its start is refused the same way.
    let r = server.browser().sign_in(ADA, GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}
