//! Collars people can trust, over the real adapters (moto): a collar's first owner gets what it
//! buffered before the claim; after a release and a second-hand claim with the printed code,
//! nothing of the first ownership reaches the next owner (realtime, fleet status, timeline,
//! plan, feedback) and nothing of the new one reaches the old; readings before the new claim
//! are refused, not silently hidden.

use lambda_http::http::StatusCode;
use petty_shared::api::format_ms;
use petty_tests::apps::{Apps, Header};
use serde_json::{Value, json};

const COLLAR: &str = "DV-100001";

fn reading(ms: i64, hr: u16, battery: f64) -> Value {
    json!({"collar_id": COLLAR, "timestamp": format_ms(ms), "heart_rate": hr, "activity_level": 0,
           "location": {"type": "Point", "coordinates": [13.4, 52.5]}, "battery_pct": battery, "firmware": "2.4.1"})
}

async fn data(apps: &Apps, method: &str, path: &str, who: &Header, body: Option<Value>) -> (StatusCode, Value) {
    let text = body.map(|b| b.to_string());
    let (status, json, _) =
        petty_tests::call(&apps.http, &apps.data, method, path, &[(who.0, &who.1)], text.as_deref()).await;
    (status, json)
}

async fn claim(apps: &Apps, who: &Header, code: &str) -> StatusCode {
    let body =
        json!({"collar_id": COLLAR, "claim_code": code, "pet": {"name": "Rex", "species": "dog", "weight_kg": 20}});
    data(apps, "POST", "/v1/collars", who, Some(body)).await.0
}

#[tokio::test]
async fn a_second_hand_collar_starts_clean_for_its_next_owner() {
    let apps = Apps::seed().await;
    let code = apps.register(COLLAR).await;
    let ada = apps.owner("ada@example.com").await;
    let bob = apps.owner("bob@example.com").await;
    let now = chrono::Utc::now().timestamp_millis();

    // First owner: what the collar buffered two hours before the claim is hers, and visible.
    assert_eq!(claim(&apps, &ada, &code).await, StatusCode::CREATED);
    let batch = json!({"readings": [reading(now - 2 * 3_600_000, 70, 90.0), reading(now - 60_000, 72, 88.0)]});
    let (status, report) = data(&apps, "POST", "/v1/ingest", &ada, Some(batch)).await;
    assert_eq!((status, report["accepted"].as_u64()), (StatusCode::OK, Some(2)), "{report}");
    let window = format!("collar_id={COLLAR}&from={}&to={}", format_ms(now - 3 * 3_600_000), format_ms(now + 1_000));
    let (_, timeline, _) = apps.timeline_get(&format!("/v1/pet-timeline?{window}"), &ada).await;
    assert_eq!(timeline["metadata"]["data_points"], 2, "accepted means visible: {timeline}");
    let (_, collar) = data(&apps, "GET", &format!("/v1/collars/{COLLAR}"), &ada, None).await;
    assert_eq!((collar["battery_pct"].as_f64(), collar["firmware"].as_str()), (Some(88.0), Some("2.4.1")), "{collar}");

    // Released, then claimed by the next owner with the code printed in the box.
    assert_eq!(data(&apps, "DELETE", &format!("/v1/collars/{COLLAR}"), &ada, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(claim(&apps, &bob, &code).await, StatusCode::CREATED);

    // Nothing of ada's ownership reaches bob.
    assert_eq!(
        data(&apps, "GET", &format!("/v1/realtime?collar_id={COLLAR}"), &bob, None).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, collar) = data(&apps, "GET", &format!("/v1/collars/{COLLAR}"), &bob, None).await;
    assert!(collar["last_seen_at"].is_null() && collar["battery_pct"].is_null(), "{collar}");
    let (status, timeline, _) = apps.timeline_get(&format!("/v1/pet-timeline?{window}"), &bob).await;
    assert_eq!((status, timeline["metadata"]["data_points"].as_u64()), (StatusCode::OK, Some(0)), "{timeline}");
    let (_, plan, _) = apps.timeline_get(&format!("/v1/pet-plan?collar_id={COLLAR}"), &bob).await;
    assert_eq!(plan["metadata"]["data_points"], 0, "{plan}");
    let (_, summary, _) =
        apps.feedback_call("GET", &format!("/v1/feedback/summary?collar_id={COLLAR}"), &bob, None).await;
    assert_eq!(summary["feedback_count"], 0);

    // A reading timed before bob's claim is refused; one after it is his and visible.
    let before = reading(chrono::Utc::now().timestamp_millis() - 30_000, 90, 70.0);
    let (status, body) = data(&apps, "POST", "/v1/ingest", &bob, Some(before)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("before_claim")));
    let after = reading(chrono::Utc::now().timestamp_millis() + 1_000, 91, 69.0);
    let (status, report) = data(&apps, "POST", "/v1/ingest", &bob, Some(after)).await;
    assert_eq!((status, report["accepted"].as_u64()), (StatusCode::OK, Some(1)), "{report}");
    let (_, latest) = data(&apps, "GET", &format!("/v1/realtime?collar_id={COLLAR}"), &bob, None).await;
    assert_eq!(latest["heart_rate"], 91);

    // And nothing of bob's reaches ada.
    for path in [format!("/v1/collars/{COLLAR}"), format!("/v1/realtime?collar_id={COLLAR}")] {
        assert_eq!(data(&apps, "GET", &path, &ada, None).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(apps.timeline_get(&format!("/v1/pet-timeline?{window}"), &ada).await.0, StatusCode::NOT_FOUND);
    // The old owner cannot take it back with the code while it is owned.
    assert_eq!(claim(&apps, &ada, &code).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn two_owners_racing_for_one_collar_one_wins() {
    let apps = Apps::seed().await;
    let code = apps.register(COLLAR).await;
    let (ada, bob) = (apps.owner("ada@example.com").await, apps.owner("bob@example.com").await);
    let (a, b) = tokio::join!(claim(&apps, &ada, &code), claim(&apps, &bob, &code));
    let mut got = [a, b];
    got.sort();
    assert_eq!(got, [StatusCode::CREATED, StatusCode::NOT_FOUND], "exactly one claim wins");
}
