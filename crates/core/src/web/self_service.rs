//! What a signed-in user does on the self-service pages (docs/web.md): their devices,
//! and activating a new one. Each is the same core operation the APIs use, limited to
//! the user's own things and recorded with the user as the actor.

use super::SignedIn;
use crate::audit::{Actor, AuditEvent, AuditKind};
use crate::device::{Device, DeviceState};
use crate::error::{CoreError, Entity};
use crate::mobile::{ActivationData, ActivationProgress};
use crate::service::Core;

impl Core {
    /// The signed-in user's mobile authenticators, oldest first (disconnected ones too:
    /// the page says so).
    pub async fn my_devices(&self, me: &SignedIn) -> Result<Vec<Device>, CoreError> {
        Ok(self.store.user_devices(&me.user.id).await?)
    }

    /// Remove one of the signed-in user's devices.
    pub async fn remove_my_device(&self, me: &SignedIn, device_id: &str) -> Result<(), CoreError> {
        if !self.store.delete_device(&me.user.id, device_id).await? {
            return Err(CoreError::NotFound(Entity::Device));
        }
        self.audit_or_log(
            AuditEvent::new(AuditKind::DeviceRemoved)
                .tenant_id(&me.tenant.id)
                .tenant(me.tenant.domain.as_str())
                .user(me.user.user_id.as_str())
                .by(Actor::SelfService(me.user.user_id.as_str().to_owned()))
                .details(serde_json::json!({ "device": device_id, "page": "self-service" })),
        )
        .await;
        Ok(())
    }

    /// Start activating a new authenticator for the signed-in user.
    pub async fn start_my_activation(&self, me: &SignedIn) -> Result<ActivationData, CoreError> {
        let user = format!("{}@{}", me.user.user_id.as_str(), me.tenant.domain.as_str());
        self.start_activation(&me.tenant, &user).await
    }

    /// One of the signed-in user's activations: the QR payload while its code is unused,
    /// and where it stands.
    pub async fn my_activation(&self, me: &SignedIn, id: &str) -> Result<MyActivation, CoreError> {
        let (progress, expires_at) = self.activation_progress(&me.user.id, id).await?;
        let payload = match progress {
            ActivationProgress::Waiting => Some(self.activation_qr(&me.tenant, id).await?),
            _ => None,
        };
        Ok(MyActivation { payload, progress, expires_at })
    }
}

/// One of a user's activations, as the self-service page shows it.
#[derive(Debug, Clone)]
pub struct MyActivation {
    /// The QR payload, while the code is unused.
    pub payload: Option<String>,
    /// Where it stands.
    pub progress: ActivationProgress,
    /// When its code stops working.
    pub expires_at: crate::clock::Timestamp,
}

/// Whether a device can sign in (the pages list the others greyed).
pub fn usable(d: &Device) -> bool {
    d.state == DeviceState::Active
}
