//! The account portal: hosted sign-in, sign-up, profile and sign-out pages on the primary's FAPI
//! host. Server-rendered HTML that works without JavaScript; every form is CSRF-protected and
//! every redirect passes the instance's redirect policy (docs/protocol.md "Redirect
//! validation"). One file per page family, each a thin client of core; the browser layer
//! (`crate::browser`) supplies the host, the client, cookies, redirects and error pages.

mod csrf;
mod profile;
mod sign_in;
mod sign_out;
mod sign_up;

use crate::browser::redirect::to_primary;
use crate::browser::{BrowserClient, PageError};
use crate::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use orbit_core::model::{Session, User};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/sign-in", get(sign_in::page).post(sign_in::submit))
        .route("/sign-up", get(sign_up::page).post(sign_up::submit))
        .route("/sign-out", get(sign_out::page).post(sign_out::submit))
        .merge(profile::routes())
}

const APP_NAME: &str = "your application";

/// The signed-in user of this browser on the portal: its client's current session and user.
struct SignedIn {
    session: Session,
    user: User,
}

async fn signed_in(
    state: &AppState,
    browser: &BrowserClient,
) -> Result<Option<SignedIn>, PageError> {
    let Some(client) = &browser.client else {
        return Ok(None);
    };
    let instance = &browser.fapi.ctx.instance;
    let sessions = state.orbit.active_sessions(instance, &client.id).await?;
    let Some(session) = sessions.into_iter().next() else {
        return Ok(None);
    };
    let user = state.orbit.user(&instance.id, &session.user_id).await?;
    Ok(Some(SignedIn { session, user }))
}

#[derive(Debug, Deserialize)]
struct RedirectQuery {
    redirect_url: Option<String>,
}

async fn root(
    State(state): State<AppState>,
    browser: BrowserClient,
    uri: axum::http::Uri,
) -> Result<Response, PageError> {
    if let Some(r) = to_primary(&state, &browser.fapi, &uri).await? {
        return Ok(r);
    }
    Ok(match signed_in(&state, &browser).await? {
        Some(_) => Redirect::to("/user").into_response(),
        None => Redirect::to("/sign-in").into_response(),
    })
}
