//! The readings table: one item per reading, keyed by the collar and the reading's own time.
//!
//! - `collar_id` (S) + `ts` (N, Unix ms of the reading) → `hr`, `act` (0 rest, 1 walk,
//!   2 play), `lon`, `lat`, optional `temp`, `batt`, `acc`; TTL `expires_at` (the reading's
//!   time plus the retention).
//! - `ts = 0` holds the collar's latest reading (its time in `reading_ts`), replaced only by
//!   a newer one through a conditional put, so late readings never move it back.
//!
//! Ingestion writes through [`ReadingsTable::existing`], [`ReadingsTable::put_all`] and
//! [`ReadingsTable::offer_latest`]; realtime reads [`ReadingsTable::latest_reading`]; the
//! timeline reads [`ReadingsTable::samples_by_day`]; the alert evaluator decodes the table's
//! stream records with [`reading_from_image`]. No other module names these attributes.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{KeysAndAttributes, PutRequest, WriteRequest};
use petty_behaviour::Sample;

use crate::dynamo::{Backoff, BatchWriteReport, Item, StoreError, batch_write, get_n, get_s, n, s, sdk_err};
use crate::reading::{Activity, Reading};

/// The sort key of a collar's latest-reading item.
pub const LATEST_TS: i64 = 0;
/// Items per `Query` page when reading a day: ~50 KB on DynamoDB. It bounds each call's time
/// where a page costs more: moto takes ~0.6 s per 500 items, inside the SDK's 3 s attempt.
pub const PAGE_ITEMS: i32 = 500;
const DAY_MS: i64 = 86_400_000;

/// Attribute names.
mod attr {
    pub const COLLAR_ID: &str = "collar_id";
    pub const TS: &str = "ts";
    pub const HEART_RATE: &str = "hr";
    pub const ACTIVITY: &str = "act";
    pub const LON: &str = "lon";
    pub const LAT: &str = "lat";
    pub const TEMPERATURE: &str = "temp";
    pub const BATTERY: &str = "batt";
    pub const ACCURACY: &str = "acc";
    /// On the latest-reading item only: the firmware it reported.
    pub const FIRMWARE: &str = "fw";
    pub const EXPIRES_AT: &str = "expires_at";
    /// On the latest-reading item only: the reading's own time.
    pub const READING_TS: &str = "reading_ts";
}

/// The key of one reading.
fn key(collar_id: &str, ts: i64) -> Item {
    HashMap::from([(attr::COLLAR_ID.to_owned(), s(collar_id)), (attr::TS.to_owned(), n(ts))])
}

/// A reading's stored attributes.
fn reading_item(r: &Reading, expires_at: i64) -> Item {
    let mut item = key(&r.collar_id, r.timestamp_ms);
    item.extend([
        (attr::HEART_RATE.to_owned(), n(r.heart_rate)),
        (attr::ACTIVITY.to_owned(), n(r.activity_level as u8)),
        (attr::LON.to_owned(), n(r.lon)),
        (attr::LAT.to_owned(), n(r.lat)),
        (attr::EXPIRES_AT.to_owned(), n(expires_at)),
    ]);
    for (name, value) in
        [(attr::TEMPERATURE, r.temperature_c), (attr::BATTERY, r.battery_pct), (attr::ACCURACY, r.accuracy_m)]
    {
        if let Some(v) = value {
            item.insert(name.to_owned(), n(v));
        }
    }
    item
}

fn float(item: &Item, name: &str) -> Option<f64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

fn activity(code: i64) -> Option<Activity> {
    match code {
        0 => Some(Activity::Rest),
        1 => Some(Activity::Walk),
        2 => Some(Activity::Play),
        _ => None,
    }
}

/// A stored reading back as the domain type; `None` when an attribute is missing or malformed.
fn reading_from(item: &Item, ts_attr: &str) -> Option<Reading> {
    Some(Reading {
        collar_id: get_s(item, attr::COLLAR_ID)?,
        timestamp_ms: get_n(item, ts_attr)?,
        heart_rate: u16::try_from(get_n(item, attr::HEART_RATE)?).ok()?,
        activity_level: activity(get_n(item, attr::ACTIVITY)?)?,
        lon: float(item, attr::LON)?,
        lat: float(item, attr::LAT)?,
        temperature_c: float(item, attr::TEMPERATURE),
        battery_pct: float(item, attr::BATTERY),
        accuracy_m: float(item, attr::ACCURACY),
        firmware: get_s(item, attr::FIRMWARE),
    })
}

/// The reading a readings-table stream record's `NewImage` carries; `None` for the
/// latest-reading item (a copy, not a reading) or a malformed image.
pub fn reading_from_image(image: &Item) -> Option<Reading> {
    reading_from(image, attr::TS).filter(|r| r.timestamp_ms != LATEST_TS)
}

/// The `NewImage` (DynamoDB JSON) of the stream record a stored reading produces (for the
/// tests that drive the evaluator with real event shapes).
pub fn image_json(r: &Reading, retention_days: i64) -> serde_json::Value {
    crate::dynamo::item_to_json(&reading_item(r, r.timestamp_ms / 1000 + retention_days * 86_400))
}

/// A stored reading as the behaviour model's [`Sample`]; `None` when malformed.
fn sample_from(item: &Item) -> Option<Sample> {
    Some(Sample {
        ts_ms: get_n(item, attr::TS)?,
        heart_rate: u16::try_from(get_n(item, attr::HEART_RATE)?).ok()?,
        activity: activity(get_n(item, attr::ACTIVITY)?)? as u8,
        lat: float(item, attr::LAT)?,
        lon: float(item, attr::LON)?,
    })
}

/// What a read of samples found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Samples {
    /// Sorted by time, one per timestamp (the table's key guarantees both).
    pub samples: Vec<Sample>,
    /// DynamoDB pages read.
    pub pages: u32,
    /// Items that could not be read as a reading (logged, skipped).
    pub malformed: u32,
}

/// The readings table.
#[derive(Clone, Debug)]
pub struct ReadingsTable {
    client: Client,
    table: String,
    retention_s: i64,
    /// Where ingestion marks finished days stale (the timeline-events table).
    days: Option<crate::tables::timeline_events::TimelineEventsTable>,
}

impl ReadingsTable {
    /// Over `table`; readings expire `retention_days` after their own time.
    pub fn new(client: Client, table: impl Into<String>, retention_days: i64) -> Self {
        Self { client, table: table.into(), retention_s: retention_days * 86_400, days: None }
    }

    /// For ingestion: late readings mark their days stale in `days`.
    pub fn with_days(self, days: crate::tables::timeline_events::TimelineEventsTable) -> Self {
        Self { days: Some(days), ..self }
    }

    /// Marks a finished day stale (see [`crate::ingest::store_valid`]); an error for a table
    /// built without [`ReadingsTable::with_days`], so a wiring mistake cannot lose a mark.
    pub async fn mark_stale(&self, collar_id: &str, day_ms: i64, now_ms: i64) -> Result<(), StoreError> {
        match &self.days {
            Some(days) => days.mark_stale(collar_id, day_ms, now_ms).await,
            None => Err(StoreError::Unavailable("readings table wired without the days table".into())),
        }
    }

    fn expires_at(&self, r: &Reading) -> i64 {
        r.timestamp_ms / 1000 + self.retention_s
    }

    /// Which of `keys` (collar, ts) are already stored (strongly consistent `BatchGetItem`).
    pub async fn existing(&self, keys: &[(String, i64)]) -> Result<HashSet<(String, i64)>, StoreError> {
        let mut found = HashSet::new();
        for chunk in keys.chunks(100) {
            let mut pending: Vec<Item> = chunk.iter().map(|(c, t)| key(c, *t)).collect();
            let mut attempt = 0;
            while !pending.is_empty() {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .projection_expression("collar_id, ts")
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Other(e.to_string()))?;
                let out =
                    self.client.batch_get_item().request_items(&self.table, request).send().await.map_err(sdk_err)?;
                for item in out.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default() {
                    if let (Some(c), Some(t)) = (get_s(&item, attr::COLLAR_ID), get_n(&item, attr::TS)) {
                        found.insert((c, t));
                    }
                }
                pending =
                    out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)).map(|k| k.keys).unwrap_or_default();
                if !pending.is_empty() {
                    tokio::time::sleep(Backoff::default().delay(attempt)).await;
                    attempt += 1;
                }
            }
        }
        Ok(found)
    }

    /// Writes readings (chunks of 25, `UnprocessedItems` retried until `deadline`).
    pub async fn put_all(&self, readings: &[&Reading], deadline: Instant) -> BatchWriteReport {
        let requests = readings
            .iter()
            .map(|r| {
                let item = reading_item(r, self.expires_at(r));
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().expect("item"))
                    .build()
            })
            .collect();
        batch_write(&self.client, &self.table, requests, deadline, Backoff::default()).await
    }

    /// Makes `r` the collar's latest reading unless a newer one is stored; true when it did.
    pub async fn offer_latest(&self, r: &Reading) -> Result<bool, StoreError> {
        let mut item = reading_item(r, self.expires_at(r));
        item.insert(attr::TS.into(), n(LATEST_TS));
        item.insert(attr::READING_TS.into(), n(r.timestamp_ms));
        if let Some(fw) = &r.firmware {
            item.insert(attr::FIRMWARE.into(), s(fw));
        }
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(reading_ts) OR reading_ts < :t")
            .expression_attribute_values(":t", n(r.timestamp_ms))
            .send()
            .await;
        match result.map_err(sdk_err) {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// The collar's latest reading.
    pub async fn latest_reading(&self, collar_id: &str) -> Result<Option<Reading>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(collar_id, LATEST_TS)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out.item.as_ref().and_then(|i| reading_from(i, attr::READING_TS)))
    }

    /// Every sample of `collar_id` timed in `[from_ms, to_ms)`, however many pages.
    async fn samples_in(
        &self,
        collar_id: &str,
        from_ms: i64,
        to_ms: i64,
        consistent: bool,
    ) -> Result<Samples, StoreError> {
        let mut out = Samples::default();
        if to_ms <= from_ms {
            return Ok(out);
        }
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#c = :c AND #ts BETWEEN :from AND :to")
            .consistent_read(consistent)
            .projection_expression("#ts, #hr, #act, #lat, #lon")
            .expression_attribute_names("#c", attr::COLLAR_ID)
            .expression_attribute_names("#ts", attr::TS)
            .expression_attribute_names("#hr", attr::HEART_RATE)
            .expression_attribute_names("#act", attr::ACTIVITY)
            .expression_attribute_names("#lat", attr::LAT)
            .expression_attribute_names("#lon", attr::LON)
            .expression_attribute_values(":c", s(collar_id))
            // The latest-reading item lives at ts = 0: a window never starts that early.
            .expression_attribute_values(":from", n(from_ms.max(LATEST_TS + 1)))
            .expression_attribute_values(":to", n(to_ms - 1))
            .limit(PAGE_ITEMS)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| StoreError::from_sdk(&e))?;
            out.pages += 1;
            for item in page.items() {
                match sample_from(item) {
                    Some(sample) => out.samples.push(sample),
                    None => out.malformed += 1,
                }
            }
        }
        if out.malformed > 0 {
            tracing::warn!(collar_id, malformed = out.malformed, "readings skipped: unreadable items");
        }
        Ok(out)
    }

    /// Samples in `[from_ms, to_ms)`, one `Query` per UTC day, run concurrently and joined in
    /// time order; `consistent` reads every reading written before the call (a finished day,
    /// stored once as its record) at twice the read units.
    pub async fn samples_by_day(
        &self,
        collar_id: &str,
        from_ms: i64,
        to_ms: i64,
        consistent: bool,
    ) -> Result<Samples, StoreError> {
        let mut spans = Vec::new();
        let mut start = from_ms;
        while start < to_ms {
            let end = (start.div_euclid(DAY_MS) * DAY_MS + DAY_MS).min(to_ms);
            spans.push((start, end));
            start = end;
        }
        let parts = futures_util::future::try_join_all(
            spans.into_iter().map(|(a, b)| self.samples_in(collar_id, a, b, consistent)),
        )
        .await?;
        let mut all = Samples::default();
        for part in parts {
            all.samples.extend(part.samples);
            all.pages += part.pages;
            all.malformed += part.malformed;
        }
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading() -> Reading {
        Reading {
            collar_id: "AB-123".into(),
            timestamp_ms: 1_755_527_400_000,
            heart_rate: 85,
            activity_level: Activity::Walk,
            lon: -74.006,
            lat: 40.7128,
            temperature_c: Some(38.5),
            battery_pct: None,
            accuracy_m: Some(4.0),
            firmware: None,
        }
    }

    #[test]
    fn a_reading_round_trips_through_its_item_and_as_a_sample() {
        let r = reading();
        let item = reading_item(&r, 99);
        assert_eq!(reading_from(&item, attr::TS), Some(r.clone()));
        assert_eq!(get_n(&item, attr::EXPIRES_AT), Some(99));
        assert!(!item.contains_key(attr::BATTERY));
        let sample = sample_from(&item).unwrap();
        assert_eq!((sample.ts_ms, sample.heart_rate, sample.activity), (r.timestamp_ms, 85, 1));
    }

    #[test]
    fn malformed_items_are_none() {
        let mut item = reading_item(&reading(), 99);
        item.insert(attr::ACTIVITY.into(), n(7));
        assert_eq!(reading_from(&item, attr::TS), None);
        assert_eq!(sample_from(&item), None);
        item.insert(attr::ACTIVITY.into(), n(0));
        item.insert(attr::HEART_RATE.into(), n(70_000));
        assert_eq!(sample_from(&item), None);
    }
}
