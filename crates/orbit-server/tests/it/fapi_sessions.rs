//! A client's sessions and the signed-in user through the Frontend API, as clerk-js's
//! `Session`, `User` and `SessionWithActivities` call them for `<UserButton/>` and
//! `<UserProfile/>` (docs/design/frontend-api.md "Sessions and the profile").

use crate::fapi_clerkjs::{Answer, ClerkJs, APP};
use crate::harness::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ADA: &str = "ada@example.com";

/// Signs in through the Frontend API, as `<SignIn/>` does; returns the session id.
pub async fn sign_in(js: &ClerkJs, email: &str, password: &str) -> String {
    let r = js.post("/client/sign_ins", &[("identifier", email)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = r.body["response"]["id"].as_str().unwrap().to_owned();
    let r = js
        .post(
            &format!("/client/sign_ins/{id}/attempt_first_factor"),
            &[("strategy", "password"), ("password", password)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["response"]["created_session_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn mint(js: &ClerkJs, sid: &str) -> StatusCode {
    js.post(&format!("/client/sessions/{sid}/tokens"), &[])
        .await
        .status
}

fn me(sid: &str) -> String {
    format!("/me?_clerk_session_id={sid}")
}

#[tokio::test]
async fn touch_end_and_remove_as_clerk_js_calls_them() {
    let server = TestServer::start().await;
    server.create_user(ADA, GOOD_PASSWORD).await;
    let js = ClerkJs::new(&server, APP);
    let sid = sign_in(&js, ADA, GOOD_PASSWORD).await;

    // `setActive` touches the session it makes current.
    let r = js
        .post(
            &format!("/client/sessions/{sid}/touch"),
            &[("active_organization_id", ""), ("intent", "select_session")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["response"]["object"], "session");
    assert_eq!(r.body["response"]["id"], sid.as_str());
    assert_eq!(r.body["response"]["status"], "active");
    assert_eq!(
        r.body["response"]["user"]["email_addresses"][0]["email_address"],
        ADA
    );
    assert_eq!(r.body["client"]["last_active_session_id"], sid.as_str());
    // Nobody else's session can be touched, ended or removed from this browser.
    let stranger = ClerkJs::new(&server, APP);
    server.create_user("eve@example.com", GOOD_PASSWORD).await;
    let eves = sign_in(&stranger, "eve@example.com", GOOD_PASSWORD).await;
    for action in ["touch", "end", "remove"] {
        let r = stranger
            .post(&format!("/client/sessions/{sid}/{action}"), &[])
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{action}: {}", r.body);
    }
    // Without a client: 401, on which clerk-js re-reads the client.
    let r = ClerkJs::new(&server, APP)
        .post(&format!("/client/sessions/{sid}/touch"), &[])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error_code(), "signed_out");
    assert_eq!(mint(&js, &sid).await, StatusCode::OK);

    // `Session.end`: the session, ended, and the client without it.
    let r = js.post(&format!("/client/sessions/{sid}/end"), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["response"]["status"], "ended");
    assert_eq!(r.body["client"]["sessions"], serde_json::json!([]));
    assert_eq!(mint(&js, &sid).await, StatusCode::NOT_FOUND);
    // `Session.remove`, as a multi-session sign-out sends it.
    let r = stranger
        .post(&format!("/client/sessions/{eves}/remove"), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["response"]["status"], "removed");
    assert_eq!(mint(&stranger, &eves).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_user_is_read_and_renamed() {
    let server = TestServer::start().await;
    server.create_user(ADA, GOOD_PASSWORD).await;
    let js = ClerkJs::new(&server, APP);
    let sid = sign_in(&js, ADA, GOOD_PASSWORD).await;

    let r = js.get(&me(&sid)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["response"]["object"], "user");
    assert_eq!(
        r.body["response"]["email_addresses"][0]["email_address"],
        ADA
    );
    let uid = r.body["response"]["id"].as_str().unwrap().to_owned();
    // The Backend API's user without `private_metadata`, plus the fields clerk-js reads.
    let (_, mut want) = server.backend().get(&format!("/v1/users/{uid}")).await;
    let fields = want.as_object_mut().unwrap();
    assert_eq!(fields.remove("private_metadata"), Some(json!({})));
    fields.extend(
        json!({
            "organization_memberships": [],
            "delete_self_enabled": false,
            "mfa_enabled_at": null,
            "mfa_disabled_at": null,
            "legal_accepted_at": null
        })
        .as_object()
        .unwrap()
        .clone(),
    );
    assert_eq!(r.body["response"], want);
    // Its session shares the Backend API session's fields but the client and user ids.
    let session = &r.body["client"]["sessions"][0];
    let (_, listed) = server
        .backend()
        .get(&format!("/v1/sessions?user_id={uid}"))
        .await;
    for k in [
        "object",
        "id",
        "status",
        "expire_at",
        "abandon_at",
        "last_active_at",
        "created_at",
        "updated_at",
    ] {
        assert_eq!(session[k], listed[0][k], "{k}");
    }
    assert_eq!(session["user"], want);

    // `<UserProfile/>`'s profile form: `POST /v1/me?_method=PATCH`.
    let r = js
        .call(
            Method::PATCH,
            &me(&sid),
            &[("first_name", "Ada"), ("last_name", "Byron")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["response"]["first_name"], "Ada");
    assert_eq!(r.body["response"]["last_name"], "Byron");
    // The client clerk-js keeps (and `<UserButton/>` shows) has the new name at once.
    let s = &r.body["client"]["sessions"][0];
    assert_eq!(s["user"]["first_name"], "Ada");
    assert_eq!(s["public_user_data"]["last_name"], "Byron");
    // A field left out stays; an empty one is cleared.
    let r = js
        .call(Method::PATCH, &me(&sid), &[("last_name", "")])
        .await;
    assert_eq!(r.body["response"]["first_name"], "Ada");
    assert_eq!(r.body["response"]["last_name"], Value::Null);
    let (_, user) = server.backend().get(&format!("/v1/users/{uid}")).await;
    assert_eq!(user["first_name"], "Ada");

    let r = js
        .call(Method::PATCH, &me(&sid), &[("first_name", "A\u{202e}da")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["errors"][0]["meta"]["param_name"], "first_name");
    let evil = ClerkJs::new(&server, "https://evil.example");
    let r = evil
        .call(Method::PATCH, &me(&sid), &[("first_name", "Pwned")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Another browser's session id, or no client at all: signed out.
    let stranger = ClerkJs::new(&server, APP);
    for r in [
        stranger.get(&me(&sid)).await,
        stranger
            .call(Method::PATCH, &me(&sid), &[("first_name", "Eve")])
            .await,
    ] {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
        assert_eq!(r.error_code(), "signed_out");
    }
    server.create_user("eve@example.com", GOOD_PASSWORD).await;
    sign_in(&stranger, "eve@example.com", GOOD_PASSWORD).await;
    let r = stranger
        .call(Method::PATCH, &me(&sid), &[("first_name", "Eve")])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    let (_, user) = server.backend().get(&format!("/v1/users/{uid}")).await;
    assert_eq!(user["first_name"], "Ada");
}

#[tokio::test]
async fn changing_the_password_signs_the_other_devices_out() {
    let server = TestServer::start().await;
    server.create_user(ADA, GOOD_PASSWORD).await;
    let laptop = ClerkJs::new(&server, APP);
    let here = sign_in(&laptop, ADA, GOOD_PASSWORD).await;
    let phone = ClerkJs::new(&server, APP);
    let there = sign_in(&phone, ADA, GOOD_PASSWORD).await;
    let change = async |current: &str, new: &str| -> Answer {
        laptop
            .post(
                &format!("/me/change_password?_clerk_session_id={here}"),
                &[
                    ("current_password", current),
                    ("new_password", new),
                    ("sign_out_of_other_sessions", "true"),
                ],
            )
            .await
    };
    let r = change("wrong password", "a brand new passphrase").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.error_code(), "form_password_incorrect");
    assert_eq!(
        r.body["errors"][0]["meta"]["param_name"],
        "current_password"
    );
    let r = change(GOOD_PASSWORD, "short").await;
    assert_eq!(
        r.error_code(),
        "form_password_length_too_short",
        "{}",
        r.body
    );
    assert_eq!(r.body["errors"][0]["meta"]["param_name"], "new_password");
    assert_eq!(
        mint(&phone, &there).await,
        StatusCode::OK,
        "nothing changed yet"
    );

    let r = change(GOOD_PASSWORD, "a brand new passphrase").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["response"]["object"], "user");
    assert_eq!(
        mint(&laptop, &here).await,
        StatusCode::OK,
        "this device stays"
    );
    assert_eq!(
        mint(&phone, &there).await,
        StatusCode::NOT_FOUND,
        "the other is out"
    );
    // The new password signs in; the old one no longer does.
    let other = ClerkJs::new(&server, APP);
    sign_in(&other, ADA, "a brand new passphrase").await;
    let r = other.post("/client/sign_ins", &[("identifier", ADA)]).await;
    let id = r.body["response"]["id"].as_str().unwrap();
    let r = other
        .post(
            &format!("/client/sign_ins/{id}/attempt_first_factor"),
            &[("strategy", "password"), ("password", GOOD_PASSWORD)],
        )
        .await;
    assert_eq!(r.error_code(), "form_password_incorrect");
}

#[tokio::test]
async fn active_sessions_list_every_device_and_one_can_be_revoked() {
    let server = TestServer::start().await;
    server.create_user(ADA, GOOD_PASSWORD).await;
    let laptop = ClerkJs::new(&server, APP);
    let here = sign_in(&laptop, ADA, GOOD_PASSWORD).await;
    let phone = ClerkJs::new(&server, APP);
    let there = sign_in(&phone, ADA, GOOD_PASSWORD).await;
    server.create_user("eve@example.com", GOOD_PASSWORD).await;
    let eve = ClerkJs::new(&server, APP);
    let eves = sign_in(&eve, "eve@example.com", GOOD_PASSWORD).await;

    let r = laptop
        .get(&format!("/me/sessions/active?_clerk_session_id={here}"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // A bare array (`SessionWithActivities.retrieve` reads the payload as is).
    let list = r.body.as_array().expect("a bare array");
    let mut ids: Vec<&str> = list.iter().map(|s| s["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    let mut want = vec![here.as_str(), there.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want, "the user's sessions, not Eve's");
    let activity = &list[0]["latest_activity"];
    assert_eq!(activity["browser_name"], "Chrome");
    assert_eq!(activity["device_type"], "Linux");
    assert_eq!(activity["is_mobile"], false);
    assert_eq!(activity["ip_address"], Value::Null);

    // Revoking another user's session, or a made-up one, is not found.
    for id in [eves.as_str(), "sess_made_up"] {
        let r = laptop
            .post(
                &format!("/me/sessions/{id}/revoke?_clerk_session_id={here}"),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{id}: {}", r.body);
    }
    assert_eq!(mint(&eve, &eves).await, StatusCode::OK);
    // "Sign out of this device" on the phone, from the laptop.
    let r = laptop
        .post(
            &format!("/me/sessions/{there}/revoke?_clerk_session_id={here}"),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["response"]["id"], there.as_str());
    assert_eq!(r.body["response"]["status"], "removed");
    assert_eq!(mint(&phone, &there).await, StatusCode::NOT_FOUND);
    assert_eq!(mint(&laptop, &here).await, StatusCode::OK);
    let r = laptop
        .get(&format!("/me/sessions/active?_clerk_session_id={here}"))
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    // From another site: nothing.
    let evil = ClerkJs {
        http: laptop.http.clone(),
        fapi: laptop.fapi.clone(),
        origin: "https://evil.example".into(),
    };
    let r = evil
        .post(
            &format!("/me/sessions/{here}/revoke?_clerk_session_id={here}"),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = evil
        .get(&format!("/me/sessions/active?_clerk_session_id={here}"))
        .await;
    assert_eq!(r.cors(), None);
    assert_eq!(mint(&laptop, &here).await, StatusCode::OK);
}
