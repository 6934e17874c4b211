//! `/dashboard/instances/{id}/redirect-origins`: the instance's allowed redirect origins (those
//! besides its domains that sign-in, sign-up and sign-out may send a browser to), added and
//! removed one at a time under the rules `orbit instance set --allowed-redirect-origin` and
//! BAPI `PATCH /v1/instance` apply (`Orbit::update_settings`: an origin, or a wildcard as the
//! whole leftmost label).

use super::{paginate, Change, CsrfToken, InstanceContext, PageQuery, Pager, Section};
use crate::browser::page::{render, sentence};
use crate::dashboard::{DashboardError, Layout, Operator};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use orbit_core::{AuditAction, Error};
use serde::Deserialize;
use serde_json::json;

#[derive(Template)]
#[template(path = "dashboard/instance_origins.html")]
struct OriginsPage {
    layout: Layout,
    instance_id: String,
    origins: Vec<String>,
    pager: Pager,
    notice: Option<&'static str>,
    /// The add form's value, kept when it is refused.
    origin: String,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct OriginsQuery {
    notice: Option<String>,
    #[serde(flatten)]
    paging: PageQuery,
}

fn origins_page(
    ctx: InstanceContext,
    page: usize,
    notice: Option<&'static str>,
    origin: String,
    error: Option<String>,
) -> OriginsPage {
    let base = Section::RedirectOrigins.href(ctx.id());
    let listed = ctx.instance.settings.allowed_redirect_origins.clone();
    let (origins, pager) = paginate(listed, page, |n| format!("{base}?page={n}"));
    OriginsPage {
        instance_id: ctx.instance.id.clone(),
        origins,
        pager,
        notice,
        origin,
        error,
        layout: ctx.layout(),
    }
}

/// `GET /dashboard/instances/{id}/redirect-origins`.
pub(super) async fn page(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    Query(q): Query<OriginsQuery>,
) -> Result<Response, DashboardError> {
    let ctx = InstanceContext::load(&state, &operator, &id, Section::RedirectOrigins).await?;
    let notice = match q.notice.as_deref() {
        Some("added") => Some("The origin is allowed."),
        Some("removed") => Some("The origin is no longer allowed."),
        Some("gone") => Some("That origin was not in the list (any more)."),
        _ => None,
    };
    let page = origins_page(ctx, q.paging.number(), notice, String::new(), None);
    Ok(render(StatusCode::OK, &page, Vec::new()))
}

#[derive(Debug, Deserialize)]
pub(super) struct OriginForm {
    csrf_token: Option<String>,
    origin: Option<String>,
}

impl CsrfToken for OriginForm {
    fn csrf_token(&self) -> Option<&str> {
        self.csrf_token.as_deref()
    }
}

/// `POST /dashboard/instances/{id}/redirect-origins`: adds one, or shows the page again with
/// the origin as typed and what is wrong with it.
pub(super) async fn add(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Change { operator, form }: Change<OriginForm>,
) -> Result<Response, DashboardError> {
    let ctx = InstanceContext::load(&state, &operator, &id, Section::RedirectOrigins).await?;
    let origin = form.origin.unwrap_or_default();
    match state
        .orbit
        .add_allowed_redirect_origin(ctx.id(), &origin)
        .await
    {
        Ok(_) => {
            let added = origin.trim();
            ctx.audit(
                AuditAction::RedirectOriginAdded,
                added,
                json!({ "origin": added }),
            )
            .await?;
            let to = format!("{}?notice=added", Section::RedirectOrigins.href(ctx.id()));
            Ok(Redirect::to(&to).into_response())
        }
        Err(Error::Invalid { reason, .. }) => {
            let error = format!(
                "{} Enter an origin such as https://app.example.com, or https://*.example.com for its subdomains.",
                sentence(&reason)
            );
            let page = origins_page(ctx, 1, None, origin, Some(error));
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page, Vec::new()))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /dashboard/instances/{id}/redirect-origins/remove` (`origin` as listed).
pub(super) async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Change { operator, form }: Change<OriginForm>,
) -> Result<Response, DashboardError> {
    let ctx = InstanceContext::load(&state, &operator, &id, Section::RedirectOrigins).await?;
    let origin = form.origin.unwrap_or_default();
    let notice = match state
        .orbit
        .remove_allowed_redirect_origin(ctx.id(), &origin)
        .await
    {
        Ok(_) => {
            ctx.audit(
                AuditAction::RedirectOriginRemoved,
                &origin,
                json!({ "origin": origin }),
            )
            .await?;
            "removed"
        }
        Err(Error::NotFound { .. }) => "gone",
        Err(e) => return Err(e.into()),
    };
    let to = format!(
        "{}?notice={notice}",
        Section::RedirectOrigins.href(ctx.id())
    );
    Ok(Redirect::to(&to).into_response())
}
