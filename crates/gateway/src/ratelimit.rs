//! A token bucket per client address: `per_minute` requests a minute on average, bursts up
//! to the same number. Monotonic time ([`tokio::time::Instant`]) so it is unaffected by
//! wall-clock changes; idle addresses are forgotten so the table stays small.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use tokio::time::Instant;

/// Buckets by address.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_minute` = 0: no limit.
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter { per_minute, buckets: Mutex::new(HashMap::new()) }
    }

    /// Take one token for `addr`; `false` when its bucket is empty.
    pub fn allow(&self, addr: IpAddr) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        let cap = f64::from(self.per_minute);
        let rate = cap / 60.0;
        let now = Instant::now();
        let Ok(mut b) = self.buckets.lock() else { return true };
        if b.len() > 100_000 {
            b.retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * rate < cap);
        }
        let (tokens, at) = b.entry(addr).or_insert((cap, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(cap);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_beyond_the_bucket_is_refused_per_address() {
        let l = RateLimiter::new(3);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(l.allow(a) && l.allow(a) && l.allow(a));
        assert!(!l.allow(a));
        assert!(l.allow(b));
        assert!(RateLimiter::new(0).allow(a));
    }
}
