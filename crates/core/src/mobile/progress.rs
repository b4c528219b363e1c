//! How far an activation has come, for a page that follows it (docs/web.md, "Live
//! status"): read on request and after each step, never on a timer.

use std::time::Duration;

use crate::clock::Timestamp;
use crate::device::{ActivationState, DeviceState};
use crate::error::{CoreError, Entity};
use crate::service::Core;
use crate::session::activation_key;

/// Where an activation stands, as its user sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivationProgress {
    /// Waiting for the app to scan the code.
    Waiting,
    /// The app proved the code; its keys are next.
    CodeVerified,
    /// The app registered its keys and confirms next.
    Confirming,
    /// The device is active: done.
    Activated,
    /// The activation ran out before the app finished.
    Expired,
    /// Too many wrong codes.
    Burned,
    /// The device it made was removed or disconnected before or after activating.
    Removed,
}

impl ActivationProgress {
    /// Whether nothing more will happen.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Waiting | Self::CodeVerified | Self::Confirming)
    }

    /// What a page tells its user (English).
    pub fn text(self) -> &'static str {
        match self {
            Self::Waiting => "Waiting for the app to scan the code…",
            Self::CodeVerified => "Code accepted: finish in the app (choose your PIN).",
            Self::Confirming => "Almost done: the app is confirming.",
            Self::Activated => "Activated: your authenticator is ready.",
            Self::Expired => "This activation has expired: start a new one.",
            Self::Burned => "Too many wrong codes: start a new activation.",
            Self::Removed => "The authenticator from this activation was removed.",
        }
    }
}

impl Core {
    /// The user an activation of `tenant` is for (another tenant's is not found).
    pub async fn activation_owner(&self, tenant: &crate::tenant::Tenant, id: &str) -> Result<String, CoreError> {
        let a = self.store.activation(id).await?.filter(|a| a.tenant_id == tenant.id);
        Ok(a.ok_or(CoreError::NotFound(Entity::Activation))?.user_pk)
    }

    /// Where the activation `id` of user `user_pk` stands (a user sees only their own),
    /// and when it expires.
    pub async fn activation_progress(
        &self,
        user_pk: &str,
        id: &str,
    ) -> Result<(ActivationProgress, Timestamp), CoreError> {
        let a = self.store.activation(id).await?.filter(|a| a.user_pk == user_pk);
        let a = a.ok_or(CoreError::NotFound(Entity::Activation))?;
        let expired = self.clock.now() >= a.expires_at;
        let progress = match a.state {
            ActivationState::Burned => ActivationProgress::Burned,
            ActivationState::Pending if expired => ActivationProgress::Expired,
            ActivationState::Pending => ActivationProgress::Waiting,
            ActivationState::CodeVerified if expired => ActivationProgress::Expired,
            ActivationState::CodeVerified => ActivationProgress::CodeVerified,
            ActivationState::Completed => {
                let devices = self.store.user_devices(user_pk).await?;
                match devices.iter().find(|d| d.activation_id.as_deref() == Some(id)).map(|d| d.state) {
                    Some(DeviceState::Active) => ActivationProgress::Activated,
                    Some(DeviceState::Pending) if !expired => ActivationProgress::Confirming,
                    Some(DeviceState::Pending) => ActivationProgress::Expired,
                    _ => ActivationProgress::Removed,
                }
            }
        };
        Ok((progress, a.expires_at))
    }

    /// Wait until the activation's progress differs from `seen` or `until` passes; the
    /// progress then. Woken by each step on this node and, across nodes, by the safety
    /// re-check ([`crate::session::SAFETY_RECHECK`]).
    pub async fn next_activation_progress(
        &self,
        user_pk: &str,
        id: &str,
        seen: Option<ActivationProgress>,
        until: Timestamp,
    ) -> Result<ActivationProgress, CoreError> {
        loop {
            let sub = self.waiters.subscribe(&activation_key(id));
            let notified = sub.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (now, _) = self.activation_progress(user_pk, id).await?;
            let remaining = until.millis() - self.clock.now().millis();
            if Some(now) != seen || now.is_final() || remaining <= 0 {
                return Ok(now);
            }
            let nap = Duration::from_millis(u64::try_from(remaining).unwrap_or(1).max(1));
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }
}
