//! The audit trail both services keep of the changes operators and admins
//! make through their APIs: who (the caller's identity as the auth layer
//! knows it), when (the store's clock), what (the method, the org, what it
//! touched) and the value before and after, as small JSON documents.
//!
//! One log per service: on Redis a stream (`XADD`, its ids are the store's
//! clock, so every replica writes on one clock), trimmed on every write to
//! the newest `--audit-max-events` and to `--audit-retention`; in memory a
//! ring with the same two bounds. Reading pages newest first, filtered by
//! org, actor, action and a time range, and shows a caller only the orgs of
//! its token.
//!
//! An event is written right after the change it records, not in the same
//! atomic step: a stream per service cannot share a cluster slot with every
//! org's keys. When the write fails the handler answers `UNAVAILABLE`, so
//! nothing is acknowledged without its event; the caller retries, and every
//! audited change is safe to repeat. A change may therefore stand with its
//! event missing only when the store failed between the two, and the
//! caller was told to retry.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::Script;
use serde_json::Value;

use crate::auth::{Principal, Role};
use crate::input::{InvalidInput, OrgId};
use crate::page::{PageLimits, Scope};
use crate::redis_conn::Redis;
use crate::store::{StoreError, corrupt, from_redis, redis_span};
use tracing::Instrument;

/// The version written with every event; readers skip fields they do not
/// know and refuse no version.
pub const EVENT_VERSION: u32 = 1;

/// The actor of calls made without authentication.
pub const ANONYMOUS: &str = "anonymous";

/// Page sizes of `ListAuditEvents`: as the fleet views.
pub const AUDIT_PAGE: PageLimits = PageLimits {
    default: 100,
    max: 1_000,
};

/// Longest actor and action filter, in characters.
pub const MAX_FILTER_LEN: usize = 128;

/// Events one page may read past before it answers with what it found:
/// a filter matching few events must not read the whole stream in one call.
const SCAN_PER_PAGE: usize = 10_000;

/// Events read from Redis at a time while scanning.
const SCAN_BATCH: usize = 500;

/// Longest text kept of any one field of an event, in bytes; a longer
/// value is cut (at a character boundary) and marked with `…`.
const MAX_FIELD_LEN: usize = 4_096;

/// The caller's identity for the trail: its token's name or JWT subject,
/// or [`ANONYMOUS`] when authentication is off.
pub fn actor(principal: Option<&Principal>) -> String {
    principal.map_or_else(|| ANONYMOUS.to_owned(), |p| p.subject.clone())
}

/// The identity of the caller of `request` for the trail: its token's name
/// or JWT subject (what it was authorised as), prefixed `system:` for
/// another syncgov service acting on its own (sync-errors suspending an
/// org for an ingested failure), so that no one takes it for a person;
/// else, over mutual TLS, the subject of its client certificate (`CN=…`);
/// else [`ANONYMOUS`].
pub fn actor_of<T>(request: &tonic::Request<T>) -> String {
    if let Some(principal) = request.extensions().get::<Principal>() {
        if principal.role == Role::Service {
            return format!("system:{}", principal.subject);
        }
        return principal.subject.clone();
    }
    request
        .peer_certs()
        .and_then(|chain| chain.first().and_then(|leaf| certificate_subject(leaf)))
        .unwrap_or_else(|| ANONYMOUS.to_owned())
}

/// The subject of a DER certificate as text (`CN=ops,O=acme`); `None` when
/// it cannot be read or names no one.
fn certificate_subject(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject().to_string();
    (!subject.is_empty()).then_some(subject)
}

/// One change as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// Its id in the log (`<ms>-<seq>`), which orders events and pages.
    pub id: EventId,
    /// Who made it.
    pub actor: String,
    /// The method that made it (`SetBudget`).
    pub action: String,
    /// The org it touched; empty for none.
    pub org: String,
    /// What of the org it touched (a resource, a suspension reason, error
    /// ids), short.
    pub target: String,
    /// The value before, as JSON; empty when there was none.
    pub before: String,
    /// The value after, as JSON; empty when there is none.
    pub after: String,
}

/// A change to record; the log gives it its id and time.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// Who made it ([`actor`]).
    pub actor: String,
    /// The method (`SetBudget`).
    pub action: &'static str,
    /// The org; empty for none.
    pub org: String,
    /// What of the org.
    pub target: String,
    /// The value before; `None` when there was none.
    pub before: Option<Value>,
    /// The value after; `None` when there is none.
    pub after: Option<Value>,
}

impl Change {
    /// The event's fields as stored, each bounded.
    fn fields(&self) -> [(&'static str, String); 7] {
        let json = |v: &Option<Value>| v.as_ref().map(Value::to_string).unwrap_or_default();
        [
            ("v", EVENT_VERSION.to_string()),
            ("actor", cut(&self.actor)),
            ("action", self.action.to_owned()),
            ("org", cut(&self.org)),
            ("target", cut(&self.target)),
            ("before", cut(&json(&self.before))),
            ("after", cut(&json(&self.after))),
        ]
    }
}

/// `text`, cut to [`MAX_FIELD_LEN`] bytes at a character boundary.
fn cut(text: &str) -> String {
    if text.len() <= MAX_FIELD_LEN {
        return text.to_owned();
    }
    let mut end = MAX_FIELD_LEN - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// An event's id: the store's clock in ms, and a sequence within the ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId {
    /// When, ms since the epoch.
    pub ms: u64,
    /// Which of that ms's events.
    pub seq: u64,
}

impl EventId {
    /// Reads `<ms>-<seq>`, as Redis writes stream ids.
    pub fn parse(text: &str) -> Option<Self> {
        let (ms, seq) = text.split_once('-')?;
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(seq) {
            return None;
        }
        Some(Self {
            ms: ms.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }

    /// When the event was recorded, ms since the epoch.
    pub fn at_ms(self) -> i64 {
        i64::try_from(self.ms).unwrap_or(i64::MAX)
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// How long events are kept and how many.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Events older than this are dropped.
    pub max_age: Duration,
    /// At most this many events are kept, the newest.
    pub max_events: u64,
}

impl Retention {
    /// The oldest time (ms) an event may have and still be kept at `now_ms`.
    pub fn cutoff_ms(&self, now_ms: i64) -> i64 {
        let age = i64::try_from(self.max_age.as_millis()).unwrap_or(i64::MAX);
        now_ms.saturating_sub(age).max(0)
    }
}

/// Which events a caller may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visibility {
    /// The orgs of its token.
    pub scope: Scope,
    /// Whether it sees events that name no org: admins for every org, and
    /// everyone when authentication is off.
    pub orgless: bool,
}

impl Visibility {
    /// What `principal` may see; everything without authentication.
    pub fn of(principal: Option<&Principal>) -> Self {
        Self {
            scope: Scope::of(principal),
            orgless: principal.is_none_or(|p| p.role == Role::Admin && p.has_every_org()),
        }
    }

    /// True when an event of `org` (empty: none) is visible.
    pub fn sees(&self, org: &str) -> bool {
        if org.is_empty() {
            return self.orgless;
        }
        match &self.scope {
            Scope::Every => true,
            Scope::Only(orgs) => OrgId::parse(org).is_ok_and(|o| orgs.contains(&o)),
        }
    }
}

/// The filters of one read, each checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this org's events.
    pub org: Option<OrgId>,
    /// Only this actor's.
    pub actor: Option<String>,
    /// Only this action's.
    pub action: Option<String>,
    /// From this time on (ms, inclusive).
    pub from_ms: Option<i64>,
    /// Up to this time (ms, inclusive).
    pub to_ms: Option<i64>,
}

impl AuditFilter {
    /// Checks the filters a caller sent: empty strings and unset times
    /// are no filter; an org must be an org id, an actor or action at most
    /// [`MAX_FILTER_LEN`] characters without control characters, and `from`
    /// no later than `to`. Each refusal names its field.
    pub fn parse(
        org: &str,
        actor: &str,
        action: &str,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> Result<Self, InvalidInput> {
        let org = match org {
            "" => None,
            text => Some(OrgId::parse(text)?),
        };
        let text = |field: &str, value: &str| -> Result<Option<String>, InvalidInput> {
            if value.is_empty() {
                return Ok(None);
            }
            if value.chars().count() > MAX_FILTER_LEN || value.chars().any(char::is_control) {
                return Err(InvalidInput::new(
                    field,
                    format!(
                        "must be at most {MAX_FILTER_LEN} characters, none a control character"
                    ),
                ));
            }
            Ok(Some(value.to_owned()))
        };
        for (field, at) in [("from", from_ms), ("to", to_ms)] {
            if at.is_some_and(|ms| ms < 0) {
                return Err(InvalidInput::new(field, "must not be before 1970"));
            }
        }
        if let (Some(from), Some(to)) = (from_ms, to_ms)
            && from > to
        {
            return Err(InvalidInput::new("from", "must not be after to"));
        }
        Ok(Self {
            org,
            actor: text("actor", actor)?,
            action: text("action", action)?,
            from_ms,
            to_ms,
        })
    }

    /// The filter as text, for page tokens: a token is good only with the
    /// filter it was read with. The values are joined by a control
    /// character, which none of them may hold (and not the newline the
    /// token puts after the filter).
    pub fn key(&self) -> String {
        format!(
            "a:{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
            self.org.as_ref().map(OrgId::as_str).unwrap_or_default(),
            self.actor.as_deref().unwrap_or_default(),
            self.action.as_deref().unwrap_or_default(),
            self.from_ms.map(|v| v.to_string()).unwrap_or_default(),
            self.to_ms.map(|v| v.to_string()).unwrap_or_default(),
        )
    }

    /// True when `event` passes the filters (times excepted: the log reads
    /// only the range asked for).
    fn matches(&self, event: &AuditEvent) -> bool {
        self.org.as_ref().is_none_or(|o| o.as_str() == event.org)
            && self.actor.as_ref().is_none_or(|a| *a == event.actor)
            && self.action.as_ref().is_none_or(|a| *a == event.action)
    }
}

/// One read: who reads, what it asks, where it stopped last time.
#[derive(Clone, Debug)]
pub struct AuditQuery {
    /// What the caller may see.
    pub visibility: Visibility,
    /// What it asks for.
    pub filter: AuditFilter,
    /// The last event of the page before (newest first): this page starts
    /// just older than it.
    pub after: Option<EventId>,
    /// Most events on the page.
    pub limit: usize,
}

/// A page of events, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditPage {
    /// The events.
    pub events: Vec<AuditEvent>,
    /// Where the next page starts, when there may be more.
    pub next: Option<EventId>,
}

/// The range of ids a read covers, newest first: from `newest` (inclusive)
/// down to `oldest` (inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Range {
    newest: EventId,
    oldest: EventId,
}

impl Range {
    /// The ids `query` reads at `now_ms` with `retention`; `None` when no
    /// id can be in it.
    fn of(query: &AuditQuery, retention: &Retention, now_ms: i64) -> Option<Self> {
        let floor = retention
            .cutoff_ms(now_ms)
            .max(query.filter.from_ms.unwrap_or(0));
        let oldest = EventId {
            ms: u64::try_from(floor).unwrap_or(0),
            seq: 0,
        };
        let mut newest = match query.filter.to_ms {
            Some(to) => EventId {
                ms: u64::try_from(to).unwrap_or(0),
                seq: u64::MAX,
            },
            None => EventId {
                ms: u64::MAX,
                seq: u64::MAX,
            },
        };
        if let Some(after) = query.after {
            // Strictly older than the last event of the page before.
            let before_after = if after.seq > 0 {
                EventId {
                    ms: after.ms,
                    seq: after.seq - 1,
                }
            } else {
                EventId {
                    ms: after.ms.checked_sub(1)?,
                    seq: u64::MAX,
                }
            };
            newest = newest.min(before_after);
        }
        (oldest <= newest).then_some(Self { newest, oldest })
    }
}

/// An audit log: the memory ring or a Redis stream. Cheap to clone.
#[derive(Clone)]
pub enum AuditLog {
    /// The embedded ring (one process; nothing kept across restarts).
    Memory(Arc<Mutex<Ring>>),
    /// A Redis stream.
    Redis(Arc<RedisLog>),
}

impl AuditLog {
    /// A log in this process's memory.
    pub fn memory(retention: Retention) -> Self {
        Self::Memory(Arc::new(Mutex::new(Ring {
            retention,
            events: VecDeque::new(),
        })))
    }

    /// A log in the Redis stream `key` (hash-tagged by the caller, so that
    /// it lives in one cluster slot).
    pub fn redis(redis: Redis, key: String, retention: Retention) -> Self {
        Self::Redis(Arc::new(RedisLog {
            redis,
            key,
            retention,
            append: Script::new(APPEND),
            clock: Script::new(CLOCK),
        }))
    }

    /// Records `change`; an error means it was not recorded (and the caller
    /// must not acknowledge the change it records).
    pub async fn record(&self, change: Change) -> Result<EventId, StoreError> {
        match self {
            Self::Memory(ring) => Ok(lock(ring).push(&change, crate::clock::now_ms())),
            Self::Redis(log) => log.record(&change).await,
        }
    }

    /// A page of the events `query` asks for, newest first.
    pub async fn list(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        match self {
            Self::Memory(ring) => Ok(lock(ring).list(query, crate::clock::now_ms())),
            Self::Redis(log) => log.list(query).await,
        }
    }
}

fn lock(ring: &Mutex<Ring>) -> std::sync::MutexGuard<'_, Ring> {
    // A panic while holding the lock leaves the ring whole: each change to
    // it is one push or pop.
    ring.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The embedded log: the newest events, oldest first.
pub struct Ring {
    retention: Retention,
    events: VecDeque<AuditEvent>,
}

impl Ring {
    /// Appends `change` at `now_ms` (never before the newest event, so ids
    /// only grow), then drops what the retention no longer keeps.
    fn push(&mut self, change: &Change, now_ms: i64) -> EventId {
        let ms = u64::try_from(now_ms).unwrap_or(0);
        let id = match self.events.back() {
            Some(last) if last.id.ms >= ms => EventId {
                ms: last.id.ms,
                seq: last.id.seq + 1,
            },
            _ => EventId { ms, seq: 0 },
        };
        let fields = change.fields();
        let field = |i: usize| fields[i].1.clone();
        self.events.push_back(AuditEvent {
            id,
            actor: field(1),
            action: field(2),
            org: field(3),
            target: field(4),
            before: field(5),
            after: field(6),
        });
        self.trim(now_ms);
        id
    }

    fn trim(&mut self, now_ms: i64) {
        let cutoff = self.retention.cutoff_ms(now_ms);
        let max = usize::try_from(self.retention.max_events).unwrap_or(usize::MAX);
        while self.events.len() > max || self.events.front().is_some_and(|e| e.id.at_ms() < cutoff)
        {
            self.events.pop_front();
        }
    }

    fn list(&self, query: &AuditQuery, now_ms: i64) -> AuditPage {
        let Some(range) = Range::of(query, &self.retention, now_ms) else {
            return AuditPage::default();
        };
        let mut page = AuditPage::default();
        let candidates = self
            .events
            .iter()
            .rev()
            .skip_while(|e| e.id > range.newest)
            .take_while(|e| e.id >= range.oldest);
        for (scanned, event) in candidates.enumerate() {
            if page.events.len() == query.limit || scanned == SCAN_PER_PAGE {
                // More may follow: every event newer than this one was
                // read, so the next page starts with it.
                page.next = Some(prior(event.id));
                break;
            }
            if query.visibility.sees(&event.org) && query.filter.matches(event) {
                page.events.push(event.clone());
            }
        }
        page
    }
}

/// The id just newer than `id`: a page token naming it makes the next
/// page start with `id` itself (a page goes on strictly older than its
/// token's id).
fn prior(id: EventId) -> EventId {
    match id.seq.checked_add(1) {
        Some(seq) => EventId { ms: id.ms, seq },
        None => EventId {
            ms: id.ms.saturating_add(1),
            seq: 0,
        },
    }
}

/// Appends one event and trims the stream, in one step.
///
/// KEYS[1]: the stream.
/// ARGV[1]: the most events kept; ARGV[2]: the longest age kept, ms;
/// ARGV[3..]: the event's fields and values.
/// Returns the new event's id. The id is the store's clock (`*`); the time
/// cutoff is computed from it, so every replica trims on one clock. The
/// length bound is exact (audited changes are rare, so exact trimming
/// costs nothing worth saving); the time bound is approximate (`~`, whole
/// stream nodes) and readers skip what it leaves.
const APPEND: &str = r"
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '=', ARGV[1], '*', unpack(ARGV, 3))
local ms = tonumber(string.match(id, '^(%d+)-'))
local cutoff = ms - tonumber(ARGV[2])
if cutoff > 0 then
  redis.call('XTRIM', KEYS[1], 'MINID', '~', cutoff)
end
return id
";

/// Reads the clock of the node holding KEYS[1] (the stream): `TIME`.
const CLOCK: &str = "return redis.call('TIME')";

/// The Redis log.
pub struct RedisLog {
    redis: Redis,
    key: String,
    retention: Retention,
    append: Script,
    clock: Script,
}

impl RedisLog {
    async fn record(&self, change: &Change) -> Result<EventId, StoreError> {
        let mut invocation = self.append.key(&self.key);
        invocation
            .arg(self.retention.max_events.max(1))
            .arg(u64::try_from(self.retention.max_age.as_millis()).unwrap_or(u64::MAX));
        for (field, value) in change.fields() {
            invocation.arg(field).arg(value);
        }
        let id: String = invocation
            .invoke_async(&mut self.redis.clone())
            .instrument(redis_span("EVALSHA", "audit_append"))
            .await
            .map_err(from_redis)?;
        EventId::parse(&id).ok_or_else(|| corrupt("audit event id"))
    }

    async fn list(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        let now_ms = self.now_ms().await?;
        let Some(range) = Range::of(query, &self.retention, now_ms) else {
            return Ok(AuditPage::default());
        };
        let mut page = AuditPage::default();
        let mut newest = range.newest;
        let mut scanned = 0;
        loop {
            let batch = SCAN_BATCH.min(SCAN_PER_PAGE - scanned);
            let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XREVRANGE")
                .arg(&self.key)
                .arg(newest.to_string())
                .arg(range.oldest.to_string())
                .arg("COUNT")
                .arg(batch)
                .query_async(&mut self.redis.clone())
                .instrument(redis_span("XREVRANGE", "audit_list"))
                .await
                .map_err(from_redis)?;
            let full = entries.len() == batch;
            for (id, fields) in entries {
                let event = decode(&id, fields)?;
                scanned += 1;
                if query.visibility.sees(&event.org) && query.filter.matches(&event) {
                    page.events.push(event.clone());
                    if page.events.len() == query.limit {
                        page.next = Some(event.id);
                        return Ok(page);
                    }
                }
                newest = match event.id.seq.checked_sub(1) {
                    Some(seq) => EventId {
                        ms: event.id.ms,
                        seq,
                    },
                    None if event.id.ms > 0 => EventId {
                        ms: event.id.ms - 1,
                        seq: u64::MAX,
                    },
                    None => return Ok(page),
                };
            }
            if !full || newest < range.oldest {
                return Ok(page);
            }
            if scanned >= SCAN_PER_PAGE {
                // Read enough for one call: the next page goes on from here.
                page.next = Some(prior(newest));
                return Ok(page);
            }
        }
    }

    /// The store's clock, ms: the one every replica reads the cutoff by.
    /// Read through a script on the stream's key, so that on a cluster it
    /// is the clock of the node that stamped the events.
    async fn now_ms(&self) -> Result<i64, StoreError> {
        let (secs, micros): (i64, i64) = self
            .clock
            .key(&self.key)
            .invoke_async(&mut self.redis.clone())
            .await
            .map_err(from_redis)?;
        Ok(secs.saturating_mul(1000).saturating_add(micros / 1000))
    }
}

/// One stream entry as an event.
fn decode(id: &str, fields: Vec<(String, String)>) -> Result<AuditEvent, StoreError> {
    let id = EventId::parse(id).ok_or_else(|| corrupt("audit event id"))?;
    let mut event = AuditEvent {
        id,
        actor: String::new(),
        action: String::new(),
        org: String::new(),
        target: String::new(),
        before: String::new(),
        after: String::new(),
    };
    for (field, value) in fields {
        match field.as_str() {
            "actor" => event.actor = value,
            "action" => event.action = value,
            "org" => event.org = value,
            "target" => event.target = value,
            "before" => event.before = value,
            "after" => event.after = value,
            // The version, and fields of later versions.
            _ => {}
        }
    }
    Ok(event)
}

/// What a `ListAuditEvents` request asks, as both services' contracts
/// carry it.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// `org_id`.
    pub org_id: &'a str,
    /// `actor`.
    pub actor: &'a str,
    /// `action`.
    pub action: &'a str,
    /// `from`.
    pub from: Option<&'a prost_types::Timestamp>,
    /// `to`.
    pub to: Option<&'a prost_types::Timestamp>,
    /// `page_size`.
    pub page_size: u32,
    /// `page_token`.
    pub page_token: &'a str,
}

/// Checks a `ListAuditEvents` request from `principal`: every field by its
/// rule (`INVALID_ARGUMENT` naming it), and an org filter against the
/// token's orgs (`PERMISSION_DENIED`, as for every call naming an org).
pub fn read_request(
    principal: Option<&Principal>,
    request: Request<'_>,
) -> Result<AuditQuery, tonic::Status> {
    if !request.org_id.is_empty() {
        crate::auth::authorize(principal, request.org_id)?;
    }
    let time = |field: &str, t: Option<&prost_types::Timestamp>| {
        t.map(|t| crate::input::timestamp_ms(field, t)).transpose()
    };
    let filter = AuditFilter::parse(
        request.org_id,
        request.actor,
        request.action,
        time("from", request.from)?,
        time("to", request.to)?,
    )?;
    let limit = crate::page::page_size("page_size", request.page_size, AUDIT_PAGE)?;
    let after = crate::page::read_token(
        "page_token",
        request.page_token,
        &filter.key(),
        EventId::parse,
    )?;
    Ok(AuditQuery {
        visibility: Visibility::of(principal),
        filter,
        after,
        limit,
    })
}

/// The `next_page_token` of `page`, read for `query`; empty for the last.
pub fn next_token(query: &AuditQuery, page: &AuditPage) -> String {
    page.next
        .map(|id| crate::page::token(&query.filter.key(), &id.to_string()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn change(org: &str, actor: &str) -> Change {
        Change {
            actor: actor.to_owned(),
            action: "SetBudget",
            org: org.to_owned(),
            target: "api".to_owned(),
            before: None,
            after: Some(serde_json::json!({"allocation": 5})),
        }
    }

    fn everything(limit: usize) -> AuditQuery {
        AuditQuery {
            visibility: Visibility::of(None),
            filter: AuditFilter::default(),
            after: None,
            limit,
        }
    }

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn the_cutoff_is_the_retention_before_now_and_never_before_1970() {
        let r = Retention {
            max_age: DAY,
            max_events: 10,
        };
        assert_eq!(r.cutoff_ms(200_000_000), 200_000_000 - 86_400_000);
        assert_eq!(r.cutoff_ms(1_000), 0);
        let forever = Retention {
            max_age: Duration::MAX,
            max_events: 10,
        };
        assert_eq!(forever.cutoff_ms(i64::MAX), 0);
    }

    #[test]
    fn the_ring_keeps_the_newest_events_and_drops_old_ones() {
        let log = AuditLog::memory(Retention {
            max_age: DAY,
            max_events: 3,
        });
        let AuditLog::Memory(ring) = &log else {
            unreachable!()
        };
        let mut ring = lock(ring);
        let day = 86_400_000;
        for i in 0..5 {
            ring.push(&change("acme", &format!("a{i}")), 10 * day + i);
        }
        let page = ring.list(&everything(10), 10 * day + 5);
        let actors: Vec<_> = page.events.iter().map(|e| e.actor.as_str()).collect();
        assert_eq!(actors, ["a4", "a3", "a2"]);
        // A day later the old ones are gone, on write and on read alike.
        assert!(ring.list(&everything(10), 11 * day + 10).events.is_empty());
        ring.push(&change("acme", "late"), 11 * day + 10);
        assert_eq!(ring.events.len(), 1);
    }

    #[test]
    fn ids_grow_even_when_the_clock_stands_still_or_steps_back() {
        let log = AuditLog::memory(Retention {
            max_age: DAY,
            max_events: 10,
        });
        let AuditLog::Memory(ring) = &log else {
            unreachable!()
        };
        let mut ring = lock(ring);
        let a = ring.push(&change("acme", "x"), 1_000);
        let b = ring.push(&change("acme", "x"), 1_000);
        let c = ring.push(&change("acme", "x"), 900);
        assert!(a < b && b < c, "{a} {b} {c}");
    }

    #[test]
    fn pages_go_newest_first_and_meet_without_gaps() {
        let log = AuditLog::memory(Retention {
            max_age: DAY,
            max_events: 100,
        });
        let AuditLog::Memory(ring) = &log else {
            unreachable!()
        };
        let mut ring = lock(ring);
        for i in 0..7 {
            ring.push(
                &change(if i % 2 == 0 { "acme" } else { "globex" }, "a"),
                5_000 + i / 2,
            );
        }
        let mut query = everything(2);
        query.visibility.scope = Scope::Only(BTreeSet::from([OrgId::parse("acme").unwrap()]));
        let mut seen = Vec::new();
        loop {
            let page = ring.list(&query, 6_000);
            seen.extend(page.events.iter().map(|e| e.id));
            match page.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        let expected: Vec<_> = ring
            .events
            .iter()
            .rev()
            .filter(|e| e.org == "acme")
            .map(|e| e.id)
            .collect();
        assert_eq!(seen, expected);
        assert_eq!(seen.len(), 4);
    }

    #[test]
    fn a_page_reads_a_bounded_number_of_events_and_says_where_to_go_on() {
        let log = AuditLog::memory(Retention {
            max_age: DAY,
            max_events: 20_000,
        });
        let AuditLog::Memory(ring) = &log else {
            unreachable!()
        };
        let mut ring = lock(ring);
        ring.push(&change("acme", "rare"), 1_000);
        for _ in 0..SCAN_PER_PAGE + 5 {
            ring.push(&change("acme", "busy"), 2_000);
        }
        let mut query = everything(10);
        query.filter = AuditFilter::parse("", "rare", "", None, None).unwrap();
        let first = ring.list(&query, 3_000);
        assert!(first.events.is_empty());
        query.after = Some(first.next.expect("more to read"));
        let second = ring.list(&query, 3_000);
        assert_eq!(second.events.len(), 1);
        assert_eq!(second.events[0].actor, "rare");
        assert_eq!(second.next, None);
    }

    #[test]
    fn a_scoped_caller_sees_neither_other_orgs_nor_events_without_an_org() {
        let scoped = Visibility {
            scope: Scope::Only(BTreeSet::from([OrgId::parse("acme").unwrap()])),
            orgless: false,
        };
        assert!(scoped.sees("acme"));
        assert!(!scoped.sees("globex"));
        assert!(!scoped.sees(""));
        assert!(Visibility::of(None).sees(""));
    }

    #[test]
    fn filters_are_checked_naming_their_field() {
        let err = AuditFilter::parse("bad org", "", "", None, None).unwrap_err();
        assert_eq!(err.field, "org_id");
        let err = AuditFilter::parse("", &"x".repeat(129), "", None, None).unwrap_err();
        assert_eq!(err.field, "actor");
        let err = AuditFilter::parse("", "", "a\nb", None, None).unwrap_err();
        assert_eq!(err.field, "action");
        let err = AuditFilter::parse("", "", "", Some(10), Some(9)).unwrap_err();
        assert_eq!(err.field, "from");
        let err = AuditFilter::parse("", "", "", Some(-1), None).unwrap_err();
        assert_eq!(err.field, "from");
        assert!(AuditFilter::parse("acme", "ops", "SetBudget", Some(9), Some(9)).is_ok());
    }

    #[test]
    fn the_time_range_bounds_what_is_read() {
        let log = AuditLog::memory(Retention {
            max_age: DAY,
            max_events: 100,
        });
        let AuditLog::Memory(ring) = &log else {
            unreachable!()
        };
        let mut ring = lock(ring);
        for ms in [1_000, 2_000, 3_000] {
            ring.push(&change("acme", &ms.to_string()), ms);
        }
        let mut query = everything(10);
        query.filter = AuditFilter::parse("", "", "", Some(1_500), Some(2_000)).unwrap();
        let page = ring.list(&query, 4_000);
        assert_eq!(page.events.len(), 1);
        assert_eq!(page.events[0].actor, "2000");
    }

    #[test]
    fn long_values_are_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_FIELD_LEN);
        let kept = cut(&long);
        assert!(kept.len() <= MAX_FIELD_LEN && kept.ends_with('…'));
    }

    #[test]
    fn event_ids_read_back_as_written() {
        let id = EventId { ms: 17, seq: 3 };
        assert_eq!(EventId::parse(&id.to_string()), Some(id));
        for bad in ["", "1", "1-", "-1", "a-1", "1-2-3"] {
            assert_eq!(EventId::parse(bad), None, "{bad}");
        }
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn stamp() -> impl Strategy<Value = Option<prost_types::Timestamp>> {
            proptest::option::of(
                (any::<i64>(), any::<i32>())
                    .prop_map(|(seconds, nanos)| prost_types::Timestamp { seconds, nanos }),
            )
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            /// Whatever a caller sends, the request is read or refused
            /// naming one of its fields as INVALID_ARGUMENT: never a panic,
            /// never another code (no principal: nothing is forbidden).
            #[test]
            fn any_request_is_read_or_refused_naming_its_field(
                org in ".{0,70}",
                actor in ".{0,140}",
                action in ".{0,140}",
                from in stamp(),
                to in stamp(),
                page_size in any::<u32>(),
                page_token in prop_oneof![".{0,40}", "[0-9a-f]{0,80}"],
            ) {
                let read = read_request(None, Request {
                    org_id: &org,
                    actor: &actor,
                    action: &action,
                    from: from.as_ref(),
                    to: to.as_ref(),
                    page_size,
                    page_token: &page_token,
                });
                match read {
                    Ok(query) => {
                        prop_assert!((1..=AUDIT_PAGE.max).contains(&query.limit));
                        if let (Some(f), Some(t)) = (query.filter.from_ms, query.filter.to_ms) {
                            prop_assert!(f <= t);
                        }
                    }
                    Err(status) => {
                        prop_assert_eq!(status.code(), tonic::Code::InvalidArgument);
                        let named = ["org_id", "actor", "action", "from", "to", "page_size", "page_token"]
                            .iter()
                            .any(|f| status.message().starts_with(f));
                        prop_assert!(named, "{}", status.message());
                    }
                }
            }

            /// A page's token leads to the next page read with the same
            /// filters, and to nothing with others.
            #[test]
            fn a_token_is_good_with_its_own_filters_only(
                ms in 0u64..4_000_000_000_000,
                seq in any::<u64>(),
                actor in "[a-z]{1,8}",
                other in "[A-Z]{1,8}",
            ) {
                let filter = AuditFilter::parse("", &actor, "", None, None).unwrap();
                let query = AuditQuery {
                    visibility: Visibility::of(None),
                    filter,
                    after: None,
                    limit: 10,
                };
                let id = EventId { ms, seq };
                let token = next_token(&query, &AuditPage { events: Vec::new(), next: Some(id) });
                let read = |actor: &str| read_request(None, Request {
                    org_id: "",
                    actor,
                    action: "",
                    from: None,
                    to: None,
                    page_size: 0,
                    page_token: &token,
                });
                prop_assert_eq!(read(&actor).unwrap().after, Some(id));
                prop_assert!(read(&other).is_err());
            }
        }
    }
}
