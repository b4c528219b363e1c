//! Users: create, read, list, update, delete.

use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use super::{Listing, conflict_as, listing, page};
use crate::error::{CoreError, Entity};
use crate::service::Core;
use crate::tenant::Tenant;
use crate::user::{User, UserId, UserStatus, VdpDeliveryMethod};
use crate::{random, user};

/// Input of `POST /admin/v1/tenants/{domain}/users`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUser {
    /// The user ID, unique in the tenant.
    #[serde(rename = "userID")]
    #[schema(example = "alice")]
    pub user_id: String,
    /// Initial status (default `active`).
    #[serde(default)]
    pub status: Option<UserStatus>,
    /// Mobile number, E.164.
    #[schema(example = "+15550100")]
    #[serde(default)]
    pub phone: Option<String>,
    /// Email address.
    #[schema(example = "alice@example.com")]
    #[serde(default)]
    pub email: Option<String>,
    /// Language tag.
    #[schema(example = "en")]
    #[serde(default)]
    pub locale: Option<String>,
    /// How virtual one-time codes reach the user (default `Default`).
    #[serde(default)]
    pub vdp_delivery_method: Option<VdpDeliveryMethod>,
}

impl CreateUser {
    /// A user with this ID and nothing else (contacts can be added later).
    pub fn named(user_id: &str) -> CreateUser {
        CreateUser {
            user_id: user_id.to_owned(),
            status: None,
            phone: None,
            email: None,
            locale: None,
            vdp_delivery_method: None,
        }
    }
}

/// Input of `PATCH /admin/v1/tenants/{domain}/users/{userID}`. Fields left out keep
/// their values; `null` clears `phone`, `email` or `locale`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateUser {
    /// New status.
    #[serde(default)]
    pub status: Option<UserStatus>,
    /// New phone, or `null` to clear.
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "present")]
    pub phone: Option<Option<String>>,
    /// New email, or `null` to clear.
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "present")]
    pub email: Option<Option<String>>,
    /// New locale, or `null` to clear.
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "present")]
    pub locale: Option<Option<String>>,
    /// New delivery method.
    #[serde(default)]
    pub vdp_delivery_method: Option<VdpDeliveryMethod>,
}

/// A field that is present deserializes to `Some(value or None for null)`; an absent
/// field stays `None` through `#[serde(default)]`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

impl Core {
    /// Create a user in the tenant named by `domain`.
    pub async fn create_user(&self, domain: &str, input: CreateUser) -> Result<User, CoreError> {
        let tenant = self.tenant(domain).await?;
        let user_id = UserId::parse(&input.user_id, "userID")?;
        user::check_contacts(input.phone.as_deref(), input.email.as_deref(), input.locale.as_deref())?;
        let now = self.clock.now();
        let user = User {
            id: random::new_id(&*self.random)?,
            tenant_id: tenant.id,
            user_id,
            status: input.status.unwrap_or(UserStatus::Active),
            phone: input.phone,
            email: input.email,
            locale: input.locale,
            vdp_delivery_method: input.vdp_delivery_method.unwrap_or(VdpDeliveryMethod::Default),
            created_at: now,
            updated_at: now,
        };
        self.store.insert_user(&user).await.map_err(conflict_as(Entity::User))?;
        Ok(user)
    }

    pub(crate) async fn user_in(&self, tenant: &Tenant, user_id: &str) -> Result<User, CoreError> {
        let user_id = UserId::parse(user_id, "userID")?;
        self.store.user(&tenant.id, user_id.as_str()).await?.ok_or(CoreError::NotFound(Entity::User))
    }

    /// The user `user_id` of the tenant named by `domain`.
    pub async fn user(&self, domain: &str, user_id: &str) -> Result<User, CoreError> {
        let tenant = self.tenant(domain).await?;
        self.user_in(&tenant, user_id).await
    }

    /// A page of a tenant's users by userID.
    pub async fn list_users(
        &self,
        domain: &str,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<Listing<User>, CoreError> {
        let tenant = self.tenant(domain).await?;
        let page = page(after, limit)?;
        let rows = self.store.list_users(&tenant.id, &page).await?;
        Ok(listing(rows, &page, |u| u.user_id.as_str().to_owned()))
    }

    /// Up to `limit` (1–500) of a tenant's users whose userID starts with `prefix`.
    pub async fn search_users(&self, domain: &str, prefix: &str, limit: u32) -> Result<Vec<User>, CoreError> {
        let tenant = self.tenant(domain).await?;
        if !(1..=super::MAX_PAGE).contains(&limit) {
            return Err(CoreError::invalid("limit", format!("limit must be between 1 and {}", super::MAX_PAGE)));
        }
        if prefix.chars().count() > 256 {
            return Err(CoreError::invalid("prefix", "at most 256 characters"));
        }
        Ok(self.store.search_users(&tenant.id, prefix, limit).await?)
    }

    /// Change a user.
    pub async fn update_user(&self, domain: &str, user_id: &str, patch: UpdateUser) -> Result<User, CoreError> {
        let mut user = self.user(domain, user_id).await?;
        user::check_contacts(
            patch.phone.as_ref().and_then(Option::as_deref),
            patch.email.as_ref().and_then(Option::as_deref),
            patch.locale.as_ref().and_then(Option::as_deref),
        )?;
        if let Some(s) = patch.status {
            user.status = s;
        }
        if let Some(p) = patch.phone {
            user.phone = p;
        }
        if let Some(e) = patch.email {
            user.email = e;
        }
        if let Some(l) = patch.locale {
            user.locale = l;
        }
        if let Some(m) = patch.vdp_delivery_method {
            user.vdp_delivery_method = m;
        }
        user.updated_at = self.clock.now();
        self.store.update_user(&user).await.map_err(conflict_as(Entity::User))?;
        Ok(user)
    }

    /// Delete a user.
    pub async fn delete_user(&self, domain: &str, user_id: &str) -> Result<(), CoreError> {
        let tenant = self.tenant(domain).await?;
        let user_id = UserId::parse(user_id, "userID")?;
        // Everything the user owns (devices, sessions, credentials, registrations, the
        // risk profile, virtual authenticators) goes with the row: ON DELETE CASCADE.
        if !self.store.delete_user(&tenant.id, user_id.as_str()).await? {
            return Err(CoreError::NotFound(Entity::User));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_user_distinguishes_absent_and_null() {
        let p: UpdateUser = serde_json::from_str(r#"{"phone":null}"#).expect("json");
        assert_eq!(p.phone, Some(None));
        assert_eq!(p.email, None);
        let p: UpdateUser = serde_json::from_str(r#"{"email":"a@b.co"}"#).expect("json");
        assert_eq!(p.email, Some(Some("a@b.co".into())));
    }
}
