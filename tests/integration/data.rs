//! The data processor end to end against moto: collars and ownership, ingestion (validation,
//! idempotency, batches, API keys), realtime with late readings, and the SQS stream.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lambda_http::http::StatusCode;
use petty_auth::{AuthApp, AuthConfig};
use petty_data_processor::{DataApp, DataConfig};
use petty_shared::HttpService;
use petty_shared::api::format_ms as format_timestamp;
use petty_shared::config::FromEnv;
use petty_shared::logging::memory_sink;
use petty_shared::secrets::{CacheSettings, SecretCache, SecretsManagerSource};
use petty_shared::tables::collars::CollarsTable;
use petty_shared::tables::readings::ReadingsTable;
use petty_stream::{SqsEvent, handle_batch};
use petty_tests::{Reply, Stack, body_json, sdk, secret_cache, v2_event};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery staple";

struct World {
    env: petty_shared::Env,
    /// Claim codes of the serials registered so far (a test registers each serial once).
    codes: Mutex<std::collections::HashMap<String, String>>,
    cfg: DataConfig,
    auth: AuthApp<SecretsManagerSource>,
    data: DataApp<SecretsManagerSource>,
    http: HttpService,
    emf: Arc<Mutex<Vec<String>>>,
}

async fn world() -> World {
    let stack = Stack::seed(&[]);
    let sdk = sdk().await;
    let cache = || {
        secret_cache(
            petty_shared::aws::secrets_manager(&sdk),
            CacheSettings { min_refresh_interval: Duration::ZERO, ..CacheSettings::default() },
        )
    };
    let cfg = DataConfig::from_env(&stack.env).unwrap();
    let auth = AuthApp::new(&AuthConfig::from_env(&stack.env).unwrap(), &sdk, cache());
    let data = DataApp::new(&cfg, petty_shared::aws::dynamodb(&sdk), cache());
    let (sink, emf) = memory_sink();
    World {
        env: stack.env,
        codes: Mutex::default(),
        cfg,
        auth,
        data,
        http: HttpService::new("data-processor").with_emf_sink(sink),
        emf,
    }
}

impl World {
    /// The stream function's tables, as its `main` wires them.
    async fn stream_tables(&self) -> (CollarsTable, ReadingsTable) {
        let ddb = petty_shared::aws::dynamodb(&sdk().await);
        (
            CollarsTable::new(ddb.clone(), self.cfg.collars_table.clone()),
            ReadingsTable::new(ddb, self.cfg.readings_table.clone(), self.cfg.retention_days),
        )
    }

    async fn call_auth(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<Value>) -> Reply {
        let text = body.map(|b| b.to_string());
        petty_tests::call(&self.http, &self.auth, method, path, headers, text.as_deref()).await
    }

    async fn call(&self, method: &str, path: &str, auth: &(&str, String), body: Option<String>) -> Reply {
        petty_tests::call(&self.http, &self.data, method, path, &[(auth.0, &auth.1)], body.as_deref()).await
    }

    /// Registers and logs in; returns an `authorization` header.
    async fn owner(&self, email: &str) -> (&'static str, String) {
        let (s, b, _) =
            self.call_auth("POST", "/v1/auth/register", &[], Some(json!({"email": email, "password": PASSWORD}))).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        let (s, b, _) =
            self.call_auth("POST", "/v1/auth/login", &[], Some(json!({"email": email, "password": PASSWORD}))).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        ("authorization", format!("Bearer {}", b["access_token"].as_str().unwrap()))
    }

    /// The serial's claim code, registering it on first use (malformed serials get a code
    /// without a registration, so the claim reaches the id check).
    async fn code(&self, collar: &str) -> String {
        if let Some(code) = self.codes.lock().unwrap().get(collar) {
            return code.clone();
        }
        let code = if petty_shared::collar::is_collar_id(collar) {
            petty_tests::register_collar(&self.env, collar).await
        } else {
            petty_shared::claim_code::ClaimCode::generate()
        };
        self.codes.lock().unwrap().insert(collar.to_owned(), code.printed());
        code.printed()
    }

    async fn claim(&self, who: &(&str, String), collar: &str) -> Reply {
        let code = self.code(collar).await;
        let pet = json!({"name": "Rex", "species": "dog", "weight_kg": 30.0, "activity_profile": "active"});
        let body = json!({"collar_id": collar, "claim_code": code, "pet": pet});
        self.call("POST", "/v1/collars", who, Some(body.to_string())).await
    }

    async fn api_key(&self, who: &(&str, String), scopes: &[&str], collars: &[&str]) -> (&'static str, String) {
        let (s, b, _) = self
            .call_auth(
                "POST",
                "/v1/api-keys",
                &[(who.0, &who.1)],
                Some(json!({"name": "collar", "scopes": scopes, "collar_ids": collars})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        ("x-api-key", b["api_key"].as_str().unwrap().to_owned())
    }

    async fn ingest(&self, who: &(&str, String), body: Value) -> Reply {
        self.call("POST", "/v1/ingest", who, Some(body.to_string())).await
    }
}

fn reading(collar: &str, secs_ago: i64, hr: i64) -> Value {
    let ts = format_timestamp(chrono::Utc::now().timestamp_millis() - secs_ago * 1000);
    json!({"collar_id": collar, "timestamp": ts, "heart_rate": hr, "activity_level": 1,
           "location": {"type": "Point", "coordinates": [-74.0060, 40.7128]}})
}

#[tokio::test]
async fn collars_are_owned_paginated_and_released() {
    let w = world().await;
    let ada = w.owner("ada@example.com").await;
    let bob = w.owner("bob@example.com").await;

    assert_eq!(w.claim(&ada, "AB-123456").await.0, StatusCode::CREATED);
    assert_eq!(w.claim(&ada, "AB-123456").await.0, StatusCode::OK, "claiming your own collar again is idempotent");
    // Another owner's collar answers exactly like a serial nobody registered.
    let (taken, body, _) = w.claim(&bob, "AB-123456").await;
    let never_registered = json!({"collar_id": "ZZ-424242", "claim_code": petty_shared::claim_code::ClaimCode::generate().printed(),
        "pet": {"name": "Rex", "species": "dog", "weight_kg": 30.0}});
    let (unknown, unknown_body, _) = w.call("POST", "/v1/collars", &bob, Some(never_registered.to_string())).await;
    assert_eq!((taken, &body["error"]), (StatusCode::NOT_FOUND, &unknown_body["error"]), "{body}");
    assert_eq!(unknown, StatusCode::NOT_FOUND);
    for id in ["AB-000001", "AB-000002"] {
        assert_eq!(w.claim(&ada, id).await.0, StatusCode::CREATED);
    }
    let (status, body, _) = w.claim(&ada, "ab-1").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_collar_id")));
    let code = w.code("AB-000009").await;
    let bad_pet =
        json!({"collar_id": "AB-000009", "claim_code": code, "pet": {"name": "Rex", "species": "dog", "weight_kg": 0}});
    let (status, body, _) = w.call("POST", "/v1/collars", &ada, Some(bad_pet.to_string())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["message"].as_str().unwrap().contains("weight_kg"));

    // Pages of one: every collar exactly once, in order.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/collars?limit=1&cursor={c}"),
            None => "/v1/collars?limit=1".to_owned(),
        };
        let (status, page, _) = w.call("GET", &path, &ada, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(page["collars"].as_array().unwrap().iter().map(|c| c["collar_id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, vec!["AB-000001", "AB-000002", "AB-123456"]);
    let (status, _, _) = w.call("GET", "/v1/collars?limit=1&cursor=v1.bogus.cursor", &ada, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a tampered cursor is a 400");
    assert_eq!(w.call("GET", "/v1/collars", &bob, None).await.1["collars"], json!([]));

    // Another owner's collar looks exactly like a missing one.
    let (status, mine, _) = w.call("GET", "/v1/collars/AB-123456", &ada, None).await;
    assert_eq!((status, mine["pet"]["name"].as_str()), (StatusCode::OK, Some("Rex")));
    let theirs = w.call("GET", "/v1/collars/AB-123456", &bob, None).await;
    let missing = w.call("GET", "/v1/collars/ZZ-999999", &bob, None).await;
    assert_eq!((theirs.0, missing.0), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
    assert_eq!(theirs.1["error"], missing.1["error"]);

    let patch = json!({"pet": {"weight_kg": 31.5}}).to_string();
    let (status, patched, _) = w.call("PATCH", "/v1/collars/AB-123456", &ada, Some(patch.clone())).await;
    assert_eq!((status, patched["pet"]["weight_kg"].as_f64()), (StatusCode::OK, Some(31.5)));
    assert_eq!(patched["pet"]["name"], "Rex", "a patch keeps the other fields");
    assert_eq!(w.call("PATCH", "/v1/collars/AB-123456", &bob, Some(patch)).await.0, StatusCode::NOT_FOUND);
    let bad = json!({"pet": {"weight_kg": 151}}).to_string();
    assert_eq!(w.call("PATCH", "/v1/collars/AB-123456", &ada, Some(bad)).await.0, StatusCode::UNPROCESSABLE_ENTITY);

    assert_eq!(w.call("DELETE", "/v1/collars/AB-123456", &bob, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(w.call("DELETE", "/v1/collars/AB-123456", &ada, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(w.claim(&bob, "AB-123456").await.0, StatusCode::CREATED, "a released collar can be claimed");

    let key = w.api_key(&ada, &["readings:write"], &[]).await;
    assert_eq!(
        w.call("GET", "/v1/collars", &key, None).await.0,
        StatusCode::FORBIDDEN,
        "API keys cannot manage collars"
    );
}

#[tokio::test]
async fn ingestion_validates_dedupes_and_reports_every_reading() {
    let w = world().await;
    let ada = w.owner("ada@example.com").await;
    let bob = w.owner("bob@example.com").await;
    w.claim(&ada, "AB-123456").await;
    w.claim(&bob, "BB-000001").await;

    let one = reading("AB-123456", 60, 85);
    let (status, report, _) = w.ingest(&ada, one.clone()).await;
    assert_eq!(
        (status, report["accepted"].as_u64(), report["duplicates"].as_u64()),
        (StatusCode::OK, Some(1), Some(0))
    );
    let (status, report, _) = w.ingest(&ada, one.clone()).await;
    assert_eq!(
        (status, report["accepted"].as_u64(), report["duplicates"].as_u64()),
        (StatusCode::OK, Some(0), Some(1)),
        "re-sent: not stored or counted twice"
    );

    let mut bad = one.clone();
    bad["heart_rate"] = json!(301);
    let (status, body, _) = w.ingest(&ada, bad).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("heart_rate")));

    // A mixed batch: valid readings are stored even when others are not.
    let mut unknown_field = reading("AB-123456", 50, 90);
    unknown_field["speed"] = json!(3);
    // The repeat is the same value: two calls of `reading` can fall on different milliseconds.
    let forty = reading("AB-123456", 40, 90);
    let batch = json!({"readings": [forty.clone(), unknown_field, forty, reading("AB-123456", 30, 29), reading("AB-123456", 20, 120)]});
    let (status, report, _) = w.ingest(&ada, batch).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!((report["accepted"].as_u64(), report["duplicates"].as_u64()), (Some(2), Some(1)));
    let rejected: Vec<(u64, &str)> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].as_u64().unwrap(), r["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(rejected, vec![(1, "unknown_field"), (3, "heart_rate")]);
    assert!(report["rejected"][0]["message"].as_str().unwrap().contains("speed"));
    assert_eq!(report["not_stored"], json!([]));

    // 500 readings in one request; 501 is refused whole.
    let many: Vec<Value> = (0..500).map(|i| reading("AB-123456", 3600 + i * 10, 60 + i % 100)).collect();
    let started = Instant::now();
    let (status, report, _) = w.ingest(&ada, json!({"readings": many})).await;
    assert_eq!((status, report["accepted"].as_u64()), (StatusCode::OK, Some(500)), "{report}");
    eprintln!("500-reading batch against moto: {:?}", started.elapsed());
    let too_many: Vec<Value> = (0..501).map(|i| reading("AB-123456", 7200 + i, 70)).collect();
    assert_eq!(w.ingest(&ada, json!({"readings": too_many})).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let stored = petty_shared::dynamo::query_all(
        petty_shared::aws::dynamodb(&sdk().await)
            .query()
            .table_name(&w.cfg.readings_table)
            .key_condition_expression("collar_id = :c AND ts > :z")
            .expression_attribute_values(":c", aws_sdk_dynamodb::types::AttributeValue::S("AB-123456".into()))
            .expression_attribute_values(":z", aws_sdk_dynamodb::types::AttributeValue::N("0".into())),
    )
    .await
    .unwrap();
    assert_eq!(stored.len(), 1 + 2 + 500, "every accepted reading exactly once");

    // Ownership: another owner's collar is a 404; an API key for another collar is a 403.
    assert_eq!(w.ingest(&bob, reading("AB-123456", 5, 80)).await.0, StatusCode::NOT_FOUND);
    let kitchen = w.api_key(&ada, &["readings:write"], &["AB-123456"]).await;
    assert_eq!(w.ingest(&kitchen, reading("AB-123456", 4, 80)).await.0, StatusCode::OK);
    w.claim(&ada, "AB-000002").await;
    assert_eq!(w.ingest(&kitchen, reading("AB-000002", 4, 80)).await.0, StatusCode::FORBIDDEN);
    let reader = w.api_key(&ada, &["readings:read"], &[]).await;
    assert_eq!(w.ingest(&reader, reading("AB-123456", 3, 80)).await.0, StatusCode::FORBIDDEN, "readings:write needed");

    let emf = w.emf.lock().unwrap().join("\n");
    for metric in ["ReadingsAccepted", "ReadingsRejected", "IngestLatency", "IngestBatchSize"] {
        assert!(emf.contains(&format!("\"{metric}\"")), "{metric} missing from EMF");
    }
    assert!(emf.contains(r#""reason":"unknown_field""#), "ReadingsRejected has a reason dimension");
}

#[tokio::test]
async fn realtime_shows_the_newest_reading_even_when_late_ones_arrive() {
    let w = world().await;
    let ada = w.owner("ada@example.com").await;
    let bob = w.owner("bob@example.com").await;
    w.claim(&ada, "AB-123456").await;
    assert_eq!(
        w.call("GET", "/v1/realtime?collar_id=AB-123456", &ada, None).await.0,
        StatusCode::NOT_FOUND,
        "no data yet"
    );

    w.ingest(&ada, reading("AB-123456", 10, 101)).await;
    w.ingest(&ada, reading("AB-123456", 120, 77)).await; // late and out of order
    let (status, latest, _) = w.call("GET", "/v1/realtime?collar_id=AB-123456", &ada, None).await;
    assert_eq!(status, StatusCode::OK, "{latest}");
    assert_eq!(latest["heart_rate"], 101, "the late reading did not overwrite the newer one");
    for field in ["collar_id", "heart_rate", "activity_level", "location", "timestamp", "age_s"] {
        assert!(latest.get(field).is_some(), "{field} missing: {latest}");
    }
    assert_eq!(latest["location"]["coordinates"], json!([-74.006, 40.7128]));
    assert!((9..=60).contains(&latest["age_s"].as_i64().unwrap()));

    let theirs = w.call("GET", "/v1/realtime?collar_id=AB-123456", &bob, None).await;
    let unknown = w.call("GET", "/v1/realtime?collar_id=ZZ-000000", &bob, None).await;
    assert_eq!((theirs.0, unknown.0), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
    assert_eq!(theirs.1["error"], unknown.1["error"]);
    assert_eq!(w.call("GET", "/v1/realtime", &ada, None).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn sqs_batches_report_only_the_bad_records() {
    let w = world().await;
    let ada = w.owner("ada@example.com").await;
    w.claim(&ada, "AB-123456").await;
    let record = |id: &str, body: String| {
        json!({"messageId": id, "receiptHandle": "h", "body": body, "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:petty-readings", "awsRegion": "us-east-1", "attributes": {}, "messageAttributes": {}})
    };
    // As the IoT topic rule delivers them: the payload plus `iot_thing` from the topic.
    let from_thing = |thing: &str, mut v: Value| {
        v["iot_thing"] = json!(thing);
        v.to_string()
    };
    let mut out_of_range = reading("AB-123456", 30, 80);
    out_of_range["location"]["coordinates"] = json!([200.0, 0.0]);
    let good_1 = from_thing("AB-123456", reading("AB-123456", 40, 80));
    let mut no_collar_field = reading("AB-123456", 20, 81);
    no_collar_field.as_object_mut().unwrap().remove("collar_id");
    let event: SqsEvent = serde_json::from_value(json!({"Records": [
        record("good-1", good_1.clone()),
        record("not-json", "{oops".into()),
        record("good-2", from_thing("AB-123456", no_collar_field)),
        record("bad-location", from_thing("AB-123456", out_of_range)),
        record("unclaimed", from_thing("ZZ-000001", reading("ZZ-000001", 20, 81))),
        record("dup-of-good-1", good_1),
        record("names-another-collar", from_thing("AB-123456", reading("ZZ-000001", 15, 82))),
        record("no-identity", reading("AB-123456", 15, 82).to_string()),
    ]}))
    .unwrap();
    let (collars, readings) = w.stream_tables().await;
    let c = handle_batch(&collars, &readings, event, Instant::now() + Duration::from_secs(10)).await;
    let response = &c.response;
    let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, vec!["not-json", "bad-location", "unclaimed", "names-another-collar", "no-identity"]);
    assert_eq!((c.accepted, c.duplicates), (2, 1), "the duplicate is counted once, not stored");
    let rejected: Vec<(&str, usize)> = c.rejected.iter().map(|(r, n)| (*r, *n)).collect();
    assert_eq!(
        rejected,
        vec![
            ("collar_mismatch", 1),
            ("invalid_json", 1),
            ("location", 1),
            ("no_device_identity", 1),
            ("unclaimed_collar", 1)
        ]
    );
    let (_, latest, _) = w.call("GET", "/v1/realtime?collar_id=AB-123456", &ada, None).await;
    assert_eq!(latest["heart_rate"], 81, "the good records were stored");
    assert_eq!(serde_json::to_value(response).unwrap()["batchItemFailures"][0]["itemIdentifier"], "not-json");
}

#[tokio::test]
async fn the_stream_answers_only_batch_item_failures_and_is_measured_like_http_ingestion() {
    let w = world().await;
    let path = petty_tests::repo_root().join("events/stream/sqs-batch.json");
    let event: SqsEvent = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (collars, readings) = w.stream_tables().await;
    let outcome = handle_batch(&collars, &readings, event, Instant::now() + Duration::from_secs(10)).await;
    let answer = serde_json::to_value(&outcome.response).unwrap();
    assert_eq!(outcome.records, 4);
    assert_eq!(answer["batchItemFailures"].as_array().unwrap().len(), 4, "every sample record fails: {answer}");
    assert_eq!(answer.as_object().unwrap().len(), 1, "only batchItemFailures goes back to Lambda: {answer}");
    // The same metric names as HTTP ingestion (the rejection-ratio alarm reads both).
    let mut metrics = petty_shared::metrics::Metrics::new("stream", "petty-test-stream");
    outcome.record_metrics(&mut metrics);
    let emf: Vec<Value> = metrics.flush(0).iter().map(|l| serde_json::from_str::<Value>(l.trim()).unwrap()).collect();
    let rejected: f64 = emf.iter().filter_map(|m| m["ReadingsRejected"].as_f64()).sum();
    let batch: Vec<f64> = emf.iter().filter_map(|m| m["IngestBatchSize"].as_f64()).collect();
    assert_eq!((rejected, batch), (4.0, vec![4.0]), "{emf:?}");
    assert_eq!(outcome.rejected.get("collar_mismatch"), Some(&1), "the payload naming another collar");
}

#[tokio::test]
async fn readings_not_stored_by_the_deadline_are_named_exactly() {
    let w = world().await;
    let ada = w.owner("ada@example.com").await;
    w.claim(&ada, "AB-123456").await;
    // DynamoDB (on the wire) never processes readings whose ts is a multiple of 7.
    let sdk = sdk().await;
    let ddb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(petty_tests::PartialBatches::new(&w.cfg.readings_table, "ts", 0, 0, Some(7)))
            .build(),
    );
    let cache = Arc::new(SecretCache::new(
        SecretsManagerSource::new(petty_shared::aws::secrets_manager(&sdk)),
        CacheSettings::default(),
    ));
    let flaky = DataApp::new(&w.cfg, ddb, cache);
    // Millisecond timestamps 1 s apart from a multiple of 7: every seventh is poisoned.
    let base = (chrono::Utc::now().timestamp_millis() - 200_000) / 7 * 7;
    let readings: Vec<Value> = (0..40)
        .map(|i| {
            let mut r = reading("AB-123456", 0, 80);
            r["timestamp"] = json!(format_timestamp(base - i * 1000));
            r
        })
        .collect();
    let poisoned: Vec<u64> = (0..40).filter(|i| i % 7 == 0).collect();
    let body = json!({ "readings": readings }).to_string();
    let event = v2_event("POST", "/v1/ingest", &[("content-type", "application/json"), (ada.0, &ada.1)], Some(&body));
    // 2.5 s left: 1.5 s is kept to answer, so retries stop after about a second.
    let resp = w.http.handle(&flaky, petty_tests::request_with_deadline(&event, "r", None, 2500)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()["retry-after"], "2");
    let report = body_json(&resp);
    let not_stored: Vec<u64> = report["not_stored"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert_eq!(not_stored, poisoned, "exactly the readings DynamoDB never took");
    let request_id = resp.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(report["request_id"], request_id, "a 503 report names the request id, as every error does");
    assert_eq!(report["accepted"].as_u64().unwrap() as usize, 40 - poisoned.len());

    // Sending the batch again through a healthy client stores exactly the missing ones.
    let (status, again, _) = w.ingest(&ada, json!({ "readings": readings })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (again["accepted"].as_u64(), again["duplicates"].as_u64()),
        (Some(poisoned.len() as u64), Some(40 - poisoned.len() as u64))
    );
}
