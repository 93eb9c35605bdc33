//! The demo's command line: how long it runs, how many workers, and how it
//! prints.

use clap::Parser;
use syncctl::Output;

use crate::demo::DemoArgs;

/// `syncgov-demo`: both services and simulated sync workers in one process,
/// needing no service and no set-up.
#[derive(Debug, Parser)]
#[command(
    name = "syncgov-demo",
    version,
    about = "The whole syncgov product in one process, on the embedded stores",
    long_about = "The whole syncgov product in one process: quota-governor and sync-errors on \
                  their embedded stores on loopback ports, and sync workers against two \
                  simulated Salesforce orgs. Prints progress while it runs, then each org's API \
                  call use, its sync health cards and the suspension history; --output json \
                  prints only the summary, as one JSON document."
)]
pub struct Cli {
    /// The run's length and workers.
    #[command(flatten)]
    pub demo: DemoArgs,

    /// How to print: progress and tables, or only the summary as JSON.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn runs_are_6s_to_1h() {
        let cli = Cli::try_parse_from(["syncgov-demo"]).unwrap();
        assert_eq!(cli.demo.duration, std::time::Duration::from_secs(45));
        assert_eq!(cli.demo.workers, 3);
        assert_eq!(cli.output, Output::Table);
        for bad in ["2s", "2h"] {
            let err = Cli::try_parse_from(["syncgov-demo", "--duration", bad]).unwrap_err();
            assert!(err.to_string().contains("must be 6s to 1h"), "{err}");
        }
        let cli =
            Cli::try_parse_from(["syncgov-demo", "--duration", "10s", "--output", "json"]).unwrap();
        assert_eq!(cli.output, Output::Json);
    }
}
