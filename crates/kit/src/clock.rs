//! The process's wall clock, in the milliseconds every store and contract
//! uses. Embedded stores decide by it; Redis stores decide by Redis `TIME`,
//! the one clock all replicas share.

use prost_types::Timestamp;
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch; 0 for a clock set before it.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// A protobuf `Timestamp` in milliseconds since the epoch; sub-millisecond
/// parts are dropped and extreme values saturate rather than overflow.
pub fn timestamp_ms(t: &Timestamp) -> i64 {
    t.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(t.nanos) / 1_000_000)
}

/// Milliseconds since the epoch as a protobuf `Timestamp`, with `nanos`
/// non-negative as the well-known type requires, also before 1970.
pub fn timestamp(ms: i64) -> Timestamp {
    Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_through_milliseconds() {
        for ms in [0, 1, 999, 1_000, 1_763_900_000_123, -1, -1_001] {
            let t = timestamp(ms);
            assert!((0..1_000_000_000).contains(&t.nanos), "{ms}: {t:?}");
            assert_eq!(timestamp_ms(&t), ms);
        }
    }
}
