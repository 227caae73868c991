//! Outgoing notifications (webhooks, push notifications): sent over HTTP with each marketplace's
//! retry schedule, and subject to the delivery faults (drop, duplicate, reorder).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::faults::Faults;

const KEPT: usize = 500;

/// One HTTP request of one attempt. Built per attempt, because some marketplaces put the attempt
/// number into the signed body.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub timeout: Duration,
}

pub type Prepare = Arc<dyn Fn(u32) -> Outgoing + Send + Sync>;

/// Called once when a notification is finished with: delivered, or failed on its last attempt.
pub type OnDone = Box<dyn FnOnce(Outcome) + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Delivered,
    Failed,
    Dropped,
}

/// A notification: what it is (for the log), how to build each attempt, and the waits before
/// the second, third… attempt (empty: one attempt only).
pub struct Notification {
    pub id: String,
    pub topic: String,
    pub prepare: Prepare,
    pub retry_delays: Vec<Duration>,
    pub on_done: Option<OnDone>,
    /// A response in this range counts as accepted.
    pub success: std::ops::RangeInclusive<u16>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRecord {
    pub at: DateTime<Utc>,
    pub id: String,
    pub topic: String,
    pub url: String,
    pub attempt: u32,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// `delivered`, `failed` (will retry or gave up), `dropped` (fault), `duplicate` (fault).
    pub result: &'static str,
}

pub struct Deliverer {
    client: reqwest::Client,
    log: Mutex<VecDeque<DeliveryRecord>>,
    held: Mutex<Vec<Notification>>,
    /// Multiplies every retry wait: 1.0 is the marketplace's real schedule, tests use 0.001.
    retry_scale: Mutex<f64>,
}

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliverer").finish_non_exhaustive()
    }
}

impl Deliverer {
    pub fn new(client: reqwest::Client) -> Self {
        Self {
            client,
            log: Mutex::default(),
            held: Mutex::default(),
            retry_scale: Mutex::new(1.0),
        }
    }

    pub fn set_retry_scale(&self, scale: f64) {
        *self.retry_scale.lock().unwrap_or_else(|p| p.into_inner()) = scale;
    }

    pub fn retry_scale(&self) -> f64 {
        *self.retry_scale.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn log(&self) -> Vec<DeliveryRecord> {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    fn record(&self, record: DeliveryRecord) {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        if log.len() == KEPT {
            log.pop_front();
        }
        log.push_back(record);
    }

    /// Sends a notification in the background, applying the delivery faults.
    pub fn send(self: &Arc<Self>, notification: Notification, faults: &Faults) {
        if faults.roll_drop() {
            let first = (notification.prepare)(1);
            self.record(DeliveryRecord {
                at: Utc::now(),
                id: notification.id.clone(),
                topic: notification.topic.clone(),
                url: first.url,
                attempt: 1,
                status: None,
                error: None,
                result: "dropped",
            });
            if let Some(done) = notification.on_done {
                done(Outcome::Dropped);
            }
            return;
        }
        let duplicate = faults.roll_duplicate();
        if faults.reorder {
            let ready = {
                let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
                held.push(notification);
                if held.len() >= 2 {
                    Some(std::mem::take(&mut *held))
                } else {
                    None
                }
            };
            match ready {
                // Newest first: the pair arrives out of order.
                Some(pair) => {
                    let this = Arc::clone(self);
                    tokio::spawn(async move {
                        for n in pair.into_iter().rev() {
                            this.run(n, false).await;
                        }
                    });
                }
                None => {
                    // A lone held notification goes out after a second if no partner comes.
                    let this = Arc::clone(self);
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        let left: Vec<Notification> = std::mem::take(
                            &mut *this.held.lock().unwrap_or_else(|p| p.into_inner()),
                        );
                        for n in left {
                            this.run(n, false).await;
                        }
                    });
                }
            }
            return;
        }
        let this = Arc::clone(self);
        tokio::spawn(async move { this.run(notification, duplicate).await });
    }

    async fn run(&self, mut notification: Notification, duplicate: bool) {
        let attempts = 1 + notification.retry_delays.len();
        let mut outcome = Outcome::Failed;
        for attempt in 1..=attempts {
            if attempt > 1 {
                let wait =
                    notification.retry_delays[attempt - 2].mul_f64(self.retry_scale().max(0.0));
                tokio::time::sleep(wait).await;
            }
            let attempt = u32::try_from(attempt).unwrap_or(u32::MAX);
            let (ok, status, error, url) = self.attempt(&notification, attempt).await;
            self.record(DeliveryRecord {
                at: Utc::now(),
                id: notification.id.clone(),
                topic: notification.topic.clone(),
                url,
                attempt,
                status,
                error,
                result: if ok { "delivered" } else { "failed" },
            });
            if ok {
                outcome = Outcome::Delivered;
                if duplicate {
                    let (_, status, error, url) = self.attempt(&notification, attempt).await;
                    self.record(DeliveryRecord {
                        at: Utc::now(),
                        id: notification.id.clone(),
                        topic: notification.topic.clone(),
                        url,
                        attempt,
                        status,
                        error,
                        result: "duplicate",
                    });
                }
                break;
            }
        }
        if let Some(done) = notification.on_done.take() {
            done(outcome);
        }
    }

    async fn attempt(
        &self,
        notification: &Notification,
        attempt: u32,
    ) -> (bool, Option<u16>, Option<String>, String) {
        let outgoing = (notification.prepare)(attempt);
        let mut request = self
            .client
            .post(&outgoing.url)
            .timeout(outgoing.timeout)
            .body(outgoing.body);
        for (name, value) in &outgoing.headers {
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                (
                    notification.success.contains(&status),
                    Some(status),
                    None,
                    outgoing.url,
                )
            }
            Err(error) => (false, None, Some(error.to_string()), outgoing.url),
        }
    }
}
