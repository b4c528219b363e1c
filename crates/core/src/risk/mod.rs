//! The risk engine (docs/risk.md): facts from the CDDC document, the address, the user's
//! learned profile and recent failures; per-tenant rules mapping conditions to outcomes;
//! `riskResponseCode`.

pub mod adaptive;
mod signals;
pub mod trial;

pub use signals::{distance_km, fingerprint, in_cidr, parse_cidr};

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::clock::Timestamp;
use crate::delivery::outbox::{OutboxKind, OutboxMessage};
use crate::error::CoreError;
use crate::service::Core;
use crate::tenant::Tenant;
use crate::user::User;

/// How long a `learn` message waits before the delivery worker may apply it: the ending
/// that queued it applies it at once, the worker only retries what that could not do.
pub const LEARN_RETRY_MS: i64 = 30_000;
/// The body of a `learn` outbox message (its target is the user's internal id).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LearnPayload {
    /// What to learn.
    learn: Learn,
    /// When the session that teaches it was decided (Unix ms).
    at: i64,
}
/// The velocity window.
pub const VELOCITY_WINDOW_MS: i64 = 15 * 60 * 1000;

/// What a rule decides: accept, decline, lock, or a challenge (each names a method in
/// `methods::registry`, which also gives [`Outcome::code`], the `riskResponseCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Log in.
    Accept,
    /// Refuse.
    Decline,
    /// Refuse and lock the user.
    Lock,
    /// Ask for the static password.
    StaticPassword,
    /// Send a code by SMS.
    Sms,
    /// Send a code by e-mail.
    Email,
    /// Read a code out by a phone call.
    Voice,
    /// Push, possession.
    Push,
    /// Push with PIN.
    PushPin,
    /// Push with fingerprint.
    PushFingerprint,
    /// FIDO: a FIDO2 ceremony, or UAF when the user has only a UAF registration.
    Fido,
}

/// A fact's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    /// Yes or no.
    Bool(bool),
    /// A number.
    Num(f64),
    /// Text.
    Text(String),
}

impl Fact {
    fn from_json(v: &Value) -> Option<Fact> {
        match v {
            Value::Bool(b) => Some(Fact::Bool(*b)),
            Value::Number(n) => n.as_f64().map(Fact::Num),
            Value::String(s) => Some(Fact::Text(s.clone())),
            _ => None,
        }
    }
}

/// A rule condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// Every one holds.
    All(Vec<Cond>),
    /// At least one holds.
    Any(Vec<Cond>),
    /// It does not hold.
    Not(Box<Cond>),
    /// Always true.
    Always,
    /// A comparison of a fact.
    Compare {
        /// The fact's name.
        fact: String,
        /// `eq`, `ne`, `gt`, `gte`, `lt`, `lte`, `in`.
        op: String,
        /// What it is compared with.
        value: Value,
    },
}

const OPS: [&str; 7] = ["eq", "ne", "gt", "gte", "lt", "lte", "in"];

impl Cond {
    /// Read a condition; errors name the path at fault.
    pub fn parse(v: &Value, path: &str) -> Result<Cond, CoreError> {
        let bad = |m: &str| CoreError::invalid(path.to_owned(), m.to_owned());
        let obj = v.as_object().ok_or_else(|| bad("a condition is an object"))?;
        if let Some(a) = obj.get("all").or_else(|| obj.get("any")) {
            let list = a.as_array().ok_or_else(|| bad("all/any take a list"))?;
            let parts = list
                .iter()
                .enumerate()
                .map(|(i, c)| Cond::parse(c, &format!("{path}.{i}")))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(if obj.contains_key("all") { Cond::All(parts) } else { Cond::Any(parts) });
        }
        if let Some(n) = obj.get("not") {
            return Ok(Cond::Not(Box::new(Cond::parse(n, &format!("{path}.not"))?)));
        }
        if obj.get("always") == Some(&Value::Bool(true)) && obj.len() == 1 {
            return Ok(Cond::Always);
        }
        let fact = obj.get("fact").and_then(Value::as_str).ok_or_else(|| bad("a comparison names a fact"))?;
        if !FACTS.contains(&fact) {
            return Err(bad(&format!("unknown fact {fact}; known: {}", FACTS.join(", "))));
        }
        let ops: Vec<&String> = obj.keys().filter(|k| *k != "fact").collect();
        let [op] = ops[..] else { return Err(bad("a comparison has exactly one of eq, ne, gt, gte, lt, lte, in")) };
        if !OPS.contains(&op.as_str()) {
            return Err(bad(&format!("unknown comparison {op}")));
        }
        Ok(Cond::Compare { fact: fact.to_owned(), op: op.clone(), value: obj[op.as_str()].clone() })
    }

    /// Whether it holds for `facts` (a comparison with an absent fact is false).
    pub fn holds(&self, facts: &BTreeMap<&'static str, Fact>) -> bool {
        match self {
            Cond::All(c) => c.iter().all(|c| c.holds(facts)),
            Cond::Any(c) => c.iter().any(|c| c.holds(facts)),
            Cond::Not(c) => !c.holds(facts),
            Cond::Always => true,
            Cond::Compare { fact, op, value } => {
                let Some(f) = facts.get(fact.as_str()) else { return false };
                if op == "in" {
                    return value.as_array().is_some_and(|a| a.iter().any(|v| Fact::from_json(v).as_ref() == Some(f)));
                }
                let Some(v) = Fact::from_json(value) else { return false };
                match (f, &v) {
                    (Fact::Num(a), Fact::Num(b)) => match op.as_str() {
                        "eq" => a == b,
                        "ne" => a != b,
                        "gt" => a > b,
                        "gte" => a >= b,
                        "lt" => a < b,
                        "lte" => a <= b,
                        _ => false,
                    },
                    (a, b) => match op.as_str() {
                        "eq" => a == b,
                        "ne" => a != b,
                        _ => false,
                    },
                }
            }
        }
    }
}

/// The facts rules can name.
pub const FACTS: [&str; 13] = [
    "device.fingerprint",
    "device.known",
    "ip.denied",
    "ip.allowed",
    "geo.country",
    "geo.knownCountry",
    "travel.kmh",
    "velocity.userFailures",
    "velocity.ipFailures",
    "time.hour",
    "event.type",
    "event.amount",
    "event.newBeneficiary",
];

/// One rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its ID (reported as the reason).
    pub id: String,
    /// When it applies.
    pub when: Cond,
    /// What it decides.
    pub then: Outcome,
}

/// A tenant's risk settings as given and stored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RiskSettings {
    /// Denied networks (CIDR).
    #[serde(default)]
    pub ip_deny: Vec<String>,
    /// Allowed networks (CIDR).
    #[serde(default)]
    pub ip_allow: Vec<String>,
    /// Rules, tried in order: `{"id", "when", "then"}`.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub rules: Vec<Value>,
}

impl Default for RiskSettings {
    fn default() -> Self {
        let rules = serde_json::json!([
            {"id": "deny-ip", "when": {"fact": "ip.denied", "eq": true}, "then": "decline"},
            {"id": "velocity", "when": {"fact": "velocity.userFailures", "gte": 5}, "then": "lock"},
            {"id": "travel", "when": {"fact": "travel.kmh", "gt": 900}, "then": "decline"},
            {"id": "big-transfer", "when": {"all": [{"fact": "event.type", "eq": "Transaction"},
                                                    {"fact": "event.amount", "gt": 1000}]}, "then": "push"},
            {"id": "known-device", "when": {"fact": "device.known", "eq": true}, "then": "accept"},
            {"id": "new-device", "when": {"always": true}, "then": "static_password"}
        ]);
        RiskSettings { ip_deny: Vec::new(), ip_allow: Vec::new(), rules: rules.as_array().cloned().unwrap_or_default() }
    }
}

impl RiskSettings {
    /// The parsed rules; errors name the field at fault.
    pub fn compile(&self) -> Result<Vec<Rule>, CoreError> {
        for (i, n) in self.ip_deny.iter().enumerate() {
            parse_cidr(n)
                .ok_or_else(|| CoreError::invalid(format!("ipDeny.{i}"), "a CIDR network such as 203.0.113.0/24"))?;
        }
        for (i, n) in self.ip_allow.iter().enumerate() {
            parse_cidr(n)
                .ok_or_else(|| CoreError::invalid(format!("ipAllow.{i}"), "a CIDR network such as 10.0.0.0/8"))?;
        }
        if self.rules.len() > 100 {
            return Err(CoreError::invalid("rules", "at most 100 rules"));
        }
        self.rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let path = format!("rules.{i}");
                let id = r.get("id").and_then(Value::as_str).filter(|s| !s.is_empty() && s.len() <= 64);
                let id = id.ok_or_else(|| CoreError::invalid(format!("{path}.id"), "a rule has an id of 1 to 64 characters"))?;
                let when = Cond::parse(r.get("when").unwrap_or(&Value::Null), &format!("{path}.when"))?;
                let then: Outcome = serde_json::from_value(r.get("then").cloned().unwrap_or(Value::Null))
                    .map_err(|_| CoreError::invalid(format!("{path}.then"), "an outcome: accept, decline, lock, static_password, sms, email, push, push_pin, push_fingerprint, fido"))?;
                Ok(Rule { id: id.to_owned(), when, then })
            })
            .collect()
    }
}

/// What a user's successful logins taught.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// Device fingerprints, most recent last (at most 20).
    #[serde(default)]
    pub devices: Vec<String>,
    /// Countries (at most 50).
    #[serde(default)]
    pub countries: Vec<String>,
    /// The last successful login: time (ms), latitude, longitude.
    #[serde(default)]
    pub last: Option<(i64, f64, f64)>,
}

/// What one login or event brings to the engine.
#[derive(Debug, Clone, Default)]
pub struct RiskInput {
    /// The CDDC document.
    pub cddc: Option<Value>,
    /// The end user's address.
    pub ip: Option<IpAddr>,
    /// Event type, amount, new beneficiary.
    pub event: Option<(String, Option<f64>, Option<bool>)>,
}

/// The engine's decision.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// The outcome.
    pub outcome: Outcome,
    /// The rules (or built-in checks) behind it.
    pub reasons: Vec<String>,
    /// What to learn if the login succeeds: fingerprint, country, place.
    pub learn: Learn,
}

/// What a successful login teaches.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Learn {
    /// The device fingerprint.
    pub fingerprint: Option<String>,
    /// The country.
    pub country: Option<String>,
    /// Latitude and longitude.
    pub place: Option<(f64, f64)>,
}

impl Core {
    /// The tenant's risk settings (its own, else the defaults).
    pub async fn risk_settings(&self, tenant: &Tenant) -> Result<RiskSettings, CoreError> {
        match self.store.risk_rules(&tenant.id).await? {
            Some(doc) => serde_json::from_str(&doc).map_err(|_| CoreError::Internal("damaged risk settings".into())),
            None => Ok(RiskSettings::default()),
        }
    }

    /// Replace the tenant's risk settings (admin API).
    pub async fn set_risk_settings(&self, domain: &str, s: RiskSettings) -> Result<RiskSettings, CoreError> {
        let tenant = self.tenant(domain).await?;
        s.compile()?;
        let doc = serde_json::to_string(&s).map_err(|e| CoreError::Internal(e.to_string()))?;
        self.store.set_risk_rules(&tenant.id, &doc, self.clock.now()).await?;
        Ok(s)
    }

    /// The tenant's risk settings (admin API).
    pub async fn risk_settings_of(&self, domain: &str) -> Result<RiskSettings, CoreError> {
        let tenant = self.tenant(domain).await?;
        self.risk_settings(&tenant).await
    }

    async fn profile(&self, user: &User) -> Result<Profile, CoreError> {
        match self.store.risk_profile(&user.id).await? {
            Some(doc) => Ok(serde_json::from_str(&doc).unwrap_or_default()),
            None => Ok(Profile::default()),
        }
    }

    /// Score a login or event.
    pub async fn assess(&self, tenant: &Tenant, user: &User, input: &RiskInput) -> Result<Assessment, CoreError> {
        let settings = self.risk_settings(tenant).await?;
        let profile = self.profile(user).await?;
        Ok(self.evaluate(tenant, &settings, Some((user, &profile)), input).await?.0)
    }

    /// The facts of `input` and the first of `settings`' rules they satisfy. Only reads:
    /// it counts failures and looks devices up, and records and learns nothing (the
    /// console's "try this input" runs it too). Without a user there is no profile and no
    /// `velocity.userFailures` (a comparison with it is false).
    pub(crate) async fn evaluate(
        &self,
        tenant: &Tenant,
        settings: &RiskSettings,
        user: Option<(&User, &Profile)>,
        input: &RiskInput,
    ) -> Result<(Assessment, BTreeMap<&'static str, Fact>), CoreError> {
        let rules = settings.compile()?;
        let empty = Profile::default();
        let profile = user.map_or(&empty, |(_, p)| p);
        let now = self.clock.now();
        let mut facts: BTreeMap<&'static str, Fact> = BTreeMap::new();
        let mut learn = Learn::default();
        if let Some(cddc) = &input.cddc {
            let fp = fingerprint(cddc)?;
            facts.insert("device.known", Fact::Bool(profile.devices.contains(&fp)));
            facts.insert("device.fingerprint", Fact::Text(fp.clone()));
            learn.fingerprint = Some(fp);
        }
        if let Some(ip) = input.ip {
            let listed = |list: &[String]| list.iter().filter_map(|n| parse_cidr(n)).any(|net| in_cidr(ip, net));
            facts.insert("ip.denied", Fact::Bool(listed(&settings.ip_deny)));
            facts.insert("ip.allowed", Fact::Bool(listed(&settings.ip_allow)));
            if let Ok(place) = self.geo.locate(ip) {
                facts.insert("geo.knownCountry", Fact::Bool(profile.countries.contains(&place.country_code)));
                facts.insert("geo.country", Fact::Text(place.country_code.clone()));
                learn.country = Some(place.country_code.clone());
                if let (Some(lat), Some(lon)) = (place.latitude, place.longitude) {
                    learn.place = Some((lat, lon));
                    if let Some((at, plat, plon)) = profile.last {
                        let hours = ((now.millis() - at) as f64 / 3_600_000.0).max(1.0 / 60.0);
                        facts.insert("travel.kmh", Fact::Num(distance_km((plat, plon), (lat, lon)) / hours));
                    }
                }
            }
            let n =
                self.store.ip_failures_since(&tenant.id, &ip.to_string(), now.plus_millis(-VELOCITY_WINDOW_MS)).await?;
            facts.insert("velocity.ipFailures", Fact::Num(f64::from(n)));
        }
        if let Some((user, _)) = user {
            let n = self.store.user_failures_since(&user.id, now.plus_millis(-VELOCITY_WINDOW_MS)).await?;
            facts.insert("velocity.userFailures", Fact::Num(f64::from(n)));
        }
        facts.insert("time.hour", Fact::Num(((now.millis() / 3_600_000) % 24) as f64));
        if let Some((ty, amount, new_beneficiary)) = &input.event {
            facts.insert("event.type", Fact::Text(ty.clone()));
            if let Some(a) = amount {
                facts.insert("event.amount", Fact::Num(*a));
            }
            if let Some(b) = new_beneficiary {
                facts.insert("event.newBeneficiary", Fact::Bool(*b));
            }
        }
        for r in &rules {
            if r.when.holds(&facts) {
                return Ok((Assessment { outcome: r.then, reasons: vec![r.id.clone()], learn }, facts));
            }
        }
        Ok((Assessment { outcome: Outcome::StaticPassword, reasons: vec!["no-rule".into()], learn }, facts))
    }

    /// Teach the user's profile from a successful login decided at `at`. Teaching the
    /// same twice changes nothing, so a retried learning message is harmless.
    pub(crate) async fn learn(
        &self,
        user_pk: &str,
        tenant_id: &str,
        l: &Learn,
        at: Timestamp,
    ) -> Result<(), CoreError> {
        let mut p: Profile = match self.store.risk_profile(user_pk).await? {
            Some(doc) => serde_json::from_str(&doc).unwrap_or_default(),
            None => Profile::default(),
        };
        if let Some(fp) = &l.fingerprint {
            p.devices.retain(|d| d != fp);
            p.devices.push(fp.clone());
            if p.devices.len() > 20 {
                p.devices.remove(0);
            }
        }
        if let Some(c) = &l.country
            && !p.countries.contains(c)
            && p.countries.len() < 50
        {
            p.countries.push(c.clone());
        }
        if let Some((lat, lon)) = l.place
            && p.last.is_none_or(|(t, _, _)| t <= at.millis())
        {
            p.last = Some((at.millis(), lat, lon));
        }
        let doc = serde_json::to_string(&p).map_err(|e| CoreError::Internal(e.to_string()))?;
        self.store.set_risk_profile(tenant_id, user_pk, &doc, self.clock.now()).await?;
        Ok(())
    }

    /// Remember what to learn when the challenge session `id` is passed.
    pub(crate) async fn learn_later(&self, id: &str, tenant_id: &str, l: &Learn) -> Result<(), CoreError> {
        let doc = serde_json::to_string(l).map_err(|e| CoreError::Internal(e.to_string()))?;
        self.store.insert_risk_pending(id, tenant_id, &doc, self.clock.now()).await?;
        Ok(())
    }

    /// What passing the risk challenge `id` (a session or a FIDO ceremony) teaches, if it
    /// is one. A damaged record teaches nothing (and is logged).
    pub(crate) async fn challenge_learning(&self, id: &str) -> Result<Option<Learn>, CoreError> {
        let Some(doc) = self.store.risk_pending(id).await? else { return Ok(None) };
        match serde_json::from_str::<Learn>(&doc) {
            Ok(l) => Ok(Some(l)),
            Err(e) => {
                tracing::warn!(request = %id, error = %e, "a risk challenge's learning is damaged; nothing is learned");
                Ok(None)
            }
        }
    }

    /// Forget the learning of challenge `id` once it was queued; `false` when there was none.
    pub(crate) async fn forget_challenge(&self, id: &str) -> Result<bool, CoreError> {
        Ok(self.store.take_risk_pending(id).await?.is_some())
    }

    /// The `learn` outbox message (docs/risk.md, "Learning") that teaches `user_pk`'s
    /// profile `l`, as a session decided at `at`: due in [`LEARN_RETRY_MS`] (applied at
    /// once by the ending itself, the worker only retries), dying after a day.
    pub(crate) fn learning_message(
        &self,
        tenant_id: &str,
        user_pk: &str,
        l: &Learn,
        at: Timestamp,
    ) -> Result<OutboxMessage, CoreError> {
        let payload = serde_json::to_string(&LearnPayload { learn: l.clone(), at: at.millis() })
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        let now = self.clock.now();
        let id = crate::random::new_id(&*self.random)?;
        let mut m = OutboxMessage::new(
            id,
            tenant_id,
            OutboxKind::Learn,
            user_pk,
            payload,
            now,
            now.plus_millis(crate::delivery::outbox::CALLBACK_LIFETIME_MS),
        );
        m.next_attempt_at = now.plus_millis(LEARN_RETRY_MS);
        Ok(m)
    }

    /// Apply a `learn` outbox message: teach its user's profile (the delivery worker
    /// calls this for messages the ending could not apply at once).
    pub async fn apply_learning(&self, m: &OutboxMessage) -> Result<(), CoreError> {
        let p: LearnPayload = serde_json::from_str(&m.payload)
            .map_err(|e| CoreError::Internal(format!("damaged learning message: {e}")))?;
        self.learn(&m.target, &m.tenant_id, &p.learn, Timestamp(p.at)).await
    }

    /// Count a failed login for velocity.
    pub(crate) async fn record_risk_failure(&self, tenant: &Tenant, user_pk: &str, ip: Option<IpAddr>) {
        let Ok(id) = crate::random::new_id(&*self.random) else { return };
        let ip = ip.map(|i| i.to_string());
        let _ = self.store.record_failure(&id, &tenant.id, Some(user_pk), ip.as_deref(), self.clock.now()).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use serde_json::json;

    #[test]
    fn cidrs() {
        let net = parse_cidr("203.0.113.0/24").unwrap();
        assert!(in_cidr("203.0.113.77".parse().unwrap(), net));
        assert!(!in_cidr("203.0.114.1".parse().unwrap(), net));
        assert!(in_cidr("2001:db8::5".parse().unwrap(), parse_cidr("2001:db8::/32").unwrap()));
        assert!(in_cidr("1.2.3.4".parse().unwrap(), parse_cidr("0.0.0.0/0").unwrap()));
        assert!(parse_cidr("1.2.3.4/33").is_none() && parse_cidr("nope").is_none());
    }

    #[test]
    fn fingerprints_ignore_order_and_volatile_fields() {
        let a = fingerprint(&json!({"userAgent": "X", "screen": {"w": 1, "h": 2}, "timestamp": 1})).unwrap();
        let b = fingerprint(&json!({"screen": {"h": 2, "w": 1}, "timestamp": 99, "userAgent": "X"})).unwrap();
        let c = fingerprint(&json!({"screen": {"h": 2, "w": 1}, "userAgent": "Y"})).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(fingerprint(&json!([1])).is_err());
    }

    #[test]
    fn conditions_parse_and_hold() {
        let c = Cond::parse(
            &json!({"all": [{"fact": "event.amount", "gt": 100}, {"not": {"fact": "device.known", "eq": true}}]}),
            "w",
        )
        .unwrap();
        let mut f = BTreeMap::new();
        f.insert("event.amount", Fact::Num(150.0));
        f.insert("device.known", Fact::Bool(false));
        assert!(c.holds(&f));
        f.insert("device.known", Fact::Bool(true));
        assert!(!c.holds(&f));
        assert!(
            !Cond::parse(&json!({"fact": "travel.kmh", "gt": 1}), "w").unwrap().holds(&f),
            "absent facts are false"
        );
        assert!(Cond::parse(&json!({"fact": "weather", "eq": 1}), "w").is_err());
        assert!(Cond::parse(&json!({"fact": "time.hour", "gt": 1, "lt": 3}), "w").is_err());
        let inn = Cond::parse(&json!({"fact": "geo.country", "in": ["NL", "BE"]}), "w").unwrap();
        f.insert("geo.country", Fact::Text("BE".into()));
        assert!(inn.holds(&f));
        assert!(RiskSettings::default().compile().is_ok());
    }

    #[test]
    fn distances() {
        let amsterdam = (52.37, 4.90);
        let new_york = (40.71, -74.01);
        let d = distance_km(amsterdam, new_york);
        assert!((5800.0..5900.0).contains(&d), "{d}");
    }
}
