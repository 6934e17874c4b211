//! Domain errors. They know nothing of HTTP; orbit-server maps them to statuses in one place.

use crate::email::EmailError;
use crate::keys::KeyError;
use crate::password::PasswordRejection;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Unknown email or wrong password: deliberately one variant, so no caller can tell them apart.
    #[error("the email address or password is incorrect")]
    InvalidCredentials,
    /// The right password of a banned user (a wrong one is `InvalidCredentials`, as for anyone):
    /// only someone who holds the password learns of the ban.
    #[error("this account is banned")]
    UserBanned,
    #[error("too many sign-in attempts; try again in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    /// The instance's ceiling on password attempts is reached, from all sources together.
    #[error("too many sign-in attempts on this instance; try again in {retry_after_secs} s")]
    Overloaded { retry_after_secs: u64 },
    #[error("{0}")]
    Email(#[from] EmailError),
    #[error("{0}")]
    Password(#[from] PasswordRejection),
    /// A sign-up without a password.
    #[error("enter a password")]
    PasswordMissing,
    #[error("an account with this email address already exists")]
    EmailTaken,
    /// A wrong sign-up code; the pending sign-up takes `attempts_left` more.
    #[error("the code is incorrect")]
    VerificationCodeIncorrect { attempts_left: u32 },
    /// Unknown, expired, used, or out of attempts: one answer for all four.
    #[error("the code has expired or was tried too often; start again")]
    VerificationCodeExpired,
    /// `sign_up.email_verification` is on but the server has no SMTP settings.
    #[error(
        "sign_up.email_verification is on but no SMTP server is configured (smtp_host, smtp_from)"
    )]
    MailNotConfigured,
    /// The SMTP server did not take a message (the cause is logged).
    #[error("the email could not be sent: {0}")]
    MailFailed(String),
    #[error("the current password is incorrect")]
    CurrentPasswordIncorrect,
    /// A sign-in attempt that already started its session (replayed, or lost a race).
    #[error("this sign-in is already complete")]
    SignInComplete,
    /// A dashboard setup link that is unknown, expired or used, or that came after the first
    /// operator was created: one answer for all four.
    #[error("this setup link has expired or was used already")]
    SetupLinkInvalid,
    #[error("{field} is invalid: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("no {resource} with id {id}")]
    NotFound { resource: &'static str, id: String },
    #[error("the session is {status}, not active")]
    SessionNotActive { status: &'static str },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
