//! Contract tests for the Shopify sandbox, driven over plain HTTP as Shopify's documentation
//! describes the protocol. Signatures are checked with an implementation written here from the
//! documented algorithms, not with the sandbox's own signing code.

mod common;

use std::collections::BTreeMap;

use base64::Engine;
use common::{Harness, location, query_of};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use shopmarkets_sandbox::Sandbox as _;

const SHOP: &str = "demo-shop.myshopify.com";
const SECRET: &str = "shopify-client-secret";
const INVALID: &str =
    "[API] Invalid API key or access token (unrecognized login or wrong password)";

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The OAuth callback check from Shopify's docs: drop `hmac`, sort, `k=v&…`, hex HMAC-SHA256.
fn callback_hmac_ok(params: &BTreeMap<String, String>, secret: &str) -> bool {
    let message = params
        .iter()
        .filter(|(k, _)| *k != "hmac")
        .map(|(k, v)| {
            let encode = |s: &str| {
                percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
                    .to_string()
                    .replace("%2D", "-")
                    .replace("%2E", ".")
                    .replace("%5F", "_")
                    .replace("%2A", "*")
            };
            format!("{}={}", encode(k), encode(v))
        })
        .collect::<Vec<_>>()
        .join("&");
    params.get("hmac") == Some(&hex(&hmac(secret.as_bytes(), message.as_bytes())))
}

fn shop_url(h: &Harness, path: &str) -> String {
    format!("{}/{SHOP}{path}", h.url("shopify"))
}

fn redirect_uri(h: &Harness) -> String {
    format!("{}/callback/shopify", h.receiver_url)
}

fn authorize_form(h: &Harness, decision: &str) -> Vec<(String, String)> {
    vec![
        ("client_id".into(), "shopify-client-id".into()),
        (
            "scope".into(),
            "read_products,write_products,read_orders,write_fulfillments".into(),
        ),
        ("redirect_uri".into(), redirect_uri(h)),
        ("state".into(), "nonce-123".into()),
        ("grant_options[]".into(), String::new()),
        ("decision".into(), decision.into()),
    ]
}

/// Install page → Install → callback; returns the callback parameters.
async fn install(h: &Harness) -> BTreeMap<String, String> {
    let page = h
        .http
        .get(shop_url(h, "/admin/oauth/authorize"))
        .query(&authorize_form(h, "")[..5])
        .header("accept-language", "de-DE")
        .send()
        .await
        .unwrap();
    let status = page.status();
    let html = page.text().await.unwrap();
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<form method=\"post\""), "{html}");
    assert!(html.contains("App installieren") && html.contains("write_products"));
    let approved = h
        .http
        .post(shop_url(h, "/admin/oauth/authorize"))
        .form(&authorize_form(h, "install"))
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 302);
    let to = location(&approved);
    assert!(to.starts_with(&redirect_uri(h)), "{to}");
    query_of(&to)
}

async fn token_call(h: &Harness, body: Value) -> reqwest::Response {
    h.http
        .post(shop_url(h, "/admin/oauth/access_token"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A connected shop: returns (access token, refresh token).
async fn connect(h: &Harness) -> (String, String) {
    let params = install(h).await;
    let response = token_call(
        h,
        json!({ "client_id": "shopify-client-id", "client_secret": SECRET, "code": params["code"] }),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

async fn gql_raw(h: &Harness, token: &str, query: &str, variables: Value) -> reqwest::Response {
    h.http
        .post(shop_url(h, "/admin/api/2026-04/graphql.json"))
        .header("X-Shopify-Access-Token", token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap()
}

async fn gql(h: &Harness, token: &str, query: &str, variables: Value) -> Value {
    let response = gql_raw(h, token, query, variables).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["extensions"]["cost"]["throttleStatus"]["maximumAvailable"].is_number(),
        "{body}"
    );
    body
}

const PRODUCT_SET: &str = "mutation Set($input: ProductSetInput!) {
  productSet(input: $input, synchronous: true) {
    product { id title variants(first: 10) { nodes { id sku price inventoryQuantity inventoryItem { id } } } }
    userErrors { code field message }
  }
}";

/// A product with two variants (S, M) at 10 each; returns the product JSON.
async fn create_product(h: &Harness, token: &str) -> Value {
    let location = gql(
        h,
        token,
        "{ locations(first: 1) { nodes { id } } }",
        json!({}),
    )
    .await;
    let location = location["data"]["locations"]["nodes"][0]["id"].clone();
    let body = gql(
        h,
        token,
        PRODUCT_SET,
        json!({ "input": {
            "title": "Linen shirt",
            "productOptions": [{ "name": "Size", "values": [{ "name": "S" }, { "name": "M" }] }],
            "variants": [
                { "sku": "SHIRT-S", "price": "29.90", "optionValues": [{ "optionName": "Size", "name": "S" }],
                  "inventoryQuantities": [{ "locationId": location, "name": "available", "quantity": 10 }] },
                { "sku": "SHIRT-M", "price": "29.90", "optionValues": [{ "optionName": "Size", "name": "M" }],
                  "inventoryQuantities": [{ "locationId": location, "name": "available", "quantity": 10 }] },
            ],
        }}),
    )
    .await;
    assert_eq!(
        body["data"]["productSet"]["userErrors"],
        json!([]),
        "{body}"
    );
    body["data"]["productSet"]["product"].clone()
}

#[tokio::test]
async fn install_flow_signs_the_callback_and_issues_expiring_tokens() {
    let h = Harness::start().await;
    let params = install(&h).await;
    for key in ["code", "hmac", "host", "shop", "state", "timestamp"] {
        assert!(params.contains_key(key), "{key} missing: {params:?}");
    }
    assert_eq!(params["shop"], SHOP);
    assert_eq!(params["state"], "nonce-123");
    assert!(callback_hmac_ok(&params, SECRET), "{params:?}");
    assert!(!callback_hmac_ok(&params, "another-secret"));
    let host = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(params["host"].trim_end_matches('='))
        .unwrap();
    assert_eq!(host, b"admin.shopify.com/store/demo-shop");

    // Form-encoded token requests work as well as JSON.
    let response = h
        .http
        .post(shop_url(&h, "/admin/oauth/access_token"))
        .form(&[
            ("client_id", "shopify-client-id"),
            ("client_secret", SECRET),
            ("code", params["code"].as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["refresh_token_expires_in"], 7_776_000);
    assert_eq!(
        body["scope"],
        "read_products,write_products,read_orders,write_fulfillments"
    );
    let token = body["access_token"].as_str().unwrap();
    let shop = gql(&h, token, "{ shop { myshopifyDomain } }", json!({})).await;
    assert_eq!(shop["data"]["shop"]["myshopifyDomain"], SHOP);
    let state = h.state("shopify").await;
    assert_eq!(state["shops"], json!([SHOP]));
}

#[tokio::test]
async fn install_failures_answer_as_shopify_does() {
    let h = Harness::start().await;
    let mut form = authorize_form(&h, "");
    form.truncate(5);
    // Unknown client.
    let mut unknown = form.clone();
    unknown[0].1 = "nope".into();
    let response = h
        .http
        .get(shop_url(&h, "/admin/oauth/authorize"))
        .query(&unknown)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Could not find Shopify API application with api_key nope")
    );
    // A redirect_uri that is not whitelisted.
    let mut bad = form.clone();
    bad[2].1 = "https://evil.example/callback".into();
    let response = h
        .http
        .get(shop_url(&h, "/admin/oauth/authorize"))
        .query(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("The redirect_uri is not whitelisted")
    );
    // A shop domain the SDK regex refuses.
    let response = h
        .http
        .get(format!(
            "{}/-bad.example.com/admin/oauth/authorize",
            h.url("shopify")
        ))
        .query(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    // Cancel returns the merchant to the shop admin, without a code.
    let cancelled = h
        .http
        .post(shop_url(&h, "/admin/oauth/authorize"))
        .form(&authorize_form(&h, "cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 302);
    assert!(location(&cancelled).ends_with(&format!("/{SHOP}/admin/apps")));

    let not_found = json!({ "error": "invalid_request", "error_description": "The authorization code was not found or was already used" });
    // Wrong secret.
    let params = install(&h).await;
    let response = token_call(
        &h,
        json!({ "client_id": "shopify-client-id", "client_secret": "wrong", "code": params["code"] }),
    )
    .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    // Unknown code.
    let response = token_call(
        &h,
        json!({ "client_id": "shopify-client-id", "client_secret": SECRET, "code": "0123456789abcdef" }),
    )
    .await;
    assert_eq!(response.status(), 400);
    assert_eq!(response.json::<Value>().await.unwrap(), not_found);
    // Used once, then reused: the second exchange fails and the first token is revoked.
    let good = json!({ "client_id": "shopify-client-id", "client_secret": SECRET, "code": params["code"] });
    let first = token_call(&h, good.clone()).await;
    assert_eq!(first.status(), 200);
    let token = first.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let reused = token_call(&h, good).await;
    assert_eq!(reused.status(), 400);
    assert_eq!(reused.json::<Value>().await.unwrap(), not_found);
    let call = gql_raw(&h, &token, "{ shop { name } }", json!({})).await;
    assert_eq!(call.status(), 401);
    // Expired: codes live 10 minutes by default.
    let params = install(&h).await;
    h.advance_clock("shopify", 601).await;
    let response = token_call(
        &h,
        json!({ "client_id": "shopify-client-id", "client_secret": SECRET, "code": params["code"] }),
    )
    .await;
    assert_eq!(response.status(), 400);
    assert_eq!(response.json::<Value>().await.unwrap(), not_found);
}

#[tokio::test]
async fn refresh_rotates_and_tokens_expire_after_an_hour() {
    let h = Harness::start().await;
    let (access, refresh) = connect(&h).await;
    h.advance_clock("shopify", 3600).await;
    let expired = gql_raw(&h, &access, "{ shop { name } }", json!({})).await;
    assert_eq!(expired.status(), 401);
    assert_eq!(
        expired.json::<Value>().await.unwrap(),
        json!({ "errors": INVALID })
    );
    let body = json!({ "client_id": "shopify-client-id", "client_secret": SECRET, "grant_type": "refresh_token", "refresh_token": refresh });
    let response = token_call(&h, body.clone()).await;
    assert_eq!(response.status(), 200);
    let fresh: Value = response.json().await.unwrap();
    assert_ne!(fresh["refresh_token"], json!(refresh));
    assert_eq!(fresh["expires_in"], 3600);
    gql(
        &h,
        fresh["access_token"].as_str().unwrap(),
        "{ shop { name } }",
        json!({}),
    )
    .await;
    let again = token_call(&h, body).await;
    assert_eq!(again.status(), 400);
    assert_eq!(
        again.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn product_set_replaces_variants_and_reads_back() {
    let h = Harness::start().await;
    let (token, _) = connect(&h).await;
    let product = create_product(&h, &token).await;
    let variants = product["variants"]["nodes"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    assert_eq!(variants[0]["price"], "29.90");
    assert_eq!(variants[0]["inventoryQuantity"], 10);
    assert!(
        variants[0]["inventoryItem"]["id"]
            .as_str()
            .unwrap()
            .starts_with("gid://shopify/InventoryItem/")
    );
    let id = product["id"].as_str().unwrap();
    // Update with only the M variant: S is deleted, M keeps its id and stock.
    let body = gql(
        &h,
        &token,
        PRODUCT_SET,
        json!({ "input": {
            "id": id, "title": "Linen shirt II",
            "productOptions": [{ "name": "Size", "values": [{ "name": "M" }] }],
            "variants": [{ "sku": "SHIRT-M", "price": "24.50", "optionValues": [{ "optionName": "Size", "name": "M" }] }],
        }}),
    )
    .await;
    let updated = &body["data"]["productSet"]["product"];
    assert_eq!(updated["variants"]["nodes"].as_array().unwrap().len(), 1);
    assert_eq!(updated["variants"]["nodes"][0]["id"], variants[1]["id"]);
    let read = gql(
        &h,
        &token,
        "query($id: ID!) { product(id: $id) { title variants(first: 5) { nodes { sku price inventoryQuantity } } } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(
        read["data"]["product"],
        json!({ "title": "Linen shirt II", "variants": { "nodes": [{ "sku": "SHIRT-M", "price": "24.50", "inventoryQuantity": 10 }] } })
    );
    // A bad price and an unknown product are user errors.
    let bad = gql(
        &h,
        &token,
        PRODUCT_SET,
        json!({ "input": { "id": "gid://shopify/Product/1", "title": "x" } }),
    )
    .await;
    assert_eq!(
        bad["data"]["productSet"]["userErrors"][0]["code"],
        "PRODUCT_DOES_NOT_EXIST"
    );
}

const SET_QUANTITIES: &str = "mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id changes { name delta quantityAfterChange } }
    userErrors { code field message }
  }
}";

#[tokio::test]
async fn inventory_set_quantities_is_idempotent_and_compare_and_set() {
    let h = Harness::start().await;
    let (token, _) = connect(&h).await;
    let product = create_product(&h, &token).await;
    let item = product["variants"]["nodes"][0]["inventoryItem"]["id"].clone();
    let location =
        gql(&h, &token, "{ location { id } }", json!({})).await["data"]["location"]["id"].clone();
    let input = |quantity: i64, from: i64| {
        json!({ "name": "available", "reason": "correction", "referenceDocumentUri": "shopmarkets://sync/1",
                "quantities": [{ "inventoryItemId": item, "locationId": location, "quantity": quantity, "changeFromQuantity": from }] })
    };
    let first = gql(
        &h,
        &token,
        SET_QUANTITIES,
        json!({ "input": input(7, 10), "key": "k-1" }),
    )
    .await;
    let payload = &first["data"]["inventorySetQuantities"];
    assert_eq!(payload["userErrors"], json!([]), "{first}");
    assert_eq!(
        payload["inventoryAdjustmentGroup"]["changes"][0]["delta"],
        -3
    );
    // The same key and input: the same answer, applied once.
    let replay = gql(
        &h,
        &token,
        SET_QUANTITIES,
        json!({ "input": input(7, 10), "key": "k-1" }),
    )
    .await;
    assert_eq!(replay["data"], first["data"]);
    // The same key with another input is refused.
    let other = gql(
        &h,
        &token,
        SET_QUANTITIES,
        json!({ "input": input(5, 7), "key": "k-1" }),
    )
    .await;
    assert_eq!(
        other["errors"][0]["extensions"]["code"],
        "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
    );
    // Stale changeFromQuantity.
    let stale = gql(
        &h,
        &token,
        SET_QUANTITIES,
        json!({ "input": input(5, 10), "key": "k-2" }),
    )
    .await;
    assert_eq!(
        stale["data"]["inventorySetQuantities"]["userErrors"][0]["code"],
        "CHANGE_FROM_QUANTITY_STALE"
    );
    // No key at all.
    let missing = gql(
        &h,
        &token,
        "mutation Set($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) { userErrors { code } } }",
        json!({ "input": input(5, 7) }),
    )
    .await;
    assert!(
        missing["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("@idempotent"),
        "{missing}"
    );
    let state = h.state("shopify").await;
    let listing = state["listings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["sku"] == "SHIRT-S")
        .unwrap()
        .clone();
    assert_eq!(listing["available"], 7);
}

const ORDERS: &str = "query Orders($after: String, $query: String) {
  orders(first: 2, after: $after, sortKey: UPDATED_AT, query: $query) {
    edges { cursor node { id name email updatedAt displayFulfillmentStatus
      shippingAddress { firstName lastName address1 city zip countryCodeV2 }
      lineItems(first: 5) { nodes { id sku quantity originalUnitPriceSet { shopMoney { amount currencyCode } } } }
      fulfillmentOrders(first: 5) { nodes { id status lineItems(first: 5) { nodes { id remainingQuantity lineItem { id } } } } } } }
    pageInfo { hasNextPage endCursor }
  }
}";

#[tokio::test]
async fn orders_page_with_the_updated_at_query_and_ship_with_tracking() {
    let h = Harness::start().await;
    let (token, _) = connect(&h).await;
    create_product(&h, &token).await;
    let since = chrono::Utc::now() - chrono::Duration::seconds(5);
    for _ in 0..5 {
        h.place_order("shopify", Some("SHIRT-S"), 1).await;
    }
    let query = format!(
        "updated_at:>='{}'",
        since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let mut after = Value::Null;
    let mut names = Vec::new();
    let mut pages = 0;
    let mut first_order = Value::Null;
    loop {
        let body = gql(
            &h,
            &token,
            ORDERS,
            json!({ "after": after, "query": query }),
        )
        .await;
        let orders = &body["data"]["orders"];
        for edge in orders["edges"].as_array().unwrap() {
            names.push(edge["node"]["name"].as_str().unwrap().to_owned());
            if first_order.is_null() {
                first_order = edge["node"].clone();
            }
        }
        pages += 1;
        if orders["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = orders["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["#1001", "#1002", "#1003", "#1004", "#1005"]);
    assert_eq!(first_order["lineItems"]["nodes"][0]["sku"], "SHIRT-S");
    assert_eq!(
        first_order["lineItems"]["nodes"][0]["originalUnitPriceSet"]["shopMoney"]["amount"],
        "29.90"
    );
    assert!(
        first_order["email"]
            .as_str()
            .unwrap()
            .ends_with("@example.com")
    );
    // A query in the future matches nothing.
    let none = gql(
        &h,
        &token,
        ORDERS,
        json!({ "query": "updated_at:>'2999-01-01T00:00:00Z'" }),
    )
    .await;
    assert_eq!(none["data"]["orders"]["edges"], json!([]));

    let fo = &first_order["fulfillmentOrders"]["nodes"][0];
    let body = gql(
        &h,
        &token,
        "mutation Ship($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) {
            fulfillment { id status trackingInfo { company number url } } userErrors { field message } } }",
        json!({ "f": {
            "lineItemsByFulfillmentOrder": [{ "fulfillmentOrderId": fo["id"],
                "fulfillmentOrderLineItems": [{ "id": fo["lineItems"]["nodes"][0]["id"], "quantity": 1 }] }],
            "notifyCustomer": true,
            "trackingInfo": { "company": "DHL", "number": "00340434161234567890", "url": "https://www.dhl.de/track?n=1" },
        }}),
    )
    .await;
    let created = &body["data"]["fulfillmentCreate"];
    assert_eq!(created["userErrors"], json!([]), "{body}");
    assert_eq!(
        created["fulfillment"]["trackingInfo"][0],
        json!({ "company": "DHL", "number": "00340434161234567890", "url": "https://www.dhl.de/track?n=1" })
    );
    let read = gql(
        &h,
        &token,
        "query($id: ID!) { order(id: $id) { displayFulfillmentStatus fulfillmentOrders(first: 1) { nodes { status } } } }",
        json!({ "id": first_order["id"] }),
    )
    .await;
    assert_eq!(
        read["data"]["order"]["displayFulfillmentStatus"],
        "FULFILLED"
    );
    assert_eq!(
        read["data"]["order"]["fulfillmentOrders"]["nodes"][0]["status"],
        "CLOSED"
    );
}

async fn subscribe(h: &Harness, token: &str, topic: &str, path: &str) -> Value {
    let body = gql(
        h,
        token,
        "mutation Sub($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
           webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
             webhookSubscription { id topic uri } userErrors { field message } } }",
        json!({ "topic": topic, "sub": { "uri": format!("{}{path}", h.receiver_url), "format": "JSON" } }),
    )
    .await;
    assert_eq!(
        body["data"]["webhookSubscriptionCreate"]["userErrors"],
        json!([]),
        "{body}"
    );
    body["data"]["webhookSubscriptionCreate"]["webhookSubscription"].clone()
}

#[tokio::test]
async fn webhooks_are_signed_and_keep_their_event_id_across_retries() {
    let h = Harness::start().await;
    let (token, _) = connect(&h).await;
    create_product(&h, &token).await;
    let sub = subscribe(&h, &token, "ORDERS_CREATE", "/hooks/orders").await;
    assert_eq!(sub["topic"], "ORDERS_CREATE");
    let listed = gql(
        &h,
        &token,
        "{ webhookSubscriptions(first: 5) { nodes { id topic } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        listed["data"]["webhookSubscriptions"]["nodes"][0]["id"],
        sub["id"]
    );

    h.receiver.answer("/hooks/orders", 500);
    let order = h.place_order("shopify", None, 2).await;
    let failed = h.receiver.wait_for("/hooks/orders", 1).await;
    h.receiver.answer("/hooks/orders", 200);
    let all = h.receiver.wait_for("/hooks/orders", 2).await;
    let (first, retry) = (&failed[0], &all[all.len() - 1]);
    assert_eq!(
        first.header("x-shopify-event-id"),
        retry.header("x-shopify-event-id")
    );
    assert_eq!(first.body, retry.body);
    for got in [first, retry] {
        let expected =
            base64::engine::general_purpose::STANDARD.encode(hmac(SECRET.as_bytes(), &got.body));
        assert_eq!(got.header("x-shopify-hmac-sha256"), Some(expected.as_str()));
        assert_eq!(got.header("x-shopify-topic"), Some("orders/create"));
        assert_eq!(got.header("x-shopify-shop-domain"), Some(SHOP));
        assert_eq!(got.header("x-shopify-api-version"), Some("2026-04"));
        assert!(got.header("x-shopify-webhook-id").is_some());
        assert!(got.header("x-shopify-triggered-at").is_some());
    }
    let payload = retry.json();
    assert_eq!(payload["id"], order["id"]);
    assert_eq!(payload["line_items"][0]["quantity"], 2);
    assert_eq!(payload["financial_status"], "paid");
    assert!(payload["shipping_address"]["zip"].is_string());

    // Deleting the subscription stops deliveries.
    let deleted = gql(
        &h,
        &token,
        "mutation($id: ID!) { webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { message } } }",
        json!({ "id": sub["id"] }),
    )
    .await;
    assert_eq!(
        deleted["data"]["webhookSubscriptionDelete"]["deletedWebhookSubscriptionId"],
        sub["id"]
    );
    assert_eq!(h.state("shopify").await["webhooks"], json!([]));
}

#[tokio::test]
async fn the_cost_bucket_throttles_and_recovers() {
    let h = Harness::start().await;
    let (token, _) = connect(&h).await;
    h.set_limits(
        "shopify",
        json!({ "enabled": true, "maximum_available": 30, "restore_rate": 10 }),
    )
    .await;
    let query = "{ products(first: 10) { nodes { id } } }"; // 2 + 10 × 1 = 12 points
    let first = gql(&h, &token, query, json!({})).await;
    assert_eq!(first["extensions"]["cost"]["requestedQueryCost"], 12);
    assert_eq!(
        first["extensions"]["cost"]["throttleStatus"]["restoreRate"],
        10.0
    );
    let mut throttled = None;
    for _ in 0..10 {
        let body = gql(&h, &token, query, json!({})).await;
        if body["errors"][0]["extensions"]["code"] == "THROTTLED" {
            throttled = Some(body);
            break;
        }
    }
    let throttled = throttled.expect("the bucket runs dry");
    assert_eq!(throttled["errors"][0]["message"], "Throttled");
    assert!(
        throttled["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"]
            .as_f64()
            .unwrap()
            < 12.0
    );
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let recovered = gql(&h, &token, query, json!({})).await;
    assert!(recovered["errors"].is_null(), "{recovered}");
    // A single query over the maximum cost.
    let huge = gql(
        &h,
        &token,
        "{ products(first: 250) { nodes { variants(first: 250) { nodes { id } } } } }",
        json!({}),
    )
    .await;
    assert_eq!(huge["errors"][0]["extensions"]["code"], "MAX_COST_EXCEEDED");
    // Bad limits are refused.
    let bad = h
        .http
        .put(format!("{}/_sandbox/limits", h.url("shopify")))
        .json(&json!({ "restore_rate": -1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn injected_faults_show_in_shopify_shapes() {
    let h = Harness::start().await;
    let (token, _) = connect(&h).await;
    create_product(&h, &token).await;
    let query = "{ shop { name } }";

    h.set_faults("shopify", json!({ "error_rate": 1.0 })).await;
    let response = gql_raw(&h, &token, query, json!({})).await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "errors": "Service Unavailable" })
    );

    h.set_faults("shopify", json!({ "throttle_rate": 1.0 }))
        .await;
    let body = gql(&h, &token, query, json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "THROTTLED");
    let options = h
        .http
        .put(format!("{}/_sandbox/options", h.url("shopify")))
        .json(&json!({ "throttle_status": 429 }))
        .send()
        .await
        .unwrap();
    assert_eq!(options.status(), 200);
    let response = gql_raw(&h, &token, query, json!({})).await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().get("retry-after").is_some());

    h.set_faults("shopify", json!({ "latency_ms": 300 })).await;
    let started = std::time::Instant::now();
    gql(&h, &token, query, json!({})).await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));

    subscribe(&h, &token, "ORDERS_CREATE", "/hooks/faults").await;
    h.set_faults("shopify", json!({ "drop_rate": 1.0 })).await;
    h.place_order("shopify", None, 1).await;
    let state = h.state("shopify").await;
    assert!(
        state["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["result"] == "dropped"),
        "{}",
        state["deliveries"]
    );

    h.set_faults("shopify", json!({ "duplicate_rate": 1.0 }))
        .await;
    h.receiver.clear();
    h.place_order("shopify", None, 1).await;
    let got = h.receiver.wait_for("/hooks/faults", 2).await;
    assert_eq!(
        got[0].header("x-shopify-event-id"),
        got[1].header("x-shopify-event-id")
    );

    h.set_faults("shopify", json!({ "reorder": true })).await;
    h.receiver.clear();
    let older = h.place_order("shopify", None, 1).await;
    let newer = h.place_order("shopify", None, 1).await;
    let got = h.receiver.wait_for("/hooks/faults", 2).await;
    assert_eq!(got[0].json()["id"], newer["id"]);
    assert_eq!(got[1].json()["id"], older["id"]);

    h.set_faults("shopify", json!({})).await;
    h.revoke("shopify").await;
    let response = gql_raw(&h, &token, query, json!({})).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "errors": INVALID })
    );
}

#[tokio::test]
async fn the_app_uninstalls_itself_through_api_permissions() {
    let h = Harness::start().await;
    let (token, refresh) = connect(&h).await;
    subscribe(&h, &token, "ORDERS_CREATE", "/hooks/uninstall").await;
    let url = shop_url(&h, "/admin/api_permissions/current.json");
    let refused = h
        .http
        .delete(&url)
        .header("X-Shopify-Access-Token", "shpat_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let response = h
        .http
        .delete(&url)
        .header("X-Shopify-Access-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({}));
    // The tokens are revoked and the subscriptions gone.
    let call = gql_raw(&h, &token, "{ shop { name } }", json!({})).await;
    assert_eq!(call.status(), 401);
    let renewed = token_call(
        &h,
        json!({ "client_id": "shopify-client-id", "client_secret": SECRET,
                "grant_type": "refresh_token", "refresh_token": refresh }),
    )
    .await;
    assert_eq!(renewed.status(), 400);
    assert_eq!(h.state("shopify").await["webhooks"], json!([]));
}

#[tokio::test]
async fn snapshot_and_restore_round_trip() {
    let h = Harness::start().await;
    let (token, _) = connect(&h).await;
    create_product(&h, &token).await;
    h.place_order("shopify", None, 1).await;
    let snapshot = h.sandboxes.snapshot();
    let other = Harness::start().await;
    other.sandboxes.restore(&snapshot).unwrap();
    assert_eq!(other.sandboxes.snapshot()["shopify"], snapshot["shopify"]);
    let state = other.state("shopify").await;
    assert_eq!(state["orders"].as_array().unwrap().len(), 1);
    let page = other
        .http
        .get(format!("{}/_sandbox", other.url("shopify")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("SHIRT-S"), "{page}");
    assert!(
        other
            .sandboxes
            .shopify
            .place_test_order(shopmarkets_sandbox::TestOrder {
                sku: Some("NOPE".into()),
                quantity: Some(1)
            })
            .is_err()
    );
}
