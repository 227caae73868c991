//! Contract tests for the WooCommerce sandbox: the wc-auth key flow, request authentication
//! (Basic over HTTPS, one-legged OAuth 1.0a over HTTP, signed here independently), REST v3
//! products, variations, batches, orders, webhooks, faults and snapshots.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{Harness, location, query_of};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};

const STORE: &str = "demo-store";

fn store(h: &Harness) -> String {
    format!("{}/{STORE}", h.url("woocommerce"))
}

struct Keys {
    key: String,
    secret: String,
}

/// RFC 3986 encoding as PHP's rawurlencode does it.
fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One-legged OAuth 1.0a as WooCommerce's documentation describes it: key = secret + "&".
fn oauth_url(
    method: &str,
    url: &str,
    extra: &[(&str, &str)],
    keys: &Keys,
    algo: &str,
    ts: i64,
    nonce: &str,
) -> String {
    let mut params: BTreeMap<String, String> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    params.insert("oauth_consumer_key".into(), keys.key.clone());
    params.insert("oauth_timestamp".into(), ts.to_string());
    params.insert("oauth_nonce".into(), nonce.into());
    params.insert("oauth_signature_method".into(), algo.into());
    let normalized: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    let base = format!("{method}&{}&{}", enc(url), enc(&normalized.join("&")));
    let secret = format!("{}&", keys.secret);
    let signature = if algo == "HMAC-SHA1" {
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(base.as_bytes());
        STANDARD.encode(mac.finalize().into_bytes())
    } else {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(base.as_bytes());
        STANDARD.encode(mac.finalize().into_bytes())
    };
    params.insert("oauth_signature".into(), signature);
    format!("{url}?{}", serde_urlencoded::to_string(&params).unwrap())
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn auth_query(h: &Harness, scope: &str, callback: &str) -> String {
    serde_urlencoded::to_string([
        ("app_name", "ShopMarkets"),
        ("scope", scope),
        ("user_id", "merchant-42"),
        ("return_url", &format!("{}/return", h.receiver_url)),
        ("callback_url", callback),
    ])
    .unwrap()
}

/// Logs in and returns the session cookie plus the authorize page.
async fn login(h: &Harness, query: &str) -> (String, String) {
    let authorize = h
        .http
        .get(format!("{}/wc-auth/v1/authorize?{query}", store(h)))
        .send()
        .await
        .unwrap();
    assert_eq!(authorize.status(), 302);
    assert!(location(&authorize).contains("/wc-auth/v1/login?"));
    let page = h.http.get(location(&authorize)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("name=\"username\" value=\"admin\"")
    );
    let mut form: Vec<(String, String)> = query_of(&format!("?{query}")).into_iter().collect();
    form.push(("username".into(), "admin".into()));
    form.push(("password".into(), "password".into()));
    let logged = h
        .http
        .post(format!("{}/wc-auth/v1/login", store(h)))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(logged.status(), 302);
    let cookie = logged.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let grant = h
        .http
        .get(location(&logged))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(grant.status(), 200);
    (cookie, grant.text().await.unwrap())
}

fn nonce_of(page: &str) -> String {
    let at = page.find("name=\"wc_auth_nonce\" value=\"").unwrap() + 28;
    page[at..].split('"').next().unwrap().to_owned()
}

/// The full flow; returns the keys the app received.
async fn connect(h: &Harness, scope: &str) -> Keys {
    let callback = format!("{}/wc-keys", h.receiver_url);
    let query = auth_query(h, scope, &callback);
    let (cookie, page) = login(h, &query).await;
    assert!(
        page.contains("ShopMarkets would like to connect to your store"),
        "{page}"
    );
    let granted = h
        .http
        .get(format!(
            "{}/wc-auth/v1/access_granted?{query}&wc_auth_nonce={}",
            store(h),
            nonce_of(&page)
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), 302);
    let back = query_of(&location(&granted));
    assert_eq!(back["success"], "1");
    assert_eq!(back["user_id"], "merchant-42");
    let posted = h.receiver.at("/wc-keys").pop().unwrap();
    h.receiver.clear();
    let keys = posted.json();
    Keys {
        key: keys["consumer_key"].as_str().unwrap().into(),
        secret: keys["consumer_secret"].as_str().unwrap().into(),
    }
}

async fn get(h: &Harness, keys: &Keys, path: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let url = format!("{}/wp-json/wc/v3/{path}", store(h));
    h.http
        .get(oauth_url(
            "GET",
            &url,
            extra,
            keys,
            "HMAC-SHA256",
            now(),
            &nonce(),
        ))
        .send()
        .await
        .unwrap()
}

async fn send(
    h: &Harness,
    keys: &Keys,
    method: &str,
    path: &str,
    body: Value,
) -> reqwest::Response {
    let url = format!("{}/wp-json/{path}", store(h));
    let signed = oauth_url(method, &url, &[], keys, "HMAC-SHA256", now(), &nonce());
    h.http
        .request(method.parse().unwrap(), signed)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn assert_error(response: reqwest::Response, status: u16, code: &str, message: &str) {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["message"], message, "{body}");
    assert_eq!(body["data"]["status"], status);
}

#[tokio::test]
async fn authorize_flow_posts_keys_and_redirects() {
    let h = Harness::start().await;
    let callback = format!("{}/wc-keys", h.receiver_url);
    let query = auth_query(&h, "read_write", &callback);
    let (cookie, page) = login(&h, &query).await;
    assert!(page.contains("<form method=\"post\""));
    let granted = h
        .http
        .post(format!("{}/wc-auth/v1/access_granted", store(&h)))
        .header("cookie", &cookie)
        .form(&{
            let mut form: Vec<(String, String)> =
                query_of(&format!("?{query}")).into_iter().collect();
            form.push(("wc_auth_nonce".into(), nonce_of(&page)));
            form
        })
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), 302);
    assert!(location(&granted).starts_with(&format!("{}/return?", h.receiver_url)));
    assert_eq!(query_of(&location(&granted))["success"], "1");
    let posted = h.receiver.at("/wc-keys").pop().unwrap();
    assert!(
        posted
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let keys = posted.json();
    let fields: Vec<&String> = keys.as_object().unwrap().keys().collect();
    assert_eq!(
        fields,
        [
            "consumer_key",
            "consumer_secret",
            "key_id",
            "key_permissions",
            "user_id"
        ]
    );
    assert_eq!(keys["user_id"], "merchant-42");
    assert_eq!(keys["key_permissions"], "read_write");
    assert!(keys["key_id"].is_u64());
    for (field, prefix) in [("consumer_key", "ck_"), ("consumer_secret", "cs_")] {
        let value = keys[field].as_str().unwrap();
        assert!(value.starts_with(prefix) && value.len() == 43, "{value}");
        assert!(value[3..].bytes().all(|b| b.is_ascii_hexdigit()));
    }
    // The nonce is single-use.
    let again = h
        .http
        .get(format!(
            "{}/wc-auth/v1/access_granted?{query}&wc_auth_nonce={}",
            store(&h),
            nonce_of(&page)
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 401);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("Error: Invalid nonce verification.")
    );
}

#[tokio::test]
async fn deny_failures_and_callback_errors() {
    let h = Harness::start().await;
    let callback = format!("{}/wc-keys", h.receiver_url);
    let query = auth_query(&h, "read", &callback);
    let (cookie, _) = login(&h, &query).await;
    let denied = h
        .http
        .post(format!("{}/wc-auth/v1/deny?{query}", store(&h)))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 302);
    let back = query_of(&location(&denied));
    assert_eq!(
        (back["success"].as_str(), back["user_id"].as_str()),
        ("0", "merchant-42")
    );

    // Validation errors, as wp_die pages with 401.
    let cases = [
        (
            query.replace("app_name=ShopMarkets&", ""),
            "Error: Missing parameter app_name.",
        ),
        (
            query.replace("scope=read", "scope=admin"),
            "Error: Invalid scope admin.",
        ),
        (
            auth_query(&h, "read", "http://example.com/keys"),
            "Error: The callback_url needs to be over SSL.",
        ),
    ];
    for (q, message) in cases {
        let response = h
            .http
            .get(format!("{}/wc-auth/v1/authorize?{q}", store(&h)))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        assert!(
            response.text().await.unwrap().contains(message),
            "{message}"
        );
    }

    // http:// loopback callbacks only while the option allows them.
    let options = h
        .http
        .put(format!("{}/_sandbox/options", h.url("woocommerce")))
        .json(&json!({ "allow_http_loopback_callback": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(options.status(), 200);
    let refused = h
        .http
        .get(format!("{}/wc-auth/v1/authorize?{query}", store(&h)))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("needs to be over SSL")
    );
    h.http
        .put(format!("{}/_sandbox/options", h.url("woocommerce")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();

    // A callback answering 500: the keys are deleted and the merchant sees the error.
    h.receiver.answer("/wc-keys", 500);
    let (cookie, page) = login(&h, &query).await;
    let granted = h
        .http
        .get(format!(
            "{}/wc-auth/v1/access_granted?{query}&wc_auth_nonce={}",
            store(&h),
            nonce_of(&page)
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), 401);
    assert!(
        granted
            .text()
            .await
            .unwrap()
            .contains("unable to send the consumer data")
    );
    let posted = h.receiver.at("/wc-keys").pop().unwrap().json();
    assert_eq!(h.state("woocommerce").await["tokens"]["api_keys"], 0);
    let keys = Keys {
        key: posted["consumer_key"].as_str().unwrap().into(),
        secret: posted["consumer_secret"].as_str().unwrap().into(),
    };
    assert_error(
        get(&h, &keys, "products", &[]).await,
        401,
        "woocommerce_rest_authentication_error",
        "Consumer key is invalid.",
    )
    .await;
}

#[tokio::test]
async fn oauth_signatures_timestamps_nonces_and_permissions() {
    let h = Harness::start().await;
    let keys = connect(&h, "read").await;
    let url = format!("{}/wp-json/wc/v3/products", store(&h));
    for algo in ["HMAC-SHA1", "HMAC-SHA256"] {
        let ok = h
            .http
            .get(oauth_url(
                "GET",
                &url,
                &[("per_page", "5")],
                &keys,
                algo,
                now(),
                &nonce(),
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200, "{algo}: {}", ok.text().await.unwrap());
    }
    let stale = oauth_url(
        "GET",
        &url,
        &[],
        &keys,
        "HMAC-SHA256",
        now() - 16 * 60,
        &nonce(),
    );
    assert_error(
        h.http.get(stale).send().await.unwrap(),
        401,
        "woocommerce_rest_authentication_error",
        "Invalid timestamp.",
    )
    .await;
    let once = oauth_url("GET", &url, &[], &keys, "HMAC-SHA256", now(), "fixed-nonce");
    assert_eq!(h.http.get(&once).send().await.unwrap().status(), 200);
    assert_error(
        h.http.get(&once).send().await.unwrap(),
        401,
        "woocommerce_rest_authentication_error",
        "Invalid nonce - nonce has already been used.",
    )
    .await;
    let wrong = Keys {
        key: keys.key.clone(),
        secret: "cs_wrong".into(),
    };
    assert_error(
        h.http
            .get(oauth_url(
                "GET",
                &url,
                &[],
                &wrong,
                "HMAC-SHA256",
                now(),
                &nonce(),
            ))
            .send()
            .await
            .unwrap(),
        401,
        "woocommerce_rest_authentication_error",
        "Invalid signature - provided signature does not match.",
    )
    .await;
    let unknown = Keys {
        key: "ck_unknown".into(),
        secret: keys.secret.clone(),
    };
    assert_error(
        get(&h, &unknown, "products", &[]).await,
        401,
        "woocommerce_rest_authentication_error",
        "Consumer key is invalid.",
    )
    .await;
    let missing = h
        .http
        .get(format!("{url}?oauth_consumer_key={}", keys.key))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["code"],
        "woocommerce_rest_authentication_missing_parameter"
    );
    // A read key cannot write.
    assert_error(
        send(&h, &keys, "POST", "wc/v3/products", json!({ "name": "X" })).await,
        401,
        "woocommerce_rest_authentication_error",
        "The API key provided does not have write permissions.",
    )
    .await;
    // No key at all: the endpoint's own refusal.
    assert_error(
        h.http.get(&url).send().await.unwrap(),
        401,
        "woocommerce_rest_cannot_view",
        "Sorry, you cannot list resources.",
    )
    .await;
    // Revoked keys.
    h.revoke("woocommerce").await;
    assert_error(
        get(&h, &keys, "products", &[]).await,
        401,
        "woocommerce_rest_authentication_error",
        "Consumer key is invalid.",
    )
    .await;
}

#[tokio::test]
async fn basic_auth_over_https_mode() {
    let h = Harness::start().await;
    let keys = connect(&h, "read_write").await;
    let url = format!("{}/wp-json/wc/v3/products", store(&h));
    // Over plain HTTP, Basic credentials are not looked at.
    let plain = h
        .http
        .get(&url)
        .basic_auth(&keys.key, Some(&keys.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 401);
    h.http
        .put(format!("{}/_sandbox/options", h.url("woocommerce")))
        .json(&json!({ "request_scheme": "https" }))
        .send()
        .await
        .unwrap();
    let basic = h
        .http
        .get(&url)
        .basic_auth(&keys.key, Some(&keys.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 200);
    let query = h
        .http
        .get(format!(
            "{url}?consumer_key={}&consumer_secret={}",
            keys.key, keys.secret
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(query.status(), 200);
    assert_error(
        h.http
            .get(&url)
            .basic_auth(&keys.key, Some("cs_wrong"))
            .send()
            .await
            .unwrap(),
        401,
        "woocommerce_rest_authentication_error",
        "Consumer secret is invalid.",
    )
    .await;
}

#[tokio::test]
async fn products_variations_and_batches() {
    let h = Harness::start().await;
    let keys = connect(&h, "read_write").await;
    let created = send(
        &h,
        &keys,
        "POST",
        "wc/v3/products",
        json!({
            "name": "Leinenhemd", "type": "simple", "sku": "HEMD-1", "regular_price": "49.90",
            "manage_stock": true, "stock_quantity": 7
        }),
    )
    .await;
    assert_eq!(created.status(), 201);
    let product: Value = created.json().await.unwrap();
    let id = product["id"].as_u64().unwrap();
    assert_eq!(product["regular_price"], "49.90");
    assert_eq!(product["price"], "49.90");
    assert_eq!(product["stock_status"], "instock");
    assert!(product["date_created_gmt"].as_str().unwrap().len() == 19);

    let updated = send(
        &h,
        &keys,
        "PUT",
        &format!("wc/v3/products/{id}"),
        json!({ "stock_quantity": 0, "sale_price": "39.90" }),
    )
    .await;
    assert_eq!(updated.status(), 200);
    let read: Value = get(&h, &keys, &format!("products/{id}"), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            read["stock_quantity"].as_i64(),
            read["stock_status"].as_str()
        ),
        (Some(0), Some("outofstock"))
    );
    assert_eq!(read["price"], "39.90");
    let by_sku: Value = get(&h, &keys, "products", &[("sku", "HEMD-1")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_sku.as_array().unwrap().len(), 1);

    assert_error(
        send(
            &h,
            &keys,
            "POST",
            "wc/v3/products",
            json!({ "name": "Dup", "sku": "HEMD-1" }),
        )
        .await,
        400,
        "product_invalid_sku",
        "Invalid or duplicated SKU.",
    )
    .await;
    assert_error(
        get(&h, &keys, "products/999999", &[]).await,
        404,
        "woocommerce_rest_product_invalid_id",
        "Invalid ID.",
    )
    .await;
    let numeric = send(
        &h,
        &keys,
        "PUT",
        &format!("wc/v3/products/{id}"),
        json!({ "regular_price": 9.99 }),
    )
    .await;
    assert_eq!(numeric.status(), 400);
    assert_eq!(
        numeric.json::<Value>().await.unwrap()["code"],
        "rest_invalid_param"
    );

    let variable: Value = send(
        &h,
        &keys,
        "POST",
        "wc/v3/products",
        json!({ "name": "T-Shirt", "type": "variable",
        "attributes": [{ "name": "Größe", "options": ["S", "M"], "variation": true }] }),
    )
    .await
    .json()
    .await
    .unwrap();
    let vid_parent = variable["id"].as_u64().unwrap();
    let variation = send(
        &h,
        &keys,
        "POST",
        &format!("wc/v3/products/{vid_parent}/variations"),
        json!({
        "sku": "TS-S", "regular_price": "19.00", "manage_stock": true, "stock_quantity": 3,
        "attributes": [{ "name": "Größe", "option": "S" }] }),
    )
    .await;
    assert_eq!(variation.status(), 201);
    let vid = variation.json::<Value>().await.unwrap()["id"]
        .as_u64()
        .unwrap();
    let put = send(
        &h,
        &keys,
        "PUT",
        &format!("wc/v3/products/{vid_parent}/variations/{vid}"),
        json!({ "stock_quantity": 9 }),
    )
    .await;
    assert_eq!(put.json::<Value>().await.unwrap()["stock_quantity"], 9);
    let parent: Value = get(&h, &keys, &format!("products/{vid_parent}"), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(parent["variations"], json!([vid]));
    let batch = send(
        &h,
        &keys,
        "POST",
        &format!("wc/v3/products/{vid_parent}/variations/batch"),
        json!({ "update": [{ "id": vid, "regular_price": "21.00" }] }),
    )
    .await;
    assert_eq!(
        batch.json::<Value>().await.unwrap()["update"][0]["regular_price"],
        "21.00"
    );

    let creates: Vec<Value> = (0..60)
        .map(|i| json!({ "name": format!("P{i}"), "sku": format!("B-{i}") }))
        .collect();
    let updates: Vec<Value> = (0..41)
        .map(|_| json!({ "id": id, "regular_price": "1.00" }))
        .collect();
    assert_error(
        send(
            &h,
            &keys,
            "POST",
            "wc/v3/products/batch",
            json!({ "create": creates, "update": updates }),
        )
        .await,
        413,
        "woocommerce_rest_request_entity_too_large",
        "Unable to accept more than 100 items for this request.",
    )
    .await;
    let ok: Value = send(&h, &keys, "POST", "wc/v3/products/batch", json!({ "create": [{ "name": "B", "sku": "B-1" }, { "name": "C", "sku": "HEMD-1" }], "delete": [id] })).await.json().await.unwrap();
    assert_eq!(ok["create"][0]["sku"], "B-1");
    assert_eq!(ok["create"][1]["error"]["code"], "product_invalid_sku");
    assert_eq!(ok["delete"][0]["id"], id);
}

/// Every `Link` header (WordPress also sends its API discovery link).
fn links(response: &reqwest::Response) -> String {
    let all: Vec<&str> = response
        .headers()
        .get_all("link")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    all.join(", ")
}

async fn setup_shop(h: &Harness, keys: &Keys, stock: i64) {
    let created = send(h, keys, "POST", "wc/v3/products", json!({ "name": "Tasse", "sku": "TASSE", "regular_price": "12.50", "manage_stock": true, "stock_quantity": stock })).await;
    assert_eq!(created.status(), 201);
}

async fn add_webhook(h: &Harness, keys: &Keys, topic: &str, path: &str) -> Value {
    let response = send(h, keys, "POST", "wc/v3/webhooks", json!({
        "name": "ShopMarkets", "topic": topic, "delivery_url": format!("{}{path}", h.receiver_url), "secret": "geheim-123", "status": "active"
    }))
    .await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

#[tokio::test]
async fn orders_paginate_complete_and_track() {
    let h = Harness::start().await;
    let keys = connect(&h, "read_write").await;
    setup_shop(&h, &keys, 50).await;
    for _ in 0..5 {
        h.place_order("woocommerce", Some("TASSE"), 2).await;
    }
    let first = get(
        &h,
        &keys,
        "orders",
        &[
            ("per_page", "2"),
            ("orderby", "modified"),
            ("order", "asc"),
            ("modified_after", "2020-01-01T00:00:00"),
            ("dates_are_gmt", "true"),
        ],
    )
    .await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["x-wp-total"], "5");
    assert_eq!(first.headers()["x-wp-totalpages"], "3");
    let link = links(&first);
    assert!(
        link.contains("rel=\"next\"") && link.contains("page=2") && !link.contains("rel=\"prev\""),
        "{link}"
    );
    let page1: Value = first.json().await.unwrap();
    let mut seen: Vec<u64> = page1
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_u64().unwrap())
        .collect();
    for page in ["2", "3"] {
        let response = get(
            &h,
            &keys,
            "orders",
            &[
                ("per_page", "2"),
                ("page", page),
                ("orderby", "modified"),
                ("order", "asc"),
            ],
        )
        .await;
        if page == "2" {
            assert!(links(&response).contains("rel=\"prev\""));
        }
        let body: Value = response.json().await.unwrap();
        seen.extend(
            body.as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_u64().unwrap()),
        );
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 5);
    let order = &page1[0];
    assert_eq!(order["status"], "processing");
    assert_eq!(order["line_items"][0]["sku"], "TASSE");
    assert_eq!(order["total"], "25.00");
    assert!(
        order["billing"]["email"]
            .as_str()
            .unwrap()
            .ends_with("@example.com")
    );
    let id = order["id"].as_u64().unwrap();
    let product: Value = get(&h, &keys, "products", &[("sku", "TASSE")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(product[0]["stock_quantity"], 40);

    let done = send(
        &h,
        &keys,
        "PUT",
        &format!("wc/v3/orders/{id}"),
        json!({ "status": "completed" }),
    )
    .await;
    let done: Value = done.json().await.unwrap();
    assert_eq!(done["status"], "completed");
    assert!(done["date_completed"].is_string());
    let tracking = send(&h, &keys, "POST", &format!("wc-shipment-tracking/v3/orders/{id}/shipment-trackings"), json!({ "tracking_provider": "DHL", "tracking_number": "00340434161094042557", "date_shipped": "2026-03-02" })).await;
    assert_eq!(tracking.status(), 201);
    assert_eq!(
        tracking.json::<Value>().await.unwrap()["tracking_number"],
        "00340434161094042557"
    );
    let note = send(
        &h,
        &keys,
        "POST",
        &format!("wc/v3/orders/{id}/notes"),
        json!({ "note": "Versendet mit DHL", "customer_note": true }),
    )
    .await;
    assert_eq!(note.status(), 201);
    assert_error(
        send(
            &h,
            &keys,
            "PUT",
            "wc/v3/orders/99999",
            json!({ "status": "completed" }),
        )
        .await,
        404,
        "woocommerce_rest_shop_order_invalid_id",
        "Invalid ID.",
    )
    .await;
    assert_error(
        get(&h, &keys, "orders", &[("per_page", "101")]).await,
        400,
        "rest_invalid_param",
        "Invalid parameter(s): per_page",
    )
    .await;
}

fn verify(body: &[u8], secret: &str, signature: &str) -> bool {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes()) == signature
}

#[tokio::test]
async fn webhooks_ping_sign_and_disable() {
    // RFC 4231 test case 2, base64: the signature algorithm itself.
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"Jefe").unwrap();
    mac.update(b"what do ya want for nothing?");
    assert_eq!(
        STANDARD.encode(mac.finalize().into_bytes()),
        "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="
    );

    let h = Harness::start().await;
    let keys = connect(&h, "read_write").await;
    setup_shop(&h, &keys, 50).await;
    let hook = add_webhook(&h, &keys, "order.created", "/hooks/created").await;
    let ping = h.receiver.wait_for("/hooks/created", 1).await.remove(0);
    assert_eq!(
        ping.body.as_ref(),
        format!("webhook_id={}", hook["id"]).as_bytes()
    );
    assert!(ping.header("x-wc-webhook-signature").is_none());
    h.receiver.clear();

    let order = h.place_order("woocommerce", None, 1).await;
    let got = h.receiver.wait_for("/hooks/created", 1).await.remove(0);
    assert!(verify(
        &got.body,
        "geheim-123",
        got.header("x-wc-webhook-signature").unwrap()
    ));
    assert!(!verify(
        &got.body,
        "other",
        got.header("x-wc-webhook-signature").unwrap()
    ));
    assert_eq!(got.header("x-wc-webhook-topic"), Some("order.created"));
    assert_eq!(got.header("x-wc-webhook-resource"), Some("order"));
    assert_eq!(got.header("x-wc-webhook-event"), Some("created"));
    assert_eq!(
        got.header("x-wc-webhook-source"),
        Some(format!("{}/", store(&h)).as_str())
    );
    assert_eq!(
        got.header("x-wc-webhook-id").unwrap(),
        hook["id"].to_string()
    );
    assert!(got.header("x-wc-webhook-delivery-id").is_some());
    assert!(
        got.header("user-agent")
            .unwrap()
            .contains("Hookshot (WordPress/")
    );
    assert_eq!(got.json()["id"], order["id"]);

    // order.updated from a status change through the API.
    add_webhook(&h, &keys, "order.updated", "/hooks/updated").await;
    h.receiver.wait_for("/hooks/updated", 1).await;
    h.receiver.clear();
    send(
        &h,
        &keys,
        "PUT",
        &format!("wc/v3/orders/{}", order["id"]),
        json!({ "status": "completed" }),
    )
    .await;
    let updated = h.receiver.wait_for("/hooks/updated", 1).await.remove(0);
    assert_eq!(updated.json()["status"], "completed");

    // Failures: no retry; disabled after more than five in a row.
    h.receiver.answer("/hooks/created", 500);
    h.receiver.clear();
    for i in 1..=6 {
        h.place_order("woocommerce", None, 1).await;
        h.receiver.wait_for("/hooks/created", i).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(h.receiver.at("/hooks/created").len(), 6, "one attempt each");
    let mut status = Value::Null;
    for _ in 0..50 {
        let hooks: Value = get(&h, &keys, &format!("webhooks/{}", hook["id"]), &[])
            .await
            .json()
            .await
            .unwrap();
        status = hooks["status"].clone();
        if status == "disabled" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "disabled");
    h.place_order("woocommerce", None, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        h.receiver.at("/hooks/created").len(),
        6,
        "a disabled webhook gets nothing"
    );
}

#[tokio::test]
async fn faults_limits_and_snapshot() {
    let h = Harness::start().await;
    let keys = connect(&h, "read_write").await;
    setup_shop(&h, &keys, 100).await;
    add_webhook(&h, &keys, "order.created", "/hooks/o").await;
    h.receiver.wait_for("/hooks/o", 1).await;
    h.receiver.clear();

    h.set_faults("woocommerce", json!({ "error_rate": 1.0 }))
        .await;
    let failed = get(&h, &keys, "products", &[]).await;
    assert_eq!(failed.status(), 500);
    assert_eq!(
        failed.json::<Value>().await.unwrap()["code"],
        "internal_server_error"
    );
    h.set_faults("woocommerce", json!({ "throttle_rate": 1.0 }))
        .await;
    let throttled = get(&h, &keys, "products", &[]).await;
    assert_eq!(throttled.status(), 429);
    assert!(throttled.headers().contains_key("retry-after"));
    assert_eq!(
        throttled.json::<Value>().await.unwrap()["code"],
        "rest_too_many_requests"
    );
    h.set_faults("woocommerce", json!({ "latency_ms": 300 }))
        .await;
    let started = std::time::Instant::now();
    assert_eq!(get(&h, &keys, "products", &[]).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    h.set_faults("woocommerce", json!({ "drop_rate": 1.0 }))
        .await;
    h.place_order("woocommerce", None, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(h.receiver.at("/hooks/o").is_empty());
    let state = h.state("woocommerce").await;
    assert!(
        state["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["result"] == "dropped")
    );

    h.set_faults("woocommerce", json!({ "duplicate_rate": 1.0 }))
        .await;
    h.place_order("woocommerce", None, 1).await;
    let twice = h.receiver.wait_for("/hooks/o", 2).await;
    assert_eq!(
        twice[0].header("x-wc-webhook-delivery-id"),
        twice[1].header("x-wc-webhook-delivery-id")
    );
    h.receiver.clear();

    h.set_faults("woocommerce", json!({ "reorder": true }))
        .await;
    let a = h.place_order("woocommerce", None, 1).await;
    let b = h.place_order("woocommerce", None, 1).await;
    let pair = h.receiver.wait_for("/hooks/o", 2).await;
    assert_eq!(pair[0].json()["id"], b["id"]);
    assert_eq!(pair[1].json()["id"], a["id"]);
    h.set_faults("woocommerce", json!({})).await;

    // The optional host limit.
    h.set_limits(
        "woocommerce",
        json!({ "enabled": true, "per_second": 2, "burst": 2 }),
    )
    .await;
    let mut limited = None;
    for _ in 0..10 {
        let response = get(&h, &keys, "products", &[]).await;
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
    }
    let limited = limited.expect("the limit answers 429");
    assert_eq!(limited.headers()["retry-after"], "1");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(get(&h, &keys, "products", &[]).await.status(), 200);
    let bad = h
        .http
        .put(format!("{}/_sandbox/limits", h.url("woocommerce")))
        .json(&json!({ "per_second": -1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    h.set_limits("woocommerce", json!({ "enabled": false }))
        .await;

    let snapshot = h.sandboxes.woocommerce.snapshot();
    let other = Harness::start().await;
    use shopmarkets_sandbox::Sandbox;
    other
        .sandboxes
        .woocommerce
        .restore(snapshot.clone())
        .unwrap();
    assert_eq!(other.sandboxes.woocommerce.snapshot(), snapshot);
    let state = h.state("woocommerce").await;
    assert!(state["orders"].as_array().unwrap().len() >= 4);
    assert_eq!(state["listings"][0]["sku"], "TASSE");
    let page = h
        .http
        .get(format!("{}/_sandbox", h.url("woocommerce")))
        .header("accept-language", "de")
        .send()
        .await
        .unwrap();
    assert!(page.text().await.unwrap().contains("TASSE"));
}
