//! The shapes of marketplace rate limits: token buckets (Amazon per operation, Shopify's cost
//! points, Etsy per second, Kaufland per second) and rolling daily quotas (eBay, Etsy).

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// A bucket of `capacity` tokens refilled at `rate` per second.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(capacity: f64, rate: f64) -> Self {
        Self {
            capacity,
            rate,
            tokens: capacity,
            last: Instant::now(),
        }
    }

    /// Changes the shape; the bucket keeps what it holds, up to the new capacity.
    pub fn reshape(&mut self, capacity: f64, rate: f64) {
        self.refill();
        self.capacity = capacity;
        self.rate = rate;
        self.tokens = self.tokens.min(capacity);
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.last = now;
    }

    /// Takes `cost` tokens if the bucket holds them.
    pub fn try_take(&mut self, cost: f64) -> bool {
        self.refill();
        if self.tokens >= cost {
            self.tokens -= cost;
            true
        } else {
            false
        }
    }

    pub fn available(&mut self) -> f64 {
        self.refill();
        self.tokens
    }

    pub fn capacity(&self) -> f64 {
        self.capacity
    }

    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Seconds until `cost` tokens are there.
    pub fn wait_for(&mut self, cost: f64) -> f64 {
        self.refill();
        if self.tokens >= cost || self.rate <= 0.0 {
            0.0
        } else {
            (cost - self.tokens) / self.rate
        }
    }
}

/// Calls per rolling day: the window starts with the first call and resets 24 hours later
/// (sandbox time, so tests move the clock instead of waiting).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DailyQuota {
    pub limit: u64,
    pub used: u64,
    pub window_start: Option<DateTime<Utc>>,
}

impl DailyQuota {
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            used: 0,
            window_start: None,
        }
    }

    fn roll(&mut self, now: DateTime<Utc>) {
        if let Some(start) = self.window_start
            && now - start >= Duration::days(1)
        {
            self.window_start = None;
            self.used = 0;
        }
    }

    /// Counts one call if the quota allows it.
    pub fn try_take(&mut self, now: DateTime<Utc>) -> bool {
        self.roll(now);
        if self.used >= self.limit {
            return false;
        }
        self.window_start.get_or_insert(now);
        self.used += 1;
        true
    }

    pub fn remaining(&mut self, now: DateTime<Utc>) -> u64 {
        self.roll(now);
        self.limit.saturating_sub(self.used)
    }

    /// When the window resets (now, if no call has been counted yet).
    pub fn reset_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.window_start
            .map_or(now, |start| start + Duration::days(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refuses_when_empty_and_refills_over_time() {
        let mut bucket = TokenBucket::new(2.0, 1000.0);
        assert!(bucket.try_take(1.0));
        assert!(bucket.try_take(1.0));
        let mut slow = TokenBucket::new(1.0, 0.001);
        assert!(slow.try_take(1.0));
        assert!(!slow.try_take(1.0));
        assert!(slow.wait_for(1.0) > 100.0);
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(
            bucket.try_take(2.0),
            "a fast bucket refills within milliseconds"
        );
    }

    #[test]
    fn daily_quota_resets_a_day_after_the_first_call() {
        let start = Utc::now();
        let mut quota = DailyQuota::new(2);
        assert!(quota.try_take(start));
        assert!(quota.try_take(start + Duration::hours(1)));
        assert!(!quota.try_take(start + Duration::hours(23)));
        assert_eq!(quota.remaining(start + Duration::hours(23)), 0);
        assert!(quota.try_take(start + Duration::hours(24)));
        assert_eq!(quota.remaining(start + Duration::hours(24)), 1);
    }
}
