//! Budgets as code: the YAML file operators keep under version control
//! (docs/BUDGETS.md), read into checked [`Entry`] values, written back
//! ([`render`]), and compared with what is live ([`plan`]). Both
//! `syncctl budget apply` and the governor's `--budgets-file` read it here,
//! so a file one accepts the other accepts too. Every entry is checked with
//! the rules SetBudget enforces ([`Budget::validate`]); a fault names the
//! line, the entry and the field. Pure: the time is passed in.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::budget::{AlertThresholds, AllocationOverride, Budget, Resource, Shares};
use crate::input::{InvalidInput, OrgId};

/// Most budgets one file may hold: hundreds of orgs with both resources,
/// with room to spare, and a bound on what one load writes.
pub const MAX_BUDGETS: usize = 20_000;
/// Largest file read, in bytes: far above [`MAX_BUDGETS`] entries.
pub const MAX_FILE_BYTES: usize = 8 << 20;

/// The file as written. Unknown keys are refused, so a typo (`alocation`)
/// is an error rather than a budget silently left at its old value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    budgets: Vec<RawBudget>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBudget {
    org_id: String,
    #[serde(default)]
    resource: Option<String>,
    org_limit: u64,
    allocation: u64,
    #[serde(default)]
    shares: Option<RawShares>,
    #[serde(default, rename = "override")]
    allocation_override: Option<RawOverride>,
    #[serde(default)]
    shadow: bool,
    #[serde(default)]
    alert_thresholds_percent: Option<Vec<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShares {
    retry_percent: u64,
    normal_percent: u64,
    critical_percent: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverride {
    allocation: u64,
    expires_at: String,
}

/// The budget of one org and resource, as a file asks for it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// The org.
    pub org: OrgId,
    /// The resource.
    pub resource: Resource,
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.org, self.resource.as_str())
    }
}

/// One budget of the file, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Whose budget.
    pub key: Key,
    /// The budget, valid at the time the file was read; an override that
    /// had already ended is dropped (see [`BudgetsFile::warnings`]).
    pub budget: Budget,
    /// The line the entry starts on (1-based), for messages.
    pub line: usize,
}

/// A budgets file, checked as a whole.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BudgetsFile {
    /// The budgets, in file order; no two share an org and resource.
    pub entries: Vec<Entry>,
    /// What was accepted but left out: overrides that had already ended.
    /// They are never set, and the reader should say so.
    pub warnings: Vec<String>,
}

impl BudgetsFile {
    /// The resources the file names at least one budget of: `--prune`
    /// touches only these, so a file that manages API budgets leaves bulk
    /// budgets alone.
    pub fn resources(&self) -> BTreeSet<Resource> {
        self.entries.iter().map(|e| e.key.resource).collect()
    }
}

/// Why a budgets file was refused: the line (1-based) and what is wrong,
/// naming the entry and the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct FileError {
    /// The line at fault.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Reads and checks a budgets file at `now_ms`; the first fault refuses it
/// whole, so a file is applied entirely or not at all.
pub fn parse(text: &str, now_ms: i64) -> Result<BudgetsFile, FileError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(FileError {
            line: 1,
            message: format!("the file is larger than {MAX_FILE_BYTES} bytes"),
        });
    }
    if is_blank(text) {
        return Ok(BudgetsFile::default());
    }
    let raw: RawFile = serde_norway::from_str(text).map_err(|e| FileError {
        line: e.location().map_or(1, |l| l.line()),
        message: e.to_string(),
    })?;
    if raw.budgets.len() > MAX_BUDGETS {
        return Err(FileError {
            line: 1,
            message: format!("budgets: at most {MAX_BUDGETS} entries"),
        });
    }
    let starts = entry_lines(text);
    let mut file = BudgetsFile::default();
    let mut seen: HashMap<Key, usize> = HashMap::new();
    for (i, raw) in raw.budgets.into_iter().enumerate() {
        let line = starts.get(i).copied().unwrap_or(1);
        let end = starts.get(i + 1).copied();
        let label = format!("budgets[{i}] (org_id {:?})", raw.org_id);
        let fail = |e: InvalidInput| {
            let field = file_name(&e.field);
            FileError {
                line: key_line(text, line, end, &field),
                message: format!("{label}: {field}: {}", file_name(&e.rule)),
            }
        };
        let (entry, warning) = read_entry(raw, now_ms).map_err(fail)?;
        if let Some(first) = seen.insert(entry.key.clone(), line) {
            return Err(FileError {
                line,
                message: format!(
                    "{label}: the budget of {} is already given on line {first}; \
                     each org and resource may appear once",
                    entry.key
                ),
            });
        }
        if let Some(w) = warning {
            file.warnings.push(format!("line {line}: {label}: {w}"));
        }
        file.entries.push(Entry { line, ..entry });
    }
    Ok(file)
}

/// True when `text` holds nothing but blank lines and comments: a file that
/// means no budgets, or one caught half written.
pub fn is_blank(text: &str) -> bool {
    text.lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
}

/// Checks one entry with SetBudget's rules; the override is dropped, with
/// a warning, when it has already ended.
fn read_entry(raw: RawBudget, now_ms: i64) -> Result<(Entry, Option<String>), InvalidInput> {
    let org = OrgId::parse(&raw.org_id)?;
    let resource = match raw.resource.as_deref() {
        None => Resource::ApiRequests,
        Some(name) => Resource::from_name(name)
            .ok_or_else(|| InvalidInput::new("resource", "must be api or bulk"))?,
    };
    let shares = match raw.shares {
        None => Shares::default(),
        Some(s) => Shares::new(s.retry_percent, s.normal_percent, s.critical_percent)?,
    };
    let mut warning = None;
    let allocation_override = match raw.allocation_override {
        None => None,
        Some(o) => {
            let expires_at_ms = read_time(&o.expires_at)?;
            if expires_at_ms <= now_ms {
                warning = Some(format!(
                    "override: ended at {}; skipped, not set",
                    o.expires_at.trim()
                ));
                None
            } else {
                Some(AllocationOverride {
                    allocation: o.allocation,
                    expires_at_ms,
                })
            }
        }
    };
    let budget = Budget {
        org_limit: raw.org_limit,
        allocation: raw.allocation,
        shares,
        allocation_override,
        shadow: raw.shadow,
        alert_thresholds: raw
            .alert_thresholds_percent
            .as_deref()
            .map(AlertThresholds::new)
            .transpose()?,
    };
    budget.validate(now_ms)?;
    let entry = Entry {
        key: Key { org, resource },
        budget,
        line: 0,
    };
    Ok((entry, warning))
}

/// An RFC 3339 time in UTC, in milliseconds since the epoch.
fn read_time(text: &str) -> Result<i64, InvalidInput> {
    let bad = || {
        InvalidInput::new(
            "budget.allocation_override.expires_at",
            "must be an RFC 3339 time in UTC, such as 2030-01-31T18:00:00Z",
        )
    };
    let at = humantime::parse_rfc3339_weak(text.trim()).map_err(|_| bad())?;
    Ok(match at.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).map_err(|_| bad())?,
        // Before 1970: long over.
        Err(_) => -1,
    })
}

/// A field or rule as SetBudget names it (`budget.allocation_override.x`),
/// as the file names it (`override.x`).
fn file_name(text: &str) -> String {
    text.replace("budget.allocation_override", "override")
        .replace("budget.", "")
}

/// The line each entry of the `budgets` list starts on: the `- ` items at
/// the list's own indentation. Best effort: a list written in flow style
/// (`[...]`) has none, and messages fall back to the entry's index.
fn entry_lines(text: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let mut indent = None;
    let mut inside = false;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let column = line.len() - trimmed.len();
        if column == 0 && !trimmed.starts_with('-') {
            inside = trimmed.starts_with("budgets:");
            continue;
        }
        if !inside || !(trimmed == "-" || trimmed.starts_with("- ")) {
            continue;
        }
        match indent {
            None => indent = Some(column),
            Some(i) if i != column => continue,
            Some(_) => {}
        }
        lines.push(n + 1);
    }
    lines
}

/// The line of `field` (dotted, such as `override.expires_at`) inside the
/// entry from `start` up to `end`; the entry's own line when not found.
fn key_line(text: &str, start: usize, end: Option<usize>, field: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let last = end.unwrap_or(lines.len() + 1).min(lines.len() + 1);
    let mut at = start;
    let mut parent_column: Option<usize> = None;
    for part in field.split('.').filter(|p| !p.is_empty()) {
        let found = (at..last).find_map(|n| {
            let line = lines.get(n - 1)?;
            let body = line.trim_start().trim_start_matches("- ").trim_start();
            let column = line.len() - body.len();
            let deeper = parent_column.is_none_or(|p| column > p);
            (deeper && body.starts_with(&format!("{part}:"))).then_some((n, column))
        });
        match found {
            Some((n, column)) => {
                at = n;
                parent_column = Some(column);
            }
            None => break,
        }
    }
    at
}

/// Writes budgets as a file [`parse`] reads back to the same entries:
/// what `syncctl budget export` prints. Default shares and ended overrides
/// are left out (`now_ms` decides which have ended).
pub fn render(budgets: &[(Key, Budget)], now_ms: i64) -> String {
    let mut out = String::from(
        "# Budgets of the quota governor: `syncctl budget apply -f FILE` or the\n\
         # governor's --budgets-file (docs/BUDGETS.md).\n",
    );
    if budgets.is_empty() {
        out.push_str("budgets: []\n");
        return out;
    }
    out.push_str("budgets:\n");
    for (key, budget) in budgets {
        // Org ids are of A-Z a-z 0-9 . _ : - only: quoted, they can never
        // read as a number or a boolean.
        out.push_str(&format!(
            "  - org_id: \"{}\"\n    resource: {}\n    org_limit: {}\n    allocation: {}\n",
            key.org,
            key.resource.as_str(),
            budget.org_limit,
            budget.allocation
        ));
        if budget.shares != Shares::default() {
            out.push_str(&format!(
                "    shares:\n      retry_percent: {}\n      normal_percent: {}\n      critical_percent: {}\n",
                budget.shares.retry, budget.shares.normal, budget.shares.critical
            ));
        }
        if let Some(o) = running_override(budget, now_ms) {
            out.push_str(&format!(
                "    override:\n      allocation: {}\n      expires_at: \"{}\"\n",
                o.allocation,
                format_time(o.expires_at_ms)
            ));
        }
        if budget.shadow {
            out.push_str("    shadow: true\n");
        }
        if let Some(t) = budget.alert_thresholds {
            out.push_str(&format!(
                "    alert_thresholds_percent: {}\n",
                thresholds_text(&t)
            ));
        }
    }
    out
}

/// A time as an RFC 3339 text in UTC, to the millisecond when it has any.
pub fn format_time(ms: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    if ms % 1000 == 0 {
        humantime::format_rfc3339_seconds(at).to_string()
    } else {
        humantime::format_rfc3339_millis(at).to_string()
    }
}

/// The override of `budget` when it is still running at `now_ms`: an ended
/// one changes nothing and is not worth comparing or writing.
fn running_override(budget: &Budget, now_ms: i64) -> Option<AllocationOverride> {
    budget
        .allocation_override
        .filter(|o| o.expires_at_ms > now_ms)
}

/// One field that differs between what is live and what the file asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldChange {
    /// The field, as the file names it.
    pub field: &'static str,
    /// What is live.
    pub before: String,
    /// What the file asks for.
    pub after: String,
}

/// What applying a file does to one budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The file has it, the governor has not: set it.
    Create {
        /// Whose.
        key: Key,
        /// The budget to set.
        after: Budget,
    },
    /// Both have it and they differ: set it.
    Update {
        /// Whose.
        key: Key,
        /// The budget to set.
        after: Budget,
        /// The fields that differ.
        fields: Vec<FieldChange>,
    },
    /// Both have it, the same: nothing to do.
    Unchanged {
        /// Whose.
        key: Key,
    },
    /// Live but not in the file, with pruning asked for: delete it.
    Delete {
        /// Whose.
        key: Key,
        /// What is live.
        before: Budget,
    },
}

impl Change {
    /// The budget it is about.
    pub fn key(&self) -> &Key {
        match self {
            Change::Create { key, .. }
            | Change::Update { key, .. }
            | Change::Unchanged { key }
            | Change::Delete { key, .. } => key,
        }
    }

    /// Its kind, as printed: create, update, unchanged or delete.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Create { .. } => "create",
            Change::Update { .. } => "update",
            Change::Unchanged { .. } => "unchanged",
            Change::Delete { .. } => "delete",
        }
    }

    /// True when applying it writes something.
    pub fn writes(&self) -> bool {
        !matches!(self, Change::Unchanged { .. })
    }
}

/// What each field looks like, for comparing and printing.
fn fields(budget: &Budget, now_ms: i64) -> [(&'static str, String); 6] {
    let s = budget.shares;
    [
        ("org_limit", budget.org_limit.to_string()),
        ("allocation", budget.allocation.to_string()),
        ("shares", format!("{}/{}/{}", s.retry, s.normal, s.critical)),
        (
            "override",
            match running_override(budget, now_ms) {
                None => "none".to_owned(),
                Some(o) => format!("{} until {}", o.allocation, format_time(o.expires_at_ms)),
            },
        ),
        ("shadow", budget.shadow.to_string()),
        (
            "alert_thresholds_percent",
            budget
                .alert_thresholds
                .map_or_else(|| "default".to_owned(), |t| thresholds_text(&t)),
        ),
    ]
}

/// Thresholds as the file writes them: `[80, 90, 100]`.
fn thresholds_text(t: &AlertThresholds) -> String {
    let list: Vec<String> = t.as_slice().iter().map(u8::to_string).collect();
    format!("[{}]", list.join(", "))
}

/// The field-by-field difference of two budgets (an ended override counts
/// as none).
pub fn differences(before: &Budget, after: &Budget, now_ms: i64) -> Vec<FieldChange> {
    fields(before, now_ms)
        .into_iter()
        .zip(fields(after, now_ms))
        .filter(|(b, a)| b.1 != a.1)
        .map(|((field, before), (_, after))| FieldChange {
            field,
            before,
            after,
        })
        .collect()
}

/// What applying `file` over the `live` budgets does, in file order, then
/// the deletions in key order. With `prune`, a live budget the file does
/// not name is deleted when its resource is one the file manages
/// ([`BudgetsFile::resources`]); `live` should hold only what the caller
/// may see, so nothing outside its orgs is ever touched.
pub fn plan(
    file: &BudgetsFile,
    live: &BTreeMap<Key, Budget>,
    prune: bool,
    now_ms: i64,
) -> Vec<Change> {
    let mut changes: Vec<Change> = file
        .entries
        .iter()
        .map(|entry| {
            let key = entry.key.clone();
            match live.get(&key) {
                None => Change::Create {
                    key,
                    after: entry.budget,
                },
                Some(before) => {
                    let fields = differences(before, &entry.budget, now_ms);
                    if fields.is_empty() {
                        Change::Unchanged { key }
                    } else {
                        Change::Update {
                            key,
                            after: entry.budget,
                            fields,
                        }
                    }
                }
            }
        })
        .collect();
    if prune {
        let named: BTreeSet<&Key> = file.entries.iter().map(|e| &e.key).collect();
        let managed = file.resources();
        changes.extend(
            live.iter()
                .filter(|(key, _)| managed.contains(&key.resource) && !named.contains(key))
                .map(|(key, before)| Change::Delete {
                    key: key.clone(),
                    before: *before,
                }),
        );
    }
    changes
}

/// Milliseconds since the epoch of a system time (0 before 1970).
pub fn epoch_ms(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-01T00:00:00Z.
    const NOW: i64 = 1_767_225_600_000;

    fn key(org: &str, resource: Resource) -> Key {
        Key {
            org: OrgId::parse(org).unwrap(),
            resource,
        }
    }

    const GOOD: &str = "\
# the fleet
budgets:
  - org_id: acme
    org_limit: 100000
    allocation: 50000
  - org_id: globex
    resource: bulk
    org_limit: 10000
    allocation: 2000
    shares:
      retry_percent: 50
      normal_percent: 90
      critical_percent: 100
    override:
      allocation: 8000
      expires_at: 2026-02-01T00:00:00Z
    shadow: true
    alert_thresholds_percent: [50, 75, 100]
";

    #[test]
    fn a_good_file_reads_into_checked_budgets_with_their_lines() {
        let file = parse(GOOD, NOW).unwrap();
        assert!(file.warnings.is_empty());
        assert_eq!(file.entries.len(), 2);
        let acme = &file.entries[0];
        assert_eq!(acme.key, key("acme", Resource::ApiRequests));
        assert_eq!(acme.budget, Budget::new(100_000, 50_000));
        assert_eq!(acme.line, 3);
        let globex = &file.entries[1];
        assert_eq!(globex.key, key("globex", Resource::BulkBatches));
        assert_eq!(globex.line, 6);
        assert!(globex.budget.shadow && !acme.budget.shadow);
        assert_eq!(
            globex.budget.thresholds().as_slice(),
            [50, 75, 100],
            "and acme has the defaults"
        );
        assert_eq!(acme.budget.alert_thresholds, None);
        assert_eq!(globex.budget.shares, Shares::new(50, 90, 100).unwrap());
        assert_eq!(
            globex.budget.allocation_override,
            Some(AllocationOverride {
                allocation: 8000,
                expires_at_ms: NOW + 31 * 24 * 3_600_000,
            })
        );
    }

    #[test]
    fn blank_files_hold_no_budgets() {
        for text in ["", "\n  \n# only a comment\n"] {
            assert_eq!(parse(text, NOW).unwrap(), BudgetsFile::default());
        }
        assert!(parse("budgets: []\n", NOW).unwrap().entries.is_empty());
    }

    /// The fault of `text`: its line and message.
    fn fault(text: &str) -> (usize, String) {
        let e = parse(text, NOW).expect_err("the file must be refused");
        (e.line, e.message)
    }

    #[test]
    fn bad_alert_thresholds_name_their_line_and_field() {
        let text = GOOD.replace("[50, 75, 100]", "[75, 50]");
        let (line, message) = fault(&text);
        assert_eq!(line, 18);
        assert!(
            message.starts_with(
                "budgets[1] (org_id \"globex\"): alert_thresholds_percent: must be ascending"
            ),
            "{message}"
        );
    }

    #[test]
    fn setbudget_rules_name_the_line_entry_and_field() {
        let text = GOOD.replace("allocation: 2000", "allocation: 20000");
        let (line, message) = fault(&text);
        assert_eq!(line, 9);
        assert!(
            message.starts_with(
                "budgets[1] (org_id \"globex\"): allocation: must be at most org_limit"
            ),
            "{message}"
        );

        let text = GOOD.replace("retry_percent: 50", "retry_percent: 0");
        let (line, message) = fault(&text);
        assert_eq!(line, 11);
        assert!(
            message.contains("shares.retry_percent: must be 1 to 100"),
            "{message}"
        );

        let text = GOOD.replace("normal_percent: 90", "normal_percent: 40");
        let (line, message) = fault(&text);
        assert_eq!(line, 10);
        assert!(message.contains("shares: must not decrease"), "{message}");

        let text = GOOD.replace("allocation: 8000", "allocation: 80000");
        let (line, message) = fault(&text);
        assert_eq!(line, 15);
        assert!(
            message.contains("override.allocation: must be at most org_limit"),
            "{message}"
        );

        let text = GOOD.replace("2026-02-01T00:00:00Z", "2028-01-01T00:00:00Z");
        let (line, message) = fault(&text);
        assert_eq!(line, 16);
        assert!(
            message.contains("override.expires_at: must be at most 366 days ahead"),
            "{message}"
        );

        let text = GOOD.replace("2026-02-01T00:00:00Z", "next tuesday");
        let (line, message) = fault(&text);
        assert_eq!(line, 16);
        assert!(
            message.contains("override.expires_at: must be an RFC 3339"),
            "{message}"
        );

        let (line, message) = fault(&GOOD.replace("org_id: acme", "org_id: \"ac{me}\""));
        assert_eq!(line, 3);
        assert!(message.contains("org_id: must be 1 to 64"), "{message}");

        let (line, message) = fault(&GOOD.replace("resource: bulk", "resource: batches"));
        assert_eq!(line, 7);
        assert!(
            message.contains("resource: must be api or bulk"),
            "{message}"
        );

        let (line, message) = fault(&GOOD.replace("org_limit: 100000", "org_limit: 0"));
        assert_eq!(line, 4);
        assert!(
            message.contains("org_limit: must be 1 to 1000000000"),
            "{message}"
        );
    }

    #[test]
    fn unknown_keys_and_bad_yaml_are_refused_at_their_line() {
        let (line, message) = fault(&GOOD.replace("    allocation: 50000", "    alocation: 50000"));
        assert_eq!(line, 5);
        assert!(message.contains("unknown field `alocation`"), "{message}");
        let (line, message) = fault("budgets:\n  - org_id: acme\n    org_limit: [\n");
        assert!(line >= 3, "{line}: {message}");
        let (_, message) = fault("budget:\n  - org_id: acme\n");
        assert!(message.contains("unknown field `budget`"), "{message}");
        let (_, message) = fault("budgets:\n  - org_id: acme\n    allocation: 1\n");
        assert!(message.contains("missing field `org_limit`"), "{message}");
        let (_, message) =
            fault("budgets:\n  - org_id: acme\n    org_limit: 10\n    allocation: -1\n");
        assert!(message.contains("allocation"), "{message}");
    }

    #[test]
    fn an_org_and_resource_may_appear_once() {
        let text = format!(
            "{GOOD}  - org_id: acme\n    resource: api\n    org_limit: 1\n    allocation: 1\n"
        );
        let (line, message) = fault(&text);
        assert_eq!(line, 19);
        assert!(message.contains("already given on line 3"), "{message}");
        // The same org with the other resource is another budget.
        let text = format!(
            "{GOOD}  - org_id: acme\n    resource: bulk\n    org_limit: 1\n    allocation: 1\n"
        );
        assert_eq!(parse(&text, NOW).unwrap().entries.len(), 3);
    }

    #[test]
    fn an_ended_override_is_skipped_with_a_warning() {
        let text = GOOD.replace("2026-02-01T00:00:00Z", "2025-12-31T00:00:00Z");
        let file = parse(&text, NOW).unwrap();
        assert_eq!(file.entries[1].budget.allocation_override, None);
        assert_eq!(file.warnings.len(), 1);
        assert!(
            file.warnings[0].starts_with("line 6: budgets[1]"),
            "{:?}",
            file.warnings
        );
        assert!(file.warnings[0].contains("skipped, not set"));
    }

    #[test]
    fn render_reads_back_to_the_same_budgets() {
        let file = parse(GOOD, NOW).unwrap();
        let pairs: Vec<(Key, Budget)> = file
            .entries
            .iter()
            .map(|e| (e.key.clone(), e.budget))
            .collect();
        let text = render(&pairs, NOW);
        let again = parse(&text, NOW).unwrap();
        let pairs_again: Vec<(Key, Budget)> = again
            .entries
            .iter()
            .map(|e| (e.key.clone(), e.budget))
            .collect();
        assert_eq!(pairs, pairs_again, "{text}");
        assert!(!text.contains("shares:\n      retry_percent: 75"), "{text}");
        assert_eq!(
            parse(&render(&[], NOW), NOW).unwrap(),
            BudgetsFile::default()
        );
        // An org id that YAML would read as a number stays text.
        let numeric = [(key("12345", Resource::ApiRequests), Budget::new(2, 1))];
        let back = parse(&render(&numeric, NOW), NOW).unwrap();
        assert_eq!(back.entries[0].key, numeric[0].0);
    }

    #[test]
    fn the_plan_creates_updates_and_leaves_alone() {
        let file = parse(GOOD, NOW).unwrap();
        let mut live = BTreeMap::new();
        let acme = key("acme", Resource::ApiRequests);
        let globex = key("globex", Resource::BulkBatches);
        let plan_of = |live: &BTreeMap<Key, Budget>, prune| plan(&file, live, prune, NOW);
        let all_new = plan_of(&live, false);
        assert_eq!(
            all_new.iter().map(Change::kind).collect::<Vec<_>>(),
            ["create", "create"]
        );
        live.insert(acme.clone(), Budget::new(100_000, 40_000));
        live.insert(globex.clone(), file.entries[1].budget);
        let changes = plan_of(&live, false);
        assert_eq!(
            changes[0],
            Change::Update {
                key: acme.clone(),
                after: Budget::new(100_000, 50_000),
                fields: vec![FieldChange {
                    field: "allocation",
                    before: "40000".into(),
                    after: "50000".into(),
                }],
            }
        );
        assert_eq!(changes[1], Change::Unchanged { key: globex });
        assert!(!changes[1].writes());
    }

    #[test]
    fn an_ended_live_override_counts_as_none() {
        let file = parse(GOOD, NOW).unwrap();
        let acme = key("acme", Resource::ApiRequests);
        let mut ended = Budget::new(100_000, 50_000);
        ended.allocation_override = Some(AllocationOverride {
            allocation: 60_000,
            expires_at_ms: NOW - 1,
        });
        let live = BTreeMap::from([(acme.clone(), ended)]);
        assert_eq!(
            plan(&file, &live, false, NOW)[0],
            Change::Unchanged { key: acme }
        );
    }

    #[test]
    fn prune_deletes_only_unnamed_budgets_of_the_resources_the_file_manages() {
        let file = parse(GOOD, NOW).unwrap();
        let stray_api = key("initech", Resource::ApiRequests);
        let stray_bulk = key("initech", Resource::BulkBatches);
        let live = BTreeMap::from([
            (stray_api.clone(), Budget::new(10, 5)),
            (stray_bulk.clone(), Budget::new(10, 5)),
        ]);
        assert!(
            plan(&file, &live, false, NOW)
                .iter()
                .all(|c| c.kind() == "create")
        );
        let pruned = plan(&file, &live, true, NOW);
        let deleted: Vec<&Key> = pruned
            .iter()
            .filter(|c| c.kind() == "delete")
            .map(Change::key)
            .collect();
        assert_eq!(deleted, [&stray_api, &stray_bulk]);
        // A file of API budgets only leaves every bulk budget alone.
        let api_only = parse(
            "budgets:\n  - org_id: acme\n    org_limit: 10\n    allocation: 5\n",
            NOW,
        )
        .unwrap();
        let deleted: Vec<Key> = plan(&api_only, &live, true, NOW)
            .into_iter()
            .filter(|c| c.kind() == "delete")
            .map(|c| c.key().clone())
            .collect();
        assert_eq!(deleted, [stray_api]);
        // An empty file manages no resource: prune deletes nothing.
        assert!(plan(&BudgetsFile::default(), &live, true, NOW).is_empty());
    }
}
