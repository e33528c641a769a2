//! The journey a new owner takes, through every function's handler against moto, and a second
//! owner who must see none of it on any route.

use lambda_http::http::StatusCode;
use petty_behaviour::Sample;
use petty_behaviour::segment::{DAY_MS, day_floor};
use petty_behaviour::simulator::{profiles, simulate_day};
use petty_shared::api::format_ms;
use petty_tests::apps::{Apps, Header, PASSWORD};
use serde_json::{Value, json};

const COLLAR: &str = "JR-100001";

fn bearer(token: &str) -> Header {
    ("authorization", format!("Bearer {token}"))
}

/// Every data route, with `collar`'s id wherever the route takes one.
fn data_routes(collar: &str, event_id: &str) -> Vec<(&'static str, String, Option<Value>)> {
    vec![
        ("GET", format!("/v1/collars/{collar}"), None),
        ("PATCH", format!("/v1/collars/{collar}"), Some(json!({"pet": {"name": "Mine now"}}))),
        ("DELETE", format!("/v1/collars/{collar}"), None),
        ("GET", format!("/v1/realtime?collar_id={collar}"), None),
        ("POST", "/v1/ingest".to_owned(), Some(reading(collar))),
        ("GET", format!("/v1/pet-timeline?collar_id={collar}"), None),
        ("GET", format!("/v1/pet-plan?collar_id={collar}"), None),
        ("POST", "/v1/submit-feedback".to_owned(), Some(json!({"event_id": event_id, "user_feedback": "correct"}))),
        ("GET", format!("/v1/feedback?collar_id={collar}"), None),
        ("GET", format!("/v1/feedback/summary?collar_id={collar}"), None),
    ]
}

fn reading(collar: &str) -> Value {
    let s = Sample { ts_ms: chrono::Utc::now().timestamp_millis(), heart_rate: 80, activity: 0, lat: 40.0, lon: -74.0 };
    petty_behaviour::simulator::reading_json(collar, &s)
}

/// Sends a request to whichever function serves `path`, as API Gateway would.
async fn route(apps: &Apps, method: &str, path: &str, who: &Header, body: Option<Value>) -> petty_tests::Reply {
    let text = body.map(|b| b.to_string());
    let headers = [(who.0, who.1.as_str())];
    let (h, b) = (&apps.http, text.as_deref());
    if path.starts_with("/v1/pet-") {
        petty_tests::call(h, &apps.timeline, method, path, &headers, b).await
    } else if path.starts_with("/v1/submit-feedback") || path.starts_with("/v1/feedback") {
        petty_tests::call(h, &apps.feedback, method, path, &headers, b).await
    } else if path.starts_with("/v1/auth") || path.starts_with("/v1/api-keys") {
        petty_tests::call(h, &apps.auth, method, path, &headers, b).await
    } else {
        petty_tests::call(h, &apps.data, method, path, &headers, b).await
    }
}

#[tokio::test]
async fn a_new_owner_from_registration_to_logout_and_a_stranger_who_sees_nothing() {
    let apps = Apps::seed().await;
    let creds = json!({"email": "journey@example.com", "password": PASSWORD});
    let none: Header = ("x-none", String::new());
    let registration = json!({"email": "journey@example.com", "password": PASSWORD, "name": "Jo"});
    let (status, _, _) = route(&apps, "POST", "/v1/auth/register", &none, Some(registration)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, tokens, _) = route(&apps, "POST", "/v1/auth/login", &none, Some(creds)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let jo = bearer(tokens["access_token"].as_str().unwrap());
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    // Claim (backdated a day, so yesterday's simulated hours are Jo's) and a key for the collar.
    let yesterday = day_floor(chrono::Utc::now().timestamp_millis()) - DAY_MS;
    apps.claim_at(&jo, COLLAR, json!({"name": "Biscuit", "species": "dog", "weight_kg": 18.0}), yesterday - DAY_MS)
        .await;
    let key = apps.api_key(&jo, &["readings:write", "readings:read", "timeline:read"], &[COLLAR]).await;

    // The collar sends six simulated hours through its key (duplicates and all).
    let day = simulate_day(&profiles()[0], 11, yesterday);
    let morning: Vec<Sample> = day.delivered.iter().copied().filter(|r| r.ts_ms < yesterday + 6 * 3_600_000).collect();
    let accepted = apps.ingest(&key, COLLAR, &morning).await;
    let mut distinct = morning.clone();
    petty_behaviour::segment::normalize(&mut distinct);
    assert_eq!(accepted as usize, distinct.len());

    let (status, latest, _) = route(&apps, "GET", &format!("/v1/realtime?collar_id={COLLAR}"), &key, None).await;
    assert_eq!(status, StatusCode::OK, "{latest}");
    assert_eq!(
        latest["timestamp"].as_str().map(|t| t.starts_with(&format_ms(distinct.last().unwrap().ts_ms)[..19])),
        Some(true)
    );

    let window =
        format!("collar_id={COLLAR}&from={}&to={}", format_ms(yesterday), format_ms(yesterday + 6 * 3_600_000));
    let (status, timeline, _) = route(&apps, "GET", &format!("/v1/pet-timeline?{window}"), &jo, None).await;
    assert_eq!(status, StatusCode::OK, "{timeline}");
    let events = timeline["timeline"].as_array().unwrap();
    assert!(events.len() >= 3, "{timeline}");
    let (first, second) = (events[0]["event_id"].as_str().unwrap(), events[1]["event_id"].as_str().unwrap());
    for (event, verdict) in [(first, json!("correct")), (second, json!("incorrect"))] {
        let mut body = json!({"event_id": event, "user_feedback": verdict});
        if verdict == "incorrect" {
            body["corrected_behavior"] = json!(if events[1]["behavior"] == "rest" { "deep_sleep" } else { "rest" });
        }
        let (status, reply, _) = route(&apps, "POST", "/v1/submit-feedback", &jo, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{reply}");
    }
    let (status, summary, _) =
        route(&apps, "GET", &format!("/v1/feedback/summary?collar_id={COLLAR}"), &jo, None).await;
    assert_eq!(
        (status, summary["feedback_count"].as_u64(), summary["correct_share"].as_f64()),
        (StatusCode::OK, Some(2), Some(0.5))
    );
    let (status, plan, _) = route(&apps, "GET", &format!("/v1/pet-plan?collar_id={COLLAR}"), &jo, None).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    for part in ["daily_goals", "nutrition_plan", "health_recommendations"] {
        assert!(!plan[part].is_null(), "{part} in {plan}");
    }

    // A stranger: every data route with Jo's ids is a 404, never a 200 or a 500.
    let stranger = apps.owner("stranger@example.com").await;
    for (method, path, body) in data_routes(COLLAR, first) {
        let (status, reply, _) = route(&apps, method, &path, &stranger, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {reply}");
    }
    let (status, theirs, _) = route(&apps, "GET", "/v1/collars", &stranger, None).await;
    assert_eq!((status, theirs["collars"].clone()), (StatusCode::OK, json!([])));

    // Refresh, then log out: the refresh family is gone and account routes refuse the tokens.
    let (status, renewed, _) =
        route(&apps, "POST", "/v1/auth/refresh", &none, Some(json!({"refresh_token": refresh}))).await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    let jo2 = bearer(renewed["access_token"].as_str().unwrap());
    assert_eq!(route(&apps, "POST", "/v1/auth/logout", &jo2, None).await.0, StatusCode::NO_CONTENT);
    let again = json!({"refresh_token": renewed["refresh_token"]});
    assert_eq!(route(&apps, "POST", "/v1/auth/refresh", &none, Some(again)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(route(&apps, "GET", "/v1/auth/me", &jo, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(route(&apps, "GET", "/v1/auth/me", &jo2, None).await.0, StatusCode::UNAUTHORIZED);
}
