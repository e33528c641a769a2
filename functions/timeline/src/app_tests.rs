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
