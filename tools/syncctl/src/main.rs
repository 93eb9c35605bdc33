//! `syncctl`: parses the command line, runs it on a single-threaded runtime
//! (a CLI waits on one call at a time), and turns the outcome into an exit
//! code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = syncctl::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("syncctl: cannot start: {e}");
            return ExitCode::from(syncctl::Exit::Other.code());
        }
    };
    match runtime.block_on(syncctl::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("syncctl: {failure}");
            ExitCode::from(failure.exit.code())
        }
    }
}
