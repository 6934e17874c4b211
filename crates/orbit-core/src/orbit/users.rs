//! Users: creation, lookup, sign-in under the abuse limits, password change, profile and
//! deletion.

use super::password_hashing::Lane;
use super::{NewUser, Orbit};
use crate::clock::{Millis, HOUR};
use crate::email;
use crate::error::{Error, Result};
use crate::limits::{Admission, RateLimit};
use crate::model::*;
use crate::password::Verification;
use crate::store::{SignInAttemptId, StoreError};

impl Orbit {
    /// Creates a user. With a password, the password policy applies. The operator vouches for
    /// the address (BAPI, `orbit user create`), so it counts as verified by `admin`, as in
    /// Clerk's BAPI.
    pub async fn create_user(&self, instance: &Instance, new: NewUser) -> Result<User> {
        let valid = self.valid_user(new).await?;
        self.insert_user(instance, valid, EmailVerification::Admin)
            .await
    }

    /// `new` normalised and checked against the password policy, its password hashed.
    pub(super) async fn valid_user(&self, new: NewUser) -> Result<ValidUser> {
        let email = email::normalize(&new.email)?;
        let first_name = clean_name(new.first_name, "first_name")?;
        let last_name = clean_name(new.last_name, "last_name")?;
        let password_hash = match new.password {
            Some(pw) => {
                self.settings.password_policy.check(&pw)?;
                Some(self.hash_password(pw).await?)
            }
            None => None,
        };
        Ok(ValidUser {
            email,
            first_name,
            last_name,
            password_hash,
        })
    }

    /// The new user `valid` describes, not stored yet.
    pub(super) fn user_row(
        &self,
        instance: &Instance,
        valid: ValidUser,
        verification: EmailVerification,
    ) -> User {
        let now = self.now();
        User {
            id: self.random.id("user"),
            instance_id: instance.id.clone(),
            email_id: self.random.id("idn"),
            email: valid.email,
            first_name: valid.first_name,
            last_name: valid.last_name,
            password_hash: valid.password_hash,
            created_at: now,
            updated_at: now,
            last_sign_in_at: None,
            last_active_at: None,
            email_verification: verification,
            email_verified_at: (verification != EmailVerification::Unverified).then_some(now),
            banned: false,
        }
    }

    /// Stores a user whose fields are already normalised and checked.
    async fn insert_user(
        &self,
        instance: &Instance,
        valid: ValidUser,
        verification: EmailVerification,
    ) -> Result<User> {
        let user = self.user_row(instance, valid, verification);
        match self.store.create_user(&user).await {
            Ok(()) => Ok(user),
            Err(StoreError::Conflict(_)) => Err(Error::EmailTaken),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn user(&self, instance_id: &str, id: &str) -> Result<User> {
        self.store
            .user(instance_id, id)
            .await?
            .ok_or_else(|| Error::NotFound {
                resource: "user",
                id: id.to_owned(),
            })
    }

    /// Users of the instance, newest first; with `email_query`, only those whose address
    /// contains it, ignoring case (BAPI's `email_address_query`, the dashboard's search).
    pub async fn list_users(
        &self,
        instance: &Instance,
        email_query: Option<&str>,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<User>> {
        let query = email_query.and_then(email_search);
        Ok(self
            .store
            .list_users(&instance.id, query.as_deref(), limit, offset)
            .await?)
    }

    /// How many users `list_users` would list, all pages together.
    pub async fn count_users(&self, instance: &Instance, email_query: Option<&str>) -> Result<u64> {
        let query = email_query.and_then(email_search);
        Ok(self
            .store
            .count_users(&instance.id, query.as_deref())
            .await?)
    }

    /// The per-IP budget that sign-ins and sign-ups share: "that email is taken" answers would
    /// otherwise let one source test unlimited addresses for existing accounts.
    pub(super) async fn check_ip_rate(&self, instance: &Instance, client_ip: &str) -> Result<()> {
        self.check_source_rate(LimitScope::instance(instance), client_ip)
            .await?;
        self.check_instance_ceiling(instance).await
    }

    /// Starting a sign-in attempt (a row stored, nothing checked): a budget of the source's own,
    /// the per-IP one's size, so that starting attempts does not use up the sign-ins. In the
    /// store like the per-IP one, so it too is one budget on every node.
    pub(super) async fn check_start_rate(
        &self,
        instance: &Instance,
        client_ip: &str,
    ) -> Result<()> {
        let scope = LimitScope::instance(instance);
        let bucket = scope.bucket(&format!("start ip {}", crate::limits::ip_source(client_ip)));
        let limit = self.settings.sign_in_limits.per_source_rate();
        match self.take_token(scope, &bucket, limit).await? {
            Admission::Admitted => Ok(()),
            Admission::Wait(wait) => Err(Error::TooManyAttempts {
                retry_after_secs: ceil_secs(wait),
            }),
        }
    }

    /// The source's own budget (an IPv4 address or an IPv6 /64) in `scope`, kept in the store
    /// so that it is one budget on every node.
    pub(super) async fn check_source_rate(
        &self,
        scope: LimitScope<'_>,
        client_ip: &str,
    ) -> Result<()> {
        let bucket = scope.bucket(&format!("ip {}", crate::limits::ip_source(client_ip)));
        let limit = self.settings.sign_in_limits.per_source_rate();
        match self.take_token(scope, &bucket, limit).await? {
            Admission::Admitted => Ok(()),
            Admission::Wait(wait) => Err(Error::TooManyAttempts {
                retry_after_secs: ceil_secs(wait),
            }),
        }
    }

    /// The instance's ceiling, which only attempts within their source's budget reach, so one
    /// source over its limit cannot use up everyone's.
    async fn check_instance_ceiling(&self, instance: &Instance) -> Result<()> {
        let limit = self.settings.sign_in_limits.per_instance_rate();
        let scope = LimitScope::instance(instance);
        match self.take_token(scope, "instance", limit).await? {
            Admission::Admitted => Ok(()),
            Admission::Wait(wait) => Err(Error::Overloaded {
                retry_after_secs: ceil_secs(wait),
            }),
        }
    }

    async fn take_token(
        &self,
        scope: LimitScope<'_>,
        bucket: &str,
        limit: RateLimit,
    ) -> Result<Admission> {
        let now = self.now().saturating_mul(1000);
        Ok(self.store.take_token(scope.id, bucket, limit, now).await?)
    }

    /// Starts an attempt on the account `identifier` from `client_ip` under the per-account
    /// limits (docs/design/sessions-and-tokens.md "Abuse limits"): the source's own brake, then
    /// the account's ceiling from all sources, which paces rather than blocks. The attempt is
    /// recorded as a failure first, in one atomic step with reading the earlier ones, so racing
    /// attempts cannot all pass a limit; a refused attempt is forgotten again, and the caller
    /// forgets a successful one (`forget_sign_in_attempt`).
    pub(super) async fn start_account_attempt(
        &self,
        scope: LimitScope<'_>,
        identifier: &str,
        client_ip: &str,
        lane: Lane,
    ) -> Result<SignInAttemptId> {
        let now = self.now();
        let source = crate::limits::ip_source(client_ip);
        let limits = &self.settings.sign_in_limits;
        let (attempt, failures) = self
            .store
            .start_sign_in_attempt(scope.id, identifier, &source, now, now - HOUR)
            .await?;
        let mut wait = limits.source_retry_after(&failures, &source, now);
        if wait.is_none()
            && lane == Lane::Anyone
            && failures.len() >= limits.per_account_per_hour as usize
        {
            let newest = failures.iter().map(|f| f.at).max().unwrap_or(now);
            let paced = self
                .store
                .pace_account_attempt(
                    scope.id,
                    identifier,
                    &source,
                    newest,
                    limits.account_pace(),
                    now,
                )
                .await;
            match paced {
                Ok(Admission::Admitted) => {}
                Ok(Admission::Wait(w)) => wait = Some(w),
                Err(e) => {
                    // Not an answer on the account: the attempt must not count as a failure.
                    self.store.forget_sign_in_attempt(attempt).await?;
                    return Err(e.into());
                }
            }
        }
        if let Some(wait) = wait {
            self.store.forget_sign_in_attempt(attempt).await?;
            return Err(Error::TooManyAttempts {
                retry_after_secs: ceil_secs(wait),
            });
        }
        Ok(attempt)
    }

    /// Verifies the password of a started attempt. An attempt that never got its password
    /// checked (the hash queue was full: 503) is forgotten, not counted as a failure: shedding
    /// load must not brake the account's owner.
    pub(super) async fn verify_attempt(
        &self,
        attempt: SignInAttemptId,
        lane: Lane,
        password: &str,
        phc: Option<String>,
    ) -> Result<Verification> {
        match self.verify_password(lane, password.to_owned(), phc).await {
            Ok(v) => Ok(v),
            Err(e) => {
                self.store.forget_sign_in_attempt(attempt).await?;
                Err(e)
            }
        }
    }

    /// Checks email and password under the abuse limits. Unknown emails cost one argon2
    /// verification too and fail with the same error as a wrong password. `device` is the
    /// browser's device token, if any (`device_token`): from a known device of this account the
    /// attempt skips the instance ceiling and the account's pacing and has its own hash lane.
    pub async fn sign_in(
        &self,
        instance: &Instance,
        client_ip: &str,
        email_input: &str,
        password: &str,
        device: Option<&str>,
    ) -> Result<User> {
        let scope = LimitScope::instance(instance);
        self.check_source_rate(scope, client_ip).await?;
        let now = self.now();
        let identifier = account_identifier(email_input);
        let identifier = identifier.as_str();
        let user = self.store.user_by_email(&instance.id, identifier).await?;
        let lane = match &user {
            Some(u) if self.is_known_device(instance, &u.id, device) => Lane::KnownDevice,
            _ => Lane::Anyone,
        };
        if lane == Lane::Anyone {
            self.check_instance_ceiling(instance).await?;
        }
        let attempt = self
            .start_account_attempt(scope, identifier, client_ip, lane)
            .await?;
        let phc = user.as_ref().and_then(|u| u.password_hash.clone());
        match (
            self.verify_attempt(attempt, lane, password, phc).await?,
            user,
        ) {
            (Verification::Match { needs_rehash }, Some(mut user)) => {
                self.store.forget_sign_in_attempt(attempt).await?;
                // Only once the password matched: a wrong one is the same answer as ever, so
                // nobody but the password's holder learns of the ban.
                if user.banned {
                    return Err(Error::UserBanned);
                }
                if needs_rehash {
                    // Only over the hash just verified: a password changed meanwhile stays. A
                    // busy hash pool skips the upgrade; the next sign-in makes it.
                    match self.hash_password(password.to_owned()).await {
                        Ok(rehashed) => {
                            if self.swap_password_hash(&user, &rehashed, now).await? {
                                user.password_hash = Some(rehashed);
                            }
                        }
                        Err(Error::Overloaded { .. }) => {}
                        Err(e) => return Err(e),
                    }
                }
                self.store
                    .record_sign_in(&instance.id, &user.id, now)
                    .await?;
                user.last_sign_in_at = Some(now);
                user.updated_at = now;
                Ok(user)
            }
            // The attempt stays recorded as a failure.
            _ => Err(Error::InvalidCredentials),
        }
    }

    /// Changes the password of the user signed in on `current_session_id`, under the sign-in
    /// abuse limits: the check of the current password takes the per-IP budget and counts as a
    /// failed sign-in of the account when wrong (a stolen session must not test passwords
    /// faster than the sign-in form could). Then every other active session of the user is
    /// revoked; the current one stays (docs/design/sessions-and-tokens.md).
    pub async fn change_password(
        &self,
        instance: &Instance,
        client_ip: &str,
        user_id: &str,
        current_session_id: &str,
        current: &str,
        new: &str,
    ) -> Result<()> {
        self.check_ip_rate(instance, client_ip).await?;
        let user = self.user(&instance.id, user_id).await?;
        let attempt = self
            .start_account_attempt(
                LimitScope::instance(instance),
                bounded_identifier(&user.email),
                client_ip,
                Lane::Anyone,
            )
            .await?;
        match self
            .verify_attempt(attempt, Lane::Anyone, current, user.password_hash.clone())
            .await?
        {
            Verification::Match { .. } => self.store.forget_sign_in_attempt(attempt).await?,
            // The attempt stays recorded as a failure.
            Verification::Mismatch => return Err(Error::CurrentPasswordIncorrect),
        }
        self.settings.password_policy.check(new)?;
        let hash = self.hash_password(new.to_owned()).await?;
        let now = self.now();
        // Only over the hash the current password was checked against: if another change got
        // there first, the password typed as current is no longer the current one.
        if !self.swap_password_hash(&user, &hash, now).await? {
            return Err(Error::CurrentPasswordIncorrect);
        }
        self.revoke_user_sessions(instance, user_id, Some(current_session_id), now)
            .await?;
        Ok(())
    }

    /// Revokes every active session of the user but `except`; returns how many ended.
    async fn revoke_user_sessions(
        &self,
        instance: &Instance,
        user_id: &str,
        except: Option<&str>,
        now: Millis,
    ) -> Result<usize> {
        let mut ended = 0;
        for s in self.user_sessions(instance, user_id).await? {
            if Some(s.id.as_str()) != except
                && s.status == SessionStatus::Active
                && self
                    .store
                    .end_session(&s.id, SessionStatus::Revoked, now)
                    .await?
            {
                self.store.touch_client(&s.client_id, now).await?;
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// Bans a user (BAPI `POST /v1/users/{id}/ban`, the dashboard): they can no longer sign
    /// in (`UserBanned`, once their password matched), and every active session of theirs is
    /// revoked. The flag is written before the sessions are swept, and a sign-in checks it
    /// again once its session is written (`refuse_if_banned_meanwhile`), so a sign-in racing
    /// the ban cannot keep a session. Banning a banned user changes nothing but sweeps again.
    pub async fn ban_user(&self, instance: &Instance, user_id: &str) -> Result<User> {
        let now = self.now();
        self.set_banned(instance, user_id, true, now).await?;
        self.revoke_user_sessions(instance, user_id, None, now)
            .await?;
        self.user(&instance.id, user_id).await
    }

    /// Lifts a ban (BAPI `POST /v1/users/{id}/unban`, the dashboard). The sessions the ban
    /// ended stay ended: the user signs in again.
    pub async fn unban_user(&self, instance: &Instance, user_id: &str) -> Result<User> {
        self.set_banned(instance, user_id, false, self.now())
            .await?;
        self.user(&instance.id, user_id).await
    }

    async fn set_banned(
        &self,
        instance: &Instance,
        user_id: &str,
        banned: bool,
        now: Millis,
    ) -> Result<()> {
        if self
            .store
            .set_user_banned(&instance.id, user_id, banned, now)
            .await?
        {
            Ok(())
        } else {
            Err(Error::NotFound {
                resource: "user",
                id: user_id.to_owned(),
            })
        }
    }

    /// Sets a user's password (the backend, `PATCH /v1/users/{id}`) under the password policy,
    /// over the hash it read: a concurrent change is never undone, and its loser retries.
    pub async fn set_password(&self, instance: &Instance, user_id: &str, new: &str) -> Result<()> {
        self.settings.password_policy.check(new)?;
        let hash = self.hash_password(new.to_owned()).await?;
        loop {
            let user = self.user(&instance.id, user_id).await?;
            if self.swap_password_hash(&user, &hash, self.now()).await? {
                return Ok(());
            }
        }
    }

    /// Sets `user`'s password hash to `new` if it is still the one `user` was read with.
    async fn swap_password_hash(&self, user: &User, new: &str, at: Millis) -> Result<bool> {
        Ok(self
            .store
            .swap_password_hash(
                &user.instance_id,
                &user.id,
                user.password_hash.as_deref(),
                new,
                at,
            )
            .await?)
    }

    pub async fn update_profile(
        &self,
        instance: &Instance,
        user_id: &str,
        first_name: Option<String>,
        last_name: Option<String>,
    ) -> Result<User> {
        let first_name = clean_name(first_name, "first_name")?;
        let last_name = clean_name(last_name, "last_name")?;
        // The names alone: a sign-in or password change at the same moment keeps its fields.
        if !self
            .store
            .set_user_names(
                &instance.id,
                user_id,
                first_name.as_deref(),
                last_name.as_deref(),
                self.now(),
            )
            .await?
        {
            return Err(Error::NotFound {
                resource: "user",
                id: user_id.to_owned(),
            });
        }
        self.user(&instance.id, user_id).await
    }

    pub async fn delete_user(&self, instance: &Instance, user_id: &str) -> Result<()> {
        if self.store.delete_user(&instance.id, user_id).await? {
            Ok(())
        } else {
            Err(Error::NotFound {
                resource: "user",
                id: user_id.to_owned(),
            })
        }
    }
}

/// Whose budgets an attempt counts against (docs/design/sessions-and-tokens.md "Abuse limits"):
/// an instance's end users, or the deployment's operators (docs/design/dashboard.md). The store
/// keys the limits' state by `id`, and bucket names carry `prefix`, so the two never share a
/// budget.
#[derive(Debug, Clone, Copy)]
pub(super) struct LimitScope<'a> {
    id: &'a str,
    prefix: &'static str,
}

impl<'a> LimitScope<'a> {
    pub(super) fn instance(instance: &'a Instance) -> Self {
        Self {
            id: &instance.id,
            prefix: "",
        }
    }

    /// `name` as this scope's bucket.
    fn bucket(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

impl LimitScope<'static> {
    /// The dashboard's operators: no instance id looks like this one.
    pub(super) const OPERATORS: Self = Self {
        id: "orbit operators",
        prefix: "op ",
    };
}

/// A user's fields, normalised and checked, ready to store.
pub(super) struct ValidUser {
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub password_hash: Option<String>,
}

/// A name as stored: trimmed, at most 256 characters, no control characters, and no
/// bidirectional controls, which could reorder what a page or an email shows around it.
pub(super) fn clean_name(name: Option<String>, field: &'static str) -> Result<Option<String>> {
    let Some(n) = name else { return Ok(None) };
    let n = n.trim().to_owned();
    if n.chars().count() > 256 {
        return Err(Error::Invalid {
            field,
            reason: "at most 256 characters".into(),
        });
    }
    if n.chars().any(char::is_control) {
        return Err(Error::Invalid {
            field,
            reason: "must not contain control characters".into(),
        });
    }
    if n.chars().any(crate::text::is_bidi_control) {
        return Err(Error::Invalid {
            field,
            reason: crate::text::BIDI_REASON.into(),
        });
    }
    Ok(if n.is_empty() { None } else { Some(n) })
}

/// The longest email search kept, in characters: no address is longer.
const MAX_EMAIL_QUERY_CHARS: usize = 320;

/// What an email search looks for: trimmed and lower-cased as stored addresses are, at most
/// `MAX_EMAIL_QUERY_CHARS`; `None` (no filter) when nothing is left.
fn email_search(query: &str) -> Option<String> {
    let q: String = query
        .trim()
        .to_lowercase()
        .chars()
        .take(MAX_EMAIL_QUERY_CHARS)
        .collect();
    (!q.is_empty()).then_some(q)
}

/// The longest identifier a failed sign-in is recorded under, in bytes (an email address is at
/// most 320 characters of ASCII: 64 for the local part, 255 for the domain, and the `@`).
pub(crate) const MAX_IDENTIFIER_BYTES: usize = 320;

/// The account a sign-in names, as the limits and the lookup key it: a malformed email cannot
/// be an account, but is treated as one, with the same cost; and the failure record is keyed by
/// what was typed, bounded, so a megabyte "email" costs no more to store than a real one.
pub(super) fn account_identifier(input: &str) -> String {
    let normalized = email::normalize(input).unwrap_or_else(|_| input.trim().to_lowercase());
    bounded_identifier(&normalized).to_owned()
}

/// `identifier` cut to at most `MAX_IDENTIFIER_BYTES`, on a character boundary.
fn bounded_identifier(identifier: &str) -> &str {
    let mut end = identifier.len().min(MAX_IDENTIFIER_BYTES);
    while !identifier.is_char_boundary(end) {
        end -= 1;
    }
    &identifier[..end]
}

pub(super) fn ceil_secs(ms: Millis) -> u64 {
    u64::try_from((ms + 999).div_euclid(1000))
        .unwrap_or(1)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_searches_are_trimmed_lower_cased_and_bounded() {
        assert_eq!(email_search("  Ada@Example "), Some("ada@example".into()));
        assert_eq!(email_search("   "), None);
        assert_eq!(email_search(""), None);
        assert_eq!(
            email_search("%_"),
            Some("%_".into()),
            "taken literally by the store"
        );
        let long = "é".repeat(1_000);
        assert_eq!(
            email_search(&long).unwrap().chars().count(),
            MAX_EMAIL_QUERY_CHARS
        );
    }

    #[test]
    fn failed_sign_in_identifiers_are_bounded_on_a_char_boundary() {
        assert_eq!(bounded_identifier("ada@example.com"), "ada@example.com");
        let exact = "a".repeat(MAX_IDENTIFIER_BYTES);
        assert_eq!(bounded_identifier(&exact), exact);
        let long = "a".repeat(10_000);
        assert_eq!(bounded_identifier(&long).len(), MAX_IDENTIFIER_BYTES);
        // A 3-byte character straddling the bound is dropped whole.
        let straddling = format!("{}€€", "a".repeat(MAX_IDENTIFIER_BYTES - 1));
        let cut = bounded_identifier(&straddling);
        assert_eq!(cut, "a".repeat(MAX_IDENTIFIER_BYTES - 1));
        let multibyte = "é".repeat(1_000);
        let cut = bounded_identifier(&multibyte);
        assert_eq!(cut, "é".repeat(MAX_IDENTIFIER_BYTES / 2));
        assert_eq!(bounded_identifier(""), "");
    }
}
