//! One flat JSON object per log line, with Powertools' field names, and redaction of anything
//! that looks like a credential or an exact location.
//!
//! Fields of enclosing spans (the invocation span carries `function_request_id`,
//! `xray_trace_id`, `correlation_id`, `cold_start`) are flattened into each line, so a line is
//! self-contained for CloudWatch Logs Insights.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber, span};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

use crate::config::Env;

/// What replaces a redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// Field names whose values are never logged: credentials and exact positions.
const SENSITIVE_KEYS: &[&str] = &[
    "password",
    "token",
    "secret",
    "authorization",
    "api_key",
    "apikey",
    "x-api-key",
    "private",
    "cookie",
    "credential",
    "latitude",
    "longitude",
    "lat",
    "lon",
    "lng",
    "location",
    "coordinates",
];

/// Names that contain a sensitive word but hold no secret.
const SAFE_KEYS: &[&str] = &["token_type", "secret_id"];

/// Where finished lines go: stdout in Lambda, a buffer in tests.
pub type Sink = Arc<dyn Fn(&[u8]) + Send + Sync>;

/// A sink writing whole lines to stdout (Lambda forwards stdout to CloudWatch Logs).
pub fn stdout_sink() -> Sink {
    Arc::new(|line: &[u8]| {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(line);
        let _ = out.flush();
    })
}

/// A sink collecting lines in memory, for tests.
pub fn memory_sink() -> (Sink, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let clone = lines.clone();
    let sink: Sink = Arc::new(move |line: &[u8]| {
        clone.lock().unwrap().push(String::from_utf8_lossy(line).trim_end().to_owned());
    });
    (sink, lines)
}

/// Installs the JSON logger process-wide; a second call is a no-op.
pub fn init(service: &str, env: &Env) {
    let filter = filter_from(env);
    let function_name = env.optional("AWS_LAMBDA_FUNCTION_NAME").unwrap_or(service).to_owned();
    let layer = JsonLayer::new(service, &function_name, stdout_sink());
    let _ = Registry::default().with(layer.with_filter(filter)).try_init();
}

/// Level from `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging), else `RUST_LOG`, else info.
/// The AWS SDK and HTTP stack stay at `warn` unless named explicitly.
pub fn filter_from(env: &Env) -> Targets {
    let quiet = [
        ("aws_smithy_runtime", LevelFilter::WARN),
        ("aws_config", LevelFilter::WARN),
        ("hyper", LevelFilter::WARN),
        ("rustls", LevelFilter::WARN),
    ];
    if let Some(level) = env.optional("AWS_LAMBDA_LOG_LEVEL") {
        let level = match level.to_ascii_uppercase().as_str() {
            "TRACE" => LevelFilter::TRACE,
            "DEBUG" => LevelFilter::DEBUG,
            "WARN" => LevelFilter::WARN,
            "ERROR" | "FATAL" => LevelFilter::ERROR,
            _ => LevelFilter::INFO,
        };
        return Targets::new().with_default(level).with_targets(quiet);
    }
    if let Some(directives) = env.optional("RUST_LOG") {
        if let Ok(targets) = directives.parse::<Targets>() {
            return targets;
        }
    }
    Targets::new().with_default(LevelFilter::INFO).with_targets(quiet)
}

/// The layer that renders events as flat JSON lines.
pub struct JsonLayer {
    service: String,
    function_name: String,
    sink: Sink,
}

impl JsonLayer {
    /// A layer stamping every line with `service` and `function_name`.
    pub fn new(service: &str, function_name: &str, sink: Sink) -> Self {
        Self { service: service.to_owned(), function_name: function_name.to_owned(), sink }
    }
}

/// Fields recorded on a span, kept in its extensions.
struct SpanFields(Map<String, Value>);

struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl JsonVisitor<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        let value = if is_sensitive_key(name) { Value::String(REDACTED.into()) } else { value };
        self.0.insert(name.to_owned(), value);
    }
}

impl Visit for JsonVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(scrub(value)));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::String(scrub(&value.to_string())));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::String(scrub(&format!("{value:?}"))));
    }
}

impl<S> Layer<S> for JsonLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        // The runtime's own spans carry its camelCase copies of ids we already log.
        if span.metadata().target().starts_with("lambda_runtime") {
            return;
        }
        let mut fields = Map::new();
        attrs.record(&mut JsonVisitor(&mut fields));
        span.extensions_mut().insert(SpanFields(fields));
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(SpanFields(fields)) = ext.get_mut::<SpanFields>() {
            values.record(&mut JsonVisitor(fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut line = Map::new();
        line.insert("level".into(), Value::String(level_name(*event.metadata().level()).into()));
        line.insert(
            "timestamp".into(),
            Value::String(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        );
        line.insert("service".into(), Value::String(self.service.clone()));
        line.insert("function_name".into(), Value::String(self.function_name.clone()));
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>() {
                    line.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        let mut fields = Map::new();
        event.record(&mut JsonVisitor(&mut fields));
        let message = fields.remove("message").unwrap_or(Value::String(String::new()));
        line.extend(fields);
        line.insert("message".into(), message);
        if !event.metadata().target().starts_with("petty") {
            line.insert("logger".into(), Value::String(event.metadata().target().into()));
        }
        let mut bytes = Value::Object(line).to_string().into_bytes();
        bytes.push(b'\n');
        (self.sink)(&bytes);
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARN",
        Level::INFO => "INFO",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    }
}

/// True for field names that hold credentials or positions.
pub fn is_sensitive_key(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if SAFE_KEYS.contains(&lower.as_str()) {
        return false;
    }
    SENSITIVE_KEYS.iter().any(|k| lower == *k || lower.contains(k) && k.len() > 3)
}

/// Words that, followed by `=` or `:`, introduce a credential in free text.
const CREDENTIAL_WORDS: &[&str] = &["password", "passwd", "secret", "token", "api_key", "apikey"];

/// Replaces anything shaped like a JWT, a bearer credential, a PEM block, a Petty API key, or
/// the value in `password=...`-style text.
pub fn scrub(text: &str) -> String {
    let assigned = scrub_assignments(text);
    let text: &str = &assigned;
    if !(text.contains("eyJ") || text.contains("-----BEGIN") || text.contains("Bearer ") || text.contains("pty_")) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("-----BEGIN") {
            out.push_str(REDACTED);
            rest = match after.find("-----END") {
                Some(end) => {
                    let tail = &after[end + "-----END".len()..];
                    tail.find("-----").map(|i| &tail[i + 5..]).unwrap_or("")
                }
                None => "",
            };
            continue;
        }
        if let Some(after) = rest.strip_prefix("Bearer ") {
            out.push_str("Bearer ");
            out.push_str(REDACTED);
            rest = after.trim_start_matches(is_token_char);
            continue;
        }
        if (rest.starts_with("eyJ") || rest.starts_with("pty_")) && word_start(text, rest) {
            let token_len = rest.len() - rest.trim_start_matches(is_token_char).len();
            if token_len >= 16 {
                out.push_str(REDACTED);
                rest = &rest[token_len..];
                continue;
            }
        }
        let ch = rest.chars().next().unwrap_or_default();
        out.push(ch);
        rest = &rest[ch.len_utf8()..];
    }
    out
}

/// Redacts the value after `password=`, `token: ` and the like.
fn scrub_assignments(text: &str) -> std::borrow::Cow<'_, str> {
    let lower = text.to_ascii_lowercase();
    if !CREDENTIAL_WORDS.iter().any(|w| lower.contains(w)) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let matched = CREDENTIAL_WORDS.iter().find(|w| lower[i..].starts_with(**w));
        if let Some(word) = matched {
            let after_word = i + word.len();
            let rest = &text[after_word..];
            let sep_len = rest.len() - rest.trim_start_matches(['=', ':', ' ', '"']).len();
            if sep_len > 0 && rest[..sep_len].contains(['=', ':']) {
                let value = &rest[sep_len..];
                let value_len = value
                    .find(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '&' | '"'))
                    .unwrap_or(value.len());
                out.push_str(&text[i..after_word + sep_len]);
                out.push_str(REDACTED);
                i = after_word + sep_len + value_len;
                continue;
            }
        }
        let ch = text[i..].chars().next().unwrap_or_default();
        out.push(ch);
        i += ch.len_utf8();
    }
    std::borrow::Cow::Owned(out)
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=' | '+' | '/')
}

/// True when `rest` (a suffix of `text`) starts a word, so `xeyJ...` inside an id is left alone.
fn word_start(text: &str, rest: &str) -> bool {
    let offset = text.len() - rest.len();
    text[..offset].chars().next_back().is_none_or(|c| !is_token_char(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture<F: FnOnce()>(f: F) -> Vec<Value> {
        let (sink, lines) = memory_sink();
        let subscriber = Registry::default().with(JsonLayer::new("health", "petty-health", sink));
        tracing::subscriber::with_default(subscriber, f);
        let lines = lines.lock().unwrap();
        lines.iter().map(|l| serde_json::from_str(l).expect("each line is one JSON object")).collect()
    }

    #[test]
    fn lines_are_flat_with_powertools_fields() {
        let lines = capture(|| {
            let span = tracing::info_span!(
                "invocation",
                function_request_id = "req-1",
                xray_trace_id = "1-abc",
                correlation_id = "corr-9",
                cold_start = true
            );
            let _g = span.enter();
            tracing::info!(table = "users", latency_ms = 3u64, "described table");
        });
        assert_eq!(lines.len(), 1);
        let l = &lines[0];
        assert_eq!(l["level"], "INFO");
        assert_eq!(l["message"], "described table");
        assert_eq!(l["service"], "health");
        assert_eq!(l["function_name"], "petty-health");
        assert_eq!(l["function_request_id"], "req-1");
        assert_eq!(l["xray_trace_id"], "1-abc");
        assert_eq!(l["correlation_id"], "corr-9");
        assert_eq!(l["cold_start"], true);
        assert_eq!(l["table"], "users");
        assert_eq!(l["latency_ms"], 3);
        assert!(chrono::DateTime::parse_from_rfc3339(l["timestamp"].as_str().unwrap()).is_ok());
    }

    #[test]
    fn sensitive_fields_are_redacted_by_name() {
        let lines = capture(|| {
            tracing::warn!(
                password = "hunter2hunter2",
                refresh_token = "abc",
                api_key = "k",
                location = "40.7,-74.0",
                email_domain = "example.com",
                "login failed"
            );
        });
        let l = &lines[0];
        for key in ["password", "refresh_token", "api_key", "location"] {
            assert_eq!(l[key], REDACTED, "{key}");
        }
        assert_eq!(l["email_domain"], "example.com");
        assert!(!lines[0].to_string().contains("hunter2"));
    }

    #[test]
    fn credentials_in_text_are_scrubbed() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJlLWJ5dGVz";
        // Assembled at run time: no key-shaped literal in the repository (not even a fake one).
        let pem = format!("-----BEGIN {0}-----\nMIIEvQIBADANBg\n-----END {0}-----", "PRIVATE KEY");
        let lines = capture(|| {
            tracing::error!(
                "verify failed for {jwt} with key {pem} header Bearer abc.def.ghi key pty_live_0123456789abcdef ok"
            );
        });
        let msg = lines[0]["message"].as_str().unwrap();
        assert!(!msg.contains("eyJhbGci"), "{msg}");
        assert!(!msg.contains("MIIEvQ"), "{msg}");
        assert!(!msg.contains("abc.def"), "{msg}");
        assert!(!msg.contains("0123456789abcdef"), "{msg}");
        assert!(
            msg.starts_with(
                "verify failed for [REDACTED] with key [REDACTED] header Bearer [REDACTED] key [REDACTED] ok"
            ),
            "{msg}"
        );
    }

    #[test]
    fn credential_assignments_are_scrubbed() {
        assert_eq!(scrub("db password=hunter2 at host"), "db password=[REDACTED] at host");
        assert_eq!(scrub(r#"{"Password": "hunter2", "user":"x"}"#), r#"{"Password": "[REDACTED]", "user":"x"}"#);
        assert_eq!(scrub("refresh_token: abc123, next"), "refresh_token: [REDACTED], next");
        assert_eq!(scrub("tokens issued: 5"), "tokens issued: 5", "no separator right after the word");
    }

    #[test]
    fn scrub_leaves_ordinary_text_alone() {
        for text in ["collar AB-123 stored 3 readings", "monkeyJumps", "short eyJx", "ünïcödé ✓"] {
            assert_eq!(scrub(text), text);
        }
    }

    #[test]
    fn sensitive_key_matching() {
        for k in ["password", "new_password", "Authorization", "access_token", "x-api-key", "lat", "lon", "coordinates"]
        {
            assert!(is_sensitive_key(k), "{k}");
        }
        for k in ["collar_id", "latency_ms", "long_name", "plateau", "status", "token_type", "secret_id"] {
            assert!(!is_sensitive_key(k), "{k}");
        }
    }

    #[test]
    fn level_comes_from_lambda_then_rust_log() {
        let t = filter_from(&Env::from_pairs([("AWS_LAMBDA_LOG_LEVEL", "DEBUG"), ("RUST_LOG", "error")]));
        assert!(t.would_enable("petty", &Level::DEBUG));
        assert!(!t.would_enable("aws_smithy_runtime", &Level::INFO));
        let t = filter_from(&Env::from_pairs([("RUST_LOG", "warn")]));
        assert!(!t.would_enable("petty", &Level::INFO));
        let t = filter_from(&Env::default());
        assert!(t.would_enable("petty", &Level::INFO) && !t.would_enable("petty", &Level::DEBUG));
    }
}
