//! The org-wide view, pure. Other apps use the same Salesforce org, so the
//! integration's own window is not the whole story: workers report what
//! Salesforce tells them (the `Sforce-Limit-Info` header, or the limits
//! resource), and the governor estimates the org's usage as the last report
//! plus its own grants since. A grant that would take that estimate past the
//! org limit, less a safety margin, is denied.

use crate::domain::InvalidInput;

/// Default share of the org limit kept free, in percent.
pub const DEFAULT_SAFETY_MARGIN_PERCENT: u8 = 2;

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
        #[test]
        fn never_panics_on_any_header(header in ".{0,200}") {
            let _ = parse_limit_info("limit_info", &header);
        }

        #[test]
        fn reads_back_what_it_is_given(used in 0u64..MAX_REPORTED, max in 1u64..MAX_REPORTED) {
            prop_assert_eq!(parse_limit_info("limit_info", &format!("api-usage={used}/{max}")), Ok((used, max)));
        }
    }
}
