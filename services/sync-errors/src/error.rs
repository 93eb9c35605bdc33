//! Why an operation of the sync-error service failed: one small typed error
//! that the core ([`crate::core`]) and the export return and the gRPC adapter
//! turns into a status.
//!
//! Invariant: nothing here knows tonic. What a caller is told in place of a
//! result (a skipped resync, a duplicate report) is a reply, not an error;
//! this type holds only what ends a call.

use crate::domain::{ErrorId, InvalidInput, OrgId};
use crate::store::StoreError;

/// Why an operation failed. The messages are the ones callers read, so each
/// names the request field at fault where there is one.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request breaks a rule; the message names the field.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// The error asked for is not in the org (never was, or was resolved
    /// long enough ago to be gone).
    #[error("error_id: no error {id} in org {org}")]
    ErrorNotFound {
        /// The org asked about.
        org: OrgId,
        /// The error asked for.
        id: ErrorId,
    },
    /// A job's claim lapsed (or was never this one): another worker may hold
    /// the job, so the outcome given was not recorded. Retrying cannot help.
    #[error(
        "lease_id: the claim lapsed or is not this one; another worker may hold the job, so this outcome was not recorded"
    )]
    LeaseLost,
    /// E-mail recipients were given but the service has no SMTP server.
    #[error(
        "settings.email_recipients: e-mail is off on this service: it needs an SMTP server (--smtp-url)"
    )]
    EmailOff,
    /// The store failed; it decides what is transient.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An export's rows could not be written as CSV.
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
}
