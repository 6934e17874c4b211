//! `/dashboard/setup?token=...`: the one-time link `orbit serve` prints while no operator exists.
//! It creates the first operator (the password policy of end users) and signs them in; used,
//! expired (24 h) or coming after an operator exists, it only says so and what to do instead.

use super::credentials::{self, CredentialsForm, Posted, Start};
use super::{csrf, DashboardError, Site};
use crate::browser::page::render;
use crate::browser::PageError;
use crate::error::ApiError;
use crate::extract::{ClientIp, FormBody};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
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

credentials::credentials_page!(SetupPage);

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

/// `POST /dashboard/setup`: the first operator, signed in.
pub(super) async fn submit(
    State(state): State<AppState>,
    site: Site,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    FormBody(form): FormBody<CredentialsForm>,
) -> Result<Response, DashboardError> {
    let view = |posted: &Posted| SetupPage {
        csrf: posted.csrf.clone(),
        token: posted.token().to_owned(),
        email: posted.shown_email(),
        ..Default::default()
    };
    // A link that no longer works is the error's own page (410), not the form again.
    credentials::submit(&state, &site, ip, &headers, form, Start::SetupLink, view).await
}
