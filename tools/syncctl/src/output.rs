//! How replies reach the terminal: the [`Output`] the operator chose, and
//! the two ways every command prints, [`emit`] for a reply and
//! [`write_stdout`] for text. A reader that closed the pipe is not a
//! failure.

use std::io::Write;

use serde_json::Value;

use crate::error::Failure;

/// How replies are printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Tables and text for people.
    #[default]
    Table,
    /// JSON for scripts: one document per reply; streams print one object
    /// per line.
    Json,
    /// YAML, the same documents as JSON; streams print one document per
    /// event, each after `---`.
    Yaml,
}

/// The columns tables on stdout fit in: `flag` (`--width`) when given,
/// else the terminal's width when stdout is a terminal, else `COLUMNS`
/// when set, else `None`: no wrapping, so pipes and files get whole lines.
pub fn table_width(flag: Option<u16>) -> Option<usize> {
    let terminal = console::Term::stdout()
        .size_checked()
        .map(|(_rows, columns)| columns);
    choose_width(flag, terminal, std::env::var("COLUMNS").ok().as_deref())
}

/// [`table_width`]'s choice, given what it read. A `COLUMNS` that is not
/// a number, or a width under 20, is ignored.
pub fn choose_width(
    flag: Option<u16>,
    terminal: Option<u16>,
    columns: Option<&str>,
) -> Option<usize> {
    let usable = |w: u16| (w >= MIN_WIDTH).then_some(usize::from(w));
    flag.and_then(usable)
        .or_else(|| terminal.and_then(usable))
        .or_else(|| {
            columns
                .and_then(|c| c.trim().parse::<u16>().ok())
                .and_then(usable)
        })
}

/// The narrowest width tables are fitted to; below it, lines are left whole.
const MIN_WIDTH: u16 = 20;

/// Writes `text` to stdout. A closed pipe (`syncctl ... | head`) is not a
/// failure: the reader has what it wanted.
pub fn write_stdout(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Prints a reply: `table` for people, `value` (pretty) for scripts.
pub fn emit(output: Output, table: String, value: Value) -> Result<(), Failure> {
    match output {
        Output::Table => write_stdout(&table),
        Output::Json => {
            let mut text =
                serde_json::to_string_pretty(&value).map_err(|e| Failure::other(e.to_string()))?;
            text.push('\n');
            write_stdout(&text)
        }
        Output::Yaml => write_stdout(&yaml(&value)?),
    }
}

/// `value` as a YAML document.
pub fn yaml(value: &Value) -> Result<String, Failure> {
    serde_norway::to_string(value).map_err(|e| Failure::other(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_then_the_terminal_then_columns() {
        assert_eq!(choose_width(Some(90), Some(120), Some("80")), Some(90));
        assert_eq!(choose_width(None, Some(120), Some("80")), Some(120));
        assert_eq!(choose_width(None, None, Some("80")), Some(80));
        assert_eq!(choose_width(None, None, None), None);
        // Nonsense is ignored, not obeyed.
        assert_eq!(choose_width(None, None, Some("wide")), None);
        assert_eq!(choose_width(None, Some(5), Some("100")), Some(100));
    }
}
