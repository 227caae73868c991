//! Authorization codes, access tokens and refresh tokens, with the lifetimes and rotation rules
//! each marketplace documents. One store per sandbox; it is part of the snapshot, so a
//! development run keeps its connections across restarts.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};

/// A random token body of `len` alphanumeric characters.
pub fn random_string(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

/// Lowercase hex of `len` random bytes.
pub fn random_hex(len: usize) -> String {
    let bytes: Vec<u8> = (0..len).map(|_| rand::random::<u8>()).collect();
    hex(&bytes)
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// What a code was issued for; checked again when it is exchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    /// The account the merchant authorized: a shop domain, a seller id, a user id.
    pub subject: String,
    pub scopes: Vec<String>,
    /// PKCE: the S256 challenge the client sent with the authorization request.
    pub code_challenge: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CodeError {
    Unknown,
    Expired,
    /// Redeemed before; the tokens issued from it are revoked (RFC 6749 §4.1.2).
    Reused,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenError {
    Unknown,
    Expired,
    Revoked,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessToken {
    pub client_id: String,
    pub subject: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked: bool,
    /// The code or refresh token it came from, so revoking a family is possible.
    pub family: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshToken {
    pub client_id: String,
    pub subject: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked: bool,
    pub family: String,
}

/// How a marketplace shapes its tokens.
#[derive(Debug, Clone)]
pub struct TokenPolicy {
    pub access_prefix: String,
    pub access_ttl: Option<Duration>,
    pub refresh_prefix: Option<String>,
    pub refresh_ttl: Option<Duration>,
    /// A refresh hands out a new refresh token and retires the old one.
    pub rotate_refresh: bool,
}

/// The tokens handed to the client.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Issued {
    pub access_token: String,
    pub expires_in: Option<i64>,
    pub refresh_token: Option<String>,
    pub refresh_expires_in: Option<i64>,
    pub scopes: Vec<String>,
    pub subject: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TokenStore {
    pub codes: HashMap<String, CodeGrant>,
    pub access: HashMap<String, AccessToken>,
    pub refresh: HashMap<String, RefreshToken>,
    /// Families whose code was redeemed twice.
    #[serde(default)]
    pub burned_families: Vec<String>,
}

impl TokenStore {
    pub fn issue_code(&mut self, prefix: &str, grant: CodeGrant) -> String {
        let code = format!("{prefix}{}", random_string(32));
        self.codes.insert(code.clone(), grant);
        code
    }

    /// Redeems a code once. A second redemption fails and revokes what the first one issued.
    pub fn redeem_code(&mut self, code: &str, now: DateTime<Utc>) -> Result<CodeGrant, CodeError> {
        let grant = self.codes.get_mut(code).ok_or(CodeError::Unknown)?;
        if grant.used {
            self.revoke_family(code);
            return Err(CodeError::Reused);
        }
        if now >= grant.expires_at {
            return Err(CodeError::Expired);
        }
        grant.used = true;
        Ok(grant.clone())
    }

    /// Issues an access token (and a refresh token where the policy has one).
    pub fn issue(
        &mut self,
        policy: &TokenPolicy,
        client_id: &str,
        subject: &str,
        scopes: &[String],
        family: &str,
        now: DateTime<Utc>,
    ) -> Issued {
        let access_token = format!("{}{}", policy.access_prefix, random_string(40));
        self.access.insert(
            access_token.clone(),
            AccessToken {
                client_id: client_id.to_owned(),
                subject: subject.to_owned(),
                scopes: scopes.to_vec(),
                expires_at: policy.access_ttl.map(|ttl| now + ttl),
                revoked: false,
                family: family.to_owned(),
            },
        );
        let refresh_token = policy.refresh_prefix.as_ref().map(|prefix| {
            let token = format!("{prefix}{}", random_string(48));
            self.refresh.insert(
                token.clone(),
                RefreshToken {
                    client_id: client_id.to_owned(),
                    subject: subject.to_owned(),
                    scopes: scopes.to_vec(),
                    expires_at: policy.refresh_ttl.map(|ttl| now + ttl),
                    revoked: false,
                    family: family.to_owned(),
                },
            );
            token
        });
        Issued {
            access_token,
            expires_in: policy.access_ttl.map(|ttl| ttl.num_seconds()),
            refresh_expires_in: refresh_token
                .as_ref()
                .and(policy.refresh_ttl)
                .map(|ttl| ttl.num_seconds()),
            refresh_token,
            scopes: scopes.to_vec(),
            subject: subject.to_owned(),
        }
    }

    /// The token behind an `Authorization` or marketplace header, if it may still be used.
    pub fn check_access(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<&AccessToken, TokenError> {
        let access = self.access.get(token).ok_or(TokenError::Unknown)?;
        if access.revoked {
            return Err(TokenError::Revoked);
        }
        if access.expires_at.is_some_and(|at| now >= at) {
            return Err(TokenError::Expired);
        }
        Ok(access)
    }

    /// Exchanges a refresh token for a new access token. With rotation the old refresh token is
    /// retired and a new one issued; without it the same refresh token is handed back.
    pub fn refresh(
        &mut self,
        policy: &TokenPolicy,
        refresh_token: &str,
        client_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Issued, TokenError> {
        let current = self.refresh.get(refresh_token).ok_or(TokenError::Unknown)?;
        if current.client_id != client_id {
            return Err(TokenError::Unknown);
        }
        if current.revoked {
            return Err(TokenError::Revoked);
        }
        if current.expires_at.is_some_and(|at| now >= at) {
            return Err(TokenError::Expired);
        }
        let current = current.clone();
        if policy.rotate_refresh {
            if let Some(old) = self.refresh.get_mut(refresh_token) {
                old.revoked = true;
            }
            Ok(self.issue(
                policy,
                client_id,
                &current.subject,
                &current.scopes,
                &current.family,
                now,
            ))
        } else {
            let without_refresh = TokenPolicy {
                refresh_prefix: None,
                ..policy.clone()
            };
            let mut issued = self.issue(
                &without_refresh,
                client_id,
                &current.subject,
                &current.scopes,
                &current.family,
                now,
            );
            issued.refresh_token = Some(refresh_token.to_owned());
            issued.refresh_expires_in = current.expires_at.map(|at| (at - now).num_seconds());
            Ok(issued)
        }
    }

    /// Revokes one access or refresh token. Returns whether it existed.
    pub fn revoke_token(&mut self, token: &str) -> bool {
        let mut found = false;
        if let Some(access) = self.access.get_mut(token) {
            access.revoked = true;
            found = true;
        }
        if let Some(refresh) = self.refresh.get_mut(token) {
            refresh.revoked = true;
            found = true;
        }
        found
    }

    /// Revokes everything issued to one subject (a merchant uninstalling the app).
    pub fn revoke_subject(&mut self, subject: &str) -> usize {
        let mut count = 0;
        for access in self.access.values_mut().filter(|a| a.subject == subject) {
            access.revoked = true;
            count += 1;
        }
        for refresh in self.refresh.values_mut().filter(|r| r.subject == subject) {
            refresh.revoked = true;
            count += 1;
        }
        count
    }

    /// Revokes every token (the fault "token revocation": the next call gets "invalid token").
    pub fn revoke_all(&mut self) -> usize {
        let mut count = 0;
        for access in self.access.values_mut() {
            access.revoked = true;
            count += 1;
        }
        for refresh in self.refresh.values_mut() {
            refresh.revoked = true;
            count += 1;
        }
        count
    }

    fn revoke_family(&mut self, family: &str) {
        for access in self.access.values_mut().filter(|a| a.family == family) {
            access.revoked = true;
        }
        for refresh in self.refresh.values_mut().filter(|r| r.family == family) {
            refresh.revoked = true;
        }
        if !self.burned_families.iter().any(|f| f == family) {
            self.burned_families.push(family.to_owned());
        }
    }

    /// Drops codes and tokens that can never be used again, so a long development run does not
    /// grow the snapshot without bound.
    pub fn prune(&mut self, now: DateTime<Utc>) {
        let day_ago = now - Duration::days(1);
        self.codes.retain(|_, c| c.expires_at > day_ago);
        self.access
            .retain(|_, a| a.expires_at.is_none_or(|at| at > day_ago) && !a.revoked);
        self.refresh
            .retain(|_, r| r.expires_at.is_none_or(|at| at > day_ago));
    }

    /// For the state endpoint: token counts and lifetimes, never the token values' secrets
    /// beyond a short prefix.
    pub fn summary(&self, now: DateTime<Utc>) -> serde_json::Value {
        let shorten = |t: &str| t.chars().take(10).collect::<String>() + "…";
        serde_json::json!({
            "codes": self.codes.len(),
            "access_tokens": self.access.iter().map(|(t, a)| serde_json::json!({
                "token": shorten(t),
                "subject": a.subject,
                "scopes": a.scopes,
                "expires_in": a.expires_at.map(|at| (at - now).num_seconds()),
                "revoked": a.revoked,
            })).collect::<Vec<_>>(),
            "refresh_tokens": self.refresh.iter().map(|(t, r)| serde_json::json!({
                "token": shorten(t),
                "subject": r.subject,
                "expires_in": r.expires_at.map(|at| (at - now).num_seconds()),
                "revoked": r.revoked,
            })).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(rotate: bool) -> TokenPolicy {
        TokenPolicy {
            access_prefix: "at_".into(),
            access_ttl: Some(Duration::hours(1)),
            refresh_prefix: Some("rt_".into()),
            refresh_ttl: Some(Duration::days(90)),
            rotate_refresh: rotate,
        }
    }

    fn grant(now: DateTime<Utc>) -> CodeGrant {
        CodeGrant {
            client_id: "client".into(),
            redirect_uri: "https://app.example/cb".into(),
            subject: "shop-1".into(),
            scopes: vec!["read_products".into()],
            code_challenge: None,
            expires_at: now + Duration::minutes(5),
            used: false,
        }
    }

    #[test]
    fn a_code_works_once_and_reuse_revokes_its_tokens() {
        let now = Utc::now();
        let mut store = TokenStore::default();
        let code = store.issue_code("c_", grant(now));
        let redeemed = store.redeem_code(&code, now).unwrap();
        let issued = store.issue(
            &policy(true),
            "client",
            &redeemed.subject,
            &redeemed.scopes,
            &code,
            now,
        );
        assert!(store.check_access(&issued.access_token, now).is_ok());
        assert_eq!(store.redeem_code(&code, now), Err(CodeError::Reused));
        assert_eq!(
            store.check_access(&issued.access_token, now).unwrap_err(),
            TokenError::Revoked
        );
        assert_eq!(store.redeem_code("nope", now), Err(CodeError::Unknown));
    }

    #[test]
    fn codes_and_tokens_expire() {
        let now = Utc::now();
        let mut store = TokenStore::default();
        let code = store.issue_code("c_", grant(now));
        assert_eq!(
            store.redeem_code(&code, now + Duration::minutes(5)),
            Err(CodeError::Expired)
        );
        let issued = store.issue(&policy(false), "client", "s", &[], "f", now);
        assert_eq!(
            store
                .check_access(&issued.access_token, now + Duration::hours(1))
                .unwrap_err(),
            TokenError::Expired
        );
    }

    #[test]
    fn rotation_retires_the_old_refresh_token_and_fixed_refresh_tokens_stay() {
        let now = Utc::now();
        let mut store = TokenStore::default();
        let first = store.issue(&policy(true), "client", "s", &[], "f", now);
        let old = first.refresh_token.unwrap();
        let second = store.refresh(&policy(true), &old, "client", now).unwrap();
        assert_ne!(second.refresh_token.as_deref(), Some(old.as_str()));
        assert_eq!(
            store.refresh(&policy(true), &old, "client", now),
            Err(TokenError::Revoked)
        );

        let fixed = store.issue(&policy(false), "client", "s", &[], "g", now);
        let kept = fixed.refresh_token.unwrap();
        let again = store.refresh(&policy(false), &kept, "client", now).unwrap();
        assert_eq!(again.refresh_token.as_deref(), Some(kept.as_str()));
        assert!(
            store
                .refresh(&policy(false), &kept, "other-client", now)
                .is_err()
        );
    }
}
