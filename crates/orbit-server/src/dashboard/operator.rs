//! [`Operator`]: the signed-in operator a dashboard request comes from, by the dashboard's own
//! cookie only. An end user's session (`__client`, on any instance) is never one: a browser
//! without a live operator session is sent to sign in.

use super::csrf::session_csrf;
use super::{DashboardError, Site};
use crate::browser::cookies;
use crate::browser::redirect::with_cookies;
use crate::extract::cookie;
use crate::AppState;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use orbit_core::SignedInOperator;
use orbit_proto::wire;

/// The signed-in operator, their session, and what their pages need: the site and the
/// session's CSRF token.
#[derive(Debug, Clone)]
pub struct Operator {
    pub me: SignedInOperator,
    pub site: Site,
    /// The token every form of this session carries (`csrf::require` checks it).
    pub csrf: String,
}

/// The operator whose live session the request's dashboard cookie carries, if any.
pub(super) async fn signed_in(
    state: &AppState,
    site: &Site,
    headers: &HeaderMap,
) -> Result<Option<Operator>, DashboardError> {
    let Some(token) = cookie(headers, wire::cookie::DASHBOARD.name(site.secure)) else {
        return Ok(None);
    };
    Ok(state
        .orbit
        .operator_for_token(&token)
        .await?
        .map(|me| Operator {
            me,
            csrf: session_csrf(&token),
            site: site.clone(),
        }))
}

impl<S: Send + Sync> FromRequestParts<S> for Operator
where
    AppState: FromRef<S>,
{
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let state = AppState::from_ref(state);
        let site = Site::from_request_parts(parts, &state)
            .await
            .map_err(IntoResponse::into_response)?;
        match signed_in(&state, &site, &parts.headers).await {
            Ok(Some(operator)) => Ok(operator),
            Ok(None) => {
                // A cookie of a session that is over is cleared on the way to sign-in.
                let had_cookie =
                    cookie(&parts.headers, wire::cookie::DASHBOARD.name(site.secure)).is_some();
                let clear = cookies::clear_dashboard_session(site.secure)
                    .filter(|_| had_cookie)
                    .into_iter()
                    .collect();
                Err(with_cookies(
                    Redirect::to("/dashboard/sign-in").into_response(),
                    clear,
                ))
            }
            Err(e) => Err(e.into_response()),
        }
    }
}
