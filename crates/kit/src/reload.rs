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
        F: Fn() -> anyhow::Result<T> + Send + 'static,
    {
        let this = self.clone();
        Box::pin(async move {
            let mut seen = fingerprint(&files);
            loop {
                tokio::time::sleep(every).await;
                let now = fingerprint(&files);
                if now == seen {
                    continue;
                }
                match load() {
                    Ok(value) => {
                        this.set(value);
                        seen = now;
                        tracing::info!(what, "reloaded after its files changed");
                    }
                    Err(e) => {
                        tracing::warn!(what, error = %format!("{e:#}"), "changed files not usable; keeping the previous ones");
                    }
                }
            }
        })
    }
}

/// What identifies the content of `files` cheaply: size and modification
/// time of each (`None` for a file that is missing).
fn fingerprint(files: &[PathBuf]) -> Vec<Option<(u64, SystemTime)>> {
    files
        .iter()
        .map(|f| {
            let meta = std::fs::metadata(f).ok()?;
            Some((meta.len(), meta.modified().ok()?))
        })
        .collect()
}
