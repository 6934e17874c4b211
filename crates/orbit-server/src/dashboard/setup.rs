//! `/dashboard/setup?token=...`: the one-time link `orbit serve` prints while no operator exists.
//! It creates the first operator (the password policy of end users) and signs them in; used,
//! expired (24 h) or coming after an operator exists, it only says so and what to do instead.

use super::credentials::{self, CredentialsPage, Posted, Start};
use super::{csrf, DashboardError, Site};
use crate::browser::page::render;
use crate::browser::PageError;
use crate::error::ApiError;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use orbit_core::Error;
use serde::Deserialize;

#[derive(Template, Default)]
#[template(path = "dashboard/setup.html")]
pub(super) struct SetupPage {
    csrf: String,
    token: String,
    email: String,
    form_error: Option<String>,
    email_error: Option<String>,
    password_error: Option<String>,
}

/// `POST /dashboard/setup` (`credentials::submit`): the first operator, signed in. A link that
/// no longer works is the error's own page (410), not the form again.
impl CredentialsPage for SetupPage {
    const START: Start = Start::SetupLink;
    fn again(posted: &Posted) -> Self {
        Self {
            csrf: posted.csrf.clone(),
            token: posted.token().to_owned(),
            email: posted.shown_email(),
            ..Default::default()
        }
    }
    credentials::errors!();
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
