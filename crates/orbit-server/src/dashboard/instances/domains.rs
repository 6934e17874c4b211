//! `/dashboard/instances/{id}/domains`: the **Primary** and **Satellites** tabs (links,
//! `?tab=primary|satellites`). Primary: the domain, its Frontend API host, its DNS record
//! (production) and status. Satellites: each with its status label (Verified / Pending /
//! Failed, the last check's reason and time), its **DNS Configuration** (the exact CNAME record
//! and a **Verify** button that checks it now, `Orbit::verify_domain` as `orbit domain verify`
//! does), the environment variables its app needs, and **Remove** behind a confirmation page;
//! **Add satellite domain** leads to a form (`Orbit::add_satellite`, as `orbit domain
//! add-satellite` and BAPI `POST /v1/domains`).

use super::{
    page_of, paginate, render_with_copy, Change, ConfirmPage, CsrfToken, InstanceContext,
    PageQuery, Pager, Section, COPY_SCRIPT,
};
use crate::app_env;
use crate::browser::page::{render, sentence};
use crate::dashboard::{CsrfForm, DashboardError, Layout, Operator};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use orbit_core::clock::format_utc;
use orbit_core::model::{Domain, InstanceKind};
use orbit_core::satellite::DnsStatus;
use orbit_core::{AuditAction, Error, Orbit};
use serde::Deserialize;
use serde_json::json;

/// A satellite's status as the page labels it, by its last DNS check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// The record points here (or, in development, none is needed).
    Verified,
    /// Never checked yet.
    Pending,
    /// The last check failed: not verified yet, failing since it was, or suspended.
    Failed,
}

impl Status {
    fn of(d: &Domain) -> Self {
        if d.suspended_at.is_some() {
            Status::Failed
        } else if d.verified && d.dns_failures == 0 {
            Status::Verified
        } else if d.checked_at.is_some() && d.verification_error.is_some() {
            Status::Failed
        } else if d.verified {
            Status::Verified
        } else {
            Status::Pending
        }
    }

    fn label(self) -> &'static str {
        match self {
            Status::Verified => "Verified",
            Status::Pending => "Pending",
            Status::Failed => "Failed",
        }
    }

    /// The tag's class (`dashboard/instance_bar.html`'s styles).
    fn class(self) -> &'static str {
        match self {
            Status::Verified => "ok",
            Status::Pending => "pending",
            Status::Failed => "failed",
        }
    }
}

/// What the status label means for `d`, in a sentence or two: the last check's reason and when
/// it ran.
fn status_detail(orbit: &Orbit, d: &Domain) -> String {
    let last = d
        .checked_at
        .map(|t| format!("Last check {}", format_utc(t)))
        .unwrap_or_default();
    match (Status::of(d), orbit.dns_status(d)) {
        (Status::Verified, _) if d.fapi_host.is_none() || !d.is_satellite => String::new(),
        (Status::Verified, _) => format!("{last}: the CNAME record points here."),
        (Status::Pending, _) => {
            "Not checked yet: create the DNS record below, then press Verify.".into()
        }
        (_, DnsStatus::Failing {
            reason,
            suspends_at,
            ..
        }) => format!(
            "{last}: {reason}. It still works until {}; fix the record before then, or it is suspended.",
            format_utc(suspends_at)
        ),
        (_, DnsStatus::Suspended { at, reason, .. }) => format!(
            "{last}: {reason}. Suspended since {}: nothing reaches it until the record is right and Verify passes.",
            format_utc(at)
        ),
        (_, status) => {
            let reason = d
                .verification_error
                .clone()
                .unwrap_or_else(|| status.to_string());
            format!("{last}: {reason}. Check the record below, then press Verify again.")
        }
    }
}

/// A CNAME record to create.
struct Record {
    host: String,
    value: String,
}

impl Record {
    /// `clerk.satellite.test CNAME orbit.test`.
    fn line(&self) -> String {
        format!("{} CNAME {}", self.host, self.value)
    }
}

/// One framework's `.env` for a satellite's app.
struct EnvBlock {
    framework: &'static str,
    /// The id of the element holding `text` (for its copy button), and what its button copies.
    element: String,
    what: String,
    text: String,
}

struct SatelliteRow {
    id: String,
    name: String,
    /// Its own (production) or the primary's (development).
    fapi_host: String,
    status: &'static str,
    status_class: &'static str,
    detail: String,
    /// Production only: the record to create, which Verify checks.
    record: Option<Record>,
    /// The id of the element holding the record's line.
    record_element: String,
    envs: Vec<EnvBlock>,
}

struct PrimaryView {
    name: String,
    fapi_host: String,
    fapi_url: String,
    record: Option<Record>,
    status: &'static str,
    status_class: &'static str,
}

#[derive(Template)]
#[template(path = "dashboard/instance_domains.html")]
struct DomainsPage {
    layout: Layout,
    /// `/dashboard/instances/{id}/domains`.
    base: String,
    satellites_tab: bool,
    notice: Option<String>,
    /// The notice reports a failure (a check that did not pass).
    notice_failed: bool,
    primary: PrimaryView,
    satellites: Vec<SatelliteRow>,
    satellite_count: usize,
    pager: Pager,
    /// The newest secret key, masked: what `CLERK_SECRET_KEY` should hold.
    secret_hint: String,
    copy_script: &'static str,
}

#[derive(Debug, Deserialize)]
pub(super) struct DomainsQuery {
    tab: Option<String>,
    notice: Option<String>,
    /// A satellite just checked (`verify`) or added (`add_satellite`): the notice speaks of it.
    checked: Option<String>,
    added: Option<String>,
    #[serde(flatten)]
    paging: PageQuery,
}

/// `GET /dashboard/instances/{id}/domains[?tab=primary|satellites]`.
pub(super) async fn page(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    Query(q): Query<DomainsQuery>,
) -> Result<Response, DashboardError> {
    let ctx = InstanceContext::load(&state, &operator, &id, Section::Domains).await?;
    let orbit = &state.orbit;
    let instance = &ctx.instance;
    let production = instance.kind == InstanceKind::Production;
    let domains = orbit.domains(instance).await?;
    let primary = &ctx.listed.primary;
    let record_of = |d: &Domain| {
        d.fapi_host
            .clone()
            .filter(|_| production)
            .map(|host| Record {
                host,
                value: state.cname_target.clone(),
            })
    };
    let primary_status = Status::of(primary);
    let primary_view = PrimaryView {
        name: primary.name.clone(),
        fapi_host: primary.fapi_host.clone().unwrap_or_default(),
        fapi_url: Orbit::fapi_url(instance, primary),
        record: record_of(primary),
        status: primary_status.label(),
        status_class: primary_status.class(),
    };
    let satellites: Vec<&Domain> = domains.iter().filter(|d| d.is_satellite).collect();
    let satellite_count = satellites.len();
    let (shown, pager) = paginate(satellites, q.paging.number(), |n| {
        format!(
            "{}?tab=satellites&page={n}",
            Section::Domains.href(ctx.id())
        )
    });
    let summary = app_env::instance_summary(orbit, &state.config, instance, "").await?;
    let rows = shown
        .into_iter()
        .map(|d| {
            let status = Status::of(d);
            SatelliteRow {
                envs: app_env::satellite_apps(&summary, &d.name)
                    .into_iter()
                    .map(|app| EnvBlock {
                        framework: app.framework,
                        element: format!("env-{}-{}", d.id, slug(app.framework)),
                        what: format!("the {} variables", app.framework),
                        text: app
                            .vars
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join("\n"),
                    })
                    .collect(),
                id: d.id.clone(),
                name: d.name.clone(),
                fapi_host: d
                    .fapi_host
                    .clone()
                    .or_else(|| primary.fapi_host.clone())
                    .unwrap_or_default(),
                status: status.label(),
                status_class: status.class(),
                detail: status_detail(orbit, d),
                record: record_of(d),
                record_element: format!("{}-record", d.id),
            }
        })
        .collect();
    let find = |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| domains.iter().find(|d| &d.id == id && d.is_satellite))
    };
    let (notice, notice_failed) = match (find(&q.checked), find(&q.added), q.notice.as_deref()) {
        (Some(d), _, _) if Status::of(d) == Status::Verified => {
            (Some(format!("{} is verified.", d.name)), false)
        }
        (Some(d), _, _) => (
            Some(format!(
                "{} is not verified: {}. DNS changes can take a while to appear; press Verify again once the record exists.",
                d.name,
                d.verification_error.clone().unwrap_or_default()
            )),
            true,
        ),
        (_, Some(d), _) if production => (
            Some(format!(
                "Added {}. Create its DNS record below, then press Verify.",
                d.name
            )),
            false,
        ),
        (_, Some(d), _) => (
            Some(format!(
                "Added {}. Development satellites need no DNS: it works now.",
                d.name
            )),
            false,
        ),
        (_, _, Some("removed")) => (Some("The satellite domain is removed.".into()), false),
        (_, _, Some("created")) => (Some(created_notice(orbit, &primary_view)), false),
        _ => (None, false),
    };
    let secret_hint = orbit
        .secret_keys(instance)
        .await?
        .into_iter()
        .max_by_key(|k| k.created_at)
        .map(|k| k.masked)
        .unwrap_or_default();
    let page = DomainsPage {
        base: Section::Domains.href(ctx.id()),
        satellites_tab: q.tab.as_deref() == Some("satellites")
            || q.checked.is_some()
            || q.added.is_some(),
        notice,
        notice_failed,
        primary: primary_view,
        satellites: rows,
        satellite_count,
        pager,
        secret_hint,
        copy_script: COPY_SCRIPT,
        layout: ctx.layout(),
    };
    Ok(render_with_copy(StatusCode::OK, &page))
}

/// What a page says after a production instance was created (`production::create`).
fn created_notice(orbit: &Orbit, primary: &PrimaryView) -> String {
    let mut notice = format!(
        "Production instance created. Create the DNS record below so that {} reaches this server; its keys are under API keys.",
        primary.fapi_host
    );
    if orbit.settings().mail.is_none() {
        notice.push_str(" Sign-ups verify email addresses (sign_up.email_verification is on): configure smtp_host and smtp_from, or turn it off with `orbit instance set --sign-up-email-verification off`.");
    }
    notice
}

/// `Next.js` → `nextjs`, for element ids.
fn slug(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Where the satellites tab shows `domain_id`, with `param=domain_id` for its notice.
async fn satellites_tab_at(
    state: &AppState,
    ctx: &InstanceContext,
    param: &str,
    domain_id: &str,
) -> Result<String, DashboardError> {
    let satellites: Vec<Domain> = state
        .orbit
        .domains(&ctx.instance)
        .await?
        .into_iter()
        .filter(|d| d.is_satellite)
        .collect();
    let page = satellites
        .iter()
        .position(|d| d.id == domain_id)
        .map_or(1, page_of);
    Ok(format!(
        "{}?tab=satellites&page={page}&{param}={domain_id}#{domain_id}",
        Section::Domains.href(ctx.id())
    ))
}

#[derive(Template)]
#[template(path = "dashboard/instance_satellite_new.html")]
struct NewSatellitePage {
    layout: Layout,
    instance_id: String,
    production: bool,
    name: String,
    error: Option<String>,
    cname_target: String,
}

fn new_satellite_page(
    state: &AppState,
    ctx: InstanceContext,
    name: String,
    error: Option<String>,
) -> NewSatellitePage {
    NewSatellitePage {
        instance_id: ctx.instance.id.clone(),
        production: ctx.instance.kind == InstanceKind::Production,
        name,
        error,
        cname_target: state.cname_target.clone(),
        layout: ctx.layout(),
    }
}

/// `GET /dashboard/instances/{id}/domains/satellites/new`: the **Add satellite domain** form.
pub(super) async fn new_satellite(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
) -> Result<Response, DashboardError> {
    let ctx = InstanceContext::load(&state, &operator, &id, Section::Domains).await?;
    let page = new_satellite_page(&state, ctx, String::new(), None);
    Ok(render(StatusCode::OK, &page, Vec::new()))
}

#[derive(Debug, Deserialize)]
pub(super) struct SatelliteForm {
    csrf_token: Option<String>,
    name: Option<String>,
}

impl CsrfToken for SatelliteForm {
    fn csrf_token(&self) -> Option<&str> {
        self.csrf_token.as_deref()
    }
}

/// `POST /dashboard/instances/{id}/domains/satellites`: registers the satellite, or shows the
/// form again with the name as typed and what is wrong with it.
pub(super) async fn add_satellite(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Change { operator, form }: Change<SatelliteForm>,
) -> Result<Response, DashboardError> {
    let ctx = InstanceContext::load(&state, &operator, &id, Section::Domains).await?;
    let name = form.name.unwrap_or_default();
    match state.orbit.add_satellite(&ctx.instance, &name).await {
        Ok(d) => {
            ctx.audit(
                AuditAction::SatelliteAdded,
                &d.id,
                json!({ "name": d.name }),
            )
            .await?;
            let to = satellites_tab_at(&state, &ctx, "added", &d.id).await?;
            Ok(Redirect::to(&to).into_response())
        }
        Err(Error::Invalid { reason, .. }) => {
            let page = new_satellite_page(&state, ctx, name, Some(sentence(&reason)));
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page, Vec::new()))
        }
        Err(e) => Err(e.into()),
    }
}

/// The satellite `domain` of the instance (404 for another instance's, or none; 422 for the
/// primary domain).
async fn satellite_of(
    state: &AppState,
    ctx: &InstanceContext,
    domain: &str,
) -> Result<Domain, DashboardError> {
    let d = state.orbit.find_domain(&ctx.instance, domain).await?;
    if !d.is_satellite {
        return Err(Error::Invalid {
            field: "domain",
            reason: "the primary domain cannot be verified or removed here".into(),
        }
        .into());
    }
    Ok(d)
}

/// `POST /dashboard/instances/{id}/domains/{domain}/verify`: checks the satellite's CNAME
/// record now, then shows the outcome on the satellites tab.
pub(super) async fn verify(
    State(state): State<AppState>,
    Path((id, domain)): Path<(String, String)>,
    Change { operator, .. }: Change<CsrfForm>,
) -> Result<Response, DashboardError> {
    let ctx = InstanceContext::load(&state, &operator, &id, Section::Domains).await?;
    let d = satellite_of(&state, &ctx, &domain).await?;
    let checked = state
        .orbit
        .verify_domain(&d, state.resolver.as_ref(), &state.cname_target)
        .await?;
    ctx.audit(
        AuditAction::SatelliteChecked,
        &checked.id,
        json!({
            "name": checked.name,
            "verified": checked.verified && checked.suspended_at.is_none(),
            "reason": checked.verification_error,
        }),
    )
    .await?;
    let to = satellites_tab_at(&state, &ctx, "checked", &checked.id).await?;
    Ok(Redirect::to(&to).into_response())
}

fn confirm_remove_page(ctx: InstanceContext, d: &Domain) -> ConfirmPage {
    let base = Section::Domains.href(ctx.id());
    ConfirmPage {
        heading: format!("Remove the satellite domain {}?", d.name),
        message: format!(
            "Its app can no longer sign in through Orbit: {} stops answering for it, and redirects to {} are refused. Adding it again later needs its DNS record checked again.",
            d.fapi_host.as_deref().unwrap_or("its Frontend API host"),
            d.name
        ),
        action: format!("{base}/{}/remove", d.id),
        button: "Remove this satellite",
        cancel: format!("{base}?tab=satellites"),
        error: None,
        layout: ctx.layout(),
    }
}

/// `GET /dashboard/instances/{id}/domains/{domain}/remove`: the confirmation.
pub(super) async fn confirm_remove(
    State(state): State<AppState>,
    operator: Operator,
    Path((id, domain)): Path<(String, String)>,
) -> Result<Response, DashboardError> {
    let ctx = InstanceContext::load(&state, &operator, &id, Section::Domains).await?;
    let d = satellite_of(&state, &ctx, &domain).await?;
    let page = confirm_remove_page(ctx, &d);
    Ok(render(StatusCode::OK, &page, Vec::new()))
}

/// `POST /dashboard/instances/{id}/domains/{domain}/remove`.
pub(super) async fn remove(
    State(state): State<AppState>,
    Path((id, domain)): Path<(String, String)>,
    Change { operator, .. }: Change<CsrfForm>,
) -> Result<Response, DashboardError> {
    let ctx = InstanceContext::load(&state, &operator, &id, Section::Domains).await?;
    let d = satellite_of(&state, &ctx, &domain).await?;
    let removed = state.orbit.remove_domain(&ctx.instance, &d.id).await?;
    ctx.audit(
        AuditAction::SatelliteRemoved,
        &removed.id,
        json!({ "name": removed.name }),
    )
    .await?;
    let to = format!(
        "{}?tab=satellites&notice=removed",
        Section::Domains.href(ctx.id())
    );
    Ok(Redirect::to(&to).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn satellite() -> Domain {
        Domain {
            id: "dmn_1".into(),
            instance_id: "ins_1".into(),
            name: "satellite.test".into(),
            is_satellite: true,
            fapi_host: Some("clerk.satellite.test".into()),
            verified: false,
            verification_error: Some("not checked yet".into()),
            checked_at: None,
            dns_failures: 0,
            dns_failing_since: None,
            suspended_at: None,
            created_at: 0,
        }
    }

    #[test]
    fn status_labels_follow_the_last_check() {
        let new = satellite();
        assert_eq!(Status::of(&new), Status::Pending, "never checked");
        let failed = Domain {
            checked_at: Some(5),
            verification_error: Some("NXDOMAIN".into()),
            ..new.clone()
        };
        assert_eq!(Status::of(&failed), Status::Failed);
        let verified = Domain {
            verified: true,
            verification_error: None,
            checked_at: Some(6),
            ..new.clone()
        };
        assert_eq!(Status::of(&verified), Status::Verified);
        let failing = Domain {
            dns_failures: 2,
            dns_failing_since: Some(7),
            verification_error: Some("gone".into()),
            ..verified.clone()
        };
        assert_eq!(Status::of(&failing), Status::Failed, "re-checks failing");
        let suspended = Domain {
            verified: false,
            suspended_at: Some(9),
            ..failing
        };
        assert_eq!(Status::of(&suspended), Status::Failed);
        let development = Domain {
            fapi_host: None,
            verified: true,
            verification_error: None,
            ..new
        };
        assert_eq!(Status::of(&development), Status::Verified);
    }

    #[test]
    fn element_ids_of_frameworks() {
        assert_eq!(slug("Next.js"), "nextjs");
        assert_eq!(slug("Rust SDK"), "rustsdk");
    }
}
