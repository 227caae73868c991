//! Etsy connections end to end against the Etsy sandbox: the PKCE consent flow as a browser
//! walks it, the callback's failure cases, refresh with rotation, "needs reconnect",
//! disconnect, and `order.paid` notifications signed the Standard-Webhooks way.

mod support;

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use hmac::{Hmac, Mac as _};
use reqwest::Method;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use serde_json::{Value, json};
use sha2::Sha256;
use shopmarkets_core::channels::Channel as _;
use shopmarkets_core::channels::ChannelError;
use shopmarkets_core::channels::channel::ConnectInput;
use shopmarkets_core::channels::connections::{self, ConnectionView, Status};
use shopmarkets_core::channels::credentials::Credentials;
use shopmarkets_core::channels::etsy::Etsy;
use shopmarkets_core::db::Db;
use shopmarkets_core::entity::{audit_event, channel_event};
use shopmarkets_core::secret::Secret;
use shopmarkets_types::Marketplace;
use support::forms::parse_form;
use support::*;
use uuid::Uuid;

const ETSY: Marketplace = Marketplace::Etsy;

/// Starts a flow and walks the consent page; `decision` is the button pressed. Returns the
/// Location the consent answer redirects to (our callback) and the authorize URL.
async fn consent(w: &World, decision: &str) -> (String, String) {
    let url = connections::start(
        &w.db,
        &w.channels,
        &w.scope,
        SESSION,
        ETSY,
        &ConnectInput::default(),
        None,
        Utc::now(),
    )
    .await
    .unwrap();
    let page = w.browser.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200, "{url}");
    let html = page.text().await.unwrap();
    assert!(html.contains("listings_w"), "{html}");
    let form = parse_form(&html);
    let mut fields = form.fields.clone();
    fields.push(("decision".into(), decision.into()));
    let answer = w
        .browser
        .post(&form.action)
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 302);
    (location(&answer), url)
}

/// The whole connect flow; returns the stored connection.
async fn connect(w: &World) -> ConnectionView {
    let (callback, _) = consent(w, "allow").await;
    w.finish(ETSY, &callback).await.unwrap()
}

/// A direct call of the sandbox token endpoint (to see what it thinks of a token).
async fn token_call(w: &World, form: &[(&str, &str)]) -> (u16, Value) {
    let response = w
        .browser
        .post(format!("{}/v3/public/oauth/token", w.sandbox("etsy")))
        .form(form)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or_default(),
    )
}

async fn full_connect_flow(db: Db) {
    let w = World::start(db).await;
    let started = Instant::now();
    let (callback, authorize_url) = consent(&w, "allow").await;
    let view = w.finish(ETSY, &callback).await.unwrap();
    eprintln!(
        "etsy connect flow (start → consent → finish): {} ms",
        started.elapsed().as_millis()
    );

    // The authorization request is Etsy's: PKCE S256, our keystring, the exact callback, the
    // five scopes.
    let asked = query_of(&authorize_url);
    assert!(authorize_url.starts_with(&format!("{}/oauth/connect?", w.sandbox("etsy"))));
    assert_eq!(asked["response_type"], "code");
    assert_eq!(asked["client_id"], "etsytestkeystring01");
    assert_eq!(
        asked["redirect_uri"],
        format!("{}/channels/etsy/callback", w.app_url)
    );
    assert_eq!(asked["code_challenge_method"], "S256");
    assert_eq!(asked["code_challenge"].len(), 43);
    assert_eq!(
        asked["scope"],
        "listings_r listings_w transactions_r transactions_w shops_r"
    );
    assert!(callback.starts_with(&format!("{}/channels/etsy/callback?", w.app_url)));

    let state = w.sandbox_state("etsy").await;
    let user = &state["users"][0];
    assert_eq!(view.marketplace, ETSY);
    assert_eq!(view.status, Status::Active);
    assert_eq!(
        view.account_id,
        user["user_id"].as_u64().unwrap().to_string()
    );
    assert_eq!(view.account_name, user["shop_name"].as_str().unwrap());
    assert_eq!(view.account_name, "demosellerShop");
    assert_eq!(
        view.scopes,
        [
            "listings_r",
            "listings_w",
            "transactions_r",
            "transactions_w",
            "shops_r"
        ]
    );
    let expires = view.access_expires_at.unwrap();
    let in_an_hour = Utc::now() + chrono::Duration::hours(1);
    assert!((expires - in_an_hour).num_seconds().abs() < 60, "{expires}");
    assert_eq!(view.last_error, None);

    // Stored encrypted: the row holds no token; decrypted it holds Etsy's `<user_id>.` tokens
    // and the whsec_ secret of the subscription.
    let row = row(&w, view.id).await;
    let secrets = secrets(&w, view.id).await;
    let access = secrets.credentials.access_token().unwrap().to_owned();
    let refresh = secrets.credentials.refresh_token().unwrap().to_owned();
    assert!(access.starts_with(&format!("{}.", view.account_id)));
    assert!(refresh.starts_with(&format!("{}.", view.account_id)));
    let sealed = row.secrets.clone().unwrap();
    assert!(!sealed.contains(&access) && !sealed.contains(&refresh));
    assert!(
        secrets
            .webhook_secret
            .as_deref()
            .unwrap()
            .starts_with("whsec_")
    );
    let ids: Vec<String> = serde_json::from_str(&row.webhook_ids).unwrap();
    assert_eq!(ids.len(), 1);
    assert_eq!(state["webhooks"][0]["id"], ids[0].as_str());
    assert_eq!(
        state["webhooks"][0]["url"],
        format!("{}/webhooks/etsy/{}", w.app_url, view.id)
    );
    assert_eq!(state["webhooks"][0]["events"], json!(["order.paid"]));

    let listed = connections::list(&w.db, &w.scope).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0], view);
    let tested = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(tested.status, Status::Active);
    assert_eq!(tested.last_error, None);
    assert_eq!(audit_count(&w, "channel.connected").await, 1);

    // The API calls carried the keystring and shared secret (the sandbox refuses them
    // otherwise) and reached users/me and the shop.
    let calls = w.sandbox_state("etsy").await["calls"].clone();
    let paths: Vec<&str> = calls
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == 200)
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert!(
        paths
            .iter()
            .any(|p| p.ends_with("/v3/application/users/me"))
    );
    assert!(paths.iter().any(|p| p.contains("/v3/application/shops/")));
}

async fn callback_in_another_session_or_unknown_state(db: Db) {
    let w = World::start(db).await;
    let (callback, _) = consent(&w, "allow").await;
    let query = query_of(&callback);
    let other_session = connections::finish(
        &w.db,
        &w.channels,
        "another-browser-session",
        ETSY,
        &query,
        None,
        Utc::now(),
    )
    .await;
    assert_channel_error(other_session, "wrong_session");

    let mut unknown = query.clone();
    unknown.insert("state".into(), "never-issued-state".into());
    let result = connections::finish(
        &w.db,
        &w.channels,
        SESSION,
        ETSY,
        &unknown,
        None,
        Utc::now(),
    )
    .await;
    assert_channel_error(result, "unknown_state");
    let mut missing = query.clone();
    missing.remove("state");
    let result = connections::finish(
        &w.db,
        &w.channels,
        SESSION,
        ETSY,
        &missing,
        None,
        Utc::now(),
    )
    .await;
    assert_channel_error(result, "unknown_state");
    assert_eq!(connection_count(&w).await, 0);

    // At another marketplace's callback the state is a mix-up.
    assert_channel_error(
        w.finish(Marketplace::Shopify, &callback).await,
        "wrong_marketplace",
    );

    // The flow itself was not spent by the attempts: its own session finishes it.
    let view = w.finish(ETSY, &callback).await.unwrap();
    assert_eq!(view.status, Status::Active);
    assert_eq!(connection_count(&w).await, 1);
}

async fn reused_state_stores_nothing_new(db: Db) {
    let w = World::start(db).await;
    let (callback, _) = consent(&w, "allow").await;
    let first = w.finish(ETSY, &callback).await.unwrap();
    let before = row(&w, first.id).await;
    assert_channel_error(w.finish(ETSY, &callback).await, "reused");
    assert_eq!(connection_count(&w).await, 1);
    let after = row(&w, first.id).await;
    assert_eq!(before.version, after.version);
    assert_eq!(before.secrets, after.secrets);
    assert_eq!(audit_count(&w, "channel.connected").await, 1);
}

/// A callback URL with `state` from one flow and `code` from another.
fn mix(state_from: &str, code_from: &str) -> String {
    let state = query_of(state_from)["state"].clone();
    let code = query_of(code_from)["code"].clone();
    let base = state_from.split_once('?').unwrap().0;
    let query = serde_urlencoded::to_string([("code", code), ("state", state)]).unwrap();
    format!("{base}?{query}")
}

async fn wrong_pkce_verifier_is_refused(db: Db) {
    let w = World::start(db).await;
    let (callback_a, _) = consent(&w, "allow").await;
    let (callback_b, _) = consent(&w, "allow").await;
    // B's flow (and its verifier) with A's code: Etsy checks the verifier against A's challenge.
    let result = w.finish(ETSY, &mix(&callback_b, &callback_a)).await;
    match &result {
        Err(connections::ConnectError::Channel(ChannelError::InvalidCredentials(text))) => {
            assert!(text.contains("code_verifier"), "{text}");
        }
        other => panic!("expected the verifier to be refused, got {other:?}"),
    }
    assert_eq!(connection_count(&w).await, 0);
    // A's own flow still works with its code: it was the verifier that did not match.
    let view = w.finish(ETSY, &callback_a).await.unwrap();
    assert_eq!(view.status, Status::Active);
}

async fn reused_code_is_refused(db: Db) {
    let w = World::start(db).await;
    let (callback_a, _) = consent(&w, "allow").await;
    let first = w.finish(ETSY, &callback_a).await.unwrap();
    let before = row(&w, first.id).await;
    // A second flow brings back the code already redeemed (a replayed code).
    let (callback_b, _) = consent(&w, "allow").await;
    let result = w.finish(ETSY, &mix(&callback_b, &callback_a)).await;
    match &result {
        Err(connections::ConnectError::Channel(ChannelError::InvalidCredentials(text))) => {
            assert!(text.contains("already been used"), "{text}");
        }
        other => panic!("expected the reused code to be refused, got {other:?}"),
    }
    assert_eq!(connection_count(&w).await, 1);
    assert_eq!(row(&w, first.id).await.secrets, before.secrets);
}

async fn expired_code_is_refused(db: Db) {
    let w = World::start(db).await;
    let (callback, _) = consent(&w, "allow").await;
    // Etsy's code lifetime (the sandbox's 300 s) passes at Etsy.
    w.control(
        "etsy",
        Method::POST,
        "clock",
        json!({ "advance_secs": 301 }),
    )
    .await;
    let result = w.finish(ETSY, &callback).await;
    match &result {
        Err(connections::ConnectError::Channel(ChannelError::InvalidCredentials(text))) => {
            assert!(text.contains("expired"), "{text}");
        }
        other => panic!("expected the expired code to be refused, got {other:?}"),
    }
    assert_eq!(connection_count(&w).await, 0);
}

async fn declined_consent_is_denied(db: Db) {
    let w = World::start(db).await;
    let (callback, _) = consent(&w, "deny").await;
    let query = query_of(&callback);
    assert_eq!(query["error"], "access_denied");
    assert!(!query.contains_key("code"));
    assert_channel_error(w.finish(ETSY, &callback).await, "denied");
    assert_eq!(connection_count(&w).await, 0);
    // The state is spent: the same answer again is a replay.
    assert_channel_error(w.finish(ETSY, &callback).await, "reused");
}

async fn input_is_refused_and_keys_are_not_a_way_in(db: Db) {
    let w = World::start(db).await;
    let input = ConnectInput {
        shop: Some("someshop.myshopify.com".into()),
        ..ConnectInput::default()
    };
    let result = connections::start(
        &w.db,
        &w.channels,
        &w.scope,
        SESSION,
        ETSY,
        &input,
        None,
        Utc::now(),
    )
    .await;
    assert_channel_error(result, "invalid_input");
    let keys = ConnectInput {
        key: Some("k".into()),
        secret: Some(Secret::new("s".into())),
        ..ConnectInput::default()
    };
    let result =
        connections::connect_with_keys(&w.db, &w.channels, &w.scope, ETSY, &keys, None, Utc::now())
            .await;
    assert_channel_error(result, "invalid_input");
    assert_eq!(connection_count(&w).await, 0);
}

async fn refresh_rotates_the_refresh_token(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    let old = secrets(&w, view.id).await;
    let old_refresh = old.credentials.refresh_token().unwrap().to_owned();
    let old_access = old.credentials.access_token().unwrap().to_owned();

    // Not due yet: nothing happens.
    let report = connections::refresh_due(&w.db, &w.channels, Utc::now())
        .await
        .unwrap();
    assert_eq!(report.refreshed, 0);

    let report = connections::refresh_due(
        &w.db,
        &w.channels,
        Utc::now() + chrono::Duration::minutes(55),
    )
    .await
    .unwrap();
    assert_eq!((report.refreshed, report.failed), (1, 0));
    let renewed = secrets(&w, view.id).await;
    let Credentials::OAuth {
        access_token,
        refresh_token,
        previous_refresh_token,
        access_expires_at,
        ..
    } = &renewed.credentials
    else {
        panic!("OAuth credentials expected");
    };
    assert_ne!(access_token, &old_access);
    assert_ne!(refresh_token.as_deref(), Some(old_refresh.as_str()));
    assert!(
        refresh_token
            .as_deref()
            .unwrap()
            .starts_with(&format!("{}.", view.account_id))
    );
    assert_eq!(
        previous_refresh_token.as_deref(),
        Some(old_refresh.as_str())
    );
    assert_eq!(renewed.webhook_secret, old.webhook_secret);
    let after = connections::get(&w.db, &w.scope, view.id).await.unwrap();
    // PostgreSQL keeps microseconds.
    let stored = after.access_expires_at.unwrap();
    assert!(
        (stored - access_expires_at.unwrap())
            .num_milliseconds()
            .abs()
            < 1
    );
    assert!(after.access_expires_at.unwrap() >= view.access_expires_at.unwrap());

    // Etsy rotates: the old refresh token is refused now, and the old access token is gone.
    let (status, body) = token_call(
        &w,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "etsytestkeystring01"),
            ("refresh_token", &old_refresh),
        ],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    let state = w.sandbox_state("etsy").await;
    assert!(
        state["tokens"]["refresh_tokens"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["revoked"] == true),
        "{state}"
    );

    let tested = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(tested.status, Status::Active);
    assert_eq!(tested.last_error, None);
}

async fn expired_access_is_renewed_when_tested(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    let old_refresh = secrets(&w, view.id)
        .await
        .credentials
        .refresh_token()
        .unwrap()
        .to_owned();
    // An hour passes at Etsy: the access token is expired there.
    w.control(
        "etsy",
        Method::POST,
        "clock",
        json!({ "advance_secs": 3700 }),
    )
    .await;
    let tested = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(tested.status, Status::Active, "{:?}", tested.last_error);
    assert_eq!(tested.last_error, None);
    let renewed = secrets(&w, view.id).await;
    assert_ne!(
        renewed.credentials.refresh_token(),
        Some(old_refresh.as_str())
    );
}

async fn refused_refresh_needs_reconnect(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    w.control("etsy", Method::POST, "revoke", json!({})).await;
    let report = connections::refresh_due(
        &w.db,
        &w.channels,
        Utc::now() + chrono::Duration::minutes(55),
    )
    .await
    .unwrap();
    assert_eq!((report.refreshed, report.failed), (0, 1));
    let after = connections::get(&w.db, &w.scope, view.id).await.unwrap();
    assert_eq!(after.status, Status::NeedsReconnect);
    let (code, detail) = after.last_error.clone().unwrap();
    assert_eq!(code, "refresh_refused");
    assert!(detail.contains("revoked"), "{detail}");
    assert!(after.last_error_at.is_some());
    assert_eq!(audit_count(&w, "channel.refresh_failed").await, 1);
    // Still listed, with its reason.
    let listed = connections::list(&w.db, &w.scope).await.unwrap();
    assert_eq!(listed[0].status, Status::NeedsReconnect);
}

async fn revoked_tokens_fail_the_test_call(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    w.control("etsy", Method::POST, "revoke", json!({})).await;
    let tested = connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(tested.status, Status::NeedsReconnect);
    let (code, _) = tested.last_error.unwrap();
    assert!(
        code == "refresh_refused" || code == "invalid_credentials",
        "{code}"
    );
    assert_eq!(audit_count(&w, "channel.refresh_failed").await, 1);

    // Connecting again brings the same account back to active.
    let again = connect(&w).await;
    assert_eq!(again.id, view.id);
    assert_eq!(again.status, Status::Active);
    assert_eq!(audit_count(&w, "channel.reconnected").await, 1);
    assert_eq!(
        w.sandbox_state("etsy").await["webhooks"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn api_key_must_carry_the_shared_secret(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    let secrets = secrets(&w, view.id).await;
    let (_, env) = w.channels.get(ETSY).unwrap();
    Etsy.check(env, &view.account_id, &secrets).await.unwrap();

    // The same token with a wrong shared secret in x-api-key: Etsy refuses the key.
    let mut wrong = env.clone();
    let mut app = wrong.app.clone().unwrap();
    app.client_secret = Secret::new("not-the-shared-secret".into());
    wrong.app = Some(app);
    match Etsy.check(&wrong, &view.account_id, &secrets).await {
        Err(ChannelError::InvalidCredentials(text)) => {
            assert!(text.contains("API key"), "{text}")
        }
        other => panic!("expected the API key to be refused, got {other:?}"),
    }
    // Another member's id for the token: refused as well.
    assert!(matches!(
        Etsy.check(env, "1", &secrets).await,
        Err(ChannelError::InvalidCredentials(_))
    ));
    // A bearer token that Etsy does not know.
    let mut bogus = secrets.clone();
    bogus.credentials = Credentials::OAuth {
        access_token: format!("{}.bogus", view.account_id),
        refresh_token: None,
        access_expires_at: None,
        refresh_expires_at: None,
        previous_refresh_token: None,
    };
    match Etsy.check(env, &view.account_id, &bogus).await {
        Err(ChannelError::InvalidCredentials(text)) => assert!(text.contains("invalid"), "{text}"),
        other => panic!("expected the token to be refused, got {other:?}"),
    }
    // Throttling and server errors map to their kinds.
    w.control(
        "etsy",
        Method::PUT,
        "faults",
        json!({ "throttle_rate": 1.0 }),
    )
    .await;
    assert_eq!(
        Etsy.check(env, &view.account_id, &secrets).await,
        Err(ChannelError::RateLimited)
    );
    assert_eq!(
        Etsy.refresh(env, &view.account_id, &secrets.credentials)
            .await,
        Err(ChannelError::RateLimited)
    );
    w.control("etsy", Method::PUT, "faults", json!({ "error_rate": 1.0 }))
        .await;
    assert!(matches!(
        Etsy.check(env, &view.account_id, &secrets).await,
        Err(ChannelError::Unavailable(_))
    ));
    assert!(matches!(
        Etsy.refresh(env, &view.account_id, &secrets.credentials)
            .await,
        Err(ChannelError::Unavailable(_))
    ));
}

async fn disconnect_removes_the_webhook_and_the_credentials(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    assert_eq!(
        w.sandbox_state("etsy").await["webhooks"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let gone = connections::disconnect(&w.db, &w.channels, &w.scope, view.id, None, Utc::now())
        .await
        .unwrap();
    assert_eq!(gone.status, Status::Disconnected);
    assert!(gone.disconnected_at.is_some());
    let state = w.sandbox_state("etsy").await;
    assert_eq!(state["webhooks"], json!([]), "{state}");
    let row = row(&w, view.id).await;
    assert_eq!(row.secrets, None);
    assert_eq!(row.webhook_ids, "[]");
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
    // Etsy offers no revocation; the webhook was removed.
    assert_eq!(details["revoked_at_marketplace"], false);
    assert_eq!(details["webhooks_removed"], 1);
    assert_eq!(details["problems"], json!([]));
    assert_channel_error(
        connections::test_connection(&w.db, &w.channels, &w.scope, view.id, Utc::now()).await,
        "invalid_credentials",
    );
}

/// A listing with stock in the connected shop, made through Etsy's API with the connection's
/// token (a test order needs something to buy).
async fn listing(w: &World, id: Uuid, sku: &str) {
    let secrets = secrets(w, id).await;
    let token = secrets.credentials.access_token().unwrap().to_owned();
    let api = |method: Method, path: String| {
        w.browser
            .request(
                method,
                format!("{}/v3/application{path}", w.sandbox("etsy")),
            )
            .header("x-api-key", "etsytestkeystring01:etsytestsecret")
            .bearer_auth(&token)
    };
    let shop_id = w.sandbox_state("etsy").await["users"][0]["shop_id"]
        .as_u64()
        .unwrap();
    let created: Value = api(Method::POST, format!("/shops/{shop_id}/listings"))
        .json(&json!({
            "quantity": 1, "title": "Mug", "description": "Stoneware mug", "price": 12.5,
            "who_made": "i_did", "when_made": "made_to_order", "taxonomy_id": 1,
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listing_id = created["listing_id"].as_u64().expect("a listing");
    let response = api(Method::PUT, format!("/listings/{listing_id}/inventory"))
        .json(&json!({ "products": [{ "sku": sku, "property_values": [],
            "offerings": [{ "price": 12.5, "quantity": 10, "is_enabled": true }] }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = api(
        Method::PATCH,
        format!("/shops/{shop_id}/listings/{listing_id}"),
    )
    .form(&[("state", "active")])
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
}

/// Waits (up to 10 s) until the sandbox has delivered `n` attempts to the connection's
/// endpoint, then until `rows` events are stored.
async fn wait_for(
    w: &World,
    id: Uuid,
    deliveries: usize,
    rows: usize,
) -> Vec<channel_event::Model> {
    let url = format!("{}/webhooks/etsy/{id}", w.app_url);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let state = w.sandbox_state("etsy").await;
        let delivered = state["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["url"] == url.as_str() && d["status"] == 200)
            .count();
        let stored = events(w, id).await;
        if delivered >= deliveries && stored.len() >= rows {
            return stored;
        }
        assert!(
            Instant::now() < deadline,
            "waited for {deliveries} deliveries and {rows} rows: {delivered} / {} — {}",
            stored.len(),
            state["deliveries"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn order_paid_is_stored_once(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    listing(&w, view.id, "MUG-1").await;

    w.control("etsy", Method::POST, "orders", json!({ "sku": "MUG-1" }))
        .await;
    let stored = wait_for(&w, view.id, 1, 1).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].topic, "order.paid");
    assert!(stored[0].event_id.starts_with("msg_"));
    assert_eq!(stored[0].organization_id, w.scope.organization_id());
    let payload: Value = serde_json::from_str(&stored[0].payload).unwrap();
    assert!(
        payload["resource_url"]
            .as_str()
            .unwrap()
            .contains("/receipts/")
    );

    // Every notification delivered twice: each order is stored once.
    w.control(
        "etsy",
        Method::PUT,
        "faults",
        json!({ "duplicate_rate": 1.0 }),
    )
    .await;
    w.control("etsy", Method::POST, "orders", json!({ "sku": "MUG-1" }))
        .await;
    let stored = wait_for(&w, view.id, 3, 2).await;
    // Give a late duplicate the time to arrive, then count again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stored_again = events(&w, view.id).await;
    assert_eq!(stored.len(), 2);
    assert_eq!(stored_again.len(), 2);
    let duplicates = w.sandbox_state("etsy").await["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["result"] == "duplicate")
        .count();
    assert!(duplicates >= 1);

    // The bare signature without `v1,` ([U] at Etsy) verifies too.
    w.control(
        "etsy",
        Method::PUT,
        "faults",
        json!({ "duplicate_rate": 0.0 }),
    )
    .await;
    w.control(
        "etsy",
        Method::PUT,
        "options",
        json!({ "signature_v1_prefix": false }),
    )
    .await;
    w.control("etsy", Method::POST, "orders", json!({ "sku": "MUG-1" }))
        .await;
    let stored = wait_for(&w, view.id, 4, 3).await;
    assert_eq!(stored.len(), 3);
}

fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = <Hmac<Sha256>>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

async fn forged_notifications_are_refused(db: Db) {
    let w = World::start(db).await;
    let view = connect(&w).await;
    let secret = secrets(&w, view.id).await.webhook_secret.unwrap();
    let endpoint = format!("{}/webhooks/etsy/{}", w.app_url, view.id);
    let body = serde_json::to_vec(&json!({
        "event_type": "order.paid",
        "resource_url": "https://api.etsy.com/v3/application/shops/1/receipts/2",
        "shop_id": 1,
    }))
    .unwrap();
    let post = |id: &str, timestamp: i64, signature: String, body: Vec<u8>| {
        w.browser
            .post(&endpoint)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
    };
    let now = Utc::now().timestamp();

    // Signed with another secret.
    let other = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let response = post(
        "msg_forged1",
        now,
        sign(other, "msg_forged1", now, &body),
        body.clone(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 401);
    // A body changed after signing.
    let signature = sign(&secret, "msg_forged2", now, &body);
    let response = post(
        "msg_forged2",
        now,
        signature,
        b"{\"event_type\":\"order.paid\"}".to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 401);
    // A replay of a genuine delivery ten minutes later.
    let old = now - 600;
    let response = post(
        "msg_old",
        old,
        sign(&secret, "msg_old", old, &body),
        body.clone(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 401);
    // No signature at all.
    let response = w
        .browser
        .post(&endpoint)
        .header("webhook-id", "msg_none")
        .header("webhook-timestamp", now.to_string())
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(events(&w, view.id).await.is_empty());

    // Signed with the connection's secret: accepted and stored, once even if sent twice.
    for _ in 0..2 {
        let response = post(
            "msg_genuine",
            now,
            sign(&secret, "msg_genuine", now, &body),
            body.clone(),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), 200);
    }
    let stored = events(&w, view.id).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].event_id, "msg_genuine");

    // After the disconnect, notifications for the connection are gone.
    connections::disconnect(&w.db, &w.channels, &w.scope, view.id, None, Utc::now())
        .await
        .unwrap();
    let response = post(
        "msg_late",
        now,
        sign(&secret, "msg_late", now, &body),
        body.clone(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 410);
}

async fn another_organization_sees_nothing(db: Db) {
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
        w.sandbox_state("etsy").await["webhooks"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// Two workers refresh one connection from the same snapshot: the second's refresh token was
/// rotated away by the first, and that refusal must not send a working connection to "needs
/// reconnect".
async fn a_concurrent_refresh_does_not_break_the_connection(db: Db) {
    let w = World::start(db).await;
    let connection = connect(&w).await;
    let snapshot = row(&w, connection.id).await;
    let first = connections::refresh_one(&w.db, &w.channels, snapshot.clone(), Utc::now())
        .await
        .unwrap();
    assert_eq!(first.version, snapshot.version + 1);
    let second = connections::refresh_one(&w.db, &w.channels, snapshot, Utc::now())
        .await
        .unwrap();
    assert_eq!(second.status, "active", "{:?}", second.last_error);
    assert_eq!(second.last_error, None);
    let view =
        connections::test_connection(&w.db, &w.channels, &w.scope, connection.id, Utc::now())
            .await
            .unwrap();
    assert_eq!(view.status, Status::Active);
}

shopmarkets_core::db_tests!(
    full_connect_flow,
    callback_in_another_session_or_unknown_state,
    reused_state_stores_nothing_new,
    wrong_pkce_verifier_is_refused,
    reused_code_is_refused,
    expired_code_is_refused,
    declined_consent_is_denied,
    input_is_refused_and_keys_are_not_a_way_in,
    refresh_rotates_the_refresh_token,
    expired_access_is_renewed_when_tested,
    refused_refresh_needs_reconnect,
    revoked_tokens_fail_the_test_call,
    api_key_must_carry_the_shared_secret,
    disconnect_removes_the_webhook_and_the_credentials,
    order_paid_is_stored_once,
    forged_notifications_are_refused,
    another_organization_sees_nothing,
    a_concurrent_refresh_does_not_break_the_connection,
);
