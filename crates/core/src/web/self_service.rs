//! What a signed-in user does on the self-service pages (docs/web.md): their devices,
//! and activating a new one. Each is the same core operation the APIs use, limited to
//! the user's own things and recorded with the user as the actor.

use super::SignedIn;
use crate::audit::{Actor, AuditEvent, AuditKind};
use crate::device::{Device, DeviceState};
use crate::error::{CoreError, Entity};
use crate::mobile::{ActivationData, ActivationProgress};
use crate::service::Core;
use crate::tokens::{EnrollInput, Token, TokenState};

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

    /// Rename one of the signed-in user's devices.
    pub async fn rename_my_device(&self, me: &SignedIn, device_id: &str, name: &str) -> Result<(), CoreError> {
        let name = name.trim();
        crate::validate::name(name).map_err(|m| CoreError::invalid("name", m))?;
        if self.store.rename_device(&me.user.id, device_id, name, self.clock.now()).await? {
            Ok(())
        } else {
            Err(CoreError::NotFound(Entity::Device))
        }
    }

    /// Start activating a new authenticator for the signed-in user.
    pub async fn start_my_activation(&self, me: &SignedIn) -> Result<ActivationData, CoreError> {
        let user = format!("{}@{}", me.user.user_id.as_str(), me.tenant.domain.as_str());
        self.start_activation(&me.tenant, &user).await
    }

    /// Whether the signed-in user has a static password (the page asks for it before a
    /// change).
    pub async fn my_password_exists(&self, me: &SignedIn) -> Result<bool, CoreError> {
        Ok(self.store.static_password(&me.user.id).await?.is_some())
    }

    /// Change (or, when there is none, set) the signed-in user's static password. The
    /// current one is checked as every password guess is (an attempt reserved first);
    /// its grace period is kept.
    pub async fn change_my_password(&self, me: &SignedIn, current: &str, new: &str) -> Result<(), CoreError> {
        crate::password::check_length("newPassword", new)?;
        let stored = self.store.static_password(&me.user.id).await?;
        if stored.is_some() {
            self.check_static_password(&me.tenant, &me.user, current, false).await.map_err(|e| match e {
                CoreError::Refused { code: crate::refusal::RefusalCode::InvalidPassword, .. } => {
                    CoreError::invalid("currentPassword", "the current password is wrong")
                }
                other => other,
            })?;
        }
        let now = self.clock.now();
        let p = crate::password::StaticPassword {
            user_pk: me.user.id.clone(),
            hash: self.hasher.hash(&*self.random, new).await?,
            grace_until: stored.and_then(|p| p.grace_until),
            failures: 0,
            locked_until: None,
            updated_at: now,
        };
        self.store.set_static_password(&p).await?;
        self.audit_or_log(
            AuditEvent::new(AuditKind::AdminChange)
                .tenant_id(&me.tenant.id)
                .tenant(me.tenant.domain.as_str())
                .user(me.user.user_id.as_str())
                .by(Actor::SelfService(me.user.user_id.as_str().to_owned()))
                .details(
                    serde_json::json!({ "credential": "static_password", "change": "set", "page": "self-service" }),
                ),
        )
        .await;
        Ok(())
    }

    /// The signed-in user's OATH tokens (pending ones too: the page offers to finish or
    /// remove them).
    pub async fn my_tokens(&self, me: &SignedIn) -> Result<Vec<Token>, CoreError> {
        Ok(self.store.user_tokens(&me.user.id).await?)
    }

    /// Enroll a TOTP token (SHA-1, 6 digits, 30 s: what every authenticator app reads)
    /// for the signed-in user; it stays pending until a first code confirms it.
    pub async fn enroll_my_totp(&self, me: &SignedIn) -> Result<Token, CoreError> {
        let user = format!("{}@{}", me.user.user_id.as_str(), me.tenant.domain.as_str());
        Ok(self.enroll_token(&me.tenant, &user, EnrollInput::default()).await?.token)
    }

    /// A pending token of the signed-in user with its `otpauth://` URI (to scan again
    /// until it is confirmed; a confirmed token's seed is never shown).
    pub async fn my_pending_token(&self, me: &SignedIn, token_id: &str) -> Result<(Token, String), CoreError> {
        let t = self.my_token(me, token_id).await?;
        if t.state != TokenState::Pending {
            return Err(CoreError::refused(
                crate::error::Refusal::Conflict,
                crate::refusal::RefusalCode::TokenNotPending,
                "the token is confirmed already",
            ));
        }
        let seed = hex::decode(self.sealer.open(&t.secret)?)
            .map_err(|_| CoreError::Internal("a token seed that is not hex".into()))?;
        let uri = crate::tokens::otpauth_uri(&t, me.tenant.domain.as_str(), me.user.user_id.as_str(), &seed);
        Ok((t, uri))
    }

    /// Confirm one of the signed-in user's pending tokens with its first code.
    pub async fn confirm_my_token(&self, me: &SignedIn, token_id: &str, otp: &str) -> Result<Token, CoreError> {
        let user = format!("{}@{}", me.user.user_id.as_str(), me.tenant.domain.as_str());
        self.confirm_token(&me.tenant, &user, token_id, otp).await
    }

    /// Remove one of the signed-in user's tokens.
    pub async fn remove_my_token(&self, me: &SignedIn, token_id: &str) -> Result<(), CoreError> {
        let t = self.my_token(me, token_id).await?;
        self.store.delete_token(&t.id).await?;
        self.audit_or_log(
            AuditEvent::new(AuditKind::CredentialRemoved)
                .tenant_id(&me.tenant.id)
                .tenant(me.tenant.domain.as_str())
                .user(me.user.user_id.as_str())
                .by(Actor::SelfService(me.user.user_id.as_str().to_owned()))
                .details(serde_json::json!({ "token": t.id, "serial": t.serial, "page": "self-service" })),
        )
        .await;
        Ok(())
    }

    async fn my_token(&self, me: &SignedIn, token_id: &str) -> Result<Token, CoreError> {
        self.store
            .token(token_id)
            .await?
            .filter(|t| t.user_pk.as_deref() == Some(me.user.id.as_str()))
            .ok_or(CoreError::NotFound(Entity::Token))
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
