//! `sync-errors`: settings, logs, the runtime, and either the server or the
//! `classify` filter.

use std::process::ExitCode;

use clap::Parser;
use sync_errors::app::Application;
use sync_errors::config::{Cli, Command, Settings};

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
    syncgov_kit::telemetry::init(settings.log_format, "info");
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if settings.worker_threads > 0 {
        runtime.worker_threads(settings.worker_threads);
    }
    match runtime.enable_all().build() {
        Ok(runtime) => runtime.block_on(serve(settings)),
        Err(e) => {
            eprintln!("sync-errors: cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> ExitCode {
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("sync-errors: {e:#}");
            return ExitCode::from(2);
        }
    };
    tracing::info!(addr = %app.local_addr(), store = app.store_description(), "sync-errors listening");
    println!(
        "sync-errors listening on {} (store: {})",
        app.local_addr(),
        app.store_description()
    );
    match app.run(syncgov_kit::shutdown::signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sync-errors: {e:#}");
            ExitCode::FAILURE
        }
    }
}
