//! Authentication types and one-time-code sessions (docs/otp.md): the built-in and
//! tenant-defined types a `passKey` names, codes sent by SMS or e-mail (or handed to the
//! relying party with custom delivery), their verification, attempts and resends.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use crate::delivery::outbox::{OutboxKind, OutboxMessage};
use crate::error::{CoreError, Entity, Refusal};
use crate::login::{LoginInput, LoginOutput};
use crate::providers::{self, EmailPayload, SmsPayload};
use crate::random;
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::session::{Ending, NewSession, PushMethod, Session, SessionCode, closed};
use crate::tenant::Tenant;
use crate::user::{User, VdpDeliveryMethod};

/// What a type does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// Push, possession only.
    Push,
    /// Push unlocked with the PIN.
    PushPin,
    /// Push unlocked with the fingerprint (PIN as fallback).
    PushFingerprint,
    /// Push with a named custom authenticator (not startable yet).
    PushCustom,
    /// QR-code login (not startable yet).
    QrOtp,
    /// A code by SMS.
    Sms,
    /// A code by e-mail.
    Email,
    /// A TOTP/HOTP token (not startable yet).
    Totp,
    /// FIDO2 (not startable yet).
    Fido2,
    /// FIDO UAF (not startable yet).
    Uaf,
    /// Static password (not startable yet).
    StaticPassword,
}

/// An authentication type as configured (`PUT /admin/v1/tenants/{domain}/auth-types/{name}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthType {
    /// What it does.
    pub method: AuthMethod,
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
    fn of(method: AuthMethod) -> AuthType {
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
        }
    }

    /// The built-in type `name`.
    pub fn builtin(name: &str) -> Option<AuthType> {
        let t = match name {
            "push" | "NoPIN" => AuthType::of(AuthMethod::Push),
            "PIN" => AuthType::of(AuthMethod::PushPin),
            "Fingerprint" => AuthType::of(AuthMethod::PushFingerprint),
            "sms" => AuthType::of(AuthMethod::Sms),
            "email" => AuthType::of(AuthMethod::Email),
            "totp" => AuthType::of(AuthMethod::Totp),
            "qr" => AuthType { ttl_seconds: 120, max_resends: 0, ..AuthType::of(AuthMethod::QrOtp) },
            "votp" => AuthType { follow_user_delivery: true, ..AuthType::of(AuthMethod::Sms) },
            "votpCustomDelivery" => {
                AuthType { follow_user_delivery: true, custom_delivery: true, ..AuthType::of(AuthMethod::Sms) }
            }
            _ => return None,
        };
        Some(t)
    }

    /// The built-in type names.
    pub const BUILTIN: [&'static str; 10] =
        ["push", "NoPIN", "PIN", "Fingerprint", "sms", "email", "votp", "votpCustomDelivery", "totp", "qr"];

    fn validate(&self, name: &str) -> Result<(), CoreError> {
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
        if self.fallback.is_some() && self.method == AuthMethod::QrOtp {
            return Err(CoreError::invalid("fallback", "a qr_otp type has no fallback"));
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

/// A random code of `len` digits (rejection sampling: no bias).
fn new_code(core: &Core, len: u32) -> Result<String, CoreError> {
    let mut out = String::new();
    while out.len() < len as usize {
        let mut b = [0u8; 16];
        core.random.fill(&mut b)?;
        for x in b {
            if x < 250 && out.len() < len as usize {
                out.push(char::from(b'0' + x % 10));
            }
        }
    }
    Ok(out)
}

impl Core {
    /// The type `name` for the tenant: its own setting, else the built-in one.
    pub async fn auth_type(&self, tenant: &Tenant, name: &str) -> Result<Option<AuthType>, CoreError> {
        match self.store.auth_type(&tenant.id, name).await? {
            Some(doc) => serde_json::from_str(&doc)
                .map(Some)
                .map_err(|_| CoreError::Internal("damaged authentication type".into())),
            None => Ok(AuthType::builtin(name)),
        }
    }

    /// Every type of the tenant (admin API).
    pub async fn auth_types(&self, domain: &str) -> Result<Vec<AuthTypeView>, CoreError> {
        let tenant = self.tenant(domain).await?;
        let mut own = BTreeMap::new();
        for (name, doc) in self.store.auth_types(&tenant.id).await? {
            let t: AuthType =
                serde_json::from_str(&doc).map_err(|_| CoreError::Internal("damaged authentication type".into()))?;
            own.insert(name, t);
        }
        let mut out = Vec::new();
        for name in AuthType::BUILTIN {
            let (settings, customised) = match own.remove(name) {
                Some(t) => (t, true),
                None => (AuthType::builtin(name).ok_or_else(|| CoreError::Internal("builtin".into()))?, false),
            };
            out.push(AuthTypeView { name: name.to_owned(), builtin: true, customised, settings });
        }
        out.extend(own.into_iter().map(|(name, settings)| AuthTypeView {
            name,
            builtin: false,
            customised: true,
            settings,
        }));
        Ok(out)
    }

    /// Create or replace a type (admin API).
    pub async fn set_auth_type(&self, domain: &str, name: &str, t: AuthType) -> Result<AuthTypeView, CoreError> {
        let tenant = self.tenant(domain).await?;
        t.validate(name)?;
        if let Some(f) = &t.fallback {
            let target = self.auth_type(&tenant, f).await?;
            if !target.is_some_and(|ft| matches!(ft.method, AuthMethod::Sms | AuthMethod::Email)) {
                return Err(CoreError::invalid("fallback", "the fallback must name an SMS or e-mail type"));
            }
        }
        let doc = serde_json::to_string(&t).map_err(|e| CoreError::Internal(e.to_string()))?;
        self.store.set_auth_type(&tenant.id, name, &doc, self.clock.now()).await?;
        let builtin = AuthType::builtin(name).is_some();
        Ok(AuthTypeView { name: name.to_owned(), builtin, customised: true, settings: t })
    }

    /// Remove a tenant's type (a built-in one returns to its defaults).
    pub async fn delete_auth_type(&self, domain: &str, name: &str) -> Result<(), CoreError> {
        let tenant = self.tenant(domain).await?;
        if self.store.delete_auth_type(&tenant.id, name).await? {
            Ok(())
        } else {
            Err(CoreError::refused(
                Refusal::Unprocessable,
                RefusalCode::AuthTypeNotFound,
                "no such tenant-defined type",
            ))
        }
    }

    /// Start a code session of type `ty` (named `name`) for `user` (docs/otp.md).
    pub(crate) async fn start_code(
        &self,
        tenant: &Tenant,
        user: &User,
        input: &LoginInput,
        name: &str,
        ty: &AuthType,
        fallback: bool,
    ) -> Result<LoginOutput, CoreError> {
        if !ty.enabled {
            return Err(CoreError::refused(
                Refusal::Forbidden,
                RefusalCode::AuthTypeDisabled,
                "this type is switched off",
            ));
        }
        if ty.custom_delivery && !self.custom_delivery {
            return Err(CoreError::refused(
                Refusal::Forbidden,
                RefusalCode::CustomDeliveryDisabled,
                "votpCustomDelivery is switched off in this deployment",
            ));
        }
        if ty.custom_delivery && user.vdp_delivery_method != VdpDeliveryMethod::Default {
            return Err(CoreError::Refused {
                kind: Refusal::Unprocessable,
                code: RefusalCode::DeliveryMethodNotDefault,
                message: "custom delivery needs the user's vdpDeliveryMethod to be Default".into(),
                attempts_left: None,
            });
        }
        if !ty.custom_delivery {
            self.check_login_requests(tenant, user).await?;
        }
        let providers = if ty.custom_delivery { Default::default() } else { self.providers_for(&tenant.id).await? };
        let channel = code_channel(ty, user, &providers);
        let language = tenant.settings.language(input.language_code.as_deref(), user.locale.as_deref());
        crate::validate::locale(&language).map_err(|m| CoreError::invalid("languageCode", m))?;
        let code = new_code(self, ty.code_length)?;
        let now = self.clock.now();
        let delivery = if ty.custom_delivery { "custom" } else { channel_name(channel) };
        let expires = now.plus_millis(i64::from(ty.ttl_seconds) * 1000);
        let mut session = NewSession::not_push(
            random::new_id(&*self.random)?,
            &tenant.id,
            &user.id,
            name.to_owned(),
            delivery,
            now,
            expires,
        );
        session.callback_url = input.callback_url.clone();
        if !ty.custom_delivery {
            let missing = match channel {
                AuthMethod::Email if providers.email.is_none() && user.email.is_some() => Some("no_email_provider"),
                AuthMethod::Sms if providers.sms.is_none() && user.phone.is_some() => Some("no_sms_provider"),
                _ => None,
            };
            if let Some(reason) = missing {
                return self.undeliverable_code(session, reason, input.session_id.clone()).await;
            }
        }
        let session = Session::pending(session);
        let mut outbox = Vec::new();
        let mut custom_code = None;
        if ty.custom_delivery {
            custom_code = Some(self.sealer.seal(&*self.random, &code)?);
        } else {
            let no_contact = |what: &str| CoreError::Refused {
                kind: Refusal::Unprocessable,
                code: RefusalCode::NoContact,
                message: format!("the user has no {what} to send the code to"),
                attempts_left: None,
            };
            let (kind, target, body) = match channel {
                AuthMethod::Email => {
                    let to = user.email.clone().ok_or_else(|| no_contact("e-mail address"))?;
                    let values = BTreeMap::from([
                        ("code", code.clone()),
                        ("minutes", ty.ttl_seconds.div_ceil(60).to_string()),
                        ("domain", tenant.domain.as_str().to_owned()),
                    ]);
                    let t = providers::template(providers.email.as_ref(), "otp", &language)
                        .ok_or_else(|| CoreError::Internal("no otp template".into()))?;
                    let payload: EmailPayload = providers::render_email(&to, &t, &values);
                    (OutboxKind::Email, to, serde_json::to_string(&payload))
                }
                _ => {
                    let to = user.phone.clone().ok_or_else(|| no_contact("phone number"))?;
                    let payload = SmsPayload {
                        to: to.clone(),
                        text: ty.sms_text(&code, &language, tenant.domain.as_str()),
                        auth_type: name.to_owned(),
                        sender: ty.sender_id.clone(),
                    };
                    (OutboxKind::Sms, to, serde_json::to_string(&payload))
                }
            };
            let body = body.map_err(|e| CoreError::Internal(e.to_string()))?;
            let id = random::new_id(&*self.random)?;
            let sealed = self.sealer.seal(&*self.random, &body)?;
            outbox.push(OutboxMessage::new(id, &tenant.id, kind, &target, sealed, now, session.expires_at));
        }
        let record = SessionCode {
            session_id: session.id.clone(),
            code_hash: self.sealer.mac(&format!("{}:{code}", session.id)),
            attempts: 0,
            max_attempts: ty.max_attempts,
            resends: 0,
            max_resends: ty.max_resends,
            message_id: outbox.first().map(|m| m.id.clone()),
            custom_code,
        };
        self.store.insert_code_session(&session, &record, &outbox).await?;
        if !outbox.is_empty() {
            self.outbox_wake.notify_one();
        }
        let mut out = LoginOutput::of(&session, input.session_id.clone(), &self.public_url);
        if fallback {
            out.fallback = Some(name.to_owned());
        }
        Ok(out)
    }

    /// A code session that cannot be delivered (no provider serves its channel): recorded
    /// as `Failed` with `reason`, its callback queued, so the relying party learns why.
    async fn undeliverable_code(
        &self,
        session: NewSession,
        reason: &str,
        session_id: Option<String>,
    ) -> Result<LoginOutput, CoreError> {
        tracing::warn!(request = %session.id, reason, "a one-time code cannot be delivered: no provider for its channel");
        let session = Session::ended(session, Ending::failed(reason))?;
        self.insert_session(&session, Vec::new()).await?;
        Ok(LoginOutput::of(&session, session_id, &self.public_url))
    }

    /// A code's first message went dead (the delivery worker gave up): its session, if
    /// still pending, ends `Failed` with reason `delivery_failed`, and its callback goes.
    pub async fn code_delivery_failed(&self, message_id: &str) -> Result<(), CoreError> {
        let Some(id) = self.store.code_session_of_message(message_id).await? else { return Ok(()) };
        let Some(s) = self.store.session(&id).await? else { return Ok(()) };
        if s.state().is_final() {
            return Ok(());
        }
        match self.end_session(&s, Ending::failed("delivery_failed")).await {
            Ok(_) | Err(CoreError::Refused { code: RefusalCode::SessionClosed, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The second login call: check `code` against the session's (docs/otp.md).
    pub(crate) async fn verify_code(
        &self,
        tenant: &Tenant,
        user: &User,
        request_id: &str,
        code: &str,
        session_id: Option<String>,
    ) -> Result<LoginOutput, CoreError> {
        let s = self
            .current_session(request_id)
            .await?
            .filter(|s| s.tenant_id == tenant.id && s.user_pk == user.id && s.method == PushMethod::Otp)
            .ok_or(CoreError::NotFound(Entity::Session))?;
        if s.state().is_final() {
            return Err(closed(s.state()));
        }
        let c = self.store.session_code(&s.id).await?.ok_or(CoreError::NotFound(Entity::Session))?;
        let given = self.sealer.mac(&format!("{}:{}", s.id, code.trim()));
        if bool::from(given.as_bytes().ct_eq(c.code_hash.as_bytes())) {
            let s = self.end_session(&s, Ending::accept()).await?;
            return Ok(LoginOutput::of(&s, session_id, &self.public_url));
        }
        let n = self.store.code_attempt(&s.id).await?;
        if c.max_attempts > 0 && n >= c.max_attempts {
            match self.end_session(&s, Ending::failed("otp_attempts_exceeded")).await {
                Ok(_) | Err(CoreError::Refused { code: RefusalCode::SessionClosed, .. }) => {}
                Err(e) => tracing::warn!(request = %s.id, error = %crate::session::cause(&e),
                    "could not fail a code session after too many wrong codes"),
            }
            self.metrics.lockout(crate::metrics::Lockout::CodeAttempts);
            return Err(CoreError::refused(
                Refusal::Forbidden,
                RefusalCode::OtpAttemptsExceeded,
                "too many wrong codes: the request has failed",
            ));
        }
        Err(CoreError::Refused {
            kind: Refusal::Unprocessable,
            code: RefusalCode::InvalidOtp,
            message: "the code is wrong".into(),
            attempts_left: (c.max_attempts > 0).then(|| c.max_attempts - n),
        })
    }

    /// `POST /v1/sessions/{requestID}/resend`: the same message again, within the limit.
    pub async fn resend(&self, tenant: &Tenant, request_id: &str) -> Result<ResendOutput, CoreError> {
        let s = self
            .current_session(request_id)
            .await?
            .filter(|s| s.tenant_id == tenant.id && s.method == PushMethod::Otp)
            .ok_or(CoreError::NotFound(Entity::Session))?;
        if s.state().is_final() {
            return Err(closed(s.state()));
        }
        let c = self.store.session_code(&s.id).await?.ok_or(CoreError::NotFound(Entity::Session))?;
        if c.max_resends == 0 || c.message_id.is_none() {
            return Err(CoreError::refused(
                Refusal::Conflict,
                RefusalCode::ResendDisabled,
                "this request cannot be resent",
            ));
        }
        let id = random::new_id(&*self.random)?;
        match self.store.resend_code(&s.id, &id, self.clock.now(), s.expires_at).await? {
            Some(n) => {
                self.outbox_wake.notify_one();
                Ok(ResendOutput { resends: n, max_resends: c.max_resends })
            }
            None => Err(CoreError::refused(
                Refusal::Conflict,
                RefusalCode::ResendLimit,
                format!("the code was resent the {} times allowed", c.max_resends),
            )),
        }
    }

    /// The code of a pending custom-delivery session (for `votpResponse`).
    pub(crate) async fn custom_code(&self, s: &Session) -> Result<Option<String>, CoreError> {
        if s.method != PushMethod::Otp || s.state().is_final() || s.delivery != "custom" {
            return Ok(None);
        }
        let c = self.store.session_code(&s.id).await?;
        match c.and_then(|c| c.custom_code) {
            Some(sealed) => Ok(Some(self.sealer.open(&sealed)?)),
            None => Ok(None),
        }
    }
}

/// The channel a code goes out on. A type that follows the user (`votp`) uses the user's
/// `vdpDeliveryMethod`; `Default` takes, in this order, SMS when the user has a phone and
/// an SMS provider serves the tenant, e-mail when the user has an address and an SMTP
/// server serves the tenant, else SMS when the user has a phone, else e-mail (which then
/// fails as undeliverable). Other types use their own method.
fn code_channel(ty: &AuthType, user: &User, providers: &crate::providers::ProvidersInput) -> AuthMethod {
    if !ty.follow_user_delivery {
        return ty.method;
    }
    match user.vdp_delivery_method {
        VdpDeliveryMethod::Sms => AuthMethod::Sms,
        VdpDeliveryMethod::Email => AuthMethod::Email,
        VdpDeliveryMethod::Default => {
            if user.phone.is_some() && providers.sms.is_some() {
                AuthMethod::Sms
            } else if user.email.is_some() && providers.email.is_some() {
                AuthMethod::Email
            } else if user.phone.is_some() || user.email.is_none() {
                AuthMethod::Sms
            } else {
                AuthMethod::Email
            }
        }
    }
}

fn channel_name(m: AuthMethod) -> &'static str {
    if m == AuthMethod::Email { "email" } else { "sms" }
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
        let mut q = AuthType::of(AuthMethod::QrOtp);
        q.fallback = Some("sms".into());
        assert!(matches!(q.validate("qr"), Err(CoreError::Invalid { field, .. }) if field == "fallback"));
        let t: Result<AuthType, _> = serde_json::from_str(r#"{"method": "sms", "ttl": 3}"#);
        assert!(t.is_err(), "unknown fields are refused");
    }
}
