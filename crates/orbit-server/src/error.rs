//! The one mapping from domain errors to HTTP (ARCHITECTURE.md "Cross-cutting": two levels of errors). JSON for the
//! APIs (`{errors: [{code, message, long_message, meta}]}`); the portal renders its own pages
//! but takes status and wording from here too.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use orbit_core::store::StoreError;
use orbit_core::Error;
use orbit_proto::{ErrorBody, ErrorItem};
use serde_json::json;

tokio::task_local! {
    /// The id of the request being served, for error bodies and logs.
    pub static REQUEST_ID: String;
}

pub fn request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".into())
}

/// `Retry-After` on answers given while the database is unavailable.
pub const DATABASE_RETRY_AFTER_SECS: u64 = 5;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub long_message: String,
    pub meta: serde_json::Value,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        long_message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            long_message: long_message.into(),
            meta: json!({}),
            retry_after: None,
        }
    }

    pub fn with_param(mut self, param: &str) -> Self {
        self.meta = json!({ "param_name": param });
        self
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authentication_invalid",
            "Invalid authentication",
            "Send the instance's secret key as `Authorization: Bearer sk_...`; `orbit instance show` prints it.",
        )
    }

    pub fn bad_request(code: &'static str, param: &str, long_message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            code,
            "Invalid request",
            long_message,
        )
        .with_param(param)
    }

    pub fn not_found_route() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "resource_not_found",
            "Not found",
            "No endpoint at this path and method.",
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Method not allowed",
            "This endpoint does not answer this method.",
        )
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request_body_too_large",
            "Request body too large",
            format!("Request bodies may be at most {limit} bytes."),
        )
    }

    /// A limit was reached: `Retry-After` says when to come back.
    fn retry_later(status: StatusCode, message: &str, why: &str, retry_after_secs: u64) -> Self {
        let mut err = Self::new(
            status,
            "too_many_requests",
            message,
            format!("{why} Try again in {retry_after_secs} seconds."),
        );
        err.retry_after = Some(retry_after_secs);
        err
    }

    /// The database is unreachable or too slow: the request did not complete, come back
    /// shortly. The cause is logged, never shown.
    pub fn database_unavailable(cause: impl std::fmt::Display) -> Self {
        let id = request_id();
        tracing::warn!(request_id = %id, "database unavailable: {cause}");
        let mut err = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "Service temporarily unavailable",
            format!("The server cannot reach its database, so this request did not complete. Try again in {DATABASE_RETRY_AFTER_SECS} seconds (request id {id})."),
        );
        err.retry_after = Some(DATABASE_RETRY_AFTER_SECS);
        err
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let id = request_id();
        tracing::error!(request_id = %id, "internal error: {cause}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_clerk_error",
            "Something went wrong",
            format!("The server failed to handle this request; quote request id {id} when reporting it."),
        )
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        use StatusCode as S;
        match e {
            Error::InvalidCredentials => ApiError::new(
                S::UNPROCESSABLE_ENTITY,
                "form_credentials_incorrect",
                "Email address or password is incorrect",
                "The email address or password is incorrect. Check both and try again.",
            ),
            // Clerk's code for a banned user (`@clerk/shared` treats a 403 with it as signed out).
            Error::UserBanned => ApiError::new(
                S::FORBIDDEN,
                "user_banned",
                "This account is banned",
                "This account is banned and cannot sign in. Contact the application's support if you think this is a mistake.",
            ),
            Error::TooManyAttempts { retry_after_secs } => ApiError::retry_later(
                S::TOO_MANY_REQUESTS,
                "Too many requests",
                "Too many sign-in attempts.",
                retry_after_secs,
            ),
            Error::Overloaded { retry_after_secs } => ApiError::retry_later(
                S::SERVICE_UNAVAILABLE,
                "Too busy",
                "Sign-ins are coming in faster than this server accepts.",
                retry_after_secs,
            ),
            Error::Email(e) => ApiError::new(
                S::UNPROCESSABLE_ENTITY,
                "form_param_format_invalid",
                "Invalid email address",
                e.to_string(),
            )
            .with_param("email_address"),
            Error::Password(p) => ApiError::new(
                S::UNPROCESSABLE_ENTITY,
                p.code(),
                "Invalid password",
                p.to_string(),
            )
            .with_param("password"),
            Error::PasswordMissing => ApiError::new(
                S::UNPROCESSABLE_ENTITY,
                "form_param_missing",
                "Password required",
                "Enter a password.",
            )
            .with_param("password"),
            Error::EmailTaken => ApiError::new(
                S::UNPROCESSABLE_ENTITY,
                "form_identifier_exists",
                "That email address is taken",
                "That email address is taken. Please try another.",
            )
            .with_param("email_address"),
            Error::VerificationCodeIncorrect { attempts_left } => ApiError::new(
                S::UNPROCESSABLE_ENTITY,
                "form_code_incorrect",
                "Incorrect code",
                format!("The code is incorrect; {attempts_left} more tries."),
            )
            .with_param("code"),
            Error::VerificationCodeExpired => ApiError::new(
                S::UNPROCESSABLE_ENTITY,
                "verification_expired",
                "Code expired",
                "The code has expired, was used, or was tried too often. Start the sign-up again.",
            )
            .with_param("code"),
            Error::MailNotConfigured => ApiError::new(
                S::UNPROCESSABLE_ENTITY,
                "smtp_not_configured",
                "Email delivery is not configured",
                "sign_up.email_verification needs an SMTP server: set smtp_host and smtp_from in the server's configuration.",
            )
            .with_param("sign_up.email_verification"),
            e @ Error::MailFailed(_) => {
                let id = request_id();
                tracing::error!(request_id = %id, "{e}");
                ApiError::new(
                    S::SERVICE_UNAVAILABLE,
                    "email_delivery_failed",
                    "The email could not be sent",
                    format!("The mail server did not take the message; try again later (request id {id})."),
                )
            }
            Error::CurrentPasswordIncorrect => ApiError::new(
                S::UNPROCESSABLE_ENTITY,
                "form_password_incorrect",
                "Current password is incorrect",
                "The current password is incorrect.",
            )
            .with_param("current_password"),
            Error::SignInComplete => ApiError::new(
                S::BAD_REQUEST,
                orbit_proto::error::code::VERIFICATION_ALREADY_VERIFIED,
                "This sign-in is complete",
                "This sign-in already started its session. Start a new sign-in to sign in again.",
            ),
            Error::SetupLinkInvalid => ApiError::new(
                S::GONE,
                "setup_link_invalid",
                "This setup link no longer works",
                "The link has expired (it lives 24 hours), was used already, or an operator exists. Restart `orbit serve` for a new link while no operator exists, or create one with `orbit admin create --email E --password-stdin`.",
            ),
            Error::Invalid { field, reason } => ApiError::new(
                S::UNPROCESSABLE_ENTITY,
                "form_param_format_invalid",
                format!("Invalid {field}"),
                format!("{field} is invalid: {reason}"),
            )
            .with_param(field),
            Error::NotFound { resource, id } => ApiError::new(
                S::NOT_FOUND,
                "resource_not_found",
                "Resource not found",
                format!("No {resource} with id {id}."),
            ),
            Error::SessionNotActive { status } => ApiError::new(
                S::BAD_REQUEST,
                "session_not_active",
                "Session is not active",
                format!("The session is {status}; only active sessions can do this."),
            ),
            Error::Store(StoreError::Unavailable(cause)) => ApiError::database_unavailable(cause),
            e @ (Error::Store(_) | Error::Key(_) | Error::Internal(_)) => ApiError::internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let id = request_id();
        let body = ErrorBody {
            errors: vec![ErrorItem {
                code: self.code.into(),
                message: self.message,
                long_message: self.long_message,
                meta: self.meta,
            }],
            clerk_trace_id: Some(id),
        };
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp
    }
}
