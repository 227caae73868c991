//! Rate limits in memory and in Redis (127.0.0.1:6379 or `TEST_REDIS_URL`). With
//! `REQUIRE_REDIS=1` an unreachable Redis fails; otherwise the Redis tests say SKIPPED.

use std::time::Duration;

use shopmarkets_core::rate_limit::{Decision, Quota, RateLimiter};

async fn redis() -> Option<RateLimiter> {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    match RateLimiter::redis(&url).await {
        Ok(limiter) => Some(limiter),
        Err(e) if std::env::var("REQUIRE_REDIS").is_ok_and(|v| v == "1") => {
            panic!("REQUIRE_REDIS=1 but Redis is unreachable: {e}")
        }
        Err(_) => {
            eprintln!(
                "SKIPPED: Redis unreachable (TEST_REDIS_URL); rate limits tested in memory only"
            );
            None
        }
    }
}

fn unique_key() -> String {
    format!("test:{}", uuid::Uuid::new_v4().simple())
}

async fn a_burst_passes_then_retry_after_is_exact(limiter: RateLimiter) {
    let key = unique_key();
    let quota = Quota::new(3, Duration::from_secs(60));
    for expected in [2, 1, 0] {
        assert_eq!(
            limiter.check(&key, quota).await.unwrap(),
            Decision::Allowed {
                remaining: expected
            }
        );
    }
    match limiter.check(&key, quota).await.unwrap() {
        Decision::Limited { retry_after } => {
            assert!(retry_after <= Duration::from_secs(20), "{retry_after:?}");
            assert!(retry_after >= Duration::from_secs(19), "{retry_after:?}");
        }
        allowed => panic!("the fourth request must be limited, got {allowed:?}"),
    }
    assert!(
        limiter
            .check(&unique_key(), quota)
            .await
            .unwrap()
            .is_allowed(),
        "other keys are unaffected"
    );
}

#[tokio::test]
async fn memory_limits_a_burst() {
    a_burst_passes_then_retry_after_is_exact(RateLimiter::memory()).await;
}

#[tokio::test]
async fn redis_limits_a_burst() {
    if let Some(limiter) = redis().await {
        a_burst_passes_then_retry_after_is_exact(limiter).await;
    }
}

#[tokio::test]
async fn redis_counters_are_shared_between_instances() {
    let (Some(first), Some(second)) = (redis().await, redis().await) else {
        return;
    };
    let key = unique_key();
    let quota = Quota::new(3, Duration::from_secs(60));
    assert!(first.check(&key, quota).await.unwrap().is_allowed());
    assert!(first.check(&key, quota).await.unwrap().is_allowed());
    assert!(second.check(&key, quota).await.unwrap().is_allowed());
    assert!(!second.check(&key, quota).await.unwrap().is_allowed());
    assert!(!first.check(&key, quota).await.unwrap().is_allowed());
}

#[tokio::test]
async fn an_unreachable_redis_is_reported_not_hung_on() {
    let started = std::time::Instant::now();
    let result = RateLimiter::redis("redis://127.0.0.1:1").await;
    assert!(result.is_err());
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(RateLimiter::redis("not a url").await.is_err());
}
