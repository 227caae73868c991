//! Logs and error reporting: `tracing` as JSON lines in production and readable text in
//! development (both to stderr, so stdout stays for command output), and Sentry when
//! `SENTRY_DSN` is set, with personal data off.

use sentry::integrations::tracing::{BreadcrumbLayer, ErrorLayer};
use shopmarkets_core::{Config, config::LogFormat};
use tracing_subscriber::{
    EnvFilter, Layer as _, filter::LevelFilter, fmt, layer::SubscriberExt as _,
    util::SubscriberInitExt as _,
};

/// Keeps error reporting alive; dropping it flushes pending Sentry events.
pub struct Telemetry {
    _sentry: Option<sentry::ClientInitGuard>,
}

/// Installs the global subscriber and, when configured, Sentry. Call once, before the async
/// runtime starts.
pub fn init(config: &Config) -> Telemetry {
    let sentry = config.sentry_dsn.as_ref().map(|dsn| {
        let mut options = sentry::ClientOptions::new();
        options.dsn = dsn.expose().parse().ok();
        options.release = sentry::release_name!();
        options.environment = Some(config.env.as_str().into());
        // No IP addresses, cookies or request bodies in reports.
        options.send_default_pii = false;
        options.attach_stacktrace = true;
        sentry::init(options)
    });

    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry()
        .with(filter)
        // Errors become Sentry events; info and above ride along as breadcrumbs.
        .with(ErrorLayer::new().with_filter(LevelFilter::ERROR))
        .with(BreadcrumbLayer::new().with_filter(LevelFilter::INFO));
    let result = match config.log_format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Pretty => registry
            .with(fmt::layer().with_writer(std::io::stderr))
            .try_init(),
    };
    // A subscriber already installed (tests running several servers) is fine.
    drop(result);

    if config.sentry_dsn.is_some() && sentry.as_ref().is_some_and(|g| !g.is_enabled()) {
        tracing::warn!("SENTRY_DSN is set but is not a valid DSN; error reporting is off");
    }
    Telemetry { _sentry: sentry }
}
