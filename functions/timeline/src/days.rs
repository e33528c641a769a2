//! The pet's local days as this function serves them. A finished day comes from its record
//! when the record is fresh (no late reading since it was read) and was computed under the
//! pet's current zone, model, calibration and ownership; otherwise, and always for the
//! current day, it is computed from readings, and a finished day so computed is stored as its
//! record, once. The current day's events are published for feedback when it is shown.

use std::collections::HashMap;
use std::time::Instant;

use chrono::NaiveDate;
use petty_behaviour::calibration::Calibration;
use petty_behaviour::model::typical_resting_bpm;
use petty_behaviour::plan::{active_minutes_goal, life_stage};
use petty_behaviour::segment::{BaselineSource, DayInput, build_day};
use petty_behaviour::summary::summarize_day;
use petty_behaviour::{Calendar, DayTimeline, Episode, MODEL_VERSION};
use petty_shared::api::summary::DaySummary;
use petty_shared::http::{ApiError, Invocation};
use petty_shared::metrics::Unit;
use petty_shared::stores::{DayRecords, EventPublisher, SampleSource};
use petty_shared::tables::collars::Collar;
use petty_shared::tables::timeline_events::{DayRecord, StoredDay, StoredEpisode};

/// One local day, or the part of it the caller may see.
#[derive(Clone, Debug)]
pub(crate) struct Day {
    /// Where the computed part starts (days come in this order).
    pub from: i64,
    pub baseline_bpm: f64,
    pub baseline_source: BaselineSource,
    /// Empty when only the summary was asked for and the day came from its record.
    pub episodes: Vec<Episode>,
    pub summary: DaySummary,
    /// Readings in the asked window: exact for a computed day; for a day from its record, an
    /// episode cut by the window counts its readings in proportion to the part inside.
    pub readings_in_window: usize,
}

/// The days of a span, and how they were served.
#[derive(Debug, Default)]
pub(crate) struct Days {
    pub days: Vec<Day>,
    /// Days computed from readings, and served from their records.
    pub computed: usize,
    pub from_records: usize,
    /// Segmentation CPU time, ms.
    pub elapsed_ms: f64,
}

/// What a day record must have been computed under to be served.
struct Under<'a> {
    tz: &'a str,
    calibration: &'a str,
    visible_from: i64,
}

fn serves(r: &DayRecord, under: &Under, from: i64, to: i64) -> bool {
    r.tz == under.tz
        && r.model == MODEL_VERSION
        && r.calibration == under.calibration
        && r.visible_from == under.visible_from
        && (r.from, r.to) == (from, to)
}

/// The pet plan's active-minutes goal on `date`, for the pet's current profile.
fn goal(collar: &Collar, date: NaiveDate) -> f64 {
    active_minutes_goal(&collar.pet, life_stage(&collar.pet, date))
}

/// A stored summary against today's goal (the profile may have changed since it was stored).
fn with_goal(mut s: DaySummary, collar: &Collar, date: NaiveDate) -> DaySummary {
    s.active_goal_minutes = goal(collar, date);
    s.goal_met = s.active_minutes >= s.active_goal_minutes;
    s
}

/// Readings of `episodes` inside `[from, to)`, an episode cut by the window in proportion.
fn prorated(episodes: &[Episode], (from, to): (i64, i64)) -> usize {
    episodes
        .iter()
        .map(|e| {
            let length = (e.end_ms - e.start_ms).max(1);
            let inside = e.overlap_ms(from, to);
            if inside >= length {
                f64::from(e.stats.samples)
            } else {
                f64::from(e.stats.samples) * inside as f64 / length as f64
            }
        })
        .sum::<f64>()
        .round() as usize
}

/// Where the days come from: readings, records and the event index.
pub(crate) struct DaySource<'a, R, P> {
    pub readings: &'a R,
    pub records: &'a P,
    pub thresholds: &'a petty_behaviour::Thresholds,
}

impl<R: SampleSource, P: DayRecords + EventPublisher> DaySource<'_, R, P> {
    /// The pet's days overlapping `[start, end)` (clipped to it: `start` at or after the
    /// claim, `end` at most now), counting readings in `window`.
    pub async fn load(
        &self,
        collar: &Collar,
        calibration: &Calibration,
        (start, end): (i64, i64),
        window: (i64, i64),
        with_episodes: bool,
        inv: &Invocation,
    ) -> Result<Days, ApiError> {
        let now = chrono::Utc::now().timestamp_millis();
        let calendar = Calendar::new(collar.pet.tz());
        let spans = calendar.days(start, end);
        let (Some(first), Some(last)) = (spans.first(), spans.last()) else { return Ok(Days::default()) };
        let calibration_key = serde_json::to_string(calibration).unwrap_or_default();
        let under =
            Under { tz: calendar.tz().name(), calibration: &calibration_key, visible_from: collar.visible_from_ms() };
        let stored: HashMap<i64, StoredDay> = self
            .records
            .days(&collar.collar_id, first.1, last.1, with_episodes)
            .await?
            .into_iter()
            .map(|d| (d.day_ms, d))
            .collect();
        let mut out = Days::default();
        let mut missing = Vec::new();
        for &(date, day_start, day_end) in &spans {
            let (from, to) = (day_start.max(start), day_end.min(end));
            let finished = day_end <= now;
            let record =
                stored.get(&day_start).and_then(StoredDay::fresh).filter(|r| finished && serves(r, &under, from, to));
            match record {
                Some(r) => {
                    let episodes: Vec<Episode> = r.episodes.iter().map(Episode::from).collect();
                    out.days.push(Day {
                        from,
                        baseline_bpm: r.baseline_bpm,
                        baseline_source: r.baseline_source,
                        readings_in_window: prorated(&episodes, window),
                        episodes,
                        summary: with_goal(r.summary.clone(), collar, date),
                    });
                    out.from_records += 1;
                }
                None => missing.push((date, day_start, from, to, finished)),
            }
        }
        if !missing.is_empty() {
            self.compute(collar, calibration, &calendar, &calibration_key, &missing, window, &mut out, inv).await?;
        }
        out.days.sort_by_key(|d| d.from);
        inv.metric("DaysFromRecords", Unit::Count, out.from_records as f64);
        inv.metric("DaysComputed", Unit::Count, out.computed as f64);
        Ok(out)
    }

    /// Computes `missing` days from readings; stores each finished one as its record and
    /// publishes the current day's events.
    #[allow(clippy::too_many_arguments)]
    async fn compute(
        &self,
        collar: &Collar,
        calibration: &Calibration,
        calendar: &Calendar,
        calibration_key: &str,
        missing: &[(NaiveDate, i64, i64, i64, bool)],
        window: (i64, i64),
        out: &mut Days,
        inv: &Invocation,
    ) -> Result<(), ApiError> {
        let read_at = chrono::Utc::now().timestamp_millis();
        let read_started = Instant::now();
        let reads = missing
            .iter()
            .map(|&(_, _, from, to, finished)| self.readings.samples_by_day(&collar.collar_id, from, to, finished));
        let read = petty_shared::xray::phase("read", futures_util::future::try_join_all(reads)).await?;
        inv.metric("TimelineReadMs", Unit::Milliseconds, read_started.elapsed().as_secs_f64() * 1000.0);
        inv.metric("TimelineReadings", Unit::Count, read.iter().map(|r| r.samples.len()).sum::<usize>() as f64);
        inv.metric("TimelineReadPages", Unit::Count, f64::from(read.iter().map(|r| r.pages).sum::<u32>()));
        let fallback = typical_resting_bpm(collar.pet.species, collar.pet.weight_kg);
        let thresholds = calibration.apply(self.thresholds);
        let started = Instant::now();
        let mut computed: Vec<(DayTimeline, DaySummary, usize)> = Vec::with_capacity(missing.len());
        for (&(date, day_start, from, to, finished), samples) in missing.iter().zip(&read) {
            let input = DayInput {
                start_ms: from,
                end_ms: to,
                samples: &samples.samples,
                fallback_baseline_bpm: fallback,
                thresholds: &thresholds,
            };
            let day = build_day(&input);
            let complete = finished && from == day_start;
            let summary = summarize_day(&day, date, (from, to), calendar, goal(collar, date), complete);
            let in_window = samples.samples.iter().filter(|s| s.ts_ms >= window.0 && s.ts_ms < window.1).count();
            computed.push((day, summary, in_window));
        }
        out.elapsed_ms += started.elapsed().as_secs_f64() * 1000.0;
        inv.metric("TimelineComputeMs", Unit::Milliseconds, out.elapsed_ms);
        let writes = missing.iter().zip(&computed).map(
            |(&(date, day_start, from, to, finished), (day, summary, _))| async move {
                if !finished {
                    return self.records.publish_day(&collar.collar_id, day_start, &day.episodes).await.map(|()| true);
                }
                let record = DayRecord {
                    tz: calendar.tz().name().to_owned(),
                    model: MODEL_VERSION.to_owned(),
                    calibration: calibration_key.to_owned(),
                    visible_from: collar.visible_from_ms(),
                    from,
                    to,
                    baseline_bpm: day.baseline_bpm,
                    baseline_source: day.baseline_source,
                    episodes: day.episodes.iter().map(StoredEpisode::from).collect(),
                    summary: summary.clone(),
                };
                let stored = self.records.put_record(&collar.collar_id, day_start, &record, read_at).await?;
                if !stored {
                    tracing::info!(%date, "a late reading landed while the day was computed: not stored");
                }
                Ok(stored)
            },
        );
        match futures_util::future::try_join_all(writes).await {
            Ok(stored) => inv.metric("DayRecordsStored", Unit::Count, stored.iter().filter(|s| **s).count() as f64),
            Err(err) => {
                // The answer is still right; the days are computed again on the next read.
                tracing::warn!(error = %err, "day records or the event index not stored");
                inv.metric("EventIndexWriteFailed", Unit::Count, 1.0);
            }
        }
        for (&(_, _, from, _, _), (day, summary, in_window)) in missing.iter().zip(computed) {
            out.days.push(Day {
                from,
                baseline_bpm: day.baseline_bpm,
                baseline_source: day.baseline_source,
                episodes: day.episodes,
                summary,
                readings_in_window: in_window,
            });
            out.computed += 1;
        }
        Ok(())
    }
}
