//! The outbox worker (docs/delivery.md): claims due messages, sends them over their
//! channel, and records the outcome — sent, retry with backoff, or dead. Several
//! workers (one per node) share one queue.
//!
//! The [`Worker`] knows the domain only through its port
//! ([`countersign_core::delivery::Port`]: claim and mark outbox rows, resolve a message
//! into its channel, target and credentials). Each channel has one [`Sender`]:
//! push to a device over its `webhook` ([`webhook`]), FCM ([`fcm`]), APNs ([`apns`]) or
//! Web Push ([`webpush`], which also holds the encryption; [`jwt`] makes the VAPID and
//! APNs tokens; devices on `poll` fetch and get no message); SMS through Twilio
//! ([`twilio`]) or an HTTP gateway ([`sms`]); voice calls through Twilio ([`voice`]);
//! e-mail over SMTP ([`email`]); signed session-result callbacks to relying parties
//! ([`callback`]); and, for development, SMS, e-mail and calls appended to a local file
//! ([`file`]). Every HTTP request goes through
//! one client, which honours the configured proxy and extra CA certificates
//! ([`Options`]).

pub mod apns;
pub mod callback;
pub mod email;
mod error;
pub mod fcm;
pub mod file;
pub mod jwt;
pub mod sms;
pub mod twilio;
pub mod voice;
pub mod webhook;
pub mod webpush;
mod worker;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use countersign_core::Clock;
use countersign_core::delivery::outbox::OutboxMessage;
use countersign_core::delivery::{Channel, Resolved};

pub use error::{BoxError, SendError, StartError, classify};
pub use worker::Worker;

/// One way out: sends messages resolved for its [`Channel`].
#[async_trait]
pub trait Sender: Send + Sync {
    /// The channel it sends over.
    fn channel(&self) -> Channel;
    /// Send `m`, resolved to `to` (which is for this sender's channel).
    async fn send(&self, m: &OutboxMessage, to: &Resolved) -> Result<(), SendError>;
}

/// The senders a worker uses, one per channel.
#[derive(Clone, Default)]
pub struct Senders(BTreeMap<Channel, Arc<dyn Sender>>);

impl Senders {
    /// Every provider countersign has, over `http`, reading the time from `clock`.
    pub fn standard(http: &Http, clock: &Arc<dyn Clock>) -> Senders {
        Senders::default()
            .with(webhook::WebhookSender::new(http))
            .with(fcm::FcmSender::new(http, clock))
            .with(apns::ApnsSender::new(http, clock))
            .with(webpush::WebPushSender::new(http, clock))
            .with(callback::CallbackSender::new(http, clock))
            .with(twilio::TwilioSender::new(http))
            .with(voice::TwilioCallSender::new(http))
            .with(sms::GatewaySender::new(http))
            .with(email::SmtpSender::new(http))
            .with(file::FileSmsSender::new(clock))
            .with(file::FileEmailSender::new(clock))
            .with(file::FileVoiceSender::new(clock))
    }

    /// The same set with `sender` for its channel (replacing any other).
    pub fn with(mut self, sender: impl Sender + 'static) -> Senders {
        self.0.insert(sender.channel(), Arc::new(sender));
        self
    }

    /// The sender of `channel`.
    pub fn get(&self, channel: Channel) -> Option<&Arc<dyn Sender>> {
        self.0.get(&channel)
    }
}

/// An outgoing HTTP proxy (docs/delivery.md, "Outgoing HTTP proxy").
#[derive(Clone, Default)]
pub struct Proxy {
    /// `http://host:port` (or `https://`).
    pub url: String,
    /// User name; with it, credentials are sent preemptively.
    pub username: Option<String>,
    /// Password.
    pub password: Option<String>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy").field("url", &self.url).field("username", &self.username).finish_non_exhaustive()
    }
}

/// How the worker reaches the outside.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Send every provider and callback HTTP request through this proxy.
    pub proxy: Option<Proxy>,
    /// Extra CA certificates (PEM) trusted for outgoing TLS, on top of the system's.
    pub extra_roots_pem: Option<Vec<u8>>,
}

/// The way out shared by every sender: one HTTP client (proxy, extra roots, timeouts)
/// and the extra roots for the SMTP client, which does its own TLS.
#[derive(Clone)]
pub struct Http {
    /// The client; each call may take up to 10 seconds.
    pub client: reqwest::Client,
    /// Extra CA certificates (PEM) trusted for outgoing TLS.
    pub extra_roots_pem: Option<Arc<Vec<u8>>>,
}

impl Http {
    /// The client `options` describe.
    pub fn new(options: Options) -> Result<Http, StartError> {
        let mut b = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        if let Some(p) = &options.proxy {
            let mut proxy = reqwest::Proxy::all(&p.url).map_err(StartError::ProxyUrl)?;
            if let Some(user) = &p.username {
                proxy = proxy.basic_auth(user, p.password.as_deref().unwrap_or(""));
            }
            b = b.proxy(proxy);
        }
        if let Some(pem) = &options.extra_roots_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(StartError::ExtraRoots)?;
            b = b.tls_certs_merge(certs);
        }
        let client = b.build().map_err(StartError::Client)?;
        Ok(Http { client, extra_roots_pem: options.extra_roots_pem.map(Arc::new) })
    }
}
