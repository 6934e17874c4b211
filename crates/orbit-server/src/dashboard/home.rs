//! `GET /dashboard`: the deployment's applications and their instances (development,
//! production), with the instance switcher whose choice (`?instance=`) the instance pages
//! (keys, domains, users) will read.

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
    selected: bool,
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
    let orbit = &state.orbit;
    let instances = orbit.instances().await?;
    // The instance asked for, else the first: an unknown id is no error, only no choice.
    let chosen = q
        .instance
        .filter(|id| instances.iter().any(|i| &i.id == id))
        .or_else(|| instances.first().map(|i| i.id.clone()));
    let mut applications = Vec::new();
    let mut selected = None;
    for app in orbit.applications().await? {
        let mut rows = Vec::new();
        for instance in instances.iter().filter(|i| i.application_id == app.id) {
            let primary = orbit.primary_domain(&instance.id).await?;
            let production = instance.kind == InstanceKind::Production;
            let row = InstanceRow {
                id: instance.id.clone(),
                kind_label: if production {
                    "Production"
                } else {
                    "Development"
                },
                production,
                fapi_url: Orbit::fapi_url(instance, &primary),
                primary_domain: primary.name,
                selected: chosen.as_deref() == Some(instance.id.as_str()),
            };
            if row.selected {
                selected = Some(row.clone());
            }
            rows.push(row);
        }
        applications.push(ApplicationRow {
            id: app.id,
            name: app.name,
            instances: rows,
        });
    }
    let page = HomePage {
        layout: Layout::new(&operator, Nav::Home),
        applications,
        selected,
    };
    Ok(render(StatusCode::OK, &page, Vec::new()))
}
