//! The sandbox's sense of time: the real clock plus an offset that tests (and the control API)
//! can move forward, so a five-minute code or a one-hour token expires without waiting.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Default)]
pub struct SandboxClock {
    offset_secs: AtomicI64,
}

impl SandboxClock {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::seconds(self.offset_secs.load(Ordering::Relaxed))
    }

    /// Unix seconds, as the marketplaces that speak in timestamps use them.
    pub fn unix(&self) -> i64 {
        self.now().timestamp()
    }

    /// Moves the clock forward (never back: tokens and codes only ever age).
    pub fn advance(&self, secs: u64) {
        let secs = i64::try_from(secs).unwrap_or(i64::MAX / 2);
        self.offset_secs.fetch_add(secs, Ordering::Relaxed);
    }

    pub fn offset_secs(&self) -> i64 {
        self.offset_secs.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_forward() {
        let clock = SandboxClock::default();
        let before = clock.now();
        clock.advance(301);
        assert!(clock.now() - before >= Duration::seconds(301));
        assert_eq!(clock.offset_secs(), 301);
    }
}
