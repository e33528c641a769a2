//! Account numbers (never pass/fail), run by `make bench-accounts`: the answer time of a
//! password-reset request for an existing and an unknown address, and the time of an export
//! and of an erasure for one owner whose collar has 30 days of 10-second readings (259,200
//! items) in moto, from the API call to the job's end, each job fed from its real queue with
//! Lambda's limits (15 minutes; an erasure out of time queues itself again and the next
//! delivery goes on, counted here as one more invocation).
//!
//! `DAYS=3 make bench-accounts` for a quicker run. Fails loudly (a panic) if an answer is not
//! what the API promises or anything of the owner's readings is left.

use std::time::{Duration, Instant};

use lambda_http::http::StatusCode;
use petty_account_eraser::{Eraser, EraserConfig};
use petty_account_exporter::{Exporter, ExporterConfig};
use petty_shared::config::FromEnv;
use petty_shared::reading::{Activity, Reading};
use petty_shared::tables::readings::ReadingsTable;
use petty_tests::apps::{Apps, PASSWORD};
use petty_tests::{drain, sdk, unique};
use serde_json::{Value, json};

const DAY_MS: i64 = 86_400_000;
/// The job's own budget, as in Lambda: 15 minutes.
const LAMBDA_BUDGET: Duration = Duration::from_secs(15 * 60);

#[tokio::main]
async fn main() {
    // The jobs' warnings and errors on stderr, as their logs would show them.
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_max_level(tracing::Level::WARN).init();
    let days: i64 = std::env::var("DAYS").ok().and_then(|d| d.parse().ok()).unwrap_or(30);
    let apps = Apps::seed().await;
    let sdk = sdk().await;
    let ddb = petty_shared::aws::dynamodb(&sdk);
    let email = format!("{}@example.com", unique("bench").to_lowercase());
    let owner = apps.owner(&email).await;
    let collar = "BA-000001";
    let end = chrono::Utc::now().timestamp_millis() / 10_000 * 10_000;
    let start = end - days * DAY_MS;
    apps.claim_at(&owner, collar, json!({"name": "Rex", "species": "dog", "weight_kg": 20}), start - 1).await;

    // Seeding is not measured: the readings as the data processor stores them.
    let readings_table = apps.env.optional("READINGS_TABLE").unwrap().to_owned();
    let store = ReadingsTable::new(ddb.clone(), &readings_table, 30);
    let seeded = Instant::now();
    let total = (end - start) / 10_000;
    for chunk_start in (0..total).step_by(5_000) {
        let chunk: Vec<Reading> = (chunk_start..(chunk_start + 5_000).min(total))
            .map(|i| Reading {
                collar_id: collar.into(),
                timestamp_ms: start + i * 10_000,
                heart_rate: 80 + (i % 40) as u16,
                activity_level: if i % 7 == 0 { Activity::Play } else { Activity::Rest },
                lon: -74.0 + (i % 100) as f64 * 1e-5,
                lat: 40.7,
                temperature_c: Some(38.4),
                battery_pct: Some(80.0),
                accuracy_m: Some(5.0),
                firmware: Some("2.4.1".into()),
            })
            .collect();
        let refs: Vec<&Reading> = chunk.iter().collect();
        let report = store.put_all(&refs, Instant::now() + Duration::from_secs(300)).await;
        assert!(report.unwritten.is_empty(), "seeding: {} readings not written", report.unwritten.len());
    }
    eprintln!("seeded {total} readings over {days} days in {:.0} s (not measured)", seeded.elapsed().as_secs_f64());
    let bearer = &owner;
    let call = |method: &'static str, path: String, body: Value| {
        let apps = &apps;
        async move {
            let (status, body, _) = apps.auth(method, &path, &[(bearer.0, &bearer.1)], body).await;
            (status, body)
        }
    };

    // Reset requests: an existing address against unknown ones (5 each, the per-address limit).
    let reset_ms = |took: Instant| took.elapsed().as_secs_f64() * 1000.0;
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..5 {
        for (who, times) in [(email.clone(), &mut known), (format!("nobody-{i}-{email}"), &mut unknown)] {
            let took = Instant::now();
            let (status, _, _) = apps.auth("POST", "/v1/auth/password-reset", &[], json!({"email": who})).await;
            assert_eq!(status, StatusCode::ACCEPTED);
            times.push(reset_ms(took));
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let spread = |v: &Vec<f64>| v[v.len() - 1] - v[0];
    println!(
        "password reset request, 5 each against moto: existing address p50 {:.0} ms (spread {:.0} ms), unknown p50 {:.0} ms (spread {:.0} ms)",
        median(&mut known),
        spread(&known),
        median(&mut unknown),
        spread(&unknown)
    );

    // Export: POST, the job from its queue, then the ready answer and the zip's size.
    let started = Instant::now();
    let (status, export) = call("POST", "/v1/auth/export".into(), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{export}");
    let jobs_sdk = petty_shared::aws::load_for_jobs().await;
    let exporter = Exporter::new(ExporterConfig::from_env(&apps.env).unwrap(), &jobs_sdk);
    let jobs = drain(apps.env.optional("EXPORT_QUEUE_URL").unwrap()).await;
    let done = petty_account_exporter::handle_batch(&exporter, jobs, Instant::now() + LAMBDA_BUDGET).await;
    assert!(done.batch_item_failures.is_empty(), "the export job failed");
    let path = format!("/v1/auth/export/{}", export["export_id"].as_str().unwrap());
    let (status, ready) = call("GET", path, json!(null)).await;
    let export_s = started.elapsed().as_secs_f64();
    assert_eq!((status, ready["status"].as_str()), (StatusCode::OK, Some("ready")), "{ready}");
    assert_eq!(ready["counts"]["readings.jsonl"].as_i64(), Some(total), "every reading of the ownership: {ready}");
    let size_mb = ready["size_bytes"].as_f64().unwrap() / 1e6;

    // Erasure: DELETE /me, then the job and every invocation it queued for itself.
    let started = Instant::now();
    let (status, deleted) = call("DELETE", "/v1/auth/me".into(), json!({"password": PASSWORD})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{deleted}");
    let eraser = Eraser::new(EraserConfig::from_env(&apps.env).unwrap(), &jobs_sdk);
    let mut invocations = 0;
    loop {
        let jobs = drain(apps.env.optional("ERASURE_QUEUE_URL").unwrap()).await;
        if jobs.records.is_empty() {
            break;
        }
        invocations += 1;
        let done = petty_account_eraser::handle_batch(&eraser, jobs, Instant::now() + LAMBDA_BUDGET).await;
        assert!(done.batch_item_failures.is_empty(), "the erasure job failed");
    }
    let erase_s = started.elapsed().as_secs_f64();
    let left = ddb
        .query()
        .table_name(&readings_table)
        .key_condition_expression("collar_id = :c")
        .expression_attribute_values(":c", petty_shared::dynamo::s(collar))
        .select(aws_sdk_dynamodb::types::Select::Count)
        .send()
        .await
        .unwrap()
        .count;
    assert_eq!(left, 0, "readings left after the erasure");

    println!(
        "account export, {days} days ({total} readings) against moto: {export_s:.1} s ({:.0} readings/s), zip {size_mb:.2} MB",
        total as f64 / export_s
    );
    println!(
        "account erasure, {days} days ({total} readings) against moto: {erase_s:.1} s ({:.0} readings/s), {invocations} invocation(s)",
        total as f64 / erase_s
    );
}
