//! `/dashboard/audit`: the audit log, newest first, a page at a time, all of it or what
//! concerns one instance (`?instance=`): when, who (the operator's address at the time, or the
//! command line), what, to what, and the rest of what was recorded.

use super::pagination::{list_href, PageNumber, Pager};
use super::{DashboardError, Layout, Nav, Operator};
use crate::browser::page::render;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use orbit_core::clock::format_utc;
use orbit_core::model::{AuditEntry, InstanceKind};
use serde::Deserialize;
use std::collections::HashMap;

/// An instance in the filter, and in the entries that concern it.
struct InstanceOption {
    id: String,
    label: String,
    selected: bool,
}

struct EntryRow {
    when: String,
    who: String,
    what: String,
    target: String,
    instance: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "dashboard/audit_log.html")]
struct AuditPage {
    layout: Layout,
    instances: Vec<InstanceOption>,
    filtered: bool,
    entries: Vec<EntryRow>,
    pager: Pager,
}

#[derive(Debug, Deserialize)]
pub(super) struct AuditQuery {
    instance: Option<String>,
    page: Option<String>,
}

/// `GET /dashboard/audit?instance=&page=`. An unknown instance is a 404.
pub(super) async fn page(
    State(state): State<AppState>,
    operator: Operator,
    Query(q): Query<AuditQuery>,
) -> Result<Response, DashboardError> {
    let orbit = &state.orbit;
    let instance = q.instance.filter(|i| !i.is_empty());
    if let Some(id) = &instance {
        orbit.instance(id).await?;
    }
    let labels = instance_labels(&state).await?;
    let page = PageNumber::parse(q.page.as_deref());
    let entries = orbit
        .audit_log_of(instance.as_deref(), page.offset(), page.limit())
        .await?;
    let (entries, pager) = page.cut(entries, |n| {
        list_href("/dashboard/audit", &[("instance", instance.as_deref())], n)
    });
    let names: HashMap<&str, &str> = labels
        .iter()
        .map(|(id, l)| (id.as_str(), l.as_str()))
        .collect();
    let page = AuditPage {
        layout: Layout::new(&operator, Nav::Audit),
        instances: labels
            .iter()
            .map(|(id, label)| InstanceOption {
                selected: instance.as_deref() == Some(id.as_str()),
                id: id.clone(),
                label: label.clone(),
            })
            .collect(),
        filtered: instance.is_some(),
        entries: entries.iter().map(|e| row(e, &names)).collect(),
        pager,
    };
    Ok(render(StatusCode::OK, &page, Vec::new()))
}

/// Every instance, in the order of their applications, with a label naming both.
async fn instance_labels(state: &AppState) -> Result<Vec<(String, String)>, DashboardError> {
    let orbit = &state.orbit;
    let instances = orbit.instances().await?;
    let mut labels = Vec::new();
    for app in orbit.applications().await? {
        for i in instances.iter().filter(|i| i.application_id == app.id) {
            let kind = match i.kind {
                InstanceKind::Production => "Production",
                InstanceKind::Development => "Development",
            };
            let primary = orbit.primary_domain(&i.id).await?.name;
            labels.push((i.id.clone(), format!("{}: {kind} ({primary})", app.name)));
        }
    }
    Ok(labels)
}

/// An entry as the page shows it; `names` labels the instances by id.
fn row(e: &AuditEntry, names: &HashMap<&str, &str>) -> EntryRow {
    EntryRow {
        when: format_utc(e.at),
        who: e
            .operator_email
            .clone()
            .unwrap_or_else(|| "The orbit command line".into()),
        what: e.action.clone(),
        target: e.target.clone(),
        instance: e.instance_id.as_deref().map_or_else(String::new, |id| {
            names
                .get(id)
                .map_or_else(|| id.to_owned(), |l| (*l).to_owned())
        }),
        detail: detail_text(&e.detail),
    }
}

/// A JSON object of details as `key: value` pairs (strings unquoted); anything else as stored.
fn detail_text(detail: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(detail) {
        Ok(serde_json::Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => detail.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::detail_text;

    #[test]
    fn details_read_as_pairs() {
        assert_eq!(detail_text("{}"), "");
        assert_eq!(
            detail_text(r#"{"email":"a@b.test","password":true}"#),
            "email: a@b.test, password: true"
        );
        assert_eq!(detail_text(r#"{"device":null}"#), "device: null");
        assert_eq!(detail_text("not json"), "not json");
    }
}
