//! The service: [`Core`], what it is built from, and its construction. Everything it
//! does is in the feature modules (`admin`, `session`, `mobile`, …) as `impl Core` blocks;
//! this file imports only the types of its fields, so that it sits below all of them.

use std::sync::Arc;

use crate::audit::Actor;
use crate::clock::Clock;
use crate::random;
use crate::random::Random;
use crate::store::Store;

/// The domain's entry point: storage, time, randomness, push delivery, and the
/// operations on them.
#[derive(Clone)]
pub struct Core {
    /// Where state lives.
    pub store: Arc<dyn Store>,
    /// What time it is.
    pub clock: Arc<dyn Clock>,
    /// Where secrets come from.
    pub random: Arc<dyn Random>,
    /// Wakes this node's outbox worker when messages are enqueued.
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// Counters of this node's outbox worker.
    pub outbox_metrics: Arc<crate::delivery::outbox::OutboxMetrics>,
    /// This node's login, risk, lockout and rate-limit counters.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Wakes those waiting for a session to end.
    pub waiters: Arc<crate::session::Waiters>,
    /// What this node keeps of what rarely changes (authentication types).
    pub config_cache: Arc<crate::cache::ConfigCache>,
    /// This server's public base URL (in QR payloads, and the gateway ID when none is set).
    pub public_url: String,
    /// The gateway ID in activation confirmations (docs/gateway.md); `None`: `public_url`.
    pub gateway_id: Option<String>,
    /// Pushes go through the notification relay, not to the providers (docs/gateway.md).
    pub push_relay: bool,
    /// Seals secrets that are stored (master key).
    pub sealer: Arc<crate::seal::Sealer>,
    /// SMS and e-mail providers for tenants that configure none (config file).
    pub default_providers: Arc<crate::delivery::providers::ProvidersInput>,
    /// Whether `votpCustomDelivery` may be used (deployment-wide, off by default).
    pub custom_delivery: bool,
    /// The geolocation database for secure-message context (none by default).
    pub geo: Arc<crate::context::Geo>,
    /// Argon2id for static passwords, on a bounded blocking pool (cost of new hashes,
    /// threads).
    pub hasher: Arc<crate::password::Hasher>,
    /// Who the operations called on this core act for, in the audit log: the server
    /// itself unless a request's credential says otherwise ([`Core::acting`]).
    pub actor: Actor,
    /// How long what only grows is kept (housekeeping).
    pub retention: crate::retention::Retention,
    /// Request budgets per address, API key, activation and device (`[limits]`).
    pub limits: crate::limits::Limits,
}

/// A random master key for a core that is never given one (tests, tools); secrets it
/// seals cannot be opened by another process.
fn ephemeral_key() -> [u8; 32] {
    let mut k = [0u8; 32];
    let _ = random::OsRandom.fill(&mut k);
    k
}

impl Core {
    /// A core over `store` with the system clock, the operating system's randomness,
    /// `http://127.0.0.1:8080` as public URL and an ephemeral master key (the server
    /// sets its configured one with [`Core::with_master_key`]). Outward messages go to the outbox; a
    /// worker (`countersign-delivery`) sends them.
    pub fn new(store: Arc<dyn Store>) -> Core {
        Core {
            store,
            clock: Arc::new(crate::clock::SystemClock),
            random: Arc::new(random::OsRandom),
            outbox_wake: Arc::default(),
            outbox_metrics: Arc::default(),
            metrics: Arc::default(),
            waiters: Arc::default(),
            config_cache: Arc::default(),
            public_url: "http://127.0.0.1:8080".to_owned(),
            gateway_id: None,
            push_relay: false,
            sealer: Arc::new(crate::seal::Sealer::new(&ephemeral_key())),
            default_providers: Arc::default(),
            custom_delivery: false,
            geo: Arc::default(),
            hasher: Arc::default(),
            actor: Actor::System,
            retention: crate::retention::Retention::default(),
            limits: crate::limits::Limits::default(),
        }
    }

    /// The same core acting for `actor` (the credential or device of one request), for
    /// the audit log.
    pub fn acting(&self, actor: Actor) -> Core {
        let mut core = self.clone();
        core.actor = actor;
        core
    }

    /// The same core with these default SMS and e-mail providers.
    pub fn with_default_providers(mut self, providers: crate::delivery::providers::ProvidersInput) -> Core {
        self.default_providers = Arc::new(providers);
        self
    }

    /// The same core sealing stored secrets with `master_key` (key 1 of a keyring).
    pub fn with_master_key(mut self, master_key: &[u8; 32]) -> Core {
        self.sealer = Arc::new(crate::seal::Sealer::new(master_key));
        self
    }

    /// The same core sealing stored secrets with `keyring`'s current key, opening them
    /// with any of its keys.
    pub fn with_keyring(mut self, keyring: &crate::seal::Keyring) -> Core {
        self.sealer = Arc::new(crate::seal::Sealer::from_keyring(keyring));
        self
    }

    /// The same core announcing `url` as its public base URL.
    pub fn with_public_url(mut self, url: impl Into<String>) -> Core {
        self.public_url = url.into().trim_end_matches('/').to_owned();
        self
    }

    /// The gateway ID apps learn at activation: the configured one, else `public_url`.
    pub fn gateway_id(&self) -> String {
        self.gateway_id.clone().unwrap_or_else(|| self.public_url.clone())
    }
}
