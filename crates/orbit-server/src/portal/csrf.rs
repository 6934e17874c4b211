//! CSRF protection for the portal's forms: a per-browser token in a host-only cookie that every
//! form echoes (double submit), plus an Origin (or Referer) check against the FAPI origin.

use crate::browser::{cookies, csrf, Fapi, PageError};
use crate::extract::cookie;
use axum::http::{HeaderMap, HeaderValue};
use orbit_core::Random;
use orbit_proto::wire;

/// The browser's CSRF token, and a `Set-Cookie` when it had none yet.
pub fn token(headers: &HeaderMap, fapi: &Fapi, random: &dyn Random) -> (String, Vec<HeaderValue>) {
    if let Some(t) = cookie(headers, wire::cookie::CSRF.name(fapi.secure))
        .filter(|t| t.len() >= 32 && t.len() <= 64)
    {
        return (t, Vec::new());
    }
    let t = random.token(32);
    let set = cookies::csrf(&t, fapi.secure).into_iter().collect();
    (t, set)
}

/// Whether a form POST comes from this host's own pages.
pub fn verify(headers: &HeaderMap, fapi: &Fapi, submitted: Option<&str>) -> bool {
    cookie(headers, wire::cookie::CSRF.name(fapi.secure))
        .is_some_and(|expected| csrf::tokens_match(&expected, submitted))
        && csrf::same_origin(headers, &fapi.origin)
}

/// `verify`, as the error page a failed check shows.
pub fn require(headers: &HeaderMap, fapi: &Fapi, submitted: Option<&str>) -> Result<(), PageError> {
    if verify(headers, fapi, submitted) {
        Ok(())
    } else {
        Err(PageError::form_expired())
    }
}
