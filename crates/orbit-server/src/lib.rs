//! The Orbit server: HTTP only. `browser/` (the browser layer: FAPI host, client, cookies,
//! redirects, pages), `fapi/` (browser-facing API per domain host), `portal/` (hosted sign-in,
//! sign-up, profile pages), `dashboard/` (the operators' dashboard), `bapi/` (backend API,
//! secret key), `resources.rs` (the JSON shapes
//! fapi and bapi share), `assets/` (Clerk's browser bundles under `/npm/`), `cli/` (the
//! `orbit` command).
//! The domain lives in orbit-core; this crate translates (ARCHITECTURE.md has the module map).

pub mod app_env;
pub mod assets;
pub mod bapi;
pub mod browser;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod data_dir;
pub mod dns;
pub mod error;
pub mod extract;
pub mod fapi;
pub mod mail;
pub mod portal;
pub mod resources;
pub mod serve;

use config::Config;
use orbit_core::Orbit;
use std::sync::Arc;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub orbit: Arc<Orbit>,
    pub config: Arc<Config>,
    /// Public base URL of this server, e.g. `http://127.0.0.1:4000`.
    pub public_base: String,
    /// Whether this process terminates TLS itself.
    pub tls: bool,
    /// Resolver for satellites' CNAME checks.
    pub resolver: Arc<dyn orbit_core::satellite::CnameResolver>,
    /// Where production satellites' CNAME records must point.
    pub cname_target: String,
    /// Clerk's browser bundles: the cache in the data directory, fetched on first use.
    pub bundles: Arc<assets::Bundles>,
}

pub use serve::{start, start_with, Running, ServeDeps};
