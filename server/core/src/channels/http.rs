//! The one HTTP client for marketplace calls: rustls with the system's roots plus the extra
//! certificate authorities of `EXTRA_CA_CERT` (a TLS-inspecting proxy in production, the
//! sandboxes' self-signed certificate in development and tests), sane timeouts, our user agent,
//! and no redirects followed (a marketplace redirect on an API call is an error to report, not
//! a hop to take with credentials attached).

use std::time::Duration;

use crate::config::ChannelsConfig;

/// Connecting must not take longer than this; marketplaces answer within a second normally.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A whole call, body included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("could not read EXTRA_CA_CERT ({path}): {reason}")]
    CaFile { path: String, reason: String },
    #[error("EXTRA_CA_CERT ({path}) holds no PEM certificate")]
    NoCertificate { path: String },
    #[error("could not build the marketplace HTTP client: {0}")]
    Build(String),
}

/// Builds the client marketplace adapters share.
pub fn client(config: &ChannelsConfig) -> Result<reqwest::Client, ClientError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("ShopMarkets/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(path) = &config.extra_ca_cert {
        let shown = path.display().to_string();
        let pem = std::fs::read(path).map_err(|e| ClientError::CaFile {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let certs =
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ClientError::CaFile {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
        if certs.is_empty() {
            return Err(ClientError::NoCertificate { path: shown });
        }
        builder = builder.tls_certs_merge(certs);
    }
    builder
        .build()
        .map_err(|e| ClientError::Build(e.to_string()))
}

/// Lowercase hex, as most marketplace signatures are written.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}
