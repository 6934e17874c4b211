//! `/v1/client/sign_ups`: sign-up as clerk-js drives it (docs/design/frontend-api.md
//! "Sign-up"), over the core the hosted page uses: `sign_up`, and with email verification the
//! pending sign-up, its code (`resend_sign_up_code`) and `verify_sign_up`. The pending sign-up
//! is bound to this browser by the `__orbit_sign_up` cookie, which carries its token.

use super::client::{client_view, signed_in_answer};
use super::request::Caller;
use super::resources::{completed_sign_up_json, pending_sign_up_json};
use super::sign_in::attempt_cookie;
use crate::browser::cookies;
use crate::browser::redirect::with_cookies;
use crate::error::ApiError;
use crate::extract::{ClientIp, FormOrJson};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use orbit_core::model::{PendingSignUp, User};
use orbit_core::{
    Error, NewUser, SessionBrowser, SessionStart, SignUpOutcome, SIGN_UP_CODE_LIFETIME,
};
use orbit_proto::error::code;
use orbit_proto::frontend::{strategy, ClientWrapped};
use orbit_proto::wire;
use serde::Deserialize;

/// What `SignUp.create` posts (other fields, such as `locale`, are ignored).
#[derive(Debug, Default, Deserialize)]
pub(super) struct CreateSignUp {
    email_address: Option<String>,
    password: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

/// What `prepare_verification` and `attempt_verification` post.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Verify {
    strategy: Option<String>,
    code: Option<String>,
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

fn missing(param: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        code::FORM_PARAM_MISSING,
        format!("{param} is missing"),
        format!("Enter {param}."),
    )
    .with_param(param)
}

/// Only the mailed code verifies an address here.
fn email_code_only(s: Option<String>) -> Result<(), ApiError> {
    match non_empty(s).as_deref() {
        Some(strategy::EMAIL_CODE) => Ok(()),
        None => Err(missing("strategy")),
        Some(other) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "form_param_value_invalid",
            "Invalid verification strategy",
            format!("Verify the address with the emailed code; {other:?} is not offered."),
        )
        .with_param("strategy")),
    }
}

/// A sign-up that is not this browser's, used or unknown: one answer.
fn not_found(id: String) -> ApiError {
    Error::NotFound {
        resource: "sign-up",
        id,
    }
    .into()
}

/// The browser the new account's first session starts in: this caller's, on this FAPI host.
fn session_browser(caller: &Caller) -> SessionBrowser {
    SessionBrowser {
        client: caller.client.clone(),
        fapi_host: caller.fapi.host(),
        user_agent: crate::extract::user_agent(&caller.headers),
    }
}

/// `POST /v1/client/sign_ups`: `Orbit::sign_up` with the hosted page's rules. Without email
/// verification the user exists and is signed in at once (`complete`); with it, a code (or
/// to a taken address, a notice) is mailed and the sign-up waits for the code
/// (`missing_requirements`).
pub(super) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    FormOrJson(body): FormOrJson<CreateSignUp>,
) -> Result<Response, ApiError> {
    let email = non_empty(body.email_address).ok_or_else(|| missing("email_address"))?;
    let password = non_empty(body.password).ok_or_else(|| missing("password"))?;
    let fapi = &caller.fapi;
    let outcome = state
        .orbit
        .sign_up(
            &fapi.ctx.instance,
            &ip.to_string(),
            NewUser {
                email,
                password: Some(password),
                first_name: body.first_name,
                last_name: body.last_name,
            },
            session_browser(&caller),
        )
        .await?;
    match outcome {
        SignUpOutcome::Created { user, start } => {
            let id = state.orbit.random().id("sua");
            signed_up(&state, &caller, id, &user, &start).await
        }
        SignUpOutcome::CodeSent { id, token, .. } => {
            let pending = state
                .orbit
                .sign_up_attempt(&fapi.ctx.instance, &id, &token)
                .await?
                .ok_or_else(|| ApiError::internal("a pending sign-up vanished"))?;
            pending_answer(&state, &caller, &id, &token, &pending).await
        }
    }
}

/// The answer for a pending sign-up of this browser: the sign-up, in the client too, and its
/// cookie (re)set for the code's lifetime.
async fn pending_answer(
    state: &AppState,
    caller: &Caller,
    id: &str,
    token: &str,
    pending: &PendingSignUp,
) -> Result<Response, ApiError> {
    let bound = cookies::attempt(
        wire::cookie::SIGN_UP,
        &format!("{id}.{token}"),
        caller.fapi.secure,
        SIGN_UP_CODE_LIFETIME / 1000,
    );
    let sign_up = pending_sign_up_json(pending);
    let view = client_view(
        state,
        caller,
        caller.client.as_ref(),
        None,
        Some(sign_up.clone()),
    )
    .await?;
    let resp = Json(ClientWrapped::new(sign_up, view)).into_response();
    Ok(with_cookies(resp, bound.into_iter().collect()))
}

/// This browser's pending sign-up token, if its cookie names `id`.
fn token_for(caller: &Caller, id: &str) -> Result<String, ApiError> {
    match attempt_cookie(caller, wire::cookie::SIGN_UP) {
        Some((cookie_id, token)) if cookie_id == id => Ok(token),
        _ => Err(not_found(id.to_owned())),
    }
}

/// `POST /v1/client/sign_ups/{id}/prepare_verification` (`strategy=email_code`): a new code
/// for this browser's pending sign-up ("Resend").
pub(super) async fn prepare_verification(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    FormOrJson(body): FormOrJson<Verify>,
) -> Result<Response, ApiError> {
    email_code_only(body.strategy)?;
    let token = token_for(&caller, &id)?;
    let instance = &caller.fapi.ctx.instance;
    if state
        .orbit
        .sign_up_attempt(instance, &id, &token)
        .await?
        .is_none()
    {
        return Err(not_found(id));
    }
    let pending = state
        .orbit
        .resend_sign_up_code(instance, &ip.to_string(), &token)
        .await?;
    pending_answer(&state, &caller, &id, &token, &pending).await
}

/// `POST /v1/client/sign_ups/{id}/attempt_verification` (`strategy=email_code`, `code`):
/// `Orbit::verify_sign_up`; the right code creates the user with a verified address and signs
/// this browser in on a fresh client.
pub(super) async fn attempt_verification(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    FormOrJson(body): FormOrJson<Verify>,
) -> Result<Response, ApiError> {
    email_code_only(body.strategy)?;
    let code = non_empty(body.code).ok_or_else(|| missing("code"))?;
    let token = token_for(&caller, &id)?;
    let instance = &caller.fapi.ctx.instance;
    if state
        .orbit
        .sign_up_attempt(instance, &id, &token)
        .await?
        .is_none()
    {
        return Err(not_found(id));
    }
    let (user, start) = state
        .orbit
        .verify_sign_up(
            instance,
            &ip.to_string(),
            &token,
            &code,
            session_browser(&caller),
        )
        .await?;
    let resp = signed_up(&state, &caller, id, &user, &start).await?;
    Ok(with_cookies(
        resp,
        cookies::clear_attempt(wire::cookie::SIGN_UP, caller.fapi.secure)
            .into_iter()
            .collect(),
    ))
}

/// The new `user`, created with its first session on a fresh client in one write (as after
/// sign-in), and the completed sign-up `id` wrapped with that client.
async fn signed_up(
    state: &AppState,
    caller: &Caller,
    id: String,
    user: &User,
    start: &SessionStart,
) -> Result<Response, ApiError> {
    let sign_up = completed_sign_up_json(id, user, &start.session);
    signed_in_answer(
        state,
        caller,
        start,
        user,
        (None, Some(sign_up.clone())),
        sign_up,
    )
    .await
}
