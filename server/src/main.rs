//! `shopmarkets`: the ShopMarkets binary. Without a subcommand it serves.
//!
//! Every failure before serving (bad configuration, unreachable database, port in use) ends
//! in one `error:` line on stderr and exit code 1, never a panic.

use std::process::ExitCode;

use clap::Parser as _;
use shopmarkets_server::cli::{Cli, run};

fn main() -> ExitCode {
    return_large_allocations_to_the_system();
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

/// Every password hash allocates 19 MiB (argon2id, m=19456 KiB). glibc serves the first such
/// block with `mmap` and returns it on free, but then raises its threshold and serves the next
/// ones from per-thread heaps it keeps: resident memory grew by about 17 MB per sign-in
/// (39 MB idle, 193 MB after nine sign-ins). A fixed threshold keeps large blocks on `mmap`
/// (41 MB after nine).
fn return_large_allocations_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; it is called before any other thread
    // exists, and a refusal (return value 0) just leaves the default behaviour.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    }
}
