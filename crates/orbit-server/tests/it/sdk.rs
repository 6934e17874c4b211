//! The Rust SDK and the example apps end to end over real HTTP: the seed's scenario in
//! development (one plain-http Orbit, apps on localhost ports) and production-like (TLS on 443,
//! `primary.test`, `satellite.test`, `satellite2.test`, verified DNS). A cookie-keeping client
//! that follows redirects plays the browser; `browser_seed.rs` does the same in Chromium.

use crate::harness::*;
use crate::nextjs::free_port;
use crate::world::*;
use orbit_sdk::{Orbit, OrbitConfig};
use reqwest::StatusCode;
use serde_json::json;

/// Text of the element with `id`, from the example apps' simple HTML.
pub(crate) fn element(body: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\"");
    let at = body.find(&marker)?;
    let start = at + body[at..].find('>')? + 1;
    let end = start + body[start..].find('<')?;
    Some(body[start..end].to_owned())
}

/// The example app's page shows the user `email`.
pub(crate) fn assert_shows(body: &str, email: &str) {
    assert_eq!(element(body, "email").as_deref(), Some(email), "{body}");
}

pub(crate) fn link(body: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\" href=\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no link {id} in {body}"))
        + marker.len();
    let end = start + body[start..].find('"').unwrap();
    body[start..end].replace("&amp;", "&")
}

async fn get(b: &reqwest::Client, url: &str) -> (String, String) {
    let r = b
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e:?}"));
    assert_eq!(r.status(), StatusCode::OK, "{url} ended at {}", r.url());
    let at = r.url().to_string();
    (at, r.text().await.unwrap())
}

/// Signs in with `GOOD_PASSWORD` on the hosted sign-in page `page_url` (see `submit_portal`).
async fn sign_in_on(b: &reqwest::Client, page_url: &str, email: &str) -> (String, String) {
    let fields = [("email_address", email), ("password", GOOD_PASSWORD)];
    submit_portal(b, page_url, "/sign-in", &fields).await
}

/// Fills and submits the hosted form on `page_url` (sign-in, sign-up or sign-out), following
/// every redirect afterwards. Returns (final URL, body).
async fn submit_portal(
    b: &reqwest::Client,
    page_url: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> (String, String) {
    let r = b.get(page_url).send().await.unwrap();
    let page_at = r.url().clone();
    let body = r.text().await.unwrap();
    let csrf = hidden(&body, "csrf_token").unwrap_or_else(|| panic!("a form at {page_at}: {body}"));
    let redirect_url = hidden(&body, "redirect_url")
        .unwrap_or_default()
        .replace("&amp;", "&");
    let origin = page_at.origin().ascii_serialization();
    let mut all = vec![
        ("csrf_token", csrf.as_str()),
        ("redirect_url", redirect_url.as_str()),
    ];
    all.extend_from_slice(fields);
    let r = b
        .post(page_at.join(action).unwrap())
        .header("origin", origin)
        .form(&all)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{action} ended at {}", r.url());
    let at = r.url().to_string();
    (at, r.text().await.unwrap())
}

async fn serve_local(router: axum::Router) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, router).await });
    port
}

#[tokio::test]
async fn seed_scenario_in_development() {
    let DevSeed { server, p1, sats } = dev_seed().await;

    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "accept",
        reqwest::header::HeaderValue::from_static("text/html"),
    );
    let b = reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::custom(|a| {
            if std::env::var("ORBIT_TRACE_REDIRECTS").is_ok() {
                eprintln!("-> {}", a.url());
            }
            if a.previous().len() > 20 {
                a.error("too many redirects")
            } else {
                a.follow()
            }
        }))
        .build()
        .unwrap();
    let primary_home = format!("http://localhost:{p1}/");

    // (1) Sign up on the primary, from its home page.
    let (_, home) = get(&b, &primary_home).await;
    assert!(home.contains("signed out"), "{home}");
    let sign_up = link(&home, "sign-up");
    assert!(
        sign_up.starts_with(&server.url("/sign-up?redirect_url=")),
        "{sign_up}"
    );
    let (at, body) = submit_portal(
        &b,
        &sign_up,
        "/sign-up",
        &[
            ("first_name", "Ada"),
            ("last_name", "Lovelace"),
            ("email_address", "ada@example.com"),
            ("password", GOOD_PASSWORD),
        ],
    )
    .await;
    assert_eq!(
        at, primary_home,
        "back on the primary's home, handshake parameters gone"
    );
    assert!(body.contains("You are signed in"), "{body}");
    let (_, profile) = get(&b, &format!("http://localhost:{p1}/profile")).await;
    assert_shows(&profile, "ada@example.com");

    // (2) Open the satellite's protected page: signed in there, no credentials typed.
    let sat = sats[0];
    let (at, body) = get(&b, &format!("http://localhost:{sat}/profile")).await;
    assert_eq!(
        at,
        format!("http://localhost:{sat}/profile?__clerk_synced=true")
    );
    assert_shows(&body, "ada@example.com");
    assert_eq!(element(&body, "name").as_deref(), Some("Ada Lovelace"));

    // (3) Sign out on the satellite: signed out there at once.
    let sign_out = link(&body, "sign-out");
    let (at, body) = submit_portal(&b, &sign_out, "/sign-out", &[]).await;
    assert!(at.starts_with(&format!("http://localhost:{sat}/")), "{at}");
    assert!(body.contains("You are signed out"), "{body}");

    // (4) Signed out, a protected satellite page goes to the primary's sign-in and comes back.
    let target = format!("http://localhost:{sat}/profile");
    let r = b.get(&target).send().await.unwrap();
    let sign_in_page = r.url().to_string();
    assert!(
        sign_in_page.starts_with(&server.url("/sign-in?redirect_url=")),
        "{sign_in_page}"
    );
    let body = r.text().await.unwrap();
    assert!(body.contains("Sign in"), "{body}");
    let (at, body) = sign_in_on(&b, &sign_in_page, "ada@example.com").await;
    assert_eq!(at, format!("{target}?__clerk_synced=true"));
    assert_shows(&body, "ada@example.com");

    // (5) A second satellite works the same.
    let (_, body) = get(&b, &format!("http://localhost:{}/profile", sats[1])).await;
    assert_shows(&body, "ada@example.com");
    let _ = serve_local;
}

#[tokio::test]
async fn seed_scenario_production_like() {
    let world = ProdWorld::start().await;
    let (apps, servers) = prod_seed_apps(&world).await;
    let browser = world.page_browser(&apps);
    let b = &browser.http;

    // (1) Sign up on the primary.
    let (_, home) = get(b, "https://primary.test/").await;
    let sign_up = link(&home, "sign-up");
    assert!(
        sign_up.starts_with("https://primary.test/sign-up?redirect_url="),
        "{sign_up}"
    );
    let (at, body) = submit_portal(
        b,
        &sign_up,
        "/sign-up",
        &[
            ("first_name", "Grace"),
            ("email_address", "grace@example.com"),
            ("password", GOOD_PASSWORD),
        ],
    )
    .await;
    assert_eq!(at, "https://primary.test/");
    assert!(body.contains("You are signed in"), "{body}");

    // (2) The satellite: signed in, same user.
    let (at, body) = get(b, "https://satellite.test/profile").await;
    assert_eq!(at, "https://satellite.test/profile?__clerk_synced=true");
    assert_shows(&body, "grace@example.com");
    // Its cookies are on its own domain.
    assert!(browser
        .cookie("https://satellite.test/", "__session")
        .is_some());

    // (3) Sign out on the satellite: the primary is signed out too.
    let sign_out = link(&body, "sign-out");
    assert!(
        sign_out.starts_with("https://clerk.satellite.test/sign-out?redirect_url="),
        "{sign_out}"
    );
    let (at, body) = submit_portal(b, &sign_out, "/sign-out", &[]).await;
    assert_eq!(at, "https://satellite.test/?__clerk_synced=true");
    assert!(body.contains("You are signed out"), "{body}");
    let (_, home) = get(b, "https://primary.test/").await;
    assert!(
        home.contains("You are signed out"),
        "the primary is signed out too: {home}"
    );

    // (4) Signed out: a protected satellite page -> primary sign-in -> back to that page.
    let r = b
        .get("https://satellite.test/profile")
        .send()
        .await
        .unwrap();
    let sign_in_page = r.url().to_string();
    assert!(
        sign_in_page.starts_with("https://clerk.primary.test/sign-in?redirect_url="),
        "{sign_in_page}"
    );
    let (at, body) = sign_in_on(b, &sign_in_page, "grace@example.com").await;
    assert_eq!(at, "https://satellite.test/profile?__clerk_synced=true");
    assert_shows(&body, "grace@example.com");

    // (5) A second satellite works the same.
    let (at, body) = get(b, "https://satellite2.test/profile").await;
    assert_eq!(at, "https://satellite2.test/profile?__clerk_synced=true");
    assert_shows(&body, "grace@example.com");

    // API calls are never redirected: a signed-out API request gets 401 JSON.
    let api = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(world.certs.ca_pem.as_bytes()).unwrap(),
        )
        .resolve("satellite.test", std::net::SocketAddr::new(apps[1].1, 443))
        .build()
        .unwrap();
    let r = api
        .get("https://satellite.test/profile")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    drop(servers);
}

fn request(url: &str, headers: &[(&str, &str)]) -> axum::http::request::Parts {
    let u = url::Url::parse(url).unwrap();
    let mut b = axum::http::Request::builder().uri(format!(
        "{}{}",
        u.path(),
        u.query().map(|q| format!("?{q}")).unwrap_or_default()
    ));
    b = b.header(
        "host",
        format!(
            "{}{}",
            u.host_str().unwrap(),
            u.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
    );
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(()).unwrap().into_parts().0
}

/// The SDK configured with the server's development keys.
fn sdk_for(server: &TestServer) -> Orbit {
    let config = OrbitConfig::builder(&server.publishable_key)
        .secret_key(&server.secret_key)
        .build()
        .unwrap();
    Orbit::new(config).unwrap()
}

async fn token_for(server: &TestServer, email: &str) -> (String, String) {
    let user = server.create_user(email, GOOD_PASSWORD).await;
    let uid = user["id"].as_str().unwrap().to_owned();
    let jwt = server.backend().mint_session_token(&uid).await;
    (uid, jwt)
}

#[tokio::test]
async fn sdk_verifies_networklessly_and_survives_hostile_input() {
    let server = TestServer::start().await;
    let orbit = sdk_for(&server);
    let (uid, jwt) = token_for(&server, "ada@example.com").await;

    // Header tokens: signed in, never redirected.
    let auth_header = format!("Bearer {jwt}");
    let state = orbit
        .authenticate(&request(
            "http://localhost:3000/api/me",
            &[("authorization", &auth_header)],
        ))
        .await;
    assert_signed_in(&state, "header token");
    assert_eq!(state.auth.user_id(), Some(uid.as_str()));

    // The JWKS is fetched once: stop the server and keep verifying the same token.
    let jwt2 = jwt.clone();
    let server = server.restart().await; // the old address is gone now
    let state = orbit
        .authenticate(&request(
            "http://localhost:3000/api/me",
            &[("authorization", &format!("Bearer {jwt2}"))],
        ))
        .await;
    assert_signed_in(&state, "verified from the cached JWKS");

    // Hostile cookies and headers: signed out, no panic, no redirect for API calls.
    let (h, p, s) = jwt
        .split_once('.')
        .map(|(h, rest)| {
            let (p, s) = rest.split_once('.').unwrap();
            (h.to_owned(), p.to_owned(), s.to_owned())
        })
        .unwrap();
    let none_alg = format!("{}.{p}.", base64_url(br#"{"alg":"none","typ":"JWT"}"#));
    let hs256 = format!(
        "{}.{p}.{s}",
        base64_url(br#"{"alg":"HS256","typ":"JWT","kid":"x"}"#)
    );
    let other_kid = format!(
        "{}.{p}.{s}",
        base64_url(br#"{"alg":"RS256","typ":"JWT","kid":"ins_key_forged"}"#)
    );
    let tampered = format!(
        "{h}.{}.{s}",
        base64_url(br#"{"sub":"user_admin","exp":9999999999}"#)
    );
    let long = "a".repeat(100_000);
    let cookies: Vec<String> = vec![
        "__session=; __client_uat=1".into(),
        "__session=not-a-jwt; __client_uat=1".into(),
        format!("__session={none_alg}; __client_uat=1"),
        format!("__session={hs256}; __client_uat=1"),
        format!("__session={other_kid}; __client_uat=1"),
        format!("__session={tampered}; __client_uat=1"),
        format!("__session={long}; __client_uat=1"),
        "__session=a.b.c; __client_uat=-99999999999999999999".into(),
        "__client_uat=NaN".into(),
        "=;;;==; __session".into(),
        "__session=\u{7f}\u{0}".into(),
    ];
    for c in &cookies {
        let Ok(v) = axum::http::HeaderValue::from_str(c) else {
            continue;
        };
        let mut parts = request(
            "http://localhost:3000/api/data",
            &[("accept", "application/json")],
        );
        parts.headers.insert("cookie", v);
        let state = orbit.authenticate(&parts).await;
        assert_ne!(state.status, orbit_sdk::AuthStatus::SignedIn, "{c:.80}");
        assert!(
            state.location().is_none(),
            "API calls are not redirected: {c:.80}"
        );
    }
    for header in [
        "Bearer",
        "Bearer a b c",
        "Basic Zm9vOmJhcg==",
        &format!("Bearer {tampered}"),
        &format!("Bearer {long}"),
    ] {
        let state = orbit
            .authenticate(&request(
                "http://localhost:3000/api",
                &[("authorization", header)],
            ))
            .await;
        assert_eq!(
            state.status,
            orbit_sdk::AuthStatus::SignedOut,
            "{header:.40}"
        );
    }
    let _ = server;
}

fn assert_signed_in(state: &orbit_sdk::RequestState, what: &str) {
    assert_eq!(
        state.status,
        orbit_sdk::AuthStatus::SignedIn,
        "{what}: {}",
        state.reason()
    );
}

fn base64_url(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

#[tokio::test]
async fn sdk_checks_azp_and_accepts_a_jwt_key_pem() {
    let server = TestServer::start().await;
    // A cookie-borne token minted for another origin (azp) is refused.
    let jwt = token_for_origin(&server, "http://localhost:3000").await;

    // The instance's public key as PEM, for `jwt_key`.
    let pem = instance_pem(&server).await;
    // No secret key and an unreachable API: verification needs no network with jwt_key.
    let orbit = Orbit::new(
        OrbitConfig::builder(&server.publishable_key)
            .jwt_key(pem)
            .api_url("http://127.0.0.1:9/bapi")
            .build()
            .unwrap(),
    )
    .unwrap();

    let cookie = format!("__session={jwt}; __client_uat=1");
    let at_app = orbit
        .authenticate(&request("http://localhost:3000/x", &[("cookie", &cookie)]))
        .await;
    assert_signed_in(&at_app, "at the app");
    let elsewhere = orbit
        .authenticate(&request("http://localhost:3001/x", &[("cookie", &cookie)]))
        .await;
    assert_eq!(elsewhere.status, orbit_sdk::AuthStatus::SignedOut);
    assert_eq!(elsewhere.reason(), "token-invalid-authorized-parties");
    // ... unless that origin is an allowed redirect origin of the app.
    let lenient = Orbit::new(
        OrbitConfig::builder(&server.publishable_key)
            .jwt_key(instance_pem(&server).await)
            .allowed_redirect_origins(["http://localhost:3000"])
            .build()
            .unwrap(),
    )
    .unwrap();
    let ok = lenient
        .authenticate(&request("http://localhost:3001/x", &[("cookie", &cookie)]))
        .await;
    assert_signed_in(&ok, "an allowed redirect origin");
}

/// The SDK's JWKS cache is bounded in staleness (docs/design/storage.md "Caches and how stale
/// they can be"): once the cache is older than `jwks_cache_max_age`, a key that has left the
/// instance's JWKS no longer verifies, though no unknown `kid` made the SDK fetch again.
#[tokio::test]
async fn a_key_that_left_the_jwks_stops_verifying_after_the_cache_max_age() {
    use orbit_core::clock::{Clock, ManualClock, SystemClock, SECOND};
    use orbit_core::keys::RETIRED_KEY_RETENTION;
    let clock = ManualClock::new(SystemClock.now_ms());
    let server = TestServer::start_with_clock(&clock).await;
    let (_, old_token) = token_for(&server, "ada@example.com").await;
    let max_age = std::time::Duration::from_millis(300);
    let sdk = Orbit::new(
        OrbitConfig::builder(&server.publishable_key)
            .secret_key(&server.secret_key)
            .jwks_cache_max_age(max_age)
            .build()
            .unwrap(),
    )
    .unwrap();
    sdk.verifier().verify(&old_token, &[]).await.unwrap();
    let old_kid = server.jwks().await["keys"][0]["kid"].clone();

    // A rotation, then past the new key's publish lead and the old key's retention: the server
    // no longer publishes the old key. (The token's own `exp` is the SDK's wall clock's business,
    // and a minute away there.)
    let orbit = server.orbit();
    let instance = orbit.instances().await.unwrap().remove(0);
    orbit.rotate_signing_key(&instance.id).await.unwrap();
    clock.advance_ms(orbit.key_publish_lead() + RETIRED_KEY_RETENTION + SECOND);
    let published = server.jwks().await;
    let kids: Vec<_> = published["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].clone())
        .collect();
    assert!(!kids.contains(&old_kid), "{published}");

    tokio::time::sleep(max_age).await;
    assert_eq!(
        sdk.verifier().verify(&old_token, &[]).await.unwrap_err(),
        orbit_sdk::VerifyError::UnknownKid
    );
    // The key that replaced it verifies, from the JWKS fetched again (at the server's time:
    // the new token was issued on the advanced clock).
    let (_, new_token) = token_for(&server, "bea@example.com").await;
    sdk.verifier()
        .verify_at(&new_token, &[], clock.now_secs(), 5)
        .await
        .unwrap();
}

/// A token that FAPI mints for a new user's session asked from `origin` (its `azp`).
async fn token_for_origin(server: &TestServer, origin: &str) -> String {
    token_for(server, "ada@example.com").await;
    let b = server.browser();
    b.sign_in("ada@example.com", GOOD_PASSWORD).await;
    let sessions = server.sessions_of_the_user("&status=active").await;
    let sid = sessions[0]["id"].as_str().unwrap();
    let r = b.mint_as(&server.base, sid, origin).await;
    r.json::<serde_json::Value>().await.unwrap()["jwt"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The instance's current public key as an SPKI PEM, as an operator would paste into CLERK_JWT_KEY.
async fn instance_pem(server: &TestServer) -> String {
    use aws_lc_rs::encoding::AsDer;
    use base64::Engine;
    let (_, jwks) = server.backend().get("/v1/jwks").await;
    let k = &jwks["keys"][0];
    let dec = |s: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .unwrap()
    };
    let (n, e) = (dec(k["n"].as_str().unwrap()), dec(k["e"].as_str().unwrap()));
    let der = aws_lc_rs::signature::RsaPublicKeyComponents {
        n: n.as_slice(),
        e: e.as_slice(),
    }
    .as_der()
    .unwrap();
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(der.as_ref())
    )
}

/// The seed's development setup: Orbit's development server, the primary app on `localhost:P1`
/// and two satellites on `localhost` ports, configured from the seed's `.env` variables.
pub struct DevSeed {
    pub server: TestServer,
    pub p1: u16,
    pub sats: Vec<u16>,
}

pub async fn dev_seed() -> DevSeed {
    // The primary app's port must be known before Orbit creates its development instance.
    let p1_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let p1 = p1_listener.local_addr().unwrap().port();
    let server = TestServer::start_with(|c| c.dev_primary_domain = format!("localhost:{p1}")).await;
    let primary_cfg = OrbitConfig::builder(&server.publishable_key)
        .secret_key(&server.secret_key)
        .build()
        .unwrap();
    let primary = Orbit::new(primary_cfg).unwrap();
    let router = example_primary::app(primary);
    tokio::spawn(async move { axum::serve(p1_listener, router).await });

    let mut sats = Vec::new();
    for _ in 0..2 {
        let port = free_port().await;
        let (s, d) = server
            .backend()
            .post(
                "/v1/domains",
                json!({"name": format!("http://localhost:{port}"), "is_satellite": true}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{d}");
        // As in the seed's satellite .env (development example).
        let vars = [
            ("CLERK_PUBLISHABLE_KEY", server.publishable_key.clone()),
            ("CLERK_SECRET_KEY", server.secret_key.clone()),
            ("CLERK_IS_SATELLITE", "true".into()),
            ("CLERK_DOMAIN", format!("http://localhost:{port}")),
            (
                "CLERK_SIGN_IN_URL",
                format!("http://localhost:{p1}/sign-in"),
            ),
            (
                "CLERK_SIGN_UP_URL",
                format!("http://localhost:{p1}/sign-up"),
            ),
        ];
        let cfg = orbit_sdk::OrbitConfigBuilder::from_vars(|k| {
            vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
        })
        .unwrap()
        .build()
        .unwrap();
        let router = example_satellite::app(Orbit::new(cfg).unwrap());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        sats.push(port);
    }

    DevSeed { server, p1, sats }
}

/// The seed's production-like apps: `primary.test` and two satellites, each over TLS on its own
/// loopback address, with the SDK configured as in the seed. Returns host -> address and the
/// servers (keep them alive).
pub async fn prod_seed_apps(
    world: &ProdWorld,
) -> (Vec<(&'static str, std::net::IpAddr)>, Vec<AppServer>) {
    prod_seed_apps_with(world, world.sdk_http_client()).await
}

/// The same, with the apps' SDKs reaching Orbit's BAPI through `http`.
pub async fn prod_seed_apps_with(
    world: &ProdWorld,
    http: reqwest::Client,
) -> (Vec<(&'static str, std::net::IpAddr)>, Vec<AppServer>) {
    world.add_satellite("satellite.test", true).await;
    world.add_satellite("satellite2.test", true).await;
    // The keys and the Backend API URL every app is configured with.
    let config = || {
        OrbitConfig::builder(&world.publishable_key)
            .secret_key(&world.secret_key)
            .api_url(world.bapi_url())
    };
    let sdk = |config: orbit_sdk::OrbitConfigBuilder| {
        Orbit::with_http_client(config.build().unwrap(), http.clone()).unwrap()
    };
    let primary = config()
        .sign_in_url("/sign-in")
        .sign_up_url("/sign-up")
        .allowed_redirect_origins(["https://satellite.test", "https://satellite2.test"]);
    let primary_app = world.serve_app(example_primary::app(sdk(primary))).await;
    let mut apps = vec![("primary.test", primary_app.ip)];
    let mut servers = vec![primary_app];
    for sat in ["satellite.test", "satellite2.test"] {
        let satellite = config()
            .is_satellite(true)
            .domain(sat)
            .sign_in_url("https://primary.test/sign-in")
            .sign_up_url("https://primary.test/sign-up");
        let s = world
            .serve_app(example_satellite::app(sdk(satellite)))
            .await;
        apps.push((sat, s.ip));
        servers.push(s);
    }
    (apps, servers)
}

/// The handshake Orbit answers for `redirect_url` in development with `format=token`: the
/// `__clerk_handshake` JWT from the redirect back.
async fn dev_handshake_token(server: &TestServer, redirect_url: &str) -> String {
    let mut u = url::Url::parse(&server.url("/v1/client/handshake")).unwrap();
    u.query_pairs_mut()
        .append_pair("redirect_url", redirect_url)
        .append_pair("format", "token");
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(u)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT);
    let location = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    location
        .query_pairs()
        .find(|(k, _)| k == "__clerk_handshake")
        .map(|(_, v)| v.into_owned())
        .expect("a handshake token in the URL (development)")
}

/// `Set-Cookie` values of `r` whose cookie name is `name`.
fn set_cookies<'a>(r: &'a reqwest::Response, name: &str) -> Vec<&'a str> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .filter(|c| c.split('=').next() == Some(name))
        .collect()
}

#[tokio::test]
async fn the_sdk_refuses_expired_handshake_tokens_and_takes_fresh_ones_from_the_url_in_development()
{
    use orbit_core::clock::{Clock, ManualClock, SystemClock, MINUTE};
    // Orbit's clock runs 2 minutes behind the app's: its handshake tokens are born expired.
    let clock = ManualClock::new(SystemClock.now_ms() - 2 * MINUTE);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = TestServer::start_with_clock_and(&clock, |c| {
        c.dev_primary_domain = format!("localhost:{port}");
    })
    .await;
    let orbit = sdk_for(&server);
    let router = example_primary::app(orbit);
    tokio::spawn(async move { axum::serve(listener, router).await });
    let app = format!("http://localhost:{port}/");
    let page = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let open = |token: String| {
        page.get(format!("{app}?__clerk_handshake={token}"))
            .header("accept", "text/html")
            .send()
    };

    let expired = dev_handshake_token(&server, &app).await;
    let r = open(expired).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "signed out, not redirected");
    for directive in ["__client_uat", "__clerk_db_jwt", "__session"] {
        assert!(
            set_cookies(&r, directive).is_empty(),
            "an expired handshake's {directive} directive was applied"
        );
    }
    assert!(r.text().await.unwrap().contains("You are signed out"));

    // The same handshake minted now: applied, from the URL, as development requires.
    clock.set_ms(SystemClock.now_ms());
    let fresh = dev_handshake_token(&server, &app).await;
    let r = open(fresh).await.unwrap();
    assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(r.headers()["location"], app.as_str(), "reloaded without it");
    let uat = set_cookies(&r, "__client_uat");
    assert!(
        uat.len() == 1 && uat[0].starts_with("__client_uat=0;"),
        "{uat:?}"
    );
    assert_eq!(set_cookies(&r, "__clerk_db_jwt").len(), 1);
}

#[tokio::test]
async fn production_handshakes_in_the_url_are_ignored() {
    // Login CSRF: Mallory signs in, runs a handshake for the primary app in her own browser
    // and sends Ada a link that carries her nonce or token in the URL.
    let world = ProdWorld::start().await;
    let (apps, servers) = prod_seed_apps(&world).await;
    let (mallory, _) = world.signed_in_browser("mallory@example.com").await;
    for format in ["nonce", "token"] {
        let url = handshake_url("clerk.primary.test", "https://primary.test/", "x")
            .replace("format=nonce", &format!("format={format}"));
        mallory.follow(&url).await;
        let name = if format == "nonce" {
            "__clerk_handshake_nonce"
        } else {
            "__clerk_handshake"
        };
        let value = mallory
            .cookie("https://primary.test/", name)
            .expect("production: the handshake comes back as a cookie");
        let ada = world.page_browser(&apps);
        let (_, home) = get(&ada.http, &format!("https://primary.test/?{name}={value}")).await;
        assert!(home.contains("You are signed out"), "{format}: {home}");
        assert!(ada.cookie("https://primary.test/", "__session").is_none());
        // The cookie it was meant to travel in still works for Mallory.
        let mallory_page = world.page_browser(&apps);
        mallory_page.jar.add_cookie_str(
            &format!("{name}={value}; Path=/"),
            &url::Url::parse("https://primary.test/").unwrap(),
        );
        let (_, home) = get(&mallory_page.http, "https://primary.test/").await;
        assert!(home.contains("You are signed in"), "{format}: {home}");
    }
    drop(servers);
}

#[tokio::test]
async fn the_sdk_believes_forwarded_headers_only_when_configured() {
    // A token minted for one app of the instance (azp http://localhost:3000) replayed at
    // another (this app, on 127.0.0.1) with a forged X-Forwarded-Host naming the first.
    let server = TestServer::start().await;
    let jwt = token_for_origin(&server, "http://localhost:3000").await;
    let app = |trust: bool| {
        let config = OrbitConfig::builder(&server.publishable_key)
            .secret_key(&server.secret_key)
            .trust_forwarded_headers(trust)
            .build()
            .unwrap();
        serve_local(example_primary::app(Orbit::new(config).unwrap()))
    };
    let profile = async |port: u16| {
        reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/profile"))
            .header("accept", "application/json")
            .header("cookie", format!("__session={jwt}; __client_uat=1"))
            .header("x-forwarded-host", "localhost:3000")
            .header("x-forwarded-proto", "http")
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(profile(app(false).await).await, StatusCode::UNAUTHORIZED);
    // Behind a proxy the app trusts, the forwarded host is the request's origin.
    assert_eq!(profile(app(true).await).await, StatusCode::OK);
}
