//! `shopmarkets serve`: bind, connect, migrate, serve until SIGTERM or Ctrl-C, then finish the
//! requests in flight.

use std::net::SocketAddr;

use anyhow::Context as _;
use leptos::config::get_configuration;
use shopmarkets_core::{
    Config, Db, catalog, db,
    mail::sender::{self, Mailer},
    media::MediaStore,
    rate_limit::RateLimiter,
    sessions,
};

use crate::http::{AppState, router};

pub async fn serve(config: Config) -> anyhow::Result<()> {
    let leptos = get_configuration(None)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("Leptos configuration (LEPTOS_* variables)")?;
    let options = leptos.leptos_options;
    let addr = options.site_addr;

    // Bind first: a port in use should fail before anything else happens.
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(database = %config.database_url, "connecting to the database");
    let db = db::connect(&config.database_url, config.db_max_connections).await?;

    let rate_limiter = match &config.redis_url {
        Some(url) => RateLimiter::redis(url.expose())
            .await
            .context("cannot connect to Redis (REDIS_URL)")?,
        None => {
            if config.env.is_production() {
                tracing::warn!(
                    "REDIS_URL is not set: rate limits are counted per instance; \
                     set it when more than one instance serves"
                );
            }
            RateLimiter::memory()
        }
    };
    tracing::info!(store = rate_limiter.describe(), "rate limits ready");

    match &config.smtp_url {
        Some(url) => {
            let mailer = Mailer::new(url, &config.mail_from).context("mail settings")?;
            tokio::spawn(sender::run(mailer, db.clone()));
            tracing::info!("email goes out over SMTP");
        }
        None => tracing::info!("SMTP_URL is not set: email stays in the outbox (/dev/outbox)"),
    }
    tokio::spawn(clean_up_sessions(db.clone()));
    match catalog::csv::resume_interrupted(&db, chrono::Utc::now()).await {
        Ok(0) => {}
        Ok(closed) => tracing::warn!(closed, "CSV imports interrupted by a restart were closed"),
        Err(err) => tracing::error!(error = %err, "closing interrupted CSV imports failed"),
    }
    let sandboxes = match &config.channels.sandboxes {
        Some(settings) => Some((
            crate::sandbox::launch(crate::sandbox::Launch {
                addr: settings.addr,
                tls: settings.tls,
                state_file: settings.state_file.clone(),
                cert_file: settings.ca_file(),
                apps: crate::sandbox::apps_of(&config, &public_origin(&config, addr)),
            })
            .await
            .context("marketplace sandboxes (CHANNEL_SANDBOXES, SANDBOX_ADDR)")?,
            settings.state_file.clone(),
        )),
        None => None,
    };
    // A broken EXTRA_CA_CERT fails here, with its name, not at the first marketplace call.
    shopmarkets_core::channels::http::client(&config.channels)
        .context("marketplace HTTP client (EXTRA_CA_CERT)")?;
    let media = MediaStore::from_config(&config).context("media storage (MEDIA_STORE)")?;
    tracing::info!(store = media.describe(), "product images ready");
    tokio::spawn(sweep_media(db.clone(), media.clone()));
    let state = AppState::new(options, config, db.clone(), rate_limiter).with_media(media);
    let public_url = state.origin();
    tokio::spawn(refresh_channels(
        db.clone(),
        state.services.channels.clone(),
    ));
    let app = router(state);
    tracing::info!(url = %public_url, "ShopMarkets is running at {public_url}");

    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("server error")?;

    if let Some((sandboxes, file)) = sandboxes
        && let Err(error) = sandboxes.save(&file)
    {
        tracing::warn!(error = %error, "saving the sandbox state failed");
    }
    tracing::info!("stopped accepting requests; closing the database");
    db.close().await.ok();
    Ok(())
}

/// The origin the app will be reached at (`APP_BASE_URL`, else `http://` and the listening
/// address), for the sandboxes' registered redirect URIs.
fn public_origin(config: &Config, addr: SocketAddr) -> String {
    config
        .public_url
        .as_ref()
        .map_or_else(|| format!("http://{addr}"), |url| url.as_str().to_owned())
}

/// Renews marketplace access before it expires, every minute.
async fn refresh_channels(db: Db, channels: shopmarkets_core::channels::Channels) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        match shopmarkets_core::channels::connections::refresh_due(
            &db,
            &channels,
            chrono::Utc::now(),
        )
        .await
        {
            Ok(report) if report.refreshed == 0 && report.failed == 0 => {}
            Ok(report) => tracing::info!(
                refreshed = report.refreshed,
                failed = report.failed,
                "marketplace access renewed"
            ),
            Err(err) => tracing::error!(error = %err, "renewing marketplace access failed"),
        }
    }
}

/// Removes expired sessions every ten minutes.
async fn clean_up_sessions(db: Db) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        tick.tick().await;
        match sessions::delete_expired(&db).await {
            Ok(0) => {}
            Ok(removed) => tracing::debug!(removed, "expired sessions removed"),
            Err(err) => tracing::error!(error = %err, "removing expired sessions failed"),
        }
    }
}

/// Deletes images no product shows any more (after products were deleted) every ten minutes;
/// a stored file goes when no organization uses it.
async fn sweep_media(db: Db, media: MediaStore) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        tick.tick().await;
        match shopmarkets_core::media::delete_unreferenced(&db, &media).await {
            Ok(sweep) if sweep.rows == 0 && sweep.objects == 0 => {}
            Ok(sweep) => tracing::info!(
                rows = sweep.rows,
                objects = sweep.objects,
                "unused product images removed"
            ),
            Err(err) => tracing::error!(error = %err, "removing unused product images failed"),
        }
    }
}

/// Resolves on SIGTERM (how orchestrators stop a process) or Ctrl-C.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received");
}
