//! JSON resources of the Backend API, in the shapes of Clerk's BAPI `2026-05-12`
//! (clerk/openapi-specs bapi/2026-05-12.yml). Timestamps are unix milliseconds.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A `verification`: an email address's (bapi/2026-05-12.yml `verification_otp` and
/// `verification_admin`) or a sign-in factor's (fapi/2026-05-12.yml
/// `Stubs.Verification.Password`), told apart by `object`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// `verification_otp`, `verification_admin` or `verification_password`.
    #[serde(default)]
    pub object: String,
    /// `unverified` or `verified` (Clerk's OTP verifications may also be `failed`, `expired`).
    pub status: String,
    /// `email_code`, `admin` or `password`.
    pub strategy: String,
    pub attempts: Option<u32>,
    pub expire_at: Option<i64>,
}

impl Verification {
    /// An address nobody proved: an email-code verification not (yet) done.
    pub fn unverified() -> Self {
        Self::otp("unverified")
    }

    /// An address proved by the code mailed to it.
    pub fn verified_by_email_code() -> Self {
        Self::otp("verified")
    }

    /// An address the operator vouched for through the Backend API.
    pub fn verified_by_admin() -> Self {
        Self {
            object: "verification_admin".into(),
            status: "verified".into(),
            strategy: "admin".into(),
            attempts: None,
            expire_at: None,
        }
    }

    /// The password of a completed sign-in (its `first_factor_verification`).
    pub fn verified_by_password() -> Self {
        Self {
            object: "verification_password".into(),
            status: "verified".into(),
            strategy: "password".into(),
            attempts: None,
            expire_at: None,
        }
    }

    fn otp(status: &str) -> Self {
        Self {
            object: "verification_otp".into(),
            status: status.into(),
            strategy: "email_code".into(),
            attempts: None,
            expire_at: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailAddress {
    pub id: String,
    pub object: String,
    pub email_address: String,
    pub reserved: bool,
    pub verification: Option<Verification>,
    pub linked_to: Vec<Value>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What the Backend and the Frontend API's users share, field for field and value for value:
/// both `User`s (this one and `frontend::User`) flatten it and add what differs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserBase {
    pub id: String,
    /// `user`.
    pub object: String,
    pub external_id: Option<String>,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub image_url: String,
    pub has_image: bool,
    pub primary_email_address_id: Option<String>,
    pub primary_phone_number_id: Option<String>,
    pub primary_web3_wallet_id: Option<String>,
    pub password_enabled: bool,
    pub two_factor_enabled: bool,
    pub totp_enabled: bool,
    pub backup_code_enabled: bool,
    pub email_addresses: Vec<EmailAddress>,
    pub phone_numbers: Vec<Value>,
    pub web3_wallets: Vec<Value>,
    pub passkeys: Vec<Value>,
    pub external_accounts: Vec<Value>,
    pub saml_accounts: Vec<Value>,
    pub enterprise_accounts: Vec<Value>,
    pub public_metadata: Value,
    pub unsafe_metadata: Value,
    pub banned: bool,
    pub locked: bool,
    pub lockout_expires_in_seconds: Option<i64>,
    pub verification_attempts_remaining: Option<i64>,
    pub create_organization_enabled: bool,
    pub last_sign_in_at: Option<i64>,
    pub last_active_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A user as the Backend API shows it: the shared fields and `private_metadata`, which the
/// Frontend API never sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    #[serde(flatten)]
    pub base: UserBase,
    pub private_metadata: Value,
    /// `true` here, `false` in the Frontend API's user.
    pub delete_self_enabled: bool,
}

/// What every session resource shares (fapi/2026-05-12.yml `Client.SessionBase`): the
/// Backend API's `Session` and the Frontend API's `Session` and `SessionWithActivities` flatten
/// it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionBase {
    /// `session`.
    pub object: String,
    pub id: String,
    /// `active`, `ended`, `removed`, `revoked`, `expired` (clerk-js treats only `active` and
    /// `pending` as signed in).
    pub status: String,
    pub expire_at: i64,
    pub abandon_at: i64,
    pub last_active_at: i64,
}

/// A session as the Backend API shows it: the shared fields and whose it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    #[serde(flatten)]
    pub base: SessionBase,
    pub client_id: String,
    pub user_id: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// `POST /v1/sessions/{id}/tokens` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    pub object: String,
    pub jwt: String,
}

/// What `DELETE` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletedObject {
    pub object: String,
    pub id: String,
    pub deleted: bool,
}

impl DeletedObject {
    /// The answer to deleting the `object` (`user`, `domain`, ...) `id`.
    pub fn new(object: &str, id: String) -> Self {
        Self {
            object: object.into(),
            id,
            deleted: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TotalCount {
    pub object: String,
    pub total_count: u64,
}

/// One RSA public key in a JWKS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub n: String,
    pub e: String,
    pub kid: String,
    #[serde(rename = "use")]
    pub use_: String,
    pub alg: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// A list answer with its total: `{data, total_count}` (`GET /v1/domains`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaginatedList<T> {
    pub data: Vec<T>,
    pub total_count: u64,
}

/// `GET /v1/domains` answer.
pub type DomainList = PaginatedList<Domain>;

// The resources below are declared with their fields in alphabetical order: the server wrote
// them with `serde_json::json!`, whose objects sort their keys, and this order keeps its bytes.

/// A DNS record a production domain needs before it works (`cname_targets` of a `Domain`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CnameTarget {
    pub host: String,
    /// Always `true`: Orbit asks only for records it needs.
    pub required: bool,
    pub value: String,
}

/// A domain in BAPI's shape (`Domain` in bapi/2026-05-12.yml), plus Orbit's verification state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    /// The hosted sign-in page (`{frontend_api_url}/sign-in`); `null` for satellites.
    pub accounts_portal_url: Option<String>,
    /// The CNAME records a production domain needs; `null` in development and for domains
    /// that need none.
    pub cname_targets: Option<Vec<CnameTarget>>,
    /// Always `""`.
    pub development_origin: String,
    pub frontend_api_url: String,
    pub id: String,
    pub is_satellite: bool,
    pub name: String,
    /// `domain`.
    pub object: String,
    /// Always `null`: Orbit has no proxy support yet.
    pub proxy_url: Option<String>,
    /// Why the last DNS check failed (Orbit's own; absent from Clerk's answers).
    #[serde(default)]
    pub verification_error: Option<String>,
    /// Whether the domain's DNS is verified (Orbit's own; absent from Clerk's answers). `false`
    /// while suspended.
    #[serde(default)]
    pub verified: bool,
    /// Consecutive failed DNS re-checks of a verified satellite (Orbit's own).
    #[serde(default)]
    pub dns_failures: u32,
    /// Unix ms of the first of those failures (Orbit's own).
    #[serde(default)]
    pub dns_failing_since: Option<i64>,
    /// Unix ms when the failures outlasted the grace period and the domain was suspended
    /// (Orbit's own; docs/protocol.md "DNS").
    #[serde(default)]
    pub suspended_at: Option<i64>,
}

/// `GET /v1/instance` answer. Orbit's allowed origins are its allowed redirect origins, so both
/// lists are the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    pub allowed_origins: Vec<String>,
    pub allowed_redirect_origins: Vec<String>,
    /// `development` or `production`.
    pub environment_type: String,
    pub id: String,
    /// `instance`.
    pub object: String,
    /// Orbit's own sign-up settings (absent from Clerk's answers).
    #[serde(default)]
    pub sign_up: InstanceSignUp,
}

/// `sign_up` of `GET`/`PATCH /v1/instance` (Orbit's own).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceSignUp {
    /// `sign_up.email_verification`: hosted sign-ups prove the address with a mailed code.
    pub email_verification: bool,
}

impl Instance {
    pub fn new(
        id: String,
        environment_type: String,
        allowed_redirect_origins: Vec<String>,
    ) -> Self {
        Self {
            allowed_origins: allowed_redirect_origins.clone(),
            allowed_redirect_origins,
            environment_type,
            id,
            object: "instance".into(),
            sign_up: InstanceSignUp::default(),
        }
    }
}

/// `GET /v1/clients/handshake_payload?nonce=` answer: the `Set-Cookie` directives stored under
/// a handshake nonce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandshakePayload {
    pub directives: Vec<String>,
}

#[cfg(test)]
pub(crate) mod tests {
    //! Each type against the bytes the server wrote with `json!` before these types existed,
    //! and the users, sessions and email addresses against the JSON the server writes.

    use super::*;
    use crate::test_support::{assert_json, assert_wire, with_fields};
    use serde_json::json;

    pub(crate) fn email() -> EmailAddress {
        EmailAddress {
            id: "idn_1".into(),
            object: "email_address".into(),
            email_address: "ada@example.com".into(),
            reserved: false,
            verification: Some(Verification::verified_by_email_code()),
            linked_to: vec![],
            created_at: 1,
            updated_at: 2,
        }
    }

    /// `email()` as both APIs write it.
    pub(crate) fn email_wire() -> Value {
        json!({
            "id": "idn_1",
            "object": "email_address",
            "email_address": "ada@example.com",
            "reserved": false,
            "verification": {
                "object": "verification_otp",
                "status": "verified",
                "strategy": "email_code",
                "attempts": null,
                "expire_at": null
            },
            "linked_to": [],
            "created_at": 1,
            "updated_at": 2
        })
    }

    #[test]
    fn email_address_json() {
        assert_json(&email(), email_wire());
    }

    /// The fields of the sample user that both APIs share.
    pub(crate) fn user_base() -> UserBase {
        UserBase {
            id: "user_1".into(),
            object: "user".into(),
            external_id: Some("ext_1".into()),
            username: Some("ada".into()),
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            image_url: "https://img.example/ada.png".into(),
            has_image: true,
            primary_email_address_id: Some("idn_1".into()),
            primary_phone_number_id: None,
            primary_web3_wallet_id: Some("w3w_1".into()),
            password_enabled: true,
            two_factor_enabled: false,
            totp_enabled: false,
            backup_code_enabled: false,
            email_addresses: vec![email()],
            phone_numbers: vec![],
            web3_wallets: vec![],
            passkeys: vec![json!({"id": "pk_1"})],
            external_accounts: vec![],
            saml_accounts: vec![],
            enterprise_accounts: vec![json!({"id": "eac_1"})],
            public_metadata: json!({"plan": "pro"}),
            unsafe_metadata: json!({"theme": "dark"}),
            banned: false,
            locked: true,
            lockout_expires_in_seconds: Some(600),
            verification_attempts_remaining: Some(2),
            create_organization_enabled: false,
            last_sign_in_at: Some(3),
            last_active_at: Some(4),
            created_at: 1,
            updated_at: 2,
        }
    }

    #[test]
    fn user_json() {
        let user = User {
            base: user_base(),
            private_metadata: json!({"tier": 2}),
            delete_self_enabled: true,
        };
        assert_json(
            &user,
            with_fields(
                user_base_wire(),
                json!({"private_metadata": {"tier": 2}, "delete_self_enabled": true}),
            ),
        );
    }

    /// The fields of the sample user that both APIs write alike.
    pub(crate) fn user_base_wire() -> Value {
        json!({
            "id": "user_1",
            "object": "user",
            "external_id": "ext_1",
            "username": "ada",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "image_url": "https://img.example/ada.png",
            "has_image": true,
            "primary_email_address_id": "idn_1",
            "primary_phone_number_id": null,
            "primary_web3_wallet_id": "w3w_1",
            "password_enabled": true,
            "two_factor_enabled": false,
            "totp_enabled": false,
            "backup_code_enabled": false,
            "email_addresses": [email_wire()],
            "phone_numbers": [],
            "web3_wallets": [],
            "passkeys": [{"id": "pk_1"}],
            "external_accounts": [],
            "saml_accounts": [],
            "enterprise_accounts": [{"id": "eac_1"}],
            "public_metadata": {"plan": "pro"},
            "unsafe_metadata": {"theme": "dark"},
            "banned": false,
            "locked": true,
            "lockout_expires_in_seconds": 600,
            "verification_attempts_remaining": 2,
            "create_organization_enabled": false,
            "last_sign_in_at": 3,
            "last_active_at": 4,
            "created_at": 1,
            "updated_at": 2
        })
    }

    /// The fields of the sample session that every session resource shares.
    pub(crate) fn session_base() -> SessionBase {
        SessionBase {
            object: "session".into(),
            id: "sess_1".into(),
            status: "active".into(),
            expire_at: 10,
            abandon_at: 20,
            last_active_at: 5,
        }
    }

    #[test]
    fn session_json() {
        let session = Session {
            base: session_base(),
            client_id: "client_1".into(),
            user_id: "user_1".into(),
            created_at: 1,
            updated_at: 2,
        };
        assert_json(
            &session,
            json!({
                "id": "sess_1",
                "object": "session",
                "client_id": "client_1",
                "user_id": "user_1",
                "status": "active",
                "last_active_at": 5,
                "expire_at": 10,
                "abandon_at": 20,
                "created_at": 1,
                "updated_at": 2
            }),
        );
    }

    fn primary() -> Domain {
        Domain {
            accounts_portal_url: Some("https://happy-otter-12.clerk.accounts.dev/sign-in".into()),
            cname_targets: None,
            development_origin: String::new(),
            frontend_api_url: "https://happy-otter-12.clerk.accounts.dev".into(),
            id: "dmn_1".into(),
            is_satellite: false,
            name: "localhost".into(),
            object: "domain".into(),
            proxy_url: None,
            verification_error: None,
            verified: true,
            dns_failures: 0,
            dns_failing_since: None,
            suspended_at: None,
        }
    }

    const PRIMARY: &str = r#"{"accounts_portal_url":"https://happy-otter-12.clerk.accounts.dev/sign-in","cname_targets":null,"development_origin":"","frontend_api_url":"https://happy-otter-12.clerk.accounts.dev","id":"dmn_1","is_satellite":false,"name":"localhost","object":"domain","proxy_url":null,"verification_error":null,"verified":true,"dns_failures":0,"dns_failing_since":null,"suspended_at":null}"#;

    #[test]
    fn domain() {
        assert_wire(&primary(), PRIMARY);
        let satellite = Domain {
            accounts_portal_url: None,
            cname_targets: Some(vec![CnameTarget {
                host: "clerk.sat.example.com".into(),
                required: true,
                value: "frontend-api.orbit.example.net".into(),
            }]),
            development_origin: String::new(),
            frontend_api_url: "https://clerk.sat.example.com".into(),
            id: "dmn_2".into(),
            is_satellite: true,
            name: "sat.example.com".into(),
            object: "domain".into(),
            proxy_url: None,
            verification_error: Some("no CNAME record".into()),
            verified: false,
            dns_failures: 4,
            dns_failing_since: Some(1_800_000_000_000),
            suspended_at: Some(1_800_259_200_000),
        };
        assert_wire(
            &satellite,
            r#"{"accounts_portal_url":null,"cname_targets":[{"host":"clerk.sat.example.com","required":true,"value":"frontend-api.orbit.example.net"}],"development_origin":"","frontend_api_url":"https://clerk.sat.example.com","id":"dmn_2","is_satellite":true,"name":"sat.example.com","object":"domain","proxy_url":null,"verification_error":"no CNAME record","verified":false,"dns_failures":4,"dns_failing_since":1800000000000,"suspended_at":1800259200000}"#,
        );
    }

    #[test]
    fn domain_reads_clerks_shape() {
        // Clerk's answers lack Orbit's verification fields and carry more of their own.
        let clerk = r#"{"object":"domain","id":"dmn_1","name":"example.com","is_satellite":false,"frontend_api_url":"https://clerk.example.com","accounts_portal_url":"https://accounts.example.com","proxy_url":null,"development_origin":"","cname_targets":null,"is_provider_domain":false}"#;
        let d: Domain = serde_json::from_str(clerk).unwrap();
        assert_eq!(d.name, "example.com");
        assert!(!d.verified);
        assert_eq!(d.verification_error, None);
        assert_eq!((d.dns_failures, d.suspended_at), (0, None));
    }

    #[test]
    fn domain_list() {
        let list = DomainList {
            data: vec![primary()],
            total_count: 1,
        };
        assert_wire(&list, &format!(r#"{{"data":[{PRIMARY}],"total_count":1}}"#));
    }

    #[test]
    fn instance() {
        assert_wire(
            &Instance::new(
                "ins_1".into(),
                "production".into(),
                vec!["https://a.example".into(), "https://b.example".into()],
            ),
            r#"{"allowed_origins":["https://a.example","https://b.example"],"allowed_redirect_origins":["https://a.example","https://b.example"],"environment_type":"production","id":"ins_1","object":"instance","sign_up":{"email_verification":false}}"#,
        );
        assert_wire(
            &Instance::new("ins_1".into(), "development".into(), vec![]),
            r#"{"allowed_origins":[],"allowed_redirect_origins":[],"environment_type":"development","id":"ins_1","object":"instance","sign_up":{"email_verification":false}}"#,
        );
    }

    #[test]
    fn verification_shapes() {
        assert_wire(
            &Verification::unverified(),
            r#"{"object":"verification_otp","status":"unverified","strategy":"email_code","attempts":null,"expire_at":null}"#,
        );
        assert_wire(
            &Verification::verified_by_email_code(),
            r#"{"object":"verification_otp","status":"verified","strategy":"email_code","attempts":null,"expire_at":null}"#,
        );
        assert_wire(
            &Verification::verified_by_admin(),
            r#"{"object":"verification_admin","status":"verified","strategy":"admin","attempts":null,"expire_at":null}"#,
        );
        assert_wire(
            &Verification::verified_by_password(),
            r#"{"object":"verification_password","status":"verified","strategy":"password","attempts":null,"expire_at":null}"#,
        );
    }

    #[test]
    fn handshake_payload() {
        assert_wire(
            &HandshakePayload {
                directives: vec![
                    "__session=a.b.c; Path=/".into(),
                    "__client_uat=1; Path=/".into(),
                ],
            },
            r#"{"directives":["__session=a.b.c; Path=/","__client_uat=1; Path=/"]}"#,
        );
    }
}
