//! Who may call each method of sync-errors when authentication is on.
//! Admins may call every method; the org a call names is checked in the
//! handlers.

use syncgov_kit::auth::{Policy, Role};

const WORKERS: &[Role] = &[Role::Worker];
const OPERATORS: &[Role] = &[Role::Operator];
const EITHER: &[Role] = &[Role::Worker, Role::Operator];

/// The sync-error service's access policy.
pub fn policy() -> Policy {
    Policy::default().allow(
        "syncgov.syncerrors.v1.SyncErrors",
        &[
            ("IngestErrors", WORKERS),
            ("ClaimResyncJobs", WORKERS),
            ("CompleteResyncJob", WORKERS),
            ("ResolveRecord", EITHER),
            ("Classify", EITHER),
            ("GetSyncHealth", OPERATORS),
            ("ListErrors", OPERATORS),
            ("GetError", OPERATORS),
            ("ListAffectedRecords", OPERATORS),
            ("ExportErrorsCsv", OPERATORS),
            ("ResyncErrors", OPERATORS),
            ("GetNotificationSettings", OPERATORS),
            ("UpdateNotificationSettings", OPERATORS),
        ],
    )
}
