//! Property tests of the request validators: any input is either taken or
//! refused with an error naming its field, never a panic.
//!
//! Each validator is checked against its documented rule (which inputs it
//! takes, and which field a refusal names); a failure that is taken must
//! keep every value it was given, and every token or id the service hands
//! out (page tokens, error ids, job ids, enum numbers) must read back as
//! what it was made from.

use super::*;

use proptest::prelude::*;

use crate::core::classify_failure;
use crate::domain::{
    DEFAULT_PAGE_SIZE, MAX_FAILURE_AGE_MS, MAX_FIELD_LEN, MAX_FIELDS, MAX_FUTURE_SKEW_MS,
    MAX_IDEMPOTENCY_KEY_LEN, MAX_MESSAGE_LEN, MAX_OBJECT_TYPE_LEN, MAX_PAGE_SIZE,
    MAX_RECORD_ID_LEN, MAX_SALESFORCE_ID_LEN, MAX_STATUS_CODE_LEN,
};
use crate::resync;

/// Cases per property: enough to reach the edges the strategies aim at,
/// few enough to keep the suite quick.
const CASES: u32 = 512;

/// The clock's reading the failures' times are checked against, ms.
const NOW_MS: i64 = 1_763_900_000_000;

/// Any text at all: control characters, newlines and any Unicode scalar.
fn any_text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("(?s).{{0,{max}}}")).expect("a valid pattern")
}

/// Mostly text a well-behaved client sends (`usual`), sometimes any text.
fn text(usual: &'static str, any_max: usize) -> BoxedStrategy<String> {
    prop_oneof![8 => usual, 1 => any_text(any_max)].boxed()
}

/// An enum number: usually a known value, sometimes any `i32`.
fn enum_number(known: std::ops::RangeInclusive<i32>) -> impl Strategy<Value = i32> {
    let low = *known.start() - 2;
    let high = *known.end() + 2;
    prop_oneof![4 => known, 1 => low..=high, 1 => any::<i32>()]
}

/// Text near the org id rules, and any text.
fn org_id_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9._:-]{1,66}",
        "[A-Za-z0-9._:{} /é-]{0,8}",
        any_text(70)
    ]
}

/// The org id rule: 1 to 64 characters of A-Z a-z 0-9 . _ : -
fn is_org_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
}

/// The object type rule: 1 to 64 characters of A-Z a-z 0-9 _
fn is_object_type(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_OBJECT_TYPE_LEN
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The free-text rule: at most `max` characters, no control characters,
/// and at least one when `required`.
fn is_text(text: &str, max: usize, required: bool) -> bool {
    text.chars().count() <= max
        && !text.chars().any(char::is_control)
        && !(required && text.is_empty())
}

/// Any `Failure` message, each field mostly as a client sends it and
/// sometimes anything, so that every rule is both kept and broken.
fn any_failure() -> impl Strategy<Value = pb::Failure> {
    let fields = prop_oneof![
        8 => proptest::collection::vec(text("[A-Za-z_]{1,30}", 10), 0..4),
        1 => proptest::collection::vec("[A-Za-z]{1,8}", MAX_FIELDS - 1..MAX_FIELDS + 2),
        1 => proptest::collection::vec(text("[a-z]{126,130}", 5), 1..3),
    ];
    let message = prop_oneof![
        8 => any_text(300),
        1 => "\\PC{4090,4100}",
    ];
    // Around the bounds of what is recent, and anything at all.
    let near = |edge: i64| (edge - 2_000..edge + 2_000, 0i32..1_000_000_000);
    let occurred_at = proptest::option::of(prop_oneof![
        4 => (NOW_MS - MAX_FAILURE_AGE_MS..NOW_MS + MAX_FUTURE_SKEW_MS, 0i32..1_000_000_000)
            .prop_map(|(ms, nanos)| (ms.div_euclid(1_000), nanos)),
        1 => near(NOW_MS + MAX_FUTURE_SKEW_MS).prop_map(|(ms, nanos)| (ms.div_euclid(1_000), nanos)),
        1 => near(NOW_MS - MAX_FAILURE_AGE_MS).prop_map(|(ms, nanos)| (ms.div_euclid(1_000), nanos)),
        1 => (any::<i64>(), any::<i32>()),
    ]);
    (
        (
            text("[A-Za-z0-9-]{1,40}|[a-z]{126,130}", 20),
            text("[A-Za-z0-9_]{1,20}|[A-Za-z]{62,66}", 20),
            text("\\PC{1,40}|[0-9]{126,130}", 20),
            text("[A-Za-z0-9]{0,18}|[A-Za-z0-9]{17,20}", 20),
        ),
        (
            enum_number(0..=2),
            text("[A-Z_]{0,40}|[A-Z]{62,66}", 20),
            message,
            fields,
            occurred_at,
        ),
    )
        .prop_map(
            |(
                (idempotency_key, object_type, crm_record_id, salesforce_id),
                (direction, status_code, message, fields, occurred_at),
            )| pb::Failure {
                idempotency_key,
                object_type,
                crm_record_id,
                salesforce_id,
                direction,
                status_code,
                message,
                fields,
                occurred_at: occurred_at.map(|(seconds, nanos)| {
                    let mut t = timestamp(0);
                    t.seconds = seconds;
                    t.nanos = nanos;
                    t
                }),
                ..Default::default()
            },
        )
}

/// The field a failure message breaks first, if any, in the order the
/// rules are checked; named under `at` as a refusal names it.
fn broken_failure_rule(at: &str, f: &pb::Failure) -> Option<String> {
    let salesforce_id_ok = f.salesforce_id.len() <= MAX_SALESFORCE_ID_LEN
        && f.salesforce_id.chars().all(|c| c.is_ascii_alphanumeric());
    let broken = if !(0..=2).contains(&f.direction) {
        "direction".to_owned()
    } else if !is_text(&f.idempotency_key, MAX_IDEMPOTENCY_KEY_LEN, true) {
        "idempotency_key".to_owned()
    } else if !is_object_type(&f.object_type) {
        "object_type".to_owned()
    } else if !is_text(&f.crm_record_id, MAX_RECORD_ID_LEN, true) {
        "crm_record_id".to_owned()
    } else if !salesforce_id_ok {
        "salesforce_id".to_owned()
    } else if !is_text(&f.status_code, MAX_STATUS_CODE_LEN, false) {
        "status_code".to_owned()
    } else if f.message.chars().count() > MAX_MESSAGE_LEN {
        "message".to_owned()
    } else if f.fields.len() > MAX_FIELDS {
        "fields".to_owned()
    } else if let Some(i) = f
        .fields
        .iter()
        .position(|name| !is_text(name, MAX_FIELD_LEN, true))
    {
        format!("fields[{i}]")
    } else if f
        .occurred_at
        .as_ref()
        .is_some_and(|t| occurred_at(t.seconds, t.nanos).is_none())
    {
        "occurred_at".to_owned()
    } else {
        return None;
    };
    Some(format!("{at}.{broken}"))
}

/// The time of a failure in ms, when it is a valid protobuf timestamp
/// within the skew ahead of [`NOW_MS`] and the age behind it.
fn occurred_at(seconds: i64, nanos: i32) -> Option<i64> {
    let valid_seconds = (-62_135_596_800..=253_402_300_799).contains(&seconds);
    if !valid_seconds || !(0..1_000_000_000).contains(&nanos) {
        return None;
    }
    let ms = seconds * 1_000 + i64::from(nanos) / 1_000_000;
    (NOW_MS - MAX_FAILURE_AGE_MS..=NOW_MS + MAX_FUTURE_SKEW_MS)
        .contains(&ms)
        .then_some(ms)
}

/// Any `ErrorFilter` message, or none.
fn any_filter() -> impl Strategy<Value = Option<pb::ErrorFilter>> {
    let filter = (
        enum_number(0..=Category::ALL.len() as i32),
        enum_number(0..=ErrorType::ALL.len() as i32),
        prop_oneof![Just(String::new()), "[A-Za-z0-9_]{1,66}", any_text(10)],
        enum_number(0..=4),
    )
        .prop_map(|(category, r#type, object_type, state)| pb::ErrorFilter {
            category,
            r#type,
            object_type,
            state,
        });
    proptest::option::of(filter)
}

/// A visibility timeout around its bounds, and any at all.
fn any_duration() -> impl Strategy<Value = std::time::Duration> {
    prop_oneof![
        (0u64..4_000, 0u32..1_000_000_000).prop_map(|(s, n)| std::time::Duration::new(s, n)),
        (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| std::time::Duration::new(s, n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// Directions: the three known numbers are taken and keep their number;
    /// any other is refused naming the field given.
    #[test]
    fn directions_are_taken_or_refused_by_field(n in enum_number(0..=2)) {
        match parse_direction("failures[0].direction", n) {
            Ok(d) => prop_assert_eq!(direction_pb(d) as i32, n),
            Err(e) => {
                prop_assert!(!(0..=2).contains(&n));
                prop_assert_eq!(e.field, "failures[0].direction");
            }
        }
    }

    /// Categories and types: 0 means none, a known number its value, any
    /// other number is refused naming the field given.
    #[test]
    fn categories_and_types_are_taken_or_refused_by_field(
        category in enum_number(0..=Category::ALL.len() as i32),
        error_type in enum_number(0..=ErrorType::ALL.len() as i32),
    ) {
        match parse_category("filter.category", category) {
            Ok(None) => prop_assert_eq!(category, 0),
            Ok(Some(c)) => prop_assert_eq!(c.number(), category),
            Err(e) => {
                prop_assert!(category < 0 || category > Category::ALL.len() as i32);
                prop_assert_eq!(e.field, "filter.category");
            }
        }
        match parse_type("type", error_type) {
            Ok(None) => prop_assert_eq!(error_type, 0),
            Ok(Some(t)) => prop_assert_eq!(t.number(), error_type),
            Err(e) => {
                prop_assert!(error_type < 0 || error_type > ErrorType::ALL.len() as i32);
                prop_assert_eq!(e.field, "type");
            }
        }
    }

    /// The numbers a reply gives for a type (its category and its own)
    /// read back as that type and its category.
    #[test]
    fn record_levels_read_back(t in prop::sample::select(ErrorType::ALL.to_vec())) {
        let level = record_level_pb(t);
        prop_assert_eq!(parse_type("type", level.r#type), Ok(Some(t)));
        prop_assert_eq!(parse_category("category", level.category), Ok(Some(t.category())));
    }

    /// Any failure message is taken exactly when it keeps every rule, and a
    /// refusal names the first field that breaks one, under the failure's
    /// place in the batch. A failure taken loses nothing, and is classified
    /// from the text the client sent.
    #[test]
    fn failures_are_taken_or_refused_by_field(f in any_failure(), i in 0usize..1_000) {
        let at = format!("failures[{i}]");
        let broken = broken_failure_rule(&at, &f);
        match parse_failure(&at, f.clone(), NOW_MS) {
            Ok(failure) => {
                prop_assert_eq!(broken, None);
                prop_assert_eq!(failure.direction.number(), f.direction);
                prop_assert_eq!(&failure.idempotency_key, &f.idempotency_key);
                prop_assert_eq!(&failure.object_type, &f.object_type);
                prop_assert_eq!(&failure.crm_record_id, &f.crm_record_id);
                prop_assert_eq!(&failure.salesforce_id, &f.salesforce_id);
                prop_assert_eq!(&failure.status_code, &f.status_code);
                prop_assert_eq!(&failure.message, &f.message);
                prop_assert_eq!(&failure.fields, &f.fields);
                prop_assert_eq!(failure.occurred_at_ms, f.occurred_at.as_ref().and_then(|t| occurred_at(t.seconds, t.nanos)));
                // What is stored is classified from the text as the
                // client sent it: the request's own fields, read straight
                // from the message, give the same classification.
                let rules = crate::rules::Rules::default();
                let org = OrgId::parse("acme").expect("an org id");
                let sent = crate::classify::FailureText {
                    status_code: &f.status_code,
                    message: &f.message,
                    fields: &f.fields,
                    object_type: &f.object_type,
                };
                prop_assert_eq!(
                    classify_failure(&rules, &org, &failure),
                    crate::rules::classify_failure(failure.stated, &rules, Some("acme"), &sent)
                );
            }
            Err(e) => prop_assert_eq!(Some(e.field), broken),
        }
    }

    /// Any filter is taken exactly when each part is empty or valid; a
    /// refusal names the first part that is not, in the order checked.
    #[test]
    fn filters_are_taken_or_refused_by_field(filter in any_filter()) {
        let f = filter.clone().unwrap_or_default();
        let category_ok = (0..=Category::ALL.len() as i32).contains(&f.category);
        let type_ok = (0..=ErrorType::ALL.len() as i32).contains(&f.r#type);
        let object_ok = f.object_type.is_empty() || is_object_type(&f.object_type);
        let state_ok = (0..=4).contains(&f.state);
        let broken = [
            (state_ok, "filter.state"),
            (object_ok, "filter.object_type"),
            (category_ok, "filter.category"),
            (type_ok, "filter.type"),
        ]
        .into_iter()
        .find_map(|(ok, field)| (!ok).then_some(field));
        match parse_filter(filter) {
            Ok(parsed) => {
                prop_assert_eq!(broken, None);
                prop_assert_eq!(parsed.category.map_or(0, Category::number), f.category);
                prop_assert_eq!(parsed.error_type.map_or(0, ErrorType::number), f.r#type);
                prop_assert_eq!(parsed.object_type.unwrap_or_default(), f.object_type);
                prop_assert_eq!(parsed.state.map_or(0, ErrorState::number), f.state);
            }
            Err(e) => prop_assert_eq!(Some(e.field.as_str()), broken),
        }
    }

    /// Any org id is taken exactly when it keeps the org id rule, and kept
    /// as given; a refusal is a bad request naming `org_id`.
    #[test]
    fn org_ids_are_taken_or_refused_by_field(org_id in org_id_text()) {
        match org(&org_id) {
            Ok(parsed) => {
                prop_assert!(is_org_id(&org_id));
                prop_assert_eq!(parsed.as_str(), org_id.as_str());
            }
            Err(ApiError::Invalid(e)) => {
                prop_assert!(!is_org_id(&org_id));
                prop_assert_eq!(e.field, "org_id");
            }
            Err(other) => prop_assert!(false, "not a bad request: {other:?}"),
        }
    }

    /// A page size is 0 (the default) or at most MAX_PAGE_SIZE; any other
    /// is refused naming `page_size`.
    #[test]
    fn page_sizes_are_taken_or_refused_by_field(
        size in prop_oneof![0u32..=MAX_PAGE_SIZE as u32 + 2, any::<u32>()],
    ) {
        match domain::page_size("page_size", size) {
            Ok(n) if size == 0 => prop_assert_eq!(n, DEFAULT_PAGE_SIZE),
            Ok(n) => prop_assert_eq!(n, size as usize),
            Err(e) => {
                prop_assert!(size as usize > MAX_PAGE_SIZE);
                prop_assert_eq!(e.field, "page_size");
            }
        }
    }

    /// Any page token is read (empty is the first page) or refused naming
    /// `page_token`; every token the service hands out reads back.
    #[test]
    fn page_tokens_are_read_or_refused_by_field(
        token in prop_oneof![any_text(20), "p[0-9a-fA-F+-]{0,18}"],
        seq in any::<u64>(),
    ) {
        match Cursor::parse("page_token", &token) {
            Ok(None) => prop_assert!(token.is_empty()),
            Ok(Some(cursor)) => {
                prop_assert_eq!(Cursor::parse("page_token", &cursor.token()), Ok(Some(cursor)));
            }
            Err(e) => prop_assert_eq!(e.field, "page_token"),
        }
        prop_assert_eq!(Cursor::parse("page_token", &Cursor(seq).token()), Ok(Some(Cursor(seq))));
    }

    /// Any error id is taken as given or refused naming the field; every id
    /// the service derives is taken.
    #[test]
    fn error_ids_are_taken_or_refused_by_field(
        text in prop_oneof![any_text(30), "e[0-9a-fA-Fg]{23,25}", "[eé][0-9a-f]{22,24}"],
        object in any_text(20),
        record in any_text(20),
        t in prop::sample::select(ErrorType::ALL.to_vec()),
    ) {
        match ErrorId::parse("error_ids[3]", &text) {
            Ok(id) => prop_assert_eq!(id.as_str(), text.as_str()),
            Err(e) => prop_assert_eq!(e.field, "error_ids[3]"),
        }
        let id = ErrorId::of(&object, &record, t);
        prop_assert_eq!(ErrorId::parse("error_id", id.as_str()), Ok(id.clone()));
    }

    /// Any job id is read or refused naming `job_id`; every job id the
    /// service hands out reads back as its job.
    #[test]
    fn job_ids_are_read_or_refused_by_field(
        text in prop_oneof![any_text(40), "[a-z:.]{0,6}/e[0-9a-f]{24}", "[a-z/]{0,4}/[e0-9/]{0,26}"],
        org_id in "[A-Za-z0-9._:-]{1,64}",
        object in any_text(10),
        t in prop::sample::select(ErrorType::ALL.to_vec()),
    ) {
        match JobId::parse("job_id", &text) {
            Ok(job) => prop_assert_eq!(job.to_string(), text),
            Err(e) => prop_assert_eq!(e.field, "job_id"),
        }
        let job = JobId {
            org: OrgId::parse(&org_id).expect("a valid org id"),
            error: ErrorId::of(&object, "r1", t),
        };
        prop_assert_eq!(JobId::parse("job_id", &job.to_string()), Ok(job));
    }

    /// A visibility timeout is 1 s to 1 h or unset (the default); any
    /// other is refused naming the field.
    #[test]
    fn visibility_timeouts_are_taken_or_refused_by_field(d in proptest::option::of(any_duration())) {
        match resync::visibility("visibility_timeout", d) {
            Ok(taken) => prop_assert_eq!(taken, d.unwrap_or(resync::DEFAULT_VISIBILITY)),
            Err(e) => {
                prop_assert!(d.is_some_and(|d| !(resync::MIN_VISIBILITY..=resync::MAX_VISIBILITY).contains(&d)));
                prop_assert_eq!(e.field, "visibility_timeout");
            }
        }
    }

    /// Any notification settings are taken or refused naming one of their
    /// fields; settings taken keep the rules a delivery relies on.
    #[test]
    fn notification_settings_are_taken_or_refused_by_field(
        enabled in any::<bool>(),
        frequency in enum_number(0..=3),
        webhook_url in prop_oneof![Just(String::new()), "https?://[a-z@.:/0-9]{0,30}", "https?:/?/?\\PC{0,10}", any_text(20)],
        webhook_secret in proptest::option::of(prop_oneof!["\\PC{14,20}", any_text(20)]),
    ) {
        match notify::Frequency::from_number(frequency) {
            Some(f) => prop_assert_eq!(f.number(), frequency.max(1)),
            None => prop_assert!(!(0..=3).contains(&frequency)),
        }
        let settings = notify::Settings {
            enabled,
            frequency: notify::Frequency::default(),
            webhook_url,
            webhook_secret,
            ..notify::Settings::default()
        };
        match settings.validate() {
            Ok(()) => {
                let url = &settings.webhook_url;
                prop_assert!(url.is_empty() || url.starts_with("http://") || url.starts_with("https://"));
                prop_assert!(!url.chars().any(|c| c.is_control() || c.is_whitespace()));
                let parsed = crate::destination::WebhookUrl::parse("settings.webhook_url", url);
                prop_assert!(url.is_empty() || parsed.is_ok());
                let authority = url.split("://").nth(1).unwrap_or_default().split(['/', '?']).next().unwrap_or_default();
                prop_assert!(!authority.contains('@'), "credentials taken: {url}");
                if let Some(secret) = &settings.webhook_secret {
                    prop_assert!(notify::SECRET_LEN.contains(&secret.chars().count()));
                    prop_assert!(!secret.chars().any(char::is_control));
                }
                if enabled {
                    prop_assert!(!url.is_empty() && settings.webhook_secret.is_some());
                }
            }
            Err(e) => prop_assert!(
                ["settings.webhook_url", "settings.webhook_secret"].contains(&e.field.as_str()),
                "field {}", e.field
            ),
        }
    }

    /// Any e-mail recipients are taken or refused naming the list or one
    /// of them; recipients taken are few, parse as addresses, and hold no
    /// character that could end a header.
    #[test]
    fn email_recipients_are_taken_or_refused_by_field(
        recipients in proptest::collection::vec(
            text("[a-z]{1,8}@[a-z]{1,8}\\.example", 40), 0..24),
    ) {
        let settings = notify::Settings {
            enabled: true,
            email_recipients: recipients.clone(),
            ..notify::Settings::default()
        };
        match settings.validate() {
            Ok(()) => {
                prop_assert!(!recipients.is_empty() && recipients.len() <= notify::MAX_RECIPIENTS);
                for r in &recipients {
                    prop_assert!(!r.chars().any(char::is_control), "{r:?}");
                    prop_assert!(r.parse::<lettre::Address>().is_ok(), "{r:?}");
                    prop_assert!(r.len() <= notify::MAX_ADDRESS_LEN);
                }
            }
            Err(e) => {
                let i = e.field.strip_prefix("settings.email_recipients");
                prop_assert!(
                    e.field == "settings.webhook_url" && recipients.is_empty()
                        || i == Some("")
                        || i.is_some_and(|i| i.starts_with('[') && i.ends_with(']')),
                    "field {}", e.field
                );
            }
        }
    }
}
