//! Push with a custom authenticator (riskResponseCode 103; seed: "Push with Custom
//! Authenticator"): a push like the others, naming the custom authenticator its type
//! names (`customAuthenticator`), approved by a signature of the key the device registered
//! under that name — or by the PIN key, which is always available (docs/mobile-protocol.md,
//! "Answering"). What it stores: a push session that also records the authenticator's
//! name (the sessions table's `custom_authenticator`), shown to the device as
//! `customAuthenticator`.

use async_trait::async_trait;

use super::{Begin, LoginMethod, Method, push};
use crate::device::Device;
use crate::error::{CoreError, Entity};
use crate::login::LoginResult;
use crate::service::Core;
use crate::session::Session;
use crate::user::User;

/// `push_custom`.
pub(crate) struct PushCustom;

#[async_trait]
impl LoginMethod for PushCustom {
    fn method(&self) -> Method {
        Method::PushCustom
    }

    fn risk_code(&self) -> u32 {
        103
    }

    async fn check(&self, core: &Core, begin: &Begin<'_>) -> Result<(), CoreError> {
        push::check(core, begin).await
    }

    async fn start(&self, core: &Core, begin: &Begin<'_>, user: &User) -> Result<LoginResult, CoreError> {
        let name = begin
            .ty
            .custom_authenticator
            .as_deref()
            .ok_or_else(|| CoreError::Internal("a push_custom type without its custom authenticator".into()))?;
        push::start(core, begin, user, Method::PushCustom, Some(name)).await
    }

    async fn answer(&self, _: &Core, _: &super::Reply<'_>, _: Session) -> Result<LoginResult, CoreError> {
        // The device answers a push, never the login call.
        Err(CoreError::NotFound(Entity::Session))
    }

    fn approver<'d>(&self, device: &'d Device, s: &Session, key: &str) -> Result<&'d str, CoreError> {
        match key {
            "pin" => Ok(&device.pin_key),
            "custom" => {
                let name = s.custom_authenticator.as_deref().unwrap_or("");
                device.custom_keys.get(name).map(String::as_str).ok_or_else(|| {
                    CoreError::invalid("key", format!("this device registered no custom authenticator {name:?}"))
                })
            }
            _ => Err(super::wrong_key(s, "accept")),
        }
    }
}
