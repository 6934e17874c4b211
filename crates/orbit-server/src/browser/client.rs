//! `BrowserClient`: the browser behind a FAPI request, resolved to its client once. The client
//! is the `__client` cookie's on this host or, on development instances, the development
//! browser's (`__clerk_db_jwt` in the query); core decides which (`Orbit::browser_state`).

use super::host::{Fapi, FapiRejection};
use crate::error::ApiError;
use crate::extract::{cookie, QueryParams};
use crate::AppState;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use orbit_core::model::Client;
use orbit_proto::wire;

#[derive(Debug, Clone)]
pub struct BrowserClient {
    pub fapi: Fapi,
    pub client: Option<Client>,
    /// The development browser token the request carried, when it stands for `client`.
    pub dev_browser: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for BrowserClient
where
    AppState: FromRef<S>,
{
    type Rejection = FapiRejection;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, FapiRejection> {
        let fapi = Fapi::from_request_parts(parts, state).await?;
        let app = AppState::from_ref(state);
        let client_token = cookie(&parts.headers, wire::cookie::CLIENT.name(fapi.secure));
        // A repeated token is no token: the browser is then the cookie's alone.
        let query = QueryParams::parse(parts.uri.query());
        let dev_browser = query.get(wire::query::DEV_BROWSER).ok().flatten();
        let browser = app
            .orbit
            .browser_state(
                &fapi.ctx.instance,
                &fapi.host(),
                client_token.as_deref(),
                dev_browser,
            )
            .await
            .map_err(|e| FapiRejection::new(parts, ApiError::from(e)))?;
        Ok(BrowserClient {
            fapi,
            client: browser.client,
            dev_browser: browser.dev_browser,
        })
    }
}
