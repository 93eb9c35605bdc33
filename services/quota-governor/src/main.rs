//! `quota-governor`: settings, logs, then the service until SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use quota_governor::config::Settings;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let settings = Settings::parse();
    let threads = settings.worker_threads;
    let (format, admin) = (settings.log_format, settings.admin_listen);
    syncgov_kit::server::run_binary("quota-governor", threads, format, admin, || {
        quota_governor::app::build(settings)
    })
}
