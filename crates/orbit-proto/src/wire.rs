//! Wire names: every cookie, query parameter and header name that the server writes and the SDK
//! reads (docs/protocol.md "Cookies", "The handshake", "Satellite sync"). Both sides import them
//! from here, so they cannot drift apart; a name a published Clerk SDK reads is a contract.

/// The Clerk API version Orbit speaks: the SDK sends it to the Backend API as `Clerk-API-Version`
/// (`header::API_VERSION`) and to the handshake as `__clerk_api_version` (`query::API_VERSION`).
pub const CLERK_API_VERSION: &str = "2026-05-12";

/// Cookie names.
pub mod cookie {
    /// The browser's long-lived client token on one FAPI host (Orbit's own, host-only).
    pub const CLIENT: OwnCookie = OwnCookie {
        plain: "__client",
        https: "__Host-client",
    };
    /// The session token on the app's domain (contract).
    pub const SESSION: &str = "__session";
    /// When the client last changed, in seconds; 0 when signed out (contract).
    pub const CLIENT_UAT: &str = "__client_uat";
    /// The development browser token (contract).
    pub const DEV_BROWSER: &str = "__clerk_db_jwt";
    /// Handshake directives as a signed JWT (contract).
    pub const HANDSHAKE: &str = "__clerk_handshake";
    /// A nonce the app's backend redeems for the handshake directives (contract).
    pub const HANDSHAKE_NONCE: &str = "__clerk_handshake_nonce";
    /// The SDK's redirect-loop counter on the app's domain (contract).
    pub const REDIRECT_COUNT: &str = "__clerk_redirect_count";
    /// Orbit's binding of a pending satellite sync to one browser (host-only, Orbit's own).
    pub const SYNC_STATE: OwnCookie = OwnCookie {
        plain: "__orbit_sync",
        https: "__Host-orbit_sync",
    };
    /// The CSRF token of Orbit's hosted pages (host-only, Orbit's own).
    pub const CSRF: OwnCookie = OwnCookie {
        plain: "__orbit_csrf",
        https: "__Host-orbit_csrf",
    };
    /// A browser that signed in to an account before (host-only, Orbit's own): its attempts on
    /// that account keep a lane when a flood is shed.
    pub const DEVICE: OwnCookie = OwnCookie {
        plain: "__orbit_device",
        https: "__Host-orbit_device",
    };
    /// Binds a Frontend API sign-in attempt to the browser that started it (host-only, Orbit's
    /// own): an attempt id alone is worth nothing in another browser.
    pub const SIGN_IN: OwnCookie = OwnCookie {
        plain: "__orbit_sign_in",
        https: "__Host-orbit_sign_in",
    };
    /// Binds a Frontend API sign-up attempt to the browser that started it (host-only, Orbit's
    /// own).
    pub const SIGN_UP: OwnCookie = OwnCookie {
        plain: "__orbit_sign_up",
        https: "__Host-orbit_sign_up",
    };
    /// An operator's dashboard session (host-only, SameSite=Strict, Orbit's own; docs/design/
    /// dashboard.md). Named apart from every end-user cookie: on a development deployment the
    /// dashboard shares its host with the development instance's Frontend API.
    pub const DASHBOARD: OwnCookie = OwnCookie {
        plain: "orbit_dashboard",
        https: "__Host-orbit_dashboard",
    };
    /// The dashboard's CSRF token before sign-in (the sign-in and setup forms); once signed
    /// in, forms carry a token derived from the session instead.
    pub const DASHBOARD_CSRF: OwnCookie = OwnCookie {
        plain: "orbit_dashboard_csrf",
        https: "__Host-orbit_dashboard_csrf",
    };

    /// One of Orbit's own cookies, which no SDK reads by name. On https it carries the
    /// `__Host-` prefix, so browsers accept it only host-only, `Secure` and on `Path=/`: a
    /// sibling or parent domain cannot set one that shadows it (cookie tossing). Plain http
    /// (development on loopback) cannot use the prefix and keeps the plain name.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct OwnCookie {
        plain: &'static str,
        https: &'static str,
    }

    impl OwnCookie {
        /// The name on a FAPI host reached over https (`secure`) or plain http.
        pub const fn name(self, secure: bool) -> &'static str {
            if secure {
                self.https
            } else {
                self.plain
            }
        }
    }

    /// `name` with the publishable key's suffix, as the SDKs read it when several instances
    /// share one domain: `__session_AbCdEfGh`.
    pub fn suffixed(name: &str, suffix: &str) -> String {
        format!("{name}_{suffix}")
    }
}

/// Query parameter names.
pub mod query {
    /// Where to go when the flow is done (every flow).
    pub const REDIRECT_URL: &str = "redirect_url";
    /// `nonce` or `token`: how the handshake hands over its directives.
    pub const FORMAT: &str = "format";
    /// `true` when the app reads suffixed cookie names too.
    pub const SUFFIXED_COOKIES: &str = "suffixed_cookies";
    /// Why the SDK started a handshake (logged, and `satellite-needs-syncing` starts a sync).
    pub const HANDSHAKE_REASON: &str = "__clerk_hs_reason";
    /// The API version an SDK speaks.
    pub const API_VERSION: &str = "__clerk_api_version";
    /// `true` on the redirect back to a satellite after a sync; `false` asks for one.
    pub const SYNCED: &str = "__clerk_synced";
    /// The handshake nonce or token when it travels in the URL (development).
    pub const HANDSHAKE_NONCE: &str = super::cookie::HANDSHAKE_NONCE;
    pub const HANDSHAKE: &str = super::cookie::HANDSHAKE;
    /// The development browser token when it travels in the URL.
    pub const DEV_BROWSER: &str = super::cookie::DEV_BROWSER;
    /// A debugging parameter of the handshake, stripped from the URL with the handshake's own
    /// (`@clerk/backend`'s `QueryParameters.HandshakeHelp`; a query parameter, not a cookie).
    pub const HANDSHAKE_HELP: &str = "__clerk_help";
    /// The legacy name of the development browser token, stripped by the SDK.
    pub const DEV_SESSION: &str = "__dev_session";
    /// The satellite a sync links (`/v1/client/sync`).
    pub const LINK_DOMAIN: &str = "link_domain";
    /// The single-use sync token (`/v1/client/link`).
    pub const SYNC_TOKEN: &str = "__clerk_token";
    /// Orbit's pending-sync id (`/v1/client/sync`).
    pub const PENDING_SYNC: &str = "__orbit_sync";
    /// The handshake payload's nonce (BAPI `/v1/clients/handshake_payload`).
    pub const NONCE: &str = "nonce";
    /// The method a clerk-js POST stands for (`PATCH`, `PUT`, `DELETE`): clerk-js sends only
    /// GET and POST, so that no request needs a CORS preflight (`core/fapiClient.ts`).
    pub const METHOD: &str = "_method";
    /// The clerk-js version, on every Frontend API call (not checked).
    pub const CLERK_JS_VERSION: &str = "_clerk_js_version";
    /// The session a `/v1/me/...` or `/v1/environment` call is made for.
    pub const SESSION_ID: &str = "_clerk_session_id";
    /// Which retry of a GET this is (not checked).
    pub const RETRY_ATTEMPT: &str = "_clerk_retry_attempt";
}

/// Header names beyond the standard ones.
pub mod header {
    pub const FORWARDED_FOR: &str = "x-forwarded-for";
    pub const FORWARDED_HOST: &str = "x-forwarded-host";
    pub const FORWARDED_PROTO: &str = "x-forwarded-proto";
    pub const REQUEST_ID: &str = "x-request-id";
    /// The Backend API version a client speaks (`Clerk-API-Version`; header names are
    /// case-insensitive and travel lowercase).
    pub const API_VERSION: &str = "clerk-api-version";
    /// Fetch metadata: what the browser will do with the answer (`document`, `iframe`, ...).
    pub const SEC_FETCH_DEST: &str = "sec-fetch-dest";
}

/// Values of `format` (`query::FORMAT`): how the handshake hands over its directives.
pub mod handshake_format {
    /// A nonce the app's backend redeems at `/v1/clients/handshake_payload`.
    pub const NONCE: &str = "nonce";
    /// A signed JWT (`HandshakeClaims`).
    pub const TOKEN: &str = "token";
}

/// `__clerk_hs_reason` values Orbit acts on.
pub mod reason {
    /// The satellite's app asks the satellite FAPI to sync with the primary.
    pub const SATELLITE_NEEDS_SYNCING: &str = "satellite-needs-syncing";
}
