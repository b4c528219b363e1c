//! Activating a mobile authenticator (docs/mobile-protocol.md, "Activation"): the
//! activation a tenant starts, its code and QR payload, and the instance the app fetches.

use super::*;
use countersign_proto::messages::{InstanceData, InstanceRequest, LicenseData, QrPayload};
use countersign_proto::{crypto, signed};

use crate::access::key_hash;
use crate::device::{Activation, ActivationState, Device, DeviceState, MAX_ACTIVATION_ATTEMPTS};
use crate::error::{CoreError, Entity, Refusal};
use crate::random;
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::tenant::{PushEnrollmentMode, Tenant};
use crate::user::UserRef;

impl Core {
    /// Start activating a mobile authenticator for `user` (`userID@domain`) of `tenant`.
    pub async fn start_activation(&self, tenant: &Tenant, user: &str) -> Result<ActivationData, CoreError> {
        if !tenant.settings.device_enrollment {
            return Err(CoreError::refused(
                Refusal::Forbidden,
                RefusalCode::DeviceEnrollmentDisabled,
                "device enrollment is switched off for this tenant",
            ));
        }
        let r = UserRef::parse(user)?;
        if r.domain != tenant.domain {
            return Err(CoreError::NotFound(Entity::User));
        }
        let u = self.user_in(tenant, r.user_id.as_str()).await?;
        let code = activation_code(&*self.random)?;
        let now = self.clock.now();
        let id = random::new_id(&*self.random)?;
        let payload = QrPayload { server: self.public_url.clone(), activation_id: id.clone(), code: code.clone() };
        let (qr, app_link) = (payload.to_uri(), payload.app_link());
        // The code only as an HMAC, the payload that holds it only sealed
        // (docs/security.md, "Secrets at rest").
        let activation = Activation {
            code_hash: self.sealer.mac(&code_input(&id, &code)),
            qr_sealed: Some(self.sealer.seal(&*self.random, &qr)?),
            id,
            tenant_id: tenant.id.clone(),
            user_pk: u.id,
            state: ActivationState::Pending,
            attempts: 0,
            nonce: None,
            created_at: now,
            expires_at: now.plus_millis(i64::from(tenant.settings.activation_ttl_seconds) * 1000),
        };
        self.store.insert_activation(&activation).await?;
        Ok(ActivationData { activation_id: activation.id, expires_at: activation.expires_at, qr_payload: qr, app_link })
    }

    async fn live_activation(&self, id: &str) -> Result<Activation, CoreError> {
        let a = self.store.activation(id).await?.ok_or(CoreError::NotFound(Entity::Activation))?;
        match a.state {
            ActivationState::Burned => {
                Err(gone(RefusalCode::ActivationBurned, "too many wrong codes: start a new activation"))
            }
            ActivationState::Completed => Err(gone(RefusalCode::ActivationUsed, "this activation has been used")),
            _ if self.clock.now() >= a.expires_at => {
                Err(gone(RefusalCode::ActivationExpired, "this activation has expired"))
            }
            _ => Ok(a),
        }
    }

    /// Step (a): the app proves it knows the activation code.
    pub async fn activation_code(&self, id: &str, code: &str) -> Result<LicenseData, CoreError> {
        let a = self.live_activation(id).await?;
        if a.state != ActivationState::Pending {
            return Err(gone(RefusalCode::ActivationUsed, "the activation code has been used"));
        }
        let right = match a.code_hash.strip_prefix("sha256.") {
            // Made before codes were hashed under the master key (migration 0017).
            Some(legacy) => key_hash(code.trim()).as_bytes().ct_eq(legacy.as_bytes()).into(),
            None => self.sealer.verify_mac(&a.code_hash, &code_input(&a.id, code.trim())),
        };
        if !right {
            return match self.store.activation_wrong_code(id, MAX_ACTIVATION_ATTEMPTS).await? {
                Some((_, ActivationState::Burned)) => {
                    Err(gone(RefusalCode::ActivationBurned, "too many wrong codes: start a new activation"))
                }
                Some((n, _)) => Err(CoreError::Refused {
                    kind: Refusal::Unprocessable,
                    code: RefusalCode::InvalidActivationCode,
                    message: "the activation code is wrong".into(),
                    attempts_left: Some(MAX_ACTIVATION_ATTEMPTS.saturating_sub(n)),
                }),
                None => Err(gone(RefusalCode::ActivationUsed, "the activation code has been used")),
            };
        }
        let n = nonce(&*self.random)?;
        if !self
            .store
            .activation_transition(id, ActivationState::Pending, ActivationState::CodeVerified, Some(&n))
            .await?
        {
            return Err(gone(RefusalCode::ActivationUsed, "the activation code has been used"));
        }
        self.waiters.wake(&crate::session::activation_key(id));
        let tenant = self.store.tenant_by_id(&a.tenant_id).await?.ok_or(CoreError::NotFound(Entity::Tenant))?;
        let user = self.user_by_pk(&tenant, &a.user_pk).await?;
        Ok(LicenseData {
            activation_id: a.id,
            nonce: n,
            user_id: user.user_id.as_str().to_owned(),
            domain: tenant.domain.to_string(),
            expires_at: a.expires_at.to_rfc3339(),
            pin_required: true,
        })
    }

    pub(super) async fn user_by_pk(&self, tenant: &Tenant, user_pk: &str) -> Result<crate::user::User, CoreError> {
        // Users are looked up by userID; find the one with this internal id among the
        // tenant's (the pk is only ever taken from our own rows).
        self.store
            .user_by_pk(user_pk)
            .await?
            .filter(|u| u.tenant_id == tenant.id)
            .ok_or(CoreError::NotFound(Entity::User))
    }

    /// Step (b): the app registers its keys, proving it holds each private key.
    pub async fn activation_instance(&self, id: &str, req: InstanceRequest) -> Result<InstanceData, CoreError> {
        let a = self.live_activation(id).await?;
        let expected = a.nonce.clone().filter(|_| a.state == ActivationState::CodeVerified).ok_or_else(|| {
            CoreError::refused(
                Refusal::Conflict,
                RefusalCode::ActivationCodeRequired,
                "prove the activation code first",
            )
        })?;
        if !bool::from(expected.as_bytes().ct_eq(req.nonce.as_bytes())) {
            return Err(CoreError::invalid("nonce", "the nonce is not the one this activation handed out"));
        }
        let tenant = self.store.tenant_by_id(&a.tenant_id).await?.ok_or(CoreError::NotFound(Entity::Tenant))?;
        if !tenant.settings.device_enrollment {
            return Err(CoreError::refused(
                Refusal::Forbidden,
                RefusalCode::DeviceEnrollmentDisabled,
                "device enrollment is switched off for this tenant",
            ));
        }
        check_key("possessionKey", &req.possession_key)?;
        check_key("pinKey", &req.pin_key)?;
        if let Some(b) = &req.biometric_key {
            check_key("biometricKey", b)?;
        }
        for (name, key) in &req.custom_keys {
            crate::validate::name(name).map_err(|m| CoreError::invalid("customKeys", m))?;
            check_key(&format!("customKeys.{name}"), key)?;
        }
        for (field, value) in [("appID", &req.app_id), ("appVersion", &req.app_version)] {
            crate::validate::name(value).map_err(|m| CoreError::invalid(field, m))?;
        }
        if let Some(n) = &req.device_name {
            crate::validate::name(n).map_err(|m| CoreError::invalid("deviceName", m))?;
        }
        let proof =
            signed::activation_proof(id, &req.nonce, &req.possession_key, &req.pin_key, req.biometric_key.as_deref());
        if !crypto::verify(&req.possession_key, &proof, &req.possession_proof) {
            return Err(bad_proof("possessionProof"));
        }
        if !crypto::verify(&req.pin_key, &proof, &req.pin_proof) {
            return Err(bad_proof("pinProof"));
        }
        if let Some(b) = &req.biometric_key {
            let sig = req.biometric_proof.as_deref().unwrap_or("");
            if !crypto::verify(b, &proof, sig) {
                return Err(bad_proof("biometricProof"));
            }
        }
        for (name, key) in &req.custom_keys {
            let sig = req.custom_proofs.get(name).map_or("", String::as_str);
            if !crypto::verify(key, &proof, sig) {
                return Err(bad_proof(&format!("customProofs.{name}")));
            }
        }
        self.check_enrollment(&tenant, &a.user_pk, &req.app_id, None).await?;
        if !self
            .store
            .activation_transition(id, ActivationState::CodeVerified, ActivationState::Completed, None)
            .await?
        {
            return Err(gone(RefusalCode::ActivationUsed, "this activation has been used"));
        }
        let now = self.clock.now();
        let device = Device {
            id: random::new_id(&*self.random)?,
            tenant_id: a.tenant_id,
            user_pk: a.user_pk,
            app_id: req.app_id,
            app_version: req.app_version,
            name: req.device_name,
            possession_key: req.possession_key,
            pin_key: req.pin_key,
            biometric_key: req.biometric_key,
            custom_keys: req.custom_keys,
            state: DeviceState::Pending,
            pin_failures: 0,
            push_platform: None,
            push_token: None,
            created_at: now,
            updated_at: now,
            activation_id: Some(id.to_owned()),
        };
        self.store.insert_device(&device).await?;
        self.waiters.wake(&crate::session::activation_key(id));
        Ok(InstanceData { device_id: device.id, state: DeviceState::Pending.as_str().to_owned() })
    }

    /// In `single` mode, refuse a second active device for the same user and app (checked
    /// at the instance step to fail early, and enforced at confirmation by the store).
    pub(super) async fn check_enrollment(
        &self,
        tenant: &Tenant,
        user_pk: &str,
        app_id: &str,
        except: Option<&str>,
    ) -> Result<(), CoreError> {
        if tenant.settings.push_enrollment_mode != PushEnrollmentMode::Single {
            return Ok(());
        }
        let taken = self
            .store
            .user_devices(user_pk)
            .await?
            .iter()
            .any(|d| d.app_id == app_id && d.state == DeviceState::Active && Some(d.id.as_str()) != except);
        if taken {
            return Err(device_exists());
        }
        Ok(())
    }
}

impl Core {
    /// The QR payload of a tenant's activation whose code is still unused.
    pub async fn activation_qr(&self, tenant: &Tenant, id: &str) -> Result<String, CoreError> {
        let a = self.live_activation(id).await?;
        if a.tenant_id != tenant.id {
            return Err(CoreError::NotFound(Entity::Activation));
        }
        let sealed =
            a.qr_sealed.ok_or_else(|| gone(RefusalCode::ActivationUsed, "the activation code has been used"))?;
        self.sealer.open(&sealed)
    }
}

/// What an activation code's hash covers: the activation's ID and the code.
fn code_input(id: &str, code: &str) -> String {
    format!("activation:{id}:{code}")
}
