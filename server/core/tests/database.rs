//! The schema on both engines: migrations apply, constraints hold, tenancy tables relate.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, EntityTrait, ModelTrait, Set};
use shopmarkets_core::{
    db::{self, Db, Engine},
    db_tests,
    entity::{membership, organization, user},
    system,
};
use uuid::Uuid;

async fn migrations_leave_nothing_pending(db: Db) {
    assert!(db::pending_migrations(&db).await.unwrap().is_empty());
    let status = system::status(&db).await.unwrap();
    assert!(status.migrations_applied >= 1);
    assert_eq!(status.migrations_pending, 0);
    assert!(status.schema_version.unwrap().starts_with("m2026"));
    // Applying again is a no-op, as at every start-up.
    db::migrate(&db).await.unwrap();
    db::ping(&db).await.unwrap();
}

fn new_user(email: &str) -> user::ActiveModel {
    let now = Utc::now();
    user::ActiveModel {
        id: Set(Uuid::new_v4()),
        email: Set(email.to_owned()),
        password_hash: Set("$argon2id$v=19$m=19456,t=2,p=1$placeholder".to_owned()),
        display_name: Set("Erika Mustermann".to_owned()),
        locale: Set("de".to_owned()),
        email_verified_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

async fn organization_members_and_roles_round_trip(db: Db) {
    let now = Utc::now();
    let org = organization::ActiveModel {
        id: Set(Uuid::new_v4()),
        name: Set("Muster GmbH".to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&db)
    .await
    .unwrap();
    let owner = new_user("owner@muster.example").insert(&db).await.unwrap();
    membership::ActiveModel {
        organization_id: Set(org.id),
        user_id: Set(owner.id),
        role: Set(membership::Role::Owner),
        created_at: Set(now),
    }
    .insert(&db)
    .await
    .unwrap();

    let members = org.find_related(membership::Entity).all(&db).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].role, membership::Role::Owner);
    assert_eq!(members[0].user_id, owner.id);

    // Deleting the organization removes its memberships, not the user.
    organization::Entity::delete_by_id(org.id)
        .exec(&db)
        .await
        .unwrap();
    assert!(
        membership::Entity::find()
            .all(&db)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        user::Entity::find_by_id(owner.id)
            .one(&db)
            .await
            .unwrap()
            .is_some()
    );
}

async fn email_is_unique(db: Db) {
    new_user("dup@muster.example").insert(&db).await.unwrap();
    let second = new_user("dup@muster.example").insert(&db).await;
    assert!(
        second.is_err(),
        "a second user with the same email must be refused"
    );
}

async fn each_test_gets_an_empty_database(db: Db) {
    assert!(user::Entity::find().all(&db).await.unwrap().is_empty());
    assert!(
        organization::Entity::find()
            .all(&db)
            .await
            .unwrap()
            .is_empty()
    );
    let engine = Engine::of(&db);
    assert!(matches!(engine, Engine::Sqlite | Engine::Postgres));
}

db_tests!(
    migrations_leave_nothing_pending,
    organization_members_and_roles_round_trip,
    email_is_unique,
    each_test_gets_an_empty_database,
);
