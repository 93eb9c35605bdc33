//! `quota-governor`: settings, logs, then the service until SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use quota_governor::config::Settings;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let settings = Settings::parse();
    let threads = settings.worker_threads;
    syncgov_kit::server::run_binary("quota-governor", threads, settings.log_format, || {
        quota_governor::app::build(settings)
    })
}
