//! The org-wide view, pure. Other apps use the same Salesforce org, so the
//! integration's own window is not the whole story: workers report what
//! Salesforce tells them (the `Sforce-Limit-Info` header, or the limits
//! resource), and the governor estimates the org's usage as the last report
//! plus its own grants since. A grant that would take that estimate past the
//! org limit, less a safety margin, is denied.

use syncgov_kit::input::InvalidInput;

/// Default share of the org limit kept free, in percent.
pub const DEFAULT_SAFETY_MARGIN_PERCENT: u8 = 2;

/// How far into the future a report's `observed_at` may be: clocks differ a
/// little, never by this much. A report from further ahead would outrank
/// every truthful report after it.
pub const MAX_FUTURE_SKEW_MS: i64 = 5 * 60 * 1_000;

/// The most a report may claim, used or max: far above any Salesforce limit,
/// low enough that sums never overflow.
pub const MAX_REPORTED: u64 = 1_000_000_000_000;

/// What a worker last saw of the org's usage, with the governor's own grants
/// since then.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OrgView {
    /// Calls the org had used in its rolling 24 h, as reported.
    pub reported_used: u64,
    /// The org's limit, as reported.
    pub reported_max: u64,
    /// When the report was observed, ms since the epoch.
    pub observed_at_ms: i64,
    /// Calls this governor granted since the report (from the bucket of the
    /// report on, so a grant in that bucket just before it counts too: the
    /// estimate errs high, never low).
    pub granted_since: u64,
}

impl OrgView {
    /// The org's usage as the governor estimates it now.
    pub fn estimate(&self) -> u64 {
        self.reported_used.saturating_add(self.granted_since)
    }

    /// The most the org may use before grants stop: the limit less the margin.
    pub fn ceiling(&self, org_limit: u64, margin_percent: u8) -> u64 {
        org_limit * u64::from(100 - margin_percent.min(100)) / 100
    }

    /// True when `count` more calls would take the org past its ceiling.
    pub fn would_exceed(&self, count: u64, org_limit: u64, margin_percent: u8) -> bool {
        self.estimate().saturating_add(count) > self.ceiling(org_limit, margin_percent)
    }
}

/// Reads the `api-usage=N/M` entry of a `Sforce-Limit-Info` header value,
/// for example `api-usage=18/5000` or
/// `api-usage=25/5000, per-app-api-usage=17/250(appName=sample-app)`.
/// `N` may exceed `M`: Salesforce lets an org go somewhat over its limit.
pub fn parse_limit_info(field: &str, header: &str) -> Result<(u64, u64), InvalidInput> {
    let bad = || {
        InvalidInput::new(
            field,
            "must hold api-usage=USED/MAX, as in the Sforce-Limit-Info header",
        )
    };
    let entry = header
        .split([',', ';'])
        .map(str::trim)
        .find_map(|entry| {
            let (name, value) = entry.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("api-usage")
                .then_some(value)
        })
        .ok_or_else(bad)?;
    let (used, max) = entry.trim().split_once('/').ok_or_else(bad)?;
    let number = |text: &str| {
        text.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= MAX_REPORTED)
    };
    let (used, max) = (number(used).ok_or_else(bad)?, number(max).ok_or_else(bad)?);
    if max == 0 {
        return Err(InvalidInput::new(
            field,
            "the reported max must be at least 1",
        ));
    }
    Ok((used, max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_api_usage_entry() {
        assert_eq!(
            parse_limit_info("limit_info", "api-usage=18/5000"),
            Ok((18, 5000))
        );
        assert_eq!(
            parse_limit_info("limit_info", " API-Usage = 25 / 5000 "),
            Ok((25, 5000))
        );
        assert_eq!(
            parse_limit_info(
                "limit_info",
                "per-app-api-usage=17/250(appName=sample-app), api-usage=25/5000"
            ),
            Ok((25, 5000))
        );
        assert_eq!(
            parse_limit_info("limit_info", "api-usage=5123/5000"),
            Ok((5123, 5000)),
            "over the limit"
        );
    }

    #[test]
    fn refuses_what_is_not_a_usage() {
        for bad in [
            "",
            "api-usage",
            "api-usage=",
            "api-usage=1",
            "api-usage=a/b",
            "api-usage=1/0",
            "per-app-api-usage=1/2",
        ] {
            let err = parse_limit_info("limit_info", bad).unwrap_err();
            assert_eq!(err.field, "limit_info", "{bad:?}");
        }
    }

    #[test]
    fn the_estimate_errs_high_and_the_margin_holds_back() {
        let view = OrgView {
            reported_used: 4_800,
            reported_max: 5_000,
            observed_at_ms: 0,
            granted_since: 100,
        };
        assert_eq!(view.estimate(), 4_900);
        assert_eq!(view.ceiling(5_000, 2), 4_900);
        assert!(!view.would_exceed(0, 5_000, 2));
        assert!(view.would_exceed(1, 5_000, 2));
        assert!(!view.would_exceed(100, 5_000, 0));
    }

    proptest! {
        /// Any text: a usage read from it is written in it, after the
        /// entry's name; text without the name or a `/` is refused.
        #[test]
        fn any_header_gives_only_what_it_says(header in ".{0,200}") {
            let lower = header.to_ascii_lowercase();
            match parse_limit_info("limit_info", &header) {
                // What is read is written in the header, after the entry's
                // name.
                Ok((used, max)) => {
                    let at = lower.find("api-usage").expect("an api-usage entry");
                    let rest = &lower[at..];
                    prop_assert!(rest.contains(&used.to_string()), "{}", header);
                    prop_assert!(rest.contains(&max.to_string()), "{}", header);
                }
                // Without the entry's name there is nothing to read.
                Err(e) => prop_assert_eq!(e.field, "limit_info"),
            }
            if !lower.contains("api-usage") || !header.contains('/') {
                prop_assert!(parse_limit_info("limit_info", &header).is_err(), "{}", header);
            }
        }

        #[test]
        fn reads_back_what_it_is_given(used in 0u64..MAX_REPORTED, max in 1u64..MAX_REPORTED) {
            prop_assert_eq!(parse_limit_info("limit_info", &format!("api-usage={used}/{max}")), Ok((used, max)));
        }
    }

    /// Another entry of the header, never the `api-usage` one.
    fn other_entry() -> impl Strategy<Value = String> {
        "[a-z][a-z-]{0,15}=[0-9]{1,5}/[0-9]{1,5}(\\(appName=[a-z-]{1,10}\\))?"
            .prop_filter("not api-usage", |e| {
                !e.to_ascii_lowercase().starts_with("api-usage=")
            })
    }

    /// `api-usage` in any mix of cases.
    fn entry_name() -> impl Strategy<Value = String> {
        proptest::collection::vec(any::<bool>(), 9).prop_map(|upper| {
            "api-usage"
                .chars()
                .zip(upper)
                .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c })
                .collect()
        })
    }

    /// Text of the header's shape (entries, separators, numbers of any
    /// size) or any text at all.
    fn header_like() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            other_entry(),
            (entry_name(), "[ 0-9a-z/=+-]{0,30}").prop_map(|(n, v)| format!("{n}={v}")),
            Just("api-usage=".to_owned()),
            "[ ,;=/]{1,3}",
            "[0-9]{1,25}",
        ];
        prop_oneof![
            proptest::collection::vec(piece, 0..6).prop_map(|p| p.concat()),
            proptest::string::string_regex("(?s).{0,120}").expect("a valid pattern"),
        ]
    }

    /// Whitespace around an entry's parts, as the header may carry.
    fn pad() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec!["", " ", "  ", "\t"])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any text is either read as a usage within bounds (used at most
        /// MAX_REPORTED, max 1 to MAX_REPORTED) or refused naming the field
        /// it came in.
        #[test]
        fn any_text_is_read_within_bounds_or_refused_by_field(header in header_like()) {
            match parse_limit_info("report.limit_info", &header) {
                Ok((used, max)) => {
                    prop_assert!(used <= MAX_REPORTED);
                    prop_assert!((1..=MAX_REPORTED).contains(&max));
                }
                Err(e) => prop_assert_eq!(e.field, "report.limit_info"),
            }
        }

        /// The usage reads back whatever surrounds it: other entries before
        /// and after, either separator, whitespace, the name in any case.
        #[test]
        fn reads_back_among_other_entries(
            used in prop_oneof![0u64..10_000, Just(MAX_REPORTED), 0..=MAX_REPORTED],
            max in prop_oneof![1u64..10_000, Just(MAX_REPORTED), 1..=MAX_REPORTED],
            before in proptest::collection::vec(other_entry(), 0..3),
            after in proptest::collection::vec(other_entry(), 0..3),
            name in entry_name(),
            separator in prop::sample::select(vec![",", ";", ", ", " ; "]),
            pads in proptest::collection::vec(pad(), 6),
        ) {
            let entry = format!(
                "{}{name}{}={}{used}{}/{}{max}{}",
                pads[0], pads[1], pads[2], pads[3], pads[4], pads[5]
            );
            let header = before
                .iter()
                .chain([&entry])
                .chain(&after)
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(separator);
            prop_assert_eq!(parse_limit_info("limit_info", &header), Ok((used, max)), "{}", header);
        }

        /// A usage out of bounds (used above MAX_REPORTED, max 0 or above
        /// it, numbers too long for 64 bits) is refused naming the field.
        #[test]
        fn refuses_numbers_out_of_bounds(
            (used, max) in prop_oneof![
                (MAX_REPORTED + 1..=u64::MAX, 1..=MAX_REPORTED).prop_map(|(u, m)| (u.to_string(), m.to_string())),
                (0..=MAX_REPORTED, prop_oneof![Just(0), MAX_REPORTED + 1..=u64::MAX]).prop_map(|(u, m)| (u.to_string(), m.to_string())),
                ("[1-9][0-9]{20,30}", "[0-9]{1,4}"),
                ("[0-9]{1,4}", "[1-9][0-9]{20,30}"),
            ],
        ) {
            let err = parse_limit_info("limit_info", &format!("api-usage={used}/{max}")).unwrap_err();
            prop_assert_eq!(err.field, "limit_info");
        }
    }
}
