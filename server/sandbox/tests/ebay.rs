//! Contract tests for the eBay sandbox: driven with plain HTTP as eBay's documentation describes
//! the calls; signatures and challenge responses computed independently here.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{Harness, location, query_of};
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::pkcs8::DecodePublicKey;
use serde_json::{Value, json};
use sha1::Digest as _;
use tokio::net::TcpListener;

const CLIENT: &str = "ShopMark-Test-SBX-1234";
const SECRET: &str = "SBX-ebay-client-secret";
const RU_NAME: &str = "ShopMarkets-Test-RuName";
const SCOPES: &str = "https://api.ebay.com/oauth/api_scope/sell.inventory https://api.ebay.com/oauth/api_scope/sell.fulfillment https://api.ebay.com/oauth/api_scope/commerce.notification.subscription";
const VERIFICATION_TOKEN: &str = "shopmarkets_verification_token_0123456789";

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// The consent: the page, then "Agree"; returns the redirect's query.
async fn consent(h: &Harness) -> std::collections::BTreeMap<String, String> {
    let url = format!("{}/oauth2/authorize", h.url("ebay"));
    let page = h
        .http
        .get(&url)
        .query(&[
            ("client_id", CLIENT),
            ("redirect_uri", RU_NAME),
            ("response_type", "code"),
            ("scope", SCOPES),
            ("state", "xyz-123"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<form method=\"post\""), "{html}");
    assert!(html.contains("sell.inventory"), "the scopes are listed");
    let agreed = h
        .http
        .post(&url)
        .form(&[
            ("client_id", CLIENT),
            ("redirect_uri", RU_NAME),
            ("response_type", "code"),
            ("scope", SCOPES),
            ("state", "xyz-123"),
            ("username", "sandbox_seller"),
            ("decision", "agree"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(agreed.status(), 302);
    let target = location(&agreed);
    assert!(
        target.starts_with(&format!("{}/callback/ebay?", h.receiver_url)),
        "{target}"
    );
    query_of(&target)
}

async fn token_call(h: &Harness, auth: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let response = h
        .http
        .post(format!("{}/identity/v1/oauth2/token", h.url("ebay")))
        .header("authorization", auth)
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn user_token(h: &Harness) -> Value {
    let query = consent(h).await;
    let (status, body) = token_call(
        h,
        &basic(CLIENT, SECRET),
        &[
            ("grant_type", "authorization_code"),
            ("code", &query["code"]),
            ("redirect_uri", RU_NAME),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn app_token(h: &Harness) -> String {
    let (status, body) = token_call(
        h,
        &basic(CLIENT, SECRET),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "https://api.ebay.com/oauth/api_scope"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Application Access Token");
    body["access_token"].as_str().unwrap().to_owned()
}

struct Api<'a> {
    h: &'a Harness,
    token: String,
}

impl Api<'_> {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, HeaderMap, Value) {
        let mut request = self
            .h
            .http
            .request(method, format!("{}{path}", self.h.url("ebay")))
            .bearer_auth(&self.token)
            .header("content-language", "en-US");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        (status, headers, value)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let (s, _, v) = self.call(reqwest::Method::GET, path, None).await;
        (s, v)
    }
}

async fn api(h: &Harness) -> Api<'_> {
    let token = user_token(h).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    Api { h, token }
}

/// An item with stock, an offer, published.
async fn listed(api: &Api<'_>, sku: &str, quantity: u64) -> String {
    let (s, _, v) = api
        .call(
            reqwest::Method::PUT,
            &format!("/sell/inventory/v1/inventory_item/{sku}"),
            Some(json!({
                "product": { "title": format!("Teekanne {sku}"), "description": "Porzellan, 1,2 l" },
                "condition": "NEW",
                "availability": { "shipToLocationAvailability": { "quantity": quantity } },
            })),
        )
        .await;
    assert_eq!(s, 204, "{v}");
    let (s, _, offer) = api
        .call(
            reqwest::Method::POST,
            "/sell/inventory/v1/offer",
            Some(json!({
                "sku": sku, "marketplaceId": "EBAY_DE", "format": "FIXED_PRICE",
                "availableQuantity": quantity, "categoryId": "20625",
                "pricingSummary": { "price": { "value": "24.90", "currency": "EUR" } },
                "listingPolicies": { "fulfillmentPolicyId": "f1", "paymentPolicyId": "p1", "returnPolicyId": "r1" },
                "merchantLocationKey": "lager-berlin",
            })),
        )
        .await;
    assert_eq!(s, 201, "{offer}");
    let offer_id = offer["offerId"].as_str().unwrap().to_owned();
    let (s, _, published) = api
        .call(
            reqwest::Method::POST,
            &format!("/sell/inventory/v1/offer/{offer_id}/publish"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{published}");
    assert!(
        published["listingId"]
            .as_str()
            .is_some_and(|l| !l.is_empty())
    );
    offer_id
}

fn assert_ebay_error(body: &Value, id: u64) {
    let first = &body["errors"][0];
    assert_eq!(first["errorId"], id, "{body}");
    assert!(
        first["domain"].is_string()
            && first["category"].is_string()
            && first["message"].is_string(),
        "{body}"
    );
}

#[tokio::test]
async fn consent_with_ru_name_token_exchange_and_refresh_not_rotated() {
    let h = Harness::start().await;
    let query = consent(&h).await;
    assert_eq!(query["state"], "xyz-123");
    assert_eq!(query["expires_in"], "299");
    assert!(query["code"].starts_with("v^1.1#"), "{query:?}");
    let (status, body) = token_call(
        &h,
        &basic(CLIENT, SECRET),
        &[
            ("grant_type", "authorization_code"),
            ("code", &query["code"]),
            ("redirect_uri", RU_NAME),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in"], 7200);
    assert_eq!(body["refresh_token_expires_in"], 47_304_000);
    assert_eq!(body["token_type"], "User Access Token");
    let refresh = body["refresh_token"].as_str().unwrap();
    let (status, refreshed) = token_call(
        &h,
        &basic(CLIENT, SECRET),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            (
                "scope",
                "https://api.ebay.com/oauth/api_scope/sell.inventory",
            ),
        ],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(refreshed["expires_in"], 7200);
    assert!(
        refreshed.get("refresh_token").is_none(),
        "the refresh token is not rotated: {refreshed}"
    );
    assert_ne!(refreshed["access_token"], body["access_token"]);
    // The same refresh token works again.
    let (status, _) = token_call(
        &h,
        &basic(CLIENT, SECRET),
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(status, 200);
    // A wider scope than granted is refused.
    let (status, wider) = token_call(
        &h,
        &basic(CLIENT, SECRET),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("scope", "https://api.ebay.com/oauth/api_scope/sell.account"),
        ],
    )
    .await;
    assert_eq!(
        (status, wider["error"].as_str()),
        (400, Some("invalid_scope"))
    );

    // German page when the browser asks for it; "No thanks" goes back with access_denied.
    let page = h
        .http
        .get(format!("{}/oauth2/authorize", h.url("ebay")))
        .header("accept-language", "de-DE")
        .query(&[
            ("client_id", CLIENT),
            ("redirect_uri", RU_NAME),
            ("response_type", "code"),
            ("scope", SCOPES),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Zustimmen") && page.contains("Nein danke"),
        "{page}"
    );
    let declined = h
        .http
        .post(format!("{}/oauth2/authorize", h.url("ebay")))
        .form(&[
            ("client_id", CLIENT),
            ("redirect_uri", RU_NAME),
            ("response_type", "code"),
            ("scope", SCOPES),
            ("state", "s1"),
            ("decision", "decline"),
        ])
        .send()
        .await
        .unwrap();
    let query = query_of(&location(&declined));
    assert_eq!(
        query.get("error").map(String::as_str),
        Some("access_denied")
    );
    assert!(!query.contains_key("code"));
}

#[tokio::test]
async fn every_authorization_failure_answers_as_ebay_does() {
    let h = Harness::start().await;
    let authorize = |params: Vec<(&'static str, &'static str)>| {
        let h = &h;
        async move {
            let r = h
                .http
                .get(format!("{}/oauth2/authorize", h.url("ebay")))
                .query(&params)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (s, b) = authorize(vec![
        ("client_id", "unknown"),
        ("redirect_uri", RU_NAME),
        ("response_type", "code"),
        ("scope", SCOPES),
    ])
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_client")),
        "{b}"
    );
    let (s, b) = authorize(vec![
        ("client_id", CLIENT),
        ("redirect_uri", "https://evil.example/cb"),
        ("response_type", "code"),
        ("scope", SCOPES),
    ])
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_request")),
        "{b}"
    );
    assert!(b["error_description"].is_string());
    let (s, b) = authorize(vec![
        ("client_id", CLIENT),
        ("redirect_uri", RU_NAME),
        ("response_type", "code"),
        (
            "scope",
            "https://api.ebay.com/oauth/api_scope/sell.everything",
        ),
    ])
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_scope")),
        "{b}"
    );

    // Wrong client secret.
    let query = consent(&h).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", query["code"].as_str()),
        ("redirect_uri", RU_NAME),
    ];
    let (s, b) = token_call(&h, &basic(CLIENT, "wrong"), &form).await;
    assert_eq!(
        (s, b),
        (
            401,
            json!({"error": "invalid_client", "error_description": "client authentication failed"})
        )
    );
    // redirect_uri that is not the RuName.
    let (s, b) = token_call(
        &h,
        &basic(CLIENT, SECRET),
        &[
            ("grant_type", "authorization_code"),
            ("code", query["code"].as_str()),
            ("redirect_uri", "https://evil.example/cb"),
        ],
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    // Reused code (the first redemption above already used it).
    let (s, b) = token_call(&h, &basic(CLIENT, SECRET), &form).await;
    assert_eq!(
        (s, b),
        (
            400,
            json!({"error": "invalid_grant", "error_description": "the provided authorization grant code is invalid or was issued to another client"})
        )
    );
    // Expired code: 299 s.
    let query = consent(&h).await;
    h.advance_clock("ebay", 300).await;
    let (s, b) = token_call(
        &h,
        &basic(CLIENT, SECRET),
        &[
            ("grant_type", "authorization_code"),
            ("code", query["code"].as_str()),
            ("redirect_uri", RU_NAME),
        ],
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    // Unknown client at the token endpoint, unsupported grant, missing parameter.
    let (s, b) = token_call(
        &h,
        &basic("nobody", SECRET),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "https://api.ebay.com/oauth/api_scope"),
        ],
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (401, Some("invalid_client")));
    let (s, b) = token_call(&h, &basic(CLIENT, SECRET), &[("grant_type", "password")]).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (s, b) = token_call(
        &h,
        &basic(CLIENT, SECRET),
        &[("grant_type", "authorization_code")],
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_request")));
    // API calls: no token, expired token.
    let r = h
        .http
        .get(format!(
            "{}/sell/inventory/v1/inventory_item",
            h.url("ebay")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_ebay_error(&r.json().await.unwrap(), 1002);
    let api = api(&h).await;
    assert_eq!(api.get("/sell/inventory/v1/inventory_item").await.0, 200);
    h.advance_clock("ebay", 7200).await;
    let (s, b) = api.get("/sell/inventory/v1/inventory_item").await;
    assert_eq!(s, 401);
    assert_eq!(
        b,
        json!({"errors": [{"errorId": 1001, "domain": "OAuth", "category": "REQUEST", "message": "Invalid access token",
            "longMessage": "Invalid access token. Check the value of the Authorization HTTP request header."}]})
    );
}

#[tokio::test]
async fn inventory_items_offers_publish_and_bulk_updates() {
    let h = Harness::start().await;
    let api = api(&h).await;
    // Content-Language is required.
    let r = h
        .http
        .put(format!(
            "{}/sell/inventory/v1/inventory_item/TEA-1",
            h.url("ebay")
        ))
        .bearer_auth(&api.token)
        .json(&json!({ "product": { "title": "x" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_ebay_error(&r.json().await.unwrap(), 25709);

    let offer_id = listed(&api, "TEA-1", 7).await;
    let (s, item) = api.get("/sell/inventory/v1/inventory_item/TEA-1").await;
    assert_eq!(s, 200);
    assert_eq!(item["sku"], "TEA-1");
    assert_eq!(item["locale"], "en_US");
    assert_eq!(
        item["availability"]["shipToLocationAvailability"]["quantity"],
        7
    );
    assert_eq!(item["product"]["title"], "Teekanne TEA-1");
    let (s, offers) = api.get("/sell/inventory/v1/offer?sku=TEA-1").await;
    assert_eq!(s, 200);
    assert_eq!(offers["offers"][0]["offerId"], offer_id.as_str());
    assert_eq!(offers["offers"][0]["status"], "PUBLISHED");
    assert_eq!(
        offers["offers"][0]["pricingSummary"]["price"]["value"],
        "24.90"
    );

    // Publishing without policies lists what is missing.
    api.call(reqwest::Method::PUT, "/sell/inventory/v1/inventory_item/BARE-1", Some(json!({"product": {"title": "Bare"}, "availability": {"shipToLocationAvailability": {"quantity": 1}}}))).await;
    let (_, _, bare) = api
        .call(
            reqwest::Method::POST,
            "/sell/inventory/v1/offer",
            Some(json!({"sku": "BARE-1", "marketplaceId": "EBAY_DE", "format": "FIXED_PRICE"})),
        )
        .await;
    let (s, _, errs) = api
        .call(
            reqwest::Method::POST,
            &format!(
                "/sell/inventory/v1/offer/{}/publish",
                bare["offerId"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(s, 400);
    assert!(errs["errors"].as_array().unwrap().len() >= 3, "{errs}");
    assert_eq!(errs["errors"][0]["domain"], "API_INVENTORY");

    // Bulk limit: 26 requests are refused, 25 accepted.
    let many = |n: usize| json!({ "requests": (0..n).map(|i| json!({"sku": format!("B-{i}"), "product": {"title": "b"}, "availability": {"shipToLocationAvailability": {"quantity": 1}}})).collect::<Vec<_>>() });
    let (s, _, b) = api
        .call(
            reqwest::Method::POST,
            "/sell/inventory/v1/bulk_create_or_replace_inventory_item",
            Some(many(26)),
        )
        .await;
    assert_eq!(s, 400);
    assert_ebay_error(&b, 25727);
    let (s, _, b) = api
        .call(
            reqwest::Method::POST,
            "/sell/inventory/v1/bulk_create_or_replace_inventory_item",
            Some(many(25)),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["responses"].as_array().unwrap().len(), 25);

    // Price and quantity in one call.
    let (s, _, b) = api
        .call(
            reqwest::Method::POST,
            "/sell/inventory/v1/bulk_update_price_quantity",
            Some(json!({"requests": [{"sku": "TEA-1", "shipToLocationAvailability": {"quantity": 3},
                "offers": [{"offerId": offer_id, "availableQuantity": 3, "price": {"value": "19.99", "currency": "EUR"}}]}]})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["responses"][0]["statusCode"], 200);
    assert_eq!(b["responses"][0]["offerId"], offer_id.as_str());
    let (_, item) = api.get("/sell/inventory/v1/inventory_item/TEA-1").await;
    assert_eq!(
        item["availability"]["shipToLocationAvailability"]["quantity"],
        3
    );
    let (_, offer) = api
        .get(&format!("/sell/inventory/v1/offer/{offer_id}"))
        .await;
    assert_eq!(offer["pricingSummary"]["price"]["value"], "19.99");
    // Unknown SKU: 404 in eBay's shape.
    let (s, b) = api.get("/sell/inventory/v1/inventory_item/NOPE").await;
    assert_eq!(s, 404);
    assert_ebay_error(&b, 25710);
    let (s, b) = api
        .get("/sell/inventory/v1/inventory_item?limit=10&offset=0")
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["total"], 27);
    assert!(b["next"].as_str().unwrap().contains("offset=10"));
}

#[tokio::test]
async fn orders_page_with_the_filter_and_ship_with_tracking() {
    let h = Harness::start().await;
    let api = api(&h).await;
    listed(&api, "MUG-1", 20).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let order = h.place_order("ebay", Some("MUG-1"), 1).await;
        ids.push(order["orderId"].as_str().unwrap().to_owned());
    }
    let (_, item) = api.get("/sell/inventory/v1/inventory_item/MUG-1").await;
    assert_eq!(
        item["availability"]["shipToLocationAvailability"]["quantity"],
        15
    );

    let mut seen = Vec::new();
    let mut next = Some(format!(
        "{}/sell/fulfillment/v1/order?filter=lastmodifieddate:%5B2025-01-01T00:00:00.000Z..%5D&limit=2&offset=0",
        h.url("ebay")
    ));
    let mut pages = 0;
    while let Some(url) = next {
        let r = h
            .http
            .get(&url)
            .bearer_auth(&api.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let page: Value = r.json().await.unwrap();
        assert_eq!(page["total"], 5);
        assert_eq!(page["limit"], 2);
        for order in page["orders"].as_array().unwrap() {
            seen.push(order["orderId"].as_str().unwrap().to_owned());
            assert_eq!(order["orderFulfillmentStatus"], "NOT_STARTED");
            let ship_to = &order["fulfillmentStartInstructions"][0]["shippingStep"]["shipTo"];
            assert!(ship_to["fullName"].as_str().unwrap().contains(' '));
            assert!(ship_to["contactAddress"]["postalCode"].is_string());
            assert_eq!(order["lineItems"][0]["sku"], "MUG-1");
        }
        next = page["next"].as_str().map(str::to_owned);
        pages += 1;
    }
    assert_eq!(pages, 3);
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids);
    // A creationdate window in the future finds nothing (and wins over lastmodifieddate).
    let (s, b) = api.get("/sell/fulfillment/v1/order?filter=creationdate:%5B2099-01-01T00:00:00.000Z..%5D,lastmodifieddate:%5B2025-01-01T00:00:00.000Z..%5D").await;
    assert_eq!((s, b["total"].as_u64()), (200, Some(0)));
    let (s, b) = api
        .get("/sell/fulfillment/v1/order?filter=colour:%7Bred%7D")
        .await;
    assert_eq!(s, 400);
    assert_eq!(b["errors"][0]["domain"], "API_FULFILLMENT");

    let (_, order) = api
        .get(&format!("/sell/fulfillment/v1/order/{}", ids[0]))
        .await;
    let line = order["lineItems"][0]["lineItemId"].as_str().unwrap();
    let (s, headers, _) = api
        .call(
            reqwest::Method::POST,
            &format!("/sell/fulfillment/v1/order/{}/shipping_fulfillment", ids[0]),
            Some(json!({"lineItems": [{"lineItemId": line, "quantity": 1}], "shippedDate": "2026-03-01T10:00:00.000Z",
                "shippingCarrierCode": "DHL", "trackingNumber": "00340434161234567890"})),
        )
        .await;
    assert_eq!(s, 201);
    let loc = headers["location"].to_str().unwrap();
    assert!(
        loc.ends_with("/shipping_fulfillment/00340434161234567890"),
        "{loc}"
    );
    let (_, order) = api
        .get(&format!("/sell/fulfillment/v1/order/{}", ids[0]))
        .await;
    assert_eq!(order["orderFulfillmentStatus"], "FULFILLED");
    let (_, list) = api
        .get(&format!(
            "/sell/fulfillment/v1/order/{}/shipping_fulfillment",
            ids[0]
        ))
        .await;
    assert_eq!(
        list["fulfillments"][0]["shipmentTrackingNumber"],
        "00340434161234567890"
    );
    let (s, b) = api.get("/sell/fulfillment/v1/order/99-99999-99999").await;
    assert_eq!(s, 404);
    assert_ebay_error(&b, 32100);
}

/// The app's notification endpoint, written from eBay's documentation: answers the challenge
/// and records pushes, failing the first `fail_first` of them with 500.
#[derive(Clone, Default)]
struct Endpoint {
    url: Arc<Mutex<String>>,
    pushes: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    fail_first: Arc<Mutex<usize>>,
    wrong_challenge: Arc<Mutex<bool>>,
}

async fn endpoint_get(
    State(e): State<Endpoint>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> (StatusCode, String) {
    let code = q.get("challenge_code").cloned().unwrap_or_default();
    let url = e.url.lock().unwrap().clone();
    let mut hasher = sha2::Sha256::new();
    sha2::Digest::update(&mut hasher, code.as_bytes());
    sha2::Digest::update(&mut hasher, VERIFICATION_TOKEN.as_bytes());
    sha2::Digest::update(&mut hasher, url.as_bytes());
    let mut hex: String = sha2::Digest::finalize(hasher)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if *e.wrong_challenge.lock().unwrap() {
        hex = "0".repeat(64);
    }
    (
        StatusCode::OK,
        json!({ "challengeResponse": hex }).to_string(),
    )
}

async fn endpoint_post(State(e): State<Endpoint>, headers: HeaderMap, body: Bytes) -> StatusCode {
    e.pushes.lock().unwrap().push((headers, body));
    let mut fail = e.fail_first.lock().unwrap();
    if *fail > 0 {
        *fail -= 1;
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

async fn start_endpoint() -> Endpoint {
    let e = Endpoint::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    *e.url.lock().unwrap() = format!(
        "http://{}/ebay/notifications",
        listener.local_addr().unwrap()
    );
    let router = Router::new()
        .route("/ebay/notifications", get(endpoint_get).post(endpoint_post))
        .with_state(e.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    e
}

impl Endpoint {
    fn url(&self) -> String {
        self.url.lock().unwrap().clone()
    }

    fn pushes(&self) -> Vec<(HeaderMap, Bytes)> {
        self.pushes.lock().unwrap().clone()
    }

    async fn wait(&self, n: usize) -> Vec<(HeaderMap, Bytes)> {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15) {
            if self.pushes().len() >= n {
                return self.pushes();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} pushes, got {}", self.pushes().len());
    }
}

/// Config, destination (challenge), ORDER_CONFIRMATION subscription.
async fn subscribe(api: &Api<'_>, endpoint: &Endpoint) {
    let (s, _, _) = api
        .call(
            reqwest::Method::PUT,
            "/commerce/notification/v1/config",
            Some(json!({"alertEmail": "ops@example.com"})),
        )
        .await;
    assert_eq!(s, 204);
    let (s, headers, b) = api.call(reqwest::Method::POST, "/commerce/notification/v1/destination", Some(json!({"name": "d", "status": "ENABLED", "deliveryConfig": {"endpoint": endpoint.url(), "verificationToken": VERIFICATION_TOKEN}}))).await;
    assert_eq!(s, 201, "{b}");
    let destination_id = headers["location"]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let (s, headers, b) = api
        .call(
            reqwest::Method::POST,
            "/commerce/notification/v1/subscription",
            Some(json!({"topicId": "ORDER_CONFIRMATION", "destinationId": destination_id, "status": "ENABLED",
                "payload": {"format": "JSON", "schemaVersion": "1.0", "deliveryProtocol": "HTTPS"}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert!(
        headers["location"]
            .to_str()
            .unwrap()
            .contains("/commerce/notification/v1/subscription/")
    );
}

/// Verifies `X-EBAY-SIGNATURE` as eBay's SDK does: public key by kid (application token),
/// ECDSA P-256 over SHA-1 of the compact JSON body.
async fn verify(h: &Harness, headers: &HeaderMap, body: &[u8]) -> bool {
    let envelope: Value = serde_json::from_slice(
        &STANDARD
            .decode(headers["x-ebay-signature"].to_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(envelope["alg"], "ECDSA");
    assert_eq!(envelope["digest"], "SHA1");
    let app = app_token(h).await;
    let key: Value = h
        .http
        .get(format!(
            "{}/commerce/notification/v1/public_key/{}",
            h.url("ebay"),
            envelope["kid"].as_str().unwrap()
        ))
        .bearer_auth(app)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(key["algorithm"], "ECDSA");
    assert_eq!(key["digest"], "SHA1");
    let public = p256::PublicKey::from_public_key_pem(key["key"].as_str().unwrap()).unwrap();
    let verifying = p256::ecdsa::VerifyingKey::from(&public);
    let signature = p256::ecdsa::Signature::from_der(
        &STANDARD
            .decode(envelope["signature"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    // The SDK re-serializes the parsed body; compact JSON survives that unchanged.
    let parsed: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(
        serde_json::to_vec(&parsed).unwrap(),
        body,
        "the body is compact JSON"
    );
    let digest = sha1::Sha1::digest(body);
    verifying.verify_prehash(&digest, &signature).is_ok()
}

#[tokio::test]
async fn destination_challenge_signed_order_confirmation_and_retries() {
    let h = Harness::start().await;
    let api = api(&h).await;
    let endpoint = start_endpoint().await;
    // A wrong challenge response refuses the destination.
    *endpoint.wrong_challenge.lock().unwrap() = true;
    let (s, _, b) = api.call(reqwest::Method::POST, "/commerce/notification/v1/destination", Some(json!({"name": "d", "status": "ENABLED", "deliveryConfig": {"endpoint": endpoint.url(), "verificationToken": VERIFICATION_TOKEN}}))).await;
    assert_eq!(s, 400, "a destination needs the config first");
    assert_ebay_error(&b, 195003);
    api.call(
        reqwest::Method::PUT,
        "/commerce/notification/v1/config",
        Some(json!({"alertEmail": "ops@example.com"})),
    )
    .await;
    let (s, _, b) = api.call(reqwest::Method::POST, "/commerce/notification/v1/destination", Some(json!({"name": "d", "status": "ENABLED", "deliveryConfig": {"endpoint": endpoint.url(), "verificationToken": VERIFICATION_TOKEN}}))).await;
    assert_eq!(s, 400);
    assert_ebay_error(&b, 195020);
    *endpoint.wrong_challenge.lock().unwrap() = false;
    subscribe(&api, &endpoint).await;

    listed(&api, "CUP-1", 5).await;
    *endpoint.fail_first.lock().unwrap() = 2;
    let order = h.place_order("ebay", Some("CUP-1"), 2).await;
    let pushes = endpoint.wait(3).await;
    let bodies: Vec<Value> = pushes
        .iter()
        .map(|(_, b)| serde_json::from_slice(b).unwrap())
        .collect();
    for (i, body) in bodies.iter().enumerate() {
        assert_eq!(body["metadata"]["topic"], "ORDER_CONFIRMATION");
        assert_eq!(body["metadata"]["deprecated"], false);
        assert_eq!(body["notification"]["data"]["orderId"], order["orderId"]);
        assert_eq!(
            body["notification"]["publishAttemptCount"],
            i as u64 + 1,
            "attempts count up"
        );
        assert_eq!(
            body["notification"]["notificationId"],
            bodies[0]["notification"]["notificationId"]
        );
    }
    for (headers, body) in &pushes {
        assert!(verify(&h, headers, body).await, "signature verifies");
    }
    // A changed body does not verify.
    let (headers, body) = &pushes[0];
    let tampered = String::from_utf8(body.to_vec())
        .unwrap()
        .replace("ORDER_CONFIRMATION", "ORDER_CONFIRMATIOM");
    assert!(!verify(&h, headers, tampered.as_bytes()).await);
    // A user token cannot read the public key.
    let (s, _) = api
        .get(&format!(
            "/commerce/notification/v1/public_key/{}",
            h.state("ebay").await["public_key_kid"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s, 403);
}

#[tokio::test]
async fn daily_quota_is_hit_and_resets_a_day_later() {
    let h = Harness::start().await;
    let api = api(&h).await;
    h.set_limits("ebay", json!({"enabled": true, "inventory": 3}))
        .await;
    for _ in 0..3 {
        assert_eq!(api.get("/sell/inventory/v1/inventory_item").await.0, 200);
    }
    let (s, b) = api.get("/sell/inventory/v1/inventory_item").await;
    assert_eq!(s, 429);
    assert_eq!(
        b,
        json!({"errors": [{"errorId": 2001, "domain": "ACCESS", "category": "REQUEST",
            "message": "Too many requests. The request limit has been reached for the resource."}]})
    );
    // Other APIs have their own quota.
    assert_eq!(api.get("/sell/fulfillment/v1/order").await.0, 200);
    let app = Api {
        h: &h,
        token: app_token(&h).await,
    };
    let (s, rates) = app
        .get("/developer/analytics/v1_beta/rate_limit/?api_name=Inventory")
        .await;
    assert_eq!(s, 200);
    let rate = &rates["rateLimits"][0]["resources"][0]["rates"][0];
    assert_eq!(
        (
            rate["limit"].as_u64(),
            rate["remaining"].as_u64(),
            rate["timeWindow"].as_u64()
        ),
        (Some(3), Some(0), Some(86_400))
    );
    let bad = h
        .http
        .put(format!("{}/_sandbox/limits", h.url("ebay")))
        .json(&json!({"inventory": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(h.state("ebay").await["limits"]["inventory"]["limit"], 3);
    // A day later (tokens expire too, so a fresh one).
    h.advance_clock("ebay", 86_400).await;
    let api = self::api(&h).await;
    assert_eq!(api.get("/sell/inventory/v1/inventory_item").await.0, 200);
}

#[tokio::test]
async fn injected_faults_come_in_ebays_shapes() {
    let h = Harness::start().await;
    let api = api(&h).await;
    let endpoint = start_endpoint().await;
    subscribe(&api, &endpoint).await;
    listed(&api, "FAULT-1", 50).await;

    h.set_faults("ebay", json!({"error_rate": 1.0})).await;
    let (s, b) = api.get("/sell/inventory/v1/inventory_item").await;
    assert_eq!(s, 500);
    assert_eq!(b["errors"][0]["category"], "APPLICATION");
    assert_eq!(b["errors"][0]["domain"], "API_INVENTORY");
    h.set_faults("ebay", json!({"throttle_rate": 1.0})).await;
    let (s, b) = api.get("/sell/fulfillment/v1/order").await;
    assert_eq!(s, 429);
    assert_ebay_error(&b, 2001);
    h.set_faults("ebay", json!({"latency_ms": 400})).await;
    let started = Instant::now();
    assert_eq!(api.get("/sell/inventory/v1/inventory_item").await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(400));

    h.set_faults("ebay", json!({"drop_rate": 1.0})).await;
    h.place_order("ebay", Some("FAULT-1"), 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(endpoint.pushes().is_empty());
    let state = h.state("ebay").await;
    assert!(
        state["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["result"] == "dropped"),
        "{}",
        state["deliveries"]
    );

    h.set_faults("ebay", json!({"duplicate_rate": 1.0})).await;
    h.place_order("ebay", Some("FAULT-1"), 1).await;
    let pushes = endpoint.wait(2).await;
    let ids: Vec<Value> = pushes
        .iter()
        .map(|(_, b)| {
            serde_json::from_slice::<Value>(b).unwrap()["notification"]["notificationId"].clone()
        })
        .collect();
    assert_eq!(ids[0], ids[1]);

    h.set_faults("ebay", json!({"reorder": true})).await;
    endpoint.pushes.lock().unwrap().clear();
    let first = h.place_order("ebay", Some("FAULT-1"), 1).await;
    let second = h.place_order("ebay", Some("FAULT-1"), 1).await;
    let pushes = endpoint.wait(2).await;
    let orders: Vec<Value> = pushes
        .iter()
        .map(|(_, b)| {
            serde_json::from_slice::<Value>(b).unwrap()["notification"]["data"]["orderId"].clone()
        })
        .collect();
    assert_eq!(
        orders,
        vec![second["orderId"].clone(), first["orderId"].clone()],
        "newest first"
    );

    h.set_faults("ebay", json!({})).await;
    h.revoke("ebay").await;
    let (s, b) = api.get("/sell/inventory/v1/inventory_item").await;
    assert_eq!(s, 401);
    assert_ebay_error(&b, 1001);
}

#[tokio::test]
async fn snapshot_and_restore_round_trip() {
    let h = Harness::start().await;
    let api = api(&h).await;
    listed(&api, "SNAP-1", 4).await;
    h.place_order("ebay", None, 1).await;
    let snapshot = h.sandboxes.snapshot();
    let again = Harness::start().await;
    again.sandboxes.restore(&snapshot).unwrap();
    assert_eq!(again.sandboxes.snapshot()["ebay"], snapshot["ebay"]);
    // The restored sandbox knows the token, the listing, the order and the signing key.
    let restored = Api {
        h: &again,
        token: api.token.clone(),
    };
    let (s, item) = restored
        .get("/sell/inventory/v1/inventory_item/SNAP-1")
        .await;
    assert_eq!(
        (
            s,
            item["availability"]["shipToLocationAvailability"]["quantity"].as_u64()
        ),
        (200, Some(3))
    );
    assert_eq!(
        again.state("ebay").await["public_key_kid"],
        h.state("ebay").await["public_key_kid"]
    );
    let page = again
        .http
        .get(format!("{}/_sandbox", again.url("ebay")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("SNAP-1") && page.contains("Teekanne SNAP-1"),
        "{page}"
    );
}

#[tokio::test]
async fn identity_user_answers_the_token_owner() {
    let h = Harness::start().await;
    let scopes =
        format!("{SCOPES} https://api.ebay.com/oauth/api_scope/commerce.identity.readonly");
    let url = format!("{}/oauth2/authorize", h.url("ebay"));
    let agreed = h
        .http
        .post(&url)
        .form(&[
            ("client_id", CLIENT),
            ("redirect_uri", RU_NAME),
            ("response_type", "code"),
            ("scope", scopes.as_str()),
            ("state", "id-1"),
            ("username", "sandbox_seller"),
            ("decision", "agree"),
        ])
        .send()
        .await
        .unwrap();
    let query = query_of(&location(&agreed));
    let (status, body) = token_call(
        &h,
        &basic(CLIENT, SECRET),
        &[
            ("grant_type", "authorization_code"),
            ("code", &query["code"]),
            ("redirect_uri", RU_NAME),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let with_identity = Api {
        h: &h,
        token: body["access_token"].as_str().unwrap().to_owned(),
    };
    let (s, user) = with_identity.get("/commerce/identity/v1/user/").await;
    assert_eq!(s, 200, "{user}");
    assert_eq!(user["userId"], "sandbox-user-1");
    assert_eq!(user["username"], "sandbox_seller");
    // Without the identity scope, or with an application token: refused.
    let without = api(&h).await;
    assert_eq!(without.get("/commerce/identity/v1/user/").await.0, 403);
    let app = Api {
        h: &h,
        token: app_token(&h).await,
    };
    assert_eq!(app.get("/commerce/identity/v1/user/").await.0, 403);
}
