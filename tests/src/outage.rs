//! A Redis outage under a running service, the scenario every outage test
//! shares: Redis is killed (SIGKILL, as abrupt as a crash), the service's
//! health follows it down, Redis starts again on the same socket and data
//! directory, and the health follows it up.
//!
//! [`RedisOutage`] takes these steps one at a time, each with its standard
//! wait, so that a test puts its own checks between them: the calls
//! refused with `UNAVAILABLE` while Redis is away, the load that goes on,
//! the calls that succeed once it is back. A service under such a test
//! runs with [`HEALTH_INTERVAL`] and [`REDIS_TIMEOUT`], which the waits
//! below allow for.
//!
//! The steps that kill and start Redis block; they run in
//! `block_in_place`, so the tests use the multi-thread runtime.

use std::net::SocketAddr;
use std::time::Duration;

use tonic_health::pb::health_check_response::ServingStatus;

use crate::{RedisServer, health_becomes};

/// How often a service under an outage test checks its store: its health
/// follows Redis well within the waits below.
pub const HEALTH_INTERVAL: Duration = Duration::from_millis(100);

/// How long a service under an outage test waits for Redis before it
/// answers `UNAVAILABLE`: a refused call does not hang the test.
pub const REDIS_TIMEOUT: Duration = Duration::from_millis(500);

/// The longest wait for health to report `NOT_SERVING` once Redis is gone.
const DOWN_WITHIN: Duration = crate::PATIENCE;

/// The longest wait for health to report `SERVING` once Redis is back: the
/// service reconnects first.
const UP_WITHIN: Duration = crate::PATIENCE;

/// `redis` taken away from under the service named `service` at `addr`,
/// and brought back.
pub struct RedisOutage<'r> {
    redis: &'r mut RedisServer,
    addr: SocketAddr,
    service: &'static str,
}

impl<'r> RedisOutage<'r> {
    /// An outage of `redis` as seen by the health of `service` (its gRPC
    /// service name) at `addr`. Nothing happens until [`Self::kill`].
    pub fn new(redis: &'r mut RedisServer, addr: SocketAddr, service: &'static str) -> Self {
        Self {
            redis,
            addr,
            service,
        }
    }

    /// The Redis, e.g. to set it up again after [`Self::restart`].
    pub fn redis(&self) -> &RedisServer {
        self.redis
    }

    /// Kills Redis (SIGKILL).
    pub fn kill(&mut self) {
        tokio::task::block_in_place(|| self.redis.stop());
    }

    /// Checks that the service's health follows Redis down: `NOT_SERVING`
    /// within [`crate::PATIENCE`].
    pub async fn until_not_serving(&self) {
        assert!(
            health_becomes(
                self.addr,
                self.service,
                ServingStatus::NotServing,
                DOWN_WITHIN
            )
            .await,
            "health did not follow Redis down"
        );
    }

    /// Starts Redis again at the same socket, on the same data directory
    /// (with an AOF, the data is back).
    pub fn restart(&mut self) {
        tokio::task::block_in_place(|| self.redis.restart());
    }

    /// Checks that the service's health follows Redis up: `SERVING` within
    /// [`crate::PATIENCE`].
    pub async fn until_serving(&self) {
        assert!(
            health_becomes(self.addr, self.service, ServingStatus::Serving, UP_WITHIN).await,
            "health did not follow Redis up"
        );
    }
}
