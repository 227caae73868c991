//! What a connection holds to act at the marketplace. Encrypted at rest (`crypto::Cipher`,
//! bound to the connection's id), decrypted only inside `channels`; `Debug` prints
//! `[redacted]` for every secret, and nothing here is `Serialize`d towards the browser (the
//! wire types in `app` carry no credential field at all).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The credentials of one connection.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Credentials {
    /// OAuth 2.0 tokens (Shopify, Amazon, eBay, Etsy).
    OAuth {
        access_token: String,
        refresh_token: Option<String>,
        access_expires_at: Option<DateTime<Utc>>,
        refresh_expires_at: Option<DateTime<Utc>>,
        /// The refresh token this one replaced, kept until the new one has been used once:
        /// if the process dies between the marketplace's answer and the save, the connection
        /// still holds a token the marketplace may accept (Shopify keeps the previous refresh
        /// token valid until the new one is used).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous_refresh_token: Option<String>,
    },
    /// A key pair the merchant's store or seller account issued (WooCommerce consumer key and
    /// secret, Kaufland client key and secret key).
    ApiKeys { key: String, secret: String },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OAuth {
                access_expires_at,
                refresh_expires_at,
                refresh_token,
                ..
            } => f
                .debug_struct("OAuth")
                .field("access_token", &"[redacted]")
                .field(
                    "refresh_token",
                    &refresh_token.as_ref().map(|_| "[redacted]"),
                )
                .field("access_expires_at", access_expires_at)
                .field("refresh_expires_at", refresh_expires_at)
                .finish_non_exhaustive(),
            Self::ApiKeys { .. } => f
                .debug_struct("ApiKeys")
                .field("key", &"[redacted]")
                .field("secret", &"[redacted]")
                .finish(),
        }
    }
}

impl Credentials {
    pub fn access_expires_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::OAuth {
                access_expires_at, ..
            } => *access_expires_at,
            Self::ApiKeys { .. } => None,
        }
    }

    pub fn access_token(&self) -> Option<&str> {
        match self {
            Self::OAuth { access_token, .. } => Some(access_token),
            Self::ApiKeys { .. } => None,
        }
    }

    pub fn refresh_token(&self) -> Option<&str> {
        match self {
            Self::OAuth { refresh_token, .. } => refresh_token.as_deref(),
            Self::ApiKeys { .. } => None,
        }
    }
}

/// Everything secret about one connection, encrypted as one value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionSecrets {
    pub credentials: Credentials,
    /// The secret our notification endpoint checks signatures with, where the marketplace
    /// lets the app choose it (WooCommerce, eBay's verification token, Etsy's `whsec_`); for
    /// Shopify and Kaufland the app secret or the seller's secret key is used instead.
    pub webhook_secret: Option<String>,
}

impl std::fmt::Debug for ConnectionSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionSecrets")
            .field("credentials", &self.credentials)
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_secret() {
        let oauth = ConnectionSecrets {
            credentials: Credentials::OAuth {
                access_token: "canary-access-51c".into(),
                refresh_token: Some("canary-refresh-88a".into()),
                access_expires_at: None,
                refresh_expires_at: None,
                previous_refresh_token: Some("canary-previous-0f3".into()),
            },
            webhook_secret: Some("canary-webhook-7d2".into()),
        };
        let keys = Credentials::ApiKeys {
            key: "canary-key-3b9".into(),
            secret: "canary-secret-e41".into(),
        };
        let printed = format!("{oauth:?} {keys:?} {:#?}", oauth);
        for canary in ["51c", "88a", "0f3", "7d2", "3b9", "e41"] {
            assert!(!printed.contains(canary), "{printed}");
        }
        assert!(printed.contains("[redacted]"));
    }
}
