//! `errors export`: the CSV stream of `ExportErrorsCsv` into a file that
//! only ever appears whole. The chunks go to `FILE.partial` in the same
//! directory (so the final rename stays on one file system and is atomic);
//! only after the stream ended normally is it flushed, synced and renamed
//! to `FILE`. On any failure or interruption the partial file is removed,
//! so an export that broke off never leaves a file that looks complete.
//! With `--out -` the chunks go to stdout as they come, for a pipe; a
//! stream that broke off then ends with a non-zero exit, saying the output
//! is incomplete.

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use syncgov_api::syncerrors::v1 as errors;

use crate::context::Context;
use crate::error::Failure;
use crate::output::emit;
use crate::render;

/// Where the export is written until it is complete: `FILE.partial` beside
/// `FILE`.
pub fn partial_path(out: &Path) -> Result<PathBuf, Failure> {
    let name = out
        .file_name()
        .ok_or_else(|| Failure::usage(format!("--out {}: not a file name", out.display())))?;
    let mut partial: OsString = name.to_os_string();
    partial.push(".partial");
    Ok(out.with_file_name(partial))
}

/// A file being written under its partial name: removed when dropped
/// unless [`PartialFile::commit`] renamed it to its final name.
pub struct PartialFile {
    partial: PathBuf,
    target: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl PartialFile {
    /// Creates (or truncates) the partial file of `target`.
    pub fn create(target: &Path) -> Result<Self, Failure> {
        let partial = partial_path(target)?;
        let file = File::create(&partial)
            .map_err(|e| Failure::other(format!("cannot create {}: {e}", partial.display())))?;
        Ok(Self {
            partial,
            target: target.to_owned(),
            writer: Some(BufWriter::new(file)),
        })
    }

    /// Appends bytes.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        let writer = self.writer.as_mut().expect("written before commit");
        writer
            .write_all(bytes)
            .map_err(|e| Failure::other(format!("cannot write {}: {e}", self.partial.display())))
    }

    /// Makes the file whole: flushes and syncs it, then renames it to its
    /// final name, replacing any file there.
    pub fn commit(mut self) -> Result<(), Failure> {
        let writer = self.writer.take().expect("committed once");
        let file = writer
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|f| f.sync_all().map(|()| f))
            .map_err(|e| Failure::other(format!("cannot write {}: {e}", self.partial.display())))?;
        drop(file);
        std::fs::rename(&self.partial, &self.target).map_err(|e| {
            Failure::other(format!(
                "cannot rename {} to {}: {e}",
                self.partial.display(),
                self.target.display()
            ))
        })?;
        // The rename is durable once the directory is synced; a failure here
        // leaves a whole file all the same, so it is not reported.
        if let Some(dir) = self.target.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        self.partial = PathBuf::new();
        Ok(())
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        drop(self.writer.take());
        if !self.partial.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

/// Where the chunks go: a file that appears whole, or stdout.
enum Sink {
    File(PartialFile),
    Stdout(std::io::StdoutLock<'static>),
}

impl Sink {
    fn write(&mut self, chunk: &[u8]) -> Result<(), Failure> {
        match self {
            Self::File(file) => file.write(chunk),
            Self::Stdout(stdout) => stdout
                .write_all(chunk)
                .map_err(|e| Failure::other(format!("stdout: {e}"))),
        }
    }
}

/// A spinner on stderr with the rows and bytes so far; indicatif hides it
/// when stderr is not a terminal, so logs and pipes stay clean.
fn progress() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} exporting: {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message("0 rows, 0 B");
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Runs the export of `org`'s errors selected by `filter` into `out`.
pub async fn run(
    ctx: &Context,
    org: String,
    filter: errors::ErrorFilter,
    out: PathBuf,
) -> Result<(), Failure> {
    let target = &ctx.sync_errors;
    let to_stdout = out.as_os_str() == "-";
    if !to_stdout {
        partial_path(&out)?;
    }
    let mut client = target.sync_errors_client(None).await?;
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    let interrupted_failure = || Failure::other("interrupted: no file written");
    // The call starts before the file is created, so a refused request
    // leaves nothing behind at all.
    let mut stream = tokio::select! {
        reply = client.export_errors_csv(errors::ExportErrorsCsvRequest {
            org_id: org.clone(),
            filter: Some(filter),
        }) => reply.map_err(|s| target.failed(s))?.into_inner(),
        _ = &mut interrupted => return Err(interrupted_failure()),
    };
    let mut file = if to_stdout {
        Sink::Stdout(std::io::stdout().lock())
    } else {
        Sink::File(PartialFile::create(&out)?)
    };
    let bar = progress();
    let (mut rows, mut bytes) = (0u64, 0u64);
    let broke_off = |failure: Failure, rows: u64| {
        let mut failure = failure;
        let left = if to_stdout {
            "the output is incomplete"
        } else {
            "no file written"
        };
        failure.message = format!(
            "export broke off after {}; {left}\n{}",
            render::plural(rows, "row", "rows"),
            failure.message
        );
        failure
    };
    loop {
        // A stalled stream fails like a stalled call: no chunk within
        // --timeout.
        let next = tokio::select! {
            next = tokio::time::timeout(ctx.timeout, stream.message()) => next,
            _ = &mut interrupted => {
                bar.finish_and_clear();
                return Err(interrupted_failure());
            }
        };
        let chunk = match next {
            Ok(Ok(Some(chunk))) => chunk,
            Ok(Ok(None)) => break,
            Ok(Err(status)) => {
                bar.finish_and_clear();
                return Err(broke_off(target.failed(status), rows));
            }
            Err(_) => {
                bar.finish_and_clear();
                return Err(broke_off(
                    Failure::other(format!(
                        "{} at {} sent nothing for {} (--timeout)",
                        target.name,
                        target.url,
                        render::duration_words(ctx.timeout)
                    )),
                    rows,
                ));
            }
        };
        file.write(&chunk.chunk)?;
        rows += u64::from(chunk.rows);
        bytes += chunk.chunk.len() as u64;
        bar.set_message(format!(
            "{}, {}",
            render::plural(rows, "row", "rows"),
            HumanBytes(bytes)
        ));
    }
    bar.finish_and_clear();
    if let Sink::Stdout(mut stdout) = file {
        stdout
            .flush()
            .map_err(|e| Failure::other(format!("stdout: {e}")))?;
        // stdout holds the CSV: the summary goes to stderr.
        eprintln!(
            "exported {} ({}) of {org} to stdout",
            render::plural(rows, "row", "rows"),
            render::plural(bytes, "byte", "bytes")
        );
        return Ok(());
    }
    if let Sink::File(file) = file {
        file.commit()?;
    }
    emit(
        ctx.output,
        format!(
            "exported {} ({}) of {org} to {}\n",
            render::plural(rows, "row", "rows"),
            render::plural(bytes, "byte", "bytes"),
            out.display()
        ),
        json!({"org_id": org, "file": out.display().to_string(), "rows": rows, "bytes": bytes}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(label: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("syncctl-export-{label}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_partial_file_sits_beside_the_target() {
        assert_eq!(
            partial_path(Path::new("/tmp/x/errors.csv")).unwrap(),
            PathBuf::from("/tmp/x/errors.csv.partial")
        );
        assert_eq!(
            partial_path(Path::new("errors.csv")).unwrap(),
            PathBuf::from("errors.csv.partial")
        );
        assert!(partial_path(Path::new("/")).is_err());
    }

    #[test]
    fn a_committed_file_appears_whole_and_a_dropped_one_not_at_all() {
        let dir = scratch("commit");
        let target = dir.join("errors.csv");
        let mut file = PartialFile::create(&target).unwrap();
        file.write(b"a,b\r\n").unwrap();
        assert!(!target.exists());
        assert!(dir.join("errors.csv.partial").exists());
        file.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"a,b\r\n");
        assert!(!dir.join("errors.csv.partial").exists());

        let other = dir.join("broken.csv");
        let mut file = PartialFile::create(&other).unwrap();
        file.write(b"a,b\r\n").unwrap();
        drop(file);
        assert!(!other.exists());
        assert!(!dir.join("broken.csv.partial").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
