//! Shopify's signatures: the hex query HMAC of the install callback and the base64 body HMAC
//! of notifications, both HMAC-SHA256 with the app's client secret.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// The message of the callback's query HMAC: every parameter but `hmac` and `signature`,
/// sorted by key, form-encoded as the SDK's URLSearchParams does (spaces as `%20`), joined
/// with `&`.
pub fn callback_message(query: &BTreeMap<String, String>) -> String {
    let mut url = reqwest::Url::parse("http://localhost/").expect("static URL");
    {
        let mut pairs = url.query_pairs_mut();
        for (key, value) in query {
            if key != "hmac" && key != "signature" {
                pairs.append_pair(key, value);
            }
        }
    }
    url.query().unwrap_or("").replace('+', "%20")
}

/// The lowercase hex HMAC-SHA256 Shopify puts into the callback's `hmac`.
pub fn callback_hmac(query: &BTreeMap<String, String>, client_secret: &str) -> String {
    crate::channels::http::hex(&hmac_sha256(
        client_secret.as_bytes(),
        callback_message(query).as_bytes(),
    ))
}

/// Whether `signature` (the `X-Shopify-Hmac-Sha256` header) is the base64 HMAC-SHA256 of the
/// raw body, compared in constant time.
pub(super) fn body_signature_ok(client_secret: &str, body: &[u8], signature: &str) -> bool {
    let Ok(received) = STANDARD.decode(signature) else {
        return false;
    };
    let expected = hmac_sha256(client_secret.as_bytes(), body);
    bool::from(expected.as_slice().ct_eq(received.as_slice()))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn the_callback_message_is_sorted_encoded_and_skips_the_signature() {
        let query = BTreeMap::from([
            ("shop".to_owned(), "a.myshopify.com".to_owned()),
            ("code".to_owned(), "x y".to_owned()),
            ("hmac".to_owned(), "ignored".to_owned()),
            ("host".to_owned(), "YQ==".to_owned()),
        ]);
        assert_eq!(
            callback_message(&query),
            "code=x%20y&host=YQ%3D%3D&shop=a.myshopify.com"
        );
    }

    #[test]
    fn the_documented_webhook_signature_checks_out() {
        // Known answer: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
        let mac = hmac_sha256(b"key", b"The quick brown fox jumps over the lazy dog");
        assert_eq!(
            crate::channels::http::hex(&mac),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn body_signatures_are_base64_and_exact() {
        let signature = STANDARD.encode(hmac_sha256(b"secret", b"{}"));
        assert!(body_signature_ok("secret", b"{}", &signature));
        assert!(!body_signature_ok("secret", b"{ }", &signature));
        assert!(!body_signature_ok("other", b"{}", &signature));
        assert!(!body_signature_ok("secret", b"{}", "not base64!"));
        assert!(!body_signature_ok("secret", b"{}", ""));
    }
}
