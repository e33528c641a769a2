//! Notifications (the notifications function's routes and the webhook body): where an
//! owner's alerts are delivered, and the delivery log `GET /v1/alerts/{alert_id}` shows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::alerts::{ActiveHours, Alert, AlertType};

/// Most webhooks, and most push devices, per account.
pub const MAX_WEBHOOKS: usize = 5;
pub const MAX_DEVICES: usize = 10;
/// Longest webhook URL and name, characters.
pub const WEBHOOK_URL_MAX: usize = 2_048;
pub const WEBHOOK_NAME_MAX: usize = 50;
/// Longest push token (APNs tokens are 64 hex characters, FCM tokens about 160).
pub const DEVICE_TOKEN_MAX: usize = 4_096;

/// A way an alert reaches the owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Webhook,
    Email,
    Push,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Webhook, Channel::Email, Channel::Push];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Webhook => "webhook",
            Channel::Email => "email",
            Channel::Push => "push",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// What a delivery tells: an alert opened or resolved, or the owner's test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "alert.opened")]
    Opened,
    #[serde(rename = "alert.resolved")]
    Resolved,
    #[serde(rename = "test")]
    Test,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Opened => "alert.opened",
            EventKind::Resolved => "alert.resolved",
            EventKind::Test => "test",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        [EventKind::Opened, EventKind::Resolved, EventKind::Test].into_iter().find(|k| k.as_str() == s)
    }
}

/// `POST /v1/notifications/webhooks`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookCreate {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A webhook's health: `failing` after a delivery ran out of retries, `disabled` after
/// failing for a day (no more deliveries; register it again to resume).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookStatus {
    Active,
    Failing,
    Disabled,
}

impl WebhookStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookStatus::Active => "active",
            WebhookStatus::Failing => "failing",
            WebhookStatus::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Option<WebhookStatus> {
        [WebhookStatus::Active, WebhookStatus::Failing, WebhookStatus::Disabled].into_iter().find(|x| x.as_str() == s)
    }
}

/// A webhook as `GET /v1/notifications/webhooks` lists it (never its secret).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    pub webhook_id: String,
    pub name: Option<String>,
    pub url: String,
    pub status: WebhookStatus,
    pub created_at: String,
    /// Since when deliveries have been running out of retries.
    pub failing_since: Option<String>,
    /// Why it was disabled.
    pub disabled_reason: Option<String>,
    /// The last failed attempt's error (a status code or a network error class).
    pub last_error: Option<String>,
}

/// `POST /v1/notifications/webhooks` (201): the webhook and its signing secret, shown once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookCreated {
    #[serde(flatten)]
    pub webhook: Webhook,
    pub secret: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookList {
    pub webhooks: Vec<Webhook>,
}

/// A push platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Apns,
    Fcm,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Apns => "apns",
            Platform::Fcm => "fcm",
        }
    }

    pub fn parse(s: &str) -> Option<Platform> {
        [Platform::Apns, Platform::Fcm].into_iter().find(|p| p.as_str() == s)
    }
}

/// `POST /v1/notifications/devices`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceCreate {
    pub platform: Platform,
    pub token: String,
}

/// A registered push device (never its token).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub device_id: String,
    pub platform: Platform,
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceList {
    pub devices: Vec<Device>,
}

/// Quiet hours: non-urgent alerts wait until they end; urgent ones (escape, heart rate,
/// temperature) pass unless `hold_urgent`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    #[serde(flatten)]
    pub hours: ActiveHours,
    /// IANA time zone of the hours (default `UTC`).
    #[serde(default = "utc")]
    pub timezone: String,
    #[serde(default)]
    pub hold_urgent: bool,
}

fn utc() -> String {
    "UTC".to_owned()
}

/// `PUT`/`GET /v1/notifications/settings`. A `PUT` replaces them; a type left out of
/// `channels` gets every channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationSettings {
    /// Per alert type, the channels it is delivered on (`[]`: none).
    pub channels: BTreeMap<AlertType, Vec<Channel>>,
    pub quiet_hours: Option<QuietHours>,
    /// Also deliver `alert.resolved` events (default: only openings).
    pub notify_resolved: bool,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            channels: AlertType::ALL.into_iter().map(|t| (t, Channel::ALL.to_vec())).collect(),
            quiet_hours: None,
            notify_resolved: false,
        }
    }
}

impl NotificationSettings {
    /// Fills the types left out with every channel, sorts and dedups the channel lists.
    pub fn normalized(mut self) -> Self {
        for t in AlertType::ALL {
            let list = self.channels.entry(t).or_insert_with(|| Channel::ALL.to_vec());
            list.sort();
            list.dedup();
        }
        self
    }

    /// Checks quiet hours (`HH:MM` times, an IANA zone); `Err` names the field.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(q) = &self.quiet_hours {
            for (field, v) in [("quiet_hours.from", &q.hours.from), ("quiet_hours.to", &q.hours.to)] {
                if minute_of_day(v).is_none() {
                    return Err(format!("{field} must be a time HH:MM from 00:00 to 23:59"));
                }
            }
            if q.hours.from == q.hours.to {
                return Err("quiet_hours.from and quiet_hours.to must differ".into());
            }
            if q.timezone.parse::<chrono_tz::Tz>().is_err() {
                return Err("quiet_hours.timezone must be an IANA time zone such as Europe/Berlin".into());
            }
        }
        Ok(())
    }

    pub fn wants(&self, kind: AlertType, channel: Channel) -> bool {
        self.channels.get(&kind).is_none_or(|c| c.contains(&channel))
    }
}

/// `HH:MM` → minute of the day.
pub fn minute_of_day(s: &str) -> Option<u16> {
    let b = s.as_bytes();
    if b.len() != 5 || b[2] != b':' || !b.iter().enumerate().all(|(i, c)| i == 2 || c.is_ascii_digit()) {
        return None;
    }
    let num = |i: usize| u16::from(b[i] - b'0') * 10 + u16::from(b[i + 1] - b'0');
    let (h, m) = (num(0), num(3));
    (h <= 23 && m <= 59).then_some(h * 60 + m)
}

/// Escape and health alerts: they pass quiet hours unless the owner holds them too.
pub fn is_urgent(kind: AlertType) -> bool {
    !matches!(kind, AlertType::BatteryLow | AlertType::CollarOffline)
}

/// A delivery's state in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Claimed, first attempt under way.
    Pending,
    /// Waiting for the end of quiet hours.
    Held,
    /// An attempt failed and another is scheduled.
    Retrying,
    Delivered,
    /// Out of retries, or refused for good (a 4xx, a refused address); sent to the
    /// dead-letter queue.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Held => "held",
            DeliveryStatus::Retrying => "retrying",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Held,
            DeliveryStatus::Retrying,
            DeliveryStatus::Delivered,
            DeliveryStatus::Failed,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// One (alert event, channel, destination) delivery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub event: EventKind,
    pub channel: Channel,
    /// The webhook id, the device id, or `owner` for the account's e-mail address.
    pub destination_id: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<String>,
    pub updated_at: String,
}

/// `GET /v1/alerts/{alert_id}`: the alert and its delivery log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertDetail {
    #[serde(flatten)]
    pub alert: Alert,
    pub deliveries: Vec<Delivery>,
}

/// A webhook delivery's JSON body (signed in `Petty-Signature`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// The idempotency id: the same for every attempt of one delivery.
    pub id: String,
    pub event: EventKind,
    pub created_at: String,
    pub alert: Alert,
}

/// `POST /v1/notifications/test` (202): what was queued.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestQueued {
    pub test_id: String,
    pub deliveries: Vec<TestTarget>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestTarget {
    pub channel: Channel,
    pub destination_id: String,
}

/// `GET`/`POST /v1/notifications/unsubscribe?token=`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unsubscribed {
    #[serde(rename = "type")]
    pub kind: AlertType,
    pub channel: Channel,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_every_channel_and_normalize_fills_left_out_types() {
        let s: NotificationSettings =
            serde_json::from_str(r#"{"channels": {"battery_low": ["push", "push"]}}"#).unwrap();
        let s = s.normalized();
        assert_eq!(s.channels[&AlertType::BatteryLow], vec![Channel::Push]);
        assert_eq!(s.channels[&AlertType::ZoneExit], Channel::ALL.to_vec());
        assert!(!s.wants(AlertType::BatteryLow, Channel::Email) && s.wants(AlertType::ZoneExit, Channel::Email));
        assert!(serde_json::from_str::<NotificationSettings>(r#"{"chanels": {}}"#).is_err());
        assert!(serde_json::from_str::<NotificationSettings>(r#"{"channels": {"zone_exit": ["sms"]}}"#).is_err());
    }

    #[test]
    fn urgency_and_wire_names() {
        assert!(is_urgent(AlertType::ZoneExit) && is_urgent(AlertType::TemperatureHigh));
        assert!(!is_urgent(AlertType::BatteryLow) && !is_urgent(AlertType::CollarOffline));
        assert_eq!(serde_json::to_string(&EventKind::Opened).unwrap(), r#""alert.opened""#);
        for k in [EventKind::Opened, EventKind::Resolved, EventKind::Test] {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        let q: QuietHours = serde_json::from_str(r#"{"from": "22:00", "to": "07:00"}"#).unwrap();
        assert_eq!((q.timezone.as_str(), q.hold_urgent), ("UTC", false));
    }
}
