//! Development-only delivery: instead of being sent, each SMS, e-mail or call is appended to a
//! local file as one JSON line (the `file` SMS provider, or `[email]` with `file`; see
//! docs/delivery.md). `countersign demo` uses it so codes can be read without a real
//! provider. The file holds one-time codes: it is created readable by its owner only,
//! and nothing of a message reaches the logs.

use std::io::Write;
use std::sync::Arc;

use async_trait::async_trait;
use countersign_core::Clock;
use countersign_core::delivery::outbox::OutboxMessage;
use countersign_core::delivery::{Channel, Resolved};
use serde_json::json;

use crate::{SendError, Sender};

/// Appends SMS to a local file.
pub struct FileSmsSender {
    clock: Arc<dyn Clock>,
}

impl FileSmsSender {
    /// A sender stamping lines with `clock`'s time.
    pub fn new(clock: &Arc<dyn Clock>) -> FileSmsSender {
        FileSmsSender { clock: clock.clone() }
    }
}

#[async_trait]
impl Sender for FileSmsSender {
    fn channel(&self) -> Channel {
        Channel::FileSms
    }

    async fn send(&self, m: &OutboxMessage, to: &Resolved) -> Result<(), SendError> {
        let Resolved::FileSms { file, payload: p } = to else { return Err(SendError::wrong_channel(self.channel())) };
        let line = json!({
            "time": self.clock.now().to_rfc3339(),
            "messageID": m.id,
            "channel": "sms",
            "to": p.to,
            "from": p.sender,
            "text": p.text,
        });
        append(file, &line).await
    }
}

/// Appends e-mails (their plain-text part) to a local file.
pub struct FileEmailSender {
    clock: Arc<dyn Clock>,
}

impl FileEmailSender {
    /// A sender stamping lines with `clock`'s time.
    pub fn new(clock: &Arc<dyn Clock>) -> FileEmailSender {
        FileEmailSender { clock: clock.clone() }
    }
}

#[async_trait]
impl Sender for FileEmailSender {
    fn channel(&self) -> Channel {
        Channel::FileEmail
    }

    async fn send(&self, m: &OutboxMessage, to: &Resolved) -> Result<(), SendError> {
        let Resolved::FileEmail { file, payload: p } = to else {
            return Err(SendError::wrong_channel(self.channel()));
        };
        let line = json!({
            "time": self.clock.now().to_rfc3339(),
            "messageID": m.id,
            "channel": "email",
            "to": p.to,
            "subject": p.subject,
            "text": p.text,
        });
        append(file, &line).await
    }
}

/// Appends voice calls (what they would say, and in which language) to a local file.
pub struct FileVoiceSender {
    clock: Arc<dyn Clock>,
}

impl FileVoiceSender {
    /// A sender stamping lines with `clock`'s time.
    pub fn new(clock: &Arc<dyn Clock>) -> FileVoiceSender {
        FileVoiceSender { clock: clock.clone() }
    }
}

#[async_trait]
impl Sender for FileVoiceSender {
    fn channel(&self) -> Channel {
        Channel::FileVoice
    }

    async fn send(&self, m: &OutboxMessage, to: &Resolved) -> Result<(), SendError> {
        let Resolved::FileVoice { file, payload: p } = to else { return Err(SendError::wrong_channel(self.channel())) };
        let line = json!({
            "time": self.clock.now().to_rfc3339(),
            "messageID": m.id,
            "channel": "voice",
            "to": p.to,
            "language": p.language,
            "text": p.text,
        });
        append(file, &line).await
    }
}

/// Append `line` and a newline in one write (appends from concurrent sends do not mix).
async fn append(file: &str, line: &serde_json::Value) -> Result<(), SendError> {
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
        Ok(Err(e)) => Err(SendError::transient(format!("cannot append to the message file {file}: {e}")).caused_by(e)),
        Err(e) => Err(SendError::transient("the message file writer stopped").caused_by(e)),
    }
}
