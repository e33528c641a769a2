//! What people read: tables and the one-line chart of a day.

use chrono::{DateTime, TimeZone, Utc};
use petty_client::types::{Behavior, Event};

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

#[cfg(test)]
mod tests {
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
