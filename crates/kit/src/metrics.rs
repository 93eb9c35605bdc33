//! Metrics: OpenTelemetry instruments, read two ways. A Prometheus scrape
//! endpoint on a separate admin port (`GET /metrics`, text format 0.0.4)
//! always; and OTLP/gRPC export when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`) is set, every
//! `OTEL_METRIC_EXPORT_INTERVAL` ms (60 000).
//!
//! Labels have bounded values (outcomes, reasons, categories); an org's
//! name becomes a label only for the orgs an operator lists. Every point
//! carries [`SERVICE_KEY`], so the two services stay apart whatever the
//! scrape configuration names their jobs, and every counter is recorded at
//! 0 for each of its known label values from start-up, so that `rate()` and
//! `increase()` see its first event.
//!
//! Names follow the OpenTelemetry-to-Prometheus rules an OpenTelemetry
//! Collector applies: dots become underscores, the unit becomes a suffix
//! (`s`: `_seconds`; `1` on a gauge: `_ratio`; an annotation such as
//! `{job}`: none), and a monotonic sum ends in `_total`. A metric is named
//! the same whether it is scraped here or exported through a Collector.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use opentelemetry::KeyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use tokio::net::TcpListener;

use crate::reload::Reloading;
use crate::tls::ServerConfigs;

/// How often the scrape endpoint's snapshot is refreshed.
const SCRAPE_REFRESH: std::time::Duration = std::time::Duration::from_secs(1);

/// The scrape side: the latest collection, kept as Prometheus text. A
/// periodic reader renders it every second, so a scrape costs no
/// collection and shows the counters at most a second old.
#[derive(Clone, Debug, Default)]
pub struct Scrape(Arc<std::sync::Mutex<String>>);

impl PushMetricExporter for Scrape {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let text = prometheus_text(metrics);
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = text;
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

impl Scrape {
    /// Every metric as of the last refresh, in the Prometheus text format.
    pub fn render(&self) -> String {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

pub use crate::service_label::{SERVICE_KEY, service};

/// The meter provider of a service and its scrape side.
pub struct Metrics {
    /// Shut down on exit to push the last OTLP export.
    pub provider: SdkMeterProvider,
    /// What the admin port serves.
    pub scrape: Scrape,
}

/// Builds the meter provider of `service_name`, installs it as the global
/// one (instruments come from `opentelemetry::global::meter`), and returns
/// it with its scrape side. Must run inside a Tokio runtime when OTLP export
/// is on.
pub fn init(service_name: &str) -> Metrics {
    let scrape = Scrape::default();
    let mut resource = opentelemetry_sdk::Resource::builder();
    if std::env::var("OTEL_SERVICE_NAME").is_err() {
        resource = resource.with_service_name(service_name.to_owned());
    }
    let mut builder = SdkMeterProvider::builder()
        .with_resource(resource.build())
        .with_reader(
            PeriodicReader::builder(scrape.clone())
                .with_interval(SCRAPE_REFRESH)
                .build(),
        );
    if otlp_configured() {
        match opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .build()
        {
            Ok(exporter) => {
                builder = builder.with_reader(PeriodicReader::builder(exporter).build());
            }
            Err(e) => eprintln!("{service_name}: metrics export is off: {e}"),
        }
    }
    let provider = builder.build();
    crate::service_label::set(service_name);
    opentelemetry::global::set_meter_provider(provider.clone());
    report_build_info();
    crate::error::count_store_errors_from_zero();
    crate::auth::count_refusals_from_zero(crate::auth::REFUSAL_REASONS);
    Metrics { provider, scrape }
}

/// `syncgov_build_info{version}` at 1: which build each replica runs, to
/// join on in queries and to see a rollout progress.
fn report_build_info() {
    static BUILD_INFO: std::sync::OnceLock<opentelemetry::metrics::ObservableGauge<u64>> =
        std::sync::OnceLock::new();
    let gauge = opentelemetry::global::meter("syncgov")
        .u64_observable_gauge("syncgov.build.info")
        .with_description("1, labelled with the version this process runs")
        .with_callback(|observer| {
            observer.observe(
                1,
                &[
                    KeyValue::new("version", env!("CARGO_PKG_VERSION")),
                    service(),
                ],
            )
        })
        .build();
    // Kept so that its callback stays registered.
    let _ = BUILD_INFO.set(gauge);
}

fn otlp_configured() -> bool {
    let set = |name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    !disabled && (set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"))
}

/// What the admin port says of the service's health: its health service,
/// the name it reports under, and its server's drain.
#[derive(Clone)]
pub struct Readiness {
    /// The service's own health service, asked in-process.
    pub health: std::sync::Arc<tonic_health::server::HealthService>,
    /// The service's full name.
    pub service: &'static str,
    /// Fired when shutdown begins: from then on the service is not ready,
    /// whatever its health said last, so that no new call is routed to it
    /// while it finishes the ones it has.
    pub drain: crate::drain::Drain,
}

impl Readiness {
    async fn serving(&self) -> bool {
        if self.drain.is_draining() {
            return false;
        }
        use tonic_health::pb::health_server::Health;
        let request = tonic::Request::new(tonic_health::pb::HealthCheckRequest {
            service: self.service.to_owned(),
        });
        self.health.check(request).await.is_ok_and(|reply| {
            reply.get_ref().status
                == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        })
    }
}

/// Serves the admin port on `listener` until the task is dropped:
/// `GET /metrics`, and for probes that cannot speak gRPC over TLS (the
/// kubelet's gRPC probe is plain text only) `GET /livez` (the process
/// answers) and `GET /readyz` (200 while the service reports SERVING and
/// has not begun draining, 503 otherwise). With `tls` (the gRPC listener's certificate, as it is
/// reloaded) it speaks HTTPS, HTTP/1.1 only, and asks for no client
/// certificate even when the gRPC port requires one: the kubelet and
/// Prometheus have none, and what is served here is no caller's data.
pub async fn serve(
    listener: TcpListener,
    scrape: Scrape,
    readiness: Option<Readiness>,
    tls: Option<Arc<Reloading<ServerConfigs>>>,
) {
    use http_body_util::Full;
    use hyper::body::Bytes;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;

    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let (scrape, readiness, tls) = (scrape.clone(), readiness.clone(), tls.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let (scrape, readiness) = (scrape.clone(), readiness.clone());
                async move {
                    let text = |status: u16, body: &'static str| {
                        hyper::Response::builder()
                            .status(status)
                            .header("content-type", "text/plain")
                            .body(Full::new(Bytes::from_static(body.as_bytes())))
                    };
                    match request.uri().path() {
                        "/metrics" => hyper::Response::builder()
                            .header("content-type", "text/plain; version=0.0.4")
                            .body(Full::new(Bytes::from(scrape.render()))),
                        "/livez" => text(200, "ok\n"),
                        "/readyz" => match &readiness {
                            Some(r) if r.serving().await => text(200, "serving\n"),
                            Some(_) => text(503, "not serving\n"),
                            None => text(404, "no service here\n"),
                        },
                        _ => text(404, "only /metrics, /livez and /readyz here\n"),
                    }
                }
            });
            let http = hyper::server::conn::http1::Builder::new();
            match tls {
                None => {
                    let _ = http.serve_connection(TokioIo::new(stream), service).await;
                }
                Some(tls) => {
                    let acceptor = tokio_rustls::TlsAcceptor::from(tls.get().admin.clone());
                    let handshake = acceptor.accept(stream);
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(Duration::from_secs(10), handshake).await
                    {
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                }
            }
        });
    }
}

/// Binds the admin port.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for metrics"))
}

/// A Prometheus label name (or name part) from an OpenTelemetry one.
fn prometheus_name(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// What a metric is, for its Prometheus name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A monotonic sum: `_total`.
    Counter,
    /// A gauge or a non-monotonic sum: `_ratio` for unit `1`.
    Gauge,
    /// A histogram: the unit only.
    Histogram,
}

/// The Prometheus name of a metric named `name` with `unit`, as an
/// OpenTelemetry Collector's Prometheus exporters name it: the unit as a
/// suffix unless the name has it already, `_ratio` for a gauge of unit `1`,
/// `_total` last for a counter.
fn metric_name(name: &str, unit: &str, kind: Kind) -> String {
    let mut tokens: Vec<String> = prometheus_name(name)
        .split('_')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let suffix = match unit {
        "s" => "seconds",
        "ms" => "milliseconds",
        "By" => "bytes",
        // Dimensionless, or an annotation that names what is counted.
        "" | "1" => "",
        u if u.starts_with('{') => "",
        u => u,
    };
    if !suffix.is_empty() && !tokens.iter().any(|t| t == suffix) {
        tokens.push(prometheus_name(suffix));
    }
    if unit == "1" && kind == Kind::Gauge {
        tokens.retain(|t| t != "ratio");
        tokens.push("ratio".to_owned());
    }
    if kind == Kind::Counter {
        tokens.retain(|t| t != "total");
        tokens.push("total".to_owned());
    }
    tokens.join("_")
}

fn labels<'a>(
    attributes: impl Iterator<Item = &'a KeyValue>,
    extra: Option<(&str, String)>,
) -> String {
    let mut pairs: Vec<(String, String)> = attributes
        .map(|kv| (prometheus_name(kv.key.as_str()), kv.value.to_string()))
        .collect();
    pairs.sort();
    if let Some((k, v)) = extra {
        pairs.push((k.to_owned(), v));
    }
    if pairs.is_empty() {
        return String::new();
    }
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect();
    format!("{{{}}}", body.join(","))
}

/// Renders collected metrics in the Prometheus text format, named by
/// [`metric_name`]: counters end in `_total`, histograms come as
/// `_bucket`/`_sum`/`_count`.
pub fn prometheus_text(rm: &ResourceMetrics) -> String {
    let mut out = String::new();
    for scope in rm.scope_metrics() {
        for metric in scope.metrics() {
            let help = metric
                .description()
                .replace('\\', "\\\\")
                .replace('\n', " ");
            let (name, unit) = (metric.name(), metric.unit());
            match metric.data() {
                AggregatedMetrics::U64(data) => write_data(&mut out, name, unit, &help, data),
                AggregatedMetrics::I64(data) => write_data(&mut out, name, unit, &help, data),
                AggregatedMetrics::F64(data) => write_data(&mut out, name, unit, &help, data),
            }
        }
    }
    out
}

fn write_data<T>(out: &mut String, name: &str, unit: &str, help: &str, data: &MetricData<T>)
where
    T: Copy + std::fmt::Display,
{
    match data {
        MetricData::Sum(sum) => {
            let (kind, full) = if sum.is_monotonic() {
                ("counter", metric_name(name, unit, Kind::Counter))
            } else {
                ("gauge", metric_name(name, unit, Kind::Gauge))
            };
            let _ = writeln!(out, "# HELP {full} {help}\n# TYPE {full} {kind}");
            for point in sum.data_points() {
                let _ = writeln!(
                    out,
                    "{full}{} {}",
                    labels(point.attributes(), None),
                    point.value()
                );
            }
        }
        MetricData::Gauge(gauge) => {
            let name = metric_name(name, unit, Kind::Gauge);
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for point in gauge.data_points() {
                let _ = writeln!(
                    out,
                    "{name}{} {}",
                    labels(point.attributes(), None),
                    point.value()
                );
            }
        }
        MetricData::Histogram(histogram) => {
            let name = metric_name(name, unit, Kind::Histogram);
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
            for point in histogram.data_points() {
                let mut cumulative = 0;
                let bounds: Vec<f64> = point.bounds().collect();
                for (i, count) in point.bucket_counts().enumerate() {
                    cumulative += count;
                    let le = bounds.get(i).map_or("+Inf".to_owned(), |b| b.to_string());
                    let _ = writeln!(
                        out,
                        "{name}_bucket{} {cumulative}",
                        labels(point.attributes(), Some(("le", le)))
                    );
                }
                let _ = writeln!(
                    out,
                    "{name}_sum{} {}",
                    labels(point.attributes(), None),
                    point.sum()
                );
                let _ = writeln!(
                    out,
                    "{name}_count{} {}",
                    labels(point.attributes(), None),
                    point.count()
                );
            }
        }
        MetricData::ExponentialHistogram(_) => {}
    }
}

/// Which orgs get their own label value; the others share `other`, so that
/// a label never has as many values as there are orgs.
#[derive(Clone, Debug, Default)]
pub struct OrgLabels(Arc<std::collections::HashMap<String, opentelemetry::StringValue>>);

impl OrgLabels {
    /// The orgs listed (comma-separated, as the setting gives them).
    pub fn new(orgs: &[String]) -> Self {
        Self(Arc::new(
            orgs.iter()
                .map(|org| (org.clone(), Arc::<str>::from(org.as_str()).into()))
                .collect(),
        ))
    }

    /// Every value the label can take: the orgs listed, then `other`.
    pub fn values(&self) -> Vec<String> {
        let mut values: Vec<String> = self.0.keys().filter(|o| *o != "other").cloned().collect();
        values.sort();
        values.push("other".to_owned());
        values
    }

    /// The label value for `org`: shared, not copied, so that counting a
    /// call allocates nothing.
    pub fn of(&self, org: &str) -> opentelemetry::StringValue {
        match self.0.get(org) {
            Some(value) => value.clone(),
            None => "other".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::metrics::MeterProvider as _;

    #[test]
    fn counters_gauges_and_histograms_render_as_prometheus_text() {
        let scrape = Scrape::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(scrape.clone()).build())
            .build();
        let meter = provider.meter("test");
        let decisions = meter
            .u64_counter("syncgov.quota.decisions")
            .with_description("Decisions")
            .build();
        decisions.add(3, &[KeyValue::new("outcome", "granted")]);
        decisions.add(
            1,
            &[
                KeyValue::new("outcome", "denied"),
                KeyValue::new("reason", "say \"no\""),
            ],
        );
        let latency = meter
            .f64_histogram("syncgov.quota.decision.duration")
            .with_unit("s")
            .with_boundaries(vec![0.001, 0.01])
            .build();
        latency.record(0.0005, &[]);
        latency.record(0.005, &[]);
        latency.record(0.5, &[]);
        provider.force_flush().unwrap();
        let text = scrape.render();
        assert!(
            text.contains("# TYPE syncgov_quota_decisions_total counter"),
            "{text}"
        );
        assert!(
            text.contains("syncgov_quota_decisions_total{outcome=\"granted\"} 3"),
            "{text}"
        );
        assert!(
            text.contains(
                "syncgov_quota_decisions_total{outcome=\"denied\",reason=\"say \\\"no\\\"\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("syncgov_quota_decision_duration_seconds_bucket{le=\"0.001\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("syncgov_quota_decision_duration_seconds_bucket{le=\"0.01\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("syncgov_quota_decision_duration_seconds_bucket{le=\"+Inf\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("syncgov_quota_decision_duration_seconds_count 3"),
            "{text}"
        );
    }

    #[test]
    fn names_follow_the_collectors_rules() {
        let cases = [
            (
                "syncgov.quota.decisions",
                "",
                Kind::Counter,
                "syncgov_quota_decisions_total",
            ),
            (
                "syncgov.calls.refused",
                "{call}",
                Kind::Counter,
                "syncgov_calls_refused_total",
            ),
            ("a.b.total", "", Kind::Counter, "a_b_total"),
            (
                "syncgov.quota.decision.duration",
                "s",
                Kind::Histogram,
                "syncgov_quota_decision_duration_seconds",
            ),
            (
                "syncgov.tls.certificate.expiry_seconds",
                "s",
                Kind::Gauge,
                "syncgov_tls_certificate_expiry_seconds",
            ),
            (
                "syncgov.quota.usage.ratio",
                "1",
                Kind::Histogram,
                "syncgov_quota_usage_ratio",
            ),
            ("a.ratio.b", "1", Kind::Gauge, "a_b_ratio"),
            (
                "syncgov.errors.resync.queue",
                "{job}",
                Kind::Gauge,
                "syncgov_errors_resync_queue",
            ),
            ("a.size", "By", Kind::Gauge, "a_size_bytes"),
        ];
        for (name, unit, kind, expected) in cases {
            assert_eq!(metric_name(name, unit, kind), expected, "{name} in {unit}");
        }
    }

    #[test]
    fn only_listed_orgs_get_their_own_label() {
        let labels = OrgLabels::new(&["acme".to_owned(), "other".to_owned()]);
        assert_eq!(labels.of("acme").as_str(), "acme");
        assert_eq!(labels.of("globex").as_str(), "other");
        assert_eq!(labels.values(), ["acme", "other"]);
    }
}
