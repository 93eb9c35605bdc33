//! Logs and traces, set up the same way by every binary.
//!
//! Logs: readable lines for a terminal or JSON lines for log collectors,
//! filtered by `RUST_LOG`, on stderr. Traces: exported over OTLP/gRPC when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`)
//! is set, configured by the standard variables (`OTEL_SERVICE_NAME`,
//! `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`,
//! `OTEL_TRACES_SAMPLER_ARG`, `OTEL_BSP_*`); without an endpoint there is no
//! exporter and no span is made for tracing's sake. While traces are on, log
//! lines carry the `trace_id` and `span_id` of the span they happen in.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use tracing::dispatcher::WeakDispatch;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::Registry;
use tracing_subscriber::filter::FilterExt;
use tracing_subscriber::fmt::format::{Format, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Which spans are exported when traces are on: the services' own spans
/// down to debug level (the per-request ones are at debug so that they cost
/// nothing while traces are off), everything else from info.
const DEFAULT_TRACE_FILTER: &str = "info,quota_governor=debug,sync_errors=debug,syncgov_kit=debug";

/// The variable that overrides [`DEFAULT_TRACE_FILTER`] (`RUST_LOG` syntax).
pub const TRACE_FILTER_VAR: &str = "SYNCGOV_TRACE_FILTER";

static TRACING: AtomicBool = AtomicBool::new(false);
static SAMPLING: std::sync::OnceLock<Sampling> = std::sync::OnceLock::new();

/// Which requests are traced, from `OTEL_TRACES_SAMPLER` and
/// `OTEL_TRACES_SAMPLER_ARG`. The decision is made once, when a call
/// arrives, before any span exists: a call not sampled makes no span at all,
/// so sampling saves what spans cost, not only what exporting them costs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sampling {
    /// Follow the caller's decision when it sent a `traceparent`.
    pub parent_based: bool,
    /// Share of the calls without a parent that are traced, 0 to 1.
    pub ratio: f64,
}

impl Sampling {
    /// Reads the standard variables; unknown samplers fall back to the
    /// default, parent-based and always on.
    pub fn from_env() -> Self {
        let name = std::env::var("OTEL_TRACES_SAMPLER").unwrap_or_default();
        let arg = std::env::var("OTEL_TRACES_SAMPLER_ARG")
            .ok()
            .and_then(|a| a.trim().parse::<f64>().ok())
            .filter(|r| (0.0..=1.0).contains(r))
            .unwrap_or(1.0);
        let (parent_based, ratio) = match name.trim() {
            "always_on" => (false, 1.0),
            "always_off" => (false, 0.0),
            "traceidratio" => (false, arg),
            "parentbased_always_off" => (true, 0.0),
            "parentbased_traceidratio" => (true, arg),
            _ => (true, 1.0),
        };
        Self {
            parent_based,
            ratio,
        }
    }

    /// Whether a call whose caller sent `parent` (`None`: no trace context)
    /// is traced. `n` numbers the calls: a ratio keeps every
    /// `1 / ratio`-th, evenly spread.
    pub fn decide(&self, parent: Option<bool>, n: u64) -> bool {
        match parent {
            Some(sampled) if self.parent_based => sampled,
            _ if self.ratio >= 1.0 => true,
            _ if self.ratio <= 0.0 => false,
            _ => {
                let every = (1.0 / self.ratio).round().max(1.0) as u64;
                n.is_multiple_of(every)
            }
        }
    }
}

/// True when a call with these headers is to be traced (see [`Sampling`]).
pub fn should_trace(headers: &http::HeaderMap) -> bool {
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let Some(sampling) = SAMPLING.get() else {
        return false;
    };
    let parent = headers.contains_key("traceparent").then(|| {
        let cx = extract(headers);
        let span = cx.span();
        let context = span.span_context();
        context.is_valid() && context.is_sampled()
    });
    sampling.decide(parent, CALLS.fetch_add(1, Ordering::Relaxed))
}

/// True when spans are exported: hot paths skip making spans otherwise.
pub fn tracing_enabled() -> bool {
    TRACING.load(Ordering::Relaxed)
}

/// What [`init`] started; [`Telemetry::shutdown`] flushes the spans still
/// queued, so that the last requests before a shutdown are not lost.
#[must_use = "shut it down on exit to flush the last spans"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Flushes and stops the exporter, if any. Blocks the calling thread:
    /// call it from a blocking context (or after the runtime stopped).
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown()
        {
            eprintln!("cannot flush the last spans: {e}");
        }
    }
}

/// True when an OTLP endpoint is configured and the SDK is not disabled.
fn otlp_configured() -> bool {
    let set = |name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    !disabled && (set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
}

/// Installs the global subscriber, and the OTLP trace pipeline when an
/// endpoint is configured. `default_filter` applies to logs when `RUST_LOG`
/// is unset; `service_name` names the service in traces unless
/// `OTEL_SERVICE_NAME` does. Must run inside a Tokio runtime (the exporter's
/// gRPC channel lives there).
///
/// Calling it twice is harmless: the second call installs nothing, which
/// lets tests start several services in one process.
pub fn init(format: LogFormat, default_filter: &str, service_name: &str) -> Telemetry {
    type Boxed = Box<dyn Layer<Registry> + Send + Sync>;
    let dispatch: Arc<OnceLock<WeakDispatch>> = Arc::default();
    let log_filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let logs: Boxed = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(colours_on_stderr())
            .event_format(TraceIds {
                inner: Format::default(),
                json: false,
                dispatch: dispatch.clone(),
            })
            .with_filter(log_filter)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(std::io::stderr)
            .map_event_format(|inner| TraceIds {
                inner,
                json: true,
                dispatch: dispatch.clone(),
            })
            .with_filter(log_filter)
            .boxed(),
    };
    let provider = if otlp_configured() {
        match pipeline(service_name) {
            Ok(provider) => Some(provider),
            Err(e) => {
                eprintln!("{service_name}: traces are off: {e}");
                None
            }
        }
    } else {
        None
    };
    let mut layers = vec![logs];
    if let Some(provider) = &provider {
        let filter = EnvFilter::try_from_env(TRACE_FILTER_VAR)
            .unwrap_or_else(|_| EnvFilter::new(DEFAULT_TRACE_FILTER));
        // A span is exported only inside a traced call: a call's server
        // span ("grpc") or the relay's ("relay") starts a trace, anything
        // else needs a traced span around it. Calls not sampled thus make
        // no span at all, even at debug level.
        let in_trace = tracing_subscriber::filter::dynamic_filter_fn(|meta, cx| {
            !meta.is_span()
                || matches!(meta.name(), "grpc" | "relay")
                || cx.lookup_current().is_some()
        });
        layers.push(
            tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("syncgov"))
                .with_filter(filter.and(in_trace))
                .boxed(),
        );
    }
    if tracing_subscriber::registry()
        .with(layers)
        .try_init()
        .is_err()
    {
        return Telemetry { provider: None };
    }
    if let Some(provider) = &provider {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        opentelemetry::global::set_tracer_provider(provider.clone());
        let _ = SAMPLING.set(Sampling::from_env());
        TRACING.store(true, Ordering::Relaxed);
    }
    Telemetry { provider }
}

fn pipeline(service_name: &str) -> anyhow::Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .build()?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    if std::env::var("OTEL_SERVICE_NAME").is_err() {
        resource = resource.with_service_name(service_name.to_owned());
    }
    Ok(SdkTracerProvider::builder()
        // Calls are sampled when they arrive (`Sampling`); what reaches the
        // SDK is kept.
        .with_sampler(opentelemetry_sdk::trace::Sampler::ParentBased(Box::new(
            opentelemetry_sdk::trace::Sampler::AlwaysOn,
        )))
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build())
}

/// Colours in text logs only for a person at a terminal: a file, a pipe or
/// a log collector would keep the escape codes as text. `NO_COLOR` (any
/// value, <https://no-color.org>) turns them off at a terminal too.
fn colours_on_stderr() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Installs a subscriber for tests: silent unless `TEST_LOG` is set.
pub fn init_for_tests() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = init(LogFormat::Text, "info", "test");
    }
}

/// Formats log lines with the inner formatter, adding the trace and span
/// ids of the current span when traces are on: a JSON line gets them as
/// its first fields, a text line as a prefix.
struct TraceIds<F> {
    inner: F,
    json: bool,
    /// The subscriber this formats for, set once it is installed: inside a
    /// subscriber's callback `dispatcher::get_default` gives no subscriber
    /// (it guards against re-entry), so the formatter keeps its own handle.
    dispatch: Arc<OnceLock<WeakDispatch>>,
}

impl<S, N, F> FormatEvent<S, N> for TraceIds<F>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let ids = tracing_enabled()
            .then(|| ctx.lookup_current().map(|span| span.id()))
            .flatten()
            .and_then(|id| {
                let dispatch = self.dispatch.get()?.upgrade()?;
                tracing_opentelemetry::get_otel_context(&id, &dispatch)
            })
            .map(|cx| cx.span().span_context().clone())
            .filter(|sc| sc.is_valid());
        let Some(sc) = ids else {
            return self.inner.format_event(ctx, writer, event);
        };
        if self.json {
            let mut line = String::new();
            self.inner
                .format_event(ctx, Writer::new(&mut line), event)?;
            let fields = format!(
                "\"trace_id\":\"{}\",\"span_id\":\"{}\",",
                sc.trace_id(),
                sc.span_id()
            );
            match line.strip_prefix('{') {
                Some(rest) => write!(writer, "{{{fields}{rest}"),
                None => writer.write_str(&line),
            }
        } else {
            write!(
                writer,
                "trace_id={} span_id={} ",
                sc.trace_id(),
                sc.span_id()
            )?;
            self.inner.format_event(ctx, writer, event)
        }
    }
}

/// Reads W3C trace context from HTTP/2 headers (gRPC metadata).
pub struct HeaderExtractor<'a>(pub &'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Writes W3C trace context into gRPC metadata.
struct MetadataInjector<'a>(&'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            tonic::metadata::MetadataValue::try_from(value.as_str()),
        ) {
            self.0.insert(key, value);
        }
    }
}

/// The parent that `headers` name (`traceparent`, `tracestate`).
pub fn extract(headers: &http::HeaderMap) -> opentelemetry::Context {
    TraceContextPropagator::new().extract(&HeaderExtractor(headers))
}

/// Adds the context of `span` to an outgoing call, so that the callee's
/// spans join this trace.
pub fn inject<T>(span: &tracing::Span, request: &mut tonic::Request<T>) {
    if tracing_enabled() {
        TraceContextPropagator::new().inject_context(
            &span.context(),
            &mut MetadataInjector(request.metadata_mut()),
        );
    }
}

/// The W3C `traceparent` of the current span, to be kept with work done
/// later (an outbox entry) so that it joins this trace; empty when traces
/// are off.
pub fn current_traceparent() -> String {
    if !tracing_enabled() {
        return String::new();
    }
    let mut fields = std::collections::HashMap::new();
    TraceContextPropagator::new().inject_context(&tracing::Span::current().context(), &mut fields);
    fields.remove("traceparent").unwrap_or_default()
}

/// The context a kept `traceparent` names (see [`current_traceparent`]).
pub fn context_of(traceparent: &str) -> opentelemetry::Context {
    let fields =
        std::collections::HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    TraceContextPropagator::new().extract(&fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Collects what the log layer writes.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn log_lines_inside_a_traced_span_carry_its_ids() {
        let provider = SdkTracerProvider::builder().build();
        for json in [true, false] {
            let buffer = Buffer::default();
            let writer = buffer.clone();
            let cell: Arc<OnceLock<WeakDispatch>> = Arc::default();
            let logs: Box<dyn Layer<Registry> + Send + Sync> = if json {
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_writer(move || writer.clone())
                    .map_event_format(|inner| TraceIds {
                        inner,
                        json: true,
                        dispatch: cell.clone(),
                    })
                    .boxed()
            } else {
                tracing_subscriber::fmt::layer()
                    .with_writer(move || writer.clone())
                    .event_format(TraceIds {
                        inner: Format::default(),
                        json: false,
                        dispatch: cell.clone(),
                    })
                    .boxed()
            };
            let subscriber = tracing_subscriber::registry()
                .with(logs)
                .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
            TRACING.store(true, Ordering::Relaxed);
            let (trace_id, span_id) = tracing::subscriber::with_default(subscriber, || {
                let span = tracing::info_span!("grpc");
                let _entered = span.enter();
                let _ = cell.set(tracing::dispatcher::get_default(|d| d.downgrade()));
                tracing::info!("inside");
                let cx = span.context();
                let sc = cx.span().span_context().clone();
                (sc.trace_id().to_string(), sc.span_id().to_string())
            });
            TRACING.store(false, Ordering::Relaxed);
            let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
            if json {
                let line: serde_json::Value =
                    serde_json::from_str(text.trim()).expect("one JSON line");
                assert_eq!(line["trace_id"], trace_id.as_str(), "{text}");
                assert_eq!(line["span_id"], span_id.as_str(), "{text}");
                assert_eq!(line["message"], "inside", "{text}");
            } else {
                assert!(
                    text.starts_with(&format!("trace_id={trace_id} span_id={span_id} ")),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn ratios_keep_an_even_share_of_root_calls() {
        let tenth = Sampling {
            parent_based: true,
            ratio: 0.1,
        };
        let kept = (0..1_000).filter(|&n| tenth.decide(None, n)).count();
        assert_eq!(kept, 100);
        assert!(tenth.decide(Some(true), 1), "the caller's yes");
        assert!(!tenth.decide(Some(false), 0), "the caller's no");
        let ratio_only = Sampling {
            parent_based: false,
            ratio: 0.0,
        };
        assert!(!ratio_only.decide(Some(true), 0));
    }
}
