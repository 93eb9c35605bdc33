//! Property tests of the request validators: any input is either taken or
//! refused with an error naming its field, never a panic.
//!
//! Each validator is checked against its documented rule (which inputs it
//! takes, and which field a refusal names), and every reply form that a
//! caller may send back (budgets, priorities, grant ids, cursors) is checked
//! to read back as what it was made from.

use super::*;

use proptest::prelude::*;
use prost_types::Timestamp;
use syncgov_kit::clock::timestamp_ms;

use crate::domain::Grant;
use crate::domain::{MAX_CLIENT_ID_LEN, MAX_COUNT, MAX_ORG_ID_LEN, MAX_ORG_LIMIT};
use crate::suspension::{Cursor, MAX_DETAIL_LEN};

/// Cases per property: enough to reach the edges the strategies aim at,
/// few enough to keep the suite quick.
const CASES: u32 = 512;

/// Any text at all: control characters, newlines and any Unicode scalar.
fn any_text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("(?s).{{0,{max}}}")).expect("a valid pattern")
}

/// Text near the org id rules: mostly allowed characters, sometimes one
/// that is not, around the length limit.
fn org_id_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9._:-]{1,64}",
        "[A-Za-z0-9._:-]{60,70}",
        "[A-Za-z0-9._:{} \té/-]{0,8}",
        any_text(80),
    ]
}

/// The org id rule: 1 to 64 characters of A-Z a-z 0-9 . _ : -
fn is_org_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_ORG_ID_LEN
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
}

/// An enum number: usually a known value, sometimes any `i32`.
fn enum_number(known: std::ops::RangeInclusive<i32>) -> impl Strategy<Value = i32> {
    let low = *known.start() - 2;
    let high = *known.end() + 2;
    prop_oneof![4 => known, 1 => low..=high, 1 => any::<i32>()]
}

/// A count near the interesting edges: 0, 1, the maximum, any `u64`.
fn count(max: u64) -> impl Strategy<Value = u64> {
    prop_oneof![
        1 => Just(0u64),
        6 => 1..=max,
        1 => max - 2..=max + 2,
        1 => any::<u64>(),
    ]
}

/// Any protobuf timestamp, in range or not, `nanos` of any sign.
fn any_timestamp() -> impl Strategy<Value = Timestamp> {
    let seconds = prop_oneof![
        1_600_000_000i64..1_900_000_000,
        any::<i64>(),
        Just(i64::MIN),
        Just(i64::MAX),
    ];
    let nanos = prop_oneof![0i32..1_000_000_000, any::<i32>()];
    (seconds, nanos).prop_map(|(seconds, nanos)| Timestamp { seconds, nanos })
}

/// A share percent: mostly 1 to 100, sometimes anything.
fn percent() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 1u32..=100, 1 => Just(0u32), 1 => any::<u32>()]
}

/// Any `Budget` message, or none; values cluster where the rules bite.
fn any_budget_message() -> impl Strategy<Value = Option<pb::Budget>> {
    let shares = proptest::option::of((percent(), percent(), percent()).prop_map(
        |(retry, normal, critical)| pb::PriorityShares {
            retry_percent: retry,
            normal_percent: normal,
            critical_percent: critical,
        },
    ));
    let allocation_override = proptest::option::of(
        (count(MAX_ORG_LIMIT), proptest::option::of(any_timestamp())).prop_map(
            |(allocation, expires_at)| pb::AllocationOverride {
                allocation,
                expires_at,
            },
        ),
    );
    let budget = (
        count(MAX_ORG_LIMIT),
        count(MAX_ORG_LIMIT),
        shares,
        allocation_override,
        any::<bool>(),
    )
        .prop_map(
            |(org_limit, allocation, shares, allocation_override, shadow)| pb::Budget {
                org_limit,
                allocation,
                shares,
                allocation_override,
                shadow,
                alert_thresholds_percent: Vec::new(),
            },
        );
    prop_oneof![1 => Just(None), 20 => budget.prop_map(Some)]
}

/// The field the budget rules say a message breaks first, if any, in the
/// order they are checked: presence, shares, the override's expiry, then
/// the limits.
fn broken_budget_rule(budget: &Option<pb::Budget>, now_ms: i64) -> Option<&'static str> {
    let Some(b) = budget else {
        return Some("budget");
    };
    if let Some(s) = &b.shares {
        let ok = |p: u32| (1..=100).contains(&p);
        if !ok(s.retry_percent) {
            return Some("budget.shares.retry_percent");
        }
        if !ok(s.normal_percent) {
            return Some("budget.shares.normal_percent");
        }
        if !ok(s.critical_percent) {
            return Some("budget.shares.critical_percent");
        }
        if s.retry_percent > s.normal_percent || s.normal_percent > s.critical_percent {
            return Some("budget.shares");
        }
    }
    let in_range = |t: &Timestamp| {
        (syncgov_kit::input::MIN_TIMESTAMP_SECONDS..=syncgov_kit::input::MAX_TIMESTAMP_SECONDS)
            .contains(&t.seconds)
            && (0..1_000_000_000).contains(&t.nanos)
    };
    if b.allocation_override
        .as_ref()
        .is_some_and(|o| !o.expires_at.as_ref().is_some_and(in_range))
    {
        return Some("budget.allocation_override.expires_at");
    }
    if b.org_limit == 0 || b.org_limit > MAX_ORG_LIMIT {
        return Some("budget.org_limit");
    }
    if b.allocation > b.org_limit {
        return Some("budget.allocation");
    }
    if let Some(o) = &b.allocation_override {
        if o.allocation > b.org_limit {
            return Some("budget.allocation_override.allocation");
        }
        let expires_at = o.expires_at.as_ref().map(timestamp_ms);
        if expires_at <= Some(now_ms)
            || expires_at.is_some_and(|at| at - now_ms > crate::domain::MAX_OVERRIDE_MS)
        {
            return Some("budget.allocation_override.expires_at");
        }
    }
    None
}

/// A budget that keeps every rule at `now_ms`, as the domain holds it.
fn valid_budget(now_ms: i64) -> impl Strategy<Value = Budget> {
    (1..=MAX_ORG_LIMIT)
        .prop_flat_map(move |org_limit| {
            let shares = proptest::collection::vec(1u8..=100, 3).prop_map(|mut p| {
                p.sort_unstable();
                Shares {
                    retry: p[0],
                    normal: p[1],
                    critical: p[2],
                }
            });
            let allocation_override = proptest::option::of(
                (0..=org_limit, 1..=crate::domain::MAX_OVERRIDE_MS).prop_map(
                    move |(allocation, ahead)| AllocationOverride {
                        allocation,
                        expires_at_ms: now_ms.saturating_add(ahead),
                    },
                ),
            );
            (
                Just(org_limit),
                0..=org_limit,
                shares,
                allocation_override,
                any::<bool>(),
            )
        })
        .prop_map(
            |(org_limit, allocation, shares, allocation_override, shadow)| Budget {
                org_limit,
                allocation,
                shares,
                allocation_override,
                shadow,
                alert_thresholds: None,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// A budget key is taken exactly when the org id keeps its rule and the
    /// resource is a known one; otherwise the refusal names the org id
    /// first, then the resource.
    #[test]
    fn keys_are_taken_or_refused_by_field(org_id in org_id_text(), resource in enum_number(0..=2)) {
        let org_ok = is_org_id(&org_id);
        let resource_ok = (0..=2).contains(&resource);
        match read_key(&org_id, resource) {
            Ok(key) => {
                prop_assert!(org_ok && resource_ok);
                prop_assert_eq!(key.org.as_str(), org_id.as_str());
                let expected = if resource == 2 { Resource::BulkBatches } else { Resource::ApiRequests };
                prop_assert_eq!(key.resource, expected);
            }
            Err(e) => {
                prop_assert!(!(org_ok && resource_ok));
                prop_assert_eq!(e.field, if org_ok { "resource" } else { "org_id" });
            }
        }
    }

    /// Priorities: the three known ones and UNSPECIFIED (normal) are taken,
    /// every other number is refused naming `priority`.
    #[test]
    fn priorities_are_taken_or_refused_by_field(n in enum_number(0..=3)) {
        match read_priority(n) {
            Ok(p) => {
                prop_assert!((0..=3).contains(&n));
                if n != 0 {
                    prop_assert_eq!(priority_pb(p) as i32, n);
                }
            }
            Err(e) => {
                prop_assert!(!(0..=3).contains(&n));
                prop_assert_eq!(e.field, "priority");
            }
        }
    }

    /// Suspension reasons: every known one is taken and keeps its number;
    /// UNSPECIFIED and unknown numbers are refused naming `reason`.
    #[test]
    fn reasons_are_taken_or_refused_by_field(n in enum_number(0..=SuspensionReason::ALL.len() as i32)) {
        match read_reason(n) {
            Ok(reason) => prop_assert_eq!(reason.number(), n),
            Err(e) => {
                prop_assert!(SuspensionReason::ALL.iter().all(|r| r.number() != n));
                prop_assert_eq!(e.field, "reason");
            }
        }
    }

    /// Any budget message is taken exactly when it keeps every rule, and a
    /// refusal names the first rule broken; a budget taken keeps every
    /// value it was given.
    #[test]
    fn budgets_are_taken_or_refused_by_field(
        budget in any_budget_message(),
        now_ms in prop_oneof![1_700_000_000_000i64..1_800_000_000_000, any::<i64>()],
    ) {
        let broken = broken_budget_rule(&budget, now_ms);
        match read_budget(budget.clone(), now_ms) {
            Ok(parsed) => {
                prop_assert_eq!(broken, None);
                let given = budget.expect("a budget was taken");
                prop_assert_eq!(parsed.org_limit, given.org_limit);
                prop_assert_eq!(parsed.allocation, given.allocation);
                match given.shares {
                    None => prop_assert_eq!(parsed.shares, Shares::default()),
                    Some(s) => prop_assert_eq!(
                        (u32::from(parsed.shares.retry), u32::from(parsed.shares.normal), u32::from(parsed.shares.critical)),
                        (s.retry_percent, s.normal_percent, s.critical_percent)
                    ),
                }
                prop_assert_eq!(
                    parsed.allocation_override.map(|o| (o.allocation, o.expires_at_ms)),
                    given.allocation_override.map(|o| (o.allocation, timestamp_ms(&o.expires_at.expect("an expiry was given"))))
                );
                prop_assert!(parsed.validate(now_ms).is_ok());
            }
            Err(e) => prop_assert_eq!(Some(e.field.as_str()), broken),
        }
    }

    /// A budget as replies show it reads back as the same budget.
    #[test]
    fn budgets_round_trip_through_their_message(
        (now_ms, budget) in (0i64..4_000_000_000_000).prop_flat_map(|now| (Just(now), valid_budget(now))),
    ) {
        prop_assert_eq!(read_budget(Some(budget_pb(&budget)), now_ms), Ok(budget));
    }

    /// A wait in milliseconds becomes a well-formed protobuf duration
    /// (`nanos` in 0..1e9) worth exactly as many milliseconds.
    #[test]
    fn durations_keep_their_milliseconds(ms in prop_oneof![0u64..100_000_000, any::<u64>()]) {
        let d = duration(ms);
        prop_assert!((0..1_000_000_000).contains(&d.nanos));
        let back = std::time::Duration::try_from(d).expect("a non-negative duration");
        prop_assert_eq!(back, std::time::Duration::from_millis(ms));
    }

    /// A token request's `count` and `min_count` are taken exactly when
    /// 1 <= count <= MAX_COUNT and min_count is 0 or at most count; a
    /// request taken never asks for fewer than its minimum.
    #[test]
    fn token_asks_are_taken_or_refused_by_field(count in count(MAX_COUNT), min_count in count(MAX_COUNT)) {
        let count_ok = (1..=MAX_COUNT).contains(&count);
        let min_ok = min_count <= count;
        match Ask::parse(count, min_count) {
            Ok(ask) => {
                prop_assert!(count_ok && min_ok);
                prop_assert_eq!(u64::from(ask.count), count);
                let min = if min_count == 0 { count } else { min_count };
                prop_assert_eq!(u64::from(ask.min), min);
                prop_assert!(ask.min <= ask.count);
            }
            Err(e) => {
                prop_assert!(!(count_ok && min_ok));
                prop_assert_eq!(e.field, if count_ok { "min_count" } else { "count" });
            }
        }
    }

    /// A released count is 1 to MAX_COUNT, else refused naming `count`.
    #[test]
    fn released_counts_are_taken_or_refused_by_field(n in count(MAX_COUNT)) {
        match domain::parse_count("count", n) {
            Ok(taken) => prop_assert_eq!(u64::from(taken), n),
            Err(e) => {
                prop_assert!(n == 0 || n > MAX_COUNT);
                prop_assert_eq!(e.field, "count");
            }
        }
    }

    /// A client id is at most MAX_CLIENT_ID_LEN characters, none of them
    /// control characters; else it is refused naming `client_id`.
    #[test]
    fn client_ids_are_taken_or_refused_by_field(
        id in prop_oneof![any_text(140), "[a-z0-9-]{120,130}", "\\PC{0,130}"],
    ) {
        let ok = id.chars().count() <= MAX_CLIENT_ID_LEN && !id.chars().any(char::is_control);
        match domain::check_client_id(&id) {
            Ok(()) => prop_assert!(ok),
            Err(e) => {
                prop_assert!(!ok);
                prop_assert_eq!(e.field, "client_id");
            }
        }
    }

    /// A suspension's detail is at most MAX_DETAIL_LEN characters, with no
    /// control characters but line breaks and tabs; else refused naming
    /// `detail`.
    #[test]
    fn details_are_taken_or_refused_by_field(detail in prop_oneof![any_text(40), "\\PC{1000,1050}", "[a-z\n\t\r\x1b\x00\x07]{0,20}"]) {
        let printable = detail.chars().all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'));
        match suspension::check_detail(&detail) {
            Ok(()) => prop_assert!(detail.chars().count() <= MAX_DETAIL_LEN && printable),
            Err(e) => {
                prop_assert!(detail.chars().count() > MAX_DETAIL_LEN || !printable);
                prop_assert_eq!(e.field, "detail");
            }
        }
    }

    /// Any text given as a grant id is read or refused naming
    /// `grant_id`, never a panic; an id read names a grant that, signed
    /// again, reads back the same.
    #[test]
    fn grant_ids_are_read_or_refused_by_field(
        text in prop_oneof![any_text(40), "g3\\.-?[0-9]{0,21}\\.[0-9]{0,21}\\.[0-9a-f]{0,17}\\.[0-9a-f]{30,34}", "g[1-3][.0-9a-z+-]{0,12}"],
    ) {
        match crate::grant_id::GrantId::parse(&text) {
            Ok(Some(id)) => prop_assert!(text.starts_with("g3.") && id.grant.count.to_string().len() <= 21),
            Ok(None) => prop_assert!(text.starts_with("g1.") || text.starts_with("g2.")),
            Err(e) => prop_assert_eq!(e.field, "grant_id"),
        }
    }

    /// Every grant id the service writes opens as its grant, for its org
    /// and resource only.
    #[test]
    fn grant_ids_round_trip(bucket_start_ms in any::<i64>(), count in any::<u64>(), nonce in any::<u64>(), org_id in "[a-z0-9]{1,12}") {
        use crate::grant_id::{GrantId, GrantKey, Opened};
        let grant = Grant { bucket_start_ms, count, nonce };
        let key = GrantKey::random();
        let org = OrgId::parse(&org_id).unwrap();
        let id = key.seal(&org, Resource::ApiRequests, &grant);
        let read = GrantId::parse(&id).unwrap().unwrap();
        prop_assert_eq!(read.open([&key], &org, Resource::ApiRequests), Opened::Genuine(grant));
        let other = OrgId::parse(&format!("{org_id}x")).unwrap();
        prop_assert_eq!(read.open([&key], &other, Resource::ApiRequests), Opened::Unknown);
    }

    /// Any text given as a watch cursor is read or refused naming the
    /// field; every cursor the service writes reads back as itself.
    #[test]
    fn cursors_are_read_or_refused_by_field(
        text in prop_oneof![any_text(40), "[0-9]{0,21}-[+]?[0-9]{0,21}", "[0-9-]{0,8}"],
        ms in any::<u64>(),
        seq in any::<u64>(),
    ) {
        match Cursor::parse("cursor", &text) {
            Ok(cursor) => prop_assert_eq!(Cursor::parse("cursor", &cursor.to_string()), Ok(cursor)),
            Err(e) => prop_assert_eq!(e.field, "cursor"),
        }
        let cursor = Cursor { ms, seq };
        prop_assert_eq!(Cursor::parse("cursor", &cursor.to_string()), Ok(cursor));
    }
}
