//! `/dashboard/instances/{id}/keys`: the publishable key; the secret keys, a new one shown once
//! in full and every key masked after that (`sk_live_…abcd`), created and revoked here (a
//! revocation after a confirmation page); the instance's JWKS, Frontend and Backend API URLs.
//! Each value is selectable text with a copy button.

use super::{
    paginate, render_with_copy, Change, ConfirmPage, InstanceContext, PageQuery, Pager, Section,
    COPY_SCRIPT,
};
use crate::browser::page::{render, sentence};
use crate::dashboard::{CsrfForm, DashboardError, Layout, Operator};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use orbit_core::clock::format_utc;
use orbit_core::{AuditAction, Error, SecretKeyInfo};
use serde::Deserialize;
use serde_json::json;

struct SecretKeyRow {
    id: String,
    masked: String,
    created: String,
    /// The newest key: the one `orbit instance show` prints.
    newest: bool,
}

#[derive(Template)]
#[template(path = "dashboard/instance_keys.html")]
struct KeysPage {
    layout: Layout,
    instance_id: String,
    publishable_key: String,
    frontend_api_url: String,
    backend_api_url: String,
    jwks_url: String,
    keys: Vec<SecretKeyRow>,
    pager: Pager,
    /// A key created by this request, in full: shown this once.
    created: Option<String>,
    notice: Option<&'static str>,
    copy_script: &'static str,
}

#[derive(Debug, Deserialize)]
pub(super) struct KeysQuery {
    notice: Option<String>,
    #[serde(flatten)]
    paging: PageQuery,
}

/// `GET /dashboard/instances/{id}/keys`.
pub(super) async fn page(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    Query(q): Query<KeysQuery>,
) -> Result<Response, DashboardError> {
    let ctx = InstanceContext::load(&state, &operator, &id, Section::Keys).await?;
    let notice = match q.notice.as_deref() {
        Some("revoked") => Some("The secret key is revoked: requests that use it are refused."),
        _ => None,
    };
    let page = keys_page(&state, ctx, q.paging.number(), None, notice).await?;
    Ok(render_with_copy(StatusCode::OK, &page))
}

async fn keys_page(
    state: &AppState,
    ctx: InstanceContext,
    page: usize,
    created: Option<String>,
    notice: Option<&'static str>,
) -> Result<KeysPage, DashboardError> {
    let orbit = &state.orbit;
    let summary = crate::app_env::instance_summary(orbit, &state.config, &ctx.instance, "").await?;
    let url = |k: &str| summary[k].as_str().unwrap_or_default().to_owned();
    let keys = orbit.secret_keys(&ctx.instance).await?;
    let newest = keys
        .iter()
        .max_by_key(|k| k.created_at)
        .map(|k| k.id.clone());
    let rows: Vec<SecretKeyRow> = keys
        .into_iter()
        .rev()
        .map(|k: SecretKeyInfo| SecretKeyRow {
            newest: newest.as_deref() == Some(k.id.as_str()),
            created: format_utc(k.created_at),
            masked: k.masked,
            id: k.id,
        })
        .collect();
    let base = Section::Keys.href(ctx.id());
    let (keys, pager) = paginate(rows, page, |n| format!("{base}?page={n}"));
    Ok(KeysPage {
        instance_id: ctx.instance.id.clone(),
        publishable_key: url("publishable_key"),
        frontend_api_url: url("frontend_api_url"),
        backend_api_url: url("backend_api_url"),
        jwks_url: url("jwks_url"),
        keys,
        pager,
        created,
        notice,
        copy_script: COPY_SCRIPT,
        layout: ctx.layout(),
    })
}

/// `POST /dashboard/instances/{id}/keys`: a new secret key, shown this once in full. The
/// others keep working.
pub(super) async fn create(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Change { operator, .. }: Change<CsrfForm>,
) -> Result<Response, DashboardError> {
    let ctx = InstanceContext::load(&state, &operator, &id, Section::Keys).await?;
    let (info, secret) = state.orbit.create_secret_key(&ctx.instance).await?;
    ctx.audit(
        AuditAction::SecretKeyCreated,
        &info.id,
        json!({ "key": info.masked }),
    )
    .await?;
    let page = keys_page(&state, ctx, 1, Some(secret), None).await?;
    Ok(render_with_copy(StatusCode::OK, &page))
}

/// The secret key `key` of the instance (404 for another instance's, or none).
async fn key_of(
    state: &AppState,
    ctx: &InstanceContext,
    key: &str,
) -> Result<SecretKeyInfo, DashboardError> {
    let found = state
        .orbit
        .secret_keys(&ctx.instance)
        .await?
        .into_iter()
        .find(|k| k.id == key);
    Ok(found.ok_or_else(|| Error::NotFound {
        resource: "secret key",
        id: key.to_owned(),
    })?)
}

fn confirm_page(
    state: &AppState,
    ctx: InstanceContext,
    key: &SecretKeyInfo,
    error: Option<String>,
) -> ConfirmPage {
    let cancel = Section::Keys.href(ctx.id());
    ConfirmPage {
        heading: format!("Revoke the secret key {}?", key.masked),
        message: format!(
            "Apps and servers that use {} are refused from now on: at once by this server, within {} seconds by the other servers of this deployment. This cannot be undone.",
            key.masked,
            state.orbit.settings().key_cache_ttl / 1000
        ),
        action: format!("{cancel}/{}/revoke", key.id),
        button: "Revoke this key",
        cancel,
        error,
        layout: ctx.layout(),
    }
}

/// `GET /dashboard/instances/{id}/keys/{key}/revoke`: the confirmation.
pub(super) async fn confirm_revoke(
    State(state): State<AppState>,
    operator: Operator,
    Path((id, key)): Path<(String, String)>,
) -> Result<Response, DashboardError> {
    let ctx = InstanceContext::load(&state, &operator, &id, Section::Keys).await?;
    let info = key_of(&state, &ctx, &key).await?;
    Ok(render(
        StatusCode::OK,
        &confirm_page(&state, ctx, &info, None),
        Vec::new(),
    ))
}

/// `POST /dashboard/instances/{id}/keys/{key}/revoke`. The instance's last key is not revoked:
/// the confirmation again, saying what to do.
pub(super) async fn revoke(
    State(state): State<AppState>,
    Path((id, key)): Path<(String, String)>,
    Change { operator, .. }: Change<CsrfForm>,
) -> Result<Response, DashboardError> {
    let ctx = InstanceContext::load(&state, &operator, &id, Section::Keys).await?;
    let info = key_of(&state, &ctx, &key).await?;
    match state.orbit.revoke_secret_key(&ctx.instance, &key).await {
        Ok(revoked) => {
            ctx.audit(
                AuditAction::SecretKeyRevoked,
                &revoked.id,
                json!({ "key": revoked.masked }),
            )
            .await?;
            let to = format!("{}?notice=revoked", Section::Keys.href(ctx.id()));
            Ok(Redirect::to(&to).into_response())
        }
        Err(Error::Invalid { reason, .. }) => Ok(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &confirm_page(&state, ctx, &info, Some(sentence(&reason))),
            Vec::new(),
        )),
        Err(e) => Err(e.into()),
    }
}
