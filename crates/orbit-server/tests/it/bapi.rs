//! Backend API over HTTP: authentication, users, sessions, tokens, errors.

use crate::harness::*;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Asserts that a BAPI answer is an error with `status` and `code`.
fn assert_error((s, body): (StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!((s, first_error(&body).0), (status, code), "{body}");
}

fn first_error(body: &Value) -> (&str, &str) {
    let e = &body["errors"][0];
    (
        e["code"].as_str().unwrap_or_default(),
        e["long_message"].as_str().unwrap_or_default(),
    )
}

#[tokio::test]
async fn requires_the_secret_key() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let url = format!("{}/v1/users", server.bapi_url);
    for auth in [
        None,
        Some("Bearer sk_test_wrong"),
        Some(&*format!("Bearer {}", server.publishable_key)),
        Some("Basic abc"),
    ] {
        let mut req = http.get(&url);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let (status, body) = json_of(req.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(first_error(&body).0, "authentication_invalid");
        assert!(first_error(&body).1.contains("secret key"), "{body}");
    }
    let (status, _) = server.backend().get("/v1/users").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn users_crud_and_validation() {
    let server = TestServer::start().await;
    let bapi = server.backend();
    let (status, user) = bapi
        .post("/v1/users", json!({"email_address": ["  Ada@Example.COM "], "password": GOOD_PASSWORD, "first_name": "Ada", "last_name": "Lovelace"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["object"], "user");
    assert_eq!(
        user["email_addresses"][0]["email_address"],
        "ada@example.com"
    );
    assert_eq!(
        user["primary_email_address_id"],
        user["email_addresses"][0]["id"]
    );
    assert_eq!(user["first_name"], "Ada");
    assert_eq!(user["password_enabled"], true);
    let id = user["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("user_"));
    // Every field, with the values that vary (ids, times) taken from the answer.
    let mut want = json!({
        "object": "user",
        "external_id": null,
        "username": null,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "image_url": "",
        "has_image": false,
        "primary_phone_number_id": null,
        "primary_web3_wallet_id": null,
        "password_enabled": true,
        "two_factor_enabled": false,
        "totp_enabled": false,
        "backup_code_enabled": false,
        "email_addresses": [{
            "object": "email_address",
            "email_address": "ada@example.com",
            "reserved": false,
            "verification": {"object": "verification_admin", "status": "verified", "strategy": "admin", "attempts": null, "expire_at": null},
            "linked_to": []
        }],
        "phone_numbers": [],
        "web3_wallets": [],
        "passkeys": [],
        "external_accounts": [],
        "saml_accounts": [],
        "enterprise_accounts": [],
        "public_metadata": {},
        "private_metadata": {},
        "unsafe_metadata": {},
        "banned": false,
        "locked": false,
        "lockout_expires_in_seconds": null,
        "verification_attempts_remaining": null,
        "delete_self_enabled": true,
        "create_organization_enabled": false,
        "last_sign_in_at": null,
        "last_active_at": null
    });
    for k in ["id", "primary_email_address_id", "created_at", "updated_at"] {
        want[k] = user[k].clone();
    }
    for k in ["id", "created_at", "updated_at"] {
        want["email_addresses"][0][k] = user["email_addresses"][0][k].clone();
    }
    assert_eq!(user, want);

    // Table of bad inputs: (body, status, code, param)
    let cases = [
        (
            json!({"email_address": ["ada@example.com"], "password": GOOD_PASSWORD}),
            422,
            "form_identifier_exists",
            "email_address",
        ),
        (
            json!({"email_address": ["ADA@example.com"]}),
            422,
            "form_identifier_exists",
            "email_address",
        ),
        (
            json!({"email_address": ["bob@example.com"], "password": "password"}),
            422,
            "form_password_pwned",
            "password",
        ),
        (
            json!({"email_address": ["bob@example.com"], "password": "short"}),
            422,
            "form_password_length_too_short",
            "password",
        ),
        (
            json!({"email_address": ["not-an-email"], "password": GOOD_PASSWORD}),
            422,
            "form_param_format_invalid",
            "email_address",
        ),
        (
            json!({"email_address": [], "password": GOOD_PASSWORD}),
            400,
            "form_param_missing",
            "email_address",
        ),
        (
            json!({"email_address": ["a@x.io", "b@x.io"]}),
            400,
            "form_param_format_invalid",
            "email_address",
        ),
        (
            json!({"email_address": ["bob@example.com"], "pasword": GOOD_PASSWORD}),
            422,
            "form_param_format_invalid",
            "",
        ),
    ];
    for (body, status, code, param) in cases {
        let (s, b) = bapi.post("/v1/users", body.clone()).await;
        assert_eq!(s.as_u16(), status, "{body} -> {b}");
        assert_eq!(first_error(&b).0, code, "{body} -> {b}");
        if !param.is_empty() {
            assert_eq!(b["errors"][0]["meta"]["param_name"], param, "{b}");
        }
        assert!(!first_error(&b).1.is_empty());
    }
    // Nothing was created by the failures.
    let (_, count) = bapi.get("/v1/users/count").await;
    assert_eq!(count, json!({"object": "total_count", "total_count": 1}));

    let (s, got) = bapi.get(&format!("/v1/users/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got, user);
    let (_, list) = bapi.get("/v1/users").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_error(
        bapi.get("/v1/users?limit=0").await,
        StatusCode::BAD_REQUEST,
        "form_param_value_invalid",
    );

    let (s, deleted) = bapi.delete(&format!("/v1/users/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        deleted,
        json!({"object": "user", "id": id, "deleted": true})
    );
    assert_error(
        bapi.get(&format!("/v1/users/{id}")).await,
        StatusCode::NOT_FOUND,
        "resource_not_found",
    );
    let (s, _) = bapi.delete(&format!("/v1/users/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn long_passwords_are_accepted_and_bodies_are_limited() {
    let server = TestServer::start().await;
    let long = "p".repeat(255) + "!";
    server.create_user("long@example.com", &long).await;

    let huge = "x".repeat(70 * 1024);
    let (s, b) = server
        .backend()
        .post(
            "/v1/users",
            json!({"email_address": ["huge@example.com"], "first_name": huge}),
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(first_error(&b).0, "request_body_too_large");
    assert!(first_error(&b).1.contains("65536"), "{b}");
    // The same limit without a Content-Length (chunked body), over a raw socket.
    let status = chunked_post(
        &server,
        "/bapi/v1/users",
        &format!("{{\"first_name\":\"{huge}\"}}"),
    )
    .await;
    assert_eq!(status, 413);
    let r = reqwest::Client::new()
        .post(format!("{}/v1/users", server.bapi_url))
        .bearer_auth(&server.secret_key)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (_, count) = server.backend().get("/v1/users/count").await;
    assert_eq!(count["total_count"], 1);
}

/// Sends a POST with `Transfer-Encoding: chunked` and returns the response status.
async fn chunked_post(server: &TestServer, path: &str, body: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = server.base.trim_start_matches("http://");
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        server.secret_key
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.as_bytes().chunks(8192) {
        let _ = sock
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await;
        let _ = sock.write_all(chunk).await;
        let _ = sock.write_all(b"\r\n").await;
    }
    let _ = sock.write_all(b"0\r\n\r\n").await;
    let mut buf = Vec::new();
    let _ = sock.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf);
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

pub fn decode_part(part: &str) -> Value {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Verifies an RS256 JWT against a JWKS document; returns (header, claims).
pub fn verify_with_jwks(jwt: &str, jwks: &Value) -> (Value, Value) {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header = decode_part(parts[0]);
    let claims = decode_part(parts[1]);
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("kid is in the JWKS");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let n = b64.decode(key["n"].as_str().unwrap()).unwrap();
    let e = b64.decode(key["e"].as_str().unwrap()).unwrap();
    assert_eq!(n.len(), 256, "RSA-2048");
    assert_eq!(e, vec![1, 0, 1], "e = 65537");
    assert!(
        orbit_core::keys::verify_rs256(jwt, &n, &e),
        "signature verifies"
    );
    (header, claims)
}

#[tokio::test]
async fn sessions_and_tokens() {
    let server = TestServer::start().await;
    let bapi = server.backend();
    let user = server.create_user("grace@example.com", GOOD_PASSWORD).await;
    let user_id = user["id"].as_str().unwrap();

    assert_error(
        bapi.post("/v1/sessions", json!({})).await,
        StatusCode::BAD_REQUEST,
        "form_param_missing",
    );
    let (s, _) = bapi
        .post("/v1/sessions", json!({"user_id": "user_nope"}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, session) = bapi.post("/v1/sessions", json!({"user_id": user_id})).await;
    assert_eq!(s, StatusCode::OK, "{session}");
    assert_eq!(session["object"], "session");
    assert_eq!(session["status"], "active");
    assert_eq!(session["user_id"], user_id);
    let sid = session["id"].as_str().unwrap();
    // Every field, with the values that vary (ids, times) taken from the answer.
    let mut want = json!({"object": "session", "user_id": user_id, "status": "active"});
    for k in [
        "id",
        "client_id",
        "last_active_at",
        "expire_at",
        "abandon_at",
        "created_at",
        "updated_at",
    ] {
        want[k] = session[k].clone();
    }
    assert_eq!(session, want);
    let tokens_path = format!("/v1/sessions/{sid}/tokens");
    let revoke_path = format!("/v1/sessions/{sid}/revoke");
    let created = session["created_at"].as_i64().unwrap();
    assert_eq!(
        session["abandon_at"].as_i64().unwrap() - created,
        30 * 24 * 3600 * 1000,
        "absolute lifetime 30 days"
    );
    assert_eq!(
        session["expire_at"].as_i64().unwrap() - created,
        7 * 24 * 3600 * 1000,
        "inactivity lifetime 7 days"
    );

    let (s, token) = bapi.post(&tokens_path, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{token}");
    assert_eq!(token["object"], "token");
    let jwt = token["jwt"].as_str().unwrap();
    let (_, jwks) = bapi.get("/v1/jwks").await;
    let (header, claims) = verify_with_jwks(jwt, &jwks);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(claims["iss"], server.base);
    assert_eq!(claims["sub"], user_id);
    assert_eq!(claims["sid"], sid);
    assert_eq!(claims["v"], 2);
    assert_eq!(claims["sts"], "active");
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 60);
    assert!(claims["nbf"].as_i64().unwrap() <= iat);
    assert!(claims["jti"].as_str().unwrap().len() >= 16);
    assert_eq!(claims["fva"].as_array().unwrap().len(), 2);
    assert!(
        claims.get("azp").is_none(),
        "BAPI tokens have no requesting origin"
    );
    // The public FAPI JWKS carries the same keys.
    assert_eq!(server.jwks().await, jwks);
    // Each token is distinct.
    let (_, token2) = bapi.post(&tokens_path, json!({})).await;
    assert_ne!(token2["jwt"], token["jwt"]);

    let (_, list) = bapi.get(&format!("/v1/sessions?user_id={user_id}")).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_error(
        bapi.get("/v1/sessions").await,
        StatusCode::BAD_REQUEST,
        "form_param_missing",
    );

    let (s, revoked) = bapi.post(&revoke_path, json!({})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(revoked["status"], "revoked");
    assert_error(
        bapi.post(&tokens_path, json!({})).await,
        StatusCode::BAD_REQUEST,
        "session_not_active",
    );
    let (s, _) = bapi.post(&revoke_path, json!({})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, active) = bapi
        .get(&format!("/v1/sessions?user_id={user_id}&status=active"))
        .await;
    assert_eq!(active, json!([]));
    let (s, _) = bapi
        .get(&format!("/v1/sessions?user_id={user_id}&status=bogus"))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Deleting the user removes their sessions.
    let (_, s2) = bapi.post("/v1/sessions", json!({"user_id": user_id})).await;
    bapi.delete(&format!("/v1/users/{user_id}")).await;
    let (s, _) = bapi
        .get(&format!("/v1/sessions/{}", s2["id"].as_str().unwrap()))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_paths_are_json_404() {
    let server = TestServer::start().await;
    assert_error(
        server.backend().get("/v1/nothing").await,
        StatusCode::NOT_FOUND,
        "resource_not_found",
    );
}
