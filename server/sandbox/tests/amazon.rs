//! Contract tests for the Amazon SP-API sandbox, driven over plain HTTP as Amazon's
//! documentation describes the calls: the website authorization workflow and LWA, Listings
//! Items 2021-08-01, Orders v2026-01-01 and v0, shipment confirmation, rate limits, faults and
//! the SQS-like ORDER_CHANGE queue.

mod common;

use std::time::{Duration, Instant};

use common::{Harness, location, query_of};
use serde_json::{Value, json};

const APP_ID: &str = "amzn1.sp.solution.test-app";
const CLIENT_ID: &str = "amzn1.application-oa2-client.test";
const SECRET: &str = "amazon-client-secret";
const MARKETPLACE: &str = "A1PA6795UKMFR9";

struct Connected {
    seller_id: String,
    access: String,
    refresh: String,
}

/// Seller Central consent, Confirm: the redirect's query.
async fn authorize(h: &Harness, state: &str) -> std::collections::BTreeMap<String, String> {
    let base = h.url("amazon");
    let page = h
        .http
        .get(format!("{base}/apps/authorize/consent"))
        .query(&[("application_id", APP_ID), ("state", state)])
        .header("accept-language", "de-DE")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(APP_ID), "{html}");
    assert!(html.contains("method=\"post\""), "{html}");
    assert!(
        html.contains("Bestätigen") && html.contains("Abbrechen"),
        "{html}"
    );
    let confirm = h
        .http
        .post(format!("{base}/apps/authorize/consent"))
        .form(&[
            ("application_id", APP_ID),
            ("state", state),
            ("decision", "confirm"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status(), 302);
    let to = location(&confirm);
    assert!(
        to.starts_with(&format!("{}/callback/amazon?", h.receiver_url)),
        "{to}"
    );
    query_of(&to)
}

async fn token(h: &Harness, form: &[(&str, &str)]) -> reqwest::Response {
    h.http
        .post(format!("{}/auth/o2/token", h.url("amazon")))
        .form(form)
        .send()
        .await
        .unwrap()
}

fn code_form<'a>(code: &'a str, redirect: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect),
        ("client_id", CLIENT_ID),
        ("client_secret", SECRET),
    ]
}

async fn connect(h: &Harness) -> Connected {
    let query = authorize(h, "csrf-1").await;
    let redirect = format!("{}/callback/amazon", h.receiver_url);
    let response = token(h, &code_form(&query["spapi_oauth_code"], &redirect)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    Connected {
        seller_id: query["selling_partner_id"].clone(),
        access: body["access_token"].as_str().unwrap().to_owned(),
        refresh: body["refresh_token"].as_str().unwrap().to_owned(),
    }
}

fn listing_url(h: &Harness, seller: &str, sku: &str) -> String {
    format!(
        "{}/listings/2021-08-01/items/{seller}/{sku}?marketplaceIds={MARKETPLACE}",
        h.url("amazon")
    )
}

fn listing_body(title: &str, quantity: i64, price: f64) -> Value {
    json!({
        "productType": "PRODUCT",
        "requirements": "LISTING",
        "attributes": {
            "item_name": [{ "value": title, "language_tag": "de_DE", "marketplace_id": MARKETPLACE }],
            "condition_type": [{ "value": "new_new", "marketplace_id": MARKETPLACE }],
            "fulfillment_availability": [{ "fulfillment_channel_code": "DEFAULT", "quantity": quantity }],
            "purchasable_offer": [{
                "currency": "EUR",
                "marketplace_id": MARKETPLACE,
                "our_price": [{ "schedule": [{ "value_with_tax": price }] }],
            }],
        },
    })
}

async fn put_listing(h: &Harness, c: &Connected, sku: &str, quantity: i64) {
    let response = h
        .http
        .put(listing_url(h, &c.seller_id, sku))
        .header("x-amz-access-token", &c.access)
        .json(&listing_body("Teekanne Steingut 1,2 l", quantity, 24.9))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ACCEPTED", "{body}");
}

async fn get(h: &Harness, c: &Connected, url: &str) -> reqwest::Response {
    h.http
        .get(url)
        .header("x-amz-access-token", &c.access)
        .send()
        .await
        .unwrap()
}

/// The SP-API error body's first error.
async fn first_error(response: reqwest::Response) -> Value {
    let body: Value = response.json().await.unwrap();
    body["errors"][0].clone()
}

async fn queue(h: &Harness) -> Vec<Value> {
    let body: Value = h
        .http
        .get(format!("{}/_sandbox/queue", h.url("amazon")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["messages"].as_array().unwrap().clone()
}

async fn wait_queue(h: &Harness, count: usize) -> Vec<Value> {
    for _ in 0..200 {
        let messages = queue(h).await;
        if messages.len() >= count {
            return messages;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected {count} queue messages, got {:?}", queue(h).await);
}

#[tokio::test]
async fn consent_token_exchange_refresh_and_grantless() {
    let h = Harness::start().await;
    let query = authorize(&h, "state-42").await;
    assert_eq!(query["state"], "state-42");
    let seller = &query["selling_partner_id"];
    assert!(
        seller.starts_with('A') && (13..=14).contains(&seller.len()),
        "{seller}"
    );
    let code = &query["spapi_oauth_code"];
    assert!(!code.is_empty());

    let redirect = format!("{}/callback/amazon", h.receiver_url);
    let response = token(&h, &code_form(code, &redirect)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body["access_token"].as_str().unwrap().starts_with("Atza|"));
    assert!(body["refresh_token"].as_str().unwrap().starts_with("Atzr|"));
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3600);

    // Amazon's own SDKs post JSON to the token endpoint.
    let refresh = body["refresh_token"].as_str().unwrap();
    let response = h
        .http
        .post(format!("{}/auth/o2/token", h.url("amazon")))
        .json(&json!({
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let refreshed: Value = response.json().await.unwrap();
    assert_ne!(refreshed["access_token"], body["access_token"]);
    assert_eq!(refreshed["refresh_token"], refresh, "LWA does not rotate");

    let response = token(
        &h,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "sellingpartnerapi::notifications"),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
    let grantless: Value = response.json().await.unwrap();
    assert!(
        grantless["access_token"]
            .as_str()
            .unwrap()
            .starts_with("Atc|")
    );
    assert!(grantless.get("refresh_token").is_none());
    assert_eq!(grantless["scope"], "sellingpartnerapi::notifications");

    // The new access token works; a grantless one does not reach seller data.
    let c = Connected {
        seller_id: seller.clone(),
        access: refreshed["access_token"].as_str().unwrap().to_owned(),
        refresh: refresh.to_owned(),
    };
    let url = format!(
        "{}/orders/2026-01-01/orders?createdAfter=2020-01-01T00:00:00Z",
        h.url("amazon")
    );
    assert_eq!(get(&h, &c, &url).await.status(), 200);
    let denied = h
        .http
        .get(&url)
        .header(
            "x-amz-access-token",
            grantless["access_token"].as_str().unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    assert_eq!(first_error(denied).await["code"], "Unauthorized");
}

#[tokio::test]
async fn marketplace_participations_name_the_seller_and_marketplace() {
    let h = Harness::start().await;
    let c = connect(&h).await;
    let url = format!("{}/sellers/v1/marketplaceParticipations", h.url("amazon"));
    let response = get(&h, &c, &url).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["x-amzn-ratelimit-limit"]
            .to_str()
            .unwrap(),
        "0.016"
    );
    let body: Value = response.json().await.unwrap();
    let first = &body["payload"][0];
    assert_eq!(first["marketplace"]["id"], MARKETPLACE);
    assert_eq!(first["marketplace"]["name"], "Amazon.de");
    assert_eq!(first["marketplace"]["countryCode"], "DE");
    assert_eq!(first["participation"]["isParticipating"], true);
    assert!(!first["storeName"].as_str().unwrap().is_empty(), "{body}");
    let anonymous = h.http.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 403);
    assert_eq!(first_error(anonymous).await["code"], "Unauthorized");
}

#[tokio::test]
async fn authorization_failures_answer_as_seller_central_and_lwa() {
    let h = Harness::start().await;
    let base = h.url("amazon");
    let redirect = format!("{}/callback/amazon", h.receiver_url);

    // Unknown application id: Seller Central's MD1000 page.
    let page = h
        .http
        .get(format!("{base}/apps/authorize/consent"))
        .query(&[
            ("application_id", "amzn1.sp.solution.other"),
            ("state", "s"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
    assert!(page.text().await.unwrap().contains("MD1000"));
    // Unregistered redirect URI: MD5101, and no redirect.
    let page = h
        .http
        .get(format!("{base}/apps/authorize/consent"))
        .query(&[
            ("application_id", APP_ID),
            ("state", "s"),
            ("redirect_uri", "https://evil.example/cb"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
    assert!(page.text().await.unwrap().contains("MD5101"));
    // A draft app needs version=beta.
    let options = h
        .http
        .put(format!("{base}/_sandbox/options"))
        .json(&json!({ "draft_app": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(options.status(), 200);
    let page = h
        .http
        .get(format!("{base}/apps/authorize/consent"))
        .query(&[("application_id", APP_ID), ("state", "s")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
    let page = h
        .http
        .get(format!("{base}/apps/authorize/consent"))
        .query(&[
            ("application_id", APP_ID),
            ("state", "s"),
            ("version", "beta"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    // Cancel grants nothing and stays on Seller Central.
    let cancel = h
        .http
        .post(format!("{base}/apps/authorize/consent"))
        .form(&[
            ("application_id", APP_ID),
            ("state", "s"),
            ("version", "beta"),
            ("decision", "cancel"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), 200);
    assert!(cancel.headers().get("location").is_none());
    h.http
        .put(format!("{base}/_sandbox/options"))
        .json(&json!({ "draft_app": false }))
        .send()
        .await
        .unwrap();

    let invalid_code = json!({
        "error_description": "The request has an invalid grant parameter : code",
        "error": "invalid_grant",
    });
    // Expired code: five minutes.
    let query = authorize(&h, "s1").await;
    h.advance_clock("amazon", 301).await;
    let response = token(&h, &code_form(&query["spapi_oauth_code"], &redirect)).await;
    assert_eq!(response.status(), 400);
    assert_eq!(response.json::<Value>().await.unwrap(), invalid_code);

    // Reused code.
    let query = authorize(&h, "s2").await;
    let code = &query["spapi_oauth_code"];
    assert_eq!(token(&h, &code_form(code, &redirect)).await.status(), 200);
    let response = token(&h, &code_form(code, &redirect)).await;
    assert_eq!(response.status(), 400);
    assert_eq!(response.json::<Value>().await.unwrap(), invalid_code);

    // Unknown code.
    let response = token(&h, &code_form("ANnotacode", &redirect)).await;
    assert_eq!(response.json::<Value>().await.unwrap(), invalid_code);

    // Wrong client secret.
    let query = authorize(&h, "s3").await;
    let mut form = code_form(&query["spapi_oauth_code"], &redirect);
    form[4] = ("client_secret", "wrong");
    let response = token(&h, &form).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "error_description": "Client authentication failed", "error": "invalid_client" })
    );

    // Wrong redirect URI at the exchange.
    let response = token(
        &h,
        &code_form(&query["spapi_oauth_code"], "https://other.example/cb"),
    )
    .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    // Unsupported grant type and missing parameters.
    let response = token(
        &h,
        &[
            ("grant_type", "password"),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ],
    )
    .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
    let response = token(
        &h,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ],
    )
    .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({
            "error_description": "The request is missing a required parameter : refresh_token",
            "error": "invalid_request",
        })
    );
    let response = token(
        &h,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "Atzr|nope"),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ],
    )
    .await;
    assert_eq!(
        response.json::<Value>().await.unwrap()["error_description"],
        "The request has an invalid grant parameter : refresh_token"
    );
}

#[tokio::test]
async fn tokens_expire_and_revocation_denies_access() {
    let h = Harness::start().await;
    let c = connect(&h).await;
    let url = format!(
        "{}/orders/v0/orders?MarketplaceIds={MARKETPLACE}&CreatedAfter=2020-01-01",
        h.url("amazon")
    );
    let ok = get(&h, &c, &url).await;
    assert_eq!(ok.status(), 200);
    assert!(ok.headers().get("x-amzn-requestid").is_some());

    let missing = h.http.get(&url).send().await.unwrap();
    assert_eq!(missing.status(), 403);

    h.advance_clock("amazon", 3601).await;
    let expired = get(&h, &c, &url).await;
    assert_eq!(expired.status(), 403);
    assert_eq!(
        first_error(expired).await,
        json!({
            "code": "Unauthorized",
            "message": "Access to requested resource is denied.",
            "details": "The access token you provided has expired.",
        })
    );

    let response = token(
        &h,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &c.refresh),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ],
    )
    .await;
    let fresh: Value = response.json().await.unwrap();
    let c = Connected {
        access: fresh["access_token"].as_str().unwrap().to_owned(),
        ..c
    };
    assert_eq!(get(&h, &c, &url).await.status(), 200);

    h.revoke("amazon").await;
    let revoked = get(&h, &c, &url).await;
    assert_eq!(revoked.status(), 403);
    assert_eq!(
        first_error(revoked).await["details"],
        "The access token you provided is revoked, malformed or invalid."
    );
}

#[tokio::test]
async fn listings_put_patch_and_read_back() {
    let h = Harness::start().await;
    let c = connect(&h).await;
    put_listing(&h, &c, "TEA-POT-1", 7).await;

    let url = format!(
        "{}&includedData=summaries,attributes,issues,offers,fulfillmentAvailability",
        listing_url(&h, &c.seller_id, "TEA-POT-1")
    );
    let item: Value = get(&h, &c, &url).await.json().await.unwrap();
    assert_eq!(item["sku"], "TEA-POT-1");
    assert_eq!(
        item["summaries"][0]["status"],
        json!(["BUYABLE", "DISCOVERABLE"])
    );
    assert_eq!(item["summaries"][0]["marketplaceId"], MARKETPLACE);
    assert_eq!(item["fulfillmentAvailability"][0]["quantity"], 7);
    assert_eq!(item["offers"][0]["price"]["amount"], "24.90");
    assert_eq!(
        item["attributes"]["item_name"][0]["value"],
        "Teekanne Steingut 1,2 l"
    );

    // Stock and price through PATCH.
    let patch = json!({
        "productType": "PRODUCT",
        "patches": [
            { "op": "replace", "path": "/attributes/fulfillment_availability",
              "value": [{ "fulfillment_channel_code": "DEFAULT", "quantity": 3 }] },
            { "op": "merge", "path": "/attributes/purchasable_offer",
              "value": [{ "marketplace_id": MARKETPLACE, "our_price": [{ "schedule": [{ "value_with_tax": 19.5 }] }] }] },
        ],
    });
    let response = h
        .http
        .patch(listing_url(&h, &c.seller_id, "TEA-POT-1"))
        .header("x-amz-access-token", &c.access)
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ACCEPTED");
    assert!(body["submissionId"].as_str().is_some_and(|s| !s.is_empty()));
    let item: Value = get(&h, &c, &url).await.json().await.unwrap();
    assert_eq!(item["fulfillmentAvailability"][0]["quantity"], 3);
    assert_eq!(item["offers"][0]["price"]["amount"], "19.50");
    assert_eq!(
        item["attributes"]["purchasable_offer"][0]["currency"], "EUR",
        "merge keeps the fields it does not name"
    );

    // A listing without item_name is INVALID and not created.
    let mut invalid = listing_body("x", 1, 1.0);
    invalid["attributes"]
        .as_object_mut()
        .unwrap()
        .remove("item_name");
    let response = h
        .http
        .put(listing_url(&h, &c.seller_id, "NO-NAME"))
        .header("x-amz-access-token", &c.access)
        .json(&invalid)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "INVALID");
    assert_eq!(body["issues"][0]["attributeNames"], json!(["item_name"]));
    let missing = get(&h, &c, &listing_url(&h, &c.seller_id, "NO-NAME")).await;
    assert_eq!(missing.status(), 404);

    // Bad input and a foreign seller id.
    let response = h
        .http
        .put(listing_url(&h, &c.seller_id, "BAD"))
        .header("x-amz-access-token", &c.access)
        .json(&json!({ "attributes": {} }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(first_error(response).await["code"], "InvalidInput");
    let foreign = get(&h, &c, &listing_url(&h, "A0THERSELLER1", "TEA-POT-1")).await;
    assert_eq!(foreign.status(), 403);

    // Asynchronous processing: with a delay the listing appears only later.
    h.http
        .put(format!("{}/_sandbox/options", h.url("amazon")))
        .json(&json!({ "processing_delay_secs": 120 }))
        .send()
        .await
        .unwrap();
    put_listing(&h, &c, "LATER-1", 1).await;
    assert_eq!(
        get(&h, &c, &listing_url(&h, &c.seller_id, "LATER-1"))
            .await
            .status(),
        404
    );
    h.advance_clock("amazon", 121).await;
    // The token is an hour old at most; still valid.
    assert_eq!(
        get(&h, &c, &listing_url(&h, &c.seller_id, "LATER-1"))
            .await
            .status(),
        200
    );

    // DELETE.
    let response = h
        .http
        .delete(listing_url(&h, &c.seller_id, "TEA-POT-1"))
        .header("x-amz-access-token", &c.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    h.advance_clock("amazon", 121).await;
    assert_eq!(
        get(&h, &c, &listing_url(&h, &c.seller_id, "TEA-POT-1"))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn search_orders_pages_and_v0_orders_with_items() {
    let h = Harness::start().await;
    let c = connect(&h).await;
    put_listing(&h, &c, "MUG-1", 20).await;
    let mut placed = Vec::new();
    for _ in 0..5 {
        let order = h.place_order("amazon", Some("MUG-1"), 2).await;
        placed.push(order["orderId"].as_str().unwrap().to_owned());
    }
    assert!(
        placed[0].len() == 19 && placed[0].as_bytes()[3] == b'-',
        "{}",
        placed[0]
    );
    let state = h.state("amazon").await;
    assert_eq!(state["listings"][0]["quantity"], 10, "stock went down");

    let base = h.url("amazon");
    let both = get(
        &h,
        &c,
        &format!("{base}/orders/2026-01-01/orders?createdAfter=2020-01-01T00:00:00Z&lastUpdatedAfter=2020-01-01T00:00:00Z"),
    )
    .await;
    assert_eq!(both.status(), 400);
    assert_eq!(first_error(both).await["code"], "InvalidInput");
    let neither = get(&h, &c, &format!("{base}/orders/2026-01-01/orders")).await;
    assert_eq!(neither.status(), 400);

    let mut seen = Vec::new();
    let mut url = format!(
        "{base}/orders/2026-01-01/orders?createdAfter=2020-01-01T00:00:00Z&maxResultsPerPage=2&marketplaceIds={MARKETPLACE}&includedData=BUYER,RECIPIENT,FULFILLMENT"
    );
    let mut pages = 0;
    loop {
        let response = get(&h, &c, &url).await;
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("x-amzn-ratelimit-limit").is_some());
        let body: Value = response.json().await.unwrap();
        pages += 1;
        for order in body["orders"].as_array().unwrap() {
            assert_eq!(order["salesChannel"]["marketplaceId"], MARKETPLACE);
            assert_eq!(order["fulfillment"]["fulfillmentStatus"], "UNSHIPPED");
            assert!(
                order["buyer"]["buyerEmail"]
                    .as_str()
                    .unwrap()
                    .ends_with("@marketplace.amazon.de")
            );
            assert!(order["recipient"]["deliveryAddress"]["postalCode"].is_string());
            assert_eq!(order["orderItems"][0]["product"]["sellerSku"], "MUG-1");
            assert_eq!(order["orderItems"][0]["quantityOrdered"], 2);
            assert_eq!(
                order["orderItems"][0]["product"]["price"]["unitPrice"]["amount"],
                "24.90"
            );
            seen.push(order["orderId"].as_str().unwrap().to_owned());
        }
        match body["pagination"]["nextToken"].as_str() {
            Some(next) => {
                url = format!(
                    "{base}/orders/2026-01-01/orders?paginationToken={next}&includedData=BUYER,RECIPIENT,FULFILLMENT"
                );
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, placed);

    // The pagination token lasts 24 hours (the access token is refreshed on the way).
    let first: Value = get(
        &h,
        &c,
        &format!(
            "{base}/orders/2026-01-01/orders?createdAfter=2020-01-01T00:00:00Z&maxResultsPerPage=2"
        ),
    )
    .await
    .json()
    .await
    .unwrap();
    let next = first["pagination"]["nextToken"]
        .as_str()
        .unwrap()
        .to_owned();
    h.advance_clock("amazon", 24 * 3600 + 1).await;
    let fresh: Value = token(
        &h,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &c.refresh),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ],
    )
    .await
    .json()
    .await
    .unwrap();
    let c = Connected {
        access: fresh["access_token"].as_str().unwrap().to_owned(),
        ..c
    };
    let stale = get(
        &h,
        &c,
        &format!("{base}/orders/2026-01-01/orders?paginationToken={next}"),
    )
    .await;
    assert_eq!(stale.status(), 400);

    // v0 getOrders, paged with NextToken, and getOrderItems.
    let mut v0 = Vec::new();
    let mut url = format!(
        "{base}/orders/v0/orders?MarketplaceIds={MARKETPLACE}&CreatedAfter=2020-01-01T00:00:00Z&MaxResultsPerPage=3"
    );
    loop {
        let body: Value = get(&h, &c, &url).await.json().await.unwrap();
        for order in body["payload"]["Orders"].as_array().unwrap() {
            assert_eq!(order["OrderStatus"], "Unshipped");
            assert_eq!(order["OrderTotal"]["Amount"], "49.80");
            assert!(order["PurchaseDate"].is_string() && order["LastUpdateDate"].is_string());
            v0.push(order["AmazonOrderId"].as_str().unwrap().to_owned());
        }
        assert!(body["payload"]["CreatedBefore"].is_string());
        match body["payload"]["NextToken"].as_str() {
            Some(next) => {
                let next = percent_encode(next);
                url = format!(
                    "{base}/orders/v0/orders?MarketplaceIds={MARKETPLACE}&NextToken={next}"
                );
            }
            None => break,
        }
    }
    assert_eq!(v0, placed);
    let missing = get(
        &h,
        &c,
        &format!("{base}/orders/v0/orders?CreatedAfter=2020-01-01"),
    )
    .await;
    assert_eq!(missing.status(), 400, "MarketplaceIds is required");

    let items: Value = get(
        &h,
        &c,
        &format!("{base}/orders/v0/orders/{}/orderItems", placed[0]),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(items["payload"]["AmazonOrderId"], placed[0].as_str());
    let item = &items["payload"]["OrderItems"][0];
    assert_eq!(item["SellerSKU"], "MUG-1");
    assert_eq!(item["QuantityOrdered"], 2);
    assert_eq!(
        item["ItemPrice"],
        json!({ "CurrencyCode": "EUR", "Amount": "49.80" })
    );
    assert_eq!(item["OrderItemId"].as_str().unwrap().len(), 14);
}

fn percent_encode(text: &str) -> String {
    serde_urlencoded::to_string([("x", text)]).unwrap()[2..].to_owned()
}

#[tokio::test]
async fn shipment_confirmation_ships_the_order_and_notifies() {
    let h = Harness::start().await;
    let c = connect(&h).await;
    put_listing(&h, &c, "LAMP-1", 5).await;
    let order = h.place_order("amazon", None, 2).await;
    let order_id = order["orderId"].as_str().unwrap().to_owned();
    let item_id = order["orderItems"][0]["orderItemId"]
        .as_str()
        .unwrap()
        .to_owned();
    let base = h.url("amazon");
    let url = format!("{base}/orders/v0/orders/{order_id}/shipmentConfirmation");

    let confirm = |body: Value| {
        h.http
            .post(&url)
            .header("x-amz-access-token", &c.access)
            .json(&body)
            .send()
    };
    let package = |items: Value| {
        json!({
            "marketplaceId": MARKETPLACE,
            "packageDetail": {
                "packageReferenceId": "1",
                "carrierCode": "DHL",
                "shippingMethod": "Paket",
                "trackingNumber": "00340434161234567890",
                "shipDate": "2026-01-05T10:00:00Z",
                "orderItems": items,
            },
        })
    };
    let no_carrier = json!({ "marketplaceId": MARKETPLACE, "packageDetail": {
        "packageReferenceId": "1", "trackingNumber": "1", "shipDate": "2026-01-05T10:00:00Z",
        "orderItems": [{ "orderItemId": item_id, "quantity": 1 }] } });
    let response = confirm(no_carrier).await.unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(first_error(response).await["code"], "InvalidInput");
    let response = confirm(package(json!([{ "orderItemId": item_id, "quantity": 3 }])))
        .await
        .unwrap();
    assert_eq!(response.status(), 400, "more than ordered");

    let response = confirm(package(json!([{ "orderItemId": item_id, "quantity": 2 }])))
        .await
        .unwrap();
    assert_eq!(response.status(), 204);

    let v0: Value = get(&h, &c, &format!("{base}/orders/v0/orders/{order_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v0["payload"]["OrderStatus"], "Shipped");
    assert_eq!(v0["payload"]["NumberOfItemsShipped"], 2);
    let v2026: Value = get(
        &h,
        &c,
        &format!("{base}/orders/2026-01-01/orders/{order_id}?includedData=FULFILLMENT,PACKAGES"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        v2026["order"]["fulfillment"]["fulfillmentStatus"],
        "SHIPPED"
    );
    assert_eq!(
        v2026["order"]["packages"][0]["trackingNumber"],
        "00340434161234567890"
    );

    // New order, then shipped: two ORDER_CHANGE messages on the queue.
    let messages = wait_queue(&h, 2).await;
    let shipped = messages
        .iter()
        .find(|m| m["Payload"]["OrderChangeNotification"]["Summary"]["OrderStatus"] == "Shipped")
        .expect("a Shipped ORDER_CHANGE");
    assert_eq!(
        shipped["Payload"]["OrderChangeNotification"]["AmazonOrderId"],
        order_id.as_str()
    );

    let unknown = h
        .http
        .post(format!(
            "{base}/orders/v0/orders/999-0000000-0000000/shipmentConfirmation"
        ))
        .header("x-amz-access-token", &c.access)
        .json(&package(json!([{ "orderItemId": item_id, "quantity": 1 }])))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn order_change_notifications_carry_the_documented_envelope() {
    let h = Harness::start().await;
    let c = connect(&h).await;
    put_listing(&h, &c, "VASE-1", 3).await;
    let order = h.place_order("amazon", Some("VASE-1"), 1).await;
    let messages = wait_queue(&h, 1).await;
    let message = &messages[0];
    // Amazon publishes no signature for SQS messages (trust comes from the queue policy), so the
    // check is on the envelope the schema documents.
    for field in [
        "NotificationVersion",
        "NotificationType",
        "PayloadVersion",
        "EventTime",
        "Payload",
        "NotificationMetadata",
    ] {
        assert!(message.get(field).is_some(), "{field} missing: {message}");
    }
    assert_eq!(message["NotificationType"], "ORDER_CHANGE");
    assert_eq!(message["NotificationVersion"], "1.0");
    let metadata = &message["NotificationMetadata"];
    assert_eq!(metadata["ApplicationId"], APP_ID);
    assert!(uuid_like(metadata["NotificationId"].as_str().unwrap()));
    let change = &message["Payload"]["OrderChangeNotification"];
    assert_eq!(change["SellerId"], c.seller_id.as_str());
    assert_eq!(change["AmazonOrderId"], order["orderId"]);
    assert_eq!(change["NotificationLevel"], "OrderLevel");
    assert_eq!(change["Summary"]["OrderStatus"], "Unshipped");
    assert_eq!(change["Summary"]["OrderItems"][0]["SellerSKU"], "VASE-1");
    let state = h.state("amazon").await;
    assert_eq!(
        state["subscriptions"][0]["notificationType"],
        "ORDER_CHANGE"
    );
    assert_eq!(
        state["subscriptions"][0]["subscriptionId"],
        metadata["SubscriptionId"]
    );
}

fn uuid_like(text: &str) -> bool {
    text.len() == 36 && text.split('-').map(str::len).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
}

#[tokio::test]
async fn rate_limit_is_hit_and_recovers() {
    let h = Harness::start().await;
    let c = connect(&h).await;
    let bad = h
        .http
        .put(format!("{}/_sandbox/limits", h.url("amazon")))
        .json(&json!({ "operations": { "searchOrders": { "rate": -1, "burst": 2 } } }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let bad = h
        .http
        .put(format!("{}/_sandbox/limits", h.url("amazon")))
        .json(&json!({ "operations": { "noSuchOperation": { "rate": 1, "burst": 2 } } }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    h.set_limits(
        "amazon",
        json!({ "enabled": true, "operations": { "searchOrders": { "rate": 2, "burst": 2 } } }),
    )
    .await;
    let state = h.state("amazon").await;
    assert_eq!(state["limits"]["operations"]["searchOrders"]["burst"], 2.0);
    assert_eq!(state["limits"]["operations"]["getOrders"]["rate"], 0.0167);

    let url = format!(
        "{}/orders/2026-01-01/orders?createdAfter=2020-01-01T00:00:00Z",
        h.url("amazon")
    );
    assert_eq!(get(&h, &c, &url).await.status(), 200);
    assert_eq!(get(&h, &c, &url).await.status(), 200);
    let throttled = get(&h, &c, &url).await;
    assert_eq!(throttled.status(), 429);
    assert_eq!(throttled.headers()["x-amzn-ratelimit-limit"], "2");
    assert!(throttled.headers().get("x-amzn-requestid").is_some());
    assert!(throttled.headers().get("retry-after").is_none());
    assert_eq!(
        first_error(throttled).await,
        json!({ "code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource." })
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(get(&h, &c, &url).await.status(), 200);

    // Off: no limit at all.
    h.set_limits("amazon", json!({ "enabled": false })).await;
    for _ in 0..5 {
        assert_eq!(get(&h, &c, &url).await.status(), 200);
    }
}

#[tokio::test]
async fn injected_call_faults_use_sp_api_shapes() {
    let h = Harness::start().await;
    let c = connect(&h).await;
    let url = format!(
        "{}/orders/2026-01-01/orders?createdAfter=2020-01-01T00:00:00Z",
        h.url("amazon")
    );
    h.set_faults("amazon", json!({ "error_rate": 1.0 })).await;
    let failed = get(&h, &c, &url).await;
    assert_eq!(failed.status(), 500);
    assert_eq!(first_error(failed).await["code"], "InternalFailure");

    h.set_faults("amazon", json!({ "throttle_rate": 1.0 }))
        .await;
    let throttled = get(&h, &c, &url).await;
    assert_eq!(throttled.status(), 429);
    assert!(throttled.headers().get("x-amzn-ratelimit-limit").is_some());
    assert_eq!(first_error(throttled).await["code"], "QuotaExceeded");

    h.set_faults("amazon", json!({ "latency_ms": 300 })).await;
    let started = Instant::now();
    assert_eq!(get(&h, &c, &url).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    h.set_faults("amazon", json!({})).await;
    assert_eq!(get(&h, &c, &url).await.status(), 200);
}

#[tokio::test]
async fn delivery_faults_drop_duplicate_and_reorder_queue_messages() {
    let h = Harness::start().await;
    let c = connect(&h).await;
    put_listing(&h, &c, "BOWL-1", 20).await;

    h.set_faults("amazon", json!({ "drop_rate": 1.0 })).await;
    h.place_order("amazon", None, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(queue(&h).await.is_empty());
    let state = h.state("amazon").await;
    assert!(
        state["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["result"] == "dropped" && d["topic"] == "ORDER_CHANGE"),
        "{}",
        state["deliveries"]
    );

    h.set_faults("amazon", json!({ "duplicate_rate": 1.0 }))
        .await;
    h.place_order("amazon", None, 1).await;
    let messages = wait_queue(&h, 2).await;
    assert_eq!(
        messages[0]["NotificationMetadata"]["NotificationId"],
        messages[1]["NotificationMetadata"]["NotificationId"]
    );

    h.http
        .delete(format!("{}/_sandbox/queue", h.url("amazon")))
        .send()
        .await
        .unwrap();
    h.set_faults("amazon", json!({ "reorder": true })).await;
    let first = h.place_order("amazon", None, 1).await;
    let second = h.place_order("amazon", None, 1).await;
    let messages = wait_queue(&h, 2).await;
    let ids: Vec<&Value> = messages
        .iter()
        .map(|m| &m["Payload"]["OrderChangeNotification"]["AmazonOrderId"])
        .collect();
    assert_eq!(ids, [&second["orderId"], &first["orderId"]], "newest first");
}

#[tokio::test]
async fn state_snapshot_round_trips_and_the_page_lists_listings() {
    let h = Harness::start().await;
    let c = connect(&h).await;
    put_listing(&h, &c, "PLATE-1", 4).await;
    h.place_order("amazon", Some("PLATE-1"), 1).await;
    wait_queue(&h, 1).await;

    let state = h.state("amazon").await;
    for key in [
        "listings",
        "orders",
        "subscriptions",
        "tokens",
        "limits",
        "options",
        "queue",
    ] {
        assert!(state.get(key).is_some(), "{key} missing");
    }
    let snapshot = h.sandboxes.snapshot()["amazon"].clone();
    let again = Harness::start().await;
    again
        .sandboxes
        .restore(&json!({ "amazon": snapshot.clone() }))
        .unwrap();
    assert_eq!(again.sandboxes.snapshot()["amazon"], snapshot);
    // The restored sandbox knows the token and the listing.
    let url = listing_url(&again, &c.seller_id, "PLATE-1");
    let item: Value = again
        .http
        .get(format!("{url}&includedData=fulfillmentAvailability"))
        .header("x-amz-access-token", &c.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(item["fulfillmentAvailability"][0]["quantity"], 3);

    let page = h
        .http
        .get(format!("{}/_sandbox", h.url("amazon")))
        .header("accept-language", "de")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("PLATE-1") && page.contains("Bestand"),
        "{page}"
    );
}
