//! Classifier throughput on one core: the real Salesforce texts of
//! `tests/data/salesforce_errors.jsonl`, each grown to 1 KB (the longest
//! message the classifier is specified for) by repeating it or by appending
//! an Apex stack trace, then classified in a loop for about two seconds.
//!
//! Std only, so it runs without a benchmark framework: `cargo bench -p
//! sync-errors --bench classify`. The texts as they are (about 110 bytes on
//! average) are measured too, for comparison.
//!
//! `CLASSIFY_ROUNDS=N` classifies each input exactly N times instead of
//! running for a fixed time, so that a run under `valgrind --tool=cachegrind`
//! counts the same work every time (instructions and cache misses per
//! classification are the total over N times the number of inputs);
//! `CLASSIFY_INPUTS=long` (or `short`) measures the 1 KB inputs (or the texts
//! as they are) alone.

use std::hint::black_box;
use std::time::{Duration, Instant};

use sync_errors::classify::{FailureText, classify};

/// The length the inputs are grown to.
const MAX_LEN: usize = 1024;
/// How long each measurement runs.
const RUN: Duration = Duration::from_secs(2);

/// The parts of one data line that `classify` reads.
struct Input {
    status_code: String,
    message: String,
    fields: Vec<String>,
    object_type: String,
}

fn main() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/salesforce_errors.jsonl"
    );
    let data = std::fs::read_to_string(path).expect("the data file is readable");
    let texts: Vec<Input> = data
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| Input {
            status_code: json_string(l, "status_code").unwrap_or_default(),
            message: json_string(l, "message").unwrap_or_default(),
            fields: json_strings(l, "fields"),
            object_type: json_string(l, "object_type").unwrap_or_default(),
        })
        .collect();
    assert!(!texts.is_empty(), "no texts in {path}");

    let grown: Vec<Input> = texts
        .iter()
        .flat_map(|t| [repeated(t), with_stack_trace(t)])
        .collect();
    // `CLASSIFY_INPUTS=long` or `short` measures one of the two sets alone
    // (per-classification instruction counts under cachegrind).
    let only = std::env::var("CLASSIFY_INPUTS").unwrap_or_default();
    if only != "short" {
        report(&grown);
    }
    if only != "long" {
        report(&texts);
    }
}

/// Classifies `inputs` round-robin for [`RUN`] and prints the rate.
fn report(inputs: &[Input]) {
    let failures: Vec<FailureText<'_>> = inputs
        .iter()
        .map(|i| FailureText {
            status_code: &i.status_code,
            message: &i.message,
            fields: &i.fields,
            object_type: &i.object_type,
        })
        .collect();
    // Warm up: builds the automaton and the caches.
    for f in &failures {
        black_box(classify(black_box(f)));
    }
    let rounds: Option<u64> = std::env::var("CLASSIFY_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok());
    let start = Instant::now();
    let mut count: u64 = 0;
    while rounds.map_or(start.elapsed() < RUN, |r| count < r * failures.len() as u64) {
        // Reading the clock per call would be measured too: check per round.
        for f in &failures {
            black_box(classify(black_box(f)));
        }
        count += failures.len() as u64;
    }
    let rate = count as f64 / start.elapsed().as_secs_f64();
    let mean = inputs.iter().map(|i| i.message.len()).sum::<usize>() / inputs.len();
    println!(
        "classify: {rate:.0} classifications/s over {} inputs (mean message length {mean} bytes)",
        inputs.len()
    );
}

/// The message repeated, ` | `-separated, as long as it stays within
/// [`MAX_LEN`]: a client that joins the errors of a batch.
fn repeated(t: &Input) -> Input {
    let one = if t.message.is_empty() {
        "(no message)"
    } else {
        &t.message
    };
    let mut message = one.to_owned();
    while message.len() + 3 + one.len() <= MAX_LEN {
        message.push_str(" | ");
        message.push_str(one);
    }
    Input {
        message,
        ..clone_input(t)
    }
}

/// The message followed by an Apex stack trace up to [`MAX_LEN`], as in a
/// trigger's failure.
fn with_stack_trace(t: &Input) -> Input {
    let mut message = t.message.clone();
    let mut line = 1;
    while message.len() < MAX_LEN {
        message.push_str(&format!(
            "\nClass.OrderHandler.updateTotals: line {line}, column 1"
        ));
        line += 7;
    }
    let mut cut = MAX_LEN.min(message.len());
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    message.truncate(cut);
    Input {
        message,
        ..clone_input(t)
    }
}

fn clone_input(t: &Input) -> Input {
    Input {
        status_code: t.status_code.clone(),
        message: t.message.clone(),
        fields: t.fields.clone(),
        object_type: t.object_type.clone(),
    }
}

/// The string value of `"key": "..."` in one JSON line, unescaped. A
/// minimal reader for this data file, so the bench needs nothing but std.
fn json_string(line: &str, key: &str) -> Option<String> {
    let rest = after_key(line, key)?;
    let rest = rest.strip_prefix('"')?;
    unescape(rest).map(|(s, _)| s)
}

/// The string values of `"key": ["...", ...]` in one JSON line.
fn json_strings(line: &str, key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Some(mut rest) = after_key(line, key).and_then(|r| r.strip_prefix('[')) else {
        return out;
    };
    loop {
        rest = rest.trim_start_matches([' ', ',']);
        let Some(quoted) = rest.strip_prefix('"') else {
            return out;
        };
        let Some((s, tail)) = unescape(quoted) else {
            return out;
        };
        out.push(s);
        rest = tail;
    }
}

/// What follows `"key":` (and blanks) in `line`.
fn after_key<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let at = line.find(&format!("\"{key}\":"))?;
    Some(line[at + key.len() + 3..].trim_start())
}

/// The JSON string starting just after its opening quote, unescaped, and
/// the text after its closing quote.
fn unescape(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &s[i + 1..])),
            '\\' => {
                let (_, e) = chars.next()?;
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'u' => {
                        let hex: String = (0..4)
                            .filter_map(|_| chars.next().map(|(_, h)| h))
                            .collect();
                        let unit = u32::from_str_radix(&hex, 16).ok()?;
                        // Surrogate pairs are not needed by this file; keep a
                        // stand-in rather than failing.
                        out.push(char::from_u32(unit).unwrap_or('\u{fffd}'));
                    }
                    other => out.push(other),
                }
            }
            c => out.push(c),
        }
    }
    None
}
