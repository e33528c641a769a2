//! The notification routes and an alert's delivery log against a local server: the method,
//! path and body each call sends, what it makes of the answers, and which calls are retried.

mod support;

use petty_client::Error;
use petty_client::types::{
    AlertType, Channel, DeliveryStatus, EventKind, NotificationSettings, Platform, QuietHours, WebhookStatus,
};
use serde_json::{Value, json};
use support::{Reply, Server, error, owner};

fn webhook(id: &str) -> Value {
    json!({"webhook_id": id, "name": "home", "url": "https://hooks.example.com/petty", "status": "active",
        "created_at": "2026-12-01T08:00:00.000Z", "failing_since": null, "disabled_reason": null, "last_error": null})
}

#[tokio::test]
async fn a_webhook_is_created_once_listed_and_removed() {
    let server = Server::start(|n, req| match (n, req.method.as_str(), req.path.as_str()) {
        (0, "POST", _) => Reply::Json(503, error("unavailable")),
        (_, "POST", "/v1/notifications/webhooks") => {
            let mut created = webhook("wh_1");
            created["secret"] = json!("whsec_abc");
            Reply::Json(201, created)
        }
        (_, "GET", "/v1/notifications/webhooks") => Reply::Json(200, json!({"webhooks": [webhook("wh_1")]})),
        (_, "DELETE", "/v1/notifications/webhooks/wh_1") => Reply::Empty(204),
        _ => Reply::Json(404, error("not_found")),
    })
    .await;
    let client = owner(&server);
    let err = client.create_webhook("https://hooks.example.com/petty", Some("home")).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(server.count(), 1, "a registration is not retried: it would register the webhook twice");

    let created = client.create_webhook("https://hooks.example.com/petty", None).await.unwrap();
    assert_eq!((created.webhook.webhook_id.as_str(), created.secret.as_str()), ("wh_1", "whsec_abc"));
    assert_eq!(created.webhook.status, WebhookStatus::Active);
    let list = client.webhooks().await.unwrap();
    assert_eq!(list.webhooks, [created.webhook]);
    client.delete_webhook("wh_1").await.unwrap();
    let err = client.delete_webhook("wh_2").await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 404, .. }), "{err:?}");

    let seen = server.seen();
    assert_eq!(
        serde_json::from_str::<Value>(&seen[0].body).unwrap(),
        json!({"url": "https://hooks.example.com/petty", "name": "home"})
    );
    assert_eq!(
        serde_json::from_str::<Value>(&seen[1].body).unwrap(),
        json!({"url": "https://hooks.example.com/petty"}),
        "no name: none sent, not even null"
    );
    assert_eq!(seen[1].header("authorization"), Some("Bearer owner"));
    assert!(matches!(client.delete_webhook("wh/1").await, Err(Error::Invalid(_))));
    assert_eq!(server.count(), 5, "a bad id is refused before anything is sent");
}

#[tokio::test]
async fn devices_are_registered_listed_and_removed() {
    let device = json!({"device_id": "dev_1", "platform": "apns", "created_at": "2026-12-01T08:00:00.000Z"});
    let answer = device.clone();
    let server = Server::start(move |_, req| match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/v1/notifications/devices") => Reply::Json(201, answer.clone()),
        ("GET", "/v1/notifications/devices") => Reply::Json(200, json!({"devices": [answer.clone()]})),
        ("DELETE", "/v1/notifications/devices/dev_1") => Reply::Empty(204),
        _ => Reply::Json(404, error("not_found")),
    })
    .await;
    let client = owner(&server);
    let registered = client.register_device(Platform::Apns, "740f4707").await.unwrap();
    assert_eq!((registered.device_id.as_str(), registered.platform), ("dev_1", Platform::Apns));
    assert_eq!(client.devices().await.unwrap().devices, [registered]);
    client.delete_device("dev_1").await.unwrap();
    let seen = server.seen();
    assert_eq!(serde_json::from_str::<Value>(&seen[0].body).unwrap(), json!({"platform": "apns", "token": "740f4707"}));
    assert_eq!((seen[2].method.as_str(), seen[2].path.as_str()), ("DELETE", "/v1/notifications/devices/dev_1"));
}

#[tokio::test]
async fn settings_are_read_and_replaced_and_a_test_is_sent_once() {
    let server = Server::start(|n, req| match (req.method.as_str(), req.path.as_str()) {
        ("GET", _) => Reply::Json(200, serde_json::to_value(NotificationSettings::default()).unwrap()),
        ("PUT", _) => Reply::Json(200, serde_json::from_str(&req.body).unwrap()),
        ("POST", "/v1/notifications/test") if n == 2 => Reply::Json(500, error("internal")),
        ("POST", "/v1/notifications/test") => Reply::Json(
            202,
            json!({"test_id": "t1", "deliveries": [{"channel": "webhook", "destination_id": "wh_1"},
                {"channel": "email", "destination_id": "owner"}]}),
        ),
        _ => Reply::Json(404, error("not_found")),
    })
    .await;
    let client = owner(&server);
    let mut settings = client.notification_settings().await.unwrap();
    assert_eq!(settings, NotificationSettings::default());
    settings.channels.insert(AlertType::BatteryLow, vec![Channel::Push]);
    settings.quiet_hours = Some(QuietHours {
        hours: petty_client::types::ActiveHours { from: "22:00".into(), to: "07:00".into() },
        timezone: "Europe/Berlin".into(),
        hold_urgent: false,
    });
    settings.notify_resolved = true;
    assert_eq!(client.put_notification_settings(&settings).await.unwrap(), settings);
    let sent: Value = serde_json::from_str(&server.seen()[1].body).unwrap();
    assert_eq!(sent["channels"]["battery_low"], json!(["push"]));
    assert_eq!(
        sent["quiet_hours"],
        json!({"from": "22:00", "to": "07:00", "timezone": "Europe/Berlin", "hold_urgent": false})
    );
    assert_eq!(sent["notify_resolved"], json!(true));

    assert_eq!(client.send_test().await.unwrap_err().status(), Some(500));
    assert_eq!(server.count(), 3, "a test is not retried: each call is a test of its own");
    let queued = client.send_test().await.unwrap();
    let targets: Vec<_> = queued.deliveries.iter().map(|t| (t.channel, t.destination_id.as_str())).collect();
    assert_eq!((queued.test_id.as_str(), targets), ("t1", vec![(Channel::Webhook, "wh_1"), (Channel::Email, "owner")]));
}

#[tokio::test]
async fn an_alert_is_read_with_its_delivery_log_under_its_id_encoded() {
    const ALERT_ID: &str = "DM-000001.zone_exit.home.1764633600000";
    let server = Server::start(|_, req| match req.path.as_str() {
        "/v1/alerts/DM-000001.zone_exit.home.1764633600000" => Reply::Json(
            200,
            json!({"alert_id": ALERT_ID, "type": "zone_exit", "status": "open", "collar_id": "DM-000001",
                "zone_id": "home", "opened_at": "2026-12-01T08:00:00.000Z", "value": 182.0, "threshold": 5.0,
                "unit": "m", "reading": null, "acknowledged_at": null, "resolved_at": null, "resolved_by": null,
                "deliveries": [{"event": "alert.opened", "channel": "webhook", "destination_id": "wh_1",
                    "status": "retrying", "attempts": 2, "last_error": "http_503",
                    "next_attempt_at": "2026-12-01T08:01:00.000Z", "updated_at": "2026-12-01T08:00:30.000Z"}]}),
        ),
        _ => Reply::Json(404, error("not_found")),
    })
    .await;
    let client = owner(&server);
    let detail = client.alert(ALERT_ID).await.unwrap();
    assert_eq!((detail.alert.alert_id.as_str(), detail.alert.kind), (ALERT_ID, AlertType::ZoneExit));
    let d = &detail.deliveries[0];
    assert_eq!(
        (d.event, d.channel, d.destination_id.as_str(), d.status, d.attempts, d.last_error.as_deref()),
        (EventKind::Opened, Channel::Webhook, "wh_1", DeliveryStatus::Retrying, 2, Some("http_503"))
    );
    let err = client.alert("a/b c").await.unwrap_err();
    assert!(matches!(err, Error::Api { status: 404, .. }), "{err:?}");
    assert_eq!(server.seen()[1].path, "/v1/alerts/a%2Fb%20c", "one segment, whatever the id holds");
    assert!(matches!(client.alert("..").await, Err(Error::Invalid(_))));
    assert_eq!(server.count(), 2);
}
