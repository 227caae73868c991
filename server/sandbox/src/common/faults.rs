//! Fault injection: what goes wrong at a real marketplace, on demand. Set at start or at run time
//! through `PUT {sandbox}/_sandbox/faults`; each marketplace renders an injected fault in its own
//! error shape.

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// Probabilities are fractions between 0 and 1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Share of API calls answered with a server error (5xx).
    pub error_rate: f64,
    /// Share of API calls answered as throttled (429 or the marketplace's equivalent), whatever
    /// the rate-limit state.
    pub throttle_rate: f64,
    /// Added to every API call before it is handled.
    pub latency_ms: u64,
    /// Share of notifications that are never delivered.
    pub drop_rate: f64,
    /// Share of notifications delivered twice.
    pub duplicate_rate: f64,
    /// Notifications are held in pairs and delivered newest first.
    pub reorder: bool,
}

/// What a call gets instead of its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    ServerError,
    Throttled,
}

impl Faults {
    pub fn check(&self) -> Result<(), String> {
        for (name, value) in [
            ("error_rate", self.error_rate),
            ("throttle_rate", self.throttle_rate),
            ("drop_rate", self.drop_rate),
            ("duplicate_rate", self.duplicate_rate),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(format!("{name} must be between 0 and 1, got {value}"));
            }
        }
        if self.latency_ms > 60_000 {
            return Err("latency_ms must be at most 60000".into());
        }
        Ok(())
    }

    pub fn latency(&self) -> Option<Duration> {
        (self.latency_ms > 0).then(|| Duration::from_millis(self.latency_ms))
    }

    /// Rolls the dice for one API call.
    pub fn roll_call(&self) -> Option<Injected> {
        let mut rng = rand::rng();
        if self.error_rate > 0.0 && rng.random_bool(self.error_rate) {
            return Some(Injected::ServerError);
        }
        if self.throttle_rate > 0.0 && rng.random_bool(self.throttle_rate) {
            return Some(Injected::Throttled);
        }
        None
    }

    pub fn roll_drop(&self) -> bool {
        self.drop_rate > 0.0 && rand::rng().random_bool(self.drop_rate)
    }

    pub fn roll_duplicate(&self) -> bool {
        self.duplicate_rate > 0.0 && rand::rng().random_bool(self.duplicate_rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certain_faults_always_fire_and_none_never_does() {
        let always = Faults {
            error_rate: 1.0,
            ..Faults::default()
        };
        assert_eq!(always.roll_call(), Some(Injected::ServerError));
        let throttled = Faults {
            throttle_rate: 1.0,
            ..Faults::default()
        };
        assert_eq!(throttled.roll_call(), Some(Injected::Throttled));
        assert_eq!(Faults::default().roll_call(), None);
        assert!(!Faults::default().roll_drop());
    }

    #[test]
    fn out_of_range_rates_are_refused() {
        let bad = Faults {
            drop_rate: 1.5,
            ..Faults::default()
        };
        assert!(bad.check().unwrap_err().contains("drop_rate"));
    }
}
