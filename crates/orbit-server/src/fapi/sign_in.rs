//! `/v1/client/sign_ins`: the sign-in state machine as clerk-js drives it (docs/design/
//! frontend-api.md "Sign-in"). Each call is one core operation; the attempt is bound to this
//! browser by the `__orbit_sign_in` cookie.

use super::client::{client_view, signed_in_answer};
use super::request::Caller;
use super::resources::sign_in_json;
use crate::browser::cookies;
use crate::browser::redirect::with_cookies;
use crate::error::ApiError;
use crate::extract::{cookie, ClientIp, FormOrJson};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use orbit_core::{BrowserContext, Error, SIGN_IN_LIFETIME};
use orbit_proto::error::code;
use orbit_proto::frontend::{strategy, ClientWrapped};
use orbit_proto::wire;
use serde::Deserialize;

/// What `SignIn.create` posts; clerk-js adds `locale` and, for some instances, Protect fields,
/// which are ignored.
#[derive(Debug, Default, Deserialize)]
pub(super) struct CreateSignIn {
    identifier: Option<String>,
    /// Sent with `strategy=password` when the browser filled in the password field.
    password: Option<String>,
    strategy: Option<String>,
}

/// What `SignIn.attemptFirstFactor` posts.
#[derive(Debug, Default, Deserialize)]
pub(super) struct AttemptFirstFactor {
    strategy: Option<String>,
    password: Option<String>,
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

/// Orbit offers the password only. clerk-js retries a sign-in whose `create` failed this way
/// with the identifier alone (`SignInStart.tsx`, `strategy_for_user_invalid`).
fn unsupported_strategy(s: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "strategy_for_user_invalid",
        "Invalid verification strategy",
        format!("Sign in with a password; {s:?} is not offered."),
    )
    .with_param("strategy")
}

/// One answer for a wrong password and an identifier without an account (an unknown one cost a
/// dummy argon2 verification too): the field clerk-js shows it under is the password.
fn password_incorrect(e: Error) -> ApiError {
    match e {
        Error::InvalidCredentials => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            code::FORM_PASSWORD_INCORRECT,
            "Password is incorrect",
            "The email address or password is incorrect. Try again, or use another email address.",
        )
        .with_param("password"),
        e => e.into(),
    }
}

/// The attempt this browser's `__orbit_sign_in` cookie names: its id and token.
pub(super) fn attempt_cookie(
    caller: &Caller,
    name: wire::cookie::OwnCookie,
) -> Option<(String, String)> {
    let value = cookie(&caller.headers, name.name(caller.fapi.secure))?;
    let (id, token) = value.split_once('.')?;
    Some((id.to_owned(), token.to_owned()))
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

/// `POST /v1/client/sign_ins`: a new attempt for `identifier`, `needs_first_factor` whether or
/// not an account has that identifier. With a password (autofill), the password step follows.
pub(super) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    FormOrJson(body): FormOrJson<CreateSignIn>,
) -> Result<Response, ApiError> {
    let identifier = non_empty(body.identifier).ok_or_else(|| missing("identifier"))?;
    let password = non_empty(body.password);
    match non_empty(body.strategy).as_deref() {
        None | Some(strategy::PASSWORD) => {}
        Some(other) => return Err(unsupported_strategy(other)),
    }
    let ip = ip.to_string();
    let new = state
        .orbit
        .create_sign_in(&caller.fapi.ctx.instance, &ip, &identifier)
        .await?;
    if let Some(password) = password {
        return password_step(
            &state,
            &caller,
            &ip,
            &new.attempt.id,
            &new.browser_token,
            &password,
        )
        .await;
    }
    let bound = cookies::attempt(
        wire::cookie::SIGN_IN,
        &format!("{}.{}", new.attempt.id, new.browser_token),
        caller.fapi.secure,
        SIGN_IN_LIFETIME / 1000,
    );
    let sign_in = sign_in_json(&new.attempt);
    let view = client_view(
        &state,
        &caller,
        caller.client.as_ref(),
        Some(sign_in.clone()),
        None,
    )
    .await?;
    let resp = Json(ClientWrapped::new(sign_in, view)).into_response();
    Ok(with_cookies(resp, bound.into_iter().collect()))
}

/// `POST /v1/client/sign_ins/{id}/attempt_first_factor` (`strategy=password`): the attempt
/// must be this browser's.
pub(super) async fn attempt_first_factor(
    State(state): State<AppState>,
    caller: Caller,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    FormOrJson(body): FormOrJson<AttemptFirstFactor>,
) -> Result<Response, ApiError> {
    match non_empty(body.strategy).as_deref() {
        Some(strategy::PASSWORD) => {}
        None => return Err(missing("strategy")),
        Some(other) => return Err(unsupported_strategy(other)),
    }
    let password = non_empty(body.password).ok_or_else(|| missing("password"))?;
    // Another browser's attempt, or none: the same answer as an unknown id.
    let token = match attempt_cookie(&caller, wire::cookie::SIGN_IN) {
        Some((cookie_id, token)) if cookie_id == id => token,
        _ => {
            return Err(Error::NotFound {
                resource: "sign-in",
                id,
            }
            .into())
        }
    };
    password_step(&state, &caller, &ip.to_string(), &id, &token, &password).await
}

/// The password step of the attempt `attempt_id`, then the answer of a completed sign-in: the
/// client with its new session, its cookies, and the attempt's cookie cleared.
async fn password_step(
    state: &AppState,
    caller: &Caller,
    ip: &str,
    attempt_id: &str,
    token: &str,
    password: &str,
) -> Result<Response, ApiError> {
    let fapi = &caller.fapi;
    let device = cookie(&caller.headers, wire::cookie::DEVICE.name(fapi.secure));
    let done = state
        .orbit
        .attempt_sign_in_password(
            &fapi.ctx.instance,
            attempt_id,
            token,
            password,
            BrowserContext {
                client_ip: ip,
                client: caller.client.clone(),
                fapi_host: &fapi.host(),
                user_agent: crate::extract::user_agent(&caller.headers),
                device: device.as_deref(),
            },
        )
        .await
        .map_err(password_incorrect)?;
    let sign_in = sign_in_json(&done.attempt);
    let resp = signed_in_answer(
        state,
        caller,
        &done.start,
        &done.user,
        (Some(sign_in.clone()), None),
        sign_in,
    )
    .await?;
    Ok(with_cookies(
        resp,
        cookies::clear_attempt(wire::cookie::SIGN_IN, fapi.secure)
            .into_iter()
            .collect(),
    ))
}
