//! The notifications table: per account, where alerts go; per alert event, what was delivered.
//! Partition `pk` (S), sort key `sk` (S):
//!
//! - `user#<user_id>` / `webhook#<webhook_id>`: `url`, `name`, `secret` (the HMAC key, needed in
//!   clear to sign; the table is encrypted at rest and only the two notification functions
//!   read it), `status`, `created_ms`, and while unhealthy `failing_since_ms`, `last_error`,
//!   `disabled_reason`.
//! - `user#<user_id>` / `device#<device_id>`: `platform`, `endpoint_arn` (the SNS platform
//!   endpoint; the token itself is not kept), `token_hash` (SHA-256, finds a re-registration),
//!   `created_ms`.
//! - `user#<user_id>` / `settings`: `settings` (JSON of the wire type).
//! - `alert#<alert_id>` / `delivery#<event>#<channel>#<destination_id>`: one delivery:
//!   `owner_id`, `status`, `attempts`, `last_error`, `next_attempt_ms`, `updated_ms`,
//!   `first_ms`; TTL `expires_at` 90 days on. Its conditional writes make a delivery happen at
//!   most once per attempt number, however often the alert event or a retry is re-delivered.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::ReturnValue;
use petty_api::format_ms;
use petty_api::notifications::{
    Channel, Delivery, DeliveryStatus, Device, EventKind, NotificationSettings, Platform, Webhook, WebhookStatus,
};

use crate::dynamo::{Item, StoreError, get_n, get_s, n, query_all, s, sdk_err};

/// Deliveries are kept as long as alerts.
pub const HISTORY_DAYS: i64 = super::alerts::HISTORY_DAYS;
/// A `pending` attempt older than this is taken over (its notifier died mid-attempt).
pub const ATTEMPT_LEASE_MS: i64 = 5 * 60_000;

mod attr {
    pub const PK: &str = "pk";
    pub const SK: &str = "sk";
    pub const URL: &str = "url";
    pub const NAME: &str = "name";
    pub const SECRET: &str = "secret";
    pub const STATUS: &str = "status";
    pub const CREATED_MS: &str = "created_ms";
    pub const FAILING_SINCE_MS: &str = "failing_since_ms";
    pub const LAST_ERROR: &str = "last_error";
    pub const DISABLED_REASON: &str = "disabled_reason";
    pub const PLATFORM: &str = "platform";
    pub const ENDPOINT_ARN: &str = "endpoint_arn";
    pub const TOKEN_HASH: &str = "token_hash";
    pub const SETTINGS: &str = "settings";
    pub const OWNER_ID: &str = "owner_id";
    pub const ATTEMPTS: &str = "attempts";
    pub const NEXT_ATTEMPT_MS: &str = "next_attempt_ms";
    pub const UPDATED_MS: &str = "updated_ms";
    pub const FIRST_MS: &str = "first_ms";
    pub const EXPIRES_AT: &str = "expires_at";
}

const WEBHOOK_PREFIX: &str = "webhook#";
const DEVICE_PREFIX: &str = "device#";
const SETTINGS_SK: &str = "settings";
const DELIVERY_PREFIX: &str = "delivery#";

pub fn user_pk(user_id: &str) -> String {
    format!("user#{user_id}")
}

fn alert_pk(alert_id: &str) -> String {
    format!("alert#{alert_id}")
}

fn key(pk: String, sk: String) -> Item {
    HashMap::from([(attr::PK.to_owned(), s(pk)), (attr::SK.to_owned(), s(sk))])
}

/// A stored webhook, secret included (never shown after creation).
#[derive(Clone, Debug, PartialEq)]
pub struct StoredWebhook {
    pub webhook_id: String,
    pub url: String,
    pub name: Option<String>,
    pub secret: String,
    pub status: WebhookStatus,
    pub created_ms: i64,
    pub failing_since_ms: Option<i64>,
    pub last_error: Option<String>,
    pub disabled_reason: Option<String>,
}

impl StoredWebhook {
    pub fn view(&self) -> Webhook {
        Webhook {
            webhook_id: self.webhook_id.clone(),
            name: self.name.clone(),
            url: self.url.clone(),
            status: self.status,
            created_at: format_ms(self.created_ms),
            failing_since: self.failing_since_ms.map(format_ms),
            disabled_reason: self.disabled_reason.clone(),
            last_error: self.last_error.clone(),
        }
    }
}

fn webhook_from(item: &Item) -> Option<StoredWebhook> {
    Some(StoredWebhook {
        webhook_id: get_s(item, attr::SK)?.strip_prefix(WEBHOOK_PREFIX)?.to_owned(),
        url: get_s(item, attr::URL)?,
        name: get_s(item, attr::NAME),
        secret: get_s(item, attr::SECRET)?,
        status: WebhookStatus::parse(&get_s(item, attr::STATUS)?)?,
        created_ms: get_n(item, attr::CREATED_MS)?,
        failing_since_ms: get_n(item, attr::FAILING_SINCE_MS),
        last_error: get_s(item, attr::LAST_ERROR),
        disabled_reason: get_s(item, attr::DISABLED_REASON),
    })
}

/// A stored push device.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredDevice {
    pub device_id: String,
    pub platform: Platform,
    pub endpoint_arn: String,
    pub token_hash: String,
    pub created_ms: i64,
}

impl StoredDevice {
    pub fn view(&self) -> Device {
        Device { device_id: self.device_id.clone(), platform: self.platform, created_at: format_ms(self.created_ms) }
    }
}

fn device_from(item: &Item) -> Option<StoredDevice> {
    Some(StoredDevice {
        device_id: get_s(item, attr::SK)?.strip_prefix(DEVICE_PREFIX)?.to_owned(),
        platform: Platform::parse(&get_s(item, attr::PLATFORM)?)?,
        endpoint_arn: get_s(item, attr::ENDPOINT_ARN)?,
        token_hash: get_s(item, attr::TOKEN_HASH)?,
        created_ms: get_n(item, attr::CREATED_MS)?,
    })
}

/// Everything of an account's notifications, from one query.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Destinations {
    pub webhooks: Vec<StoredWebhook>,
    pub devices: Vec<StoredDevice>,
    pub settings: NotificationSettings,
}

/// The destination id of the owner's e-mail address.
pub const OWNER_EMAIL: &str = "owner";

/// The destination id of a recipient's e-mail address: [`OWNER_EMAIL`] for the collar's
/// owner, `member-<user_id>` for a household member (one delivery each per alert event).
pub fn email_destination(recipient: &str, owner: &str) -> String {
    if recipient == owner { OWNER_EMAIL.to_owned() } else { format!("member-{recipient}") }
}

impl Destinations {
    /// Where an alert of `kind` goes (`None`: a test, everywhere): webhooks not disabled,
    /// the account's address (as `email_id`), registered devices; each once.
    pub fn targets(&self, kind: Option<petty_api::alerts::AlertType>, email_id: &str) -> Vec<(Channel, String)> {
        let wants = |c: Channel| kind.is_none_or(|k| self.settings.wants(k, c));
        let mut out = Vec::new();
        if wants(Channel::Webhook) {
            out.extend(
                self.webhooks
                    .iter()
                    .filter(|w| w.status != WebhookStatus::Disabled)
                    .map(|w| (Channel::Webhook, w.webhook_id.clone())),
            );
        }
        if wants(Channel::Email) {
            out.push((Channel::Email, email_id.to_owned()));
        }
        if wants(Channel::Push) {
            out.extend(self.devices.iter().map(|d| (Channel::Push, d.device_id.clone())));
        }
        out
    }
}

/// Which delivery: an alert event on one channel to one destination.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct DeliveryKey {
    pub alert_id: String,
    pub event: EventKind,
    pub channel: Channel,
    pub destination_id: String,
}

impl DeliveryKey {
    fn item_key(&self) -> Item {
        key(
            alert_pk(&self.alert_id),
            format!("{DELIVERY_PREFIX}{}#{}#{}", self.event.as_str(), self.channel.as_str(), self.destination_id),
        )
    }

    /// The idempotency id receivers see: the same for every attempt of this delivery.
    pub fn idempotency_id(&self) -> String {
        format!("{}:{}:{}:{}", self.alert_id, self.event.as_str(), self.channel.as_str(), self.destination_id)
    }
}

/// A stored delivery.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryRecord {
    pub key: DeliveryKey,
    pub owner_id: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub next_attempt_ms: Option<i64>,
    pub updated_ms: i64,
    pub first_ms: i64,
}

impl DeliveryRecord {
    pub fn view(&self) -> Delivery {
        Delivery {
            event: self.key.event,
            channel: self.key.channel,
            destination_id: self.key.destination_id.clone(),
            status: self.status,
            attempts: self.attempts,
            last_error: self.last_error.clone(),
            next_attempt_at: self.next_attempt_ms.map(format_ms),
            updated_at: format_ms(self.updated_ms),
        }
    }
}

fn delivery_from(item: &Item) -> Option<DeliveryRecord> {
    let alert_id = get_s(item, attr::PK)?.strip_prefix("alert#")?.to_owned();
    let sk = get_s(item, attr::SK)?;
    let mut parts = sk.strip_prefix(DELIVERY_PREFIX)?.splitn(3, '#');
    let event = EventKind::parse(parts.next()?)?;
    let channel = Channel::parse(parts.next()?)?;
    let destination_id = parts.next()?.to_owned();
    Some(DeliveryRecord {
        key: DeliveryKey { alert_id, event, channel, destination_id },
        owner_id: get_s(item, attr::OWNER_ID)?,
        status: DeliveryStatus::parse(&get_s(item, attr::STATUS)?)?,
        attempts: u32::try_from(get_n(item, attr::ATTEMPTS)?).ok()?,
        last_error: get_s(item, attr::LAST_ERROR),
        next_attempt_ms: get_n(item, attr::NEXT_ATTEMPT_MS),
        updated_ms: get_n(item, attr::UPDATED_MS)?,
        first_ms: get_n(item, attr::FIRST_MS)?,
    })
}

/// How an attempt ended, as stored.
#[derive(Clone, Debug, PartialEq)]
pub enum AttemptEnd {
    Delivered,
    /// Another attempt at `next_ms`.
    Retry {
        next_ms: i64,
        error: String,
    },
    /// No more attempts.
    Failed {
        error: String,
    },
}

/// The notifications table.
#[derive(Clone, Debug)]
pub struct NotificationsTable {
    client: Client,
    table: String,
}

impl NotificationsTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// The account's webhooks, devices and settings in one strongly consistent query.
    pub async fn destinations(&self, user_id: &str) -> Result<Destinations, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(user_pk(user_id)))
            .consistent_read(true);
        let mut out = Destinations::default();
        for item in query_all(query).await? {
            let sk = get_s(&item, attr::SK).unwrap_or_default();
            if sk == SETTINGS_SK {
                if let Some(v) = get_s(&item, attr::SETTINGS).and_then(|j| serde_json::from_str(&j).ok()) {
                    out.settings = NotificationSettings::normalized(v);
                }
            } else if sk.starts_with(WEBHOOK_PREFIX) {
                out.webhooks.extend(webhook_from(&item));
            } else if sk.starts_with(DEVICE_PREFIX) {
                out.devices.extend(device_from(&item));
            }
        }
        Ok(out)
    }

    pub async fn put_webhook(&self, user_id: &str, w: &StoredWebhook) -> Result<(), StoreError> {
        let mut item = key(user_pk(user_id), format!("{WEBHOOK_PREFIX}{}", w.webhook_id));
        item.insert(attr::URL.into(), s(&w.url));
        if let Some(name) = &w.name {
            item.insert(attr::NAME.into(), s(name));
        }
        item.insert(attr::SECRET.into(), s(&w.secret));
        item.insert(attr::STATUS.into(), s(w.status.as_str()));
        item.insert(attr::CREATED_MS.into(), n(w.created_ms));
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(sdk_err)?;
        Ok(())
    }

    /// Removes an item of the account; `false` when there was none.
    async fn delete_own(&self, user_id: &str, sk: String) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(user_id), sk)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out.attributes)
    }

    pub async fn delete_webhook(&self, user_id: &str, webhook_id: &str) -> Result<bool, StoreError> {
        Ok(self.delete_own(user_id, format!("{WEBHOOK_PREFIX}{webhook_id}")).await?.is_some())
    }

    /// Records a webhook's final failure: `failing` from the first, `disabled` once it has
    /// been failing for `disable_after_ms`. Returns the new status (`None`: webhook gone).
    pub async fn webhook_failed(
        &self,
        user_id: &str,
        webhook_id: &str,
        error: &str,
        now_ms: i64,
        disable_after_ms: i64,
    ) -> Result<Option<WebhookStatus>, StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(user_id), format!("{WEBHOOK_PREFIX}{webhook_id}"))))
            .update_expression(
                "SET failing_since_ms = if_not_exists(failing_since_ms, :now), last_error = :e, #st = :failing",
            )
            .condition_expression("attribute_exists(pk) AND #st <> :disabled")
            .expression_attribute_names("#st", attr::STATUS)
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":e", s(error))
            .expression_attribute_values(":failing", s(WebhookStatus::Failing.as_str()))
            .expression_attribute_values(":disabled", s(WebhookStatus::Disabled.as_str()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let item = match update.map_err(sdk_err) {
            Ok(out) => out.attributes.unwrap_or_default(),
            // Gone, or already disabled (a delivery that was under way when it was).
            Err(StoreError::ConditionFailed) => {
                let out = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .set_key(Some(key(user_pk(user_id), format!("{WEBHOOK_PREFIX}{webhook_id}"))))
                    .send()
                    .await
                    .map_err(sdk_err)?;
                return Ok(out.item.map(|_| WebhookStatus::Disabled));
            }
            Err(e) => return Err(e),
        };
        let since = get_n(&item, attr::FAILING_SINCE_MS).unwrap_or(now_ms);
        if now_ms - since < disable_after_ms {
            return Ok(Some(WebhookStatus::Failing));
        }
        let reason = format!("deliveries failed since {} (last: {error})", format_ms(since));
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(user_id), format!("{WEBHOOK_PREFIX}{webhook_id}"))))
            .update_expression("SET #st = :disabled, disabled_reason = :r")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#st", attr::STATUS)
            .expression_attribute_values(":disabled", s(WebhookStatus::Disabled.as_str()))
            .expression_attribute_values(":r", s(reason))
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(Some(WebhookStatus::Disabled))
    }

    /// A delivery succeeded: a failing webhook is active again (a disabled one stays so).
    pub async fn webhook_recovered(&self, user_id: &str, webhook_id: &str) -> Result<(), StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(user_pk(user_id), format!("{WEBHOOK_PREFIX}{webhook_id}"))))
            .update_expression("SET #st = :active REMOVE failing_since_ms")
            .condition_expression("#st = :failing")
            .expression_attribute_names("#st", attr::STATUS)
            .expression_attribute_values(":active", s(WebhookStatus::Active.as_str()))
            .expression_attribute_values(":failing", s(WebhookStatus::Failing.as_str()))
            .send()
            .await;
        match update.map_err(sdk_err) {
            Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub async fn put_device(&self, user_id: &str, d: &StoredDevice) -> Result<(), StoreError> {
        let mut item = key(user_pk(user_id), format!("{DEVICE_PREFIX}{}", d.device_id));
        item.insert(attr::PLATFORM.into(), s(d.platform.as_str()));
        item.insert(attr::ENDPOINT_ARN.into(), s(&d.endpoint_arn));
        item.insert(attr::TOKEN_HASH.into(), s(&d.token_hash));
        item.insert(attr::CREATED_MS.into(), n(d.created_ms));
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(sdk_err)?;
        Ok(())
    }

    /// Removes a device; the removed one (its endpoint is to be deleted too).
    pub async fn delete_device(&self, user_id: &str, device_id: &str) -> Result<Option<StoredDevice>, StoreError> {
        Ok(self.delete_own(user_id, format!("{DEVICE_PREFIX}{device_id}")).await?.as_ref().and_then(device_from))
    }

    pub async fn put_settings(&self, user_id: &str, settings: &NotificationSettings) -> Result<(), StoreError> {
        let json = serde_json::to_string(settings).map_err(|e| StoreError::Other(e.to_string()))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(key(user_pk(user_id), SETTINGS_SK.to_owned())))
            .item(attr::SETTINGS, s(json))
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }

    /// Creates the delivery (`pending`, or `held` until `held_until_ms`) unless it exists;
    /// answers the stored record either way and whether this call created it.
    pub async fn claim_delivery(
        &self,
        k: &DeliveryKey,
        owner_id: &str,
        now_ms: i64,
        held_until_ms: Option<i64>,
    ) -> Result<(DeliveryRecord, bool), StoreError> {
        let status = if held_until_ms.is_some() { DeliveryStatus::Held } else { DeliveryStatus::Pending };
        let record = DeliveryRecord {
            key: k.clone(),
            owner_id: owner_id.to_owned(),
            status,
            attempts: 0,
            last_error: None,
            next_attempt_ms: held_until_ms,
            updated_ms: now_ms,
            first_ms: now_ms,
        };
        let mut item = k.item_key();
        item.insert(attr::OWNER_ID.into(), s(owner_id));
        item.insert(attr::STATUS.into(), s(status.as_str()));
        item.insert(attr::ATTEMPTS.into(), n(0));
        item.insert(attr::UPDATED_MS.into(), n(now_ms));
        item.insert(attr::FIRST_MS.into(), n(now_ms));
        item.insert(attr::EXPIRES_AT.into(), n(now_ms / 1000 + HISTORY_DAYS * 86_400));
        if let Some(at) = held_until_ms {
            item.insert(attr::NEXT_ATTEMPT_MS.into(), n(at));
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put.map_err(sdk_err) {
            Ok(_) => Ok((record, true)),
            Err(StoreError::ConditionFailed) => {
                let existing = self.delivery(k).await?.ok_or_else(|| StoreError::Other("delivery vanished".into()))?;
                Ok((existing, false))
            }
            Err(e) => Err(e),
        }
    }

    pub async fn delivery(&self, k: &DeliveryKey) -> Result<Option<DeliveryRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(k.item_key()))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out.item.as_ref().and_then(delivery_from))
    }

    /// Takes attempt `done + 1`: only if exactly `done` attempts were taken and the delivery
    /// is not finished; `false` when another notifier got there first.
    pub async fn begin_attempt(&self, k: &DeliveryKey, done: u32, now_ms: i64) -> Result<bool, StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(k.item_key()))
            .update_expression("SET attempts = :next, #st = :pending, updated_ms = :now REMOVE next_attempt_ms")
            .condition_expression("attempts = :done AND #st IN (:pending, :held, :retrying)")
            .expression_attribute_names("#st", attr::STATUS)
            .expression_attribute_values(":next", n(done + 1))
            .expression_attribute_values(":done", n(done))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":pending", s(DeliveryStatus::Pending.as_str()))
            .expression_attribute_values(":held", s(DeliveryStatus::Held.as_str()))
            .expression_attribute_values(":retrying", s(DeliveryStatus::Retrying.as_str()))
            .send()
            .await;
        match update.map_err(sdk_err) {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Records how attempt `attempt` ended (only while it is still the latest).
    pub async fn end_attempt(
        &self,
        k: &DeliveryKey,
        attempt: u32,
        end: &AttemptEnd,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let (status, next, error) = match end {
            AttemptEnd::Delivered => (DeliveryStatus::Delivered, None, None),
            AttemptEnd::Retry { next_ms, error } => (DeliveryStatus::Retrying, Some(*next_ms), Some(error)),
            AttemptEnd::Failed { error } => (DeliveryStatus::Failed, None, Some(error)),
        };
        let mut sets = vec!["#st = :st", "updated_ms = :now"];
        let mut removes = Vec::new();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(k.item_key()))
            .condition_expression("attempts = :n")
            .expression_attribute_names("#st", attr::STATUS)
            .expression_attribute_values(":st", s(status.as_str()))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":n", n(attempt));
        match next {
            Some(at) => {
                sets.push("next_attempt_ms = :next");
                update = update.expression_attribute_values(":next", n(at));
            }
            None => removes.push("next_attempt_ms"),
        }
        match error {
            Some(e) => {
                sets.push("last_error = :e");
                update = update.expression_attribute_values(":e", s(e));
            }
            None => removes.push("last_error"),
        }
        let mut expression = format!("SET {}", sets.join(", "));
        if !removes.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        match update.update_expression(expression).send().await.map_err(sdk_err) {
            Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// An alert's delivery log, ordered by event, channel and destination.
    pub async fn deliveries(&self, alert_id: &str) -> Result<Vec<DeliveryRecord>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :d)")
            .expression_attribute_values(":pk", s(alert_pk(alert_id)))
            .expression_attribute_values(":d", s(DELIVERY_PREFIX));
        Ok(query_all(query).await?.iter().filter_map(delivery_from).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_items_round_trip_their_key() {
        let k = DeliveryKey {
            alert_id: "DM-000001.zone_exit.home.1700000000000".into(),
            event: EventKind::Opened,
            channel: Channel::Webhook,
            destination_id: "wh_1#odd".into(),
        };
        let mut item = k.item_key();
        item.insert(attr::OWNER_ID.into(), s("u1"));
        item.insert(attr::STATUS.into(), s("retrying"));
        item.insert(attr::ATTEMPTS.into(), n(2));
        item.insert(attr::UPDATED_MS.into(), n(5));
        item.insert(attr::FIRST_MS.into(), n(1));
        let r = delivery_from(&item).unwrap();
        assert_eq!(r.key, k);
        assert_eq!((r.status, r.attempts), (DeliveryStatus::Retrying, 2));
        assert_eq!(k.idempotency_id(), "DM-000001.zone_exit.home.1700000000000:alert.opened:webhook:wh_1#odd");
    }
}
