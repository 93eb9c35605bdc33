//! `--budgets-file`: budgets as desired state, applied by the governor
//! itself. The file is read and checked by `syncgov_kit::budgets_file`
//! (SetBudget's rules); every budget it names is set through
//! [`Governor::set_budget`], the very call SetBudget makes, so applying is
//! idempotent and any number of replicas may apply the same file at once:
//! they all write the same values.
//!
//! When: once at start (a bad file refuses the start; see [`load`]), then
//! whenever the file changes (`syncgov_kit::reload::on_change`). A bad
//! change is logged, counted and ignored: the last good file stays in
//! force and nothing of the bad one is written. A store that fails half way
//! is tried again at the next check, from a fresh read of the file (setting
//! a budget twice is harmless). Budgets changed by SetBudget in between
//! stay until the file changes again: then the file wins. Each budget a
//! load changes is in the audit trail, its actor `budgets file <path>`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;
use syncgov_kit::audit::{AuditLog, Change};
use syncgov_kit::budget::Budget;
use syncgov_kit::budgets_file::{self, BudgetsFile, Key, MAX_FILE_BYTES};
use syncgov_kit::clock::now_ms;
use syncgov_kit::reload::{self, Fingerprint, Handled};
use syncgov_kit::task::BoxFuture;

use crate::governor::{Governor, GovernorError};
use crate::store::{BudgetKey, QuotaStore};

/// Every outcome a load is counted under.
const OUTCOMES: [&str; 3] = ["applied", "refused", "store_failed"];

/// Reads and checks the budgets file at `path`: the error names the file,
/// the line, the entry and the field.
pub fn load(path: &Path) -> anyhow::Result<BudgetsFile> {
    let shown = path.display();
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot read the budgets file {shown}"))?
        .len();
    anyhow::ensure!(
        size <= MAX_FILE_BYTES as u64,
        "the budgets file {shown} is larger than {MAX_FILE_BYTES} bytes"
    );
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the budgets file {shown}"))?;
    // An empty file is far more often one caught half written than a wish
    // for no budgets, and with --budgets-file-prune it would delete them
    // all: no budgets must be said (`budgets: []`).
    anyhow::ensure!(
        !budgets_file::is_blank(&text),
        "the budgets file {shown} is empty: write `budgets: []` for a file of no budgets"
    );
    budgets_file::parse(&text, now_ms()).with_context(|| format!("the budgets file {shown}"))
}

/// What one application of a file did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Budgets set.
    pub set: usize,
    /// Budgets deleted (pruning only).
    pub deleted: usize,
}

fn store_key(key: &Key) -> BudgetKey {
    BudgetKey {
        org: key.org.clone(),
        resource: key.resource,
    }
}

/// Sets every budget of `file`; with `prune`, also deletes the budgets
/// `previous` named that `file` does not. Each budget it changes is
/// recorded in `audit`, by `actor` (the file). The first store failure
/// stops it (what was written stays written; the next attempt writes it
/// again).
pub async fn apply<S: QuotaStore>(
    governor: &Governor<S>,
    file: &BudgetsFile,
    previous: Option<&BudgetsFile>,
    prune: bool,
    audit: &AuditLog,
    actor: &str,
) -> Result<Applied, GovernorError> {
    let mut applied = Applied::default();
    let record = |key: &BudgetKey, before: Option<Budget>, after: Option<&Budget>| Change {
        actor: actor.to_owned(),
        action: "BudgetsFile",
        org: key.org.to_string(),
        target: key.resource.as_str().to_owned(),
        before: before.as_ref().map(crate::audit::budget),
        after: after.map(crate::audit::budget),
    };
    for entry in &file.entries {
        let key = store_key(&entry.key);
        let before = governor.own_budget(&key).await?;
        governor.set_budget(&key, &entry.budget).await?;
        applied.set += 1;
        // Every replica applies the file: only the one that found the
        // budget different records the change.
        if before.as_ref() != Some(&entry.budget) {
            audit
                .record(record(&key, before, Some(&entry.budget)))
                .await?;
        }
    }
    if let (true, Some(previous)) = (prune, previous) {
        for gone in previous
            .entries
            .iter()
            .filter(|old| !file.entries.iter().any(|new| new.key == old.key))
        {
            let key = store_key(&gone.key);
            let before = governor.own_budget(&key).await?;
            if governor.delete_budget(&key).await? {
                applied.deleted += 1;
                audit.record(record(&key, before, None)).await?;
            }
        }
    }
    Ok(applied)
}

/// The budgets file the governor keeps applied.
pub struct Source {
    /// Where it is.
    pub path: PathBuf,
    /// `--budgets-file-prune`.
    pub prune: bool,
    /// How often it is checked for a change.
    pub every: Duration,
}

/// Applies `first` (read at start, after `seen` was taken, so that a
/// change made while starting is seen), then every good change of the
/// file. Runs until dropped.
pub fn keep_applied<S: QuotaStore>(
    governor: Arc<Governor<S>>,
    source: Source,
    seen: Fingerprint,
    first: BudgetsFile,
    audit: AuditLog,
) -> BoxFuture {
    let loads = loads_counter();
    // The file last applied: what pruning compares a new one with.
    let last: Arc<Mutex<Option<BudgetsFile>>> = Arc::new(Mutex::new(None));
    let pending = Arc::new(Mutex::new(Some(first)));
    let Source { path, prune, every } = source;
    let handle = {
        let path = path.clone();
        move || -> BoxFuture<Handled> {
            let governor = governor.clone();
            let path = path.clone();
            let loads = loads.clone();
            let audit = audit.clone();
            let last = last.clone();
            let pending = pending.clone();
            Box::pin(async move {
                let taken = pending.lock().unwrap_or_else(|e| e.into_inner()).take();
                let file = match taken.map_or_else(|| load(&path), Ok) {
                    Ok(file) => file,
                    Err(e) => {
                        loads.add(1, &labels("refused"));
                        tracing::warn!(
                            error = %format!("{e:#}"),
                            "budgets file not usable; the last good one stays in force"
                        );
                        return Handled::Done;
                    }
                };
                for warning in &file.warnings {
                    tracing::warn!(path = %path.display(), warning = %warning, "budgets file");
                }
                let previous = last.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let actor = format!("budgets file {}", path.display());
                match apply(&governor, &file, previous.as_ref(), prune, &audit, &actor).await {
                    Ok(applied) => {
                        loads.add(1, &labels("applied"));
                        tracing::info!(
                            path = %path.display(),
                            budgets = file.entries.len(),
                            set = applied.set,
                            deleted = applied.deleted,
                            "budgets file applied"
                        );
                        *last.lock().unwrap_or_else(|e| e.into_inner()) = Some(file);
                        Handled::Done
                    }
                    Err(e) => {
                        loads.add(1, &labels("store_failed"));
                        tracing::warn!(
                            error = %e,
                            "budgets file not fully applied; trying again at the next check"
                        );
                        Handled::Retry
                    }
                }
            })
        }
    };
    Box::pin(async move {
        // At start, as at every change: a store away is tried again at the
        // next check, which a fingerprint of no files never matches.
        let seen = match handle().await {
            Handled::Done => seen,
            Handled::Retry => reload::fingerprint(&[]),
        };
        reload::on_change(vec![path], every, seen, handle).await;
    })
}

fn labels(outcome: &'static str) -> [KeyValue; 2] {
    [
        KeyValue::new("outcome", outcome),
        syncgov_kit::metrics::service(),
    ]
}

/// `syncgov_quota_budgets_file_loads_total{outcome}`, from 0 for every
/// outcome, so that an alert on `refused` has a series to watch.
fn loads_counter() -> Counter<u64> {
    let counter = opentelemetry::global::meter("quota-governor")
        .u64_counter("syncgov.quota.budgets_file.loads")
        .with_unit("{load}")
        .with_description(
            "Loads of --budgets-file: applied, refused (a bad file; the last good one stays) \
             or store_failed (tried again)",
        )
        .build();
    for outcome in OUTCOMES {
        counter.add(0, &labels(outcome));
    }
    counter
}
