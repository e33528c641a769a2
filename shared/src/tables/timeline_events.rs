//! The timeline-events table: one item per collar and local day of the pet. It holds the
//! event index (what the timeline showed, so feedback is accepted only on events an owner
//! was shown) and, for a finished day, its record: the episodes and the summary, computed
//! once.
//!
//! `collar_id` (S) + `day` (N, the start of the pet's local day in Unix ms) →
//! - `events`: a list of `"<start ms>.<end ms>.<behaviour>"`;
//! - `record` (S, JSON [`DayRecord`]) and `read_at` (N, ms: when its readings were read), on
//!   a finished day only;
//! - `stale_at` (N, ms): set by ingestion when a late reading lands on the day; a record is
//!   fresh only if it was read after the last such mark;
//! - TTL `expires_at`, past any reading's retention (a year of history and more).
//!
//! Written when a day's episodes are computed (the timeline function: a finished day once,
//! the current day when it is shown), marked stale by ingestion, read by the timeline and
//! feedback.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use petty_api::summary::DaySummary;
use petty_api::timeline::BaselineSource;
use petty_behaviour::{Behavior, Episode, EpisodeStats};
use serde::{Deserialize, Serialize};

use crate::dynamo::{StoreError, get_n, get_s, get_string_list, n, query_all, s, sdk_err, string_list};

/// How long an event index is kept: past any reading's retention.
pub const EVENT_INDEX_TTL_DAYS: i64 = 400;

/// An event the timeline showed: its bounds and behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShownEvent {
    pub start_ms: i64,
    pub end_ms: i64,
    pub behavior: Behavior,
}

fn entry(start_ms: i64, end_ms: i64, behavior: Behavior) -> String {
    format!("{start_ms}.{end_ms}.{behavior}")
}

fn parse_entry(entry: &str) -> Option<ShownEvent> {
    let mut parts = entry.splitn(3, '.');
    Some(ShownEvent {
        start_ms: parts.next()?.parse().ok()?,
        end_ms: parts.next()?.parse().ok()?,
        behavior: Behavior::parse(parts.next()?)?,
    })
}

/// An episode as a record keeps it (short names: a day holds a few hundred).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredEpisode {
    #[serde(rename = "b")]
    pub behavior: Behavior,
    #[serde(rename = "s")]
    pub start_ms: i64,
    #[serde(rename = "e")]
    pub end_ms: i64,
    #[serde(rename = "c")]
    pub confidence: f64,
    #[serde(rename = "n")]
    pub samples: u32,
    #[serde(rename = "hr", default, skip_serializing_if = "Option::is_none")]
    pub heart_rate: Option<(f64, u16, u16)>,
    #[serde(rename = "d")]
    pub distance_m: f64,
}

impl From<&Episode> for StoredEpisode {
    fn from(e: &Episode) -> Self {
        let st = &e.stats;
        let heart_rate = match (st.heart_rate_mean_bpm, st.heart_rate_min_bpm, st.heart_rate_max_bpm) {
            (Some(mean), Some(min), Some(max)) => Some((mean, min, max)),
            _ => None,
        };
        Self {
            behavior: e.behavior,
            start_ms: e.start_ms,
            end_ms: e.end_ms,
            confidence: e.confidence,
            samples: st.samples,
            heart_rate,
            distance_m: st.distance_m,
        }
    }
}

impl From<&StoredEpisode> for Episode {
    fn from(e: &StoredEpisode) -> Self {
        Episode {
            behavior: e.behavior,
            start_ms: e.start_ms,
            end_ms: e.end_ms,
            confidence: e.confidence,
            stats: EpisodeStats {
                samples: e.samples,
                heart_rate_mean_bpm: e.heart_rate.map(|h| h.0),
                heart_rate_min_bpm: e.heart_rate.map(|h| h.1),
                heart_rate_max_bpm: e.heart_rate.map(|h| h.2),
                distance_m: e.distance_m,
            },
        }
    }
}

/// A finished day computed once, with what it was computed under: a record whose zone,
/// model, calibration or ownership differs from the pet's current ones is recomputed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DayRecord {
    /// The pet's IANA zone the day was cut in.
    pub tz: String,
    pub model: String,
    /// The calibration applied (its JSON): a new verdict that moves it recomputes the day.
    pub calibration: String,
    /// The ownership: readings from `visible_from` on.
    pub visible_from: i64,
    /// The part of the day computed (the whole day, or from the claim), Unix ms.
    pub from: i64,
    pub to: i64,
    pub baseline_bpm: f64,
    pub baseline_source: BaselineSource,
    /// Stored apart (attribute `episodes`) so a summary reads only the small part.
    #[serde(skip)]
    pub episodes: Vec<StoredEpisode>,
    pub summary: DaySummary,
}

/// One stored day: its record (when it has one) and whether a late reading came after it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredDay {
    pub day_ms: i64,
    pub record: Option<DayRecord>,
    pub read_at: Option<i64>,
    pub stale_at: Option<i64>,
}

impl StoredDay {
    /// The record, unless a late reading landed after its readings were read.
    pub fn fresh(&self) -> Option<&DayRecord> {
        let stale = match (self.stale_at, self.read_at) {
            (Some(mark), Some(read)) => mark >= read,
            (Some(_), None) => true,
            (None, _) => false,
        };
        self.record.as_ref().filter(|_| !stale)
    }
}

/// Attribute names beyond the key.
mod attr {
    pub const EVENTS: &str = "events";
    pub const RECORD: &str = "record";
    pub const EPISODES: &str = "episodes";
    pub const READ_AT: &str = "read_at";
    pub const STALE_AT: &str = "stale_at";
    pub const EXPIRES_AT: &str = "expires_at";
}

fn expires_at(day_ms: i64) -> AttributeValue {
    n(day_ms / 1000 + EVENT_INDEX_TTL_DAYS * 86_400)
}

/// The event index and day records.
#[derive(Clone, Debug)]
pub struct TimelineEventsTable {
    client: Client,
    table: String,
}

impl TimelineEventsTable {
    /// Over `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// A day's item: its key, the events shown that day and the TTL.
    fn day_item(&self, collar_id: &str, day_ms: i64, entries: &[String]) -> PutItemFluentBuilder {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("collar_id", s(collar_id))
            .item("day", n(day_ms))
            .item(attr::EVENTS, string_list(entries))
            .item(attr::EXPIRES_AT, expires_at(day_ms))
    }

    /// Records what the timeline showed for the current (unfinished) day; a day that already
    /// has its record keeps it (a slow request from before midnight does not undo it).
    pub async fn publish_day(&self, collar_id: &str, day_ms: i64, episodes: &[Episode]) -> Result<(), StoreError> {
        let entries: Vec<String> = episodes.iter().map(|e| entry(e.start_ms, e.end_ms, e.behavior)).collect();
        let out = self
            .day_item(collar_id, day_ms, &entries)
            .condition_expression("attribute_not_exists(#record)")
            .expression_attribute_names("#record", attr::RECORD)
            .send()
            .await;
        match out.map_err(sdk_err) {
            Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(other) => Err(other),
        }
    }

    /// Stores a finished day's record and its event index, unless a late reading landed on
    /// the day after `read_at` (then `Ok(false)`: the next read computes it again).
    pub async fn put_record(
        &self,
        collar_id: &str,
        day_ms: i64,
        record: &DayRecord,
        read_at: i64,
    ) -> Result<bool, StoreError> {
        let entries: Vec<String> = record.episodes.iter().map(|e| entry(e.start_ms, e.end_ms, e.behavior)).collect();
        let unavailable = |e: serde_json::Error| StoreError::Unavailable(e.to_string());
        let head = serde_json::to_string(record).map_err(unavailable)?;
        let body = serde_json::to_string(&record.episodes).map_err(unavailable)?;
        let out = self
            .day_item(collar_id, day_ms, &entries)
            .item(attr::RECORD, s(head))
            .item(attr::EPISODES, s(body))
            .item(attr::READ_AT, n(read_at))
            .condition_expression("attribute_not_exists(#stale) OR #stale < :read")
            .expression_attribute_names("#stale", attr::STALE_AT)
            .expression_attribute_values(":read", n(read_at))
            .send()
            .await;
        match out.map_err(sdk_err) {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// Marks a day stale: a reading for it was stored at `now_ms`, after the day had ended.
    pub async fn mark_stale(&self, collar_id: &str, day_ms: i64, now_ms: i64) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("collar_id", s(collar_id))
            .key("day", n(day_ms))
            .update_expression("SET #stale = :now, #exp = if_not_exists(#exp, :exp)")
            .expression_attribute_names("#stale", attr::STALE_AT)
            .expression_attribute_names("#exp", attr::EXPIRES_AT)
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":exp", expires_at(day_ms))
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }

    /// The stored days starting in `[from_day_ms, to_day_ms]`, in order, with their episodes
    /// or (`with_episodes: false`, for summaries) without (an unreadable record counts as
    /// none: the day is computed again).
    pub async fn days(
        &self,
        collar_id: &str,
        from_day_ms: i64,
        to_day_ms: i64,
        with_episodes: bool,
    ) -> Result<Vec<StoredDay>, StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("collar_id = :c AND #day BETWEEN :a AND :b")
            .expression_attribute_names("#day", "day")
            .expression_attribute_values(":c", s(collar_id))
            .expression_attribute_values(":a", n(from_day_ms))
            .expression_attribute_values(":b", n(to_day_ms))
            .consistent_read(true);
        if !with_episodes {
            query = query
                .projection_expression("#day, #record, #read, #stale")
                .expression_attribute_names("#record", attr::RECORD)
                .expression_attribute_names("#read", attr::READ_AT)
                .expression_attribute_names("#stale", attr::STALE_AT);
        }
        Ok(query_all(query)
            .await?
            .iter()
            .filter_map(|item| {
                let record = get_s(item, attr::RECORD).and_then(|r| serde_json::from_str::<DayRecord>(&r).ok());
                let record = match (record, with_episodes) {
                    (Some(mut r), true) => {
                        get_s(item, attr::EPISODES).and_then(|e| serde_json::from_str(&e).ok()).map(|episodes| {
                            r.episodes = episodes;
                            r
                        })
                    }
                    (record, _) => record,
                };
                Some(StoredDay {
                    day_ms: get_n(item, "day")?,
                    record,
                    read_at: get_n(item, attr::READ_AT),
                    stale_at: get_n(item, attr::STALE_AT),
                })
            })
            .collect())
    }

    /// The events last shown for a day (unreadable entries skipped).
    pub async fn shown_on_day(&self, collar_id: &str, day_ms: i64) -> Result<Vec<ShownEvent>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("collar_id", s(collar_id))
            .key("day", n(day_ms))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_err)?;
        let entries = out.item.as_ref().map(|i| get_string_list(i, "events")).unwrap_or_default();
        Ok(entries.iter().filter_map(|e| parse_entry(e)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_episode_round_trips() {
        let e = Episode {
            behavior: Behavior::Walk,
            start_ms: 1,
            end_ms: 2,
            confidence: 0.5,
            stats: EpisodeStats {
                samples: 3,
                heart_rate_mean_bpm: Some(90.5),
                heart_rate_min_bpm: Some(80),
                heart_rate_max_bpm: Some(100),
                distance_m: 12.0,
            },
        };
        let json = serde_json::to_string(&StoredEpisode::from(&e)).unwrap();
        assert_eq!(json, r#"{"b":"walk","s":1,"e":2,"c":0.5,"n":3,"hr":[90.5,80,100],"d":12.0}"#);
        assert_eq!(Episode::from(&serde_json::from_str::<StoredEpisode>(&json).unwrap()), e);
        let gap = Episode { behavior: Behavior::NoData, stats: EpisodeStats::default(), ..e };
        assert_eq!(Episode::from(&StoredEpisode::from(&gap)), gap);
    }

    #[test]
    fn a_record_is_fresh_until_a_late_reading_marks_its_day() {
        let day = |read_at, stale_at| StoredDay { day_ms: 0, record: None, read_at, stale_at };
        assert!(day(Some(10), None).fresh().is_none(), "no record");
        let with = |d: StoredDay| StoredDay { record: Some(record()), ..d };
        assert!(with(day(Some(10), None)).fresh().is_some());
        assert!(with(day(Some(10), Some(9))).fresh().is_some(), "marked before it was read");
        assert!(with(day(Some(10), Some(10))).fresh().is_none());
        assert!(with(day(Some(10), Some(11))).fresh().is_none());
    }

    fn record() -> DayRecord {
        DayRecord {
            tz: "UTC".into(),
            model: "m".into(),
            calibration: "{}".into(),
            visible_from: 0,
            from: 0,
            to: 1,
            baseline_bpm: 80.0,
            baseline_source: BaselineSource::Measured,
            episodes: vec![],
            summary: serde_json::from_value(serde_json::json!({
                "date": "2026-11-21", "start": "", "end": "", "active_minutes": 0.0, "active_goal_minutes": 60.0,
                "goal_met": false, "distance_m": 0.0, "deep_sleep_night_h": 0.0, "deep_sleep_day_h": 0.0,
                "resting_heart_rate_bpm": 80.0, "baseline_source": "measured", "episodes": {}, "readings": 0,
                "hours": 24.0, "coverage": 0.0, "complete": true
            }))
            .unwrap(),
        }
    }

    #[test]
    fn entries_round_trip_and_junk_is_skipped() {
        let shown = ShownEvent { start_ms: 1000, end_ms: 2000, behavior: Behavior::DeepSleep };
        let text = format!("{}.{}.{}", shown.start_ms, shown.end_ms, shown.behavior);
        assert_eq!(parse_entry(&text), Some(shown));
        for junk in ["", "1000", "1000.2000", "a.2000.walk", "1000.2000.sleepwalking"] {
            assert_eq!(parse_entry(junk), None, "{junk}");
        }
    }
}
