//! The error body shared by FAPI and BAPI: `{errors: [{code, message, long_message, meta}]}`.

use serde::{Deserialize, Serialize};

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
