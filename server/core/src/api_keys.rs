//! API keys: how machines (an ERP, a script) reach the REST API of one organization.
//!
//! A key looks like `smk_<prefix>_<secret>`: `smk_` marks it as ours (secret scanners can look
//! for it), the prefix is 8 random lower-case letters and digits that find the key and name it
//! in lists, and the secret is 32 random bytes (base64url). The key is shown once, when it is
//! created; the database keeps only the SHA-256 of the whole key. A key grants a fixed set of
//! [`ApiScope`]s and is exchanged for short-lived access tokens ([`crate::jwt`]); every API
//! request checks again that the key exists and is not revoked ([`scope_for_token`]).
//!
//! Unknown, revoked and malformed keys get one and the same answer ([`ApiKeyError::InvalidKey`]).

use std::{collections::BTreeSet, net::IpAddr};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use rand::{Rng as _, RngCore as _};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, Set,
    sea_query::Expr,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use shopmarkets_types::{ApiKeyName, FieldError};
use subtle::ConstantTimeEq as _;
use uuid::Uuid;

use crate::{
    access::{AccessError, Actor, ApiScope, OrganizationScoped as _, Permission, Scope},
    audit::{self, AuditAction, NewAuditEvent},
    config::KeyList,
    db::{Db, DbError, begin_write, is_unique_violation},
    entity::api_key,
    jwt::{self, IssuedToken, JwtError, TokenClaims},
    secret::Secret,
};

/// What every key starts with.
pub const KEY_PREFIX: &str = "smk_";
/// Length of the public, random part of a key.
pub const PREFIX_LEN: usize = 8;
/// The longest key name.
pub const MAX_NAME_LEN: usize = ApiKeyName::MAX_LEN;
const PREFIX_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const SECRET_BYTES: usize = 32;
/// 32 bytes in base64url without padding.
const SECRET_LEN: usize = 43;
/// `last_used_at` is written at most this often per key, so a busy client does not turn every
/// request into a database write.
const LAST_USED_RESOLUTION: Duration = Duration::minutes(1);
/// A new prefix that collides with an existing one (1 in 36⁸ per key) is drawn again.
const CREATE_ATTEMPTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    /// An input was refused; `field` names the form field (`name`, `scopes`).
    #[error("{field}: {error}")]
    Field {
        field: &'static str,
        error: FieldError,
    },
    /// The presented key (or the key behind a token) is unknown, revoked or malformed.
    /// Deliberately one case.
    #[error("the API key is invalid")]
    InvalidKey,
    /// A token was asked for scopes the key does not have (or for none).
    #[error("the requested scope is not granted to this key")]
    InvalidScope,
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Token(#[from] JwtError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sea_orm::DbErr> for ApiKeyError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Db(DbError::Query(err))
    }
}

/// A key as lists show it: never its secret or hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeySummary {
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    pub scopes: BTreeSet<ApiScope>,
    pub created_by_user_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKeySummary {
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }

    fn from_model(model: api_key::Model) -> Self {
        Self {
            scopes: stored_scopes(&model.scopes),
            id: model.id,
            name: model.name,
            prefix: model.prefix,
            created_by_user_id: model.created_by_user_id,
            created_at: model.created_at,
            last_used_at: model.last_used_at,
            revoked_at: model.revoked_at,
        }
    }
}

/// A key just created: the only time its full value exists outside the client.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub summary: ApiKeySummary,
    /// `smk_<prefix>_<secret>`; `Debug` prints `[redacted]`.
    pub key: Secret<String>,
}

/// A key name: trimmed, 1–80 characters, no control characters.
pub fn parse_name(input: &str) -> Result<String, FieldError> {
    ApiKeyName::parse(input).map(String::from)
}

/// Creates a key for the scope's organization. Needs [`Permission::ManageApiKeys`]; recorded in
/// the audit log in the same transaction.
pub async fn create(
    db: &Db,
    scope: &Scope,
    name: &str,
    scopes: BTreeSet<ApiScope>,
    ip: Option<IpAddr>,
) -> Result<NewApiKey, ApiKeyError> {
    scope.require(Permission::ManageApiKeys)?;
    let name = parse_name(name).map_err(|error| ApiKeyError::Field {
        field: "name",
        error,
    })?;
    if scopes.is_empty() {
        return Err(ApiKeyError::Field {
            field: "scopes",
            error: FieldError::Required,
        });
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        match insert(db, scope, &name, &scopes, ip).await {
            Err(ApiKeyError::Db(DbError::Query(err)))
                if attempt < CREATE_ATTEMPTS && is_unique_violation(&err) => {}
            result => return result,
        }
    }
}

async fn insert(
    db: &Db,
    scope: &Scope,
    name: &str,
    scopes: &BTreeSet<ApiScope>,
    ip: Option<IpAddr>,
) -> Result<NewApiKey, ApiKeyError> {
    let prefix = random_prefix();
    let mut secret = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut secret);
    let key = format!("{KEY_PREFIX}{prefix}_{}", URL_SAFE_NO_PAD.encode(secret));

    let txn = begin_write(db).await?;
    let model = api_key::ActiveModel {
        id: Set(Uuid::new_v4()),
        organization_id: Set(scope.organization_id()),
        name: Set(name.to_owned()),
        prefix: Set(prefix.clone()),
        secret_hash: Set(hash(&key)),
        scopes: Set(ApiScope::format_list(scopes)),
        created_by_user_id: Set(scope.user_id()),
        created_at: Set(micros(Utc::now())),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(&txn)
    .await?;
    audit::record_in(
        &txn,
        NewAuditEvent::in_scope(
            scope,
            AuditAction::ApiKeyCreated,
            ip,
            json!({
                "api_key_id": model.id,
                "prefix": prefix,
                "scopes": model.scopes,
            }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(NewApiKey {
        summary: ApiKeySummary::from_model(model),
        key: Secret::new(key),
    })
}

/// The organization's keys, newest first, revoked ones included. Needs
/// [`Permission::ManageApiKeys`].
pub async fn list(db: &Db, scope: &Scope) -> Result<Vec<ApiKeySummary>, ApiKeyError> {
    scope.require(Permission::ManageApiKeys)?;
    Ok(api_key::Entity::find_in(scope)
        .order_by_desc(api_key::Column::CreatedAt)
        .order_by_asc(api_key::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(ApiKeySummary::from_model)
        .collect())
}

/// Revokes a key: it stops working at once, tokens already issued for it included. A key of
/// another organization is [`AccessError::NotFound`]; revoking a revoked key changes nothing.
pub async fn revoke(
    db: &Db,
    scope: &Scope,
    id: Uuid,
    ip: Option<IpAddr>,
) -> Result<(), ApiKeyError> {
    scope.require(Permission::ManageApiKeys)?;
    let txn = begin_write(db).await?;
    let key = api_key::Entity::find_by_id_in(scope, id)
        .one(&txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    if key.revoked_at.is_some() {
        return Ok(());
    }
    api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Expr::value(micros(Utc::now())))
        .filter(api_key::Column::Id.eq(key.id))
        .exec(&txn)
        .await?;
    audit::record_in(
        &txn,
        NewAuditEvent::in_scope(
            scope,
            AuditAction::ApiKeyRevoked,
            ip,
            json!({ "api_key_id": key.id, "prefix": key.prefix }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Checks a presented key and returns the scope it grants. Unknown, revoked and malformed keys
/// are all [`ApiKeyError::InvalidKey`].
pub async fn authenticate(
    db: &Db,
    presented: &str,
    now: DateTime<Utc>,
) -> Result<Scope, ApiKeyError> {
    let presented = presented.trim();
    let prefix = parse_key(presented).ok_or(ApiKeyError::InvalidKey)?;
    // The key carries 256 random bits, so a fast hash is the right one: nobody can guess
    // their way back from it, and a slow password hash would only make every token
    // exchange expensive (and the endpoint an easy way to burn our CPU).
    let presented_hash = hash(presented);
    let row = api_key::Entity::find()
        .filter(api_key::Column::Prefix.eq(prefix))
        .one(db)
        .await?
        .ok_or(ApiKeyError::InvalidKey)?;
    // The prefix is public; the comparison of what depends on the secret takes the same time
    // however many characters match.
    let matches: bool = presented_hash
        .as_bytes()
        .ct_eq(row.secret_hash.as_bytes())
        .into();
    if !matches || row.revoked_at.is_some() {
        return Err(ApiKeyError::InvalidKey);
    }
    touch(db, &row, now).await;
    Ok(Scope::for_api_key(
        row.organization_id,
        row.id,
        stored_scopes(&row.scopes),
    ))
}

/// Signs an access token for an authenticated key, for all of its scopes or the `requested`
/// subset of them ([`ApiKeyError::InvalidScope`] otherwise).
pub fn issue_token(
    keys: &KeyList,
    issuer: &str,
    scope: &Scope,
    requested: Option<&BTreeSet<ApiScope>>,
    now: DateTime<Utc>,
) -> Result<IssuedToken, ApiKeyError> {
    let Actor::ApiKey { key_id, scopes } = scope.actor() else {
        return Err(ApiKeyError::InvalidKey);
    };
    let granted = match requested {
        None => scopes.clone(),
        Some(requested) if requested.is_subset(scopes) => requested.clone(),
        Some(_) => return Err(ApiKeyError::InvalidScope),
    };
    if granted.is_empty() {
        return Err(ApiKeyError::InvalidScope);
    }
    Ok(jwt::issue(
        keys,
        issuer,
        *key_id,
        scope.organization_id(),
        &granted,
        now,
    )?)
}

/// The scope of a verified access token, checked again against the database on every request:
/// the key must still exist in the token's organization and not be revoked. The scope holds
/// the token's scopes that the key (still) has.
pub async fn scope_for_token(
    db: &Db,
    claims: &TokenClaims,
    now: DateTime<Utc>,
) -> Result<Scope, ApiKeyError> {
    let row = api_key::Entity::find_by_id(claims.key_id)
        .filter(api_key::Column::OrganizationId.eq(claims.organization_id))
        .one(db)
        .await?
        .filter(|row| row.revoked_at.is_none())
        .ok_or(ApiKeyError::InvalidKey)?;
    let granted = stored_scopes(&row.scopes)
        .intersection(&claims.scopes)
        .copied()
        .collect();
    touch(db, &row, now).await;
    Ok(Scope::for_api_key(row.organization_id, row.id, granted))
}

/// Notes the use of a key, at most once per [`LAST_USED_RESOLUTION`]. The conditional update
/// keeps concurrent requests from writing it more than once. Best effort: a failure is
/// logged, never turned into a refused request.
async fn touch(db: &Db, row: &api_key::Model, now: DateTime<Utc>) {
    let now = micros(now);
    let threshold = now - LAST_USED_RESOLUTION;
    if row.last_used_at.is_some_and(|last| last > threshold) {
        return;
    }
    let result = api_key::Entity::update_many()
        .col_expr(api_key::Column::LastUsedAt, Expr::value(now))
        .filter(api_key::Column::Id.eq(row.id))
        .filter(
            Condition::any()
                .add(api_key::Column::LastUsedAt.is_null())
                .add(api_key::Column::LastUsedAt.lte(threshold)),
        )
        .exec(db)
        .await;
    if let Err(err) = result {
        tracing::warn!(api_key_id = %row.id, error = %err, "could not note the use of an API key");
    }
}

/// The prefix of a well-formed key (`smk_` + 8 of `a-z0-9` + `_` + 43 of base64url), or `None`.
fn parse_key(presented: &str) -> Option<&str> {
    let rest = presented.strip_prefix(KEY_PREFIX)?;
    if rest.len() != PREFIX_LEN + 1 + SECRET_LEN || !rest.is_ascii() {
        return None;
    }
    let (prefix, tail) = rest.split_at(PREFIX_LEN);
    let secret = tail.strip_prefix('_')?;
    let prefix_ok = prefix.bytes().all(|b| PREFIX_ALPHABET.contains(&b));
    let secret_ok = secret
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (prefix_ok && secret_ok).then_some(prefix)
}

fn random_prefix() -> String {
    let mut rng = rand::rng();
    (0..PREFIX_LEN)
        .map(|_| PREFIX_ALPHABET[rng.random_range(0..PREFIX_ALPHABET.len())] as char)
        .collect()
}

/// SHA-256 of the whole key, lower-case hex.
fn hash(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The stored scope codes that this version knows; a code it does not know grants nothing.
fn stored_scopes(codes: &str) -> BTreeSet<ApiScope> {
    codes
        .split_whitespace()
        .filter_map(ApiScope::from_code)
        .collect()
}

/// Both engines keep microseconds; times are cut to them so what is returned equals what a
/// later read gives.
fn micros(time: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(time.timestamp_micros()).unwrap_or(time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_strictly() {
        let secret = URL_SAFE_NO_PAD.encode([0xfbu8; SECRET_BYTES]);
        assert_eq!(secret.len(), SECRET_LEN);
        let key = format!("smk_ab12cd34_{secret}");
        assert_eq!(parse_key(&key), Some("ab12cd34"));
        for bad in [
            String::new(),
            "smk_".to_owned(),
            format!("smk_AB12CD34_{secret}"),
            format!("smk_ab12cd3_{secret}x"),
            format!("smk_ab12cd34-{secret}"),
            format!("smk_ab12cd34_{}", &secret[1..]),
            format!("smk_ab12cd34_{secret}A"),
            format!("smk_ab12cd34_{}=", &secret[1..]),
            format!("pat_ab12cd34_{secret}"),
            format!("smk_ab12cd34_{}é", &secret[2..]),
        ] {
            assert_eq!(parse_key(&bad), None, "{bad}");
        }
    }

    #[test]
    fn prefixes_are_lower_case_alphanumerics() {
        for _ in 0..50 {
            let prefix = random_prefix();
            assert_eq!(prefix.len(), PREFIX_LEN);
            assert!(
                prefix.bytes().all(|b| PREFIX_ALPHABET.contains(&b)),
                "{prefix}"
            );
        }
    }

    #[test]
    fn names_are_trimmed_and_limited() {
        assert_eq!(parse_name("  ERP sync ").unwrap(), "ERP sync");
        assert_eq!(parse_name(" \t "), Err(FieldError::Required));
        assert_eq!(parse_name(&"ä".repeat(80)).unwrap().chars().count(), 80);
        assert_eq!(
            parse_name(&"ä".repeat(81)),
            Err(FieldError::TooLong { max: 80 })
        );
        assert_eq!(
            parse_name("ERP\u{1b}[31m sync"),
            Err(FieldError::ControlCharacters)
        );
        assert_eq!(parse_name("a\nb"), Err(FieldError::ControlCharacters));
    }

    #[test]
    fn unknown_stored_scopes_grant_nothing() {
        assert_eq!(
            stored_scopes("organization:read retired:scope catalog:read"),
            ApiScope::parse_list("catalog:read organization:read").unwrap()
        );
    }
}
