//! The stores' handle on Redis: one server, or a Redis Cluster.
//!
//! Every store call goes through [`Redis`]. On one server it is the
//! reconnecting multiplexed connection the store always used, untouched: one
//! `match` in front of it, nothing more. On a cluster it is the `redis`
//! crate's cluster connection, which sends each command (and each script, by
//! its first key) to the master holding the key's slot, and follows the
//! cluster when slots move or a replica is promoted (`MOVED`, `ASK`,
//! `READONLY`, then a fresh slot map). Both bound every call by the store's
//! timeout, so a slow or lost store stays an `UNAVAILABLE` answer.
//!
//! On a cluster a script or a pipeline must only touch keys of one slot: the
//! stores give every key a hash tag (`{<org>}`, or a queue shard's) so that
//! each of their scripts and pipelines does.

use std::time::Duration;

use crate::settings::RedisUrl;
use crate::store::{StoreError, corrupt, from_redis, redis_client, redis_connection, tcp_settings};
use redis::aio::{ConnectionLike, ConnectionManager, MultiplexedConnection};
use redis::cluster::{ClusterClientBuilder, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{Cmd, Pipeline, RedisFuture, Value};

/// Times the cluster client sends a command again after a redirection
/// (`MOVED`, `ASK`), a failover (`READONLY`, `TRYAGAIN`, `CLUSTERDOWN`) or a
/// lost connection, within the call's timeout. A repeat can only follow an
/// error, never a reply; a script repeated after a lost connection may have
/// run once already, which each script of the stores tolerates.
const CLUSTER_RETRIES: u32 = 6;
/// Shortest and longest waits between those tries, ms: short, since the
/// whole call must fit in the store's timeout.
const CLUSTER_RETRY_WAIT_MS: (u64, u64) = (10, 250);

/// How many replicas must acknowledge a write before it is acknowledged to
/// the caller, and how long to wait for them (see
/// [`Redis::wait_for_replicas`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Durability {
    /// Replicas that must have the write.
    pub replicas: u32,
    /// Longest wait for them.
    pub timeout: Duration,
}

/// Where the store's Redis is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// One server (`redis://`, `rediss://` or `redis+unix://`).
    Single(String),
    /// Some nodes of a Redis Cluster (`redis://host:port` each, a password as
    /// in a single server's URL); the client finds the others from them.
    Cluster(Vec<String>),
}

impl Endpoint {
    /// Where a service's settings keep its data, with how to name it in
    /// logs (passwords hidden): the cluster's nodes when given, else the
    /// URL; `None` for the memory store.
    pub fn from_settings(url: Option<&RedisUrl>, nodes: &[RedisUrl]) -> Option<(Self, String)> {
        if !nodes.is_empty() {
            let shown: Vec<String> = nodes.iter().map(ToString::to_string).collect();
            return Some((
                Self::Cluster(nodes.iter().map(|n| n.expose().to_owned()).collect()),
                format!("redis cluster at {}", shown.join(",")),
            ));
        }
        let url = url?;
        Some((
            Self::Single(url.expose().to_owned()),
            format!("redis at {url}"),
        ))
    }

    /// The shared connection of a store: connects lazily, so the service
    /// starts (not serving) while Redis is down, and reconnects by itself.
    /// `timeout` bounds every connection attempt and every call.
    pub fn connect(&self, timeout: Duration) -> Result<Redis, StoreError> {
        match self {
            Self::Single(url) => Ok(Redis::Single(redis_connection(url, timeout)?)),
            Self::Cluster(nodes) => {
                let client = cluster_client(nodes, timeout)?;
                let config = ClusterConfig::new()
                    .set_connection_timeout(timeout)
                    .set_response_timeout(timeout);
                Ok(Redis::Cluster(
                    client.get_pending_async_connection_with_config(config),
                ))
            }
        }
    }

    /// A connection of its own, connected now, for blocking reads that may
    /// wait up to `wait` for an answer: one that never holds up the shared
    /// connection's other calls.
    pub async fn dedicated(&self, timeout: Duration, wait: Duration) -> Result<Redis, StoreError> {
        match self {
            Self::Single(url) => {
                let client = redis_client(url)?;
                let config = redis::AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(wait + timeout));
                let conn = client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                    .map_err(from_redis)?;
                Ok(Redis::Dedicated(conn))
            }
            Self::Cluster(nodes) => {
                let client = cluster_client(nodes, wait + timeout)?;
                let config = ClusterConfig::new()
                    .set_connection_timeout(timeout)
                    .set_response_timeout(wait + timeout);
                let conn = client
                    .get_async_connection_with_config(config)
                    .await
                    .map_err(from_redis)?;
                Ok(Redis::Cluster(conn))
            }
        }
    }
}

/// A cluster client over `nodes`, each call bounded by `timeout` (retries
/// included).
fn cluster_client(
    nodes: &[String],
    timeout: Duration,
) -> Result<redis::cluster::ClusterClient, StoreError> {
    if nodes.is_empty() {
        return Err(StoreError::Config(
            "a Redis Cluster needs at least one node".into(),
        ));
    }
    if let Some(node) = nodes
        .iter()
        .find(|n| !(n.starts_with("redis://") || n.starts_with("rediss://")))
    {
        return Err(StoreError::Config(format!(
            "a Redis Cluster node is reached over TCP (redis://host:port), not {}",
            node.split("://").next().unwrap_or_default()
        )));
    }
    ClusterClientBuilder::new(nodes.iter().map(String::as_str))
        .connection_timeout(timeout)
        .response_timeout(timeout)
        .retries(CLUSTER_RETRIES)
        .min_retry_wait(CLUSTER_RETRY_WAIT_MS.0)
        .max_retry_wait(CLUSTER_RETRY_WAIT_MS.1)
        .tcp_settings(tcp_settings())
        .build()
        .map_err(|e| StoreError::Config(format!("redis cluster nodes: {e}")))
}

/// A connection to the store's Redis; cheap to clone (every clone shares
/// the connections underneath).
#[derive(Clone)]
pub enum Redis {
    /// One server, the shared connection: multiplexed, reconnects by itself.
    Single(ConnectionManager),
    /// One server, a connection of its own (see [`Endpoint::dedicated`]).
    Dedicated(MultiplexedConnection),
    /// A Redis Cluster: a connection per node, each command routed by slot.
    Cluster(ClusterConnection),
}

impl Redis {
    /// True on a Redis Cluster, where a script or pipeline must stay in one
    /// slot.
    pub fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster(_))
    }

    /// Waits until the writes made so far on the connection that holds
    /// `key` (the master of its slot, on a cluster) have reached `replicas`
    /// replicas, for at most `timeout` (Redis `WAIT`). Fewer in time is
    /// `Unavailable`: the write stands on the master, but it is not
    /// acknowledged to the caller, who may ask again (grants and ingests are
    /// safe to repeat).
    pub async fn wait_for_replicas(
        &self,
        key: &str,
        replicas: u32,
        timeout: Duration,
    ) -> Result<(), StoreError> {
        let mut wait = redis::cmd("WAIT");
        wait.arg(replicas).arg(timeout.as_millis() as u64);
        let reached: i64 = match self {
            Self::Cluster(conn) => {
                // The master of the key's slot: the connection the write
                // went over.
                let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(
                    redis::cluster_routing::Route::with_key(
                        key,
                        redis::cluster_routing::SlotAddr::Master,
                    ),
                ));
                let reply = conn
                    .clone()
                    .route_command(wait, route)
                    .await
                    .map_err(from_redis)?;
                redis::from_redis_value(reply).map_err(|_| corrupt("wait reply"))?
            }
            _ => wait
                .query_async(&mut self.clone())
                .await
                .map_err(from_redis)?,
        };
        if reached < i64::from(replicas) {
            return Err(StoreError::Unavailable(format!(
                "{reached} of {replicas} replicas acknowledged the write within {timeout:?}"
            )));
        }
        Ok(())
    }

    /// Every key matching `pattern` (SCAN), on every master of a cluster.
    /// A key may come twice; it is never missed if it exists throughout.
    pub async fn scan(&self, pattern: &str) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        match self {
            Self::Cluster(conn) => {
                for (host, port) in masters(&mut conn.clone()).await? {
                    let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                        host: host.clone(),
                        port,
                    });
                    let mut cursor = 0u64;
                    loop {
                        let reply = conn
                            .clone()
                            .route_command(scan_cmd(cursor, pattern), route.clone())
                            .await
                            .map_err(from_redis)?;
                        let (next, found): (u64, Vec<String>) =
                            redis::from_redis_value(reply).map_err(|_| corrupt("scan reply"))?;
                        keys.extend(found);
                        if next == 0 {
                            break;
                        }
                        cursor = next;
                    }
                }
            }
            _ => {
                let mut cursor = 0u64;
                loop {
                    let (next, found): (u64, Vec<String>) = scan_cmd(cursor, pattern)
                        .query_async(&mut self.clone())
                        .await
                        .map_err(from_redis)?;
                    keys.extend(found);
                    if next == 0 {
                        break;
                    }
                    cursor = next;
                }
            }
        }
        Ok(keys)
    }
}

fn scan_cmd(cursor: u64, pattern: &str) -> Cmd {
    let mut cmd = redis::cmd("SCAN");
    cmd.arg(cursor)
        .arg("MATCH")
        .arg(pattern)
        .arg("COUNT")
        .arg(1_000);
    cmd
}

/// The address of every master that serves slots (`CLUSTER SLOTS`).
async fn masters(conn: &mut ClusterConnection) -> Result<Vec<(String, u16)>, StoreError> {
    let reply: Value = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query_async(conn)
        .await
        .map_err(from_redis)?;
    let Value::Array(ranges) = reply else {
        return Err(corrupt("cluster slots"));
    };
    let mut found = Vec::new();
    for range in ranges {
        // [start, end, [host, port, id, ...], replicas...]
        let Value::Array(parts) = range else {
            return Err(corrupt("cluster slots"));
        };
        let Some(Value::Array(master)) = parts.get(2) else {
            return Err(corrupt("cluster slots"));
        };
        let host: String = master
            .first()
            .and_then(|h| redis::from_redis_value_ref(h).ok())
            .ok_or_else(|| corrupt("cluster slots"))?;
        let port: u16 = master
            .get(1)
            .and_then(|p| redis::from_redis_value_ref(p).ok())
            .ok_or_else(|| corrupt("cluster slots"))?;
        if !found.contains(&(host.clone(), port)) {
            found.push((host, port));
        }
    }
    Ok(found)
}

impl ConnectionLike for Redis {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(conn) => conn.req_packed_command(cmd),
            Self::Dedicated(conn) => conn.req_packed_command(cmd),
            Self::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Self::Dedicated(conn) => conn.req_packed_commands(pipeline, offset, count),
            Self::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(conn) => conn.get_db(),
            Self::Dedicated(conn) => conn.get_db(),
            Self::Cluster(conn) => conn.get_db(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_nodes_are_tcp_urls() {
        let timeout = Duration::from_secs(1);
        assert!(matches!(
            cluster_client(&[], timeout),
            Err(StoreError::Config(_))
        ));
        assert!(matches!(
            cluster_client(&["redis+unix:///tmp/r.sock".into()], timeout),
            Err(StoreError::Config(_))
        ));
        assert!(cluster_client(&["redis://127.0.0.1:7000".into()], timeout).is_ok());
    }
}
