//! Access tokens for the REST API: short-lived JWTs (HS256) that an API key is exchanged for.
//!
//! A token is signed with the newest key of `SIGNING_KEYS` and names it in its `kid` header.
//! Verification looks the `kid` up in the current list, so keys rotate without downtime: put a
//! new key first (new tokens are signed with it, tokens signed with the old key still verify),
//! and remove the old key once its last tokens have expired (15 minutes later). A token whose
//! `kid` is missing or no longer listed is refused.
//!
//! Validation is strict: the algorithm is pinned to HS256 (`none` and every other algorithm are
//! refused before any key is used), `typ` must be `at+jwt`, `aud` must be exactly
//! [`AUDIENCE`] and `iss` exactly the app's origin (single strings, no arrays), and `exp`, `nbf`,
//! `iat`, `sub`, `org`, `scope` and `jti` must all be present.
//!
//! Time is passed in (`now`) rather than read from the system clock, so expiry is testable
//! without sleeping: `jsonwebtoken`'s own `exp`/`nbf` checks (which read the system clock) are
//! switched off and the same checks are made here against `now`, with [`LEEWAY_SECS`] of
//! tolerance for clock skew between machines.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{access::ApiScope, config::KeyList, secret::Secret};

/// The `aud` of every access token.
pub const AUDIENCE: &str = "shopmarkets-api";
/// The `typ` header of access tokens (RFC 9068), so no other JWT passes for one.
pub const TOKEN_TYPE: &str = "at+jwt";
/// How long an access token is valid.
pub const TOKEN_LIFETIME_SECS: i64 = 15 * 60;
/// Tolerated clock skew when checking `exp`, `nbf` and `iat`.
pub const LEEWAY_SECS: i64 = 30;
/// Longer strings are not tokens we issued; refused before any parsing.
const MAX_TOKEN_LEN: usize = 4096;

/// The claims as they travel. Typed strictly: an `aud` or `iss` array, a non-UUID `sub` or a
/// missing claim fails to deserialize and the token is refused.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    /// The API key the token was issued for.
    sub: Uuid,
    /// The key's organization.
    org: Uuid,
    /// Space-separated scope codes, a subset of the key's.
    scope: String,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: Uuid,
}

/// A freshly signed token, handed to the client once.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: Secret<String>,
    pub scopes: BTreeSet<ApiScope>,
    /// Seconds until the token expires ([`TOKEN_LIFETIME_SECS`]).
    pub expires_in: u64,
    pub expires_at: DateTime<Utc>,
}

/// What a verified token says. Holding one proves only that we signed it; the API key it names
/// must still be checked against the database (`api_keys::scope_for_token`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub key_id: Uuid,
    pub organization_id: Uuid,
    pub scopes: BTreeSet<ApiScope>,
    pub token_id: Uuid,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Why a token was refused (or could not be made). Clients get one answer for all of them;
/// the cases are for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the token is malformed, has a bad signature or wrong claims")]
    Invalid,
    #[error("the token names no current signing key")]
    UnknownKey,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token could not be signed")]
    Signing,
}

/// Signs an access token for an API key with the newest signing key.
pub fn issue(
    keys: &KeyList,
    issuer: &str,
    key_id: Uuid,
    organization_id: Uuid,
    scopes: &BTreeSet<ApiScope>,
    now: DateTime<Utc>,
) -> Result<IssuedToken, JwtError> {
    if scopes.is_empty() {
        return Err(JwtError::Signing);
    }
    let signing_key = keys.current();
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some(TOKEN_TYPE.to_owned());
    header.kid = Some(signing_key.id().to_owned());
    let issued_at = now.timestamp();
    let claims = Claims {
        iss: issuer.to_owned(),
        aud: AUDIENCE.to_owned(),
        sub: key_id,
        org: organization_id,
        scope: ApiScope::format_list(scopes),
        iat: issued_at,
        nbf: issued_at,
        exp: issued_at + TOKEN_LIFETIME_SECS,
        jti: Uuid::new_v4(),
    };
    let encoding_key =
        EncodingKey::from_secret(signing_key.material()).map_err(|_| JwtError::Signing)?;
    let token =
        jsonwebtoken::encode(&header, &claims, &encoding_key).map_err(|_| JwtError::Signing)?;
    Ok(IssuedToken {
        token: Secret::new(token),
        scopes: scopes.clone(),
        expires_in: TOKEN_LIFETIME_SECS as u64,
        expires_at: DateTime::from_timestamp(claims.exp, 0).ok_or(JwtError::Signing)?,
    })
}

/// Verifies a token's signature and claims as of `now`. See the module documentation.
pub fn verify(
    keys: &KeyList,
    issuer: &str,
    token: &str,
    now: DateTime<Utc>,
) -> Result<TokenClaims, JwtError> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::Invalid);
    }
    // The header is read unverified only to pick the key; everything in it is checked again
    // by `decode` once the signature is known to be ours.
    let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Invalid)?;
    if header.alg != Algorithm::HS256 || header.typ.as_deref() != Some(TOKEN_TYPE) {
        return Err(JwtError::Invalid);
    }
    let key = header
        .kid
        .as_deref()
        .and_then(|kid| keys.get(kid))
        .ok_or(JwtError::UnknownKey)?;
    let decoding_key = DecodingKey::from_secret(key.material()).map_err(|_| JwtError::Invalid)?;

    let mut validation = Validation::new(Algorithm::HS256);
    // Time is checked below against the injected `now`, not the system clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_issuer(&[issuer]);
    let claims = jsonwebtoken::decode::<Claims>(token, &decoding_key, &validation)
        .map_err(|_| JwtError::Invalid)?
        .claims;
    if claims.aud != AUDIENCE || claims.iss != issuer {
        return Err(JwtError::Invalid);
    }

    let now = now.timestamp();
    if now >= claims.exp.saturating_add(LEEWAY_SECS) {
        return Err(JwtError::Expired);
    }
    if now.saturating_add(LEEWAY_SECS) < claims.nbf.max(claims.iat) {
        return Err(JwtError::NotYetValid);
    }
    // We never issue longer-lived tokens; one that claims to be is not ours to honour.
    if claims.exp.saturating_sub(claims.iat) > TOKEN_LIFETIME_SECS {
        return Err(JwtError::Invalid);
    }
    let scopes = ApiScope::parse_list(&claims.scope).map_err(|_| JwtError::Invalid)?;
    if scopes.is_empty() {
        return Err(JwtError::Invalid);
    }
    let time = |secs: i64| DateTime::from_timestamp(secs, 0).ok_or(JwtError::Invalid);
    Ok(TokenClaims {
        key_id: claims.sub,
        organization_id: claims.org,
        scopes,
        token_id: claims.jti,
        issued_at: time(claims.iat)?,
        expires_at: time(claims.exp)?,
    })
}

/// [`TOKEN_LIFETIME_SECS`] as a duration.
pub fn token_lifetime() -> Duration {
    Duration::seconds(TOKEN_LIFETIME_SECS)
}

#[cfg(test)]
mod tests {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    use serde_json::json;

    use super::*;
    use crate::config::keys::generate_entry;

    const ISSUER: &str = "https://app.example.com";

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_796_000_000, 0).unwrap()
    }

    fn keys(entries: &[&str]) -> KeyList {
        KeyList::parse(&entries.join(",")).unwrap()
    }

    fn scopes(list: &str) -> BTreeSet<ApiScope> {
        ApiScope::parse_list(list).unwrap()
    }

    fn issue_at(keys: &KeyList, at: DateTime<Utc>) -> (String, Uuid, Uuid) {
        let (key_id, org) = (Uuid::new_v4(), Uuid::new_v4());
        let issued = issue(
            keys,
            ISSUER,
            key_id,
            org,
            &scopes("organization:read catalog:read"),
            at,
        )
        .unwrap();
        (issued.token.expose().clone(), key_id, org)
    }

    /// Signs arbitrary claims with any header, as an attacker holding the key (or a bug in our
    /// own issuing code) could.
    fn sign_raw(
        keys: &KeyList,
        alg: Algorithm,
        typ: Option<&str>,
        claims: serde_json::Value,
    ) -> String {
        let key = keys.current();
        let mut header = Header::new(alg);
        header.typ = typ.map(str::to_owned);
        header.kid = Some(key.id().to_owned());
        jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_secret(key.material()).unwrap(),
        )
        .unwrap()
    }

    fn claims_at(at: DateTime<Utc>) -> serde_json::Value {
        let t = at.timestamp();
        json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": Uuid::new_v4(), "org": Uuid::new_v4(),
            "scope": "organization:read", "iat": t, "nbf": t, "exp": t + 900, "jti": Uuid::new_v4(),
        })
    }

    #[test]
    fn a_token_round_trips_with_its_claims() {
        let keys = keys(&[&generate_entry("k1")]);
        let issued = issue(
            &keys,
            ISSUER,
            Uuid::new_v4(),
            Uuid::new_v4(),
            &scopes("catalog:write"),
            now(),
        )
        .unwrap();
        assert_eq!(issued.expires_in, 900);
        assert_eq!(format!("{issued:?}").matches("[redacted]").count(), 1);
        let header = jsonwebtoken::decode_header(issued.token.expose()).unwrap();
        assert_eq!(header.kid.as_deref(), Some("k1"));
        assert_eq!(header.alg, Algorithm::HS256);

        let (token, key_id, org) = issue_at(&keys, now());
        let claims = verify(&keys, ISSUER, &token, now() + Duration::minutes(14)).unwrap();
        assert_eq!(claims.key_id, key_id);
        assert_eq!(claims.organization_id, org);
        assert_eq!(claims.scopes, scopes("catalog:read organization:read"));
        assert_eq!(claims.issued_at, now());
        assert_eq!(claims.expires_at, now() + Duration::minutes(15));
    }

    #[test]
    fn expired_tokens_are_refused_after_the_leeway() {
        let keys = keys(&[&generate_entry("k1")]);
        let (token, ..) = issue_at(&keys, now());
        let exp = now() + token_lifetime();
        assert!(
            verify(
                &keys,
                ISSUER,
                &token,
                exp + Duration::seconds(LEEWAY_SECS - 1)
            )
            .is_ok()
        );
        assert_eq!(
            verify(&keys, ISSUER, &token, exp + Duration::seconds(LEEWAY_SECS)),
            Err(JwtError::Expired)
        );
        assert_eq!(
            verify(&keys, ISSUER, &token, now() + Duration::hours(3)),
            Err(JwtError::Expired)
        );
    }

    #[test]
    fn tokens_from_the_future_are_not_valid_yet() {
        let keys = keys(&[&generate_entry("k1")]);
        let (token, ..) = issue_at(&keys, now());
        assert!(
            verify(
                &keys,
                ISSUER,
                &token,
                now() - Duration::seconds(LEEWAY_SECS)
            )
            .is_ok()
        );
        assert_eq!(
            verify(
                &keys,
                ISSUER,
                &token,
                now() - Duration::seconds(LEEWAY_SECS + 1)
            ),
            Err(JwtError::NotYetValid)
        );
        let mut claims = claims_at(now());
        claims["nbf"] = json!(now().timestamp() + 300);
        let token = sign_raw(&keys, Algorithm::HS256, Some(TOKEN_TYPE), claims);
        assert_eq!(
            verify(&keys, ISSUER, &token, now()),
            Err(JwtError::NotYetValid)
        );
    }

    #[test]
    fn audience_and_issuer_must_match_exactly() {
        let keys = keys(&[&generate_entry("k1")]);
        let signed = |change: &dyn Fn(&mut serde_json::Value)| {
            let mut claims = claims_at(now());
            change(&mut claims);
            sign_raw(&keys, Algorithm::HS256, Some(TOKEN_TYPE), claims)
        };
        let ok = signed(&|_| {});
        assert!(verify(&keys, ISSUER, &ok, now()).is_ok());
        for token in [
            signed(&|c| c["aud"] = json!("another-api")),
            signed(&|c| c["aud"] = json!([AUDIENCE, "another-api"])),
            signed(&|c| c["iss"] = json!("https://evil.example")),
            signed(&|c| c["iss"] = json!("https://app.example.com/")),
            signed(&|c| c["iss"] = json!([ISSUER])),
        ] {
            assert_eq!(verify(&keys, ISSUER, &token, now()), Err(JwtError::Invalid));
        }
        assert_eq!(
            verify(&keys, "https://other.example.com", &ok, now()),
            Err(JwtError::Invalid)
        );
    }

    #[test]
    fn every_claim_is_required_and_scopes_must_be_known() {
        let keys = keys(&[&generate_entry("k1")]);
        for claim in [
            "iss", "aud", "sub", "org", "scope", "iat", "nbf", "exp", "jti",
        ] {
            let mut claims = claims_at(now());
            claims.as_object_mut().unwrap().remove(claim);
            let token = sign_raw(&keys, Algorithm::HS256, Some(TOKEN_TYPE), claims);
            assert_eq!(
                verify(&keys, ISSUER, &token, now()),
                Err(JwtError::Invalid),
                "{claim}"
            );
        }
        for scope in ["", "admin", "organization:read admin"] {
            let mut claims = claims_at(now());
            claims["scope"] = json!(scope);
            let token = sign_raw(&keys, Algorithm::HS256, Some(TOKEN_TYPE), claims);
            assert_eq!(verify(&keys, ISSUER, &token, now()), Err(JwtError::Invalid));
        }
        let mut long_lived = claims_at(now());
        long_lived["exp"] = json!(now().timestamp() + 86_400);
        let token = sign_raw(&keys, Algorithm::HS256, Some(TOKEN_TYPE), long_lived);
        assert_eq!(verify(&keys, ISSUER, &token, now()), Err(JwtError::Invalid));
    }

    #[test]
    fn a_tampered_token_fails_its_signature() {
        let keys = keys(&[&generate_entry("k1")]);
        let (token, ..) = issue_at(&keys, now());
        let (head_and_claims, signature) = token.rsplit_once('.').unwrap();
        let mut sig = URL_SAFE_NO_PAD.decode(signature).unwrap();
        sig[0] ^= 1;
        let tampered_sig = format!("{head_and_claims}.{}", URL_SAFE_NO_PAD.encode(&sig));
        assert_eq!(
            verify(&keys, ISSUER, &tampered_sig, now()),
            Err(JwtError::Invalid)
        );

        // Widened scope in the payload, original signature.
        let parts: Vec<&str> = token.split('.').collect();
        let mut payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        payload["scope"] = json!("orders:write");
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(payload.to_string()),
            parts[2]
        );
        assert_eq!(
            verify(&keys, ISSUER, &forged, now()),
            Err(JwtError::Invalid)
        );

        // Same key id, other key material.
        let impostor = keys_with_same_id("k1");
        let (token, ..) = issue_at(&impostor, now());
        assert_eq!(verify(&keys, ISSUER, &token, now()), Err(JwtError::Invalid));

        for garbage in ["", "a.b", "a.b.c", "....", &"x".repeat(5000)] {
            assert_eq!(
                verify(&keys, ISSUER, garbage, now()),
                Err(JwtError::Invalid)
            );
        }
    }

    fn keys_with_same_id(id: &str) -> KeyList {
        keys(&[&generate_entry(id)])
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        let keys = keys(&[&generate_entry("k1")]);
        let encode = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let claims = encode(claims_at(now()));
        for alg in ["none", "None", "NONE"] {
            let header = encode(json!({"alg": alg, "typ": TOKEN_TYPE, "kid": "k1"}));
            for token in [format!("{header}.{claims}."), format!("{header}.{claims}")] {
                assert_eq!(
                    verify(&keys, ISSUER, &token, now()),
                    Err(JwtError::Invalid),
                    "{alg}"
                );
            }
        }
        for alg in [Algorithm::HS384, Algorithm::HS512] {
            let token = sign_raw(&keys, alg, Some(TOKEN_TYPE), claims_at(now()));
            assert_eq!(
                verify(&keys, ISSUER, &token, now()),
                Err(JwtError::Invalid),
                "{alg:?}"
            );
        }
        // A plain JWT (another `typ`) with the right key is not an access token.
        for typ in [Some("JWT"), None] {
            let token = sign_raw(&keys, Algorithm::HS256, typ, claims_at(now()));
            assert_eq!(verify(&keys, ISSUER, &token, now()), Err(JwtError::Invalid));
        }
    }

    #[test]
    fn unknown_or_missing_key_ids_are_refused() {
        let keys = keys(&[&generate_entry("k1")]);
        let other = self::keys(&[&generate_entry("k9")]);
        let (token, ..) = issue_at(&other, now());
        assert_eq!(
            verify(&keys, ISSUER, &token, now()),
            Err(JwtError::UnknownKey)
        );

        let key = keys.current();
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(TOKEN_TYPE.to_owned());
        let no_kid = jsonwebtoken::encode(
            &header,
            &claims_at(now()),
            &EncodingKey::from_secret(key.material()).unwrap(),
        )
        .unwrap();
        assert_eq!(
            verify(&keys, ISSUER, &no_kid, now()),
            Err(JwtError::UnknownKey)
        );
    }

    #[test]
    fn rotation_keeps_old_tokens_valid_until_the_old_key_is_removed() {
        let (old_entry, new_entry) = (generate_entry("2026-01"), generate_entry("2026-02"));
        let before = keys(&[&old_entry]);
        let (old_token, ..) = issue_at(&before, now());

        // Step 1: the new key goes first; the old one stays for verification.
        let during = keys(&[&new_entry, &old_entry]);
        assert!(verify(&during, ISSUER, &old_token, now()).is_ok());
        let (new_token, ..) = issue_at(&during, now());
        let header = jsonwebtoken::decode_header(&new_token).unwrap();
        assert_eq!(
            header.kid.as_deref(),
            Some("2026-02"),
            "signed with the newest key"
        );
        assert!(verify(&during, ISSUER, &new_token, now()).is_ok());

        // Step 2: the old key is removed; its tokens stop working, new ones go on.
        let after = keys(&[&new_entry]);
        assert_eq!(
            verify(&after, ISSUER, &old_token, now()),
            Err(JwtError::UnknownKey)
        );
        assert!(verify(&after, ISSUER, &new_token, now()).is_ok());
    }
}
