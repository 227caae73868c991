//! Counters in Redis, shared by every instance. One Lua script per check keeps the read and
//! the write atomic; keys expire on their own once they can no longer limit anyone.

use std::time::Duration;

use redis::{Script, aio::ConnectionManager};

use super::{
    RateLimitError,
    gcra::{Decision, Quota},
};

const KEY_PREFIX: &str = "sm:rl:";

/// The GCRA of `gcra.rs`, on Redis' clock (milliseconds from `TIME`).
const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - interval * limit
if now < allow_at then
  return {0, allow_at - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now)
return {1, math.min(math.floor((now - allow_at) / interval), limit)}
";

#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    script: Script,
}

impl RedisStore {
    pub async fn connect(url: &str) -> Result<Self, RateLimitError> {
        let client = redis::Client::open(url).map_err(|e| RateLimitError(e.to_string()))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1);
        let connection = tokio::time::timeout(
            Duration::from_secs(5),
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| RateLimitError("Redis did not answer within 5 s".into()))?
        .map_err(|e| RateLimitError(e.to_string()))?;
        Ok(Self {
            connection,
            script: Script::new(SCRIPT),
        })
    }

    pub async fn check(&self, key: &str, quota: Quota) -> Result<Decision, RateLimitError> {
        let mut connection = self.connection.clone();
        let (allowed, value): (i64, i64) = self
            .script
            .key(format!("{KEY_PREFIX}{key}"))
            .arg(quota.interval_ms())
            .arg(quota.limit)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| RateLimitError(e.to_string()))?;
        Ok(if allowed == 1 {
            Decision::Allowed {
                remaining: value.max(0) as u32,
            }
        } else {
            Decision::Limited {
                retry_after: Duration::from_millis(value.max(0) as u64),
            }
        })
    }
}
