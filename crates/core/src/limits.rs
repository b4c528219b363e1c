//! Request limits (docs/security.md, "Request limits"): how many requests one client
//! address, one API key, one activation or one device may make in a fixed window, on the
//! integration and mobile APIs. This file is data and rules only — the kinds of limit,
//! their budgets, the bucket a request counts in and the decision on a counted request;
//! counting is `impl Core` in `count.rs`, storing in
//! [`LimitStore`](crate::store::LimitStore).
//!
//! **Reserve, then decide.** A request is counted first (one upsert that increments its
//! bucket's counter and returns the new count), then refused when the count is past the
//! budget. The database hands out the counts one by one, so however many requests arrive
//! at once on however many nodes sharing it, exactly the budget's worth are let through
//! in a window. Refused requests stay counted: a flood does not end the window early.

mod count;

use sha2::{Digest, Sha256};

use crate::clock::Timestamp;
use crate::store::Hit;

/// What a budget is counted per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LimitKind {
    /// Integration API (`/v1`) requests per API key.
    ApiKey,
    /// Integration API requests per client address.
    IntegrationAddress,
    /// Mobile API (`/mobile/v1`) requests per client address.
    MobileAddress,
    /// Activation steps (activation code, instance) per client address.
    ActivationAddress,
    /// Activation steps per activation.
    Activation,
    /// Answers to login requests (approve, decline, PIN) per client address.
    AnswerAddress,
    /// Answers to login requests per device.
    AnswerDevice,
    /// Sign-in steps of the web pages (self-service and console: password, link,
    /// passkey, second factor) per client address.
    SignInAddress,
}

impl LimitKind {
    /// Every kind.
    pub const ALL: [LimitKind; 8] = [
        LimitKind::ApiKey,
        LimitKind::IntegrationAddress,
        LimitKind::MobileAddress,
        LimitKind::ActivationAddress,
        LimitKind::Activation,
        LimitKind::AnswerAddress,
        LimitKind::AnswerDevice,
        LimitKind::SignInAddress,
    ];

    /// The name of its budget in `[limits]`, in the audit log and in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::ApiKey => "api_key",
            LimitKind::IntegrationAddress => "integration_address",
            LimitKind::MobileAddress => "mobile_address",
            LimitKind::ActivationAddress => "activation_address",
            LimitKind::Activation => "activation",
            LimitKind::AnswerAddress => "answer_address",
            LimitKind::AnswerDevice => "answer_device",
            LimitKind::SignInAddress => "sign_in_address",
        }
    }

    /// What its subject is, for a human.
    pub fn per(self) -> &'static str {
        match self {
            LimitKind::ApiKey => "API key",
            LimitKind::IntegrationAddress
            | LimitKind::MobileAddress
            | LimitKind::ActivationAddress
            | LimitKind::AnswerAddress
            | LimitKind::SignInAddress => "client address",
            LimitKind::Activation => "activation",
            LimitKind::AnswerDevice => "device",
        }
    }

    /// Whether its subject is a client address.
    pub fn is_address(self) -> bool {
        matches!(
            self,
            LimitKind::IntegrationAddress
                | LimitKind::MobileAddress
                | LimitKind::ActivationAddress
                | LimitKind::AnswerAddress
                | LimitKind::SignInAddress
        )
    }
}

/// The request limits of a server (`[limits]`): a fixed window and a budget per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Whether requests are limited at all.
    pub enabled: bool,
    /// The window, in seconds (at least 1).
    pub window_seconds: u32,
    /// Integration API requests per API key and window.
    pub api_key: u32,
    /// Integration API requests per client address and window.
    pub integration_address: u32,
    /// Mobile API requests per client address and window.
    pub mobile_address: u32,
    /// Activation steps per client address and window.
    pub activation_address: u32,
    /// Activation steps per activation and window.
    pub activation: u32,
    /// Answers per client address and window.
    pub answer_address: u32,
    /// Answers per device and window.
    pub answer_device: u32,
    /// Web sign-in steps per client address and window.
    pub sign_in_address: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            enabled: true,
            window_seconds: 60,
            api_key: 6000,
            integration_address: 1200,
            mobile_address: 300,
            activation_address: 20,
            activation: 10,
            answer_address: 30,
            answer_device: 10,
            sign_in_address: 30,
        }
    }
}

impl Limits {
    /// The default budgets, switched off.
    pub fn off() -> Limits {
        Limits { enabled: false, ..Limits::default() }
    }

    /// The budget of `kind` per window.
    pub fn budget(&self, kind: LimitKind) -> u32 {
        match kind {
            LimitKind::ApiKey => self.api_key,
            LimitKind::IntegrationAddress => self.integration_address,
            LimitKind::MobileAddress => self.mobile_address,
            LimitKind::ActivationAddress => self.activation_address,
            LimitKind::Activation => self.activation,
            LimitKind::AnswerAddress => self.answer_address,
            LimitKind::AnswerDevice => self.answer_device,
            LimitKind::SignInAddress => self.sign_in_address,
        }
    }

    /// The budget of `kind`, to set.
    pub fn budget_mut(&mut self, kind: LimitKind) -> &mut u32 {
        match kind {
            LimitKind::ApiKey => &mut self.api_key,
            LimitKind::IntegrationAddress => &mut self.integration_address,
            LimitKind::MobileAddress => &mut self.mobile_address,
            LimitKind::ActivationAddress => &mut self.activation_address,
            LimitKind::Activation => &mut self.activation,
            LimitKind::AnswerAddress => &mut self.answer_address,
            LimitKind::AnswerDevice => &mut self.answer_device,
            LimitKind::SignInAddress => &mut self.sign_in_address,
        }
    }

    /// The window `now` falls in: its start and end (Unix ms). Windows are aligned on
    /// multiples of their length since the epoch, so every node agrees on them.
    pub fn window(&self, now: Timestamp) -> (Timestamp, Timestamp) {
        let len = i64::from(self.window_seconds.max(1)) * 1000;
        let start = now.millis() - now.millis().rem_euclid(len);
        (Timestamp(start), Timestamp(start + len))
    }
}

/// The bucket `subject` (an address, an API key's ID, an activation's or a device's ID)
/// counts in for `kind`: the kind's name and a hash of the subject, so that the table
/// holds no identifier in clear.
pub fn bucket(kind: LimitKind, subject: &str) -> String {
    let mut h = Sha256::new();
    h.update(kind.as_str().as_bytes());
    h.update([0]);
    h.update(subject.as_bytes());
    let digest = h.finalize();
    format!("{}:{}", kind.as_str(), hex::encode(&digest[..16]))
}

/// What becomes of a counted request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Within the budget.
    Allowed,
    /// Past it: refused until the window ends.
    Refused {
        /// Seconds until the window ends (at least 1).
        retry_after_seconds: u32,
        /// Whether this is the window's first refusal in this bucket (the one the audit
        /// log records).
        first: bool,
    },
}

/// Decide on a request counted as `hit` against `budget` at `now`.
pub fn decide(budget: u32, hit: Hit, now: Timestamp) -> Decision {
    if hit.count <= budget {
        return Decision::Allowed;
    }
    let wait_ms = (hit.window_ends.millis() - now.millis()).max(1);
    let retry_after_seconds = u32::try_from((wait_ms + 999) / 1000).unwrap_or(u32::MAX).max(1);
    Decision::Refused { retry_after_seconds, first: hit.count == budget.saturating_add(1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_aligned_and_the_budget_holds_to_the_last() {
        let l = Limits { window_seconds: 60, ..Limits::default() };
        assert_eq!(l.window(Timestamp(125_000)), (Timestamp(120_000), Timestamp(180_000)));
        assert_eq!(l.window(Timestamp(120_000)), (Timestamp(120_000), Timestamp(180_000)));
        let hit = |count| Hit { count, window_ends: Timestamp(180_000) };
        assert_eq!(decide(3, hit(3), Timestamp(125_000)), Decision::Allowed);
        assert_eq!(decide(3, hit(4), Timestamp(125_000)), Decision::Refused { retry_after_seconds: 55, first: true });
        assert_eq!(decide(3, hit(5), Timestamp(179_999)), Decision::Refused { retry_after_seconds: 1, first: false });
        assert_eq!(decide(3, hit(9), Timestamp(180_500)), Decision::Refused { retry_after_seconds: 1, first: false });
    }

    #[test]
    fn buckets_hide_their_subject_and_differ_by_kind() {
        let a = bucket(LimitKind::IntegrationAddress, "192.0.2.7");
        let b = bucket(LimitKind::MobileAddress, "192.0.2.7");
        assert!(a.starts_with("integration_address:") && !a.contains("192.0.2.7"), "{a}");
        assert_ne!(a.split(':').nth(1), b.split(':').nth(1));
        assert_eq!(a, bucket(LimitKind::IntegrationAddress, "192.0.2.7"));
        assert_eq!(a.len(), "integration_address:".len() + 32);
    }

    #[test]
    fn every_kind_has_a_budget_and_a_distinct_name() {
        let mut l = Limits::off();
        for (i, kind) in LimitKind::ALL.into_iter().enumerate() {
            *l.budget_mut(kind) = 100 + i as u32;
            assert_eq!(l.budget(kind), 100 + i as u32);
        }
        let names: std::collections::BTreeSet<_> = LimitKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), LimitKind::ALL.len());
        assert!(!l.enabled && Limits::default().enabled);
    }
}
