//! Timeline numbers (never pass/fail), run by `make bench`:
//! - handler CPU to build 7 days of 10-second readings (60,480 points) into episodes, and to
//!   serialise them as the response would;
//! - `GET /v1/pet-timeline` for one simulated day against moto (p50), through the pipeline;
//! - `POST /v1/submit-feedback` against moto (p50): ownership, the event check, the write of
//!   the verdict and its history, and the pet's recalibration.

use std::time::{Duration, Instant};

use petty_behaviour::model::typical_resting_bpm;
use petty_behaviour::segment::{DAY_MS, build_days, day_floor, normalize};
use petty_behaviour::simulator::{profiles, reading_json, simulate_day};
use petty_behaviour::{Sample, Thresholds};
use petty_shared::HttpService;
use petty_shared::api::format_ms;
use petty_shared::collar::Species;
use petty_shared::config::FromEnv;
use petty_shared::dynamo::{n, s};
use petty_shared::jwt::{Signer, TokenType};
use petty_shared::secrets::{CacheSettings, SecretSource, SecretsManagerSource};
use petty_tests::{Stack, sdk, secret_cache};
use petty_timeline::{TimelineApp, TimelineConfig};
use serde_json::json;

const WEEK_POINTS: usize = 7 * 8640;

/// Seven simulated days with every 10-second slot filled (a lost reading is replaced by the
/// one before it), so the input is exactly 60,480 points.
fn dense_week(start_ms: i64) -> Vec<Sample> {
    let mut profile = profiles()[0].clone();
    profile.collar_off_chance = 0.0;
    let mut out = Vec::with_capacity(WEEK_POINTS);
    for d in 0..7 {
        let day_start = start_ms + d * DAY_MS;
        let mut day = simulate_day(&profile, 100 + d as u64, day_start).delivered;
        normalize(&mut day);
        let mut next = 0;
        for slot in 0..8640 {
            let ts = day_start + slot * 10_000;
            while next + 1 < day.len() && day[next + 1].ts_ms <= ts + 9_999 {
                next += 1;
            }
            out.push(Sample { ts_ms: ts, ..day[next] });
        }
    }
    out
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn compute_bench() {
    let start = day_floor(chrono::Utc::now().timestamp_millis()) - 8 * DAY_MS;
    let week = dense_week(start);
    assert_eq!(week.len(), WEEK_POINTS);
    let t = Thresholds::default();
    let fallback = typical_resting_bpm(Species::Dog, 18.0);
    let (mut build, mut total) = (Vec::new(), Vec::new());
    let mut episodes = 0;
    for _ in 0..30 {
        let started = Instant::now();
        let days = build_days(&week, start, start + 7 * DAY_MS, fallback, &t, &petty_behaviour::Calendar::UTC);
        build.push(started.elapsed().as_secs_f64() * 1000.0);
        let events: Vec<_> = days
            .iter()
            .flat_map(|(d, _, _)| d.episodes.iter())
            .map(|e| json!({"behavior": e.behavior, "start": format_ms(e.start_ms), "end": format_ms(e.end_ms), "stats": e.stats}))
            .collect();
        episodes = events.len();
        std::hint::black_box(serde_json::to_vec(&events).unwrap());
        total.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    build.sort_by(f64::total_cmp);
    total.sort_by(f64::total_cmp);
    println!(
        "timeline of 7 days x 10 s ({} points, {episodes} episodes): build p50 {:.1} ms (min {:.1}), build + JSON p50 {:.1} ms, on one core",
        week.len(),
        percentile(&build, 0.5),
        build[0],
        percentile(&total, 0.5),
    );
}

async fn moto_bench() {
    let stack = Stack::seed(&[]);
    let sdk = sdk().await;
    let cache = || {
        secret_cache(
            petty_shared::aws::secrets_manager(&sdk),
            CacheSettings { min_refresh_interval: Duration::ZERO, ..CacheSettings::default() },
        )
    };
    let ddb = petty_shared::aws::dynamodb(&sdk);
    let cfg = TimelineConfig::from_env(&stack.env).unwrap();
    let source = SecretsManagerSource::new(petty_shared::aws::secrets_manager(&sdk));
    let signing = source.fetch(&stack.env.required("SIGNING_KEYS_SECRET_ID").unwrap()).await.unwrap();
    let owner = format!("bench-{}", uuid::Uuid::new_v4().simple());
    let mut claims =
        petty_tests::claims(&owner, &["readings:write", "timeline:read", "feedback:write"], TokenType::Access);
    (claims.iss, claims.aud) = (cfg.common.jwt_issuer.clone(), cfg.common.jwt_audience.clone());
    let token = Signer::from_json(signing.expose()).unwrap().sign(&claims).unwrap();
    let collar = "BT-000001";
    let yesterday = day_floor(chrono::Utc::now().timestamp_millis()) - DAY_MS;
    let pet = json!({"name": "Biscuit", "species": "dog", "weight_kg": 18.0}).to_string();
    ddb.put_item()
        .table_name(stack.env.required("COLLARS_TABLE").unwrap())
        .item("collar_id", s(collar))
        .item("owner_id", s(&owner))
        .item("pet", s(pet))
        .item("created_at", n(yesterday / 1000 - 86_400))
        .item("updated_at", n(yesterday / 1000))
        .send()
        .await
        .unwrap();
    let data = petty_data_processor::DataApp::new(
        &petty_data_processor::DataConfig::from_env(&stack.env).unwrap(),
        ddb.clone(),
        cache(),
    );
    let http = HttpService::new("bench").with_emf_sink(std::sync::Arc::new(|_: &[u8]| {}));
    let auth = ("authorization", format!("Bearer {token}"));
    let day = simulate_day(&profiles()[0], 7, yesterday);
    for chunk in day.delivered.chunks(500) {
        let body = json!({"readings": chunk.iter().map(|r| reading_json(collar, r)).collect::<Vec<_>>()});
        let (status, reply, _) =
            petty_tests::call(&http, &data, "POST", "/v1/ingest", &[(auth.0, &auth.1)], Some(&body.to_string())).await;
        assert_eq!(status, 200, "{reply}");
    }
    let timeline = TimelineApp::new(&cfg, ddb, cache());
    let path = format!(
        "/v1/pet-timeline?collar_id={collar}&from={}&to={}&limit=500",
        format_ms(yesterday),
        format_ms(yesterday + DAY_MS)
    );
    let mut latencies = Vec::new();
    let mut points = 0;
    let mut event_id = String::new();
    for _ in 0..5 {
        let started = Instant::now();
        let (status, body, _) = petty_tests::call(&http, &timeline, "GET", &path, &[(auth.0, &auth.1)], None).await;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 200, "{body}");
        points = body["metadata"]["data_points"].as_u64().unwrap();
        event_id = body["timeline"][3]["event_id"].as_str().unwrap().to_owned();
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "GET /v1/pet-timeline for one day ({points} readings) against moto: p50 {:.0} ms, max {:.0} ms over {} calls",
        percentile(&latencies, 0.5),
        latencies[latencies.len() - 1],
        latencies.len()
    );

    let feedback = petty_feedback::FeedbackApp::new(
        &petty_feedback::FeedbackConfig::from_env(&stack.env).unwrap(),
        petty_shared::aws::dynamodb(&sdk),
        cache(),
    );
    let mut submits = Vec::new();
    for i in 0..30 {
        let verdict = if i % 2 == 0 {
            json!({"event_id": event_id, "user_feedback": "correct"})
        } else {
            json!({"event_id": event_id, "user_feedback": "incorrect", "corrected_behavior": "play", "comment": "bench"})
        };
        let started = Instant::now();
        let (status, body, _) = petty_tests::call(
            &http,
            &feedback,
            "POST",
            "/v1/submit-feedback",
            &[(auth.0, &auth.1)],
            Some(&verdict.to_string()),
        )
        .await;
        submits.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 201, "{body}");
    }
    submits.sort_by(f64::total_cmp);
    println!(
        "POST /v1/submit-feedback against moto: p50 {:.0} ms, p99 {:.0} ms over {} calls",
        percentile(&submits, 0.5),
        percentile(&submits, 0.99),
        submits.len()
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    compute_bench();
    if std::env::var("AWS_ENDPOINT_URL").is_ok() && std::env::var("PETTY_PYTHON").is_ok() {
        moto_bench().await;
    } else {
        println!("timeline against moto: skipped (run `make bench`)");
    }
}
