//! Connecting Amazon Seller Central accounts end to end against the Amazon SP-API sandbox:
//! the consent page, LWA's code exchange and refresh, the Sellers API check, the failure cases
//! of the website authorization workflow, disconnecting, and why there are no HTTP
//! notifications to store (Amazon delivers to SQS/EventBridge only).

mod support;

use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};
use reqwest::Method;
use sea_orm::{ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _};
use serde_json::{Value, json};
use shopmarkets_core::channels::channel::ConnectInput;
use shopmarkets_core::channels::connections::{self, ConnectionView, Status};
use shopmarkets_core::db::Db;
use shopmarkets_core::entity::{audit_event, channel_event};
use shopmarkets_types::Marketplace;
use support::forms::parse_form;
use support::*;
use uuid::Uuid;

const SANDBOX: &str = "amazon";
const MARKETPLACE_ID: &str = "A1PA6795UKMFR9";

/// Starts a flow and returns the URL of Seller Central's consent page.
async fn start(w: &World) -> String {
    w.start_flow(Marketplace::Amazon, &ConnectInput::default(), Utc::now())
        .await
        .unwrap()
}

/// Opens the consent page and presses `decision` (`confirm` or `cancel`) as a browser
/// would; returns the answer to the form post.
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
    assert!(
        html.contains("amzn1.sp.solution.test-application"),
        "{html}"
    );
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

/// Consent confirmed: the callback URL Seller Central redirected to.
async fn approve(w: &World, consent_url: &str) -> String {
    let answer = decide(w, consent_url, "confirm").await;
    assert_eq!(answer.status(), 302);
    let to = location(&answer);
    assert!(
        to.starts_with(&format!("{}/channels/amazon/callback?", w.app_url)),
        "{to}"
    );
    to
}

/// A connected Amazon account.
async fn connect(w: &World) -> ConnectionView {
    let url = start(w).await;
    let callback = approve(w, &url).await;
    w.finish(Marketplace::Amazon, &callback).await.unwrap()
}

async fn connect_flow_end_to_end(db: Db) {
    let w = World::start(db).await;
    let started = Instant::now();
    let url = start(&w).await;

    let consent = query_of(&url);
    assert!(
        url.starts_with(&format!("{}/apps/authorize/consent?", w.sandbox(SANDBOX))),
        "{url}"
    );
    assert_eq!(
        consent["application_id"],
        "amzn1.sp.solution.test-application"
    );
    assert_eq!(
        consent["redirect_uri"],
        format!("{}/channels/amazon/callback", w.app_url)
    );
    assert!(consent["state"].len() >= 40, "{url}");
    assert!(
        !consent.contains_key("version"),
        "a published app sends no version=beta"
    );

    let callback = approve(&w, &url).await;
    let back = query_of(&callback);
    assert_eq!(back["state"], consent["state"]);
    let view = w.finish(Marketplace::Amazon, &callback).await.unwrap();
    let latency = started.elapsed();
    eprintln!("amazon connect flow: start() to finish() took {latency:?}");

    let sandbox = w.sandbox_state(SANDBOX).await;
    assert_eq!(view.marketplace, Marketplace::Amazon);
    assert_eq!(view.status, Status::Active);
    assert_eq!(view.account_id, sandbox["seller_id"].as_str().unwrap());
    assert_eq!(view.account_id, back["selling_partner_id"]);
    assert_eq!(view.account_name, "Demo Seller GmbH (Amazon.de)");
    assert_eq!(
        view.scopes,
        vec!["product_listing", "inventory_and_order_tracking"]
    );
    let expires_in = (view.access_expires_at.unwrap() - Utc::now()).num_seconds();
    assert!((3500..=3600).contains(&expires_in), "{expires_in}");
    assert!(view.last_error.is_none(), "{:?}", view.last_error);

    let listed = connections::list(&w.db, &w.scope).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, view.id);

    // The tokens are stored encrypted, and are LWA's.
    let model = row(&w, view.id).await;
    let sealed = model.secrets.clone().unwrap();
    assert!(
        !sealed.contains("Atz"),
        "tokens must not be stored in the clear"
    );
    assert_eq!(model.webhook_ids, "[]");
    let stored = secrets(&w, view.id).await;
    let (access, refresh) = tokens(&stored);
    assert!(access.starts_with("Atza|"));
    assert!(refresh.starts_with("Atzr|"));
    assert!(!format!("{stored:?}").contains("Atz"));

    let tested = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(tested.status, Status::Active);
    assert!(tested.last_error.is_none(), "{:?}", tested.last_error);
    assert_eq!(audit_count(&w, "channel.connected").await, 1);

    // The account name and the check came from the Sellers API, with the access token.
    let sandbox = w.sandbox_state(SANDBOX).await;
    let calls = sandbox["calls"].to_string();
    assert!(calls.contains("marketplaceParticipations"), "{calls}");

    // Amazon is connected through Seller Central only.
    let (channel, env) = w.channels.get(Marketplace::Amazon).unwrap();
    let keys = channel
        .connect_with_keys(env, &ConnectInput::default())
        .await
        .unwrap_err();
    assert_eq!(keys.code(), "invalid_input");
}

async fn state_must_match_and_is_single_use(db: Db) {
    let w = World::start(db).await;
    let url = start(&w).await;
    let callback = approve(&w, &url).await;

    // Another browser session brings the callback: refused, and the flow stays usable.
    let other_session = connections::finish(
        &w.db,
        &w.channels,
        "another-browser-session",
        Marketplace::Amazon,
        &query_of(&callback),
        None,
        Utc::now(),
    )
    .await;
    assert_channel_error(other_session, "wrong_session");
    // A state we never issued.
    let unknown = with_param(
        &callback,
        "state",
        "bm90LWEtc3RhdGUtd2UtaXNzdWVkLWF0LWFsbC0xMjM0NTY",
    );
    assert_channel_error(
        w.finish(Marketplace::Amazon, &unknown).await,
        "unknown_state",
    );
    let missing = callback.replace("state=", "x_state=");
    assert_channel_error(
        w.finish(Marketplace::Amazon, &missing).await,
        "unknown_state",
    );
    assert_eq!(connection_count(&w).await, 0);

    let view = w.finish(Marketplace::Amazon, &callback).await.unwrap();
    assert_eq!(view.status, Status::Active);
    // The same callback again (a reload, a replay): nothing new is stored.
    assert_channel_error(w.finish(Marketplace::Amazon, &callback).await, "reused");
    assert_eq!(connection_count(&w).await, 1);
    assert_eq!(audit_count(&w, "channel.connected").await, 1);
    assert_eq!(audit_count(&w, "channel.reconnected").await, 0);
}

/// `spapi_oauth_code` is valid five minutes: LWA's `invalid_grant` is invalid credentials
/// (the merchant starts again), not a forgery.
async fn expired_code_is_refused(db: Db) {
    let w = World::start(db).await;
    let url = start(&w).await;
    let callback = approve(&w, &url).await;
    w.control(
        SANDBOX,
        Method::POST,
        "clock",
        json!({ "advance_secs": 301 }),
    )
    .await;
    let result = w.finish(Marketplace::Amazon, &callback).await;
    if let Err(error) = &result {
        assert!(error.to_string().contains("code"), "{error}");
    }
    assert_channel_error(result, "invalid_credentials");
    assert_eq!(connection_count(&w).await, 0);
}

/// A code already exchanged, brought back by a second flow: LWA refuses it.
async fn reused_code_is_refused(db: Db) {
    let w = World::start(db).await;
    let first = approve(&w, &start(&w).await).await;
    w.finish(Marketplace::Amazon, &first).await.unwrap();
    let second = approve(&w, &start(&w).await).await;
    assert_ne!(
        query_of(&first)["spapi_oauth_code"],
        query_of(&second)["spapi_oauth_code"]
    );
    let replayed = with_param(
        &second,
        "spapi_oauth_code",
        &query_of(&first)["spapi_oauth_code"],
    );
    assert_channel_error(
        w.finish(Marketplace::Amazon, &replayed).await,
        "invalid_credentials",
    );
    assert_eq!(connection_count(&w).await, 1);
    assert_eq!(audit_count(&w, "channel.reconnected").await, 0);
}

/// LWA refuses our client (a rotated or wrong LWA client secret): invalid credentials.
async fn wrong_client_secret_is_refused(db: Db) {
    let w = World::start(db).await;
    let callback = approve(&w, &start(&w).await).await;
    w.control(
        SANDBOX,
        Method::PUT,
        "app",
        json!({
            "client_id": "amzn1.application-oa2-client.testclient",
            "client_secret": "a-rotated-secret-that-shopmarkets-does-not-have",
            "redirect_uris": [format!("{}/channels/amazon/callback", w.app_url)],
            "extra": { "application_id": "amzn1.sp.solution.test-application" },
        }),
    )
    .await;
    let result = w.finish(Marketplace::Amazon, &callback).await;
    if let Err(error) = &result {
        let text = error.to_string();
        assert!(text.contains("Client authentication failed"), "{text}");
        assert!(!text.contains("amazon-test-secret"), "{text}");
    }
    assert_channel_error(result, "invalid_credentials");
    assert_eq!(connection_count(&w).await, 0);
}

/// Cancel on the consent page: with Seller Central redirecting (`error=access_denied`) the
/// flow ends as denied; without, the seller stays at Seller Central and nothing comes back.
async fn cancel_is_denied(db: Db) {
    let w = World::start(db).await;
    let answer = decide(&w, &start(&w).await, "cancel").await;
    assert_eq!(answer.status(), 200);
    assert!(answer.headers().get("location").is_none());

    w.control(
        SANDBOX,
        Method::PUT,
        "options",
        json!({ "cancel_redirects": true }),
    )
    .await;
    let answer = decide(&w, &start(&w).await, "cancel").await;
    assert_eq!(answer.status(), 302);
    let callback = location(&answer);
    assert_eq!(query_of(&callback)["error"], "access_denied");
    assert_channel_error(w.finish(Marketplace::Amazon, &callback).await, "denied");
    // A callback without a code is no authorization either.
    let url = start(&w).await;
    let state = query_of(&url)["state"].clone();
    let bare = format!(
        "{}/channels/amazon/callback?{}",
        w.app_url,
        serde_urlencoded::to_string([("state", state.as_str())]).unwrap()
    );
    assert_channel_error(w.finish(Marketplace::Amazon, &bare).await, "denied");
    assert_eq!(connection_count(&w).await, 0);
}

/// Access expires after an hour and is renewed with the refresh token, which LWA does not
/// rotate: the same refresh token stays stored and valid.
async fn refresh_renews_access_and_keeps_the_refresh_token(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    let (access_before, refresh_before) = tokens(&secrets(&w, view.id).await);

    let nothing = connections::refresh_due(&w.db, &w.channels, Utc::now())
        .await
        .unwrap();
    assert_eq!((nothing.refreshed, nothing.failed), (0, 0));
    let report = connections::refresh_due(&w.db, &w.channels, Utc::now() + Duration::minutes(55))
        .await
        .unwrap();
    assert_eq!((report.refreshed, report.failed), (1, 0));

    let (access_after, refresh_after) = tokens(&secrets(&w, view.id).await);
    assert_ne!(access_after, access_before);
    assert_eq!(refresh_after, refresh_before, "LWA does not rotate");
    let after = connections::get(&w.db, &w.scope, view.id).await.unwrap();
    assert!(after.access_expires_at.unwrap() >= view.access_expires_at.unwrap());
    let sandbox = w.sandbox_state(SANDBOX).await;
    let refresh_tokens = sandbox["tokens"]["refresh_tokens"].as_array().unwrap();
    assert_eq!(refresh_tokens.len(), 1, "{sandbox}");
    assert_eq!(refresh_tokens[0]["revoked"], false);
    assert_eq!(
        sandbox["tokens"]["access_tokens"].as_array().unwrap().len(),
        2
    );

    // An hour later at Amazon, the access token has expired: the test call is refused, the
    // connection refreshes once and the repeated call works.
    w.control(
        SANDBOX,
        Method::POST,
        "clock",
        json!({ "advance_secs": 3700 }),
    )
    .await;
    let (channel, env) = w.channels.get(Marketplace::Amazon).unwrap();
    let expired = channel
        .check(env, &view.account_id, &secrets(&w, view.id).await)
        .await
        .unwrap_err();
    assert_eq!(expired.code(), "invalid_credentials");
    assert!(expired.to_string().contains("expired"), "{expired}");
    let tested = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(tested.status, Status::Active);
    assert!(tested.last_error.is_none(), "{:?}", tested.last_error);
    let (access_third, refresh_third) = tokens(&secrets(&w, view.id).await);
    assert_ne!(access_third, access_after);
    assert_eq!(refresh_third, refresh_before);
}

/// The seller removed the app (every token revoked): the test call and the refresh are
/// refused, and the connection needs a reconnect.
async fn revoked_authorization_needs_reconnect(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    w.control(SANDBOX, Method::POST, "revoke", json!({})).await;
    let tested = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(tested.status, Status::NeedsReconnect);
    // The refresh was refused (`refresh_refused`), then the test call's own refusal is what
    // the connection shows last.
    assert_eq!(error_code(&tested), Some("invalid_credentials"));
    let detail = &tested.last_error.as_ref().unwrap().1;
    assert!(detail.contains("revoked"), "{detail}");
    assert!(!detail.contains("Atz"), "{detail}");
    assert_eq!(audit_count(&w, "channel.refresh_failed").await, 1);
    // Not refreshed again by the scheduled job: it only renews active connections.
    let report = connections::refresh_due(&w.db, &w.channels, Utc::now() + Duration::hours(2))
        .await
        .unwrap();
    assert_eq!((report.refreshed, report.failed), (0, 0));
}

async fn refused_refresh_in_the_scheduled_job_needs_reconnect(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    w.control(SANDBOX, Method::POST, "revoke", json!({})).await;
    let report = connections::refresh_due(&w.db, &w.channels, Utc::now() + Duration::minutes(55))
        .await
        .unwrap();
    assert_eq!((report.refreshed, report.failed), (0, 1));
    let after = connections::get(&w.db, &w.scope, view.id).await.unwrap();
    assert_eq!(after.status, Status::NeedsReconnect);
    assert_eq!(error_code(&after), Some("refresh_refused"));
    assert_eq!(audit_count(&w, "channel.refresh_failed").await, 1);

    // Connecting the same seller again makes it active again.
    let again = connect(&w).await;
    assert_eq!(again.id, view.id);
    assert_eq!(again.status, Status::Active);
    assert_eq!(audit_count(&w, "channel.reconnected").await, 1);
}

/// Throttling and server errors of the Sellers API are temporary: reported, not a reconnect.
async fn throttled_or_failing_marketplace_is_temporary(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    w.control(
        SANDBOX,
        Method::PUT,
        "faults",
        json!({ "throttle_rate": 1.0 }),
    )
    .await;
    let tested = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(tested.status, Status::Active);
    assert_eq!(error_code(&tested), Some("rate_limited"));
    w.control(SANDBOX, Method::PUT, "faults", json!({ "error_rate": 1.0 }))
        .await;
    let tested = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(tested.status, Status::Active);
    assert_eq!(error_code(&tested), Some("unavailable"));
    assert!(
        tested
            .last_error
            .as_ref()
            .unwrap()
            .1
            .contains("InternalFailure"),
        "{:?}",
        tested.last_error
    );
    w.control(SANDBOX, Method::PUT, "faults", json!({})).await;
    let tested = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert!(tested.last_error.is_none(), "{:?}", tested.last_error);
    assert_eq!(audit_count(&w, "channel.refresh_failed").await, 0);
}

/// Amazon offers no revocation call and has no HTTP subscriptions: disconnecting deletes the
/// credentials here, keeps the connection listed, and says nothing was revoked.
async fn disconnect_deletes_credentials(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    let done = connections::disconnect(&w.db, &w.channels, &w.scope, view.id, None, Utc::now())
        .await
        .unwrap();
    assert_eq!(done.status, Status::Disconnected);
    assert!(done.disconnected_at.is_some());
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
    assert_eq!(details["webhooks_removed"], 0, "{details}");
    assert_eq!(details["problems"], json!([]), "{details}");
    // Amazon itself still has the authorization until the seller removes the app there.
    let sandbox = w.sandbox_state(SANDBOX).await;
    assert_eq!(sandbox["tokens"]["refresh_tokens"][0]["revoked"], false);

    assert_channel_error(
        connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now()).await,
        "invalid_credentials",
    );
}

/// Orders come by polling: Amazon sends ORDER_CHANGE to SQS, never signed HTTP posts. Even
/// when the sandbox's queue is pointed at our notification endpoint (duplicates included),
/// nothing is stored; the order is found through Orders v2026-01-01 with the stored token.
async fn notifications_over_http_are_refused(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    let endpoint = format!("{}/webhooks/amazon/{}", w.app_url, view.id);
    let (access, _) = tokens(&secrets(&w, view.id).await);

    let listing = w
        .browser
        .put(format!(
            "{}/listings/2021-08-01/items/{}/TEE-1?marketplaceIds={MARKETPLACE_ID}",
            w.sandbox(SANDBOX),
            view.account_id
        ))
        .header("x-amz-access-token", &access)
        .json(&json!({
            "productType": "PRODUCT",
            "requirements": "LISTING",
            "attributes": {
                "item_name": [{ "value": "Teekanne", "language_tag": "de_DE", "marketplace_id": MARKETPLACE_ID }],
                "condition_type": [{ "value": "new_new", "marketplace_id": MARKETPLACE_ID }],
                "fulfillment_availability": [{ "fulfillment_channel_code": "DEFAULT", "quantity": 5 }],
                "purchasable_offer": [{
                    "currency": "EUR",
                    "marketplace_id": MARKETPLACE_ID,
                    "our_price": [{ "schedule": [{ "value_with_tax": 24.9 }] }],
                }],
            },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(listing.status(), 200);

    w.control(
        SANDBOX,
        Method::PUT,
        "options",
        json!({ "queue_url": endpoint }),
    )
    .await;
    w.control(
        SANDBOX,
        Method::PUT,
        "faults",
        json!({ "duplicate_rate": 1.0 }),
    )
    .await;
    w.control(SANDBOX, Method::POST, "orders", json!({ "sku": "TEE-1" }))
        .await;

    // Wait for the sandbox to have handed the notification to our endpoint.
    let deadline = Instant::now() + StdDuration::from_secs(10);
    let refused = loop {
        let sandbox = w.sandbox_state(SANDBOX).await;
        let refused: Vec<Value> = sandbox["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["url"] == endpoint.as_str() && d["status"] == 401)
            .cloned()
            .collect();
        if refused.len() >= 2 || Instant::now() > deadline {
            break refused;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    };
    assert!(
        refused.len() >= 2,
        "expected refused deliveries: {refused:?}"
    );
    let stored = channel_event::Entity::find()
        .filter(channel_event::Column::ConnectionId.eq(view.id))
        .count(&w.db)
        .await
        .unwrap();
    assert_eq!(stored, 0);

    // A forged notification posted by anyone: refused the same way.
    let forged = w
        .browser
        .post(&endpoint)
        .json(&json!({
            "NotificationType": "ORDER_CHANGE",
            "NotificationMetadata": { "NotificationId": Uuid::new_v4().to_string() },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    assert_eq!(channel_event::Entity::find().count(&w.db).await.unwrap(), 0);

    // The order is there for the sync to poll.
    let orders: Value = w
        .browser
        .get(format!(
            "{}/orders/2026-01-01/orders?createdAfter=2020-01-01T00:00:00Z",
            w.sandbox(SANDBOX)
        ))
        .header("x-amz-access-token", &access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(orders["orders"].as_array().unwrap().len(), 1, "{orders}");
}

async fn other_organizations_see_nothing(db: Db) {
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
    assert_channel_error(
        connections::start(
            &w.db,
            &w.channels,
            &stranger,
            SESSION,
            Marketplace::Amazon,
            &ConnectInput::default(),
            Some(view.id),
            Utc::now(),
        )
        .await,
        "not_found",
    );
    assert!(
        connections::list(&w.db, &stranger)
            .await
            .unwrap()
            .is_empty()
    );
    let mine = connections::get(&w.db, &w.scope, view.id).await.unwrap();
    assert_eq!(mine.status, Status::Active);
}

shopmarkets_core::db_tests!(
    connect_flow_end_to_end,
    state_must_match_and_is_single_use,
    expired_code_is_refused,
    reused_code_is_refused,
    wrong_client_secret_is_refused,
    cancel_is_denied,
    refresh_renews_access_and_keeps_the_refresh_token,
    revoked_authorization_needs_reconnect,
    refused_refresh_in_the_scheduled_job_needs_reconnect,
    throttled_or_failing_marketplace_is_temporary,
    disconnect_deletes_credentials,
    notifications_over_http_are_refused,
    other_organizations_see_nothing,
);
