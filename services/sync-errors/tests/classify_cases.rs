//! The classifier against real Salesforce error texts: every line of
//! `tests/data/salesforce_errors.jsonl` carries the classification an expert
//! gave it and its public source. Plus the properties no table can show: no
//! input panics, ASCII case never matters, and the same status code lands on
//! different types when the message says so.

use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::Value;
use sync_errors::classify::{Classification, FailureText, classify};
use sync_errors::taxonomy::{Category, ErrorType, SuspensionReason};

/// One labelled line of the data file.
struct Case {
    line: usize,
    status_code: String,
    message: String,
    fields: Vec<String>,
    object_type: String,
    expected: Classification,
    source: String,
}

impl Case {
    fn failure(&self) -> FailureText<'_> {
        FailureText {
            status_code: &self.status_code,
            message: &self.message,
            fields: &self.fields,
            object_type: &self.object_type,
        }
    }
}

fn text<'a>(v: &'a Value, key: &str, line: usize) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("line {line}: `{key}` is not a string"))
}

/// The expected classification of a line, checking that a record-level
/// label's category is the category of its type.
fn expected(v: &Value, line: usize) -> Classification {
    let e = &v["expected"];
    match text(e, "level", line) {
        "record" => {
            let code = text(e, "type", line);
            let t = ErrorType::from_code(code)
                .unwrap_or_else(|| panic!("line {line}: unknown type {code}"));
            let category = text(e, "category", line);
            assert_eq!(
                Category::from_code(category),
                Some(t.category()),
                "line {line}: {code} is not in {category}"
            );
            Classification::Record(t)
        }
        "suspension" => {
            let code = text(e, "reason", line);
            Classification::Suspension(
                SuspensionReason::from_code(code)
                    .unwrap_or_else(|| panic!("line {line}: unknown reason {code}")),
            )
        }
        other => panic!("line {line}: unknown level {other}"),
    }
}

fn cases() -> Vec<Case> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/salesforce_errors.jsonl"
    );
    let data = std::fs::read_to_string(path).expect("the data file is readable");
    data.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let line = i + 1;
            let v: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("line {line} is not JSON: {e}"));
            let fields = v["fields"]
                .as_array()
                .unwrap_or_else(|| panic!("line {line}: `fields` is not an array"))
                .iter()
                .map(|f| f.as_str().expect("field names are strings").to_owned())
                .collect();
            Case {
                line,
                status_code: text(&v, "status_code", line).to_owned(),
                message: text(&v, "message", line).to_owned(),
                fields,
                object_type: text(&v, "object_type", line).to_owned(),
                expected: expected(&v, line),
                source: text(&v, "source", line).to_owned(),
            }
        })
        .collect()
}

fn label(c: Classification) -> String {
    match c {
        Classification::Record(t) => format!("{}/{}", t.category().code(), t.code()),
        Classification::Suspension(r) => format!("suspension/{}", r.code()),
    }
}

#[test]
fn every_labelled_text_is_classified_as_labelled() {
    let cases = cases();
    assert!(cases.len() >= 100, "only {} labelled texts", cases.len());
    let mismatches: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            let got = classify(&c.failure());
            (got != c.expected).then(|| {
                format!(
                    "line {} ({}): expected {}, got {}",
                    c.line,
                    c.source,
                    label(c.expected),
                    label(got)
                )
            })
        })
        .collect();
    assert!(
        mismatches.is_empty(),
        "{} of {} texts misclassified:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );
}

fn classify_one(status_code: &str, message: &str, fields: &[&str], object: &str) -> Classification {
    let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    classify(&FailureText {
        status_code,
        message,
        fields: &fields,
        object_type: object,
    })
}

fn record(t: ErrorType) -> Classification {
    Classification::Record(t)
}

fn suspension(r: SuspensionReason) -> Classification {
    Classification::Suspension(r)
}

#[test]
fn one_status_code_lands_on_different_types_by_its_message() {
    const CIUAE: &str = "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY";
    let trigger = classify_one(
        CIUAE,
        "dlrs_AccountTrigger: execution of AfterUpdate caused by: System.NullPointerException: \
         Attempt to de-reference a null object",
        &[],
        "Account",
    );
    let flow = classify_one(
        CIUAE,
        "We can't save this record because the “Lead Routing” process failed. Give your \
         Salesforce admin these details. An unhandled fault has occurred in this flow",
        &[],
        "Lead",
    );
    let validation = classify_one(
        CIUAE,
        "FIELD_CUSTOM_VALIDATION_EXCEPTION, Close Date cannot be in the past: [CloseDate]",
        &["CloseDate"],
        "Opportunity",
    );
    assert_eq!(trigger, record(ErrorType::SalesforceAutomation));
    assert_eq!(flow, record(ErrorType::SalesforceFlow));
    assert_eq!(validation, record(ErrorType::CustomValidationRule));

    const FIE: &str = "FIELD_INTEGRITY_EXCEPTION";
    let country = classify_one(
        FIE,
        "There's a problem with this country, even though it may appear correct. Please select \
         a country/territory from the list of valid countries.: Country",
        &["Country"],
        "Lead",
    );
    let missing_country = classify_one(
        FIE,
        "A country/territory must be specified before specifying a state value for field: \
         State/Province",
        &["State"],
        "Lead",
    );
    let queue_owner = classify_one(
        FIE,
        "Assigned To ID: id value of incorrect type: 00G1l000002utScEAI: [OwnerId]",
        &["OwnerId"],
        "Task",
    );
    let lookup = classify_one(
        FIE,
        "Value does not exist or does not match filter criteria.",
        &[],
        "",
    );
    assert_eq!(country, record(ErrorType::MismatchedStateOrCountry));
    assert_eq!(missing_country, record(ErrorType::MissingRequiredCountry));
    assert_eq!(queue_owner, record(ErrorType::OwnerAssignment));
    assert_eq!(lookup, record(ErrorType::InvalidSalesforceId));

    const RLE: &str = "REQUEST_LIMIT_EXCEEDED";
    let daily = classify_one(RLE, "TotalRequests Limit exceeded.", &[], "");
    let concurrent = classify_one(
        RLE,
        "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
        &[],
        "",
    );
    assert_eq!(
        daily,
        suspension(SuspensionReason::SalesforceApiLimitExceeded)
    );
    assert_eq!(
        concurrent,
        suspension(SuspensionReason::SalesforceConcurrentLimitExceeded)
    );
}

#[test]
fn wrapped_messages_are_read_through_their_wrapping() {
    // The REST API's JSON body, logged whole by a client that dropped the code.
    let json = classify_one(
        "",
        r#"[{"message":"Email: invalid email address: bob@","errorCode":"INVALID_EMAIL_ADDRESS","fields":["Email"]}]"#,
        &[],
        "Contact",
    );
    assert_eq!(json, record(ErrorType::InvalidEmail));
    // A client's exception text around the code.
    let exception = classify_one(
        "",
        "SalesforceException: Failed to update record with code STRING_TOO_LONG. Fields: [Name]",
        &[],
        "",
    );
    assert_eq!(exception, record(ErrorType::StringTooLong));
    // An Apex governor limit is the trigger's problem, not the org's budget.
    let governor = classify_one(
        "",
        "Task_Trigger: System.LimitException: Apex CPU Time Limit Exceeded",
        &[],
        "Task",
    );
    assert_eq!(governor, record(ErrorType::SalesforceAutomation));
    // A row lock met by a trigger's own DML is the trigger's failure of this
    // one record, not the org being locked.
    let lock = classify_one(
        "",
        "X: execution of AfterUpdate caused by: System.DmlException: Update failed. First \
         exception on row 0; first error: UNABLE_TO_LOCK_ROW, unable to obtain exclusive access",
        &[],
        "",
    );
    assert_eq!(lock, record(ErrorType::SalesforceAutomation));
    // On its own it is the org's, and transient.
    let own = classify_one(
        "UNABLE_TO_LOCK_ROW",
        "unable to obtain exclusive access to this record",
        &[],
        "",
    );
    assert_eq!(own, suspension(SuspensionReason::SalesforceOrgLocked));
}

#[test]
fn unknown_input_is_other_unknown() {
    for (code, message) in [
        ("", ""),
        ("SOMETHING_NEW", "A brand new failure."),
        ("", "Lorem ipsum dolor sit amet"),
        ("_", "\u{0}\u{ffff}"),
    ] {
        assert_eq!(
            classify_one(code, message, &[], ""),
            record(ErrorType::Unknown)
        );
    }
}

/// Fragments of real texts, so generated inputs reach the deeper rules
/// rather than stopping at "nothing recognised".
const FRAGMENTS: &[&str] = &[
    "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
    "FIELD_INTEGRITY_EXCEPTION",
    "INVALID_FIELD",
    "INVALID_TYPE",
    "system.",
    "System.DmlException",
    "(Flow",
    "execution of AfterInsert",
    "id value of incorrect type: 00G",
    "No such column",
    "on sobject of type",
    "Limit exceeded",
    "ConcurrentRequests",
    "TotalRequests Limit",
    "unable to obtain exclusive access",
    "Required fields are missing",
    "_",
    "\u{e9}",
    "'",
    " ",
];

fn known(c: Classification) -> bool {
    match c {
        Classification::Record(t) => ErrorType::ALL.contains(&t),
        Classification::Suspension(r) => SuspensionReason::ALL.contains(&r),
    }
}

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::sample::select(FRAGMENTS).prop_map(str::to_owned),
            any::<String>(),
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(
        status in any::<String>(),
        message in any::<String>(),
        fields in prop::collection::vec(any::<String>(), 0..4),
        object in any::<String>(),
    ) {
        let c = classify(&FailureText { status_code: &status, message: &message, fields: &fields, object_type: &object });
        prop_assert!(known(c));
        prop_assert!(!c.guidance().is_empty());
    }

    #[test]
    fn text_made_of_known_fragments_never_panics(
        status in prop_oneof![prop::sample::select(FRAGMENTS).prop_map(str::to_owned), any::<String>()],
        message in soup(),
        fields in prop::collection::vec(prop::sample::select(&["OwnerId", "StageName", "BillingState", "Id", ""][..]).prop_map(str::to_owned), 0..3),
        object in prop::sample::select(&["", "Opportunity", "Task"][..]),
    ) {
        let c = classify(&FailureText { status_code: &status, message: &message, fields: &fields, object_type: object });
        prop_assert!(known(c));
    }

    #[test]
    fn ascii_case_never_changes_the_result(index in 0usize..1000, upper in any::<bool>()) {
        static CASES: OnceLock<Vec<Case>> = OnceLock::new();
        let cases = CASES.get_or_init(cases);
        let case = &cases[index % cases.len()];
        let recase = |s: &str| if upper { s.to_ascii_uppercase() } else { s.to_ascii_lowercase() };
        let (status, message) = (recase(&case.status_code), recase(&case.message));
        let c = classify(&FailureText { status_code: &status, message: &message, ..case.failure() });
        prop_assert_eq!(c, classify(&case.failure()), "line {}", case.line);
    }
}
