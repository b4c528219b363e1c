//! Counting a request against its budget ([`Core::count_request`]): the counter, the
//! decision, and for a refusal the metric, the audit entry and the error.

use super::{Decision, LimitKind, bucket, decide};
use crate::audit::{Actor, AuditEvent, AuditKind};
use crate::error::{CoreError, RefusalCode};
use crate::metrics::RateLimit;
use crate::service::Core;

impl Core {
    /// Count one request of `subject` (a client address, an API key's ID, an
    /// activation's or a device's ID) against the budget of `kind` in the current window
    /// (docs/security.md, "Request limits"); `tenant_id` names the tenant for the audit
    /// log when known. Refused with [`CoreError::RateLimited`] (`rate_limited`) past the
    /// budget; the window's first refusal per bucket is recorded in the audit log, every
    /// refusal in the metrics. Nothing is counted while limits are off.
    pub async fn count_request(
        &self,
        kind: LimitKind,
        subject: &str,
        tenant_id: Option<&str>,
    ) -> Result<(), CoreError> {
        let limits = self.limits;
        if !limits.enabled {
            return Ok(());
        }
        let budget = limits.budget(kind);
        let now = self.clock.now();
        let (start, end) = limits.window(now);
        let hit = self.store.count_hit(&bucket(kind, subject), start, end).await?;
        let Decision::Refused { retry_after_seconds, first } = decide(budget, hit, now) else {
            return Ok(());
        };
        self.metrics.rate_limited(RateLimit::Request(kind));
        if first {
            let mut details = serde_json::json!({
                "reason": RefusalCode::RateLimited.as_str(),
                "limit": kind.as_str(),
                "budget": budget,
                "windowSeconds": limits.window_seconds,
                "retryAfterSeconds": retry_after_seconds,
            });
            let mut event = AuditEvent::new(AuditKind::RateLimited);
            match kind {
                LimitKind::ApiKey => event = event.by(Actor::ApiKey(subject.to_owned())),
                LimitKind::Activation => event = event.by(Actor::Activation(subject.to_owned())),
                LimitKind::AnswerDevice => event = event.by(Actor::Device(subject.to_owned())),
                _ => details["client"] = serde_json::Value::String(subject.to_owned()),
            }
            if let Some(t) = tenant_id {
                event = event.tenant_id(t);
            }
            self.audit_or_log(event.details(details)).await;
        }
        Err(CoreError::RateLimited {
            code: RefusalCode::RateLimited,
            message: format!(
                "more than {budget} requests per {} in {} seconds; try again in {retry_after_seconds} seconds",
                kind.per(),
                limits.window_seconds
            ),
            retry_after_seconds,
        })
    }
}
