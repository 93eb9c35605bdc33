//! `syncctl demo`: a guided demonstration against running services. Only
//! its arguments are settled so far.

use std::time::Duration;

use crate::Output;

/// Arguments of `syncctl demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// How long the demonstration runs.
    #[arg(long, default_value = "45s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
}

/// Runs the demonstration.
pub async fn run(args: DemoArgs, output: Output) -> anyhow::Result<()> {
    let _ = (args, output);
    println!("demo: not yet built");
    Ok(())
}
