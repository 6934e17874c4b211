//! Redirects that leave a browser-facing handler. Every target has passed the instance's
//! redirect policy (`RedirectTarget`) or is built by Orbit from its own hosts; the `Location` is
//! the re-serialised URL, never the raw input.

use super::host::Fapi;
use crate::error::ApiError;
use crate::AppState;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use orbit_core::model::{Client, InstanceKind};
use orbit_core::redirect::RedirectTarget;
use orbit_proto::wire;
use url::Url;

/// 303 See Other to a validated target, with `set_cookies`.
pub fn see_other(target: &RedirectTarget, set_cookies: Vec<HeaderValue>) -> Response {
    with_cookies(Redirect::to(target.as_str()).into_response(), set_cookies)
}

/// 307 to `location`, never cached (handshake and sync hops), with `set_cookies`.
pub fn temporary(location: &Url, set_cookies: Vec<HeaderValue>) -> Response {
    let mut resp = StatusCode::TEMPORARY_REDIRECT.into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(location.as_str()) {
        h.insert(header::LOCATION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    with_cookies(resp, set_cookies)
}

/// Appends `Set-Cookie` headers.
pub fn with_cookies(mut resp: Response, set_cookies: Vec<HeaderValue>) -> Response {
    for c in set_cookies {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

/// Sets `key` in the URL's query, replacing any earlier value.
pub fn set_query(url: &mut Url, key: &str, value: &str) {
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

/// A path on this host carrying `redirect_url` along (links between hosted pages).
pub fn with_redirect_url(path: &str, redirect_url: &str) -> String {
    if redirect_url.is_empty() {
        path.to_owned()
    } else {
        format!(
            "{path}?{}",
            serde_urlencoded::to_string([(wire::query::REDIRECT_URL, redirect_url)])
                .unwrap_or_default()
        )
    }
}

/// `redirect_url` if the instance's policy allows it, else `fallback` on this host.
pub async fn redirect_target(
    state: &AppState,
    fapi: &Fapi,
    raw: Option<&str>,
    fallback: &str,
) -> Result<RedirectTarget, ApiError> {
    let base = Url::parse(&fapi.origin).map_err(ApiError::internal)?;
    let fallback = base.join(fallback).map_err(ApiError::internal)?;
    let policy = state.orbit.redirect_policy(&fapi.ctx.instance).await?;
    let raw = raw.filter(|r| !r.is_empty());
    if let Some(r) = raw {
        if let Err(e) = policy.check(r, Some(&base)) {
            tracing::info!(reason = %e, "redirect_url rejected; using the default");
        }
    }
    Ok(policy.check_or(raw, Some(&base), RedirectTarget::from_trusted(fallback)))
}

/// In development, a redirect from Orbit's pages to an app carries the browser's development
/// token (`__clerk_db_jwt`), as clerk-js does, so the app's SDK syncs at once.
pub async fn with_dev_browser(
    state: &AppState,
    fapi: &Fapi,
    client: Option<&Client>,
    target: RedirectTarget,
) -> Result<RedirectTarget, ApiError> {
    let Some(client) = client else {
        return Ok(target);
    };
    if fapi.ctx.instance.kind != InstanceKind::Development || target.origin() == fapi.origin {
        return Ok(target);
    }
    let token = state
        .orbit
        .new_dev_browser(&fapi.ctx.instance, Some(client))
        .await?;
    let mut url = target.url().clone();
    set_query(&mut url, wire::query::DEV_BROWSER, &token);
    Ok(RedirectTarget::from_trusted(url))
}

/// The same path and query on the primary's FAPI host: sign-in, sign-up and the profile live on
/// the primary (docs/protocol.md "Satellite sync": users sign in on the primary). `None` when
/// this host is the primary or serves a development satellite.
pub async fn to_primary(
    state: &AppState,
    fapi: &Fapi,
    uri: &axum::http::Uri,
) -> Result<Option<Response>, ApiError> {
    if !fapi.ctx.domain.is_satellite || fapi.ctx.domain.fapi_host.is_none() {
        return Ok(None);
    }
    let primary = state.orbit.primary_domain(&fapi.ctx.instance.id).await?;
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    Ok(Some(
        Redirect::to(&format!(
            "{}{path}",
            orbit_core::Orbit::fapi_url(&fapi.ctx.instance, &primary)
        ))
        .into_response(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_query_replaces() {
        let mut u = Url::parse("https://sat.test/x?a=1&__clerk_synced=false").unwrap();
        set_query(&mut u, "__clerk_synced", "true");
        assert_eq!(u.as_str(), "https://sat.test/x?a=1&__clerk_synced=true");
    }
}
