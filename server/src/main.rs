//! `shopmarkets`: the ShopMarkets binary. Without a subcommand it serves.
//!
//! Every failure before serving (bad configuration, unreachable database, port in use) ends
//! in one `error:` line on stderr and exit code 1, never a panic.

use std::process::ExitCode;

use clap::Parser as _;
use shopmarkets_server::cli::{Cli, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` prints the whole context chain on one line.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
