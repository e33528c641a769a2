//! X-Ray subsegments for AWS SDK calls and handler phases, sent to the daemon over UDP.
//!
//! A small emitter of our own rather than `opentelemetry-aws`'s exporter: the exporter needs
//! the OpenTelemetry SDK, a tracer provider built at init and a batch processor, which adds
//! cold-start work and binary size for documents we can write in a few lines (see the README's
//! "X-Ray" section for the measured comparison).
//!
//! The trace context is per invocation ([`TraceContext`] from `Context.xray_trace_id`), carried
//! in a task-local, never read from the process-wide `_X_AMZN_TRACE_ID`, which concurrent
//! invocations would overwrite. Nothing is built or sent unless the trace is sampled.

use std::future::Future;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use serde_json::{Value, json};

/// The daemon protocol's mandatory first line.
const DAEMON_HEADER: &str = "{\"format\":\"json\",\"version\":1}\n";

/// The parts of an `X-Amzn-Trace-Id` header we need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceContext {
    /// `Root=1-...`.
    pub trace_id: String,
    /// `Parent=...`: the Lambda function segment our subsegments hang under.
    pub parent_id: Option<String>,
    /// `Sampled=1`.
    pub sampled: bool,
}

impl TraceContext {
    /// Parses `Root=...;Parent=...;Sampled=1`; `None` without a root.
    pub fn parse(header: &str) -> Option<Self> {
        let (mut root, mut parent, mut sampled) = (None, None, false);
        for part in header.split(';') {
            match part.trim().split_once('=') {
                Some(("Root", v)) if !v.is_empty() => root = Some(v.to_owned()),
                Some(("Parent", v)) if !v.is_empty() => parent = Some(v.to_owned()),
                Some(("Sampled", v)) => sampled = v == "1",
                _ => {}
            }
        }
        Some(Self { trace_id: root?, parent_id: parent, sampled })
    }
}

/// Sends documents to the X-Ray daemon; the socket is opened on first use.
#[derive(Debug)]
pub struct XrayEmitter {
    daemon: Option<SocketAddr>,
    socket: OnceLock<Option<UdpSocket>>,
}

impl XrayEmitter {
    /// An emitter for an explicit daemon address (`None` disables sending).
    pub fn new(daemon: Option<SocketAddr>) -> Self {
        Self { daemon, socket: OnceLock::new() }
    }

    /// An emitter for `AWS_XRAY_DAEMON_ADDRESS` (`host:port` or Lambda's `udp:ip:port tcp:ip:port`).
    pub fn from_env() -> Self {
        Self::new(std::env::var("AWS_XRAY_DAEMON_ADDRESS").ok().as_deref().and_then(parse_daemon_address))
    }

    /// Sends one document; failures are logged at debug and dropped (tracing is best effort).
    pub fn send(&self, document: &Value) {
        let Some(addr) = self.daemon else { return };
        let socket = self.socket.get_or_init(|| {
            let bind = if addr.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
            UdpSocket::bind(bind).and_then(|s| s.set_nonblocking(true).map(|_| s)).ok()
        });
        if let Some(socket) = socket {
            let packet = format!("{DAEMON_HEADER}{document}");
            if let Err(err) = socket.send_to(packet.as_bytes(), addr) {
                tracing::debug!(error = %err, "x-ray document not sent");
            }
        }
    }
}

/// Parses the daemon address forms Lambda and the X-Ray SDKs use.
pub fn parse_daemon_address(raw: &str) -> Option<SocketAddr> {
    let udp = raw
        .split_whitespace()
        .find_map(|part| part.strip_prefix("udp:"))
        .unwrap_or_else(|| raw.split_whitespace().next().unwrap_or(raw));
    udp.parse().ok()
}

/// What an invocation's code runs inside: the trace, the current parent and the emitter.
#[derive(Clone, Debug)]
struct Scope {
    trace_id: String,
    parent_id: Option<String>,
    emitter: Arc<XrayEmitter>,
}

tokio::task_local! {
    static SCOPE: Scope;
}

/// Runs `fut` with `trace` as its trace context; a no-op wrapper when not sampled.
pub async fn in_trace<F: Future>(trace: Option<&TraceContext>, emitter: &Arc<XrayEmitter>, fut: F) -> F::Output {
    match trace {
        Some(t) if t.sampled => {
            let scope =
                Scope { trace_id: t.trace_id.clone(), parent_id: t.parent_id.clone(), emitter: emitter.clone() };
            SCOPE.scope(scope, fut).await
        }
        _ => fut.await,
    }
}

/// Records `fut` as a subsegment named `name` (a handler phase), parent of the calls inside it.
pub async fn phase<F: Future>(name: &str, fut: F) -> F::Output {
    let Ok(outer) = SCOPE.try_with(Scope::clone) else { return fut.await };
    let id = new_id();
    let start = now_seconds();
    let inner = Scope { parent_id: Some(id.clone()), ..outer.clone() };
    let out = SCOPE.scope(inner, fut).await;
    let mut doc = base_document(&outer, &id, name, start);
    doc["end_time"] = json!(now_seconds());
    outer.emitter.send(&doc);
    out
}

fn base_document(scope: &Scope, id: &str, name: &str, start: f64) -> Value {
    let mut doc = json!({
        "type": "subsegment",
        "name": name,
        "id": id,
        "trace_id": scope.trace_id,
        "start_time": start,
    });
    if let Some(parent) = &scope.parent_id {
        doc["parent_id"] = json!(parent);
    }
    doc
}

fn now_seconds() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or_default()
}

/// A 64-bit random id in 16 hex digits, as X-Ray requires.
fn new_id() -> String {
    let mut bytes = [0u8; 8];
    // A failed RNG read leaves zeros: an odd id is better than a lost request.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// State carried between the interceptor's hooks for one SDK call.
#[derive(Clone, Debug)]
struct CallRecord {
    scope: Scope,
    id: String,
    start: f64,
    table_name: Option<String>,
}

impl Storable for CallRecord {
    type Storer = StoreReplace<Self>;
}

/// SDK interceptor that records every AWS call as an `aws` subsegment of the current trace.
#[derive(Debug, Default, Clone, Copy)]
pub struct XrayInterceptor;

impl Intercept for XrayInterceptor {
    fn name(&self) -> &'static str {
        "PettyXray"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Ok(scope) = SCOPE.try_with(Scope::clone) {
            let record = CallRecord { scope, id: new_id(), start: now_seconds(), table_name: None };
            cfg.interceptor_state().store_put(record);
        }
        Ok(())
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(record) = cfg.load::<CallRecord>() else { return Ok(()) };
        if record.table_name.is_some() {
            return Ok(());
        }
        if let Some(table) = context.request().body().bytes().and_then(table_name_of) {
            let updated = CallRecord { table_name: Some(table), ..record.clone() };
            cfg.interceptor_state().store_put(updated);
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(record) = cfg.load::<CallRecord>() else { return Ok(()) };
        let (service, operation) = cfg
            .load::<Metadata>()
            .map(|m| (m.service().to_owned(), m.name().to_owned()))
            .unwrap_or_else(|| ("AWS".into(), "Unknown".into()));
        let status = context.response().map(|r| r.status().as_u16());
        let failed = matches!(context.output_or_error(), Some(Err(_)));
        let request_id = context
            .response()
            .and_then(|r| r.headers().get("x-amzn-requestid").or_else(|| r.headers().get("x-amz-request-id")))
            .map(str::to_owned);

        let mut doc = base_document(&record.scope, &record.id, &service, record.start);
        doc["end_time"] = json!(now_seconds());
        doc["namespace"] = json!("aws");
        let mut aws = json!({ "operation": operation });
        if let Some(table) = &record.table_name {
            aws["table_name"] = json!(table);
        }
        if let Some(id) = request_id {
            aws["request_id"] = json!(id);
        }
        doc["aws"] = aws;
        if let Some(code) = status {
            doc["http"] = json!({ "response": { "status": code } });
        }
        let (error, fault, throttle) = classify(status, failed);
        for (flag, set) in [("error", error), ("fault", fault), ("throttle", throttle)] {
            if set {
                doc[flag] = json!(true);
            }
        }
        record.scope.emitter.send(&doc);
        Ok(())
    }
}

/// X-Ray's flags: `throttle` (429 or a throttling 400) with `error`, `error` for 4xx, `fault`
/// for 5xx or a call that failed without a response.
fn classify(status: Option<u16>, failed: bool) -> (bool, bool, bool) {
    match status {
        Some(429) => (true, false, true),
        Some(s) if (400..500).contains(&s) => (true, false, false),
        Some(s) if s >= 500 => (false, true, false),
        None if failed => (false, true, false),
        _ => (false, false, false),
    }
}

/// The DynamoDB table a JSON request body names (`TableName`, or the first `RequestItems` key).
fn table_name_of(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    if let Some(name) = value.get("TableName").and_then(Value::as_str) {
        return Some(name.to_owned());
    }
    value.get("RequestItems")?.as_object()?.keys().next().cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lambda_trace_header() {
        let t = TraceContext::parse(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a:0",
        )
        .unwrap();
        assert_eq!(t.trace_id, "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(t.parent_id.as_deref(), Some("53995c3f42cd8ad8"));
        assert!(t.sampled);
        assert!(!TraceContext::parse("Root=1-a-b;Sampled=0").unwrap().sampled);
        assert!(TraceContext::parse("Parent=1;Sampled=1").is_none());
    }

    #[test]
    fn parses_daemon_addresses() {
        let a: SocketAddr = "169.254.79.129:2000".parse().unwrap();
        assert_eq!(parse_daemon_address("169.254.79.129:2000"), Some(a));
        assert_eq!(parse_daemon_address("tcp:169.254.79.129:2000 udp:169.254.79.129:2000"), Some(a));
        assert_eq!(parse_daemon_address("nonsense"), None);
    }

    #[test]
    fn classifies_flags() {
        assert_eq!(classify(Some(200), false), (false, false, false));
        assert_eq!(classify(Some(400), true), (true, false, false));
        assert_eq!(classify(Some(429), true), (true, false, true));
        assert_eq!(classify(Some(503), true), (false, true, false));
        assert_eq!(classify(None, true), (false, true, false));
    }

    #[test]
    fn finds_table_names() {
        assert_eq!(table_name_of(br#"{"TableName":"t1","Key":{}}"#).as_deref(), Some("t1"));
        assert_eq!(table_name_of(br#"{"RequestItems":{"t2":[]}}"#).as_deref(), Some("t2"));
        assert_eq!(table_name_of(b"not json"), None);
    }

    fn listener() -> (UdpSocket, Arc<XrayEmitter>) {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(std::time::Duration::from_secs(2))).unwrap();
        let emitter = Arc::new(XrayEmitter::new(Some(sock.local_addr().unwrap())));
        (sock, emitter)
    }

    fn receive(sock: &UdpSocket) -> Value {
        let mut buf = [0u8; 65536];
        let n = sock.recv(&mut buf).unwrap();
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        let body = text.strip_prefix(DAEMON_HEADER).expect("daemon header first");
        serde_json::from_str(body).unwrap()
    }

    #[tokio::test]
    async fn phase_documents_nest_under_the_invocation() {
        let (sock, emitter) = listener();
        let trace = TraceContext::parse("Root=1-abc-def;Parent=00000000000000aa;Sampled=1").unwrap();
        in_trace(Some(&trace), &emitter, phase("outer", phase("inner", async {}))).await;
        let inner = receive(&sock);
        let outer = receive(&sock);
        assert_eq!(inner["name"], "inner");
        assert_eq!(outer["name"], "outer");
        assert_eq!(outer["parent_id"], "00000000000000aa");
        assert_eq!(inner["parent_id"], outer["id"]);
        assert_eq!(inner["trace_id"], "1-abc-def");
        assert_eq!(outer["id"].as_str().unwrap().len(), 16);
        assert!(outer["end_time"].as_f64().unwrap() >= outer["start_time"].as_f64().unwrap());
    }

    #[tokio::test]
    async fn unsampled_traces_send_nothing() {
        let (sock, emitter) = listener();
        sock.set_read_timeout(Some(std::time::Duration::from_millis(200))).unwrap();
        let trace = TraceContext::parse("Root=1-abc-def;Parent=aa;Sampled=0").unwrap();
        in_trace(Some(&trace), &emitter, phase("work", async {})).await;
        in_trace(None, &emitter, phase("work", async {})).await;
        let mut buf = [0u8; 1024];
        assert!(sock.recv(&mut buf).is_err(), "nothing may be sent when not sampled");
    }
}
