//! The JSON Lines format of the classify filters: `sync-errors classify`
//! answers each line with the classifier in its own process, `syncctl
//! classify` with the service's Classify RPC. Both read and write the lines
//! through these two types, so a script can switch between them and see
//! the same format.
//!
//! Behind the `serde` feature: the taxonomy itself stays std only.

use serde::{Deserialize, Serialize};

/// One input line: an error text to classify. Every key is optional; keys
/// not listed here are ignored.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_key_is_optional() {
        let line: InputLine = serde_json::from_str(r#"{"message": "m", "extra": 1}"#).unwrap();
        assert_eq!(line.id, None);
        assert_eq!(line.status_code, "");
        assert_eq!(line.message, "m");
        assert!(line.fields.is_empty());
        assert_eq!(line.object_type, "");
    }

    #[test]
    fn output_lines_keep_their_keys_in_order_and_leave_out_the_absent() {
        let record = OutputLine {
            id: Some(serde_json::json!(1)),
            level: "record",
            category: Some("PROPERTY_VALUES"),
            error_type: Some("STRING_TOO_LONG"),
            reason: None,
        };
        assert_eq!(
            serde_json::to_string(&record).unwrap(),
            r#"{"id":1,"level":"record","category":"PROPERTY_VALUES","type":"STRING_TOO_LONG"}"#
        );
        let suspension = OutputLine {
            id: None,
            level: "suspension",
            category: None,
            error_type: None,
            reason: Some("SALESFORCE_API_LIMIT_EXCEEDED"),
        };
        assert_eq!(
            serde_json::to_string(&suspension).unwrap(),
            r#"{"id":null,"level":"suspension","reason":"SALESFORCE_API_LIMIT_EXCEEDED"}"#
        );
    }
}
