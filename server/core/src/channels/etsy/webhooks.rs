//! Etsy's `order.paid` notifications, signed the Standard-Webhooks way.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac as _};
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use crate::channels::channel::{IncomingWebhook, VerifiedEvent, WebhookError};
use crate::channels::credentials::ConnectionSecrets;

/// Standard Webhooks: deliveries older (or newer) than this are refused (replay protection).
const WEBHOOK_TOLERANCE_SECS: i64 = 5 * 60;

/// The HMAC key of a `whsec_<base64>` secret.
pub(super) fn signing_key(secret: &str) -> Option<Vec<u8>> {
    let key = STANDARD.decode(secret.strip_prefix("whsec_")?).ok()?;
    (key.len() >= 16).then_some(key)
}

fn header<'a>(incoming: &IncomingWebhook<'a>, name: &str) -> Result<&'a str, WebhookError> {
    incoming
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(WebhookError::BadSignature)
}

/// Standard Webhooks: `webhook-signature` is a space-separated list of `v1,<base64>` (Etsy
/// may leave out the `v1,` [U]); the signature is base64(HMAC-SHA256(key, "{id}.{ts}.{body}"))
/// with the key base64-decoded from the `whsec_` secret. Deliveries more than five minutes
/// away from now are refused.
pub(super) fn verify(
    secrets: &ConnectionSecrets,
    incoming: IncomingWebhook<'_>,
    now: DateTime<Utc>,
) -> Result<VerifiedEvent, WebhookError> {
    let key = secrets
        .webhook_secret
        .as_deref()
        .and_then(signing_key)
        .ok_or(WebhookError::BadSignature)?;
    let id = header(&incoming, "webhook-id")?;
    let timestamp = header(&incoming, "webhook-timestamp")?;
    let signatures = header(&incoming, "webhook-signature")?;
    if id.len() > 255 || id.contains('.') {
        return Err(WebhookError::BadSignature);
    }
    let sent: i64 = timestamp.parse().map_err(|_| WebhookError::BadSignature)?;
    if (now.timestamp() - sent).abs() > WEBHOOK_TOLERANCE_SECS {
        return Err(WebhookError::BadSignature);
    }
    let mut mac = <Hmac<Sha256>>::new_from_slice(&key).map_err(|_| WebhookError::BadSignature)?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(incoming.body);
    let expected = mac.finalize().into_bytes();
    let valid = signatures.split(' ').any(|entry| {
        let encoded = match entry.split_once(',') {
            Some(("v1", encoded)) => encoded,
            Some(_) => return false,
            None => entry,
        };
        STANDARD
            .decode(encoded)
            .is_ok_and(|given| given.len() == expected.len() && bool::from(given.ct_eq(&expected)))
    });
    if !valid {
        return Err(WebhookError::BadSignature);
    }
    let body: Value = serde_json::from_slice(incoming.body)
        .map_err(|_| WebhookError::Malformed("the body is not JSON".into()))?;
    let topic = body
        .get("event_type")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| WebhookError::Malformed("no event_type".into()))?;
    Ok(VerifiedEvent {
        event_id: id.to_owned(),
        topic: topic.to_owned(),
        ping: false,
    })
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::channels::credentials::Credentials;

    fn secrets(webhook_secret: &str) -> ConnectionSecrets {
        ConnectionSecrets {
            credentials: Credentials::OAuth {
                access_token: "1.a".into(),
                refresh_token: None,
                access_expires_at: None,
                refresh_expires_at: None,
                previous_refresh_token: None,
            },
            webhook_secret: Some(webhook_secret.into()),
        }
    }

    #[test]
    fn standard_webhooks_reference_example_verifies() {
        // The Standard Webhooks reference example (svix), with a JSON body of ours.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"event_type":"order.paid","shop_id":1}"#;
        let now = Utc::now();
        let ts = now.timestamp().to_string();
        let key = signing_key(secret).unwrap();
        let mut mac = <Hmac<Sha256>>::new_from_slice(&key).unwrap();
        mac.update(format!("msg_1.{ts}.").as_bytes());
        mac.update(body);
        let sig = STANDARD.encode(mac.finalize().into_bytes());
        let mut headers = http::HeaderMap::new();
        headers.insert("webhook-id", "msg_1".parse().unwrap());
        headers.insert("webhook-timestamp", ts.parse().unwrap());
        headers.insert(
            "webhook-signature",
            format!("v1a,xyz v1,{sig}").parse().unwrap(),
        );
        let incoming = IncomingWebhook {
            url: "https://app.example/webhooks/etsy/x",
            headers: &headers,
            body,
        };
        let event = verify(&secrets(secret), incoming, now).unwrap();
        assert_eq!(event.event_id, "msg_1");
        assert_eq!(event.topic, "order.paid");
        // Too old.
        assert_eq!(
            verify(&secrets(secret), incoming, now + Duration::minutes(6)),
            Err(WebhookError::BadSignature)
        );
        // Another secret.
        assert_eq!(
            verify(
                &secrets("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                incoming,
                now
            ),
            Err(WebhookError::BadSignature)
        );
        // A changed body.
        let tampered = IncomingWebhook {
            body: br#"{"event_type":"order.paid","shop_id":2}"#,
            ..incoming
        };
        assert_eq!(
            verify(&secrets(secret), tampered, now),
            Err(WebhookError::BadSignature)
        );
    }
}
