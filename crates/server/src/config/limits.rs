//! `[limits]` (docs/security.md, "Request limits"): how many requests one client address,
//! API key, activation or device may make per fixed window on the integration and mobile
//! APIs. `enabled = false` turns them off; a budget of 0 is refused (turn the limits off
//! instead).

use serde::Deserialize;

use super::ConfigError;
use countersign_core::limits::{LimitKind, Limits};

/// The longest window accepted, in seconds (a day).
const MAX_WINDOW: u32 = 86_400;
/// The largest budget accepted per window.
const MAX_BUDGET: u32 = 100_000_000;

/// `[limits]` as read; every field optional so layers merge field by field.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Whether requests are limited (default true).
    pub enabled: Option<bool>,
    /// The window, in seconds (default 60).
    pub window_seconds: Option<u32>,
    /// Integration API requests per API key (default 6000).
    pub api_key: Option<u32>,
    /// Integration API requests per client address (default 1200).
    pub integration_address: Option<u32>,
    /// Mobile API requests per client address (default 300).
    pub mobile_address: Option<u32>,
    /// Activation steps per client address (default 20).
    pub activation_address: Option<u32>,
    /// Activation steps per activation (default 10).
    pub activation: Option<u32>,
    /// Answers to login requests per client address (default 30).
    pub answer_address: Option<u32>,
    /// Answers to login requests per device (default 10).
    pub answer_device: Option<u32>,
    /// Sign-in steps of the web pages per client address (default 30).
    pub sign_in_address: Option<u32>,
}

impl RawLimits {
    /// Limits switched off (the test harness's default).
    pub fn off() -> RawLimits {
        RawLimits { enabled: Some(false), ..RawLimits::default() }
    }

    fn budget_mut(&mut self, kind: LimitKind) -> &mut Option<u32> {
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

    /// From `COUNTERSIGN_LIMITS_ENABLED`, `COUNTERSIGN_LIMITS_WINDOW_SECONDS` and
    /// `COUNTERSIGN_LIMITS_<BUDGET>` (`API_KEY`, `INTEGRATION_ADDRESS`, `MOBILE_ADDRESS`,
    /// `ACTIVATION_ADDRESS`, `ACTIVATION`, `ANSWER_ADDRESS`, `ANSWER_DEVICE`,
    /// `SIGN_IN_ADDRESS`); `None`
    /// when none is set.
    pub fn from_env(env: &impl Fn(&str) -> Option<String>) -> Result<Option<RawLimits>, ConfigError> {
        let num = |name: &str| -> Result<Option<u32>, ConfigError> {
            env(name)
                .map(|v| {
                    v.trim().parse().map_err(|_| {
                        ConfigError::invalid(name, format!("{name} must be a whole number, not {:?}", v.trim()))
                    })
                })
                .transpose()
        };
        const ENABLED: &str = "COUNTERSIGN_LIMITS_ENABLED";
        let enabled = match env(ENABLED).as_deref().map(str::trim) {
            None => None,
            Some("true" | "1") => Some(true),
            Some("false" | "0") => Some(false),
            Some(_) => return Err(ConfigError::invalid(ENABLED, format!("{ENABLED} must be true or false"))),
        };
        let mut r =
            RawLimits { enabled, window_seconds: num("COUNTERSIGN_LIMITS_WINDOW_SECONDS")?, ..RawLimits::default() };
        let mut any = r.enabled.is_some() || r.window_seconds.is_some();
        for kind in LimitKind::ALL {
            let v = num(&format!("COUNTERSIGN_LIMITS_{}", kind.as_str().to_ascii_uppercase()))?;
            any |= v.is_some();
            *r.budget_mut(kind) = v;
        }
        Ok(any.then_some(r))
    }

    /// `self` with every setting `over` has replacing ours.
    pub fn overlay(mut self, mut over: RawLimits) -> RawLimits {
        self.enabled = over.enabled.or(self.enabled);
        self.window_seconds = over.window_seconds.or(self.window_seconds);
        for kind in LimitKind::ALL {
            if let Some(v) = over.budget_mut(kind).take() {
                *self.budget_mut(kind) = Some(v);
            }
        }
        self
    }

    /// Checked, with the defaults filled in. A window or budget of 0 is refused, naming it.
    pub fn validate(mut self) -> Result<Limits, ConfigError> {
        let mut l = Limits::default();
        l.enabled = self.enabled.unwrap_or(l.enabled);
        match self.window_seconds {
            None => {}
            Some(n) if (1..=MAX_WINDOW).contains(&n) => l.window_seconds = n,
            Some(_) => {
                return Err(ConfigError::invalid(
                    "limits.window_seconds",
                    format!("limits.window_seconds must be between 1 and {MAX_WINDOW}"),
                ));
            }
        }
        for kind in LimitKind::ALL {
            match *self.budget_mut(kind) {
                None => {}
                Some(n) if (1..=MAX_BUDGET).contains(&n) => *l.budget_mut(kind) = n,
                Some(_) => {
                    let name = format!("limits.{}", kind.as_str());
                    let text = format!(
                        "{name} must be between 1 and {MAX_BUDGET} requests per window (to turn limits off, set \
                         limits.enabled = false)"
                    );
                    return Err(ConfigError::invalid(name, text));
                }
            }
        }
        Ok(l)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn defaults() {
        let l = RawLimits::default().validate().unwrap();
        assert_eq!(l, Limits::default());
        assert!(l.enabled);
        assert_eq!(l.window_seconds, 60);
        let budgets: Vec<u32> = LimitKind::ALL.iter().map(|k| l.budget(*k)).collect();
        assert_eq!(budgets, [6000, 1200, 300, 20, 10, 30, 10, 30]);
        assert!(!RawLimits::off().validate().unwrap().enabled);
        let raw: RawLimits = toml::from_str("window_seconds = 2\nmobile_address = 5\nenabled = false").unwrap();
        let l = raw.validate().unwrap();
        assert_eq!((l.window_seconds, l.mobile_address, l.enabled, l.api_key), (2, 5, false, 6000));
        assert!(toml::from_str::<RawLimits>("api_keys = 3").is_err(), "unknown keys are refused");
        assert!(toml::from_str::<RawLimits>("api_key = -3").is_err(), "negative budgets are refused");
    }

    #[test]
    fn zero_and_out_of_range_are_named() {
        let e = RawLimits { api_key: Some(0), ..Default::default() }.validate().unwrap_err();
        assert_eq!(e.setting(), Some("limits.api_key"));
        assert!(e.to_string().contains("limits.enabled = false"), "{e}");
        let e = RawLimits { window_seconds: Some(0), ..Default::default() }.validate().unwrap_err();
        assert_eq!(e.setting(), Some("limits.window_seconds"));
        let e = RawLimits { window_seconds: Some(90_000), ..Default::default() }.validate().unwrap_err();
        assert_eq!(e.setting(), Some("limits.window_seconds"));
        let e = RawLimits { answer_device: Some(0), ..Default::default() }.validate().unwrap_err();
        assert_eq!(e.setting(), Some("limits.answer_device"));
    }

    #[test]
    fn env_layers_over_the_file() {
        let vars = [
            ("COUNTERSIGN_LIMITS_API_KEY", "7"),
            ("COUNTERSIGN_LIMITS_WINDOW_SECONDS", "2"),
            ("COUNTERSIGN_LIMITS_ENABLED", "true"),
            ("COUNTERSIGN_LIMITS_ANSWER_DEVICE", " 3 "),
        ];
        let env = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned());
        let over = RawLimits::from_env(&env).unwrap().unwrap();
        let file = RawLimits { enabled: Some(false), api_key: Some(100), activation: Some(4), ..Default::default() };
        let l = file.overlay(over).validate().unwrap();
        assert_eq!((l.enabled, l.api_key, l.window_seconds, l.activation, l.answer_device), (true, 7, 2, 4, 3));
        assert!(RawLimits::from_env(&|_: &str| None).unwrap().is_none());
        for (name, value) in [
            ("COUNTERSIGN_LIMITS_MOBILE_ADDRESS", "lots"),
            ("COUNTERSIGN_LIMITS_MOBILE_ADDRESS", "-1"),
            ("COUNTERSIGN_LIMITS_WINDOW_SECONDS", "1.5"),
            ("COUNTERSIGN_LIMITS_ENABLED", "yes please"),
        ] {
            let bad = |k: &str| (k == name).then(|| value.to_owned());
            let e = RawLimits::from_env(&bad).unwrap_err();
            assert_eq!(e.setting(), Some(name), "{e}");
        }
        let zero = |k: &str| (k == "COUNTERSIGN_LIMITS_ACTIVATION").then(|| "0".to_owned());
        let e = RawLimits::from_env(&zero).unwrap().unwrap().validate().unwrap_err();
        assert_eq!(e.setting(), Some("limits.activation"));
    }
}
