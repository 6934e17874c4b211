//! What the dashboard's two forms of an email address and a password share (sign-in, the setup
//! link): the errors they show next to their fields (`templates/fields/credentials.html`), and
//! the answer once core has tried to start an operator session.

use super::{csrf, DashboardError, Site};
use crate::browser::cookies;
use crate::browser::page::{blank_credentials, render, sentence, with_retry_after};
use crate::browser::redirect::with_cookies;
use crate::extract::{user_agent, ClientIp, FormBody};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use orbit_core::text::without_bidi_controls;
use orbit_core::{Error, OperatorSignIn};
use serde::Deserialize;

/// The fields of both forms as posted.
#[derive(Debug, Deserialize)]
pub(super) struct CredentialsForm {
    csrf_token: Option<String>,
    /// The setup link's token (the setup form only).
    token: Option<String>,
    email_address: Option<String>,
    password: Option<String>,
}

/// A posted form whose CSRF check passed.
pub(super) struct Posted {
    token: String,
    email: String,
    password: String,
    /// The pre-session CSRF token, for the page shown again.
    pub csrf: String,
}

impl Posted {
    /// The setup link's token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The address as the page shows it again: trimmed, without bidirectional controls.
    pub fn shown_email(&self) -> String {
        without_bidi_controls(self.email.trim())
    }
}

/// How a form starts an operator session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Start {
    /// An operator's email and password.
    SignIn,
    /// The first operator, made by the setup link.
    SetupLink,
}

/// Both forms' `POST` (`P` the page's): the CSRF check, the fields filled in, then the session
/// (its cookie and the dashboard) or the page again, saying what to do.
pub(super) async fn submit<P: CredentialsPage>(
    State(state): State<AppState>,
    site: Site,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    FormBody(form): FormBody<CredentialsForm>,
) -> Result<Response, DashboardError> {
    let (state, site, headers) = (&state, &site, &headers);
    let posted = accept(state, site, headers, form)?;
    let mut page = P::again(&posted);
    let password_missing = match P::START {
        Start::SignIn => "Enter your password.",
        Start::SetupLink => "Choose a password.",
    };
    if let Some(again) = blank(&mut page, &posted, password_missing) {
        return Ok(again);
    }
    let (ip, ua) = (ip.to_string(), user_agent(headers));
    let Posted {
        token,
        email,
        password,
        ..
    } = &posted;
    let outcome = match P::START {
        Start::SignIn => {
            state
                .orbit
                .operator_sign_in(&ip, email, password, ua.as_deref())
                .await
        }
        Start::SetupLink => {
            state
                .orbit
                .redeem_setup_token(&ip, token, email, password, ua.as_deref())
                .await
        }
    };
    session_or_page(site, outcome, page)
}

/// Checks the form's CSRF token and origin; its fields.
fn accept(
    state: &AppState,
    site: &Site,
    headers: &HeaderMap,
    form: CredentialsForm,
) -> Result<Posted, DashboardError> {
    csrf::require_pre_session(headers, site, form.csrf_token.as_deref())?;
    let (csrf, _) = csrf::pre_session(headers, site, state.orbit.random().as_ref());
    Ok(Posted {
        token: form.token.unwrap_or_default(),
        email: form.email_address.unwrap_or_default(),
        password: form.password.unwrap_or_default(),
        csrf,
    })
}

/// A page of one of the two forms.
pub(super) trait CredentialsPage: Template + Send + 'static {
    /// How its form starts a session.
    const START: Start;
    /// The page shown again after `posted`, before its errors are filled in.
    fn again(posted: &Posted) -> Self;
    /// Its errors: the whole form's, the email field's and the password field's.
    fn errors(&mut self) -> [&mut Option<String>; 3];
}

/// `CredentialsPage::errors` of a page struct with `form_error`, `email_error` and
/// `password_error`.
macro_rules! errors {
    () => {
        fn errors(&mut self) -> [&mut Option<String>; 3] {
            [
                &mut self.form_error,
                &mut self.email_error,
                &mut self.password_error,
            ]
        }
    };
}
pub(super) use errors;

/// The page again (422), saying what to fill in, when the email address or the password is
/// empty.
fn blank<P: CredentialsPage>(
    page: &mut P,
    posted: &Posted,
    password_missing: &str,
) -> Option<Response> {
    let (email_error, password_error) =
        blank_credentials(&posted.email, &posted.password, password_missing);
    if email_error.is_none() && password_error.is_none() {
        return None;
    }
    let [_, e, p] = page.errors();
    (*e, *p) = (email_error, password_error);
    Some(render(StatusCode::UNPROCESSABLE_ENTITY, page, Vec::new()))
}

/// A started session: its cookie, then the dashboard. Otherwise `page` again with what to do
/// (422; 429 with `Retry-After` past a limit), or the error's own page (a setup link that no
/// longer works: 410).
fn session_or_page<P: CredentialsPage>(
    site: &Site,
    outcome: orbit_core::Result<OperatorSignIn>,
    mut page: P,
) -> Result<Response, DashboardError> {
    let [form_error, email_error, password_error] = page.errors();
    let mut retry_after = None;
    match outcome {
        Ok(signed_in) => {
            let cookie = cookies::dashboard_session(&signed_in.token, site.secure);
            let home = Redirect::to("/dashboard").into_response();
            return Ok(with_cookies(home, cookie.into_iter().collect()));
        }
        Err(Error::InvalidCredentials) => {
            *form_error = Some(
                "The email address or password is incorrect. Check both and try again.".into(),
            );
        }
        Err(Error::Email(e)) => *email_error = Some(sentence(&e.to_string())),
        Err(Error::Password(e)) => *password_error = Some(sentence(&e.to_string())),
        Err(Error::TooManyAttempts { retry_after_secs }) => {
            *form_error = Some(format!(
                "Too many sign-in attempts. Wait {retry_after_secs} seconds, then try again."
            ));
            retry_after = Some(retry_after_secs);
        }
        Err(e) => return Err(e.into()),
    }
    Ok(match retry_after {
        Some(secs) => with_retry_after(
            render(StatusCode::TOO_MANY_REQUESTS, &page, Vec::new()),
            secs,
        ),
        None => render(StatusCode::UNPROCESSABLE_ENTITY, &page, Vec::new()),
    })
}
