//! One-time codes (docs/otp.md): SMS (riskResponseCode 3) and e-mail (8), and the engine
//! [`super::voice`] shares — a random code, its session, the message on the channel (or
//! the code handed to the relying party with custom delivery), the check of the typed
//! code with its attempts, resends, and the end of a session whose message died. What it
//! stores: a session, its code (an HMAC only, with the attempt and resend counters), and
//! the sealed message in the outbox, in one transaction.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::command::StartLogin;
use super::voice::text as voice;
use super::{Begin, Delivery, LoginMethod, Method, Reply, Why};
use crate::attempts::Guess;
use crate::delivery::outbox::{OutboxKind, OutboxMessage};
use crate::delivery::providers::{self, EmailPayload, ProvidersInput, SmsConfig, SmsPayload};
use crate::error::{CoreError, Entity, Refusal};
use crate::login::LoginResult;
use crate::otp::{AuthType, ResendOutput};
use crate::random;
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::session::{Ending, NewSession, Session, SessionCode, closed};
use crate::store::Counter;
use crate::tenant::Tenant;
use crate::user::{User, VdpDeliveryMethod};

/// A code method sent as a text: which one, and its riskResponseCode.
pub(crate) struct Code {
    method: Method,
    risk_code: u32,
}

/// `sms`.
pub(crate) static SMS: Code = Code { method: Method::Sms, risk_code: 3 };
/// `email`.
pub(crate) static EMAIL: Code = Code { method: Method::Email, risk_code: 8 };

#[async_trait]
impl LoginMethod for Code {
    fn method(&self) -> Method {
        self.method
    }

    fn risk_code(&self) -> u32 {
        self.risk_code
    }

    async fn check(&self, core: &Core, begin: &Begin<'_>) -> Result<(), CoreError> {
        check(core, begin).await
    }

    async fn start(&self, core: &Core, begin: &Begin<'_>, user: &User) -> Result<LoginResult, CoreError> {
        start(core, begin, user).await
    }

    async fn answer(&self, core: &Core, reply: &Reply<'_>, s: Session) -> Result<LoginResult, CoreError> {
        verify(core, reply, s).await
    }
}

/// What a code checks before the user is read: the callback URL is allowed.
pub(crate) async fn check(core: &Core, begin: &Begin<'_>) -> Result<(), CoreError> {
    if let Some(url) = &begin.login.callback_url {
        core.check_callback(begin.tenant, url).await?;
    }
    Ok(())
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

/// The channel a code goes out on. A type that follows the user (`votp`) uses the user's
/// `vdpDeliveryMethod`; `Default` takes, in this order, SMS when the user has a phone and
/// an SMS provider serves the tenant, e-mail when the user has an address and an SMTP
/// server serves the tenant, else SMS when the user has a phone, else e-mail (which then
/// fails as undeliverable). Other types use their own method.
fn channel(ty: &AuthType, user: &User, providers: &ProvidersInput) -> Method {
    if !ty.follow_user_delivery {
        // A code of a type whose method is not a code method (generate-votp with a
        // tenant's odd `votp`) goes by SMS, as it always has.
        return if ty.method.is_code() { ty.method } else { Method::Sms };
    }
    match user.vdp_delivery_method {
        VdpDeliveryMethod::Sms => Method::Sms,
        VdpDeliveryMethod::Email => Method::Email,
        VdpDeliveryMethod::Default => {
            if user.phone.is_some() && providers.sms.is_some() {
                Method::Sms
            } else if user.email.is_some() && providers.email.is_some() {
                Method::Email
            } else if user.phone.is_some() || user.email.is_none() {
                Method::Sms
            } else {
                Method::Email
            }
        }
    }
}

/// Why a code on `channel` cannot reach `user`: no provider serves it (a user without
/// the contact is refused later, with `no_contact`).
fn undeliverable(channel: Method, user: &User, providers: &ProvidersInput) -> Option<&'static str> {
    match channel {
        Method::Email if providers.email.is_none() && user.email.is_some() => Some("no_email_provider"),
        Method::Voice
            if !matches!(providers.sms, Some(SmsConfig::Twilio(_) | SmsConfig::File(_))) && user.phone.is_some() =>
        {
            Some("no_voice_provider")
        }
        Method::Sms if providers.sms.is_none() && user.phone.is_some() => Some("no_sms_provider"),
        _ => None,
    }
}

/// Start a code session of the type `begin` names for `user` (docs/otp.md): the session
/// and the message that carries the code, in one transaction.
pub(crate) async fn start(core: &Core, begin: &Begin<'_>, user: &User) -> Result<LoginResult, CoreError> {
    let (tenant, ty, login, name) = (begin.tenant, begin.ty, begin.login, begin.name);
    if !ty.enabled {
        return Err(CoreError::refused(Refusal::Forbidden, RefusalCode::AuthTypeDisabled, "this type is switched off"));
    }
    if ty.custom_delivery && !core.custom_delivery {
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
        core.check_login_requests(tenant, user).await?;
    }
    let providers = if ty.custom_delivery { Default::default() } else { core.providers_for(&tenant.id).await? };
    let channel = channel(ty, user, &providers);
    let language = tenant.settings.language(login.language.as_deref(), user.locale.as_deref());
    crate::validate::locale(&language).map_err(|m| CoreError::invalid("languageCode", m))?;
    let code = new_code(core, ty.code_length)?;
    let now = core.clock.now();
    let expires = now.plus_millis(i64::from(ty.ttl_seconds) * 1000);
    let id = random::new_id(&*core.random)?;
    let mut new = NewSession::not_push(id, &tenant.id, &user.id, name.to_owned(), Some(channel), now, expires);
    new.delivery = if ty.custom_delivery { Delivery::Custom } else { Delivery::Message };
    new.callback_url = login.callback_url.clone();
    if !ty.custom_delivery
        && let Some(reason) = undeliverable(channel, user, &providers)
    {
        tracing::warn!(request = %new.id, reason, "a one-time code cannot be delivered: no provider for its channel");
        let session = Session::ended(new, Ending::failed(reason))?;
        core.insert_session(&session, Vec::new()).await?;
        return Ok(LoginResult::of(&session, login.session_id.clone(), &core.public_url));
    }
    let session = Session::pending(new);
    let mut outbox = Vec::new();
    let mut custom_code = None;
    if ty.custom_delivery {
        custom_code = Some(core.sealer.seal(&*core.random, &code)?);
    } else {
        let (kind, target, body) = message(tenant, ty, name, user, channel, &code, &language, &providers)?;
        let id = random::new_id(&*core.random)?;
        let sealed = core.sealer.seal(&*core.random, &body)?;
        outbox.push(OutboxMessage::new(id, &tenant.id, kind, &target, sealed, now, session.expires_at));
    }
    let record = SessionCode {
        session_id: session.id.clone(),
        code_hash: core.sealer.mac(&format!("{}:{code}", session.id)),
        attempts: 0,
        max_attempts: ty.max_attempts,
        resends: 0,
        max_resends: ty.max_resends,
        message_id: outbox.first().map(|m| m.id.clone()),
        custom_code,
    };
    core.store.insert_code_session(&session, &record, &outbox).await?;
    if !outbox.is_empty() {
        core.outbox_wake.notify_one();
    }
    let mut out = LoginResult::of(&session, login.session_id.clone(), &core.public_url);
    if begin.why == Why::Fallback {
        out.fallback = Some(name.to_owned());
    }
    Ok(out)
}

/// The message carrying `code` on `channel`: its outbox kind, target and payload.
#[allow(clippy::too_many_arguments)]
fn message(
    tenant: &Tenant,
    ty: &AuthType,
    name: &str,
    user: &User,
    channel: Method,
    code: &str,
    language: &str,
    providers: &ProvidersInput,
) -> Result<(OutboxKind, String, String), CoreError> {
    let no_contact = |what: &str| CoreError::Refused {
        kind: Refusal::Unprocessable,
        code: RefusalCode::NoContact,
        message: format!("the user has no {what} to send the code to"),
        attempts_left: None,
    };
    let json = |r: serde_json::Result<String>| r.map_err(|e| CoreError::Internal(e.to_string()));
    let domain = tenant.domain.as_str();
    match channel {
        Method::Email => {
            let to = user.email.clone().ok_or_else(|| no_contact("e-mail address"))?;
            let values = BTreeMap::from([
                ("code", code.to_owned()),
                ("minutes", ty.ttl_seconds.div_ceil(60).to_string()),
                ("domain", domain.to_owned()),
            ]);
            let t = providers::template(providers.email.as_ref(), "otp", language)
                .ok_or_else(|| CoreError::Internal("no otp template".into()))?;
            let payload: EmailPayload = providers::render_email(&to, &t, &values);
            Ok((OutboxKind::Email, to, json(serde_json::to_string(&payload))?))
        }
        Method::Voice => {
            let to = user.phone.clone().ok_or_else(|| no_contact("phone number"))?;
            let payload = voice::payload(ty, &to, code, language, domain);
            Ok((OutboxKind::Voice, to, json(serde_json::to_string(&payload))?))
        }
        _ => {
            let to = user.phone.clone().ok_or_else(|| no_contact("phone number"))?;
            let payload = SmsPayload {
                to: to.clone(),
                text: ty.sms_text(code, language, domain),
                auth_type: name.to_owned(),
                sender: ty.sender_id.clone(),
            };
            Ok((OutboxKind::Sms, to, json(serde_json::to_string(&payload))?))
        }
    }
}

/// The second login call: check the typed code against the session's (docs/otp.md),
/// reserving an attempt first (`crate::attempts`).
pub(crate) async fn verify(core: &Core, reply: &Reply<'_>, s: Session) -> Result<LoginResult, CoreError> {
    if s.state().is_final() {
        return Err(closed(s.state()));
    }
    let session_id = reply.answer.login.session_id.clone();
    let c = core.store.session_code(&s.id).await?.ok_or(CoreError::NotFound(Entity::Session))?;
    let counter = Counter::Code { session_id: &s.id, max: c.max_attempts };
    let right = async {
        // Under the key the hash names: codes hashed before a key rotation still verify.
        Ok(core.sealer.verify_mac(&c.code_hash, &format!("{}:{}", s.id, reply.answer.secret.trim())))
    };
    match core.guess(counter, right).await? {
        Guess::Right => {
            let s = core.end_session(&s, Ending::accept()).await?;
            Ok(LoginResult::of(&s, session_id, &core.public_url))
        }
        Guess::Wrong { left } => Err(CoreError::Refused {
            kind: Refusal::Unprocessable,
            code: RefusalCode::InvalidOtp,
            message: "the code is wrong".into(),
            attempts_left: left,
        }),
        Guess::Exhausted { .. } => {
            match core.end_session(&s, Ending::failed("otp_attempts_exceeded")).await {
                Ok(_) => core.metrics.lockout(crate::metrics::Lockout::CodeAttempts),
                Err(CoreError::Refused { code: RefusalCode::SessionClosed, .. }) => {}
                Err(e) => tracing::warn!(request = %s.id, error = %crate::session::cause(&e),
                    "could not fail a code session after too many wrong codes"),
            }
            Err(attempts_exceeded())
        }
        Guess::Refused => {
            // Not checked: the session ended meanwhile, or every attempt is used or held
            // by a guess being checked. The answer is how the session ends once the guess
            // holding the last attempt has decided it (a right code sent twice at once
            // gets `Accept` and `409 session_closed`, not "too many wrong codes").
            let end = tokio::time::timeout(REFUSED_WAIT, core.wait_for_end(&s.id, s.expires_at)).await;
            match end {
                Ok(Ok(end)) if end.state().is_final() && end.reason() != Some("otp_attempts_exceeded") => {
                    Err(closed(end.state()))
                }
                Ok(Err(e)) => Err(e),
                _ => Err(attempts_exceeded()),
            }
        }
    }
}

/// How long a guess that found no attempt left waits for the session's end (the guess
/// holding the last attempt decides within a database round trip or two).
const REFUSED_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

fn attempts_exceeded() -> CoreError {
    CoreError::refused(
        Refusal::Forbidden,
        RefusalCode::OtpAttemptsExceeded,
        "too many wrong codes: the request has failed",
    )
}

impl Core {
    /// Start a code session of `ty` (named `name`) for `user` (`generate-votp`).
    pub(crate) async fn start_code(
        &self,
        tenant: &Tenant,
        user: &User,
        name: &str,
        ty: &AuthType,
        login: &StartLogin,
    ) -> Result<LoginResult, CoreError> {
        let begin = Begin { tenant, name, ty, login, why: Why::Named, otp: None };
        start(self, &begin, user).await
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

    /// `POST /v1/sessions/{requestID}/resend`: the same message again, within the limit.
    pub async fn resend(&self, tenant: &Tenant, request_id: &str) -> Result<ResendOutput, CoreError> {
        let s = self
            .current_session(request_id)
            .await?
            .filter(|s| s.tenant_id == tenant.id && !s.method.is_some_and(Method::is_push))
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
        if s.delivery != Delivery::Custom || s.state().is_final() {
            return Ok(None);
        }
        let c = self.store.session_code(&s.id).await?;
        match c.and_then(|c| c.custom_code) {
            Some(sealed) => Ok(Some(self.sealer.open(&sealed)?)),
            None => Ok(None),
        }
    }
}
