//! Feedback's rules over in-memory stores (no AWS): only events an owner was shown take
//! feedback, a resubmission replaces the verdict, consistent corrections calibrate the pet,
//! and the summary is the caller's own.

use lambda_http::http::StatusCode;
use petty_behaviour::segment::{DAY_MS, day_floor, event_id};
use petty_behaviour::{Behavior, Episode, EpisodeStats};
use petty_shared::stores::EventPublisher;
use petty_shared::tables::collars::Collar;
use petty_shared::testing::{
    MemoryApiKeys, MemoryAudit, MemoryCollars, MemoryEventIndex, MemoryFeedback, MemorySecrets, Tokens, call, edge,
};
use serde_json::json;

use super::*;

type App = FeedbackApp<MemorySecrets, MemoryCollars, MemoryFeedback, MemoryEventIndex, MemoryApiKeys, MemoryAudit>;

const COLLAR: &str = "FB-100001";

fn episode(start_ms: i64, behavior: Behavior) -> Episode {
    Episode { behavior, start_ms, end_ms: start_ms + 600_000, confidence: 0.9, stats: EpisodeStats::default() }
}

/// Ada's collar (claimed two days ago) with three pacing episodes shown yesterday.
async fn app() -> (App, Tokens, Vec<i64>) {
    let (edge, tokens) = edge();
    let yesterday = day_floor(chrono::Utc::now().timestamp_millis()) - DAY_MS;
    let collars = MemoryCollars::default();
    let pet = serde_json::from_value(json!({"name": "Pip", "species": "dog", "weight_kg": 8})).unwrap();
    let claimed_s = (yesterday - DAY_MS) / 1000;
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
    let starts: Vec<i64> = (1..=3).map(|h| yesterday + h * 3_600_000).collect();
    let shown = MemoryEventIndex::default();
    let episodes: Vec<Episode> = starts.iter().map(|s| episode(*s, Behavior::AnxiousPacing)).collect();
    shown.publish_day(COLLAR, yesterday, &episodes).await.unwrap();
    (FeedbackApp::with_stores(edge, collars, MemoryFeedback::default(), shown), tokens, starts)
}

async fn submit(app: &App, who: &str, event: &str, body: serde_json::Value) -> (StatusCode, serde_json::Value) {
    let mut body = body;
    body["event_id"] = json!(event);
    call(app, "POST", "/v1/submit-feedback", Some(who), Some(&body.to_string())).await
}

#[tokio::test]
async fn only_shown_events_take_feedback_and_a_stranger_sees_the_same_404() {
    let (app, t, starts) = app().await;
    let ada = t.bearer("ada", &["feedback:write"]);
    let shown = event_id(COLLAR, Behavior::AnxiousPacing, starts[0]);
    let (status, receipt) = submit(&app, &ada, &shown, json!({"user_feedback": "correct"})).await;
    assert_eq!((status, receipt["replaced"].as_bool()), (StatusCode::CREATED, Some(false)), "{receipt}");
    let never_shown = event_id(COLLAR, Behavior::Walk, starts[0]);
    let (status, missing) = submit(&app, &ada, &never_shown, json!({"user_feedback": "correct"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let bob = t.bearer("bob", &["feedback:write"]);
    let (status, theirs) = submit(&app, &bob, &shown, json!({"user_feedback": "correct"})).await;
    assert_eq!((status, &theirs["error"]), (StatusCode::NOT_FOUND, &missing["error"]));
}

#[tokio::test]
async fn a_resubmission_replaces_the_verdict_and_counts_revisions() {
    let (app, t, starts) = app().await;
    let ada = t.bearer("ada", &["feedback:write"]);
    let event = event_id(COLLAR, Behavior::AnxiousPacing, starts[0]);
    submit(&app, &ada, &event, json!({"user_feedback": "correct"})).await;
    let (status, receipt) =
        submit(&app, &ada, &event, json!({"user_feedback": "incorrect", "corrected_behavior": "walk"})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!((receipt["replaced"].as_bool(), receipt["revisions"].as_u64()), (Some(true), Some(2)));
    assert_eq!(app.feedback.current.lock().unwrap().len(), 1, "one current verdict per user and event");
}

#[tokio::test]
async fn three_consistent_corrections_calibrate_the_pet_and_two_do_not() {
    let (app, t, starts) = app().await;
    let ada = t.bearer("ada", &["feedback:write"]);
    let correction = json!({"user_feedback": "incorrect", "corrected_behavior": "play"});
    for (i, start) in starts.iter().enumerate() {
        let (_, receipt) =
            submit(&app, &ada, &event_id(COLLAR, Behavior::AnxiousPacing, *start), correction.clone()).await;
        let calibrated = receipt["calibrated_by"].as_array().unwrap();
        assert_eq!(calibrated.is_empty(), i < 2, "after {} corrections: {receipt}", i + 1);
    }
    let from = app.collars.collar(COLLAR).await.unwrap().unwrap().visible_from_ms();
    let saved = app.feedback.calibration.lock().unwrap().get(&(COLLAR.to_owned(), from)).cloned().unwrap();
    assert_eq!(saved.pacing_behavior, Some(Behavior::Play));
}

#[tokio::test]
async fn the_summary_is_the_callers_own() {
    let (app, t, starts) = app().await;
    let ada = t.bearer("ada", &["feedback:write", "timeline:read"]);
    submit(&app, &ada, &event_id(COLLAR, Behavior::AnxiousPacing, starts[0]), json!({"user_feedback": "correct"}))
        .await;
    let path = format!("/v1/feedback/summary?collar_id={COLLAR}");
    let (status, summary) = call(&app, "GET", &path, Some(&ada), None).await;
    assert_eq!((status, summary["feedback_count"].as_u64()), (StatusCode::OK, Some(1)), "{summary}");
    assert_eq!(summary["correct_share"].as_f64(), Some(1.0));
    let (status, page) = call(&app, "GET", &format!("/v1/feedback?collar_id={COLLAR}"), Some(&ada), None).await;
    assert_eq!((status, page["feedback"].as_array().unwrap().len()), (StatusCode::OK, 1), "{page}");
}

#[tokio::test]
async fn the_household_calibrates_the_pet_from_the_owners_and_current_caregivers_verdicts() {
    let (app, t, starts) = app().await;
    app.collars.add_member(COLLAR, "cara", petty_shared::collar::Role::Caregiver, None);
    app.collars.add_member(COLLAR, "vic", petty_shared::collar::Role::Viewer, None);
    let scopes = ["feedback:write", "timeline:read"];
    let (ada, cara, vic) = (t.bearer("ada", &scopes), t.bearer("cara", &scopes), t.bearer("vic", &scopes));
    let correction = json!({"user_feedback": "incorrect", "corrected_behavior": "play"});
    let event = |i: usize| event_id(COLLAR, Behavior::AnxiousPacing, starts[i]);
    // A viewer has no verdicts to give.
    assert_eq!(submit(&app, &vic, &event(0), correction.clone()).await.0, StatusCode::FORBIDDEN);
    // Two of the owner's corrections and one of the caregiver's: three, consistent.
    for i in 0..2 {
        assert_eq!(submit(&app, &ada, &event(i), correction.clone()).await.0, StatusCode::CREATED);
    }
    let (status, receipt) = submit(&app, &cara, &event(2), correction.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    assert_eq!(receipt["calibrated_by"], json!(["anxious_pacing->play"]), "{receipt}");
    // Each person's verdicts stay their own.
    let (_, mine) = call(&app, "GET", &format!("/v1/feedback?collar_id={COLLAR}"), Some(&cara), None).await;
    assert_eq!(mine["feedback"].as_array().unwrap().len(), 1, "{mine}");
    // The caregiver leaves: at the next recalibration only the owner's two remain.
    app.collars.2.lock().unwrap().retain(|m| m.user_id != "cara");
    let (_, receipt) = submit(&app, &ada, &event(1), correction.clone()).await;
    assert_eq!(receipt["calibrated_by"], json!([]), "{receipt}");
    let from = app.collars.collar(COLLAR).await.unwrap().unwrap().visible_from_ms();
    let saved = app.feedback.calibration.lock().unwrap().get(&(COLLAR.to_owned(), from)).cloned().unwrap();
    assert_eq!(saved.pacing_behavior, None);
}

#[tokio::test]
async fn the_access_check_reads_a_membership_only_for_someone_who_is_not_the_owner() {
    let (app, t, _) = app().await;
    app.collars.add_member(COLLAR, "cara", petty_shared::collar::Role::Caregiver, Some(i64::MAX));
    let path = format!("/v1/feedback/summary?collar_id={COLLAR}");
    let calls = |who: &str| {
        let who = t.bearer(who, &["timeline:read"]);
        let app = &app;
        let path = path.clone();
        async move {
            app.collars.1.lock().unwrap().clear();
            let (status, _) = call(app, "GET", &path, Some(&who), None).await;
            let reads: Vec<&str> = app
                .collars
                .1
                .lock()
                .unwrap()
                .iter()
                .copied()
                .filter(|c| ["collar", "membership"].contains(c))
                .collect();
            (status, reads)
        }
    };
    assert_eq!(calls("ada").await, (StatusCode::OK, vec!["collar"]), "the owner: the collar's read, as before");
    assert_eq!(calls("cara").await, (StatusCode::OK, vec!["collar", "membership"]), "a member: one more small read");
    assert_eq!(calls("bob").await, (StatusCode::NOT_FOUND, vec!["collar", "membership"]));
}
