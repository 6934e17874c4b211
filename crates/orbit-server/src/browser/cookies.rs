//! Every cookie Orbit sets, written one way (docs/protocol.md "Cookies"): `name=value; Path;
//! Domain; Max-Age; Secure; HttpOnly; SameSite`, in that order. Orbit's own cookies
//! (`__client`, the sync state, the CSRF token) are host-only, HttpOnly and on `Path=/`, named
//! with the `__Host-` prefix on https (`wire::cookie::OwnCookie`); the cookies an app's SDK reads
//! are written for the app's domain by `AppCookies`. Every cookie is `SameSite=Lax` but the
//! dashboard's, which no other site ever needs to send: `Strict`.

use super::host::Fapi;
use crate::AppState;
use axum::http::HeaderValue;
use orbit_core::model::{Domain, InstanceKind};
use orbit_core::satellite::handshake::{app_cookie_scope, AppCookieScope};
use orbit_proto::wire::cookie::{self as name, OwnCookie};

/// How long the browser keeps `__client`.
const CLIENT_MAX_AGE_SECS: i64 = 365 * 24 * 3600;
/// `__client_uat` lives as long as the app may look at it (Clerk's SDKs write ten years).
const CLIENT_UAT_MAX_AGE_SECS: i64 = 315_360_000;
/// Handshake cookies and the sync state outlive their single use by little.
const HANDSHAKE_MAX_AGE_SECS: i64 = 60;

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
    same_site: SameSite,
}

/// A cookie's `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SameSite {
    /// Sent on top-level navigations from other sites (a redirect back from an app).
    Lax,
    /// Sent only on requests a page of the same site starts.
    Strict,
}

impl SetCookie {
    /// One of Orbit's own cookies: host-only, HttpOnly, on `/`, under its `__Host-` name on
    /// https (which the browser accepts only with exactly these attributes and `Secure`).
    fn own(name: OwnCookie, value: &str, secure: bool) -> Self {
        Self {
            name: name.name(secure).to_owned(),
            value: value.to_owned(),
            path: "/",
            domain: None,
            max_age: None,
            secure,
            http_only: true,
            same_site: SameSite::Lax,
        }
    }

    fn max_age(mut self, secs: i64) -> Self {
        self.max_age = Some(secs);
        self
    }

    fn strict(mut self) -> Self {
        self.same_site = SameSite::Strict;
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
        f.write_str(match self.same_site {
            SameSite::Lax => "; SameSite=Lax",
            SameSite::Strict => "; SameSite=Strict",
        })
    }
}

/// `__client` on this FAPI host: host-only, HttpOnly, SameSite=Lax, Secure on https.
pub fn client(token: &str, secure: bool) -> Option<HeaderValue> {
    SetCookie::own(name::CLIENT, token, secure)
        .max_age(CLIENT_MAX_AGE_SECS)
        .header()
}

/// Clears `__client` on this FAPI host (a satellite linked to a browser signed out on the
/// primary).
pub fn clear_client(secure: bool) -> Option<HeaderValue> {
    SetCookie::own(name::CLIENT, "", secure).max_age(0).header()
}

/// The state that binds a pending satellite sync to this browser, read only by the link step
/// (on `Path=/`, as the `__Host-` prefix requires).
pub fn sync_state(state: &str, secure: bool) -> Option<HeaderValue> {
    SetCookie::own(name::SYNC_STATE, state, secure)
        .max_age(HANDSHAKE_MAX_AGE_SECS)
        .header()
}

/// Clears the sync state once the link step used it.
pub fn clear_sync_state(secure: bool) -> Option<HeaderValue> {
    SetCookie::own(name::SYNC_STATE, "", secure)
        .max_age(0)
        .header()
}

/// The device token of a browser that just signed in (docs/design/sessions-and-tokens.md
/// "Known devices").
pub fn device(token: &str, secure: bool) -> Option<HeaderValue> {
    SetCookie::own(name::DEVICE, token, secure)
        .max_age(orbit_core::DEVICE_LIFETIME / 1000)
        .header()
}

/// The browser's binding to a Frontend API sign-in or sign-up attempt (`wire::cookie::SIGN_IN`,
/// `SIGN_UP`): `<attempt id>.<token>`, living as long as the attempt.
pub fn attempt(
    name: OwnCookie,
    value: &str,
    secure: bool,
    max_age_secs: i64,
) -> Option<HeaderValue> {
    SetCookie::own(name, value, secure)
        .max_age(max_age_secs)
        .header()
}

/// Clears an attempt's binding once the attempt completed.
pub fn clear_attempt(name: OwnCookie, secure: bool) -> Option<HeaderValue> {
    SetCookie::own(name, "", secure).max_age(0).header()
}

/// What a browser gets when a session starts for it (a sign-in or sign-up, on the hosted pages
/// or through the Frontend API alike): the new client's `__client`, the device token of `user`,
/// and in production `__client_uat` for the app's domain.
pub async fn session_started(
    state: &AppState,
    fapi: &Fapi,
    start: &orbit_core::SessionStart,
    user: &orbit_core::model::User,
) -> orbit_core::Result<Vec<HeaderValue>> {
    let mut set: Vec<HeaderValue> = client(&start.client_token, fapi.secure)
        .into_iter()
        .collect();
    set.extend(device(
        &state.orbit.device_token(&fapi.ctx.instance, user)?,
        fapi.secure,
    ));
    set.extend(client_uat_for_app(state, fapi, start.client.updated_at.div_euclid(1000)).await);
    Ok(set)
}

/// The hosted pages' CSRF token (a session cookie).
pub fn csrf(token: &str, secure: bool) -> Option<HeaderValue> {
    SetCookie::own(name::CSRF, token, secure).header()
}

/// The dashboard's session (docs/design/dashboard.md): host-only, HttpOnly, SameSite=Strict,
/// Secure on https (named `__Host-orbit_dashboard` there), living as long as the session may.
pub fn dashboard_session(token: &str, secure: bool) -> Option<HeaderValue> {
    SetCookie::own(name::DASHBOARD, token, secure)
        .strict()
        .max_age(orbit_core::orbit::OPERATOR_SESSION_LIFETIME / 1000)
        .header()
}

/// Clears the dashboard's session cookie (sign-out, or a session that is over).
pub fn clear_dashboard_session(secure: bool) -> Option<HeaderValue> {
    SetCookie::own(name::DASHBOARD, "", secure)
        .strict()
        .max_age(0)
        .header()
}

/// The dashboard's CSRF token before sign-in (a session cookie, SameSite=Strict).
pub fn dashboard_csrf(token: &str, secure: bool) -> Option<HeaderValue> {
    SetCookie::own(name::DASHBOARD_CSRF, token, secure)
        .strict()
        .header()
}

/// Cookies written for an app's domain, the ones its SDK reads, each in the scope core gives it
/// (`AppCookieScope`, docs/protocol.md "Cookies"): `__session` and `__clerk_db_jwt` host-only
/// on the app's host, `__client_uat` on the registrable domain in production, the handshake
/// cookies on the app's domain in production.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCookies {
    pub scope: AppCookieScope,
    pub secure: bool,
}

impl AppCookies {
    /// The cookies of the app on `domain`, reached over https or not.
    pub fn for_app(kind: InstanceKind, domain: &Domain, secure: bool) -> Self {
        Self {
            scope: app_cookie_scope(kind, domain),
            secure,
        }
    }

    /// One cookie on `domain` (`None`: host-only); `http_only` for the handshake's own cookies,
    /// which only the app's server reads.
    fn cookie(
        &self,
        domain: Option<&str>,
        name: &str,
        value: &str,
        max_age: Option<i64>,
        http_only: bool,
    ) -> String {
        SetCookie {
            name: name.to_owned(),
            value: value.to_owned(),
            path: "/",
            domain: domain.map(str::to_owned),
            max_age,
            secure: self.secure,
            http_only,
            same_site: SameSite::Lax,
        }
        .to_string()
    }

    /// The handshake nonce or token as FAPI sets it for the app (production): HttpOnly, 60 s.
    pub fn handshake(&self, name: &str, value: &str) -> String {
        let domain = self.scope.handshake.as_deref();
        self.cookie(domain, name, value, Some(HANDSHAKE_MAX_AGE_SECS), true)
    }

    /// `__client_uat` = `uat_secs` under `name` (plain or suffixed).
    fn client_uat(&self, name: &str, uat_secs: i64) -> String {
        let domain = self.scope.client_uat.as_deref();
        let value = uat_secs.to_string();
        self.cookie(domain, name, &value, Some(CLIENT_UAT_MAX_AGE_SECS), false)
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
        let handshake = self.scope.handshake.as_deref();
        let mut d = vec![
            self.cookie(handshake, name::HANDSHAKE_NONCE, "", Some(0), false),
            self.cookie(handshake, name::HANDSHAKE, "", Some(0), false),
        ];
        for n in names(name::SESSION) {
            // Orbit once set `__session` on the registrable domain; a copy left there would be
            // sent before the host-only one and read first, so it is cleared before (the SDKs
            // take the last `__session` directive's value).
            if let Some(old) = self.scope.client_uat.as_deref() {
                d.push(self.cookie(Some(old), &n, "", Some(0), false));
            }
            d.push(match session_token {
                Some(t) => self.cookie(None, &n, t, None, false),
                None => self.cookie(None, &n, "", Some(0), false),
            });
        }
        for n in names(name::CLIENT_UAT) {
            d.push(self.client_uat(&n, client_uat));
        }
        if let Some(dvb) = dev_browser {
            for n in names(name::DEV_BROWSER) {
                d.push(self.cookie(None, &n, dvb, None, false));
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
    let app = AppCookies::for_app(instance.kind, &fapi.ctx.domain, true);
    let suffix = orbit_proto::cookie_suffix(&pk);
    [
        name::CLIENT_UAT.to_owned(),
        name::suffixed(name::CLIENT_UAT, &suffix),
    ]
    .iter()
    .filter_map(|n| HeaderValue::from_str(&app.client_uat(n, uat_secs)).ok())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_have_no_equals_in_values_and_clear_before_setting() {
        let app = AppCookies {
            scope: AppCookieScope {
                client_uat: Some("sat.test".into()),
                handshake: Some("app.sat.test".into()),
            },
            secure: true,
        };
        let d = app.directives("abcdEFGH", true, Some("h.p.s"), 1_700_000_000, None);
        assert!(
            d[0].starts_with("__clerk_handshake_nonce=; Path=/; Domain=app.sat.test; Max-Age=0")
        );
        let sessions: Vec<&String> = d.iter().filter(|x| x.starts_with("__session")).collect();
        // Each name: the copy on the registrable domain cleared, then the token host-only.
        assert_eq!(
            sessions,
            [
                "__session=; Path=/; Domain=sat.test; Max-Age=0; Secure; SameSite=Lax",
                "__session=h.p.s; Path=/; Secure; SameSite=Lax",
                "__session_abcdEFGH=; Path=/; Domain=sat.test; Max-Age=0; Secure; SameSite=Lax",
                "__session_abcdEFGH=h.p.s; Path=/; Secure; SameSite=Lax",
            ]
        );
        assert!(d.contains(
            &"__client_uat=1700000000; Path=/; Domain=sat.test; Max-Age=315360000; Secure; SameSite=Lax"
                .to_owned()
        ));
        for x in &d {
            let first = x.split(';').next().unwrap();
            assert_eq!(first.matches('=').count(), 1, "{x}");
            assert!(x.contains("SameSite=Lax") && x.contains("Secure"));
        }
        assert_eq!(
            app.handshake("__clerk_handshake_nonce", "n"),
            "__clerk_handshake_nonce=n; Path=/; Domain=app.sat.test; Max-Age=60; Secure; HttpOnly; SameSite=Lax"
        );
        let out = AppCookies {
            scope: AppCookieScope {
                client_uat: None,
                handshake: None,
            },
            secure: false,
        }
        .directives("s", false, None, 0, Some("dvb_1"));
        assert!(
            out.contains(&"__session=; Path=/; Max-Age=0; SameSite=Lax".to_owned()),
            "{out:?}"
        );
        assert_eq!(out.iter().filter(|x| x.starts_with("__session")).count(), 1);
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
                "__Host-client=t; Path=/; Max-Age=31536000; Secure; HttpOnly; SameSite=Lax",
            ),
            (
                client("t", false),
                "__client=t; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax",
            ),
            (
                sync_state("s", false),
                "__orbit_sync=s; Path=/; Max-Age=60; HttpOnly; SameSite=Lax",
            ),
            (
                clear_sync_state(true),
                "__Host-orbit_sync=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax",
            ),
            (
                csrf("c", true),
                "__Host-orbit_csrf=c; Path=/; Secure; HttpOnly; SameSite=Lax",
            ),
            (
                csrf("c", false),
                "__orbit_csrf=c; Path=/; HttpOnly; SameSite=Lax",
            ),
            (
                dashboard_session("d", true),
                "__Host-orbit_dashboard=d; Path=/; Max-Age=43200; Secure; HttpOnly; SameSite=Strict",
            ),
            (
                dashboard_session("d", false),
                "orbit_dashboard=d; Path=/; Max-Age=43200; HttpOnly; SameSite=Strict",
            ),
            (
                clear_dashboard_session(true),
                "__Host-orbit_dashboard=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict",
            ),
            (
                dashboard_csrf("c", false),
                "orbit_dashboard_csrf=c; Path=/; HttpOnly; SameSite=Strict",
            ),
        ] {
            assert_eq!(c.unwrap().to_str().unwrap(), starts);
        }
    }
}
