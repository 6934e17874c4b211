//! What clerk-js loads first and how it signs out (docs/design/frontend-api.md "Endpoints"):
//! the environment, the browser's client, and the client's sign-out.

use super::request::Caller;
use super::resources::{client_json, session_json};
use crate::browser::redirect::with_cookies;
use crate::browser::{cookies, Fapi};
use crate::error::ApiError;
use crate::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use orbit_core::model::Client;
use orbit_proto::frontend::{self as f, ClientWrapped, Environment};

/// `GET /v1/environment`, and the `PATCH` clerk-js sends instead in development (a "touch"
/// that Clerk uses to learn the app's origin; Orbit knows its origins, so both answer alike).
/// A bare resource, not wrapped.
pub(super) async fn environment(
    State(state): State<AppState>,
    fapi: Fapi,
) -> Result<Json<Environment>, ApiError> {
    Ok(Json(
        state.orbit.frontend_environment(&fapi.ctx.instance).await?,
    ))
}

/// The browser's client as clerk-js reads it: `client`'s active sessions, each with its user
/// and, for a page of an allowed origin, a fresh token naming that origin as `azp`; and the
/// attempts in progress.
pub(super) async fn client_view(
    state: &AppState,
    caller: &Caller,
    client: Option<&Client>,
    sign_in: Option<f::SignIn>,
    sign_up: Option<f::SignUp>,
) -> Result<Option<f::Client>, ApiError> {
    let instance = &caller.fapi.ctx.instance;
    let mut sessions = Vec::new();
    if let Some(c) = client {
        for s in state.orbit.active_sessions(instance, &c.id).await? {
            let user = state.orbit.user(&instance.id, &s.user_id).await?;
            let token = match &caller.origin {
                Some(o) => Some(
                    state
                        .orbit
                        .mint_session_token(instance, &s.id, Some(o))
                        .await?,
                ),
                None => None,
            };
            sessions.push(session_json(&s, &user, instance, token, state.orbit.now()));
        }
    }
    Ok(client_json(
        client,
        sessions,
        sign_in,
        sign_up,
        state.orbit.now(),
    ))
}

/// `GET /v1/client`: `{response: Client | null, client: null}` (spec `ClientWrappedClient`).
/// A browser without a client gets `null`, never an error: a 4xx here stops clerk-js loading.
pub(super) async fn get_client(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ClientWrapped<Option<f::Client>>>, ApiError> {
    let view = client_view(&state, &caller, caller.client.as_ref(), None, None).await?;
    Ok(Json(ClientWrapped::new(view, None)))
}

/// `DELETE /v1/client/sessions` (clerk-js's sign-out, sent as `POST ...?_method=DELETE`) and
/// `DELETE /v1/client`: every session of the browser's client ends, on every domain linked to
/// it (docs/protocol.md "Satellite sync"). The answer is the client without sessions; in
/// production `__client_uat=0` tells the app's server at its next request.
pub(super) async fn sign_out(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let fapi = &caller.fapi;
    if let Some(c) = &caller.client {
        state
            .orbit
            .sign_out_client(&fapi.ctx.instance, &c.id)
            .await?;
    }
    let view = client_view(&state, &caller, caller.client.as_ref(), None, None).await?;
    let resp = Json(ClientWrapped::new(view.clone(), view)).into_response();
    Ok(with_cookies(
        resp,
        cookies::client_uat_for_app(&state, fapi, 0).await,
    ))
}
