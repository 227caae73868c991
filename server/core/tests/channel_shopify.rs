//! Shopify connections end to end against the Shopify sandbox: the install page driven as a
//! browser would, the signed callback, expiring offline tokens with rotation, the app
//! uninstalling itself on disconnect, and signed notifications stored once.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::Utc;
use hmac::{Hmac, Mac as _};
use reqwest::Method;
use sea_orm::EntityTrait as _;
use serde_json::{Value, json};
use sha2::Sha256;
use shopmarkets_core::channels::channel::ConnectInput;
use shopmarkets_core::channels::connections::{self, ConnectionView, Status};
use shopmarkets_core::channels::credentials::{ConnectionSecrets, Credentials};
use shopmarkets_core::db::Db;
use shopmarkets_core::entity::channel_auth_state;
use shopmarkets_types::Marketplace;
use support::forms::forms;
use support::*;

const SHOP: &str = "demo-shop.myshopify.com";
/// The sandbox app's client secret (`SHOPIFY_CLIENT_SECRET` of the test configuration).
const CLIENT_SECRET: &str = "shopify-test-secret-0123456789";
const CLIENT_ID: &str = "shopify-test-client";

fn input(shop: &str) -> ConnectInput {
    ConnectInput {
        shop: Some(shop.to_owned()),
        ..ConnectInput::default()
    }
}

fn hmac(message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(CLIENT_SECRET.as_bytes()).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// The callback HMAC as Shopify documents it, written independently of the adapter.
fn sign_callback(params: &mut BTreeMap<String, String>) {
    params.remove("hmac");
    let message = params
        .iter()
        .map(|(k, v)| {
            serde_urlencoded::to_string([(k, v)])
                .unwrap()
                .replace('+', "%20")
        })
        .collect::<Vec<_>>()
        .join("&");
    let hex: String = hmac(message.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    params.insert("hmac".into(), hex);
}

fn callback_url(w: &World, params: &BTreeMap<String, String>) -> String {
    format!(
        "{}/channels/shopify/callback?{}",
        w.app_url,
        serde_urlencoded::to_string(params).unwrap()
    )
}

/// Starts a flow and loads the install page: (form action, hidden fields).
async fn open_install_page(w: &World, shop: &str) -> (String, Vec<(String, String)>) {
    let url = connections::start(
        &w.db,
        &w.channels,
        &w.scope,
        SESSION,
        Marketplace::Shopify,
        &input(shop),
        None,
        Utc::now(),
    )
    .await
    .unwrap();
    let expected = format!(
        "{}/{}/admin/oauth/authorize?",
        w.sandbox("shopify"),
        normalised(shop)
    );
    assert!(url.starts_with(&expected), "{url}");
    assert!(!url.contains("grant_options"), "offline token: {url}");
    let page = w.browser.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("write_products"), "{html}");
    let form = forms(&html).into_iter().next().expect("an install form");
    (form.action, form.fields)
}

fn normalised(shop: &str) -> String {
    if shop.contains('.') {
        shop.to_owned()
    } else {
        format!("{shop}.myshopify.com")
    }
}

/// Presses a button of the install page, as the browser posts the form.
async fn press(
    w: &World,
    action: &str,
    fields: &[(String, String)],
    decision: &str,
) -> reqwest::Response {
    let mut form = fields.to_vec();
    form.push(("decision".into(), decision.into()));
    w.browser.post(action).form(&form).send().await.unwrap()
}

/// Start → install page → Install: the callback URL Shopify sends the browser to.
async fn approve(w: &World, shop: &str) -> String {
    let (action, fields) = open_install_page(w, shop).await;
    let approved = press(w, &action, &fields, "install").await;
    assert_eq!(approved.status(), 302);
    let to = location(&approved);
    assert!(
        to.starts_with(&format!("{}/channels/shopify/callback?", w.app_url)),
        "{to}"
    );
    to
}

/// A connected shop.
async fn connect(w: &World, shop: &str) -> ConnectionView {
    let callback = approve(w, shop).await;
    w.finish(Marketplace::Shopify, &callback).await.unwrap()
}

/// The sandbox's webhook subscriptions of one shop.
async fn webhooks_of(w: &World, shop: &str) -> Vec<Value> {
    w.sandbox_state("shopify").await["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["shop"] == shop)
        .cloned()
        .collect()
}

/// The sandbox's view of one token (by its first ten characters).
async fn sandbox_token(w: &World, kind: &str, token: &str) -> Value {
    let short: String = token.chars().take(10).collect::<String>() + "…";
    w.sandbox_state("shopify").await["tokens"][kind]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["token"] == short.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("{kind} {short} not in the sandbox"))
}

fn oauth(secrets: &ConnectionSecrets) -> (String, Option<String>, Option<String>) {
    match &secrets.credentials {
        Credentials::OAuth {
            access_token,
            refresh_token,
            previous_refresh_token,
            ..
        } => (
            access_token.clone(),
            refresh_token.clone(),
            previous_refresh_token.clone(),
        ),
        other => panic!("OAuth credentials expected, got {other:?}"),
    }
}

async fn connect_flow_stores_an_active_connection(db: Db) {
    let w = World::start(db).await;
    let started = Instant::now();
    let callback = approve(&w, "demo-shop").await;
    let view = w.finish(Marketplace::Shopify, &callback).await.unwrap();
    eprintln!(
        "shopify connect flow (start → finish) on {:?}: {} ms",
        sea_orm::ConnectionTrait::get_database_backend(&w.db),
        started.elapsed().as_millis()
    );
    let params = query_of(&callback);
    for key in ["code", "hmac", "host", "shop", "state", "timestamp"] {
        assert!(params.contains_key(key), "{key}: {callback}");
    }

    assert_eq!(view.marketplace, Marketplace::Shopify);
    assert_eq!(view.status, Status::Active);
    assert_eq!(view.account_id, SHOP);
    assert!(!view.account_name.is_empty());
    assert_ne!(view.account_name, SHOP, "the shop's name, not its domain");
    assert_eq!(
        view.scopes,
        [
            "write_products",
            "write_inventory",
            "read_locations",
            "read_orders",
            "write_merchant_managed_fulfillment_orders"
        ]
    );
    let expires = view.access_expires_at.expect("an expiring token");
    let in_secs = (expires - Utc::now()).num_seconds();
    assert!((3500..=3600).contains(&in_secs), "{in_secs}");
    assert_eq!(view.last_error, None);

    let listed = connections::list(&w.db, &w.scope).await.unwrap();
    assert_eq!(listed, vec![view.clone()]);
    let tested = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(tested.status, Status::Active);
    assert_eq!(tested.last_error, None);

    let audit = audit_trail(&w).await;
    let connected = audit
        .iter()
        .find(|(action, _)| action == "channel.connected")
        .expect("a channel.connected audit event");
    assert_eq!(connected.1["account"], SHOP);
    assert_eq!(connected.1["webhooks"], 8);
    assert_eq!(connected.1["problems"], json!([]));

    // Subscriptions to our endpoint for this connection, and the secrets hold the tokens.
    let hooks = webhooks_of(&w, SHOP).await;
    let endpoint = format!("{}/webhooks/shopify/{}", w.app_url, view.id);
    assert_eq!(hooks.len(), 8, "{hooks:?}");
    assert!(hooks.iter().all(|h| h["uri"] == endpoint.as_str()));
    let topics: Vec<&str> = hooks.iter().filter_map(|h| h["topic"].as_str()).collect();
    for topic in [
        "ORDERS_CREATE",
        "ORDERS_UPDATED",
        "ORDERS_PAID",
        "APP_UNINSTALLED",
    ] {
        assert!(topics.contains(&topic), "{topics:?}");
    }
    let (access, refresh, _) = oauth(&secrets(&w, view.id).await);
    assert!(access.starts_with("shpat_"));
    assert!(refresh.unwrap().starts_with("shprt_"));
}

async fn state_must_match_session_and_be_used_once(db: Db) {
    let w = World::start(db).await;
    let callback = approve(&w, SHOP).await;
    let query = query_of(&callback);

    let other_session = connections::finish(
        &w.db,
        &w.channels,
        "another-browser-session",
        Marketplace::Shopify,
        &query,
        None,
        Utc::now(),
    )
    .await;
    assert_channel_error(other_session, "wrong_session");

    let mut unknown = query.clone();
    unknown.insert("state".into(), "never-issued-state".into());
    sign_callback(&mut unknown);
    assert_channel_error(
        w.finish(Marketplace::Shopify, &callback_url(&w, &unknown))
            .await,
        "unknown_state",
    );

    w.finish(Marketplace::Shopify, &callback).await.unwrap();
    assert_channel_error(w.finish(Marketplace::Shopify, &callback).await, "reused");
    assert_eq!(connection_count(&w).await, 1);
    let flows = channel_auth_state::Entity::find().all(&w.db).await.unwrap();
    assert!(flows.iter().all(|f| f.used_at.is_some()));
}

async fn tampered_or_mixed_up_callbacks_are_forged(db: Db) {
    let w = World::start(db).await;
    // A parameter changed after Shopify signed the callback.
    let callback = approve(&w, SHOP).await;
    let mut tampered = query_of(&callback);
    tampered.insert("host".into(), "ZXZpbC5leGFtcGxl".into());
    assert_channel_error(
        w.finish(Marketplace::Shopify, &callback_url(&w, &tampered))
            .await,
        "forged",
    );
    // A signature that is not the callback's.
    let mut params = query_of(&approve(&w, SHOP).await);
    params.insert("hmac".into(), "00".repeat(32));
    assert_channel_error(
        w.finish(Marketplace::Shopify, &callback_url(&w, &params))
            .await,
        "forged",
    );

    // Started for one shop, installed on another: a valid signature for the wrong shop.
    let (action, fields) = open_install_page(&w, "shop-a").await;
    let other_shop = action.replace("shop-a.myshopify.com", "shop-b.myshopify.com");
    assert_ne!(other_shop, action);
    let approved = press(&w, &other_shop, &fields, "install").await;
    assert_eq!(approved.status(), 302);
    let mixed_up = location(&approved);
    assert_eq!(query_of(&mixed_up)["shop"], "shop-b.myshopify.com");
    assert_channel_error(w.finish(Marketplace::Shopify, &mixed_up).await, "forged");

    // A callback older than ten minutes.
    let callback = approve(&w, SHOP).await;
    let mut old = query_of(&callback);
    old.insert(
        "timestamp".into(),
        (Utc::now().timestamp() - 3600).to_string(),
    );
    sign_callback(&mut old);
    assert_channel_error(
        w.finish(Marketplace::Shopify, &callback_url(&w, &old))
            .await,
        "forged",
    );

    assert_eq!(connection_count(&w).await, 0);
    assert!(connections::list(&w.db, &w.scope).await.unwrap().is_empty());
}

async fn reused_or_expired_codes_are_refused(db: Db) {
    let w = World::start(db).await;
    let first = approve(&w, SHOP).await;
    let connected = w.finish(Marketplace::Shopify, &first).await.unwrap();

    // A second flow finished with the first flow's code, correctly signed.
    let second = approve(&w, SHOP).await;
    let mut replay = query_of(&second);
    replay.insert("code".into(), query_of(&first)["code"].clone());
    sign_callback(&mut replay);
    let refused = w
        .finish(Marketplace::Shopify, &callback_url(&w, &replay))
        .await;
    match &refused {
        Err(error) => {
            assert_eq!(error.code(), "invalid_credentials", "{error}");
            assert!(error.to_string().contains("not found or was already used"));
        }
        Ok(view) => panic!("a reused code was accepted: {view:?}"),
    }
    assert_eq!(connection_count(&w).await, 1);
    let view = connections::get(&w.db, &w.scope, connected.id)
        .await
        .unwrap();
    assert_eq!(view, connected, "nothing new stored");

    // A code that expired (Shopify's codes live ten minutes in the sandbox).
    let third = approve(&w, SHOP).await;
    w.control(
        "shopify",
        Method::POST,
        "clock",
        json!({ "advance_secs": 601 }),
    )
    .await;
    assert_channel_error(
        w.finish(Marketplace::Shopify, &third).await,
        "invalid_credentials",
    );
    assert_eq!(connection_count(&w).await, 1);
}

async fn cancelling_the_install_is_denied(db: Db) {
    let w = World::start(db).await;
    // By default Shopify returns the merchant to the shop admin: no callback at all.
    let (action, fields) = open_install_page(&w, SHOP).await;
    let cancelled = press(&w, &action, &fields, "cancel").await;
    assert_eq!(cancelled.status(), 302);
    assert!(location(&cancelled).ends_with(&format!("/{SHOP}/admin/apps")));

    // With a redirect on cancel, the callback carries error=access_denied.
    w.control(
        "shopify",
        Method::PUT,
        "options",
        json!({ "cancel": "redirect" }),
    )
    .await;
    let (action, fields) = open_install_page(&w, SHOP).await;
    let cancelled = press(&w, &action, &fields, "cancel").await;
    assert_eq!(cancelled.status(), 302);
    let to = location(&cancelled);
    assert_eq!(query_of(&to)["error"], "access_denied");
    assert_channel_error(w.finish(Marketplace::Shopify, &to).await, "denied");
    assert_eq!(connection_count(&w).await, 0);
}

async fn bad_shop_input_is_refused_before_anything_is_sent(db: Db) {
    let w = World::start(db).await;
    for shop in [
        "",
        "demo shop",
        "-demo",
        "demo.example.com",
        "x.myshopify.com.evil.io",
    ] {
        let started = connections::start(
            &w.db,
            &w.channels,
            &w.scope,
            SESSION,
            Marketplace::Shopify,
            &input(shop),
            None,
            Utc::now(),
        )
        .await;
        assert_channel_error(started, "invalid_input");
    }
    assert!(
        channel_auth_state::Entity::find()
            .all(&w.db)
            .await
            .unwrap()
            .is_empty()
    );
    let keys = connections::connect_with_keys(
        &w.db,
        &w.channels,
        &w.scope,
        Marketplace::Shopify,
        &ConnectInput::default(),
        None,
        Utc::now(),
    )
    .await;
    assert_channel_error(keys, "invalid_input");
}

async fn refresh_rotates_the_refresh_token(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w, SHOP).await;
    let (old_access, old_refresh, _) = oauth(&secrets(&w, view.id).await);
    let old_refresh = old_refresh.unwrap();

    let report = connections::refresh_due(
        &w.db,
        &w.channels,
        Utc::now() + chrono::Duration::minutes(55),
    )
    .await
    .unwrap();
    assert_eq!(report.refreshed, 1, "{report:?}");
    assert_eq!(report.failed, 0);

    let (access, refresh, previous) = oauth(&secrets(&w, view.id).await);
    let refresh = refresh.unwrap();
    assert_ne!(access, old_access);
    assert_ne!(refresh, old_refresh, "Shopify rotates the refresh token");
    assert_eq!(previous.as_deref(), Some(old_refresh.as_str()));
    assert_eq!(
        sandbox_token(&w, "refresh_tokens", &old_refresh).await["revoked"],
        true
    );
    assert_eq!(
        sandbox_token(&w, "refresh_tokens", &refresh).await["revoked"],
        false
    );

    let after = connections::get(&w.db, &w.scope, view.id).await.unwrap();
    assert_eq!(after.status, Status::Active);
    assert!(after.access_expires_at >= view.access_expires_at);
    let tested = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(tested.status, Status::Active);
    assert_eq!(tested.last_error, None);

    // An expired access token is renewed by the test call itself.
    w.control(
        "shopify",
        Method::POST,
        "clock",
        json!({ "advance_secs": 3700 }),
    )
    .await;
    let tested = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(tested.status, Status::Active, "{:?}", tested.last_error);
    let (_, newest, _) = oauth(&secrets(&w, view.id).await);
    assert_ne!(newest.unwrap(), refresh);
}

async fn refused_refresh_needs_reconnect(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w, SHOP).await;
    w.control("shopify", Method::POST, "revoke", json!({}))
        .await;

    let report = connections::refresh_due(
        &w.db,
        &w.channels,
        Utc::now() + chrono::Duration::minutes(55),
    )
    .await
    .unwrap();
    assert_eq!(report.failed, 1, "{report:?}");
    let after = connections::get(&w.db, &w.scope, view.id).await.unwrap();
    assert_eq!(after.status, Status::NeedsReconnect);
    let (code, detail) = after.last_error.expect("the reason is kept");
    assert_eq!(code, "refresh_refused");
    assert!(detail.contains("invalid_grant"), "{detail}");
    assert!(!detail.contains("shprt_") && !detail.contains("shpat_"));
    let audit = audit_trail(&w).await;
    let failed = audit
        .iter()
        .find(|(action, _)| action == "channel.refresh_failed")
        .expect("a channel.refresh_failed audit event");
    assert_eq!(failed.1["reason"], "refresh_refused");
}

async fn revoked_tokens_fail_the_test_call(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w, SHOP).await;
    w.control("shopify", Method::POST, "revoke", json!({}))
        .await;
    let tested = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(tested.status, Status::NeedsReconnect);
    let (code, detail) = tested.last_error.unwrap();
    assert!(
        code == "invalid_credentials" || code == "refresh_refused",
        "{code}"
    );
    assert!(!detail.is_empty());
    assert!(
        audit_trail(&w)
            .await
            .iter()
            .any(|(action, _)| action == "channel.refresh_failed")
    );
}

async fn disconnect_uninstalls_and_removes_webhooks(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w, SHOP).await;
    let (access, refresh, _) = oauth(&secrets(&w, view.id).await);
    assert_eq!(webhooks_of(&w, SHOP).await.len(), 8);

    let gone = connections::disconnect(&w.db, &w.channels, &w.scope, view.id, None, Utc::now())
        .await
        .unwrap();
    assert_eq!(gone.status, Status::Disconnected);
    assert!(webhooks_of(&w, SHOP).await.is_empty());
    assert_eq!(
        sandbox_token(&w, "access_tokens", &access).await["revoked"],
        true
    );
    assert_eq!(
        sandbox_token(&w, "refresh_tokens", &refresh.unwrap()).await["revoked"],
        true
    );
    let row = row(&w, view.id).await;
    assert_eq!(row.secrets, None);
    assert_eq!(row.webhook_ids, "[]");
    let listed = connections::list(&w.db, &w.scope).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, Status::Disconnected);
    let audit = audit_trail(&w).await;
    let disconnected = audit
        .iter()
        .find(|(action, _)| action == "channel.disconnected")
        .expect("a channel.disconnected audit event");
    assert_eq!(disconnected.1["revoked_at_marketplace"], true);
    assert_eq!(disconnected.1["webhooks_removed"], 8);
    assert_eq!(disconnected.1["problems"], json!([]));
}

async fn disconnect_after_the_access_expired_still_uninstalls(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w, SHOP).await;
    w.control(
        "shopify",
        Method::POST,
        "clock",
        json!({ "advance_secs": 3700 }),
    )
    .await;
    connections::disconnect(&w.db, &w.channels, &w.scope, view.id, None, Utc::now())
        .await
        .unwrap();
    assert!(webhooks_of(&w, SHOP).await.is_empty());
    let audit = audit_trail(&w).await;
    let disconnected = audit
        .iter()
        .find(|(action, _)| action == "channel.disconnected")
        .unwrap();
    assert_eq!(disconnected.1["revoked_at_marketplace"], true);
}

/// Installs the app directly (as another app client would) and creates a product, so the
/// sandbox has something to sell. Must run before the connection under test: a new install
/// retires the shop's earlier tokens.
async fn seed_product(w: &World, shop: &str) {
    let form = [
        ("client_id", CLIENT_ID.to_owned()),
        ("scope", "write_products".to_owned()),
        (
            "redirect_uri",
            format!("{}/channels/shopify/callback", w.app_url),
        ),
        ("state", "seed".to_owned()),
        ("grant_options[]", String::new()),
        ("decision", "install".to_owned()),
    ];
    let base = format!("{}/{shop}", w.sandbox("shopify"));
    let approved = w
        .browser
        .post(format!("{base}/admin/oauth/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let code = query_of(&location(&approved))["code"].clone();
    let tokens: Value = w
        .browser
        .post(format!("{base}/admin/oauth/access_token"))
        .json(&json!({ "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code": code }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let gql = |query: &'static str, variables: Value| {
        let request = w
            .browser
            .post(format!("{base}/admin/api/2026-04/graphql.json"))
            .header("X-Shopify-Access-Token", &token)
            .json(&json!({ "query": query, "variables": variables }));
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let locations = gql("{ locations(first: 1) { nodes { id } } }", json!({})).await;
    let location = locations["data"]["locations"]["nodes"][0]["id"].clone();
    let created = gql(
        "mutation Set($input: ProductSetInput!) {
           productSet(input: $input, synchronous: true) { product { id } userErrors { message } } }",
        json!({ "input": {
            "title": "Leinenhemd",
            "productOptions": [{ "name": "Size", "values": [{ "name": "M" }] }],
            "variants": [{ "sku": "SHIRT-M", "price": "29.90",
                "optionValues": [{ "optionName": "Size", "name": "M" }],
                "inventoryQuantities": [{ "locationId": location, "name": "available", "quantity": 10 }] }],
        }}),
    )
    .await;
    assert_eq!(
        created["data"]["productSet"]["userErrors"],
        json!([]),
        "{created}"
    );
}

async fn notifications_are_verified_and_stored_once(db: Db) {
    let w = World::start(db).await;
    seed_product(&w, SHOP).await;
    let view = connect(&w, SHOP).await;

    // A test order: orders/create and orders/paid, one row each.
    w.control(
        "shopify",
        Method::POST,
        "orders",
        json!({ "sku": "SHIRT-M", "quantity": 1 }),
    )
    .await;
    let got = wait_for_events(&w, view.id, |e| e.len() >= 2).await;
    let mut topics: Vec<&str> = got.iter().map(|e| e.topic.as_str()).collect();
    topics.sort_unstable();
    assert_eq!(topics, ["orders/create", "orders/paid"]);
    assert!(got.iter().all(|e| e.marketplace == "shopify"));
    let payload: Value = serde_json::from_str(&got[0].payload).unwrap();
    assert_eq!(payload["line_items"][0]["sku"], "SHIRT-M");

    // Every notification delivered twice: still stored once per event.
    w.control(
        "shopify",
        Method::PUT,
        "faults",
        json!({ "duplicate_rate": 1.0 }),
    )
    .await;
    w.control(
        "shopify",
        Method::POST,
        "orders",
        json!({ "sku": "SHIRT-M", "quantity": 1 }),
    )
    .await;
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let state = w.sandbox_state("shopify").await;
        let duplicates = state["deliveries"].as_array().map_or(0, |d| {
            d.iter().filter(|d| d["result"] == "duplicate").count()
        });
        if duplicates >= 2 || Instant::now() > until {
            assert!(duplicates >= 2, "{}", state["deliveries"]);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = events(&w, view.id).await;
    assert_eq!(got.len(), 4, "{got:?}");
    let mut ids: Vec<&str> = got.iter().map(|e| e.event_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 4);
    w.control("shopify", Method::PUT, "faults", json!({})).await;

    // Forged deliveries to the endpoint are refused; a correctly signed one is taken.
    let endpoint = format!("{}/webhooks/shopify/{}", w.app_url, view.id);
    let body = br##"{"id":4711,"name":"#4711"}"##.to_vec();
    let signature = base64::engine::general_purpose::STANDARD.encode(hmac(&body));
    let post = |body: Vec<u8>, signature: Option<String>, event: &'static str| {
        let mut request = w
            .browser
            .post(&endpoint)
            .header("Content-Type", "application/json")
            .header("X-Shopify-Topic", "orders/updated")
            .header("X-Shopify-Shop-Domain", SHOP)
            .header("X-Shopify-Event-Id", event)
            .body(body);
        if let Some(signature) = signature {
            request = request.header("X-Shopify-Hmac-Sha256", signature);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let tampered = br##"{"id":4711,"name":"#4712"}"##.to_vec();
    assert_eq!(
        post(tampered, Some(signature.clone()), "forged-1").await,
        401
    );
    assert_eq!(post(body.clone(), None, "forged-2").await, 401);
    let other_secret = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    assert_eq!(
        post(body.clone(), Some(other_secret), "forged-3").await,
        401
    );
    assert_eq!(
        post(body.clone(), Some(signature.clone()), "signed-1").await,
        200
    );
    assert_eq!(post(body, Some(signature), "signed-1").await, 200);
    let got = events(&w, view.id).await;
    assert_eq!(got.len(), 5);
    assert_eq!(got.iter().filter(|e| e.event_id == "signed-1").count(), 1);
    assert!(!got.iter().any(|e| e.event_id.starts_with("forged")));
}

async fn connecting_again_keeps_one_set_of_subscriptions(db: Db) {
    let w = World::start(db).await;
    let first = connect(&w, SHOP).await;
    let again = connect(&w, SHOP).await;
    assert_eq!(
        again.id, first.id,
        "the same account is the same connection"
    );
    assert_eq!(again.status, Status::Active);
    assert_eq!(connection_count(&w).await, 1);
    let hooks = webhooks_of(&w, SHOP).await;
    assert_eq!(hooks.len(), 8, "{hooks:?}");
    let row = row(&w, first.id).await;
    let mut stored: Vec<String> = serde_json::from_str(&row.webhook_ids).unwrap();
    let mut live: Vec<String> = hooks
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_owned())
        .collect();
    stored.sort();
    live.sort();
    assert_eq!(stored, live);
    assert!(
        audit_trail(&w)
            .await
            .iter()
            .any(|(action, _)| action == "channel.reconnected")
    );
    let tested = connections::test_connection(&w.db, &w.channels, &w.scope, first.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(tested.status, Status::Active);
    // Disconnecting still removes them all.
    connections::disconnect(&w.db, &w.channels, &w.scope, first.id, None, Utc::now())
        .await
        .unwrap();
    assert!(webhooks_of(&w, SHOP).await.is_empty());
}

async fn other_organizations_see_nothing(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w, SHOP).await;
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
    let still = connections::get(&w.db, &w.scope, view.id).await.unwrap();
    assert_eq!(still.status, Status::Active);
    assert_eq!(webhooks_of(&w, SHOP).await.len(), 8);
}

shopmarkets_core::db_tests!(
    connect_flow_stores_an_active_connection,
    state_must_match_session_and_be_used_once,
    tampered_or_mixed_up_callbacks_are_forged,
    reused_or_expired_codes_are_refused,
    cancelling_the_install_is_denied,
    bad_shop_input_is_refused_before_anything_is_sent,
    refresh_rotates_the_refresh_token,
    refused_refresh_needs_reconnect,
    revoked_tokens_fail_the_test_call,
    disconnect_uninstalls_and_removes_webhooks,
    disconnect_after_the_access_expired_still_uninstalls,
    notifications_are_verified_and_stored_once,
    connecting_again_keeps_one_set_of_subscriptions,
    other_organizations_see_nothing,
);
