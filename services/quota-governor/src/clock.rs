//! The process's wall clock. Only the embedded store decides by it (the Redis
//! store decides by Redis `TIME`, shared by all replicas); the gRPC layer reads
//! it to refuse overrides that already ended.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch; 0 for a clock set before it.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
