//! Credentials at rest: encrypted per connection, readable under any configured key, and
//! `keys rotate` moves every one to the newest key so the old one can be removed.

use chrono::Utc;
use sea_orm::{ActiveModelTrait as _, EntityTrait as _, Set};
use shopmarkets_core::channels::connections;
use shopmarkets_core::channels::credentials::{ConnectionSecrets, Credentials};
use shopmarkets_core::config::{KeyList, keys};
use shopmarkets_core::crypto::{Cipher, CryptoError};
use shopmarkets_core::db::Db;
use shopmarkets_core::db_tests;
use shopmarkets_core::entity::channel_connection;
use shopmarkets_core::testing::owner_of_new_organization;
use uuid::Uuid;

/// The associated data a connection's ciphertext is bound to (the stored format).
fn aad(id: Uuid) -> String {
    format!("channel_connection:{id}")
}

fn secrets(token: &str) -> ConnectionSecrets {
    ConnectionSecrets {
        credentials: Credentials::OAuth {
            access_token: token.to_owned(),
            refresh_token: Some(format!("{token}-refresh")),
            access_expires_at: None,
            refresh_expires_at: None,
            previous_refresh_token: None,
        },
        webhook_secret: Some("whsec-canary".to_owned()),
    }
}

async fn insert(db: &Db, organization: Uuid, cipher: &Cipher, token: &str) -> Uuid {
    let id = Uuid::new_v4();
    let sealed = cipher.encrypt(&serde_json::to_vec(&secrets(token)).unwrap(), &aad(id));
    let now = Utc::now();
    channel_connection::ActiveModel {
        id: Set(id),
        organization_id: Set(organization),
        marketplace: Set("etsy".to_owned()),
        account_id: Set(format!("user-{token}")),
        account_name: Set("Shop".to_owned()),
        status: Set("active".to_owned()),
        scopes: Set("listings_r".to_owned()),
        secrets: Set(Some(sealed)),
        access_expires_at: Set(None),
        last_success_at: Set(None),
        last_error: Set(None),
        last_error_at: Set(None),
        webhook_ids: Set("[]".to_owned()),
        connected_by: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        disconnected_at: Set(None),
    }
    .insert(db)
    .await
    .unwrap();
    id
}

async fn stored(db: &Db, id: Uuid) -> String {
    channel_connection::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .secrets
        .unwrap()
}

fn read(cipher: &Cipher, id: Uuid, value: &str) -> Result<ConnectionSecrets, CryptoError> {
    let plain = cipher.decrypt(value, &aad(id))?;
    Ok(serde_json::from_slice(plain.expose()).unwrap())
}

async fn rotation_moves_every_credential_to_the_newest_key(db: Db) {
    let (_, scope) = owner_of_new_organization(&db, "owner@example.com", "Muster GmbH").await;
    let old_entry = keys::generate_entry("old");
    let new_entry = keys::generate_entry("new");
    let old_only = Cipher::new(&KeyList::parse(&old_entry).unwrap());
    let both = Cipher::new(&KeyList::parse(&format!("{new_entry},{old_entry}")).unwrap());
    let new_only = Cipher::new(&KeyList::parse(&new_entry).unwrap());

    let first = insert(&db, scope.organization_id(), &old_only, "first").await;
    let second = insert(&db, scope.organization_id(), &old_only, "second").await;
    let current = insert(&db, scope.organization_id(), &both, "current").await;

    // Before rotation: old-key rows open under the old key (and a list that still holds it),
    // not under the new key alone.
    for id in [first, second] {
        let value = stored(&db, id).await;
        assert!(value.starts_with("v1.old."), "{value}");
        assert!(read(&old_only, id, &value).is_ok());
        assert!(read(&both, id, &value).is_ok());
        assert!(matches!(
            read(&new_only, id, &value),
            Err(CryptoError::UnknownKey { .. })
        ));
    }
    // A ciphertext copied to another row does not open there.
    let copied = stored(&db, first).await;
    assert!(read(&both, second, &copied).is_err());

    let report = connections::rotate_keys(&db, &both).await.unwrap();
    assert_eq!(report.checked, 3);
    assert_eq!(
        report.reencrypted, 2,
        "the row already under the newest key is left alone"
    );
    assert!(report.failed.is_empty(), "{:?}", report.failed);

    // After rotation: every row opens under the new key alone, with the same content.
    for (id, token) in [(first, "first"), (second, "second"), (current, "current")] {
        let value = stored(&db, id).await;
        assert!(value.starts_with("v1.new."), "{value}");
        assert_eq!(read(&new_only, id, &value).unwrap(), secrets(token));
    }
    let again = connections::rotate_keys(&db, &both).await.unwrap();
    assert_eq!(again.reencrypted, 0, "a second run has nothing to do");
}

async fn rotation_reports_what_it_cannot_read(db: Db) {
    let (_, scope) = owner_of_new_organization(&db, "owner@example.com", "Muster GmbH").await;
    let gone = Cipher::new(&KeyList::parse(&keys::generate_entry("gone")).unwrap());
    let now = Cipher::new(&KeyList::parse(&keys::generate_entry("now")).unwrap());
    let id = insert(&db, scope.organization_id(), &gone, "orphan").await;
    let report = connections::rotate_keys(&db, &now).await.unwrap();
    assert_eq!(report.reencrypted, 0);
    assert_eq!(report.failed.len(), 1);
    assert!(
        report.failed[0].contains(&id.to_string()),
        "{:?}",
        report.failed
    );
    assert!(
        !report.failed[0].contains("orphan"),
        "the report never shows credential content"
    );
    assert!(
        stored(&db, id).await.starts_with("v1.gone."),
        "left as it was"
    );
}

/// Two-factor secrets live under the same keys: rotation moves them too, or removing the old
/// key would lock their owners out.
async fn rotation_moves_two_factor_secrets_too(db: Db) {
    use shopmarkets_core::entity::user;
    use shopmarkets_core::testing::{confirmed_user, enable_two_factor};
    let old_entry = keys::generate_entry("old");
    let new_entry = keys::generate_entry("new");
    let old_only = Cipher::new(&KeyList::parse(&old_entry).unwrap());
    let both = Cipher::new(&KeyList::parse(&format!("{new_entry},{old_entry}")).unwrap());
    let new_only = Cipher::new(&KeyList::parse(&new_entry).unwrap());
    let password = "Heftklammer Batterie Pferd 42";
    let user_id = confirmed_user(&db, "erika@example.com", password).await;
    enable_two_factor(&db, &old_only, user_id, password, Utc::now()).await;
    let before = user::Entity::find_by_id(user_id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    let secret = before.totp_secret.clone().unwrap();
    assert!(secret.starts_with("v1.old."), "{secret}");
    let aad = format!("totp:{user_id}");
    let plain = old_only.decrypt(&secret, &aad).unwrap();

    let report = connections::rotate_keys(&db, &both).await.unwrap();
    assert_eq!(report.reencrypted, 1, "{report:?}");
    let after = user::Entity::find_by_id(user_id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    let rotated = after.totp_secret.unwrap();
    assert!(rotated.starts_with("v1.new."), "{rotated}");
    assert_eq!(
        new_only.decrypt(&rotated, &aad).unwrap().expose(),
        plain.expose(),
        "the same secret, now under the new key"
    );
}

db_tests!(
    rotation_moves_every_credential_to_the_newest_key,
    rotation_reports_what_it_cannot_read,
    rotation_moves_two_factor_secrets_too
);
