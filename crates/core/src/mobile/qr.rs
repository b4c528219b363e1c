//! QR login (docs/otp.md, "QR login"): a portal shows a code, the user's activated app
//! claims it with a signed request, and the session answers who logged in. A QR login
//! started as a `qr_otp` type (`methods/qr_otp.rs`) is bound to its user.

use std::time::Duration;

use countersign_proto::b64u_encode;
use countersign_proto::messages::QrLoginPayload;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use crate::clock::Timestamp;
use crate::device::Device;
use crate::error::{CoreError, Entity, Refusal};
use crate::login::LoginResult;
use crate::methods::Method;
use crate::otp::AuthType;
use crate::random;
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::session::{Ending, NewSession, Session, SessionState, closed};
use crate::tenant::Tenant;
use crate::user::User;

/// A QR login as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrLogin {
    /// The request ID (the session's, once claimed).
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// SHA-256 of the code, hex.
    pub code_hash: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// Not claimable after this.
    pub expires_at: Timestamp,
    /// When it was claimed.
    pub claimed_at: Option<Timestamp>,
    /// The user whose devices alone may claim it (a `qr_otp` type started by a login);
    /// `None`: any active device of the tenant.
    pub user_pk: Option<String>,
}

/// `POST /v1/qr-logins`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QrLoginInput {
    /// An authentication type with method `qr_otp` (default: the built-in `qr`).
    #[serde(default, rename = "type")]
    pub type_name: Option<String>,
}

/// A QR login just started.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QrLoginStart {
    /// The session's request ID.
    #[serde(rename = "requestID")]
    pub request_id: String,
    /// When the code stops being claimable.
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    /// What the QR code encodes.
    pub qr_payload: String,
    /// The same as a link, for a phone that opens links.
    pub app_link: String,
}

fn hash(code: &str) -> String {
    hex::encode(Sha256::digest(code.as_bytes()))
}

impl Core {
    /// Start a QR login (integration API).
    pub async fn start_qr_login(&self, tenant: &Tenant, input: QrLoginInput) -> Result<QrLoginStart, CoreError> {
        let name = input.type_name.unwrap_or_else(|| "qr".to_owned());
        let ty = match self.auth_type(tenant, &name).await? {
            Some(t) => t,
            None => return Err(CoreError::invalid("type", "no authentication type of this name")),
        };
        if ty.method != Method::QrOtp {
            return Err(CoreError::invalid("type", "the type's method must be qr_otp"));
        }
        if !ty.enabled {
            return Err(CoreError::refused(
                Refusal::Forbidden,
                RefusalCode::AuthTypeDisabled,
                "this type is switched off",
            ));
        }
        self.new_qr_login(tenant, &ty, None).await
    }

    /// Store a new QR login of type `ty`: claimable by any active device of the tenant,
    /// or with `user` only by that user's (a `qr_otp` type started by a login).
    pub(crate) async fn new_qr_login(
        &self,
        tenant: &Tenant,
        ty: &AuthType,
        user: Option<&User>,
    ) -> Result<QrLoginStart, CoreError> {
        let mut raw = [0u8; 32];
        self.random.fill(&mut raw)?;
        let code = b64u_encode(&raw);
        let now = self.clock.now();
        let q = QrLogin {
            id: random::new_id(&*self.random)?,
            tenant_id: tenant.id.clone(),
            code_hash: hash(&code),
            created_at: now,
            expires_at: now.plus_millis(i64::from(ty.ttl_seconds) * 1000),
            claimed_at: None,
            user_pk: user.map(|u| u.id.clone()),
        };
        self.store.insert_qr_login(&q).await?;
        let payload = QrLoginPayload { server: self.public_url.clone(), request_id: q.id.clone(), code: code.clone() };
        let app_link = format!("{}/app/qr-login?id={}&code={}", self.public_url, q.id, code);
        Ok(QrLoginStart { request_id: q.id, expires_at: q.expires_at, qr_payload: payload.to_uri(), app_link })
    }

    /// A device claims a QR login (mobile API).
    pub async fn claim_qr_login(&self, device: &Device, id: &str, code: &str) -> Result<SessionState, CoreError> {
        let q = self
            .store
            .qr_login(id)
            .await?
            // Another tenant's, or bound to another user: not this device's to see.
            .filter(|q| q.tenant_id == device.tenant_id && q.user_pk.as_ref().is_none_or(|u| *u == device.user_pk))
            .ok_or(CoreError::NotFound(Entity::Session))?;
        let now = self.clock.now();
        if q.claimed_at.is_some() {
            return Err(closed(SessionState::Accept));
        }
        if now >= q.expires_at {
            return Err(closed(SessionState::Timeout));
        }
        if !bool::from(hash(code).as_bytes().ct_eq(q.code_hash.as_bytes())) {
            return Err(CoreError::Refused {
                kind: Refusal::Unprocessable,
                code: RefusalCode::InvalidCode,
                message: "the code does not belong to this QR login".into(),
                attempts_left: None,
            });
        }
        let n = NewSession::not_push(
            q.id.clone(),
            &q.tenant_id,
            &device.user_pk,
            "QR login".into(),
            Some(Method::QrOtp),
            q.created_at,
            q.expires_at,
        );
        let session = Session::ended_at(n, Ending::accept().by(&device.id), now)?;
        if !self.claim_qr_session(&q.id, &session).await? {
            return Err(closed(SessionState::Accept));
        }
        Ok(SessionState::Accept)
    }

    /// The status of a QR login not claimed yet (`None`: no such QR login).
    pub(crate) async fn qr_status(
        &self,
        tenant: &Tenant,
        id: &str,
        wait: u32,
    ) -> Result<Option<LoginResult>, CoreError> {
        let until = self.clock.now().plus_millis(i64::from(wait) * 1000);
        loop {
            let Some(q) = self.store.qr_login(id).await?.filter(|q| q.tenant_id == tenant.id) else { return Ok(None) };
            if q.claimed_at.is_some() {
                return Ok(None);
            }
            let now = self.clock.now();
            let state = if now >= q.expires_at { SessionState::Timeout } else { SessionState::Pending };
            let remaining = until.millis() - now.millis();
            if state.is_final() || remaining <= 0 {
                return Ok(Some(LoginResult::bare(&q.id, state, q.expires_at)));
            }
            let sub = self.waiters.subscribe(id);
            let notified = sub.notify.notified();
            let nap = Duration::from_millis(remaining.clamp(1, 1000) as u64);
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }
}
