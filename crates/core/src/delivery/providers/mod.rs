//! Provider configuration (docs/delivery.md, "Providers"): push apps (per app ID, one set
//! of credentials per platform) and each tenant's messaging providers (SMS, SMTP). The
//! documents are stored as a public view plus the whole input sealed under the master
//! key; the API only ever shows the view.

mod manage;
mod push;
mod template;

pub use push::{
    ApnsConfig, ApnsEnvironment, ApnsVersion, FcmConfig, PushAppInput, PushAppSecrets, ServiceAccount, WebPushConfig,
    vapid_public_key,
};
pub use template::{fill, html_escape, no_escape, render_email, template};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::error::CoreError;
use crate::validate;

/// How long a test message or a one-time code message is tried.
pub const MESSAGE_LIFETIME_MS: i64 = 10 * 60 * 1000;

// ---- messaging providers ---------------------------------------------------------------

/// `PUT /admin/v1/tenants/{domain}/providers`: SMS and e-mail.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProvidersInput {
    /// The SMS provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<SmsConfig>,
    /// The SMTP server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailConfig>,
}

/// An SMS provider.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "provider", rename_all = "lowercase")]
pub enum SmsConfig {
    /// Twilio's REST API.
    Twilio(TwilioConfig),
    /// A generic HTTP gateway.
    Http(HttpSmsConfig),
    /// Development only: append each message to a local file (server configuration
    /// only; `countersign demo` uses it).
    File(FileSinkConfig),
}

/// The development-only `file` sink: each message is appended to `file` as one JSON
/// line instead of being sent. Set only in the server configuration (`[sms]`,
/// `[email]`), never through the admin API: it writes on the server's disk.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileSinkConfig {
    /// The file messages are appended to (created, mode 0600, when missing).
    pub file: String,
}

/// Twilio settings.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TwilioConfig {
    /// Account SID (`AC…`).
    pub account_sid: String,
    /// Auth token.
    pub auth_token: String,
    /// Default from-number (E.164).
    pub from: String,
    /// Sender per authentication type (number, short code or alphanumeric ID).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sender_ids: BTreeMap<String, String>,
    /// API base; default `https://api.twilio.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}

/// Generic HTTP SMS gateway settings.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpSmsConfig {
    /// Gateway URL.
    pub url: String,
    /// `POST` (default) or `PUT`.
    #[serde(default = "post")]
    pub method: String,
    /// Extra headers (values sealed; they usually hold the gateway's key).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// `application/json` (default) or `application/x-www-form-urlencoded`.
    #[serde(default = "json_type")]
    pub content_type: String,
    /// Body template with `{{to}}`, `{{text}}`, `{{from}}`.
    pub body: String,
    /// Default sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Sender per authentication type.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sender_ids: BTreeMap<String, String>,
}

fn post() -> String {
    "POST".to_owned()
}

fn json_type() -> String {
    "application/json".to_owned()
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (port 587).
    #[default]
    Starttls,
    /// Implicit TLS (port 465).
    Tls,
    /// No TLS: only to a loopback address.
    Plain,
}

/// SMTP settings.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmailConfig {
    /// SMTP host (not needed with `file`).
    #[serde(default)]
    pub host: String,
    /// Port; default by `security` (587, 465, 25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Connection protection.
    #[serde(default)]
    pub security: SmtpSecurity,
    /// Login name (with `password`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Login password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Sender, `Name <address>` or `address`.
    pub from: String,
    /// Templates by name, then language.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub templates: BTreeMap<String, BTreeMap<String, EmailTemplate>>,
    /// Development only, server configuration only: append each message to this file as
    /// one JSON line instead of sending it (no SMTP server is contacted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

impl EmailConfig {
    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::Plain => 25,
        })
    }
}

/// One e-mail template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailTemplate {
    /// Subject line.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
}

/// The SMS outbox payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SmsPayload {
    /// E.164 number.
    pub to: String,
    /// Message text.
    pub text: String,
    /// Authentication type (chooses the sender ID).
    pub auth_type: String,
    /// The sender the authentication type names, before the provider's per-type ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
}

/// The voice-call outbox payload (docs/delivery.md, "Voice calls"): a text read out once
/// the call is answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VoicePayload {
    /// E.164 number to call.
    pub to: String,
    /// What is said (a one-time code's digits spaced, so that they are read one by one).
    pub text: String,
    /// The language it is said in: a tag the voice knows (`en-US`, `de-DE`).
    pub language: String,
}

/// The e-mail outbox payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailPayload {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
}

/// `POST /admin/v1/tenants/{domain}/providers/test`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestMessageInput {
    /// `sms` or `email`.
    pub channel: String,
    /// E.164 number or e-mail address.
    pub to: String,
    /// Language of the e-mail template (default `en`).
    #[serde(default)]
    pub language: Option<String>,
}

/// `Debug` that shows the public fields and hides the secret ones.
macro_rules! redacted_debug {
    ($t:ty { $($f:ident),* } hides { $($secret:ident),* }) => {
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let mut d = f.debug_struct(stringify!($t));
                $(d.field(stringify!($f), &self.$f);)*
                $(let _ = &self.$secret; d.field(stringify!($secret), &"<redacted>");)*
                d.finish()
            }
        }
    };
}

redacted_debug!(ServiceAccount { project_id, private_key_id, client_email, token_uri } hides { private_key });
redacted_debug!(ApnsConfig { team_id, key_id, environment, versions, production_url, sandbox_url } hides { private_key });
redacted_debug!(TwilioConfig { account_sid, from, sender_ids, base_url } hides { auth_token });
redacted_debug!(HttpSmsConfig { url, method, content_type, body, from, sender_ids } hides { headers });
redacted_debug!(EmailConfig { host, port, security, username, from, templates, file } hides { password });

// ---- validation and views --------------------------------------------------------------

fn check_http_url(field: &str, url: &str) -> Result<(), CoreError> {
    crate::delivery::callbacks::check_url(field, url)
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), CoreError> {
    if value.trim().is_empty() || value.len() > max || value.chars().any(char::is_control) {
        return Err(CoreError::invalid(field, format!("must be 1 to {max} characters, no control characters")));
    }
    Ok(())
}

/// A PEM block with `label` whose body is base64 (the key itself is checked where used).
fn check_pem(field: &str, pem: &str, label: &str) -> Result<(), CoreError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body = pem.trim().strip_prefix(&begin).and_then(|r| r.strip_suffix(&end));
    let ok = body.is_some_and(|b| {
        let b: String = b.chars().filter(|c| !c.is_whitespace()).collect();
        !b.is_empty() && b.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
    });
    if ok { Ok(()) } else { Err(CoreError::invalid(field, format!("must be a PEM block labelled {label}"))) }
}

fn check_sender(field: &str, sender: &str) -> Result<(), CoreError> {
    let alnum = !sender.is_empty()
        && sender.len() <= 11
        && sender.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ')
        && sender.chars().any(|c| c.is_ascii_alphabetic());
    let short_code = (3..=8).contains(&sender.len()) && sender.chars().all(|c| c.is_ascii_digit());
    if alnum || short_code || validate::phone(sender).is_ok() {
        Ok(())
    } else {
        Err(CoreError::invalid(
            field,
            "must be an E.164 number, a short code, or an alphanumeric sender ID of at most 11 characters",
        ))
    }
}

impl ProvidersInput {
    /// Check every field.
    pub fn validate(&self) -> Result<(), CoreError> {
        match &self.sms {
            Some(SmsConfig::Twilio(t)) => {
                check_text("sms.accountSid", &t.account_sid, 64)?;
                check_text("sms.authToken", &t.auth_token, 200)?;
                validate::phone(&t.from).map_err(|m| CoreError::invalid("sms.from", m))?;
                for (k, v) in &t.sender_ids {
                    check_sender(&format!("sms.senderIds.{k}"), v)?;
                }
                if let Some(u) = &t.base_url {
                    check_http_url("sms.baseUrl", u)?;
                }
            }
            Some(SmsConfig::Http(h)) => {
                check_http_url("sms.url", &h.url)?;
                if !matches!(h.method.as_str(), "POST" | "PUT") {
                    return Err(CoreError::invalid("sms.method", "must be POST or PUT"));
                }
                if !matches!(h.content_type.as_str(), "application/json" | "application/x-www-form-urlencoded") {
                    return Err(CoreError::invalid(
                        "sms.contentType",
                        "must be application/json or application/x-www-form-urlencoded",
                    ));
                }
                for (k, v) in &h.headers {
                    let name_ok = !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
                    if !name_ok || v.chars().any(char::is_control) {
                        return Err(CoreError::invalid(format!("sms.headers.{k}"), "not a valid header"));
                    }
                }
                if h.body.len() > 4000 {
                    return Err(CoreError::invalid("sms.body", "at most 4000 characters"));
                }
                if let Some(f) = &h.from {
                    check_sender("sms.from", f)?;
                }
                for (k, v) in &h.sender_ids {
                    check_sender(&format!("sms.senderIds.{k}"), v)?;
                }
            }
            Some(SmsConfig::File(f)) => check_text("sms.file", &f.file, 4096)?,
            None => {}
        }
        if let Some(e) = &self.email {
            match &e.file {
                Some(file) => check_text("email.file", file, 4096)?,
                None => check_text("email.host", &e.host, 253)?,
            }
            if e.file.is_none() && e.security == SmtpSecurity::Plain && !is_loopback(&e.host) {
                return Err(CoreError::invalid("email.security", "plain SMTP is allowed only to a loopback host"));
            }
            if e.username.is_some() != e.password.is_some() {
                return Err(CoreError::invalid("email.password", "username and password go together"));
            }
            mailbox_address(&e.from).ok_or_else(|| CoreError::invalid("email.from", "must be an e-mail address"))?;
            for (name, langs) in &e.templates {
                for lang in langs.keys() {
                    validate::locale(lang)
                        .map_err(|m| CoreError::invalid(format!("email.templates.{name}.{lang}"), m))?;
                }
            }
        }
        Ok(())
    }

    /// Refuse the development-only file sinks: they write on the server's disk, so only
    /// the server configuration may name them, not the admin API.
    pub fn refuse_file_sinks(&self) -> Result<(), CoreError> {
        let refused = |field: &str| {
            CoreError::invalid(
                field,
                "file delivery is for development and can be set only in the server configuration ([sms], [email])",
            )
        };
        if matches!(self.sms, Some(SmsConfig::File(_))) {
            return Err(refused("sms.provider"));
        }
        if self.email.as_ref().is_some_and(|e| e.file.is_some()) {
            return Err(refused("email.file"));
        }
        Ok(())
    }
}

/// Whether `host` names this machine.
pub fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The address in `Name <address>` or a bare address, if it is one.
pub fn mailbox_address(from: &str) -> Option<&str> {
    let addr = match (from.rfind('<'), from.ends_with('>')) {
        (Some(i), true) => from.get(i + 1..from.len() - 1)?,
        _ => from.trim(),
    };
    validate::email(addr).ok().map(|_| addr)
}

/// Replace each secret field of `v` (at any depth) by `has<Field>: true`.
fn redact(v: &mut Value, secrets: &[&str]) {
    match v {
        Value::Object(map) => {
            let mut flags = Map::new();
            for s in secrets {
                if let Some(old) = map.remove(*s) {
                    let mut name = String::from("has");
                    let mut up = true;
                    for c in s.chars() {
                        if c == '_' {
                            up = true;
                        } else if up {
                            name.extend(c.to_uppercase());
                            up = false;
                        } else {
                            name.push(c);
                        }
                    }
                    if *s == "headers" {
                        let names: Vec<Value> =
                            old.as_object().map(|m| m.keys().cloned().map(Value::String).collect()).unwrap_or_default();
                        map.insert("headerNames".into(), Value::Array(names));
                    } else {
                        flags.insert(name, Value::Bool(true));
                    }
                }
            }
            for child in map.values_mut() {
                redact(child, secrets);
            }
            map.extend(flags);
        }
        Value::Array(items) => items.iter_mut().for_each(|i| redact(i, secrets)),
        _ => {}
    }
}

const SECRET_FIELDS: &[&str] = &["private_key", "privateKey", "authToken", "password", "headers"];

fn view_of<T: Serialize>(input: &T) -> Result<Value, CoreError> {
    let mut v = serde_json::to_value(input).map_err(|e| CoreError::Internal(e.to_string()))?;
    redact(&mut v, SECRET_FIELDS);
    Ok(v)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn debug_output_hides_secrets() {
        let cfg = TwilioConfig {
            account_sid: "AC1".into(),
            auth_token: "tw-s3cret".into(),
            from: "+15550001111".into(),
            sender_ids: BTreeMap::new(),
            base_url: None,
        };
        let text = format!("{:?}", ProvidersInput { sms: Some(SmsConfig::Twilio(cfg)), email: None });
        assert!(text.contains("AC1") && !text.contains("tw-s3cret"), "{text}");
    }

    #[test]
    fn secrets_never_reach_the_view() {
        let input: ProvidersInput = serde_json::from_value(serde_json::json!({
            "sms": {"provider": "http", "url": "https://gw.example/send", "headers": {"Authorization": "Bearer s3cret"},
                    "body": "{\"to\":\"{{to}}\"}"},
            "email": {"host": "127.0.0.1", "security": "plain", "username": "u", "password": "pw-s3cret",
                      "from": "Bank <no-reply@bank.example>"}
        }))
        .unwrap();
        input.validate().unwrap();
        let v = view_of(&input).unwrap().to_string();
        assert!(!v.contains("s3cret"), "{v}");
        assert!(v.contains("\"hasPassword\":true"), "{v}");
        assert!(v.contains("\"headerNames\":[\"Authorization\"]"), "{v}");
    }

    #[test]
    fn plain_smtp_only_to_loopback_and_senders_checked() {
        let mut p = ProvidersInput {
            email: Some(EmailConfig {
                host: "smtp.example.com".into(),
                port: None,
                security: SmtpSecurity::Plain,
                username: None,
                password: None,
                from: "a@b.example".into(),
                templates: BTreeMap::new(),
                file: None,
            }),
            sms: None,
        };
        assert!(matches!(p.validate(), Err(CoreError::Invalid { field, .. }) if field == "email.security"));
        p.email = None;
        p.sms = Some(SmsConfig::Twilio(TwilioConfig {
            account_sid: "AC1".into(),
            auth_token: "t".into(),
            from: "+15550001111".into(),
            sender_ids: BTreeMap::from([("otp".into(), "A SENDER ID TOO LONG".into())]),
            base_url: None,
        }));
        assert!(matches!(p.validate(), Err(CoreError::Invalid { field, .. }) if field == "sms.senderIds.otp"));
    }

    #[test]
    fn templates_fall_back_and_escape() {
        let mut langs = BTreeMap::new();
        langs.insert(
            "de".to_owned(),
            EmailTemplate {
                subject: "Code {{code}}".into(),
                text: "T {{code}}".into(),
                html: "<p>{{code}}</p>".into(),
            },
        );
        let email = EmailConfig {
            host: "localhost".into(),
            port: None,
            security: SmtpSecurity::Plain,
            username: None,
            password: None,
            from: "a@b.example".into(),
            templates: BTreeMap::from([("otp".to_owned(), langs)]),
            file: None,
        };
        assert_eq!(template(Some(&email), "otp", "de-CH").unwrap().subject, "Code {{code}}");
        assert_eq!(template(Some(&email), "otp", "fr").unwrap().subject, "Your verification code");
        assert!(template(None, "nothing", "en").is_none());
        let values = BTreeMap::from([("code", "<1&2>".to_owned())]);
        let t = template(Some(&email), "otp", "de").unwrap();
        let p = render_email("x@y.example", &t, &values);
        assert_eq!(p.text, "T <1&2>");
        assert_eq!(p.html, "<p>&lt;1&amp;2&gt;</p>");
        assert_eq!(
            fill("{{a}} {{ b }} {{c", &BTreeMap::from([("a", "1".into()), ("b", "2".into())]), no_escape),
            "1 2 {{c"
        );
    }

    #[test]
    fn apns_route_by_version() {
        let cfg = ApnsConfig {
            team_id: "T".into(),
            key_id: "K".into(),
            private_key: String::new(),
            environment: ApnsEnvironment::Production,
            versions: BTreeMap::from([(
                "2.0".to_owned(),
                ApnsVersion { bundle_id: Some("com.bank.app".into()), environment: Some(ApnsEnvironment::Sandbox) },
            )]),
            production_url: None,
            sandbox_url: Some("https://127.0.0.1:9/".into()),
        };
        assert_eq!(cfg.route("app", "2.0"), ("https://127.0.0.1:9".to_owned(), "com.bank.app".to_owned()));
        assert_eq!(cfg.route("app", "1.0"), ("https://api.push.apple.com".to_owned(), "app".to_owned()));
    }

    #[test]
    fn file_sinks_need_no_host_and_only_the_server_configuration_may_name_them() {
        let input: ProvidersInput = serde_json::from_value(serde_json::json!({
            "sms": {"provider": "file", "file": "/tmp/messages.jsonl"},
            "email": {"file": "/tmp/messages.jsonl", "from": "Demo <no-reply@demo.example>"}
        }))
        .unwrap();
        input.validate().unwrap();
        assert!(matches!(input.refuse_file_sinks(), Err(CoreError::Invalid { field, .. }) if field == "sms.provider"));
        let email_only = ProvidersInput { sms: None, ..input };
        assert!(
            matches!(email_only.refuse_file_sinks(), Err(CoreError::Invalid { field, .. }) if field == "email.file")
        );
        // Without a file, an SMTP host is still required.
        let no_host: ProvidersInput =
            serde_json::from_value(serde_json::json!({"email": {"from": "a@b.example"}})).unwrap();
        assert!(matches!(no_host.validate(), Err(CoreError::Invalid { field, .. }) if field == "email.host"));
        assert!(ProvidersInput::default().refuse_file_sinks().is_ok());
    }

    #[test]
    fn mailbox_addresses() {
        assert_eq!(mailbox_address("Bank <no-reply@bank.example>"), Some("no-reply@bank.example"));
        assert_eq!(mailbox_address("x@y.example"), Some("x@y.example"));
        assert_eq!(mailbox_address("Bank <nope>"), None);
    }
}
