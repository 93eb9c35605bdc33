//! The JSON Lines format of the classify filters: `sync-errors classify`
//! answers each line with the classifier in its own process, `syncctl
//! classify` with the service's Classify RPC. Both read and write the lines
//! through these two types, so a script can switch between them and see
//! the same format.
//!
//! Behind the `serde` feature: the taxonomy itself stays std only.

use serde::{Deserialize, Deserializer, Serialize};

/// One input line: an error text to classify. Every key is optional, and a
/// key that is absent, `null` or empty means the same (many clients write
/// `null` for an absent code); keys not listed here are ignored.
#[derive(Debug, Deserialize)]
pub struct InputLine {
    /// Echoed back as is, to match answers to questions.
    #[serde(default)]
    pub id: Option<serde_json::Value>,
    /// Salesforce's status code.
    #[serde(default, deserialize_with = "null_as_default")]
    pub status_code: String,
    /// Salesforce's message.
    #[serde(default, deserialize_with = "null_as_default")]
    pub message: String,
    /// Fields the error names (a `null` among them is left out).
    #[serde(default, deserialize_with = "field_names")]
    pub fields: Vec<String>,
    /// The Salesforce object.
    #[serde(default, deserialize_with = "null_as_default")]
    pub object_type: String,
    /// The type or reason code the worker detected itself (see
    /// [`crate::Stated::from_code`]); wins over the text.
    #[serde(default, deserialize_with = "null_as_default")]
    pub stated: String,
}

/// A value, or its default for `null`.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A list of field names; `null` for the list or for a name means none.
fn field_names<'de, D>(deserializer: D) -> Result<Vec<String>, D::Error>
where
    D: Deserializer<'de>,
{
    let names: Option<Vec<Option<String>>> = Option::deserialize(deserializer)?;
    Ok(names.into_iter().flatten().flatten().collect())
}

/// Why a classification came out as it did: the explanation `--explain`
/// adds to an output line.
#[derive(Debug, Serialize)]
pub struct Explained<'a> {
    /// What decided: `WORKER_STATED`, `OPERATOR_RULE`, `STATUS_CODE`,
    /// `PHRASE`, `WRAPPER` or `FALLBACK` (`UNSPECIFIED` from a service
    /// that does not say).
    pub basis: &'a str,
    /// How sure, 0 to 1, to two decimals.
    pub confidence: f64,
    /// What matched: the code, phrase, rule or stated code.
    pub matched: &'a str,
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
    /// With `--explain`: why.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub explained: Option<Explained<'a>>,
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
        assert_eq!(line.stated, "");
    }

    #[test]
    fn null_means_absent_for_every_key() {
        let line: InputLine = serde_json::from_str(
            r#"{"id": null, "status_code": null, "message": null, "fields": null, "object_type": null, "stated": null}"#,
        )
        .unwrap();
        assert_eq!(line.id, None);
        assert_eq!(line.status_code, "");
        assert_eq!(line.message, "");
        assert!(line.fields.is_empty());
        assert_eq!(line.object_type, "");
        let line: InputLine =
            serde_json::from_str(r#"{"fields": ["Name", null, "Email"]}"#).unwrap();
        assert_eq!(line.fields, ["Name", "Email"]);
        assert!(serde_json::from_str::<InputLine>(r#"{"status_code": 5}"#).is_err());
    }

    #[test]
    fn output_lines_keep_their_keys_in_order_and_leave_out_the_absent() {
        let record = OutputLine {
            id: Some(serde_json::json!(1)),
            level: "record",
            category: Some("PROPERTY_VALUES"),
            error_type: Some("STRING_TOO_LONG"),
            reason: None,
            explained: None,
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
            explained: Some(Explained {
                basis: "STATUS_CODE",
                confidence: 0.95,
                matched: "REQUEST_LIMIT_EXCEEDED",
            }),
        };
        assert_eq!(
            serde_json::to_string(&suspension).unwrap(),
            r#"{"id":null,"level":"suspension","reason":"SALESFORCE_API_LIMIT_EXCEEDED","basis":"STATUS_CODE","confidence":0.95,"matched":"REQUEST_LIMIT_EXCEEDED"}"#
        );
    }
}
