//! Every cookie Orbit sets, written one way (docs/protocol.md "Cookies"): `name=value; Path;
//! Domain; Max-Age; Secure; HttpOnly; SameSite=Lax`, in that order. Orbit's own cookies
//! (`__client`, the sync state, the CSRF token) are host-only and HttpOnly; the cookies an app's
//! SDK reads are written for the app's domain by `AppCookies`.

use super::host::Fapi;
use crate::AppState;
use axum::http::HeaderValue;
use orbit_core::model::{Domain, InstanceKind};
use orbit_core::satellite::handshake::app_cookie_domain;
use orbit_proto::wire::cookie as name;

/// How long the browser keeps `__client`.
const CLIENT_MAX_AGE_SECS: i64 = 365 * 24 * 3600;
/// `__client_uat` lives as long as the app may look at it (Clerk's SDKs write ten years).
const CLIENT_UAT_MAX_AGE_SECS: i64 = 315_360_000;
/// Handshake cookies and the sync state outlive their single use by little.
pub const HANDSHAKE_MAX_AGE_SECS: i64 = 60;
/// The sync state is only ever read by the link endpoint.
const SYNC_STATE_PATH: &str = "/v1/client/link";

/// One `Set-Cookie` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookie {
    name: String,
    value: String,
    path: &'static str,
    domain: Option<String>,
    max_age: Option<i64>,
    secure: bool,
    http_only: bool,
}

impl SetCookie {
    /// A host-only, HttpOnly cookie on `/`.
    fn own(name: &str, value: &str, secure: bool) -> Self {
        Self {
            name: name.to_owned(),
            value: value.to_owned(),
            path: "/",
            domain: None,
            max_age: None,
            secure,
            http_only: true,
        }
    }

    fn max_age(mut self, secs: i64) -> Self {
        self.max_age = Some(secs);
        self
    }

    fn path(mut self, path: &'static str) -> Self {
        self.path = path;
        self
    }

    pub fn header(&self) -> Option<HeaderValue> {
        HeaderValue::from_str(&self.to_string()).ok()
    }
}

impl std::fmt::Display for SetCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}; Path={}", self.name, self.value, self.path)?;
        if let Some(d) = &self.domain {
            write!(f, "; Domain={d}")?;
        }
        if let Some(m) = self.max_age {
            write!(f, "; Max-Age={m}")?;
        }
        if self.secure {
            f.write_str("; Secure")?;
        }
        if self.http_only {
            f.write_str("; HttpOnly")?;
        }
        f.write_str("; SameSite=Lax")
    }
}

/// `__client` on this FAPI host: host-only, HttpOnly, SameSite=Lax, Secure on https.
pub fn client(token: &str, secure: bool) -> Option<HeaderValue> {
    SetCookie::own(name::CLIENT, token, secure)
        .max_age(CLIENT_MAX_AGE_SECS)
        .header()
}

/// The state that binds a pending satellite sync to this browser, read only by the link step.
pub fn sync_state(state: &str, secure: bool) -> Option<HeaderValue> {
    SetCookie::own(name::SYNC_STATE, state, secure)
        .path(SYNC_STATE_PATH)
        .max_age(HANDSHAKE_MAX_AGE_SECS)
        .header()
}

/// Clears the sync state once the link step used it.
pub fn clear_sync_state(secure: bool) -> Option<HeaderValue> {
    SetCookie::own(name::SYNC_STATE, "", secure)
        .path(SYNC_STATE_PATH)
        .max_age(0)
        .header()
}

/// The hosted pages' CSRF token (a session cookie).
pub fn csrf(token: &str, secure: bool) -> Option<HeaderValue> {
    SetCookie::own(name::CSRF, token, secure).header()
}

/// Cookies written for an app's domain, the ones its SDK reads: on the registrable domain in
/// production, host-only in development.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCookies {
    pub domain: Option<String>,
    pub secure: bool,
}

impl AppCookies {
    /// The cookies of the app on `domain`, reached over https or not.
    pub fn for_app(kind: InstanceKind, domain: &Domain, secure: bool) -> Self {
        Self {
            domain: app_cookie_domain(kind, domain),
            secure,
        }
    }

    /// One cookie; `http_only` for the handshake's own cookies, which only the app's server reads.
    pub fn cookie(&self, name: &str, value: &str, max_age: Option<i64>, http_only: bool) -> String {
        SetCookie {
            name: name.to_owned(),
            value: value.to_owned(),
            path: "/",
            domain: self.domain.clone(),
            max_age,
            secure: self.secure,
            http_only,
        }
        .to_string()
    }

    /// The handshake directives (docs/protocol.md "The handshake"): clear the handshake
    /// cookies, then `__session` and `__client_uat` (and the suffixed names when asked), and
    /// the development browser token.
    pub fn directives(
        &self,
        suffix: &str,
        suffixed: bool,
        session_token: Option<&str>,
        client_uat: i64,
        dev_browser: Option<&str>,
    ) -> Vec<String> {
        let names = |base: &str| {
            let mut v = vec![base.to_owned()];
            if suffixed {
                v.push(name::suffixed(base, suffix));
            }
            v
        };
        let mut d = vec![
            self.cookie(name::HANDSHAKE_NONCE, "", Some(0), false),
            self.cookie(name::HANDSHAKE, "", Some(0), false),
        ];
        for n in names(name::SESSION) {
            d.push(match session_token {
                Some(t) => self.cookie(&n, t, None, false),
                None => self.cookie(&n, "", Some(0), false),
            });
        }
        for n in names(name::CLIENT_UAT) {
            d.push(self.cookie(
                &n,
                &client_uat.to_string(),
                Some(CLIENT_UAT_MAX_AGE_SECS),
                false,
            ));
        }
        if let Some(dvb) = dev_browser {
            for n in names(name::DEV_BROWSER) {
                d.push(self.cookie(&n, dvb, None, false));
            }
        }
        d
    }
}

/// `__client_uat` (and its suffixed name) on the registrable domain of the app this FAPI host
/// serves, so that an app's SDK notices a sign-in or sign-out made on Orbit's own pages and
/// handshakes (docs/protocol.md "Cookies"). Production only: a development FAPI host cannot set
/// cookies on the app's domain; there the development browser token carries the news.
pub async fn client_uat_for_app(state: &AppState, fapi: &Fapi, uat_secs: i64) -> Vec<HeaderValue> {
    let instance = &fapi.ctx.instance;
    if instance.kind != InstanceKind::Production {
        return Vec::new();
    }
    let Ok(pk) = state.orbit.publishable_key(instance).await else {
        return Vec::new();
    };
    let scope = AppCookies::for_app(instance.kind, &fapi.ctx.domain, true);
    let suffix = orbit_proto::cookie_suffix(&pk);
    [
        name::CLIENT_UAT.to_owned(),
        name::suffixed(name::CLIENT_UAT, &suffix),
    ]
    .iter()
    .filter_map(|n| {
        HeaderValue::from_str(&scope.cookie(
            n,
            &uat_secs.to_string(),
            Some(CLIENT_UAT_MAX_AGE_SECS),
            false,
        ))
        .ok()
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_have_no_equals_in_values_and_clear_before_setting() {
        let scope = AppCookies {
            domain: Some("sat.test".into()),
            secure: true,
        };
        let d = scope.directives("abcdEFGH", true, Some("h.p.s"), 1_700_000_000, None);
        assert!(d[0].starts_with("__clerk_handshake_nonce=; Path=/; Domain=sat.test; Max-Age=0"));
        let sessions: Vec<&String> = d.iter().filter(|x| x.starts_with("__session")).collect();
        assert_eq!(sessions.len(), 2);
        assert!(sessions[0].starts_with("__session=h.p.s; "));
        assert!(sessions[1].starts_with("__session_abcdEFGH=h.p.s; "));
        for x in &d {
            let first = x.split(';').next().unwrap();
            assert_eq!(first.matches('=').count(), 1, "{x}");
            assert!(x.contains("SameSite=Lax") && x.contains("Secure"));
        }
        let out = AppCookies {
            domain: None,
            secure: false,
        }
        .directives("s", false, None, 0, Some("dvb_1"));
        assert!(
            out.contains(&"__session=; Path=/; Max-Age=0; SameSite=Lax".to_owned()),
            "{out:?}"
        );
        assert!(out.contains(&"__client_uat=0; Path=/; Max-Age=315360000; SameSite=Lax".to_owned()));
        assert!(out.contains(&"__clerk_db_jwt=dvb_1; Path=/; SameSite=Lax".to_owned()));
        assert!(
            !out.iter().any(|x| x.contains("_s=")),
            "no suffixed names when not asked"
        );
    }

    #[test]
    fn own_cookies_are_host_only_and_http_only() {
        for (c, starts) in [
            (
                client("t", true),
                "__client=t; Path=/; Max-Age=31536000; Secure; HttpOnly; SameSite=Lax",
            ),
            (
                sync_state("s", false),
                "__orbit_sync=s; Path=/v1/client/link; Max-Age=60; HttpOnly; SameSite=Lax",
            ),
            (
                clear_sync_state(true),
                "__orbit_sync=; Path=/v1/client/link; Max-Age=0; Secure; HttpOnly; SameSite=Lax",
            ),
            (
                csrf("c", true),
                "__orbit_csrf=c; Path=/; Secure; HttpOnly; SameSite=Lax",
            ),
        ] {
            assert_eq!(c.unwrap().to_str().unwrap(), starts);
        }
    }
}
