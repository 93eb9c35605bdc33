//! What every command needs, settled once from the global flags: where the
//! two services are (with TLS and the token) and how to print.

use std::time::Duration;

use crate::cli::Cli;
use crate::output::Output;
use crate::target::Target;

/// What every command needs: where the services are and how to print.
#[derive(Clone, Debug)]
pub struct Context {
    /// The quota governor.
    pub governor: Target,
    /// The sync-error service.
    pub sync_errors: Target,
    /// How to print replies.
    pub output: Output,
    /// Longest wait for a unary call.
    pub timeout: Duration,
    /// Columns tables fit in; `None`: no wrapping.
    pub width: Option<usize>,
}

impl Context {
    /// The context the global flags describe.
    pub fn from_cli(cli: &Cli) -> Self {
        Self {
            governor: Target::governor(&cli.governor).with_security(&cli.security),
            sync_errors: Target::sync_errors(&cli.sync_errors).with_security(&cli.security),
            output: cli.output,
            timeout: cli.timeout,
            width: crate::output::table_width(cli.width),
        }
    }
}
