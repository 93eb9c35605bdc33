//! `sync-errors`: settings, logs, then either the service until SIGTERM or
//! the `classify` filter.

use std::process::ExitCode;

use sync_errors::config::{Cli, Command};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::from_env();
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
    let server = settings.server.clone();
    syncgov_kit::server::run_binary("sync-errors", &server, || sync_errors::app::build(settings))
}
