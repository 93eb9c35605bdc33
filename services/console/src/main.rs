//! `syncgov-console`: settings, logs, then the web console until SIGTERM.

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let settings = syncgov_console::config::Settings::parse();
    syncgov_console::app::run_binary(settings)
}
