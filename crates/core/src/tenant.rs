//! Tenants: isolated customers, each named by a domain.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::Timestamp;
use crate::error::CoreError;
use crate::validate;

/// A validated, lower-case tenant domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Domain(String);

impl Domain {
    /// Validate `s` (case-insensitively) as a domain; `field` names it in the error.
    pub fn parse(s: &str, field: &str) -> Result<Domain, CoreError> {
        let lower = s.to_ascii_lowercase();
        validate::domain(&lower).map_err(|m| CoreError::invalid(field, m))?;
        Ok(Domain(lower))
    }

    /// The domain as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Domain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Default login timeout for a new tenant, in seconds.
pub const DEFAULT_LOGIN_TIMEOUT_SECONDS: u32 = 60;
/// Longest login timeout a tenant may set, in seconds.
pub const MAX_LOGIN_TIMEOUT_SECONDS: u32 = 3600;

/// How many devices a user may enroll for one app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PushEnrollmentMode {
    /// One device per user and app; a second activation is refused.
    Single,
    /// One device per user and app; a new one replaces the old.
    Override,
    /// Any number of devices.
    Multiple,
}

/// Per-tenant settings, stored as one JSON document so that later settings need no
/// schema change. Missing fields read as their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct TenantSettings {
    /// How long a synchronous login waits for the user by default, and how long an
    /// asynchronous one lives, in seconds (1–3600).
    #[schema(minimum = 1, maximum = 3600, example = 60)]
    pub login_timeout_seconds: u32,
    /// How long an activation (its QR code) stays usable, in seconds (60–86400).
    #[schema(minimum = 60, maximum = 86400, example = 600)]
    pub activation_ttl_seconds: u32,
    /// Devices per user and app.
    pub push_enrollment_mode: PushEnrollmentMode,
    /// Whether mobile authenticators may be activated.
    pub device_enrollment: bool,
    /// Whether push logins may be started.
    pub push_authorization: bool,
    /// Wrong PINs before the device is disconnected (1–10).
    #[schema(minimum = 1, maximum = 10, example = 3)]
    pub max_pin_attempts: u32,
    /// When push logins use number matching (docs/mobile-protocol.md, "Number matching").
    pub number_matching: NumberMatching,
    /// The push app whose credentials send this tenant's pushes; none: each device's own
    /// app ID (docs/delivery.md, "Providers").
    pub push_app_id: Option<String>,
    /// Secure-message templates by language code, with `[message]`, `[operatingSystem]`,
    /// `[browser]`, `[countryCode]`, `[region]`, `[city]` (docs/otp.md).
    pub confirmation_templates: std::collections::BTreeMap<String, String>,
    /// Languages messages may be sent in (empty: any); others fall back to English.
    pub supported_languages: Vec<String>,
    /// How static passwords may be used (docs/risk.md).
    pub static_password_mode: StaticPasswordMode,
    /// Wrong static passwords in a row before it locks (1–20).
    pub max_password_failures: u32,
    /// How long a locked static password stays locked, minutes (0: until unlocked).
    pub password_lock_minutes: u32,
    /// The type that follows a right password in `parallel` mode.
    pub second_factor: String,
    /// Login requests (pushes, codes by SMS or e-mail) a user may be sent per window
    /// (0: no limit; at most 1000): against push bombing and SMS pumping.
    #[schema(maximum = 1000, example = 20)]
    pub login_request_limit: u32,
    /// The window of `loginRequestLimit`, in seconds (60–86400).
    #[schema(minimum = 60, maximum = 86400, example = 600)]
    pub login_request_window_seconds: u32,
    /// What a user's "not me" on a sign-in of the self-service pages locks (docs/web.md).
    pub not_me_policy: NotMePolicy,
}

/// What "not me" locks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum NotMePolicy {
    /// The user: no login passes until an administrator unlocks them (the default).
    #[default]
    LockUser,
    /// The mobile authenticator that approved the sign-in (it is disconnected); a
    /// sign-in no device approved locks the user.
    LockDevice,
}

/// When push logins use number matching. A synchronous login answers only once the
/// session has ended, so its relying party can never show the number before the user
/// answers: it can use number matching only by going asynchronous.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NumberMatching {
    /// Never.
    Off,
    /// Asynchronous logins (`timeout: 0`), whose answer carries `numberToShow`;
    /// synchronous logins go without.
    #[default]
    Asynchronous,
    /// Every push login; a synchronous one is refused (`422 number_matching_requires_async`).
    Required,
}

impl<'de> Deserialize<'de> for NumberMatching {
    /// `"off"`, `"asynchronous"`, `"required"`; also `false` (off) and `true`
    /// (asynchronous), the values of earlier releases.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Word(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bool(false) => Ok(Self::Off),
            Raw::Bool(true) => Ok(Self::Asynchronous),
            Raw::Word(w) => match w.as_str() {
                "off" => Ok(Self::Off),
                "asynchronous" => Ok(Self::Asynchronous),
                "required" => Ok(Self::Required),
                _ => Err(serde::de::Error::custom("numberMatching must be off, asynchronous or required")),
            },
        }
    }
}

/// How static passwords may be used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StaticPasswordMode {
    /// Alone, during the grace period only.
    #[default]
    Exclusive,
    /// As the first of two factors.
    Parallel,
    /// Not at all.
    Off,
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            login_timeout_seconds: DEFAULT_LOGIN_TIMEOUT_SECONDS,
            activation_ttl_seconds: 600,
            push_enrollment_mode: PushEnrollmentMode::Single,
            device_enrollment: true,
            push_authorization: true,
            max_pin_attempts: 3,
            number_matching: NumberMatching::Asynchronous,
            push_app_id: None,
            confirmation_templates: Default::default(),
            supported_languages: Vec::new(),
            static_password_mode: StaticPasswordMode::Exclusive,
            max_password_failures: 5,
            password_lock_minutes: 15,
            second_factor: "push".to_owned(),
            login_request_limit: 20,
            login_request_window_seconds: 600,
            not_me_policy: NotMePolicy::LockUser,
        }
    }
}

impl TenantSettings {
    /// The language to write in: `requested`, else the user's `locale`, else English;
    /// English too when the tenant limits its languages and neither the tag nor its
    /// primary subtag is among them.
    pub fn language(&self, requested: Option<&str>, locale: Option<&str>) -> String {
        let lang = requested.or(locale).unwrap_or("en");
        if self.supported_languages.is_empty() {
            return lang.to_owned();
        }
        let primary = lang.split('-').next().unwrap_or(lang);
        let ok =
            self.supported_languages.iter().any(|s| s.eq_ignore_ascii_case(lang) || s.eq_ignore_ascii_case(primary));
        if ok { lang.to_owned() } else { "en".to_owned() }
    }

    /// Check every setting against its range.
    pub fn validate(&self) -> Result<(), CoreError> {
        let range = |field: &str, value: u32, lo: u32, hi: u32| {
            if (lo..=hi).contains(&value) {
                Ok(())
            } else {
                Err(CoreError::invalid(format!("settings.{field}"), format!("{field} must be between {lo} and {hi}")))
            }
        };
        range("loginTimeoutSeconds", self.login_timeout_seconds, 1, MAX_LOGIN_TIMEOUT_SECONDS)?;
        range("activationTtlSeconds", self.activation_ttl_seconds, 60, 86_400)?;
        range("maxPinAttempts", self.max_pin_attempts, 1, 10)?;
        range("maxPasswordFailures", self.max_password_failures, 1, 20)?;
        range("passwordLockMinutes", self.password_lock_minutes, 0, 10_080)?;
        range("loginRequestLimit", self.login_request_limit, 0, 1000)?;
        range("loginRequestWindowSeconds", self.login_request_window_seconds, 60, 86_400)?;
        for lang in &self.supported_languages {
            crate::validate::locale(lang).map_err(|m| CoreError::invalid("settings.supportedLanguages", m))?;
        }
        for (lang, text) in &self.confirmation_templates {
            crate::validate::locale(lang)
                .map_err(|m| CoreError::invalid(format!("settings.confirmationTemplates.{lang}"), m))?;
            if text.is_empty() || text.chars().count() > 500 || text.chars().any(char::is_control) {
                return Err(CoreError::invalid(
                    format!("settings.confirmationTemplates.{lang}"),
                    "1 to 500 characters without control characters",
                ));
            }
        }
        if let Some(app) = &self.push_app_id {
            let ok = !app.is_empty()
                && app.len() <= 200
                && app.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
            if !ok {
                return Err(CoreError::invalid("settings.pushAppId", "letters, digits, '.', '-', '_'; at most 200"));
            }
        }
        Ok(())
    }
}

/// A tenant as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    /// Internal identifier; never changes.
    #[serde(skip)]
    pub id: String,
    /// The tenant's domain, the `domain` in `userID@domain`.
    #[schema(value_type = String, example = "example.com")]
    pub domain: Domain,
    /// Per-tenant settings.
    pub settings: TenantSettings,
    /// When the tenant was created.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When the tenant was last changed.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod language_tests {
    use super::*;

    #[test]
    fn number_matching_reads_old_booleans_and_new_words() {
        let read = |v: serde_json::Value| serde_json::from_value::<NumberMatching>(v).ok();
        assert_eq!(read(serde_json::json!(false)), Some(NumberMatching::Off));
        assert_eq!(read(serde_json::json!(true)), Some(NumberMatching::Asynchronous));
        assert_eq!(read(serde_json::json!("required")), Some(NumberMatching::Required));
        assert_eq!(read(serde_json::json!("sometimes")), None);
        assert_eq!(serde_json::to_value(NumberMatching::Asynchronous).ok(), Some(serde_json::json!("asynchronous")));
        let old: TenantSettings = serde_json::from_str(r#"{"numberMatching":true}"#).unwrap_or_default();
        assert_eq!(old.number_matching, NumberMatching::Asynchronous);
    }

    #[test]
    fn languages_fall_back_to_english_outside_the_supported_list() {
        let mut s = TenantSettings::default();
        assert_eq!(s.language(Some("fr"), Some("de")), "fr");
        assert_eq!(s.language(None, Some("de")), "de");
        assert_eq!(s.language(None, None), "en");
        s.supported_languages = vec!["de".into(), "nl".into()];
        assert_eq!(s.language(Some("de-CH"), None), "de-CH");
        assert_eq!(s.language(Some("fr"), None), "en");
    }
}
