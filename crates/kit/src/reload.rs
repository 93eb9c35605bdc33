//! Values built from files that may change while a service runs
//! (certificates, keys, token lists): rotated in place, without a restart.
//! A change is seen by polling the files' size and modification time, which
//! works the same on every filesystem, Kubernetes' projected volumes
//! included (they swap a symlink, which inotify on the file misses).

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use crate::task::BoxFuture;

/// The current value built from a set of files.
pub struct Reloading<T> {
    current: RwLock<Arc<T>>,
}

impl<T: Send + Sync + 'static> Reloading<T> {
    /// Holds `value`, as first built.
    pub fn new(value: T) -> Arc<Self> {
        Arc::new(Self {
            current: RwLock::new(Arc::new(value)),
        })
    }

    /// The value as last built.
    pub fn get(&self) -> Arc<T> {
        // A poisoned lock still holds a whole value: it is only ever swapped.
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set(&self, value: T) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(value);
    }

    /// Checks `files` every `every` and rebuilds the value with `load` when
    /// any of them changed. A file that cannot be read or parsed keeps the
    /// value in use (a half-written rotation must not take the service
    /// down) and is tried again at the next check. Runs until dropped.
    pub fn watch<F>(
        self: &Arc<Self>,
        what: &'static str,
        files: Vec<PathBuf>,
        every: Duration,
        load: F,
    ) -> BoxFuture
    where
        F: Fn() -> anyhow::Result<T> + Send + Sync + 'static,
    {
        let this = self.clone();
        let load = Arc::new(load);
        let seen = fingerprint(&files);
        on_change(files, every, seen, move || {
            let this = this.clone();
            let load = load.clone();
            Box::pin(async move {
                match load() {
                    Ok(value) => {
                        this.set(value);
                        tracing::info!(what, "reloaded after its files changed");
                        Handled::Done
                    }
                    Err(e) => {
                        tracing::warn!(what, error = %format!("{e:#}"), "changed files not usable; keeping the previous ones");
                        Handled::Retry
                    }
                }
            })
        })
    }
}

/// What a change handler made of the files' new content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handled {
    /// Dealt with (used, or refused for good): wait for the next change.
    Done,
    /// Not dealt with yet (a half-written file, a store away): try again at
    /// the next check even if the files do not change again.
    Retry,
}

/// What a set of files looked like when last checked; see [`fingerprint`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint(Vec<Option<(u64, SystemTime)>>);

/// Checks `files` every `every` and runs `handle` when they no longer look
/// as `seen` says (take `seen` before reading them, so that a change made
/// while they were read is not missed). Runs until dropped.
pub fn on_change<H>(
    files: Vec<PathBuf>,
    every: Duration,
    mut seen: Fingerprint,
    mut handle: H,
) -> BoxFuture
where
    H: FnMut() -> BoxFuture<Handled> + Send + 'static,
{
    Box::pin(async move {
        loop {
            tokio::time::sleep(every).await;
            let now = fingerprint(&files);
            if now == seen {
                continue;
            }
            if handle().await == Handled::Done {
                seen = now;
            }
        }
    })
}

/// What identifies the content of `files` cheaply: size and modification
/// time of each (`None` for a file that is missing).
pub fn fingerprint(files: &[PathBuf]) -> Fingerprint {
    Fingerprint(
        files
            .iter()
            .map(|f| {
                let meta = std::fs::metadata(f).ok()?;
                Some((meta.len(), meta.modified().ok()?))
            })
            .collect(),
    )
}
