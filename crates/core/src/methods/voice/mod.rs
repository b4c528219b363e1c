//! Voice (riskResponseCode 13): a one-time code read out by a phone call. It is the
//! one-time-code engine of [`super::code`] with one more channel: the call goes through
//! the outbox as a `voice` message (a [`VoicePayload`]: the number, the text and its
//! language), which the delivery worker places through the tenant's Twilio account
//! (docs/delivery.md, "Voice calls"). The text is the voice type's `messages` for the
//! language, else a built-in one, with the code's digits spaced so that they are read one
//! by one.

pub(crate) mod text;

use async_trait::async_trait;

use super::{Begin, LoginMethod, Method, Reply, code};
use crate::error::CoreError;
use crate::login::LoginResult;
use crate::service::Core;
use crate::session::Session;
use crate::user::User;

/// `voice`.
pub(crate) struct Voice;

#[async_trait]
impl LoginMethod for Voice {
    fn method(&self) -> Method {
        Method::Voice
    }

    fn risk_code(&self) -> u32 {
        13
    }

    async fn check(&self, core: &Core, begin: &Begin<'_>) -> Result<(), CoreError> {
        code::check(core, begin).await
    }

    async fn start(&self, core: &Core, begin: &Begin<'_>, user: &User) -> Result<LoginResult, CoreError> {
        code::start(core, begin, user).await
    }

    async fn answer(&self, core: &Core, reply: &Reply<'_>, s: Session) -> Result<LoginResult, CoreError> {
        code::verify(core, reply, s).await
    }
}
