//! CSV export of sync errors: RFC 4180 rows, streamed page by page so memory
//! stays bounded whatever the number of errors, with cells neutralised so a
//! spreadsheet never runs them as formulas.
//!
//! Invariants: one export holds at most [`CHUNKS_AHEAD`] chunks of
//! [`ROWS_PER_CHUNK`] rows beyond the one being read; no cell a spreadsheet
//! would evaluate leaves here unneutralised. The chunks are plain bytes: the
//! gRPC adapter wraps them in replies.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;

use crate::domain::{Cursor, ErrorFilter, OrgId, StoredError};
use crate::error::Error;
use crate::store::ErrorStore;

/// Errors per page read from the store, and so rows per chunk sent.
pub const ROWS_PER_CHUNK: usize = 500;
/// Chunks buffered ahead of a slow reader: with the page size, this bounds
/// the memory one export holds.
pub const CHUNKS_AHEAD: usize = 2;

/// The header row.
pub const HEADER: [&str; 15] = [
    "error_id",
    "state",
    "category",
    "type",
    "object_type",
    "crm_record_id",
    "salesforce_id",
    "direction",
    "status_code",
    "message",
    "fields",
    "occurrences",
    "first_seen",
    "last_seen",
    "resync_attempts",
];

/// Makes a cell safe to open in a spreadsheet: one that starts with a
/// character a spreadsheet reads as a formula (`=`, `+`, `-`, `@`, and the tab
/// and carriage return that can hide one) gets a leading apostrophe, which
/// spreadsheets show as text and do not evaluate.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// Separates the names in the `fields` cell.
pub const FIELD_SEPARATOR: char = ';';
/// Escapes a separator or itself inside a name of the `fields` cell.
pub const FIELD_ESCAPE: char = '\\';

/// The `fields` cell: the names joined by `;`, a `;` or `\` inside a name
/// escaped with a backslash (`\;`, `\\`), so that the names read back
/// exactly ([`split_fields`]) whatever they hold. Names without either
/// character (every Salesforce API name) show as they are: `Name;Email`.
pub fn join_fields(names: &[String]) -> String {
    let mut cell = String::new();
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            cell.push(FIELD_SEPARATOR);
        }
        for c in name.chars() {
            if c == FIELD_SEPARATOR || c == FIELD_ESCAPE {
                cell.push(FIELD_ESCAPE);
            }
            cell.push(c);
        }
    }
    cell
}

/// The names of a `fields` cell made by [`join_fields`] (less the
/// apostrophe [`neutralise`] may have put in front), read left to right: a
/// backslash makes the character after it part of the name, any other `;`
/// ends a name. An empty cell names no field.
pub fn split_fields(cell: &str) -> Vec<String> {
    if cell.is_empty() {
        return Vec::new();
    }
    let mut names = vec![String::new()];
    let mut chars = cell.chars();
    while let Some(c) = chars.next() {
        match c {
            FIELD_ESCAPE => {
                if let Some(escaped) = chars.next() {
                    names.last_mut().expect("one name at least").push(escaped);
                }
            }
            FIELD_SEPARATOR => names.push(String::new()),
            c => names.last_mut().expect("one name at least").push(c),
        }
    }
    names
}

/// The last instant RFC 3339 can show, 9999-12-31T23:59:59.999Z, in ms.
const LAST_RFC3339_MS: i64 = 253_402_300_799_999;

/// A time in RFC 3339, to the millisecond. A time outside the years 1970 to
/// 9999 (a worker's clock may report anything) shows as the nearest end of
/// that range rather than failing the export.
fn rfc3339(ms: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(ms.clamp(0, LAST_RFC3339_MS) as u64);
    humantime::format_rfc3339_millis(at).to_string()
}

/// Appends the CSV rows of `errors` (and the header first when `header`).
pub fn write_rows(
    out: &mut Vec<u8>,
    header: bool,
    errors: &[StoredError],
) -> Result<(), csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    if header {
        writer.write_record(HEADER)?;
    }
    for e in errors {
        let row = [
            e.id.to_string(),
            e.state.as_str().to_owned(),
            e.error_type.category().code().to_owned(),
            e.error_type.code().to_owned(),
            e.object_type.clone(),
            e.crm_record_id.clone(),
            e.salesforce_id.clone(),
            e.direction.as_str().to_owned(),
            e.status_code.clone(),
            e.message.clone(),
            join_fields(&e.fields),
            e.occurrences.to_string(),
            rfc3339(e.first_seen_ms),
            rfc3339(e.last_seen_ms),
            e.resync_attempts.to_string(),
        ];
        writer.write_record(row.iter().map(|cell| neutralise(cell).into_owned()))?;
    }
    writer.flush()?;
    Ok(())
}

/// One piece of an export: CSV bytes ending on a row boundary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chunk {
    /// The rows (the header row too, in the first chunk).
    pub csv: Vec<u8>,
    /// Error rows in it, the header not counted.
    pub rows: u32,
}

/// Streams the errors of `org` passing `filter` as CSV chunks: the header
/// first, then one chunk per page. A failure ends the stream with its error;
/// a reader that goes away stops the export.
pub fn csv_stream<S: ErrorStore>(
    store: Arc<S>,
    org: OrgId,
    filter: ErrorFilter,
) -> impl Stream<Item = Result<Chunk, Error>> + Send + 'static {
    let (tx, rx) = tokio::sync::mpsc::channel(CHUNKS_AHEAD);
    tokio::spawn(async move {
        let mut cursor: Option<Cursor> = None;
        let mut first = true;
        loop {
            let page = match store.list(&org, &filter, cursor, ROWS_PER_CHUNK).await {
                Ok(page) => page,
                Err(e) => {
                    let _ = tx.send(Err(Error::from(e))).await;
                    return;
                }
            };
            let mut csv = Vec::new();
            if let Err(e) = write_rows(&mut csv, first, &page.errors) {
                let _ = tx.send(Err(Error::from(e))).await;
                return;
            }
            first = false;
            let chunk = Chunk {
                csv,
                rows: page.errors.len() as u32,
            };
            if tx.send(Ok(chunk)).await.is_err() {
                return;
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return,
            }
        }
    });
    ReceiverStream::new(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised() {
        for cell in ["=SUM(A1)", "+1", "-2", "@cmd", "\tx", "\rx"] {
            assert!(neutralise(cell).starts_with('\''), "{cell:?}");
        }
        for cell in ["plain", "", "a=b", "0035g00000AbCdE"] {
            assert_eq!(neutralise(cell), cell);
        }
    }

    #[test]
    fn field_names_holding_the_separator_read_back() {
        let names = |list: &[&str]| list.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(join_fields(&names(&["Name", "Email"])), "Name;Email");
        assert_eq!(join_fields(&names(&[])), "");
        let hostile = names(&["a;b", "c\\", "\\;", ";"]);
        let cell = join_fields(&hostile);
        assert_eq!(cell, "a\\;b;c\\\\;\\\\\\;;\\;");
        assert_eq!(split_fields(&cell), hostile);
        assert_eq!(split_fields("Name;Email"), names(&["Name", "Email"]));
        assert_eq!(split_fields(""), Vec::<String>::new());
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}

/// Property tests of the CSV writer: whatever text the errors hold (quotes,
/// separators, line breaks, any Unicode), the output reads back as the same
/// rows and cells, and no cell reaches a spreadsheet as a formula.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::{Direction, ErrorId, ErrorState};
    use crate::taxonomy::ErrorType;

    /// What a spreadsheet may read as the start of a formula.
    const FORMULA_LEADS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

    /// Text for a cell: anything at all, or text that opens with a formula
    /// lead and is full of what CSV must quote.
    fn cell() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::string::string_regex("(?s).{0,40}").expect("a valid pattern"),
            "[=+@\\t\\r\\n\",;' -]{1,3}[^\\x00]{0,20}",
            "\\PC{0,20}",
        ]
    }

    /// A time around the range RFC 3339 can show, and any time at all.
    fn time() -> impl Strategy<Value = i64> {
        prop_oneof![
            0i64..4_102_444_800_000,
            253_402_300_799_000i64..253_402_300_801_000,
            any::<i64>(),
        ]
    }

    fn any_error() -> impl Strategy<Value = StoredError> {
        let states = vec![
            ErrorState::Open,
            ErrorState::Resyncing,
            ErrorState::Dead,
            ErrorState::Resolved,
        ];
        let directions = vec![
            Direction::Unknown,
            Direction::ToSalesforce,
            Direction::FromSalesforce,
        ];
        (
            (cell(), cell(), cell(), cell(), cell()),
            proptest::collection::vec(cell(), 0..4),
            (
                prop::sample::select(ErrorType::ALL.to_vec()),
                prop::sample::select(states),
                prop::sample::select(directions),
            ),
            (any::<u64>(), time(), time(), any::<u32>()),
        )
            .prop_map(
                |(
                    (object_type, crm_record_id, salesforce_id, status_code, message),
                    fields,
                    (error_type, state, direction),
                    (occurrences, first_seen_ms, last_seen_ms, resync_attempts),
                )| StoredError {
                    id: ErrorId::of(&object_type, &crm_record_id, error_type),
                    seq: 0,
                    object_type,
                    crm_record_id,
                    salesforce_id,
                    direction,
                    error_type,
                    status_code,
                    message,
                    fields,
                    occurrences,
                    first_seen_ms,
                    last_seen_ms,
                    state,
                    resync_attempts,
                    explanation: None,
                },
            )
    }

    /// One plain error, for properties of a single column.
    fn plain_error() -> StoredError {
        StoredError {
            id: ErrorId::of("Contact", "c1", ErrorType::ALL[0]),
            seq: 1,
            object_type: "Contact".into(),
            crm_record_id: "c1".into(),
            salesforce_id: String::new(),
            direction: Direction::Unknown,
            error_type: ErrorType::ALL[0],
            status_code: String::new(),
            message: String::new(),
            fields: Vec::new(),
            occurrences: 1,
            first_seen_ms: 0,
            last_seen_ms: 0,
            state: ErrorState::Open,
            resync_attempts: 0,
            explanation: None,
        }
    }

    /// Reads `csv` back as rows of cells.
    fn read_back(csv: &[u8]) -> Result<Vec<Vec<String>>, TestCaseError> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(csv)
            .records()
            .map(|r| {
                r.map(|r| r.iter().map(str::to_owned).collect())
                    .map_err(|e| TestCaseError::fail(format!("not CSV: {e}")))
            })
            .collect()
    }

    /// The instant a time cell shows, as ms since the epoch.
    fn shown_ms(cell: &str) -> Result<i64, TestCaseError> {
        let at = humantime::parse_rfc3339(cell)
            .map_err(|e| TestCaseError::fail(format!("{cell:?} is not RFC 3339: {e}")))?;
        Ok(at
            .duration_since(UNIX_EPOCH)
            .expect("after the epoch")
            .as_millis() as i64)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// A cell that opens with a formula lead gets one apostrophe in
        /// front; any other cell is left alone; no result opens with a lead,
        /// so neutralising twice changes nothing more.
        #[test]
        fn cells_never_open_with_a_formula(text in cell()) {
            let out = neutralise(&text);
            prop_assert!(!out.starts_with(FORMULA_LEADS), "{out:?}");
            if text.starts_with(FORMULA_LEADS) {
                prop_assert_eq!(out.as_ref(), format!("'{text}"));
            } else {
                prop_assert_eq!(out.as_ref(), text.as_str());
            }
            prop_assert_eq!(neutralise(&out), out.clone());
        }

        /// The rows read back one per error, after the header, with every
        /// cell as the error holds it (neutralised), however its text is
        /// quoted, and no cell opens with a formula lead.
        #[test]
        fn rows_read_back_cell_for_cell(
            errors in proptest::collection::vec(any_error(), 0..6),
            header in any::<bool>(),
        ) {
            let mut out = Vec::new();
            write_rows(&mut out, header, &errors).expect("rows are written");
            let rows = read_back(&out)?;
            let body = if header {
                prop_assert_eq!(&rows[0], &HEADER.map(str::to_owned).to_vec());
                &rows[1..]
            } else {
                &rows[..]
            };
            prop_assert_eq!(body.len(), errors.len());
            for (row, e) in body.iter().zip(&errors) {
                prop_assert_eq!(row.len(), HEADER.len());
                prop_assert!(row.iter().all(|c| !c.starts_with(FORMULA_LEADS)), "{row:?}");
                let text = [
                    (4, e.object_type.clone()),
                    (5, e.crm_record_id.clone()),
                    (6, e.salesforce_id.clone()),
                    (8, e.status_code.clone()),
                    (9, e.message.clone()),
                    (10, join_fields(&e.fields)),
                ];
                for (i, expected) in text {
                    prop_assert_eq!(&row[i], &neutralise(&expected), "{}", HEADER[i]);
                }
                prop_assert_eq!(&row[0], e.id.as_str());
                prop_assert_eq!(&row[1], e.state.as_str());
                prop_assert_eq!(&row[2], e.error_type.category().code());
                prop_assert_eq!(&row[3], e.error_type.code());
                prop_assert_eq!(&row[7], e.direction.as_str());
                prop_assert_eq!(row[11].parse::<u64>().ok(), Some(e.occurrences));
                prop_assert_eq!(row[14].parse::<u32>().ok(), Some(e.resync_attempts));
            }
        }

        /// Any list of field names (each at least one character, as ingest
        /// takes them) reads back from its cell exactly, through the CSV and
        /// the apostrophe a formula lead gets.
        #[test]
        fn field_names_read_back_from_their_cell(
            names in proptest::collection::vec(
                prop_oneof!["[;\\\\a]{1,4}", "[^\\x00]{1,12}"],
                0..5,
            ),
        ) {
            let cell = join_fields(&names);
            prop_assert_eq!(split_fields(&cell), names.clone());
            let e = StoredError {
                fields: names.clone(),
                ..plain_error()
            };
            let mut out = Vec::new();
            write_rows(&mut out, false, &[e]).expect("rows are written");
            let shown = read_back(&out)?.remove(0).remove(10);
            let shown = match shown.strip_prefix('\'') {
                Some(rest) if cell.starts_with(FORMULA_LEADS) => rest.to_owned(),
                _ => shown,
            };
            prop_assert_eq!(split_fields(&shown), names);
        }

        /// Times show as RFC 3339 to the millisecond: exactly, within the
        /// years 1970 to 9999, and as the nearest end of that range outside.
        #[test]
        fn times_read_back_to_the_millisecond(mut e in any_error(), first in time(), last in time()) {
            e.first_seen_ms = first;
            e.last_seen_ms = last;
            let mut out = Vec::new();
            write_rows(&mut out, false, &[e]).expect("rows are written");
            let row = read_back(&out)?.remove(0);
            prop_assert_eq!(shown_ms(&row[12])?, first.clamp(0, LAST_RFC3339_MS));
            prop_assert_eq!(shown_ms(&row[13])?, last.clamp(0, LAST_RFC3339_MS));
        }

        /// Chunks written one after the other, the header in the first only,
        /// read back as one CSV holding every row in order.
        #[test]
        fn chunks_join_into_one_csv(
            chunks in proptest::collection::vec(proptest::collection::vec(any_error(), 0..3), 1..4),
        ) {
            let mut out = Vec::new();
            for (i, chunk) in chunks.iter().enumerate() {
                write_rows(&mut out, i == 0, chunk).expect("rows are written");
            }
            let rows = read_back(&out)?;
            let ids: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
            let expected: Vec<&str> = chunks.iter().flatten().map(|e| e.id.as_str()).collect();
            prop_assert_eq!(ids, expected);
        }
    }
}
