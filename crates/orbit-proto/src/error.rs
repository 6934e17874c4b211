//! The error body shared by FAPI and BAPI: `{errors: [{code, message, long_message, meta}]}`.

use serde::{Deserialize, Serialize};

/// Error codes the Frontend API answers that Clerk's components branch on
/// (`@clerk/shared` `ERROR_CODES`, `ui/src/components/SignIn/SignInStart.tsx`,
/// `SignInFactorOnePasswordCard.tsx`), and Orbit's own for its checks.
pub mod code {
    /// A wrong password, and (Orbit) an identifier without an account: one answer for both.
    pub const FORM_PASSWORD_INCORRECT: &str = "form_password_incorrect";
    /// A password on the common-passwords list.
    pub const FORM_PASSWORD_PWNED: &str = "form_password_pwned";
    pub const FORM_PASSWORD_LENGTH_TOO_SHORT: &str = "form_password_length_too_short";
    pub const FORM_PASSWORD_LENGTH_TOO_LONG: &str = "form_password_length_too_long";
    /// An email address that has an account (sign-up without email verification only).
    pub const FORM_IDENTIFIER_EXISTS: &str = "form_identifier_exists";
    pub const FORM_PARAM_MISSING: &str = "form_param_missing";
    pub const FORM_PARAM_FORMAT_INVALID: &str = "form_param_format_invalid";
    pub const FORM_CODE_INCORRECT: &str = "form_code_incorrect";
    pub const VERIFICATION_EXPIRED: &str = "verification_expired";
    /// A sign-in attempt that already completed (replayed, or the loser of a race).
    pub const VERIFICATION_ALREADY_VERIFIED: &str = "verification_already_verified";
    pub const ORIGIN_INVALID: &str = "origin_invalid";
    pub const RESOURCE_NOT_FOUND: &str = "resource_not_found";
    pub const SIGNED_OUT: &str = "signed_out";
    pub const TOO_MANY_REQUESTS: &str = "too_many_requests";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorItem {
    pub code: String,
    pub message: String,
    pub long_message: String,
    #[serde(default)]
    pub meta: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub errors: Vec<ErrorItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clerk_trace_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_error_body() {
        // What the server answers (crates/orbit-server/src/error.rs).
        let body = ErrorBody {
            errors: vec![ErrorItem {
                code: "form_param_missing".into(),
                message: "Invalid request".into(),
                long_message: "nonce is required.".into(),
                meta: serde_json::json!({ "param_name": "nonce" }),
            }],
            clerk_trace_id: Some("req_1".into()),
        };
        let wire = r#"{"errors":[{"code":"form_param_missing","message":"Invalid request","long_message":"nonce is required.","meta":{"param_name":"nonce"}}],"clerk_trace_id":"req_1"}"#;
        assert_eq!(serde_json::to_string(&body).unwrap(), wire);
        assert_eq!(serde_json::from_str::<ErrorBody>(wire).unwrap(), body);
    }

    #[test]
    fn a_wrong_password_as_clerk_js_reads_it() {
        // What `SignInFactorOnePasswordCard.tsx` branches on: `errors[0].code`, and
        // `meta.param_name` for the field the message goes under.
        let body = ErrorBody {
            errors: vec![ErrorItem {
                code: code::FORM_PASSWORD_INCORRECT.into(),
                message: "Password is incorrect".into(),
                long_message: "The email address or password is incorrect.".into(),
                meta: serde_json::json!({ "param_name": "password" }),
            }],
            clerk_trace_id: Some("req_1".into()),
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"errors":[{"code":"form_password_incorrect","message":"Password is incorrect","long_message":"The email address or password is incorrect.","meta":{"param_name":"password"}}],"clerk_trace_id":"req_1"}"#
        );
    }

    #[test]
    fn bodies_without_trace_id_or_meta() {
        let body = ErrorBody {
            errors: vec![ErrorItem {
                code: "signed_out".into(),
                message: "Unauthenticated".into(),
                long_message: "Sign in first.".into(),
                meta: serde_json::json!({}),
            }],
            clerk_trace_id: None,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"errors":[{"code":"signed_out","message":"Unauthenticated","long_message":"Sign in first.","meta":{}}]}"#
        );
        let read: ErrorBody =
            serde_json::from_str(r#"{"errors":[{"code":"c","message":"m","long_message":"l"}]}"#)
                .unwrap();
        assert_eq!(read.errors[0].meta, serde_json::Value::Null);
    }
}
