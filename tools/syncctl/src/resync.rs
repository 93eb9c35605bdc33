//! `errors resync --all` and `--limit N`: a selection larger than one call
//! takes, queued in batches of [`MAX_RESYNC`].
//!
//! The selection is read page by page with `ListErrors`, then sent a batch
//! at a time with `ResyncErrors`. What each batch did is added to a
//! [`Tally`] (pure, so the summary and the exit code are tested without a
//! service): a resync is partial when a batch was refused or an error was
//! not queued, and a partial resync ends non-zero after saying how many
//! errors were not queued and why. An error already queued has its job and
//! counts as done.

use std::collections::BTreeMap;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use syncgov_api::syncerrors::v1 as errors;

use crate::cli::FilterArgs;
use crate::context::Context;
use crate::error::{Exit, Failure};
use crate::output::emit;
use crate::render::{Table, count, plural};

/// Most errors one resync may select: the service's own limit. Selecting
/// one more than this by filter is enough to hear the service's advice.
pub const MAX_RESYNC: usize = 100;

/// Largest page the services serve.
pub const MAX_PAGE: u32 = 500;

/// The `skipped` word of an error that already has a job queued or running.
const ALREADY_QUEUED: &str = "already queued";

/// A batch the service refused as a whole, or that failed on the way
/// (its errors are counted as not queued: a rerun leaves out those it
/// did queue after all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Errors in it.
    pub errors: usize,
    /// The exit code the refusal maps to.
    pub exit: Exit,
    /// What the service said.
    pub message: String,
}

/// What the batches of one resync did, so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Errors selected.
    pub selected: usize,
    /// `ResyncErrors` calls made (refused ones included).
    pub calls: usize,
    /// Errors queued by this resync.
    pub queued: usize,
    /// Errors that already had a job (queued by someone else meanwhile).
    pub already_queued: usize,
    /// Errors not queued, by the service's reason (`queue full`, ...).
    pub skipped: BTreeMap<String, usize>,
    /// Batches refused as a whole.
    pub refused: Vec<Refusal>,
    /// Errors of batches never sent, after a refusal every later call
    /// would meet too (no access, no service).
    pub unsent: usize,
    /// Every error's result, in the order sent.
    pub results: Vec<errors::QueuedResync>,
}

impl Tally {
    /// A tally of `selected` errors, none sent yet.
    pub fn new(selected: usize) -> Self {
        Self {
            selected,
            ..Self::default()
        }
    }

    /// Adds what the service answered for one batch.
    pub fn answered(&mut self, results: Vec<errors::QueuedResync>) {
        self.calls += 1;
        for r in &results {
            if !r.job_id.is_empty() {
                self.queued += 1;
            } else if r.skipped == ALREADY_QUEUED {
                self.already_queued += 1;
            } else {
                let why = if r.skipped.is_empty() {
                    "no reason given".to_owned()
                } else {
                    r.skipped.clone()
                };
                *self.skipped.entry(why).or_default() += 1;
            }
        }
        self.results.extend(results);
    }

    /// Adds a batch of `errors` refused with `failure`; true when the
    /// remaining batches are not worth sending (the same token or the same
    /// unreachable service would meet every one of them).
    pub fn refused(&mut self, errors: usize, failure: &Failure) -> bool {
        self.calls += 1;
        self.refused.push(Refusal {
            errors,
            exit: failure.exit,
            message: failure.message.clone(),
        });
        matches!(failure.exit, Exit::Denied | Exit::Unreachable)
    }

    /// Errors of the selection that have no job.
    pub fn not_queued(&self) -> usize {
        self.selected - self.queued - self.already_queued
    }

    /// The reasons errors were not queued and how many each, the refused
    /// and unsent batches included.
    pub fn reasons(&self) -> Vec<(String, usize)> {
        let mut reasons: Vec<(String, usize)> = self
            .skipped
            .iter()
            .map(|(why, n)| (why.clone(), *n))
            .collect();
        for r in &self.refused {
            let first = r.message.lines().next().unwrap_or_default();
            reasons.push((format!("batch failed: {first}"), r.errors));
        }
        if self.unsent > 0 {
            reasons.push(("not sent after the refusal".to_owned(), self.unsent));
        }
        reasons
    }

    /// What the resync did, for people: one line when every error was
    /// queued; else the errors not queued, by reason.
    pub fn text(&self, width: Option<usize>) -> String {
        let mut out = format!(
            "queued {} of {} in {}",
            count(self.queued as u64),
            plural(self.selected as u64, "error", "errors"),
            plural(self.calls as u64, "call", "calls"),
        );
        if self.already_queued > 0 {
            out.push_str(&format!(
                "; {} already queued",
                plural(self.already_queued as u64, "error was", "errors were")
            ));
        }
        out.push('\n');
        if self.not_queued() > 0 {
            out.push_str(&format!(
                "not queued: {}\n",
                plural(self.not_queued() as u64, "error", "errors")
            ));
            let mut table = Table::new(&["WHY", "ERRORS"]).right_align(&[1]);
            for (why, n) in self.reasons() {
                table.row(vec![why, count(n as u64)]);
            }
            out.push_str(&table.render(width));
        }
        out
    }

    /// What the resync did, for scripts.
    pub fn json(&self) -> Value {
        json!({
            "selected": self.selected,
            "queued": self.queued,
            "already_queued": self.already_queued,
            "not_queued": self.not_queued(),
            "calls": self.calls,
            "reasons": self.reasons().into_iter()
                .map(|(why, n)| json!({"reason": why, "errors": n}))
                .collect::<Vec<_>>(),
            "results": crate::json::resync(&self.results)["results"].clone(),
        })
    }

    /// The failure a partial resync ends with: the first refusal's exit
    /// code, else 1; `None` when every error selected has a job.
    pub fn failure(&self) -> Option<Failure> {
        let missing = self.not_queued();
        if missing == 0 {
            return None;
        }
        let exit = self.refused.first().map_or(Exit::Other, |r| r.exit);
        let mut message = format!(
            "{} of {} not queued",
            count(missing as u64),
            plural(self.selected as u64, "error", "errors")
        );
        for (why, n) in self.reasons() {
            message.push_str(&format!("\n  {}: {why}", count(n as u64)));
        }
        if let Some(r) = self.refused.first() {
            message.push_str(&format!("\nthe service said: {}", r.message));
        }
        Some(Failure::new(exit, message))
    }
}

/// A bar on stderr counting errors; indicatif draws nothing when stderr is
/// not a terminal, so pipes and logs stay clean.
fn progress(len: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed})")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Selects up to `limit` current errors of `org` that `filter` matches,
/// newest first, page by page. Without `--state`, errors already being
/// resynced are left out: they have their job, and a second `--limit N`
/// goes on with the next N.
async fn select(
    ctx: &Context,
    client: &mut errors::sync_errors_client::SyncErrorsClient<syncgov_kit::auth::AuthChannel>,
    org: &str,
    filter: &FilterArgs,
    limit: usize,
) -> Result<Vec<String>, Failure> {
    let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    spinner.set_style(
        ProgressStyle::with_template("{spinner} selecting: {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    spinner.enable_steady_tick(Duration::from_millis(120));
    let resyncing = errors::ErrorState::Resyncing as i32;
    let mut ids = Vec::new();
    let mut page_token = String::new();
    loop {
        let reply = client
            .list_errors(errors::ListErrorsRequest {
                org_id: org.to_owned(),
                filter: Some(filter.to_filter()),
                page_size: MAX_PAGE,
                page_token,
            })
            .await
            .map_err(|s| {
                spinner.finish_and_clear();
                let mut failure = ctx.sync_errors.failed(s);
                failure.message = format!(
                    "{}\nnothing was queued: the errors to resync could not be listed",
                    failure.message
                );
                failure
            })?
            .into_inner();
        ids.extend(
            reply
                .errors
                .into_iter()
                .filter(|e| filter.state.is_some() || e.state != resyncing)
                .map(|e| e.error_id),
        );
        spinner.set_message(plural(ids.len() as u64, "error", "errors"));
        if ids.len() >= limit || reply.next_page_token.is_empty() {
            ids.truncate(limit);
            spinner.finish_and_clear();
            return Ok(ids);
        }
        page_token = reply.next_page_token;
    }
}

/// Runs `errors resync --all` or `--limit N`: selects, queues in batches,
/// prints what was done, and fails when some errors were not queued.
pub async fn batched(
    ctx: &Context,
    client: &mut errors::sync_errors_client::SyncErrorsClient<syncgov_kit::auth::AuthChannel>,
    org: &str,
    filter: &FilterArgs,
    limit: usize,
) -> Result<(), Failure> {
    let ids = select(ctx, client, org, filter, limit).await?;
    let mut tally = Tally::new(ids.len());
    if ids.is_empty() {
        return emit(
            ctx.output,
            "no errors to resync: none is selected that is not already queued\n".to_owned(),
            tally.json(),
        );
    }
    let bar = progress(ids.len() as u64);
    bar.set_message("queueing");
    let mut batches = ids.chunks(MAX_RESYNC);
    for batch in batches.by_ref() {
        let reply = client
            .resync_errors(errors::ResyncErrorsRequest {
                org_id: org.to_owned(),
                error_ids: batch.to_vec(),
            })
            .await;
        match reply {
            Ok(reply) => tally.answered(reply.into_inner().results),
            Err(status) => {
                if tally.refused(batch.len(), &ctx.sync_errors.failed(status)) {
                    break;
                }
            }
        }
        bar.inc(batch.len() as u64);
    }
    tally.unsent = batches.map(<[String]>::len).sum();
    bar.finish_and_clear();
    emit(ctx.output, tally.text(ctx.width), tally.json())?;
    match tally.failure() {
        Some(failure) => Err(failure),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, job: &str, skipped: &str) -> errors::QueuedResync {
        errors::QueuedResync {
            error_id: id.into(),
            job_id: job.into(),
            skipped: skipped.into(),
        }
    }

    #[test]
    fn a_whole_resync_says_how_many_in_how_many_calls_and_succeeds() {
        let mut tally = Tally::new(3);
        tally.answered(vec![result("a", "j1", ""), result("b", "j2", "")]);
        tally.answered(vec![result("c", "", ALREADY_QUEUED)]);
        assert_eq!(
            tally.text(None),
            "queued 2 of 3 errors in 2 calls; 1 error was already queued\n"
        );
        assert!(tally.failure().is_none());
        assert_eq!(tally.json()["results"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn errors_not_queued_are_counted_by_reason_and_fail_with_1() {
        let mut tally = Tally::new(4);
        tally.answered(vec![
            result("a", "j1", ""),
            result("b", "", "queue full"),
            result("c", "", "queue full"),
            result("d", "", "resolved"),
        ]);
        let text = tally.text(None);
        assert!(
            text.starts_with("queued 1 of 4 errors in 1 call\n"),
            "{text}"
        );
        assert!(text.contains("not queued: 3 errors\n"), "{text}");
        assert!(
            text.lines()
                .any(|l| l.starts_with("queue full") && l.ends_with(" 2")),
            "{text}"
        );
        let failure = tally.failure().expect("a partial resync fails");
        assert_eq!(failure.exit, Exit::Other);
        assert!(
            failure.message.starts_with("3 of 4 errors not queued"),
            "{}",
            failure.message
        );
        assert!(
            failure.message.contains("1: resolved"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn a_refused_batch_fails_with_its_code_and_stops_what_would_be_refused_too() {
        let mut tally = Tally::new(250);
        tally.answered((0..100).map(|i| result(&i.to_string(), "j", "")).collect());
        let rejected = Failure::new(Exit::Rejected, "error_ids[3]: not an error id");
        assert!(!tally.refused(100, &rejected), "the next batch may pass");
        let denied = Failure::new(Exit::Denied, "permission denied for org acme");
        assert!(
            tally.refused(50, &denied),
            "the next batch would be denied too"
        );
        assert_eq!(tally.not_queued(), 150);
        let failure = tally.failure().unwrap();
        assert_eq!(failure.exit, Exit::Rejected);
        assert!(
            failure.message.contains("100: batch failed: error_ids[3]"),
            "{}",
            failure.message
        );
        let text = tally.text(Some(80));
        assert!(text.contains("in 3 calls"), "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
        let mut stopped = Tally::new(300);
        stopped.refused(100, &denied);
        stopped.unsent = 200;
        assert_eq!(stopped.not_queued(), 300);
        assert_eq!(stopped.failure().unwrap().exit, Exit::Denied);
        assert!(
            stopped
                .reasons()
                .contains(&("not sent after the refusal".to_owned(), 200))
        );
    }
}
