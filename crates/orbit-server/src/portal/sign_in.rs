//! `/sign-in`: email and password, under core's abuse limits; starting a session gives the
//! browser a fresh client (a new `__client`) and tells the app (`__client_uat` in production,
//! the development browser in development).

use super::{csrf, EntryForm, EntryPage};
use crate::browser::cookies;
use crate::browser::page::{blank_credentials, render, with_retry_after};
use crate::browser::redirect::{redirect_target, see_other, with_dev_browser};
use crate::browser::{BrowserClient, PageError};
use crate::extract::{cookie, user_agent, ClientIp, FormBody};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use orbit_core::model::User;
use orbit_core::text::without_bidi_controls;
use orbit_core::{BrowserContext, Error, SessionBrowser, SessionStart};
use orbit_proto::wire::cookie as name;
use serde::Deserialize;

#[derive(Template, Default)]
#[template(path = "sign_in.html")]
pub(super) struct SignInPage {
    form: EntryForm,
    email: String,
    form_error: Option<String>,
    email_error: Option<String>,
    password_error: Option<String>,
}

impl EntryPage for SignInPage {
    const OTHER: &'static str = "/sign-up";
    fn with(form: EntryForm) -> Self {
        Self {
            form,
            ..Default::default()
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct SignInForm {
    csrf_token: Option<String>,
    redirect_url: Option<String>,
    email_address: Option<String>,
    password: Option<String>,
}

pub(super) async fn submit(
    State(state): State<AppState>,
    browser: BrowserClient,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    FormBody(form): FormBody<SignInForm>,
) -> Result<Response, PageError> {
    let fapi = &browser.fapi;
    csrf::require(&headers, fapi, form.csrf_token.as_deref())?;
    let redirect_url = form.redirect_url.clone().unwrap_or_default();
    let email = form.email_address.clone().unwrap_or_default();
    let password = form.password.clone().unwrap_or_default();
    let (csrf, _) = csrf::token(&headers, fapi, state.orbit.random().as_ref());
    let mut view = SignInPage {
        form: EntryForm::new(csrf, redirect_url.clone(), SignInPage::OTHER),
        email: without_bidi_controls(email.trim()),
        ..Default::default()
    };
    (view.email_error, view.password_error) =
        blank_credentials(&email, &password, "Enter your password.");
    if view.email_error.is_some() || view.password_error.is_some() {
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &view, Vec::new()));
    }
    let device = cookie(&headers, name::DEVICE.name(fapi.secure));
    let ip = ip.to_string();
    let instance = &fapi.ctx.instance;
    // The Frontend API's two steps in one request: the same rules and limits.
    let outcome = match state.orbit.create_sign_in(instance, &ip, &email).await {
        Ok(new) => {
            state
                .orbit
                .attempt_sign_in_password(
                    instance,
                    &new.attempt.id,
                    &new.browser_token,
                    &password,
                    BrowserContext {
                        client_ip: &ip,
                        client: browser.client.clone(),
                        fapi_host: &fapi.host(),
                        user_agent: user_agent(&headers),
                        device: device.as_deref(),
                    },
                )
                .await
        }
        Err(e) => Err(e),
    };
    let done = match outcome {
        Ok(done) => done,
        Err(Error::InvalidCredentials) => {
            view.form_error = Some("The email address or password is incorrect.".into());
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &view, Vec::new()));
        }
        Err(e @ Error::UserBanned) => {
            view.form_error = Some(crate::error::ApiError::from(e).long_message);
            return Ok(render(StatusCode::FORBIDDEN, &view, Vec::new()));
        }
        Err(Error::TooManyAttempts { retry_after_secs }) => {
            view.form_error = Some(format!(
                "Too many sign-in attempts. Wait {retry_after_secs} seconds, then try again."
            ));
            let resp = render(StatusCode::TOO_MANY_REQUESTS, &view, Vec::new());
            return Ok(with_retry_after(resp, retry_after_secs));
        }
        Err(e) => return Err(e.into()),
    };
    signed_in(&state, &browser, &done.user, &done.start, &redirect_url).await
}

/// The browser a session starts in, as core takes it.
pub(super) fn session_browser(browser: &BrowserClient, headers: &HeaderMap) -> SessionBrowser {
    SessionBrowser {
        client: browser.client.clone(),
        fapi_host: browser.fapi.host(),
        user_agent: user_agent(headers),
    }
}

/// The answer to a sign-in or sign-up that started `start`: the new `__client`, the device
/// cookie, `__client_uat` for the app, and the redirect (in development carrying the
/// development browser of the new client).
pub(super) async fn signed_in(
    state: &AppState,
    browser: &BrowserClient,
    user: &User,
    start: &SessionStart,
    redirect_url: &str,
) -> Result<Response, PageError> {
    let fapi = &browser.fapi;
    let target = redirect_target(state, fapi, Some(redirect_url), "/user").await?;
    let target = with_dev_browser(state, fapi, Some(&start.client), target).await?;
    let set = cookies::session_started(state, fapi, start, user).await?;
    Ok(see_other(&target, set))
}

/// Where an already signed-in browser goes from the sign-in or sign-up page.
pub(super) async fn already_signed_in(
    state: &AppState,
    browser: &BrowserClient,
    redirect_url: &str,
) -> Result<Response, PageError> {
    let fapi = &browser.fapi;
    let target = redirect_target(state, fapi, Some(redirect_url), "/user").await?;
    let target = with_dev_browser(state, fapi, browser.client.as_ref(), target).await?;
    Ok(see_other(&target, Vec::new()))
}
