//! What clerk-js loads first and how it signs out (docs/design/frontend-api.md "Endpoints"):
//! the environment, the browser's client, and the client's sign-out.

use super::request::Caller;
use super::resources::{client_json, pending_sign_up_json, session_json, sign_in_json};
use crate::browser::redirect::with_cookies;
use crate::browser::{cookies, Fapi};
use crate::error::ApiError;
use crate::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use orbit_core::model::{Client, User};
use orbit_core::SessionStart;
use orbit_proto::frontend::{self as f, ClientWrapped, Environment};
use orbit_proto::wire;

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

/// The answer to a call that started a session (a completed sign-in or sign-up): `response`
/// wrapped with the new client, which holds the session (clerk-js's `setActive` looks it up
/// there) and `attempts`; and the cookies of a session start.
pub(super) async fn signed_in_answer<T: serde::Serialize>(
    state: &AppState,
    caller: &Caller,
    start: &SessionStart,
    user: &User,
    attempts: (Option<f::SignIn>, Option<f::SignUp>),
    response: T,
) -> Result<Response, ApiError> {
    let view = client_view(state, caller, Some(&start.client), attempts.0, attempts.1).await?;
    let resp = Json(ClientWrapped::new(response, view)).into_response();
    let set = cookies::session_started(state, &caller.fapi, start, user).await?;
    Ok(with_cookies(resp, set))
}

/// The attempts in progress this browser's cookies name, as the client shows them.
async fn attempts(
    state: &AppState,
    caller: &Caller,
) -> Result<(Option<f::SignIn>, Option<f::SignUp>), ApiError> {
    let instance = &caller.fapi.ctx.instance;
    let sign_in = match super::sign_in::attempt_cookie(caller, wire::cookie::SIGN_IN) {
        Some((id, token)) => state
            .orbit
            .sign_in_attempt(instance, &id, &token)
            .await?
            .map(|a| sign_in_json(&a)),
        None => None,
    };
    let sign_up = match super::sign_in::attempt_cookie(caller, wire::cookie::SIGN_UP) {
        Some((id, token)) => state
            .orbit
            .sign_up_attempt(instance, &id, &token)
            .await?
            .filter(|p| p.expires_at > state.orbit.now())
            .map(|p| pending_sign_up_json(&p)),
        None => None,
    };
    Ok((sign_in, sign_up))
}

/// `GET /v1/client`: `{response: Client | null, client: null}` (spec `ClientWrappedClient`).
/// A browser without a client gets `null`, never an error: a 4xx here stops clerk-js loading.
pub(super) async fn get_client(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let (sign_in, sign_up) = attempts(&state, &caller).await?;
    let view = client_view(&state, &caller, caller.client.as_ref(), sign_in, sign_up).await?;
    let signed_out = view
        .as_ref()
        .is_none_or(|c| c.last_active_session_id.is_none());
    let resp = Json(ClientWrapped::new(view, None)).into_response();
    // A session ended elsewhere (sign-out on a satellite, a revoked session) leaves this app's
    // `__client_uat` saying "signed in", and its server would trust its session token until
    // that expires. Like a sign-out, the answer says 0, so the app's next request handshakes.
    if signed_out && app_says_signed_in(&caller) {
        return Ok(with_cookies(
            resp,
            cookies::client_uat_for_app(&state, &caller.fapi, 0).await,
        ));
    }
    Ok(resp)
}

/// Whether the request carries a `__client_uat` (plain or suffixed) other than 0: the app
/// believes the browser signed in. The cookie is the app's, on its registrable domain, which
/// this FAPI host (`clerk.<domain>`) receives.
fn app_says_signed_in(caller: &Caller) -> bool {
    crate::extract::request_cookies(&caller.headers)
        .any(|c| c.name().starts_with(wire::cookie::CLIENT_UAT) && c.value() != "0")
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
