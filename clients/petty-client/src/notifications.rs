//! Notifications: webhooks, push devices, the delivery settings and the test (the notifications
//! function's routes, for an owner's session: an API key is refused there), and an alert with
//! its delivery log (the alerts function's `GET /v1/alerts/{alert_id}`).

use reqwest::Method;

use super::alerts::encode_segment;
use super::types::{
    AlertDetail, Device, DeviceCreate, DeviceList, NotificationSettings, Platform, TestQueued, WebhookCreate,
    WebhookCreated, WebhookList,
};
use super::{Call, Client, Error, segment};

impl Client {
    // --- webhooks -------------------------------------------------------------------------

    /// Registers a webhook (201); its signing secret is in the answer only. Not retried: a
    /// webhook sent twice would be registered twice.
    pub async fn create_webhook(&self, url: &str, name: Option<&str>) -> Result<WebhookCreated, Error> {
        let body = WebhookCreate { url: url.to_owned(), name: name.map(str::to_owned) };
        self.json(Call::new(Method::POST, "v1/notifications/webhooks").json(&body)?).await
    }

    /// The caller's webhooks (never their secrets).
    pub async fn webhooks(&self) -> Result<WebhookList, Error> {
        self.json(Call::new(Method::GET, "v1/notifications/webhooks")).await
    }

    /// Removes a webhook (204); no such webhook is a 404.
    pub async fn delete_webhook(&self, webhook_id: &str) -> Result<(), Error> {
        let path = format!("v1/notifications/webhooks/{}", segment(webhook_id)?);
        self.send(Call::new(Method::DELETE, &path)).await.map(|_| ())
    }

    // --- push devices ---------------------------------------------------------------------

    /// The caller's push devices (never their tokens).
    pub async fn devices(&self) -> Result<DeviceList, Error> {
        self.json(Call::new(Method::GET, "v1/notifications/devices")).await
    }

    /// Registers a device's push token (201; a token already registered answers its device,
    /// 200). Not retried: the platform endpoint is created before the device is stored.
    pub async fn register_device(&self, platform: Platform, token: &str) -> Result<Device, Error> {
        let body = DeviceCreate { platform, token: token.to_owned() };
        self.json(Call::new(Method::POST, "v1/notifications/devices").json(&body)?).await
    }

    /// Removes a device (204) and its platform endpoint; no such device is a 404.
    pub async fn delete_device(&self, device_id: &str) -> Result<(), Error> {
        let path = format!("v1/notifications/devices/{}", segment(device_id)?);
        self.send(Call::new(Method::DELETE, &path)).await.map(|_| ())
    }

    // --- settings and the test ------------------------------------------------------------

    /// Which channels each alert type goes to, quiet hours, resolutions (defaults until a `PUT`).
    pub async fn notification_settings(&self) -> Result<NotificationSettings, Error> {
        self.json(Call::new(Method::GET, "v1/notifications/settings")).await
    }

    /// Replaces the settings; the answer is what is stored (every alert type listed).
    pub async fn put_notification_settings(
        &self,
        settings: &NotificationSettings,
    ) -> Result<NotificationSettings, Error> {
        self.json(Call::new(Method::PUT, "v1/notifications/settings").json(settings)?).await
    }

    /// Queues a test to every destination the caller has (202). Not retried: each call is a
    /// test of its own, delivered again.
    pub async fn send_test(&self) -> Result<TestQueued, Error> {
        self.json(Call::new(Method::POST, "v1/notifications/test")).await
    }

    // --- the delivery log -----------------------------------------------------------------

    /// One alert and its delivery log (another owner's is a 404, like a missing one).
    pub async fn alert(&self, alert_id: &str) -> Result<AlertDetail, Error> {
        let path = format!("v1/alerts/{}", encode_segment(alert_id)?);
        self.json(Call::new(Method::GET, &path)).await
    }
}
