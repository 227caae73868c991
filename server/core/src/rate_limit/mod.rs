//! Rate limits with the generic cell rate algorithm (GCRA): each key has a "theoretical
//! arrival time"; a request is allowed when it does not run more than the burst ahead of the
//! steady rate. One number per key, exact `Retry-After`, no background refills.
//!
//! Counters live in this process's memory by default, or in Redis when `REDIS_URL` is set, so
//! several instances share them. The Redis script uses Redis' own clock, so instances with
//! skewed clocks still agree.

mod gcra;
mod memory;
mod redis_store;

pub use gcra::{Decision, Quota};
pub use memory::MemoryStore;
pub use redis_store::RedisStore;

/// Why a limit could not be checked (Redis unreachable). The caller decides whether to fail
/// open (general request limits) or closed (login throttling).
#[derive(Debug, thiserror::Error)]
#[error("rate limit store unavailable: {0}")]
pub struct RateLimitError(String);

/// Where counters are kept.
#[derive(Clone)]
pub enum RateLimiter {
    Memory(MemoryStore),
    Redis(RedisStore),
}

impl RateLimiter {
    /// In-process counters: right for one instance, wrong for several.
    pub fn memory() -> Self {
        Self::Memory(MemoryStore::default())
    }

    /// Shared counters in Redis; fails when Redis does not answer.
    pub async fn redis(url: &str) -> Result<Self, RateLimitError> {
        Ok(Self::Redis(RedisStore::connect(url).await?))
    }

    /// Counts one request for `key` against `quota`.
    pub async fn check(&self, key: &str, quota: Quota) -> Result<Decision, RateLimitError> {
        match self {
            Self::Memory(store) => Ok(store.check(key, quota)),
            Self::Redis(store) => store.check(key, quota).await,
        }
    }

    /// Which store is in use, for the start-up log.
    pub fn describe(&self) -> &'static str {
        match self {
            Self::Memory(_) => "in-process memory",
            Self::Redis(_) => "Redis",
        }
    }
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RateLimiter({})", self.describe())
    }
}
