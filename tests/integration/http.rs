//! The shared HTTP pipeline: error bodies, headers, CORS, limits, gzip, panics, EMF and logs.

use std::sync::{Arc, Mutex};

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use petty_shared::http::{ApiError, Handler, HttpService, Invocation, json_body, json_response};
use petty_shared::logging::{JsonLayer, memory_sink};
use petty_shared::metrics::Unit;
use petty_tests::{body_json, body_text, request, v2_event};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing_subscriber::layer::SubscriberExt;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct NewPet {
    pet: Pet,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Pet {
    name: String,
    weight_kg: f64,
}

/// A handler with one route per behaviour under test.
struct TestApp;

impl Handler for TestApp {
    async fn handle(&self, req: Request, inv: &Invocation) -> Result<Response<Body>, ApiError> {
        match req.uri().path() {
            "/ok" => {
                inv.metric("Things", Unit::Count, 2.0);
                json_response(StatusCode::OK, &json!({"ok": true}))
            }
            "/big" => json_response(StatusCode::OK, &json!({"data": "petty ".repeat(1000)})),
            "/cacheable" => {
                let mut r = json_response(StatusCode::OK, &json!({"keys": []}))?;
                r.headers_mut().insert("cache-control", "public, max-age=300".parse().unwrap());
                Ok(r)
            }
            "/pets" => {
                let _: NewPet = json_body(&req)?;
                json_response(StatusCode::CREATED, &json!({"created": true}))
            }
            "/panic" => panic!("something impossible happened"),
            "/busy" => Err(ApiError::TooManyRequests { retry_after_s: 7 }),
            "/down" => Err(ApiError::Internal("db password=hunter2 at 10.0.0.1".into())),
            "/login" => {
                let body: Value = json_body(&req)?;
                tracing::info!(password = body["password"].as_str(), "login attempt for {}", body["email"]);
                Err(ApiError::Unauthorized("invalid credentials".into()))
            }
            _ => Err(ApiError::NotFound("no such route".into())),
        }
    }
}

fn emf_service() -> (HttpService, Arc<Mutex<Vec<String>>>) {
    let (sink, lines) = memory_sink();
    (HttpService::new("test").with_emf_sink(sink), lines)
}

async fn call(
    http: &HttpService,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Response<Body> {
    http.handle(&TestApp, request(&v2_event(method, path, headers, body), "lambda-req-1", None)).await.unwrap()
}

#[tokio::test]
async fn errors_have_one_shape_with_the_request_id() {
    let (http, _) = emf_service();
    let resp = call(&http, "GET", "/nowhere", &[], None).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(resp.headers()["x-request-id"], "lambda-req-1");
    assert_eq!(
        body_json(&resp),
        json!({"error": {"code": "not_found", "message": "no such route"}, "request_id": "lambda-req-1"})
    );

    let busy = call(&http, "GET", "/busy", &[], None).await;
    assert_eq!((busy.status(), busy.headers()["retry-after"].to_str().unwrap()), (StatusCode::TOO_MANY_REQUESTS, "7"));

    let down = call(&http, "GET", "/down", &[], None).await;
    assert_eq!(down.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = body_text(&down);
    assert!(!text.contains("hunter2") && !text.contains("10.0.0.1"), "no internals in a 500: {text}");
}

#[tokio::test]
async fn json_errors_name_the_field() {
    let (http, _) = emf_service();
    let cases = [
        (r#"{"pet":{"name":5,"weight_kg":3}}"#, "pet.name"),
        (r#"{"pet":{"name":"Rex","weight_kg":3,"colour":"red"}}"#, "colour"),
        (r#"{"pet":{"name":"Rex"}}"#, "weight_kg"),
        (r#"{"pet": "#, "EOF"),
        ("", "body is required"),
    ];
    for (body, expected) in cases {
        let resp = call(&http, "POST", "/pets", &[("content-type", "application/json")], Some(body)).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
        let msg = body_json(&resp)["error"]["message"].as_str().unwrap().to_owned();
        assert!(msg.contains(expected), "{body}: {msg}");
    }
    let ok = call(&http, "POST", "/pets", &[], Some(r#"{"pet":{"name":"Rex","weight_kg":3.5}}"#)).await;
    assert_eq!(ok.status(), StatusCode::CREATED);
    let wrong_type = call(&http, "POST", "/pets", &[("content-type", "text/plain")], Some("{}")).await;
    assert_eq!(body_json(&wrong_type)["error"]["code"], "unsupported_content_type");
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let (sink, _) = memory_sink();
    let http = HttpService::new("test").with_emf_sink(sink).with_max_body_bytes(64);
    let resp = call(&http, "POST", "/pets", &[], Some(&"x".repeat(65))).await;
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body_json(&resp)["error"]["code"], "payload_too_large");
}

#[tokio::test]
async fn security_headers_and_cache_policy() {
    let (http, _) = emf_service();
    for path in ["/ok", "/nowhere"] {
        let resp = call(&http, "GET", path, &[], None).await;
        let h = resp.headers();
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        assert!(h["strict-transport-security"].to_str().unwrap().starts_with("max-age="));
        assert_eq!(h["cache-control"], "no-store", "{path}");
    }
    let cacheable = call(&http, "GET", "/cacheable", &[], None).await;
    assert_eq!(cacheable.headers()["cache-control"], "public, max-age=300", "a handler's cache policy is kept");
}

#[tokio::test]
async fn correlation_ids_are_echoed_or_generated() {
    let (http, _) = emf_service();
    let resp = call(&http, "GET", "/ok", &[("x-correlation-id", "app-trace-42")], None).await;
    assert_eq!(resp.headers()["x-correlation-id"], "app-trace-42");
    let generated = call(&http, "GET", "/ok", &[], None).await;
    assert_eq!(generated.headers()["x-correlation-id"].len(), 36);
}

#[tokio::test]
async fn cors_preflight_for_both_payload_versions() {
    let (sink, _) = memory_sink();
    let http = HttpService::new("test")
        .with_emf_sink(sink)
        .with_cors(petty_shared::http::Cors::new(vec!["https://app.petty.example".into()]));
    let preflight = [("origin", "https://app.petty.example"), ("access-control-request-method", "POST")];

    let v2 = http.handle(&TestApp, request(&v2_event("OPTIONS", "/pets", &preflight, None), "r", None)).await.unwrap();
    let v1_event = json!({
        "resource": "/pets", "path": "/pets", "httpMethod": "OPTIONS",
        "headers": {"origin": "https://app.petty.example", "access-control-request-method": "POST"},
        "multiValueHeaders": {"origin": ["https://app.petty.example"], "access-control-request-method": ["POST"]},
        "queryStringParameters": null, "multiValueQueryStringParameters": null, "pathParameters": null, "stageVariables": null,
        "requestContext": {"accountId": "123456789012", "resourceId": "r", "stage": "prod", "requestId": "v1-req", "identity": {"sourceIp": "192.0.2.1"},
            "resourcePath": "/pets", "httpMethod": "OPTIONS", "apiId": "api", "path": "/prod/pets"},
        "body": null, "isBase64Encoded": false
    });
    let v1 = http.handle(&TestApp, request(&v1_event, "r", None)).await.unwrap();
    for resp in [v2, v1] {
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        assert_eq!(resp.headers()["access-control-allow-origin"], "https://app.petty.example");
        assert!(resp.headers()["access-control-allow-methods"].to_str().unwrap().contains("POST"));
        assert!(resp.headers()["access-control-allow-headers"].to_str().unwrap().contains("authorization"));
    }
    let evil = http
        .handle(
            &TestApp,
            request(
                &v2_event(
                    "OPTIONS",
                    "/pets",
                    &[("origin", "https://evil.example"), ("access-control-request-method", "POST")],
                    None,
                ),
                "r",
                None,
            ),
        )
        .await
        .unwrap();
    assert!(!evil.headers().contains_key("access-control-allow-origin"));
    let simple = http
        .handle(&TestApp, request(&v2_event("GET", "/ok", &[("origin", "https://app.petty.example")], None), "r", None))
        .await
        .unwrap();
    assert_eq!(simple.headers()["access-control-allow-origin"], "https://app.petty.example");
}

#[tokio::test]
async fn large_bodies_are_gzipped_when_accepted() {
    let (http, _) = emf_service();
    let plain = call(&http, "GET", "/big", &[], None).await;
    assert!(!plain.headers().contains_key("content-encoding"));
    let zipped = call(&http, "GET", "/big", &[("accept-encoding", "gzip, br")], None).await;
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    let Body::Binary(compressed) = zipped.body() else { panic!("gzip is binary") };
    assert!(compressed.len() < body_text(&plain).len() / 10);
    assert_eq!(body_text(&zipped), body_text(&plain), "decompresses to the same body");
    let small = call(&http, "GET", "/ok", &[("accept-encoding", "gzip")], None).await;
    assert!(!small.headers().contains_key("content-encoding"), "small bodies are not worth it");
}

#[tokio::test]
async fn a_panic_is_a_500_and_the_next_request_is_served() {
    let (http, _) = emf_service();
    let resp = call(&http, "GET", "/panic", &[], None).await;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body_json(&resp)["request_id"], "lambda-req-1");
    assert_eq!(call(&http, "GET", "/ok", &[], None).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn metrics_flush_once_per_invocation_with_cold_start_first() {
    let (http, lines) = emf_service();
    call(&http, "GET", "/ok", &[], None).await;
    call(&http, "GET", "/ok", &[], None).await;
    let docs: Vec<Value> = lines.lock().unwrap().iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(docs.len(), 2, "one EMF document per invocation");
    assert_eq!(docs[0]["ColdStart"], 1.0);
    assert!(docs[1].get("ColdStart").is_none());
    for d in &docs {
        assert_eq!(d["Things"], 2.0);
        assert_eq!(d["request_id"], "lambda-req-1");
        assert_eq!(d["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Petty");
    }
}

#[tokio::test]
async fn logs_carry_ids_and_never_credentials() {
    let (log_sink, logs) = memory_sink();
    let subscriber = tracing_subscriber::registry().with(JsonLayer::new("test", "petty-test", log_sink));
    let _guard = tracing::subscriber::set_default(subscriber);
    let (http, _) = emf_service();
    let token = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJlc2lnbmF0dXJl";
    let body = r#"{"email":"owner@example.com","password":"correct horse battery staple"}"#;
    let auth = format!("Bearer {token}");
    let resp =
        call(&http, "POST", "/login", &[("authorization", &auth), ("x-correlation-id", "corr-7")], Some(body)).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let down = call(&http, "GET", "/down", &[("x-api-key", "pty_live_abcdefghijklmnop0123")], None).await;
    assert_eq!(down.status(), StatusCode::INTERNAL_SERVER_ERROR);

    let lines = logs.lock().unwrap().clone();
    assert!(lines.len() >= 4, "{lines:#?}");
    let all = lines.join("\n");
    for secret in ["correct horse", token, "c2lnbmF0dXJl", "pty_live_abcdefghijklmnop0123", "hunter2"] {
        assert!(!all.contains(secret), "{secret} leaked into logs:\n{all}");
    }
    let parsed: Vec<Value> = lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    let attempt = parsed.iter().find(|l| l["message"].as_str().unwrap_or("").starts_with("login attempt")).unwrap();
    assert_eq!(attempt["password"], "[REDACTED]");
    assert_eq!(attempt["correlation_id"], "corr-7");
    assert_eq!(attempt["function_request_id"], "lambda-req-1");
    let completed = parsed.iter().find(|l| l["message"] == "request completed" && l["status"] == 401).unwrap();
    assert_eq!(completed["path"], "/login");
}
