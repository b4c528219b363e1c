//! SMS (docs/delivery.md, "Messaging provider document"): Twilio's REST API, with the
//! sender ID of the message's authentication type and a retry from the default number
//! when Twilio refuses that sender; or a generic HTTP gateway filled from a template.

use std::collections::BTreeMap;

use countersign_core::outbox::OutboxMessage;
use countersign_core::providers::{self, HttpSmsConfig, SmsConfig, SmsPayload, TwilioConfig};

use crate::{Failure, Worker, classify, core_failure, without_url};

/// Send one SMS from the outbox.
pub(crate) async fn send(w: &Worker, m: &OutboxMessage) -> Result<(), Failure> {
    let payload: SmsPayload = serde_json::from_str(&crate::open_payload(w, m)?)
        .map_err(|_| Failure::Permanent("damaged SMS payload".into()))?;
    let providers = w.core.providers_for(&m.tenant_id).await.map_err(core_failure)?;
    match providers.sms {
        Some(SmsConfig::Twilio(t)) => twilio(w, &t, &payload).await,
        Some(SmsConfig::Http(h)) => gateway(w, &h, &payload, &m.id).await,
        Some(SmsConfig::File(f)) => crate::file::sms(w, &f.file, m, &payload).await,
        None => Err(Failure::Permanent("no SMS provider is configured for this tenant".into())),
    }
}

async fn twilio(w: &Worker, cfg: &TwilioConfig, p: &SmsPayload) -> Result<(), Failure> {
    let sender = p.sender.as_ref().or_else(|| cfg.sender_ids.get(&p.auth_type)).filter(|s| **s != cfg.from);
    if let Some(sender) = sender {
        match twilio_once(w, cfg, p, sender).await {
            Err(Failure::Permanent(e)) if e.starts_with("Twilio answered 400") => {
                tracing::info!(reason = %e, "Twilio refused the sender ID; sending from the default number");
            }
            other => return other,
        }
    }
    twilio_once(w, cfg, p, &cfg.from).await
}

async fn twilio_once(w: &Worker, cfg: &TwilioConfig, p: &SmsPayload, from: &str) -> Result<(), Failure> {
    let base = cfg.base_url.as_deref().unwrap_or("https://api.twilio.com").trim_end_matches('/');
    let url = format!("{base}/2010-04-01/Accounts/{}/Messages.json", cfg.account_sid);
    let resp = w
        .http
        .post(url)
        .basic_auth(&cfg.account_sid, Some(&cfg.auth_token))
        .form(&[("To", p.to.as_str()), ("From", from), ("Body", p.text.as_str())])
        .send()
        .await
        .map_err(|e| Failure::Transient(format!("Twilio unreachable: {}", without_url(&e))))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let detail: serde_json::Value = resp.json().await.unwrap_or_default();
    let code = detail.get("code").map(ToString::to_string).unwrap_or_default();
    let text = detail.get("message").and_then(|v| v.as_str()).unwrap_or("");
    let why = format!("error {code}: {}", text.chars().take(200).collect::<String>());
    match classify(status, "Twilio") {
        Err(Failure::Transient(e)) => Err(Failure::Transient(format!("{e}, {why}"))),
        Err(Failure::TokenGone(e) | Failure::Permanent(e)) => Err(Failure::Permanent(format!("{e}, {why}"))),
        Ok(()) => Ok(()),
    }
}

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

async fn gateway(w: &Worker, cfg: &HttpSmsConfig, p: &SmsPayload, id: &str) -> Result<(), Failure> {
    let method = if cfg.method == "PUT" { reqwest::Method::PUT } else { reqwest::Method::POST };
    let mut req = w
        .http
        .request(method, &cfg.url)
        .header("content-type", &cfg.content_type)
        .header("x-cs-message-id", id)
        .body(gateway_body(cfg, p));
    for (k, v) in &cfg.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let resp =
        req.send().await.map_err(|e| Failure::Transient(format!("SMS gateway unreachable: {}", without_url(&e))))?;
    match classify(resp.status(), "the SMS gateway") {
        Err(Failure::TokenGone(e)) => Err(Failure::Permanent(e)),
        other => other,
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
