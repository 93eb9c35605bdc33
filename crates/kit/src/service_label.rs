//! The attribute that names the service a process runs, on every metric
//! point. Apart from `metrics` so that the modules whose counters carry it
//! (authentication, store errors, certificates) take it from a leaf, while
//! `metrics` registers their counters: imports point one way.

use opentelemetry::KeyValue;

/// The attribute on every point that names the service it comes from
/// (`syncgov_service` in Prometheus).
pub const SERVICE_KEY: &str = "syncgov.service";

/// The service this process runs, set once by [`crate::metrics::init`].
static SERVICE: std::sync::OnceLock<KeyValue> = std::sync::OnceLock::new();

/// The [`SERVICE_KEY`] attribute of this process: the name
/// [`crate::metrics::init`] was given (`unknown` before, as in tests that
/// run a service in-process).
pub fn service() -> KeyValue {
    SERVICE
        .get()
        .cloned()
        .unwrap_or_else(|| KeyValue::new(SERVICE_KEY, "unknown"))
}

/// Names this process's service; the first name given stays.
pub(crate) fn set(name: &str) {
    let _ = SERVICE.set(KeyValue::new(SERVICE_KEY, name.to_owned()));
}
