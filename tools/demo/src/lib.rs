//! `syncgov-demo`, the whole product in one process: the composition root
//! that links both services (quota-governor and sync-errors, on their
//! embedded stores) and drives them over gRPC with simulated sync workers.
//!
//! It is the only crate that links both services: `syncctl`, the operator's
//! command line, speaks gRPC only. The demo reuses `syncctl`'s library for
//! what it prints (charts, health cards, names), so its tables look like the
//! operator's.
//!
//! The binary parses [`Cli`] and calls [`demo::run`]; [`demo`] holds the
//! story itself.

pub mod cli;
pub mod demo;

pub use cli::{Cli, DemoOutput};
