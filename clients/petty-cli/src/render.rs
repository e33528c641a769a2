//! What people read: tables, the one-line chart of a day, the chart of a month.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use petty_client::types::{Behavior, Event, PeriodSummary, PetSummary};

/// One character per behaviour in the day chart.
pub fn glyph(b: Behavior) -> char {
    match b {
        Behavior::DeepSleep => '_',
        Behavior::Rest => '.',
        Behavior::Walk => 'w',
        Behavior::Play => 'p',
        Behavior::PlayingFetch => 'F',
        Behavior::AnxiousPacing => 'a',
        Behavior::ElevatedHeartRate => '!',
        Behavior::NoData => ' ',
    }
}

pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// `HH:MM` (UTC) of an RFC 3339 time.
pub fn hhmm(s: &str) -> String {
    hhmm_in(s, &Utc)
}

/// `HH:MM` of an RFC 3339 time, on the clock of `zone` (the pet's, for its timeline).
pub fn hhmm_in<Z: TimeZone>(s: &str, zone: &Z) -> String
where
    Z::Offset: std::fmt::Display,
{
    parse_time(s).map(|t| t.with_timezone(zone).format("%H:%M").to_string()).unwrap_or_else(|| s.to_owned())
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of an RFC 3339 time.
pub fn datetime(s: &str) -> String {
    parse_time(s).map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_else(|| s.to_owned())
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of Unix seconds.
pub fn unix(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| secs.to_string())
}

/// A fixed-width table.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        padded.join("  ").trim_end().to_owned() + "\n"
    };
    let mut out = line(header.to_vec());
    out += &line(widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().iter().map(String::as_str).collect());
    for row in rows {
        out += &line(row.iter().map(String::as_str).collect());
    }
    out
}

/// The window as `width` slots, each showing the behaviour at its middle: one line of the
/// day, with a time ruler above and a legend below.
pub fn chart<Z: TimeZone>(events: &[Event], from: DateTime<Z>, to: DateTime<Z>, width: usize) -> String
where
    Z::Offset: std::fmt::Display,
{
    let span_ms = (to.clone() - from.clone()).num_milliseconds().max(1) as f64;
    let spans: Vec<(i64, i64, Behavior)> = events
        .iter()
        .filter_map(|e| {
            Some((parse_time(&e.start)?.timestamp_millis(), parse_time(&e.end)?.timestamp_millis(), e.behavior))
        })
        .collect();
    let line: String = (0..width)
        .map(|i| {
            let t = from.timestamp_millis() + ((i as f64 + 0.5) * span_ms / width as f64) as i64;
            spans.iter().find(|(s, e, _)| *s <= t && t < *e).map(|(_, _, b)| glyph(*b)).unwrap_or(' ')
        })
        .collect();
    let mut ruler = vec![' '; width];
    let mut free = 0;
    for k in 0..=4 {
        let col = (k * (width - 1)) / 4;
        let t = from.clone() + chrono::Duration::milliseconds((k as f64 * span_ms / 4.0) as i64);
        let label = t.format("%H:%M").to_string();
        let start =
            if k == 4 { (col + 1).saturating_sub(label.len()) } else { col.saturating_sub(if k == 0 { 0 } else { 2 }) };
        if start < free || start + label.len() > width {
            continue; // no room for this label
        }
        free = start + label.len() + 1;
        for (j, c) in label.chars().enumerate() {
            if let Some(slot) = ruler.get_mut(start + j) {
                *slot = c;
            }
        }
    }
    let legend = "_ deep sleep  . rest  w walk  p play  F fetch  a pacing  ! elevated HR  (blank) no data";
    format!("{}\n|{line}|\n{legend}\n", String::from_iter(std::iter::once(' ').chain(ruler)).trim_end())
}

/// A summary's days as a chart: per day a bar of active minutes at most `width` columns long,
/// with a `|` inserted where the day's goal falls (a bar reaching it ends at the marker), then
/// the streaks and each week's and month's aggregates. The full bar is the larger of the best
/// day and the highest goal, so every bar and marker fits.
pub fn month_chart(s: &PetSummary, width: usize) -> String {
    let width = width.max(1);
    // At least a minute: a range with no activity and no goal still divides.
    let scale = s
        .days
        .iter()
        .filter(|d| d.readings > 0)
        .map(|d| d.active_minutes)
        .chain(s.days.iter().map(|d| d.active_goal_minutes))
        .fold(1.0_f64, f64::max);
    let cells = |minutes: f64| ((minutes.max(0.0) / scale * width as f64).round() as usize).min(width);
    let mut out = format!("{}  {}  {} → {}\n", s.collar_id, s.timezone, s.from, s.to);
    if s.days.is_empty() {
        out += "no days in this range\n";
    }
    for d in &s.days {
        let date = NaiveDate::parse_from_str(&d.date, "%Y-%m-%d")
            .map(|x| x.format("%Y-%m-%d %a").to_string())
            .unwrap_or_else(|_| d.date.clone());
        let filled = if d.readings == 0 { 0 } else { cells(d.active_minutes) };
        let mut bar: String = (0..width).map(|i| if i < filled { '#' } else { ' ' }).collect();
        bar.insert(cells(d.active_goal_minutes), '|');
        let figures = if d.readings == 0 {
            "   -  no data".to_owned()
        } else {
            let met = if d.goal_met { '✓' } else { ' ' };
            let partial = if d.complete { "" } else { "  (partial day)" };
            format!("{:>4.0} min {met}{partial}", d.active_minutes)
        };
        out += format!("{date}  {bar}  {figures}").trim_end();
        out.push('\n');
    }
    out += &format!("# active minutes (full bar {scale:.0} min)  | the day's goal  ✓ goal met\n\n");
    let st = &s.streaks;
    out += &format!("goal streak: current {}, longest {}", days(st.current_days), days(st.longest_days));
    if let Some(end) = &st.longest_ended_on {
        out += &format!(" (ended {end})");
    }
    out.push('\n');
    for (kind, periods) in [("week", &s.weeks), ("month", &s.months)] {
        for p in periods {
            out += &period(kind, p);
        }
    }
    out
}

/// One aggregate line: means are over the days with data (`-` when there are none).
fn period(kind: &str, p: &PeriodSummary) -> String {
    let avg = |v: Option<f64>, decimals: usize| v.map(|x| format!("{x:.decimals$}")).unwrap_or_else(|| "-".into());
    format!(
        "{kind:<5}  {} → {}  data {}/{}  active {} min/day  deep sleep {} h/day  {:.1} km  goal met {}\n",
        p.from,
        p.to,
        p.days_with_data,
        days(p.days),
        avg(p.active_minutes_avg, 0),
        avg(p.deep_sleep_h_avg, 1),
        p.distance_m_total / 1000.0,
        days(p.goal_met_days),
    )
}

fn days(n: u32) -> String {
    format!("{n} {}", if n == 1 { "day" } else { "days" })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use petty_client::types::{BaselineSource, DaySummary, Streaks};

    use super::*;

    fn event(start: &str, end: &str, behavior: Behavior) -> Event {
        serde_json::from_value(serde_json::json!({
            "event_id": "x", "timestamp": start, "behavior": behavior, "confidence": 1.0, "start": start, "end": end,
            "duration_s": 1.0, "stats": {"samples": 1, "heart_rate_mean_bpm": null, "heart_rate_min_bpm": null,
            "heart_rate_max_bpm": null, "distance_m": 0.0},
            "metadata": {"baseline_heart_rate_bpm": 80.0, "baseline_source": "measured"}, "feedback": null
        }))
        .unwrap()
    }

    #[test]
    fn a_day_in_one_line() {
        let from = parse_time("2026-01-01T00:00:00Z").unwrap();
        let to = parse_time("2026-01-02T00:00:00Z").unwrap();
        let events = [
            event("2026-01-01T00:00:00Z", "2026-01-01T06:00:00Z", Behavior::DeepSleep),
            event("2026-01-01T06:00:00Z", "2026-01-01T12:00:00Z", Behavior::Walk),
            event("2026-01-01T12:00:00Z", "2026-01-01T18:00:00Z", Behavior::Rest),
        ];
        let text = chart(&events, from, to, 8);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "|__ww..  |");
        assert_eq!(lines[0], " 00:00", "only the labels that fit");
        let wide = chart(&events, from, to, 48);
        let ruler = wide.lines().next().unwrap();
        assert!(ruler.starts_with(" 00:00") && ruler.contains("12:00") && ruler.ends_with("00:00"), "{ruler:?}");
        // On the pet's clock: Tokyo's day from 15:00Z reads from 00:00.
        let tokyo = chrono_tz::Asia::Tokyo;
        let local = chart(&events, from.with_timezone(&tokyo), to.with_timezone(&tokyo), 48);
        assert!(local.lines().next().unwrap().starts_with(" 09:00"), "{local}");
        assert_eq!(hhmm_in("2026-11-21T15:00:00.000Z", &tokyo), "00:00");
        assert_eq!(hhmm("2026-11-21T15:00:00.000Z"), "15:00");
    }

    fn day(date: &str, active: f64, readings: u32, goal_met: bool, complete: bool) -> DaySummary {
        DaySummary {
            date: date.into(),
            start: format!("{date}T00:00:00.000Z"),
            end: format!("{date}T23:59:59.999Z"),
            active_minutes: active,
            active_goal_minutes: 60.0,
            goal_met,
            distance_m: active * 50.0,
            deep_sleep_night_h: 8.0,
            deep_sleep_day_h: 2.0,
            resting_heart_rate_bpm: 80.0,
            baseline_source: BaselineSource::Measured,
            episodes: BTreeMap::new(),
            readings,
            hours: 24.0,
            coverage: if readings == 0 { 0.0 } else { 1.0 },
            complete,
        }
    }

    fn summary() -> PetSummary {
        let period = |from: &str, days: u32, active: Option<f64>, deep: Option<f64>| PeriodSummary {
            from: from.into(),
            to: "2026-11-05".into(),
            days,
            days_with_data: 3,
            active_minutes_avg: active,
            deep_sleep_h_avg: deep,
            resting_heart_rate_bpm_avg: Some(80.0),
            distance_m_total: 9600.0,
            goal_met_days: 1,
        };
        PetSummary {
            collar_id: "DM-000001".into(),
            timezone: "Europe/Berlin".into(),
            from: "2026-11-02".into(),
            to: "2026-11-05".into(),
            days: vec![
                day("2026-11-02", 30.0, 1440, false, true),
                day("2026-11-03", 120.0, 1440, true, true),
                day("2026-11-04", 0.0, 0, false, true),
                day("2026-11-05", 42.0, 600, false, false),
            ],
            weeks: vec![period("2026-11-02", 4, Some(64.0), Some(10.0))],
            months: vec![period("2026-11-01", 30, Some(64.0), Some(10.0))],
            streaks: Streaks { current_days: 0, longest_days: 1, longest_ended_on: Some("2026-11-03".into()) },
            model_version: "test".into(),
            generated_at: "2026-11-05T12:00:00.000Z".into(),
        }
    }

    #[test]
    fn a_month_as_a_chart() {
        // Full bar 120 min in 20 columns: 6 min a column, the 60-minute goal after column 10.
        let text = month_chart(&summary(), 20);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "DM-000001  Europe/Berlin  2026-11-02 → 2026-11-05",
                "2026-11-02 Mon  #####     |              30 min",
                "2026-11-03 Tue  ##########|##########   120 min ✓",
                "2026-11-04 Wed            |               -  no data",
                "2026-11-05 Thu  #######   |              42 min    (partial day)",
                "# active minutes (full bar 120 min)  | the day's goal  ✓ goal met",
                "",
                "goal streak: current 0 days, longest 1 day (ended 2026-11-03)",
                "week   2026-11-02 → 2026-11-05  data 3/4 days  active 64 min/day  deep sleep 10.0 h/day  9.6 km  goal met 1 day",
                "month  2026-11-01 → 2026-11-05  data 3/30 days  active 64 min/day  deep sleep 10.0 h/day  9.6 km  goal met 1 day",
            ]
        );
    }

    #[test]
    fn the_goal_is_on_the_scale_when_no_day_reaches_it() {
        let mut s = summary();
        s.days.truncate(1); // 30 of a 60-minute goal: the goal is the full bar
        s.streaks = Streaks::default();
        let text = month_chart(&s, 10);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "2026-11-02 Mon  #####     |    30 min");
        assert_eq!(lines[2], "# active minutes (full bar 60 min)  | the day's goal  ✓ goal met");
        assert_eq!(lines[4], "goal streak: current 0 days, longest 0 days");
        // A period without data has no means.
        s.months[0] = PeriodSummary {
            days_with_data: 0,
            active_minutes_avg: None,
            deep_sleep_h_avg: None,
            distance_m_total: 0.0,
            goal_met_days: 0,
            ..s.months[0].clone()
        };
        assert_eq!(
            month_chart(&s, 10).lines().last(),
            Some(
                "month  2026-11-01 → 2026-11-05  data 0/30 days  active - min/day  deep sleep - h/day  0.0 km  goal met 0 days"
            )
        );
    }

    #[test]
    fn times_in_utc() {
        assert_eq!(datetime("2026-12-01T09:30:05.250+01:00"), "2026-12-01 08:30:05");
        assert_eq!(datetime("not a time"), "not a time");
    }

    #[test]
    fn tables_align() {
        let t = table(&["a", "bb"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(t, "a    bb\n---  --\nxyz  1\n");
    }
}
