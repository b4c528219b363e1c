//! E-mail over SMTP (docs/delivery.md, "Messaging provider document"): STARTTLS,
//! implicit TLS, or plain to a loopback server; optional login; a plain-text and an
//! HTML part; the outbox message ID as the `Message-ID`.

use std::time::Duration;

use countersign_core::outbox::OutboxMessage;
use countersign_core::providers::{EmailConfig, EmailPayload, SmtpSecurity};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::{Failure, Worker, core_failure};

/// Build the message for a payload.
pub fn message(cfg: &EmailConfig, p: &EmailPayload, id: &str) -> Result<Message, String> {
    let from: Mailbox = cfg.from.parse().map_err(|_| "the configured sender is not an e-mail address".to_owned())?;
    let to: Mailbox = p.to.parse().map_err(|_| "the recipient is not an e-mail address".to_owned())?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(p.subject.clone())
        .message_id(Some(format!("<{id}@countersign>")))
        .multipart(MultiPart::alternative_plain_html(p.text.clone(), p.html.clone()))
        .map_err(|e| format!("the message cannot be built: {e}"))
}

fn transport(w: &Worker, cfg: &EmailConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let tls = || -> Result<TlsParameters, String> {
        let mut b = TlsParameters::builder(cfg.host.clone());
        if let Some(pem) = &w.extra_roots_pem {
            let cert = Certificate::from_pem(pem).map_err(|_| "the extra CA certificates are not valid".to_owned())?;
            b = b.add_root_certificate(cert);
        }
        b.build_rustls().map_err(|e| format!("TLS setup failed: {e}"))
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

/// Send one e-mail from the outbox.
pub(crate) async fn send(w: &Worker, m: &OutboxMessage) -> Result<(), Failure> {
    let payload: EmailPayload = serde_json::from_str(&crate::open_payload(w, m)?)
        .map_err(|_| Failure::Permanent("damaged e-mail payload".into()))?;
    let providers = w.core.providers_for(&m.tenant_id).await.map_err(core_failure)?;
    let Some(cfg) = providers.email else {
        return Err(Failure::Permanent("no SMTP server is configured for this tenant".into()));
    };
    if let Some(file) = &cfg.file {
        return crate::file::email(w, file, m, &payload).await;
    }
    let email = message(&cfg, &payload, &m.id).map_err(Failure::Permanent)?;
    let smtp = transport(w, &cfg).map_err(Failure::Permanent)?;
    match smtp.send(email).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_permanent() => Err(Failure::Permanent(format!("the SMTP server refused the message: {e}"))),
        Err(e) => Err(Failure::Transient(format!("SMTP: {e}"))),
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
