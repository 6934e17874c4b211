//! `/user`: the signed-in user's profile, password and active sessions ("sign out of this
//! device").

use super::{csrf, signed_in, SignedIn};
use crate::browser::cookies;
use crate::browser::page::{render, with_retry_after, DeviceRow};
use crate::browser::redirect::{to_primary, with_cookies, with_redirect_url};
use crate::browser::{BrowserClient, PageError};
use crate::extract::{ClientIp, FormBody};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use orbit_core::model::SessionStatus;
use orbit_core::{Error, SessionOwner};
use serde::Deserialize;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/user", get(page))
        .route("/user/profile", post(update))
        .route("/user/password", post(change_password))
        .route("/user/sessions/{id}/revoke", post(revoke_session))
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    csrf: String,
    /// The sign-out form returns to the portal's default page.
    redirect_url: &'static str,
    email: String,
    first_name: String,
    last_name: String,
    notice: Option<String>,
    profile_error: Option<String>,
    current_password_error: Option<String>,
    new_password_error: Option<String>,
    sessions: Vec<DeviceRow>,
}

#[derive(Default)]
struct UserMessages {
    notice: Option<String>,
    profile_error: Option<String>,
    current_password_error: Option<String>,
    new_password_error: Option<String>,
}

async fn render_user(
    state: &AppState,
    browser: &BrowserClient,
    headers: &HeaderMap,
    me: &SignedIn,
    status: StatusCode,
    msgs: UserMessages,
) -> Result<Response, PageError> {
    let fapi = &browser.fapi;
    let (csrf, set) = csrf::token(headers, fapi, state.orbit.random().as_ref());
    let sessions = state
        .orbit
        .user_sessions(&fapi.ctx.instance, &me.user.id)
        .await?;
    let rows = sessions
        .into_iter()
        .filter(|s| s.status == SessionStatus::Active)
        .map(|s| {
            DeviceRow::new(
                s.id.clone(),
                orbit_core::user_agent::summary(s.user_agent.as_deref()),
                s.created_at,
                s.last_active_at,
                s.id == me.session.id,
            )
        })
        .collect();
    Ok(render(
        status,
        &UserPage {
            csrf,
            redirect_url: "",
            email: me.user.email.clone(),
            first_name: me.user.first_name.clone().unwrap_or_default(),
            last_name: me.user.last_name.clone().unwrap_or_default(),
            notice: msgs.notice,
            profile_error: msgs.profile_error,
            current_password_error: msgs.current_password_error,
            new_password_error: msgs.new_password_error,
            sessions: rows,
        },
        set,
    ))
}

/// Where a browser without a signed-in user goes: sign-in, coming back to the profile.
fn sign_in_first(browser: &BrowserClient) -> Response {
    Redirect::to(&with_redirect_url(
        "/sign-in",
        &format!("{}/user", browser.fapi.origin),
    ))
    .into_response()
}

/// A profile form's sender: the form must carry our CSRF token; `None` when the browser has no
/// signed-in user.
async fn form_user(
    state: &AppState,
    browser: &BrowserClient,
    headers: &HeaderMap,
    csrf_token: Option<&str>,
) -> Result<Option<SignedIn>, PageError> {
    csrf::require(headers, &browser.fapi, csrf_token)?;
    signed_in(state, browser).await
}

#[derive(Debug, Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    browser: BrowserClient,
    uri: axum::http::Uri,
    headers: HeaderMap,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    if let Some(r) = to_primary(&state, &browser.fapi, &uri).await? {
        return Ok(r);
    }
    let Some(me) = signed_in(&state, &browser).await? else {
        return Ok(sign_in_first(&browser));
    };
    // Only known notices are shown, so the query cannot inject text into the page.
    let notice = match q.notice.as_deref() {
        Some("password") => Some("Your password was changed.".to_owned()),
        Some("profile") => Some("Your profile was saved.".to_owned()),
        Some("session") => Some("That device was signed out.".to_owned()),
        _ => None,
    };
    let msgs = UserMessages {
        notice,
        ..Default::default()
    };
    render_user(&state, &browser, &headers, &me, StatusCode::OK, msgs).await
}

#[derive(Debug, Deserialize)]
struct ProfileForm {
    csrf_token: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

async fn update(
    State(state): State<AppState>,
    browser: BrowserClient,
    headers: HeaderMap,
    FormBody(form): FormBody<ProfileForm>,
) -> Result<Response, PageError> {
    let Some(mut me) = form_user(&state, &browser, &headers, form.csrf_token.as_deref()).await?
    else {
        return Ok(sign_in_first(&browser));
    };
    let result = state
        .orbit
        .update_profile(
            &browser.fapi.ctx.instance,
            &me.user.id,
            form.first_name,
            form.last_name,
        )
        .await;
    match result {
        Ok(_) => Ok(Redirect::to("/user?notice=profile").into_response()),
        Err(Error::Invalid { field, reason }) => {
            me.user.first_name = None;
            let msgs = UserMessages {
                profile_error: Some(format!("{}: {reason}.", field.replace('_', " "))),
                ..Default::default()
            };
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(render_user(&state, &browser, &headers, &me, status, msgs).await?)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
struct PasswordForm {
    csrf_token: Option<String>,
    current_password: Option<String>,
    new_password: Option<String>,
}

async fn change_password(
    State(state): State<AppState>,
    browser: BrowserClient,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    FormBody(form): FormBody<PasswordForm>,
) -> Result<Response, PageError> {
    let Some(me) = form_user(&state, &browser, &headers, form.csrf_token.as_deref()).await? else {
        return Ok(sign_in_first(&browser));
    };
    let current = form.current_password.unwrap_or_default();
    let new = form.new_password.unwrap_or_default();
    let mut msgs = UserMessages::default();
    if current.is_empty() {
        msgs.current_password_error = Some("Enter your current password.".into());
    }
    if new.is_empty() {
        msgs.new_password_error = Some("Enter a new password.".into());
    }
    if msgs.current_password_error.is_none() && msgs.new_password_error.is_none() {
        match state
            .orbit
            .change_password(
                &browser.fapi.ctx.instance,
                &ip.to_string(),
                &me.user.id,
                &me.session.id,
                &current,
                &new,
            )
            .await
        {
            Ok(()) => return Ok(Redirect::to("/user?notice=password").into_response()),
            Err(Error::CurrentPasswordIncorrect) => {
                msgs.current_password_error = Some("The current password is incorrect.".into())
            }
            Err(Error::Password(p)) => msgs.new_password_error = Some(p.to_string()),
            Err(Error::TooManyAttempts { retry_after_secs }) => {
                msgs.current_password_error = Some(format!(
                    "Too many attempts. Wait {retry_after_secs} seconds, then try again."
                ));
                let status = StatusCode::TOO_MANY_REQUESTS;
                let resp = render_user(&state, &browser, &headers, &me, status, msgs).await?;
                return Ok(with_retry_after(resp, retry_after_secs));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    render_user(&state, &browser, &headers, &me, status, msgs).await
}

#[derive(Debug, Deserialize)]
struct CsrfOnly {
    csrf_token: Option<String>,
}

/// "Sign out of this device": ends one of the user's own sessions.
async fn revoke_session(
    State(state): State<AppState>,
    browser: BrowserClient,
    headers: HeaderMap,
    Path(id): Path<String>,
    FormBody(form): FormBody<CsrfOnly>,
) -> Result<Response, PageError> {
    let Some(me) = form_user(&state, &browser, &headers, form.csrf_token.as_deref()).await? else {
        return Ok(sign_in_first(&browser));
    };
    let fapi = &browser.fapi;
    let owned = state
        .orbit
        .owned_session(&fapi.ctx.instance, SessionOwner::User(&me.user.id), &id)
        .await?;
    if owned.is_none() {
        return Err(PageError::new(
            StatusCode::NOT_FOUND,
            "Session not found",
            "You have no active session with this id.",
        ));
    }
    state
        .orbit
        .end_session(&fapi.ctx.instance, &id, SessionStatus::Removed)
        .await?;
    if id == me.session.id {
        let resp = Redirect::to("/sign-in").into_response();
        return Ok(with_cookies(
            resp,
            cookies::client_uat_for_app(&state, fapi, 0).await,
        ));
    }
    Ok(Redirect::to("/user?notice=session").into_response())
}
