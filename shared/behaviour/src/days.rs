//! A pet's days: they start at local midnight in the pet's IANA time zone, so a day is 23 or
//! 25 hours long when the clocks change. The timeline segments on these days, the plan's
//! "today" is one of them and `GET /v1/pet-timeline?day=` names one.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;

/// Where a pet's days start: local midnights in one time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Calendar {
    tz: Tz,
}

/// Local times skipped by a clock change are at most this long (minutes, in 15-minute steps):
/// Lord Howe's 30 minutes and everyone else's hour fit.
const LONGEST_GAP_MIN: u32 = 180;

impl Calendar {
    /// Days on UTC midnights.
    pub const UTC: Calendar = Calendar { tz: chrono_tz::UTC };

    pub fn new(tz: Tz) -> Self {
        Self { tz }
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The local date at `ms` (Unix ms).
    pub fn date_of(&self, ms: i64) -> NaiveDate {
        DateTime::from_timestamp_millis(ms).unwrap_or_default().with_timezone(&self.tz).date_naive()
    }

    /// When local `date` starts (Unix ms): its midnight; the first of two midnights when the
    /// clocks go back over it; the first local time that exists when they skip it (zones that
    /// change at 00:00).
    pub fn start_of(&self, date: NaiveDate) -> i64 {
        (0..=LONGEST_GAP_MIN)
            .step_by(15)
            .find_map(|min| {
                let local = date.and_time(NaiveTime::MIN) + chrono::Duration::minutes(i64::from(min));
                self.instant(&local)
            })
            .unwrap_or_else(|| date.and_time(NaiveTime::MIN).and_utc().timestamp_millis())
    }

    /// `[start, end)` of local `date`, Unix ms.
    pub fn window(&self, date: NaiveDate) -> (i64, i64) {
        (self.start_of(date), self.start_of(date.succ_opt().unwrap_or(date)))
    }

    /// The start of the local day holding `ms`.
    pub fn floor(&self, ms: i64) -> i64 {
        self.start_of(self.date_of(ms))
    }

    /// Every local day overlapping `[from_ms, to_ms)`, whole (not clipped): `(date, start, end)`.
    pub fn days(&self, from_ms: i64, to_ms: i64) -> Vec<(NaiveDate, i64, i64)> {
        let mut days = Vec::new();
        if from_ms >= to_ms {
            return days;
        }
        let mut date = self.date_of(from_ms);
        loop {
            let (start, end) = self.window(date);
            if start >= to_ms || end <= start {
                break;
            }
            days.push((date, start, end));
            date = date.succ_opt().unwrap_or(date);
        }
        days
    }

    /// A local wall-clock time as an instant: the earlier one when the clocks went back over
    /// it, `None` when they skipped it.
    pub fn instant(&self, local: &NaiveDateTime) -> Option<i64> {
        match self.tz.from_local_datetime(local) {
            LocalResult::Single(t) => Some(t.timestamp_millis()),
            LocalResult::Ambiguous(earlier, _) => Some(earlier.timestamp_millis()),
            LocalResult::None => None,
        }
    }
}

impl Default for Calendar {
    fn default() -> Self {
        Self::UTC
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HOUR: i64 = 3_600_000;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn at(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    fn cal(tz: &str) -> Calendar {
        Calendar::new(tz.parse().unwrap())
    }

    #[test]
    fn a_day_starts_at_local_midnight_in_three_zones() {
        assert_eq!(
            cal("Asia/Tokyo").window(date("2026-11-21")),
            (at("2026-11-20T15:00:00Z"), at("2026-11-21T15:00:00Z"))
        );
        assert_eq!(
            cal("Europe/Berlin").window(date("2026-11-21")),
            (at("2026-11-20T23:00:00Z"), at("2026-11-21T23:00:00Z"))
        );
        assert_eq!(
            cal("America/New_York").window(date("2026-11-21")),
            (at("2026-11-21T05:00:00Z"), at("2026-11-22T05:00:00Z"))
        );
        assert_eq!(Calendar::UTC.window(date("2026-11-21")), (at("2026-11-21T00:00:00Z"), at("2026-11-22T00:00:00Z")));
        // 08:00 UTC is 17:00 in Tokyo, the same date; 15:00 UTC is already the next day there.
        assert_eq!(cal("Asia/Tokyo").date_of(at("2026-11-21T08:00:00Z")), date("2026-11-21"));
        assert_eq!(cal("Asia/Tokyo").date_of(at("2026-11-21T15:00:00Z")), date("2026-11-22"));
        assert_eq!(cal("America/New_York").date_of(at("2026-11-21T03:00:00Z")), date("2026-11-20"));
    }

    #[test]
    fn the_days_the_clocks_change_are_23_and_25_hours_long() {
        let berlin = cal("Europe/Berlin");
        let (s, e) = berlin.window(date("2026-03-29"));
        assert_eq!((s, e - s), (at("2026-03-28T23:00:00Z"), 23 * HOUR), "spring forward");
        let (s, e) = berlin.window(date("2026-10-25"));
        assert_eq!((s, e - s), (at("2026-10-24T22:00:00Z"), 25 * HOUR), "fall back");
        let ny = cal("America/New_York");
        assert_eq!(ny.window(date("2026-03-08")).1 - ny.window(date("2026-03-08")).0, 23 * HOUR);
        assert_eq!(ny.window(date("2026-11-01")).1 - ny.window(date("2026-11-01")).0, 25 * HOUR);
        // Southern hemisphere: Sydney goes forward in October, back in April.
        let sydney = cal("Australia/Sydney");
        assert_eq!(sydney.window(date("2026-10-04")).1 - sydney.window(date("2026-10-04")).0, 23 * HOUR);
        assert_eq!(sydney.window(date("2026-04-05")).1 - sydney.window(date("2026-04-05")).0, 25 * HOUR);
    }

    #[test]
    fn a_zone_that_skips_midnight_starts_the_day_when_it_resumes() {
        // Chile (America/Santiago) moves its clocks at 00:00 local: on 2026-09-06, 00:00 jumps to 01:00.
        let santiago = cal("America/Santiago");
        let start = santiago.start_of(date("2026-09-06"));
        assert_eq!(start, at("2026-09-06T04:00:00Z"), "01:00 -03:00, the first local time of the day");
        assert_eq!(santiago.date_of(start), date("2026-09-06"));
        assert_eq!(santiago.date_of(start - 1), date("2026-09-05"));
    }

    #[test]
    fn days_cover_a_span_whole_and_in_order() {
        let berlin = cal("Europe/Berlin");
        let days = berlin.days(at("2026-10-24T12:00:00Z"), at("2026-10-26T00:30:00Z"));
        let dates: Vec<NaiveDate> = days.iter().map(|d| d.0).collect();
        assert_eq!(dates, vec![date("2026-10-24"), date("2026-10-25"), date("2026-10-26")]);
        assert!(days.windows(2).all(|w| w[0].2 == w[1].1), "contiguous");
        assert_eq!(days[1].2 - days[1].1, 25 * HOUR);
        assert!(berlin.days(at("2026-10-24T12:00:00Z"), at("2026-10-24T12:00:00Z")).is_empty());
    }

    #[test]
    fn ambiguous_and_skipped_wall_times() {
        let berlin = cal("Europe/Berlin");
        let twice: NaiveDateTime = "2026-10-25T02:30:00".parse().unwrap();
        assert_eq!(berlin.instant(&twice), Some(at("2026-10-25T00:30:00Z")), "the earlier of the two");
        let never: NaiveDateTime = "2026-03-29T02:30:00".parse().unwrap();
        assert_eq!(berlin.instant(&never), None);
    }

    proptest! {
        #[test]
        fn every_instant_is_in_exactly_the_day_floor_names(ms in 1_600_000_000_000i64..1_900_000_000_000, zone in 0usize..6) {
            let tz = ["UTC", "Asia/Tokyo", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago"][zone];
            let c = cal(tz);
            let (start, end) = c.window(c.date_of(ms));
            prop_assert!(start <= ms && ms < end, "{tz}: {start} <= {ms} < {end}");
            prop_assert_eq!(c.floor(ms), start);
            prop_assert!((end - start) >= 22 * HOUR && (end - start) <= 26 * HOUR);
        }
    }
}
