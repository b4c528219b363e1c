//! Static passwords (docs/risk.md, "Static password"): Argon2id hashes, grace periods,
//! per-tenant modes, lockout after consecutive failures, and checks that cost the same
//! whether or not the user or the password exists.
//!
//! Argon2id is deliberately slow (tens of milliseconds of CPU and ~19 MiB per check), so
//! it never runs on the async workers: the [`Hasher`] runs each hash and check on
//! tokio's blocking threads, at most N at once (N = `password_hash_threads`, default
//! the number of cores; docs/foundation.md, "Password hashing"). A burst of password
//! checks then queues for the pool instead of stalling push approvals and health probes.

mod manage;

pub(crate) use manage::check_length;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::Timestamp;
use crate::error::CoreError;

/// A user's static password as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticPassword {
    /// The user.
    pub user_pk: String,
    /// Argon2id PHC string.
    pub hash: String,
    /// Usable alone until then (exclusive mode).
    pub grace_until: Option<Timestamp>,
    /// Wrong passwords in a row.
    pub failures: u32,
    /// Locked until then.
    pub locked_until: Option<Timestamp>,
    /// Last change.
    pub updated_at: Timestamp,
}

/// Argon2id cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HashCost {
    /// Memory, KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for HashCost {
    /// OWASP's recommendation for Argon2id: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        HashCost { memory_kib: 19_456, iterations: 2, parallelism: 1 }
    }
}

impl HashCost {
    /// The cost a PHC string (`$argon2id$v=19$m=…,t=…,p=…$…`) was hashed with.
    pub fn of_phc(hash: &str) -> Option<HashCost> {
        let h = PasswordHash::new(hash).ok()?;
        let p = Params::try_from(&h).ok()?;
        Some(HashCost { memory_kib: p.m_cost(), iterations: p.t_cost(), parallelism: p.p_cost() })
    }

    fn hasher(&self) -> Result<Argon2<'static>, CoreError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| CoreError::Internal(format!("Argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Hash `password` with a random salt. Blocks for the whole Argon2 computation:
    /// async code calls [`Hasher::hash`].
    pub fn hash(&self, random: &dyn crate::random::Random, password: &str) -> Result<String, CoreError> {
        let mut salt = [0u8; 16];
        random.fill(&mut salt)?;
        self.hash_with_salt(&salt, password)
    }

    fn hash_with_salt(&self, salt: &[u8; 16], password: &str) -> Result<String, CoreError> {
        let salt = SaltString::encode_b64(salt).map_err(|_| CoreError::Internal("salt".into()))?;
        Ok(self
            .hasher()?
            .hash_password(password.as_bytes(), &salt)
            .map_err(|_| CoreError::Internal("password hashing failed".into()))?
            .to_string())
    }
}

/// Whether `password` matches the PHC string `hash` (any Argon2 parameters). Blocks for
/// the whole Argon2 computation: async code calls [`Hasher::verify`].
pub fn verify(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// The default size of the hashing pool: the number of cores (at least 1).
pub fn default_hash_threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Argon2id on a bounded blocking pool: at most `threads` hashes or checks at once, each
/// on one of tokio's blocking threads; the rest wait their turn without holding an
/// async worker.
#[derive(Debug)]
pub struct Hasher {
    cost: HashCost,
    threads: usize,
    permits: Arc<tokio::sync::Semaphore>,
    /// A hash of nothing anyone knows, at `cost`, made on first use.
    dummy: Arc<OnceLock<String>>,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Default for Hasher {
    fn default() -> Self {
        Hasher::new(HashCost::default(), default_hash_threads())
    }
}

impl Hasher {
    /// A pool hashing new passwords at `cost`, running at most `threads` (at least 1)
    /// Argon2 computations at once.
    pub fn new(cost: HashCost, threads: usize) -> Hasher {
        let threads = threads.max(1);
        Hasher {
            cost,
            threads,
            permits: Arc::new(tokio::sync::Semaphore::new(threads)),
            dummy: Arc::default(),
            running: Arc::default(),
            peak: Arc::default(),
        }
    }

    /// The cost of new hashes.
    pub fn cost(&self) -> HashCost {
        self.cost
    }

    /// How many computations may run at once.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The most computations seen running at once since this pool was made.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// Run `work` on a blocking thread once a permit is free. The permit travels with
    /// the work: a caller that gives up waiting does not free it before the work ends.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, CoreError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| CoreError::Internal("the password hashing pool is closed".into()))?;
        let (running, peak) = (self.running.clone(), self.peak.clone());
        tokio::task::spawn_blocking(move || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let out = work();
            running.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
            out
        })
        .await
        .map_err(|e| CoreError::Internal(format!("password hashing stopped: {e}")))
    }

    /// Hash `password` with a random salt at this pool's cost.
    pub async fn hash(&self, random: &dyn crate::random::Random, password: &str) -> Result<String, CoreError> {
        let mut salt = [0u8; 16];
        random.fill(&mut salt)?;
        let (cost, password) = (self.cost, password.to_owned());
        self.run(move || cost.hash_with_salt(&salt, &password)).await?
    }

    /// Whether `password` matches the PHC string `hash`.
    pub async fn verify(&self, hash: &str, password: &str) -> bool {
        let (hash, password) = (hash.to_owned(), password.to_owned());
        self.run(move || verify(&hash, &password)).await.unwrap_or(false)
    }

    /// Do the work of a check without a stored hash (unknown user, locked password), so
    /// that it costs what a real check costs.
    pub async fn burn(&self, password: &str) {
        let (cost, dummy, password) = (self.cost, self.dummy.clone(), password.to_owned());
        let _ = self
            .run(move || {
                let hash = dummy.get_or_init(|| {
                    cost.hash_with_salt(&[0x5a; 16], "countersign-dummy-password-never-set").unwrap_or_default()
                });
                verify(hash, &password)
            })
            .await;
    }
}

/// `PUT /admin/v1/tenants/{domain}/users/{userID}/static-password`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetPasswordInput {
    /// The password (8–256 characters).
    pub password: String,
    /// Grace period in days from now.
    #[serde(default)]
    pub grace_days: Option<u32>,
    /// Grace period until this time (RFC 3339).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub grace_until: Option<String>,
}

/// What the admin API shows of a password (never the password or its hash).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordState {
    /// Until when it may be used alone.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub grace_until: Option<Timestamp>,
    /// Wrong passwords in a row.
    pub failures: u32,
    /// Locked until then.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub locked_until: Option<Timestamp>,
    /// The Argon2id cost the stored hash was made with (`password_memory_kib`,
    /// `password_iterations`, `password_parallelism` when it was set).
    pub hash_cost: Option<HashCost>,
}

impl From<&StaticPassword> for PasswordState {
    fn from(p: &StaticPassword) -> Self {
        PasswordState {
            grace_until: p.grace_until,
            failures: p.failures,
            locked_until: p.locked_until,
            hash_cost: HashCost::of_phc(&p.hash),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn the_cost_is_read_back_from_the_phc_string() {
        let r = crate::random::OsRandom;
        let cost = HashCost { memory_kib: 1024, iterations: 3, parallelism: 2 };
        let h = cost.hash(&r, "pw").unwrap();
        assert_eq!(HashCost::of_phc(&h), Some(cost));
        assert_eq!(HashCost::of_phc("not a hash"), None);
    }

    #[test]
    fn argon2id_phc_strings_verify_whatever_their_cost() {
        let r = crate::random::OsRandom;
        let cheap = HashCost { memory_kib: 1024, iterations: 1, parallelism: 1 };
        let h = cheap.hash(&r, "correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{h}");
        assert!(verify(&h, "correct horse"));
        assert!(!verify(&h, "correct horsf"));
        assert!(!verify("not a hash", "x"));
        assert_ne!(h, cheap.hash(&r, "correct horse").unwrap(), "salted");
    }

    const CHEAP: HashCost = HashCost { memory_kib: 1024, iterations: 1, parallelism: 1 };

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn at_most_n_hashes_run_at_once() {
        let hasher = Arc::new(Hasher::new(HashCost { memory_kib: 4096, iterations: 2, parallelism: 1 }, 2));
        let hash = hasher.hash(&crate::random::OsRandom, "correct horse").await.unwrap();
        let mut set = tokio::task::JoinSet::new();
        for i in 0..12 {
            let (h, hash) = (hasher.clone(), hash.clone());
            set.spawn(async move {
                if i % 3 == 0 {
                    h.burn("wrong").await;
                    true
                } else {
                    h.verify(&hash, if i % 2 == 0 { "correct horse" } else { "wrong" }).await == (i % 2 == 0)
                }
            });
        }
        while let Some(ok) = set.join_next().await {
            assert!(ok.unwrap());
        }
        assert!((1..=2).contains(&hasher.peak()), "peak {}", hasher.peak());
        assert_eq!(Hasher::new(CHEAP, 0).threads(), 1, "at least one thread");
    }

    /// With every hashing thread busy, the async worker still serves other tasks: the
    /// hashes are not on it.
    #[tokio::test(flavor = "current_thread")]
    async fn a_busy_pool_leaves_the_async_worker_free() {
        let hasher = Arc::new(Hasher::new(HashCost { memory_kib: 16_384, iterations: 4, parallelism: 1 }, 1));
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let h = hasher.clone();
            set.spawn(async move { h.burn("wrong").await });
        }
        // Were the hashes on this thread, the tasks would run them all before the timer
        // could fire.
        let started = std::time::Instant::now();
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let late = started.elapsed();
        while set.join_next().await.is_some() {}
        let all = started.elapsed();
        assert!(late < std::time::Duration::from_millis(500) && late < all / 2, "stalled {late:?} of {all:?}");
        assert_eq!(hasher.peak(), 1);
    }
}
