//! Setting, clearing and checking a user's static password (docs/risk.md, "Static
//! password").

use super::{PasswordState, SetPasswordInput, StaticPassword};
use crate::attempts::Guess;
use crate::clock::Timestamp;
use crate::error::{CoreError, Entity, Refusal};
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::store::Counter;
use crate::user::User;

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
        check_length("password", &input.password)?;
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
            hash: self.hasher.hash(&*self.random, &input.password).await?,
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
    pub(crate) async fn burn_password_check(&self, password: &str) {
        self.hasher.burn(password).await;
    }

    /// Check a user's static password: `Ok(())` right; refusals for wrong, locked, absent,
    /// or (with `alone`) past its grace period. An attempt is reserved before the Argon2
    /// check (`crate::attempts`): a guess that finds none left costs the same work but is
    /// not checked; the wrong guess holding the last attempt locks the password.
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
            self.burn_password_check(password).await;
            return Err(wrong_password(None));
        };
        let minutes = tenant.settings.password_lock_minutes;
        let lock_until = if minutes == 0 { Timestamp(i64::MAX) } else { now.plus_millis(i64::from(minutes) * 60_000) };
        let counter = Counter::Password { user_pk: &user.id, max: tenant.settings.max_password_failures, lock_until };
        match self.guess(counter, async { Ok(self.hasher.verify(&p.hash, password).await) }).await? {
            Guess::Right => {}
            Guess::Wrong { left } => return Err(wrong_password(left)),
            Guess::Exhausted { closed } => {
                if closed {
                    let event = crate::audit::AuditEvent::new(crate::audit::AuditKind::Locked)
                        .tenant_id(&tenant.id)
                        .tenant(tenant.domain.as_str())
                        .user(user.user_id.as_str())
                        .details(
                            serde_json::json!({ "credential": "static_password", "until": lock_until.to_rfc3339() }),
                        );
                    self.locked_out(crate::metrics::Lockout::StaticPassword, event).await;
                }
                return Err(locked("too many wrong passwords: the static password is locked"));
            }
            Guess::Refused => {
                self.burn_password_check(password).await;
                return Err(locked("the static password is locked after too many wrong tries"));
            }
        }
        if alone && p.grace_until.is_none_or(|g| g <= now) {
            return Err(CoreError::refused(
                Refusal::Forbidden,
                RefusalCode::StaticPasswordExpired,
                "the static password's grace period is over: use another method",
            ));
        }
        Ok(())
    }

    /// Whether the user's static password is locked now (not merely at its limit while
    /// the guess holding its last attempt is being checked).
    pub(crate) async fn static_password_locked(&self, user: &User) -> Result<bool, CoreError> {
        let now = self.clock.now();
        Ok(self.store.static_password(&user.id).await?.is_some_and(|p| p.locked_until.is_some_and(|t| t > now)))
    }
}

/// A static password is 8 to 256 characters.
pub(crate) fn check_length(field: &str, password: &str) -> Result<(), CoreError> {
    if !(8..=256).contains(&password.chars().count()) {
        return Err(CoreError::invalid(field, "a static password is 8 to 256 characters"));
    }
    Ok(())
}

fn locked(message: &str) -> CoreError {
    CoreError::refused(Refusal::Forbidden, RefusalCode::StaticPasswordLocked, message)
}

fn wrong_password(left: Option<u32>) -> CoreError {
    CoreError::Refused {
        kind: Refusal::Unprocessable,
        code: RefusalCode::InvalidPassword,
        message: "the static password is wrong".into(),
        attempts_left: left,
    }
}
