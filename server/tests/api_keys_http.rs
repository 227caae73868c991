//! The API keys page's server functions over HTTP, signed in through `/api/login`: an owner
//! creates a key and sees it once (the overview shows only its prefix), the key works at the
//! token endpoint until it is revoked; editors and viewers are refused (403), visitors 401; a
//! key of another organization is 404 and keeps working; and the page renders on the server.

mod common;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use chrono::Utc;
use common::{
    Browser, ORIGIN, TestApp, body_json, body_text, capture_logs, captured_logs, on_shared_runtime,
};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};
use shopmarkets_core::{
    Db, access::Scope, api_keys, entity::membership, organizations, testing::confirmed_user,
};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery staple 42";

async fn home_organization(db: &Db, user_id: Uuid) -> Uuid {
    organizations::default_organization(db, user_id)
        .await
        .unwrap()
        .expect("an organization")
        .organization_id
}

async fn signed_in<'a>(app: &'a TestApp, email: &str) -> Browser<'a> {
    let mut browser = app.browser();
    assert_eq!(browser.login(email, PASSWORD).await, json!("SignedIn"));
    browser
}

/// Makes `user_id` a member of `organization_id` with `role`, behind the product's back.
async fn add_member(db: &Db, organization_id: Uuid, user_id: Uuid, role: membership::Role) {
    membership::ActiveModel {
        organization_id: Set(organization_id),
        user_id: Set(user_id),
        role: Set(role),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .unwrap();
}

async fn switch_to(browser: &mut Browser<'_>, organization_id: Uuid) {
    let (status, body) = browser
        .call(
            "switch_organization",
            &[("organization_id", &organization_id.to_string())],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Creates a key through the server function and returns the answer's `Created` part.
async fn create_key(browser: &mut Browser<'_>, name: &str, scopes: &[&str]) -> Value {
    let mut form = vec![("name", name)];
    form.extend(scopes.iter().map(|scope| ("scopes[]", *scope)));
    let response = browser.post_raw("create_api_key", &form).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CACHE_CONTROL],
        "no-store",
        "no cache keeps the key"
    );
    let answer = body_json(response).await;
    answer["Created"].clone()
}

/// The overview as JSON text (to search it) and value.
async fn overview(browser: &mut Browser<'_>) -> (String, Value) {
    let response = browser.post_raw("api_keys_overview", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = body_text(response).await;
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (text, value)
}

/// `POST /api/v1/auth/token` with the key, as a program does.
async fn exchange(app: &TestApp, key: &str) -> (StatusCode, Value) {
    let request = Request::post("/api/v1/auth/token")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({ "api_key": key }).to_string()))
        .unwrap();
    let response = app.send(request).await;
    let status = response.status();
    (status, body_json(response).await)
}

async fn read_organization(app: &TestApp, token: &str) -> StatusCode {
    let request = Request::get("/api/v1/organization")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    app.send(request).await.status()
}

/// GETs a page with the browser's session, in English.
async fn page(browser: &Browser<'_>, uri: &str) -> String {
    let mut request = Request::get(uri).header(header::ACCEPT_LANGUAGE, "en");
    if let Some(cookie) = &browser.cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = browser.app.send(request.body(Body::empty()).unwrap()).await;
    body_text(response).await
}

fn keys(overview: &Value) -> &Vec<Value> {
    overview["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("{overview}"))
}

#[test]
fn an_owner_sees_a_new_key_once_and_it_works_until_revoked() {
    capture_logs();
    on_shared_runtime(async {
        let app = TestApp::new().await;
        confirmed_user(&app.db, "alice@example.com", PASSWORD).await;
        let mut alice = signed_in(&app, "alice@example.com").await;

        let (_, empty) = overview(&mut alice).await;
        assert!(keys(&empty).is_empty(), "{empty}");
        assert_eq!(
            empty["scopes"],
            json!([
                "organization:read",
                "catalog:read",
                "catalog:write",
                "orders:read",
                "orders:write"
            ])
        );
        assert_eq!(empty["origin"], ORIGIN);

        let created = create_key(
            &mut alice,
            "  ERP sync ",
            &["catalog:read", "organization:read", "catalog:read"],
        )
        .await;
        let key = created["key"].as_str().expect("the full key, once");
        let prefix = created["summary"]["prefix"].as_str().unwrap();
        assert!(prefix.starts_with("smk_") && prefix.len() == 12, "{prefix}");
        assert!(key.starts_with(&format!("{prefix}_")), "{key}");
        assert!(key.len() > 50);
        let secret = &key[prefix.len() + 1..];
        assert_eq!(created["summary"]["name"], "ERP sync");
        assert_eq!(
            created["summary"]["scopes"],
            json!(["organization:read", "catalog:read"])
        );

        // The list names the key by its prefix and never holds it again.
        let (text, listed) = overview(&mut alice).await;
        assert!(!text.contains(key) && !text.contains(secret), "{text}");
        let keys_now = keys(&listed);
        assert_eq!(keys_now.len(), 1);
        let entry = &keys_now[0];
        assert_eq!(entry["prefix"], prefix);
        assert_eq!(entry["id"], created["summary"]["id"]);
        assert_eq!(entry["last_used_at"], Value::Null);
        assert_eq!(entry["revoked_at"], Value::Null);
        assert!(entry.get("key").is_none(), "{entry}");

        // A program exchanges the key for a token and reads the organization with it.
        let (status, token) = exchange(&app, key).await;
        assert_eq!(status, StatusCode::OK, "{token}");
        assert_eq!(token["scope"], "organization:read catalog:read");
        let access_token = token["access_token"].as_str().unwrap().to_owned();
        assert_eq!(read_organization(&app, &access_token).await, StatusCode::OK);
        let (_, used) = overview(&mut alice).await;
        assert!(keys(&used)[0]["last_used_at"].is_string(), "{used}");

        // The page shows the prefix, never the key.
        let html = page(&alice, "/api-keys").await;
        for expected in [
            "API keys",
            "ERP sync",
            prefix,
            "Read catalog",
            "/api/v1/auth/token",
            "create-api-key-form",
            "name=\"scopes[]\"",
        ] {
            assert!(html.contains(expected), "the page lacks {expected}");
        }
        assert!(!html.contains(secret), "the page never shows the key");

        // Revoked: the key is refused at once, and so is the token issued before.
        let id = entry["id"].as_str().unwrap();
        let (status, body) = alice.call("revoke_api_key", &[("id", id)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, refused) = exchange(&app, key).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused}");
        assert_eq!(refused["code"], "invalid_client");
        assert_eq!(
            read_organization(&app, &access_token).await,
            StatusCode::UNAUTHORIZED
        );
        let (_, after) = overview(&mut alice).await;
        assert!(keys(&after)[0]["revoked_at"].is_string(), "{after}");
        // Revoking again changes nothing.
        let (status, _) = alice.call("revoke_api_key", &[("id", id)]).await;
        assert_eq!(status, StatusCode::OK);

        let logs = captured_logs();
        assert!(
            !logs.contains(secret),
            "the key never reaches the logs: {logs}"
        );
    });
}

#[test]
fn a_key_needs_a_name_and_at_least_one_known_scope() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        let alice_id = confirmed_user(&app.db, "alice@example.com", PASSWORD).await;
        let org_a = home_organization(&app.db, alice_id).await;
        let mut alice = signed_in(&app, "alice@example.com").await;

        let (status, answer) = alice
            .call(
                "create_api_key",
                &[("name", " "), ("scopes[]", "catalog:read")],
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            answer,
            json!({ "Invalid": [{ "field": "name", "error": { "code": "required" } }] })
        );
        // No checkbox ticked: the form sends no `scopes[]` at all.
        let (status, answer) = alice.call("create_api_key", &[("name", "ERP")]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            answer,
            json!({ "Invalid": [{ "field": "scopes", "error": { "code": "required" } }] })
        );
        let (status, answer) = alice
            .call("create_api_key", &[("name", "ERP"), ("scopes[]", "admin")])
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");

        let owner = Scope::for_member(&app.db, alice_id, org_a).await.unwrap();
        assert!(api_keys::list(&app.db, &owner).await.unwrap().is_empty());
    });
}

#[test]
fn editors_viewers_and_visitors_may_not_manage_keys() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        let alice_id = confirmed_user(&app.db, "alice@example.com", PASSWORD).await;
        let org_a = home_organization(&app.db, alice_id).await;
        let mut alice = signed_in(&app, "alice@example.com").await;
        let created = create_key(&mut alice, "ERP", &["organization:read"]).await;
        let key = created["key"].as_str().unwrap();
        let id = created["summary"]["id"].as_str().unwrap();

        for (email, role) in [
            ("carol@example.com", membership::Role::Viewer),
            ("erin@example.com", membership::Role::Editor),
        ] {
            let user_id = confirmed_user(&app.db, email, PASSWORD).await;
            add_member(&app.db, org_a, user_id, role).await;
            let mut member = signed_in(&app, email).await;
            switch_to(&mut member, org_a).await;

            let (status, body) = member.call("api_keys_overview", &[]).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{email}: {body}");
            assert!(!body.to_string().contains("smk_"), "{body}");
            let (status, body) = member
                .call(
                    "create_api_key",
                    &[("name", "Mine"), ("scopes[]", "catalog:write")],
                )
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{email}: {body}");
            let (status, body) = member.call("revoke_api_key", &[("id", id)]).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{email}: {body}");

            let html = page(&member, "/api-keys").await;
            assert!(
                html.contains("You do not have permission for this in this organization."),
                "{email} sees why"
            );
            assert!(!html.contains("create-api-key-form"));
        }

        let mut visitor = app.browser();
        for (function, form) in [
            ("api_keys_overview", vec![]),
            (
                "create_api_key",
                vec![("name", "x"), ("scopes[]", "catalog:read")],
            ),
            ("revoke_api_key", vec![("id", id)]),
        ] {
            let (status, _) = visitor.call(function, &form).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{function}");
        }

        // Nothing changed: one key, still working.
        let owner = Scope::for_member(&app.db, alice_id, org_a).await.unwrap();
        assert_eq!(api_keys::list(&app.db, &owner).await.unwrap().len(), 1);
        assert_eq!(exchange(&app, key).await.0, StatusCode::OK);
    });
}

#[test]
fn a_key_of_another_organization_is_not_found_and_keeps_working() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        confirmed_user(&app.db, "alice@example.com", PASSWORD).await;
        confirmed_user(&app.db, "bob@example.com", PASSWORD).await;
        let mut bob = signed_in(&app, "bob@example.com").await;
        let bobs = create_key(&mut bob, "Bob's ERP", &["organization:read"]).await;
        let bobs_key = bobs["key"].as_str().unwrap();
        let bobs_id = bobs["summary"]["id"].as_str().unwrap();

        let mut alice = signed_in(&app, "alice@example.com").await;
        let (_, listed) = overview(&mut alice).await;
        assert!(keys(&listed).is_empty(), "Alice sees none of Bob's keys");
        for id in [bobs_id, "not-a-uuid", &Uuid::new_v4().to_string()] {
            let (status, body) = alice.call("revoke_api_key", &[("id", id)]).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{id}: {body}");
            assert!(!body.to_string().contains("Bob"), "{body}");
        }

        assert_eq!(exchange(&app, bobs_key).await.0, StatusCode::OK);
        let (_, bobs_list) = overview(&mut bob).await;
        assert_eq!(keys(&bobs_list)[0]["revoked_at"], Value::Null);
    });
}
