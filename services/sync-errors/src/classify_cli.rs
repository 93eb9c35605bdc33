//! `sync-errors classify`: the classifier as a filter over JSON Lines, for
//! scripts and for checking what the service would make of an error text.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use crate::classify::{Classification, FailureText, classify};

/// One input line: the JSON Lines format of the filter, shared with
/// `syncctl classify` so that both read the same lines.
#[derive(Debug, Deserialize)]
pub struct InputLine {
    /// Echoed back as is, to match answers to questions.
    #[serde(default)]
    pub id: Option<serde_json::Value>,
    /// Salesforce's status code.
    #[serde(default)]
    pub status_code: String,
    /// Salesforce's message.
    #[serde(default)]
    pub message: String,
    /// Fields the error names.
    #[serde(default)]
    pub fields: Vec<String>,
    /// The Salesforce object.
    #[serde(default)]
    pub object_type: String,
}

/// One output line (same keys, in this order, wherever it is written).
#[derive(Debug, Serialize)]
pub struct OutputLine<'a> {
    /// The input's id.
    pub id: Option<serde_json::Value>,
    /// `record` or `suspension` (`unknown` when a newer service answers
    /// with a level this build does not know).
    pub level: &'static str,
    /// For a record-level error: its category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<&'a str>,
    /// For a record-level error: its type.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub error_type: Option<&'a str>,
    /// For a suspension-level failure: the reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
}

/// Why the filter stopped.
#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    /// A line is not a JSON object of the expected shape.
    #[error("line {line}: {error}")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        error: serde_json::Error,
    },
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Classifies every line of `input` into `output`, in order. Blank lines are
/// skipped; a malformed line stops the filter with its line number, after
/// the lines before it were written.
pub fn run(input: impl BufRead, mut output: impl Write) -> Result<usize, ClassifyError> {
    let mut count = 0;
    for (index, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: InputLine =
            serde_json::from_str(&line).map_err(|error| ClassifyError::BadLine {
                line: index + 1,
                error,
            })?;
        let classification = classify(&FailureText {
            status_code: &parsed.status_code,
            message: &parsed.message,
            fields: &parsed.fields,
            object_type: &parsed.object_type,
        });
        let out = match classification {
            Classification::Record(t) => OutputLine {
                id: parsed.id,
                level: "record",
                category: Some(t.category().code()),
                error_type: Some(t.code()),
                reason: None,
            },
            Classification::Suspension(r) => OutputLine {
                id: parsed.id,
                level: "suspension",
                category: None,
                error_type: None,
                reason: Some(r.code()),
            },
        };
        serde_json::to_writer(&mut output, &out).map_err(std::io::Error::from)?;
        output.write_all(b"\n")?;
        count += 1;
    }
    output.flush()?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_out_per_line_in_with_ids_kept() {
        let input = concat!(
            r#"{"id": 7, "status_code": "STRING_TOO_LONG", "message": "Last Name: data value too large", "fields": ["LastName"]}"#,
            "\n\n",
            r#"{"status_code": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded.", "fields": []}"#,
            "\n",
            r#"{"id": "x", "status_code": "", "message": "", "fields": []}"#,
            "\n"
        );
        let mut out = Vec::new();
        assert_eq!(run(input.as_bytes(), &mut out).unwrap(), 3);
        let lines: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["id"], 7);
        assert_eq!(lines[0]["level"], "record");
        assert_eq!(lines[0]["category"], "PROPERTY_VALUES");
        assert_eq!(lines[0]["type"], "STRING_TOO_LONG");
        assert_eq!(lines[1]["id"], serde_json::Value::Null);
        assert_eq!(lines[1]["level"], "suspension");
        assert_eq!(lines[1]["reason"], "SALESFORCE_API_LIMIT_EXCEEDED");
        assert_eq!(lines[2]["category"], "OTHER");
        assert_eq!(lines[2]["type"], "UNKNOWN");
    }

    #[test]
    fn a_bad_line_names_its_number() {
        let input = "{\"message\": \"ok\"}\nnot json\n";
        let mut out = Vec::new();
        let err = run(input.as_bytes(), &mut out).unwrap_err();
        assert!(err.to_string().starts_with("line 2:"), "{err}");
        assert_eq!(String::from_utf8(out).unwrap().lines().count(), 1);
    }
}
