//! A client's sessions and the signed-in user, as clerk-js's `Session` and `User` resources call
//! them (docs/design/frontend-api.md "Sessions and the profile"): touch, end and remove a
//! session of this browser; read and edit the user (`/v1/me`), change the password, list and
//! revoke the user's sessions on every device.

use super::client::client_view;
use super::request::Caller;
use super::resources::{session_json, user_json};
use crate::browser::cookies;
use crate::browser::redirect::with_cookies;
use crate::error::ApiError;
use crate::extract::{ClientIp, FormOrJson};
use crate::resources::session_base;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use orbit_core::model::{Client, Session, SessionStatus, User};
use orbit_core::{Error, SessionOwner};
use orbit_proto::error::code;
use orbit_proto::frontend::{self as f, ClientWrapped};
use orbit_proto::wire;
use serde::Deserialize;

/// Same answer whether the session is someone else's, ended, or unknown.
fn session_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        code::RESOURCE_NOT_FOUND,
        "Session not found",
        "No active session with this id on this client.",
    )
}

/// `response` with the browser's client as it is now.
async fn wrapped<T: serde::Serialize>(
    state: &AppState,
    caller: &Caller,
    response: T,
) -> Result<Response, ApiError> {
    let view = client_view(state, caller, caller.client.as_ref(), None, None).await?;
    Ok(Json(ClientWrapped::new(response, view)).into_response())
}

async fn session_resource(
    state: &AppState,
    caller: &Caller,
    s: &Session,
) -> Result<f::Session, ApiError> {
    let instance = &caller.fapi.ctx.instance;
    let user = state.orbit.user(&instance.id, &s.user_id).await?;
    Ok(session_json(s, &user, instance, None, state.orbit.now()))
}

/// In production, `__client_uat=0` for the app's domain once `client` has no active session
/// left, so its server learns of the sign-out at its next request.
async fn signed_out_cookie(
    state: &AppState,
    caller: &Caller,
    client: &Client,
) -> Result<Vec<axum::http::HeaderValue>, ApiError> {
    let left = state
        .orbit
        .active_sessions(&caller.fapi.ctx.instance, &client.id)
        .await?;
    Ok(if left.is_empty() {
        cookies::client_uat_for_app(state, &caller.fapi, 0).await
    } else {
        Vec::new()
    })
}

/// What clerk-js posts with a touch; no organizations here, and the intent (`focus`,
/// `select_session`) changes nothing.
#[derive(Debug, Default, Deserialize)]
pub(super) struct TouchParams {
    #[allow(dead_code)]
    active_organization_id: Option<String>,
    #[allow(dead_code)]
    intent: Option<String>,
}

/// `POST /v1/client/sessions/{id}/touch`: activity on a session of this browser's client.
pub(super) async fn touch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    FormOrJson(_): FormOrJson<TouchParams>,
) -> Result<Response, ApiError> {
    let client = caller.signed_in_client()?;
    let s = state
        .orbit
        .touch_client_session(&caller.fapi.ctx.instance, &client.id, &id)
        .await?
        .ok_or_else(session_not_found)?;
    let resource = session_resource(&state, &caller, &s).await?;
    wrapped(&state, &caller, resource).await
}

/// `POST /v1/client/sessions/{id}/end` (`ended`) and `/remove` (`removed`): one session of this
/// browser's client ends.
async fn end_as(
    state: &AppState,
    caller: &Caller,
    id: &str,
    status: SessionStatus,
) -> Result<Response, ApiError> {
    let client = caller.signed_in_client()?;
    let instance = &caller.fapi.ctx.instance;
    state
        .orbit
        .owned_session(instance, SessionOwner::Client(&client.id), id)
        .await?
        .ok_or_else(session_not_found)?;
    let s = state.orbit.end_session(instance, id, status).await?;
    let resource = session_resource(state, caller, &s).await?;
    let resp = wrapped(state, caller, resource).await?;
    Ok(with_cookies(
        resp,
        signed_out_cookie(state, caller, client).await?,
    ))
}

pub(super) async fn end(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    end_as(&state, &caller, &id, SessionStatus::Ended).await
}

pub(super) async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    end_as(&state, &caller, &id, SessionStatus::Removed).await
}

/// The session a `/v1/me` call acts for, and its user: `_clerk_session_id` when it names an
/// active session of this browser's client, else the client's current session. Anything else
/// is 401 `signed_out`, on which clerk-js re-reads the client.
async fn me(state: &AppState, caller: &Caller) -> Result<(Session, User), ApiError> {
    let client = caller.signed_in_client()?;
    let instance = &caller.fapi.ctx.instance;
    let asked = caller
        .query
        .get(wire::query::SESSION_ID)
        .ok()
        .flatten()
        .filter(|s| !s.is_empty());
    let session = match asked {
        Some(id) => {
            state
                .orbit
                .owned_session(instance, SessionOwner::Client(&client.id), id)
                .await?
        }
        None => state
            .orbit
            .active_sessions(instance, &client.id)
            .await?
            .into_iter()
            .next(),
    };
    let session = session.ok_or_else(|| {
        super::signed_out_error("This browser has no active session with that id on this host.")
    })?;
    let user = state.orbit.user(&instance.id, &session.user_id).await?;
    Ok((session, user))
}

/// `GET /v1/me`: the signed-in user.
pub(super) async fn get_me(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let (_, user) = me(&state, &caller).await?;
    wrapped(&state, &caller, user_json(&user)).await
}

/// What `<UserProfile/>`'s profile form sends (`User.update`); the names are what Orbit keeps,
/// the rest is ignored.
#[derive(Debug, Default, Deserialize)]
pub(super) struct UpdateMe {
    first_name: Option<String>,
    last_name: Option<String>,
}

/// `PATCH /v1/me` (sent as `POST ?_method=PATCH`): changes the names given; an empty one
/// clears it, an absent one stays.
pub(super) async fn patch_me(
    State(state): State<AppState>,
    caller: Caller,
    FormOrJson(body): FormOrJson<UpdateMe>,
) -> Result<Response, ApiError> {
    let (_, user) = me(&state, &caller).await?;
    let instance = &caller.fapi.ctx.instance;
    let first = body.first_name.or(user.first_name.clone());
    let last = body.last_name.or(user.last_name.clone());
    let user = state
        .orbit
        .update_profile(instance, &user.id, first, last)
        .await?;
    wrapped(&state, &caller, user_json(&user)).await
}

/// What `User.updatePassword` posts.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ChangePassword {
    current_password: Option<String>,
    new_password: Option<String>,
    /// Orbit always signs the other sessions out, as its profile page does.
    #[allow(dead_code)]
    sign_out_of_other_sessions: Option<String>,
}

/// `POST /v1/me/change_password`: `Orbit::change_password`, under the sign-in limits; every
/// other session of the user is revoked.
pub(super) async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    FormOrJson(body): FormOrJson<ChangePassword>,
) -> Result<Response, ApiError> {
    let (session, user) = me(&state, &caller).await?;
    let missing = |param: &str| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            code::FORM_PARAM_MISSING,
            format!("{param} is missing"),
            format!("Enter {}.", param.replace('_', " ")),
        )
        .with_param(param)
    };
    let current = body
        .current_password
        .filter(|p| !p.is_empty())
        .ok_or_else(|| missing("current_password"))?;
    let new = body
        .new_password
        .filter(|p| !p.is_empty())
        .ok_or_else(|| missing("new_password"))?;
    let instance = &caller.fapi.ctx.instance;
    state
        .orbit
        .change_password(
            instance,
            &ip.to_string(),
            &user.id,
            &session.id,
            &current,
            &new,
        )
        .await
        .map_err(|e| match e {
            // The field `<UserProfile/>` shows it under.
            e @ Error::Password(_) => ApiError::from(e).with_param("new_password"),
            e => ApiError::from(e),
        })?;
    let user = state.orbit.user(&instance.id, &user.id).await?;
    wrapped(&state, &caller, user_json(&user)).await
}

/// `GET /v1/me/sessions/active`: the user's active sessions on every device, a bare array, each
/// with the device it runs on (from its user agent; no address or place is kept).
pub(super) async fn active_sessions(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<f::SessionWithActivities>>, ApiError> {
    let (_, user) = me(&state, &caller).await?;
    let instance = &caller.fapi.ctx.instance;
    let sessions = state.orbit.user_sessions(instance, &user.id).await?;
    Ok(Json(
        sessions
            .iter()
            .filter(|s| s.status == SessionStatus::Active)
            .map(|s| {
                let device = orbit_core::user_agent::describe(s.user_agent.as_deref());
                f::SessionWithActivities {
                    base: session_base(s, instance),
                    last_active_token: None,
                    actor: None,
                    latest_activity: f::SessionActivity {
                        object: "session_activity".into(),
                        id: s.id.clone(),
                        device_type: device.os.map(str::to_owned),
                        is_mobile: device.mobile,
                        browser_name: device.browser.map(str::to_owned),
                        browser_version: None,
                        ip_address: None,
                        city: None,
                        country: None,
                    },
                }
            })
            .collect(),
    ))
}

/// `POST /v1/me/sessions/{id}/revoke`: signs one of the user's devices out (`removed`). Only
/// the user's own active sessions; any other id is 404 whether it exists or not.
pub(super) async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (_, user) = me(&state, &caller).await?;
    let instance = &caller.fapi.ctx.instance;
    state
        .orbit
        .owned_session(instance, SessionOwner::User(&user.id), &id)
        .await?
        .ok_or_else(session_not_found)?;
    let s = state
        .orbit
        .end_session(instance, &id, SessionStatus::Removed)
        .await?;
    let resource = session_json(&s, &user, instance, None, state.orbit.now());
    let resp = wrapped(&state, &caller, resource).await?;
    let client = caller.signed_in_client()?;
    Ok(with_cookies(
        resp,
        signed_out_cookie(&state, &caller, client).await?,
    ))
}
