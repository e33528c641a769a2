//! A day in figures, and weeks, months and streaks of days: what `GET /v1/pet-summary` shows
//! and what the pet plan sums. Pure: a day's episodes in, [`DaySummary`] out.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveTime};
use petty_api::format_ms;
use petty_api::summary::{DaySummary, PeriodSummary, Streaks};

use super::{Behavior, Calendar, DayTimeline};

/// Deep sleep between these local hours counts as night sleep (the rest as daytime naps).
pub const NIGHT_FROM_H: u32 = 21;
pub const NIGHT_TO_H: u32 = 7;

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// The first instant at or after local `h`:00 on `date` (a clock change may skip it).
fn local_hour(calendar: &Calendar, date: NaiveDate, h: u32) -> i64 {
    (0..=12)
        .find_map(|q| {
            calendar.instant(&(date.and_time(NaiveTime::MIN) + chrono::Duration::minutes(i64::from(h) * 60 + q * 15)))
        })
        .unwrap_or_else(|| calendar.start_of(date) + i64::from(h) * 3_600_000)
}

/// One local day's figures from its episodes. `[start_ms, end_ms)` is the part of the day
/// computed (the whole day, or from the claim, or up to now); `complete` says whether that
/// is the whole, finished day.
pub fn summarize_day(
    day: &DayTimeline,
    date: NaiveDate,
    (start_ms, end_ms): (i64, i64),
    calendar: &Calendar,
    goal_minutes: f64,
    complete: bool,
) -> DaySummary {
    let (night_ends, night_starts) = (local_hour(calendar, date, NIGHT_TO_H), local_hour(calendar, date, NIGHT_FROM_H));
    let mut active_ms = 0i64;
    let (mut distance_m, mut night_ms, mut nap_ms, mut covered_ms) = (0.0, 0i64, 0i64, 0i64);
    let mut episodes: BTreeMap<Behavior, u32> = BTreeMap::new();
    let mut readings = 0u32;
    for e in &day.episodes {
        *episodes.entry(e.behavior).or_default() += 1;
        readings += e.stats.samples;
        let length = e.overlap_ms(start_ms, end_ms);
        if e.behavior != Behavior::NoData {
            covered_ms += length;
        }
        if e.behavior.is_active() {
            active_ms += length;
            distance_m += e.stats.distance_m;
        }
        if e.behavior == Behavior::DeepSleep {
            let night = e.overlap_ms(start_ms, night_ends) + e.overlap_ms(night_starts, end_ms);
            night_ms += night;
            nap_ms += length - night;
        }
    }
    let active_minutes = round(active_ms as f64 / 60_000.0, 1);
    let (day_start, day_end) = calendar.window(date);
    DaySummary {
        date: date.format("%Y-%m-%d").to_string(),
        start: format_ms(day_start),
        end: format_ms(day_end),
        active_minutes,
        active_goal_minutes: goal_minutes,
        goal_met: active_minutes >= goal_minutes,
        distance_m: distance_m.round(),
        deep_sleep_night_h: round(night_ms as f64 / 3_600_000.0, 2),
        deep_sleep_day_h: round(nap_ms as f64 / 3_600_000.0, 2),
        resting_heart_rate_bpm: round(day.baseline_bpm, 1),
        baseline_source: day.baseline_source,
        episodes,
        readings,
        hours: round((end_ms - start_ms).max(0) as f64 / 3_600_000.0, 3),
        coverage: round(covered_ms as f64 / (end_ms - start_ms).max(1) as f64, 3),
        complete,
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0u32), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| round(sum / f64::from(n), 1))
}

/// One period's aggregate over its days (in date order).
fn period(days: &[&DaySummary]) -> PeriodSummary {
    let with_data: Vec<&&DaySummary> = days.iter().filter(|d| d.readings > 0).collect();
    PeriodSummary {
        from: days.first().map(|d| d.date.clone()).unwrap_or_default(),
        to: days.last().map(|d| d.date.clone()).unwrap_or_default(),
        days: days.len() as u32,
        days_with_data: with_data.len() as u32,
        active_minutes_avg: mean(with_data.iter().map(|d| d.active_minutes)),
        deep_sleep_h_avg: mean(with_data.iter().map(|d| d.deep_sleep_night_h + d.deep_sleep_day_h)),
        resting_heart_rate_bpm_avg: mean(with_data.iter().map(|d| d.resting_heart_rate_bpm)),
        distance_m_total: days.iter().map(|d| d.distance_m).sum(),
        goal_met_days: days.iter().filter(|d| d.goal_met).count() as u32,
    }
}

fn date_of(d: &DaySummary) -> NaiveDate {
    NaiveDate::parse_from_str(&d.date, "%Y-%m-%d").unwrap_or_default()
}

/// Days grouped by `key` (consecutive days with the same key form one period).
fn grouped<K: PartialEq>(days: &[DaySummary], key: impl Fn(NaiveDate) -> K) -> Vec<PeriodSummary> {
    let mut out = Vec::new();
    let mut group: Vec<&DaySummary> = Vec::new();
    for d in days {
        if group.last().is_some_and(|g| key(date_of(g)) != key(date_of(d))) {
            out.push(period(&group));
            group.clear();
        }
        group.push(d);
    }
    if !group.is_empty() {
        out.push(period(&group));
    }
    out
}

/// ISO weeks (Monday to Sunday), clipped to the days given (in date order).
pub fn weeks(days: &[DaySummary]) -> Vec<PeriodSummary> {
    grouped(days, |d| d.iso_week())
}

/// Calendar months, clipped to the days given (in date order).
pub fn months(days: &[DaySummary]) -> Vec<PeriodSummary> {
    grouped(days, |d| (d.year(), d.month()))
}

/// Runs of consecutive complete days meeting the goal. The current day (incomplete) neither
/// breaks nor extends the current streak.
pub fn streaks(days: &[DaySummary]) -> Streaks {
    let mut s = Streaks::default();
    let mut run = 0u32;
    for d in days.iter().filter(|d| d.complete) {
        run = if d.goal_met { run + 1 } else { 0 };
        if run > s.longest_days {
            s.longest_days = run;
            s.longest_ended_on = Some(d.date.clone());
        }
    }
    s.current_days = run;
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::build_days;
    use crate::simulator::{profiles, simulate_day};
    use crate::{Thresholds, plan};

    fn day(date: &str, active: f64, goal_met: bool, readings: u32, complete: bool) -> DaySummary {
        DaySummary {
            date: date.into(),
            start: String::new(),
            end: String::new(),
            active_minutes: active,
            active_goal_minutes: 60.0,
            goal_met,
            distance_m: 1000.0,
            deep_sleep_night_h: 6.0,
            deep_sleep_day_h: 1.0,
            resting_heart_rate_bpm: 70.0,
            baseline_source: petty_api::timeline::BaselineSource::Measured,
            episodes: BTreeMap::new(),
            readings,
            hours: 24.0,
            coverage: 1.0,
            complete,
        }
    }

    #[test]
    fn weeks_are_iso_weeks_and_months_calendar_months_clipped_to_the_range() {
        // 2026-11-27 is a Friday.
        let dates = ["2026-11-27", "2026-11-28", "2026-11-29", "2026-11-30", "2026-12-01"];
        let days: Vec<DaySummary> = dates.iter().map(|d| day(d, 80.0, true, 100, true)).collect();
        let w = weeks(&days);
        assert_eq!(
            w.iter().map(|p| (p.from.as_str(), p.to.as_str(), p.days)).collect::<Vec<_>>(),
            vec![("2026-11-27", "2026-11-29", 3), ("2026-11-30", "2026-12-01", 2)]
        );
        let m = months(&days);
        assert_eq!(
            m.iter().map(|p| (p.from.as_str(), p.days)).collect::<Vec<_>>(),
            vec![("2026-11-27", 4), ("2026-12-01", 1)]
        );
        assert_eq!((m[0].distance_m_total, m[0].goal_met_days, m[0].active_minutes_avg), (4000.0, 4, Some(80.0)));
    }

    #[test]
    fn averages_skip_days_without_readings() {
        let days = vec![day("2026-11-02", 90.0, true, 100, true), day("2026-11-03", 0.0, false, 0, true)];
        let p = &months(&days)[0];
        assert_eq!((p.days, p.days_with_data, p.active_minutes_avg), (2, 1, Some(90.0)));
        let none = &months(&[day("2026-11-03", 0.0, false, 0, true)])[0];
        assert_eq!(none.active_minutes_avg, None);
    }

    #[test]
    fn streaks_count_complete_days_and_today_does_not_break_them() {
        let pattern = [true, true, false, true, true, true, false, true, true];
        let mut days: Vec<DaySummary> = pattern
            .iter()
            .enumerate()
            .map(|(i, met)| day(&format!("2026-11-{:02}", i + 1), 0.0, *met, 100, true))
            .collect();
        let s = streaks(&days);
        assert_eq!((s.current_days, s.longest_days, s.longest_ended_on.as_deref()), (2, 3, Some("2026-11-06")));
        days.push(day("2026-11-10", 10.0, false, 10, false));
        assert_eq!(streaks(&days).current_days, 2, "today so far is not a miss");
    }

    #[test]
    fn a_simulated_month_sums_to_its_days_and_its_labels() {
        let profile = &profiles()[0];
        let calendar = Calendar::new("Europe/Berlin".parse().unwrap());
        let first = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        let t = Thresholds::default();
        let mut days = Vec::new();
        let mut labelled_active_min = 0.0;
        for i in 0..31u64 {
            let date = first + chrono::Days::new(i);
            let (start, end) = calendar.window(date);
            let sim = simulate_day(profile, 100 + i, start);
            // The simulator makes 24 h from `start`; the 25-hour day (Oct 25) has an hour more.
            labelled_active_min += sim
                .labels
                .iter()
                .filter(|l| l.behavior.is_active())
                .map(|l| (l.end_ms.min(end) - l.start_ms.max(start)).max(0) as f64 / 60_000.0)
                .sum::<f64>();
            let mut samples = sim.delivered;
            crate::segment::normalize(&mut samples);
            let computed = build_days(&samples, start, end, 80.0, &t, &calendar);
            assert_eq!(computed.len(), 1, "{date}");
            let summary = summarize_day(&computed[0].0, date, (start, end), &calendar, 90.0, true);
            assert_eq!(summary.readings as usize, samples.iter().filter(|s| s.ts_ms < end).count(), "{date}");
            assert!(summary.coverage > 0.5 && summary.coverage <= 1.0, "{date}: {}", summary.coverage);
            days.push(summary);
        }
        assert_eq!(days[24].date, "2026-10-25");
        assert_eq!(days[24].end, format_ms(calendar.window(days[24].date.parse().unwrap()).0 + 25 * 3_600_000));
        let measured: f64 = days.iter().map(|d| d.active_minutes).sum();
        let error = (measured - labelled_active_min).abs() / labelled_active_min;
        assert!(error < 0.05, "active minutes: measured {measured:.0}, labelled {labelled_active_min:.0}");
        // Weeks and the month add up to their days.
        let month = &months(&days)[0];
        assert_eq!((month.days, month.days_with_data), (31, 31));
        assert_eq!(month.distance_m_total, days.iter().map(|d| d.distance_m).sum::<f64>());
        let weeks = weeks(&days);
        assert_eq!(weeks.iter().map(|w| w.days).sum::<u32>(), 31);
        assert_eq!(
            weeks.iter().map(|w| w.goal_met_days).sum::<u32>(),
            days.iter().filter(|d| d.goal_met).count() as u32
        );
        // The plan's measured figures from these summaries equal those from the episodes.
        let last_week = &days[24..31];
        let from_days = plan::ActivitySummary::from_days(last_week);
        assert!((from_days.window_hours - (7.0 * 24.0 + 1.0)).abs() < 1e-9, "{}", from_days.window_hours);
        assert!((from_days.active_minutes - last_week.iter().map(|d| d.active_minutes).sum::<f64>()).abs() < 1e-6);
    }

    #[test]
    fn deep_sleep_is_split_at_21_and_7_local_time() {
        let calendar = Calendar::new("Asia/Tokyo".parse().unwrap());
        let date = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let (start, end) = calendar.window(date);
        let ep = |b: Behavior, from_h: i64, to_h: i64| crate::Episode {
            behavior: b,
            start_ms: start + from_h * 3_600_000,
            end_ms: start + to_h * 3_600_000,
            confidence: 1.0,
            stats: crate::EpisodeStats {
                samples: if b == Behavior::NoData { 0 } else { ((to_h - from_h) * 360) as u32 },
                ..Default::default()
            },
        };
        let timeline = DayTimeline {
            baseline_bpm: 72.04,
            baseline_source: petty_api::timeline::BaselineSource::Measured,
            episodes: vec![
                ep(Behavior::DeepSleep, 0, 8),
                ep(Behavior::Walk, 8, 10),
                ep(Behavior::NoData, 10, 12),
                ep(Behavior::DeepSleep, 13, 14),
                ep(Behavior::DeepSleep, 20, 24),
            ],
        };
        let s = summarize_day(&timeline, date, (start, end), &calendar, 90.0, true);
        assert_eq!((s.deep_sleep_night_h, s.deep_sleep_day_h), (7.0 + 3.0, 1.0 + 1.0 + 1.0));
        assert_eq!((s.active_minutes, s.goal_met), (120.0, true));
        assert_eq!(s.coverage, round(15.0 / 24.0, 3));
        assert_eq!((s.readings, s.resting_heart_rate_bpm), (15 * 360, 72.0));
        assert_eq!(s.episodes[&Behavior::DeepSleep], 3);
        assert_eq!(s.start, format_ms(start));
    }
}
