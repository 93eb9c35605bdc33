//! A bound on the calls one caller may have in flight, so that one busy or
//! misbehaving caller cannot take every worker of a service from the
//! others. A caller is the subject of its verified token or, with
//! authentication off, its IP address. A call over the bound is refused at
//! once with RESOURCE_EXHAUSTED (retryable after a back-off) rather than
//! queued: a queue would only move the starvation elsewhere.
//!
//! A call holds its place until its reply's body ends, not only until the
//! reply begins: a stream is in flight for as long as it is open. Streams
//! also have a bound of their own per caller, far below the calls' one:
//! each open stream holds memory and a task for its whole life.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

use crate::auth::Principal;
use crate::error::ApiError;

/// Callers remembered before idle ones are forgotten.
const PRUNE_ABOVE: usize = 4096;

/// Bounds each caller's calls in flight; see the module's documentation.
#[derive(Clone)]
pub struct CallerLimitLayer {
    per_caller: usize,
    callers: Arc<Mutex<Callers>>,
    /// Streams one caller may have open (0: no bound of their own).
    streams_per_caller: usize,
    streams: Arc<Mutex<Callers>>,
    /// The paths of the streaming methods the service serves.
    streaming: &'static [&'static str],
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
    /// At most `per_caller` calls in flight per caller (0: no bound), of
    /// which at most `streams_per_caller` open streams (0: no bound of
    /// their own) on the methods whose paths `streaming` lists.
    pub fn new(
        per_caller: usize,
        streams_per_caller: usize,
        streaming: &'static [&'static str],
    ) -> Self {
        Self {
            per_caller,
            callers: Arc::default(),
            streams_per_caller,
            streams: Arc::default(),
            streaming,
        }
    }

    /// A permit for `caller`, or `None` when it is at its bound.
    fn try_enter(&self, caller: Caller<'_>) -> Option<OwnedSemaphorePermit> {
        enter(&self.callers, self.per_caller, caller)
    }

    /// A permit for one more stream of `caller`, or `None` when it has as
    /// many open as it may.
    fn try_open_stream(&self, caller: Caller<'_>) -> Option<OwnedSemaphorePermit> {
        enter(&self.streams, self.streams_per_caller, caller)
    }
}

/// A permit of `caller` among `callers`, each allowed `bound` at once; `None`
/// when it holds them all.
fn enter(
    callers: &Mutex<Callers>,
    bound: usize,
    caller: Caller<'_>,
) -> Option<OwnedSemaphorePermit> {
    let semaphore = {
        let mut callers = callers.lock().unwrap_or_else(|e| e.into_inner());
        if callers.tokens.len() + callers.ips.len() > PRUNE_ABOVE {
            // Forget callers with nothing in flight.
            let idle =
                |s: &Arc<Semaphore>| Arc::strong_count(s) == 1 && s.available_permits() == bound;
            callers.tokens.retain(|_, s| !idle(s));
            callers.ips.retain(|_, s| !idle(s));
        }
        let fresh = || Arc::new(Semaphore::new(bound));
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
    type Response = http::Response<HeldBody<R>>;
    type Error = S::Error;
    type Future = Held<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        let open = path.starts_with("/grpc.health.v1.Health/");
        let stream = self.layer.streaming.contains(&path);
        let who = if self.layer.per_caller == 0 || open {
            None
        } else {
            caller(&request)
        };
        let Some(who) = who else {
            return Held::pass(self.inner.call(request), Permits::default());
        };
        let Some(call) = self.layer.try_enter(who) else {
            return Held::refuse(refusal(who, "calls in flight", self.layer.per_caller));
        };
        let stream_permit = if stream && self.layer.streams_per_caller > 0 {
            match self.layer.try_open_stream(who) {
                Some(permit) => Some(permit),
                None => {
                    return Held::refuse(refusal(
                        who,
                        "streams open",
                        self.layer.streams_per_caller,
                    ));
                }
            }
        } else {
            None
        };
        let permits = Permits {
            _call: Some(call),
            _stream: stream_permit,
        };
        Held::pass(self.inner.call(request), permits)
    }
}

/// The refusal of a call of `who`, at its `bound` of `what`.
fn refusal(who: Caller<'_>, what: &str, bound: usize) -> Status {
    crate::auth::refused("caller_limit");
    tracing::debug!(caller = %who, limit = bound, what, "call refused: caller at its bound");
    Status::from(ApiError::Exhausted(format!(
        "{who} has {bound} {what}, the most one caller may; retry after a back-off"
    )))
}

/// The places a call holds: one among its caller's calls, and one among its
/// streams when it is one. Given back when the reply's body ends (or is
/// dropped, when the caller goes away).
#[derive(Default)]
pub struct Permits {
    // Held for their drop: each gives its place back.
    _call: Option<OwnedSemaphorePermit>,
    _stream: Option<OwnedSemaphorePermit>,
}

pin_project! {
    /// The future of a call the bound let through, or the refusal it
    /// answered with; its reply carries the call's places in its body.
    #[project = HeldProjection]
    // The macro takes no doc comments on enum fields.
    #[allow(missing_docs)]
    pub enum Held<F> {
        /// On to the service.
        Pass { #[pin] future: F, permits: Option<Permits> },
        /// Answered here, as a trailers-only gRPC reply.
        Refused { status: Option<Status> },
    }
}

impl<F> Held<F> {
    fn pass(future: F, permits: Permits) -> Self {
        Self::Pass {
            future,
            permits: Some(permits),
        }
    }

    fn refuse(status: Status) -> Self {
        Self::Refused {
            status: Some(status),
        }
    }
}

impl<F, R, E> Future for Held<F>
where
    F: Future<Output = Result<http::Response<R>, E>>,
    R: Default,
{
    type Output = Result<http::Response<HeldBody<R>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            HeldProjection::Pass { future, permits } => {
                let response = ready!(future.poll(cx))?;
                let permits = permits.take().unwrap_or_default();
                Poll::Ready(Ok(response.map(|body| HeldBody::new(body, permits))))
            }
            HeldProjection::Refused { status } => {
                let status = status
                    .take()
                    .expect("a refused call is polled once to its end");
                Poll::Ready(Ok(status.into_http::<HeldBody<R>>()))
            }
        }
    }
}

pin_project! {
    /// A reply's body that holds its call's places until it ends.
    pub struct HeldBody<B> {
        #[pin]
        inner: B,
        permits: Option<Permits>,
    }
}

impl<B> HeldBody<B> {
    fn new(inner: B, permits: Permits) -> Self {
        Self {
            inner,
            permits: Some(permits),
        }
    }
}

impl<B: Default> Default for HeldBody<B> {
    fn default() -> Self {
        Self::new(B::default(), Permits::default())
    }
}

impl<B: http_body::Body> http_body::Body for HeldBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        if frame.is_none() {
            // The body ended: the call is no longer in flight.
            this.permits.take();
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_caller_has_its_own_bound() {
        let layer = CallerLimitLayer::new(2, 1, &[]);
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
