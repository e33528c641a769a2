//! End-to-end ingest of 500-reading batches against a seeded moto stack (numbers, not
//! pass/fail): the HTTP pipeline, token verification, ownership, validation, duplicate
//! check, batch writes and the latest-reading update. Run by `make bench`.

use std::sync::Arc;
use std::time::Instant;

use petty_data_processor::{DataApp, DataConfig};
use petty_shared::api::format_ms as format_timestamp;
use petty_shared::config::FromEnv;
use petty_shared::jwt::{Claims, Signer, TokenType};
use petty_shared::secrets::{CacheSettings, SecretCache, SecretSource, SecretsManagerSource};
use petty_shared::{Env, HttpService};
use serde_json::json;

fn request(method: &str, path: &str, token: &str, body: &str) -> lambda_http::Request {
    let event = json!({
        "version": "2.0", "routeKey": format!("{method} {path}"), "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json", "authorization": format!("Bearer {token}")},
        "requestContext": {"accountId": "1", "apiId": "a", "domainName": "d", "domainPrefix": "d",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": "r", "routeKey": format!("{method} {path}"), "stage": "$default", "time": "t", "timeEpoch": 0},
        "body": body, "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if std::env::var("READINGS_TABLE").is_err() {
        println!("ingest: skipped (no seeded stack in the environment; run `make bench`)");
        return;
    }
    let env = Env::process();
    let cfg = DataConfig::from_env(&env).expect("seeded stack environment");
    let sdk = petty_shared::aws::load().await;
    let source = SecretsManagerSource::new(petty_shared::aws::secrets_manager(&sdk));
    let signing = source.fetch(&env.required("SIGNING_KEYS_SECRET_ID").unwrap()).await.unwrap();
    let signer = Signer::from_json(signing.expose()).unwrap();
    let now = chrono::Utc::now().timestamp();
    let token = signer
        .sign(&Claims {
            iss: cfg.common.jwt_issuer.clone(),
            aud: cfg.common.jwt_audience.clone(),
            sub: format!("bench-{}", uuid::Uuid::new_v4().simple()),
            scopes: vec!["collars:manage".into(), "readings:write".into()],
            token_type: TokenType::Access,
            jti: "bench".into(),
            iat: now,
            nbf: now,
            exp: now + 900,
            fam: None,
        })
        .unwrap();
    let app = DataApp::new(
        &cfg,
        petty_shared::aws::dynamodb(&sdk),
        Arc::new(SecretCache::new(source, CacheSettings::default())),
    );
    let http = HttpService::new("data-processor").with_emf_sink(Arc::new(|_: &[u8]| {}));
    let collar = format!("BN-{:06}", now % 1_000_000);
    let claim = json!({"collar_id": collar, "pet": {"name": "Bench", "species": "dog", "weight_kg": 20}}).to_string();
    let claimed = http.handle(&app, request("POST", "/v1/collars", &token, &claim)).await.unwrap();
    assert!(claimed.status().is_success(), "claim: {}", claimed.status());

    let batches = 20;
    let start_ms = chrono::Utc::now().timestamp_millis() - 86_400_000;
    let mut latencies = Vec::new();
    let started = Instant::now();
    for b in 0..batches {
        let readings: Vec<_> = (0..500)
            .map(|i| {
                let ts = format_timestamp(start_ms + (b * 500 + i) * 10_000);
                json!({"collar_id": collar, "timestamp": ts, "heart_rate": 60 + i % 90, "activity_level": i % 3,
                       "location": {"type": "Point", "coordinates": [-74.006, 40.7128]}})
            })
            .collect();
        let body = json!({ "readings": readings }).to_string();
        let t = Instant::now();
        let resp = http.handle(&app, request("POST", "/v1/ingest", &token, &body)).await.unwrap();
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(resp.status(), 200);
    }
    let total = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let p = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    println!(
        "ingest of {batches} x 500-reading batches against moto: {:.0} readings/s, per request p50 {:.0} ms, p99 {:.0} ms",
        (batches * 500) as f64 / total,
        p(0.5),
        p(0.99)
    );
}
