//! Domain names of an instance's domains (issue 3 §1): normalised, and refused when they could
//! not work or would be dangerous — public suffixes (`co.uk`, `github.io`), IP literals in
//! production, paths or credentials.

use orbit_proto::InstanceKind;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainNameError {
    #[error("enter a domain name such as satellite.example.com")]
    Empty,
    #[error("{0:?} is not a valid domain name")]
    Invalid(String),
    #[error("{0:?} must be a bare host name: no path, query, user name or password")]
    NotBare(String),
    #[error("{0:?} is a public suffix shared by unrelated sites; use a domain you own below it, such as app.{0}")]
    PublicSuffix(String),
    #[error("{0:?} is an IP address; production domains need a DNS name (IP addresses are fine in development)")]
    IpInProduction(String),
    #[error("{0:?} has a port; production domains are served on the default https port")]
    PortInProduction(String),
    #[error("{0:?} is a local name; production domains need a public DNS name")]
    LocalInProduction(String),
}

/// Normalises `input` (scheme and trailing slash allowed, as in the seed's `http://localhost:3001`)
/// to `host[:port]`, lower-case, IDNA in punycode.
pub fn normalize(input: &str, kind: InstanceKind) -> Result<String, DomainNameError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(DomainNameError::Empty);
    }
    let without_scheme = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .unwrap_or(trimmed);
    let bare = without_scheme.strip_suffix('/').unwrap_or(without_scheme);
    if bare.contains(['/', '?', '#', '@', '\\'])
        || bare.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(DomainNameError::NotBare(trimmed.to_owned()));
    }
    let url = url::Url::parse(&format!("http://{bare}/"))
        .map_err(|_| DomainNameError::Invalid(trimmed.to_owned()))?;
    let host = url
        .host()
        .ok_or_else(|| DomainNameError::Invalid(trimmed.to_owned()))?;
    let host_str = url.host_str().unwrap_or_default().to_owned();
    let is_ip = !matches!(host, url::Host::Domain(_));
    let name = match url.port() {
        Some(p) => format!("{host_str}:{p}"),
        None => host_str.clone(),
    };
    if kind == InstanceKind::Production {
        if is_ip {
            return Err(DomainNameError::IpInProduction(host_str));
        }
        if url.port().is_some() {
            return Err(DomainNameError::PortInProduction(name));
        }
        if host_str == "localhost" || host_str.ends_with(".localhost") || !host_str.contains('.') {
            return Err(DomainNameError::LocalInProduction(host_str));
        }
    }
    if !is_ip && host_str != "localhost" && !host_str.ends_with(".localhost") {
        if host_str.split('.').any(|l| l.is_empty() || l.len() > 63)
            || host_str.len() > 253
            || host_str.contains('*')
        {
            return Err(DomainNameError::Invalid(trimmed.to_owned()));
        }
        if host_str.contains('.') {
            // A name that is itself a public suffix has no registrable domain of its own.
            let registrable = psl::domain_str(&host_str);
            if registrable.is_none() {
                return Err(DomainNameError::PublicSuffix(host_str));
            }
        }
    }
    Ok(name)
}

/// The host part of a normalised name (without the port).
pub fn host_of(name: &str) -> &str {
    if name.starts_with('[') {
        return name
            .split(']')
            .next()
            .map(|h| &name[..h.len() + 1])
            .unwrap_or(name);
    }
    name.rsplit_once(':').map_or(name, |(h, _)| h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use InstanceKind::{Development as Dev, Production as Prod};

    fn check(input: &str, kind: InstanceKind, expected: Result<&str, DomainNameError>) {
        assert_eq!(
            normalize(input, kind),
            expected.map(str::to_owned),
            "{input:?} ({kind:?})"
        );
    }

    #[test]
    fn table() {
        check("satellite.dev", Prod, Ok("satellite.dev"));
        check("  Satellite.DEV ", Prod, Ok("satellite.dev"));
        check("https://satellite.dev/", Prod, Ok("satellite.dev"));
        check("shop.example.co.uk", Prod, Ok("shop.example.co.uk"));
        check("bücher.example", Prod, Ok("xn--bcher-kva.example"));
        check("http://localhost:3001", Dev, Ok("localhost:3001"));
        check("localhost:3001", Dev, Ok("localhost:3001"));
        check("127.0.0.1:3001", Dev, Ok("127.0.0.1:3001"));
        check("satellite.test", Dev, Ok("satellite.test"));
        check("", Prod, Err(DomainNameError::Empty));
        check(
            "co.uk",
            Prod,
            Err(DomainNameError::PublicSuffix("co.uk".into())),
        );
        check(
            "github.io",
            Prod,
            Err(DomainNameError::PublicSuffix("github.io".into())),
        );
        check(
            "com",
            Prod,
            Err(DomainNameError::LocalInProduction("com".into())),
        );
        check(
            "co.uk",
            Dev,
            Err(DomainNameError::PublicSuffix("co.uk".into())),
        );
        check(
            "192.0.2.10",
            Prod,
            Err(DomainNameError::IpInProduction("192.0.2.10".into())),
        );
        check(
            "[::1]",
            Prod,
            Err(DomainNameError::IpInProduction("[::1]".into())),
        );
        check(
            "satellite.dev:8443",
            Prod,
            Err(DomainNameError::PortInProduction(
                "satellite.dev:8443".into(),
            )),
        );
        check(
            "localhost",
            Prod,
            Err(DomainNameError::LocalInProduction("localhost".into())),
        );
        check(
            "satellite.dev/path",
            Prod,
            Err(DomainNameError::NotBare("satellite.dev/path".into())),
        );
        check(
            "user@satellite.dev",
            Prod,
            Err(DomainNameError::NotBare("user@satellite.dev".into())),
        );
        check(
            "sat ellite.dev",
            Prod,
            Err(DomainNameError::NotBare("sat ellite.dev".into())),
        );
        check(
            "satellite..dev",
            Prod,
            Err(DomainNameError::Invalid("satellite..dev".into())),
        );
        check(
            "*.satellite.dev",
            Prod,
            Err(DomainNameError::Invalid("*.satellite.dev".into())),
        );
    }

    #[test]
    fn host_without_port() {
        assert_eq!(host_of("localhost:3001"), "localhost");
        assert_eq!(host_of("satellite.dev"), "satellite.dev");
        assert_eq!(host_of("[::1]:3000"), "[::1]");
    }
}
