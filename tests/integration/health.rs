//! The health function's handler, called directly, over real clients pointed at moto.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue, Statistic};
use lambda_http::http::StatusCode;
use petty_health::{AlarmSource, AlarmStatus, HealthApp, HealthConfig, TableProbe};
use petty_shared::config::FromEnv;
use petty_shared::secrets::{CacheSettings, SecretsManagerSource};
use petty_shared::{Env, HttpService};
use petty_tests::{Keys, body_json, create_table, request, sdk, secret_cache, unique, v2_event};
use serde_json::Value;

fn config(tables: &[&str], jwks: &str, alarm_prefix: &str, timeout_ms: u64) -> HealthConfig {
    HealthConfig::from_env(&Env::from_pairs([
        ("STAGE", "test"),
        ("JWT_ISSUER", petty_tests::ISSUER),
        ("JWT_AUDIENCE", petty_tests::AUDIENCE),
        ("PUBLIC_KEYS_SECRET_ID", jwks),
        ("TABLE_NAMES", &tables.join(",")),
        ("ALARM_PREFIX", alarm_prefix),
        ("HEALTH_CHECK_TIMEOUT_MS", &timeout_ms.to_string()),
    ]))
    .unwrap()
}

type RealApp = HealthApp<aws_sdk_dynamodb::Client, aws_sdk_cloudwatch::Client, SecretsManagerSource>;

async fn app(cfg: &HealthConfig) -> RealApp {
    let sdk = sdk().await;
    let cache = secret_cache(petty_shared::aws::secrets_manager(&sdk), CacheSettings::default());
    HealthApp::new(cfg, petty_shared::aws::dynamodb(&sdk), aws_sdk_cloudwatch::Client::new(&sdk), cache)
}

async fn get(
    app: &RealApp,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Value, lambda_http::Response<lambda_http::Body>) {
    let http = HttpService::new("health");
    let resp = http.handle(app, request(&v2_event("GET", path, headers, None), "req-health", None)).await.unwrap();
    (resp.status(), body_json(&resp), resp)
}

fn check<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {body}"))
}

#[tokio::test]
async fn ready_when_every_dependency_answers() {
    let sdk = sdk().await;
    let ddb = petty_shared::aws::dynamodb(&sdk);
    let (t1, t2) = (unique("users"), unique("readings"));
    create_table(&ddb, &t1).await;
    create_table(&ddb, &t2).await;
    let keys = Keys::stored(&petty_shared::aws::secrets_manager(&sdk)).await;
    let app = app(&config(&[&t1, &t2], &keys.jwks_secret_id, "x-", 2000)).await;

    let (status, body, _) = get(&app, "/v1/health/ready", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ready");
    assert!(body.get("request_id").is_none(), "a 200 carries the id in its header only: {body}");
    assert_eq!(body["checks"].as_array().unwrap().len(), 3);
    for name in [format!("dynamodb:{t1}"), format!("dynamodb:{t2}"), "secretsmanager:public-keys".into()] {
        let c = check(&body, &name);
        assert_eq!(c["ok"], true, "{c}");
        assert!(c["latency_ms"].as_f64().unwrap() >= 0.0);
    }
}

#[tokio::test]
async fn not_ready_names_each_failing_dependency() {
    let sdk = sdk().await;
    let ddb = petty_shared::aws::dynamodb(&sdk);
    let present = unique("present");
    create_table(&ddb, &present).await;
    let missing_table = unique("gone");
    let app = app(&config(&[&present, &missing_table], &unique("no-jwks"), "x-", 2000)).await;

    let (status, body, resp) = get(&app, "/v1/health/ready", &[]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "not_ready");
    assert_eq!(check(&body, &format!("dynamodb:{present}"))["ok"], true);
    let table = check(&body, &format!("dynamodb:{missing_table}"));
    assert_eq!(table["ok"], false);
    assert!(table["error"].as_str().unwrap().contains("ResourceNotFoundException"), "{table}");
    let keys = check(&body, "secretsmanager:public-keys");
    assert_eq!(keys["ok"], false);
    assert!(keys["error"].as_str().unwrap().contains("not found"), "{keys}");
    assert_eq!(resp.headers()["x-request-id"], "req-health");
    assert_eq!(body["request_id"], "req-health", "a 503 names the request id in its body too");
}

#[tokio::test]
async fn a_hung_dependency_times_out_instead_of_hanging() {
    // A socket that accepts connections (backlog) but never answers.
    let hung = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", hung.local_addr().unwrap());
    // Explicit per-client endpoints: they win over AWS_ENDPOINT_URL.
    let sdk = sdk().await;
    let ddb =
        aws_sdk_dynamodb::Client::from_conf(aws_sdk_dynamodb::config::Builder::from(&sdk).endpoint_url(&url).build());
    let sm = aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::config::Builder::from(&sdk).endpoint_url(&url).build(),
    );
    let cw = aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::config::Builder::from(&sdk).endpoint_url(&url).build(),
    );
    let app = HealthApp::new(&config(&["t"], "jwks", "x-", 200), ddb, cw, secret_cache(sm, CacheSettings::default()));

    let started = Instant::now();
    let (status, body, _) = get(&app, "/v1/health/ready", &[]).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "checks run concurrently, each bounded: {:?}",
        started.elapsed()
    );
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    for c in body["checks"].as_array().unwrap() {
        assert_eq!(c["error"], "timed out after 200 ms", "{c}");
    }
    drop(hung);
}

#[tokio::test]
async fn detailed_requires_admin_and_lists_only_this_stacks_alarms() {
    let sdk = sdk().await;
    let keys = Keys::stored(&petty_shared::aws::secrets_manager(&sdk)).await;
    let prefix = format!("{}-", unique("petty"));
    let cw = aws_sdk_cloudwatch::Client::new(&sdk);
    for name in [format!("{prefix}health-errors"), format!("{prefix}api-5xx"), unique("someone-else")] {
        cw.put_metric_alarm()
            .alarm_name(&name)
            .namespace("AWS/Lambda")
            .metric_name("Errors")
            .statistic(Statistic::Sum)
            .period(60)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
            .send()
            .await
            .unwrap();
    }
    cw.set_alarm_state()
        .alarm_name(format!("{prefix}api-5xx"))
        .state_value(StateValue::Alarm)
        .state_reason("test")
        .send()
        .await
        .unwrap();
    let app = app(&config(&[], &keys.jwks_secret_id, &prefix, 2000)).await;

    let (status, body, resp) = get(&app, "/v1/health/detailed", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(resp.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    assert_eq!(body["error"]["code"], "unauthorized");

    let user = format!("Bearer {}", keys.access_token("user-1", &["readings:read"]));
    let (status, body, _) = get(&app, "/v1/health/detailed", &[("authorization", &user)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let admin = format!("Bearer {}", keys.access_token("ops-1", &["admin"]));
    let (status, body, _) = get(&app, "/v1/health/detailed", &[("authorization", &admin)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let names: Vec<&str> = body["alarms"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec![format!("{prefix}api-5xx"), format!("{prefix}health-errors")]);
    assert_eq!(body["alarms"][0]["state"], "ALARM");
    assert_eq!(body["alarms_in_alarm_state"], 1);
    assert_eq!(body["checks"][0]["name"], "secretsmanager:public-keys");
    assert_eq!(body["build"]["version"], env!("CARGO_PKG_VERSION"));
}

/// Probes that fail the test if liveness ever calls them.
struct Untouchable;

impl TableProbe for Untouchable {
    async fn describe(&self, _table: &str) -> Result<(), String> {
        panic!("liveness must not call DynamoDB")
    }
}

impl AlarmSource for Untouchable {
    async fn alarms(&self, _prefix: &str) -> Result<Vec<AlarmStatus>, String> {
        panic!("liveness must not call CloudWatch")
    }
}

#[tokio::test]
async fn liveness_calls_no_dependency() {
    // Secrets Manager pointed at a closed port: any call would fail the response.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let sdk = sdk().await;
    let sm = aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::config::Builder::from(&sdk).endpoint_url(format!("http://{closed}")).build(),
    );
    let cache =
        Arc::new(petty_shared::secrets::SecretCache::new(SecretsManagerSource::new(sm), CacheSettings::default()));
    let app = HealthApp::new(&config(&["t"], "jwks", "x-", 2000), Untouchable, Untouchable, cache);
    let http = HttpService::new("health");
    let first = http.handle(&app, request(&v2_event("GET", "/v1/health", &[], None), "r1", None)).await.unwrap();
    let second = http.handle(&app, request(&v2_event("GET", "/v1/health/", &[], None), "r2", None)).await.unwrap();
    let (a, b) = (body_json(&first), body_json(&second));
    assert_eq!((first.status(), a["status"].as_str()), (StatusCode::OK, Some("ok")));
    assert_eq!((a["cold_start"].as_bool(), b["cold_start"].as_bool()), (Some(true), Some(false)));
    assert_eq!(a["version"], env!("CARGO_PKG_VERSION"));
    assert!(a["uptime_s"].is_u64() && a["git_sha"].is_string());

    let post = http.handle(&app, request(&v2_event("POST", "/v1/health", &[], None), "r3", None)).await.unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    let unknown = http.handle(&app, request(&v2_event("GET", "/v1/nope", &[], None), "r4", None)).await.unwrap();
    assert_eq!((unknown.status(), body_json(&unknown)["request_id"].as_str()), (StatusCode::NOT_FOUND, Some("r4")));
}
