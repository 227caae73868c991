//! The REST API through the router: exchanging an API key for a token, bearer checks on every
//! request (expiry, signature, key rotation, scopes, revocation), strict bodies, rate limits,
//! CORS for the configured origins only, and no key or token in the logs.

mod common;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
    response::Response,
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{Duration, Utc};
use common::{TestApp, body_json, capture_logs, captured_logs, on_shared_runtime};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use shopmarkets_core::{
    access::{ApiScope, Scope},
    api_keys::{self, NewApiKey},
    config::{KeyList, keys::generate_entry},
    db::Db,
    jwt,
    testing::{TestDb, owner_of_new_organization},
};
use shopmarkets_server::http::api_v1;
use uuid::Uuid;

const ALLOWED_ORIGIN: &str = "https://erp.example.com";

fn token_request(body: Value) -> Request<Body> {
    Request::post("/api/v1/auth/token")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn get_organization(token: Option<&str>) -> Request<Body> {
    let mut request = Request::get("/api/v1/organization");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(Body::empty()).unwrap()
}

/// An organization with an owner, and an API key of it with the given scopes.
async fn organization_with_key(db: &Db, scopes: &str) -> (Scope, NewApiKey) {
    let address = format!("{}@example.com", Uuid::new_v4().simple());
    let (_, owner) = owner_of_new_organization(db, &address, "Muster GmbH").await;
    let key = api_keys::create(
        db,
        &owner,
        "ERP",
        ApiScope::parse_list(scopes).unwrap(),
        None,
    )
    .await
    .unwrap();
    (owner, key)
}

/// Exchanges a key for a token through the API.
async fn exchange(app: &TestApp, key: &NewApiKey) -> String {
    let response = app
        .send(token_request(json!({ "api_key": key.key.expose() })))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    body_json(response).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn assert_error(response: Response, status: StatusCode, code: &str) -> Response {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    let json: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(json["code"], code, "{json}");
    assert_eq!(json.as_object().unwrap().len(), 3, "only the shape: {json}");
    assert_eq!(
        json["request_id"].as_str(),
        parts.headers["x-request-id"].to_str().ok()
    );
    Response::from_parts(parts, Body::from(bytes))
}

fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[test]
fn a_key_is_exchanged_for_a_token_that_reads_the_organization() {
    on_shared_runtime(async {
        let mut engines = vec![TestDb::sqlite_file().await];
        engines.extend(TestDb::postgres().await);
        for test_db in engines {
            let api = TestApp::on(test_db, &[]);
            let (owner, key) =
                organization_with_key(&api.db, "organization:read catalog:read").await;

            let response = api
                .send(token_request(json!({ "api_key": key.key.expose() })))
                .await;
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
            assert!(
                !response
                    .headers()
                    .contains_key("access-control-allow-origin"),
                "no CORS without configured origins"
            );
            let body = body_json(response).await;
            assert_eq!(body["token_type"], "Bearer");
            assert_eq!(body["expires_in"], 900);
            assert_eq!(body["scope"], "organization:read catalog:read");
            assert_eq!(body.as_object().unwrap().len(), 4, "{body}");
            let token = body["access_token"].as_str().unwrap();

            let response = api.send(get_organization(Some(token))).await;
            assert_eq!(response.status(), StatusCode::OK);
            let org = body_json(response).await;
            assert_eq!(
                org,
                json!({ "id": owner.organization_id(), "name": "Muster GmbH" })
            );

            // A narrower token on request.
            let response = api
                .send(token_request(
                    json!({ "api_key": key.key.expose(), "scope": "catalog:read" }),
                ))
                .await;
            assert_eq!(body_json(response).await["scope"], "catalog:read");
        }
    });
}

#[test]
fn requests_without_a_valid_token_get_401_with_a_challenge() {
    on_shared_runtime(async {
        let signing = generate_entry("current");
        let api = TestApp::with(&[("SIGNING_KEYS", &signing)]).await;
        let (owner, key) = organization_with_key(&api.db, "organization:read").await;
        let (key_id, org) = (key.summary.id, owner.organization_id());
        let scopes = ApiScope::parse_list("organization:read").unwrap();
        let keys = KeyList::parse(&signing).unwrap();

        let missing = api.send(get_organization(None)).await;
        let missing = assert_error(missing, StatusCode::UNAUTHORIZED, "unauthorized").await;
        assert_eq!(
            missing.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"shopmarkets-api\""
        );

        let sign = |keys: &KeyList, at: chrono::DateTime<Utc>| {
            jwt::issue(keys, &api.origin, key_id, org, &scopes, at)
                .unwrap()
                .token
                .expose()
                .clone()
        };
        // The same key signs a good one, so the refusals below are about what they test.
        let good = sign(&keys, Utc::now());
        assert_eq!(
            api.send(get_organization(Some(&good))).await.status(),
            StatusCode::OK
        );
        let (head, _) = good.rsplit_once('.').unwrap();
        let cases = [
            ("garbage", "not-a-jwt".to_owned()),
            ("expired", sign(&keys, Utc::now() - Duration::hours(1))),
            (
                "not yet valid",
                sign(&keys, Utc::now() + Duration::hours(1)),
            ),
            (
                "wrong signature",
                sign(
                    &KeyList::parse(&generate_entry("current")).unwrap(),
                    Utc::now(),
                ),
            ),
            (
                "unknown kid",
                sign(
                    &KeyList::parse(&generate_entry("elsewhere")).unwrap(),
                    Utc::now(),
                ),
            ),
            ("no signature", format!("{head}.")),
            (
                "other issuer",
                jwt::issue(
                    &keys,
                    "https://evil.example",
                    key_id,
                    org,
                    &scopes,
                    Utc::now(),
                )
                .unwrap()
                .token
                .expose()
                .clone(),
            ),
        ];
        for (case, token) in cases {
            let response = api.send(get_organization(Some(&token))).await;
            let response = assert_error(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
            assert_eq!(
                response.headers()[header::WWW_AUTHENTICATE],
                "Bearer realm=\"shopmarkets-api\", error=\"invalid_token\"",
                "{case}"
            );
        }
        let basic = Request::get("/api/v1/organization")
            .header(header::AUTHORIZATION, "Basic dXNlcjpwYXNz")
            .body(Body::empty())
            .unwrap();
        assert_error(
            api.send(basic).await,
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        )
        .await;
    });
}

#[test]
fn a_token_expires_after_fifteen_minutes_on_the_server_clock() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        let (_, key) = organization_with_key(&app.db, "organization:read").await;
        let token = exchange(&app, &key).await;

        app.clock.advance(Duration::minutes(15));
        assert_eq!(
            app.send(get_organization(Some(&token))).await.status(),
            StatusCode::OK,
            "within the leeway"
        );
        app.clock.advance(Duration::seconds(jwt::LEEWAY_SECS));
        assert_error(
            app.send(get_organization(Some(&token))).await,
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        )
        .await;
        // The key itself still works: a new token is one request away.
        let fresh = exchange(&app, &key).await;
        assert_eq!(
            app.send(get_organization(Some(&fresh))).await.status(),
            StatusCode::OK
        );
    });
}

#[test]
fn tokens_signed_before_a_key_rotation_keep_working_until_the_old_key_is_removed() {
    on_shared_runtime(async {
        let (old, new) = (generate_entry("2026-01"), generate_entry("2026-02"));
        let api = TestApp::with(&[("SIGNING_KEYS", &old)]).await;
        let (_, key) = organization_with_key(&api.db, "organization:read").await;
        let old_token = exchange(&api, &key).await;
        assert_eq!(kid_of(&old_token), "2026-01");

        // Rotation step 1: the new key first, the old one kept for verification.
        let rotating = api.restarted(&[("SIGNING_KEYS", &format!("{new},{old}"))]);
        assert_eq!(
            rotating
                .send(get_organization(Some(&old_token)))
                .await
                .status(),
            StatusCode::OK
        );
        let new_token = exchange(&rotating, &key).await;
        assert_eq!(kid_of(&new_token), "2026-02", "new tokens use the new key");

        // Step 2: the old key removed; its tokens are refused, the new ones work.
        let rotated = api.restarted(&[("SIGNING_KEYS", &new)]);
        assert_error(
            rotated.send(get_organization(Some(&old_token))).await,
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        )
        .await;
        assert_eq!(
            rotated
                .send(get_organization(Some(&new_token)))
                .await
                .status(),
            StatusCode::OK
        );
    });
}

#[test]
fn a_token_without_the_needed_scope_gets_403() {
    on_shared_runtime(async {
        let api = TestApp::with(&[]).await;
        let (_, key) = organization_with_key(&api.db, "catalog:read orders:read").await;
        let token = exchange(&api, &key).await;
        let response = assert_error(
            api.send(get_organization(Some(&token))).await,
            StatusCode::FORBIDDEN,
            "insufficient_scope",
        )
        .await;
        assert!(
            response.headers()[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .contains("error=\"insufficient_scope\", scope=\"organization:read\"")
        );

        // A token narrowed below what the key has is held to the narrower scope.
        let (_, key) = organization_with_key(&api.db, "organization:read catalog:read").await;
        let response = api
            .send(token_request(
                json!({ "api_key": key.key.expose(), "scope": "catalog:read" }),
            ))
            .await;
        let narrow = body_json(response).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            api.send(get_organization(Some(&narrow))).await.status(),
            StatusCode::FORBIDDEN
        );
    });
}

#[test]
fn revoking_a_key_ends_its_tokens_at_the_next_request() {
    on_shared_runtime(async {
        let api = TestApp::with(&[]).await;
        let (owner, key) = organization_with_key(&api.db, "organization:read").await;
        let token = exchange(&api, &key).await;
        assert_eq!(
            api.send(get_organization(Some(&token))).await.status(),
            StatusCode::OK
        );

        api_keys::revoke(&api.db, &owner, key.summary.id, None)
            .await
            .unwrap();
        assert_error(
            api.send(get_organization(Some(&token))).await,
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        )
        .await;
        assert_error(
            api.send(token_request(json!({ "api_key": key.key.expose() })))
                .await,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        )
        .await;
    });
}

#[test]
fn token_requests_are_parsed_strictly() {
    on_shared_runtime(async {
        let api = TestApp::with(&[("REQUEST_BODY_LIMIT_BYTES", "1024")]).await;
        let (_, key) = organization_with_key(&api.db, "organization:read").await;
        let key = key.key.expose().clone();

        let unknown_field = token_request(json!({ "api_key": key, "role": "owner" }));
        assert_error(
            api.send(unknown_field).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .await;
        for body in [json!({}), json!({ "api_key": 42 }), json!([key])] {
            assert_error(
                api.send(token_request(body)).await,
                StatusCode::BAD_REQUEST,
                "bad_request",
            )
            .await;
        }
        let not_json = Request::post("/api/v1/auth/token")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{\"api_key\": "))
            .unwrap();
        assert_error(
            api.send(not_json).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .await;
        let text = Request::post("/api/v1/auth/token")
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from(json!({ "api_key": key }).to_string()))
            .unwrap();
        assert_error(
            api.send(text).await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;
        let oversized = Request::post("/api/v1/auth/token")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({ "api_key": "x".repeat(4096) }).to_string(),
            ))
            .unwrap();
        assert_error(
            api.send(oversized).await,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        )
        .await;

        for wrong in ["smk_aaaaaaaa_bbbb", "", &key[..key.len() - 1]] {
            assert_error(
                api.send(token_request(json!({ "api_key": wrong }))).await,
                StatusCode::UNAUTHORIZED,
                "invalid_client",
            )
            .await;
        }
        for scope in ["catalog:read", "organization:read admin"] {
            assert_error(
                api.send(token_request(json!({ "api_key": key, "scope": scope })))
                    .await,
                StatusCode::BAD_REQUEST,
                "invalid_scope",
            )
            .await;
        }
        let get = Request::get("/api/v1/auth/token")
            .body(Body::empty())
            .unwrap();
        assert_eq!(api.send(get).await.status(), StatusCode::METHOD_NOT_ALLOWED);
    });
}

#[test]
fn unknown_api_addresses_are_a_json_404() {
    on_shared_runtime(async {
        let api = TestApp::with(&[]).await;
        for path in [
            "/api/v1/nothing-here",
            "/api/v1/organization/extra",
            "/api/v1/",
        ] {
            let request = Request::get(path).body(Body::empty()).unwrap();
            assert_error(api.send(request).await, StatusCode::NOT_FOUND, "not_found").await;
        }
    });
}

#[test]
fn the_token_endpoint_and_each_key_have_their_own_budgets() {
    on_shared_runtime(async {
        let signing = generate_entry("current");
        let api = TestApp::with(&[
            ("RATE_LIMIT_PER_MINUTE", "100000"),
            ("SIGNING_KEYS", &signing),
        ])
        .await;
        let (_, key) = organization_with_key(&api.db, "organization:read").await;
        let token = exchange(&api, &key).await;
        for _ in 1..api_v1::TOKEN_REQUESTS_PER_IP_PER_MINUTE {
            let response = api.send(token_request(json!({ "api_key": "wrong" }))).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
        let limited = assert_error(
            api.send(token_request(json!({ "api_key": key.key.expose() })))
                .await,
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
        )
        .await;
        assert!(
            limited.headers()[header::RETRY_AFTER]
                .to_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
                >= 1
        );

        // The key's own budget, whatever the address: the whole burst passes, then 429
        // (the budget refills one request every 200 ms, so a slow run gets a few more).
        let mut passed = 0;
        let limited = loop {
            let response = api.send(get_organization(Some(&token))).await;
            if response.status() != StatusCode::OK {
                break response;
            }
            passed += 1;
            assert!(
                passed <= api_v1::REQUESTS_PER_KEY_PER_MINUTE + 50,
                "never limited"
            );
        };
        assert!(passed >= api_v1::REQUESTS_PER_KEY_PER_MINUTE, "{passed}");
        let limited =
            assert_error(limited, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
        assert!(limited.headers().contains_key(header::RETRY_AFTER));
        // Another key is not affected.
        let (other_owner, other) = organization_with_key(&api.db, "organization:read").await;
        let other_token = jwt::issue(
            &KeyList::parse(&signing).unwrap(),
            &api.origin,
            other.summary.id,
            other_owner.organization_id(),
            &ApiScope::parse_list("organization:read").unwrap(),
            Utc::now(),
        )
        .unwrap();
        assert_eq!(
            api.send(get_organization(Some(other_token.token.expose())))
                .await
                .status(),
            StatusCode::OK
        );
    });
}

fn preflight(path: &str, origin: &str) -> Request<Body> {
    Request::options(path)
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization")
        .body(Body::empty())
        .unwrap()
}

fn cors_headers(response: &Response) -> Vec<String> {
    response
        .headers()
        .keys()
        .map(|name| name.as_str().to_owned())
        .filter(|name| name.starts_with("access-control-"))
        .collect()
}

#[test]
fn cors_answers_only_configured_origins_and_only_on_the_api() {
    on_shared_runtime(async {
        let api = TestApp::with(&[(
            "API_CORS_ORIGINS",
            "https://erp.example.com,http://localhost:8080",
        )])
        .await;

        let allowed = api
            .send(preflight("/api/v1/organization", ALLOWED_ORIGIN))
            .await;
        assert!(allowed.status().is_success(), "{}", allowed.status());
        let headers = allowed.headers();
        assert_eq!(headers["access-control-allow-origin"], ALLOWED_ORIGIN);
        assert!(!headers.contains_key("access-control-allow-credentials"));
        let methods = headers["access-control-allow-methods"].to_str().unwrap();
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            assert!(methods.contains(method), "{methods}");
        }
        let allowed_headers = headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase();
        assert!(
            allowed_headers.contains("authorization") && allowed_headers.contains("content-type")
        );
        assert_eq!(headers["access-control-max-age"], "600");

        // Error answers carry the header too, so the calling page can read them.
        let request = Request::get("/api/v1/organization")
            .header(header::ORIGIN, ALLOWED_ORIGIN)
            .body(Body::empty())
            .unwrap();
        let response = api.send(request).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            ALLOWED_ORIGIN
        );
        let exposed = response.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase();
        for name in ["www-authenticate", "retry-after", "x-request-id"] {
            assert!(exposed.contains(name), "{exposed}");
        }
        assert!(
            !response
                .headers()
                .contains_key("access-control-allow-credentials")
        );

        for foreign in [
            "https://evil.example",
            "null",
            "https://erp.example.com.evil.example",
            "http://erp.example.com",
        ] {
            let response = api.send(preflight("/api/v1/organization", foreign)).await;
            assert!(
                !response
                    .headers()
                    .contains_key("access-control-allow-origin"),
                "{foreign}"
            );
        }

        for path in ["/health/live", "/api/set_locale", "/"] {
            let preflighted = api.send(preflight(path, ALLOWED_ORIGIN)).await;
            assert_eq!(cors_headers(&preflighted), Vec::<String>::new(), "{path}");
        }
        let live = Request::get("/health/live")
            .header(header::ORIGIN, ALLOWED_ORIGIN)
            .body(Body::empty())
            .unwrap();
        let live = api.send(live).await;
        assert_eq!(live.status(), StatusCode::OK);
        assert_eq!(cors_headers(&live), Vec::<String>::new());

        // Without configured origins the API answers no preflight either.
        let closed = TestApp::with(&[]).await;
        let response = closed
            .send(preflight("/api/v1/organization", ALLOWED_ORIGIN))
            .await;
        assert_eq!(cors_headers(&response), Vec::<String>::new());
    });
}

#[test]
fn keys_and_tokens_never_reach_the_logs() {
    capture_logs();
    on_shared_runtime(async {
        let api = TestApp::with(&[]).await;
        let (owner, key) = organization_with_key(&api.db, "organization:read").await;
        let token = exchange(&api, &key).await;
        api.send(get_organization(Some(&token))).await;
        // Failures log too: a wrong secret, a tampered token, a revoked key.
        let wrong = format!("{}x", &key.key.expose()[..key.key.expose().len() - 1]);
        api.send(token_request(json!({ "api_key": wrong }))).await;
        api.send(get_organization(Some(&format!("{token}x")))).await;
        api_keys::revoke(&api.db, &owner, key.summary.id, None)
            .await
            .unwrap();
        api.send(get_organization(Some(&token))).await;
        api.send(token_request(json!({ "api_key": key.key.expose() })))
            .await;

        let logs = captured_logs();
        assert!(logs.contains("request completed"), "logs are captured");
        let secret_part = &key.key.expose()[13..];
        let signature = token.rsplit('.').next().unwrap();
        for canary in [key.key.expose().as_str(), secret_part, &token, signature] {
            assert!(!logs.contains(canary), "a secret reached the logs");
        }
    });
}
