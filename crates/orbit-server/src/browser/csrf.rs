//! What every CSRF check of Orbit's forms shares, the hosted pages' (`portal/csrf.rs`) and the
//! dashboard's (`dashboard/csrf.rs`): the comparison of the submitted token with the one
//! expected, and the check that the form was sent from a page of this origin.

use axum::http::{header, HeaderMap};

/// Whether `submitted` is `expected` (compared in constant time). An expected token shorter
/// than 32 characters is never matched: it is not one Orbit made.
pub fn tokens_match(expected: &str, submitted: Option<&str>) -> bool {
    submitted.is_some_and(|s| {
        expected.len() >= 32
            && orbit_core::keys::constant_time_eq(expected.as_bytes(), s.as_bytes())
    })
}

/// Whether the request comes from a page of `origin`: its `Origin` when it sends one, else the
/// origin of its `Referer`. A request with neither is refused: browsers send `Origin` on every
/// form POST, and the pages' referrer policy keeps the `Referer` of same-origin requests.
pub fn same_origin(headers: &HeaderMap, origin: &str) -> bool {
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(o) => o == origin,
        None => headers
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|r| url::Url::parse(r).ok())
            .is_some_and(|u| u.origin().ascii_serialization() == origin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn origins() {
        let with = |name, value| {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_static(value));
            h
        };
        let me = "https://orbit.test";
        assert!(same_origin(&with(header::ORIGIN, "https://orbit.test"), me));
        assert!(!same_origin(&with(header::ORIGIN, "https://evil.test"), me));
        assert!(!same_origin(&with(header::ORIGIN, "null"), me));
        assert!(same_origin(
            &with(header::REFERER, "https://orbit.test/dashboard?x=1"),
            me
        ));
        assert!(!same_origin(
            &with(header::REFERER, "https://orbit.test.evil.test/"),
            me
        ));
        assert!(!same_origin(&HeaderMap::new(), me));
    }

    #[test]
    fn tokens() {
        let t = "a".repeat(43);
        assert!(tokens_match(&t, Some(&t)));
        assert!(!tokens_match(&t, Some("a")));
        assert!(!tokens_match(&t, None));
        assert!(!tokens_match("short", Some("short")));
    }
}
