//! The quota governor: keeps each org's integration inside its rolling
//! 24-hour Salesforce API budget.
//!
//! Dependencies point inwards: `app` wires `grpc` and `store`; both use the
//! pure `domain` and `window`, which know neither tonic nor Redis.

pub mod access;
pub mod app;
pub mod config;
pub mod domain;
pub mod feed;
pub mod grpc;
pub mod metrics;
pub mod org_usage;
pub mod outage;
pub mod rls;
pub mod store;
pub mod suspension;
pub mod window;
