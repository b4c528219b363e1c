//! SMS through a generic HTTP gateway (docs/delivery.md, "Messaging provider
//! document"): the configured request filled from a template, each value escaped for
//! the body's content type. Twilio has its own module ([`crate::twilio`]).

use std::collections::BTreeMap;

use async_trait::async_trait;
use countersign_core::delivery::outbox::OutboxMessage;
use countersign_core::delivery::providers::{self, HttpSmsConfig, SmsPayload};
use countersign_core::delivery::{Channel, Resolved};

use crate::{Http, SendError, Sender, classify};

fn json_escape(s: &str) -> String {
    let quoted = serde_json::Value::String(s.to_owned()).to_string();
    quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or("").to_owned()
}

fn form_escape(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => o.push(char::from(b)),
            b' ' => o.push('+'),
            _ => o.push_str(&format!("%{b:02X}")),
        }
    }
    o
}

/// The gateway request body for a message.
pub fn gateway_body(cfg: &HttpSmsConfig, p: &SmsPayload) -> String {
    let from = p.sender.as_ref().or_else(|| cfg.sender_ids.get(&p.auth_type)).or(cfg.from.as_ref()).cloned();
    let from = from.unwrap_or_default();
    let values = BTreeMap::from([("to", p.to.clone()), ("text", p.text.clone()), ("from", from)]);
    let escape = if cfg.content_type == "application/json" { json_escape } else { form_escape };
    providers::fill(&cfg.body, &values, escape)
}

/// Sends SMS through a generic HTTP gateway.
pub struct GatewaySender {
    http: reqwest::Client,
}

impl GatewaySender {
    /// A sender over `http`.
    pub fn new(http: &Http) -> GatewaySender {
        GatewaySender { http: http.client.clone() }
    }
}

#[async_trait]
impl Sender for GatewaySender {
    fn channel(&self) -> Channel {
        Channel::HttpSms
    }

    async fn send(&self, m: &OutboxMessage, to: &Resolved) -> Result<(), SendError> {
        let Resolved::HttpSms { config: cfg, payload: p } = to else {
            return Err(SendError::wrong_channel(self.channel()));
        };
        let method = if cfg.method == "PUT" { reqwest::Method::PUT } else { reqwest::Method::POST };
        let mut req = self
            .http
            .request(method, &cfg.url)
            .header("content-type", &cfg.content_type)
            .header("x-cs-message-id", &m.id)
            .body(gateway_body(cfg, p));
        for (k, v) in &cfg.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = req.send().await.map_err(|e| SendError::unreachable("SMS gateway", e))?;
        classify(resp.status(), "the SMS gateway").map_err(SendError::gone_is_permanent)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn cfg(content_type: &str, body: &str) -> HttpSmsConfig {
        HttpSmsConfig {
            url: "http://127.0.0.1:9/send".into(),
            method: "POST".into(),
            headers: BTreeMap::new(),
            content_type: content_type.into(),
            body: body.into(),
            from: Some("BANK".into()),
            sender_ids: BTreeMap::from([("otp".into(), "OTPBANK".into())]),
        }
    }

    #[test]
    fn gateway_bodies_are_escaped_for_their_type() {
        let p = SmsPayload {
            to: "+15550100".into(),
            text: "Code \"1 2\" & more\n".into(),
            auth_type: "otp".into(),
            sender: None,
        };
        let json = gateway_body(&cfg("application/json", r#"{"to":"{{to}}","msg":"{{text}}","from":"{{from}}"}"#), &p);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["msg"], "Code \"1 2\" & more\n");
        assert_eq!(v["from"], "OTPBANK");
        let form = gateway_body(&cfg("application/x-www-form-urlencoded", "to={{to}}&text={{text}}"), &p);
        assert_eq!(form, "to=%2B15550100&text=Code+%221+2%22+%26+more%0A");
        let p2 = SmsPayload { auth_type: "test".into(), ..p };
        assert!(gateway_body(&cfg("application/json", "{{from}}"), &p2).contains("BANK"));
    }
}
