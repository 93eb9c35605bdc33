//! `syncctl`, the operator's command line for the syncgov services.
//!
//! The binary only parses arguments and calls [`run`]; everything else lives
//! in this library so that tests and other front ends reuse it: [`render`]
//! turns replies into terminal text (pure functions), [`json`] into JSON,
//! [`error`] maps every failure to one exit code, and [`commands`] talks to
//! the services.

pub mod classify;
pub mod cli;
pub mod client;
pub mod commands;
pub mod demo;
pub mod error;
pub mod export;
pub mod json;
pub mod names;
pub mod render;

pub use cli::Cli;
pub use commands::run;
pub use error::{Exit, Failure};

/// How replies are printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Tables and text for people.
    #[default]
    Table,
    /// JSON for scripts: one document per reply; streams print one object
    /// per line.
    Json,
}
