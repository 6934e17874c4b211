//! A production-like world on one machine: a production instance for `primary.test` served over
//! TLS on port 443 of its own loopback address (127.0.0.N), a CA the test generated, a local DNS
//! server for the CNAME checks, and browsers whose DNS maps every `*.test` name to that address.

use crate::dns_server::{Answer, LocalDns};
use crate::harness::*;
use orbit_core::clock::ManualClock;
use orbit_core::model::{Instance, InstanceKind};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::StatusCode;
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use url::Url;

pub const HOSTS: &[&str] = &[
    "orbit.test",
    "primary.test",
    "clerk.primary.test",
    "satellite.test",
    "clerk.satellite.test",
    "satellite2.test",
    "clerk.satellite2.test",
    "unverified.test",
    "clerk.unverified.test",
];

pub struct Certs {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

impl Certs {
    /// A browser-like client that trusts the test CA and follows no redirects; which address a
    /// test host has is the caller's to say.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .add_root_certificate(reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap())
            .user_agent("Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36")
    }

    /// The certificate and its key in files, for a server's `tls_cert` and `tls_key`.
    pub fn write(&self) -> CertFiles {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, &self.cert_pem).unwrap();
        std::fs::write(&key, &self.key_pem).unwrap();
        CertFiles {
            cert,
            key,
            _dir: dir,
        }
    }
}

/// `Certs::write`'s files, removed on drop.
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    _dir: tempfile::TempDir,
}

/// A CA and a certificate for `names`, signed by it.
pub fn make_certs(names: &[&str]) -> Certs {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Orbit test CA");
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params =
        rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, names[0]);
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    Certs {
        ca_pem: ca.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// Boots a server on port 443 of the first free loopback address 127.0.0.N (FAPI hosts carry no
/// port in production); `config` makes its configuration for a fresh data directory and that
/// address.
async fn boot_on_free_loopback(
    what: &str,
    deps: &orbit_server::ServeDeps,
    config: impl Fn(&std::path::Path, SocketAddr) -> orbit_server::config::Config,
) -> TestServer {
    for n in 2..=254u8 {
        let dir = tempfile::tempdir().unwrap();
        let listen = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)), 443);
        let config = config(dir.path(), listen);
        match TestServer::try_boot_with(dir, config, deps.clone()).await {
            Ok(s) => return s,
            Err((_, orbit_server::serve::StartError::Bind { .. })) => continue,
            Err((_, e)) => panic!("{what}: {e}"),
        }
    }
    panic!("{what}: no free 127.0.0.N:443");
}

/// The DNS the worlds' satellites are checked against: `clerk.satellite.test` and
/// `clerk.satellite2.test` point at `orbit.test`; the other names fail each in its own way.
pub async fn world_dns() -> LocalDns {
    LocalDns::start(&[
        ("clerk.satellite.test", Answer::Cname("orbit.test")),
        ("clerk.satellite2.test", Answer::Cname("ORBIT.test.")),
        ("clerk.wrong.test", Answer::Cname("elsewhere.test")),
        ("clerk.norecord.test", Answer::AOnly),
        ("clerk.slow.test", Answer::Silent),
    ])
    .await
}

pub struct ProdWorld {
    pub server: TestServer,
    /// The DNS server the production instance checks CNAMEs against (kept running).
    pub dns: LocalDns,
    pub certs: Certs,
    pub ip: IpAddr,
    pub instance: Instance,
    pub publishable_key: String,
    pub secret_key: String,
    _cert_files: CertFiles,
}

impl ProdWorld {
    pub async fn start() -> Self {
        Self::start_on(None, |_| {}).await
    }

    /// Like `start`, with the server's time read from `clock` if given, and `tweak` applied to
    /// its configuration.
    pub async fn start_on(
        clock: Option<&ManualClock>,
        tweak: impl Fn(&mut orbit_server::config::Config),
    ) -> Self {
        let deps = orbit_server::ServeDeps {
            clock: match clock {
                Some(c) => Arc::new(c.clone()),
                None => Arc::new(orbit_core::clock::SystemClock),
            },
            ..orbit_server::ServeDeps::system()
        };
        let dns = world_dns().await;
        let certs = make_certs(HOSTS);
        let cert_files = certs.write();
        let server = boot_on_free_loopback("the world's server", &deps, |dir, listen| {
            let mut config = orbit_server::config::Config::for_test(dir);
            config.listen = listen;
            config.public_url = Some("https://orbit.test".into());
            config.tls_cert = Some(cert_files.cert.clone());
            config.tls_key = Some(cert_files.key.clone());
            config.dns_servers = vec![dns.addr];
            config.dns_timeout_ms = 300;
            config.dns_check_interval_secs = 0;
            tweak(&mut config);
            config
        })
        .await;
        let ip = server.config.listen.ip();
        let orbit = server.orbit();
        let instance = orbit
            .create_application(
                "Shop",
                InstanceKind::Production,
                "primary.test",
                "clerk.primary.test",
            )
            .await
            .unwrap();
        // Production instances verify sign-up emails by default; these worlds test the
        // redirects, not mail (tests/it/accounts.rs does), and run without an SMTP server.
        let instance = orbit
            .update_settings(
                &instance.id,
                orbit_core::model::InstanceSettings {
                    sign_up_email_verification: false,
                    ..instance.settings.clone()
                },
            )
            .await
            .unwrap();
        let creds = orbit.credentials(&instance).await.unwrap();
        ProdWorld {
            server,
            dns,
            certs,
            ip,
            instance,
            publishable_key: creds.publishable_key,
            secret_key: creds.secret_key,
            _cert_files: cert_files,
        }
    }

    /// Stops the server and starts it again on the same data directory (the same address,
    /// DNS, certificates and instance).
    pub async fn restart(self) -> Self {
        ProdWorld {
            server: self.server.restart().await,
            ..self
        }
    }

    /// Another node serving this world: a server with the same configuration and master key
    /// (so it opens the sealed keys) on a data directory of its own and the next free
    /// 127.0.0.N:443. The world must share its store with it (`database_url`).
    pub async fn another_node(&self) -> TestServer {
        let master = self.server.config.data_dir.join("master.key");
        boot_on_free_loopback("another node", &self.server.deps, |dir, listen| {
            std::fs::copy(&master, dir.join("master.key")).unwrap();
            let mut config = self.server.config.clone();
            config.data_dir = dir.to_owned();
            config.listen = listen;
            config
        })
        .await
    }

    fn client_builder(&self) -> reqwest::ClientBuilder {
        self.client_builder_to(self.ip)
    }

    /// A client whose DNS maps every test host to `ip` (another node serving this world).
    fn client_builder_to(&self, ip: IpAddr) -> reqwest::ClientBuilder {
        let mut b = self.certs.client_builder();
        for h in HOSTS {
            b = b.resolve(h, SocketAddr::new(ip, 443));
        }
        b
    }

    pub fn bapi_url(&self) -> String {
        "https://orbit.test/bapi".into()
    }

    pub fn backend(&self) -> Backend {
        self.backend_via(self.ip)
    }

    /// BAPI of the node serving this world on `ip`.
    pub fn backend_via(&self, ip: IpAddr) -> Backend {
        Backend {
            http: self.client_builder_to(ip).build().unwrap(),
            base: self.bapi_url(),
            key: self.secret_key.clone(),
        }
    }

    pub fn browser(&self) -> WorldBrowser {
        let jar = Arc::new(Jar::default());
        WorldBrowser {
            http: self
                .client_builder()
                .cookie_provider(jar.clone())
                .build()
                .unwrap(),
            jar,
        }
    }

    /// `browser` (its cookies) reaching the world's hosts on `ip` instead.
    pub fn same_browser_via(&self, browser: &WorldBrowser, ip: IpAddr) -> WorldBrowser {
        WorldBrowser {
            http: self
                .client_builder_to(ip)
                .cookie_provider(browser.jar.clone())
                .build()
                .unwrap(),
            jar: browser.jar.clone(),
        }
    }

    /// Registers a satellite through BAPI and, if `verify`, checks its DNS now.
    pub async fn add_satellite(&self, name: &str, verify: bool) -> Value {
        let d = self.backend().add_satellite(name).await;
        if verify {
            let orbit = self.server.orbit();
            let domain = orbit.find_domain(&self.instance, name).await.unwrap();
            let resolver = orbit_server::serve::resolver(&self.server.config).unwrap();
            let checked = orbit
                .verify_domain(&domain, resolver.as_ref(), "orbit.test")
                .await
                .unwrap();
            assert!(checked.verified, "{name}: {:?}", checked.verification_error);
        }
        d
    }

    pub async fn signed_in_browser(&self, email: &str) -> (WorldBrowser, String) {
        let user = self.backend().create_user(email, GOOD_PASSWORD).await;
        let b = self.browser();
        b.sign_in(email).await;
        (b, user["id"].as_str().unwrap().to_owned())
    }

    /// Follows a handshake (see `WorldBrowser::handshake`) and resolves it as the app does.
    pub async fn handshake_and_resolve(
        &self,
        browser: &WorldBrowser,
        fapi_host: &str,
        redirect_url: &str,
        reason: &str,
    ) -> (Vec<Hop>, AppView) {
        let hops = browser.handshake(fapi_host, redirect_url, reason).await;
        let view = self.app_resolves(browser, &final_url(&hops)).await;
        (hops, view)
    }

    /// A token refresh of the primary's app (no sync involved), resolved as the app does.
    pub async fn refresh_on_primary(&self, browser: &WorldBrowser) -> (Vec<Hop>, AppView) {
        self.handshake_and_resolve(
            browser,
            "clerk.primary.test",
            "https://primary.test/",
            "session-token-expired",
        )
        .await
    }

    /// What an app's middleware does with a handshake that came back to `url`: take the nonce
    /// from the cookie (production) or the query (development), redeem it through BAPI, apply
    /// the directives to the browser, and return the session token's claims if signed in.
    pub async fn app_resolves(&self, browser: &WorldBrowser, url: &str) -> AppView {
        let parsed = Url::parse(url).unwrap();
        let nonce = parsed
            .query_pairs()
            .find(|(k, _)| k == "__clerk_handshake_nonce")
            .map(|(_, v)| v.into_owned())
            .or_else(|| browser.cookie(url, "__clerk_handshake_nonce"))
            .expect("a handshake nonce");
        let directives = self.backend().handshake_directives(&nonce).await;
        for d in &directives {
            browser.jar.add_cookie_str(d, &parsed);
        }
        let token = directive_value(&directives, "__session").filter(|t| !t.is_empty());
        let claims = match &token {
            Some(t) => {
                let (_, jwks) = self.backend().get("/v1/jwks").await;
                Some(crate::bapi::verify_with_jwks(t, &jwks).1)
            }
            None => None,
        };
        AppView {
            directives,
            claims,
            nonce,
        }
    }
}

#[derive(Debug)]
pub struct AppView {
    pub directives: Vec<String>,
    pub claims: Option<Value>,
    #[allow(dead_code)]
    pub nonce: String,
}

pub struct WorldBrowser {
    pub http: reqwest::Client,
    pub jar: Arc<Jar>,
}

#[derive(Debug)]
pub struct Hop {
    pub url: String,
    pub status: StatusCode,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Hop {
    /// `GET url` with `http`, its redirect not followed; an error is a request that got no
    /// answer.
    pub async fn try_get(http: &reqwest::Client, url: &str) -> Result<Hop, reqwest::Error> {
        let r = http.get(url).send().await?;
        Hop::of(url, r).await
    }

    async fn of(url: &str, r: reqwest::Response) -> Result<Hop, reqwest::Error> {
        let status = r.status();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        let set_cookies = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        Ok(Hop {
            url: url.to_owned(),
            status,
            location,
            set_cookies,
            body: r.text().await?,
        })
    }

    /// The `Set-Cookie` value of this hop for the cookie `name`.
    pub fn set_cookie(&self, name: &str) -> &str {
        let prefix = format!("{name}=");
        self.set_cookies
            .iter()
            .find(|c| c.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no {name} cookie set: {self:?}"))
    }
}

/// The value of the cookie `name` that `jar` would send to `url`.
pub fn cookie_in(jar: &Jar, url: &str, name: &str) -> Option<String> {
    let header = jar.cookies(&Url::parse(url).unwrap())?;
    header
        .to_str()
        .unwrap()
        .split("; ")
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(str::to_owned))
}

impl WorldBrowser {
    pub fn cookie(&self, url: &str, name: &str) -> Option<String> {
        cookie_in(&self.jar, url, name)
    }

    pub async fn get(&self, url: &str) -> Hop {
        Hop::try_get(&self.http, url)
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e:?}"))
    }

    /// Follows every redirect from `start`, through Orbit's hosts and the apps', until a
    /// response that is not one. Returns every hop.
    pub async fn browse(&self, start: &str) -> Vec<Hop> {
        let mut hops = vec![self.get(start).await];
        self.browse_on(&mut hops).await;
        hops
    }

    async fn browse_on(&self, hops: &mut Vec<Hop>) {
        for _ in 0..20 {
            let last = hops.last().unwrap();
            let Some(next) = &last.location else { return };
            let next = Url::parse(&last.url).unwrap().join(next).unwrap();
            hops.push(self.get(next.as_str()).await);
        }
        panic!("redirect loop: {hops:#?}");
    }

    /// Opens the form page at `page_url` (following redirects) and submits it as a browser
    /// does: its CSRF token, its `redirect_url` and `fields`, to `action` on the page's origin,
    /// then follows the redirects. Returns every hop, those to the page first.
    pub async fn submit(&self, page_url: &str, action: &str, fields: &[(&str, &str)]) -> Vec<Hop> {
        let mut hops = self.browse(page_url).await;
        let page = hops.last().unwrap();
        assert_eq!(page.status, StatusCode::OK, "{hops:#?}");
        let csrf = hidden(&page.body, "csrf_token")
            .unwrap_or_else(|| panic!("a form at {}: {}", page.url, page.body));
        let redirect_url = hidden(&page.body, "redirect_url")
            .unwrap_or_default()
            .replace("&amp;", "&");
        let at = Url::parse(&page.url).unwrap();
        let mut form = vec![
            ("csrf_token", csrf.as_str()),
            ("redirect_url", redirect_url.as_str()),
        ];
        form.extend_from_slice(fields);
        let url = at.join(action).unwrap().to_string();
        let r = self
            .http
            .post(&url)
            .header("origin", at.origin().ascii_serialization())
            .form(&form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e:?}"));
        hops.push(
            Hop::of(&url, r)
                .await
                .unwrap_or_else(|e| panic!("POST {url}: {e:?}")),
        );
        self.browse_on(&mut hops).await;
        hops
    }

    /// Follows redirects through Orbit's hosts (`clerk.*`, `orbit.test`) until one leaves them
    /// for an app or answers without a redirect. Returns every hop.
    pub async fn follow(&self, start: &str) -> Vec<Hop> {
        let mut hops = Vec::new();
        let mut url = start.to_owned();
        for _ in 0..10 {
            let hop = self.get(&url).await;
            let next = hop.location.clone();
            hops.push(hop);
            let Some(next) = next else { return hops };
            let next = Url::parse(&url).unwrap().join(&next).unwrap();
            let host = next.host_str().unwrap_or_default().to_owned();
            if !(host.starts_with("clerk.") || host == "orbit.test") {
                return hops;
            }
            url = next.to_string();
        }
        panic!("redirect loop: {hops:#?}");
    }

    /// Follows a handshake at `fapi_host` back to `redirect_url` (see `handshake_url`).
    pub async fn handshake(&self, fapi_host: &str, redirect_url: &str, reason: &str) -> Vec<Hop> {
        self.follow(&handshake_url(fapi_host, redirect_url, reason))
            .await
    }

    /// Signs in on the primary's hosted sign-in page.
    pub async fn sign_in(&self, email: &str) {
        let fields = [("email_address", email), ("password", GOOD_PASSWORD)];
        submit_portal_form(
            &self.http,
            "https://clerk.primary.test",
            "/sign-in",
            &fields,
        )
        .await;
    }
}

/// The value of the last of `directives` (`Set-Cookie` values) whose name starts with `prefix`,
/// as the SDKs read the session token.
pub fn directive_value(directives: &[String], prefix: &str) -> Option<String> {
    directives.iter().rfind(|d| d.starts_with(prefix)).map(|d| {
        d.split(';')
            .next()
            .unwrap()
            .split('=')
            .nth(1)
            .unwrap_or_default()
            .to_owned()
    })
}

/// The URL the last of `hops` redirects to.
pub fn final_url(hops: &[Hop]) -> String {
    let last = hops.last().unwrap();
    Url::parse(&last.url)
        .unwrap()
        .join(
            last.location
                .as_deref()
                .expect("ends in a redirect to the app"),
        )
        .unwrap()
        .to_string()
}

/// Opens the hosted form at `{portal}{path}` and submits it with its CSRF token and `fields`, as
/// a browser with `http`'s cookies; the portal answers 303.
pub async fn submit_portal_form(
    http: &reqwest::Client,
    portal: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let url = format!("{portal}{path}");
    let page = http.get(&url).send().await.unwrap();
    let status = page.status();
    let body = page.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{url}: {body}");
    let csrf = hidden(&body, "csrf_token").unwrap_or_else(|| panic!("a form at {url}: {body}"));
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    let r = http
        .post(&url)
        .header("origin", portal)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "POST {url}");
    r
}

/// A satellite handshake URL as `@clerk/backend` builds it (format=nonce).
pub fn handshake_url(fapi_host: &str, redirect_url: &str, reason: &str) -> String {
    let mut u = Url::parse(&format!("https://{fapi_host}/v1/client/handshake")).unwrap();
    u.query_pairs_mut()
        .append_pair("redirect_url", redirect_url)
        .append_pair("__clerk_api_version", "2026-05-12")
        .append_pair("suffixed_cookies", "false")
        .append_pair("__clerk_hs_reason", reason)
        .append_pair("format", "nonce");
    u.to_string()
}

/// An app served over TLS on port 443 of its own loopback address, as if behind a
/// TLS-terminating proxy (`X-Forwarded-Proto: https`).
pub struct AppServer {
    pub ip: IpAddr,
    handle: axum_server::Handle,
}

impl Drop for AppServer {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

impl ProdWorld {
    /// The Chromium arguments for this world: its DNS, each app's name on its own address and
    /// every other `.test` name (orbit.test and the clerk.* FAPI hosts) on Orbit's (specific rules
    /// first: the first matching rule wins); and TLS: rather than `--ignore-certificate-errors`
    /// (any certificate at all), Chromium accepts only the test certificate's key, by its SPKI
    /// hash. Orbit and the apps share that certificate (signed by the test CA, which Chromium
    /// does not otherwise trust; installing it in an NSS db would need `certutil`, not installed
    /// here).
    pub fn chromium_args(&self, apps: &[(&str, IpAddr)]) -> Vec<String> {
        use base64::Engine as _;
        let mut rules: Vec<String> = apps.iter().map(|(h, ip)| format!("MAP {h} {ip}")).collect();
        rules.push(format!("MAP *.test {}", self.ip));
        rules.push("EXCLUDE localhost".into());
        let spki = rcgen::KeyPair::from_pem(&self.certs.key_pem)
            .unwrap()
            .public_key_der();
        let spki_hash = base64::engine::general_purpose::STANDARD
            .encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &spki).as_ref());
        vec![
            format!("--host-resolver-rules={}", rules.join(",")),
            format!("--ignore-certificate-errors-spki-list={spki_hash}"),
        ]
    }

    pub async fn serve_app(&self, router: axum::Router) -> AppServer {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let router = router.layer(axum::middleware::map_request(
            |mut req: axum::extract::Request| async move {
                req.headers_mut().insert(
                    "x-forwarded-proto",
                    axum::http::HeaderValue::from_static("https"),
                );
                req
            },
        ));
        for n in 2..=254u8 {
            let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, n));
            let Ok(listener) = std::net::TcpListener::bind(SocketAddr::new(ip, 443)) else {
                continue;
            };
            listener.set_nonblocking(true).unwrap();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem(
                self.certs.cert_pem.clone().into_bytes(),
                self.certs.key_pem.clone().into_bytes(),
            )
            .await
            .unwrap();
            let handle = axum_server::Handle::new();
            let h = handle.clone();
            tokio::spawn(async move {
                axum_server::from_tcp_rustls(listener, tls)
                    .handle(h)
                    .serve(router.into_make_service())
                    .await
            });
            return AppServer { ip, handle };
        }
        panic!("no free 127.0.0.N:443 for an app");
    }

    /// An HTTP client for an app's SDK: trusts the test CA and finds `orbit.test`.
    pub fn sdk_http_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .add_root_certificate(
                reqwest::Certificate::from_pem(self.certs.ca_pem.as_bytes()).unwrap(),
            )
            .resolve("orbit.test", SocketAddr::new(self.ip, 443))
            .build()
            .unwrap()
    }

    /// A browser that follows redirects by itself and sends what a browser sends on page loads;
    /// `apps` maps app host names to their addresses.
    pub fn page_browser(&self, apps: &[(&str, IpAddr)]) -> WorldBrowser {
        let jar = Arc::new(Jar::default());
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "accept",
            reqwest::header::HeaderValue::from_static("text/html,application/xhtml+xml"),
        );
        headers.insert(
            "sec-fetch-dest",
            reqwest::header::HeaderValue::from_static("document"),
        );
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::limited(20))
            .add_root_certificate(
                reqwest::Certificate::from_pem(self.certs.ca_pem.as_bytes()).unwrap(),
            )
            .default_headers(headers)
            .cookie_provider(jar.clone());
        for h in HOSTS {
            b = b.resolve(h, SocketAddr::new(self.ip, 443));
        }
        for (h, ip) in apps {
            b = b.resolve(h, SocketAddr::new(*ip, 443));
        }
        WorldBrowser {
            http: b.build().unwrap(),
            jar,
        }
    }
}
