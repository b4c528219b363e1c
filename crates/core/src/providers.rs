//! Provider configuration (docs/delivery.md, "Providers"): push apps (per app ID, one set
//! of credentials per platform) and each tenant's messaging providers (SMS, SMTP). The
//! documents are stored as a public view plus the whole input sealed under the master
//! key; the API only ever shows the view.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::delivery::outbox::{OutboxKind, OutboxMessage};
use crate::error::{CoreError, Entity};
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::store::SealedConfig;
use crate::tenant::Tenant;
use crate::validate;

/// How long a test message or a one-time code message is tried.
pub const MESSAGE_LIFETIME_MS: i64 = 10 * 60 * 1000;

// ---- push apps -------------------------------------------------------------------------

/// `PUT /admin/v1/apps/{appID}`: credentials per platform.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PushAppInput {
    /// Firebase Cloud Messaging (HTTP v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fcm: Option<FcmConfig>,
    /// Apple Push Notification service (token authentication).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apns: Option<ApnsConfig>,
    /// Web Push with VAPID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webpush: Option<WebPushConfig>,
}

/// FCM HTTP v1 settings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FcmConfig {
    /// The Google service-account JSON, as downloaded.
    pub service_account: ServiceAccount,
    /// Send endpoint; default `https://fcm.googleapis.com/v1/projects/{project_id}/messages:send`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_url: Option<String>,
}

/// The fields of a Google service-account key file that are used (others are ignored).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct ServiceAccount {
    /// Firebase project ID.
    pub project_id: String,
    /// Key ID (sent as the JWT `kid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_id: Option<String>,
    /// PKCS#8 PEM RSA private key.
    pub private_key: String,
    /// The service account's e-mail (the JWT issuer).
    pub client_email: String,
    /// OAuth2 token endpoint.
    #[serde(default = "google_token_uri")]
    pub token_uri: String,
}

fn google_token_uri() -> String {
    "https://oauth2.googleapis.com/token".to_owned()
}

impl FcmConfig {
    /// Where messages are posted.
    pub fn send_url(&self) -> String {
        self.send_url.clone().unwrap_or_else(|| {
            format!("https://fcm.googleapis.com/v1/projects/{}/messages:send", self.service_account.project_id)
        })
    }
}

/// APNs environment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApnsEnvironment {
    /// `api.push.apple.com`.
    #[default]
    Production,
    /// `api.sandbox.push.apple.com` (development builds).
    Sandbox,
}

/// APNs token-authentication settings.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApnsConfig {
    /// Apple developer team ID (the JWT issuer).
    pub team_id: String,
    /// The .p8 key's ID (the JWT `kid`).
    pub key_id: String,
    /// The .p8 file: PKCS#8 PEM EC P-256 private key.
    pub private_key: String,
    /// Environment for app versions that do not name one.
    #[serde(default)]
    pub environment: ApnsEnvironment,
    /// Per app version: bundle ID (the `apns-topic`) and environment.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub versions: BTreeMap<String, ApnsVersion>,
    /// Production endpoint; default `https://api.push.apple.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production_url: Option<String>,
    /// Sandbox endpoint; default `https://api.sandbox.push.apple.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox_url: Option<String>,
}

/// Settings of one app version.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApnsVersion {
    /// The bundle ID (`apns-topic`); the app ID when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle_id: Option<String>,
    /// Environment of this version; the app's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<ApnsEnvironment>,
}

impl ApnsConfig {
    /// (base URL, topic) for a device of `app_id` at `app_version`.
    pub fn route(&self, app_id: &str, app_version: &str) -> (String, String) {
        let version = self.versions.get(app_version);
        let env = version.and_then(|v| v.environment).unwrap_or(self.environment);
        let topic = version.and_then(|v| v.bundle_id.clone()).unwrap_or_else(|| app_id.to_owned());
        let base = match env {
            ApnsEnvironment::Production => {
                self.production_url.clone().unwrap_or_else(|| "https://api.push.apple.com".to_owned())
            }
            ApnsEnvironment::Sandbox => {
                self.sandbox_url.clone().unwrap_or_else(|| "https://api.sandbox.push.apple.com".to_owned())
            }
        };
        (base.trim_end_matches('/').to_owned(), topic)
    }
}

/// Web Push settings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebPushConfig {
    /// VAPID contact: a `mailto:` or `https:` URI.
    pub subject: String,
}

/// What is sealed for a push app: the input and the VAPID private key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushAppSecrets {
    /// The configuration as given.
    pub config: PushAppInput,
    /// VAPID private scalar, base64url (made when Web Push is first configured).
    #[serde(default)]
    pub vapid_private_key: Option<String>,
}

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

impl PushAppInput {
    /// Check every field.
    pub fn validate(&self) -> Result<(), CoreError> {
        if let Some(f) = &self.fcm {
            let sa = &f.service_account;
            check_text("fcm.serviceAccount.project_id", &sa.project_id, 200)?;
            check_text("fcm.serviceAccount.client_email", &sa.client_email, 320)?;
            check_pem("fcm.serviceAccount.private_key", &sa.private_key, "PRIVATE KEY")?;
            check_http_url("fcm.serviceAccount.token_uri", &sa.token_uri)?;
            if let Some(u) = &f.send_url {
                check_http_url("fcm.sendUrl", u)?;
            }
        }
        if let Some(a) = &self.apns {
            check_text("apns.teamId", &a.team_id, 20)?;
            check_text("apns.keyId", &a.key_id, 20)?;
            check_pem("apns.privateKey", &a.private_key, "PRIVATE KEY")?;
            use p256::pkcs8::DecodePrivateKey;
            if p256::SecretKey::from_pkcs8_pem(a.private_key.trim()).is_err() {
                return Err(CoreError::invalid("apns.privateKey", "must be a PKCS#8 P-256 key (the .p8 file)"));
            }
            for (field, url) in [("apns.productionUrl", &a.production_url), ("apns.sandboxUrl", &a.sandbox_url)] {
                if let Some(u) = url {
                    check_http_url(field, u)?;
                }
            }
            for (v, s) in &a.versions {
                check_text("apns.versions", v, 50)?;
                if let Some(b) = &s.bundle_id {
                    check_text(&format!("apns.versions.{v}.bundleId"), b, 200)?;
                }
            }
        }
        if let Some(w) = &self.webpush {
            let ok = (w.subject.starts_with("mailto:") || w.subject.starts_with("https://"))
                && w.subject.len() <= 500
                && !w.subject.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                return Err(CoreError::invalid("webpush.subject", "must be a mailto: or https: URI"));
            }
        }
        Ok(())
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

/// The VAPID public key (uncompressed point, base64url) of a sealed private scalar.
pub fn vapid_public_key(private_b64: &str) -> Option<String> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let bytes = countersign_proto::b64u_decode(private_b64).ok()?;
    let key = p256::SecretKey::from_slice(&bytes).ok()?;
    Some(countersign_proto::b64u_encode(key.public_key().to_encoded_point(false).as_bytes()))
}

fn new_vapid_key(core: &Core) -> Result<String, CoreError> {
    for _ in 0..8 {
        let mut k = [0u8; 32];
        core.random.fill(&mut k)?;
        if p256::SecretKey::from_slice(&k).is_ok() {
            return Ok(countersign_proto::b64u_encode(&k));
        }
    }
    Err(CoreError::Internal("could not make a VAPID key".into()))
}

// ---- templates -------------------------------------------------------------------------

/// Fill `{{name}}` placeholders from `values`; unknown names stay as they are.
pub fn fill(template: &str, values: &BTreeMap<&str, String>, escape: fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                match values.get(name) {
                    Some(v) => out.push_str(&escape(v)),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Text as it is.
pub fn no_escape(s: &str) -> String {
    s.to_owned()
}

/// Text for HTML.
pub fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn builtin_template(name: &str, lang: &str) -> Option<EmailTemplate> {
    let t = |s: &str, x: &str, h: &str| Some(EmailTemplate { subject: s.into(), text: x.into(), html: h.into() });
    match (name, lang) {
        ("test", "en") => t(
            "countersign test message",
            "This is a test message from countersign for {{domain}}. E-mail delivery works.",
            "<p>This is a test message from countersign for <b>{{domain}}</b>. E-mail delivery works.</p>",
        ),
        ("test", "de") => t(
            "countersign Testnachricht",
            "Dies ist eine Testnachricht von countersign für {{domain}}. Der E-Mail-Versand funktioniert.",
            "<p>Dies ist eine Testnachricht von countersign für <b>{{domain}}</b>. \
             Der E-Mail-Versand funktioniert.</p>",
        ),
        ("otp", "en") => t(
            "Your verification code",
            "Your verification code is {{code}}. It is valid for {{minutes}} minutes. Do not share it.",
            "<p>Your verification code is <b>{{code}}</b>.</p><p>It is valid for {{minutes}} minutes. \
             Do not share it.</p>",
        ),
        ("otp", "de") => t(
            "Ihr Bestätigungscode",
            "Ihr Bestätigungscode lautet {{code}}. Er ist {{minutes}} Minuten gültig. Geben Sie ihn nicht weiter.",
            "<p>Ihr Bestätigungscode lautet <b>{{code}}</b>.</p><p>Er ist {{minutes}} Minuten gültig. \
             Geben Sie ihn nicht weiter.</p>",
        ),
        _ => None,
    }
}

/// The template `name` for `language`: the exact tag, its primary subtag, then `en`; the
/// tenant's own before the built-in ones.
pub fn template(email: Option<&EmailConfig>, name: &str, language: &str) -> Option<EmailTemplate> {
    let primary = language.split(['-', '_']).next().unwrap_or(language);
    let mut tried = Vec::new();
    for lang in [language, primary, "en"] {
        if tried.contains(&lang) {
            continue;
        }
        tried.push(lang);
        if let Some(t) = email.and_then(|e| e.templates.get(name)).and_then(|m| m.get(lang)) {
            return Some(t.clone());
        }
        if let Some(t) = builtin_template(name, lang) {
            return Some(t);
        }
    }
    None
}

/// Render a template into an e-mail payload.
pub fn render_email(to: &str, t: &EmailTemplate, values: &BTreeMap<&str, String>) -> EmailPayload {
    EmailPayload {
        to: to.to_owned(),
        subject: fill(&t.subject, values, no_escape).replace(['\r', '\n'], " "),
        text: fill(&t.text, values, no_escape),
        html: fill(&t.html, values, html_escape),
    }
}

// ---- operations ------------------------------------------------------------------------

fn check_app_id(app_id: &str) -> Result<(), CoreError> {
    let ok = !app_id.is_empty()
        && app_id.len() <= 200
        && app_id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok { Ok(()) } else { Err(CoreError::invalid("appID", "letters, digits, '.', '-', '_'; at most 200")) }
}

/// The public view of sealed configuration.
fn view_from(stored: &SealedConfig) -> Result<Value, CoreError> {
    serde_json::from_str(&stored.view).map_err(|_| CoreError::Internal("damaged provider document".into()))
}

impl Core {
    fn seal_doc<T: Serialize>(&self, view: &Value, secrets: &T) -> Result<SealedConfig, CoreError> {
        let plain = serde_json::to_string(secrets).map_err(|e| CoreError::Internal(e.to_string()))?;
        let view = serde_json::to_string(view).map_err(|e| CoreError::Internal(e.to_string()))?;
        Ok(SealedConfig { view, sealed: self.sealer.seal(&*self.random, &plain)? })
    }

    fn open_doc<T: for<'de> Deserialize<'de>>(&self, stored: &SealedConfig) -> Result<(Value, T), CoreError> {
        let plain = self.sealer.open(&stored.sealed)?;
        let secrets =
            serde_json::from_str(&plain).map_err(|_| CoreError::Internal("damaged provider document".into()))?;
        Ok((view_from(stored)?, secrets))
    }

    /// Configure a push app (admin API); returns its view.
    pub async fn set_push_app(&self, app_id: &str, input: PushAppInput) -> Result<Value, CoreError> {
        check_app_id(app_id)?;
        input.validate()?;
        let old = self.push_app_secrets(app_id).await?;
        let vapid = match (&input.webpush, old.and_then(|o| o.vapid_private_key)) {
            (None, _) => None,
            (Some(_), Some(k)) => Some(k),
            (Some(_), None) => Some(new_vapid_key(self)?),
        };
        let secrets = PushAppSecrets { config: input, vapid_private_key: vapid };
        let view = push_app_view(app_id, &secrets)?;
        let doc = self.seal_doc(&view, &secrets)?;
        self.store.set_push_app(app_id, &doc, self.clock.now()).await?;
        Ok(view)
    }

    /// A push app's view.
    pub async fn push_app(&self, app_id: &str) -> Result<Value, CoreError> {
        let doc = self.store.push_app(app_id).await?.ok_or(CoreError::NotFound(Entity::App))?;
        view_from(&doc)
    }

    /// Every push app's view.
    pub async fn push_apps(&self) -> Result<Vec<Value>, CoreError> {
        let mut out = Vec::new();
        for (_, doc) in self.store.push_apps().await? {
            out.push(view_from(&doc)?);
        }
        Ok(out)
    }

    /// Remove a push app.
    pub async fn delete_push_app(&self, app_id: &str) -> Result<(), CoreError> {
        if self.store.delete_push_app(app_id).await? { Ok(()) } else { Err(CoreError::NotFound(Entity::App)) }
    }

    /// A push app's credentials (for the sender), if configured.
    pub async fn push_app_secrets(&self, app_id: &str) -> Result<Option<PushAppSecrets>, CoreError> {
        match self.store.push_app(app_id).await? {
            Some(doc) => Ok(Some(self.open_doc::<PushAppSecrets>(&doc)?.1)),
            None => Ok(None),
        }
    }

    /// The Web Push public key of an app (mobile API).
    pub async fn webpush_public_key(&self, app_id: &str) -> Result<String, CoreError> {
        let secrets = self.push_app_secrets(app_id).await?;
        secrets
            .and_then(|s| s.vapid_private_key)
            .and_then(|k| vapid_public_key(&k))
            .ok_or(CoreError::NotFound(Entity::App))
    }

    /// Configure a tenant's SMS and e-mail providers (admin API); returns the view.
    pub async fn set_providers(&self, domain: &str, input: ProvidersInput) -> Result<Value, CoreError> {
        let tenant = self.tenant(domain).await?;
        input.validate()?;
        input.refuse_file_sinks()?;
        let view = view_of(&input)?;
        let doc = self.seal_doc(&view, &input)?;
        self.store.set_tenant_providers(&tenant.id, &doc, self.clock.now()).await?;
        Ok(view)
    }

    /// A tenant's providers as shown (its own, else the server defaults, marked so).
    pub async fn providers_view(&self, domain: &str) -> Result<Value, CoreError> {
        let tenant = self.tenant(domain).await?;
        match self.store.tenant_providers(&tenant.id).await? {
            Some(doc) => view_from(&doc),
            None => {
                let mut v = view_of(&*self.default_providers)?;
                if let Value::Object(m) = &mut v {
                    m.insert("serverDefaults".into(), Value::Bool(true));
                }
                Ok(v)
            }
        }
    }

    /// The providers that serve `tenant_id`: its own document, else the server defaults.
    pub async fn providers_for(&self, tenant_id: &str) -> Result<ProvidersInput, CoreError> {
        match self.store.tenant_providers(tenant_id).await? {
            Some(doc) => Ok(self.open_doc::<ProvidersInput>(&doc)?.1),
            None => Ok((*self.default_providers).clone()),
        }
    }

    /// Put an SMS in the outbox (test messages now; one-time codes later).
    pub async fn enqueue_sms(
        &self,
        tenant: &Tenant,
        to: &str,
        text: &str,
        auth_type: &str,
    ) -> Result<String, CoreError> {
        validate::phone(to).map_err(|m| CoreError::invalid("to", m))?;
        let payload =
            SmsPayload { to: to.to_owned(), text: text.to_owned(), auth_type: auth_type.to_owned(), sender: None };
        self.enqueue_message(tenant, OutboxKind::Sms, to, &payload).await
    }

    /// Put an e-mail rendered from template `name` in the outbox.
    pub async fn enqueue_email(
        &self,
        tenant: &Tenant,
        to: &str,
        name: &str,
        language: &str,
        values: &BTreeMap<&str, String>,
    ) -> Result<String, CoreError> {
        validate::email(to).map_err(|m| CoreError::invalid("to", m))?;
        validate::locale(language).map_err(|m| CoreError::invalid("language", m))?;
        let providers = self.providers_for(&tenant.id).await?;
        let t = template(providers.email.as_ref(), name, language)
            .ok_or_else(|| CoreError::Internal(format!("no template {name}")))?;
        let payload = render_email(to, &t, values);
        self.enqueue_message(tenant, OutboxKind::Email, to, &payload).await
    }

    async fn enqueue_message<T: Serialize>(
        &self,
        tenant: &Tenant,
        kind: OutboxKind,
        target: &str,
        payload: &T,
    ) -> Result<String, CoreError> {
        let now = self.clock.now();
        let id = crate::random::new_id(&*self.random)?;
        let body = serde_json::to_string(payload).map_err(|e| CoreError::Internal(e.to_string()))?;
        // SMS and e-mail payloads hold contacts (and codes): sealed at rest.
        let body = self.sealer.seal(&*self.random, &body)?;
        let m =
            OutboxMessage::new(id.clone(), &tenant.id, kind, target, body, now, now.plus_millis(MESSAGE_LIFETIME_MS));
        self.store.enqueue(&[m]).await?;
        self.outbox_wake.notify_one();
        Ok(id)
    }

    /// Send a test message through the tenant's provider (admin API); returns the message ID.
    pub async fn send_test_message(&self, domain: &str, input: TestMessageInput) -> Result<String, CoreError> {
        let tenant = self.tenant(domain).await?;
        let providers = self.providers_for(&tenant.id).await?;
        let not_configured = |what: &str| {
            CoreError::refused(
                crate::error::Refusal::Unprocessable,
                RefusalCode::ProviderNotConfigured,
                format!("no {what} provider is configured for this tenant"),
            )
        };
        match input.channel.as_str() {
            "sms" => {
                if providers.sms.is_none() {
                    return Err(not_configured("SMS"));
                }
                let text = format!("countersign test message for {}", tenant.domain.as_str());
                self.enqueue_sms(&tenant, &input.to, &text, "test").await
            }
            "email" => {
                if providers.email.is_none() {
                    return Err(not_configured("e-mail"));
                }
                let lang = input.language.unwrap_or_else(|| "en".to_owned());
                let values = BTreeMap::from([("domain", tenant.domain.as_str().to_owned())]);
                self.enqueue_email(&tenant, &input.to, "test", &lang, &values).await
            }
            _ => Err(CoreError::invalid("channel", "must be sms or email")),
        }
    }
}

fn push_app_view(app_id: &str, s: &PushAppSecrets) -> Result<Value, CoreError> {
    let mut v = view_of(&s.config)?;
    if let Value::Object(m) = &mut v {
        m.insert("appID".into(), Value::String(app_id.to_owned()));
        if let (Some(Value::Object(w)), Some(k)) = (m.get_mut("webpush"), s.vapid_private_key.as_deref())
            && let Some(public) = vapid_public_key(k)
        {
            w.insert("publicKey".into(), Value::String(public));
        }
    }
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
