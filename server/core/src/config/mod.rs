//! Configuration from the environment, and nothing else.
//!
//! [`Config::from_process_env`] is the one place that reads the process environment: in
//! development it first reads `.env` and the generated development secrets, then everything is
//! parsed by the pure [`Config::from_vars`], which tests call with a plain map. Errors name the
//! variable and never its value.

mod channels;
mod cors;
mod dev_secrets;
pub mod keys;

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

pub use channels::{AppCredentials, ChannelsConfig, SandboxSettings};
pub use dev_secrets::DevSecretsNotice;
pub use keys::{Key, KeyList, KeyListError};

use crate::{db::DatabaseUrl, secret::Secret};

/// The variables holding secrets that production refuses to start without.
pub const REQUIRED_SECRETS: [&str; 2] = ["ENCRYPTION_KEYS", "SIGNING_KEYS"];

/// Where the process runs. Production is strict; development is convenient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

impl AppEnv {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Production => "production",
        }
    }

    pub fn is_production(self) -> bool {
        self == Self::Production
    }

    fn parse(value: Option<&str>) -> Result<Self, ConfigError> {
        match value.map(str::trim) {
            None | Some("") | Some("development") => Ok(Self::Development),
            Some("production") => Ok(Self::Production),
            Some(_) => Err(ConfigError::invalid(
                "APP_ENV",
                "must be 'development' or 'production'",
            )),
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, for log collectors (default in production).
    Json,
    /// Human-readable, coloured when attached to a terminal (default in development).
    Pretty,
}

/// A configuration problem, naming the variable and never its value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var} is not set; it is required in production")]
    Missing { var: &'static str },
    #[error("{var} {reason}")]
    Invalid { var: &'static str, reason: String },
    #[error("could not read {path}: {reason}")]
    File { path: PathBuf, reason: String },
}

impl ConfigError {
    fn invalid(var: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            var,
            reason: reason.into(),
        }
    }

    /// The variable the error is about, if any (for tests and operators' tooling).
    pub fn variable(&self) -> Option<&'static str> {
        match self {
            Self::Missing { var } | Self::Invalid { var, .. } => Some(var),
            Self::File { .. } => None,
        }
    }
}

/// The whole configuration of one process. Its `Debug` output holds no secret: every secret
/// field has a redacting `Debug` of its own.
#[derive(Clone, Debug)]
pub struct Config {
    pub env: AppEnv,
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    /// The origin users reach the app at (`https://app.example.com`); `None` in development
    /// means "http:// plus the address the server listens on".
    pub public_url: Option<PublicUrl>,
    pub log_format: LogFormat,
    pub sentry_dsn: Option<Secret<String>>,
    /// AEAD keys for credentials stored at rest (channel tokens), newest first.
    pub encryption_keys: KeyList,
    /// HMAC keys for tokens the product issues (API JWTs, signed links), newest first.
    pub signing_keys: KeyList,
    /// When set, `/metrics` answers only requests with `Authorization: Bearer <token>`.
    pub metrics_token: Option<Secret<String>>,
    pub request_timeout: Duration,
    pub request_body_limit: usize,
    pub db_max_connections: u32,
    /// Shared rate-limit counters; `None` keeps them in this process's memory.
    pub redis_url: Option<Secret<String>>,
    /// Requests per minute one client address may make (bursts up to the same number).
    pub rate_limit_per_minute: u32,
    /// How many reverse proxies in front of the app append to `X-Forwarded-For`; 0 means
    /// the peer address is the client.
    pub trusted_proxy_hops: usize,
    /// Web origins allowed to call the REST API (`/api/v1/`) from a browser: exact
    /// `scheme://host[:port]` values; empty means no cross-origin access.
    pub api_cors_origins: Vec<String>,
    /// Outgoing mail server (`smtp://user:pass@host:587?tls=required`, `smtps://…`); `None`
    /// keeps email in the outbox (development shows it at `/dev/outbox`).
    pub smtp_url: Option<Secret<String>>,
    /// The sender of every email (`ShopMarkets <no-reply@example.com>`).
    pub mail_from: String,
    /// Minutes without a request after which a session ends.
    pub session_idle_minutes: u32,
    /// Hours after signing in after which a session ends, however active.
    pub session_absolute_hours: u32,
    /// Where product images are kept (`MEDIA_STORE`): a local directory (default
    /// `DATA_DIR/media`) or an S3-compatible bucket.
    pub media_store: MediaStoreLocation,
    /// When set, image URLs point here (`https://cdn.example.com/media`) instead of the app's
    /// own `/media/`; the CDN fetches from the app (or the bucket) as its origin.
    pub cdn_base_url: Option<String>,
    /// Image storage one organization may use, in MiB (originals and derivatives).
    pub media_quota_mb: u64,
    /// Marketplace endpoints, and the local sandboxes in development.
    pub channels: ChannelsConfig,
}

/// Where product images are stored (`MEDIA_STORE`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaStoreLocation {
    /// A directory on this machine (created at start-up). Fine for one instance; several
    /// instances need a shared bucket.
    Local(PathBuf),
    /// `s3://bucket[/prefix]` on AWS or any S3-compatible service (MinIO, Hetzner, Ceph, R2).
    S3 {
        bucket: String,
        prefix: Option<String>,
        /// The `AWS_*` variables (credentials, region, endpoint), handed to the S3 client as
        /// they are; read here so that the process environment has one reader.
        options: Vec<(String, Secret<String>)>,
    },
}

impl MediaStoreLocation {
    fn parse(value: Option<&str>, data_dir: &std::path::Path, vars: &Vars) -> Result<Self, String> {
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            return Ok(Self::Local(data_dir.join("media")));
        };
        if let Some(rest) = value.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let bucket_ok = (3..=63).contains(&bucket.len())
                && bucket.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                });
            if !bucket_ok {
                return Err(
                    "must name a bucket like s3://shop-media or s3://shop-media/prefix".into(),
                );
            }
            let prefix = prefix.trim_matches('/');
            if prefix
                .split('/')
                .any(|part| part == "." || part == ".." || (part.is_empty() && !prefix.is_empty()))
                || prefix.chars().any(|c| c.is_control() || c == '\\')
            {
                return Err("has an invalid prefix after the bucket".into());
            }
            let options = vars
                .iter()
                .filter(|(name, value)| name.starts_with("AWS_") && !value.trim().is_empty())
                .map(|(name, value)| (name.clone(), Secret::new(value.trim().to_owned())))
                .collect();
            return Ok(Self::S3 {
                bucket: bucket.to_owned(),
                prefix: (!prefix.is_empty()).then(|| prefix.to_owned()),
                options,
            });
        }
        if value.contains("://") {
            return Err("must be a directory or s3://bucket[/prefix]".into());
        }
        Ok(Self::Local(PathBuf::from(value)))
    }
}

/// `CDN_BASE_URL`: `https://` (plain `http://` only in development), no query or fragment; a
/// path is allowed, the trailing slash is dropped.
fn cdn_base_url(value: Option<&str>, production: bool) -> Result<Option<String>, ConfigError> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let invalid = |reason: &str| ConfigError::invalid("CDN_BASE_URL", reason);
    let rest = match (
        value.strip_prefix("https://"),
        value.strip_prefix("http://"),
    ) {
        (Some(rest), _) => rest,
        (None, Some(_)) if production => {
            return Err(invalid("must use https:// when APP_ENV=production"));
        }
        (None, Some(rest)) => rest,
        (None, None) => return Err(invalid("must start with https://")),
    };
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty()
        || value.contains(['?', '#', '@', ' '])
        || value.chars().any(char::is_control)
    {
        return Err(invalid("must be a URL like https://cdn.example.com/media"));
    }
    Ok(Some(value.trim_end_matches('/').to_owned()))
}

/// An origin (`scheme://host[:port]`) without path, query or fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim().trim_end_matches('/');
        let rest = value
            .strip_prefix("https://")
            .or_else(|| value.strip_prefix("http://"))
            .ok_or("must start with https:// or http://")?;
        if rest.is_empty()
            || rest.contains(['/', '?', '#', '@', ' '])
            || rest.starts_with(':')
            || rest.ends_with(':')
        {
            return Err("must be an origin like https://app.example.com (no path)".into());
        }
        Ok(Self(value.to_ascii_lowercase()))
    }

    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The environment as a sorted map, so parsing is pure and testable.
pub type Vars = BTreeMap<String, String>;

impl Config {
    /// Reads the process environment. In development `.env` is read first (never overriding
    /// the real environment) and missing secrets are generated into `DATA_DIR/secrets.env`.
    pub fn from_process_env() -> Result<(Self, Option<DevSecretsNotice>), ConfigError> {
        let env = AppEnv::parse(std::env::var("APP_ENV").ok().as_deref())?;
        if !env.is_production() {
            match dotenvy::dotenv() {
                Ok(_) => {}
                Err(e) if e.not_found() => {}
                Err(e) => {
                    return Err(ConfigError::File {
                        path: ".env".into(),
                        reason: e.to_string(),
                    });
                }
            }
        }
        let mut vars: Vars = std::env::vars().collect();
        let notice = if env.is_production() {
            None
        } else {
            dev_secrets::fill_missing(&data_dir(&vars), &mut vars)?
        };
        Ok((Self::from_vars(&vars)?, notice))
    }

    /// Parses a configuration from variables. Pure: no files, no process environment.
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let get = |name: &str| vars.get(name).map(String::as_str).map(str::trim);
        let env = AppEnv::parse(get("APP_ENV"))?;
        let production = env.is_production();
        let data_dir = data_dir(vars);

        let database_url = match get("DATABASE_URL").filter(|v| !v.is_empty()) {
            Some(url) => DatabaseUrl::parse(url)
                .map_err(|reason| ConfigError::invalid("DATABASE_URL", reason))?,
            None if production => {
                return Err(ConfigError::Missing {
                    var: "DATABASE_URL",
                });
            }
            None => DatabaseUrl::sqlite_file(&data_dir.join("shopmarkets.db")),
        };

        let public_url = match get("APP_BASE_URL").filter(|v| !v.is_empty()) {
            Some(url) => {
                let url =
                    PublicUrl::parse(url).map_err(|r| ConfigError::invalid("APP_BASE_URL", r))?;
                if production && !url.is_https() {
                    return Err(ConfigError::invalid(
                        "APP_BASE_URL",
                        "must use https:// when APP_ENV=production",
                    ));
                }
                Some(url)
            }
            None if production => {
                return Err(ConfigError::Missing {
                    var: "APP_BASE_URL",
                });
            }
            None => None,
        };

        let log_format = match get("LOG_FORMAT").filter(|v| !v.is_empty()) {
            Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(_) => {
                return Err(ConfigError::invalid(
                    "LOG_FORMAT",
                    "must be 'json' or 'pretty'",
                ));
            }
            None if production => LogFormat::Json,
            None => LogFormat::Pretty,
        };

        let config = Self {
            env,
            database_url,
            public_url,
            log_format,
            sentry_dsn: optional_secret(get("SENTRY_DSN")),
            encryption_keys: key_list(vars, "ENCRYPTION_KEYS")?,
            signing_keys: key_list(vars, "SIGNING_KEYS")?,
            metrics_token: match optional_secret(get("METRICS_TOKEN")) {
                Some(t) if t.expose().len() < 24 => {
                    return Err(ConfigError::invalid(
                        "METRICS_TOKEN",
                        "is too short; use at least 24 characters",
                    ));
                }
                token => token,
            },
            request_timeout: Duration::from_secs(number(
                vars,
                "REQUEST_TIMEOUT_SECS",
                30,
                1..=600,
            )?),
            request_body_limit: number(
                vars,
                "REQUEST_BODY_LIMIT_BYTES",
                2 * 1024 * 1024,
                1024..=1 << 30,
            )? as usize,
            db_max_connections: number(vars, "DB_MAX_CONNECTIONS", 10, 1..=500)? as u32,
            redis_url: match optional_secret(get("REDIS_URL")) {
                Some(url)
                    if !(url.expose().starts_with("redis://")
                        || url.expose().starts_with("rediss://")) =>
                {
                    return Err(ConfigError::invalid(
                        "REDIS_URL",
                        "must start with redis:// or rediss://",
                    ));
                }
                url => url,
            },
            rate_limit_per_minute: number(vars, "RATE_LIMIT_PER_MINUTE", 600, 1..=1_000_000)?
                as u32,
            trusted_proxy_hops: number(vars, "TRUSTED_PROXY_HOPS", 0, 0..=5)? as usize,
            api_cors_origins: cors::parse_origins(get("API_CORS_ORIGINS").unwrap_or_default())
                .map_err(|reason| ConfigError::invalid("API_CORS_ORIGINS", reason))?,
            smtp_url: match optional_secret(get("SMTP_URL")) {
                Some(url)
                    if !(url.expose().starts_with("smtp://")
                        || url.expose().starts_with("smtps://")) =>
                {
                    return Err(ConfigError::invalid(
                        "SMTP_URL",
                        "must start with smtp:// or smtps://",
                    ));
                }
                url => url,
            },
            mail_from: mail_from(get("MAIL_FROM"), production)?,
            session_idle_minutes: number(vars, "SESSION_IDLE_MINUTES", 30, 5..=24 * 60)? as u32,
            session_absolute_hours: number(vars, "SESSION_ABSOLUTE_HOURS", 12, 1..=24 * 30)? as u32,
            media_store: MediaStoreLocation::parse(get("MEDIA_STORE"), &data_dir, vars)
                .map_err(|reason| ConfigError::invalid("MEDIA_STORE", reason))?,
            cdn_base_url: cdn_base_url(get("CDN_BASE_URL"), production)?,
            media_quota_mb: number(vars, "MEDIA_QUOTA_MB", 1024, 1..=1024 * 1024)?,
            channels: ChannelsConfig::parse(vars, production, &data_dir)?,
            data_dir,
        };
        // Without mail nobody can confirm an address or reset a password.
        if production && config.smtp_url.is_none() {
            return Err(ConfigError::Missing { var: "SMTP_URL" });
        }
        Ok(config)
    }
}

/// The sender address: required in production (mail from a placeholder domain is spam),
/// `ShopMarkets <no-reply@localhost>` in development. Only a plain check here; the mailer
/// parses it fully at start-up.
fn mail_from(value: Option<&str>, production: bool) -> Result<String, ConfigError> {
    match value.filter(|v| !v.is_empty()) {
        Some(from) if from.contains('@') && !from.chars().any(char::is_control) => {
            Ok(from.to_owned())
        }
        Some(_) => Err(ConfigError::invalid(
            "MAIL_FROM",
            "must be an address like 'ShopMarkets <no-reply@example.com>'",
        )),
        None if production => Err(ConfigError::Missing { var: "MAIL_FROM" }),
        None => Ok("ShopMarkets <no-reply@localhost>".to_owned()),
    }
}

fn data_dir(vars: &Vars) -> PathBuf {
    vars.get("DATA_DIR")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .unwrap_or("./data")
        .into()
}

fn optional_secret(value: Option<&str>) -> Option<Secret<String>> {
    value
        .filter(|v| !v.is_empty())
        .map(|v| Secret::new(v.to_owned()))
}

fn key_list(vars: &Vars, var: &'static str) -> Result<KeyList, ConfigError> {
    match vars.get(var).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Err(ConfigError::Missing { var }),
        Some(value) => KeyList::parse(value).map_err(|e| ConfigError::invalid(var, e.to_string())),
    }
}

fn number(
    vars: &Vars,
    var: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let Some(raw) = vars.get(var).map(|v| v.trim()).filter(|v| !v.is_empty()) else {
        return Ok(default);
    };
    let n: u64 = raw
        .parse()
        .map_err(|_| ConfigError::invalid(var, "must be a whole number"))?;
    if !range.contains(&n) {
        return Err(ConfigError::invalid(
            var,
            format!("must be between {} and {}", range.start(), range.end()),
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests;
