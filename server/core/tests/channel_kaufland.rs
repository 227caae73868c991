//! Kaufland: connecting with the seller's API keys, checking them, losing them, disconnecting,
//! and the signed push notifications, all against the Kaufland sandbox (which checks every
//! request's signature the way Kaufland documents it).

mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use hmac::{Hmac, Mac as _};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use shopmarkets_core::audit;
use shopmarkets_core::channels::channel::ConnectInput;
use shopmarkets_core::channels::connections::{self, ConnectionView, Status};
use shopmarkets_core::db::Db;
use shopmarkets_core::secret::Secret;
use shopmarkets_types::Marketplace;
use support::*;

const KFL: Marketplace = Marketplace::Kaufland;

fn keys(key: &str, secret: &str) -> ConnectInput {
    ConnectInput {
        shop: None,
        key: Some(key.to_owned()),
        secret: Some(Secret::new(secret.to_owned())),
    }
}

async fn connect_with(
    w: &World,
    input: &ConnectInput,
) -> Result<ConnectionView, connections::ConnectError> {
    connections::connect_with_keys(&w.db, &w.channels, &w.scope, KFL, input, None, Utc::now()).await
}

async fn connect(w: &World) -> ConnectionView {
    connect_with(w, &keys(KAUFLAND_CLIENT_KEY, KAUFLAND_SECRET_KEY))
        .await
        .expect("the sandbox seller's keys connect")
}

/// Kaufland's signature, computed here independently of the adapter.
fn sign(secret: &str, method: &str, uri: &str, body: &str, ts: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{method}\n{uri}\n{body}\n{ts}").as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A signed call to the sandbox API, as the seller's own tools would make it.
async fn api(w: &World, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{}/v2{path}", w.sandbox("kaufland"));
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let ts = Utc::now().timestamp();
    let mut request = w
        .browser
        .request(method.clone(), &url)
        .header("Accept", "application/json")
        .header("Shop-Client-Key", KAUFLAND_CLIENT_KEY)
        .header("Shop-Timestamp", ts.to_string())
        .header(
            "Shop-Signature",
            sign(KAUFLAND_SECRET_KEY, method.as_str(), &url, &body, ts),
        );
    if !body.is_empty() {
        request = request
            .header("Content-Type", "application/json")
            .body(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn subscriptions(w: &World) -> Vec<Value> {
    w.sandbox_state("kaufland").await["subscriptions"]
        .as_array()
        .unwrap()
        .clone()
}

async fn place_order(w: &World) -> Value {
    let (status, body) = api(
        w,
        Method::POST,
        "/units?storefront=de",
        Some(json!({
            "ean": "4009750243800", "condition": "NEW", "listing_price": 4550,
            "amount": 10, "handling_time": 2, "id_offer": "SKU-KFL",
        })),
    )
    .await;
    assert!(status == 201 || status == 200, "{status} {body}");
    let response = w
        .browser
        .post(format!("{}/_sandbox/orders", w.sandbox("kaufland")))
        .json(&json!({ "sku": "SKU-KFL", "quantity": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// Posts a notification to the stand-in endpoint of a connection, signed with `secret`.
async fn notify(
    w: &World,
    connection: uuid::Uuid,
    body: &str,
    secret: &str,
    ts: i64,
    signed_url: Option<&str>,
) -> u16 {
    let url = format!("{}/webhooks/kaufland/{connection}", w.app_url);
    let signature = sign(secret, "POST", signed_url.unwrap_or(&url), body, ts);
    w.browser
        .post(&url)
        .header("Content-Type", "application/json")
        .header("Shop-Timestamp", ts.to_string())
        .header("Shop-Signature", signature)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn the_seller_connects_with_api_keys(db: Db) {
    let w = World::start(db).await;
    // No redirect flow: starting one is refused before anything is stored.
    let started = connections::start(
        &w.db,
        &w.channels,
        &w.scope,
        SESSION,
        KFL,
        &keys(KAUFLAND_CLIENT_KEY, KAUFLAND_SECRET_KEY),
        None,
        Utc::now(),
    )
    .await;
    assert_channel_error(started, "invalid_input");
    // …and a callback for Kaufland belongs to no flow.
    assert_channel_error(
        w.finish(
            KFL,
            &format!("{}/channels/kaufland/callback?state=made-up", w.app_url),
        )
        .await,
        "unknown_state",
    );

    let started = Instant::now();
    let view = connect_with(
        &w,
        // Pasted with surrounding whitespace, as from the seller portal.
        &keys(
            &format!(" {KAUFLAND_CLIENT_KEY}\n"),
            &format!("{KAUFLAND_SECRET_KEY} "),
        ),
    )
    .await
    .unwrap();
    eprintln!(
        "kaufland connect (keys checked, stored, 3 subscriptions): {} ms",
        started.elapsed().as_millis()
    );
    assert_eq!(view.marketplace, KFL);
    assert_eq!(view.status, Status::Active);
    assert_eq!(view.account_id.len(), 16);
    assert!(!KAUFLAND_CLIENT_KEY.contains(&view.account_id));
    assert_eq!(view.account_name, "Kaufland seller …cdef");
    for scope in ["units", "orders", "order-units", "subscriptions"] {
        assert!(view.scopes.iter().any(|s| s == scope), "{:?}", view.scopes);
    }
    assert_eq!(view.access_expires_at, None, "Kaufland keys do not expire");
    assert_eq!(view.last_error, None);

    let listed = connections::list(&w.db, &w.scope).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, view.id);
    let tested = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(tested.status, Status::Active);
    assert_eq!(tested.last_error, None);
    assert!(
        audit_actions(&w)
            .await
            .contains(&"channel.connected".to_owned())
    );

    // Neither key is stored in clear.
    let row = row(&w, view.id).await;
    let stored = format!("{row:?}");
    assert!(!stored.contains(KAUFLAND_CLIENT_KEY) && !stored.contains(KAUFLAND_SECRET_KEY));

    // Order notifications are subscribed at the connection's endpoint.
    let subs = subscriptions(&w).await;
    let endpoint = format!("{}/webhooks/kaufland/{}", w.app_url, view.id);
    let mut events: Vec<&str> = subs
        .iter()
        .map(|s| {
            assert_eq!(s["callback_url"], endpoint.as_str());
            assert_eq!(s["storefront"], "de");
            assert!(s["fallback_email"].as_str().unwrap().contains('@'));
            s["event_name"].as_str().unwrap()
        })
        .collect();
    events.sort_unstable();
    assert_eq!(
        events,
        ["order_new", "order_unit_new", "order_unit_status_changed"]
    );

    // The same keys again: the same connection, its subscriptions replaced, not doubled.
    let again = connect(&w).await;
    assert_eq!(again.id, view.id);
    assert_eq!(subscriptions(&w).await.len(), 3);
    assert_eq!(connections::list(&w.db, &w.scope).await.unwrap().len(), 1);
    assert!(
        audit_actions(&w)
            .await
            .contains(&"channel.reconnected".to_owned())
    );
}

async fn wrong_or_malformed_keys_are_refused(db: Db) {
    let w = World::start(db).await;
    let other_secret = "0".repeat(64);
    assert_channel_error(
        connect_with(&w, &keys(KAUFLAND_CLIENT_KEY, &other_secret)).await,
        "invalid_credentials",
    );
    match connect_with(&w, &keys(KAUFLAND_CLIENT_KEY, &other_secret)).await {
        Err(error) => assert!(error.to_string().contains("Invalid signature"), "{error}"),
        Ok(view) => panic!("connected with a wrong secret: {view:?}"),
    }
    assert_channel_error(
        connect_with(&w, &keys(&"f".repeat(32), KAUFLAND_SECRET_KEY)).await,
        "invalid_credentials",
    );
    for (key, secret, field) in [
        ("0123456789abcdef", KAUFLAND_SECRET_KEY, "key"),
        (
            "0123456789abcdef0123456789abcde!",
            KAUFLAND_SECRET_KEY,
            "key",
        ),
        ("", KAUFLAND_SECRET_KEY, "key"),
        (KAUFLAND_CLIENT_KEY, "fedcba9876543210", "secret"),
        (KAUFLAND_CLIENT_KEY, "", "secret"),
    ] {
        match connect_with(&w, &keys(key, secret)).await {
            Err(connections::ConnectError::Channel(
                shopmarkets_core::channels::ChannelError::InvalidInput { field: f, .. },
            )) => assert_eq!(f, field),
            other => panic!("{key:?}/{secret:?}: {other:?}"),
        }
    }
    let missing = ConnectInput::default();
    assert_channel_error(connect_with(&w, &missing).await, "invalid_input");
    assert!(connections::list(&w.db, &w.scope).await.unwrap().is_empty());
    assert!(subscriptions(&w).await.is_empty());
}

async fn deleted_keys_need_a_reconnect(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    // Keys do not expire: nothing is due, and the stored keys keep working.
    let report = connections::refresh_due(
        &w.db,
        &w.channels,
        Utc::now() + chrono::Duration::minutes(55),
    )
    .await
    .unwrap();
    assert_eq!((report.refreshed, report.failed), (0, 0));
    let tested = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(tested.status, Status::Active);

    // The seller deletes the keys in the seller portal.
    w.control("kaufland", Method::POST, "revoke", json!({}))
        .await;
    let tested = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(tested.status, Status::NeedsReconnect);
    let (code, detail) = tested.last_error.clone().unwrap();
    assert_eq!(code, "invalid_credentials");
    assert_eq!(detail, "Client key has been deactivated");
    assert!(tested.last_error_at.is_some());
    assert!(
        audit_actions(&w)
            .await
            .contains(&"channel.refresh_failed".to_owned())
    );
    let report = connections::refresh_due(
        &w.db,
        &w.channels,
        Utc::now() + chrono::Duration::minutes(55),
    )
    .await
    .unwrap();
    assert_eq!((report.refreshed, report.failed), (0, 0));

    // New keys in the portal (here: the old ones reactivated), connected again: active.
    let registered = w
        .browser
        .put(format!("{}/_sandbox/app", w.sandbox("kaufland")))
        .json(&json!({ "client_id": KAUFLAND_CLIENT_KEY, "client_secret": KAUFLAND_SECRET_KEY }))
        .send()
        .await
        .unwrap();
    assert!(registered.status().is_success());
    let again = connect(&w).await;
    assert_eq!((again.id, again.status), (view.id, Status::Active));
}

async fn disconnect_removes_the_subscriptions_and_the_keys(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    assert_eq!(subscriptions(&w).await.len(), 3);
    let gone = connections::disconnect(&w.db, &w.channels, &w.scope, view.id, None, Utc::now())
        .await
        .unwrap();
    assert_eq!(gone.status, Status::Disconnected);
    assert!(gone.disconnected_at.is_some());
    assert!(
        subscriptions(&w).await.is_empty(),
        "subscriptions deleted at Kaufland"
    );
    let row = row(&w, view.id).await;
    assert_eq!(row.secrets, None, "credentials deleted");
    let entry = audit::list(&w.db, Some(w.scope.organization_id()), 10)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.action == "channel.disconnected")
        .expect("a disconnect audit entry");
    let details: Value = serde_json::from_str(&entry.details).unwrap();
    assert_eq!(
        details["revoked_at_marketplace"], false,
        "Kaufland offers no revocation"
    );
    assert_eq!(details["webhooks_removed"], 3);
    assert_eq!(details["problems"], json!([]));

    let listed = connections::list(&w.db, &w.scope).await.unwrap();
    assert_eq!((listed.len(), listed[0].status), (1, Status::Disconnected));
    assert_channel_error(
        connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now()).await,
        "invalid_credentials",
    );
    // A late notification for it is answered "gone".
    let body = json!({ "id_message": "late", "event_name": "order_new" }).to_string();
    let status = notify(
        &w,
        view.id,
        &body,
        KAUFLAND_SECRET_KEY,
        Utc::now().timestamp(),
        None,
    )
    .await;
    assert_eq!(status, 410);
}

async fn order_notifications_are_verified_and_stored_once(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    let order = place_order(&w).await;
    // order_new and order_unit_new (one order unit).
    let stored = wait_for_events(&w, view.id, |e| e.len() >= 2).await;
    assert_eq!(stored.len(), 2, "{stored:?}");
    let mut topics: Vec<&str> = stored.iter().map(|e| e.topic.as_str()).collect();
    topics.sort_unstable();
    assert_eq!(topics, ["order_new", "order_unit_new"]);
    let new_order = stored.iter().find(|e| e.topic == "order_new").unwrap();
    let payload: Value = serde_json::from_str(&new_order.payload).unwrap();
    assert_eq!(payload["id_order"], order["id_order"]);
    assert_eq!(new_order.event_id, payload["id_message"].as_str().unwrap());
    assert_eq!(new_order.organization_id, w.scope.organization_id());

    // Every notification delivered twice: each is stored once.
    w.control(
        "kaufland",
        Method::PUT,
        "faults",
        json!({ "duplicate_rate": 1.0 }),
    )
    .await;
    place_order(&w).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let state = w.sandbox_state("kaufland").await;
        let duplicates = state["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["result"] == "duplicate" && d["status"] == 200)
            .count();
        if duplicates >= 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no duplicate deliveries: {}",
            state["deliveries"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stored = wait_for_events(&w, view.id, |e| e.len() >= 4).await;
    assert_eq!(stored.len(), 4, "two orders, two events each, once each");
    let mut ids: Vec<&str> = stored.iter().map(|e| e.event_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 4);
}

async fn forged_or_stale_notifications_are_refused(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    let now = Utc::now().timestamp();
    let body = json!({
        "id_message": "m-1", "event_name": "order_new", "storefront": "de",
        "resource": "/v2/orders/ABC1234", "id_order": "ABC1234",
    })
    .to_string();
    // Signed with another secret.
    assert_eq!(
        notify(&w, view.id, &body, &"0".repeat(64), now, None).await,
        401
    );
    // Signed correctly but stale (beyond ±5 minutes), either way.
    assert_eq!(
        notify(&w, view.id, &body, KAUFLAND_SECRET_KEY, now - 400, None).await,
        401
    );
    assert_eq!(
        notify(&w, view.id, &body, KAUFLAND_SECRET_KEY, now + 400, None).await,
        401
    );
    // Signed for another URL (a notification replayed at another connection's endpoint).
    let elsewhere = format!("{}/webhooks/kaufland/{}", w.app_url, uuid::Uuid::new_v4());
    assert_eq!(
        notify(
            &w,
            view.id,
            &body,
            KAUFLAND_SECRET_KEY,
            now,
            Some(&elsewhere)
        )
        .await,
        401
    );
    // No signature at all.
    let unsigned = w
        .browser
        .post(format!("{}/webhooks/kaufland/{}", w.app_url, view.id))
        .header("Content-Type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    // A body changed after signing.
    let url = format!("{}/webhooks/kaufland/{}", w.app_url, view.id);
    let tampered = w
        .browser
        .post(&url)
        .header("Shop-Timestamp", now.to_string())
        .header(
            "Shop-Signature",
            sign(KAUFLAND_SECRET_KEY, "POST", &url, &body, now),
        )
        .body(body.replace("ABC1234", "XYZ9876"))
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status(), 401);
    assert!(events(&w, view.id).await.is_empty());

    // The genuine one, within the window, is stored; its retry is not stored again.
    assert_eq!(
        notify(&w, view.id, &body, KAUFLAND_SECRET_KEY, now - 60, None).await,
        200
    );
    assert_eq!(
        notify(&w, view.id, &body, KAUFLAND_SECRET_KEY, now, None).await,
        200
    );
    let stored = events(&w, view.id).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].event_id.as_str(), stored[0].topic.as_str()),
        ("m-1", "order_new")
    );
    // Signed but naming no event.
    let nameless = json!({ "event_name": "order_new" }).to_string();
    assert_eq!(
        notify(&w, view.id, &nameless, KAUFLAND_SECRET_KEY, now, None).await,
        401
    );
}

async fn limits_and_outages_do_not_break_the_connection(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    w.control(
        "kaufland",
        Method::PUT,
        "limits",
        json!({ "enabled": true, "per_second": 1 }),
    )
    .await;
    let first = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(first.last_error, None);
    let second = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        second.last_error.map(|(code, _)| code).as_deref(),
        Some("rate_limited")
    );
    assert_eq!(second.status, Status::Active);
    w.control(
        "kaufland",
        Method::PUT,
        "limits",
        json!({ "enabled": false }),
    )
    .await;

    w.control(
        "kaufland",
        Method::PUT,
        "faults",
        json!({ "error_rate": 1.0 }),
    )
    .await;
    let down = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        down.last_error.map(|(code, _)| code).as_deref(),
        Some("unavailable")
    );
    assert_eq!(down.status, Status::Active);
    w.control("kaufland", Method::PUT, "faults", json!({}))
        .await;
    let back = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!((back.status, back.last_error), (Status::Active, None));
}

async fn another_organization_cannot_see_or_touch_it(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
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
    assert_eq!(subscriptions(&w).await.len(), 3, "nothing was unsubscribed");
    let mine = connections::get(&w.db, &w.scope, view.id).await.unwrap();
    assert_eq!(mine.status, Status::Active);
}

shopmarkets_core::db_tests!(
    the_seller_connects_with_api_keys,
    wrong_or_malformed_keys_are_refused,
    deleted_keys_need_a_reconnect,
    disconnect_removes_the_subscriptions_and_the_keys,
    order_notifications_are_verified_and_stored_once,
    forged_or_stale_notifications_are_refused,
    limits_and_outages_do_not_break_the_connection,
    another_organization_cannot_see_or_touch_it,
);
