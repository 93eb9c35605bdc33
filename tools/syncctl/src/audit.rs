//! `syncctl audit`: who changed what. Reads the audit trail of each service
//! asked for (`ListAuditEvents`), page after page from `--since` on until
//! `--limit` events or the end, then merges them newest first into one
//! table or one JSON document.

use std::time::SystemTime;

use prost_types::Timestamp;
use serde_json::{Value, json};
use syncgov_api::quota::v1 as quota;
use syncgov_api::syncerrors::v1 as errors;

use crate::cli::{AuditArgs, AuditService};
use crate::context::Context;
use crate::error::Failure;
use crate::output::emit;
use crate::render::{Table, clean, shorten, timestamp};

/// Pages read from one service at most: a filter that matches little
/// must not keep syncctl reading forever.
const MAX_PAGES: usize = 50;

/// One recorded change, from either service.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// `governor` or `errors`.
    pub service: &'static str,
    /// Its id in that service's trail.
    pub id: String,
    /// When.
    pub at: Option<Timestamp>,
    /// Who.
    pub actor: String,
    /// The method.
    pub action: String,
    /// The org.
    pub org_id: String,
    /// What of the org.
    pub target: String,
    /// The value before, JSON text.
    pub before: String,
    /// The value after, JSON text.
    pub after: String,
}

impl From<quota::AuditEvent> for Row {
    fn from(e: quota::AuditEvent) -> Self {
        Self {
            service: "governor",
            id: e.id,
            at: e.at,
            actor: e.actor,
            action: e.action,
            org_id: e.org_id,
            target: e.target,
            before: e.before,
            after: e.after,
        }
    }
}

impl From<errors::AuditEvent> for Row {
    fn from(e: errors::AuditEvent) -> Self {
        Self {
            service: "errors",
            id: e.id,
            at: e.at,
            actor: e.actor,
            action: e.action,
            org_id: e.org_id,
            target: e.target,
            before: e.before,
            after: e.after,
        }
    }
}

/// Runs `audit`.
pub async fn run(ctx: &Context, args: AuditArgs) -> Result<(), Failure> {
    let from = SystemTime::now()
        .checked_sub(args.since)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let limit = args.limit as usize;
    let org = args.org.clone().unwrap_or_default();
    let actor = args.actor.clone().unwrap_or_default();
    let action = args.action.clone().unwrap_or_default();
    let mut governor = Vec::new();
    let mut errors_rows = Vec::new();
    if args.service != AuditService::Errors {
        let target = &ctx.governor;
        let mut client = target.governor_client(Some(ctx.timeout)).await?;
        let mut token = String::new();
        for _ in 0..MAX_PAGES {
            let reply = client
                .list_audit_events(quota::ListAuditEventsRequest {
                    org_id: org.clone(),
                    actor: actor.clone(),
                    action: action.clone(),
                    from: Some(from.into()),
                    to: None,
                    page_size: args.limit,
                    page_token: token,
                })
                .await
                .map_err(|s| target.failed(s))?
                .into_inner();
            governor.extend(reply.events.into_iter().map(Row::from));
            token = reply.next_page_token;
            if token.is_empty() || governor.len() >= limit {
                break;
            }
        }
    }
    if args.service != AuditService::Governor {
        let target = &ctx.sync_errors;
        let mut client = target.sync_errors_client(Some(ctx.timeout)).await?;
        let mut token = String::new();
        for _ in 0..MAX_PAGES {
            let reply = client
                .list_audit_events(errors::ListAuditEventsRequest {
                    org_id: org.clone(),
                    actor: actor.clone(),
                    action: action.clone(),
                    from: Some(from.into()),
                    to: None,
                    page_size: args.limit,
                    page_token: token,
                })
                .await
                .map_err(|s| target.failed(s))?
                .into_inner();
            errors_rows.extend(reply.events.into_iter().map(Row::from));
            token = reply.next_page_token;
            if token.is_empty() || errors_rows.len() >= limit {
                break;
            }
        }
    }
    let rows = merge(governor, errors_rows, limit);
    emit(ctx.output, table(&rows, ctx.width), to_json(&rows))
}

/// Both services' events, newest first, the newest `limit` of them. Each
/// list comes newest first already; ties in time keep the governor's first.
pub fn merge(governor: Vec<Row>, errors: Vec<Row>, limit: usize) -> Vec<Row> {
    let key = |r: &Row| r.at.as_ref().map(|t| (t.seconds, t.nanos));
    let mut rows: Vec<Row> = governor.into_iter().chain(errors).collect();
    // Stable: each service's own order stands within one instant.
    rows.sort_by_key(|r| std::cmp::Reverse(key(r)));
    rows.truncate(limit);
    rows
}

/// The changes as a table for people.
pub fn table(rows: &[Row], width: Option<usize>) -> String {
    if rows.is_empty() {
        return "no changes recorded\n".to_owned();
    }
    let mut table = Table::new(&["WHEN", "WHO", "SERVICE", "ACTION", "ORG", "CHANGE"]);
    for r in rows {
        table.row(vec![
            timestamp(r.at.as_ref()),
            shorten(&clean(&r.actor), 20),
            r.service.to_owned(),
            shorten(&clean(&r.action), 26),
            shorten(&clean(&r.org_id), 20),
            change(r),
        ]);
    }
    table.render(width)
}

/// Widest CHANGE cell, in characters.
const CHANGE_WIDTH: usize = 64;

/// `target: what changed`, short: the fields whose value differs
/// (`allocation 1000 → 1500`), or what was set (`+ allocation=500 …`) or
/// removed (`- reason=… …`).
fn change(r: &Row) -> String {
    let head = if r.target.is_empty() {
        String::new()
    } else {
        format!("{}: ", shorten(&clean(&r.target), 30))
    };
    shorten(
        &clean(&format!("{head}{}", summary(&r.before, &r.after))),
        CHANGE_WIDTH,
    )
}

/// What changed between two JSON documents (either may be empty: none).
pub fn summary(before: &str, after: &str) -> String {
    let leaves = |text: &str| {
        let mut out = std::collections::BTreeMap::new();
        if !text.is_empty() {
            match serde_json::from_str::<Value>(text) {
                Ok(value) => flatten("", &value, &mut out),
                Err(_) => {
                    out.insert(String::new(), text.to_owned());
                }
            }
        }
        out
    };
    let (old, new) = (leaves(before), leaves(after));
    let pairs = |map: &std::collections::BTreeMap<String, String>| {
        map.iter()
            .filter(|(_, v)| v.as_str() != "null")
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    match (before.is_empty(), after.is_empty()) {
        (true, true) => "-".to_owned(),
        (true, false) => format!("+ {}", pairs(&new)),
        (false, true) => format!("- {}", pairs(&old)),
        (false, false) => {
            let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
            let none = "-".to_owned();
            let changed: Vec<String> = keys
                .into_iter()
                .filter(|k| old.get(*k) != new.get(*k))
                .map(|k| {
                    let (b, a) = (old.get(k).unwrap_or(&none), new.get(k).unwrap_or(&none));
                    format!("{k} {b} → {a}")
                })
                .collect();
            if changed.is_empty() {
                "no change".to_owned()
            } else {
                changed.join(", ")
            }
        }
    }
}

/// The leaves of `value` by dotted path, each as compact JSON (strings
/// bare, nulls left out).
fn flatten(path: &str, value: &Value, out: &mut std::collections::BTreeMap<String, String>) {
    match value {
        Value::Object(fields) if !fields.is_empty() => {
            for (key, v) in fields {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                flatten(&path, v, out);
            }
        }
        // Nothing there: as if absent, so `null → {…}` reads as what was added.
        Value::Null => {}
        Value::String(text) => {
            out.insert(path.to_owned(), text.clone());
        }
        other => {
            out.insert(path.to_owned(), other.to_string());
        }
    }
}

/// The changes as JSON for scripts: before and after as the JSON they are.
pub fn to_json(rows: &[Row]) -> Value {
    let value = |text: &str| {
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
        }
    };
    json!({
        "events": rows
            .iter()
            .map(|r| json!({
                "service": r.service,
                "id": r.id,
                "at": crate::json::timestamp(r.at.as_ref()),
                "actor": r.actor,
                "action": r.action,
                "org_id": r.org_id,
                "target": r.target,
                "before": value(&r.before),
                "after": value(&r.after),
            }))
            .collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(service: &'static str, seconds: i64, action: &str) -> Row {
        Row {
            service,
            id: format!("{seconds}-0"),
            at: Some(Timestamp { seconds, nanos: 0 }),
            actor: "ops".into(),
            action: action.into(),
            org_id: "acme".into(),
            target: "api".into(),
            before: String::new(),
            after: r#"{"allocation":5}"#.into(),
        }
    }

    #[test]
    fn both_trails_merge_newest_first_up_to_the_limit() {
        let governor = vec![row("governor", 30, "a"), row("governor", 10, "b")];
        let errors = vec![row("errors", 20, "c"), row("errors", 5, "d")];
        let merged = merge(governor, errors, 3);
        let actions: Vec<_> = merged.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(actions, ["a", "c", "b"]);
    }

    #[test]
    fn the_table_shows_before_and_after_and_json_keeps_them_as_json() {
        let rows = vec![row("governor", 30, "SetBudget")];
        let text = table(&rows, None);
        assert!(text.contains("api: + allocation=5"), "{text}");
        let value = to_json(&rows);
        assert_eq!(value["events"][0]["after"]["allocation"], 5);
        assert_eq!(value["events"][0]["before"], Value::Null);
        assert_eq!(table(&[], None), "no changes recorded\n");
    }

    #[test]
    fn a_summary_names_only_what_changed() {
        let before =
            r#"{"allocation":1000,"org_limit":15000,"override":null,"shares":{"normal":95}}"#;
        let after = r#"{"allocation":1500,"org_limit":15000,"override":{"allocation":3000},"shares":{"normal":95}}"#;
        assert_eq!(
            summary(before, after),
            "allocation 1000 → 1500, override.allocation - → 3000"
        );
        assert_eq!(summary(before, before), "no change");
        assert_eq!(summary("", r#"{"reason":"X","n":null}"#), "+ reason=X");
        assert_eq!(summary(r#"{"reason":"X"}"#, ""), "- reason=X");
        assert_eq!(summary("", ""), "-");
    }
}
