//! Mail over SMTP (lettre, rustls): the transport core sends sign-up codes through, and the
//! `smtp_*` settings it is built from. The password is never logged: `Secret` hides it from
//! `Debug`, and errors name settings, never values.

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use orbit_core::mail::{MailTransport, OutgoingMail};
use std::sync::Arc;
use std::time::Duration;

/// `smtp_*`: where mail goes. No host: no mail (instances that verify email cannot run).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SmtpConfig {
    pub host: Option<String>,
    /// Default: 25 with `none`, 587 with `starttls`, 465 with `tls`.
    pub port: Option<u16>,
    pub tls: SmtpTls,
    /// The sender, `Orbit <no-reply@example.com>` or a bare address.
    pub from: Option<String>,
    pub username: Option<String>,
    pub password: Option<Secret>,
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text: only for a relay on the same machine or network.
    None,
    /// Plain, upgraded with STARTTLS, which must succeed.
    #[default]
    StartTls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

impl SmtpConfig {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            SmtpTls::None => 25,
            SmtpTls::StartTls => 587,
            SmtpTls::Tls => 465,
        })
    }
}

/// A value that is never printed: `Debug` shows `[redacted]`.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Checks the `smtp_*` settings; on error, the key at fault and why.
pub fn check(smtp: &SmtpConfig) -> Result<(), (&'static str, String)> {
    let Some(host) = &smtp.host else {
        for (key, set) in [
            ("smtp_from", smtp.from.is_some()),
            ("smtp_port", smtp.port.is_some()),
            ("smtp_username", smtp.username.is_some()),
            ("smtp_password", smtp.password.is_some()),
        ] {
            if set {
                return Err((key, "needs smtp_host (the SMTP server) too".into()));
            }
        }
        return Ok(());
    };
    if host.trim().is_empty() || host.contains(['/', ' ', ':']) {
        return Err(("smtp_host", format!("{host:?} is not a host name")));
    }
    let Some(from) = &smtp.from else {
        return Err((
            "smtp_from",
            "the sender address is required with smtp_host, e.g. Orbit <no-reply@example.com>"
                .into(),
        ));
    };
    from.parse::<Mailbox>()
        .map_err(|e| ("smtp_from", format!("{from:?}: {e}")))?;
    if smtp.username.is_some() != smtp.password.is_some() {
        return Err((
            "smtp_username/smtp_password",
            "give both the user name and the password, or neither".into(),
        ));
    }
    transport(smtp).map_err(|e| ("smtp_host", e))?;
    Ok(())
}

/// The transport the settings describe; `None` without `smtp_host`.
pub fn transport(smtp: &SmtpConfig) -> Result<Option<Arc<dyn MailTransport>>, String> {
    let (Some(host), Some(from)) = (&smtp.host, &smtp.from) else {
        return Ok(None);
    };
    let from: Mailbox = from.parse().map_err(|e| format!("smtp_from: {e}"))?;
    let builder = match smtp.tls {
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
            .map_err(|e| format!("STARTTLS to {host}: {e}"))?,
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
            .map_err(|e| format!("TLS to {host}: {e}"))?,
    };
    let mut builder = builder
        .port(smtp.port())
        .timeout(Some(Duration::from_secs(10)));
    if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.0.clone()));
    }
    Ok(Some(Arc::new(Smtp {
        transport: builder.build(),
        from,
    })))
}

/// An SMTP relay and the sender address.
struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp").field("from", &self.from).finish()
    }
}

#[async_trait]
impl MailTransport for Smtp {
    async fn send(&self, mail: OutgoingMail) -> Result<(), String> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| format!("recipient address: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(mail.text)
            .map_err(|e| format!("building the message: {e}"))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("SMTP: {e}"))
    }
}
