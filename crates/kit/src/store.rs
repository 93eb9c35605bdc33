//! Store plumbing shared by the services: the one store error they all map
//! the same way, and a Redis connection with timeouts that reconnects by
//! itself.

use std::time::Duration;

use redis::RedisError;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// Why a store call failed. The store decides what is transient.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached or did not answer in time; retrying later
    /// may succeed. Nothing was acknowledged, or the change is safe to repeat.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The store's settings are wrong (a malformed URL): fix them and restart.
    #[error("store settings: {0}")]
    Config(String),
    /// The store answered with something this version cannot read.
    #[error("store data error: {0}")]
    Corrupt(String),
    /// The store holds as much as it is allowed to (the embedded store's
    /// bound on orgs): the caller must wait for room or be given more.
    #[error("{0}")]
    Full(String),
}

/// A reply that could not be read.
pub fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("unreadable {what}"))
}

/// Sorts a Redis error: anything about reaching Redis is retryable; a reply
/// this code cannot read is not.
pub fn from_redis(err: RedisError) -> StoreError {
    use redis::ErrorKind;
    match err.kind() {
        ErrorKind::Parse | ErrorKind::UnexpectedReturnType | ErrorKind::Extension => {
            StoreError::Corrupt(err.to_string())
        }
        _ => StoreError::Unavailable(err.to_string()),
    }
}

/// A client of the Redis at `url`, for connections of their own (a blocking
/// read must not hold up the shared connection) and for the shared one.
/// Its TCP connections send at once (`TCP_NODELAY`): the Redis client
/// leaves Nagle's algorithm on, which holds a pipelined command back until
/// Redis acknowledges the one before it, so that Redis waits a round trip
/// between the calls a multiplexed connection has in flight.
pub fn redis_client(url: &str) -> Result<redis::Client, StoreError> {
    use redis::IntoConnectionInfo;
    let info = url
        .into_connection_info()
        .map_err(|e| StoreError::Config(format!("redis url: {e}")))?
        .set_tcp_settings(tcp_settings());
    redis::Client::open(info).map_err(|e| StoreError::Config(format!("redis url: {e}")))
}

/// The TCP settings of every Redis connection: no delay (see
/// [`redis_client`]).
pub fn tcp_settings() -> redis::io::tcp::TcpSettings {
    redis::io::tcp::TcpSettings::default().set_nodelay(true)
}

/// A connection to the Redis at `url` (`redis://`, `rediss://` or
/// `redis+unix://`). It connects lazily, so a service starts (and reports
/// itself not serving) while Redis is still down, and reconnects by itself.
/// `timeout` bounds every connection attempt and every reply, so a hung
/// Redis cannot hang callers.
pub fn redis_connection(url: &str, timeout: Duration) -> Result<ConnectionManager, StoreError> {
    let client = redis_client(url)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_secs(1))
        .set_number_of_retries(3);
    ConnectionManager::new_lazy_with_config(client, config).map_err(from_redis)
}

/// The client span of one Redis call (`operation`, for example `EVALSHA`,
/// running `script`), after the OpenTelemetry database conventions. At
/// debug level: made only while traces are on.
pub fn redis_span(operation: &'static str, script: &'static str) -> tracing::Span {
    tracing::debug_span!(
        "redis",
        otel.name = format!("{operation} {script}"),
        otel.kind = "client",
        db.system = "redis",
        db.operation = operation,
        db.redis.script = script,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every client the services build sends its commands at once.
    #[test]
    fn redis_connections_send_without_delay() {
        assert!(tcp_settings().nodelay());
        let client = redis_client("redis://127.0.0.1:6379").expect("a valid url");
        assert!(client.get_connection_info().tcp_settings().nodelay());
        assert!(redis_client("redis://[nope").is_err());
    }

    #[test]
    fn a_bad_url_is_a_settings_error() {
        assert!(matches!(
            redis_connection("nope://x", Duration::from_secs(1)),
            Err(StoreError::Config(_))
        ));
    }
}
