//! The sync-error service: ingests the record-level failures sync workers
//! report, classifies them with the taxonomy, keeps current errors with
//! counters per type, lists, exports and resyncs them.
//!
//! Dependencies point inwards: `app` wires `grpc` and `store`; both use the
//! pure `taxonomy`, `classify` and `domain`, which know neither tonic nor Redis.

pub mod access;
pub mod app;
pub mod classify;
pub mod classify_cli;
pub mod config;
pub mod domain;
pub mod export;
pub mod grpc;
pub mod metrics;
pub mod notifier;
pub mod notify;
pub mod relay;
pub mod resync;
pub mod store;
pub use syncgov_taxonomy as taxonomy;
