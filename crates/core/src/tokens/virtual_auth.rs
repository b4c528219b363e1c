//! Virtual authenticators and `generate-votp` (docs/otp.md, "Virtual authenticators"):
//! a serial number with named applications, assigned to a user, through which a back end
//! has a one-time code generated and sent by SMS or e-mail, or handed back.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{CoreError, Refusal};
use crate::methods::Method;
use crate::methods::command::StartLogin;
use crate::otp::AuthType;
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::tenant::Tenant;

/// A virtual authenticator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VirtualAuthenticator {
    /// Serial number (`VIR` + 7 digits).
    pub serial_number: String,
    /// The holder.
    #[serde(rename = "userID")]
    pub user_id: String,
    /// Application names (`generate-votp` names one).
    pub applications: Vec<String>,
    /// The holder's internal id.
    #[serde(skip_serializing, default)]
    #[schema(ignore)]
    pub user_pk: String,
}

/// `POST /admin/v1/tenants/{domain}/users/{userID}/virtual-authenticators`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignVirtual {
    /// Application names (default `["APPL1"]`).
    #[serde(default)]
    pub applications: Option<Vec<String>>,
}

/// `GenerateVOTPInput`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenerateVotpInput {
    /// `GenerateVOTPInput` (optional).
    #[serde(default)]
    pub object_type: Option<String>,
    /// `SMS`, `Email` or `Response`.
    pub delivery_method: String,
    /// Language of the message (default: the user's locale, else `en`).
    #[serde(default)]
    pub language_code: Option<String>,
}

/// `GenerateVOTPOutput`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GenerateVotpOutput {
    /// Always `GenerateVOTPOutput`.
    pub object_type: &'static str,
    /// The code session: check the code with the login's second call.
    #[serde(rename = "requestID")]
    pub request_id: String,
    /// When the code expires.
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: crate::clock::Timestamp,
    /// With `Response`: the code, for the caller to deliver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub votp: Option<String>,
}

fn check_application(name: &str) -> Result<(), CoreError> {
    let ok = !name.is_empty() && name.len() <= 32 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok { Ok(()) } else { Err(CoreError::invalid("applications", "names of 1 to 32 of A-Z, a-z, 0-9, '_'")) }
}

impl Core {
    /// Assign a new virtual authenticator to a user (admin API).
    pub async fn assign_virtual(
        &self,
        domain: &str,
        user_id: &str,
        input: AssignVirtual,
    ) -> Result<VirtualAuthenticator, CoreError> {
        let tenant = self.tenant(domain).await?;
        let user = self.user_in(&tenant, user_id).await?;
        let applications = input.applications.unwrap_or_else(|| vec!["APPL1".to_owned()]);
        if applications.is_empty() || applications.len() > 8 {
            return Err(CoreError::invalid("applications", "1 to 8 applications"));
        }
        applications.iter().try_for_each(|a| check_application(a))?;
        let mut b = [0u8; 8];
        self.random.fill(&mut b)?;
        let n = u64::from_be_bytes(b) % 10_000_000;
        let v = VirtualAuthenticator {
            serial_number: format!("VIR{n:07}"),
            user_id: user.user_id.as_str().to_owned(),
            applications,
            user_pk: user.id.clone(),
        };
        match self.store.insert_virtual_authenticator(&tenant.id, &v, self.clock.now()).await {
            Ok(()) => Ok(v),
            Err(crate::store::StoreError::Conflict) => Err(CoreError::refused(
                Refusal::Conflict,
                RefusalCode::SerialTaken,
                "try again: the serial number was taken",
            )),
            Err(e) => Err(e.into()),
        }
    }

    async fn virtual_of(&self, tenant: &Tenant, serial: &str) -> Result<Option<VirtualAuthenticator>, CoreError> {
        Ok(self.store.virtual_authenticator(&tenant.id, serial).await?)
    }

    /// A user's virtual authenticators (admin API).
    pub async fn user_virtuals(
        &self,
        domain: &str,
        user_id: &str,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<crate::admin::Listing<VirtualAuthenticator>, CoreError> {
        let tenant = self.tenant(domain).await?;
        let user = self.user_in(&tenant, user_id).await?;
        let page = crate::admin::page(after, limit)?;
        let rows = self.store.user_virtual_authenticators(&user.id, &page).await?;
        Ok(crate::admin::listing(rows, &page, |v| v.serial_number.clone()))
    }

    /// Unassign (remove) a virtual authenticator (admin API).
    pub async fn delete_virtual(&self, domain: &str, serial: &str) -> Result<(), CoreError> {
        let tenant = self.tenant(domain).await?;
        if self.store.delete_virtual_authenticator(&tenant.id, serial).await? {
            Ok(())
        } else {
            Err(CoreError::refused(
                Refusal::Unprocessable,
                RefusalCode::AuthenticatorNotFound,
                "no such virtual authenticator",
            ))
        }
    }

    /// `generate-votp` (integration API): a code session through this authenticator's
    /// application, delivered as asked.
    pub async fn generate_votp(
        &self,
        tenant: &Tenant,
        serial: &str,
        application: &str,
        input: GenerateVotpInput,
    ) -> Result<GenerateVotpOutput, CoreError> {
        if input.object_type.as_deref().is_some_and(|t| t != "GenerateVOTPInput") {
            return Err(CoreError::invalid("objectType", "objectType must be GenerateVOTPInput"));
        }
        let not_found = || CoreError::Refused {
            kind: Refusal::Unprocessable,
            code: RefusalCode::AuthenticatorNotFound,
            message: "no virtual authenticator with this serial number and application".into(),
            attempts_left: None,
        };
        let v = self.virtual_of(tenant, serial).await?.ok_or_else(not_found)?;
        if !v.applications.iter().any(|a| a == application) {
            return Err(not_found());
        }
        let user = self.store.user_by_pk(&v.user_pk).await?.ok_or_else(not_found)?;
        let base = match self.auth_type(tenant, "votp").await? {
            Some(t) => t,
            None => AuthType::builtin("votp").ok_or_else(|| CoreError::Internal("no votp type".into()))?,
        };
        let ty = match input.delivery_method.as_str() {
            "SMS" => AuthType { method: Method::Sms, follow_user_delivery: false, custom_delivery: false, ..base },
            "Email" => AuthType { method: Method::Email, follow_user_delivery: false, custom_delivery: false, ..base },
            "Response" => AuthType { follow_user_delivery: false, custom_delivery: true, ..base },
            _ => return Err(CoreError::invalid("deliveryMethod", "deliveryMethod must be SMS, Email or Response")),
        };
        let login = StartLogin { language: input.language_code, ..StartLogin::default() };
        let out = self.start_code(tenant, &user, "votp", &ty, &login).await?;
        let votp = if ty.custom_delivery {
            let s = self.store.session(&out.request_id).await?;
            match s {
                Some(s) => self.custom_code(&s).await?,
                None => None,
            }
        } else {
            None
        };
        Ok(GenerateVotpOutput {
            object_type: "GenerateVOTPOutput",
            request_id: out.request_id,
            expires_at: out.expires_at,
            votp,
        })
    }
}
