//! The audit log (docs/security.md, "Audit log"): security events appended to one hash
//! chain. This file is data and rules only — what an event is, who acted, how an entry is
//! hashed and how a chain is checked; appending, querying and verifying are `impl Core`
//! in `log.rs`, storing in [`AuditStore`](crate::store::AuditStore).
//!
//! Each entry carries the hash of the one before it, so an entry altered, removed or
//! moved breaks the chain at that entry. Details never hold a secret: every event is
//! built from identifiers, names and outcome codes, never from what a user typed.

mod log;

use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::clock::Timestamp;

/// Largest page of a query.
pub const MAX_PAGE: u32 = 500;
/// Page size when the caller does not say.
pub const DEFAULT_PAGE: u32 = 100;
/// Entries read per round trip while verifying or exporting.
pub const WALK_PAGE: u32 = 1000;

/// The `prev_hash` of the first entry of a chain that was never purged.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened. The wire names (`as_str`) are what `kind` says in the log and in queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditKind {
    /// A login ended accepted.
    LoginSucceeded,
    /// A login ended declined, timed out or failed, or an answer was refused (wrong code,
    /// PIN or password; locked or disabled user; a FIDO response that does not verify).
    LoginFailed,
    /// A limit refused a request (`too_many_login_requests`; `rate_limited`: the first
    /// refusal per bucket and window of `[limits]`).
    RateLimited,
    /// A credential or user was locked out (wrong PINs, codes or passwords; the risk engine).
    Locked,
    /// An administrator unlocked a token or static password.
    Unlocked,
    /// A mobile authenticator finished its activation.
    DeviceActivated,
    /// A FIDO2 credential (passkey) was registered.
    PasskeyRegistered,
    /// A FIDO UAF authenticator was registered.
    UafRegistered,
    /// An OATH token or virtual authenticator was enrolled for a user.
    TokenEnrolled,
    /// A mobile authenticator was removed or replaced.
    DeviceRemoved,
    /// A FIDO credential, UAF registration, token or static password was removed.
    CredentialRemoved,
    /// Any other change made through the admin API or the `admin` subcommand.
    AdminChange,
    /// The master key was rotated.
    KeyRotated,
}

impl AuditKind {
    /// Every kind.
    pub const ALL: [AuditKind; 13] = [
        AuditKind::LoginSucceeded,
        AuditKind::LoginFailed,
        AuditKind::RateLimited,
        AuditKind::Locked,
        AuditKind::Unlocked,
        AuditKind::DeviceActivated,
        AuditKind::PasskeyRegistered,
        AuditKind::UafRegistered,
        AuditKind::TokenEnrolled,
        AuditKind::DeviceRemoved,
        AuditKind::CredentialRemoved,
        AuditKind::AdminChange,
        AuditKind::KeyRotated,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::LoginSucceeded => "login_succeeded",
            AuditKind::LoginFailed => "login_failed",
            AuditKind::RateLimited => "rate_limited",
            AuditKind::Locked => "locked",
            AuditKind::Unlocked => "unlocked",
            AuditKind::DeviceActivated => "device_activated",
            AuditKind::PasskeyRegistered => "passkey_registered",
            AuditKind::UafRegistered => "uaf_registered",
            AuditKind::TokenEnrolled => "token_enrolled",
            AuditKind::DeviceRemoved => "device_removed",
            AuditKind::CredentialRemoved => "credential_removed",
            AuditKind::AdminChange => "admin_change",
            AuditKind::KeyRotated => "key_rotated",
        }
    }

    /// The kind a wire name names.
    pub fn parse(s: &str) -> Option<AuditKind> {
        AuditKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Who acted: the credential a request came with, the device that signed it, or the
/// server itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Actor {
    /// The server on its own (the sweeper's timeouts, housekeeping, start-up).
    #[default]
    System,
    /// The `countersign admin …` command line, on the database directly.
    Cli,
    /// An admin token (its ID).
    AdminToken(String),
    /// A tenant API key (its ID).
    ApiKey(String),
    /// An activated mobile authenticator (its ID).
    Device(String),
    /// Whoever holds an activation's code (the activation's ID).
    Activation(String),
    /// A RADIUS client (NAS) of a tenant (its ID).
    RadiusClient(String),
    /// A Duo-compatible integration (its integration key).
    DuoIntegration(String),
    /// A user signed in to the self-service pages (their userID).
    SelfService(String),
    /// An administrator signed in to the console (their username).
    AdminAccount(String),
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::System => f.write_str("system"),
            Actor::Cli => f.write_str("cli"),
            Actor::AdminToken(id) => write!(f, "admin-token:{id}"),
            Actor::ApiKey(id) => write!(f, "api-key:{id}"),
            Actor::Device(id) => write!(f, "device:{id}"),
            Actor::Activation(id) => write!(f, "activation:{id}"),
            Actor::RadiusClient(id) => write!(f, "radius-client:{id}"),
            Actor::DuoIntegration(ikey) => write!(f, "duo-integration:{ikey}"),
            Actor::SelfService(user) => write!(f, "self-service:{user}"),
            Actor::AdminAccount(name) => write!(f, "admin-account:{name}"),
        }
    }
}

/// An event to record. The tenant and user may be given by ID, by name or both; the
/// store fills in the other from the tenant and user tables when they exist.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// What happened.
    pub kind: AuditKind,
    /// The tenant's ID.
    pub tenant_id: Option<String>,
    /// The tenant's domain.
    pub tenant: Option<String>,
    /// The user's primary key (to find their userID).
    pub user_pk: Option<String>,
    /// The user's userID.
    pub user: Option<String>,
    /// Who acted; `None`: the core's own actor (`Core::acting`).
    pub actor: Option<Actor>,
    /// What else there is to say: identifiers, names, outcome codes — never a secret.
    pub details: serde_json::Value,
}

impl AuditEvent {
    /// An event of `kind` with empty details.
    pub fn new(kind: AuditKind) -> AuditEvent {
        AuditEvent {
            kind,
            tenant_id: None,
            tenant: None,
            user_pk: None,
            user: None,
            actor: None,
            details: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    /// About the tenant with this ID.
    pub fn tenant_id(mut self, id: impl Into<String>) -> Self {
        self.tenant_id = Some(id.into());
        self
    }

    /// About the tenant with this domain.
    pub fn tenant(mut self, domain: impl Into<String>) -> Self {
        self.tenant = Some(domain.into());
        self
    }

    /// About the user with this primary key.
    pub fn user_pk(mut self, pk: impl Into<String>) -> Self {
        self.user_pk = Some(pk.into());
        self
    }

    /// About the user with this userID.
    pub fn user(mut self, user_id: impl Into<String>) -> Self {
        self.user = Some(user_id.into());
        self
    }

    /// Done by `actor` (rather than the core's own).
    pub fn by(mut self, actor: Actor) -> Self {
        self.actor = Some(actor);
        self
    }

    /// With these details (a JSON object).
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// An event ready to append: its time and actor fixed, its details as JSON text. The
/// store numbers it, fills in the missing names, and chains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// When it happened.
    pub at: Timestamp,
    /// The tenant's ID.
    pub tenant_id: Option<String>,
    /// The tenant's domain.
    pub tenant: Option<String>,
    /// The user's primary key (only to look up their userID; not stored).
    pub user_pk: Option<String>,
    /// The user's userID.
    pub user: Option<String>,
    /// [`AuditKind::as_str`].
    pub kind: String,
    /// [`Actor`] as text.
    pub actor: String,
    /// A JSON object.
    pub details: String,
}

/// One entry of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Its place in the chain: 1, 2, 3 … with no gaps.
    pub seq: i64,
    /// When it happened (RFC 3339, milliseconds).
    #[serde(rename = "time")]
    #[schema(value_type = String, example = "2026-12-06T10:00:00.123Z")]
    pub at: Timestamp,
    /// The tenant's ID.
    pub tenant_id: Option<String>,
    /// The tenant's domain.
    pub tenant: Option<String>,
    /// The user's userID.
    pub user: Option<String>,
    /// What happened (see docs/security.md for the kinds).
    pub kind: String,
    /// Who acted: `admin-token:ID`, `api-key:ID`, `device:ID`, `activation:ID`, `cli`, `system`.
    pub actor: String,
    /// What else there is to say (a JSON object; hashed as its compact text, keys in order).
    #[serde(serialize_with = "raw_json")]
    #[schema(value_type = Object)]
    pub details: String,
    /// The hash of the entry before (64 zeros for the first).
    pub prev_hash: String,
    /// SHA-256 over this entry and `prevHash` (hex; docs/security.md, "Chain format").
    pub hash: String,
}

/// Details as the JSON they are (as text if they are not: a tampered row still exports).
fn raw_json<S: Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => v.serialize(s),
        Err(_) => s.serialize_str(text),
    }
}

impl AuditEntry {
    /// The entry's hash as it should be: SHA-256 over `countersign-audit-v1\n` and then,
    /// for each of seq, at (Unix milliseconds), tenantId, tenant, user, kind, actor,
    /// details and prevHash, `-\n` when absent, else `<byte length>:<UTF-8 bytes>\n` (seq
    /// and at in decimal); lower-case hex.
    pub fn computed_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"countersign-audit-v1\n");
        let (seq, at) = (self.seq.to_string(), self.at.millis().to_string());
        let fields: [Option<&str>; 9] = [
            Some(&seq),
            Some(&at),
            self.tenant_id.as_deref(),
            self.tenant.as_deref(),
            self.user.as_deref(),
            Some(&self.kind),
            Some(&self.actor),
            Some(&self.details),
            Some(&self.prev_hash),
        ];
        for f in fields {
            match f {
                None => h.update(b"-\n"),
                Some(text) => {
                    h.update(text.len().to_string().as_bytes());
                    h.update(b":");
                    h.update(text.as_bytes());
                    h.update(b"\n");
                }
            }
        }
        hex::encode(h.finalize())
    }
}

/// The chain's head: its last entry, and where it starts (after entries were purged by
/// retention, the last purged entry's seq and hash; else 0 and [`GENESIS_HASH`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    /// The last entry's seq (0: none yet).
    pub seq: i64,
    /// The last entry's hash.
    pub hash: String,
    /// The seq before the first entry kept.
    pub base_seq: i64,
    /// The hash the first entry kept names as its `prev_hash`.
    pub base_hash: String,
}

/// Which entries a query wants, in seq order; `None` fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only this tenant's (by ID: what an API key may see).
    pub tenant_id: Option<String>,
    /// Only entries about this tenant domain.
    pub tenant: Option<String>,
    /// Only entries about this userID.
    pub user: Option<String>,
    /// Only this kind.
    pub kind: Option<String>,
    /// At or after this time.
    pub since: Option<Timestamp>,
    /// Before this time.
    pub until: Option<Timestamp>,
    /// With seq greater than this.
    pub after: Option<i64>,
    /// At most this many.
    pub limit: u32,
    /// The newest first (descending seq) instead of the oldest (a user's recent
    /// sign-ins); not with `after`.
    pub newest_first: bool,
}

/// What a refused login call was, for its audit entry (no secret: never the code, PIN,
/// password or a `passKey` that is a token code).
#[derive(Debug, Clone, Default)]
pub(crate) struct LoginAttempt {
    /// The call's kind: `start`, `token`, `answer`, `adaptive`.
    pub call: &'static str,
    /// The type a `passKey` named.
    pub auth_type: Option<String>,
    /// The session or ceremony answered.
    pub request_id: Option<String>,
    /// The method, when the call alone says it (`totp`, `fido`).
    pub method: Option<&'static str>,
}

/// Who reads the log: an admin token sees every entry, a tenant API key its tenant's.
#[derive(Debug, Clone, Copy)]
pub enum AuditScope<'a> {
    /// Every entry.
    All,
    /// Only this tenant's.
    Tenant(&'a crate::tenant::Tenant),
}

/// A query as the caller gives it, checked by `Core::audit_query` (each value refused by
/// its name: `tenant`, `user`, `kind`, `since`, `until`, `after`, `limit`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// A tenant domain.
    pub tenant: Option<String>,
    /// A userID.
    pub user: Option<String>,
    /// An [`AuditKind`] wire name.
    pub kind: Option<String>,
    /// RFC 3339: entries at or after.
    pub since: Option<String>,
    /// RFC 3339: entries before.
    pub until: Option<String>,
    /// A seq: entries after it (the `nextAfter` of the previous page).
    pub after: Option<String>,
    /// Entries per page, 1–500.
    pub limit: Option<u32>,
}

/// Where a chain first breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditProblem {
    /// The entry (seq) at fault.
    pub seq: i64,
    /// What is wrong with it.
    pub what: String,
}

impl std::fmt::Display for AuditProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "entry {}: {}", self.seq, self.what)
    }
}

/// A walk over a chain in seq order, entry by entry: each must come next, link to the
/// one before, and hash to its stored hash.
#[derive(Debug, Clone)]
pub struct ChainWalk {
    next_seq: i64,
    prev_hash: String,
    checked: u64,
}

impl ChainWalk {
    /// Start at the chain's base.
    pub fn new(head: &AuditHead) -> ChainWalk {
        ChainWalk { next_seq: head.base_seq + 1, prev_hash: head.base_hash.clone(), checked: 0 }
    }

    /// Check the next entry read.
    pub fn step(&mut self, e: &AuditEntry) -> Result<(), AuditProblem> {
        if e.seq > self.next_seq {
            let what = if e.seq == self.next_seq + 1 {
                "is missing (removed)".to_owned()
            } else {
                format!("to {} are missing (removed)", e.seq - 1)
            };
            return Err(AuditProblem { seq: self.next_seq, what });
        }
        if e.seq < self.next_seq {
            return Err(AuditProblem { seq: e.seq, what: "is out of order".into() });
        }
        if e.prev_hash != self.prev_hash {
            let what = format!(
                "does not follow entry {} (prevHash differs: an entry was removed, inserted or reordered here)",
                e.seq - 1
            );
            return Err(AuditProblem { seq: e.seq, what });
        }
        if e.computed_hash() != e.hash {
            return Err(AuditProblem {
                seq: e.seq,
                what: "has been altered (its hash does not match its contents)".into(),
            });
        }
        self.prev_hash = e.hash.clone();
        self.next_seq += 1;
        self.checked += 1;
        Ok(())
    }

    /// After the last entry: the chain must end where its head says; the entries checked.
    pub fn finish(self, head: &AuditHead) -> Result<u64, AuditProblem> {
        let last = self.next_seq - 1;
        if last < head.seq {
            let what = if head.seq == last + 1 {
                "is missing (removed from the end)".to_owned()
            } else {
                format!("to {} are missing (removed from the end)", head.seq)
            };
            return Err(AuditProblem { seq: last + 1, what });
        }
        if last > head.seq {
            return Err(AuditProblem { seq: head.seq + 1, what: "is past the chain's head (inserted)".into() });
        }
        if self.prev_hash != head.hash {
            return Err(AuditProblem { seq: last, what: "is not the entry the chain's head names (altered)".into() });
        }
        Ok(self.checked)
    }
}

/// The result of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditVerification {
    /// Entries checked.
    pub entries: u64,
    /// The head's seq.
    pub head_seq: i64,
    /// The head's hash (record it elsewhere to anchor the chain).
    pub head_hash: String,
    /// Where the chain breaks, if it does.
    pub problem: Option<AuditProblem>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let mut e = AuditEntry {
                    seq,
                    at: Timestamp(1_000 + seq),
                    tenant_id: Some("t1".into()),
                    tenant: Some("example.com".into()),
                    user: (seq % 2 == 0).then(|| "alice".into()),
                    kind: "login_succeeded".into(),
                    actor: "system".into(),
                    details: format!("{{\"n\":{seq}}}"),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = e.computed_hash();
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn head(c: &[AuditEntry]) -> AuditHead {
        let last = c.last().unwrap();
        AuditHead { seq: last.seq, hash: last.hash.clone(), base_seq: 0, base_hash: GENESIS_HASH.into() }
    }

    fn walk(c: &[AuditEntry], h: &AuditHead) -> Result<u64, AuditProblem> {
        let mut w = ChainWalk::new(h);
        for e in c {
            w.step(e)?;
        }
        w.finish(h)
    }

    #[test]
    fn kinds_round_trip() {
        for k in AuditKind::ALL {
            assert_eq!(AuditKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(AuditKind::parse("nope"), None);
        assert_eq!(Actor::ApiKey("k1".into()).to_string(), "api-key:k1");
        assert_eq!(Actor::AdminToken("a1".into()).to_string(), "admin-token:a1");
        assert_eq!(Actor::AdminAccount("root".into()).to_string(), "admin-account:root");
    }

    #[test]
    fn a_whole_chain_verifies_and_each_kind_of_tampering_names_its_entry() {
        let c = chain(6);
        let h = head(&c);
        assert_eq!(walk(&c, &h), Ok(6));
        // Absent and empty are different.
        let mut e = c[0].clone();
        e.user = Some(String::new());
        assert_ne!(e.computed_hash(), c[0].hash);

        let mut altered = c.clone();
        altered[2].details = "{\"n\":99}".into();
        assert_eq!(walk(&altered, &h).unwrap_err().seq, 3);

        let mut removed = c.clone();
        removed.remove(3);
        let p = walk(&removed, &h).unwrap_err();
        assert_eq!((p.seq, p.what.as_str()), (4, "is missing (removed)"));

        let mut swapped = c.clone();
        swapped.swap(1, 2);
        (swapped[1].seq, swapped[2].seq) = (2, 3);
        assert_eq!(walk(&swapped, &h).unwrap_err().seq, 2);

        let p = walk(&c[..5], &h).unwrap_err();
        assert_eq!(p.seq, 6, "{p}");

        let mut rehashed = c.clone();
        rehashed[5].details = "{}".into();
        rehashed[5].hash = rehashed[5].computed_hash();
        assert_eq!(walk(&rehashed, &h).unwrap_err().seq, 6, "the head anchors the last entry");
    }

    #[test]
    fn a_purged_chain_starts_at_its_base() {
        let c = chain(5);
        let mut h = head(&c);
        (h.base_seq, h.base_hash) = (2, c[1].hash.clone());
        assert_eq!(walk(&c[2..], &h), Ok(3));
        assert_eq!(walk(&c[3..], &h).unwrap_err().seq, 3);
    }
}
