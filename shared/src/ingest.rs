//! Ingestion, for both entry points (the HTTP route and the collar stream), knowing nothing of
//! either: validate every reading, drop duplicates (in the batch and already stored), write
//! the rest in chunks of 25 with `UnprocessedItems` retried until the deadline, and move each
//! collar's latest reading forward. Nothing is silently lost: every input is accepted, a
//! duplicate, rejected with a reason, or named as not stored.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::time::Instant;

use petty_behaviour::Calendar;

use crate::api;
use crate::dynamo::{BatchWriteReport, StoreError};
use crate::reading::{Reading, Rejection, parse_reading};
use crate::tables::readings::ReadingsTable;

/// Where ingestion stores readings.
pub trait ReadingStore: Send + Sync {
    /// Which of `keys` (collar, reading time) are already stored.
    fn existing(
        &self,
        keys: &[(String, i64)],
    ) -> impl Future<Output = Result<HashSet<(String, i64)>, StoreError>> + Send;
    /// Writes readings until `deadline`, reporting exactly which were not written.
    fn put_all(&self, readings: &[&Reading], deadline: Instant) -> impl Future<Output = BatchWriteReport> + Send;
    /// Makes `r` its collar's latest reading unless a newer one is stored.
    fn offer_latest(&self, r: &Reading) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Marks a finished local day (its start, ms) stale: a reading for it was stored.
    fn mark_stale(
        &self,
        collar_id: &str,
        day_ms: i64,
        now_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl ReadingStore for ReadingsTable {
    async fn existing(&self, keys: &[(String, i64)]) -> Result<HashSet<(String, i64)>, StoreError> {
        ReadingsTable::existing(self, keys).await
    }
    async fn put_all(&self, readings: &[&Reading], deadline: Instant) -> BatchWriteReport {
        ReadingsTable::put_all(self, readings, deadline).await
    }
    async fn offer_latest(&self, r: &Reading) -> Result<bool, StoreError> {
        ReadingsTable::offer_latest(self, r).await
    }
    async fn mark_stale(&self, collar_id: &str, day_ms: i64, now_ms: i64) -> Result<(), StoreError> {
        ReadingsTable::mark_stale(self, collar_id, day_ms, now_ms).await
    }
}

/// A day this close to its end counts as ended when readings for it are stored: the clocks of
/// the functions writing readings and of the one computing the finished day may differ.
pub const DAY_END_MARGIN_MS: i64 = 5_000;

/// The finished local days (collar, day start) that `readings` fall on, by each collar's
/// calendar: their records no longer hold every reading.
pub fn ended_days<'a>(
    readings: impl IntoIterator<Item = &'a Reading>,
    calendars: &HashMap<String, Calendar>,
    now_ms: i64,
) -> BTreeSet<(String, i64)> {
    // Live readings fall on each collar's current day: its bounds are worked out once per
    // collar, and only a reading outside them pays for its own day's time-zone arithmetic.
    let mut today: HashMap<&str, (i64, i64)> = HashMap::new();
    readings
        .into_iter()
        .filter_map(|r| {
            let calendar = calendars.get(&r.collar_id)?;
            let current = *today.entry(&r.collar_id).or_insert_with(|| calendar.window(calendar.date_of(now_ms)));
            let (start, end) = if (current.0..current.1).contains(&r.timestamp_ms) {
                current
            } else {
                calendar.window(calendar.date_of(r.timestamp_ms))
            };
            (end <= now_ms + DAY_END_MARGIN_MS).then(|| (r.collar_id.clone(), start))
        })
        .collect()
}

/// One rejected input (its reason a static rule code, for metrics and error codes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub index: usize,
    pub reason: &'static str,
    pub message: String,
}

/// The outcome of a batch (answered as `api::IngestReport`, see [`IngestReport::view`]).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Newly stored readings.
    pub accepted: usize,
    /// Readings already stored (or repeated in the batch): not stored or counted again.
    pub duplicates: usize,
    pub rejected: Vec<Rejected>,
    /// Valid readings that could not be stored in time: send them again.
    pub not_stored: Vec<usize>,
}

/// One EMF metric of a batch: the same names on both entry points, so dashboards and the
/// rejection-ratio alarm see every reading.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestMetric {
    pub name: &'static str,
    pub value: f64,
    /// The `reason` dimension (rejections only).
    pub reason: Option<&'static str>,
}

impl IngestReport {
    /// The report as `POST /v1/ingest` answers it.
    pub fn view(&self) -> api::IngestReport {
        api::IngestReport {
            accepted: self.accepted,
            duplicates: self.duplicates,
            rejected: self
                .rejected
                .iter()
                .map(|x| api::Rejected { index: x.index, reason: x.reason.to_owned(), message: x.message.clone() })
                .collect(),
            not_stored: self.not_stored.clone(),
            request_id: None,
        }
    }

    /// `ReadingsAccepted`, `ReadingsRejected` by reason, `IngestBatchSize` for `inputs`.
    pub fn metrics(&self, inputs: usize) -> Vec<IngestMetric> {
        let mut by_reason: BTreeMap<&'static str, usize> = BTreeMap::new();
        for r in &self.rejected {
            *by_reason.entry(r.reason).or_default() += 1;
        }
        let mut out = vec![IngestMetric { name: "ReadingsAccepted", value: self.accepted as f64, reason: None }];
        out.extend(by_reason.into_iter().map(|(reason, n)| IngestMetric {
            name: "ReadingsRejected",
            value: n as f64,
            reason: Some(reason),
        }));
        out.push(IngestMetric { name: "IngestBatchSize", value: inputs as f64, reason: None });
        out
    }
}

/// The rejection of a reading timed before the current owner's claim (a previous owner's):
/// the same reason on both paths.
pub fn before_claim_rejection(index: usize) -> Rejected {
    Rejected {
        index,
        reason: "before_claim",
        message: "the reading is from before this collar was claimed by its current owner".into(),
    }
}

/// Validates `inputs`; valid readings keep their input index.
pub fn validate_all(inputs: &[&str], now_ms: i64) -> (Vec<(usize, Reading)>, Vec<Rejected>) {
    let mut valid = Vec::with_capacity(inputs.len());
    let mut rejected = Vec::new();
    for (index, raw) in inputs.iter().enumerate() {
        match parse_reading(raw, now_ms) {
            Ok(r) => valid.push((index, r)),
            Err(Rejection { reason, message }) => rejected.push(Rejected { index, reason, message }),
        }
    }
    (valid, rejected)
}

/// Stores valid readings: dedupes, writes, advances the latest reading, then marks the
/// finished days they fall on stale (each collar's days by `calendars`). Returns the report
/// (without rejections); `not_stored` names the input indices not written by `deadline`.
///
/// Marks come after the write, for every valid reading, duplicates included: a day computed
/// while a late reading was being written is marked after it, and a batch whose marks failed
/// is answered as an error, so its resend (all duplicates by then) marks again.
pub async fn store_valid<St: ReadingStore>(
    store: &St,
    calendars: &HashMap<String, Calendar>,
    valid: &[(usize, Reading)],
    deadline: Instant,
) -> Result<IngestReport, StoreError> {
    let mut report = IngestReport::default();
    let mut seen = HashSet::new();
    let mut fresh: Vec<&(usize, Reading)> = Vec::new();
    for entry in valid {
        if seen.insert((entry.1.collar_id.as_str(), entry.1.timestamp_ms)) {
            fresh.push(entry);
        } else {
            report.duplicates += 1;
        }
    }
    let keys: Vec<(String, i64)> = fresh.iter().map(|(_, r)| (r.collar_id.clone(), r.timestamp_ms)).collect();
    let existing = store.existing(&keys).await?;
    fresh.retain(|(_, r)| {
        let dup = existing.contains(&(r.collar_id.clone(), r.timestamp_ms));
        report.duplicates += usize::from(dup);
        !dup
    });
    let readings: Vec<&Reading> = fresh.iter().map(|(_, r)| r).collect();
    let written = store.put_all(&readings, deadline).await;
    if let Some(err) = &written.error {
        tracing::error!(error = %err, unwritten = written.unwritten.len(), "readings not all stored");
    }
    let unwritten: HashSet<usize> = written.unwritten.iter().copied().collect();
    report.not_stored = written.unwritten.iter().map(|i| fresh[*i].0).collect();
    report.not_stored.sort_unstable();
    report.accepted = fresh.len() - unwritten.len();

    // The newest stored reading of each collar may become its latest.
    let mut newest: BTreeMap<&str, &Reading> = BTreeMap::new();
    for (i, (_, r)) in fresh.iter().enumerate() {
        if unwritten.contains(&i) {
            continue;
        }
        let slot = newest.entry(r.collar_id.as_str()).or_insert(r);
        if r.timestamp_ms > slot.timestamp_ms {
            *slot = r;
        }
    }
    for r in newest.values() {
        if let Err(err) = store.offer_latest(r).await {
            tracing::warn!(error = %err, "latest reading not updated");
        }
    }
    let now = chrono::Utc::now().timestamp_millis();
    let ended = ended_days(valid.iter().map(|(_, r)| r), calendars, now);
    futures_util::future::try_join_all(ended.iter().map(|(collar, day)| store.mark_stale(collar, *day, now))).await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;

    /// Readings in memory; the `fail_puts` first puts are reported not written.
    #[derive(Default)]
    struct Memory {
        stored: Mutex<HashMap<(String, i64), Reading>>,
        latest: Mutex<HashMap<String, i64>>,
        marks: Mutex<Vec<(String, i64)>>,
        fail_puts: usize,
    }

    impl ReadingStore for Memory {
        async fn existing(&self, keys: &[(String, i64)]) -> Result<HashSet<(String, i64)>, StoreError> {
            let stored = self.stored.lock().unwrap();
            Ok(keys.iter().filter(|k| stored.contains_key(*k)).cloned().collect())
        }
        async fn put_all(&self, readings: &[&Reading], _deadline: Instant) -> BatchWriteReport {
            let mut stored = self.stored.lock().unwrap();
            let mut report = BatchWriteReport::default();
            for (i, r) in readings.iter().enumerate() {
                if i < self.fail_puts {
                    report.unwritten.push(i);
                } else {
                    stored.insert((r.collar_id.clone(), r.timestamp_ms), (*r).clone());
                }
            }
            report
        }
        async fn offer_latest(&self, r: &Reading) -> Result<bool, StoreError> {
            let mut latest = self.latest.lock().unwrap();
            let slot = latest.entry(r.collar_id.clone()).or_insert(i64::MIN);
            let newer = r.timestamp_ms > *slot;
            if newer {
                *slot = r.timestamp_ms;
            }
            Ok(newer)
        }
        async fn mark_stale(&self, collar_id: &str, day_ms: i64, _now_ms: i64) -> Result<(), StoreError> {
            self.marks.lock().unwrap().push((collar_id.to_owned(), day_ms));
            Ok(())
        }
    }

    const NOW: i64 = 1_755_527_400_000;

    fn raw(collar: &str, secs_ago: i64) -> String {
        format!(
            r#"{{"collar_id":"{collar}","timestamp":"{}","heart_rate":80,"activity_level":0,"location":{{"type":"Point","coordinates":[1.0,2.0]}}}}"#,
            petty_api::format_ms(NOW - secs_ago * 1000)
        )
    }

    async fn ingest(store: &Memory, inputs: &[String]) -> IngestReport {
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let (valid, rejected) = validate_all(&inputs, NOW);
        let utc = HashMap::from([("AB-123".to_owned(), Calendar::UTC), ("CD-456".to_owned(), Calendar::UTC)]);
        let mut report = store_valid(store, &utc, &valid, Instant::now()).await.unwrap();
        report.rejected = rejected;
        report
    }

    #[tokio::test]
    async fn every_input_is_counted_once_and_a_resend_only_duplicates() {
        let store = Memory::default();
        let batch = vec![raw("AB-123", 30), raw("AB-123", 20), raw("AB-123", 20), "{".into(), raw("CD-456", 10)];
        let first = ingest(&store, &batch).await;
        assert_eq!((first.accepted, first.duplicates, first.rejected.len()), (3, 1, 1));
        assert_eq!(first.rejected[0].index, 3);
        assert_eq!(store.stored.lock().unwrap().len(), 3);
        let again = ingest(&store, &batch).await;
        assert_eq!((again.accepted, again.duplicates), (0, 4));
        assert_eq!(store.stored.lock().unwrap().len(), 3);
        assert_eq!(store.latest.lock().unwrap()["AB-123"], NOW - 20_000);
    }

    #[tokio::test]
    async fn readings_of_ended_days_mark_them_once_each_resends_included() {
        let store = Memory::default();
        // NOW is 2025-08-18T14:30Z, long past: its day has ended (by the UTC calendar here).
        let batch = vec![raw("AB-123", 30), raw("AB-123", 20), raw("CD-456", 86_400)];
        ingest(&store, &batch).await;
        let day = NOW - NOW.rem_euclid(86_400_000);
        let marks = store.marks.lock().unwrap().clone();
        assert_eq!(marks, vec![("AB-123".to_owned(), day), ("CD-456".to_owned(), day - 86_400_000)]);
        // A resend stores nothing and marks again (its first marks may have failed).
        ingest(&store, &batch).await;
        assert_eq!(store.marks.lock().unwrap().len(), 4);
    }

    #[test]
    fn only_ended_days_are_marked_each_by_its_collars_zone() {
        let now = NOW;
        let reading = |collar: &str, ms: i64| Reading { collar_id: collar.into(), timestamp_ms: ms, ..reading_at(ms) };
        let calendars = HashMap::from([
            ("AB-123".to_owned(), Calendar::UTC),
            ("CD-456".to_owned(), Calendar::new("Asia/Tokyo".parse().unwrap())),
        ]);
        let today = now - now.rem_euclid(86_400_000);
        let readings = [
            reading("AB-123", now - 60_000),           // today, UTC: not ended
            reading("AB-123", today - 1),              // yesterday, UTC
            reading("CD-456", today - 3_600_000),      // 08:00 in Tokyo, whose day ends at 15:00Z: not ended
            reading("CD-456", today - 10 * 3_600_000), // 23:00 in Tokyo the day before: ended
            reading("ZZ-999", now - 5 * 86_400_000),   // no calendar: not ours to mark
        ];
        let ended = ended_days(readings.iter(), &calendars, now);
        let tokyo_day_before = today - 86_400_000 - 9 * 3_600_000;
        assert_eq!(
            ended.into_iter().collect::<Vec<_>>(),
            vec![("AB-123".to_owned(), today - 86_400_000), ("CD-456".to_owned(), tokyo_day_before)]
        );
        // A day ending within the margin counts as ended.
        let last_second = reading("AB-123", today + 86_400_000 - 1_000);
        assert!(ended_days([&last_second], &calendars, today + 86_400_000 - DAY_END_MARGIN_MS).len() == 1);
        assert!(ended_days([&last_second], &calendars, today + 86_400_000 - DAY_END_MARGIN_MS - 1).is_empty());
        // Ahead of the current day (a collar clock a little fast): not ended either.
        assert!(ended_days([&reading("AB-123", today + 86_400_000 + 60_000)], &calendars, now).is_empty());
    }

    fn reading_at(ms: i64) -> Reading {
        crate::reading::parse_reading(
            &format!(
                r#"{{"collar_id":"AB-123","timestamp":"{}","heart_rate":80,"activity_level":0,"location":{{"type":"Point","coordinates":[1.0,2.0]}}}}"#,
                petty_api::format_ms(ms)
            ),
            ms,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn readings_not_written_are_named_by_input_index_and_not_accepted() {
        let store = Memory { fail_puts: 1, ..Memory::default() };
        let report = ingest(&store, &["{".into(), raw("AB-123", 30), raw("AB-123", 20)]).await;
        assert_eq!((report.accepted, report.not_stored.clone()), (1, vec![1]));
        // The latest reading moves only to a reading that was stored.
        assert_eq!(store.latest.lock().unwrap()["AB-123"], NOW - 20_000);
        let metrics = report.metrics(3);
        assert!(metrics.contains(&IngestMetric { name: "ReadingsAccepted", value: 1.0, reason: None }));
        assert!(metrics.contains(&IngestMetric { name: "ReadingsRejected", value: 1.0, reason: Some("invalid_json") }));
    }
}
