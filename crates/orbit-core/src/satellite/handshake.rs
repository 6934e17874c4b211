//! The handshake's decisions (docs/protocol.md "The handshake", "Satellite sync"): which domain a
//! redirect belongs to, which client a development browser stands for, which issuer a token
//! gets, whether a handshake must first sync with the primary, and what a sync request needs. The
//! server parses requests and writes responses; every rule it applies is decided here.

use crate::clock::Millis;
use crate::domain_name;
use crate::error::Result;
use crate::keys::{constant_time_eq, token_hash};
use crate::model::*;
use crate::orbit::Orbit;
use crate::redirect::RedirectPolicy;
use orbit_proto::wire;
use url::Url;

use super::SyncError;

/// The app a handshake answers: a registered domain of the instance and the URL to return to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppTarget {
    pub domain: Domain,
    pub url: Url,
    /// `https://satellite.dev`: the app's origin, the `azp` of its tokens.
    pub origin: String,
}

/// Why a handshake's `redirect_url` names no app of the instance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("the handshake has no redirect_url")]
    Missing,
    #[error("{raw:?} is not an absolute URL")]
    NotAbsolute { raw: String },
    /// The URL parses but is not on a registered domain (or fails the redirect policy).
    #[error("the origin {origin} is not a domain of this instance")]
    NotRegistered {
        origin: String,
        /// `host[:port]`, as the domain would be registered.
        host: String,
        kind: InstanceKind,
    },
}

/// Resolves `redirect_url` to one of `domains` (primary or satellite). The URL must pass the
/// instance's redirect policy, use https in production, and name a registered domain exactly
/// (host and port).
pub fn app_target(
    kind: InstanceKind,
    domains: Vec<Domain>,
    policy: &RedirectPolicy,
    raw: Option<&str>,
) -> std::result::Result<AppTarget, TargetError> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Err(TargetError::Missing);
    };
    let checked = policy.check(raw, None);
    let url = match &checked {
        Ok(t) => t.url().clone(),
        Err(_) => Url::parse(raw).map_err(|_| TargetError::NotAbsolute {
            raw: raw.to_owned(),
        })?,
    };
    let origin = url.origin().ascii_serialization();
    let host = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    let scheme_ok = match kind {
        InstanceKind::Production => url.scheme() == "https",
        InstanceKind::Development => matches!(url.scheme(), "http" | "https"),
    };
    let domain = domains
        .into_iter()
        .find(|d| d.name == host)
        .filter(|_| scheme_ok && checked.is_ok());
    match domain {
        Some(domain) => Ok(AppTarget {
            domain,
            url,
            origin,
        }),
        None => Err(TargetError::NotRegistered { origin, host, kind }),
    }
}

/// What a development browser token adds to the `__client` cookie's client.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BrowserState {
    /// The browser's client on this instance: the cookie's, else the development browser's.
    pub client: Option<Client>,
    /// The development browser token, kept only when it stands for `client` (for a browser
    /// without a client: when it stands for no client either).
    pub dev_browser: Option<String>,
}

/// What a development browser token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevBrowserOf {
    /// Nothing: unknown, or unused for longer than `DEV_BROWSER_IDLE_LIFETIME`.
    Nothing,
    /// No client yet: the browser has only visited (clients are created lazily).
    NoClient,
    /// This client.
    Client(Client),
}

/// One FAPI host serves every domain of a development instance: the browser's client is its
/// `__client` cookie there, or the development browser token the app passed along. The cookie
/// wins; the token is kept only if it names the same client (else the app gets a fresh one).
/// A token of no client is kept only by a browser without a client: it is never bound to the
/// cookie's client, since a link can carry anyone's token (whoever made it would share the
/// browser's client).
pub fn reconcile_dev_browser(
    cookie_client: Option<Client>,
    dev_browser: Option<(&str, DevBrowserOf)>,
) -> BrowserState {
    let (token, of) = match dev_browser {
        None | Some((_, DevBrowserOf::Nothing)) => {
            // No token, or one that stands for nothing: the cookie decides alone.
            return BrowserState {
                client: cookie_client,
                dev_browser: None,
            };
        }
        Some((token, of)) => (token.to_owned(), of),
    };
    match (cookie_client, of) {
        (None, DevBrowserOf::Client(by_token)) => BrowserState {
            client: Some(by_token),
            dev_browser: Some(token),
        },
        (None, _) => BrowserState {
            client: None,
            dev_browser: Some(token),
        },
        (Some(c), of) => BrowserState {
            dev_browser: matches!(&of, DevBrowserOf::Client(b) if b.id == c.id).then_some(token),
            client: Some(c),
        },
    }
}

/// The `iss` of the tokens a handshake hands to the app on `target`: the FAPI URL its SDK derives
/// for its domain (docs/protocol.md "Keys"): in development the one FAPI host that answered, in
/// production the target domain's own FAPI host.
pub fn token_issuer(instance: &Instance, answering_origin: &str, target: &Domain) -> String {
    match instance.kind {
        InstanceKind::Development => answering_origin.to_owned(),
        InstanceKind::Production => Orbit::fapi_url(instance, target),
    }
}

/// Where the cookies Orbit writes for an app's domain live (docs/design/sessions-and-tokens.md
/// "Cookie scope"): each as narrowly as the SDKs allow. `None` is host-only: a directive the app
/// re-emits lands on the app's own host. `__session` and `__clerk_db_jwt` are always host-only
/// (clerk-js writes `__session` host-only too), so a sibling host under the same registrable
/// domain never receives a session token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCookieScope {
    /// `__client_uat`: the registrable domain in production, where clerk-js writes and reads it
    /// (`getCookieDomain`), so there is one of it; host-only in development.
    pub client_uat: Option<String>,
    /// The handshake nonce or token that the FAPI host `clerk.<domain>` sets for the app, and
    /// the directives that clear it: the app's domain itself in production (the narrowest
    /// `Domain` a FAPI host can set for its app); host-only in development, where the nonce
    /// travels in the URL instead.
    pub handshake: Option<String>,
}

/// The cookie scope of the app on `domain`.
pub fn app_cookie_scope(kind: InstanceKind, domain: &Domain) -> AppCookieScope {
    match kind {
        InstanceKind::Development => AppCookieScope {
            client_uat: None,
            handshake: None,
        },
        InstanceKind::Production => AppCookieScope {
            client_uat: Some(registrable_domain(domain)),
            handshake: Some(domain_name::host_of(&domain.name).to_owned()),
        },
    }
}

/// The registrable domain of a domain's host: `satellite.dev` for `app.satellite.dev`.
fn registrable_domain(domain: &Domain) -> String {
    let host = domain_name::host_of(&domain.name);
    psl::domain_str(host).unwrap_or(host).to_owned()
}

/// What a handshake does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeStep {
    /// Answer with the browser's state on this host.
    Answer,
    /// A production satellite without a linked client (or asked to re-sync): go to the primary.
    StartSync,
}

/// A handshake sent to the wrong FAPI host: every production domain has its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a handshake for {origin} must go to {expected}")]
pub struct WrongHost {
    pub origin: String,
    pub expected: String,
}

/// Whether a handshake for `target`, received on `host_domain`'s FAPI host, can be answered at
/// once or must sync first. `reason` is the SDK's `__clerk_hs_reason`; a `__clerk_synced=false`
/// in the target URL asks for a sync too.
pub fn handshake_step(
    instance: &Instance,
    host_domain: &Domain,
    target: &AppTarget,
    has_client: bool,
    reason: Option<&str>,
) -> std::result::Result<HandshakeStep, WrongHost> {
    if instance.kind == InstanceKind::Development {
        return Ok(HandshakeStep::Answer);
    }
    if host_domain.id != target.domain.id {
        return Err(WrongHost {
            origin: target.origin.clone(),
            expected: Orbit::fapi_url(instance, &target.domain),
        });
    }
    if !target.domain.is_satellite {
        return Ok(HandshakeStep::Answer);
    }
    let asked = reason == Some(wire::reason::SATELLITE_NEEDS_SYNCING)
        || target
            .url
            .query_pairs()
            .any(|(k, v)| k == wire::query::SYNCED && v == "false");
    Ok(if has_client && !asked {
        HandshakeStep::Answer
    } else {
        HandshakeStep::StartSync
    })
}

/// Why the primary refuses a sync request (`/v1/client/sync`, step 3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncRequestError {
    #[error("the sync endpoint is served by the primary domain of a production instance")]
    NotPrimary,
    #[error("the sync has no link_domain")]
    MissingLinkDomain,
    #[error("{0} is not a satellite of this instance")]
    NotRegistered(String),
    #[error("{0} is registered but its DNS record is not verified yet")]
    NotVerified(String),
    #[error("{0} is suspended: its DNS record stopped pointing to this deployment")]
    Suspended(String),
    #[error("redirect_url must be a page of https://{0}")]
    RedirectNotOnSatellite(String),
    #[error("the sync was not started by {0}")]
    NotStarted(String),
}

/// A sync request the primary may answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRequest {
    pub satellite: Domain,
    pub pending_sync_id: String,
}

/// The preconditions of step 3, given what the request names. `satellite` is the domain
/// `link_domain` names on this instance, if any.
pub fn check_sync_request(
    instance: &Instance,
    host_domain: &Domain,
    link_domain: Option<&str>,
    satellite: Option<Domain>,
    redirect_url: Option<&str>,
    pending_sync_id: Option<&str>,
) -> std::result::Result<SyncRequest, SyncRequestError> {
    if host_domain.is_satellite || instance.kind == InstanceKind::Development {
        return Err(SyncRequestError::NotPrimary);
    }
    let Some(link_domain) = link_domain.filter(|d| !d.is_empty()) else {
        return Err(SyncRequestError::MissingLinkDomain);
    };
    let satellite = match satellite {
        Some(d) if d.is_satellite && d.verified && d.fapi_host.is_some() => d,
        Some(d) if d.is_satellite && d.suspended_at.is_some() => {
            return Err(SyncRequestError::Suspended(d.name))
        }
        Some(d) if d.is_satellite => return Err(SyncRequestError::NotVerified(d.name)),
        _ => return Err(SyncRequestError::NotRegistered(link_domain.to_owned())),
    };
    if let Some(r) = redirect_url {
        let on_satellite = Url::parse(r).ok().is_some_and(|u| {
            u.scheme() == "https"
                && u.host_str() == Some(domain_name::host_of(&satellite.name))
                && u.port().is_none()
        });
        if !on_satellite {
            return Err(SyncRequestError::RedirectNotOnSatellite(satellite.name));
        }
    }
    let Some(pending) = pending_sync_id.filter(|p| !p.is_empty() && p.len() <= 64) else {
        return Err(SyncRequestError::NotStarted(satellite.name));
    };
    Ok(SyncRequest {
        pending_sync_id: pending.to_owned(),
        satellite,
    })
}

/// Step 3 creates a client, its cookie and a sync token only for a sync the satellite started:
/// `pending` (the live pending sync the request names, read without consuming it) must exist
/// and belong to this instance and satellite. Anything else is `NotStarted`.
pub fn check_pending_for_sync(
    instance: &Instance,
    request: &SyncRequest,
    pending: Option<&PendingSync>,
    now: Millis,
) -> std::result::Result<(), SyncRequestError> {
    match pending {
        Some(p)
            if p.expires_at > now
                && p.id == request.pending_sync_id
                && p.instance_id == instance.id
                && p.satellite_domain_id == request.satellite.id =>
        {
            Ok(())
        }
        _ => Err(SyncRequestError::NotStarted(request.satellite.name.clone())),
    }
}

/// The checks of step 4 once the token and its pending sync are taken from the store: both
/// belong to this satellite and instance, are still live at `now`, and the browser holds the
/// state cookie set when the sync began.
pub fn check_redemption(
    instance: &Instance,
    satellite: &Domain,
    token: &SyncToken,
    pending: Option<&PendingSync>,
    state: Option<&str>,
    now: Millis,
) -> std::result::Result<(), SyncError> {
    if token.expires_at <= now {
        return Err(SyncError::TokenInvalid);
    }
    if token.instance_id != instance.id || token.satellite_domain_id != satellite.id {
        return Err(SyncError::WrongDomain);
    }
    let Some(pending) = pending.filter(|p| p.expires_at > now) else {
        return Err(SyncError::PendingInvalid);
    };
    if pending.satellite_domain_id != satellite.id || pending.instance_id != instance.id {
        return Err(SyncError::WrongDomain);
    }
    let Some(state) = state else {
        return Err(SyncError::StateMissing);
    };
    if !constant_time_eq(token_hash(state).as_bytes(), pending.state_hash.as_bytes()) {
        return Err(SyncError::StateMismatch);
    }
    Ok(())
}

impl Orbit {
    /// The app a handshake's `redirect_url` names, under the instance's redirect policy.
    pub async fn handshake_target(
        &self,
        instance: &Instance,
        redirect_url: Option<&str>,
    ) -> Result<std::result::Result<AppTarget, TargetError>> {
        // One read of the domains serves both the policy and the lookup.
        let domains = self.domains(instance).await?;
        let policy = crate::orbit::redirect_policy_of(instance, &domains);
        Ok(app_target(instance.kind, domains, &policy, redirect_url))
    }

    /// The browser behind a FAPI request: the client of its `__client` cookie on `fapi_host`
    /// and, on development instances, the development browser token it carries.
    pub async fn browser_state(
        &self,
        instance: &Instance,
        fapi_host: &str,
        client_token: Option<&str>,
        dev_browser: Option<&str>,
    ) -> Result<BrowserState> {
        let cookie_client = match client_token {
            Some(t) => self
                .client_for_token(fapi_host, t)
                .await?
                .filter(|c| c.instance_id == instance.id),
            None => None,
        };
        let dev_browser = dev_browser
            .filter(|d| !d.is_empty())
            .filter(|_| instance.kind == InstanceKind::Development);
        let by_token = match dev_browser {
            Some(d) => Some((d, self.dev_browser(instance, d).await?)),
            None => None,
        };
        Ok(reconcile_dev_browser(cookie_client, by_token))
    }

    /// Step 3's preconditions: looks up the satellite `link_domain` names, then checks.
    pub async fn sync_request(
        &self,
        instance: &Instance,
        host_domain: &Domain,
        link_domain: Option<&str>,
        redirect_url: Option<&str>,
        pending_sync_id: Option<&str>,
    ) -> Result<std::result::Result<SyncRequest, SyncRequestError>> {
        let satellite = match link_domain.filter(|d| !d.is_empty()) {
            Some(name) => match self.find_domain(instance, name).await {
                Ok(d) => Some(d),
                Err(crate::Error::NotFound { .. }) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        let request = match check_sync_request(
            instance,
            host_domain,
            link_domain,
            satellite,
            redirect_url,
            pending_sync_id,
        ) {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        let now = self.now();
        let pending = self
            .store
            .pending_sync(&request.pending_sync_id, now)
            .await?;
        Ok(check_pending_for_sync(instance, &request, pending.as_ref(), now).map(|()| request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock, SECOND};
    use crate::redirect::OriginPattern;
    use crate::satellite::HANDSHAKE_TTL;

    fn instance(kind: InstanceKind) -> Instance {
        Instance {
            id: "ins_1".into(),
            application_id: "app_1".into(),
            kind,
            settings: InstanceSettings::default(),
            created_at: 0,
        }
    }

    fn domain(id: &str, name: &str, satellite: bool, fapi_host: Option<&str>) -> Domain {
        Domain {
            id: id.into(),
            instance_id: "ins_1".into(),
            name: name.into(),
            is_satellite: satellite,
            fapi_host: fapi_host.map(str::to_owned),
            verified: true,
            verification_error: None,
            checked_at: None,
            dns_failures: 0,
            dns_failing_since: None,
            suspended_at: None,
            created_at: 0,
        }
    }

    fn production() -> (Instance, Vec<Domain>, RedirectPolicy) {
        let domains = vec![
            domain("dmn_p", "primary.test", false, Some("clerk.primary.test")),
            domain(
                "dmn_s",
                "satellite.test",
                true,
                Some("clerk.satellite.test"),
            ),
        ];
        let mut policy = RedirectPolicy::new(false);
        for o in ["https://primary.test", "https://satellite.test"] {
            policy.allow(OriginPattern::parse(o).unwrap());
        }
        (instance(InstanceKind::Production), domains, policy)
    }

    fn client(id: &str) -> Client {
        Client {
            id: id.into(),
            instance_id: "ins_1".into(),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn app_target_table() {
        let (i, domains, policy) = production();
        let check = |raw: Option<&str>| app_target(i.kind, domains.clone(), &policy, raw);
        assert_eq!(check(None), Err(TargetError::Missing));
        assert_eq!(check(Some("")), Err(TargetError::Missing));
        assert_eq!(
            check(Some("/relative")),
            Err(TargetError::NotAbsolute {
                raw: "/relative".into()
            })
        );
        let t = check(Some("https://satellite.test/a?b=1")).unwrap();
        assert_eq!(t.domain.id, "dmn_s");
        assert_eq!(t.origin, "https://satellite.test");
        assert_eq!(t.url.as_str(), "https://satellite.test/a?b=1");
        assert_eq!(
            check(Some("https://primary.test/")).unwrap().domain.id,
            "dmn_p"
        );
        for (raw, origin, host) in [
            // Not registered, http in production, another port: all refused with the origin.
            ("https://evil.test/", "https://evil.test", "evil.test"),
            (
                "http://satellite.test/",
                "http://satellite.test",
                "satellite.test",
            ),
            (
                "https://satellite.test:8443/",
                "https://satellite.test:8443",
                "satellite.test:8443",
            ),
            // A subdomain of a registered domain is another domain.
            (
                "https://a.satellite.test/",
                "https://a.satellite.test",
                "a.satellite.test",
            ),
        ] {
            assert_eq!(
                check(Some(raw)),
                Err(TargetError::NotRegistered {
                    origin: origin.into(),
                    host: host.into(),
                    kind: InstanceKind::Production
                }),
                "{raw}"
            );
        }
    }

    #[test]
    fn development_targets_take_http_and_ports() {
        let domains = vec![
            domain("dmn_p", "localhost:3000", false, Some("127.0.0.1:4000")),
            domain("dmn_s", "localhost:3001", true, None),
        ];
        let mut policy = RedirectPolicy::new(true);
        policy.allow(OriginPattern::parse("http://localhost:3001").unwrap());
        let t = app_target(
            InstanceKind::Development,
            domains.clone(),
            &policy,
            Some("http://localhost:3001/x"),
        )
        .unwrap();
        assert_eq!(t.domain.id, "dmn_s");
        assert!(matches!(
            app_target(
                InstanceKind::Development,
                domains,
                &policy,
                Some("http://localhost:3002/")
            ),
            Err(TargetError::NotRegistered { .. })
        ));
    }

    #[test]
    fn dev_browser_reconciliation() {
        let a = || Some(client("client_a"));
        let b = || Some(client("client_b"));
        let of_a = || DevBrowserOf::Client(client("client_a"));
        let of_b = || DevBrowserOf::Client(client("client_b"));
        let state = |client: Option<Client>, dev_browser: Option<&str>| BrowserState {
            client,
            dev_browser: dev_browser.map(str::to_owned),
        };
        // (cookie's client, token and what it stands for) -> the browser.
        let rows = [
            // No token: the cookie decides.
            (a(), None, state(a(), None)),
            (None, None, state(None, None)),
            // A token that stands for nothing adds nothing.
            (
                None,
                Some(("dvb_x", DevBrowserOf::Nothing)),
                state(None, None),
            ),
            (
                a(),
                Some(("dvb_x", DevBrowserOf::Nothing)),
                state(a(), None),
            ),
            // No cookie: the token's client, and the token is kept.
            (None, Some(("dvb_b", of_b())), state(b(), Some("dvb_b"))),
            // No cookie, a token of no client yet: still no client, and the token is kept.
            (
                None,
                Some(("dvb_n", DevBrowserOf::NoClient)),
                state(None, Some("dvb_n")),
            ),
            // Cookie and token agree: both kept.
            (a(), Some(("dvb_a", of_a())), state(a(), Some("dvb_a"))),
            // They disagree: the cookie wins and the foreign token is dropped.
            (a(), Some(("dvb_b", of_b())), state(a(), None)),
            // A token of no client is never bound to the cookie's client: dropped.
            (
                a(),
                Some(("dvb_n", DevBrowserOf::NoClient)),
                state(a(), None),
            ),
        ];
        for (cookie, token, expected) in rows {
            let row = format!("{cookie:?} {token:?}");
            assert_eq!(reconcile_dev_browser(cookie, token), expected, "{row}");
        }
    }

    #[test]
    fn issuers_and_cookie_domains() {
        let (prod, domains, _) = production();
        let dev = instance(InstanceKind::Development);
        assert_eq!(
            token_issuer(&prod, "https://clerk.primary.test", &domains[1]),
            "https://clerk.satellite.test"
        );
        assert_eq!(
            token_issuer(&dev, "http://127.0.0.1:4000", &domains[1]),
            "http://127.0.0.1:4000"
        );
        let app = domain("dmn_x", "app.satellite.test", true, None);
        assert_eq!(
            app_cookie_scope(InstanceKind::Production, &app),
            AppCookieScope {
                client_uat: Some("satellite.test".into()),
                handshake: Some("app.satellite.test".into()),
            }
        );
        assert_eq!(
            app_cookie_scope(InstanceKind::Development, &app),
            AppCookieScope {
                client_uat: None,
                handshake: None,
            }
        );
    }

    #[test]
    fn handshake_steps() {
        let (i, domains, policy) = production();
        let target = |raw: &str| app_target(i.kind, domains.clone(), &policy, Some(raw)).unwrap();
        let sat = target("https://satellite.test/");
        let primary = target("https://primary.test/");
        let step = |host: &Domain, t: &AppTarget, has_client, reason| {
            handshake_step(&i, host, t, has_client, reason)
        };
        assert_eq!(
            step(&domains[0], &primary, false, None),
            Ok(HandshakeStep::Answer)
        );
        assert_eq!(
            step(&domains[1], &sat, true, None),
            Ok(HandshakeStep::Answer)
        );
        assert_eq!(
            step(&domains[1], &sat, false, None),
            Ok(HandshakeStep::StartSync)
        );
        assert_eq!(
            step(&domains[1], &sat, true, Some("satellite-needs-syncing")),
            Ok(HandshakeStep::StartSync)
        );
        assert_eq!(
            step(
                &domains[1],
                &target("https://satellite.test/?__clerk_synced=false"),
                true,
                None
            ),
            Ok(HandshakeStep::StartSync)
        );
        assert_eq!(
            step(
                &domains[1],
                &target("https://satellite.test/?__clerk_synced=true"),
                true,
                None
            ),
            Ok(HandshakeStep::Answer)
        );
        assert_eq!(
            step(&domains[0], &sat, true, None),
            Err(WrongHost {
                origin: "https://satellite.test".into(),
                expected: "https://clerk.satellite.test".into()
            })
        );
        // Development: one FAPI host answers every domain, and never syncs.
        let dev = instance(InstanceKind::Development);
        assert_eq!(
            handshake_step(&dev, &domains[0], &sat, false, None),
            Ok(HandshakeStep::Answer)
        );
    }

    #[test]
    fn a_sync_request_needs_a_live_pending_sync_of_its_satellite() {
        let (i, domains, _) = production();
        let s = &domains[1];
        let request = SyncRequest {
            satellite: s.clone(),
            pending_sync_id: "pending".into(),
        };
        let pending = PendingSync {
            id: "pending".into(),
            instance_id: i.id.clone(),
            satellite_domain_id: s.id.clone(),
            state_hash: "sh".into(),
            redirect_url: "https://satellite.test/".into(),
            format: HandshakeFormat::Nonce,
            suffixed_cookies: true,
            expires_at: 1_000,
        };
        assert_eq!(
            check_pending_for_sync(&i, &request, Some(&pending), 999),
            Ok(())
        );
        let not_started = Err(SyncRequestError::NotStarted(s.name.clone()));
        for bad in [
            PendingSync {
                expires_at: 999,
                ..pending.clone()
            },
            PendingSync {
                satellite_domain_id: "dmn_other".into(),
                ..pending.clone()
            },
            PendingSync {
                instance_id: "ins_other".into(),
                ..pending.clone()
            },
            PendingSync {
                id: "other".into(),
                ..pending.clone()
            },
        ] {
            assert_eq!(
                check_pending_for_sync(&i, &request, Some(&bad), 999),
                not_started
            );
        }
        assert_eq!(check_pending_for_sync(&i, &request, None, 0), not_started);
    }

    #[test]
    fn sync_request_preconditions() {
        let (i, domains, _) = production();
        let (p, s) = (&domains[0], &domains[1]);
        let ok = check_sync_request(
            &i,
            p,
            Some("satellite.test"),
            Some(s.clone()),
            Some("https://satellite.test/page"),
            Some("pending"),
        );
        assert_eq!(
            ok,
            Ok(SyncRequest {
                satellite: s.clone(),
                pending_sync_id: "pending".into()
            })
        );
        let check = |host: &Domain,
                     link: Option<&str>,
                     sat: Option<Domain>,
                     r: Option<&str>,
                     pending: Option<&str>| {
            check_sync_request(&i, host, link, sat, r, pending).unwrap_err()
        };
        use SyncRequestError as E;
        let sat = || Some(s.clone());
        let link = Some("satellite.test");
        assert_eq!(check(s, link, sat(), None, Some("p")), E::NotPrimary);
        assert_eq!(check(p, None, sat(), None, Some("p")), E::MissingLinkDomain);
        assert_eq!(
            check(p, Some(""), sat(), None, Some("p")),
            E::MissingLinkDomain
        );
        assert_eq!(
            check(p, Some("other.test"), None, None, Some("p")),
            E::NotRegistered("other.test".into())
        );
        assert_eq!(
            check(p, link, Some(p.clone()), None, Some("p")),
            E::NotRegistered("satellite.test".into())
        );
        let unverified = Domain {
            verified: false,
            ..s.clone()
        };
        assert_eq!(
            check(p, link, Some(unverified), None, Some("p")),
            E::NotVerified("satellite.test".into())
        );
        let suspended = Domain {
            verified: false,
            suspended_at: Some(1),
            ..s.clone()
        };
        assert_eq!(
            check(p, link, Some(suspended), None, Some("p")),
            E::Suspended("satellite.test".into())
        );
        for r in [
            "https://evil.test/",
            "http://satellite.test/",
            "https://satellite.test:444/",
            "not a url",
        ] {
            assert_eq!(
                check(p, link, sat(), Some(r), Some("p")),
                E::RedirectNotOnSatellite("satellite.test".into()),
                "{r}"
            );
        }
        assert_eq!(
            check(p, link, sat(), None, None),
            E::NotStarted("satellite.test".into())
        );
        assert_eq!(
            check(p, link, sat(), None, Some("")),
            E::NotStarted("satellite.test".into())
        );
        let long = "p".repeat(65);
        assert_eq!(
            check(p, link, sat(), None, Some(&long)),
            E::NotStarted("satellite.test".into())
        );
        let dev = instance(InstanceKind::Development);
        assert_eq!(
            check_sync_request(&dev, p, link, sat(), None, Some("p")),
            Err(E::NotPrimary)
        );
    }

    #[test]
    fn redemption_checks_on_a_manual_clock() {
        let clock = ManualClock::new(1_000_000);
        let (i, domains, _) = production();
        let s = &domains[1];
        let issued = clock.now_ms();
        let token = SyncToken {
            token_hash: "h".into(),
            instance_id: i.id.clone(),
            client_id: Some("client_a".into()),
            satellite_domain_id: s.id.clone(),
            pending_sync_id: "pending".into(),
            expires_at: issued + HANDSHAKE_TTL,
        };
        let pending = PendingSync {
            id: "pending".into(),
            instance_id: i.id.clone(),
            satellite_domain_id: s.id.clone(),
            state_hash: token_hash("state"),
            redirect_url: "https://satellite.test/".into(),
            format: HandshakeFormat::Nonce,
            suffixed_cookies: false,
            expires_at: issued + HANDSHAKE_TTL,
        };
        let check = |t: &SyncToken, p: Option<&PendingSync>, state: Option<&str>| {
            check_redemption(&i, s, t, p, state, clock.now_ms())
        };
        assert_eq!(check(&token, Some(&pending), Some("state")), Ok(()));
        assert_eq!(
            check(&token, Some(&pending), Some("other")),
            Err(SyncError::StateMismatch)
        );
        assert_eq!(
            check(&token, Some(&pending), None),
            Err(SyncError::StateMissing)
        );
        assert_eq!(
            check(&token, None, Some("state")),
            Err(SyncError::PendingInvalid)
        );
        let elsewhere = SyncToken {
            satellite_domain_id: "dmn_p".into(),
            ..token.clone()
        };
        assert_eq!(
            check(&elsewhere, Some(&pending), Some("state")),
            Err(SyncError::WrongDomain)
        );
        let foreign_pending = PendingSync {
            satellite_domain_id: "dmn_p".into(),
            ..pending.clone()
        };
        assert_eq!(
            check(&token, Some(&foreign_pending), Some("state")),
            Err(SyncError::WrongDomain)
        );
        // One second before expiry it still holds; at expiry both token and pending are dead.
        clock.advance_ms(HANDSHAKE_TTL - SECOND);
        assert_eq!(check(&token, Some(&pending), Some("state")), Ok(()));
        clock.advance_ms(SECOND);
        assert_eq!(
            check(&token, Some(&pending), Some("state")),
            Err(SyncError::TokenInvalid)
        );
        let fresh_token = SyncToken {
            expires_at: clock.now_ms() + HANDSHAKE_TTL,
            ..token
        };
        assert_eq!(
            check(&fresh_token, Some(&pending), Some("state")),
            Err(SyncError::PendingInvalid)
        );
    }
}
