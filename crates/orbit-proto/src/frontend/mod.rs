//! The Frontend API's resources as Clerk's browser SDK reads them: the client, its sessions and
//! user, sign-in and sign-up attempts, the environment, and the `{response, client}` envelope
//! (docs/design/frontend-api.md). Shapes follow clerk/openapi-specs `fapi/2026-05-12.yml`
//! (`Client.Client`, `Client.Session`, `Client.User`, `Client.SignIn`, `Client.SignUp`,
//! `Client.Environment`, `Client.ActiveSession`) and what clerk-js's `fromJSON`s read
//! (`packages/clerk-js/src/core/resources/*.ts`). Times are unix milliseconds.
//!
//! Fields Orbit has no use for (organizations, phone numbers, web3 wallets, passkeys...) are
//! sent empty or `null` rather than left out: the spec lists them as required and clerk-js
//! reads some without a default.

mod attempts;
mod environment;

pub use attempts::*;
pub use environment::*;

use crate::resources::{SessionBase, Token, UserBase};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `{response, client}`: clerk-js takes `json.response ?? json` as the resource and, after
/// every request that is not a GET, replaces its client with `json.client` when present
/// (`core/resources/Base.ts` `_baseFetch`, `Client.ts` `getClientResourceFromPayload`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientWrapped<T> {
    pub response: T,
    pub client: Option<Client>,
}

impl<T> ClientWrapped<T> {
    pub fn new(response: T, client: Option<Client>) -> Self {
        Self { response, client }
    }
}

/// `Client.Client`: one browser. `sessions` holds the browser's sessions, `sign_in` and
/// `sign_up` its attempt in progress (if any).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Client {
    /// `client`.
    pub object: String,
    /// Empty for a browser that has no client yet but an attempt in progress (Orbit creates
    /// clients only when a session starts; clerk-js only compares the id).
    pub id: String,
    pub sessions: Vec<Session>,
    pub sign_in: Option<SignIn>,
    pub sign_up: Option<SignUp>,
    /// The session clerk-js makes current (`clerk.ts` `#defaultSession`).
    pub last_active_session_id: Option<String>,
    pub last_authentication_strategy: Option<String>,
    /// When the client cookie expires. clerk-js detours every navigation through
    /// `/v1/client/touch` when this is within 8 days (`Client.ts` `isEligibleForTouch`).
    pub cookie_expires_at: Option<i64>,
    pub captcha_bypass: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// `Client.Session`: a session of the client, with its user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    #[serde(flatten)]
    pub base: SessionBase,
    /// A fresh session token, which pre-fills clerk-js's token cache; `null` makes it mint one.
    pub last_active_token: Option<Token>,
    pub last_active_organization_id: Option<String>,
    pub actor: Option<Value>,
    pub tasks: Option<Vec<Value>>,
    pub user: User,
    pub public_user_data: PublicUserData,
    /// Minutes since the first and the second factor were verified (`-1`: never).
    pub factor_verification_age: Vec<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// `Client.PublicUserData`: what `<UserButton/>` shows of a session's user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicUserData {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Empty: the components draw initials (`ui/src/elements/Avatar.tsx`).
    pub image_url: String,
    pub has_image: bool,
    /// The user's email address.
    pub identifier: String,
    pub user_id: Option<String>,
}

/// `Client.User`: the signed-in user as `<UserProfile/>` shows and edits it: the fields both
/// APIs share (`UserBase`) and those only clerk-js reads. Unlike the Backend API's user it has
/// no `private_metadata`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    #[serde(flatten)]
    pub base: UserBase,
    pub organization_memberships: Vec<Value>,
    /// `false`: deleting accounts from the browser is not offered (`<UserProfile/>` hides it).
    pub delete_self_enabled: bool,
    pub mfa_enabled_at: Option<i64>,
    pub mfa_disabled_at: Option<i64>,
    pub legal_accepted_at: Option<i64>,
}

/// One entry of `GET /v1/me/sessions/active` (`Client.ActiveSession`), a bare array
/// clerk-js reads in `SessionWithActivities.ts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionWithActivities {
    #[serde(flatten)]
    pub base: SessionBase,
    pub last_active_token: Option<Token>,
    pub actor: Option<Value>,
    pub latest_activity: SessionActivity,
}

/// `Client.SessionActivity`: the device a session was started from, from its user agent
/// (Orbit keeps no IP address or location).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionActivity {
    /// `session_activity`.
    pub object: String,
    pub id: String,
    pub device_type: Option<String>,
    pub is_mobile: bool,
    pub browser_name: Option<String>,
    pub browser_version: Option<String>,
    pub ip_address: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
}

#[cfg(test)]
pub(crate) mod tests {
    //! Each resource against the spec's `required` list for its schema and the fields the
    //! clerk-js `fromJSON` reads, and small ones byte for byte.

    use super::*;
    use crate::resources::tests::{email, session_base, user_base, user_base_wire};
    use crate::test_support::{assert_json, assert_wire, with_fields};
    use serde_json::json;

    /// `value`'s JSON object has exactly these keys (the spec's required list, plus the
    /// optional fields clerk-js reads, which the caller lists too).
    pub(crate) fn assert_fields<T: Serialize>(value: &T, fields: &[&str]) {
        let json = serde_json::to_value(value).unwrap();
        let obj = json.as_object().expect("an object");
        let mut have: Vec<&str> = obj.keys().map(String::as_str).collect();
        let mut want = fields.to_vec();
        have.sort_unstable();
        want.sort_unstable();
        assert_eq!(have, want);
    }

    pub(crate) fn user() -> User {
        User {
            base: user_base(),
            organization_memberships: vec![json!({"id": "orgmem_1"})],
            delete_self_enabled: false,
            mfa_enabled_at: Some(5),
            mfa_disabled_at: None,
            legal_accepted_at: Some(6),
        }
    }

    pub(crate) fn session() -> Session {
        Session {
            base: session_base(),
            last_active_token: Some(Token {
                object: "token".into(),
                jwt: "h.p.s".into(),
            }),
            last_active_organization_id: None,
            actor: None,
            tasks: None,
            user: user(),
            public_user_data: PublicUserData {
                first_name: Some("Ada".into()),
                last_name: Some("Lovelace".into()),
                image_url: String::new(),
                has_image: false,
                identifier: "ada@example.com".into(),
                user_id: Some("user_1".into()),
            },
            factor_verification_age: vec![0, -1],
            created_at: 1,
            updated_at: 2,
        }
    }

    pub(crate) fn client() -> Client {
        Client {
            object: "client".into(),
            id: "client_1".into(),
            sessions: vec![session()],
            sign_in: None,
            sign_up: None,
            last_active_session_id: Some("sess_1".into()),
            last_authentication_strategy: None,
            cookie_expires_at: None,
            captcha_bypass: false,
            created_at: 1,
            updated_at: 2,
        }
    }

    /// `user()` as the Frontend API writes it: the Backend API's fields but
    /// `private_metadata`, and its own.
    fn user_wire() -> Value {
        with_fields(
            user_base_wire(),
            json!({
                "organization_memberships": [{"id": "orgmem_1"}],
                "delete_self_enabled": false,
                "mfa_enabled_at": 5,
                "mfa_disabled_at": null,
                "legal_accepted_at": 6
            }),
        )
    }

    #[test]
    fn user_json() {
        assert_json(&user(), user_wire());
    }

    #[test]
    fn session_json() {
        assert_json(
            &session(),
            json!({
                "object": "session",
                "id": "sess_1",
                "status": "active",
                "expire_at": 10,
                "abandon_at": 20,
                "last_active_at": 5,
                "last_active_token": {"object": "token", "jwt": "h.p.s"},
                "last_active_organization_id": null,
                "actor": null,
                "tasks": null,
                "user": user_wire(),
                "public_user_data": {
                    "first_name": "Ada",
                    "last_name": "Lovelace",
                    "image_url": "",
                    "has_image": false,
                    "identifier": "ada@example.com",
                    "user_id": "user_1"
                },
                "factor_verification_age": [0, -1],
                "created_at": 1,
                "updated_at": 2
            }),
        );
    }

    #[test]
    fn client_has_the_specs_fields() {
        // fapi/2026-05-12.yml `Client.Client` required.
        assert_fields(
            &client(),
            &[
                "object",
                "id",
                "sessions",
                "sign_in",
                "sign_up",
                "last_active_session_id",
                "last_authentication_strategy",
                "cookie_expires_at",
                "captcha_bypass",
                "created_at",
                "updated_at",
            ],
        );
        let back: Client = serde_json::from_value(serde_json::to_value(client()).unwrap()).unwrap();
        assert_eq!(back, client());
    }

    #[test]
    fn session_has_the_specs_fields() {
        // `Client.SessionBase-2` + `Client.Session-2` required, plus what `Session.ts` reads
        // (`user`, `last_active_token`, `actor`, `tasks`).
        assert_fields(
            &session(),
            &[
                "id",
                "object",
                "status",
                "expire_at",
                "abandon_at",
                "last_active_at",
                "last_active_token",
                "last_active_organization_id",
                "actor",
                "tasks",
                "user",
                "public_user_data",
                "factor_verification_age",
                "created_at",
                "updated_at",
            ],
        );
        let json = serde_json::to_value(session()).unwrap();
        assert_eq!(
            json["last_active_token"],
            serde_json::json!({"object": "token", "jwt": "h.p.s"})
        );
        assert_eq!(json["factor_verification_age"], serde_json::json!([0, -1]));
        assert_eq!(
            json["public_user_data"],
            serde_json::json!({"first_name": "Ada", "last_name": "Lovelace", "image_url": "", "has_image": false, "identifier": "ada@example.com", "user_id": "user_1"})
        );
    }

    #[test]
    fn user_has_the_specs_fields_and_no_private_metadata() {
        // `Client.User` required, plus `image_url`, `unsafe_metadata` and
        // `organization_memberships`, which `User.ts` reads.
        assert_fields(
            &user(),
            &[
                "id",
                "object",
                "username",
                "first_name",
                "last_name",
                "image_url",
                "has_image",
                "primary_email_address_id",
                "primary_phone_number_id",
                "primary_web3_wallet_id",
                "password_enabled",
                "two_factor_enabled",
                "totp_enabled",
                "backup_code_enabled",
                "email_addresses",
                "phone_numbers",
                "web3_wallets",
                "passkeys",
                "organization_memberships",
                "external_accounts",
                "saml_accounts",
                "enterprise_accounts",
                "public_metadata",
                "unsafe_metadata",
                "external_id",
                "last_sign_in_at",
                "banned",
                "locked",
                "lockout_expires_in_seconds",
                "verification_attempts_remaining",
                "created_at",
                "updated_at",
                "delete_self_enabled",
                "create_organization_enabled",
                "last_active_at",
                "mfa_enabled_at",
                "mfa_disabled_at",
                "legal_accepted_at",
            ],
        );
        // `Client.EmailAddress` required.
        assert_fields(
            &email(),
            &[
                "id",
                "object",
                "email_address",
                "verification",
                "linked_to",
                "reserved",
                "created_at",
                "updated_at",
            ],
        );
    }

    #[test]
    fn envelope_and_active_sessions() {
        let wrapped = ClientWrapped::new(
            Token {
                object: "token".into(),
                jwt: "j".into(),
            },
            None,
        );
        assert_wire(
            &wrapped,
            r#"{"response":{"object":"token","jwt":"j"},"client":null}"#,
        );
        // `GET /v1/client` for a browser without a client.
        let none: ClientWrapped<Option<Client>> = ClientWrapped::new(None, None);
        assert_wire(&none, r#"{"response":null,"client":null}"#);

        let active = SessionWithActivities {
            base: session_base(),
            last_active_token: None,
            actor: None,
            latest_activity: SessionActivity {
                object: "session_activity".into(),
                id: "sess_1".into(),
                device_type: None,
                is_mobile: false,
                browser_name: Some("Chrome".into()),
                browser_version: None,
                ip_address: None,
                city: None,
                country: None,
            },
        };
        assert_wire(
            &active,
            r#"{"object":"session","id":"sess_1","status":"active","expire_at":10,"abandon_at":20,"last_active_at":5,"last_active_token":null,"actor":null,"latest_activity":{"object":"session_activity","id":"sess_1","device_type":null,"is_mobile":false,"browser_name":"Chrome","browser_version":null,"ip_address":null,"city":null,"country":null}}"#,
        );
    }
}
