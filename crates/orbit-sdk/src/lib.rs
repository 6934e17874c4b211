//! Orbit's Rust SDK: authenticate every request of a tower/axum app the way docs/protocol.md's
//! handshake section describes (and `@clerk/backend`'s `authenticateRequest` does), verify
//! session tokens without a network call, protect routes, and call the Backend API.
//!
//! ```no_run
//! # #[cfg(feature = "axum")]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{routing::get, Router};
//! use orbit_sdk::{Orbit, OrbitConfig, RouteMatcher};
//!
//! let orbit = Orbit::new(OrbitConfig::from_env()?)?;          // CLERK_PUBLISHABLE_KEY, ...
//! let app: Router = Router::new()
//!     .route("/", get(|| async { "public" }))
//!     .route("/profile", get(|auth: orbit_sdk::Auth| async move { format!("{:?}", auth.user_id()) }))
//!     .layer(orbit.layer().protect_all_except(RouteMatcher::new(["/"])));
//! # Ok(()) }
//! ```

mod authenticate;
pub mod bapi;
mod config;
mod cookies;
mod layer;
mod routes;
mod verify;

#[cfg(feature = "axum")]
mod axum_ext;

pub use authenticate::{Auth, AuthStatus, RequestState};
pub use bapi::{BapiClient, BapiError};
pub use config::{
    ConfigError, DomainSetting, OrbitConfig, OrbitConfigBuilder, SatelliteSetting,
    DEFAULT_JWKS_CACHE_MAX_AGE,
};
pub use layer::{OrbitLayer, OrbitService};
pub use orbit_proto::SessionClaims;
pub use routes::RouteMatcher;
pub use verify::{TokenVerifier, VerifyError};

#[cfg(feature = "axum")]
pub use axum_ext::ProtectRejection;

use std::sync::Arc;

/// The SDK's entry point: configuration, token verifier (with its JWKS cache) and BAPI client.
/// Cheap to clone.
#[derive(Clone)]
pub struct Orbit {
    inner: Arc<OrbitInner>,
}

struct OrbitInner {
    config: OrbitConfig,
    verifier: TokenVerifier,
    bapi: BapiClient,
}

impl std::fmt::Debug for Orbit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Orbit")
            .field("config", &self.inner.config)
            .finish()
    }
}

impl Orbit {
    pub fn new(config: OrbitConfig) -> Result<Self, ConfigError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("orbit-sdk/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| ConfigError::Http(e.to_string()))?;
        Self::with_http_client(config, http)
    }

    /// Like `new`, with your own HTTP client for the Backend API (extra root certificates, a
    /// proxy, timeouts).
    pub fn with_http_client(
        config: OrbitConfig,
        http: reqwest::Client,
    ) -> Result<Self, ConfigError> {
        let bapi = BapiClient::with_client(
            http.clone(),
            config.api_url(),
            config.secret_key().unwrap_or_default(),
        );
        let verifier = TokenVerifier::new(&config, bapi.clone())?;
        Ok(Self {
            inner: Arc::new(OrbitInner {
                config,
                verifier,
                bapi,
            }),
        })
    }

    pub fn config(&self) -> &OrbitConfig {
        &self.inner.config
    }

    pub fn verifier(&self) -> &TokenVerifier {
        &self.inner.verifier
    }

    /// The Backend API client (users, sessions, domains).
    pub fn bapi(&self) -> &BapiClient {
        &self.inner.bapi
    }

    /// Decides what a request is: signed in, signed out, or in need of a handshake redirect.
    pub async fn authenticate(&self, parts: &http::request::Parts) -> RequestState {
        authenticate::authenticate(self, parts).await
    }

    /// A page of Orbit's hosted account portal on the primary, e.g. `hosted_page("/sign-in")`.
    pub fn hosted_page(&self, path: &str) -> String {
        self.inner.config.portal_url(path)
    }

    /// A tower `Layer` running `authenticate` on every request.
    pub fn layer(&self) -> OrbitLayer {
        OrbitLayer::new(self.clone())
    }
}
