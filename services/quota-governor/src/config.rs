//! Typed settings: defaults, then environment variables, then flags. Every
//! setting has a default and a `--help` line; a bad value stops the governor
//! with a message before anything binds. Tests build settings in code with
//! [`Settings::default`] and never touch the process environment.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use clap::Parser;
use syncgov_kit::security::SecuritySettings;
pub use syncgov_kit::settings::RedisUrl;
use syncgov_kit::settings::{parse_cluster_node, parse_duration};
use syncgov_kit::telemetry::LogFormat;

use crate::domain::ProbePolicy;
use crate::domain::{Budget, Rules};
use crate::window::{ShapeError, WindowShape};

const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
const DEFAULT_WINDOW: &str = "24h";
const DEFAULT_BUCKET: &str = "60s";
const DEFAULT_REDIS_TIMEOUT: &str = "1s";
const DEFAULT_HEALTH_INTERVAL: &str = "1s";
const DEFAULT_SHUTDOWN_GRACE: &str = "10s";
const DEFAULT_PROBE_BACKOFF: &str = "1m";
const DEFAULT_PROBE_BACKOFF_CAP: &str = "1h";

/// Settings of the quota governor.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "quota-governor",
    version,
    about = "Keeps each org's integration inside its rolling 24-hour Salesforce API budget.",
    long_about = "Keeps each org's integration inside its rolling 24-hour Salesforce API budget.\n\n\
        Sync workers ask it for call tokens over gRPC before calling Salesforce. Without \
        --redis-url it keeps budgets in memory (one replica, nothing kept across restarts); \
        with it, any number of replicas share the budgets in Redis (or, with \
        --redis-cluster-nodes instead, in a Redis Cluster).\n\n\
        Every flag can also be set with the environment variable shown."
)]
pub struct Settings {
    /// Address the gRPC server listens on.
    #[arg(long, env = "QUOTA_GOVERNOR_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,

    /// Redis URL (`redis://[:password@]host:port/db`, `rediss://` for TLS, or
    /// `redis+unix:///path/to/socket`). Without it budgets live in this
    /// process's memory.
    #[arg(long, env = "QUOTA_GOVERNOR_REDIS_URL")]
    pub redis_url: Option<RedisUrl>,

    /// Nodes of a Redis Cluster to keep budgets in, instead of --redis-url:
    /// comma-separated `host:port` or `redis://[:password@]host:port`. A few
    /// are enough; the client finds the others, and follows failovers.
    #[arg(
        long,
        env = "QUOTA_GOVERNOR_REDIS_CLUSTER_NODES",
        value_delimiter = ',',
        value_parser = parse_cluster_node,
        conflicts_with = "redis_url"
    )]
    pub redis_cluster_nodes: Vec<RedisUrl>,

    /// Length of the rolling window budgets are counted over.
    #[arg(long, env = "QUOTA_GOVERNOR_WINDOW", default_value = DEFAULT_WINDOW, value_parser = parse_duration)]
    pub window: Duration,

    /// Width of one bucket of the window: calls leave the window at most this
    /// much late, never early. The window must be a whole number of buckets.
    #[arg(long, env = "QUOTA_GOVERNOR_BUCKET", default_value = DEFAULT_BUCKET, value_parser = parse_duration)]
    pub bucket: Duration,

    /// Budget for orgs that have none, as ALLOCATION/ORG_LIMIT (for example
    /// 50000/100000). Unset: such orgs are denied with UNKNOWN_ORG.
    #[arg(long, env = "QUOTA_GOVERNOR_DEFAULT_BUDGET")]
    pub default_budget: Option<DefaultBudget>,

    /// Share of the org limit kept free of all apps' calls, in percent: grants
    /// stop when the org's estimated usage would pass the limit less this.
    #[arg(long, env = "QUOTA_GOVERNOR_ORG_SAFETY_MARGIN", default_value_t = crate::org_usage::DEFAULT_SAFETY_MARGIN_PERCENT,
          value_parser = clap::value_parser!(u8).range(0..=50))]
    pub org_safety_margin: u8,

    /// Wait before the first probe call through a transient suspension (a
    /// locked row, Salesforce down); doubles after each failed probe.
    #[arg(long, env = "QUOTA_GOVERNOR_PROBE_BACKOFF", default_value = DEFAULT_PROBE_BACKOFF, value_parser = parse_duration)]
    pub probe_backoff: Duration,

    /// Longest wait between probes.
    #[arg(long, env = "QUOTA_GOVERNOR_PROBE_BACKOFF_CAP", default_value = DEFAULT_PROBE_BACKOFF_CAP, value_parser = parse_duration)]
    pub probe_backoff_cap: Duration,

    /// The domain the governor answers for in Envoy's rate limit protocol.
    #[arg(
        long,
        env = "QUOTA_GOVERNOR_RLS_DOMAIN",
        default_value = "salesforce-sync"
    )]
    pub rls_domain: String,

    /// What Envoy's rate limit protocol does with a descriptor that names no
    /// budget (no org_id entry, or another domain): ignore lets it pass, deny
    /// refuses it.
    #[arg(long, env = "QUOTA_GOVERNOR_RLS_UNMAPPED", value_enum, default_value_t = crate::rls::Unmapped::Ignore)]
    pub rls_unmapped: crate::rls::Unmapped,

    /// What to do while the store is unreachable: fail-closed denies with
    /// UNAVAILABLE (no call goes out uncounted); fail-open grants up to
    /// --emergency-budget calls per org and replica per --emergency-window,
    /// counted nowhere else (docs/QUOTA_GOVERNOR.md, Store outages).
    #[arg(long, env = "QUOTA_GOVERNOR_STORE_OUTAGE", value_enum, default_value_t = crate::outage::OutagePolicy::FailClosed)]
    pub store_outage: crate::outage::OutagePolicy,

    /// Calls per org a replica may grant while the store is unreachable, with
    /// --store-outage fail-open.
    #[arg(long, env = "QUOTA_GOVERNOR_EMERGENCY_BUDGET", default_value_t = 100)]
    pub emergency_budget: u64,

    /// The period the emergency budget is counted over.
    #[arg(long, env = "QUOTA_GOVERNOR_EMERGENCY_WINDOW", default_value = "1h", value_parser = parse_duration)]
    pub emergency_window: Duration,

    /// Send the decisions that reach this replica at the same time to Redis
    /// together, one script call per batch (exact: decided in arrival
    /// order). Off: one script call per decision, which measured faster where
    /// the gRPC layer, not Redis, is the bottleneck (docs/BENCHMARKS.md).
    #[arg(long, env = "QUOTA_GOVERNOR_COALESCE", default_value_t = false, action = clap::ArgAction::Set)]
    pub coalesce: bool,

    /// Longest wait for Redis to connect or answer before a call fails with
    /// UNAVAILABLE.
    #[arg(long, env = "QUOTA_GOVERNOR_REDIS_TIMEOUT", default_value = DEFAULT_REDIS_TIMEOUT, value_parser = parse_duration)]
    pub redis_timeout: Duration,

    /// How often the store is checked for the gRPC health service.
    #[arg(long, env = "QUOTA_GOVERNOR_HEALTH_INTERVAL", default_value = DEFAULT_HEALTH_INTERVAL, value_parser = parse_duration)]
    pub health_interval: Duration,

    /// How long in-flight calls may take to finish after SIGTERM.
    #[arg(long, env = "QUOTA_GOVERNOR_SHUTDOWN_GRACE", default_value = DEFAULT_SHUTDOWN_GRACE, value_parser = parse_duration)]
    pub shutdown_grace: Duration,

    /// Threads serving calls; 0 means one per CPU. On a small node shared
    /// with Redis, fewer threads than CPUs can serve more decisions per second.
    #[arg(long, env = "QUOTA_GOVERNOR_WORKER_THREADS", default_value_t = 0)]
    pub worker_threads: usize,

    /// Calls one connection may have in flight; more wait their turn, so
    /// one busy caller cannot take every worker from the others.
    #[arg(
        long,
        env = "QUOTA_GOVERNOR_MAX_CONCURRENT_CALLS_PER_CONNECTION",
        default_value_t = 256
    )]
    pub max_concurrent_calls_per_connection: usize,

    /// Calls one caller (a token's subject, else an IP address) may have in
    /// flight across all its connections; more are refused with
    /// RESOURCE_EXHAUSTED. 0 turns the bound off.
    #[arg(
        long,
        env = "QUOTA_GOVERNOR_MAX_CONCURRENT_CALLS_PER_CALLER",
        default_value_t = 1024
    )]
    pub max_concurrent_calls_per_caller: usize,

    /// Longest a call may take before it answers (CANCELLED "Timeout
    /// expired" afterwards, safe to retry); a caller's shorter grpc-timeout
    /// wins. Streams' messages are not bounded by it.
    #[arg(long, env = "QUOTA_GOVERNOR_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// Address of the admin port serving Prometheus metrics at `/metrics`
    /// (for example 0.0.0.0:9464). Unset: no admin port.
    #[arg(long, env = "QUOTA_GOVERNOR_ADMIN_LISTEN")]
    pub admin_listen: Option<std::net::SocketAddr>,

    /// Orgs whose metrics carry their own `org_id` label (comma-separated);
    /// all others share `other`, so that metrics stay bounded however many
    /// orgs there are.
    #[arg(long, env = "QUOTA_GOVERNOR_METRICS_ORGS", value_delimiter = ',')]
    pub metrics_orgs: Vec<String>,

    /// Log format: text for terminals, json for log collectors. Levels
    /// come from RUST_LOG (default info).
    #[arg(long, env = "QUOTA_GOVERNOR_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// TLS and authentication of the listener.
    #[command(flatten)]
    pub security: SecuritySettings,
}

impl Default for Settings {
    /// The defaults `--help` shows, whatever the environment says.
    fn default() -> Self {
        let duration = |text| parse_duration(text).expect("default durations parse");
        Self {
            listen: DEFAULT_LISTEN.parse().expect("the default address parses"),
            redis_url: None,
            redis_cluster_nodes: Vec::new(),
            window: duration(DEFAULT_WINDOW),
            bucket: duration(DEFAULT_BUCKET),
            default_budget: None,
            org_safety_margin: crate::org_usage::DEFAULT_SAFETY_MARGIN_PERCENT,
            probe_backoff: duration(DEFAULT_PROBE_BACKOFF),
            rls_domain: "salesforce-sync".into(),
            store_outage: crate::outage::OutagePolicy::FailClosed,
            emergency_budget: 100,
            emergency_window: Duration::from_secs(3_600),
            coalesce: false,
            rls_unmapped: crate::rls::Unmapped::Ignore,
            probe_backoff_cap: duration(DEFAULT_PROBE_BACKOFF_CAP),
            redis_timeout: duration(DEFAULT_REDIS_TIMEOUT),
            health_interval: duration(DEFAULT_HEALTH_INTERVAL),
            shutdown_grace: duration(DEFAULT_SHUTDOWN_GRACE),
            worker_threads: 0,
            max_concurrent_calls_per_connection: 256,
            max_concurrent_calls_per_caller: 1024,
            request_timeout: Duration::from_secs(30),
            admin_listen: None,
            metrics_orgs: Vec::new(),
            log_format: LogFormat::Text,
            security: SecuritySettings::default(),
        }
    }
}

impl Settings {
    /// The window shape these settings ask for.
    pub fn window_shape(&self) -> Result<WindowShape, ShapeError> {
        WindowShape::new(self.window, self.bucket)
    }

    /// The decision rules these settings ask for.
    pub fn rules(&self) -> Result<Rules, ShapeError> {
        Ok(Rules {
            shape: self.window_shape()?,
            org_margin_percent: self.org_safety_margin,
            probe: ProbePolicy {
                first_ms: self.probe_backoff.as_millis() as u64,
                cap_ms: self.probe_backoff_cap.max(self.probe_backoff).as_millis() as u64,
            },
        })
    }
}

/// The budget applied to orgs without one, written ALLOCATION/ORG_LIMIT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DefaultBudget(pub Budget);

impl FromStr for DefaultBudget {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let usage = "expected ALLOCATION/ORG_LIMIT, for example 50000/100000";
        let (allocation, org_limit) = text.split_once('/').ok_or(usage)?;
        let allocation = allocation.trim().parse().map_err(|_| usage)?;
        let org_limit = org_limit.trim().parse().map_err(|_| usage)?;
        let budget = Budget::new(org_limit, allocation);
        budget.validate(0).map_err(|e| e.to_string())?;
        Ok(Self(budget))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let s = Settings::default();
        assert_eq!(s.listen.to_string(), "127.0.0.1:50051");
        assert_eq!(s.window, Duration::from_secs(86_400));
        assert_eq!(s.bucket, Duration::from_secs(60));
        assert!(s.redis_url.is_none());
        assert!(s.default_budget.is_none());
        assert_eq!(s.window_shape().unwrap().buckets(), 1440);
    }

    #[test]
    fn flags_override_defaults() {
        let s = Settings::try_parse_from([
            "quota-governor",
            "--window",
            "4s",
            "--bucket",
            "1s",
            "--default-budget",
            "10/20",
            "--redis-url",
            "redis://:secret@localhost:6379",
        ])
        .unwrap();
        assert_eq!(s.window_shape().unwrap().buckets(), 4);
        assert_eq!(s.default_budget.unwrap().0, Budget::new(20, 10));
        assert_eq!(
            s.redis_url.unwrap().to_string(),
            "redis://***@localhost:6379"
        );
    }

    #[test]
    fn bad_values_name_the_flag() {
        let err =
            Settings::try_parse_from(["quota-governor", "--default-budget", "30/20"]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("--default-budget") && text.contains("budget.allocation"),
            "{text}"
        );
        let err =
            Settings::try_parse_from(["quota-governor", "--window", "1 day-ish"]).unwrap_err();
        assert!(err.to_string().contains("--window"));
        let err = Settings::try_parse_from(["quota-governor", "--redis-url", "localhost:6379"])
            .unwrap_err();
        assert!(err.to_string().contains("--redis-url"));
    }

    #[test]
    fn cluster_nodes_are_a_list_and_exclude_one_redis() {
        let s = Settings::try_parse_from([
            "quota-governor",
            "--redis-cluster-nodes",
            "10.0.0.1:6379, redis://:secret@10.0.0.2:6379",
        ])
        .unwrap();
        let nodes: Vec<String> = s
            .redis_cluster_nodes
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(
            nodes,
            ["redis://10.0.0.1:6379", "redis://***@10.0.0.2:6379"]
        );
        assert_eq!(
            s.redis_cluster_nodes[1].expose(),
            "redis://:secret@10.0.0.2:6379"
        );
        let err = Settings::try_parse_from([
            "quota-governor",
            "--redis-cluster-nodes",
            "redis+unix:///tmp/r.sock",
        ])
        .unwrap_err();
        assert!(err.to_string().contains("--redis-cluster-nodes"));
        assert!(
            Settings::try_parse_from([
                "quota-governor",
                "--redis-url",
                "redis://a:6379",
                "--redis-cluster-nodes",
                "b:6379",
            ])
            .is_err()
        );
    }
}
