//! `quota-governor`: settings, logs, then the service until SIGTERM.

use std::process::ExitCode;

use quota_governor::config::Settings;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let settings = Settings::from_env();
    let server = settings.server.clone();
    syncgov_kit::server::run_binary("quota-governor", &server, || {
        quota_governor::app::build(settings)
    })
}
