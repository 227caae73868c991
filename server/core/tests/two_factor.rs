//! TOTP two-factor authentication on both engines: enrolment, codes that work once, recovery
//! codes, turning it off, secrets encrypted at rest, and two logins racing with one code.

use chrono::{DateTime, Duration, TimeZone, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use shopmarkets_core::{
    accounts::{
        AccountError,
        totp::TotpSecret,
        two_factor::{self, Enrolment, SecondFactor, TwoFactorStatus},
    },
    audit,
    clock::{Clock, ManualClock},
    config::{KeyList, keys},
    crypto::Cipher,
    db::Db,
    db_tests,
    entity::{recovery_code, user},
    secret::Secret,
    testing::{TestDb, enable_two_factor, registered_user, registration, totp_secret},
};
use shopmarkets_types::FieldError;
use uuid::Uuid;

const PASSWORD: &str = "Heftklammer Batterie 42";

fn pw(password: &str) -> Secret<String> {
    Secret::new(password.to_owned())
}

fn cipher() -> Cipher {
    Cipher::new(&KeyList::parse(&keys::generate_entry("t1")).unwrap())
}

/// A clock at the start of a time step, so "the next code" is exactly 30 seconds away.
fn clock() -> ManualClock {
    ManualClock::new(Utc.timestamp_opt(1_900_000_020, 0).unwrap())
}

/// A user who signed up with `PASSWORD` (the address not yet confirmed).
async fn new_user(db: &Db, email: &str) -> Uuid {
    registered_user(db, registration(email, PASSWORD)).await
}

async fn row_by_id(db: &Db, user_id: Uuid) -> user::Model {
    user::Entity::find_by_id(user_id)
        .one(db)
        .await
        .unwrap()
        .unwrap()
}

/// Starts an enrolment with the right password.
async fn begin(db: &Db, cipher: &Cipher, user_id: Uuid, now: DateTime<Utc>) -> Enrolment {
    two_factor::begin_enrolment(db, cipher, user_id, &pw(PASSWORD), now)
        .await
        .unwrap()
}

/// What the authenticator app learns from the enrolment page.
fn app_secret(enrolment: &Enrolment) -> TotpSecret {
    totp_secret(&enrolment.secret_base32)
}

fn code(secret: &TotpSecret, at: DateTime<Utc>) -> String {
    secret.code_at(at.timestamp() as u64)
}

async fn codes_left(db: &Db, user_id: Uuid) -> u32 {
    two_factor::status(db, user_id)
        .await
        .unwrap()
        .recovery_codes_left
}

fn assert_field<T: std::fmt::Debug>(
    result: Result<T, AccountError>,
    expect_field: &str,
    expect: FieldError,
) {
    match result {
        Err(AccountError::Field { field, error }) => {
            assert_eq!((field, error), (expect_field, expect));
        }
        other => panic!("expected {expect_field}: {expect:?}, got {other:?}"),
    }
}

fn assert_wrong_code<T: std::fmt::Debug>(result: Result<T, AccountError>) {
    assert_field(result, "code", FieldError::WrongCode);
}

/// The user's home organization, whose audit chain holds events about their account.
async fn home(db: &Db, user_id: Uuid) -> Option<Uuid> {
    shopmarkets_core::accounts::login::default_organization(db, user_id)
        .await
        .unwrap()
}

/// The two-factor events in the user's home chain, oldest first.
async fn account_actions(db: &Db, user_id: Uuid) -> Vec<String> {
    let mut actions: Vec<String> = audit::list(db, home(db, user_id).await, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .filter(|action| action.starts_with("two_factor."))
        .collect();
    actions.reverse();
    actions
}

async fn enrolment_confirmation_and_codes_that_work_once(db: Db) {
    let cipher = cipher();
    let clock = clock();
    let user_id = new_user(&db, "erika@example.de").await;
    let off = TwoFactorStatus {
        enabled: false,
        enabled_at: None,
        recovery_codes_left: 0,
    };
    assert_eq!(two_factor::status(&db, user_id).await.unwrap(), off);

    let enrolment = begin(&db, &cipher, user_id, clock.now()).await;
    // Started is not on: without a confirmed code nothing is asked at login.
    assert_eq!(two_factor::status(&db, user_id).await.unwrap(), off);
    assert!(matches!(
        two_factor::verify(&db, &cipher, user_id, "123456", clock.now(), None).await,
        Err(AccountError::TwoFactorNotEnabled)
    ));

    let secret = app_secret(&enrolment);
    let confirmed_with = code(&secret, clock.now());
    let codes = two_factor::confirm_enrolment(
        &db,
        &cipher,
        user_id,
        &confirmed_with,
        clock.now(),
        Some("203.0.113.9".parse().unwrap()),
    )
    .await
    .unwrap();
    assert_eq!(codes.expose().len(), 10);
    assert_eq!(
        two_factor::status(&db, user_id).await.unwrap(),
        TwoFactorStatus {
            enabled: true,
            enabled_at: Some(clock.now()),
            recovery_codes_left: 10,
        }
    );
    assert!(row_by_id(&db, user_id).await.totp_pending_secret.is_none());

    // The code that confirmed the enrolment is used up.
    assert_wrong_code(
        two_factor::verify(&db, &cipher, user_id, &confirmed_with, clock.now(), None).await,
    );

    clock.advance(Duration::seconds(30));
    let login_code = code(&secret, clock.now());
    assert_eq!(
        two_factor::verify(&db, &cipher, user_id, &login_code, clock.now(), None)
            .await
            .unwrap(),
        SecondFactor::Totp
    );
    // Replays: the same code, and the previous step's code (still within the skew).
    assert_wrong_code(
        two_factor::verify(&db, &cipher, user_id, &login_code, clock.now(), None).await,
    );
    let previous = code(&secret, clock.now() - Duration::seconds(30));
    assert_wrong_code(
        two_factor::verify(&db, &cipher, user_id, &previous, clock.now(), None).await,
    );
    // A code typed with the app's space works like any other.
    clock.advance(Duration::seconds(30));
    let next = code(&secret, clock.now());
    let spaced = format!("{} {}", &next[..3], &next[3..]);
    assert_eq!(
        two_factor::verify(&db, &cipher, user_id, &spaced, clock.now(), None)
            .await
            .unwrap(),
        SecondFactor::Totp
    );
    assert_eq!(
        row_by_id(&db, user_id).await.totp_last_step,
        Some(clock.now().timestamp() / 30)
    );
    // Codes from far off are wrong, not replays.
    assert_wrong_code(
        two_factor::verify(
            &db,
            &cipher,
            user_id,
            &code(&secret, clock.now() + Duration::minutes(5)),
            clock.now(),
            None,
        )
        .await,
    );

    let actions = account_actions(&db, user_id).await;
    assert_eq!(
        actions,
        [
            "two_factor.enabled",
            "two_factor.replay_rejected",
            "two_factor.replay_rejected",
            "two_factor.replay_rejected",
        ]
    );
    let events = audit::list(&db, home(&db, user_id).await, 100)
        .await
        .unwrap();
    let enabled = events
        .iter()
        .find(|e| e.action == "two_factor.enabled")
        .unwrap();
    assert_eq!(enabled.actor_user_id, Some(user_id));
    assert_eq!(enabled.ip_prefix.as_deref(), Some("203.0.113.0/24"));
    assert!(!events.iter().any(|e| e.details.contains(&login_code)));
    assert!(
        audit::verify_chain(&db, home(&db, user_id).await)
            .await
            .unwrap()
            .is_intact()
    );
}

async fn a_wrong_password_changes_nothing(db: Db) {
    let cipher = cipher();
    let clock = clock();
    let user_id = new_user(&db, "max@example.de").await;

    assert_field(
        two_factor::begin_enrolment(&db, &cipher, user_id, &pw("not my password!"), clock.now())
            .await,
        "password",
        FieldError::WrongPassword,
    );
    assert!(row_by_id(&db, user_id).await.totp_pending_secret.is_none());

    let (_, codes) = enable_two_factor(&db, &cipher, user_id, PASSWORD, clock.now()).await;
    let before = row_by_id(&db, user_id).await;
    assert_field(
        two_factor::disable(&db, user_id, &pw("not my password!"), clock.now(), None).await,
        "password",
        FieldError::WrongPassword,
    );
    assert_field(
        two_factor::regenerate_recovery_codes(&db, user_id, &pw(""), clock.now()).await,
        "password",
        FieldError::WrongPassword,
    );
    assert_eq!(row_by_id(&db, user_id).await, before);
    assert_eq!(codes_left(&db, user_id).await, 10);
    // The old recovery codes still work: nothing was regenerated.
    assert!(matches!(
        two_factor::verify(&db, &cipher, user_id, &codes.expose()[0], clock.now(), None).await,
        Ok(SecondFactor::RecoveryCode { remaining: 9 })
    ));
    assert_eq!(account_actions(&db, user_id).await, ["two_factor.enabled"]);
}

async fn a_wrong_code_leaves_two_factor_off(db: Db) {
    let cipher = cipher();
    let clock = clock();
    let user_id = new_user(&db, "lena@example.de").await;
    assert!(matches!(
        two_factor::confirm_enrolment(&db, &cipher, user_id, "123456", clock.now(), None).await,
        Err(AccountError::NoPendingEnrolment)
    ));

    let enrolment = begin(&db, &cipher, user_id, clock.now()).await;
    let secret = app_secret(&enrolment);
    for wrong in [
        code(&secret, clock.now() + Duration::minutes(5)),
        "abcdef".to_owned(),
        "".to_owned(),
        "0123a-bcdef".to_owned(),
    ] {
        assert_wrong_code(
            two_factor::confirm_enrolment(&db, &cipher, user_id, &wrong, clock.now(), None).await,
        );
    }
    let row = row_by_id(&db, user_id).await;
    assert!(row.totp_secret.is_none() && row.totp_enabled_at.is_none());
    assert!(row.totp_pending_secret.is_some(), "the user may try again");
    assert!(!two_factor::status(&db, user_id).await.unwrap().enabled);
    assert!(account_actions(&db, user_id).await.is_empty());

    // A second start replaces the first secret: the old app entry no longer confirms.
    let again = begin(&db, &cipher, user_id, clock.now()).await;
    assert_ne!(again.secret_base32, enrolment.secret_base32);
    assert_wrong_code(
        two_factor::confirm_enrolment(
            &db,
            &cipher,
            user_id,
            &code(&secret, clock.now()),
            clock.now(),
            None,
        )
        .await,
    );
    two_factor::confirm_enrolment(
        &db,
        &cipher,
        user_id,
        &code(&app_secret(&again), clock.now()),
        clock.now(),
        None,
    )
    .await
    .unwrap();

    // Once on, enrolling again or confirming again is refused.
    assert!(matches!(
        two_factor::begin_enrolment(&db, &cipher, user_id, &pw(PASSWORD), clock.now()).await,
        Err(AccountError::TwoFactorAlreadyEnabled)
    ));
    assert!(matches!(
        two_factor::confirm_enrolment(&db, &cipher, user_id, "123456", clock.now(), None).await,
        Err(AccountError::TwoFactorAlreadyEnabled)
    ));
}

async fn a_recovery_code_works_once(db: Db) {
    let cipher = cipher();
    let clock = clock();
    let user_id = new_user(&db, "ben@example.de").await;
    let other_id = new_user(&db, "other@example.de").await;
    let (_, codes) = enable_two_factor(&db, &cipher, user_id, PASSWORD, clock.now()).await;
    let (_, other_codes) = enable_two_factor(&db, &cipher, other_id, PASSWORD, clock.now()).await;

    let codes = codes.expose().to_vec();
    for code in &codes {
        assert!(
            code.len() == 11 && code.as_bytes()[5] == b'-',
            "xxxxx-xxxxx: {code}"
        );
    }
    let distinct: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(distinct.len(), 10);
    // Stored as hashes only.
    let stored = recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .all(&db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 10);
    for row in &stored {
        assert_eq!(row.code_hash.len(), 64);
        assert!(codes.iter().all(|c| !row.code_hash.contains(&c[..5])));
    }

    assert_eq!(
        two_factor::verify(&db, &cipher, user_id, &codes[0], clock.now(), None)
            .await
            .unwrap(),
        SecondFactor::RecoveryCode { remaining: 9 }
    );
    assert_wrong_code(
        two_factor::verify(&db, &cipher, user_id, &codes[0], clock.now(), None).await,
    );
    // Typed from paper: upper case, a space for the dash.
    let typed = codes[1].to_uppercase().replace('-', " ");
    assert_eq!(
        two_factor::verify(&db, &cipher, user_id, &typed, clock.now(), None)
            .await
            .unwrap(),
        SecondFactor::RecoveryCode { remaining: 8 }
    );
    // Another user's code, and a made-up one, are wrong.
    assert_wrong_code(
        two_factor::verify(
            &db,
            &cipher,
            user_id,
            &other_codes.expose()[0],
            clock.now(),
            None,
        )
        .await,
    );
    assert_wrong_code(
        two_factor::verify(&db, &cipher, user_id, "zzzzz-zzzzz", clock.now(), None).await,
    );
    assert_eq!(codes_left(&db, user_id).await, 8);
    assert_eq!(codes_left(&db, other_id).await, 10);

    // New codes replace all old ones.
    let fresh = two_factor::regenerate_recovery_codes(&db, user_id, &pw(PASSWORD), clock.now())
        .await
        .unwrap();
    assert_eq!(codes_left(&db, user_id).await, 10);
    assert_wrong_code(
        two_factor::verify(&db, &cipher, user_id, &codes[2], clock.now(), None).await,
    );
    assert!(matches!(
        two_factor::verify(&db, &cipher, user_id, &fresh.expose()[0], clock.now(), None).await,
        Ok(SecondFactor::RecoveryCode { remaining: 9 })
    ));
}

async fn disabling_clears_everything(db: Db) {
    let cipher = cipher();
    let clock = clock();
    let user_id = new_user(&db, "jonas@example.de").await;
    let (secret, codes) = enable_two_factor(&db, &cipher, user_id, PASSWORD, clock.now()).await;
    clock.advance(Duration::seconds(30));
    two_factor::verify(
        &db,
        &cipher,
        user_id,
        &code(&secret, clock.now()),
        clock.now(),
        None,
    )
    .await
    .unwrap();

    clock.advance(Duration::minutes(1));
    two_factor::disable(&db, user_id, &pw(PASSWORD), clock.now(), None)
        .await
        .unwrap();
    let row = row_by_id(&db, user_id).await;
    assert_eq!(
        (
            &row.totp_secret,
            &row.totp_pending_secret,
            row.totp_enabled_at,
            row.totp_last_step
        ),
        (&None, &None, None, None)
    );
    assert_eq!(row.updated_at, clock.now());
    assert!(
        recovery_code::Entity::find()
            .filter(recovery_code::Column::UserId.eq(user_id))
            .all(&db)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(!two_factor::status(&db, user_id).await.unwrap().enabled);
    assert!(matches!(
        two_factor::verify(&db, &cipher, user_id, &codes.expose()[0], clock.now(), None).await,
        Err(AccountError::TwoFactorNotEnabled)
    ));
    assert!(matches!(
        two_factor::disable(&db, user_id, &pw(PASSWORD), clock.now(), None).await,
        Err(AccountError::TwoFactorNotEnabled)
    ));
    assert!(matches!(
        two_factor::regenerate_recovery_codes(&db, user_id, &pw(PASSWORD), clock.now()).await,
        Err(AccountError::TwoFactorNotEnabled)
    ));
    assert_eq!(
        account_actions(&db, user_id).await,
        ["two_factor.enabled", "two_factor.disabled"]
    );

    // It can be turned on again, with a new secret.
    let (again, _) = enable_two_factor(&db, &cipher, user_id, PASSWORD, clock.now()).await;
    assert_ne!(again.to_base32(), secret.to_base32());
}

async fn secrets_are_stored_encrypted_and_bound_to_their_row(db: Db) {
    let cipher = cipher();
    let clock = clock();
    let user_id = new_user(&db, "anna@example.de").await;
    let enrolment = begin(&db, &cipher, user_id, clock.now()).await;
    let secret = app_secret(&enrolment);
    let assert_encrypted = |stored: &str| {
        assert!(stored.starts_with("v1.t1."), "{stored}");
        assert!(!stored.contains(&enrolment.secret_base32));
        assert!(!stored.contains(&enrolment.secret_base32.to_lowercase()));
        let raw = secret.expose_bytes();
        assert!(!stored.as_bytes().windows(raw.len()).any(|w| w == raw));
    };
    let pending = row_by_id(&db, user_id).await.totp_pending_secret.unwrap();
    assert_encrypted(&pending);
    assert_eq!(
        cipher
            .decrypt(&pending, &format!("totp-pending:{user_id}"))
            .unwrap()
            .expose(),
        secret.expose_bytes()
    );

    two_factor::confirm_enrolment(
        &db,
        &cipher,
        user_id,
        &code(&secret, clock.now()),
        clock.now(),
        None,
    )
    .await
    .unwrap();
    let active = row_by_id(&db, user_id).await.totp_secret.unwrap();
    assert_encrypted(&active);
    assert_ne!(active, pending, "encrypted again for its new place");
    assert_eq!(
        cipher
            .decrypt(&active, &format!("totp:{user_id}"))
            .unwrap()
            .expose(),
        secret.expose_bytes()
    );

    clock.advance(Duration::seconds(30));
    let next = code(&secret, clock.now());
    // Without the key (another key list), the stored secret is useless.
    assert!(matches!(
        two_factor::verify(
            &db,
            &Cipher::new(&KeyList::parse(&keys::generate_entry("t1")).unwrap()),
            user_id,
            &next,
            clock.now(),
            None
        )
        .await,
        Err(AccountError::Crypto(_))
    ));

    // Copied into another user's row, the secret does not decrypt there.
    let mallory = new_user(&db, "mallory@example.de").await;
    enable_two_factor(&db, &cipher, mallory, PASSWORD, clock.now()).await;
    user::Entity::update_many()
        .col_expr(user::Column::TotpSecret, Expr::value(active.clone()))
        .filter(user::Column::Id.eq(mallory))
        .exec(&db)
        .await
        .unwrap();
    assert!(matches!(
        two_factor::verify(&db, &cipher, mallory, &next, clock.now(), None).await,
        Err(AccountError::Crypto(_))
    ));
    // The rightful owner is unaffected.
    assert_eq!(
        two_factor::verify(&db, &cipher, user_id, &next, clock.now(), None)
            .await
            .unwrap(),
        SecondFactor::Totp
    );
}

async fn the_enrolment_shows_a_qr_code_and_a_standard_uri(db: Db) {
    let cipher = cipher();
    let clock = clock();
    let user_id = new_user(&db, "qr@example.de").await;
    let enrolment = begin(&db, &cipher, user_id, clock.now()).await;
    assert!(!format!("{enrolment:?}").contains(&enrolment.secret_base32));

    let svg = &enrolment.qr_svg;
    assert!(
        svg.starts_with("<svg") || svg.starts_with("<?xml"),
        "{svg:.60}"
    );
    assert!(svg.trim_end().ends_with("</svg>"));
    assert!(!svg.to_lowercase().contains("<script"));
    assert!(!svg.contains("href"), "no external references");

    let uri = &enrolment.otpauth_uri;
    assert!(
        uri.starts_with("otpauth://totp/ShopMarkets:qr%40example.de?"),
        "{uri}"
    );
    let query: Vec<(&str, &str)> = uri
        .split_once('?')
        .unwrap()
        .1
        .split('&')
        .map(|pair| pair.split_once('=').unwrap())
        .collect();
    for expected in [
        ("secret", enrolment.secret_base32.as_str()),
        ("issuer", "ShopMarkets"),
        ("algorithm", "SHA1"),
        ("digits", "6"),
        ("period", "30"),
    ] {
        assert!(query.contains(&expected), "{expected:?} in {uri}");
    }
    // An independent parser reads the same parameters.
    let parsed = totp_rs::Totp::from_url(uri).unwrap();
    assert_eq!(parsed.algorithm(), totp_rs::Algorithm::SHA1);
    assert_eq!((parsed.digits(), parsed.step()), (6, 30));
    assert_eq!(parsed.issuer(), Some("ShopMarkets"));
    assert_eq!(parsed.account_name(), "qr@example.de");
    let secret = app_secret(&enrolment);
    assert_eq!(secret.expose_bytes().len(), 20, "160-bit secret");
    assert_eq!(
        parsed.generate(clock.now().timestamp() as u64).to_string(),
        code(&secret, clock.now())
    );
}

db_tests!(
    enrolment_confirmation_and_codes_that_work_once,
    a_wrong_password_changes_nothing,
    a_wrong_code_leaves_two_factor_off,
    a_recovery_code_works_once,
    disabling_clears_everything,
    secrets_are_stored_encrypted_and_bound_to_their_row,
    the_enrolment_shows_a_qr_code_and_a_standard_uri,
);

/// Several logins send the same code at the same moment, over separate connections: exactly
/// one passes, round after round.
async fn racing_logins_with_one_code_let_exactly_one_in(db: Db) {
    const RACERS: usize = 4;
    let cipher = std::sync::Arc::new(cipher());
    let clock = clock();
    let user_id = new_user(&db, "race@example.de").await;
    let (secret, _) = enable_two_factor(&db, &cipher, user_id, PASSWORD, clock.now()).await;

    for round in 0..5 {
        clock.advance(Duration::seconds(30));
        let now = clock.now();
        let code = code(&secret, now);
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(RACERS));
        let racers: Vec<_> = (0..RACERS)
            .map(|_| {
                let (db, cipher, barrier, code) =
                    (db.clone(), cipher.clone(), barrier.clone(), code.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    two_factor::verify(&db, &cipher, user_id, &code, now, None).await
                })
            })
            .collect();
        let mut passed = 0;
        for racer in racers {
            match racer.await.unwrap() {
                Ok(SecondFactor::Totp) => passed += 1,
                refused => assert_wrong_code(refused),
            }
        }
        assert_eq!(passed, 1, "round {round}");
    }
    let replays = account_actions(&db, user_id)
        .await
        .iter()
        .filter(|a| *a == "two_factor.replay_rejected")
        .count();
    assert_eq!(replays, 5 * (RACERS - 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_logins_on_postgres() {
    if let Some(test_db) = TestDb::postgres().await {
        racing_logins_with_one_code_let_exactly_one_in(test_db.db.clone()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_logins_on_sqlite() {
    let test_db = TestDb::sqlite_file().await;
    racing_logins_with_one_code_let_exactly_one_in(test_db.db.clone()).await;
}
