//! `/dashboard/account`: the signed-in operator and their live sessions, each of which can be
//! signed out (revoked) from here.

use super::{csrf, CsrfForm, DashboardError, Layout, Nav, Operator};
use crate::browser::page::render;
use crate::extract::FormBody;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use orbit_core::clock::format_utc;
use serde::Deserialize;

struct SessionRow {
    id: String,
    device: String,
    created: String,
    last_active: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "dashboard/account.html")]
struct AccountPage {
    layout: Layout,
    created: String,
    notice: Option<String>,
    sessions: Vec<SessionRow>,
}

#[derive(Debug, Deserialize)]
pub(super) struct AccountQuery {
    notice: Option<String>,
}

pub(super) async fn page(
    State(state): State<AppState>,
    operator: Operator,
    Query(q): Query<AccountQuery>,
) -> Result<Response, DashboardError> {
    let me = &operator.me;
    let sessions = state.orbit.operator_sessions(&me.operator).await?;
    let rows = sessions
        .into_iter()
        .map(|s| SessionRow {
            current: s.id == me.session.id,
            device: s
                .user_agent
                .clone()
                .unwrap_or_else(|| orbit_core::user_agent::summary(None)),
            created: format_utc(s.created_at),
            last_active: format_utc(s.last_active_at),
            id: s.id,
        })
        .collect();
    let notice = match q.notice.as_deref() {
        Some("revoked") => Some("The device is signed out.".to_owned()),
        Some("gone") => Some("That device was signed out already.".to_owned()),
        _ => None,
    };
    let page = AccountPage {
        layout: Layout::new(&operator, Nav::Account),
        created: format_utc(me.operator.created_at),
        notice,
        sessions: rows,
    };
    Ok(render(StatusCode::OK, &page, Vec::new()))
}

/// `POST /dashboard/account/sessions/{id}/revoke`: signs one of this operator's devices out
/// (this one too: the next page then asks to sign in).
pub(super) async fn revoke(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    headers: HeaderMap,
    FormBody(form): FormBody<CsrfForm>,
) -> Result<Response, DashboardError> {
    csrf::require(&headers, &operator, form.csrf_token.as_deref())?;
    let ended = state
        .orbit
        .revoke_operator_session(&operator.me, &id)
        .await?;
    let notice = if ended { "revoked" } else { "gone" };
    Ok(Redirect::to(&format!("/dashboard/account?notice={notice}")).into_response())
}
