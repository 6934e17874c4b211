//! Sign-up from a browser, and its email verification (docs/design/accounts.md "Email
//! verification"): with `sign_up.email_verification` on, the account is created only once the
//! one-time code mailed to the address comes back.

use super::users::{clean_name, ValidUser};
use super::{NewUser, Orbit, SessionBrowser, SessionStart};
use crate::clock::{Millis, MINUTE};
use crate::email;
use crate::error::{Error, Result};
use crate::keys::{constant_time_eq, token_hash};
use crate::mail;
use crate::model::*;

/// How long a sign-up code works.
pub const SIGN_UP_CODE_LIFETIME: Millis = 10 * MINUTE;
/// Codes a pending sign-up takes before it is dead.
pub const SIGN_UP_CODE_ATTEMPTS: u32 = 5;

/// What a sign-up leads to.
#[derive(Debug, Clone)]
pub enum SignUpOutcome {
    /// The account exists and its first session started (email verification is off for the
    /// instance), both in one write.
    Created {
        user: Box<User>,
        start: Box<SessionStart>,
    },
    /// A message went to `email`: a code, or, when the address has an account, a notice saying
    /// so. The two are indistinguishable here; the browser goes on with `token`. `id` names the
    /// pending sign-up (`sua_...`), and it is answered until `expires_at`.
    CodeSent {
        id: String,
        token: String,
        email: String,
        expires_at: Millis,
    },
}

impl Orbit {
    /// Signs up from `browser`: the per-IP limit sign-ins share, a password required, the
    /// password policy; then either the user is created with its first session in one write
    /// (so no outage leaves an account without its session), or (with
    /// `sign_up.email_verification`) a pending sign-up is stored and a code mailed. Every
    /// browser sign-up path goes through here.
    pub async fn sign_up(
        &self,
        instance: &Instance,
        client_ip: &str,
        new: NewUser,
        browser: SessionBrowser,
    ) -> Result<SignUpOutcome> {
        self.check_ip_rate(instance, client_ip).await?;
        if new.password.as_deref().is_none_or(str::is_empty) {
            return Err(Error::PasswordMissing);
        }
        if !instance.settings.sign_up_email_verification {
            let valid = self.valid_user(new).await?;
            let user = self.user_row(instance, valid, EmailVerification::Unverified);
            let start = self.start_first_session(instance, &user, browser).await?;
            return Ok(SignUpOutcome::Created {
                user: Box::new(user),
                start: Box::new(start),
            });
        }
        let mail = self.settings.mail.clone().ok_or(Error::MailNotConfigured)?;
        let email = email::normalize(&new.email)?;
        let first_name = clean_name(new.first_name, "first_name")?;
        let last_name = clean_name(new.last_name, "last_name")?;
        let password = new.password.unwrap_or_default();
        self.settings.password_policy.check(&password)?;
        // Hashed whether or not the address has an account, so both take the same time.
        let password_hash = Some(self.hash_password(password).await?);
        let token = self.random.token(32);
        let code = six_digits(self.random.as_ref());
        let taken = self
            .store
            .user_by_email(&instance.id, &email)
            .await?
            .is_some();
        let now = self.now();
        let pending = PendingSignUp {
            id: self.random.id("sua"),
            token_hash: token_hash(&token),
            instance_id: instance.id.clone(),
            email: email.clone(),
            first_name,
            last_name,
            password_hash,
            code_hash: if taken {
                String::new()
            } else {
                code_hash(&token, &code)
            },
            attempts: 0,
            created_at: now,
            expires_at: now + SIGN_UP_CODE_LIFETIME,
        };
        self.store.put_pending_sign_up(&pending).await?;
        let to = email::for_delivery(&email);
        let message = if taken {
            mail::account_exists(&to)
        } else {
            mail::sign_up_code(&to, &code, SIGN_UP_CODE_LIFETIME / MINUTE)
        };
        mail.send(message).await.map_err(Error::MailFailed)?;
        Ok(SignUpOutcome::CodeSent {
            id: pending.id,
            token,
            email,
            expires_at: pending.expires_at,
        })
    }

    /// Completes a pending sign-up with the code from the mail: each try counts (atomically,
    /// so racing requests get no extra tries), a right code is consumed once, and the account
    /// is created with its address verified by `email_code`, with its first session in
    /// `browser` in the same write.
    pub async fn verify_sign_up(
        &self,
        instance: &Instance,
        client_ip: &str,
        token: &str,
        code: &str,
        browser: SessionBrowser,
    ) -> Result<(User, SessionStart)> {
        self.check_ip_rate(instance, client_ip).await?;
        let hash = token_hash(token);
        let Some(pending) = self
            .store
            .claim_sign_up_attempt(&instance.id, &hash, self.now(), SIGN_UP_CODE_ATTEMPTS)
            .await?
        else {
            return Err(Error::VerificationCodeExpired);
        };
        let typed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let right = !pending.code_hash.is_empty()
            && constant_time_eq(
                pending.code_hash.as_bytes(),
                code_hash(token, &typed).as_bytes(),
            );
        if !right {
            return Err(
                match SIGN_UP_CODE_ATTEMPTS.saturating_sub(pending.attempts) {
                    0 => Error::VerificationCodeExpired,
                    attempts_left => Error::VerificationCodeIncorrect { attempts_left },
                },
            );
        }
        if !self.store.take_pending_sign_up(&instance.id, &hash).await? {
            return Err(Error::VerificationCodeExpired);
        }
        let user = self.user_row(
            instance,
            ValidUser {
                email: pending.email,
                first_name: pending.first_name,
                last_name: pending.last_name,
                password_hash: pending.password_hash,
            },
            EmailVerification::EmailCode,
        );
        let start = self.start_first_session(instance, &user, browser).await?;
        Ok((user, start))
    }

    /// The pending sign-up `id` if `token` is its browser's, expired or not (`verify_sign_up`
    /// says which); `None` whether it is unknown, another browser's or used.
    pub async fn sign_up_attempt(
        &self,
        instance: &Instance,
        id: &str,
        token: &str,
    ) -> Result<Option<PendingSignUp>> {
        Ok(self
            .store
            .pending_sign_up(&instance.id, &token_hash(token))
            .await?
            .filter(|p| constant_time_eq(p.id.as_bytes(), id.as_bytes())))
    }

    /// A new code for the pending sign-up of `token` (clerk-js's "Resend", the Frontend API's
    /// `prepare_verification`): the per-IP budget sign-ups take, then a fresh code, its tries
    /// and its ten minutes, and the mail. An address that has an account gets the notice again
    /// and still no code that can match, so the answer tells nothing. A pending sign-up that
    /// expired or was used cannot be renewed (`VerificationCodeExpired`).
    pub async fn resend_sign_up_code(
        &self,
        instance: &Instance,
        client_ip: &str,
        token: &str,
    ) -> Result<PendingSignUp> {
        self.check_ip_rate(instance, client_ip).await?;
        let mail = self.settings.mail.clone().ok_or(Error::MailNotConfigured)?;
        let code = six_digits(self.random.as_ref());
        let now = self.now();
        let pending = self
            .store
            .renew_pending_sign_up(
                &instance.id,
                &token_hash(token),
                &code_hash(token, &code),
                now,
                now + SIGN_UP_CODE_LIFETIME,
            )
            .await?
            .ok_or(Error::VerificationCodeExpired)?;
        let to = email::for_delivery(&pending.email);
        let message = if pending.code_hash.is_empty() {
            mail::account_exists(&to)
        } else {
            mail::sign_up_code(&to, &code, SIGN_UP_CODE_LIFETIME / MINUTE)
        };
        mail.send(message).await.map_err(Error::MailFailed)?;
        Ok(pending)
    }

    /// Deletes pending sign-ups whose code expired. Returns how many.
    pub async fn prune_pending_sign_ups(&self) -> Result<u64> {
        Ok(self.store.prune_pending_sign_ups(self.now()).await?)
    }

    /// Refuses settings this server cannot honour: email verification without a mail server.
    pub(super) fn check_mail_for(&self, settings: &InstanceSettings) -> Result<()> {
        if settings.sign_up_email_verification && self.settings.mail.is_none() {
            return Err(Error::MailNotConfigured);
        }
        Ok(())
    }
}

/// A uniformly random code of six decimal digits.
fn six_digits(random: &dyn crate::random::Random) -> String {
    // Rejection sampling: 2^32 is not a multiple of 10^6.
    const LIMIT: u32 = u32::MAX - (u32::MAX % 1_000_000);
    loop {
        let mut buf = [0u8; 4];
        random.fill(&mut buf);
        let n = u32::from_le_bytes(buf);
        if n < LIMIT {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

/// The stored form of a code: keyed by the browser's token, which the store does not keep, so
/// the million possible codes cannot be tried against a copy of the database.
fn code_hash(token: &str, code: &str) -> String {
    token_hash(&format!("{token}:{code}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn codes_are_six_digits() {
        let r = SeededRandom::new(7);
        let codes: Vec<String> = (0..200).map(|_| six_digits(&r)).collect();
        assert!(codes
            .iter()
            .all(|c| c.len() == 6 && c.chars().all(|d| d.is_ascii_digit())));
        let distinct: std::collections::BTreeSet<_> = codes.iter().collect();
        assert!(distinct.len() > 190);
    }

    #[test]
    fn code_hashes_depend_on_the_token() {
        assert_eq!(code_hash("t1", "123456"), code_hash("t1", "123456"));
        assert_ne!(code_hash("t1", "123456"), code_hash("t2", "123456"));
        assert_ne!(code_hash("t1", "123456"), code_hash("t1", "123457"));
    }
}
