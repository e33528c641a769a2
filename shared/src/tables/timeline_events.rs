//! The timeline-events table (the event index): what the timeline showed for each day, so
//! feedback is accepted only on events an owner was actually shown.
//!
//! `collar_id` (S) + `day` (N, UTC midnight in Unix ms) → `events`, a list of
//! `"<start ms>.<end ms>.<behaviour>"`; TTL `expires_at`, past any reading's retention.
//!
//! Written when a day's episodes are computed (today: on the timeline's read, see
//! `functions/timeline`; the days issue moves it to when a day is materialised), read by
//! feedback.

use aws_sdk_dynamodb::Client;
use petty_behaviour::{Behavior, Episode};

use crate::dynamo::{StoreError, get_string_list, n, s, sdk_err, string_list};

/// How long an event index is kept: past any reading's retention.
pub const EVENT_INDEX_TTL_DAYS: i64 = 400;

/// An event the timeline showed: its bounds and behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShownEvent {
    pub start_ms: i64,
    pub end_ms: i64,
    pub behavior: Behavior,
}

fn entry(e: &Episode) -> String {
    format!("{}.{}.{}", e.start_ms, e.end_ms, e.behavior)
}

fn parse_entry(entry: &str) -> Option<ShownEvent> {
    let mut parts = entry.splitn(3, '.');
    Some(ShownEvent {
        start_ms: parts.next()?.parse().ok()?,
        end_ms: parts.next()?.parse().ok()?,
        behavior: Behavior::parse(parts.next()?)?,
    })
}

/// The event index.
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

    /// Records what the timeline showed for one day (replaces the day's previous list).
    pub async fn publish_day(&self, collar_id: &str, day_ms: i64, episodes: &[Episode]) -> Result<(), StoreError> {
        let entries: Vec<String> = episodes.iter().map(entry).collect();
        self.client
            .put_item()
            .table_name(&self.table)
            .item("collar_id", s(collar_id))
            .item("day", n(day_ms))
            .item("events", string_list(&entries))
            .item("expires_at", n(day_ms / 1000 + EVENT_INDEX_TTL_DAYS * 86_400))
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
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
    fn entries_round_trip_and_junk_is_skipped() {
        let shown = ShownEvent { start_ms: 1000, end_ms: 2000, behavior: Behavior::DeepSleep };
        let text = format!("{}.{}.{}", shown.start_ms, shown.end_ms, shown.behavior);
        assert_eq!(parse_entry(&text), Some(shown));
        for junk in ["", "1000", "1000.2000", "a.2000.walk", "1000.2000.sleepwalking"] {
            assert_eq!(parse_entry(junk), None, "{junk}");
        }
    }
}
