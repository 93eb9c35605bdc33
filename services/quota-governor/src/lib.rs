//! The quota governor: keeps each org's integration inside its rolling
//! 24-hour Salesforce API budget.
//!
//! Dependencies point one way, from the edges inwards:
//! `main → app → {grpc, rls, budgets_file} → {convert, governor} → {store, feed, metrics,
//! outage} → {suspension, alerts, revision, domain} → {window, org_usage, forecast}`.
//! The pure modules at the bottom know neither tokio, tonic nor Redis; `governor` holds the
//! decision path and knows no protocol; `store` knows Redis, never tonic.

pub mod access;
pub mod alerts;
pub mod app;
pub mod audit;
pub mod budgets_file;
pub mod config;
pub mod consumers;
pub mod convert;
pub mod domain;
pub mod feed;
pub mod fleet;
pub mod forecast;
pub mod governor;
pub mod grant_id;
pub mod grpc;
pub mod metrics;
pub mod org_usage;
pub mod outage;
pub mod revision;
pub mod rls;
pub mod store;
pub mod suspension;
pub mod window;
