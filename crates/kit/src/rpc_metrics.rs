//! Per-RPC metrics, the signals a platform team alerts on whatever the
//! service: how many calls each method answered with each gRPC status, and
//! how long its unary calls took.
//!
//! - `syncgov_rpc_server_calls_total{rpc_service, rpc_method,
//!   rpc_grpc_status_code}`: calls answered. A stream is counted once, when
//!   it is answered (its status is the one it started with: a refusal, or
//!   `0`).
//! - `syncgov_rpc_server_duration_seconds{rpc_service, rpc_method}`: from
//!   the call's arrival to its answer, for unary methods only (a stream
//!   lasts as long as its caller keeps it).
//!
//! Labels come from the methods the server serves, read from their
//! descriptors: a path nobody serves is counted as `rpc_method="other"`,
//! so a caller inventing paths adds no series. Every method is reported at
//! 0 for every status from start-up, so that `rate()` sees its first call
//! and its first error.
//!
//! Calls are counted in atomics that the exporter reads (an observable
//! counter), and timed into a histogram bound to the method's labels once:
//! a call costs an increment and a bucket update, not a lookup of its label
//! set.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{BoundHistogram, Histogram, ObservableCounter};
use pin_project_lite::pin_project;
use prost::Message as _;

/// Every gRPC status code, `0` (OK) to `16` (UNAUTHENTICATED).
const STATUS_CODES: std::ops::RangeInclusive<i64> = 0..=16;

/// Bucket bounds of the call latency histogram, seconds: from a tenth of a
/// millisecond to the longest request timeout worth telling apart.
const LATENCY_BOUNDS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.25, 1.0, 5.0,
];

/// One served method: its labels, whether its reply is a stream, and its
/// calls answered so far by status code.
#[derive(Debug)]
struct Method {
    labels: [KeyValue; 3],
    unary: bool,
    calls: [AtomicU64; STATUS_COUNT],
    /// The duration histogram bound to `labels`, at the first call: by
    /// then the process's meter provider is in place.
    duration: OnceLock<BoundHistogram<f64>>,
}

/// How many gRPC status codes there are.
const STATUS_COUNT: usize = 17;

impl Method {
    fn new(labels: [KeyValue; 3], unary: bool) -> Self {
        Self {
            labels,
            unary,
            calls: std::array::from_fn(|_| AtomicU64::new(0)),
            duration: OnceLock::new(),
        }
    }
}

/// The methods a server serves, by path (`/pkg.Service/Method`), read once
/// from their descriptors.
#[derive(Debug)]
pub struct RpcMethods {
    by_path: HashMap<String, Arc<Method>>,
    other: Arc<Method>,
}

impl RpcMethods {
    /// The methods of `services` (full names) found in the encoded
    /// `FileDescriptorSet`s `sets`. A set that does not decode adds nothing:
    /// its calls are counted as `other`.
    pub fn from_descriptors(sets: &[&[u8]], services: &[&str]) -> Self {
        let mut by_path = HashMap::new();
        for set in sets {
            let Ok(set) = prost_types::FileDescriptorSet::decode(*set) else {
                continue;
            };
            for file in &set.file {
                for service in &file.service {
                    let full = match file.package() {
                        "" => service.name().to_owned(),
                        package => format!("{package}.{}", service.name()),
                    };
                    if !services.contains(&full.as_str()) {
                        continue;
                    }
                    for method in &service.method {
                        let path = format!("/{full}/{}", method.name());
                        let labels = labels(full.clone(), method.name().to_owned());
                        let unary = !method.client_streaming() && !method.server_streaming();
                        by_path.insert(path, Arc::new(Method::new(labels, unary)));
                    }
                }
            }
        }
        Self {
            by_path,
            other: Arc::new(Method::new(
                labels(String::new(), "other".to_owned()),
                false,
            )),
        }
    }

    /// How many methods are known.
    pub fn len(&self) -> usize {
        self.by_path.len()
    }

    /// True when no method is known.
    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }

    fn lookup(&self, path: &str) -> &Arc<Method> {
        self.by_path.get(path).unwrap_or(&self.other)
    }

    /// Every method, `other` included.
    fn all(&self) -> impl Iterator<Item = &Arc<Method>> {
        self.by_path.values().chain(std::iter::once(&self.other))
    }
}

fn labels(service: String, method: String) -> [KeyValue; 3] {
    [
        KeyValue::new("rpc.service", service),
        KeyValue::new("rpc.method", method),
        crate::metrics::service(),
    ]
}

fn with_code(labels: &[KeyValue; 3], code: i64) -> [KeyValue; 4] {
    let [a, b, c] = labels.clone();
    [a, b, c, KeyValue::new("rpc.grpc.status_code", code)]
}

/// The calls counter over `methods`: every method at every status, from 0.
fn calls(methods: Arc<RpcMethods>) -> ObservableCounter<u64> {
    opentelemetry::global::meter("syncgov")
        .u64_observable_counter("syncgov.rpc.server.calls")
        .with_description("gRPC calls answered, by method and status")
        .with_unit("{call}")
        .with_callback(move |observer| {
            for method in methods.all() {
                for (code, n) in STATUS_CODES.zip(&method.calls) {
                    observer.observe(n.load(Ordering::Relaxed), &with_code(&method.labels, code));
                }
            }
        })
        .build()
}

fn durations() -> &'static Histogram<f64> {
    static DURATIONS: OnceLock<Histogram<f64>> = OnceLock::new();
    DURATIONS.get_or_init(|| {
        opentelemetry::global::meter("syncgov")
            .f64_histogram("syncgov.rpc.server.duration")
            .with_description("time to answer a unary gRPC call, by method")
            .with_unit("s")
            .with_boundaries(LATENCY_BOUNDS.to_vec())
            .build()
    })
}

/// Counts and times every call of the service it wraps.
#[derive(Clone)]
pub struct RpcMetricsLayer {
    methods: Arc<RpcMethods>,
    /// The counter's handle; its callback, registered with the meter,
    /// reads `methods` at every collection.
    _calls: ObservableCounter<u64>,
}

impl RpcMetricsLayer {
    /// Counts the calls of `methods`, each reported at 0 from now on.
    pub fn new(methods: RpcMethods) -> Self {
        let methods = Arc::new(methods);
        Self {
            _calls: calls(methods.clone()),
            methods,
        }
    }
}

impl std::fmt::Debug for RpcMetricsLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcMetricsLayer")
            .field("methods", &self.methods.len())
            .finish()
    }
}

impl<S> tower::Layer<S> for RpcMetricsLayer {
    type Service = RpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcMetrics {
            inner,
            methods: self.methods.clone(),
        }
    }
}

/// Counts and times each call to `inner`.
#[derive(Clone, Debug)]
pub struct RpcMetrics<S> {
    inner: S,
    methods: Arc<RpcMethods>,
}

impl<S, B, R> tower::Service<http::Request<B>> for RpcMetrics<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Measured<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = self.methods.lookup(request.uri().path()).clone();
        Measured {
            future: self.inner.call(request),
            method,
            started: Instant::now(),
        }
    }
}

pin_project! {
    /// A call's future, counted and timed when it is answered.
    pub struct Measured<F> {
        #[pin]
        future: F,
        method: Arc<Method>,
        started: Instant,
    }
}

impl<F, R, E> Future for Measured<F>
where
    F: Future<Output = Result<http::Response<R>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let output = ready!(this.future.poll(cx));
        let code = match &output {
            Ok(response) => status_of(response),
            // The service failed without an answer: UNKNOWN, as the client sees it.
            Err(_) => 2,
        };
        let method = &**this.method;
        method.calls[code as usize].fetch_add(1, Ordering::Relaxed);
        if method.unary {
            let duration = method
                .duration
                .get_or_init(|| durations().bind(&method.labels));
            duration.record(this.started.elapsed().as_secs_f64());
        }
        Poll::Ready(output)
    }
}

/// The status of an answer: in its headers when the call failed before any
/// message (trailers-only), else OK. Anything unreadable is UNKNOWN.
fn status_of<R>(response: &http::Response<R>) -> i64 {
    match response.headers().get("grpc-status") {
        None => 0,
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|code| STATUS_CODES.contains(code))
            .unwrap_or(2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn methods() -> RpcMethods {
        RpcMethods::from_descriptors(
            &[tonic_health::pb::FILE_DESCRIPTOR_SET],
            &["grpc.health.v1.Health"],
        )
    }

    #[test]
    fn the_served_methods_are_read_from_their_descriptors() {
        let methods = methods();
        let check = methods.lookup("/grpc.health.v1.Health/Check");
        assert!(check.unary);
        assert_eq!(check.labels[0].value.as_str(), "grpc.health.v1.Health");
        assert_eq!(check.labels[1].value.as_str(), "Check");
        let watch = methods.lookup("/grpc.health.v1.Health/Watch");
        assert!(!watch.unary, "Watch answers with a stream");
        assert_eq!(watch.labels[1].value.as_str(), "Watch");
        assert_eq!(methods.len(), 2);
    }

    #[test]
    fn paths_nobody_serves_are_one_label() {
        let methods = methods();
        for path in ["/grpc.health.v1.Health/Nope", "/x.Y/Z", "", "/"] {
            let method = methods.lookup(path);
            assert_eq!(method.labels[1].value.as_str(), "other", "{path}");
            assert_eq!(method.labels[0].value.as_str(), "", "{path}");
            assert!(!method.unary);
        }
    }

    #[test]
    fn a_service_not_listed_is_not_counted_by_name() {
        let methods =
            RpcMethods::from_descriptors(&[tonic_health::pb::FILE_DESCRIPTOR_SET], &["some.Other"]);
        assert!(methods.is_empty());
        let broken = RpcMethods::from_descriptors(&[b"\xff\xff"], &["grpc.health.v1.Health"]);
        assert!(broken.is_empty(), "a set that does not decode adds nothing");
    }

    #[test]
    fn statuses_come_from_the_headers_and_are_bounded() {
        let status = |value: Option<&str>| {
            let mut response = http::Response::builder();
            if let Some(v) = value {
                response = response.header("grpc-status", v);
            }
            status_of(&response.body(()).unwrap())
        };
        assert_eq!(status(None), 0);
        assert_eq!(status(Some("14")), 14);
        assert_eq!(status(Some("16")), 16);
        assert_eq!(status(Some("17")), 2, "no such status");
        assert_eq!(status(Some("-1")), 2);
        assert_eq!(status(Some("ok")), 2);
    }
}
