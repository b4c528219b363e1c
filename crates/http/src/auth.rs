//! Authorization in the handler's signature: a handler that takes [`AdminAuth`] or
//! [`TenantAuth`] cannot be reached without that credential.

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::sync::{Arc, Mutex};

use countersign_core::audit::Actor;
use countersign_core::{AccessKind, Credential, Tenant};

use crate::AppState;
use crate::error::ApiError;

/// A request carrying a live admin token (`Authorization: Bearer csa_…`).
#[derive(Debug, Clone)]
pub struct AdminAuth {
    /// The token's id.
    pub token_id: String,
}

/// A request carrying a live API key of one tenant (`Authorization: Bearer csk_…`, or
/// HTTP Basic with the key as password and the tenant domain, or nothing, as user name).
#[derive(Debug, Clone)]
pub struct TenantAuth {
    /// The key's tenant.
    pub tenant: Tenant,
    /// The key's id.
    pub key_id: String,
}

impl AdminAuth {
    /// Who acts, for the audit log: `admin-token:<id>`.
    pub fn actor(&self) -> Actor {
        Actor::AdminToken(self.token_id.clone())
    }
}

impl TenantAuth {
    /// Who acts, for the audit log: `api-key:<id>`.
    pub fn actor(&self) -> Actor {
        Actor::ApiKey(self.key_id.clone())
    }
}

/// Where a request's credential is noted once checked, for a layer that records what
/// the request changed (`routes::admin::audit::record_changes`): the layer puts an
/// empty slot in the request's extensions, the extractor fills it.
#[derive(Debug, Clone, Default)]
pub struct ActorSlot(Arc<Mutex<Option<Actor>>>);

impl ActorSlot {
    fn note(parts: &Parts, actor: Actor) {
        if let Some(slot) = parts.extensions.get::<ActorSlot>()
            && let Ok(mut a) = slot.0.lock()
        {
            *a = Some(actor);
        }
    }

    /// The actor noted, if a credential was checked.
    pub fn actor(&self) -> Option<Actor> {
        self.0.lock().ok().and_then(|a| a.clone())
    }
}

/// The presented secret, and the Basic user name when Basic was used.
fn presented(parts: &Parts) -> Option<(String, Option<String>)> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.trim().split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        Some((rest.to_owned(), None))
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = String::from_utf8(STANDARD.decode(rest).ok()?).ok()?;
        let (user, pass) = decoded.split_once(':')?;
        Some((pass.to_owned(), Some(user.to_owned())))
    } else {
        None
    }
}

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some((secret, None)) = presented(parts) else {
            return Err(ApiError::unauthorized());
        };
        match state.core.authenticate(AccessKind::AdminToken, &secret).await? {
            Credential::Admin { token_id } => {
                let auth = AdminAuth { token_id };
                ActorSlot::note(parts, auth.actor());
                Ok(auth)
            }
            Credential::Tenant { .. } => Err(ApiError::unauthorized()),
        }
    }
}

impl FromRequestParts<AppState> for TenantAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some((secret, basic_user)) = presented(parts) else {
            return Err(ApiError::unauthorized());
        };
        match state.core.authenticate(AccessKind::ApiKey, &secret).await? {
            Credential::Tenant { tenant, key_id } => {
                let user_ok = basic_user
                    .as_deref()
                    .is_none_or(|u| u.is_empty() || u.eq_ignore_ascii_case(tenant.domain.as_str()));
                if !user_ok {
                    return Err(ApiError::unauthorized());
                }
                let auth = TenantAuth { tenant, key_id };
                ActorSlot::note(parts, auth.actor());
                crate::limits::by_api_key(state, parts.uri.path(), &auth.tenant.id, &auth.key_id).await?;
                Ok(auth)
            }
            Credential::Admin { .. } => Err(ApiError::unauthorized()),
        }
    }
}

/// A device-signed mobile API request (docs/mobile-protocol.md, "Device-signed
/// requests"): the device it comes from and its JSON body. An empty body reads as
/// JSON `null`; a body that is there must be sent as JSON (`415` otherwise), and is read
/// as [`crate::extract::ApiJson`] reads one. `PENDING_OK` lets an unconfirmed device
/// through (the confirm step).
pub struct DeviceRequest<T, const PENDING_OK: bool = false> {
    /// The authenticated device.
    pub device: countersign_core::device::Device,
    /// The parsed body.
    pub body: T,
}

impl<T: serde::de::DeserializeOwned, const PENDING_OK: bool> axum::extract::FromRequest<AppState>
    for DeviceRequest<T, PENDING_OK>
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &AppState) -> Result<Self, ApiError> {
        let headers = req.headers();
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (Some(device_id), Some(timestamp), Some(nonce), Some(signature)) =
            (header("x-cs-device"), header("x-cs-timestamp"), header("x-cs-nonce"), header("x-cs-signature"))
        else {
            return Err(ApiError::unauthorized());
        };
        let method = req.method().as_str().to_owned();
        let path = req.uri().path().to_owned();
        let json = crate::extract::is_json(req.headers());
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(crate::extract::bytes_rejection)?;
        if !bytes.is_empty() && !json {
            return Err(crate::extract::not_json());
        }
        let signed = countersign_core::mobile::SignedRequest {
            device_id: &device_id,
            timestamp: &timestamp,
            nonce: &nonce,
            signature: &signature,
            method: &method,
            path: &path,
            body: &bytes,
        };
        let device = state.core.authenticate_device(signed, PENDING_OK).await?;
        let body = crate::extract::parse_json(if bytes.is_empty() { b"null" } else { &bytes })?;
        Ok(DeviceRequest { device, body })
    }
}
