//! The timeline's rules over in-memory stores (no AWS): the stored day is exactly the pure
//! computation's episodes, pages add up to it, the event index is published for feedback, the
//! caller's verdicts are attached, and nothing before the claim or of another owner shows.

use std::collections::BTreeSet;

use lambda_http::http::StatusCode;
use petty_behaviour::segment::{DAY_MS, build_days, day_floor, event_id, normalize};
use petty_behaviour::simulator::{profiles, simulate_day};
use petty_shared::api::format_ms;
use petty_shared::reading::{Activity, Reading};
use petty_shared::tables::collars::Collar;
use petty_shared::tables::feedback::FeedbackRecord;
use petty_shared::testing::{
    MemoryApiKeys, MemoryAudit, MemoryCollars, MemoryEventIndex, MemoryFeedback, MemoryReadings, MemorySecrets, Tokens,
    call, edge,
};
use serde_json::Value;

use super::*;

type App = TimelineApp<
    MemorySecrets,
    MemoryCollars,
    MemoryReadings,
    MemoryFeedback,
    MemoryEventIndex,
    MemoryApiKeys,
    MemoryAudit,
>;

const COLLAR: &str = "TL-100001";

/// The app with one collar of `ada`'s, claimed at `claimed_ms`, holding yesterday's
/// simulated day; returns yesterday's midnight and the day's distinct samples.
fn app(claimed_ms: i64) -> (App, Tokens, i64, Vec<petty_behaviour::Sample>) {
    app_in(claimed_ms, None)
}

/// [`app`] with the pet's time zone set.
fn app_in(claimed_ms: i64, timezone: Option<&str>) -> (App, Tokens, i64, Vec<petty_behaviour::Sample>) {
    let (edge, tokens) = edge();
    let yesterday = day_floor(chrono::Utc::now().timestamp_millis()) - DAY_MS;
    let profile = &profiles()[0];
    let collars = MemoryCollars::default();
    let pet = serde_json::from_value(
        serde_json::json!({"name": "Biscuit", "species": "dog", "weight_kg": profile.weight_kg, "timezone": timezone}),
    )
    .unwrap();
    let claimed_s = claimed_ms / 1000;
    let collar = Collar {
        collar_id: COLLAR.into(),
        owner_id: "ada".into(),
        pet,
        created_at: claimed_s,
        updated_at: claimed_s,
        visible_from: claimed_s * 1000,
        household: "h1".into(),
    };
    collars.insert_owned(collar);
    let readings = MemoryReadings::default();
    let mut day = simulate_day(profile, 7, yesterday).delivered;
    normalize(&mut day);
    for s in &day {
        let activity = [Activity::Rest, Activity::Walk, Activity::Play][usize::from(s.activity)];
        let r = Reading {
            collar_id: COLLAR.into(),
            timestamp_ms: s.ts_ms,
            heart_rate: s.heart_rate,
            activity_level: activity,
            lon: s.lon,
            lat: s.lat,
            temperature_c: None,
            battery_pct: None,
            accuracy_m: None,
            firmware: None,
        };
        readings.stored.lock().unwrap().insert((COLLAR.into(), s.ts_ms), r);
    }
    let app = TimelineApp::with_stores(edge, collars, readings, MemoryFeedback::default(), MemoryEventIndex::default());
    (app, tokens, yesterday, day)
}

fn ids(body: &Value) -> Vec<String> {
    body["timeline"].as_array().unwrap().iter().map(|e| e["event_id"].as_str().unwrap().to_owned()).collect()
}

fn window(from: i64, to: i64) -> String {
    format!("collar_id={COLLAR}&from={}&to={}", format_ms(from), format_ms(to))
}

#[tokio::test]
async fn the_stored_day_is_the_pure_computations_episodes_and_is_published_for_feedback() {
    let (app, t, yesterday, day) = app(0);
    let ada = t.bearer("ada", &["timeline:read"]);
    let expected =
        build_days(&day, yesterday, yesterday + DAY_MS, 85.0, &Thresholds::default(), &petty_behaviour::Calendar::UTC);
    let expected_ids: Vec<String> =
        expected[0].0.episodes.iter().map(|e| event_id(COLLAR, e.behavior, e.start_ms)).collect();
    let path = format!("/v1/pet-timeline?{}&limit=500", window(yesterday, yesterday + DAY_MS));
    let (status, body) = call(&app, "GET", &path, Some(&ada), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ids(&body), expected_ids);
    assert_eq!(body["metadata"]["data_points"], day.len());
    let shown = app.shown.0.lock().unwrap().get(&(COLLAR.to_owned(), yesterday)).cloned().unwrap();
    let shown_ids: Vec<String> = shown.iter().map(|e| event_id(COLLAR, e.behavior, e.start_ms)).collect();
    assert_eq!(shown_ids, expected_ids, "the event index holds what the owner was shown");
}

#[tokio::test]
async fn a_day_is_the_pets_local_day_and_its_window_is_said_in_utc() {
    let (app, t, yesterday, day) = app_in(0, Some("Asia/Tokyo"));
    let ada = t.bearer("ada", &["timeline:read"]);
    let tokyo = petty_behaviour::Calendar::new("Asia/Tokyo".parse().unwrap());
    // Noon UTC yesterday is 21:00 in Tokyo: that local day runs 15:00Z to 15:00Z.
    let date = tokyo.date_of(yesterday + DAY_MS / 2);
    let (from, to) = (yesterday - 9 * 3_600_000, yesterday + 15 * 3_600_000);
    assert_eq!(tokyo.window(date), (from, to));
    let (status, body) =
        call(&app, "GET", &format!("/v1/pet-timeline?collar_id={COLLAR}&day={date}&limit=500"), Some(&ada), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["metadata"]["window"], serde_json::json!({"from": format_ms(from), "to": format_ms(to)}));
    let expected = build_days(&day, from, to, 85.0, &Thresholds::default(), &tokyo);
    assert_eq!(expected.len(), 1);
    let expected_ids: Vec<String> =
        expected[0].0.episodes.iter().map(|e| event_id(COLLAR, e.behavior, e.start_ms)).collect();
    assert_eq!(ids(&body), expected_ids);
    assert_eq!(body["metadata"]["data_points"], day.iter().filter(|s| s.ts_ms >= from && s.ts_ms < to).count());
    // The day starts a new episode at local midnight (15:00Z), not at UTC midnight.
    let starts: Vec<i64> = expected[0].0.episodes.iter().map(|e| e.start_ms).collect();
    assert!(starts.contains(&from) && !starts.contains(&yesterday), "{starts:?}");
    // Published under the local day's start, where the feedback function looks.
    assert!(app.shown.0.lock().unwrap().contains_key(&(COLLAR.to_owned(), from)));
    // The same window asked with from/to gives the same events.
    let (_, same) =
        call(&app, "GET", &format!("/v1/pet-timeline?{}&limit=500", window(from, to)), Some(&ada), None).await;
    assert_eq!(ids(&same), expected_ids);
}

#[tokio::test]
async fn a_day_must_be_a_date_and_alone() {
    let (app, t, _, _) = app(0);
    let ada = t.bearer("ada", &["timeline:read"]);
    for (query, code) in [
        ("day=2026-13-01", "invalid_day"),
        ("day=20261121", "invalid_day"),
        ("day=2026-11-21T00:00:00Z", "invalid_day"),
        ("day=2026-11-21&from=2026-11-21T00:00:00Z", "invalid_window"),
        ("day=2026-11-21&to=2026-11-22T00:00:00Z", "invalid_window"),
    ] {
        let (status, body) =
            call(&app, "GET", &format!("/v1/pet-timeline?collar_id={COLLAR}&{query}"), Some(&ada), None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some(code)), "{query}");
    }
}

#[tokio::test]
async fn pages_add_up_to_the_whole_day_without_repeats() {
    let (app, t, yesterday, _) = app(0);
    let ada = t.bearer("ada", &["timeline:read"]);
    let base = format!("/v1/pet-timeline?{}", window(yesterday, yesterday + DAY_MS));
    let (_, full) = call(&app, "GET", &format!("{base}&limit=500"), Some(&ada), None).await;
    let (mut paged, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let path = match &cursor {
            None => format!("{base}&limit=8"),
            Some(c) => format!("{base}&limit=8&cursor={c}"),
        };
        let (status, page) = call(&app, "GET", &path, Some(&ada), None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        paged.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(paged, ids(&full));
    assert_eq!(paged.iter().collect::<BTreeSet<_>>().len(), paged.len());
}

#[tokio::test]
async fn readings_before_the_claim_and_another_owners_collar_stay_unseen() {
    let noon = day_floor(chrono::Utc::now().timestamp_millis()) - DAY_MS / 2;
    let (app, t, yesterday, day) = app(noon);
    let ada = t.bearer("ada", &["timeline:read"]);
    let path = format!("/v1/pet-timeline?{}&limit=500", window(yesterday, yesterday + DAY_MS));
    let (_, body) = call(&app, "GET", &path, Some(&ada), None).await;
    let visible_from = noon;
    assert_eq!(body["metadata"]["data_points"], day.iter().filter(|s| s.ts_ms >= visible_from).count());
    for e in body["timeline"].as_array().unwrap() {
        let end = chrono::DateTime::parse_from_rfc3339(e["end"].as_str().unwrap()).unwrap().timestamp_millis();
        assert!(end > visible_from, "an episode before the claim: {e}");
    }
    let bob = t.bearer("bob", &["timeline:read"]);
    let (status, theirs) = call(&app, "GET", &path, Some(&bob), None).await;
    let (_, unknown) = call(&app, "GET", &path.replace(COLLAR, "ZZ-999999"), Some(&bob), None).await;
    assert_eq!((status, &theirs["error"]), (StatusCode::NOT_FOUND, &unknown["error"]));
}

#[tokio::test]
async fn the_callers_own_verdict_is_attached_to_its_event_and_nobody_elses() {
    let (app, t, yesterday, _) = app(0);
    let path = format!("/v1/pet-timeline?{}&limit=500", window(yesterday, yesterday + DAY_MS));
    let ada = t.bearer("ada", &["timeline:read"]);
    let (_, body) = call(&app, "GET", &path, Some(&ada), None).await;
    let first = &body["timeline"][0];
    let start = chrono::DateTime::parse_from_rfc3339(first["start"].as_str().unwrap()).unwrap().timestamp_millis();
    let behavior = petty_behaviour::Behavior::parse(first["behavior"].as_str().unwrap()).unwrap();
    for (user, correct) in [("ada", false), ("carol", true)] {
        let v = FeedbackRecord {
            feedback_id: format!("f-{user}"),
            event_id: first["event_id"].as_str().unwrap().into(),
            event_start: start,
            event_end: start + 60_000,
            behavior,
            user_id: user.into(),
            correct,
            corrected: (!correct).then_some(petty_behaviour::Behavior::Play),
            comment: None,
            client_timestamp_ms: None,
            submitted_at: start,
            revisions: 1,
        };
        app.feedback.current.lock().unwrap().insert((COLLAR.into(), start, behavior.to_string(), user.into()), v);
    }
    let (_, body) = call(&app, "GET", &path, Some(&ada), None).await;
    assert_eq!(body["timeline"][0]["feedback"]["user_feedback"], "incorrect", "ada's, not carol's");
    assert!(body["timeline"][1]["feedback"].is_null());
}

#[tokio::test]
async fn a_previous_owners_calibration_never_reaches_the_next_owner() {
    let noon = day_floor(chrono::Utc::now().timestamp_millis()) - DAY_MS / 2;
    let (app, t, yesterday, _) = app(noon);
    let moved = petty_behaviour::calibration::Calibration {
        elevated_ratio: Some(1.6),
        because: vec!["elevated_heart_rate->rest".into()],
        ..Default::default()
    };
    // The previous ownership (first owner: visible from 0) calibrated the pet.
    app.feedback.calibration.lock().unwrap().insert((COLLAR.into(), 0), moved.clone());
    let path = format!("/v1/pet-timeline?{}&limit=500", window(yesterday, yesterday + DAY_MS));
    let ada = t.bearer("ada", &["timeline:read"]);
    let (_, body) = call(&app, "GET", &path, Some(&ada), None).await;
    assert_eq!(body["metadata"]["calibrated_by"], serde_json::json!([]), "the new ownership starts from the defaults");
    // The current ownership's own calibration applies.
    let from = app.collars.collar(COLLAR).await.unwrap().unwrap().visible_from_ms();
    app.feedback.calibration.lock().unwrap().insert((COLLAR.into(), from), moved);
    let (_, body) = call(&app, "GET", &path, Some(&ada), None).await;
    assert_eq!(body["metadata"]["calibrated_by"], serde_json::json!(["elevated_heart_rate->rest"]));
}

/// Yesterday's whole day, asked by its bounds.
fn yesterdays(yesterday: i64) -> String {
    format!("/v1/pet-timeline?{}&limit=500", window(yesterday, yesterday + DAY_MS))
}

#[tokio::test]
async fn a_finished_day_is_computed_once_then_served_from_its_record() {
    let (app, t, yesterday, day) = app(0);
    let ada = t.bearer("ada", &["timeline:read"]);
    let (_, first) = call(&app, "GET", &yesterdays(yesterday), Some(&ada), None).await;
    let stored = app.shown.1.lock().unwrap().get(&(COLLAR.to_owned(), yesterday)).cloned().expect("a record");
    let record = stored.record.expect("with its episodes and summary");
    assert_eq!(record.episodes.len(), ids(&first).len());
    assert_eq!(record.summary.readings as usize, day.len());
    assert!(record.summary.complete);
    // Served from the record: the readings are not read again (gone, same answer).
    app.readings.stored.lock().unwrap().clear();
    let (_, again) = call(&app, "GET", &yesterdays(yesterday), Some(&ada), None).await;
    assert_eq!(ids(&again), ids(&first));
    assert_eq!(again["timeline"], first["timeline"], "the same events, stats and baselines");
    assert_eq!(again["metadata"]["data_points"], day.len());
}

fn read_at(app: &App, day: i64) -> Option<i64> {
    app.shown.1.lock().unwrap().get(&(COLLAR.to_owned(), day)).and_then(|d| d.read_at)
}

#[tokio::test]
async fn a_late_reading_recomputes_exactly_its_day_and_ids_stay_where_nothing_changed() {
    use petty_shared::stores::StaleDays;
    let (app, t, yesterday, _) = app(0);
    let ada = t.bearer("ada", &["timeline:read"]);
    let eve = yesterday - DAY_MS;
    let two_days = format!("/v1/pet-timeline?{}&limit=500", window(eve, yesterday + DAY_MS));
    let (_, before) = call(&app, "GET", &two_days, Some(&ada), None).await;
    let (eve_read, yday_read) = (read_at(&app, eve).unwrap(), read_at(&app, yesterday).unwrap());
    // A late half hour of walking lands on the eve (no readings until now): ingestion marks it.
    std::thread::sleep(std::time::Duration::from_millis(5));
    for i in 0..180 {
        let ts = eve + 12 * 3_600_000 + i * 10_000;
        let r = Reading {
            collar_id: COLLAR.into(),
            timestamp_ms: ts,
            heart_rate: 110,
            activity_level: Activity::Walk,
            lon: 13.4 + i as f64 * 0.000_02,
            lat: 52.5,
            temperature_c: None,
            battery_pct: None,
            accuracy_m: None,
            firmware: None,
        };
        app.readings.stored.lock().unwrap().insert((COLLAR.into(), ts), r);
    }
    app.shown.mark_stale(COLLAR, eve, chrono::Utc::now().timestamp_millis()).await.unwrap();
    // A computation that reads in the mark's own millisecond is not stored (it might have
    // missed the reading): the next millisecond's is.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let (_, after) = call(&app, "GET", &two_days, Some(&ada), None).await;
    let of_day = |v: &Value, day: i64| -> Vec<String> {
        let (from, to) = (format_ms(day), format_ms(day + DAY_MS));
        v["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["start"].as_str().unwrap() >= from.as_str() && e["start"].as_str().unwrap() < to.as_str())
            .map(|e| e["event_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(read_at(&app, eve).unwrap() > eve_read, "the eve was computed again");
    assert_eq!(read_at(&app, yesterday), Some(yday_read), "yesterday was not");
    assert_eq!(of_day(&after, yesterday), of_day(&before, yesterday), "its ids unchanged");
    assert!(of_day(&after, eve).iter().any(|id| id.ends_with(".walk")), "{after}");
    assert_eq!(of_day(&before, eve).len(), 1, "one gap before");
    // Marked again with nothing new (a resend): computed again, the same ids.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let again_read = read_at(&app, eve).unwrap();
    app.shown.mark_stale(COLLAR, eve, chrono::Utc::now().timestamp_millis()).await.unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let (_, again) = call(&app, "GET", &two_days, Some(&ada), None).await;
    assert!(read_at(&app, eve).unwrap() > again_read);
    assert_eq!(ids(&again), ids(&after));
}

#[tokio::test]
async fn a_new_calibration_recomputes_the_pets_days() {
    let (app, t, yesterday, _) = app(0);
    let ada = t.bearer("ada", &["timeline:read"]);
    call(&app, "GET", &yesterdays(yesterday), Some(&ada), None).await;
    let moved = petty_behaviour::calibration::Calibration {
        elevated_ratio: Some(1.6),
        because: vec!["elevated_heart_rate->rest".into()],
        ..Default::default()
    };
    app.feedback.calibration.lock().unwrap().insert((COLLAR.into(), 0), moved);
    let (_, body) = call(&app, "GET", &yesterdays(yesterday), Some(&ada), None).await;
    assert_eq!(body["metadata"]["calibrated_by"], serde_json::json!(["elevated_heart_rate->rest"]));
    let record = app.shown.1.lock().unwrap().get(&(COLLAR.to_owned(), yesterday)).cloned().unwrap().record.unwrap();
    assert!(record.calibration.contains("1.6"), "recomputed under the new calibration: {}", record.calibration);
}

#[tokio::test]
async fn the_summary_has_a_row_per_local_day_and_refuses_more_than_366() {
    let (app, t, yesterday, day) = app(0);
    let ada = t.bearer("ada", &["timeline:read"]);
    let today = chrono::DateTime::from_timestamp_millis(yesterday + DAY_MS).unwrap().date_naive();
    let from = today - chrono::Days::new(6);
    let path = format!("/v1/pet-summary?collar_id={COLLAR}&from={from}&to={today}");
    let (status, body) = call(&app, "GET", &path, Some(&ada), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let days = body["days"].as_array().unwrap();
    assert_eq!(days.len(), 7, "{body}");
    assert_eq!(days[0]["date"], from.to_string());
    let yday = &days[5];
    assert_eq!((yday["readings"].as_u64(), yday["complete"].as_bool()), (Some(day.len() as u64), Some(true)));
    assert!(yday["active_minutes"].as_f64().unwrap() > 0.0 && yday["coverage"].as_f64().unwrap() > 0.9, "{yday}");
    assert_eq!(days[6]["complete"], false, "today so far");
    assert_eq!(days[0]["readings"], 0);
    assert_eq!(body["timezone"], "UTC");
    assert_eq!(body["months"].as_array().unwrap().iter().map(|m| m["days"].as_u64().unwrap()).sum::<u64>(), 7);
    assert!(body["streaks"]["longest_days"].as_u64().unwrap() <= 1);
    // The plan reads the same summaries (readings gone: the record serves yesterday).
    app.readings.stored.lock().unwrap().clear();
    let (status, plan) = call(&app, "GET", &format!("/v1/pet-plan?collar_id={COLLAR}"), Some(&ada), None).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert!(plan["daily_goals"]["active_minutes"]["measured_avg"].as_f64().unwrap() > 0.0, "{plan}");
    assert_eq!(plan["metadata"]["data_points"], day.len());
    for (query, code) in [
        (format!("from={}&to={today}", today - chrono::Days::new(366)), "window_too_long"),
        (format!("from={today}&to={from}"), "invalid_window"),
        ("from=2026-02-30".to_owned(), "invalid_from"),
        ("to=yesterday".to_owned(), "invalid_to"),
    ] {
        let (status, body) =
            call(&app, "GET", &format!("/v1/pet-summary?collar_id={COLLAR}&{query}"), Some(&ada), None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some(code)), "{query}");
    }
    let year = format!("/v1/pet-summary?collar_id={COLLAR}&from={}&to={today}", today - chrono::Days::new(365));
    let (status, body) = call(&app, "GET", &year, Some(&ada), None).await;
    assert_eq!((status, body["days"].as_array().map(Vec::len)), (StatusCode::OK, Some(366)), "366 days are fine");
}
