//! One day of readings → behaviour episodes.
//!
//! 1. Silences longer than [`Thresholds::gap_s`] split the day into blocks; the silences are
//!    `no_data` episodes (so is the start or end of the day when the collar was not there).
//! 2. Each reading is labelled from smoothed features around it: median heart rate and the
//!    majority activity level over ±[`Thresholds::smoothing_s`], mean speed over the same
//!    window, and the roaming radius over ±[`Thresholds::radius_window_s`], compared with the
//!    day's resting baseline (the median heart rate of resting readings).
//! 3. Runs of equal labels become episodes; runs shorter than [`Thresholds::min_episode_s`]
//!    join their longer neighbour, short deep sleep becomes rest.
//!
//! A day is computed from that day's readings only, so an episode (and its id) does not depend
//! on which window a client asked for: the same readings always give the same ids.

use serde::Serialize;

use super::days::Calendar;
use super::geo::{LocalProjection, haversine_m};
use super::{Behavior, Thresholds};

/// The few attributes of a reading the timeline needs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// The reading's own time, Unix ms.
    pub ts_ms: i64,
    pub heart_rate: u16,
    /// 0 rest, 1 walk, 2 play (the collar's own classification).
    pub activity: u8,
    pub lat: f64,
    pub lon: f64,
}

/// One day (or the part of it the owner may see) to analyse.
#[derive(Clone, Copy, Debug)]
pub struct DayInput<'a> {
    /// Where the analysed span starts: midnight UTC, or the claim if later. Unix ms.
    pub start_ms: i64,
    /// Where it ends: the next midnight, or now if earlier. Unix ms.
    pub end_ms: i64,
    /// The readings in `[start_ms, end_ms)`, sorted by time, one per timestamp ([`normalize`]).
    pub samples: &'a [Sample],
    /// The baseline when the day has too few resting readings to measure one, bpm.
    pub fallback_baseline_bpm: f64,
    pub thresholds: &'a Thresholds,
}

/// Where a day's resting baseline came from (shown on each event: a wire type).
pub use petty_api::timeline::BaselineSource;

/// What one episode measured (the API answers it as `petty_api::timeline::EventStats`; the
/// benchmark dumps this one).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EpisodeStats {
    /// Readings inside the episode.
    pub samples: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heart_rate_mean_bpm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heart_rate_min_bpm: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heart_rate_max_bpm: Option<u16>,
    /// Ground covered, metres: haversine between minute-mean positions, jitter ignored.
    pub distance_m: f64,
}

/// A span of time with one behaviour.
#[derive(Clone, Debug, PartialEq)]
pub struct Episode {
    pub behavior: Behavior,
    pub start_ms: i64,
    pub end_ms: i64,
    /// Share of the episode's readings whose own label agrees with the episode (1.0 for gaps).
    pub confidence: f64,
    pub stats: EpisodeStats,
}

impl Episode {
    /// Length in seconds.
    pub fn duration_s(&self) -> f64 {
        (self.end_ms - self.start_ms) as f64 / 1000.0
    }

    /// Milliseconds this episode shares with `[from_ms, to_ms)`.
    pub fn overlap_ms(&self, from_ms: i64, to_ms: i64) -> i64 {
        (self.end_ms.min(to_ms) - self.start_ms.max(from_ms)).max(0)
    }
}

/// A day's episodes and the baseline they were measured against.
#[derive(Clone, Debug, PartialEq)]
pub struct DayTimeline {
    pub baseline_bpm: f64,
    pub baseline_source: BaselineSource,
    pub episodes: Vec<Episode>,
}

/// The id of the episode of `behavior` starting at `start_ms` on `collar_id`: deterministic,
/// so feedback given on one response still points at the event in the next, and parseable
/// by [`parse_event_id`] (the feedback function checks it strictly).
pub fn event_id(collar_id: &str, behavior: Behavior, start_ms: i64) -> String {
    format!("{collar_id}.{start_ms}.{behavior}")
}

/// `(collar_id, start_ms, behavior)` of a well-formed event id; `None` for anything else.
pub fn parse_event_id(id: &str) -> Option<(String, i64, Behavior)> {
    let mut parts = id.splitn(3, '.');
    let collar = parts.next().filter(|c| petty_api::collars::is_collar_id(c))?;
    let start = parts.next().filter(|s| !s.is_empty() && s.len() <= 15 && s.bytes().all(|b| b.is_ascii_digit()))?;
    let behavior = Behavior::parse(parts.next()?)?;
    Some((collar.to_owned(), start.parse().ok()?, behavior))
}

/// Sorts readings by time and keeps one per timestamp (duplicated or out-of-order delivery
/// must not change the result).
pub fn normalize(samples: &mut Vec<Sample>) {
    samples.sort_by_key(|s| s.ts_ms);
    samples.dedup_by_key(|s| s.ts_ms);
}

/// The episodes of one day.
pub fn build_day(input: &DayInput) -> DayTimeline {
    let t = input.thresholds;
    let samples = input.samples;
    let (baseline_bpm, baseline_source) = baseline(samples, t, input.fallback_baseline_bpm);
    let gap_ms = t.gap_s * 1000;
    let mut episodes = Vec::new();
    let mut covered_until = input.start_ms;
    let mut block_start = 0;
    for i in 1..=samples.len() {
        if i < samples.len() && samples[i].ts_ms - samples[i - 1].ts_ms <= gap_ms {
            continue;
        }
        let block = &samples[block_start..i];
        if block[0].ts_ms - covered_until > gap_ms {
            episodes.push(no_data(covered_until, block[0].ts_ms));
        }
        classify_block(block, baseline_bpm, t, &mut episodes);
        covered_until = block[block.len() - 1].ts_ms;
        block_start = i;
    }
    if input.end_ms - covered_until > gap_ms {
        episodes.push(no_data(covered_until, input.end_ms));
    }
    DayTimeline { baseline_bpm, baseline_source, episodes }
}

fn no_data(start_ms: i64, end_ms: i64) -> Episode {
    Episode {
        behavior: Behavior::NoData,
        start_ms,
        end_ms,
        confidence: 1.0,
        stats: EpisodeStats {
            samples: 0,
            heart_rate_mean_bpm: None,
            heart_rate_min_bpm: None,
            heart_rate_max_bpm: None,
            distance_m: 0.0,
        },
    }
}

fn median_u16(values: &mut [u16]) -> f64 {
    let mid = values.len() / 2;
    *values.select_nth_unstable(mid).1 as f64
}

/// The pet's resting heart rate from the day's resting readings.
///
/// Resting readings mix awake rest with deep sleep (10–25% slower) and the odd raised spell,
/// and a short or night-only span can be mostly sleep, so a plain median would drift down.
/// The resting heart rates are split in two by Otsu's method; when the groups are clearly
/// apart (the lower below 0.92 × the upper) and the upper holds at least an eighth of the
/// readings, the upper group is awake rest and its median is the baseline; a smaller upper
/// group is raised spells, and the lower group's median is used. Otherwise the median of all.
pub fn baseline(samples: &[Sample], t: &Thresholds, fallback: f64) -> (f64, BaselineSource) {
    let mut resting: Vec<u16> = samples.iter().filter(|s| s.activity == 0).map(|s| s.heart_rate).collect();
    if resting.len() < t.min_baseline_samples.max(1) {
        return (fallback, BaselineSource::Profile);
    }
    resting.sort_unstable();
    // Artefacts (a collar knocked against something) are not a group.
    resting.truncate(resting.len() - resting.len() / 50);
    let n = resting.len();
    let total: f64 = resting.iter().map(|&h| f64::from(h)).sum();
    let (mut best, mut split, mut below) = (0.0, 0, 0.0);
    for (i, &h) in resting.iter().enumerate().take(n - 1) {
        below += f64::from(h);
        let (w1, w2) = ((i + 1) as f64, (n - i - 1) as f64);
        let (m1, m2) = (below / w1, (total - below) / w2);
        let between = w1 * w2 * (m1 - m2).powi(2);
        if between > best && resting[i + 1] != h {
            (best, split) = (between, i + 1);
        }
    }
    let median = |group: &[u16]| f64::from(group[group.len() / 2]);
    if split > 0 {
        let (lower, upper) = resting.split_at(split);
        if median(lower) < 0.92 * median(upper) {
            let group = if upper.len() * 8 >= n { upper } else { lower };
            return (median(group), BaselineSource::Measured);
        }
    }
    (median(&resting), BaselineSource::Measured)
}

/// Per-reading features over time windows, computed with two pointers and prefix sums.
struct Features<'a> {
    block: &'a [Sample],
    xy: Vec<(f64, f64)>,
    /// Path length from the block's first reading, metres.
    path: Vec<f64>,
    /// Prefix counts of each activity level.
    activity: [Vec<u32>; 3],
    /// Prefix sums of x and y, for window centroids.
    sum_x: Vec<f64>,
    sum_y: Vec<f64>,
}

impl<'a> Features<'a> {
    fn new(block: &'a [Sample]) -> Self {
        let projection = LocalProjection::new(block[0].lat);
        let xy: Vec<(f64, f64)> = block.iter().map(|s| projection.project(s.lat, s.lon)).collect();
        let n = block.len();
        let mut path = Vec::with_capacity(n);
        let mut activity = [vec![0u32; n + 1], vec![0u32; n + 1], vec![0u32; n + 1]];
        let (mut sum_x, mut sum_y) = (vec![0.0; n + 1], vec![0.0; n + 1]);
        for i in 0..n {
            let step = if i == 0 { 0.0 } else { dist(xy[i - 1], xy[i]) };
            path.push(if i == 0 { 0.0 } else { path[i - 1] + step });
            for (level, counts) in activity.iter_mut().enumerate() {
                counts[i + 1] = counts[i] + u32::from(block[i].activity as usize == level);
            }
            sum_x[i + 1] = sum_x[i] + xy[i].0;
            sum_y[i + 1] = sum_y[i] + xy[i].1;
        }
        Self { block, xy, path, activity, sum_x, sum_y }
    }

    /// The majority activity level in `[lo, hi)`; a tie goes to the calmer level.
    fn activity(&self, lo: usize, hi: usize) -> u8 {
        let counts: Vec<u32> = self.activity.iter().map(|c| c[hi] - c[lo]).collect();
        let best = counts.iter().copied().max().unwrap_or(0);
        counts.iter().position(|&c| c == best).unwrap_or(0) as u8
    }

    /// Mean speed over `[lo, hi)`, m/s.
    fn speed(&self, lo: usize, hi: usize) -> f64 {
        let dt_s = (self.block[hi - 1].ts_ms - self.block[lo].ts_ms) as f64 / 1000.0;
        if dt_s <= 0.0 { 0.0 } else { (self.path[hi - 1] - self.path[lo]) / dt_s }
    }

    /// The 80th-percentile distance from the centroid of `[lo, hi)`, metres: how far the pet
    /// roams, robust to a few GPS outliers.
    fn radius(&self, lo: usize, hi: usize, scratch: &mut Vec<f64>) -> f64 {
        let count = (hi - lo) as f64;
        let centre = ((self.sum_x[hi] - self.sum_x[lo]) / count, (self.sum_y[hi] - self.sum_y[lo]) / count);
        scratch.clear();
        scratch.extend(self.xy[lo..hi].iter().map(|&p| dist(p, centre)));
        let k = (scratch.len() * 8 / 10).min(scratch.len() - 1);
        *scratch.select_nth_unstable_by(k, f64::total_cmp).1
    }
}

fn dist(a: (f64, f64), b: (f64, f64)) -> f64 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}

/// Moves `[lo, hi)` so it holds the readings within `half_ms` of `ts`.
fn slide(block: &[Sample], ts: i64, half_ms: i64, lo: &mut usize, hi: &mut usize) {
    while block[*lo].ts_ms < ts - half_ms {
        *lo += 1;
    }
    while *hi < block.len() && block[*hi].ts_ms <= ts + half_ms {
        *hi += 1;
    }
}

/// Each reading's label from the features around it.
fn label_readings(block: &[Sample], baseline: f64, t: &Thresholds) -> Vec<Behavior> {
    let features = Features::new(block);
    let (mut lo, mut hi, mut rlo, mut rhi) = (0, 0, 0, 0);
    let mut heart_rates: Vec<u16> = Vec::with_capacity(32);
    let mut scratch: Vec<f64> = Vec::with_capacity(64);
    let mut labels = Vec::with_capacity(block.len());
    for s in block {
        slide(block, s.ts_ms, t.smoothing_s * 1000, &mut lo, &mut hi);
        slide(block, s.ts_ms, t.radius_window_s * 1000, &mut rlo, &mut rhi);
        heart_rates.clear();
        heart_rates.extend(block[lo..hi].iter().map(|r| r.heart_rate));
        let hr = median_u16(&mut heart_rates) / baseline;
        let label = match features.activity(lo, hi) {
            0 if hr > t.elevated_ratio => Behavior::ElevatedHeartRate,
            0 if hr < t.deep_sleep_ratio => Behavior::DeepSleep,
            0 => Behavior::Rest,
            1 if hr >= t.pacing_hr_ratio && features.radius(rlo, rhi, &mut scratch) < t.pacing_radius_m => {
                t.pacing_behavior
            }
            1 => Behavior::Walk,
            _ if features.speed(lo, hi) >= t.fetch_speed_mps => Behavior::PlayingFetch,
            _ => Behavior::Play,
        };
        labels.push(label);
    }
    labels
}

/// A run of readings `[start, end)` with one label.
#[derive(Clone, Copy, Debug)]
struct Run {
    behavior: Behavior,
    start: usize,
    end: usize,
}

fn runs_of(labels: &[Behavior]) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for (i, &behavior) in labels.iter().enumerate() {
        match runs.last_mut() {
            Some(run) if run.behavior == behavior => run.end = i + 1,
            _ => runs.push(Run { behavior, start: i, end: i + 1 }),
        }
    }
    runs
}

/// Joins runs shorter than `min_ms` to their longer neighbour, shortest first, until none is
/// left (or one run remains).
fn merge_short(runs: &mut Vec<Run>, block: &[Sample], min_ms: i64) {
    let duration = |r: &Run| block[r.end.min(block.len() - 1)].ts_ms - block[r.start].ts_ms;
    while runs.len() > 1 {
        let Some((i, _)) =
            runs.iter().enumerate().filter(|(_, r)| duration(r) < min_ms).min_by_key(|(i, r)| (duration(r), *i))
        else {
            break;
        };
        let into_prev = match (i.checked_sub(1).map(|p| runs[p]), runs.get(i + 1)) {
            (Some(prev), Some(next)) => duration(&prev) >= duration(next),
            (Some(_), None) => true,
            _ => false,
        };
        let short = runs.remove(i);
        let at = if into_prev {
            runs[i - 1].end = short.end;
            i - 1
        } else {
            runs[i].start = short.start;
            i
        };
        // The neighbour may now touch a run with its own label.
        if at + 1 < runs.len() && runs[at + 1].behavior == runs[at].behavior {
            runs[at].end = runs.remove(at + 1).end;
        }
        if at > 0 && runs[at - 1].behavior == runs[at].behavior {
            runs[at - 1].end = runs.remove(at).end;
        }
    }
}

fn coalesce(runs: &mut Vec<Run>) {
    runs.dedup_by(|next, prev| {
        let same = next.behavior == prev.behavior;
        if same {
            prev.end = next.end;
        }
        same
    });
}

fn classify_block(block: &[Sample], baseline: f64, t: &Thresholds, out: &mut Vec<Episode>) {
    let labels = label_readings(block, baseline, t);
    let mut runs = runs_of(&labels);
    merge_short(&mut runs, block, t.min_episode_s * 1000);
    let last = block.len() - 1;
    for run in runs.iter_mut() {
        if run.behavior == Behavior::DeepSleep
            && block[run.end.min(last)].ts_ms - block[run.start].ts_ms < t.min_deep_sleep_s * 1000
        {
            run.behavior = Behavior::Rest;
        }
    }
    coalesce(&mut runs);
    merge_short(&mut runs, block, t.min_episode_s * 1000);
    for run in runs {
        let readings = &block[run.start..run.end];
        let agreeing = labels[run.start..run.end].iter().filter(|&&l| l == run.behavior).count();
        out.push(Episode {
            behavior: run.behavior,
            start_ms: block[run.start].ts_ms,
            end_ms: block[run.end.min(last)].ts_ms,
            confidence: (agreeing as f64 / readings.len() as f64 * 100.0).round() / 100.0,
            stats: stats(readings, t.distance_jitter_m),
        });
    }
}

fn stats(readings: &[Sample], jitter_m: f64) -> EpisodeStats {
    let sum: u64 = readings.iter().map(|r| u64::from(r.heart_rate)).sum();
    // Minute means of position; steps under the jitter radius do not count.
    let mut distance_m = 0.0;
    let mut last_mean: Option<(f64, f64)> = None;
    for minute in readings.chunk_by(|a, b| a.ts_ms / 60_000 == b.ts_ms / 60_000) {
        let k = minute.len() as f64;
        let mean = (minute.iter().map(|r| r.lat).sum::<f64>() / k, minute.iter().map(|r| r.lon).sum::<f64>() / k);
        match last_mean {
            Some(prev) => {
                let step = haversine_m(prev.0, prev.1, mean.0, mean.1);
                if step >= jitter_m {
                    distance_m += step;
                    last_mean = Some(mean);
                }
            }
            None => last_mean = Some(mean),
        }
    }
    EpisodeStats {
        samples: readings.len() as u32,
        heart_rate_mean_bpm: Some((sum as f64 / readings.len() as f64 * 10.0).round() / 10.0),
        heart_rate_min_bpm: readings.iter().map(|r| r.heart_rate).min(),
        heart_rate_max_bpm: readings.iter().map(|r| r.heart_rate).max(),
        distance_m: distance_m.round(),
    }
}

/// One UTC day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// Midnight UTC at or before `ms`.
pub fn day_floor(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS) * DAY_MS
}

/// The episodes of every day of `calendar` overlapping `[start_ms, end_ms)`, each day computed
/// on its own (clipped to the span), in time order: `(day, from, to)` with the clipped bounds.
/// `samples` must cover the span and be sorted.
pub fn build_days(
    samples: &[Sample],
    start_ms: i64,
    end_ms: i64,
    fallback_baseline_bpm: f64,
    thresholds: &Thresholds,
    calendar: &Calendar,
) -> Vec<(DayTimeline, i64, i64)> {
    calendar
        .days(start_ms, end_ms)
        .into_iter()
        .map(|(_, day_start, day_end)| {
            let (from, to) = (day_start.max(start_ms), day_end.min(end_ms));
            let lo = samples.partition_point(|s| s.ts_ms < from);
            let hi = samples.partition_point(|s| s.ts_ms < to);
            let input =
                DayInput { start_ms: from, end_ms: to, samples: &samples[lo..hi], fallback_baseline_bpm, thresholds };
            (build_day(&input), from, to)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_763_683_200_000; // 2025-11-21T00:00:00Z

    /// `minutes` of readings every 10 s from `start_min`, all alike.
    fn steady(start_min: i64, minutes: i64, hr: u16, activity: u8, step_deg: f64) -> Vec<Sample> {
        (0..minutes * 6)
            .map(|i| Sample {
                ts_ms: T0 + start_min * 60_000 + i * 10_000,
                heart_rate: hr,
                activity,
                lat: 40.0 + step_deg * i as f64,
                lon: -74.0,
            })
            .collect()
    }

    fn day(samples: &[Sample], end_min: i64) -> DayTimeline {
        let t = Thresholds::default();
        build_day(&DayInput {
            start_ms: T0,
            end_ms: T0 + end_min * 60_000,
            samples,
            fallback_baseline_bpm: 80.0,
            thresholds: &t,
        })
    }

    fn shape(d: &DayTimeline) -> Vec<(Behavior, i64, i64)> {
        d.episodes.iter().map(|e| (e.behavior, (e.start_ms - T0) / 60_000, (e.end_ms - T0) / 60_000)).collect()
    }

    #[test]
    fn an_empty_day_is_one_gap_and_a_short_span_nothing() {
        assert_eq!(shape(&day(&[], 24 * 60)), vec![(Behavior::NoData, 0, 1440)]);
        assert!(day(&[], 4).episodes.is_empty(), "under the gap threshold is not a gap");
    }

    #[test]
    fn rest_walk_rest_with_gaps_at_both_ends() {
        let mut s = steady(30, 60, 80, 0, 0.0);
        // ~1.3 m/s north: 0.0000117° latitude per 10 s.
        s.extend(steady(90, 30, 100, 1, 0.000_117));
        s.extend(steady(120, 60, 80, 0, 0.0));
        let d = day(&s, 240);
        assert_eq!(d.baseline_source, BaselineSource::Measured);
        assert_eq!(d.baseline_bpm, 80.0);
        let got = shape(&d);
        assert_eq!(
            got.iter().map(|e| e.0).collect::<Vec<_>>(),
            [Behavior::NoData, Behavior::Rest, Behavior::Walk, Behavior::Rest, Behavior::NoData]
        );
        assert_eq!((got[0].1, got[0].2), (0, 30));
        assert!((89..=91).contains(&got[2].1) && (119..=121).contains(&got[2].2), "{got:?}");
        let walk = &d.episodes[2];
        assert!((walk.stats.distance_m - 30.0 * 60.0 * 1.3).abs() < 100.0, "{:?}", walk.stats);
        assert_eq!(d.episodes[1].stats.distance_m, 0.0, "standing still covers no ground");
        assert_eq!(walk.stats.heart_rate_max_bpm, Some(100));
        assert_eq!(walk.confidence, 1.0);
        assert_eq!(got[4].2, 240);
    }

    #[test]
    fn heart_rate_against_the_baseline_decides_rest_states() {
        let mut s = steady(0, 120, 80, 0, 0.0);
        s.extend(steady(120, 30, 64, 0, 0.0)); // 0.8 × baseline, 30 min
        s.extend(steady(150, 60, 80, 0, 0.0));
        s.extend(steady(210, 10, 120, 0, 0.0)); // 1.5 × baseline
        s.extend(steady(220, 60, 80, 0, 0.0));
        s.extend(steady(280, 5, 64, 0, 0.0)); // too short for deep sleep
        s.extend(steady(285, 60, 80, 0, 0.0));
        let kinds: Vec<Behavior> = day(&s, 345).episodes.iter().map(|e| e.behavior).collect();
        use Behavior::*;
        assert_eq!(kinds, [Rest, DeepSleep, Rest, ElevatedHeartRate, Rest]);
    }

    #[test]
    fn pacing_is_walking_in_place_with_a_raised_heart_rate() {
        let mut s = steady(0, 90, 80, 0, 0.0);
        // Back and forth over ~9 m.
        s.extend(steady(90, 15, 115, 1, 0.0).into_iter().enumerate().map(|(i, mut r)| {
            r.lat += if i % 2 == 0 { 0.0 } else { 0.000_08 };
            r
        }));
        s.extend(steady(105, 30, 80, 0, 0.0));
        let kinds: Vec<Behavior> = day(&s, 135).episodes.iter().map(|e| e.behavior).collect();
        assert_eq!(kinds, [Behavior::Rest, Behavior::AnxiousPacing, Behavior::Rest]);
    }

    #[test]
    fn play_with_speed_is_fetch() {
        let mut s = steady(0, 90, 80, 0, 0.0);
        s.extend(steady(90, 10, 120, 2, 0.0));
        s.extend(steady(100, 10, 130, 2, 0.000_3)); // ~3.3 m/s
        s.extend(steady(110, 30, 80, 0, 0.0));
        let kinds: Vec<Behavior> = day(&s, 140).episodes.iter().map(|e| e.behavior).collect();
        assert_eq!(kinds, [Behavior::Rest, Behavior::Play, Behavior::PlayingFetch, Behavior::Rest]);
    }

    #[test]
    fn a_lone_misread_does_not_make_an_episode() {
        let mut s = steady(0, 60, 80, 0, 0.0);
        for i in [50, 51, 200] {
            s[i].activity = 2;
            s[i].heart_rate = 160;
        }
        assert_eq!(shape(&day(&s, 60)), vec![(Behavior::Rest, 0, 59)]);
    }

    #[test]
    fn the_baseline_is_awake_rest_even_when_sleep_or_raised_spells_dominate() {
        let baseline_of = |s: &[Sample]| day(s, 24 * 60).baseline_bpm;
        // A night: four hours of deep sleep, one of awake rest.
        let mut night = steady(0, 240, 64, 0, 0.0);
        night.extend(steady(240, 60, 80, 0, 0.0));
        assert_eq!(baseline_of(&night), 80.0);
        // An afternoon of rest with a raised spell.
        let mut afternoon = steady(0, 120, 80, 0, 0.0);
        afternoon.extend(steady(120, 10, 125, 0, 0.0));
        assert_eq!(baseline_of(&afternoon), 80.0);
        // Only one group: its median.
        assert_eq!(baseline_of(&steady(0, 120, 64, 0, 0.0)), 64.0);
        let kinds: Vec<Behavior> = day(&night, 300).episodes.iter().map(|e| e.behavior).collect();
        assert_eq!(kinds, [Behavior::DeepSleep, Behavior::Rest]);
    }

    #[test]
    fn too_few_resting_readings_use_the_profile_baseline() {
        let s = steady(0, 30, 150, 1, 0.000_117);
        let d = day(&s, 30);
        assert_eq!((d.baseline_bpm, d.baseline_source), (80.0, BaselineSource::Profile));
    }

    #[test]
    fn event_ids_are_stable_and_parse_strictly() {
        let id = event_id("AB-123456", Behavior::DeepSleep, 1_763_683_200_000);
        assert_eq!(id, "AB-123456.1763683200000.deep_sleep");
        assert_eq!(parse_event_id(&id), Some(("AB-123456".into(), 1_763_683_200_000, Behavior::DeepSleep)));
        for bad in [
            "",
            "AB-123456.1763683200000",
            "ab-123456.1763683200000.walk",
            "AB-123456.-5.walk",
            "AB-123456.1763683200000.sleep",
            "AB-123456.1763683200000.walk.x",
            "AB-123456..walk",
            "../AB-123456.1.walk",
            "AB-123456.99999999999999999999.walk",
        ] {
            assert_eq!(parse_event_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn days_are_computed_alone_and_clipped_to_the_span() {
        let mut s = steady(0, 24 * 60, 80, 0, 0.0);
        s.extend(steady(24 * 60, 60, 80, 0, 0.0));
        let t = Thresholds::default();
        let days = build_days(&s, T0 + 30 * 60_000, T0 + 25 * 3_600_000, 80.0, &t, &Calendar::UTC);
        assert_eq!(days.len(), 2);
        assert_eq!((days[0].1, days[0].2), (T0 + 30 * 60_000, T0 + DAY_MS));
        assert_eq!(days[0].0.episodes[0].start_ms, T0 + 30 * 60_000, "the first reading in the span");
        assert_eq!(days[1].0.episodes[0].start_ms, T0 + DAY_MS, "a new day starts a new episode");
        // The same day asked for alone gives the same episodes (the same ids).
        let alone = build_days(&s, T0 + DAY_MS, T0 + 25 * 3_600_000, 80.0, &t, &Calendar::UTC);
        assert_eq!(alone[0].0, days[1].0);
        assert_eq!(day_floor(T0 + DAY_MS - 1), T0);
        assert_eq!(day_floor(-1), -DAY_MS);
    }

    #[test]
    fn days_split_at_the_pets_local_midnight_and_the_clock_changes() {
        // 26 h of steady rest from 2025-11-21T00:00Z: in Tokyo (UTC+9) the local days split at
        // 15:00Z, in New York (UTC-5) at 05:00Z; each split starts a new episode.
        let s = steady(0, 26 * 60, 80, 0, 0.0);
        let t = Thresholds::default();
        for (tz, split_h) in [("Asia/Tokyo", 15), ("America/New_York", 5), ("UTC", 24)] {
            let cal = Calendar::new(tz.parse().unwrap());
            let days = build_days(&s, T0, T0 + 26 * 3_600_000, 80.0, &t, &cal);
            assert_eq!(days[0].2, T0 + split_h * 3_600_000, "{tz}");
            assert_eq!(days[1].0.episodes[0].start_ms, T0 + split_h * 3_600_000, "{tz}");
            let episodes = days.iter().flat_map(|d| d.0.episodes.iter());
            assert!(episodes.clone().all(|e| cal.floor(e.start_ms) == cal.floor(e.end_ms - 1)), "{tz}: one day each");
            assert_eq!(episodes.map(|e| e.stats.samples).sum::<u32>(), 26 * 360, "{tz}: every reading once");
        }
        // Berlin's 25-hour day (2026-10-25) is one day of episodes, not a day and an hour.
        let berlin = Calendar::new(chrono_tz::Europe::Berlin);
        let fall_back = 1_792_879_200_000; // 2026-10-24T22:00:00Z, local midnight
        let long: Vec<Sample> = (0..25 * 360).map(|i| Sample { ts_ms: fall_back + i * 10_000, ..s[0] }).collect();
        let days = build_days(&long, fall_back, fall_back + 25 * 3_600_000, 80.0, &t, &berlin);
        assert_eq!(days.len(), 1);
        assert_eq!((days[0].1, days[0].2), (fall_back, fall_back + 25 * 3_600_000));
        assert_eq!(days[0].0.episodes.len(), 1, "{:?}", days[0].0.episodes);
        assert_eq!(days[0].0.episodes[0].stats.samples, 25 * 360);
    }

    #[test]
    fn normalize_sorts_and_drops_repeats() {
        let mut s = steady(0, 1, 80, 0, 0.0);
        let mut shuffled: Vec<Sample> = s.iter().rev().cloned().collect();
        shuffled.push(s[2]);
        normalize(&mut shuffled);
        normalize(&mut s);
        assert_eq!(shuffled, s);
    }
}

/// Property tests (fuzzing on stable Rust): any readings give a well-formed day.
/// `PROPTEST_CASES` sets the number of cases (`make fuzz` runs many).
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    const T0: i64 = 1_763_683_200_000;

    fn readings() -> impl Strategy<Value = Vec<Sample>> {
        prop::collection::vec((0i64..86_400_000, 30u16..=300, 0u8..3, -0.002f64..0.002, -0.002f64..0.002), 0..800)
            .prop_map(|raw| {
                let mut s: Vec<Sample> = raw
                    .into_iter()
                    .map(|(ms, heart_rate, activity, dlat, dlon)| Sample {
                        ts_ms: T0 + ms,
                        heart_rate,
                        activity,
                        lat: 40.0 + dlat,
                        lon: -74.0 + dlon,
                    })
                    .collect();
                normalize(&mut s);
                s
            })
    }

    proptest! {
        #[test]
        fn episodes_are_ordered_disjoint_inside_the_day_and_cover_every_reading(samples in readings()) {
            let t = Thresholds::default();
            let input = DayInput { start_ms: T0, end_ms: T0 + DAY_MS, samples: &samples, fallback_baseline_bpm: 80.0, thresholds: &t };
            let day = build_day(&input);
            for w in day.episodes.windows(2) {
                prop_assert!(w[0].end_ms <= w[1].start_ms, "{:?} then {:?}", w[0], w[1]);
            }
            for e in &day.episodes {
                prop_assert!(e.start_ms >= T0 && e.end_ms <= T0 + DAY_MS && e.start_ms <= e.end_ms);
                prop_assert!((0.0..=1.0).contains(&e.confidence));
                prop_assert!(e.stats.distance_m >= 0.0 && e.stats.distance_m.is_finite());
            }
            for s in &samples {
                prop_assert!(day.episodes.iter().any(|e| e.behavior != Behavior::NoData && e.start_ms <= s.ts_ms && s.ts_ms <= e.end_ms));
            }
            prop_assert!(day.baseline_bpm >= 30.0 && day.baseline_bpm <= 300.0);
            prop_assert_eq!(build_day(&input), day, "deterministic");
        }

        #[test]
        fn event_ids_round_trip_and_nothing_else_parses_as_one(
            collar in "[A-Z]{2}-[0-9]{3,6}", start in 0i64..9_999_999_999_999, b in 0usize..8, junk in ".{0,80}",
        ) {
            let behavior = Behavior::ALL[b];
            let id = event_id(&collar, behavior, start);
            prop_assert_eq!(parse_event_id(&id), Some((collar, start, behavior)));
            if let Some((c, s, b)) = parse_event_id(&junk) {
                prop_assert_eq!(event_id(&c, b, s), junk, "only canonical ids parse");
            }
        }
    }
}
