//! Local marketplaces that speak each channel's real protocol: Shopify, WooCommerce, Amazon
//! SP-API, eBay, Kaufland and Etsy.
//!
//! The marketplaces cannot be reached from development and test machines, and a merchant trying
//! ShopMarkets has no seller accounts, so every channel adapter, sync test and development run
//! talks to these instead. Fidelity matters more than breadth: paths, field names, error shapes,
//! signatures, token lifetimes and rate limits follow the marketplaces' documentation (see
//! `docs/sandboxes.md` for what is covered and what is not).
//!
//! All six run in one axum [`Router`] under `/{shopify,woocommerce,amazon,ebay,kaufland,etsy}`,
//! mounted in-process under a prefix (the app's development server, tests) or served on a port
//! of their own over HTTP or HTTPS ([`serve`]). Each has a control API under `…/_sandbox`:
//! state as JSON, faults, limits, the clock, token revocation, test orders, and a page.

pub mod amazon;
pub mod common;
pub mod ebay;
pub mod etsy;
pub mod kaufland;
pub mod shopify;
pub mod woocommerce;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::response::Html;
use axum::routing::get;

use common::deliveries::Deliverer;
use common::faults::Faults;
pub use common::tls::{SelfSigned, serve};
pub use common::{AppRegistration, Context, Controls, Sandbox, TestOrder};

/// The app registrations the sandboxes accept, one per marketplace. Kaufland has no app: its
/// entry holds the seller's client key (`client_id`) and secret key (`client_secret`).
#[derive(Debug, Clone, Default)]
pub struct Apps {
    pub shopify: AppRegistration,
    pub woocommerce: AppRegistration,
    pub amazon: AppRegistration,
    pub ebay: AppRegistration,
    pub kaufland: AppRegistration,
    pub etsy: AppRegistration,
}

impl Apps {
    /// Random credentials for every marketplace (a development run that configured none).
    pub fn generated() -> Self {
        let mut amazon = AppRegistration::generated("amzn1.application-oa2-client.");
        amazon.extra.insert(
            "application_id".into(),
            format!("amzn1.sp.solution.{}", uuid::Uuid::new_v4()),
        );
        let mut ebay = AppRegistration::generated("ShopMark-Sandbox-SBX-");
        ebay.extra.insert(
            "ru_name".into(),
            format!("ShopMarkets-Sandbox-{}", common::tokens::random_string(8)),
        );
        let mut kaufland = AppRegistration::generated("");
        kaufland.client_id = common::tokens::random_hex(16);
        kaufland.client_secret = common::tokens::random_hex(32);
        Self {
            shopify: AppRegistration::generated(""),
            woocommerce: AppRegistration::default(),
            amazon,
            ebay,
            kaufland,
            etsy: AppRegistration::generated(""),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where the sandboxes are reachable, without a trailing slash: `http://127.0.0.1:3000/sandbox`
    /// when mounted in the app, `https://127.0.0.1:4000` when standalone.
    pub base_url: String,
    pub apps: Apps,
    pub faults: Faults,
    /// Multiplies the notification retry waits (1.0 real schedule).
    pub retry_scale: f64,
    /// Rate limits at the marketplaces' real values (on) or none (benchmarks).
    pub limits_enabled: bool,
    /// The client notifications are sent with (a test adds its own CA here).
    pub http: reqwest::Client,
}

impl SandboxConfig {
    pub fn new(base_url: impl Into<String>, apps: Apps) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            apps,
            faults: Faults::default(),
            retry_scale: 1.0,
            limits_enabled: true,
            http: reqwest::Client::builder()
                .user_agent("ShopMarkets-Sandbox")
                .build()
                .unwrap_or_default(),
        }
    }
}

/// The six sandboxes.
pub struct Sandboxes {
    pub shopify: Arc<shopify::Shopify>,
    pub woocommerce: Arc<woocommerce::WooCommerce>,
    pub amazon: Arc<amazon::Amazon>,
    pub ebay: Arc<ebay::Ebay>,
    pub kaufland: Arc<kaufland::Kaufland>,
    pub etsy: Arc<etsy::Etsy>,
    base_url: String,
}

impl std::fmt::Debug for Sandboxes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandboxes")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Sandboxes {
    pub fn new(config: SandboxConfig) -> Self {
        let context = |name: &str, app: AppRegistration| {
            let deliverer = Arc::new(Deliverer::new(config.http.clone()));
            deliverer.set_retry_scale(config.retry_scale);
            Context {
                base_url: format!("{}/{name}", config.base_url),
                controls: Arc::new(Controls::new(config.faults.clone(), deliverer)),
                app,
                limits_enabled: config.limits_enabled,
                http: config.http.clone(),
            }
        };
        let apps = config.apps.clone();
        Self {
            shopify: shopify::Shopify::new(context("shopify", apps.shopify)),
            woocommerce: woocommerce::WooCommerce::new(context("woocommerce", apps.woocommerce)),
            amazon: amazon::Amazon::new(context("amazon", apps.amazon)),
            ebay: ebay::Ebay::new(context("ebay", apps.ebay)),
            kaufland: kaufland::Kaufland::new(context("kaufland", apps.kaufland)),
            etsy: etsy::Etsy::new(context("etsy", apps.etsy)),
            base_url: config.base_url,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn all(&self) -> [Arc<dyn Sandbox>; 6] {
        [
            self.shopify.clone(),
            self.woocommerce.clone(),
            self.amazon.clone(),
            self.ebay.clone(),
            self.kaufland.clone(),
            self.etsy.clone(),
        ]
    }

    /// All six under their names, plus an index page at `/`.
    pub fn router(&self) -> Router {
        let links: String = self
            .all()
            .iter()
            .map(|s| {
                let (id, name) = s.name();
                format!(
                    "<li><a href=\"{}/{id}/_sandbox\">{name}</a></li>",
                    self.base_url
                )
            })
            .collect();
        let index = Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>ShopMarkets sandboxes</title></head>\
             <body><h1>ShopMarkets sandboxes / Sandboxen</h1><ul>{links}</ul></body></html>"
        ));
        Router::new()
            .route("/", get(move || async move { index.clone() }))
            .nest("/shopify", self.shopify.router())
            .nest("/woocommerce", self.woocommerce.router())
            .nest("/amazon", self.amazon.router())
            .nest("/ebay", self.ebay.router())
            .nest("/kaufland", self.kaufland.router())
            .nest("/etsy", self.etsy.router())
    }

    /// The whole state as one JSON document.
    pub fn snapshot(&self) -> serde_json::Value {
        let mut all = serde_json::Map::new();
        for sandbox in self.all() {
            all.insert(sandbox.name().0.to_owned(), sandbox.snapshot());
        }
        serde_json::Value::Object(all)
    }

    /// Restores what [`Self::snapshot`] wrote; sandboxes missing from it keep their state.
    pub fn restore(&self, snapshot: &serde_json::Value) -> anyhow::Result<()> {
        for sandbox in self.all() {
            let (id, _) = sandbox.name();
            if let Some(state) = snapshot.get(id) {
                sandbox
                    .restore(state.clone())
                    .map_err(|e| anyhow::anyhow!("restoring the {id} sandbox: {e}"))?;
            }
        }
        Ok(())
    }

    /// Loads a snapshot file if it exists.
    pub fn load(&self, path: &Path) -> anyhow::Result<bool> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let value: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        self.restore(&value)?;
        Ok(true)
    }

    /// Writes the snapshot atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_vec_pretty(&self.snapshot())?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
        Ok(())
    }

    /// Saves the snapshot every `every` while the returned task runs.
    pub fn autosave(
        self: &Arc<Self>,
        path: PathBuf,
        every: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut last = String::new();
            loop {
                tokio::time::sleep(every).await;
                let now = this.snapshot().to_string();
                if now != last {
                    if let Err(error) = this.save(&path) {
                        tracing::warn!(error = %error, "sandbox: saving the snapshot failed");
                    }
                    last = now;
                }
            }
        })
    }
}
