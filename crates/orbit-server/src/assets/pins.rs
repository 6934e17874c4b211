//! The one place that names the versions of Clerk's browser bundles Orbit serves: one pinned
//! version per package and major, with the `dist.integrity` the npm registry published for it
//! (docs/design/browser-bundles.md "Pins"). Changing a pin is changing this table: the cache
//! directory, `orbit assets fetch`, the served URLs and the tests all follow it.

use std::fmt;

/// A package whose browser bundles Orbit serves under `/npm/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Package {
    /// `@clerk/clerk-js`: `dist/clerk.browser.js` and its chunks.
    ClerkJs,
    /// `@clerk/ui` (the components `@clerk/nextjs` 7 loads beside clerk-js 6).
    Ui,
}

impl Package {
    pub const ALL: [Package; 2] = [Package::ClerkJs, Package::Ui];

    /// The npm name, `@clerk/clerk-js`.
    pub fn name(self) -> &'static str {
        match self {
            Package::ClerkJs => "@clerk/clerk-js",
            Package::Ui => "@clerk/ui",
        }
    }

    /// The name without its scope, as in `/npm/@clerk/<this>@<spec>/` and in tarball names.
    pub fn short_name(self) -> &'static str {
        match self {
            Package::ClerkJs => "clerk-js",
            Package::Ui => "ui",
        }
    }

    /// The package whose unscoped name under `@clerk/` is `short`.
    pub fn from_short_name(short: &str) -> Option<Package> {
        Package::ALL.into_iter().find(|p| p.short_name() == short)
    }

    /// The script Clerk's SDKs load first (`clerkJSScriptUrl` / `clerkUIScriptUrl`); a tarball
    /// without it is not the package we pinned.
    pub fn entry_file(self) -> &'static str {
        match self {
            Package::ClerkJs => "clerk.browser.js",
            Package::Ui => "ui.browser.js",
        }
    }

    /// The pins of this package, newest major first.
    pub fn pins(self) -> impl Iterator<Item = &'static Pin> {
        PINS.iter().filter(move |p| p.package == self)
    }
}

impl fmt::Display for Package {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One pinned version: what every request for its package and major is answered from.
#[derive(Debug, PartialEq, Eq)]
pub struct Pin {
    pub package: Package,
    pub major: u64,
    /// The exact version, `6.40.0`.
    pub version: &'static str,
    /// The registry's `dist.integrity` of that version: `sha512-<base64>` of the tarball.
    pub integrity: &'static str,
    /// Who loads this major, for docs and messages.
    pub loaded_by: &'static str,
}

/// Every pin, newest major first within a package. Each is the newest version of its major on
/// the registry when pinned (what the public CDN serves for `@6`, `@1`, `@5`), so the bundles
/// match what `@clerk/nextjs` and `@clerk/remix` expect today. `@clerk/ui` 1.36.0 was published
/// alongside clerk-js 6.40.0 and needs `@clerk/shared` ^4.36 (clerk-js 6.40.0 ships ^4.41).
pub const PINS: &[Pin] = &[
    Pin {
        package: Package::ClerkJs,
        major: 6,
        version: "6.40.0",
        integrity: "sha512-2MnZ/ygvuCmeuqfXQmsxfQaLN/SSJvQbtT2cLXbgr5VKr3KmZFZBVvX977fG3eZ6pprl4J9pO+I2bbe6BvColg==",
        loaded_by: "@clerk/nextjs 7",
    },
    Pin {
        package: Package::ClerkJs,
        major: 5,
        version: "5.128.0",
        integrity: "sha512-aw8USKnrZVPOqJfp1eKpbaQL+jUYkXJn/v3XdBslfT4jXEUIqkyITmlgY8bA9GqVF7xGcr+m/HJTpgvGbtIvXA==",
        loaded_by: "@clerk/remix 4 and @clerk/nextjs 6",
    },
    Pin {
        package: Package::Ui,
        major: 1,
        version: "1.36.0",
        integrity: "sha512-uI96zYCh5jISLOt1mdpIPy/Y31P0kwFxjUFOxLUwFfTHFmGUcRjbqN6bbb+75tdI2Bz6ARGws3rhspDer+xIfQ==",
        loaded_by: "@clerk/nextjs 7",
    },
];

impl Pin {
    /// `@clerk/clerk-js@6.40.0`.
    pub fn id(&self) -> String {
        format!("{}@{}", self.package.name(), self.version)
    }

    /// The file `npm pack @clerk/clerk-js@6.40.0` writes: `clerk-clerk-js-6.40.0.tgz`.
    pub fn tarball_name(&self) -> String {
        format!("clerk-{}-{}.tgz", self.package.short_name(), self.version)
    }

    /// The registry's conventional tarball path under its base URL:
    /// `@clerk/clerk-js/-/clerk-js-6.40.0.tgz`.
    pub fn tarball_path(&self) -> String {
        format!(
            "{}/-/{}-{}.tgz",
            self.package.name(),
            self.package.short_name(),
            self.version
        )
    }
}

/// How a URL named the version it wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// The pinned version itself (`6.40.0`): the answer can be cached for good.
    Exact,
    /// A major, a range, or another version of the pinned major: what it stands for may change
    /// when the pin does.
    Floating,
}

/// Why a `<package>@<spec>` names nothing Orbit serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecError {
    /// Not a version spec Orbit understands (`6`, `6.40.0`, `^6.1`, `~6`, `6.x`).
    Invalid,
    /// A spec of a major (or a tag such as `latest`) that no pin serves.
    NotServed,
}

/// The longest spec accepted; anything longer is not a version.
const MAX_SPEC_LEN: usize = 64;

/// The pin that answers `<package>@<spec>`: any spec whose major is a pinned major maps to that
/// pin (`6`, `6.1`, `6.40.0`, `^6.1.0`, `~6`, `=6.2.3`, `v6`, `6.x`, `6.*`, and exact versions
/// with a prerelease or build suffix such as `6.41.0-snapshot.1`). Tags (`latest`, `canary`)
/// are refused: they float across majors, and a page built for one major must not get another.
pub fn resolve(package: Package, spec: &str) -> Result<(&'static Pin, Naming), SpecError> {
    let major = major_of(spec)?;
    let pin = package
        .pins()
        .find(|p| p.major == major)
        .ok_or(SpecError::NotServed)?;
    let naming = if spec == pin.version {
        Naming::Exact
    } else {
        Naming::Floating
    };
    Ok((pin, naming))
}

/// The major a spec names.
fn major_of(spec: &str) -> Result<u64, SpecError> {
    if spec.is_empty() || spec.len() > MAX_SPEC_LEN {
        return Err(SpecError::Invalid);
    }
    if spec.bytes().all(|b| b.is_ascii_lowercase()) {
        // A dist-tag (`latest`, `canary`, `snapshot`).
        return Err(SpecError::NotServed);
    }
    let body = spec
        .strip_prefix('^')
        .or_else(|| spec.strip_prefix('~'))
        .or_else(|| spec.strip_prefix('='))
        .unwrap_or(spec);
    let body = body.strip_prefix('v').unwrap_or(body);
    // `6.41.0-canary.3+build`: the suffix is allowed after a full version only.
    let (core, suffix) = match body.find(['-', '+']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() > 3 {
        return Err(SpecError::Invalid);
    }
    let number = |s: &str| -> Option<u64> {
        let plain = !s.is_empty() && s.len() <= 16 && s.bytes().all(|b| b.is_ascii_digit());
        // No leading zeros, as semver says.
        (plain && (s == "0" || !s.starts_with('0')))
            .then(|| s.parse().ok())
            .flatten()
    };
    let major = number(parts[0]).ok_or(SpecError::Invalid)?;
    let mut wildcard = false;
    for part in &parts[1..] {
        if matches!(*part, "x" | "X" | "*") {
            wildcard = true;
        } else if wildcard || number(part).is_none() {
            // `6.x.3` or `6.a`.
            return Err(SpecError::Invalid);
        }
    }
    if let Some(suffix) = suffix {
        let identifiers_ok = !suffix.is_empty()
            && suffix
                .split(['.', '+', '-'])
                .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()));
        if parts.len() != 3 || wildcard || !identifiers_ok {
            return Err(SpecError::Invalid);
        }
    }
    Ok(major)
}

/// `6.40.0 (@clerk/nextjs 7), 5.128.0 (...)`: what a package's majors are, for messages.
pub fn served_versions(package: Package) -> String {
    package
        .pins()
        .map(|p| format!("@{} ({}, for {})", p.major, p.version, p.loaded_by))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(package: Package, spec: &str, expected: Result<(&str, Naming), SpecError>) {
        let got = resolve(package, spec).map(|(p, n)| (p.version, n));
        assert_eq!(got, expected, "{package}@{spec:?}");
    }

    /// The pinned version of `package`'s `major`.
    fn pinned(package: Package, major: u64) -> &'static str {
        package.pins().find(|p| p.major == major).unwrap().version
    }

    #[test]
    fn specs_map_to_the_pin_of_their_major() {
        use Naming::*;
        use Package::*;
        for spec in [
            "6",
            "6.1",
            "6.1.0",
            "^6.1",
            "^6.1.0",
            "~6",
            "~6.40",
            "=6.2.3",
            "v6",
            "6.x",
            "6.*",
            "6.X.x",
            "6.41.0-snapshot.v20260101",
            "6.0.0-canary+abc",
        ] {
            check(ClerkJs, spec, Ok((pinned(ClerkJs, 6), Floating)));
        }
        for (package, major) in [(ClerkJs, 6), (ClerkJs, 5), (Ui, 1)] {
            let version = pinned(package, major);
            check(package, &major.to_string(), Ok((version, Floating)));
            check(package, version, Ok((version, Exact)));
        }
        // clerk-js's version is no version of @clerk/ui's major.
        check(Ui, pinned(ClerkJs, 6), Err(SpecError::NotServed));
    }

    #[test]
    fn other_majors_and_tags_are_not_served() {
        use Package::*;
        for spec in ["7", "4.0.0", "^7", "0", "latest", "canary", "next", "v"] {
            check(ClerkJs, spec, Err(SpecError::NotServed));
        }
        for spec in ["0", "2", "latest"] {
            check(Ui, spec, Err(SpecError::NotServed));
        }
    }

    #[test]
    fn malformed_specs_are_invalid() {
        let long = "6".repeat(65);
        for spec in [
            "",
            "^",
            "~",
            "6.",
            ".6",
            "6..1",
            "6.40.0.1",
            "06",
            "6.01",
            "6.x.3",
            "6.a",
            "6.40-beta",
            "6.40.0-",
            "6.40.0-a..b",
            "6 || 7",
            ">=6",
            "6 - 7",
            "Latest",
            "6.40.0/../..",
            "99999999999999999999",
            long.as_str(),
            "６",
        ] {
            check(Package::ClerkJs, spec, Err(SpecError::Invalid));
        }
    }

    #[test]
    fn pins_are_well_formed() {
        use base64::Engine;
        for p in PINS {
            assert_eq!(
                resolve(p.package, p.version).map(|(q, n)| (q.id(), n)),
                Ok((p.id(), Naming::Exact))
            );
            let b64 = p.integrity.strip_prefix("sha512-").expect(p.version);
            let digest = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect(p.version);
            assert_eq!(digest.len(), 64, "{}", p.id());
        }
        for package in Package::ALL {
            let majors: Vec<u64> = package.pins().map(|p| p.major).collect();
            let mut sorted = majors.clone();
            sorted.sort_unstable_by(|a, b| b.cmp(a));
            sorted.dedup();
            assert_eq!(majors, sorted, "one pin per major, newest first");
        }
        let v6 = PINS[0].version;
        assert_eq!(PINS[0].tarball_name(), format!("clerk-clerk-js-{v6}.tgz"));
        assert_eq!(
            PINS[0].tarball_path(),
            format!("@clerk/clerk-js/-/clerk-js-{v6}.tgz")
        );
    }
}
