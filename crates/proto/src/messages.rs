//! JSON messages of the mobile API and the QR activation payload.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `countersign://activate?v=1&server=…&id=…&code=…`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrPayload {
    /// The server's base URL, e.g. `http://127.0.0.1:8080`.
    pub server: String,
    /// The activation ID.
    pub activation_id: String,
    /// The one-time activation code.
    pub code: String,
}

fn pct_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn pct_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl QrPayload {
    /// The text the QR code encodes.
    pub fn to_uri(&self) -> String {
        format!(
            "countersign://activate?v=1&server={}&id={}&code={}",
            pct_encode(&self.server),
            pct_encode(&self.activation_id),
            pct_encode(&self.code)
        )
    }

    /// The app link: `<server>/app/activate?id=…&code=…`, for a phone that opens the link
    /// instead of scanning; without the app it lands on a page that says what to do.
    pub fn app_link(&self) -> String {
        format!(
            "{}/app/activate?id={}&code={}",
            self.server.trim_end_matches('/'),
            pct_encode(&self.activation_id),
            pct_encode(&self.code)
        )
    }

    /// Read a payload, or the app link form; `None` when it is neither.
    pub fn parse(uri: &str) -> Option<QrPayload> {
        let uri = uri.trim();
        if let Some((server, q)) = uri.split_once("/app/activate?")
            && !uri.starts_with("countersign://")
        {
            let mut f = BTreeMap::new();
            for pair in q.split('&') {
                let (k, v) = pair.split_once('=')?;
                f.insert(k, pct_decode(v)?);
            }
            return Some(QrPayload {
                server: server.to_owned(),
                activation_id: f.remove("id")?,
                code: f.remove("code")?,
            });
        }
        let mut fields = query_fields(uri.strip_prefix("countersign://activate?")?)?;
        Some(QrPayload {
            server: fields.remove("server")?,
            activation_id: fields.remove("id")?,
            code: fields.remove("code")?,
        })
    }
}

/// `countersign://request?v=1&server=…&id=…`: a login request handed to the app by the
/// relying party (`orchestrationDelivery: requestMessage`), e.g. as a QR code, instead
/// of a push. Like a push it is a reference: the app fetches the content from `server`
/// over the device-signed mobile API, so it trusts what it shows as much as a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestMessage {
    /// The server's base URL.
    pub server: String,
    /// The login request.
    pub request_id: String,
}

impl RequestMessage {
    /// The text to hand to the app.
    pub fn to_uri(&self) -> String {
        format!("countersign://request?v=1&server={}&id={}", pct_encode(&self.server), pct_encode(&self.request_id))
    }

    /// Read a request message; `None` when it is not one.
    pub fn parse(uri: &str) -> Option<RequestMessage> {
        let mut fields = query_fields(uri.trim().strip_prefix("countersign://request?")?)?;
        Some(RequestMessage { server: fields.remove("server")?, request_id: fields.remove("id")? })
    }
}

/// A QR-login code as the portal shows it (docs/otp.md, "QR login").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrLoginPayload {
    /// The server's base URL (the app refuses codes of other servers).
    pub server: String,
    /// The login request.
    pub request_id: String,
    /// The one-time code.
    pub code: String,
}

impl QrLoginPayload {
    /// The text the QR code encodes.
    pub fn to_uri(&self) -> String {
        format!(
            "countersign://qr-login?v=1&server={}&id={}&code={}",
            pct_encode(&self.server),
            pct_encode(&self.request_id),
            pct_encode(&self.code)
        )
    }

    /// Read a QR-login payload, or the app link form `<server>/app/qr-login?id=…&code=…`;
    /// `None` when it is neither.
    pub fn parse(text: &str) -> Option<QrLoginPayload> {
        let text = text.trim();
        if let Some(q) = text.strip_prefix("countersign://qr-login?") {
            let mut f = query_fields(q)?;
            return Some(QrLoginPayload {
                server: f.remove("server")?,
                request_id: f.remove("id")?,
                code: f.remove("code")?,
            });
        }
        let (server, q) = text.split_once("/app/qr-login?")?;
        let mut f = BTreeMap::new();
        for pair in q.split('&') {
            let (k, v) = pair.split_once('=')?;
            f.insert(k, pct_decode(v)?);
        }
        Some(QrLoginPayload { server: server.to_owned(), request_id: f.remove("id")?, code: f.remove("code")? })
    }
}

/// The body of a QR-login claim.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    /// The code from the QR payload.
    pub code: String,
}

/// The fields of a `v=1` query string, percent-decoded.
fn query_fields(query: &str) -> Option<BTreeMap<&str, String>> {
    let mut fields = BTreeMap::new();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=')?;
        fields.insert(k, pct_decode(v)?);
    }
    (fields.get("v").map(String::as_str) == Some("1")).then_some(fields)
}

/// Step (a): prove knowledge of the activation code.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// The code from the QR payload.
    pub code: String,
}

/// Step (a) answer: the license activation data.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseData {
    /// The activation.
    #[serde(rename = "activationID")]
    pub activation_id: String,
    /// Server nonce the instance step must sign.
    pub nonce: String,
    /// Whose device this becomes.
    #[serde(rename = "userID")]
    pub user_id: String,
    /// The user's tenant.
    pub domain: String,
    /// When the activation expires (RFC 3339).
    pub expires_at: String,
    /// Whether a PIN key is required (always, in this version).
    pub pin_required: bool,
}

/// Step (b): register the instance's keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstanceRequest {
    /// The nonce from step (a).
    pub nonce: String,
    /// Possession public key.
    pub possession_key: String,
    /// PIN public key.
    pub pin_key: String,
    /// Biometric public key, when the device has biometrics.
    #[serde(default)]
    pub biometric_key: Option<String>,
    /// Custom-authenticator public keys by name.
    #[serde(default)]
    pub custom_keys: BTreeMap<String, String>,
    /// The app's ID (push configuration key).
    #[serde(rename = "appID")]
    pub app_id: String,
    /// The app's version.
    pub app_version: String,
    /// A name for the device.
    #[serde(default)]
    pub device_name: Option<String>,
    /// Possession-key signature over the activation proof bytes.
    pub possession_proof: String,
    /// PIN-key signature over the same bytes.
    pub pin_proof: String,
    /// Biometric-key signature over the same bytes.
    #[serde(default)]
    pub biometric_proof: Option<String>,
    /// Each custom-authenticator key's signature over the same bytes, by name (one for
    /// every key in `customKeys`).
    #[serde(default)]
    pub custom_proofs: BTreeMap<String, String>,
}

/// Step (b) answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceData {
    /// The new device.
    #[serde(rename = "deviceID")]
    pub device_id: String,
    /// `Pending` until confirmed.
    pub state: String,
}

/// Step (c) answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Confirmation {
    /// The user.
    #[serde(rename = "userID")]
    pub user_id: String,
    /// The tenant.
    pub domain: String,
    /// The device.
    #[serde(rename = "deviceID")]
    pub device_id: String,
    /// The gateway the device talks to.
    #[serde(rename = "gatewayID")]
    pub gateway_id: String,
}

/// Step (d): where pushes go.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PushRegistration {
    /// `poll`, `webhook`, `fcm`, `apns`, `webpush`.
    pub platform: String,
    /// Token, endpoint or webhook URL (none for `poll`).
    #[serde(default)]
    pub token: Option<String>,
    /// The app's version.
    #[serde(default)]
    pub app_version: Option<String>,
}

/// The body of a push: a reference only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushReference {
    /// The login request.
    #[serde(rename = "requestID")]
    pub request_id: String,
    /// The device it is for.
    #[serde(rename = "deviceID")]
    pub device_id: String,
}

/// A pending request as the device fetches it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingRequest {
    /// The login request.
    #[serde(rename = "requestID")]
    pub request_id: String,
    /// `NoPIN`, `PIN`, `Fingerprint` or `Custom`.
    pub method: String,
    /// With `Custom`: the custom authenticator that approves it (the name of one of the
    /// device's custom keys; the PIN key is the fallback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_authenticator: Option<String>,
    /// What to show.
    pub message: String,
    /// Shown with the message.
    pub context: BTreeMap<String, String>,
    /// The server nonce to sign.
    pub nonce: String,
    /// Number matching choices, when on.
    pub number_choices: Option<Vec<u8>>,
    /// When the request expires (RFC 3339).
    pub expires_at: String,
}

/// The device's answer to a login request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResponseBody {
    /// `accept` or `decline`.
    pub decision: String,
    /// `possession`, `pin`, `biometric` or `custom` (the request's custom authenticator).
    pub key: String,
    /// The number the user picked.
    #[serde(default)]
    pub number: Option<u8>,
    /// Digest of what was shown.
    pub display_digest: String,
    /// Signature over the response bytes.
    pub signature: String,
}

/// The server's answer to a response.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseResult {
    /// The session's state after the response.
    pub session_status: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn qr_payload_round_trip() {
        let p =
            QrPayload { server: "http://127.0.0.1:8080".into(), activation_id: "a-1".into(), code: "ABC234".into() };
        let uri = p.to_uri();
        assert_eq!(uri, "countersign://activate?v=1&server=http%3A%2F%2F127.0.0.1%3A8080&id=a-1&code=ABC234");
        assert_eq!(QrPayload::parse(&uri), Some(p));
        assert_eq!(QrPayload::parse("countersign://activate?v=2&server=x&id=y&code=z"), None);
        let p = QrPayload {
            server: "https://auth.example.com".into(),
            activation_id: "a-1".into(),
            code: "ABC 234".into(),
        };
        assert_eq!(p.app_link(), "https://auth.example.com/app/activate?id=a-1&code=ABC%20234");
        assert_eq!(QrPayload::parse(&p.app_link()), Some(p));
        assert_eq!(QrPayload::parse("https://example.com"), None);
        assert_eq!(QrPayload::parse("countersign://activate?v=1&server=%zz&id=y&code=z"), None);
    }

    #[test]
    fn request_message_round_trip() {
        let m = RequestMessage { server: "https://auth.example.com".into(), request_id: "r-1".into() };
        assert_eq!(m.to_uri(), "countersign://request?v=1&server=https%3A%2F%2Fauth.example.com&id=r-1");
        assert_eq!(RequestMessage::parse(&m.to_uri()), Some(m));
        assert_eq!(RequestMessage::parse("countersign://activate?v=1&server=x&id=y&code=z"), None);
    }

    #[test]
    fn qr_login_payloads_round_trip_in_both_forms() {
        let p = QrLoginPayload {
            server: "https://auth.example.com".into(),
            request_id: "r-1".into(),
            code: "c0de_-".into(),
        };
        assert_eq!(QrLoginPayload::parse(&p.to_uri()), Some(p.clone()));
        assert_eq!(QrLoginPayload::parse("https://auth.example.com/app/qr-login?id=r-1&code=c0de_-"), Some(p));
        assert_eq!(QrLoginPayload::parse("countersign://request?v=1&server=x&id=y"), None);
    }

    proptest! {
        #[test]
        fn qr_login_parse_never_panics(s in ".{0,200}") {
            let _ = QrLoginPayload::parse(&s);
            let _ = QrLoginPayload::parse(&format!("countersign://qr-login?{s}"));
            let _ = QrLoginPayload::parse(&format!("https://x/app/qr-login?{s}"));
        }

        #[test]
        fn qr_parse_never_panics(s in ".{0,200}") {
            let _ = QrPayload::parse(&s);
            let _ = QrPayload::parse(&format!("countersign://activate?{s}"));
        }

        #[test]
        fn qr_round_trips_any_text(server in ".{1,40}", id in ".{1,20}", code in ".{1,20}") {
            let p = QrPayload { server, activation_id: id, code };
            prop_assert_eq!(QrPayload::parse(&p.to_uri()), Some(p));
        }
    }
}
