//! Test harness: a real server in-process on 127.0.0.1:0, a fresh SQLite data directory, the
//! development instance's keys, and HTTP clients that behave like a browser or a backend.

#![allow(dead_code)]

use orbit_core::clock::ManualClock;
use orbit_server::config::Config;
use orbit_server::{Running, ServeDeps};
use reqwest::header::{HeaderMap, HeaderValue, ORIGIN};
use reqwest::{redirect, StatusCode};
use serde_json::Value;
use std::time::Instant;

pub struct TestServer {
    pub running: Option<Running>,
    pub dir: tempfile::TempDir,
    /// `http://127.0.0.1:<port>`: FAPI and portal of the development instance.
    pub base: String,
    /// BAPI base (`<base>/bapi`).
    pub bapi_url: String,
    pub publishable_key: String,
    pub secret_key: String,
    pub config: Config,
    /// Clock, randomness and resolver the server runs on (and restarts with).
    pub deps: ServeDeps,
}

impl TestServer {
    /// A sign-in with a wrong password as a trusted proxy forwards it for `client_ip` (the
    /// server must trust 127.0.0.1); for per-source limits.
    pub async fn failed_sign_in_from(&self, client_ip: &str) -> reqwest::Response {
        self.sign_in_from(client_ip, "x@example.com", "wrong password")
            .await
            .send()
            .await
            .unwrap()
    }

    /// A sign-in POST as a trusted proxy forwards it for `client_ip`, from a fresh browser whose
    /// CSRF token is already fetched: ready to send (at once, or racing others).
    pub async fn sign_in_from(
        &self,
        client_ip: &str,
        email: &str,
        password: &str,
    ) -> reqwest::RequestBuilder {
        let b = self.browser();
        let csrf = b.get(&self.url("/sign-in")).await.csrf();
        b.http
            .post(self.url("/sign-in"))
            .header("origin", &self.base)
            .header("x-forwarded-for", client_ip)
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("email_address", email),
                ("password", password),
            ])
    }

    /// A server behind a trusted proxy on 127.0.0.1 with these per-source and per-instance
    /// budgets (a minute's worth, all at once).
    pub async fn behind_proxy(per_ip: u32, per_instance: u32) -> Self {
        Self::start_with(|c| {
            c.limits.per_ip_burst = per_ip;
            c.limits.per_ip_per_minute = per_ip;
            c.limits.per_instance_per_minute = per_instance;
            c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        })
        .await
    }

    /// A server whose only tight limit is `per_account_burst` failures per account and source.
    pub async fn account_limited(per_account_burst: u32) -> Self {
        Self::start_with(|c| {
            c.limits.per_account_burst = per_account_burst;
            c.limits.per_ip_burst = 1000;
            c.limits.per_ip_per_minute = 1000;
        })
        .await
    }

    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::for_test(dir.path());
        tweak(&mut config);
        Self::boot(dir, config, ServeDeps::system()).await
    }

    /// Like `start`, with the server's time read from `clock` (HTTP clients, cookie jars and
    /// tokio timers still run on real time).
    pub async fn start_with_clock(clock: &ManualClock) -> Self {
        Self::start_with_clock_and(clock, |_| {}).await
    }

    /// `start_with_clock` with a configuration tweak.
    pub async fn start_with_clock_and(
        clock: &ManualClock,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::for_test(dir.path());
        tweak(&mut config);
        let deps = ServeDeps {
            clock: std::sync::Arc::new(clock.clone()),
            ..ServeDeps::system()
        };
        Self::boot(dir, config, deps).await
    }

    async fn boot(dir: tempfile::TempDir, config: Config, deps: ServeDeps) -> Self {
        let running = orbit_server::start_with(config.clone(), deps.clone())
            .await
            .expect("server starts");
        Self::from_running(dir, config, deps, running).await
    }

    /// Boots on a configuration that may fail to bind (the caller tries several addresses).
    pub async fn try_boot(
        dir: tempfile::TempDir,
        config: Config,
    ) -> Result<Self, (tempfile::TempDir, orbit_server::serve::StartError)> {
        Self::try_boot_with(dir, config, ServeDeps::system()).await
    }

    /// `try_boot` on the given clock, randomness and resolver.
    pub async fn try_boot_with(
        dir: tempfile::TempDir,
        config: Config,
        deps: ServeDeps,
    ) -> Result<Self, (tempfile::TempDir, orbit_server::serve::StartError)> {
        match orbit_server::start_with(config.clone(), deps.clone()).await {
            Ok(running) => Ok(Self::from_running(dir, config, deps, running).await),
            Err(e) => Err((dir, e)),
        }
    }

    async fn from_running(
        dir: tempfile::TempDir,
        config: Config,
        deps: ServeDeps,
        running: Running,
    ) -> Self {
        let creds = match &running.created {
            Some(c) => c.clone(),
            None => {
                let instances = running.orbit.instances().await.unwrap();
                running.orbit.credentials(&instances[0]).await.unwrap()
            }
        };
        let base = running.public_base.clone();
        TestServer {
            bapi_url: format!("{base}/bapi"),
            base,
            publishable_key: creds.publishable_key,
            secret_key: creds.secret_key,
            running: Some(running),
            dir,
            config,
            deps,
        }
    }

    /// Stops the server and starts a new one on the same data directory (new port).
    pub async fn restart(mut self) -> Self {
        if let Some(r) = self.running.take() {
            r.stop().await.unwrap();
        }
        let TestServer {
            dir, config, deps, ..
        } = self;
        Self::boot(dir, config, deps).await
    }

    pub fn orbit(&self) -> &orbit_core::Orbit {
        &self.running.as_ref().unwrap().orbit
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A cookie-keeping client that does not follow redirects, like a browser whose every hop
    /// the test inspects.
    pub fn browser(&self) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(redirect::Policy::none())
                .user_agent("Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36")
                .build()
                .unwrap(),
            origin: self.base.clone(),
        }
    }

    pub fn backend(&self) -> Backend {
        Backend {
            http: reqwest::Client::new(),
            base: self.bapi_url.clone(),
            key: self.secret_key.clone(),
        }
    }

    /// Creates a user through BAPI and returns its JSON.
    pub async fn create_user(&self, email: &str, password: &str) -> Value {
        self.backend().create_user(email, password).await
    }

    /// The sessions (BAPI JSON) of the instance's only user; `filter` is appended to the query
    /// (`&status=active`).
    pub async fn sessions_of_the_user(&self, filter: &str) -> Value {
        let (_, users) = self.backend().get("/v1/users").await;
        assert_eq!(users.as_array().unwrap().len(), 1, "{users}");
        let uid = users[0]["id"].as_str().unwrap();
        let (status, sessions) = self
            .backend()
            .get(&format!("/v1/sessions?user_id={uid}{filter}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{sessions}");
        sessions
    }

    /// `POST /v1/dev_browser` as clerk-js sends it from the app on localhost:3000, by a browser
    /// without cookies; the answer is 200.
    pub async fn dev_browser_from_the_app(&self) -> reqwest::Response {
        let r = self
            .browser()
            .http
            .post(self.url("/v1/dev_browser"))
            .header(ORIGIN, "http://localhost:3000")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r
    }

    /// The directives of a development handshake for the app on localhost:3000 made by a
    /// browser without cookies that passes the development browser `dvb`.
    pub async fn dev_browser_handshake(&self, dvb: &str) -> Vec<String> {
        self.dev_browser_handshake_by(&self.browser(), dvb).await
    }

    /// Like `dev_browser_handshake`, made by `browser` (with its cookies).
    pub async fn dev_browser_handshake_by(&self, browser: &Browser, dvb: &str) -> Vec<String> {
        let mut u = url::Url::parse(&self.url("/v1/client/handshake")).unwrap();
        u.query_pairs_mut()
            .append_pair("redirect_url", "http://localhost:3000/x")
            .append_pair("format", "nonce")
            .append_pair("__clerk_db_jwt", dvb);
        let r = browser.get(u.as_str()).await;
        assert_eq!(r.status, StatusCode::TEMPORARY_REDIRECT, "{}", r.body);
        let location = url::Url::parse(r.location().unwrap()).unwrap();
        let nonce = location
            .query_pairs()
            .find(|(k, _)| k == "__clerk_handshake_nonce")
            .unwrap()
            .1
            .into_owned();
        self.backend().handshake_directives(&nonce).await
    }

    /// The instance's JWKS as FAPI publishes it (`/.well-known/jwks.json`).
    pub async fn jwks(&self) -> Value {
        reqwest::get(self.url("/.well-known/jwks.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

pub struct Backend {
    pub http: reqwest::Client,
    pub base: String,
    pub key: String,
}

impl Backend {
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.http.get(self.url(path))).await
    }
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.http.post(self.url(path)).json(&body)).await
    }
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.http.delete(self.url(path))).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        json_of(request.bearer_auth(&self.key).send().await.unwrap()).await
    }

    /// Redeems a handshake nonce, as an app's middleware does; returns the directives.
    pub async fn handshake_directives(&self, nonce: &str) -> Vec<String> {
        let (status, body) = self
            .get(&format!("/v1/clients/handshake_payload?nonce={nonce}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["directives"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().to_owned())
            .collect()
    }

    /// Registers a satellite domain and returns its JSON.
    pub async fn add_satellite(&self, name: &str) -> Value {
        let (status, body) = self
            .post(
                "/v1/domains",
                serde_json::json!({"name": name, "is_satellite": true}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Creates a session for `user_id` and a session token for it; returns the token.
    pub async fn mint_session_token(&self, user_id: &str) -> String {
        let (s, session) = self
            .post("/v1/sessions", serde_json::json!({"user_id": user_id}))
            .await;
        assert_eq!(s, StatusCode::OK, "{session}");
        let (s, token) = self
            .post(
                &format!("/v1/sessions/{}/tokens", session["id"].as_str().unwrap()),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{token}");
        token["jwt"].as_str().unwrap().to_owned()
    }

    /// Creates a user and returns its JSON.
    pub async fn create_user(&self, email: &str, password: &str) -> Value {
        let (status, body) = self
            .post(
                "/v1/users",
                serde_json::json!({"email_address": [email], "password": password}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

pub async fn json_of(r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub struct Browser {
    pub http: reqwest::Client,
    /// The portal origin this browser's forms are sent from.
    pub origin: String,
}

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }
    /// The value of the page's hidden CSRF field.
    pub fn csrf(&self) -> String {
        hidden(&self.body, "csrf_token").expect("page has a csrf_token field")
    }
}

pub fn hidden(body: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker)? + marker.len();
    let end = body[start..].find('"')?;
    Some(body[start..start + end].to_owned())
}

impl Browser {
    /// A cookie-keeping browser that does not follow redirects, whose forms come from `origin`.
    pub fn from_origin(origin: &str) -> Self {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(redirect::Policy::none())
                .build()
                .unwrap(),
            origin: origin.to_owned(),
        }
    }

    pub async fn get(&self, url: &str) -> Page {
        let r = self.http.get(url).send().await.unwrap();
        page_of(r).await
    }

    /// Posts a form the way a browser does from a page of `self.origin`.
    pub async fn post_form(&self, url: &str, fields: &[(&str, &str)]) -> Page {
        let mut headers = HeaderMap::new();
        headers.insert(ORIGIN, HeaderValue::from_str(&self.origin).unwrap());
        let r = self
            .http
            .post(url)
            .headers(headers)
            .form(fields)
            .send()
            .await
            .unwrap();
        page_of(r).await
    }

    /// `POST /v1/client/sessions/{sid}/tokens` at `fapi` (a base URL) as a page of
    /// `self.origin` sends it.
    pub async fn mint(&self, fapi: &str, sid: &str) -> reqwest::Response {
        self.mint_as(fapi, sid, &self.origin).await
    }

    /// The same, with `Origin: origin`.
    pub async fn mint_as(&self, fapi: &str, sid: &str, origin: &str) -> reqwest::Response {
        self.http
            .post(format!("{fapi}/v1/client/sessions/{sid}/tokens"))
            .header(ORIGIN, origin)
            .send()
            .await
            .unwrap()
    }

    /// Signs in on the hosted sign-in page of the portal at `self.origin`.
    pub async fn sign_in(&self, email: &str, password: &str) -> Page {
        let url = format!("{}/sign-in", self.origin);
        self.submit(
            &url,
            &url,
            &[("email_address", email), ("password", password)],
        )
        .await
    }

    /// Opens `page_url`, then submits its form with `fields` plus the page's CSRF token.
    pub async fn submit(&self, page_url: &str, action_url: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.get(page_url).await;
        assert_eq!(page.status, StatusCode::OK, "{page_url}: {}", page.body);
        let csrf = page.csrf();
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", &csrf)];
        all.extend_from_slice(fields);
        self.post_form(action_url, &all).await
    }
}

async fn page_of(r: reqwest::Response) -> Page {
    Page {
        status: r.status(),
        headers: r.headers().clone(),
        body: r.text().await.unwrap(),
    }
}

pub const GOOD_PASSWORD: &str = "correct horse battery staple";

/// Now, on the monotonic clock, for real elapsed time and deadlines on real processes (a child
/// `orbit`, a browser): the tests' one reading of `Instant::now` (clippy.toml bans it elsewhere;
/// the server's own time comes from its `Clock`).
#[allow(clippy::disallowed_methods)]
pub fn stopwatch() -> Instant {
    Instant::now()
}
