//! Activated devices: authenticating their signed requests, confirming them, their push
//! registration, and listing and removing them.

use super::*;
use countersign_proto::messages::{Confirmation, PushRegistration};
use countersign_proto::{crypto, signed};

use crate::audit::{Actor, AuditEvent, AuditKind};
use crate::device::{Device, DeviceState};
use crate::error::{CoreError, Entity, Refusal};
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::tenant::PushEnrollmentMode;

impl Core {
    /// Check a device-signed request and return the device. `Pending` devices are let
    /// through only when `allow_pending` (the confirm step).
    pub async fn authenticate_device(&self, req: SignedRequest<'_>, allow_pending: bool) -> Result<Device, CoreError> {
        let device = self.store.device(req.device_id).await?.ok_or(CoreError::Unauthorized)?;
        let ts = parse_request_timestamp(req.timestamp).ok_or(CoreError::Unauthorized)?;
        let nonce_ok = (16..=64).contains(&req.nonce.len())
            && req.nonce.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !nonce_ok {
            return Err(CoreError::Unauthorized);
        }
        let bytes = signed::request(req.method, req.path, ts, req.nonce, req.body);
        if !crypto::verify(&device.possession_key, &bytes, req.signature) {
            return Err(CoreError::Unauthorized);
        }
        let now = self.clock.now();
        if !request_is_fresh(now.millis(), ts) {
            return Err(CoreError::refused(
                Refusal::Unauthenticated,
                RefusalCode::StaleRequest,
                "the request timestamp is too far from the server's clock",
            ));
        }
        match device.state {
            DeviceState::Disconnected => {
                return Err(CoreError::refused(
                    Refusal::Forbidden,
                    RefusalCode::DeviceDisconnected,
                    "this device has been disconnected",
                ));
            }
            DeviceState::Pending if !allow_pending => {
                return Err(CoreError::refused(
                    Refusal::Conflict,
                    RefusalCode::DeviceNotConfirmed,
                    "confirm the activation first",
                ));
            }
            _ => {}
        }
        if !self.store.use_device_nonce(&device.id, req.nonce, now).await? {
            return Err(CoreError::refused(
                Refusal::Unauthenticated,
                RefusalCode::ReplayedRequest,
                "this request was seen before",
            ));
        }
        Ok(device)
    }

    /// Step (c): confirm the activation; the device becomes active.
    pub async fn confirm_device(&self, device: &Device) -> Result<Confirmation, CoreError> {
        let tenant = self.store.tenant_by_id(&device.tenant_id).await?.ok_or(CoreError::NotFound(Entity::Tenant))?;
        let user = self.user_by_pk(&tenant, &device.user_pk).await?;
        if device.state == DeviceState::Pending {
            self.check_enrollment(&tenant, &device.user_pk, &device.app_id, Some(&device.id)).await?;
            let now = self.clock.now();
            // In single mode a unique index settles concurrent confirmations: one wins,
            // the others are refused as if they had seen the winner in the check above.
            let activated = if tenant.settings.push_enrollment_mode == PushEnrollmentMode::Single {
                match self.store.activate_single_device(&device.id, now).await {
                    Err(crate::store::StoreError::Conflict) => return Err(device_exists()),
                    other => other?,
                }
            } else {
                self.store.device_transition(&device.id, DeviceState::Pending, DeviceState::Active, now).await?
            };
            if !activated {
                return Err(CoreError::refused(
                    Refusal::Conflict,
                    RefusalCode::DeviceNotPending,
                    "the device is not awaiting confirmation",
                ));
            }
            let mut replaced = 0;
            if tenant.settings.push_enrollment_mode == PushEnrollmentMode::Override {
                replaced =
                    self.store.disconnect_other_devices(&device.user_pk, &device.app_id, &device.id, now).await?;
            }
            let event = AuditEvent::new(AuditKind::DeviceActivated)
                .tenant_id(&tenant.id)
                .tenant(tenant.domain.as_str())
                .user(user.user_id.as_str())
                .by(Actor::Device(device.id.clone()))
                .details(serde_json::json!({ "device": device.id, "app": device.app_id, "name": device.name }));
            self.audit_or_log(event.clone()).await;
            if let Some(activation) = &device.activation_id {
                self.waiters.wake(&crate::session::activation_key(activation));
            }
            if replaced > 0 {
                let details = serde_json::json!({ "app": device.app_id, "devices": replaced, "replacedBy": device.id });
                self.audit_or_log(AuditEvent { kind: AuditKind::DeviceRemoved, details, ..event }).await;
            }
        }
        Ok(Confirmation {
            user_id: user.user_id.as_str().to_owned(),
            domain: tenant.domain.to_string(),
            device_id: device.id.clone(),
            gateway_id: self.gateway_id(),
        })
    }

    /// Step (d): record where pushes for this device go.
    pub async fn register_push(&self, device: &Device, reg: PushRegistration) -> Result<(), CoreError> {
        let token = reg.token.as_deref().map(str::trim).filter(|t| !t.is_empty());
        match (reg.platform.as_str(), token) {
            ("poll", _) => {}
            ("webhook", Some(url)) if url.starts_with("http://") || url.starts_with("https://") => {}
            ("webhook", _) => {
                return Err(CoreError::invalid("token", "a webhook needs the http(s) URL to POST pushes to"));
            }
            ("apns", Some(t)) if !(t.len() <= 200 && t.len() % 2 == 0 && t.bytes().all(|b| b.is_ascii_hexdigit())) => {
                return Err(CoreError::invalid("token", "an APNs device token is hexadecimal"));
            }
            ("fcm", Some(t)) if t.chars().any(|c| c.is_whitespace() || c.is_control()) => {
                return Err(CoreError::invalid("token", "an FCM registration token has no spaces"));
            }
            ("webpush", Some(t)) if !web_push_subscription_ok(t) => {
                return Err(CoreError::invalid(
                    "token",
                    "a Web Push token is the PushSubscription JSON: {\"endpoint\": \"https://…\", \"keys\": {\"p256dh\": …, \"auth\": …}}",
                ));
            }
            ("fcm" | "apns" | "webpush", Some(_)) => {}
            ("fcm" | "apns" | "webpush", None) => {
                return Err(CoreError::invalid("token", "this platform needs a push token"));
            }
            _ => {
                return Err(CoreError::invalid(
                    "platform",
                    "platform must be one of poll, webhook, fcm, apns, webpush",
                ));
            }
        }
        if token.is_some_and(|t| t.len() > 2048) {
            return Err(CoreError::invalid("token", "the token is longer than 2048 characters"));
        }
        let token = if reg.platform == "poll" { None } else { token };
        self.store
            .set_device_push(&device.id, &reg.platform, token, reg.app_version.as_deref(), self.clock.now())
            .await?;
        Ok(())
    }
}

impl Core {
    /// A page of the devices of `user_id` in the tenant named by `domain`, by ID (admin API).
    pub async fn list_devices(
        &self,
        domain: &str,
        user_id: &str,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<crate::admin::Listing<Device>, CoreError> {
        let u = self.user(domain, user_id).await?;
        let page = crate::admin::page(after, limit)?;
        let rows = self.store.list_user_devices(&u.id, &page).await?;
        Ok(crate::admin::listing(rows, &page, |d| d.id.clone()))
    }

    /// Remove one of a user's devices (admin API).
    pub async fn remove_device(&self, domain: &str, user_id: &str, device_id: &str) -> Result<(), CoreError> {
        let u = self.user(domain, user_id).await?;
        if self.store.delete_device(&u.id, device_id).await? {
            Ok(())
        } else {
            Err(CoreError::NotFound(Entity::Device))
        }
    }
}
