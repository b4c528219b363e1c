//! Voice calls (docs/delivery.md, "Voice calls"): a one-time code read out by a phone
//! call placed through Twilio's Calls API, with the TwiML inline: one `<Say>` in the
//! user's language. The tenant's (or the deployment's) Twilio SMS provider places it;
//! the development `file` sink writes it to its file; an HTTP SMS gateway cannot call.

use countersign_core::outbox::OutboxMessage;
use countersign_core::providers::{SmsConfig, TwilioConfig, VoicePayload};

use crate::{Failure, Worker, classify, core_failure, without_url};

/// Place one call from the outbox.
pub(crate) async fn send(w: &Worker, m: &OutboxMessage) -> Result<(), Failure> {
    let payload: VoicePayload = serde_json::from_str(&crate::open_payload(w, m)?)
        .map_err(|_| Failure::Permanent("damaged voice payload".into()))?;
    let providers = w.core.providers_for(&m.tenant_id).await.map_err(core_failure)?;
    match providers.sms {
        Some(SmsConfig::Twilio(t)) => call(w, &t, &payload).await,
        Some(SmsConfig::File(f)) => crate::file::voice(w, &f.file, m, &payload).await,
        Some(SmsConfig::Http(_)) => {
            Err(Failure::Permanent("voice calls need Twilio; this tenant's SMS provider is an HTTP gateway".into()))
        }
        None => Err(Failure::Permanent("no SMS provider is configured for this tenant to place calls".into())),
    }
}

/// The TwiML of a call: `<Response><Say language="…">…</Say></Response>`.
pub fn twiml(p: &VoicePayload) -> String {
    format!("<Response><Say language=\"{}\">{}</Say></Response>", xml_escape(&p.language), xml_escape(&p.text))
}

fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if c.is_control() => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// `POST {base}/2010-04-01/Accounts/{sid}/Calls.json` with `To`, `From`, `Twiml`. A call
/// comes from the provider's `from` number (sender IDs are for text messages only).
async fn call(w: &Worker, cfg: &TwilioConfig, p: &VoicePayload) -> Result<(), Failure> {
    let base = cfg.base_url.as_deref().unwrap_or("https://api.twilio.com").trim_end_matches('/');
    let url = format!("{base}/2010-04-01/Accounts/{}/Calls.json", cfg.account_sid);
    let twiml = twiml(p);
    let resp = w
        .http
        .post(url)
        .basic_auth(&cfg.account_sid, Some(&cfg.auth_token))
        .form(&[("To", p.to.as_str()), ("From", cfg.from.as_str()), ("Twiml", twiml.as_str())])
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn twiml_says_the_text_in_its_language_escaped() {
        let p = VoicePayload { to: "+15550100".into(), text: "Code: 1 2 3 <&> \"x\"".into(), language: "de-DE".into() };
        assert_eq!(
            twiml(&p),
            "<Response><Say language=\"de-DE\">Code: 1 2 3 &lt;&amp;&gt; &quot;x&quot;</Say></Response>"
        );
    }
}
