//! The command line: `serve` (the default), `migrate`, `keys` and, for development,
//! `demo-data` and `sandbox`.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use shopmarkets_core::{Config, config::keys, db};

#[derive(Debug, Parser)]
#[command(
    name = "shopmarkets",
    version,
    about = "ShopMarkets: one catalog, every marketplace."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app (the default). Applies pending migrations first.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate {
        /// Only list pending migrations; change nothing.
        #[arg(long)]
        status: bool,
    },
    /// Work with key lists (ENCRYPTION_KEYS, SIGNING_KEYS).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Development only: fill an account's organization with a demo catalog (products with
    /// variants, prices, stock and generated images). Running it again adds nothing.
    DemoData {
        /// The email address of a member (owner, admin or editor) of the organization; their
        /// first organization is filled.
        #[arg(long)]
        email: String,
        /// How many products.
        #[arg(long, default_value_t = 300)]
        products: usize,
        /// The same seed gives the same catalog.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Skip the generated images (faster).
        #[arg(long)]
        no_images: bool,
    },
    /// Development and tests: run the six marketplace sandboxes (Shopify, WooCommerce, Amazon,
    /// eBay, Kaufland, Etsy) on a port of their own, without the app.
    Sandbox {
        /// The port to listen on.
        #[arg(long, default_value_t = 3100)]
        port: u16,
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: std::net::IpAddr,
        /// Serve HTTPS with a self-signed certificate generated at start.
        #[arg(long)]
        tls: bool,
        /// With --tls: write the certificate here, for clients to trust (EXTRA_CA_CERT).
        #[arg(long)]
        cert_out: Option<std::path::PathBuf>,
        /// Keep the sandboxes' state in this JSON file across restarts.
        #[arg(long, default_value = "data/sandboxes.json")]
        state_file: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Re-encrypt everything stored under ENCRYPTION_KEYS (marketplace credentials, two-factor
    /// secrets) under its first key, so older keys can be removed from the list afterwards.
    Rotate,
    /// Print a new random key entry `kid:base64` to put in front of a key list.
    Generate {
        /// The key id; defaults to today's date, e.g. k20261204.
        #[arg(long)]
        id: Option<String>,
    },
}

/// Runs a command to completion.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => with_runtime(crate::serve::serve),
        Command::Migrate { status } => with_runtime(move |config| migrate(config, status)),
        Command::Keys {
            command: KeysCommand::Generate { id },
        } => generate_key(id),
        Command::Keys {
            command: KeysCommand::Rotate,
        } => with_runtime(rotate_keys),
        Command::DemoData {
            email,
            products,
            seed,
            no_images,
        } => with_runtime(move |config| demo_data(config, email, products, seed, !no_images)),
        Command::Sandbox {
            port,
            host,
            tls,
            cert_out,
            state_file,
        } => with_runtime(move |config| {
            let origin = config.public_url.as_ref().map_or_else(
                || "http://127.0.0.1:3000".to_owned(),
                |u| u.as_str().to_owned(),
            );
            let apps = crate::sandbox::apps_of(&config, &origin);
            sandbox(
                config,
                crate::sandbox::Launch {
                    addr: std::net::SocketAddr::new(host, port),
                    tls,
                    state_file,
                    cert_file: cert_out,
                    apps,
                },
            )
        }),
    }
}

/// Loads the configuration, starts logging and error reporting, then runs `work` on a
/// multi-threaded runtime. Sentry is initialised before the runtime, as it requires.
fn with_runtime<F, Fut>(work: F) -> anyhow::Result<()>
where
    F: FnOnce(Config) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    // rustls finds two crypto providers in the build (ring and aws-lc-rs) and would panic at
    // the first TLS connection (PostgreSQL over TLS, Sentry) unless one is chosen.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let (config, dev_notice) = Config::from_process_env().context("configuration")?;
    let telemetry = crate::telemetry::init(&config);
    if let Some(notice) = dev_notice {
        tracing::warn!("{notice}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        // Server-side rendering walks deeply nested view types; unoptimised builds need more
        // than the default 2 MiB per worker thread.
        .thread_stack_size(8 * 1024 * 1024)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(work(config));
    drop(telemetry);
    result
}

/// Prints a new key entry. Needs no configuration: it is how an operator creates one.
fn generate_key(id: Option<String>) -> anyhow::Result<()> {
    let id = id.unwrap_or_else(|| format!("k{}", chrono::Utc::now().format("%Y%m%d")));
    let entry = keys::generate_entry(&id);
    keys::KeyList::parse(&entry).context("invalid key id (use 1–32 of A–Z a–z 0–9 _ -)")?;
    println!("{entry}");
    Ok(())
}

async fn migrate(config: Config, status_only: bool) -> anyhow::Result<()> {
    let db = db::open(&config.database_url, 1).await?;
    let pending = db::pending_migrations(&db).await?;
    if status_only {
        println!(
            "{} pending migration(s) on {}",
            pending.len(),
            config.database_url
        );
        for name in &pending {
            println!("  {name}");
        }
        return Ok(());
    }
    db::migrate(&db).await?;
    println!(
        "applied {} migration(s) on {}",
        pending.len(),
        config.database_url
    );
    Ok(())
}

async fn demo_data(
    config: Config,
    email: String,
    products: usize,
    seed: u64,
    images: bool,
) -> anyhow::Result<()> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use shopmarkets_core::{access::Scope, entity::user, media::MediaStore, organizations};

    anyhow::ensure!(
        !config.env.is_production(),
        "demo data is for development only (APP_ENV is production)"
    );
    let email = shopmarkets_types::EmailAddress::parse(&email)
        .map_err(|_| anyhow::anyhow!("not a valid email address: {email}"))?;
    let db = db::open(&config.database_url, 2).await?;
    db::migrate(&db).await?;
    let user = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(&db)
        .await?
        .with_context(|| format!("no account with the address {}", email.as_str()))?;
    let membership = organizations::default_organization(&db, user.id)
        .await?
        .context("this account belongs to no organization")?;
    let scope = Scope::for_member(&db, user.id, membership.organization_id).await?;
    let store = if images {
        Some(MediaStore::from_config(&config).context("media storage (MEDIA_STORE)")?)
    } else {
        None
    };
    let started = std::time::Instant::now();
    let outcome = shopmarkets_core::demo::fill_catalog(
        &db,
        store.as_ref(),
        &scope,
        products,
        seed,
        chrono::Utc::now(),
    )
    .await?;
    println!(
        "added {} products with {} variants and {} images in {:.1} s",
        outcome.products,
        outcome.variants,
        outcome.images,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs the sandboxes until Ctrl-C or SIGTERM.
async fn sandbox(config: Config, launch: crate::sandbox::Launch) -> anyhow::Result<()> {
    anyhow::ensure!(
        !config.env.is_production(),
        "the marketplace sandboxes are for development and tests (APP_ENV is production)"
    );
    let state_file = launch.state_file.clone();
    let sandboxes = crate::sandbox::launch(launch).await?;
    crate::serve::shutdown_signal().await;
    sandboxes
        .save(&state_file)
        .with_context(|| format!("saving the sandbox state to {}", state_file.display()))?;
    tracing::info!(file = %state_file.display(), "sandbox state saved");
    Ok(())
}

/// Re-encrypts stored credentials under the newest key; fails (exit 1) when any value could
/// not be decrypted, naming the rows, so an operator never removes a key still in use.
async fn rotate_keys(config: Config) -> anyhow::Result<()> {
    let db = db::connect(&config.database_url, 2).await?;
    let cipher = shopmarkets_core::crypto::Cipher::new(&config.encryption_keys);
    let report = shopmarkets_core::channels::connections::rotate_keys(&db, &cipher).await?;
    println!(
        "checked {} stored credential(s), re-encrypted {} under key '{}'",
        report.checked,
        report.reencrypted,
        config.encryption_keys.current().id()
    );
    for failure in &report.failed {
        eprintln!("  could not re-encrypt: {failure}");
    }
    anyhow::ensure!(
        report.failed.is_empty(),
        "{} stored credential(s) could not be decrypted; keep the old keys until they are fixed",
        report.failed.len()
    );
    Ok(())
}
