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
                  their embedded stores on loopback ports, and --workers sync workers per org \
                  against two simulated Salesforce orgs, acme-corp and globex. The rolling \
                  window is half of --duration, so that a day's story fits in the run: globex \
                  runs out of its allocation and is held until its calls leave the window; \
                  another app's bulk load spends acme-corp's Salesforce limit, so acme-corp is \
                  suspended, and the suspension clears by itself once those calls have left \
                  the window. The run lasts --duration, longer while that story is not told \
                  yet (at most twice as long).\n\n\
                  With --output table it prints the set-up, a progress line about every ninth \
                  of the run and each suspension and clear as it happens, then per org the API \
                  calls of the last window with a chart and the sync health cards, the \
                  suspension history and the totals. --output json or yaml prints only that \
                  summary, as one document. With --keep, both services then keep running \
                  behind the web console until Ctrl-C."
)]
pub struct Cli {
    /// The run's length and workers.
    #[command(flatten)]
    pub demo: DemoArgs,

    /// How to print.
    #[arg(long, value_enum, default_value_t = DemoOutput::Table)]
    pub output: DemoOutput,
}

/// What the demo prints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoOutput {
    /// The set-up, progress and events while it runs, then the summary as
    /// text, tables and charts.
    #[default]
    Table,
    /// Only the summary, as one JSON document.
    Json,
    /// Only the summary, as one YAML document.
    Yaml,
}

impl From<DemoOutput> for Output {
    fn from(o: DemoOutput) -> Self {
        match o {
            DemoOutput::Table => Output::Table,
            DemoOutput::Json => Output::Json,
            DemoOutput::Yaml => Output::Yaml,
        }
    }
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
        assert_eq!(cli.output, DemoOutput::Table);
        for bad in ["2s", "2h"] {
            let err = Cli::try_parse_from(["syncgov-demo", "--duration", bad]).unwrap_err();
            assert!(err.to_string().contains("must be 6s to 1h"), "{err}");
        }
        let cli =
            Cli::try_parse_from(["syncgov-demo", "--duration", "10s", "--output", "json"]).unwrap();
        assert_eq!(Output::from(cli.output), Output::Json);
    }

    /// Every flag the demo takes is in its `--help`, with what it does, and
    /// every way it prints is named there.
    #[test]
    fn help_names_every_flag_and_every_output() {
        let mut command = Cli::command();
        let help = command.render_long_help().to_string();
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else {
                continue;
            };
            let flag = format!("--{long}");
            assert!(help.contains(&flag), "{flag} missing from:\n{help}");
            assert!(
                arg.get_long_help().or(arg.get_help()).is_some(),
                "{flag} has no help"
            );
        }
        for value in ["table", "json", "yaml"] {
            assert!(help.contains(&format!("- {value}:")), "{value}:\n{help}");
        }
        // The flags the story names, by name.
        for flag in ["--workers", "--duration", "--keep", "--output"] {
            let about = command
                .get_long_about()
                .map(|a| a.to_string())
                .unwrap_or_default();
            assert!(
                about.contains(flag),
                "the description names {flag}: {about}"
            );
        }
        // What it says of the orgs and the window holds in the code.
        let about = command.get_long_about().unwrap().to_string();
        assert!(about.contains("two simulated Salesforce orgs, acme-corp and globex"));
        assert_eq!(crate::demo::ORG_IDS, ["acme-corp", "globex"]);
        assert!(about.contains("half of --duration"));
        assert!(about.contains("at most twice as long"));
    }
}
