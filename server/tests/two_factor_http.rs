//! The two-factor settings over HTTP: the password asked again, enrolment with a code, the
//! recovery codes, turning it off, the sessions a change ends, and the per-user throttle.

mod common;

use axum::http::StatusCode;
use common::{Browser, TestApp, on_shared_runtime};
use serde_json::{Value, json};
use shopmarkets_core::{accounts::totp::TotpSecret, clock::Clock as _, testing::confirmed_user};

const EMAIL: &str = "anna@example.com";
const PASSWORD: &str = "Korrekt Pferd Batterie";

fn secret_of(base32: &str) -> TotpSecret {
    TotpSecret::from_bytes(
        totp_rs::Secret::try_from_base32(base32)
            .expect("base32 secret")
            .as_bytes()
            .to_vec(),
    )
}

fn code_now(app: &TestApp, secret: &TotpSecret) -> String {
    secret.code_at(u64::try_from(app.clock.now().timestamp()).unwrap())
}

fn wrong_password() -> Value {
    json!({ "Invalid": [{ "field": "password", "error": { "code": "wrong_password" } }] })
}

fn codes_of(answer: &Value) -> Vec<String> {
    answer["Done"]
        .as_array()
        .unwrap_or_else(|| panic!("recovery codes expected: {answer}"))
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

async fn is_signed_in(browser: &mut Browser<'_>) -> bool {
    let (_, me) = browser.call("whoami", &[]).await;
    me != Value::Null
}

/// Turns 2FA on for the signed-in `browser`; answers the secret and the recovery codes.
async fn enable(app: &TestApp, browser: &mut Browser<'_>) -> (TotpSecret, Vec<String>) {
    let (status, answer) = browser
        .call("begin_two_factor", &[("password", PASSWORD)])
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let secret = secret_of(answer["Done"]["secret"].as_str().expect("secret"));
    let (status, answer) = browser
        .call("confirm_two_factor", &[("code", &code_now(app, &secret))])
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    (secret, codes_of(&answer))
}

#[test]
fn the_settings_are_for_signed_in_users_only() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        let mut stranger = app.browser();
        for (function, form) in [
            ("two_factor_status", vec![]),
            ("begin_two_factor", vec![("password", PASSWORD)]),
            ("confirm_two_factor", vec![("code", "123456")]),
            ("disable_two_factor", vec![("password", PASSWORD)]),
            ("regenerate_recovery_codes", vec![("password", PASSWORD)]),
        ] {
            let (status, _) = stranger.call(function, &form).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{function}");
        }
    });
}

#[test]
fn turning_two_factor_on_needs_the_password_and_a_code_and_ends_other_sessions() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        confirmed_user(&app.db, EMAIL, PASSWORD).await;
        let mut laptop = app.signed_in(EMAIL, PASSWORD).await;
        let mut phone = app.signed_in(EMAIL, PASSWORD).await;

        let (_, status) = laptop.call("two_factor_status", &[]).await;
        assert_eq!(
            status,
            json!({ "enabled": false, "enabled_at": null, "recovery_codes_left": 0 })
        );
        let (_, answer) = laptop
            .call("begin_two_factor", &[("password", "Falsches Pferd 1234")])
            .await;
        assert_eq!(answer, wrong_password());
        let (_, answer) = laptop.call("begin_two_factor", &[("password", "")]).await;
        assert_eq!(
            answer,
            json!({ "Invalid": [{ "field": "password", "error": { "code": "required" } }] })
        );

        let (_, answer) = laptop
            .call("begin_two_factor", &[("password", PASSWORD)])
            .await;
        let base32 = answer["Done"]["secret"]
            .as_str()
            .expect("secret")
            .to_owned();
        assert!(base32.len() >= 32, "160 bits: {base32}");
        let qr = answer["Done"]["qr_image"].as_str().unwrap();
        assert!(qr.starts_with("data:image/svg+xml,%3Csvg%20"), "{qr:.60}");
        assert!(!qr.contains(['<', '"', '\'', '#', ' ']));
        let secret = secret_of(&base32);

        // A wrong code changes nothing; the page may try again.
        let right = code_now(&app, &secret);
        let wrong = format!(
            "{:06}",
            (right.parse::<u32>().unwrap() + 500_000) % 1_000_000
        );
        let (_, answer) = laptop.call("confirm_two_factor", &[("code", &wrong)]).await;
        assert_eq!(
            answer,
            json!({ "Invalid": [{ "field": "code", "error": { "code": "wrong_code" } }] })
        );
        let (_, status) = laptop.call("two_factor_status", &[]).await;
        assert_eq!(status["enabled"], json!(false));
        assert!(is_signed_in(&mut phone).await, "nothing ended yet");

        let before = laptop.cookie.clone();
        let (_, answer) = laptop.call("confirm_two_factor", &[("code", &right)]).await;
        let codes = codes_of(&answer);
        assert_eq!(codes.len(), 10);
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 11 && c.as_bytes()[5] == b'-')
        );

        // This session goes on under a new id; the old id and every other session are gone.
        assert_ne!(laptop.cookie, before, "a new session id");
        assert!(is_signed_in(&mut laptop).await);
        let mut stale = app.browser();
        stale.cookie = before;
        assert!(
            !is_signed_in(&mut stale).await,
            "the old id stopped working"
        );
        assert!(!is_signed_in(&mut phone).await, "the other session ended");

        let (_, status) = laptop.call("two_factor_status", &[]).await;
        assert_eq!(status["enabled"], json!(true));
        assert_eq!(status["recovery_codes_left"], json!(10));
        assert!(status["enabled_at"].as_str().unwrap().ends_with(" UTC"));

        // Already on: a second enrolment, or a stray confirmation, is outdated.
        let (_, answer) = laptop
            .call("begin_two_factor", &[("password", PASSWORD)])
            .await;
        assert_eq!(answer, json!("Outdated"));
        let (_, answer) = laptop.call("confirm_two_factor", &[("code", &right)]).await;
        assert_eq!(answer, json!("Outdated"));

        // The account page shows it.
        let (status, html) = laptop.page("/account").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains(r#"id="two-factor-status" data-state="on""#),
            "{html}"
        );
        assert!(html.contains(r#"data-count="10""#));
    });
}

#[test]
fn new_recovery_codes_and_turning_off_need_the_password() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        confirmed_user(&app.db, EMAIL, PASSWORD).await;
        let mut laptop = app.signed_in(EMAIL, PASSWORD).await;
        let (_, old_codes) = enable(&app, &mut laptop).await;

        // Another device signs in with a recovery code.
        let mut phone = app.browser();
        assert_eq!(
            phone.login(EMAIL, PASSWORD).await,
            json!("SecondFactorRequired")
        );
        let (_, answer) = phone
            .call("second_factor", &[("code", &old_codes[0])])
            .await;
        assert_eq!(answer, json!({ "SignedIn": { "recovery_codes_left": 9 } }));
        let (_, status) = laptop.call("two_factor_status", &[]).await;
        assert_eq!(status["recovery_codes_left"], json!(9));

        // New codes: the password first; then ten new ones, and the old ones stop working.
        let (_, answer) = laptop
            .call(
                "regenerate_recovery_codes",
                &[("password", "Falsches Pferd 1234")],
            )
            .await;
        assert_eq!(answer, wrong_password());
        let (_, answer) = laptop
            .call("regenerate_recovery_codes", &[("password", PASSWORD)])
            .await;
        let new_codes = codes_of(&answer);
        assert_eq!(new_codes.len(), 10);
        assert!(new_codes.iter().all(|c| !old_codes.contains(c)));
        let (_, status) = laptop.call("two_factor_status", &[]).await;
        assert_eq!(status["recovery_codes_left"], json!(10));
        assert!(
            !is_signed_in(&mut phone).await,
            "new codes change the second factor: the other sessions end"
        );
        let mut tablet = app.browser();
        tablet.login(EMAIL, PASSWORD).await;
        let (_, answer) = tablet
            .call("second_factor", &[("code", &old_codes[1])])
            .await;
        assert_eq!(answer, json!("Refused"));

        // Turning off: the password first; then other sessions end and this id is renewed.
        let (_, answer) = laptop
            .call("disable_two_factor", &[("password", "Falsches Pferd 1234")])
            .await;
        assert_eq!(answer, wrong_password());
        let (_, status) = laptop.call("two_factor_status", &[]).await;
        assert_eq!(status["enabled"], json!(true));
        let before = laptop.cookie.clone();
        let (_, answer) = laptop
            .call("disable_two_factor", &[("password", PASSWORD)])
            .await;
        assert_eq!(answer, json!({ "Done": null }));
        assert_ne!(laptop.cookie, before);
        assert!(is_signed_in(&mut laptop).await);
        assert!(!is_signed_in(&mut phone).await, "the other session ended");
        let (_, status) = laptop.call("two_factor_status", &[]).await;
        assert_eq!(
            status,
            json!({ "enabled": false, "enabled_at": null, "recovery_codes_left": 0 })
        );
        let (_, answer) = laptop
            .call("disable_two_factor", &[("password", PASSWORD)])
            .await;
        assert_eq!(answer, json!("Outdated"));
        let (_, answer) = laptop
            .call("regenerate_recovery_codes", &[("password", PASSWORD)])
            .await;
        assert_eq!(answer, json!("Outdated"));

        // Off means off: the password alone signs in again.
        assert_eq!(
            app.browser().login(EMAIL, PASSWORD).await,
            json!("SignedIn")
        );
    });
}

#[test]
fn password_guesses_through_the_settings_are_throttled_per_user() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        confirmed_user(&app.db, EMAIL, PASSWORD).await;
        let mut browser = app.signed_in(EMAIL, PASSWORD).await;
        for attempt in 0..10 {
            let (_, answer) = browser
                .call("begin_two_factor", &[("password", "Geraten 123456789")])
                .await;
            assert_eq!(answer, wrong_password(), "attempt {attempt}");
        }
        // The right password does not help now: the budget is spent.
        for function in ["begin_two_factor", "disable_two_factor"] {
            let (_, answer) = browser.call(function, &[("password", PASSWORD)]).await;
            assert_eq!(answer, json!("TooManyAttempts"), "{function}");
        }
        // Per user: another account is not affected.
        confirmed_user(&app.db, "ben@example.com", PASSWORD).await;
        let mut ben = app.signed_in("ben@example.com", PASSWORD).await;
        let (_, answer) = ben
            .call("begin_two_factor", &[("password", PASSWORD)])
            .await;
        assert!(answer.get("Done").is_some(), "{answer}");
    });
}
