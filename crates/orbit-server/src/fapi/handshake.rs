//! The handshake and the satellite sync over HTTP (docs/protocol.md "The handshake", "Satellite
//! sync"). `GET /v1/client/handshake` answers an app's middleware with directives (cookies for
//! the app's domain); on a production satellite without a linked client it first runs the sync:
//! satellite FAPI -> primary FAPI `/v1/client/sync` -> satellite FAPI `/v1/client/link`.
//! Every decision is core's (`orbit_core::satellite::handshake`); this module parses and answers.

use crate::browser::cookies::{self, AppCookies};
use crate::browser::page::sentence;
use crate::browser::redirect::{set_query, temporary};
use crate::browser::{BrowserClient, Fapi, PageError};
use crate::error::ApiError;
use crate::extract::{cookie, QueryParams};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use orbit_core::model::{Client, HandshakeFormat, InstanceKind};
use orbit_core::satellite::handshake::{
    handshake_step, token_issuer, AppTarget, HandshakeStep, SyncRequestError, TargetError,
};
use orbit_core::satellite::SyncError;
use orbit_core::Orbit;
use orbit_proto::wire;
use url::Url;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/client/handshake", get(handshake))
        .route("/v1/client/sync", get(sync))
        .route("/v1/client/link", get(link))
}

/// The page for a `redirect_url` that names no app of the instance.
fn target_error(e: TargetError) -> PageError {
    match e {
        TargetError::Missing => PageError::bad_request(
            "Missing redirect_url",
            "This handshake needs a redirect_url: the address of the page to return to.",
        ),
        TargetError::NotAbsolute { raw } => PageError::bad_request(
            "Invalid redirect_url",
            format!("{raw:?} is not an absolute URL."),
        ),
        TargetError::NotRegistered { origin, host, kind } => {
            let hint = if kind == InstanceKind::Production {
                format!("register it as a satellite with `orbit domain add-satellite {host}` (or BAPI POST /v1/domains), then create its DNS record")
            } else {
                format!("register it as a satellite with `orbit domain add-satellite {host}` (or BAPI POST /v1/domains)")
            };
            PageError::bad_request(
                "Redirect origin not registered",
                format!("The origin {origin} is not a domain of this instance, so Orbit will not send you there. To allow it, {hint}."),
            )
        }
    }
}

/// How the answer to one handshake is written.
struct Answer<'a> {
    target: &'a AppTarget,
    client: Option<&'a Client>,
    format: HandshakeFormat,
    suffixed: bool,
    dev_browser: Option<&'a str>,
}

/// Answers the handshake for `target` with the state of `client`: directives by nonce or token,
/// a 307 back to the app (with `__clerk_synced=true` on satellites, so the SDK never loops).
async fn answer(
    state: &AppState,
    fapi: &Fapi,
    a: Answer<'_>,
    mut set_cookies: Vec<HeaderValue>,
) -> Result<Response, ApiError> {
    let orbit = &state.orbit;
    let instance = &fapi.ctx.instance;
    let dev = instance.kind == InstanceKind::Development;
    let issuer = token_issuer(instance, &fapi.origin, &a.target.domain);
    let auth = orbit
        .app_auth_state(instance, a.client, &issuer, &a.target.origin)
        .await?;
    let suffix = orbit_proto::cookie_suffix(&orbit.publishable_key(instance).await?);
    let app = AppCookies::for_app(
        instance.kind,
        &a.target.domain,
        a.target.url.scheme() == "https",
    );
    let list = app.directives(
        &suffix,
        a.suffixed,
        auth.session_token.as_deref(),
        auth.client_uat,
        a.dev_browser,
    );

    let mut location = a.target.url.clone();
    if a.target.domain.is_satellite {
        set_query(&mut location, wire::query::SYNCED, "true");
    }
    let (name, value) = match a.format {
        HandshakeFormat::Nonce => (
            wire::cookie::HANDSHAKE_NONCE,
            orbit.store_handshake_nonce(instance, &list).await?,
        ),
        HandshakeFormat::Token => (
            wire::cookie::HANDSHAKE,
            orbit.sign_handshake(instance, &list).await?,
        ),
    };
    if dev {
        // Development FAPI cannot set cookies on the app's domain: the nonce or token travels in
        // the URL, and the SDK strips it after using it.
        set_query(&mut location, name, &value);
    } else if let Ok(v) = HeaderValue::from_str(&app.handshake(name, &value)) {
        set_cookies.push(v);
    }
    Ok(temporary(&location, set_cookies))
}

/// A query parameter the handshake and sync read, given at most once.
fn param<'q>(q: &'q QueryParams, name: &str) -> Result<Option<&'q str>, PageError> {
    q.get(name)
        .map_err(|e| PageError::bad_request("Invalid request", sentence(&e.to_string())))
}

fn parse_format(raw: Option<&str>) -> Result<HandshakeFormat, PageError> {
    match raw {
        None | Some("") => Ok(HandshakeFormat::Token),
        Some(f) => HandshakeFormat::parse(f).ok_or_else(|| {
            PageError::bad_request(
                "Invalid format",
                format!("format must be nonce or token, not {f:?}."),
            )
        }),
    }
}

/// `GET /v1/client/handshake`.
async fn handshake(
    State(state): State<AppState>,
    browser: BrowserClient,
    q: QueryParams,
) -> Result<Response, PageError> {
    let fapi = &browser.fapi;
    let orbit = &state.orbit;
    let instance = &fapi.ctx.instance;
    let redirect_url = param(&q, wire::query::REDIRECT_URL)?;
    let target = orbit
        .handshake_target(instance, redirect_url)
        .await?
        .map_err(target_error)?;
    let format = parse_format(param(&q, wire::query::FORMAT)?)?;
    let suffixed = param(&q, wire::query::SUFFIXED_COOKIES)? == Some("true");
    let reason = param(&q, wire::query::HANDSHAKE_REASON)?;
    // Read by `BrowserClient`, which takes a repeated token for none; the handshake refuses it.
    param(&q, wire::query::DEV_BROWSER)?;
    let step = handshake_step(
        instance,
        &fapi.ctx.domain,
        &target,
        browser.client.is_some(),
        reason,
    )
    .map_err(|e| {
        PageError::bad_request(
            "Wrong Frontend API host",
            format!(
                "A handshake for {} must go to {}, not to this host.",
                e.origin, e.expected
            ),
        )
    })?;
    if step == HandshakeStep::StartSync {
        return Ok(start_sync(&state, fapi, &target, format, suffixed).await?);
    }

    if instance.kind == InstanceKind::Development {
        // One FAPI host serves every domain of a development instance: the app gets a
        // development browser token for the browser's client, or for no client yet (a browser
        // that only visits gets no client: they are created at sign-in).
        let dev_browser = match browser.dev_browser.clone() {
            Some(d) => d,
            None => {
                orbit
                    .new_dev_browser(instance, browser.client.as_ref())
                    .await?
            }
        };
        let a = Answer {
            target: &target,
            client: browser.client.as_ref(),
            format,
            suffixed,
            dev_browser: Some(&dev_browser),
        };
        return Ok(answer(&state, fapi, a, Vec::new()).await?);
    }
    let a = Answer {
        target: &target,
        client: browser.client.as_ref(),
        format,
        suffixed,
        dev_browser: None,
    };
    Ok(answer(&state, fapi, a, Vec::new()).await?)
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
        .append_pair(wire::query::LINK_DOMAIN, &target.domain.name)
        .append_pair(wire::query::REDIRECT_URL, target.url.as_str())
        .append_pair(wire::query::PENDING_SYNC, &pending_id);
    let set = cookies::sync_state(&state_token, fapi.secure)
        .into_iter()
        .collect();
    Ok(temporary(&location, set))
}

/// The sync clerk-js starts on a production satellite (docs/design/frontend-api.md "What
/// clerk-js does"): `redirect_url` must be a page of this satellite; the browser then goes
/// through steps 2 to 4 as a handshake asking for a sync would (the pending sync answers with a
/// handshake nonce, which the app's middleware redeems, and both cookie names), and comes back
/// with `__clerk_synced=true` in place of `false`, so clerk-js does not sync again.
async fn satellite_sync(
    state: &AppState,
    fapi: &Fapi,
    q: &QueryParams,
) -> Result<Response, PageError> {
    let target = state
        .orbit
        .handshake_target(&fapi.ctx.instance, param(q, wire::query::REDIRECT_URL)?)
        .await?
        .map_err(target_error)?;
    if target.domain.id != fapi.ctx.domain.id {
        return Err(sync_request_error(
            SyncRequestError::RedirectNotOnSatellite(fapi.ctx.domain.name.clone()),
        ));
    }
    Ok(start_sync(state, fapi, &target, HandshakeFormat::Nonce, true).await?)
}

fn sync_request_error(e: SyncRequestError) -> PageError {
    use SyncRequestError as E;
    let (title, message) = match e {
        E::NotPrimary => ("Not the primary", "The sync endpoint is served by the primary domain's Frontend API of a production instance.".to_owned()),
        E::MissingLinkDomain => ("Missing link_domain", "The sync needs link_domain: the satellite domain to link.".to_owned()),
        E::NotVerified(name) => ("Satellite not verified", format!("{name} is registered but its DNS record is not verified yet.")),
        E::Suspended(name) => ("Satellite suspended", format!("{name} is suspended: its DNS record stopped pointing to this deployment, so nothing is sent to it. `orbit domain list` shows why.")),
        E::NotRegistered(name) => ("Satellite not registered", format!("{name} is not a satellite of this instance. Register it with `orbit domain add-satellite {name}`.")),
        E::RedirectNotOnSatellite(name) => ("Invalid redirect_url", format!("redirect_url must be a page of https://{name}.")),
        E::NotStarted(name) => ("Sync not started", format!("Start the sync from the satellite: open https://{name} and let its middleware redirect here.")),
    };
    PageError::bad_request(title, message)
}

/// `GET /v1/client/sync` on the primary (step 3): a single-use token for this browser's client,
/// sent to the satellite's link endpoint. A browser signed out on the primary gets a token that
/// links nothing, and no client is created for it (docs/design/storage.md).
///
/// On a production satellite's own host, without `link_domain`, it is the sync clerk-js starts
/// (`clerk.ts` `#buildSyncUrlForProductionInstances`: `redirect_url` only), served as step 2.
async fn sync(
    State(state): State<AppState>,
    browser: BrowserClient,
    q: QueryParams,
) -> Result<Response, PageError> {
    let fapi = &browser.fapi;
    let instance = &fapi.ctx.instance;
    if fapi.ctx.domain.is_satellite && param(&q, wire::query::LINK_DOMAIN)?.is_none() {
        return satellite_sync(&state, fapi, &q).await;
    }
    let request = state
        .orbit
        .sync_request(
            instance,
            &fapi.ctx.domain,
            param(&q, wire::query::LINK_DOMAIN)?,
            param(&q, wire::query::REDIRECT_URL)?,
            param(&q, wire::query::PENDING_SYNC)?,
        )
        .await?
        .map_err(sync_request_error)?;
    let token = state
        .orbit
        .issue_sync_token(
            instance,
            browser.client.as_ref(),
            &request.satellite,
            &request.pending_sync_id,
        )
        .await?;
    let mut location = Url::parse(&format!(
        "{}/v1/client/link",
        Orbit::fapi_url(instance, &request.satellite)
    ))
    .map_err(ApiError::internal)?;
    location
        .query_pairs_mut()
        .append_pair(wire::query::SYNC_TOKEN, &token);
    Ok(temporary(&location, Vec::new()))
}

/// `GET /v1/client/link` on the satellite (step 4): consume the token, check the browser, link
/// this host's client to the primary's and answer the original handshake.
async fn link(
    State(state): State<AppState>,
    fapi: Fapi,
    headers: HeaderMap,
    q: QueryParams,
) -> Result<Response, PageError> {
    let instance = &fapi.ctx.instance;
    if !fapi.ctx.domain.is_satellite {
        return Err(PageError::bad_request(
            "Not a satellite",
            "The link endpoint is served by a satellite domain's Frontend API.",
        ));
    }
    let token = param(&q, wire::query::SYNC_TOKEN)?;
    let Some(token) = token.filter(|t| !t.is_empty() && t.len() <= 128) else {
        return Err(PageError::bad_request(
            "Missing token",
            "This link needs its __clerk_token.",
        ));
    };
    let browser_state = cookie(&headers, wire::cookie::SYNC_STATE.name(fapi.secure));
    let redeemed = state
        .orbit
        .redeem_sync(instance, &fapi.ctx.domain, token, browser_state.as_deref())
        .await?;
    let (pending, client) = redeemed.map_err(|e| {
        tracing::info!(reason = %e, domain = %fapi.ctx.domain.name, "satellite sync refused");
        let next = match e {
            SyncError::StateMissing => {
                " Allow cookies for this site, then reload the page you came from."
            }
            _ => " Go back to the page you came from and reload it to try again.",
        };
        PageError::bad_request(
            "Could not complete sign-in on this domain",
            format!("{}{next}", sentence(&e.to_string())),
        )
    })?;
    let target = state
        .orbit
        .handshake_target(instance, Some(&pending.redirect_url))
        .await?
        .ok()
        .filter(|t| t.domain.id == fapi.ctx.domain.id)
        .ok_or_else(|| {
            PageError::bad_request(
                "Invalid redirect",
                "The sync's return address is not on this satellite.",
            )
        })?;
    // Linked to the primary's client; or, signed out there, to nothing: this host's earlier
    // `__client`, if any, is cleared so that the satellite is signed out as the primary is.
    let client_cookie = match &client {
        Some(c) => {
            let client_token = state.orbit.link_client(c, &fapi.host()).await?;
            cookies::client(&client_token, fapi.secure)
        }
        None => cookies::clear_client(fapi.secure),
    };
    let set = [client_cookie, cookies::clear_sync_state(fapi.secure)]
        .into_iter()
        .flatten()
        .collect();
    let a = Answer {
        target: &target,
        client: client.as_ref(),
        format: pending.format,
        suffixed: pending.suffixed_cookies,
        dev_browser: None,
    };
    Ok(answer(&state, &fapi, a, set).await?)
}
