//! DynamoDB adapters: collars (owner, pet) and readings (by collar and reading time).
//!
//! - collars: `collar_id` → `owner_id`, pet; GSI `owner_id-index` (`owner_id`, `collar_id`).
//! - readings: `collar_id` + `ts` (Unix ms of the reading itself) → values; TTL `expires_at`.
//!   `ts = 0` holds the collar's latest reading, replaced only by a newer one (conditional).

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{KeysAndAttributes, PutRequest, ReturnValue, WriteRequest};
use petty_shared::dynamo::{
    Backoff, BatchWriteReport, Item, StoreError, batch_write, get_n, get_s, n, query_page, s, sdk_err as err,
};

use crate::domain::reading::{Activity, Reading};
use petty_shared::collar::{Collar, CollarReader, Pet, collar_from};

/// The sort key of a collar's latest-reading item.
pub const LATEST_TS: i64 = 0;

/// A reading's stored attributes.
fn reading_item(r: &Reading, expires_at: i64) -> Item {
    let mut item = HashMap::from([
        ("collar_id".to_owned(), s(&r.collar_id)),
        ("ts".to_owned(), n(r.timestamp_ms)),
        ("hr".to_owned(), n(r.heart_rate)),
        ("act".to_owned(), n(r.activity_level as u8)),
        ("lon".to_owned(), n(r.lon)),
        ("lat".to_owned(), n(r.lat)),
        ("expires_at".to_owned(), n(expires_at)),
    ]);
    for (key, value) in [("temp", r.temperature_c), ("batt", r.battery_pct), ("acc", r.accuracy_m)] {
        if let Some(v) = value {
            item.insert(key.to_owned(), n(v));
        }
    }
    item
}

fn float(item: &Item, key: &str) -> Option<f64> {
    item.get(key).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

/// A stored reading back as the domain type (`ts` is the reading's time).
pub fn reading_from(item: &Item, ts_key: &str) -> Option<Reading> {
    Some(Reading {
        collar_id: get_s(item, "collar_id")?,
        timestamp_ms: get_n(item, ts_key)?,
        heart_rate: get_n(item, "hr")? as u16,
        activity_level: match get_n(item, "act")? {
            0 => Activity::Rest,
            1 => Activity::Walk,
            _ => Activity::Play,
        },
        lon: float(item, "lon")?,
        lat: float(item, "lat")?,
        temperature_c: float(item, "temp"),
        battery_pct: float(item, "batt"),
        accuracy_m: float(item, "acc"),
    })
}

/// The data processor's storage.
#[derive(Clone, Debug)]
pub struct DataStore {
    client: Client,
    collars: String,
    readings: String,
    retention_s: i64,
    reader: CollarReader,
}

impl DataStore {
    /// Over the given tables.
    pub fn new(client: Client, cfg: &crate::DataConfig) -> Self {
        Self {
            reader: CollarReader::new(client.clone(), cfg.collars_table.clone()),
            client,
            collars: cfg.collars_table.clone(),
            readings: cfg.readings_table.clone(),
            retention_s: cfg.retention_days * 86_400,
        }
    }

    /// Claims an unclaimed collar for its owner; `ConditionFailed` when it is claimed.
    pub async fn claim(&self, collar: &Collar) -> Result<(), StoreError> {
        let pet = serde_json::to_string(&collar.pet).map_err(|e| StoreError::Other(e.to_string()))?;
        self.client
            .put_item()
            .table_name(&self.collars)
            .item("collar_id", s(&collar.collar_id))
            .item("owner_id", s(&collar.owner_id))
            .item("pet", s(pet))
            .item("created_at", n(collar.created_at))
            .item("updated_at", n(collar.updated_at))
            .condition_expression("attribute_not_exists(collar_id)")
            .send()
            .await
            .map_err(err)?;
        Ok(())
    }

    /// The collar, whoever owns it.
    pub async fn collar(&self, collar_id: &str) -> Result<Option<Collar>, StoreError> {
        self.reader.get(collar_id).await
    }

    /// The ownership check.
    pub fn collars(&self) -> &CollarReader {
        &self.reader
    }

    /// One page of an owner's collars, and where to continue.
    pub async fn collars_of(
        &self,
        owner: &str,
        limit: i32,
        start: Option<Item>,
    ) -> Result<(Vec<Collar>, Option<Item>), StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.collars)
            .index_name("owner_id-index")
            .key_condition_expression("owner_id = :o")
            .expression_attribute_values(":o", s(owner))
            .limit(limit);
        let (items, next) = query_page(query, start).await?;
        Ok((items.iter().filter_map(collar_from).collect(), next))
    }

    /// Replaces the pet profile of a collar `owner` owns; `ConditionFailed` otherwise.
    pub async fn update_pet(&self, collar_id: &str, owner: &str, pet: &Pet, now: i64) -> Result<Collar, StoreError> {
        let pet = serde_json::to_string(pet).map_err(|e| StoreError::Other(e.to_string()))?;
        let out = self
            .client
            .update_item()
            .table_name(&self.collars)
            .key("collar_id", s(collar_id))
            .update_expression("SET pet = :pet, updated_at = :now")
            .condition_expression("owner_id = :me")
            .expression_attribute_values(":pet", s(pet))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":me", s(owner))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(err)?;
        out.attributes.as_ref().and_then(collar_from).ok_or_else(|| StoreError::Other("no attributes".into()))
    }

    /// Releases a collar `owner` owns; `ConditionFailed` otherwise.
    pub async fn release(&self, collar_id: &str, owner: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.collars)
            .key("collar_id", s(collar_id))
            .condition_expression("owner_id = :me")
            .expression_attribute_values(":me", s(owner))
            .send()
            .await
            .map_err(err)?;
        Ok(())
    }

    /// Which of `keys` (collar, ts) are already stored (strongly consistent).
    pub async fn existing(&self, keys: &[(String, i64)]) -> Result<HashSet<(String, i64)>, StoreError> {
        let mut found = HashSet::new();
        for chunk in keys.chunks(100) {
            let mut pending: Vec<Item> = chunk
                .iter()
                .map(|(c, t)| HashMap::from([("collar_id".to_owned(), s(c)), ("ts".to_owned(), n(t))]))
                .collect();
            let mut attempt = 0;
            while !pending.is_empty() {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .projection_expression("collar_id, ts")
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Other(e.to_string()))?;
                let out =
                    self.client.batch_get_item().request_items(&self.readings, request).send().await.map_err(err)?;
                for item in out.responses.and_then(|mut r| r.remove(&self.readings)).unwrap_or_default() {
                    if let (Some(c), Some(t)) = (get_s(&item, "collar_id"), get_n(&item, "ts")) {
                        found.insert((c, t));
                    }
                }
                pending =
                    out.unprocessed_keys.and_then(|mut u| u.remove(&self.readings)).map(|k| k.keys).unwrap_or_default();
                if !pending.is_empty() {
                    tokio::time::sleep(Backoff::default().delay(attempt)).await;
                    attempt += 1;
                }
            }
        }
        Ok(found)
    }

    /// Writes readings (chunks of 25, `UnprocessedItems` retried until `deadline`).
    pub async fn put_readings(&self, readings: &[&Reading], deadline: Instant) -> BatchWriteReport {
        let requests = readings
            .iter()
            .map(|r| {
                let item = reading_item(r, r.timestamp_ms / 1000 + self.retention_s);
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().expect("item"))
                    .build()
            })
            .collect();
        batch_write(&self.client, &self.readings, requests, deadline, Backoff::default()).await
    }

    /// Makes `r` the collar's latest reading unless a newer one is stored (late readings
    /// never overwrite newer ones).
    pub async fn offer_latest(&self, r: &Reading) -> Result<bool, StoreError> {
        let mut item = reading_item(r, r.timestamp_ms / 1000 + self.retention_s);
        item.insert("ts".into(), n(LATEST_TS));
        item.insert("reading_ts".into(), n(r.timestamp_ms));
        let result = self
            .client
            .put_item()
            .table_name(&self.readings)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(reading_ts) OR reading_ts < :t")
            .expression_attribute_values(":t", n(r.timestamp_ms))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match err(e) {
                StoreError::ConditionFailed => Ok(false),
                other => Err(other),
            },
        }
    }

    /// The collar's latest reading.
    pub async fn latest(&self, collar_id: &str) -> Result<Option<Reading>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.readings)
            .key("collar_id", s(collar_id))
            .key("ts", n(LATEST_TS))
            .consistent_read(true)
            .send()
            .await
            .map_err(err)?;
        Ok(out.item.as_ref().and_then(|i| reading_from(i, "reading_ts")))
    }
}
