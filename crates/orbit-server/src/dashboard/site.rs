//! Where the dashboard answers (docs/design/dashboard.md "Host rule"): on the main listener only
//! on the Orbit host (the host of `public_url`), never on a production instance's or a
//! satellite's Frontend API host; with `dashboard_listen`, only on that listener, whatever the
//! host. Elsewhere `/dashboard` is the 404 of any unknown path.

use crate::error::ApiError;
use crate::extract::{forwarded, request_host};
use crate::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use orbit_core::model::InstanceKind;
use orbit_proto::wire;
use url::Url;

/// Which listener serves the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The main listener, on the host of `public_url` only.
    PublicHost,
    /// The listener of `dashboard_listen`, on any host.
    OwnListener,
}

/// The dashboard's own origin for this request, and whether it is reached over https (which
/// names its cookies `__Host-...` and makes them `Secure`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// `https://orbit.example.com`, or `http://127.0.0.1:4001` on `dashboard_listen`.
    pub origin: String,
    pub secure: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Site {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        // Put there by `guard`, which runs before every dashboard route.
        parts
            .extensions
            .get::<Site>()
            .cloned()
            .ok_or_else(|| ApiError::internal("the dashboard's site guard did not run"))
    }
}

/// Before every dashboard route: the host rule, then the request's [`Site`].
pub(super) async fn guard(
    State((state, placement)): State<(AppState, Placement)>,
    req: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = req.into_parts();
    match site_of(&state, placement, &parts).await {
        Ok(Some(site)) => {
            parts.extensions.insert(site);
            next.run(Request::from_parts(parts, body)).await
        }
        Ok(None) => ApiError::not_found_route().into_response(),
        Err(e) => e.into_response(),
    }
}

/// The request's site, or `None` when the dashboard does not answer on its host.
async fn site_of(
    state: &AppState,
    placement: Placement,
    parts: &Parts,
) -> Result<Option<Site>, ApiError> {
    let Some(host) = request_host(parts, state) else {
        return Ok(None);
    };
    match placement {
        Placement::OwnListener => {
            let secure = state.tls
                || forwarded(parts, state, wire::header::FORWARDED_PROTO).as_deref()
                    == Some("https");
            let scheme = if secure { "https" } else { "http" };
            Ok(Some(Site {
                origin: format!("{scheme}://{host}"),
                secure,
            }))
        }
        Placement::PublicHost => {
            let public = Url::parse(&state.public_base).map_err(ApiError::internal)?;
            let secure = public.scheme() == "https";
            if without_default_port(&host, secure) != authority(&public) {
                return Ok(None);
            }
            // Even were `public_url` set to one of them: never on an instance's production or
            // satellite Frontend API host.
            if let Some(ctx) = state.orbit.resolve_host(&host).await? {
                if ctx.instance.kind == InstanceKind::Production || ctx.domain.is_satellite {
                    return Ok(None);
                }
            }
            Ok(Some(Site {
                origin: public.origin().ascii_serialization(),
                secure,
            }))
        }
    }
}

/// `host[:port]` of `url`, without the scheme's default port.
fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    }
}

/// `host` (lower-case, from the request) without the scheme's default port.
fn without_default_port(host: &str, secure: bool) -> &str {
    let default = if secure { ":443" } else { ":80" };
    host.strip_suffix(default).unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities() {
        let u = |s| Url::parse(s).unwrap();
        assert_eq!(authority(&u("https://Orbit.test")), "orbit.test");
        assert_eq!(authority(&u("https://orbit.test:443")), "orbit.test");
        assert_eq!(authority(&u("http://127.0.0.1:4000")), "127.0.0.1:4000");
        assert_eq!(without_default_port("orbit.test:443", true), "orbit.test");
        assert_eq!(
            without_default_port("orbit.test:443", false),
            "orbit.test:443"
        );
        assert_eq!(without_default_port("orbit.test", true), "orbit.test");
    }
}
