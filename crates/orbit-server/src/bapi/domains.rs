//! BAPI: domains, the instance's redirect settings, and handshake payloads.

use super::{required, Caller};
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery, JsonBody};
use crate::AppState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use orbit_core::model::{Domain, Instance};
use orbit_core::Orbit;
use orbit_proto::resources as r;
use orbit_proto::resources::DeletedObject;
use orbit_proto::wire::query;
use serde::Deserialize;

/// A domain in BAPI's shape (`Domain` in bapi/2026-05-12.yml), plus Orbit's verification state.
pub fn domain_json(
    state: &AppState,
    instance: &Instance,
    primary: &Domain,
    d: &Domain,
) -> r::Domain {
    let fapi = match &d.fapi_host {
        Some(_) => Orbit::fapi_url(instance, d),
        None => Orbit::fapi_url(instance, primary),
    };
    let cname_targets = Orbit::cname_target(d, &state.cname_target)
        .filter(|_| instance.kind == orbit_core::model::InstanceKind::Production)
        .map(|t| {
            vec![r::CnameTarget {
                host: t.host,
                required: true,
                value: t.value,
            }]
        });
    r::Domain {
        accounts_portal_url: (!d.is_satellite).then(|| format!("{fapi}/sign-in")),
        cname_targets,
        development_origin: String::new(),
        frontend_api_url: fapi,
        id: d.id.clone(),
        is_satellite: d.is_satellite,
        name: d.name.clone(),
        object: "domain".into(),
        proxy_url: None,
        verification_error: d.verification_error.clone(),
        verified: d.verified,
        dns_failures: d.dns_failures,
        dns_failing_since: d.dns_failing_since,
        suspended_at: d.suspended_at,
    }
}

pub async fn list_domains(
    Caller { state, instance }: Caller,
) -> Result<Json<r::DomainList>, ApiError> {
    let domains = state.orbit.domains(&instance).await?;
    let primary = state.orbit.primary_domain(&instance.id).await?;
    let data: Vec<r::Domain> = domains
        .iter()
        .map(|d| domain_json(&state, &instance, &primary, d))
        .collect();
    Ok(Json(r::DomainList {
        total_count: data.len() as u64,
        data,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateDomainBody {
    name: Option<String>,
    is_satellite: Option<bool>,
    proxy_url: Option<String>,
}

pub async fn create_domain(
    Caller { state, instance }: Caller,
    JsonBody(body): JsonBody<CreateDomainBody>,
) -> Result<Json<r::Domain>, ApiError> {
    let name = required(
        body.name.filter(|n| !n.trim().is_empty()),
        "name",
        "name is required: the satellite's domain, e.g. satellite.example.com.",
    )?;
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
    Caller { state, instance }: Caller,
    ApiPath(id): ApiPath<String>,
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
    Ok(Json(DeletedObject::new("domain", domain.id)))
}

pub fn instance_json(instance: &Instance) -> r::Instance {
    let mut json = r::Instance::new(
        instance.id.clone(),
        instance.kind.as_str().into(),
        instance.settings.allowed_redirect_origins.clone(),
    );
    json.sign_up.email_verification = instance.settings.sign_up_email_verification;
    json
}

pub async fn get_instance(Caller { instance, .. }: Caller) -> Json<r::Instance> {
    Json(instance_json(&instance))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchInstanceBody {
    allowed_redirect_origins: Option<Vec<String>>,
    /// Clerk's name for the same list.
    allowed_origins: Option<Vec<String>>,
    /// Orbit's own: `{"sign_up": {"email_verification": true}}`.
    sign_up: Option<PatchSignUp>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchSignUp {
    email_verification: Option<bool>,
}

/// `PATCH /v1/instance`: 204 like Clerk's, with `allowed_redirect_origins` (or
/// `allowed_origins`) and `sign_up.email_verification`.
pub async fn patch_instance(
    Caller { state, instance }: Caller,
    JsonBody(body): JsonBody<PatchInstanceBody>,
) -> Result<Response, ApiError> {
    let mut settings = instance.settings.clone();
    if let Some(origins) = body.allowed_redirect_origins.or(body.allowed_origins) {
        settings.allowed_redirect_origins = origins;
    }
    if let Some(on) = body.sign_up.and_then(|s| s.email_verification) {
        settings.sign_up_email_verification = on;
    }
    if settings != instance.settings {
        state.orbit.update_settings(&instance.id, settings).await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `?nonce=` (`query::NONCE`; a serde field name cannot be a constant, the test below ties them).
#[derive(Debug, Deserialize)]
pub struct NonceQuery {
    nonce: Option<String>,
}

/// `GET /v1/clients/handshake_payload?nonce=`: the directives stored under a handshake nonce, to
/// every read within its lifetime (several loaders of one request read it). `Content-Type` must be exactly `application/json` (the SDK compares it literally).
pub async fn handshake_payload(
    Caller { state, instance }: Caller,
    ApiQuery(q): ApiQuery<NonceQuery>,
) -> Result<Json<r::HandshakePayload>, ApiError> {
    let nonce = required(
        q.nonce,
        query::NONCE,
        format!("{} is required.", query::NONCE),
    )?;
    match state.orbit.handshake_nonce_directives(&instance, &nonce).await? {
        Some(directives) => Ok(Json(r::HandshakePayload { directives })),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "handshake_nonce_invalid",
            "Handshake nonce not found",
            "The handshake nonce is unknown, belongs to another instance, or has expired (nonces live 60 s).",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_query_reads_the_wire_name() {
        let q: NonceQuery = serde_urlencoded::from_str(&format!("{}=n_1", query::NONCE)).unwrap();
        assert_eq!(q.nonce.as_deref(), Some("n_1"));
    }
}
