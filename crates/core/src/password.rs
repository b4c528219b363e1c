//! Static passwords (docs/risk.md, "Static password"): Argon2id hashes, grace periods,
//! per-tenant modes, lockout after consecutive failures, and checks that cost the same
//! whether or not the user or the password exists.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::Timestamp;
use crate::error::{CoreError, Entity, Refusal};
use crate::ops::Core;
use crate::user::User;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    fn hasher(&self) -> Result<Argon2<'static>, CoreError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| CoreError::Internal(format!("Argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Hash `password` with a random salt.
    pub fn hash(&self, random: &dyn crate::random::Random, password: &str) -> Result<String, CoreError> {
        let mut salt = [0u8; 16];
        random.fill(&mut salt)?;
        let salt = SaltString::encode_b64(&salt).map_err(|_| CoreError::Internal("salt".into()))?;
        Ok(self
            .hasher()?
            .hash_password(password.as_bytes(), &salt)
            .map_err(|_| CoreError::Internal("password hashing failed".into()))?
            .to_string())
    }
}

/// Whether `password` matches the PHC string `hash` (any Argon2 parameters).
pub fn verify(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash of nothing anyone knows, checked when there is no real one so that the work
/// (and the time) is the same.
fn dummy_hash(cost: &HashCost, random: &dyn crate::random::Random) -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| cost.hash(random, "countersign-dummy-password-never-set").unwrap_or_default())
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
}

impl From<&StaticPassword> for PasswordState {
    fn from(p: &StaticPassword) -> Self {
        PasswordState { grace_until: p.grace_until, failures: p.failures, locked_until: p.locked_until }
    }
}

impl Core {
    /// Set a user's static password (admin API).
    pub async fn set_static_password(
        &self,
        domain: &str,
        user_id: &str,
        input: SetPasswordInput,
    ) -> Result<PasswordState, CoreError> {
        let tenant = self.tenant(domain).await?;
        let user = self.user_in(&tenant, user_id).await?;
        let n = input.password.chars().count();
        if !(8..=256).contains(&n) {
            return Err(CoreError::invalid("password", "a static password is 8 to 256 characters"));
        }
        let now = self.clock.now();
        let grace_until = match (input.grace_days, input.grace_until.as_deref()) {
            (Some(_), Some(_)) => {
                return Err(CoreError::invalid("graceUntil", "give graceDays or graceUntil, not both"));
            }
            (Some(d), None) if d <= 3650 => Some(now.plus_millis(i64::from(d) * 86_400_000)),
            (Some(_), None) => return Err(CoreError::invalid("graceDays", "at most 3650 days")),
            (None, Some(t)) => {
                Some(Timestamp::parse_rfc3339(t).ok_or_else(|| CoreError::invalid("graceUntil", "an RFC 3339 time"))?)
            }
            (None, None) => None,
        };
        let p = StaticPassword {
            user_pk: user.id.clone(),
            hash: self.password_cost.hash(&*self.random, &input.password)?,
            grace_until,
            failures: 0,
            locked_until: None,
            updated_at: now,
        };
        self.store.set_static_password(&p).await?;
        Ok(PasswordState::from(&p))
    }

    /// Remove a user's static password (admin API).
    pub async fn delete_static_password(&self, domain: &str, user_id: &str) -> Result<(), CoreError> {
        let tenant = self.tenant(domain).await?;
        let user = self.user_in(&tenant, user_id).await?;
        if self.store.delete_static_password(&user.id).await? {
            Ok(())
        } else {
            Err(CoreError::NotFound(Entity::Password))
        }
    }

    /// Clear a locked password's failures (admin API).
    pub async fn unlock_static_password(&self, domain: &str, user_id: &str) -> Result<PasswordState, CoreError> {
        let tenant = self.tenant(domain).await?;
        let user = self.user_in(&tenant, user_id).await?;
        if !self.store.password_reset_failures(&user.id).await? {
            return Err(CoreError::NotFound(Entity::Password));
        }
        let p = self.store.static_password(&user.id).await?.ok_or(CoreError::NotFound(Entity::Password))?;
        Ok(PasswordState::from(&p))
    }

    /// Run the Argon2 work of a password check without a password (unknown users).
    pub(crate) fn burn_password_check(&self, password: &str) {
        let _ = verify(dummy_hash(&self.password_cost, &*self.random), password);
    }

    /// Check a user's static password: `Ok(())` right; refusals for wrong, locked, absent,
    /// or (with `alone`) past its grace period. Counts and locks.
    pub(crate) async fn check_static_password(
        &self,
        tenant: &crate::tenant::Tenant,
        user: &User,
        password: &str,
        alone: bool,
    ) -> Result<(), CoreError> {
        let now = self.clock.now();
        let stored = self.store.static_password(&user.id).await?;
        let Some(p) = stored else {
            self.burn_password_check(password);
            return Err(wrong_password(None));
        };
        if p.locked_until.is_some_and(|t| t > now) {
            self.burn_password_check(password);
            return Err(CoreError::refused(
                Refusal::Forbidden,
                "static_password_locked",
                "the static password is locked after too many wrong tries",
            ));
        }
        if !verify(&p.hash, password) {
            let max = tenant.settings.max_password_failures;
            let minutes = tenant.settings.password_lock_minutes;
            let until = if minutes == 0 { Timestamp(i64::MAX) } else { now.plus_millis(i64::from(minutes) * 60_000) };
            let after = self.store.password_failure(&user.id, max, until).await?;
            return match after {
                Some((_, Some(t))) if t > now => {
                    self.metrics.lockout(crate::metrics::Lockout::StaticPassword);
                    Err(CoreError::refused(
                        Refusal::Forbidden,
                        "static_password_locked",
                        "too many wrong passwords: the static password is locked",
                    ))
                }
                Some((n, _)) => Err(wrong_password(Some(max.saturating_sub(n)))),
                None => Err(wrong_password(None)),
            };
        }
        if p.failures > 0 || p.locked_until.is_some() {
            self.store.password_reset_failures(&user.id).await?;
        }
        if alone && p.grace_until.is_none_or(|g| g <= now) {
            return Err(CoreError::refused(
                Refusal::Forbidden,
                "static_password_expired",
                "the static password's grace period is over: use another method",
            ));
        }
        Ok(())
    }
}

fn wrong_password(left: Option<u32>) -> CoreError {
    CoreError::Refused {
        kind: Refusal::Unprocessable,
        code: "invalid_password",
        message: "the static password is wrong".into(),
        attempts_left: left,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

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
}
