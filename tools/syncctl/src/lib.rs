//! `syncctl`, the operator's command line for the syncgov services. It
//! speaks gRPC only: it links no service code, and the taxonomy's codes and
//! the classify line format come from `syncgov-taxonomy`.
//!
//! The binary only parses arguments and calls [`run`]; everything else lives
//! in this library so that tests and other front ends reuse it. Imports
//! point one way, from the commands down to the pure modules:
//!
//! - [`commands`] runs each subcommand ([`apply`], [`classify`] and
//!   [`export`] have modules of their own, and so has a batched
//!   [`resync`]), on the [`context`] the global flags of [`cli`] describe;
//! - [`client`] connects to a [`target`] and turns gRPC statuses into the
//!   [`error`]s whose exit codes scripts branch on;
//! - [`output`] prints replies; [`render`] turns them into terminal text
//!   (pure functions), [`json`] into JSON, with [`names`] for enum values;
//!   [`history`] pairs suspension events into suspensions.

pub mod apply;
pub mod audit;
pub mod classify;
pub mod cli;
pub mod client;
pub mod commands;
pub mod context;
pub mod error;
pub mod export;
pub mod history;
pub mod json;
pub mod names;
pub mod output;
pub mod render;
pub mod resync;
pub mod target;

pub use cli::Cli;
pub use commands::run;
pub use error::{Exit, Failure};
pub use output::Output;
