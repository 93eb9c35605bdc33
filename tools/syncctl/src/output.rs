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
