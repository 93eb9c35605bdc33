//! Ending long-lived streams when a server shuts down. A graceful shutdown
//! waits for the calls in flight; a watch or a stream of decisions never
//! ends by itself, so one open stream would hold a stopping replica for its
//! whole grace period, and then be cut without a status. Instead,
//! [`server::serve`](crate::server) fires a [`Drain`] as soon as shutdown
//! begins, and every streaming handler wraps its response stream in
//! [`Drain::end_stream`], which then ends it with `UNAVAILABLE` ("the server
//! is shutting down; reconnect"): the client reconnects to a replica that
//! stays, and this one exits as soon as its unary calls are done.
//!
//! Handlers find the drain of their server in the request's extensions
//! ([`Drain::of`]), where [`DrainLayer`] puts it for every call, so that
//! no service needs it passed through its constructor.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::watch;
use tokio_stream::Stream;
use tonic::Status;

use crate::error::ApiError;

/// What a stream ended by draining says: retryable, elsewhere or here
/// after the restart.
pub const DRAINING_MESSAGE: &str = "the server is shutting down; reconnect";

/// A server's draining signal: fired once, when its shutdown begins; seen
/// by every clone.
#[derive(Clone, Debug)]
pub struct Drain {
    /// `true` once draining began. Each clone holds the sender, so the
    /// signal never reads as fired merely because its server went away.
    state: Arc<watch::Sender<bool>>,
}

impl Default for Drain {
    fn default() -> Self {
        Self::new()
    }
}

impl Drain {
    /// A signal that has not fired.
    pub fn new() -> Self {
        Self {
            state: Arc::new(watch::Sender::new(false)),
        }
    }

    /// The drain of the server that took `request`; a drain that never
    /// fires when the request did not come through [`DrainLayer`] (a
    /// handler called directly, in a unit test).
    pub fn of<T>(request: &tonic::Request<T>) -> Self {
        request
            .extensions()
            .get::<Drain>()
            .cloned()
            .unwrap_or_default()
    }

    /// Fires the signal: every stream wrapped by [`Drain::end_stream`] ends.
    /// Firing again does nothing.
    pub fn begin(&self) {
        self.state.send_replace(true);
    }

    /// True once draining began.
    pub fn is_draining(&self) -> bool {
        *self.state.borrow()
    }

    /// Resolves once draining began (at once if it has).
    pub fn begun(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut seen = self.state.subscribe();
        // Held so that the sender outlives the wait (see `state`).
        let state = self.state.clone();
        async move {
            // Cannot fail: `state` keeps the sender alive.
            let _ = seen.wait_for(|draining| *draining).await;
            drop(state);
        }
    }

    /// `stream`, ended with `UNAVAILABLE` ([`DRAINING_MESSAGE`]) as soon as
    /// draining begins, even while it waits for its next item. What it had
    /// not yet yielded is dropped with it.
    pub fn end_stream<S, T>(&self, stream: S) -> UntilDrained<S>
    where
        S: Stream<Item = Result<T, Status>> + Send + 'static,
    {
        UntilDrained {
            inner: Some(Box::pin(stream)),
            drained: Box::pin(self.begun()),
        }
    }
}

/// A response stream that ends when its server drains; see
/// [`Drain::end_stream`].
pub struct UntilDrained<S> {
    /// The stream; dropped as soon as it ends or draining begins, which
    /// also lets go of a bidirectional call's request stream.
    inner: Option<Pin<Box<S>>>,
    /// Resolves when draining begins.
    drained: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl<S, T> Stream for UntilDrained<S>
where
    S: Stream<Item = Result<T, Status>>,
{
    type Item = Result<T, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        // Draining first: a stream that always has an item ready must end
        // too.
        if this.drained.as_mut().poll(cx).is_ready() {
            this.inner = None;
            return Poll::Ready(Some(Err(Status::from(ApiError::Stopping(
                DRAINING_MESSAGE.into(),
            )))));
        }
        let next = inner.as_mut().poll_next(cx);
        if let Poll::Ready(None) = next {
            this.inner = None;
        }
        next
    }
}

/// Puts the server's [`Drain`] in every request's extensions, for
/// [`Drain::of`].
#[derive(Clone, Debug)]
pub struct DrainLayer {
    drain: Drain,
}

impl DrainLayer {
    /// Hands out `drain`.
    pub fn new(drain: Drain) -> Self {
        Self { drain }
    }
}

impl<S> tower::Layer<S> for DrainLayer {
    type Service = WithDrain<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WithDrain {
            inner,
            drain: self.drain.clone(),
        }
    }
}

/// The service [`DrainLayer`] makes.
#[derive(Clone, Debug)]
pub struct WithDrain<S> {
    inner: S,
    drain: Drain,
}

impl<S, B> tower::Service<http::Request<B>> for WithDrain<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        request.extensions_mut().insert(self.drain.clone());
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_stream::StreamExt;

    #[tokio::test]
    async fn a_stream_ends_with_unavailable_when_draining_begins() {
        let drain = Drain::new();
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<u32, Status>>(4);
        let mut stream = drain.end_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
        tx.send(Ok(1)).await.unwrap();
        assert_eq!(stream.next().await.unwrap().unwrap(), 1);

        // Waiting for an item that never comes: draining ends the wait.
        let waiting = tokio::spawn(async move {
            let ended = stream.next().await;
            (ended, stream.next().await)
        });
        tokio::task::yield_now().await;
        assert!(!drain.is_draining());
        drain.begin();
        let (ended, after) = tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("draining ends the stream")
            .unwrap();
        let status = ended.unwrap().unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert_eq!(status.message(), DRAINING_MESSAGE);
        assert!(after.is_none(), "nothing after the status");
        assert!(tx.is_closed(), "the inner stream is let go");
    }

    #[tokio::test]
    async fn a_busy_stream_ends_too_and_a_finished_one_is_left_alone() {
        let drain = Drain::new();
        drain.begin();
        drain.begin();
        let mut busy = drain.end_stream(tokio_stream::iter(0..).map(Ok::<u32, Status>));
        let status = busy.next().await.unwrap().unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert!(busy.next().await.is_none());

        let calm = Drain::new();
        let items: Vec<_> = calm
            .end_stream(tokio_stream::iter([Ok::<u32, Status>(1), Ok(2)]))
            .collect()
            .await;
        assert_eq!(items.len(), 2);
        let unset = Drain::of(&tonic::Request::new(()));
        assert!(!unset.is_draining(), "a request from no server");
    }
}
