//! Reading request cookies. Hostile input never panics: malformed pairs are skipped.

use http::HeaderMap;

/// All cookies of a request; for a repeated name the first occurrence wins (as browsers and
/// `@clerk/backend` read them).
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
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}
