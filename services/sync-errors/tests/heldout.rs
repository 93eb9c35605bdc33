//! The classifier on the held-out part of the corpus: real Salesforce
//! error texts from public sources, labelled as an expert would, that no
//! rule was written from. The corpus is split by source (every text of a
//! source page lands in one part only: `data/salesforce_errors.jsonl` is
//! the tuning part, `data/salesforce_errors_heldout.jsonl` this one), the
//! split decided before the classifier was run on them. While the
//! held-out file is empty (between one held-out part being read and the
//! next being installed) its two tests say so and check nothing.
//!
//! `data/salesforce_errors_seen.jsonl` holds the earlier held-out parts:
//! their misses were seen, so rules may now be written from them and they
//! no longer measure anything honestly; they are kept apart (not every
//! text of them is classified as labelled) and held to floors just below
//! what they score, so that a change to the rules cannot quietly lower it.
//!
//! The test reports exact and level accuracy and the level confusions
//! (`cargo test -p sync-errors --test heldout -- --nocapture` prints the
//! table), and holds them to floors: for a held-out part, the accuracy
//! measured when it was frozen.

use std::collections::BTreeMap;
use std::collections::HashSet;

use serde_json::Value;
use sync_errors::classify::{Classification, FailureText, classify};
use sync_errors::taxonomy::{ErrorType, SuspensionReason};

/// Exact accuracy floor of the held-out part, percent: just below what the
/// fifty-seventh part scored, measured once when it was installed (10 of
/// 11, 90.9 %). The target is 95 %.
const EXACT_FLOOR: f64 = 90.5;
/// Level accuracy floor of the held-out part, percent: what it scored (11
/// of 11), the target.
const LEVEL_FLOOR: f64 = 100.0;
/// Record failures of the held-out part raised as suspensions, at most:
/// the part raised none, the target.
const MAX_RECORD_AS_SUSPENSION: usize = 0;
/// Floors of the seen part (the fifty-six earlier held-out parts, 1 864
/// texts), percent: just below what it scores with the rules written from
/// it (1 675 and 1 787 of 1 864). Raised from 85.5 when a bare
/// `DmlException` came to be read by the cause inside it, as most of the
/// part's labels read it.
const SEEN_EXACT_FLOOR: f64 = 87.0;
const SEEN_LEVEL_FLOOR: f64 = 94.0;
/// At most two record failures raised as suspensions: a row lock that one
/// import met between its own batches, labelled one record's failure, which
/// the files read as the org locked, the transient suspension the governor
/// probes and lifts by itself; and a metadata type refused `in this
/// version`, labelled the request's own failure, which the files read as
/// `INVALID_TYPE` is read, the object refused to the user.
const SEEN_MAX_RECORD_AS_SUSPENSION: usize = 2;

struct Case {
    line: usize,
    status_code: String,
    message: String,
    fields: Vec<String>,
    object_type: String,
    expected: Classification,
    source: String,
}

fn read(name: &str) -> Vec<Case> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let v: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}:{}: {e}", i + 1));
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            let e = &v["expected"];
            let expected = match e["level"].as_str() {
                Some("record") => Classification::Record(
                    ErrorType::from_code(e["type"].as_str().unwrap_or_default())
                        .unwrap_or_else(|| panic!("{name}:{}: type", i + 1)),
                ),
                Some("suspension") => Classification::Suspension(
                    SuspensionReason::from_code(e["reason"].as_str().unwrap_or_default())
                        .unwrap_or_else(|| panic!("{name}:{}: reason", i + 1)),
                ),
                other => panic!("{name}:{}: level {other:?}", i + 1),
            };
            Case {
                line: i + 1,
                status_code: s("status_code"),
                message: s("message"),
                fields: v["fields"]
                    .as_array()
                    .map(|f| {
                        f.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
                object_type: s("object_type"),
                expected,
                source: s("source"),
            }
        })
        .collect()
}

fn level(c: Classification) -> &'static str {
    match c {
        Classification::Record(_) => "record",
        Classification::Suspension(_) => "suspension",
    }
}

fn label(c: Classification) -> String {
    match c {
        Classification::Record(t) => format!("{}/{}", t.category().code(), t.code()),
        Classification::Suspension(r) => format!("suspension/{}", r.code()),
    }
}

#[test]
fn the_parts_share_no_source() {
    let tuning: HashSet<String> = read("salesforce_errors.jsonl")
        .into_iter()
        .chain(read("salesforce_errors_seen.jsonl"))
        .map(|c| c.source)
        .collect();
    let held = read("salesforce_errors_heldout.jsonl");
    if held.is_empty() {
        eprintln!("salesforce_errors_heldout.jsonl is empty: no held-out part to check");
        return;
    }
    for c in &held {
        assert!(!c.source.is_empty(), "line {} has no source", c.line);
        assert!(
            !tuning.contains(&c.source),
            "line {}: {} is in both parts",
            c.line,
            c.source
        );
    }
}

#[test]
fn held_out_accuracy_stays_above_its_floors() {
    if read("salesforce_errors_heldout.jsonl").is_empty() {
        eprintln!("salesforce_errors_heldout.jsonl is empty: no held-out part to measure");
        return;
    }
    measure(
        "salesforce_errors_heldout.jsonl",
        &["salesforce_errors.jsonl", "salesforce_errors_seen.jsonl"],
        EXACT_FLOOR,
        LEVEL_FLOOR,
        MAX_RECORD_AS_SUSPENSION,
    );
}

#[test]
fn the_seen_part_stays_above_its_floors() {
    measure(
        "salesforce_errors_seen.jsonl",
        &["salesforce_errors.jsonl"],
        SEEN_EXACT_FLOOR,
        SEEN_LEVEL_FLOOR,
        SEEN_MAX_RECORD_AS_SUSPENSION,
    );
}

/// Classifies every text of `part`, prints the figures, the level
/// confusions and the misses, and holds them to the floors and to at most
/// `max_record_as_suspension` record failures raised as suspensions;
/// `others` are the parts whose texts are left out of the second, "fresh"
/// figure.
fn measure(
    part: &str,
    others: &[&str],
    exact_floor: f64,
    level_floor: f64,
    max_record_as_suspension: usize,
) {
    let cases = read(part);
    let mut exact = 0;
    let mut levels = 0;
    let mut confusion: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut misses = Vec::new();
    for c in &cases {
        let got = classify(&FailureText {
            status_code: &c.status_code,
            message: &c.message,
            fields: &c.fields,
            object_type: &c.object_type,
        });
        *confusion
            .entry((level(c.expected), level(got)))
            .or_default() += 1;
        if got == c.expected {
            exact += 1;
        } else {
            misses.push(format!(
                "  line {} ({}): expected {}, got {}",
                c.line,
                c.source,
                label(c.expected),
                label(got)
            ));
        }
        if level(got) == level(c.expected) {
            levels += 1;
        }
    }
    let n = cases.len();
    let pct = |k: usize| 100.0 * k as f64 / n as f64;
    let record_as_suspension = confusion
        .get(&("record", "suspension"))
        .copied()
        .unwrap_or(0);
    eprintln!(
        "{part}: {n} texts from {} sources; exact {exact} ({:.1} %), level {levels} ({:.1} %)",
        cases
            .iter()
            .map(|c| &c.source)
            .collect::<HashSet<_>>()
            .len(),
        pct(exact),
        pct(levels)
    );
    eprintln!("level confusions (expected -> got): {confusion:?}");
    // The same text can come from two sources, one in each part: the
    // figure without those texts is the one that owes nothing to tuning.
    let tuning: HashSet<String> = others
        .iter()
        .flat_map(|o| read(o))
        .map(|c| c.message)
        .collect();
    let fresh: Vec<&Case> = cases
        .iter()
        .filter(|c| !tuning.contains(&c.message))
        .collect();
    let got: Vec<(Classification, Classification)> = fresh
        .iter()
        .map(|c| {
            let got = classify(&FailureText {
                status_code: &c.status_code,
                message: &c.message,
                fields: &c.fields,
                object_type: &c.object_type,
            });
            (c.expected, got)
        })
        .collect();
    let fresh_exact = got.iter().filter(|(e, g)| e == g).count();
    let fresh_level = got.iter().filter(|(e, g)| level(*e) == level(*g)).count();
    let of = |k: usize| 100.0 * k as f64 / fresh.len().max(1) as f64;
    eprintln!(
        "texts not also in another part: {}, exact {fresh_exact} ({:.1} %), level {fresh_level} ({:.1} %)",
        fresh.len(),
        of(fresh_exact),
        of(fresh_level)
    );
    eprintln!("misses:\n{}", misses.join("\n"));
    assert!(
        pct(exact) >= exact_floor,
        "{part}: exact {:.1} % < {exact_floor} %",
        pct(exact)
    );
    assert!(
        pct(levels) >= level_floor,
        "{part}: level {:.1} % < {level_floor} %",
        pct(levels)
    );
    // A record failure raised as a suspension stops a whole org: the
    // target is none, and no part may have more than it had when measured.
    assert!(
        record_as_suspension <= max_record_as_suspension,
        "{part}: {record_as_suspension} record failures raised as suspensions, at most {max_record_as_suspension} allowed"
    );
}
