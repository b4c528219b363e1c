//! Signed-in page sessions (docs/web.md): made at sign-in, found by the cookie's hash,
//! ended by sign-out, idleness or age.

use super::{ABSOLUTE_MS, NewWebSession, TOUCH_AFTER_MS, WebSession, WebSessionKind, csrf_token, secret_hash};
use crate::error::CoreError;
use crate::random;
use crate::service::Core;
use crate::tenant::Tenant;
use crate::user::User;

/// Who a request's cookie signs in, and what its forms must carry.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The tenant of the pages.
    pub tenant: Tenant,
    /// The user signed in.
    pub user: User,
    /// The CSRF token every form and script call of this session carries.
    pub csrf: String,
    /// When the session ends at the latest.
    pub expires_at: crate::clock::Timestamp,
}

impl Core {
    /// Open a page session of `kind` for `user_pk`.
    pub(super) async fn new_web_session(
        &self,
        kind: WebSessionKind,
        tenant: &Tenant,
        user_pk: &str,
    ) -> Result<NewWebSession, CoreError> {
        let cookie = random::secret_token(&*self.random, "")?;
        let now = self.clock.now();
        let session = WebSession {
            id_hash: secret_hash(&cookie),
            kind,
            tenant_id: tenant.id.clone(),
            user_pk: user_pk.to_owned(),
            created_at: now,
            last_seen_at: now,
            expires_at: now.plus_millis(ABSOLUTE_MS),
        };
        self.store.insert_web_session(&session).await?;
        Ok(NewWebSession { cookie, expires_at: session.expires_at })
    }

    /// The self-service session behind `cookie` on the pages of the tenant named by
    /// `domain`, if it still holds and its user may still sign in; `None` otherwise
    /// (the page then asks to sign in). A live session's last use is recorded at most
    /// once a minute.
    pub async fn self_service_session(&self, domain: &str, cookie: &str) -> Result<Option<SignedIn>, CoreError> {
        let id_hash = secret_hash(cookie);
        let Some(s) = self.store.web_session(&id_hash).await? else { return Ok(None) };
        let now = self.clock.now();
        if s.kind != WebSessionKind::SelfService || !s.live_at(now) {
            return Ok(None);
        }
        let Some(tenant) = self.store.tenant_by_id(&s.tenant_id).await? else { return Ok(None) };
        if tenant.domain.as_str() != domain {
            return Ok(None);
        }
        let Some(user) = self.store.user_by_pk(&s.user_pk).await? else { return Ok(None) };
        if crate::login::ensure_active(&user).is_err() {
            // A locked or disabled user is signed out everywhere.
            self.store.delete_user_web_sessions(&user.id).await?;
            return Ok(None);
        }
        if now.millis() - s.last_seen_at.millis() >= TOUCH_AFTER_MS {
            self.store.touch_web_session(&id_hash, now).await?;
        }
        Ok(Some(SignedIn { tenant, user, csrf: csrf_token(cookie), expires_at: s.expires_at }))
    }

    /// Sign out: the session behind `cookie` ends (nothing happens when there is none).
    pub async fn end_web_session(&self, cookie: &str) -> Result<(), CoreError> {
        self.store.delete_web_session(&secret_hash(cookie)).await?;
        Ok(())
    }
}
