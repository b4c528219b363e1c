//! E-mail over SMTP (docs/delivery.md, "Messaging provider document"): STARTTLS,
//! implicit TLS, or plain to a loopback server; optional login; a plain-text and an
//! HTML part; the outbox message ID as the `Message-ID`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use countersign_core::delivery::outbox::OutboxMessage;
use countersign_core::delivery::providers::{EmailConfig, EmailPayload, SmtpSecurity};
use countersign_core::delivery::{Channel, Resolved};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::{Http, SendError, Sender};

/// Why a message or its transport cannot be made (nothing a retry would change).
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// `from` is not a mailbox.
    #[error("the configured sender is not an e-mail address")]
    Sender,
    /// The recipient is not a mailbox.
    #[error("the recipient is not an e-mail address")]
    Recipient,
    /// The message builder refused.
    #[error("the message cannot be built: {0}")]
    Build(#[source] lettre::error::Error),
    /// The extra CA certificates do not parse.
    #[error("the extra CA certificates are not valid")]
    ExtraRoots(#[source] lettre::transport::smtp::Error),
    /// The TLS client cannot be set up.
    #[error("TLS setup failed: {0}")]
    Tls(#[source] lettre::transport::smtp::Error),
}

/// Build the message for a payload.
pub fn message(cfg: &EmailConfig, p: &EmailPayload, id: &str) -> Result<Message, MessageError> {
    let from: Mailbox = cfg.from.parse().map_err(|_| MessageError::Sender)?;
    let to: Mailbox = p.to.parse().map_err(|_| MessageError::Recipient)?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(p.subject.clone())
        .message_id(Some(format!("<{id}@countersign>")))
        .multipart(MultiPart::alternative_plain_html(p.text.clone(), p.html.clone()))
        .map_err(MessageError::Build)
}

fn transport(
    extra_roots_pem: Option<&[u8]>,
    cfg: &EmailConfig,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, MessageError> {
    let tls = || -> Result<TlsParameters, MessageError> {
        let mut b = TlsParameters::builder(cfg.host.clone());
        if let Some(pem) = extra_roots_pem {
            let cert = Certificate::from_pem(pem).map_err(MessageError::ExtraRoots)?;
            b = b.add_root_certificate(cert);
        }
        b.build_rustls().map_err(MessageError::Tls)
    };
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.host.as_str()).port(cfg.port());
    b = match cfg.security {
        SmtpSecurity::Starttls => b.tls(Tls::Required(tls()?)),
        SmtpSecurity::Tls => b.tls(Tls::Wrapper(tls()?)),
        SmtpSecurity::Plain => b.tls(Tls::None),
    };
    if let (Some(user), Some(pass)) = (&cfg.username, &cfg.password) {
        b = b.credentials(Credentials::new(user.clone(), pass.clone()));
    }
    Ok(b.timeout(Some(Duration::from_secs(10))).build())
}

/// Sends e-mail over SMTP (lettre's client, which does its own TLS with the extra roots).
pub struct SmtpSender {
    extra_roots_pem: Option<Arc<Vec<u8>>>,
}

impl SmtpSender {
    /// A sender trusting `http`'s extra CA certificates.
    pub fn new(http: &Http) -> SmtpSender {
        SmtpSender { extra_roots_pem: http.extra_roots_pem.clone() }
    }
}

#[async_trait]
impl Sender for SmtpSender {
    fn channel(&self) -> Channel {
        Channel::Smtp
    }

    async fn send(&self, m: &OutboxMessage, to: &Resolved) -> Result<(), SendError> {
        let Resolved::Smtp { config: cfg, payload } = to else {
            return Err(SendError::wrong_channel(self.channel()));
        };
        let permanent = |e: MessageError| SendError::permanent(e.to_string()).caused_by(e);
        let email = message(cfg, payload, &m.id).map_err(permanent)?;
        let smtp = transport(self.extra_roots_pem.as_deref().map(Vec::as_slice), cfg).map_err(permanent)?;
        match smtp.send(email).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => {
                Err(SendError::permanent(format!("the SMTP server refused the message: {e}")).caused_by(e))
            }
            Err(e) => Err(SendError::transient(format!("SMTP: {e}")).caused_by(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn messages_have_both_parts_and_the_id() {
        let cfg = EmailConfig {
            host: "127.0.0.1".into(),
            port: Some(2525),
            security: SmtpSecurity::Plain,
            username: None,
            password: None,
            from: "Bank <no-reply@bank.example>".into(),
            templates: Default::default(),
            file: None,
        };
        let p = EmailPayload {
            to: "alice@example.com".into(),
            subject: "Code".into(),
            text: "plain 123".into(),
            html: "<b>123</b>".into(),
        };
        let raw = String::from_utf8(message(&cfg, &p, "m-1").unwrap().formatted()).unwrap();
        assert!(raw.contains("Message-ID: <m-1@countersign>"), "{raw}");
        assert!(raw.contains("text/plain") && raw.contains("text/html"), "{raw}");
        assert!(raw.contains("From: Bank <no-reply@bank.example>"), "{raw}");
    }
}
