//! The command line: every subcommand, flag and environment variable, as
//! clap parses them. Nothing here talks to a service; `commands` does.

use std::time::{Duration, SystemTime};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::EXIT_CODES;
use crate::names;
use crate::output::Output;

/// The governor's address when none is given: its own default listen address.
pub const DEFAULT_GOVERNOR: &str = "http://127.0.0.1:50051";
/// The sync-error service's address when none is given: its own default.
pub const DEFAULT_SYNC_ERRORS: &str = "http://127.0.0.1:50052";

/// `syncctl`: budgets, usage, suspensions, sync errors and notifications of
/// the syncgov services, over gRPC.
#[derive(Debug, Parser)]
#[command(
    name = "syncctl",
    version,
    about = "The operator's command line for the syncgov services",
    long_about = "The operator's command line for the syncgov services: budgets, usage, \
                  suspensions (quota-governor), sync errors and notifications (sync-errors), \
                  over gRPC. Tables by default; --output json or yaml prints the replies as documents.",
    after_long_help = EXIT_CODES
)]
pub struct Cli {
    /// The quota governor's gRPC address.
    #[arg(long, env = "SYNCCTL_GOVERNOR", default_value = DEFAULT_GOVERNOR, global = true, value_name = "URL")]
    pub governor: String,

    /// The sync-error service's gRPC address.
    #[arg(long = "sync-errors", env = "SYNCCTL_SYNC_ERRORS", default_value = DEFAULT_SYNC_ERRORS, global = true, value_name = "URL")]
    pub sync_errors: String,

    /// How to print replies.
    #[arg(short = 'o', long, env = "SYNCCTL_OUTPUT", value_enum, default_value_t = Output::Table, global = true)]
    pub output: Output,

    /// Columns tables fit in, long cells wrapped (20 to 1000). Default: the
    /// terminal's width when stdout is one, else COLUMNS if set, else no
    /// wrapping.
    #[arg(long, value_name = "N", global = true,
          value_parser = clap::value_parser!(u16).range(20..=1000))]
    pub width: Option<u16>,

    /// How long a call may take before syncctl gives up (streams excepted).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration, global = true)]
    pub timeout: Duration,

    /// TLS and the bearer token for both services.
    #[command(flatten, next_help_heading = "Security")]
    pub security: syncgov_kit::security::ClientSettings,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Budgets of the quota governor: get, set, delete, list.
    #[command(subcommand, visible_alias = "budgets")]
    Budget(BudgetCommand),
    /// An org's usage (--org): used, allocation, org limit, remaining per
    /// priority, when calls free up, and the last 24 hours as a chart; or
    /// the orgs nearest their allocation or org limit (--top N).
    Usage(UsageArgs),
    /// Suspensions: list, clear, history, watch.
    #[command(subcommand)]
    Suspensions(SuspensionsCommand),
    /// Sync errors: health cards, lists, details, affected records, resync,
    /// CSV export.
    #[command(subcommand)]
    Errors(ErrorsCommand),
    /// An org's error notification settings: get, set.
    #[command(subcommand)]
    Notifications(NotificationsCommand),
    /// Classifies error texts: JSON Lines on stdin, JSON Lines on stdout, the
    /// format of `sync-errors classify`, answered by the Classify RPC.
    #[command(
        long_about = "Classifies error texts with the sync-error service's Classify RPC. Reads \
                      JSON Lines on stdin ({\"id\": ..., \"status_code\": ..., \"message\": ..., \
                      \"fields\": [...], \"object_type\": ...}, every key optional) and writes one \
                      line per input, in order, as `sync-errors classify` does: \
                      {\"id\":...,\"level\":\"record\",\"category\":...,\"type\":...} or \
                      {\"id\":...,\"level\":\"suspension\",\"reason\":...}. Blank lines are \
                      skipped; a malformed line stops it with exit code 4 after the lines before \
                      it were written. A \"stated\" key gives the type or reason the worker \
                      detected (EMAIL_ALREADY_IN_USE, MISSING_FIELD_MAPPINGS, ...), which wins \
                      over the text. --explain adds why: \"basis\", \"confidence\" and \
                      \"matched\". --output does not apply."
    )]
    Classify(ClassifyArgs),
    /// Who changed what: the audit trail of both services (budgets,
    /// suspensions, resyncs, notification settings), merged newest first.
    Audit(AuditArgs),
    /// Prints a shell completion script.
    Completions(CompletionsArgs),
}

/// `audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only this org's changes.
    #[arg(long)]
    pub org: Option<String>,
    /// Only this actor's changes (a token's name or a JWT's subject).
    #[arg(long)]
    pub actor: Option<String>,
    /// Only changes made by this method, e.g. SetBudget.
    #[arg(long)]
    pub action: Option<String>,
    /// Only changes of this long ago or later.
    #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
    pub since: Duration,
    /// Most changes printed, the newest (1 to 1000).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
    /// Which service's trail to read.
    #[arg(long, value_enum, default_value_t = AuditService::Both)]
    pub service: AuditService,
}

/// Whose audit trail `audit` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AuditService {
    /// The quota governor's (budgets, suspensions).
    Governor,
    /// The sync-error service's (resyncs, notification settings,
    /// reclassifications).
    Errors,
    /// Both, merged newest first.
    Both,
}

/// `classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Add why to each line: what decided ("basis": WORKER_STATED,
    /// OPERATOR_RULE, STATUS_CODE, PHRASE, WRAPPER or FALLBACK), how sure
    /// ("confidence", 0 to 1) and what matched ("matched").
    #[arg(long)]
    pub explain: bool,
    /// Apply this org's operator rules too (without: only the rules that
    /// name no org).
    #[arg(long)]
    pub org: Option<String>,
}

/// The Salesforce budget governed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Resource {
    /// Daily API requests.
    Api,
    /// Bulk API batches.
    Bulk,
}

impl Resource {
    /// The contract's value.
    pub fn number(self) -> i32 {
        use syncgov_api::quota::v1::Resource as R;
        match self {
            Self::Api => R::ApiRequests as i32,
            Self::Bulk => R::BulkBatches as i32,
        }
    }

    /// As the flag is written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Bulk => "bulk",
        }
    }
}

/// An org and one of its budgets.
#[derive(Debug, Args)]
pub struct BudgetKey {
    /// The org.
    #[arg(long, env = "SYNCCTL_ORG")]
    pub org: String,
    /// The budget.
    #[arg(long, value_enum, default_value_t = Resource::Api)]
    pub resource: Resource,
}

/// `budget ...`.
#[derive(Debug, Subcommand)]
pub enum BudgetCommand {
    /// Shows the budget of an org (exit 5 when it has none).
    Get(BudgetKey),
    /// Creates or replaces the budget of an org.
    Set(BudgetSetArgs),
    /// Deletes the budget of an org; calls already counted stay counted.
    Delete(BudgetKey),
    /// Every org's budgets the token may see, in org order, a page at a
    /// time.
    List {
        /// Only this budget (every budget when absent).
        #[arg(long, value_enum)]
        resource: Option<Resource>,
        /// The page.
        #[command(flatten)]
        page: FleetPageArgs,
    },
    /// Makes the governor's budgets what a budgets file says
    /// (docs/BUDGETS.md): prints what changes, field by field, then
    /// applies it. Applying the same file again changes nothing.
    #[command(
        long_about = "Makes the governor's budgets what a budgets file says (docs/BUDGETS.md). \
                      Reads the file (a bad one changes nothing and names the line and field), \
                      reads every budget it names (a budget of an org the token may not touch \
                      stops it before anything is written), prints what changes, field by \
                      field, and applies it with SetBudget (and DeleteBudget with --prune). \
                      Applying the same file again changes nothing and says so. An override \
                      that has already ended is skipped with a warning. When some budgets \
                      could not be written, it says which were applied and which failed, and \
                      exits non-zero."
    )]
    Apply(BudgetApplyArgs),
    /// Prints the budgets the token may see as a budgets file, the start
    /// of one that `budget apply` takes (--output does not apply).
    Export {
        /// Only this budget (every budget when absent).
        #[arg(long, value_enum)]
        resource: Option<Resource>,
    },
}

/// `budget apply`.
#[derive(Debug, Args)]
pub struct BudgetApplyArgs {
    /// The budgets file (YAML; docs/BUDGETS.md).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: std::path::PathBuf,
    /// Print what would change; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also delete the budgets the token may see that the file does not
    /// name, of the resources the file names at least one budget of.
    #[arg(long)]
    pub prune: bool,
}

/// A page of a fleet view.
#[derive(Debug, Args)]
pub struct FleetPageArgs {
    /// Items per page, 1 to 1000 (the service's default when absent).
    #[arg(long)]
    pub page_size: Option<u32>,
    /// The token a previous page printed.
    #[arg(long, value_name = "TOKEN")]
    pub page_token: Option<String>,
}

/// `budget set`.
#[derive(Debug, Args)]
pub struct BudgetSetArgs {
    /// The org and budget.
    #[command(flatten)]
    pub key: BudgetKey,
    /// Salesforce's limit for the whole org, calls per window.
    #[arg(long)]
    pub org_limit: u64,
    /// Calls per window this integration may use (0 stops it).
    #[arg(long)]
    pub allocation: u64,
    /// Percent of the allocation per priority, RETRY/NORMAL/CRITICAL (default 75/95/100).
    #[arg(long, value_name = "R/N/C", value_parser = parse_shares)]
    pub shares: Option<Shares>,
    /// A temporary allocation, for a migration; needs --override-until.
    #[arg(long, requires = "override_until")]
    pub override_allocation: Option<u64>,
    /// When the override ends: a time from now (`6h`, `2days`) or an RFC 3339
    /// time (`2030-01-31T18:00:00Z`).
    #[arg(long, value_parser = parse_until, requires = "override_allocation", value_name = "WHEN")]
    pub override_until: Option<Until>,
    /// Shadow mode: grant what the allocation or a priority's share would
    /// deny, and flag it, to try a new allocation before enforcing it (the
    /// org limit still binds). `budget set` replaces the whole budget, so
    /// leaving it out turns shadow mode off.
    #[arg(long, value_name = "true|false", default_value_t = false, action = clap::ArgAction::Set)]
    pub shadow: bool,
    /// Usage alert thresholds, percent of the allocation and of the org
    /// limit, ascending (for example 75,90,100); the governor's defaults
    /// (80,90,100) when absent.
    #[arg(long, value_name = "P,P,...", value_delimiter = ',')]
    pub alert_thresholds: Vec<u32>,
}

/// Priority shares as typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shares {
    /// Retry share, percent.
    pub retry: u32,
    /// Normal share, percent.
    pub normal: u32,
    /// Critical share, percent.
    pub critical: u32,
}

/// Parses `75/95/100`. The service checks the ranges and the order, and
/// names the field when they are wrong.
pub fn parse_shares(text: &str) -> Result<Shares, String> {
    let parts: Vec<&str> = text.split('/').collect();
    let [r, n, c] = parts.as_slice() else {
        return Err("expected RETRY/NORMAL/CRITICAL percentages, like 75/95/100".into());
    };
    let p = |s: &str| {
        s.trim()
            .trim_end_matches('%')
            .parse::<u32>()
            .map_err(|_| format!("{s:?} is not a whole percentage"))
    };
    Ok(Shares {
        retry: p(r)?,
        normal: p(n)?,
        critical: p(c)?,
    })
}

/// When something ends, as typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// This long after the command runs.
    In(Duration),
    /// At this time.
    At(SystemTime),
}

impl Until {
    /// The time meant, with `now` the time the command runs.
    pub fn resolve(self, now: SystemTime) -> SystemTime {
        match self {
            Self::In(d) => now + d,
            Self::At(t) => t,
        }
    }
}

/// Parses a duration from now or an RFC 3339 time.
pub fn parse_until(text: &str) -> Result<Until, String> {
    if let Ok(d) = humantime::parse_duration(text) {
        return Ok(Until::In(d));
    }
    humantime::parse_rfc3339_weak(text)
        .map(Until::At)
        .map_err(|_| {
            format!(
                "{text:?} is neither a duration (6h) nor an RFC 3339 time (2030-01-31T18:00:00Z)"
            )
        })
}

/// `usage`: one org's, or the fleet's top.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").args(["org", "top"])))]
pub struct UsageArgs {
    /// The org (SYNCCTL_ORG when neither --org nor --top is given).
    #[arg(long)]
    pub org: Option<String>,
    /// The budget.
    #[arg(long, value_enum, default_value_t = Resource::Api)]
    pub resource: Resource,
    /// The N orgs nearest their allocation or org limit (1 to 1000), the
    /// nearest first, instead of one org.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub top: Option<u32>,
    /// With --top: the token a previous page printed.
    #[arg(long, value_name = "TOKEN", requires = "top")]
    pub page_token: Option<String>,
    /// With --org: the N consumers (worker, object, operation) granted the
    /// most tokens in the window (0 to 32; 0 shows none).
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(0..=32))]
    pub consumers: u32,
}

/// `suspensions ...`.
#[derive(Debug, Subcommand)]
pub enum SuspensionsCommand {
    /// An org's active suspensions, with guidance; or every org's (--all),
    /// a page at a time.
    #[command(group(clap::ArgGroup::new("which").required(true).args(["org", "all"])))]
    List {
        /// The org.
        #[arg(long)]
        org: Option<String>,
        /// Every org the token may see, in org order.
        #[arg(long)]
        all: bool,
        /// Only this reason, e.g. SALESFORCE_AUTH_FAILED.
        #[arg(long, value_parser = names::parse_reason)]
        reason: Option<i32>,
        /// The page (with --all).
        #[command(flatten)]
        page: FleetPageArgs,
    },
    /// Ends an org's suspension for a reason (the reasons only an operator
    /// can end, or any other early).
    Clear {
        /// The org.
        #[arg(long, env = "SYNCCTL_ORG")]
        org: String,
        /// The reason, e.g. SALESFORCE_AUTH_FAILED or salesforce-auth-failed.
        #[arg(long, value_parser = names::parse_reason)]
        reason: i32,
    },
    /// An org's past and present suspensions, newest first: one row per
    /// suspension of a page of its events (reason, detail, when it began and
    /// ended, how it ended), and the token of the next, older page.
    History {
        /// The org.
        #[arg(long, env = "SYNCCTL_ORG")]
        org: String,
        /// Events per page, 1 to 100 (20 when absent). A page may hold
        /// fewer and still have a next one: each call reads at most 10 000
        /// events of the feed of every org.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
        page_size: Option<u32>,
        /// The token a previous page printed.
        #[arg(long, value_name = "TOKEN")]
        page_token: Option<String>,
    },
    /// Prints every suspension and clear as it happens, one line each, until
    /// interrupted (Ctrl-C). With --output json, one JSON object per line.
    Watch {
        /// Only this org's events (every org's when absent).
        #[arg(long)]
        org: Option<String>,
        /// Resume after this event's cursor (`0-0`: from the start of the
        /// kept feed); from now on when absent.
        #[arg(long, value_name = "CURSOR")]
        from_cursor: Option<String>,
    },
}

/// Which errors, for listing, resync and export. Unset flags match all.
#[derive(Debug, Args, Default, Clone)]
pub struct FilterArgs {
    /// Only this category, e.g. PROPERTY_VALUES.
    #[arg(long, value_parser = names::parse_category)]
    pub category: Option<i32>,
    /// Only this type, e.g. STRING_TOO_LONG.
    #[arg(long = "type", value_parser = names::parse_type, value_name = "TYPE")]
    pub error_type: Option<i32>,
    /// Only this Salesforce object, e.g. Contact.
    #[arg(long)]
    pub object: Option<String>,
    /// Only this state: OPEN, RESYNCING, DEAD or RESOLVED (default: every
    /// current error).
    #[arg(long, value_parser = names::parse_state)]
    pub state: Option<i32>,
}

impl FilterArgs {
    /// True when no flag was given.
    pub fn is_empty(&self) -> bool {
        self.category.is_none()
            && self.error_type.is_none()
            && self.object.is_none()
            && self.state.is_none()
    }

    /// The contract's filter of the flags.
    pub fn to_filter(&self) -> syncgov_api::syncerrors::v1::ErrorFilter {
        syncgov_api::syncerrors::v1::ErrorFilter {
            category: self.category.unwrap_or_default(),
            r#type: self.error_type.unwrap_or_default(),
            object_type: self.object.clone().unwrap_or_default(),
            state: self.state.unwrap_or_default(),
        }
    }
}

/// A page of a list.
#[derive(Debug, Args)]
pub struct PageArgs {
    /// Items per page, 1 to 500 (the service's default, 50, when absent).
    #[arg(long)]
    pub page_size: Option<u32>,
    /// The token a previous page printed.
    #[arg(long, value_name = "TOKEN")]
    pub page_token: Option<String>,
}

/// What `errors top` orders orgs by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TopBy {
    /// Current errors.
    Current,
    /// Current errors of type UNKNOWN.
    Unknown,
    /// Current errors whose resync ended dead.
    Dead,
}

impl TopBy {
    /// The contract's value.
    pub fn number(self) -> i32 {
        use syncgov_api::syncerrors::v1::TopOrgsOrder as O;
        match self {
            Self::Current => O::CurrentErrors as i32,
            Self::Unknown => O::UnknownErrors as i32,
            Self::Dead => O::DeadJobs as i32,
        }
    }

    /// As the flag is written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Unknown => "unknown",
            Self::Dead => "dead",
        }
    }
}

/// `errors ...`.
#[derive(Debug, Subcommand)]
pub enum ErrorsCommand {
    /// The sync health cards: current errors and impacted records per
    /// category and type, with guidance.
    Health {
        /// The org.
        #[arg(long, env = "SYNCCTL_ORG")]
        org: String,
    },
    /// The orgs with the most current errors, UNKNOWN errors or dead resync
    /// jobs, the most first, a page at a time.
    Top {
        /// What to order by.
        #[arg(long, value_enum, default_value_t = TopBy::Current)]
        by: TopBy,
        /// The page.
        #[command(flatten)]
        page: FleetPageArgs,
    },
    /// Lists errors, newest first, one page at a time.
    List {
        /// The org.
        #[arg(long, env = "SYNCCTL_ORG")]
        org: String,
        /// Which errors.
        #[command(flatten)]
        filter: FilterArgs,
        /// Which page.
        #[command(flatten)]
        page: PageArgs,
    },
    /// Shows one error.
    Show {
        /// The org.
        #[arg(long, env = "SYNCCTL_ORG")]
        org: String,
        /// The error's id.
        id: String,
    },
    /// The records with a current error of a type.
    Records {
        /// The org.
        #[arg(long, env = "SYNCCTL_ORG")]
        org: String,
        /// The type, e.g. STRING_TOO_LONG.
        #[arg(long = "type", value_parser = names::parse_type, value_name = "TYPE")]
        error_type: i32,
        /// Which page.
        #[command(flatten)]
        page: PageArgs,
    },
    /// Queues errors for resync: the ids given, or those a filter selects.
    /// One call takes at most 100: for more the service refuses and says
    /// what to do instead (exit 4), unless --all or --limit asks for
    /// batches.
    #[command(
        long_about = "Queues errors for resync: the ids given, or those a filter selects. One \
                      call takes at most 100 errors: for more the service refuses and says what \
                      to do instead (exit 4). --all selects every current error the filters \
                      match, page by page, and queues them in batches of 100, with a progress \
                      bar on stderr when it is a terminal; --limit N queues at most N of them \
                      the same way. Without --state these leave out errors already being \
                      resynced. When some errors were not queued (a batch refused or lost, \
                      the org's queue full, an error resolved meanwhile), it says how many and \
                      why, and exits non-zero: with the first failed batch's code, else 1."
    )]
    Resync {
        /// The org.
        #[arg(long, env = "SYNCCTL_ORG")]
        org: String,
        /// Error ids.
        ids: Vec<String>,
        /// Or: the errors these select.
        #[command(flatten)]
        filter: FilterArgs,
        /// Every current error the filters select (all of them without a
        /// filter), queued in batches of 100.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        /// At most N of the errors selected (1 to 100000), in batches of
        /// 100; with no filter, of every current error.
        #[arg(long, value_name = "N", conflicts_with = "ids",
              value_parser = clap::value_parser!(u32).range(1..=100_000))]
        limit: Option<u32>,
    },
    /// Classifies the org's current errors again with the service's operator
    /// rules and classifier as they are now, and moves those whose type
    /// changed (admin only). Never suspends the org: errors that now read
    /// as a suspension stay where they are, and are counted.
    Reclassify {
        /// The org.
        #[arg(long, env = "SYNCCTL_ORG")]
        org: String,
        /// Only say what would move.
        #[arg(long)]
        dry_run: bool,
    },
    /// Exports errors as CSV to a file. The file appears only once the whole
    /// export arrived: it is written as FILE.partial beside it and renamed.
    Export {
        /// The org.
        #[arg(long, env = "SYNCCTL_ORG")]
        org: String,
        /// Which errors.
        #[command(flatten)]
        filter: FilterArgs,
        /// The CSV file to write; `-` streams it to stdout.
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
    },
}

/// `notifications ...`.
#[derive(Debug, Subcommand)]
pub enum NotificationsCommand {
    /// Shows an org's notification settings (the secret is never shown).
    Get {
        /// The org.
        #[arg(long, env = "SYNCCTL_ORG")]
        org: String,
    },
    /// Changes an org's notification settings: only the settings given
    /// here change, the others stay as they are.
    Set(NotificationsSetArgs),
}

/// `notifications set`: each flag given changes that one setting.
#[derive(Debug, Args)]
pub struct NotificationsSetArgs {
    /// The org.
    #[arg(long, env = "SYNCCTL_ORG")]
    pub org: String,
    /// Whether notifications go out at all (every channel, every kind).
    #[arg(long, action = clap::ArgAction::Set, value_name = "true|false")]
    pub enabled: Option<bool>,
    /// How often sync error notices go out, on a channel without a
    /// frequency of its own: IMMEDIATELY, DAILY or WEEKLY.
    #[arg(long, value_parser = names::parse_frequency)]
    pub frequency: Option<i32>,
    /// How often sync error notices go to the webhook: IMMEDIATELY, DAILY,
    /// WEEKLY, or DEFAULT (follow --frequency).
    #[arg(long, value_parser = names::parse_channel_frequency)]
    pub webhook_frequency: Option<i32>,
    /// How often sync error notices are e-mailed: IMMEDIATELY, DAILY,
    /// WEEKLY, or DEFAULT (follow --frequency).
    #[arg(long, value_parser = names::parse_channel_frequency)]
    pub email_frequency: Option<i32>,
    /// The https:// URL the service POSTs notifications to; "" removes it.
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
    /// Signs every delivery (16 to 256 characters); kept when absent. Prefer
    /// the environment variable, which stays out of shell history.
    #[arg(long, env = "SYNCCTL_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    /// What the webhook is sent: json, or slack ({"text": ...} for Slack or
    /// Mattermost incoming webhooks).
    #[arg(long, value_parser = names::parse_webhook_format)]
    pub webhook_format: Option<i32>,
    /// Who gets notification e-mails, comma-separated (at most 20); ""
    /// removes them all. The service needs an SMTP server.
    #[arg(long, value_name = "ADDRESSES", value_delimiter = ',')]
    pub email_recipients: Option<Vec<String>>,
    /// Whether the webhook gets sync error notices.
    #[arg(long, action = clap::ArgAction::Set, value_name = "true|false")]
    pub webhook_errors: Option<bool>,
    /// Whether the webhook gets suspension and clear notices.
    #[arg(long, action = clap::ArgAction::Set, value_name = "true|false")]
    pub webhook_suspensions: Option<bool>,
    /// Whether the webhook gets usage alerts.
    #[arg(long, action = clap::ArgAction::Set, value_name = "true|false")]
    pub webhook_usage_alerts: Option<bool>,
    /// Whether e-mail recipients get sync error notices.
    #[arg(long, action = clap::ArgAction::Set, value_name = "true|false")]
    pub email_errors: Option<bool>,
    /// Whether e-mail recipients get suspension and clear notices.
    #[arg(long, action = clap::ArgAction::Set, value_name = "true|false")]
    pub email_suspensions: Option<bool>,
    /// Whether e-mail recipients get usage alerts.
    #[arg(long, action = clap::ArgAction::Set, value_name = "true|false")]
    pub email_usage_alerts: Option<bool>,
}

impl NotificationsSetArgs {
    /// The settings and the update mask these flags ask for: each flag
    /// given sets its field and names it in the mask, nothing else.
    pub fn update(
        self,
    ) -> (
        syncgov_api::syncerrors::v1::NotificationSettings,
        Vec<String>,
    ) {
        let mut settings = syncgov_api::syncerrors::v1::NotificationSettings::default();
        let mut paths = Vec::new();
        let mut path = |p: &str| paths.push(p.to_owned());
        if let Some(v) = self.enabled {
            settings.enabled = v;
            path("enabled");
        }
        if let Some(v) = self.frequency {
            settings.frequency = v;
            path("frequency");
        }
        if let Some(v) = self.webhook_frequency {
            settings.webhook_frequency = v;
            path("webhook_frequency");
        }
        if let Some(v) = self.email_frequency {
            settings.email_frequency = v;
            path("email_frequency");
        }
        if let Some(v) = self.webhook_url {
            settings.webhook_url = v;
            path("webhook_url");
        }
        if let Some(v) = self.webhook_secret {
            settings.webhook_secret = v;
            path("webhook_secret");
        }
        if let Some(v) = self.webhook_format {
            settings.webhook_format = v;
            path("webhook_format");
        }
        if let Some(v) = self.email_recipients {
            // `--email-recipients ""` is the empty list.
            settings.email_recipients = v.into_iter().filter(|a| !a.is_empty()).collect();
            path("email_recipients");
        }
        let webhook = settings.webhook.get_or_insert_default();
        for (flag, field, name) in [
            (self.webhook_errors, &mut webhook.errors, "webhook.errors"),
            (
                self.webhook_suspensions,
                &mut webhook.suspensions,
                "webhook.suspensions",
            ),
            (
                self.webhook_usage_alerts,
                &mut webhook.usage_alerts,
                "webhook.usage_alerts",
            ),
        ] {
            if let Some(v) = flag {
                *field = v;
                path(name);
            }
        }
        let email = settings.email.get_or_insert_default();
        for (flag, field, name) in [
            (self.email_errors, &mut email.errors, "email.errors"),
            (
                self.email_suspensions,
                &mut email.suspensions,
                "email.suspensions",
            ),
            (
                self.email_usage_alerts,
                &mut email.usage_alerts,
                "email.usage_alerts",
            ),
        ] {
            if let Some(v) = flag {
                *field = v;
                path(name);
            }
        }
        (settings, paths)
    }
}

/// Shells `completions` writes scripts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// Bash.
    Bash,
    /// Zsh.
    Zsh,
    /// Fish.
    Fish,
}

/// `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn shares_and_expiries_parse() {
        assert_eq!(
            parse_shares("60/90/100"),
            Ok(Shares {
                retry: 60,
                normal: 90,
                critical: 100
            })
        );
        assert!(parse_shares("60/90").is_err());
        assert!(parse_shares("a/b/c").is_err());
        assert_eq!(
            parse_until("6h"),
            Ok(Until::In(Duration::from_secs(6 * 3600)))
        );
        assert!(matches!(
            parse_until("2030-01-31T18:00:00Z"),
            Ok(Until::At(_))
        ));
        assert!(parse_until("tomorrow").is_err());
    }

    #[test]
    fn the_default_addresses_are_the_services_defaults() {
        let cli = Cli::try_parse_from(["syncctl", "usage", "--org", "acme"]).unwrap();
        if std::env::var_os("SYNCCTL_GOVERNOR").is_none() {
            assert_eq!(cli.governor, "http://127.0.0.1:50051");
        }
        if std::env::var_os("SYNCCTL_SYNC_ERRORS").is_none() {
            assert_eq!(cli.sync_errors, "http://127.0.0.1:50052");
        }
        assert_eq!(cli.output, Output::Table);
    }
}
