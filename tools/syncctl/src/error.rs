//! Why a command failed, told twice: a message for the operator and an exit
//! code for scripts. Every gRPC status becomes a [`Failure`] here and
//! nowhere else, so the exit codes documented in `--help` hold for every
//! command.

use std::fmt;

use tonic::Code;

use crate::target::Target;

/// The exit codes of `syncctl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Anything not covered below.
    Other = 1,
    /// Bad arguments (clap uses 2 for its own parse errors too).
    Usage = 2,
    /// The service could not be reached, or answered UNAVAILABLE.
    Unreachable = 3,
    /// The service refused the input: INVALID_ARGUMENT, FAILED_PRECONDITION
    /// or OUT_OF_RANGE; also a malformed line on `classify`'s stdin and a
    /// budgets file that breaks a rule.
    Rejected = 4,
    /// What was asked for does not exist.
    NotFound = 5,
    /// The service did not accept the caller: UNAUTHENTICATED (no token or
    /// a bad one) or PERMISSION_DENIED (a token for another role or org).
    Denied = 6,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// The exit codes as `--help` and the docs list them.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  done
  1  anything else went wrong (also: some changes of `budget apply` failed, or
     some errors of `errors resync --all`/`--limit` were not queued)
  2  bad arguments
  3  a service is unreachable (cannot connect, or it answered UNAVAILABLE)
  4  the service rejected the input (INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE);
     its message names the field; also a budgets file that breaks a rule
  5  not found
  6  not allowed: no token, a bad one, or one for another role or org";

/// A failed command.
#[derive(Debug)]
pub struct Failure {
    /// The exit code it ends with.
    pub exit: Exit,
    /// What to tell the operator; may span lines.
    pub message: String,
}

impl Failure {
    /// A failure with an exit code and a message.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
        }
    }

    /// A failure that fits no other code.
    pub fn other(message: impl Into<String>) -> Self {
        Self::new(Exit::Other, message)
    }

    /// Bad arguments found after clap accepted them.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    /// The service at `target` could not be connected to.
    pub fn unreachable(target: &Target, cause: &(dyn std::error::Error + 'static)) -> Self {
        Self::new(
            Exit::Unreachable,
            format!(
                "cannot reach {} at {}: {}\n{}",
                target.name,
                target.url,
                causes(cause),
                target.hint()
            ),
        )
    }

    /// A gRPC status from the service at `target`, mapped to its exit code.
    /// The service's message is kept whole: for bad input it starts with the
    /// field's name.
    pub fn status(target: &Target, status: &tonic::Status) -> Self {
        let message = status_message(status);
        match status.code() {
            // UNAVAILABLE is both "no connection" (tonic's transport errors)
            // and "the service's store is down": either way, not now, but
            // the operator looks in different places.
            Code::Unavailable if status.message().starts_with(STORE_DOWN) => Self::new(
                Exit::Unreachable,
                format!(
                    "{} at {} is up, but its Redis is unreachable: {message}\n\
                     (nothing was done; try again once its Redis is back: the service's \
                     logs and its /readyz say more)",
                    target.name, target.url
                ),
            ),
            Code::Unavailable => Self::new(
                Exit::Unreachable,
                format!(
                    "{} at {} is unavailable: {message}\n{}",
                    target.name,
                    target.url,
                    target.hint()
                ),
            ),
            Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => Self::new(
                Exit::Rejected,
                format!("{} rejected the request: {message}", target.name),
            ),
            Code::NotFound => Self::new(Exit::NotFound, format!("not found: {message}")),
            // A server that knows nothing of the service's methods: another
            // service's address, most likely the other syncgov service's.
            Code::Unimplemented => Self::new(
                Exit::Unreachable,
                format!(
                    "{} does not serve {} (it answered UNIMPLEMENTED): is it the address of {}?\n{}",
                    target.url,
                    target.name,
                    target.other_service(),
                    target.hint()
                ),
            ),
            Code::Unauthenticated => Self::new(
                Exit::Denied,
                format!(
                    "{} did not accept the caller: {message}\n(give a token with --token-file FILE or SYNCGOV_TOKEN_FILE=FILE)",
                    target.name
                ),
            ),
            Code::PermissionDenied => {
                Self::new(Exit::Denied, format!("{} refused: {message}", target.name))
            }
            Code::DeadlineExceeded => Self::other(format!(
                "{} at {} did not answer in time (--timeout): {message}",
                target.name, target.url
            )),
            code => Self::other(format!(
                "{} failed: {} ({code:?})",
                target.name,
                if message.is_empty() {
                    "no message"
                } else {
                    &message
                }
            )),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

impl From<std::io::Error> for Failure {
    fn from(err: std::io::Error) -> Self {
        Self::other(err.to_string())
    }
}

/// The status's message, with the causes tonic attaches to transport
/// failures ("transport error" alone says nothing).
/// How the services start the message of UNAVAILABLE when their store,
/// not they, cannot be reached (`StoreError::Unavailable`).
const STORE_DOWN: &str = "store unavailable";

fn status_message(status: &tonic::Status) -> String {
    let mut message = status.message().to_owned();
    if let Some(source) = std::error::Error::source(status) {
        let detail = causes(source);
        if !detail.is_empty() && !message.contains(&detail) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&detail);
        }
    }
    message
}

/// An error and its sources on one line, without the repeats that wrapped
/// errors tend to carry.
fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}
