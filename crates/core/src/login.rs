//! The integration API's login shapes — `LoginInput`, turned into the domain's
//! [`LoginCall`], and `LoginOutput` — and what every login shares: the user it is for, the
//! login-request limit, and reading a session's status. Starting and answering logins is
//! the methods' (docs/architecture.md, "Methods").

use std::collections::BTreeMap;

use countersign_proto::messages::RequestMessage;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::Timestamp;
use crate::error::{CoreError, Entity, Refusal};
use crate::methods::command::{AnswerLogin, LoginCall, StartLogin};
use crate::methods::{Delivery, Method};
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::session::{Session, SessionState};
use crate::tenant::Tenant;
use crate::user::{UserRef, UserStatus};

/// Longest `?wait=` on the session status call, in seconds.
pub const MAX_STATUS_WAIT_SECONDS: u32 = 60;

/// `LoginInput`: what `POST /v1/users/{userID@domain}/login` takes (the seed vendor's
/// shape); [`LoginInput::into_call`] makes it a domain command.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginInput {
    /// `LoginInput` (optional).
    #[serde(default)]
    pub object_type: Option<String>,
    /// The authentication type to start (`push`, `NoPIN`, `PIN`, `Fingerprint`, `votp`,
    /// `votpCustomDelivery`, `sms`, `email`, `voice`, `totp`, `qr`, or a tenant-defined
    /// type); with `requestID`, the one-time code the user typed, or the static password
    /// (docs/otp.md).
    #[schema(example = "PIN")]
    #[serde(default)]
    pub pass_key: String,
    /// `{"fidoAuthenticator": {"authenticationResponse": …}}`: finishes a FIDO
    /// authentication named by `requestID` (docs/fido.md).
    #[serde(default, deserialize_with = "crate::validate::optional_json_object")]
    #[schema(value_type = Option<Object>)]
    pub credentials: Option<serde_json::Value>,
    /// Client device data collected by the page (adaptive logins; docs/risk.md).
    #[serde(default, deserialize_with = "crate::validate::optional_json_object")]
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

impl LoginInput {
    /// The domain command this call is: an answer when it names a `requestID`, an
    /// adaptive login when it carries neither `passKey` nor `otp`, a token login with
    /// `otp`, else the start of the type `passKey` names.
    pub fn into_call(self) -> Result<LoginCall, CoreError> {
        if self.object_type.as_deref().is_some_and(|t| t != "LoginInput") {
            return Err(CoreError::invalid("objectType", "objectType must be LoginInput"));
        }
        let login = StartLogin {
            message: self.login_message,
            context: self.context,
            ip_address: self.ip_address,
            user_agent: self.user_agent,
            language: self.language_code,
            timeout: self.timeout,
            push_delivery: self.orchestration_delivery,
            session_id: self.session_id,
            callback_url: self.callback_url,
        };
        Ok(match (self.request_id, self.otp) {
            (Some(request_id), _) => LoginCall::Answer(AnswerLogin {
                request_id,
                secret: self.pass_key,
                credentials: self.credentials,
                login,
            }),
            (None, None) if self.pass_key.is_empty() => LoginCall::Adaptive { cddc: self.cddc, login },
            (None, Some(otp)) => {
                LoginCall::Token { pass_key: Some(self.pass_key).filter(|p| !p.is_empty()), otp, login }
            }
            (None, None) => LoginCall::Start { pass_key: self.pass_key, login },
        })
    }
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
    /// A `qr_otp` login: what the QR code encodes (docs/otp.md, "QR login as a type").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_payload: Option<String>,
    /// A `qr_otp` login: the same as a link, for a phone that opens links.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_link: Option<String>,
    /// A `qr_otp` login: the QR code as PNG, base64 (added by the HTTP layer).
    #[serde(rename = "qrPNG", skip_serializing_if = "Option::is_none")]
    pub qr_png: Option<String>,
    /// A `qr_otp` login: the QR code as SVG (added by the HTTP layer).
    #[serde(rename = "qrSVG", skip_serializing_if = "Option::is_none")]
    pub qr_svg: Option<String>,
}

impl LoginOutput {
    pub(crate) fn of(s: &Session, session_id: Option<String>, server: &str) -> LoginOutput {
        LoginOutput {
            number_to_show: s.number,
            request_message: (s.delivery == Delivery::RequestMessage)
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
            qr_payload: None,
            app_link: None,
            qr_png: None,
            qr_svg: None,
        }
    }
}

impl Core {
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
        if s.method == Some(Method::QrOtp) && s.state() == SessionState::Accept {
            let user = self.store.user_by_pk(&s.user_pk).await?.ok_or(CoreError::NotFound(Entity::User))?;
            out.user_id = Some(user.user_id.as_str().to_owned());
            out.domain = Some(tenant.domain.as_str().to_owned());
            out.device_id = s.device_id().map(str::to_owned);
        }
        Ok(out)
    }
}
