//! The Frontend API as clerk-js calls it (docs/design/frontend-api.md): GET and POST only with
//! `_method` overrides, the query parameters it always adds, form bodies, CORS with credentials
//! for the instance's origins, and the hostile versions of each call.

use crate::bapi::verify_with_jwks;
use crate::harness::*;
use reqwest::header::ORIGIN;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// The app clerk-js runs in, in the development instance.
pub const APP: &str = "http://localhost:3000";

/// What clerk-js adds to every call (`core/fapiClient.ts`): an API version Orbit has never
/// heard of must work as well as the one it speaks.
pub const CLERK_JS_QUERY: &str = "__clerk_api_version=2026-08-20&_clerk_js_version=6.40.0";

/// A browser running clerk-js on a page of `origin`: cookies kept, redirects not followed.
pub struct ClerkJs {
    pub http: reqwest::Client,
    pub fapi: String,
    pub origin: String,
}

/// An answer: status, headers, JSON body (a string when it is not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn error_code(&self) -> &str {
        self.body["errors"][0]["code"].as_str().unwrap_or_default()
    }
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }
    pub fn cors(&self) -> Option<&str> {
        self.headers
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap())
    }
}

impl ClerkJs {
    pub fn new(server: &TestServer, origin: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent("Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36")
                .build()
                .unwrap(),
            fapi: server.base.clone(),
            origin: origin.to_owned(),
        }
    }

    /// `path` (with its own query, if any) plus clerk-js's parameters.
    pub fn url(&self, path: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{}/v1{path}{sep}{CLERK_JS_QUERY}", self.fapi)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let r = req.send().await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        Answer {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        }
    }

    /// A GET from the page (cross-origin fetches carry `Origin`).
    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.http.get(self.url(path)).header(ORIGIN, &self.origin))
            .await
    }

    /// A POST with a form body, as clerk-js sends every call that is not a GET; `method` other
    /// than POST travels as `_method`.
    pub async fn call(&self, method: Method, path: &str, form: &[(&str, &str)]) -> Answer {
        let path = if method == Method::POST {
            path.to_owned()
        } else {
            let sep = if path.contains('?') { '&' } else { '?' };
            format!("{path}{sep}_method={method}")
        };
        self.send(
            self.http
                .post(self.url(&path))
                .header(ORIGIN, &self.origin)
                .form(form),
        )
        .await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.call(Method::POST, path, form).await
    }
}

/// A user signed in through the hosted page, and clerk-js on the app in that browser's jar.
async fn signed_in(server: &TestServer) -> (ClerkJs, String) {
    server.create_user("ada@example.com", GOOD_PASSWORD).await;
    let js = ClerkJs::new(server, APP);
    let b = Browser {
        http: js.http.clone(),
        origin: server.base.clone(),
    };
    let r = b.sign_in("ada@example.com", GOOD_PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let sessions = server.sessions_of_the_user("&status=active").await;
    (js, sessions[0]["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn posts_stand_for_other_methods_and_any_api_version_is_accepted() {
    let server = TestServer::start().await;
    let (js, sid) = signed_in(&server).await;

    // A token, as clerk-js asks: its query parameters, a form body with an empty organization.
    let path = format!("/client/sessions/{sid}/tokens?_clerk_retry_attempt=2");
    let r = js
        .post(&path, &[("organization_id", ""), ("tab_state", "focused")])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["jwt"].is_string(), "bare token: {}", r.body);
    // Any date as the API version, and clerk-js 5's.
    for version in ["2025-11-10", "2099-12-31", "not-a-date"] {
        let r = js
            .send(
                js.http
                    .post(format!(
                        "{}/v1/client/sessions/{sid}/tokens?__clerk_api_version={version}",
                        server.base
                    ))
                    .header(ORIGIN, APP),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{version}: {}", r.body);
    }
    // The same request with a JSON body, as a script might send it.
    let r = js
        .send(
            js.http
                .post(js.url(&format!("/client/sessions/{sid}/tokens")))
                .header(ORIGIN, APP)
                .json(&serde_json::json!({"organization_id": null})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // `_method` other than the three is refused, and a method the path has not is 405.
    let r = js.call(Method::TRACE, "/client/sessions", &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.error_code(), "form_param_value_invalid");
    assert!(r.body["errors"][0]["long_message"]
        .as_str()
        .unwrap()
        .contains("TRACE"));
    let r = js
        .call(
            Method::PATCH,
            &format!("/client/sessions/{sid}/tokens"),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    // Still signed in: neither touched the session.
    let r = js
        .post(&format!("/client/sessions/{sid}/tokens"), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK);

    // Sign-out as clerk-js sends it: `POST /v1/client/sessions?_method=DELETE`.
    let r = js.call(Method::DELETE, "/client/sessions", &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = js
        .post(&format!("/client/sessions/{sid}/tokens"), &[])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "signed out: {}", r.body);
}

#[tokio::test]
async fn cors_with_credentials_for_the_instances_origins_only() {
    let server = TestServer::start().await;
    let (js, sid) = signed_in(&server).await;
    let tokens = js.url(&format!("/client/sessions/{sid}/tokens"));

    // The app's origin: CORS with credentials, on success and on errors alike (clerk-js reads
    // the error codes), with the headers it reads exposed.
    let r = js
        .post(&format!("/client/sessions/{sid}/tokens"), &[])
        .await;
    assert_eq!(r.cors(), Some(APP));
    assert_eq!(r.headers["access-control-allow-credentials"], "true");
    assert_eq!(r.headers["vary"], "Origin");
    assert_eq!(r.headers["cache-control"], "no-store");
    assert!(r.headers["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .contains("retry-after"));
    let r = js.post("/client/sessions/sess_not_mine/tokens", &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.cors(), Some(APP), "errors carry CORS too");
    assert_eq!(r.error_code(), "resource_not_found");

    // A preflight from the app is answered; from anywhere else it is refused without CORS.
    let preflight = |origin: &'static str| {
        js.http
            .request(Method::OPTIONS, &tokens)
            .header(ORIGIN, origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
    };
    let r = js.send(preflight(APP)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.cors(), Some(APP));
    assert_eq!(r.headers["access-control-allow-credentials"], "true");
    assert!(r.headers["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("DELETE"));
    assert_eq!(r.headers["access-control-allow-headers"], "content-type");
    for foreign in [
        "https://evil.example",
        "null",
        "http://localhost:3000.evil.example",
    ] {
        let r = js.send(preflight(foreign)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{foreign}");
        assert_eq!(r.cors(), None, "{foreign}");
        assert_eq!(r.error_code(), "origin_invalid");
    }

    // A foreign page's POST is refused (CSRF) and changes nothing; so is one without Origin.
    let evil = ClerkJs {
        http: js.http.clone(),
        fapi: js.fapi.clone(),
        origin: "https://evil.example".into(),
    };
    for r in [
        evil.call(Method::DELETE, "/client/sessions", &[]).await,
        js.send(js.http.post(js.url("/client/sessions?_method=DELETE")))
            .await,
    ] {
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert_eq!(r.error_code(), "origin_invalid");
        assert_eq!(r.cors(), None);
        assert!(r.set_cookies().is_empty());
    }
    let r = js
        .post(&format!("/client/sessions/{sid}/tokens"), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "still signed in");
}

#[tokio::test]
async fn malformed_and_oversized_bodies_are_refused() {
    let server = TestServer::start().await;
    let (js, sid) = signed_in(&server).await;
    let tokens = js.url(&format!("/client/sessions/{sid}/tokens"));
    let post = |ct: &'static str, body: Vec<u8>| {
        js.http
            .post(&tokens)
            .header(ORIGIN, APP)
            .header("content-type", ct)
            .body(body)
    };
    let r = js
        .send(post("application/json", b"{\"organization_id\":".to_vec()))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.error_code(), "form_param_format_invalid");
    assert_eq!(r.cors(), Some(APP));
    // A field given twice is refused rather than guessed at.
    let r = js
        .send(post(
            "application/x-www-form-urlencoded",
            b"organization_id=a&organization_id=b".to_vec(),
        ))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.error_code(), "form_param_format_invalid");
    let r = js.send(post("text/plain", b"hello".to_vec())).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.body);
    let big = vec![b'a'; server.config.max_body_bytes + 1];
    let r = js
        .send(post("application/x-www-form-urlencoded", big))
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.error_code(), "request_body_too_large");
}

#[tokio::test]
async fn the_environment_comes_from_the_instances_settings() {
    let server = TestServer::start().await;
    let js = ClerkJs::new(&server, APP);
    let r = js.get("/environment").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.cors(), Some(APP));
    let env = &r.body;
    // A bare resource, as clerk-js reads it.
    assert!(env.get("response").is_none(), "{env}");
    let display = &env["display_config"];
    assert_eq!(display["instance_environment_type"], "development");
    assert_eq!(display["application_name"], "My application");
    // No sign-in URL configured: the hosted pages on the primary's FAPI host.
    assert_eq!(display["sign_in_url"], format!("{}/sign-in", server.base));
    assert_eq!(display["sign_up_url"], format!("{}/sign-up", server.base));
    assert_eq!(display["user_profile_url"], format!("{}/user", server.base));
    assert_eq!(display["home_url"], "http://localhost:3000");
    assert_eq!(display["captcha_public_key"], Value::Null);
    assert_eq!(env["auth_config"]["single_session_mode"], true);
    let attributes = &env["user_settings"]["attributes"];
    assert_eq!(attributes["email_address"]["used_for_first_factor"], true);
    assert_eq!(attributes["email_address"]["verify_at_sign_up"], false);
    assert_eq!(attributes["password"]["required"], true);
    assert_eq!(attributes["first_name"]["enabled"], true);
    assert_eq!(attributes["phone_number"]["enabled"], false);
    assert_eq!(
        env["user_settings"]["password_settings"]["min_length"],
        serde_json::json!(orbit_core::password::PasswordPolicy::default().min_chars)
    );

    // The development "touch": `POST /v1/environment?_method=PATCH`, empty body: the same.
    let touched = js.call(Method::PATCH, "/environment", &[]).await;
    assert_eq!(touched.status, StatusCode::OK, "{}", touched.body);
    assert_eq!(touched.body, r.body);
    // Another site may read nothing and touch nothing.
    let evil = ClerkJs::new(&server, "https://evil.example");
    let r = evil.get("/environment").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.cors(), None);
    let r = evil.call(Method::PATCH, "/environment", &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error_code(), "origin_invalid");
}

#[tokio::test]
async fn the_client_as_clerk_js_loads_it() {
    let server = TestServer::start().await;
    // A browser that never signed in: `null`, not an error (a 4xx would stop clerk-js).
    let stranger = ClerkJs::new(&server, APP);
    let r = stranger.get("/client").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body,
        serde_json::json!({"response": null, "client": null})
    );

    let (js, sid) = signed_in(&server).await;
    let r = js.get("/client").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["client"], Value::Null);
    let client = &r.body["response"];
    assert_eq!(client["object"], "client");
    assert!(client["id"].as_str().unwrap().starts_with("client_"));
    assert_eq!(client["last_active_session_id"], sid.as_str());
    // No cookie expiry within 8 days: clerk-js would detour every navigation otherwise.
    assert_eq!(client["cookie_expires_at"], Value::Null);
    let sessions = client["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    let session = &sessions[0];
    assert_eq!(session["id"], sid.as_str());
    assert_eq!(session["status"], "active");
    assert_eq!(session["public_user_data"]["identifier"], "ada@example.com");
    assert_eq!(
        session["user"]["email_addresses"][0]["email_address"],
        "ada@example.com"
    );
    assert_eq!(
        session["user"]["primary_email_address_id"],
        session["user"]["email_addresses"][0]["id"]
    );
    assert_eq!(session["user"]["password_enabled"], true);
    assert!(session["user"].get("private_metadata").is_none());
    // A fresh token for the page that asked, which clerk-js uses without minting.
    let jwt = session["last_active_token"]["jwt"].as_str().unwrap();
    let (_, claims) = verify_with_jwks(jwt, &server.jwks().await);
    assert_eq!(claims["sid"], sid.as_str());
    assert_eq!(claims["azp"], APP);

    // Without an allowed Origin the client is shown without a token (no credential for a
    // page the instance does not know), and a foreign page cannot read it at all.
    let r = js.send(js.http.get(js.url("/client"))).await;
    assert_eq!(
        r.body["response"]["sessions"][0]["last_active_token"],
        Value::Null
    );
    let evil = ClerkJs {
        http: js.http.clone(),
        fapi: js.fapi.clone(),
        origin: "https://evil.example".into(),
    };
    let r = evil.get("/client").await;
    assert_eq!(r.cors(), None);
    assert_eq!(
        r.body["response"]["sessions"][0]["last_active_token"],
        Value::Null
    );
}

/// clerk-js 5 (inside `@clerk/remix` 4) sends `__clerk_api_version=2025-11-10`, clerk-js 6
/// `2026-08-20`. Both read the environment and the client Orbit gives (remix.rs and nextjs.rs
/// run them in Chromium with no SDK error), so both versions get one shape: the same answers,
/// but for the freshly minted token.
#[tokio::test]
async fn clerk_js_5_and_6_read_the_same_environment_and_client() {
    let server = TestServer::start().await;
    let (js, sid) = signed_in(&server).await;
    let as_version = |path: &str, api: &str, clerk_js: &str| {
        js.http
            .get(format!(
                "{}/v1{path}?__clerk_api_version={api}&_clerk_js_version={clerk_js}",
                js.fapi
            ))
            .header(ORIGIN, &js.origin)
    };
    for path in ["/environment", "/client"] {
        let mut answers = Vec::new();
        for (api, clerk_js) in [("2025-11-10", "5.128.0"), ("2026-08-20", "6.40.0")] {
            let r = js.send(as_version(path, api, clerk_js)).await;
            assert_eq!(r.status, StatusCode::OK, "{path} as {api}: {}", r.body);
            let mut body = r.body;
            if let Some(sessions) = body["response"]["sessions"].as_array_mut() {
                for session in sessions {
                    let jwt = session["last_active_token"]["jwt"].take();
                    assert!(jwt.is_string(), "{path} as {api}: a token for the page");
                }
            }
            answers.push(body);
        }
        assert_eq!(answers[0], answers[1], "{path}");
    }
    let r = js
        .send(as_version("/client", "2025-11-10", "5.128.0"))
        .await;
    assert_eq!(r.body["response"]["last_active_session_id"], sid.as_str());
}

#[tokio::test]
async fn sign_out_as_clerk_js_sends_it() {
    let server = TestServer::start().await;
    // `Client.removeSessions` and `Client.destroy`.
    for path in ["/client/sessions", "/client"] {
        let server_user = format!("{}@example.com", path.replace('/', "_"));
        server.create_user(&server_user, GOOD_PASSWORD).await;
        let js = ClerkJs::new(&server, APP);
        let b = Browser {
            http: js.http.clone(),
            origin: server.base.clone(),
        };
        b.sign_in(&server_user, GOOD_PASSWORD).await;
        let sid = js.get("/client").await.body["response"]["last_active_session_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = js.call(Method::DELETE, path, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        // The client stays, without sessions, in both places clerk-js reads.
        for c in [&r.body["response"], &r.body["client"]] {
            assert_eq!(c["sessions"], serde_json::json!([]), "{path}: {}", r.body);
            assert_eq!(c["last_active_session_id"], Value::Null);
        }
        let r = js
            .post(&format!("/client/sessions/{sid}/tokens"), &[])
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        let r = js.get("/client").await;
        assert_eq!(r.body["response"]["sessions"], serde_json::json!([]));
    }
    // Signing out a browser that has no client is no error.
    let r = ClerkJs::new(&server, APP)
        .call(Method::DELETE, "/client/sessions", &[])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body,
        serde_json::json!({"response": null, "client": null})
    );
}

/// Every call of the Frontend API that is not a GET, as clerk-js sends it, refuses a missing,
/// `null` or foreign `Origin` before anything is read or changed: no CORS, no cookie, no row.
#[tokio::test]
async fn every_state_change_needs_an_allowed_origin() {
    let server = TestServer::start().await;
    let (js, sid) = signed_in(&server).await;
    let calls: Vec<(Method, String)> = vec![
        (Method::PATCH, "/environment".into()),
        (Method::DELETE, "/client".into()),
        (Method::DELETE, "/client/sessions".into()),
        (Method::POST, "/client/sign_ins".into()),
        (
            Method::POST,
            "/client/sign_ins/sia_x/attempt_first_factor".into(),
        ),
        (Method::POST, "/client/sign_ups".into()),
        (
            Method::POST,
            "/client/sign_ups/sua_x/prepare_verification".into(),
        ),
        (
            Method::POST,
            "/client/sign_ups/sua_x/attempt_verification".into(),
        ),
        (Method::POST, format!("/client/sessions/{sid}/touch")),
        (Method::POST, format!("/client/sessions/{sid}/tokens")),
        (Method::POST, format!("/client/sessions/{sid}/end")),
        (Method::POST, format!("/client/sessions/{sid}/remove")),
        (Method::PATCH, format!("/me?_clerk_session_id={sid}")),
        (Method::POST, "/me/change_password".into()),
        (Method::POST, format!("/me/sessions/{sid}/revoke")),
    ];
    let form = [
        ("identifier", "ada@example.com"),
        ("email_address", "new@example.com"),
        ("password", GOOD_PASSWORD),
        ("strategy", "password"),
        ("first_name", "Pwned"),
        ("current_password", GOOD_PASSWORD),
        ("new_password", "a brand new passphrase"),
    ];
    let before = crate::fapi::row_counts(&server).await;
    for (method, path) in &calls {
        for origin in [None, Some("null"), Some("https://evil.example")] {
            let url = if *method == Method::POST {
                js.url(path)
            } else {
                let sep = if path.contains('?') { '&' } else { '?' };
                js.url(&format!("{path}{sep}_method={method}"))
            };
            let mut req = js.http.post(url).form(&form);
            if let Some(o) = origin {
                req = req.header(ORIGIN, o);
            }
            let r = js.send(req).await;
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "{method} {path} {origin:?}"
            );
            assert_eq!(r.error_code(), "origin_invalid", "{method} {path}");
            assert_eq!(r.cors(), None, "{method} {path}");
            assert!(r.set_cookies().is_empty(), "{method} {path} {origin:?}");
        }
    }
    assert_eq!(crate::fapi::row_counts(&server).await, before);
    let r = js
        .post(&format!("/client/sessions/{sid}/tokens"), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "still signed in");
    let r = js.get(&format!("/me?_clerk_session_id={sid}")).await;
    assert_eq!(r.body["response"]["first_name"], Value::Null, "not renamed");
}

/// The development FAPI host `127.0.0.1:<port>` also answers as `localhost:<port>` (the proxy
/// URL `orbit serve` prints, same-site with apps on `localhost` ports); no other name, nor
/// another port, reaches an instance, and a production instance has no such alias.
#[tokio::test]
async fn the_development_fapi_answers_as_localhost_on_its_own_port_only() {
    let server = TestServer::start().await;
    let port = url::Url::parse(&server.base).unwrap().port().unwrap();
    let http = reqwest::Client::new();
    let environment = |host: String| {
        http.get(server.url("/v1/environment"))
            .header("host", host)
            .send()
    };
    let r = environment(format!("localhost:{port}")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let env: Value = r.json().await.unwrap();
    assert_eq!(
        env["display_config"]["instance_environment_type"],
        "development"
    );
    for host in [
        format!("localhost:{}", port.wrapping_add(1)),
        "localhost".into(),
        format!("LOCALHOST.:{port}"),
        format!("127.0.0.2:{port}"),
        format!("evil.localhost:{port}"),
    ] {
        let r = environment(host.clone()).await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{host}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], "host_not_found", "{host}");
    }
    // A browser signing in through the alias gets its client there, and it works there.
    let mut clerk = ClerkJs::new(&server, APP);
    clerk.fapi = format!("http://localhost:{port}");
    server.create_user("ada@example.com", GOOD_PASSWORD).await;
    let a = clerk
        .call(
            Method::POST,
            "/client/sign_ins",
            &[
                ("identifier", "ada@example.com"),
                ("password", GOOD_PASSWORD),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["response"]["status"], "complete");
    let c = clerk.get("/client").await;
    assert_eq!(
        c.body["response"]["sessions"][0]["user"]["email_addresses"][0]["email_address"],
        "ada@example.com",
        "{} {:?}",
        c.body,
        a.set_cookies()
    );
}

/// A production instance's FAPI hosts have no `localhost` alias, even when the server listens
/// on a loopback address.
#[tokio::test]
async fn a_production_instance_has_no_localhost_alias() {
    let server = TestServer::start().await;
    let orbit = server.orbit();
    let port = url::Url::parse(&server.base).unwrap().port().unwrap();
    orbit
        .create_application(
            "Shop",
            orbit_core::model::InstanceKind::Production,
            "shop.test",
            &format!("127.0.0.1:{}", port.wrapping_add(7)),
        )
        .await
        .unwrap();
    let found = orbit
        .resolve_host(&format!("localhost:{}", port.wrapping_add(7)))
        .await
        .unwrap();
    assert!(found.is_none());
    assert!(orbit
        .resolve_host(&format!("127.0.0.1:{}", port.wrapping_add(7)))
        .await
        .unwrap()
        .is_some());
}
