//! Signing in over HTTP: the session cookie, fixation, the half-authenticated step, timeouts,
//! enumeration, sessions and the costly-endpoint budget.

mod common;

use std::time::{Duration as StdDuration, Instant};

use axum::http::{StatusCode, header};
use chrono::Duration;
use common::{TestApp, on_shared_runtime};
use serde_json::{Value, json};
use shopmarkets_core::{
    clock::Clock as _,
    testing::{confirmed_user, totp_secret},
};

const PASSWORD: &str = "Korrekt Pferd Batterie";

fn user_of(me: &Value) -> Option<&str> {
    me.get("email").and_then(Value::as_str)
}

#[test]
fn signing_in_sets_a_host_only_secure_cookie_behind_https() {
    on_shared_runtime(async {
        let app = TestApp::with(&[("APP_BASE_URL", "https://shop.example.com")]).await;
        confirmed_user(&app.db, "anna@example.com", PASSWORD).await;
        // Behind HTTPS the CSRF guard expects that origin.
        let body = "email=anna%40example.com&password=Korrekt+Pferd+Batterie";
        let response = app
            .send(
                axum::http::Request::post("/api/login")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::ORIGIN, "https://shop.example.com")
                    .body(axum::body::Body::from(body))
                    .unwrap(),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let cookie = response.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(cookie.starts_with("__Host-sm_session="), "{cookie}");
        for flag in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(cookie.contains(flag), "{flag} missing in {cookie}");
        }
        assert!(!cookie.to_lowercase().contains("domain="), "{cookie}");
        let id = cookie.split(';').next().unwrap().split_once('=').unwrap().1;
        assert!(id.len() >= 22, "at least 128 bits");
    });
}

#[test]
fn signing_in_issues_a_new_session_id_and_the_old_one_stops_working() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        confirmed_user(&app.db, "anna@example.com", PASSWORD).await;
        let mut browser = app.browser();
        assert_eq!(
            browser.login("anna@example.com", PASSWORD).await,
            json!("SignedIn")
        );
        let first = browser.cookie.clone().expect("a session cookie");
        let (_, me) = browser.call("whoami", &[]).await;
        assert_eq!(user_of(&me), Some("anna@example.com"));

        // Signing in again (as after a fixation attempt with a known cookie) gives a new id.
        assert_eq!(
            browser.login("anna@example.com", PASSWORD).await,
            json!("SignedIn")
        );
        let second = browser.cookie.clone().expect("a session cookie");
        assert_ne!(first, second);
        let mut stale = app.browser();
        stale.cookie = Some(first);
        let (_, me) = stale.call("whoami", &[]).await;
        assert_eq!(me, Value::Null, "the old id is gone");

        // An id the server never issued starts nothing.
        let mut forged = app.browser();
        forged.cookie = Some("sm_session=AAAAAAAAAAAAAAAAAAAAAA".to_owned());
        let (_, me) = forged.call("whoami", &[]).await;
        assert_eq!(me, Value::Null);
    });
}

#[test]
fn unknown_addresses_and_wrong_passwords_get_the_same_answer_and_take_as_long() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        confirmed_user(&app.db, "anna@example.com", PASSWORD).await;
        let mut wrong = Vec::new();
        let mut unknown = Vec::new();
        // Five rounds of two sign-ins: the sign-in endpoint's budget is ten a minute.
        for round in 0..5 {
            let mut browser = app.browser();
            let start = Instant::now();
            let (status_a, answer_a) = browser
                .call(
                    "login",
                    &[
                        ("email", "anna@example.com"),
                        ("password", "Falsch Falsch 1"),
                    ],
                )
                .await;
            wrong.push(start.elapsed());
            let start = Instant::now();
            let (status_b, answer_b) = browser
                .call(
                    "login",
                    &[
                        ("email", &format!("nobody{round}@example.com")),
                        ("password", "Falsch Falsch 1"),
                    ],
                )
                .await;
            unknown.push(start.elapsed());
            assert_eq!(status_a, status_b);
            assert_eq!(answer_a, answer_b);
            assert_eq!(answer_a, json!("Refused"));
        }
        let median = |v: &mut Vec<StdDuration>| {
            v.sort();
            v[v.len() / 2]
        };
        let (wrong, unknown) = (median(&mut wrong), median(&mut unknown));
        println!("median sign-in time: wrong password {wrong:?}, unknown address {unknown:?}");
        // Both verify an argon2 hash; without the dummy hash the unknown case would take a
        // small fraction of the other. Generous bounds: the machines are shared and noisy.
        assert!(
            unknown * 3 > wrong,
            "unknown {unknown:?} vs wrong {wrong:?}"
        );
        assert!(
            wrong * 3 > unknown,
            "unknown {unknown:?} vs wrong {wrong:?}"
        );
    });
}

#[test]
fn a_half_authenticated_session_reaches_only_the_second_factor_step() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        confirmed_user(&app.db, "anna@example.com", PASSWORD).await;
        let mut browser = app.browser();
        browser.login("anna@example.com", PASSWORD).await;
        let (status, enrolment) = browser
            .call("begin_two_factor", &[("password", PASSWORD)])
            .await;
        assert_eq!(status, StatusCode::OK, "{enrolment}");
        let base32 = find_string(&enrolment, "secret").expect("the secret in text");
        let secret = totp_secret(&base32);
        let now = app.clock.now();
        let (status, _) = browser
            .call(
                "confirm_two_factor",
                &[("code", &secret.code_at(now.timestamp() as u64))],
            )
            .await;
        assert_eq!(status, StatusCode::OK);

        let mut other = app.browser();
        assert_eq!(
            other.login("anna@example.com", PASSWORD).await,
            json!("SecondFactorRequired")
        );
        for function in ["my_sessions", "end_other_sessions", "change_password"] {
            let (status, _) = other
                .call(
                    function,
                    &[
                        ("current_password", PASSWORD),
                        ("new_password", "Neues Pferd 1234"),
                    ],
                )
                .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{function}");
        }
        let (_, me) = other.call("whoami", &[]).await;
        assert_eq!(me, Value::Null);

        app.clock.advance(Duration::seconds(30));
        let code = secret.code_at(app.clock.now().timestamp() as u64);
        let before = other.cookie.clone();
        let (status, answer) = other.call("second_factor", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert!(answer.get("SignedIn").is_some(), "{answer}");
        assert_ne!(other.cookie, before, "a new id after the second factor");
        let (status, _) = other.call("my_sessions", &[]).await;
        assert_eq!(status, StatusCode::OK);
    });
}

fn find_string(value: &Value, key: &str) -> Option<String> {
    match value {
        Value::Object(map) => map
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| map.values().find_map(|v| find_string(v, key))),
        Value::Array(items) => items.iter().find_map(|v| find_string(v, key)),
        _ => None,
    }
}

#[test]
fn sessions_end_after_30_idle_minutes_and_after_12_hours_in_any_case() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        confirmed_user(&app.db, "anna@example.com", PASSWORD).await;
        let mut browser = app.browser();
        browser.login("anna@example.com", PASSWORD).await;
        app.clock.advance(Duration::minutes(29));
        let (_, me) = browser.call("whoami", &[]).await;
        assert_eq!(
            user_of(&me),
            Some("anna@example.com"),
            "29 idle minutes are fine"
        );
        app.clock.advance(Duration::minutes(31));
        let (_, me) = browser.call("whoami", &[]).await;
        assert_eq!(me, Value::Null, "31 idle minutes end the session");

        browser.login("anna@example.com", PASSWORD).await;
        for _ in 0..35 {
            app.clock.advance(Duration::minutes(20));
            let (_, me) = browser.call("whoami", &[]).await;
            assert_eq!(user_of(&me), Some("anna@example.com"));
        }
        app.clock.advance(Duration::minutes(21));
        let (_, me) = browser.call("whoami", &[]).await;
        assert_eq!(
            me,
            Value::Null,
            "12 hours after signing in, it ends though active"
        );
    });
}

#[test]
fn users_see_their_sessions_and_end_the_others() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        confirmed_user(&app.db, "anna@example.com", PASSWORD).await;
        let mut laptop = app.browser();
        laptop.login("anna@example.com", PASSWORD).await;
        let mut phone = app.browser();
        phone.user_agent = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Version/18.0 Mobile/15E148 Safari/604.1".into();
        phone.login("anna@example.com", PASSWORD).await;

        let (status, sessions) = laptop.call("my_sessions", &[]).await;
        assert_eq!(status, StatusCode::OK);
        let sessions = sessions.as_array().unwrap().clone();
        assert_eq!(sessions.len(), 2);
        let devices: Vec<&str> = sessions
            .iter()
            .map(|s| s["device"].as_str().unwrap())
            .collect();
        assert!(devices.contains(&"Safari · iOS"), "{devices:?}");
        assert_eq!(
            sessions
                .iter()
                .filter(|s| s["current"] == json!(true))
                .count(),
            1
        );

        let (status, ended) = laptop.call("end_other_sessions", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ended, json!(1));
        let (_, me) = phone.call("whoami", &[]).await;
        assert_eq!(me, Value::Null, "the phone is signed out");
        let (_, me) = laptop.call("whoami", &[]).await;
        assert_eq!(user_of(&me), Some("anna@example.com"));

        laptop.call("logout", &[]).await;
        let (_, me) = laptop.call("whoami", &[]).await;
        assert_eq!(me, Value::Null);
        let (status, _) = laptop.call("my_sessions", &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    });
}

#[test]
fn the_sign_in_endpoint_has_its_own_small_budget() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        let mut browser = app.browser();
        let mut statuses = Vec::new();
        for _ in 0..12 {
            let response = browser
                .post_raw("login", &[("email", "x@example.com"), ("password", "y")])
                .await;
            statuses.push(response.status());
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                assert!(response.headers().contains_key(header::RETRY_AFTER));
            }
        }
        assert_eq!(
            statuses.iter().filter(|s| **s == StatusCode::OK).count(),
            10
        );
        assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS));
        // A body larger than 16 KiB is refused before anything is hashed.
        let huge = "x".repeat(20 * 1024);
        let response = app
            .send(
                axum::http::Request::post("/api/register")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::ORIGIN, common::ORIGIN)
                    .body(axum::body::Body::from(format!(
                        "email=a%40example.com&password={huge}&display_name=A&organization_name=AB"
                    )))
                    .unwrap(),
            )
            .await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        // Other pages are not affected.
        let (status, _) = browser.call("whoami", &[]).await;
        assert_eq!(status, StatusCode::OK);
    });
}
