//! Domain objects in BAPI's JSON shapes.

use orbit_core::model::{Instance, Session, User};
use orbit_proto::resources as r;
use serde_json::json;

pub fn user_json(u: &User) -> r::User {
    r::User {
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
        email_addresses: vec![u.email_address_resource()],
        phone_numbers: vec![],
        web3_wallets: vec![],
        passkeys: vec![],
        external_accounts: vec![],
        saml_accounts: vec![],
        enterprise_accounts: vec![],
        public_metadata: json!({}),
        private_metadata: json!({}),
        unsafe_metadata: json!({}),
        banned: false,
        locked: false,
        lockout_expires_in_seconds: None,
        verification_attempts_remaining: None,
        delete_self_enabled: true,
        create_organization_enabled: false,
        last_sign_in_at: u.last_sign_in_at,
        last_active_at: u.last_active_at,
        created_at: u.created_at,
        updated_at: u.updated_at,
    }
}

pub fn session_json(s: &Session, instance: &Instance) -> r::Session {
    r::Session {
        id: s.id.clone(),
        object: "session".into(),
        client_id: s.client_id.clone(),
        user_id: s.user_id.clone(),
        status: s.status.as_str().into(),
        last_active_at: s.last_active_at,
        expire_at: s.expire_at(&instance.settings),
        abandon_at: s.abandon_at,
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}
