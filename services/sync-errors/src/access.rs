//! Who may call each method of sync-errors when authentication is on.
//! Admins may call every method; the org a call names is checked in the
//! handlers.

use syncgov_kit::auth::{Policy, Role};

const WORKERS: &[Role] = &[Role::Worker];
const OPERATORS: &[Role] = &[Role::Operator];
const EITHER: &[Role] = &[Role::Worker, Role::Operator];
/// Admins only (the kit's policy lets an admin call every method).
const ADMINS: &[Role] = &[];

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
            // The fleet view: each caller sees the orgs of its token.
            ("ListTopOrgs", OPERATORS),
            // Who changed what: operators (their orgs) and admins.
            ("ListAuditEvents", OPERATORS),
            ("ListErrors", OPERATORS),
            ("GetError", OPERATORS),
            ("ListAffectedRecords", OPERATORS),
            ("ExportErrorsCsv", OPERATORS),
            ("ResyncErrors", OPERATORS),
            ("GetNotificationSettings", OPERATORS),
            ("UpdateNotificationSettings", OPERATORS),
            // Moves stored errors between types for the whole org.
            ("ReclassifyErrors", ADMINS),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_reclassify() {
        let path = "/syncgov.syncerrors.v1.SyncErrors/ReclassifyErrors";
        let policy = policy();
        assert!(policy.permits(path, Role::Admin));
        for role in [Role::Worker, Role::Operator, Role::Service] {
            assert!(!policy.permits(path, role), "{role:?}");
        }
    }
}
