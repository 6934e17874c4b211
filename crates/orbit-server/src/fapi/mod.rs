//! Frontend API: the browser-facing API of each FAPI host (PROTOCOL.md "Concepts").

mod handshake;

use crate::error::ApiError;
use crate::extract::{cookie, Fapi};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cookie::{Cookie, SameSite};
use orbit_core::model::{Client, Instance};
use orbit_proto::resources::Token;

/// The browser's long-lived client token on one FAPI host (PROTOCOL.md "Cookies").
pub const CLIENT_COOKIE: &str = "__client";
const CLIENT_COOKIE_MAX_AGE_DAYS: i64 = 365;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route("/v1/client/sessions/{id}/tokens", post(session_token))
        .route("/v1/client/sessions/{id}/end", post(end_session))
        .route("/v1/client/sessions", axum::routing::delete(sign_out))
        .route("/v1/dev_browser", post(dev_browser))
        .route("/v1/client/signed_out", get(signed_out))
        .merge(handshake::routes())
}

/// `Set-Cookie` for the `__client` cookie: host-only, HttpOnly, SameSite=Lax, Secure on https.
pub fn client_cookie(token: &str, secure: bool) -> HeaderValue {
    let c = Cookie::build((CLIENT_COOKIE, token.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(cookie::time::Duration::days(CLIENT_COOKIE_MAX_AGE_DAYS))
        .build();
    HeaderValue::from_str(&c.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `__client_uat` (and its suffixed name) on the registrable domain of the app this FAPI host
/// serves, so that an app's SDK notices a sign-in or sign-out made on Orbit's own pages and
/// handshakes (PROTOCOL.md "Cookies"). Production only: a development FAPI host cannot set cookies
/// on the app's domain; there the development browser token carries the news.
pub async fn client_uat_cookies(state: &AppState, fapi: &Fapi, uat_secs: i64) -> Vec<HeaderValue> {
    let instance = &fapi.ctx.instance;
    if instance.kind != orbit_core::model::InstanceKind::Production {
        return Vec::new();
    }
    let Ok(pk) = state.orbit.publishable_key(instance).await else {
        return Vec::new();
    };
    let host = orbit_core::domain_name::host_of(&fapi.ctx.domain.name);
    let domain = psl::domain_str(host).unwrap_or(host);
    let suffix = orbit_proto::cookie_suffix(&pk);
    ["__client_uat".to_owned(), format!("__client_uat_{suffix}")]
        .iter()
        .filter_map(|name| HeaderValue::from_str(&format!("{name}={uat_secs}; Path=/; Domain={domain}; Max-Age=315360000; Secure; SameSite=Lax")).ok())
        .collect()
}

/// In development, a redirect from Orbit's pages to an app carries the browser's development
/// token (`__clerk_db_jwt`), as clerk-js does, so the app's SDK syncs at once.
pub async fn with_dev_browser(
    state: &AppState,
    fapi: &Fapi,
    client: &Client,
    target: url::Url,
) -> Result<url::Url, ApiError> {
    if fapi.ctx.instance.kind != orbit_core::model::InstanceKind::Development
        || target.origin().ascii_serialization() == fapi.origin
    {
        return Ok(target);
    }
    let token = state
        .orbit
        .new_dev_browser(&fapi.ctx.instance, client)
        .await?;
    let mut target = target;
    set_query(&mut target, "__clerk_db_jwt", &token);
    Ok(target)
}

/// Sets `key` in the URL's query, replacing any earlier value.
pub(crate) fn set_query(url: &mut url::Url, key: &str, value: &str) {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != key)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut q = url.query_pairs_mut();
    q.clear();
    for (k, v) in pairs {
        q.append_pair(&k, &v);
    }
    q.append_pair(key, value);
}

/// The client the request's `__client` cookie stands for on this host.
pub async fn current_client(
    state: &AppState,
    fapi: &Fapi,
    headers: &HeaderMap,
) -> Result<Option<Client>, ApiError> {
    let Some(token) = cookie(headers, CLIENT_COOKIE) else {
        return Ok(None);
    };
    let host = fapi.host();
    let client = state.orbit.client_for_token(&host, &token).await?;
    Ok(client.filter(|c| c.instance_id == fapi.ctx.instance.id))
}

/// `GET /.well-known/jwks.json`: public keys of the instance, current and recently retired.
async fn jwks(State(state): State<AppState>, fapi: Fapi) -> Result<Response, ApiError> {
    let jwks = state.orbit.jwks(&fapi.ctx.instance.id).await?;
    let mut resp = Json(jwks).into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    resp.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(resp)
}

/// Whether `origin` may read FAPI responses with credentials: this host itself or an origin the
/// instance may redirect to.
async fn origin_allowed(
    state: &AppState,
    instance: &Instance,
    fapi: &Fapi,
    origin: &str,
) -> Result<bool, ApiError> {
    if origin == fapi.origin {
        return Ok(true);
    }
    let policy = state.orbit.redirect_policy(instance).await?;
    Ok(policy
        .check(origin, None)
        .is_ok_and(|t| t.origin() == origin))
}

/// `POST /v1/client/sessions/{id}/tokens`: a fresh session token for a session of this
/// browser's client. `azp` is the requesting origin.
async fn session_token(
    State(state): State<AppState>,
    fapi: Fapi,
    Path(session_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(o) = &origin {
        if !origin_allowed(&state, &fapi.ctx.instance, &fapi, o).await? {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "origin_invalid",
                "Origin not allowed",
                format!("The origin {o} is not a domain of this instance nor in its allowed redirect origins."),
            ));
        }
    }
    let Some(client) = current_client(&state, &fapi, &headers).await? else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "signed_out",
            "Signed out",
            "This browser has no signed-in client on this host.",
        ));
    };
    let sessions = state
        .orbit
        .active_sessions(&fapi.ctx.instance, &client.id)
        .await?;
    if !sessions.iter().any(|s| s.id == session_id) {
        // Same answer whether the session is someone else's, ended, or unknown.
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "resource_not_found",
            "Session not found",
            "No active session with this id on this client.",
        ));
    }
    let jwt = state
        .orbit
        .mint_session_token(
            &fapi.ctx.instance,
            &session_id,
            origin.as_deref().or(Some(&fapi.origin)),
        )
        .await?;
    // `origin` passed the check above: CORS for it alone.
    Ok(with_cors(
        Json(Token {
            object: "token".into(),
            jwt,
        })
        .into_response(),
        &headers,
    ))
}

/// Refuses a request whose `Origin` is neither this host nor an origin of the instance: these
/// endpoints change state, and a cross-site form must not sign anyone out.
async fn require_allowed_origin(
    state: &AppState,
    fapi: &Fapi,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    match origin {
        Some(o) if origin_allowed(state, &fapi.ctx.instance, fapi, o).await? => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_invalid",
            "Origin not allowed",
            "Send this request from a page of one of the instance's domains (the Origin header must name it).",
        )),
    }
}

fn with_cors(mut resp: Response, headers: &HeaderMap) -> Response {
    if let Some(o) = headers.get(header::ORIGIN).cloned() {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// `DELETE /v1/client/sessions`: signs the browser's client out on every linked domain
/// (PROTOCOL.md "Satellite sync": sign-out on any domain ends the client's sessions).
async fn sign_out(
    State(state): State<AppState>,
    fapi: Fapi,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require_allowed_origin(&state, &fapi, &headers).await?;
    let ended = match current_client(&state, &fapi, &headers).await? {
        Some(c) => {
            state
                .orbit
                .sign_out_client(&fapi.ctx.instance, &c.id)
                .await?
        }
        None => 0,
    };
    let mut resp = with_cors(
        Json(serde_json::json!({"object": "client", "sessions_ended": ended})).into_response(),
        &headers,
    );
    for c in client_uat_cookies(&state, &fapi, 0).await {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(resp)
}

/// `POST /v1/client/sessions/{id}/end`: ends one session of the browser's client.
async fn end_session(
    State(state): State<AppState>,
    fapi: Fapi,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require_allowed_origin(&state, &fapi, &headers).await?;
    let Some(client) = current_client(&state, &fapi, &headers).await? else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "signed_out",
            "Signed out",
            "This browser has no client on this host.",
        ));
    };
    let sessions = state
        .orbit
        .active_sessions(&fapi.ctx.instance, &client.id)
        .await?;
    if !sessions.iter().any(|s| s.id == id) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "resource_not_found",
            "Session not found",
            "No active session with this id on this client.",
        ));
    }
    let s = state
        .orbit
        .end_session(
            &fapi.ctx.instance,
            &id,
            orbit_core::model::SessionStatus::Ended,
        )
        .await?;
    let mut resp = with_cors(
        Json(serde_json::json!({"object": "session", "id": s.id, "status": s.status.as_str()}))
            .into_response(),
        &headers,
    );
    if state
        .orbit
        .active_sessions(&fapi.ctx.instance, &client.id)
        .await?
        .is_empty()
    {
        for c in client_uat_cookies(&state, &fapi, 0).await {
            resp.headers_mut().append(header::SET_COOKIE, c);
        }
    }
    Ok(resp)
}

/// `POST /v1/dev_browser` (development instances): a development browser token for this
/// browser's client, as clerk-js asks for one.
async fn dev_browser(
    State(state): State<AppState>,
    fapi: Fapi,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if fapi.ctx.instance.kind != orbit_core::model::InstanceKind::Development {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "dev_browser_unsupported",
            "Not a development instance",
            "Development browsers exist only on development instances.",
        ));
    }
    let existing = current_client(&state, &fapi, &headers).await?;
    let (client, new_token) = state
        .orbit
        .ensure_client(&fapi.ctx.instance, existing, &fapi.host())
        .await?;
    let token = state
        .orbit
        .new_dev_browser(&fapi.ctx.instance, &client)
        .await?;
    let mut resp = with_cors(
        Json(serde_json::json!({"object": "dev_browser", "id": token, "token": token}))
            .into_response(),
        &headers,
    );
    if let Some(t) = new_token {
        resp.headers_mut()
            .append(header::SET_COOKIE, client_cookie(&t, fapi.secure));
    }
    Ok(resp)
}

#[derive(Debug, serde::Deserialize)]
struct SignedOutQuery {
    redirect_url: Option<String>,
}

/// `GET /v1/client/signed_out` on the primary: the last hop of a sign-out made on a satellite.
/// Resets the primary's `__client_uat` so the primary app handshakes (and finds the browser
/// signed out) at its next request, then goes on to `redirect_url` if the policy allows it.
async fn signed_out(
    State(state): State<AppState>,
    fapi: Fapi,
    axum::extract::Query(q): axum::extract::Query<SignedOutQuery>,
) -> Result<Response, ApiError> {
    let base = url::Url::parse(&fapi.origin).map_err(ApiError::internal)?;
    let policy = state.orbit.redirect_policy(&fapi.ctx.instance).await?;
    let fallback = orbit_core::redirect::RedirectTarget::from_trusted(
        base.join("/sign-in").map_err(ApiError::internal)?,
    );
    let target = policy.check_or(q.redirect_url.as_deref(), Some(&base), fallback);
    let mut resp = axum::response::Redirect::to(target.as_str()).into_response();
    for c in client_uat_cookies(&state, &fapi, 0).await {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
