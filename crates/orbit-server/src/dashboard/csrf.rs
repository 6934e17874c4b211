//! The dashboard's CSRF protection (docs/design/dashboard.md "CSRF"). Every POST carries a
//! token (`csrf_token`) and, when the browser sends an `Origin`, comes from the dashboard's own
//! origin (`browser::csrf::same_origin`).
//! - Signed in: the token is derived from the session's cookie value (its SHA-256 under a
//!   label of its own), so it is tied to the session, needs no storage, and only a page that
//!   could read the HttpOnly cookie could compute it. [`require`].
//! - Before a session (sign-in, setup): a random token in a host-only, SameSite=Strict cookie
//!   that the form echoes (double submit). [`pre_session`], [`require_pre_session`].

use super::{DashboardError, Operator, Site};
use crate::browser::{cookies, csrf, PageError};
use crate::extract::cookie;
use axum::http::{HeaderMap, HeaderValue};
use orbit_core::Random;
use orbit_proto::wire;

/// The CSRF token of the session whose cookie value is `session_token`.
pub fn session_csrf(session_token: &str) -> String {
    orbit_core::keys::token_hash(&format!("orbit dashboard csrf\n{session_token}"))
}

/// Checks a signed-in form: its `submitted` token must be the session's, and its origin the
/// dashboard's.
pub fn require(
    headers: &HeaderMap,
    operator: &Operator,
    submitted: Option<&str>,
) -> Result<(), DashboardError> {
    if csrf::tokens_match(&operator.csrf, submitted)
        && csrf::same_origin(headers, &operator.site.origin)
    {
        Ok(())
    } else {
        Err(PageError::form_expired().into())
    }
}

/// The pre-session token of this browser, and a `Set-Cookie` when it had none yet.
pub fn pre_session(
    headers: &HeaderMap,
    site: &Site,
    random: &dyn Random,
) -> (String, Vec<HeaderValue>) {
    if let Some(t) = cookie(headers, wire::cookie::DASHBOARD_CSRF.name(site.secure))
        .filter(|t| t.len() >= 32 && t.len() <= 64)
    {
        return (t, Vec::new());
    }
    let t = random.token(32);
    let set = cookies::dashboard_csrf(&t, site.secure)
        .into_iter()
        .collect();
    (t, set)
}

/// Checks a form sent before sign-in: its `submitted` token must be the browser's pre-session
/// cookie, and its origin the dashboard's.
pub fn require_pre_session(
    headers: &HeaderMap,
    site: &Site,
    submitted: Option<&str>,
) -> Result<(), DashboardError> {
    let expected = cookie(headers, wire::cookie::DASHBOARD_CSRF.name(site.secure));
    if expected.is_some_and(|e| csrf::tokens_match(&e, submitted))
        && csrf::same_origin(headers, &site.origin)
    {
        Ok(())
    } else {
        Err(PageError::form_expired().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_tokens_differ_by_session_and_from_the_cookie() {
        let a = session_csrf("token-a");
        assert_eq!(a, session_csrf("token-a"));
        assert_ne!(a, session_csrf("token-b"));
        assert_ne!(
            a,
            orbit_core::keys::token_hash("token-a"),
            "not the stored hash"
        );
        assert_eq!(a.len(), 64);
    }
}
