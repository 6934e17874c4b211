//! Sign-in as a state machine in the store (docs/design/frontend-api.md "Sign-in"): an attempt
//! is created with an identifier and completed by its password. The Frontend API drives it a
//! step per request; the hosted sign-in page makes both steps in one request. Either way the
//! rules are `sign_in`'s and the session starts as `start_session` starts it.

use super::users::account_identifier;
use super::{Orbit, SessionStart};
use crate::clock::{Millis, MINUTE};
use crate::error::{Error, Result};
use crate::keys::{constant_time_eq, token_hash};
use crate::model::*;

/// How long a sign-in attempt waits for its password.
pub const SIGN_IN_LIFETIME: Millis = 30 * MINUTE;

/// A sign-in attempt just created, and the token its browser must present to go on (only its
/// hash is stored).
#[derive(Debug, Clone)]
pub struct NewSignIn {
    pub attempt: SignInAttempt,
    pub browser_token: String,
}

/// The browser a sign-in or sign-up comes from: where it stands for the limits, the client it
/// has (retired when the session starts), the FAPI host its new client token is for, its user
/// agent, and its device token (`Orbit::device_token`), if any.
#[derive(Debug, Clone)]
pub struct BrowserContext<'a> {
    pub client_ip: &'a str,
    pub client: Option<Client>,
    pub fapi_host: &'a str,
    pub user_agent: Option<String>,
    pub device: Option<&'a str>,
}

/// A completed sign-in: the attempt, the session it started on a fresh client, its user.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub attempt: SignInAttempt,
    pub start: SessionStart,
    pub user: User,
}

impl Orbit {
    /// Creates a sign-in attempt for `identifier`. Nothing is looked up, so the attempt, and
    /// the time it takes, are the same whether or not the identifier has an account. It takes
    /// the source's attempt-start budget (a stored row per call).
    pub async fn create_sign_in(
        &self,
        instance: &Instance,
        client_ip: &str,
        identifier: &str,
    ) -> Result<NewSignIn> {
        if identifier.trim().is_empty() {
            return Err(Error::Invalid {
                field: "identifier",
                reason: "enter an email address".into(),
            });
        }
        self.check_start_rate(instance, client_ip).await?;
        let now = self.now();
        let browser_token = self.random.token(32);
        let attempt = SignInAttempt {
            id: self.random.id("sia"),
            instance_id: instance.id.clone(),
            browser_hash: token_hash(&browser_token),
            identifier: account_identifier(identifier),
            status: SignInStatus::NeedsFirstFactor,
            created_session_id: None,
            created_at: now,
            expires_at: now + SIGN_IN_LIFETIME,
        };
        self.store.put_sign_in(&attempt).await?;
        Ok(NewSignIn {
            attempt,
            browser_token,
        })
    }

    /// The attempt `id` if `browser_token` is its browser's and it has not expired; `None`
    /// whether it is unknown, another browser's, another instance's or expired.
    pub async fn sign_in_attempt(
        &self,
        instance: &Instance,
        id: &str,
        browser_token: &str,
    ) -> Result<Option<SignInAttempt>> {
        let Some(attempt) = self.store.sign_in_attempt(&instance.id, id).await? else {
            return Ok(None);
        };
        let theirs = constant_time_eq(
            attempt.browser_hash.as_bytes(),
            token_hash(browser_token).as_bytes(),
        );
        Ok((theirs && attempt.expires_at > self.now()).then_some(attempt))
    }

    /// The password step of the attempt `id`, from the browser holding `browser_token`. The
    /// password is checked by `sign_in`, under its limits and with its one answer for unknown
    /// identifiers and wrong passwords (`InvalidCredentials`); a right one completes the
    /// attempt and starts its session on a fresh client in one write. An attempt that is not
    /// this browser's live one is `NotFound`; a completed one `SignInComplete`, also for the
    /// loser of two racing steps (both passwords checked, one session).
    pub async fn attempt_sign_in_password(
        &self,
        instance: &Instance,
        id: &str,
        browser_token: &str,
        password: &str,
        browser: BrowserContext<'_>,
    ) -> Result<SignedIn> {
        let not_found = || Error::NotFound {
            resource: "sign-in",
            id: id.to_owned(),
        };
        let attempt = self
            .sign_in_attempt(instance, id, browser_token)
            .await?
            .ok_or_else(not_found)?;
        if attempt.status == SignInStatus::Complete {
            return Err(Error::SignInComplete);
        }
        let user = self
            .sign_in(
                instance,
                browser.client_ip,
                &attempt.identifier,
                password,
                browser.device,
            )
            .await?;
        let (retired, start) =
            self.new_session_start(instance, browser.client, &user, browser.user_agent);
        let completed = self
            .store
            .complete_sign_in(
                &instance.id,
                &attempt.id,
                self.now(),
                retired.as_ref().map(|c| c.id.as_str()),
                &start.client,
                &start.session,
                browser.fapi_host,
                &token_hash(&start.client_token),
            )
            .await?;
        if !completed {
            return Err(Error::SignInComplete);
        }
        self.refuse_if_banned_meanwhile(instance, &start.session)
            .await?;
        Ok(SignedIn {
            attempt: SignInAttempt {
                status: SignInStatus::Complete,
                created_session_id: Some(start.session.id.clone()),
                ..attempt
            },
            start,
            user,
        })
    }

    /// Deletes sign-in attempts that expired. Returns how many.
    pub async fn prune_sign_ins(&self) -> Result<u64> {
        Ok(self.store.prune_sign_ins(self.now()).await?)
    }
}
