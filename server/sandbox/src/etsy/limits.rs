//! The gate in front of `/v3/application/…`: injected faults, the `x-api-key` check and Etsy's
//! two rate limits, QPS (per second) and QPD (per day, a sliding 24-hour window made of hourly
//! buckets), both counted per API key. Every answer carries `x-limit-per-second`,
//! `x-remaining-this-second`, `x-limit-per-day` and `x-remaining-today`; over a limit the call
//! gets 429 with `retry-after`.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::{Etsy, error};
use crate::common::faults::Injected;
use crate::common::limits::TokenBucket;
use crate::common::sign::constant_time_eq;

/// [S/U] Etsy no longer publishes fixed defaults; 10 QPS / 10,000 QPD are the values seen on
/// apps with standard access. Tests scale them down through `PUT {base}/_sandbox/limits`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    pub enabled: bool,
    pub per_second: u32,
    pub per_day: u64,
}

impl LimitSettings {
    pub fn defaults(enabled: bool) -> Self {
        Self {
            enabled,
            per_second: 10,
            per_day: 10_000,
        }
    }

    /// These settings with the fields of `change` applied, validated.
    pub fn merged(&self, change: serde_json::Value) -> Result<Self, String> {
        let serde_json::Value::Object(change) = change else {
            return Err("limits must be a JSON object".into());
        };
        let mut current = serde_json::to_value(self).map_err(|e| e.to_string())?;
        if let Some(map) = current.as_object_mut() {
            map.extend(change);
        }
        let merged: Self = serde_json::from_value(current).map_err(|e| e.to_string())?;
        if merged.per_second == 0 || merged.per_second > 10_000 {
            return Err("per_second must be between 1 and 10000".into());
        }
        if merged.per_day == 0 || merged.per_day > 100_000_000 {
            return Err("per_day must be between 1 and 100000000".into());
        }
        Ok(merged)
    }
}

/// Calls in the last 24 hours, in hourly buckets, measured on the sandbox clock.
#[derive(Debug, Default)]
struct SlidingDay {
    /// (hour since the epoch, calls in it), oldest first.
    hours: VecDeque<(i64, u64)>,
}

impl SlidingDay {
    fn trim(&mut self, now: i64) {
        let hour = now.div_euclid(3600);
        while self.hours.front().is_some_and(|(h, _)| *h <= hour - 24) {
            self.hours.pop_front();
        }
    }

    fn used(&self) -> u64 {
        self.hours.iter().map(|(_, n)| n).sum()
    }

    fn take(&mut self, now: i64) {
        let hour = now.div_euclid(3600);
        match self.hours.back_mut() {
            Some((h, n)) if *h == hour => *n += 1,
            _ => self.hours.push_back((hour, 1)),
        }
    }

    /// Seconds until the oldest bucket leaves the window.
    fn retry_after(&self, now: i64) -> i64 {
        self.hours
            .front()
            .map_or(1, |(h, _)| ((h + 24) * 3600 - now).max(1))
    }
}

#[derive(Debug)]
struct KeyLimits {
    second: TokenBucket,
    day: SlidingDay,
}

/// The in-memory counters per API key (not part of the snapshot).
#[derive(Debug)]
pub struct Limiter {
    settings: LimitSettings,
    keys: HashMap<String, KeyLimits>,
}

/// What one call is told about the limits.
struct Verdict {
    allowed: bool,
    remaining_second: u64,
    remaining_day: u64,
    retry_after: i64,
}

impl Limiter {
    pub fn new(settings: LimitSettings) -> Self {
        Self {
            settings,
            keys: HashMap::new(),
        }
    }

    pub fn settings(&self) -> &LimitSettings {
        &self.settings
    }

    pub fn apply(&mut self, settings: LimitSettings) {
        let per_second = f64::from(settings.per_second);
        // New settings start a fresh second; the day keeps what it counted.
        for limits in self.keys.values_mut() {
            limits.second = TokenBucket::new(per_second, per_second);
        }
        self.settings = settings;
    }

    fn check(&mut self, key: &str, now: i64) -> Verdict {
        let per_second = f64::from(self.settings.per_second);
        let per_day = self.settings.per_day;
        if !self.keys.contains_key(key) {
            self.keys.insert(
                key.to_owned(),
                KeyLimits {
                    second: TokenBucket::new(per_second, per_second),
                    day: SlidingDay::default(),
                },
            );
        }
        let Some(limits) = self.keys.get_mut(key) else {
            return Verdict {
                allowed: true,
                remaining_second: 0,
                remaining_day: 0,
                retry_after: 0,
            };
        };
        limits.day.trim(now);
        if limits.day.used() >= per_day {
            return Verdict {
                allowed: false,
                remaining_second: limits.second.available().floor() as u64,
                remaining_day: 0,
                retry_after: limits.day.retry_after(now),
            };
        }
        if !limits.second.try_take(1.0) {
            let wait = limits.second.wait_for(1.0).ceil().max(1.0) as i64;
            return Verdict {
                allowed: false,
                remaining_second: 0,
                remaining_day: per_day.saturating_sub(limits.day.used()),
                retry_after: wait,
            };
        }
        limits.day.take(now);
        Verdict {
            allowed: true,
            remaining_second: limits.second.available().floor() as u64,
            remaining_day: per_day.saturating_sub(limits.day.used()),
            retry_after: 0,
        }
    }
}

fn put_header(headers: &mut HeaderMap, name: &'static str, value: impl ToString) {
    if let Ok(value) = HeaderValue::from_str(&value.to_string()) {
        headers.insert(name, value);
    }
}

/// Checks `x-api-key` against the registered app. Etsy's answers (status and text) as reported
/// since the shared secret became mandatory on 2026-02-09.
pub fn check_api_key(etsy: &Etsy, headers: &HeaderMap) -> Result<String, Response> {
    let Some(value) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) else {
        // [U] The exact text for a missing header is not documented.
        return Err(error(StatusCode::FORBIDDEN, "Missing x-api-key header."));
    };
    let app = etsy.app();
    let require_secret = etsy.st().options.require_shared_secret;
    let (keystring, secret) = match value.split_once(':') {
        Some((k, s)) => (k, Some(s)),
        None => (value, None),
    };
    if !constant_time_eq(keystring, &app.client_id) || keystring.is_empty() {
        return Err(error(StatusCode::FORBIDDEN, "Invalid API key"));
    }
    match secret {
        None if require_secret => Err(error(
            StatusCode::FORBIDDEN,
            "Shared secret is required in x-api-key header.",
        )),
        None => Ok(keystring.to_owned()),
        Some(secret) if constant_time_eq(secret, &app.client_secret) => Ok(keystring.to_owned()),
        Some(_) => Err(error(
            StatusCode::FORBIDDEN,
            "Invalid API key: should be in the format 'keystring:shared_secret'.",
        )),
    }
}

/// Middleware for every `/v3/application` route.
pub async fn gate(State(etsy): State<Arc<Etsy>>, request: Request, next: Next) -> Response {
    let injected = etsy.context.controls.before_call().await;
    if injected == Some(Injected::ServerError) {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "Server Error");
    }
    let key = match check_api_key(&etsy, request.headers()) {
        Ok(key) => key,
        Err(response) => return response,
    };
    let (settings, verdict) = {
        let mut limiter = etsy.limiter.lock().unwrap_or_else(|p| p.into_inner());
        let settings = limiter.settings.clone();
        if !settings.enabled {
            (settings, None)
        } else {
            let verdict = limiter.check(&key, etsy.now());
            (settings, Some(verdict))
        }
    };
    let throttled = injected == Some(Injected::Throttled);
    let mut response = match &verdict {
        Some(v) if !v.allowed => {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                if v.remaining_day == 0 {
                    "You have exceeded your quota of requests per day."
                } else {
                    "You have exceeded your quota of requests per second."
                },
            );
            put_header(r.headers_mut(), "retry-after", v.retry_after);
            r
        }
        _ if throttled => {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "You have exceeded your quota of requests per second.",
            );
            put_header(r.headers_mut(), "retry-after", 1);
            r
        }
        _ => next.run(request).await,
    };
    if let Some(v) = verdict {
        let headers = response.headers_mut();
        put_header(headers, "x-limit-per-second", settings.per_second);
        put_header(
            headers,
            "x-remaining-this-second",
            if throttled { 0 } else { v.remaining_second },
        );
        put_header(headers, "x-limit-per-day", settings.per_day);
        put_header(headers, "x-remaining-today", v.remaining_day);
    }
    response
}
