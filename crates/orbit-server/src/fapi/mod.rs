//! Frontend API: the browser-facing API of each FAPI host (PROTOCOL.md "Concepts").

use crate::error::ApiError;
use crate::extract::{cookie, Fapi};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cookie::{Cookie, SameSite};
use orbit_core::model::{Client, Instance};
use orbit_proto::resources::Token;

/// The browser's long-lived client token on one FAPI host (PROTOCOL.md "Cookies").
pub const CLIENT_COOKIE: &str = "__client";
const CLIENT_COOKIE_MAX_AGE_DAYS: i64 = 365;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route("/v1/client/sessions/{id}/tokens", post(session_token))
}

/// `Set-Cookie` for the `__client` cookie: host-only, HttpOnly, SameSite=Lax, Secure on https.
pub fn client_cookie(token: &str, secure: bool) -> HeaderValue {
    let c = Cookie::build((CLIENT_COOKIE, token.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(cookie::time::Duration::days(CLIENT_COOKIE_MAX_AGE_DAYS))
        .build();
    HeaderValue::from_str(&c.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The client the request's `__client` cookie stands for on this host.
pub async fn current_client(state: &AppState, fapi: &Fapi, headers: &HeaderMap) -> Result<Option<Client>, ApiError> {
    let Some(token) = cookie(headers, CLIENT_COOKIE) else { return Ok(None) };
    let client = state.orbit.client_for_token(&fapi.ctx.domain.fapi_host, &token).await?;
    Ok(client.filter(|c| c.instance_id == fapi.ctx.instance.id))
}

/// `GET /.well-known/jwks.json`: public keys of the instance, current and recently retired.
async fn jwks(State(state): State<AppState>, fapi: Fapi) -> Result<Response, ApiError> {
    let jwks = state.orbit.jwks(&fapi.ctx.instance.id).await?;
    let mut resp = Json(jwks).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    resp.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    Ok(resp)
}

/// Whether `origin` may read FAPI responses with credentials: this host itself or an origin the
/// instance may redirect to.
async fn origin_allowed(state: &AppState, instance: &Instance, fapi: &Fapi, origin: &str) -> Result<bool, ApiError> {
    if origin == fapi.origin {
        return Ok(true);
    }
    let policy = state.orbit.redirect_policy(instance).await?;
    Ok(policy.check(origin, None).is_ok_and(|t| t.origin() == origin))
}

/// `POST /v1/client/sessions/{id}/tokens`: a fresh session token for a session of this
/// browser's client. `azp` is the requesting origin.
async fn session_token(
    State(state): State<AppState>,
    fapi: Fapi,
    Path(session_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if let Some(o) = &origin {
        if !origin_allowed(&state, &fapi.ctx.instance, &fapi, o).await? {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "origin_invalid",
                "Origin not allowed",
                format!("The origin {o} is not a domain of this instance nor in its allowed redirect origins."),
            ));
        }
    }
    let Some(client) = current_client(&state, &fapi, &headers).await? else {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "signed_out", "Signed out", "This browser has no signed-in client on this host."));
    };
    let sessions = state.orbit.active_sessions(&fapi.ctx.instance, &client.id).await?;
    if !sessions.iter().any(|s| s.id == session_id) {
        // Same answer whether the session is someone else's, ended, or unknown.
        return Err(ApiError::new(StatusCode::NOT_FOUND, "resource_not_found", "Session not found", "No active session with this id on this client."));
    }
    let jwt = state.orbit.mint_session_token(&fapi.ctx.instance, &session_id, origin.as_deref().or(Some(&fapi.origin))).await?;
    let mut resp = Json(Token { object: "token".into(), jwt }).into_response();
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(o) = origin.and_then(|o| HeaderValue::from_str(&o).ok()) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    Ok(resp)
}
