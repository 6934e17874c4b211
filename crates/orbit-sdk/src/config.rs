//! Configuration, in the seed's two ways: environment variables (`CLERK_*`, a `.env` file is
//! read when present) or a builder with the seed's properties. Invalid combinations fail at
//! start-up with a message that says what to set.

use orbit_proto::{InstanceKind, PublishableKey};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// A value computed from the request URL, like the seed's `domain: (url) => url.host`.
pub type UrlFn<T> = Arc<dyn Fn(&Url) -> T + Send + Sync>;

#[derive(Clone)]
pub enum SatelliteSetting {
    Fixed(bool),
    Computed(UrlFn<bool>),
}

#[derive(Clone)]
pub enum DomainSetting {
    Fixed(String),
    Computed(UrlFn<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("set CLERK_PUBLISHABLE_KEY (builder: OrbitConfig::builder(publishable_key)); `orbit instance show` prints it")]
    MissingPublishableKey,
    #[error("the publishable key is invalid ({0}); copy it again from `orbit instance show`")]
    InvalidPublishableKey(String),
    #[error("set CLERK_SECRET_KEY (secret_key): it resolves handshakes and fetches the JWKS; `orbit instance show` prints it")]
    MissingSecretKey,
    #[error("the secret key is for a {secret} instance but the publishable key for a {publishable} instance; use the pair of one instance")]
    KeyMismatch {
        secret: &'static str,
        publishable: &'static str,
    },
    #[error("a satellite needs its domain: set CLERK_DOMAIN (domain), e.g. satellite.example.com, or CLERK_PROXY_URL (proxy_url)")]
    SatelliteWithoutDomain,
    #[error("a development satellite needs CLERK_SIGN_IN_URL (sign_in_url): the primary's sign-in page, e.g. http://localhost:3000/sign-in")]
    DevSatelliteWithoutSignIn,
    #[error("{key} must be an absolute URL on the primary domain, not {value:?}")]
    NotAbsolute { key: &'static str, value: String },
    #[error("CLERK_SIGN_IN_URL ({0}) is on the satellite's own origin; it must point to the primary's sign-in page")]
    SignInOnSatellite(String),
    #[error("{key} is not a valid URL: {value:?}")]
    InvalidUrl { key: &'static str, value: String },
    #[error("{key} must be true or false, not {value:?}")]
    InvalidBool { key: &'static str, value: String },
    #[error("CLERK_JWT_KEY (jwt_key) is not an RSA public key in PEM: {0}")]
    InvalidJwtKey(String),
    #[error("HTTP client: {0}")]
    Http(String),
}

pub(crate) struct ConfigInner {
    pub publishable_key: String,
    pub pk: PublishableKey,
    pub secret_key: Option<String>,
    pub api_url: String,
    pub sign_in_url: Option<String>,
    pub sign_up_url: Option<String>,
    pub is_satellite: SatelliteSetting,
    pub domain: Option<DomainSetting>,
    pub allowed_redirect_origins: Vec<String>,
    pub satellite_auto_sync: bool,
    pub proxy_url: Option<String>,
    pub jwt_key: Option<String>,
    pub clock_skew: Duration,
    pub jwks_cache_max_age: Duration,
    pub jwks_stale_if_error: Duration,
    pub trust_forwarded_headers: bool,
}

/// How long the JWKS fetched from the Backend API is trusted before it is fetched again, unless
/// the builder says otherwise: `@clerk/backend`'s 5 minutes.
pub const DEFAULT_JWKS_CACHE_MAX_AGE: Duration = Duration::from_secs(5 * 60);

/// How long past its max age the cached JWKS still verifies tokens while the Backend API cannot
/// be reached, unless the builder says otherwise: long enough to ride out a database failover or
/// a restart of Orbit, short enough that a key removed meanwhile does not verify for long.
pub const DEFAULT_JWKS_STALE_IF_ERROR: Duration = Duration::from_secs(10 * 60);

/// Validated configuration. Cheap to clone.
#[derive(Clone)]
pub struct OrbitConfig {
    pub(crate) inner: Arc<ConfigInner>,
}

impl std::fmt::Debug for OrbitConfig {
    // Never prints the secret key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &self.inner;
        f.debug_struct("OrbitConfig")
            .field("publishable_key", &i.publishable_key)
            .field("api_url", &i.api_url)
            .field("sign_in_url", &i.sign_in_url)
            .field("sign_up_url", &i.sign_up_url)
            .field("proxy_url", &i.proxy_url)
            .field("allowed_redirect_origins", &i.allowed_redirect_origins)
            .field("satellite_auto_sync", &i.satellite_auto_sync)
            .field("trust_forwarded_headers", &i.trust_forwarded_headers)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Default)]
pub struct OrbitConfigBuilder {
    publishable_key: Option<String>,
    secret_key: Option<String>,
    api_url: Option<String>,
    sign_in_url: Option<String>,
    sign_up_url: Option<String>,
    is_satellite: Option<SatelliteSetting>,
    domain: Option<DomainSetting>,
    allowed_redirect_origins: Vec<String>,
    satellite_auto_sync: bool,
    proxy_url: Option<String>,
    jwt_key: Option<String>,
    clock_skew: Option<Duration>,
    jwks_cache_max_age: Option<Duration>,
    jwks_stale_if_error: Option<Duration>,
    trust_forwarded_headers: bool,
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn parse_bool(key: &'static str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" | "" => Ok(false),
        _ => Err(ConfigError::InvalidBool {
            key,
            value: v.to_owned(),
        }),
    }
}

impl OrbitConfigBuilder {
    pub fn secret_key(mut self, v: impl Into<String>) -> Self {
        self.secret_key = non_empty(Some(v.into()));
        self
    }
    /// Backend API base (what `/v1/...` paths hang from). Default: `<FAPI>/bapi` of the
    /// publishable key's host, which is where an Orbit server serves it.
    pub fn api_url(mut self, v: impl Into<String>) -> Self {
        self.api_url = non_empty(Some(v.into()));
        self
    }
    pub fn sign_in_url(mut self, v: impl Into<String>) -> Self {
        self.sign_in_url = non_empty(Some(v.into()));
        self
    }
    pub fn sign_up_url(mut self, v: impl Into<String>) -> Self {
        self.sign_up_url = non_empty(Some(v.into()));
        self
    }
    pub fn is_satellite(mut self, v: bool) -> Self {
        self.is_satellite = Some(SatelliteSetting::Fixed(v));
        self
    }
    /// `is_satellite` as a function of the request URL.
    pub fn is_satellite_fn(mut self, f: impl Fn(&Url) -> bool + Send + Sync + 'static) -> Self {
        self.is_satellite = Some(SatelliteSetting::Computed(Arc::new(f)));
        self
    }
    /// The satellite's domain, e.g. `satellite.dev` (a scheme, as in `http://localhost:3001`, is
    /// accepted and ignored).
    pub fn domain(mut self, v: impl Into<String>) -> Self {
        self.domain = non_empty(Some(v.into())).map(DomainSetting::Fixed);
        self
    }
    /// The domain as a function of the request URL, like the seed's `(url) => url.host`.
    pub fn domain_fn(mut self, f: impl Fn(&Url) -> String + Send + Sync + 'static) -> Self {
        self.domain = Some(DomainSetting::Computed(Arc::new(f)));
        self
    }
    pub fn allowed_redirect_origins<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        v: I,
    ) -> Self {
        self.allowed_redirect_origins = v.into_iter().map(Into::into).collect();
        self
    }
    /// Sync a satellite on a first visit without cookies (default false, as `@clerk/backend` 3).
    pub fn satellite_auto_sync(mut self, v: bool) -> Self {
        self.satellite_auto_sync = v;
        self
    }
    pub fn proxy_url(mut self, v: impl Into<String>) -> Self {
        self.proxy_url = non_empty(Some(v.into()));
        self
    }
    /// The instance's public key (PEM, SPKI) to verify tokens without fetching the JWKS.
    pub fn jwt_key(mut self, v: impl Into<String>) -> Self {
        self.jwt_key = non_empty(Some(v.into()));
        self
    }
    pub fn clock_skew(mut self, v: Duration) -> Self {
        self.clock_skew = Some(v);
        self
    }
    /// How long the JWKS is trusted after it was fetched (default
    /// [`DEFAULT_JWKS_CACHE_MAX_AGE`]): a key that has left the instance's JWKS (retired, or
    /// removed after a leak) stops verifying at most this long after it left.
    pub fn jwks_cache_max_age(mut self, v: Duration) -> Self {
        self.jwks_cache_max_age = Some(v);
        self
    }
    /// How long past its max age the cached JWKS still verifies while fetching it fails (default
    /// [`DEFAULT_JWKS_STALE_IF_ERROR`]; zero: never). Only a failed fetch opens the window: a
    /// JWKS fetched successfully is always the one used.
    pub fn jwks_stale_if_error(mut self, v: Duration) -> Self {
        self.jwks_stale_if_error = Some(v);
        self
    }
    /// The app runs behind a proxy that sets `X-Forwarded-Host` and `X-Forwarded-Proto`
    /// (default false): the request's origin, which `azp` must match and redirects are built
    /// from, is then read from their right-most entries. Without it they are ignored, because
    /// any client can send them: the origin is `Host` with `https` for production keys and
    /// `http` for development keys.
    pub fn trust_forwarded_headers(mut self, v: bool) -> Self {
        self.trust_forwarded_headers = v;
        self
    }

    /// Reads the seed's variables through `get` (a `.env` file is loaded by `from_env`).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var =
            |k: &str| non_empty(get(k)).or_else(|| non_empty(get(&format!("NEXT_PUBLIC_{k}"))));
        let mut b = OrbitConfigBuilder {
            publishable_key: var("CLERK_PUBLISHABLE_KEY"),
            ..Default::default()
        };
        b.secret_key = var("CLERK_SECRET_KEY");
        b.api_url = var("CLERK_API_URL");
        b.sign_in_url = var("CLERK_SIGN_IN_URL");
        b.sign_up_url = var("CLERK_SIGN_UP_URL");
        b.proxy_url = var("CLERK_PROXY_URL");
        b.jwt_key = var("CLERK_JWT_KEY");
        if let Some(v) = var("CLERK_IS_SATELLITE") {
            b.is_satellite = Some(SatelliteSetting::Fixed(parse_bool(
                "CLERK_IS_SATELLITE",
                &v,
            )?));
        }
        if let Some(v) = var("CLERK_SATELLITE_AUTO_SYNC") {
            b.satellite_auto_sync = parse_bool("CLERK_SATELLITE_AUTO_SYNC", &v)?;
        }
        if let Some(v) = var("CLERK_TRUST_FORWARDED_HEADERS") {
            b.trust_forwarded_headers = parse_bool("CLERK_TRUST_FORWARDED_HEADERS", &v)?;
        }
        b.domain = var("CLERK_DOMAIN").map(DomainSetting::Fixed);
        if let Some(v) = var("CLERK_ALLOWED_REDIRECT_ORIGINS") {
            b.allowed_redirect_origins = v
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
        }
        Ok(b)
    }

    pub fn build(self) -> Result<OrbitConfig, ConfigError> {
        let publishable_key = self
            .publishable_key
            .ok_or(ConfigError::MissingPublishableKey)?;
        let pk = PublishableKey::parse(&publishable_key)
            .map_err(|e| ConfigError::InvalidPublishableKey(e.to_string()))?;
        let dev = pk.kind == InstanceKind::Development;
        if self.secret_key.is_none() && self.jwt_key.is_none() {
            return Err(ConfigError::MissingSecretKey);
        }
        if let Some(sk) = &self.secret_key {
            let sk_dev = sk.starts_with("sk_test_");
            let sk_prod = sk.starts_with("sk_live_");
            if (dev && sk_prod) || (!dev && sk_dev) {
                return Err(ConfigError::KeyMismatch {
                    secret: if sk_dev { "development" } else { "production" },
                    publishable: if dev { "development" } else { "production" },
                });
            }
        }
        for (key, v) in [
            ("CLERK_PROXY_URL (proxy_url)", &self.proxy_url),
            ("CLERK_API_URL (api_url)", &self.api_url),
        ] {
            if let Some(v) = v {
                if !v.starts_with('/') && Url::parse(v).is_err() {
                    return Err(ConfigError::InvalidUrl {
                        key,
                        value: v.clone(),
                    });
                }
            }
        }
        let is_satellite = self.is_satellite.unwrap_or(SatelliteSetting::Fixed(false));
        let may_be_satellite = !matches!(is_satellite, SatelliteSetting::Fixed(false));
        if may_be_satellite {
            if self.domain.is_none() && self.proxy_url.is_none() {
                return Err(ConfigError::SatelliteWithoutDomain);
            }
            match &self.sign_in_url {
                None if dev => return Err(ConfigError::DevSatelliteWithoutSignIn),
                Some(u) if Url::parse(u).is_err() => {
                    return Err(ConfigError::NotAbsolute {
                        key: "CLERK_SIGN_IN_URL (sign_in_url)",
                        value: u.clone(),
                    })
                }
                Some(u) => {
                    if let (Some(DomainSetting::Fixed(d)), Ok(sign_in)) =
                        (&self.domain, Url::parse(u))
                    {
                        if sign_in.host_str() == Some(host_of(d).0.as_str())
                            && sign_in.port() == host_of(d).1
                        {
                            return Err(ConfigError::SignInOnSatellite(u.clone()));
                        }
                    }
                }
                None => {}
            }
            if let Some(u) = &self.sign_up_url {
                if Url::parse(u).is_err() {
                    return Err(ConfigError::NotAbsolute {
                        key: "CLERK_SIGN_UP_URL (sign_up_url)",
                        value: u.clone(),
                    });
                }
            }
        }
        let fapi = default_fapi(&pk);
        let api_url = self
            .api_url
            .unwrap_or_else(|| format!("{fapi}/bapi"))
            .trim_end_matches('/')
            .to_owned();
        if let Some(pem) = &self.jwt_key {
            crate::verify::parse_pem(pem)?;
        }
        Ok(OrbitConfig {
            inner: Arc::new(ConfigInner {
                publishable_key,
                pk,
                secret_key: self.secret_key,
                api_url,
                sign_in_url: self.sign_in_url,
                sign_up_url: self.sign_up_url,
                is_satellite,
                domain: self.domain,
                allowed_redirect_origins: self.allowed_redirect_origins,
                satellite_auto_sync: self.satellite_auto_sync,
                proxy_url: self.proxy_url,
                jwt_key: self.jwt_key,
                clock_skew: self.clock_skew.unwrap_or(Duration::from_secs(5)),
                jwks_cache_max_age: self
                    .jwks_cache_max_age
                    .unwrap_or(DEFAULT_JWKS_CACHE_MAX_AGE),
                jwks_stale_if_error: self
                    .jwks_stale_if_error
                    .unwrap_or(DEFAULT_JWKS_STALE_IF_ERROR),
                trust_forwarded_headers: self.trust_forwarded_headers,
            }),
        })
    }
}

/// `satellite.dev` / `http://localhost:3001` -> (host, port).
pub(crate) fn host_of(domain: &str) -> (String, Option<u16>) {
    let d = domain.trim();
    let with_scheme = if d.contains("://") {
        d.to_owned()
    } else {
        format!("https://{d}")
    };
    match Url::parse(&with_scheme) {
        Ok(u) => (u.host_str().unwrap_or_default().to_owned(), u.port()),
        Err(_) => (d.to_owned(), None),
    }
}

/// The publishable key's FAPI host as a URL. Orbit's development server speaks plain http on
/// loopback addresses; everything else is https (docs/protocol.md "Keys").
fn default_fapi(pk: &PublishableKey) -> String {
    let host = pk.fapi_host.split(':').next().unwrap_or_default();
    let local = host.parse::<std::net::IpAddr>().is_ok()
        || host == "localhost"
        || host.ends_with(".localhost");
    let scheme = if pk.kind == InstanceKind::Development && local {
        "http"
    } else {
        "https"
    };
    format!("{scheme}://{}", pk.fapi_host)
}

impl OrbitConfig {
    pub fn builder(publishable_key: impl Into<String>) -> OrbitConfigBuilder {
        OrbitConfigBuilder {
            publishable_key: non_empty(Some(publishable_key.into())),
            ..Default::default()
        }
    }

    /// From the process environment, after loading `.env` if present.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        OrbitConfigBuilder::from_vars(|k| std::env::var(k).ok())?.build()
    }

    pub fn publishable_key(&self) -> &str {
        &self.inner.publishable_key
    }
    pub fn secret_key(&self) -> Option<&str> {
        self.inner.secret_key.as_deref()
    }
    pub fn api_url(&self) -> &str {
        &self.inner.api_url
    }
    pub fn is_development(&self) -> bool {
        self.inner.pk.kind == InstanceKind::Development
    }

    pub fn is_satellite(&self, url: &Url) -> bool {
        match &self.inner.is_satellite {
            SatelliteSetting::Fixed(b) => *b,
            SatelliteSetting::Computed(f) => f(url),
        }
    }

    /// The satellite's domain for this request (host, and port if any), scheme stripped.
    pub fn domain(&self, url: &Url) -> Option<String> {
        let raw = match self.inner.domain.as_ref()? {
            DomainSetting::Fixed(d) => d.clone(),
            DomainSetting::Computed(f) => f(url),
        };
        let (host, port) = host_of(&raw);
        Some(match port {
            Some(p) => format!("{host}:{p}"),
            None => host,
        })
    }

    /// The Frontend API this request's handshakes go to.
    pub fn frontend_api(&self, url: &Url) -> String {
        if let Some(p) = &self.inner.proxy_url {
            if p.starts_with('/') {
                return format!(
                    "{}{}",
                    url.origin().ascii_serialization(),
                    p.trim_end_matches('/')
                );
            }
            return p.trim_end_matches('/').to_owned();
        }
        if !self.is_development() && self.is_satellite(url) {
            if let Some(d) = self.domain(url) {
                return format!("https://clerk.{d}");
            }
        }
        default_fapi(&self.inner.pk)
    }

    /// Where signed-out users go to sign in: the configured URL, else Orbit's hosted page.
    pub fn sign_in_url(&self) -> String {
        self.inner
            .sign_in_url
            .clone()
            .unwrap_or_else(|| format!("{}/sign-in", default_fapi(&self.inner.pk)))
    }

    /// A page of Orbit's hosted account portal (on the primary's Frontend API).
    pub fn portal_url(&self, path: &str) -> String {
        format!("{}{path}", default_fapi(&self.inner.pk))
    }

    pub fn sign_up_url(&self) -> String {
        self.inner
            .sign_up_url
            .clone()
            .unwrap_or_else(|| format!("{}/sign-up", default_fapi(&self.inner.pk)))
    }

    pub fn satellite_auto_sync(&self) -> bool {
        self.inner.satellite_auto_sync
    }

    pub fn allowed_redirect_origins(&self) -> &[String] {
        &self.inner.allowed_redirect_origins
    }

    pub fn clock_skew(&self) -> Duration {
        self.inner.clock_skew
    }

    pub fn jwks_cache_max_age(&self) -> Duration {
        self.inner.jwks_cache_max_age
    }

    pub fn jwks_stale_if_error(&self) -> Duration {
        self.inner.jwks_stale_if_error
    }

    /// Whether the request's origin is taken from `X-Forwarded-Host` / `X-Forwarded-Proto`.
    pub fn trust_forwarded_headers(&self) -> bool {
        self.inner.trust_forwarded_headers
    }

    pub(crate) fn jwt_key(&self) -> Option<&str> {
        self.inner.jwt_key.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const PK_DEV: &str = "pk_test_MTI3LjAuMC4xOjQwMDAk"; // 127.0.0.1:4000
    const PK_LIVE: &str = "pk_live_Y2xlcmsucHJpbWFyeS5kZXYk"; // clerk.primary.dev

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    fn from(pairs: &[(&str, &str)]) -> Result<OrbitConfig, ConfigError> {
        OrbitConfigBuilder::from_vars(vars(pairs))?.build()
    }

    #[test]
    fn seed_env_files_work() {
        // The seed's development satellite .env.
        let c = from(&[
            ("CLERK_PUBLISHABLE_KEY", PK_DEV),
            ("CLERK_SECRET_KEY", "sk_test_x"),
            ("CLERK_IS_SATELLITE", "true"),
            ("CLERK_DOMAIN", "http://localhost:3001"),
            ("CLERK_SIGN_IN_URL", "http://localhost:3000/sign-in"),
            ("CLERK_SIGN_UP_URL", "http://localhost:3000/sign-up"),
        ])
        .unwrap();
        let url = Url::parse("http://localhost:3001/profile").unwrap();
        assert!(c.is_satellite(&url));
        assert_eq!(c.domain(&url).as_deref(), Some("localhost:3001"));
        assert_eq!(
            c.frontend_api(&url),
            "http://127.0.0.1:4000",
            "development: one plain-http FAPI"
        );
        assert_eq!(c.api_url(), "http://127.0.0.1:4000/bapi");
        // The production satellite .env, NEXT_PUBLIC_ names too.
        let c = from(&[
            ("NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY", PK_LIVE),
            ("CLERK_SECRET_KEY", "sk_live_x"),
            ("NEXT_PUBLIC_CLERK_IS_SATELLITE", "true"),
            ("NEXT_PUBLIC_CLERK_DOMAIN", "satellite.dev"),
            (
                "NEXT_PUBLIC_CLERK_SIGN_IN_URL",
                "https://primary.dev/sign-in",
            ),
        ])
        .unwrap();
        let url = Url::parse("https://satellite.dev/").unwrap();
        assert_eq!(c.frontend_api(&url), "https://clerk.satellite.dev");
        assert_eq!(c.api_url(), "https://clerk.primary.dev/bapi");
        // The primary's .env.
        let c = from(&[
            ("CLERK_PUBLISHABLE_KEY", PK_LIVE),
            ("CLERK_SECRET_KEY", "sk_live_x"),
            ("CLERK_SIGN_IN_URL", "/sign-in"),
        ])
        .unwrap();
        assert!(!c.is_satellite(&url));
        assert_eq!(c.frontend_api(&url), "https://clerk.primary.dev");
    }

    #[test]
    fn invalid_combinations_say_what_to_set() {
        let cases: &[(&[(&str, &str)], ConfigError)] = &[
            (&[], ConfigError::MissingPublishableKey),
            (&[("CLERK_PUBLISHABLE_KEY", "pk_test_bm9kb3Qk")], ConfigError::InvalidPublishableKey("the publishable key's host must contain a dot (the published SDKs reject it otherwise)".into())),
            (&[("CLERK_PUBLISHABLE_KEY", PK_DEV)], ConfigError::MissingSecretKey),
            (&[("CLERK_PUBLISHABLE_KEY", PK_DEV), ("CLERK_SECRET_KEY", "sk_live_x")], ConfigError::KeyMismatch { secret: "production", publishable: "development" }),
            (&[("CLERK_PUBLISHABLE_KEY", PK_LIVE), ("CLERK_SECRET_KEY", "sk_live_x"), ("CLERK_IS_SATELLITE", "true")], ConfigError::SatelliteWithoutDomain),
            (
                &[("CLERK_PUBLISHABLE_KEY", PK_DEV), ("CLERK_SECRET_KEY", "sk_test_x"), ("CLERK_IS_SATELLITE", "true"), ("CLERK_DOMAIN", "localhost:3001")],
                ConfigError::DevSatelliteWithoutSignIn,
            ),
            (
                &[
                    ("CLERK_PUBLISHABLE_KEY", PK_LIVE),
                    ("CLERK_SECRET_KEY", "sk_live_x"),
                    ("CLERK_IS_SATELLITE", "true"),
                    ("CLERK_DOMAIN", "satellite.dev"),
                    ("CLERK_SIGN_IN_URL", "https://satellite.dev/sign-in"),
                ],
                ConfigError::SignInOnSatellite("https://satellite.dev/sign-in".into()),
            ),
            (
                &[("CLERK_PUBLISHABLE_KEY", PK_LIVE), ("CLERK_SECRET_KEY", "sk_live_x"), ("CLERK_IS_SATELLITE", "true"), ("CLERK_DOMAIN", "satellite.dev"), ("CLERK_SIGN_IN_URL", "/sign-in")],
                ConfigError::NotAbsolute { key: "CLERK_SIGN_IN_URL (sign_in_url)", value: "/sign-in".into() },
            ),
            (&[("CLERK_PUBLISHABLE_KEY", PK_DEV), ("CLERK_SECRET_KEY", "sk_test_x"), ("CLERK_IS_SATELLITE", "maybe")], ConfigError::InvalidBool { key: "CLERK_IS_SATELLITE", value: "maybe".into() }),
        ];
        for (vars, expected) in cases {
            let got = from(vars).unwrap_err();
            assert_eq!(&got, expected, "{vars:?}");
            assert!(!got.to_string().is_empty());
        }
    }

    #[test]
    fn builder_with_functions() {
        let c = OrbitConfig::builder(PK_LIVE)
            .secret_key("sk_live_x")
            .is_satellite_fn(|u| u.host_str() != Some("primary.dev"))
            .domain_fn(|u| u.host_str().unwrap_or_default().to_owned())
            .sign_in_url("https://primary.dev/sign-in")
            .proxy_url("/__orbit")
            .build()
            .unwrap();
        let sat = Url::parse("https://shop.example/x").unwrap();
        assert!(c.is_satellite(&sat));
        assert_eq!(c.domain(&sat).as_deref(), Some("shop.example"));
        assert_eq!(
            c.frontend_api(&sat),
            "https://shop.example/__orbit",
            "a relative proxy URL is on the request's origin"
        );
        assert!(!c.is_satellite(&Url::parse("https://primary.dev/").unwrap()));
        assert!(
            !format!("{c:?}").contains("sk_live"),
            "Debug never shows the secret key"
        );
    }
}
