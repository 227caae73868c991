//! A fresh, migrated database for every test, on SQLite and on PostgreSQL.
//!
//! [`db_tests!`](crate::db_tests) turns `async fn name(db: Db)` into two tests, `name::sqlite` and
//! `name::postgres`. PostgreSQL comes from `TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each test gets its own database, dropped
//! afterwards. When PostgreSQL is unreachable the PostgreSQL half reports SKIPPED, unless
//! `REQUIRE_POSTGRES=1`, which makes it fail.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, Database, EntityTrait, QueryFilter, Set};
use shopmarkets_types::{DisplayName, EmailAddress, Locale, OrganizationName, Password};
use uuid::Uuid;

use crate::{
    Secret,
    access::Scope,
    accounts::{
        registration::{self, Registration},
        totp::TotpSecret,
        two_factor::{self, RecoveryCodes},
    },
    crypto::Cipher,
    db::{self, DatabaseUrl, Db},
    entity::user,
    organizations,
};

pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database that lives as long as the test.
pub struct TestDb {
    pub db: Db,
    drop_on_exit: Option<(String, String)>,
}

impl TestDb {
    /// A migrated in-memory SQLite database.
    pub async fn sqlite() -> Self {
        let url = DatabaseUrl::parse("sqlite::memory:").expect("valid URL");
        Self {
            db: db::connect(&url, 1).await.expect("in-memory SQLite"),
            drop_on_exit: None,
        }
    }

    /// A migrated SQLite database in a file of its own (for tests that need several
    /// connections, as the server has).
    pub async fn sqlite_file() -> Self {
        let dir = std::env::temp_dir().join(format!("sm-test-{}", uuid::Uuid::new_v4().simple()));
        let url = DatabaseUrl::sqlite_file(&dir.join("test.db"));
        Self {
            db: db::connect(&url, 4).await.expect("SQLite file"),
            drop_on_exit: None,
        }
    }

    /// A migrated PostgreSQL database of its own, or `None` when PostgreSQL is unreachable and
    /// not required.
    pub async fn postgres() -> Option<Self> {
        let admin_url = admin_url();
        let admin = match Database::connect(&admin_url).await {
            Ok(admin) => admin,
            Err(e) if postgres_required() => {
                panic!("REQUIRE_POSTGRES=1 but PostgreSQL is unreachable: {e}")
            }
            Err(_) => {
                eprintln!(
                    "SKIPPED: PostgreSQL unreachable (TEST_DATABASE_URL); this test ran on SQLite only"
                );
                return None;
            }
        };
        let name = format!("sm_test_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        admin.close().await.ok();

        let url = DatabaseUrl::parse(&with_database(&admin_url, &name)).expect("valid URL");
        let db = db::connect(&url, 4)
            .await
            .expect("connect to test database");
        Some(Self {
            db,
            drop_on_exit: Some((admin_url, name)),
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.drop_on_exit.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot be blocked on: clean up on a
        // thread with a runtime of its own. The test's pool stays untouched (its connections
        // belong to the blocked runtime); `WITH (FORCE)` ends them on the server side.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime");
            runtime.block_on(async move {
                if let Ok(admin) = Database::connect(&admin_url).await {
                    admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await
                        .ok();
                    admin.close().await.ok();
                }
            });
        });
        cleanup.join().ok();
    }
}

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_TEST_DATABASE_URL.to_owned())
}

fn postgres_required() -> bool {
    std::env::var("REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// Replaces the database name in a PostgreSQL URL, keeping any query string.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{database}", &base[..authority_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Declares tests that run once on SQLite and once on PostgreSQL:
///
/// ```text
/// async fn migrations_apply(db: Db) { /* … */ }
/// shopmarkets_core::db_tests!(migrations_apply);
/// ```
#[macro_export]
macro_rules! db_tests {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    let test_db = $crate::testing::TestDb::sqlite().await;
                    super::$name(test_db.db.clone()).await;
                }

                #[tokio::test]
                async fn postgres() {
                    if let Some(test_db) = $crate::testing::TestDb::postgres().await {
                        super::$name(test_db.db.clone()).await;
                    }
                }
            }
        )+
    };
}

/// A development configuration with fresh random keys, plus the given overrides.
pub fn config(overrides: &[(&str, &str)]) -> crate::Config {
    use crate::config::{Vars, keys};
    let data_dir = std::env::temp_dir().join(format!("sm-test-{}", uuid::Uuid::new_v4().simple()));
    let mut vars = Vars::from([
        ("DATA_DIR".to_owned(), data_dir.display().to_string()),
        (
            "ENCRYPTION_KEYS".to_owned(),
            keys::generate_entry("test-enc"),
        ),
        ("SIGNING_KEYS".to_owned(), keys::generate_entry("test-sig")),
    ]);
    for (name, value) in overrides {
        vars.insert((*name).to_owned(), (*value).to_owned());
    }
    crate::Config::from_vars(&vars).expect("test configuration")
}

/// A JPEG photo of `width` × `height` pixels (a colour gradient), made in code, for image
/// upload tests.
pub fn photo_jpeg(width: u32, height: u32) -> Vec<u8> {
    use image::ImageEncoder as _;
    let photo = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x / 2 + y) % 256) as u8])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .write_image(
            photo.as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .expect("encode a test JPEG");
    jpeg
}

/// The token of the newest emailed link of `kind` (`verify_email`, `reset_password`,
/// `invitation`) sent to `address`.
pub async fn emailed_token(db: &Db, address: &str, kind: &str) -> String {
    let mails = crate::mail::to_address(db, address)
        .await
        .expect("read the outbox");
    let body = &mails
        .iter()
        .find(|m| m.kind == kind)
        .unwrap_or_else(|| panic!("a {kind} email to {address}"))
        .body_text;
    let start = body.find("token=").expect("a link with a token") + "token=".len();
    body[start..]
        .split_whitespace()
        .next()
        .expect("a token")
        .to_owned()
}

/// A sign-up form filled in for `address`: named "Test User", with an organization named after
/// the address ("Org of …"), in English.
pub fn registration(address: &str, password: &str) -> Registration {
    Registration {
        email: EmailAddress::parse(address).expect("test address"),
        password: Password::parse(password).expect("test password"),
        display_name: DisplayName::parse("Test User").expect("name"),
        organization_name: OrganizationName::parse(&format!("Org of {address}"))
            .expect("organization name"),
        locale: Locale::En,
    }
}

/// Signs up with `form`, leaving the address unconfirmed; returns the new user's id.
pub async fn registered_user(db: &Db, form: Registration) -> Uuid {
    let email = form.email.as_str().to_owned();
    registration::register(db, "https://app.example.com", form, None)
        .await
        .expect("register");
    user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(db)
        .await
        .expect("read the user")
        .expect("the new user")
        .id
}

/// Signs up with `form` and confirms the address with the emailed link; returns the
/// user's id.
pub async fn confirmed_registration(db: &Db, form: Registration) -> Uuid {
    let address = form.email.as_str().to_owned();
    let user_id = registered_user(db, form).await;
    let token = emailed_token(db, &address, "verify_email").await;
    let confirmed = registration::verify_email(db, &token)
        .await
        .expect("confirm address");
    assert_eq!(confirmed, user_id);
    user_id
}

/// Signs up `address` (with its own organization, named after the address) and confirms it;
/// returns the user's id.
pub async fn confirmed_user(db: &Db, address: &str, password: &str) -> Uuid {
    confirmed_registration(db, registration(address, password)).await
}

/// A user with a confirmed address and no organization, written straight to the database:
/// fast (no sign-up, no password hashing), but unable to sign in.
pub async fn inserted_user(db: &Db, address: &str, display_name: &str, locale: Locale) -> Uuid {
    let now = Utc::now();
    let id = Uuid::new_v4();
    let email = EmailAddress::parse(address).expect("test address");
    user::Entity::insert(user::ActiveModel {
        id: Set(id),
        email: Set(email.as_str().to_owned()),
        password_hash: Set("not-a-hash".to_owned()),
        display_name: Set(display_name.to_owned()),
        locale: Set(locale.code().to_owned()),
        email_verified_at: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await
    .expect("insert the user");
    id
}

/// A new organization named `name`, created by a new [`inserted_user`] at `address` (named
/// "Owner", German), its only owner; returns the owner's id and scope.
pub async fn owner_of_new_organization(db: &Db, address: &str, name: &str) -> (Uuid, Scope) {
    let user_id = inserted_user(db, address, "Owner", Locale::De).await;
    let name = OrganizationName::parse(name).expect("organization name");
    let scope = organizations::create(db, user_id, name, None)
        .await
        .expect("create the organization");
    (user_id, scope)
}

/// What an authenticator app makes of a secret shown in base32 (spaces ignored).
pub fn totp_secret(base32: &str) -> TotpSecret {
    let compact: String = base32.chars().filter(|c| !c.is_whitespace()).collect();
    TotpSecret::from_bytes(
        totp_rs::Secret::try_from_base32(&compact)
            .expect("base32 secret")
            .as_bytes()
            .to_vec(),
    )
}

/// Turns two-factor authentication on for a user, as the user does on the account page: starts
/// the enrolment with `password` and confirms it with the app's code at `now`. Returns the app's
/// secret and the recovery codes.
pub async fn enable_two_factor(
    db: &Db,
    cipher: &Cipher,
    user_id: Uuid,
    password: &str,
    now: DateTime<Utc>,
) -> (TotpSecret, RecoveryCodes) {
    let password = Secret::new(password.to_owned());
    let enrolment = two_factor::begin_enrolment(db, cipher, user_id, &password, now)
        .await
        .expect("begin the enrolment");
    let secret = totp_secret(&enrolment.secret_base32);
    let code = secret.code_at(now.timestamp() as u64);
    let codes = two_factor::confirm_enrolment(db, cipher, user_id, &code, now, None)
        .await
        .expect("confirm the enrolment");
    (secret, codes)
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "t1"),
            "postgres://u:p@h/t1?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "t"),
            "postgres://h:5432/t"
        );
    }
}
