//! Rolling-window arithmetic, pure: no clock, no I/O. `now` is always an
//! argument, so every rule here is tested without Redis or tokio.
//!
//! A window of `W` is kept as `N = W / B` buckets of width `B`, plus one: the
//! ring holds buckets `head - N ..= head`. A call made in bucket `b` is counted
//! until the clock enters bucket `b + N + 1`, that is until
//! `(b + N + 1) * B`, which is after `t + W` for any `t` inside bucket `b`
//! and at most one bucket later. So a call leaves the window at most one
//! bucket late and never early, and no interval of length `W` is ever granted
//! more than the limit checked at each grant.
//!
//! The Redis store runs the same rules in Lua (`store/lua/window.lua`); the
//! behaviour suite and the differential property tests (`tests/differential.rs`)
//! hold the two to the same answers.

use std::time::Duration;

/// The most buckets a window may have: bounds the memory of one budget.
pub const MAX_BUCKETS: u64 = 100_000;

/// Width and number of the buckets of a rolling window. Shared by every
/// budget of a governor: all replicas must agree on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowShape {
    bucket_ms: u64,
    buckets: u64,
}

/// Why a window shape was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShapeError {
    /// The bucket is shorter than a millisecond or longer than the window.
    #[error("bucket must be at least 1ms and at most the window")]
    BucketOutOfRange,
    /// The window is not a whole number of buckets.
    #[error("window must be a whole number of buckets")]
    NotAMultiple,
    /// Too many buckets for one window.
    #[error("window may hold at most {MAX_BUCKETS} buckets")]
    TooManyBuckets,
}

impl WindowShape {
    /// A window of `window` split into buckets of `bucket`.
    pub fn new(window: Duration, bucket: Duration) -> Result<Self, ShapeError> {
        let window_ms =
            u64::try_from(window.as_millis()).map_err(|_| ShapeError::TooManyBuckets)?;
        let bucket_ms =
            u64::try_from(bucket.as_millis()).map_err(|_| ShapeError::BucketOutOfRange)?;
        if bucket_ms == 0 || bucket_ms > window_ms {
            return Err(ShapeError::BucketOutOfRange);
        }
        let whole_ms = |d: Duration| d.as_nanos().is_multiple_of(1_000_000);
        if !window_ms.is_multiple_of(bucket_ms) || !whole_ms(window) || !whole_ms(bucket) {
            return Err(ShapeError::NotAMultiple);
        }
        let buckets = window_ms / bucket_ms;
        if buckets > MAX_BUCKETS {
            return Err(ShapeError::TooManyBuckets);
        }
        Ok(Self { bucket_ms, buckets })
    }

    /// Width of one bucket, in milliseconds.
    pub fn bucket_ms(&self) -> u64 {
        self.bucket_ms
    }

    /// Number of buckets in one window length (`N`).
    pub fn buckets(&self) -> u64 {
        self.buckets
    }

    /// Length of the window, in milliseconds.
    pub fn window_ms(&self) -> u64 {
        self.bucket_ms * self.buckets
    }

    /// Slots in the ring: one more than the buckets of a window, so that the
    /// oldest bucket is dropped only once all of its calls are a window old.
    pub fn ring_len(&self) -> u64 {
        self.buckets + 1
    }

    /// The bucket that holds instant `now_ms` (milliseconds since the epoch).
    pub fn bucket_of(&self, now_ms: i64) -> i64 {
        now_ms.div_euclid(self.bucket_ms as i64)
    }

    /// When bucket `bucket` starts, in milliseconds since the epoch.
    pub fn bucket_start_ms(&self, bucket: i64) -> i64 {
        bucket * self.bucket_ms as i64
    }

    /// When the calls of bucket `bucket` stop being counted.
    pub fn leaves_at_ms(&self, bucket: i64) -> i64 {
        self.bucket_start_ms(bucket + self.ring_len() as i64)
    }

    fn slot(&self, bucket: i64) -> usize {
        bucket.rem_euclid(self.ring_len() as i64) as usize
    }
}

/// The calls counted for one budget: a ring of per-bucket counts and their sum.
///
/// `total` is kept beside the ring so that a decision reads one number instead
/// of summing the whole window; it always equals the sum of the ring.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Window {
    /// Newest bucket the ring has been advanced to; 0 while empty.
    head: i64,
    /// Sum of the ring.
    total: u64,
    /// Count of bucket `b` at slot `b mod ring_len`; empty until the first
    /// grant, so an org that only ever gets denials costs no ring.
    ring: Vec<u32>,
}

impl Window {
    /// A window rebuilt from stored parts (the Redis layout). A ring shorter
    /// than the shape's is padded with zeros, as Redis strings read.
    pub fn from_parts(shape: &WindowShape, head: i64, ring: Vec<u32>) -> Self {
        let mut ring = ring;
        if head == 0 {
            ring.clear();
        } else {
            ring.resize(shape.ring_len() as usize, 0);
        }
        let total = ring.iter().map(|&c| u64::from(c)).sum();
        Self { head, total, ring }
    }

    /// Calls counted in the window as last advanced.
    pub fn used(&self) -> u64 {
        self.total
    }

    /// Moves the window to the bucket of `now_ms`, dropping the buckets that
    /// left it. Time never runs backwards here: an earlier `now_ms` (a clock
    /// stepped back) keeps the newer head.
    pub fn advance(&mut self, shape: &WindowShape, now_ms: i64) {
        let now = shape.bucket_of(now_ms);
        if self.ring.is_empty() || now - self.head >= shape.ring_len() as i64 {
            // Nothing counted, or everything left the window: start afresh.
            self.ring.clear();
            self.total = 0;
            self.head = now;
            return;
        }
        for bucket in self.head + 1..=now {
            let slot = shape.slot(bucket);
            self.total -= u64::from(self.ring[slot]);
            self.ring[slot] = 0;
        }
        self.head = self.head.max(now);
    }

    /// Counts `count` calls in the current bucket. Call after [`advance`].
    ///
    /// [`advance`]: Window::advance
    pub fn add(&mut self, shape: &WindowShape, count: u32) {
        if self.ring.is_empty() {
            self.ring = vec![0; shape.ring_len() as usize];
        }
        let slot = shape.slot(self.head);
        self.ring[slot] += count;
        self.total += u64::from(count);
    }

    /// True when bucket `bucket` is still in the window: calls counted in it
    /// have not left. Call after [`advance`].
    ///
    /// [`advance`]: Window::advance
    pub fn holds(&self, shape: &WindowShape, bucket: i64) -> bool {
        !self.ring.is_empty() && bucket <= self.head && bucket >= self.oldest(shape)
    }

    /// Takes up to `count` calls off bucket `bucket` and returns how many were
    /// taken. Only that bucket is touched: crediting a newer bucket would let
    /// the window count fewer calls than were made once `bucket` leaves it.
    /// Call after [`advance`].
    ///
    /// [`advance`]: Window::advance
    pub fn release(&mut self, shape: &WindowShape, bucket: i64, count: u64) -> u64 {
        if !self.holds(shape, bucket) {
            return 0;
        }
        let slot = shape.slot(bucket);
        let taken = count.min(u64::from(self.ring[slot]));
        self.ring[slot] -= taken as u32;
        self.total -= taken;
        taken
    }

    /// How long from `now_ms` until at least `need` calls have left the
    /// window; `None` when fewer than `need` calls are counted at all.
    /// Call after [`advance`].
    ///
    /// [`advance`]: Window::advance
    pub fn time_until_freed(&self, shape: &WindowShape, need: u64, now_ms: i64) -> Option<u64> {
        let mut freed = 0u64;
        for (bucket, calls) in self.buckets(shape) {
            freed += calls;
            if freed >= need {
                return Some((shape.leaves_at_ms(bucket) - now_ms).max(0) as u64);
            }
        }
        None
    }

    /// Calls counted in buckets `from` and newer. Call after [`advance`].
    ///
    /// [`advance`]: Window::advance
    pub fn granted_since(&self, shape: &WindowShape, from: i64) -> u64 {
        self.buckets(shape)
            .filter(|&(bucket, _)| bucket >= from)
            .map(|(_, calls)| calls)
            .sum()
    }

    /// The oldest bucket with calls: when it leaves the window and how many
    /// calls it frees.
    pub fn next_free(&self, shape: &WindowShape) -> Option<(i64, u64)> {
        self.buckets(shape)
            .find(|&(_, calls)| calls > 0)
            .map(|(bucket, calls)| (shape.leaves_at_ms(bucket), calls))
    }

    /// The last window length as up to `points` equal slices, oldest first:
    /// `(slice start in ms, calls)`. The oldest bucket, about to leave, is
    /// added to the first slice.
    pub fn series(&self, shape: &WindowShape, now_ms: i64, points: u64) -> Vec<(i64, u64)> {
        let now = shape.bucket_of(now_ms).max(self.head);
        let per_slice = shape.buckets().div_ceil(points.max(1));
        let slices = shape.buckets().div_ceil(per_slice);
        let first = now - shape.buckets() as i64 + 1;
        let mut series: Vec<(i64, u64)> = (0..slices)
            .map(|i| (shape.bucket_start_ms(first + (i * per_slice) as i64), 0))
            .collect();
        for (bucket, calls) in self.buckets(shape) {
            let index = ((bucket - first).max(0) as u64 / per_slice) as usize;
            if let Some(slice) = series.get_mut(index) {
                slice.1 += calls;
            }
        }
        series
    }

    /// `(bucket, calls)` for every bucket of the window with calls, oldest
    /// first. Call after [`advance`].
    ///
    /// [`advance`]: Window::advance
    pub fn counted(&self, shape: &WindowShape) -> Vec<(i64, u64)> {
        self.buckets(shape)
            .filter(|&(_, calls)| calls > 0)
            .collect()
    }

    /// Oldest bucket still in the window.
    fn oldest(&self, shape: &WindowShape) -> i64 {
        self.head - shape.buckets() as i64
    }

    /// `(bucket, calls)` for every bucket of the window, oldest first.
    fn buckets<'a>(&'a self, shape: &'a WindowShape) -> impl Iterator<Item = (i64, u64)> + 'a {
        // An empty ring has no buckets: an empty range.
        let (first, last) = if self.ring.is_empty() {
            (1, 0)
        } else {
            (self.oldest(shape), self.head)
        };
        (first..=last).map(move |bucket| (bucket, u64::from(self.ring[shape.slot(bucket)])))
    }

    /// Newest bucket the window was advanced to; 0 while empty.
    pub fn head(&self) -> i64 {
        self.head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(window_s: u64, bucket_s: u64) -> WindowShape {
        WindowShape::new(Duration::from_secs(window_s), Duration::from_secs(bucket_s)).unwrap()
    }

    #[test]
    fn default_shape_has_1441_slots() {
        let s = shape(86_400, 60);
        assert_eq!(s.buckets(), 1440);
        assert_eq!(s.ring_len(), 1441);
    }

    #[test]
    fn refuses_bad_shapes() {
        let s = |w, b| WindowShape::new(Duration::from_millis(w), Duration::from_millis(b));
        assert_eq!(s(1000, 0), Err(ShapeError::BucketOutOfRange));
        assert_eq!(s(1000, 2000), Err(ShapeError::BucketOutOfRange));
        assert_eq!(s(1000, 300), Err(ShapeError::NotAMultiple));
        assert_eq!(s(1_000_000, 1), Err(ShapeError::TooManyBuckets));
    }

    #[test]
    fn a_call_leaves_at_most_one_bucket_late_and_never_early() {
        let s = shape(4, 1);
        let mut w = Window::default();
        w.advance(&s, 10_500);
        w.add(&s, 3);
        // Still counted just before a full window has passed since 10.5 s...
        w.advance(&s, 14_499);
        assert_eq!(w.used(), 3);
        // ...and after it, while still in bucket 14 (up to one bucket late).
        w.advance(&s, 14_999);
        assert_eq!(w.used(), 3);
        w.advance(&s, 15_000);
        assert_eq!(w.used(), 0);
    }

    #[test]
    fn time_until_freed_counts_from_the_oldest_bucket() {
        let s = shape(4, 1);
        let mut w = Window::default();
        w.advance(&s, 10_000);
        w.add(&s, 2);
        w.advance(&s, 12_000);
        w.add(&s, 5);
        assert_eq!(w.time_until_freed(&s, 1, 12_200), Some(2_800));
        assert_eq!(w.time_until_freed(&s, 3, 12_200), Some(4_800));
        assert_eq!(w.time_until_freed(&s, 8, 12_200), None);
        assert_eq!(w.next_free(&s), Some((15_000, 2)));
    }

    #[test]
    fn release_touches_only_its_own_bucket_and_never_goes_below_zero() {
        let s = shape(4, 1);
        let mut w = Window::default();
        w.advance(&s, 10_000);
        w.add(&s, 2);
        w.advance(&s, 11_000);
        w.add(&s, 5);
        assert_eq!(w.release(&s, 10, 9), 2);
        assert_eq!(w.used(), 5);
        assert_eq!(w.release(&s, 12, 1), 0, "a bucket not reached yet");
        w.advance(&s, 16_000);
        assert_eq!(w.release(&s, 11, 1), 0, "a bucket that left the window");
    }

    #[test]
    fn a_long_pause_empties_the_window() {
        let s = shape(4, 1);
        let mut w = Window::default();
        w.advance(&s, 1_000);
        w.add(&s, 4);
        w.advance(&s, 60_000);
        assert_eq!(w.used(), 0);
        assert_eq!(w.next_free(&s), None);
    }

    #[test]
    fn a_clock_stepped_back_keeps_the_newer_head() {
        let s = shape(4, 1);
        let mut w = Window::default();
        w.advance(&s, 20_000);
        w.add(&s, 1);
        w.advance(&s, 18_000);
        assert_eq!(w.head(), 20);
        assert_eq!(w.used(), 1);
    }

    #[test]
    fn series_slices_the_window_and_keeps_every_call() {
        let s = shape(86_400, 60);
        let mut w = Window::default();
        let start = 1_700_000_000_000_i64 - 1_700_000_000_000_i64 % 3_600_000;
        for hour in 0..30 {
            w.advance(&s, start + hour * 3_600_000);
            w.add(&s, hour as u32 + 1);
        }
        let now = start + 29 * 3_600_000;
        let series = w.series(&s, now, 24);
        assert_eq!(series.len(), 24);
        assert_eq!(series.iter().map(|p| p.1).sum::<u64>(), w.used());
        // Slices end at the current bucket: the newest covers its last hour.
        assert_eq!(series.last().unwrap(), &(now - 59 * 60_000, 30));
        assert_eq!(series[0].0, now - 1_439 * 60_000);
    }

    #[test]
    fn series_of_a_short_window_has_a_slice_per_bucket() {
        let s = shape(4, 1);
        let mut w = Window::default();
        w.advance(&s, 10_000);
        w.add(&s, 1);
        let series = w.series(&s, 10_000, 24);
        assert_eq!(series.len(), 4);
        assert_eq!(series[3], (10_000, 1));
    }

    #[test]
    fn from_parts_pads_and_sums() {
        let s = shape(4, 1);
        let w = Window::from_parts(&s, 12, vec![1, 2]);
        assert_eq!(w.used(), 3);
        assert_eq!(w.ring.len(), 5);
        assert_eq!(Window::from_parts(&s, 0, vec![7]).used(), 0);
    }
}
