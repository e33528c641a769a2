//! Reads a collar's readings for the timeline: `Query` on the readings table (written by the
//! data processor: `collar_id` + `ts` in Unix ms → `hr`, `act`, `lat`, `lon`, …), every page
//! followed, only the five attributes the timeline uses projected. Days are read
//! concurrently, each in pages of [`PAGE_ITEMS`].

use aws_sdk_dynamodb::Client;
use petty_shared::dynamo::{Item, StoreError, get_n, n, s};

use crate::domain::Sample;

/// Items per `Query` page: ~100 KB on DynamoDB (a few ms per page), and it bounds each
/// call's time where a page costs more (moto takes ~1 s per 1,000 items).
pub const PAGE_ITEMS: i32 = 1000;

/// The readings table, read-only.
#[derive(Clone, Debug)]
pub struct ReadingReader {
    client: Client,
    table: String,
}

fn float(item: &Item, key: &str) -> Option<f64> {
    item.get(key).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

/// A stored reading as a [`Sample`]; `None` when an attribute is missing or malformed.
pub fn sample_from(item: &Item) -> Option<Sample> {
    Some(Sample {
        ts_ms: get_n(item, "ts")?,
        heart_rate: u16::try_from(get_n(item, "hr")?).ok()?,
        activity: u8::try_from(get_n(item, "act")?).ok().filter(|a| *a <= 2)?,
        lat: float(item, "lat")?,
        lon: float(item, "lon")?,
    })
}

/// What a read found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Readings {
    /// Sorted by time, one per timestamp (the table's key guarantees both).
    pub samples: Vec<Sample>,
    /// DynamoDB pages read.
    pub pages: u32,
    /// Items that could not be read as a reading (logged, skipped).
    pub malformed: u32,
}

impl ReadingReader {
    /// Over the readings table.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// Every reading of `collar_id` timed in `[from_ms, to_ms)`; no cap, however many pages.
    pub async fn window(&self, collar_id: &str, from_ms: i64, to_ms: i64) -> Result<Readings, StoreError> {
        let mut out = Readings::default();
        if to_ms <= from_ms {
            return Ok(out);
        }
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#c = :c AND #ts BETWEEN :from AND :to")
            .projection_expression("#ts, #hr, #act, #lat, #lon")
            .expression_attribute_names("#c", "collar_id")
            .expression_attribute_names("#ts", "ts")
            .expression_attribute_names("#hr", "hr")
            .expression_attribute_names("#act", "act")
            .expression_attribute_names("#lat", "lat")
            .expression_attribute_names("#lon", "lon")
            .expression_attribute_values(":c", s(collar_id))
            // The latest-reading item lives at ts = 0: a window never starts that early.
            .expression_attribute_values(":from", n(from_ms.max(1)))
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

    /// [`Self::window`] split at UTC midnights and read concurrently, joined in time order.
    pub async fn days(&self, collar_id: &str, from_ms: i64, to_ms: i64) -> Result<Readings, StoreError> {
        let day = crate::domain::segment::DAY_MS;
        let mut spans = Vec::new();
        let mut start = from_ms;
        while start < to_ms {
            let end = (start.div_euclid(day) * day + day).min(to_ms);
            spans.push((start, end));
            start = end;
        }
        let parts =
            futures_util::future::try_join_all(spans.into_iter().map(|(a, b)| self.window(collar_id, a, b))).await?;
        let mut all = Readings::default();
        for part in parts {
            all.samples.extend(part.samples);
            all.pages += part.pages;
            all.malformed += part.malformed;
        }
        Ok(all)
    }
}
