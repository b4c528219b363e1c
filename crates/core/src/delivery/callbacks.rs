//! Callbacks to relying parties when a session ends (docs/delivery.md, "Callback
//! allowlist"): the per-tenant allowlist with optional Basic credentials, the signing
//! secret, the body, and the signature both sides compute.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

use crate::clock::Timestamp;
use crate::error::CoreError;

/// The most endpoints a tenant's allowlist holds. The allowlist is one document, read and
/// replaced whole (`GET`/`PUT …/callbacks`), so this cap, not paging, bounds its answer.
pub const MAX_CALLBACK_ENDPOINTS: usize = 50;

/// A tenant's callback settings as stored: credentials and secret sealed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredCallbacks {
    /// Whether only listed URLs may be used.
    pub allowlist_enabled: bool,
    /// The listed endpoints.
    pub endpoints: Vec<StoredEndpoint>,
    /// The signing secret, sealed.
    #[serde(default)]
    pub secret: Option<String>,
}

/// One listed endpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredEndpoint {
    /// Exact URL.
    pub url: String,
    /// Basic auth user name.
    pub username: Option<String>,
    /// Basic auth password, sealed.
    pub password: Option<String>,
}

/// Input of `PUT /admin/v1/tenants/{domain}/callbacks`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CallbackConfigInput {
    /// Only listed URLs may be used (default true).
    #[serde(default = "yes")]
    pub allowlist_enabled: bool,
    /// The allowed endpoints (exact URLs), with optional Basic credentials; at most 50
    /// (the document is read and replaced whole, never paged).
    #[serde(default)]
    #[schema(max_items = 50)]
    pub endpoints: Vec<EndpointInput>,
}

fn yes() -> bool {
    true
}

/// One endpoint in the input.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointInput {
    /// Exact URL, `http://` or `https://`.
    pub url: String,
    /// Basic auth user name.
    #[serde(default)]
    pub username: Option<String>,
    /// Basic auth password (stored sealed, never returned).
    #[serde(default)]
    pub password: Option<String>,
}

/// The callback settings as the API shows them (no password, no secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallbackConfigView {
    /// Only listed URLs may be used.
    pub allowlist_enabled: bool,
    /// The allowed endpoints: at most 50, all of them (not paged).
    #[schema(max_items = 50)]
    pub endpoints: Vec<EndpointView>,
    /// Whether a signing secret exists.
    pub has_secret: bool,
}

/// One endpoint as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointView {
    /// Exact URL.
    pub url: String,
    /// Basic auth user name.
    pub username: Option<String>,
    /// Whether a password is set.
    pub has_password: bool,
}

impl StoredCallbacks {
    /// What a tenant that never configured callbacks has: allowlist on, nothing listed.
    pub fn initial() -> StoredCallbacks {
        StoredCallbacks { allowlist_enabled: true, endpoints: Vec::new(), secret: None }
    }

    pub(crate) fn view(&self) -> CallbackConfigView {
        CallbackConfigView {
            allowlist_enabled: self.allowlist_enabled,
            endpoints: self
                .endpoints
                .iter()
                .map(|e| EndpointView {
                    url: e.url.clone(),
                    username: e.username.clone(),
                    has_password: e.password.is_some(),
                })
                .collect(),
            has_secret: self.secret.is_some(),
        }
    }

    /// The listed endpoint with exactly this URL.
    pub fn endpoint(&self, url: &str) -> Option<&StoredEndpoint> {
        self.endpoints.iter().find(|e| e.url == url)
    }
}

/// Check a callback URL's form.
pub fn check_url(field: &str, url: &str) -> Result<(), CoreError> {
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() <= 2048
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(CoreError::invalid(field, "must be an http:// or https:// URL of at most 2048 characters"))
    }
}

/// `v1=` + hex HMAC-SHA256(secret, timestamp + "." + body): the `X-CS-Signature` value.
pub fn signature(secret: &str, timestamp_ms: i64, body: &str) -> Result<String, CoreError> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| CoreError::Internal("hmac key".into()))?;
    mac.update(timestamp_ms.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Ok(format!("v1={}", hex::encode(mac.finalize().into_bytes())))
}

/// The callback body for a session that ended.
pub fn body(
    request_id: &str,
    user_id: &str,
    domain: &str,
    status: &str,
    reason: Option<&str>,
    at: Timestamp,
) -> String {
    serde_json::json!({
        "requestID": request_id,
        "userID": user_id,
        "domain": domain,
        "sessionStatus": status,
        "reason": reason,
        "decidedAt": at.to_rfc3339(),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_over_timestamp_dot_body() {
        // RFC 4231 test case 2 shape: key "Jefe", data "what do ya want for nothing?".
        let sig = signature("Jefe", 0, "what do ya want for nothing?").unwrap();
        // HMAC over "0.what do ya want for nothing?" — recomputed independently:
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"0.what do ya want for nothing?");
        assert_eq!(sig, format!("v1={}", hex::encode(mac.finalize().into_bytes())));
        assert_ne!(sig, signature("Jefe", 1, "what do ya want for nothing?").unwrap());
    }

    #[test]
    fn urls_are_checked() {
        assert!(check_url("u", "https://rp.example/cb").is_ok());
        for bad in ["ftp://x", "https://a b", "rp.example/cb", ""] {
            assert!(check_url("u", bad).is_err(), "{bad}");
        }
    }
}
