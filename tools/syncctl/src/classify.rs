//! `syncctl classify`: the `sync-errors classify` filter, answered by the
//! service's Classify RPC instead of a local copy of the rules, so it says
//! exactly what the running service would make of an error text.
//!
//! Lines are read on a thread of their own and sent in batches: whatever
//! has arrived when a call can go (up to the RPC's 1 000 inputs and a size
//! well under the gRPC message limit). Piped files go in big batches, and a
//! line typed at a terminal is answered at once.

use std::io::BufRead;

use syncgov_api::syncerrors::v1 as errors;
use syncgov_api::syncerrors::v1::classification::Level;
use syncgov_taxonomy::lines::{Explained, InputLine, OutputLine};
use syncgov_taxonomy::{Basis, Category, ErrorType, SuspensionReason};

use crate::context::Context;
use crate::error::{Exit, Failure};
use crate::output::write_stdout;

/// Most inputs one Classify call takes.
const MAX_BATCH: usize = 1_000;

/// Most bytes of input lines per call: the service decodes messages of up
/// to 4 MiB.
const MAX_BATCH_BYTES: usize = 2 * 1024 * 1024;

/// The output line of one classification, in the format of
/// `sync-errors classify`; with `explain`, why (from the reply's
/// explanation; `UNSPECIFIED` from a service that does not say).
fn line(
    id: Option<serde_json::Value>,
    c: &errors::Classification,
    explain: bool,
) -> OutputLine<'_> {
    let explained = explain.then(|| {
        let why = c.explanation.as_ref();
        Explained {
            basis: why
                .and_then(|w| Basis::from_number(w.basis))
                .map_or("UNSPECIFIED", Basis::code),
            confidence: why.map_or(0.0, |w| (f64::from(w.confidence) * 100.0).round() / 100.0),
            matched: why.map_or("", |w| w.matched.as_str()),
        }
    });
    let none = OutputLine {
        id,
        level: "unknown",
        category: None,
        error_type: None,
        reason: None,
        explained,
    };
    match &c.level {
        Some(Level::Record(r)) => OutputLine {
            level: "record",
            category: Category::from_number(r.category).map(Category::code),
            error_type: ErrorType::from_number(r.r#type).map(ErrorType::code),
            ..none
        },
        Some(Level::Suspension(reason)) => OutputLine {
            level: "suspension",
            reason: SuspensionReason::from_number(*reason).map(SuspensionReason::code),
            ..none
        },
        None => none,
    }
}

/// Classifies stdin to stdout, with the operator rules of `org` (if given)
/// and, with `explain`, why. A malformed line stops it (exit 4) after the
/// lines before it were classified and written.
pub async fn run(ctx: &Context, org: Option<String>, explain: bool) -> Result<(), Failure> {
    let target = &ctx.sync_errors;
    let mut client = target.sync_errors_client(Some(ctx.timeout)).await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<String>>(MAX_BATCH);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            if tx.blocking_send(line).is_err() {
                return;
            }
        }
    });
    let mut line_number = 0usize;
    while let Some(first) = rx.recv().await {
        let mut ids = Vec::new();
        let mut inputs = Vec::new();
        let mut bytes = 0;
        let mut stop = None;
        let mut next = Some(first);
        while let Some(read) = next.take() {
            line_number += 1;
            let text = read.map_err(|e| Failure::other(format!("reading stdin: {e}")))?;
            if !text.trim().is_empty() {
                match serde_json::from_str::<InputLine>(&text) {
                    Ok(input) => {
                        bytes += text.len();
                        ids.push(input.id);
                        inputs.push(errors::ClassifyInput {
                            status_code: input.status_code,
                            message: input.message,
                            fields: input.fields,
                            object_type: input.object_type,
                            stated_code: input.stated,
                            org_id: org.clone().unwrap_or_default(),
                            ..Default::default()
                        });
                    }
                    Err(e) => {
                        stop = Some(Failure::new(
                            Exit::Rejected,
                            format!("line {line_number}: {e}"),
                        ));
                        break;
                    }
                }
            }
            if inputs.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
                next = rx.try_recv().ok();
            }
        }
        if !inputs.is_empty() {
            let reply = client
                .classify(errors::ClassifyRequest { inputs })
                .await
                .map_err(|s| target.failed(s))?
                .into_inner();
            let mut out = String::new();
            for (id, c) in ids.into_iter().zip(&reply.classifications) {
                out.push_str(
                    &serde_json::to_string(&line(id, c, explain))
                        .map_err(|e| Failure::other(e.to_string()))?,
                );
                out.push('\n');
            }
            write_stdout(&out)?;
        }
        if let Some(failure) = stop {
            return Err(failure);
        }
    }
    Ok(())
}
