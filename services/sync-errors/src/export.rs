//! CSV export of sync errors: RFC 4180 rows, streamed page by page so memory
//! stays bounded whatever the number of errors, with cells neutralised so a
//! spreadsheet never runs them as formulas.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use syncgov_api::syncerrors::v1 as pb;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::domain::{Cursor, ErrorFilter, OrgId, StoredError};
use crate::store::ErrorStore;
use syncgov_kit::error::ApiError;

/// Errors per page read from the store, and so rows per chunk sent.
pub const ROWS_PER_CHUNK: usize = 500;
/// Chunks buffered ahead of a slow reader: with the page size, this bounds
/// the memory one export holds.
const CHUNKS_AHEAD: usize = 2;

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

fn rfc3339(ms: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
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
            e.fields.join(";"),
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

/// Streams the errors of `org` passing `filter` as CSV chunks: the header
/// first, then one chunk per page. A store failure ends the stream with the
/// status a unary call would get; a reader that goes away stops the export.
pub fn csv_stream<S: ErrorStore>(
    store: Arc<S>,
    org: OrgId,
    filter: ErrorFilter,
) -> impl Stream<Item = Result<pb::ExportErrorsCsvResponse, Status>> + Send + 'static {
    let (tx, rx) = tokio::sync::mpsc::channel(CHUNKS_AHEAD);
    tokio::spawn(async move {
        let mut cursor: Option<Cursor> = None;
        let mut first = true;
        loop {
            let page = match store.list(&org, &filter, cursor, ROWS_PER_CHUNK).await {
                Ok(page) => page,
                Err(e) => {
                    let _ = tx.send(Err(Status::from(ApiError::from(e)))).await;
                    return;
                }
            };
            let mut chunk = Vec::new();
            if let Err(e) = write_rows(&mut chunk, first, &page.errors) {
                let _ = tx.send(Err(Status::internal(format!("csv: {e}")))).await;
                return;
            }
            first = false;
            let reply = pb::ExportErrorsCsvResponse {
                chunk,
                rows: page.errors.len() as u32,
            };
            if tx.send(Ok(reply)).await.is_err() {
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
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
