//! API keys on both engines: created once and stored only as a hash, listed without secrets,
//! revoked within their organization only, authenticated in constant time, and exchanged for
//! tokens whose key is checked again on every use.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use sha2::{Digest, Sha256};
use shopmarkets_core::{
    access::{AccessError, Actor, ApiScope, Permission, Scope},
    api_keys::{self, ApiKeyError},
    audit,
    config::KeyList,
    config::keys::generate_entry,
    db::Db,
    db_tests,
    entity::{api_key, membership, membership::Role, organization, user},
    jwt,
};
use shopmarkets_types::FieldError;
use uuid::Uuid;

const ISSUER: &str = "https://app.example.com";

fn scopes(list: &str) -> BTreeSet<ApiScope> {
    ApiScope::parse_list(list).unwrap()
}

fn ip() -> Option<std::net::IpAddr> {
    Some("203.0.113.50".parse().unwrap())
}

async fn new_organization(db: &Db) -> Uuid {
    let now = Utc::now();
    organization::ActiveModel {
        id: Set(Uuid::new_v4()),
        name: Set("Muster GmbH".to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap()
    .id
}

/// A user with the given role in the organization, and their scope there.
async fn member(db: &Db, organization_id: Uuid, role: Role) -> Scope {
    let now = Utc::now();
    let user_id = Uuid::new_v4();
    user::ActiveModel {
        id: Set(user_id),
        email: Set(format!("{}@example.com", user_id.simple())),
        password_hash: Set("$argon2id$not-used-here".to_owned()),
        display_name: Set("Erika Mustermann".to_owned()),
        locale: Set("de".to_owned()),
        email_verified_at: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    membership::ActiveModel {
        organization_id: Set(organization_id),
        user_id: Set(user_id),
        role: Set(role),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();
    Scope::for_member(db, user_id, organization_id)
        .await
        .unwrap()
}

async fn owner_of_new_organization(db: &Db) -> Scope {
    let org = new_organization(db).await;
    member(db, org, Role::Owner).await
}

async fn stored(db: &Db, id: Uuid) -> api_key::Model {
    api_key::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .unwrap()
}

async fn keys_are_created_listed_and_revoked(db: Db) {
    let owner = owner_of_new_organization(&db).await;
    let created = api_keys::create(
        &db,
        &owner,
        "  ERP sync ",
        scopes("organization:read catalog:read"),
        ip(),
    )
    .await
    .unwrap();
    let key = created.key.expose().clone();
    assert!(
        !format!("{created:?}").contains(&key),
        "Debug hides the key"
    );
    let prefix = &created.summary.prefix;
    assert_eq!(prefix.len(), 8);
    assert!(key.starts_with(&format!("smk_{prefix}_")), "{prefix}");
    assert_eq!(key.len(), 4 + 8 + 1 + 43);
    assert_eq!(created.summary.name, "ERP sync");
    assert_eq!(created.summary.created_by_user_id, owner.user_id());

    // Only the SHA-256 of the whole key is stored.
    let row = stored(&db, created.summary.id).await;
    assert_ne!(row.secret_hash, key);
    assert!(!row.secret_hash.contains(&key[13..]));
    let expected: String = Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(row.secret_hash, expected);
    assert_eq!(row.scopes, "organization:read catalog:read");

    let second = api_keys::create(&db, &owner, "Shop script", scopes("orders:read"), None)
        .await
        .unwrap();
    assert_ne!(second.summary.prefix, created.summary.prefix);
    let listed = api_keys::list(&db, &owner).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&created.summary) && listed.contains(&second.summary));
    assert!(!format!("{listed:?}").contains(&key[13..]));

    api_keys::revoke(&db, &owner, created.summary.id, ip())
        .await
        .unwrap();
    let listed = api_keys::list(&db, &owner).await.unwrap();
    let revoked = listed.iter().find(|k| k.id == created.summary.id).unwrap();
    assert!(revoked.is_revoked());
    assert!(
        !listed
            .iter()
            .find(|k| k.id == second.summary.id)
            .unwrap()
            .is_revoked()
    );
    // Revoking twice changes nothing and logs nothing more.
    api_keys::revoke(&db, &owner, created.summary.id, ip())
        .await
        .unwrap();

    let org = Some(owner.organization_id());
    let entries = audit::list(&db, org, 10).await.unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["api_key.revoked", "api_key.created", "api_key.created"]
    );
    for entry in &entries {
        assert_eq!(entry.actor_user_id, owner.user_id());
        assert!(!entry.details.contains(&key[13..]), "{}", entry.details);
        assert!(!entry.details.contains(&row.secret_hash));
    }
    assert!(entries[0].details.contains(&created.summary.id.to_string()));
    assert_eq!(entries[2].ip_prefix.as_deref(), Some("203.0.113.0/24"));
    assert!(audit::verify_chain(&db, org).await.unwrap().is_intact());
}

async fn names_and_scopes_are_validated(db: Db) {
    let owner = owner_of_new_organization(&db).await;
    let refused = |name: String, list: &'static str| {
        let (db, owner) = (db.clone(), owner.clone());
        async move {
            match api_keys::create(&db, &owner, &name, scopes(list), None).await {
                Err(ApiKeyError::Field { field, error }) => (field, error),
                other => panic!("{name:?}: {other:?}"),
            }
        }
    };
    assert_eq!(
        refused("   ".into(), "catalog:read").await,
        ("name", FieldError::Required)
    );
    assert_eq!(
        refused("x".repeat(81), "catalog:read").await,
        ("name", FieldError::TooLong { max: 80 })
    );
    assert_eq!(
        refused("ERP\u{0}sync".into(), "catalog:read").await,
        ("name", FieldError::ControlCharacters)
    );
    assert_eq!(
        refused("ERP".into(), "").await,
        ("scopes", FieldError::Required)
    );
    assert!(api_keys::list(&db, &owner).await.unwrap().is_empty());
    assert_eq!(
        audit::list(&db, Some(owner.organization_id()), 10)
            .await
            .unwrap()
            .len(),
        0
    );
}

async fn another_organizations_key_is_not_found(db: Db) {
    let owner_a = owner_of_new_organization(&db).await;
    let owner_b = owner_of_new_organization(&db).await;
    let key_a = api_keys::create(&db, &owner_a, "A", scopes("catalog:read"), None)
        .await
        .unwrap();

    let err = api_keys::revoke(&db, &owner_b, key_a.summary.id, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiKeyError::Access(AccessError::NotFound)),
        "{err:?}"
    );
    let err = api_keys::revoke(&db, &owner_b, Uuid::new_v4(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, ApiKeyError::Access(AccessError::NotFound)));
    assert!(api_keys::list(&db, &owner_b).await.unwrap().is_empty());
    assert!(stored(&db, key_a.summary.id).await.revoked_at.is_none());
    assert!(
        api_keys::authenticate(&db, key_a.key.expose(), Utc::now())
            .await
            .is_ok()
    );
}

async fn members_without_the_permission_are_forbidden(db: Db) {
    let owner = owner_of_new_organization(&db).await;
    let org = owner.organization_id();
    let key = api_keys::create(&db, &owner, "ERP", scopes("catalog:read"), None)
        .await
        .unwrap();
    for role in [Role::Viewer, Role::Editor] {
        let scope = member(&db, org, role).await;
        assert!(!scope.can(Permission::ManageApiKeys));
        let forbidden = |result: Result<_, ApiKeyError>| {
            matches!(result, Err(ApiKeyError::Access(AccessError::Forbidden)))
        };
        assert!(forbidden(
            api_keys::create(&db, &scope, "Mine", scopes("catalog:read"), None)
                .await
                .map(|_| ())
        ));
        assert!(forbidden(api_keys::list(&db, &scope).await.map(|_| ())));
        assert!(forbidden(
            api_keys::revoke(&db, &scope, key.summary.id, None).await
        ));
    }
    // Admins manage keys.
    let admin = member(&db, org, Role::Admin).await;
    assert_eq!(api_keys::list(&db, &admin).await.unwrap().len(), 1);
    // An API key's own scope never manages keys, whatever its scopes.
    let machine = api_keys::authenticate(&db, key.key.expose(), Utc::now())
        .await
        .unwrap();
    assert!(matches!(
        api_keys::create(&db, &machine, "Child", scopes("catalog:read"), None).await,
        Err(ApiKeyError::Access(AccessError::Forbidden))
    ));
}

async fn keys_authenticate_only_when_exact_and_active(db: Db) {
    let owner = owner_of_new_organization(&db).await;
    let created = api_keys::create(
        &db,
        &owner,
        "ERP",
        scopes("organization:read orders:write"),
        None,
    )
    .await
    .unwrap();
    let key = created.key.expose().clone();
    let now = Utc::now();

    let scope = api_keys::authenticate(&db, &format!(" {key}\n"), now)
        .await
        .unwrap();
    assert_eq!(scope.organization_id(), owner.organization_id());
    assert_eq!(
        scope.actor(),
        &Actor::ApiKey {
            key_id: created.summary.id,
            scopes: scopes("organization:read orders:write"),
        }
    );
    assert!(scope.can(Permission::EditOrders));
    assert!(!scope.can(Permission::ViewCatalog));
    assert_eq!(scope.user_id(), None);

    let invalid = |presented: String| {
        let db = db.clone();
        async move {
            matches!(
                api_keys::authenticate(&db, &presented, now).await,
                Err(ApiKeyError::InvalidKey)
            )
        }
    };
    // The right prefix with another secret.
    let mut wrong_secret = key.clone().into_bytes();
    let last = wrong_secret.len() - 1;
    wrong_secret[last] = if wrong_secret[last] == b'A' {
        b'B'
    } else {
        b'A'
    };
    assert!(invalid(String::from_utf8(wrong_secret).unwrap()).await);
    // An unknown prefix with the right secret.
    assert!(invalid(format!("smk_zzzzzzzz{}", &key[12..])).await);
    for malformed in [
        String::new(),
        "smk_".into(),
        key[..key.len() - 1].to_owned(),
        format!("{key}x"),
        key.to_uppercase(),
        format!("Bearer {key}"),
        "' OR 1=1 --".into(),
    ] {
        assert!(invalid(malformed.clone()).await, "{malformed}");
    }

    api_keys::revoke(&db, &owner, created.summary.id, None)
        .await
        .unwrap();
    assert!(invalid(key).await, "revoked");
}

async fn last_use_is_noted_at_most_once_a_minute(db: Db) {
    let owner = owner_of_new_organization(&db).await;
    let created = api_keys::create(&db, &owner, "ERP", scopes("catalog:read"), None)
        .await
        .unwrap();
    let key = created.key.expose().clone();
    let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    assert_eq!(stored(&db, created.summary.id).await.last_used_at, None);

    api_keys::authenticate(&db, &key, start).await.unwrap();
    assert_eq!(
        stored(&db, created.summary.id).await.last_used_at,
        Some(start)
    );
    api_keys::authenticate(&db, &key, start + Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!(
        stored(&db, created.summary.id).await.last_used_at,
        Some(start)
    );
    let later = start + Duration::seconds(61);
    api_keys::authenticate(&db, &key, later).await.unwrap();
    assert_eq!(
        stored(&db, created.summary.id).await.last_used_at,
        Some(later)
    );
}

async fn tokens_carry_a_subset_and_are_checked_against_the_key(db: Db) {
    let signing = KeyList::parse(&generate_entry("k1")).unwrap();
    let owner = owner_of_new_organization(&db).await;
    let created = api_keys::create(
        &db,
        &owner,
        "ERP",
        scopes("organization:read catalog:read"),
        None,
    )
    .await
    .unwrap();
    let now = Utc::now();
    let machine = api_keys::authenticate(&db, created.key.expose(), now)
        .await
        .unwrap();

    // All of the key's scopes, or a subset; never more.
    let all = api_keys::issue_token(&signing, ISSUER, &machine, None, now).unwrap();
    assert_eq!(all.scopes, scopes("organization:read catalog:read"));
    let narrow = scopes("catalog:read");
    let token = api_keys::issue_token(&signing, ISSUER, &machine, Some(&narrow), now).unwrap();
    assert_eq!(token.scopes, narrow);
    for wider in ["catalog:read catalog:write", ""] {
        assert!(matches!(
            api_keys::issue_token(&signing, ISSUER, &machine, Some(&scopes(wider)), now),
            Err(ApiKeyError::InvalidScope)
        ));
    }
    // Members get no API tokens.
    assert!(matches!(
        api_keys::issue_token(&signing, ISSUER, &owner, None, now),
        Err(ApiKeyError::InvalidKey)
    ));

    let claims = jwt::verify(&signing, ISSUER, token.token.expose(), now).unwrap();
    let scope = api_keys::scope_for_token(&db, &claims, now).await.unwrap();
    assert_eq!(scope.organization_id(), owner.organization_id());
    assert!(scope.can(Permission::ViewCatalog));
    assert!(!scope.can(Permission::ViewOrganization), "narrowed");

    // A token cannot claim more than the key has, nor another organization.
    let mut greedy = claims.clone();
    greedy.scopes = scopes("catalog:read orders:write");
    let scope = api_keys::scope_for_token(&db, &greedy, now).await.unwrap();
    assert!(!scope.can(Permission::EditOrders));
    let mut elsewhere = claims.clone();
    elsewhere.organization_id = Uuid::new_v4();
    assert!(matches!(
        api_keys::scope_for_token(&db, &elsewhere, now).await,
        Err(ApiKeyError::InvalidKey)
    ));

    // Revoking the key ends its tokens at once.
    api_keys::revoke(&db, &owner, created.summary.id, None)
        .await
        .unwrap();
    assert!(matches!(
        api_keys::scope_for_token(&db, &claims, now).await,
        Err(ApiKeyError::InvalidKey)
    ));
}

db_tests!(
    keys_are_created_listed_and_revoked,
    names_and_scopes_are_validated,
    another_organizations_key_is_not_found,
    members_without_the_permission_are_forbidden,
    keys_authenticate_only_when_exact_and_active,
    last_use_is_noted_at_most_once_a_minute,
    tokens_carry_a_subset_and_are_checked_against_the_key,
);
