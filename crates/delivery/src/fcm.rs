//! Firebase Cloud Messaging HTTP v1 (docs/delivery.md, "Push messages per platform"):
//! an OAuth2 access token from the service account's signed JWT grant (RS256), cached
//! until shortly before it expires, then `POST …/messages:send`.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use countersign_core::outbox::OutboxMessage;
use countersign_core::providers::{FcmConfig, ServiceAccount};
use serde_json::json;

use crate::{Failure, Worker, classify, without_url};

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
pub fn sign_rs256(header: &serde_json::Value, claims: &serde_json::Value, pem: &str) -> Result<String, String> {
    use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
    let der = pem_body(pem, "PRIVATE KEY").ok_or("the private key is not a PKCS#8 PEM block")?;
    let key = RsaKeyPair::from_pkcs8(&der).map_err(|_| "the private key is not a usable PKCS#8 RSA key".to_owned())?;
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut sig = vec![0u8; key.public_modulus_len()];
    key.sign(&RSA_PKCS1_SHA256, &aws_lc_rs::rand::SystemRandom::new(), input.as_bytes(), &mut sig)
        .map_err(|_| "RSA signing failed".to_owned())?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

/// The signed grant assertion for `sa` at `now` (Unix seconds).
pub fn grant_assertion(sa: &ServiceAccount, now: i64) -> Result<String, String> {
    let mut header = json!({"alg": "RS256", "typ": "JWT"});
    if let Some(kid) = &sa.private_key_id {
        header["kid"] = json!(kid);
    }
    let claims = json!({
        "iss": sa.client_email, "scope": SCOPE, "aud": sa.token_uri, "iat": now, "exp": now + 3600,
    });
    sign_rs256(&header, &claims, &sa.private_key)
}

async fn access_token(w: &Worker, sa: &ServiceAccount) -> Result<(String, String), Failure> {
    let key = format!("{}|{}", sa.client_email, sa.token_uri);
    let now_ms = w.core.clock.now().millis();
    if let Some(t) = w.fcm_tokens.get(&key, now_ms) {
        return Ok((key, t));
    }
    let assertion =
        grant_assertion(sa, now_ms / 1000).map_err(|e| Failure::Permanent(format!("FCM service account: {e}")))?;
    let resp = w
        .http
        .post(&sa.token_uri)
        .form(&[("grant_type", GRANT_TYPE), ("assertion", assertion.as_str())])
        .send()
        .await
        .map_err(|e| Failure::Transient(format!("OAuth2 token endpoint unreachable: {}", without_url(&e))))?;
    let status = resp.status();
    if !status.is_success() {
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        let why = body.get("error").and_then(|v| v.as_str()).unwrap_or("").to_owned();
        return match classify(status, "the OAuth2 token endpoint") {
            Err(Failure::Transient(e)) => Err(Failure::Transient(format!("{e} {why}"))),
            Err(Failure::TokenGone(e) | Failure::Permanent(e)) => Err(Failure::Permanent(format!("{e} {why}"))),
            Ok(()) => Err(Failure::Permanent(format!("the OAuth2 token endpoint answered {status}"))),
        };
    }
    let body: serde_json::Value =
        resp.json().await.map_err(|_| Failure::Transient("the OAuth2 token endpoint answered no JSON".into()))?;
    let token = body
        .get("access_token")
        .and_then(|v| v.as_str())
        .ok_or_else(|| Failure::Transient("the OAuth2 answer has no access_token".into()))?
        .to_owned();
    let lifetime = body.get("expires_in").and_then(serde_json::Value::as_i64).unwrap_or(3600);
    w.fcm_tokens.put(key.clone(), token.clone(), now_ms + (lifetime - 60).max(0) * 1000);
    Ok((key, token))
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

/// Send one push reference through FCM.
pub(crate) async fn send(w: &Worker, cfg: &FcmConfig, token: &str, m: &OutboxMessage) -> Result<(), Failure> {
    let (key, access) = access_token(w, &cfg.service_account).await?;
    let ttl = ((m.deadline.millis() - w.core.clock.now().millis()) / 1000).max(0);
    let resp = w
        .http
        .post(cfg.send_url())
        .bearer_auth(access)
        .json(&message(token, m, ttl))
        .send()
        .await
        .map_err(|e| Failure::Transient(format!("FCM unreachable: {}", without_url(&e))))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let body = resp.text().await.unwrap_or_default();
    let unregistered = status.as_u16() == 404 || body.contains("UNREGISTERED");
    let detail: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let why = detail.pointer("/error/status").and_then(|v| v.as_str()).unwrap_or("").to_owned();
    if unregistered {
        return Err(Failure::TokenGone(format!("FCM answered {status} {why}: the token is no longer registered")));
    }
    if status.as_u16() == 401 {
        w.fcm_tokens.drop_key(&key);
        return Err(Failure::Transient(format!("FCM answered {status}: access token refused, a new one is fetched")));
    }
    match classify(status, "FCM") {
        Err(Failure::Transient(e)) => Err(Failure::Transient(format!("{e} {why}"))),
        Err(Failure::TokenGone(e) | Failure::Permanent(e)) => Err(Failure::Permanent(format!("{e} {why}"))),
        Ok(()) => Ok(()),
    }
}
