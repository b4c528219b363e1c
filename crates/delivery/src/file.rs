//! Development-only delivery: instead of being sent, each SMS, e-mail or voice call is appended to a
//! local file as one JSON line (the `file` SMS provider, or `[email]` with `file`; see
//! docs/delivery.md). `countersign demo` uses it so codes can be read without a real
//! provider. The file holds one-time codes: it is created readable by its owner only,
//! and nothing of a message reaches the logs.

use std::io::Write;

use countersign_core::outbox::OutboxMessage;
use countersign_core::providers::{EmailPayload, SmsPayload, VoicePayload};
use serde_json::json;

use crate::{Failure, Worker};

/// Append an SMS to `file`.
pub(crate) async fn sms(w: &Worker, file: &str, m: &OutboxMessage, p: &SmsPayload) -> Result<(), Failure> {
    let line = json!({
        "time": w.core.clock.now().to_rfc3339(),
        "messageID": m.id,
        "channel": "sms",
        "to": p.to,
        "from": p.sender,
        "text": p.text,
    });
    append(file, &line).await
}

/// Append an e-mail (its plain-text part) to `file`.
pub(crate) async fn email(w: &Worker, file: &str, m: &OutboxMessage, p: &EmailPayload) -> Result<(), Failure> {
    let line = json!({
        "time": w.core.clock.now().to_rfc3339(),
        "messageID": m.id,
        "channel": "email",
        "to": p.to,
        "subject": p.subject,
        "text": p.text,
    });
    append(file, &line).await
}

/// Append a voice call (what it would say, and in which language) to `file`.
pub(crate) async fn voice(w: &Worker, file: &str, m: &OutboxMessage, p: &VoicePayload) -> Result<(), Failure> {
    let line = json!({
        "time": w.core.clock.now().to_rfc3339(),
        "messageID": m.id,
        "channel": "voice",
        "to": p.to,
        "language": p.language,
        "text": p.text,
    });
    append(file, &line).await
}

/// Append `line` and a newline in one write (appends from concurrent sends do not mix).
async fn append(file: &str, line: &serde_json::Value) -> Result<(), Failure> {
    let mut bytes = line.to_string().into_bytes();
    bytes.push(b'\n');
    let path = file.to_owned();
    let written = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let mut opts = std::fs::OpenOptions::new();
        opts.append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        opts.open(&path)?.write_all(&bytes)
    })
    .await;
    match written {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Failure::Transient(format!("cannot append to the message file {file}: {e}"))),
        Err(_) => Err(Failure::Transient("the message file writer stopped".into())),
    }
}
