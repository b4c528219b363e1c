//! The domain commands a login call becomes, whatever front door it came through: the
//! integration API turns its `LoginInput` into a [`LoginCall`]; another front door (RADIUS,
//! a Duo-compatible API) builds one itself.

use std::collections::BTreeMap;

/// What any front door can say about a login it starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartLogin {
    /// What the device shows (pushes; default "Log in to {domain}?").
    pub message: Option<String>,
    /// Short key/value pairs shown with the message (pushes).
    pub context: BTreeMap<String, String>,
    /// The end user's IP address (secure message, risk).
    pub ip_address: Option<String>,
    /// The end user's browser's `User-Agent` (secure message).
    pub user_agent: Option<String>,
    /// The language of what is sent (default: the user's locale, else `en`).
    pub language: Option<String>,
    /// Seconds to wait for the user: `None` the tenant's default, `Some(0)` return at once
    /// (pushes; other methods never wait).
    pub timeout: Option<u32>,
    /// How a push reaches the device, as asked: `pushNotification` (default) or
    /// `requestMessage`; checked by the push methods only.
    pub push_delivery: Option<String>,
    /// The relying party's own session ID, echoed back.
    pub session_id: Option<String>,
    /// Where the result is posted when the session ends (allowlisted).
    pub callback_url: Option<String>,
    /// The front door cannot show the user a number (RADIUS, the Duo-compatible API):
    /// no number matching, and a tenant that requires it refuses the push.
    pub no_number: bool,
}

/// The second call of a login: the answer to a challenge.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnswerLogin {
    /// The session (or FIDO ceremony) answered.
    pub request_id: String,
    /// What the user typed: a one-time code, or a static password.
    pub secret: String,
    /// A FIDO authentication response (`{"fidoAuthenticator": {"authenticationResponse": …}}`).
    pub credentials: Option<serde_json::Value>,
    /// The rest of the call: the relying party's session ID, the end user's address, and
    /// what a login that continues (a `parallel` static password's second factor) shows.
    pub login: StartLogin,
}

/// A login call.
#[derive(Debug, Clone, PartialEq)]
pub enum LoginCall {
    /// Start the authentication type a `passKey` names (or, 6–8 digits naming no type, a
    /// token code as OneSpan integrations send it).
    Start {
        /// The `passKey`.
        pass_key: String,
        /// The rest.
        login: StartLogin,
    },
    /// Check a code of the user's TOTP/HOTP token: as the type `pass_key` names when its
    /// method is `totp`, else as the built-in type `totp`.
    Token {
        /// The `passKey`, if any.
        pass_key: Option<String>,
        /// The token's code.
        otp: String,
        /// The rest.
        login: StartLogin,
    },
    /// No credentials: the risk engine decides (docs/risk.md).
    Adaptive {
        /// Client device data collected by the page.
        cddc: Option<serde_json::Value>,
        /// The rest.
        login: StartLogin,
    },
    /// Answer a challenge.
    Answer(AnswerLogin),
}
