//! The server span of every gRPC call, after the OpenTelemetry RPC
//! conventions: named `package.Service/Method`, kind server, with
//! `rpc.system`, `rpc.service`, `rpc.method` and `rpc.grpc.status_code`, and
//! the caller's W3C trace context (`traceparent`) as its parent. While traces
//! are off, and for calls not sampled, the layer passes calls straight
//! through.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::telemetry;

/// Wraps a server's routes in [`RpcTrace`].
#[derive(Clone, Copy, Debug, Default)]
pub struct RpcTraceLayer;

impl<S> tower::Layer<S> for RpcTraceLayer {
    type Service = RpcTrace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcTrace { inner }
    }
}

/// Makes a server span for each call to `inner`.
#[derive(Clone, Debug)]
pub struct RpcTrace<S> {
    inner: S,
}

impl<S, B, R> tower::Service<http::Request<B>> for RpcTrace<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Traced<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if !telemetry::tracing_enabled() || !telemetry::should_trace(request.headers()) {
            return Traced::Plain {
                future: self.inner.call(request),
            };
        }
        let (service, method) = split_path(request.uri().path());
        let span = tracing::info_span!(
            "grpc",
            otel.name = format!("{service}/{method}"),
            otel.kind = "server",
            otel.status_code = Empty,
            rpc.system = "grpc",
            rpc.service = service,
            rpc.method = method,
            rpc.grpc.status_code = Empty,
        );
        let _ = span.set_parent(telemetry::extract(request.headers()));
        let future = span.in_scope(|| self.inner.call(request));
        Traced::Spanned { future, span }
    }
}

/// `/pkg.Service/Method` as (`pkg.Service`, `Method`).
fn split_path(path: &str) -> (&str, &str) {
    let path = path.strip_prefix('/').unwrap_or(path);
    path.split_once('/').unwrap_or((path, ""))
}

/// The gRPC status of a reply: in its headers when the call failed before
/// any message (trailers-only), else OK for the headers seen here.
fn grpc_status<R>(response: &http::Response<R>) -> i64 {
    response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Server-side codes that mark the span as an error (the conventions leave
/// the caller's mistakes, such as INVALID_ARGUMENT, unset).
fn is_server_error(code: i64) -> bool {
    matches!(code, 2 | 4 | 12 | 13 | 14 | 15)
}

pin_project! {
    /// A call's future, inside its span when traces are on (`future`: the
    /// call; `span`: its server span).
    #[project = TracedProjection]
    // The macro takes no doc comments on enum fields.
    #[allow(missing_docs)]
    pub enum Traced<F> {
        /// Traces are off.
        Plain { #[pin] future: F },
        /// Inside `span`, which gets the call's status at the end.
        Spanned { #[pin] future: F, span: tracing::Span },
    }
}

impl<F, R, E> Future for Traced<F>
where
    F: Future<Output = Result<http::Response<R>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            TracedProjection::Plain { future } => future.poll(cx),
            TracedProjection::Spanned { future, span } => {
                let _entered = span.enter();
                let output = ready!(future.poll(cx));
                let code = match &output {
                    Ok(response) => grpc_status(response),
                    Err(_) => 2,
                };
                span.record("rpc.grpc.status_code", code);
                if is_server_error(code) {
                    span.record("otel.status_code", "ERROR");
                }
                Poll::Ready(output)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_service_and_the_method() {
        assert_eq!(
            split_path("/syncgov.quota.v1.QuotaGovernor/AcquireTokens"),
            ("syncgov.quota.v1.QuotaGovernor", "AcquireTokens")
        );
        assert_eq!(split_path("/odd"), ("odd", ""));
    }

    #[test]
    fn statuses_come_from_the_headers() {
        let ok = http::Response::new(());
        assert_eq!(grpc_status(&ok), 0);
        let failed = http::Response::builder()
            .header("grpc-status", "14")
            .body(())
            .unwrap();
        assert_eq!(grpc_status(&failed), 14);
        assert!(is_server_error(14));
        assert!(!is_server_error(3), "the caller's mistake");
    }
}
