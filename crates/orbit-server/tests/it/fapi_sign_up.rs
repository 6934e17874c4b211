//! Sign-up through the Frontend API as clerk-js drives it (docs/design/frontend-api.md
//! "Sign-up"), with and without the emailed code, and its hostile variants: taken addresses,
//! weak passwords, other browsers' sign-ups, replays, races, expiry.

use crate::accounts::verifying_server;
use crate::fapi_clerkjs::{Answer, ClerkJs, APP};
use crate::harness::*;
use orbit_core::clock::ManualClock;
use reqwest::header::{COOKIE, ORIGIN};
use reqwest::StatusCode;
use serde_json::Value;

fn set_cookie(r: &Answer, name: &str) -> Option<String> {
    r.set_cookies()
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
}

/// `POST /v1/client/sign_ups` as `SignUpStart.tsx` sends it.
async fn sign_up(js: &ClerkJs, email: &str, password: &str) -> Answer {
    js.post(
        "/client/sign_ups",
        &[
            ("email_address", email),
            ("password", password),
            ("first_name", "Grace"),
            ("last_name", "Hopper"),
            ("locale", "en-US"),
        ],
    )
    .await
}

async fn code(js: &ClerkJs, id: &str, code: &str) -> Answer {
    js.post(
        &format!("/client/sign_ups/{id}/attempt_verification"),
        &[("strategy", "email_code"), ("code", code)],
    )
    .await
}

async fn resend(js: &ClerkJs, id: &str) -> Answer {
    js.post(
        &format!("/client/sign_ups/{id}/prepare_verification"),
        &[("strategy", "email_code")],
    )
    .await
}

fn id_of(r: &Answer) -> String {
    r.body["response"]["id"].as_str().unwrap().to_owned()
}

fn other_code(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

#[tokio::test]
async fn without_verification_the_sign_up_signs_in_at_once() {
    let server = TestServer::start().await;
    let js = ClerkJs::new(&server, APP);
    let r = sign_up(&js, "grace@example.com", GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let s = &r.body["response"];
    assert_eq!(s["object"], "sign_up_attempt");
    assert_eq!(s["status"], "complete");
    assert_eq!(s["unverified_fields"], serde_json::json!([]));
    let sid = s["created_session_id"].as_str().unwrap();
    let uid = s["created_user_id"].as_str().unwrap();
    let client = &r.body["client"];
    assert_eq!(client["last_active_session_id"], sid);
    let user = &client["sessions"][0]["user"];
    assert_eq!(user["id"], uid);
    assert_eq!(
        (user["first_name"].as_str(), user["last_name"].as_str()),
        (Some("Grace"), Some("Hopper"))
    );
    assert_eq!(
        user["email_addresses"][0]["email_address"],
        "grace@example.com"
    );
    // Nothing proved the address.
    assert_eq!(
        user["email_addresses"][0]["verification"]["status"],
        "unverified"
    );
    assert!(set_cookie(&r, "__client").is_some());
    assert!(set_cookie(&r, "__orbit_device").is_some());
    assert_eq!(
        js.post(&format!("/client/sessions/{sid}/tokens"), &[])
            .await
            .status,
        StatusCode::OK
    );

    // Without verification a taken address is said to be taken, as on the hosted page.
    let other = ClerkJs::new(&server, APP);
    let r = sign_up(&other, "Grace@Example.com", GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.error_code(), "form_identifier_exists");
    assert_eq!(r.body["errors"][0]["meta"]["param_name"], "email_address");
}

#[tokio::test]
async fn the_password_policy_and_required_fields() {
    let server = TestServer::start().await;
    let js = ClerkJs::new(&server, APP);
    for (email, password, code, param) in [
        (
            "a@example.com",
            "short",
            "form_password_length_too_short",
            "password",
        ),
        (
            "a@example.com",
            "password",
            "form_password_pwned",
            "password",
        ),
        ("a@example.com", "", "form_param_missing", "password"),
        ("", GOOD_PASSWORD, "form_param_missing", "email_address"),
        (
            "not-an-email",
            GOOD_PASSWORD,
            "form_param_format_invalid",
            "email_address",
        ),
    ] {
        let r = sign_up(&js, email, password).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{email} {password}: {}",
            r.body
        );
        assert_eq!(r.error_code(), code, "{email} {password}");
        assert_eq!(r.body["errors"][0]["meta"]["param_name"], param);
        assert_eq!(r.cors(), Some(APP));
    }
    let r = js
        .post(
            "/client/sign_ups",
            &[
                ("email_address", "b@example.com"),
                ("password", GOOD_PASSWORD),
                ("first_name", "Ev\u{202e}il"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["errors"][0]["meta"]["param_name"], "first_name");
    let (_, users) = server.backend().get("/v1/users").await;
    assert_eq!(users, serde_json::json!([]));
    // From another site: refused before anything happens.
    let r = sign_up(
        &ClerkJs::new(&server, "https://evil.example"),
        "c@example.com",
        GOOD_PASSWORD,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn with_verification_the_emailed_code_completes_the_sign_up() {
    let (server, smtp) = verifying_server(None).await;
    let js = ClerkJs::new(&server, APP);
    let env = js.get("/environment").await.body;
    assert_eq!(
        env["user_settings"]["attributes"]["email_address"]["verify_at_sign_up"],
        true
    );

    let r = sign_up(&js, "Grace@Example.com", GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let s = &r.body["response"];
    assert_eq!(s["status"], "missing_requirements");
    assert_eq!(s["unverified_fields"], serde_json::json!(["email_address"]));
    assert_eq!(s["email_address"], "grace@example.com");
    // Already sent: clerk-js opens the code form without asking for another code.
    let v = &s["verifications"]["email_address"];
    assert_eq!(
        (
            v["status"].as_str(),
            v["strategy"].as_str(),
            v["next_action"].as_str()
        ),
        (
            Some("unverified"),
            Some("email_code"),
            Some("needs_attempt")
        )
    );
    assert_eq!(r.body["client"]["sign_up"]["id"], s["id"]);
    assert!(set_cookie(&r, "__orbit_sign_up")
        .unwrap()
        .contains("HttpOnly"));
    assert!(set_cookie(&r, "__client").is_none());
    let (_, users) = server.backend().get("/v1/users").await;
    assert_eq!(users, serde_json::json!([]), "no account before the code");
    let id = id_of(&r);
    // A reload on the code page finds the sign-up in the client.
    assert_eq!(
        js.get("/client").await.body["response"]["sign_up"]["id"],
        id
    );

    let first = smtp.mail(0).await.code().expect("a code");
    let r = code(&js, &id, &other_code(&first)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.error_code(), "form_code_incorrect");
    assert_eq!(r.body["errors"][0]["meta"]["param_name"], "code");

    // "Resend": a new code, and the first one is dead.
    let r = resend(&js, &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["response"]["verifications"]["email_address"]["attempts"],
        0
    );
    let second = smtp.mail(1).await.code().expect("a second code");
    assert_ne!(first, second);
    let r = code(&js, &id, &first).await;
    assert_eq!(r.error_code(), "form_code_incorrect", "{}", r.body);

    let r = code(&js, &id, &second).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let s = &r.body["response"];
    assert_eq!(s["status"], "complete");
    assert_eq!(s["id"], id.as_str());
    assert_eq!(s["verifications"]["email_address"]["status"], "verified");
    let sid = s["created_session_id"].as_str().unwrap();
    assert_eq!(r.body["client"]["sessions"][0]["id"], sid);
    assert_eq!(
        r.body["client"]["sessions"][0]["user"]["email_addresses"][0]["verification"]["status"],
        "verified"
    );
    assert!(set_cookie(&r, "__client").is_some());
    assert!(set_cookie(&r, "__orbit_sign_up")
        .unwrap()
        .contains("Max-Age=0"));
    // The code is spent: replayed with the old cookie, it completes nothing.
    let replay = js
        .send(
            reqwest::Client::new()
                .post(js.url(&format!("/client/sign_ups/{id}/attempt_verification")))
                .header(ORIGIN, APP)
                .header(COOKIE, format!("__orbit_sign_up={id}.x"))
                .form(&[("strategy", "email_code"), ("code", second.as_str())]),
        )
        .await;
    assert_eq!(replay.status, StatusCode::NOT_FOUND, "{}", replay.body);
    let (_, users) = server.backend().get("/v1/users").await;
    assert_eq!(users.as_array().unwrap().len(), 1);
}

/// With verification on, a taken address gets the answer a new one gets, and its owner a
/// notice; no code ever completes it, a resend included.
#[tokio::test]
async fn a_taken_address_gets_the_same_answer_and_never_a_code() {
    let (server, smtp) = verifying_server(None).await;
    server.create_user("owner@example.com", GOOD_PASSWORD).await;
    let fresh = sign_up(
        &ClerkJs::new(&server, APP),
        "fresh@example.com",
        GOOD_PASSWORD,
    )
    .await;
    let js = ClerkJs::new(&server, APP);
    let taken = sign_up(&js, "owner@example.com", GOOD_PASSWORD).await;
    assert_eq!(fresh.status, taken.status);
    let shape = |r: &Answer| {
        let mut v = r.body.clone();
        for s in [&mut v["response"]] {
            for k in ["id", "abandon_at", "email_address"] {
                s[k] = Value::Null;
            }
            s["verifications"]["email_address"]["expire_at"] = Value::Null;
        }
        v["client"] = Value::Null;
        v
    };
    assert_eq!(shape(&fresh), shape(&taken));
    let notice = smtp.mail(1).await;
    assert_eq!(notice.to, vec!["owner@example.com"]);
    assert_eq!(notice.code(), None, "{}", notice.data);
    let id = id_of(&taken);
    let r = code(&js, &id, "000000").await;
    assert_eq!(r.error_code(), "form_code_incorrect", "{}", r.body);
    assert_eq!(resend(&js, &id).await.status, StatusCode::OK);
    let again = smtp.mail(2).await;
    assert_eq!(
        again.code(),
        None,
        "the owner gets the notice again, no code"
    );
    let (_, users) = server.backend().get("/v1/users").await;
    assert_eq!(users.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn another_browsers_sign_up_and_racing_codes() {
    let (server, smtp) = verifying_server(None).await;
    let js = ClerkJs::new(&server, APP);
    let r = sign_up(&js, "grace@example.com", GOOD_PASSWORD).await;
    let id = id_of(&r);
    let bound = set_cookie(&r, "__orbit_sign_up").unwrap();
    let cookie = bound.split(';').next().unwrap().to_owned();
    let right = smtp.mail(0).await.code().unwrap();
    // Another browser, with the id but not the token: as if there were no such sign-up.
    let stranger = ClerkJs::new(&server, APP);
    for r in [
        code(&stranger, &id, &right).await,
        resend(&stranger, &id).await,
    ] {
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
        assert_eq!(r.error_code(), "resource_not_found");
    }
    assert_eq!(smtp.mails().len(), 1, "no mail for the stranger");
    // The right code twice at once: one account, one session; the other is told the code is
    // spent.
    let send = async || {
        js.send(
            reqwest::Client::new()
                .post(js.url(&format!("/client/sign_ups/{id}/attempt_verification")))
                .header(ORIGIN, APP)
                .header(COOKIE, cookie.as_str())
                .form(&[("strategy", "email_code"), ("code", right.as_str())]),
        )
        .await
    };
    let (a, b) = tokio::join!(send(), send());
    let (winner, loser) = if a.status == StatusCode::OK {
        (&a, &b)
    } else {
        (&b, &a)
    };
    assert_eq!(winner.status, StatusCode::OK, "{}", winner.body);
    // The loser finds the sign-up used: gone already (404), or taken while it checked (422).
    assert!(
        matches!(
            (loser.status.as_u16(), loser.error_code()),
            (404, "resource_not_found") | (422, "verification_expired")
        ),
        "{} {}",
        loser.status,
        loser.body
    );
    assert!(set_cookie(loser, "__client").is_none());
    let (_, users) = server.backend().get("/v1/users").await;
    assert_eq!(users.as_array().unwrap().len(), 1);
    let sessions = server.sessions_of_the_user("").await;
    assert_eq!(sessions.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_pending_sign_up_expires_after_ten_minutes() {
    let clock = ManualClock::new(orbit_core::clock::Clock::now_ms(
        &orbit_core::clock::SystemClock,
    ));
    let (server, smtp) = verifying_server(Some(&clock)).await;
    let js = ClerkJs::new(&server, APP);
    let id = id_of(&sign_up(&js, "grace@example.com", GOOD_PASSWORD).await);
    let right = smtp.mail(0).await.code().unwrap();
    clock.advance_ms(10 * 60 * 1000);
    for r in [code(&js, &id, &right).await, resend(&js, &id).await] {
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.error_code(), "verification_expired");
    }
    assert_eq!(js.get("/client").await.body["response"], Value::Null);
    let (_, users) = server.backend().get("/v1/users").await;
    assert_eq!(users, serde_json::json!([]));
}
