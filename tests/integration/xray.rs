//! X-Ray documents for SDK calls and handler phases, received on a local UDP port.

use std::net::UdpSocket;
use std::sync::Arc;
use std::time::Duration;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use petty_shared::http::{ApiError, Handler, HttpService, Invocation, json_response};
use petty_shared::logging::memory_sink;
use petty_shared::xray::{TraceContext, XrayEmitter, in_trace};
use petty_tests::{create_table, request, sdk, unique, v2_event};
use serde_json::{Value, json};

fn daemon() -> (UdpSocket, Arc<XrayEmitter>) {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let emitter = Arc::new(XrayEmitter::new(Some(sock.local_addr().unwrap())));
    (sock, emitter)
}

fn drain(sock: &UdpSocket) -> Vec<Value> {
    let mut docs = Vec::new();
    let mut buf = vec![0u8; 65536];
    while let Ok(n) = sock.recv(&mut buf) {
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        let (header, body) = text.split_once('\n').unwrap();
        assert_eq!(serde_json::from_str::<Value>(header).unwrap(), json!({"format": "json", "version": 1}));
        docs.push(serde_json::from_str(body).unwrap());
    }
    docs
}

const TRACE: &str = "Root=1-6740d5a0-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1";

#[tokio::test]
async fn sdk_calls_become_aws_subsegments_with_flags() {
    let (sock, emitter) = daemon();
    let ddb = petty_shared::aws::dynamodb(&sdk().await);
    let table = unique("traced");
    create_table(&ddb, &table).await;
    let trace = TraceContext::parse(TRACE).unwrap();
    in_trace(Some(&trace), &emitter, async {
        ddb.describe_table().table_name(&table).send().await.unwrap();
        ddb.describe_table().table_name("no-such-table").send().await.unwrap_err();
    })
    .await;
    let docs = drain(&sock);
    assert_eq!(docs.len(), 2, "{docs:#?}");
    let (ok, failed) = (&docs[0], &docs[1]);
    for d in &docs {
        assert_eq!(d["type"], "subsegment");
        assert_eq!(d["namespace"], "aws");
        assert_eq!(d["name"], "DynamoDB");
        assert_eq!(d["trace_id"], "1-6740d5a0-0123456789abcdef01234567");
        assert_eq!(d["parent_id"], "53995c3f42cd8ad8");
        assert_eq!(d["aws"]["operation"], "DescribeTable");
    }
    assert_eq!(ok["aws"]["table_name"], json!(table));
    assert_eq!(ok["http"]["response"]["status"], 200);
    assert!(ok.get("error").is_none() && ok.get("fault").is_none());
    assert_eq!(failed["aws"]["table_name"], "no-such-table");
    assert_eq!(failed["error"], true);
    assert_eq!(failed["http"]["response"]["status"], 400);
}

#[tokio::test]
async fn calls_outside_a_sampled_trace_send_nothing() {
    let (sock, emitter) = daemon();
    let ddb = petty_shared::aws::dynamodb(&sdk().await);
    let unsampled =
        TraceContext::parse("Root=1-6740d5a0-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=0").unwrap();
    in_trace(Some(&unsampled), &emitter, async { ddb.list_tables().send().await.unwrap() }).await;
    ddb.list_tables().send().await.unwrap();
    assert!(drain(&sock).is_empty());
}

struct Describes(aws_sdk_dynamodb::Client, String);

impl Handler for Describes {
    async fn handle(&self, _req: Request, _inv: &Invocation) -> Result<Response<Body>, ApiError> {
        self.0.describe_table().table_name(&self.1).send().await.map_err(|e| ApiError::Internal(e.to_string()))?;
        json_response(StatusCode::OK, &json!({}))
    }
}

#[tokio::test]
async fn invocations_are_parented_on_the_lambda_context_trace() {
    let (sock, emitter) = daemon();
    let ddb = petty_shared::aws::dynamodb(&sdk().await);
    let table = unique("traced");
    create_table(&ddb, &table).await;
    let (sink, _) = memory_sink();
    let http = HttpService::new("test").with_xray(emitter).with_emf_sink(sink);
    // The process-wide variable says something else: it must be ignored.
    let resp = http
        .handle(&Describes(ddb, table), request(&v2_event("GET", "/x", &[], None), "r", Some(TRACE)))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let docs = drain(&sock);
    let handler = docs.iter().find(|d| d["name"] == "handler").expect("handler phase");
    let call = docs.iter().find(|d| d["name"] == "DynamoDB").expect("sdk call");
    assert_eq!(handler["parent_id"], "53995c3f42cd8ad8");
    assert_eq!(call["parent_id"], handler["id"], "SDK calls nest under the handler phase");
}
