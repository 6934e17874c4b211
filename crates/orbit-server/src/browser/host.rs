//! The FAPI host a request reached: which instance and domain it serves, and whether it is https.
//! Unknown or unverified hosts are refused with a page for browsers and JSON for API clients.

use super::page::PageError;
use crate::error::ApiError;
use crate::extract::{forwarded, request_host};
use crate::AppState;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use orbit_core::model::InstanceKind;
use orbit_core::HostContext;
use orbit_proto::wire;

/// The instance and domain whose FAPI host received this request (docs/protocol.md "Concepts": one
/// process serves every FAPI host and picks instance and domain from `Host`).
#[derive(Debug, Clone)]
pub struct Fapi {
    pub ctx: HostContext,
    /// `https://clerk.example.com` or `http://127.0.0.1:4000`: this host's own origin.
    pub origin: String,
    pub secure: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Fapi
where
    AppState: FromRef<S>,
{
    type Rejection = FapiRejection;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, FapiRejection> {
        // A middleware that resolved the host already (`fapi::request::guard`) left it here.
        if let Some(fapi) = parts.extensions.get::<Fapi>() {
            return Ok(fapi.clone());
        }
        Self::resolve(parts, state)
            .await
            .map_err(|error| FapiRejection::new(parts, error))
    }
}

/// Why a request reached no FAPI host: JSON for API clients, a page for browsers.
#[derive(Debug)]
pub struct FapiRejection {
    error: ApiError,
    wants_html: bool,
}

impl FapiRejection {
    /// `error` answered as a page when the request asked for HTML.
    pub fn new(parts: &Parts, error: ApiError) -> Self {
        let wants_html = parts
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
        Self { error, wants_html }
    }
}

impl IntoResponse for FapiRejection {
    fn into_response(self) -> axum::response::Response {
        if self.wants_html {
            PageError::from(self.error).into_response()
        } else {
            self.error.into_response()
        }
    }
}

impl From<FapiRejection> for ApiError {
    fn from(r: FapiRejection) -> Self {
        r.error
    }
}

impl Fapi {
    async fn resolve<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<Self, ApiError>
    where
        AppState: FromRef<S>,
    {
        let state = AppState::from_ref(state);
        let host = request_host(parts, &state).unwrap_or_default();
        let Some(ctx) = state.orbit.resolve_host(&host).await? else {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "host_not_found",
                "Unknown host",
                format!("No Orbit instance serves the host {host:?}. `orbit instance show` lists the hosts this server answers for."),
            ));
        };
        if ctx.instance.kind == InstanceKind::Production
            && ctx.domain.is_satellite
            && ctx.domain.suspended_at.is_some()
        {
            // docs/design/dns-verification.md "Re-checks and suspension".
            return Err(ApiError::new(
                StatusCode::MISDIRECTED_REQUEST,
                "domain_suspended",
                "Satellite domain suspended",
                format!(
                    "{host} no longer serves the satellite {}: {}",
                    ctx.domain.name,
                    state.orbit.dns_status(&ctx.domain)
                ),
            ));
        }
        if ctx.instance.kind == InstanceKind::Production
            && ctx.domain.is_satellite
            && !ctx.domain.verified
        {
            return Err(ApiError::new(
                StatusCode::MISDIRECTED_REQUEST,
                "domain_not_verified",
                "Satellite domain not verified",
                format!(
                    "{host} serves the satellite {} once its DNS is verified. Create the CNAME record {host} -> {}, then run `orbit domain verify {}`. Last check: {}",
                    ctx.domain.name,
                    state.cname_target,
                    ctx.domain.name,
                    ctx.domain.verification_error.clone().unwrap_or_else(|| "not checked yet".into())
                ),
            ));
        }
        let forwarded_https =
            forwarded(parts, &state, wire::header::FORWARDED_PROTO).as_deref() == Some("https");
        let secure = state.tls || forwarded_https || ctx.instance.kind == InstanceKind::Production;
        let scheme = if secure { "https" } else { "http" };
        Ok(Fapi {
            origin: format!("{scheme}://{host}"),
            ctx,
            secure,
        })
    }
}

impl Fapi {
    /// The FAPI host this request reached (what client tokens are bound to).
    pub fn host(&self) -> String {
        self.ctx.domain.fapi_host.clone().unwrap_or_default()
    }
}
