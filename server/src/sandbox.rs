//! The local marketplace sandboxes: started beside the app in development (`serve` with
//! `CHANNEL_SANDBOXES=on`, the default there) or on their own (`shopmarkets sandbox`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use shopmarkets_sandbox::{Apps, SandboxConfig, Sandboxes, SelfSigned};

/// How often a changed sandbox state is written to its file.
const AUTOSAVE_EVERY: Duration = Duration::from_secs(5);

/// Where and how to run the sandboxes.
#[derive(Debug, Clone)]
pub struct Launch {
    pub addr: SocketAddr,
    pub tls: bool,
    /// The JSON file their state is loaded from and saved to.
    pub state_file: PathBuf,
    /// With TLS: where the generated certificate is written, for the app (or any client) to
    /// trust.
    pub cert_file: Option<PathBuf>,
    /// The app registrations the sandboxes accept.
    pub apps: Apps,
}

/// The sandboxes' app registrations from the app's own configuration (generated development
/// values in `DATA_DIR/secrets.env`), with the app's callback URLs registered as redirect URIs:
/// both sides agree, as they would after registering the app in each developer console.
pub fn apps_of(config: &shopmarkets_core::Config, public_origin: &str) -> Apps {
    use shopmarkets_sandbox::AppRegistration;
    use shopmarkets_types::Marketplace;
    let registration = |marketplace: Marketplace| {
        let callback = format!("{public_origin}/channels/{}/callback", marketplace.code());
        config
            .channels
            .apps
            .get(&marketplace)
            .map(|app| AppRegistration {
                client_id: app.client_id.clone(),
                client_secret: app.client_secret.expose().clone(),
                redirect_uris: vec![callback.clone()],
                extra: app
                    .extra
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone()))
                    .collect(),
            })
            .unwrap_or_default()
    };
    let mut apps = Apps::generated();
    for (marketplace, slot) in [
        (Marketplace::Shopify, &mut apps.shopify),
        (Marketplace::Amazon, &mut apps.amazon),
        (Marketplace::Ebay, &mut apps.ebay),
        (Marketplace::Etsy, &mut apps.etsy),
    ] {
        let configured = registration(marketplace);
        if !configured.client_id.is_empty() {
            *slot = configured;
        }
    }
    apps
}

/// Binds, restores the saved state and serves the sandboxes in the background. Returns the
/// sandboxes (for their base URL and credentials) once they accept connections.
pub async fn launch(launch: Launch) -> anyhow::Result<Arc<Sandboxes>> {
    let listener = tokio::net::TcpListener::bind(launch.addr)
        .await
        .with_context(|| format!("the sandboxes cannot listen on {}", launch.addr))?;
    let scheme = if launch.tls { "https" } else { "http" };
    let base_url = format!("{scheme}://{}", listener.local_addr()?);
    let sandboxes = Arc::new(Sandboxes::new(SandboxConfig::new(
        &base_url,
        launch.apps.clone(),
    )));
    match sandboxes.load(&launch.state_file) {
        Ok(true) => tracing::info!(file = %launch.state_file.display(), "sandbox state restored"),
        Ok(false) => {}
        Err(error) => tracing::warn!(
            error = %error,
            "the saved sandbox state could not be read; starting empty"
        ),
    }
    sandboxes.autosave(launch.state_file.clone(), AUTOSAVE_EVERY);
    let tls = if launch.tls {
        let cert = SelfSigned::generate(&[]).context("sandbox certificate")?;
        if let Some(file) = &launch.cert_file {
            write_cert(file, &cert.cert_pem)?;
            tracing::info!(file = %file.display(), "sandbox certificate written");
        }
        Some(cert)
    } else {
        None
    };
    let router = sandboxes.router();
    tokio::spawn(async move {
        if let Err(error) = shopmarkets_sandbox::serve(listener, router, tls).await {
            tracing::error!(error = %error, "the sandboxes stopped");
        }
    });
    tracing::info!(url = %base_url, "marketplace sandboxes are running at {base_url}");
    Ok(sandboxes)
}

fn write_cert(file: &Path, pem: &str) -> anyhow::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(file, pem).with_context(|| format!("writing {}", file.display()))
}
