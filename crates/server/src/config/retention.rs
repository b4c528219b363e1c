//! `[retention]` (docs/foundation.md, "Configuration"; docs/security.md, "Retention"):
//! how many days rows that only grow are kept once done with. `0` keeps them for ever.

use serde::Deserialize;

use super::ConfigError;
use countersign_core::retention::Retention;

/// The longest period accepted, in days (100 years).
const MAX_DAYS: u32 = 36_500;

/// `[retention]` as read; every field optional so layers merge field by field.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetention {
    /// Ended sessions (from their end), QR logins and activations (from their expiry).
    pub sessions_days: Option<u32>,
    /// Sent outbox messages (from their sending).
    pub outbox_sent_days: Option<u32>,
    /// Dead outbox messages (from their queueing).
    pub outbox_dead_days: Option<u32>,
    /// The risk engine's failed logins.
    pub risk_failures_days: Option<u32>,
    /// Audit log entries (default 0: kept for ever).
    pub audit_days: Option<u32>,
    /// Rows of each kind removed per pass.
    pub batch: Option<u32>,
}

impl RawRetention {
    /// From `COUNTERSIGN_RETENTION_*` variables (`SESSIONS_DAYS`, `OUTBOX_SENT_DAYS`,
    /// `OUTBOX_DEAD_DAYS`, `RISK_FAILURES_DAYS`, `AUDIT_DAYS`, `BATCH`); `None` when none is set.
    pub fn from_env(env: &impl Fn(&str) -> Option<String>) -> Result<Option<RawRetention>, ConfigError> {
        let num = |name: &str| -> Result<Option<u32>, ConfigError> {
            env(name)
                .map(|v| {
                    v.trim().parse().map_err(|_| ConfigError::invalid(name, format!("{name} must be a whole number")))
                })
                .transpose()
        };
        let r = RawRetention {
            sessions_days: num("COUNTERSIGN_RETENTION_SESSIONS_DAYS")?,
            outbox_sent_days: num("COUNTERSIGN_RETENTION_OUTBOX_SENT_DAYS")?,
            outbox_dead_days: num("COUNTERSIGN_RETENTION_OUTBOX_DEAD_DAYS")?,
            risk_failures_days: num("COUNTERSIGN_RETENTION_RISK_FAILURES_DAYS")?,
            audit_days: num("COUNTERSIGN_RETENTION_AUDIT_DAYS")?,
            batch: num("COUNTERSIGN_RETENTION_BATCH")?,
        };
        let any =
            [r.sessions_days, r.outbox_sent_days, r.outbox_dead_days, r.risk_failures_days, r.audit_days, r.batch]
                .iter()
                .any(Option::is_some);
        Ok(any.then_some(r))
    }

    /// `self` with every setting `over` has replacing ours.
    pub fn overlay(self, over: RawRetention) -> RawRetention {
        RawRetention {
            sessions_days: over.sessions_days.or(self.sessions_days),
            outbox_sent_days: over.outbox_sent_days.or(self.outbox_sent_days),
            outbox_dead_days: over.outbox_dead_days.or(self.outbox_dead_days),
            risk_failures_days: over.risk_failures_days.or(self.risk_failures_days),
            audit_days: over.audit_days.or(self.audit_days),
            batch: over.batch.or(self.batch),
        }
    }

    /// Checked, with the defaults filled in.
    pub fn validate(self) -> Result<Retention, ConfigError> {
        let d = Retention::default();
        let days = |v: Option<u32>, default: Option<u32>, name: &str| -> Result<Option<u32>, ConfigError> {
            match v {
                None => Ok(default),
                Some(0) => Ok(None),
                Some(n) if n <= MAX_DAYS => Ok(Some(n)),
                Some(_) => Err(ConfigError::invalid(
                    format!("retention.{name}"),
                    format!("retention.{name} must be between 0 (keep for ever) and {MAX_DAYS} days"),
                )),
            }
        };
        let batch = self.batch.unwrap_or(d.batch);
        if !(1..=100_000).contains(&batch) {
            return Err(ConfigError::invalid("retention.batch", "retention.batch must be between 1 and 100000"));
        }
        Ok(Retention {
            sessions_days: days(self.sessions_days, d.sessions_days, "sessions_days")?,
            outbox_sent_days: days(self.outbox_sent_days, d.outbox_sent_days, "outbox_sent_days")?,
            outbox_dead_days: days(self.outbox_dead_days, d.outbox_dead_days, "outbox_dead_days")?,
            risk_failures_days: days(self.risk_failures_days, d.risk_failures_days, "risk_failures_days")?,
            audit_days: days(self.audit_days, d.audit_days, "audit_days")?,
            batch,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn defaults_keep_the_audit_log_and_zero_keeps_for_ever() {
        let r = RawRetention::default().validate().unwrap();
        assert_eq!(r, Retention::default());
        assert_eq!(
            (r.sessions_days, r.outbox_sent_days, r.outbox_dead_days, r.risk_failures_days, r.audit_days),
            (Some(30), Some(7), Some(30), Some(30), None)
        );
        let raw: RawRetention = toml::from_str("sessions_days = 0\naudit_days = 400\nbatch = 50").unwrap();
        let r = raw.validate().unwrap();
        assert_eq!((r.sessions_days, r.audit_days, r.batch), (None, Some(400), 50));
    }

    #[test]
    fn bad_periods_are_named_and_env_layers_over_the_file() {
        let e = RawRetention { outbox_dead_days: Some(50_000), ..Default::default() }.validate().unwrap_err();
        assert!(e.to_string().starts_with("retention.outbox_dead_days"), "{e}");
        let e = RawRetention { batch: Some(0), ..Default::default() }.validate().unwrap_err();
        assert_eq!(e.setting(), Some("retention.batch"));
        assert!(toml::from_str::<RawRetention>("session_days = 3").is_err(), "unknown keys are refused");
        let env = |k: &str| (k == "COUNTERSIGN_RETENTION_AUDIT_DAYS").then(|| "90".to_owned());
        let over = RawRetention::from_env(&env).unwrap().unwrap();
        let file = RawRetention { audit_days: Some(10), sessions_days: Some(5), ..Default::default() };
        let r = file.overlay(over).validate().unwrap();
        assert_eq!((r.audit_days, r.sessions_days), (Some(90), Some(5)));
        assert!(RawRetention::from_env(&|_: &str| None).unwrap().is_none());
        let bad = |k: &str| (k == "COUNTERSIGN_RETENTION_BATCH").then(|| "lots".to_owned());
        assert!(RawRetention::from_env(&bad).unwrap_err().to_string().contains("COUNTERSIGN_RETENTION_BATCH"));
    }
}
