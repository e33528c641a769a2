//! The alerts table: per collar, its safe zones, its alert settings, the evaluator's state and
//! its alerts. Partition `collar_id` (S), sort key `sk` (S):
//!
//! - `alert#<opened ms, 13 digits>#<type>#<zone or ->`: one alert (`alert_id`, `type`,
//!   `zone_id`, `status`, `opened_ms`, `value`, `threshold`, `unit`, `reading` (JSON), and once
//!   set `ack_ms`, `resolved_ms`, `resolved_by`); TTL `expires_at` 90 days after it opened,
//!   moved to 90 days after it resolved. Newest first is a reverse query.
//! - `settings`: `settings` (JSON of the wire type).
//! - `state`: `state` (JSON of the rules' state), `version` (N, optimistic concurrency between
//!   the evaluator and the sweep), `claimed_at` (N, the ownership it belongs to) and, while
//!   the collar is watched for silence, `sweep_shard` (S) + `silent_at` (N): the sparse
//!   `silent-index` the sweep queries.
//! - `zone#<zone_id>`: `zone` (JSON of the spec), `updated_ms`.
//!
//! `settings` < `state` < `zone#…`, so one query from `settings` on reads all the evaluator
//! needs, and `alert#…` sorts before them all.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use petty_alert_rules::rules::{AlertKey, CollarState, NewAlert, Resolution};
use petty_api::alerts::{self as wire, AlertSettings, AlertStatus, AlertType, ZoneSpec};

use crate::dynamo::{Item, StoreError, get_n, get_s, n, query_all, s, sdk_err};

/// Alerts are kept this long after they open or resolve.
pub const HISTORY_DAYS: i64 = 90;
/// Shards of the silent index (spreads the sweep's reads over partitions).
pub const SWEEP_SHARDS: u32 = 4;
/// The sparse index of collars watched for silence.
pub const SILENT_INDEX: &str = "silent-index";

mod attr {
    pub const COLLAR_ID: &str = "collar_id";
    pub const SK: &str = "sk";
    pub const ALERT_ID: &str = "alert_id";
    pub const TYPE: &str = "type";
    pub const ZONE_ID: &str = "zone_id";
    pub const STATUS: &str = "status";
    pub const OPENED_MS: &str = "opened_ms";
    pub const VALUE: &str = "value";
    pub const THRESHOLD: &str = "threshold";
    pub const UNIT: &str = "unit";
    pub const READING: &str = "reading";
    pub const ACK_MS: &str = "ack_ms";
    pub const RESOLVED_MS: &str = "resolved_ms";
    pub const RESOLVED_BY: &str = "resolved_by";
    pub const EXPIRES_AT: &str = "expires_at";
    pub const SETTINGS: &str = "settings";
    pub const STATE: &str = "state";
    pub const VERSION: &str = "version";
    pub const CLAIMED_AT: &str = "claimed_at";
    pub const SWEEP_SHARD: &str = "sweep_shard";
    pub const SILENT_AT: &str = "silent_at";
    pub const ZONE: &str = "zone";
    pub const UPDATED_MS: &str = "updated_ms";
}

const SETTINGS_SK: &str = "settings";
const STATE_SK: &str = "state";
const ZONE_PREFIX: &str = "zone#";
const ALERT_PREFIX: &str = "alert#";

fn alert_sk(opened_ms: i64, kind: AlertType, zone_id: Option<&str>) -> String {
    format!("{ALERT_PREFIX}{opened_ms:013}#{}#{}", kind.as_str(), zone_id.unwrap_or("-"))
}

fn key(collar_id: &str, sk: &str) -> Item {
    HashMap::from([(attr::COLLAR_ID.to_owned(), s(collar_id)), (attr::SK.to_owned(), s(sk))])
}

fn json<T: serde::Serialize>(v: &T) -> Result<AttributeValue, StoreError> {
    serde_json::to_string(v).map(s).map_err(|e| StoreError::Other(e.to_string()))
}

fn float(item: &Item, name: &str) -> Option<f64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

fn expires_at(from_ms: i64) -> i64 {
    from_ms / 1000 + HISTORY_DAYS * 86_400
}

fn shard_of(collar_id: &str) -> String {
    let h = collar_id.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("s{}", h % SWEEP_SHARDS)
}

/// A stored alert.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRecord {
    pub alert_id: String,
    pub collar_id: String,
    pub kind: AlertType,
    pub zone_id: Option<String>,
    pub status: AlertStatus,
    pub opened_ms: i64,
    pub value: f64,
    pub threshold: f64,
    pub unit: String,
    pub reading: Option<wire::AlertReading>,
    pub acknowledged_ms: Option<i64>,
    pub resolved_ms: Option<i64>,
    pub resolved_by: Option<String>,
}

impl AlertRecord {
    /// As `GET /v1/alerts` shows it.
    pub fn view(&self) -> wire::Alert {
        use petty_api::format_ms;
        wire::Alert {
            alert_id: self.alert_id.clone(),
            kind: self.kind,
            status: self.status,
            collar_id: self.collar_id.clone(),
            zone_id: self.zone_id.clone(),
            opened_at: format_ms(self.opened_ms),
            value: self.value,
            threshold: self.threshold,
            unit: self.unit.clone(),
            reading: self.reading.clone(),
            acknowledged_at: self.acknowledged_ms.map(format_ms),
            resolved_at: self.resolved_ms.map(format_ms),
            resolved_by: self.resolved_by.clone(),
        }
    }
}

/// An alert item as a stream image carries it (the notifier's input).
pub fn alert_from_image(item: &Item) -> Option<AlertRecord> {
    record_from(item)
}

fn record_from(item: &Item) -> Option<AlertRecord> {
    Some(AlertRecord {
        alert_id: get_s(item, attr::ALERT_ID)?,
        collar_id: get_s(item, attr::COLLAR_ID)?,
        kind: AlertType::parse(&get_s(item, attr::TYPE)?)?,
        zone_id: get_s(item, attr::ZONE_ID),
        status: AlertStatus::parse(&get_s(item, attr::STATUS)?)?,
        opened_ms: get_n(item, attr::OPENED_MS)?,
        value: float(item, attr::VALUE)?,
        threshold: float(item, attr::THRESHOLD)?,
        unit: get_s(item, attr::UNIT)?,
        reading: get_s(item, attr::READING).and_then(|r| serde_json::from_str(&r).ok()),
        acknowledged_ms: get_n(item, attr::ACK_MS),
        resolved_ms: get_n(item, attr::RESOLVED_MS),
        resolved_by: get_s(item, attr::RESOLVED_BY),
    })
}

/// The rules' state as stored, with what guards it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoredState {
    pub state: CollarState,
    /// 0 when nothing is stored yet.
    pub version: i64,
    /// The claim (Unix s) of the ownership the state belongs to.
    pub claimed_at: i64,
}

/// A stored zone: its id, spec and last change.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredZone {
    pub zone_id: String,
    pub spec: ZoneSpec,
    pub updated_ms: i64,
}

impl StoredZone {
    pub fn view(&self) -> wire::Zone {
        wire::Zone {
            zone_id: self.zone_id.clone(),
            spec: self.spec.clone(),
            updated_at: petty_api::format_ms(self.updated_ms),
        }
    }
}

/// Everything the evaluator needs of a collar, from one query.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CollarAlerting {
    pub settings: AlertSettings,
    pub zones: Vec<StoredZone>,
    pub state: StoredState,
}

fn zone_from(item: &Item) -> Option<StoredZone> {
    let sk = get_s(item, attr::SK)?;
    Some(StoredZone {
        zone_id: sk.strip_prefix(ZONE_PREFIX)?.to_owned(),
        spec: serde_json::from_str(&get_s(item, attr::ZONE)?).ok()?,
        updated_ms: get_n(item, attr::UPDATED_MS)?,
    })
}

/// The alerts table.
#[derive(Clone, Debug)]
pub struct AlertsTable {
    client: Client,
    table: String,
}

impl AlertsTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// Settings, state and zones in one strongly consistent query (defaults when absent).
    pub async fn collar_alerting(&self, collar_id: &str) -> Result<CollarAlerting, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("collar_id = :c AND sk >= :from")
            .expression_attribute_values(":c", s(collar_id))
            .expression_attribute_values(":from", s(SETTINGS_SK))
            .consistent_read(true);
        let mut out = CollarAlerting::default();
        for item in query_all(query).await? {
            match get_s(&item, attr::SK).as_deref() {
                Some(SETTINGS_SK) => {
                    if let Some(v) = get_s(&item, attr::SETTINGS).and_then(|j| serde_json::from_str(&j).ok()) {
                        out.settings = v;
                    }
                }
                Some(STATE_SK) => {
                    out.state = StoredState {
                        state: get_s(&item, attr::STATE)
                            .and_then(|j| serde_json::from_str(&j).ok())
                            .unwrap_or_default(),
                        version: get_n(&item, attr::VERSION).unwrap_or(0),
                        claimed_at: get_n(&item, attr::CLAIMED_AT).unwrap_or(0),
                    }
                }
                _ => out.zones.extend(zone_from(&item)),
            }
        }
        Ok(out)
    }

    /// The collar's zones, by id.
    pub async fn zones(&self, collar_id: &str) -> Result<Vec<StoredZone>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("collar_id = :c AND begins_with(sk, :p)")
            .expression_attribute_values(":c", s(collar_id))
            .expression_attribute_values(":p", s(ZONE_PREFIX))
            .consistent_read(true);
        Ok(query_all(query).await?.iter().filter_map(zone_from).collect())
    }

    /// Creates or replaces a zone.
    pub async fn put_zone(&self, collar_id: &str, zone: &StoredZone) -> Result<(), StoreError> {
        let mut item = key(collar_id, &format!("{ZONE_PREFIX}{}", zone.zone_id));
        item.insert(attr::ZONE.into(), json(&zone.spec)?);
        item.insert(attr::UPDATED_MS.into(), n(zone.updated_ms));
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(sdk_err)?;
        Ok(())
    }

    /// Removes a zone; `false` when there was none.
    pub async fn delete_zone(&self, collar_id: &str, zone_id: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(collar_id, &format!("{ZONE_PREFIX}{zone_id}"))))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }

    /// The collar's settings (the defaults when never set).
    pub async fn alert_settings(&self, collar_id: &str) -> Result<AlertSettings, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(collar_id, SETTINGS_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out
            .item
            .and_then(|i| get_s(&i, attr::SETTINGS))
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default())
    }

    /// Replaces the collar's settings.
    pub async fn put_alert_settings(&self, collar_id: &str, settings: &AlertSettings) -> Result<(), StoreError> {
        let mut item = key(collar_id, SETTINGS_SK);
        item.insert(attr::SETTINGS.into(), json(settings)?);
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(sdk_err)?;
        Ok(())
    }

    /// Saves the state if nobody saved another since `expected` was read (its version);
    /// `silent_at` indexes the collar for the sweep (`None` takes it out).
    /// `ConditionFailed` when the version moved.
    pub async fn save_state(
        &self,
        collar_id: &str,
        next: &StoredState,
        expected_version: i64,
        silent_at: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut item = key(collar_id, STATE_SK);
        item.insert(attr::STATE.into(), json(&next.state)?);
        item.insert(attr::VERSION.into(), n(expected_version + 1));
        item.insert(attr::CLAIMED_AT.into(), n(next.claimed_at));
        if let Some(at) = silent_at {
            item.insert(attr::SWEEP_SHARD.into(), s(shard_of(collar_id)));
            item.insert(attr::SILENT_AT.into(), n(at));
        }
        let put = self.client.put_item().table_name(&self.table).set_item(Some(item));
        let put = if expected_version == 0 {
            put.condition_expression("attribute_not_exists(sk)")
        } else {
            put.condition_expression("#v = :v")
                .expression_attribute_names("#v", attr::VERSION)
                .expression_attribute_values(":v", n(expected_version))
        };
        put.send().await.map_err(sdk_err)?;
        Ok(())
    }

    /// Stores a newly opened alert; `false` when it was already stored (a re-delivery).
    pub async fn open_alert(&self, collar_id: &str, alert: &NewAlert) -> Result<bool, StoreError> {
        let mut item = key(collar_id, &alert_sk(alert.opened_ms, alert.kind, alert.zone_id.as_deref()));
        item.extend([
            (attr::ALERT_ID.to_owned(), s(&alert.alert_id)),
            (attr::TYPE.to_owned(), s(alert.kind.as_str())),
            (attr::STATUS.to_owned(), s(AlertStatus::Open.as_str())),
            (attr::OPENED_MS.to_owned(), n(alert.opened_ms)),
            (attr::VALUE.to_owned(), n(alert.value)),
            (attr::THRESHOLD.to_owned(), n(alert.threshold)),
            (attr::UNIT.to_owned(), s(alert.unit)),
            (attr::EXPIRES_AT.to_owned(), n(expires_at(alert.opened_ms))),
        ]);
        if let Some(zone) = &alert.zone_id {
            item.insert(attr::ZONE_ID.into(), s(zone));
        }
        if let Some(r) = &alert.reading {
            let view = wire::AlertReading {
                timestamp: petty_api::format_ms(r.ts_ms),
                location: petty_api::Point::new(r.lon, r.lat),
                heart_rate: r.heart_rate,
                activity_level: r.activity,
                temperature_c: r.temperature_c,
                battery_pct: r.battery_pct,
                accuracy_m: r.accuracy_m,
            };
            item.insert(attr::READING.into(), json(&view)?);
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(sk)")
            .send()
            .await;
        match put.map_err(sdk_err) {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Marks an alert resolved (idempotent: a resolved alert keeps its first resolution).
    pub async fn resolve_alert(&self, collar_id: &str, r: &Resolution) -> Result<(), StoreError> {
        let Some(k) = petty_alert_rules::rules::parse_alert_id(&r.alert_id) else {
            return Err(StoreError::Other(format!("malformed alert id {}", r.alert_id)));
        };
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(collar_id, &alert_sk(k.opened_ms, k.kind, k.zone_id.as_deref()))))
            .update_expression("SET #st = :resolved, resolved_ms = :at, resolved_by = :by, expires_at = :exp")
            .condition_expression("attribute_exists(sk) AND #st <> :resolved")
            .expression_attribute_names("#st", attr::STATUS)
            .expression_attribute_values(":resolved", s(AlertStatus::Resolved.as_str()))
            .expression_attribute_values(":at", n(r.at_ms))
            .expression_attribute_values(":by", s(r.by))
            .expression_attribute_values(":exp", n(expires_at(r.at_ms)))
            .send()
            .await;
        match update.map_err(sdk_err) {
            Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// One alert by its key.
    pub async fn alert(&self, k: &AlertKey) -> Result<Option<AlertRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(&k.collar_id, &alert_sk(k.opened_ms, k.kind, k.zone_id.as_deref()))))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out.item.as_ref().and_then(record_from))
    }

    /// Acknowledges an open alert (an acknowledged or resolved one is answered unchanged);
    /// `None` when there is no such alert.
    pub async fn acknowledge(&self, k: &AlertKey, now_ms: i64) -> Result<Option<AlertRecord>, StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&k.collar_id, &alert_sk(k.opened_ms, k.kind, k.zone_id.as_deref()))))
            .update_expression("SET #st = :ack, ack_ms = :now")
            .condition_expression("#st = :open")
            .expression_attribute_names("#st", attr::STATUS)
            .expression_attribute_values(":ack", s(AlertStatus::Acknowledged.as_str()))
            .expression_attribute_values(":open", s(AlertStatus::Open.as_str()))
            .expression_attribute_values(":now", n(now_ms))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match update.map_err(sdk_err) {
            Ok(out) => Ok(out.attributes.as_ref().and_then(record_from)),
            Err(StoreError::ConditionFailed) => self.alert(k).await,
            Err(e) => Err(e),
        }
    }

    /// Up to `limit` of the collar's alerts opened in `[from_ms, to_ms)`, newest first,
    /// strictly older than `before` (an alert sort key, for paging across collars), with
    /// `status` when given.
    pub async fn alerts_page(
        &self,
        collar_id: &str,
        (from_ms, to_ms): (i64, i64),
        before: Option<&str>,
        status: Option<AlertStatus>,
        limit: usize,
    ) -> Result<Vec<(String, AlertRecord)>, StoreError> {
        let lo = format!("{ALERT_PREFIX}{:013}", from_ms.max(0));
        let hi = format!("{ALERT_PREFIX}{:013}", to_ms.max(0));
        let hi = match before {
            Some(b) if b < hi.as_str() => b.to_owned(),
            _ => hi,
        };
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("collar_id = :c AND sk BETWEEN :lo AND :hi")
            .expression_attribute_values(":c", s(collar_id))
            .expression_attribute_values(":lo", s(lo))
            .expression_attribute_values(":hi", s(&hi))
            .scan_index_forward(false);
        if let Some(st) = status {
            query = query
                .filter_expression("#st = :st")
                .expression_attribute_names("#st", attr::STATUS)
                .expression_attribute_values(":st", s(st.as_str()));
        }
        let mut pages = query.into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| StoreError::from_sdk(&e))?;
            for item in page.items.unwrap_or_default() {
                let Some(sk) = get_s(&item, attr::SK) else { continue };
                // BETWEEN is inclusive; `before` and `to` are exclusive.
                if sk >= hi {
                    continue;
                }
                if let Some(r) = record_from(&item) {
                    out.push((sk, r));
                }
            }
            if out.len() >= limit {
                break;
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    /// Collars of one sweep shard silent since `now_ms` or longer (at most `limit`).
    pub async fn silent_collars(&self, shard: u32, now_ms: i64, limit: i32) -> Result<Vec<(String, i64)>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(SILENT_INDEX)
            .key_condition_expression("sweep_shard = :s AND silent_at <= :now")
            .expression_attribute_values(":s", s(format!("s{shard}")))
            .expression_attribute_values(":now", n(now_ms))
            .limit(limit)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|i| Some((get_s(i, attr::COLLAR_ID)?, get_n(i, attr::SILENT_AT)?)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_order_alerts_by_time_before_settings_state_and_zones() {
        let a = alert_sk(1_764_633_600_000, AlertType::ZoneExit, Some("home"));
        let b = alert_sk(1_764_633_600_001, AlertType::BatteryLow, None);
        assert_eq!(a, "alert#1764633600000#zone_exit#home");
        assert!(a < b && b.as_str() < SETTINGS_SK && SETTINGS_SK < STATE_SK && STATE_SK < "zone#a");
        assert!(alert_sk(99, AlertType::BatteryLow, None) < a, "13 digits sort numerically");
        let shards: std::collections::HashSet<String> = (0..50).map(|i| shard_of(&format!("DM-{i:06}"))).collect();
        assert_eq!(shards.len(), SWEEP_SHARDS as usize);
    }
}
