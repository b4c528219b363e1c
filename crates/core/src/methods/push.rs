//! Push (riskResponseCode 6), push with PIN (22), push with fingerprint (23): a request
//! to the user's active devices, approved by a signature of the key the method names
//! (docs/mobile-protocol.md, "Login sessions" and "Answering"). What it stores: a session
//! (with the device's word for the method, a nonce, the number to match) and one push
//! outbox row per device that gets pushes, in one transaction. The device's side —
//! fetching requests and answering them — is here too, for every push kind;
//! [`super::push_custom`] adds the custom authenticator.

use async_trait::async_trait;
use countersign_proto::messages::{PendingRequest, ResponseBody, ResponseResult};
use countersign_proto::{b64u_encode, crypto, signed};

use super::{Begin, Delivery, LoginMethod, Method, Why, wrong_key};
use crate::attempts::Guess;
use crate::audit::{Actor, AuditEvent, AuditKind};
use crate::delivery::outbox::{OutboxKind, OutboxMessage};
use crate::device::{Device, DeviceState};
use crate::error::{CoreError, Entity, Refusal};
use crate::login::LoginResult;
use crate::random;
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::session::{Ending, NewSession, Session, SessionState, closed};
use crate::store::Counter;
use crate::tenant::NumberMatching;
use crate::user::User;

/// A push method: which one, and its riskResponseCode.
pub(crate) struct Push {
    method: Method,
    risk_code: u32,
}

/// `push` (`NoPIN`): possession of the device is enough.
pub(crate) static NO_PIN: Push = Push { method: Method::Push, risk_code: 6 };
/// `push_pin` (`PIN`): the PIN key approves.
pub(crate) static PIN: Push = Push { method: Method::PushPin, risk_code: 22 };
/// `push_fingerprint` (`Fingerprint`): the biometric key approves, or the PIN key.
pub(crate) static FINGERPRINT: Push = Push { method: Method::PushFingerprint, risk_code: 23 };

#[async_trait]
impl LoginMethod for Push {
    fn method(&self) -> Method {
        self.method
    }

    fn risk_code(&self) -> u32 {
        self.risk_code
    }

    async fn check(&self, core: &Core, begin: &Begin<'_>) -> Result<(), CoreError> {
        check(core, begin).await
    }

    async fn start(&self, core: &Core, begin: &Begin<'_>, user: &User) -> Result<LoginResult, CoreError> {
        start(core, begin, user, self.method, None).await
    }

    async fn answer(&self, _: &Core, _: &super::Reply<'_>, _: Session) -> Result<LoginResult, CoreError> {
        // The device answers a push, never the login call.
        Err(CoreError::NotFound(Entity::Session))
    }

    fn approver<'d>(&self, device: &'d Device, s: &Session, key: &str) -> Result<&'d str, CoreError> {
        match (self.method, key) {
            (Method::Push, "possession") => Ok(&device.possession_key),
            (Method::PushPin | Method::PushFingerprint, "pin") => Ok(&device.pin_key),
            (Method::PushFingerprint, "biometric") => device
                .biometric_key
                .as_deref()
                .ok_or_else(|| CoreError::invalid("key", "this device registered no biometric key")),
            _ => Err(wrong_key(s, "accept")),
        }
    }
}

/// What a push checks before the user is read: the type is on; the delivery, timeout,
/// message and context are well formed; the tenant allows pushes; the callback URL is
/// allowed.
pub(crate) async fn check(core: &Core, begin: &Begin<'_>) -> Result<(), CoreError> {
    let (tenant, login) = (begin.tenant, begin.login);
    if !begin.ty.enabled {
        return Err(CoreError::refused(Refusal::Forbidden, RefusalCode::AuthTypeDisabled, "this type is switched off"));
    }
    delivery(login.push_delivery.as_deref())?;
    if timeout(begin) > crate::tenant::MAX_LOGIN_TIMEOUT_SECONDS {
        return Err(CoreError::invalid("timeout", "timeout must be between 0 and 3600 seconds"));
    }
    check_display(login)?;
    if !tenant.settings.push_authorization {
        return Err(CoreError::refused(
            Refusal::Forbidden,
            RefusalCode::PushAuthorizationDisabled,
            "push login is switched off for this tenant",
        ));
    }
    if let Some(url) = &login.callback_url {
        core.check_callback(tenant, url).await?;
    }
    Ok(())
}

fn delivery(asked: Option<&str>) -> Result<Delivery, CoreError> {
    match asked.unwrap_or("pushNotification") {
        "pushNotification" => Ok(Delivery::PushNotification),
        "requestMessage" => Ok(Delivery::RequestMessage),
        _ => Err(CoreError::invalid("orchestrationDelivery", "must be pushNotification or requestMessage")),
    }
}

/// Seconds to wait: the login's `timeout`, else the tenant's `loginTimeoutSeconds`.
fn timeout(begin: &Begin<'_>) -> u32 {
    begin.login.timeout.unwrap_or(begin.tenant.settings.login_timeout_seconds)
}

fn check_display(login: &super::command::StartLogin) -> Result<(), CoreError> {
    let printable = |s: &str| !s.chars().any(char::is_control);
    if let Some(m) = &login.message
        && (m.trim().is_empty() || m.chars().count() > 200 || !printable(m))
    {
        return Err(CoreError::invalid(
            "loginMessage",
            "loginMessage must be 1 to 200 characters without control characters",
        ));
    }
    if login.context.len() > 10 {
        return Err(CoreError::invalid("context", "context holds at most 10 entries"));
    }
    for (k, v) in &login.context {
        if k.is_empty() || k.chars().count() > 32 || v.chars().count() > 200 || !printable(k) || !printable(v) {
            return Err(CoreError::invalid(
                format!("context.{k}"),
                "context keys are 1 to 32 characters, values at most 200, without control characters",
            ));
        }
    }
    Ok(())
}

/// Start a push of `method` (with the custom authenticator `custom` for `push_custom`):
/// the type's fallback when the user has no active device, else a session pushed to each
/// device (or `Failed` with `no_device`); a synchronous login waits for its end.
pub(crate) async fn start(
    core: &Core,
    begin: &Begin<'_>,
    user: &User,
    method: Method,
    custom: Option<&str>,
) -> Result<LoginResult, CoreError> {
    let (tenant, login) = (begin.tenant, begin.login);
    let delivery = delivery(login.push_delivery.as_deref())?;
    let timeout = timeout(begin);
    let devices: Vec<Device> =
        core.store.user_devices(&user.id).await?.into_iter().filter(|d| d.state == DeviceState::Active).collect();
    if devices.is_empty()
        && let Some(fallback) = &begin.ty.fallback
        && let Some(fty) = core.auth_type(tenant, fallback).await?.filter(|f| f.method.is_code())
    {
        // The code applies the login-request limit to what it sends.
        return core.start_with(tenant, user, fallback, &fty, login, Why::Fallback).await;
    }
    if delivery == Delivery::PushNotification {
        core.check_login_requests(tenant, user).await?;
    }
    // A front door that cannot show a number (RADIUS, the Duo-compatible API) is treated
    // as a synchronous login, whatever its timeout.
    let shows_number = timeout == 0 && !login.no_number;
    let matching = match (tenant.settings.number_matching, shows_number) {
        (NumberMatching::Off, _) => false,
        (NumberMatching::Asynchronous, shows) => shows,
        (NumberMatching::Required, true) => true,
        (NumberMatching::Required, false) if login.no_number => {
            return Err(CoreError::Refused {
                kind: Refusal::Unprocessable,
                code: RefusalCode::NumberMatchingRequiresAsync,
                message: "this tenant requires number matching, which this front door cannot show".into(),
                attempts_left: None,
            });
        }
        (NumberMatching::Required, false) => {
            return Err(CoreError::Refused {
                kind: Refusal::Unprocessable,
                code: RefusalCode::NumberMatchingRequiresAsync,
                message: "this tenant requires number matching: start the login asynchronously (timeout 0), \
                          show numberToShow, then poll GET /v1/sessions/{requestID}"
                    .into(),
                attempts_left: None,
            });
        }
    };
    let (number, number_choices) =
        if matching && !devices.is_empty() { numbers(core).map(|(n, c)| (Some(n), c))? } else { (None, Vec::new()) };
    let mut nonce = [0u8; 32];
    core.random.fill(&mut nonce)?;
    let now = core.clock.now();
    let lifetime = if timeout == 0 { tenant.settings.login_timeout_seconds } else { timeout };
    let no_device = devices.is_empty();
    let id = random::new_id(&*core.random)?;
    let new = NewSession {
        id: id.clone(),
        tenant_id: tenant.id.clone(),
        user_pk: user.id.clone(),
        method: Some(method),
        custom_authenticator: custom.map(str::to_owned),
        message: core.secure_message(tenant, login, user, id.as_str())?,
        context: login.context.clone(),
        nonce: b64u_encode(&nonce),
        number,
        number_choices,
        delivery,
        created_at: now,
        expires_at: now.plus_millis(i64::from(lifetime) * 1000),
        callback_url: login.callback_url.clone(),
    };
    let session = if no_device { Session::ended(new, Ending::failed("no_device"))? } else { Session::pending(new) };
    let mut outbox = Vec::new();
    if delivery == Delivery::PushNotification {
        for device in devices.iter().filter(|d| d.push_platform.as_deref().is_some_and(|p| p != "poll")) {
            let payload = serde_json::json!({"requestID": session.id, "deviceID": device.id}).to_string();
            let id = random::new_id(&*core.random)?;
            outbox.push(OutboxMessage::new(
                id,
                &tenant.id,
                OutboxKind::Push,
                &device.id,
                payload,
                now,
                session.expires_at,
            ));
        }
    }
    core.insert_session(&session, outbox).await?;
    // Nothing read before is needed while waiting (each waiter's memory counts).
    drop(devices);
    let session = if timeout == 0 || no_device {
        session
    } else {
        let seen = core.wait_for_end(&session.id, session.expires_at).await?;
        // The login waited out its session's whole lifetime: it records the timeout
        // itself (the sweeper's transition, so a racing sweeper changes nothing).
        if seen.state() == SessionState::Timeout { core.time_out(&session.id).await? } else { seen }
    };
    Ok(LoginResult::of(&session, login.session_id.clone(), &core.public_url))
}

/// Number matching: the number and three sorted distinct choices holding it.
fn numbers(core: &Core) -> Result<(u8, Vec<u8>), CoreError> {
    let mut bytes = [0u8; 16];
    core.random.fill(&mut bytes)?;
    let mut choices: Vec<u8> = Vec::new();
    for b in bytes {
        let n = 10 + b % 90;
        if !choices.contains(&n) {
            choices.push(n);
        }
        if choices.len() == 3 {
            break;
        }
    }
    let number = *choices.first().ok_or_else(|| CoreError::Internal("no numbers".into()))?;
    choices.sort_unstable();
    Ok((number, choices))
}

impl Core {
    /// The message a push shows: the base message, with the context template filled when
    /// the login names an IP address or user agent; the base message alone (and an event
    /// in the log) when geolocation fails.
    fn secure_message(
        &self,
        tenant: &crate::tenant::Tenant,
        login: &super::command::StartLogin,
        user: &User,
        request_id: &str,
    ) -> Result<String, CoreError> {
        let base = login.message.clone().unwrap_or_else(|| format!("Log in to {}?", tenant.domain));
        let ip = crate::context::check(login.ip_address.as_deref(), login.user_agent.as_deref())?;
        if ip.is_none() && login.user_agent.is_none() {
            return Ok(base);
        }
        let place = match ip {
            Some(ip) => match self.geo.locate(ip) {
                Ok(p) => p,
                Err(reason) => {
                    tracing::warn!(event = "geolocation_failed", request = %request_id, %reason,
                        "geolocation failed: the push shows the base message only");
                    return Ok(base);
                }
            },
            None => crate::context::Place::default(),
        };
        let (os, browser) = login.user_agent.as_deref().map(crate::context::user_agent).unwrap_or_default();
        let language = tenant.settings.language(login.language.as_deref(), user.locale.as_deref());
        let template = crate::context::template_for(&tenant.settings.confirmation_templates, &language);
        let message = crate::context::fill(template, &base, &os, &browser, &place);
        Ok(message.chars().take(1000).collect())
    }

    /// The pending requests of an active device's user.
    pub async fn pending_requests(&self, device: &Device) -> Result<Vec<PendingRequest>, CoreError> {
        let now = self.clock.now();
        let sessions = self.store.pending_sessions(&device.user_pk, now).await?;
        Ok(sessions.iter().filter(|s| s.tenant_id == device.tenant_id).map(pending_view).collect())
    }

    /// One pending request of the device's user.
    pub async fn pending_request(&self, device: &Device, request_id: &str) -> Result<PendingRequest, CoreError> {
        let s = self.device_session(device, request_id).await?;
        if s.state().is_final() {
            return Err(closed(s.state()));
        }
        Ok(pending_view(&s))
    }

    /// A push session of the device's user (others are not the device's to see).
    async fn device_session(&self, device: &Device, request_id: &str) -> Result<Session, CoreError> {
        self.current_session(request_id)
            .await?
            .filter(|s| {
                s.user_pk == device.user_pk && s.tenant_id == device.tenant_id && s.method.is_some_and(Method::is_push)
            })
            .ok_or(CoreError::NotFound(Entity::Session))
    }

    /// The device answers a request (docs/mobile-protocol.md, "Answering"): declines are
    /// signed with the possession key, approvals with the key the method names.
    pub async fn respond(
        &self,
        device: &Device,
        request_id: &str,
        body: ResponseBody,
    ) -> Result<ResponseResult, CoreError> {
        let s = self.device_session(device, request_id).await?;
        if s.state().is_final() {
            return Err(closed(s.state()));
        }
        let expected_digest = signed::display_digest(&s.message, &s.context);
        if body.display_digest != expected_digest {
            return Err(CoreError::refused(
                Refusal::Unprocessable,
                RefusalCode::DisplayMismatch,
                "the response signs something other than what was sent",
            ));
        }
        let accept = match body.decision.as_str() {
            "accept" => true,
            "decline" => false,
            _ => return Err(CoreError::invalid("decision", "decision must be accept or decline")),
        };
        let method = s.method.ok_or(CoreError::NotFound(Entity::Session))?;
        let key = match (accept, body.key.as_str()) {
            (false, "possession") => device.possession_key.as_str(),
            (false, _) => return Err(wrong_key(&s, "decline")),
            (true, key) => method.module().approver(device, &s, key)?,
        };
        let bytes = signed::response(&s.id, &body.decision, &s.nonce, body.number, &body.display_digest);
        if body.key == "pin" {
            // A PIN-key signature is a PIN guess: an attempt is reserved on the device
            // before the signature is checked (`crate::attempts`).
            self.pin_guess(device, &s, || crypto::verify(key, &bytes, &body.signature)).await?;
        } else if !crypto::verify(key, &bytes, &body.signature) {
            self.audit_device_refusal(device, &s, RefusalCode::BadSignature, None).await;
            return Err(CoreError::refused(
                Refusal::Unauthenticated,
                RefusalCode::BadSignature,
                "the response signature does not verify",
            ));
        }
        let (to, reason) = match (accept, s.number) {
            (false, _) => (SessionState::Decline, None),
            (true, Some(n)) if body.number != Some(n) => (SessionState::Decline, Some("wrong_number")),
            (true, _) => (SessionState::Accept, None),
        };
        let mut ending = Ending::new(to).by(&device.id);
        if let Some(r) = reason {
            ending = ending.because(r);
        }
        let ended = self.end_session(&s, ending).await?;
        Ok(ResponseResult { session_status: ended.state().as_str().to_owned() })
    }

    /// A PIN guess on `device` for session `s`: an attempt reserved on the device, then
    /// `verify` (the PIN-key signature check, run only with an attempt); `Ok` when right.
    async fn pin_guess(&self, device: &Device, s: &Session, verify: impl FnOnce() -> bool) -> Result<(), CoreError> {
        let tenant = self.store.tenant_by_id(&device.tenant_id).await?.ok_or(CoreError::NotFound(Entity::Tenant))?;
        let counter = Counter::Pin { device_id: &device.id, max: tenant.settings.max_pin_attempts };
        match self.guess(counter, async { Ok(verify()) }).await? {
            Guess::Right => Ok(()),
            Guess::Wrong { left } => {
                self.audit_device_refusal(device, s, RefusalCode::WrongPin, left).await;
                Err(CoreError::Refused {
                    kind: Refusal::Unprocessable,
                    code: RefusalCode::WrongPin,
                    message: "the PIN is wrong".into(),
                    attempts_left: left,
                })
            }
            Guess::Exhausted { closed } => {
                let ending = Ending::failed("pin_attempts_exceeded").by(&device.id);
                match self.end_session(s, ending).await {
                    // Ended meanwhile (answered, timed out): the device is disconnected all the same.
                    Ok(_) | Err(CoreError::Refused { code: RefusalCode::SessionClosed, .. }) => {}
                    Err(e) => tracing::warn!(request = %s.id, error = %crate::session::cause(&e),
                        "could not fail the session of a disconnected device"),
                }
                if closed {
                    tracing::warn!(device = %device.id, "device disconnected after too many wrong PINs");
                    self.locked_out(crate::metrics::Lockout::DevicePin, device_event(device)).await;
                }
                Err(CoreError::refused(
                    Refusal::Forbidden,
                    RefusalCode::DeviceDisconnected,
                    "too many wrong PINs: this device has been disconnected",
                ))
            }
            // Not checked: the device's last PIN attempt is taken (its answer decides), or
            // the device was disconnected meanwhile.
            Guess::Refused => Err(CoreError::refused(
                Refusal::Forbidden,
                RefusalCode::DeviceDisconnected,
                "no PIN attempt is left on this device",
            )),
        }
    }
}

/// An audit event about `device` (its user, by it), naming it.
fn device_event(device: &Device) -> AuditEvent {
    AuditEvent::new(AuditKind::Locked)
        .tenant_id(&device.tenant_id)
        .user_pk(&device.user_pk)
        .by(Actor::Device(device.id.clone()))
        .details(serde_json::json!({ "device": device.id }))
}

/// A push session as the device fetches it.
fn pending_view(s: &Session) -> PendingRequest {
    PendingRequest {
        request_id: s.id.clone(),
        method: s.method.and_then(Method::device_name).unwrap_or("NoPIN").to_owned(),
        custom_authenticator: s.custom_authenticator.clone(),
        message: s.message.clone(),
        context: s.context.clone(),
        nonce: s.nonce.clone(),
        number_choices: (!s.number_choices.is_empty()).then(|| s.number_choices.clone()),
        expires_at: s.expires_at.to_rfc3339(),
    }
}
