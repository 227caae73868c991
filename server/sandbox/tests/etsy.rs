//! Contract tests for the Etsy sandbox, driven over plain HTTP the way Etsy's documentation
//! describes the Open API v3: OAuth 2.0 with PKCE, `x-api-key: keystring:shared_secret`,
//! listings and inventory, receipts, shipments, Standard-Webhooks `order.paid`, QPS/QPD limits.

mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{Harness, location, query_of};
use hmac::{Hmac, Mac};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use shopmarkets_sandbox::Sandbox;

const KEYSTRING: &str = "etsykeystring123";
const API_KEY: &str = "etsykeystring123:etsysharedsecret";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const ALL_SCOPES: &str = "listings_r listings_w transactions_r transactions_w shops_r";

/// PKCE S256 as RFC 7636 §4.2 defines it.
fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

struct Tokens {
    access: String,
    refresh: String,
    user_id: u64,
    shop_id: u64,
}

fn redirect_uri(h: &Harness) -> String {
    format!("{}/callback/etsy", h.receiver_url)
}

type Params = Vec<(String, String)>;

fn connect_params(h: &Harness, scope: &str) -> Params {
    vec![
        ("response_type".into(), "code".into()),
        ("client_id".into(), KEYSTRING.into()),
        ("redirect_uri".into(), redirect_uri(h)),
        ("scope".into(), scope.into()),
        ("state".into(), "st-4711".into()),
        ("code_challenge".into(), s256(VERIFIER)),
        ("code_challenge_method".into(), "S256".into()),
    ]
}

/// The consent page, then Allow: returns the authorization code.
async fn authorize(h: &Harness, scope: &str, login: &str) -> String {
    let params = connect_params(h, scope);
    let page = h
        .http
        .get(format!("{}/oauth/connect", h.url("etsy")))
        .query(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Allow access"), "{html}");
    assert!(html.contains("<form method=\"post\""), "{html}");
    let mut form = params.clone();
    form.push(("login".into(), login.into()));
    form.push(("decision".into(), "allow".into()));
    let decided = h
        .http
        .post(format!("{}/oauth/connect", h.url("etsy")))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(decided.status(), 302, "{:?}", decided.text().await);
    let to = location(&decided);
    assert!(to.starts_with(&redirect_uri(h)), "{to}");
    let query = query_of(&to);
    assert_eq!(query["state"], "st-4711");
    query["code"].clone()
}

async fn token_request(h: &Harness, form: &[(&str, &str)]) -> Response {
    h.http
        .post(format!("{}/v3/public/oauth/token", h.url("etsy")))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn exchange(h: &Harness, code: &str) -> Response {
    let redirect = redirect_uri(h);
    token_request(
        h,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", KEYSTRING),
            ("redirect_uri", &redirect),
            ("code", code),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

fn api(h: &Harness, method: Method, path: &str, token: &str) -> RequestBuilder {
    h.http
        .request(method, format!("{}/v3/application{path}", h.url("etsy")))
        .header("x-api-key", API_KEY)
        .bearer_auth(token)
}

async fn connect(h: &Harness, scope: &str) -> Tokens {
    let code = authorize(h, scope, "demo_seller").await;
    let response = exchange(h, &code).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let access = body["access_token"].as_str().unwrap().to_owned();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let me: Value = api(h, Method::GET, "/users/me", &access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Tokens {
        access,
        refresh,
        user_id: me["user_id"].as_u64().unwrap(),
        shop_id: me["shop_id"].as_u64().unwrap(),
    }
}

/// A harness with the rate limits off (each test that wants them sets them).
async fn start() -> Harness {
    let h = Harness::start().await;
    h.set_limits("etsy", json!({ "enabled": false })).await;
    h
}

async fn json_of(response: Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A draft listing, then a one-product inventory with `sku` and `quantity`, published.
async fn listing_with_stock(h: &Harness, t: &Tokens, sku: &str, quantity: u32) -> u64 {
    let created = json_of(
        api(
            h,
            Method::POST,
            &format!("/shops/{}/listings", t.shop_id),
            &t.access,
        )
        .json(&json!({
            "quantity": 1, "title": format!("Mug {sku}"), "description": "Stoneware mug",
            "price": 12.5, "who_made": "i_did", "when_made": "made_to_order", "taxonomy_id": 1,
        }))
        .send()
        .await
        .unwrap(),
        201,
    )
    .await;
    let id = created["listing_id"].as_u64().unwrap();
    json_of(
        api(
            h,
            Method::PUT,
            &format!("/listings/{id}/inventory"),
            &t.access,
        )
        .json(&json!({ "products": [{ "sku": sku, "property_values": [],
                "offerings": [{ "price": 12.5, "quantity": quantity, "is_enabled": true }] }] }))
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    json_of(
        api(
            h,
            Method::PATCH,
            &format!("/shops/{}/listings/{id}", t.shop_id),
            &t.access,
        )
        .form(&[("state", "active")])
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    id
}

async fn register_webhook(h: &Harness, path: &str) -> String {
    let body = json_of(
        h.http
            .post(format!("{}/developer/webhooks", h.url("etsy")))
            .json(&json!({ "url": format!("{}{path}", h.receiver_url), "events": ["order.paid"] }))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    body["secret"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn pkce_flow_issues_user_prefixed_tokens() {
    // RFC 7636 Appendix B: checks the test's own S256 first.
    assert_eq!(
        s256(VERIFIER),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
    let h = start().await;
    let german = h
        .http
        .get(format!("{}/oauth/connect", h.url("etsy")))
        .query(&connect_params(&h, ALL_SCOPES))
        .header("accept-language", "de-DE")
        .send()
        .await
        .unwrap();
    let german = german.text().await.unwrap();
    assert!(german.contains("Zugriff erlauben") && german.contains("Ablehnen"));
    assert!(german.contains("listings_w"));

    let code = authorize(&h, ALL_SCOPES, "demo_seller").await;
    let body = json_of(exchange(&h, &code).await, 200).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let access = body["access_token"].as_str().unwrap();
    let refresh = body["refresh_token"].as_str().unwrap();
    let (prefix, rest) = access.split_once('.').unwrap();
    assert!(prefix.chars().all(|c| c.is_ascii_digit()) && !rest.is_empty());
    assert_eq!(refresh.split('.').next(), Some(prefix));
    let me = json_of(
        api(&h, Method::GET, "/users/me", access)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(me["user_id"].as_u64().unwrap().to_string(), prefix);
    let shop = json_of(
        h.http
            .get(format!(
                "{}/v3/application/shops/{}",
                h.url("etsy"),
                me["shop_id"]
            ))
            .header("x-api-key", API_KEY)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(shop["shop_id"], me["shop_id"]);
    assert_eq!(shop["user_id"], me["user_id"]);

    // A different member gets a different user and shop.
    let other = authorize(&h, ALL_SCOPES, "second_seller").await;
    let other = json_of(exchange(&h, &other).await, 200).await;
    assert!(
        !other["access_token"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{prefix}."))
    );
}

#[tokio::test]
async fn authorization_request_failures() {
    let h = start().await;
    let connect_url = format!("{}/oauth/connect", h.url("etsy"));
    let with = |change: &dyn Fn(&mut Params)| {
        let mut params = connect_params(&h, ALL_SCOPES);
        change(&mut params);
        params
    };

    // PKCE is mandatory: no challenge, or a method other than S256.
    for params in [
        with(&|p| p.retain(|(k, _)| k != "code_challenge")),
        with(&|p| p.retain(|(k, _)| k != "code_challenge_method")),
        with(&|p| {
            p.iter_mut()
                .filter(|(k, _)| k == "code_challenge_method")
                .for_each(|(_, v)| *v = "plain".into())
        }),
    ] {
        let r = h
            .http
            .get(&connect_url)
            .query(&params)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302);
        let q = query_of(&location(&r));
        assert_eq!(q["error"], "invalid_request");
        assert!(q["error_description"].contains("code_challenge"), "{q:?}");
        assert_eq!(q["state"], "st-4711");
        assert!(!q.contains_key("code"));
    }

    // Redirect URI not exactly registered, unknown client: Etsy's error page, no redirect.
    for params in [
        with(&|p| {
            p.iter_mut()
                .filter(|(k, _)| k == "redirect_uri")
                .for_each(|(_, v)| v.push('/'))
        }),
        with(&|p| {
            p.iter_mut()
                .filter(|(k, _)| k == "client_id")
                .for_each(|(_, v)| *v = "someoneelse".into())
        }),
    ] {
        let r = h
            .http
            .get(&connect_url)
            .query(&params)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert!(r.headers().get("location").is_none());
        let text = r.text().await.unwrap();
        assert!(text.contains("An error occurred"), "{text}");
    }
    let r = h
        .http
        .get(&connect_url)
        .query(&with(&|p| {
            p.iter_mut()
                .filter(|(k, _)| k == "redirect_uri")
                .for_each(|(_, v)| v.push('/'))
        }))
        .send()
        .await
        .unwrap();
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("The requested redirect URL is not permitted.")
    );

    // Deny.
    let mut form = connect_params(&h, ALL_SCOPES);
    form.push(("decision".into(), "deny".into()));
    let r = h.http.post(&connect_url).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 302);
    let q = query_of(&location(&r));
    assert_eq!(q["error"], "access_denied");
    assert!(!q["error_description"].is_empty());
    assert_eq!(q["state"], "st-4711");
}

#[tokio::test]
async fn token_request_failures() {
    let h = start().await;
    let redirect = redirect_uri(&h);
    let expect_grant_error = async |response: Response, text: &str| {
        let body = json_of(response, 400).await;
        assert_eq!(body["error"], "invalid_grant");
        assert!(
            body["error_description"].as_str().unwrap().contains(text),
            "{body}"
        );
    };

    // Wrong verifier.
    let code = authorize(&h, ALL_SCOPES, "demo_seller").await;
    let wrong = token_request(
        &h,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", KEYSTRING),
            ("redirect_uri", &redirect),
            ("code", &code),
            (
                "code_verifier",
                "not-the-verifier-not-the-verifier-not-the-ver",
            ),
        ],
    )
    .await;
    expect_grant_error(wrong, "code_verifier").await;

    // Redirect URI differs from the authorization request.
    let other_redirect = format!("{redirect}/other");
    let mismatch = token_request(
        &h,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", KEYSTRING),
            ("redirect_uri", &other_redirect),
            ("code", &code),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    expect_grant_error(mismatch, "redirect_uri").await;

    // Missing verifier.
    let missing = token_request(
        &h,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", KEYSTRING),
            ("redirect_uri", &redirect),
            ("code", &code),
        ],
    )
    .await;
    let body = json_of(missing, 400).await;
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(body["error_description"], "code_verifier is required");

    // Wrong client.
    let wrong_client = token_request(
        &h,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "someoneelse"),
            ("redirect_uri", &redirect),
            ("code", &code),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(json_of(wrong_client, 401).await["error"], "invalid_client");

    // The code still works once, then reuse fails and revokes what it issued.
    let first = json_of(exchange(&h, &code).await, 200).await;
    expect_grant_error(exchange(&h, &code).await, "used").await;
    let revoked = api(
        &h,
        Method::GET,
        "/users/me",
        first["access_token"].as_str().unwrap(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(json_of(revoked, 401).await["error"], "invalid_token");

    // Expired code.
    let code = authorize(&h, ALL_SCOPES, "demo_seller").await;
    h.advance_clock("etsy", 301).await;
    expect_grant_error(exchange(&h, &code).await, "expired").await;

    // Unknown code.
    expect_grant_error(exchange(&h, "nosuchcode").await, "invalid").await;
}

#[tokio::test]
async fn refresh_rotates_and_retires_the_old_refresh_token() {
    let h = start().await;
    let t = connect(&h, ALL_SCOPES).await;
    let refresh = |token: String| {
        let h = &h;
        async move {
            token_request(
                h,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", KEYSTRING),
                    ("refresh_token", &token),
                ],
            )
            .await
        }
    };
    let new = json_of(refresh(t.refresh.clone()).await, 200).await;
    let new_access = new["access_token"].as_str().unwrap().to_owned();
    let new_refresh = new["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(new_access, t.access);
    assert_ne!(new_refresh, t.refresh);
    assert!(new_refresh.starts_with(&format!("{}.", t.user_id)));
    assert_eq!(new["expires_in"], 3600);
    let old = json_of(refresh(t.refresh.clone()).await, 400).await;
    assert_eq!(
        old,
        json!({ "error": "invalid_grant", "error_description": "refresh_token is revoked" })
    );
    json_of(
        api(&h, Method::GET, "/users/me", &new_access)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;

    // The access token expires after an hour; the refresh token still works.
    h.advance_clock("etsy", 3600).await;
    let expired = json_of(
        api(&h, Method::GET, "/users/me", &new_access)
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    assert_eq!(
        expired,
        json!({ "error": "invalid_token", "error_description": "access token is expired" })
    );

    // [S] option: without invalidation the old refresh token keeps working.
    let response = h
        .http
        .put(format!("{}/_sandbox/options", h.url("etsy")))
        .json(&json!({ "refresh_rotation_invalidates_old": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let again = json_of(refresh(new_refresh.clone()).await, 200).await;
    assert_ne!(again["refresh_token"].as_str().unwrap(), new_refresh);
    json_of(refresh(new_refresh).await, 200).await;
}

#[tokio::test]
async fn api_key_bearer_and_scope_errors() {
    let h = start().await;
    let t = connect(&h, "listings_r shops_r").await;
    let me = format!("{}/v3/application/users/me", h.url("etsy"));
    let missing = h.http.get(&me).bearer_auth(&t.access).send().await.unwrap();
    assert!(json_of(missing, 403).await["error"].is_string());
    let keystring_only = h
        .http
        .get(&me)
        .header("x-api-key", KEYSTRING)
        .bearer_auth(&t.access)
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(keystring_only, 403).await,
        json!({ "error": "Shared secret is required in x-api-key header." })
    );
    let wrong_secret = h
        .http
        .get(&me)
        .header("x-api-key", format!("{KEYSTRING}:wrong"))
        .bearer_auth(&t.access)
        .send()
        .await
        .unwrap();
    assert!(
        json_of(wrong_secret, 403).await["error"]
            .as_str()
            .unwrap()
            .starts_with("Invalid API key")
    );
    let unknown_key = h
        .http
        .get(&me)
        .header("x-api-key", "nokey:nosecret")
        .bearer_auth(&t.access)
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(unknown_key, 403).await,
        json!({ "error": "Invalid API key" })
    );

    // The user prefix must match the token's user.
    let (_, rest) = t.access.split_once('.').unwrap();
    let forged = format!("{}.{rest}", t.user_id + 1);
    let body = json_of(
        api(&h, Method::GET, "/users/me", &forged)
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    assert_eq!(body["error"], "invalid_token");
    let no_bearer = h
        .http
        .get(&me)
        .header("x-api-key", API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(no_bearer, 401).await["error"], "invalid_token");

    // listings_w is needed to create a listing.
    let create = api(
        &h,
        Method::POST,
        &format!("/shops/{}/listings", t.shop_id),
        &t.access,
    )
    .form(&[("title", "x")])
    .send()
    .await
    .unwrap();
    assert_eq!(
        json_of(create, 403).await,
        json!({ "error": "insufficient_scope", "error_description": "Insufficient scope" })
    );

    // Before 2026-02-09 the keystring alone was enough (option).
    h.http
        .put(format!("{}/_sandbox/options", h.url("etsy")))
        .json(&json!({ "require_shared_secret": false }))
        .send()
        .await
        .unwrap();
    let ok = h
        .http
        .get(&me)
        .header("x-api-key", KEYSTRING)
        .bearer_auth(&t.access)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn listings_and_full_replace_inventory() {
    let h = start().await;
    let t = connect(&h, ALL_SCOPES).await;
    let listings = format!("/shops/{}/listings", t.shop_id);

    let missing = api(&h, Method::POST, &listings, &t.access)
        .form(&[("title", "Mug"), ("quantity", "3")])
        .send()
        .await
        .unwrap();
    assert!(
        json_of(missing, 400).await["error"]
            .as_str()
            .unwrap()
            .contains("required")
    );

    // Form-encoded, as Etsy documents it.
    let created = json_of(
        api(&h, Method::POST, &listings, &t.access)
            .form(&[
                ("quantity", "5"),
                ("title", "Handmade mug"),
                ("description", "Stoneware, 300 ml"),
                ("price", "24.90"),
                ("who_made", "i_did"),
                ("when_made", "made_to_order"),
                ("taxonomy_id", "1106"),
                ("tags", "mug,ceramic"),
            ])
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    assert_eq!(created["state"], "draft");
    assert_eq!(created["quantity"], 5);
    assert_eq!(
        created["price"],
        json!({ "amount": 2490, "divisor": 100, "currency_code": "EUR" })
    );
    assert_eq!(created["tags"], json!(["mug", "ceramic"]));
    let id = created["listing_id"].as_u64().unwrap();

    let inventory = format!("/listings/{id}/inventory");
    let put = |body: Value| {
        api(&h, Method::PUT, &inventory, &t.access)
            .json(&body)
            .send()
    };
    let two = json_of(
        put(json!({
            "products": [
                { "sku": "MUG-BLUE", "property_values": [{ "property_id": 200, "values": ["Blue"] }],
                  "offerings": [{ "price": 24.9, "quantity": 4, "is_enabled": true }] },
                { "sku": "MUG-RED", "property_values": [{ "property_id": 200, "values": ["Red"] }],
                  "offerings": [{ "price": 26.0, "quantity": 2, "is_enabled": true }] }
            ],
            "price_on_property": [200], "quantity_on_property": [200], "sku_on_property": [200]
        }))
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(two["products"].as_array().unwrap().len(), 2);
    assert_eq!(two["products"][1]["offerings"][0]["price"]["amount"], 2600);
    assert_eq!(two["price_on_property"], json!([200]));

    // Full replace: the red product is left out and disappears.
    json_of(
        put(
            json!({ "products": [{ "sku": "MUG-BLUE", "property_values": [],
            "offerings": [{ "price": 25.5, "quantity": 7, "is_enabled": true }] }] }),
        )
        .await
        .unwrap(),
        200,
    )
    .await;
    let read = json_of(
        api(&h, Method::GET, &inventory, &t.access)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let products = read["products"].as_array().unwrap();
    assert_eq!(products.len(), 1);
    assert_eq!(products[0]["sku"], "MUG-BLUE");
    assert_eq!(products[0]["offerings"][0]["quantity"], 7);
    assert_eq!(
        products[0]["offerings"][0]["price"],
        json!({ "amount": 2550, "divisor": 100, "currency_code": "EUR" })
    );
    assert_eq!(read["price_on_property"], json!([]));

    // Publish, then read back.
    let published = json_of(
        api(&h, Method::PATCH, &format!("{listings}/{id}"), &t.access)
            .form(&[("state", "active"), ("title", "Handmade mug, blue")])
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(published["state"], "active");
    let listing = json_of(
        h.http
            .get(format!("{}/v3/application/listings/{id}", h.url("etsy")))
            .header("x-api-key", API_KEY)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(listing["title"], "Handmade mug, blue");
    assert_eq!(listing["quantity"], 7);
    assert_eq!(listing["skus"], json!(["MUG-BLUE"]));

    // An active listing needs stock on an enabled offering.
    let zero = put(
        json!({ "products": [{ "sku": "MUG-BLUE", "property_values": [],
        "offerings": [{ "price": 25.5, "quantity": 0, "is_enabled": true }] }] }),
    )
    .await
    .unwrap();
    assert!(json_of(zero, 400).await["error"].is_string());
    let bad_price = put(
        json!({ "products": [{ "sku": "X", "offerings": [{ "price": 0.01, "quantity": 1 }] }] }),
    )
    .await
    .unwrap();
    assert!(
        json_of(bad_price, 400).await["error"]
            .as_str()
            .unwrap()
            .contains("price")
    );

    let active = json_of(
        api(
            &h,
            Method::GET,
            &format!("{listings}?state=active&limit=10"),
            &t.access,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(active["count"], 1);
    assert_eq!(active["results"][0]["listing_id"], id);
    let drafts = json_of(
        api(
            &h,
            Method::GET,
            &format!("{listings}?state=draft"),
            &t.access,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(drafts["count"], 0);
    let too_many = api(&h, Method::GET, &format!("{listings}?limit=101"), &t.access)
        .send()
        .await
        .unwrap();
    assert_eq!(too_many.status(), 400);

    let state = h.state("etsy").await;
    assert_eq!(state["listings"][0]["listing_id"], id);
}

#[tokio::test]
async fn receipts_paginate_filter_and_ship_with_tracking() {
    let h = start().await;
    let t = connect(&h, ALL_SCOPES).await;
    let listing = listing_with_stock(&h, &t, "MUG-1", 50).await;
    let before = h.sandboxes.etsy.context().controls.clock.unix();
    let mut placed = Vec::new();
    for _ in 0..7 {
        let order = h.place_order("etsy", Some("MUG-1"), 2).await;
        placed.push(order["receipt_id"].as_u64().unwrap());
    }
    let receipts = format!("/shops/{}/receipts", t.shop_id);
    let mut seen = Vec::new();
    for (offset, expected) in [(0, 3), (3, 3), (6, 1)] {
        let page = json_of(
            api(
                &h,
                Method::GET,
                &format!("{receipts}?min_last_modified={before}&limit=3&offset={offset}"),
                &t.access,
            )
            .send()
            .await
            .unwrap(),
            200,
        )
        .await;
        assert_eq!(page["count"], 7);
        let results = page["results"].as_array().unwrap();
        assert_eq!(results.len(), expected);
        seen.extend(results.iter().map(|r| r["receipt_id"].as_u64().unwrap()));
    }
    seen.sort_unstable();
    placed.sort_unstable();
    assert_eq!(seen, placed, "every receipt exactly once across the pages");

    let one = json_of(
        api(
            &h,
            Method::GET,
            &format!("{receipts}/{}", placed[0]),
            &t.access,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(one["status"], "Paid");
    assert_eq!(one["is_paid"], true);
    assert_eq!(one["is_shipped"], false);
    assert_eq!(one["seller_user_id"], t.user_id);
    assert!(
        one["buyer_email"]
            .as_str()
            .unwrap()
            .ends_with("@example.com")
    );
    assert!(!one["name"].as_str().unwrap().is_empty());
    assert_eq!(one["country_iso"].as_str().unwrap().len(), 2);
    assert_eq!(one["transactions"][0]["listing_id"], listing);
    assert_eq!(one["transactions"][0]["sku"], "MUG-1");
    assert_eq!(one["transactions"][0]["quantity"], 2);
    assert_eq!(
        one["grandtotal"],
        json!({ "amount": 2500, "divisor": 100, "currency_code": "EUR" })
    );
    assert_eq!(one["create_timestamp"], one["created_timestamp"]);

    // Stock went down by 14.
    let inventory = json_of(
        api(
            &h,
            Method::GET,
            &format!("/listings/{listing}/inventory"),
            &t.access,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(inventory["products"][0]["offerings"][0]["quantity"], 36);

    // Ship one later; min_last_modified then finds only it.
    h.advance_clock("etsy", 600).await;
    let later = h.sandboxes.etsy.context().controls.clock.unix();
    let shipped = json_of(
        api(
            &h,
            Method::POST,
            &format!("{receipts}/{}/tracking", placed[0]),
            &t.access,
        )
        .form(&[
            ("tracking_code", "00340434161094042557"),
            ("carrier_name", "dhl"),
            ("send_bcc", "true"),
            ("note_to_buyer", "Danke!"),
        ])
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(shipped["is_shipped"], true);
    assert_eq!(shipped["status"], "Completed");
    assert_eq!(
        shipped["shipments"][0]["tracking_code"],
        "00340434161094042557"
    );
    assert_eq!(shipped["shipments"][0]["carrier_name"], "dhl");
    let changed = json_of(
        api(
            &h,
            Method::GET,
            &format!("{receipts}?min_last_modified={later}"),
            &t.access,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(changed["count"], 1);
    assert_eq!(changed["results"][0]["receipt_id"], placed[0]);
    let unshipped = json_of(
        api(
            &h,
            Method::GET,
            &format!("{receipts}?was_shipped=false&limit=100"),
            &t.access,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(unshipped["count"], 6);
    let bad = api(&h, Method::GET, &format!("{receipts}?limit=0"), &t.access)
        .send()
        .await
        .unwrap();
    assert!(json_of(bad, 400).await["error"].is_string());
    let other_shop = api(
        &h,
        Method::GET,
        &format!("/shops/{}/receipts", t.shop_id + 1),
        &t.access,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(other_shop.status(), 403);
}

/// Standard Webhooks, written from the specification: base64(HMAC-SHA256(base64-decoded secret
/// without `whsec_`, "{id}.{timestamp}.{body}")).
fn standard_webhooks_signature(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> String {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn order_paid_webhook_is_signed_the_standard_webhooks_way() {
    // The Standard Webhooks reference example (svix): secret, id, timestamp, payload, signature.
    assert_eq!(
        standard_webhooks_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "1614265330",
            br#"{"test": 2432232314}"#
        ),
        "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    );
    let h = start().await;
    let t = connect(&h, ALL_SCOPES).await;
    listing_with_stock(&h, &t, "MUG-1", 5).await;
    let secret = register_webhook(&h, "/hooks/etsy").await;
    assert!(secret.starts_with("whsec_"));
    let order = h.place_order("etsy", None, 1).await;
    let got = h.receiver.wait_for("/hooks/etsy", 1).await;
    let hook = &got[0];
    let id = hook.header("webhook-id").unwrap();
    let timestamp = hook.header("webhook-timestamp").unwrap();
    let signature = hook.header("webhook-signature").unwrap();
    let now = h.sandboxes.etsy.context().controls.clock.unix();
    assert!((now - timestamp.parse::<i64>().unwrap()).abs() < 60);
    assert_eq!(
        signature,
        format!(
            "v1,{}",
            standard_webhooks_signature(&secret, id, timestamp, &hook.body)
        )
    );
    let payload = hook.json();
    assert_eq!(payload["event_type"], "order.paid");
    assert_eq!(payload["shop_id"], t.shop_id);
    let resource = payload["resource_url"].as_str().unwrap();
    assert!(resource.ends_with(&format!(
        "/v3/application/shops/{}/receipts/{}",
        t.shop_id, order["receipt_id"]
    )));
    let fetched = json_of(
        h.http
            .get(resource)
            .header("x-api-key", API_KEY)
            .bearer_auth(&t.access)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(fetched["receipt_id"], order["receipt_id"]);

    // A tampered body does not verify.
    assert_ne!(
        signature,
        format!(
            "v1,{}",
            standard_webhooks_signature(&secret, id, timestamp, b"{}")
        )
    );

    // [U] option: the bare signature without `v1,`.
    h.http
        .put(format!("{}/_sandbox/options", h.url("etsy")))
        .json(&json!({ "signature_v1_prefix": false }))
        .send()
        .await
        .unwrap();
    h.place_order("etsy", None, 1).await;
    let got = h.receiver.wait_for("/hooks/etsy", 2).await;
    let second = &got[1];
    assert_eq!(
        second.header("webhook-signature").unwrap(),
        standard_webhooks_signature(
            &secret,
            second.header("webhook-id").unwrap(),
            second.header("webhook-timestamp").unwrap(),
            &second.body
        )
    );

    // A failing endpoint is retried with the same webhook-id.
    h.receiver.answer("/hooks/failing", 500);
    register_webhook(&h, "/hooks/failing").await;
    h.place_order("etsy", None, 1).await;
    let retried = h.receiver.wait_for("/hooks/failing", 3).await;
    assert!(
        retried
            .iter()
            .all(|r| r.header("webhook-id") == retried[0].header("webhook-id"))
    );
}

#[tokio::test]
async fn rate_limits_per_second_and_per_day() {
    let h = start().await;
    let t = connect(&h, ALL_SCOPES).await;
    let bad = h
        .http
        .put(format!("{}/_sandbox/limits", h.url("etsy")))
        .json(&json!({ "per_second": 0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    h.set_limits(
        "etsy",
        json!({ "enabled": true, "per_second": 2, "per_day": 1000 }),
    )
    .await;
    let state = h.state("etsy").await;
    assert_eq!(state["limits"]["per_second"], 2);
    let mut throttled = None;
    for _ in 0..10 {
        let r = api(&h, Method::GET, "/users/me", &t.access)
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["x-limit-per-second"], "2");
        assert_eq!(r.headers()["x-limit-per-day"], "1000");
        assert!(r.headers().contains_key("x-remaining-this-second"));
        assert!(r.headers().contains_key("x-remaining-today"));
        if r.status() == 429 {
            throttled = Some(r);
            break;
        }
    }
    let throttled = throttled.expect("ten calls in a row exceed 2 per second");
    let retry_after: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    assert_eq!(throttled.headers()["x-remaining-this-second"], "0");
    assert!(json_of(throttled, 429).await["error"].is_string());
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let recovered = api(&h, Method::GET, "/users/me", &t.access)
        .send()
        .await
        .unwrap();
    assert_eq!(recovered.status(), 200);

    // Per day: scaled down to 3, recovered a day later (sandbox clock).
    h.set_limits("etsy", json!({ "per_second": 1000, "per_day": 3 }))
        .await;
    h.advance_clock("etsy", 86_400).await;
    let fresh = token_request(
        &h,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", KEYSTRING),
            ("refresh_token", &t.refresh),
        ],
    )
    .await;
    let t = Tokens {
        access: json_of(fresh, 200).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned(),
        ..t
    };
    for remaining in ["2", "1", "0"] {
        let r = api(&h, Method::GET, "/users/me", &t.access)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-remaining-today"], remaining);
    }
    let over = api(&h, Method::GET, "/users/me", &t.access)
        .send()
        .await
        .unwrap();
    assert_eq!(over.status(), 429);
    assert_eq!(over.headers()["x-remaining-today"], "0");
    let wait: i64 = over.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 3600, "{wait}");
    h.advance_clock("etsy", 86_400).await;
    // The access token expired meanwhile: the call is let through the limits (401, not 429).
    let after = api(&h, Method::GET, "/users/me", &t.access)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
    assert_eq!(after.headers()["x-remaining-today"], "2");
}

#[tokio::test]
async fn injected_faults_in_etsy_shape() {
    let h = start().await;
    let t = connect(&h, ALL_SCOPES).await;
    listing_with_stock(&h, &t, "MUG-1", 50).await;

    h.set_faults("etsy", json!({ "error_rate": 1.0 })).await;
    let r = api(&h, Method::GET, "/users/me", &t.access)
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(r, 500).await, json!({ "error": "Server Error" }));

    h.set_faults("etsy", json!({ "throttle_rate": 1.0 })).await;
    let r = api(&h, Method::GET, "/users/me", &t.access)
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("retry-after"));
    assert!(json_of(r, 429).await["error"].is_string());

    h.set_faults("etsy", json!({ "latency_ms": 400 })).await;
    let started = Instant::now();
    let r = api(&h, Method::GET, "/users/me", &t.access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(400));

    register_webhook(&h, "/hooks/etsy").await;
    h.set_faults("etsy", json!({ "drop_rate": 1.0 })).await;
    h.place_order("etsy", None, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(h.receiver.at("/hooks/etsy").is_empty());
    let state = h.state("etsy").await;
    assert!(
        state["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["result"] == "dropped" && d["topic"] == "order.paid")
    );

    h.set_faults("etsy", json!({ "duplicate_rate": 1.0 })).await;
    h.place_order("etsy", None, 1).await;
    let got = h.receiver.wait_for("/hooks/etsy", 2).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    assert_eq!(got[0].body, got[1].body);
    h.receiver.clear();

    h.set_faults("etsy", json!({ "reorder": true })).await;
    let first = h.place_order("etsy", None, 1).await;
    let second = h.place_order("etsy", None, 1).await;
    let got = h.receiver.wait_for("/hooks/etsy", 2).await;
    let receipt_of = |r: &common::Received| {
        r.json()["resource_url"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(receipt_of(&got[0]), second["receipt_id"].to_string());
    assert_eq!(receipt_of(&got[1]), first["receipt_id"].to_string());

    h.set_faults("etsy", json!({})).await;
    h.revoke("etsy").await;
    let r = api(&h, Method::GET, "/users/me", &t.access)
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(r, 401).await,
        json!({ "error": "invalid_token", "error_description": "access token is invalid" })
    );
    let refresh = token_request(
        &h,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", KEYSTRING),
            ("refresh_token", &t.refresh),
        ],
    )
    .await;
    assert_eq!(json_of(refresh, 400).await["error"], "invalid_grant");
}

#[tokio::test]
async fn snapshot_and_restore_round_trip() {
    let h = start().await;
    let t = connect(&h, ALL_SCOPES).await;
    let listing = listing_with_stock(&h, &t, "MUG-1", 9).await;
    register_webhook(&h, "/hooks/etsy").await;
    h.place_order("etsy", Some("MUG-1"), 2).await;
    let snapshot = h.sandboxes.snapshot();

    let again = start().await;
    again.sandboxes.restore(&snapshot).unwrap();
    assert_eq!(again.sandboxes.snapshot()["etsy"], snapshot["etsy"]);
    // The restored sandbox knows the same member, token, listing and receipt.
    let read = json_of(
        api(
            &again,
            Method::GET,
            &format!("/listings/{listing}/inventory"),
            &t.access,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(read["products"][0]["offerings"][0]["quantity"], 7);
    let receipts = json_of(
        api(
            &again,
            Method::GET,
            &format!("/shops/{}/receipts", t.shop_id),
            &t.access,
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(receipts["count"], 1);
    let page = again
        .http
        .get(format!("{}/_sandbox", again.url("etsy")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("MUG-1"), "{page}");
    assert!(
        again
            .sandboxes
            .etsy
            .restore(json!({ "listings": "nope" }))
            .is_err()
    );
}
