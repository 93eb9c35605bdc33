//! Reads what Redis and the governor's scripts answer into domain values,
//! each reply shape in one place. A reply that does not have its shape is
//! [`StoreError::Corrupt`]: data or a script this version cannot read, which
//! no retry mends.

use std::collections::HashMap;

use redis::Value;
use syncgov_kit::store::corrupt;

use crate::alerts::{Alert, AlertKey, Crossing, Of};
use crate::consumers::{Consumer, ConsumerCounts};
use crate::domain::{
    self, AlertThresholds, AllocationOverride, Budget, Decision, DenyReason, Glance, Grant, OrgId,
    OrgView, Outcome, ReleaseOutcome, Released, Shares,
};
use crate::grant_id::KEY_LEN;
use crate::store::{FoundBudget, LevelMove, OrgReport, StoreError};
use crate::suspension::{Cursor, Event, EventKind, ProbeClaim, Suspension, SuspensionReason};
use crate::window::{Window, WindowShape};

/// The hash fields of a budget, in the order the scripts read them.
pub const BUDGET_FIELDS: [&str; 9] = ["l", "a", "sr", "sn", "sc", "oa", "oe", "sh", "th"];

/// A budget as hash fields, in [`BUDGET_FIELDS`] order; the override's
/// fields only when there is one, `sh` only in shadow mode (a budget
/// written before shadow mode existed reads as enforced), `th` (the usage
/// alert thresholds, a byte each) only when the budget names its own.
pub fn budget_fields(budget: &Budget) -> Vec<(&'static str, i64)> {
    let mut fields = vec![
        ("l", budget.org_limit as i64),
        ("a", budget.allocation as i64),
        ("sr", i64::from(budget.shares.retry)),
        ("sn", i64::from(budget.shares.normal)),
        ("sc", i64::from(budget.shares.critical)),
    ];
    if let Some(o) = budget.allocation_override {
        fields.push(("oa", o.allocation as i64));
        fields.push(("oe", o.expires_at_ms));
    }
    if budget.shadow {
        fields.push(("sh", 1));
    }
    if let Some(t) = budget.alert_thresholds {
        fields.push(("th", t.packed()));
    }
    fields
}

/// Script arguments for the default budget: absent when there is none.
pub fn fallback_args(fallback: Option<&Budget>) -> Vec<i64> {
    fallback
        .map(|b| {
            budget_fields(b)
                .into_iter()
                .take(5)
                .map(|(_, v)| v)
                .collect()
        })
        .unwrap_or_default()
}

/// Reads the budget hash fields; `None` when the budget does not exist.
pub fn budget(values: &[Option<i64>]) -> Result<Option<Budget>, StoreError> {
    let [
        Some(l),
        Some(a),
        Some(sr),
        Some(sn),
        Some(sc),
        oa,
        oe,
        sh,
        th,
    ] = values
    else {
        return match values.first() {
            Some(None) => Ok(None),
            _ => Err(corrupt("budget")),
        };
    };
    let shares =
        Shares::new(*sr as u64, *sn as u64, *sc as u64).map_err(|_| corrupt("budget shares"))?;
    let allocation_override = match (oa, oe) {
        (Some(allocation), Some(expires_at_ms)) => Some(AllocationOverride {
            allocation: *allocation as u64,
            expires_at_ms: *expires_at_ms,
        }),
        _ => None,
    };
    Ok(Some(Budget {
        org_limit: *l as u64,
        allocation: *a as u64,
        shares,
        allocation_override,
        shadow: *sh == Some(1),
        alert_thresholds: match th {
            Some(packed) => {
                Some(AlertThresholds::unpack(*packed).ok_or_else(|| corrupt("budget thresholds"))?)
            }
            None => None,
        },
    }))
}

/// Reads an integer that may be absent.
pub fn int_or_nil(value: &Value) -> Result<Option<i64>, StoreError> {
    match value {
        Value::Nil => Ok(None),
        other => redis::from_redis_value_ref::<i64>(other)
            .map(Some)
            .map_err(|_| corrupt("budget field")),
    }
}

/// Decodes the window string (layout in `lua/window.lua`).
pub fn window(shape: &WindowShape, bytes: &[u8]) -> Result<Window, StoreError> {
    if bytes.is_empty() {
        return Ok(Window::default());
    }
    let head = bytes.get(..8).ok_or_else(|| corrupt("window"))?;
    let head = i64::from_be_bytes(head.try_into().map_err(|_| corrupt("window"))?);
    let slots = bytes.get(16..).unwrap_or_default();
    let ring = slots
        .chunks(4)
        .map(|c| {
            let mut word = [0u8; 4];
            word[..c.len()].copy_from_slice(c);
            u32::from_be_bytes(word)
        })
        .collect();
    Ok(Window::from_parts(shape, head, ring))
}

/// Numbers per budget in a reply of `glance.lua`, after the clock.
const GLANCE_LEN: usize = BUDGET_FIELDS.len() + 1 + 4;

/// Reads a reply of `glance.lua` for `count` budgets: each one's glance at
/// the clock of the reply, `None` where there is no budget (nor
/// `fallback`, the default one).
pub fn glances(
    reply: &[Value],
    count: usize,
    fallback: Option<&Budget>,
    shape: &WindowShape,
) -> Result<Vec<Option<Glance>>, StoreError> {
    let [now, rest @ ..] = reply else {
        return Err(corrupt("glance reply"));
    };
    if rest.len() != count * GLANCE_LEN {
        return Err(corrupt("glance reply"));
    }
    let now_ms: i64 = redis::from_redis_value_ref(now).map_err(|_| corrupt("clock"))?;
    rest.chunks(GLANCE_LEN)
        .map(|part| {
            let (fields, rest) = part.split_at(BUDGET_FIELDS.len());
            let [used, org @ ..] = rest else {
                return Err(corrupt("glance reply"));
            };
            let values = fields
                .iter()
                .map(int_or_nil)
                .collect::<Result<Vec<_>, _>>()?;
            let Some(found) = FoundBudget::pick(budget(&values)?, fallback) else {
                return Ok(None);
            };
            let used: u64 = redis::from_redis_value_ref(used).map_err(|_| corrupt("window"))?;
            Ok(Some(domain::glance(
                &found.budget,
                found.is_default,
                org_view(org)?,
                used,
                shape,
                now_ms,
            )))
        })
        .collect()
}

/// Reads the org-wide view hash fields (`ru`, `rm`, `rt`, `rg`); `None`
/// when no report was kept.
pub fn org_view(values: &[Value]) -> Result<Option<OrgView>, StoreError> {
    let values = values
        .iter()
        .map(int_or_nil)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(match values.as_slice() {
        [Some(used), Some(max), Some(at), since] => Some(OrgView {
            reported_used: *used as u64,
            reported_max: *max as u64,
            observed_at_ms: *at,
            granted_since: since.unwrap_or(0).max(0) as u64,
        }),
        _ => None,
    })
}

/// The consumers hash (`lua/decide.lua` has its layout) as counts: the
/// open bucket's consumers one field each (`<bucket>\x1e<name>`, tokens),
/// closed buckets one field each (`<bucket>`, entries
/// `\x1e<name>\x1d<tokens>`), `(other)` with an empty name; the open
/// bucket's mark (`^`) and its list of names (`<bucket>\x1f`) are skipped.
pub fn consumers(values: &[Value]) -> Result<ConsumerCounts, StoreError> {
    let mut parts = Vec::new();
    for pair in values.chunks(2) {
        let [field, value] = pair else {
            return Err(corrupt("consumers hash"));
        };
        let field: String =
            redis::from_redis_value_ref(field).map_err(|_| corrupt("consumers field"))?;
        let value: String =
            redis::from_redis_value_ref(value).map_err(|_| corrupt("consumers bucket"))?;
        // A consumer's field first: its name may end with the separator
        // of its parts, which also ends a list of names.
        if let Some((bucket, name)) = field.split_once('\u{1e}') {
            let bucket: i64 = bucket.parse().map_err(|_| corrupt("consumers bucket"))?;
            let tokens: u64 = value.parse().map_err(|_| corrupt("consumer tokens"))?;
            parts.push((bucket, stored_consumer(name)?, tokens));
            continue;
        }
        if field == "^" || field.ends_with('\u{1f}') {
            continue;
        }
        let bucket: i64 = field.parse().map_err(|_| corrupt("consumers bucket"))?;
        for entry in value.split('\u{1e}').filter(|e| !e.is_empty()) {
            let (name, tokens) = entry
                .split_once('\u{1d}')
                .ok_or_else(|| corrupt("consumer entry"))?;
            let tokens: u64 = tokens.parse().map_err(|_| corrupt("consumer tokens"))?;
            parts.push((bucket, stored_consumer(name)?, tokens));
        }
    }
    Ok(ConsumerCounts::from_parts(parts))
}

/// A consumer as the hash names it: `None` for `(other)` (no name).
fn stored_consumer(name: &str) -> Result<Option<Consumer>, StoreError> {
    if name.is_empty() {
        return Ok(None);
    }
    Consumer::from_stored(name)
        .map(Some)
        .ok_or_else(|| corrupt("consumer name"))
}

/// The first number of a decision's reply (decide.lua) for a grant; a
/// grant in shadow mode that the allocation or the priority share would
/// have denied is 11 or 12, and a denial is its reason (1 allocation, 2
/// priority share, 3 org limit, 5 unknown org).
const GRANTED: i64 = 0;

/// Reads the decision at the front of `reply` (decide.lua) and how many
/// numbers it took: a grant is six (status, used, allocation, remaining,
/// the grant's bucket start, tokens), a denial five (status, used,
/// allocation, remaining, retry after ms or -1). A reply carries only what
/// its outcome needs, because every number costs the client its parsing.
pub fn decision_at(reply: &[i64]) -> Result<(Decision, usize), StoreError> {
    let status = *reply.first().ok_or_else(|| corrupt("acquire reply"))?;
    let shadow_denied = match status {
        11 => Some(DenyReason::AllocationExhausted),
        12 => Some(DenyReason::PriorityShareExhausted),
        _ => None,
    };
    if status == GRANTED || shadow_denied.is_some() {
        let &[_, used, allocation, remaining, bucket_start_ms, count, ..] = reply else {
            return Err(corrupt("acquire reply"));
        };
        let grant = Grant {
            bucket_start_ms,
            count: u64::try_from(count).map_err(|_| corrupt("granted count"))?,
            nonce: 0,
        };
        let decision = Decision {
            outcome: Outcome::Granted(grant),
            used: used as u64,
            allocation: allocation as u64,
            remaining: remaining as u64,
            shadow_denied,
        };
        return Ok((decision, 6));
    }
    let reason = match status {
        1 => DenyReason::AllocationExhausted,
        2 => DenyReason::PriorityShareExhausted,
        3 => DenyReason::OrgLimitExhausted,
        5 => DenyReason::UnknownOrg,
        _ => return Err(corrupt("deny reason")),
    };
    let &[_, used, allocation, remaining, retry_after, ..] = reply else {
        return Err(corrupt("acquire reply"));
    };
    let decision = Decision {
        outcome: Outcome::Denied {
            reason,
            retry_after_ms: u64::try_from(retry_after).ok(),
        },
        used: used as u64,
        allocation: allocation as u64,
        remaining: remaining as u64,
        shadow_denied: None,
    };
    Ok((decision, 5))
}

/// Reads a reply that is one decision and nothing else (acquire.lua).
pub fn decision(reply: &[i64]) -> Result<Decision, StoreError> {
    match decision_at(reply)? {
        (decision, len) if len == reply.len() => Ok(decision),
        _ => Err(corrupt("acquire reply")),
    }
}

/// Reads `count` decisions one after the other (acquire_many.lua). The
/// replies have no fixed length, so one that cannot be read leaves the
/// rest unreadable: the whole batch is corrupt.
pub fn decisions(mut reply: &[i64], count: usize) -> Result<Vec<Decision>, StoreError> {
    let mut decisions = Vec::with_capacity(count);
    while decisions.len() < count {
        let (decision, len) = decision_at(reply)?;
        decisions.push(decision);
        reply = &reply[len..];
    }
    if reply.is_empty() {
        Ok(decisions)
    } else {
        Err(corrupt("batch reply"))
    }
}

/// What release.lua answered.
pub fn released(reply: &[i64]) -> Result<Released, StoreError> {
    let &[released, used, outcome] = reply else {
        return Err(corrupt("release reply"));
    };
    let outcome = match outcome {
        1 => ReleaseOutcome::Released,
        2 => ReleaseOutcome::AlreadyReleased,
        3 => ReleaseOutcome::Expired,
        _ => return Err(corrupt("release outcome")),
    };
    Ok(Released {
        released: released as u64,
        used: used as u64,
        outcome,
    })
}

/// Bytes as lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads the grant key as grant_key.lua keeps it (hex).
pub fn grant_key(text: &str) -> Result<[u8; KEY_LEN], StoreError> {
    let mut key = [0u8; KEY_LEN];
    if text.len() != 2 * KEY_LEN {
        return Err(corrupt("grant key"));
    }
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = text
            .get(2 * i..2 * i + 2)
            .and_then(|pair| u8::from_str_radix(pair, 16).ok())
            .ok_or_else(|| corrupt("grant key"))?;
    }
    Ok(key)
}

/// What report.lua answered.
pub fn report(reply: &[i64], margin_percent: u8) -> Result<Option<OrgReport>, StoreError> {
    match *reply {
        [-1] => Ok(None),
        [accepted, estimate, org_limit] => {
            let org_limit = org_limit as u64;
            let view = OrgView {
                reported_max: org_limit,
                ..OrgView::default()
            };
            Ok(Some(OrgReport {
                accepted: accepted == 1,
                estimate: estimate as u64,
                org_limit,
                ceiling: view.ceiling(org_limit, margin_percent),
            }))
        }
        _ => Err(corrupt("report reply")),
    }
}

/// Reads a stream id (`MS-SEQ`).
pub fn cursor(value: &Value) -> Result<Cursor, StoreError> {
    let text: String = redis::from_redis_value_ref(value).map_err(|_| corrupt("event id"))?;
    Cursor::parse("cursor", &text).map_err(|_| corrupt("event id"))
}

/// Reads one event as the stream holds it: `[id, [field, value, ...]]`
/// (fields in suspend.lua).
pub fn event(entry: &Value) -> Result<Event, StoreError> {
    let Value::Array(parts) = entry else {
        return Err(corrupt("event"));
    };
    let [id, Value::Array(fields)] = parts.as_slice() else {
        return Err(corrupt("event"));
    };
    let mut map = HashMap::new();
    for pair in fields.chunks(2) {
        if let [k, v] = pair {
            let k: String = redis::from_redis_value_ref(k).map_err(|_| corrupt("event"))?;
            let v: String = redis::from_redis_value_ref(v).map_err(|_| corrupt("event"))?;
            map.insert(k, v);
        }
    }
    let get = |k: &str| map.get(k).cloned().unwrap_or_default();
    let number = |k: &str| get(k).parse::<i64>().map_err(|_| corrupt("event"));
    Ok(Event {
        cursor: cursor(id)?,
        org: OrgId::parse(&get("o")).map_err(|_| corrupt("event org"))?,
        reason: SuspensionReason::from_number(number("r")? as i32)
            .ok_or_else(|| corrupt("event reason"))?,
        kind: if number("k")? == 1 {
            EventKind::Suspended
        } else {
            EventKind::Cleared
        },
        detail: get("d"),
        at_ms: number("at")?,
        automatic: get("a") == "1",
    })
}

/// Reads one usage alert as the stream holds it (`lua/move_alert_level.lua`).
pub fn alert(entry: &Value) -> Result<Alert, StoreError> {
    let Value::Array(parts) = entry else {
        return Err(corrupt("alert"));
    };
    let [id, Value::Array(fields)] = parts.as_slice() else {
        return Err(corrupt("alert"));
    };
    let mut map = HashMap::new();
    for pair in fields.chunks(2) {
        if let [k, v] = pair {
            let k: String = redis::from_redis_value_ref(k).map_err(|_| corrupt("alert"))?;
            let v: String = redis::from_redis_value_ref(v).map_err(|_| corrupt("alert"))?;
            map.insert(k, v);
        }
    }
    let get = |k: &str| map.get(k).map(String::as_str).unwrap_or_default();
    let bad = || corrupt("alert");
    Ok(Alert {
        cursor: cursor(id)?,
        crossing: Crossing {
            key: AlertKey {
                org: OrgId::parse(get("o")).map_err(|_| bad())?,
                resource: crate::domain::Resource::from_name(get("r")).ok_or_else(bad)?,
                of: Of::from_name(get("f")).ok_or_else(bad)?,
            },
            threshold: get("t").parse().map_err(|_| bad())?,
            used: get("u").parse().map_err(|_| bad())?,
            limit: get("l").parse().map_err(|_| bad())?,
        },
        at_ms: get("at").parse().map_err(|_| bad())?,
    })
}

/// Reads usage alert stream entries (`XRANGE`); nil reads as none.
pub fn alerts(entries: &Value) -> Result<Vec<Alert>, StoreError> {
    let Value::Array(entries) = entries else {
        return Ok(Vec::new());
    };
    entries.iter().map(alert).collect()
}

/// Reads what `lua/move_alert_level.lua` answered for `crossing`.
pub fn level_move(reply: &[Value], crossing: Option<&Crossing>) -> Result<LevelMove, StoreError> {
    let int = |v: &Value| redis::from_redis_value_ref::<i64>(v).map_err(|_| corrupt("level move"));
    match (reply, crossing) {
        ([moved], _) if int(moved)? == 0 => Ok(LevelMove::Stale),
        ([_], None) => Ok(LevelMove::Moved(None)),
        ([_, id, at], Some(crossing)) => Ok(LevelMove::Moved(Some(Alert {
            cursor: cursor(id)?,
            crossing: crossing.clone(),
            at_ms: int(at)?,
        }))),
        _ => Err(corrupt("level move")),
    }
}

/// Reads stream entries (`XRANGE`, `XREAD`): a list of events; nil reads
/// as none.
pub fn events(entries: &Value) -> Result<Vec<Event>, StoreError> {
    let Value::Array(entries) = entries else {
        return Ok(Vec::new());
    };
    entries.iter().map(event).collect()
}

/// A suspension's state as kept in the active hash.
#[derive(serde::Deserialize)]
struct KeptSuspension {
    d: String,
    s: i64,
    #[serde(default)]
    p: i64,
}

/// Reads one entry of the active hash: its field (`<org>\x1f<reason>`) and
/// its state (JSON, fields in suspend.lua).
pub fn suspension(field: &Value, state: &Value) -> Result<Suspension, StoreError> {
    let text =
        |v: &Value| redis::from_redis_value_ref::<String>(v).map_err(|_| corrupt("suspension"));
    let (field, state) = (text(field)?, text(state)?);
    let (org, reason) = field
        .split_once('\u{1f}')
        .ok_or_else(|| corrupt("suspension"))?;
    let kept: KeptSuspension = serde_json::from_str(&state).map_err(|_| corrupt("suspension"))?;
    Ok(Suspension {
        org: OrgId::parse(org).map_err(|_| corrupt("suspension org"))?,
        reason: reason
            .parse::<i32>()
            .ok()
            .and_then(SuspensionReason::from_number)
            .ok_or_else(|| corrupt("suspension reason"))?,
        detail: kept.d,
        since_ms: kept.s,
        probe_at_ms: (kept.p > 0).then_some(kept.p),
    })
}

/// The field of `org`'s suspension for `reason` in the active hash.
pub fn suspension_field(org: &OrgId, reason: SuspensionReason) -> String {
    format!("{org}\u{1f}{}", reason.number())
}

/// What suspend.lua answered.
pub enum Suspended {
    /// The org already was suspended for the reason.
    Already(Suspension),
    /// It is now, and this is the event.
    Now(Suspension, Event),
}

/// Reads suspend.lua's reply for `org`'s suspension for `reason`.
pub fn suspended(
    reply: &[Value],
    org: &OrgId,
    reason: SuspensionReason,
) -> Result<Suspended, StoreError> {
    let field = Value::SimpleString(suspension_field(org, reason));
    match reply {
        [Value::Int(0), state] => Ok(Suspended::Already(suspension(&field, state)?)),
        [Value::Int(1), state, entry] => {
            Ok(Suspended::Now(suspension(&field, state)?, event(entry)?))
        }
        _ => Err(corrupt("suspend reply")),
    }
}

/// Reads clear.lua's reply: the event, when a suspension ended.
pub fn cleared(reply: &[Value]) -> Result<Option<Event>, StoreError> {
    match reply {
        [Value::Int(0)] => Ok(None),
        [Value::Int(1), entry] => Ok(Some(event(entry)?)),
        _ => Err(corrupt("clear reply")),
    }
}

/// Reads claim_probe.lua's reply.
pub fn probe_claim(reply: &[i64]) -> Result<ProbeClaim, StoreError> {
    match *reply {
        [0] => Ok(ProbeClaim::NotSuspended),
        [1] => Ok(ProbeClaim::Granted),
        [2, at] => Ok(ProbeClaim::NotBefore(at)),
        _ => Err(corrupt("probe claim reply")),
    }
}

/// Reads probe_result.lua's reply.
pub fn probe_outcome(reply: &[Value]) -> Result<crate::store::ProbeOutcome, StoreError> {
    use crate::store::ProbeOutcome;
    match reply {
        [Value::Int(0)] => Ok(ProbeOutcome::NotSuspended),
        [Value::Int(1), entry] => Ok(ProbeOutcome::Cleared(event(entry)?)),
        [Value::Int(2), Value::Int(at)] => Ok(ProbeOutcome::BackedOff(*at)),
        [Value::Int(3)] => Ok(ProbeOutcome::NotTheProbe),
        _ => Err(corrupt("probe result reply")),
    }
}

/// Reads snapshot.lua's reply: every active suspension, oldest first, and
/// the feed's cursor they stand at.
pub fn snapshot(reply: &[Value]) -> Result<(Vec<Suspension>, Cursor), StoreError> {
    let Some((last, pairs)) = reply.split_first() else {
        return Err(corrupt("snapshot reply"));
    };
    let mut active = pairs
        .chunks(2)
        .filter_map(|pair| match pair {
            [field, state] => Some(suspension(field, state)),
            _ => None,
        })
        .collect::<Result<Vec<_>, _>>()?;
    active.sort_by_key(|s| s.since_ms);
    Ok((active, cursor(last)?))
}

/// Reads an `XREAD` reply: `[[stream, [entries...]]]` (RESP2) or a map
/// (RESP3), nil when nothing came in time.
pub fn read_events(reply: &Value) -> Result<Vec<Event>, StoreError> {
    match reply {
        Value::Array(streams) => match streams.first() {
            Some(Value::Array(stream)) => match stream.as_slice() {
                [_, entries] => events(entries),
                _ => Err(corrupt("xread reply")),
            },
            _ => Ok(Vec::new()),
        },
        Value::Map(streams) => match streams.first() {
            Some((_, entries)) => events(entries),
            None => Ok(Vec::new()),
        },
        _ => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn window_bytes_decode_big_endian_and_pad() {
        let shape = WindowShape::new(Duration::from_secs(4), Duration::from_secs(1)).unwrap();
        let mut bytes = 12i64.to_be_bytes().to_vec();
        bytes.extend(3i64.to_be_bytes());
        bytes.extend([0, 0, 0, 1, 0, 0, 0, 2]);
        let window = window(&shape, &bytes).unwrap();
        assert_eq!(window.used(), 3);
        assert_eq!(window.head(), 12);
    }

    #[test]
    fn decisions_read_as_long_as_their_outcome_needs() {
        let granted = decision(&[0, 7, 100, 93, 60_000, 2]).unwrap();
        assert_eq!(
            granted.outcome,
            Outcome::Granted(Grant {
                bucket_start_ms: 60_000,
                count: 2,
                nonce: 0
            })
        );
        assert_eq!(
            (granted.used, granted.allocation, granted.remaining),
            (7, 100, 93)
        );
        assert_eq!(granted.shadow_denied, None);
        let shadow = decision(&[12, 7, 100, 0, 60_000, 1]).unwrap();
        assert!(shadow.granted());
        assert_eq!(
            shadow.shadow_denied,
            Some(DenyReason::PriorityShareExhausted)
        );
        let denied = decision(&[1, 100, 100, 0, 1_500]).unwrap();
        assert_eq!(
            denied.outcome,
            Outcome::Denied {
                reason: DenyReason::AllocationExhausted,
                retry_after_ms: Some(1_500)
            }
        );
        let never = decision(&[3, 10, 100, 90, -1]).unwrap();
        assert!(matches!(
            never.outcome,
            Outcome::Denied {
                reason: DenyReason::OrgLimitExhausted,
                retry_after_ms: None
            }
        ));
        // A batch: a grant, a denial, an unknown org.
        let batch = [0, 1, 10, 9, 0, 1, 1, 10, 10, 0, 60_000, 5, 0, 0, 0, -1];
        let read = decisions(&batch, 3).unwrap();
        assert!(read[0].granted() && !read[1].granted());
        assert!(matches!(
            read[2].outcome,
            Outcome::Denied {
                reason: DenyReason::UnknownOrg,
                ..
            }
        ));
        // Too short, too long, an unknown status, a negative grant.
        assert!(decision(&[0, 7, 100, 93, 60_000]).is_err());
        assert!(decision(&[1, 100, 100, 0, 1_500, 0]).is_err());
        assert!(decision(&[4, 100, 100, 0, 1_500]).is_err());
        assert!(decision(&[i64::MIN, 100, 100, 0, 1_500]).is_err());
        assert!(decision(&[0, 7, 100, 93, 60_000, -2]).is_err());
        assert!(decision(&[]).is_err());
        assert!(decisions(&batch, 2).is_err());
        assert!(decisions(&batch, 4).is_err());
    }

    #[test]
    fn budget_fields_round_trip() {
        let mut b = Budget::new(100, 50);
        b.allocation_override = Some(AllocationOverride {
            allocation: 80,
            expires_at_ms: 9,
        });
        b.shadow = true;
        b.alert_thresholds = Some(AlertThresholds::new(&[50, 75, 100]).unwrap());
        let values: Vec<Option<i64>> = {
            let fields = budget_fields(&b);
            BUDGET_FIELDS
                .iter()
                .map(|name| fields.iter().find(|f| f.0 == *name).map(|f| f.1))
                .collect()
        };
        assert_eq!(budget(&values).unwrap(), Some(b));
        assert_eq!(budget(&[None; 9]).unwrap(), None);
    }

    #[test]
    fn the_consumers_hash_reads_its_open_and_closed_buckets() {
        let text = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let who = |client: &str| Consumer::parse(client, "", "").unwrap();
        let stored = |client: &str| who(client).stored();
        let values: Vec<Value> = [
            ("^".to_owned(), "100".to_owned()),
            // The open bucket 100: a consumer, (other), its list of names.
            (format!("100\u{1e}{}", stored("a")), "5".to_owned()),
            ("100\u{1e}".to_owned(), "2".to_owned()),
            ("100\u{1f}".to_owned(), format!("\u{1e}{}", stored("a"))),
            // A closed bucket 99, and one with the same consumer twice (an
            // open bucket closed on top of what an earlier layout wrote).
            (
                "99".to_owned(),
                format!("\u{1e}{}\u{1d}3\u{1e}\u{1d}1", stored("b")),
            ),
            (
                "98".to_owned(),
                format!("\u{1e}{0}\u{1d}4\u{1e}{0}\u{1d}6", stored("a")),
            ),
        ]
        .iter()
        .flat_map(|(f, v)| [text(f), text(v)])
        .collect();
        let expected = ConsumerCounts::from_parts([
            (100, Some(who("a")), 5),
            (100, None, 2),
            (99, Some(who("b")), 3),
            (99, None, 1),
            (98, Some(who("a")), 10),
        ]);
        assert_eq!(consumers(&values).unwrap(), expected);
        for bad in [
            ("100\u{1e}\u{1f}", "1"),
            ("x\u{1e}", "1"),
            ("100\u{1e}", "many"),
        ] {
            let values = [text(bad.0), text(bad.1)];
            assert!(consumers(&values).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn grant_keys_round_trip_through_hex() {
        let key: [u8; KEY_LEN] = std::array::from_fn(|i| (i * 7) as u8);
        assert_eq!(grant_key(&hex(&key)).unwrap(), key);
        assert!(grant_key("00").is_err());
        assert!(grant_key(&"zz".repeat(KEY_LEN)).is_err());
    }

    #[test]
    fn an_event_reads_from_its_stream_entry() {
        let text = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let entry = Value::Array(vec![
            text("17-2"),
            Value::Array(
                [
                    ("o", "acme"),
                    ("r", "3"),
                    ("k", "1"),
                    ("d", "locked"),
                    ("at", "17"),
                    ("a", "0"),
                ]
                .iter()
                .flat_map(|(k, v)| [text(k), text(v)])
                .collect(),
            ),
        ]);
        let e = event(&entry).unwrap();
        assert_eq!(e.cursor, Cursor { ms: 17, seq: 2 });
        assert_eq!(
            (e.org.as_str(), e.reason.number(), e.kind, e.detail.as_str()),
            ("acme", 3, EventKind::Suspended, "locked")
        );
        assert!(event(&text("17-2")).is_err());
    }
}
