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

use crate::browser::page::render;
use crate::browser::redirect::{to_primary, with_redirect_url};
use crate::browser::{BrowserClient, PageError};
use crate::AppState;
use askama::Template;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use orbit_core::model::{Session, User};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route(
            "/sign-in",
            get(entry_page::<sign_in::SignInPage>).post(sign_in::submit),
        )
        .route(
            "/sign-up",
            get(entry_page::<sign_up::SignUpPage>).post(sign_up::submit),
        )
        .route("/sign-up/verify", axum::routing::post(sign_up::verify))
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

/// A GET of the sign-in or sign-up page: the browser, the address asked for, and the
/// `redirect_url` to carry along.
struct EntryRequest {
    browser: BrowserClient,
    uri: Uri,
    headers: HeaderMap,
    redirect_url: String,
}

impl FromRequestParts<AppState> for EntryRequest {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let browser = BrowserClient::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Query(q) = Query::<RedirectQuery>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            browser,
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
            redirect_url: q.redirect_url.unwrap_or_default(),
        })
    }
}

/// What the sign-in and sign-up pages share: the CSRF token, the `redirect_url` to carry along
/// and the link to the other page.
#[derive(Default)]
struct EntryForm {
    app_name: &'static str,
    csrf: String,
    redirect_url: String,
    other_href: String,
}

impl EntryForm {
    fn new(csrf: String, redirect_url: String, other_page: &str) -> Self {
        Self {
            app_name: APP_NAME,
            csrf,
            other_href: with_redirect_url(other_page, &redirect_url),
            redirect_url,
        }
    }
}

/// The sign-in or sign-up page as first shown: an empty form linking to the other page.
trait EntryPage: Template + Default {
    /// The other entry page, linked from this one.
    const OTHER: &'static str;
    fn with(form: EntryForm) -> Self;
}

/// `GET` of an entry page. Before it renders, a satellite's host sends the browser to the
/// primary, and a signed-in browser goes on to its `redirect_url`.
async fn entry_page<P: EntryPage>(
    State(state): State<AppState>,
    req: EntryRequest,
) -> Result<Response, PageError> {
    let browser = &req.browser;
    if let Some(r) = to_primary(&state, &browser.fapi, &req.uri).await? {
        return Ok(r);
    }
    if signed_in(&state, browser).await?.is_some() {
        return sign_in::already_signed_in(&state, browser, &req.redirect_url).await;
    }
    let (csrf, set_csrf) = csrf::token(&req.headers, &browser.fapi, state.orbit.random().as_ref());
    let page = P::with(EntryForm::new(csrf, req.redirect_url, P::OTHER));
    Ok(render(StatusCode::OK, &page, set_csrf))
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
