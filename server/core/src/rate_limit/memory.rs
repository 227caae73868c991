//! Counters in this process's memory. Stale keys are swept as the map grows, so memory stays
//! bounded by the number of clients active within one period.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{SystemTime, UNIX_EPOCH},
};

use super::gcra::{Decision, Quota, decide};

const SWEEP_EVERY: usize = 4096;

#[derive(Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    tats: HashMap<String, u64>,
    inserts_since_sweep: usize,
}

impl MemoryStore {
    pub fn check(&self, key: &str, quota: Quota) -> Decision {
        self.check_at(key, quota, now_ms())
    }

    /// The same as [`check`](Self::check) at a given time, for tests.
    pub fn check_at(&self, key: &str, quota: Quota, now_ms: u64) -> Decision {
        // A poisoned lock only means another request panicked mid-update; the map is still
        // a valid map of numbers.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (decision, new_tat) = decide(state.tats.get(key).copied(), now_ms, quota);
        if let Some(tat) = new_tat {
            if state.tats.insert(key.to_owned(), tat).is_none() {
                state.inserts_since_sweep += 1;
            }
            if state.inserts_since_sweep >= SWEEP_EVERY {
                state.tats.retain(|_, tat| *tat > now_ms);
                state.inserts_since_sweep = 0;
            }
        }
        decision
    }

    /// How many keys are tracked.
    pub fn len(&self) -> usize {
        self.state.lock().map(|s| s.tats.len()).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn keys_are_counted_apart() {
        let store = MemoryStore::default();
        let quota = Quota::new(1, Duration::from_secs(60));
        assert!(store.check_at("ip:192.0.2.1", quota, 1000).is_allowed());
        assert!(!store.check_at("ip:192.0.2.1", quota, 1000).is_allowed());
        assert!(store.check_at("ip:192.0.2.2", quota, 1000).is_allowed());
    }

    #[test]
    fn stale_keys_are_swept() {
        let store = MemoryStore::default();
        let quota = Quota::new(10, Duration::from_secs(1));
        for i in 0..SWEEP_EVERY - 1 {
            store.check_at(&format!("k{i}"), quota, 0);
        }
        assert_eq!(store.len(), SWEEP_EVERY - 1);
        // Ten seconds later none of them can limit anyone any more.
        store.check_at("late", quota, 10_000);
        assert_eq!(store.len(), 1, "stale keys are swept");
    }
}
