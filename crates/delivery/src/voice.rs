//! Voice calls (docs/delivery.md, "Voice calls"): a one-time code read out by a phone
//! call placed through Twilio's Calls resource, with the TwiML inline — one `<Say>` in the
//! language fixed when the code session started. The tenant's (or the deployment's)
//! Twilio SMS provider places it; the development `file` sink writes it to its file
//! ([`crate::file::FileVoiceSender`]); an HTTP SMS gateway cannot call (the port refuses to
//! resolve such a message).

use async_trait::async_trait;
use countersign_core::delivery::outbox::OutboxMessage;
use countersign_core::delivery::providers::VoicePayload;
use countersign_core::delivery::{Channel, Resolved};

use crate::{Http, SendError, Sender, twilio};

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

/// Places calls through Twilio's Calls resource.
pub struct TwilioCallSender {
    http: reqwest::Client,
}

impl TwilioCallSender {
    /// A sender over `http`.
    pub fn new(http: &Http) -> TwilioCallSender {
        TwilioCallSender { http: http.client.clone() }
    }
}

#[async_trait]
impl Sender for TwilioCallSender {
    fn channel(&self) -> Channel {
        Channel::TwilioCall
    }

    /// `POST …/Calls.json` with `To`, `From` and `Twiml`. A call comes from the provider's
    /// `from` number: sender IDs are for text messages only.
    async fn send(&self, _m: &OutboxMessage, to: &Resolved) -> Result<(), SendError> {
        let Resolved::TwilioCall { config, payload } = to else {
            return Err(SendError::wrong_channel(self.channel()));
        };
        let twiml = twiml(payload);
        let form = [("To", payload.to.as_str()), ("From", config.from.as_str()), ("Twiml", twiml.as_str())];
        twilio::post(&self.http, config, "Calls.json", &form).await
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
