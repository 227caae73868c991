//! Signing in, throttling, password reset and change, and the session store — on both engines.

use std::{collections::HashMap, net::IpAddr};

use chrono::{DateTime, Duration, SubsecRound, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use shopmarkets_core::{
    accounts::{
        AccountError,
        login::{LoginError, LoginOutcome, login},
        password, throttle,
    },
    audit,
    db::Db,
    db_tests,
    entity::{email_outbox, session, user},
    notifications,
    secret::Secret,
    sessions::{self, AUTH_KEY, DbSessionStore, SessionAuth, Stage},
    testing::{confirmed_user, emailed_token, registered_user, registration},
};
use shopmarkets_types::{FieldError, Password};
use tower_sessions_core::{
    SessionStore,
    session::{Id, Record},
};
use uuid::Uuid;

const BASE: &str = "https://app.example.com";
const PASSWORD: &str = "Korrekt Pferd Batterie";

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

fn pw(s: &str) -> Secret<String> {
    Secret::new(s.to_owned())
}

/// Anna's sign-in with `password`, from `from` at `at`.
async fn anna_login(
    db: &Db,
    password: &str,
    from: Option<IpAddr>,
    at: DateTime<Utc>,
) -> Result<LoginOutcome, LoginError> {
    login(db, BASE, "anna@example.com", pw(password), from, at).await
}

async fn mails_of_kind(db: &Db, kind: &str) -> u64 {
    email_outbox::Entity::find()
        .filter(email_outbox::Column::Kind.eq(kind))
        .count(db)
        .await
        .unwrap()
}

async fn the_right_password_signs_in_and_is_audited(db: Db) {
    let user_id = confirmed_user(&db, "anna@example.com", PASSWORD).await;
    let outcome = login(
        &db,
        BASE,
        "Anna@Example.com",
        pw(PASSWORD),
        ip("198.51.100.1"),
        Utc::now(),
    )
    .await
    .unwrap();
    let LoginOutcome::SignedIn {
        user_id: signed_in,
        organization_id,
    } = outcome
    else {
        panic!("expected a sign-in, got {outcome:?}");
    };
    assert_eq!(signed_in, user_id);
    let organization_id = organization_id.expect("the user's organization");
    let entries = audit::list(&db, Some(organization_id), 10).await.unwrap();
    assert_eq!(entries[0].action, "login.succeeded");
    assert_eq!(entries[0].ip_prefix.as_deref(), Some("198.51.100.0/24"));
}

async fn unknown_address_and_wrong_password_are_refused_alike(db: Db) {
    confirmed_user(&db, "anna@example.com", PASSWORD).await;
    let now = Utc::now();
    for (email, password) in [
        ("anna@example.com", "Falsches Pferd Batterie"),
        ("nobody@example.com", PASSWORD),
        ("not an address", PASSWORD),
        ("anna@example.com", &"x".repeat(5000)),
    ] {
        let result = login(&db, BASE, email, pw(password), ip("198.51.100.1"), now).await;
        assert!(matches!(result, Err(LoginError::Refused)), "{email}");
    }
}

async fn an_unconfirmed_address_gets_a_new_link_instead_of_a_session(db: Db) {
    registered_user(&db, registration("late@example.com", PASSWORD)).await;
    assert_eq!(mails_of_kind(&db, "verify_email").await, 1);
    let outcome = login(
        &db,
        BASE,
        "late@example.com",
        pw(PASSWORD),
        None,
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(outcome, LoginOutcome::EmailNotVerified);
    assert_eq!(mails_of_kind(&db, "verify_email").await, 2);
}

/// Guessing from one address slows that address down; the owner elsewhere signs in; the
/// owner hears about it once.
async fn guessing_is_throttled_per_account_and_address(db: Db) {
    let user_id = confirmed_user(&db, "anna@example.com", PASSWORD).await;
    let attacker = ip("203.0.113.66");
    let start = Utc::now();
    for attempt in 1..=5 {
        let result = anna_login(&db, "Falsch Falsch Falsch", attacker, start).await;
        assert!(
            matches!(result, Err(LoginError::Refused)),
            "attempt {attempt}"
        );
    }
    assert_eq!(mails_of_kind(&db, "suspicious_sign_ins").await, 0);
    // The sixth failure starts the back-off and tells the owner.
    let _ = anna_login(&db, "Falsch Falsch Falsch", attacker, start).await;
    assert_eq!(mails_of_kind(&db, "suspicious_sign_ins").await, 1);
    let unread = notifications::unread(&db, user_id).await.unwrap();
    assert_eq!(unread.len(), 1);
    assert_eq!(unread[0].kind, notifications::Kind::SuspiciousSignIns);

    // While blocked, even the right password from that address gets the generic refusal.
    let blocked = anna_login(&db, PASSWORD, attacker, start).await;
    assert!(matches!(blocked, Err(LoginError::Refused)));
    // The owner, from elsewhere, is not affected.
    let owner = anna_login(&db, PASSWORD, ip("198.51.100.1"), start).await;
    assert!(
        matches!(owner, Ok(LoginOutcome::SignedIn { .. })),
        "{owner:?}"
    );
    // Once the block has run out, the right password works from the attacker's address too.
    let later = start + Duration::seconds(2);
    let after = anna_login(&db, PASSWORD, attacker, later).await;
    assert!(
        matches!(after, Ok(LoginOutcome::SignedIn { .. })),
        "{after:?}"
    );
    // More failures the same day do not send a second email.
    for _ in 0..7 {
        let _ = anna_login(&db, "Falsch", attacker, later).await;
    }
    assert_eq!(mails_of_kind(&db, "suspicious_sign_ins").await, 1);
}

/// A distributed attack reaches the hourly ceiling of 100 failures; after that the account
/// takes no attempts until the hour is over, or until a password reset.
async fn the_account_takes_at_most_100_failures_an_hour(db: Db) {
    confirmed_user(&db, "anna@example.com", PASSWORD).await;
    // Microseconds, as both engines store them.
    let start = Utc::now().trunc_subsecs(6);
    for n in 0..100u32 {
        let from = ip(&format!("10.{}.{}.1", n / 250, n % 250));
        let result = anna_login(&db, "Falsch Falsch Falsch", from, start).await;
        assert!(matches!(result, Err(LoginError::Refused)));
    }
    let keys = throttle::password_keys("anna@example.com", None);
    let until = throttle::blocked_until(&db, &keys, start).await.unwrap();
    assert_eq!(until, Some(start + throttle::WINDOW));
    let fresh = anna_login(&db, PASSWORD, ip("192.0.2.1"), start).await;
    assert!(matches!(fresh, Err(LoginError::Refused)));
    // After the hour, the owner is in again.
    let later = start + throttle::WINDOW + Duration::seconds(1);
    let owner = anna_login(&db, PASSWORD, ip("192.0.2.1"), later).await;
    assert!(
        matches!(owner, Ok(LoginOutcome::SignedIn { .. })),
        "{owner:?}"
    );
}

async fn a_password_reset_lifts_the_block_and_ends_every_session(db: Db) {
    let user_id = confirmed_user(&db, "anna@example.com", PASSWORD).await;
    let store = DbSessionStore::new(db.clone());
    signed_in_session(&store, user_id).await;
    let start = Utc::now();
    for n in 0..100u32 {
        let from = ip(&format!("10.0.{}.{}", n / 250, n % 250));
        let _ = anna_login(&db, "Falsch Falsch Falsch", from, start).await;
    }

    // Unknown addresses get nothing, known ones a link.
    password::request_reset(&db, BASE, "nobody@example.com", None)
        .await
        .unwrap();
    password::request_reset(&db, BASE, "ANNA@example.com", None)
        .await
        .unwrap();
    assert_eq!(mails_of_kind(&db, "reset_password").await, 1);
    let token = emailed_token(&db, "anna@example.com", "reset_password").await;

    let common = password::reset(
        &db,
        &token,
        Password::parse("1qaz2wsx3edc").unwrap(),
        None,
        start,
    )
    .await;
    assert!(matches!(
        common,
        Err(AccountError::Field {
            field: "password",
            error: FieldError::CommonPassword
        })
    ));
    let new_password = "Neues Pferd Batterie";
    password::reset(
        &db,
        &token,
        Password::parse(new_password).unwrap(),
        None,
        start,
    )
    .await
    .unwrap();
    let again = password::reset(
        &db,
        &token,
        Password::parse("Noch ein Pferd 99").unwrap(),
        None,
        start,
    )
    .await;
    assert!(
        matches!(again, Err(AccountError::InvalidLink)),
        "the link works once"
    );

    assert_eq!(sessions_of(&db, user_id).await, 0, "every session ended");
    assert_eq!(mails_of_kind(&db, "password_changed").await, 1);
    let old = anna_login(&db, PASSWORD, ip("192.0.2.1"), start).await;
    assert!(matches!(old, Err(LoginError::Refused)));
    let new = anna_login(&db, new_password, ip("192.0.2.1"), start).await;
    assert!(
        matches!(new, Ok(LoginOutcome::SignedIn { .. })),
        "the block is lifted: {new:?}"
    );
}

async fn changing_the_password_needs_the_current_one_and_ends_other_sessions(db: Db) {
    let user_id = confirmed_user(&db, "anna@example.com", PASSWORD).await;
    let store = DbSessionStore::new(db.clone());
    let current = signed_in_session(&store, user_id).await;
    signed_in_session(&store, user_id).await;
    signed_in_session(&store, user_id).await;
    let before = user::Entity::find_by_id(user_id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();

    let wrong = password::change(
        &db,
        user_id,
        pw("Nicht das Passwort"),
        Password::parse("Neues Pferd Batterie").unwrap(),
        Some(&current),
        None,
        Utc::now(),
    )
    .await;
    assert!(matches!(
        wrong,
        Err(AccountError::Field {
            field: "current_password",
            error: FieldError::WrongPassword
        })
    ));
    let unchanged = user::Entity::find_by_id(user_id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged.password_hash, before.password_hash);
    assert_eq!(sessions_of(&db, user_id).await, 3);

    password::change(
        &db,
        user_id,
        pw(PASSWORD),
        Password::parse("Neues Pferd Batterie").unwrap(),
        Some(&current),
        ip("198.51.100.1"),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(sessions_of(&db, user_id).await, 1);
    assert!(
        store.load(&current).await.unwrap().is_some(),
        "this session stays"
    );
    let organization_id = shopmarkets_core::accounts::login::default_organization(&db, user_id)
        .await
        .unwrap();
    let entries = audit::list(&db, organization_id, 5).await.unwrap();
    assert_eq!(entries[0].action, "password.changed");
    assert!(
        audit::verify_chain(&db, organization_id)
            .await
            .unwrap()
            .is_intact()
    );
}

async fn signed_in_session(store: &DbSessionStore, user_id: Uuid) -> Id {
    let auth = SessionAuth::new(
        user_id,
        Stage::SignedIn,
        None,
        Utc::now(),
        Some("Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36"),
        Some("198.51.100.0/24".to_owned()),
    );
    let mut record = Record {
        id: Id::default(),
        data: HashMap::from([(AUTH_KEY.to_owned(), serde_json::to_value(auth).unwrap())]),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::minutes(30),
    };
    store.create(&mut record).await.unwrap();
    record.id
}

async fn sessions_of(db: &Db, user_id: Uuid) -> u64 {
    session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .count(db)
        .await
        .unwrap()
}

async fn the_store_keeps_only_hashes_and_never_revives_an_ended_session(db: Db) {
    let user_id = confirmed_user(&db, "anna@example.com", PASSWORD).await;
    let store = DbSessionStore::new(db.clone());
    let id = signed_in_session(&store, user_id).await;

    let row = session::Entity::find().one(&db).await.unwrap().unwrap();
    assert_ne!(row.id_hash, id.to_string());
    assert!(!row.data.contains(&id.to_string()));
    assert_eq!(row.user_id, Some(user_id));
    assert!(row.fully_authenticated);

    let mut record = store.load(&id).await.unwrap().expect("the session loads");
    let auth: SessionAuth = serde_json::from_value(record.data[AUTH_KEY].clone()).unwrap();
    assert_eq!(auth.user_id, user_id);

    // Ended elsewhere while a request of it was running: its save does not bring it back.
    assert_eq!(
        sessions::end_all_except(&db, user_id, None).await.unwrap(),
        1
    );
    record
        .data
        .insert("late".to_owned(), serde_json::json!(true));
    store.save(&record).await.unwrap();
    assert!(store.load(&id).await.unwrap().is_none());

    // An expired record does not load.
    let mut old = Record {
        id: Id::default(),
        data: HashMap::new(),
        expiry_date: time::OffsetDateTime::now_utc() - time::Duration::seconds(1),
    };
    store.create(&mut old).await.unwrap();
    assert!(store.load(&old.id).await.unwrap().is_none());
    assert_eq!(sessions::delete_expired(&db).await.unwrap(), 1);
}

async fn users_list_and_end_only_their_own_sessions(db: Db) {
    let anna = confirmed_user(&db, "anna@example.com", PASSWORD).await;
    let ben = confirmed_user(&db, "ben@example.com", PASSWORD).await;
    let store = DbSessionStore::new(db.clone());
    let current = signed_in_session(&store, anna).await;
    let other = signed_in_session(&store, anna).await;
    signed_in_session(&store, ben).await;

    let list = sessions::list_for_user(&db, anna, Some(&current))
        .await
        .unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list.iter().filter(|s| s.current).count(), 1);
    assert!(list.iter().all(|s| s.device == "Chrome · Linux"));
    assert!(
        list.iter()
            .all(|s| s.ip_prefix.as_deref() == Some("198.51.100.0/24"))
    );

    let bens = sessions::list_for_user(&db, ben, None).await.unwrap();
    assert!(
        !sessions::end_by_handle(&db, anna, bens[0].handle)
            .await
            .unwrap()
    );
    assert_eq!(
        sessions_of(&db, ben).await,
        1,
        "another user's session stays"
    );

    let other_handle = list.iter().find(|s| !s.current).unwrap().handle;
    assert!(
        sessions::end_by_handle(&db, anna, other_handle)
            .await
            .unwrap()
    );
    assert!(store.load(&other).await.unwrap().is_none());
    assert!(store.load(&current).await.unwrap().is_some());
}

/// With TOTP on, the password step only opens the second-factor step, which is throttled per
/// user and refuses a code used before.
async fn the_second_factor_step_is_throttled_and_refuses_replays(db: Db) {
    use shopmarkets_core::{
        accounts::login::second_factor,
        crypto::Cipher,
        testing::{self, enable_two_factor},
    };
    let user_id = confirmed_user(&db, "anna@example.com", PASSWORD).await;
    let cipher = Cipher::new(&testing::config(&[]).encryption_keys);
    let start = Utc::now();
    let (secret, _) = enable_two_factor(&db, &cipher, user_id, PASSWORD, start).await;
    let at = |t: DateTime<Utc>| secret.code_at(t.timestamp() as u64);

    let later = start + Duration::seconds(60);
    let outcome = anna_login(&db, PASSWORD, None, later).await.unwrap();
    assert!(
        matches!(outcome, LoginOutcome::SecondFactorRequired { user_id: u, .. } if u == user_id)
    );

    for _ in 0..6 {
        let wrong = second_factor(&db, BASE, &cipher, user_id, "000000", None, later).await;
        assert!(matches!(wrong, Err(LoginError::Refused)));
    }
    // Blocked: even the right code is refused, and the owner hears about it.
    let blocked = second_factor(&db, BASE, &cipher, user_id, &at(later), None, later).await;
    assert!(matches!(blocked, Err(LoginError::Refused)));
    assert_eq!(mails_of_kind(&db, "suspicious_sign_ins").await, 1);

    let after = later + Duration::seconds(30);
    let code = at(after);
    second_factor(&db, BASE, &cipher, user_id, &code, None, after)
        .await
        .expect("the right code after the block");
    let replay = second_factor(&db, BASE, &cipher, user_id, &code, None, after).await;
    assert!(
        matches!(replay, Err(LoginError::Refused)),
        "a code works once"
    );
}

/// Twenty wrong passwords at the same moment from one address: each attempt is counted before
/// its password is checked, so only the five free ones and the one that starts the back-off
/// reach the password check (and the audit log); the rest are refused unchecked.
async fn a_burst_of_attempts_is_counted_before_any_password_is_checked(db: Db) {
    let user_id = confirmed_user(&db, "anna@example.com", PASSWORD).await;
    let now = Utc::now();
    let attempts = (0..20).map(|_| {
        let db = db.clone();
        tokio::spawn(async move {
            anna_login(&db, "Falsch Falsch Falsch", ip("203.0.113.9"), now).await
        })
    });
    for attempt in attempts {
        assert!(matches!(attempt.await.unwrap(), Err(LoginError::Refused)));
    }
    let organization_id = shopmarkets_core::accounts::login::default_organization(&db, user_id)
        .await
        .unwrap();
    let checked = audit::list(&db, organization_id, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "login.failed")
        .count();
    assert_eq!(
        checked, 6,
        "5 free attempts and the one that starts the back-off"
    );
}

/// The owner signing in during a distributed attack does not reset the hourly ceiling.
async fn a_successful_sign_in_keeps_the_hourly_ceiling(db: Db) {
    confirmed_user(&db, "anna@example.com", PASSWORD).await;
    let start = Utc::now().trunc_subsecs(6);
    for n in 0..99u32 {
        let from = ip(&format!("10.7.{}.{}", n / 250, n % 250));
        let _ = anna_login(&db, "Falsch Falsch Falsch", from, start).await;
    }
    let owner = anna_login(&db, PASSWORD, ip("192.0.2.1"), start).await;
    assert!(
        matches!(owner, Ok(LoginOutcome::SignedIn { .. })),
        "{owner:?}"
    );
    let _ = anna_login(&db, "Falsch Falsch Falsch", ip("10.8.0.1"), start).await;
    let keys = throttle::password_keys("anna@example.com", None);
    assert_eq!(
        throttle::blocked_until(&db, &keys, start).await.unwrap(),
        Some(start + throttle::WINDOW),
        "the hundredth failure still blocks"
    );
}

/// Re-entering the current password is throttled per user: a stolen session cannot guess it.
async fn the_current_password_cannot_be_guessed_through_a_session(db: Db) {
    let user_id = confirmed_user(&db, "anna@example.com", PASSWORD).await;
    let now = Utc::now();
    let change = |current: &'static str| {
        let db = db.clone();
        async move {
            password::change(
                &db,
                user_id,
                pw(current),
                Password::parse("Neues Pferd Batterie").unwrap(),
                None,
                None,
                now,
            )
            .await
        }
    };
    for _ in 0..6 {
        assert!(change("Falsch Falsch Falsch").await.is_err());
    }
    let blocked = change(PASSWORD).await;
    assert!(
        matches!(
            blocked,
            Err(AccountError::Field {
                field: "current_password",
                ..
            })
        ),
        "even the right password is refused while blocked: {blocked:?}"
    );
}

/// A newer reset link voids the older one, and using one voids the rest.
async fn only_the_newest_reset_link_works(db: Db) {
    confirmed_user(&db, "anna@example.com", PASSWORD).await;
    password::request_reset(&db, BASE, "anna@example.com", None)
        .await
        .unwrap();
    let first = emailed_token(&db, "anna@example.com", "reset_password").await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    password::request_reset(&db, BASE, "anna@example.com", None)
        .await
        .unwrap();
    let second = emailed_token(&db, "anna@example.com", "reset_password").await;
    assert_ne!(first, second);
    let old = password::reset(
        &db,
        &first,
        Password::parse("Neues Pferd Batterie").unwrap(),
        None,
        Utc::now(),
    )
    .await;
    assert!(matches!(old, Err(AccountError::InvalidLink)));
    password::reset(
        &db,
        &second,
        Password::parse("Neues Pferd Batterie").unwrap(),
        None,
        Utc::now(),
    )
    .await
    .unwrap();
}

db_tests!(
    a_burst_of_attempts_is_counted_before_any_password_is_checked,
    a_successful_sign_in_keeps_the_hourly_ceiling,
    the_current_password_cannot_be_guessed_through_a_session,
    only_the_newest_reset_link_works,
    the_second_factor_step_is_throttled_and_refuses_replays,
    the_right_password_signs_in_and_is_audited,
    unknown_address_and_wrong_password_are_refused_alike,
    an_unconfirmed_address_gets_a_new_link_instead_of_a_session,
    guessing_is_throttled_per_account_and_address,
    the_account_takes_at_most_100_failures_an_hour,
    a_password_reset_lifts_the_block_and_ends_every_session,
    changing_the_password_needs_the_current_one_and_ends_other_sessions,
    the_store_keeps_only_hashes_and_never_revives_an_ended_session,
    users_list_and_end_only_their_own_sessions,
);
