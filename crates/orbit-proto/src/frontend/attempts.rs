//! Sign-in and sign-up attempts (`Client.SignIn`, `Client.SignUp`), the state clerk-js's
//! `<SignIn/>` and `<SignUp/>` move through (`resources/SignIn.ts`, `resources/SignUp.ts`).

use crate::resources::Verification;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `status` values of a sign-in attempt Orbit uses.
pub mod sign_in_status {
    /// The identifier is known; a password is expected.
    pub const NEEDS_FIRST_FACTOR: &str = "needs_first_factor";
    /// A session was created (`created_session_id`).
    pub const COMPLETE: &str = "complete";
}

/// `status` values of a sign-up attempt Orbit uses.
pub mod sign_up_status {
    /// The address waits for the code mailed to it (`unverified_fields`).
    pub const MISSING_REQUIREMENTS: &str = "missing_requirements";
    /// The user and a session exist (`created_user_id`, `created_session_id`).
    pub const COMPLETE: &str = "complete";
}

/// Strategies Orbit offers.
pub mod strategy {
    pub const PASSWORD: &str = "password";
    pub const EMAIL_CODE: &str = "email_code";
}

/// `Client.SignIn`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignIn {
    /// `sign_in_attempt`.
    pub object: String,
    pub id: String,
    /// `sign_in_status`.
    pub status: String,
    /// `["email_address"]`.
    pub supported_identifiers: Vec<String>,
    /// The identifier as it was given.
    pub identifier: Option<String>,
    pub supported_first_factors: Option<Vec<SignInFactor>>,
    pub supported_second_factors: Option<Vec<SignInFactor>>,
    pub first_factor_verification: Option<Verification>,
    pub second_factor_verification: Option<Verification>,
    /// What the factor-one card shows of the account. Orbit sends no names: the same answer
    /// whether or not the identifier has an account.
    pub user_data: Option<UserData>,
    pub created_session_id: Option<String>,
    pub abandon_at: i64,
}

/// `Stubs.SignInFactor`: a way to prove the identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInFactor {
    pub strategy: String,
}

/// `user_data` of a sign-in (`UserData.ts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserData {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub image_url: String,
    pub has_image: bool,
}

/// `Client.SignUp`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignUp {
    /// `sign_up_attempt`.
    pub object: String,
    pub id: String,
    /// `sign_up_status`.
    pub status: String,
    pub required_fields: Vec<String>,
    pub optional_fields: Vec<String>,
    pub missing_fields: Vec<String>,
    /// `["email_address"]` while the code is awaited: clerk-js then opens the code form
    /// (`completeSignUpFlow.ts`).
    pub unverified_fields: Vec<String>,
    pub verifications: SignUpVerifications,
    pub username: Option<String>,
    pub email_address: Option<String>,
    pub phone_number: Option<String>,
    pub web3_wallet: Option<String>,
    pub password_enabled: bool,
    /// What `SignUp.ts` reads (the spec calls it `password_enabled`).
    pub has_password: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub unsafe_metadata: Value,
    pub public_metadata: Value,
    pub custom_action: bool,
    pub external_id: Option<String>,
    pub created_session_id: Option<String>,
    pub created_user_id: Option<String>,
    pub abandon_at: i64,
    pub legal_accepted_at: Option<i64>,
}

/// `Client.SignUp.Verifications`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignUpVerifications {
    pub email_address: Option<SignUpVerification>,
    pub phone_number: Option<SignUpVerification>,
    pub web3_wallet: Option<SignUpVerification>,
    pub external_account: Option<SignUpVerification>,
}

/// A sign-up field's verification: an OTP verification plus what to do next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignUpVerification {
    /// `verification_otp`.
    pub object: String,
    /// `unverified` or `verified`.
    pub status: String,
    /// `email_code` once a code was sent: clerk-js then skips its own first
    /// `prepare_verification` (`ui/.../SignUpEmailCodeCard.tsx`).
    pub strategy: Option<String>,
    pub attempts: Option<u32>,
    pub expire_at: Option<i64>,
    /// `needs_attempt` while a code is awaited, empty once verified.
    pub next_action: String,
    pub supported_strategies: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::super::tests::assert_fields;
    use super::*;
    use crate::test_support::assert_wire;

    fn needs_password() -> SignIn {
        SignIn {
            object: "sign_in_attempt".into(),
            id: "sia_1".into(),
            status: sign_in_status::NEEDS_FIRST_FACTOR.into(),
            supported_identifiers: vec!["email_address".into()],
            identifier: Some("ada@example.com".into()),
            supported_first_factors: Some(vec![SignInFactor {
                strategy: strategy::PASSWORD.into(),
            }]),
            supported_second_factors: None,
            first_factor_verification: None,
            second_factor_verification: None,
            user_data: Some(UserData {
                first_name: None,
                last_name: None,
                image_url: String::new(),
                has_image: false,
            }),
            created_session_id: None,
            abandon_at: 1_800_000_000_000,
        }
    }

    #[test]
    fn sign_in_waiting_for_the_password() {
        assert_wire(
            &needs_password(),
            r#"{"object":"sign_in_attempt","id":"sia_1","status":"needs_first_factor","supported_identifiers":["email_address"],"identifier":"ada@example.com","supported_first_factors":[{"strategy":"password"}],"supported_second_factors":null,"first_factor_verification":null,"second_factor_verification":null,"user_data":{"first_name":null,"last_name":null,"image_url":"","has_image":false},"created_session_id":null,"abandon_at":1800000000000}"#,
        );
        // fapi/2026-05-12.yml `Client.SignIn` required (no more: `additionalProperties: false`).
        assert_fields(
            &needs_password(),
            &[
                "object",
                "id",
                "status",
                "supported_identifiers",
                "supported_first_factors",
                "supported_second_factors",
                "first_factor_verification",
                "second_factor_verification",
                "identifier",
                "user_data",
                "created_session_id",
                "abandon_at",
            ],
        );
    }

    #[test]
    fn completed_sign_in() {
        let done = SignIn {
            status: sign_in_status::COMPLETE.into(),
            first_factor_verification: Some(Verification::verified_by_password()),
            created_session_id: Some("sess_1".into()),
            ..needs_password()
        };
        let json = serde_json::to_value(&done).unwrap();
        assert_eq!(json["status"], "complete");
        assert_eq!(json["created_session_id"], "sess_1");
        assert_eq!(
            json["first_factor_verification"],
            serde_json::json!({"object":"verification_password","status":"verified","strategy":"password","attempts":null,"expire_at":null})
        );
    }

    fn awaiting_code() -> SignUp {
        SignUp {
            object: "sign_up_attempt".into(),
            id: "sua_1".into(),
            status: sign_up_status::MISSING_REQUIREMENTS.into(),
            required_fields: vec!["email_address".into(), "password".into()],
            optional_fields: vec!["first_name".into(), "last_name".into()],
            missing_fields: vec![],
            unverified_fields: vec!["email_address".into()],
            verifications: SignUpVerifications {
                email_address: Some(SignUpVerification {
                    object: "verification_otp".into(),
                    status: "unverified".into(),
                    strategy: Some(strategy::EMAIL_CODE.into()),
                    attempts: Some(0),
                    expire_at: Some(1_800_000_600_000),
                    next_action: "needs_attempt".into(),
                    supported_strategies: vec![strategy::EMAIL_CODE.into()],
                }),
                phone_number: None,
                web3_wallet: None,
                external_account: None,
            },
            username: None,
            email_address: Some("ada@example.com".into()),
            phone_number: None,
            web3_wallet: None,
            password_enabled: true,
            has_password: true,
            first_name: Some("Ada".into()),
            last_name: None,
            unsafe_metadata: serde_json::json!({}),
            public_metadata: serde_json::json!({}),
            custom_action: false,
            external_id: None,
            created_session_id: None,
            created_user_id: None,
            abandon_at: 1_800_000_600_000,
            legal_accepted_at: None,
        }
    }

    #[test]
    fn sign_up_waiting_for_the_code() {
        // `Client.SignUp` required, plus `has_password` and `public_metadata` (read by
        // `SignUp.ts` / listed by the spec).
        assert_fields(
            &awaiting_code(),
            &[
                "object",
                "id",
                "status",
                "required_fields",
                "optional_fields",
                "missing_fields",
                "unverified_fields",
                "verifications",
                "username",
                "email_address",
                "phone_number",
                "web3_wallet",
                "password_enabled",
                "has_password",
                "first_name",
                "last_name",
                "unsafe_metadata",
                "public_metadata",
                "custom_action",
                "external_id",
                "created_session_id",
                "created_user_id",
                "abandon_at",
                "legal_accepted_at",
            ],
        );
        // `Client.SignUp.Verifications` required, and the verification's fields
        // (`Stubs.Verification.OTP` + `Stubs.SignUpVerification.AdditionalFields`).
        let v = &awaiting_code().verifications;
        assert_fields(
            v,
            &[
                "email_address",
                "phone_number",
                "web3_wallet",
                "external_account",
            ],
        );
        assert_wire(
            v.email_address.as_ref().unwrap(),
            r#"{"object":"verification_otp","status":"unverified","strategy":"email_code","attempts":0,"expire_at":1800000600000,"next_action":"needs_attempt","supported_strategies":["email_code"]}"#,
        );
    }
}
