//! Provider configuration through the core: push apps and tenant providers stored sealed
//! (set, read as views, delete), and messages queued through the tenant's providers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    MESSAGE_LIFETIME_MS, ProvidersInput, PushAppInput, PushAppSecrets, SmsPayload, TestMessageInput, render_email,
    template, vapid_public_key, view_of,
};
use crate::delivery::outbox::{OutboxKind, OutboxMessage};
use crate::error::{CoreError, Entity};
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::store::SealedConfig;
use crate::tenant::Tenant;
use crate::validate;

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

    /// A page of the push apps' views, by app ID.
    pub async fn push_apps(
        &self,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<crate::admin::Listing<Value>, CoreError> {
        let page = crate::admin::page(after, limit)?;
        let mut rows = Vec::new();
        for (app_id, doc) in self.store.push_apps(&page).await? {
            rows.push((app_id, view_from(&doc)?));
        }
        Ok(crate::admin::keyed_listing(rows, &page))
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
