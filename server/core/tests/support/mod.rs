//! The ground for the channel connection tests: the six sandboxes on a loopback port (as
//! development runs them), a configuration whose endpoints and app registrations point at
//! them, and a small stand-in for the app's own endpoints (the WooCommerce key handover and
//! the notification endpoints), which call the same `core` functions the server does.

#![allow(dead_code)]

pub mod forms;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::{get, post};
use chrono::Utc;
use sea_orm::{ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _};
use serde_json::Value;
use shopmarkets_core::access::Scope;
use shopmarkets_core::audit;
use shopmarkets_core::channels::Channels;
use shopmarkets_core::channels::channel::IncomingWebhook;
use shopmarkets_core::channels::connections::{self, ConnectionView};
use shopmarkets_core::channels::credentials::{ConnectionSecrets, Credentials};
use shopmarkets_core::db::Db;
use shopmarkets_core::entity::{audit_event, channel_connection, channel_event};
use shopmarkets_core::testing;
use shopmarkets_sandbox::{AppRegistration, Apps, SandboxConfig, Sandboxes};
use shopmarkets_types::Marketplace;
use tokio::net::TcpListener;
use uuid::Uuid;

pub const SESSION: &str = "test-browser-session";

/// The app registrations, shared by the configuration and the sandboxes.
const APP_VARS: [(&str, &str); 9] = [
    ("SHOPIFY_CLIENT_ID", "shopify-test-client"),
    ("SHOPIFY_CLIENT_SECRET", "shopify-test-secret-0123456789"),
    (
        "AMAZON_LWA_CLIENT_ID",
        "amzn1.application-oa2-client.testclient",
    ),
    ("AMAZON_LWA_CLIENT_SECRET", "amazon-test-secret-0123456789"),
    (
        "AMAZON_APPLICATION_ID",
        "amzn1.sp.solution.test-application",
    ),
    ("EBAY_CLIENT_ID", "ShopMark-Test-SBX-0123456"),
    ("EBAY_CLIENT_SECRET", "SBX-ebay-test-secret-0123"),
    ("EBAY_RU_NAME", "ShopMarkets-Test-RuName"),
    ("ETSY_KEYSTRING", "etsytestkeystring01"),
];
const ETSY_SHARED_SECRET: &str = "etsytestsecret";

/// Everything a channel test needs.
pub struct World {
    pub db: Db,
    pub channels: Channels,
    pub sandboxes: Arc<Sandboxes>,
    /// `http://127.0.0.1:{port}`: the sandboxes, `/shopify`, `/etsy`…
    pub sandbox_url: String,
    /// `http://127.0.0.1:{port}`: the stand-in for the app.
    pub app_url: String,
    pub owner: Uuid,
    pub scope: Scope,
    /// A client that follows no redirects: each step of a flow is looked at.
    pub browser: reqwest::Client,
}

impl World {
    pub async fn start(db: Db) -> Self {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let app_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let app_url = format!("http://{}", app_listener.local_addr().unwrap());
        let sandbox_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sandbox_addr = sandbox_listener.local_addr().unwrap();
        let sandbox_url = format!("http://{sandbox_addr}");

        let mut vars: Vec<(&str, String)> = APP_VARS
            .iter()
            .map(|(k, v)| (*k, (*v).to_owned()))
            .collect();
        vars.push(("ETSY_SHARED_SECRET", ETSY_SHARED_SECRET.to_owned()));
        vars.push(("CHANNEL_SANDBOXES", "on".to_owned()));
        vars.push(("SANDBOX_ADDR", sandbox_addr.to_string()));
        let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let config = testing::config(&refs);

        let callback = |m: Marketplace| vec![format!("{app_url}/channels/{}/callback", m.code())];
        let var = |name: &str| {
            APP_VARS
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
                .unwrap()
        };
        let apps = Apps {
            shopify: AppRegistration {
                client_id: var("SHOPIFY_CLIENT_ID"),
                client_secret: var("SHOPIFY_CLIENT_SECRET"),
                redirect_uris: callback(Marketplace::Shopify),
                extra: BTreeMap::new(),
            },
            woocommerce: AppRegistration::default(),
            amazon: AppRegistration {
                client_id: var("AMAZON_LWA_CLIENT_ID"),
                client_secret: var("AMAZON_LWA_CLIENT_SECRET"),
                redirect_uris: callback(Marketplace::Amazon),
                extra: BTreeMap::from([(
                    "application_id".to_owned(),
                    var("AMAZON_APPLICATION_ID"),
                )]),
            },
            ebay: AppRegistration {
                client_id: var("EBAY_CLIENT_ID"),
                client_secret: var("EBAY_CLIENT_SECRET"),
                redirect_uris: callback(Marketplace::Ebay),
                extra: BTreeMap::from([("ru_name".to_owned(), var("EBAY_RU_NAME"))]),
            },
            kaufland: AppRegistration {
                client_id: KAUFLAND_CLIENT_KEY.to_owned(),
                client_secret: KAUFLAND_SECRET_KEY.to_owned(),
                redirect_uris: Vec::new(),
                extra: BTreeMap::new(),
            },
            etsy: AppRegistration {
                client_id: var("ETSY_KEYSTRING"),
                client_secret: ETSY_SHARED_SECRET.to_owned(),
                redirect_uris: callback(Marketplace::Etsy),
                extra: BTreeMap::new(),
            },
        };
        let mut sandbox_config = SandboxConfig::new(&sandbox_url, apps);
        sandbox_config.retry_scale = 0.0001;
        let sandboxes = Arc::new(Sandboxes::new(sandbox_config));
        tokio::spawn(shopmarkets_sandbox::serve(
            sandbox_listener,
            sandboxes.router(),
            None,
        ));

        let channels = Channels::new(&config, &app_url).unwrap();
        let app = Router::new()
            .route("/channels/woo_commerce/keys", post(handed_over_keys))
            .route(
                "/webhooks/{marketplace}/{id}",
                get(webhook_challenge).post(webhook),
            )
            .with_state((db.clone(), channels.clone(), app_url.clone()));
        tokio::spawn(async move { axum::serve(app_listener, app).await });

        let (owner, scope) =
            testing::owner_of_new_organization(&db, "owner@example.com", "Muster GmbH").await;
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            db,
            channels,
            sandboxes,
            sandbox_url,
            app_url,
            owner,
            scope,
            browser,
        }
    }

    /// The base URL of one sandbox, e.g. `sandbox("shopify")`.
    pub fn sandbox(&self, id: &str) -> String {
        format!("{}/{id}", self.sandbox_url)
    }

    /// A sandbox's state endpoint as JSON.
    pub async fn sandbox_state(&self, id: &str) -> serde_json::Value {
        self.browser
            .get(format!("{}/_sandbox/state", self.sandbox(id)))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Calls a sandbox control route (`POST /_sandbox/clock` …) with a JSON body.
    pub async fn control(
        &self,
        id: &str,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) {
        let response = self
            .browser
            .request(method, format!("{}/_sandbox/{path}", self.sandbox(id)))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }

    /// Another organization with its own owner, to prove isolation.
    pub async fn stranger(&self) -> Scope {
        testing::owner_of_new_organization(&self.db, "stranger@example.com", "Fremd AG")
            .await
            .1
    }

    /// Starts a flow in the test session as the owner; returns the marketplace's consent URL.
    pub async fn start_flow(
        &self,
        marketplace: Marketplace,
        input: &shopmarkets_core::channels::channel::ConnectInput,
        now: chrono::DateTime<Utc>,
    ) -> Result<String, connections::ConnectError> {
        connections::start(
            &self.db,
            &self.channels,
            &self.scope,
            SESSION,
            marketplace,
            input,
            None,
            now,
        )
        .await
    }

    /// Finishes a flow with the callback URL the marketplace redirected to.
    pub async fn finish(
        &self,
        marketplace: Marketplace,
        callback_url: &str,
    ) -> Result<connections::ConnectionView, connections::ConnectError> {
        connections::finish(
            &self.db,
            &self.channels,
            SESSION,
            marketplace,
            &query_of(callback_url),
            None,
            Utc::now(),
        )
        .await
    }
}

/// Kaufland's seller keys (the sandbox's default seller).
pub const KAUFLAND_CLIENT_KEY: &str = "0123456789abcdef0123456789abcdef";
pub const KAUFLAND_SECRET_KEY: &str =
    "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

/// The query parameters of a URL.
pub fn query_of(url: &str) -> BTreeMap<String, String> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap()
        .into_iter()
        .collect()
}

/// The URL with one query parameter replaced.
pub fn with_param(url: &str, name: &str, value: &str) -> String {
    let (base, _) = url.split_once('?').unwrap();
    let mut query = query_of(url);
    query.insert(name.to_owned(), value.to_owned());
    format!("{base}?{}", serde_urlencoded::to_string(&query).unwrap())
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

type AppState = (Db, Channels, String);

#[derive(serde::Deserialize)]
struct HandedOver {
    user_id: String,
    consumer_key: String,
    consumer_secret: String,
}

/// What the server's `/channels/woo_commerce/keys` does.
async fn handed_over_keys(State((db, channels, _)): State<AppState>, body: Bytes) -> StatusCode {
    let Ok(keys) = serde_json::from_slice::<HandedOver>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    match connections::receive_handed_over_keys(
        &db,
        &channels,
        &keys.user_id,
        &keys.consumer_key,
        &keys.consumer_secret,
        Utc::now(),
    )
    .await
    {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

/// What the server's notification endpoint does.
async fn webhook(
    State((db, channels, app_url)): State<AppState>,
    Path((marketplace, id)): Path<(String, Uuid)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let Some(marketplace) = Marketplace::from_code(&marketplace) else {
        return StatusCode::NOT_FOUND;
    };
    let url = format!("{app_url}{uri}");
    let incoming = IncomingWebhook {
        url: &url,
        headers: &headers,
        body: &body,
    };
    match connections::receive(&db, &channels, marketplace, id, incoming, Utc::now()).await {
        Ok(_) => StatusCode::OK,
        Err(connections::WebhookRejection::Gone) => StatusCode::GONE,
        Err(connections::WebhookRejection::UnknownConnection) => StatusCode::NOT_FOUND,
        Err(connections::WebhookRejection::Invalid(_)) => StatusCode::UNAUTHORIZED,
        Err(connections::WebhookRejection::Internal(_)) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn webhook_challenge(
    State((db, channels, app_url)): State<AppState>,
    Path((marketplace, id)): Path<(String, Uuid)>,
    Query(query): Query<BTreeMap<String, String>>,
) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    let json = [("content-type", "application/json")];
    let Some(marketplace) = Marketplace::from_code(&marketplace) else {
        return (StatusCode::NOT_FOUND, json, String::new());
    };
    let endpoint = format!("{app_url}/webhooks/{}/{id}", marketplace.code());
    match connections::challenge(&db, &channels, marketplace, id, &query, &endpoint).await {
        Ok(Some(body)) => (StatusCode::OK, json, body),
        _ => (StatusCode::NOT_FOUND, json, String::new()),
    }
}

/// Asserts a result is the given channel error code.
pub fn assert_channel_error<T: std::fmt::Debug>(
    result: Result<T, connections::ConnectError>,
    code: &str,
) {
    match result {
        Err(error) => assert_eq!(error.code(), code, "{error}"),
        Ok(value) => panic!("expected {code}, got {value:?}"),
    }
}

/// The code of a connection's last error.
pub fn error_code(view: &ConnectionView) -> Option<&str> {
    view.last_error.as_ref().map(|(code, _)| code.as_str())
}

/// A connection's row.
pub async fn row(w: &World, id: Uuid) -> channel_connection::Model {
    channel_connection::Entity::find_by_id(id)
        .one(&w.db)
        .await
        .unwrap()
        .unwrap()
}

/// The decrypted secrets of a connection, as the adapters see them (tests only: the app never
/// shows them).
pub async fn secrets(w: &World, id: Uuid) -> ConnectionSecrets {
    let sealed = row(w, id).await.secrets.expect("stored secrets");
    let plain = w
        .channels
        .cipher()
        .decrypt(&sealed, &format!("channel_connection:{id}"))
        .unwrap();
    serde_json::from_slice(plain.expose()).unwrap()
}

/// The access and refresh tokens of OAuth credentials that have both.
pub fn tokens(secrets: &ConnectionSecrets) -> (String, String) {
    match &secrets.credentials {
        Credentials::OAuth {
            access_token,
            refresh_token,
            ..
        } => (access_token.clone(), refresh_token.clone().unwrap()),
        other => panic!("expected OAuth credentials, got {other:?}"),
    }
}

/// How many connections are stored, in any organization.
pub async fn connection_count(w: &World) -> u64 {
    channel_connection::Entity::find()
        .count(&w.db)
        .await
        .unwrap()
}

/// How many audit entries with this action there are, in any organization.
pub async fn audit_count(w: &World, action: &str) -> u64 {
    audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq(action))
        .count(&w.db)
        .await
        .unwrap()
}

/// The actions of the organization's audit trail, newest first.
pub async fn audit_actions(w: &World) -> Vec<String> {
    audit::list(&w.db, Some(w.scope.organization_id()), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

/// The organization's audit trail, newest first: each entry's action and details.
pub async fn audit_trail(w: &World) -> Vec<(String, Value)> {
    audit::list(&w.db, Some(w.scope.organization_id()), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, serde_json::from_str(&e.details).unwrap()))
        .collect()
}

/// The notifications stored for a connection.
pub async fn events(w: &World, id: Uuid) -> Vec<channel_event::Model> {
    channel_event::Entity::find()
        .filter(channel_event::Column::ConnectionId.eq(id))
        .all(&w.db)
        .await
        .unwrap()
}

/// Polls up to 10 s until `done` holds for the connection's stored notifications; returns
/// them (the test then checks what it got).
pub async fn wait_for_events(
    w: &World,
    id: Uuid,
    done: impl Fn(&[channel_event::Model]) -> bool,
) -> Vec<channel_event::Model> {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let got = events(w, id).await;
        if done(&got) || Instant::now() > until {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls until `check` holds, up to 10 s; fails the test naming `what` otherwise.
pub async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("waited 10 s for {what}");
}
