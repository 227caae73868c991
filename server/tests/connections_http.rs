//! The connections page's server functions over HTTP, signed in through `/api/login`: visitors
//! are refused (401); an owner sees every marketplace with its permissions and whether this
//! server can connect it, starts a connect flow (a redirect to the marketplace, with and
//! without scripts), tests and disconnects a connection; a viewer sees the cards but no
//! buttons that change them (403 if tried); another organization's connection is 404; and
//! no answer carries a credential.
//!
//! Connections are written straight to the database (the adapters' flows are tested in
//! `shopmarkets-core`); the callback and notification routes have tests of their own.

mod common;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use chrono::{Duration, Utc};
use common::{Browser, TestApp, encode, on_shared_runtime};
use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set};
use serde_json::{Value, json};
use shopmarkets_core::{
    Db,
    clock::Clock as _,
    entity::{channel_auth_state, channel_connection, membership},
    organizations,
    testing::confirmed_user,
};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery staple 42";

/// Shopify gets an app registration; Amazon, eBay and Etsy none (WooCommerce and Kaufland
/// need none).
const SHOPIFY_APP: [(&str, &str); 2] = [
    ("SHOPIFY_CLIENT_ID", "shopmarkets-test"),
    ("SHOPIFY_CLIENT_SECRET", "shpss_test_secret"),
];

async fn app() -> TestApp {
    TestApp::with(&SHOPIFY_APP).await
}

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

/// An active Kaufland connection with access expiring in 42 minutes, written straight to the
/// database (no credentials: the adapters are not what this file tests).
async fn connection(app: &TestApp, organization_id: Uuid, account: &str) -> Uuid {
    let now = app.clock.now();
    let id = Uuid::new_v4();
    channel_connection::ActiveModel {
        id: Set(id),
        organization_id: Set(organization_id),
        marketplace: Set("kaufland".to_owned()),
        account_id: Set(format!("seller-{account}")),
        account_name: Set(account.to_owned()),
        status: Set("active".to_owned()),
        scopes: Set(String::new()),
        secrets: Set(None),
        access_expires_at: Set(Some(now + Duration::minutes(42))),
        last_success_at: Set(Some(now - Duration::minutes(3))),
        last_error: Set(Some("unavailable: the seller API answered 503".to_owned())),
        last_error_at: Set(Some(now - Duration::minutes(5))),
        webhook_ids: Set("[]".to_owned()),
        connected_by: Set(None),
        version: Set(1),
        created_at: Set(now - Duration::days(2)),
        updated_at: Set(now),
        disconnected_at: Set(None),
    }
    .insert(&app.db)
    .await
    .unwrap();
    id
}

async fn overview(browser: &mut Browser<'_>) -> Value {
    let (status, body) = browser.call("connections_overview", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// POSTs a form as a browser without scripts does (asking for HTML).
async fn plain_form(
    browser: &mut Browser<'_>,
    function: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let body = form
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let request = Request::post(format!("/api/{function}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .header(header::REFERER, format!("{}/connections", common::ORIGIN))
        .body(Body::from(body))
        .unwrap();
    let response = browser.send(request).await;
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, location)
}

/// The opening tag of the (first) disconnect dialog.
fn dialog_tag(html: &str) -> &str {
    let start = html.find("<dialog").expect("a dialog");
    let end = start + html[start..].find('>').unwrap();
    &html[start..end]
}

#[test]
fn visitors_are_refused() {
    on_shared_runtime(async {
        let app = app().await;
        let mut visitor = app.browser();
        for (function, form) in [
            ("connections_overview", vec![]),
            ("start_connection", vec![("marketplace", "shopify")]),
            (
                "test_connection",
                vec![("id", "5c3e9a4e-0000-4000-8000-000000000000")],
            ),
            (
                "disconnect",
                vec![("id", "5c3e9a4e-0000-4000-8000-000000000000")],
            ),
            (
                "connect_with_keys",
                vec![("marketplace", "kaufland"), ("key", "k"), ("secret", "s")],
            ),
        ] {
            let (status, body) = visitor.call(function, &form).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{function}: {body}");
        }
        let (_, html) = visitor.page("/connections").await;
        assert!(
            html.contains("connections-error"),
            "the page says to sign in"
        );
    });
}

#[test]
fn an_owner_sees_every_marketplace_and_connects_by_redirect() {
    on_shared_runtime(async {
        let app = app().await;
        confirmed_user(&app.db, "alice@example.com", PASSWORD).await;
        let mut alice = signed_in(&app, "alice@example.com").await;

        let data = overview(&mut alice).await;
        assert_eq!(data["can_manage"], true);
        assert_eq!(data["connections"], json!([]));
        let marketplaces = data["marketplaces"].as_array().unwrap();
        let codes: Vec<&str> = marketplaces
            .iter()
            .map(|m| m["marketplace"].as_str().unwrap())
            .collect();
        assert_eq!(
            codes,
            [
                "shopify",
                "woo_commerce",
                "amazon",
                "ebay",
                "kaufland",
                "etsy"
            ]
        );
        let by_code = |code: &str| {
            marketplaces
                .iter()
                .find(|m| m["marketplace"] == code)
                .unwrap()
                .clone()
        };
        assert_eq!(by_code("shopify")["kind"], "oauth");
        assert_eq!(by_code("shopify")["configured"], true);
        assert_eq!(by_code("woo_commerce")["kind"], "key_handover");
        assert_eq!(by_code("woo_commerce")["configured"], true);
        assert_eq!(by_code("kaufland")["kind"], "api_keys");
        assert_eq!(by_code("kaufland")["configured"], true);
        for code in ["amazon", "ebay", "etsy"] {
            assert_eq!(by_code(code)["configured"], false, "{code}");
        }
        for marketplace in marketplaces {
            let scopes = marketplace["scopes"].as_array().unwrap();
            assert!(
                scopes
                    .iter()
                    .all(|s| s["code"].is_string() && s["text"].is_string()),
                "{marketplace}"
            );
        }

        // The page: a tile per marketplace, the input each needs, and no button where this
        // server is not registered.
        let (status, html) = alice.page("/connections").await;
        assert_eq!(status, StatusCode::OK);
        for code in [
            "shopify",
            "woo_commerce",
            "amazon",
            "ebay",
            "kaufland",
            "etsy",
        ] {
            assert!(
                html.contains(&format!("id=\"connect-{code}\"")),
                "tile {code}"
            );
        }
        for expected in [
            "Connect a marketplace",
            "aria-label=\"Connect Shopify\"",
            "mein-shop.myshopify.com",
            "aria-label=\"Connect WooCommerce\"",
            "Enter keys by hand",
            "aria-label=\"Connect WooCommerce with keys\"",
            "aria-label=\"Connect Kaufland\"",
            "type=\"password\"",
            "Not set up on this server.",
            "No marketplace connected yet.",
        ] {
            assert!(html.contains(expected), "the page lacks {expected}");
        }
        for missing in ["Connect Amazon", "Connect eBay", "Connect Etsy"] {
            assert!(!html.contains(missing), "no button: {missing}");
        }

        // Shopify: the answer (and, for a script, the redirect header) names the consent page;
        // the flow is stored, bound to this session.
        let (status, url) = alice
            .call(
                "start_connection",
                &[
                    ("marketplace", "shopify"),
                    ("shop", "mein-shop.myshopify.com"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{url}");
        let url = url.as_str().unwrap().to_owned();
        assert!(url.contains("mein-shop.myshopify.com"), "{url}");
        assert!(url.contains("oauth/authorize"), "{url}");
        assert!(url.contains("state="), "{url}");
        assert_eq!(
            channel_auth_state::Entity::find()
                .count(&app.db)
                .await
                .unwrap(),
            1
        );

        // Without scripts the form post itself is redirected there.
        let (status, location) = plain_form(
            &mut alice,
            "start_connection",
            &[
                ("marketplace", "shopify"),
                ("shop", "mein-shop.myshopify.com"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::FOUND);
        assert!(location.contains("oauth/authorize"), "{location}");

        // A wrong shop is refused with the field; without scripts, back to the page with it.
        let (status, body) = alice
            .call(
                "start_connection",
                &[("marketplace", "shopify"), ("shop", "not a shop")],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.to_string().contains("invalid_input:shop"), "{body}");
        let (status, location) = plain_form(
            &mut alice,
            "start_connection",
            &[("marketplace", "shopify"), ("shop", "not a shop")],
        )
        .await;
        assert_eq!(status, StatusCode::FOUND);
        assert_eq!(location, "/connections?error=invalid_input:shop");

        // Amazon has no app registration here.
        let (status, body) = alice
            .call("start_connection", &[("marketplace", "amazon")])
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert!(body.to_string().contains("not_configured"), "{body}");

        // An unknown marketplace.
        let (status, body) = alice
            .call("start_connection", &[("marketplace", "myspace")])
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

        // The page explains an outcome the callback sends back.
        let (_, html) = alice.page("/connections?error=unknown_state").await;
        assert!(
            html.contains("This answer does not belong to a connection started here."),
            "the banner explains the code"
        );
    });
}

#[test]
fn an_owner_sees_a_connection_tests_and_disconnects_it() {
    on_shared_runtime(async {
        let app = app().await;
        let alice_id = confirmed_user(&app.db, "alice@example.com", PASSWORD).await;
        let org = home_organization(&app.db, alice_id).await;
        let id = connection(&app, org, "Alices Laden").await;
        let mut alice = signed_in(&app, "alice@example.com").await;

        let data = overview(&mut alice).await;
        let text = data.to_string();
        assert!(!text.contains("secrets"), "{text}");
        let listed = &data["connections"][0];
        assert_eq!(listed["id"], id.to_string());
        assert_eq!(listed["marketplace"], "kaufland");
        assert_eq!(listed["marketplace_name"], "Kaufland");
        assert_eq!(listed["account_name"], "Alices Laden");
        assert_eq!(listed["status"], "active");
        assert_eq!(listed["last_error_code"], "unavailable");
        assert_eq!(listed["last_error_detail"], "the seller API answered 503");
        assert_eq!(
            listed["access_expires_at"].as_i64().unwrap() - data["now"].as_i64().unwrap(),
            42 * 60
        );

        let (_, html) = alice.page("/connections").await;
        for expected in [
            "Alices Laden",
            "Active",
            "expires in 42 min",
            "3 min ago",
            "The marketplace cannot be reached right now.",
            "the seller API answered 503",
            "Test connection",
            ">Disconnect<",
            "Disconnect now",
            "Disconnect Kaufland “Alices Laden”?",
            "Your listings and orders stay",
        ] {
            assert!(html.contains(expected), "the page lacks {expected}");
        }
        // The dialog opens on its own only when asked (without scripts, by the query).
        assert!(!dialog_tag(&html).contains(" open"), "closed by default");
        let (_, html) = alice.page(&format!("/connections?disconnect={id}")).await;
        assert!(dialog_tag(&html).contains(" open"), "opened by ?disconnect");

        // Disconnecting keeps the connection listed, marked disconnected.
        let (status, body) = alice.call("disconnect", &[("id", &id.to_string())]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "disconnected");
        assert!(body["disconnected_at"].is_i64(), "{body}");
        let row = channel_connection::Entity::find_by_id(id)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.status, "disconnected");
        assert!(row.secrets.is_none());
        let data = overview(&mut alice).await;
        assert_eq!(data["connections"][0]["status"], "disconnected");

        // A disconnected connection cannot be tested; without scripts, back to the page.
        let (status, body) = alice
            .call("test_connection", &[("id", &id.to_string())])
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.to_string().contains("invalid_credentials"), "{body}");
        let (status, location) =
            plain_form(&mut alice, "disconnect", &[("id", &id.to_string())]).await;
        assert_eq!(status, StatusCode::FOUND);
        assert_eq!(location, format!("/connections?disconnected={id}"));

        let (_, html) = alice.page(&format!("/connections?disconnected={id}")).await;
        assert!(html.contains("The connection is disconnected."));
        assert!(!html.contains("Test connection"), "nothing to test");
    });
}

#[test]
fn a_viewer_sees_the_cards_but_no_buttons_that_change_them() {
    on_shared_runtime(async {
        let app = app().await;
        let alice_id = confirmed_user(&app.db, "alice@example.com", PASSWORD).await;
        let org = home_organization(&app.db, alice_id).await;
        let id = connection(&app, org, "Alices Laden").await;
        let carol_id = confirmed_user(&app.db, "carol@example.com", PASSWORD).await;
        add_member(&app.db, org, carol_id, membership::Role::Viewer).await;
        let mut carol = signed_in(&app, "carol@example.com").await;
        switch_to(&mut carol, org).await;

        let data = overview(&mut carol).await;
        assert_eq!(data["can_manage"], false);
        assert_eq!(data["connections"][0]["id"], id.to_string());

        let (status, html) = carol.page("/connections").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Alices Laden"));
        assert!(html.contains("Test connection"), "anyone may test");
        for missing in [
            "aria-label=\"Connect ",
            ">Disconnect<",
            "Disconnect now",
            ">Reconnect<",
            "type=\"password\"",
        ] {
            assert!(!html.contains(missing), "a viewer sees no {missing}");
        }
        assert!(html.contains("Only owners and admins can connect"));

        let id_text = id.to_string();
        for (function, form) in [
            (
                "start_connection",
                vec![
                    ("marketplace", "shopify"),
                    ("shop", "mein-shop.myshopify.com"),
                ],
            ),
            ("disconnect", vec![("id", id_text.as_str())]),
            (
                "connect_with_keys",
                vec![("marketplace", "kaufland"), ("key", "k"), ("secret", "s")],
            ),
        ] {
            let (status, body) = carol.call(function, &form).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{function}: {body}");
        }
        let row = channel_connection::Entity::find_by_id(id)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.status, "active", "untouched");
    });
}

#[test]
fn another_organizations_connection_is_not_found() {
    on_shared_runtime(async {
        let app = app().await;
        let alice_id = confirmed_user(&app.db, "alice@example.com", PASSWORD).await;
        let org_a = home_organization(&app.db, alice_id).await;
        let id = connection(&app, org_a, "Alices Laden").await;
        confirmed_user(&app.db, "bob@example.com", PASSWORD).await;
        let mut bob = signed_in(&app, "bob@example.com").await;

        let data = overview(&mut bob).await;
        assert_eq!(data["connections"], json!([]), "only his own");
        for function in ["test_connection", "disconnect"] {
            for probe in [id.to_string(), "not-a-uuid".to_owned()] {
                let (status, body) = bob.call(function, &[("id", &probe)]).await;
                assert_eq!(status, StatusCode::NOT_FOUND, "{function} {probe}: {body}");
                assert!(body.to_string().contains("not_found"), "{body}");
            }
        }
        // Reconnecting someone else's connection is the same 404.
        let (status, body) = bob
            .call(
                "start_connection",
                &[("marketplace", "kaufland"), ("reconnect", &id.to_string())],
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let row = channel_connection::Entity::find_by_id(id)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.status, "active", "untouched");
    });
}
