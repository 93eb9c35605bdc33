//! `sync-errors classify`: the classifier as a filter over JSON Lines, for
//! scripts and for checking what the service would make of an error text.
//! The line format is the taxonomy crate's `lines`, shared with `syncctl
//! classify`, which asks the running service instead.

use std::io::{BufRead, Write};

use crate::classify::{Classification, Classified, FailureText};
use crate::domain::ErrorExplanation;
use crate::rules::{Rules, classify_failure};
use crate::taxonomy::Stated;
use crate::taxonomy::lines::{Explained, InputLine, OutputLine};

/// How the filter classifies and what it writes.
#[derive(Debug, Default)]
pub struct Options {
    /// Add why to each line: basis, confidence and what matched.
    pub explain: bool,
    /// Operator rules to apply before the built-in classifier.
    pub rules: Rules,
    /// The org whose rules apply (none: only rules that name no org).
    pub org: Option<String>,
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
    /// A line states a type or reason the taxonomy does not have.
    #[error(
        "line {line}: stated: {code:?} is not a type or suspension reason code of the taxonomy"
    )]
    BadStated {
        /// 1-based line number.
        line: usize,
        /// What it stated.
        code: String,
    },
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The output line of one classification.
pub fn output_line<'a>(
    id: Option<serde_json::Value>,
    c: &'a Classified,
    why: &'a ErrorExplanation,
    explain: bool,
) -> OutputLine<'a> {
    let explained = explain.then(|| Explained {
        basis: why.basis.code(),
        confidence: f64::from(why.confidence_milli) / 1000.0,
        matched: &why.matched,
    });
    match c.class {
        Classification::Record(t) => OutputLine {
            id,
            level: "record",
            category: Some(t.category().code()),
            error_type: Some(t.code()),
            reason: None,
            explained,
        },
        Classification::Suspension(r) => OutputLine {
            id,
            level: "suspension",
            category: None,
            error_type: None,
            reason: Some(r.code()),
            explained,
        },
    }
}

/// Classifies every line of `input` into `output`, in order. Blank lines are
/// skipped; a malformed line stops the filter with its line number, after
/// the lines before it were written.
pub fn run(input: impl BufRead, output: impl Write) -> Result<usize, ClassifyError> {
    run_with(input, output, &Options::default())
}

/// As [`run`], with `options`: explanations, operator rules, an org.
pub fn run_with(
    input: impl BufRead,
    mut output: impl Write,
    options: &Options,
) -> Result<usize, ClassifyError> {
    let mut count = 0;
    for (index, line) in input.split(b'\n').enumerate() {
        let line = line?;
        let bad = |error| ClassifyError::BadLine {
            line: index + 1,
            error,
        };
        // Read as bytes, so that a line that is not UTF-8 is a bad line
        // with its number like any other, not a read error.
        let line = std::str::from_utf8(&line).map_err(|e| {
            bad(serde::de::Error::custom(format_args!(
                "not UTF-8 text: {e}"
            )))
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: InputLine = serde_json::from_str(line).map_err(bad)?;
        let stated = if parsed.stated.trim().is_empty() {
            None
        } else {
            Some(
                Stated::from_code(&parsed.stated).ok_or_else(|| ClassifyError::BadStated {
                    line: index + 1,
                    code: parsed.stated.clone(),
                })?,
            )
        };
        let classified = classify_failure(
            stated,
            &options.rules,
            options.org.as_deref(),
            &FailureText {
                status_code: &parsed.status_code,
                message: &parsed.message,
                fields: &parsed.fields,
                object_type: &parsed.object_type,
            },
        );
        let why = ErrorExplanation::of(&classified.why);
        let out = output_line(parsed.id, &classified, &why, options.explain);
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
    fn null_is_absent_and_stated_types_win() {
        let input = concat!(
            r#"{"id": 1, "status_code": null, "message": "Name: data value too large", "fields": null, "object_type": null}"#,
            "\n",
            r#"{"id": 2, "status_code": "STRING_TOO_LONG", "message": "x", "stated": "email-already-in-use"}"#,
            "\n",
            r#"{"id": 3, "stated": "MISSING_FIELD_MAPPINGS"}"#,
            "\n"
        );
        let mut out = Vec::new();
        let options = Options {
            explain: true,
            ..Options::default()
        };
        assert_eq!(run_with(input.as_bytes(), &mut out, &options).unwrap(), 3);
        let lines: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["type"], "STRING_TOO_LONG");
        assert_eq!(lines[0]["basis"], "PHRASE");
        assert_eq!(lines[1]["type"], "EMAIL_ALREADY_IN_USE");
        assert_eq!(lines[1]["category"], "DUPLICATES");
        assert_eq!(lines[1]["basis"], "WORKER_STATED");
        assert_eq!(lines[1]["confidence"], 1.0);
        assert_eq!(lines[2]["level"], "suspension");
        assert_eq!(lines[2]["reason"], "MISSING_FIELD_MAPPINGS");
        let err = run(r#"{"stated": "NOPE"}"#.as_bytes(), &mut Vec::new()).unwrap_err();
        assert!(err.to_string().starts_with("line 1: stated"), "{err}");
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

/// Property tests of the filter: whatever lines come in (JSON of any
/// content, JSON of the wrong shape, text, bytes that are not UTF-8), it
/// either answers every line, in order and with its id, or stops at the
/// first bad line and names it, after answering the lines before.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;

    /// One input line, with what the filter should make of it.
    #[derive(Clone, Debug)]
    enum Line {
        /// A well-formed question: answered.
        Question(Value),
        /// Nothing but whitespace: skipped.
        Blank(String),
        /// Not a question: stops the filter.
        Bad(Vec<u8>),
        /// Any text: answered if it happens to read as a question.
        Text(String),
    }

    /// Any text without a line break (it would make two lines).
    fn one_line(max: usize) -> impl Strategy<Value = String> {
        proptest::string::string_regex(&format!("[^\\n]{{0,{max}}}")).expect("a valid pattern")
    }

    /// Any JSON id: null, a number, text, a list. Numbers are those JSON
    /// readers agree on: 64-bit integers and short binary fractions.
    fn any_id() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<i32>().prop_map(|n| Value::from(f64::from(n) / 8.0)),
            "\\PC{0,10}".prop_map(Value::from),
            prop::collection::vec(any::<u8>(), 0..3).prop_map(Value::from),
        ]
    }

    /// A question: any text in every field (JSON escapes line breaks), some
    /// fields left out, an id or none.
    fn question() -> impl Strategy<Value = Value> {
        let text = || {
            prop_oneof![
                proptest::string::string_regex("(?s).{0,40}").expect("a valid pattern"),
                "[A-Z_]{3,30}"
            ]
        };
        (
            proptest::option::of(any_id()),
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(prop::collection::vec(text(), 0..3)),
            proptest::option::of(text()),
        )
            .prop_map(|(id, status_code, message, fields, object_type)| {
                let mut line = serde_json::Map::new();
                let mut put = |key: &str, value: Option<Value>| {
                    if let Some(value) = value {
                        line.insert(key.to_owned(), value);
                    }
                };
                put("id", id);
                put("status_code", status_code.map(Value::from));
                put("message", message.map(Value::from));
                put("fields", fields.map(Value::from));
                put("object_type", object_type.map(Value::from));
                put("extra", Some(json!({"ignored": [1, "two"]})));
                Value::Object(line)
            })
    }

    /// A line that is not a question: JSON of the wrong shape, text that is
    /// not JSON, or a question broken by bytes that are not UTF-8.
    fn bad_line() -> impl Strategy<Value = Vec<u8>> {
        let wrong_shape = prop::sample::select(vec![
            r#"[1, 2]"#,
            r#""message""#,
            r#"42"#,
            r#"{"message": 5}"#,
            r#"{"fields": "Name"}"#,
            r#"{"fields": [1]}"#,
            r#"{"status_code": 7}"#,
            r#"{"message": "a"} {"message": "b"}"#,
            r#"{"message": "unterminated"#,
        ])
        .prop_map(|s| s.as_bytes().to_vec());
        let not_json = "[a-zA-Z#<][^\\n]{0,30}".prop_map(String::into_bytes);
        let not_utf8 = (one_line(10), prop::sample::select(vec![0x80u8, 0xc3, 0xff])).prop_map(
            |(text, byte)| {
                let mut line = br#"{"message": ""#.to_vec();
                line.extend_from_slice(text.replace(['"', '\\'], "").as_bytes());
                line.push(byte);
                line.extend_from_slice(br#""}"#);
                line
            },
        );
        prop_oneof![wrong_shape, not_json, not_utf8]
    }

    fn any_line() -> impl Strategy<Value = Line> {
        prop_oneof![
            6 => question().prop_map(Line::Question),
            2 => "[ \\t\\r]{0,3}".prop_map(Line::Blank),
            1 => bad_line().prop_map(Line::Bad),
            1 => one_line(40).prop_map(Line::Text),
        ]
    }

    /// The answer a question should get, as the filter writes it.
    fn answer(question: &InputLine) -> Value {
        let mut expected = json!({ "id": question.id.clone() });
        match crate::classify::classify(&FailureText {
            status_code: &question.status_code,
            message: &question.message,
            fields: &question.fields,
            object_type: &question.object_type,
        }) {
            Classification::Record(t) => {
                expected["level"] = "record".into();
                expected["category"] = t.category().code().into();
                expected["type"] = t.code().into();
            }
            Classification::Suspension(r) => {
                expected["level"] = "suspension".into();
                expected["reason"] = r.code().into();
            }
        }
        expected
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Every question before the first bad line is answered, in order,
        /// with its id and its class; the first bad line, if any, is named
        /// by its number; blank lines are skipped but still counted.
        #[test]
        fn answers_every_line_or_names_the_first_bad_one(
            lines in prop::collection::vec(any_line(), 0..12),
            crlf in any::<bool>(),
            final_break in any::<bool>(),
        ) {
            let mut input = Vec::new();
            let mut answers = Vec::new();
            let mut first_bad = None;
            for (i, line) in lines.iter().enumerate() {
                if i > 0 {
                    input.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
                }
                let bytes = match line {
                    Line::Question(v) => serde_json::to_vec(v).expect("JSON"),
                    Line::Blank(s) | Line::Text(s) => s.clone().into_bytes(),
                    Line::Bad(b) => b.clone(),
                };
                input.extend_from_slice(&bytes);
                if first_bad.is_some() {
                    continue;
                }
                let text = String::from_utf8_lossy(&bytes);
                match line {
                    Line::Blank(_) => {}
                    Line::Text(s) if s.trim().is_empty() => {}
                    Line::Question(_) | Line::Text(_) => {
                        match serde_json::from_str::<InputLine>(&text) {
                            Ok(q) => answers.push(answer(&q)),
                            Err(_) => first_bad = Some(i + 1),
                        }
                    }
                    Line::Bad(_) => first_bad = Some(i + 1),
                }
            }
            if final_break && !lines.is_empty() {
                input.extend_from_slice(b"\n");
            }

            let mut out = Vec::new();
            let result = run(&input[..], &mut out);
            let written: Vec<Value> = String::from_utf8(out)
                .expect("the output is UTF-8")
                .lines()
                .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
                .collect();
            prop_assert_eq!(&written, &answers);
            match (result, first_bad) {
                (Ok(count), None) => prop_assert_eq!(count, answers.len()),
                (Err(e @ (ClassifyError::BadLine { .. } | ClassifyError::BadStated { .. })), Some(bad)) => {
                    prop_assert!(e.to_string().starts_with(&format!("line {bad}: ")), "{e}");
                }
                (other, expected) => prop_assert!(false, "{other:?}, expected a bad line at {expected:?}"),
            }
        }
    }
}
