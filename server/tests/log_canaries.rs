//! Nothing secret reaches the logs: a whole account flow runs with recognisable canary values
//! (password, TOTP codes, recovery codes, emailed tokens, the session cookie), then the captured
//! log — JSON lines at `debug`, the database driver's included — is searched for each of them.
//! A user-controlled string with line breaks cannot forge a log line either.

mod common;

use axum::http::StatusCode;
use chrono::Duration;
use common::{TestApp, capture_logs, captured_logs, on_shared_runtime};
use serde_json::Value;
use shopmarkets_core::{
    clock::Clock as _,
    testing::{confirmed_user, emailed_token, totp_secret},
};

const PASSWORD: &str = "Kanarienvogel Passwort 7731";
const NEW_PASSWORD: &str = "Kanarienvogel Neu 8842";

fn strings_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings_in(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings_in(v, out)),
        _ => {}
    }
}

#[test]
fn an_account_flow_leaves_no_secret_in_the_logs() {
    capture_logs();
    on_shared_runtime(async {
        let app = TestApp::new().await;
        confirmed_user(&app.db, "canary@example.com", PASSWORD).await;
        let verify_token = emailed_token(&app.db, "canary@example.com", "verify_email").await;
        let mut browser = app.browser();
        let mut canaries = vec![PASSWORD.to_owned(), NEW_PASSWORD.to_owned(), verify_token];

        // A wrong password, then the right one.
        browser
            .call(
                "login",
                &[
                    ("email", "canary@example.com"),
                    ("password", "Falsch Kanarie 1"),
                ],
            )
            .await;
        browser.login("canary@example.com", PASSWORD).await;
        canaries.push(
            browser
                .cookie
                .clone()
                .unwrap()
                .split_once('=')
                .unwrap()
                .1
                .to_owned(),
        );

        // Two-factor on: the secret, the confirming code and the recovery codes are canaries.
        let (status, enrolment) = browser
            .call("begin_two_factor", &[("password", PASSWORD)])
            .await;
        assert_eq!(status, StatusCode::OK, "{enrolment}");
        let mut texts = Vec::new();
        strings_in(&enrolment, &mut texts);
        let base32 = texts
            .iter()
            .find(|s| {
                s.len() >= 32
                    && s.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == ' ')
            })
            .expect("the secret in text")
            .replace(' ', "");
        let secret = totp_secret(&base32);
        canaries.push(base32.clone());
        let code = secret.code_at(app.clock.now().timestamp() as u64);
        let (status, codes) = browser.call("confirm_two_factor", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::OK, "{codes}");
        let mut recovery = Vec::new();
        strings_in(&codes, &mut recovery);
        let recovery: Vec<String> = recovery.into_iter().filter(|c| c.contains('-')).collect();
        assert!(!recovery.is_empty(), "{codes}");
        canaries.extend(recovery.iter().cloned());
        canaries.push(
            browser
                .cookie
                .clone()
                .unwrap()
                .split_once('=')
                .unwrap()
                .1
                .to_owned(),
        );

        // Sign in again with a code, then with a recovery code; a replayed code is refused.
        browser.call("logout", &[]).await;
        app.clock.advance(Duration::seconds(30));
        browser.login("canary@example.com", PASSWORD).await;
        let code = secret.code_at(app.clock.now().timestamp() as u64);
        canaries.push(code.clone());
        browser.call("second_factor", &[("code", &code)]).await;
        let mut other = app.browser();
        other.login("canary@example.com", PASSWORD).await;
        other.call("second_factor", &[("code", &code)]).await;
        other.call("second_factor", &[("code", &recovery[0])]).await;

        // Reset and change the password.
        other
            .call("request_password_reset", &[("email", "canary@example.com")])
            .await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let reset_token = emailed_token(&app.db, "canary@example.com", "reset_password").await;
        canaries.push(reset_token.clone());
        browser
            .call(
                "change_password",
                &[
                    ("current_password", PASSWORD),
                    ("new_password", NEW_PASSWORD),
                ],
            )
            .await;

        // A user-controlled string with a line break and a fake JSON line.
        let forged = "x@example.com\n{\"level\":\"ERROR\",\"fields\":{\"message\":\"forged\"}}";
        app.browser()
            .call(
                "login",
                &[("email", forged), ("password", "egal egal egal")],
            )
            .await;

        let logs = captured_logs();
        assert!(
            logs.len() > 1000,
            "the flow was logged ({} bytes)",
            logs.len()
        );
        // The capture sees the flow's own events, so an absent canary means something.
        for event in ["login.failed", "two_factor", "mail"] {
            assert!(logs.contains(event), "no {event} event captured");
        }
        for canary in &canaries {
            assert!(
                !logs.contains(canary.as_str()),
                "a secret value reached the logs: {}…",
                &canary[..canary.len().min(4)]
            );
        }
        for line in logs.lines() {
            let parsed: Value = serde_json::from_str(line)
                .unwrap_or_else(|_| panic!("every log line is one JSON object: {line}"));
            assert_ne!(
                parsed["fields"]["message"], "forged",
                "a user string forged a log line"
            );
        }
    });
}

/// A marketplace connection's keys are canaries too: a refused attempt, a connection, a test
/// call and a disconnect against the Kaufland sandbox, and neither key appears in the log.
#[test]
fn a_marketplace_connection_leaves_no_credential_in_the_logs() {
    use shopmarkets_sandbox::{AppRegistration, Apps, SandboxConfig, Sandboxes};

    // Kaufland's formats: a client key of 32 and a secret key of 64 letters or digits.
    let client_key = "kanariekundenschluessel012345678".to_owned();
    let secret_key = format!("kanariegeheim{}", "7".repeat(51));
    let wrong_secret = format!("kanariefalsch{}", "3".repeat(51));
    capture_logs();
    on_shared_runtime(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut apps = Apps::generated();
        apps.kaufland = AppRegistration {
            client_id: client_key.clone(),
            client_secret: secret_key.clone(),
            ..AppRegistration::default()
        };
        let sandboxes = Sandboxes::new(SandboxConfig::new(format!("http://{addr}"), apps));
        tokio::spawn(shopmarkets_sandbox::serve(
            listener,
            sandboxes.router(),
            None,
        ));

        let app = TestApp::with(&[
            ("CHANNEL_SANDBOXES", "on"),
            ("SANDBOX_ADDR", &addr.to_string()),
        ])
        .await;
        confirmed_user(&app.db, "kaufland@example.com", PASSWORD).await;
        let mut browser = app.browser();
        browser.login("kaufland@example.com", PASSWORD).await;

        let (status, refused) = browser
            .call(
                "connect_with_keys",
                &[
                    ("marketplace", "kaufland"),
                    ("key", &client_key),
                    ("secret", &wrong_secret),
                ],
            )
            .await;
        assert_ne!(status, StatusCode::OK, "{refused}");
        let (status, view) = browser
            .call(
                "connect_with_keys",
                &[
                    ("marketplace", "kaufland"),
                    ("key", &client_key),
                    ("secret", &secret_key),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{view}");
        let id = view["id"].as_str().expect("the connection's id").to_owned();
        let (status, tested) = browser.call("test_connection", &[("id", &id)]).await;
        assert_eq!(status, StatusCode::OK, "{tested}");
        let (status, gone) = browser.call("disconnect", &[("id", &id)]).await;
        assert_eq!(status, StatusCode::OK, "{gone}");
        assert!(
            !view.to_string().contains(&secret_key) && !view.to_string().contains(&client_key),
            "no key is sent to the browser: {view}"
        );

        let logs = captured_logs();
        assert!(
            logs.contains("connect_with_keys") && logs.contains("disconnect"),
            "the connection was logged"
        );
        for canary in [&client_key, &secret_key, &wrong_secret] {
            assert!(
                !logs.contains(canary.as_str()),
                "a marketplace key reached the logs: {}…",
                &canary[..8]
            );
        }
    });
}
