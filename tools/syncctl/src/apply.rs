//! `budget apply` and `budget export`: budgets as code. The file is read
//! and checked by `syncgov_kit::budgets_file` (SetBudget's own rules), the
//! live budgets are read over gRPC, the difference is the kit's pure
//! [`plan`], and only then is anything written.
//!
//! Order matters for "nothing or what was said": the file is checked before
//! anything is connected to, and every budget it names is read (GetBudget,
//! checked against the caller's orgs by the governor) before the first
//! write, so a token that may not touch one of the orgs changes nothing.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::{Value, json};
use syncgov_api::quota::v1 as quota;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_kit::auth::AuthChannel;
use syncgov_kit::budget::{AllocationOverride, Budget, Resource, Shares};
use syncgov_kit::budgets_file::{
    self, BudgetsFile, Change, Key, MAX_FILE_BYTES, epoch_ms, format_time, plan,
};
use syncgov_kit::clock::timestamp;
use syncgov_kit::input::OrgId;
use tonic::Code;

use crate::cli::{self, BudgetApplyArgs};
use crate::context::Context;
use crate::error::{Exit, Failure};
use crate::output::{emit, write_stdout};

/// Budgets per page when reading the fleet: the service's largest page.
const PAGE: u32 = 1_000;

/// What happened to one change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Not written: a dry run.
    Planned,
    /// Nothing to write.
    Unchanged,
    /// Written.
    Applied,
    /// The service refused or failed it: why.
    Failed(String),
}

impl Outcome {
    /// As printed.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Planned => "planned",
            Outcome::Unchanged => "unchanged",
            Outcome::Applied => "applied",
            Outcome::Failed(_) => "failed",
        }
    }
}

/// Reads a budgets file, bounded in size, and checks it at `now`.
pub fn read_file(path: &std::path::Path, now: SystemTime) -> Result<BudgetsFile, Failure> {
    let shown = path.display();
    let size = std::fs::metadata(path)
        .map_err(|e| Failure::usage(format!("cannot read {shown}: {e}")))?
        .len();
    if size > MAX_FILE_BYTES as u64 {
        return Err(Failure::new(
            Exit::Rejected,
            format!("{shown}: larger than {MAX_FILE_BYTES} bytes"),
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read {shown}: {e}")))?;
    budgets_file::parse(&text, epoch_ms(now))
        .map_err(|e| Failure::new(Exit::Rejected, format!("{shown}: {e}; nothing was applied")))
}

/// `budget apply -f FILE [--dry-run] [--prune]`.
pub async fn apply(ctx: &Context, args: BudgetApplyArgs) -> Result<(), Failure> {
    let now = SystemTime::now();
    let now_ms = epoch_ms(now);
    let file = read_file(&args.file, now)?;
    for warning in &file.warnings {
        eprintln!("syncctl: warning: {}: {warning}", args.file.display());
    }
    let target = &ctx.governor;
    let mut client = target.governor_client(Some(ctx.timeout)).await?;

    // Read everything first: a refusal here leaves every budget as it was.
    let mut live = BTreeMap::new();
    let mut refused = Vec::new();
    for entry in &file.entries {
        match client
            .get_budget(quota::GetBudgetRequest {
                org_id: entry.key.org.to_string(),
                resource: resource_number(entry.key.resource),
            })
            .await
        {
            // The governor's default budget is not the org's own.
            Ok(reply) if reply.get_ref().is_default => {}
            Ok(reply) => {
                let budget = reply.into_inner().budget.unwrap_or_default();
                live.insert(entry.key.clone(), budget_of(&budget));
            }
            Err(status) if status.code() == Code::NotFound => {}
            Err(status) => refused.push((entry, target.failed(status))),
        }
    }
    if let Some((_, first)) = refused.first() {
        let mut message = String::from("nothing was applied: cannot read");
        for (entry, failure) in &refused {
            message.push_str(&format!(
                "\n  line {}: {}: {}",
                entry.line, entry.key, failure.message
            ));
        }
        return Err(Failure::new(first.exit, message));
    }
    if args.prune {
        for resource in file.resources() {
            for (key, budget) in list_all(ctx, &mut client, Some(resource)).await? {
                live.entry(key).or_insert(budget);
            }
        }
    }

    let changes = plan(&file, &live, args.prune, now_ms);
    let mut outcomes = Vec::with_capacity(changes.len());
    for change in &changes {
        let outcome = if !change.writes() {
            Outcome::Unchanged
        } else if args.dry_run {
            Outcome::Planned
        } else {
            match write(&mut client, change).await {
                Ok(()) => Outcome::Applied,
                Err(status) => Outcome::Failed(target.failed(status).message),
            }
        };
        outcomes.push(outcome);
    }
    let report = Report {
        changes: &changes,
        outcomes: &outcomes,
        dry_run: args.dry_run,
        warnings: &file.warnings,
    };
    emit(ctx.output, report.table(), report.json())?;
    let failed = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Failed(_)))
        .count();
    if failed > 0 {
        return Err(Failure::other(format!(
            "{failed} of {} failed (listed above); the others were applied",
            crate::render::plural(
                outcomes
                    .iter()
                    .filter(|o| **o != Outcome::Unchanged)
                    .count() as u64,
                "change",
                "changes"
            )
        )));
    }
    Ok(())
}

/// Writes one change.
async fn write(
    client: &mut QuotaGovernorClient<AuthChannel>,
    change: &Change,
) -> Result<(), tonic::Status> {
    match change {
        Change::Create { key, after } | Change::Update { key, after, .. } => {
            client
                .set_budget(quota::SetBudgetRequest {
                    org_id: key.org.to_string(),
                    resource: resource_number(key.resource),
                    budget: Some(budget_pb(after)),
                    // The file is the truth it applies: unconditional.
                    expected_revision: String::new(),
                })
                .await?;
        }
        Change::Delete { key, .. } => {
            client
                .delete_budget(quota::DeleteBudgetRequest {
                    org_id: key.org.to_string(),
                    resource: resource_number(key.resource),
                })
                .await?;
        }
        Change::Unchanged { .. } => {}
    }
    Ok(())
}

/// `budget export`: the budgets the token may see, as a budgets file.
pub async fn export(ctx: &Context, resource: Option<cli::Resource>) -> Result<(), Failure> {
    let mut client = ctx.governor.governor_client(Some(ctx.timeout)).await?;
    let resource = resource.map(|r| match r {
        cli::Resource::Api => Resource::ApiRequests,
        cli::Resource::Bulk => Resource::BulkBatches,
    });
    let budgets = list_all(ctx, &mut client, resource).await?;
    let pairs: Vec<(Key, Budget)> = budgets.into_iter().collect();
    write_stdout(&budgets_file::render(&pairs, epoch_ms(SystemTime::now())))
}

/// Every budget of `resource` (or of every resource) the caller may see,
/// following ListBudgets' pages.
async fn list_all(
    ctx: &Context,
    client: &mut QuotaGovernorClient<AuthChannel>,
    resource: Option<Resource>,
) -> Result<BTreeMap<Key, Budget>, Failure> {
    let mut all = BTreeMap::new();
    let mut token = String::new();
    loop {
        let reply = client
            .list_budgets(quota::ListBudgetsRequest {
                resource: resource.map_or(0, resource_number),
                page_size: PAGE,
                page_token: token,
            })
            .await
            .map_err(|s| ctx.governor.failed(s))?
            .into_inner();
        for b in reply.budgets {
            let resource = match quota::Resource::try_from(b.resource) {
                Ok(quota::Resource::BulkBatches) => Resource::BulkBatches,
                _ => Resource::ApiRequests,
            };
            let org = OrgId::parse(&b.org_id)
                .map_err(|e| Failure::other(format!("the governor listed a bad org id: {e}")))?;
            all.insert(
                Key { org, resource },
                budget_of(&b.budget.unwrap_or_default()),
            );
        }
        if reply.next_page_token.is_empty() {
            return Ok(all);
        }
        token = reply.next_page_token;
    }
}

/// The contract's number of a resource.
fn resource_number(resource: Resource) -> i32 {
    match resource {
        Resource::ApiRequests => quota::Resource::ApiRequests as i32,
        Resource::BulkBatches => quota::Resource::BulkBatches as i32,
    }
}

/// A budget as the governor sent it, for comparing. Shares the governor
/// always sends; out-of-range ones (never sent) would simply compare
/// unequal and be rewritten.
pub fn budget_of(b: &quota::Budget) -> Budget {
    let pct = |v: u32| u8::try_from(v).unwrap_or(u8::MAX);
    Budget {
        org_limit: b.org_limit,
        allocation: b.allocation,
        shares: b.shares.as_ref().map_or_else(Shares::default, |s| Shares {
            retry: pct(s.retry_percent),
            normal: pct(s.normal_percent),
            critical: pct(s.critical_percent),
        }),
        allocation_override: b.allocation_override.as_ref().map(|o| AllocationOverride {
            allocation: o.allocation,
            expires_at_ms: o
                .expires_at
                .as_ref()
                .map_or(0, syncgov_kit::clock::timestamp_ms),
        }),
        shadow: b.shadow,
        // Thresholds the governor refuses are never sent back: any other
        // list would compare unequal and be rewritten.
        alert_thresholds: match b.alert_thresholds_percent.as_slice() {
            [] => None,
            list => syncgov_kit::budget::AlertThresholds::new(
                &list.iter().map(|&p| u64::from(p)).collect::<Vec<_>>(),
            )
            .ok(),
        },
    }
}

/// A budget as SetBudget takes it, shares spelled out.
pub fn budget_pb(b: &Budget) -> quota::Budget {
    quota::Budget {
        org_limit: b.org_limit,
        allocation: b.allocation,
        shares: Some(quota::PriorityShares {
            retry_percent: b.shares.retry.into(),
            normal_percent: b.shares.normal.into(),
            critical_percent: b.shares.critical.into(),
        }),
        allocation_override: b.allocation_override.map(|o| quota::AllocationOverride {
            allocation: o.allocation,
            expires_at: Some(timestamp(o.expires_at_ms)),
        }),
        shadow: b.shadow,
        alert_thresholds_percent: b
            .alert_thresholds
            .map(|t| t.as_slice().iter().map(|&p| u32::from(p)).collect())
            .unwrap_or_default(),
    }
}

/// The changes and what became of each, to print.
pub struct Report<'a> {
    /// The plan.
    pub changes: &'a [Change],
    /// What happened to each change, in the same order.
    pub outcomes: &'a [Outcome],
    /// Whether nothing was written on purpose.
    pub dry_run: bool,
    /// The file's warnings.
    pub warnings: &'a [String],
}

/// How many changes of each kind, and how many failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Budgets created (or to create).
    pub create: usize,
    /// Budgets changed (or to change).
    pub update: usize,
    /// Budgets already as the file says.
    pub unchanged: usize,
    /// Budgets deleted (or to delete).
    pub delete: usize,
    /// Writes that failed.
    pub failed: usize,
}

impl Report<'_> {
    /// The counts, failed writes counted apart from their kind.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for (change, outcome) in self.changes.iter().zip(self.outcomes) {
            if matches!(outcome, Outcome::Failed(_)) {
                c.failed += 1;
                continue;
            }
            match change {
                Change::Create { .. } => c.create += 1,
                Change::Update { .. } => c.update += 1,
                Change::Unchanged { .. } => c.unchanged += 1,
                Change::Delete { .. } => c.delete += 1,
            }
        }
        c
    }

    /// The summary line.
    pub fn summary(&self) -> String {
        let c = self.counts();
        if c.create + c.update + c.delete + c.failed == 0 {
            return format!(
                "nothing to change: {} already as the file says\n",
                crate::render::plural(c.unchanged as u64, "budget", "budgets")
            );
        }
        let done = if self.dry_run {
            "dry run, nothing applied: would create"
        } else {
            "applied: created"
        };
        let (updated, deleted) = if self.dry_run {
            ("update", "delete")
        } else {
            ("updated", "deleted")
        };
        let mut line = format!(
            "{done} {}, {updated} {}, {deleted} {}; {} unchanged",
            c.create, c.update, c.delete, c.unchanged
        );
        if c.failed > 0 {
            line.push_str(&format!("; {} failed", c.failed));
        }
        line.push('\n');
        line
    }

    /// The changes as a table, then the summary. Unchanged budgets are
    /// counted, not listed: a fleet file has hundreds.
    pub fn table(&self) -> String {
        let rows: Vec<[String; 5]> = self
            .changes
            .iter()
            .zip(self.outcomes)
            .filter(|(change, _)| change.writes())
            .map(|(change, outcome)| {
                let key = change.key();
                let detail = match (change, outcome) {
                    (_, Outcome::Failed(why)) => why.lines().next().unwrap_or("").to_owned(),
                    (Change::Create { after, .. }, _) => describe(after),
                    (Change::Update { fields, .. }, _) => fields
                        .iter()
                        .map(|f| format!("{}: {} -> {}", f.field, f.before, f.after))
                        .collect::<Vec<_>>()
                        .join(", "),
                    (Change::Delete { before, .. }, _) => format!("was {}", describe(before)),
                    (Change::Unchanged { .. }, _) => String::new(),
                };
                [
                    change.kind().to_owned(),
                    key.org.to_string(),
                    key.resource.as_str().to_owned(),
                    outcome.as_str().to_owned(),
                    detail,
                ]
            })
            .collect();
        let mut out = String::new();
        if !rows.is_empty() {
            let header = ["CHANGE", "ORG", "RESOURCE", "RESULT", "DETAIL"].map(str::to_owned);
            let width = |i: usize| {
                rows.iter()
                    .chain([&header])
                    .map(|r| r[i].chars().count())
                    .max()
                    .unwrap_or(0)
            };
            let widths = [width(0), width(1), width(2), width(3)];
            for row in [&header].into_iter().chain(&rows) {
                let mut line = String::new();
                for (i, w) in widths.iter().enumerate() {
                    line.push_str(&format!("{:<w$}  ", row[i], w = *w));
                }
                line.push_str(&row[4]);
                out.push_str(line.trim_end());
                out.push('\n');
            }
            out.push('\n');
        }
        out.push_str(&self.summary());
        out
    }

    /// The report for scripts: every change (unchanged ones included), its
    /// result, the counts and the warnings.
    pub fn json(&self) -> Value {
        let c = self.counts();
        json!({
            "dry_run": self.dry_run,
            "changes": self.changes.iter().zip(self.outcomes).map(|(change, outcome)| {
                let key = change.key();
                let mut v = json!({
                    "change": change.kind(),
                    "org_id": key.org.to_string(),
                    "resource": key.resource.as_str(),
                    "result": outcome.as_str(),
                });
                if let Change::Update { fields, .. } = change {
                    v["fields"] = fields.iter().map(|f| json!({
                        "field": f.field, "before": f.before, "after": f.after,
                    })).collect();
                }
                if let Outcome::Failed(why) = outcome {
                    v["error"] = json!(why);
                }
                v
            }).collect::<Vec<_>>(),
            "counts": {
                "create": c.create,
                "update": c.update,
                "unchanged": c.unchanged,
                "delete": c.delete,
                "failed": c.failed,
            },
            "warnings": self.warnings,
        })
    }
}

/// A budget in a line: `org_limit 100000, allocation 50000, shares
/// 75/95/100, override 80000 until 2030-01-31T18:00:00Z`.
fn describe(b: &Budget) -> String {
    let s = b.shares;
    let mut text = format!(
        "org_limit {}, allocation {}, shares {}/{}/{}",
        b.org_limit, b.allocation, s.retry, s.normal, s.critical
    );
    if let Some(o) = b.allocation_override {
        text.push_str(&format!(
            ", override {} until {}",
            o.allocation,
            format_time(o.expires_at_ms)
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncgov_kit::budgets_file::FieldChange;

    fn key(org: &str) -> Key {
        Key {
            org: OrgId::parse(org).unwrap(),
            resource: Resource::ApiRequests,
        }
    }

    #[test]
    fn the_table_lists_writes_and_counts_the_rest() {
        let changes = vec![
            Change::Create {
                key: key("acme"),
                after: Budget::new(100, 50),
            },
            Change::Update {
                key: key("globex"),
                after: Budget::new(100, 60),
                fields: vec![FieldChange {
                    field: "allocation",
                    before: "50".into(),
                    after: "60".into(),
                }],
            },
            Change::Unchanged {
                key: key("initech"),
            },
            Change::Delete {
                key: key("umbrella"),
                before: Budget::new(10, 5),
            },
        ];
        let outcomes = vec![
            Outcome::Applied,
            Outcome::Failed("quota-governor at x is unavailable".into()),
            Outcome::Unchanged,
            Outcome::Applied,
        ];
        let report = Report {
            changes: &changes,
            outcomes: &outcomes,
            dry_run: false,
            warnings: &[],
        };
        let table = report.table();
        assert!(table.starts_with("CHANGE  ORG"), "{table}");
        assert!(table.contains("create  acme"), "{table}");
        assert!(table.contains("org_limit 100, allocation 50, shares 75/95/100"));
        assert!(
            table.contains(
                "update  globex    api       failed   quota-governor at x is unavailable"
            ),
            "{table}"
        );
        assert!(table.contains("was org_limit 10, allocation 5"));
        assert!(!table.contains("initech"), "{table}");
        assert!(
            table.ends_with("applied: created 1, updated 0, deleted 1; 1 unchanged; 1 failed\n"),
            "{table}"
        );
        let json = report.json();
        assert_eq!(json["counts"]["failed"], 1);
        assert_eq!(json["changes"][1]["fields"][0]["after"], "60");
        assert_eq!(json["changes"][2]["result"], "unchanged");
    }

    #[test]
    fn nothing_to_change_says_so() {
        let changes = vec![Change::Unchanged { key: key("acme") }];
        let outcomes = vec![Outcome::Unchanged];
        let report = Report {
            changes: &changes,
            outcomes: &outcomes,
            dry_run: false,
            warnings: &[],
        };
        assert_eq!(
            report.table(),
            "nothing to change: 1 budget already as the file says\n"
        );
    }

    #[test]
    fn budgets_round_trip_through_the_contract() {
        let mut b = Budget::new(1_000, 500);
        b.shares = Shares::new(10, 20, 30).unwrap();
        b.allocation_override = Some(AllocationOverride {
            allocation: 900,
            expires_at_ms: 1_900_000_000_123,
        });
        assert_eq!(budget_of(&budget_pb(&b)), b);
        assert_eq!(
            budget_of(&quota::Budget {
                org_limit: 2,
                allocation: 1,
                ..Default::default()
            }),
            Budget::new(2, 1)
        );
    }
}
