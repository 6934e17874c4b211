//! Reading request cookies. Hostile input never panics: malformed pairs are skipped.

use http::HeaderMap;

/// All cookies of a request. A name sent more than once is read as absent: the `Cookie` header
/// does not say which host set which, so a sibling or parent host under the same registrable
/// domain could toss a second `__clerk_handshake_nonce` or `__session` (its own session: login
/// CSRF). Absent means signed out or a fresh handshake, which the server answers for this
/// host alone. (`@clerk/backend` takes the first; Orbit's server reads a repeated name as
/// absent too.)
pub(crate) struct Cookies(Vec<(String, String)>);

impl Cookies {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut v = Vec::new();
        for h in headers.get_all(http::header::COOKIE) {
            let Ok(s) = h.to_str() else { continue };
            for pair in s.split(';') {
                let Some((k, val)) = pair.split_once('=') else {
                    continue;
                };
                let k = k.trim();
                if k.is_empty() || k.len() > 256 {
                    continue;
                }
                v.push((k.to_owned(), val.trim().trim_matches('"').to_owned()));
            }
        }
        Cookies(v)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        let mut values = self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
        let first = values.next()?;
        if values.next().is_some() {
            return None;
        }
        Some(first.as_str()).filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(header: &str) -> Cookies {
        let mut h = HeaderMap::new();
        h.append(http::header::COOKIE, header.parse().unwrap());
        Cookies::from_headers(&h)
    }

    #[test]
    fn a_repeated_name_is_absent() {
        let c = of("__session=a; __clerk_handshake_nonce=n1; x=1; __clerk_handshake_nonce=n2");
        assert_eq!(c.get("__session"), Some("a"));
        assert_eq!(c.get("x"), Some("1"));
        assert_eq!(c.get("__clerk_handshake_nonce"), None);
        // Across two Cookie header lines too.
        let mut h = HeaderMap::new();
        h.append(http::header::COOKIE, "__session=a".parse().unwrap());
        h.append(http::header::COOKIE, "__session=b".parse().unwrap());
        assert_eq!(Cookies::from_headers(&h).get("__session"), None);
        assert_eq!(of("__session=").get("__session"), None, "empty is absent");
    }
}
