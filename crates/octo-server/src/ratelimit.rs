//! Token buckets, one per key (a principal, or an address for logins), so one
//! noisy client never spends another's budget.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many requests a key may make at once (`burst`) and how fast the
/// allowance refills (`per_second`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub burst: u32,
    pub per_second: f64,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Keys idle long enough to have refilled completely carry no information and
/// are dropped once the map grows past this size.
const PRUNE_ABOVE: usize = 10_000;

pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`; `Err(wait)` says how long until one is free.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let burst = f64::from(self.limit.burst.max(1));
        let rate = self.limit.per_second.max(f64::MIN_POSITIVE);
        // A poisoned lock only means another thread panicked mid-update of a
        // counter; the counters are still usable.
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            let full_after = burst / rate;
            buckets.retain(|_, b| now.duration_since(b.updated).as_secs_f64() < full_after);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_separate_and_refuse_past_the_burst() {
        let limiter = RateLimiter::new(RateLimit {
            burst: 3,
            per_second: 0.001,
        });
        for _ in 0..3 {
            assert!(limiter.check("noisy").is_ok());
        }
        let wait = limiter
            .check("noisy")
            .expect_err("fourth request must wait");
        assert!(wait > Duration::from_secs(1));
        assert!(
            limiter.check("quiet").is_ok(),
            "another key keeps its own budget"
        );
    }
}
