//! The classifier: turns what Salesforce returned for a failed call (status
//! code, message, fields, object type) into one record-level [`ErrorType`] or
//! one integration-level [`SuspensionReason`].
//!
//! The status code alone is not enough: Salesforce reuses codes across causes
//! (a `CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY` is a trigger, a flow or a
//! validation rule), clients often drop the code (about 40 % of the labelled
//! texts in `tests/data/salesforce_errors.jsonl`), and errors nest: a trigger's
//! own DML failure carries the inner code in its text. So the message is read
//! too, once, by one Aho-Corasick automaton that knows every status code and
//! phrase below, ASCII case-insensitively. The rules, first match wins:
//!
//! | step | when | result |
//! |---|---|---|
//! | 1 | a row lock, full storage or a concurrent-request limit is named anywhere (code or text) | suspension `SALESFORCE_ORG_LOCKED`, `SALESFORCE_STORAGE_LIMIT_EXCEEDED`, `SALESFORCE_CONCURRENT_LIMIT_EXCEEDED`, even inside a trigger: the org, not the record, must wait |
//! | 2 | status `CANNOT_EXECUTE_FLOW_TRIGGER` / `APEX_ERROR`, else the earliest flow or Apex marker in the text (`(Flow…)` element, `flow interview`, `the flow tried to`, `process failed. Give your Salesforce admin`; `execution of Before…/After…`, `Apex trigger`, `An Apex error occurred`, `System.…Exception`, `data changed by trigger`) | `SALESFORCE_FLOW` / `SALESFORCE_AUTOMATION`: the outermost custom code owns whatever failed inside it |
//! | 3 | the status code; if it is empty, unknown or a wrapper (`CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY`, `UNKNOWN_EXCEPTION`), the first other code named in the text | the cause table below; the code decides over the text (a validation rule's text is free prose) |
//! | 4 | the earliest phrase of the cause table | the cause table |
//! | 5 | nothing recognised | `CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY` → `SALESFORCE_AUTOMATION`, `UNKNOWN_EXCEPTION` → suspension `SALESFORCE_SERVER_ERROR`, otherwise `OTHER`/`UNKNOWN` |
//!
//! The cause table (codes compare ignoring case and `_`, so `InvalidSessionId`
//! and `invalid_grant` count; a SOAP `sf:` prefix is dropped):
//!
//! | codes / phrases | result |
//! |---|---|
//! | `REQUEST_LIMIT_EXCEEDED`, `EXCEEDED_QUOTA`; `TotalRequests`, `ApiBatchItems`, `API call` limit, `per 24 h…` | suspension `SALESFORCE_API_LIMIT_EXCEEDED`, unless a `Concurrent…` limit is named: `SALESFORCE_CONCURRENT_LIMIT_EXCEEDED` |
//! | `API_DISABLED_FOR_ORG`, `API_CURRENTLY_DISABLED`; `API is not enabled…` | suspension `SALESFORCE_API_DISABLED` |
//! | `INVALID_SESSION_ID`, `INVALID_LOGIN`, `LOGIN_MUST_USE_SECURITY_TOKEN`, `INVALID_OPERATION_WITH_EXPIRED_PASSWORD`, `PASSWORD_LOCKOUT`, `invalid_grant`, `invalid_client(_id)`; `Session expired or invalid`, `…approved this consumer` | suspension `SALESFORCE_AUTH_FAILED` |
//! | `SERVER_UNAVAILABLE`; `down for maintenance`, `Service Not Available` | suspension `SALESFORCE_ORG_UNAVAILABLE` |
//! | `internal server error`, `An unexpected error occurred. Please include this ErrorId` | suspension `SALESFORCE_SERVER_ERROR` |
//! | `transaction security polic…` | suspension `UNKNOWN` |
//! | `INVALID_TYPE`; `sObject type '…`, `security evaluation for non-admin users` | suspension `MISSING_OBJECT_PERMISSIONS` |
//! | `No such column` (a query) | suspension `MISSING_FIELD_PERMISSIONS`; on a write (`on sobject of type`) `FIELD_PERMISSION` |
//! | `INVALID_FIELD` | as `No such column` if the text says so; `Foreign key external ID` → `MISSING_SALESFORCE_ID`; else `FIELD_PERMISSION` |
//! | `FIELD_CUSTOM_VALIDATION_EXCEPTION` | `CUSTOM_VALIDATION_RULE` |
//! | `DUPLICATES_DETECTED`; `Use one of these records?`, `duplicate rule` | `SALESFORCE_DUPLICATE_RULE` |
//! | `DUPLICATE_VALUE`, `DUPLICATE_EXTERNAL_ID`; `duplicate value found` | `RESTRICTED_UNIQUE_VALUE` |
//! | `INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY`, `ENTITY_IS_DELETED` | `INSUFFICIENT_ACCESS_OR_MISSING_RECORD` |
//! | `INSUFFICIENT_ACCESS(_OR_READONLY)`; `…on object id`, `no sharing access`, `insufficient privileges` | `INSUFFICIENT_ACCESS` |
//! | `INVALID_FIELD_FOR_INSERT_UPDATE`; `Unable to create/update fields`, `bad field names on insert/update` | `FIELD_PERMISSION` |
//! | `INACTIVE_OWNER_OR_USER`; `owner is inactive` | `INACTIVE_OWNER` |
//! | `INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`; `bad value for restricted picklist field` | `RESTRICTED_PICKLIST_VALUE`, or `INVALID_OPPORTUNITY_STAGE` on an opportunity's `StageName` |
//! | `REQUIRED_FIELD_MISSING`; `Required fields are missing` | `MISSING_REQUIRED_VALUE`, or `INVALID_OPPORTUNITY_STAGE` on an opportunity's `StageName` |
//! | `FIELD_INTEGRITY_EXCEPTION` | state without country → `MISSING_REQUIRED_COUNTRY`; state/country text or field → `MISMATCHED_STATE_OR_COUNTRY`; wrong id type → as `MALFORMED_ID`; `must specify` → `MISSING_SALESFORCE_ID`; lookup filter or a `…Id` field → `INVALID_SALESFORCE_ID`; else `INVALID_VALUE` |
//! | `MALFORMED_ID`, `INVALID_ID_FIELD`; `id value of incorrect type` | `INVALID_SALESFORCE_ID`, or `OWNER_ASSIGNMENT` for a queue id (`00G…`) or the `OwnerId` field |
//! | `FIELD_FILTER_VALIDATION_EXCEPTION`; `does not match filter criteria` | `INVALID_SALESFORCE_ID` |
//! | `INVALID_CROSS_REFERENCE_KEY` | `DEFAULT_SALES_PROCESS_UNAVAILABLE` on `RecordTypeId`, else `MISSING_SALESFORCE_ID` |
//! | `MISSING_ARGUMENT`; `Foreign key external ID`, `Id not specified in an update call` | `MISSING_SALESFORCE_ID` |
//! | `record type missing`, `Record Type ID: this ID value…` | `DEFAULT_SALES_PROCESS_UNAVAILABLE` |
//! | `INVALID_TYPE_ON_FIELD_IN_RECORD`, `JSON_PARSER_ERROR`; `value not of required type`, `Cannot deserialize instance of` | `TYPE_MISMATCH` |
//! | `STRING_TOO_LONG`; `data value too large` | `STRING_TOO_LONG` |
//! | `INVALID_EMAIL_ADDRESS`; `invalid email address` | `INVALID_EMAIL` |
//! | `NUMBER_OUTSIDE_VALID_RANGE`; `value outside of valid range` | `INVALID_VALUE` |
//! | `CANNOT_UPDATE_CONVERTED_LEAD`, `EXCEEDED_ID_LIMIT` | `OTHER`/`UNKNOWN` (a limit of the call, not of the org) |
//!
//! Types the CRM side raises itself (association limit, waiting for account
//! sync, e-mail already in use, missing picklist option, mismatched options,
//! owners not synced, option limit, inactive opportunity stage, missing
//! contact ID) and the integration's own suspensions (integration API limit,
//! missing field mappings) never come from Salesforce's text, so the
//! classifier does not produce them.
//!
//! Cost: one pass of a DFA over the message (a long message is walked as
//! four interleaved stretches, see `LANES`), a look-up of the status code
//! and a scan of the few field names; no allocation once the automaton is
//! built, on first use. About 1.3 million classifications per second for
//! 1 KB messages on one 2.6 GHz core (`cargo bench -p sync-errors --bench
//! classify`).

use std::sync::OnceLock;

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind, PatternID};

use crate::taxonomy::{ErrorType, SuspensionReason};

/// What a sync worker saw when one call to Salesforce failed, borrowed from
/// the report so classification copies nothing.
#[derive(Clone, Copy, Debug)]
pub struct FailureText<'a> {
    /// Salesforce's status or error code (`STRING_TOO_LONG`, `invalid_grant`,
    /// `InvalidSessionId`), in whatever case the API used; empty when the
    /// client dropped it.
    pub status_code: &'a str,
    /// The message text, possibly wrapped in JSON or exception text.
    pub message: &'a str,
    /// The API names of the fields Salesforce blamed, if any.
    pub fields: &'a [String],
    /// The API name of the object written (`Opportunity`), or empty.
    pub object_type: &'a str,
}

/// The outcome of classifying one failure: either one record failed, or the
/// whole integration of the org must stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Classification {
    /// Only this record failed; the sync-error service keeps it.
    Record(ErrorType),
    /// The integration must stop calling Salesforce; the governor owns it.
    Suspension(SuspensionReason),
}

impl Classification {
    /// What the operator should do, whichever level the failure is at.
    pub fn guidance(self) -> &'static str {
        match self {
            Classification::Record(t) => t.guidance(),
            Classification::Suspension(r) => r.guidance(),
        }
    }
}

/// Classifies one failure; never fails: what is not recognised is
/// `Record(ErrorType::Unknown)`. See the module documentation for the rules.
pub fn classify(failure: &FailureText<'_>) -> Classification {
    let status = status_cue(failure.status_code);
    let scan = Scan::of(failure.message);
    let seen = |cue| status == Some(cue) || scan.has(cue);

    // 1. Org-wide conditions, wherever they appear.
    for cue in [Cue::Lock, Cue::Storage, Cue::ConcurrentLimit] {
        if seen(cue) {
            return resolve(cue, failure, &scan);
        }
    }
    // 2. The outermost custom code.
    if let Some(cue @ (Cue::Flow | Cue::Apex)) = status {
        return resolve(cue, failure, &scan);
    }
    if let Some((_, cue)) = scan.custom {
        return resolve(cue, failure, &scan);
    }
    // 3. The code, or the first code the text names.
    let code = status
        .filter(|c| !c.is_wrapper())
        .or(scan.code.map(|(_, c)| c));
    if let Some(cue) = code {
        return resolve(cue, failure, &scan);
    }
    // 4. The text.
    if let Some((_, cue)) = scan.phrase {
        return resolve(cue, failure, &scan);
    }
    // 5. What a wrapper means on its own.
    match status {
        Some(cue) => resolve(cue, failure, &scan),
        None => Classification::Record(ErrorType::Unknown),
    }
}

/// A cause or a hint that a status code or a phrase can name. The scan keeps
/// them in a `u64` bit set, so there must be at most 64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cue {
    // Custom code: the outermost one wins.
    Flow,
    Apex,
    // Wrapper codes: they say where it failed, not why.
    EntityWrapper,
    UnknownException,
    // Integration level.
    Lock,
    Storage,
    DailyLimit,
    ConcurrentLimit,
    ApiDisabled,
    Auth,
    Unavailable,
    ServerError,
    UnclearRefusal,
    HiddenObject,
    HiddenField,
    InvalidField,
    // Record level.
    ValidationRule,
    DuplicateRule,
    UniqueValue,
    TooLong,
    InvalidEmail,
    RestrictedPicklist,
    InactiveOwner,
    MissingRecord,
    RecordAccess,
    FieldNotWritable,
    FieldIntegrity,
    IncorrectId,
    LookupFilter,
    CrossReference,
    MissingId,
    RecordType,
    TypeMismatch,
    OutOfRange,
    RequiredMissing,
    CountryMissing,
    StateOrCountry,
    Unsupported,
    // Hints: they only refine another cause.
    QueueId,
    MustSpecify,
    WriteTime,
}

impl Cue {
    /// The bit of this cue in [`Scan::seen`].
    fn bit(self) -> u64 {
        1 << (self as u32)
    }

    /// Codes that say an entity could not be saved without saying why.
    fn is_wrapper(self) -> bool {
        matches!(self, Cue::EntityWrapper | Cue::UnknownException)
    }

    /// Cues that never decide on their own.
    fn is_hint(self) -> bool {
        matches!(self, Cue::QueueId | Cue::MustSpecify | Cue::WriteTime)
    }
}

/// Salesforce status codes, upper case with `_`; matched in the text as whole
/// words only, so `INVALID_TYPE` does not fire inside
/// `INVALID_TYPE_ON_FIELD_IN_RECORD`.
const CODES: &[(&str, Cue)] = &[
    ("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", Cue::EntityWrapper),
    ("UNKNOWN_EXCEPTION", Cue::UnknownException),
    ("CANNOT_EXECUTE_FLOW_TRIGGER", Cue::Flow),
    ("APEX_ERROR", Cue::Apex),
    ("UNABLE_TO_LOCK_ROW", Cue::Lock),
    ("STORAGE_LIMIT_EXCEEDED", Cue::Storage),
    ("REQUEST_LIMIT_EXCEEDED", Cue::DailyLimit),
    // The Bulk API's `ExceededQuota`: jobs or batches of the past 24 hours.
    ("EXCEEDED_QUOTA", Cue::DailyLimit),
    ("API_DISABLED_FOR_ORG", Cue::ApiDisabled),
    ("API_CURRENTLY_DISABLED", Cue::ApiDisabled),
    ("INVALID_SESSION_ID", Cue::Auth),
    ("INVALID_LOGIN", Cue::Auth),
    ("LOGIN_MUST_USE_SECURITY_TOKEN", Cue::Auth),
    ("INVALID_OPERATION_WITH_EXPIRED_PASSWORD", Cue::Auth),
    ("PASSWORD_LOCKOUT", Cue::Auth),
    ("INVALID_GRANT", Cue::Auth),
    ("INVALID_CLIENT", Cue::Auth),
    ("INVALID_CLIENT_ID", Cue::Auth),
    ("SERVER_UNAVAILABLE", Cue::Unavailable),
    ("INVALID_TYPE", Cue::HiddenObject),
    ("INVALID_FIELD", Cue::InvalidField),
    ("FIELD_CUSTOM_VALIDATION_EXCEPTION", Cue::ValidationRule),
    ("DUPLICATES_DETECTED", Cue::DuplicateRule),
    ("DUPLICATE_VALUE", Cue::UniqueValue),
    ("DUPLICATE_EXTERNAL_ID", Cue::UniqueValue),
    ("STRING_TOO_LONG", Cue::TooLong),
    ("INVALID_EMAIL_ADDRESS", Cue::InvalidEmail),
    (
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        Cue::RestrictedPicklist,
    ),
    ("INACTIVE_OWNER_OR_USER", Cue::InactiveOwner),
    (
        "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
        Cue::MissingRecord,
    ),
    ("ENTITY_IS_DELETED", Cue::MissingRecord),
    ("INSUFFICIENT_ACCESS", Cue::RecordAccess),
    ("INSUFFICIENT_ACCESS_OR_READONLY", Cue::RecordAccess),
    ("INVALID_FIELD_FOR_INSERT_UPDATE", Cue::FieldNotWritable),
    ("FIELD_INTEGRITY_EXCEPTION", Cue::FieldIntegrity),
    ("FIELD_FILTER_VALIDATION_EXCEPTION", Cue::LookupFilter),
    ("MALFORMED_ID", Cue::IncorrectId),
    ("INVALID_ID_FIELD", Cue::IncorrectId),
    ("INVALID_CROSS_REFERENCE_KEY", Cue::CrossReference),
    ("MISSING_ARGUMENT", Cue::MissingId),
    ("INVALID_TYPE_ON_FIELD_IN_RECORD", Cue::TypeMismatch),
    ("JSON_PARSER_ERROR", Cue::TypeMismatch),
    ("NUMBER_OUTSIDE_VALID_RANGE", Cue::OutOfRange),
    ("REQUIRED_FIELD_MISSING", Cue::RequiredMissing),
    ("CANNOT_UPDATE_CONVERTED_LEAD", Cue::Unsupported),
    ("EXCEEDED_ID_LIMIT", Cue::Unsupported),
];

/// Phrases of Salesforce's messages, lower case, matched anywhere. They avoid
/// apostrophes, which come both straight and curly.
const PHRASES: &[(&str, Cue)] = &[
    // Flows and processes (Process Builder runs as a flow).
    ("(flow", Cue::Flow),
    ("flow interview", Cue::Flow),
    ("the flow tried to", Cue::Flow),
    ("the flow failed", Cue::Flow),
    ("failed to trigger a flow", Cue::Flow),
    ("flow trigger failed", Cue::Flow),
    ("fault has occurred in this flow", Cue::Flow),
    ("process failed. give your", Cue::Flow),
    // Apex triggers and classes.
    ("execution of before", Cue::Apex),
    ("execution of after", Cue::Apex),
    ("apex trigger ", Cue::Apex),
    ("an apex error occurred", Cue::Apex),
    // A trigger set the value that failed (`data value too large` after it).
    ("data changed by trigger", Cue::Apex),
    // Integration level.
    ("unable to obtain exclusive access", Cue::Lock),
    ("storage limit exceeded", Cue::Storage),
    ("totalrequests limit", Cue::DailyLimit),
    ("total requests limit", Cue::DailyLimit),
    ("apibatchitems limit", Cue::DailyLimit),
    ("api call limit", Cue::DailyLimit),
    ("api request limit", Cue::DailyLimit),
    ("per 24 hrs", Cue::DailyLimit),
    ("per 24 hours", Cue::DailyLimit),
    ("concurrentrequests", Cue::ConcurrentLimit),
    ("concurrentperorg", Cue::ConcurrentLimit),
    ("concurrent requests limit", Cue::ConcurrentLimit),
    ("concurrent request limit", Cue::ConcurrentLimit),
    ("concurrent api requests", Cue::ConcurrentLimit),
    ("api is disabled for this user", Cue::ApiDisabled),
    ("api is not enabled for this", Cue::ApiDisabled),
    ("session expired or invalid", Cue::Auth),
    ("invalid session id", Cue::Auth),
    ("session is not valid for use with", Cue::Auth),
    ("invalid username, password", Cue::Auth),
    ("password has expired", Cue::Auth),
    ("approved this consumer", Cue::Auth),
    ("expired access/refresh token", Cue::Auth),
    ("authentication failure", Cue::Auth),
    ("down for maintenance", Cue::Unavailable),
    ("service not available", Cue::Unavailable),
    ("service unavailable", Cue::Unavailable),
    ("internal server error", Cue::ServerError),
    ("please include this errorid", Cue::ServerError),
    ("transaction security polic", Cue::UnclearRefusal),
    ("sobject type '", Cue::HiddenObject),
    ("security evaluation for non-admin", Cue::HiddenObject),
    ("no such column", Cue::HiddenField),
    // Record level.
    ("data value too large", Cue::TooLong),
    ("invalid email address", Cue::InvalidEmail),
    ("bad value for restricted picklist", Cue::RestrictedPicklist),
    ("use one of these records?", Cue::DuplicateRule),
    ("duplicate rule", Cue::DuplicateRule),
    ("creating a duplicate", Cue::DuplicateRule),
    ("duplicate value found", Cue::UniqueValue),
    ("duplicate external id specified", Cue::UniqueValue),
    ("record found for external id", Cue::UniqueValue),
    ("rights on cross-reference id", Cue::MissingRecord),
    ("entity is deleted", Cue::MissingRecord),
    ("access rights on object id", Cue::RecordAccess),
    ("has no sharing access", Cue::RecordAccess),
    ("insufficient privileges", Cue::RecordAccess),
    ("unable to create/update fields", Cue::FieldNotWritable),
    ("bad field names on insert/update", Cue::FieldNotWritable),
    ("owner is inactive", Cue::InactiveOwner),
    ("performed with inactive user", Cue::InactiveOwner),
    ("required fields are missing", Cue::RequiredMissing),
    ("before specifying a state", Cue::CountryMissing),
    ("problem with this country", Cue::StateOrCountry),
    ("problem with this state", Cue::StateOrCountry),
    ("an available state", Cue::StateOrCountry),
    ("an available country", Cue::StateOrCountry),
    ("recognize the state", Cue::StateOrCountry),
    ("id value of incorrect type", Cue::IncorrectId),
    ("does not match filter criteria", Cue::LookupFilter),
    ("invalid cross reference id", Cue::CrossReference),
    ("foreign key external id", Cue::MissingId),
    ("id not specified in an update call", Cue::MissingId),
    ("record type missing", Cue::RecordType),
    ("record type id: this id value", Cue::RecordType),
    ("cannot deserialize instance of", Cue::TypeMismatch),
    ("value not of required type", Cue::TypeMismatch),
    ("valid value for the type xsd:", Cue::TypeMismatch),
    ("value outside of valid range", Cue::OutOfRange),
    ("cannot reference converted lead", Cue::Unsupported),
    // Hints.
    ("incorrect type: 00g", Cue::QueueId),
    ("must specify", Cue::MustSpecify),
    ("on sobject of type", Cue::WriteTime),
];

/// Apex exceptions read `System.<Name>Exception`; the automaton finds
/// `system.` and [`Scan::note`] checks the name, which no fixed pattern can.
const APEX_EXCEPTION: &str = "system.";

/// How many stretches of a long message the automaton walks at once. One
/// walk is bound by the latency of its table lookups (each needs the state
/// the previous one produced); four independent walks keep the core busy
/// (measured: 2.0 ns/byte for one, 0.8 for four, and eight were slower).
const LANES: usize = 4;

/// How a pattern of the automaton is read.
#[derive(Clone, Copy)]
enum Form {
    /// A status code: a whole word only.
    Code(Cue),
    /// A phrase: anywhere.
    Phrase(Cue),
    /// `system.` followed by a name ending in `Exception`.
    ApexException,
}

/// The automaton over every code and phrase, and the tables that read it.
struct Matcher {
    /// Unanchored, `Standard` semantics: every occurrence of every pattern
    /// is reported, overlapping ones too (`INVALID_FIELD` inside
    /// `INVALID_FIELD_FOR_INSERT_UPDATE` is then rejected as not a word).
    dfa: DFA,
    /// The unanchored start state.
    start: StateID,
    /// The longest pattern: a walk started this many bytes early is in the
    /// same state as one started at the beginning, since an Aho-Corasick
    /// state is the longest suffix read that is a prefix of some pattern.
    warm: usize,
    /// How to read each pattern, by pattern id.
    forms: Vec<Form>,
    /// `CODES` by key, sorted by hash, to look status codes up in.
    codes: Vec<(CodeKey, Cue)>,
}

/// Built once per process, on first use.
fn matcher() -> &'static Matcher {
    static MATCHER: OnceLock<Matcher> = OnceLock::new();
    MATCHER.get_or_init(|| {
        let forms: Vec<Form> = CODES
            .iter()
            .map(|&(_, cue)| Form::Code(cue))
            .chain(PHRASES.iter().map(|&(_, cue)| Form::Phrase(cue)))
            .chain([Form::ApexException])
            .collect();
        let patterns = CODES
            .iter()
            .chain(PHRASES)
            .map(|&(p, _)| p)
            .chain([APEX_EXCEPTION]);
        let dfa = DFA::builder()
            .match_kind(MatchKind::Standard)
            .ascii_case_insensitive(true)
            // No prefilter: with this many case-insensitive patterns there is
            // no rare byte to skip to, and the walk below does not use one.
            .prefilter(false)
            .build(patterns)
            .expect("the classifier's patterns build a DFA");
        let start = dfa
            .start_state(Anchored::No)
            .expect("the DFA supports unanchored searches");
        let warm = dfa.max_pattern_len();
        let mut codes: Vec<(CodeKey, Cue)> = CODES
            .iter()
            .map(|&(code, cue)| (CodeKey::of(code.as_bytes()).expect("codes are short"), cue))
            .collect();
        codes.sort_by_key(|(k, _)| k.hash);
        Matcher {
            dfa,
            start,
            warm,
            forms,
            codes,
        }
    })
}

impl Matcher {
    /// Calls `found(pattern, end)` for every occurrence of every pattern in
    /// `hay`, in no particular order. A long message is cut into [`LANES`]
    /// stretches walked in lock step, each from [`Matcher::warm`] bytes
    /// before its own stretch and reporting only matches that end inside it,
    /// so every occurrence is reported exactly once.
    fn walk(&self, hay: &[u8], mut found: impl FnMut(PatternID, usize)) {
        let dfa = &self.dfa;
        let mut report = |sid: StateID, at: usize| {
            if dfa.is_match(sid) {
                for i in 0..dfa.match_len(sid) {
                    found(dfa.match_pattern(sid, i), at + 1);
                }
            }
        };
        let step = |sid, byte| dfa.next_state(Anchored::No, sid, byte);
        let n = hay.len();
        // Below this the early starts cost more than the lanes save (and the
        // first lane must own at least `warm` bytes).
        if n < 3 * self.warm {
            let mut sid = self.start;
            for (at, &byte) in hay.iter().enumerate() {
                sid = step(sid, byte);
                if dfa.is_special(sid) {
                    report(sid, at);
                }
            }
            return;
        }
        // Equal walks: the first lane needs no early start, so it owns
        // `warm` bytes more than the others; only rounding is left over.
        let walk = (n + (LANES - 1) * self.warm).div_ceil(LANES);
        let own: [usize; LANES] = std::array::from_fn(|k| {
            if k == 0 {
                0
            } else {
                walk + (k - 1) * (walk - self.warm)
            }
        });
        let from = own.map(|o| o.saturating_sub(self.warm));
        let to: [usize; LANES] = std::array::from_fn(|k| own.get(k + 1).map_or(n, |&o| o.min(n)));
        let common = (0..LANES).map(|k| to[k] - from[k]).min().unwrap_or(0);
        let lane = |k: usize| &hay[from[k]..from[k] + common];
        let mut sid = [self.start; LANES];
        // Written out for four lanes: indexing an array of lanes costs a
        // bounds check per byte that the zipped iterators do not.
        let bytes = lane(0).iter().zip(lane(1)).zip(lane(2)).zip(lane(3));
        for (i, (((&b0, &b1), &b2), &b3)) in bytes.enumerate() {
            sid = [
                step(sid[0], b0),
                step(sid[1], b1),
                step(sid[2], b2),
                step(sid[3], b3),
            ];
            if sid.iter().any(|&s| dfa.is_special(s)) {
                for k in 0..LANES {
                    if dfa.is_special(sid[k]) && from[k] + i >= own[k] {
                        report(sid[k], from[k] + i);
                    }
                }
            }
        }
        for k in 0..LANES {
            let mut s = sid[k];
            for (at, &byte) in hay.iter().enumerate().take(to[k]).skip(from[k] + common) {
                s = step(s, byte);
                if dfa.is_special(s) && at >= own[k] {
                    report(s, at);
                }
            }
        }
    }
}

/// Which of [`Scan`]'s earliest-match slots a pattern competes for.
#[derive(Clone, Copy)]
enum Slot {
    Custom,
    Code,
    Phrase,
}

/// What one pass over a message found.
#[derive(Default)]
struct Scan {
    /// Every cue named anywhere, as bits.
    seen: u64,
    /// The earliest flow or Apex marker: the outermost custom code.
    custom: Option<(usize, Cue)>,
    /// The earliest status code other than a wrapper or a custom-code one.
    code: Option<(usize, Cue)>,
    /// The earliest phrase that decides on its own.
    phrase: Option<(usize, Cue)>,
}

impl Scan {
    /// One pass of the automaton over `message`.
    fn of(message: &str) -> Scan {
        let m = matcher();
        let hay = message.as_bytes();
        let mut scan = Scan::default();
        m.walk(hay, |pattern, end| {
            let start = end - m.dfa.pattern_len(pattern);
            scan.note(m.forms[pattern.as_usize()], hay, start, end);
        });
        scan
    }

    /// Records one occurrence; matches arrive in no particular order, hence
    /// the explicit earliest-start bookkeeping.
    fn note(&mut self, form: Form, hay: &[u8], start: usize, end: usize) {
        let (cue, slot) = match form {
            Form::Code(_) if !is_word(hay, start, end) => return,
            Form::Code(cue @ (Cue::Flow | Cue::Apex)) => (cue, Some(Slot::Custom)),
            Form::Code(cue) if cue.is_wrapper() => (cue, None),
            Form::Code(cue) => (cue, Some(Slot::Code)),
            Form::Phrase(cue @ (Cue::Flow | Cue::Apex)) => (cue, Some(Slot::Custom)),
            Form::Phrase(cue) if cue.is_hint() => (cue, None),
            Form::Phrase(cue) => (cue, Some(Slot::Phrase)),
            Form::ApexException if names_exception(&hay[end..]) => (Cue::Apex, Some(Slot::Custom)),
            Form::ApexException => return,
        };
        self.seen |= cue.bit();
        let earliest = match slot {
            Some(Slot::Custom) => &mut self.custom,
            Some(Slot::Code) => &mut self.code,
            Some(Slot::Phrase) => &mut self.phrase,
            None => return,
        };
        if earliest.is_none_or(|(at, _)| start < at) {
            *earliest = Some((start, cue));
        }
    }

    /// Whether the message names `cue` anywhere.
    fn has(&self, cue: Cue) -> bool {
        self.seen & cue.bit() != 0
    }
}

/// Whether `hay[start..end]` is not part of a longer identifier.
fn is_word(hay: &[u8], start: usize, end: usize) -> bool {
    let ident = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    let before = start.checked_sub(1).and_then(|i| hay.get(i));
    !before.is_some_and(ident) && !hay.get(end).is_some_and(ident)
}

/// Whether `rest` opens with an identifier ending in `Exception`, as in
/// `DmlException: Insert failed`.
fn names_exception(rest: &[u8]) -> bool {
    let len = rest
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .unwrap_or(rest.len());
    ends_with_ignore_case(&rest[..len], b"exception")
}

/// ASCII case-insensitive suffix test, without a lower-case copy.
fn ends_with_ignore_case(hay: &[u8], suffix: &[u8]) -> bool {
    hay.len() >= suffix.len() && hay[hay.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// The cue of a status code, compared ignoring ASCII case and `_` so the
/// SOAP/REST (`INVALID_SESSION_ID`), Bulk (`InvalidSessionId`) and OAuth
/// (`invalid_grant`) spellings all count; a SOAP fault's `sf:` prefix is
/// dropped. `None` when empty or unknown.
fn status_cue(status: &str) -> Option<Cue> {
    let status = status.trim();
    let status = status.strip_prefix("sf:").unwrap_or(status);
    let key = CodeKey::of(status.as_bytes())?;
    let codes = &matcher().codes;
    // Hashes first (no string comparison on the way), then the one candidate.
    let i = codes.partition_point(|(k, _)| k.hash < key.hash);
    codes
        .get(i)
        .filter(|(k, _)| k.hash == key.hash && k.bytes() == key.bytes())
        .map(|&(_, cue)| cue)
}

/// A status code upper-cased without `_`, the form codes compare in, kept
/// on the stack, with its FNV-1a hash.
#[derive(Clone, Copy)]
struct CodeKey {
    hash: u64,
    len: usize,
    buf: [u8; CodeKey::MAX],
}

impl CodeKey {
    /// Longer than the longest code (45): not a code.
    const MAX: usize = 64;

    /// The key of `code`, or `None` if it is too long to be a code.
    fn of(code: &[u8]) -> Option<CodeKey> {
        let mut key = CodeKey {
            hash: 0xcbf2_9ce4_8422_2325,
            len: 0,
            buf: [0; CodeKey::MAX],
        };
        for byte in code.iter().filter(|&&b| b != b'_') {
            let byte = byte.to_ascii_uppercase();
            *key.buf.get_mut(key.len)? = byte;
            key.len += 1;
            key.hash = (key.hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        Some(key)
    }

    /// The normalised code.
    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// The classification a cue stands for, refined by the hints, the fields and
/// the object (the "result" column of the module's cause table).
fn resolve(cue: Cue, failure: &FailureText<'_>, scan: &Scan) -> Classification {
    use Classification::{Record, Suspension};
    use ErrorType as T;
    use SuspensionReason as S;

    let record = match cue {
        Cue::Flow => T::SalesforceFlow,
        Cue::Apex | Cue::EntityWrapper => T::SalesforceAutomation,
        Cue::UnknownException | Cue::ServerError => {
            return Suspension(S::SalesforceServerError);
        }
        Cue::Lock => return Suspension(S::SalesforceOrgLocked),
        Cue::Storage => return Suspension(S::SalesforceStorageLimitExceeded),
        Cue::DailyLimit if !scan.has(Cue::ConcurrentLimit) => {
            return Suspension(S::SalesforceApiLimitExceeded);
        }
        Cue::DailyLimit | Cue::ConcurrentLimit => {
            return Suspension(S::SalesforceConcurrentLimitExceeded);
        }
        Cue::ApiDisabled => return Suspension(S::SalesforceApiDisabled),
        Cue::Auth => return Suspension(S::SalesforceAuthFailed),
        Cue::Unavailable => return Suspension(S::SalesforceOrgUnavailable),
        Cue::UnclearRefusal => return Suspension(S::Unknown),
        Cue::HiddenObject => return Suspension(S::MissingObjectPermissions),
        // The same words on a write are about one record's field.
        Cue::HiddenField if scan.has(Cue::WriteTime) => T::FieldPermission,
        Cue::HiddenField => return Suspension(S::MissingFieldPermissions),
        Cue::InvalidField if scan.has(Cue::HiddenField) => {
            return resolve(Cue::HiddenField, failure, scan);
        }
        Cue::InvalidField if scan.has(Cue::MissingId) => T::MissingSalesforceId,
        Cue::InvalidField | Cue::FieldNotWritable => T::FieldPermission,
        Cue::ValidationRule => T::CustomValidationRule,
        Cue::DuplicateRule => T::SalesforceDuplicateRule,
        Cue::UniqueValue => T::RestrictedUniqueValue,
        Cue::TooLong => T::StringTooLong,
        Cue::InvalidEmail => T::InvalidEmail,
        Cue::RestrictedPicklist if names_stage(failure) => T::InvalidOpportunityStage,
        Cue::RestrictedPicklist => T::RestrictedPicklistValue,
        Cue::InactiveOwner => T::InactiveOwner,
        Cue::MissingRecord => T::InsufficientAccessOrMissingRecord,
        Cue::RecordAccess => T::InsufficientAccess,
        Cue::FieldIntegrity => field_integrity(failure, scan),
        Cue::IncorrectId => incorrect_id(failure, scan),
        Cue::LookupFilter => T::InvalidSalesforceId,
        Cue::CrossReference if scan.has(Cue::RecordType) || has_field(failure, "RecordTypeId") => {
            T::DefaultSalesProcessUnavailable
        }
        Cue::CrossReference | Cue::MissingId => T::MissingSalesforceId,
        Cue::RecordType => T::DefaultSalesProcessUnavailable,
        Cue::TypeMismatch => T::TypeMismatch,
        Cue::OutOfRange => T::InvalidValue,
        Cue::RequiredMissing if names_stage(failure) => T::InvalidOpportunityStage,
        Cue::RequiredMissing => T::MissingRequiredValue,
        Cue::CountryMissing => T::MissingRequiredCountry,
        Cue::StateOrCountry => T::MismatchedStateOrCountry,
        Cue::Unsupported | Cue::QueueId | Cue::MustSpecify | Cue::WriteTime => T::Unknown,
    };
    Record(record)
}

/// `FIELD_INTEGRITY_EXCEPTION` is Salesforce's catch-all for a value that
/// breaks a platform constraint: mostly addresses and references.
fn field_integrity(failure: &FailureText<'_>, scan: &Scan) -> ErrorType {
    if scan.has(Cue::CountryMissing) {
        ErrorType::MissingRequiredCountry
    } else if scan.has(Cue::StateOrCountry) || failure.fields.iter().any(|f| is_address_field(f)) {
        ErrorType::MismatchedStateOrCountry
    } else if scan.has(Cue::IncorrectId) {
        incorrect_id(failure, scan)
    } else if scan.has(Cue::MustSpecify) {
        ErrorType::MissingSalesforceId
    } else if scan.has(Cue::LookupFilter) || failure.fields.iter().any(|f| is_lookup_field(f)) {
        ErrorType::InvalidSalesforceId
    } else {
        ErrorType::InvalidValue
    }
}

/// An id of the wrong object in a lookup: a queue (`00G…`) or anything in
/// `OwnerId` is an owner Salesforce will not take (typically a task assigned
/// to a queue); anything else is a wrong id.
fn incorrect_id(failure: &FailureText<'_>, scan: &Scan) -> ErrorType {
    if scan.has(Cue::QueueId) || has_field(failure, "OwnerId") {
        ErrorType::OwnerAssignment
    } else {
        ErrorType::InvalidSalesforceId
    }
}

/// Whether Salesforce blamed this field (API names are case-insensitive).
fn has_field(failure: &FailureText<'_>, name: &str) -> bool {
    failure.fields.iter().any(|f| f.eq_ignore_ascii_case(name))
}

/// Whether the failure is about an opportunity's stage, which has its own
/// type rather than the generic picklist or required-value one.
fn names_stage(failure: &FailureText<'_>) -> bool {
    let object = failure.object_type;
    (object.is_empty() || object.eq_ignore_ascii_case("Opportunity"))
        && (has_field(failure, "StageName") || has_field(failure, "Stage"))
}

/// Standard address fields: `BillingCountryCode`, `MailingState`, `Country`.
fn is_address_field(field: &str) -> bool {
    let f = field.as_bytes();
    ["country", "countrycode", "state", "statecode"]
        .iter()
        .any(|s| ends_with_ignore_case(f, s.as_bytes()))
}

/// Standard lookups end in `Id` (`WhoId`, `PricebookEntryId`); custom ones
/// cannot be told from other custom fields by name.
fn is_lookup_field(field: &str) -> bool {
    field.len() >= 2 && field.ends_with("Id")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn classify_text(
        status_code: &str,
        message: &str,
        fields: &[&str],
        object: &str,
    ) -> Classification {
        let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        classify(&FailureText {
            status_code,
            message,
            fields: &fields,
            object_type: object,
        })
    }

    /// Every `(pattern, end)` the walk reports, sorted.
    fn walked(hay: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        matcher().walk(hay, |p, end| out.push((p.as_usize(), end)));
        out.sort_unstable();
        out
    }

    /// The same from the library's own overlapping search: the reference.
    fn searched(hay: &[u8]) -> Vec<(usize, usize)> {
        let iter = matcher()
            .dfa
            .try_find_overlapping_iter(aho_corasick::Input::new(hay))
            .expect("overlapping search is supported");
        let mut out: Vec<_> = iter.map(|m| (m.pattern().as_usize(), m.end())).collect();
        out.sort_unstable();
        out
    }

    fn fragment() -> impl Strategy<Value = String> {
        let patterns: Vec<&str> = CODES.iter().chain(PHRASES).map(|&(p, _)| p).collect();
        prop_oneof![
            prop::sample::select(patterns).prop_map(str::to_owned),
            "[a-zA-Z_ .:'()]{0,40}",
        ]
    }

    proptest! {
        #[test]
        fn the_lanes_find_what_one_walk_finds(
            parts in prop::collection::vec(fragment(), 0..80),
        ) {
            let hay = parts.concat();
            prop_assert_eq!(walked(hay.as_bytes()), searched(hay.as_bytes()));
        }
    }

    /// Any text at all: control characters, newlines and any Unicode scalar.
    fn any_text(max: usize) -> impl Strategy<Value = String> {
        proptest::string::string_regex(&format!("(?s).{{0,{max}}}")).expect("a valid pattern")
    }

    /// A message: patterns among arbitrary Unicode, long enough at times
    /// to be walked in lanes, or any text at all.
    fn any_message() -> impl Strategy<Value = String> {
        let part = prop_oneof![fragment(), any_text(30), "\\PC{0,30}"];
        prop_oneof![
            prop::collection::vec(part, 0..40).prop_map(|p| p.concat()),
            any_text(300),
        ]
    }

    /// A status code: a known one, near one, or any text.
    fn any_status() -> impl Strategy<Value = String> {
        let codes: Vec<&str> = CODES.iter().map(|&(code, _)| code).collect();
        prop_oneof![
            prop::sample::select(codes).prop_map(str::to_owned),
            "(sf:)?[A-Za-z_ ]{0,70}",
            any_text(80),
        ]
    }

    /// Field names and objects the rules look at, and any text.
    fn any_name() -> impl Strategy<Value = String> {
        let known = vec![
            "StageName",
            "OwnerId",
            "RecordTypeId",
            "BillingCountryCode",
            "MailingState",
            "WhoId",
            "Opportunity",
            "Id",
            "",
        ];
        prop_oneof![
            prop::sample::select(known).prop_map(str::to_owned),
            any_text(20),
        ]
    }

    /// `code` as another API spells it: any case, underscores dropped or
    /// added, a SOAP fault's `sf:` prefix, whitespace around.
    fn respelled(code: &str, upper: &[bool], underscores: &[bool], sf: bool, pad: &str) -> String {
        let body: String = code
            .chars()
            .filter(|&c| c != '_')
            .zip(upper.iter().cycle())
            .zip(underscores.iter().cycle())
            .map(|((c, &up), &underscore)| {
                let c = if up {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                };
                if underscore {
                    format!("{c}_")
                } else {
                    c.to_string()
                }
            })
            .collect();
        let prefix = if sf { "sf:" } else { "" };
        format!("{pad}{prefix}{body}{pad}")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any failure whatever classifies, without panicking, the same way
        /// every time, into a class with guidance for the operator.
        #[test]
        fn any_failure_classifies_the_same_every_time(
            status in any_status(),
            message in any_message(),
            fields in prop::collection::vec(any_name(), 0..4),
            object in any_name(),
        ) {
            let field_refs: Vec<&str> = fields.iter().map(String::as_str).collect();
            let first = classify_text(&status, &message, &field_refs, &object);
            let again = classify_text(&status.clone(), &message.clone(), &field_refs, &object.clone());
            prop_assert_eq!(first, again);
            prop_assert!(!first.guidance().is_empty());
        }

        /// The message is read ignoring ASCII case: upper- or lower-casing
        /// it never changes the class.
        #[test]
        fn the_message_is_read_ignoring_case(
            status in any_status(),
            message in any_message(),
            fields in prop::collection::vec(any_name(), 0..3),
        ) {
            let field_refs: Vec<&str> = fields.iter().map(String::as_str).collect();
            let given = classify_text(&status, &message, &field_refs, "");
            let upper = classify_text(&status, &message.to_ascii_uppercase(), &field_refs, "");
            let lower = classify_text(&status, &message.to_ascii_lowercase(), &field_refs, "");
            prop_assert_eq!(given, upper);
            prop_assert_eq!(given, lower);
        }

        /// A status code counts however it is spelt: case, underscores, a
        /// `sf:` prefix and surrounding whitespace never change the class.
        #[test]
        fn status_codes_count_however_spelt(
            code in prop::sample::select(CODES.iter().map(|&(code, _)| code).collect::<Vec<_>>()),
            upper in prop::collection::vec(any::<bool>(), 1..8),
            underscores in prop::collection::vec(prop::bool::weighted(0.2), 1..8),
            sf in any::<bool>(),
            pad in prop::sample::select(vec!["", " ", "\t", " \n"]),
            message in any_message(),
            fields in prop::collection::vec(any_name(), 0..3),
        ) {
            let field_refs: Vec<&str> = fields.iter().map(String::as_str).collect();
            let spelt = respelled(code, &upper, &underscores, sf, pad);
            prop_assert_eq!(
                classify_text(&spelt, &message, &field_refs, ""),
                classify_text(code, &message, &field_refs, ""),
                "{:?} as {:?}", code, spelt
            );
        }
    }

    #[test]
    fn the_lanes_find_matches_across_their_seams() {
        let m = matcher();
        let pattern = "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY";
        // Every placement of a longest pattern around the lane seams.
        for len in [3 * m.warm, 3 * m.warm + 1, 200, 1000, 1024, 1500] {
            for at in 0..=len - pattern.len() {
                let mut hay = vec![b'.'; len];
                hay[at..at + pattern.len()].copy_from_slice(pattern.as_bytes());
                assert_eq!(walked(&hay), searched(&hay), "len {len}, at {at}");
            }
        }
    }

    #[test]
    fn code_keys_do_not_collide() {
        let mut hashes: Vec<u64> = matcher().codes.iter().map(|(k, _)| k.hash).collect();
        hashes.dedup();
        assert_eq!(hashes.len(), CODES.len());
    }

    #[test]
    fn the_cue_set_fits_in_the_bit_set() {
        assert!((Cue::WriteTime as u32) < 64);
    }

    #[test]
    fn patterns_are_unique() {
        let mut all: Vec<String> = CODES
            .iter()
            .chain(PHRASES)
            .map(|(p, _)| p.to_ascii_lowercase())
            .collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
    }

    #[test]
    fn status_codes_compare_ignoring_case_and_underscores() {
        assert_eq!(status_cue("InvalidSessionId"), Some(Cue::Auth));
        assert_eq!(status_cue("invalid_grant"), Some(Cue::Auth));
        assert_eq!(status_cue(" sf:INVALID_SESSION_ID "), Some(Cue::Auth));
        assert_eq!(status_cue("INVALID_TYPE"), Some(Cue::HiddenObject));
        assert_eq!(status_cue("INVALID_TYPE_X"), None);
        assert_eq!(status_cue(""), None);
        assert_eq!(status_cue("_"), None);
    }

    #[test]
    fn codes_in_the_text_count_as_whole_words_only() {
        assert_eq!(
            classify_text(
                "",
                "[{\"errorCode\":\"INVALID_TYPE_ON_FIELD_IN_RECORD\"}]",
                &[],
                ""
            ),
            Classification::Record(ErrorType::TypeMismatch)
        );
        assert_eq!(
            classify_text("", "XINVALID_EMAIL_ADDRESS", &[], ""),
            Classification::Record(ErrorType::Unknown)
        );
    }

    #[test]
    fn apex_exceptions_need_the_exception_suffix() {
        assert_eq!(
            classify_text(
                "",
                "System.NullPointerException: Attempt to de-reference",
                &[],
                ""
            ),
            Classification::Record(ErrorType::SalesforceAutomation)
        );
        assert_eq!(
            classify_text("", "The operating system. Nothing else", &[], ""),
            Classification::Record(ErrorType::Unknown)
        );
        assert_eq!(
            classify_text("", "system.", &[], ""),
            Classification::Record(ErrorType::Unknown)
        );
    }

    #[test]
    fn empty_input_is_unknown() {
        assert_eq!(
            classify_text("", "", &[], ""),
            Classification::Record(ErrorType::Unknown)
        );
    }
}
