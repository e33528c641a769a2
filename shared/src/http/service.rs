//! The per-invocation pipeline every function runs its handler through.

use std::convert::Infallible;
use std::future::Future;
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::FutureExt;
use lambda_http::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use tracing::Instrument;

use super::ApiError;
use crate::config::CommonConfig;
use crate::logging::{Sink, stdout_sink};
use crate::metrics::{Metrics, Unit};
use crate::xray::{self, TraceContext, XrayEmitter};

/// Responses larger than this are gzipped when the client accepts it.
const GZIP_MIN_BYTES: usize = 1024;
/// Correlation ids from clients are accepted up to this length.
const MAX_CORRELATION_ID: usize = 128;

/// A function's routes: a plain async function of the request, so tests can call it directly.
pub trait Handler: Send + Sync {
    /// Answers one request; errors are mapped to JSON responses by the pipeline.
    fn handle(&self, req: Request, inv: &Invocation) -> impl Future<Output = Result<Response<Body>, ApiError>> + Send;
}

/// What a handler knows about the invocation it serves.
#[derive(Debug)]
pub struct Invocation {
    /// Lambda's request id: in every log line, every error body and the `X-Request-ID` header.
    pub request_id: String,
    /// From `x-correlation-id` or generated; echoed back and logged.
    pub correlation_id: String,
    /// True for the first invocation of this process.
    pub cold_start: bool,
    deadline: Option<Instant>,
    metrics: Mutex<Metrics>,
}

impl Invocation {
    /// Records a metric under the default dimensions; an invalid metric is logged, not fatal.
    pub fn metric(&self, name: &str, unit: Unit, value: f64) {
        self.metric_with(name, unit, value, &[]);
    }

    /// Records a metric with extra low-cardinality dimensions.
    pub fn metric_with(&self, name: &str, unit: Unit, value: f64, dims: &[(&str, &str)]) {
        let mut m = self.metrics.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(err) = m.add_with(name, unit, value, dims) {
            tracing::warn!(error = %err, "metric dropped");
        }
    }

    /// Time left before Lambda's deadline (a minute when Lambda gave none).
    pub fn remaining(&self) -> Duration {
        self.deadline.map(|d| d.saturating_duration_since(Instant::now())).unwrap_or(Duration::from_secs(60))
    }

    /// The instant by which work must be done, leaving `margin` to answer.
    pub fn deadline_with_margin(&self, margin: Duration) -> Instant {
        Instant::now() + self.remaining().saturating_sub(margin)
    }

    /// Takes the recorded metrics as EMF lines, once, at the end of the invocation.
    fn take_metrics(&self) -> Vec<String> {
        let mut m = self.metrics.lock().unwrap_or_else(|p| p.into_inner());
        m.add_metadata("request_id", self.request_id.clone());
        m.add_metadata("correlation_id", self.correlation_id.clone());
        m.flush(now_ms())
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

/// Which browser origins may call the API.
#[derive(Clone, Debug, Default)]
pub struct Cors {
    allowed: Vec<String>,
}

impl Cors {
    /// Allows `origins` exactly; `*` allows any (no credentials are used cross-origin).
    pub fn new(origins: Vec<String>) -> Self {
        Self { allowed: origins }
    }

    fn allow(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        let origin = origin?.to_str().ok()?;
        if self.allowed.iter().any(|o| o == "*") {
            return Some(HeaderValue::from_static("*"));
        }
        self.allowed.iter().any(|o| o == origin).then(|| HeaderValue::from_str(origin).ok()).flatten()
    }
}

/// The pipeline: one per process, built at cold start.
pub struct HttpService {
    service: String,
    function_name: String,
    cors: Cors,
    max_body_bytes: usize,
    xray: Arc<XrayEmitter>,
    emf_sink: Sink,
    cold: AtomicBool,
}

impl HttpService {
    /// The production pipeline for `service`, configured from the common settings.
    pub fn from_config(service: &str, cfg: &CommonConfig) -> Self {
        Self::new(service)
            .with_cors(Cors::new(cfg.cors_allowed_origins.clone()))
            .with_max_body_bytes(cfg.max_body_bytes)
            .with_xray(Arc::new(XrayEmitter::from_env()))
    }

    /// A pipeline with defaults: no CORS origins, 1 MiB bodies, no X-Ray daemon, EMF to stdout.
    pub fn new(service: &str) -> Self {
        Self {
            service: service.to_owned(),
            function_name: std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| service.to_owned()),
            cors: Cors::default(),
            max_body_bytes: 1024 * 1024,
            xray: Arc::new(XrayEmitter::new(None)),
            emf_sink: stdout_sink(),
            cold: AtomicBool::new(true),
        }
    }

    /// Sets the allowed origins.
    pub fn with_cors(mut self, cors: Cors) -> Self {
        self.cors = cors;
        self
    }

    /// Sets the body limit.
    pub fn with_max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// Sets the X-Ray emitter.
    pub fn with_xray(mut self, emitter: Arc<XrayEmitter>) -> Self {
        self.xray = emitter;
        self
    }

    /// Sets where EMF lines go (stdout in Lambda).
    pub fn with_emf_sink(mut self, sink: Sink) -> Self {
        self.emf_sink = sink;
        self
    }

    /// Records metrics for an event that is not an HTTP request (an SQS batch), with the same
    /// dimensions and sink as requests, so dashboards and alarms see every path;
    /// `ColdStart` is counted on the process's first event either way.
    pub fn record_metrics(&self, add: impl FnOnce(&mut Metrics)) {
        let mut metrics = Metrics::new(&self.service, &self.function_name);
        if self.cold.swap(false, Ordering::Relaxed) {
            metrics.add("ColdStart", Unit::Count, 1.0).ok();
        }
        add(&mut metrics);
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default();
        for line in metrics.flush(now_ms) {
            (self.emf_sink)(format!("{line}\n").as_bytes());
        }
    }

    /// Serves one request through `handler`. Never fails: every outcome is a response.
    pub async fn handle<H: Handler>(&self, handler: &H, req: Request) -> Result<Response<Body>, Infallible> {
        let started = Instant::now();
        let ctx = req.lambda_context_ref();
        let request_id = ctx
            .map(|c| c.request_id.clone())
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let trace = ctx.and_then(|c| c.xray_trace_id.as_deref()).and_then(TraceContext::parse);
        // A deadline already past on arrival is not one Lambda would send (cargo lambda's
        // emulator does): treat it as unknown rather than as no time at all.
        let deadline = ctx
            .map(|c| c.deadline as i64 - now_ms())
            .filter(|left| *left > 0)
            .map(|left| Instant::now() + Duration::from_millis(left as u64));
        let correlation_id = correlation_id(req.headers());
        let cold_start = self.cold.swap(false, Ordering::Relaxed);
        let inv = Invocation {
            request_id,
            correlation_id,
            cold_start,
            deadline,
            metrics: Mutex::new(Metrics::new(&self.service, &self.function_name)),
        };
        let span = tracing::info_span!(
            "invocation",
            function_request_id = %inv.request_id,
            xray_trace_id = trace.as_ref().map(|t| t.trace_id.as_str()).unwrap_or(""),
            correlation_id = %inv.correlation_id,
            cold_start = inv.cold_start,
        );
        async {
            let method = req.method().clone();
            let path = req.uri().path().to_owned();
            let origin = req.headers().get(header::ORIGIN).cloned();
            let accepts_gzip = accepts_gzip(req.headers());

            let mut response =
                if method == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) {
                    self.preflight(origin.as_ref())
                } else if req.body().len() > self.max_body_bytes {
                    self.error_response(ApiError::PayloadTooLarge { limit: self.max_body_bytes }, &inv)
                } else {
                    // Boxed: handler futures holding several SDK calls are large, and debug builds
                    // would otherwise put them on the (2 MB) stack of whatever thread polls us.
                    let run = AssertUnwindSafe(Box::pin(handler.handle(req, &inv))).catch_unwind();
                    match xray::in_trace(trace.as_ref(), &self.xray, xray::phase("handler", run)).await {
                        Ok(Ok(response)) => response,
                        Ok(Err(err)) => self.error_response(err, &inv),
                        Err(panic) => {
                            let what = panic
                                .downcast_ref::<&str>()
                                .map(|s| (*s).to_owned())
                                .or_else(|| panic.downcast_ref::<String>().cloned())
                                .unwrap_or_default();
                            tracing::error!(panic = %what, "handler panicked");
                            self.error_response(ApiError::Internal("handler panicked".into()), &inv)
                        }
                    }
                };
            self.finish(&mut response, &inv, origin.as_ref(), accepts_gzip);

            let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
            let remaining_ms = inv.remaining().as_millis() as u64;
            tracing::info!(
                http_method = %method,
                path = %path,
                status = response.status().as_u16(),
                latency_ms,
                remaining_ms,
                "request completed"
            );
            if inv.cold_start {
                inv.metric("ColdStart", Unit::Count, 1.0);
            }
            for line in inv.take_metrics() {
                (self.emf_sink)(format!("{line}\n").as_bytes());
            }
            Ok(response)
        }
        .instrument(span)
        .await
    }

    fn error_response(&self, err: ApiError, inv: &Invocation) -> Response<Body> {
        if err.status().is_server_error() {
            tracing::error!(code = err.code(), error = %err, "request failed");
        } else {
            tracing::info!(code = err.code(), status = err.status().as_u16(), error = %err, "request rejected");
        }
        err.into_response(&inv.request_id)
    }

    fn preflight(&self, origin: Option<&HeaderValue>) -> Response<Body> {
        let mut response =
            Response::builder().status(StatusCode::NO_CONTENT).body(Body::Empty).expect("static response");
        if let Some(allowed) = self.cors.allow(origin) {
            let h = response.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE, OPTIONS"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("authorization, content-type, x-api-key, x-correlation-id, idempotency-key"),
            );
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        }
        response
    }

    fn finish(
        &self,
        response: &mut Response<Body>,
        inv: &Invocation,
        origin: Option<&HeaderValue>,
        accepts_gzip: bool,
    ) {
        if accepts_gzip {
            gzip(response);
        }
        let allowed = self.cors.allow(origin);
        let h = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&inv.request_id) {
            h.insert("x-request-id", v);
        }
        if let Ok(v) = HeaderValue::from_str(&inv.correlation_id) {
            h.insert("x-correlation-id", v);
        }
        h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=63072000; includeSubDomains"));
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        // Private API data: never cached unless a handler says otherwise (JWKS does).
        h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
        if let Some(allowed) = allowed {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
            h.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("x-request-id, x-correlation-id, retry-after"),
            );
            h.append(header::VARY, HeaderValue::from_static("Origin"));
        }
    }
}

/// The client's correlation id if it is sane, else a new one.
fn correlation_id(headers: &HeaderMap) -> String {
    headers
        .get("x-correlation-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= MAX_CORRELATION_ID)
        .filter(|v| v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// True when `Accept-Encoding` lists gzip (or `*`) with a non-zero quality.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let q = parts.find_map(|p| p.strip_prefix("q=")).and_then(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && q > 0.0
        },
    )
}

/// Compresses a large, not yet encoded body in place.
fn gzip(response: &mut Response<Body>) {
    if response.headers().contains_key(header::CONTENT_ENCODING) {
        return;
    }
    let bytes: &[u8] = match response.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => return,
    };
    if bytes.len() < GZIP_MIN_BYTES {
        return;
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 4), flate2::Compression::fast());
    if encoder.write_all(bytes).is_err() {
        return;
    }
    let Ok(compressed) = encoder.finish() else { return };
    *response.body_mut() = Body::Binary(compressed);
    let h = response.headers_mut();
    h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    h.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn gzip_negotiation() {
        assert!(accepts_gzip(&headers(&[("accept-encoding", "gzip, deflate, br")])));
        assert!(accepts_gzip(&headers(&[("accept-encoding", "br;q=1.0, GZIP;q=0.5")])));
        assert!(accepts_gzip(&headers(&[("accept-encoding", "*")])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "gzip;q=0")])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "br")])));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn correlation_ids_are_sanitised() {
        assert_eq!(correlation_id(&headers(&[("x-correlation-id", "abc-123")])), "abc-123");
        let generated = correlation_id(&headers(&[("x-correlation-id", "<script>")]));
        assert_ne!(generated, "<script>");
        assert_eq!(generated.len(), 36);
    }

    #[test]
    fn cors_origins() {
        let cors = Cors::new(vec!["https://app.petty.example".into()]);
        assert_eq!(
            cors.allow(Some(&HeaderValue::from_static("https://app.petty.example"))).unwrap(),
            "https://app.petty.example"
        );
        assert!(cors.allow(Some(&HeaderValue::from_static("https://evil.example"))).is_none());
        assert!(cors.allow(None).is_none());
        assert_eq!(Cors::new(vec!["*".into()]).allow(Some(&HeaderValue::from_static("https://x"))).unwrap(), "*");
    }
}
