//! Frontend API: the browser-facing JSON API of each FAPI host (docs/protocol.md "Concepts",
//! docs/design/frontend-api.md). Sessions and tokens here, the handshake and the satellite sync
//! in `handshake.rs`, what every clerk-js call shares (method override, CORS and CSRF, the
//! caller) in `request.rs`, Clerk's browser bundles under `/npm/` in `bundles.rs` (from the
//! cache `crate::assets` keeps). Built on the browser layer (`crate::browser`).

mod bundles;
mod client;
mod handshake;
pub mod request;
mod resources;
mod sessions;
mod sign_in;
mod sign_up;

use crate::browser::redirect::{redirect_target, with_cookies};
use crate::browser::{cookies, BrowserClient, Fapi};
use crate::error::ApiError;
use crate::extract::FormOrJson;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use orbit_core::model::InstanceKind;
use orbit_core::SessionOwner;
use orbit_proto::fapi::DevBrowser;
use orbit_proto::resources::Token;
use request::AllowedOrigin;

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route("/v1/client/signed_out", get(signed_out))
        .merge(handshake::routes())
        .merge(bundles::routes())
        .merge(api_routes().layer(from_fn_with_state(state, request::guard)))
}

/// The JSON endpoints clerk-js calls: each behind the origin check (`request::guard`).
fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/v1/client/sessions/{id}/tokens", post(session_token))
        .route("/v1/client/sessions/{id}/end", post(sessions::end))
        .route("/v1/client/sessions/{id}/remove", post(sessions::remove))
        .route("/v1/client/sessions/{id}/touch", post(sessions::touch))
        .route("/v1/me", get(sessions::get_me).patch(sessions::patch_me))
        .route("/v1/me/change_password", post(sessions::change_password))
        .route("/v1/me/sessions/active", get(sessions::active_sessions))
        .route("/v1/me/sessions/{id}/revoke", post(sessions::revoke))
        .route(
            "/v1/environment",
            get(client::environment).patch(client::environment),
        )
        .route(
            "/v1/client",
            get(client::get_client).delete(client::sign_out),
        )
        .route("/v1/client/sessions", delete(client::sign_out))
        .route("/v1/client/sign_ins", post(sign_in::create))
        .route(
            "/v1/client/sign_ins/{id}/attempt_first_factor",
            post(sign_in::attempt_first_factor),
        )
        .route("/v1/client/sign_ups", post(sign_up::create))
        .route(
            "/v1/client/sign_ups/{id}/prepare_verification",
            post(sign_up::prepare_verification),
        )
        .route(
            "/v1/client/sign_ups/{id}/attempt_verification",
            post(sign_up::attempt_verification),
        )
        .route("/v1/dev_browser", post(dev_browser))
}

/// `GET /.well-known/jwks.json`: public keys of the instance, current and recently retired.
async fn jwks(State(state): State<AppState>, fapi: Fapi) -> Result<Response, ApiError> {
    let jwks = state.orbit.jwks(&fapi.ctx.instance.id).await?;
    let cache_control = HeaderValue::from_str(&format!(
        "public, max-age={}",
        orbit_core::keys::JWKS_HTTP_MAX_AGE / orbit_core::clock::SECOND
    ))
    .map_err(|_| ApiError::internal("the JWKS Cache-Control header"))?;
    let mut resp = Json(jwks).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, cache_control);
    resp.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(resp)
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

/// What clerk-js posts with a token request (`Session.ts` `#createTokenResolver`): no
/// organizations here, and the tab's state is only a hint; both are read and ignored.
#[derive(Debug, Default, serde::Deserialize)]
struct TokenParams {
    #[allow(dead_code)]
    organization_id: Option<String>,
    #[allow(dead_code)]
    tab_state: Option<String>,
}

/// `POST /v1/client/sessions/{id}/tokens`: a fresh session token for a session of this
/// browser's client, for an allowed `Origin` (`request::guard`), which becomes `azp`.
async fn session_token(
    State(state): State<AppState>,
    browser: BrowserClient,
    Path(session_id): Path<String>,
    Extension(AllowedOrigin(origin)): Extension<AllowedOrigin>,
    FormOrJson(_): FormOrJson<TokenParams>,
) -> Result<Response, ApiError> {
    let fapi = &browser.fapi;
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
        .mint_session_token(instance, &session_id, Some(&origin))
        .await?;
    Ok(Json(Token {
        object: "token".into(),
        jwt,
    })
    .into_response())
}

/// `POST /v1/dev_browser` (development instances): a development browser token for this
/// browser's client (or for no client yet), as clerk-js asks for one.
async fn dev_browser(
    State(state): State<AppState>,
    browser: BrowserClient,
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
    // from the app's origin, which the instance allows; `request::guard` checked it).
    // For the browser's client, or for none yet: no client is created for a visit.
    let token = state
        .orbit
        .new_dev_browser(&fapi.ctx.instance, browser.client.as_ref())
        .await?;
    Ok(Json(DevBrowser::new(token)).into_response())
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
