//! The handshake and the satellite sync over HTTP (PROTOCOL.md "The handshake", "Satellite
//! sync"). `GET /v1/client/handshake` answers an app's middleware with directives (cookies for
//! the app's domain); on a production satellite without a linked client it first runs the sync:
//! satellite FAPI -> primary FAPI `/v1/client/sync` -> satellite FAPI `/v1/client/link`.

use crate::error::ApiError;
use crate::extract::{cookie, Fapi};
use crate::fapi::{client_cookie, current_client, set_query};
use crate::portal::error_page;
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use orbit_core::model::{Client, Domain, HandshakeFormat, InstanceKind};
use orbit_core::satellite::SyncError;
use orbit_core::Orbit;
use serde::Deserialize;
use url::Url;

/// Host-only cookie on a satellite's FAPI host binding a pending sync to this browser.
const SYNC_STATE_COOKIE: &str = "__orbit_sync";
const SYNCED_PARAM: &str = "__clerk_synced";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/client/handshake", get(handshake))
        .route("/v1/client/sync", get(sync))
        .route("/v1/client/link", get(link))
}

/// The app a handshake answers: a registered domain of the instance and the URL to return to.
struct AppTarget {
    domain: Domain,
    url: Url,
    origin: String,
}

fn page_400(title: &str, message: String) -> Response {
    error_page(StatusCode::BAD_REQUEST, title, message)
}

/// Resolves `redirect_url` to one of the instance's domains (primary or satellite), or a 400
/// page that names the origin and says how to register it.
async fn app_target(
    state: &AppState,
    fapi: &Fapi,
    raw: Option<&str>,
) -> Result<AppTarget, Response> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Err(page_400(
            "Missing redirect_url",
            "This handshake needs a redirect_url: the address of the page to return to.".into(),
        ));
    };
    let instance = &fapi.ctx.instance;
    let policy = state
        .orbit
        .redirect_policy(instance)
        .await
        .map_err(crate::portal::fail)?;
    let target = policy.check(raw, None);
    let url = match &target {
        Ok(t) => t.url().clone(),
        Err(_) => Url::parse(raw).map_err(|_| {
            page_400(
                "Invalid redirect_url",
                format!("{raw:?} is not an absolute URL."),
            )
        })?,
    };
    let origin = url.origin().ascii_serialization();
    let host = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    let domains = state
        .orbit
        .domains(instance)
        .await
        .map_err(crate::portal::fail)?;
    let scheme_ok = match instance.kind {
        InstanceKind::Production => url.scheme() == "https",
        InstanceKind::Development => matches!(url.scheme(), "http" | "https"),
    };
    let domain = domains
        .into_iter()
        .find(|d| d.name == host)
        .filter(|_| scheme_ok && target.is_ok());
    match domain {
        Some(domain) => Ok(AppTarget {
            domain,
            url,
            origin,
        }),
        None => {
            let hint = if instance.kind == InstanceKind::Production {
                format!("register it as a satellite with `orbit domain add-satellite {host}` (or BAPI POST /v1/domains), then create its DNS record")
            } else {
                format!("register it as a satellite with `orbit domain add-satellite {host}` (or BAPI POST /v1/domains)")
            };
            Err(page_400(
                "Redirect origin not registered",
                format!("The origin {origin} is not a domain of this instance, so Orbit will not send you there. To allow it, {hint}."),
            ))
        }
    }
}

/// `Domain=` for cookies on the app's side: the registrable domain in production, host-only in
/// development (the app re-emits directives on its own responses).
fn app_cookie_domain(instance_kind: InstanceKind, domain: &Domain) -> Option<String> {
    if instance_kind == InstanceKind::Development {
        return None;
    }
    let host = orbit_core::domain_name::host_of(&domain.name);
    Some(psl::domain_str(host).unwrap_or(host).to_owned())
}

struct CookieScope {
    domain: Option<String>,
    secure: bool,
}

impl CookieScope {
    fn cookie(&self, name: &str, value: &str, max_age: Option<i64>, http_only: bool) -> String {
        let mut c = format!("{name}={value}; Path=/");
        if let Some(d) = &self.domain {
            c.push_str(&format!("; Domain={d}"));
        }
        if let Some(m) = max_age {
            c.push_str(&format!("; Max-Age={m}"));
        }
        if self.secure {
            c.push_str("; Secure");
        }
        if http_only {
            c.push_str("; HttpOnly");
        }
        c.push_str("; SameSite=Lax");
        c
    }
}

/// The directives for the app's domain (PROTOCOL.md "The handshake"): clear the handshake
/// cookies, then `__session` and `__client_uat` (and the suffixed names when asked), and the
/// development browser token.
fn directives(
    scope: &CookieScope,
    suffix: &str,
    suffixed: bool,
    session_token: Option<&str>,
    client_uat: i64,
    dev_browser: Option<&str>,
) -> Vec<String> {
    let names = |base: &str| {
        let mut v = vec![base.to_owned()];
        if suffixed {
            v.push(format!("{base}_{suffix}"));
        }
        v
    };
    let mut d = vec![
        scope.cookie("__clerk_handshake_nonce", "", Some(0), false),
        scope.cookie("__clerk_handshake", "", Some(0), false),
    ];
    for name in names("__session") {
        d.push(match session_token {
            Some(t) => scope.cookie(&name, t, None, false),
            None => scope.cookie(&name, "", Some(0), false),
        });
    }
    for name in names("__client_uat") {
        d.push(scope.cookie(&name, &client_uat.to_string(), Some(315_360_000), false));
    }
    if let Some(dvb) = dev_browser {
        for name in names("__clerk_db_jwt") {
            d.push(scope.cookie(&name, dvb, None, false));
        }
    }
    d
}

fn redirect_307(location: &Url, set_cookies: Vec<HeaderValue>) -> Response {
    let mut resp = StatusCode::TEMPORARY_REDIRECT.into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(location.as_str()) {
        h.insert(header::LOCATION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for c in set_cookies {
        h.append(header::SET_COOKIE, c);
    }
    resp
}

/// Answers the handshake for `target` with the state of `client`: directives by nonce or token,
/// a 307 back to the app (with `__clerk_synced=true` on satellites, so the SDK never loops).
#[allow(clippy::too_many_arguments)] // one call site per flow; a struct would only rename them
async fn answer(
    state: &AppState,
    fapi: &Fapi,
    target: &AppTarget,
    client: Option<&Client>,
    format: HandshakeFormat,
    suffixed: bool,
    dev_browser: Option<&str>,
    mut set_cookies: Vec<HeaderValue>,
) -> Result<Response, ApiError> {
    let orbit = &state.orbit;
    let instance = &fapi.ctx.instance;
    let dev = instance.kind == InstanceKind::Development;
    // Tokens name the FAPI host the app's SDK derives for its domain (PROTOCOL.md "Keys").
    let issuer = if dev {
        fapi.origin.clone()
    } else {
        Orbit::fapi_url(instance, &target.domain)
    };
    let auth = orbit
        .app_auth_state(instance, client, &issuer, &target.origin)
        .await?;
    let suffix = orbit_proto::cookie_suffix(&orbit.publishable_key(instance).await?);
    let scope = CookieScope {
        domain: app_cookie_domain(instance.kind, &target.domain),
        secure: target.url.scheme() == "https",
    };
    let list = directives(
        &scope,
        &suffix,
        suffixed,
        auth.session_token.as_deref(),
        auth.client_uat,
        dev_browser,
    );

    let mut location = target.url.clone();
    if target.domain.is_satellite {
        set_query(&mut location, SYNCED_PARAM, "true");
    }
    match format {
        HandshakeFormat::Nonce => {
            let nonce = orbit.store_handshake_nonce(instance, &list).await?;
            if dev {
                // Development FAPI cannot set cookies on the app's domain: the nonce travels in
                // the URL, and the SDK strips it after redeeming it.
                set_query(&mut location, "__clerk_handshake_nonce", &nonce);
            } else if let Ok(v) = HeaderValue::from_str(&scope.cookie(
                "__clerk_handshake_nonce",
                &nonce,
                Some(60),
                true,
            )) {
                set_cookies.push(v);
            }
        }
        HandshakeFormat::Token => {
            let jwt = orbit.sign_handshake(instance, &list).await?;
            if dev {
                set_query(&mut location, "__clerk_handshake", &jwt);
            } else if let Ok(v) =
                HeaderValue::from_str(&scope.cookie("__clerk_handshake", &jwt, Some(60), true))
            {
                set_cookies.push(v);
            }
        }
    }
    Ok(redirect_307(&location, set_cookies))
}

#[derive(Debug, Deserialize)]
struct HandshakeQuery {
    redirect_url: Option<String>,
    format: Option<String>,
    suffixed_cookies: Option<String>,
    #[serde(rename = "__clerk_hs_reason")]
    reason: Option<String>,
    #[serde(rename = "__clerk_db_jwt")]
    dev_browser: Option<String>,
}

#[allow(clippy::result_large_err)] // the error is the finished error page
fn parse_format(raw: Option<&str>) -> Result<HandshakeFormat, Response> {
    match raw {
        None | Some("") => Ok(HandshakeFormat::Token),
        Some(f) => HandshakeFormat::parse(f).ok_or_else(|| {
            page_400(
                "Invalid format",
                format!("format must be nonce or token, not {f:?}."),
            )
        }),
    }
}

/// `GET /v1/client/handshake`.
async fn handshake(
    State(state): State<AppState>,
    fapi: Fapi,
    headers: HeaderMap,
    Query(q): Query<HandshakeQuery>,
) -> Response {
    match handshake_inner(&state, &fapi, &headers, q).await {
        Ok(r) => r,
        Err(r) => r,
    }
}

#[allow(clippy::result_large_err)] // the error is the finished error page
async fn handshake_inner(
    state: &AppState,
    fapi: &Fapi,
    headers: &HeaderMap,
    q: HandshakeQuery,
) -> Result<Response, Response> {
    let fail = |e: ApiError| crate::portal::fail(e);
    let target = app_target(state, fapi, q.redirect_url.as_deref()).await?;
    let format = parse_format(q.format.as_deref())?;
    let suffixed = q.suffixed_cookies.as_deref() == Some("true");
    let instance = &fapi.ctx.instance;
    let orbit = &state.orbit;

    if instance.kind == InstanceKind::Development {
        // One FAPI host serves every domain of a development instance; the browser's client is
        // its `__client` cookie there, or the development browser token the app passed along.
        let mut client = current_client(state, fapi, headers).await.map_err(fail)?;
        let mut dev_browser = None;
        if let Some(dvb) = q.dev_browser.as_deref().filter(|d| !d.is_empty()) {
            let by_token = orbit
                .client_for_dev_browser(instance, dvb)
                .await
                .map_err(|e| fail(e.into()))?;
            if client.is_none() {
                client = by_token.clone();
            }
            if by_token.is_some()
                && by_token.as_ref().map(|c| &c.id) == client.as_ref().map(|c| &c.id)
            {
                dev_browser = Some(dvb.to_owned());
            }
        }
        let host = fapi.ctx.domain.fapi_host.clone().unwrap_or_default();
        let (client, new_token) = orbit
            .ensure_client(instance, client, &host)
            .await
            .map_err(|e| fail(e.into()))?;
        let dev_browser = match dev_browser {
            Some(d) => d,
            None => orbit
                .new_dev_browser(instance, &client)
                .await
                .map_err(|e| fail(e.into()))?,
        };
        let cookies = new_token
            .map(|t| client_cookie(&t, fapi.secure))
            .into_iter()
            .collect();
        return answer(
            state,
            fapi,
            &target,
            Some(&client),
            format,
            suffixed,
            Some(&dev_browser),
            cookies,
        )
        .await
        .map_err(fail);
    }

    // Production: every domain has its own FAPI host.
    if fapi.ctx.domain.id != target.domain.id {
        let expected = Orbit::fapi_url(instance, &target.domain);
        return Err(page_400(
            "Wrong Frontend API host",
            format!(
                "A handshake for {} must go to {expected}, not to this host.",
                target.origin
            ),
        ));
    }
    let client = current_client(state, fapi, headers).await.map_err(fail)?;
    if target.domain.is_satellite {
        let asked = q.reason.as_deref() == Some("satellite-needs-syncing")
            || target
                .url
                .query_pairs()
                .any(|(k, v)| k == SYNCED_PARAM && v == "false");
        if client.is_none() || asked {
            return start_sync(state, fapi, &target, format, suffixed)
                .await
                .map_err(fail);
        }
    }
    answer(
        state,
        fapi,
        &target,
        client.as_ref(),
        format,
        suffixed,
        None,
        Vec::new(),
    )
    .await
    .map_err(fail)
}

/// Step 2 of the sync: remember the handshake, bind it to this browser, go to the primary.
async fn start_sync(
    state: &AppState,
    fapi: &Fapi,
    target: &AppTarget,
    format: HandshakeFormat,
    suffixed: bool,
) -> Result<Response, ApiError> {
    let instance = &fapi.ctx.instance;
    let (pending_id, state_token) = state
        .orbit
        .begin_sync(
            instance,
            &target.domain,
            target.url.as_str(),
            format,
            suffixed,
        )
        .await?;
    let primary = state.orbit.primary_domain(&instance.id).await?;
    let mut location = Url::parse(&format!(
        "{}/v1/client/sync",
        Orbit::fapi_url(instance, &primary)
    ))
    .map_err(ApiError::internal)?;
    location
        .query_pairs_mut()
        .append_pair("link_domain", &target.domain.name)
        .append_pair("redirect_url", target.url.as_str())
        .append_pair("__orbit_sync", &pending_id);
    let cookie = format!("{SYNC_STATE_COOKIE}={state_token}; Path=/v1/client/link; Max-Age=60; HttpOnly; SameSite=Lax{}", if fapi.secure { "; Secure" } else { "" });
    let cookies = HeaderValue::from_str(&cookie).ok().into_iter().collect();
    Ok(redirect_307(&location, cookies))
}

#[derive(Debug, Deserialize)]
struct SyncQuery {
    link_domain: Option<String>,
    redirect_url: Option<String>,
    #[serde(rename = "__orbit_sync")]
    pending: Option<String>,
}

/// `GET /v1/client/sync` on the primary (step 3): a single-use token for this browser's client,
/// sent to the satellite's link endpoint. A browser without a client on the primary gets one
/// (signed out), so that signing in later reaches every linked domain.
async fn sync(
    State(state): State<AppState>,
    fapi: Fapi,
    headers: HeaderMap,
    Query(q): Query<SyncQuery>,
) -> Response {
    let instance = &fapi.ctx.instance;
    if fapi.ctx.domain.is_satellite || instance.kind == InstanceKind::Development {
        return page_400("Not the primary", "The sync endpoint is served by the primary domain's Frontend API of a production instance.".into());
    }
    let Some(link_domain) = q.link_domain.filter(|d| !d.is_empty()) else {
        return page_400(
            "Missing link_domain",
            "The sync needs link_domain: the satellite domain to link.".into(),
        );
    };
    let satellite = match state.orbit.find_domain(instance, &link_domain).await {
        Ok(d) if d.is_satellite && d.verified && d.fapi_host.is_some() => d,
        Ok(d) if d.is_satellite => {
            return page_400("Satellite not verified", format!("{} is registered but its DNS record is not verified yet.", d.name))
        }
        _ => {
            return page_400(
                "Satellite not registered",
                format!("{link_domain} is not a satellite of this instance. Register it with `orbit domain add-satellite {link_domain}`."),
            )
        }
    };
    if let Some(r) = q.redirect_url.as_deref() {
        let on_satellite = Url::parse(r).ok().is_some_and(|u| {
            u.scheme() == "https"
                && u.host_str() == Some(orbit_core::domain_name::host_of(&satellite.name))
                && u.port().is_none()
        });
        if !on_satellite {
            return page_400(
                "Invalid redirect_url",
                format!("redirect_url must be a page of https://{}.", satellite.name),
            );
        }
    }
    let Some(pending) = q.pending.filter(|p| !p.is_empty() && p.len() <= 64) else {
        return page_400(
            "Sync not started",
            format!("Start the sync from the satellite: open https://{} and let its middleware redirect here.", satellite.name),
        );
    };
    let result = async {
        let existing = current_client(&state, &fapi, &headers).await?;
        let host = fapi.ctx.domain.fapi_host.clone().unwrap_or_default();
        let (client, new_token) = state.orbit.ensure_client(instance, existing, &host).await?;
        let token = state
            .orbit
            .issue_sync_token(instance, &client, &satellite, &pending)
            .await?;
        let mut location = Url::parse(&format!(
            "{}/v1/client/link",
            Orbit::fapi_url(instance, &satellite)
        ))
        .map_err(ApiError::internal)?;
        location
            .query_pairs_mut()
            .append_pair("__clerk_token", &token);
        let cookies = new_token
            .map(|t| client_cookie(&t, fapi.secure))
            .into_iter()
            .collect();
        Ok::<_, ApiError>(redirect_307(&location, cookies))
    }
    .await;
    result.unwrap_or_else(crate::portal::fail)
}

#[derive(Debug, Deserialize)]
struct LinkQuery {
    #[serde(rename = "__clerk_token")]
    token: Option<String>,
}

/// `GET /v1/client/link` on the satellite (step 4): consume the token, check the browser, link
/// this host's client to the primary's and answer the original handshake.
async fn link(
    State(state): State<AppState>,
    fapi: Fapi,
    headers: HeaderMap,
    Query(q): Query<LinkQuery>,
) -> Response {
    let instance = &fapi.ctx.instance;
    if !fapi.ctx.domain.is_satellite {
        return page_400(
            "Not a satellite",
            "The link endpoint is served by a satellite domain's Frontend API.".into(),
        );
    }
    let Some(token) = q.token.filter(|t| !t.is_empty() && t.len() <= 128) else {
        return page_400("Missing token", "This link needs its __clerk_token.".into());
    };
    let browser_state = cookie(&headers, SYNC_STATE_COOKIE);
    let redeemed = match state
        .orbit
        .redeem_sync(instance, &fapi.ctx.domain, &token, browser_state.as_deref())
        .await
    {
        Ok(r) => r,
        Err(e) => return crate::portal::fail(e),
    };
    let (pending, client) = match redeemed {
        Ok(ok) => ok,
        Err(e) => {
            tracing::info!(reason = %e, domain = %fapi.ctx.domain.name, "satellite sync refused");
            let next = match e {
                SyncError::StateMissing => {
                    " Allow cookies for this site, then reload the page you came from."
                }
                _ => " Go back to the page you came from and reload it to try again.",
            };
            return page_400(
                "Could not complete sign-in on this domain",
                format!("{}{next}", crate::portal::sentence(&e.to_string())),
            );
        }
    };
    let result = async {
        let target = app_target(&state, &fapi, Some(&pending.redirect_url)).await;
        let target = match target {
            Ok(t) if t.domain.id == fapi.ctx.domain.id => t,
            Ok(_) | Err(_) => {
                return Ok(page_400(
                    "Invalid redirect",
                    "The sync's return address is not on this satellite.".into(),
                ))
            }
        };
        let host = fapi.ctx.domain.fapi_host.clone().unwrap_or_default();
        let client_token = state.orbit.link_client(&client, &host).await?;
        let mut cookies = vec![client_cookie(&client_token, fapi.secure)];
        let clear = format!(
            "{SYNC_STATE_COOKIE}=; Path=/v1/client/link; Max-Age=0; HttpOnly; SameSite=Lax{}",
            if fapi.secure { "; Secure" } else { "" }
        );
        cookies.extend(HeaderValue::from_str(&clear).ok());
        answer(
            &state,
            &fapi,
            &target,
            Some(&client),
            pending.format,
            pending.suffixed_cookies,
            None,
            cookies,
        )
        .await
    }
    .await;
    result.unwrap_or_else(crate::portal::fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_have_no_equals_in_values_and_clear_before_setting() {
        let scope = CookieScope {
            domain: Some("sat.test".into()),
            secure: true,
        };
        let d = directives(&scope, "abcdEFGH", true, Some("h.p.s"), 1_700_000_000, None);
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
        let out = directives(
            &CookieScope {
                domain: None,
                secure: false,
            },
            "s",
            false,
            None,
            0,
            Some("dvb_1"),
        );
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
    fn set_query_replaces() {
        let mut u = Url::parse("https://sat.test/x?a=1&__clerk_synced=false").unwrap();
        set_query(&mut u, "__clerk_synced", "true");
        assert_eq!(u.as_str(), "https://sat.test/x?a=1&__clerk_synced=true");
    }
}
