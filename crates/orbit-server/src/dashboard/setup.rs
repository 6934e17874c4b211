//! `/dashboard/setup?token=...`: the one-time link `orbit serve` prints while no operator exists.
//! It creates the first operator (the password policy of end users) and signs them in; used,
//! expired (24 h) or coming after an operator exists, it only says so and what to do instead.

use super::{csrf, DashboardError, Site};
use crate::browser::page::{render, sentence, with_retry_after};
use crate::browser::redirect::with_cookies;
use crate::browser::{cookies, PageError};
use crate::error::ApiError;
use crate::extract::{user_agent, ClientIp, FormBody};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use orbit_core::text::without_bidi_controls;
use orbit_core::Error;
use serde::Deserialize;

#[derive(Template, Default)]
#[template(path = "dashboard/setup.html")]
struct SetupPage {
    csrf: String,
    token: String,
    email: String,
    form_error: Option<String>,
    email_error: Option<String>,
    password_error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct SetupQuery {
    token: Option<String>,
}

/// The page of a link that no longer works.
fn link_spent() -> DashboardError {
    PageError::from(ApiError::from(Error::SetupLinkInvalid)).into()
}

/// `GET /dashboard/setup?token=...`: the form, while the link works.
pub(super) async fn page(
    State(state): State<AppState>,
    site: Site,
    headers: HeaderMap,
    Query(q): Query<SetupQuery>,
) -> Result<Response, DashboardError> {
    let token = q.token.unwrap_or_default();
    if !state.orbit.setup_token_usable(&token).await? {
        return Err(link_spent());
    }
    let (csrf, set) = csrf::pre_session(&headers, &site, state.orbit.random().as_ref());
    let page = SetupPage {
        csrf,
        token,
        ..Default::default()
    };
    Ok(render(StatusCode::OK, &page, set))
}

#[derive(Debug, Deserialize)]
pub(super) struct SetupForm {
    csrf_token: Option<String>,
    token: Option<String>,
    email_address: Option<String>,
    password: Option<String>,
}

/// `POST /dashboard/setup`: the first operator, signed in.
pub(super) async fn submit(
    State(state): State<AppState>,
    site: Site,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    FormBody(form): FormBody<SetupForm>,
) -> Result<Response, DashboardError> {
    csrf::require_pre_session(&headers, &site, form.csrf_token.as_deref())?;
    let token = form.token.unwrap_or_default();
    let email = form.email_address.unwrap_or_default();
    let password = form.password.unwrap_or_default();
    let (csrf, _) = csrf::pre_session(&headers, &site, state.orbit.random().as_ref());
    let mut view = SetupPage {
        csrf,
        token: token.clone(),
        email: without_bidi_controls(email.trim()),
        ..Default::default()
    };
    if email.trim().is_empty() {
        view.email_error = Some("Enter your email address.".into());
    }
    if password.is_empty() {
        view.password_error = Some("Choose a password.".into());
    }
    if view.email_error.is_some() || view.password_error.is_some() {
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &view, Vec::new()));
    }
    let ua = user_agent(&headers);
    let outcome = state
        .orbit
        .redeem_setup_token(&ip.to_string(), &token, &email, &password, ua.as_deref())
        .await;
    match outcome {
        Ok(signed_in) => Ok(with_cookies(
            Redirect::to("/dashboard").into_response(),
            cookies::dashboard_session(&signed_in.token, site.secure)
                .into_iter()
                .collect(),
        )),
        Err(Error::Email(e)) => {
            view.email_error = Some(sentence(&e.to_string()));
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &view, Vec::new()))
        }
        Err(Error::Password(e)) => {
            view.password_error = Some(sentence(&e.to_string()));
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &view, Vec::new()))
        }
        Err(Error::TooManyAttempts { retry_after_secs }) => {
            view.form_error = Some(format!(
                "Too many attempts. Wait {retry_after_secs} seconds, then try again."
            ));
            let resp = render(StatusCode::TOO_MANY_REQUESTS, &view, Vec::new());
            Ok(with_retry_after(resp, retry_after_secs))
        }
        Err(Error::SetupLinkInvalid) => Err(link_spent()),
        Err(e) => Err(e.into()),
    }
}
