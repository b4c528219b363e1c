//! Firebase Cloud Messaging HTTP v1 (docs/delivery.md, "Push messages per platform"):
//! an OAuth2 access token from the service account's signed JWT grant (RS256), cached
//! until shortly before it expires, then `POST …/messages:send`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use countersign_core::Clock;
use countersign_core::delivery::outbox::OutboxMessage;
use countersign_core::delivery::providers::{FcmConfig, ServiceAccount};
use countersign_core::delivery::{Channel, Resolved};
use serde_json::json;

use crate::{Http, SendError, Sender, classify};

/// The OAuth2 scope for sending messages.
pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// The JWT-bearer grant type (RFC 7523).
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Access tokens by service account and token endpoint: (token, expires at, Unix ms).
#[derive(Debug, Default)]
pub struct TokenCache(Mutex<HashMap<String, (String, i64)>>);

impl TokenCache {
    fn get(&self, key: &str, now_ms: i64) -> Option<String> {
        let map = self.0.lock().ok()?;
        map.get(key).filter(|(_, exp)| *exp > now_ms).map(|(t, _)| t.clone())
    }

    fn put(&self, key: String, token: String, expires_ms: i64) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(key, (token, expires_ms));
        }
    }

    fn drop_key(&self, key: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(key);
        }
    }
}

/// Why a service-account key cannot sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// No `-----BEGIN PRIVATE KEY-----` block.
    #[error("the private key is not a PKCS#8 PEM block")]
    NotPem,
    /// The block is not an RSA key the signer accepts.
    #[error("the private key is not a usable PKCS#8 RSA key")]
    NotRsa,
    /// The signer failed.
    #[error("RSA signing failed")]
    Signing,
}

/// The DER body of the first PEM block labelled `label`.
pub fn pem_body(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem.get(start..)?.find(&end)?;
    let b64: String = pem.get(start..stop)?.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(b64).ok()
}

/// A compact JWS signed RS256 with a PKCS#8 PEM RSA key.
pub fn sign_rs256(header: &serde_json::Value, claims: &serde_json::Value, pem: &str) -> Result<String, KeyError> {
    use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
    let der = pem_body(pem, "PRIVATE KEY").ok_or(KeyError::NotPem)?;
    let key = RsaKeyPair::from_pkcs8(&der).map_err(|_| KeyError::NotRsa)?;
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut sig = vec![0u8; key.public_modulus_len()];
    key.sign(&RSA_PKCS1_SHA256, &aws_lc_rs::rand::SystemRandom::new(), input.as_bytes(), &mut sig)
        .map_err(|_| KeyError::Signing)?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

/// The signed grant assertion for `sa` at `now` (Unix seconds).
pub fn grant_assertion(sa: &ServiceAccount, now: i64) -> Result<String, KeyError> {
    let mut header = json!({"alg": "RS256", "typ": "JWT"});
    if let Some(kid) = &sa.private_key_id {
        header["kid"] = json!(kid);
    }
    let claims = json!({
        "iss": sa.client_email, "scope": SCOPE, "aud": sa.token_uri, "iat": now, "exp": now + 3600,
    });
    sign_rs256(&header, &claims, &sa.private_key)
}

/// The FCM v1 message for a push reference.
pub fn message(token: &str, m: &OutboxMessage, ttl_seconds: i64) -> serde_json::Value {
    let reference: serde_json::Value = serde_json::from_str(&m.payload).unwrap_or_default();
    let field = |k: &str| reference.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
    json!({"message": {
        "token": token,
        "data": {"requestID": field("requestID"), "deviceID": field("deviceID"), "messageID": m.id},
        "android": {"priority": "high", "ttl": format!("{ttl_seconds}s")},
    }})
}

/// Sends push references through FCM HTTP v1, keeping access tokens between sends.
pub struct FcmSender {
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    tokens: TokenCache,
}

impl FcmSender {
    /// A sender over `http`, timing tokens with `clock`.
    pub fn new(http: &Http, clock: &Arc<dyn Clock>) -> FcmSender {
        FcmSender { http: http.client.clone(), clock: clock.clone(), tokens: TokenCache::default() }
    }

    async fn access_token(&self, sa: &ServiceAccount) -> Result<(String, String), SendError> {
        let key = format!("{}|{}", sa.client_email, sa.token_uri);
        let now_ms = self.clock.now().millis();
        if let Some(t) = self.tokens.get(&key, now_ms) {
            return Ok((key, t));
        }
        let assertion = grant_assertion(sa, now_ms / 1000)
            .map_err(|e| SendError::permanent(format!("FCM service account: {e}")).caused_by(e))?;
        let resp = self
            .http
            .post(&sa.token_uri)
            .form(&[("grant_type", GRANT_TYPE), ("assertion", assertion.as_str())])
            .send()
            .await
            .map_err(|e| SendError::unreachable("OAuth2 token endpoint", e))?;
        let status = resp.status();
        if !status.is_success() {
            let body: serde_json::Value = resp.json().await.unwrap_or_default();
            let why = body.get("error").and_then(|v| v.as_str()).unwrap_or("").to_owned();
            return match classify(status, "the OAuth2 token endpoint") {
                Err(e) => Err(e.with_detail(&format!(" {why}"))),
                Ok(()) => Err(SendError::permanent(format!("the OAuth2 token endpoint answered {status}"))),
            };
        }
        let body: serde_json::Value = resp.json().await.map_err(|e| {
            SendError::transient("the OAuth2 token endpoint answered no JSON").caused_by(e.without_url())
        })?;
        let token = body
            .get("access_token")
            .and_then(|v| v.as_str())
            .ok_or_else(|| SendError::transient("the OAuth2 answer has no access_token"))?
            .to_owned();
        let lifetime = body.get("expires_in").and_then(serde_json::Value::as_i64).unwrap_or(3600);
        self.tokens.put(key.clone(), token.clone(), now_ms + (lifetime - 60).max(0) * 1000);
        Ok((key, token))
    }
}

#[async_trait]
impl Sender for FcmSender {
    fn channel(&self) -> Channel {
        Channel::Fcm
    }

    async fn send(&self, m: &OutboxMessage, to: &Resolved) -> Result<(), SendError> {
        let Resolved::Fcm { config, token } = to else { return Err(SendError::wrong_channel(self.channel())) };
        send(self, config, token, m).await
    }
}

/// Send one push reference through FCM.
async fn send(s: &FcmSender, cfg: &FcmConfig, token: &str, m: &OutboxMessage) -> Result<(), SendError> {
    let (key, access) = s.access_token(&cfg.service_account).await?;
    let ttl = ((m.deadline.millis() - s.clock.now().millis()) / 1000).max(0);
    let resp = s
        .http
        .post(cfg.send_url())
        .bearer_auth(access)
        .json(&message(token, m, ttl))
        .send()
        .await
        .map_err(|e| SendError::unreachable("FCM", e))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let body = resp.text().await.unwrap_or_default();
    let unregistered = status.as_u16() == 404 || body.contains("UNREGISTERED");
    let detail: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let why = detail.pointer("/error/status").and_then(|v| v.as_str()).unwrap_or("").to_owned();
    if unregistered {
        return Err(SendError::TokenGone {
            message: format!("FCM answered {status} {why}: the token is no longer registered"),
            status: Some(status.as_u16()),
        });
    }
    if status.as_u16() == 401 {
        s.tokens.drop_key(&key);
        return Err(SendError::Transient {
            message: format!("FCM answered {status}: access token refused, a new one is fetched"),
            status: Some(401),
            source: None,
        });
    }
    classify(status, "FCM").map_err(|e| e.with_detail(&format!(" {why}")))
}
