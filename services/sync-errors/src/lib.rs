//! The sync-error service: ingests the record-level failures sync workers
//! report, classifies them with the taxonomy, keeps current errors with
//! counters per type, lists, exports and resyncs them.
//!
//! Dependencies point one way, inwards: `app` wires `grpc` (the adapter:
//! protobuf and statuses) over `core` (the operations and their rules), and
//! the background tasks (`notifier`, `relay`, `metrics`) beside it, all over
//! `store`; these use the pure `domain`, `classify`, `resync`, `notify`,
//! `destination`, `mail` and `taxonomy`, which know neither tonic nor
//! Redis. The notifier's HTTP deliveries go through `webhook`, its e-mails
//! through `smtp`. Only `grpc` makes gRPC
//! statuses; only `store` names Redis.

pub mod access;
pub mod app;
pub mod audit;
pub mod classify;
pub mod classify_cli;
pub mod config;
pub mod core;
pub mod destination;
pub mod domain;
pub mod error;
pub mod export;
pub mod grpc;
pub mod mail;
pub mod metrics;
pub mod notifier;
pub mod notify;
pub mod relay;
pub mod resync;
pub mod rules;
pub mod smtp;
pub mod store;
pub mod top;
pub mod webhook;
pub use syncgov_taxonomy as taxonomy;
