//! An org's suspension history as the org page shows it: the governor's
//! feed events (newest first) paired into one row per suspension (when it
//! began, when and how it ended), and, where the person may read the audit
//! trail, who cleared it. Pure: the events and audit records come in, rows
//! go out.

use std::collections::HashMap;

use syncgov_api::quota::v1 as quota;

use crate::{format, names};

/// One suspension of the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The reason's code (for the tooltip).
    pub code: String,
    /// The reason in words.
    pub reason: String,
    /// What was seen when it began.
    pub detail: String,
    /// When it began; "before the events shown" when that is older than
    /// the page.
    pub suspended: String,
    /// When it ended; empty while it lasts.
    pub cleared: String,
    /// How it ended: automatically, by whom, or "suspended now".
    pub how: String,
    /// What to do for the reason.
    pub guidance: String,
}

/// Audit records are written just after the change they record: a clear's
/// record is looked for from a second before its feed event (clocks of one
/// store, but read by two calls) to this long after.
const AUDIT_WINDOW_MS: i64 = 60_000;

/// The rows of `events` (one org's, newest first), naming who cleared each
/// from `clears` (the org's `ClearSuspension` audit records, any order;
/// `None` when the person may not read the audit trail). `newest`: the
/// events are the org's newest, so a beginning without its end on the page
/// lasts still; on an older page its end may be on a newer one.
pub fn rows(
    events: &[quota::WatchSuspensionsResponse],
    clears: Option<&[quota::AuditEvent]>,
    newest: bool,
) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    // Per reason, the row of a clear whose beginning is older still.
    let mut open: HashMap<i32, usize> = HashMap::new();
    let mut used = vec![false; clears.map_or(0, <[_]>::len)];
    for event in events {
        let at = format::time(event.at.as_ref());
        if event.kind == quota::SuspensionEventKind::Cleared as i32 {
            let how = if event.automatic {
                "Ended automatically by the governor".to_owned()
            } else {
                match clears.and_then(|c| who_cleared(event, c, &mut used)) {
                    Some(actor) => format!("Cleared by {actor}"),
                    None if clears.is_some() => "Cleared by a person".to_owned(),
                    None => {
                        "Cleared by a person (who: in the audit trail, for operators and admins)"
                            .to_owned()
                    }
                }
            };
            open.insert(event.reason, rows.len());
            rows.push(Row {
                code: names::reason_code(event.reason),
                reason: names::reason(event.reason),
                detail: event.detail.clone(),
                suspended: "before the events shown".to_owned(),
                cleared: at,
                how,
                guidance: names::reason_guidance(event.reason).to_owned(),
            });
        } else if let Some(i) = open.remove(&event.reason) {
            rows[i].suspended = at;
            if rows[i].detail.is_empty() {
                rows[i].detail = event.detail.clone();
            }
        } else {
            // No later clear on the page: it lasts, or ended after it.
            rows.push(Row {
                code: names::reason_code(event.reason),
                reason: names::reason(event.reason),
                detail: event.detail.clone(),
                suspended: at,
                cleared: String::new(),
                how: if newest {
                    "Suspended now".to_owned()
                } else {
                    "Not ended before the newer events (see them)".to_owned()
                },
                guidance: names::reason_guidance(event.reason).to_owned(),
            });
        }
    }
    rows
}

/// The actor of the first unused audit record of a clear of the event's
/// reason (that cleared something) recorded within the window of it.
fn who_cleared(
    event: &quota::WatchSuspensionsResponse,
    clears: &[quota::AuditEvent],
    used: &mut [bool],
) -> Option<String> {
    let ms = |t: Option<&prost_types::Timestamp>| {
        t.map(|t| t.seconds * 1_000 + i64::from(t.nanos) / 1_000_000)
    };
    let at = ms(event.at.as_ref())?;
    let code = names::reason_code(event.reason);
    let (i, record) = clears
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            !used[*i]
                && c.action == "ClearSuspension"
                && c.target == code
                // A clear that found nothing to clear records no `before`.
                && !c.before.is_empty()
                && ms(c.at.as_ref()).is_some_and(|t| (at - 1_000..=at + AUDIT_WINDOW_MS).contains(&t))
        })
        .min_by_key(|(_, c)| ms(c.at.as_ref()).map(|t| (t - at).abs()))?;
    used[i] = true;
    Some(record.actor.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncgov_api::taxonomy::v1 as tx;

    const LOCKED: i32 = tx::SuspensionReason::SalesforceOrgLocked as i32;
    const FIELDS: i32 = tx::SuspensionReason::MissingFieldPermissions as i32;

    fn ts(ms: i64) -> Option<prost_types::Timestamp> {
        Some(prost_types::Timestamp {
            seconds: ms / 1_000,
            nanos: ((ms % 1_000) * 1_000_000) as i32,
        })
    }

    fn event(
        kind: quota::SuspensionEventKind,
        reason: i32,
        ms: i64,
        automatic: bool,
    ) -> quota::WatchSuspensionsResponse {
        quota::WatchSuspensionsResponse {
            cursor: format!("{ms}-0"),
            org_id: "acme".into(),
            reason,
            kind: kind as i32,
            detail: format!("seen at {ms}"),
            at: ts(ms),
            automatic,
        }
    }

    fn clear_record(actor: &str, reason: &str, ms: i64) -> quota::AuditEvent {
        quota::AuditEvent {
            at: ts(ms),
            actor: actor.into(),
            action: "ClearSuspension".into(),
            org_id: "acme".into(),
            target: reason.into(),
            before: "{}".into(),
            ..Default::default()
        }
    }

    use quota::SuspensionEventKind::{Cleared, Suspended};

    #[test]
    fn events_pair_into_one_row_per_suspension_newest_first() {
        // Newest first: fields suspended now; locked cleared by ops;
        // locked ended automatically before that.
        let events = [
            event(Suspended, FIELDS, 90_000, false),
            event(Cleared, LOCKED, 70_000, false),
            event(Suspended, LOCKED, 60_000, false),
            event(Cleared, LOCKED, 40_000, true),
            event(Suspended, LOCKED, 10_000, false),
        ];
        let clears = [clear_record("ops", "SALESFORCE_ORG_LOCKED", 70_004)];
        let rows = rows(&events, Some(&clears), true);
        assert_eq!(rows.len(), 3, "{rows:#?}");
        assert_eq!(rows[0].how, "Suspended now");
        assert!(rows[0].cleared.is_empty());
        assert_eq!(rows[0].code, "MISSING_FIELD_PERMISSIONS");
        assert_eq!(rows[1].how, "Cleared by ops");
        assert_eq!(rows[1].suspended, format::time(ts(60_000).as_ref()));
        assert_eq!(rows[1].cleared, format::time(ts(70_000).as_ref()));
        assert_eq!(rows[2].how, "Ended automatically by the governor");
        assert_eq!(rows[2].suspended, format::time(ts(10_000).as_ref()));
        assert!(rows.iter().all(|r| !r.guidance.is_empty()));
    }

    #[test]
    fn a_clear_older_than_its_beginning_on_the_page_says_so() {
        let rows = rows(&[event(Cleared, LOCKED, 5_000, true)], None, true);
        assert_eq!(rows[0].suspended, "before the events shown");
        // On an older page, a beginning without its end is not "now".
        let older = super::rows(&[event(Suspended, LOCKED, 1_000, false)], None, false);
        assert!(
            older[0]
                .how
                .starts_with("Not ended before the newer events"),
            "{older:?}"
        );
    }

    #[test]
    fn who_cleared_is_the_nearest_record_of_that_reason_that_cleared_something() {
        let events = [event(Cleared, LOCKED, 100_000, false)];
        let mut nothing = clear_record("late", "SALESFORCE_ORG_LOCKED", 100_001);
        nothing.before.clear();
        let clears = [
            nothing,
            clear_record("other-reason", "MISSING_FIELD_PERMISSIONS", 100_001),
            clear_record("long-ago", "SALESFORCE_ORG_LOCKED", 10_000),
            clear_record("far", "SALESFORCE_ORG_LOCKED", 100_900),
            clear_record("near", "SALESFORCE_ORG_LOCKED", 100_010),
        ];
        assert_eq!(rows(&events, Some(&clears), true)[0].how, "Cleared by near");
        assert_eq!(
            rows(&events, Some(&clears[..3]), true)[0].how,
            "Cleared by a person"
        );
        assert!(rows(&events, None, true)[0].how.contains("audit trail"));
    }
}
