//! Work that runs beside a server for as long as it serves: the store's
//! health watch, the watchers of rotated files, a service's followers.
//! Kept apart from `server` so that the modules which make such work do not
//! depend on the server that runs it.

use std::future::Future;
use std::pin::Pin;

/// A future that runs beside the server until it stops.
pub type BoxFuture<T = ()> = Pin<Box<dyn Future<Output = T> + Send>>;
