//! WooCommerce connections end to end against the WooCommerce sandbox: the wc-auth key
//! handover (login, approve, keys POSTed to our endpoint, browser back), keys entered by
//! hand, checks, "needs reconnect", disconnect, and signed webhooks stored once.

mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::Method;
use sea_orm::{ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _};
use serde_json::{Value, json};
use shopmarkets_core::channels::channel::{ChannelError, ConnectInput};
use shopmarkets_core::channels::connections::{self, ConnectError, ConnectionView, Status};
use shopmarkets_core::channels::credentials::Credentials;
use shopmarkets_core::channels::woocommerce;
use shopmarkets_core::db::Db;
use shopmarkets_core::entity::channel_connection;
use shopmarkets_core::secret::Secret;
use shopmarkets_types::Marketplace;
use support::forms::{Form, forms};
use support::*;
use uuid::Uuid;

const WOO: Marketplace = Marketplace::WooCommerce;

fn store(w: &World) -> String {
    format!("{}/demo-store", w.sandbox("woocommerce"))
}

fn input(w: &World) -> ConnectInput {
    ConnectInput {
        shop: Some(store(w)),
        ..ConnectInput::default()
    }
}

/// What a browser reads from the HTML: each `<form>` with its action and the fields it posts
/// (hidden inputs, text inputs with their prefilled values, and the submit button's
/// name/value: each form here has a single button).
fn submitted_forms(html: &str) -> Vec<Form> {
    forms(html)
        .into_iter()
        .map(|mut form| {
            form.fields.append(&mut form.buttons);
            form
        })
        .collect()
}

fn cookie_of(response: &reqwest::Response) -> String {
    response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// Goes from the authorize URL through the store's login and grant pages as a browser
/// would, and presses "Approve" or "Deny". Returns the store's answer to that press.
async fn consent(w: &World, url: &str, approve: bool) -> reqwest::Response {
    let authorize = w.browser.get(url).send().await.unwrap();
    assert_eq!(authorize.status(), 302, "authorize");
    let login_page = w.browser.get(location(&authorize)).send().await.unwrap();
    assert_eq!(login_page.status(), 200);
    let html = login_page.text().await.unwrap();
    let login = submitted_forms(&html).remove(0);
    assert!(login.action.ends_with("/wc-auth/v1/login"), "{html}");
    let logged = w
        .browser
        .post(&login.action)
        .form(&login.fields)
        .send()
        .await
        .unwrap();
    assert_eq!(logged.status(), 302, "login");
    let cookie = cookie_of(&logged);
    let grant_page = w
        .browser
        .get(location(&logged))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(grant_page.status(), 200);
    let html = grant_page.text().await.unwrap();
    assert!(
        html.contains("ShopMarkets would like to connect to your store"),
        "{html}"
    );
    let wanted = if approve {
        "/wc-auth/v1/access_granted"
    } else {
        "/wc-auth/v1/deny"
    };
    let form = submitted_forms(&html)
        .into_iter()
        .find(|f| f.action.ends_with(wanted))
        .expect("the button's form");
    w.browser
        .post(&form.action)
        .header("cookie", &cookie)
        .form(&form.fields)
        .send()
        .await
        .unwrap()
}

async fn start(w: &World, now: chrono::DateTime<Utc>) -> String {
    w.start_flow(WOO, &input(w), now).await.unwrap()
}

/// The whole connect flow; returns the connection and the time from start() to finish().
async fn connect(w: &World) -> (ConnectionView, Duration) {
    let began = Instant::now();
    let url = start(w, Utc::now()).await;
    let approved = consent(w, &url, true).await;
    assert_eq!(approved.status(), 302, "{}", approved.text().await.unwrap());
    let back = location(&approved);
    assert!(
        back.starts_with(&format!("{}/channels/woo_commerce/callback?", w.app_url)),
        "{back}"
    );
    let view = w.finish(WOO, &back).await.unwrap();
    (view, began.elapsed())
}

async fn keys(w: &World, id: Uuid) -> (String, String) {
    match secrets(w, id).await.credentials {
        Credentials::ApiKeys { key, secret } => (key, secret),
        other => panic!("expected API keys, got {other:?}"),
    }
}

async fn store_keys(w: &World) -> u64 {
    w.sandbox_state("woocommerce").await["stores"]["demo-store"]["keys"]
        .as_u64()
        .unwrap_or(0)
}

/// The sandbox's webhooks pointing at one connection.
async fn hooks_of(w: &World, id: Uuid) -> Vec<Value> {
    let url = format!("{}/webhooks/woo_commerce/{id}", w.app_url);
    w.sandbox_state("woocommerce").await["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["delivery_url"] == url.as_str())
        .cloned()
        .collect()
}

fn channel_error(result: Result<ConnectionView, ConnectError>) -> ChannelError {
    match result {
        Err(ConnectError::Channel(error)) => error,
        other => panic!("expected a channel error, got {other:?}"),
    }
}

async fn connections_count(w: &World) -> u64 {
    channel_connection::Entity::find()
        .filter(channel_connection::Column::OrganizationId.eq(w.scope.organization_id()))
        .count(&w.db)
        .await
        .unwrap()
}

async fn connect_flow_end_to_end(db: Db) {
    let w = World::start(db).await;
    let (view, latency) = connect(&w).await;
    eprintln!(
        "woocommerce connect flow ({:?}): start() to finish() took {} ms",
        w.db.get_database_backend(),
        latency.as_millis()
    );
    assert_eq!(view.marketplace, WOO);
    assert_eq!(view.status, Status::Active);
    assert_eq!(view.account_id, store(&w));
    assert_eq!(
        view.account_name, "demo-store",
        "the site title from /wp-json"
    );
    assert_eq!(view.scopes, vec!["read_write".to_owned()]);
    assert_eq!(
        view.access_expires_at, None,
        "WooCommerce keys never expire"
    );
    assert_eq!(view.last_error, None);

    let listed = connections::list(&w.db, &w.scope).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, view.id);

    let (key, secret) = keys(&w, view.id).await;
    assert!(key.starts_with("ck_") && secret.starts_with("cs_"));
    assert_eq!(store_keys(&w).await, 1, "the store made one key pair");
    let stored = secrets(&w, view.id).await;
    assert_eq!(stored.webhook_secret.as_deref().map(str::len), Some(48));

    // Subscribed to new and changed orders at this connection's endpoint.
    let hooks = hooks_of(&w, view.id).await;
    let mut topics: Vec<&str> = hooks.iter().map(|h| h["topic"].as_str().unwrap()).collect();
    topics.sort_unstable();
    assert_eq!(topics, ["order.created", "order.updated"]);
    assert!(hooks.iter().all(|h| h["status"] == "active"));
    let ids: Vec<String> = serde_json::from_str(&row(&w, view.id).await.webhook_ids).unwrap();
    assert_eq!(ids.len(), 2);

    let tested = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(tested.status, Status::Active);
    assert_eq!(tested.last_error, None);
    assert!(tested.last_success_at.is_some());

    let audit = audit_trail(&w).await;
    let connected: Vec<&Value> = audit
        .iter()
        .filter(|(action, _)| action == "channel.connected")
        .map(|(_, details)| details)
        .collect();
    assert_eq!(connected.len(), 1);
    assert_eq!(connected[0]["marketplace"], "woo_commerce");
    assert_eq!(connected[0]["webhooks"], 2);
    let printed = format!("{audit:?} {view:?} {:?}", row(&w, view.id).await);
    assert!(!printed.contains(&secret) && !printed.contains(&key));
}

async fn state_mismatch_unknown_and_reused(db: Db) {
    let w = World::start(db).await;
    let url = start(&w, Utc::now()).await;
    let back = location(&consent(&w, &url, true).await);

    // Another browser session brings the answer: refused, and the flow stays usable.
    let other = connections::finish(
        &w.db,
        &w.channels,
        "another-browser-session",
        WOO,
        &query_of(&back),
        None,
        Utc::now(),
    )
    .await;
    assert_channel_error(other, "wrong_session");

    // A state nobody issued.
    let unknown = format!(
        "{}/channels/woo_commerce/callback?success=1&user_id=forged-state",
        w.app_url
    );
    assert_channel_error(w.finish(WOO, &unknown).await, "unknown_state");
    let missing = format!("{}/channels/woo_commerce/callback?success=1", w.app_url);
    assert_channel_error(w.finish(WOO, &missing).await, "unknown_state");

    // The right session finishes once; the same answer again stores nothing new.
    let view = w.finish(WOO, &back).await.unwrap();
    assert_eq!(view.status, Status::Active);
    assert_channel_error(w.finish(WOO, &back).await, "reused");
    assert_eq!(connections_count(&w).await, 1);
    assert_eq!(
        hooks_of(&w, view.id).await.len(),
        2,
        "no second subscription"
    );

    // The answer arriving at another marketplace's endpoint is a mix-up.
    let url = start(&w, Utc::now()).await;
    let back = location(&consent(&w, &url, true).await);
    let mut query = query_of(&back);
    let state = query.remove("user_id").unwrap();
    query.insert("state".into(), state);
    let mixed = connections::finish(
        &w.db,
        &w.channels,
        SESSION,
        Marketplace::Shopify,
        &query,
        None,
        Utc::now(),
    )
    .await;
    assert_channel_error(mixed, "wrong_marketplace");
}

async fn deny_on_the_consent_page(db: Db) {
    let w = World::start(db).await;
    let url = start(&w, Utc::now()).await;
    let denied = consent(&w, &url, false).await;
    assert_eq!(denied.status(), 302);
    let back = location(&denied);
    assert_eq!(query_of(&back)["success"], "0");
    assert_channel_error(w.finish(WOO, &back).await, "denied");
    assert_eq!(connections_count(&w).await, 0);
    assert_eq!(store_keys(&w).await, 0, "no keys were made");
    // The flow is spent.
    assert_channel_error(w.finish(WOO, &back).await, "reused");
}

async fn key_handover_forged_expired_or_missing(db: Db) {
    let w = World::start(db).await;
    let ck = format!("ck_{}", "a".repeat(40));
    let cs = format!("cs_{}", "b".repeat(40));

    // A key POST for a state we never issued is refused, at the service and at the endpoint.
    let forged = connections::receive_handed_over_keys(
        &w.db,
        &w.channels,
        "never-issued",
        &ck,
        &cs,
        Utc::now(),
    )
    .await;
    assert_eq!(forged.unwrap_err().code(), "unknown_state");
    let posted = w
        .browser
        .post(format!("{}/channels/woo_commerce/keys", w.app_url))
        .json(&json!({ "key_id": 1, "user_id": "never-issued", "consumer_key": ck, "consumer_secret": cs, "key_permissions": "read_write" }))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 400);

    // Keys handed over for a flow that has expired: our endpoint refuses them, so the store
    // deletes the keys and shows its error page; the browser's return finds the flow expired.
    let url = start(&w, Utc::now() - chrono::Duration::minutes(11)).await;
    let state = query_of(&url)["user_id"].clone();
    let refused = consent(&w, &url, true).await;
    assert_eq!(refused.status(), 401);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("unable to send the consumer data")
    );
    assert_eq!(
        store_keys(&w).await,
        0,
        "the store deleted the refused keys"
    );
    let back = format!(
        "{}/channels/woo_commerce/callback?success=1&user_id={state}",
        w.app_url
    );
    assert_channel_error(w.finish(WOO, &back).await, "expired");

    // The browser comes back with success=1 but no keys ever arrived.
    let url = start(&w, Utc::now()).await;
    let state = query_of(&url)["user_id"].clone();
    let back = format!(
        "{}/channels/woo_commerce/callback?success=1&user_id={state}",
        w.app_url
    );
    let error = channel_error(w.finish(WOO, &back).await);
    assert_eq!(
        error,
        ChannelError::Protocol("the store did not hand over keys".into())
    );

    // Keys posted for a live flow by someone else than the store: the store refuses them
    // when the flow finishes, and nothing is stored; a second POST for the flow is refused.
    let url = start(&w, Utc::now()).await;
    let state = query_of(&url)["user_id"].clone();
    connections::receive_handed_over_keys(&w.db, &w.channels, &state, &ck, &cs, Utc::now())
        .await
        .unwrap();
    let again =
        connections::receive_handed_over_keys(&w.db, &w.channels, &state, &ck, &cs, Utc::now())
            .await;
    assert_eq!(again.unwrap_err().code(), "reused");
    let back = format!(
        "{}/channels/woo_commerce/callback?success=1&user_id={state}",
        w.app_url
    );
    let error = channel_error(w.finish(WOO, &back).await);
    assert_eq!(error.code(), "invalid_credentials", "{error}");
    assert_eq!(connections_count(&w).await, 0);
}

async fn keys_entered_by_hand(db: Db) {
    let w = World::start(db).await;
    let (view, _) = connect(&w).await;
    let (key, secret) = keys(&w, view.id).await;
    let by_hand = |shop: &str, key: &str, secret: &str| ConnectInput {
        shop: Some(shop.to_owned()),
        key: Some(key.to_owned()),
        secret: Some(Secret::new(secret.to_owned())),
    };
    let manual = |input: ConnectInput| {
        let (db, channels, scope) = (w.db.clone(), w.channels.clone(), w.scope.clone());
        async move {
            connections::connect_with_keys(&db, &channels, &scope, WOO, &input, None, Utc::now())
                .await
        }
    };

    // The right key with a wrong secret: the store refuses the signature.
    let wrong_secret = format!("cs_{}", "0".repeat(40));
    let error = channel_error(manual(by_hand(&store(&w), &key, &wrong_secret)).await);
    assert_eq!(error.code(), "invalid_credentials", "{error}");
    assert!(!error.to_string().contains(&wrong_secret));
    // A key the store does not know.
    let unknown = channel_error(
        manual(by_hand(
            &store(&w),
            &format!("ck_{}", "1".repeat(40)),
            &secret,
        ))
        .await,
    );
    assert_eq!(
        unknown,
        ChannelError::InvalidCredentials("Consumer key is invalid.".into())
    );

    // Strict input checks, before anything is sent.
    let here = store(&w);
    let (here, key_s, secret_s) = (here.as_str(), key.as_str(), secret.as_str());
    for (shop, key, secret, field) in [
        ("", key_s, secret_s, "shop"),
        ("ftp://shop.example.com", key_s, secret_s, "shop"),
        ("http://shop.example.com", key_s, secret_s, "shop"),
        ("https://user:pw@shop.example.com", key_s, secret_s, "shop"),
        ("https://shop.example.com/?a=1", key_s, secret_s, "shop"),
        (
            "https://shop.example.com/wp-admin/",
            key_s,
            secret_s,
            "shop",
        ),
        (here, "ck_short", secret_s, "key"),
        (here, key_s, "", "secret"),
        (here, key_s, key_s, "secret"),
    ] {
        match manual(by_hand(shop, key, secret)).await {
            Err(ConnectError::Channel(ChannelError::InvalidInput { field: f, .. })) => {
                assert_eq!(f, field, "{shop} {key}")
            }
            other => panic!("{shop}: expected invalid input, got {other:?}"),
        }
    }

    // The right keys (with a trailing slash and spaces a merchant might paste) connect the
    // same store again: one connection, reconnected.
    let pasted = format!(" {}/ ", store(&w));
    let again = manual(by_hand(&pasted, &format!(" {key} "), &secret))
        .await
        .unwrap();
    assert_eq!(again.id, view.id);
    assert_eq!(again.account_id, store(&w));
    assert_eq!(again.status, Status::Active);
    assert_eq!(connections_count(&w).await, 1);
    assert_eq!(
        hooks_of(&w, view.id).await.len(),
        2,
        "old webhooks replaced"
    );
    let audit = audit_trail(&w).await;
    assert!(audit.iter().any(|(a, _)| a == "channel.reconnected"));
}

async fn read_only_keys_are_refused(db: Db) {
    let w = World::start(db).await;
    // A read-only key pair, made through the store's own flow with scope=read.
    let read_url = start(&w, Utc::now())
        .await
        .replace("scope=read_write", "scope=read");
    let state = query_of(&read_url)["user_id"].clone();
    let approved = consent(&w, &read_url, true).await;
    assert_eq!(approved.status(), 302);
    let back = format!(
        "{}/channels/woo_commerce/callback?success=1&user_id={state}",
        w.app_url
    );
    let error = channel_error(w.finish(WOO, &back).await);
    assert_eq!(
        error,
        ChannelError::InvalidCredentials(
            "The API key provided does not have write permissions.".into()
        )
    );
    assert_eq!(connections_count(&w).await, 0);
}

async fn keys_never_expire_and_revoked_keys_need_reconnect(db: Db) {
    let w = World::start(db).await;
    let (view, _) = connect(&w).await;
    let before = keys(&w, view.id).await;

    // Nothing is due: keys have no expiry.
    let report = connections::refresh_due(
        &w.db,
        &w.channels,
        Utc::now() + chrono::Duration::minutes(55),
    )
    .await
    .unwrap();
    assert_eq!(report, connections::RefreshReport::default());
    let (channel, env) = w.channels.get(WOO).unwrap();
    let stored = secrets(&w, view.id).await;
    let refreshed = channel
        .refresh(env, &view.account_id, &stored.credentials)
        .await
        .unwrap();
    assert_eq!(
        refreshed, stored.credentials,
        "refresh returns the keys unchanged"
    );
    assert_eq!(keys(&w, view.id).await, before);
    let tested = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(tested.status, Status::Active);

    // The merchant deletes the keys in WP admin.
    w.control("woocommerce", Method::POST, "revoke", json!({}))
        .await;
    let tested = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(tested.status, Status::NeedsReconnect);
    let (code, detail) = tested.last_error.clone().unwrap();
    assert_eq!(code, "invalid_credentials");
    assert!(detail.contains("Consumer key is invalid"), "{detail}");
    let audit = audit_trail(&w).await;
    let failed: Vec<&Value> = audit
        .iter()
        .filter(|(a, _)| a == "channel.refresh_failed")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["reason"], "invalid_credentials");

    // Store trouble is not the keys' fault: 5xx and 429 keep the status.
    let (channel, env) = w.channels.get(WOO).unwrap();
    w.control(
        "woocommerce",
        Method::PUT,
        "faults",
        json!({ "error_rate": 1.0 }),
    )
    .await;
    let down = channel
        .check(env, &view.account_id, &stored)
        .await
        .unwrap_err();
    assert_eq!(down.code(), "unavailable", "{down}");
    w.control(
        "woocommerce",
        Method::PUT,
        "faults",
        json!({ "throttle_rate": 1.0 }),
    )
    .await;
    let limited = channel
        .check(env, &view.account_id, &stored)
        .await
        .unwrap_err();
    assert_eq!(limited, ChannelError::RateLimited);
    w.control("woocommerce", Method::PUT, "faults", json!({}))
        .await;
}

async fn disconnect_removes_webhooks_and_credentials(db: Db) {
    let w = World::start(db).await;
    let (view, _) = connect(&w).await;
    assert_eq!(hooks_of(&w, view.id).await.len(), 2);

    let done = connections::disconnect(&w.db, &w.channels, &w.scope, view.id, None, Utc::now())
        .await
        .unwrap();
    assert_eq!(done.status, Status::Disconnected);
    assert!(done.disconnected_at.is_some());
    assert!(
        hooks_of(&w, view.id).await.is_empty(),
        "webhooks deleted at the store"
    );
    let model = row(&w, view.id).await;
    assert_eq!(model.secrets, None, "credentials deleted");
    assert_eq!(model.webhook_ids, "[]");
    // WooCommerce offers no revocation to apps: the keys stay until the merchant deletes them.
    assert_eq!(store_keys(&w).await, 1);
    let audit = audit_trail(&w).await;
    let details = &audit
        .iter()
        .find(|(a, _)| a == "channel.disconnected")
        .unwrap()
        .1;
    assert_eq!(details["revoked_at_marketplace"], false);
    assert_eq!(details["webhooks_removed"], 2);
    assert_eq!(details["problems"], json!([]));

    let listed = connections::list(&w.db, &w.scope).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, Status::Disconnected);
    assert_channel_error(
        connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now()).await,
        "invalid_credentials",
    );
}

/// Creates a product with the connection's keys (through the adapter's REST client).
async fn create_product(w: &World, id: Uuid, sku: &str) {
    let (_, env) = w.channels.get(WOO).unwrap();
    let credentials = secrets(w, id).await.credentials;
    let created = woocommerce::request(
        env,
        &store(w),
        &credentials,
        Method::POST,
        "products",
        &[],
        Some(&json!({ "name": "Tasse", "sku": sku, "regular_price": "12.50", "manage_stock": true, "stock_quantity": 50 })),
    )
    .await
    .unwrap();
    assert_eq!(created["sku"], sku);
}

async fn deliveries(w: &World, topic: &str) -> Vec<Value> {
    w.sandbox_state("woocommerce").await["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["topic"] == topic)
        .cloned()
        .collect()
}

async fn webhooks_are_verified_and_stored_once(db: Db) {
    let w = World::start(db).await;
    let (view, _) = connect(&w).await;
    // Both pings were answered (200) and nothing was stored for them.
    wait_until("the pings", || async {
        deliveries(&w, "ping").await.len() == 2
    })
    .await;
    assert!(
        deliveries(&w, "ping")
            .await
            .iter()
            .all(|d| d["status"] == 200)
    );
    assert!(events(&w, view.id).await.is_empty());

    create_product(&w, view.id, "TASSE").await;
    let order = {
        let response = w
            .browser
            .post(format!("{}/_sandbox/orders", w.sandbox("woocommerce")))
            .json(&json!({ "sku": "TASSE", "quantity": 2 }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        response.json::<Value>().await.unwrap()
    };
    wait_until("the order notification", || async {
        events(&w, view.id).await.len() == 1
    })
    .await;
    let stored = events(&w, view.id).await.remove(0);
    assert_eq!(stored.topic, "order.created");
    assert!(
        stored.event_id.starts_with(&format!(
            "order:{}:{}:",
            order["id"],
            order["date_modified_gmt"].as_str().unwrap()
        )),
        "{}",
        stored.event_id
    );
    let payload: Value = serde_json::from_str(&stored.payload).unwrap();
    assert_eq!(payload["id"], order["id"]);

    // A duplicate delivery of the next order is stored once.
    w.control(
        "woocommerce",
        Method::PUT,
        "faults",
        json!({ "duplicate_rate": 1.0 }),
    )
    .await;
    w.control(
        "woocommerce",
        Method::POST,
        "orders",
        json!({ "sku": "TASSE", "quantity": 1 }),
    )
    .await;
    wait_until("the duplicate delivery", || async {
        deliveries(&w, "order.created")
            .await
            .iter()
            .any(|d| d["result"] == "duplicate" && d["status"] == 200)
    })
    .await;
    w.control("woocommerce", Method::PUT, "faults", json!({}))
        .await;
    assert_eq!(
        events(&w, view.id).await.len(),
        2,
        "the duplicate is stored once"
    );

    // A status change arrives as order.updated.
    let (_, env) = w.channels.get(WOO).unwrap();
    let credentials = secrets(&w, view.id).await.credentials;
    woocommerce::request(
        env,
        &store(&w),
        &credentials,
        Method::PUT,
        &format!("orders/{}", order["id"]),
        &[],
        Some(&json!({ "status": "completed" })),
    )
    .await
    .unwrap();
    wait_until("the order.updated notification", || async {
        events(&w, view.id)
            .await
            .iter()
            .any(|e| e.topic == "order.updated")
    })
    .await;
    assert_eq!(events(&w, view.id).await.len(), 3);
}

async fn forged_webhooks_are_refused(db: Db) {
    let w = World::start(db).await;
    let (view, _) = connect(&w).await;
    let endpoint = format!("{}/webhooks/woo_commerce/{}", w.app_url, view.id);
    let body =
        json!({ "id": 4711, "status": "processing", "date_modified_gmt": "2026-03-02T10:00:00" })
            .to_string();
    let post = |signature: Option<String>, body: String, endpoint: String| {
        let browser = w.browser.clone();
        async move {
            let mut request = browser
                .post(endpoint)
                .header("content-type", "application/json")
                .header("x-wc-webhook-topic", "order.created")
                .header("x-wc-webhook-resource", "order")
                .header("x-wc-webhook-event", "created")
                .header("x-wc-webhook-delivery-id", "abc");
            if let Some(signature) = signature {
                request = request.header("x-wc-webhook-signature", signature);
            }
            request.body(body).send().await.unwrap().status().as_u16()
        }
    };
    // Signed with another secret, with garbage, or not at all.
    use base64::Engine as _;
    let wrong = {
        use hmac::Mac as _;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"not-the-secret").unwrap();
        mac.update(body.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    };
    assert_eq!(post(Some(wrong), body.clone(), endpoint.clone()).await, 401);
    assert_eq!(
        post(Some("x".into()), body.clone(), endpoint.clone()).await,
        401
    );
    assert_eq!(post(None, body.clone(), endpoint.clone()).await, 401);
    // An unsigned ping is answered and not stored.
    assert_eq!(
        post(None, "webhook_id=99".into(), endpoint.clone()).await,
        200
    );
    // The right signature is accepted (the secret is the connection's own).
    let secret = secrets(&w, view.id).await.webhook_secret.unwrap();
    let right = {
        use hmac::Mac as _;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    };
    assert_eq!(
        post(Some(right.clone()), body.clone(), endpoint.clone()).await,
        200
    );
    assert_eq!(events(&w, view.id).await.len(), 1);
    // Another connection's endpoint, or an unknown one, does not take it.
    let unknown = format!("{}/webhooks/woo_commerce/{}", w.app_url, Uuid::new_v4());
    assert_eq!(post(Some(right), body.clone(), unknown).await, 404);
    assert_eq!(events(&w, view.id).await.len(), 1);
}

async fn another_organization_sees_nothing(db: Db) {
    let w = World::start(db).await;
    let (view, _) = connect(&w).await;
    let stranger = w.stranger().await;
    assert_channel_error(
        connections::get(&w.db, &stranger, view.id).await,
        "not_found",
    );
    assert_channel_error(
        connections::test_connection(&w.db, &w.channels, &stranger, view.id, Utc::now()).await,
        "not_found",
    );
    assert_channel_error(
        connections::disconnect(&w.db, &w.channels, &stranger, view.id, None, Utc::now()).await,
        "not_found",
    );
    assert!(
        connections::list(&w.db, &stranger)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        connections::get(&w.db, &w.scope, view.id)
            .await
            .unwrap()
            .status,
        Status::Active
    );
    assert_eq!(hooks_of(&w, view.id).await.len(), 2, "untouched");
}

/// The store address a merchant enters, checked and normalised without any call.
#[test]
fn store_addresses_are_checked_and_normalised() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let env = |sandboxes: &str| {
        let config = shopmarkets_core::testing::config(&[("CHANNEL_SANDBOXES", sandboxes)]);
        shopmarkets_core::channels::ChannelEnv {
            http: shopmarkets_core::channels::http::client(&config.channels).unwrap(),
            endpoints: std::sync::Arc::new(config.channels.clone()),
            app: None,
            public_url: "https://app.example.com".into(),
        }
    };
    let (production, development) = (env("off"), env("on"));
    let ok = |env, raw: &str| woocommerce::store_url(env, Some(raw)).unwrap();
    let refused = |env, raw: &str| match woocommerce::store_url(env, Some(raw)) {
        Err(ChannelError::InvalidInput { field: "shop", .. }) => {}
        other => panic!("{raw}: expected invalid input, got {other:?}"),
    };
    assert_eq!(
        ok(&production, "https://Shop.Example.com/"),
        "https://shop.example.com"
    );
    assert_eq!(
        ok(&production, "shop.example.com/laden/"),
        "https://shop.example.com/laden"
    );
    assert_eq!(
        ok(&production, "https://shop.example.com:8443"),
        "https://shop.example.com:8443"
    );
    assert_eq!(
        ok(&production, "https://müller.de"),
        "https://xn--mller-kva.de"
    );
    for raw in [
        "",
        "   ",
        "http://shop.example.com",
        "http://127.0.0.1:8080",
        "https://127.0.0.1",
        "https://localhost",
        "https://10.1.2.3",
        "https://192.168.0.10/shop",
        "https://[::1]",
        "https://intranet",
        "https://shop.example.com/wp-json/wc/v3",
        "https://shop.example.com/#x",
        "javascript:alert(1)",
        "https://shop example.com",
    ] {
        refused(&production, raw);
    }
    // Development (sandboxes on): plain HTTP only for this machine.
    assert_eq!(
        ok(&development, "http://localhost:8080/"),
        "http://localhost:8080"
    );
    assert_eq!(
        ok(&development, "http://[::1]:8080/shop"),
        "http://[::1]:8080/shop"
    );
    assert_eq!(
        ok(&development, "http://127.0.0.1:3100/woocommerce/demo-store"),
        "http://127.0.0.1:3100/woocommerce/demo-store"
    );
    refused(&development, "http://shop.example.com");
    refused(&development, "http://192.168.0.10");
}

shopmarkets_core::db_tests!(
    connect_flow_end_to_end,
    state_mismatch_unknown_and_reused,
    deny_on_the_consent_page,
    key_handover_forged_expired_or_missing,
    keys_entered_by_hand,
    read_only_keys_are_refused,
    keys_never_expire_and_revoked_keys_need_reconnect,
    disconnect_removes_webhooks_and_credentials,
    webhooks_are_verified_and_stored_once,
    forged_webhooks_are_refused,
    another_organization_sees_nothing,
);
