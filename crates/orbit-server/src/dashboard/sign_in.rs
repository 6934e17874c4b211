//! `/dashboard/sign-in` and `/dashboard/sign-out`: an operator's email and password, under the
//! abuse limits end users have (core, `Orbit::operator_sign_in`), and the end of the session.

use super::credentials::{self, CredentialsPage, Posted, Start};
use super::operator::signed_in;
use super::{csrf, CsrfForm, DashboardError, Operator, Site};
use crate::browser::cookies;
use crate::browser::page::render;
use crate::browser::redirect::with_cookies;
use crate::extract::FormBody;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
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

/// `POST /dashboard/sign-in` (`credentials::submit`): a session and its cookie, then the
/// dashboard. A wrong password and an unknown address get the same page.
impl CredentialsPage for SignInPage {
    const START: Start = Start::SignIn;
    fn again(posted: &Posted) -> Self {
        Self {
            csrf: posted.csrf.clone(),
            email: posted.shown_email(),
            ..Default::default()
        }
    }
    credentials::errors!();
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
