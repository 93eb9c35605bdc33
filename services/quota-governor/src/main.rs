//! `quota-governor`: settings, logs, the application, and the shutdown signal.

use std::process::ExitCode;

use clap::Parser;
use quota_governor::app::Application;
use quota_governor::config::Settings;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = Settings::parse();
    syncgov_kit::telemetry::init(settings.log_format, "info");
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
