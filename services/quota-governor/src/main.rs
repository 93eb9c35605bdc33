//! `quota-governor`: settings, logs, the runtime, the application, and the
//! shutdown signal.

use std::process::ExitCode;

use clap::Parser;
use quota_governor::app::Application;
use quota_governor::config::Settings;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let settings = Settings::parse();
    syncgov_kit::telemetry::init(settings.log_format, "info");
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if settings.worker_threads > 0 {
        runtime.worker_threads(settings.worker_threads);
    }
    let runtime = match runtime.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("quota-governor: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(settings))
}

async fn serve(settings: Settings) -> ExitCode {
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("quota-governor: {e:#}");
            return ExitCode::from(2);
        }
    };
    tracing::info!(addr = %app.local_addr(), store = app.store_description(), "quota-governor listening");
    println!(
        "quota-governor listening on {} (store: {})",
        app.local_addr(),
        app.store_description()
    );
    match app.run(syncgov_kit::shutdown::signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quota-governor: {e:#}");
            ExitCode::FAILURE
        }
    }
}
