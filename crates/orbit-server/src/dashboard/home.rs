//! `GET /dashboard`: the deployment's applications and their instances (development,
//! production), each with links to its pages (`instances/`), and the instance switcher the
//! layout shows on every instance page (`?instance=` chooses one here).

use super::instances::{catalogue, InstanceBar, Section};
use super::{DashboardError, Layout, Nav, Operator};
use crate::browser::page::render;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use orbit_core::model::InstanceKind;
use orbit_core::Orbit;
use serde::Deserialize;

#[derive(Clone)]
struct InstanceRow {
    id: String,
    kind_label: &'static str,
    production: bool,
    primary_domain: String,
    fapi_url: String,
    keys: String,
    domains: String,
    redirect_origins: String,
    /// Where a production instance is added to its application.
    add_production: String,
}

struct ApplicationRow {
    id: String,
    name: String,
    instances: Vec<InstanceRow>,
}

#[derive(Template)]
#[template(path = "dashboard/home.html")]
struct HomePage {
    layout: Layout,
    applications: Vec<ApplicationRow>,
    selected: Option<InstanceRow>,
}

#[derive(Debug, Deserialize)]
pub(super) struct HomeQuery {
    instance: Option<String>,
}

pub(super) async fn page(
    State(state): State<AppState>,
    operator: Operator,
    Query(q): Query<HomeQuery>,
) -> Result<Response, DashboardError> {
    let catalogue = catalogue(&state.orbit).await?;
    let all = || catalogue.iter().flat_map(|(_, l)| l);
    // The instance asked for, else the first: an unknown id is no error, only no choice.
    let chosen = q
        .instance
        .filter(|id| all().any(|l| &l.instance.id == id))
        .or_else(|| all().next().map(|l| l.instance.id.clone()));
    let mut applications = Vec::new();
    let mut selected = None;
    for (app, listed) in &catalogue {
        let mut rows = Vec::new();
        for l in listed {
            let id = &l.instance.id;
            let row = InstanceRow {
                id: id.clone(),
                kind_label: l.kind_label(),
                production: l.instance.kind == InstanceKind::Production,
                fapi_url: Orbit::fapi_url(&l.instance, &l.primary),
                primary_domain: l.primary.name.clone(),
                keys: Section::Keys.href(id),
                domains: Section::Domains.href(id),
                redirect_origins: Section::RedirectOrigins.href(id),
                add_production: Section::Production.href(id),
            };
            if chosen.as_deref() == Some(id.as_str()) {
                selected = Some(row.clone());
            }
            rows.push(row);
        }
        applications.push(ApplicationRow {
            id: app.id.clone(),
            name: app.name.clone(),
            instances: rows,
        });
    }
    let bar = InstanceBar::for_home(&catalogue, chosen.as_deref());
    let page = HomePage {
        layout: Layout::new(&operator, Nav::Home).with_instance_bar(bar),
        applications,
        selected,
    };
    Ok(render(StatusCode::OK, &page, Vec::new()))
}
