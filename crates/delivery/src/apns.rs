//! Apple Push Notification service with token authentication (docs/delivery.md, "Push
//! messages per platform"): an ES256 provider token made from the .p8 key and reused
//! for 50 minutes, sent over HTTP/2 and TLS to the environment of the device's app
//! version, with the version's bundle ID as `apns-topic`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use countersign_core::Clock;
use countersign_core::delivery::outbox::OutboxMessage;
use countersign_core::delivery::providers::ApnsConfig;
use countersign_core::delivery::{Channel, Resolved};
use serde_json::json;

use crate::{Http, SendError, Sender, classify, jwt};

/// How long a provider token is reused (Apple accepts one for an hour and refuses new
/// ones more often than every 20 minutes).
pub const TOKEN_REUSE_MS: i64 = 50 * 60 * 1000;

/// Provider tokens by team and key: (token, made at, Unix ms).
#[derive(Debug, Default)]
pub struct TokenCache(Mutex<HashMap<String, (String, i64)>>);

/// The provider token for `cfg` at `now_ms`: the cached one while young enough.
fn provider_token(cache: &TokenCache, cfg: &ApnsConfig, now_ms: i64) -> Result<(String, String), SendError> {
    let key = format!("{}|{}", cfg.team_id, cfg.key_id);
    if let Ok(map) = cache.0.lock()
        && let Some((t, made)) = map.get(&key)
        && now_ms - made < TOKEN_REUSE_MS
        && now_ms >= *made
    {
        return Ok((key, t.clone()));
    }
    let signing = jwt::signing_key_from_pkcs8_pem(&cfg.private_key)
        .map_err(|e| SendError::permanent(format!("APNs key: {e}")).caused_by(e))?;
    let token = jwt::sign_es256(
        &json!({"alg": "ES256", "kid": cfg.key_id}),
        &json!({"iss": cfg.team_id, "iat": now_ms / 1000}),
        &signing,
    )
    .map_err(|e| SendError::permanent(format!("APNs token: {e}")).caused_by(e))?;
    if let Ok(mut map) = cache.0.lock() {
        map.insert(key.clone(), (token.clone(), now_ms));
    }
    Ok((key, token))
}

/// The notification body for a push reference.
pub fn body(m: &OutboxMessage) -> serde_json::Value {
    let reference: serde_json::Value = serde_json::from_str(&m.payload).unwrap_or_default();
    json!({
        "aps": {
            "alert": {"title": "Sign-in request", "body": "Open the app to review it"},
            "sound": "default",
            "mutable-content": 1,
        },
        "requestID": reference.get("requestID"),
        "deviceID": reference.get("deviceID"),
    })
}

/// Sends push references through APNs, reusing provider tokens.
pub struct ApnsSender {
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    tokens: TokenCache,
}

impl ApnsSender {
    /// A sender over `http`, timing provider tokens with `clock`.
    pub fn new(http: &Http, clock: &Arc<dyn Clock>) -> ApnsSender {
        ApnsSender { http: http.client.clone(), clock: clock.clone(), tokens: TokenCache::default() }
    }
}

#[async_trait]
impl Sender for ApnsSender {
    fn channel(&self) -> Channel {
        Channel::Apns
    }

    async fn send(&self, m: &OutboxMessage, to: &Resolved) -> Result<(), SendError> {
        let Resolved::Apns { config, token, app_id, app_version } = to else {
            return Err(SendError::wrong_channel(self.channel()));
        };
        send(self, config, (app_id, app_version), token, m).await
    }
}

/// Send one push reference through APNs to the device of `app` (ID, version).
async fn send(
    s: &ApnsSender,
    cfg: &ApnsConfig,
    (app_id, app_version): (&str, &str),
    token: &str,
    m: &OutboxMessage,
) -> Result<(), SendError> {
    if token.is_empty() || token.len() > 200 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SendError::token_gone("the APNs device token is not hexadecimal"));
    }
    let (base, topic) = cfg.route(app_id, app_version);
    let now_ms = s.clock.now().millis();
    let (key, provider) = provider_token(&s.tokens, cfg, now_ms)?;
    let mut req = s
        .http
        .post(format!("{base}/3/device/{token}"))
        .version(reqwest::Version::HTTP_2)
        .header("authorization", format!("bearer {provider}"))
        .header("apns-topic", topic)
        .header("apns-push-type", "alert")
        .header("apns-priority", "10")
        .header("apns-expiration", (m.deadline.millis() / 1000).to_string())
        .json(&body(m));
    if uuid_like(&m.id) {
        req = req.header("apns-id", &m.id);
    }
    let resp = req.send().await.map_err(|e| SendError::unreachable("APNs", e))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let detail: serde_json::Value = resp.json().await.unwrap_or_default();
    let reason = detail.get("reason").and_then(|v| v.as_str()).unwrap_or("").to_owned();
    let code = Some(status.as_u16());
    match (status.as_u16(), reason.as_str()) {
        (410, _) | (400, "Unregistered") => {
            Err(SendError::TokenGone { message: format!("APNs answered {status} {reason}"), status: code })
        }
        (403, "ExpiredProviderToken") => {
            if let Ok(mut map) = s.tokens.0.lock() {
                map.remove(&key);
            }
            Err(SendError::Transient {
                message: format!("APNs answered {status} {reason}; a new provider token is made"),
                status: code,
                source: None,
            })
        }
        _ => classify(status, "APNs").map_err(|e| e.with_detail(&format!(" {reason}"))),
    }
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36
        && s.bytes()
            .enumerate()
            .all(|(i, b)| if matches!(i, 8 | 13 | 18 | 23) { b == b'-' } else { b.is_ascii_hexdigit() })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn provider_tokens_are_reused_for_50_minutes() {
        use p256::pkcs8::EncodePrivateKey;
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).unwrap();
        let key = p256::SecretKey::from_slice(&raw).unwrap();
        let pem = key.to_pkcs8_pem(p256::pkcs8::LineEnding::LF).unwrap().to_string();
        let cfg = ApnsConfig {
            team_id: "TEAM123456".into(),
            key_id: "KEY1234567".into(),
            private_key: pem,
            environment: Default::default(),
            versions: Default::default(),
            production_url: None,
            sandbox_url: None,
        };
        let cache = TokenCache::default();
        let t0 = 1_800_000_000_000;
        let (_, a) = provider_token(&cache, &cfg, t0).unwrap();
        let (_, b) = provider_token(&cache, &cfg, t0 + TOKEN_REUSE_MS - 1).unwrap();
        assert_eq!(a, b);
        let (_, c) = provider_token(&cache, &cfg, t0 + TOKEN_REUSE_MS).unwrap();
        assert_ne!(a, c);
        let vk = p256::ecdsa::VerifyingKey::from(p256::ecdsa::SigningKey::from(&key));
        let (header, claims) = jwt::verify_es256(&c, &vk).unwrap();
        assert_eq!(header["kid"], "KEY1234567");
        assert_eq!(claims["iss"], "TEAM123456");
        assert_eq!(claims["iat"], (t0 + TOKEN_REUSE_MS) / 1000);
    }

    #[test]
    fn apns_ids_only_when_uuid() {
        assert!(uuid_like("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"));
        assert!(!uuid_like("not-a-uuid"));
    }
}
