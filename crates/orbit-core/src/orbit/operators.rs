//! The dashboard's operators (docs/design/dashboard.md): accounts apart from every instance's
//! end users, signed in under the same password policy, argon2 pool and abuse limits (in
//! buckets of their own), their sessions, the one-time setup link that creates the first one,
//! and the audit log every dashboard change is recorded in.

use super::password_hashing::Lane;
use super::users::{account_identifier, LimitScope};
use super::Orbit;
use crate::clock::{Millis, DAY, HOUR};
use crate::email;
use crate::error::{Error, Result};
use crate::keys::token_hash;
use crate::model::*;
use crate::password::Verification;
use crate::store::StoreError;

/// An operator session ends this long after it started, however active.
pub const OPERATOR_SESSION_LIFETIME: Millis = 12 * HOUR;
/// An operator session unused this long is over.
pub const OPERATOR_SESSION_IDLE_TIMEOUT: Millis = 2 * HOUR;
/// A setup link works this long after `orbit serve` printed it.
pub const SETUP_TOKEN_LIFETIME: Millis = DAY;
/// Audit entries per page, at most.
pub const AUDIT_PAGE_MAX: u32 = 200;

/// Who did something the audit log records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in operator (or one just created by a setup link).
    Operator { id: String, email: String },
    /// The `orbit` command line: whoever can run it on the server.
    Cli,
}

impl Actor {
    pub fn operator(operator: &Operator) -> Self {
        Actor::Operator {
            id: operator.id.clone(),
            email: operator.email.clone(),
        }
    }
}

/// What the audit log records. New dashboard operations add a variant here; the log keeps the
/// name (`as_str`), so a name once written must never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    OperatorCreated,
    OperatorSignedIn,
    OperatorSignedOut,
    OperatorSessionRevoked,
    // An instance's users and sessions (the dashboard's Users and Sessions pages).
    UserCreated,
    UserBanned,
    UserUnbanned,
    UserDeleted,
    SessionRevoked,
    // The instance pages (dashboard/instances/): the instance the entry names is the one changed.
    /// A production instance added to an application; its target is the new instance.
    ProductionInstanceCreated,
    SecretKeyCreated,
    SecretKeyRevoked,
    SatelliteAdded,
    /// An operator's DNS check of a satellite (`Verify`), whatever its outcome (in the detail).
    SatelliteChecked,
    SatelliteRemoved,
    RedirectOriginAdded,
    RedirectOriginRemoved,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::OperatorCreated => "operator.created",
            AuditAction::OperatorSignedIn => "operator.signed_in",
            AuditAction::OperatorSignedOut => "operator.signed_out",
            AuditAction::OperatorSessionRevoked => "operator.session_revoked",
            AuditAction::UserCreated => "user.created",
            AuditAction::UserBanned => "user.banned",
            AuditAction::UserUnbanned => "user.unbanned",
            AuditAction::UserDeleted => "user.deleted",
            AuditAction::SessionRevoked => "session.revoked",
            AuditAction::ProductionInstanceCreated => "instance.production_created",
            AuditAction::SecretKeyCreated => "secret_key.created",
            AuditAction::SecretKeyRevoked => "secret_key.revoked",
            AuditAction::SatelliteAdded => "domain.satellite_added",
            AuditAction::SatelliteChecked => "domain.satellite_checked",
            AuditAction::SatelliteRemoved => "domain.satellite_removed",
            AuditAction::RedirectOriginAdded => "instance.redirect_origin_added",
            AuditAction::RedirectOriginRemoved => "instance.redirect_origin_removed",
        }
    }
}

/// A new operator session: the cookie value (`token`, whose hash alone is stored) and the
/// session it stands for.
#[derive(Debug, Clone)]
pub struct OperatorSignIn {
    pub operator: Operator,
    pub session: OperatorSession,
    pub token: String,
}

/// The operator a dashboard request comes from, and the session it came with.
#[derive(Debug, Clone)]
pub struct SignedInOperator {
    pub operator: Operator,
    pub session: OperatorSession,
}

impl SignedInOperator {
    pub fn actor(&self) -> Actor {
        Actor::operator(&self.operator)
    }
}

/// One page of the audit log, newest first.
#[derive(Debug, Clone)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Where the next page starts (the `seq` of this page's last entry); `None` on the last.
    pub next: Option<i64>,
}

/// Whether a session found by its token is still live at `now`: not ended, before its absolute
/// end, and used within the idle timeout.
pub fn operator_session_live(session: &OperatorSession, now: Millis) -> bool {
    session.ended_at.is_none()
        && now < session.expires_at
        && now - session.last_active_at < OPERATOR_SESSION_IDLE_TIMEOUT
}

impl Orbit {
    /// Creates an operator (`orbit admin create`, later the dashboard) under the end users'
    /// password policy, recorded in the audit log as `actor`'s doing in the same write.
    pub async fn create_operator(
        &self,
        email_input: &str,
        password: &str,
        actor: &Actor,
    ) -> Result<Operator> {
        let operator = self.new_operator(email_input, password).await?;
        let audit = self.audit_entry(
            actor,
            AuditAction::OperatorCreated,
            &operator.id,
            None,
            serde_json::json!({ "email": operator.email }),
        );
        match self.store.create_operator(&operator, &audit).await {
            Ok(()) => Ok(operator),
            Err(StoreError::Conflict(_)) => Err(Error::EmailTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// A new operator, normalised, checked and hashed, not stored yet.
    async fn new_operator(&self, email_input: &str, password: &str) -> Result<Operator> {
        let email = email::normalize(email_input)?;
        self.settings.password_policy.check(password)?;
        let password_hash = self.hash_password(password.to_owned()).await?;
        Ok(Operator {
            id: self.random.id("op"),
            email,
            password_hash,
            created_at: self.now(),
            last_sign_in_at: None,
        })
    }

    /// Every operator, oldest first.
    pub async fn operators(&self) -> Result<Vec<Operator>> {
        Ok(self.store.list_operators().await?)
    }

    pub async fn has_operators(&self) -> Result<bool> {
        Ok(self.store.count_operators().await? > 0)
    }

    /// Checks an operator's email and password under the abuse limits end users have (the
    /// per-source budget, the per-account brake and pacing; in the operators' own buckets) and
    /// starts a session. Unknown emails cost one argon2 verification too and fail with the same
    /// error as a wrong password.
    pub async fn operator_sign_in(
        &self,
        client_ip: &str,
        email_input: &str,
        password: &str,
        user_agent: Option<&str>,
    ) -> Result<OperatorSignIn> {
        let scope = LimitScope::OPERATORS;
        self.check_source_rate(scope, client_ip).await?;
        let identifier = account_identifier(email_input);
        let operator = self.store.operator_by_email(&identifier).await?;
        let attempt = self
            .start_account_attempt(scope, &identifier, client_ip, Lane::Anyone)
            .await?;
        let phc = operator.as_ref().map(|o| o.password_hash.clone());
        match (
            self.verify_attempt(attempt, Lane::Anyone, password, phc)
                .await?,
            operator,
        ) {
            (Verification::Match { .. }, Some(operator)) => {
                self.store.forget_sign_in_attempt(attempt).await?;
                self.start_operator_session(operator, user_agent).await
            }
            // The attempt stays recorded as a failure.
            _ => Err(Error::InvalidCredentials),
        }
    }

    /// Starts a session for `operator`, records the sign-in and audits it.
    async fn start_operator_session(
        &self,
        mut operator: Operator,
        user_agent: Option<&str>,
    ) -> Result<OperatorSignIn> {
        let now = self.now();
        let token = self.random.token(32);
        let session = OperatorSession {
            id: self.random.id("opsess"),
            operator_id: operator.id.clone(),
            token_hash: token_hash(&token),
            created_at: now,
            last_active_at: now,
            expires_at: now + OPERATOR_SESSION_LIFETIME,
            ended_at: None,
            user_agent: user_agent.map(|ua| crate::user_agent::summary(Some(ua))),
        };
        self.store.create_operator_session(&session).await?;
        self.store
            .record_operator_sign_in(&operator.id, now)
            .await?;
        operator.last_sign_in_at = Some(now);
        self.record_audit(
            &Actor::operator(&operator),
            AuditAction::OperatorSignedIn,
            &session.id,
            None,
            serde_json::json!({ "device": session.user_agent }),
        )
        .await?;
        Ok(OperatorSignIn {
            operator,
            session,
            token,
        })
    }

    /// The operator and live session a dashboard cookie stands for; `None` for an unknown,
    /// ended, expired or idle session alike. Activity is written at most once per
    /// `session_touch_interval`.
    pub async fn operator_for_token(&self, token: &str) -> Result<Option<SignedInOperator>> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let now = self.now();
        let Some(mut session) = self
            .store
            .live_operator_session(&token_hash(token), now)
            .await?
        else {
            return Ok(None);
        };
        if !operator_session_live(&session, now) {
            return Ok(None);
        }
        let Some(operator) = self.store.operator(&session.operator_id).await? else {
            return Ok(None);
        };
        if now - session.last_active_at >= self.settings.session_touch_interval {
            self.store.touch_operator_session(&session.id, now).await?;
            session.last_active_at = now;
        }
        Ok(Some(SignedInOperator { operator, session }))
    }

    /// The operator's live sessions, newest first.
    pub async fn operator_sessions(&self, operator: &Operator) -> Result<Vec<OperatorSession>> {
        let now = self.now();
        let mut sessions = self.store.operator_sessions(&operator.id, now).await?;
        sessions.retain(|s| operator_session_live(s, now));
        Ok(sessions)
    }

    /// Ends one of `me`'s own sessions (another device), audited. False when it was not a live
    /// session of theirs.
    pub async fn revoke_operator_session(
        &self,
        me: &SignedInOperator,
        session_id: &str,
    ) -> Result<bool> {
        let ended = self
            .store
            .end_operator_session(&me.operator.id, session_id, self.now())
            .await?;
        if ended {
            self.record_audit(
                &me.actor(),
                AuditAction::OperatorSessionRevoked,
                session_id,
                None,
                serde_json::json!({}),
            )
            .await?;
        }
        Ok(ended)
    }

    /// Ends the session `me` came with, audited.
    pub async fn operator_sign_out(&self, me: &SignedInOperator) -> Result<()> {
        let ended = self
            .store
            .end_operator_session(&me.operator.id, &me.session.id, self.now())
            .await?;
        if ended {
            self.record_audit(
                &me.actor(),
                AuditAction::OperatorSignedOut,
                &me.session.id,
                None,
                serde_json::json!({}),
            )
            .await?;
        }
        Ok(())
    }

    /// A new one-time setup link's token while the deployment has no operator (`orbit serve`
    /// prints one at each start until there is one); `None` once there is.
    pub async fn issue_setup_token(&self) -> Result<Option<String>> {
        if self.has_operators().await? {
            return Ok(None);
        }
        let token = self.random.token(32);
        self.store
            .put_setup_token(&OperatorSetupToken {
                token_hash: token_hash(&token),
                expires_at: self.now() + SETUP_TOKEN_LIFETIME,
                used_at: None,
            })
            .await?;
        Ok(Some(token))
    }

    /// Whether the setup link `token` would still create the first operator now (the page
    /// shows its form, or says the link no longer works).
    pub async fn setup_token_usable(&self, token: &str) -> Result<bool> {
        if token.is_empty() || token.len() > 128 {
            return Ok(false);
        }
        let Some(t) = self.store.setup_token(&token_hash(token)).await? else {
            return Ok(false);
        };
        Ok(t.used_at.is_none() && self.now() < t.expires_at && !self.has_operators().await?)
    }

    /// Creates the first operator through the setup link `token` and signs them in. The link
    /// is spent in the same write that creates the operator, and only while no operator
    /// exists: of racing redemptions one succeeds. Each try takes the operators' per-source
    /// budget (it costs a hash). `SetupLinkInvalid` for an unknown, used or expired link.
    pub async fn redeem_setup_token(
        &self,
        client_ip: &str,
        token: &str,
        email_input: &str,
        password: &str,
        user_agent: Option<&str>,
    ) -> Result<OperatorSignIn> {
        self.check_source_rate(LimitScope::OPERATORS, client_ip)
            .await?;
        if !self.setup_token_usable(token).await? {
            return Err(Error::SetupLinkInvalid);
        }
        let operator = self.new_operator(email_input, password).await?;
        let audit = self.audit_entry(
            &Actor::operator(&operator),
            AuditAction::OperatorCreated,
            &operator.id,
            None,
            serde_json::json!({ "email": operator.email, "via": "setup link" }),
        );
        let redeemed = self
            .store
            .redeem_setup_token(&token_hash(token), self.now(), &operator, &audit)
            .await;
        match redeemed {
            Ok(true) => self.start_operator_session(operator, user_agent).await,
            Ok(false) => Err(Error::SetupLinkInvalid),
            Err(StoreError::Conflict(_)) => Err(Error::EmailTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// Records that `actor` did `action` to `target` (in `instance`, when it concerns one);
    /// `detail` is a JSON object of anything else worth keeping. The one call every dashboard
    /// change makes after the core operation it audits.
    pub async fn record_audit(
        &self,
        actor: &Actor,
        action: AuditAction,
        target: &str,
        instance: Option<&str>,
        detail: serde_json::Value,
    ) -> Result<()> {
        let entry = self.audit_entry(actor, action, target, instance, detail);
        Ok(self.store.record_audit(&entry).await?)
    }

    fn audit_entry(
        &self,
        actor: &Actor,
        action: AuditAction,
        target: &str,
        instance: Option<&str>,
        detail: serde_json::Value,
    ) -> AuditEntry {
        let (operator_id, operator_email) = match actor {
            Actor::Operator { id, email } => (Some(id.clone()), Some(email.clone())),
            Actor::Cli => (None, None),
        };
        AuditEntry {
            id: self.random.id("aud"),
            seq: 0,
            at: self.now(),
            operator_id,
            operator_email,
            action: action.as_str().to_owned(),
            target: target.to_owned(),
            instance_id: instance.map(str::to_owned),
            detail: detail.to_string(),
        }
    }

    /// One page of the audit log, newest first: the first with `after = None`, then each
    /// following from the previous page's `next`. `limit` is capped at `AUDIT_PAGE_MAX`.
    pub async fn audit_log(&self, after: Option<i64>, limit: u32) -> Result<AuditPage> {
        let limit = limit.clamp(1, AUDIT_PAGE_MAX);
        // One more than asked: whether a next page exists.
        let mut entries = self.store.audit_log(after, limit + 1).await?;
        let next = if entries.len() > limit as usize {
            entries.truncate(limit as usize);
            entries.last().map(|e| e.seq)
        } else {
            None
        };
        Ok(AuditPage { entries, next })
    }

    /// At most `limit` entries of the audit log, newest first, after skipping `offset`; with
    /// `instance`, only those concerning it (the dashboard's audit page, by page number).
    pub async fn audit_log_of(
        &self,
        instance: Option<&str>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<AuditEntry>> {
        let limit = limit.clamp(1, AUDIT_PAGE_MAX);
        Ok(self.store.audit_log_of(instance, offset, limit).await?)
    }

    /// Forgets operator sessions and setup links that are over (ended, expired, used): nothing
    /// reads them any more, and the audit log keeps what happened.
    pub async fn prune_operator_state(&self) -> Result<u64> {
        Ok(self.store.prune_operator_state(self.now()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(created_at: Millis, last_active_at: Millis) -> OperatorSession {
        OperatorSession {
            id: "opsess_1".into(),
            operator_id: "op_1".into(),
            token_hash: "h".into(),
            created_at,
            last_active_at,
            expires_at: created_at + OPERATOR_SESSION_LIFETIME,
            ended_at: None,
            user_agent: None,
        }
    }

    #[test]
    fn a_session_lives_until_idle_ended_or_expired() {
        let s = session(0, 0);
        assert!(operator_session_live(&s, 0));
        assert!(operator_session_live(&s, OPERATOR_SESSION_IDLE_TIMEOUT - 1));
        assert!(!operator_session_live(&s, OPERATOR_SESSION_IDLE_TIMEOUT));
        // Activity keeps it, up to its absolute end.
        let active = session(0, OPERATOR_SESSION_LIFETIME - 1);
        assert!(operator_session_live(
            &active,
            OPERATOR_SESSION_LIFETIME - 1
        ));
        assert!(!operator_session_live(&active, OPERATOR_SESSION_LIFETIME));
        let ended = OperatorSession {
            ended_at: Some(1),
            ..session(0, 0)
        };
        assert!(!operator_session_live(&ended, 1));
    }

    #[test]
    fn audit_action_names_are_stable() {
        // Stored in the log: renaming one would orphan what was written under the old name.
        let names: Vec<&str> = [
            AuditAction::OperatorCreated,
            AuditAction::OperatorSignedIn,
            AuditAction::OperatorSignedOut,
            AuditAction::OperatorSessionRevoked,
            AuditAction::UserCreated,
            AuditAction::UserBanned,
            AuditAction::UserUnbanned,
            AuditAction::UserDeleted,
            AuditAction::SessionRevoked,
        ]
        .iter()
        .map(|a| a.as_str())
        .collect();
        assert_eq!(
            names,
            [
                "operator.created",
                "operator.signed_in",
                "operator.signed_out",
                "operator.session_revoked",
                "user.created",
                "user.banned",
                "user.unbanned",
                "user.deleted",
                "session.revoked",
            ]
        );
    }
}
