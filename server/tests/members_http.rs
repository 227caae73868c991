//! The members server functions over HTTP, signed in through `/api/login` with the session
//! cookie: ids of another organization are 404 and change nothing, a viewer may not invite
//! (403), nothing works without a session (401), and the pages render on the server.

mod common;

use axum::http::StatusCode;
use common::{Browser, TestApp, on_shared_runtime};
use serde_json::{Value, json};
use shopmarkets_core::{
    Db,
    access::Scope,
    entity::membership::Role,
    organizations,
    testing::{confirmed_user, emailed_token},
};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery staple 42";

/// Two organizations: Alice owns A, where Carol is a viewer (she accepted her invitation over
/// HTTP); Bob owns B, which has an open invitation for Dave.
struct World<'a> {
    db: Db,
    alice: Browser<'a>,
    carol: Browser<'a>,
    alice_id: Uuid,
    bob_id: Uuid,
    carol_id: Uuid,
    org_a: Uuid,
    org_b: Uuid,
    invitation_b: String,
}

async fn world(app: &TestApp) -> World<'_> {
    let db = app.db.clone();
    let alice_id = confirmed_user(&db, "alice@example.com", PASSWORD).await;
    let bob_id = confirmed_user(&db, "bob@example.com", PASSWORD).await;
    let carol_id = confirmed_user(&db, "carol@example.com", PASSWORD).await;
    let org_a = home_organization(&db, alice_id).await;
    let org_b = home_organization(&db, bob_id).await;

    let mut alice = app.signed_in("alice@example.com", PASSWORD).await;
    let (_, body) = invite(&mut alice, "carol@example.com", "viewer").await;
    assert_eq!(body, json!("Done"));
    let mut bob = app.signed_in("bob@example.com", PASSWORD).await;
    let (_, body) = invite(&mut bob, "dave@example.com", "editor").await;
    assert_eq!(body, json!("Done"));
    let (_, body) = bob.call("members_overview", &[]).await;
    let invitation_b = body["invitations"][0]["id"]
        .as_str()
        .expect("Bob's invitation")
        .to_owned();

    let mut carol = app.signed_in("carol@example.com", PASSWORD).await;
    let token = emailed_token(&db, "carol@example.com", "invitation").await;
    let before = carol.cookie.clone();
    let (status, body) = carol.call("accept_invitation", &[("token", &token)]).await;
    assert_eq!((status, body), (StatusCode::OK, json!("Done")));
    assert_ne!(
        carol.cookie, before,
        "accepting switches under a new session id"
    );

    World {
        db,
        alice,
        carol,
        alice_id,
        bob_id,
        carol_id,
        org_a,
        org_b,
        invitation_b,
    }
}

/// Invites `email` with `role` to the browser's current organization.
async fn invite(browser: &mut Browser<'_>, email: &str, role: &str) -> (StatusCode, Value) {
    browser
        .call("invite_member", &[("email", email), ("role", role)])
        .await
}

async fn home_organization(db: &Db, user_id: Uuid) -> Uuid {
    organizations::default_organization(db, user_id)
        .await
        .unwrap()
        .expect("an organization")
        .organization_id
}

async fn role_in(db: &Db, user_id: Uuid, organization_id: Uuid) -> Option<Role> {
    Scope::for_member(db, user_id, organization_id)
        .await
        .ok()
        .and_then(|scope| scope.role())
}

async fn open_invitations(db: &Db, owner: Uuid, organization_id: Uuid) -> Vec<String> {
    let scope = Scope::for_member(db, owner, organization_id).await.unwrap();
    organizations::pending_invitations(db, &scope)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.email)
        .collect()
}

#[test]
fn ids_of_another_organization_are_not_found_and_change_nothing() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        let World {
            db,
            mut alice,
            bob_id,
            org_b,
            invitation_b,
            ..
        } = world(&app).await;
        let bob = bob_id.to_string();
        let unknown = Uuid::new_v4().to_string();
        let attempts: [(&str, &[(&str, &str)]); 6] = [
            ("revoke_invitation", &[("id", &invitation_b)]),
            (
                "change_member_role",
                &[("user_id", &bob), ("role", "viewer")],
            ),
            ("remove_member", &[("user_id", &bob)]),
            // Unknown and malformed ids are answered the same way.
            ("revoke_invitation", &[("id", &unknown)]),
            ("remove_member", &[("user_id", "not-an-id")]),
            (
                "change_member_role",
                &[("user_id", " "), ("role", "editor")],
            ),
        ];
        for (function, form) in attempts {
            let (status, body) = alice.call(function, form).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{function} {form:?}: {body}");
            let body = body.to_string();
            assert!(body.contains("not_found"), "{body}");
            assert!(!body.contains("bob@"), "nothing about B leaks: {body}");
        }

        assert_eq!(role_in(&db, bob_id, org_b).await, Some(Role::Owner));
        assert_eq!(
            open_invitations(&db, bob_id, org_b).await,
            ["dave@example.com"]
        );
    });
}

#[test]
fn a_viewer_may_not_invite_or_manage() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        let World {
            db,
            mut carol,
            alice_id,
            carol_id,
            org_a,
            ..
        } = world(&app).await;
        // Carol works in A now, as a viewer.
        let (status, overview) = carol.call("members_overview", &[]).await;
        assert_eq!(status, StatusCode::OK, "{overview}");
        assert_eq!(overview["organization_name"], "Org of alice@example.com");
        assert_eq!(overview["my_role"], "viewer");
        assert_eq!(overview["can_manage"], false);
        assert_eq!(overview["invitations"], Value::Array(Vec::new()));
        assert_eq!(overview["members"].as_array().unwrap().len(), 2);

        let (status, body) = invite(&mut carol, "eve@example.com", "viewer").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body.to_string().contains("forbidden"), "{body}");
        let (status, _) = carol
            .call(
                "change_member_role",
                &[("user_id", &carol_id.to_string()), ("role", "owner")],
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        assert!(open_invitations(&db, alice_id, org_a).await.is_empty());
        assert_eq!(role_in(&db, carol_id, org_a).await, Some(Role::Viewer));
    });
}

#[test]
fn without_a_session_everything_is_unauthorized() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        let World {
            db,
            carol_id,
            org_a,
            invitation_b,
            ..
        } = world(&app).await;
        let mut anonymous = app.browser();
        let carol = carol_id.to_string();
        let attempts: [(&str, &[(&str, &str)]); 8] = [
            ("members_overview", &[]),
            (
                "invite_member",
                &[("email", "eve@example.com"), ("role", "admin")],
            ),
            ("revoke_invitation", &[("id", &invitation_b)]),
            (
                "change_member_role",
                &[("user_id", &carol), ("role", "owner")],
            ),
            ("remove_member", &[("user_id", &carol)]),
            ("leave_organization", &[]),
            ("create_organization", &[("organization_name", "Mine")]),
            ("accept_invitation", &[("token", "abc")]),
        ];
        for (function, form) in attempts {
            let (status, body) = anonymous.call(function, form).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{function}: {body}");
            assert!(body.to_string().contains("unauthorized"), "{body}");
        }
        assert_eq!(role_in(&db, carol_id, org_a).await, Some(Role::Viewer));

        // The invitation link itself needs no account: the invitee may not have one yet.
        let (status, body) = anonymous
            .call("invitation_preview", &[("token", "abc")])
            .await;
        assert_eq!((status, body), (StatusCode::OK, Value::Null));
    });
}

#[test]
fn an_owner_manages_members_and_the_pages_render() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        let World {
            db,
            mut alice,
            mut carol,
            alice_id,
            carol_id,
            org_a,
            org_b,
            ..
        } = world(&app).await;
        let carol_user = carol_id.to_string();

        let (status, overview) = alice.call("members_overview", &[]).await;
        assert_eq!(status, StatusCode::OK, "{overview}");
        assert_eq!(overview["my_role"], "owner");
        assert_eq!(overview["can_manage"], true);
        assert_eq!(
            overview["assignable_roles"],
            json!(["owner", "admin", "editor", "viewer"])
        );

        // Refused fields come back per field; a good invitation goes out.
        let (_, body) = invite(&mut alice, "not-an-address", "editor").await;
        let text = body.to_string();
        assert!(
            text.contains("Invalid") && text.contains("invalid_email"),
            "{body}"
        );
        let (_, body) = invite(&mut alice, "carol@example.com", "editor").await;
        assert!(body.to_string().contains("already_member"), "{body}");
        let (_, body) = invite(&mut alice, "Eve@Example.com", "admin").await;
        assert_eq!(body, json!("Done"));
        assert_eq!(
            open_invitations(&db, alice_id, org_a).await,
            ["eve@example.com"]
        );

        let (_, body) = alice
            .call(
                "change_member_role",
                &[("user_id", &carol_user), ("role", "editor")],
            )
            .await;
        assert_eq!(body, json!("Done"));
        assert_eq!(role_in(&db, carol_id, org_a).await, Some(Role::Editor));

        // The only owner can neither leave nor step down.
        let (_, body) = alice.call("leave_organization", &[]).await;
        assert_eq!(body, json!("LastOwner"));

        // The pages, rendered on the server with the session.
        let (status, html) = alice.page("/members").await;
        assert_eq!(status, StatusCode::OK);
        for expected in [
            "carol@example.com",
            "eve@example.com",
            "Invite someone",
            "Members",
        ] {
            assert!(html.contains(expected), "the members page lacks {expected}");
        }
        let (_, html) = carol.page("/members").await;
        assert!(html.contains("carol@example.com") && !html.contains("invite-form"));

        let mut anonymous = app.browser();
        let token = emailed_token(&db, "eve@example.com", "invitation").await;
        let (status, html) = anonymous
            .page(&format!("/invitations/accept?token={token}"))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains("Org of alice@example.com") && html.contains("accept-sign-in"),
            "the preview and the way to sign in"
        );

        // Opening another organization switches the session to it.
        let (_, body) = carol
            .call("create_organization", &[("organization_name", "")])
            .await;
        let text = body.to_string();
        assert!(
            text.contains("organization_name") && text.contains("required"),
            "{body}"
        );
        let (_, body) = carol
            .call(
                "create_organization",
                &[("organization_name", "Carol's Shop")],
            )
            .await;
        assert_eq!(body, json!("Done"));
        let (_, overview) = carol.call("members_overview", &[]).await;
        assert_eq!(overview["organization_name"], "Carol's Shop");
        assert_eq!(overview["my_role"], "owner");
        assert_ne!(org_a, org_b);

        // Removing Carol from A takes her out; her session keeps working in her own shop.
        let (_, body) = alice
            .call("remove_member", &[("user_id", &carol_user)])
            .await;
        assert_eq!(body, json!("Done"));
        assert_eq!(role_in(&db, carol_id, org_a).await, None);
    });
}
