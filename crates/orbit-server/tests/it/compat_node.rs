//! Compatibility with Clerk's published Node SDK: `@clerk/backend` 3.x (pinned in
//! `compat/node/package.json`) runs as an app server's middleware in a Node process
//! (`compat/node/authenticate.mjs`, JSON lines over stdin/stdout) and authenticates requests
//! against this Orbit server, while the test plays the browser: a cookie jar that follows Orbit's
//! redirects and carries the cookies the SDK's responses set.
//!
//! Needs Node >= 20.9 and `npm ci --prefix compat/node` (the test fails, never skips, without them).

use crate::harness::*;
use crate::world::*;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use url::Url;

fn compat_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../compat/node")
        .canonicalize()
        .expect("compat/node exists")
}

/// The Node process running `@clerk/backend`: one per test, one request at a time.
pub(crate) struct NodeSdk {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
    next_id: u64,
    _ca_file: Option<tempfile::NamedTempFile>,
}

/// What the SDK decided about one request (`authenticateRequest`'s request state).
#[derive(Debug)]
pub(crate) struct AuthResult {
    status: String,
    reason: Option<String>,
    user_id: Option<String>,
    pub(crate) session_id: Option<String>,
    headers: Vec<(String, String)>,
    raw: Value,
}

impl AuthResult {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn location(&self) -> Option<&str> {
        self.header("location")
    }
    fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.as_str())
            .collect()
    }
    pub(crate) fn assert_signed_in(&self, user_id: &str) {
        assert_eq!(self.status, "signed-in", "{:#}", self.raw);
        assert_eq!(self.user_id.as_deref(), Some(user_id), "{:#}", self.raw);
        assert!(
            self.session_id.as_deref().is_some_and(|s| !s.is_empty()),
            "{:#}",
            self.raw
        );
    }
    fn assert_signed_out(&self, reason: &str) {
        assert_eq!(
            (self.status.as_str(), self.reason.as_deref()),
            ("signed-out", Some(reason)),
            "{:#}",
            self.raw
        );
    }
    /// Signed in with neither a redirect nor a `Set-Cookie`: a page served from the cookies alone.
    fn assert_signed_in_from_cookies(&self, user_id: &str) {
        self.assert_signed_in(user_id);
        assert!(
            self.location().is_none() && self.set_cookies().is_empty(),
            "{:#}",
            self.raw
        );
    }
    fn assert_handshake(&self, reason: &str) -> Url {
        assert_eq!(
            (self.status.as_str(), self.reason.as_deref()),
            ("handshake", Some(reason)),
            "{:#}",
            self.raw
        );
        assert_eq!(
            self.header("cache-control"),
            Some("no-store"),
            "{:#}",
            self.raw
        );
        Url::parse(self.location().expect("a handshake redirects")).unwrap()
    }
}

impl NodeSdk {
    /// Starts the driver and waits until it is ready. `world`: trust its CA and resolve `*.test`
    /// to its address.
    async fn start(world: Option<&ProdWorld>) -> Self {
        let dir = compat_dir();
        assert!(
            dir.join("node_modules/@clerk/backend/package.json").exists(),
            "@clerk/backend is not installed in {}: run `npm ci --prefix compat/node` (from the repository root) first",
            dir.display()
        );
        let preload = Url::from_file_path(dir.join("resolve-test-hosts.mjs")).unwrap();
        let mut cmd = Command::new("node");
        cmd.arg("--import")
            .arg(preload.as_str())
            .arg(dir.join("authenticate.mjs"))
            .current_dir(&dir)
            .env("CLERK_TELEMETRY_DISABLED", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut ca_file = None;
        if let Some(w) = world {
            let mut f = tempfile::NamedTempFile::new().unwrap();
            f.write_all(w.certs.ca_pem.as_bytes()).unwrap();
            cmd.env("NODE_EXTRA_CA_CERTS", f.path())
                .env("ORBIT_TEST_IP", w.ip.to_string());
            ca_file = Some(f);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `node` (Node >= 20.9 must be on PATH): {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        let mut sdk = NodeSdk {
            child,
            stdin,
            lines: rx,
            next_id: 0,
            _ca_file: ca_file,
        };
        sdk.ready().await;
        sdk
    }

    async fn recv(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(30), self.lines.recv())
            .await
            .expect("the Node driver answers within 30 s")
            .expect("the Node driver exited (see its stderr above)");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("driver printed {line:?}: {e}"))
    }

    async fn ready(&mut self) {
        let hello = self.recv().await;
        assert_eq!(hello["ready"], true, "{hello}");
    }

    /// A top-level navigation to `url` by a browser with `jar` (see `navigation`).
    async fn visit(
        &mut self,
        options: &Value,
        auth_options: &Value,
        jar: &Jar,
        url: &str,
    ) -> AuthResult {
        self.authenticate(options, auth_options, url, &navigation(jar, url))
            .await
    }

    /// `createClerkClient(options).authenticateRequest(new Request(url, {headers}), auth_options)`.
    pub(crate) async fn authenticate(
        &mut self,
        options: &Value,
        auth_options: &Value,
        url: &str,
        headers: &[(&str, String)],
    ) -> AuthResult {
        self.next_id += 1;
        let id = self.next_id;
        let headers: serde_json::Map<String, Value> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String(v.clone())))
            .collect();
        let msg = json!({"id": id, "options": options, "authOptions": auth_options, "request": {"url": url, "method": "GET", "headers": headers}});
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{msg}").unwrap();
        stdin.flush().unwrap();
        let out = self.recv().await;
        assert_eq!(out["id"], id, "{out}");
        assert!(
            out.get("error").is_none(),
            "authenticateRequest({url}) threw: {}",
            out["error"].as_str().unwrap_or_default()
        );
        let s = |k: &str| out[k].as_str().map(str::to_owned);
        AuthResult {
            status: s("status").unwrap(),
            reason: s("reason").filter(|r| !r.is_empty()),
            user_id: s("userId"),
            session_id: s("sessionId"),
            headers: out["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p[0].as_str().unwrap().to_owned(),
                        p[1].as_str().unwrap().to_owned(),
                    )
                })
                .collect(),
            raw: out,
        }
    }
}

impl Drop for NodeSdk {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The headers a browser sends on a top-level navigation to `url`, with the jar's cookies for it.
fn navigation(jar: &Jar, url: &str) -> Vec<(&'static str, String)> {
    let u = Url::parse(url).unwrap();
    let host = match u.port() {
        Some(p) => format!("{}:{p}", u.host_str().unwrap()),
        None => u.host_str().unwrap().to_owned(),
    };
    let mut h = vec![
        ("host", host),
        (
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8".to_owned(),
        ),
        ("sec-fetch-dest", "document".to_owned()),
        ("sec-fetch-mode", "navigate".to_owned()),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36".to_owned(),
        ),
    ];
    if let Some(c) = jar.cookies(&u) {
        h.push(("cookie", c.to_str().unwrap().to_owned()));
    }
    h
}

/// The browser receives the app's response for `url`: it stores every `Set-Cookie`.
fn apply_set_cookies(jar: &Jar, url: &str, result: &AuthResult) {
    let u = Url::parse(url).unwrap();
    for c in result.set_cookies() {
        jar.add_cookie_str(c, &u);
    }
}

fn query(url: &Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

pub(crate) fn jwt_claims(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

// ---- production ---------------------------------------------------------------------------

/// The driver for `world`, and the client options for its production instance.
pub(crate) async fn prod_sdk(world: &ProdWorld) -> (NodeSdk, Value) {
    let options = json!({"secretKey": world.secret_key, "publishableKey": world.publishable_key, "apiUrl": world.bapi_url()});
    (NodeSdk::start(Some(world)).await, options)
}

#[tokio::test]
async fn node_sdk_accepts_orbit_session_tokens_by_header_and_cookie() {
    let world = ProdWorld::start().await;
    let (mut sdk, options) = prod_sdk(&world).await;
    let backend = world.backend();
    let user = backend.create_user("ada@example.com", GOOD_PASSWORD).await;
    let user_id = user["id"].as_str().unwrap();
    let jwt = backend.mint_session_token(user_id).await;
    let none = json!({});
    // An API call with `Authorization: Bearer`.
    let api = |token: &str| {
        [
            ("host", "primary.test".to_owned()),
            ("accept", "application/json".to_owned()),
            ("authorization", format!("Bearer {token}")),
        ]
    };
    let orders = "https://primary.test/api/orders";

    // The JWKS comes from Orbit's BAPI over TLS.
    let r = sdk.authenticate(&options, &none, orders, &api(&jwt)).await;
    r.assert_signed_in(user_id);
    assert_eq!(r.raw["sessionId"], jwt_claims(&jwt)["sid"]);

    // A page load with `__session` and `__client_uat` cookies.
    let iat = jwt_claims(&jwt)["iat"].as_i64().unwrap();
    let page = [
        ("host", "primary.test".to_owned()),
        ("accept", "text/html".to_owned()),
        ("sec-fetch-dest", "document".to_owned()),
        ("cookie", format!("__session={jwt}; __client_uat={iat}")),
    ];
    let r = sdk
        .authenticate(&options, &none, "https://primary.test/dashboard", &page)
        .await;
    r.assert_signed_in(user_id);
    assert!(r.location().is_none(), "{:#}", r.raw);

    // A token with a broken signature is refused.
    let (head, rest) = jwt.rsplit_once('.').unwrap();
    let flipped = if rest.starts_with('A') { "B" } else { "A" };
    let forged = format!("{head}.{flipped}{}", &rest[1..]);
    let r = sdk
        .authenticate(&options, &none, orders, &api(&forged))
        .await;
    r.assert_signed_out("token-invalid-signature");
}

#[tokio::test]
async fn node_sdk_syncs_a_production_satellite_in_both_handshake_formats() {
    let world = ProdWorld::start().await;
    world.add_satellite("satellite.test", true).await;
    let (mut sdk, options) = prod_sdk(&world).await;
    let satellite = json!({
        "isSatellite": true,
        "domain": "satellite.test",
        "signInUrl": "https://primary.test/sign-in",
        "authorizedParties": ["https://satellite.test"],
    });
    let start_url = "https://satellite.test/profile?__clerk_synced=false";

    for (format, email) in [("nonce", "ada@example.com"), ("token", "bob@example.com")] {
        let (browser, user_id) = world.signed_in_browser(email).await;
        let jar = &browser.jar;

        // (b) A first visit that asks for a sync: the SDK sends the browser to the satellite's FAPI.
        let r = sdk.visit(&options, &satellite, jar, start_url).await;
        let to = r.assert_handshake("satellite-needs-syncing");
        assert_eq!(
            (to.scheme(), to.host_str(), to.path()),
            (
                "https",
                Some("clerk.satellite.test"),
                "/v1/client/handshake"
            ),
            "{to}"
        );
        assert_eq!(query(&to, "redirect_url").as_deref(), Some(start_url));
        assert_eq!(query(&to, "format").as_deref(), Some("nonce"));
        assert_eq!(query(&to, "suffixed_cookies").as_deref(), Some("false"));
        apply_set_cookies(jar, start_url, &r);

        // (c) The browser follows it through Orbit's hops back to the app.
        let location = if format == "token" {
            to.as_str().replace("format=nonce", "format=token")
        } else {
            to.to_string()
        };
        let hops = browser.follow(&location).await;
        let last = hops.last().unwrap();
        assert_eq!(last.status, StatusCode::TEMPORARY_REDIRECT, "{hops:#?}");
        let back = final_url(&hops);
        assert_eq!(
            back, "https://satellite.test/profile?__clerk_synced=true",
            "{hops:#?}"
        );
        let carrier = if format == "token" {
            "__clerk_handshake"
        } else {
            "__clerk_handshake_nonce"
        };
        assert!(
            cookie_in(jar, &back, carrier).is_some(),
            "{format}: {carrier} cookie for the app: {hops:#?}"
        );

        // The app's middleware resolves the handshake: signed in as the primary's user.
        let r = sdk.visit(&options, &satellite, jar, &back).await;
        r.assert_signed_in(&user_id);
        assert!(
            r.location().is_none(),
            "production resolves in place: {:#}",
            r.raw
        );
        assert!(
            r.set_cookies()
                .iter()
                .any(|c| c.starts_with("__session=ey")),
            "{:#}",
            r.raw
        );
        apply_set_cookies(jar, &back, &r);
        assert_eq!(
            cookie_in(jar, &back, carrier),
            None,
            "{format}: the directives clear the {carrier} cookie"
        );

        // The next page load is signed in from the cookies alone, with no handshake.
        let next = "https://satellite.test/orders";
        sdk.visit(&options, &satellite, jar, next)
            .await
            .assert_signed_in_from_cookies(&user_id);
    }
}

/// A sign-in on Orbit's hosted page tells the primary app through `__client_uat` on the app's
/// registrable domain; the SDK then handshakes and ends signed in. Sign-out resets it to 0.
#[tokio::test]
async fn node_sdk_sees_a_portal_sign_in_on_the_production_primary() {
    let world = ProdWorld::start().await;
    let (mut sdk, options) = prod_sdk(&world).await;
    let primary = json!({"authorizedParties": ["https://primary.test"]});
    let (browser, user_id) = world.signed_in_browser("ada@example.com").await;
    let jar = &browser.jar;
    let dashboard = "https://primary.test/dashboard";
    let uat = cookie_in(jar, dashboard, "__client_uat")
        .expect("the portal set __client_uat for primary.test");
    assert_ne!(uat, "0");

    let r = sdk.visit(&options, &primary, jar, dashboard).await;
    let to = r.assert_handshake("client-uat-but-no-session-token");
    assert_eq!(to.host_str(), Some("clerk.primary.test"));
    apply_set_cookies(jar, dashboard, &r);
    let hops = browser.follow(to.as_str()).await;
    assert_eq!(hops.len(), 1, "the primary answers at once: {hops:#?}");
    let back = final_url(&hops);
    let r = sdk.visit(&options, &primary, jar, &back).await;
    r.assert_signed_in(&user_id);
    apply_set_cookies(jar, &back, &r);
    let r = sdk.visit(&options, &primary, jar, dashboard).await;
    r.assert_signed_in(&user_id);

    // Sign out on the portal: __client_uat goes back to 0 on primary.test.
    submit_portal_form(
        &browser.http,
        "https://clerk.primary.test",
        "/sign-out",
        &[("redirect_url", dashboard)],
    )
    .await;
    assert_eq!(
        cookie_in(jar, dashboard, "__client_uat").as_deref(),
        Some("0")
    );
}

// ---- development --------------------------------------------------------------------------

/// A browser for the development server: one jar for the FAPI/portal host (127.0.0.1:PORT) and
/// the apps (`localhost:3000`, `localhost:3001`).
struct DevBrowser {
    http: reqwest::Client,
    jar: Arc<Jar>,
}

impl DevBrowser {
    fn new() -> Self {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone())
            .user_agent("Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36")
            .build()
            .unwrap();
        DevBrowser { http, jar }
    }

    /// Follows redirects while they stay on Orbit's origin; returns the first URL off it.
    async fn follow_orbit(&self, server: &TestServer, start: &str) -> String {
        let mut url = start.to_owned();
        for _ in 0..10 {
            let r = self.http.get(&url).send().await.unwrap();
            let status = r.status();
            let location = r
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_owned());
            let body = r.text().await.unwrap();
            assert_eq!(status, StatusCode::TEMPORARY_REDIRECT, "GET {url}: {body}");
            let next = Url::parse(&url)
                .unwrap()
                .join(&location.unwrap())
                .unwrap()
                .to_string();
            if !next.starts_with(&format!("{}/", server.base)) {
                return next;
            }
            url = next;
        }
        panic!("redirect loop from {start}");
    }

    /// Signs in on the portal's hosted sign-in page.
    async fn sign_in(
        &self,
        server: &TestServer,
        email: &str,
        redirect_url: &str,
    ) -> reqwest::Response {
        let fields = [
            ("email_address", email),
            ("password", GOOD_PASSWORD),
            ("redirect_url", redirect_url),
        ];
        submit_portal_form(&self.http, &server.base, "/sign-in", &fields).await
    }
}

/// The driver, and the client options for `server`'s development instance.
async fn dev_sdk(server: &TestServer) -> (NodeSdk, Value) {
    // Orbit's development FAPI is plain http: the SDK reaches it only through `proxyUrl`.
    let options = json!({"secretKey": server.secret_key, "publishableKey": server.publishable_key, "apiUrl": server.bapi_url, "proxyUrl": server.base});
    (NodeSdk::start(None).await, options)
}

fn assert_dev_handshake(
    server: &TestServer,
    r: &AuthResult,
    reason: &str,
    redirect_url: &str,
) -> Url {
    let to = r.assert_handshake(reason);
    assert_eq!(
        format!("{}{}", to.origin().ascii_serialization(), to.path()),
        server.url("/v1/client/handshake"),
        "{to}"
    );
    assert_eq!(
        query(&to, "redirect_url").as_deref(),
        Some(redirect_url),
        "{to}"
    );
    assert_eq!(query(&to, "format").as_deref(), Some("nonce"), "{to}");
    to
}

#[tokio::test]
async fn node_sdk_development_primary_dev_browser_and_sign_in() {
    let server = TestServer::start().await;
    let user_id = server.create_user("ada@example.com", GOOD_PASSWORD).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (mut sdk, options) = dev_sdk(&server).await;
    let none = json!({});
    let browser = DevBrowser::new();
    let jar = &browser.jar;
    let app = "http://localhost:3000/";

    // First visit: no development browser yet, so a handshake to Orbit's FAPI.
    let r = sdk.visit(&options, &none, jar, app).await;
    let to = assert_dev_handshake(&server, &r, "dev-browser-missing", app);
    apply_set_cookies(jar, app, &r);
    // Orbit answers with the nonce in the URL (it cannot set cookies on localhost:3000).
    let back = browser.follow_orbit(&server, to.as_str()).await;
    let back_url = Url::parse(&back).unwrap();
    assert_eq!(
        back_url.origin().ascii_serialization(),
        "http://localhost:3000",
        "{back}"
    );
    assert!(
        query(&back_url, "__clerk_handshake_nonce").is_some(),
        "{back}"
    );
    // The SDK redeems it: signed out, with the development browser in a cookie, and a redirect
    // to the same page without the nonce.
    let r = sdk.visit(&options, &none, jar, &back).await;
    r.assert_signed_out("session-token-missing");
    assert!(
        r.set_cookies()
            .iter()
            .any(|c| c.starts_with("__clerk_db_jwt=") && !c.starts_with("__clerk_db_jwt=;")),
        "{:#}",
        r.raw
    );
    assert_eq!(r.location(), Some(app), "{:#}", r.raw);
    apply_set_cookies(jar, &back, &r);
    let _first_dev_browser =
        cookie_in(jar, app, "__clerk_db_jwt").expect("a __clerk_db_jwt cookie on localhost:3000");
    // ... and the page after that redirect renders signed out, with no further handshake.
    let r = sdk.visit(&options, &none, jar, app).await;
    r.assert_signed_out("session-token-and-uat-missing");
    assert!(r.location().is_none(), "{:#}", r.raw);

    // The same browser signs in on Orbit's hosted sign-in page.
    let dashboard = "http://localhost:3000/dashboard";
    let signed_in = browser.sign_in(&server, "ada@example.com", dashboard).await;
    // The portal sends the browser back with a development browser of its client in the URL,
    // as clerk-js does on cross-origin redirects in development; the SDK syncs it.
    let sync = signed_in
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let sync_url = Url::parse(&sync).unwrap();
    assert_eq!(
        format!(
            "{}{}",
            sync_url.origin().ascii_serialization(),
            sync_url.path()
        ),
        dashboard
    );
    let dev_browser =
        query(&sync_url, "__clerk_db_jwt").expect("the portal passes a development browser");
    let r = sdk.visit(&options, &none, jar, &sync).await;
    let to = assert_dev_handshake(&server, &r, "dev-browser-sync", dashboard);
    assert_eq!(
        query(&to, "__clerk_db_jwt").as_deref(),
        Some(dev_browser.as_str())
    );
    apply_set_cookies(jar, &sync, &r);
    let back = browser.follow_orbit(&server, to.as_str()).await;
    let r = sdk.visit(&options, &none, jar, &back).await;
    r.assert_signed_in(&user_id);
    assert_eq!(r.location(), Some(dashboard), "{:#}", r.raw);
    apply_set_cookies(jar, &back, &r);

    // Later page loads are signed in from the cookies alone.
    sdk.visit(&options, &none, jar, dashboard)
        .await
        .assert_signed_in_from_cookies(&user_id);
}

#[tokio::test]
async fn node_sdk_development_satellite_round_trip() {
    let server = TestServer::start().await;
    server.backend().add_satellite("localhost:3001").await;
    let user_id = server.create_user("ada@example.com", GOOD_PASSWORD).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (mut sdk, options) = dev_sdk(&server).await;
    let primary = json!({});
    let satellite = json!({"isSatellite": true, "domain": "localhost:3001", "signInUrl": "http://localhost:3000/sign-in"});

    // A cookieless visit that asks for a sync goes to the primary app's sign-in URL (the SDK's
    // development behaviour: the primary app answers with its development browser).
    let start = "http://localhost:3001/x?__clerk_synced=false";
    let r = sdk
        .visit(&options, &satellite, &Jar::default(), start)
        .await;
    let to = r.assert_handshake("satellite-needs-syncing");
    assert_eq!(to.as_str(), "http://localhost:3000/sign-in?__clerk_redirect_url=http%3A%2F%2Flocalhost%3A3001%2Fx%3F__clerk_synced%3Dfalse");

    // The whole round trip for a browser signed in on the portal.
    let browser = DevBrowser::new();
    let jar = &browser.jar;
    browser.sign_in(&server, "ada@example.com", "").await;
    let r = sdk.visit(&options, &satellite, jar, start).await;
    let to = r.assert_handshake("satellite-needs-syncing");
    apply_set_cookies(jar, start, &r);
    // The primary app's middleware sends it back, marked synced.
    let r = sdk.visit(&options, &primary, jar, to.as_str()).await;
    let to = r.assert_handshake("primary-responds-to-syncing");
    assert_eq!(to.as_str(), "http://localhost:3001/x?__clerk_synced=true");
    apply_set_cookies(jar, to.as_str(), &r);
    // The satellite has no development browser yet: a handshake with Orbit's FAPI.
    let synced = to.to_string();
    let r = sdk.visit(&options, &satellite, jar, &synced).await;
    let to = assert_dev_handshake(&server, &r, "dev-browser-missing", &synced);
    apply_set_cookies(jar, &synced, &r);
    let back = browser.follow_orbit(&server, to.as_str()).await;
    assert!(
        back.starts_with("http://localhost:3001/x?__clerk_synced=true&"),
        "{back}"
    );
    let r = sdk.visit(&options, &satellite, jar, &back).await;
    r.assert_signed_in(&user_id);
    assert_eq!(r.location(), Some(synced.as_str()), "{:#}", r.raw);
    apply_set_cookies(jar, &back, &r);
    let next = "http://localhost:3001/x";
    let r = sdk.visit(&options, &satellite, jar, next).await;
    r.assert_signed_in(&user_id);
    assert!(r.location().is_none(), "{:#}", r.raw);
}
