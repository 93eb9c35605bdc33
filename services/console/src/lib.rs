//! The Sync Health web console: the pages support staff and CRM admins use
//! instead of a gRPC command line. It speaks to the quota governor and the
//! sync-error service over their public gRPC APIs only, with the signed-in
//! person's own credential, so the services' roles and org scopes decide
//! what each person sees and may do; it never reaches Redis.
//!
//! Layers, top down: `app` (wiring, the HTTP listener, security headers),
//! `pages` (handlers: forms in, templates out, and the state they share),
//! `backend` (the gRPC calls),
//! and the pure modules below them: `session` (sealed cookies, CSRF),
//! `sentence` (a status as a sentence), `chart` (the usage SVG), `format`
//! and `names` (numbers, times and enum values as people read them),
//! `forms` (query strings and form bodies, bounded), `history` (an org's
//! suspension events as rows), `stale` (whether a
//! budget changed since the page that edits it was opened).

pub mod app;
pub mod backend;
pub mod chart;
pub mod config;
pub mod format;
pub mod forms;
pub mod history;
pub mod names;
pub mod pages;
pub mod sentence;
pub mod session;
pub mod stale;
