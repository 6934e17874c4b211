//! BAPI: domains, the instance's redirect settings, and handshake payloads.

use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use orbit_core::model::{Domain, Instance};
use orbit_core::Orbit;
use orbit_proto::resources::DeletedObject;
use serde::Deserialize;
use serde_json::{json, Value};

/// A domain in BAPI's shape (`Domain` in bapi/2026-05-12.yml), plus Orbit's verification state.
pub fn domain_json(state: &AppState, instance: &Instance, primary: &Domain, d: &Domain) -> Value {
    let fapi = match &d.fapi_host {
        Some(_) => Orbit::fapi_url(instance, d),
        None => Orbit::fapi_url(instance, primary),
    };
    let cname_targets = Orbit::cname_target(d, &state.cname_target)
        .filter(|_| instance.kind == orbit_core::model::InstanceKind::Production)
        .map(|t| json!([{ "host": t.host, "value": t.value, "required": true }]));
    json!({
        "object": "domain",
        "id": d.id,
        "name": d.name,
        "is_satellite": d.is_satellite,
        "frontend_api_url": fapi,
        "accounts_portal_url": if d.is_satellite { Value::Null } else { json!(format!("{fapi}/sign-in")) },
        "proxy_url": Value::Null,
        "development_origin": "",
        "cname_targets": cname_targets,
        "verified": d.verified,
        "verification_error": d.verification_error,
    })
}

pub async fn list_domains(
    State(state): State<AppState>,
    Extension(instance): Extension<Instance>,
) -> Result<Json<Value>, ApiError> {
    let domains = state.orbit.domains(&instance).await?;
    let primary = state.orbit.primary_domain(&instance.id).await?;
    let data: Vec<Value> = domains
        .iter()
        .map(|d| domain_json(&state, &instance, &primary, d))
        .collect();
    Ok(Json(json!({ "data": data, "total_count": data.len() })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateDomainBody {
    name: Option<String>,
    is_satellite: Option<bool>,
    proxy_url: Option<String>,
}

pub async fn create_domain(
    State(state): State<AppState>,
    Extension(instance): Extension<Instance>,
    JsonBody(body): JsonBody<CreateDomainBody>,
) -> Result<Json<Value>, ApiError> {
    let Some(name) = body.name.filter(|n| !n.trim().is_empty()) else {
        return Err(ApiError::bad_request(
            "form_param_missing",
            "name",
            "name is required: the satellite's domain, e.g. satellite.example.com.",
        ));
    };
    if body.is_satellite != Some(true) {
        return Err(ApiError::bad_request(
            "form_param_value_invalid",
            "is_satellite",
            "Only satellite domains can be added (is_satellite: true); an instance has exactly one primary domain.",
        ));
    }
    if body.proxy_url.is_some() {
        return Err(ApiError::bad_request(
            "form_param_value_invalid",
            "proxy_url",
            "proxy_url is not supported by Orbit yet.",
        ));
    }
    let domain = state.orbit.add_satellite(&instance, &name).await?;
    let primary = state.orbit.primary_domain(&instance.id).await?;
    Ok(Json(domain_json(&state, &instance, &primary, &domain)))
}

pub async fn delete_domain(
    State(state): State<AppState>,
    Extension(instance): Extension<Instance>,
    Path(id): Path<String>,
) -> Result<Json<DeletedObject>, ApiError> {
    let domain = state.orbit.find_domain(&instance, &id).await?;
    if !domain.is_satellite {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "primary_domain_delete",
            "Cannot delete the primary domain",
            "The primary domain cannot be deleted.",
        ));
    }
    state.orbit.remove_domain(&instance, &domain.id).await?;
    Ok(Json(DeletedObject {
        object: "domain".into(),
        id: domain.id,
        deleted: true,
    }))
}

pub fn instance_json(instance: &Instance) -> Value {
    json!({
        "object": "instance",
        "id": instance.id,
        "environment_type": instance.kind.as_str(),
        "allowed_origins": instance.settings.allowed_redirect_origins,
        "allowed_redirect_origins": instance.settings.allowed_redirect_origins,
    })
}

pub async fn get_instance(Extension(instance): Extension<Instance>) -> Json<Value> {
    Json(instance_json(&instance))
}

#[derive(Debug, Deserialize)]
pub struct PatchInstanceBody {
    allowed_redirect_origins: Option<Vec<String>>,
    /// Clerk's name for the same list.
    allowed_origins: Option<Vec<String>>,
}

/// `PATCH /v1/instance`: 204 like Clerk's, with `allowed_redirect_origins` (or `allowed_origins`).
pub async fn patch_instance(
    State(state): State<AppState>,
    Extension(instance): Extension<Instance>,
    JsonBody(body): JsonBody<PatchInstanceBody>,
) -> Result<Response, ApiError> {
    let origins = body.allowed_redirect_origins.or(body.allowed_origins);
    if let Some(origins) = origins {
        let mut settings = instance.settings.clone();
        settings.allowed_redirect_origins = origins.iter().map(|o| o.trim().to_owned()).collect();
        state.orbit.update_settings(&instance.id, settings).await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
pub struct NonceQuery {
    nonce: Option<String>,
}

/// `GET /v1/clients/handshake_payload?nonce=`: the directives stored under a handshake nonce,
/// once. `Content-Type` must be exactly `application/json` (the SDK compares it literally).
pub async fn handshake_payload(
    State(state): State<AppState>,
    Extension(instance): Extension<Instance>,
    Query(q): Query<NonceQuery>,
) -> Result<Json<Value>, ApiError> {
    let Some(nonce) = q.nonce.filter(|n| !n.is_empty()) else {
        return Err(ApiError::bad_request(
            "form_param_missing",
            "nonce",
            "nonce is required.",
        ));
    };
    match state.orbit.redeem_handshake_nonce(&instance, &nonce).await? {
        Some(directives) => Ok(Json(json!({ "directives": directives }))),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "handshake_nonce_invalid",
            "Handshake nonce not found",
            "The handshake nonce is unknown, was already used, or has expired (nonces are single-use and live 60 s).",
        )),
    }
}
