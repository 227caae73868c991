//! Throughput of the sandboxes: a sync benchmark must never wait on them. The requirement is at
//! least 5,000 requests/s per sandbox on loopback with the rate limits off.
//!
//! Each sandbox is connected through its real auth flow over plain HTTP, then one representative
//! authenticated read is sent by 32 concurrent tasks over keep-alive connections for three
//! seconds. The client shares the machine (and the test's two worker threads) with the server,
//! so the rates printed are a lower bound. The test fails on any non-2xx answer, never on the
//! rate: machines are too noisy for that. The first line, the sandboxes' index page without
//! auth, shows what server and client manage with no sandbox work at all; when it is far below
//! its usual figure, something else is using the CPU. Run with
//! `cargo test -p shopmarkets-sandbox --test throughput -- --ignored --nocapture`, and with
//! `SANDBOX_BENCH_ITEMS=1000` to measure against a catalogue of a thousand listings.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{Harness, location, query_of};
use hmac::{Hmac, Mac};
use reqwest::{Client, RequestBuilder};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const TASKS: usize = 32;
const RUN: Duration = Duration::from_secs(3);

/// How many listings each sandbox holds while it is measured (`SANDBOX_BENCH_ITEMS`, default 1):
/// a larger catalogue shows whether a read costs more as the seller's data grows.
fn items() -> usize {
    std::env::var("SANDBOX_BENCH_ITEMS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
        .max(1)
}

/// Builds one request of the benchmark (signed afresh each time where the marketplace wants it).
type Build = Arc<dyn Fn(&Client) -> RequestBuilder + Send + Sync>;

struct Outcome {
    requests: u64,
    errors: u64,
    first_error: Option<String>,
    elapsed: Duration,
}

/// `TASKS` tasks send `build`'s request back to back for `RUN`.
async fn hammer(client: &Client, build: Build) -> Outcome {
    let started = Instant::now();
    let deadline = started + RUN;
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let client = client.clone();
            let build = Arc::clone(&build);
            tokio::spawn(async move {
                let (mut requests, mut errors, mut first_error) = (0u64, 0u64, None);
                while Instant::now() < deadline {
                    let response = build(&client).send().await;
                    requests += 1;
                    match response {
                        Ok(response) => {
                            let status = response.status();
                            // The body is read to the end, so the connection is reused.
                            let body = response.bytes().await;
                            if !status.is_success() || body.is_err() {
                                errors += 1;
                                first_error.get_or_insert_with(|| {
                                    format!(
                                        "{status}: {}",
                                        String::from_utf8_lossy(&body.unwrap_or_default())
                                    )
                                });
                            }
                        }
                        Err(error) => {
                            errors += 1;
                            first_error.get_or_insert_with(|| error.to_string());
                        }
                    }
                }
                (requests, errors, first_error)
            })
        })
        .collect();
    let mut outcome = Outcome {
        requests: 0,
        errors: 0,
        first_error: None,
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        let (requests, errors, first_error) = task.await.unwrap();
        outcome.requests += requests;
        outcome.errors += errors;
        if outcome.first_error.is_none() {
            outcome.first_error = first_error;
        }
    }
    outcome.elapsed = started.elapsed();
    outcome
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Checks a status and returns the body as JSON (or Null).
async fn expect(response: reqwest::Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

// Shopify: install (authorize form, Install), code for an access token, then GraphQL.

const SHOPIFY_SHOP: &str = "bench-shop.myshopify.com";

async fn shopify(h: &Harness) -> Build {
    let shop = format!("{}/{SHOPIFY_SHOP}", h.url("shopify"));
    let approved = h
        .http
        .post(format!("{shop}/admin/oauth/authorize"))
        .form(&[
            ("client_id", "shopify-client-id"),
            ("scope", "read_products,write_products"),
            (
                "redirect_uri",
                &format!("{}/callback/shopify", h.receiver_url),
            ),
            ("state", "bench"),
            ("grant_options[]", ""),
            ("decision", "install"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 302);
    let code = query_of(&location(&approved))["code"].clone();
    let token = expect(
        h.http
            .post(format!("{shop}/admin/oauth/access_token"))
            .json(&json!({ "client_id": "shopify-client-id",
                "client_secret": "shopify-client-secret", "code": code }))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!("{shop}/admin/api/2026-04/graphql.json");
    let gql = |query: &str, variables: Value| {
        h.http
            .post(&url)
            .header("X-Shopify-Access-Token", &token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
    };
    for i in 1..=items() {
        let created = expect(
        gql(
            "mutation Set($input: ProductSetInput!) { productSet(input: $input, synchronous: true) { \
             product { id } userErrors { message } } }",
            json!({ "input": { "title": "Bench mug",
                "productOptions": [{ "name": "Title", "values": [{ "name": "Default Title" }] }],
                "variants": [{ "sku": format!("BENCH-{i}"), "price": "9.90",
                    "optionValues": [{ "optionName": "Title", "name": "Default Title" }] }] } }),
        )
        .await
        .unwrap(),
        200,
    )
    .await;
        assert_eq!(
            created["data"]["productSet"]["userErrors"],
            json!([]),
            "{created}"
        );
    }
    let body = json!({ "query": "{ products(first: 1) { nodes { id title variants(first: 1) { nodes { sku inventoryQuantity } } } } }" }).to_string();
    Arc::new(move |client: &Client| {
        client
            .post(&url)
            .header("X-Shopify-Access-Token", &token)
            .header("content-type", "application/json")
            .body(body.clone())
    })
}

// WooCommerce: wc-auth (authorize, login, grant), keys posted to the receiver, then REST v3
// with one-legged OAuth 1.0a (the plain-HTTP mode; HTTPS mode with Basic would skip the
// signature, so OAuth is the heavier and more representative path).

fn rawurlencode(s: &str) -> String {
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

fn woo_signed(method: &str, url: &str, extra: &[(&str, &str)], key: &str, secret: &str) -> String {
    let mut params: BTreeMap<String, String> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    params.insert("oauth_consumer_key".into(), key.into());
    params.insert("oauth_timestamp".into(), now().to_string());
    params.insert(
        "oauth_nonce".into(),
        uuid::Uuid::new_v4().simple().to_string(),
    );
    params.insert("oauth_signature_method".into(), "HMAC-SHA256".into());
    let normalized: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", rawurlencode(k), rawurlencode(v)))
        .collect();
    let base = format!(
        "{method}&{}&{}",
        rawurlencode(url),
        rawurlencode(&normalized.join("&"))
    );
    let signature = STANDARD.encode(hmac_sha256(
        format!("{secret}&").as_bytes(),
        base.as_bytes(),
    ));
    params.insert("oauth_signature".into(), signature);
    format!("{url}?{}", serde_urlencoded::to_string(&params).unwrap())
}

async fn woocommerce(h: &Harness) -> Build {
    let store = format!("{}/bench-store", h.url("woocommerce"));
    let callback = format!("{}/wc-keys", h.receiver_url);
    let auth: Vec<(String, String)> = vec![
        ("app_name".into(), "ShopMarkets".into()),
        ("scope".into(), "read_write".into()),
        ("user_id".into(), "bench".into()),
        ("return_url".into(), format!("{}/return", h.receiver_url)),
        ("callback_url".into(), callback),
    ];
    let mut login = auth.clone();
    login.push(("username".into(), "admin".into()));
    login.push(("password".into(), "password".into()));
    let logged = h
        .http
        .post(format!("{store}/wc-auth/v1/login"))
        .form(&login)
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
    let page = h
        .http
        .get(location(&logged))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "name=\"wc_auth_nonce\" value=\"";
    let at = page.find(marker).expect("the grant page") + marker.len();
    let nonce = page[at..].split('"').next().unwrap().to_owned();
    let mut grant = auth;
    grant.push(("wc_auth_nonce".into(), nonce));
    let granted = h
        .http
        .post(format!("{store}/wc-auth/v1/access_granted"))
        .header("cookie", &cookie)
        .form(&grant)
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), 302);
    let keys = h
        .receiver
        .wait_for("/wc-keys", 1)
        .await
        .pop()
        .unwrap()
        .json();
    let key = keys["consumer_key"].as_str().unwrap().to_owned();
    let secret = keys["consumer_secret"].as_str().unwrap().to_owned();
    let products = format!("{store}/wp-json/wc/v3/products");
    for i in 1..=items() {
        let created = h
            .http
            .post(woo_signed("POST", &products, &[], &key, &secret))
            .json(&json!({ "name": "Bench mug", "regular_price": "9.90", "sku": format!("BENCH-{i}") }))
            .send()
            .await
            .unwrap();
        expect(created, 201).await;
    }
    Arc::new(move |client: &Client| {
        client.get(woo_signed(
            "GET",
            &products,
            &[("per_page", "1")],
            &key,
            &secret,
        ))
    })
}

// Amazon: Seller Central consent, LWA code exchange, one listing, then getListingsItem.

async fn amazon(h: &Harness) -> Build {
    let base = h.url("amazon");
    let app = "amzn1.sp.solution.test-app";
    let confirm = h
        .http
        .post(format!("{base}/apps/authorize/consent"))
        .form(&[
            ("application_id", app),
            ("state", "bench"),
            ("decision", "confirm"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status(), 302);
    let query = query_of(&location(&confirm));
    let seller = query["selling_partner_id"].clone();
    let token = expect(
        h.http
            .post(format!("{base}/auth/o2/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &query["spapi_oauth_code"]),
                (
                    "redirect_uri",
                    &format!("{}/callback/amazon", h.receiver_url),
                ),
                ("client_id", "amzn1.application-oa2-client.test"),
                ("client_secret", "amazon-client-secret"),
            ])
            .send()
            .await
            .unwrap(),
        200,
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let marketplace = "A1PA6795UKMFR9";
    let item = |sku: &str| {
        format!("{base}/listings/2021-08-01/items/{seller}/{sku}?marketplaceIds={marketplace}")
    };
    for i in (1..=items()).rev() {
        let put = expect(
        h.http
            .put(item(&format!("BENCH-{i}")))
            .header("x-amz-access-token", &token)
            .json(&json!({
                "productType": "PRODUCT",
                "requirements": "LISTING",
                "attributes": {
                    "item_name": [{ "value": "Bench mug", "language_tag": "de_DE", "marketplace_id": marketplace }],
                    "condition_type": [{ "value": "new_new", "marketplace_id": marketplace }],
                    "fulfillment_availability": [{ "fulfillment_channel_code": "DEFAULT", "quantity": 5 }],
                    "purchasable_offer": [{ "currency": "EUR", "marketplace_id": marketplace,
                        "our_price": [{ "schedule": [{ "value_with_tax": 9.9 }] }] }],
                },
            }))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
        assert_eq!(put["status"], "ACCEPTED", "{put}");
    }
    let url = format!(
        "{}&includedData=summaries,attributes,offers,fulfillmentAvailability",
        item("BENCH-1")
    );
    Arc::new(move |client: &Client| client.get(&url).header("x-amz-access-token", &token))
}

// eBay: consent (Agree), authorization code for a user token, then getInventoryItems.

async fn ebay(h: &Harness) -> Build {
    let client_id = "ShopMark-Test-SBX-1234";
    let ru_name = "ShopMarkets-Test-RuName";
    let agreed = h
        .http
        .post(format!("{}/oauth2/authorize", h.url("ebay")))
        .form(&[
            ("client_id", client_id),
            ("redirect_uri", ru_name),
            ("response_type", "code"),
            (
                "scope",
                "https://api.ebay.com/oauth/api_scope/sell.inventory",
            ),
            ("state", "bench"),
            ("username", "sandbox_seller"),
            ("decision", "agree"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(agreed.status(), 302);
    let code = query_of(&location(&agreed))["code"].clone();
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{client_id}:SBX-ebay-client-secret"))
    );
    let token = expect(
        h.http
            .post(format!("{}/identity/v1/oauth2/token", h.url("ebay")))
            .header("authorization", basic)
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", ru_name),
            ])
            .send()
            .await
            .unwrap(),
        200,
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let inventory = format!("{}/sell/inventory/v1/inventory_item", h.url("ebay"));
    for i in 1..=items() {
        let put = h
            .http
            .put(format!("{inventory}/BENCH-{i}"))
            .bearer_auth(&token)
            .header("content-language", "de-DE")
            .json(&json!({
                "product": { "title": "Bench mug", "description": "Steingut" },
                "condition": "NEW",
                "availability": { "shipToLocationAvailability": { "quantity": 5 } },
            }))
            .send()
            .await
            .unwrap();
        expect(put, 204).await;
    }
    let url = format!("{inventory}?limit=1");
    Arc::new(move |client: &Client| client.get(&url).bearer_auth(&token))
}

// Kaufland: no auth flow; every request is signed with the seller's client and secret key.

const KAUFLAND_KEY: &str = "0123456789abcdef0123456789abcdef";
const KAUFLAND_SECRET: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

fn kaufland_signed(
    client: &Client,
    method: reqwest::Method,
    url: &str,
    body: &str,
) -> RequestBuilder {
    let ts = now();
    let signature = hex(&hmac_sha256(
        KAUFLAND_SECRET.as_bytes(),
        format!("{method}\n{url}\n{body}\n{ts}").as_bytes(),
    ));
    let request = client
        .request(method, url)
        .header("Accept", "application/json")
        .header("Shop-Client-Key", KAUFLAND_KEY)
        .header("Shop-Timestamp", ts.to_string())
        .header("Shop-Signature", signature);
    if body.is_empty() {
        request
    } else {
        request
            .header("Content-Type", "application/json")
            .body(body.to_owned())
    }
}

async fn kaufland(h: &Harness) -> Build {
    let base = h.url("kaufland");
    for i in 1..=items() {
        let unit = json!({ "ean": format!("40063813{i:05}"), "condition": "NEW", "listing_price": 990,
        "minimum_price": 890, "amount": 5, "note": "Bench", "handling_time": 2, "id_offer": format!("BENCH-{i}") })
    .to_string();
        let created = kaufland_signed(
            &h.http,
            reqwest::Method::POST,
            &format!("{base}/v2/units?storefront=de"),
            &unit,
        )
        .send()
        .await
        .unwrap();
        expect(created, 201).await;
    }
    let url = format!("{base}/v2/units?storefront=de&limit=1");
    Arc::new(move |client: &Client| kaufland_signed(client, reqwest::Method::GET, &url, ""))
}

// Etsy: OAuth 2.0 with PKCE (consent, Allow), code exchange, then getMe.

async fn etsy(h: &Harness) -> Build {
    let keystring = "etsykeystring123";
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let redirect = format!("{}/callback/etsy", h.receiver_url);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let allowed = h
        .http
        .post(format!("{}/oauth/connect", h.url("etsy")))
        .form(&[
            ("response_type", "code"),
            ("client_id", keystring),
            ("redirect_uri", &redirect),
            ("scope", "listings_r shops_r"),
            ("state", "bench"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("login", "demo_seller"),
            ("decision", "allow"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 302);
    let code = query_of(&location(&allowed))["code"].clone();
    let token = expect(
        h.http
            .post(format!("{}/v3/public/oauth/token", h.url("etsy")))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", keystring),
                ("redirect_uri", &redirect),
                ("code", &code),
                ("code_verifier", verifier),
            ])
            .send()
            .await
            .unwrap(),
        200,
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!("{}/v3/application/users/me", h.url("etsy"));
    Arc::new(move |client: &Client| {
        client
            .get(&url)
            .header("x-api-key", "etsykeystring123:etsysharedsecret")
            .bearer_auth(&token)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with --ignored --nocapture"]
async fn every_sandbox_serves_thousands_of_requests_per_second() {
    let h = Harness::start_with(|config| config.limits_enabled = false).await;
    let index = h.base.clone();
    let targets: Vec<(&str, Build)> = vec![
        (
            "control (GET /sandbox index page, no auth)",
            Arc::new(move |client: &Client| client.get(&index)),
        ),
        ("shopify", shopify(&h).await),
        ("woocommerce", woocommerce(&h).await),
        ("amazon", amazon(&h).await),
        ("ebay", ebay(&h).await),
        ("kaufland", kaufland(&h).await),
        ("etsy", etsy(&h).await),
    ];
    // One pool of keep-alive connections, as a sync engine would have.
    let client = Client::builder()
        .pool_max_idle_per_host(TASKS)
        .build()
        .unwrap();
    let mut failures = Vec::new();
    for (name, build) in targets {
        let outcome = hammer(&client, build).await;
        let secs = outcome.elapsed.as_secs_f64();
        println!(
            "{name}: {} requests in {secs:.2} s = {:.0} req/s (errors: {})",
            outcome.requests,
            outcome.requests as f64 / secs,
            outcome.errors
        );
        if outcome.errors > 0 {
            failures.push(format!(
                "{name}: {} errors, first: {}",
                outcome.errors,
                outcome.first_error.unwrap_or_default()
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
