//! Signing up and confirming the address, on both engines.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use shopmarkets_core::{
    accounts::{
        AccountError,
        registration::{Registration, register, verify_email},
    },
    audit,
    db::Db,
    db_tests,
    entity::{account_token, membership, organization, user},
    mail,
};
use shopmarkets_types::{
    DisplayName, EmailAddress, FieldError, Locale, OrganizationName, Password,
};

const BASE: &str = "https://app.example.com";

fn sign_up(email: &str, password: &str) -> Registration {
    Registration {
        email: EmailAddress::parse(email).unwrap(),
        password: Password::parse(password).unwrap(),
        display_name: DisplayName::parse("Erika Mustermann").unwrap(),
        organization_name: OrganizationName::parse("Muster <b>GmbH</b>").unwrap(),
        locale: Locale::De,
    }
}

/// The token of the newest confirmation link sent to an address.
async fn link_token(db: &Db, address: &str) -> String {
    let mails = mail::to_address(db, address).await.unwrap();
    let body = &mails
        .iter()
        .find(|m| m.kind == "verify_email")
        .expect("a confirmation mail")
        .body_text;
    let start = body.find("token=").expect("a link with a token") + "token=".len();
    body[start..].split_whitespace().next().unwrap().to_owned()
}

async fn a_sign_up_creates_an_owner_and_sends_a_link(db: Db) {
    register(
        &db,
        BASE,
        sign_up("Erika@Example.de", "Heftklammer Batterie 42"),
        Some("203.0.113.7".parse().unwrap()),
    )
    .await
    .unwrap();

    let user = user::Entity::find().one(&db).await.unwrap().unwrap();
    assert_eq!(user.email, "erika@example.de");
    assert!(
        user.password_hash
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    );
    assert!(user.email_verified_at.is_none());
    let org = organization::Entity::find()
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        org.name, "Muster <b>GmbH</b>",
        "stored as text, escaped when shown"
    );
    let member = membership::Entity::find().one(&db).await.unwrap().unwrap();
    assert_eq!(
        (member.user_id, member.organization_id, member.role),
        (user.id, org.id, membership::Role::Owner)
    );

    let mails = mail::to_address(&db, "erika@example.de").await.unwrap();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].subject, "Bitte bestätigen Sie Ihre E-Mail-Adresse");
    let token = link_token(&db, "erika@example.de").await;
    assert!(
        mails[0]
            .body_text
            .contains(&format!("{BASE}/verify-email?token={token}"))
    );

    // Only the hash of the token is stored.
    let stored = account_token::Entity::find()
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(stored.token_hash, token);
    assert_eq!(stored.token_hash.len(), 64);

    let events = audit::list(&db, Some(org.id), 10).await.unwrap();
    assert_eq!(events[0].action, "account.registered");
    assert_eq!(events[0].ip_prefix.as_deref(), Some("203.0.113.0/24"));
}

async fn the_link_confirms_the_address_once(db: Db) {
    register(
        &db,
        BASE,
        sign_up("max@example.de", "Heftklammer Batterie 42"),
        None,
    )
    .await
    .unwrap();
    let token = link_token(&db, "max@example.de").await;

    let user_id = verify_email(&db, &token).await.unwrap();
    let user = user::Entity::find_by_id(user_id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert!(user.email_verified_at.is_some());

    assert!(matches!(
        verify_email(&db, &token).await,
        Err(AccountError::InvalidLink)
    ));
    assert!(matches!(
        verify_email(&db, "forged-token").await,
        Err(AccountError::InvalidLink)
    ));
    assert!(matches!(
        verify_email(&db, &"x".repeat(10_000)).await,
        Err(AccountError::InvalidLink)
    ));
}

async fn an_expired_link_is_refused(db: Db) {
    register(
        &db,
        BASE,
        sign_up("late@example.de", "Heftklammer Batterie 42"),
        None,
    )
    .await
    .unwrap();
    let token = link_token(&db, "late@example.de").await;
    account_token::Entity::update_many()
        .col_expr(
            account_token::Column::ExpiresAt,
            sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)),
        )
        .filter(account_token::Column::Purpose.eq("verify_email"))
        .exec(&db)
        .await
        .unwrap();
    assert!(matches!(
        verify_email(&db, &token).await,
        Err(AccountError::InvalidLink)
    ));
}

async fn signing_up_again_with_a_known_address_reveals_nothing(db: Db) {
    register(
        &db,
        BASE,
        sign_up("known@example.de", "Heftklammer Batterie 42"),
        None,
    )
    .await
    .unwrap();
    // Same answer as for a new address; no second account; the owner gets a notice.
    register(
        &db,
        BASE,
        sign_up("KNOWN@example.de", "ein ganz anderes Passwort"),
        None,
    )
    .await
    .unwrap();
    assert_eq!(user::Entity::find().all(&db).await.unwrap().len(), 1);
    assert_eq!(
        organization::Entity::find().all(&db).await.unwrap().len(),
        1
    );
    let kinds: Vec<String> = mail::to_address(&db, "known@example.de")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.kind)
        .collect();
    assert_eq!(kinds, ["already_registered", "verify_email"]);
}

async fn a_common_password_is_refused_and_nothing_is_stored(db: Db) {
    let result = register(
        &db,
        BASE,
        sign_up("common@example.de", "qwerty123456"),
        None,
    )
    .await;
    match result {
        Err(AccountError::Field { field, error }) => {
            assert_eq!((field, error), ("password", FieldError::CommonPassword));
        }
        other => panic!("expected a field error, got {other:?}"),
    }
    assert!(user::Entity::find().all(&db).await.unwrap().is_empty());
    assert!(mail::unsent(&db, 10).await.unwrap().is_empty());
}

db_tests!(
    a_sign_up_creates_an_owner_and_sends_a_link,
    the_link_confirms_the_address_once,
    an_expired_link_is_refused,
    signing_up_again_with_a_known_address_reveals_nothing,
    a_common_password_is_refused_and_nothing_is_stored,
);

async fn simultaneous_sign_ups_with_one_address_make_one_account(db: Db) {
    let attempts: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                register(
                    &db,
                    BASE,
                    sign_up("race@example.de", "Heftklammer Batterie 42"),
                    None,
                )
                .await
            })
        })
        .collect();
    for attempt in attempts {
        attempt.await.unwrap().unwrap();
    }
    assert_eq!(user::Entity::find().all(&db).await.unwrap().len(), 1);
    assert_eq!(
        organization::Entity::find().all(&db).await.unwrap().len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_sign_ups_on_postgres() {
    if let Some(test_db) = shopmarkets_core::testing::TestDb::postgres().await {
        simultaneous_sign_ups_with_one_address_make_one_account(test_db.db.clone()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_sign_ups_on_sqlite() {
    let test_db = shopmarkets_core::testing::TestDb::sqlite_file().await;
    simultaneous_sign_ups_with_one_address_make_one_account(test_db.db.clone()).await;
}
