//! Plumbing shared by the syncgov services and tools. It knows none of them:
//! log set-up, settings helpers and the shutdown signal live here so that every
//! binary behaves the same way.

pub mod audit;
pub mod auth;
pub mod budget;
pub mod budgets_file;
pub mod clock;
pub mod drain;
pub mod error;
pub mod fairness;
pub mod gate;
pub mod input;
pub mod metrics;
pub mod page;
pub mod redis_conn;
pub mod reload;
pub mod rpc_metrics;
pub mod rpc_trace;
pub mod security;
pub mod server;
pub mod service_label;
pub mod settings;
pub mod shutdown;
pub mod store;
pub mod task;
pub mod telemetry;
pub mod tls;
