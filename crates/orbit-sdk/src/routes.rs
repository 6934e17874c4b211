//! Route matching in the shape of the seed's `createRouteMatcher(['/'])`: exact paths, `:name`
//! for one segment, and a trailing `(.*)` or `*` for anything below.

#[derive(Debug, Clone)]
pub struct RouteMatcher {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone)]
struct Pattern {
    segments: Vec<String>,
    rest: bool,
}

impl RouteMatcher {
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(patterns: I) -> Self {
        Self {
            patterns: patterns
                .into_iter()
                .map(|p| {
                    let p = p.as_ref();
                    let (base, rest) = match p.strip_suffix("(.*)").or_else(|| p.strip_suffix('*'))
                    {
                        Some(b) => (b, true),
                        None => (p, false),
                    };
                    Pattern {
                        segments: segments(base).map(str::to_owned).collect(),
                        rest,
                    }
                })
                .collect(),
        }
    }

    pub fn matches(&self, path: &str) -> bool {
        let parts: Vec<&str> = segments(path).collect();
        self.patterns.iter().any(|p| {
            if parts.len() < p.segments.len() || (!p.rest && parts.len() != p.segments.len()) {
                return false;
            }
            p.segments
                .iter()
                .zip(&parts)
                .all(|(want, got)| want.starts_with(':') || want == got)
        })
    }
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let m = RouteMatcher::new(["/", "/blog(.*)", "/users/:id", "/api/public*"]);
        for (path, want) in [
            ("/", true),
            ("", true),
            ("/profile", false),
            ("/blog", true),
            ("/blog/2026/post", true),
            ("/blogger", false),
            ("/users/42", true),
            ("/users/42/edit", false),
            ("/users", false),
            ("/api/public/x", true),
            ("/api/private", false),
        ] {
            assert_eq!(m.matches(path), want, "{path}");
        }
        assert!(!RouteMatcher::new(["/"]).matches("/anything"));
    }
}
