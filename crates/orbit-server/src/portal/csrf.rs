//! CSRF protection for the portal's forms: a per-browser token in a host-only cookie that every
//! form echoes (double submit), plus an Origin (or Referer) check against the FAPI origin.

use crate::extract::{cookie, Fapi};
use axum::http::{header, HeaderMap, HeaderValue};
use cookie::{Cookie, SameSite};
use orbit_core::Random;

pub const CSRF_COOKIE: &str = "__orbit_csrf";

/// The browser's CSRF token, and a `Set-Cookie` when it had none yet.
pub fn token(
    headers: &HeaderMap,
    fapi: &Fapi,
    random: &dyn Random,
) -> (String, Option<HeaderValue>) {
    if let Some(t) = cookie(headers, CSRF_COOKIE).filter(|t| t.len() >= 32 && t.len() <= 64) {
        return (t, None);
    }
    let t = random.token(32);
    let c = Cookie::build((CSRF_COOKIE, t.clone()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(fapi.secure)
        .build();
    (t, HeaderValue::from_str(&c.to_string()).ok())
}

/// Whether a form POST comes from this host's own pages.
pub fn verify(headers: &HeaderMap, fapi: &Fapi, submitted: Option<&str>) -> bool {
    let Some(expected) = cookie(headers, CSRF_COOKIE) else {
        return false;
    };
    let Some(submitted) = submitted else {
        return false;
    };
    if expected.len() < 32
        || !orbit_core::keys::constant_time_eq(expected.as_bytes(), submitted.as_bytes())
    {
        return false;
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    match origin {
        Some(o) => o == fapi.origin,
        None => headers
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|r| url::Url::parse(r).ok())
            .is_some_and(|u| u.origin().ascii_serialization() == fapi.origin),
    }
}
