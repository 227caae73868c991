//! The audit log page's server functions over HTTP: an owner reads their organization's log (and
//! nothing of another organization's), pages through it, and the chain check finds an entry
//! changed behind the product's back; admins, viewers and visitors are refused.

mod common;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use chrono::Utc;
use common::{Browser, TestApp, body_text, on_shared_runtime};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde_json::{Value, json};
use shopmarkets_core::{
    Db,
    audit::{self, AuditAction, NewAuditEvent},
    entity::{audit_event, membership, user},
    organizations,
    testing::confirmed_user,
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

async fn rename(db: &Db, user_id: Uuid, display_name: &str) {
    let mut person = user::Entity::find_by_id(user_id)
        .one(db)
        .await
        .unwrap()
        .expect("the user")
        .into_active_model();
    person.display_name = Set(display_name.to_owned());
    person.update(db).await.unwrap();
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

fn entries(log: &Value) -> &Vec<Value> {
    log["entries"].as_array().unwrap_or_else(|| panic!("{log}"))
}

fn actions(log: &Value) -> Vec<&str> {
    entries(log)
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect()
}

fn seqs(log: &Value) -> Vec<i64> {
    entries(log)
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect()
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

#[test]
fn an_owner_reads_their_log_and_a_changed_entry_breaks_the_chain() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        let alice = confirmed_user(&app.db, "alice@example.com", PASSWORD).await;
        let bob = confirmed_user(&app.db, "bob@example.com", PASSWORD).await;
        rename(&app.db, alice, "Alice Example").await;
        let org_a = home_organization(&app.db, alice).await;

        // Bob's organization gets entries of its own, which Alice must never see.
        let mut bob_browser = signed_in(&app, "bob@example.com").await;
        let (_, answer) = bob_browser
            .call(
                "invite_member",
                &[("email", "dave@example.com"), ("role", "editor")],
            )
            .await;
        assert_eq!(answer, json!("Done"));
        let mut browser = signed_in(&app, "alice@example.com").await;

        let (status, log) = browser.call("audit_log", &[]).await;
        assert_eq!(status, StatusCode::OK, "{log}");
        assert_eq!(actions(&log), ["login.succeeded", "account.registered"]);
        assert_eq!(seqs(&log), [2, 1], "newest first");
        assert_eq!(log["has_more"], false);
        let newest = &entries(&log)[0];
        assert_eq!(newest["actor"], "Alice Example");
        assert!(
            newest["occurred_at"].as_str().unwrap().ends_with(" UTC"),
            "{newest}"
        );
        // The registration's details: only the role; the user is the actor and not repeated.
        assert_eq!(
            entries(&log)[1]["details"],
            json!([{ "key": "role", "old": null, "value": "owner" }])
        );
        let text = log.to_string();
        for foreign in ["member.invited", &bob.to_string(), "dave@"] {
            assert!(!text.contains(foreign), "{foreign} leaked: {text}");
        }

        let (status, check) = browser.call("verify_audit_chain", &[]).await;
        assert_eq!(status, StatusCode::OK, "{check}");
        assert_eq!(
            check,
            json!({ "entries": 2, "first_broken_seq": null }),
            "intact"
        );

        // Someone edits the first entry in the database.
        let tampered = audit_event::Entity::find()
            .filter(audit_event::Column::OrganizationId.eq(org_a))
            .filter(audit_event::Column::Seq.eq(1))
            .one(&app.db)
            .await
            .unwrap()
            .expect("the first entry");
        let mut edit = tampered.into_active_model();
        edit.details = Set(json!({ "role": "viewer" }).to_string());
        edit.update(&app.db).await.unwrap();

        let (_, check) = browser.call("verify_audit_chain", &[]).await;
        assert_eq!(check["first_broken_seq"], 1, "{check}");
        // The log itself still reads, and Bob's chain is untouched.
        let (status, _) = browser.call("audit_log", &[]).await;
        assert_eq!(status, StatusCode::OK);
        let (_, check) = bob_browser.call("verify_audit_chain", &[]).await;
        assert_eq!(check["first_broken_seq"], Value::Null, "{check}");
        assert_eq!(check["entries"], 3, "registered, signed in, invited");

        // The page, rendered on the server.
        let html = page(&browser, "/audit").await;
        for expected in ["Audit log", "audit-table", "Signed in", "Alice Example"] {
            assert!(html.contains(expected), "the page lacks {expected}");
        }
    });
}

#[test]
fn the_log_pages_by_seq_and_names_the_people_in_it() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        let alice = confirmed_user(&app.db, "alice@example.com", PASSWORD).await;
        let carol = confirmed_user(&app.db, "carol@example.com", PASSWORD).await;
        rename(&app.db, carol, "Carol Example").await;
        let org_a = home_organization(&app.db, alice).await;
        add_member(&app.db, org_a, carol, membership::Role::Admin).await;
        for _ in 0..60 {
            audit::record(
                &app.db,
                NewAuditEvent {
                    organization_id: Some(org_a),
                    actor_user_id: None,
                    action: AuditAction::SessionEnded,
                    ip: Some("203.0.113.77".parse().unwrap()),
                    details: json!({ "sessions": 2, "password": "never shown", "nested": { "a": 1 } }),
                },
            )
            .await
            .unwrap();
        }
        let mut browser = signed_in(&app, "alice@example.com").await;
        let (_, answer) = browser
            .call(
                "change_member_role",
                &[("user_id", &carol.to_string()), ("role", "viewer")],
            )
            .await;
        assert_eq!(answer, json!("Done"));

        // 1 registration + 60 + sign-in + role change = 63 entries.
        let (_, first) = browser.call("audit_log", &[]).await;
        assert_eq!(entries(&first).len(), 50);
        assert_eq!(first["has_more"], true);
        assert_eq!(seqs(&first), (14..=63).rev().collect::<Vec<_>>());
        let change = &entries(&first)[0];
        assert_eq!(change["action"], "member.role_changed");
        assert_eq!(
            change["details"],
            json!([
                { "key": "user", "old": null, "value": "Carol Example" },
                { "key": "role", "old": "admin", "value": "viewer" },
            ])
        );
        // Unknown keys never cross the wire; an entry without a user has no actor name.
        let ended = &entries(&first)[2];
        assert_eq!(ended["action"], "session.ended");
        assert_eq!(ended["actor"], "—");
        assert_eq!(ended["ip_prefix"], "203.0.113.0/24");
        assert_eq!(
            ended["details"],
            json!([{ "key": "sessions", "old": null, "value": "2" }])
        );
        assert!(!first.to_string().contains("never shown"));

        let (_, second) = browser.call("audit_log", &[("before", "14")]).await;
        assert_eq!(seqs(&second), (1..=13).rev().collect::<Vec<_>>());
        assert_eq!(second["has_more"], false);

        let html = page(&browser, "/audit?before=14").await;
        assert!(
            html.contains("audit-newest") && !html.contains("audit-older"),
            "the last page links back to the newest entries only"
        );
        let html = page(&browser, "/audit").await;
        assert!(html.contains("/audit?before=14"), "a link to older entries");
        assert!(
            html.contains("Role changed")
                && html.contains("Person: Carol Example · Role: Admin → Viewer"),
            "actions and details in words"
        );
    });
}

#[test]
fn admins_viewers_and_visitors_may_not_read_the_log() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        let alice = confirmed_user(&app.db, "alice@example.com", PASSWORD).await;
        let carol = confirmed_user(&app.db, "carol@example.com", PASSWORD).await;
        let org_a = home_organization(&app.db, alice).await;
        let org_c = home_organization(&app.db, carol).await;
        add_member(&app.db, org_a, carol, membership::Role::Admin).await;

        let mut carol_browser = signed_in(&app, "carol@example.com").await;
        // In her own organization Carol is the owner and reads its log, and only its log.
        let (status, log) = carol_browser.call("audit_log", &[]).await;
        assert_eq!(status, StatusCode::OK, "{log}");
        assert_eq!(actions(&log), ["login.succeeded", "account.registered"]);
        assert!(!log.to_string().contains(&alice.to_string()));

        switch_to(&mut carol_browser, org_a).await;
        for function in ["audit_log", "verify_audit_chain"] {
            let (status, body) = carol_browser.call(function, &[]).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "admin {function}: {body}");
            assert!(body.to_string().contains("forbidden"), "{body}");
        }
        let html = page(&carol_browser, "/audit").await;
        assert!(
            html.contains("You do not have permission") && !html.contains("audit-table"),
            "an admin sees why, and no entries"
        );

        membership::ActiveModel {
            organization_id: Set(org_a),
            user_id: Set(carol),
            role: Set(membership::Role::Viewer),
            created_at: Set(Utc::now()),
        }
        .update(&app.db)
        .await
        .unwrap();
        let (status, _) = carol_browser.call("audit_log", &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "viewer");

        let mut visitor = app.browser();
        for function in ["audit_log", "verify_audit_chain"] {
            let (status, body) = visitor.call(function, &[]).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{function}: {body}");
        }

        // Back home, Carol's own log still shows only her organization.
        switch_to(&mut carol_browser, org_c).await;
        let (status, log) = carol_browser.call("audit_log", &[]).await;
        assert_eq!(status, StatusCode::OK, "{log}");
        assert!(!actions(&log).contains(&"member.role_changed"), "{log}");
    });
}
