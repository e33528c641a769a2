//! A simulated day by the fence, and zones' active hours.

use petty_api::alerts::AlertType;

use super::tests::{COLLAR, HOME, Setup, T0, circle, fix, offset, opens};
use super::*;

/// A tiny seeded xorshift64 generator: deterministic days without a dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

/// `dist_m` from `p` towards `bearing` (radians from north).
fn towards(p: (f64, f64), dist_m: f64, bearing: f64) -> (f64, f64) {
    offset(p, dist_m * bearing.cos(), dist_m * bearing.sin())
}

/// A day of fixes every 10 s of a pet resting 1–3 m inside the fence of a 50 m circle, with
/// GPS jitter uniformly within each fix's accuracy (5–15 m), and 3 % of fixes with poor
/// accuracy (80–300 m) placed far outside.
fn day_by_the_fence(rng: &mut XorShift) -> Vec<Observation> {
    let mut spot = HOME;
    (0..8_640i64)
        .map(|i| {
            if i % 360 == 0 {
                // A new resting place every hour, 47–49 m from the centre.
                spot = towards(HOME, 50.0 - rng.range(1.0, 3.0), rng.range(0.0, std::f64::consts::TAU));
            }
            let (p, accuracy) = if rng.unit() < 0.03 {
                let acc = rng.range(80.0, 300.0);
                (towards(HOME, rng.range(100.0, 400.0), rng.range(0.0, std::f64::consts::TAU)), acc)
            } else {
                let acc = rng.range(5.0, 15.0);
                let jitter = acc * rng.unit().sqrt();
                (towards(spot, jitter, rng.range(0.0, std::f64::consts::TAU)), acc)
            };
            let mut r = fix(T0 + i * 10_000, p, Some(accuracy));
            r.heart_rate = rng.range(70.0, 96.0) as u16;
            r.temperature_c = (i % 6 == 0).then(|| rng.range(38.3, 39.0));
            r.battery_pct = Some(100.0 - 60.0 * i as f64 / 8_640.0);
            r
        })
        .collect()
}

#[test]
fn a_day_resting_by_the_fence_with_gps_noise_raises_nothing() {
    let s = Setup::home();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let day = day_by_the_fence(&mut rng);
    let mut st = CollarState::default();
    let mut transitions = Vec::new();
    let mut i = 0;
    while i < day.len() {
        let n = 1 + (rng.next() % 12) as usize;
        let batch = &day[i..(i + n).min(day.len())];
        let now = batch[batch.len() - 1].ts_ms + (rng.next() % 5_000) as i64;
        transitions.extend(evaluate(&mut st, &s.ctx(now), batch));
        assert_eq!(sweep(&mut st, COLLAR, &s.settings, now), None);
        i += n;
    }
    assert!(transitions.is_empty(), "{:?}", &transitions[..transitions.len().min(3)]);
    assert_eq!(st.last_ts_ms, day[day.len() - 1].ts_ms);
    assert!(st.rest.samples().len() >= 1_430, "a day of resting minutes: {}", st.rest.samples().len());
    let json = serde_json::to_string(&st).unwrap();
    assert!(json.len() < 2_500, "{} bytes", json.len());
    assert_eq!(serde_json::from_str::<CollarState>(&json).unwrap(), st);
    // The same rules do see a real escape: two fixes 80 m out.
    let end = st.last_ts_ms;
    let gone =
        [fix(end + 10_000, offset(HOME, 80.0, 0.0), Some(8.0)), fix(end + 20_000, offset(HOME, 85.0, 0.0), Some(8.0))];
    let t = evaluate(&mut st, &s.ctx(end + 21_000), &gone);
    assert_eq!(
        opens(&t).iter().map(|a| (a.kind, a.opened_ms)).collect::<Vec<_>>(),
        [(AlertType::ZoneExit, end + 20_000)]
    );
    // With every alert open the state stays under 4 KB.
    for kind in AlertType::ALL {
        let zone = (kind == AlertType::ZoneExit).then(|| "z".repeat(32));
        let alert_id = alert_id(COLLAR, kind, zone.as_deref(), end);
        st.open.insert(open_key(kind, zone.as_deref()), OpenAlert { alert_id, kind, zone_id: zone, opened_ms: end });
    }
    let json = serde_json::to_string(&st).unwrap();
    assert!(json.len() < 4_096, "{} bytes", json.len());
}

#[test]
fn zones_count_only_in_their_active_hours() {
    let mut s = Setup::home();
    s.zones = vec![circle("night", HOME, 50.0, Some(("22:00", "07:00")))];
    // 2024-07-03 in Berlin (CEST, UTC+2).
    let utc = |h: u32, m: u32, sec: u32| {
        chrono::NaiveDate::from_ymd_opt(2024, 7, 3)
            .unwrap()
            .and_hms_opt(h, m, sec)
            .unwrap()
            .and_utc()
            .timestamp_millis()
    };
    let out = offset(HOME, 200.0, 0.0);
    // 23:00 local: watched.
    let mut st = CollarState::default();
    let t = s.run(&mut st, &[fix(utc(21, 0, 0), out, None), fix(utc(21, 0, 10), out, None)]);
    assert_eq!(opens(&t).len(), 1);
    assert_eq!(opens(&t)[0].zone_id.as_deref(), Some("night"));
    // 12:00 local: not watched.
    let mut st = CollarState::default();
    assert!(s.run(&mut st, &[fix(utc(10, 0, 0), out, None), fix(utc(10, 0, 10), out, None)]).is_empty());
    // 06:59:50 then 07:00:00 local: the window closes between the two fixes, and a fix while
    // nothing is watched breaks the run.
    let mut st = CollarState::default();
    let t =
        s.run(&mut st, &[fix(utc(4, 59, 50), out, None), fix(utc(5, 0, 0), out, None), fix(utc(5, 0, 10), out, None)]);
    assert!(t.is_empty());
    assert_eq!(st.zone, Default::default());
    // 21:59:50 then 22:00:00 local: the first fix reset the run, the second counts as the first.
    let mut st = CollarState::default();
    let fixes = [fix(utc(19, 59, 50), out, None), fix(utc(20, 0, 0), out, None), fix(utc(20, 0, 10), out, None)];
    let t = s.run(&mut st, &fixes);
    assert_eq!(opens(&t).iter().map(|a| a.opened_ms).collect::<Vec<_>>(), [utc(20, 0, 10)]);
    // In winter (CET, UTC+1) the same local hours are an hour later in UTC.
    let winter = |h: u32, m: u32, sec: u32| {
        chrono::NaiveDate::from_ymd_opt(2024, 1, 10)
            .unwrap()
            .and_hms_opt(h, m, sec)
            .unwrap()
            .and_utc()
            .timestamp_millis()
    };
    let mut st = CollarState::default();
    assert!(
        s.run(&mut st, &[fix(winter(20, 59, 50), out, None), fix(winter(20, 59, 59), out, None)]).is_empty(),
        "21:59 CET"
    );
    let t = s.run(&mut st, &[fix(winter(21, 0, 0), out, None), fix(winter(21, 0, 10), out, None)]);
    assert_eq!(opens(&t).len(), 1, "22:00 CET");
}
