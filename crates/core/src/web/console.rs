//! The admin console's administrators and their sign-in (docs/web.md, "Built: the admin
//! console"). An administrator is an account ([`AdminAccount`]) with a role; it signs in
//! with its password, then a passkey (registered right after the first password sign-in
//! when it has none). The page session is a row of `web_sessions` of kind `console`,
//! owned by the account (`account_id`; `user_pk` and `tenant_id` stay empty), and moves
//! `password_ok → signed_in` by one conditional update when the passkey passes.
//!
//! Password guesses reserve an attempt on the account before Argon2 runs
//! ([`Counter::AdminPassword`]): however many guesses arrive at once, at most
//! [`MAX_PASSWORD_FAILURES`] wrong ones are evaluated before the account locks for
//! [`LOCK_MS`]. An unknown or disabled account costs one Argon2 check and gets the same
//! answer as a wrong password.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{TOUCH_AFTER_MS, csrf_token, secret_hash};
use crate::attempts::Guess;
use crate::audit::{Actor, AuditEvent, AuditKind};
use crate::clock::Timestamp;
use crate::error::{CoreError, Refusal};
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::store::Counter;
use crate::tenant::Tenant;

/// A console session ends after this long without a request.
pub const CONSOLE_IDLE_MS: i64 = 15 * 60 * 1000;
/// Between the password and the passkey: how long the half-signed-in session lasts.
pub const SECOND_FACTOR_MS: i64 = 5 * 60 * 1000;
/// Wrong passwords in a row before an administrator account locks.
pub const MAX_PASSWORD_FAILURES: u32 = 5;
/// How long a locked administrator account stays locked.
pub const LOCK_MS: i64 = 15 * 60 * 1000;

/// What an administrator may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdminRole {
    /// Everything, in every tenant; the only role that creates tenants.
    Superadmin,
    /// Everything in one tenant.
    TenantAdmin,
    /// Looks, changes nothing: in one tenant, or in all when it has none.
    ReadOnly,
}

impl AdminRole {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminRole::Superadmin => "superadmin",
            AdminRole::TenantAdmin => "tenant_admin",
            AdminRole::ReadOnly => "read_only",
        }
    }

    /// The role stored as `s`.
    pub fn from_stored(s: &str) -> Option<Self> {
        [AdminRole::Superadmin, AdminRole::TenantAdmin, AdminRole::ReadOnly].into_iter().find(|r| r.as_str() == s)
    }
}

/// An administrator account (`admin_accounts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminAccount {
    /// Its ID.
    pub id: String,
    /// The name it signs in with (unique).
    pub username: String,
    /// Argon2id PHC string of its password.
    pub password_hash: String,
    /// What it may do.
    pub role: AdminRole,
    /// The tenant of a `tenant_admin` (always) or `read_only` (optional) account.
    pub tenant_id: Option<String>,
    /// `false`: disabled, cannot sign in.
    pub active: bool,
    /// Wrong passwords in a row.
    pub failures: u32,
    /// Locked until then.
    pub locked_until: Option<Timestamp>,
    /// When it was made.
    pub created_at: Timestamp,
}

impl AdminAccount {
    /// Whether the account may see the tenant `tenant_id`.
    pub fn may_see(&self, tenant_id: &str) -> bool {
        self.tenant_id.as_deref().is_none_or(|t| t == tenant_id)
    }

    /// Whether the account may change the tenant `tenant_id` (its settings, users, keys).
    pub fn may_change(&self, tenant_id: &str) -> bool {
        match self.role {
            AdminRole::Superadmin => true,
            AdminRole::TenantAdmin => self.tenant_id.as_deref() == Some(tenant_id),
            AdminRole::ReadOnly => false,
        }
    }

    /// Whether the account may create tenants and see the outbox of all of them.
    pub fn is_superadmin(&self) -> bool {
        self.role == AdminRole::Superadmin
    }

    /// Who acts, for the audit log: `admin-account:<username>`.
    pub fn actor(&self) -> Actor {
        Actor::AdminAccount(self.username.clone())
    }
}

/// A passkey of an administrator (`admin_credentials`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminCredential {
    /// The account.
    pub account_id: String,
    /// The credential ID (base64url).
    pub credential_id: String,
    /// Its name.
    pub name: String,
    /// The credential as webauthn-rs keeps it (JSON the core owns).
    pub credential: String,
    /// When it was registered.
    pub created_at: Timestamp,
    /// When it was last used.
    pub last_used_at: Option<Timestamp>,
}

/// Where a console session is in its sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleStep {
    /// The password was right; the passkey is still to come.
    PasswordOk,
    /// Signed in.
    SignedIn,
}

impl ConsoleStep {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsoleStep::PasswordOk => "password_ok",
            ConsoleStep::SignedIn => "signed_in",
        }
    }

    /// The step stored as `s`.
    pub fn from_stored(s: &str) -> Option<Self> {
        [ConsoleStep::PasswordOk, ConsoleStep::SignedIn].into_iter().find(|k| k.as_str() == s)
    }
}

/// A console page session (a `web_sessions` row of kind `console`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// SHA-256 (hex) of the cookie's value.
    pub id_hash: String,
    /// The administrator.
    pub account_id: String,
    /// How far the sign-in got.
    pub step: ConsoleStep,
    /// When the password was accepted.
    pub created_at: Timestamp,
    /// When the session was last used (to within [`TOUCH_AFTER_MS`]).
    pub last_seen_at: Timestamp,
    /// When it ends, used or not: [`SECOND_FACTOR_MS`] after the password, then
    /// [`ABSOLUTE_MS`](super::ABSOLUTE_MS) after the passkey.
    pub expires_at: Timestamp,
}

impl ConsoleSession {
    /// Whether the session still holds at `now`: before its expiry and, once signed in,
    /// used within the idle limit.
    pub fn live_at(&self, now: Timestamp) -> bool {
        now < self.expires_at
            && (self.step == ConsoleStep::PasswordOk || now.millis() - self.last_seen_at.millis() < CONSOLE_IDLE_MS)
    }
}

/// A request's console session, as the pages see it.
#[derive(Debug, Clone)]
pub enum ConsoleState {
    /// The password was right; the page asks for the passkey (or registers the first).
    SecondFactor {
        /// The administrator.
        account: AdminAccount,
        /// Whether the account has a passkey (else the page registers one).
        has_passkey: bool,
        /// The CSRF token of the session.
        csrf: String,
    },
    /// Signed in.
    SignedIn(ConsoleAdmin),
}

/// A signed-in administrator.
#[derive(Debug, Clone)]
pub struct ConsoleAdmin {
    /// The account.
    pub account: AdminAccount,
    /// The CSRF token every form and script call of this session carries.
    pub csrf: String,
    /// When the session ends at the latest.
    pub expires_at: Timestamp,
}

impl ConsoleAdmin {
    /// `Ok` when the administrator may see `tenant`, else `404` (another tenant's pages
    /// do not exist for a tenant administrator).
    pub fn see(&self, tenant: &Tenant) -> Result<(), CoreError> {
        if self.account.may_see(&tenant.id) { Ok(()) } else { Err(CoreError::NotFound(crate::error::Entity::Tenant)) }
    }

    /// `Ok` when the administrator may change `tenant`, else `403 role_forbidden`.
    pub fn change(&self, tenant: &Tenant) -> Result<(), CoreError> {
        self.see(tenant)?;
        if self.account.may_change(&tenant.id) { Ok(()) } else { Err(forbidden()) }
    }
}

/// `403 role_forbidden`.
pub fn forbidden() -> CoreError {
    CoreError::refused(Refusal::Forbidden, RefusalCode::RoleForbidden, "your role does not allow this change")
}

fn sign_in_failed() -> CoreError {
    CoreError::refused(Refusal::Unauthenticated, RefusalCode::SignInFailed, "wrong username or password")
}

fn locked() -> CoreError {
    CoreError::refused(
        Refusal::Forbidden,
        RefusalCode::AdminAccountLocked,
        "too many wrong passwords: this account is locked for 15 minutes",
    )
}

impl Core {
    /// The console's first step: the password of `username`. A new half-signed-in
    /// session (its cookie) when it is right; `401 sign_in_failed` when the account is
    /// unknown, disabled or the password wrong (the same Argon2 work in each case);
    /// `403 admin_account_locked` when no attempt is left.
    pub async fn console_password(&self, username: &str, password: &str) -> Result<super::NewWebSession, CoreError> {
        let account = match self.store.admin_account_by_username(username).await? {
            Some(a) if a.active && password.len() <= 1024 => a,
            _ => {
                self.hasher.burn(password).await;
                return Err(sign_in_failed());
            }
        };
        let now = self.clock.now();
        let counter = Counter::AdminPassword {
            account_id: &account.id,
            max: MAX_PASSWORD_FAILURES,
            lock_until: now.plus_millis(LOCK_MS),
        };
        let failed = |kind: AuditKind, outcome: &str| {
            AuditEvent::new(kind)
                .by(account.actor())
                .details(serde_json::json!({ "console": true, "method": "password", "outcome": outcome }))
        };
        match self.guess(counter, async { Ok(self.hasher.verify(&account.password_hash, password).await) }).await? {
            Guess::Right => {}
            Guess::Wrong { .. } => {
                self.audit_or_log(failed(AuditKind::LoginFailed, "invalid_password")).await;
                return Err(sign_in_failed());
            }
            Guess::Exhausted { .. } => {
                self.audit_or_log(failed(AuditKind::Locked, "admin_account_locked")).await;
                return Err(sign_in_failed());
            }
            Guess::Refused => return Err(locked()),
        }
        let cookie = crate::random::secret_token(&*self.random, "")?;
        let session = ConsoleSession {
            id_hash: secret_hash(&cookie),
            account_id: account.id.clone(),
            step: ConsoleStep::PasswordOk,
            created_at: now,
            last_seen_at: now,
            expires_at: now.plus_millis(SECOND_FACTOR_MS),
        };
        self.store.insert_console_session(&session).await?;
        Ok(super::NewWebSession { cookie, expires_at: session.expires_at })
    }

    /// The console session behind `cookie`, if it still holds and its account may still
    /// sign in; `None` otherwise (the page asks to sign in). A signed-in session's last
    /// use is recorded at most once a minute.
    pub async fn console_state(&self, cookie: &str) -> Result<Option<ConsoleState>, CoreError> {
        let id_hash = secret_hash(cookie);
        let Some(s) = self.store.console_session(&id_hash).await? else { return Ok(None) };
        let now = self.clock.now();
        if !s.live_at(now) {
            return Ok(None);
        }
        let Some(account) = self.store.admin_account(&s.account_id).await? else { return Ok(None) };
        if !account.active {
            self.store.delete_web_session(&id_hash).await?;
            return Ok(None);
        }
        let csrf = csrf_token(cookie);
        if s.step == ConsoleStep::PasswordOk {
            let has_passkey = !self.store.admin_credentials(&account.id).await?.is_empty();
            return Ok(Some(ConsoleState::SecondFactor { account, has_passkey, csrf }));
        }
        if now.millis() - s.last_seen_at.millis() >= TOUCH_AFTER_MS {
            self.store.touch_web_session(&id_hash, now).await?;
        }
        Ok(Some(ConsoleState::SignedIn(ConsoleAdmin { account, csrf, expires_at: s.expires_at })))
    }

    /// The signed-in administrator behind `cookie`, or `None`.
    pub async fn console_admin(&self, cookie: &str) -> Result<Option<ConsoleAdmin>, CoreError> {
        Ok(match self.console_state(cookie).await? {
            Some(ConsoleState::SignedIn(a)) => Some(a),
            _ => None,
        })
    }

    /// A page of the outbox for an administrator of every tenant (`403 role_forbidden` for
    /// one of a single tenant), each message with its tenant's domain.
    pub async fn console_outbox(
        &self,
        admin: &ConsoleAdmin,
        state: Option<&str>,
        after: Option<String>,
    ) -> Result<crate::admin::Listing<(String, crate::delivery::outbox::OutboxMessage)>, CoreError> {
        if admin.account.tenant_id.is_some() {
            return Err(forbidden());
        }
        let listing = self.list_outbox(state, after, Some(100)).await?;
        let mut domains = std::collections::HashMap::new();
        let mut items = Vec::with_capacity(listing.items.len());
        for m in listing.items {
            if !domains.contains_key(&m.tenant_id) {
                let d = self.store.tenant_by_id(&m.tenant_id).await?.map(|t| t.domain.to_string()).unwrap_or_default();
                domains.insert(m.tenant_id.clone(), d);
            }
            items.push((domains.get(&m.tenant_id).cloned().unwrap_or_default(), m));
        }
        Ok(crate::admin::Listing { items, next_after: listing.next_after })
    }

    /// Record a change made in the console, by the administrator who made it.
    pub async fn console_audit(
        &self,
        admin: &ConsoleAdmin,
        kind: AuditKind,
        tenant: Option<&Tenant>,
        user: Option<&str>,
        details: serde_json::Value,
    ) {
        let mut event = AuditEvent::new(kind).by(admin.account.actor()).details(details);
        if let Some(t) = tenant {
            event = event.tenant_id(t.id.clone());
        }
        if let Some(u) = user {
            event = event.user(u.to_owned());
        }
        self.audit_or_log(event).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(role: AdminRole, tenant: Option<&str>) -> AdminAccount {
        AdminAccount {
            id: "a".into(),
            username: "root".into(),
            password_hash: String::new(),
            role,
            tenant_id: tenant.map(str::to_owned),
            active: true,
            failures: 0,
            locked_until: None,
            created_at: Timestamp(0),
        }
    }

    #[test]
    fn roles_decide_what_an_administrator_sees_and_changes() {
        let root = account(AdminRole::Superadmin, None);
        assert!(root.may_see("t1") && root.may_change("t1") && root.is_superadmin());
        let ta = account(AdminRole::TenantAdmin, Some("t1"));
        assert!(ta.may_see("t1") && ta.may_change("t1"));
        assert!(!ta.may_see("t2") && !ta.may_change("t2") && !ta.is_superadmin());
        let ro = account(AdminRole::ReadOnly, None);
        assert!(ro.may_see("t1") && ro.may_see("t2") && !ro.may_change("t1"));
        let ro1 = account(AdminRole::ReadOnly, Some("t1"));
        assert!(ro1.may_see("t1") && !ro1.may_see("t2") && !ro1.may_change("t1"));
        for r in [AdminRole::Superadmin, AdminRole::TenantAdmin, AdminRole::ReadOnly] {
            assert_eq!(AdminRole::from_stored(r.as_str()), Some(r));
        }
        assert_eq!(root.actor().to_string(), "admin-account:root");
    }

    #[test]
    fn a_console_session_idles_out_after_15_minutes_once_signed_in() {
        let s = ConsoleSession {
            id_hash: "h".into(),
            account_id: "a".into(),
            step: ConsoleStep::SignedIn,
            created_at: Timestamp(0),
            last_seen_at: Timestamp(1_000),
            expires_at: Timestamp(super::super::ABSOLUTE_MS),
        };
        assert!(s.live_at(Timestamp(1_000 + CONSOLE_IDLE_MS - 1)));
        assert!(!s.live_at(Timestamp(1_000 + CONSOLE_IDLE_MS)));
        let half = ConsoleSession { step: ConsoleStep::PasswordOk, expires_at: Timestamp(SECOND_FACTOR_MS), ..s };
        assert!(half.live_at(Timestamp(SECOND_FACTOR_MS - 1)));
        assert!(!half.live_at(Timestamp(SECOND_FACTOR_MS)));
    }
}
