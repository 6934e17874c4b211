//! Redirect validation (docs/protocol.md "Redirect validation").
//!
//! Every `redirect_url` (and its relatives) that a client hands us is checked
//! here before it can reach a `Location` header. The rules, in order:
//!
//! 1. the raw input must be non-empty, carry no leading/trailing ASCII
//!    whitespace, no ASCII control character and no backslash (parsers
//!    disagree about all of these, so we refuse rather than guess);
//! 2. it is parsed with the WHATWG parser of the `url` crate; a relative
//!    reference is resolved against the origin serving the page;
//! 3. only `https` (and `http` for development instances or loopback hosts)
//!    is accepted, and no userinfo;
//! 4. the resulting origin must be the serving origin or match one of the
//!    instance's allowed origin patterns.
//!
//! What is redirected to is always the re-serialised [`url::Url`], never the
//! raw input, so whatever the browser sees is exactly what was validated.

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

/// Why a redirect URL or an allowed-origin pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    #[error("redirect_url is empty")]
    Empty,
    #[error("redirect_url is not a valid URL: {0}")]
    Unparseable(String),
    #[error(
        "redirect_url must use https (or http for development instances and localhost), not {0}"
    )]
    Scheme(String),
    #[error("redirect_url must not contain a user name or password")]
    Userinfo,
    #[error("the origin {origin} is not allowed; add it to the instance's allowed redirect origins or register it as a satellite domain")]
    NotAllowed { origin: String },
    #[error("invalid allowed origin {input:?}: {reason}")]
    BadPattern { input: String, reason: String },
}

/// The two schemes a redirect may use; anything else never leaves `parse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn from_url(url: &Url) -> Option<Self> {
        // The url crate lower-cases schemes, so "HTTPS:" arrives as "https".
        match url.scheme() {
            "http" => Some(Scheme::Http),
            "https" => Some(Scheme::Https),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// The host part of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    /// Exactly this host (domain already lower-cased and punycoded, or an IP).
    Exact(Host<String>),
    /// Any host with at least one label in front of `.suffix`; the suffix
    /// itself is not matched.
    Wildcard(String),
}

/// An allowed redirect origin: scheme, host (or `*.suffix`) and port.
///
/// The port is stored after default-port normalisation, so
/// `https://a.com` and `https://a.com:443` are the same pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPattern {
    scheme: Scheme,
    host: HostPattern,
    port: u16,
}

/// A validated, absolute redirect URL. Only this (never the raw input) goes
/// into a `Location` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectTarget(Url);

/// The set of origins an instance may redirect to.
#[derive(Debug, Clone, Default)]
pub struct RedirectPolicy {
    allow_http: bool,
    allowed: Vec<OriginPattern>,
}

/// Refuses input that browsers, proxies and the `url` crate could read
/// differently: the WHATWG parser silently strips leading/trailing
/// C0-or-space, deletes tabs and newlines anywhere, and treats `\` as `/`.
fn check_raw_chars(raw: &str) -> Result<(), &'static str> {
    if raw.starts_with(|c: char| c.is_ascii_whitespace())
        || raw.ends_with(|c: char| c.is_ascii_whitespace())
    {
        return Err("leading or trailing whitespace");
    }
    if raw.chars().any(|c| c.is_ascii_control()) {
        return Err("control character (tab, newline, NUL, ...)");
    }
    if raw.contains('\\') {
        return Err("backslash");
    }
    Ok(())
}

fn bad_pattern(input: &str, reason: impl Into<String>) -> RedirectError {
    RedirectError::BadPattern {
        input: input.to_owned(),
        reason: reason.into(),
    }
}

/// Loopback hosts, where plain http cannot be intercepted on the wire.
fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => *d == "localhost" || d.ends_with(".localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Checks the labels of a domain taken from a pattern: no empty labels (so
/// no trailing dot and no "a..b") and no `*` (wildcards are handled by the
/// caller before this).
fn check_pattern_domain(input: &str, domain: &str) -> Result<(), RedirectError> {
    if domain.split('.').any(str::is_empty) {
        return Err(bad_pattern(
            input,
            "the host has an empty label (or a trailing dot)",
        ));
    }
    if domain.contains('*') {
        return Err(bad_pattern(
            input,
            "a wildcard is only allowed as the whole leftmost label, as in https://*.example.com",
        ));
    }
    Ok(())
}

impl OriginPattern {
    /// Parses "https://app.example.com", "http://localhost:3000",
    /// "https://*.example.com" (wildcard only as the whole leftmost label)
    /// or "https://example.com:8443". Hosts are normalised by the url crate
    /// (lower-case, IDNA to punycode), so "https://BÜCHER.example" equals
    /// "https://xn--bcher-kva.example".
    pub fn parse(input: &str) -> Result<Self, RedirectError> {
        if input.is_empty() {
            return Err(bad_pattern(input, "empty"));
        }
        check_raw_chars(input).map_err(|why| bad_pattern(input, format!("contains a {why}")))?;
        let url = Url::parse(input).map_err(|e| bad_pattern(input, e.to_string()))?;
        let scheme = Scheme::from_url(&url).ok_or_else(|| {
            bad_pattern(
                input,
                format!("scheme must be https or http, not {}", url.scheme()),
            )
        })?;
        if !url.username().is_empty() || url.password().is_some() || input.contains('@') {
            return Err(bad_pattern(
                input,
                "must not contain a user name or password",
            ));
        }
        // Special-scheme URLs always have a path; "" and "/" both become "/".
        if url.path() != "/" {
            return Err(bad_pattern(input, "must be an origin only, without a path"));
        }
        if url.query().is_some() {
            return Err(bad_pattern(input, "must not contain a query"));
        }
        if url.fragment().is_some() {
            return Err(bad_pattern(input, "must not contain a fragment"));
        }
        let port = url.port_or_known_default().unwrap_or(scheme.default_port());
        let host = match url.host() {
            None => return Err(bad_pattern(input, "has no host")),
            Some(Host::Domain(d)) => match d.strip_prefix("*.") {
                Some(suffix) => {
                    check_pattern_domain(input, suffix)?;
                    Self::check_wildcard_suffix(input, suffix)?;
                    HostPattern::Wildcard(suffix.to_owned())
                }
                None => {
                    check_pattern_domain(input, d)?;
                    HostPattern::Exact(Host::Domain(d.to_owned()))
                }
            },
            Some(ip) => HostPattern::Exact(ip.to_owned()),
        };
        Ok(OriginPattern { scheme, host, port })
    }

    /// A wildcard over a public suffix ("*.com", "*.co.uk", "*.github.io")
    /// would hand redirects to every customer of that registry or hoster.
    fn check_wildcard_suffix(input: &str, suffix: &str) -> Result<(), RedirectError> {
        if suffix.parse::<IpAddr>().is_ok() {
            return Err(bad_pattern(
                input,
                "a wildcard cannot stand over an IP address",
            ));
        }
        // psl applies the implicit "*" rule, so a single label ("localhost",
        // "test") also counts as a public suffix here.
        let is_public =
            psl::suffix(suffix.as_bytes()).is_some_and(|s| s.as_bytes() == suffix.as_bytes());
        if is_public {
            return Err(bad_pattern(
                input,
                format!("a wildcard cannot stand directly over the public suffix {suffix:?}"),
            ));
        }
        Ok(())
    }

    /// The exact origin of a URL (scheme, host, port) as a pattern.
    pub fn from_url(url: &Url) -> Result<Self, RedirectError> {
        let scheme =
            Scheme::from_url(url).ok_or_else(|| RedirectError::Scheme(url.scheme().to_owned()))?;
        let host = url
            .host()
            .ok_or_else(|| bad_pattern(url.as_str(), "has no host"))?
            .to_owned();
        let port = url.port_or_known_default().unwrap_or(scheme.default_port());
        Ok(OriginPattern {
            scheme,
            host: HostPattern::Exact(host),
            port,
        })
    }

    /// Whether `url`'s (scheme, host, port) falls under this pattern. Ports
    /// are compared after default-port normalisation.
    pub fn matches(&self, url: &Url) -> bool {
        if Scheme::from_url(url) != Some(self.scheme)
            || url.port_or_known_default() != Some(self.port)
        {
            return false;
        }
        let Some(host) = url.host() else {
            return false;
        };
        match &self.host {
            HostPattern::Exact(h) => host == *h,
            HostPattern::Wildcard(suffix) => match host {
                // A literal "*" in the URL's host is never a real host name.
                Host::Domain(d) if !d.contains('*') => d
                    .strip_suffix(suffix.as_str())
                    .and_then(|front| front.strip_suffix('.'))
                    .is_some_and(|labels| !labels.split('.').any(str::is_empty)),
                _ => false,
            },
        }
    }
}

impl fmt::Display for OriginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.as_str())?;
        match &self.host {
            HostPattern::Exact(h) => write!(f, "{h}")?,
            HostPattern::Wildcard(suffix) => write!(f, "*.{suffix}")?,
        }
        if self.port != self.scheme.default_port() {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

/// Same (scheme, host, port) after default-port normalisation.
fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host() == b.host()
        && a.port_or_known_default() == b.port_or_known_default()
}

impl RedirectPolicy {
    /// `allow_http`: true for development instances (http allowed for any
    /// allowed origin); when false, http is accepted only for loopback hosts
    /// (localhost, *.localhost, 127.0.0.0/8, [::1]).
    pub fn new(allow_http: bool) -> Self {
        RedirectPolicy {
            allow_http,
            allowed: Vec::new(),
        }
    }

    /// Adds an allowed origin (an instance's allowed origin or a satellite).
    pub fn allow(&mut self, pattern: OriginPattern) {
        if !self.allowed.contains(&pattern) {
            self.allowed.push(pattern);
        }
    }

    /// Builder form of [`RedirectPolicy::allow`].
    pub fn with(mut self, pattern: OriginPattern) -> Self {
        self.allow(pattern);
        self
    }

    /// Validates `raw`. Relative references ("/user?x=1", "user") are
    /// resolved against `base`, the origin serving the page, which is always
    /// allowed itself; with no base a relative reference is `Unparseable`.
    ///
    /// Anything that carries a scheme is parsed on its own, never joined: the
    /// WHATWG parser would otherwise resolve "https:evil.com" against an
    /// https base as a *path*, while without a base it means https://evil.com.
    pub fn check(&self, raw: &str, base: Option<&Url>) -> Result<RedirectTarget, RedirectError> {
        if raw.is_empty() {
            return Err(RedirectError::Empty);
        }
        check_raw_chars(raw)
            .map_err(|why| RedirectError::Unparseable(format!("contains a {why}")))?;
        let url = match Url::parse(raw) {
            Ok(url) => url,
            Err(url::ParseError::RelativeUrlWithoutBase) => match base {
                Some(base) => base
                    .join(raw)
                    .map_err(|e| RedirectError::Unparseable(e.to_string()))?,
                None => {
                    return Err(RedirectError::Unparseable(
                        "a relative URL needs a base, and there is none here".to_owned(),
                    ))
                }
            },
            Err(e) => return Err(RedirectError::Unparseable(e.to_string())),
        };
        let scheme =
            Scheme::from_url(&url).ok_or_else(|| RedirectError::Scheme(url.scheme().to_owned()))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(RedirectError::Userinfo);
        }
        let host = url
            .host()
            .ok_or_else(|| RedirectError::Unparseable("the URL has no host".to_owned()))?;
        if scheme == Scheme::Http && !self.allow_http && !is_loopback(&host) {
            return Err(RedirectError::Scheme("http".to_owned()));
        }
        let allowed = base.is_some_and(|b| same_origin(b, &url))
            || self.allowed.iter().any(|p| p.matches(&url));
        if !allowed {
            return Err(RedirectError::NotAllowed {
                origin: url.origin().ascii_serialization(),
            });
        }
        Ok(RedirectTarget(url))
    }

    /// Like [`RedirectPolicy::check`], but returns `fallback` on any error
    /// (or when there is no input): "otherwise to a safe default".
    pub fn check_or(
        &self,
        raw: Option<&str>,
        base: Option<&Url>,
        fallback: RedirectTarget,
    ) -> RedirectTarget {
        match raw {
            Some(raw) => self.check(raw, base).unwrap_or(fallback),
            None => fallback,
        }
    }
}

impl RedirectTarget {
    /// The re-serialised absolute URL; this is what goes in `Location`.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The validated URL, for callers that need its parts.
    pub fn url(&self) -> &Url {
        &self.0
    }

    /// e.g. "https://app.example.com" (ASCII serialisation, default port omitted).
    pub fn origin(&self) -> String {
        self.0.origin().ascii_serialization()
    }

    /// For defaults the server builds itself, which need no validation.
    pub fn from_trusted(url: Url) -> Self {
        RedirectTarget(url)
    }
}

impl fmt::Display for RedirectTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a row of the table expects.
    #[derive(Debug)]
    enum Want {
        /// Accepted; the exact `as_str()` (the url crate's serialisation).
        Ok(&'static str),
        Empty,
        Unparseable,
        Scheme(&'static str),
        Userinfo,
        NotAllowed(&'static str),
    }
    use Want::*;

    fn base() -> Url {
        Url::parse("https://clerk.primary.test").unwrap()
    }

    fn policy() -> RedirectPolicy {
        let mut p = RedirectPolicy::new(false);
        for o in [
            "https://primary.test",
            "https://satellite.test",
            "http://localhost:3001",
            "https://*.apps.example.com",
            "https://ports.example.com:8443",
        ] {
            p.allow(OriginPattern::parse(o).unwrap());
        }
        p
    }

    fn check(input: &str, want: &Want) {
        let got = policy().check(input, Some(&base()));
        match (want, got) {
            (Ok(expected), Result::Ok(target)) => {
                assert_eq!(target.as_str(), *expected, "input {input:?}");
                // as_str is exactly the url crate's serialisation, and stable.
                let reparsed = Url::parse(expected).unwrap();
                assert_eq!(target.as_str(), reparsed.as_str(), "input {input:?}");
                assert_eq!(target.url(), &reparsed, "input {input:?}");
                assert_eq!(target.origin(), reparsed.origin().ascii_serialization());
            }
            (Empty, Err(RedirectError::Empty))
            | (Unparseable, Err(RedirectError::Unparseable(_)))
            | (Userinfo, Err(RedirectError::Userinfo)) => {}
            (Scheme(s), Err(RedirectError::Scheme(got))) => assert_eq!(got, *s, "input {input:?}"),
            (NotAllowed(o), Err(RedirectError::NotAllowed { origin })) => {
                assert_eq!(origin, *o, "input {input:?}")
            }
            (want, got) => panic!("input {input:?}: wanted {want:?}, got {got:?}"),
        }
    }

    const CYRILLIC_A: &str = "https://prim\u{430}ry.test";

    const TABLE: &[(&str, Want)] = &[
        // ---- accepted ----
        ("/user", Ok("https://clerk.primary.test/user")),
        ("/user?x=1#y", Ok("https://clerk.primary.test/user?x=1#y")),
        ("user", Ok("https://clerk.primary.test/user")),
        (
            "/./user/../dashboard",
            Ok("https://clerk.primary.test/dashboard"),
        ),
        (
            "https://clerk.primary.test/v1/x",
            Ok("https://clerk.primary.test/v1/x"),
        ),
        (
            "https://primary.test/dashboard",
            Ok("https://primary.test/dashboard"),
        ),
        ("https://PRIMARY.test/x", Ok("https://primary.test/x")),
        (
            "https://satellite.test/?__clerk_synced=false",
            Ok("https://satellite.test/?__clerk_synced=false"),
        ),
        (
            "https://a.apps.example.com/",
            Ok("https://a.apps.example.com/"),
        ),
        (
            "https://a.b.apps.example.com/",
            Ok("https://a.b.apps.example.com/"),
        ),
        (
            "https://A.APPS.EXAMPLE.COM/Path",
            Ok("https://a.apps.example.com/Path"),
        ),
        (
            "https://ports.example.com:8443/x",
            Ok("https://ports.example.com:8443/x"),
        ),
        ("https://primary.test:443/", Ok("https://primary.test/")),
        ("https://primary.test:0443/", Ok("https://primary.test/")),
        (
            "http://localhost:3001/profile",
            Ok("http://localhost:3001/profile"),
        ),
        // Percent-encoded "https://evil.com" is only a path segment: stays on the base.
        (
            "https%3A%2F%2Fevil.com",
            Ok("https://clerk.primary.test/https%3A%2F%2Fevil.com"),
        ),
        // Fullwidth solidi are not slashes: a relative path on the base.
        (
            "\u{FF0F}\u{FF0F}evil.com",
            Ok("https://clerk.primary.test/%EF%BC%8F%EF%BC%8Fevil.com"),
        ),
        // The WHATWG parser percent-decodes hosts: this *is* primary.test.
        ("https://primary%2Etest/", Ok("https://primary.test/")),
        // Empty userinfo is dropped by the parser; the Location carries no "@".
        ("https://@primary.test/", Ok("https://primary.test/")),
        // ---- rejected: userinfo ----
        ("https://primary.test@evil.com", Userinfo),
        ("https://user:pw@primary.test/", Userinfo),
        ("https://evil.com%2F@primary.test", Userinfo),
        ("//primary.test@evil.com", Userinfo),
        ("http://localhost:3001@evil.com", Userinfo),
        // ---- rejected: backslashes (WHATWG reads them as "/") ----
        ("/\\evil.com", Unparseable),
        ("\\\\evil.com", Unparseable),
        ("https:\\\\evil.com", Unparseable),
        ("https://primary.test\\@evil.com", Unparseable),
        // ---- rejected: protocol-relative and scheme-relative ----
        ("//evil.com", NotAllowed("https://evil.com")),
        // Browsers resolve this to https://evil.com/; the url crate (2.5.8)
        // refuses it as "empty host". Rejected either way.
        ("///evil.com", Unparseable),
        ("https:///evil.com", NotAllowed("https://evil.com")),
        ("https:evil.com", NotAllowed("https://evil.com")),
        ("https:/evil.com", NotAllowed("https://evil.com")),
        // ---- rejected: schemes ----
        ("javascript:alert(1)", Scheme("javascript")),
        ("JaVaScRiPt:alert(1)", Scheme("javascript")),
        (
            "javascript://primary.test/%0aalert(1)",
            Scheme("javascript"),
        ),
        ("data:text/html,x", Scheme("data")),
        ("vbscript:", Scheme("vbscript")),
        ("file:///etc/passwd", Scheme("file")),
        ("ftp://primary.test", Scheme("ftp")),
        ("blob:https://primary.test/x", Scheme("blob")),
        ("http://primary.test", Scheme("http")),
        ("HTTP://PRIMARY.TEST/", Scheme("http")),
        // ---- rejected: look-alike and lexical tricks on the host ----
        (CYRILLIC_A, NotAllowed("https://xn--primry-6nf.test")),
        (
            "https://xn--primry-6nf.test",
            NotAllowed("https://xn--primry-6nf.test"),
        ),
        (
            "https://primary.test.evil.com",
            NotAllowed("https://primary.test.evil.com"),
        ),
        (
            "https://evilprimary.test",
            NotAllowed("https://evilprimary.test"),
        ),
        (
            "https://primary.test./",
            NotAllowed("https://primary.test."),
        ),
        (
            "https://evil.com\u{3002}primary.test",
            NotAllowed("https://evil.com.primary.test"),
        ),
        ("https://primary.test%00.evil.com", Unparseable),
        ("https://primary.test%40evil.com", Unparseable),
        ("https://0x7f000001", NotAllowed("https://127.0.0.1")),
        ("https://[::1]/", NotAllowed("https://[::1]")),
        // ---- rejected: wildcard edges ----
        (
            "https://apps.example.com",
            NotAllowed("https://apps.example.com"),
        ),
        (
            "https://xapps.example.com",
            NotAllowed("https://xapps.example.com"),
        ),
        (
            "https://a..apps.example.com/",
            NotAllowed("https://a..apps.example.com"),
        ),
        (
            "https://*.apps.example.com/",
            NotAllowed("https://*.apps.example.com"),
        ),
        // ---- rejected: ports and scheme/origin mismatch ----
        (
            "https://primary.test:8443",
            NotAllowed("https://primary.test:8443"),
        ),
        (
            "https://ports.example.com",
            NotAllowed("https://ports.example.com"),
        ),
        ("https://satellite.test:443.evil.com", Unparseable),
        (
            "https://localhost:3001/",
            NotAllowed("https://localhost:3001"),
        ),
        (
            "http://localhost:3002/",
            NotAllowed("http://localhost:3002"),
        ),
        // ---- rejected: whitespace and control characters ----
        ("", Empty),
        (" https://primary.test", Unparseable),
        ("https://primary.test ", Unparseable),
        ("https://pri mary.test", Unparseable),
        ("https://pri\tmary.test", Unparseable),
        ("https://pri\nmary.test", Unparseable),
        ("/\t/evil.com", Unparseable),
        ("https://primary.test/\0", Unparseable),
        ("https://primary.test/\u{7f}", Unparseable),
        // ---- rejected: the allowed origin only in the query or fragment ----
        (
            "https://evil.com#https://primary.test",
            NotAllowed("https://evil.com"),
        ),
        (
            "https://evil.com?https://primary.test",
            NotAllowed("https://evil.com"),
        ),
    ];

    #[test]
    fn redirect_table() {
        let accepted = TABLE.iter().filter(|(_, w)| matches!(w, Ok(_))).count();
        assert!(
            TABLE.len() >= 40 && TABLE.len() - accepted >= 30,
            "table too small"
        );
        for (input, want) in TABLE {
            check(input, want);
        }
    }

    #[test]
    fn pattern_table() {
        let table: &[(&str, Option<&str>)] = &[
            ("https://app.example.com", Some("https://app.example.com")),
            ("https://app.example.com/", Some("https://app.example.com")),
            ("HTTPS://APP.Example.COM", Some("https://app.example.com")),
            ("http://localhost:3000", Some("http://localhost:3000")),
            ("https://*.example.com", Some("https://*.example.com")),
            (
                "https://*.example.com:8443",
                Some("https://*.example.com:8443"),
            ),
            (
                "https://*.apps.example.co.uk",
                Some("https://*.apps.example.co.uk"),
            ),
            ("https://example.com:8443", Some("https://example.com:8443")),
            ("https://example.com:443", Some("https://example.com")),
            ("http://example.com:80/", Some("http://example.com")),
            (
                "https://BÜCHER.example",
                Some("https://xn--bcher-kva.example"),
            ),
            ("http://127.0.0.1:3000", Some("http://127.0.0.1:3000")),
            ("http://[::1]:3000", Some("http://[::1]:3000")),
            ("", None),
            ("app.example.com", None),
            ("https://app.example.com/path", None),
            ("https://app.example.com?x=1", None),
            ("https://app.example.com?", None),
            ("https://app.example.com#x", None),
            ("https://u:p@app.example.com", None),
            ("https://@app.example.com", None),
            ("ftp://app.example.com", None),
            ("javascript:alert(1)", None),
            ("https://*example.com", None),
            ("https://a.*.com", None),
            ("https://*.*.example.com", None),
            ("https://*", None),
            ("https://*.", None),
            ("https://*.com", None),
            ("https://*.co.uk", None),
            ("https://*.github.io", None),
            ("https://*.localhost", None),
            ("https://*.127.0.0.1", None),
            ("https://*.[::1]", None),
            ("https://example.com.", None),
            ("https://a..example.com", None),
            (" https://app.example.com", None),
            ("https://app.example.com\\", None),
            ("https://app\t.example.com", None),
        ];
        assert!(table.len() >= 12);
        for (input, want) in table {
            match (OriginPattern::parse(input), want) {
                (Result::Ok(p), Some(display)) => {
                    assert_eq!(p.to_string(), *display, "pattern {input:?}")
                }
                (Err(RedirectError::BadPattern { input: i, .. }), None) => assert_eq!(i, *input),
                (got, want) => panic!("pattern {input:?}: wanted {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn patterns_compare_normalised() {
        let p = |s: &str| OriginPattern::parse(s).unwrap();
        assert_eq!(
            p("https://BÜCHER.example"),
            p("https://xn--bcher-kva.example")
        );
        assert_eq!(p("https://a.com:443"), p("https://a.com/"));
        assert_ne!(p("https://a.com"), p("http://a.com"));
        assert_ne!(p("https://a.com"), p("https://a.com:8443"));
        assert_ne!(p("https://*.a.com"), p("https://x.a.com"));
    }

    #[test]
    fn pattern_from_url_is_exact_origin() {
        let url = Url::parse("https://App.example.com:443/x?y#z").unwrap();
        let p = OriginPattern::from_url(&url).unwrap();
        assert_eq!(p.to_string(), "https://app.example.com");
        assert!(p.matches(&Url::parse("https://app.example.com/other").unwrap()));
        assert!(!p.matches(&Url::parse("https://x.app.example.com/").unwrap()));
        let ftp = Url::parse("ftp://example.com").unwrap();
        assert_eq!(
            OriginPattern::from_url(&ftp),
            Err(RedirectError::Scheme("ftp".into()))
        );
    }

    #[test]
    fn wildcard_matching() {
        let p = OriginPattern::parse("https://*.example.com").unwrap();
        let m = |s: &str| p.matches(&Url::parse(s).unwrap());
        assert!(m("https://x.example.com/"));
        assert!(m("https://a.b.example.com/"));
        assert!(m("https://x.example.com:443/"));
        assert!(!m("https://example.com/"));
        assert!(!m("https://evilexample.com/"));
        assert!(!m("https://x.example.com:8443/"));
        assert!(!m("http://x.example.com/"));
        assert!(!m("https://x.example.com.evil.com/"));
    }

    #[test]
    fn development_instance_allows_http_for_allowed_origins() {
        let p =
            RedirectPolicy::new(true).with(OriginPattern::parse("https://primary.test").unwrap());
        // http only for origins that are allowed as http.
        assert_eq!(
            p.check("http://primary.test/x", None),
            Err(RedirectError::NotAllowed {
                origin: "http://primary.test".into()
            })
        );
        let p = p.with(OriginPattern::parse("http://primary.test").unwrap());
        assert_eq!(
            p.check("http://primary.test/x", None).unwrap().as_str(),
            "http://primary.test/x"
        );
        // A plain-http base is same-origin on a development instance.
        let dev_base = Url::parse("http://clerk.dev.test:8080").unwrap();
        assert_eq!(
            p.check("/a", Some(&dev_base)).unwrap().as_str(),
            "http://clerk.dev.test:8080/a"
        );
        // Production refuses the same http base redirect.
        let prod = RedirectPolicy::new(false);
        assert_eq!(
            prod.check("/a", Some(&dev_base)),
            Err(RedirectError::Scheme("http".into()))
        );
    }

    #[test]
    fn production_allows_http_only_on_loopback() {
        let p = RedirectPolicy::new(false)
            .with(OriginPattern::parse("http://127.0.0.1:3000").unwrap())
            .with(OriginPattern::parse("http://[::1]:3000").unwrap())
            .with(OriginPattern::parse("http://app.localhost").unwrap())
            .with(OriginPattern::parse("http://intranet.test").unwrap());
        let ok = |s: &str| p.check(s, None).map(|t| t.as_str().to_owned());
        assert_eq!(
            ok("http://127.0.0.1:3000/cb"),
            Result::Ok("http://127.0.0.1:3000/cb".into())
        );
        assert_eq!(
            ok("http://[::1]:3000/"),
            Result::Ok("http://[::1]:3000/".into())
        );
        assert_eq!(
            ok("http://app.localhost/"),
            Result::Ok("http://app.localhost/".into())
        );
        // Loopback but not allowed: the origin check still applies.
        assert_eq!(
            ok("http://127.0.0.2:3000/"),
            Err(RedirectError::NotAllowed {
                origin: "http://127.0.0.2:3000".into()
            })
        );
        // Allowed but not loopback: http is refused.
        assert_eq!(
            ok("http://intranet.test/"),
            Err(RedirectError::Scheme("http".into()))
        );
    }

    #[test]
    fn relative_without_base_is_unparseable() {
        let p = policy();
        assert!(matches!(
            p.check("/user", None),
            Err(RedirectError::Unparseable(_))
        ));
        assert!(matches!(
            p.check("user", None),
            Err(RedirectError::Unparseable(_))
        ));
        assert_eq!(
            p.check("https://primary.test/x", None).unwrap().as_str(),
            "https://primary.test/x"
        );
        // Without a base, the serving origin is not implicitly allowed.
        assert!(matches!(
            p.check("https://clerk.primary.test/", None),
            Err(RedirectError::NotAllowed { .. })
        ));
    }

    #[test]
    fn check_or_falls_back() {
        let p = policy();
        let b = base();
        let fallback =
            RedirectTarget::from_trusted(Url::parse("https://primary.test/home").unwrap());
        let go = |raw: Option<&str>| {
            p.check_or(raw, Some(&b), fallback.clone())
                .as_str()
                .to_owned()
        };
        assert_eq!(go(None), "https://primary.test/home");
        assert_eq!(go(Some("")), "https://primary.test/home");
        assert_eq!(go(Some("https://evil.com/")), "https://primary.test/home");
        assert_eq!(go(Some("javascript:alert(1)")), "https://primary.test/home");
        assert_eq!(go(Some("/user")), "https://clerk.primary.test/user");
    }

    #[test]
    fn target_accessors() {
        let t = policy()
            .check("https://ports.example.com:8443/a?b#c", None)
            .unwrap();
        assert_eq!(t.origin(), "https://ports.example.com:8443");
        assert_eq!(t.url().path(), "/a");
        assert_eq!(t.to_string(), t.as_str());
        let t = policy().check("https://primary.test:443/", None).unwrap();
        assert_eq!(t.origin(), "https://primary.test");
    }

    #[test]
    fn error_messages() {
        let e = policy().check("https://evil.com/x", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the origin https://evil.com is not allowed; add it to the instance's allowed redirect origins or register it as a satellite domain"
        );
        let e = OriginPattern::parse("https://*.com").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid allowed origin \"https://*.com\": "),
            "{e}"
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn policy() -> RedirectPolicy {
        RedirectPolicy::new(false)
            .with(OriginPattern::parse("https://primary.test").unwrap())
            .with(OriginPattern::parse("https://*.apps.example.com").unwrap())
    }

    fn allowed_origin(origin: &str) -> bool {
        let wildcard = origin
            .strip_prefix("https://")
            .and_then(|h| h.strip_suffix(".apps.example.com"))
            .is_some_and(|label| !label.is_empty() && !label.contains([':', '/', '@']));
        origin == "https://clerk.primary.test" || origin == "https://primary.test" || wildcard
    }

    proptest! {
        /// Whatever the input, an accepted target is on an allowed origin, carries no userinfo,
        /// and is the re-serialised URL (parsing it again gives the same string).
        #[test]
        fn accepted_targets_stay_on_allowed_origins(raw in "\\PC{0,60}", prefix in prop::sample::select(vec![
            "", "/", "//", "https://", "https://primary.test", "https://x.apps.example.com", "http://", "\\\\", "javascript:",
        ])) {
            let base = url::Url::parse("https://clerk.primary.test/").unwrap();
            let input = format!("{prefix}{raw}");
            if let Ok(t) = policy().check(&input, Some(&base)) {
                let origin = t.origin();
                prop_assert!(allowed_origin(&origin), "{input:?} -> {origin}");
                prop_assert_eq!(t.url().username(), "");
                prop_assert!(t.url().password().is_none());
                let reparsed = url::Url::parse(t.as_str()).unwrap();
                prop_assert_eq!(reparsed.as_str(), t.as_str());
            }
        }
    }
}
