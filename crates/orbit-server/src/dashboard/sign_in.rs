//! `/dashboard/sign-in` and `/dashboard/sign-out`: an operator's email and password, under the
//! abuse limits end users have (core, `Orbit::operator_sign_in`), and the end of the session.

use super::operator::signed_in;
use super::{csrf, CsrfForm, DashboardError, Operator, Site};
use crate::browser::cookies;
use crate::browser::page::{render, with_retry_after};
use crate::browser::redirect::with_cookies;
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
#[template(path = "dashboard/sign_in.html")]
pub(super) struct SignInPage {
    csrf: String,
    email: String,
    notice: Option<String>,
    /// The deployment has no operator yet: the page says how to create one.
    no_operator: bool,
    form_error: Option<String>,
    email_error: Option<String>,
    password_error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct SignInQuery {
    notice: Option<String>,
}

/// `GET /dashboard/sign-in`; a browser signed in already goes on to the dashboard.
pub(super) async fn page(
    State(state): State<AppState>,
    site: Site,
    headers: HeaderMap,
    Query(q): Query<SignInQuery>,
) -> Result<Response, DashboardError> {
    if signed_in(&state, &site, &headers).await?.is_some() {
        return Ok(Redirect::to("/dashboard").into_response());
    }
    let (csrf, set) = csrf::pre_session(&headers, &site, state.orbit.random().as_ref());
    let page = SignInPage {
        csrf,
        notice: (q.notice.as_deref() == Some("signed-out")).then(|| "You are signed out.".into()),
        no_operator: !state.orbit.has_operators().await?,
        ..Default::default()
    };
    Ok(render(StatusCode::OK, &page, set))
}

#[derive(Debug, Deserialize)]
pub(super) struct SignInForm {
    csrf_token: Option<String>,
    email_address: Option<String>,
    password: Option<String>,
}

/// `POST /dashboard/sign-in`: a session and its cookie, then the dashboard. A wrong password and
/// an unknown address get the same page.
pub(super) async fn submit(
    State(state): State<AppState>,
    site: Site,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    FormBody(form): FormBody<SignInForm>,
) -> Result<Response, DashboardError> {
    csrf::require_pre_session(&headers, &site, form.csrf_token.as_deref())?;
    let email = form.email_address.unwrap_or_default();
    let password = form.password.unwrap_or_default();
    let (csrf, _) = csrf::pre_session(&headers, &site, state.orbit.random().as_ref());
    let mut view = SignInPage {
        csrf,
        email: without_bidi_controls(email.trim()),
        ..Default::default()
    };
    if email.trim().is_empty() {
        view.email_error = Some("Enter your email address.".into());
    }
    if password.is_empty() {
        view.password_error = Some("Enter your password.".into());
    }
    if view.email_error.is_some() || view.password_error.is_some() {
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &view, Vec::new()));
    }
    let ua = user_agent(&headers);
    match state
        .orbit
        .operator_sign_in(&ip.to_string(), &email, &password, ua.as_deref())
        .await
    {
        Ok(signed_in) => Ok(with_cookies(
            Redirect::to("/dashboard").into_response(),
            cookies::dashboard_session(&signed_in.token, site.secure)
                .into_iter()
                .collect(),
        )),
        Err(Error::InvalidCredentials) => {
            view.form_error = Some(
                "The email address or password is incorrect. Check both and try again.".into(),
            );
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &view, Vec::new()))
        }
        Err(Error::TooManyAttempts { retry_after_secs }) => {
            view.form_error = Some(format!(
                "Too many sign-in attempts. Wait {retry_after_secs} seconds, then try again."
            ));
            let resp = render(StatusCode::TOO_MANY_REQUESTS, &view, Vec::new());
            Ok(with_retry_after(resp, retry_after_secs))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /dashboard/sign-out`: ends this session, clears its cookie.
pub(super) async fn sign_out(
    State(state): State<AppState>,
    operator: Operator,
    headers: HeaderMap,
    FormBody(form): FormBody<CsrfForm>,
) -> Result<Response, DashboardError> {
    csrf::require(&headers, &operator, form.csrf_token.as_deref())?;
    state.orbit.operator_sign_out(&operator.me).await?;
    Ok(with_cookies(
        Redirect::to("/dashboard/sign-in?notice=signed-out").into_response(),
        cookies::clear_dashboard_session(operator.site.secure)
            .into_iter()
            .collect(),
    ))
}
