//! A tenant's callback settings (docs/delivery.md, "Callback allowlist"): read, replace,
//! rotate the secret, and check a callback URL against the allowlist.

use crate::delivery::callbacks::{
    CallbackConfigInput, CallbackConfigView, MAX_CALLBACK_ENDPOINTS, StoredCallbacks, StoredEndpoint, check_url,
};
use crate::error::{CoreError, Refusal};
use crate::random;
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::tenant::Tenant;

impl Core {
    async fn stored_callbacks(&self, tenant: &Tenant) -> Result<StoredCallbacks, CoreError> {
        Ok(self.store.callback_config(&tenant.id).await?.unwrap_or_else(StoredCallbacks::initial))
    }

    /// The tenant's callback settings (admin API).
    pub async fn callback_config(&self, domain: &str) -> Result<CallbackConfigView, CoreError> {
        let tenant = self.tenant(domain).await?;
        Ok(self.stored_callbacks(&tenant).await?.view())
    }

    /// Replace the tenant's allowlist (the signing secret is kept).
    pub async fn set_callback_config(
        &self,
        domain: &str,
        input: CallbackConfigInput,
    ) -> Result<CallbackConfigView, CoreError> {
        let tenant = self.tenant(domain).await?;
        let mut stored = self.stored_callbacks(&tenant).await?;
        if input.endpoints.len() > MAX_CALLBACK_ENDPOINTS {
            return Err(CoreError::invalid("endpoints", format!("at most {MAX_CALLBACK_ENDPOINTS} endpoints")));
        }
        let mut endpoints = Vec::new();
        for (i, e) in input.endpoints.into_iter().enumerate() {
            check_url(&format!("endpoints.{i}.url"), &e.url)?;
            let password = e.password.map(|p| self.sealer.seal(&*self.random, &p)).transpose()?;
            endpoints.push(StoredEndpoint { url: e.url, username: e.username, password });
        }
        stored.allowlist_enabled = input.allowlist_enabled;
        stored.endpoints = endpoints;
        self.store.set_callback_config(&tenant.id, &stored, self.clock.now()).await?;
        Ok(stored.view())
    }

    /// Make a new signing secret; it is returned this once.
    pub async fn new_callback_secret(&self, domain: &str) -> Result<String, CoreError> {
        let tenant = self.tenant(domain).await?;
        let mut stored = self.stored_callbacks(&tenant).await?;
        let secret = random::secret_token(&*self.random, "cbs_")?;
        stored.secret = Some(self.sealer.seal(&*self.random, &secret)?);
        self.store.set_callback_config(&tenant.id, &stored, self.clock.now()).await?;
        Ok(secret)
    }

    /// Check that `url` may receive this tenant's callbacks (at login).
    pub async fn check_callback(&self, tenant: &Tenant, url: &str) -> Result<(), CoreError> {
        check_url("callbackURL", url)?;
        let stored = self.stored_callbacks(tenant).await?;
        if stored.allowlist_enabled && stored.endpoint(url).is_none() {
            return Err(CoreError::Refused {
                kind: Refusal::Unprocessable,
                code: RefusalCode::CallbackNotAllowed,
                message: "callbackURL is not on this tenant's callback allowlist".into(),
                attempts_left: None,
            });
        }
        if stored.secret.is_none() {
            return Err(CoreError::refused(
                Refusal::Unprocessable,
                RefusalCode::CallbackNotConfigured,
                "callbacks need a signing secret: POST /admin/v1/tenants/{domain}/callbacks/secret",
            ));
        }
        Ok(())
    }
}
