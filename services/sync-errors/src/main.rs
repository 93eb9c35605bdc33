//! `sync-errors`: settings, logs, then either the service until SIGTERM or
//! the `classify` filter.

use std::process::ExitCode;

use clap::Parser;
use sync_errors::config::{Cli, Command};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Classify) = cli.command {
        return match sync_errors::classify_cli::run(
            std::io::stdin().lock(),
            std::io::stdout().lock(),
        ) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("sync-errors classify: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let settings = cli.settings;
    let threads = settings.worker_threads;
    let (format, admin) = (settings.log_format, settings.admin_listen);
    syncgov_kit::server::run_binary("sync-errors", threads, format, admin, || {
        sync_errors::app::build(settings)
    })
}
