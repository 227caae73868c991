//! The GCRA itself, as a pure function of the stored arrival time and now.

use std::time::Duration;

/// `limit` requests per `period`; a client may use the whole `limit` in a burst, after which
/// it gets one request every `period / limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub period: Duration,
}

impl Quota {
    pub fn new(limit: u32, period: Duration) -> Self {
        Self {
            limit: limit.max(1),
            period: period.max(Duration::from_millis(1)),
        }
    }

    /// The time one request "costs", in milliseconds (at least 1).
    pub fn interval_ms(&self) -> u64 {
        (self.period.as_millis() as u64 / u64::from(self.limit)).max(1)
    }
}

/// The answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed { remaining: u32 },
    Limited { retry_after: Duration },
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed { .. })
    }
}

/// Decides a request at `now_ms` given the key's stored theoretical arrival time; returns the
/// decision and, when allowed, the new arrival time to store.
pub fn decide(stored_tat: Option<u64>, now_ms: u64, quota: Quota) -> (Decision, Option<u64>) {
    let interval = quota.interval_ms();
    let burst_window = interval * u64::from(quota.limit);
    let tat = stored_tat.unwrap_or(now_ms).max(now_ms);
    let new_tat = tat + interval;
    let allow_at = new_tat.saturating_sub(burst_window);
    if now_ms < allow_at {
        let retry_after = Duration::from_millis(allow_at - now_ms);
        return (Decision::Limited { retry_after }, None);
    }
    let remaining = ((now_ms - allow_at) / interval).min(u64::from(quota.limit)) as u32;
    (Decision::Allowed { remaining }, Some(new_tat))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_limit_passes_then_the_steady_rate_applies() {
        let quota = Quota::new(3, Duration::from_secs(60)); // one per 20 s
        let mut tat = None;
        let now = 1_000_000;
        for expected_remaining in [2, 1, 0] {
            let (decision, new) = decide(tat, now, quota);
            assert_eq!(
                decision,
                Decision::Allowed {
                    remaining: expected_remaining
                }
            );
            tat = new;
        }
        let (decision, new) = decide(tat, now, quota);
        assert_eq!(
            decision,
            Decision::Limited {
                retry_after: Duration::from_secs(20)
            }
        );
        assert_eq!(new, None, "a refused request costs nothing");

        // 20 s later exactly one more fits.
        let (decision, new) = decide(tat, now + 20_000, quota);
        assert!(decision.is_allowed());
        assert!(!decide(new, now + 20_000, quota).0.is_allowed());
    }

    #[test]
    fn idle_keys_recover_the_full_burst() {
        let quota = Quota::new(5, Duration::from_secs(10));
        let (_, tat) = decide(None, 0, quota);
        let (decision, _) = decide(tat, 3_600_000, quota);
        assert_eq!(decision, Decision::Allowed { remaining: 4 });
    }

    #[test]
    fn degenerate_quotas_are_clamped() {
        let quota = Quota::new(0, Duration::ZERO);
        assert_eq!(quota.limit, 1);
        assert_eq!(quota.interval_ms(), 1);
    }
}
