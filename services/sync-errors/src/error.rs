//! The one place where the sync-error service's errors become gRPC statuses.

use tonic::{Code, Status};

use crate::domain::InvalidInput;
use crate::store::StoreError;

/// Why an RPC failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request breaks a rule; the message names the field.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ApiError> for Status {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::Invalid(e) => Status::invalid_argument(e.to_string()),
            ApiError::NotFound(what) => Status::not_found(what),
            // Retryable by contract: nothing was acknowledged, and ingest is
            // idempotent, so sending the same batch again is safe.
            ApiError::Store(e @ StoreError::Unavailable(_)) => {
                tracing::warn!(error = %e, "store unavailable");
                Status::unavailable(e.to_string())
            }
            // Data this version cannot read, or a store never configured
            // right: retrying will not help.
            ApiError::Store(e @ (StoreError::Corrupt(_) | StoreError::Config(_))) => {
                tracing::error!(error = %e, "store error");
                Status::new(Code::Internal, e.to_string())
            }
        }
    }
}
