//! `/sign-out`: ends every session of this browser's client and tells the apps
//! (`__client_uat`, the development browser, or a hop through the primary's FAPI host).

use super::{csrf, signed_in, RedirectQuery, APP_NAME};
use crate::browser::cookies;
use crate::browser::page::render;
use crate::browser::redirect::{redirect_target, see_other, with_dev_browser};
use crate::browser::{BrowserClient, PageError};
use crate::error::ApiError;
use crate::extract::FormBody;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use orbit_core::redirect::RedirectTarget;
use orbit_proto::wire;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "sign_out.html")]
struct SignOutPage {
    app_name: &'static str,
    csrf: String,
    redirect_url: String,
    signed_in: bool,
}

pub(super) async fn page(
    State(state): State<AppState>,
    browser: BrowserClient,
    headers: HeaderMap,
    Query(q): Query<RedirectQuery>,
) -> Response {
    let signed_in = matches!(signed_in(&state, &browser).await, Ok(Some(_)));
    let (csrf, set) = csrf::token(&headers, &browser.fapi, state.orbit.random().as_ref());
    render(
        StatusCode::OK,
        &SignOutPage {
            app_name: APP_NAME,
            csrf,
            redirect_url: q.redirect_url.unwrap_or_default(),
            signed_in,
        },
        set,
    )
}

#[derive(Debug, Deserialize)]
pub(super) struct SignOutForm {
    csrf_token: Option<String>,
    redirect_url: Option<String>,
}

/// Ends every session of this browser's client.
pub(super) async fn submit(
    State(state): State<AppState>,
    browser: BrowserClient,
    headers: HeaderMap,
    FormBody(form): FormBody<SignOutForm>,
) -> Result<Response, PageError> {
    let fapi = &browser.fapi;
    csrf::require(&headers, fapi, form.csrf_token.as_deref())?;
    if let Some(client) = &browser.client {
        state
            .orbit
            .sign_out_client(&fapi.ctx.instance, &client.id)
            .await?;
    }
    let target = redirect_target(&state, fapi, form.redirect_url.as_deref(), "/sign-in").await?;
    // Development: the app learns of the sign-out through its development browser token.
    let mut target = with_dev_browser(&state, fapi, browser.client.as_ref(), target).await?;
    // Production satellite: pass by the primary's Frontend API so that it resets the primary's
    // `__client_uat` too, and the primary app signs out at its next request.
    if fapi.ctx.domain.is_satellite && fapi.ctx.domain.fapi_host.is_some() {
        let primary = state.orbit.primary_domain(&fapi.ctx.instance.id).await?;
        let mut via = url::Url::parse(&format!(
            "{}/v1/client/signed_out",
            orbit_core::Orbit::fapi_url(&fapi.ctx.instance, &primary)
        ))
        .map_err(ApiError::internal)?;
        via.query_pairs_mut()
            .append_pair(wire::query::REDIRECT_URL, target.as_str());
        target = RedirectTarget::from_trusted(via);
    }
    Ok(see_other(
        &target,
        cookies::client_uat_for_app(&state, fapi, 0).await,
    ))
}
