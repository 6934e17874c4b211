//! axum integration: `Auth` as an extractor, and `protect()` for handlers.

use crate::layer::protect_response;
use crate::Auth;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Why a handler refused a request: no `OrbitLayer` in front of it, or the user is signed out.
#[derive(Debug)]
pub enum ProtectRejection {
    /// The route is not behind `Orbit::layer()`; a programming error, answered 500.
    MissingLayer,
    /// Signed out: a page load is redirected to sign-in, an API call gets 401.
    SignedOut(Box<Auth>),
}

impl IntoResponse for ProtectRejection {
    fn into_response(self) -> Response {
        match self {
            ProtectRejection::MissingLayer => {
                tracing::error!("orbit_sdk::Auth used on a route without Orbit::layer()");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "authentication is not configured for this route",
                )
                    .into_response()
            }
            ProtectRejection::SignedOut(auth) => protect_response::<axum::body::Body>(&auth),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = ProtectRejection;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ProtectRejection> {
        parts
            .extensions
            .get::<Auth>()
            .cloned()
            .ok_or(ProtectRejection::MissingLayer)
    }
}

impl Auth {
    /// The seed's `auth.protect()`: `Ok` with the auth when signed in, otherwise a rejection that
    /// sends page loads to the primary's sign-in (and back) and answers API calls with 401.
    pub fn protect(self) -> Result<Auth, ProtectRejection> {
        if self.is_signed_in() {
            Ok(self)
        } else {
            Err(ProtectRejection::SignedOut(Box::new(self)))
        }
    }
}
