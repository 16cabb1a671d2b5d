//! Traces (feature `otel`, off by default: without it none of this is compiled, and no dependency of it is
//! linked). The runtime's OpenTelemetry layer opens one span per invocation; the runtime's own span and the
//! SDK's span of each DynamoDB operation (`DynamoDB.BatchGetItem`, `DynamoDB.TransactWriteItems`, …) are its
//! children. They are exported as OTLP http/protobuf to the ADOT collector extension (`localhost:4318`, or
//! where `OTEL_EXPORTER_OTLP_ENDPOINT` says), which sends them on to X-Ray, and flushed after each invocation,
//! before the runtime asks for the next event (Lambda may freeze the environment then).
//!
//! The invocation's span joins the X-Ray trace Lambda started for the request (the invocation's trace
//! header) and follows its sampling decision: with `Tracing: Active` Lambda samples, and an unsampled
//! request exports nothing.

use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use lambda_http::lambda_runtime::layers::{OpenTelemetryFaasTrigger, OpenTelemetryLayer, TracingLayer};
use lambda_http::lambda_runtime::{Diagnostic, LambdaInvocation};
use lambda_http::tower::{Layer, Service};
use lambda_http::{tracing, IntoResponse, Request};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider,
};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request as HttpRequest, Response as HttpResponse};
use opentelemetry_otlp::{Protocol, RetryPolicy, SpanExporter, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer as _;

/// How long one export may take: the collector is on the same machine, and every invocation waits for its
/// flush before the next one can start.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(2);

/// The tracer provider of the execution environment.
#[derive(Clone)]
pub struct Traces {
    provider: SdkTracerProvider,
}

impl Traces {
    /// Spans batched by the SDK (on its own thread) and exported where the `OTEL_EXPORTER_OTLP_*` variables
    /// say, by default `http://localhost:4318/v1/traces` (the ADOT collector). Failed exports are not retried:
    /// the spans are dropped rather than hold up the next invocation. The service is `OTEL_SERVICE_NAME`,
    /// else `function`.
    pub fn from_env(function: &str) -> Result<Self, String> {
        let exporter = SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_http_client(Exporting::new()?)
            .with_retry_policy(RetryPolicy::disabled())
            .build()
            .map_err(|err| err.to_string())?;
        let mut resource = Resource::builder();
        if std::env::var("OTEL_SERVICE_NAME").map_or(true, |name| name.is_empty()) {
            resource = resource.with_service_name(function.to_owned());
        }
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource.build())
            .build();
        Ok(Traces { provider })
    }

    /// The `tracing` layer that turns spans into OpenTelemetry spans: every span at `INFO` or above (the
    /// runtime's), and the `DEBUG` span the SDK opens around each DynamoDB operation; none of the SDK's or
    /// hyper's own debug spans and events.
    pub fn layer<S>(&self) -> impl tracing_subscriber::Layer<S>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        let spans = Targets::new()
            .with_default(LevelFilter::INFO)
            .with_target("aws_sdk_dynamodb::operation", LevelFilter::DEBUG);
        tracing_opentelemetry::layer().with_tracer(self.provider.tracer("orgmint")).with_filter(spans)
    }

    /// `inner` (the runtime's service of one invocation) inside the runtime's OpenTelemetry layer: its span,
    /// parented by the invocation's X-Ray trace header, and the flush once the invocation is answered.
    pub fn service<S>(&self, inner: S) -> Traced<S, impl Fn() + Clone + Send + Sync + 'static>
    where
        S: Service<LambdaInvocation, Response = ()>,
    {
        let provider = self.provider.clone();
        let flush = move || {
            if let Err(err) = provider.force_flush() {
                tracing::warn!(error = %err, "traces not exported");
            }
        };
        let layer = OpenTelemetryLayer::new(flush).with_trigger(OpenTelemetryFaasTrigger::Http);
        Traced { service: Arc::new(Mutex::new(layer.layer(inner))) }
    }
}

/// The `tracing` subscriber of [`crate::lambda`] (the runtime's events as log lines, the same level and
/// format) with the OpenTelemetry layer beside it; the traces of the environment, or `None` (traces off, a
/// log line says why) when the exporter cannot be built.
pub fn init(function: &str) -> Option<Traces> {
    let (level, json) = crate::lambda::log_settings();
    let fmt = tracing_subscriber::fmt::layer().with_target(false).without_time();
    let fmt = if json { fmt.json().with_filter(level).boxed() } else { fmt.with_filter(level).boxed() };
    let traces = Traces::from_env(function);
    let otel = traces.as_ref().ok().map(Traces::layer);
    // `try_init`: a test or a host that installed a subscriber first keeps it.
    let _ = tracing_subscriber::registry().with(fmt).with(otel).try_init();
    traces.map_err(|err| tracing::error!(error = %err, "traces off: the OTLP exporter cannot be built")).ok()
}

/// [`lambda_http::run_concurrent`] with each invocation traced (see [`Traces::service`]); without `traces`,
/// exactly that.
pub async fn run_concurrent<S, R, E>(traces: Option<Traces>, handler: S) -> Result<(), lambda_http::Error>
where
    S: Service<Request, Response = R, Error = E> + Clone + Send + 'static,
    S::Future: Send + 'static,
    R: IntoResponse + Send + Sync + 'static,
    E: std::fmt::Debug + Into<Diagnostic> + Send + 'static,
{
    let Some(traces) = traces else { return lambda_http::run_concurrent(handler).await };
    // As `lambda_http::run_concurrent` builds it (the runtime's `Lambda runtime invoke` span), the
    // OpenTelemetry layer outermost.
    lambda_http::runtime_concurrent(handler)
        .layer(TracingLayer::new())
        .layer(lambda_http::tower::layer::layer_fn(|inner| traces.service(inner)))
        .run_concurrent()
        .await
}

/// The runtime's OpenTelemetry service, shared by the runtime's workers: one `faas.coldstart` per
/// environment (each copy of the layer's own service would claim one), and the invocation's span parented by
/// its X-Ray trace.
pub struct Traced<S, F: Fn() + Clone> {
    service: Arc<Mutex<<OpenTelemetryLayer<F> as Layer<S>>::Service>>,
}

impl<S, F: Fn() + Clone> Clone for Traced<S, F> {
    fn clone(&self) -> Self {
        Traced { service: Arc::clone(&self.service) }
    }
}

impl<S, F> Service<LambdaInvocation> for Traced<S, F>
where
    S: Service<LambdaInvocation, Response = ()>,
    F: Fn() + Clone,
{
    type Response = ();
    type Error = S::Error;
    type Future = <<OpenTelemetryLayer<F> as Layer<S>>::Service as Service<LambdaInvocation>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.service.lock().unwrap_or_else(PoisonError::into_inner).poll_ready(cx)
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        // The layer opens the invocation's span in `call`, outside any other span: it takes its parent from
        // the OpenTelemetry context current then.
        let _parent = invocation.context.xray_trace_id.as_deref().and_then(xray_parent).map(|cx| cx.attach());
        self.service.lock().unwrap_or_else(PoisonError::into_inner).call(invocation)
    }
}

/// The remote parent an X-Ray trace header names (`Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=<0|1>`,
/// other fields ignored), as an OpenTelemetry context; `None` when it names none.
pub fn xray_parent(header: &str) -> Option<opentelemetry::Context> {
    let (mut trace_id, mut span_id, mut sampled) = (None, None, false);
    for field in header.split(';') {
        match field.trim().split_once('=') {
            Some(("Root", root)) => {
                trace_id = match root.split('-').collect::<Vec<_>>()[..] {
                    ["1", time, random] if time.len() == 8 && random.len() == 24 => {
                        TraceId::from_hex(&format!("{time}{random}")).ok()
                    }
                    _ => None,
                }
            }
            Some(("Parent", parent)) if parent.len() == 16 => span_id = SpanId::from_hex(parent).ok(),
            Some(("Sampled", flag)) => sampled = flag == "1",
            _ => {}
        }
    }
    let flags = if sampled { TraceFlags::SAMPLED } else { TraceFlags::default() };
    let parent = SpanContext::new(trace_id?, span_id?, flags, true, TraceState::default());
    parent.is_valid().then(|| opentelemetry::Context::new().with_remote_span_context(parent))
}

/// hyper's HTTP client (already in the tree for the runtime) on a current-thread runtime of its own. The
/// SDK exports from its batch thread, outside the function's runtime, and a flush blocks one of that
/// runtime's workers until the export is done: the export must not need them.
#[derive(Debug)]
struct Exporting {
    client: opentelemetry_http::hyper::HyperClient,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Exporting {
    fn new() -> Result<Self, String> {
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        let client = opentelemetry_http::hyper::HyperClient::with_default_connector(EXPORT_TIMEOUT, None);
        Ok(Exporting { client, runtime: Some(runtime) })
    }
}

#[async_trait::async_trait]
impl HttpClient for Exporting {
    async fn send_bytes(&self, request: HttpRequest<Bytes>) -> Result<HttpResponse<Bytes>, HttpError> {
        let runtime = self.runtime.as_ref().ok_or("the exporter's runtime is shut down")?;
        runtime.block_on(self.client.send_bytes(request))
    }
}

impl Drop for Exporting {
    fn drop(&mut self) {
        // Dropped wherever the provider is (a test's async task, too), where a runtime may not block.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_xray_header_is_the_invocation_spans_remote_parent() {
        let cx = xray_parent("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
            .expect("a parent");
        let parent = cx.span().span_context().clone();
        assert_eq!(parent.trace_id(), TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap());
        assert_eq!(parent.span_id(), SpanId::from_hex("53995c3f42cd8ad8").unwrap());
        assert!(parent.is_sampled() && parent.is_remote());
        let unsampled =
            xray_parent("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0");
        assert!(!unsampled.unwrap().span().span_context().is_sampled());
        for header in [
            "",
            "Root=1-5759e988-bd862e3fe1be46a994272793",
            "Parent=53995c3f42cd8ad8;Sampled=1",
            "Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
            "Root=1-5759e98-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
            "Root=1-00000000-000000000000000000000000;Parent=53995c3f42cd8ad8",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=zz995c3f42cd8ad8",
        ] {
            assert!(xray_parent(header).is_none(), "{header}");
        }
    }
}
