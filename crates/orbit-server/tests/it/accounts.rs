//! Accounts (hardening items 7 and 10): email verification at sign-up through a real SMTP
//! server in-process, verification as BAPI reports it, one account per address however it is
//! typed, direction controls refused, and BAPI's malformed requests answered in Clerk's shape.

use crate::harness::*;
use crate::smtp_server::SmtpServer;
use orbit_core::clock::ManualClock;
use orbit_server::config::{Config, SmtpConfig, SmtpTls};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub fn use_smtp(c: &mut Config, smtp: &SmtpServer) {
    c.smtp = SmtpConfig {
        host: Some("127.0.0.1".into()),
        port: Some(smtp.addr.port()),
        tls: SmtpTls::None,
        from: Some("Orbit <no-reply@orbit.test>".into()),
        ..SmtpConfig::default()
    };
}

/// Turns `sign_up.email_verification` on or off through BAPI.
async fn set_verification(server: &TestServer, on: bool) -> (StatusCode, Value) {
    let r = server
        .backend()
        .http
        .patch(format!("{}/v1/instance", server.bapi_url))
        .bearer_auth(&server.secret_key)
        .json(&json!({"sign_up": {"email_verification": on}}))
        .send()
        .await
        .unwrap();
    json_of(r).await
}

/// A server with an SMTP server and `sign_up.email_verification` on (set through BAPI).
pub async fn verifying_server(clock: Option<&ManualClock>) -> (TestServer, SmtpServer) {
    let smtp = SmtpServer::start().await;
    let server = match clock {
        Some(clock) => TestServer::start_with_clock_and(clock, |c| use_smtp(c, &smtp)).await,
        None => TestServer::start_with(|c| use_smtp(c, &smtp)).await,
    };
    let (status, body) = set_verification(&server, true).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, instance) = server.backend().get("/v1/instance").await;
    assert_eq!(
        instance["sign_up"]["email_verification"], true,
        "{instance}"
    );
    (server, smtp)
}

async fn sign_up_form(server: &TestServer, b: &Browser, email: &str, first_name: &str) -> Page {
    b.submit(
        &server.url("/sign-up"),
        &server.url("/sign-up"),
        &[
            ("email_address", email),
            ("password", GOOD_PASSWORD),
            ("first_name", first_name),
        ],
    )
    .await
}

/// Submits `code` on the verification page `page` (its CSRF token and pending sign-up).
async fn enter_code(server: &TestServer, b: &Browser, page: &Page, code: &str) -> Page {
    let token = hidden(&page.body, "sign_up").expect("the page carries the pending sign-up");
    b.post_form(
        &server.url("/sign-up/verify"),
        &[
            ("csrf_token", page.csrf().as_str()),
            ("sign_up", token.as_str()),
            ("code", code),
        ],
    )
    .await
}

async fn users(server: &TestServer) -> Vec<Value> {
    let (status, users) = server.backend().get("/v1/users").await;
    assert_eq!(status, StatusCode::OK, "{users}");
    users.as_array().unwrap().clone()
}

fn verification(user: &Value) -> &Value {
    &user["email_addresses"][0]["verification"]
}

fn other_code(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

// ---- item 7: verification as reported, and the emailed code ---------------------------------

#[tokio::test]
async fn addresses_nobody_proved_are_reported_unverified() {
    // Development instances do not verify by default: a hosted sign-up proves nothing.
    let server = TestServer::start().await;
    let b = server.browser();
    let page = sign_up_form(&server, &b, "ceo@victim.example", "Mallory").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    // The operator vouches for addresses it creates, as in Clerk's BAPI.
    server.create_user("ops@example.com", GOOD_PASSWORD).await;
    let all = users(&server).await;
    let by = |email: &str| {
        all.iter()
            .find(|u| u["email_addresses"][0]["email_address"] == email)
            .unwrap()
            .clone()
    };
    assert_eq!(
        verification(&by("ceo@victim.example")),
        &json!({"object": "verification_otp", "status": "unverified", "strategy": "email_code", "attempts": null, "expire_at": null})
    );
    assert_eq!(
        verification(&by("ops@example.com")),
        &json!({"object": "verification_admin", "status": "verified", "strategy": "admin", "attempts": null, "expire_at": null})
    );
}

#[tokio::test]
async fn sign_up_completes_with_the_emailed_code_once() {
    let (server, smtp) = verifying_server(None).await;
    let b = server.browser();
    let page = sign_up_form(&server, &b, "Grace@Example.com", "Grace").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("grace@example.com"), "{}", page.body);
    assert!(
        users(&server).await.is_empty(),
        "no account before the code"
    );

    let mail = smtp.mail(0).await;
    assert_eq!(mail.to, vec!["grace@example.com"]);
    assert_eq!(mail.from, "no-reply@orbit.test");
    let code = mail.code().expect("a code in the mail");
    assert!(mail.subject().contains(&code), "{}", mail.data);

    let done = enter_code(&server, &b, &page, &code).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let all = users(&server).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["first_name"], "Grace");
    assert_eq!(
        verification(&all[0]),
        &json!({"object": "verification_otp", "status": "verified", "strategy": "email_code", "attempts": null, "expire_at": null})
    );
    // The new account signs in with the password chosen before the code.
    let other = server.browser();
    let signed_in = other.sign_in("grace@example.com", GOOD_PASSWORD).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );

    // Replayed, from this browser or another: the code is spent.
    let replay = enter_code(&server, &b, &page, &code).await;
    assert_eq!(replay.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(replay.body.contains("Start again"), "{}", replay.body);
    assert_eq!(users(&server).await.len(), 1);
    assert_eq!(smtp.mails().len(), 1);
}

#[tokio::test]
async fn wrong_codes_are_counted_and_the_fifth_kills_the_code() {
    let (server, smtp) = verifying_server(None).await;
    let b = server.browser();
    let page = sign_up_form(&server, &b, "ann@example.com", "").await;
    let code = smtp.mail(0).await.code().unwrap();
    let wrong = other_code(&code);
    for left in (1..=4).rev() {
        let r = enter_code(&server, &b, &page, &wrong).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            r.body.contains(&format!("{left} more tr")),
            "{left} left: {}",
            r.body
        );
    }
    let fifth = enter_code(&server, &b, &page, &wrong).await;
    assert!(fifth.body.contains("Start again"), "{}", fifth.body);
    // Now even the right code is refused.
    let right = enter_code(&server, &b, &page, &code).await;
    assert_eq!(right.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(right.body.contains("Start again"), "{}", right.body);
    assert!(users(&server).await.is_empty());
}

#[tokio::test]
async fn codes_expire_after_ten_minutes() {
    let clock = ManualClock::new(1_700_000_000_000);
    let (server, smtp) = verifying_server(Some(&clock)).await;
    let b = server.browser();
    let page = sign_up_form(&server, &b, "ann@example.com", "").await;
    let code = smtp.mail(0).await.code().unwrap();
    clock.advance_ms(10 * 60 * 1000);
    let late = enter_code(&server, &b, &page, &code).await;
    assert_eq!(late.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(late.body.contains("Start again"), "{}", late.body);
    assert!(users(&server).await.is_empty());

    // A code entered within its ten minutes works.
    let page = sign_up_form(&server, &b, "ann@example.com", "").await;
    let code = smtp.mail(1).await.code().unwrap();
    clock.advance_ms(9 * 60 * 1000);
    let in_time = enter_code(&server, &b, &page, &code).await;
    assert_eq!(in_time.status, StatusCode::SEE_OTHER, "{}", in_time.body);
    assert_eq!(orbit_core::orbit::SIGN_UP_CODE_LIFETIME, 10 * 60 * 1000);
}

#[tokio::test]
async fn a_code_works_only_for_the_address_it_was_sent_to() {
    let (server, smtp) = verifying_server(None).await;
    let attacker = server.browser();
    // The attacker owns mallory@ and starts sign-ups for it and for the victim's address.
    let victim_page = sign_up_form(&server, &attacker, "ceo@victim.example", "").await;
    let own_page = sign_up_form(&server, &attacker, "mallory@example.com", "").await;
    let own_code = smtp.mail(1).await.code().unwrap();
    assert_eq!(smtp.mail(1).await.to, vec!["mallory@example.com"]);
    let r = enter_code(&server, &attacker, &victim_page, &own_code).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("incorrect"), "{}", r.body);
    assert!(users(&server).await.is_empty(), "no account for the victim");
    // The attacker's own code still works for its own address.
    let r = enter_code(&server, &attacker, &own_page, &own_code).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let all = users(&server).await;
    assert_eq!(all.len(), 1);
    assert_eq!(
        all[0]["email_addresses"][0]["email_address"],
        "mallory@example.com"
    );
}

#[tokio::test]
async fn racing_right_codes_create_one_account() {
    let (server, smtp) = verifying_server(None).await;
    let b = server.browser();
    let page = sign_up_form(&server, &b, "ann@example.com", "").await;
    let code = smtp.mail(0).await.code().unwrap();
    let form = [
        ("csrf_token".to_owned(), page.csrf()),
        ("sign_up".to_owned(), hidden(&page.body, "sign_up").unwrap()),
        ("code".to_owned(), code),
    ];
    let tries: Vec<_> = (0..8)
        .map(|_| {
            let (http, url, origin, form) = (
                b.http.clone(),
                server.url("/sign-up/verify"),
                server.base.clone(),
                form.clone(),
            );
            tokio::spawn(async move {
                http.post(url)
                    .header("origin", origin)
                    .form(&form)
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tries {
        statuses.push(t.await.unwrap());
    }
    let won = statuses
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(won, 1, "{statuses:?}");
    assert_eq!(users(&server).await.len(), 1);
}

#[tokio::test]
async fn a_taken_address_gets_the_same_page_and_its_owner_a_notice() {
    let (server, smtp) = verifying_server(None).await;
    server.create_user("owner@example.com", GOOD_PASSWORD).await;
    let b = server.browser();
    let fresh = sign_up_form(&server, &b, "fresh@example.com", "").await;
    let taken = sign_up_form(&server, &b, "owner@example.com", "").await;
    assert_eq!(fresh.status, taken.status);
    // Identical pages but for the address and the per-request tokens.
    let shape = |p: &Page, email: &str| {
        let mut body = p.body.replace(email, "EMAIL");
        for name in ["csrf_token", "sign_up"] {
            body = body.replace(&hidden(&p.body, name).unwrap(), "TOKEN");
        }
        body
    };
    assert_eq!(
        shape(&fresh, "fresh@example.com"),
        shape(&taken, "owner@example.com")
    );
    let notice = smtp.mail(1).await;
    assert_eq!(notice.to, vec!["owner@example.com"]);
    assert!(
        notice.subject().contains("already have an account"),
        "{}",
        notice.data
    );
    assert_eq!(notice.code(), None, "{}", notice.data);
    // No code completes it, and the answer is the one a wrong code gets.
    let r = enter_code(&server, &b, &taken, "000000").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("4 more tries"), "{}", r.body);
    assert_eq!(users(&server).await.len(), 1);
}

#[tokio::test]
async fn verification_without_smtp_is_refused_naming_the_setting() {
    // Turning it on where no SMTP server is configured: BAPI and the CLI's core call refuse.
    let server = TestServer::start().await;
    let (status, body) = set_verification(&server, true).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["code"], "smtp_not_configured");
    assert_eq!(
        body["errors"][0]["meta"]["param_name"],
        "sign_up.email_verification"
    );
    assert!(body["errors"][0]["long_message"]
        .as_str()
        .unwrap()
        .contains("smtp_host"));

    // A data directory whose instance verifies email does not start without SMTP.
    let smtp = SmtpServer::start().await;
    let server = TestServer::start_with(|c| use_smtp(c, &smtp)).await;
    set_verification(&server, true).await;
    let TestServer {
        running,
        dir: _dir,
        mut config,
        deps,
        ..
    } = server;
    running.unwrap().stop().await.unwrap();
    config.smtp = SmtpConfig::default();
    let err = match orbit_server::start_with(config.clone(), deps.clone()).await {
        Ok(_) => panic!("started without SMTP"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("sign_up.email_verification") && err.contains("smtp_host"),
        "{err}"
    );
    // And a bad SMTP configuration names its key.
    for (tweak, key) in [
        (
            SmtpConfig {
                host: Some("mail.example".into()),
                ..SmtpConfig::default()
            },
            "smtp_from",
        ),
        (
            SmtpConfig {
                from: Some("a@example.com".into()),
                ..SmtpConfig::default()
            },
            "smtp_from",
        ),
        (
            SmtpConfig {
                host: Some("mail.example".into()),
                from: Some("not an address".into()),
                ..SmtpConfig::default()
            },
            "smtp_from",
        ),
    ] {
        let c = Config {
            smtp: tweak,
            ..config.clone()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.starts_with(key), "{key}: {e}");
    }
}

// ---- item 10: identifiers that look alike, direction controls, BAPI errors -------------------

#[tokio::test]
async fn look_alike_addresses_are_one_account() {
    let server = TestServer::start().await;
    let b = server.browser();
    let first = sign_up_form(&server, &b, "ann@example.com", "Ann").await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let idn = sign_up_form(&server, &server.browser(), "jo@m\u{FC}nchen.de", "").await;
    assert_eq!(idn.status, StatusCode::SEE_OTHER, "{}", idn.body);
    let forms = [
        ("a\u{200B}nn@example.com", "ann@example.com"),
        ("ann\u{00AD}@example.com", "ann@example.com"),
        ("ann@exa\u{2060}mple.com", "ann@example.com"),
        ("\u{FEFF}ann@example.com", "ann@example.com"),
        ("\u{FF41}\u{FF4E}\u{FF4E}@example.com", "ann@example.com"),
        ("ann\u{FF20}\u{FF25}XAMPLE.com", "ann@example.com"),
        ("jo@xn--mnchen-3ya.de", "jo@m\u{FC}nchen.de"),
        ("jo@M\u{DC}NCHEN.DE", "jo@m\u{FC}nchen.de"),
    ];
    for (typed, account) in forms {
        let again = sign_up_form(&server, &server.browser(), typed, "").await;
        assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "{typed:?}");
        assert!(again.body.contains("taken"), "{typed:?}: {}", again.body);
        let (status, body) = server
            .backend()
            .post(
                "/v1/users",
                json!({"email_address": [typed], "password": GOOD_PASSWORD}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{typed:?}: {body}"
        );
        assert_eq!(body["errors"][0]["code"], "form_identifier_exists");
        let signed_in = server.browser().sign_in(typed, GOOD_PASSWORD).await;
        assert_eq!(
            signed_in.status,
            StatusCode::SEE_OTHER,
            "{typed:?} signs in to {account}"
        );
    }
    let all = users(&server).await;
    let mut emails: Vec<&str> = all
        .iter()
        .map(|u| u["email_addresses"][0]["email_address"].as_str().unwrap())
        .collect();
    emails.sort();
    assert_eq!(emails, ["ann@example.com", "jo@m\u{FC}nchen.de"]);
}

const RLO: &str = "\u{202E}";

#[tokio::test]
async fn direction_controls_are_refused_in_names_and_addresses() {
    let server = TestServer::start().await;
    // Sign-up: in the address, and in a name.
    for c in ['\u{202E}', '\u{2066}', '\u{200F}', '\u{061C}'] {
        let page = sign_up_form(
            &server,
            &server.browser(),
            &format!("ann{c}@example.com"),
            "Ann",
        )
        .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.body.contains("direction of text"), "{}", page.body);
        assert!(!page.body.contains(c), "{c:?} echoed raw into the page");
    }
    let page = sign_up_form(
        &server,
        &server.browser(),
        "ann@example.com",
        &format!("Ann{RLO}nimda"),
    )
    .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains("first name") && page.body.contains("direction of text"),
        "{}",
        page.body
    );
    assert!(!page.body.contains(RLO));

    // BAPI: the error names the field.
    for (field, body) in [
        (
            "email_address",
            json!({"email_address": [format!("ann{RLO}@example.com")], "password": GOOD_PASSWORD}),
        ),
        (
            "first_name",
            json!({"email_address": ["ann@example.com"], "first_name": format!("A{RLO}b")}),
        ),
        (
            "last_name",
            json!({"email_address": ["ann@example.com"], "last_name": format!("A{RLO}b")}),
        ),
    ] {
        let (status, err) = server.backend().post("/v1/users", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert_eq!(err["errors"][0]["meta"]["param_name"], field, "{err}");
        assert!(err["errors"][0]["long_message"]
            .as_str()
            .unwrap()
            .contains("direction of text"));
    }
    assert!(users(&server).await.is_empty());

    // Profile edit.
    let b = server.browser();
    assert_eq!(
        sign_up_form(&server, &b, "ann@example.com", "Ann")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let profile = b.get(&server.url("/user")).await;
    let r = b
        .post_form(
            &server.url("/user/profile"),
            &[
                ("csrf_token", profile.csrf().as_str()),
                ("first_name", &format!("Ann{RLO}")),
                ("last_name", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("direction of text"), "{}", r.body);
    assert!(!r.body.contains(RLO));
    assert_eq!(users(&server).await[0]["first_name"], "Ann");
}

#[tokio::test]
async fn malformed_bapi_requests_answer_clerk_json_errors() {
    let server = TestServer::start().await;
    let user = server.create_user("ann@example.com", GOOD_PASSWORD).await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", server.bapi_url);
    let auth = |r: reqwest::RequestBuilder| r.bearer_auth(&server.secret_key);
    let cases: Vec<(&str, reqwest::RequestBuilder, StatusCode)> = vec![
        (
            "limit=abc",
            auth(http.get(url("/v1/users?limit=abc"))),
            StatusCode::BAD_REQUEST,
        ),
        (
            "limit=-1",
            auth(http.get(url("/v1/users?limit=-1"))),
            StatusCode::BAD_REQUEST,
        ),
        (
            "limit twice",
            auth(http.get(url("/v1/users?limit=1&limit=2"))),
            StatusCode::BAD_REQUEST,
        ),
        (
            "offset=1.5",
            auth(http.get(url("/v1/users?offset=1.5"))),
            StatusCode::BAD_REQUEST,
        ),
        (
            "broken escape",
            auth(http.get(url("/v1/users?limit=%zz"))),
            StatusCode::BAD_REQUEST,
        ),
        (
            "user_id twice",
            auth(http.get(url("/v1/sessions?user_id=a&user_id=b"))),
            StatusCode::BAD_REQUEST,
        ),
        (
            "nonce twice",
            auth(http.get(url("/v1/clients/handshake_payload?nonce=a&nonce=b"))),
            StatusCode::BAD_REQUEST,
        ),
        (
            "path not UTF-8",
            auth(http.get(url("/v1/users/%FF%FE"))),
            StatusCode::BAD_REQUEST,
        ),
        (
            "bad JSON",
            auth(
                http.post(url("/v1/users"))
                    .header("content-type", "application/json")
                    .body("{\"email_address\": ["),
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            "wrong JSON type",
            auth(
                http.post(url("/v1/users"))
                    .json(&json!({"email_address": "ann@example.com"})),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "unknown field",
            auth(
                http.post(url("/v1/sessions"))
                    .json(&json!({"user_id": user["id"], "x": 1})),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "wrong content type",
            auth(
                http.post(url("/v1/users"))
                    .header("content-type", "text/plain")
                    .body("{}"),
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "patch type",
            auth(
                http.patch(url("/v1/instance"))
                    .json(&json!({"sign_up": {"email_verification": "yes"}})),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "patch unknown",
            auth(
                http.patch(url("/v1/instance"))
                    .json(&json!({"test_mode": true})),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "wrong method",
            auth(http.put(url("/v1/users"))),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            "no route",
            auth(http.get(url("/v1/nothing"))),
            StatusCode::NOT_FOUND,
        ),
        (
            "no key",
            http.get(url("/v1/users?limit=abc")),
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (what, request, expected) in cases {
        let r = request.send().await.unwrap();
        let status = r.status();
        let content_type = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let text = r.text().await.unwrap();
        assert_eq!(status, expected, "{what}: {text}");
        assert_eq!(content_type, "application/json", "{what}: {text}");
        let body: Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: not JSON: {text}"));
        let e = &body["errors"][0];
        for key in ["message", "long_message", "code"] {
            assert!(
                e[key].as_str().is_some_and(|s| !s.is_empty()),
                "{what}: {key} in {body}"
            );
        }
    }
}
