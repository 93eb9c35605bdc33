//! The services' replies as text for a terminal. Every function here is pure:
//! a reply in, a `String` out, no I/O and no clock (relative times are
//! measured from the reply's own `as_of`), so the commands and anything else
//! that shows the same replies print the same thing, and tests can check it.
//!
//! Text that comes from the services (messages, details) goes through
//! [`clean`] first: a Salesforce message may hold newlines or terminal
//! escape sequences, and neither should break a table or the terminal.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost_types::Timestamp;
use syncgov_api::quota::v1 as quota;
use syncgov_api::syncerrors::v1 as errors;

use crate::names;

/// Rows of the usage chart.
pub const CHART_HEIGHT: usize = 8;

/// A cell filled by 0 to 8 eighths, bottom up.
const EIGHTHS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Characters per chart column: the bar and a gap, so neighbours stay apart.
const COLUMN_WIDTH: usize = 2;

/// Longest message shown in a list; `errors show` prints the whole of it.
const LIST_MESSAGE_CHARS: usize = 60;

/// Blanks between two columns.
const GAP: u16 = 2;

/// A table of left- or right-aligned columns, two spaces apart, drawn by
/// `comfy-table` without borders. Given a width, long cells (guidance, a
/// message) wrap within their column, between words, so that no line is
/// wider; without one, every row stays on one line (for pipes and files).
/// Numeric columns (right-aligned) never wrap, and no line ends in blanks.
#[derive(Clone, Debug, Default)]
pub struct Table {
    headers: Vec<String>,
    right: Vec<bool>,
    /// The narrowest each column may be, so that lines printed one at a
    /// time (a watched stream) line up.
    min: Vec<Option<u16>>,
    rows: Vec<Vec<String>>,
    /// Whether the header line is printed (not for key/value listings).
    header: bool,
    /// Blanks before every line, counted in the width.
    indent: usize,
}

impl Table {
    /// A table with these column headers, every column left-aligned.
    pub fn new(headers: &[&str]) -> Self {
        Self {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            right: vec![false; headers.len()],
            min: vec![None; headers.len()],
            rows: Vec::new(),
            header: true,
            indent: 0,
        }
    }

    /// Aligns `columns` to the right, as numbers read best; they are never
    /// wrapped.
    pub fn right_align(mut self, columns: &[usize]) -> Self {
        for &c in columns {
            if let Some(r) = self.right.get_mut(c) {
                *r = true;
            }
        }
        self
    }

    /// Makes each `(column, width)` at least that wide, so that separate
    /// renders of one row each line up.
    pub fn min_widths(mut self, widths: &[(usize, u16)]) -> Self {
        for &(c, w) in widths {
            if let Some(m) = self.min.get_mut(c) {
                *m = Some(w);
            }
        }
        self
    }

    /// Leaves the header line out: for key/value listings, where it says
    /// nothing.
    pub fn without_header(mut self) -> Self {
        self.header = false;
        self
    }

    /// Starts every line with `blanks` spaces (within the width).
    pub fn indent(mut self, blanks: usize) -> Self {
        self.indent = blanks;
        self
    }

    /// Adds a row; missing cells are blank, extra cells are dropped.
    pub fn row(&mut self, cells: Vec<String>) {
        let mut cells: Vec<String> = cells.into_iter().map(|c| clean(&c)).collect();
        cells.resize(self.headers.len(), String::new());
        self.rows.push(cells);
    }

    /// True when no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Whether `drawn` shows every word of every cell whole: wrapping cuts
    /// a word only when its column is narrower than it.
    fn keeps_every_word(&self, drawn: &comfy_table::Table) -> bool {
        let mut shown: Vec<&str> = Vec::new();
        let lines: Vec<String> = drawn.lines().collect();
        for line in &lines {
            shown.extend(line.split_whitespace());
        }
        shown.sort_unstable();
        let mut wanted: Vec<&str> = self
            .rows
            .iter()
            .flatten()
            .chain(self.headers.iter().filter(|_| self.header))
            .flat_map(|cell| cell.split_whitespace())
            .collect();
        wanted.sort_unstable();
        shown == wanted
    }

    /// The table without its last column when that fits `width` unwrapped,
    /// each row followed by its last cell on lines of its own, indented and
    /// wrapped: for a long last column (a detail, a message) on a terminal
    /// too narrow for it beside the others. `None` when even the other
    /// columns do not fit.
    fn last_below(&self, width: usize) -> Option<String> {
        let n = self.headers.len();
        if n < 2 {
            return None;
        }
        let mut front = Table {
            headers: self.headers[..n - 1].to_vec(),
            right: self.right[..n - 1].to_vec(),
            min: self.min[..n - 1].to_vec(),
            rows: Vec::new(),
            header: self.header,
            indent: self.indent,
        };
        front.rows = self.rows.iter().map(|r| r[..n - 1].to_vec()).collect();
        let drawn = front.render(None);
        if drawn.lines().any(|l| l.chars().count() > width) {
            return None;
        }
        let mut lines = drawn.lines();
        let mut out = String::new();
        if self.header {
            out.push_str(lines.next().unwrap_or_default());
            out.push('\n');
        }
        let hang = self.indent + 4;
        for (line, row) in lines.zip(&self.rows) {
            out.push_str(line);
            out.push('\n');
            let last = &row[n - 1];
            if !last.trim().is_empty() {
                out.push_str(&" ".repeat(hang));
                let wrapped = wrap(last, Some(width.saturating_sub(hang)), 0);
                out.push_str(&wrapped.replace('\n', &format!("\n{}", " ".repeat(hang))));
                out.push('\n');
            }
        }
        Some(out)
    }

    /// Each row as a block of `HEADER  value` lines, blocks apart by a
    /// blank line: for a width too narrow for the columns side by side.
    fn stacked(&self, width: Option<usize>) -> String {
        let mut blocks = Vec::new();
        for row in &self.rows {
            let mut pairs = Table::new(&["", ""]).without_header().indent(self.indent);
            for (header, cell) in self.headers.iter().zip(row) {
                pairs.row(vec![header.trim().to_owned(), cell.clone()]);
            }
            blocks.push(pairs.render(width));
        }
        blocks.join("\n")
    }

    /// The table, one line per row after the header line (more where a
    /// cell wraps), each ending in a newline; within `width` columns when
    /// given (see [`Table`]).
    pub fn render(&self, width: Option<usize>) -> String {
        use comfy_table::{CellAlignment, ColumnConstraint, ContentArrangement, Width};
        let mut table = comfy_table::Table::new();
        table.load_preset(comfy_table::presets::NOTHING);
        match width {
            Some(w) => {
                let inner = w.saturating_sub(self.indent).max(1);
                table
                    .set_content_arrangement(ContentArrangement::Dynamic)
                    .set_width(u16::try_from(inner).unwrap_or(u16::MAX));
            }
            None => {
                table.set_content_arrangement(ContentArrangement::Disabled);
            }
        }
        if self.header {
            table.set_header(self.headers.clone());
        }
        for row in &self.rows {
            table.add_row(row.clone());
        }
        let last = self.headers.len().saturating_sub(1);
        for (c, column) in table.column_iter_mut().enumerate() {
            column.set_padding((0, if c == last { 0 } else { GAP }));
            if self.right[c] {
                column.set_cell_alignment(CellAlignment::Right);
                column.set_constraint(ColumnConstraint::ContentWidth);
            } else if let Some(min) = self.min[c] {
                column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(
                    min + if c == last { 0 } else { GAP },
                )));
            }
        }
        let indent = " ".repeat(self.indent);
        let too_wide = |w: usize| {
            table
                .lines()
                .any(|l| self.indent + l.trim_end().chars().count() > w)
        };
        if let Some(w) = width
            && (!self.keeps_every_word(&table) || too_wide(w))
        {
            return self.last_below(w).unwrap_or_else(|| self.stacked(width));
        }
        table
            .lines()
            .map(|line| {
                let line = line.trim_end();
                if line.is_empty() {
                    "\n".to_owned()
                } else {
                    format!("{indent}{line}\n")
                }
            })
            .collect()
    }
}

/// `text` (one paragraph) broken between words into lines of at most
/// `width` characters, each line after the first starting with `hang`
/// blanks; as it is without a width. A word longer than a line keeps its
/// own line whole rather than being cut. No trailing newline.
pub fn wrap(text: &str, width: Option<usize>, hang: usize) -> String {
    let Some(width) = width else {
        return text.to_owned();
    };
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let indent = if out.is_empty() { 0 } else { hang };
        let fits = indent + line.chars().count() + 1 + word.chars().count() <= width;
        if line.is_empty() || fits {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
            continue;
        }
        if !out.is_empty() {
            out.push_str(&" ".repeat(hang));
        }
        out.push_str(&line);
        out.push('\n');
        line = word.to_owned();
    }
    if !out.is_empty() {
        out.push_str(&" ".repeat(hang));
    }
    out.push_str(&line);
    out
}

/// `label` padded to 12 columns, then `value` wrapped to `width` with its
/// lines after the first under its start; ends in a newline.
pub fn labelled(label: &str, value: &str, width: Option<usize>) -> String {
    const LABEL: usize = 12;
    let wrapped = wrap(value, width.map(|w| w.saturating_sub(LABEL)), 0);
    let hang = format!("\n{}", " ".repeat(LABEL));
    format!("{label:<LABEL$}{}\n", wrapped.replace('\n', &hang))
}

/// Service-provided text made safe for one table cell: control characters
/// (newlines, tabs, escape sequences) become spaces.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// At most `max` characters of `text`, with an ellipsis when cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A count with thousands separated: `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// A protobuf timestamp as RFC 3339 in UTC, to the second; `-` when absent.
pub fn timestamp(t: Option<&Timestamp>) -> String {
    match t.and_then(system_time) {
        Some(at) => humantime::format_rfc3339_seconds(at).to_string(),
        None => "-".to_owned(),
    }
}

/// The usage alert thresholds of a budget, in percent: its own, or the
/// governor's defaults when it names none.
pub fn alert_thresholds(b: &quota::Budget) -> Vec<u32> {
    if b.alert_thresholds_percent.is_empty() {
        syncgov_kit::budget::DEFAULT_ALERT_THRESHOLDS
            .iter()
            .map(|&p| u32::from(p))
            .collect()
    } else {
        b.alert_thresholds_percent.clone()
    }
}

/// A timestamp as a `SystemTime`; `None` before 1970 (nothing the services
/// send).
pub fn system_time(t: &Timestamp) -> Option<SystemTime> {
    let secs = u64::try_from(t.seconds).ok()?;
    let nanos = u32::try_from(t.nanos).unwrap_or(0);
    Some(UNIX_EPOCH + Duration::new(secs, nanos))
}

/// How long from `from` to `to`, as [`duration_words`] says it (`23 h 59
/// min`, `4 min 10 s`); `now` when `to` is not after `from`.
pub fn span(from: &Timestamp, to: &Timestamp) -> String {
    let ms = i128::from(to.seconds - from.seconds) * 1_000
        + i128::from(to.nanos - from.nanos) / 1_000_000;
    if ms < 1_000 {
        return "now".to_owned();
    }
    // Whole seconds: a time to come is not worth its milliseconds.
    let secs = u64::try_from(ms / 1_000).unwrap_or(u64::MAX);
    duration_words(Duration::from_secs(secs))
}

/// When `to` comes, seen from `from`: `in 4 min 10 s`, or `now`.
pub fn from_now(from: &Timestamp, to: &Timestamp) -> String {
    match span(from, to) {
        now if now == "now" => now,
        later => format!("in {later}"),
    }
}

/// A protobuf duration (a window, a slice) as [`duration_words`] says it;
/// a negative one as `0 s`.
pub fn duration(d: &prost_types::Duration) -> String {
    let secs = u64::try_from(d.seconds).unwrap_or(0);
    let nanos = u32::try_from(d.nanos).unwrap_or(0);
    duration_words(Duration::new(secs, nanos.min(999_999_999)))
}

/// A length of time as people read it, the one way syncctl and the demo
/// print any: `250 ms`, `2.5 s`, `45 s`, `2 min`, `4 min 10 s`, `1 h 30
/// min`, `24 h`, `3 d 2 h`. The two largest units at most (the smaller is
/// left out when zero); hours stay hours up to 48, so a day's window reads
/// `24 h`; under a minute, tenths of a second show when there are any.
pub fn duration_words(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1_000 {
        return format!("{ms} ms");
    }
    if ms < 60_000 {
        let tenths = (ms + 50) / 100;
        return if tenths.is_multiple_of(10) || ms >= 10_000 {
            format!("{} s", (ms + 500) / 1_000)
        } else {
            format!("{}.{} s", tenths / 10, tenths % 10)
        };
    }
    let secs = d.as_secs();
    let (days, hours, mins, s) = (
        secs / 86_400,
        secs % 86_400 / 3_600,
        secs % 3_600 / 60,
        secs % 60,
    );
    let pair = |big: u64, big_unit: &str, small: u64, small_unit: &str| {
        if small == 0 {
            format!("{big} {big_unit}")
        } else {
            format!("{big} {big_unit} {small} {small_unit}")
        }
    };
    if secs >= 48 * 3_600 {
        pair(days, "d", hours, "h")
    } else if secs >= 3_600 {
        pair(secs / 3_600, "h", mins, "min")
    } else {
        pair(mins, "min", s, "s")
    }
}

/// A count and its noun, singular for exactly one: `1 error`, `0 errors`,
/// `1,204 records`.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

/// `HH:MM` of a timestamp, in UTC; `HH:MM:SS` with `seconds`.
fn clock_time(t: &Timestamp, seconds: bool) -> String {
    let of_day = t.seconds.rem_euclid(86_400);
    let hm = format!("{:02}:{:02}", of_day / 3_600, of_day % 3_600 / 60);
    if seconds {
        format!("{hm}:{:02}", of_day % 60)
    } else {
        hm
    }
}

/// A bar chart of `values`, one column per value, `height` rows tall,
/// scaled so the largest value fills the whole height; each cell is filled
/// in eighths, and any value above zero shows at least one eighth, so a
/// little use never looks like none. The left axis names the scale (the
/// largest value at the top, 0 at the base); `x_labels` are put under the
/// columns they name, dropped when they would overlap the one before.
pub fn bar_chart(values: &[u64], height: usize, x_labels: &[(usize, String)]) -> String {
    if values.is_empty() {
        return "no data\n".to_owned();
    }
    let top = values.iter().copied().max().unwrap_or(0);
    let top_label = count(top);
    let gutter = top_label.chars().count();
    let eighths: Vec<u128> = values
        .iter()
        .map(|&v| {
            if top == 0 {
                0
            } else {
                (u128::from(v) * (height as u128) * 8).div_ceil(u128::from(top))
            }
        })
        .collect();
    let mut out = String::new();
    if top > 0 {
        for row in 0..height {
            let floor = ((height - 1 - row) * 8) as u128;
            let label = if row == 0 { top_label.as_str() } else { "" };
            let axis = if row == 0 { '┤' } else { '│' };
            let mut line = format!("{label:>gutter$} {axis}");
            for e in &eighths {
                let fill = e.saturating_sub(floor).min(8) as usize;
                line.push(EIGHTHS[fill]);
                line.push_str(&" ".repeat(COLUMN_WIDTH - 1));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out.push_str(&format!(
        "{:>gutter$} └{}\n",
        "0",
        "─".repeat(values.len() * COLUMN_WIDTH)
    ));
    let mut labels = " ".repeat(gutter + 2);
    let origin = labels.chars().count();
    for (column, label) in x_labels {
        let at = origin + column * COLUMN_WIDTH;
        let used = labels.chars().count();
        if *column >= values.len() || (used > origin && at <= used) {
            continue;
        }
        labels.push_str(&" ".repeat(at - used));
        labels.push_str(label);
    }
    if labels.trim().is_empty() {
        return out;
    }
    out.push_str(labels.trim_end());
    out.push('\n');
    out
}

/// A `GetUsage` reply: used, allocation and org limit, what each priority
/// has left, when calls free up, and the window as a chart.
/// The override of `budget` still running when `u` was read.
pub fn running_override<'a>(
    u: &quota::GetUsageResponse,
    budget: Option<&'a quota::Budget>,
) -> Option<&'a quota::AllocationOverride> {
    let o = budget?.allocation_override.as_ref()?;
    let now = syncgov_kit::clock::timestamp_ms(u.as_of.as_ref()?);
    (syncgov_kit::clock::timestamp_ms(o.expires_at.as_ref()?) > now).then_some(o)
}

/// Usage, as `GetUsage` returns it, with the org's budget when it has one
/// (to show an override beside the allocation it replaces).
pub fn usage(
    u: &quota::GetUsageResponse,
    budget: Option<&quota::Budget>,
    width: Option<usize>,
) -> String {
    let mut out = String::new();
    let share = if u.allocation > 0 {
        format!(" ({:.1} %)", u.used as f64 * 100.0 / u.allocation as f64)
    } else {
        String::new()
    };
    out.push_str(&format!(
        "used        {} of {} allocated{share}; org limit {}\n",
        count(u.used),
        count(u.allocation),
        count(u.org_limit)
    ));
    if u.is_default_budget {
        out.push_str("budget      the default budget (the org has none of its own)\n");
    }
    if let Some(o) = running_override(u, budget) {
        out.push_str(&format!(
            "override    {} until {}{}; the budget's own allocation is {}\n",
            count(o.allocation),
            timestamp(o.expires_at.as_ref()),
            match (&u.as_of, &o.expires_at) {
                (Some(now), Some(at)) => format!(" ({})", from_now(now, at)),
                _ => String::new(),
            },
            count(budget.map_or(0, |b| b.allocation))
        ));
    }
    if let Some(reported) = &u.org_usage_reported_at {
        out.push_str(&format!(
            "org usage   {} estimated (all apps), last reported {}\n",
            count(u.org_used_estimate),
            timestamp(Some(reported))
        ));
    }
    match (&u.next_free_at, &u.as_of) {
        (Some(at), Some(now)) => out.push_str(&format!(
            "next free   {} at {} ({})\n",
            plural(u.next_free_calls, "call", "calls"),
            timestamp(Some(at)),
            from_now(now, at)
        )),
        (Some(at), None) => out.push_str(&format!(
            "next free   {} at {}\n",
            plural(u.next_free_calls, "call", "calls"),
            timestamp(Some(at))
        )),
        (None, _) => out.push_str("next free   nothing counted in the window\n"),
    }
    out.push_str(&labelled("forecast", &forecast(u), width));
    out.push_str(&format!("as of       {}\n", timestamp(u.as_of.as_ref())));

    let mut table = Table::new(&["PRIORITY", "LIMIT", "REMAINING"]).right_align(&[1, 2]);
    for r in &u.remaining {
        table.row(vec![
            names::priority(r.priority),
            count(r.limit),
            count(r.remaining),
        ]);
    }
    if !table.is_empty() {
        out.push('\n');
        out.push_str(&table.render(width));
    }
    out.push_str(&consumers(u, width));

    out.push('\n');
    out.push_str(&usage_chart(u));
    out
}

/// The top consumers of a usage reply as a table, with the tokens of those
/// not listed and of those beyond the cap; nothing when none were counted
/// (or none asked for).
fn consumers(u: &quota::GetUsageResponse, width: Option<usize>) -> String {
    if u.top_consumers.is_empty() && u.other_tokens == 0 {
        return String::new();
    }
    let share = |tokens: u64| {
        if u.used > 0 {
            format!("{:.1} %", tokens as f64 * 100.0 / u.used as f64)
        } else {
            "-".to_owned()
        }
    };
    let said = |s: &str| {
        if s.is_empty() {
            "-".to_owned()
        } else {
            s.to_owned()
        }
    };
    let mut table = Table::new(&["CLIENT", "OBJECT", "OPERATION", "TOKENS", "SHARE OF USED"])
        .right_align(&[3, 4]);
    for c in &u.top_consumers {
        table.row(vec![
            said(&c.client_id),
            said(&c.object),
            said(&c.operation),
            count(c.tokens),
            share(c.tokens),
        ]);
    }
    if u.other_named_tokens > 0 {
        let left = (u.consumer_count as usize).saturating_sub(u.top_consumers.len());
        table.row(vec![
            format!("({left} more)"),
            String::new(),
            String::new(),
            count(u.other_named_tokens),
            share(u.other_named_tokens),
        ]);
    }
    if u.other_tokens > 0 {
        table.row(vec![
            "(other)".to_owned(),
            String::new(),
            String::new(),
            count(u.other_tokens),
            share(u.other_tokens),
        ]);
    }
    let mut out = format!(
        "\ntop consumers (tokens granted in the window; releases not subtracted)\n{}",
        table.render(width)
    );
    if u.other_tokens > 0 {
        out.push_str(&format!(
            "(other): consumers beyond the {} a window bucket names\n",
            u.consumer_cap
        ));
    }
    out
}

/// When the allocation runs out at the current rate, in words: `at the
/// current rate of 1,200 calls/hour the allocation runs out at 17:40 UTC
/// (in 3 h 20 min)`.
pub fn forecast(u: &quota::GetUsageResponse) -> String {
    let rate = rate(u.calls_per_hour);
    let window = u.window.as_ref().map_or_else(
        || "window".to_owned(),
        |w| format!("{} window", duration(w)),
    );
    match (&u.exhausted_at, &u.as_of) {
        (Some(at), Some(now)) if at.seconds <= now.seconds && u.used >= u.allocation => {
            format!("the allocation is used up now ({rate} calls/hour)")
        }
        (Some(at), Some(now)) => format!(
            "at the current rate of {rate} calls/hour the allocation runs out at {} UTC ({})",
            clock_time(at, span_is_short(now, at)),
            from_now(now, at)
        ),
        (Some(at), None) => format!(
            "at the current rate of {rate} calls/hour the allocation runs out at {}",
            timestamp(Some(at))
        ),
        (None, _) => format!(
            "at the current rate of {rate} calls/hour the allocation does not run out within the {window}"
        ),
    }
}

/// True when `to` is less than an hour after `from`: a time then shows
/// its seconds.
fn span_is_short(from: &Timestamp, to: &Timestamp) -> bool {
    to.seconds - from.seconds < 3_600
}

/// A rate of calls: whole calls with separators from 10 on, one decimal
/// below.
fn rate(per_hour: f64) -> String {
    if !per_hour.is_finite() || per_hour <= 0.0 {
        "0".to_owned()
    } else if per_hour >= 10.0 {
        count(per_hour.round() as u64)
    } else {
        format!("{per_hour:.1}")
    }
}

/// The `series` of a usage reply as a chart with its caption.
fn usage_chart(u: &quota::GetUsageResponse) -> String {
    if u.series.is_empty() {
        return "no usage series in the reply\n".to_owned();
    }
    let window = u.window.as_ref().map(duration);
    let window_ms = u.window.as_ref().map_or(0, |w| {
        w.seconds.max(0) * 1_000 + i64::from(w.nanos.max(0)) / 1_000_000
    });
    let slice = match (&u.window, u.series.len()) {
        (Some(_), n) if window_ms > 0 => {
            let ms = window_ms / n as i64;
            Some(prost_types::Duration {
                seconds: ms / 1_000,
                nanos: (ms % 1_000) as i32 * 1_000_000,
            })
        }
        _ => match (u.series.first(), u.series.get(1)) {
            (Some(a), Some(b)) => match (&a.start, &b.start) {
                (Some(a), Some(b)) => Some(prost_types::Duration {
                    seconds: b.seconds - a.seconds,
                    nanos: 0,
                }),
                _ => None,
            },
            _ => None,
        },
    };
    let values: Vec<u64> = u.series.iter().map(|p| p.calls).collect();
    let peak = values.iter().copied().max().unwrap_or(0);
    let mut caption = match &slice {
        Some(s) => format!("calls per {} slice", duration(s)),
        None => "calls per slice".to_owned(),
    };
    if let Some(w) = window {
        caption.push_str(&format!(", last {w}"));
    }
    caption.push_str(" (times UTC)");
    if peak == 0 {
        caption.push_str(": no calls");
    }
    // A label every quarter of the window, plus the newest slice.
    let step = (u.series.len() / 4).max(1);
    let labels: Vec<(usize, String)> = u
        .series
        .iter()
        .enumerate()
        .filter(|(i, _)| i % step == 0)
        .filter_map(|(i, p)| {
            p.start
                .as_ref()
                .map(|s| (i, clock_time(s, window_ms < 3_600_000)))
        })
        .collect();
    format!("{caption}\n{}", bar_chart(&values, CHART_HEIGHT, &labels))
}

/// A budget, as `GetBudget` or `SetBudget` returns it, at `now_ms` (an
/// override that has ended is shown as ended, not as if it held).
pub fn budget(b: &quota::Budget, is_default: bool, now_ms: i64) -> String {
    let mut out = format!(
        "org limit   {} per window\nallocation  {}\n",
        plural(b.org_limit, "call", "calls"),
        count(b.allocation)
    );
    if let Some(s) = &b.shares {
        out.push_str(&format!(
            "shares      retry {} %, normal {} %, critical {} %\n",
            s.retry_percent, s.normal_percent, s.critical_percent
        ));
    }
    if let Some(o) = &b.allocation_override {
        let ended = o
            .expires_at
            .as_ref()
            .is_some_and(|at| syncgov_kit::clock::timestamp_ms(at) <= now_ms);
        if ended {
            out.push_str(&format!(
                "override    ended {}: the allocation of {} holds\n",
                timestamp(o.expires_at.as_ref()),
                count(b.allocation)
            ));
        } else {
            out.push_str(&format!(
                "override    {} until {}, in place of the allocation\n",
                count(o.allocation),
                timestamp(o.expires_at.as_ref())
            ));
        }
    }
    if b.shadow {
        out.push_str(
            "shadow      yes: what the allocation or a share would deny is granted and flagged\n",
        );
    }
    let thresholds: Vec<String> = alert_thresholds(b).iter().map(u32::to_string).collect();
    out.push_str(&format!(
        "alerts      at {} % of the allocation and of the org limit{}\n",
        thresholds.join(", "),
        if b.alert_thresholds_percent.is_empty() {
            " (the defaults)"
        } else {
            ""
        }
    ));
    if is_default {
        out.push_str("default     yes: the org has no budget of its own\n");
    }
    out
}

/// How a suspension ends, in words.
fn clearing_words(n: i32) -> String {
    match quota::SuspensionClearing::try_from(n) {
        Ok(quota::SuspensionClearing::Operator) => "by an operator".to_owned(),
        Ok(quota::SuspensionClearing::Probe) => "by a probe".to_owned(),
        Ok(quota::SuspensionClearing::Allocation) => "when the allocation has room".to_owned(),
        Ok(quota::SuspensionClearing::OrgLimit) => "when the org has calls again".to_owned(),
        _ => names::clearing(n),
    }
}

/// Longest org id shown in a fleet table; JSON has the whole of it.
const FLEET_ORG_CHARS: usize = 32;

/// The line that says how to ask for the next page, if there is one.
fn next_page(token: &str) -> String {
    if token.is_empty() {
        String::new()
    } else {
        format!("next page: --page-token {}\n", clean(token))
    }
}

/// A page of every org's budgets: one row per (org, resource), within 100
/// columns.
pub fn budget_list(r: &quota::ListBudgetsResponse, width: Option<usize>) -> String {
    if r.budgets.is_empty() {
        return format!("no budgets\n{}", next_page(&r.next_page_token));
    }
    let mut headers = vec![
        "ORG",
        "RESOURCE",
        "ORG LIMIT",
        "ALLOCATION",
        "SHARES R/N/C",
        "OVERRIDE",
    ];
    // Only a page with a budget in shadow mode says which: the table stays
    // as narrow as it was for fleets that use none.
    if r.budgets
        .iter()
        .any(|b| b.budget.as_ref().is_some_and(|b| b.shadow))
    {
        headers.push("SHADOW");
    }
    let mut table = Table::new(&headers).right_align(&[2, 3, 4]);
    for b in &r.budgets {
        let budget = b.budget.clone().unwrap_or_default();
        let shares = budget.shares.as_ref().map_or_else(
            || "-".to_owned(),
            |s| {
                format!(
                    "{}/{}/{}",
                    s.retry_percent, s.normal_percent, s.critical_percent
                )
            },
        );
        let over = budget.allocation_override.as_ref().map_or_else(
            || "-".to_owned(),
            |o| {
                format!(
                    "{} to {}",
                    count(o.allocation),
                    timestamp(o.expires_at.as_ref())
                )
            },
        );
        table.row(vec![
            shorten(&b.org_id, FLEET_ORG_CHARS),
            names::resource(b.resource),
            count(budget.org_limit),
            count(budget.allocation),
            shares,
            over,
            if budget.shadow { "yes" } else { "-" }.to_owned(),
        ]);
    }
    table.render(width) + &next_page(&r.next_page_token)
}

/// A share as a percentage with one decimal.
fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

/// A page of the usage view: the orgs nearest their allocation or org
/// limit, the nearest first, within 100 columns.
pub fn usage_list(r: &quota::ListUsageResponse, width: Option<usize>) -> String {
    if r.orgs.is_empty() {
        return format!("no usage counted\n{}", next_page(&r.next_page_token));
    }
    let mut table = Table::new(&[
        "ORG",
        "USED",
        "ALLOCATION",
        "OF ALLOC",
        "OF ORG LIMIT",
        "NEAREST",
    ])
    .right_align(&[1, 2, 3, 4]);
    for o in &r.orgs {
        let nearest = if o.org_share > o.allocation_share {
            "org limit"
        } else {
            "allocation"
        };
        table.row(vec![
            shorten(&o.org_id, FLEET_ORG_CHARS),
            count(o.used),
            count(o.allocation),
            percent(o.allocation_share),
            if o.org_limit > 0 && o.org_used_estimate > 0 {
                percent(o.org_share)
            } else {
                "-".to_owned()
            },
            format!(
                "{nearest}{}",
                if o.is_default_budget {
                    " (default)"
                } else {
                    ""
                }
            ),
        ]);
    }
    table.render(width) + &next_page(&r.next_page_token)
}

/// A page of every org's active suspensions, within 100 columns.
pub fn suspension_list(r: &quota::ListSuspensionsResponse, width: Option<usize>) -> String {
    if r.suspensions.is_empty() {
        return format!("no active suspensions\n{}", next_page(&r.next_page_token));
    }
    let mut table = Table::new(&["ORG", "REASON", "SINCE", "ENDS"]);
    for s in &r.suspensions {
        table.row(vec![
            shorten(&s.org_id, 24),
            names::reason(s.reason),
            timestamp(s.since.as_ref()),
            shorten(&clearing_words(s.clearing), 14),
        ]);
    }
    table.render(width) + &next_page(&r.next_page_token)
}

/// A page of the orgs with the most errors, within 100 columns.
pub fn top_orgs(r: &errors::ListTopOrgsResponse, width: Option<usize>) -> String {
    if r.orgs.is_empty() {
        return format!("no org has any\n{}", next_page(&r.next_page_token));
    }
    let mut table = Table::new(&["ORG", "CURRENT", "UNKNOWN", "DEAD JOBS", "RECORDS"])
        .right_align(&[1, 2, 3, 4]);
    for o in &r.orgs {
        table.row(vec![
            shorten(&o.org_id, FLEET_ORG_CHARS),
            count(o.current_errors),
            count(o.unknown_errors),
            count(o.dead_jobs),
            count(o.impacted_records),
        ]);
    }
    table.render(width) + &next_page(&r.next_page_token)
}

/// An org's active suspensions, with what to do about each.
pub fn suspensions(list: &[quota::Suspension], width: Option<usize>) -> String {
    if list.is_empty() {
        return "no active suspensions\n".to_owned();
    }
    let mut table = Table::new(&["REASON", "SINCE", "ENDS", "NEXT PROBE", "DETAIL"]);
    for s in list {
        table.row(vec![
            names::reason(s.reason),
            timestamp(s.since.as_ref()),
            clearing_words(s.clearing),
            timestamp(s.next_probe_at.as_ref()),
            s.detail.clone(),
        ]);
    }
    let mut out = table.render(width);
    out.push('\n');
    for s in list {
        if !s.guidance.is_empty() {
            let line = format!("{}: {}", names::reason(s.reason), clean(&s.guidance));
            out.push_str(&wrap(&line, width, 2));
            out.push('\n');
        }
    }
    out
}

/// The columns of suspension events. Lines printed one at a time as
/// events happen (`watch`) get each column at least as wide as its usual
/// content (most reasons are 30 characters at most; a cursor 15), so that
/// they line up as one table would.
fn event_table(one_by_one: bool) -> Table {
    if one_by_one {
        Table::new(&["WHEN", "EVENT", "ORG", "REASON", "BY", "CURSOR", "DETAIL"]).min_widths(&[
            (0, 20),
            (1, 9),
            (2, 10),
            (3, 30),
            (4, 14),
            (5, 22),
        ])
    } else {
        Table::new(&["WHEN", "EVENT", "ORG", "REASON", "BY", "DETAIL"])
    }
}

/// The cells of one suspension event: when, what happened, the org, the
/// reason, who ended it, the detail and the cursor to resume after it.
fn event_row(e: &quota::WatchSuspensionsResponse, cursor: bool) -> Vec<String> {
    let by = if e.kind == quota::SuspensionEventKind::Cleared as i32 {
        if e.automatic {
            "automatically"
        } else {
            "by an operator"
        }
    } else {
        ""
    };
    let detail = if e.detail.is_empty() {
        String::new()
    } else {
        format!("{:?}", clean(&e.detail))
    };
    let mut row = vec![
        timestamp(e.at.as_ref()),
        names::event_kind(e.kind),
        clean(&e.org_id),
        names::reason(e.reason),
        by.to_owned(),
    ];
    if cursor {
        row.push(format!("cursor={}", clean(&e.cursor)));
    }
    row.push(detail);
    row
}

/// One suspension event on one line, for `suspensions watch`, in columns
/// of fixed least widths so that lines printed one by one line up: when,
/// what happened, the org, the reason, who ended it, the cursor to resume
/// after it and the detail. Never wrapped: one event, one line.
pub fn suspension_event(e: &quota::WatchSuspensionsResponse) -> String {
    let mut table = event_table(true).without_header();
    table.row(event_row(e, true));
    table.render(None).trim_end().to_owned()
}

/// Suspension events as one table under a header (a history), in the
/// columns of [`suspension_event`] but the cursor (a history is read, not
/// resumed); `no suspensions` when there were none.
pub fn suspension_history(
    events: &[quota::WatchSuspensionsResponse],
    width: Option<usize>,
) -> String {
    if events.is_empty() {
        return "no suspensions\n".to_owned();
    }
    let mut table = event_table(false);
    for e in events {
        table.row(event_row(e, false));
    }
    table.render(width)
}

/// An org's suspensions of one page of its history, newest first: reason,
/// when it began and ended, how, and the detail (last, as it is the one to
/// wrap); then the token of the older page.
pub fn history(rows: &[crate::history::Row], next: &str, width: Option<usize>) -> String {
    if rows.is_empty() {
        let none = if next.is_empty() {
            "no suspensions\n"
        } else {
            "no suspensions among the events read\n"
        };
        return format!("{none}{}", next_page(next));
    }
    let mut table = Table::new(&["REASON", "BEGAN", "ENDED", "HOW IT ENDED", "DETAIL"]);
    for r in rows {
        table.row(vec![
            names::reason(r.reason),
            match &r.began {
                Some(t) => timestamp(Some(t)),
                None => "(older events)".to_owned(),
            },
            timestamp(r.ended.as_ref()),
            r.how.words().to_owned(),
            clean(&r.detail),
        ]);
    }
    table.render(width) + &next_page(next)
}

/// The sync health cards: per category, its types with their current
/// errors, impacted records, dead errors and guidance; then the latest
/// suspension-level failures.
pub fn health_cards(h: &errors::GetSyncHealthResponse, width: Option<usize>) -> String {
    let mut out = format!(
        "{} on {}\n",
        plural(h.current_errors, "current error", "current errors"),
        plural(h.impacted_records, "record", "records")
    );
    if h.current_errors > 0 {
        let line = format!(
            "{} not recognised (OTHER/UNKNOWN): an operator rule or a worker-stated type can \
             name them",
            count(h.unknown_errors)
        );
        out.push_str(&wrap(&line, width, 2));
        out.push('\n');
    }
    for c in &h.categories {
        out.push_str(&format!(
            "\n{}: {}, {}\n",
            names::category(c.category),
            plural(c.current_errors, "error", "errors"),
            plural(c.impacted_records, "record", "records")
        ));
        let mut table = Table::new(&["TYPE", "ERRORS", "RECORDS", "DEAD", "GUIDANCE"])
            .right_align(&[1, 2, 3])
            .indent(2);
        for t in &c.types {
            table.row(vec![
                names::error_type(t.r#type),
                count(t.current_errors),
                count(t.impacted_records),
                count(t.dead_errors),
                t.guidance.clone(),
            ]);
        }
        out.push_str(&table.render(width));
    }
    if !h.recent_suspensions.is_empty() {
        out.push_str("\nrecent suspension-level failures\n");
        let mut table = Table::new(&["WHEN", "REASON", "STATUS", "MESSAGE"]);
        for s in &h.recent_suspensions {
            table.row(vec![
                timestamp(s.occurred_at.as_ref()),
                names::reason(s.reason),
                s.status_code.clone(),
                shorten(&s.message, LIST_MESSAGE_CHARS),
            ]);
        }
        out.push_str(&table.render(width));
    }
    out
}

/// The category and type of an error, `CATEGORY/TYPE`.
fn classification(c: Option<&errors::RecordLevel>) -> String {
    match c {
        Some(c) => format!(
            "{}/{}",
            names::category(c.category),
            names::error_type(c.r#type)
        ),
        None => "-".to_owned(),
    }
}

/// An error's type in a list, with `*` when its worker stated it.
fn list_type(e: &errors::SyncError) -> String {
    let name = e
        .classification
        .as_ref()
        .map(|c| names::error_type(c.r#type))
        .unwrap_or_else(|| "-".to_owned());
    let stated = e.explanation.as_ref().is_some_and(|x| {
        x.basis == syncgov_api::taxonomy::v1::ClassificationBasis::WorkerStated as i32
    });
    if stated { format!("{name}*") } else { name }
}

/// Errors as blocks, for a terminal too narrow for the list's table: a
/// line with the id, state, type, object and record, then the times seen
/// and the message under it, indented; each wrapped between words, so ids
/// and times stay whole.
fn error_blocks(list: &[errors::SyncError], width: Option<usize>) -> String {
    let mut out = String::new();
    for e in list {
        let head = format!(
            "{} {} {} {} {}",
            clean(&e.error_id),
            names::state(e.state),
            list_type(e),
            clean(&e.object_type),
            clean(&e.crm_record_id)
        );
        out.push_str(&indented(&head, width, 0, 4));
        let seen = format!(
            "seen {}, last {}",
            plural(e.occurrences, "time", "times"),
            timestamp(e.last_seen.as_ref())
        );
        out.push_str(&indented(&seen, width, 4, 4));
        let message = shorten(&clean(&e.message), LIST_MESSAGE_CHARS);
        out.push_str(&indented(&message, width, 4, 4));
    }
    out
}

/// `text` wrapped to `width`, its first line after `first` blanks and the
/// others after `rest`; ends in a newline.
fn indented(text: &str, width: Option<usize>, first: usize, rest: usize) -> String {
    let inner = width.map(|w| w.saturating_sub(rest.max(first)).max(1));
    let wrapped = wrap(text, inner, 0);
    let hang = format!("\n{}", " ".repeat(rest));
    format!("{}{}\n", " ".repeat(first), wrapped.replace('\n', &hang))
}

/// A page of errors, and how to ask for the next one: a table, or blocks
/// (see [`error_blocks`]) when the table would not fit `width` (wrapping
/// its eight columns would cut ids and times).
pub fn error_list(
    list: &[errors::SyncError],
    next_page_token: &str,
    width: Option<usize>,
) -> String {
    let whole = error_list_table(list, None);
    let fits = |w: usize| whole.lines().all(|l| l.chars().count() <= w);
    let mut out = if list.is_empty() {
        "no errors match\n".to_owned()
    } else if width.is_none_or(fits) {
        whole
    } else {
        error_blocks(list, width)
    };
    if list.iter().any(|e| list_type(e).ends_with('*')) {
        out.push_str("* stated by the sync worker\n");
    }
    if !next_page_token.is_empty() {
        out.push_str(&format!(
            "next page: --page-token {}\n",
            clean(next_page_token)
        ));
    }
    out
}

/// The errors of a list as a table.
fn error_list_table(list: &[errors::SyncError], width: Option<usize>) -> String {
    let mut table = Table::new(&[
        "ERROR ID",
        "STATE",
        "TYPE",
        "OBJECT",
        "RECORD",
        "SEEN",
        "LAST SEEN",
        "MESSAGE",
    ])
    .right_align(&[5]);
    for e in list {
        table.row(vec![
            e.error_id.clone(),
            names::state(e.state),
            list_type(e),
            e.object_type.clone(),
            e.crm_record_id.clone(),
            count(e.occurrences),
            timestamp(e.last_seen.as_ref()),
            shorten(&clean(&e.message), LIST_MESSAGE_CHARS),
        ]);
    }
    table.render(width)
}

/// One error, every field.
pub fn error_detail(e: &errors::SyncError, width: Option<usize>) -> String {
    // The header row says nothing for a key/value listing.
    let mut table = Table::new(&["FIELD", "VALUE"]).without_header();
    let rows = [
        ("error id", e.error_id.clone()),
        ("org", e.org_id.clone()),
        ("state", names::state(e.state)),
        ("classification", classification(e.classification.as_ref())),
        ("object", e.object_type.clone()),
        ("crm record", e.crm_record_id.clone()),
        ("salesforce id", e.salesforce_id.clone()),
        ("direction", names::direction(e.direction)),
        ("status code", e.status_code.clone()),
        ("message", e.message.clone()),
        ("fields", e.fields.join(", ")),
        ("occurrences", count(e.occurrences)),
        ("first seen", timestamp(e.first_seen.as_ref())),
        ("last seen", timestamp(e.last_seen.as_ref())),
        ("resync attempts", e.resync_attempts.to_string()),
        ("decided by", explanation(e.explanation.as_ref())),
        ("guidance", e.guidance.clone()),
    ];
    for (name, value) in rows {
        table.row(vec![name.to_owned(), value]);
    }
    table.render(width)
}

/// What decided a classification: `WORKER_STATED (the worker's own
/// EMAIL_ALREADY_IN_USE), confidence 1.00`, `STATUS_CODE STRING_TOO_LONG,
/// confidence 0.95`; `-` when the service did not say.
pub fn explanation(x: Option<&errors::Explanation>) -> String {
    let Some(x) = x else {
        return "-".to_owned();
    };
    let basis = names::basis(x.basis);
    let matched = if x.matched.is_empty() {
        "nothing recognised".to_owned()
    } else {
        format!("{:?}", clean(&x.matched))
    };
    format!("{basis} {matched}, confidence {:.2}", x.confidence)
}

/// What a reclassification moved.
pub fn reclassified(
    org: &str,
    r: &errors::ReclassifyErrorsResponse,
    dry_run: bool,
    width: Option<usize>,
) -> String {
    let verb = if dry_run { "would move" } else { "moved" };
    let mut out = format!(
        "reclassified {org}: examined {}, {verb} {}, now a suspension {} (left as they are; \
         the org is not suspended), resyncing {} (left for later)\n",
        plural(r.examined, "error", "errors"),
        count(r.moved),
        count(r.now_suspension),
        count(r.skipped_resyncing)
    );
    if !r.moves.is_empty() {
        let mut table = Table::new(&["FROM", "TO", "ERRORS"]).right_align(&[2]);
        for m in &r.moves {
            table.row(vec![
                names::error_type(m.from),
                names::error_type(m.to),
                count(m.errors),
            ]);
        }
        out.push('\n');
        out.push_str(&table.render(width));
    }
    out
}

/// A page of the records affected by an error type.
pub fn affected_records(r: &errors::ListAffectedRecordsResponse, width: Option<usize>) -> String {
    let mut out = if r.records.is_empty() {
        "no affected records\n".to_owned()
    } else {
        let mut table = Table::new(&["OBJECT", "RECORD", "SALESFORCE ID", "ERROR ID", "LAST SEEN"]);
        for rec in &r.records {
            table.row(vec![
                rec.object_type.clone(),
                rec.crm_record_id.clone(),
                rec.salesforce_id.clone(),
                rec.error_id.clone(),
                timestamp(rec.last_seen.as_ref()),
            ]);
        }
        table.render(width)
    };
    if !r.next_page_token.is_empty() {
        out.push_str(&format!(
            "next page: --page-token {}\n",
            clean(&r.next_page_token)
        ));
    }
    out
}

/// What a resync queued, per error, and how many.
pub fn resync(results: &[errors::QueuedResync], width: Option<usize>) -> String {
    let mut table = Table::new(&["ERROR ID", "RESULT"]);
    let mut queued = 0;
    for r in results {
        let result = if r.job_id.is_empty() {
            format!("skipped: {}", r.skipped)
        } else {
            queued += 1;
            format!("queued as job {}", r.job_id)
        };
        table.row(vec![r.error_id.clone(), result]);
    }
    let mut out = table.render(width);
    out.push_str(&format!(
        "queued {queued} of {}\n",
        plural(results.len() as u64, "error", "errors")
    ));
    out
}

/// An org's notification settings.
pub fn notifications(
    s: Option<&errors::NotificationSettings>,
    secret_set: bool,
    [delivery, email_delivery]: [Option<&errors::NotificationDeliveryStatus>; 2],
) -> String {
    let default = errors::NotificationSettings::default();
    let s = s.unwrap_or(&default);
    let webhook = if s.webhook_url.is_empty() {
        "-".to_owned()
    } else {
        clean(&s.webhook_url)
    };
    let kinds = |c: Option<&errors::NotificationChoices>| {
        let Some(c) = c else {
            return "errors, suspensions, usage alerts".to_owned();
        };
        let on: Vec<&str> = [
            (c.errors, "errors"),
            (c.suspensions, "suspensions"),
            (c.usage_alerts, "usage alerts"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        if on.is_empty() {
            "nothing".to_owned()
        } else {
            on.join(", ")
        }
    };
    let recipients = if s.email_recipients.is_empty() {
        "-".to_owned()
    } else {
        s.email_recipients
            .iter()
            .map(|a| clean(a))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = format!(
        "enabled     {}\nfrequency   {}\nwebhook     {webhook} ({})\nsecret      {}\n\
         webhook of  {}\nwebhook at  {}\ne-mail to   {recipients}\ne-mail of   {}\n\
         e-mail at   {}\n",
        if s.enabled { "yes" } else { "no" },
        names::frequency(s.frequency),
        names::webhook_format(s.webhook_format),
        if secret_set { "set" } else { "not set" },
        kinds(s.webhook.as_ref()),
        names::channel_frequency(s.webhook_frequency, s.frequency),
        kinds(s.email.as_ref()),
        names::channel_frequency(s.email_frequency, s.frequency),
    );
    delivery_lines(&mut text, "delivery    ", "last error  ", delivery);
    delivery_lines(&mut text, "e-mailing   ", "mail error  ", email_delivery);
    text
}

/// How a channel's deliveries go, under `label`; the last error, under
/// `error`, while failing.
fn delivery_lines(
    text: &mut String,
    label: &str,
    error: &str,
    delivery: Option<&errors::NotificationDeliveryStatus>,
) {
    if let Some(d) = delivery {
        let state = if d.failing {
            "FAILING"
        } else if d.consecutive_failures > 0 {
            "retrying"
        } else {
            "ok"
        };
        text.push_str(&format!(
            "{label}{state}, {} in a row, last delivered {}\n",
            plural(u64::from(d.consecutive_failures), "failure", "failures"),
            timestamp(d.last_success_at.as_ref())
        ));
        if d.consecutive_failures > 0 {
            text.push_str(&format!(
                "{error}{} {}\n",
                timestamp(d.last_failure_at.as_ref()),
                clean(&d.last_failure)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(seconds: i64) -> Timestamp {
        Timestamp { seconds, nanos: 0 }
    }

    #[test]
    fn a_failing_webhook_says_so_and_why() {
        let settings = errors::NotificationSettings {
            enabled: true,
            webhook_url: "https://hooks.example.com/x".into(),
            ..Default::default()
        };
        let delivery = errors::NotificationDeliveryStatus {
            consecutive_failures: 4,
            last_failure: "the webhook answered HTTP 500".into(),
            last_failure_at: Some(ts(1_700_000_000)),
            last_success_at: None,
            failing: true,
        };
        let text = notifications(Some(&settings), true, [Some(&delivery), None]);
        assert!(
            text.contains("delivery    FAILING, 4 failures in a row, last delivered -"),
            "{text}"
        );
        assert!(
            text.contains("last error  2023-11-14T22:13:20Z the webhook answered HTTP 500"),
            "{text}"
        );
        assert!(!text.contains("e-mailing"), "{text}");
        assert!(!notifications(Some(&settings), true, [None, None]).contains("delivery"));
    }

    #[test]
    fn failing_mail_and_each_channels_frequency_show() {
        let settings = errors::NotificationSettings {
            enabled: true,
            frequency: errors::NotificationFrequency::Immediately.into(),
            email_frequency: errors::NotificationFrequency::Daily.into(),
            email_recipients: vec!["ops@example.com".into()],
            ..Default::default()
        };
        let mail = errors::NotificationDeliveryStatus {
            consecutive_failures: 3,
            last_failure: "SMTP: permanent error (550): mailbox unavailable".into(),
            last_failure_at: Some(ts(1_700_000_000)),
            last_success_at: None,
            failing: true,
        };
        let text = notifications(Some(&settings), false, [None, Some(&mail)]);
        assert!(text.contains("webhook at  default (IMMEDIATELY)"), "{text}");
        assert!(text.contains("e-mail at   DAILY"), "{text}");
        assert!(
            text.contains("e-mailing   FAILING, 3 failures in a row"),
            "{text}"
        );
        assert!(
            text.contains("mail error  2023-11-14T22:13:20Z SMTP: permanent error (550)"),
            "{text}"
        );
    }

    #[test]
    fn the_largest_value_fills_the_chart_and_the_rest_scale() {
        let chart = bar_chart(&[0, 4, 8], 2, &[]);
        assert_eq!(chart, "8 ┤    █\n  │  █ █\n0 └──────\n");
    }

    #[test]
    fn cells_fill_in_eighths_and_any_use_shows() {
        // 1 of 1000 is far below an eighth of a row, yet shows as one.
        let chart = bar_chart(&[1, 1000, 500], 1, &[]);
        let bars = chart.lines().next().unwrap();
        assert_eq!(bars, "1,000 ┤▁ █ ▄");
    }

    #[test]
    fn an_empty_series_and_an_idle_window_draw_no_bars() {
        assert_eq!(bar_chart(&[], 8, &[]), "no data\n");
        let idle = bar_chart(&[0, 0, 0], 8, &[(0, "10:00".into())]);
        assert_eq!(idle, "0 └──────\n   10:00\n");
        assert!(!idle.chars().any(|c| EIGHTHS[1..].contains(&c)));
    }

    #[test]
    fn labels_sit_under_their_columns_and_never_overlap() {
        let labels = [
            (0, "00:00".to_owned()),
            (1, "01:00".to_owned()),
            (3, "03:00".to_owned()),
            (9, "past the end".to_owned()),
        ];
        let chart = bar_chart(&[1, 1, 1, 1], 1, &labels);
        let last = chart.lines().last().unwrap();
        assert_eq!(last, "   00:00 03:00");
        // Column 3 starts at gutter (1) + axis (2) + 3 * 2.
        assert_eq!(last.find("03:00"), Some(9));
        assert_eq!(chart.lines().next().unwrap().chars().nth(9), Some('█'));
    }

    #[test]
    fn tables_align_columns_and_leave_no_trailing_blanks() {
        let mut table = Table::new(&["NAME", "COUNT", "NOTE"]).right_align(&[1]);
        table.row(vec!["a".into(), "1".into(), "short".into()]);
        table.row(vec!["longer name".into(), "1,000".into(), String::new()]);
        table.row(vec!["x\ny".into()]);
        let text = table.render(None);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "NAME         COUNT  NOTE");
        assert_eq!(lines[1], "a                1  short");
        assert_eq!(lines[2], "longer name  1,000");
        assert_eq!(lines[3], "x y");
        assert!(text.lines().all(|l| l == l.trim_end()));
    }

    #[test]
    fn a_table_too_narrow_for_its_words_becomes_blocks() {
        let mut table = Table::new(&["REASON", "STATUS", "NOTE"]);
        table.row(vec![
            "SALESFORCE_API_LIMIT_EXCEEDED".into(),
            "REQUEST_LIMIT_EXCEEDED".into(),
            "calls left the window".into(),
        ]);
        let text = table.render(Some(40));
        fits_and_keeps(
            &text,
            40,
            &[
                "REASON",
                "SALESFORCE_API_LIMIT_EXCEEDED",
                "STATUS",
                "REQUEST_LIMIT_EXCEEDED",
            ],
        );
        assert!(
            text.starts_with("REASON  SALESFORCE_API_LIMIT_EXCEEDED\n"),
            "{text}"
        );
        // Wide enough, it stays a table.
        assert!(
            table.render(Some(90)).starts_with("REASON "),
            "{}",
            table.render(Some(90))
        );
        assert_eq!(table.render(Some(90)).lines().count(), 2);
    }

    #[test]
    fn counts_and_times_read_well() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(timestamp(Some(&ts(86_400))), "1970-01-02T00:00:00Z");
        assert_eq!(timestamp(None), "-");
        assert_eq!(span(&ts(0), &ts(86_399)), "23 h 59 min");
        assert_eq!(span(&ts(0), &ts(42)), "42 s");
        assert_eq!(span(&ts(0), &ts(250)), "4 min 10 s");
        assert_eq!(span(&ts(0), &ts(86_423)), "24 h");
        assert_eq!(span(&ts(10), &ts(5)), "now");
        assert_eq!(shorten("abcdef", 4), "abc…");
    }

    /// The words of `text`, in order, table headers and cells alike.
    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    /// Asserts that no line of `text` is wider than `width`, and that
    /// every word of `expected` is in it whole, in order.
    fn fits_and_keeps(text: &str, width: usize, expected: &[&str]) {
        for line in text.lines() {
            assert!(
                line.chars().count() <= width,
                "a line of {} columns:\n{line}\nin\n{text}",
                line.chars().count()
            );
        }
        let printed = words(text);
        let mut at = 0;
        for cell in expected {
            for word in words(cell) {
                let found = printed[at..].iter().position(|w| *w == word);
                assert!(found.is_some(), "{word:?} lost from:\n{text}");
                at += found.unwrap_or(0);
            }
        }
    }

    /// A guidance text of the length the services write.
    const GUIDANCE: &str = "Shorten the value in the CRM or raise the field's length in \
        Salesforce (Setup, Object Manager, the field, Edit), then resync the errors: the \
        records sync again with their next change anyway.";

    fn health_reply() -> errors::GetSyncHealthResponse {
        use syncgov_api::taxonomy::v1 as tx;
        errors::GetSyncHealthResponse {
            current_errors: 1,
            impacted_records: 1_204,
            unknown_errors: 0,
            categories: vec![errors::CategoryHealth {
                category: tx::ErrorCategory::PropertyValues as i32,
                current_errors: 1,
                impacted_records: 1_204,
                types: vec![errors::TypeHealth {
                    r#type: tx::ErrorType::StringTooLong as i32,
                    current_errors: 1,
                    impacted_records: 1_204,
                    dead_errors: 0,
                    guidance: GUIDANCE.into(),
                }],
            }],
            recent_suspensions: vec![errors::SuspensionEvent {
                reason: tx::SuspensionReason::SalesforceAuthFailed as i32,
                status_code: "INVALID_SESSION_ID".into(),
                message: "Session expired or invalid: the refresh token was revoked by an \
                          administrator of the org"
                    .into(),
                occurred_at: Some(ts(1_700_000_000)),
                guidance: String::new(),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn health_cards_fit_80_columns_and_lose_no_word() {
        let reply = health_reply();
        let text = health_cards(&reply, Some(80));
        fits_and_keeps(
            &text,
            80,
            &[
                "1 current error on 1,204 records",
                "PROPERTY_VALUES: 1 error, 1,204 records",
            ],
        );
        fits_and_keeps(&text, 80, &["STRING_TOO_LONG", GUIDANCE]);
        // Wrapped, not cut: the guidance spans lines.
        let guidance_lines = text
            .lines()
            .filter(|l| l.len() > 40 && l.starts_with("  "))
            .count();
        assert!(guidance_lines >= 3, "{text}");
        // The numbers stay whole and right-aligned under their headers.
        let header = text.lines().find(|l| l.contains("ERRORS")).unwrap();
        let row = text
            .lines()
            .find(|l| l.contains("STRING_TOO_LONG"))
            .unwrap();
        let end = |l: &str, w: &str| l.find(w).map(|i| i + w.len());
        assert_eq!(end(header, "RECORDS"), end(row, "1,204"), "{text}");
        // Without a width, each row is one line.
        let whole = health_cards(&reply, None);
        assert!(
            whole
                .lines()
                .any(|l| l.contains("STRING_TOO_LONG") && l.ends_with("anyway."))
        );
    }

    #[test]
    fn an_error_list_fits_80_columns_and_loses_no_word() {
        use syncgov_api::taxonomy::v1 as tx;
        let message = "Description: data value too large: the customer's notes are longer \
                       than the field allows";
        let list: Vec<errors::SyncError> = (0..3)
            .map(|i| errors::SyncError {
                error_id: format!("01HZY3K4M5N6P7Q8R9S0T1V2W{i}"),
                state: errors::ErrorState::Open as i32,
                classification: Some(errors::RecordLevel {
                    category: tx::ErrorCategory::PropertyValues as i32,
                    r#type: tx::ErrorType::StringTooLong as i32,
                }),
                object_type: "Opportunity".into(),
                crm_record_id: format!("crm-{i:05}"),
                occurrences: 1_000 + i,
                last_seen: Some(ts(1_700_000_000)),
                message: message.into(),
                ..Default::default()
            })
            .collect();
        let text = error_list(&list, "", Some(80));
        let shown = shorten(message, LIST_MESSAGE_CHARS);
        fits_and_keeps(&text, 80, &["01HZY3K4M5N6P7Q8R9S0T1V2W0", "OPEN", &shown]);
        assert!(text.contains("1,002"), "{text}");
        // Wider terminals get fewer lines.
        assert!(error_list(&list, "", Some(200)).lines().count() < text.lines().count());
    }

    #[test]
    fn durations_read_in_words_with_one_helper() {
        let s = Duration::from_secs;
        assert_eq!(duration_words(Duration::from_millis(125)), "125 ms");
        assert_eq!(duration_words(Duration::from_millis(2_500)), "2.5 s");
        assert_eq!(duration_words(s(10)), "10 s");
        assert_eq!(duration_words(Duration::from_millis(45_400)), "45 s");
        assert_eq!(duration_words(s(120)), "2 min");
        assert_eq!(duration_words(s(250)), "4 min 10 s");
        assert_eq!(duration_words(s(5_400)), "1 h 30 min");
        assert_eq!(duration_words(s(86_400)), "24 h");
        assert_eq!(duration_words(s(3 * 86_400 + 7_200)), "3 d 2 h");
        let window = prost_types::Duration {
            seconds: 10,
            nanos: 0,
        };
        assert_eq!(format!("{} window", duration(&window)), "10 s window");
        assert_eq!(span(&ts(0), &ts(5_400)), "1 h 30 min");
    }

    #[test]
    fn counts_take_the_singular_for_exactly_one() {
        assert_eq!(plural(1, "error", "errors"), "1 error");
        assert_eq!(plural(0, "error", "errors"), "0 errors");
        assert_eq!(plural(2, "record", "records"), "2 records");
        assert_eq!(plural(1_000, "call", "calls"), "1,000 calls");
    }

    fn usage_reply(series: Vec<u64>) -> quota::GetUsageResponse {
        let start = 1_700_000_000 / 3_600 * 3_600;
        quota::GetUsageResponse {
            used: series.iter().sum(),
            allocation: 50_000,
            org_limit: 100_000,
            remaining: vec![quota::PriorityRemaining {
                priority: quota::Priority::Retry as i32,
                limit: 37_500,
                remaining: 37_350,
            }],
            next_free_at: Some(ts(start + 86_400)),
            next_free_calls: 150,
            window: Some(prost_types::Duration {
                seconds: 86_400,
                nanos: 0,
            }),
            series: series
                .iter()
                .enumerate()
                .map(|(i, &calls)| quota::UsagePoint {
                    start: Some(ts(start + i as i64 * 3_600)),
                    calls,
                })
                .collect(),
            as_of: Some(ts(start + 60)),
            ..Default::default()
        }
    }

    #[test]
    fn usage_shows_the_numbers_and_the_chart() {
        let mut series = vec![0; 24];
        series[23] = 150;
        let text = usage(&usage_reply(series), None, None);
        assert!(text.contains("used        150 of 50,000 allocated (0.3 %); org limit 100,000"));
        assert!(text.contains("next free   150 calls at"), "{text}");
        assert!(text.contains("(in 23 h 59 min)"), "{text}");
        assert!(text.contains("RETRY     37,500     37,350"), "{text}");
        assert!(
            text.contains("calls per 1 h slice, last 24 h (times UTC)"),
            "{text}"
        );
        let bars: Vec<&str> = text
            .lines()
            .filter(|l| l.contains('│') || l.contains('┤'))
            .collect();
        assert_eq!(bars.len(), CHART_HEIGHT);
        assert!(bars.iter().all(|l| l.ends_with('█')), "{text}");
    }

    #[test]
    fn usage_says_when_the_allocation_runs_out() {
        let mut reply = usage_reply(vec![0; 24]);
        let now = reply.as_of.unwrap();
        reply.calls_per_hour = 1_234.4;
        reply.exhausted_at = Some(ts(now.seconds + 3 * 3_600 + 20 * 60));
        let text = usage(&reply, None, None);
        let at = clock_time(reply.exhausted_at.as_ref().unwrap(), false);
        assert!(
            text.contains(&format!(
                "forecast    at the current rate of 1,234 calls/hour the allocation runs out at {at} UTC (in 3 h 20 min)"
            )),
            "{text}"
        );
        reply.exhausted_at = None;
        reply.calls_per_hour = 2.25;
        assert!(
            usage(&reply, None, None).contains(
                "at the current rate of 2.2 calls/hour the allocation does not run out within the 24 h window"
            ),
            "{}",
            usage(&reply, None, None)
        );
        reply.used = reply.allocation;
        reply.exhausted_at = reply.as_of;
        assert!(
            usage(&reply, None, None).contains("forecast    the allocation is used up now"),
            "{}",
            usage(&reply, None, None)
        );
    }

    #[test]
    fn usage_of_an_idle_window_says_so() {
        let mut reply = usage_reply(vec![0; 24]);
        reply.next_free_at = None;
        let text = usage(&reply, None, None);
        assert!(text.contains(": no calls"), "{text}");
        assert!(text.contains("nothing counted in the window"), "{text}");
        let empty = usage(&quota::GetUsageResponse::default(), None, None);
        assert!(empty.contains("no usage series"), "{empty}");
    }

    #[test]
    fn a_watch_line_says_what_happened_and_where_to_resume() {
        let line = suspension_event(&quota::WatchSuspensionsResponse {
            cursor: "17-0".into(),
            org_id: "acme".into(),
            reason: 6,
            kind: quota::SuspensionEventKind::Cleared as i32,
            detail: "row\nlocked".into(),
            at: Some(ts(0)),
            automatic: true,
        });
        assert_eq!(
            line,
            "1970-01-01T00:00:00Z  CLEARED    acme        SALESFORCE_ORG_LOCKED           \
             automatically   cursor=17-0             \"row locked\""
        );
        // Another event's columns start where this one's do.
        let other = suspension_event(&quota::WatchSuspensionsResponse {
            cursor: "1795463402000-0".into(),
            org_id: "globex".into(),
            reason: 6,
            kind: quota::SuspensionEventKind::Suspended as i32,
            at: Some(ts(0)),
            ..Default::default()
        });
        let starts = |l: &str| {
            ["CLEARED", "SUSPENDED"]
                .iter()
                .chain(&["SALESFORCE_ORG_LOCKED", "cursor="])
                .filter_map(|w| l.find(w))
                .collect::<Vec<_>>()
        };
        assert_eq!(starts(&line), starts(&other), "{line}\n{other}");
    }

    #[test]
    fn a_history_is_one_table_with_a_header() {
        let event = |org: &str, kind: quota::SuspensionEventKind| quota::WatchSuspensionsResponse {
            cursor: "1-0".into(),
            org_id: org.into(),
            reason: 6,
            kind: kind as i32,
            at: Some(ts(60)),
            automatic: true,
            detail: String::new(),
        };
        let text = suspension_history(
            &[
                event("acme-corp", quota::SuspensionEventKind::Suspended),
                event("globex", quota::SuspensionEventKind::Cleared),
            ],
            None,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("WHEN                  EVENT      ORG"),
            "{text}"
        );
        assert_eq!(lines.len(), 3, "{text}");
        let column = |l: &str, w: &str| l.find(w);
        assert_eq!(
            column(lines[1], "SALESFORCE_ORG_LOCKED"),
            column(lines[2], "SALESFORCE_ORG_LOCKED")
        );
        assert!(text.lines().all(|l| l == l.trim_end()), "{text}");
        assert_eq!(suspension_history(&[], None), "no suspensions\n");

        // Too narrow for the detail beside the rest: it goes under its
        // row, wrapped; the other columns stay a table.
        let mut long = event("acme-corp", quota::SuspensionEventKind::Cleared);
        long.reason =
            syncgov_api::taxonomy::v1::SuspensionReason::SalesforceApiLimitExceeded as i32;
        long.detail = "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded. The org has \
                       used every call of its rolling 24 h window"
            .into();
        let narrow = suspension_history(&[long.clone(), long], Some(100));
        fits_and_keeps(&narrow, 100, &["WHEN", "EVENT", "ORG", "REASON", "BY"]);
        let lines: Vec<&str> = narrow.lines().collect();
        assert!(lines[1].starts_with("1970-"), "{narrow}");
        assert!(
            lines[2].starts_with("    \"REQUEST_LIMIT_EXCEEDED:"),
            "{narrow}"
        );
        assert!(narrow.contains("window\""), "{narrow}");
    }

    #[test]
    fn an_override_shows_while_it_runs_and_as_ended_after() {
        let at = |ms: i64| prost_types::Timestamp {
            seconds: ms / 1_000,
            nanos: 0,
        };
        let budget = quota::Budget {
            org_limit: 1_000,
            allocation: 100,
            allocation_override: Some(quota::AllocationOverride {
                allocation: 150,
                expires_at: Some(at(2_000_000)),
            }),
            ..Default::default()
        };
        let running = super::budget(&budget, false, 1_000_000);
        assert!(running.contains("override    150 until"), "{running}");
        let ended = super::budget(&budget, false, 3_000_000);
        assert!(
            ended.contains("override    ended") && ended.contains("allocation of 100 holds"),
            "{ended}"
        );
        assert!(!ended.contains("150"), "{ended}");

        let reply = quota::GetUsageResponse {
            allocation: 150,
            as_of: Some(at(1_000_000)),
            ..Default::default()
        };
        let shown = usage(&reply, Some(&budget), None);
        assert!(
            shown.contains("override    150 until")
                && shown.contains("the budget's own allocation is 100"),
            "{shown}"
        );
        let later = quota::GetUsageResponse {
            as_of: Some(at(3_000_000)),
            ..reply
        };
        assert!(!usage(&later, Some(&budget), None).contains("override"));
    }
}
