//! When the allocation runs out at the current rate, pure: the calls of the
//! window's buckets and the clock in, a rate and a time out.
//!
//! The rate is the calls counted in the last hour of buckets: the newest
//! [`rate_buckets`] buckets (the current one included; the whole window when
//! it is shorter than an hour), over the time from the start of the oldest
//! of them to now, and at least one bucket width (so that a burst at the
//! start of a bucket is not read as a rate over a millisecond).
//!
//! The window frees calls as buckets leave it, so usage does not only grow:
//! at an instant `t` ahead it is
//! `used(t) = used now - calls of the buckets that left by t + rate × (t - now)`.
//! The forecast walks the times the counted buckets leave, oldest first;
//! between two of them usage grows in a straight line, so the first crossing
//! of the allocation in each stretch is exact. The calls made from now on
//! leave no earlier than one window after now, past the horizon, so they
//! never drop out of the sum. No crossing within one window length from now
//! is no forecast: at a steady rate, the window then holds a whole window of
//! it, and the allocation has room for that.
//!
//! Arithmetic is in integers: the rate is the fraction `calls / span_ms`,
//! and every comparison is multiplied by `span_ms`, so the time found is
//! exact to the millisecond, never early.

use crate::window::WindowShape;

/// The length of the recent past the rate is measured over: one hour.
pub const RATE_SPAN_MS: u64 = 3_600_000;

/// The rate of calls and when, at that rate, the window counts the whole
/// allocation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Forecast {
    /// Calls counted in the rate's buckets.
    pub recent_calls: u64,
    /// The time they were counted over, in ms (at least one bucket).
    pub span_ms: u64,
    /// When `used` reaches the allocation: now when it already has; `None`
    /// when it does not within one window length from now (a rate of zero
    /// with room left never does).
    pub exhausted_at_ms: Option<i64>,
}

impl Forecast {
    /// The rate in calls per hour (0 over no time at all).
    pub fn calls_per_hour(&self) -> f64 {
        if self.span_ms == 0 {
            return 0.0;
        }
        self.recent_calls as f64 * 3_600_000.0 / self.span_ms as f64
    }
}

/// How many of the newest buckets the rate is measured over: an hour's
/// worth, at least one, at most the window's.
pub fn rate_buckets(shape: &WindowShape) -> u64 {
    (RATE_SPAN_MS / shape.bucket_ms()).clamp(1, shape.buckets())
}

/// The forecast for a window whose counted buckets are `buckets`
/// (`(bucket, calls)`, oldest first, as [`crate::window::Window::counted`]
/// gives them) with its newest bucket `head`, `used` calls counted in all,
/// against `allocation`, at `now_ms`.
pub fn forecast(
    shape: &WindowShape,
    buckets: &[(i64, u64)],
    head: i64,
    used: u64,
    allocation: u64,
    now_ms: i64,
) -> Forecast {
    let first_recent = head - rate_buckets(shape) as i64 + 1;
    let recent_calls: u64 = buckets
        .iter()
        .filter(|&&(bucket, _)| bucket >= first_recent)
        .map(|&(_, calls)| calls)
        .sum();
    let span_ms = u64::try_from(now_ms - shape.bucket_start_ms(first_recent))
        .unwrap_or(0)
        .max(shape.bucket_ms());
    let exhausted_at_ms = exhaustion(
        shape,
        buckets,
        used,
        allocation,
        now_ms,
        recent_calls,
        span_ms,
    );
    Forecast {
        recent_calls,
        span_ms,
        exhausted_at_ms,
    }
}

/// The first instant within one window length from `now_ms` at which
/// `used(t) >= allocation`, with the rate `calls / span_ms`.
fn exhaustion(
    shape: &WindowShape,
    buckets: &[(i64, u64)],
    used: u64,
    allocation: u64,
    now_ms: i64,
    calls: u64,
    span_ms: u64,
) -> Option<i64> {
    if used >= allocation {
        return Some(now_ms);
    }
    if calls == 0 {
        return None;
    }
    let horizon = now_ms + shape.window_ms() as i64;
    let (calls, span) = (i128::from(calls), i128::from(span_ms));
    // The stretches between the times buckets leave: the first starts now
    // with nothing freed; each next one starts when the next bucket leaves.
    let mut freed: u64 = 0;
    let mut start = now_ms;
    let leaving = buckets
        .iter()
        .filter(|&&(_, c)| c > 0)
        .map(|&(bucket, c)| (shape.leaves_at_ms(bucket), c))
        .filter(|&(at, _)| at > now_ms);
    let mut leaving = leaving.peekable();
    loop {
        let end = leaving.peek().map_or(horizon, |&(at, _)| at.min(horizon));
        // used(t) = used - freed + calls × (t - now) / span >= allocation
        //   ⇔ t - now >= (allocation - used + freed) × span / calls
        let short = i128::from(allocation) - i128::from(used) + i128::from(freed);
        let after = (short * span + calls - 1) / calls;
        let at = (now_ms as i128 + after).max(start as i128);
        if at < i128::from(end) || (end == horizon && at == i128::from(horizon)) {
            return Some(at as i64);
        }
        if end >= horizon {
            return None;
        }
        // Every bucket leaving at `end` goes at once.
        while let Some(&(at, c)) = leaving.peek() {
            if at != end {
                break;
            }
            freed += c;
            leaving.next();
        }
        start = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn day() -> WindowShape {
        WindowShape::new(Duration::from_secs(86_400), Duration::from_secs(60)).unwrap()
    }

    const MINUTE: i64 = 60_000;
    const HOUR: i64 = 60 * MINUTE;

    #[test]
    fn the_rate_is_the_last_hour_of_buckets() {
        let s = day();
        assert_eq!(rate_buckets(&s), 60);
        let small = WindowShape::new(Duration::from_secs(10), Duration::from_secs(1)).unwrap();
        assert_eq!(rate_buckets(&small), 10, "a short window: all of it");
        // 10 calls a minute for two hours; now is 30 s into bucket 1 000.
        let head = 1_000;
        let buckets: Vec<(i64, u64)> = (head - 119..=head).map(|b| (b, 10)).collect();
        let now = head * MINUTE + 30_000;
        let f = forecast(&s, &buckets, head, 1_200, 100_000, now);
        assert_eq!(f.recent_calls, 600);
        assert_eq!(f.span_ms, 59 * 60_000 + 30_000);
        assert!((f.calls_per_hour() - 600.0 * 60.0 / 59.5).abs() < 1e-9);
    }

    #[test]
    fn no_calls_never_run_out_and_a_full_window_is_out_now() {
        let s = day();
        let f = forecast(&s, &[], 0, 0, 100, 5 * HOUR);
        assert_eq!((f.recent_calls, f.exhausted_at_ms), (0, None));
        let f = forecast(&s, &[(10, 100)], 10, 100, 100, 10 * MINUTE);
        assert_eq!(f.exhausted_at_ms, Some(10 * MINUTE));
        // Over the allocation (an override ended, shadow mode): now, too,
        // even with no recent calls.
        let old = [(10, 150)];
        let now = 10 * MINUTE + 2 * HOUR;
        let f = forecast(&s, &old, 10 + 120, 150, 100, now);
        assert_eq!((f.recent_calls, f.exhausted_at_ms), (0, Some(now)));
    }

    #[test]
    fn a_steady_rate_runs_out_when_the_rest_of_the_allocation_is_spent() {
        let s = day();
        // One call a minute for the last hour, in a window that counts
        // nothing older: 60 used, 200 allowed, 140 to go at 60 an hour.
        let head = 10_000;
        let buckets: Vec<(i64, u64)> = (head - 59..=head).map(|b| (b, 1)).collect();
        let now = (head + 1) * MINUTE - 1;
        let f = forecast(&s, &buckets, head, 60, 200, now);
        // span: 60 min less 1 ms; 140 calls take 140 × span / 60 ms.
        let span = 60 * MINUTE - 1;
        assert_eq!(f.span_ms, span as u64);
        let after = (140 * span as i128 + 59) / 60;
        assert_eq!(f.exhausted_at_ms, Some(now + after as i64));
    }

    #[test]
    fn calls_leaving_the_window_put_the_end_off() {
        let s = day();
        // 90 calls a whole day ago, about to leave; 10 in the last hour.
        let head = 5_000;
        let old = head - 1_440;
        let buckets = [(old, 90), (head, 10)];
        let now = head * MINUTE + 30_000;
        let f = forecast(&s, &buckets, head, 100, 105, now);
        // 5 more calls at 10 an hour take 30 min, but the 90 leave when
        // bucket head + 1 starts, 30 s from now: the window then has 10
        // and 95 of room, 9.5 hours at 10 an hour.
        let leaves = s.leaves_at_ms(old);
        assert_eq!(leaves, (head + 1) * MINUTE);
        let at = f.exhausted_at_ms.unwrap();
        assert!(at > leaves + 9 * HOUR && at < leaves + 10 * HOUR, "{at}");
    }

    #[test]
    fn a_crossing_before_calls_leave_comes_first() {
        let s = day();
        let head = 5_000;
        let old = head - 1_440;
        // 1 000 calls in the current bucket, 30 s into it: the rate is
        // measured from the start of the hour's oldest bucket, 59.5 min.
        let buckets = [(old, 90), (head, 1_000)];
        let now = head * MINUTE + 30_000;
        let f = forecast(&s, &buckets, head, 1_090, 1_091, now);
        assert_eq!(f.span_ms, 3_570_000);
        // One call of room: 3.57 s at 1 000 per 3 570 s, before the 90
        // leave (30 s from now).
        assert_eq!(f.exhausted_at_ms, Some(now + 3_570));
    }

    #[test]
    fn a_slow_rate_does_not_run_out_within_the_window() {
        let s = day();
        let head = 5_000;
        // One call a minute for the last hour, now at the start of the
        // newest bucket: 60 calls over 59 minutes, about 1 464 a day.
        let buckets: Vec<(i64, u64)> = (head - 59..=head).map(|b| (b, 1)).collect();
        let now = head * MINUTE;
        let f = forecast(&s, &buckets, head, 60, 1_000, now);
        let at = f.exhausted_at_ms.expect("940 more within the day");
        // 940 calls at 60 per 59 min: 924.33 min.
        assert_eq!(at, now + (940 * 59 * MINUTE as u64).div_ceil(60) as i64);
        let f = forecast(&s, &buckets, head, 60, 10_000, now);
        assert_eq!(f.exhausted_at_ms, None, "9 940 need more than a day");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// `used(t) × span` as the model reads it at `t`: the calls counted
        /// now less those whose bucket has left by `t`, plus the rate's.
        fn scaled_used(
            shape: &WindowShape,
            buckets: &[(i64, u64)],
            now: i64,
            t: i64,
            calls: u64,
            span: u64,
        ) -> i128 {
            let left: u64 = buckets
                .iter()
                .filter(|&&(b, _)| shape.leaves_at_ms(b) <= t)
                .map(|&(_, c)| c)
                .sum();
            let counted: u64 = buckets.iter().map(|&(_, c)| c).sum();
            i128::from(counted - left) * i128::from(span) + i128::from(calls) * i128::from(t - now)
        }

        fn shapes() -> impl Strategy<Value = WindowShape> {
            prop_oneof![
                Just((86_400u64, 60u64)),
                Just((3_600, 10)),
                Just((7_200, 600)),
                Just((10, 1)),
            ]
            .prop_map(|(w, b)| {
                WindowShape::new(Duration::from_secs(w), Duration::from_secs(b)).unwrap()
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            /// Against a model that steps through the window a quarter
            /// bucket at a time (15 s with minute buckets) and evaluates
            /// `used(t)` afresh at each step: the forecast is never later
            /// than the first step at which the model finds the allocation
            /// reached, is itself a time at which it is reached, and the
            /// millisecond before it is not; without a forecast, no step
            /// reaches it.
            #[test]
            fn the_forecast_is_the_first_time_usage_reaches_the_allocation(
                shape in shapes(),
                filled in proptest::collection::vec((0.0f64..1.0, 0u64..500), 0..40),
                into_bucket in 0.0f64..1.0,
                allocation in 0u64..20_000,
            ) {
                let head: i64 = 1_000_000;
                let n = shape.buckets() as i64;
                let mut buckets: Vec<(i64, u64)> = filled
                    .iter()
                    .map(|&(at, calls)| (head - ((at * (n + 1) as f64) as i64).min(n), calls))
                    .collect();
                buckets.sort_unstable();
                buckets.dedup_by_key(|b| b.0);
                let used: u64 = buckets.iter().map(|&(_, c)| c).sum();
                let now = shape.bucket_start_ms(head)
                    + (into_bucket * shape.bucket_ms() as f64) as i64;
                let f = forecast(&shape, &buckets, head, used, allocation, now);

                // The rate, as documented.
                let k = (3_600_000 / shape.bucket_ms()).max(1).min(shape.buckets()) as i64;
                let recent: u64 = buckets
                    .iter()
                    .filter(|&&(b, _)| head - b < k)
                    .map(|&(_, c)| c)
                    .sum();
                let span = ((now - shape.bucket_start_ms(head - k + 1)) as u64)
                    .max(shape.bucket_ms());
                prop_assert_eq!((f.recent_calls, f.span_ms), (recent, span));

                let goal = i128::from(allocation) * i128::from(span);
                let at = |t| scaled_used(&shape, &buckets, now, t, recent, span);
                let step = (shape.bucket_ms() / 4).max(1) as i64;
                let horizon = now + shape.window_ms() as i64;
                let first_step = (0..)
                    .map(|i| now + i * step)
                    .take_while(|&t| t <= horizon)
                    .find(|&t| at(t) >= goal);
                match f.exhausted_at_ms {
                    Some(x) => {
                        prop_assert!(x >= now && x <= horizon, "{x} outside the window");
                        prop_assert!(at(x) >= goal, "not reached at {x}");
                        if x > now {
                            prop_assert!(at(x - 1) < goal, "already reached before {x}");
                        } else {
                            prop_assert!(used >= allocation);
                        }
                        if let Some(t) = first_step {
                            prop_assert!(x <= t, "{x} later than the model's {t}");
                        }
                    }
                    None => {
                        prop_assert!(used < allocation);
                        prop_assert_eq!(first_step, None);
                    }
                }
                if used >= allocation {
                    prop_assert_eq!(f.exhausted_at_ms, Some(now));
                }
                if recent == 0 && used < allocation {
                    prop_assert_eq!(f.exhausted_at_ms, None);
                }
            }
        }
    }
}
