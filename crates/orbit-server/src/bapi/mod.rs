//! Backend API: server-to-server, authenticated by `Authorization: Bearer <secret key>`, in
//! Clerk's paths and shapes (BAPI 2026-05-12) so that `@clerk/backend` works against it.

mod domains;
mod resources;

use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery, JsonBody};
use crate::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use orbit_core::model::{Instance, SessionStatus};
use orbit_core::NewUser;
use orbit_proto::resources::{DeletedObject, Jwks, Session, Token, TotalCount, User};
use resources::{session_json, user_json};
use serde::Deserialize;

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/jwks", get(jwks))
        .route("/v1/users", post(create_user).get(list_users))
        .route("/v1/users/count", get(count_users))
        .route(
            "/v1/users/{id}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route("/v1/users/{id}/ban", post(ban_user))
        .route("/v1/users/{id}/unban", post(unban_user))
        .route("/v1/sessions", post(create_session).get(list_sessions))
        .route("/v1/sessions/{id}", get(get_session))
        .route("/v1/sessions/{id}/revoke", post(revoke_session))
        .route("/v1/sessions/{id}/tokens", post(create_token))
        .route(
            "/v1/domains",
            get(domains::list_domains).post(domains::create_domain),
        )
        .route(
            "/v1/domains/{id}",
            axum::routing::delete(domains::delete_domain),
        )
        .route(
            "/v1/instance",
            get(domains::get_instance).patch(domains::patch_instance),
        )
        .route(
            "/v1/clients/handshake_payload",
            get(domains::handshake_payload),
        )
        .route_layer(middleware::from_fn_with_state(state, authenticate))
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
}

/// The caller of a BAPI route: the server's state and the instance whose secret key the request
/// presented (`authenticate` resolved it before any handler runs).
struct Caller {
    state: AppState,
    instance: Instance,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Extension(instance) = Extension::<Instance>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::internal(e.body_text()))?;
        Ok(Self {
            state: state.clone(),
            instance,
        })
    }
}

/// A parameter that must be present and not empty; `form_param_missing` otherwise.
fn required(
    value: Option<String>,
    param: &str,
    message: impl Into<String>,
) -> Result<String, ApiError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::bad_request("form_param_missing", param, message))
}

/// Resolves the secret key to its instance; anything else is 401.
async fn authenticate(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let key = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default();
    let Some(instance) = state.orbit.instance_for_secret_key(key).await? else {
        return Err(ApiError::unauthorized());
    };
    req.extensions_mut().insert(instance);
    Ok(next.run(req).await)
}

async fn jwks(Caller { state, instance }: Caller) -> Result<Json<Jwks>, ApiError> {
    Ok(Json(state.orbit.jwks(&instance.id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUserBody {
    #[serde(default)]
    email_address: Vec<String>,
    password: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

async fn create_user(
    Caller { state, instance }: Caller,
    JsonBody(body): JsonBody<CreateUserBody>,
) -> Result<Json<User>, ApiError> {
    let email = match body.email_address.as_slice() {
        [one] => one.clone(),
        [] => {
            return Err(ApiError::bad_request(
                "form_param_missing",
                "email_address",
                "email_address must hold one email address.",
            ))
        }
        _ => {
            return Err(ApiError::bad_request(
                "form_param_format_invalid",
                "email_address",
                "Orbit users have one email address; send exactly one in email_address.",
            ))
        }
    };
    let new = NewUser {
        email,
        password: body.password,
        first_name: body.first_name,
        last_name: body.last_name,
    };
    let user = state.orbit.create_user(&instance, new).await?;
    Ok(Json(user_json(&user)))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    limit: Option<u32>,
    offset: Option<u32>,
    /// Users whose address contains this, ignoring case (Clerk's `email_address_query`).
    email_address_query: Option<String>,
}

async fn list_users(
    Caller { state, instance }: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Vec<User>>, ApiError> {
    let limit = q.limit.unwrap_or(10);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request(
            "form_param_value_invalid",
            "limit",
            "limit must be between 1 and 500.",
        ));
    }
    let users = state
        .orbit
        .list_users(
            &instance,
            q.email_address_query.as_deref(),
            limit,
            q.offset.unwrap_or(0),
        )
        .await?;
    Ok(Json(users.iter().map(user_json).collect()))
}

#[derive(Debug, Deserialize)]
struct CountQuery {
    email_address_query: Option<String>,
}

async fn count_users(
    Caller { state, instance }: Caller,
    ApiQuery(q): ApiQuery<CountQuery>,
) -> Result<Json<TotalCount>, ApiError> {
    let n = state
        .orbit
        .count_users(&instance, q.email_address_query.as_deref())
        .await?;
    Ok(Json(TotalCount {
        object: "total_count".into(),
        total_count: n,
    }))
}

async fn get_user(
    Caller { state, instance }: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(user_json(&state.orbit.user(&instance.id, &id).await?)))
}

/// `PATCH /v1/users/{id}`: the fields given change, the others stay.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateUserBody {
    first_name: Option<String>,
    last_name: Option<String>,
    password: Option<String>,
}

async fn update_user(
    Caller { state, instance }: Caller,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<UpdateUserBody>,
) -> Result<Json<User>, ApiError> {
    let orbit = &state.orbit;
    let mut user = orbit.user(&instance.id, &id).await?;
    if body.first_name.is_some() || body.last_name.is_some() {
        user = orbit
            .update_profile(
                &instance,
                &id,
                body.first_name.or(user.first_name),
                body.last_name.or(user.last_name),
            )
            .await?;
    }
    if let Some(password) = body.password {
        orbit.set_password(&instance, &id, &password).await?;
        user = orbit.user(&instance.id, &id).await?;
    }
    Ok(Json(user_json(&user)))
}

async fn delete_user(
    Caller { state, instance }: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<DeletedObject>, ApiError> {
    state.orbit.delete_user(&instance, &id).await?;
    Ok(Json(DeletedObject::new("user", id)))
}

/// `POST /v1/users/{id}/ban`: the user can no longer sign in, and their sessions are revoked.
async fn ban_user(
    Caller { state, instance }: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(user_json(
        &state.orbit.ban_user(&instance, &id).await?,
    )))
}

/// `POST /v1/users/{id}/unban`.
async fn unban_user(
    Caller { state, instance }: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(user_json(
        &state.orbit.unban_user(&instance, &id).await?,
    )))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateSessionBody {
    user_id: Option<String>,
}

async fn create_session(
    Caller { state, instance }: Caller,
    JsonBody(body): JsonBody<CreateSessionBody>,
) -> Result<Json<Session>, ApiError> {
    let user_id = required(body.user_id, "user_id", "user_id is required.")?;
    let session = state
        .orbit
        .create_session_for_user(&instance, &user_id)
        .await?;
    Ok(Json(session_json(&session, &instance)))
}

#[derive(Debug, Deserialize)]
struct SessionsQuery {
    user_id: Option<String>,
    status: Option<String>,
}

async fn list_sessions(
    Caller { state, instance }: Caller,
    ApiQuery(q): ApiQuery<SessionsQuery>,
) -> Result<Json<Vec<Session>>, ApiError> {
    let user_id = required(
        q.user_id,
        "user_id",
        "Pass ?user_id= to list a user's sessions.",
    )?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(SessionStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request(
                "form_param_value_invalid",
                "status",
                format!(
                    "Unknown session status {s:?}; use active, ended, revoked, removed or expired."
                ),
            )
        })?),
    };
    let sessions = state.orbit.user_sessions(&instance, &user_id).await?;
    Ok(Json(
        sessions
            .iter()
            .filter(|s| status.is_none_or(|st| s.status == st))
            .map(|s| session_json(s, &instance))
            .collect(),
    ))
}

async fn get_session(
    Caller { state, instance }: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Session>, ApiError> {
    Ok(Json(session_json(
        &state.orbit.session(&instance, &id).await?,
        &instance,
    )))
}

async fn revoke_session(
    Caller { state, instance }: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Session>, ApiError> {
    let s = state
        .orbit
        .end_session(&instance, &id, SessionStatus::Revoked)
        .await?;
    Ok(Json(session_json(&s, &instance)))
}

async fn create_token(
    Caller { state, instance }: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Token>, ApiError> {
    let jwt = state.orbit.mint_session_token(&instance, &id, None).await?;
    Ok(Json(Token {
        object: "token".into(),
        jwt,
    }))
}
