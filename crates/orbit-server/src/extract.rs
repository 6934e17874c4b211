//! Extractors for every API: client IP (trusted proxies), the request's host, request cookies,
//! JSON and form bodies. Knows nothing of pages or FAPI hosts (see `browser::host`).

use crate::error::ApiError;
use crate::AppState;
use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection};
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use orbit_proto::wire;
use serde::de::DeserializeOwned;
use std::net::{IpAddr, SocketAddr};

/// The client's IP: the socket peer, unless the peer is a trusted proxy, in which case the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

fn peer(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

pub(crate) fn from_trusted_proxy(parts: &Parts, state: &AppState) -> bool {
    peer(parts).is_some_and(|p| state.config.trusted_proxies.contains(&p))
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let state = AppState::from_ref(state);
        let Some(peer_ip) = peer(parts) else {
            return Ok(ClientIp(IpAddr::from([0, 0, 0, 0])));
        };
        if !state.config.trusted_proxies.contains(&peer_ip) {
            return Ok(ClientIp(peer_ip));
        }
        let forwarded = parts
            .headers
            .get_all(wire::header::FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        let ip = forwarded
            .split(',')
            .rev()
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .find(|ip| !state.config.trusted_proxies.contains(ip))
            .unwrap_or(peer_ip);
        Ok(ClientIp(ip))
    }
}

/// The right-most value of a forwarding header (`X-Forwarded-Host`, `-Proto`), when the peer is
/// a trusted proxy: the entry that proxy appended itself. Anything to its left came from the
/// client and may be forged.
pub(crate) fn forwarded(parts: &Parts, state: &AppState, name: &str) -> Option<String> {
    if !from_trusted_proxy(parts, state) {
        return None;
    }
    parts
        .headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .rfind(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The host a request was sent to: the trusted proxy's `X-Forwarded-Host`, else `Host`, else
/// HTTP/2's `:authority`; lower-case.
pub fn request_host(parts: &Parts, state: &AppState) -> Option<String> {
    let host = forwarded(parts, state, wire::header::FORWARDED_HOST)
        .or_else(|| {
            parts
                .headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
        })
        // HTTP/2 carries the host in `:authority`, which lands in the URI, not in a Host header.
        .or_else(|| parts.uri.authority().map(|a| a.as_str().to_owned()))?;
    Some(host.trim().to_ascii_lowercase())
}

/// The request's `User-Agent`, when it is text (sessions keep it to name their device).
pub fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Every cookie of the request's `Cookie` headers, in order (a name may come more than once).
pub fn request_cookies(headers: &HeaderMap) -> impl Iterator<Item = cookie::Cookie<'static>> + '_ {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| cookie::Cookie::split_parse(v.to_owned()))
        .filter_map(Result::ok)
}

/// Reads one cookie from the request headers. A name sent more than once is read as absent:
/// the `Cookie` header does not say which domain set which value, so a copy planted by a
/// sibling or parent domain (cookie tossing) could come first, and neither is trusted.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut values = request_cookies(headers)
        .filter(|c| c.name() == name)
        .map(|c| c.value().to_owned());
    let first = values.next();
    match values.next() {
        Some(_) => None,
        None => first,
    }
}

/// `Json<T>` whose rejections are Orbit errors naming the problem.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T>
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let limit = AppState::from_ref(state).config.max_body_bytes;
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(JsonRejection::BytesRejection(_)) => Err(ApiError::payload_too_large(limit)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_content_type",
                "Expected JSON",
                "Send the body as JSON with `Content-Type: application/json`.",
            )),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_request",
                "Malformed JSON body",
                e.body_text(),
            )),
            Err(e) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "form_param_format_invalid",
                "Invalid JSON body",
                e.body_text(),
            )),
        }
    }
}

/// `Query<T>` whose rejections (a malformed query string, a value of the wrong type, a
/// parameter given twice) are Clerk-shaped 400s naming the problem, never axum's plain text.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(e) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "form_param_format_invalid",
                "Invalid query string",
                e.body_text(),
            )),
        }
    }
}

/// `Path<T>` whose rejections (a segment that is not valid percent-encoded UTF-8) are
/// Clerk-shaped 400s; a missing route stays the router's JSON 404.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(e @ PathRejection::FailedToDeserializePathParams(_)) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "form_param_format_invalid",
                "Invalid path",
                e.body_text(),
            )),
            Err(e) => Err(ApiError::internal(e.body_text())),
        }
    }
}

/// An HTML form body; a malformed form is a 400 naming the problem.
pub struct FormBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for FormBody<T>
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let limit = AppState::from_ref(state).config.max_body_bytes;
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(FormBody(v)),
            Err(FormRejection::BytesRejection(_)) => Err(ApiError::payload_too_large(limit)),
            Err(e) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "form_param_format_invalid",
                "Invalid form",
                e.body_text(),
            )),
        }
    }
}

/// A request body as clerk-js sends it (`application/x-www-form-urlencoded`, snake_case keys)
/// or as a script may (`application/json`); a body without a content type is read as a form,
/// so an empty one is an empty form. Unknown fields are ignored: clerk-js adds its own (`locale`,
/// Protect fields) to sign-in and sign-up posts.
pub struct FormOrJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for FormOrJson<T>
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let limit = AppState::from_ref(state).config.max_body_bytes;
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::payload_too_large(limit))?;
        let invalid = |e: String| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "form_param_format_invalid",
                "Invalid request body",
                e,
            )
        };
        match content_type.as_str() {
            "application/json" => serde_json::from_slice(&bytes)
                .map(FormOrJson)
                .map_err(|e| invalid(format!("The JSON body cannot be read: {e}."))),
            "" | "application/x-www-form-urlencoded" => serde_urlencoded::from_bytes(&bytes)
                .map(FormOrJson)
                .map_err(|e| invalid(format!("The form body cannot be read: {e}."))),
            other => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_content_type",
                "Unsupported body",
                format!("Send the body as application/x-www-form-urlencoded or application/json, not {other}."),
            )),
        }
    }
}

/// A request's query parameters, read by their wire names (`orbit_proto::wire::query`). A
/// parameter given twice is refused rather than guessed at (parameter pollution).
#[derive(Debug, Clone, Default)]
pub struct QueryParams(Vec<(String, String)>);

/// A parameter that appears more than once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the parameter {0} appears more than once")]
pub struct DuplicateParam(pub String);

impl QueryParams {
    pub fn parse(query: Option<&str>) -> Self {
        Self(
            url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The value of `name`, if given once.
    pub fn get(&self, name: &str) -> Result<Option<&str>, DuplicateParam> {
        let mut values = self.0.iter().filter(|(k, _)| k == name);
        let first = values.next().map(|(_, v)| v.as_str());
        match values.next() {
            Some(_) => Err(DuplicateParam(name.to_owned())),
            None => Ok(first),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::parse(parts.uri.query()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_cookie_is_no_cookie() {
        let check = |header_values: &[&str], expected: Option<&str>| {
            let mut h = HeaderMap::new();
            for v in header_values {
                h.append(header::COOKIE, v.parse().unwrap());
            }
            assert_eq!(cookie(&h, "c").as_deref(), expected, "{header_values:?}");
        };
        check(&["a=1; c=x; b=2"], Some("x"));
        check(&["a=1", "c=y"], Some("y"));
        check(&["c="], Some(""));
        check(&["a=1"], None);
        check(&["c=planted; c=real"], None);
        check(&["c=real", "c=planted"], None);
        check(&["c=same; c=same"], None);
    }

    #[test]
    fn query_params_refuse_duplicates() {
        let q = QueryParams::parse(Some("a=1&b=x%20y&a=2&c="));
        assert_eq!(q.get("b"), Ok(Some("x y")));
        assert_eq!(q.get("c"), Ok(Some("")));
        assert_eq!(q.get("d"), Ok(None));
        assert_eq!(q.get("a"), Err(DuplicateParam("a".into())));
        assert_eq!(QueryParams::parse(None).get("a"), Ok(None));
    }
}
