//! The harness for the sandbox contract tests: all six sandboxes mounted under `/sandbox` on a
//! loopback port (in-process, as the app's development server mounts them), plain HTTP clients,
//! and a receiver that records every notification the sandboxes send.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::any;
use shopmarkets_sandbox::{AppRegistration, Apps, SandboxConfig, Sandboxes};
use tokio::net::TcpListener;

/// Fixed credentials the tests register, so signatures can be computed independently.
pub fn test_apps(receiver: &str) -> Apps {
    Apps {
        shopify: AppRegistration {
            client_id: "shopify-client-id".into(),
            client_secret: "shopify-client-secret".into(),
            redirect_uris: vec![format!("{receiver}/callback/shopify")],
            extra: BTreeMap::new(),
        },
        amazon: AppRegistration {
            client_id: "amzn1.application-oa2-client.test".into(),
            client_secret: "amazon-client-secret".into(),
            redirect_uris: vec![format!("{receiver}/callback/amazon")],
            extra: BTreeMap::from([("application_id".into(), "amzn1.sp.solution.test-app".into())]),
        },
        ebay: AppRegistration {
            client_id: "ShopMark-Test-SBX-1234".into(),
            client_secret: "SBX-ebay-client-secret".into(),
            redirect_uris: vec![format!("{receiver}/callback/ebay")],
            extra: BTreeMap::from([("ru_name".into(), "ShopMarkets-Test-RuName".into())]),
        },
        kaufland: AppRegistration {
            client_id: "0123456789abcdef0123456789abcdef".into(),
            client_secret: "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
                .into(),
            redirect_uris: Vec::new(),
            extra: BTreeMap::new(),
        },
        etsy: AppRegistration {
            client_id: "etsykeystring123".into(),
            client_secret: "etsysharedsecret".into(),
            redirect_uris: vec![format!("{receiver}/callback/etsy")],
            extra: BTreeMap::new(),
        },
        woocommerce: AppRegistration::default(),
    }
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// A stand-in for the app's endpoints: records every request and answers with the status set
/// for its path (200 by default).
#[derive(Clone, Default)]
pub struct Receiver {
    pub received: Arc<Mutex<Vec<Received>>>,
    statuses: Arc<Mutex<BTreeMap<String, u16>>>,
    /// Bodies to answer with, per path (eBay's challenge, WooCommerce's key callback…).
    bodies: Arc<Mutex<BTreeMap<String, String>>>,
}

impl Receiver {
    pub fn answer(&self, path: &str, status: u16) {
        self.statuses
            .lock()
            .unwrap()
            .insert(path.to_owned(), status);
    }

    pub fn answer_body(&self, path: &str, body: &str) {
        self.bodies
            .lock()
            .unwrap()
            .insert(path.to_owned(), body.to_owned());
    }

    pub fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Requests to paths starting with `prefix`.
    pub fn at(&self, prefix: &str) -> Vec<Received> {
        self.all()
            .into_iter()
            .filter(|r| r.uri.path().starts_with(prefix))
            .collect()
    }

    /// Waits until `count` requests to `prefix` arrived (at most 10 s).
    pub async fn wait_for(&self, prefix: &str, count: usize) -> Vec<Received> {
        for _ in 0..200 {
            let got = self.at(prefix);
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {count} requests to {prefix}, got {:?}",
            self.at(prefix)
        );
    }

    pub fn clear(&self) {
        self.received.lock().unwrap().clear();
    }
}

async fn receive(
    State(receiver): State<Receiver>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let path = uri.path().to_owned();
    receiver.received.lock().unwrap().push(Received {
        method,
        uri,
        headers,
        body,
    });
    let status = receiver
        .statuses
        .lock()
        .unwrap()
        .get(&path)
        .copied()
        .unwrap_or(200);
    let body = receiver
        .bodies
        .lock()
        .unwrap()
        .get(&path)
        .cloned()
        .unwrap_or_default();
    (StatusCode::from_u16(status).unwrap(), body)
}

pub struct Harness {
    pub sandboxes: Arc<Sandboxes>,
    /// `http://127.0.0.1:{port}/sandbox`
    pub base: String,
    /// `http://127.0.0.1:{port}` of the receiver (the app's stand-in).
    pub receiver_url: String,
    pub receiver: Receiver,
    /// A client that follows no redirects, so each step of a flow can be looked at.
    pub http: reqwest::Client,
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts with the configuration adjusted by `adjust` (faults, limits off…).
    pub async fn start_with(adjust: impl FnOnce(&mut SandboxConfig)) -> Self {
        let receiver = Receiver::default();
        let receiver_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver_url = format!("http://{}", receiver_listener.local_addr().unwrap());
        let receiver_router = Router::new()
            .fallback(any(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(receiver_listener, receiver_router).await });

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/sandbox", listener.local_addr().unwrap());
        let mut config = SandboxConfig::new(base.clone(), test_apps(&receiver_url));
        config.retry_scale = 0.0001;
        adjust(&mut config);
        let sandboxes = Arc::new(Sandboxes::new(config));
        let router = Router::new().nest("/sandbox", sandboxes.router());
        tokio::spawn(shopmarkets_sandbox::serve(listener, router, None));

        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            sandboxes,
            base,
            receiver_url,
            receiver,
            http,
        }
    }

    /// The base URL of one sandbox, e.g. `url("shopify")`.
    pub fn url(&self, sandbox: &str) -> String {
        format!("{}/{sandbox}", self.base)
    }

    pub async fn state(&self, sandbox: &str) -> serde_json::Value {
        self.http
            .get(format!("{}/_sandbox/state", self.url(sandbox)))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn set_faults(&self, sandbox: &str, faults: serde_json::Value) {
        let response = self
            .http
            .put(format!("{}/_sandbox/faults", self.url(sandbox)))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }

    pub async fn set_limits(&self, sandbox: &str, limits: serde_json::Value) {
        let response = self
            .http
            .put(format!("{}/_sandbox/limits", self.url(sandbox)))
            .json(&limits)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }

    pub async fn advance_clock(&self, sandbox: &str, secs: u64) {
        let response = self
            .http
            .post(format!("{}/_sandbox/clock", self.url(sandbox)))
            .json(&serde_json::json!({ "advance_secs": secs }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }

    pub async fn revoke(&self, sandbox: &str) {
        let response = self
            .http
            .post(format!("{}/_sandbox/revoke", self.url(sandbox)))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }

    pub async fn place_order(
        &self,
        sandbox: &str,
        sku: Option<&str>,
        quantity: u32,
    ) -> serde_json::Value {
        let response = self
            .http
            .post(format!("{}/_sandbox/orders", self.url(sandbox)))
            .json(&serde_json::json!({ "sku": sku, "quantity": quantity }))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(status, 201, "{body}");
        serde_json::from_str(&body).unwrap()
    }
}

/// The query parameters of a `Location` header (or any URL).
pub fn query_of(url: &str) -> BTreeMap<String, String> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap()
        .into_iter()
        .collect()
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_owned()
}
