//! The integration API's login shapes (the seed vendor's JSON): `LoginInput`, which
//! becomes the domain's [`LoginCall`], and `LoginOutput`, made from the domain's
//! [`LoginResult`]. Core knows neither; another front door maps its own shapes to the same
//! command and result.

use std::collections::BTreeMap;

use countersign_core::clock::Timestamp;
use countersign_core::error::CoreError;
use countersign_core::fido::FidoChallenge;
use countersign_core::login::LoginResult;
use countersign_core::methods::command::{AnswerLogin, LoginCall, StartLogin};
use countersign_core::session::SessionState;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `LoginInput`: what `POST /v1/users/{userID@domain}/login` takes (the seed vendor's
/// shape); [`LoginInput::into_call`] makes it a domain command ([`LoginCall`]).
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
    #[serde(default, deserialize_with = "countersign_core::validate::optional_json_object")]
    #[schema(value_type = Option<Object>)]
    pub credentials: Option<serde_json::Value>,
    /// Client device data collected by the page (adaptive logins; docs/risk.md).
    #[serde(default, deserialize_with = "countersign_core::validate::optional_json_object")]
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
            // The relying party shows `numberToShow` itself.
            no_number: false,
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

/// `LoginOutput`, and the answer of `GET /v1/sessions/{requestID}` and of event validation
/// (`objectType` `EventValidationOutput`).
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
    pub fido_challenge: Option<FidoChallenge>,
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
    /// The wire shape of `r`, as `objectType` (`LoginOutput` or `EventValidationOutput`).
    pub fn new(object_type: &'static str, r: LoginResult) -> LoginOutput {
        LoginOutput {
            object_type,
            request_id: r.request_id,
            session_status: r.state,
            expires_at: r.expires_at,
            number_to_show: r.number_to_show,
            request_message: r.request_message,
            reason: r.reason,
            session_id: r.session_id,
            votp_response: r.custom_code,
            fallback: r.fallback,
            user_id: r.user_id,
            domain: r.domain,
            device_id: r.device_id,
            risk_response_code: r.risk_response_code,
            risk_reasons: r.risk_reasons,
            fido_challenge: r.fido_challenge,
            qr_payload: r.qr_payload,
            app_link: r.app_link,
            qr_png: None,
            qr_svg: None,
        }
    }
}

impl From<LoginResult> for LoginOutput {
    fn from(r: LoginResult) -> LoginOutput {
        LoginOutput::new("LoginOutput", r)
    }
}
