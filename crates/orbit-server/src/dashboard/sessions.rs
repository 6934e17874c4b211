//! `/dashboard/instances/{id}/sessions`: an instance's active sessions (the user, the device,
//! when it started and was last active), most recently active first, each revocable through
//! the core call of BAPI's `POST /v1/sessions/{id}/revoke` (`Orbit::end_session`), audited.

use super::pagination::{list_href, PageNumber, Pager};
use super::users::{form_instance, instance_of, notice, InstanceHeader};
use super::{CsrfForm, DashboardError, Layout, Nav, Operator};
use crate::browser::page::render;
use crate::extract::FormBody;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use orbit_core::clock::format_utc;
use orbit_core::model::{Instance, ListedSession, SessionStatus};
use orbit_core::{AuditAction, Error};
use serde::Deserialize;
use serde_json::json;

struct SessionRow {
    id: String,
    user_id: String,
    email: String,
    device: String,
    created: String,
    last_active: String,
}

impl SessionRow {
    fn of(l: ListedSession) -> Self {
        let s = l.session;
        Self {
            device: orbit_core::user_agent::summary(s.user_agent.as_deref()),
            created: format_utc(s.created_at),
            last_active: format_utc(s.last_active_at),
            id: s.id,
            user_id: s.user_id,
            email: l.user_email,
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard/users_sessions.html")]
struct ListPage {
    layout: Layout,
    instance: InstanceHeader,
    sessions: Vec<SessionRow>,
    pager: Pager,
    notice: Option<&'static str>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    page: Option<String>,
    notice: Option<String>,
}

fn sessions_path(instance_id: &str) -> String {
    format!("/dashboard/instances/{instance_id}/sessions")
}

/// `GET /dashboard/instances/{id}/sessions?page=`.
pub(super) async fn list(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Response, DashboardError> {
    let (instance, header) = instance_of(&state, &id, "sessions").await?;
    let page = PageNumber::parse(q.page.as_deref());
    let sessions = state
        .orbit
        .instance_sessions(&instance, page.limit(), page.offset())
        .await?;
    let path = sessions_path(&instance.id);
    let (sessions, pager) = page.cut(sessions, |n| list_href(&path, &[], n));
    let page = ListPage {
        layout: Layout::new(&operator, Nav::Home),
        instance: header,
        sessions: sessions.into_iter().map(SessionRow::of).collect(),
        pager,
        notice: notice(q.notice.as_deref()),
    };
    Ok(render(StatusCode::OK, &page, Vec::new()))
}

/// `POST /dashboard/instances/{id}/sessions/{session_id}/revoke`, from the sessions' list.
pub(super) async fn revoke(
    State(state): State<AppState>,
    operator: Operator,
    Path((id, session_id)): Path<(String, String)>,
    headers: HeaderMap,
    FormBody(form): FormBody<CsrfForm>,
) -> Result<Response, DashboardError> {
    let token = form.csrf_token.as_deref();
    let (instance, _) = form_instance(&state, &operator, &headers, token, &id, "sessions").await?;
    let said = revoke_session(&state, &operator, &instance, &session_id, None).await?;
    let to = format!("{}?notice={said}", sessions_path(&instance.id));
    Ok(Redirect::to(&to).into_response())
}

/// `POST /dashboard/instances/{id}/users/{user_id}/sessions/{session_id}/revoke`, from the
/// user's page, which it leads back to. A session of another user is a 404.
pub(super) async fn revoke_users(
    State(state): State<AppState>,
    operator: Operator,
    Path((id, user_id, session_id)): Path<(String, String, String)>,
    headers: HeaderMap,
    FormBody(form): FormBody<CsrfForm>,
) -> Result<Response, DashboardError> {
    let token = form.csrf_token.as_deref();
    let (instance, _) = form_instance(&state, &operator, &headers, token, &id, "users").await?;
    let said = revoke_session(&state, &operator, &instance, &session_id, Some(&user_id)).await?;
    let to = format!(
        "/dashboard/instances/{}/users/{user_id}?notice={said}",
        instance.id
    );
    Ok(Redirect::to(&to).into_response())
}

/// Revokes the instance's session `session_id` (of `user_id` when given: else 404), audited;
/// the notice to show: `revoked`, or `gone` when it had ended already.
async fn revoke_session(
    state: &AppState,
    operator: &Operator,
    instance: &Instance,
    session_id: &str,
    user_id: Option<&str>,
) -> Result<&'static str, DashboardError> {
    let orbit = &state.orbit;
    let session = orbit.session(instance, session_id).await?;
    if user_id.is_some_and(|u| u != session.user_id) {
        return Err(Error::NotFound {
            resource: "session",
            id: session_id.to_owned(),
        }
        .into());
    }
    match orbit
        .end_session(instance, session_id, SessionStatus::Revoked)
        .await
    {
        Ok(_) => {}
        Err(Error::SessionNotActive { .. }) => return Ok("gone"),
        Err(e) => return Err(e.into()),
    }
    let email = orbit.user(&instance.id, &session.user_id).await?.email;
    orbit
        .record_audit(
            &operator.me.actor(),
            AuditAction::SessionRevoked,
            session_id,
            Some(&instance.id),
            json!({ "user_id": session.user_id, "email": email }),
        )
        .await?;
    Ok("revoked")
}
