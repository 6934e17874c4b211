//! Frontend API: the browser-facing JSON API of each FAPI host (docs/protocol.md "Concepts").
//! Sessions and tokens here, the handshake and the satellite sync in `handshake.rs`, Clerk's
//! browser bundles under `/npm/` in `bundles.rs` (from the cache `crate::assets` keeps). Built
//! on the browser layer (`crate::browser`).

mod bundles;
mod handshake;

use crate::browser::redirect::{redirect_target, with_cookies};
use crate::browser::{cookies, BrowserClient, Fapi};
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use orbit_core::model::{InstanceKind, SessionStatus};
use orbit_core::SessionOwner;
use orbit_proto::fapi::{DevBrowser, EndedSession, SignedOutClient};
use orbit_proto::resources::Token;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route("/v1/client/sessions/{id}/tokens", post(session_token))
        .route("/v1/client/sessions/{id}/end", post(end_session))
        .route("/v1/client/sessions", delete(sign_out))
        .route("/v1/dev_browser", post(dev_browser))
        .route("/v1/client/signed_out", get(signed_out))
        .merge(handshake::routes())
        .merge(bundles::routes())
}

/// `GET /.well-known/jwks.json`: public keys of the instance, current and recently retired.
async fn jwks(State(state): State<AppState>, fapi: Fapi) -> Result<Response, ApiError> {
    let jwks = state.orbit.jwks(&fapi.ctx.instance.id).await?;
    let mut resp = Json(jwks).into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&format!(
            "public, max-age={}",
            orbit_core::keys::JWKS_HTTP_MAX_AGE / orbit_core::clock::SECOND
        ))
        .expect("a header value"),
    );
    resp.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(resp)
}

fn request_origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

/// Whether `origin` may read FAPI responses with credentials: this host itself or an origin the
/// instance may redirect to.
async fn origin_allowed(state: &AppState, fapi: &Fapi, origin: &str) -> Result<bool, ApiError> {
    if origin == fapi.origin {
        return Ok(true);
    }
    let policy = state.orbit.redirect_policy(&fapi.ctx.instance).await?;
    Ok(policy
        .check(origin, None)
        .is_ok_and(|t| t.origin() == origin))
}

fn origin_refused(long_message: String) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "origin_invalid",
        "Origin not allowed",
        long_message,
    )
}

/// The request's `Origin` when it is this host or an origin of the instance; otherwise a 403
/// that names the problem. Every FAPI POST (and the sign-out DELETE) needs one
/// (docs/design/sessions-and-tokens.md "Origin"): they change state or hand out credentials,
/// and browsers always send `Origin` on them, so a request without one did not come from a page
/// of the instance. A cross-site form must not sign anyone out, nor mint a token.
async fn require_allowed_origin<'h>(
    state: &AppState,
    fapi: &Fapi,
    headers: &'h HeaderMap,
) -> Result<&'h str, ApiError> {
    match request_origin(headers) {
        None => Err(origin_refused(
            "This request has no Origin header. Send it from a page of one of the instance's domains; browsers add the header themselves.".into(),
        )),
        Some(o) if origin_allowed(state, fapi, o).await? => Ok(o),
        Some("null") => Err(origin_refused(
            "The request's Origin is null (a sandboxed page, a file or a privacy redirect). Send it from a page of one of the instance's domains.".into(),
        )),
        Some(o) => Err(origin_refused(format!(
            "The origin {o} is not a domain of this instance nor in its allowed redirect origins."
        ))),
    }
}

/// CORS for the request's origin (which passed the origin check), never cached.
fn with_cors(mut resp: Response, headers: &HeaderMap) -> Response {
    if let Some(o) = headers.get(header::ORIGIN).cloned() {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn signed_out_error(long_message: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "signed_out",
        "Signed out",
        long_message.to_owned(),
    )
}

/// Same answer whether the session is someone else's, ended, or unknown.
fn session_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "resource_not_found",
        "Session not found",
        "No active session with this id on this client.",
    )
}

/// `POST /v1/client/sessions/{id}/tokens`: a fresh session token for a session of this
/// browser's client, for an allowed `Origin`, which becomes `azp`.
async fn session_token(
    State(state): State<AppState>,
    browser: BrowserClient,
    Path(session_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let fapi = &browser.fapi;
    let origin = require_allowed_origin(&state, fapi, &headers).await?;
    let Some(client) = &browser.client else {
        return Err(signed_out_error(
            "This browser has no signed-in client on this host.",
        ));
    };
    let instance = &fapi.ctx.instance;
    state
        .orbit
        .owned_session(instance, SessionOwner::Client(&client.id), &session_id)
        .await?
        .ok_or_else(session_not_found)?;
    let jwt = state
        .orbit
        .mint_session_token(instance, &session_id, Some(origin))
        .await?;
    // `origin` passed the check above: CORS for it alone.
    Ok(with_cors(
        Json(Token {
            object: "token".into(),
            jwt,
        })
        .into_response(),
        &headers,
    ))
}

/// `DELETE /v1/client/sessions`: signs the browser's client out on every linked domain
/// (docs/protocol.md "Satellite sync": sign-out on any domain ends the client's sessions).
async fn sign_out(
    State(state): State<AppState>,
    browser: BrowserClient,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let fapi = &browser.fapi;
    require_allowed_origin(&state, fapi, &headers).await?;
    let ended = match &browser.client {
        Some(c) => {
            state
                .orbit
                .sign_out_client(&fapi.ctx.instance, &c.id)
                .await?
        }
        None => 0,
    };
    let resp = with_cors(
        Json(SignedOutClient::new(
            u64::try_from(ended).unwrap_or(u64::MAX),
        ))
        .into_response(),
        &headers,
    );
    Ok(with_cookies(
        resp,
        cookies::client_uat_for_app(&state, fapi, 0).await,
    ))
}

/// `POST /v1/client/sessions/{id}/end`: ends one session of the browser's client.
async fn end_session(
    State(state): State<AppState>,
    browser: BrowserClient,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let fapi = &browser.fapi;
    require_allowed_origin(&state, fapi, &headers).await?;
    let Some(client) = &browser.client else {
        return Err(signed_out_error("This browser has no client on this host."));
    };
    let instance = &fapi.ctx.instance;
    state
        .orbit
        .owned_session(instance, SessionOwner::Client(&client.id), &id)
        .await?
        .ok_or_else(session_not_found)?;
    let s = state
        .orbit
        .end_session(instance, &id, SessionStatus::Ended)
        .await?;
    let resp = with_cors(
        Json(EndedSession::new(s.id, s.status.as_str().to_owned())).into_response(),
        &headers,
    );
    let signed_out = state
        .orbit
        .active_sessions(instance, &client.id)
        .await?
        .is_empty();
    let set = if signed_out {
        cookies::client_uat_for_app(&state, fapi, 0).await
    } else {
        Vec::new()
    };
    Ok(with_cookies(resp, set))
}

/// `POST /v1/dev_browser` (development instances): a development browser token for this
/// browser's client (or for no client yet), as clerk-js asks for one.
async fn dev_browser(
    State(state): State<AppState>,
    browser: BrowserClient,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let fapi = &browser.fapi;
    if fapi.ctx.instance.kind != InstanceKind::Development {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "dev_browser_unsupported",
            "Not a development instance",
            "Development browsers exist only on development instances.",
        ));
    }
    // It hands out a bearer credential: only pages of the instance may ask (clerk-js posts
    // from the app's origin, which the instance allows).
    require_allowed_origin(&state, fapi, &headers).await?;
    // For the browser's client, or for none yet: no client is created for a visit.
    let token = state
        .orbit
        .new_dev_browser(&fapi.ctx.instance, browser.client.as_ref())
        .await?;
    Ok(with_cors(
        Json(DevBrowser::new(token)).into_response(),
        &headers,
    ))
}

#[derive(Debug, serde::Deserialize)]
struct SignedOutQuery {
    redirect_url: Option<String>,
}

/// `GET /v1/client/signed_out` on the primary: the last hop of a sign-out made on a satellite.
/// Resets the primary's `__client_uat` so the primary app handshakes (and finds the browser
/// signed out) at its next request, then goes on to `redirect_url` if the policy allows it.
async fn signed_out(
    State(state): State<AppState>,
    fapi: Fapi,
    Query(q): Query<SignedOutQuery>,
) -> Result<Response, ApiError> {
    let target = redirect_target(&state, &fapi, q.redirect_url.as_deref(), "/sign-in").await?;
    let mut resp = Redirect::to(target.as_str()).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(with_cookies(
        resp,
        cookies::client_uat_for_app(&state, &fapi, 0).await,
    ))
}
