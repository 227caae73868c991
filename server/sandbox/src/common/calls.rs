//! Every API call a sandbox received, newest last, for tests and the state endpoint.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Controls;

const KEPT: usize = 500;

#[derive(Debug, Clone, Serialize)]
pub struct CallRecord {
    pub at: DateTime<Utc>,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub millis: u64,
}

#[derive(Debug, Default)]
pub struct CallLog {
    recent: Mutex<VecDeque<CallRecord>>,
    total: AtomicU64,
}

impl CallLog {
    pub fn push(&self, record: CallRecord) {
        self.total.fetch_add(1, Ordering::Relaxed);
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() == KEPT {
            recent.pop_front();
        }
        recent.push_back(record);
    }

    pub fn recent(&self) -> Vec<CallRecord> {
        self.recent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    pub fn clear(&self) {
        self.recent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// Middleware: records the call (the sandbox's own control routes are not recorded).
pub async fn record(
    State(controls): State<std::sync::Arc<Controls>>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |pq| pq.as_str().to_owned(),
    );
    let started = Instant::now();
    let response = next.run(request).await;
    if !path.contains("/_sandbox") {
        controls.calls.push(CallRecord {
            at: controls.clock.now(),
            method,
            path,
            status: response.status().as_u16(),
            millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
    }
    response
}
