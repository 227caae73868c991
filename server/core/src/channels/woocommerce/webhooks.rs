//! WooCommerce webhook deliveries (`WC_Webhook::deliver`, CHANNELS.md §2.3): the body is the
//! resource's REST representation, signed as `X-WC-Webhook-Signature` =
//! base64(HMAC-SHA256(raw body, the webhook's secret)). A new webhook first gets a ping: a
//! form body `webhook_id=<id>`, unsigned.
//!
//! WooCommerce has no event id. `X-WC-Webhook-Delivery-ID` is new for every delivery, so it
//! cannot recognise the same change delivered twice. The event id is built from the change
//! itself: `<resource>:<id>:<date_modified_gmt>:<hash of the body>`. The documented dedupe key
//! is the resource id with `date_modified`. The date only has whole seconds, though, so two
//! different changes within one second would look the same; the hash of the body tells them
//! apart. The same state delivered twice (a duplicate, or `order.created` and `order.updated`
//! for one save) is stored once.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::channels::channel::{IncomingWebhook, VerifiedEvent, WebhookError};
use crate::channels::credentials::ConnectionSecrets;

/// The topics ShopMarkets subscribes to: new orders, and every change of an order (status,
/// payment, refund). Stock and prices are ShopMarkets' to set, so `product.*` is not needed
/// (and would echo every write ShopMarkets makes).
pub const TOPICS: [&str; 2] = ["order.created", "order.updated"];

fn header<'a>(incoming: &IncomingWebhook<'a>, name: &str) -> Option<&'a str> {
    incoming
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// The ping's body: exactly `webhook_id=<digits>`.
fn ping_id(body: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(body).ok()?.trim();
    let id = text.strip_prefix("webhook_id=")?;
    (!id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

pub fn verify(
    secrets: &ConnectionSecrets,
    incoming: IncomingWebhook<'_>,
) -> Result<VerifiedEvent, WebhookError> {
    let Some(signature) = header(&incoming, "x-wc-webhook-signature") else {
        // Only the ping comes unsigned; it is answered and not stored.
        return match ping_id(incoming.body) {
            Some(id) => Ok(VerifiedEvent {
                event_id: format!("ping:{id}"),
                topic: "ping".into(),
                ping: true,
            }),
            None => Err(WebhookError::BadSignature),
        };
    };
    let secret = secrets
        .webhook_secret
        .as_deref()
        .ok_or(WebhookError::BadSignature)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(incoming.body);
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    if !bool::from(expected.as_bytes().ct_eq(signature.as_bytes())) {
        return Err(WebhookError::BadSignature);
    }

    let topic = header(&incoming, "x-wc-webhook-topic")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| WebhookError::Malformed("no X-WC-Webhook-Topic".into()))?;
    let resource = header(&incoming, "x-wc-webhook-resource")
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| topic.split('.').next().unwrap_or(topic));
    let body: Value = serde_json::from_slice(incoming.body)
        .map_err(|_| WebhookError::Malformed("the body is not JSON".into()))?;
    let id = match body.get("id") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => {
            return Err(WebhookError::Malformed(
                "the body names no resource id".into(),
            ));
        }
    };
    // A deleted resource arrives as `{id}` alone: its modification time is unknown.
    let modified = body
        .get("date_modified_gmt")
        .and_then(Value::as_str)
        .unwrap_or("-");
    let digest = crate::channels::http::hex(&Sha256::digest(incoming.body));
    Ok(VerifiedEvent {
        event_id: format!("{resource}:{id}:{modified}:{}", &digest[..16]),
        topic: topic.to_owned(),
        ping: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::credentials::Credentials;

    fn secrets() -> ConnectionSecrets {
        ConnectionSecrets {
            credentials: Credentials::ApiKeys {
                key: "ck_x".into(),
                secret: "cs_x".into(),
            },
            webhook_secret: Some("geheim-123".into()),
        }
    }

    fn headers(signature: Option<&str>) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-wc-webhook-topic", "order.created".parse().unwrap());
        headers.insert("x-wc-webhook-resource", "order".parse().unwrap());
        if let Some(signature) = signature {
            headers.insert("x-wc-webhook-signature", signature.parse().unwrap());
        }
        headers
    }

    fn sign(body: &[u8], secret: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        STANDARD.encode(mac.finalize().into_bytes())
    }

    #[test]
    fn signed_delivery_ping_and_forgery() {
        let body = br#"{"id":42,"date_modified_gmt":"2026-03-02T10:00:00","status":"processing"}"#;
        let good = headers(Some(&sign(body, "geheim-123")));
        let incoming = IncomingWebhook {
            url: "https://app.example/webhooks/woo_commerce/x",
            headers: &good,
            body,
        };
        let event = verify(&secrets(), incoming).unwrap();
        assert!(event.event_id.starts_with("order:42:2026-03-02T10:00:00:"));
        assert_eq!(event.topic, "order.created");
        assert!(!event.ping);

        let forged = headers(Some(&sign(body, "other")));
        let incoming = IncomingWebhook {
            headers: &forged,
            ..incoming
        };
        assert_eq!(
            verify(&secrets(), incoming),
            Err(WebhookError::BadSignature)
        );

        let unsigned = headers(None);
        let incoming = IncomingWebhook {
            headers: &unsigned,
            ..incoming
        };
        assert_eq!(
            verify(&secrets(), incoming),
            Err(WebhookError::BadSignature)
        );
        let ping = IncomingWebhook {
            body: b"webhook_id=7",
            ..incoming
        };
        assert!(verify(&secrets(), ping).unwrap().ping);
    }
}
