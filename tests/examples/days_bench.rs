//! Day records' numbers (never pass/fail), run by `make bench-days` on its own moto: COLLARS
//! (default 3) collars with DAYS (default 30) days of 10-second readings each, then per
//! request kind the latency through the real timeline handler and what it read:
//! - a finished day (`day=`), first (computed from readings, stored) and then from its record;
//! - a 7-day window of finished days, and the plan, from records (today has no readings);
//! - a 30-day summary;
//! - the stored sizes: a reading item, a day record (head and episodes), for the cost table.

use std::time::{Duration, Instant};

use petty_behaviour::segment::{DAY_MS, day_floor, normalize};
use petty_behaviour::simulator::{profiles, simulate_day};
use petty_shared::HttpService;
use petty_shared::config::FromEnv;
use petty_shared::dynamo::{Item, n, s};
use petty_shared::jwt::{Signer, TokenType};
use petty_shared::reading::{Activity, Reading};
use petty_shared::secrets::{CacheSettings, SecretSource, SecretsManagerSource};
use petty_shared::tables::readings::ReadingsTable;
use petty_tests::{Stack, sdk, secret_cache};
use petty_timeline::{TimelineApp, TimelineConfig};
use serde_json::json;

fn env_or(name: &str, default: i64) -> i64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// DynamoDB's item size: attribute names plus values (numbers counted as their digits).
fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(k, v)| {
            k.len()
                + match v {
                    aws_sdk_dynamodb::types::AttributeValue::S(x) => x.len(),
                    aws_sdk_dynamodb::types::AttributeValue::N(x) => x.len().div_ceil(2) + 1,
                    aws_sdk_dynamodb::types::AttributeValue::L(l) => {
                        3 + l.iter().map(|e| e.as_s().map_or(8, |x| x.len() + 1)).sum::<usize>()
                    }
                    _ => 8,
                }
        })
        .sum()
}

struct Timer(Vec<f64>);

impl Timer {
    fn line(mut self, what: &str) -> f64 {
        self.0.sort_by(f64::total_cmp);
        let p50 = percentile(&self.0, 0.5);
        println!("{what}: p50 {p50:.0} ms, max {:.0} ms over {} calls", self.0[self.0.len() - 1], self.0.len());
        p50
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let (collars, days) = (env_or("COLLARS", 3), env_or("DAYS", 30));
    let stack = Stack::seed(&[]);
    let sdk = sdk().await;
    let ddb = petty_shared::aws::dynamodb(&sdk);
    let cfg = TimelineConfig::from_env(&stack.env).unwrap();
    let source = SecretsManagerSource::new(petty_shared::aws::secrets_manager(&sdk));
    let signing = source.fetch(&stack.env.required("SIGNING_KEYS_SECRET_ID").unwrap()).await.unwrap();
    let owner = format!("bench-{}", uuid::Uuid::new_v4().simple());
    let mut claims = petty_tests::claims(&owner, &["timeline:read"], TokenType::Access);
    (claims.iss, claims.aud) = (cfg.common.jwt_issuer.clone(), cfg.common.jwt_audience.clone());
    let token = Signer::from_json(signing.expose()).unwrap().sign(&claims).unwrap();
    let auth = ("authorization", format!("Bearer {token}"));
    let today = day_floor(chrono::Utc::now().timestamp_millis());
    let first_day = today - days * DAY_MS;
    let readings = ReadingsTable::new(ddb.clone(), stack.env.required("READINGS_TABLE").unwrap(), 400);
    let pet = json!({"name": "Biscuit", "species": "dog", "weight_kg": 18.0}).to_string();

    let cache = secret_cache(
        petty_shared::aws::secrets_manager(&sdk),
        CacheSettings { min_refresh_interval: Duration::ZERO, ..CacheSettings::default() },
    );
    let timeline = TimelineApp::new(&cfg, ddb.clone(), cache);
    let http = HttpService::new("bench").with_emf_sink(std::sync::Arc::new(|_: &[u8]| {}));
    let get = |path: String| {
        let (http, timeline, auth) = (&http, &timeline, &auth);
        async move {
            let started = Instant::now();
            let (status, body, _) = petty_tests::call(http, timeline, "GET", &path, &[(auth.0, &auth.1)], None).await;
            assert_eq!(status, 200, "{path}: {body}");
            (started.elapsed().as_secs_f64() * 1000.0, body)
        }
    };
    let date_of = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap().date_naive();

    let seeding = Instant::now();
    let mut stored = 0usize;
    for c in 0..collars {
        let collar = format!("BD-{:06}", c + 1);
        ddb.put_item()
            .table_name(stack.env.required("COLLARS_TABLE").unwrap())
            .item("collar_id", s(&collar))
            .item("owner_id", s(&owner))
            .item("pet", s(&pet))
            .item("household", s("bench"))
            .item("created_at", n(first_day / 1000))
            .item("updated_at", n(first_day / 1000))
            .send()
            .await
            .unwrap();
    }
    // Day by day, as days finish: each day stored; the first collar's then read once (computed
    // from its readings and stored as its record, as the first view after midnight does); the
    // measured reads are the first collar's.
    let mut first_reads = Timer(Vec::new());
    let mut first_points = 0;
    let mut first_retries = 0;
    // The first collar first, each day read as soon as it is stored; then the others: moto
    // iterates the whole table for every `Query` page, so a day computed while the table holds
    // 90 collar-days of readings times out (that is what the readings layout decides; see the
    // README's storage notes). Its records, once stored, are what the reads below measure.
    for c in 0..collars {
        for d in 0..days {
            let collar = format!("BD-{:06}", c + 1);
            let mut day =
                simulate_day(&profiles()[(c as usize) % 3], (c * 1000 + d) as u64, first_day + d * DAY_MS).delivered;
            normalize(&mut day);
            let batch: Vec<Reading> = day
                .iter()
                .map(|x| Reading {
                    collar_id: collar.clone(),
                    timestamp_ms: x.ts_ms,
                    heart_rate: x.heart_rate,
                    activity_level: [Activity::Rest, Activity::Walk, Activity::Play][usize::from(x.activity)],
                    lon: x.lon,
                    lat: x.lat,
                    temperature_c: Some(38.6),
                    battery_pct: Some(80.0),
                    accuracy_m: Some(5.0),
                    firmware: None,
                })
                .collect();
            let refs: Vec<&Reading> = batch.iter().collect();
            let report = readings.put_all(&refs, Instant::now() + Duration::from_secs(600)).await;
            assert!(report.unwritten.is_empty(), "seeding failed: {:?}", report.error);
            stored += batch.len();
            if c > 0 {
                continue; // the others' readings only fill the table
            }
            let date = date_of(first_day + d * DAY_MS);
            let path = format!("/v1/pet-timeline?collar_id={collar}&day={date}&limit=500");
            // Moto may time a day's first read out (its `Query` slows as the table grows): a
            // 503 is an answer here; the first read that gets through computes and stores it.
            let started = Instant::now();
            let body = loop {
                let (status, body, _) =
                    petty_tests::call(&http, &timeline, "GET", &path, &[(auth.0, &auth.1)], None).await;
                match status.as_u16() {
                    200 => break body,
                    503 => {
                        first_retries += 1;
                        assert!(first_retries < 20, "{path}: moto keeps timing out: {body}");
                    }
                    _ => panic!("{path}: {status} {body}"),
                }
            };
            first_reads.0.push(started.elapsed().as_secs_f64() * 1000.0);
            first_points = body["metadata"]["data_points"].as_u64().unwrap_or(0);
        }
    }
    println!(
        "seeded {stored} readings ({collars} collars x {days} days) into moto in {:.0} s, the first collar's days read once each as they were stored",
        seeding.elapsed().as_secs_f64()
    );
    first_reads
        .line(&format!("finished day, first read (computed from ~{first_points} readings, stored as its record)"));
    let collar = "BD-000001";
    let yesterday = date_of(today - DAY_MS);
    let day_path = format!("/v1/pet-timeline?collar_id={collar}&day={yesterday}&limit=500");
    let mut t = Timer(Vec::new());
    for _ in 0..10 {
        t.0.push(get(day_path.clone()).await.0);
    }
    let day_p50 = t.line("finished day from its record (GET /v1/pet-timeline?day=)");

    // Seven finished days: computed once (each a record), then read from the records.
    let week_from = chrono::DateTime::from_timestamp_millis(today - 7 * DAY_MS).unwrap();
    let week_path = format!(
        "/v1/pet-timeline?collar_id={collar}&from={}&to={}&limit=500",
        week_from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        chrono::DateTime::from_timestamp_millis(today).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let mut t = Timer(Vec::new());
    for _ in 0..10 {
        t.0.push(get(week_path.clone()).await.0);
    }
    t.line("7 finished days from their records");
    let mut t = Timer(Vec::new());
    for _ in 0..10 {
        t.0.push(get(format!("/v1/pet-plan?collar_id={collar}")).await.0);
    }
    let plan_p50 = t.line("GET /v1/pet-plan (7 day summaries)");
    let month_from = date_of(today - days.min(30) * DAY_MS);
    let summary_path = format!("/v1/pet-summary?collar_id={collar}&from={month_from}&to={yesterday}");
    let mut t = Timer(Vec::new());
    for _ in 0..10 {
        t.0.push(get(summary_path.clone()).await.0);
    }
    t.line(&format!("{}-day summary from records", days.min(30)));

    // Stored sizes (for read and write units).
    let reading = ddb
        .query()
        .table_name(stack.env.required("READINGS_TABLE").unwrap())
        .key_condition_expression("collar_id = :c AND ts > :t")
        .expression_attribute_values(":c", s(collar))
        .expression_attribute_values(":t", n(0))
        .limit(100)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    let reading_b = reading.iter().map(item_size).sum::<usize>() / reading.len().max(1);
    let records = ddb
        .query()
        .table_name(stack.env.required("TIMELINE_EVENTS_TABLE").unwrap())
        .key_condition_expression("collar_id = :c")
        .expression_attribute_values(":c", s(collar))
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    let full: Vec<&Item> = records.iter().filter(|i| i.contains_key("record")).collect();
    let record_b = full.iter().map(|i| item_size(i)).sum::<usize>() / full.len().max(1);
    let head_b =
        full.iter().map(|i| i.get("record").and_then(|r| r.as_s().ok()).map_or(0, |r| r.len() + 40)).sum::<usize>()
            / full.len().max(1);
    println!(
        "sizes: reading item {reading_b} B; day record item {record_b} B, of which the summary part {head_b} B ({} records)",
        full.len()
    );
    println!(
        "aims: finished day {day_p50:.0} ms (aim < 1000), plan {plan_p50:.0} ms (aim < 300), with {stored} readings stored"
    );
}
