//! Local Redis Clusters for the tests: `redis-server --cluster-enabled yes`
//! processes on free loopback ports, joined by `redis-cli --cluster create`.
//!
//! A new cluster needs a few seconds before it serves (`cluster_state:ok`),
//! so the tests of one binary share a small pool of them: [`lease`] hands
//! out a cluster no other test holds, emptied (`FLUSHALL` on every master),
//! and takes it back when the lease is dropped, so the tests stay
//! independent. A test that changes a cluster's shape (a failover) starts
//! its own with [`RedisCluster::start`].
//!
//! Every process started here is stopped by the PID it was started with:
//! by `Drop` for a cluster a test owns, and for every cluster also by a
//! watchdog, a small `sh` started beside it that waits for the test process
//! to end and then kills the cluster's servers by their PIDs. Pooled
//! clusters live in a static, which is never dropped; the watchdog stops
//! them when the test binary exits, panics or is killed.

use std::collections::HashSet;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::TempDir;

/// A Redis Cluster on loopback ports, stopped when dropped.
pub struct RedisCluster {
    nodes: Vec<Node>,
    watchdog: Option<Child>,
    dir: TempDir,
}

/// One `redis-server` of a cluster.
struct Node {
    port: u16,
    child: Child,
}

impl RedisCluster {
    /// Starts `masters` masters (at least 3), each with `replicas` replicas,
    /// and waits until every node serves.
    pub fn start(masters: usize, replicas: usize) -> Self {
        assert!(
            masters >= 3,
            "redis-cli creates clusters of 3 masters or more"
        );
        let mut cluster = Self {
            nodes: Vec::new(),
            watchdog: None,
            dir: TempDir::new("cluster"),
        };
        for _ in 0..masters * (1 + replicas) {
            let node = cluster.launch();
            cluster.nodes.push(node);
        }
        cluster.watch();
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for node in &cluster.nodes {
            create.arg(format!("127.0.0.1:{}", node.port));
        }
        let out = create
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli must be installed (apt-get install redis-server)");
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        cluster.wait_until_serving(replicas > 0);
        cluster
    }

    /// Starts one node on a free port (and a free bus port, port + 10000).
    fn launch(&self) -> Node {
        for _ in 0..20 {
            let port = free_cluster_port();
            let dir = self.dir.path().join(port.to_string());
            std::fs::create_dir_all(&dir).expect("a node directory");
            let mut child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "5000"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .arg("--dir")
                .arg(&dir)
                .arg("--logfile")
                .arg(dir.join("redis.log"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server must be installed (apt-get install redis-server)");
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if ping(port) {
                    return Node { port, child };
                }
                // Gone: the port was taken after all; try another one.
                if matches!(child.try_wait(), Ok(Some(_))) || Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        panic!("no redis-server started; see {}", self.dir.path().display());
    }

    /// Starts the watchdog that kills this cluster's servers, by their PIDs,
    /// once the test process is gone.
    fn watch(&mut self) {
        // A pooled cluster lives in a static, never dropped: when the test
        // process is gone, its watchdog ends the nodes and removes their
        // directory.
        let script = "p=$0; d=$1; shift; while kill -0 \"$p\" 2>/dev/null; do sleep 0.5; done; \
                      kill -9 \"$@\" 2>/dev/null; sleep 0.5; rm -rf \"$d\"";
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(std::process::id().to_string())
            .arg(self.dir.path())
            .args(self.nodes.iter().map(|n| n.child.id().to_string()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the cluster's watchdog");
        self.watchdog = Some(watchdog);
    }

    /// Waits until every node says the cluster is ok and knows every other
    /// node, and (with replicas) every replica is in sync with its master.
    fn wait_until_serving(&self, replicas: bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let total = self.nodes.len();
        loop {
            let ready = self.ports().into_iter().all(|port| {
                let Some(info) = self.query::<String>(port, redis::cmd("CLUSTER").arg("INFO"))
                else {
                    return false;
                };
                let ok = info.contains("cluster_state:ok")
                    && info.contains(&format!("cluster_known_nodes:{total}\r"));
                let synced = !replicas
                    || self
                        .query::<String>(port, redis::cmd("INFO").arg("replication"))
                        .is_some_and(|r| {
                            r.contains("role:master") || r.contains("master_link_status:up")
                        });
                ok && synced
            });
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the cluster did not come up; see {}",
                self.dir.path().display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs `cmd` on the node at `port`; `None` when it does not answer.
    fn query<T: redis::FromRedisValue>(&self, port: u16, cmd: &mut redis::Cmd) -> Option<T> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).ok()?;
        let mut conn = client
            .get_connection_with_timeout(Duration::from_secs(2))
            .ok()?;
        conn.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        cmd.query(&mut conn).ok()
    }

    /// Runs `cmd` on the node at `port`, which must answer.
    pub fn run<T: redis::FromRedisValue>(&self, port: u16, cmd: &mut redis::Cmd) -> T {
        self.query(port, cmd)
            .unwrap_or_else(|| panic!("the node at port {port} did not answer"))
    }

    /// Every node's port.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// Seed URLs for the services' `redis_cluster_nodes`: every node.
    pub fn seeds(&self) -> Vec<String> {
        self.ports()
            .iter()
            .map(|port| format!("redis://127.0.0.1:{port}"))
            .collect()
    }

    /// The ports of the nodes that are masters now.
    pub fn masters(&self) -> Vec<u16> {
        self.ports()
            .into_iter()
            .filter(|&port| self.role(port).as_deref() == Some("master"))
            .collect()
    }

    /// `master` or `slave`, as the node at `port` says now.
    pub fn role(&self, port: u16) -> Option<String> {
        let role: Vec<redis::Value> = self.query(port, &mut redis::cmd("ROLE"))?;
        role.first()
            .and_then(|r| redis::from_redis_value_ref::<String>(r).ok())
    }

    /// The port of a replica of the master at `master`.
    pub fn replica_of(&self, master: u16) -> Option<u16> {
        self.ports().into_iter().find(|&port| {
            self.query::<String>(port, redis::cmd("INFO").arg("replication"))
                .is_some_and(|info| {
                    info.contains("role:slave") && info.contains(&format!("master_port:{master}\r"))
                })
        })
    }

    /// The slot of `key`, as the cluster computes it.
    pub fn keyslot(&self, key: &str) -> u16 {
        self.run(
            self.nodes[0].port,
            redis::cmd("CLUSTER").arg("KEYSLOT").arg(key),
        )
    }

    /// The master serving `slot` now.
    pub fn master_of_slot(&self, slot: u16) -> u16 {
        // [[start, end, [host, port, id], replicas...], ...]
        let ranges: Vec<Vec<redis::Value>> = self
            .masters()
            .into_iter()
            .find_map(|port| self.query(port, redis::cmd("CLUSTER").arg("SLOTS")))
            .expect("a master answers CLUSTER SLOTS");
        let number = |v: &redis::Value| redis::from_redis_value_ref::<u16>(v).ok();
        ranges
            .iter()
            .find(|range| match (range.first(), range.get(1)) {
                (Some(start), Some(end)) => {
                    (number(start).unwrap_or(u16::MAX)..=number(end).unwrap_or(0)).contains(&slot)
                }
                _ => false,
            })
            .and_then(|range| match range.get(2) {
                Some(redis::Value::Array(master)) => master.get(1).and_then(number),
                _ => None,
            })
            .expect("every slot is served")
    }

    /// Every key matching `pattern` with the port of the master holding it,
    /// found by SCAN on each master.
    pub fn keys(&self, pattern: &str) -> Vec<(u16, String)> {
        let mut found = Vec::new();
        for port in self.masters() {
            let mut cursor = 0u64;
            loop {
                let (next, keys): (u64, Vec<String>) = self.run(
                    port,
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(pattern)
                        .arg("COUNT")
                        .arg(1_000),
                );
                found.extend(keys.into_iter().map(|k| (port, k)));
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        found
    }

    /// Empties every master (their replicas follow).
    pub fn flush(&self) {
        for port in self.masters() {
            let () = self.run(port, &mut redis::cmd("FLUSHALL"));
        }
    }

    /// Promotes the replica at `replica` with `CLUSTER FAILOVER` (its master
    /// agrees, nothing acknowledged is lost) and waits until it is master and
    /// every node says the cluster is ok.
    pub fn failover(&self, replica: u16) {
        let () = self.run(replica, redis::cmd("CLUSTER").arg("FAILOVER"));
        let deadline = Instant::now() + Duration::from_secs(30);
        // Every node sees the replica as a master (gossip takes a moment
        // to reach the others).
        let promoted = format!("127.0.0.1:{replica}@");
        let is_master = |port: u16| {
            self.query::<String>(port, redis::cmd("CLUSTER").arg("NODES"))
                .is_some_and(|nodes| {
                    nodes.lines().any(|line| {
                        line.split(' ')
                            .nth(1)
                            .is_some_and(|a| a.starts_with(&promoted))
                            && line.split(' ').nth(2).is_some_and(|f| f.contains("master"))
                    })
                })
        };
        while self.role(replica).as_deref() != Some("master")
            || !self.ports().into_iter().all(is_master)
        {
            assert!(Instant::now() < deadline, "the failover did not happen");
            std::thread::sleep(Duration::from_millis(50));
        }
        self.wait_until_serving(true);
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            let _ = node.child.kill();
            let _ = node.child.wait();
        }
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}

/// A cluster of the pool, held by one test; back to the pool when dropped.
pub struct ClusterLease(Option<RedisCluster>);

impl std::ops::Deref for ClusterLease {
    type Target = RedisCluster;

    fn deref(&self) -> &RedisCluster {
        self.0.as_ref().expect("a leased cluster")
    }
}

impl Drop for ClusterLease {
    fn drop(&mut self) {
        if let Some(cluster) = self.0.take() {
            let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
            pool.idle.push(cluster);
            FREED.notify_one();
        }
    }
}

/// Clusters of this test binary: the idle ones, and how many were started.
struct Pool {
    idle: Vec<RedisCluster>,
    started: usize,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    idle: Vec::new(),
    started: 0,
});
static FREED: Condvar = Condvar::new();

/// Most clusters one test binary starts; more tests wait for one.
const MAX_POOLED: usize = 3;

/// A cluster of 3 masters (no replicas) for this test alone until the lease
/// is dropped, with no keys: an idle one of the pool, or a new one.
pub fn lease() -> ClusterLease {
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if let Some(cluster) = pool.idle.pop() {
            drop(pool);
            cluster.flush();
            return ClusterLease(Some(cluster));
        }
        if pool.started < MAX_POOLED {
            pool.started += 1;
            drop(pool);
            // Should the start fail, the place it took is given back.
            let place = StartPlace;
            let cluster = RedisCluster::start(3, 0);
            std::mem::forget(place);
            return ClusterLease(Some(cluster));
        }
        pool = FREED.wait(pool).unwrap_or_else(|e| e.into_inner());
    }
}

/// Gives back a pool place when a cluster failed to start (forgotten when
/// it started).
struct StartPlace;

impl Drop for StartPlace {
    fn drop(&mut self) {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        pool.started -= 1;
        FREED.notify_one();
    }
}

/// A port free now whose cluster bus port (+10000) is free too, below the
/// range the system hands out for outgoing connections, and not chosen
/// before by this process.
fn free_cluster_port() -> u16 {
    static CHOSEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut chosen = CHOSEN.lock().unwrap_or_else(|e| e.into_inner());
    let chosen = chosen.get_or_insert_with(HashSet::new);
    let seed = {
        use std::hash::{BuildHasher, RandomState};
        RandomState::new().hash_one(Instant::now())
    };
    for i in 0..10_000u64 {
        let port = 10_000 + ((seed.wrapping_add(i.wrapping_mul(7_919))) % 12_000) as u16;
        if chosen.contains(&port) {
            continue;
        }
        let free = |p: u16| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok();
        if free(port) && free(port + 10_000) {
            chosen.insert(port);
            return port;
        }
    }
    panic!("no free port pair for a cluster node");
}

/// True when a Redis answers PING at `port`.
fn ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut reply = [0u8; 5];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG"
}
