//! Feedback end to end against moto: only events the timeline showed the owner, one current
//! verdict per user and event with every submission kept, comments redacted and inert, the
//! summary's arithmetic, accuracy metrics, and per-pet calibration.

use lambda_http::http::StatusCode;
use petty_behaviour::Sample;
use petty_behaviour::segment::{DAY_MS, day_floor};
use petty_shared::dynamo::s;
use petty_tests::apps::{Apps, Header};
use petty_tests::sdk;
use serde_json::{Value, json};

/// `minutes` of readings every 10 s from `start_ms`: still, walking in place (back and forth
/// over 9 m) or walking away, at heart rate `hr`.
fn stretch(start_ms: i64, minutes: i64, hr: u16, motion: &str) -> Vec<Sample> {
    (0..minutes * 6)
        .map(|i| {
            let (activity, lat) = match motion {
                "still" => (0, 40.0),
                "in_place" => (1, 40.0 + if i % 2 == 0 { 0.0 } else { 0.000_08 }),
                _ => (1, 40.0 + 0.000_117 * i as f64),
            };
            Sample { ts_ms: start_ms + i * 10_000, heart_rate: hr, activity, lat, lon: -74.0 }
        })
        .collect()
}

/// Three hours: rest, a walk, rest, then `pacing` spells of walking in place at 1.5 × the
/// resting heart rate, with rest between.
fn day_with_pacing(start_ms: i64, pacing: i64) -> Vec<Sample> {
    let mut at = start_ms;
    let mut out = Vec::new();
    let mut push = |minutes: i64, hr: u16, motion: &str, out: &mut Vec<Sample>| {
        out.extend(stretch(at, minutes, hr, motion));
        at += minutes * 60_000;
    };
    push(60, 80, "still", &mut out);
    push(20, 100, "away", &mut out);
    push(30, 80, "still", &mut out);
    for _ in 0..pacing {
        push(10, 120, "in_place", &mut out);
        push(30, 80, "still", &mut out);
    }
    out
}

struct Owned {
    who: Header,
    key: Header,
}

async fn owner_with_collars(apps: &Apps, email: &str, collars: &[&str], start_ms: i64, pacing: i64) -> Owned {
    let who = apps.owner(email).await;
    let pet = json!({"name": "Rex", "species": "dog", "weight_kg": 30.0});
    for collar in collars {
        apps.claim_at(&who, collar, pet.clone(), start_ms - DAY_MS).await;
    }
    let key = apps.api_key(&who, &["readings:write", "timeline:read"], collars).await;
    for collar in collars {
        apps.ingest(&key, collar, &day_with_pacing(start_ms, pacing)).await;
    }
    Owned { who, key }
}

async fn timeline(apps: &Apps, who: &Header, collar: &str, day: i64) -> Value {
    let path = format!(
        "/v1/pet-timeline?collar_id={collar}&from={}&to={}&limit=500",
        petty_shared::api::format_ms(day),
        petty_shared::api::format_ms(day + DAY_MS)
    );
    let (status, body, _) = apps.timeline_get(&path, who).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn events_of<'a>(timeline: &'a Value, behavior: &str) -> Vec<&'a Value> {
    timeline["timeline"].as_array().unwrap().iter().filter(|e| e["behavior"] == behavior).collect()
}

async fn submit(apps: &Apps, who: &Header, body: Value) -> (StatusCode, Value) {
    let (status, reply, _) = apps.feedback_call("POST", "/v1/submit-feedback", who, Some(body)).await;
    (status, reply)
}

#[tokio::test]
async fn feedback_is_owned_validated_kept_and_summarized() {
    let apps = Apps::seed().await;
    let day = day_floor(chrono::Utc::now().timestamp_millis()) - DAY_MS;
    let ada = owner_with_collars(&apps, "ada@example.com", &["FB-100001"], day, 1).await;
    let bob = owner_with_collars(&apps, "bob@example.com", &["FB-200001"], day, 1).await;
    let seen = timeline(&apps, &ada.who, "FB-100001", day).await;
    let walk = events_of(&seen, "walk")[0]["event_id"].as_str().unwrap().to_owned();
    let pacing = events_of(&seen, "anxious_pacing")[0]["event_id"].as_str().unwrap().to_owned();
    assert!(events_of(&seen, "walk")[0]["feedback"].is_null());

    // Only an event the timeline showed, on a collar the caller owns.
    let (status, first) = submit(&apps, &ada.who, json!({"event_id": walk, "user_feedback": "correct"})).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!((first["success"].as_bool(), first["replaced"].as_bool()), (Some(true), Some(false)));
    let moved = walk.replacen(".1", ".2", 1); // a well-formed id no timeline produced
    let unknown = submit(&apps, &ada.who, json!({"event_id": moved, "user_feedback": "correct"})).await;
    let theirs = submit(&apps, &bob.who, json!({"event_id": walk, "user_feedback": "correct"})).await;
    assert_eq!((unknown.0, theirs.0), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
    assert_eq!(unknown.1["error"], theirs.1["error"], "another owner's event looks like a missing one");
    let never_read = timeline(&apps, &bob.who, "FB-200001", day).await; // bob reads his own
    let bobs_walk = events_of(&never_read, "walk")[0]["event_id"].as_str().unwrap().to_owned();
    let cross = submit(&apps, &ada.who, json!({"event_id": bobs_walk, "user_feedback": "correct"})).await;
    assert_eq!(cross.0, StatusCode::NOT_FOUND);
    let (status, bad) =
        submit(&apps, &ada.who, json!({"event_id": "FB-100001/../x", "user_feedback": "correct"})).await;
    assert_eq!((status, bad["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_event_id")));
    let key_submit = submit(&apps, &ada.key, json!({"event_id": walk, "user_feedback": "correct"})).await;
    assert_eq!(key_submit.0, StatusCode::FORBIDDEN, "a collar's API key cannot give feedback");

    // Validation at its boundaries, over HTTP.
    for (body, want) in [
        (json!({"event_id": walk, "user_feedback": "correct", "comment": "x".repeat(1001)}), "comment_too_long"),
        (json!({"event_id": walk, "user_feedback": "incorrect", "corrected_behavior": "walk"}), "same_behavior"),
        (
            json!({"event_id": walk, "user_feedback": "correct", "corrected_behavior": "play"}),
            "unexpected_corrected_behavior",
        ),
        (json!({"event_id": walk, "user_feedback": "maybe"}), "invalid_user_feedback"),
        (
            json!({"event_id": walk, "user_feedback": "incorrect", "corrected_behavior": "nap"}),
            "invalid_corrected_behavior",
        ),
        (
            json!({"event_id": walk, "user_feedback": "correct", "timestamp": "2020-01-01T00:00:00Z"}),
            "invalid_timestamp",
        ),
    ] {
        let (status, reply) = submit(&apps, &ada.who, body).await;
        assert_eq!(
            (status, reply["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(want)),
            "{reply}"
        );
    }
    let (status, _) = submit(&apps, &ada.who, json!({"event_id": walk, "user_feedback": "correct", "stars": 5})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "unknown fields are refused");

    // A new verdict replaces the previous one; both stay in the history.
    let comment =
        "Not a walk! Mail ada@example.com, call +1 (212) 555-0199, card 4111 1111 1111 1111 <script>alert(1)</script>";
    let (status, second) = submit(
        &apps,
        &ada.who,
        json!({"event_id": walk, "user_feedback": "incorrect", "corrected_behavior": "play", "comment": comment,
               "timestamp": petty_shared::api::format_ms(chrono::Utc::now().timestamp_millis())}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!((second["replaced"].as_bool(), second["revisions"].as_i64()), (Some(true), Some(2)));
    assert_ne!(second["feedback_id"], first["feedback_id"]);
    let (status, pacing_ok) = submit(&apps, &ada.who, json!({"event_id": pacing, "user_feedback": "correct"})).await;
    assert_eq!(status, StatusCode::CREATED, "{pacing_ok}");

    let (status, list, _) = apps.feedback_call("GET", "/v1/feedback?collar_id=FB-100001", &ada.who, None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let items = list["feedback"].as_array().unwrap();
    assert_eq!(items.len(), 2, "one current verdict per event: {list}");
    let mine = items.iter().find(|i| i["event_id"] == walk.as_str()).unwrap();
    assert_eq!(
        (mine["user_feedback"].as_str(), mine["corrected_behavior"].as_str()),
        (Some("incorrect"), Some("play"))
    );
    assert_eq!(mine["revisions"], 2);
    let stored = mine["comment"].as_str().unwrap();
    assert_eq!(
        stored, "Not a walk! Mail [email], call [phone], card [card] &lt;script&gt;alert(1)&lt;/script&gt;",
        "personal data redacted, nothing that can act as HTML"
    );
    let history = petty_shared::aws::dynamodb(&sdk().await)
        .query()
        .table_name(apps.env.required("FEEDBACK_TABLE").unwrap())
        .key_condition_expression("collar_id = :c AND begins_with(sk, :h)")
        .expression_attribute_values(":c", s("FB-100001"))
        .expression_attribute_values(":h", s("hist#"))
        .send()
        .await
        .unwrap();
    assert_eq!(history.count, 3, "every submission kept");
    // Paginated: pages of one give both, once each.
    let (_, page1, _) = apps.feedback_call("GET", "/v1/feedback?collar_id=FB-100001&limit=1", &ada.who, None).await;
    let cursor = page1["next_cursor"].as_str().unwrap_or_else(|| panic!("{page1}"));
    let path = format!("/v1/feedback?collar_id=FB-100001&limit=1&cursor={cursor}");
    let (status, page2, _) = apps.feedback_call("GET", &path, &ada.who, None).await;
    assert_eq!(status, StatusCode::OK, "{page2}");
    let ids: Vec<&Value> =
        page1["feedback"].as_array().unwrap().iter().chain(page2["feedback"].as_array().unwrap()).collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0]["event_id"], ids[1]["event_id"]);
    let (status, others, _) = apps.feedback_call("GET", "/v1/feedback?collar_id=FB-100001", &bob.who, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{others}");

    // The summary's arithmetic: walk 0 of 1 right (corrected to play), pacing 1 of 1.
    let (status, summary, _) =
        apps.feedback_call("GET", "/v1/feedback/summary?collar_id=FB-100001", &ada.who, None).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!((summary["feedback_count"].as_u64(), summary["correct_share"].as_f64()), (Some(2), Some(0.5)));
    let by = |b: &str| summary["behaviors"].as_array().unwrap().iter().find(|x| x["behavior"] == b).unwrap().clone();
    assert_eq!(by("walk")["correct_share"], 0.0);
    assert_eq!(by("walk")["top_corrections"], json!([{"behavior": "play", "count": 1}]));
    assert_eq!(
        (by("anxious_pacing")["feedback_count"].as_u64(), by("anxious_pacing")["correct_share"].as_f64()),
        (Some(1), Some(1.0))
    );

    // The timeline shows each event's verdict; the dashboard gets accuracy per behaviour.
    let again = timeline(&apps, &ada.who, "FB-100001", day).await;
    assert_eq!(events_of(&again, "walk")[0]["feedback"]["user_feedback"], "incorrect");
    assert_eq!(events_of(&again, "walk")[0]["feedback"]["corrected_behavior"], "play");
    let emf = apps.emf.lock().unwrap().join("\n");
    assert!(emf.contains("\"BehaviorAccuracy\"") && emf.contains("\"FeedbackReceived\""), "{emf}");
    let accuracy: Vec<Value> = emf
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("BehaviorAccuracy").is_some())
        .collect();
    assert!(accuracy.iter().any(|v| v["behavior"] == "walk" && v["BehaviorAccuracy"] == 0.0));
    assert!(accuracy.iter().any(|v| v["behavior"] == "walk" && v["BehaviorAccuracy"] == 100.0));
}

#[tokio::test]
async fn consistent_corrections_calibrate_that_pet_only() {
    let apps = Apps::seed().await;
    let day = day_floor(chrono::Utc::now().timestamp_millis()) - DAY_MS;
    let ada = owner_with_collars(&apps, "ada@example.com", &["CA-000001", "CA-000002"], day, 3).await;
    let before = timeline(&apps, &ada.who, "CA-000001", day).await;
    let pacing = events_of(&before, "anxious_pacing");
    assert_eq!(pacing.len(), 3, "{before}");
    assert!(events_of(&before, "play").is_empty());
    let starts: Vec<String> = pacing.iter().map(|e| e["start"].as_str().unwrap().to_owned()).collect();

    // "That was play, not anxious pacing", three times: the third makes it consistent.
    for (i, event) in pacing.iter().enumerate() {
        let body = json!({"event_id": event["event_id"], "user_feedback": "incorrect", "corrected_behavior": "play"});
        let (status, reply) = submit(&apps, &ada.who, body).await;
        assert_eq!(status, StatusCode::CREATED, "{reply}");
        let want: Vec<&str> = if i == 2 { vec!["anxious_pacing->play"] } else { vec![] };
        assert_eq!(reply["calibrated_by"], json!(want));
    }
    let after = timeline(&apps, &ada.who, "CA-000001", day).await;
    assert!(events_of(&after, "anxious_pacing").is_empty(), "{after}");
    let play: Vec<String> = events_of(&after, "play").iter().map(|e| e["start"].as_str().unwrap().to_owned()).collect();
    assert_eq!(play, starts, "the same spells, now read as play");
    assert_eq!(after["metadata"]["calibrated_by"], json!(["anxious_pacing->play"]));
    // Walks and rests are untouched by it.
    assert_eq!(events_of(&after, "walk").len(), events_of(&before, "walk").len());

    // The other pet, with the very same readings, is not affected.
    let other = timeline(&apps, &ada.who, "CA-000002", day).await;
    assert_eq!(events_of(&other, "anxious_pacing").len(), 3, "{other}");
    assert_eq!(other["metadata"]["calibrated_by"], json!([]));
}

#[tokio::test]
async fn a_pet_in_tokyo_lives_tokyo_days_and_the_apps_local_timestamp_is_read_there() {
    let apps = Apps::seed().await;
    let tz: chrono_tz::Tz = "Asia/Tokyo".parse().unwrap();
    let tokyo = petty_behaviour::Calendar::new(tz);
    let now = chrono::Utc::now().timestamp_millis();
    let date = tokyo.date_of(now).pred_opt().unwrap(); // yesterday, in Tokyo
    let (from, to) = tokyo.window(date);
    let kei = apps.owner("kei@example.com").await;
    // The owner's zone is the default of a pet claimed without one.
    let (status, me, _) =
        apps.auth("PATCH", "/v1/auth/me", &[(kei.0, &kei.1)], json!({"timezone": "Asia/Tokyo"})).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    apps.claim_at(&kei, "FB-300001", json!({"name": "Hana", "species": "dog", "weight_kg": 12.0}), from - DAY_MS).await;
    let (status, collar, _) =
        petty_tests::call(&apps.http, &apps.data, "GET", "/v1/collars/FB-300001", &[(kei.0, &kei.1)], None).await;
    assert_eq!((status, collar["pet"]["timezone"].as_str()), (StatusCode::OK, Some("Asia/Tokyo")), "{collar}");
    // An hour of rest before Tokyo's midnight, then a walk from midnight on.
    let key = apps.api_key(&kei, &["readings:write", "timeline:read"], &["FB-300001"]).await;
    apps.ingest(&key, "FB-300001", &day_with_pacing(from - 3_600_000, 1)).await;

    let (status, day, _) =
        apps.timeline_get(&format!("/v1/pet-timeline?collar_id=FB-300001&day={date}&limit=500"), &kei).await;
    assert_eq!(status, StatusCode::OK, "{day}");
    let fmt = petty_shared::api::format_ms;
    assert_eq!(day["metadata"]["window"], json!({"from": fmt(from), "to": fmt(to)}), "Tokyo's day, said in UTC");
    assert_eq!(
        (day["timeline"][0]["start"].as_str(), day["timeline"][0]["behavior"].as_str()),
        (Some(fmt(from).as_str()), Some("walk"))
    );
    let before = tokyo.window(date.pred_opt().unwrap());
    let (_, eve, _) = apps
        .timeline_get(&format!("/v1/pet-timeline?collar_id=FB-300001&day={}&limit=500", date.pred_opt().unwrap()), &kei)
        .await;
    let last = eve["timeline"].as_array().unwrap().last().unwrap().clone();
    // The eve's rest ends at its last reading, 10 s before Tokyo's midnight.
    assert_eq!(
        (last["end"].as_str(), last["behavior"].as_str()),
        (Some(fmt(before.1 - 10_000).as_str()), Some("rest")),
        "{eve}"
    );
    assert_eq!(before.1, from);

    // The app's zone-less local time with microseconds: read in Tokyo, so it is about now
    // (read as UTC it would be nine hours ahead and refused).
    let walk = events_of(&day, "walk")[0]["event_id"].as_str().unwrap().to_owned();
    let sent_at = chrono::Utc::now();
    let local = sent_at.with_timezone(&tz).naive_local().format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
    let (status, receipt) =
        submit(&apps, &kei, json!({"event_id": walk, "user_feedback": "correct", "timestamp": local})).await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    let (_, list, _) = apps.feedback_call("GET", "/v1/feedback?collar_id=FB-300001", &kei, None).await;
    let stored = list["feedback"][0]["timestamp"].as_str().expect("the client's time is kept");
    let stored_ms = chrono::DateTime::parse_from_rfc3339(stored).unwrap().timestamp_millis();
    assert_eq!(stored_ms, sent_at.timestamp_millis(), "{local} in Tokyo is the instant it was sent (ms)");
}
