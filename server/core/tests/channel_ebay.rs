//! Connecting eBay seller accounts end to end against the eBay sandbox: the consent page with
//! the RuName, the code exchange and refresh through the identity service (refresh tokens not
//! rotated), the Commerce Identity check, the failure cases of the flow, the notification
//! destination with eBay's endpoint challenge, ECDSA-signed ORDER_CONFIRMATION pushes stored
//! once, forged pushes refused, and disconnecting.

mod support;

use std::time::{Duration as StdDuration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{Duration, Utc};
use reqwest::Method;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use serde_json::{Value, json};
use sha2::Digest as _;
use shopmarkets_core::channels::channel::ConnectInput;
use shopmarkets_core::channels::connections::{self, ConnectionView, Status};
use shopmarkets_core::channels::credentials::Credentials;
use shopmarkets_core::db::Db;
use shopmarkets_core::entity::{audit_event, channel_connection, channel_event};
use shopmarkets_types::Marketplace;
use support::forms::parse_form;
use support::*;
use uuid::Uuid;

const SANDBOX: &str = "ebay";
const RU_NAME: &str = "ShopMarkets-Test-RuName";
const SCOPE_BASE: &str = "https://api.ebay.com/oauth/api_scope";

/// Starts a flow and returns the URL of eBay's consent page.
async fn start(w: &World) -> String {
    w.start_flow(Marketplace::Ebay, &ConnectInput::default(), Utc::now())
        .await
        .unwrap()
}

/// Opens the consent page and presses `decision` (`agree` or `decline`) as a browser would;
/// returns the answer to the form post.
async fn decide(w: &World, consent_url: &str, decision: &str) -> reqwest::Response {
    let page = w
        .browser
        .get(consent_url)
        .header("accept-language", "de-DE")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Zustimmen"), "German consent page: {html}");
    let form = parse_form(&html);
    assert!(form.buttons.iter().any(|b| b == decision), "{html}");
    let mut fields = form.fields.clone();
    fields.push(("decision".into(), decision.into()));
    w.browser
        .post(&form.action)
        .form(&fields)
        .send()
        .await
        .unwrap()
}

/// Consent given: the callback URL eBay redirected to (the RuName's accept URL).
async fn approve(w: &World, consent_url: &str) -> String {
    let answer = decide(w, consent_url, "agree").await;
    assert_eq!(answer.status(), 302);
    let to = location(&answer);
    assert!(
        to.starts_with(&format!("{}/channels/ebay/callback?", w.app_url)),
        "{to}"
    );
    to
}

/// A connected eBay account.
async fn connect(w: &World) -> ConnectionView {
    let url = start(w).await;
    let callback = approve(w, &url).await;
    w.finish(Marketplace::Ebay, &callback).await.unwrap()
}

/// Every stored notification, of any connection.
async fn all_events(db: &Db) -> Vec<channel_event::Model> {
    channel_event::Entity::find().all(db).await.unwrap()
}

/// An inventory item with stock at the sandbox, made with the connection's token (the
/// sandbox's test orders buy an existing item).
async fn stock_item(w: &World, access: &str, sku: &str) {
    let answer = w
        .browser
        .put(format!(
            "{}/sell/inventory/v1/inventory_item/{sku}",
            w.sandbox(SANDBOX)
        ))
        .bearer_auth(access)
        .header("content-language", "de-DE")
        .json(&json!({
            "product": { "title": "Teekanne", "description": "Porzellan, 1,2 l" },
            "condition": "NEW",
            "availability": { "shipToLocationAvailability": { "quantity": 50 } },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 204, "{}", answer.text().await.unwrap());
}

async fn place_order(w: &World, sku: &str) -> Value {
    let answer = w
        .browser
        .post(format!("{}/_sandbox/orders", w.sandbox(SANDBOX)))
        .json(&json!({ "sku": sku, "quantity": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    answer.json().await.unwrap()
}

async fn connect_flow_end_to_end(db: Db) {
    let w = World::start(db).await;
    let started = Instant::now();
    let url = start(&w).await;

    let consent = query_of(&url);
    assert!(
        url.starts_with(&format!("{}/oauth2/authorize?", w.sandbox(SANDBOX))),
        "{url}"
    );
    assert_eq!(consent["client_id"], "ShopMark-Test-SBX-0123456");
    assert_eq!(consent["redirect_uri"], RU_NAME, "the RuName, not a URL");
    assert_eq!(consent["response_type"], "code");
    assert!(consent["state"].len() >= 40, "{url}");
    let scopes: Vec<&str> = consent["scope"].split(' ').collect();
    for scope in [
        "sell.inventory",
        "sell.fulfillment",
        "sell.account",
        "commerce.notification.subscription",
        "commerce.identity.readonly",
    ] {
        assert!(
            scopes.contains(&format!("{SCOPE_BASE}/{scope}").as_str()),
            "{scope} in {scopes:?}"
        );
    }
    assert_eq!(scopes.len(), 5, "{scopes:?}");

    let callback = approve(&w, &url).await;
    let back = query_of(&callback);
    assert_eq!(back["state"], consent["state"]);
    assert_eq!(back["expires_in"], "299");
    let view = w.finish(Marketplace::Ebay, &callback).await.unwrap();
    let latency = started.elapsed();
    eprintln!("ebay connect flow: start() to finish() took {latency:?}");

    assert_eq!(view.marketplace, Marketplace::Ebay);
    assert_eq!(view.status, Status::Active);
    assert_eq!(view.account_id, "sandbox-user-1");
    assert_eq!(view.account_name, "sandbox_seller");
    assert_eq!(view.scopes.len(), 5);
    assert!(view.last_error.is_none(), "{:?}", view.last_error);
    let expires = view.access_expires_at.unwrap() - Utc::now();
    assert!(
        expires > Duration::minutes(115) && expires <= Duration::hours(2),
        "{expires}"
    );
    let secrets_now = secrets(&w, view.id).await;
    match &secrets_now.credentials {
        Credentials::OAuth {
            refresh_expires_at, ..
        } => {
            let left = refresh_expires_at.unwrap() - Utc::now();
            assert!(left > Duration::days(540), "18 months: {left}");
        }
        other => panic!("{other:?}"),
    }

    let listed = connections::list(&w.db, &w.scope).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, view.id);
    let tested = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(tested.status, Status::Active);
    assert!(tested.last_error.is_none(), "{:?}", tested.last_error);
    assert_eq!(audit_count(&w, "channel.connected").await, 1);

    // The notifications: config, a destination at our endpoint (created only because our
    // endpoint answered eBay's challenge), and the two order topics on it.
    let sandbox = w.sandbox_state(SANDBOX).await;
    assert!(
        sandbox["config"]["alertEmail"]
            .as_str()
            .unwrap()
            .contains('@')
    );
    let destinations = sandbox["destinations"].as_array().unwrap();
    assert_eq!(destinations.len(), 1, "{sandbox}");
    let endpoint = format!("{}/webhooks/ebay/{}", w.app_url, view.id);
    assert_eq!(destinations[0]["deliveryConfig"]["endpoint"], endpoint);
    assert_eq!(
        destinations[0]["deliveryConfig"]["verificationToken"],
        secrets_now.webhook_secret.clone().unwrap()
    );
    let destination_id = destinations[0]["destinationId"].as_str().unwrap();
    let mut topics: Vec<&str> = sandbox["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|s| assert_eq!(s["destinationId"], destination_id))
        .map(|s| s["topicId"].as_str().unwrap())
        .collect();
    topics.sort_unstable();
    assert_eq!(topics, ["ITEM_MARKED_SHIPPED", "ORDER_CONFIRMATION"]);
    let ids: Vec<String> = serde_json::from_str(&row(&w, view.id).await.webhook_ids).unwrap();
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(ids.contains(&format!("destination:{destination_id}")));
}

/// eBay's endpoint challenge, answered by our endpoint for the connection it names.
async fn challenge_is_answered_for_the_connection(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    let endpoint = format!("{}/webhooks/ebay/{}", w.app_url, view.id);
    let token = secrets(&w, view.id).await.webhook_secret.unwrap();
    let answer = w
        .browser
        .get(format!("{endpoint}?challenge_code=a1b2c3"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(
        answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = answer.json().await.unwrap();
    let expected: String = sha2::Sha256::digest(format!("a1b2c3{token}{endpoint}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(body, json!({ "challengeResponse": expected }));
    // Another connection id knows nothing.
    let other = w
        .browser
        .get(format!(
            "{}/webhooks/ebay/{}?challenge_code=a1b2c3",
            w.app_url,
            Uuid::new_v4()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}

async fn state_must_match(db: Db) {
    let w = World::start(db).await;
    let url = start(&w).await;
    let callback = approve(&w, &url).await;

    // Another browser session.
    assert_channel_error(
        connections::finish(
            &w.db,
            &w.channels,
            "another-session",
            Marketplace::Ebay,
            &query_of(&callback),
            None,
            Utc::now(),
        )
        .await,
        "wrong_session",
    );
    // A state we never issued.
    assert_channel_error(
        w.finish(
            Marketplace::Ebay,
            &with_param(&callback, "state", "never-issued-state-value"),
        )
        .await,
        "unknown_state",
    );
    // No state at all.
    let (base, _) = callback.split_once('?').unwrap();
    assert_channel_error(
        w.finish(
            Marketplace::Ebay,
            &format!("{base}?code={}", query_of(&callback)["code"]),
        )
        .await,
        "unknown_state",
    );
    assert_eq!(connection_count(&w).await, 0);

    // The right session finishes once; the same callback again is a reuse.
    w.finish(Marketplace::Ebay, &callback).await.unwrap();
    assert_channel_error(w.finish(Marketplace::Ebay, &callback).await, "reused");
    assert_eq!(connection_count(&w).await, 1);
    assert_eq!(audit_count(&w, "channel.connected").await, 1);
    assert_eq!(audit_count(&w, "channel.reconnected").await, 0);
}

/// The identity service refuses: our client secret, an expired code (299 s), a code used
/// before. Nothing is stored.
async fn refused_codes_and_client(db: Db) {
    let w = World::start(db).await;

    // A code redeemed before (by flow one), brought back with flow two's state.
    let first = approve(&w, &start(&w).await).await;
    w.finish(Marketplace::Ebay, &first).await.unwrap();
    let second = approve(&w, &start(&w).await).await;
    let replayed = with_param(&second, "code", &query_of(&first)["code"]);
    let error = w.finish(Marketplace::Ebay, &replayed).await.unwrap_err();
    assert_eq!(error.code(), "invalid_credentials", "{error}");
    assert!(error.to_string().contains("invalid"), "{error}");

    // Expired: eBay's codes live 299 s.
    let callback = approve(&w, &start(&w).await).await;
    w.control(
        SANDBOX,
        Method::POST,
        "clock",
        json!({ "advance_secs": 300 }),
    )
    .await;
    assert_channel_error(
        w.finish(Marketplace::Ebay, &callback).await,
        "invalid_credentials",
    );

    // Our client secret is no longer the registered one.
    let callback = approve(&w, &start(&w).await).await;
    w.control(
        SANDBOX,
        Method::PUT,
        "app",
        json!({
            "client_id": "ShopMark-Test-SBX-0123456",
            "client_secret": "SBX-rotated-secret-9999",
            "redirect_uris": [format!("{}/channels/ebay/callback", w.app_url)],
            "extra": { "ru_name": RU_NAME },
        }),
    )
    .await;
    let error = w.finish(Marketplace::Ebay, &callback).await.unwrap_err();
    assert_eq!(error.code(), "invalid_credentials", "{error}");
    assert!(
        error.to_string().contains("client authentication failed"),
        "{error}"
    );
    assert!(!error.to_string().contains("SBX-"), "no secret in {error}");
    assert_eq!(connection_count(&w).await, 1, "only the first flow");
}

/// "No thanks" on the consent page, and an error page answer.
async fn declined_consent_is_denied(db: Db) {
    let w = World::start(db).await;
    let url = start(&w).await;
    let answer = decide(&w, &url, "decline").await;
    assert_eq!(answer.status(), 302);
    let callback = location(&answer);
    assert_eq!(query_of(&callback)["error"], "access_denied");
    assert!(!query_of(&callback).contains_key("code"));
    assert_channel_error(w.finish(Marketplace::Ebay, &callback).await, "denied");
    assert_channel_error(w.finish(Marketplace::Ebay, &callback).await, "reused");

    // A RuName with its own declined URL brings only the state back.
    let url = start(&w).await;
    let state = query_of(&url)["state"].clone();
    assert_channel_error(
        w.finish(
            Marketplace::Ebay,
            &format!("{}/channels/ebay/callback?state={state}", w.app_url),
        )
        .await,
        "denied",
    );
    assert_eq!(connection_count(&w).await, 0);
    assert_eq!(audit_count(&w, "channel.connected").await, 0);
}

/// Access expires after two hours: the scheduled refresh renews it with the refresh token,
/// which eBay does not rotate (kept, and still valid at eBay); an access token eBay refuses
/// is refreshed by the test call.
async fn refresh_keeps_the_refresh_token(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    let (access_before, refresh_before) = tokens(&secrets(&w, view.id).await);

    // Not due yet.
    let report = connections::refresh_due(&w.db, &w.channels, Utc::now())
        .await
        .unwrap();
    assert_eq!((report.refreshed, report.failed), (0, 0));
    let report = connections::refresh_due(&w.db, &w.channels, Utc::now() + Duration::minutes(115))
        .await
        .unwrap();
    assert_eq!((report.refreshed, report.failed), (1, 0));

    let (access_after, refresh_after) = tokens(&secrets(&w, view.id).await);
    assert_ne!(access_after, access_before);
    assert_eq!(refresh_after, refresh_before, "eBay does not rotate");
    let after = connections::get(&w.db, &w.scope, view.id).await.unwrap();
    assert_eq!(after.status, Status::Active);
    assert!(after.access_expires_at.unwrap() >= view.access_expires_at.unwrap());
    let sandbox = w.sandbox_state(SANDBOX).await;
    let refresh_tokens = sandbox["tokens"]["refresh_tokens"].as_array().unwrap();
    assert_eq!(refresh_tokens.len(), 1, "{sandbox}");
    assert_eq!(refresh_tokens[0]["revoked"], false);

    // Two hours later at eBay the access token has expired: the test call is refused, the
    // connection refreshes once and the repeated call works.
    w.control(
        SANDBOX,
        Method::POST,
        "clock",
        json!({ "advance_secs": 7300 }),
    )
    .await;
    let (channel, env) = w.channels.get(Marketplace::Ebay).unwrap();
    let expired = channel
        .check(env, &view.account_id, &secrets(&w, view.id).await)
        .await
        .unwrap_err();
    assert_eq!(expired.code(), "invalid_credentials");
    let tested = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(tested.status, Status::Active);
    assert!(tested.last_error.is_none(), "{:?}", tested.last_error);
    let (access_third, refresh_third) = tokens(&secrets(&w, view.id).await);
    assert_ne!(access_third, access_after);
    assert_eq!(refresh_third, refresh_before);
    assert_eq!(audit_count(&w, "channel.refresh_failed").await, 0);
}

/// The seller revoked the app at eBay: the scheduled refresh is refused and the connection
/// needs a reconnect.
async fn revoked_refresh_needs_reconnect(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    w.control(SANDBOX, Method::POST, "revoke", json!({})).await;
    let report = connections::refresh_due(&w.db, &w.channels, Utc::now() + Duration::minutes(115))
        .await
        .unwrap();
    assert_eq!((report.refreshed, report.failed), (0, 1));
    let after = connections::get(&w.db, &w.scope, view.id).await.unwrap();
    assert_eq!(after.status, Status::NeedsReconnect);
    assert_eq!(error_code(&after), Some("refresh_refused"));
    assert!(
        after
            .last_error
            .as_ref()
            .unwrap()
            .1
            .contains("refresh token"),
        "eBay's words: {:?}",
        after.last_error
    );
    assert_eq!(audit_count(&w, "channel.refresh_failed").await, 1);
    // Still listed; reconnecting brings it back.
    let connection = connect(&w).await;
    assert_eq!(connection.id, view.id);
    assert_eq!(connection.status, Status::Active);
    assert_eq!(audit_count(&w, "channel.reconnected").await, 1);
}

/// The same, found by the test call: the token is refused, the refresh too.
async fn revoked_token_found_by_test_call(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    w.control(SANDBOX, Method::POST, "revoke", json!({})).await;
    let tested = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(tested.status, Status::NeedsReconnect);
    assert!(
        matches!(
            error_code(&tested),
            Some("refresh_refused" | "invalid_credentials")
        ),
        "{:?}",
        tested.last_error
    );
    assert_eq!(audit_count(&w, "channel.refresh_failed").await, 1);
}

/// Disconnecting removes the subscriptions and the destination at eBay (eBay offers no token
/// revocation), deletes the credentials, and keeps the connection listed.
async fn disconnect_removes_subscriptions(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    let sandbox = w.sandbox_state(SANDBOX).await;
    assert_eq!(sandbox["subscriptions"].as_array().unwrap().len(), 2);

    let done = connections::disconnect(&w.db, &w.channels, &w.scope, view.id, None, Utc::now())
        .await
        .unwrap();
    assert_eq!(done.status, Status::Disconnected);
    assert!(done.disconnected_at.is_some());
    let sandbox = w.sandbox_state(SANDBOX).await;
    assert_eq!(sandbox["subscriptions"], json!([]), "{sandbox}");
    assert_eq!(sandbox["destinations"], json!([]), "{sandbox}");
    let model = row(&w, view.id).await;
    assert!(model.secrets.is_none());
    assert_eq!(model.webhook_ids, "[]");
    let listed = connections::list(&w.db, &w.scope).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, Status::Disconnected);

    let audit = audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq("channel.disconnected"))
        .one(&w.db)
        .await
        .unwrap()
        .unwrap();
    let details: Value = serde_json::from_str(&audit.details).unwrap();
    assert_eq!(details["revoked_at_marketplace"], false, "{details}");
    assert_eq!(details["webhooks_removed"], 3, "{details}");
    assert_eq!(details["problems"], json!([]), "{details}");
    assert_channel_error(
        connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now()).await,
        "invalid_credentials",
    );
}

/// Disconnecting long after the last refresh: the expired access token is renewed for the
/// unsubscribe calls.
async fn disconnect_after_access_expired(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    // Pretend the stored access expired (as after a pause of the scheduler).
    let mut stored = secrets(&w, view.id).await;
    if let Credentials::OAuth {
        access_expires_at, ..
    } = &mut stored.credentials
    {
        *access_expires_at = Some(Utc::now() - Duration::minutes(5));
    }
    w.control(
        SANDBOX,
        Method::POST,
        "clock",
        json!({ "advance_secs": 7300 }),
    )
    .await;
    let model = row(&w, view.id).await;
    let sealed = w.channels.cipher().encrypt(
        &serde_json::to_vec(&stored).unwrap(),
        &format!("channel_connection:{}", view.id),
    );
    let mut active: channel_connection::ActiveModel = model.into();
    active.secrets = sea_orm::Set(Some(sealed));
    sea_orm::ActiveModelTrait::update(active, &w.db)
        .await
        .unwrap();

    connections::disconnect(&w.db, &w.channels, &w.scope, view.id, None, Utc::now())
        .await
        .unwrap();
    let sandbox = w.sandbox_state(SANDBOX).await;
    assert_eq!(sandbox["subscriptions"], json!([]), "{sandbox}");
    assert_eq!(sandbox["destinations"], json!([]), "{sandbox}");
}

/// A test order at eBay: ORDER_CONFIRMATION arrives signed, is verified with eBay's public key
/// and stored once; a duplicate delivery is stored once; forged pushes are refused.
async fn signed_notifications_stored_once(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    let (access, _) = tokens(&secrets(&w, view.id).await);
    stock_item(&w, &access, "TEA-1").await;

    let order = place_order(&w, "TEA-1").await;
    wait_until("the order notification", || async {
        !all_events(&w.db).await.is_empty()
    })
    .await;
    let stored = all_events(&w.db).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].connection_id, view.id);
    assert_eq!(stored[0].topic, "ORDER_CONFIRMATION");
    assert_eq!(stored[0].marketplace, "ebay");
    let payload: Value = serde_json::from_str(&stored[0].payload).unwrap();
    assert_eq!(payload["notification"]["data"]["orderId"], order["orderId"]);
    assert_eq!(
        stored[0].event_id,
        payload["notification"]["notificationId"].as_str().unwrap()
    );
    let first_id = stored[0].event_id.clone();

    // The same notification delivered twice.
    w.control(
        SANDBOX,
        Method::PUT,
        "faults",
        json!({ "duplicate_rate": 1.0 }),
    )
    .await;
    place_order(&w, "TEA-1").await;
    wait_until("both deliveries of the second order", || async {
        let state = w.sandbox_state(SANDBOX).await;
        let answered: Vec<&Value> = state["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["id"] != first_id.as_str() && d["status"] == 200)
            .collect();
        answered.len() >= 2
    })
    .await;
    w.control(SANDBOX, Method::PUT, "faults", json!({})).await;
    let stored = all_events(&w.db).await;
    assert_eq!(stored.len(), 2, "the duplicate is stored once");

    // Forged: signed with another key under eBay's key id, a changed body, an unknown key
    // id, no signature at all. None is stored.
    let endpoint = format!("{}/webhooks/ebay/{}", w.app_url, view.id);
    let kid = w.sandbox_state(SANDBOX).await["public_key_kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!({
        "metadata": { "topic": "ORDER_CONFIRMATION", "schemaVersion": "1.0", "deprecated": false },
        "notification": {
            "notificationId": "forged-1",
            "eventDate": "2026-01-01T00:00:00.000Z",
            "publishDate": "2026-01-01T00:00:00.000Z",
            "publishAttemptCount": 1,
            "data": { "orderId": "12-34567-89012" },
        },
    })
    .to_string();
    let ours = forged_signer();
    let post = |body: String, signature: Option<String>| {
        let mut request = w
            .browser
            .post(&endpoint)
            .header("content-type", "application/json")
            .body(body);
        if let Some(signature) = signature {
            request = request.header("x-ebay-signature", signature);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(
        post(body.clone(), Some(sign(&ours, &kid, body.as_bytes()))).await,
        401
    );
    assert_eq!(
        post(
            body.clone(),
            Some(sign(&ours, "unknown-kid-1", body.as_bytes()))
        )
        .await,
        401
    );
    assert_eq!(post(body.clone(), None).await, 401);
    assert_eq!(post(body.clone(), Some("bm90IGpzb24=".into())).await, 401);
    assert_eq!(all_events(&w.db).await.len(), 2);
    // A genuine signature over a changed body.
    let (signature, genuine) = genuine_push(&w, &access, "TEA-1").await;
    wait_until("the third order's notification", || async {
        all_events(&w.db).await.len() == 3
    })
    .await;
    let changed = String::from_utf8(genuine)
        .unwrap()
        .replace("ORDER_CONFIRMATION", "ITEM_MARKED_SHIPPED");
    assert_eq!(post(changed, Some(signature)).await, 401);
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    assert_eq!(all_events(&w.db).await.len(), 3);

    // A disconnected connection's endpoint answers 410.
    connections::disconnect(&w.db, &w.channels, &w.scope, view.id, None, Utc::now())
        .await
        .unwrap();
    assert_eq!(post(body, None).await, 410);
}

fn forged_signer() -> p256::ecdsa::SigningKey {
    loop {
        let bytes: [u8; 32] = rand::random();
        if let Ok(key) = p256::ecdsa::SigningKey::from_slice(&bytes) {
            return key;
        }
    }
}

fn sign(key: &p256::ecdsa::SigningKey, kid: &str, body: &[u8]) -> String {
    use p256::ecdsa::signature::hazmat::PrehashSigner as _;
    let digest = sha1::Sha1::digest(body);
    let signature: p256::ecdsa::Signature = key.sign_prehash(&digest).unwrap();
    let envelope = json!({
        "alg": "ECDSA",
        "kid": kid,
        "signature": STANDARD.encode(signature.to_der().as_bytes()),
        "digest": "SHA1",
    });
    STANDARD.encode(envelope.to_string())
}

/// A genuine push captured at an endpoint of our own (its own destination, challenge
/// answered, subscribed with the seller's token): `(X-EBAY-SIGNATURE, body)`.
async fn genuine_push(w: &World, access: &str, sku: &str) -> (String, Vec<u8>) {
    use axum::extract::Query;
    use axum::routing::get;
    use std::sync::{Arc, Mutex};
    const TOKEN: &str = "capture_verification_token_0123456789";
    type Push = (String, Vec<u8>);
    let captured: Arc<Mutex<Option<Push>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/capture", listener.local_addr().unwrap());
    let sink = captured.clone();
    let own = url.clone();
    let app = axum::Router::new().route(
        "/capture",
        get(
            move |Query(q): Query<std::collections::BTreeMap<String, String>>| async move {
                let code = q.get("challenge_code").cloned().unwrap_or_default();
                let hash: String = sha2::Sha256::digest(format!("{code}{TOKEN}{own}").as_bytes())
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                axum::Json(json!({ "challengeResponse": hash }))
            },
        )
        .post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| async move {
                let signature = headers["x-ebay-signature"].to_str().unwrap().to_owned();
                *sink.lock().unwrap() = Some((signature, body.to_vec()));
                axum::http::StatusCode::NO_CONTENT
            },
        ),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let api = |method: Method, path: &str, body: Value| {
        w.browser
            .request(
                method,
                format!("{}/commerce/notification/v1/{path}", w.sandbox(SANDBOX)),
            )
            .bearer_auth(access)
            .json(&body)
            .send()
    };
    let made = api(
        Method::POST,
        "destination",
        json!({"name": "capture", "status": "ENABLED",
            "deliveryConfig": {"endpoint": url, "verificationToken": TOKEN}}),
    )
    .await
    .unwrap();
    assert_eq!(made.status(), 201);
    let destination = location(&made).rsplit('/').next().unwrap().to_owned();
    let made = api(
        Method::POST,
        "subscription",
        json!({"topicId": "ORDER_CONFIRMATION", "destinationId": destination, "status": "ENABLED",
            "payload": {"format": "JSON", "schemaVersion": "1.0", "deliveryProtocol": "HTTPS"}}),
    )
    .await
    .unwrap();
    assert_eq!(made.status(), 201);
    place_order(w, sku).await;
    wait_until("the captured push", || async {
        captured.lock().unwrap().is_some()
    })
    .await;
    captured.lock().unwrap().clone().unwrap()
}

/// Another organization sees none of it.
async fn other_organization_gets_not_found(db: Db) {
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
    let still = connections::get(&w.db, &w.scope, view.id).await.unwrap();
    assert_eq!(still.status, Status::Active);
    assert_eq!(
        w.sandbox_state(SANDBOX).await["subscriptions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// eBay takes nothing from the merchant: input is refused before anything is sent.
async fn input_is_refused(db: Db) {
    let w = World::start(db).await;
    let result = connections::start(
        &w.db,
        &w.channels,
        &w.scope,
        SESSION,
        Marketplace::Ebay,
        &ConnectInput {
            shop: Some("https://www.ebay.de/str/meinshop".into()),
            ..ConnectInput::default()
        },
        None,
        Utc::now(),
    )
    .await;
    assert_channel_error(result, "invalid_input");
}

shopmarkets_core::db_tests!(
    connect_flow_end_to_end,
    challenge_is_answered_for_the_connection,
    state_must_match,
    refused_codes_and_client,
    declined_consent_is_denied,
    refresh_keeps_the_refresh_token,
    revoked_refresh_needs_reconnect,
    revoked_token_found_by_test_call,
    disconnect_removes_subscriptions,
    disconnect_after_access_expired,
    signed_notifications_stored_once,
    other_organization_gets_not_found,
    input_is_refused,
);
