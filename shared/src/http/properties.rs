//! Fuzzing the edge on stable Rust: arbitrary API Gateway events through the runtime's event
//! conversion and the whole pipeline, with a handler that uses every request reader. Nothing
//! a client sends may panic, hang or answer a 500; every refusal is JSON with a request id.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

/// Reads the request the way the functions do: path, bearer token, query time, JSON body.
struct EveryReader;

impl Handler for EveryReader {
    async fn handle(&self, req: Request, _inv: &Invocation) -> Result<Response<Body>, ApiError> {
        let path = route_path(&req);
        let _ = source_ip(&req);
        let _ = query_param(&req, "collar_id");
        let from = query_time(&req, "from", "invalid_from")?;
        if path.starts_with("/v1/auth/me") {
            bearer_token(&req)?;
        }
        let body: Value = if req.method() == "POST" { json_body(&req)? } else { Value::Null };
        json_response(StatusCode::OK, &json!({"path": path, "from": from, "body": body}))
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// An HTTP API (v2) event whose every client-controlled part is arbitrary.
fn event() -> impl Strategy<Value = Value> {
    let method = prop::sample::select(vec!["GET", "POST", "PATCH", "DELETE", "OPTIONS", "HEAD", "PUT", "BREW"]);
    let path = prop_oneof![
        "/v1/(auth/me|ingest|pet-timeline|collars/[A-Z]{2}-[0-9]{1,8})/?".prop_map(String::from),
        "/[ -~]{0,60}".prop_map(String::from),
        ".{0,40}".prop_map(String::from),
    ];
    let query = prop::collection::vec(("[a-z_]{1,10}", ".{0,30}"), 0..4);
    let headers = prop::collection::vec(
        (
            prop::sample::select(vec![
                "authorization",
                "content-type",
                "content-encoding",
                "accept-encoding",
                "origin",
                "x-correlation-id",
                "x-api-key",
                "content-length",
                "x-anything",
            ]),
            "[ -~]{0,80}",
        ),
        0..6,
    );
    let body = prop_oneof![
        Just(None),
        ".{0,200}".prop_map(Some),
        r#"\{"[a-z]{1,8}": ?(null|true|[0-9]{1,20}|"[^"\\]{0,20}"|\[\]|\{\})\}"#.prop_map(Some),
    ];
    (method, path, query, headers, body, any::<bool>()).prop_map(|(method, path, query, headers, body, b64)| {
        let raw_query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let params: serde_json::Map<String, Value> = query.into_iter().map(|(k, v)| (k, json!(v))).collect();
        let headers: serde_json::Map<String, Value> = headers.into_iter().map(|(k, v)| (k.to_owned(), json!(v))).collect();
        json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": raw_query.join("&"),
            "queryStringParameters": params,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012", "apiId": "api", "domainName": "api.petty.test", "domainPrefix": "api",
                "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "fuzz"},
                "requestId": "apigw", "routeKey": "$default", "stage": "$default",
                "time": "22/Nov/2026:18:00:00 +0000", "timeEpoch": 1795370400000u64
            },
            "body": body,
            "isBase64Encoded": b64
        })
    })
}

/// The status and JSON body of a proxy response as API Gateway would read it.
fn status_and_body(response: &Value) -> (u16, Option<Value>) {
    use base64::Engine;
    use std::io::Read;
    let status = response["statusCode"].as_u64().unwrap() as u16;
    let text = response["body"].as_str().unwrap_or_default();
    let bytes = if response["isBase64Encoded"] == json!(true) {
        base64::engine::general_purpose::STANDARD.decode(text).unwrap()
    } else {
        text.as_bytes().to_vec()
    };
    let gzip = response["headers"]["content-encoding"] == json!("gzip");
    let text = if gzip {
        let mut out = String::new();
        flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut out).unwrap();
        out
    } else {
        String::from_utf8(bytes).unwrap()
    };
    (status, serde_json::from_str(&text).ok())
}

fn context() -> lambda_http::Context {
    let mut ctx = lambda_http::Context::default();
    ctx.request_id = "fuzz-request".into();
    ctx.deadline = (chrono::Utc::now().timestamp_millis() + 10_000) as u64;
    ctx
}

/// Found by this fuzzing: lambda_http's own conversion panics on this query string.
#[test]
fn a_query_string_lambda_http_cannot_convert_is_a_400_with_the_request_id() {
    let event = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/v1/auth/me", "rawQueryString": "_=\"",
        "headers": {}, "isBase64Encoded": false,
        "requestContext": {
            "accountId": "1", "apiId": "api", "domainName": "api.petty.test", "domainPrefix": "api",
            "http": {"method": "GET", "path": "/v1/auth/me", "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "x"},
            "requestId": "apigw", "routeKey": "$default", "stage": "$default", "time": "x", "timeEpoch": 0
        }
    });
    let http = HttpService::new("fuzz");
    let response = runtime().block_on(serve_event(&http, &EveryReader, event, context())).unwrap();
    let (status, body) = status_and_body(&response);
    assert_eq!(status, 400);
    let body = body.unwrap();
    assert_eq!(
        (body["request_id"].as_str(), body["error"]["code"].as_str()),
        (Some("fuzz-request"), Some("malformed_request"))
    );
}

proptest! {
    #[test]
    fn no_event_a_client_can_send_panics_or_answers_500(event in event()) {
        let http = HttpService::new("fuzz").with_max_body_bytes(1024);
        // What does not even parse as an API Gateway event is the runtime's invocation error;
        // API Gateway never sends one.
        let Ok(response) = runtime().block_on(serve_event(&http, &EveryReader, event.clone(), context())) else {
            return Ok(());
        };
        let (status, body) = status_and_body(&response);
        prop_assert!(status != 500, "{event}");
        if (400..500).contains(&status) {
            let body = body.unwrap_or_default();
            prop_assert_eq!(body["request_id"].as_str(), Some("fuzz-request"), "{}", event);
            prop_assert!(body["error"]["code"].is_string());
        }
    }
}
