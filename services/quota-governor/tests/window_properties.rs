//! Property tests of the pure window and decision rules against a reference
//! model that keeps the timestamp of every grant.

use std::time::Duration;

use proptest::prelude::*;
use quota_governor::domain::{self, Budget, Counts, Outcome, Priority, Rules, Shares};
use quota_governor::window::WindowShape;

/// One step of a random history.
#[derive(Clone, Debug)]
enum Step {
    /// `min` below `count`: a lease.
    Acquire {
        count: u32,
        min: u32,
        priority: Priority,
    },
    Release {
        grant: usize,
        count: u64,
    },
    Wait {
        ms: i64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let priority = prop_oneof![
        Just(Priority::Retry),
        Just(Priority::Normal),
        Just(Priority::Critical)
    ];
    prop_oneof![
        5 => (1u32..40, 0u32..40, priority).prop_map(|(count, min, priority)| {
            // Half of the requests all or nothing, half leases.
            let min = if min == 0 || min > count { count } else { min };
            Step::Acquire { count, min, priority }
        }),
        1 => (0usize..64, 1u64..40).prop_map(|(grant, count)| Step::Release { grant, count }),
        3 => prop_oneof![8 => 0i64..1_500, 1 => 0i64..30_000].prop_map(|ms| Step::Wait { ms }),
    ]
}

/// A grant as the reference model remembers it.
struct Granted {
    at_ms: i64,
    priority: Priority,
    grant: domain::Grant,
    /// Tokens granted and not handed back.
    net: u64,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn the_window_never_grants_more_than_the_limit_in_any_window_length(
        window_buckets in 1u64..12,
        bucket_ms in prop_oneof![Just(1_000u64), Just(250), Just(7)],
        allocation in 0u64..200,
        shares in (1u64..=100, 1u64..=100, 1u64..=100),
        start_ms in 1_600_000_000_000i64..1_700_000_000_000,
        steps in proptest::collection::vec(step(), 1..250),
    ) {
        let mut sorted = [shares.0, shares.1, shares.2];
        sorted.sort_unstable();
        let shape = WindowShape::new(
            Duration::from_millis(window_buckets * bucket_ms),
            Duration::from_millis(bucket_ms),
        ).unwrap();
        let w = shape.window_ms() as i64;
        let b = shape.bucket_ms() as i64;
        let budget = Budget {
            shares: Shares::new(sorted[0], sorted[1], sorted[2]).unwrap(),
            ..Budget::new(1_000, allocation)
        };

        let rules = Rules { shape, org_margin_percent: 0, probe: Default::default() };
        let mut counts = Counts::default();
        let mut grants: Vec<Granted> = Vec::new();
        let mut now = start_ms;
        // Net calls granted at times in (from, to].
        let net_between = |grants: &[Granted], from: i64, to: i64| -> u64 {
            grants.iter().filter(|g| g.at_ms > from && g.at_ms <= to).map(|g| g.net).sum()
        };

        for step in steps {
            match step {
                Step::Wait { ms } => now += ms,
                Step::Acquire { count, min, priority } => {
                    let limit = budget.limit_at(priority, now);
                    let ask = domain::Ask { count, min };
                    let decision = domain::decide(&budget, &rules, &mut counts, ask, priority, now);
                    let exact = net_between(&grants, now - w, now);
                    let late = net_between(&grants, now - w - b, now);
                    // The window counts every call of the last window length
                    // (never early) and at most one bucket more (late).
                    let used_before = match decision.outcome {
                        Outcome::Granted(grant) => decision.used - grant.count,
                        Outcome::Denied { .. } => decision.used,
                    };
                    prop_assert!(used_before >= exact, "counted {used_before}, made {exact}");
                    prop_assert!(used_before <= late, "counted {used_before}, at most {late}");
                    match decision.outcome {
                        Outcome::Granted(grant) => {
                            prop_assert!(grant.count >= u64::from(min) && grant.count <= u64::from(count));
                            prop_assert!(used_before + grant.count <= limit);
                            // A lease takes all the room there is, up to its count.
                            prop_assert!(grant.count == u64::from(count) || used_before + grant.count == limit);
                            grants.push(Granted { at_ms: now, priority, grant, net: grant.count });
                        }
                        Outcome::Denied { retry_after_ms, .. } => {
                            // A denial is justified by the calls counted.
                            prop_assert!(late + u64::from(min) > limit);
                            match retry_after_ms {
                                None => prop_assert!(u64::from(min) > limit),
                                Some(after) => {
                                    let fits = |at: i64| {
                                        let mut probe = counts.window.clone();
                                        probe.advance(&shape, at);
                                        probe.used() + u64::from(min) <= limit
                                    };
                                    prop_assert!(fits(now + after as i64), "still no room after retry_after");
                                    prop_assert!(after == 0 || !fits(now + after as i64 - 1), "retry_after too late");
                                }
                            }
                        }
                    }
                }
                Step::Release { grant, count } => {
                    if grants.is_empty() {
                        continue;
                    }
                    let index = grant % grants.len();
                    // An honest client hands back at most what it did not use.
                    let count = count.min(grants[index].net);
                    if count == 0 {
                        continue;
                    }
                    let released = domain::release(&mut counts, &shape, grants[index].grant, count, now);
                    let bucket = shape.bucket_of(grants[index].at_ms);
                    let in_window = bucket >= shape.bucket_of(now) - shape.buckets() as i64;
                    let expected = if in_window { count } else { 0 };
                    prop_assert_eq!(released.released, expected);
                    grants[index].net -= released.released;
                }
            }
        }

        // No interval of one window length holds more than the limit of the
        // priority of the last grant in it: check the interval ending at
        // every grant, over the grants decided up to it.
        for (i, g) in grants.iter().enumerate() {
            let in_interval: u64 = grants[..=i]
                .iter()
                .filter(|h| h.at_ms > g.at_ms - w)
                .map(|h| h.net)
                .sum();
            prop_assert!(
                in_interval <= budget.limit_at(g.priority, g.at_ms),
                "{in_interval} calls in one window ending at grant {i}"
            );
        }
    }
}
