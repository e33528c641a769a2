//! The timeline and pet plan end to end against moto: a simulated day ingested through the
//! data processor (duplicates and out-of-order delivery included), read back as episodes
//! identical to the pure computation, paginated, bounded, owned, and honest when storage fails.

use std::collections::HashSet;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use lambda_http::http::StatusCode;
use petty_behaviour::Thresholds;
use petty_behaviour::plan::{ActivitySummary, pet_plan};
use petty_behaviour::segment::{DAY_MS, build_days, day_floor, event_id, normalize};
use petty_behaviour::simulator::{profiles, score, simulate_day};
use petty_shared::api::format_ms;
use petty_shared::config::FromEnv;
use petty_shared::secrets::SecretsManagerSource;
use petty_tests::apps::{Apps, Header};
use petty_tests::{Reply, sdk};
use petty_timeline::{TimelineApp, TimelineConfig};
use serde_json::{Value, json};

/// The stage's handlers, with the timeline's GET as `get`.
struct World(Apps);

impl std::ops::Deref for World {
    type Target = Apps;
    fn deref(&self) -> &Apps {
        &self.0
    }
}

impl World {
    async fn get(&self, path: &str, who: &Header) -> Reply {
        self.0.timeline_get(path, who).await
    }
}

async fn world() -> World {
    World(Apps::seed().await)
}

fn cache(sdk: &aws_config::SdkConfig) -> std::sync::Arc<petty_shared::secrets::SecretCache<SecretsManagerSource>> {
    petty_tests::apps::eager_cache(sdk)
}

fn ids(page: &Value) -> Vec<String> {
    page["timeline"].as_array().unwrap().iter().map(|e| e["event_id"].as_str().unwrap().to_owned()).collect()
}

fn code(reply: &Reply) -> (StatusCode, String) {
    (reply.0, reply.1["error"]["code"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn a_simulated_day_reads_back_as_its_episodes() {
    let w = world().await;
    let ada = w.owner("ada@example.com").await;
    let collar = "TL-100001";
    let now = chrono::Utc::now().timestamp_millis();
    let yesterday = day_floor(now) - DAY_MS;
    let profile = &profiles()[0];
    let pet = json!({"name": "Biscuit", "species": "dog", "weight_kg": profile.weight_kg});
    w.claim_at(&ada, collar, pet, yesterday - DAY_MS).await;
    let collar_key = w.api_key(&ada, &["readings:write", "timeline:read"], &[collar]).await;

    let day = simulate_day(profile, 7, yesterday);
    let mut truth = day.delivered.clone();
    normalize(&mut truth);
    let accepted = w.ingest(&collar_key, collar, &day.delivered).await;
    assert_eq!(accepted as usize, truth.len(), "every distinct reading stored once, duplicates not counted");

    // What the pure computation says about the stored day.
    let expected = build_days(
        &truth,
        yesterday,
        yesterday + DAY_MS,
        85.0,
        &Thresholds::default(),
        &petty_behaviour::Calendar::UTC,
    );
    let expected_ids: Vec<String> =
        expected[0].0.episodes.iter().map(|e| event_id(collar, e.behavior, e.start_ms)).collect();
    let window = format!("collar_id={collar}&from={}&to={}", format_ms(yesterday), format_ms(yesterday + DAY_MS));

    let (status, full, _) = w.get(&format!("/v1/pet-timeline?{window}&limit=500"), &ada).await;
    assert_eq!(status, StatusCode::OK, "{full}");
    assert_eq!(ids(&full), expected_ids, "the stored day gives exactly the pure computation's episodes");
    assert_eq!(full["metadata"]["data_points"], truth.len());
    assert_eq!(full["metadata"]["model_version"], petty_behaviour::MODEL_VERSION);
    assert!(full["next_cursor"].is_null());
    let first = &full["timeline"][0];
    for field in ["event_id", "timestamp", "behavior", "confidence", "metadata", "start", "end", "duration_s", "stats"]
    {
        assert!(!first[field].is_null(), "{field} missing in {first}");
    }
    let scores = score(&day.labels, &expected[0].0.episodes);
    let (found, labelled): (u32, u32) = scores.values().fold((0, 0), |a, s| (a.0 + s.labelled_found, a.1 + s.labelled));
    assert!(f64::from(found) / f64::from(labelled) >= 0.9, "{scores:?}");

    // Same readings, same ids; an API key with timeline:read for this collar reads it too.
    let (_, again, _) = w.get(&format!("/v1/pet-timeline?{window}&limit=500"), &collar_key).await;
    assert_eq!(ids(&again), expected_ids);

    // Pages of 8 (each page a fresh read: moto serves ~1,000 readings/s): every event
    // exactly once, in order.
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    let mut first_cursor = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/pet-timeline?{window}&limit=8&cursor={c}"),
            None => format!("/v1/pet-timeline?{window}&limit=8"),
        };
        let (status, page, _) = w.get(&path, &ada).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(ids(&page).len() <= 8);
        first_cursor = first_cursor.or(page["next_cursor"].as_str().map(str::to_owned));
        paged.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(paged, expected_ids, "pagination loses and repeats nothing");
    assert_eq!(paged.iter().collect::<HashSet<_>>().len(), paged.len());

    // A narrower window: the episodes overlapping it, with the same ids as the whole day.
    let (from, to) = (yesterday + 10 * 3_600_000, yesterday + 12 * 3_600_000);
    let path = format!("/v1/pet-timeline?collar_id={collar}&from={}&to={}", format_ms(from), format_ms(to));
    let (_, part, _) = w.get(&path, &ada).await;
    let want: Vec<String> = expected[0]
        .0
        .episodes
        .iter()
        .filter(|e| e.end_ms > from && e.start_ms < to)
        .map(|e| event_id(collar, e.behavior, e.start_ms))
        .collect();
    assert!(!want.is_empty());
    assert_eq!(ids(&part), want);

    // A cursor is bound to its window.
    let other = w.get(&format!("{path}&cursor={}", first_cursor.expect("the day spans several pages")), &ada).await;
    assert_eq!(code(&other), (StatusCode::BAD_REQUEST, "invalid_cursor".into()));

    // The day before has no readings: one honest gap, nothing invented.
    let before = yesterday - DAY_MS;
    let path = format!(
        "/v1/pet-timeline?collar_id={collar}&from={}&to={}",
        format_ms(before + 3_600_000),
        format_ms(before + 5 * 3_600_000)
    );
    let (status, empty, _) = w.get(&path, &ada).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(empty["metadata"]["data_points"], 0);
    let gaps = empty["timeline"].as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{empty}");
    assert_eq!((gaps[0]["behavior"].as_str(), gaps[0]["start"].as_str()), (Some("no_data"), Some(&*format_ms(before))));

    // The pet plan uses the same week of episodes.
    let (status, plan, _) = w.get(&format!("/v1/pet-plan?collar_id={collar}"), &ada).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    let plan_from = chrono::DateTime::parse_from_rfc3339(plan["metadata"]["window"]["from"].as_str().unwrap())
        .unwrap()
        .timestamp_millis();
    let plan_to = chrono::DateTime::parse_from_rfc3339(plan["metadata"]["window"]["to"].as_str().unwrap())
        .unwrap()
        .timestamp_millis();
    assert_eq!(plan_from, before, "the plan starts at the claim, not 7 days back");
    let week = build_days(&truth, plan_from, plan_to, 85.0, &Thresholds::default(), &petty_behaviour::Calendar::UTC);
    let summary = ActivitySummary::from_episodes(week.iter().flat_map(|d| d.0.episodes.iter()), plan_from, plan_to);
    let pet: petty_shared::collar::Pet =
        serde_json::from_value(json!({"name": "Biscuit", "species": "dog", "weight_kg": profile.weight_kg})).unwrap();
    let want = pet_plan(&pet, chrono::Utc::now().date_naive(), &summary);
    assert_eq!(plan["daily_goals"], json!(want.daily_goals));
    assert_eq!(plan["nutrition_plan"], json!(want.nutrition_plan));
    assert_eq!(plan["health_recommendations"], json!(want.health_recommendations));
    assert!(plan["daily_goals"]["active_minutes"]["measured_avg"].as_f64().unwrap() > 30.0, "{plan}");
    assert_eq!(plan["nutrition_plan"]["resting_energy_requirement"]["value"], (70.0 * 18f64.powf(0.75)).round());
}

#[tokio::test]
async fn windows_limits_and_ownership_are_enforced() {
    let w = world().await;
    let ada = w.owner("ada@example.com").await;
    let bob = w.owner("bob@example.com").await;
    let now = chrono::Utc::now().timestamp_millis();
    let pet = json!({"name": "Rex", "species": "dog", "weight_kg": 30.0});
    w.claim_at(&ada, "TL-200001", pet.clone(), now - 3 * DAY_MS).await;
    w.claim_at(&ada, "TL-200002", pet, now - 3 * DAY_MS).await;
    let base = "/v1/pet-timeline?collar_id=TL-200001";

    // A default window: the last 24 h, all gap.
    let (status, body, _) = w.get(base, &ada).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let window = &body["metadata"]["window"];
    let (from, to) = (window["from"].as_str().unwrap(), window["to"].as_str().unwrap());
    let span = chrono::DateTime::parse_from_rfc3339(to).unwrap() - chrono::DateTime::parse_from_rfc3339(from).unwrap();
    assert_eq!(span.num_hours(), 24);
    assert!(body["timeline"].as_array().unwrap().iter().all(|e| e["behavior"] == "no_data"), "{body}");

    // A default window moves with the clock, and its pages still follow one another.
    // (Today's gap exists once today is longer than the 5-minute gap threshold.)
    if now - day_floor(now) > 6 * 60_000 {
        let (_, first, _) = w.get(&format!("{base}&limit=1"), &ada).await;
        let cursor = first["next_cursor"].as_str().expect("yesterday's gap and today's: two events");
        let (status, second, _) = w.get(&format!("{base}&limit=1&cursor={cursor}"), &ada).await;
        assert_eq!(status, StatusCode::OK, "{second}");
        assert_ne!(ids(&first), ids(&second));
    }

    let t = |ms: i64| format_ms(ms);
    for (query, want) in [
        (format!("&from={}&to={}", t(now - 7 * DAY_MS), t(now)), StatusCode::OK),
        (format!("&from={}&to={}", t(now - 7 * DAY_MS - 1), t(now)), StatusCode::BAD_REQUEST),
        (format!("&from={}&to={}", t(now), t(now)), StatusCode::BAD_REQUEST),
        (format!("&from={}&to={}", t(now), t(now - 1000)), StatusCode::BAD_REQUEST),
        ("&from=yesterday".to_owned(), StatusCode::BAD_REQUEST),
        ("&to=2025-13-01T00:00:00Z".to_owned(), StatusCode::BAD_REQUEST),
        ("&limit=0".to_owned(), StatusCode::BAD_REQUEST),
        ("&limit=501".to_owned(), StatusCode::BAD_REQUEST),
        ("&limit=500".to_owned(), StatusCode::OK),
        ("&limit=1".to_owned(), StatusCode::OK),
        ("&cursor=v1.bogus.cursor".to_owned(), StatusCode::BAD_REQUEST),
    ] {
        let (status, body, _) = w.get(&format!("{base}{query}"), &ada).await;
        assert_eq!(status, want, "{query}: {body}");
        if want == StatusCode::BAD_REQUEST {
            assert!(body["request_id"].is_string(), "{body}");
        }
    }
    assert_eq!(code(&w.get("/v1/pet-timeline", &ada).await), (StatusCode::BAD_REQUEST, "missing_collar_id".into()));

    // Another owner's collar is exactly a missing collar, on both routes.
    for path in ["/v1/pet-timeline?collar_id=", "/v1/pet-plan?collar_id="] {
        let theirs = w.get(&format!("{path}TL-200001"), &bob).await;
        let missing = w.get(&format!("{path}ZZ-999999"), &bob).await;
        let malformed = w.get(&format!("{path}../etc"), &bob).await;
        assert_eq!(theirs.0, StatusCode::NOT_FOUND);
        assert_eq!(theirs.1["error"]["code"], missing.1["error"]["code"]);
        assert_eq!(theirs.1["error"]["message"], missing.1["error"]["message"]);
        assert_eq!(malformed.0, StatusCode::NOT_FOUND);
    }
    // Credentials: none is 401; a key for another collar 403; a key without the scope 403.
    let anonymous = ("x-ignored", String::new());
    assert_eq!(w.get(base, &anonymous).await.0, StatusCode::UNAUTHORIZED);
    let other_collar = w.api_key(&ada, &["timeline:read"], &["TL-200002"]).await;
    assert_eq!(w.get(base, &other_collar).await.0, StatusCode::FORBIDDEN);
    let no_scope = w.api_key(&ada, &["readings:read"], &["TL-200001"]).await;
    assert_eq!(w.get(base, &no_scope).await.0, StatusCode::FORBIDDEN);
    let reader = w.api_key(&ada, &["timeline:read"], &["TL-200001"]).await;
    assert_eq!(w.get(base, &reader).await.0, StatusCode::OK);
    let (status, _, _) =
        petty_tests::call(&w.http, &w.timeline, "POST", "/v1/pet-timeline", &[(ada.0, &ada.1)], Some("{}")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

/// Sends every DynamoDB `Query` to a closed port: the readings read fails, nothing else.
#[derive(Debug)]
struct QueriesFail;

impl Intercept for QueriesFail {
    fn name(&self) -> &'static str {
        "QueriesFail"
    }

    fn modify_before_signing(
        &self,
        ctx: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = ctx.request_mut();
        if req.headers().get("x-amz-target") == Some("DynamoDB_20120810.Query") {
            req.set_uri("http://127.0.0.1:9/")?;
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_failed_readings_query_is_a_503_not_made_up_data() {
    let w = world().await;
    let ada = w.owner("ada@example.com").await;
    let now = chrono::Utc::now().timestamp_millis();
    w.claim_at(&ada, "TL-300001", json!({"name": "Rex", "species": "dog", "weight_kg": 30.0}), now - DAY_MS).await;
    let sdk = sdk().await;
    let ddb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk).interceptor(QueriesFail).build(),
    );
    let broken = TimelineApp::new(&TimelineConfig::from_env(&w.env).unwrap(), ddb, cache(&sdk));
    for path in ["/v1/pet-timeline?collar_id=TL-300001", "/v1/pet-plan?collar_id=TL-300001"] {
        let (status, body, resp) = petty_tests::call(&w.http, &broken, "GET", path, &[(ada.0, &ada.1)], None).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {body}");
        assert!(body.get("timeline").is_none() && body.get("daily_goals").is_none(), "{body}");
        assert!(resp.headers().contains_key("retry-after"));
        assert!(body["request_id"].is_string(), "{body}");
    }
    // The healthy function answers the same request.
    assert_eq!(w.get("/v1/pet-timeline?collar_id=TL-300001", &ada).await.0, StatusCode::OK);
}

/// `minutes` of readings every 10 s from `start_ms`: resting, or walking away (~1.3 m/s).
fn stretch(start_ms: i64, minutes: i64, walking: bool) -> Vec<petty_behaviour::Sample> {
    (0..minutes * 6)
        .map(|i| petty_behaviour::Sample {
            ts_ms: start_ms + i * 10_000,
            heart_rate: if walking { 105 } else { 80 },
            activity: u8::from(walking),
            lat: 52.5 + if walking { 0.000_117 * i as f64 } else { 0.0 },
            lon: 13.4,
        })
        .collect()
}

/// `read_at` and `stale_at` of a collar's stored day (the timeline-events table, as stored).
async fn stored_day(w: &World, collar: &str, day: i64) -> (Option<i64>, Option<i64>) {
    let table = w.env.required("TIMELINE_EVENTS_TABLE").unwrap();
    let item = petty_shared::aws::dynamodb(&sdk().await)
        .get_item()
        .table_name(table)
        .key("collar_id", petty_shared::dynamo::s(collar))
        .key("day", petty_shared::dynamo::n(day))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap_or_default();
    (petty_shared::dynamo::get_n(&item, "read_at"), petty_shared::dynamo::get_n(&item, "stale_at"))
}

#[tokio::test]
async fn finished_days_are_stored_once_and_a_late_reading_recomputes_exactly_its_day() {
    let w = world().await;
    let collar = "TL-400001";
    let ada = w.owner("ada-days@example.com").await;
    let yesterday = day_floor(chrono::Utc::now().timestamp_millis()) - DAY_MS;
    let eve = yesterday - DAY_MS;
    let pet = json!({"name": "Biscuit", "species": "dog", "weight_kg": 18.0});
    w.claim_at(&ada, collar, pet, eve - DAY_MS + 6 * 3_600_000).await;
    let key = w.api_key(&ada, &["readings:write", "timeline:read"], &[collar]).await;
    let mut two_days = stretch(eve + 8 * 3_600_000, 60, false);
    two_days.extend(stretch(yesterday + 8 * 3_600_000, 60, false));
    two_days.extend(stretch(yesterday + 9 * 3_600_000, 30, true));
    assert_eq!(w.ingest(&key, collar, &two_days).await, two_days.len() as u64);

    let path = format!(
        "/v1/pet-timeline?collar_id={collar}&from={}&to={}&limit=500",
        format_ms(eve),
        format_ms(yesterday + DAY_MS)
    );
    let (status, before, _) = w.get(&path, &ada).await;
    assert_eq!(status, StatusCode::OK, "{before}");
    let (eve_read, none) = stored_day(&w, collar, eve).await;
    let (yday_read, _) = stored_day(&w, collar, yesterday).await;
    assert!(eve_read.is_some() && yday_read.is_some() && none.is_none(), "both finished days stored");
    // Read again: served from the records (nothing recomputed).
    let (_, again, _) = w.get(&path, &ada).await;
    assert_eq!(again["timeline"], before["timeline"]);
    assert_eq!(stored_day(&w, collar, eve).await.0, eve_read);

    // A late half-hour walk on the eve: the data processor marks exactly that day.
    let late = stretch(eve + 15 * 3_600_000, 30, true);
    assert_eq!(w.ingest(&key, collar, &late).await, late.len() as u64);
    let (_, stale_at) = stored_day(&w, collar, eve).await;
    assert!(stale_at.is_some_and(|s| s >= eve_read.unwrap()), "the eve is marked stale");
    assert_eq!(stored_day(&w, collar, yesterday).await.1, None, "yesterday is not");
    let (_, after, _) = w.get(&path, &ada).await;
    assert!(stored_day(&w, collar, eve).await.0 > eve_read, "the eve computed again");
    assert_eq!(stored_day(&w, collar, yesterday).await.0, yday_read, "yesterday served from its record");
    let on = |v: &Value, day: i64| -> Vec<String> {
        ids(v)
            .into_iter()
            .filter(|id| {
                id.split('.').nth(1).and_then(|s| s.parse::<i64>().ok()).is_some_and(|s| s >= day && s < day + DAY_MS)
            })
            .collect()
    };
    assert_eq!(on(&after, yesterday), on(&before, yesterday), "yesterday's ids unchanged");
    assert!(
        on(&after, eve).iter().any(|id| id.ends_with(".walk"))
            && !on(&before, eve).iter().any(|id| id.ends_with(".walk"))
    );
    // A resend of the same late readings is all duplicates, and marks the eve again.
    assert_eq!(w.ingest(&key, collar, &late).await, 0);
    assert!(stored_day(&w, collar, eve).await.1 > stale_at);

    // The summary: a row per day from the claim's day to today, the eve's walk counted.
    let today = chrono::DateTime::from_timestamp_millis(yesterday + DAY_MS).unwrap().date_naive();
    let from = today - chrono::Days::new(3);
    let (status, summary, _) = w.get(&format!("/v1/pet-summary?collar_id={collar}&from={from}&to={today}"), &ada).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    let days = summary["days"].as_array().unwrap();
    assert_eq!(days.iter().map(|d| d["date"].as_str().unwrap().to_owned()).collect::<Vec<_>>().len(), 4);
    let eve_row = &days[1];
    assert_eq!(eve_row["readings"].as_u64(), Some(360 + 180), "{eve_row}");
    assert!((eve_row["active_minutes"].as_f64().unwrap() - 30.0).abs() <= 1.0, "{eve_row}");
    assert_eq!((days[2]["readings"].as_u64(), days[2]["complete"].as_bool()), (Some(360 + 180), Some(true)));
    assert_eq!(days[0]["complete"], false, "the claim's day is cut by the claim");
    let (status, too_long, _) = w
        .get(&format!("/v1/pet-summary?collar_id={collar}&from={}&to={today}", today - chrono::Days::new(366)), &ada)
        .await;
    assert_eq!((status, too_long["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("window_too_long")));
}
