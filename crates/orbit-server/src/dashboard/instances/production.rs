//! `/dashboard/instances/{id}/production`: a production instance for the application of
//! instance `id`, with its primary domain (`Orbit::create_production_instance`, as `orbit
//! instance create-production` does). Created, it leads to its Domains page, which shows the
//! DNS record its Frontend API host needs.

use super::{Change, CsrfToken, InstanceContext, Section};
use crate::browser::page::{render, sentence};
use crate::dashboard::{DashboardError, Layout, Operator};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use orbit_core::{AuditAction, Error};
use serde::Deserialize;
use serde_json::json;

#[derive(Template)]
#[template(path = "dashboard/instance_production.html")]
struct ProductionPage {
    layout: Layout,
    instance_id: String,
    application: String,
    cname_target: String,
    domain: String,
    error: Option<String>,
}

fn production_page(
    state: &AppState,
    ctx: InstanceContext,
    domain: String,
    error: Option<String>,
) -> ProductionPage {
    ProductionPage {
        instance_id: ctx.instance.id.clone(),
        application: ctx.listed.application.clone(),
        cname_target: state.cname_target.clone(),
        domain,
        error,
        layout: ctx.layout(),
    }
}

/// `GET /dashboard/instances/{id}/production`: the form.
pub(super) async fn form(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
) -> Result<Response, DashboardError> {
    let ctx = InstanceContext::load(&state, &operator, &id, Section::Production).await?;
    let page = production_page(&state, ctx, String::new(), None);
    Ok(render(StatusCode::OK, &page, Vec::new()))
}

#[derive(Debug, Deserialize)]
pub(super) struct ProductionForm {
    csrf_token: Option<String>,
    domain: Option<String>,
}

impl CsrfToken for ProductionForm {
    fn csrf_token(&self) -> Option<&str> {
        self.csrf_token.as_deref()
    }
}

/// `POST /dashboard/instances/{id}/production`: the new instance's Domains page, or the form
/// again with the domain as typed and what is wrong with it.
pub(super) async fn create(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Change { operator, form }: Change<ProductionForm>,
) -> Result<Response, DashboardError> {
    let ctx = InstanceContext::load(&state, &operator, &id, Section::Production).await?;
    let domain = form.domain.unwrap_or_default();
    let application = ctx.instance.application_id.clone();
    match state
        .orbit
        .create_production_instance(&application, &domain)
        .await
    {
        Ok(created) => {
            let primary = state.orbit.primary_domain(&created.id).await?;
            ctx.audit_on(
                &created.id,
                AuditAction::ProductionInstanceCreated,
                &created.id,
                json!({ "application": application, "domain": primary.name }),
            )
            .await?;
            let to = format!(
                "{}?tab=primary&notice=created",
                Section::Domains.href(&created.id)
            );
            Ok(Redirect::to(&to).into_response())
        }
        Err(Error::Invalid { reason, .. }) => {
            let page = production_page(&state, ctx, domain, Some(sentence(&reason)));
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page, Vec::new()))
        }
        Err(e) => Err(e.into()),
    }
}
