//! `sync-errors`: settings, logs, then either the service until SIGTERM or
//! the `classify` filter.

use std::process::ExitCode;

use sync_errors::config::{Cli, Command};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::from_env();
    if let Some(Command::Classify(args)) = cli.command {
        let rules = match args.rules.as_deref().map(sync_errors::app::read_rules) {
            None => Ok(Default::default()),
            Some(read) => read,
        };
        let rules = match rules {
            Ok(rules) => rules,
            Err(e) => {
                eprintln!("sync-errors classify: {e:#}");
                return ExitCode::FAILURE;
            }
        };
        let options = sync_errors::classify_cli::Options {
            explain: args.explain,
            rules,
            org: args.org,
        };
        return match sync_errors::classify_cli::run_with(
            std::io::stdin().lock(),
            std::io::stdout().lock(),
            &options,
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
