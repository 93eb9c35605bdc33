//! Who uses a budget: the tokens granted per consumer, a consumer being the
//! worker that asked (`client_id`) and, when it says so, the Salesforce
//! object and the operation the calls are for.
//!
//! Tokens are counted per bucket of the rolling window, beside the window's
//! own count and in the same bucket as the grant, so a consumer's tokens
//! leave the breakdown exactly when they leave the window. Releases do not
//! subtract: the breakdown says what was granted to whom, not what was
//! spent.
//!
//! The names are chosen by the caller, so their number is bounded: a bucket
//! names at most [`CONSUMER_CAP`] consumers; the tokens of any further one
//! are counted under `(other)`. A worker making up names therefore adds at
//! most that many entries per bucket. Pure: the memory store keeps a
//! [`ConsumerCounts`], the Redis store keeps the same numbers in one hash
//! (`store/lua/decide.lua`) and reads them back into one.

use std::collections::{BTreeMap, HashMap};

use crate::window::WindowShape;
use syncgov_kit::input::InvalidInput;

/// Consumers a bucket names at most; the tokens of any further one are
/// counted under `(other)`.
pub const CONSUMER_CAP: usize = 32;
/// Rows a `GetUsage` may ask for at most (`top_consumers`).
pub const MAX_TOP: u32 = 32;
/// Longest `object`.
pub const MAX_OBJECT_LEN: usize = 64;
/// Longest `operation`.
pub const MAX_OPERATION_LEN: usize = 32;

/// Separates the three parts of a consumer in a stored name; a client id
/// is printable, an object and an operation are plain words, so none holds
/// it.
const SEP: char = '\u{1f}';

/// Who was granted tokens: a worker, and what it said the calls are for.
/// Empty parts were not said.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Consumer {
    /// The worker (`client_id`), up to 128 printable characters.
    pub client_id: String,
    /// The Salesforce object, such as `Contact` or `Invoice__c`.
    pub object: String,
    /// The operation, such as `query` or `bulk-insert`.
    pub operation: String,
}

impl Consumer {
    /// Reads the consumer of an `AcquireTokens` request, refusing an
    /// `object` or `operation` that breaks its rule (the client id is
    /// checked with the rest of the request).
    pub fn parse(client_id: &str, object: &str, operation: &str) -> Result<Self, InvalidInput> {
        check_object(object)?;
        check_operation(operation)?;
        Ok(Self {
            client_id: client_id.to_owned(),
            object: object.to_owned(),
            operation: operation.to_owned(),
        })
    }

    /// The consumer's name as stored: its three parts, separated.
    pub fn stored(&self) -> String {
        format!(
            "{}{SEP}{}{SEP}{}",
            self.client_id, self.object, self.operation
        )
    }

    /// The consumer a stored name names, if it is one.
    pub fn from_stored(name: &str) -> Option<Self> {
        let mut parts = name.split(SEP);
        let (client_id, object, operation) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            client_id: client_id.to_owned(),
            object: object.to_owned(),
            operation: operation.to_owned(),
        })
    }
}

/// Checks an `object`: empty (not said), or 1 to 64 characters of
/// A-Z a-z 0-9 _ (a Salesforce API name such as `Invoice__c`).
pub fn check_object(object: &str) -> Result<(), InvalidInput> {
    let fits = object.len() <= MAX_OBJECT_LEN
        && object
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if fits {
        Ok(())
    } else {
        Err(InvalidInput::new(
            "object",
            format!("must be empty or 1 to {MAX_OBJECT_LEN} characters of A-Z a-z 0-9 _"),
        ))
    }
}

/// Checks an `operation`: empty (not said), or 1 to 32 characters of
/// a-z 0-9 - _ (such as `query`, `upsert`, `bulk-insert`).
pub fn check_operation(operation: &str) -> Result<(), InvalidInput> {
    let fits = operation.len() <= MAX_OPERATION_LEN
        && operation
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if fits {
        Ok(())
    } else {
        Err(InvalidInput::new(
            "operation",
            format!("must be empty or 1 to {MAX_OPERATION_LEN} characters of a-z 0-9 - _"),
        ))
    }
}

/// Checks how many rows of consumers a `GetUsage` asks for: 0 (none, and
/// nothing is read) to [`MAX_TOP`].
pub fn check_top(top: u32) -> Result<usize, InvalidInput> {
    if top > MAX_TOP {
        return Err(InvalidInput::new(
            "top_consumers",
            format!("must be 0 (none) to {MAX_TOP}"),
        ));
    }
    Ok(top as usize)
}

/// The tokens of one bucket: per named consumer, and the rest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Bucket {
    /// At most [`CONSUMER_CAP`] consumers.
    named: BTreeMap<Consumer, u64>,
    /// Tokens of consumers beyond the cap.
    other: u64,
}

/// Tokens granted per consumer, per bucket of the window.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsumerCounts {
    buckets: BTreeMap<i64, Bucket>,
}

impl ConsumerCounts {
    /// Counts `tokens` granted to `consumer` in bucket `bucket` (the
    /// window's head when granted), under `(other)` when the bucket already
    /// names [`CONSUMER_CAP`] others; buckets a whole window older are
    /// forgotten on the way.
    pub fn add(&mut self, shape: &WindowShape, bucket: i64, consumer: &Consumer, tokens: u64) {
        if tokens == 0 {
            return;
        }
        let ring = shape.ring_len() as i64;
        let oldest_kept = bucket - ring + 1;
        // Most grants land in a bucket already counted, with nothing to
        // forget: split (a new map) only when something has left.
        if self
            .buckets
            .first_key_value()
            .is_some_and(|(&first, _)| first < oldest_kept)
        {
            self.buckets = self.buckets.split_off(&oldest_kept);
        }
        let counts = self.buckets.entry(bucket).or_default();
        if let Some(n) = counts.named.get_mut(consumer) {
            *n += tokens;
        } else if counts.named.len() < CONSUMER_CAP {
            counts.named.insert(consumer.clone(), tokens);
        } else {
            counts.other += tokens;
        }
    }

    /// True when no token is counted in the window whose newest bucket is
    /// `head`.
    pub fn is_empty_at(&self, shape: &WindowShape, head: i64) -> bool {
        let oldest = head - shape.buckets() as i64;
        self.buckets.range(oldest..=head).next().is_none()
    }

    /// Counts as stored: `(bucket, consumer or None for (other), tokens)`.
    pub fn from_parts(parts: impl IntoIterator<Item = (i64, Option<Consumer>, u64)>) -> Self {
        let mut counts = Self::default();
        for (bucket, consumer, tokens) in parts {
            let entry = counts.buckets.entry(bucket).or_default();
            match consumer {
                Some(consumer) => *entry.named.entry(consumer).or_default() += tokens,
                None => entry.other += tokens,
            }
        }
        counts
    }

    /// The breakdown of the window whose newest bucket is `head`: the `top`
    /// consumers by tokens and what the others took.
    pub fn report(&self, shape: &WindowShape, head: i64, top: usize) -> ConsumerReport {
        let oldest = head - shape.buckets() as i64;
        let mut sums: HashMap<&Consumer, u64> = HashMap::new();
        let mut other = 0;
        for (_, bucket) in self.buckets.range(oldest..=head) {
            for (consumer, &tokens) in &bucket.named {
                *sums.entry(consumer).or_default() += tokens;
            }
            other += bucket.other;
        }
        let named = sums.len();
        let rows = sums
            .into_iter()
            .map(|(consumer, tokens)| ConsumerTokens {
                consumer: consumer.clone(),
                tokens,
            })
            .collect();
        let (top_rows, rest) = top_n(rows, top);
        ConsumerReport {
            top: top_rows,
            rest,
            other,
            named,
            cap: CONSUMER_CAP,
        }
    }
}

/// A consumer and the tokens it was granted in the window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerTokens {
    /// Who.
    pub consumer: Consumer,
    /// Tokens granted in the window.
    pub tokens: u64,
}

/// Who used a budget's window.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsumerReport {
    /// The named consumers with the most tokens, most first (ties by name).
    pub top: Vec<ConsumerTokens>,
    /// Tokens of the named consumers not in `top`.
    pub rest: u64,
    /// Tokens counted under `(other)`: consumers beyond the cap.
    pub other: u64,
    /// Named consumers in the window.
    pub named: usize,
    /// Consumers a bucket names at most.
    pub cap: usize,
}

/// The `n` rows with the most tokens, most first, ties by consumer name;
/// and the sum of the tokens of the rows left out.
pub fn top_n(mut rows: Vec<ConsumerTokens>, n: usize) -> (Vec<ConsumerTokens>, u64) {
    rows.sort_by(|a, b| {
        b.tokens
            .cmp(&a.tokens)
            .then_with(|| a.consumer.cmp(&b.consumer))
    });
    let rest = rows.iter().skip(n).map(|r| r.tokens).sum();
    rows.truncate(n);
    (rows, rest)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn shape() -> WindowShape {
        WindowShape::new(Duration::from_secs(600), Duration::from_secs(60)).unwrap()
    }

    fn who(client: &str) -> Consumer {
        Consumer::parse(client, "", "").unwrap()
    }

    #[test]
    fn objects_and_operations_follow_their_rules() {
        for good in ["", "Contact", "Invoice__c", &"a".repeat(64)] {
            assert!(check_object(good).is_ok(), "{good}");
        }
        for bad in ["Con tact", "Contact.Name", "é", &"a".repeat(65)] {
            let e = check_object(bad).unwrap_err();
            assert_eq!(e.field, "object");
            assert!(e.rule.contains("A-Z a-z 0-9 _"), "{}", e.rule);
        }
        for good in ["", "query", "bulk-insert", "upsert_2", &"a".repeat(32)] {
            assert!(check_operation(good).is_ok(), "{good}");
        }
        for bad in ["Query", "bulk insert", "a\u{1f}b", &"a".repeat(33)] {
            let e = check_operation(bad).unwrap_err();
            assert_eq!(e.field, "operation");
            assert!(e.rule.contains("a-z 0-9 - _"), "{}", e.rule);
        }
        assert_eq!(check_top(32).unwrap(), 32);
        assert_eq!(check_top(33).unwrap_err().field, "top_consumers");
    }

    #[test]
    fn a_stored_name_reads_back_as_the_consumer() {
        let c = Consumer::parse("worker 7", "Contact", "query").unwrap();
        assert_eq!(Consumer::from_stored(&c.stored()), Some(c));
        assert_eq!(Consumer::from_stored(&who("").stored()), Some(who("")));
        assert_eq!(Consumer::from_stored("no separator"), None);
    }

    #[test]
    fn the_top_is_by_tokens_then_by_name() {
        let rows = [("b", 5), ("a", 5), ("c", 9), ("d", 1)]
            .map(|(c, tokens)| ConsumerTokens {
                consumer: who(c),
                tokens,
            })
            .to_vec();
        let (top, rest) = top_n(rows, 3);
        let names: Vec<_> = top.iter().map(|r| r.consumer.client_id.as_str()).collect();
        assert_eq!(names, ["c", "a", "b"]);
        assert_eq!(rest, 1);
    }

    #[test]
    fn buckets_sum_and_leave_with_the_window() {
        let shape = shape();
        let mut counts = ConsumerCounts::default();
        counts.add(&shape, 100, &who("a"), 30);
        counts.add(&shape, 101, &who("b"), 70);
        counts.add(&shape, 105, &who("a"), 5);
        let report = counts.report(&shape, 105, 10);
        assert_eq!(
            report.top[0],
            ConsumerTokens {
                consumer: who("b"),
                tokens: 70
            }
        );
        assert_eq!(
            report.top[1],
            ConsumerTokens {
                consumer: who("a"),
                tokens: 35
            }
        );
        // Ten buckets a window, at most one bucket late: bucket 100 is still
        // counted at head 110 and leaves when the head reaches 111.
        assert_eq!(counts.report(&shape, 110, 10).top[1].tokens, 35);
        let report = counts.report(&shape, 111, 10);
        assert_eq!(
            report.top[1],
            ConsumerTokens {
                consumer: who("a"),
                tokens: 5
            }
        );
        // A grant in bucket 112 forgets buckets 100 and 101 for good.
        counts.add(&shape, 112, &who("c"), 1);
        assert_eq!(counts.buckets.len(), 2);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            /// Whatever was granted to whom and when: the rows, the rest
            /// and (other) add up to the tokens granted in the window's
            /// buckets; no bucket names more than the cap; the top is in
            /// order and no longer than asked.
            #[test]
            fn the_report_accounts_for_every_token_in_the_window(
                grants in proptest::collection::vec((0i64..30, 0u8..50, 1u64..100), 0..200),
                head in 0i64..40,
                top in 0usize..40,
            ) {
                let shape = shape();
                let mut counts = ConsumerCounts::default();
                let mut sorted = grants.clone();
                // Grants come in time order, as the window's head moves.
                sorted.sort_by_key(|g| g.0);
                for (bucket, client, tokens) in &sorted {
                    counts.add(&shape, *bucket, &who(&format!("c{client}")), *tokens);
                }
                let newest = sorted.last().map_or(0, |g| g.0);
                let head = head.max(newest);
                let report = counts.report(&shape, head, top);
                let in_window: u64 = sorted
                    .iter()
                    .filter(|g| g.0 > head - shape.ring_len() as i64)
                    .map(|g| g.2)
                    .sum();
                let listed: u64 = report.top.iter().map(|r| r.tokens).sum();
                prop_assert_eq!(listed + report.rest + report.other, in_window);
                prop_assert!(report.top.len() <= top);
                prop_assert!(report.top.windows(2).all(|w| w[0].tokens >= w[1].tokens));
                prop_assert!(counts.buckets.values().all(|b| b.named.len() <= CONSUMER_CAP));
            }
        }
    }

    #[test]
    fn a_bucket_names_at_most_the_cap() {
        let shape = shape();
        let mut counts = ConsumerCounts::default();
        for i in 0..40 {
            counts.add(&shape, 7, &who(&format!("w{i:02}")), 2);
        }
        counts.add(&shape, 7, &who("w00"), 1);
        let report = counts.report(&shape, 7, 32);
        assert_eq!(report.named, CONSUMER_CAP);
        assert_eq!(report.other, 16);
        assert_eq!(report.top[0].tokens, 3);
        let sum: u64 = report.top.iter().map(|r| r.tokens).sum::<u64>() + report.other;
        assert_eq!(sum, 81);
        // The next bucket names afresh.
        counts.add(&shape, 8, &who("w39"), 4);
        assert_eq!(counts.report(&shape, 8, 32).named, 33);
    }
}
