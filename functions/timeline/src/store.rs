//! Reads a collar's readings for the timeline: `Query` on the readings table (written by the
//! data processor: `collar_id` + `ts` in Unix ms → `hr`, `act`, `lat`, `lon`, …), every page
//! followed, only the five attributes the timeline uses projected. Days are read
//! concurrently, each in pages of [`PAGE_ITEMS`].

use aws_sdk_dynamodb::Client;
use petty_shared::dynamo::{Item, StoreError, get_n, get_s, n, query_all, s, sdk_err, string_list};

use crate::domain::calibration::Calibration;
use crate::domain::{Behavior, Episode, Sample};

/// Items per `Query` page: ~50 KB on DynamoDB (a few ms per page; a day is ~18 pages, days
/// read concurrently). It bounds each call's time where a page costs more: moto takes ~0.6 s
/// per 500 items, and a loaded machine can double that, well inside the SDK's 3 s attempt.
pub const PAGE_ITEMS: i32 = 500;

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

/// The timeline's side of the feedback loop.
///
/// - Event index (`TIMELINE_EVENTS_TABLE`, written here): `collar_id` + `day` (midnight UTC,
///   ms) → `events`, a list of `"<start>.<end>.<behaviour>"`: what the timeline last showed
///   for that day. The feedback function accepts feedback only on an event listed there.
/// - Feedback (`FEEDBACK_TABLE`, written by the feedback function, read here): `collar_id` +
///   `sk`; `cur#<start:013>#<behaviour>#<user>` is a user's current verdict on an event, and
///   `calibration` the pet's [`Calibration`] as JSON.
#[derive(Clone, Debug)]
pub struct FeedbackLoop {
    client: Client,
    events_table: String,
    feedback_table: String,
}

/// The sort key of a user's current verdict on an event (sorted by the event's start).
pub fn current_key(start_ms: i64, behavior: Behavior, user_id: &str) -> String {
    format!("cur#{start_ms:013}#{behavior}#{user_id}")
}

/// The sort key of the pet's calibration item.
pub const CALIBRATION_KEY: &str = "calibration";

/// How long an event index is kept: past any reading's retention.
pub const EVENT_INDEX_TTL_DAYS: i64 = 400;

/// One entry of the event index.
pub fn index_entry(e: &Episode) -> String {
    format!("{}.{}.{}", e.start_ms, e.end_ms, e.behavior)
}

/// `(start, end, behaviour)` of an index entry.
pub fn parse_index_entry(entry: &str) -> Option<(i64, i64, Behavior)> {
    let mut parts = entry.splitn(3, '.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, Behavior::parse(parts.next()?)?))
}

/// A user's current verdict on an event, as the timeline shows it (on the wire as
/// `petty_api::timeline::EventFeedback`).
#[derive(Clone, Debug, PartialEq)]
pub struct FeedbackStatus {
    pub event_start: i64,
    pub behavior: Behavior,
    pub user_id: String,
    /// The owner said the timeline was right.
    pub correct: bool,
    pub corrected_behavior: Option<Behavior>,
    /// Unix ms.
    pub submitted_at_ms: i64,
}

fn status_from(item: &Item) -> Option<FeedbackStatus> {
    Some(FeedbackStatus {
        event_start: get_n(item, "event_start")?,
        behavior: Behavior::parse(&get_s(item, "behavior")?)?,
        user_id: get_s(item, "user_id")?,
        correct: match get_s(item, "user_feedback")?.as_str() {
            "correct" => true,
            "incorrect" => false,
            _ => return None,
        },
        corrected_behavior: get_s(item, "corrected_behavior").and_then(|b| Behavior::parse(&b)),
        submitted_at_ms: get_n(item, "submitted_at")?,
    })
}

impl FeedbackLoop {
    /// Over the event index and feedback tables.
    pub fn new(client: Client, events_table: impl Into<String>, feedback_table: impl Into<String>) -> Self {
        Self { client, events_table: events_table.into(), feedback_table: feedback_table.into() }
    }

    /// Records what the timeline showed for one day (overwrites the day's previous list).
    pub async fn publish_day(&self, collar_id: &str, day_ms: i64, episodes: &[Episode]) -> Result<(), StoreError> {
        let entries: Vec<String> = episodes.iter().map(index_entry).collect();
        self.client
            .put_item()
            .table_name(&self.events_table)
            .item("collar_id", s(collar_id))
            .item("day", n(day_ms))
            .item("events", string_list(&entries))
            .item("expires_at", n(day_ms / 1000 + EVENT_INDEX_TTL_DAYS * 86_400))
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }

    /// Current verdicts on events starting in `[from_ms, to_ms)`, every page.
    pub async fn statuses(&self, collar_id: &str, from_ms: i64, to_ms: i64) -> Result<Vec<FeedbackStatus>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.feedback_table)
            .key_condition_expression("collar_id = :c AND sk BETWEEN :a AND :b")
            .expression_attribute_values(":c", s(collar_id))
            .expression_attribute_values(":a", s(format!("cur#{:013}", from_ms.max(0))))
            .expression_attribute_values(":b", s(format!("cur#{:013}~", to_ms.max(0))));
        Ok(query_all(query).await?.iter().filter_map(status_from).collect())
    }

    /// The pet's calibration (the default when its owner never corrected it).
    pub async fn calibration(&self, collar_id: &str) -> Result<Calibration, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.feedback_table)
            .key("collar_id", s(collar_id))
            .key("sk", s(CALIBRATION_KEY))
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out
            .item
            .as_ref()
            .and_then(|i| get_s(i, "calibration"))
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default())
    }
}
