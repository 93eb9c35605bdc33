//! Typed settings: defaults, then environment variables, then flags. Every
//! setting has a default and a `--help` line; a bad value stops the governor
//! with a message before anything binds. Tests build settings in code with
//! [`Settings::default`] and never touch the process environment.

use std::ffi::OsString;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser};
pub use syncgov_kit::server::ServerSettings;
pub use syncgov_kit::settings::RedisUrl;
use syncgov_kit::settings::{parse_duration, with_env_prefix};

use crate::domain::ProbePolicy;
use crate::domain::{Budget, Rules};
use crate::window::{ShapeError, WindowShape};

const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
const DEFAULT_WINDOW: &str = "24h";
const DEFAULT_BUCKET: &str = "60s";
const DEFAULT_PROBE_BACKOFF: &str = "1m";
const DEFAULT_PROBE_BACKOFF_CAP: &str = "1h";
const DEFAULT_USAGE_ALERT_INTERVAL: &str = "5s";

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

    /// Budgets (an org and a resource) the embedded store holds at most
    /// when there is no Redis; a new org beyond it is refused with
    /// RESOURCE_EXHAUSTED. An org is forgotten once its window has emptied
    /// and it has no budget of its own. About 6 KB each with the default
    /// window.
    #[arg(long, env = "QUOTA_GOVERNOR_MEMORY_MAX_ORGS", default_value_t = crate::store::memory::DEFAULT_MAX_ORGS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000_000))]
    pub memory_max_orgs: usize,

    /// A budgets file (YAML, docs/BUDGETS.md) to apply at start and again
    /// whenever it changes (checked every --reload-interval): every budget
    /// it names is set as SetBudget sets it. A bad file stops the start,
    /// naming its line; a bad change is logged and ignored.
    #[arg(long, env = "QUOTA_GOVERNOR_BUDGETS_FILE", value_name = "PATH")]
    pub budgets_file: Option<PathBuf>,

    /// On a change of --budgets-file, also delete the budgets the previous
    /// version named and the new one does not. Off: a budget taken out of
    /// the file stays as it was.
    #[arg(long, env = "QUOTA_GOVERNOR_BUDGETS_FILE_PRUNE", default_value_t = false, action = clap::ArgAction::Set)]
    pub budgets_file_prune: bool,

    /// How often usage is checked against the budgets' usage alert
    /// thresholds (reading only the orgs near one); a crossing is told
    /// within this long. 0s checks nothing: no usage alert is told.
    #[arg(long, env = "QUOTA_GOVERNOR_USAGE_ALERT_INTERVAL", default_value = DEFAULT_USAGE_ALERT_INTERVAL, value_parser = parse_duration)]
    pub usage_alert_interval: Duration,

    /// The settings every syncgov server has: listener, store, bounds,
    /// logs and security.
    #[command(flatten)]
    pub server: ServerSettings,
}

impl Default for Settings {
    /// The defaults `--help` shows, whatever the environment says.
    fn default() -> Self {
        let duration = |text| parse_duration(text).expect("default durations parse");
        Self {
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
            memory_max_orgs: crate::store::memory::DEFAULT_MAX_ORGS,
            budgets_file: None,
            budgets_file_prune: false,
            usage_alert_interval: duration(DEFAULT_USAGE_ALERT_INTERVAL),
            server: ServerSettings::listening_on(
                DEFAULT_LISTEN.parse().expect("the default address parses"),
            ),
        }
    }
}

/// The prefix of every environment variable of the governor's settings.
const ENV_PREFIX: &str = "QUOTA_GOVERNOR_";

impl Settings {
    /// The command line: every flag with its environment variable and
    /// default, the shared server settings included.
    pub fn cli() -> clap::Command {
        with_env_prefix(<Self as CommandFactory>::command(), ENV_PREFIX).mut_arg("listen", |arg| {
            arg.default_value(DEFAULT_LISTEN).required(false)
        })
    }

    /// Reads the settings from `args` (the program's name first) and the
    /// environment; a bad value is an error naming its flag.
    pub fn try_from_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = Self::cli().try_get_matches_from(args)?;
        let settings = Self::from_arg_matches(&matches)?;
        settings
            .server
            .check()
            .map_err(|why| Self::cli().error(clap::error::ErrorKind::ArgumentConflict, why))?;
        Ok(settings)
    }

    /// Reads the settings from the process's arguments and environment, or
    /// prints why not (or the help asked for) and exits.
    pub fn from_env() -> Self {
        Self::try_from_args(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

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
        assert_eq!(s.server.listen.to_string(), "127.0.0.1:50051");
        assert_eq!(s.window, Duration::from_secs(86_400));
        assert_eq!(s.bucket, Duration::from_secs(60));
        assert!(s.server.redis_url.is_none());
        assert!(s.default_budget.is_none());
        assert_eq!(s.window_shape().unwrap().buckets(), 1440);
    }

    #[test]
    fn defaults_are_what_help_shows() {
        // No flags: every value is the documented default (no QUOTA_GOVERNOR_
        // variable is set where the tests run).
        let parsed = Settings::try_from_args(["quota-governor"]).unwrap();
        assert_eq!(format!("{parsed:?}"), format!("{:?}", Settings::default()));
    }

    #[test]
    fn shared_settings_read_the_governors_variables() {
        let cli = Settings::cli();
        let env = |id: &str| {
            cli.get_arguments()
                .find(|a| a.get_id() == id)
                .and_then(|a| a.get_env())
                .map(|e| e.to_string_lossy().into_owned())
        };
        assert_eq!(
            env("redis_url").as_deref(),
            Some("QUOTA_GOVERNOR_REDIS_URL")
        );
        assert_eq!(env("listen").as_deref(), Some("QUOTA_GOVERNOR_LISTEN"));
        assert_eq!(env("window").as_deref(), Some("QUOTA_GOVERNOR_WINDOW"));
        assert_eq!(env("tls_cert").as_deref(), Some("SYNCGOV_TLS_CERT"));
    }

    #[test]
    fn flags_override_defaults() {
        let s = Settings::try_from_args([
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
            s.server.redis_url.unwrap().to_string(),
            "redis://***@localhost:6379"
        );
    }

    #[test]
    fn a_wait_for_replicas_must_fit_in_the_stores_timeout() {
        let args = |wait: &'static str| {
            Settings::try_from_args([
                "quota-governor",
                "--redis-wait-replicas",
                "1",
                "--redis-timeout",
                "1s",
                "--redis-wait-timeout",
                wait,
            ])
        };
        let err = args("1s").unwrap_err().to_string();
        assert!(
            err.contains("--redis-wait-timeout (1s) must be shorter than --redis-timeout (1s)"),
            "{err}"
        );
        assert_eq!(
            args("500ms").unwrap().server.redis_wait_timeout,
            Duration::from_millis(500)
        );
        // No replicas asked for: the wait is never made.
        let s = Settings::try_from_args(["quota-governor", "--redis-wait-timeout", "5s"]).unwrap();
        assert_eq!(s.server.redis_wait_replicas, 0);
    }

    #[test]
    fn bad_values_name_the_flag() {
        let err =
            Settings::try_from_args(["quota-governor", "--default-budget", "30/20"]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("--default-budget") && text.contains("budget.allocation"),
            "{text}"
        );
        let err = Settings::try_from_args(["quota-governor", "--window", "1 day-ish"]).unwrap_err();
        assert!(err.to_string().contains("--window"));
        let err = Settings::try_from_args(["quota-governor", "--redis-url", "localhost:6379"])
            .unwrap_err();
        assert!(err.to_string().contains("--redis-url"));
    }

    #[test]
    fn cluster_nodes_are_a_list_and_exclude_one_redis() {
        let s = Settings::try_from_args([
            "quota-governor",
            "--redis-cluster-nodes",
            "10.0.0.1:6379, redis://:secret@10.0.0.2:6379",
        ])
        .unwrap();
        let nodes: Vec<String> = s
            .server
            .redis_cluster_nodes
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(
            nodes,
            ["redis://10.0.0.1:6379", "redis://***@10.0.0.2:6379"]
        );
        assert_eq!(
            s.server.redis_cluster_nodes[1].expose(),
            "redis://:secret@10.0.0.2:6379"
        );
        let err = Settings::try_from_args([
            "quota-governor",
            "--redis-cluster-nodes",
            "redis+unix:///tmp/r.sock",
        ])
        .unwrap_err();
        assert!(err.to_string().contains("--redis-cluster-nodes"));
        assert!(
            Settings::try_from_args([
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
