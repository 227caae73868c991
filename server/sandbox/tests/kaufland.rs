//! Contract tests for the Kaufland sandbox (Seller API v2), driven as a plain HTTP client would:
//! every request signed with `Shop-Signature`, computed here independently from the documented
//! algorithm (hex HMAC-SHA256 over `METHOD\nURI\nBODY\nTIMESTAMP`).

mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::Harness;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

const CLIENT_KEY: &str = "0123456789abcdef0123456789abcdef";
const SECRET: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

fn mac(secret: &str, message: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Kaufland's signature as the official PHP example computes it.
fn sign(secret: &str, method: &str, uri: &str, body: &str, ts: i64) -> String {
    to_hex(&mac(secret, &format!("{method}\n{uri}\n{body}\n{ts}")))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

struct Call<'a> {
    method: &'a str,
    path: &'a str,
    body: Option<Value>,
    ts: i64,
    key: &'a str,
    signature: Option<String>,
}

impl<'a> Call<'a> {
    fn new(method: &'a str, path: &'a str) -> Self {
        Self {
            method,
            path,
            body: None,
            ts: now(),
            key: CLIENT_KEY,
            signature: None,
        }
    }

    fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    async fn send(self, h: &Harness) -> (u16, Value) {
        let url = format!("{}{}", h.url("kaufland"), self.path);
        let body = self.body.map(|b| b.to_string()).unwrap_or_default();
        let signature = self
            .signature
            .unwrap_or_else(|| sign(SECRET, self.method, &url, &body, self.ts));
        let mut request = h
            .http
            .request(self.method.parse().unwrap(), &url)
            .header("Accept", "application/json")
            .header("User-Agent", "ShopMarkets-Tests")
            .header("Shop-Client-Key", self.key)
            .header("Shop-Timestamp", self.ts.to_string())
            .header("Shop-Signature", signature);
        if !body.is_empty() {
            request = request
                .header("Content-Type", "application/json")
                .body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

async fn call(h: &Harness, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut c = Call::new(method, path);
    c.body = body;
    c.send(h).await
}

async fn put_options(h: &Harness, options: Value) -> u16 {
    h.http
        .put(format!("{}/_sandbox/options", h.url("kaufland")))
        .json(&options)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn create_unit(h: &Harness, id_offer: &str, ean: &str, amount: i64) -> Value {
    let (status, body) = call(
        h,
        "POST",
        "/v2/units?storefront=de",
        Some(json!({
            "ean": ean, "condition": "NEW", "listing_price": 4550, "minimum_price": 3990,
            "amount": amount, "note": "Sandbox", "handling_time": 2, "id_offer": id_offer,
        })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["data"].clone()
}

async fn subscribe(h: &Harness, event: &str, path: &str) -> Value {
    let (status, body) = call(
        h,
        "POST",
        "/v2/subscriptions?storefront=de",
        Some(json!({
            "callback_url": format!("{}{path}", h.receiver_url),
            "fallback_email": "ops@example.com",
            "event_name": event,
        })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["data"].clone()
}

/// Checks a received notification's signature with the independent implementation.
fn verify_notification(h: &Harness, r: &common::Received) {
    let url = format!("{}{}", h.receiver_url, r.uri.path());
    let ts: i64 = r.header("shop-timestamp").unwrap().parse().unwrap();
    let body = std::str::from_utf8(&r.body).unwrap();
    assert_eq!(
        r.header("shop-signature").unwrap(),
        sign(SECRET, "POST", &url, body, ts),
        "notification signature"
    );
    assert!((now() - ts).abs() < 60);
}

#[test]
fn the_signature_helper_matches_rfc_4231() {
    assert_eq!(
        to_hex(&mac("Jefe", "what do ya want for nothing?")),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[tokio::test]
async fn signed_requests_pass_and_every_auth_failure_is_401() {
    let h = Harness::start().await;
    // Empty body: the signed string has two newlines in a row; the query is part of the URI.
    let (status, body) = call(&h, "GET", "/v2/units?storefront=de&limit=5", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["pagination"],
        json!({ "offset": 0, "limit": 5, "total": 0 })
    );
    assert!(body["data"].as_array().unwrap().is_empty());
    // The seller's storefronts: a signed read that proves the keys.
    let (status, body) = call(&h, "GET", "/v2/info/storefront", None).await;
    assert_eq!((status, body["data"].clone()), (200, json!(["de"])));

    // A signature over the URI without its query does not pass.
    let url = format!("{}/v2/units", h.url("kaufland"));
    let mut wrong = Call::new("GET", "/v2/units?storefront=de");
    wrong.signature = Some(sign(SECRET, "GET", &url, "", wrong.ts));
    let (status, body) = wrong.send(&h).await;
    assert_eq!(status, 401);
    assert_eq!(body["message"], "Invalid signature");
    assert!(body["errors"].is_array());

    let missing = h
        .http
        .get(format!("{}/v2/units?storefront=de", h.url("kaufland")))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
    let missing: Value = missing.json().await.unwrap();
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .contains("Shop-Client-Key")
    );

    let mut unknown = Call::new("GET", "/v2/units?storefront=de");
    unknown.key = "ffffffffffffffffffffffffffffffff";
    let (status, body) = unknown.send(&h).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("Invalid client key"))
    );

    let mut bad = Call::new("GET", "/v2/units?storefront=de");
    bad.signature = Some("0".repeat(64));
    assert_eq!(bad.send(&h).await.0, 401);

    // The body is signed: changing it after signing breaks the signature.
    let url = format!("{}/v2/subscriptions?storefront=de", h.url("kaufland"));
    let mut tampered = Call::new("POST", "/v2/subscriptions?storefront=de").body(json!({
        "callback_url": "https://example.com/x", "fallback_email": "a@example.com", "event_name": "order_new"
    }));
    tampered.signature = Some(sign(SECRET, "POST", &url, "{}", tampered.ts));
    assert_eq!(tampered.send(&h).await.0, 401);

    // ±300 s window.
    let mut stale = Call::new("GET", "/v2/units?storefront=de");
    stale.ts = now() - 301;
    let (status, body) = stale.send(&h).await;
    assert_eq!(status, 401);
    assert!(body["message"].as_str().unwrap().contains("Timestamp"));
    let mut recent = Call::new("GET", "/v2/units?storefront=de");
    recent.ts = now() - 200;
    assert_eq!(recent.send(&h).await.0, 200);

    // Base64 encoding [U] as an option.
    assert_eq!(
        put_options(&h, json!({ "signature_encoding": "base64" })).await,
        200
    );
    assert_eq!(
        call(&h, "GET", "/v2/units?storefront=de", None).await.0,
        401
    );
    let url = format!("{}/v2/units?storefront=de", h.url("kaufland"));
    let mut b64 = Call::new("GET", "/v2/units?storefront=de");
    b64.signature = Some(STANDARD.encode(mac(SECRET, &format!("GET\n{url}\n\n{}", b64.ts))));
    assert_eq!(b64.send(&h).await.0, 200);
    assert_eq!(
        put_options(&h, json!({ "signature_encoding": "either" })).await,
        200
    );
    assert_eq!(
        call(&h, "GET", "/v2/units?storefront=de", None).await.0,
        200
    );
    assert_eq!(
        put_options(&h, json!({ "signature_encoding": "rot13" })).await,
        400
    );
    assert_eq!(
        h.state("kaufland").await["options"]["signature_encoding"],
        "either"
    );

    // The sandbox clock moves: a request stamped with the real time is then stale.
    h.advance_clock("kaufland", 301).await;
    assert_eq!(
        call(&h, "GET", "/v2/units?storefront=de", None).await.0,
        401
    );
    let mut shifted = Call::new("GET", "/v2/units?storefront=de");
    shifted.ts = now() + 301;
    assert_eq!(shifted.send(&h).await.0, 200);
}

#[tokio::test]
async fn product_data_and_units_round_trip_in_cents() {
    let h = Harness::start().await;
    let (status, body) = call(
        &h,
        "PUT",
        "/v2/product-data?locale=de-DE",
        Some(json!({ "ean": ["4009750243800"], "attributes": {
            "title": ["Kratzbaum"], "description": ["Ein Kratzbaum"],
            "picture": ["https://example.com/a.jpg"], "manufacturer": ["Acme"], "category": ["Katzenbedarf"],
        }})),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = call(&h, "GET", "/v2/product-data/4009750243800", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["attributes"]["title"][0], "Kratzbaum");
    assert_eq!(
        call(&h, "GET", "/v2/product-data/4000000000000", None)
            .await
            .0,
        404
    );
    let (status, _) = call(
        &h,
        "PUT",
        "/v2/product-data",
        Some(json!({ "ean": ["4009750243800"], "attributes": {} })),
    )
    .await;
    assert_eq!(status, 400, "locale is required");

    let unit = create_unit(&h, "SKU-1", "4009750243800", 9).await;
    assert_eq!(unit["listing_price"], 4550);
    assert_eq!(unit["currency"], "EUR");
    assert!(unit["date_inserted_iso"].as_str().unwrap().ends_with('Z'));
    let id = unit["id_unit"].as_u64().unwrap();

    let (status, body) = call(
        &h,
        "PATCH",
        &format!("/v2/units/{id}?storefront=de"),
        Some(json!({ "amount": 4, "listing_price": 3999, "minimum_price": 3500 })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = call(&h, "GET", &format!("/v2/units/{id}"), None).await;
    assert_eq!(body["data"]["amount"], 4);
    assert_eq!(body["data"]["listing_price"], 3999);
    assert_eq!(body["data"]["id_offer"], "SKU-1");
    let (status, body) = call(
        &h,
        "PATCH",
        &format!("/v2/units/{id}?storefront=de"),
        Some(json!({ "listing_price": 39.99 })),
    )
    .await;
    assert_eq!(status, 400, "prices are integer cents: {body}");
    assert!(body["message"].is_string());

    let (status, body) = call(
        &h,
        "POST",
        "/v2/units?storefront=xx",
        Some(json!({ "ean": "4009750243800", "listing_price": 100, "amount": 1 })),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["field"], "storefront");

    for i in 2..=6 {
        create_unit(&h, &format!("SKU-{i}"), "4009750243817", 1).await;
    }
    let (_, page) = call(&h, "GET", "/v2/units?storefront=de&limit=2&offset=2", None).await;
    assert_eq!(
        page["pagination"],
        json!({ "offset": 2, "limit": 2, "total": 6 })
    );
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    let (_, last) = call(&h, "GET", "/v2/units?storefront=de&limit=4&offset=4", None).await;
    assert_eq!(last["data"].as_array().unwrap().len(), 2);
    let (_, by_offer) = call(&h, "GET", "/v2/units?storefront=de&id_offer=SKU-3", None).await;
    assert_eq!(by_offer["pagination"]["total"], 1);
    assert_eq!(by_offer["data"][0]["id_offer"], "SKU-3");
    assert_eq!(call(&h, "GET", "/v2/units?limit=101", None).await.0, 400);

    assert_eq!(
        call(&h, "DELETE", &format!("/v2/units/{id}"), None).await.0,
        204
    );
    let (status, body) = call(&h, "GET", &format!("/v2/units/{id}"), None).await;
    assert_eq!(status, 404);
    assert!(body["message"].is_string());
    assert_eq!(call(&h, "GET", "/v2/nothing-here", None).await.0, 404);
}

#[tokio::test]
async fn orders_split_into_units_paginate_and_ship_with_tracking() {
    let h = Harness::start().await;
    create_unit(&h, "SKU-A", "4009750243800", 20).await;
    subscribe(&h, "order_unit_status_changed", "/kfl/status").await;
    for quantity in [1, 1, 1, 2] {
        h.place_order("kaufland", Some("SKU-A"), quantity).await;
    }
    let (_, unit) = call(&h, "GET", "/v2/units?id_offer=SKU-A", None).await;
    assert_eq!(unit["data"][0]["amount"], 15, "stock reduced");

    let (_, first) = call(&h, "GET", "/v2/orders?storefront=de&limit=3", None).await;
    assert_eq!(first["pagination"]["total"], 4);
    assert_eq!(first["data"].as_array().unwrap().len(), 3);
    let (_, second) = call(&h, "GET", "/v2/orders?storefront=de&limit=3&offset=3", None).await;
    assert_eq!(second["data"].as_array().unwrap().len(), 1);
    let mut ids: Vec<String> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["data"].as_array().unwrap())
        .map(|o| o["id_order"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "pages do not overlap");
    let (_, future) = call(
        &h,
        "GET",
        "/v2/orders?ts_created_from_iso=2999-01-01T00:00:00Z",
        None,
    )
    .await;
    assert_eq!(future["pagination"]["total"], 0);
    let (_, past) = call(
        &h,
        "GET",
        "/v2/orders?ts_created_from_iso=2000-01-01T00:00:00Z",
        None,
    )
    .await;
    assert_eq!(past["pagination"]["total"], 4);
    assert_eq!(
        call(&h, "GET", "/v2/orders?ts_created_from_iso=yesterday", None)
            .await
            .0,
        400
    );

    let with_two = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["data"].as_array().unwrap())
        .find(|o| o["order_units_count"] == 2)
        .unwrap()["id_order"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, order) = call(&h, "GET", &format!("/v2/orders/{with_two}"), None).await;
    assert_eq!(status, 200);
    let order = &order["data"];
    assert_eq!(order["order_units"].as_array().unwrap().len(), 2);
    assert!(
        order["buyer"]["email"]
            .as_str()
            .unwrap()
            .ends_with("@example.com")
    );
    for field in [
        "first_name",
        "last_name",
        "street",
        "house_number",
        "postcode",
        "city",
        "country",
    ] {
        assert!(
            order["shipping_address"][field].is_string(),
            "{field}: {order}"
        );
    }
    assert_eq!(order["order_units"][0]["price"], 4550);
    assert_eq!(order["order_units"][0]["status"], "need_to_be_sent");

    let mut seen = Vec::new();
    for offset in [0, 2, 4] {
        let (_, page) = call(
            &h,
            "GET",
            &format!(
                "/v2/order-units?storefront=de&status=need_to_be_sent&limit=2&offset={offset}"
            ),
            None,
        )
        .await;
        assert_eq!(page["pagination"]["total"], 5);
        for u in page["data"].as_array().unwrap() {
            seen.push(u["id_order_unit"].as_u64().unwrap());
        }
    }
    assert_eq!(seen.len(), 5);
    let target = seen[0];

    let (status, body) = call(
        &h,
        "PATCH",
        &format!("/v2/order-units/{target}/send"),
        Some(json!({ "carrier_code": "Pigeon", "tracking_numbers": "1" })),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["field"], "carrier_code");
    let (status, _) = call(
        &h,
        "PATCH",
        &format!("/v2/order-units/{target}/send"),
        Some(json!({ "carrier_code": "DHL", "tracking_numbers": "00340434161094042557,00340434161094042558" })),
    )
    .await;
    assert_eq!(status, 204);
    let (_, sent) = call(&h, "GET", &format!("/v2/order-units/{target}"), None).await;
    assert_eq!(sent["data"]["status"], "sent");
    assert_eq!(sent["data"]["carrier_code"], "DHL");
    assert_eq!(
        sent["data"]["tracking_numbers"],
        "00340434161094042557,00340434161094042558"
    );
    let (status, _) = call(
        &h,
        "PATCH",
        &format!("/v2/order-units/{target}/send"),
        Some(json!({ "carrier_code": "DHL", "tracking_numbers": "1" })),
    )
    .await;
    assert_eq!(status, 400, "a sent unit cannot be sent again");
    let (_, open) = call(&h, "GET", "/v2/order-units?status=need_to_be_sent", None).await;
    assert_eq!(open["pagination"]["total"], 4);
    let (_, by_sent) = call(&h, "GET", "/v2/order-units?status=sent", None).await;
    assert_eq!(by_sent["pagination"]["total"], 1);

    let notes = h.receiver.wait_for("/kfl/status", 1).await;
    let note = notes[0].json();
    assert_eq!(note["event_name"], "order_unit_status_changed");
    assert_eq!(note["id_order_unit"], target);
    assert_eq!(note["storefront"], "de");
    verify_notification(&h, &notes[0]);

    let cancel = seen[1];
    let (status, _) = call(
        &h,
        "PATCH",
        &format!("/v2/order-units/{cancel}/cancel"),
        Some(json!({ "reason": "product_not_available" })),
    )
    .await;
    assert_eq!(status, 204);
    let (_, unit) = call(&h, "GET", "/v2/units?id_offer=SKU-A", None).await;
    assert_eq!(
        unit["data"][0]["amount"], 16,
        "a cancelled unit goes back into stock"
    );
}

#[tokio::test]
async fn notifications_are_signed_retried_and_the_subscription_disabled() {
    let h = Harness::start().await;
    create_unit(&h, "SKU-N", "4009750243800", 10).await;
    let sub = subscribe(&h, "order_new", "/kfl/orders").await;
    assert_eq!(sub["is_active"], true);
    assert_eq!(sub["event_name"], "order_new");
    subscribe(&h, "order_unit_new", "/kfl/units").await;
    let (status, body) = call(
        &h,
        "POST",
        "/v2/subscriptions?storefront=de",
        Some(json!({ "callback_url": "https://example.com", "fallback_email": "a@example.com", "event_name": "order_exploded" })),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["field"], "event_name");
    let (_, list) = call(&h, "GET", "/v2/subscriptions", None).await;
    assert_eq!(list["pagination"]["total"], 2);

    let order = h.place_order("kaufland", None, 2).await;
    let got = h.receiver.wait_for("/kfl/orders", 1).await;
    let note = got[0].json();
    assert_eq!(note["event_name"], "order_new");
    assert_eq!(note["id_order"], order["id_order"]);
    assert!(note["id_message"].is_string());
    verify_notification(&h, &got[0]);
    let units = h.receiver.wait_for("/kfl/units", 2).await;
    for u in &units {
        verify_notification(&h, u);
        assert_eq!(u.json()["event_name"], "order_unit_new");
    }

    // A failing endpoint: first attempt plus seven retries, then the subscription is off.
    h.receiver.answer("/kfl/failing", 500);
    let failing = subscribe(&h, "order_new", "/kfl/failing").await;
    h.place_order("kaufland", None, 1).await;
    let attempts = h.receiver.wait_for("/kfl/failing", 8).await;
    let first_id = attempts[0].json()["id_message"].clone();
    assert!(attempts.iter().all(|a| a.json()["id_message"] == first_id));
    let mut disabled = false;
    for _ in 0..100 {
        let state = h.state("kaufland").await;
        let sub = state["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id_subscription"] == failing["id_subscription"])
            .cloned()
            .unwrap();
        if sub["is_active"] == false {
            disabled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(disabled, "subscription disabled after the last retry");
    let id = failing["id_subscription"].as_u64().unwrap();
    assert_eq!(
        call(&h, "DELETE", &format!("/v2/subscriptions/{id}"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        call(&h, "GET", &format!("/v2/subscriptions/{id}"), None)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn the_per_second_limit_answers_429_and_recovers() {
    let h = Harness::start().await;
    let bad = h
        .http
        .put(format!("{}/_sandbox/limits", h.url("kaufland")))
        .json(&json!({ "per_second": -1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    h.set_limits("kaufland", json!({ "enabled": true, "per_second": 3 }))
        .await;
    assert_eq!(h.state("kaufland").await["limits"]["per_second"], 3.0);
    let mut limited = None;
    for _ in 0..20 {
        let (status, body) = call(&h, "GET", "/v2/units?storefront=de", None).await;
        if status == 429 {
            limited = Some(body);
            break;
        }
    }
    let body = limited.expect("a 429 within 20 calls at 3 per second");
    assert_eq!(body["message"], "Too Many Requests");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        call(&h, "GET", "/v2/units?storefront=de", None).await.0,
        200
    );
    h.set_limits("kaufland", json!({ "enabled": false })).await;
    for _ in 0..20 {
        assert_eq!(
            call(&h, "GET", "/v2/units?storefront=de", None).await.0,
            200
        );
    }
}

#[tokio::test]
async fn faults_show_in_kauflands_shapes() {
    let h = Harness::start().await;
    create_unit(&h, "SKU-F", "4009750243800", 50).await;

    h.set_faults("kaufland", json!({ "error_rate": 1.0 })).await;
    let (status, body) = call(&h, "GET", "/v2/units", None).await;
    assert_eq!(status, 500);
    assert!(body["message"].is_string());
    h.set_faults("kaufland", json!({ "throttle_rate": 1.0 }))
        .await;
    let (status, body) = call(&h, "GET", "/v2/units", None).await;
    assert_eq!(status, 429);
    assert_eq!(body["message"], "Too Many Requests");
    h.set_faults("kaufland", json!({ "latency_ms": 300 })).await;
    let started = Instant::now();
    assert_eq!(call(&h, "GET", "/v2/units", None).await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    subscribe(&h, "order_new", "/kfl/f").await;
    h.set_faults("kaufland", json!({ "drop_rate": 1.0 })).await;
    h.place_order("kaufland", None, 1).await;
    let mut dropped = false;
    for _ in 0..50 {
        let state = h.state("kaufland").await;
        if state["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["result"] == "dropped" && d["topic"] == "order_new")
        {
            dropped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(dropped);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        h.receiver.at("/kfl/f").is_empty(),
        "a dropped notification never arrives"
    );

    h.set_faults("kaufland", json!({ "duplicate_rate": 1.0 }))
        .await;
    h.place_order("kaufland", None, 1).await;
    let twice = h.receiver.wait_for("/kfl/f", 2).await;
    assert_eq!(twice[0].json()["id_message"], twice[1].json()["id_message"]);
    h.receiver.clear();

    h.set_faults("kaufland", json!({ "reorder": true })).await;
    let older = h.place_order("kaufland", None, 1).await;
    let newer = h.place_order("kaufland", None, 1).await;
    let pair = h.receiver.wait_for("/kfl/f", 2).await;
    assert_eq!(pair[0].json()["id_order"], newer["id_order"]);
    assert_eq!(pair[1].json()["id_order"], older["id_order"]);
    h.set_faults("kaufland", json!({})).await;

    h.revoke("kaufland").await;
    let (status, body) = call(&h, "GET", "/v2/units", None).await;
    assert_eq!(status, 401);
    assert_eq!(body["message"], "Client key has been deactivated");
    let registered = h
        .http
        .put(format!("{}/_sandbox/app", h.url("kaufland")))
        .json(&json!({ "client_id": CLIENT_KEY, "client_secret": SECRET }))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 204);
    assert_eq!(call(&h, "GET", "/v2/units", None).await.0, 200);
}

#[tokio::test]
async fn new_keys_work_and_state_survives_snapshot_and_restore() {
    let h = Harness::start().await;
    let keys: Value = h
        .http
        .post(format!("{}/_sandbox/keys", h.url("kaufland")))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (key, secret) = (
        keys["client_key"].as_str().unwrap(),
        keys["secret_key"].as_str().unwrap(),
    );
    assert_eq!((key.len(), secret.len()), (32, 64));
    let url = format!("{}/v2/units", h.url("kaufland"));
    let mut with_new = Call::new("GET", "/v2/units");
    with_new.key = key;
    with_new.signature = Some(sign(secret, "GET", &url, "", with_new.ts));
    assert_eq!(with_new.send(&h).await.0, 200);

    create_unit(&h, "SKU-S", "4009750243800", 5).await;
    subscribe(&h, "order_new", "/kfl/s").await;
    h.place_order("kaufland", None, 2).await;
    let snapshot = h.sandboxes.snapshot();
    assert_eq!(
        snapshot["kaufland"]["order_units"]
            .as_object()
            .unwrap()
            .len(),
        2
    );

    let again = Harness::start().await;
    again.sandboxes.restore(&snapshot).unwrap();
    assert_eq!(again.sandboxes.snapshot()["kaufland"], snapshot["kaufland"]);
    let state = again.state("kaufland").await;
    assert_eq!(state["listings"][0]["id_offer"], "SKU-S");
    assert_eq!(state["listings"][0]["amount"], 3);
    assert_eq!(state["orders"].as_array().unwrap().len(), 1);

    let page = h
        .http
        .get(format!("{}/_sandbox", h.url("kaufland")))
        .header("accept-language", "de-DE")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("SKU-S")
            && page.contains("Bestand")
            && page.contains("API-Schlüssel erstellen")
    );
}
