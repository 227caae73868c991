//! The HTTP baseline, driven through the router without a socket: health, metrics, request
//! ids, error shape, security headers, pages and the language switch.

mod common;

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
    response::Response,
};
use common::{body_json, body_text, get, leptos_options, on_shared_runtime};
use shopmarkets_core::{
    rate_limit::RateLimiter,
    testing::{TestDb, config},
};
use shopmarkets_server::http::{AppState, router};
use tower::ServiceExt as _;

/// The router on an in-memory database of its own, with configuration overrides.
async fn app_with(overrides: &[(&str, &str)]) -> (Router, TestDb) {
    let test_db = TestDb::sqlite().await;
    let state = AppState::new(
        leptos_options(),
        config(overrides),
        test_db.db.clone(),
        RateLimiter::memory(),
    );
    (router(state), test_db)
}

async fn app() -> (Router, TestDb) {
    app_with(&[]).await
}

async fn send(app: &Router, request: Request<Body>) -> Response {
    app.clone().oneshot(request).await.expect("infallible")
}

#[test]
fn liveness_and_readiness_answer_while_the_database_is_up() {
    on_shared_runtime(async {
        let (app, _db) = app().await;
        let live = send(&app, get("/health/live")).await;
        assert_eq!(live.status(), StatusCode::OK);
        assert_eq!(body_json(live).await["status"], "live");

        let ready = send(&app, get("/health/ready")).await;
        assert_eq!(ready.status(), StatusCode::OK);
        assert_eq!(body_json(ready).await["checks"]["database"], "ok");
    });
}

#[test]
fn readiness_fails_with_a_reason_when_the_database_is_gone() {
    on_shared_runtime(async {
        let (app, test_db) = app().await;
        test_db.db.close_by_ref().await.unwrap();
        let ready = send(&app, get("/health/ready")).await;
        assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
        let request_id = ready.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body = body_json(ready).await;
        assert_eq!(body["code"], "not_ready");
        assert_eq!(body["message"], "The database is unreachable.");
        assert_eq!(body["request_id"], request_id.as_str());
    });
}

#[test]
fn a_well_formed_request_id_is_echoed_and_a_bad_one_replaced() {
    on_shared_runtime(async {
        let (app, _db) = app().await;
        let with_id = Request::get("/health/live")
            .header("x-request-id", "lb-7f3a.42")
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            send(&app, with_id).await.headers()["x-request-id"],
            "lb-7f3a.42"
        );

        let forged = Request::get("/health/live")
            .header("x-request-id", "x\" injected=\"1")
            .body(Body::empty())
            .unwrap();
        let replaced = send(&app, forged).await;
        let id = replaced.headers()["x-request-id"].to_str().unwrap();
        assert_eq!(id.len(), 32, "a generated id: {id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    });
}

#[test]
fn unknown_api_addresses_get_the_json_error_shape() {
    on_shared_runtime(async {
        let (app, _db) = app().await;
        let response = send(&app, get("/api/v1/nothing-here")).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body = body_json(response).await;
        assert_eq!(body["code"], "not_found");
        assert!(body["message"].as_str().unwrap().len() > 5);
        assert_eq!(body["request_id"].as_str().unwrap().len(), 32);
        assert_eq!(body.as_object().unwrap().len(), 3, "nothing else: {body}");
    });
}

#[test]
fn an_oversized_body_is_refused_with_413_in_the_error_shape() {
    on_shared_runtime(async {
        let (app, _db) = app_with(&[("REQUEST_BODY_LIMIT_BYTES", "1024")]).await;
        let request = Request::post("/api/set_locale")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::CONTENT_LENGTH, "4096")
            .body(Body::from(vec![b'a'; 4096]))
            .unwrap();
        let response = send(&app, request).await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body_json(response).await["code"], "payload_too_large");
    });
}

#[test]
fn every_response_carries_the_security_headers() {
    on_shared_runtime(async {
        let (app, _db) = app().await;
        let response = send(&app, get("/health/live")).await;
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(
            headers["referrer-policy"],
            "strict-origin-when-cross-origin"
        );
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
        assert!(
            !headers.contains_key("strict-transport-security"),
            "no HSTS in development"
        );
    });
}

#[test]
fn production_adds_hsts() {
    on_shared_runtime(async {
        let (app, _db) = app_with(&[
            ("APP_ENV", "production"),
            ("DATABASE_URL", "sqlite::memory:"),
            ("APP_BASE_URL", "https://app.example.com"),
            ("SMTP_URL", "smtp://127.0.0.1:2525"),
            ("MAIL_FROM", "ShopMarkets <no-reply@example.com>"),
        ])
        .await;
        let response = send(&app, get("/health/live")).await;
        assert!(
            response.headers()["strict-transport-security"]
                .to_str()
                .unwrap()
                .starts_with("max-age=")
        );
    });
}

#[test]
fn pages_render_on_the_server_with_a_nonce_bound_policy() {
    on_shared_runtime(async {
        let (app, _db) = app().await;
        let request = Request::get("/")
            .header(header::ACCEPT_LANGUAGE, "en-US,en;q=0.9")
            .body(Body::empty())
            .unwrap();
        let response = send(&app, request).await;
        assert_eq!(response.status(), StatusCode::OK);
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        let html = body_text(response).await;

        assert!(
            html.contains("<html lang=\"en\""),
            "{}",
            &html[..300.min(html.len())]
        );
        for label in [
            "Dashboard",
            "Products",
            "Connections",
            "Orders",
            "Sync",
            "Settings",
            "Privacy",
        ] {
            assert!(html.contains(label), "navigation lacks {label}");
        }
        // The dashboard's system facts come from the database during SSR.
        assert!(
            html.contains("SQLite"),
            "system status rendered on the server"
        );

        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("page policy carries a nonce");
        assert!(csp.contains("'wasm-unsafe-eval'") && !csp.contains("unsafe-inline"));
        assert!(
            html.contains(&format!("nonce=\"{nonce}\"")),
            "hydration script uses the nonce"
        );
    });
}

#[test]
fn german_is_the_default_and_the_cookie_decides() {
    on_shared_runtime(async {
        let (app, _db) = app().await;
        let html = body_text(send(&app, get("/orders")).await).await;
        assert!(html.contains("<html lang=\"de\""));
        assert!(html.contains("Bestellungen") && html.contains("Noch nicht verfügbar"));

        let request = Request::get("/orders")
            .header(header::COOKIE, "sm_lang=en")
            .header(header::ACCEPT_LANGUAGE, "de-DE")
            .body(Body::empty())
            .unwrap();
        let html = body_text(send(&app, request).await).await;
        assert!(html.contains("<html lang=\"en\"") && html.contains("Not available yet"));
    });
}

#[test]
fn unknown_pages_render_the_not_found_page_with_404() {
    on_shared_runtime(async {
        let (app, _db) = app().await;
        let request = Request::get("/no/such/page")
            .header(header::ACCEPT_LANGUAGE, "en")
            .body(Body::empty())
            .unwrap();
        let response = send(&app, request).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(
            response.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(body_text(response).await.contains("Page not found"));
    });
}

#[test]
fn the_language_switch_stores_a_cookie() {
    on_shared_runtime(async {
        let (app, _db) = app().await;
        let request = Request::post("/api/set_locale")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(Body::from("locale=en"))
            .unwrap();
        let response = send(&app, request).await;
        assert_eq!(response.status(), StatusCode::OK);
        let cookie = response.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(cookie.starts_with("sm_lang=en;"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax") && cookie.contains("HttpOnly"));

        let bad = Request::post("/api/set_locale")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("locale=klingon"))
            .unwrap();
        let response = send(&app, bad).await;
        assert!(response.status().is_client_error() || response.status().is_server_error());
        assert!(!response.headers().contains_key(header::SET_COOKIE));
    });
}

#[test]
fn metrics_count_requests_by_route() {
    on_shared_runtime(async {
        let (app, _db) = app().await;
        send(&app, get("/health/live")).await;
        send(&app, get("/health/live")).await;
        let response = send(&app, get("/metrics")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let text = body_text(response).await;
        let line = text
            .lines()
            .find(|l| {
                l.starts_with("http_requests_total{")
                    && l.contains("route=\"/health/live\"")
                    && l.contains("status=\"200\"")
            })
            .unwrap_or_else(|| panic!("no request counter for /health/live in:\n{text}"));
        let count: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(count >= 2.0, "{line}");
        assert!(text.contains("http_request_duration_seconds_bucket{"));
    });
}

#[test]
fn metrics_want_the_token_when_one_is_configured() {
    on_shared_runtime(async {
        let token = "metrics-token-for-tests-0123456789";
        let (app, _db) = app_with(&[("METRICS_TOKEN", token)]).await;
        let anonymous = send(&app, get("/metrics")).await;
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(body_json(anonymous).await["code"], "unauthorized");

        let authorized = Request::get("/metrics")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(send(&app, authorized).await.status(), StatusCode::OK);
    });
}

#[test]
fn a_state_change_from_a_foreign_origin_is_refused() {
    on_shared_runtime(async {
        let (app, _db) = app().await;
        let post = |headers: &[(&str, &str)]| {
            let mut request = Request::post("/api/set_locale")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "application/json");
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.body(Body::from("locale=en")).unwrap()
        };

        let forged = send(&app, post(&[("origin", "https://evil.example")])).await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        assert!(
            !forged.headers().contains_key(header::SET_COOKIE),
            "nothing changed"
        );
        assert_eq!(body_json(forged).await["code"], "cross_origin_request");

        let cross_site = send(&app, post(&[("sec-fetch-site", "cross-site")])).await;
        assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);

        // The app's own origin (LEPTOS_SITE_ADDR in development) passes.
        let own = send(&app, post(&[("origin", "http://127.0.0.1:3000")])).await;
        assert_eq!(own.status(), StatusCode::OK);
        let same_origin = send(&app, post(&[("sec-fetch-site", "same-origin")])).await;
        assert_eq!(same_origin.status(), StatusCode::OK);
    });
}

#[test]
fn a_client_over_its_budget_gets_429_while_health_stays_up() {
    on_shared_runtime(async {
        let (app, _db) = app_with(&[("RATE_LIMIT_PER_MINUTE", "2")]).await;
        let from = |peer: &str, uri: &str| {
            let mut request = get(uri);
            request.extensions_mut().insert(axum::extract::ConnectInfo(
                peer.parse::<std::net::SocketAddr>().unwrap(),
            ));
            request
        };
        for _ in 0..2 {
            assert_eq!(
                send(&app, from("203.0.113.5:4000", "/api/v1/x"))
                    .await
                    .status(),
                StatusCode::NOT_FOUND
            );
        }
        let limited = send(&app, from("203.0.113.5:4001", "/")).await;
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry_after: u64 = limited.headers()[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=30).contains(&retry_after), "{retry_after}");
        assert_eq!(body_json(limited).await["code"], "too_many_requests");

        // Another client, and the health checks, are not affected.
        assert_eq!(
            send(&app, from("198.51.100.9:4000", "/health/live"))
                .await
                .status(),
            StatusCode::OK
        );
        assert_eq!(
            send(&app, from("203.0.113.5:4002", "/health/live"))
                .await
                .status(),
            StatusCode::OK
        );
        assert_ne!(
            send(&app, from("198.51.100.9:4000", "/")).await.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    });
}

#[test]
fn the_development_outbox_is_closed_in_production() {
    on_shared_runtime(async {
        let (production, _db) = app_with(&[
            ("APP_ENV", "production"),
            ("DATABASE_URL", "sqlite::memory:"),
            ("APP_BASE_URL", "https://app.example.com"),
            ("SMTP_URL", "smtp://127.0.0.1:2525"),
            ("MAIL_FROM", "ShopMarkets <no-reply@example.com>"),
        ])
        .await;
        let request = Request::post("/api/dev_outbox")
            .header(header::ACCEPT, "application/json")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::empty())
            .unwrap();
        let response = send(&production, request).await;
        assert!(!response.status().is_success(), "{}", response.status());
        assert!(!body_text(response).await.contains("@"));

        let (dev, _db) = app().await;
        let request = Request::post("/api/dev_outbox")
            .header(header::ACCEPT, "application/json")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::empty())
            .unwrap();
        assert_eq!(send(&dev, request).await.status(), StatusCode::OK);
    });
}

#[test]
fn a_sign_up_with_invalid_fields_answers_per_field_and_stores_nothing() {
    on_shared_runtime(async {
        let (app, test_db) = app().await;
        let request = Request::post("/api/register")
            .header(header::ACCEPT, "application/json")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(
                "email=not-an-address&password=short&display_name=Erika&organization_name=%3Cb%3EX%3C%2Fb%3E",
            ))
            .unwrap();
        let response = send(&app, request).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body = body_text(response).await;
        assert!(
            body.contains("invalid_email") && body.contains("too_short"),
            "{body}"
        );
        assert!(
            !body.contains("display_name") && !body.contains("organization_name"),
            "{body}"
        );
        use sea_orm::EntityTrait as _;
        let users = shopmarkets_core::entity::user::Entity::find()
            .all(&test_db.db)
            .await
            .unwrap();
        assert!(users.is_empty());
    });
}
