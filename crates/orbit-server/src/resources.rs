//! Domain objects in the JSON shapes the Frontend and the Backend API share
//! (`orbit_proto::resources`): `fapi/resources.rs` and `bapi/resources.rs` build their users
//! and sessions on these and add what differs.

use orbit_core::model::{EmailVerification, Instance, Session, User};
use orbit_proto::resources::{EmailAddress, SessionBase, UserBase, Verification};
use serde_json::json;

/// The user's one email address, with how it was verified.
pub fn email_address(u: &User) -> EmailAddress {
    EmailAddress {
        id: u.email_id.clone(),
        object: "email_address".into(),
        email_address: u.email.clone(),
        reserved: false,
        verification: Some(match u.email_verification {
            EmailVerification::Unverified => Verification::unverified(),
            EmailVerification::EmailCode => Verification::verified_by_email_code(),
            EmailVerification::Admin => Verification::verified_by_admin(),
        }),
        linked_to: vec![],
        created_at: u.created_at,
        updated_at: u.updated_at,
    }
}

/// The fields both APIs' users share.
pub fn user_base(u: &User) -> UserBase {
    UserBase {
        id: u.id.clone(),
        object: "user".into(),
        external_id: None,
        username: None,
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        image_url: String::new(),
        has_image: false,
        primary_email_address_id: Some(u.email_id.clone()),
        primary_phone_number_id: None,
        primary_web3_wallet_id: None,
        password_enabled: u.password_hash.is_some(),
        two_factor_enabled: false,
        totp_enabled: false,
        backup_code_enabled: false,
        email_addresses: vec![email_address(u)],
        phone_numbers: vec![],
        web3_wallets: vec![],
        passkeys: vec![],
        external_accounts: vec![],
        saml_accounts: vec![],
        enterprise_accounts: vec![],
        public_metadata: json!({}),
        unsafe_metadata: json!({}),
        banned: u.banned,
        locked: false,
        lockout_expires_in_seconds: None,
        verification_attempts_remaining: None,
        create_organization_enabled: false,
        last_sign_in_at: u.last_sign_in_at,
        last_active_at: u.last_active_at,
        created_at: u.created_at,
        updated_at: u.updated_at,
    }
}

/// The fields every session resource shares.
pub fn session_base(s: &Session, instance: &Instance) -> SessionBase {
    SessionBase {
        object: "session".into(),
        id: s.id.clone(),
        status: s.status.as_str().into(),
        expire_at: s.expire_at(&instance.settings),
        abandon_at: s.abandon_at,
        last_active_at: s.last_active_at,
    }
}
