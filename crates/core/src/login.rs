//! What every login shares: its result ([`LoginResult`], what any front door gets back
//! for a [`crate::methods::command::LoginCall`]), the user it is for, the login-request
//! limit, and reading a session's status. Starting and answering logins is the methods'
//! (docs/architecture.md, "Methods"); the integration API's wire shapes (`LoginInput`,
//! `LoginOutput`) are the http crate's.

use countersign_proto::messages::RequestMessage;

use crate::clock::Timestamp;
use crate::error::{CoreError, Entity, Refusal};
use crate::methods::{Delivery, Method};
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::session::{Session, SessionState};
use crate::tenant::Tenant;
use crate::user::{UserRef, UserStatus};

/// Longest `?wait=` on the session status call, in seconds.
pub const MAX_STATUS_WAIT_SECONDS: u32 = 60;

/// What a login call comes to, for any front door: the session (or QR login, or risk
/// decision) and what the caller needs to go on. The integration API serialises it as the
/// seed's `LoginOutput` (crates/http, `wire`); another front door (Duo, RADIUS)
/// maps it to its own answer.
#[derive(Debug, Clone)]
pub struct LoginResult {
    /// The session's request ID.
    pub request_id: String,
    /// `Pending` or the final state.
    pub state: SessionState,
    /// When a pending session times out.
    pub expires_at: Timestamp,
    /// The number the relying party shows for number matching.
    pub number_to_show: Option<u8>,
    /// With `requestMessage` delivery: what to hand the app (e.g. as a QR code).
    pub request_message: Option<String>,
    /// Why the server ended it (`no_device`, `pin_attempts_exceeded`, `wrong_number`).
    pub reason: Option<String>,
    /// The caller's own session ID, echoed.
    pub session_id: Option<String>,
    /// With custom delivery, while pending: the code for the caller to deliver.
    pub custom_code: Option<String>,
    /// The fallback type started instead of the one asked for.
    pub fallback: Option<String>,
    /// QR login, once claimed: who logged in (the user ID, without the domain).
    pub user_id: Option<String>,
    /// QR login, once claimed: the tenant's domain of `user_id`.
    pub domain: Option<String>,
    /// QR login, once claimed: the device that claimed it.
    pub device_id: Option<String>,
    /// Adaptive logins and events: the risk engine's decision (docs/risk.md).
    pub risk_response_code: Option<u32>,
    /// The rules behind `risk_response_code`.
    pub risk_reasons: Vec<String>,
    /// A FIDO challenge to pass to the browser or the FIDO client (docs/fido.md).
    pub fido_challenge: Option<crate::fido::FidoChallenge>,
    /// A `qr_otp` login: what the QR code encodes (docs/otp.md, "QR login as a type").
    pub qr_payload: Option<String>,
    /// A `qr_otp` login: the same as a link, for a phone that opens links.
    pub app_link: Option<String>,
}

impl LoginResult {
    pub(crate) fn of(s: &Session, session_id: Option<String>, server: &str) -> LoginResult {
        LoginResult {
            number_to_show: s.number,
            request_message: (s.delivery == Delivery::RequestMessage)
                .then(|| RequestMessage { server: server.to_owned(), request_id: s.id.clone() }.to_uri()),
            reason: s.reason().map(str::to_owned),
            session_id,
            ..LoginResult::bare(&s.id, s.state(), s.expires_at)
        }
    }

    /// The result of request `id` in `state` with nothing else to tell (e.g. a QR login
    /// not claimed yet).
    pub(crate) fn bare(id: &str, state: SessionState, expires_at: Timestamp) -> LoginResult {
        LoginResult {
            request_id: id.to_owned(),
            state,
            expires_at,
            number_to_show: None,
            request_message: None,
            reason: None,
            session_id: None,
            custom_code: None,
            fallback: None,
            user_id: None,
            domain: None,
            device_id: None,
            risk_response_code: None,
            risk_reasons: Vec::new(),
            fido_challenge: None,
            qr_payload: None,
            app_link: None,
        }
    }
}

impl Core {
    /// Refuse a new login request (a push, a code by SMS or e-mail) when the user was
    /// sent the tenant's `loginRequestLimit` within its window (docs/foundation.md, "Rate
    /// limits"): against push bombing and SMS pumping.
    pub(crate) async fn check_login_requests(&self, tenant: &Tenant, user: &crate::User) -> Result<(), CoreError> {
        let s = &tenant.settings;
        if s.login_request_limit == 0 {
            return Ok(());
        }
        let now = self.clock.now();
        let window = i64::from(s.login_request_window_seconds) * 1000;
        let (sent, oldest) = self.store.login_requests_since(&user.id, now.plus_millis(-window)).await?;
        if sent < u64::from(s.login_request_limit) {
            return Ok(());
        }
        let wait_ms = oldest.map_or(window, |o| o.millis() + window - now.millis()).max(1000);
        let retry_after_seconds = u32::try_from((wait_ms + 999) / 1000).unwrap_or(s.login_request_window_seconds);
        self.metrics.rate_limited(crate::metrics::RateLimit::LoginRequests);
        let details = serde_json::json!({
            "reason": RefusalCode::TooManyLoginRequests.as_str(),
            "limit": s.login_request_limit,
            "windowSeconds": s.login_request_window_seconds,
            "retryAfterSeconds": retry_after_seconds,
        });
        let event = crate::audit::AuditEvent::new(crate::audit::AuditKind::RateLimited)
            .tenant_id(&tenant.id)
            .tenant(tenant.domain.as_str())
            .user(user.user_id.as_str())
            .details(details);
        self.audit_or_log(event).await;
        Err(CoreError::RateLimited {
            code: RefusalCode::TooManyLoginRequests,
            message: format!(
                "this user was sent {sent} login requests in the last {} seconds; the next may be sent in \
                 {retry_after_seconds} seconds",
                s.login_request_window_seconds
            ),
            retry_after_seconds,
        })
    }

    /// The active user `user` (`userID@domain`) of `tenant`, for a login.
    pub(crate) async fn login_user(&self, tenant: &Tenant, user: &str) -> Result<crate::user::User, CoreError> {
        let r = UserRef::parse(user)?;
        if r.domain != tenant.domain {
            return Err(CoreError::NotFound(Entity::User));
        }
        let u = self.user_in(tenant, r.user_id.as_str()).await?;
        ensure_active(&u)?;
        Ok(u)
    }

    /// `GET /v1/sessions/{requestID}`: the state now, or after up to `wait` seconds.
    pub async fn session_status(
        &self,
        tenant: &Tenant,
        request_id: &str,
        wait: Option<u32>,
    ) -> Result<LoginResult, CoreError> {
        let wait = wait.unwrap_or(0);
        if wait > MAX_STATUS_WAIT_SECONDS {
            return Err(CoreError::invalid(
                "wait",
                format!("wait must be between 0 and {MAX_STATUS_WAIT_SECONDS} seconds"),
            ));
        }
        let s = self.current_session(request_id).await?.filter(|s| s.tenant_id == tenant.id);
        let s = match s {
            Some(s) => s,
            None => match self.qr_status(tenant, request_id, wait).await? {
                Some(out) => return Ok(out),
                // Claimed meanwhile, or no such request.
                None => self
                    .store
                    .session(request_id)
                    .await?
                    .filter(|s| s.tenant_id == tenant.id)
                    .ok_or(CoreError::NotFound(Entity::Session))?,
            },
        };
        let s = if wait > 0 && !s.state().is_final() {
            self.wait_for_end(&s.id, self.clock.now().plus_millis(i64::from(wait) * 1000)).await?
        } else {
            s
        };
        let mut out = LoginResult::of(&s, None, &self.public_url);
        out.custom_code = self.custom_code(&s).await?;
        if s.method == Some(Method::QrOtp) && s.state() == SessionState::Accept {
            let user = self.store.user_by_pk(&s.user_pk).await?.ok_or(CoreError::NotFound(Entity::User))?;
            out.user_id = Some(user.user_id.as_str().to_owned());
            out.domain = Some(tenant.domain.as_str().to_owned());
            out.device_id = s.device_id().map(str::to_owned);
        }
        Ok(out)
    }
}

/// Refuse a user who may not authenticate (locked or disabled).
pub(crate) fn ensure_active(u: &crate::user::User) -> Result<(), CoreError> {
    match u.status {
        UserStatus::Active => Ok(()),
        UserStatus::Locked => {
            Err(CoreError::refused(Refusal::Forbidden, RefusalCode::UserLocked, "the user is locked"))
        }
        UserStatus::Disabled => {
            Err(CoreError::refused(Refusal::Forbidden, RefusalCode::UserDisabled, "the user is disabled"))
        }
    }
}
