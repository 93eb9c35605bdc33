//! The process's wall clock, in the milliseconds every store and contract
//! uses. Embedded stores decide by it; Redis stores decide by Redis `TIME`,
//! the one clock all replicas share.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch; 0 for a clock set before it.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
