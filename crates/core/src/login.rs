//! Push login sessions: starting them, waiting for them to end without a thread per
//! waiter, and the device's side: fetching requests and answering them
//! (docs/mobile-protocol.md, "Login sessions" and "Answering").

use std::collections::BTreeMap;

use countersign_proto::messages::{PendingRequest, RequestMessage, ResponseBody, ResponseResult};
use countersign_proto::{b64u_encode, crypto, signed};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::Timestamp;
use crate::delivery::outbox::{OutboxKind, OutboxMessage};
use crate::device::{Device, DeviceState};
use crate::error::{CoreError, Entity, Refusal};
use crate::otp::AuthMethod;
use crate::random;
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::session::{Ending, NewSession, PushMethod, Session, SessionState, closed};
use crate::tenant::{NumberMatching, Tenant};
use crate::user::{UserRef, UserStatus};

/// Longest `?wait=` on the session status call, in seconds.
pub const MAX_STATUS_WAIT_SECONDS: u32 = 60;

/// `LoginInput` for push logins.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginInput {
    /// `LoginInput` (optional).
    #[serde(default)]
    pub object_type: Option<String>,
    /// The authentication type to start (`push`, `NoPIN`, `PIN`, `Fingerprint`, `votp`,
    /// `votpCustomDelivery`, `sms`, `email`, or a tenant-defined type); with `requestID`,
    /// the one-time code the user typed (docs/otp.md).
    #[schema(example = "PIN")]
    #[serde(default)]
    pub pass_key: String,
    /// `{"fidoAuthenticator": {"authenticationResponse": …}}`: finishes a FIDO
    /// authentication named by `requestID` (docs/fido.md).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub credentials: Option<serde_json::Value>,
    /// Client device data collected by the page (adaptive logins; docs/risk.md).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub cddc: Option<serde_json::Value>,
    /// The code session a one-time code is checked against.
    #[serde(default, rename = "requestID")]
    pub request_id: Option<String>,
    /// The code of the user's TOTP/HOTP token (with `passKey` `totp`; docs/tokens.md).
    #[serde(default)]
    pub otp: Option<String>,
    /// The end user's IP address: adds the place to the secure message (docs/otp.md).
    #[serde(default)]
    pub ip_address: Option<String>,
    /// The end user's browser's `User-Agent`: adds browser and system to the message.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// Language of the message sent (default: the user's locale, else `en`).
    #[serde(default)]
    pub language_code: Option<String>,
    /// Seconds to wait for the user (synchronous); `0`: return at once (asynchronous);
    /// absent: the tenant's `loginTimeoutSeconds`.
    #[serde(default)]
    #[schema(maximum = 3600)]
    pub timeout: Option<u32>,
    /// `pushNotification` (default) or `requestMessage`.
    #[serde(default)]
    pub orchestration_delivery: Option<String>,
    /// The message shown on the device (default "Log in to {domain}?").
    #[serde(default)]
    pub login_message: Option<String>,
    /// Short key/value pairs shown with the message (at most 10).
    #[serde(default)]
    pub context: BTreeMap<String, String>,
    /// The relying party's own session ID, echoed back.
    #[serde(default, rename = "sessionID")]
    pub session_id: Option<String>,
    /// Where to POST the result when the session ends (must be on the tenant's callback
    /// allowlist; docs/delivery.md).
    #[serde(default, rename = "callbackURL")]
    pub callback_url: Option<String>,
}

/// `LoginOutput`, and the answer of `GET /v1/sessions/{requestID}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginOutput {
    /// Always `LoginOutput`.
    pub object_type: &'static str,
    /// The session's request ID.
    #[serde(rename = "requestID")]
    pub request_id: String,
    /// `Pending`, `Accept`, `Decline`, `Timeout` or `Failed`.
    pub session_status: SessionState,
    /// When a pending session times out.
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    /// The number the relying party shows for number matching.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_to_show: Option<u8>,
    /// With `requestMessage` delivery: what to hand the app (e.g. as a QR code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_message: Option<String>,
    /// Why the server ended it (`no_device`, `pin_attempts_exceeded`, `wrong_number`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The caller's `sessionID`, echoed.
    #[serde(rename = "sessionID", skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// With `votpCustomDelivery`, while pending: the code for the caller to deliver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub votp_response: Option<String>,
    /// The fallback type started instead of the one asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// QR login, once claimed: who logged in (the user ID, without the domain).
    #[serde(rename = "userID", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// QR login, once claimed: the tenant's domain of `userID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// QR login, once claimed: the device that claimed it.
    #[serde(rename = "deviceID", skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// Adaptive logins and events: the risk engine's decision (docs/risk.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_response_code: Option<u32>,
    /// The rules behind `riskResponseCode`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub risk_reasons: Vec<String>,
    /// A FIDO challenge of the risk engine (`riskResponseCode` 14): the ceremony to pass
    /// to the browser or the FIDO client; finish it with the login call (docs/fido.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fido_challenge: Option<crate::fido::FidoChallenge>,
}

impl LoginOutput {
    pub(crate) fn of(s: &Session, session_id: Option<String>, server: &str) -> LoginOutput {
        LoginOutput {
            number_to_show: s.number,
            request_message: (s.delivery == "requestMessage")
                .then(|| RequestMessage { server: server.to_owned(), request_id: s.id.clone() }.to_uri()),
            reason: s.reason().map(str::to_owned),
            session_id,
            ..LoginOutput::bare(&s.id, s.state(), s.expires_at)
        }
    }

    /// The output of request `id` in `state` with nothing else to tell (e.g. a QR login not
    /// claimed yet).
    pub(crate) fn bare(id: &str, state: SessionState, expires_at: Timestamp) -> LoginOutput {
        LoginOutput {
            object_type: "LoginOutput",
            request_id: id.to_owned(),
            session_status: state,
            expires_at,
            number_to_show: None,
            request_message: None,
            reason: None,
            session_id: None,
            votp_response: None,
            fallback: None,
            user_id: None,
            domain: None,
            device_id: None,
            risk_response_code: None,
            risk_reasons: Vec::new(),
            fido_challenge: None,
        }
    }
}

fn check_display(input: &LoginInput) -> Result<(), CoreError> {
    let printable = |s: &str| !s.chars().any(char::is_control);
    if let Some(m) = &input.login_message
        && (m.trim().is_empty() || m.chars().count() > 200 || !printable(m))
    {
        return Err(CoreError::invalid(
            "loginMessage",
            "loginMessage must be 1 to 200 characters without control characters",
        ));
    }
    if input.context.len() > 10 {
        return Err(CoreError::invalid("context", "context holds at most 10 entries"));
    }
    for (k, v) in &input.context {
        if k.is_empty() || k.chars().count() > 32 || v.chars().count() > 200 || !printable(k) || !printable(v) {
            return Err(CoreError::invalid(
                format!("context.{k}"),
                "context keys are 1 to 32 characters, values at most 200, without control characters",
            ));
        }
    }
    Ok(())
}

impl Core {
    /// Number matching: the number and three sorted distinct choices holding it.
    fn numbers(&self) -> Result<(u8, Vec<u8>), CoreError> {
        let mut bytes = [0u8; 16];
        self.random.fill(&mut bytes)?;
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

    /// `POST /v1/users/{userID@domain}/login`: start the type `passKey` names, or with
    /// `requestID` check a one-time code (docs/otp.md).
    pub async fn login(&self, tenant: &Tenant, user: &str, input: LoginInput) -> Result<LoginOutput, CoreError> {
        if input.object_type.as_deref().is_some_and(|t| t != "LoginInput") {
            return Err(CoreError::invalid("objectType", "objectType must be LoginInput"));
        }
        if let Some(rid) = input.request_id.clone() {
            let u = match self.login_user(tenant, user).await {
                Ok(u) => u,
                Err(e) => {
                    // Unknown users cost what a password check costs.
                    self.burn_password_check(&input.pass_key).await;
                    return Err(e);
                }
            };
            if let Some(creds) = &input.credentials {
                let out = self.fido_login(tenant, &u, &rid, creds, input.session_id.clone()).await;
                // A FIDO response that does not verify counts for the risk engine's velocity.
                if let Err(CoreError::Refused { kind: Refusal::Unprocessable, code, .. }) = &out
                    && code.is_fido_response_failure()
                {
                    let ip = input.ip_address.as_deref().and_then(|a| a.parse().ok());
                    self.record_risk_failure(tenant, &u.id, ip).await;
                }
                return out;
            }
            let challenge = self
                .current_session(&rid)
                .await?
                .filter(|s| s.tenant_id == tenant.id && s.user_pk == u.id && s.delivery == "static_password");
            if let Some(s) = challenge {
                return self.answer_password(tenant, user, &u, s, input).await;
            }
            return self.verify_code(tenant, &u, &rid, &input.pass_key, input.session_id.clone()).await;
        }
        if input.pass_key.is_empty() && input.otp.is_none() {
            let u = self.login_user(tenant, user).await?;
            return self.adaptive_login(tenant, user, &u, input).await;
        }
        if let Some(otp) = input.otp.clone() {
            let u = self.login_user(tenant, user).await?;
            return self.token_login(tenant, &u, &otp, &input).await;
        }
        let name = input.pass_key.clone();
        let ty = match self.auth_type(tenant, &name).await? {
            Some(t) => t,
            // A token code sent as the passKey itself, as OneSpan integrations do.
            None if (6..=8).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_digit()) => {
                let u = self.login_user(tenant, user).await?;
                return self.token_login(tenant, &u, &name, &input).await;
            }
            None => {
                return Err(CoreError::invalid(
                    "passKey",
                    "passKey names no authentication type of this tenant (see docs/otp.md)",
                ));
            }
        };
        let method = match ty.method {
            AuthMethod::Push => PushMethod::NoPin,
            AuthMethod::PushPin => PushMethod::Pin,
            AuthMethod::PushFingerprint => PushMethod::Fingerprint,
            AuthMethod::Sms | AuthMethod::Email => {
                if let Some(url) = &input.callback_url {
                    self.check_callback(tenant, url).await?;
                }
                let u = self.login_user(tenant, user).await?;
                return self.start_code(tenant, &u, &input, &name, &ty, false).await;
            }
            AuthMethod::Totp => {
                return Err(CoreError::invalid("otp", "a token login carries the token's code in otp"));
            }
            AuthMethod::Fido2 | AuthMethod::Uaf => {
                if !ty.enabled {
                    return Err(CoreError::refused(
                        Refusal::Forbidden,
                        RefusalCode::AuthTypeDisabled,
                        "this type is switched off",
                    ));
                }
                let u = self.login_user(tenant, user).await?;
                let protocol = if ty.method == AuthMethod::Uaf { "UAF11" } else { "FIDO2" };
                let mut out = self.fido_challenge(tenant, &u, Some(protocol), input.login_message.as_deref()).await?;
                out.session_id = input.session_id.clone();
                return Ok(out);
            }
            _ => {
                return Err(CoreError::Refused {
                    kind: Refusal::Unprocessable,
                    code: RefusalCode::AuthTypeUnavailable,
                    message: "this authentication type's method cannot be started yet".into(),
                    attempts_left: None,
                });
            }
        };
        if !ty.enabled {
            return Err(CoreError::refused(
                Refusal::Forbidden,
                RefusalCode::AuthTypeDisabled,
                "this type is switched off",
            ));
        }
        let delivery = input.orchestration_delivery.clone().unwrap_or_else(|| "pushNotification".to_owned());
        if delivery != "pushNotification" && delivery != "requestMessage" {
            return Err(CoreError::invalid("orchestrationDelivery", "must be pushNotification or requestMessage"));
        }
        let timeout = input.timeout.unwrap_or(tenant.settings.login_timeout_seconds);
        if timeout > crate::tenant::MAX_LOGIN_TIMEOUT_SECONDS {
            return Err(CoreError::invalid("timeout", "timeout must be between 0 and 3600 seconds"));
        }
        check_display(&input)?;
        if !tenant.settings.push_authorization {
            return Err(CoreError::refused(
                Refusal::Forbidden,
                RefusalCode::PushAuthorizationDisabled,
                "push login is switched off for this tenant",
            ));
        }
        if let Some(url) = &input.callback_url {
            self.check_callback(tenant, url).await?;
        }
        let u = self.login_user(tenant, user).await?;
        let devices: Vec<Device> =
            self.store.user_devices(&u.id).await?.into_iter().filter(|d| d.state == DeviceState::Active).collect();
        if devices.is_empty()
            && let Some(fallback) = &ty.fallback
        {
            let fty = self.auth_type(tenant, fallback).await?;
            if let Some(fty) = fty.filter(|f| matches!(f.method, AuthMethod::Sms | AuthMethod::Email)) {
                // start_code applies the login-request limit to the code it sends.
                return self.start_code(tenant, &u, &input, fallback, &fty, true).await;
            }
        }
        if delivery == "pushNotification" {
            self.check_login_requests(tenant, &u).await?;
        }
        let matching = match (tenant.settings.number_matching, timeout) {
            (NumberMatching::Off, _) => false,
            (NumberMatching::Asynchronous, t) => t == 0,
            (NumberMatching::Required, 0) => true,
            (NumberMatching::Required, _) => {
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
        let (number, number_choices) = if matching && !devices.is_empty() {
            self.numbers().map(|(n, c)| (Some(n), c))?
        } else {
            (None, Vec::new())
        };
        let mut nonce = [0u8; 32];
        self.random.fill(&mut nonce)?;
        let now = self.clock.now();
        let lifetime = if timeout == 0 { tenant.settings.login_timeout_seconds } else { timeout };
        let no_device = devices.is_empty();
        let id = random::new_id(&*self.random)?;
        let new = NewSession {
            id: id.clone(),
            tenant_id: tenant.id.clone(),
            user_pk: u.id.clone(),
            method,
            message: self.secure_message(tenant, &input, &u, id.as_str())?,
            context: input.context.clone(),
            nonce: b64u_encode(&nonce),
            number,
            number_choices,
            delivery: delivery.clone(),
            created_at: now,
            expires_at: now.plus_millis(i64::from(lifetime) * 1000),
            callback_url: input.callback_url.clone(),
        };
        let session = if no_device { Session::ended(new, Ending::failed("no_device"))? } else { Session::pending(new) };
        let mut outbox = Vec::new();
        if delivery == "pushNotification" {
            for device in devices.iter().filter(|d| d.push_platform.as_deref().is_some_and(|p| p != "poll")) {
                let payload = serde_json::json!({"requestID": session.id, "deviceID": device.id}).to_string();
                let id = random::new_id(&*self.random)?;
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
        self.insert_session(&session, outbox).await?;
        let session = if timeout == 0 || no_device {
            session
        } else {
            let seen = self.wait_for_end(&session.id, session.expires_at).await?;
            // The login waited out its session's whole lifetime: it records the timeout
            // itself (the sweeper's transition, so a racing sweeper changes nothing).
            if seen.state() == SessionState::Timeout { self.time_out(&session.id).await? } else { seen }
        };
        Ok(LoginOutput::of(&session, input.session_id, &self.public_url))
    }

    /// The message a push shows: the base message, with the context template filled when
    /// the login names an IP address or user agent; the base message alone (and an event
    /// in the log) when geolocation fails.
    fn secure_message(
        &self,
        tenant: &Tenant,
        input: &LoginInput,
        user: &crate::user::User,
        request_id: &str,
    ) -> Result<String, CoreError> {
        let base = input.login_message.clone().unwrap_or_else(|| format!("Log in to {}?", tenant.domain));
        let ip = crate::context::check(input.ip_address.as_deref(), input.user_agent.as_deref())?;
        if ip.is_none() && input.user_agent.is_none() {
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
        let (os, browser) = input.user_agent.as_deref().map(crate::context::user_agent).unwrap_or_default();
        let language = tenant.settings.language(input.language_code.as_deref(), user.locale.as_deref());
        let template = crate::context::template_for(&tenant.settings.confirmation_templates, &language);
        let message = crate::context::fill(template, &base, &os, &browser, &place);
        Ok(message.chars().take(1000).collect())
    }

    /// Refuse a new login request (a push, a code by SMS or e-mail) when the user was
    /// sent the tenant's `loginRequestLimit` within its window (docs/foundation.md, "Rate
    /// limits"): against push bombing and SMS pumping.
    pub(crate) async fn check_login_requests(&self, tenant: &Tenant, user: &crate::User) -> Result<(), CoreError> {
        let s = &tenant.settings;
        if s.login_request_limit == 0 {
            return Ok(());
        }
        let now = self.clock.now();
        let window = i64::from(s.login_request_window_seconds) * 1000;
        let (sent, oldest) = self.store.login_requests_since(&user.id, now.plus_millis(-window)).await?;
        if sent < u64::from(s.login_request_limit) {
            return Ok(());
        }
        let wait_ms = oldest.map_or(window, |o| o.millis() + window - now.millis()).max(1000);
        let retry_after_seconds = u32::try_from((wait_ms + 999) / 1000).unwrap_or(s.login_request_window_seconds);
        self.metrics.rate_limited(crate::metrics::RateLimit::LoginRequests);
        Err(CoreError::RateLimited {
            code: RefusalCode::TooManyLoginRequests,
            message: format!(
                "this user was sent {sent} login requests in the last {} seconds; the next may be sent in \
                 {retry_after_seconds} seconds",
                s.login_request_window_seconds
            ),
            retry_after_seconds,
        })
    }

    /// The active user `user` (`userID@domain`) of `tenant`, for a login.
    pub(crate) async fn login_user(&self, tenant: &Tenant, user: &str) -> Result<crate::user::User, CoreError> {
        let r = UserRef::parse(user)?;
        if r.domain != tenant.domain {
            return Err(CoreError::NotFound(Entity::User));
        }
        let u = self.user_in(tenant, r.user_id.as_str()).await?;
        match u.status {
            UserStatus::Active => Ok(u),
            UserStatus::Locked => {
                Err(CoreError::refused(Refusal::Forbidden, RefusalCode::UserLocked, "the user is locked"))
            }
            UserStatus::Disabled => {
                Err(CoreError::refused(Refusal::Forbidden, RefusalCode::UserDisabled, "the user is disabled"))
            }
        }
    }

    /// `GET /v1/sessions/{requestID}`: the state now, or after up to `wait` seconds.
    pub async fn session_status(
        &self,
        tenant: &Tenant,
        request_id: &str,
        wait: Option<u32>,
    ) -> Result<LoginOutput, CoreError> {
        let wait = wait.unwrap_or(0);
        if wait > MAX_STATUS_WAIT_SECONDS {
            return Err(CoreError::invalid(
                "wait",
                format!("wait must be between 0 and {MAX_STATUS_WAIT_SECONDS} seconds"),
            ));
        }
        let s = self.current_session(request_id).await?.filter(|s| s.tenant_id == tenant.id);
        let s = match s {
            Some(s) => s,
            None => match self.qr_status(tenant, request_id, wait).await? {
                Some(out) => return Ok(out),
                // Claimed meanwhile, or no such request.
                None => self
                    .store
                    .session(request_id)
                    .await?
                    .filter(|s| s.tenant_id == tenant.id)
                    .ok_or(CoreError::NotFound(Entity::Session))?,
            },
        };
        let s = if wait > 0 && !s.state().is_final() {
            self.wait_for_end(&s.id, self.clock.now().plus_millis(i64::from(wait) * 1000)).await?
        } else {
            s
        };
        let mut out = LoginOutput::of(&s, None, &self.public_url);
        out.votp_response = self.custom_code(&s).await?;
        if s.delivery == "qr" && s.state() == SessionState::Accept {
            let user = self.store.user_by_pk(&s.user_pk).await?.ok_or(CoreError::NotFound(Entity::User))?;
            out.user_id = Some(user.user_id.as_str().to_owned());
            out.domain = Some(tenant.domain.as_str().to_owned());
            out.device_id = s.device_id().map(str::to_owned);
        }
        Ok(out)
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

    async fn device_session(&self, device: &Device, request_id: &str) -> Result<Session, CoreError> {
        self.current_session(request_id)
            .await?
            .filter(|s| s.user_pk == device.user_pk && s.tenant_id == device.tenant_id && s.method != PushMethod::Otp)
            .ok_or(CoreError::NotFound(Entity::Session))
    }

    /// The device answers a request (docs/mobile-protocol.md, "Answering").
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
        let key = match (accept, s.method, body.key.as_str()) {
            (false, _, "possession") | (true, PushMethod::NoPin, "possession") => &device.possession_key,
            (true, PushMethod::Pin | PushMethod::Fingerprint, "pin") => &device.pin_key,
            (true, PushMethod::Fingerprint, "biometric") => device
                .biometric_key
                .as_ref()
                .ok_or_else(|| CoreError::invalid("key", "this device registered no biometric key"))?,
            _ => {
                return Err(CoreError::invalid(
                    "key",
                    format!(
                        "a {} {} must be signed with another key (see the protocol)",
                        s.method.as_str(),
                        body.decision
                    ),
                ));
            }
        };
        let bytes = signed::response(&s.id, &body.decision, &s.nonce, body.number, &body.display_digest);
        if !crypto::verify(key, &bytes, &body.signature) {
            if body.key == "pin" {
                return self.wrong_pin(device, &s).await;
            }
            return Err(CoreError::refused(
                Refusal::Unauthenticated,
                RefusalCode::BadSignature,
                "the response signature does not verify",
            ));
        }
        if body.key == "pin" {
            self.store.device_pin_reset(&device.id).await?;
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

    async fn wrong_pin(&self, device: &Device, s: &Session) -> Result<ResponseResult, CoreError> {
        let tenant = self.store.tenant_by_id(&device.tenant_id).await?.ok_or(CoreError::NotFound(Entity::Tenant))?;
        let max = tenant.settings.max_pin_attempts;
        match self.store.device_pin_failure(&device.id, max, self.clock.now()).await? {
            Some((_, DeviceState::Disconnected)) | None => {
                let ending = Ending::failed("pin_attempts_exceeded").by(&device.id);
                match self.end_session(s, ending).await {
                    // Ended meanwhile (answered, timed out): the device is disconnected all the same.
                    Ok(_) | Err(CoreError::Refused { code: RefusalCode::SessionClosed, .. }) => {}
                    Err(e) => tracing::warn!(request = %s.id, error = %crate::session::cause(&e),
                        "could not fail the session of a disconnected device"),
                }
                tracing::warn!(device = %device.id, "device disconnected after too many wrong PINs");
                self.metrics.lockout(crate::metrics::Lockout::DevicePin);
                Err(CoreError::refused(
                    Refusal::Forbidden,
                    RefusalCode::DeviceDisconnected,
                    "too many wrong PINs: this device has been disconnected",
                ))
            }
            Some((n, _)) => Err(CoreError::Refused {
                kind: Refusal::Unprocessable,
                code: RefusalCode::WrongPin,
                message: "the PIN is wrong".into(),
                attempts_left: Some(max.saturating_sub(n)),
            }),
        }
    }
}

fn pending_view(s: &Session) -> PendingRequest {
    PendingRequest {
        request_id: s.id.clone(),
        method: s.method.as_str().to_owned(),
        message: s.message.clone(),
        context: s.context.clone(),
        nonce: s.nonce.clone(),
        number_choices: (!s.number_choices.is_empty()).then(|| s.number_choices.clone()),
        expires_at: s.expires_at.to_rfc3339(),
    }
}
