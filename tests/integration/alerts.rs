//! Alerts over the real adapters (moto): zones and settings through the alerts function,
//! readings through the data processor, and the evaluator fed the stream records those
//! readings produce (the event Lambda's DynamoDB mapping delivers), the sweep run directly.
//! An escape is confirmed by the second fix outside and not the first; a re-delivered batch,
//! late readings and another owner change nothing and see nothing.

use lambda_http::http::StatusCode;
use petty_alert_evaluator::StreamEvent;
use petty_alerts::{AlertsApp, AlertsConfig};
use petty_shared::api::format_ms;
use petty_shared::config::FromEnv;
use petty_shared::reading::parse_reading;
use petty_shared::secrets::SecretsManagerSource;
use petty_shared::tables::alerts::AlertsTable;
use petty_shared::tables::collars::CollarsTable;
use petty_shared::tables::readings::image_json;
use petty_tests::apps::{Apps, Header, eager_cache};
use petty_tests::sdk;
use serde_json::{Value, json};

const HOME: (f64, f64) = (52.52, 13.405); // lat, lon
/// ~400 m north of home.
const AWAY_LAT: f64 = 52.5236;

struct World {
    apps: Apps,
    alerts_app: AlertsApp<SecretsManagerSource>,
    alerts: AlertsTable,
    collars: CollarsTable,
}

impl World {
    async fn new() -> Self {
        let apps = Apps::seed().await;
        let sdk = sdk().await;
        let ddb = petty_shared::aws::dynamodb(&sdk);
        let alerts_app = AlertsApp::new(&AlertsConfig::from_env(&apps.env).unwrap(), ddb.clone(), eager_cache(&sdk));
        let alerts = AlertsTable::new(ddb.clone(), apps.env.required("ALERTS_TABLE").unwrap());
        let collars = CollarsTable::new(ddb, apps.env.required("COLLARS_TABLE").unwrap());
        Self { apps, alerts_app, alerts, collars }
    }

    async fn call(&self, method: &str, path: &str, who: &Header, body: Option<Value>) -> (StatusCode, Value) {
        let text = body.map(|b| b.to_string());
        let (status, json, _) =
            petty_tests::call(&self.apps.http, &self.alerts_app, method, path, &[(who.0, &who.1)], text.as_deref())
                .await;
        (status, json)
    }

    /// An owner with a claimed collar and a zone `home` (150 m around HOME).
    async fn owner_with_zone(&self, email: &str, collar: &str) -> Header {
        let who = self.apps.owner(email).await;
        self.apps.claim_at(&who, collar, json!({"name": "Rex", "species": "dog", "weight_kg": 20}), 0).await;
        let zone = json!({"name": "Home", "center": [HOME.1, HOME.0], "radius_m": 150});
        let (status, body) = self.call("PUT", &format!("/v1/collars/{collar}/zones/home"), &who, Some(zone)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        who
    }

    /// Ingests `readings` through the data processor, then hands the evaluator the stream
    /// records of what was stored; returns the evaluator's outcome.
    async fn deliver(&self, who: &Header, readings: &[Value]) -> petty_alert_evaluator::Outcome {
        let body = json!({"readings": readings}).to_string();
        let (status, reply, _) =
            petty_tests::call(&self.apps.http, &self.apps.data, "POST", "/v1/ingest", &[(who.0, &who.1)], Some(&body))
                .await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        self.evaluate(readings).await
    }

    /// The evaluator over the stream records `readings` produce (a re-delivery when called
    /// twice with the same readings).
    async fn evaluate(&self, readings: &[Value]) -> petty_alert_evaluator::Outcome {
        let now = chrono::Utc::now().timestamp_millis();
        let records: Vec<Value> = readings
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let reading = parse_reading(&r.to_string(), now).unwrap();
                json!({"eventName": "INSERT", "eventSource": "aws:dynamodb",
                       "dynamodb": {"NewImage": image_json(&reading, 30), "SequenceNumber": format!("{:021}", i + 1)}})
            })
            .collect();
        let event: StreamEvent = serde_json::from_value(json!({ "Records": records })).unwrap();
        petty_alert_evaluator::handle_batch(&self.collars, &self.alerts, event, now).await
    }

    async fn alerts_of(&self, who: &Header, query: &str) -> Vec<Value> {
        let (status, body) = self.call("GET", &format!("/v1/alerts?{query}"), who, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["alerts"].as_array().unwrap().clone()
    }
}

fn fix(collar: &str, ms: i64, lat: f64, battery: f64) -> Value {
    json!({"collar_id": collar, "timestamp": format_ms(ms), "heart_rate": 80, "activity_level": 0,
           "location": {"type": "Point", "coordinates": [HOME.1, lat]}, "accuracy_m": 5, "battery_pct": battery})
}

fn now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[tokio::test]
async fn an_escape_is_confirmed_by_the_second_fix_outside_and_resolved_by_the_return() {
    let w = World::new().await;
    let ada = w.owner_with_zone("ada@example.com", "AL-100001").await;
    let t0 = now() - 120_000;
    let c = "AL-100001";
    assert!(w.deliver(&ada, &[fix(c, t0, HOME.0, 90.0)]).await.applied.raised.is_empty());

    let first_out = [fix(c, t0 + 10_000, AWAY_LAT, 90.0)];
    assert!(w.deliver(&ada, &first_out).await.applied.raised.is_empty(), "one fix outside is not an escape");
    assert!(w.alerts_of(&ada, &format!("collar_id={c}")).await.is_empty());

    let second_out = [fix(c, t0 + 20_000, AWAY_LAT, 90.0)];
    let outcome = w.deliver(&ada, &second_out).await;
    assert_eq!(outcome.applied.raised, vec![petty_shared::api::alerts::AlertType::ZoneExit]);
    let alerts = w.alerts_of(&ada, &format!("collar_id={c}&status=open")).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = &alerts[0];
    assert_eq!((alert["type"].as_str(), alert["zone_id"].as_str()), (Some("zone_exit"), Some("home")));
    assert_eq!(alert["opened_at"], json!(format_ms(t0 + 20_000)), "opened by the confirming fix");
    assert_eq!(alert["reading"]["location"]["coordinates"], json!([HOME.1, AWAY_LAT]));
    assert!(alert["value"].as_f64().unwrap() > 200.0, "metres outside: {alert}");

    // At-least-once delivery: the same records again change nothing.
    let again = w.evaluate(&second_out).await;
    assert!(again.applied.raised.is_empty() && again.applied.resolved.is_empty());
    assert_eq!(w.alerts_of(&ada, &format!("collar_id={c}")).await.len(), 1);

    // Acknowledged by the owner, then resolved by two fixes inside.
    let id = alert["alert_id"].as_str().unwrap();
    let (status, acked) = w.call("POST", &format!("/v1/alerts/{id}/ack"), &ada, None).await;
    assert_eq!((status, acked["status"].as_str()), (StatusCode::OK, Some("acknowledged")), "{acked}");
    assert!(w.deliver(&ada, &[fix(c, t0 + 30_000, HOME.0, 90.0)]).await.applied.resolved.is_empty());
    let back = w.deliver(&ada, &[fix(c, t0 + 40_000, HOME.0, 90.0)]).await;
    assert_eq!(back.applied.resolved.len(), 1);
    let all = w.alerts_of(&ada, &format!("collar_id={c}")).await;
    assert_eq!(all.len(), 1);
    assert_eq!((all[0]["status"].as_str(), all[0]["resolved_by"].as_str()), (Some("resolved"), Some("zone_return")));
    assert_eq!(all[0]["resolved_at"], json!(format_ms(t0 + 40_000)));
    assert!(all[0]["acknowledged_at"].is_string());

    // A late fix far outside (older than what was evaluated) raises nothing.
    let late = w.deliver(&ada, &[fix(c, t0 + 15_000, AWAY_LAT + 0.01, 90.0)]).await;
    assert!(late.applied.raised.is_empty());
    assert_eq!(w.alerts_of(&ada, "").await.len(), 1, "the listing across the caller's collars");
}

#[tokio::test]
async fn another_owners_zones_settings_and_alerts_are_invisible() {
    let w = World::new().await;
    let ada = w.owner_with_zone("ada@example.com", "AL-200001").await;
    let bob = w.apps.owner("bob@example.com").await;
    let c = "AL-200001";
    let t0 = now() - 60_000;
    w.deliver(&ada, &[fix(c, t0, AWAY_LAT, 90.0), fix(c, t0 + 10_000, AWAY_LAT, 90.0)]).await;
    let alerts = w.alerts_of(&ada, &format!("collar_id={c}")).await;
    assert_eq!(alerts.len(), 1);
    let id = alerts[0]["alert_id"].as_str().unwrap();

    for (method, path) in [
        ("GET", format!("/v1/collars/{c}/zones")),
        ("DELETE", format!("/v1/collars/{c}/zones/home")),
        ("GET", format!("/v1/collars/{c}/alert-settings")),
        ("GET", format!("/v1/alerts?collar_id={c}")),
        ("POST", format!("/v1/alerts/{id}/ack")),
    ] {
        let (status, body) = w.call(method, &path, &bob, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
    }
    let zone = json!({"name": "Mine", "center": [HOME.1, HOME.0], "radius_m": 100});
    assert_eq!(w.call("PUT", &format!("/v1/collars/{c}/zones/x"), &bob, Some(zone)).await.0, StatusCode::NOT_FOUND);
    assert!(w.alerts_of(&bob, "").await.is_empty(), "bob's own listing holds none of ada's alerts");
    let (status, body) = w.call("POST", "/v1/alerts/not-an-id/ack", &ada, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn zones_are_validated_replaced_listed_limited_and_removed() {
    let w = World::new().await;
    let ada = w.owner_with_zone("ada@example.com", "AL-300001").await;
    let c = "AL-300001";
    let bad = [
        (json!({"name": "Big", "center": [HOME.1, HOME.0], "radius_m": 5_001}), "radius_m"),
        (
            json!({"name": "Open", "polygon": {"type": "Polygon", "coordinates": [[[13.40, 52.52], [13.41, 52.52], [13.41, 52.53], [13.40, 52.53]]]}}),
            "not_closed",
        ),
        (
            json!({"name": "Bow", "polygon": {"type": "Polygon", "coordinates": [[[13.40, 52.52], [13.41, 52.53], [13.41, 52.52], [13.40, 52.53], [13.40, 52.52]]]}}),
            "self_intersecting",
        ),
        (
            json!({"name": "Both", "center": [HOME.1, HOME.0], "radius_m": 100, "polygon": {"type": "Polygon", "coordinates": []}}),
            "both_shapes",
        ),
    ];
    for (body, rule) in bad {
        let (status, reply) = w.call("PUT", &format!("/v1/collars/{c}/zones/bad"), &ada, Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
        assert_eq!(reply["error"]["code"], "invalid_zone", "{reply}");
        assert!(reply["error"]["message"].as_str().unwrap().contains(rule), "{rule}: {reply}");
        assert!(reply["request_id"].is_string(), "{reply}");
    }
    let (status, _) = w.call("PUT", &format!("/v1/collars/{c}/zones/Bad_Id"), &ada, Some(json!({"name": "x"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Replacing is idempotent and answers 200; a polygon with night hours.
    let square = json!({"name": "Garden", "active_hours": {"from": "22:00", "to": "07:00"},
        "polygon": {"type": "Polygon", "coordinates": [[[13.404, 52.519], [13.406, 52.519], [13.406, 52.521], [13.404, 52.521], [13.404, 52.519]]]}});
    for expected in [StatusCode::CREATED, StatusCode::OK, StatusCode::OK] {
        let (status, body) = w.call("PUT", &format!("/v1/collars/{c}/zones/garden"), &ada, Some(square.clone())).await;
        assert_eq!(status, expected, "{body}");
    }
    let (_, list) = w.call("GET", &format!("/v1/collars/{c}/zones"), &ada, None).await;
    let ids: Vec<&str> = list["zones"].as_array().unwrap().iter().map(|z| z["zone_id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["garden", "home"]);
    assert_eq!(list["zones"][0]["active_hours"], json!({"from": "22:00", "to": "07:00"}));

    for i in 0..8 {
        let z = json!({"name": format!("Z{i}"), "center": [HOME.1, HOME.0], "radius_m": 50 + i});
        assert_eq!(w.call("PUT", &format!("/v1/collars/{c}/zones/z{i}"), &ada, Some(z)).await.0, StatusCode::CREATED);
    }
    let eleventh = json!({"name": "One too many", "center": [HOME.1, HOME.0], "radius_m": 60});
    assert_eq!(w.call("PUT", &format!("/v1/collars/{c}/zones/z9"), &ada, Some(eleventh)).await.0, StatusCode::CONFLICT);
    assert_eq!(w.call("DELETE", &format!("/v1/collars/{c}/zones/z0"), &ada, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(w.call("DELETE", &format!("/v1/collars/{c}/zones/z0"), &ada, None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn battery_low_is_raised_once_per_discharge_and_settings_bound_it() {
    let w = World::new().await;
    let ada = w.owner_with_zone("ada@example.com", "AL-400001").await;
    let c = "AL-400001";
    let (status, _) =
        w.call("PUT", &format!("/v1/collars/{c}/alert-settings"), &ada, Some(json!({"battery_low_pct": 60}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "out of bounds");
    let (status, settings) =
        w.call("PUT", &format!("/v1/collars/{c}/alert-settings"), &ada, Some(json!({"battery_low_pct": 20}))).await;
    assert_eq!((status, settings["offline_after_min"].as_u64()), (StatusCode::OK, Some(30)), "{settings}");

    let t0 = now() - 300_000;
    let noisy: Vec<Value> = [22.0, 19.0, 21.0, 19.0, 21.0, 18.0]
        .iter()
        .enumerate()
        .map(|(i, b)| fix(c, t0 + i as i64 * 10_000, HOME.0, *b))
        .collect();
    let outcome = w.deliver(&ada, &noisy).await;
    assert_eq!(outcome.applied.raised.len(), 1, "noise around the threshold raises once");
    let charged = [fix(c, t0 + 70_000, HOME.0, 30.0), fix(c, t0 + 80_000, HOME.0, 36.0)];
    assert_eq!(w.deliver(&ada, &charged).await.applied.resolved.len(), 1, "re-armed and resolved above 35 %");
    let alerts = w.alerts_of(&ada, &format!("collar_id={c}")).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        (alerts[0]["type"].as_str(), alerts[0]["resolved_by"].as_str()),
        (Some("battery_low"), Some("battery_recharged"))
    );
    assert_eq!(alerts[0]["threshold"], json!(20.0));
}

#[tokio::test]
async fn the_sweep_finds_a_silent_collar_once_and_a_reading_clears_it() {
    let w = World::new().await;
    let ada = w.owner_with_zone("ada@example.com", "AL-500001").await;
    let c = "AL-500001";
    // The collar's last reading was 40 minutes ago: too old to raise anything itself, but it
    // starts the silence the sweep watches.
    let last = now() - 40 * 60_000;
    let quiet = w.deliver(&ada, &[fix(c, last, AWAY_LAT, 90.0), fix(c, last + 10_000, AWAY_LAT, 90.0)]).await;
    assert!(quiet.applied.raised.is_empty(), "stale fixes raise nothing, escape or not");

    // Not while readings are still arriving (a collar uploading its buffer is talking)...
    let uploading = petty_alert_sweep::sweep(&w.collars, &w.alerts, now()).await.unwrap();
    assert_eq!(uploading.raised, 0, "{uploading:?}");
    // ...but once they stop, its newest reading says it has been silent for 40 minutes.
    let after = now() + petty_alert_rules::rules::ARRIVAL_GRACE_MS + 1_000;
    let report = petty_alert_sweep::sweep(&w.collars, &w.alerts, after).await.unwrap();
    assert_eq!((report.raised, report.failed), (1, 0), "{report:?}");
    let again = petty_alert_sweep::sweep(&w.collars, &w.alerts, after + 60_000).await.unwrap();
    assert_eq!((again.checked, again.raised), (0, 0), "an offline collar leaves the silent index");

    let alerts = w.alerts_of(&ada, &format!("collar_id={c}&status=open")).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!((alerts[0]["type"].as_str(), alerts[0]["unit"].as_str()), (Some("collar_offline"), Some("min")));
    assert!(alerts[0]["value"].as_f64().unwrap() >= 39.0, "minutes since the last reading: {}", alerts[0]);
    assert!(alerts[0]["reading"].is_null());

    let resumed = w.deliver(&ada, &[fix(c, now() - 1_000, HOME.0, 90.0)]).await;
    assert_eq!(resumed.applied.resolved, vec![petty_shared::api::alerts::AlertType::CollarOffline]);
    let alerts = w.alerts_of(&ada, &format!("collar_id={c}")).await;
    assert_eq!(alerts[0]["resolved_by"].as_str(), Some("readings_resumed"));

    // Released: the sweep stops watching it.
    let (status, _, _) =
        petty_tests::call(&w.apps.http, &w.apps.data, "DELETE", &format!("/v1/collars/{c}"), &[(ada.0, &ada.1)], None)
            .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let later = petty_alert_sweep::sweep(&w.collars, &w.alerts, now() + 3_600_000).await.unwrap();
    assert_eq!((later.raised, later.unwatched), (0, 1), "{later:?}");
}

#[tokio::test]
async fn a_new_owner_starts_with_no_alerts_and_no_state_of_the_last() {
    let w = World::new().await;
    let c = "AL-600001";
    let ada = w.apps.owner("ada@example.com").await;
    let code = w.apps.claim_at(&ada, c, json!({"name": "Rex", "species": "dog", "weight_kg": 20}), 0).await;
    let t0 = now() - 120_000;
    let low = w.deliver(&ada, &[fix(c, t0, HOME.0, 12.0)]).await;
    assert_eq!(low.applied.raised.len(), 1, "ada's battery_low");
    let (status, _, _) =
        petty_tests::call(&w.apps.http, &w.apps.data, "DELETE", &format!("/v1/collars/{c}"), &[(ada.0, &ada.1)], None)
            .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // Second hand: bob claims it with the code printed in its box.
    let bob = w.apps.owner("bob@example.com").await;
    let claim = json!({"collar_id": c, "claim_code": code, "pet": {"name": "Max", "species": "dog", "weight_kg": 8}});
    let (status, body, _) = petty_tests::call(
        &w.apps.http,
        &w.apps.data,
        "POST",
        "/v1/collars",
        &[(bob.0, &bob.1)],
        Some(&claim.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(w.alerts_of(&bob, &format!("collar_id={c}")).await.is_empty(), "ada's alert is not bob's");

    // Bob's own low battery raises: ada's discharge (battery_low disarmed) is not his.
    let bobs = w.deliver(&bob, &[fix(c, now() + 1_000, HOME.0, 11.0)]).await;
    assert_eq!(bobs.applied.raised, vec![petty_shared::api::alerts::AlertType::BatteryLow]);
    let alerts = w.alerts_of(&bob, &format!("collar_id={c}")).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["reading"]["battery_pct"], json!(11.0));
}
