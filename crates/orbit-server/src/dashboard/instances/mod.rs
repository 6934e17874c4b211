//! The pages of one instance, under `/dashboard/instances/{id}/...` (docs/design/dashboard.md
//! "The instance pages"): API keys (`keys.rs`), domains and satellites (`domains.rs`), allowed
//! redirect origins (`origins.rs`), and a production instance for the instance's application
//! (`production.rs`). What they share lives here: the instance of the path (an unknown id is
//! 404), the instance switcher and tabs the layout shows ([`InstanceBar`]), pagination
//! ([`Pager`]) and the copy buttons' script ([`render_with_copy`]).
//!
//! Each change is a `POST` with the session's CSRF token (`csrf::require`), calls the core
//! operation the CLI and the Backend API use, then records an audit entry naming the instance.

mod domains;
mod keys;
mod origins;
mod production;

use super::{csrf, CsrfForm, DashboardError, Layout, Nav, Operator};
use crate::browser::page::render;
use crate::extract::FormBody;
use crate::AppState;
use askama::Template;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use orbit_core::model::{Application, Domain, Instance, InstanceKind};
use orbit_core::{AuditAction, Orbit};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The instance pages' routes (merged into `dashboard::routes`, behind its host rule).
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard/instances/switch", get(switch))
        .route("/dashboard/instances/{id}", get(first_section))
        .route(
            "/dashboard/instances/{id}/keys",
            get(keys::page).post(keys::create),
        )
        .route(
            "/dashboard/instances/{id}/keys/{key}/revoke",
            get(keys::confirm_revoke).post(keys::revoke),
        )
        .route("/dashboard/instances/{id}/domains", get(domains::page))
        .route(
            "/dashboard/instances/{id}/domains/satellites/new",
            get(domains::new_satellite),
        )
        .route(
            "/dashboard/instances/{id}/domains/satellites",
            post(domains::add_satellite),
        )
        .route(
            "/dashboard/instances/{id}/domains/{domain}/verify",
            post(domains::verify),
        )
        .route(
            "/dashboard/instances/{id}/domains/{domain}/remove",
            get(domains::confirm_remove).post(domains::remove),
        )
        .route(
            "/dashboard/instances/{id}/redirect-origins",
            get(origins::page).post(origins::add),
        )
        .route(
            "/dashboard/instances/{id}/redirect-origins/remove",
            post(origins::remove),
        )
        .route(
            "/dashboard/instances/{id}/production",
            get(production::form).post(production::create),
        )
}

/// An instance's pages, in the order of their tabs, and the production form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Section {
    Keys,
    Domains,
    RedirectOrigins,
    Production,
}

impl Section {
    const TABS: [Section; 3] = [Section::Keys, Section::Domains, Section::RedirectOrigins];

    /// The last segment of its path, `/dashboard/instances/{id}/<slug>`.
    fn slug(self) -> &'static str {
        match self {
            Section::Keys => "keys",
            Section::Domains => "domains",
            Section::RedirectOrigins => "redirect-origins",
            Section::Production => "production",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Section::Keys => "API keys",
            Section::Domains => "Domains",
            Section::RedirectOrigins => "Redirect origins",
            Section::Production => "Add a production instance",
        }
    }

    pub fn href(self, instance_id: &str) -> String {
        format!("/dashboard/instances/{instance_id}/{}", self.slug())
    }
}

/// An instance with its application and primary domain, as the switcher and the home page
/// list it.
#[derive(Debug, Clone)]
pub(super) struct Listed {
    pub instance: Instance,
    pub application: String,
    pub primary: Domain,
}

impl Listed {
    pub fn kind_label(&self) -> &'static str {
        kind_label(self.instance.kind)
    }

    /// `Shop: Production (primary.test)`.
    pub fn label(&self) -> String {
        format!(
            "{}: {} ({})",
            self.application,
            self.kind_label(),
            self.primary.name
        )
    }
}

pub(super) fn kind_label(kind: InstanceKind) -> &'static str {
    match kind {
        InstanceKind::Development => "Development",
        InstanceKind::Production => "Production",
    }
}

/// Every application with its instances, in the store's order.
pub(super) async fn catalogue(
    orbit: &Orbit,
) -> Result<Vec<(Application, Vec<Listed>)>, DashboardError> {
    let instances = orbit.instances().await?;
    let mut out = Vec::new();
    for app in orbit.applications().await? {
        let mut listed = Vec::new();
        for instance in instances.iter().filter(|i| i.application_id == app.id) {
            listed.push(Listed {
                primary: orbit.primary_domain(&instance.id).await?,
                application: app.name.clone(),
                instance: instance.clone(),
            });
        }
        out.push((app, listed));
    }
    Ok(out)
}

/// One entry of the instance switcher.
#[derive(Debug, Clone)]
pub struct SwitchOption {
    pub id: String,
    pub label: String,
    pub selected: bool,
}

/// One of an instance's tabs.
#[derive(Debug, Clone)]
pub struct Tab {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

/// What `dashboard/instance_bar.html` shows under the header: the instance switcher (a `GET`
/// form, so it works without JavaScript) and, on an instance's pages, their tabs.
#[derive(Debug, Clone)]
pub struct InstanceBar {
    pub options: Vec<SwitchOption>,
    /// The section the switcher leads to in the chosen instance (empty: the home page).
    pub section: &'static str,
    pub tabs: Vec<Tab>,
    /// The page's title before the layout's (empty on the home page).
    pub title: String,
}

impl InstanceBar {
    /// The switcher with `selected` chosen, for the home page.
    pub(super) fn for_home(
        catalogue: &[(Application, Vec<Listed>)],
        selected: Option<&str>,
    ) -> Self {
        InstanceBar {
            options: options(catalogue, selected),
            section: "",
            tabs: Vec::new(),
            title: String::new(),
        }
    }
}

fn options(catalogue: &[(Application, Vec<Listed>)], selected: Option<&str>) -> Vec<SwitchOption> {
    catalogue
        .iter()
        .flat_map(|(_, listed)| listed)
        .map(|l| SwitchOption {
            id: l.instance.id.clone(),
            label: l.label(),
            selected: selected == Some(l.instance.id.as_str()),
        })
        .collect()
}

/// An instance page's request: the instance its path names, the signed-in operator, and the
/// layout's bar.
pub(super) struct InstanceContext {
    pub instance: Instance,
    pub listed: Listed,
    pub bar: InstanceBar,
    state: AppState,
    operator: Operator,
}

impl InstanceContext {
    /// The instance `id` (404 when there is none) and the bar of its `section`.
    pub async fn load(
        state: &AppState,
        operator: &Operator,
        id: &str,
        section: Section,
    ) -> Result<Self, DashboardError> {
        let instance = state.orbit.instance(id).await?;
        let catalogue = catalogue(&state.orbit).await?;
        let listed = catalogue
            .iter()
            .flat_map(|(_, l)| l)
            .find(|l| l.instance.id == instance.id)
            .cloned()
            .ok_or_else(|| orbit_core::Error::NotFound {
                resource: "instance",
                id: id.to_owned(),
            })?;
        let tabs = Section::TABS
            .iter()
            .map(|s| Tab {
                href: s.href(&instance.id),
                label: s.label(),
                current: *s == section,
            })
            .collect();
        let bar = InstanceBar {
            options: options(&catalogue, Some(&instance.id)),
            section: section.slug(),
            tabs,
            title: format!("{} · {}", section.label(), listed.label()),
        };
        Ok(Self {
            instance,
            listed,
            bar,
            state: state.clone(),
            operator: operator.clone(),
        })
    }

    pub fn id(&self) -> &str {
        &self.instance.id
    }

    /// The layout of the page: the operator's, with this instance's bar.
    pub fn layout(&self) -> Layout {
        Layout::new(&self.operator, Nav::Home).with_instance_bar(self.bar.clone())
    }

    /// Records what the operator did to this instance.
    pub async fn audit(
        &self,
        action: AuditAction,
        target: &str,
        detail: serde_json::Value,
    ) -> Result<(), DashboardError> {
        self.audit_on(self.id(), action, target, detail).await
    }

    /// Records what the operator did to the instance `instance_id` (one this page created).
    pub async fn audit_on(
        &self,
        instance_id: &str,
        action: AuditAction,
        target: &str,
        detail: serde_json::Value,
    ) -> Result<(), DashboardError> {
        let actor = self.operator.me.actor();
        Ok(self
            .state
            .orbit
            .record_audit(&actor, action, target, Some(instance_id), detail)
            .await?)
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct SwitchQuery {
    instance: Option<String>,
    section: Option<String>,
}

/// `GET /dashboard/instances/switch?instance=..&section=..`: the switcher's form; the same
/// section of the chosen instance (the home page when none is named).
async fn switch(
    State(state): State<AppState>,
    _operator: Operator,
    Query(q): Query<SwitchQuery>,
) -> Result<Response, DashboardError> {
    let instance = state
        .orbit
        .instance(q.instance.as_deref().unwrap_or_default())
        .await?;
    // A section is a path segment of ours: lower-case letters and dashes only.
    let section = q
        .section
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
    let to = match section {
        Some(s) => format!("/dashboard/instances/{}/{s}", instance.id),
        None => format!("/dashboard?instance={}", instance.id),
    };
    Ok(Redirect::to(&to).into_response())
}

/// `GET /dashboard/instances/{id}`: its first tab.
async fn first_section(
    State(state): State<AppState>,
    _operator: Operator,
    Path(id): Path<String>,
) -> Result<Response, DashboardError> {
    let instance = state.orbit.instance(&id).await?;
    Ok(Redirect::to(&Section::Keys.href(&instance.id)).into_response())
}

/// A posted form's CSRF token.
pub(super) trait CsrfToken {
    fn csrf_token(&self) -> Option<&str>;
}

impl CsrfToken for CsrfForm {
    fn csrf_token(&self) -> Option<&str> {
        self.csrf_token.as_deref()
    }
}

/// A change posted to an instance page: the signed-in operator (a browser without a session is
/// sent to sign in) and the form `F`, whose CSRF token and origin are checked
/// (`csrf::require`) before the handler runs, so no handler can skip the check.
pub(super) struct Change<F> {
    pub operator: Operator,
    pub form: F,
}

impl<F, S> FromRequest<S> for Change<F>
where
    F: DeserializeOwned + CsrfToken + Send,
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = Response;
    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let operator = Operator::from_request_parts(&mut parts, state).await?;
        let headers = parts.headers.clone();
        let FormBody(form) = FormBody::<F>::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        csrf::require(&headers, &operator, form.csrf_token())
            .map_err(IntoResponse::into_response)?;
        Ok(Change { operator, form })
    }
}

/// A page asking to confirm a change that cannot be undone (`dashboard/instance_confirm.html`):
/// its form posts to `action`; `cancel` leads back.
#[derive(Template)]
#[template(path = "dashboard/instance_confirm.html")]
pub(super) struct ConfirmPage {
    pub layout: Layout,
    pub heading: String,
    pub message: String,
    pub action: String,
    pub button: &'static str,
    pub cancel: String,
    /// Why the change was refused, when it was.
    pub error: Option<String>,
}

// ---- pagination ------------------------------------------------------------------------------

/// Entries on one page of a list.
pub const PAGE_SIZE: usize = 50;

/// `?page=N` (from 1); anything else is the first page.
#[derive(Debug, Deserialize)]
pub(super) struct PageQuery {
    page: Option<String>,
}

impl PageQuery {
    fn number(&self) -> usize {
        self.page
            .as_deref()
            .and_then(|p| p.parse::<usize>().ok())
            .filter(|p| *p >= 1)
            .unwrap_or(1)
    }
}

/// Where a paginated list stands (`dashboard/instance_pager.html`).
#[derive(Debug, Clone)]
pub struct Pager {
    pub page: usize,
    pub pages: usize,
    pub total: usize,
    pub prev: Option<String>,
    pub next: Option<String>,
}

/// The page `page` (from 1; past the end: the last) of `items`, and the pager whose links
/// `href(n)` builds.
pub(super) fn paginate<T>(
    items: Vec<T>,
    page: usize,
    href: impl Fn(usize) -> String,
) -> (Vec<T>, Pager) {
    let total = items.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page = page.clamp(1, pages);
    let shown = items
        .into_iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect();
    let pager = Pager {
        page,
        pages,
        total,
        prev: (page > 1).then(|| href(page - 1)),
        next: (page < pages).then(|| href(page + 1)),
    };
    (shown, pager)
}

/// The page (from 1) on which the entry at `index` of a list is shown.
pub(super) fn page_of(index: usize) -> usize {
    index / PAGE_SIZE + 1
}

// ---- copy buttons ----------------------------------------------------------------------------

/// The copy buttons' script (progressive enhancement): each `button[data-copy]` starts
/// `hidden`, shows itself, and copies the text of the element its `data-copy` names. Without
/// JavaScript the values are plain selectable text.
pub const COPY_SCRIPT: &str = r#"for (const b of document.querySelectorAll("button[data-copy]")) {
  b.hidden = false;
  b.addEventListener("click", () => {
    const text = document.getElementById(b.dataset.copy).textContent.trim();
    navigator.clipboard.writeText(text).then(
      () => { b.textContent = "Copied"; setTimeout(() => { b.textContent = "Copy"; }, 2000); },
      () => { b.textContent = "Select the text to copy it"; });
  });
}"#;

/// Renders `page` (which includes `dashboard/instance_copy.html`), allowing that one script in
/// its Content-Security-Policy by its hash.
pub(super) fn render_with_copy<T: Template>(status: StatusCode, page: &T) -> Response {
    let mut resp = render(status, page, Vec::new());
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(COPY_SCRIPT));
    let headers = resp.headers_mut();
    if let Some(csp) = headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
    {
        let with_script = format!("{csp}; script-src 'sha256-{hash}'");
        if let Ok(v) = HeaderValue::from_str(&with_script) {
            headers.insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_of_fifty() {
        let href = |n| format!("?page={n}");
        let (shown, pager) = paginate((0..120).collect::<Vec<_>>(), 2, href);
        assert_eq!(shown, (50..100).collect::<Vec<_>>());
        assert_eq!((pager.page, pager.pages, pager.total), (2, 3, 120));
        assert_eq!(pager.prev.as_deref(), Some("?page=1"));
        assert_eq!(pager.next.as_deref(), Some("?page=3"));
        let (shown, pager) = paginate((0..120).collect::<Vec<_>>(), 9, href);
        assert_eq!(
            shown,
            (100..120).collect::<Vec<_>>(),
            "past the end: the last page"
        );
        assert_eq!(pager.next, None);
        let (shown, pager) = paginate(Vec::<u8>::new(), 1, href);
        assert!(shown.is_empty());
        assert_eq!((pager.page, pager.pages, pager.prev), (1, 1, None));
        assert_eq!((page_of(0), page_of(49), page_of(50)), (1, 1, 2));
        let q = |p: &str| PageQuery {
            page: Some(p.into()),
        };
        assert_eq!(
            (q("3").number(), q("0").number(), q("x").number()),
            (3, 1, 1)
        );
    }

    #[test]
    fn the_copy_script_cannot_end_its_element() {
        assert!(!COPY_SCRIPT.contains("</"));
    }
}
