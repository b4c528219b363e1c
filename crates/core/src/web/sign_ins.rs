//! A user's recent sign-ins on the self-service pages, read from the audit log, and
//! "not me": a sign-in the user did not make locks what the tenant's `notMePolicy` says.

use super::SignedIn;
use crate::audit::{Actor, AuditEntry, AuditEvent, AuditKind, AuditQuery};
use crate::device::DeviceState;
use crate::error::CoreError;
use crate::service::Core;
use crate::tenant::NotMePolicy;
use crate::user::UserStatus;

/// How many sign-ins the page lists.
pub const RECENT_SIGN_INS: usize = 20;
/// How many of the user's newest audit entries are looked through for them.
const SCAN: u32 = 200;

/// One sign-in as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInRecord {
    /// The audit entry's seq (what "not me" names).
    pub seq: i64,
    /// When.
    pub at: crate::clock::Timestamp,
    /// How (`push`, `totp`, `sms`, `sign_in_link`, …).
    pub method: String,
    /// Whether it passed.
    pub succeeded: bool,
    /// Why it failed, or how it ended (`Accept`, `Decline`, `invalid_otp`, …).
    pub outcome: String,
    /// What the user was shown for it (with the place and browser, when the relying party
    /// gave them), while the session is kept.
    pub message: Option<String>,
}

/// What "not me" locked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotMe {
    /// The device that approved the sign-in was disconnected.
    Device(String),
    /// The user was locked (and signed out of every page).
    User,
}

fn is_login(e: &AuditEntry) -> bool {
    e.kind == AuditKind::LoginSucceeded.as_str() || e.kind == AuditKind::LoginFailed.as_str()
}

impl Core {
    /// The signed-in user's newest sign-ins (at most [`RECENT_SIGN_INS`]).
    pub async fn my_sign_ins(&self, me: &SignedIn) -> Result<Vec<SignInRecord>, CoreError> {
        let q = AuditQuery {
            tenant_id: Some(me.tenant.id.clone()),
            user: Some(me.user.user_id.as_str().to_owned()),
            limit: SCAN,
            newest_first: true,
            ..AuditQuery::default()
        };
        let entries = self.store.audit_entries(&q).await?;
        let mut out = Vec::new();
        for e in entries.iter().filter(|e| is_login(e)).take(RECENT_SIGN_INS) {
            let d: serde_json::Value = serde_json::from_str(&e.details).unwrap_or_default();
            let text = |k: &str| d.get(k).and_then(|v| v.as_str()).map(str::to_owned);
            let message = match text("requestID") {
                Some(id) => {
                    self.store.session(&id).await?.filter(|s| s.user_pk == me.user.id).map(|s| s.message.clone())
                }
                None => None,
            };
            out.push(SignInRecord {
                seq: e.seq,
                at: e.at,
                method: text("method").or_else(|| text("via")).unwrap_or_else(|| "unknown".into()),
                succeeded: e.kind == AuditKind::LoginSucceeded.as_str(),
                outcome: text("outcome").or_else(|| text("reason")).unwrap_or_else(|| "Accept".into()),
                message: message.filter(|m| !m.is_empty()),
            });
        }
        Ok(out)
    }

    /// The signed-in user reports the sign-in of audit entry `seq` as not theirs: per the
    /// tenant's `notMePolicy`, the device that approved it is disconnected, or the user
    /// is locked (and signed out everywhere). Recorded as `locked` in the audit log.
    pub async fn report_not_me(&self, me: &SignedIn, seq: i64) -> Result<NotMe, CoreError> {
        let q = AuditQuery {
            tenant_id: Some(me.tenant.id.clone()),
            user: Some(me.user.user_id.as_str().to_owned()),
            after: Some(seq - 1),
            limit: 1,
            ..AuditQuery::default()
        };
        let entry = self.store.audit_entries(&q).await?.into_iter().find(|e| e.seq == seq && is_login(e));
        let entry = entry.ok_or_else(|| CoreError::invalid("signIn", "no such sign-in of yours"))?;
        let device = match entry.actor.strip_prefix("device:") {
            Some(id) if me.tenant.settings.not_me_policy == NotMePolicy::LockDevice => {
                self.store.device(id).await?.filter(|d| d.user_pk == me.user.id)
            }
            _ => None,
        };
        let event = AuditEvent::new(AuditKind::Locked)
            .tenant_id(&me.tenant.id)
            .tenant(me.tenant.domain.as_str())
            .user(me.user.user_id.as_str())
            .by(Actor::SelfService(me.user.user_id.as_str().to_owned()));
        let outcome = match device {
            Some(d) => {
                if d.state != DeviceState::Disconnected {
                    self.store.device_transition(&d.id, d.state, DeviceState::Disconnected, self.clock.now()).await?;
                }
                NotMe::Device(d.id)
            }
            None => {
                // The same change as the admin API's lock (`PATCH …/users/{userID}`).
                let lock = crate::admin::UpdateUser { status: Some(UserStatus::Locked), ..Default::default() };
                self.update_user(me.tenant.domain.as_str(), me.user.user_id.as_str(), lock).await?;
                self.store.delete_user_web_sessions(&me.user.id).await?;
                NotMe::User
            }
        };
        let locked = match &outcome {
            NotMe::Device(id) => serde_json::json!({ "device": id }),
            NotMe::User => serde_json::json!({ "user": me.user.user_id.as_str() }),
        };
        let details =
            serde_json::json!({ "reason": "not_me", "signIn": seq, "locked": locked, "page": "self-service" });
        self.audit_or_log(event.details(details)).await;
        Ok(outcome)
    }
}
