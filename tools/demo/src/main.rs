//! `syncgov-demo`: parses the command line and runs the demonstration on a
//! single-threaded runtime (both services, the workers and the progress
//! line share it).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = syncgov_demo::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("syncgov-demo: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(syncgov_demo::demo::run(cli.demo, cli.output.into())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("syncgov-demo: {e:#}");
            ExitCode::FAILURE
        }
    }
}
