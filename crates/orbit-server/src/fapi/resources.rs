//! Domain objects in the Frontend API's JSON shapes (`orbit_proto::frontend`), as clerk-js
//! reads them.

use crate::resources::{session_base, user_base};
use orbit_core::clock::{Millis, MINUTE};
use orbit_core::model::{
    Client, Instance, PendingSignUp, Session, SignInAttempt, SignInStatus, User,
};
use orbit_proto::frontend as f;
use orbit_proto::resources::{Token, Verification};
use serde_json::json;

pub fn user_json(u: &User) -> f::User {
    f::User {
        base: user_base(u),
        organization_memberships: vec![],
        // Deleting accounts from the browser is not offered (`<UserProfile/>` hides it).
        delete_self_enabled: false,
        mfa_enabled_at: None,
        mfa_disabled_at: None,
        legal_accepted_at: None,
    }
}

/// A session with its user; `token`, when given, pre-fills clerk-js's token cache.
pub fn session_json(
    s: &Session,
    user: &User,
    instance: &Instance,
    token: Option<String>,
    now: Millis,
) -> f::Session {
    f::Session {
        base: session_base(s, instance),
        last_active_token: token.map(|jwt| Token {
            object: "token".into(),
            jwt,
        }),
        last_active_organization_id: None,
        actor: None,
        tasks: None,
        public_user_data: f::PublicUserData {
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            image_url: String::new(),
            has_image: false,
            identifier: user.email.clone(),
            user_id: Some(user.id.clone()),
        },
        user: user_json(user),
        // As the session token's `fva`: the password was checked when the session started.
        factor_verification_age: vec![(now - s.created_at).div_euclid(MINUTE), -1],
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}

/// The browser's client: `client` (none before the first sign-in) with its active sessions
/// (newest first; the first is the current one) and its attempts in progress. `None` when
/// there is nothing to show.
pub fn client_json(
    client: Option<&Client>,
    sessions: Vec<f::Session>,
    sign_in: Option<f::SignIn>,
    sign_up: Option<f::SignUp>,
    now: Millis,
) -> Option<f::Client> {
    if client.is_none() && sign_in.is_none() && sign_up.is_none() {
        return None;
    }
    Some(f::Client {
        object: "client".into(),
        id: client.map(|c| c.id.clone()).unwrap_or_default(),
        last_active_session_id: sessions.first().map(|s| s.base.id.clone()),
        sessions,
        sign_in,
        sign_up,
        last_authentication_strategy: None,
        // `null`: the `__client` cookie is renewed at every sign-in, and a date within 8 days
        // would send every navigation through `/v1/client/touch` (`Client.ts`).
        cookie_expires_at: None,
        captcha_bypass: false,
        created_at: client.map_or(now, |c| c.created_at),
        updated_at: client.map_or(now, |c| c.updated_at),
    })
}

/// A sign-in attempt. The same for every identifier, with or without an account: the password
/// is the one factor offered and `user_data` names nobody.
pub fn sign_in_json(a: &SignInAttempt) -> f::SignIn {
    let complete = a.status == SignInStatus::Complete;
    f::SignIn {
        object: "sign_in_attempt".into(),
        id: a.id.clone(),
        status: a.status.as_str().into(),
        supported_identifiers: vec!["email_address".into()],
        identifier: Some(a.identifier.clone()),
        supported_first_factors: Some(vec![f::SignInFactor {
            strategy: f::strategy::PASSWORD.into(),
        }]),
        supported_second_factors: None,
        first_factor_verification: complete.then(Verification::verified_by_password),
        second_factor_verification: None,
        user_data: Some(f::UserData {
            first_name: None,
            last_name: None,
            image_url: String::new(),
            has_image: false,
        }),
        created_session_id: a.created_session_id.clone(),
        abandon_at: a.expires_at,
    }
}

/// A sign-up with everything but its id and state: what it asked for and holds.
fn sign_up_base(id: String, email: &str, first: Option<String>, last: Option<String>) -> f::SignUp {
    f::SignUp {
        object: "sign_up_attempt".into(),
        id,
        status: f::sign_up_status::MISSING_REQUIREMENTS.into(),
        required_fields: vec!["email_address".into(), "password".into()],
        optional_fields: vec!["first_name".into(), "last_name".into()],
        missing_fields: vec![],
        unverified_fields: vec![],
        verifications: f::SignUpVerifications {
            email_address: None,
            phone_number: None,
            web3_wallet: None,
            external_account: None,
        },
        username: None,
        email_address: Some(email.to_owned()),
        phone_number: None,
        web3_wallet: None,
        password_enabled: true,
        has_password: true,
        first_name: first,
        last_name: last,
        unsafe_metadata: json!({}),
        public_metadata: json!({}),
        custom_action: false,
        external_id: None,
        created_session_id: None,
        created_user_id: None,
        abandon_at: 0,
        legal_accepted_at: None,
    }
}

fn email_code_verification(
    status: &str,
    attempts: Option<u32>,
    expire_at: Option<Millis>,
) -> f::SignUpVerification {
    f::SignUpVerification {
        object: "verification_otp".into(),
        status: status.into(),
        strategy: Some(f::strategy::EMAIL_CODE.into()),
        attempts,
        expire_at,
        next_action: if status == "verified" {
            ""
        } else {
            "needs_attempt"
        }
        .into(),
        supported_strategies: vec![f::strategy::EMAIL_CODE.into()],
    }
}

/// A sign-up waiting for the code mailed to its address (or, for an address that has an
/// account, for a code that never comes: the answer is the same). The verification says a
/// code was sent, so clerk-js shows the code form without asking for another
/// (`SignUpEmailCodeCard.tsx`).
pub fn pending_sign_up_json(p: &PendingSignUp) -> f::SignUp {
    let mut s = sign_up_base(
        p.id.clone(),
        &p.email,
        p.first_name.clone(),
        p.last_name.clone(),
    );
    s.unverified_fields = vec!["email_address".into()];
    s.verifications.email_address = Some(email_code_verification(
        "unverified",
        Some(p.attempts),
        Some(p.expires_at),
    ));
    s.abandon_at = p.expires_at;
    s
}

/// A sign-up that created `user` and started `session`; `id` names it (a pending sign-up's,
/// or a fresh one when no code was needed).
pub fn completed_sign_up_json(id: String, user: &User, session: &Session) -> f::SignUp {
    let mut s = sign_up_base(
        id,
        &user.email,
        user.first_name.clone(),
        user.last_name.clone(),
    );
    s.status = f::sign_up_status::COMPLETE.into();
    if user.email_verified_at.is_some() {
        s.verifications.email_address = Some(email_code_verification("verified", None, None));
    }
    s.created_user_id = Some(user.id.clone());
    s.created_session_id = Some(session.id.clone());
    s.abandon_at = session.created_at;
    s
}
