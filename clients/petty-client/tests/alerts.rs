//! The safe-zone, alert-settings and alert routes against a local server: the method, path,
//! query and body each call sends, and what it makes of the answers.

mod support;

use petty_client::types::{ActiveHours, AlertSettings, AlertStatus, AlertType, Polygon, ZoneSpec};
use petty_client::{AlertFilter, Error, ZoneWrite};
use serde_json::{Value, json};
use support::{Reply, Server, error, owner};

const ALERT_ID: &str = "DM-000001.zone_exit.home.1764633600000";

fn circle() -> ZoneSpec {
    ZoneSpec {
        name: "Home".into(),
        center: Some(vec![13.4, 52.5]),
        radius_m: Some(150.0),
        polygon: None,
        active_hours: Some(ActiveHours { from: "22:00".into(), to: "07:00".into() }),
    }
}

fn zone_json(body: &str) -> Value {
    let mut zone: Value = serde_json::from_str(body).unwrap();
    zone["zone_id"] = json!("home");
    zone["updated_at"] = json!("2026-12-01T08:00:00.000Z");
    zone
}

fn alert(id: &str, status: &str) -> Value {
    json!({"alert_id": id, "type": "zone_exit", "status": status, "collar_id": "DM-000001", "zone_id": "home",
        "opened_at": "2026-12-01T08:00:00.000Z", "value": 182.0, "threshold": 0.0, "unit": "m",
        "reading": {"timestamp": "2026-12-01T08:00:00.000Z", "location": {"type": "Point", "coordinates": [13.41, 52.5]},
            "heart_rate": 92, "activity_level": 1, "accuracy_m": 8.0},
        "acknowledged_at": null, "resolved_at": null, "resolved_by": null})
}

#[tokio::test]
async fn a_zone_is_put_under_its_ids_created_then_replaced() {
    let server = Server::start(|n, req| Reply::Json(if n == 0 { 201 } else { 200 }, zone_json(&req.body))).await;
    let client = owner(&server);
    let (zone, how) = client.put_zone("DM-000001", "home", &circle()).await.unwrap();
    assert_eq!(how, ZoneWrite::Created);
    assert_eq!((zone.zone_id.as_str(), &zone.spec), ("home", &circle()));

    let square = ZoneSpec {
        center: None,
        radius_m: None,
        polygon: Some(Polygon {
            kind: "Polygon".into(),
            coordinates: vec![vec![vec![0.0, 0.0], vec![0.001, 0.0], vec![0.001, 0.001], vec![0.0, 0.0]]],
        }),
        active_hours: None,
        ..circle()
    };
    let (zone, how) = client.put_zone("DM-000001", "home", &square).await.unwrap();
    assert_eq!((how, zone.spec), (ZoneWrite::Replaced, square));

    let seen = server.seen();
    assert_eq!((seen[0].method.as_str(), seen[0].path.as_str()), ("PUT", "/v1/collars/DM-000001/zones/home"));
    assert_eq!(seen[0].header("authorization"), Some("Bearer owner"));
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(
        body,
        json!({"name": "Home", "center": [13.4, 52.5], "radius_m": 150.0, "active_hours": {"from": "22:00", "to": "07:00"}}),
        "a circle sends no polygon, not even null"
    );
    let body: Value = serde_json::from_str(&seen[1].body).unwrap();
    assert_eq!(
        body,
        json!({"name": "Home", "polygon": {"type": "Polygon", "coordinates": [[[0.0, 0.0], [0.001, 0.0], [0.001, 0.001], [0.0, 0.0]]]}})
    );
}

#[tokio::test]
async fn zones_are_listed_and_deleted_and_a_missing_one_is_a_404() {
    let server = Server::start(|_, req| match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/v1/collars/DM-000001/zones") => {
            Reply::Json(200, json!({"zones": [zone_json(&serde_json::to_string(&circle()).unwrap())]}))
        }
        ("DELETE", "/v1/collars/DM-000001/zones/home") => Reply::Empty(204),
        _ => Reply::Json(404, error("not_found")),
    })
    .await;
    let client = owner(&server);
    let list = client.zones("DM-000001").await.unwrap();
    assert_eq!(list.zones.len(), 1);
    assert_eq!((list.zones[0].zone_id.as_str(), list.zones[0].spec.radius_m), ("home", Some(150.0)));
    client.delete_zone("DM-000001", "home").await.unwrap();
    let err = client.delete_zone("DM-000001", "yard").await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 404, ref code, .. } if code == "not_found"), "{err:?}");
    assert_eq!(server.count(), 3, "a 404 is not retried");
}

#[tokio::test]
async fn bad_ids_are_refused_before_anything_is_sent() {
    let server = Server::start(|_, _| Reply::Json(500, error("internal"))).await;
    let client = owner(&server);
    let err = client.put_zone("DM-000001", "Back_Yard", &circle()).await.unwrap_err();
    assert!(matches!(err, Error::Invalid(ref m) if m.contains("Back_Yard")), "{err:?}");
    assert!(matches!(client.delete_zone("DM/000001", "home").await, Err(Error::Invalid(_))));
    assert!(matches!(client.ack_alert("..").await, Err(Error::Invalid(_))));
    assert_eq!(server.count(), 0);
}

#[tokio::test]
async fn alert_settings_are_read_and_replaced() {
    let server = Server::start(|_, req| match req.method.as_str() {
        "GET" => Reply::Json(
            200,
            json!({"disabled": [], "battery_low_pct": 15, "offline_after_min": 30, "heart_rate_sustained_min": 10}),
        ),
        _ => Reply::Json(200, serde_json::from_str(&req.body).unwrap()),
    })
    .await;
    let client = owner(&server);
    let mut settings = client.alert_settings("DM-000001").await.unwrap();
    assert_eq!(settings, AlertSettings::default());
    settings.disabled = vec![AlertType::BatteryLow];
    settings.offline_after_min = 60;
    let stored = client.put_alert_settings("DM-000001", &settings).await.unwrap();
    assert_eq!(stored, settings);
    let seen = server.seen();
    assert_eq!((seen[1].method.as_str(), seen[1].path.as_str()), ("PUT", "/v1/collars/DM-000001/alert-settings"));
    assert_eq!(
        serde_json::from_str::<Value>(&seen[1].body).unwrap(),
        json!({"disabled": ["battery_low"], "battery_low_pct": 15, "offline_after_min": 60, "heart_rate_sustained_min": 10})
    );
    assert_eq!(seen[0].path, "/v1/collars/DM-000001/alert-settings");
}

#[tokio::test]
async fn alerts_send_only_the_filters_given_and_all_pages_are_followed() {
    let server = Server::start(|_, req| {
        if req.path.contains("cursor=c1") {
            Reply::Json(200, json!({"alerts": [alert("b", "resolved")], "next_cursor": null}))
        } else {
            Reply::Json(200, json!({"alerts": [alert("a", "open")], "next_cursor": "c1"}))
        }
    })
    .await;
    let client = owner(&server);
    let page = client.alerts(&AlertFilter::default(), None, None).await.unwrap();
    assert_eq!((page.alerts[0].alert_id.as_str(), page.next_cursor.as_deref()), ("a", Some("c1")));
    assert_eq!(page.alerts[0].kind, AlertType::ZoneExit);
    assert_eq!(page.alerts[0].reading.as_ref().map(|r| r.heart_rate), Some(92));

    let filter = AlertFilter {
        collar_id: Some("DM-000001".into()),
        status: Some(AlertStatus::Acknowledged),
        from: Some("2026-12-01T00:00:00Z".into()),
        to: Some("2026-12-02T00:00:00+01:00".into()),
    };
    let all = client.alerts_all(&filter, Some(1)).await.unwrap();
    let ids: Vec<_> = all.alerts.iter().map(|a| (a.alert_id.as_str(), a.status)).collect();
    assert_eq!(ids, [("a", AlertStatus::Open), ("b", AlertStatus::Resolved)]);
    assert_eq!(all.next_cursor, None);

    let paths: Vec<_> = server.seen().into_iter().map(|s| s.path).collect();
    let query = "collar_id=DM-000001&status=acknowledged&from=2026-12-01T00%3A00%3A00Z&to=2026-12-02T00%3A00%3A00%2B01%3A00&limit=1";
    assert_eq!(
        paths,
        ["/v1/alerts".to_owned(), format!("/v1/alerts?{query}"), format!("/v1/alerts?{query}&cursor=c1")]
    );
}

#[tokio::test]
async fn an_ack_posts_to_the_alerts_id_encoded_and_is_retried() {
    let server = Server::start(|n, req| match (n, req.path.as_str()) {
        (0, _) => Reply::Json(503, error("unavailable")),
        (_, "/v1/alerts/DM-000001.zone_exit.home.1764633600000/ack") => {
            let mut a = alert(ALERT_ID, "acknowledged");
            a["acknowledged_at"] = json!("2026-12-01T08:05:00.000Z");
            Reply::Json(200, a)
        }
        _ => Reply::Json(404, error("not_found")),
    })
    .await;
    let client = owner(&server);
    let acked = client.ack_alert(ALERT_ID).await.unwrap();
    assert_eq!(
        (acked.status, acked.acknowledged_at.as_deref()),
        (AlertStatus::Acknowledged, Some("2026-12-01T08:05:00.000Z"))
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "acknowledging twice is harmless: retried after the 503");
    assert_eq!((seen[1].method.as_str(), seen[1].body.as_str()), ("POST", ""));
    assert_eq!(seen[0].path, seen[1].path);

    let err = client.ack_alert("a/b c?d").await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert_eq!(server.seen()[2].path, "/v1/alerts/a%2Fb%20c%3Fd/ack", "one segment, whatever the id holds");
}

#[tokio::test]
async fn a_pet_patch_sends_only_the_fields_to_change() {
    let server = Server::start(|_, _| {
        Reply::Json(
            200,
            json!({"collar_id": "DM-000001", "role": "owner", "claimed_at": "t", "updated_at": "t",
            "pet": {"name": "Rex", "species": "dog", "weight_kg": 30.0, "timezone": "Europe/Berlin"}}),
        )
    })
    .await;
    let client = owner(&server);
    let patch = petty_client::types::PetPatch { timezone: Some("Europe/Berlin".into()), ..Default::default() };
    let collar = client.update_collar("DM-000001", &patch).await.unwrap();
    assert_eq!(collar.pet.timezone.as_deref(), Some("Europe/Berlin"));
    let seen = server.seen();
    assert_eq!((seen[0].method.as_str(), seen[0].path.as_str()), ("PATCH", "/v1/collars/DM-000001"));
    assert_eq!(serde_json::from_str::<Value>(&seen[0].body).unwrap(), json!({"pet": {"timezone": "Europe/Berlin"}}));
}
