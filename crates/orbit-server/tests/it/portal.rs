//! The hosted pages over HTTP: sign-up, sign-in, profile, sign-out, CSRF, redirects, limits.

use crate::harness::*;
use reqwest::StatusCode;
use serde_json::json;

/// Signs up on the portal `browser` comes from, opening the page with `redirect_url`.
async fn sign_up(browser: &Browser, email: &str, password: &str, redirect_url: &str) -> Page {
    let portal = &browser.origin;
    let page_url = format!("{portal}/sign-up?redirect_url={}", urlencode(redirect_url));
    let fields = [
        ("email_address", email),
        ("password", password),
        ("first_name", "Ada"),
        ("redirect_url", redirect_url),
    ];
    browser
        .submit(&page_url, &format!("{portal}/sign-up"), &fields)
        .await
}

/// Signs in on the portal `browser` comes from.
async fn sign_in(browser: &Browser, email: &str, password: &str, redirect_url: &str) -> Page {
    let url = format!("{}/sign-in", browser.origin);
    let fields = [
        ("email_address", email),
        ("password", password),
        ("redirect_url", redirect_url),
    ];
    browser.submit(&url, &url, &fields).await
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A server with one user, ada@example.com, whose password is `GOOD_PASSWORD`.
async fn server_with_ada() -> TestServer {
    let server = TestServer::start().await;
    server.create_user("ada@example.com", GOOD_PASSWORD).await;
    server
}

/// A server whose per-IP budget for sign-ins and sign-ups is `burst`, then one a minute.
async fn per_ip_limited(burst: u32) -> TestServer {
    TestServer::start_with(|c| {
        c.limits.per_ip_burst = burst;
        c.limits.per_ip_per_minute = 1;
    })
    .await
}

fn client_cookie(page: &Page) -> String {
    page.set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__client="))
        .expect("a __client cookie is set")
}

/// The value of the `__client` cookie `page` sets.
fn client_token(page: &Page) -> String {
    client_cookie(page)
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("__client=")
        .to_owned()
}

#[tokio::test]
async fn sign_up_sets_a_safe_client_cookie_and_shows_the_profile() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let resp = sign_up(&browser, "ada@example.com", GOOD_PASSWORD, "").await;
    assert_eq!(resp.status, StatusCode::SEE_OTHER, "{}", resp.body);
    assert_eq!(resp.location(), Some(&*server.url("/user")));
    let cookie = client_cookie(&resp);
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http in development: {cookie}"
    );
    assert!(
        !cookie.to_ascii_lowercase().contains("domain="),
        "host-only: {cookie}"
    );
    let profile = browser.get(&server.url("/user")).await;
    assert_eq!(profile.status, StatusCode::OK);
    assert!(profile.body.contains("ada@example.com"));
    assert!(profile.body.contains("value=\"Ada\""));
    assert!(profile.body.contains("This device"));
    assert!(profile.body.contains("Chrome on Linux"));
    // The session is visible to the backend.
    let sessions = server.sessions_of_the_user("").await;
    assert_eq!(sessions[0]["status"], "active");
}

#[tokio::test]
async fn sign_up_errors_are_shown_next_to_the_field() {
    let server = TestServer::start().await;
    server.create_user("taken@example.com", GOOD_PASSWORD).await;
    let browser = server.browser();
    let cases = [
        (
            "taken@example.com",
            GOOD_PASSWORD,
            "email_address-error",
            "That email address is taken",
        ),
        (
            "nope",
            GOOD_PASSWORD,
            "email_address-error",
            "name@example.com",
        ),
        (
            "new@example.com",
            "short",
            "password-error",
            "at least 8 characters",
        ),
        (
            "new@example.com",
            "password1",
            "password-error",
            "commonly used",
        ),
        ("new@example.com", "", "password-error", "Enter a password"),
    ];
    for (email, password, field, text) in cases {
        let resp = sign_up(&browser, email, password, "").await;
        assert_eq!(
            resp.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{email}/{password}"
        );
        assert!(
            resp.body.contains(&format!("id=\"{field}\"")),
            "{email}/{password}: {}",
            resp.body
        );
        assert!(
            resp.body.contains(text),
            "{email}/{password} wants {text:?}"
        );
        assert!(resp
            .set_cookies()
            .iter()
            .all(|c| !c.starts_with("__client=")));
        // The form keeps what was typed (except the password).
        if !email.is_empty() {
            assert!(resp.body.contains(&format!("value=\"{email}\"")));
        }
    }
    let (_, count) = server.backend().get("/v1/users/count").await;
    assert_eq!(count["total_count"], 1);
}

#[tokio::test]
async fn unknown_email_and_wrong_password_look_the_same() {
    let server = TestServer::start().await;
    server.create_user("known@example.com", GOOD_PASSWORD).await;
    let browser = server.browser();
    let wrong = sign_in(&browser, "known@example.com", "not the password", "").await;
    let unknown = sign_in(&browser, "nobody@example.com", "not the password", "").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(wrong.set_cookies(), unknown.set_cookies());
    assert!(wrong.set_cookies().is_empty());
    assert_eq!(
        wrong.body.replace("known@example.com", "EMAIL"),
        unknown.body.replace("nobody@example.com", "EMAIL")
    );
    assert!(wrong
        .body
        .contains("The email address or password is incorrect."));
    let names = |p: &Page| {
        let mut v: Vec<String> = p
            .headers
            .keys()
            .map(|k| k.as_str().to_owned())
            .filter(|k| k != "x-request-id" && k != "date")
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&wrong), names(&unknown));
}

#[tokio::test]
async fn sign_in_rotates_the_client_cookie_and_sign_out_ends_the_session() {
    let server = server_with_ada().await;
    let browser = server.browser();
    // A client token planted before sign-in (session fixation) must be useless after it.
    let first = sign_in(&browser, "ada@example.com", GOOD_PASSWORD, "").await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let first_token = client_token(&first);

    let signed_out = browser
        .submit(&server.url("/sign-out"), &server.url("/sign-out"), &[])
        .await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_out.location(), Some(&*server.url("/sign-in")));
    let sessions = server.sessions_of_the_user("").await;
    assert_eq!(sessions[0]["status"], "ended");
    let after = browser.get(&server.url("/user")).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert!(after
        .location()
        .unwrap()
        .starts_with("/sign-in?redirect_url="));

    let second = sign_in(&browser, "ada@example.com", GOOD_PASSWORD, "").await;
    let second_token = client_token(&second);
    assert_ne!(
        first_token, second_token,
        "the client token rotates on sign-in"
    );
    // The old token no longer identifies the client.
    let stale = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (token, expected) in [
        (first_token, StatusCode::SEE_OTHER),
        (second_token, StatusCode::OK),
    ] {
        let r = stale
            .get(server.url("/user"))
            .header("cookie", format!("__client={token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), expected, "__client={token}");
    }
}

/// Every portal form, the code step of a sign-up included, refuses a foreign or `null` Origin
/// even with the browser's own CSRF token, and changes nothing: the browser stays signed in
/// with the same session and password.
#[tokio::test]
async fn every_portal_form_refuses_a_foreign_origin() {
    let server = server_with_ada().await;
    let browser = server.browser();
    let r = sign_in(&browser, "ada@example.com", GOOD_PASSWORD, "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let user_page = browser.get(&server.url("/user")).await;
    assert_eq!(user_page.status, StatusCode::OK);
    let csrf = user_page.csrf();
    let sid = this_device_session(&user_page.body);
    let revoke = format!("/user/sessions/{sid}/revoke");
    let forms: [(&str, &[(&str, &str)]); 7] = [
        (
            "/sign-in",
            &[
                ("email_address", "ada@example.com"),
                ("password", GOOD_PASSWORD),
            ],
        ),
        (
            "/sign-up",
            &[
                ("email_address", "eve@example.com"),
                ("password", GOOD_PASSWORD),
            ],
        ),
        ("/sign-up/verify", &[("sign_up", "x"), ("code", "123456")]),
        ("/sign-out", &[]),
        ("/user/profile", &[("first_name", "Mallory")]),
        (
            "/user/password",
            &[
                ("current_password", GOOD_PASSWORD),
                ("new_password", "a brand new passphrase"),
            ],
        ),
        (&revoke, &[]),
    ];
    for (path, fields) in forms {
        for origin in ["https://evil.example", "null"] {
            let mut all = vec![("csrf_token", csrf.as_str())];
            all.extend_from_slice(fields);
            let r = browser
                .http
                .post(server.url(path))
                .header("origin", origin)
                .form(&all)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} {origin}");
        }
    }
    let after = browser.get(&server.url("/user")).await;
    assert_eq!(after.status, StatusCode::OK);
    assert_eq!(this_device_session(&after.body), sid);
    assert!(!after.body.contains("Mallory"));
    let (_, users) = server.backend().get("/v1/users").await;
    assert_eq!(users.as_array().unwrap().len(), 1, "{users}");
    let r = sign_in(&server.browser(), "ada@example.com", GOOD_PASSWORD, "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "the password is unchanged");
}

#[tokio::test]
async fn forms_need_the_csrf_token_and_our_origin() {
    let server = server_with_ada().await;
    let browser = server.browser();
    let page = browser.get(&server.url("/sign-in")).await;
    let csrf = page.csrf();
    let fields = |token: &str| {
        vec![
            ("csrf_token", token.to_owned()),
            ("email_address", "ada@example.com".into()),
            ("password", GOOD_PASSWORD.into()),
        ]
    };
    // Missing and wrong tokens.
    for token in ["", "x", &"a".repeat(43)] {
        let r = browser
            .http
            .post(server.url("/sign-in"))
            .header("origin", &server.base)
            .form(&fields(token))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "token {token:?}");
        assert!(r.text().await.unwrap().contains("reload the page"));
    }
    // Right token, foreign or missing origin; a Referer from our own pages is accepted when
    // Origin is absent.
    for (header, expected) in [
        (
            Some(("origin", "https://evil.example".to_owned())),
            StatusCode::FORBIDDEN,
        ),
        (None, StatusCode::FORBIDDEN),
        (
            Some(("referer", server.url("/sign-in"))),
            StatusCode::SEE_OTHER,
        ),
    ] {
        let mut post = browser.http.post(server.url("/sign-in"));
        if let Some((name, value)) = &header {
            post = post.header(*name, value);
        }
        let r = post.form(&fields(&csrf)).send().await.unwrap();
        assert_eq!(r.status(), expected, "{header:?}");
    }
    // Another browser's token does not work with this browser's cookie.
    let other = server.browser().get(&server.url("/sign-in")).await.csrf();
    let fresh = server.browser();
    fresh.get(&server.url("/sign-in")).await;
    let r = fresh
        .post_form(
            &server.url("/sign-in"),
            &[
                ("csrf_token", &other),
                ("email_address", "ada@example.com"),
                ("password", GOOD_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn redirect_url_is_followed_only_when_allowed() {
    let server = server_with_ada().await;
    let allowed = [
        (
            "http://localhost:3000/dashboard?tab=1",
            "http://localhost:3000/dashboard?tab=1",
        ),
        ("http://LOCALHOST:3000/x", "http://localhost:3000/x"),
        ("/user?from=app", &*server.url("/user?from=app")),
    ];
    for (input, expected) in allowed {
        let browser = server.browser();
        let r = sign_in(&browser, "ada@example.com", GOOD_PASSWORD, input).await;
        let (location, dev_browser) = split_dev_browser(r.location().unwrap());
        assert_eq!(location, expected, "{input}");
        // Development: redirects to an app carry the browser's development token, so the app's
        // SDK learns of the sign-in; redirects within the portal do not.
        assert_eq!(
            dev_browser.is_some(),
            !expected.starts_with(&server.base),
            "{input}"
        );
    }
    let hostile = [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "http://localhost:3000@evil.example/",
        "http://localhost:3001/",
        "http://localhost.evil.example:3000/",
        "data:text/html,hi",
    ];
    for input in hostile {
        let browser = server.browser();
        let r = sign_in(&browser, "ada@example.com", GOOD_PASSWORD, input).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(
            r.location(),
            Some(&*server.url("/user")),
            "{input} must fall back to the portal"
        );
    }
    // Allowed redirect origins set on the instance extend the list.
    let orbit = server.orbit();
    let instance = orbit.instances().await.unwrap().remove(0);
    let mut settings = instance.settings.clone();
    settings.allowed_redirect_origins = vec!["https://*.preview.example".into()];
    orbit.update_settings(&instance.id, settings).await.unwrap();
    let browser = server.browser();
    let r = sign_in(
        &browser,
        "ada@example.com",
        GOOD_PASSWORD,
        "https://pr-7.preview.example/back",
    )
    .await;
    assert_eq!(
        split_dev_browser(r.location().unwrap()).0,
        "https://pr-7.preview.example/back"
    );
    // Sign-out honours the same policy.
    let r = browser
        .submit(
            &server.url("/sign-out"),
            &server.url("/sign-out"),
            &[("redirect_url", "https://evil.example")],
        )
        .await;
    assert_eq!(r.location(), Some(&*server.url("/sign-in")));
}

#[tokio::test]
async fn change_password_and_sign_out_other_devices() {
    let server = server_with_ada().await;
    let laptop = server.browser();
    let phone = server.browser();
    sign_in(&laptop, "ada@example.com", GOOD_PASSWORD, "").await;
    let user_url = server.url("/user");
    let pw_url = server.url("/user/password");

    let change = async |current: &str, new: &str| {
        let fields = [("current_password", current), ("new_password", new)];
        laptop.submit(&user_url, &pw_url, &fields).await
    };
    // A wrong current password, a weak new one.
    for (current, new, field) in [
        ("wrong one!", "a brand new passphrase", "current_password"),
        (GOOD_PASSWORD, "qwerty123", "new_password"),
    ] {
        let r = change(current, new).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert!(r.body.contains(&format!("id=\"{field}-error\"")), "{field}");
    }
    let r = change(GOOD_PASSWORD, "a brand new passphrase").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), Some("/user?notice=password"));
    assert!(laptop
        .get(&server.url("/user?notice=password"))
        .await
        .body
        .contains("Your password was changed."));

    let fresh = server.browser();
    assert_eq!(
        sign_in(&fresh, "ada@example.com", GOOD_PASSWORD, "")
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        sign_in(&fresh, "ada@example.com", "a brand new passphrase", "")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    // The phone signs in after the change (a session from before it would have been revoked).
    sign_in(&phone, "ada@example.com", "a brand new passphrase", "").await;

    // The laptop sees three sessions and signs the phone out.
    let page = laptop.get(&user_url).await;
    assert_eq!(page.body.matches("Sign out of this device").count(), 3);
    let phone_sid = this_device_session(&phone.get(&user_url).await.body);
    let laptop_sid = this_device_session(&page.body);
    assert_ne!(phone_sid, laptop_sid);
    let r = laptop
        .submit(
            &user_url,
            &server.url(&format!("/user/sessions/{phone_sid}/revoke")),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let (_, s) = server
        .backend()
        .get(&format!("/v1/sessions/{phone_sid}"))
        .await;
    assert_eq!(s["status"], "removed");
    let phone_after = phone.get(&user_url).await;
    assert_eq!(
        phone_after.status,
        StatusCode::SEE_OTHER,
        "the phone is signed out"
    );
    assert_eq!(
        laptop.get(&user_url).await.status,
        StatusCode::OK,
        "the laptop is not"
    );
    // Someone else's or an unknown session cannot be revoked.
    let r = laptop
        .submit(
            &user_url,
            &server.url("/user/sessions/sess_unknown/revoke"),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn profile_updates_names() {
    let server = server_with_ada().await;
    let b = server.browser();
    sign_in(&b, "ada@example.com", GOOD_PASSWORD, "").await;
    let update = async |fields: &[(&str, &str)]| {
        b.submit(&server.url("/user"), &server.url("/user/profile"), fields)
            .await
    };
    let r = update(&[("first_name", " Ada "), ("last_name", "Lovelace")]).await;
    assert_eq!(r.location(), Some("/user?notice=profile"));
    let (_, users) = server.backend().get("/v1/users").await;
    assert_eq!(
        (
            users[0]["first_name"].as_str(),
            users[0]["last_name"].as_str()
        ),
        (Some("Ada"), Some("Lovelace"))
    );
    let long = "n".repeat(300);
    let r = update(&[("first_name", &long)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"profile-error\""));
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_account_without_revealing_accounts() {
    let server = TestServer::account_limited(3).await;
    server.create_user("ada@example.com", GOOD_PASSWORD).await;
    for email in ["ada@example.com", "ghost@example.com"] {
        let b = server.browser();
        for _ in 0..3 {
            assert_eq!(
                sign_in(&b, email, "wrong password", "").await.status,
                StatusCode::UNPROCESSABLE_ENTITY
            );
        }
        let limited = sign_in(&b, email, "wrong password", "").await;
        assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "{email}");
        let retry: u64 = limited.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=300).contains(&retry), "{retry}");
        assert!(limited.body.contains("Too many sign-in attempts"));
        // Even the right password waits: the limit is checked first.
        if email == "ada@example.com" {
            assert_eq!(
                sign_in(&b, email, GOOD_PASSWORD, "").await.status,
                StatusCode::TOO_MANY_REQUESTS
            );
        }
    }
    // Other accounts are unaffected.
    server.create_user("bob@example.com", GOOD_PASSWORD).await;
    assert_eq!(
        sign_in(&server.browser(), "bob@example.com", GOOD_PASSWORD, "")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_ip() {
    let server = per_ip_limited(2).await;
    let b = server.browser();
    for _ in 0..2 {
        assert_eq!(
            sign_in(&b, "x@example.com", "wrong password", "")
                .await
                .status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    let r = sign_in(&b, "y@example.com", "wrong password", "").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn sign_up_shares_the_per_ip_budget() {
    // "That email is taken" reveals accounts, so sign-ups from one source are limited too.
    let server = per_ip_limited(2).await;
    let b = server.browser();
    for email in ["a@example.com", "b@example.com"] {
        assert_eq!(
            sign_up(&b, email, "short", "").await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    let r = sign_up(&b, "c@example.com", GOOD_PASSWORD, "").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.contains_key("retry-after"));
    let (_, count) = server.backend().get("/v1/users/count").await;
    assert_eq!(count["total_count"], 0);
}

#[tokio::test]
async fn trusted_proxy_decides_the_client_ip() {
    // With the loopback peer trusted, X-Forwarded-For names the client: two "clients" behind
    // the proxy get separate per-IP budgets.
    let server = TestServer::start_with(|c| {
        c.limits.per_ip_burst = 1;
        c.limits.per_ip_per_minute = 1;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let b = server.browser();
    let csrf = b.get(&server.url("/sign-in")).await.csrf();
    let post = |ip: &'static str| {
        b.http
            .post(server.url("/sign-in"))
            .header("origin", &server.base)
            .header("x-forwarded-for", format!("198.51.100.7, {ip}"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("email_address", "x@example.com"),
                ("password", "wrong password"),
            ])
            .send()
    };
    assert_eq!(
        post("203.0.113.1").await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        post("203.0.113.1").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        post("203.0.113.2").await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn pages_work_without_javascript_and_label_inputs() {
    let server = TestServer::start().await;
    for path in ["/sign-in", "/sign-up"] {
        let page = server.browser().get(&server.url(path)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains("<script"), "{path} has no scripts");
        for id in ["email_address", "password"] {
            assert!(
                page.body.contains(&format!("<label for=\"{id}\">")),
                "{path} labels {id}"
            );
        }
        assert!(page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
    }
    let r = server
        .browser()
        .get(&server.url("/sign-in?redirect_url=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E"))
        .await;
    assert!(
        !r.body.contains("<script>alert(1)"),
        "redirect_url is escaped"
    );
    let _ = json!({});
}

/// The id of the session marked "This device" on a profile page.
fn this_device_session(body: &str) -> String {
    let row = body
        .split("<tr>")
        .find(|r| r.contains("This device"))
        .expect("a row for this device");
    let start = row.find("/user/sessions/").unwrap() + "/user/sessions/".len();
    let end = row[start..].find('/').unwrap();
    row[start..start + end].to_owned()
}

/// A redirect target without its `__clerk_db_jwt` parameter, and that parameter.
fn split_dev_browser(location: &str) -> (String, Option<String>) {
    let mut u = url::Url::parse(location).unwrap();
    let dvb = u
        .query_pairs()
        .find(|(k, _)| k == "__clerk_db_jwt")
        .map(|(_, v)| v.into_owned());
    let rest: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| k != "__clerk_db_jwt")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if rest.is_empty() {
        u.set_query(None);
    } else {
        u.query_pairs_mut().clear().extend_pairs(rest);
    }
    (u.to_string(), dvb)
}

/// `POST /v1/client/sessions/{id}/tokens` from `browser` for its "This device" session.
async fn mint_status(server: &TestServer, browser: &Browser, sid: &str) -> StatusCode {
    browser.mint(&server.base, sid).await.status()
}

#[tokio::test]
async fn password_change_revokes_the_users_other_sessions() {
    let server = server_with_ada().await;
    let laptop = server.browser();
    let phone = server.browser();
    sign_in(&laptop, "ada@example.com", GOOD_PASSWORD, "").await;
    sign_in(&phone, "ada@example.com", GOOD_PASSWORD, "").await;
    let user_url = server.url("/user");
    let laptop_sid = this_device_session(&laptop.get(&user_url).await.body);
    let phone_sid = this_device_session(&phone.get(&user_url).await.body);
    assert_eq!(
        mint_status(&server, &phone, &phone_sid).await,
        StatusCode::OK
    );

    let fields = [
        ("current_password", GOOD_PASSWORD),
        ("new_password", "a brand new passphrase"),
    ];
    let r = laptop
        .submit(&user_url, &server.url("/user/password"), &fields)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(laptop
        .get(&server.url("/user?notice=password"))
        .await
        .body
        .contains("Changing your password signs you out on your other devices."));

    let phone_after = mint_status(&server, &phone, &phone_sid).await;
    assert!(
        [StatusCode::NOT_FOUND, StatusCode::UNAUTHORIZED].contains(&phone_after),
        "{phone_after}"
    );
    let (_, s) = server
        .backend()
        .get(&format!("/v1/sessions/{phone_sid}"))
        .await;
    assert_eq!(s["status"], "revoked");
    assert_eq!(phone.get(&user_url).await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        mint_status(&server, &laptop, &laptop_sid).await,
        StatusCode::OK
    );
    assert_eq!(laptop.get(&user_url).await.status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_current_passwords_are_rate_limited_like_sign_ins() {
    let server = TestServer::account_limited(3).await;
    server.create_user("ada@example.com", GOOD_PASSWORD).await;
    let b = server.browser();
    sign_in(&b, "ada@example.com", GOOD_PASSWORD, "").await;
    let change = async |current: &str| {
        let fields = [
            ("current_password", current),
            ("new_password", "a brand new passphrase"),
        ];
        b.submit(&server.url("/user"), &server.url("/user/password"), &fields)
            .await
    };
    for _ in 0..3 {
        assert_eq!(
            change("wrong one!").await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    let limited = change("wrong one!").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
    // The right password waits too, and the failures count against sign-in.
    assert_eq!(
        change(GOOD_PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        sign_in(&server.browser(), "ada@example.com", GOOD_PASSWORD, "")
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn the_current_password_check_takes_the_per_ip_budget() {
    let server = per_ip_limited(3).await;
    let b = server.browser();
    server.create_user("ada@example.com", GOOD_PASSWORD).await;
    sign_in(&b, "ada@example.com", GOOD_PASSWORD, "").await;
    let fields = [
        ("current_password", "wrong one!"),
        ("new_password", "a brand new passphrase"),
    ];
    let pw = server.url("/user/password");
    let user = server.url("/user");
    for _ in 0..2 {
        let r = b.submit(&user, &pw, &fields).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let r = b.submit(&user, &pw, &fields).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.contains_key("retry-after"));
}
