//! Push apps (docs/delivery.md, "Providers"): one set of credentials per platform (FCM,
//! APNs, Web Push) per app ID, and their validation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{check_http_url, check_pem, check_text};
use crate::error::CoreError;

// ---- push apps -------------------------------------------------------------------------

/// `PUT /admin/v1/apps/{appID}`: credentials per platform.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PushAppInput {
    /// Firebase Cloud Messaging (HTTP v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fcm: Option<FcmConfig>,
    /// Apple Push Notification service (token authentication).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apns: Option<ApnsConfig>,
    /// Web Push with VAPID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webpush: Option<WebPushConfig>,
}

/// FCM HTTP v1 settings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FcmConfig {
    /// The Google service-account JSON, as downloaded.
    pub service_account: ServiceAccount,
    /// Send endpoint; default `https://fcm.googleapis.com/v1/projects/{project_id}/messages:send`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_url: Option<String>,
}

/// The fields of a Google service-account key file that are used (others are ignored).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct ServiceAccount {
    /// Firebase project ID.
    pub project_id: String,
    /// Key ID (sent as the JWT `kid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_id: Option<String>,
    /// PKCS#8 PEM RSA private key.
    pub private_key: String,
    /// The service account's e-mail (the JWT issuer).
    pub client_email: String,
    /// OAuth2 token endpoint.
    #[serde(default = "google_token_uri")]
    pub token_uri: String,
}

fn google_token_uri() -> String {
    "https://oauth2.googleapis.com/token".to_owned()
}

impl FcmConfig {
    /// Where messages are posted.
    pub fn send_url(&self) -> String {
        self.send_url.clone().unwrap_or_else(|| {
            format!("https://fcm.googleapis.com/v1/projects/{}/messages:send", self.service_account.project_id)
        })
    }
}

/// APNs environment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApnsEnvironment {
    /// `api.push.apple.com`.
    #[default]
    Production,
    /// `api.sandbox.push.apple.com` (development builds).
    Sandbox,
}

/// APNs token-authentication settings.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApnsConfig {
    /// Apple developer team ID (the JWT issuer).
    pub team_id: String,
    /// The .p8 key's ID (the JWT `kid`).
    pub key_id: String,
    /// The .p8 file: PKCS#8 PEM EC P-256 private key.
    pub private_key: String,
    /// Environment for app versions that do not name one.
    #[serde(default)]
    pub environment: ApnsEnvironment,
    /// Per app version: bundle ID (the `apns-topic`) and environment.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub versions: BTreeMap<String, ApnsVersion>,
    /// Production endpoint; default `https://api.push.apple.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production_url: Option<String>,
    /// Sandbox endpoint; default `https://api.sandbox.push.apple.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox_url: Option<String>,
}

/// Settings of one app version.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApnsVersion {
    /// The bundle ID (`apns-topic`); the app ID when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle_id: Option<String>,
    /// Environment of this version; the app's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<ApnsEnvironment>,
}

impl ApnsConfig {
    /// (base URL, topic) for a device of `app_id` at `app_version`.
    pub fn route(&self, app_id: &str, app_version: &str) -> (String, String) {
        let version = self.versions.get(app_version);
        let env = version.and_then(|v| v.environment).unwrap_or(self.environment);
        let topic = version.and_then(|v| v.bundle_id.clone()).unwrap_or_else(|| app_id.to_owned());
        let base = match env {
            ApnsEnvironment::Production => {
                self.production_url.clone().unwrap_or_else(|| "https://api.push.apple.com".to_owned())
            }
            ApnsEnvironment::Sandbox => {
                self.sandbox_url.clone().unwrap_or_else(|| "https://api.sandbox.push.apple.com".to_owned())
            }
        };
        (base.trim_end_matches('/').to_owned(), topic)
    }
}

/// Web Push settings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebPushConfig {
    /// VAPID contact: a `mailto:` or `https:` URI.
    pub subject: String,
}

/// What is sealed for a push app: the input and the VAPID private key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushAppSecrets {
    /// The configuration as given.
    pub config: PushAppInput,
    /// VAPID private scalar, base64url (made when Web Push is first configured).
    #[serde(default)]
    pub vapid_private_key: Option<String>,
}

impl PushAppInput {
    /// Check every field.
    pub fn validate(&self) -> Result<(), CoreError> {
        if let Some(f) = &self.fcm {
            let sa = &f.service_account;
            check_text("fcm.serviceAccount.project_id", &sa.project_id, 200)?;
            check_text("fcm.serviceAccount.client_email", &sa.client_email, 320)?;
            check_pem("fcm.serviceAccount.private_key", &sa.private_key, "PRIVATE KEY")?;
            check_http_url("fcm.serviceAccount.token_uri", &sa.token_uri)?;
            if let Some(u) = &f.send_url {
                check_http_url("fcm.sendUrl", u)?;
            }
        }
        if let Some(a) = &self.apns {
            check_text("apns.teamId", &a.team_id, 20)?;
            check_text("apns.keyId", &a.key_id, 20)?;
            check_pem("apns.privateKey", &a.private_key, "PRIVATE KEY")?;
            use p256::pkcs8::DecodePrivateKey;
            if p256::SecretKey::from_pkcs8_pem(a.private_key.trim()).is_err() {
                return Err(CoreError::invalid("apns.privateKey", "must be a PKCS#8 P-256 key (the .p8 file)"));
            }
            for (field, url) in [("apns.productionUrl", &a.production_url), ("apns.sandboxUrl", &a.sandbox_url)] {
                if let Some(u) = url {
                    check_http_url(field, u)?;
                }
            }
            for (v, s) in &a.versions {
                check_text("apns.versions", v, 50)?;
                if let Some(b) = &s.bundle_id {
                    check_text(&format!("apns.versions.{v}.bundleId"), b, 200)?;
                }
            }
        }
        if let Some(w) = &self.webpush {
            let ok = (w.subject.starts_with("mailto:") || w.subject.starts_with("https://"))
                && w.subject.len() <= 500
                && !w.subject.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                return Err(CoreError::invalid("webpush.subject", "must be a mailto: or https: URI"));
            }
        }
        Ok(())
    }
}

/// The VAPID public key (uncompressed point, base64url) of a sealed private scalar.
pub fn vapid_public_key(private_b64: &str) -> Option<String> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let bytes = countersign_proto::b64u_decode(private_b64).ok()?;
    let key = p256::SecretKey::from_slice(&bytes).ok()?;
    Some(countersign_proto::b64u_encode(key.public_key().to_encoded_point(false).as_bytes()))
}
