//! Readers of what Redis answers the store: an error's hash, the counters,
//! suspension events, notification settings, and the replies of the scripts,
//! the ones with several outcomes as typed enums. Each shape is read here
//! and nowhere else.
//!
//! Invariant: what does not fit its shape is [`StoreError::Corrupt`], never
//! a guess, except in two lists of suspension events, so that one bad entry
//! cannot block the rest: the latest events (for readers only) skip an
//! entry that cannot be read, and an outbox entry that cannot be read comes
//! with why, for the relay to move it to the dead letters. Times that
//! earlier versions wrote in exponent form read as the nearest instant a
//! timestamp holds.

use std::collections::HashMap;

use serde::Deserialize;
use syncgov_kit::store::corrupt;

use crate::classify::Classification;
use crate::domain::{
    Direction, ErrorExplanation, ErrorId, ErrorState, HealthCounts, StoredError, SuspensionEvent,
    TypeCounts,
};
use crate::notify;
use crate::resync::JobId;
use crate::store::{Queued, StoreError};
use crate::taxonomy::{Basis, Category, ErrorType, SuspensionReason};

/// Separates field names inside one hash field (they are printable).
pub const FIELD_SEPARATOR: char = '\u{1f}';

/// An error from its hash (layout in `../lua/errors.lua`).
pub fn stored_error(
    id: ErrorId,
    fields: &HashMap<String, String>,
) -> Result<StoredError, StoreError> {
    let text = |name: &str| fields.get(name).cloned().unwrap_or_default();
    let number = |name: &str| -> Result<i64, StoreError> {
        fields
            .get(name)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| corrupt("error"))
    };
    let time = |name: &str| {
        fields
            .get(name)
            .and_then(|v| millis(v))
            .ok_or_else(|| corrupt("error"))
    };
    let error_type =
        ErrorType::from_number(number("t")? as i32).ok_or_else(|| corrupt("error type"))?;
    let state =
        ErrorState::from_number(number("s")? as i32).ok_or_else(|| corrupt("error state"))?;
    let joined = text("f");
    Ok(StoredError {
        id,
        seq: number("seq")? as u64,
        object_type: text("o"),
        crm_record_id: text("rid"),
        salesforce_id: text("sid"),
        direction: Direction::from_number(number("d")? as i32),
        error_type,
        status_code: text("st"),
        message: text("m"),
        fields: if joined.is_empty() {
            Vec::new()
        } else {
            joined.split(FIELD_SEPARATOR).map(str::to_owned).collect()
        },
        occurrences: number("n")? as u64,
        first_seen_ms: time("fs")?,
        last_seen_ms: time("ls")?,
        state,
        resync_attempts: number("a")? as u32,
        explanation: explanation(fields),
    })
}

/// What decided an error's type, from its `xb`, `xc` and `xm` fields;
/// `None` for an error an earlier version stored without them.
fn explanation(fields: &HashMap<String, String>) -> Option<ErrorExplanation> {
    let basis = fields
        .get("xb")
        .and_then(|b| b.parse().ok())
        .and_then(Basis::from_number)?;
    Some(ErrorExplanation {
        basis,
        confidence_milli: fields
            .get("xc")
            .and_then(|c| c.parse::<u16>().ok())
            .unwrap_or(0)
            .min(1_000),
        matched: fields.get("xm").cloned().unwrap_or_default(),
    })
}

/// Earliest and latest instants a protobuf `Timestamp` can hold, in ms.
const TIMESTAMP_RANGE_MS: std::ops::RangeInclusive<i64> = -62_135_596_800_000..=253_402_300_799_999;

/// A time in ms as stored: a string of digits, as every time is written
/// now. Times an earlier version let its scripts write in exponent form
/// (`9.2233720368547758e+18`) read as the nearest instant a timestamp can
/// hold, so that the error they belong to stays readable.
fn millis(text: &str) -> Option<i64> {
    if let Ok(ms) = text.parse::<i64>() {
        return Some(ms.clamp(*TIMESTAMP_RANGE_MS.start(), *TIMESTAMP_RANGE_MS.end()));
    }
    let ms = text.parse::<f64>().ok().filter(|ms| ms.is_finite())?;
    Some((ms as i64).clamp(*TIMESTAMP_RANGE_MS.start(), *TIMESTAMP_RANGE_MS.end()))
}

/// A hash given as a flat list of fields and values (as `HGETALL` inside a
/// script returns it).
fn hash_pairs(values: &[redis::Value]) -> Result<HashMap<String, String>, StoreError> {
    let mut fields = HashMap::new();
    for pair in values.chunks(2) {
        if let [k, v] = pair {
            let k: String = redis::from_redis_value_ref(k).map_err(|_| corrupt("error"))?;
            let v: String = redis::from_redis_value_ref(v).map_err(|_| corrupt("error"))?;
            fields.insert(k, v);
        }
    }
    Ok(fields)
}

/// A suspension event as the ingest script keeps it, in the org's latest
/// events and in its outbox.
#[derive(Deserialize)]
struct ScriptSuspension {
    r: i32,
    st: String,
    m: String,
    /// When, ms: a string of digits; a number in what earlier versions
    /// wrote.
    at: serde_json::Value,
    #[serde(default)]
    tp: String,
}

/// One suspension event kept as JSON by the ingest script, or why it cannot
/// be read (not its shape, or a reason this version does not know).
pub fn suspension_event(json: &str) -> Result<SuspensionEvent, String> {
    let s: ScriptSuspension =
        serde_json::from_str(json).map_err(|e| format!("not a suspension event: {e}"))?;
    let reason = SuspensionReason::from_number(s.r)
        .ok_or_else(|| format!("unknown suspension reason {}", s.r))?;
    let occurred_at_ms = match &s.at {
        serde_json::Value::String(text) => millis(text),
        serde_json::Value::Number(n) => n.as_i64().or_else(|| millis(&n.to_string())),
        _ => None,
    }
    .ok_or_else(|| format!("unreadable time {}", s.at))?;
    Ok(SuspensionEvent {
        reason,
        status_code: s.st,
        message: s.m,
        occurred_at_ms,
        trace_parent: s.tp,
    })
}

/// The suspension events among `entries` (JSON), in their order, for
/// readers (the health cards); entries that cannot be read are skipped.
pub fn suspension_events(entries: &[String]) -> Vec<SuspensionEvent> {
    entries
        .iter()
        .filter_map(|json| suspension_event(json).ok())
        .collect()
}

/// The org's health from its counters hash and its latest suspension
/// events. A counter that is missing (or below zero) counts as zero.
pub fn health_counts(counts: &HashMap<String, i64>, suspensions: &[String]) -> HealthCounts {
    let count = |name: String| counts.get(&name).copied().unwrap_or(0).max(0) as u64;
    let types = ErrorType::ALL
        .iter()
        .map(|&t| {
            let n = t.number();
            (
                t,
                TypeCounts {
                    errors: count(format!("e:t:{n}")),
                    dead: count(format!("d:t:{n}")),
                },
            )
        })
        .filter(|(_, c)| c.errors > 0)
        .collect();
    let category_records = Category::ALL
        .iter()
        .map(|&c| (c, count(format!("r:c:{}", c.number()))))
        .filter(|(_, n)| *n > 0)
        .collect();
    HealthCounts {
        errors: count("e".into()),
        records: count("r".into()),
        types,
        category_records,
        suspensions: suspension_events(suspensions),
    }
}

/// Notification settings from `HMGET en fq url sec`; `None` when never set.
pub fn notification_settings(
    values: &[Option<String>],
) -> Result<Option<notify::Settings>, StoreError> {
    let [en, fq, url, sec, x] = values else {
        return Err(corrupt("notification settings"));
    };
    let Some(en) = en else { return Ok(None) };
    let frequency = fq
        .as_deref()
        .and_then(|f| f.parse().ok())
        .and_then(notify::Frequency::from_number)
        .ok_or_else(|| corrupt("notification frequency"))?;
    // Settings stored before channels had choices have no `x`: the
    // webhook got every kind, which is what the defaults say.
    let channels: Channels = match x.as_deref() {
        None | Some("") => Channels::default(),
        Some(json) => serde_json::from_str(json).map_err(|_| corrupt("notification channels"))?,
    };
    Ok(Some(notify::Settings {
        enabled: en == "1",
        frequency,
        webhook_url: url.clone().unwrap_or_default(),
        webhook_secret: sec.clone().filter(|s| !s.is_empty()),
        webhook: channels.webhook,
        email: channels.email,
        email_recipients: channels.recipients,
        webhook_format: notify::WebhookFormat::from_number(channels.format)
            .ok_or_else(|| corrupt("webhook format"))?,
        webhook_frequency: notify::Frequency::of_channel(channels.webhook_frequency)
            .ok_or_else(|| corrupt("webhook frequency"))?,
        email_frequency: notify::Frequency::of_channel(channels.email_frequency)
            .ok_or_else(|| corrupt("e-mail frequency"))?,
    }))
}

/// The channels' part of an org's settings, stored as JSON in field `x` of
/// its `notify` hash.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Channels {
    #[serde(rename = "w", default)]
    webhook: notify::Choices,
    #[serde(rename = "e", default)]
    email: notify::Choices,
    #[serde(rename = "r", default)]
    recipients: Vec<String>,
    #[serde(rename = "f", default)]
    format: i32,
    /// The webhook's frequency; 0 follows the settings' own.
    #[serde(rename = "wf", default)]
    webhook_frequency: i32,
    /// E-mail's frequency; 0 follows the settings' own.
    #[serde(rename = "ef", default)]
    email_frequency: i32,
}

/// Field `x` of the org's `notify` hash for `settings`.
pub fn channel_settings(settings: &notify::Settings) -> String {
    serde_json::to_string(&Channels {
        webhook: settings.webhook,
        email: settings.email,
        recipients: settings.email_recipients.clone(),
        format: settings.webhook_format.number(),
        webhook_frequency: settings
            .webhook_frequency
            .map_or(0, notify::Frequency::number),
        email_frequency: settings
            .email_frequency
            .map_or(0, notify::Frequency::number),
    })
    .unwrap_or_default()
}

/// The fields of a channel's delivery status in the org's `notify` hash,
/// in the order [`delivery_status`] reads them: failures in a row, the last
/// failure, when, the last success. The webhook's are `d…` (as before
/// e-mail had a status), e-mail's `m…`.
pub fn delivery_fields(channel: notify::Channel) -> [&'static str; 4] {
    match channel {
        notify::Channel::Webhook => ["df", "dl", "dt", "ds"],
        notify::Channel::Email => ["mf", "ml", "mt", "ms"],
    }
}

/// The delivery status from `HMGET` of [`delivery_fields`]; all unset is a status
/// with nothing to tell.
pub fn delivery_status(values: &[Option<String>]) -> Result<notify::DeliveryStatus, StoreError> {
    let [df, dl, dt, ds] = values else {
        return Err(corrupt("delivery status"));
    };
    let number = |v: &Option<String>| -> Result<Option<i64>, StoreError> {
        v.as_deref()
            .map(|v| v.parse().map_err(|_| corrupt("delivery status")))
            .transpose()
    };
    Ok(notify::DeliveryStatus {
        consecutive_failures: number(df)?.unwrap_or(0).clamp(0, i64::from(u32::MAX)) as u32,
        last_failure: dl.clone().unwrap_or_default(),
        last_failure_ms: number(dt)?,
        last_success_ms: number(ds)?,
    })
}

/// What an error's stored state (`None`: no such error) says before a
/// resync: why it cannot be queued, or `None` when it may be (open or dead).
pub fn not_queueable(state: Option<i64>) -> Option<Queued> {
    match state {
        None => Some(Queued::NotFound),
        Some(4) => Some(Queued::Resolved),
        Some(2) => Some(Queued::AlreadyQueued),
        Some(_) => None,
    }
}

/// What `resync.lua` did to the error of `job`: its code 4 not queued (the
/// org's queue is full), 3 queued, 2 already queued, 1 resolved, 0 (or
/// anything else) not found.
pub fn resync_code(code: i64, job: JobId) -> Queued {
    match code {
        4 => Queued::QueueFull,
        3 => Queued::Queued(job),
        2 => Queued::AlreadyQueued,
        1 => Queued::Resolved,
        _ => Queued::NotFound,
    }
}

/// What ingest answers for a failure, as kept with its idempotency key:
/// `t<type>:<error id>` for a record-level one, `r<reason>` for a
/// suspension.
pub fn idempotency_answer(classification: Classification, error_id: Option<&ErrorId>) -> String {
    match (classification, error_id) {
        (Classification::Record(t), Some(id)) => format!("t{}:{id}", t.number()),
        (Classification::Record(t), None) => format!("t{}:", t.number()),
        (Classification::Suspension(r), _) => format!("r{}", r.number()),
    }
}

/// Reads an answer [`idempotency_answer`] made; `None` for anything else
/// (an earlier version kept `1`).
pub fn read_idempotency_answer(text: &str) -> Option<(Classification, Option<ErrorId>)> {
    if let Some(reason) = text.strip_prefix('r') {
        let reason = SuspensionReason::from_number(reason.parse().ok()?)?;
        return Some((Classification::Suspension(reason), None));
    }
    let (t, id) = text.strip_prefix('t')?.split_once(':')?;
    let t = ErrorType::from_number(t.parse().ok()?)?;
    let id = ErrorId::parse("error_id", id).ok()?;
    Some((Classification::Record(t), Some(id)))
}

/// Whether a failure's idempotency key was seen before, as ingest says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// Never: the failure was recorded now.
    New,
    /// Before: nothing was counted; what was answered then, when it was
    /// kept (`None` for keys an earlier version kept without it).
    Before(Option<(Classification, Option<ErrorId>)>),
}

/// The ingest script's reply: per failure, 0 when recorded, else the
/// answer kept with its idempotency key; exactly one per failure sent.
pub fn duplicates(reply: &[redis::Value], sent: usize) -> Result<Vec<Seen>, StoreError> {
    if reply.len() != sent {
        return Err(corrupt("ingest reply"));
    }
    reply
        .iter()
        .map(|value| match value {
            redis::Value::Int(0) => Ok(Seen::New),
            redis::Value::Int(_) => Ok(Seen::Before(None)),
            other => {
                let text: String =
                    redis::from_redis_value_ref(other).map_err(|_| corrupt("ingest reply"))?;
                Ok(Seen::Before(read_idempotency_answer(&text)))
            }
        })
        .collect()
}

/// The claim script's reply, `{now, job, job, ...}`: the job pointers taken.
pub fn claimed(reply: &[redis::Value]) -> Result<Vec<String>, StoreError> {
    reply
        .iter()
        .skip(1)
        .map(|member| redis::from_redis_value_ref(member).map_err(|_| corrupt("claim reply")))
        .collect()
}

/// What `lease.lua` answered for one claimed job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lease {
    /// `{1, attempt, until, field, value, ...}`: the job is this claim's
    /// until `until_ms`, for attempt number `attempt`.
    Granted {
        /// This attempt's number, from 1.
        attempt: u32,
        /// When the lease lapses, ms.
        until_ms: i64,
        /// The error, as it stands (boxed: the other outcomes are small).
        error: Box<StoredError>,
    },
    /// `{2, until}`: another lease still runs, until `until_ms`.
    Held {
        /// When that lease lapses, ms.
        until_ms: i64,
    },
    /// `{3, due}`: a retry that is not due until `due_ms`.
    NotDue {
        /// When the retry is due, ms.
        due_ms: i64,
    },
    /// `{0}` (or any code but 1 to 3): the error is not resyncing, the job
    /// is not wanted.
    Unwanted,
}

/// Reads `lease.lua`'s reply for the job of error `id`.
pub fn lease(reply: &[redis::Value], id: ErrorId) -> Result<Lease, StoreError> {
    let int = |i: usize| -> Result<i64, StoreError> {
        reply
            .get(i)
            .and_then(|v| redis::from_redis_value_ref(v).ok())
            .ok_or_else(|| corrupt("lease reply"))
    };
    Ok(match int(0)? {
        1 => {
            let fields = hash_pairs(reply.get(3..).unwrap_or_default())?;
            let error = stored_error(id, &fields)?;
            Lease::Granted {
                attempt: int(1)? as u32,
                until_ms: int(2)?,
                error: Box::new(error),
            }
        }
        2 => Lease::Held { until_ms: int(1)? },
        3 => Lease::NotDue { due_ms: int(1)? },
        _ => Lease::Unwanted,
    })
}

/// What `complete.lua` answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    /// `{-1}`: the lease is not the job's; nothing was recorded.
    LeaseLost,
    /// `{2, due}`: a failed attempt that was not the last; the job is due
    /// again at `retry_at_ms`.
    Retry {
        /// When the next attempt is due, ms.
        retry_at_ms: i64,
    },
    /// `{state, 0}`: the job is over, its error in `state` (resolved,
    /// dead, or whatever it became meanwhile).
    Ended(ErrorState),
}

/// Reads `complete.lua`'s reply.
pub fn completion(reply: &[i64]) -> Result<Completion, StoreError> {
    match *reply {
        [-1] => Ok(Completion::LeaseLost),
        [2, retry_at_ms] if retry_at_ms > 0 => Ok(Completion::Retry { retry_at_ms }),
        [state, _] => ErrorState::from_number(state as i32)
            .map(Completion::Ended)
            .ok_or_else(|| corrupt("error state")),
        _ => Err(corrupt("complete reply")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis::Value;

    fn error_hash() -> Vec<(&'static str, &'static str)> {
        vec![
            ("o", "Contact"),
            ("rid", "crm-1"),
            ("sid", ""),
            ("d", "1"),
            ("t", "1"),
            ("st", "STRING_TOO_LONG"),
            ("m", "too long"),
            ("f", "FirstName\u{1f}LastName"),
            ("n", "2"),
            ("fs", "10"),
            ("ls", "20"),
            ("s", "2"),
            ("seq", "7"),
            ("a", "1"),
        ]
    }

    #[test]
    fn an_error_reads_back_from_its_hash() {
        let id = ErrorId::of("Contact", "crm-1", ErrorType::ALL[0]);
        let fields: HashMap<String, String> = error_hash()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let e = stored_error(id.clone(), &fields).unwrap();
        assert_eq!(e.fields, ["FirstName", "LastName"]);
        assert_eq!((e.seq, e.occurrences, e.resync_attempts), (7, 2, 1));
        assert_eq!(e.state, ErrorState::Resyncing);
        let mut broken = fields.clone();
        broken.remove("seq");
        assert!(stored_error(id, &broken).is_err());
    }

    #[test]
    fn lease_replies_are_typed() {
        let id = ErrorId::of("Contact", "crm-1", ErrorType::ALL[0]);
        let mut granted = vec![Value::Int(1), Value::Int(3), Value::Int(99)];
        for (k, v) in error_hash() {
            granted.push(Value::BulkString(k.into()));
            granted.push(Value::BulkString(v.into()));
        }
        match lease(&granted, id.clone()).unwrap() {
            Lease::Granted {
                attempt, until_ms, ..
            } => assert_eq!((attempt, until_ms), (3, 99)),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            lease(&[Value::Int(2), Value::Int(50)], id.clone()).unwrap(),
            Lease::Held { until_ms: 50 }
        );
        assert_eq!(
            lease(&[Value::Int(3), Value::Int(60)], id.clone()).unwrap(),
            Lease::NotDue { due_ms: 60 }
        );
        assert_eq!(
            lease(&[Value::Int(0)], id.clone()).unwrap(),
            Lease::Unwanted
        );
        assert!(lease(&[], id.clone()).is_err());
        assert!(lease(&[Value::Int(2)], id).is_err());
    }

    #[test]
    fn complete_replies_are_typed() {
        assert_eq!(completion(&[-1]).unwrap(), Completion::LeaseLost);
        assert_eq!(
            completion(&[2, 5]).unwrap(),
            Completion::Retry { retry_at_ms: 5 }
        );
        assert_eq!(
            completion(&[4, 0]).unwrap(),
            Completion::Ended(ErrorState::Resolved)
        );
        assert_eq!(
            completion(&[3, 0]).unwrap(),
            Completion::Ended(ErrorState::Dead)
        );
        assert!(completion(&[9, 0]).is_err());
        assert!(completion(&[]).is_err());
    }

    #[test]
    fn idempotency_answers_read_back() {
        let id = ErrorId::of("Contact", "crm-1", ErrorType::ALL[3]);
        let record = Classification::Record(ErrorType::ALL[3]);
        let text = idempotency_answer(record, Some(&id));
        assert_eq!(read_idempotency_answer(&text), Some((record, Some(id))));
        let suspension = Classification::Suspension(SuspensionReason::ALL[0]);
        let text = idempotency_answer(suspension, None);
        assert_eq!(read_idempotency_answer(&text), Some((suspension, None)));
        for other in ["1", "", "t", "t1:", "t1:nope", "r", "r99999", "x1"] {
            assert_eq!(read_idempotency_answer(other), None, "{other:?}");
        }
        let reply = [
            redis::Value::Int(0),
            redis::Value::BulkString(b"1".to_vec()),
            redis::Value::BulkString(idempotency_answer(suspension, None).into_bytes()),
        ];
        assert_eq!(
            duplicates(&reply, 3).unwrap(),
            [
                Seen::New,
                Seen::Before(None),
                Seen::Before(Some((suspension, None)))
            ]
        );
        assert!(duplicates(&reply, 2).is_err());
    }

    #[test]
    fn times_in_exponent_form_read_as_the_nearest_timestamp() {
        assert_eq!(millis("1763900000123"), Some(1_763_900_000_123));
        assert_eq!(millis("-5"), Some(-5));
        assert_eq!(millis("9.2233720368547758e+18"), Some(253_402_300_799_999));
        assert_eq!(millis("2.53402300799e+14"), Some(253_402_300_799_000));
        assert_eq!(millis("9223372036854775807"), Some(253_402_300_799_999));
        assert_eq!(millis("nope"), None);
        assert_eq!(millis("inf"), None);
        let id = ErrorId::of("Contact", "crm-1", ErrorType::ALL[0]);
        let mut fields: HashMap<String, String> = error_hash()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        fields.insert("ls".into(), "9.2233720368547758e+18".into());
        let e = stored_error(id, &fields).unwrap();
        assert_eq!(e.last_seen_ms, 253_402_300_799_999);
    }

    #[test]
    fn suspension_events_read_times_as_strings_and_numbers() {
        let at = |json: &str| suspension_event(json).map(|e| e.occurred_at_ms);
        assert_eq!(
            at(r#"{"r":1,"st":"","m":"","at":"1763900000123"}"#),
            Ok(1_763_900_000_123)
        );
        assert_eq!(
            at(r#"{"r":1,"st":"","m":"","at":1763900000123}"#),
            Ok(1_763_900_000_123)
        );
        assert_eq!(
            at(r#"{"r":1,"st":"","m":"","at":2.53402300799e+14}"#),
            Ok(253_402_300_799_000)
        );
        assert!(at(r#"{"r":1,"st":"","m":"","at":true}"#).is_err());
        assert!(
            at(r#"{"r":9999,"st":"","m":"","at":"1"}"#)
                .unwrap_err()
                .contains("reason")
        );
        assert!(at("not json").is_err());
    }

    #[test]
    fn suspension_events_skip_what_they_cannot_read() {
        let entries = [
            r#"{"r":1,"st":"REQUEST_LIMIT_EXCEEDED","m":"limit","at":5,"tp":"00-x"}"#.to_owned(),
            "not json".to_owned(),
            r#"{"r":9999,"st":"","m":"","at":1}"#.to_owned(),
            r#"{"r":1,"st":"","m":"no trace","at":6}"#.to_owned(),
        ];
        let events = suspension_events(&entries);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].trace_parent, "00-x");
        assert_eq!(events[1].trace_parent, "");
    }
}
