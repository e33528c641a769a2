//! Notifications against moto: alerts stored in the alerts table become the stream records
//! the notifier gets (the stored item as its `NewImage`), deliveries go to a loopback webhook
//! receiver, SES and SNS in moto; retries come back through the real delivery queue.

use std::time::Duration;

use lambda_http::http::StatusCode;
use petty_alert_rules::rules::{NewAlert, Resolution, alert_id};
use petty_alerts::{AlertsApp, AlertsConfig};
use petty_households::{HouseholdsApp, HouseholdsConfig, SesMailer};
use petty_notifications::{NotificationsApp, NotificationsConfig};
use petty_notifier::domain::RetryPolicy;
use petty_notifier::webhook_client::WebhookClient;
use petty_notifier::{Event, Notifier, NotifierConfig, Outcome};
use petty_shared::api::alerts::AlertType;
use petty_shared::config::FromEnv;
use petty_shared::dynamo::{item_to_json, s};
use petty_shared::secrets::SecretsManagerSource;
use petty_shared::tables::alerts::AlertsTable;
use petty_shared::tables::collars::CollarsTable;
use petty_shared::webhook::verify_signature;
use petty_tests::apps::{Apps, Header, eager_cache};
use petty_tests::receiver::{Answer, Receiver};
use petty_tests::sdk;
use serde_json::{Value, json};

struct World {
    apps: Apps,
    alerts_app: AlertsApp<SecretsManagerSource>,
    notifications: NotificationsApp<SecretsManagerSource>,
    households: HouseholdsApp<SecretsManagerSource>,
    notifier: Notifier<CollarsTable, SecretsManagerSource>,
    alerts: AlertsTable,
    ddb: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    sns: aws_sdk_sns::Client,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl World {
    /// A stage whose retries come back after `retry.base_ms` and whose webhook timeout is 1 s.
    async fn new(retry: RetryPolicy) -> Self {
        let apps = Apps::seed().await;
        let sdk = sdk().await;
        let ddb = petty_shared::aws::dynamodb(&sdk);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let sns = aws_sdk_sns::Client::new(&sdk);
        let alerts_app = AlertsApp::new(&AlertsConfig::from_env(&apps.env).unwrap(), ddb.clone(), eager_cache(&sdk));
        let notifications = NotificationsApp::new(
            &NotificationsConfig::from_env(&apps.env).unwrap(),
            ddb.clone(),
            sns.clone(),
            sqs.clone(),
            eager_cache(&sdk),
        );
        let cfg = NotifierConfig::from_env(&apps.env).unwrap();
        let notifier = Notifier {
            collars: CollarsTable::new(ddb.clone(), cfg.collars_table.clone())
                .with_members(petty_shared::tables::members::MembersTable::new(ddb.clone(), cfg.members_table.clone())),
            notifications: petty_shared::tables::notifications::NotificationsTable::new(
                ddb.clone(),
                cfg.notifications_table.clone(),
            ),
            dynamodb: ddb.clone(),
            users: petty_shared::tables::users::UsersTable::new(
                petty_shared::aws::dynamodb(&sdk),
                cfg.users_table.clone(),
            ),
            sqs: sqs.clone(),
            queue_url: cfg.delivery_queue_url.clone(),
            dlq_url: cfg.delivery_dlq_url.clone(),
            sns: sns.clone(),
            ses: aws_sdk_sesv2::Client::new(&sdk),
            email_sender: cfg.email_sender.clone(),
            secrets: eager_cache(&sdk),
            key_secret_id: cfg.notification_key_secret_id.clone(),
            public_base_url: cfg.public_base_url.clone(),
            webhooks: WebhookClient::new(cfg.webhook_policy.clone(), Duration::from_secs(1)),
            retry,
        };
        let alerts = AlertsTable::new(ddb.clone(), apps.env.required("ALERTS_TABLE").unwrap());
        let hcfg = HouseholdsConfig::from_env(&apps.env).unwrap();
        let mailer = SesMailer { ses: aws_sdk_sesv2::Client::new(&sdk), sender: hcfg.email_sender.clone() };
        let households = HouseholdsApp::new(&hcfg, ddb.clone(), mailer, eager_cache(&sdk));
        Self { apps, alerts_app, notifications, households, notifier, alerts, ddb, sqs, sns }
    }

    async fn call(&self, method: &str, path: &str, who: &Header, body: Option<Value>) -> (StatusCode, Value) {
        let text = body.map(|b| b.to_string());
        let headers = [(who.0, who.1.as_str())];
        let (status, json, _) = if path.contains("/members") || path.starts_with("/v1/invitations") {
            petty_tests::call(&self.apps.http, &self.households, method, path, &headers, text.as_deref()).await
        } else if path.starts_with("/v1/notifications") {
            petty_tests::call(&self.apps.http, &self.notifications, method, path, &headers, text.as_deref()).await
        } else {
            petty_tests::call(&self.apps.http, &self.alerts_app, method, path, &headers, text.as_deref()).await
        };
        (status, json)
    }

    /// An owner with a claimed collar and a webhook to `receiver`; returns the owner and the
    /// webhook's secret and id.
    async fn owner_with_webhook(&self, email: &str, collar: &str, receiver: &Receiver) -> (Header, String, String) {
        let who = self.apps.owner(email).await;
        self.apps.verify_email(&who, email).await;
        self.apps.claim_at(&who, collar, json!({"name": "Rex", "species": "dog", "weight_kg": 20}), 0).await;
        let (status, body) = self
            .call("POST", "/v1/notifications/webhooks", &who, Some(json!({"url": receiver.url, "name": "test"})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (who, body["secret"].as_str().unwrap().to_owned(), body["webhook_id"].as_str().unwrap().to_owned())
    }

    /// Stores an alert as the evaluator does; returns the stream record of its insertion.
    async fn open(&self, collar: &str, kind: AlertType, opened_ms: i64) -> (String, Value) {
        let zone = (kind == AlertType::ZoneExit).then_some("home");
        let id = alert_id(collar, kind, zone, opened_ms);
        let alert = NewAlert {
            alert_id: id.clone(),
            kind,
            zone_id: zone.map(str::to_owned),
            opened_ms,
            value: 120.0,
            threshold: 10.0,
            unit: "m",
            reading: None,
        };
        assert!(self.alerts.open_alert(collar, &alert).await.unwrap());
        let image = self.image(collar).await;
        (
            id,
            json!({"eventName": "INSERT", "eventSource": "aws:dynamodb",
                    "dynamodb": {"NewImage": image, "SequenceNumber": format!("{opened_ms:021}")}}),
        )
    }

    /// The collar's newest alert item, as a stream image.
    async fn image(&self, collar: &str) -> Value {
        let out = self
            .ddb
            .query()
            .table_name(self.apps.env.required("ALERTS_TABLE").unwrap())
            .key_condition_expression("collar_id = :c AND begins_with(sk, :a)")
            .expression_attribute_values(":c", s(collar))
            .expression_attribute_values(":a", s("alert#"))
            .scan_index_forward(false)
            .limit(1)
            .send()
            .await
            .unwrap();
        item_to_json(&out.items()[0])
    }

    async fn notify(&self, records: Vec<Value>, at_ms: i64) -> Outcome {
        let event: Event = serde_json::from_value(json!({ "Records": records })).unwrap();
        petty_notifier::handle_batch(&self.notifier, event, at_ms, None).await
    }

    /// Receives the delivery queue's next job (waiting up to `wait`) as an SQS record.
    async fn next_job(&self, wait: Duration) -> Option<Value> {
        let deadline = std::time::Instant::now() + wait;
        while std::time::Instant::now() < deadline {
            let out = self
                .sqs
                .receive_message()
                .queue_url(self.apps.env.required("DELIVERY_QUEUE_URL").unwrap())
                .max_number_of_messages(1)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            if let Some(m) = out.messages().first() {
                self.sqs
                    .delete_message()
                    .queue_url(self.apps.env.required("DELIVERY_QUEUE_URL").unwrap())
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
                return Some(
                    json!({"eventSource": "aws:sqs", "messageId": m.message_id().unwrap(), "body": m.body().unwrap()}),
                );
            }
        }
        None
    }

    async fn dead_letters(&self) -> Vec<Value> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(self.apps.env.required("DELIVERY_DLQ_URL").unwrap())
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        out.messages().iter().map(|m| serde_json::from_str(m.body().unwrap()).unwrap()).collect()
    }

    async fn deliveries(&self, who: &Header, alert_id: &str) -> Vec<Value> {
        let (status, body) = self.call("GET", &format!("/v1/alerts/{alert_id}"), who, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["alert_id"], alert_id);
        body["deliveries"].as_array().unwrap().clone()
    }
}

fn of<'a>(deliveries: &'a [Value], channel: &str) -> &'a Value {
    deliveries
        .iter()
        .find(|d| d["channel"] == channel)
        .unwrap_or_else(|| panic!("no {channel} delivery: {deliveries:?}"))
}

/// Fast retries for the tests: 1 s, then 2 s, at most `max` attempts.
fn quick(max: u32) -> RetryPolicy {
    RetryPolicy { base_ms: 1_000, cap_ms: 2_000, max_attempts: max, deadline_ms: 3_600_000 }
}

use petty_tests::moto_data;

#[tokio::test]
async fn an_alert_reaches_webhook_email_and_push_once_however_often_it_is_redelivered() {
    let w = World::new(quick(3)).await;
    let receiver = Receiver::start().await;
    let email = format!("{}@example.com", petty_tests::unique("notify").to_lowercase());
    let (who, secret, webhook_id) = w.owner_with_webhook(&email, "DM-000401", &receiver).await;
    let token = format!("fcm-{}", petty_tests::unique("tok"));
    let (status, device) =
        w.call("POST", "/v1/notifications/devices", &who, Some(json!({"platform": "fcm", "token": token}))).await;
    assert_eq!(status, StatusCode::CREATED, "{device}");
    // The same token again is the same device.
    let (status, again) =
        w.call("POST", "/v1/notifications/devices", &who, Some(json!({"platform": "fcm", "token": token}))).await;
    assert_eq!((status, &again["device_id"]), (StatusCode::OK, &device["device_id"]));

    let (id, record) = w.open("DM-000401", AlertType::ZoneExit, now() - 5_000).await;
    let first = w.notify(vec![record.clone()], now()).await;
    assert!(first.response.batch_item_failures.is_empty(), "{:?}", first.response);
    // The same record twice more (Lambda's retry, a duplicate) sends nothing more.
    let again = w.notify(vec![record.clone(), record], now()).await;
    assert_eq!(again.tally.duplicates, 6, "{again:?}");

    let got = receiver.received();
    assert_eq!(got.len(), 1, "exactly one webhook delivery");
    let delivery = &got[0];
    let signature = &delivery.headers["petty-signature"];
    assert!(verify_signature(&secret, signature, &delivery.body, now() / 1000, 300), "{signature}");
    assert!(!verify_signature("whsec_wrong", signature, &delivery.body, now() / 1000, 300));
    let body = delivery.json();
    assert_eq!((body["event"].as_str(), body["alert"]["alert_id"].as_str()), (Some("alert.opened"), Some(id.as_str())));
    assert_eq!(body["alert"]["type"], "zone_exit");
    assert_eq!(delivery.headers["petty-delivery-id"], body["id"].as_str().unwrap());

    let log = w.deliveries(&who, &id).await;
    assert_eq!(log.len(), 3, "{log:?}");
    for channel in ["webhook", "email", "push"] {
        let d = of(&log, channel);
        assert_eq!((d["status"].as_str(), d["attempts"].as_u64()), (Some("delivered"), Some(1)), "{d}");
    }
    assert_eq!(of(&log, "webhook")["destination_id"], webhook_id.as_str());
    assert_eq!(of(&log, "push")["destination_id"], device["device_id"]);

    // SES: one message to the owner, with an unsubscribe link that works without logging in.
    let data = moto_data().await;
    let mails: Vec<&Value> = data["ses"]["Message"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["destinations"]["ToAddresses"][0] == email.as_str())
        .filter(|m| !m["subject"].as_str().unwrap_or_default().starts_with("Verify"))
        .collect();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0]["subject"].as_str().unwrap().contains("DM-000401 left zone home"));
    let html = mails[0]["body"].as_str().unwrap();
    let link = html.split("href=\"").nth(1).unwrap().split('"').next().unwrap().replace("&amp;", "&");
    let path = &link[link.find("/v1/").unwrap()..];
    let nobody: Header = ("x-nobody", String::new());
    let (status, body) = w.call("GET", path, &nobody, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"type": "zone_exit", "channel": "email"}));
    let (_, settings) = w.call("GET", "/v1/notifications/settings", &who, None).await;
    assert_eq!(settings["channels"]["zone_exit"], json!(["webhook", "push"]));
    assert_eq!(settings["channels"]["battery_low"], json!(["webhook", "email", "push"]));
    let forged = path.replace("token=", "token=x");
    assert_eq!(w.call("GET", &forged, &nobody, None).await.0, StatusCode::BAD_REQUEST);

    // SNS: one publish to the device's endpoint, FCM's payload naming the alert.
    let endpoint =
        data["sns"]["PlatformEndpoint"].as_array().unwrap().iter().find(|e| e["token"] == token.as_str()).unwrap();
    let messages: Vec<&Value> = endpoint["messages"].as_object().unwrap().values().collect();
    assert_eq!(messages.len(), 1);
    let published: Value = serde_json::from_str(messages[0].as_str().unwrap()).unwrap();
    assert!(published["GCM"].as_str().unwrap().contains(&id));

    // Resolution: delivered only when asked for.
    let resolve = |at: i64| Resolution {
        alert_id: id.clone(),
        kind: AlertType::ZoneExit,
        zone_id: Some("home".into()),
        at_ms: at,
        by: "zone_return",
    };
    let old = w.image("DM-000401").await;
    w.alerts.resolve_alert("DM-000401", &resolve(now())).await.unwrap();
    let new = w.image("DM-000401").await;
    let modify = json!({"eventName": "MODIFY", "eventSource": "aws:dynamodb",
                        "dynamodb": {"NewImage": new, "OldImage": old, "SequenceNumber": "9"}});
    w.notify(vec![modify.clone()], now()).await;
    assert_eq!(receiver.received().len(), 1, "resolutions are off by default");
    let (status, _) = w.call("PUT", "/v1/notifications/settings", &who, Some(json!({"notify_resolved": true}))).await;
    assert_eq!(status, StatusCode::OK);
    w.notify(vec![modify], now()).await;
    let got = receiver.received();
    assert_eq!(got.len(), 1 + 1);
    let last = got.last().unwrap().json();
    assert_eq!(
        (last["event"].as_str(), last["alert"]["alert_id"].as_str()),
        (Some("alert.resolved"), Some(id.as_str()))
    );
    assert_ne!(last["id"], got[0].json()["id"]);

    // SNS reports the endpoint disabled (the token died): the device is removed with it.
    let app = w.apps.env.required("FCM_PLATFORM_APP_ARN").unwrap();
    let listed = w.sns.list_endpoints_by_platform_application().platform_application_arn(&app).send().await.unwrap();
    let arn = listed
        .endpoints()
        .iter()
        .find(|e| e.attributes().and_then(|a| a.get("Token")) == Some(&token))
        .and_then(|e| e.endpoint_arn())
        .unwrap()
        .to_owned();
    w.sns.set_endpoint_attributes().endpoint_arn(&arn).attributes("Enabled", "false").send().await.unwrap();
    let (dead, record) = w.open("DM-000401", AlertType::BatteryLow, now() - 4_000).await;
    let out = w.notify(vec![record], now()).await;
    assert_eq!(out.tally.count(petty_shared::api::notifications::Channel::Push, "gone"), 1, "{out:?}");
    let d = of(&w.deliveries(&who, &dead).await, "push").clone();
    assert_eq!(d["status"], "failed");
    assert!(d["last_error"].as_str().unwrap().starts_with("endpoint_disabled"), "{d}");
    let (_, devices) = w.call("GET", "/v1/notifications/devices", &who, None).await;
    assert_eq!(devices["devices"], json!([]));
    assert!(w.sns.get_endpoint_attributes().endpoint_arn(&arn).send().await.is_err(), "the endpoint is deleted");
}

#[tokio::test]
async fn retries_follow_500s_and_timeouts_never_4xx_and_end_in_the_dead_letter_queue() {
    let w = World::new(quick(3)).await;
    let receiver = Receiver::start().await;
    let (who, _, webhook_id) = w.owner_with_webhook("retry@example.com", "DM-000402", &receiver).await;
    let (status, _) = w
        .call(
            "PUT",
            "/v1/notifications/settings",
            &who,
            Some(json!({"channels": {"zone_exit": ["webhook"], "battery_low": ["webhook"]}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    receiver.answer(&[Answer::Status(500), Answer::Stall(Duration::from_secs(3)), Answer::Status(204)]);
    let (id, record) = w.open("DM-000402", AlertType::ZoneExit, now() - 5_000).await;
    let t0 = now();
    w.notify(vec![record], t0).await;
    let d = w.deliveries(&who, &id).await[0].clone();
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_u64(), d["last_error"].as_str()),
        (Some("retrying"), Some(1), Some("http_500"))
    );
    let next = chrono::DateTime::parse_from_rfc3339(d["next_attempt_at"].as_str().unwrap()).unwrap().timestamp_millis();
    assert!((t0 + 500..=t0 + 1_000).contains(&next), "backoff 1 s with jitter: {}", next - t0);
    // Attempt 2 times out, attempt 3 is delivered: each came back through the queue.
    for expected in ["timeout", ""] {
        let job = w.next_job(Duration::from_secs(10)).await.expect("a retry job");
        let out = w.notify(vec![job], now()).await;
        assert!(out.response.batch_item_failures.is_empty());
        let d = w.deliveries(&who, &id).await[0].clone();
        if expected.is_empty() {
            assert_eq!((d["status"].as_str(), d["attempts"].as_u64()), (Some("delivered"), Some(3)), "{d}");
        } else {
            assert_eq!((d["status"].as_str(), d["last_error"].as_str()), (Some("retrying"), Some(expected)), "{d}");
        }
    }
    assert_eq!(receiver.received().len(), 3);
    let ids: Vec<Value> = receiver.received().iter().map(|r| r.json()["id"].clone()).collect();
    assert!(ids.windows(2).all(|p| p[0] == p[1]), "one idempotency id across attempts");

    // A 400 is final: no retry job, the dead-letter queue has it, the webhook is failing.
    receiver.answer(&[Answer::Status(400)]);
    let (id2, record) = w.open("DM-000402", AlertType::BatteryLow, now() - 4_000).await;
    w.notify(vec![record], now()).await;
    let d = w.deliveries(&who, &id2).await[0].clone();
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_u64(), d["last_error"].as_str()),
        (Some("failed"), Some(1), Some("http_400"))
    );
    assert!(w.next_job(Duration::from_secs(3)).await.is_none(), "no retry after a 400");
    let dead = w.dead_letters().await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["job"]["delivery"]["alert_id"], id2.as_str());
    assert!(!dead[0].to_string().contains("whsec_"), "no secret in the dead letter");
    let (_, hooks) = w.call("GET", "/v1/notifications/webhooks", &who, None).await;
    assert_eq!(hooks["webhooks"][0]["status"], "failing", "{hooks}");
    assert!(hooks["webhooks"][0].get("secret").is_none());

    // 500s until the attempts run out: dead-lettered; a day of failures disables the webhook.
    receiver.answer(&[Answer::Status(503), Answer::Status(503), Answer::Status(503)]);
    let (id3, record) = w.open("DM-000402", AlertType::ZoneExit, now() - 3_000).await;
    w.notify(vec![record], now()).await;
    // Attempt 2 now; attempt 3, the last, a day after the webhook began failing.
    for later in [0, 25 * 3_600_000] {
        let job = w.next_job(Duration::from_secs(10)).await.expect("a retry job");
        w.notify(vec![job], now() + later).await;
    }
    let d = w.deliveries(&who, &id3).await[0].clone();
    assert_eq!((d["status"].as_str(), d["attempts"].as_u64()), (Some("failed"), Some(3)), "{d}");
    assert_eq!(w.dead_letters().await.len(), 1);
    let (_, hooks) = w.call("GET", "/v1/notifications/webhooks", &who, None).await;
    let hook = &hooks["webhooks"][0];
    assert_eq!(
        (hook["webhook_id"].as_str(), hook["status"].as_str()),
        (Some(webhook_id.as_str()), Some("disabled")),
        "{hook}"
    );
    assert!(hook["disabled_reason"].as_str().unwrap().contains("http_503"), "{hook}");
    // A disabled webhook gets nothing more.
    let before = receiver.received().len();
    let (_, record) = w.open("DM-000402", AlertType::ZoneExit, now() - 2_000).await;
    w.notify(vec![record], now()).await;
    assert_eq!(receiver.received().len(), before);
}

#[tokio::test]
async fn webhook_addresses_that_are_not_public_are_refused_at_registration_and_delivery() {
    let w = World::new(quick(3)).await;
    let who = w.apps.owner("ssrf@example.com").await;
    w.apps.claim_at(&who, "DM-000403", json!({"name": "Rex", "species": "dog", "weight_kg": 20}), 0).await;
    for (url, code) in [
        ("https://127.0.0.1/x", "address_not_public"),
        ("https://10.0.0.8/", "address_not_public"),
        ("https://172.20.1.1/", "address_not_public"),
        ("https://192.168.1.20/", "address_not_public"),
        ("https://169.254.169.254/latest/meta-data/", "address_not_public"),
        ("https://[fd12:3456::1]/", "address_not_public"),
        ("https://[fe80::1]/", "address_not_public"),
        ("https://224.0.0.251/", "address_not_public"),
        ("https://[::ffff:169.254.169.254]/", "address_not_public"),
        ("https://localhost/hook", "address_not_public"),
        ("https://example.com:8443/", "port_not_allowed"),
        ("http://example.com/", "scheme_not_allowed"),
        ("http://10.0.0.1:9010/", "scheme_not_allowed"),
        ("https://user:pw@example.com/", "credentials_in_url"),
    ] {
        let (status, body) = w.call("POST", "/v1/notifications/webhooks", &who, Some(json!({"url": url}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {body}");
        assert_eq!(body["error"]["code"], "invalid_webhook_url", "{url}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().starts_with(code), "{url}: {body}");
    }
    let (_, hooks) = w.call("GET", "/v1/notifications/webhooks", &who, None).await;
    assert_eq!(hooks["webhooks"], json!([]));

    // At delivery: a redirect is not followed (its target hears nothing) and is not retried.
    let target = Receiver::start().await;
    let redirector = Receiver::start().await;
    redirector.answer(&[Answer::Redirect(target.url.clone())]);
    let (status, _) = w.call("POST", "/v1/notifications/webhooks", &who, Some(json!({"url": redirector.url}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, settings) =
        w.call("PUT", "/v1/notifications/settings", &who, Some(json!({"channels": {"zone_exit": ["webhook"]}}))).await;
    assert_eq!(settings["channels"]["zone_exit"], json!(["webhook"]));
    let (id, record) = w.open("DM-000403", AlertType::ZoneExit, now() - 5_000).await;
    w.notify(vec![record], now()).await;
    assert_eq!((redirector.received().len(), target.received().len()), (1, 0));
    let d = w.deliveries(&who, &id).await[0].clone();
    assert_eq!(d["status"], "failed");
    assert!(d["last_error"].as_str().unwrap().starts_with("http_302"), "{d}");

    // A deployed stage refuses the loopback receiver even when it was stored.
    let deployed = WebhookClient::new(petty_shared::webhook::WebhookPolicy::default(), Duration::from_secs(1));
    let refused = deployed.post(&target.url, &[], b"{}".to_vec()).await.unwrap_err();
    assert!(refused.to_string().starts_with("scheme_not_allowed"), "{refused}");
    let refused = deployed.post("https://localhost:443/x", &[], b"{}".to_vec()).await.unwrap_err();
    assert!(refused.to_string().starts_with("address_not_public"), "{refused}");
    assert_eq!(target.received().len(), 0);
}

#[tokio::test]
async fn quiet_hours_hold_battery_alerts_but_let_escapes_through() {
    let w = World::new(quick(3)).await;
    let receiver = Receiver::start().await;
    let (who, _, _) = w.owner_with_webhook("quiet@example.com", "DM-000404", &receiver).await;
    // Quiet from an hour ago to an hour from now, in UTC.
    let hhmm = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap().format("%H:%M").to_string();
    let quiet = json!({"from": hhmm(now() - 3_600_000), "to": hhmm(now() + 3_600_000), "timezone": "UTC"});
    let body = json!({"channels": {"zone_exit": ["webhook"], "battery_low": ["webhook"]}, "quiet_hours": quiet});
    let (status, saved) = w.call("PUT", "/v1/notifications/settings", &who, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["quiet_hours"]["hold_urgent"], false);
    let bad = json!({"quiet_hours": {"from": "25:00", "to": "07:00"}});
    let (status, err) = w.call("PUT", "/v1/notifications/settings", &who, Some(bad)).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_notification_settings"))
    );

    let (battery, record) = w.open("DM-000404", AlertType::BatteryLow, now() - 5_000).await;
    let out = w.notify(vec![record], now()).await;
    assert_eq!(out.tally.count(petty_shared::api::notifications::Channel::Webhook, "held"), 1);
    let d = w.deliveries(&who, &battery).await[0].clone();
    assert_eq!((d["status"].as_str(), d["attempts"].as_u64()), (Some("held"), Some(0)), "{d}");
    let release =
        chrono::DateTime::parse_from_rfc3339(d["next_attempt_at"].as_str().unwrap()).unwrap().timestamp_millis();
    assert!((now() + 3_500_000..=now() + 3_600_000).contains(&release), "held until the quiet hours end");
    let (escape, record) = w.open("DM-000404", AlertType::ZoneExit, now() - 4_000).await;
    w.notify(vec![record], now()).await;
    assert_eq!(w.deliveries(&who, &escape).await[0]["status"], "delivered");
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["alert"]["alert_id"], escape.as_str());
    // The held job is in the queue: past its release it is delivered.
    let job = w.next_job(Duration::from_secs(3)).await;
    assert!(job.is_none(), "the held job is delayed in the queue");

    // The test route queues one delivery per destination, whatever the hour.
    let (status, queued) = w.call("POST", "/v1/notifications/test", &who, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    assert_eq!(queued["deliveries"].as_array().unwrap().len(), 2, "{queued}"); // webhook + e-mail
    let job = w.next_job(Duration::from_secs(10)).await.expect("the test job");
    w.notify(vec![job], now()).await;
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].json()["event"], "test");
}

/// Alerts reach the whole household, each member by their own settings; someone removed
/// before the alert hears nothing, and a retry to someone removed meanwhile ends.
#[tokio::test]
async fn an_alert_reaches_each_member_of_the_household_by_their_own_settings() {
    let w = World::new(quick(3)).await;
    let receiver = Receiver::start().await;
    let collar = "DM-000450";
    let mail = |tag: &str| format!("{}@example.com", petty_tests::unique(tag).to_lowercase());
    let owner_email = mail("hh-owner");
    let (owner, _, _) = w.owner_with_webhook(&owner_email, collar, &receiver).await;
    let join = |email: String, role: &'static str| {
        let owner = owner.clone();
        let w = &w;
        async move {
            let who = w.apps.owner(&email).await;
            w.apps.verify_email(&who, &email).await;
            let body = json!({"email": email, "role": role});
            let (status, reply) = w.call("POST", &format!("/v1/collars/{collar}/members"), &owner, Some(body)).await;
            assert_eq!(status, StatusCode::CREATED, "{reply}");
            let token = petty_tests::token_from_inbox(&email, "shared").await;
            let (status, reply) = w.call("POST", "/v1/invitations/accept", &who, Some(json!({"token": token}))).await;
            assert_eq!(status, StatusCode::OK, "{reply}");
            who
        }
    };
    let (care_email, view_email, gone_email) = (mail("hh-care"), mail("hh-view"), mail("hh-gone"));
    let caregiver = join(care_email.clone(), "caregiver").await;
    let viewer = join(view_email.clone(), "viewer").await;
    let gone = join(gone_email.clone(), "viewer").await;
    // The viewer wants no e-mail about escapes (battery alerts still come).
    let settings = json!({"channels": {"zone_exit": []}});
    assert_eq!(w.call("PUT", "/v1/notifications/settings", &viewer, Some(settings)).await.0, StatusCode::OK);
    let (_, me, _) = w.apps.auth("GET", "/v1/auth/me", &[(gone.0, &gone.1)], json!(null)).await;
    let gone_id = me["user_id"].as_str().unwrap().to_owned();
    let removal = format!("/v1/collars/{collar}/members/{gone_id}");
    assert_eq!(w.call("DELETE", &removal, &owner, None).await.0, StatusCode::NO_CONTENT);
    let alert_mail = |to: String| async move {
        petty_tests::mail_to(&to)
            .await
            .into_iter()
            .filter(|(s, _)| !s.contains("shared") && !s.contains("Verify"))
            .count()
    };

    let (escape, record) = w.open(collar, AlertType::ZoneExit, now() - 5_000).await;
    let out = w.notify(vec![record], now()).await;
    assert!(out.response.batch_item_failures.is_empty(), "{:?}", out.response);
    assert_eq!(receiver.received().len(), 1, "the owner's webhook");
    assert_eq!(alert_mail(owner_email.clone()).await, 1);
    assert_eq!(alert_mail(care_email.clone()).await, 1, "the caregiver, by default settings");
    assert_eq!(alert_mail(view_email.clone()).await, 0, "the viewer turned escapes off");
    assert_eq!(alert_mail(gone_email.clone()).await, 0, "removed before the alert");
    // Each sees the deliveries to their own destinations only.
    let theirs = w.deliveries(&caregiver, &escape).await;
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    assert!(of(&theirs, "email")["destination_id"].as_str().unwrap().starts_with("member-"));
    let owners = w.deliveries(&owner, &escape).await;
    assert_eq!(owners.len(), 2, "webhook and e-mail: {owners:?}");
    assert_eq!(of(&owners, "email")["destination_id"], "owner");
    assert_eq!(w.call("GET", &format!("/v1/alerts/{escape}"), &gone, None).await.0, StatusCode::NOT_FOUND);

    let (_, record) = w.open(collar, AlertType::BatteryLow, now() - 4_000).await;
    w.notify(vec![record], now()).await;
    assert_eq!(alert_mail(view_email).await, 1, "battery alerts reach the viewer");
    assert_eq!(alert_mail(care_email).await, 2);
    assert_eq!(alert_mail(gone_email).await, 0);
}
