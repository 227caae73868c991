//! Webhook deliveries as `WC_Webhook::deliver` makes them: the REST representation as the
//! body, `X-WC-Webhook-*` headers, a base64 HMAC-SHA256 signature with the webhook's secret,
//! one attempt only (WooCommerce does not retry), and the webhook disabled after more than five
//! consecutive failures.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::WooCommerce;
use super::model::Webhook;
use crate::common::deliveries::{Notification, Outcome, Outgoing};
use crate::common::sign::hmac_sha256_base64;
use crate::common::tokens::random_hex;

pub(super) const USER_AGENT: &str = "WooCommerce/9.8.5 Hookshot (WordPress/6.8.1)";

/// `woocommerce_max_webhook_delivery_failures`.
const MAX_FAILURES: u32 = 5;

pub(super) fn send_all(
    wc: &WooCommerce,
    store: &str,
    hooks: Vec<Webhook>,
    topic: &str,
    payload: &Value,
) {
    let source = format!("{}/", wc.store_url(store));
    let body = Arc::new(payload.to_string().into_bytes());
    for hook in hooks {
        if topic == "ping" {
            if !wc.options().ping_on_create {
                continue;
            }
            // The ping: a form body, no signature, and its result changes nothing.
            let url = hook.delivery_url.clone();
            let ping = format!("webhook_id={}", hook.id).into_bytes();
            wc.context.controls.notify(Notification {
                id: format!("ping-{}", hook.id),
                topic: "ping".into(),
                prepare: Arc::new(move |_| Outgoing {
                    url: url.clone(),
                    headers: vec![
                        ("user-agent".into(), USER_AGENT.into()),
                        (
                            "content-type".into(),
                            "application/x-www-form-urlencoded".into(),
                        ),
                    ],
                    body: ping.clone(),
                    timeout: Duration::from_secs(60),
                }),
                retry_delays: Vec::new(),
                on_done: None,
                success: 200..=302,
            });
            continue;
        }
        let (resource, event) = topic.split_once('.').unwrap_or((topic, ""));
        let delivery_id = random_hex(16);
        let signature = hmac_sha256_base64(hook.secret.as_bytes(), &body);
        let headers = vec![
            ("user-agent".to_owned(), USER_AGENT.to_owned()),
            ("content-type".to_owned(), "application/json".to_owned()),
            ("x-wc-webhook-source".to_owned(), source.clone()),
            ("x-wc-webhook-topic".to_owned(), topic.to_owned()),
            ("x-wc-webhook-resource".to_owned(), resource.to_owned()),
            ("x-wc-webhook-event".to_owned(), event.to_owned()),
            ("x-wc-webhook-signature".to_owned(), signature),
            ("x-wc-webhook-id".to_owned(), hook.id.to_string()),
            ("x-wc-webhook-delivery-id".to_owned(), delivery_id.clone()),
        ];
        let url = hook.delivery_url.clone();
        let body = Arc::clone(&body);
        let state = Arc::clone(&wc.state);
        let (store_name, hook_id) = (store.to_owned(), hook.id);
        wc.context.controls.notify(Notification {
            id: delivery_id,
            topic: topic.to_owned(),
            prepare: Arc::new(move |_| Outgoing {
                url: url.clone(),
                headers: headers.clone(),
                body: body.to_vec(),
                timeout: Duration::from_secs(60),
            }),
            retry_delays: Vec::new(),
            on_done: Some(Box::new(move |outcome| {
                let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
                let Some(hook) = state
                    .stores
                    .get_mut(&store_name)
                    .and_then(|s| s.webhooks.get_mut(&hook_id))
                else {
                    return;
                };
                match outcome {
                    Outcome::Delivered => hook.failure_count = 0,
                    Outcome::Failed => {
                        hook.failure_count += 1;
                        if hook.failure_count > MAX_FAILURES {
                            hook.status = "disabled".into();
                        }
                    }
                    Outcome::Dropped => {}
                }
            })),
            success: 200..=302,
        });
    }
}
