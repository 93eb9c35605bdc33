//! Typed settings: defaults, then environment variables, then flags. Every
//! setting has a default and a `--help` line. Tests build settings in code
//! with [`Settings::default`] and never touch the process environment.

use std::ffi::OsString;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
pub use syncgov_kit::server::ServerSettings;
pub use syncgov_kit::settings::RedisUrl;
use syncgov_kit::settings::{parse_duration, with_env_prefix};

const DEFAULT_LISTEN: &str = "127.0.0.1:50052";
const DEFAULT_RESYNC_BACKOFF: &str = "30s";
const DEFAULT_DIGEST_DAY: &str = "24h";
const DEFAULT_RULES_RELOAD: &str = "5s";
const DEFAULT_NOTIFICATION_RETRY: &str = "30s";
const DEFAULT_RESYNC_BACKOFF_CAP: &str = "1h";
const DEFAULT_RESYNC_MAX_ATTEMPTS: u32 = 5;
const DEFAULT_WEBHOOK_CONNECT_TIMEOUT: &str = "2s";
const DEFAULT_WEBHOOK_TIMEOUT: &str = "10s";
const DEFAULT_SMTP_TIMEOUT: &str = "10s";
const DEFAULT_NOTIFICATION_CONCURRENCY: u32 = 32;
const DEFAULT_RESYNC_MAX_QUEUED_PER_ORG: u32 = crate::resync::DEFAULT_MAX_QUEUED_PER_ORG;

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

/// The prefix of every environment variable of the service's settings.
const ENV_PREFIX: &str = "SYNC_ERRORS_";

impl Cli {
    /// The command line: every flag with its environment variable and
    /// default, the shared server settings included.
    pub fn command() -> clap::Command {
        with_env_prefix(<Self as CommandFactory>::command(), ENV_PREFIX).mut_arg("listen", |arg| {
            arg.default_value(DEFAULT_LISTEN).required(false)
        })
    }

    /// Reads the command line `args` (the program's name first) and the
    /// environment; a bad value is an error naming its flag.
    pub fn try_from_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = Self::command().try_get_matches_from(args)?;
        let cli = Self::from_arg_matches(&matches)?;
        cli.settings
            .server
            .check()
            .map_err(|why| Self::command().error(clap::error::ErrorKind::ArgumentConflict, why))?;
        Ok(cli)
    }

    /// Reads the process's arguments and environment, or prints why not
    /// (or the help asked for) and exits.
    pub fn from_env() -> Self {
        Self::try_from_args(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }
}

/// Subcommands.
#[derive(Clone, Debug, Subcommand)]
pub enum Command {
    /// Classifies failures read as JSON Lines on stdin, one line out per line
    /// in: {"id"?, "status_code", "message", "fields", "object_type",
    /// "stated"} in (every key optional; null means absent),
    /// {"id", "level": "record", "category", "type"} or
    /// {"id", "level": "suspension", "reason"} out.
    Classify(ClassifyArgs),
}

/// `sync-errors classify`'s flags.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ClassifyArgs {
    /// Add why to each line: "basis" (WORKER_STATED, OPERATOR_RULE,
    /// STATUS_CODE, PHRASE, WRAPPER or FALLBACK), "confidence" (0 to 1) and
    /// "matched" (the code, phrase or rule).
    #[arg(long)]
    pub explain: bool,
    /// An operator rules file (YAML) to apply before the built-in rules, as
    /// the service would with --rules.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<std::path::PathBuf>,
    /// The org whose operator rules apply (without: only the rules that
    /// name no org).
    #[arg(long)]
    pub org: Option<String>,
}

/// Settings of the sync-error server.
#[derive(Clone, Debug, clap::Args)]
pub struct Settings {
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

    /// Orgs whose notifications this replica delivers at once; each org's
    /// go out one at a time, in order, so a webhook that never answers
    /// holds up its own org only.
    #[arg(long, env = "SYNC_ERRORS_NOTIFICATION_CONCURRENCY", default_value_t = DEFAULT_NOTIFICATION_CONCURRENCY,
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub notification_concurrency: u32,

    /// Destinations webhooks may reach although they are inside (loopback,
    /// private, link-local, ...), for in-cluster relays, comma-separated:
    /// CIDRs or addresses (10.20.0.0/16, fd00::/8, 10.20.1.7) allow any
    /// port of an address in them; host:port (relay.syncgov.svc:8080)
    /// allows that host and port as a URL names them, wherever it
    /// resolves. Plain http:// goes only to these. Unset: webhooks reach
    /// public addresses over https:// only.
    #[arg(long, env = "SYNC_ERRORS_WEBHOOK_ALLOW", value_delimiter = ',')]
    pub webhook_allow: Vec<crate::destination::Allowed>,

    /// A CA certificate file (PEM) trusted for https:// webhooks besides
    /// the system's roots (an internal CA, a relay's).
    #[arg(long, env = "SYNC_ERRORS_WEBHOOK_CA_FILE")]
    pub webhook_ca_file: Option<std::path::PathBuf>,

    /// Longest wait to resolve a webhook's host or open a connection to it.
    #[arg(long, env = "SYNC_ERRORS_WEBHOOK_CONNECT_TIMEOUT", default_value = DEFAULT_WEBHOOK_CONNECT_TIMEOUT, value_parser = parse_duration)]
    pub webhook_connect_timeout: Duration,

    /// Longest a webhook delivery may take, from resolving the host to the
    /// answer's status line; then it failed and is retried.
    #[arg(long, env = "SYNC_ERRORS_WEBHOOK_TIMEOUT", default_value = DEFAULT_WEBHOOK_TIMEOUT, value_parser = parse_duration)]
    pub webhook_timeout: Duration,

    /// The SMTP server notification e-mails go through:
    /// smtp://host[:port] (plain, port 25), smtp://host[:port]?tls=required
    /// (STARTTLS, port 587), smtps://host[:port] (implicit TLS, port 465).
    /// No credentials in it. Unset: no e-mail, and naming e-mail recipients
    /// is refused.
    #[arg(long, env = "SYNC_ERRORS_SMTP_URL", requires = "smtp_from")]
    pub smtp_url: Option<String>,

    /// The user to authenticate to the SMTP server as (with
    /// --smtp-password-file). Unset: no authentication.
    #[arg(
        long,
        env = "SYNC_ERRORS_SMTP_USERNAME",
        requires = "smtp_password_file"
    )]
    pub smtp_username: Option<String>,

    /// A file holding the SMTP password (read at start; a trailing newline
    /// is not part of it). Never on the command line, never logged.
    #[arg(
        long,
        env = "SYNC_ERRORS_SMTP_PASSWORD_FILE",
        requires = "smtp_username"
    )]
    pub smtp_password_file: Option<std::path::PathBuf>,

    /// The sender of notification e-mails (address, or Name <address>);
    /// required with --smtp-url.
    #[arg(long, env = "SYNC_ERRORS_SMTP_FROM")]
    pub smtp_from: Option<String>,

    /// A CA certificate file (PEM) trusted for the SMTP server's TLS
    /// besides the system's roots (an internal relay's); needs an
    /// --smtp-url with TLS.
    #[arg(long, env = "SYNC_ERRORS_SMTP_CA_FILE", requires = "smtp_url")]
    pub smtp_ca_file: Option<std::path::PathBuf>,

    /// Longest an SMTP command may wait for the server; then the e-mail
    /// failed and is retried.
    #[arg(long, env = "SYNC_ERRORS_SMTP_TIMEOUT", default_value = DEFAULT_SMTP_TIMEOUT, value_parser = parse_duration)]
    pub smtp_timeout: Duration,

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

    /// Most resync jobs one org may have queued at once (waiting, backing
    /// off or claimed); a resync beyond it leaves the rest of its errors
    /// unqueued, each reported skipped as "queue full".
    #[arg(long, env = "SYNC_ERRORS_RESYNC_MAX_QUEUED_PER_ORG", default_value_t = DEFAULT_RESYNC_MAX_QUEUED_PER_ORG,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub resync_max_queued_per_org: u32,

    /// The settings every syncgov server has: listener, store, bounds,
    /// logs and security.
    #[command(flatten)]
    pub server: ServerSettings,

    /// Operator rules (YAML): an org's own texts mapped to a type or a
    /// suspension reason, ahead of the built-in classifier. Checked at
    /// start (a bad file stops the service with the line at fault) and
    /// re-read when it changes (a bad change is refused and logged; the
    /// rules in force stay).
    #[arg(long, env = "SYNC_ERRORS_RULES", value_name = "FILE")]
    pub rules: Option<std::path::PathBuf>,

    /// How often the rules file is checked for changes.
    #[arg(long, env = "SYNC_ERRORS_RULES_RELOAD", default_value = DEFAULT_RULES_RELOAD, value_parser = parse_duration)]
    pub rules_reload: Duration,

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
    /// Where webhooks may go, as these settings say.
    pub fn webhook_policy(&self) -> crate::destination::Policy {
        crate::destination::Policy {
            allow: self.webhook_allow.clone(),
        }
    }

    /// The SMTP server these settings name, if any; an error names the
    /// missing flag.
    pub fn mailer_settings(&self) -> anyhow::Result<Option<crate::smtp::MailerSettings>> {
        let Some(url) = &self.smtp_url else {
            return Ok(None);
        };
        let from = self
            .smtp_from
            .clone()
            .ok_or_else(|| anyhow::anyhow!("--smtp-from is required with --smtp-url"))?;
        Ok(Some(crate::smtp::MailerSettings {
            url: url.clone(),
            username: self.smtp_username.clone(),
            password_file: self.smtp_password_file.clone(),
            from,
            timeout: self.smtp_timeout,
            ca_file: self.smtp_ca_file.clone(),
        }))
    }

    /// The resync retry policy these settings ask for.
    pub fn retry_policy(&self) -> crate::resync::RetryPolicy {
        crate::resync::RetryPolicy {
            max_attempts: self.resync_max_attempts,
            base: self.resync_backoff,
            cap: self.resync_backoff_cap.max(self.resync_backoff),
        }
    }

    /// The resync queue's policy these settings ask for: retries, and the
    /// jobs one org may have queued.
    pub fn queue_policy(&self) -> crate::resync::QueuePolicy {
        crate::resync::QueuePolicy {
            retry: self.retry_policy(),
            max_queued_per_org: self.resync_max_queued_per_org,
        }
    }
}

impl Default for Settings {
    /// The defaults `--help` shows, whatever the environment says.
    fn default() -> Self {
        let duration = |text| parse_duration(text).expect("default durations parse");
        Self {
            governor_addr: None,
            digest_day: duration(DEFAULT_DIGEST_DAY),
            notification_retry: duration(DEFAULT_NOTIFICATION_RETRY),
            notification_concurrency: DEFAULT_NOTIFICATION_CONCURRENCY,
            webhook_allow: Vec::new(),
            webhook_ca_file: None,
            webhook_connect_timeout: duration(DEFAULT_WEBHOOK_CONNECT_TIMEOUT),
            webhook_timeout: duration(DEFAULT_WEBHOOK_TIMEOUT),
            smtp_url: None,
            smtp_username: None,
            smtp_password_file: None,
            smtp_from: None,
            smtp_ca_file: None,
            smtp_timeout: duration(DEFAULT_SMTP_TIMEOUT),
            resync_max_attempts: DEFAULT_RESYNC_MAX_ATTEMPTS,
            resync_backoff: duration(DEFAULT_RESYNC_BACKOFF),
            resync_backoff_cap: duration(DEFAULT_RESYNC_BACKOFF_CAP),
            resync_max_queued_per_org: DEFAULT_RESYNC_MAX_QUEUED_PER_ORG,
            server: ServerSettings::listening_on(
                DEFAULT_LISTEN.parse().expect("the default address parses"),
            ),
            rules: None,
            rules_reload: duration(DEFAULT_RULES_RELOAD),
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
        let cli = Cli::try_from_args(["sync-errors", "--listen", "127.0.0.1:0"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.settings.server.listen.port(), 0);
        let cli = Cli::try_from_args(["sync-errors", "classify"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Classify(_))));
        let cli =
            Cli::try_from_args(["sync-errors", "classify", "--explain", "--org", "acme"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Classify(ClassifyArgs { explain: true, .. }))
        ));
        assert_eq!(
            Settings::default().server.listen.to_string(),
            DEFAULT_LISTEN
        );
    }

    #[test]
    fn a_wait_for_replicas_must_fit_in_the_stores_timeout() {
        let err = Cli::try_from_args([
            "sync-errors",
            "--redis-wait-replicas",
            "1",
            "--redis-wait-timeout",
            "2s",
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("--redis-wait-timeout (2s) must be shorter than --redis-timeout (1s)"),
            "{err}"
        );
    }

    #[test]
    fn defaults_are_what_help_shows() {
        // No flags: every value is the documented default (no SYNC_ERRORS_
        // variable is set where the tests run).
        let cli = Cli::try_from_args(["sync-errors"]).unwrap();
        assert_eq!(
            format!("{:?}", cli.settings),
            format!("{:?}", Settings::default())
        );
        let env = Cli::command()
            .get_arguments()
            .find(|a| a.get_id() == "redis_url")
            .and_then(|a| a.get_env())
            .map(|e| e.to_string_lossy().into_owned());
        assert_eq!(env.as_deref(), Some("SYNC_ERRORS_REDIS_URL"));
    }

    #[test]
    fn the_webhook_allow_list_is_a_list_of_cidrs_and_host_ports() {
        let cli = Cli::try_from_args([
            "sync-errors",
            "--webhook-allow",
            "10.20.0.0/16,relay.syncgov.svc:8080",
        ])
        .unwrap();
        let allow: Vec<String> = cli
            .settings
            .webhook_allow
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(allow, ["10.20.0.0/16", "relay.syncgov.svc:8080"]);
        let err = Cli::try_from_args(["sync-errors", "--webhook-allow", "relay.svc"]).unwrap_err();
        assert!(err.to_string().contains("--webhook-allow"), "{err}");
    }

    #[test]
    fn bad_values_name_the_flag() {
        let err = Cli::try_from_args(["sync-errors", "--redis-url", "localhost"]).unwrap_err();
        assert!(err.to_string().contains("--redis-url"));
    }

    #[test]
    fn cluster_nodes_are_a_list_and_exclude_one_redis() {
        let cli = Cli::try_from_args([
            "sync-errors",
            "--redis-cluster-nodes",
            "10.0.0.1:6379,redis://:secret@10.0.0.2:6379",
        ])
        .unwrap();
        let nodes: Vec<String> = cli
            .settings
            .server
            .redis_cluster_nodes
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(
            nodes,
            ["redis://10.0.0.1:6379", "redis://***@10.0.0.2:6379"]
        );
        let err = Cli::try_from_args(["sync-errors", "--redis-cluster-nodes", "unix:///r.sock"])
            .unwrap_err();
        assert!(err.to_string().contains("--redis-cluster-nodes"));
        assert!(
            Cli::try_from_args([
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
