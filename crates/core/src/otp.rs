//! Authentication types (docs/otp.md): the built-in and tenant-defined types a `passKey`
//! names — a method and its settings (lifetime, attempts, resends, code length, fallback,
//! sender, texts) — and how a login reads one; the admin API writes them
//! (`admin/auth_types.rs`). What each method does with them is in `methods/`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::CoreError;
use crate::methods::Method;

/// An authentication type as configured (`PUT /admin/v1/tenants/{domain}/auth-types/{name}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthType {
    /// What it does: the method (docs/architecture.md, "Methods").
    pub method: Method,
    /// Lifetime of a code, seconds (10–3600).
    #[serde(default = "default_ttl")]
    pub ttl_seconds: u32,
    /// Wrong codes before the session fails (0: unlimited until expiry).
    #[serde(default = "three")]
    pub max_attempts: u32,
    /// Resends allowed (0: off).
    #[serde(default = "three")]
    pub max_resends: u32,
    /// Digits in a code (4–10).
    #[serde(default = "six")]
    pub code_length: u32,
    /// The type started when this one cannot start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// SMS sender for this type.
    #[serde(default, rename = "senderID", skip_serializing_if = "Option::is_none")]
    pub sender_id: Option<String>,
    /// SMS text per language code, with `{code}`, `{minutes}`, `{domain}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub messages: BTreeMap<String, String>,
    /// Host for the origin-bound autofill line `@host #code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autofill_host: Option<String>,
    /// Whether it may start.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Set on `votpCustomDelivery`: the code is handed to the relying party.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub custom_delivery: bool,
    /// Set on `votp`: SMS or e-mail by the user's `vdpDeliveryMethod`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub follow_user_delivery: bool,
    /// `push_custom` only: the custom authenticator that approves (a name the device
    /// registered a custom key under; docs/mobile-protocol.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_authenticator: Option<String>,
}

fn default_ttl() -> u32 {
    300
}
fn three() -> u32 {
    3
}
fn six() -> u32 {
    6
}
fn yes() -> bool {
    true
}

impl AuthType {
    /// A type of `method` with the defaults.
    pub(crate) fn of(method: Method) -> AuthType {
        AuthType {
            method,
            ttl_seconds: default_ttl(),
            max_attempts: 3,
            max_resends: 3,
            code_length: 6,
            fallback: None,
            sender_id: None,
            messages: BTreeMap::new(),
            autofill_host: None,
            enabled: true,
            custom_delivery: false,
            follow_user_delivery: false,
            custom_authenticator: None,
        }
    }

    /// The built-in type `name`.
    pub fn builtin(name: &str) -> Option<AuthType> {
        let t = match name {
            "push" | "NoPIN" => AuthType::of(Method::Push),
            "PIN" => AuthType::of(Method::PushPin),
            "Fingerprint" => AuthType::of(Method::PushFingerprint),
            "sms" => AuthType::of(Method::Sms),
            "email" => AuthType::of(Method::Email),
            "voice" => AuthType::of(Method::Voice),
            "totp" => AuthType::of(Method::Totp),
            "qr" => AuthType { ttl_seconds: 120, max_resends: 0, ..AuthType::of(Method::QrOtp) },
            "votp" => AuthType { follow_user_delivery: true, ..AuthType::of(Method::Sms) },
            "votpCustomDelivery" => {
                AuthType { follow_user_delivery: true, custom_delivery: true, ..AuthType::of(Method::Sms) }
            }
            _ => return None,
        };
        Some(t)
    }

    /// The built-in type names.
    pub const BUILTIN: [&'static str; 11] =
        ["push", "NoPIN", "PIN", "Fingerprint", "sms", "email", "voice", "votp", "votpCustomDelivery", "totp", "qr"];

    pub(crate) fn validate(&self, name: &str) -> Result<(), CoreError> {
        let ok_name = !name.is_empty()
            && name.len() <= 64
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !ok_name {
            return Err(CoreError::invalid("name", "1 to 64 of A-Z, a-z, 0-9, '_', '-', '.'"));
        }
        if !(10..=3600).contains(&self.ttl_seconds) {
            return Err(CoreError::invalid("ttlSeconds", "ttlSeconds must be between 10 and 3600"));
        }
        if !(4..=10).contains(&self.code_length) {
            return Err(CoreError::invalid("codeLength", "codeLength must be between 4 and 10"));
        }
        if self.max_attempts > 100 || self.max_resends > 20 {
            return Err(CoreError::invalid("maxAttempts", "maxAttempts is at most 100 and maxResends at most 20"));
        }
        if self.fallback.is_some() && self.method == Method::QrOtp {
            return Err(CoreError::invalid("fallback", "a qr_otp type has no fallback"));
        }
        match (&self.custom_authenticator, self.method) {
            (None, Method::PushCustom) => {
                return Err(CoreError::invalid(
                    "customAuthenticator",
                    "a push_custom type names the custom authenticator that approves it",
                ));
            }
            (Some(c), Method::PushCustom) => {
                crate::validate::name(c).map_err(|m| CoreError::invalid("customAuthenticator", m))?;
            }
            (Some(_), _) => {
                return Err(CoreError::invalid(
                    "customAuthenticator",
                    "only a push_custom type names a custom authenticator",
                ));
            }
            (None, _) => {}
        }
        if self.fallback.as_deref() == Some(name) {
            return Err(CoreError::invalid("fallback", "a type cannot fall back to itself"));
        }
        if let Some(s) = &self.sender_id {
            let ok =
                (1..=15).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '+' || c == ' ');
            if !ok {
                return Err(CoreError::invalid("senderID", "a phone number, short code or alphanumeric sender ID"));
            }
        }
        for (lang, text) in &self.messages {
            crate::validate::locale(lang).map_err(|m| CoreError::invalid(format!("messages.{lang}"), m))?;
            if text.is_empty() || text.chars().count() > 480 {
                return Err(CoreError::invalid(format!("messages.{lang}"), "1 to 480 characters"));
            }
        }
        if let Some(h) = &self.autofill_host
            && crate::validate::domain(h).is_err()
        {
            return Err(CoreError::invalid("autofillHost", "a host name such as bank.example"));
        }
        Ok(())
    }

    /// The SMS text for `code` in `language`.
    pub fn sms_text(&self, code: &str, language: &str, domain: &str) -> String {
        let primary = language.split('-').next().unwrap_or(language);
        let template = self
            .messages
            .get(language)
            .or_else(|| self.messages.get(primary))
            .or_else(|| self.messages.get("en"))
            .cloned()
            .unwrap_or_else(|| {
                "Your {domain} verification code is {code}. It expires in {minutes} minutes.".to_owned()
            });
        let mut text = if template.contains("{code}") {
            template
                .replace("{minutes}", &self.ttl_seconds.div_ceil(60).to_string())
                .replace("{domain}", domain)
                .replace("{code}", code)
        } else {
            code.to_owned()
        };
        if let Some(host) = &self.autofill_host {
            text.push_str(&format!("\n\n@{host} #{code}"));
        }
        text
    }
}

/// A type as listed.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthTypeView {
    /// Its name (what `passKey` says).
    pub name: String,
    /// Whether it is built in.
    pub builtin: bool,
    /// Whether a tenant setting changed or added it.
    pub customised: bool,
    /// The settings.
    #[serde(flatten)]
    pub settings: AuthType,
}

/// Output of a resend.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResendOutput {
    /// Resends made so far.
    pub resends: u32,
    /// Resends allowed.
    pub max_resends: u32,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn sms_texts() {
        let mut t = AuthType::builtin("sms").unwrap();
        assert_eq!(
            t.sms_text("123456", "de", "bank.example"),
            "Your bank.example verification code is 123456. It expires in 5 minutes."
        );
        t.messages.insert("de".into(), "Ihr Code: {code}".into());
        t.autofill_host = Some("bank.example".into());
        assert_eq!(t.sms_text("123456", "de-CH", "x"), "Ihr Code: 123456\n\n@bank.example #123456");
        t.messages.insert("fr".into(), "pas de code ici".into());
        t.autofill_host = None;
        assert_eq!(t.sms_text("42", "fr", "x"), "42");
    }

    #[test]
    fn types_are_checked() {
        let mut t = AuthType::builtin("sms").unwrap();
        assert!(t.validate("sms").is_ok());
        t.ttl_seconds = 5;
        assert!(matches!(t.validate("sms"), Err(CoreError::Invalid { field, .. }) if field == "ttlSeconds"));
        let mut q = AuthType::of(Method::QrOtp);
        q.fallback = Some("sms".into());
        assert!(matches!(q.validate("qr"), Err(CoreError::Invalid { field, .. }) if field == "fallback"));
        let t: Result<AuthType, _> = serde_json::from_str(r#"{"method": "sms", "ttl": 3}"#);
        assert!(t.is_err(), "unknown fields are refused");
    }
}
