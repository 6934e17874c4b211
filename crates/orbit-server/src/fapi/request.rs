//! What every clerk-js call shares (docs/design/frontend-api.md "Authentication and CSRF"):
//! the `_method` override, the origin check that is both CORS and CSRF protection, and the
//! `Caller` a handler starts from.

use crate::browser::Fapi;
use crate::error::ApiError;
use crate::extract::{cookie, QueryParams};
use crate::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use orbit_core::model::Client;
use orbit_proto::error::code;
use orbit_proto::wire;

/// Turns `POST ...?_method=PATCH|PUT|DELETE` into that method before routing: clerk-js sends
/// only GET and POST, so that no call needs a CORS preflight (`core/fapiClient.ts`). Only
/// Frontend API paths (`/v1/...`) are rewritten; any other `_method` value is refused.
pub async fn method_override(mut req: Request, next: Next) -> Response {
    if req.method() == Method::POST && req.uri().path().starts_with("/v1/") {
        let query = QueryParams::parse(req.uri().query());
        match query.get(wire::query::METHOD) {
            Ok(None) => {}
            Ok(Some(m)) => match m.to_ascii_uppercase().as_str() {
                "PATCH" => *req.method_mut() = Method::PATCH,
                "PUT" => *req.method_mut() = Method::PUT,
                "DELETE" => *req.method_mut() = Method::DELETE,
                "POST" => {}
                _ => {
                    return ApiError::bad_request(
                        "form_param_value_invalid",
                        wire::query::METHOD,
                        format!("_method must be PATCH, PUT or DELETE, not {m:?}."),
                    )
                    .into_response()
                }
            },
            Err(e) => {
                return ApiError::bad_request(
                    "form_param_value_invalid",
                    wire::query::METHOD,
                    format!("{e}."),
                )
                .into_response()
            }
        }
    }
    next.run(req).await
}

/// The request's `Origin`, when the instance allows it: put in the request's extensions by
/// [`guard`], read as the `azp` of minted tokens.
#[derive(Debug, Clone)]
pub struct AllowedOrigin(pub String);

pub(super) fn request_origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

/// Whether `origin` may read FAPI responses with credentials: this host itself or an origin the
/// instance may redirect to.
pub(super) async fn origin_allowed(
    state: &AppState,
    fapi: &Fapi,
    origin: &str,
) -> Result<bool, ApiError> {
    if origin == fapi.origin {
        return Ok(true);
    }
    let policy = state.orbit.redirect_policy(&fapi.ctx.instance).await?;
    Ok(policy
        .check(origin, None)
        .is_ok_and(|t| t.origin() == origin))
}

fn origin_refused(long_message: String) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        code::ORIGIN_INVALID,
        "Origin not allowed",
        long_message,
    )
}

/// Why `origin` (the request's, possibly absent) may not change anything here.
fn refusal(origin: Option<&str>) -> ApiError {
    match origin {
        None => origin_refused(
            "This request has no Origin header. Send it from a page of one of the instance's domains; browsers add the header themselves.".into(),
        ),
        Some("null") => origin_refused(
            "The request's Origin is null (a sandboxed page, a file or a privacy redirect). Send it from a page of one of the instance's domains.".into(),
        ),
        Some(o) => origin_refused(format!(
            "The origin {o} is not a domain of this instance nor in its allowed redirect origins."
        )),
    }
}

/// Wraps every JSON endpoint of the Frontend API (docs/design/sessions-and-tokens.md "Origin on
/// FAPI requests"). A request with an `Origin` the instance allows is answered with CORS for
/// that origin, errors included (clerk-js reads the error codes). A request that is not a GET
/// needs such an `Origin`: without one, or with `null` or a foreign one, it is refused with 403
/// before anything is read or changed, so no other site can sign anyone in or out. A GET from
/// elsewhere is answered without CORS headers, so the browser hides the answer from the page.
/// `OPTIONS` preflights get the same decision. Every answer is `no-store`.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let fapi = match Fapi::from_request_parts(&mut parts, &state).await {
        Ok(f) => f,
        Err(rejection) => return no_store(rejection.into_response()),
    };
    let origin = request_origin(&parts.headers).map(str::to_owned);
    let allowed = match &origin {
        Some(o) => match origin_allowed(&state, &fapi, o).await {
            Ok(true) => Some(o.clone()),
            Ok(false) => None,
            Err(e) => return e.into_response(),
        },
        None => None,
    };
    if parts.method == Method::OPTIONS {
        return match allowed {
            Some(o) => preflight(&o, &parts.headers),
            None => refusal(origin.as_deref()).into_response(),
        };
    }
    let safe = parts.method == Method::GET || parts.method == Method::HEAD;
    if !safe && allowed.is_none() {
        return refusal(origin.as_deref()).into_response();
    }
    parts.extensions.insert(fapi);
    if let Some(o) = &allowed {
        parts.extensions.insert(AllowedOrigin(o.clone()));
    }
    let resp = next.run(Request::from_parts(parts, body)).await;
    no_store(with_cors(resp, allowed.as_deref()))
}

fn no_store(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// CORS for an allowed origin. `Retry-After` is exposed because clerk-js shows it on a 429;
/// the request id, for reports.
fn with_cors(mut resp: Response, origin: Option<&str>) -> Response {
    let Some(v) = origin.and_then(|o| HeaderValue::from_str(o).ok()) else {
        return resp;
    };
    let h = resp.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("retry-after, x-request-id"),
    );
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    resp
}

/// The answer to a preflight from an allowed origin: every method the API has, and the headers
/// the page asked for (clerk-js asks for none; a page's own scripts may send `Content-Type:
/// application/json`).
fn preflight(origin: &str, headers: &HeaderMap) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PATCH, PUT, DELETE"),
    );
    if let Some(asked) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
    }
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    h.insert(
        header::VARY,
        HeaderValue::from_static("Origin, Access-Control-Request-Headers"),
    );
    no_store(with_cors(resp, Some(origin)))
}

/// The caller of a clerk-js endpoint: the FAPI host, the browser's client from its `__client`
/// cookie on this host (clerk-js never sends a development browser to Orbit: research finding
/// 4), the allowed `Origin` if any, and the query.
#[derive(Debug, Clone)]
pub struct Caller {
    pub fapi: Fapi,
    pub client: Option<Client>,
    pub origin: Option<String>,
    pub query: QueryParams,
    pub headers: HeaderMap,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let fapi = Fapi::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let token = cookie(&parts.headers, wire::cookie::CLIENT.name(fapi.secure));
        let browser = state
            .orbit
            .browser_state(&fapi.ctx.instance, &fapi.host(), token.as_deref(), None)
            .await
            .map_err(|e| ApiError::from(e).into_response())?;
        Ok(Caller {
            client: browser.client,
            origin: parts.extensions.get::<AllowedOrigin>().map(|o| o.0.clone()),
            query: QueryParams::parse(parts.uri.query()),
            headers: parts.headers.clone(),
            fapi,
        })
    }
}

impl Caller {
    /// The client, or 401 `signed_out`: clerk-js then re-reads `/v1/client`.
    pub fn signed_in_client(&self) -> Result<&Client, ApiError> {
        self.client.as_ref().ok_or_else(|| {
            super::signed_out_error("This browser has no signed-in client on this host.")
        })
    }

    /// The origin the page came from, which a token minted for it names as `azp`: the allowed
    /// `Origin`, else this FAPI host.
    pub fn azp(&self) -> &str {
        self.origin.as_deref().unwrap_or(&self.fapi.origin)
    }
}
