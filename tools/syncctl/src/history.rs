//! An org's suspension history as `suspensions history` prints it: a page
//! of the governor's feed events of one org (newest first) paired into one
//! row per suspension: its reason and detail, when it began and ended, and
//! how it ended. Pure: events in, rows out.

use std::collections::HashMap;

use prost_types::Timestamp;
use syncgov_api::quota::v1 as quota;

/// How a suspension of the history ended, as far as the page tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    /// The governor ended it by itself (a probe went through, a budget made
    /// room).
    Automatically,
    /// An operator cleared it.
    ByAnOperator,
    /// It has not ended: the page holds the org's newest events.
    SuspendedNow,
    /// Its end, if any, is among newer events than the page's.
    OnANewerPage,
}

impl How {
    /// In words, for the table.
    pub fn words(self) -> &'static str {
        match self {
            Self::Automatically => "automatically",
            Self::ByAnOperator => "by an operator",
            Self::SuspendedNow => "suspended now",
            Self::OnANewerPage => "see newer events",
        }
    }

    /// As JSON names it.
    pub fn code(self) -> &'static str {
        match self {
            Self::Automatically => "AUTOMATICALLY",
            Self::ByAnOperator => "OPERATOR",
            Self::SuspendedNow => "SUSPENDED_NOW",
            Self::OnANewerPage => "NEWER_PAGE",
        }
    }
}

/// One suspension of the history.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The reason (the contract's number).
    pub reason: i32,
    /// What was seen when it began (or, without its beginning, when it
    /// ended).
    pub detail: String,
    /// When it began; `None` when that is older than the page's events.
    pub began: Option<Timestamp>,
    /// When it ended; `None` while it lasts or when that is not on the page.
    pub ended: Option<Timestamp>,
    /// How it ended.
    pub how: How,
}

/// The rows of `events` (one org's, newest first, as ListSuspensionHistory
/// gives them), newest first. `newest`: the events are the org's newest (a
/// first page), so a beginning without its end on the page still lasts; on
/// a later page its end may be among newer events.
pub fn rows(events: &[quota::WatchSuspensionsResponse], newest: bool) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    // Per reason, the row of an end whose beginning is older still: an org
    // has at most one suspension per reason at a time.
    let mut open: HashMap<i32, usize> = HashMap::new();
    for event in events {
        if event.kind == quota::SuspensionEventKind::Cleared as i32 {
            open.insert(event.reason, rows.len());
            rows.push(Row {
                reason: event.reason,
                detail: event.detail.clone(),
                began: None,
                ended: event.at,
                how: if event.automatic {
                    How::Automatically
                } else {
                    How::ByAnOperator
                },
            });
        } else if let Some(i) = open.remove(&event.reason) {
            rows[i].began = event.at;
            if !event.detail.is_empty() {
                rows[i].detail = event.detail.clone();
            }
        } else {
            rows.push(Row {
                reason: event.reason,
                detail: event.detail.clone(),
                began: event.at,
                ended: None,
                how: if newest {
                    How::SuspendedNow
                } else {
                    How::OnANewerPage
                },
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncgov_api::taxonomy::v1 as tx;

    const LOCKED: i32 = tx::SuspensionReason::SalesforceOrgLocked as i32;
    const AUTH: i32 = tx::SuspensionReason::SalesforceAuthFailed as i32;

    fn at(s: i64) -> Option<Timestamp> {
        Some(Timestamp {
            seconds: s,
            nanos: 0,
        })
    }

    fn event(
        kind: quota::SuspensionEventKind,
        reason: i32,
        s: i64,
        automatic: bool,
    ) -> quota::WatchSuspensionsResponse {
        quota::WatchSuspensionsResponse {
            org_id: "acme".into(),
            kind: kind as i32,
            reason,
            detail: format!("seen at {s}"),
            at: at(s),
            automatic,
            ..Default::default()
        }
    }

    use quota::SuspensionEventKind::{Cleared, Suspended};

    #[test]
    fn beginnings_and_ends_pair_by_reason_newest_first() {
        let events = [
            event(Suspended, LOCKED, 50, false),
            event(Cleared, AUTH, 40, true),
            event(Cleared, LOCKED, 30, false),
            event(Suspended, AUTH, 20, false),
            event(Suspended, LOCKED, 10, false),
        ];
        let rows = rows(&events, true);
        let seen: Vec<_> = rows
            .iter()
            .map(|r| (r.reason, r.began, r.ended, r.how))
            .collect();
        assert_eq!(
            seen,
            [
                (LOCKED, at(50), None, How::SuspendedNow),
                (AUTH, at(20), at(40), How::Automatically),
                (LOCKED, at(10), at(30), How::ByAnOperator),
            ]
        );
        assert_eq!(rows[1].detail, "seen at 20", "the detail of its beginning");
    }

    #[test]
    fn an_end_without_its_beginning_and_a_beginning_of_an_older_page() {
        let events = [
            event(Suspended, AUTH, 20, false),
            event(Cleared, LOCKED, 10, false),
        ];
        let rows = rows(&events, false);
        assert_eq!(rows[0].how, How::OnANewerPage);
        assert_eq!((rows[1].began, rows[1].ended), (None, at(10)));
        assert_eq!(rows[1].detail, "seen at 10");
    }
}
