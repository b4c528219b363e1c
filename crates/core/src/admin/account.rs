//! A user's account state, as the integration API shows it (`GET /v1/users/{userID@domain}`).

use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{CoreError, Entity};
use crate::service::Core;
use crate::tenant::{Domain, Tenant};
use crate::user::{UserId, UserRef, UserStatus};

/// What the integration API tells about a user (`GET /v1/users/{userID@domain}`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountState {
    /// The user ID.
    #[serde(rename = "userID")]
    #[schema(value_type = String, example = "alice")]
    pub user_id: UserId,
    /// The tenant domain.
    #[schema(value_type = String, example = "example.com")]
    pub domain: Domain,
    /// Whether the user may authenticate.
    pub status: UserStatus,
    /// The user's active authenticators.
    pub authenticators: Vec<AuthenticatorSummary>,
    /// The static password's state, when the user has one (never the password).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub static_password: Option<crate::password::PasswordState>,
}

/// One of a user's authenticators, as listed in the account state.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorSummary {
    /// The kind of authenticator: `mobile` (an activated mobile authenticator), `totp`
    /// or `hotp` (a token; `id` is its serial), `fido2` (a passkey or security key; `id`
    /// is its credential ID), `uaf` (a FIDO UAF registration; `id` is `AAID/keyID`).
    pub kind: String,
    /// Its identifier.
    pub id: String,
}

impl Core {
    /// The account state of `user` (`userID@domain`) as seen by `tenant`'s key: a user of
    /// another tenant is reported as not found.
    pub async fn account_state(&self, tenant: &Tenant, user: &str) -> Result<AccountState, CoreError> {
        let r = UserRef::parse(user)?;
        if r.domain != tenant.domain {
            return Err(CoreError::NotFound(Entity::User));
        }
        let u = self.user_in(tenant, r.user_id.as_str()).await?;
        // Four independent reads, at once.
        let (devices, tokens, password, fido) = tokio::try_join!(
            self.store.user_devices(&u.id),
            self.store.user_tokens(&u.id),
            self.store.static_password(&u.id),
            self.store.fido_authenticator_keys(&u.id)
        )?;
        let mut authenticators: Vec<AuthenticatorSummary> = devices
            .into_iter()
            .filter(|d| d.state == crate::device::DeviceState::Active)
            .map(|d| AuthenticatorSummary { kind: "mobile".to_owned(), id: d.id })
            .collect();
        authenticators.extend(
            tokens
                .into_iter()
                .filter(|t| t.state == crate::tokens::TokenState::Active)
                .map(|t| AuthenticatorSummary { kind: t.kind.as_str().to_owned(), id: t.serial }),
        );
        authenticators.extend(fido.into_iter().map(|key| match key {
            crate::store::FidoAuthenticatorKey::Fido2 { credential_id } => {
                AuthenticatorSummary { kind: "fido2".to_owned(), id: credential_id }
            }
            crate::store::FidoAuthenticatorKey::Uaf { aaid, key_id } => {
                AuthenticatorSummary { kind: "uaf".to_owned(), id: format!("{aaid}/{key_id}") }
            }
        }));
        let static_password = password.as_ref().map(crate::password::PasswordState::from);
        Ok(AccountState { user_id: u.user_id, domain: r.domain, status: u.status, authenticators, static_password })
    }
}
