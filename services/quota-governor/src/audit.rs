//! What the governor's audit trail records of a change: budgets and
//! suspensions as small JSON documents (pure; the trail itself is
//! `syncgov_kit::audit`). Times are ms since the epoch, as stored.

use serde_json::{Value, json};

use crate::domain::Budget;
use crate::suspension::Suspension;

/// A budget as the trail records it, its override and shadow mode
/// included.
pub fn budget(budget: &Budget) -> Value {
    json!({
        "org_limit": budget.org_limit,
        "allocation": budget.allocation,
        "shares": {
            "retry": budget.shares.retry,
            "normal": budget.shares.normal,
            "critical": budget.shares.critical,
        },
        "override": budget.allocation_override.map(|o| json!({
            "allocation": o.allocation,
            "expires_at_ms": o.expires_at_ms,
        })),
        "shadow": budget.shadow,
    })
}

/// A suspension as the trail records it.
pub fn suspension(suspension: &Suspension) -> Value {
    json!({
        "reason": suspension.reason.code(),
        "detail": suspension.detail,
        "since_ms": suspension.since_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AllocationOverride;

    #[test]
    fn a_budget_is_recorded_with_its_override() {
        let mut b = Budget::new(1_000, 400);
        assert_eq!(budget(&b)["override"], Value::Null);
        b.allocation_override = Some(AllocationOverride {
            allocation: 800,
            expires_at_ms: 5,
        });
        let v = budget(&b);
        assert_eq!(v["allocation"], 400);
        assert_eq!(v["org_limit"], 1_000);
        assert_eq!(v["override"]["allocation"], 800);
        assert_eq!(v["shares"]["normal"], 95);
        assert_eq!(v["shadow"], false);
    }
}
