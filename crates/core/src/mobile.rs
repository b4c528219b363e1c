//! Activating mobile authenticators and authenticating their requests
//! (docs/mobile-protocol.md, "Activation" and "Device-signed requests").

use countersign_proto::messages::{
    Confirmation, InstanceData, InstanceRequest, LicenseData, PushRegistration, QrPayload,
};
use countersign_proto::{b64u_encode, crypto, signed};
use subtle::ConstantTimeEq;

use crate::access::key_hash;
use crate::clock::Timestamp;
use crate::device::{Activation, ActivationState, Device, DeviceState, MAX_ACTIVATION_ATTEMPTS};
use crate::error::{CoreError, Entity, Refusal};
use crate::random;
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::tenant::{PushEnrollmentMode, Tenant};
use crate::user::UserRef;

/// How far a device's request timestamp may be from the server's clock.
pub const REQUEST_WINDOW_MS: i64 = 5 * 60_000;
/// How long request nonces are remembered (longer than the window).
pub const NONCE_MEMORY_MS: i64 = 10 * 60_000;

/// A started activation: what the caller shows the user.
#[derive(Debug, Clone)]
pub struct ActivationData {
    /// The activation ID.
    pub activation_id: String,
    /// When it stops being usable.
    pub expires_at: Timestamp,
    /// The text of the QR code.
    pub qr_payload: String,
    /// The same as a link a phone can open (`<server>/app/activate?…`).
    pub app_link: String,
}

/// The signature headers of a device-signed request, and what they cover.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// `X-CS-Device`.
    pub device_id: &'a str,
    /// `X-CS-Timestamp`.
    pub timestamp: &'a str,
    /// `X-CS-Nonce`.
    pub nonce: &'a str,
    /// `X-CS-Signature`.
    pub signature: &'a str,
    /// HTTP method.
    pub method: &'a str,
    /// Request path.
    pub path: &'a str,
    /// Request body.
    pub body: &'a [u8],
}

fn gone(code: RefusalCode, message: &str) -> CoreError {
    CoreError::refused(Refusal::Gone, code, message)
}

/// 12 characters of A–Z2–7: 60 bits.
fn activation_code(random: &dyn random::Random) -> Result<String, CoreError> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bytes = [0u8; 12];
    random.fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| ALPHABET[(b % 32) as usize] as char).collect())
}

fn nonce(random: &dyn random::Random) -> Result<String, CoreError> {
    let mut bytes = [0u8; 32];
    random.fill(&mut bytes)?;
    Ok(b64u_encode(&bytes))
}

fn check_key(field: &str, key: &str) -> Result<(), CoreError> {
    crypto::parse_public_key(key)
        .map_err(|_| CoreError::invalid(field, "must be a P-256 public key, SEC1 uncompressed, base64url"))
}

fn bad_proof(field: &str) -> CoreError {
    CoreError::invalid(field, "the signature does not verify: the app must sign the activation proof with this key")
}

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
        let activation = Activation {
            id,
            tenant_id: tenant.id.clone(),
            user_pk: u.id,
            code_hash: key_hash(&code),
            state: ActivationState::Pending,
            attempts: 0,
            nonce: None,
            qr_payload: Some(qr.clone()),
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
        let right: bool = key_hash(code.trim()).as_bytes().ct_eq(a.code_hash.as_bytes()).into();
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

    async fn user_by_pk(&self, tenant: &Tenant, user_pk: &str) -> Result<crate::user::User, CoreError> {
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
        };
        self.store.insert_device(&device).await?;
        Ok(InstanceData { device_id: device.id, state: DeviceState::Pending.as_str().to_owned() })
    }

    /// In `single` mode, refuse a second active device for the same user and app (checked
    /// at the instance step to fail early, and enforced at confirmation by the store).
    async fn check_enrollment(
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

    /// Check a device-signed request and return the device. `Pending` devices are let
    /// through only when `allow_pending` (the confirm step).
    pub async fn authenticate_device(&self, req: SignedRequest<'_>, allow_pending: bool) -> Result<Device, CoreError> {
        let device = self.store.device(req.device_id).await?.ok_or(CoreError::Unauthorized)?;
        let ts: i64 = req.timestamp.parse().map_err(|_| CoreError::Unauthorized)?;
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
        if (now.millis() - ts).abs() > REQUEST_WINDOW_MS {
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
        if !self.store.use_device_nonce(&device.id, req.nonce, now, now.plus_millis(-NONCE_MEMORY_MS)).await? {
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
            if tenant.settings.push_enrollment_mode == PushEnrollmentMode::Override {
                self.store.disconnect_other_devices(&device.user_pk, &device.app_id, &device.id, now).await?;
            }
        }
        Ok(Confirmation {
            user_id: user.user_id.as_str().to_owned(),
            domain: tenant.domain.to_string(),
            device_id: device.id.clone(),
            gateway_id: self.public_url.clone(),
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

    /// The QR payload of a tenant's activation whose code is still unused.
    pub async fn activation_qr(&self, tenant: &Tenant, id: &str) -> Result<String, CoreError> {
        let a = self.live_activation(id).await?;
        if a.tenant_id != tenant.id {
            return Err(CoreError::NotFound(Entity::Activation));
        }
        a.qr_payload.ok_or_else(|| gone(RefusalCode::ActivationUsed, "the activation code has been used"))
    }

    /// The devices of `user_id` in the tenant named by `domain` (admin API).
    pub async fn list_devices(&self, domain: &str, user_id: &str) -> Result<Vec<Device>, CoreError> {
        let u = self.user(domain, user_id).await?;
        Ok(self.store.user_devices(&u.id).await?)
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

/// Whether `token` looks like a browser's PushSubscription JSON (the keys are checked
/// again, fully, when a push is encrypted for them).
fn web_push_subscription_ok(token: &str) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(token) else { return false };
    let endpoint = v.get("endpoint").and_then(|e| e.as_str()).unwrap_or("");
    let key = |k: &str| v.pointer(&format!("/keys/{k}")).and_then(|x| x.as_str()).is_some_and(|x| !x.is_empty());
    crate::delivery::callbacks::check_url("token", endpoint).is_ok() && key("p256dh") && key("auth")
}

/// The refusal of a second active device in the single enrollment mode.
fn device_exists() -> CoreError {
    CoreError::refused(
        Refusal::Conflict,
        RefusalCode::DeviceExists,
        "this user has an active device for this app; remove it first (enrollment mode: single)",
    )
}
