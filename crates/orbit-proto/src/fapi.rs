//! The small JSON answers of the Frontend API that are Orbit's own (clerk-js reads only their
//! status and cookies). Fields are declared in alphabetical order: the server wrote these with
//! `serde_json::json!`, whose objects sort their keys, and this order keeps its bytes.

use serde::{Deserialize, Serialize};

/// `POST /v1/dev_browser` (development instances): a development browser token, as both `id`
/// and `token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevBrowser {
    pub id: String,
    /// `dev_browser`.
    pub object: String,
    pub token: String,
}

impl DevBrowser {
    pub fn new(token: String) -> Self {
        Self {
            id: token.clone(),
            object: "dev_browser".into(),
            token,
        }
    }
}

#[cfg(test)]
mod tests {
    //! Each type against the bytes the server wrote with `json!` before these types existed.

    use super::*;
    use crate::test_support::assert_wire;

    #[test]
    fn dev_browser() {
        assert_wire(
            &DevBrowser::new("dvb_x".into()),
            r#"{"id":"dvb_x","object":"dev_browser","token":"dvb_x"}"#,
        );
    }
}
