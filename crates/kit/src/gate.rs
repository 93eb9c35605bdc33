//! The future of a call that a layer lets through or answers itself: what
//! the authentication layer and the per-caller bound share.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;
use tonic::Status;

pin_project! {
    /// A call let through, holding `guard` until it answers (a permit, or
    /// nothing), or the status that refused it.
    #[project = GatedProjection]
    // The macro takes no doc comments on enum fields.
    #[allow(missing_docs)]
    pub enum Gated<F, R, G = ()> {
        /// On to the service.
        Pass { #[pin] future: F, guard: Option<G> },
        /// Answered here, as a trailers-only gRPC reply.
        Refused { status: Option<Status>, body: PhantomData<fn() -> R> },
    }
}

impl<F, R, G> Gated<F, R, G> {
    /// Lets the call through.
    pub fn pass(future: F, guard: Option<G>) -> Self {
        Self::Pass { future, guard }
    }

    /// Answers the call with `status`.
    pub fn refuse(status: Status) -> Self {
        Self::Refused {
            status: Some(status),
            body: PhantomData,
        }
    }
}

impl<F, R, G, E> Future for Gated<F, R, G>
where
    F: Future<Output = Result<http::Response<R>, E>>,
    R: Default,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            GatedProjection::Pass { future, guard } => {
                let output = ready!(future.poll(cx));
                guard.take();
                Poll::Ready(output)
            }
            GatedProjection::Refused { status, .. } => {
                let status = status
                    .take()
                    .expect("a refused call is polled once to its end");
                Poll::Ready(Ok(status.into_http()))
            }
        }
    }
}
