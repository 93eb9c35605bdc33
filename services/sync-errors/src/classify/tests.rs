//! Unit tests of the automaton, the scan and the tables, and properties
//! every input keeps.

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

#[test]
fn a_restricted_picklist_on_the_stage_is_an_invalid_opportunity_stage() {
    let message = "bad value for restricted picklist field: Closed Lost Old";
    let code = "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST";
    assert_eq!(
        classify_text(code, message, &["StageName"], "Opportunity"),
        Classification::Record(ErrorType::InvalidOpportunityStage)
    );
    assert_eq!(
        classify_text(code, message, &["Industry"], "Account"),
        Classification::Record(ErrorType::RestrictedPicklistValue)
    );
}

#[test]
fn each_localized_phrase_reads_as_its_own_cause() {
    for (message, expected) in [
        (
            "制限付き選択リスト項目の値が不適切: 北海道",
            ErrorType::RestrictedPicklistValue,
        ),
        (
            "カスタム入力規則の例外: 金額は必須です",
            ErrorType::CustomValidationRule,
        ),
        (
            "重複レコードの可能性があります。いずれか 1 つのレコードを使用しますか?",
            ErrorType::SalesforceDuplicateRule,
        ),
    ] {
        assert_eq!(
            classify_text("", message, &[], ""),
            Classification::Record(expected),
            "{message}"
        );
    }
}

#[test]
fn an_unsupported_type_is_read_only_with_its_name() {
    assert!(names_unsupported_type(b"Invoice__c' is not supported"));
    assert!(!names_unsupported_type(b"' is not supported"), "no name");
    assert!(!names_unsupported_type(b"Invoice__c' is supported"));
}

/// Every `(pattern, end)` the walk reports, sorted.
fn walked(hay: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    matcher().walk(hay, |p, end| out.push((p.as_usize(), end)));
    out.sort_unstable();
    out
}

/// Every pattern of the automaton is found in a text of its own, in
/// upper and lower case, long ones whose heads others share included.
#[test]
fn every_pattern_of_the_automaton_is_found_whole() {
    let m = matcher();
    for (id, pattern) in m.patterns[..m.frames].iter().enumerate() {
        for text in [pattern.to_ascii_uppercase(), pattern.to_ascii_lowercase()] {
            let text = format!("x {text} y");
            let mut found = Vec::new();
            m.occurrences(text.as_bytes(), |p, start, end| {
                found.push((p.as_usize(), start, end))
            });
            assert!(
                found.contains(&(id, 2, 2 + pattern.len())),
                "{pattern:?} not found whole in {text:?}: {found:?}"
            );
            // A head alone is not the pattern.
            if pattern.len() > HEAD {
                let head = format!("x {} y", &text[2..2 + HEAD]);
                let mut cut = Vec::new();
                m.occurrences(head.as_bytes(), |p, _, _| cut.push(p.as_usize()));
                assert!(!cut.contains(&id), "{pattern:?} found in its head alone");
            }
        }
    }
}

/// The same from the library's own overlapping search: the reference.
fn searched(hay: &[u8]) -> Vec<(usize, usize)> {
    static REFERENCE: OnceLock<aho_corasick::AhoCorasick> = OnceLock::new();
    let reference = REFERENCE.get_or_init(|| {
        let m = matcher();
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(
                m.patterns[..m.frames]
                    .iter()
                    .map(|p| &p.as_bytes()[..p.len().min(HEAD)]),
            )
            .expect("the automaton's patterns build")
    });
    let iter = reference.find_overlapping_iter(hay);
    let mut out: Vec<_> = iter.map(|m| (m.pattern().as_usize(), m.end())).collect();
    out.sort_unstable();
    out
}

fn fragment() -> impl Strategy<Value = String> {
    let patterns: Vec<&str> = codes_in_text()
        .map(|(p, _)| p)
        .chain(PHRASES.iter().map(|&(p, _)| p))
        .collect();
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
    let codes: Vec<&str> = all_codes().map(|&(code, _, _)| code).collect();
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
        code in prop::sample::select(all_codes().map(|&(code, _, _)| code).collect::<Vec<_>>()),
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
    let warm = m.dfa.warm();
    for len in [3 * warm, 3 * warm + 1, 200, 1000, 1024, 1500] {
        for at in 0..=len - pattern.len() {
            let mut hay = vec![b'.'; len];
            hay[at..at + pattern.len()].copy_from_slice(pattern.as_bytes());
            assert_eq!(walked(&hay), searched(&hay), "len {len}, at {at}");
        }
    }
}

#[test]
fn the_walk_reads_a_table_under_half_the_size_of_the_librarys() {
    let m = matcher();
    let library = aho_corasick::dfa::DFA::builder()
        .ascii_case_insensitive(true)
        .prefilter(false)
        .build(
            m.patterns[..m.frames]
                .iter()
                .map(|p| &p.as_bytes()[..p.len().min(HEAD)]),
        )
        .expect("the automaton's patterns build");
    use aho_corasick::automaton::Automaton as _;
    assert!(
        2 * m.dfa.table_bytes() < library.memory_usage(),
        "{} bytes against the library's {}",
        m.dfa.table_bytes(),
        library.memory_usage()
    );
}

#[test]
fn code_keys_do_not_collide() {
    let mut hashes: Vec<u64> = matcher().codes.iter().map(|(k, _, _)| k.hash).collect();
    hashes.dedup();
    assert_eq!(hashes.len(), all_codes().count());
    let mut keys: Vec<Vec<u8>> = matcher()
        .codes
        .iter()
        .map(|(k, _, _)| k.bytes().to_vec())
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), all_codes().count());
}

#[test]
fn the_cue_set_fits_in_the_bit_set() {
    assert!((Cue::NotAValue as u32) < 128);
}

#[test]
fn patterns_are_unique() {
    let mut all: Vec<String> = codes_in_text()
        .map(|(p, _)| p)
        .chain(PHRASES.iter().map(|&(p, _)| p))
        .map(|p| p.to_ascii_lowercase())
        .collect();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n);
}

#[test]
fn status_codes_compare_ignoring_case_and_underscores() {
    let cue = |s: &str| status_cue(s).map(|(cue, _)| cue);
    assert_eq!(cue("InvalidSessionId"), Some(Cue::Auth));
    assert_eq!(cue("invalid_grant"), Some(Cue::Auth));
    assert_eq!(cue(" sf:INVALID_SESSION_ID "), Some(Cue::Auth));
    assert_eq!(cue("INVALID_TYPE"), Some(Cue::HiddenObject));
    assert_eq!(cue("InvalidBatch"), Some(Cue::BatchFailure));
    assert_eq!(cue("503"), Some(Cue::Unavailable));
    assert_eq!(
        status_cue("invalidsessionid").map(|(_, c)| c),
        Some("INVALID_SESSION_ID")
    );
    assert_eq!(cue("INVALID_TYPE_X"), None);
    assert_eq!(cue(""), None);
    assert_eq!(cue("_"), None);
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
