//! Typed settings: defaults, then environment variables, then flags. Every
//! setting has a default and a `--help` line. Tests build settings in code
//! with [`Settings::default`] and never touch the process environment.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, Subcommand};
use syncgov_kit::security::SecuritySettings;
pub use syncgov_kit::settings::RedisUrl;
use syncgov_kit::settings::{parse_cluster_node, parse_duration};
use syncgov_kit::telemetry::LogFormat;

const DEFAULT_LISTEN: &str = "127.0.0.1:50052";
const DEFAULT_REDIS_TIMEOUT: &str = "1s";
const DEFAULT_HEALTH_INTERVAL: &str = "1s";
const DEFAULT_SHUTDOWN_GRACE: &str = "10s";
const DEFAULT_RESYNC_BACKOFF: &str = "30s";
const DEFAULT_DIGEST_DAY: &str = "24h";
const DEFAULT_NOTIFICATION_RETRY: &str = "30s";
const DEFAULT_RESYNC_BACKOFF_CAP: &str = "1h";
const DEFAULT_RESYNC_MAX_ATTEMPTS: u32 = 5;

/// The `sync-errors` command line.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "sync-errors",
    version,
    about = "Ingests, classifies, counts, lists, exports and resyncs Salesforce sync failures.",
    long_about = "Ingests, classifies, counts, lists, exports and resyncs Salesforce sync failures.\n\n\
        Without a subcommand it serves gRPC. Without --redis-url it keeps errors in memory \
        (one replica, nothing kept across restarts); with it, any number of replicas share them \
        in Redis (or, with --redis-cluster-nodes instead, in a Redis Cluster).\n\n\
        Every flag can also be set with the environment variable shown."
)]
pub struct Cli {
    /// What to do; serving when absent.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings of the server.
    #[command(flatten)]
    pub settings: Settings,
}

/// Subcommands.
#[derive(Clone, Debug, Subcommand)]
pub enum Command {
    /// Classifies failures read as JSON Lines on stdin, one line out per line
    /// in: {"id"?, "status_code", "message", "fields"} in,
    /// {"id", "level": "record", "category", "type"} or
    /// {"id", "level": "suspension", "reason"} out.
    Classify,
}

/// Settings of the sync-error server.
#[derive(Clone, Debug, clap::Args)]
pub struct Settings {
    /// Address the gRPC server listens on.
    #[arg(long, env = "SYNC_ERRORS_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,

    /// Redis URL (`redis://[:password@]host:port/db`, `rediss://` for TLS, or
    /// `redis+unix:///path/to/socket`). Without it errors live in this
    /// process's memory.
    #[arg(long, env = "SYNC_ERRORS_REDIS_URL")]
    pub redis_url: Option<RedisUrl>,

    /// Nodes of a Redis Cluster to keep errors in, instead of --redis-url:
    /// comma-separated `host:port` or `redis://[:password@]host:port`. A few
    /// are enough; the client finds the others, and follows failovers.
    #[arg(
        long,
        env = "SYNC_ERRORS_REDIS_CLUSTER_NODES",
        value_delimiter = ',',
        value_parser = parse_cluster_node,
        conflicts_with = "redis_url"
    )]
    pub redis_cluster_nodes: Vec<RedisUrl>,

    /// The quota governor's address (http://host:port): suspension-level
    /// failures are told to it. Unset: they are only kept here.
    #[arg(long, env = "SYNC_ERRORS_GOVERNOR_ADDR")]
    pub governor_addr: Option<String>,

    /// Length of a digest day: daily digests go out once per such period,
    /// weekly ones once per seven. Shorter than a day only for trials.
    #[arg(long, env = "SYNC_ERRORS_DIGEST_DAY", default_value = DEFAULT_DIGEST_DAY, value_parser = parse_duration)]
    pub digest_day: Duration,

    /// How long a failed webhook delivery waits before it is tried again.
    #[arg(long, env = "SYNC_ERRORS_NOTIFICATION_RETRY", default_value = DEFAULT_NOTIFICATION_RETRY, value_parser = parse_duration)]
    pub notification_retry: Duration,

    /// Longest wait for Redis to connect or answer before a call fails with
    /// UNAVAILABLE.
    #[arg(long, env = "SYNC_ERRORS_REDIS_TIMEOUT", default_value = DEFAULT_REDIS_TIMEOUT, value_parser = parse_duration)]
    pub redis_timeout: Duration,

    /// How often the store is checked for the gRPC health service.
    #[arg(long, env = "SYNC_ERRORS_HEALTH_INTERVAL", default_value = DEFAULT_HEALTH_INTERVAL, value_parser = parse_duration)]
    pub health_interval: Duration,

    /// How long in-flight calls may take to finish after SIGTERM.
    #[arg(long, env = "SYNC_ERRORS_SHUTDOWN_GRACE", default_value = DEFAULT_SHUTDOWN_GRACE, value_parser = parse_duration)]
    pub shutdown_grace: Duration,

    /// Resync attempts per job, the first included; then the error is dead
    /// until an operator resyncs it again.
    #[arg(long, env = "SYNC_ERRORS_RESYNC_MAX_ATTEMPTS", default_value_t = DEFAULT_RESYNC_MAX_ATTEMPTS,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub resync_max_attempts: u32,

    /// Wait after a resync's first failed attempt; doubles after each (with
    /// jitter).
    #[arg(long, env = "SYNC_ERRORS_RESYNC_BACKOFF", default_value = DEFAULT_RESYNC_BACKOFF, value_parser = parse_duration)]
    pub resync_backoff: Duration,

    /// Longest wait between resync attempts.
    #[arg(long, env = "SYNC_ERRORS_RESYNC_BACKOFF_CAP", default_value = DEFAULT_RESYNC_BACKOFF_CAP, value_parser = parse_duration)]
    pub resync_backoff_cap: Duration,

    /// Threads serving calls; 0 means one per CPU.
    #[arg(long, env = "SYNC_ERRORS_WORKER_THREADS", default_value_t = 0)]
    pub worker_threads: usize,

    /// Calls one connection may have in flight; more wait their turn, so
    /// one busy caller cannot take every worker from the others.
    #[arg(
        long,
        env = "SYNC_ERRORS_MAX_CONCURRENT_CALLS_PER_CONNECTION",
        default_value_t = 256
    )]
    pub max_concurrent_calls_per_connection: usize,

    /// Calls one caller (a token's subject, else an IP address) may have in
    /// flight across all its connections; more are refused with
    /// RESOURCE_EXHAUSTED. 0 turns the bound off.
    #[arg(
        long,
        env = "SYNC_ERRORS_MAX_CONCURRENT_CALLS_PER_CALLER",
        default_value_t = 1024
    )]
    pub max_concurrent_calls_per_caller: usize,

    /// Longest a call may take before it answers (CANCELLED "Timeout
    /// expired" afterwards, safe to retry); a caller's shorter grpc-timeout
    /// wins. Streams' messages are not bounded by it.
    #[arg(long, env = "SYNC_ERRORS_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// Address of the admin port serving Prometheus metrics at `/metrics`
    /// (for example 0.0.0.0:9464). Unset: no admin port.
    #[arg(long, env = "SYNC_ERRORS_ADMIN_LISTEN")]
    pub admin_listen: Option<std::net::SocketAddr>,

    /// Orgs whose metrics carry their own `org_id` label (comma-separated);
    /// all others share `other`, so that metrics stay bounded however many
    /// orgs there are.
    #[arg(long, env = "SYNC_ERRORS_METRICS_ORGS", value_delimiter = ',')]
    pub metrics_orgs: Vec<String>,

    /// Log format: text for terminals, json for log collectors. Levels
    /// come from RUST_LOG (default info).
    #[arg(long, env = "SYNC_ERRORS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// TLS and authentication of the listener.
    #[command(flatten)]
    pub security: SecuritySettings,

    /// The bearer token sync-errors presents to the governor (a file, re-read
    /// as it is rotated); needed when the governor checks tokens.
    #[arg(long, env = "SYNC_ERRORS_GOVERNOR_TOKEN_FILE")]
    pub governor_token_file: Option<std::path::PathBuf>,

    /// The CA the governor's certificate chains to (PEM): TLS to the
    /// governor.
    #[arg(long, env = "SYNC_ERRORS_GOVERNOR_TLS_CA")]
    pub governor_tls_ca: Option<std::path::PathBuf>,

    /// sync-errors' client certificate (PEM), for a governor that requires
    /// mutual TLS.
    #[arg(
        long,
        env = "SYNC_ERRORS_GOVERNOR_TLS_CERT",
        requires = "governor_tls_key"
    )]
    pub governor_tls_cert: Option<std::path::PathBuf>,

    /// The key of --governor-tls-cert (PEM).
    #[arg(
        long,
        env = "SYNC_ERRORS_GOVERNOR_TLS_KEY",
        requires = "governor_tls_cert"
    )]
    pub governor_tls_key: Option<std::path::PathBuf>,
}

impl Settings {
    /// The resync retry policy these settings ask for.
    pub fn retry_policy(&self) -> crate::resync::RetryPolicy {
        crate::resync::RetryPolicy {
            max_attempts: self.resync_max_attempts,
            base: self.resync_backoff,
            cap: self.resync_backoff_cap.max(self.resync_backoff),
        }
    }
}

impl Default for Settings {
    /// The defaults `--help` shows, whatever the environment says.
    fn default() -> Self {
        let duration = |text| parse_duration(text).expect("default durations parse");
        Self {
            listen: DEFAULT_LISTEN.parse().expect("the default address parses"),
            redis_url: None,
            redis_cluster_nodes: Vec::new(),
            governor_addr: None,
            digest_day: duration(DEFAULT_DIGEST_DAY),
            notification_retry: duration(DEFAULT_NOTIFICATION_RETRY),
            redis_timeout: duration(DEFAULT_REDIS_TIMEOUT),
            health_interval: duration(DEFAULT_HEALTH_INTERVAL),
            shutdown_grace: duration(DEFAULT_SHUTDOWN_GRACE),
            resync_max_attempts: DEFAULT_RESYNC_MAX_ATTEMPTS,
            resync_backoff: duration(DEFAULT_RESYNC_BACKOFF),
            resync_backoff_cap: duration(DEFAULT_RESYNC_BACKOFF_CAP),
            worker_threads: 0,
            max_concurrent_calls_per_connection: 256,
            max_concurrent_calls_per_caller: 1024,
            request_timeout: Duration::from_secs(30),
            admin_listen: None,
            metrics_orgs: Vec::new(),
            log_format: LogFormat::Text,
            security: SecuritySettings::default(),
            governor_token_file: None,
            governor_tls_ca: None,
            governor_tls_cert: None,
            governor_tls_key: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_subcommands() {
        let cli = Cli::try_parse_from(["sync-errors", "--listen", "127.0.0.1:0"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.settings.listen.port(), 0);
        let cli = Cli::try_parse_from(["sync-errors", "classify"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Classify)));
        assert_eq!(Settings::default().listen.to_string(), DEFAULT_LISTEN);
    }

    #[test]
    fn bad_values_name_the_flag() {
        let err = Cli::try_parse_from(["sync-errors", "--redis-url", "localhost"]).unwrap_err();
        assert!(err.to_string().contains("--redis-url"));
    }

    #[test]
    fn cluster_nodes_are_a_list_and_exclude_one_redis() {
        let cli = Cli::try_parse_from([
            "sync-errors",
            "--redis-cluster-nodes",
            "10.0.0.1:6379,redis://:secret@10.0.0.2:6379",
        ])
        .unwrap();
        let nodes: Vec<String> = cli
            .settings
            .redis_cluster_nodes
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(
            nodes,
            ["redis://10.0.0.1:6379", "redis://***@10.0.0.2:6379"]
        );
        let err = Cli::try_parse_from(["sync-errors", "--redis-cluster-nodes", "unix:///r.sock"])
            .unwrap_err();
        assert!(err.to_string().contains("--redis-cluster-nodes"));
        assert!(
            Cli::try_parse_from([
                "sync-errors",
                "--redis-url",
                "redis://a:6379",
                "--redis-cluster-nodes",
                "b:6379",
            ])
            .is_err()
        );
    }
}
