//! The command line: `serve` (the default), `migrate` and `keys`.

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
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
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
