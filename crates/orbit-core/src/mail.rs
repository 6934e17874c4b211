//! Outgoing email: what core sends (sign-up codes, "you already have an account" notices) and
//! the transport it sends through. The server implements the transport over SMTP; core only
//! composes plain-text messages (docs/design/accounts.md "Email verification").

use async_trait::async_trait;

/// One plain-text message to one normalised address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// Delivers mail (SMTP in the server). Errors are a sentence for the log, never shown to users.
#[async_trait]
pub trait MailTransport: Send + Sync + std::fmt::Debug {
    async fn send(&self, mail: OutgoingMail) -> Result<(), String>;
}

/// The message with a sign-up's one-time code.
pub fn sign_up_code(to: &str, code: &str, valid_minutes: i64) -> OutgoingMail {
    OutgoingMail {
        to: to.to_owned(),
        subject: format!("{code} is your verification code"),
        text: format!(
            "Your verification code is {code}\n\n\
             Enter it on the sign-up page to finish creating your account. It expires in \
             {valid_minutes} minutes and works once.\n\n\
             If you did not try to create an account, ignore this message: nothing happens \
             without the code.\n"
        ),
    }
}

/// What a sign-up for an address that already has an account sends instead of a code: the
/// page answers the same either way, so only the owner of the address learns it has one.
pub fn account_exists(to: &str) -> OutgoingMail {
    OutgoingMail {
        to: to.to_owned(),
        subject: "You already have an account".to_owned(),
        text: "Someone tried to create an account with this email address, but it already has \
               one. If that was you, sign in instead.\n\n\
               If it was not you, ignore this message: no account was created or changed.\n"
            .to_owned(),
    }
}
