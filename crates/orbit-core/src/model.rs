//! The domain model (docs/protocol.md "Concepts"). Timestamps are unix milliseconds.

use crate::clock::{Millis, DAY};
use orbit_proto::wire::handshake_format;
pub use orbit_proto::InstanceKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub id: String,
    pub name: String,
    pub created_at: Millis,
}

/// Per-instance settings that apps and the portal depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSettings {
    /// Where apps send users to sign in; `None` means the hosted `/sign-in` page.
    pub sign_in_url: Option<String>,
    pub sign_up_url: Option<String>,
    /// Origins (or `*.` wildcards) besides the instance's own domains that may be redirected to.
    pub allowed_redirect_origins: Vec<String>,
    /// A session that sees no activity for this long ends.
    pub session_inactivity_ms: Millis,
    /// A session ends this long after it started, whatever its activity.
    pub session_lifetime_ms: Millis,
    /// `sign_up.email_verification`: a hosted sign-up mails a one-time code and creates the
    /// account only once the code comes back (docs/design/accounts.md). On by default for
    /// production instances, off for development ones.
    pub sign_up_email_verification: bool,
}

impl InstanceSettings {
    /// The settings a new instance of `kind` starts with.
    pub fn for_kind(kind: InstanceKind) -> Self {
        Self {
            sign_up_email_verification: kind == InstanceKind::Production,
            ..Self::default()
        }
    }
}

impl Default for InstanceSettings {
    fn default() -> Self {
        Self {
            sign_in_url: None,
            sign_up_url: None,
            allowed_redirect_origins: Vec::new(),
            session_inactivity_ms: 7 * DAY,
            session_lifetime_ms: 30 * DAY,
            sign_up_email_verification: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub id: String,
    pub application_id: String,
    pub kind: InstanceKind,
    pub settings: InstanceSettings,
    pub created_at: Millis,
}

/// A domain of an instance: the primary (exactly one) or a satellite.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Domain {
    pub id: String,
    pub instance_id: String,
    /// The app's host, possibly with a port: `primary.dev`, `localhost:3000`.
    pub name: String,
    pub is_satellite: bool,
    /// The host serving this domain's Frontend API, e.g. `clerk.primary.dev` or `127.0.0.1:4000`.
    /// `None` for satellites of development instances, which share the primary's FAPI host
    /// (docs/protocol.md "Development instances").
    pub fapi_host: Option<String>,
    /// The domain may be served: its DNS was verified and it is not suspended
    /// (docs/design/dns-verification.md).
    pub verified: bool,
    /// Why the last DNS check failed, shown to the operator.
    pub verification_error: Option<String>,
    pub checked_at: Option<Millis>,
    /// Consecutive failed re-checks since the domain was verified; 0 once a check passes.
    pub dns_failures: u32,
    /// When the current run of failed re-checks began.
    pub dns_failing_since: Option<Millis>,
    /// When the re-checks had failed for longer than the grace period. A suspended domain is
    /// not `verified` until an operator verifies it again.
    pub suspended_at: Option<Millis>,
    pub created_at: Millis,
}

/// How a handshake answer carries its directives back to the app (docs/protocol.md "The handshake").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeFormat {
    /// A nonce the app's server reads the directives by, through BAPI, until it expires.
    Nonce,
    /// A signed `__clerk_handshake` JWT.
    Token,
}

impl HandshakeFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            HandshakeFormat::Nonce => handshake_format::NONCE,
            HandshakeFormat::Token => handshake_format::TOKEN,
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            handshake_format::NONCE => Some(HandshakeFormat::Nonce),
            handshake_format::TOKEN => Some(HandshakeFormat::Token),
            _ => None,
        }
    }
}

/// A satellite handshake waiting for the primary's answer (docs/protocol.md "Satellite sync" step 2).
/// Bound to one browser by `state_hash`, the hash of a host-only cookie on the satellite's FAPI host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSync {
    pub id: String,
    pub instance_id: String,
    pub satellite_domain_id: String,
    pub state_hash: String,
    /// Where the handshake answer finally goes (the satellite app's URL).
    pub redirect_url: String,
    pub format: HandshakeFormat,
    pub suffixed_cookies: bool,
    pub expires_at: Millis,
}

/// The primary's answer to a pending sync (docs/protocol.md "Satellite sync" step 3): single use,
/// bound to the client, the satellite and the pending sync. Only its hash is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncToken {
    pub token_hash: String,
    pub instance_id: String,
    /// The primary's client with a live session; `None`: the browser is signed out there, and
    /// the satellite is linked to nothing (clients are created lazily).
    pub client_id: Option<String>,
    pub satellite_domain_id: String,
    pub pending_sync_id: String,
    pub expires_at: Millis,
}

/// A secret key as stored: its SHA-256 for lookup, and the key sealed with the deployment's
/// master key so that `orbit instance show` can print it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSecretKey {
    pub id: String,
    pub instance_id: String,
    pub hash: String,
    pub sealed: Vec<u8>,
    pub created_at: Millis,
}

/// An instance's RSA signing key, private part sealed with the master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSigningKey {
    pub kid: String,
    pub instance_id: String,
    pub sealed_pkcs8: Vec<u8>,
    pub public_n: Vec<u8>,
    pub public_e: Vec<u8>,
    pub created_at: Millis,
    /// When a newer key took over; the key stays in the JWKS until its last token expired.
    pub retired_at: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub instance_id: String,
    pub email_id: String,
    /// Normalised (see `email::normalize`), unique per instance.
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// PHC string; `None` for users created without a password.
    pub password_hash: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub last_sign_in_at: Option<Millis>,
    pub last_active_at: Option<Millis>,
    /// How the email address was shown to belong to the user, if it was.
    pub email_verification: EmailVerification,
    /// When it was verified (`None` while unverified).
    pub email_verified_at: Option<Millis>,
    /// Banned by an operator (BAPI `POST /v1/users/{id}/ban`, the dashboard): the user cannot
    /// sign in, and the ban ended their sessions (docs/design/accounts.md "Banned users").
    pub banned: bool,
}

/// Whether, and how, a user's email address was verified (BAPI's `verification` object).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailVerification {
    /// Nobody proved the address: a hosted sign-up without `sign_up.email_verification`, or a
    /// user stored before Orbit tracked verification.
    Unverified,
    /// The operator vouched for it (BAPI or `orbit user create`), as Clerk's BAPI does.
    Admin,
    /// The user typed the one-time code mailed to it at sign-up.
    EmailCode,
}

impl EmailVerification {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailVerification::Unverified => "unverified",
            EmailVerification::Admin => "admin",
            EmailVerification::EmailCode => "email_code",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "unverified" => EmailVerification::Unverified,
            "admin" => EmailVerification::Admin,
            "email_code" => EmailVerification::EmailCode,
            _ => return None,
        })
    }
}

/// A sign-up waiting for the one-time code mailed to its address (docs/design/accounts.md).
/// The browser holds a random token; the store keeps its hash, and the code's hash keyed by the
/// token, so the stored rows alone give neither. Single use, at most `MAX_ATTEMPTS` codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSignUp {
    /// `sua_...`: the id clerk-js names the sign-up by.
    pub id: String,
    pub token_hash: String,
    pub instance_id: String,
    /// Normalised.
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The chosen password, already hashed (argon2 PHC).
    pub password_hash: Option<String>,
    /// Empty when the address already has an account: no code was sent and none matches.
    pub code_hash: String,
    /// Codes tried so far.
    pub attempts: u32,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// A sign-in in progress from one browser (docs/design/frontend-api.md "Sign-in"): created
/// with an identifier, completed by its password. The browser holds a random token; the store
/// keeps its hash, so an attempt's id alone is worth nothing in another browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInAttempt {
    /// `sia_...`: the id clerk-js names the attempt by.
    pub id: String,
    pub instance_id: String,
    /// SHA-256 of the browser's token.
    pub browser_hash: String,
    /// As normalised for the account limits (an email through `email::normalize`, else trimmed
    /// and lower-cased), at most 320 bytes.
    pub identifier: String,
    pub status: SignInStatus,
    /// Set when the attempt completed.
    pub created_session_id: Option<String>,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// Where a sign-in attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInStatus {
    /// Waiting for the password.
    NeedsFirstFactor,
    /// A session was started; nothing more can happen to the attempt.
    Complete,
}

impl SignInStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SignInStatus::NeedsFirstFactor => "needs_first_factor",
            SignInStatus::Complete => "complete",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "needs_first_factor" => SignInStatus::NeedsFirstFactor,
            "complete" => SignInStatus::Complete,
            _ => return None,
        })
    }
}

/// One browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    pub instance_id: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStatus {
    Active,
    Ended,
    Revoked,
    Removed,
    Expired,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Active => "active",
            SessionStatus::Ended => "ended",
            SessionStatus::Revoked => "revoked",
            SessionStatus::Removed => "removed",
            SessionStatus::Expired => "expired",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "active" => SessionStatus::Active,
            "ended" => SessionStatus::Ended,
            "revoked" => SessionStatus::Revoked,
            "removed" => SessionStatus::Removed,
            "expired" => SessionStatus::Expired,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub instance_id: String,
    pub client_id: String,
    pub user_id: String,
    pub status: SessionStatus,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub last_active_at: Millis,
    /// Absolute end of the session.
    pub abandon_at: Millis,
    /// Informational user agent ("device") for the profile page.
    pub user_agent: Option<String>,
}

impl Session {
    /// The moment inactivity ends the session.
    pub fn expire_at(&self, settings: &InstanceSettings) -> Millis {
        (self.last_active_at + settings.session_inactivity_ms).min(self.abandon_at)
    }

    /// Status as of `now`: an active session past its inactivity or absolute limit is expired.
    pub fn status_at(&self, now: Millis, settings: &InstanceSettings) -> SessionStatus {
        if self.status == SessionStatus::Active && now >= self.expire_at(settings) {
            SessionStatus::Expired
        } else {
            self.status
        }
    }
}

/// An active session with its user's address, as the dashboard lists an instance's sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedSession {
    pub session: Session,
    pub user_email: String,
}

/// An operator of this deployment: someone who signs in to the dashboard (docs/design/
/// dashboard.md). Not an end user of any instance: operators have their own table, sessions
/// and cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// `op_...`.
    pub id: String,
    /// Normalised as end users' addresses are (`email::normalize`); unique in the deployment.
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    pub created_at: Millis,
    pub last_sign_in_at: Option<Millis>,
}

/// A signed-in dashboard browser. The browser holds a random 256-bit token; the store keeps its
/// SHA-256 only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorSession {
    /// `opsess_...`: what the account page names the session by.
    pub id: String,
    pub operator_id: String,
    pub token_hash: String,
    pub created_at: Millis,
    pub last_active_at: Millis,
    /// Absolute end of the session, whatever its activity.
    pub expires_at: Millis,
    /// When it was signed out or revoked; `None` while it may be live.
    pub ended_at: Option<Millis>,
    /// The device it was started on, as `user_agent::summary` reads its user agent ("Chrome
    /// on Linux"): the raw string is not kept.
    pub user_agent: Option<String>,
}

/// A one-time link that creates the first operator (`orbit serve` prints it while there is
/// none). The link carries a random 256-bit token; the store keeps its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorSetupToken {
    pub token_hash: String,
    pub expires_at: Millis,
    pub used_at: Option<Millis>,
}

/// One line of the audit log: who did what, to what, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// `aud_...`.
    pub id: String,
    /// Its place in the log, given by the store: a later entry has a larger one (entries of one
    /// millisecond too). 0 until stored.
    pub seq: i64,
    pub at: Millis,
    /// The operator who acted, and their address at the time; `None` for the `orbit` command
    /// line, which acts as whoever runs it on the server.
    pub operator_id: Option<String>,
    pub operator_email: Option<String>,
    /// What was done: `AuditAction::as_str`, or an action a newer version wrote.
    pub action: String,
    /// What it was done to (an operator, a session, a domain ...), by id or name.
    pub target: String,
    /// The instance it concerns, when it concerns one.
    pub instance_id: Option<String>,
    /// Anything else worth keeping, as a JSON object.
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_instances_verify_sign_up_emails_by_default() {
        assert!(InstanceSettings::for_kind(InstanceKind::Production).sign_up_email_verification);
        assert!(!InstanceSettings::for_kind(InstanceKind::Development).sign_up_email_verification);
        for v in [
            EmailVerification::Unverified,
            EmailVerification::Admin,
            EmailVerification::EmailCode,
        ] {
            assert_eq!(EmailVerification::parse(v.as_str()), Some(v));
        }
    }
}
