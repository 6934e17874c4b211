//! The tower `Layer`: authenticates every request, answers handshake redirects itself, puts
//! `Auth` into the request's extensions, adds the handshake's `Set-Cookie`s to the response, and
//! optionally protects every route but the public ones (the seed's middleware rule).

use crate::authenticate::AuthStatus;
use crate::routes::RouteMatcher;
use crate::{Auth, Orbit};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use http::{HeaderValue, Request, Response, StatusCode};
use orbit_proto::wire::cookie;
use orbit_proto::{ErrorBody, ErrorItem};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tower::{Layer, Service};

#[derive(Clone, Debug)]
pub struct OrbitLayer {
    orbit: Orbit,
    public: Option<RouteMatcher>,
}

impl OrbitLayer {
    pub(crate) fn new(orbit: Orbit) -> Self {
        Self {
            orbit,
            public: None,
        }
    }

    /// Every route but those `public` matches requires a signed-in user: page loads go to the
    /// sign-in page (and come back), API calls get 401.
    pub fn protect_all_except(mut self, public: RouteMatcher) -> Self {
        self.public = Some(public);
        self
    }
}

impl<S> Layer<S> for OrbitLayer {
    type Service = OrbitService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        OrbitService {
            inner,
            orbit: self.orbit.clone(),
            public: self.public.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct OrbitService<S> {
    inner: S,
    orbit: Orbit,
    public: Option<RouteMatcher>,
}

/// The 401 body for API calls to protected routes, in the error shape of the APIs.
fn signed_out_body() -> String {
    let body = ErrorBody {
        errors: vec![ErrorItem {
            code: "signed_out".into(),
            message: "Unauthenticated".into(),
            long_message: format!(
                "Sign in first: send the session token as `Authorization: Bearer <token>` or the `{}` cookie.",
                cookie::SESSION
            ),
            meta: serde_json::json!({}),
        }],
        clerk_trace_id: None,
    };
    // Through `Value`, whose objects sort their keys: the bytes this body always had.
    serde_json::to_value(&body)
        .map(|v| v.to_string())
        .unwrap_or_default()
}

/// The response for a signed-out request to a protected route.
pub(crate) fn protect_response<B: From<String>>(auth: &Auth) -> Response<B> {
    if auth.is_document_request() {
        let mut r = Response::new(B::from(String::new()));
        *r.status_mut() = StatusCode::TEMPORARY_REDIRECT;
        if let Ok(v) = HeaderValue::from_str(auth.sign_in_url()) {
            r.headers_mut().insert(LOCATION, v);
        }
        r.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    } else {
        let mut r = Response::new(B::from(signed_out_body()));
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for OrbitService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: From<String> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // Take the service that was polled ready; leave a fresh clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let orbit = self.orbit.clone();
        let public = self.public.clone();
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            let state = orbit.authenticate(&parts).await;
            if state.status == AuthStatus::Handshake && state.location().is_some() {
                let mut r = Response::new(ResBody::from(String::new()));
                *r.status_mut() = StatusCode::TEMPORARY_REDIRECT;
                for (k, v) in state.headers {
                    r.headers_mut().append(k, v);
                }
                return Ok(r);
            }
            let protected = public
                .as_ref()
                .is_some_and(|p| !p.matches(parts.uri.path()));
            if protected && !state.auth.is_signed_in() {
                let mut r = protect_response::<ResBody>(&state.auth);
                for (k, v) in state.headers {
                    r.headers_mut().append(k, v);
                }
                return Ok(r);
            }
            parts.extensions.insert(state.auth);
            let mut resp = inner.call(Request::from_parts(parts, body)).await?;
            for (k, v) in state.headers {
                resp.headers_mut().append(k, v);
            }
            Ok(resp)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_out_body_bytes() {
        assert_eq!(
            signed_out_body(),
            r#"{"errors":[{"code":"signed_out","long_message":"Sign in first: send the session token as `Authorization: Bearer <token>` or the `__session` cookie.","message":"Unauthenticated","meta":{}}]}"#
        );
    }
}
