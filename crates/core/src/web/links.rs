//! One-time sign-in links (docs/web.md): issued for a user by an administrator or a
//! relying party, used once to open a self-service session.

use super::{IssuedLink, LINK_PREFIX, NewWebSession, SIGN_IN_LINK_TTL_MS, SignInLink, WebSessionKind, secret_hash};
use crate::audit::{Actor, AuditEvent, AuditKind};
use crate::error::{CoreError, Entity, Refusal};
use crate::random;
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::tenant::Tenant;

impl Core {
    /// Issue a one-time link that signs `user` (`userID@domain`) of `tenant` in to the
    /// self-service pages; the address (which holds the token) is returned this once.
    pub async fn issue_sign_in_link(&self, tenant: &Tenant, user: &str) -> Result<IssuedLink, CoreError> {
        let user = self.login_user(tenant, user).await?;
        let token = random::secret_token(&*self.random, LINK_PREFIX)?;
        let now = self.clock.now();
        let link = SignInLink {
            id_hash: secret_hash(&token),
            tenant_id: tenant.id.clone(),
            user_pk: user.id.clone(),
            created_at: now,
            expires_at: now.plus_millis(SIGN_IN_LINK_TTL_MS),
            used_at: None,
        };
        self.store.insert_sign_in_link(&link).await?;
        self.audit_or_log(
            AuditEvent::new(AuditKind::AdminChange)
                .tenant_id(&tenant.id)
                .tenant(tenant.domain.as_str())
                .user(user.user_id.as_str())
                .details(serde_json::json!({ "signInLink": "issued", "expiresAt": link.expires_at })),
        )
        .await;
        Ok(IssuedLink {
            url: format!("{}/self-service/{}/link?token={token}", self.public_url, tenant.domain.as_str()),
            expires_at: link.expires_at,
        })
    }

    /// Use a sign-in link of the tenant named by `domain`: once, before it expires, for a
    /// user who may still sign in. A new self-service session.
    pub async fn use_sign_in_link(&self, domain: &str, token: &str) -> Result<NewWebSession, CoreError> {
        let invalid = || {
            CoreError::refused(
                Refusal::Gone,
                RefusalCode::SignInLinkInvalid,
                "this sign-in link is not valid: it was used, it expired, or it was never issued",
            )
        };
        let tenant = self.tenant(domain).await?;
        if !token.starts_with(LINK_PREFIX) || token.len() > 100 {
            return Err(invalid());
        }
        let now = self.clock.now();
        // Used up first (one conditional update), checked after: a link for another
        // tenant is spent as well, which costs its holder nothing they could use.
        let link = self.store.use_sign_in_link(&secret_hash(token), now).await?.ok_or_else(invalid)?;
        if link.tenant_id != tenant.id {
            return Err(invalid());
        }
        let user = self.store.user_by_pk(&link.user_pk).await?.ok_or(CoreError::NotFound(Entity::User))?;
        crate::login::ensure_active(&user)?;
        let session = self.new_web_session(WebSessionKind::SelfService, &tenant, &user.id).await?;
        self.audit_or_log(
            AuditEvent::new(AuditKind::LoginSucceeded)
                .tenant_id(&tenant.id)
                .tenant(tenant.domain.as_str())
                .user(user.user_id.as_str())
                .by(Actor::SelfService(user.user_id.as_str().to_owned()))
                .details(serde_json::json!({ "page": "self-service", "via": "sign_in_link" })),
        )
        .await;
        Ok(session)
    }
}
