//! Users: `userID@domain`, with their status and contact data.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::Timestamp;
use crate::error::CoreError;
use crate::tenant::Domain;
use crate::validate;

/// A validated user ID (case-sensitive).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    /// Validate `s` as a user ID; `field` names it in the error.
    pub fn parse(s: &str, field: &str) -> Result<UserId, CoreError> {
        validate::user_id(s).map_err(|m| CoreError::invalid(field, m))?;
        Ok(UserId(s.to_owned()))
    }

    /// The user ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `userID@domain`, as it appears in integration API paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef {
    /// The user ID part.
    pub user_id: UserId,
    /// The tenant domain part.
    pub domain: Domain,
}

impl UserRef {
    /// Parse `userID@domain`, splitting at the last `@`.
    pub fn parse(s: &str) -> Result<UserRef, CoreError> {
        let field = "userID@domain";
        let (user, domain) = s
            .rsplit_once('@')
            .ok_or_else(|| CoreError::invalid(field, "expected userID@domain, e.g. alice@example.com"))?;
        Ok(UserRef { user_id: UserId::parse(user, field)?, domain: Domain::parse(domain, field)? })
    }
}

/// Whether a user may authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    /// May authenticate.
    Active,
    /// Temporarily blocked (too many failures, or by an administrator).
    Locked,
    /// Switched off by an administrator.
    Disabled,
}

impl UserStatus {
    /// The stored and wire text.
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Locked => "locked",
            UserStatus::Disabled => "disabled",
        }
    }

    /// Read the stored text.
    pub fn from_stored(s: &str) -> Option<UserStatus> {
        match s {
            "active" => Some(UserStatus::Active),
            "locked" => Some(UserStatus::Locked),
            "disabled" => Some(UserStatus::Disabled),
            _ => None,
        }
    }
}

/// How virtual one-time codes reach the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum VdpDeliveryMethod {
    /// By text message to `phone`.
    #[serde(rename = "SMS")]
    Sms,
    /// By email to `email`.
    Email,
    /// As the authentication type in use says.
    Default,
}

impl VdpDeliveryMethod {
    /// The stored and wire text.
    pub fn as_str(self) -> &'static str {
        match self {
            VdpDeliveryMethod::Sms => "SMS",
            VdpDeliveryMethod::Email => "Email",
            VdpDeliveryMethod::Default => "Default",
        }
    }

    /// Read the stored text.
    pub fn from_stored(s: &str) -> Option<VdpDeliveryMethod> {
        match s {
            "SMS" => Some(VdpDeliveryMethod::Sms),
            "Email" => Some(VdpDeliveryMethod::Email),
            "Default" => Some(VdpDeliveryMethod::Default),
            _ => None,
        }
    }
}

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Internal identifier; never changes.
    #[serde(skip)]
    pub id: String,
    /// Internal identifier of the user's tenant.
    #[serde(skip)]
    pub tenant_id: String,
    /// The user ID, unique within the tenant.
    #[serde(rename = "userID")]
    #[schema(value_type = String, example = "alice")]
    pub user_id: UserId,
    /// Whether the user may authenticate.
    pub status: UserStatus,
    /// Mobile number in E.164 form.
    #[schema(example = "+15550100")]
    pub phone: Option<String>,
    /// Email address.
    #[schema(example = "alice@example.com")]
    pub email: Option<String>,
    /// Preferred language tag.
    #[schema(example = "en")]
    pub locale: Option<String>,
    /// How virtual one-time codes reach this user.
    pub vdp_delivery_method: VdpDeliveryMethod,
    /// When the user was created.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When the user was last changed.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// Validate optional contact fields; shared by create and update.
pub(crate) fn check_contacts(phone: Option<&str>, email: Option<&str>, locale: Option<&str>) -> Result<(), CoreError> {
    if let Some(p) = phone {
        validate::phone(p).map_err(|m| CoreError::invalid("phone", m))?;
    }
    if let Some(e) = email {
        validate::email(e).map_err(|m| CoreError::invalid("email", m))?;
    }
    if let Some(l) = locale {
        validate::locale(l).map_err(|m| CoreError::invalid("locale", m))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ref_splits_at_last_at() {
        let r = UserRef::parse("alice@Example.COM").expect("valid");
        assert_eq!(r.user_id.as_str(), "alice");
        assert_eq!(r.domain.as_str(), "example.com");
        assert!(UserRef::parse("alice").is_err());
        assert!(UserRef::parse("@example.com").is_err());
        assert!(UserRef::parse("alice@").is_err());
        // "a@b@c.com" splits into user "a@b", which is not a valid user ID.
        assert!(UserRef::parse("a@b@c.com").is_err());
    }

    #[test]
    fn stored_enums_round_trip() {
        for s in [UserStatus::Active, UserStatus::Locked, UserStatus::Disabled] {
            assert_eq!(UserStatus::from_stored(s.as_str()), Some(s));
        }
        for m in [VdpDeliveryMethod::Sms, VdpDeliveryMethod::Email, VdpDeliveryMethod::Default] {
            assert_eq!(VdpDeliveryMethod::from_stored(m.as_str()), Some(m));
            assert_eq!(serde_json::to_value(m).ok(), Some(serde_json::json!(m.as_str())));
        }
    }
}
