//! The one place where the services' errors become gRPC statuses.

use tonic::{Code, Status};

use crate::input::InvalidInput;
use crate::store::StoreError;

/// Why an RPC failed. Denials, skipped ids and the like are replies, not
/// errors.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request breaks a rule; the message names the field.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// No credential, or one that does not verify.
    #[error("{0}")]
    Unauthenticated(String),
    /// A verified caller without the right to this call or this org.
    #[error("{0}")]
    PermissionDenied(String),
    /// The caller is at one of its bounds (calls in flight).
    #[error("{0}")]
    Exhausted(String),
    /// The request is well formed, but the state it relies on no longer
    /// holds (a lease that lapsed): asking again the same way cannot help.
    #[error("{0}")]
    FailedPrecondition(String),
    /// This replica is going away; another one, or this one restarted,
    /// will answer.
    #[error("{0}")]
    Stopping(String),
    /// A fault of this service that no retry mends.
    #[error("{0}")]
    Internal(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The `kind`s of store errors: `unavailable` (retryable) and `internal`
/// (data or configuration this version cannot use).
const STORE_ERROR_KINDS: [&str; 2] = ["unavailable", "internal"];

/// The counter of calls that failed on the store.
fn store_error_counter() -> &'static opentelemetry::metrics::Counter<u64> {
    static COUNTER: std::sync::OnceLock<opentelemetry::metrics::Counter<u64>> =
        std::sync::OnceLock::new();
    COUNTER.get_or_init(|| {
        opentelemetry::global::meter("syncgov")
            .u64_counter("syncgov.store.errors")
            .with_unit("{call}")
            .with_description("Calls that failed on the store, by kind")
            .build()
    })
}

/// Counts a call that failed on the store, by `kind` (one of
/// [`STORE_ERROR_KINDS`]).
fn store_errors(kind: &'static str) {
    store_error_counter().add(
        1,
        &[
            opentelemetry::KeyValue::new("kind", kind),
            crate::service_label::service(),
        ],
    );
}

/// Records the store error counter at 0 for every kind, so that it exists
/// from start-up.
pub(crate) fn count_store_errors_from_zero() {
    for kind in STORE_ERROR_KINDS {
        store_error_counter().add(
            0,
            &[
                opentelemetry::KeyValue::new("kind", kind),
                crate::service_label::service(),
            ],
        );
    }
}

impl From<ApiError> for Status {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::Invalid(e) => Status::invalid_argument(e.to_string()),
            ApiError::NotFound(what) => Status::not_found(what),
            ApiError::Unauthenticated(why) => Status::unauthenticated(why),
            ApiError::PermissionDenied(why) => Status::permission_denied(why),
            // RESOURCE_EXHAUSTED, not UNAVAILABLE: the caller, not the
            // service, must slow down.
            ApiError::Exhausted(why) => Status::resource_exhausted(why),
            ApiError::FailedPrecondition(why) => Status::failed_precondition(why),
            // Retryable: nothing was done, and a replica that is not
            // stopping will take the call.
            ApiError::Stopping(why) => Status::unavailable(why),
            ApiError::Internal(why) => {
                tracing::error!(error = %why, "internal error");
                Status::internal(why)
            }
            // Retryable by contract: the store is down or slow, nothing was
            // granted to the caller or acknowledged, and asking again later
            // is the right move (ingest is idempotent, so a batch may be sent
            // again). A decision Redis ran just before it died may still be
            // counted: the safe direction.
            ApiError::Store(e @ StoreError::Unavailable(_)) => {
                store_errors("unavailable");
                tracing::warn!(error = %e, "store unavailable");
                Status::unavailable(e.to_string())
            }
            // A bound on what the store holds: like a caller's own bounds,
            // RESOURCE_EXHAUSTED, not a fault of the store.
            ApiError::Store(StoreError::Full(why)) => Status::resource_exhausted(why),
            // Data this version cannot read, or a store never configured
            // right: retrying will not help.
            ApiError::Store(e @ (StoreError::Corrupt(_) | StoreError::Config(_))) => {
                store_errors("internal");
                tracing::error!(error = %e, "store error");
                Status::new(Code::Internal, e.to_string())
            }
        }
    }
}

/// Turns a broken rule straight into its status.
impl From<InvalidInput> for Status {
    fn from(err: InvalidInput) -> Self {
        ApiError::Invalid(err).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_its_code() {
        let status: Status = ApiError::from(InvalidInput::new("count", "must be 1 to 10")).into();
        assert_eq!(
            (status.code(), status.message()),
            (Code::InvalidArgument, "count: must be 1 to 10")
        );
        assert_eq!(
            Status::from(ApiError::NotFound("x".into())).code(),
            Code::NotFound
        );
        let down = ApiError::Store(StoreError::Unavailable("gone".into()));
        assert_eq!(Status::from(down).code(), Code::Unavailable);
        let bad = ApiError::Store(StoreError::Corrupt("?".into()));
        assert_eq!(Status::from(bad).code(), Code::Internal);
        let full = ApiError::Store(StoreError::Full("at most 10 orgs".into()));
        assert_eq!(Status::from(full).code(), Code::ResourceExhausted);
        for (error, code) in [
            (ApiError::Unauthenticated("t".into()), Code::Unauthenticated),
            (
                ApiError::PermissionDenied("r".into()),
                Code::PermissionDenied,
            ),
            (ApiError::Exhausted("b".into()), Code::ResourceExhausted),
            (
                ApiError::FailedPrecondition("l".into()),
                Code::FailedPrecondition,
            ),
            (ApiError::Stopping("s".into()), Code::Unavailable),
            (ApiError::Internal("c".into()), Code::Internal),
        ] {
            assert_eq!(Status::from(error).code(), code);
        }
    }
}
