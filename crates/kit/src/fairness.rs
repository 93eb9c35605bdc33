//! A bound on the calls one caller may have in flight, so that one busy or
//! misbehaving caller cannot take every worker of a service from the
//! others. A caller is the subject of its verified token or, with
//! authentication off, its IP address. A call over the bound is refused at
//! once with RESOURCE_EXHAUSTED (retryable after a back-off) rather than
//! queued: a queue would only move the starvation elsewhere.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::gate::Gated;

/// Callers remembered before idle ones are forgotten.
const PRUNE_ABOVE: usize = 4096;

/// Bounds each caller's calls in flight; see the module's documentation.
#[derive(Clone)]
pub struct CallerLimitLayer {
    per_caller: usize,
    callers: Arc<Mutex<Callers>>,
}

/// Each caller's places, by token subject and by IP address: looked up
/// without building a key, so that a call pays no allocation here.
#[derive(Default)]
struct Callers {
    tokens: HashMap<String, Arc<Semaphore>>,
    ips: HashMap<IpAddr, Arc<Semaphore>>,
}

/// Who is calling: its token's subject, else its IP address.
#[derive(Clone, Copy, Debug)]
enum Caller<'a> {
    Token(&'a str),
    Ip(IpAddr),
}

impl fmt::Display for Caller<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Caller::Token(subject) => write!(f, "token:{subject}"),
            Caller::Ip(ip) => write!(f, "ip:{ip}"),
        }
    }
}

impl CallerLimitLayer {
    /// At most `per_caller` calls in flight per caller (0: no bound).
    pub fn new(per_caller: usize) -> Self {
        Self {
            per_caller,
            callers: Arc::default(),
        }
    }

    /// A permit for `caller`, or `None` when it is at its bound.
    fn try_enter(&self, caller: Caller<'_>) -> Option<OwnedSemaphorePermit> {
        let semaphore = {
            let mut callers = self.callers.lock().unwrap_or_else(|e| e.into_inner());
            if callers.tokens.len() + callers.ips.len() > PRUNE_ABOVE {
                // Forget callers with nothing in flight.
                let idle = |s: &Arc<Semaphore>| {
                    Arc::strong_count(s) == 1 && s.available_permits() == self.per_caller
                };
                callers.tokens.retain(|_, s| !idle(s));
                callers.ips.retain(|_, s| !idle(s));
            }
            let fresh = || Arc::new(Semaphore::new(self.per_caller));
            match caller {
                Caller::Token(subject) => match callers.tokens.get(subject) {
                    Some(s) => s.clone(),
                    None => callers
                        .tokens
                        .entry(subject.to_owned())
                        .or_insert_with(fresh)
                        .clone(),
                },
                Caller::Ip(ip) => callers.ips.entry(ip).or_insert_with(fresh).clone(),
            }
        };
        semaphore.try_acquire_owned().ok()
    }
}

impl<S> tower::Layer<S> for CallerLimitLayer {
    type Service = CallerLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallerLimit {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`CallerLimitLayer`] makes.
#[derive(Clone)]
pub struct CallerLimit<S> {
    inner: S,
    layer: CallerLimitLayer,
}

/// Who is calling: the token's subject, else the peer's IP address.
fn caller<B>(request: &http::Request<B>) -> Option<Caller<'_>> {
    let extensions = request.extensions();
    if let Some(principal) = extensions.get::<Principal>() {
        return Some(Caller::Token(&principal.subject));
    }
    let addr = extensions
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| {
            extensions
                .get::<TlsConnectInfo<TcpConnectInfo>>()
                .and_then(|info| info.get_ref().remote_addr())
        })?;
    Some(Caller::Ip(addr.ip()))
}

impl<S, B, R> tower::Service<http::Request<B>> for CallerLimit<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    R: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Gated<S::Future, R, OwnedSemaphorePermit>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let open = request.uri().path().starts_with("/grpc.health.v1.Health/");
        let who = if self.layer.per_caller == 0 || open {
            None
        } else {
            caller(&request)
        };
        let Some(who) = who else {
            return Gated::pass(self.inner.call(request), None);
        };
        // The caller's name is written out only for a refusal.
        let entered = self.layer.try_enter(who).ok_or_else(|| who.to_string());
        match entered {
            Ok(permit) => Gated::pass(self.inner.call(request), Some(permit)),
            Err(who) => {
                crate::auth::refused("caller_limit");
                tracing::debug!(caller = %who, limit = self.layer.per_caller, "call refused: caller at its bound");
                Gated::refuse(Status::from(ApiError::Exhausted(format!(
                    "{who} has {} calls in flight, the most one caller may; retry after a back-off",
                    self.layer.per_caller
                ))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_caller_has_its_own_bound() {
        let layer = CallerLimitLayer::new(2);
        let a = Caller::Token("a");
        let a1 = layer.try_enter(a).expect("first");
        let _a2 = layer.try_enter(a).expect("second");
        assert!(
            layer.try_enter(a).is_none(),
            "a third call of the same caller"
        );
        assert!(
            layer.try_enter(Caller::Token("b")).is_some(),
            "another caller is not held up"
        );
        let ip = Caller::Ip(IpAddr::from([127, 0, 0, 1]));
        assert!(
            layer.try_enter(ip).is_some(),
            "an address is a caller of its own"
        );
        drop(a1);
        assert!(
            layer.try_enter(a).is_some(),
            "a finished call frees its place"
        );
    }
}
