//! The sync-error domain, pure: failures as workers report them, current
//! errors as the service keeps them, their identity, filters and limits.
//! Validation lives here so that every edge refuses bad input the same way.

use std::fmt;

use syncgov_kit::input::check_recent;
pub use syncgov_kit::input::{InvalidInput, OrgId, check_text};

use crate::classify::Explanation;
use crate::taxonomy::{Basis, Category, ErrorType, Stated};

/// Most failures in one ingest or classify call.
pub const MAX_BATCH: usize = 1_000;
/// Most errors one resync call may select; beyond it, re-import instead.
pub const MAX_RESYNC: usize = 100;
/// Longest idempotency key, in characters.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 128;
/// Longest object type name.
pub const MAX_OBJECT_TYPE_LEN: usize = 64;
/// Longest CRM record id.
pub const MAX_RECORD_ID_LEN: usize = 128;
/// Longest Salesforce id (18 characters is the case-safe form).
pub const MAX_SALESFORCE_ID_LEN: usize = 18;
/// Longest status code.
pub const MAX_STATUS_CODE_LEN: usize = 64;
/// Longest message kept, in characters.
pub const MAX_MESSAGE_LEN: usize = 4_096;
/// Most fields one failure may name, and the longest name.
pub const MAX_FIELDS: usize = 50;
/// Longest field name.
pub const MAX_FIELD_LEN: usize = 128;
/// Most a failure's `occurred_at` may lie ahead of this service's clock:
/// workers' clocks differ a little from it, never by much.
pub const MAX_FUTURE_SKEW_MS: i64 = 5 * 60_000;
/// Most a failure's `occurred_at` may lie behind this service's clock: a
/// worker that buffered its reports through a long outage may still send
/// them; older ones are history, not current errors.
pub const MAX_FAILURE_AGE_MS: i64 = 30 * 24 * 3_600_000;
/// Page size when the request leaves it unset, and the largest allowed.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Largest page.
pub const MAX_PAGE_SIZE: usize = 500;

/// Which way a sync went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Not known.
    #[default]
    Unknown,
    /// CRM to Salesforce.
    ToSalesforce,
    /// Salesforce to CRM.
    FromSalesforce,
}

impl Direction {
    /// Stored form.
    pub fn number(self) -> i32 {
        match self {
            Direction::Unknown => 0,
            Direction::ToSalesforce => 1,
            Direction::FromSalesforce => 2,
        }
    }

    /// From the stored form; unknown numbers are [`Direction::Unknown`].
    pub fn from_number(n: i32) -> Self {
        match n {
            1 => Direction::ToSalesforce,
            2 => Direction::FromSalesforce,
            _ => Direction::Unknown,
        }
    }

    /// Name in exports.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Unknown => "",
            Direction::ToSalesforce => "TO_SALESFORCE",
            Direction::FromSalesforce => "FROM_SALESFORCE",
        }
    }
}

/// Where an error stands. Open, resyncing and dead errors are current.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorState {
    /// Current, nothing under way.
    Open,
    /// Current, a resync job is queued or running.
    Resyncing,
    /// Current, its resync failed every attempt.
    Dead,
    /// No longer current.
    Resolved,
}

impl ErrorState {
    /// Stored form (the contract's numbers).
    pub fn number(self) -> i32 {
        match self {
            ErrorState::Open => 1,
            ErrorState::Resyncing => 2,
            ErrorState::Dead => 3,
            ErrorState::Resolved => 4,
        }
    }

    /// From the stored form.
    pub fn from_number(n: i32) -> Option<Self> {
        Some(match n {
            1 => ErrorState::Open,
            2 => ErrorState::Resyncing,
            3 => ErrorState::Dead,
            4 => ErrorState::Resolved,
            _ => return None,
        })
    }

    /// True while the error counts in health.
    pub fn is_current(self) -> bool {
        self != ErrorState::Resolved
    }

    /// Name in exports.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorState::Open => "OPEN",
            ErrorState::Resyncing => "RESYNCING",
            ErrorState::Dead => "DEAD",
            ErrorState::Resolved => "RESOLVED",
        }
    }
}

/// A failure as a worker reported it, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Names the report; seen twice, counted once.
    pub idempotency_key: String,
    /// Salesforce object.
    pub object_type: String,
    /// The record's CRM id.
    pub crm_record_id: String,
    /// The record's Salesforce id, possibly empty.
    pub salesforce_id: String,
    /// Which way the sync went.
    pub direction: Direction,
    /// Salesforce's status code.
    pub status_code: String,
    /// Salesforce's message.
    pub message: String,
    /// Fields the error names.
    pub fields: Vec<String>,
    /// When it happened, ms since the epoch; `None` means at ingest.
    pub occurred_at_ms: Option<i64>,
    /// The type or reason the worker detected itself, which wins over the
    /// text.
    pub stated: Option<Stated>,
}

impl Failure {
    /// Checks every field; `at` names the failure in errors
    /// (`failures[3]`).
    pub fn validate(&self, at: &str) -> Result<(), InvalidInput> {
        let field = |name: &str| format!("{at}.{name}");
        check_text(
            &field("idempotency_key"),
            &self.idempotency_key,
            MAX_IDEMPOTENCY_KEY_LEN,
            true,
        )?;
        check_object_type(&field("object_type"), &self.object_type)?;
        check_record_id(&field("crm_record_id"), &self.crm_record_id)?;
        if self.salesforce_id.len() > MAX_SALESFORCE_ID_LEN
            || !self
                .salesforce_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric())
        {
            return Err(InvalidInput::new(
                field("salesforce_id"),
                format!("must be at most {MAX_SALESFORCE_ID_LEN} characters of A-Z a-z 0-9"),
            ));
        }
        check_text(
            &field("status_code"),
            &self.status_code,
            MAX_STATUS_CODE_LEN,
            false,
        )?;
        if self.message.chars().count() > MAX_MESSAGE_LEN {
            return Err(InvalidInput::new(
                field("message"),
                format!("must be at most {MAX_MESSAGE_LEN} characters"),
            ));
        }
        if self.fields.len() > MAX_FIELDS {
            return Err(InvalidInput::new(
                field("fields"),
                format!("must name at most {MAX_FIELDS} fields"),
            ));
        }
        for (i, name) in self.fields.iter().enumerate() {
            check_text(&format!("{at}.fields[{i}]"), name, MAX_FIELD_LEN, true)?;
        }
        Ok(())
    }

    /// The identity of the current error this failure counts towards.
    pub fn error_id(&self, error_type: ErrorType) -> ErrorId {
        ErrorId::of(&self.object_type, &self.crm_record_id, error_type)
    }
}

/// Checks a failure's `occurred_at` (read from the caller's protobuf
/// timestamp, in ms): at most [`MAX_FUTURE_SKEW_MS`] ahead of `now_ms` and
/// at most [`MAX_FAILURE_AGE_MS`] behind it. So every time stored is a
/// millisecond count of 13 digits, which every store and script writes out
/// as it is.
pub fn check_occurred_at(field: &str, at_ms: i64, now_ms: i64) -> Result<(), InvalidInput> {
    check_recent(field, at_ms, now_ms, MAX_FUTURE_SKEW_MS, MAX_FAILURE_AGE_MS)
}

/// Checks a Salesforce object name (API names: letters, digits, underscores).
pub fn check_object_type(field: &str, text: &str) -> Result<(), InvalidInput> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if text.is_empty() || text.len() > MAX_OBJECT_TYPE_LEN || !text.chars().all(ok_char) {
        return Err(InvalidInput::new(
            field,
            format!("must be 1 to {MAX_OBJECT_TYPE_LEN} characters of A-Z a-z 0-9 _"),
        ));
    }
    Ok(())
}

/// Checks a CRM record id.
pub fn check_record_id(field: &str, text: &str) -> Result<(), InvalidInput> {
    check_text(field, text, MAX_RECORD_ID_LEN, true)
}

/// A current error's id: derived from what makes an error one error, its
/// (object type, record, error type), so that every replica and every retry
/// finds the same error without a lookup.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ErrorId(String);

impl ErrorId {
    /// The id of the error of `error_type` on record `record` of `object`.
    pub fn of(object: &str, record: &str, error_type: ErrorType) -> Self {
        // FNV-1a over the parts, twice with different offsets for 128 bits;
        // the separator keeps ("ab", "c") apart from ("a", "bc").
        let mut hashes = [0xcbf2_9ce4_8422_2325u64, 0x6c62_272e_07bb_0142u64];
        for hash in &mut hashes {
            for part in [
                object.as_bytes(),
                b"\x1f",
                record.as_bytes(),
                b"\x1f",
                error_type.code().as_bytes(),
            ] {
                for &byte in part {
                    *hash ^= u64::from(byte);
                    *hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
                }
            }
        }
        Self(format!("e{:016x}{:08x}", hashes[0], hashes[1] >> 32))
    }

    /// Checks an id given by a caller.
    pub fn parse(field: &str, text: &str) -> Result<Self, InvalidInput> {
        let ok = text.len() == 25
            && text.starts_with('e')
            && text[1..].chars().all(|c| c.is_ascii_hexdigit());
        if !ok {
            return Err(InvalidInput::new(
                field,
                "must be an error_id the service returned",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ErrorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What decided an error's classification, as the store keeps it: the
/// [`Explanation`] with its confidence in thousandths, so that it compares
/// and stores exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorExplanation {
    /// What decided.
    pub basis: Basis,
    /// How sure, in thousandths (0 to 1 000).
    pub confidence_milli: u16,
    /// What matched.
    pub matched: String,
}

impl ErrorExplanation {
    /// Longest `matched` text kept.
    pub const MAX_MATCHED: usize = 128;

    /// The stored form of `why`.
    pub fn of(why: &Explanation) -> Self {
        let mut matched: String = why.matched.chars().take(Self::MAX_MATCHED).collect();
        matched.retain(|c| !c.is_control());
        Self {
            basis: why.basis,
            confidence_milli: (why.confidence.clamp(0.0, 1.0) * 1000.0).round() as u16,
            matched,
        }
    }

    /// The confidence as a fraction.
    pub fn confidence(&self) -> f32 {
        f32::from(self.confidence_milli) / 1000.0
    }
}

/// A current (or resolved) error as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredError {
    /// Its id.
    pub id: ErrorId,
    /// Order of creation within the org: listings are newest first by it,
    /// so that errors arriving during paging never shift a page.
    pub seq: u64,
    /// Salesforce object.
    pub object_type: String,
    /// The record's CRM id.
    pub crm_record_id: String,
    /// The record's Salesforce id, latest known.
    pub salesforce_id: String,
    /// Direction of the latest report.
    pub direction: Direction,
    /// Its type.
    pub error_type: ErrorType,
    /// Status code of the latest report.
    pub status_code: String,
    /// Message of the latest report.
    pub message: String,
    /// Fields of the latest report.
    pub fields: Vec<String>,
    /// Distinct reports.
    pub occurrences: u64,
    /// First report, ms.
    pub first_seen_ms: i64,
    /// Latest report, ms.
    pub last_seen_ms: i64,
    /// Where it stands.
    pub state: ErrorState,
    /// Resync attempts made.
    pub resync_attempts: u32,
    /// What decided its type, at the latest report; `None` for errors an
    /// earlier version stored.
    pub explanation: Option<ErrorExplanation>,
}

impl StoredError {
    /// A new open error from its first report.
    pub fn new(
        id: ErrorId,
        seq: u64,
        failure: &Failure,
        error_type: ErrorType,
        at_ms: i64,
        explanation: Option<ErrorExplanation>,
    ) -> Self {
        Self {
            id,
            seq,
            object_type: failure.object_type.clone(),
            crm_record_id: failure.crm_record_id.clone(),
            salesforce_id: failure.salesforce_id.clone(),
            direction: failure.direction,
            error_type,
            status_code: failure.status_code.clone(),
            message: failure.message.clone(),
            fields: failure.fields.clone(),
            occurrences: 1,
            first_seen_ms: at_ms,
            last_seen_ms: at_ms,
            state: ErrorState::Open,
            resync_attempts: 0,
            explanation,
        }
    }

    /// Counts another report of the same error; the latest report's details
    /// (its explanation too) win, and the times only widen (reports may
    /// arrive out of order).
    pub fn record_occurrence(
        &mut self,
        failure: &Failure,
        at_ms: i64,
        explanation: Option<ErrorExplanation>,
    ) {
        self.occurrences += 1;
        if at_ms >= self.last_seen_ms {
            self.explanation = explanation;
            self.last_seen_ms = at_ms;
            self.direction = failure.direction;
            self.status_code.clone_from(&failure.status_code);
            self.message.clone_from(&failure.message);
            self.fields.clone_from(&failure.fields);
            if !failure.salesforce_id.is_empty() {
                self.salesforce_id.clone_from(&failure.salesforce_id);
            }
        }
        self.first_seen_ms = self.first_seen_ms.min(at_ms);
    }

    /// The record this error is about: object and CRM id.
    pub fn record_key(&self) -> String {
        record_key(&self.object_type, &self.crm_record_id)
    }

    /// Its category.
    pub fn category(&self) -> Category {
        self.error_type.category()
    }
}

/// Names a record across object types.
pub fn record_key(object_type: &str, crm_record_id: &str) -> String {
    format!("{object_type}/{crm_record_id}")
}

/// A suspension-level failure, kept per org for operators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuspensionEvent {
    /// The reason.
    pub reason: crate::taxonomy::SuspensionReason,
    /// The status code.
    pub status_code: String,
    /// The message.
    pub message: String,
    /// When, ms.
    pub occurred_at_ms: i64,
    /// W3C `traceparent` of the ingest that reported it (empty without
    /// one), so that telling the governor joins the ingest's trace.
    pub trace_parent: String,
}

/// Counts of one type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TypeCounts {
    /// Current errors (one per record, so also the impacted records).
    pub errors: u64,
    /// Current errors whose resync is dead.
    pub dead: u64,
}

/// The org's counters, as kept at write time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HealthCounts {
    /// Current errors.
    pub errors: u64,
    /// Distinct records with a current error.
    pub records: u64,
    /// Per type.
    pub types: Vec<(ErrorType, TypeCounts)>,
    /// Distinct records with a current error, per category.
    pub category_records: Vec<(Category, u64)>,
    /// Latest suspension-level failures, newest first.
    pub suspensions: Vec<SuspensionEvent>,
}

impl HealthCounts {
    /// Current errors of type `UNKNOWN`: what nothing recognised.
    pub fn unknown(&self) -> u64 {
        self.types
            .iter()
            .filter(|(t, _)| *t == ErrorType::Unknown)
            .map(|(_, c)| c.errors)
            .sum()
    }

    /// The health cards: the categories and types with current errors, most
    /// errors first (ties in the taxonomy's order), so that an operator reads
    /// the worst first. A category's current errors are its types' sum; its
    /// impacted records come from their own counter, because one record may
    /// have errors of several of its types.
    pub fn cards(self) -> SyncHealth {
        let mut categories: Vec<CategoryHealth> = Category::ALL
            .iter()
            .filter_map(|&category| {
                let mut types: Vec<TypeHealth> = self
                    .types
                    .iter()
                    .filter(|(t, _)| t.category() == category)
                    .map(|&(error_type, counts)| TypeHealth { error_type, counts })
                    .collect();
                if types.is_empty() {
                    return None;
                }
                types.sort_by(|a, b| {
                    b.counts
                        .errors
                        .cmp(&a.counts.errors)
                        .then(a.error_type.number().cmp(&b.error_type.number()))
                });
                let records = self
                    .category_records
                    .iter()
                    .find(|(c, _)| *c == category)
                    .map_or(0, |(_, n)| *n);
                Some(CategoryHealth {
                    category,
                    errors: types.iter().map(|t| t.counts.errors).sum(),
                    records,
                    types,
                })
            })
            .collect();
        categories.sort_by(|a, b| {
            b.errors
                .cmp(&a.errors)
                .then(a.category.number().cmp(&b.category.number()))
        });
        SyncHealth {
            unknown: self.unknown(),
            errors: self.errors,
            records: self.records,
            categories,
            suspensions: self.suspensions,
        }
    }
}

/// An org's sync health as operators read it: the cards of
/// [`HealthCounts::cards`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncHealth {
    /// Current errors.
    pub errors: u64,
    /// Current errors of type `UNKNOWN`.
    pub unknown: u64,
    /// Distinct records with a current error.
    pub records: u64,
    /// Categories with current errors, most first.
    pub categories: Vec<CategoryHealth>,
    /// Latest suspension-level failures, newest first.
    pub suspensions: Vec<SuspensionEvent>,
}

/// One category's card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CategoryHealth {
    /// The category.
    pub category: Category,
    /// Current errors of its types.
    pub errors: u64,
    /// Distinct records with a current error of the category.
    pub records: u64,
    /// Its types with current errors, most first.
    pub types: Vec<TypeHealth>,
}

/// One type's card. One current error per record and type, so its current
/// errors are also its impacted records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypeHealth {
    /// The type.
    pub error_type: ErrorType,
    /// Its counters.
    pub counts: TypeCounts,
}

/// Which errors to list or export.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorFilter {
    /// Only this category.
    pub category: Option<Category>,
    /// Only this type.
    pub error_type: Option<ErrorType>,
    /// Only this object type.
    pub object_type: Option<String>,
    /// Only this state; `None` means every current error.
    pub state: Option<ErrorState>,
}

impl ErrorFilter {
    /// True when `error` passes.
    pub fn matches(&self, error: &StoredError) -> bool {
        self.category.is_none_or(|c| error.category() == c)
            && self.error_type.is_none_or(|t| error.error_type == t)
            && self
                .object_type
                .as_deref()
                .is_none_or(|o| error.object_type == o)
            && match self.state {
                None => error.state.is_current(),
                Some(state) => error.state == state,
            }
    }
}

/// A page position: the `seq` of the last error returned. Opaque to callers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor(pub u64);

impl Cursor {
    /// The token form.
    pub fn token(self) -> String {
        format!("p{:x}", self.0)
    }

    /// Reads a token; empty means the first page.
    pub fn parse(field: &str, token: &str) -> Result<Option<Self>, InvalidInput> {
        if token.is_empty() {
            return Ok(None);
        }
        token
            .strip_prefix('p')
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .map(|seq| Some(Cursor(seq)))
            .ok_or_else(|| {
                InvalidInput::new(field, "must be a next_page_token the service returned")
            })
    }
}

/// Checks a page size: 0 means the default.
pub fn page_size(field: &str, size: u32) -> Result<usize, InvalidInput> {
    match size as usize {
        0 => Ok(DEFAULT_PAGE_SIZE),
        n if n <= MAX_PAGE_SIZE => Ok(n),
        _ => Err(InvalidInput::new(
            field,
            format!("must be at most {MAX_PAGE_SIZE}"),
        )),
    }
}

/// One page of errors.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// Newest first.
    pub errors: Vec<StoredError>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure() -> Failure {
        Failure {
            idempotency_key: "k1".into(),
            object_type: "Contact".into(),
            crm_record_id: "crm-1".into(),
            salesforce_id: "0035g00000AbCdEAAZ".into(),
            direction: Direction::ToSalesforce,
            status_code: "STRING_TOO_LONG".into(),
            message: "Last Name: data value too large".into(),
            fields: vec!["LastName".into()],
            occurred_at_ms: Some(1_000),
            stated: None,
        }
    }

    #[test]
    fn error_ids_are_stable_and_distinct() {
        let a = ErrorId::of("Contact", "crm-1", ErrorType::StringTooLong);
        assert_eq!(a, ErrorId::of("Contact", "crm-1", ErrorType::StringTooLong));
        assert_ne!(a, ErrorId::of("Contact", "crm-1", ErrorType::InvalidEmail));
        assert_ne!(
            ErrorId::of("ab", "c", ErrorType::Unknown),
            ErrorId::of("a", "bc", ErrorType::Unknown)
        );
        assert_eq!(ErrorId::parse("error_ids[0]", a.as_str()), Ok(a));
        assert_eq!(
            ErrorId::parse("error_ids[0]", "nope").unwrap_err().field,
            "error_ids[0]"
        );
    }

    #[test]
    fn failures_are_validated_field_by_field() {
        assert!(failure().validate("failures[0]").is_ok());
        type Spoil = Box<dyn Fn(&mut Failure)>;
        let cases: Vec<(Spoil, &str)> = vec![
            (
                Box::new(|f| f.idempotency_key.clear()),
                "failures[0].idempotency_key",
            ),
            (
                Box::new(|f| f.object_type = "Con tact".into()),
                "failures[0].object_type",
            ),
            (
                Box::new(|f| f.crm_record_id = "x".repeat(129)),
                "failures[0].crm_record_id",
            ),
            (
                Box::new(|f| f.salesforce_id = "0035g00000AbCdEAAZZ".into()),
                "failures[0].salesforce_id",
            ),
            (
                Box::new(|f| f.message = "m".repeat(MAX_MESSAGE_LEN + 1)),
                "failures[0].message",
            ),
            (
                Box::new(|f| f.fields = vec!["f".into(); MAX_FIELDS + 1]),
                "failures[0].fields",
            ),
            (
                Box::new(|f| f.fields = vec!["ok".into(), "".into()]),
                "failures[0].fields[1]",
            ),
        ];
        for (spoil, field) in cases {
            let mut f = failure();
            spoil(&mut f);
            assert_eq!(f.validate("failures[0]").unwrap_err().field, field);
        }
    }

    #[test]
    fn occurrences_keep_the_latest_details_and_the_widest_times() {
        let f = failure();
        let mut e = StoredError::new(
            f.error_id(ErrorType::StringTooLong),
            1,
            &f,
            ErrorType::StringTooLong,
            1_000,
            None,
        );
        let mut later = f.clone();
        later.message = "newer".into();
        e.record_occurrence(&later, 3_000, None);
        let mut earlier = f.clone();
        earlier.message = "older".into();
        e.record_occurrence(&earlier, 500, None);
        assert_eq!(
            (e.occurrences, e.first_seen_ms, e.last_seen_ms),
            (3, 500, 3_000)
        );
        assert_eq!(e.message, "newer");
    }

    #[test]
    fn filters_default_to_current_errors() {
        let f = failure();
        let mut e = StoredError::new(
            f.error_id(ErrorType::StringTooLong),
            1,
            &f,
            ErrorType::StringTooLong,
            1_000,
            None,
        );
        let all = ErrorFilter::default();
        assert!(all.matches(&e));
        e.state = ErrorState::Resolved;
        assert!(!all.matches(&e));
        assert!(
            ErrorFilter {
                state: Some(ErrorState::Resolved),
                ..Default::default()
            }
            .matches(&e)
        );
        let other_object = ErrorFilter {
            object_type: Some("Lead".into()),
            state: Some(ErrorState::Resolved),
            ..Default::default()
        };
        assert!(!other_object.matches(&e));
    }

    #[test]
    fn cursors_and_page_sizes() {
        assert_eq!(
            Cursor::parse("page_token", &Cursor(42).token()),
            Ok(Some(Cursor(42)))
        );
        assert_eq!(Cursor::parse("page_token", ""), Ok(None));
        assert!(Cursor::parse("page_token", "zz").is_err());
        assert_eq!(page_size("page_size", 0), Ok(DEFAULT_PAGE_SIZE));
        assert!(page_size("page_size", 501).is_err());
    }

    #[test]
    fn health_cards_put_the_most_errors_first() {
        let counts = |errors, dead| TypeCounts { errors, dead };
        let cards = HealthCounts {
            errors: 9,
            records: 7,
            types: vec![
                (ErrorType::StringTooLong, counts(1, 0)),
                (ErrorType::InvalidEmail, counts(3, 1)),
                (ErrorType::SalesforceFlow, counts(5, 0)),
            ],
            category_records: vec![(ErrorType::InvalidEmail.category(), 2)],
            suspensions: Vec::new(),
        }
        .cards();
        let order: Vec<(Category, Vec<ErrorType>)> = cards
            .categories
            .iter()
            .map(|c| (c.category, c.types.iter().map(|t| t.error_type).collect()))
            .collect();
        let property = ErrorType::InvalidEmail.category();
        assert_eq!(ErrorType::StringTooLong.category(), property);
        assert_eq!(
            order,
            vec![
                (
                    ErrorType::SalesforceFlow.category(),
                    vec![ErrorType::SalesforceFlow]
                ),
                (
                    property,
                    vec![ErrorType::InvalidEmail, ErrorType::StringTooLong]
                ),
            ]
        );
        let second = &cards.categories[1];
        assert_eq!((second.errors, second.records), (4, 2));
        assert_eq!(cards.categories[0].records, 0);
        assert_eq!((cards.errors, cards.records), (9, 7));
    }
}
