//! Deciding what a request is (docs/protocol.md "The handshake"): signed in, signed out, or in need
//! of a handshake redirect — the same rules as `@clerk/backend`'s `authenticateRequest`.

use crate::cookies::Cookies;
use crate::verify::{TokenVerifier, VerifyError};
use crate::Orbit;
use http::header::{HeaderName, HeaderValue, CACHE_CONTROL, LOCATION, SET_COOKIE};
use http::request::Parts;
use orbit_proto::wire::CLERK_API_VERSION;
use orbit_proto::wire::{cookie, handshake_format, header, query as param, reason};
use orbit_proto::SessionClaims;
use url::Url;

/// The SDK stops redirecting to the handshake after this many attempts within two seconds.
const MAX_REDIRECTS: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthStatus {
    SignedIn,
    SignedOut,
    /// The request must go through the handshake (`RequestState::location`).
    Handshake,
}

/// The authentication state of a request, for handlers (`Auth` is an axum extractor).
#[derive(Debug, Clone)]
pub struct Auth {
    claims: Option<SessionClaims>,
    reason: String,
    pub(crate) is_document: bool,
    links: std::sync::Arc<Links>,
}

/// `Auth`'s portal links, built on first use: most requests never ask for them, and building
/// three URLs costs as much as the rest of the middleware's own work.
#[derive(Debug)]
struct Links {
    from: Option<(Orbit, Url, bool)>,
    built: std::sync::OnceLock<[String; 3]>,
}

impl Links {
    fn get(&self) -> &[String; 3] {
        self.built.get_or_init(|| match &self.from {
            Some((orbit, url, satellite)) => build_links(orbit, url, *satellite),
            None => Default::default(),
        })
    }
}

/// Sign-in and sign-up with a way back (asking for a sync on satellites), and sign-out back home.
fn build_links(orbit: &Orbit, url: &Url, satellite: bool) -> [String; 3] {
    let cfg = orbit.config();
    let back = if satellite {
        with_param(url, param::SYNCED, "false")
    } else {
        url.clone()
    };
    let link = |base: String| -> String {
        match Url::parse(&base).or_else(|_| url.join(&base)) {
            Ok(u) => with_param(&u, param::REDIRECT_URL, back.as_str()).to_string(),
            Err(_) => base,
        }
    };
    let home = url
        .join("/")
        .map_or_else(|_| url.to_string(), |u| u.to_string());
    let sign_out = Url::parse(&format!("{}/sign-out", cfg.frontend_api(url)))
        .map(|u| with_param(&u, param::REDIRECT_URL, &home).to_string())
        .unwrap_or_default();
    [link(cfg.sign_in_url()), link(cfg.sign_up_url()), sign_out]
}

impl Auth {
    pub fn is_signed_in(&self) -> bool {
        self.claims.is_some()
    }
    pub fn user_id(&self) -> Option<&str> {
        self.claims.as_ref().map(|c| c.sub.as_str())
    }
    pub fn session_id(&self) -> Option<&str> {
        self.claims.as_ref().map(|c| c.sid.as_str())
    }
    pub fn claims(&self) -> Option<&SessionClaims> {
        self.claims.as_ref()
    }
    /// Why the request is signed out (or `signed-in`), in `@clerk/backend`'s words.
    pub fn reason(&self) -> &str {
        &self.reason
    }
    /// The sign-in page (on the primary) with a way back to this page; on satellites the way back
    /// asks for a sync (`__clerk_synced=false`).
    pub fn sign_in_url(&self) -> &str {
        &self.links.get()[0]
    }
    pub fn sign_up_url(&self) -> &str {
        &self.links.get()[1]
    }
    /// Orbit's sign-out page for this domain, coming back to this page afterwards. Signing out
    /// on any domain signs the browser out everywhere.
    pub fn sign_out_url(&self) -> &str {
        &self.links.get()[2]
    }
    /// Whether the request is a page load (where a redirect makes sense) rather than an API call.
    pub fn is_document_request(&self) -> bool {
        self.is_document
    }
}

/// The outcome of `Orbit::authenticate`.
#[derive(Debug, Clone)]
pub struct RequestState {
    pub status: AuthStatus,
    pub auth: Auth,
    /// Headers for the response: `Set-Cookie`s from a resolved handshake, or the handshake
    /// redirect's `Location`, `Cache-Control` and redirect counter.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl RequestState {
    pub fn location(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == LOCATION)
            .and_then(|(_, v)| v.to_str().ok())
    }
    pub fn reason(&self) -> &str {
        self.auth.reason()
    }
}

/// The URL the browser asked for. Its origin is what a token's `azp` must match and what
/// redirects are built from, so client-sent `X-Forwarded-Host` / `X-Forwarded-Proto` count only
/// when the app says a proxy sets them (`trust_forwarded_headers`), and then their right-most
/// entry, the one that proxy appended. Otherwise: `Host` (HTTP/2: the authority), and the
/// scheme of the request line or else `https` for production keys, `http` for development keys.
pub(crate) fn request_url(parts: &Parts, trust_forwarded: bool, production: bool) -> Option<Url> {
    let h = &parts.headers;
    // The right-most entry over every line of the header: a proxy may append its own line
    // rather than extend the client's, and then the first line is the client's.
    let last = |name: &str| {
        h.get_all(name)
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let forwarded = |name: &str| if trust_forwarded { last(name) } else { None };
    let default_scheme = if production { "https" } else { "http" };
    let scheme = forwarded(header::FORWARDED_PROTO)
        .or_else(|| parts.uri.scheme_str().map(str::to_owned))
        .unwrap_or_else(|| default_scheme.into());
    let scheme = if scheme == "https" { "https" } else { "http" };
    let host = forwarded(header::FORWARDED_HOST)
        .or_else(|| last(http::header::HOST.as_str()))
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_else(|| "localhost".into());
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    Url::parse(&format!("{scheme}://{host}{path}"))
        .ok()
        .or_else(|| Url::parse(&format!("{scheme}://localhost{path}")).ok())
}

fn query(url: &Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

fn without(url: &Url, keys: &[&str]) -> Url {
    let mut u = url.clone();
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !keys.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        u.set_query(None);
    } else {
        u.query_pairs_mut().clear().extend_pairs(kept);
    }
    u
}

fn with_param(url: &Url, key: &str, value: &str) -> Url {
    let mut u = without(url, &[key]);
    u.query_pairs_mut().append_pair(key, value);
    u
}

/// Page loads and iframes may be redirected; API calls never are.
fn is_document(parts: &Parts) -> bool {
    if parts.method != http::Method::GET {
        return false;
    }
    let h = &parts.headers;
    match h.get(header::SEC_FETCH_DEST).and_then(|v| v.to_str().ok()) {
        Some(dest) => dest == "document" || dest == "iframe",
        None => h
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.starts_with("text/html")),
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts
        .headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let token = v.strip_prefix("Bearer ").unwrap_or(v).trim();
    (!token.is_empty() && !token.contains(' ')).then_some(token)
}

struct Ctx<'a> {
    orbit: &'a Orbit,
    parts: &'a Parts,
    url: Url,
    cookies: Cookies,
    satellite: bool,
    document: bool,
    authorized: Vec<String>,
}

impl Ctx<'_> {
    fn auth(&self, claims: Option<SessionClaims>, reason: &str) -> Auth {
        Auth {
            claims,
            reason: reason.to_owned(),
            is_document: self.document,
            links: std::sync::Arc::new(Links {
                from: Some((self.orbit.clone(), self.url.clone(), self.satellite)),
                built: std::sync::OnceLock::new(),
            }),
        }
    }

    fn signed_in(
        &self,
        claims: SessionClaims,
        headers: Vec<(HeaderName, HeaderValue)>,
    ) -> RequestState {
        RequestState {
            status: AuthStatus::SignedIn,
            auth: self.auth(Some(claims), "signed-in"),
            headers,
        }
    }

    fn signed_out(&self, reason: &str, headers: Vec<(HeaderName, HeaderValue)>) -> RequestState {
        RequestState {
            status: AuthStatus::SignedOut,
            auth: self.auth(None, reason),
            headers,
        }
    }

    /// A redirect to the Frontend API's handshake, unless this request may not be redirected or
    /// the redirect budget is spent (then: signed out, so a loop always ends).
    fn handshake(&self, reason: &str) -> RequestState {
        if !self.document {
            return self.signed_out(reason, Vec::new());
        }
        let count: u32 = self
            .cookies
            .get(cookie::REDIRECT_COUNT)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if count >= MAX_REDIRECTS {
            tracing::warn!(
                reason,
                "stopped after {MAX_REDIRECTS} handshake redirects: check that this domain is the instance's primary or a registered satellite (`orbit domain list`)"
            );
            return self.signed_out(reason, Vec::new());
        }
        let cfg = self.orbit.config();
        let fapi = cfg.frontend_api(&self.url);
        let redirect = without(&self.url, &[param::DEV_BROWSER, param::DEV_SESSION]);
        let mut loc = match Url::parse(&format!("{fapi}/v1/client/handshake")) {
            Ok(u) => u,
            Err(_) => return self.signed_out("handshake-url-invalid", Vec::new()),
        };
        {
            let mut q = loc.query_pairs_mut();
            q.append_pair(param::REDIRECT_URL, redirect.as_str())
                .append_pair(param::API_VERSION, CLERK_API_VERSION)
                .append_pair(param::SUFFIXED_COOKIES, "false")
                .append_pair(param::HANDSHAKE_REASON, reason)
                .append_pair(param::FORMAT, handshake_format::NONCE);
            if cfg.is_development() {
                if let Some(dvb) = query(&self.url, param::DEV_BROWSER)
                    .or_else(|| self.cookies.get(cookie::DEV_BROWSER).map(str::to_owned))
                {
                    q.append_pair(param::DEV_BROWSER, &dvb);
                }
            }
        }
        let mut headers = Vec::new();
        if let Ok(v) = HeaderValue::from_str(loc.as_str()) {
            headers.push((LOCATION, v));
        }
        headers.push((CACHE_CONTROL, HeaderValue::from_static("no-store")));
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{}={}; Path=/; SameSite=Lax; HttpOnly; Max-Age=2",
            cookie::REDIRECT_COUNT,
            count + 1
        )) {
            headers.push((SET_COOKIE, v));
        }
        RequestState {
            status: AuthStatus::Handshake,
            auth: self.auth(None, reason),
            headers,
        }
    }
}

/// Origins whose `azp` the app accepts: its own and the configured allowed redirect origins.
fn authorized_parties(orbit: &Orbit, url: &Url) -> Vec<String> {
    let mut v = vec![url.origin().ascii_serialization()];
    v.extend(orbit.config().allowed_redirect_origins().iter().cloned());
    v
}

pub(crate) async fn authenticate(orbit: &Orbit, parts: &Parts) -> RequestState {
    let cfg = orbit.config();
    let Some(url) = request_url(parts, cfg.trust_forwarded_headers(), !cfg.is_development()) else {
        let auth = Auth {
            claims: None,
            reason: "request-url-invalid".into(),
            is_document: false,
            links: std::sync::Arc::new(Links {
                from: None,
                built: std::sync::OnceLock::new(),
            }),
        };
        return RequestState {
            status: AuthStatus::SignedOut,
            auth,
            headers: Vec::new(),
        };
    };
    let ctx = Ctx {
        orbit,
        parts,
        satellite: orbit.config().is_satellite(&url),
        document: is_document(parts),
        authorized: authorized_parties(orbit, &url),
        cookies: Cookies::from_headers(&parts.headers),
        url,
    };
    let verifier = orbit.verifier();

    // An API request with a token in the header: verified as is, never redirected.
    if let Some(token) = bearer(ctx.parts) {
        return match verifier.verify(token, &ctx.authorized).await {
            Ok(c) => ctx.signed_in(c, Vec::new()),
            Err(e) => ctx.signed_out(e.reason(), Vec::new()),
        };
    }

    // A handshake came back: resolve it. In production Orbit hands the nonce or token over only
    // as a cookie on the app's domain, which a crafted link cannot set; one in the URL would sign
    // the browser in as whoever made the link (login CSRF), so it is ignored there
    // (docs/protocol.md "The handshake (contract)"). Development has no other way.
    let from_url = |name: &str| {
        let v = query(&ctx.url, name)?;
        if orbit.config().is_development() {
            Some(v)
        } else {
            tracing::warn!("ignored {name} in the URL: production handshakes come as cookies");
            None
        }
    };
    let nonce = from_url(param::HANDSHAKE_NONCE)
        .or_else(|| ctx.cookies.get(cookie::HANDSHAKE_NONCE).map(str::to_owned));
    let hs_token = from_url(param::HANDSHAKE)
        .or_else(|| ctx.cookies.get(cookie::HANDSHAKE).map(str::to_owned));
    if nonce.is_some() || hs_token.is_some() {
        return resolve_handshake(&ctx, verifier, nonce, hs_token).await;
    }

    let synced = query(&ctx.url, param::SYNCED);
    let session = ctx.cookies.get(cookie::SESSION).map(str::to_owned);
    let uat: i64 = ctx
        .cookies
        .get(cookie::CLIENT_UAT)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let has_cookies = session.is_some() || uat != 0;

    if ctx.satellite && ctx.document && synced.as_deref() != Some("true") {
        let asked = synced.as_deref() == Some("false");
        if !orbit.config().satellite_auto_sync() && !has_cookies && !asked {
            return ctx.signed_out("session-token-and-uat-missing", Vec::new());
        }
        if !has_cookies || asked {
            return ctx.handshake(reason::SATELLITE_NEEDS_SYNCING);
        }
    }
    if orbit.config().is_development()
        && ctx.document
        && query(&ctx.url, param::DEV_BROWSER).is_some()
    {
        return ctx.handshake("dev-browser-sync");
    }
    let Some(token) = session else {
        if uat == 0 {
            return ctx.signed_out("session-token-and-uat-missing", Vec::new());
        }
        return ctx.handshake("client-uat-but-no-session-token");
    };
    if uat == 0 {
        return ctx.handshake("session-token-but-no-client-uat");
    }
    // Verify first: the verified claims carry `iat`, so the token is decoded once.
    let verified = verifier.verify(&token, &ctx.authorized).await;
    let iat = match &verified {
        Ok(c) => Some(c.iat),
        Err(_) => TokenVerifier::peek_iat(&token),
    };
    if iat.is_some_and(|iat| iat < uat) {
        return ctx.handshake("session-token-iat-before-client-uat");
    }
    match verified {
        Ok(c) => ctx.signed_in(c, Vec::new()),
        Err(VerifyError::Expired) => ctx.handshake("session-token-expired"),
        Err(VerifyError::NotYetValid) => ctx.handshake("session-token-nbf"),
        Err(VerifyError::IatInFuture) => ctx.handshake("session-token-iat-in-the-future"),
        Err(e) => ctx.signed_out(e.reason(), Vec::new()),
    }
}

/// Clears a handshake cookie whatever `Domain` it was set with (host-only, the host, or its
/// parent), so that a dead nonce never sticks.
fn clear_cookie(name: &str, host: &str) -> Vec<(HeaderName, HeaderValue)> {
    let mut domains = vec![None, Some(host.to_owned())];
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() > 2 {
        domains.push(Some(labels[1..].join(".")));
    }
    domains
        .into_iter()
        .filter_map(|d| {
            let c = match d {
                Some(d) => format!("{name}=; Path=/; Domain={d}; Max-Age=0"),
                None => format!("{name}=; Path=/; Max-Age=0"),
            };
            HeaderValue::from_str(&c).ok().map(|v| (SET_COOKIE, v))
        })
        .collect()
}

async fn resolve_handshake(
    ctx: &Ctx<'_>,
    verifier: &TokenVerifier,
    nonce: Option<String>,
    token: Option<String>,
) -> RequestState {
    let orbit = ctx.orbit;
    let host = ctx.url.host_str().unwrap_or_default().to_owned();
    let directives: Result<Vec<String>, String> = match (nonce, token) {
        (Some(n), _) => orbit
            .bapi()
            .handshake_payload(&n)
            .await
            .map_err(|e| e.to_string()),
        (None, Some(t)) => verifier
            .verify_handshake(&t)
            .await
            .map(|c| c.handshake)
            .map_err(|e| format!("handshake token: {e}")),
        (None, None) => Err("no handshake".into()),
    };
    let directives = match directives {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!("handshake could not be resolved: {e}");
            let mut headers = clear_cookie(cookie::HANDSHAKE_NONCE, &host);
            headers.extend(clear_cookie(cookie::HANDSHAKE, &host));
            return ctx.signed_out("handshake-invalid", headers);
        }
    };
    let mut headers: Vec<(HeaderName, HeaderValue)> = directives
        .iter()
        .filter_map(|d| HeaderValue::from_str(d).ok().map(|v| (SET_COOKIE, v)))
        .collect();
    // A resolved handshake is progress, not a loop: give the next page its full redirect budget
    // (otherwise quick, legitimate navigations across a primary and its satellites on one
    // parent domain, like localhost ports, would run out of it).
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{}=0; Path=/; SameSite=Lax; HttpOnly; Max-Age=0",
        cookie::REDIRECT_COUNT
    )) {
        headers.push((SET_COOKIE, v));
    }
    // The session token is the value of the last `__session*` directive.
    let session_token = directives
        .iter()
        .rfind(|d| d.starts_with(cookie::SESSION))
        .and_then(|d| d.split(';').next())
        .and_then(|kv| kv.split('=').nth(1))
        .filter(|v| !v.is_empty())
        .map(str::to_owned);

    if orbit.config().is_development() {
        // Development: the handshake rode in the URL; reload the page without it, with the cookies.
        let clean = without(
            &ctx.url,
            &[
                param::HANDSHAKE,
                param::HANDSHAKE_NONCE,
                param::DEV_BROWSER,
                param::HANDSHAKE_HELP,
            ],
        );
        if let Ok(v) = HeaderValue::from_str(clean.as_str()) {
            headers.push((LOCATION, v));
        }
        headers.push((CACHE_CONTROL, HeaderValue::from_static("no-store")));
        let claims = match &session_token {
            Some(t) => verifier.verify(t, &ctx.authorized).await.ok(),
            None => None,
        };
        return RequestState {
            status: AuthStatus::Handshake,
            auth: ctx.auth(
                claims,
                if session_token.is_some() {
                    "handshake-resolved"
                } else {
                    "session-token-missing"
                },
            ),
            headers,
        };
    }
    match session_token {
        Some(t) => match verifier.verify(&t, &ctx.authorized).await {
            Ok(c) => ctx.signed_in(c, headers),
            Err(e) => ctx.signed_out(e.reason(), headers),
        },
        None => ctx.signed_out("session-token-missing", headers),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = http::Request::builder().uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn request_urls_believe_forwarded_headers_only_when_told() {
        let forged = [
            ("host", "app.test:3000"),
            ("x-forwarded-proto", "http, https"),
            ("x-forwarded-host", "evil.test, app.test"),
        ];
        type Headers<'a> = &'a [(&'a str, &'a str)];
        // (headers, trust forwarded headers, production key, expected URL)
        let rows: &[(Headers, bool, bool, &str)] = &[
            (
                &[("host", "app.test:3000")],
                false,
                false,
                "http://app.test:3000/x?a=1",
            ),
            (
                &[("host", "app.test")],
                false,
                true,
                "https://app.test/x?a=1",
            ),
            (&forged, false, false, "http://app.test:3000/x?a=1"),
            (&forged, false, true, "https://app.test:3000/x?a=1"),
            // Trusted: the right-most entries, which the proxy appended.
            (&forged, true, false, "https://app.test/x?a=1"),
            (
                &[("host", "internal"), ("x-forwarded-host", "evil.test")],
                true,
                true,
                "https://evil.test/x?a=1",
            ),
            (
                &[("host", "internal")],
                true,
                true,
                "https://internal/x?a=1",
            ),
            // A proxy that adds its own header line: the client's line comes first.
            (
                &[
                    ("host", "internal"),
                    ("x-forwarded-host", "evil.test"),
                    ("x-forwarded-host", "app.test"),
                    ("x-forwarded-proto", "http"),
                    ("x-forwarded-proto", "https"),
                ],
                true,
                false,
                "https://app.test/x?a=1",
            ),
        ];
        for (headers, trust, production, expected) in rows {
            let url = request_url(&parts("/x?a=1", headers), *trust, *production).unwrap();
            assert_eq!(
                url.as_str(),
                *expected,
                "{headers:?} trust={trust} production={production}"
            );
        }
    }

    #[test]
    fn request_urls_never_panic() {
        for hostile in ["a b", "evil.test/../x", "[::1", "\u{7f}", "", ","] {
            for name in ["host", "x-forwarded-host", "x-forwarded-proto"] {
                let mut p = parts("/", &[]);
                if let Ok(v) = HeaderValue::from_str(hostile) {
                    p.headers.insert(name, v);
                }
                let _ = request_url(&p, true, false);
                let _ = request_url(&p, false, true);
            }
        }
    }

    #[test]
    fn documents_and_api_calls() {
        assert!(is_document(&parts("/", &[("sec-fetch-dest", "document")])));
        assert!(is_document(&parts("/", &[("accept", "text/html,*/*")])));
        assert!(!is_document(&parts(
            "/",
            &[("sec-fetch-dest", "empty"), ("accept", "text/html")]
        )));
        assert!(!is_document(&parts(
            "/api",
            &[("accept", "application/json")]
        )));
    }

    #[test]
    fn url_params() {
        let u = Url::parse("https://sat.test/x?a=1&__clerk_synced=true").unwrap();
        assert_eq!(
            with_param(&u, "__clerk_synced", "false").as_str(),
            "https://sat.test/x?a=1&__clerk_synced=false"
        );
        assert_eq!(
            without(&u, &["a", "__clerk_synced"]).as_str(),
            "https://sat.test/x"
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::{Orbit, OrbitConfig};
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::KeyPair;
    use base64::Engine;
    use proptest::prelude::*;

    /// An SDK configured with a throwaway key (made once): verification needs no network.
    fn orbit() -> Orbit {
        static ORBIT: std::sync::OnceLock<Orbit> = std::sync::OnceLock::new();
        ORBIT.get_or_init(make_orbit).clone()
    }

    fn make_orbit() -> Orbit {
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let der = pair.public_key().as_der().unwrap();
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(der.as_ref())
        );
        // pk for clerk.primary.test; api_url unreachable on purpose.
        let config = OrbitConfig::builder("pk_live_Y2xlcmsucHJpbWFyeS50ZXN0JA")
            .jwt_key(pem)
            .api_url("http://127.0.0.1:9/bapi")
            .build()
            .unwrap();
        Orbit::new(config).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Hostile cookies, tokens and headers never panic and never sign anyone in.
        #[test]
        fn hostile_requests_are_signed_out(
            cookie in "\\PC{0,200}",
            token in "[A-Za-z0-9_.=-]{0,300}",
            auth in "\\PC{0,80}",
            path in "/[A-Za-z0-9_./?=&%-]{0,60}",
            dest in prop::sample::select(vec!["document", "iframe", "empty", ""]),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let orbit = orbit();
            let mut b = http::Request::builder().uri(path.as_str()).header("host", "primary.test");
            for (k, v) in [("cookie", cookie.clone()), ("cookie", format!("__session={token}; __client_uat=1")), ("authorization", auth.clone()), ("sec-fetch-dest", dest.to_owned())] {
                if let Ok(v) = http::HeaderValue::from_str(&v) {
                    b = b.header(k, v);
                }
            }
            let Ok(req) = b.body(()) else { return Ok(()) };
            let (parts, _) = req.into_parts();
            let state = rt.block_on(orbit.authenticate(&parts));
            prop_assert_ne!(state.status, AuthStatus::SignedIn);
        }
    }
}
