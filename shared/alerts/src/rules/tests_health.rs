//! Heart rate at rest, temperature and battery: each raised once and resolved.

use petty_api::alerts::AlertType;
use petty_api::collars::Species;

use super::tests::{COLLAR, HOME, MIN, Setup, T0, fix, opens, resolves};
use super::*;

const S10: i64 = 10_000;

fn rest(ts: i64, hr: u16) -> Observation {
    Observation { heart_rate: hr, ..fix(ts, HOME, None) }
}

fn walk(ts: i64, hr: u16) -> Observation {
    Observation { activity: 1, ..rest(ts, hr) }
}

/// Resting readings every 10 s from `from` for `n` readings, heart rate by index.
fn resting(from: i64, n: i64, hr: impl Fn(i64) -> u16) -> Vec<Observation> {
    (0..n).map(|i| rest(from + i * S10, hr(i))).collect()
}

fn opened_at(s: &Setup, readings: &[Observation]) -> Vec<i64> {
    opens(&s.stream(&mut CollarState::default(), readings)).iter().map(|a| a.opened_ms).collect()
}

/// The fallback limit of a 20 kg dog: typical resting 85 bpm × 1.35.
const LIMIT: f64 = 85.0 * 1.35;

#[test]
fn high_heart_rate_at_rest_opens_after_the_sustained_minutes_and_resolves_after_five_calm() {
    let s = Setup::home();
    let mut st = CollarState::default();
    let high = resting(T0, 73, |_| 130);
    let t = s.stream(&mut st, &high);
    let id = format!("{COLLAR}.heart_rate_high_at_rest.-.{}", T0 + 10 * MIN);
    assert_eq!(
        t,
        vec![Transition::Open(NewAlert {
            alert_id: id.clone(),
            kind: AlertType::HeartRateHighAtRest,
            zone_id: None,
            opened_ms: T0 + 10 * MIN,
            value: 130.0,
            threshold: 114.8,
            unit: "bpm",
            reading: Some(high[60].clone()),
        })]
    );
    assert_eq!(round1(LIMIT), 114.8);
    let c0 = T0 + 12 * MIN + S10;
    let t = s.stream(&mut st, &resting(c0, 37, |_| 80));
    assert_eq!(
        t,
        vec![Transition::Resolve(Resolution {
            alert_id: id,
            kind: AlertType::HeartRateHighAtRest,
            zone_id: None,
            at_ms: c0 + 5 * MIN,
            by: "heart_rate_normal",
        })]
    );
    assert!(st.open.is_empty());
}

#[test]
fn at_the_limit_is_not_high() {
    let s = Setup::home();
    // 114 ≤ 114.75 < 115.
    assert!(opened_at(&s, &resting(T0, 80, |_| 114)).is_empty());
    assert_eq!(opened_at(&s, &resting(T0, 80, |_| 115)), [T0 + 10 * MIN]);
    // The setting sets the minutes.
    let mut five = Setup::home();
    five.settings.heart_rate_sustained_min = 5;
    assert_eq!(opened_at(&five, &resting(T0, 80, |_| 115)), [T0 + 5 * MIN]);
}

#[test]
fn walking_a_gap_or_three_calm_readings_end_the_run_but_two_do_not() {
    let s = Setup::home();
    // A walk at 6 minutes: the run starts again after it.
    let mut r = resting(T0, 36, |_| 130);
    r.push(walk(T0 + 36 * S10, 150));
    r.extend(resting(T0 + 37 * S10, 84, |_| 130));
    assert_eq!(opened_at(&s, &r), [T0 + 37 * S10 + 10 * MIN]);
    // Two calm readings in a row inside the run are noise.
    let two = resting(T0, 80, |i| if matches!(i % 6, 2 | 3) { 90 } else { 130 });
    assert_eq!(opened_at(&s, &two), [T0 + 10 * MIN]);
    let three = resting(T0, 120, |i| if matches!(i % 6, 2..=4) { 90 } else { 130 });
    assert!(opened_at(&s, &three).is_empty());
    // Readings without a heart rate (0) neither count nor break.
    let zeros = resting(T0, 80, |i| if i % 3 == 1 { 0 } else { 130 });
    assert_eq!(opened_at(&s, &zeros), [T0 + 10 * MIN]);
    // A silence of exactly the model's gap (300 s) continues the run; a second more ends it.
    for (gap_s, opened) in [(300, T0 + 36 * S10 + 300_000), (301, T0 + 36 * S10 + 301_000 + 10 * MIN)] {
        let mut r = resting(T0, 37, |_| 130);
        r.extend(resting(T0 + 36 * S10 + gap_s * 1_000, 61, |_| 130));
        assert_eq!(opened_at(&s, &r), [opened], "gap {gap_s}");
    }
}

#[test]
fn the_measured_baseline_comes_from_resting_minutes_even_late_ones() {
    let s = Setup::home();
    // Three hours of rest at 60 bpm, one reading a minute, delivered late.
    let history: Vec<Observation> = (0..180).map(|i| rest(T0 + i * MIN, 60)).collect();
    let mut st = CollarState::default();
    let now = T0 + 5 * 60 * MIN;
    assert!(evaluate(&mut st, &s.ctx(now), &history).is_empty());
    assert_eq!(st.rest.samples().len(), 180);
    // 100 bpm is under the profile's limit (114.75) but well above 60 × 1.35 = 81.
    let raised = resting(now, 70, |_| 100);
    let t = s.stream(&mut st, &raised);
    assert_eq!(opens(&t).len(), 1);
    assert_eq!((opens(&t)[0].opened_ms, opens(&t)[0].threshold), (now + 10 * MIN, 81.0));
    assert!(opened_at(&s, &raised).is_empty(), "without the history, the profile's limit applies");
    // Walking readings are not resting minutes; a day later the history has aged out.
    let mut st2 = st.clone();
    s.run(&mut st2, &[walk(now + 20 * MIN, 90)]);
    assert_eq!(st2.rest.samples().len(), st.rest.samples().len());
    s.run(&mut st2, &[walk(T0 + 24 * 60 * MIN + 3 * 60 * MIN, 90)]);
    assert!(st2.rest.samples().iter().all(|x| x.heart_rate == 100), "only the raised minutes are within a day");
}

#[test]
fn calm_counts_through_walks_but_not_through_gaps_or_high_readings() {
    let s = Setup::home();
    let opened = || {
        let mut st = CollarState::default();
        assert_eq!(opens(&s.stream(&mut st, &resting(T0, 61, |_| 130))).len(), 1);
        st
    };
    let c0 = T0 + 61 * S10;
    // 3 calm minutes, a 2-minute walk (fast heart, as walks are), calm again: 5 minutes since
    // the first calm reading resolve it.
    let mut st = opened();
    let mut r = resting(c0, 18, |_| 80);
    r.extend((18..30).map(|i| walk(c0 + i * S10, 140)));
    r.extend(resting(c0 + 30 * S10, 12, |_| 80));
    let t = s.stream(&mut st, &r);
    assert_eq!(resolves(&t).iter().map(|x| x.at_ms).collect::<Vec<_>>(), [c0 + 5 * MIN]);
    // A gap of more than 300 s starts the calm minutes again.
    let mut st = opened();
    let mut r = resting(c0, 24, |_| 80);
    let after = c0 + 23 * S10 + 301_000;
    r.extend(resting(after, 40, |_| 80));
    let t = s.stream(&mut st, &r);
    assert_eq!(resolves(&t).iter().map(|x| x.at_ms).collect::<Vec<_>>(), [after + 5 * MIN]);
    // So does a high resting reading.
    let mut st = opened();
    let r = resting(c0, 70, |i| if i == 20 { 130 } else { 80 });
    let t = s.stream(&mut st, &r);
    assert_eq!(resolves(&t).iter().map(|x| x.at_ms).collect::<Vec<_>>(), [c0 + 21 * S10 + 5 * MIN]);
}

fn with_temp(ts: i64, t: Option<f64>) -> Observation {
    Observation { temperature_c: t, ..fix(ts, HOME, None) }
}

#[test]
fn temperature_high_raises_once_on_the_third_reading_and_resolves_with_hysteresis() {
    let s = Setup::home();
    let mut st = CollarState::default();
    let temps = [Some(40.2), None, Some(40.3), Some(f64::NAN), Some(40.1), Some(40.6), Some(40.4)];
    let readings: Vec<Observation> =
        temps.iter().enumerate().map(|(i, t)| with_temp(T0 + i as i64 * S10, *t)).collect();
    let t = s.run(&mut st, &readings);
    assert_eq!(opens(&t).len(), 1, "readings without a temperature neither count nor break the run");
    let a = opens(&t)[0];
    assert_eq!(
        (a.kind, a.opened_ms, a.value, a.threshold, a.unit),
        (AlertType::TemperatureHigh, T0 + 4 * S10, 40.1, 39.9, "°C")
    );
    // 39.8 is inside the band but within the hysteresis; 39.7 is the edge of it.
    let back: Vec<Observation> = [39.8, 39.8, 39.8, 39.8, 39.7, 39.5, 39.6]
        .iter()
        .enumerate()
        .map(|(i, t)| with_temp(T0 + (10 + i as i64) * S10, Some(*t)))
        .collect();
    let t = s.run(&mut st, &back);
    assert_eq!(resolves(&t).len(), 1);
    assert_eq!((resolves(&t)[0].at_ms, resolves(&t)[0].by), (T0 + 16 * S10, "temperature_normal"));
    // Half an hour of fever: still one alert.
    let fever: Vec<Observation> = (0..180).map(|i| with_temp(T0 + (20 + i) * S10, Some(40.5))).collect();
    assert_eq!(opens(&s.stream(&mut st, &fever)).len(), 1);
}

#[test]
fn temperature_low_for_a_cat() {
    let mut s = Setup::home();
    s.species = Species::Cat;
    let mut st = CollarState::default();
    let temps = [37.0, 37.1, 36.9, 37.3, 37.3, 37.3, 37.5, 37.4, 37.6];
    let readings: Vec<Observation> =
        temps.iter().enumerate().map(|(i, t)| with_temp(T0 + i as i64 * S10, Some(*t))).collect();
    let t = s.run(&mut st, &readings);
    let kinds: Vec<_> = t
        .iter()
        .map(|t| match t {
            Transition::Open(a) => (a.kind, a.opened_ms, a.threshold),
            Transition::Resolve(r) => (r.kind, r.at_ms, 0.0),
        })
        .collect();
    assert_eq!(
        kinds,
        [(AlertType::TemperatureLow, T0 + 2 * S10, 37.2), (AlertType::TemperatureLow, T0 + 8 * S10, 0.0)]
    );
    // 39.6 is a fever for a cat (not for a dog).
    let hot: Vec<Observation> = (0..3).map(|i| with_temp(T0 + (20 + i) * S10, Some(39.6))).collect();
    assert_eq!(opens(&s.run(&mut st, &hot))[0].threshold, 39.5);
}

fn with_battery(ts: i64, pct: f64) -> Observation {
    Observation { battery_pct: Some(pct), ..fix(ts, HOME, None) }
}

#[test]
fn battery_noise_raises_once_and_a_recharge_resolves() {
    let s = Setup::home();
    let mut st = CollarState::default();
    let levels = [16.0, 15.0, 14.0, 16.0, 14.0, 16.0, 14.0, 3.0, 25.0, 30.0];
    let readings: Vec<Observation> =
        levels.iter().enumerate().map(|(i, p)| with_battery(T0 + i as i64 * S10, *p)).collect();
    let t = s.run(&mut st, &readings);
    assert_eq!(t.len(), 1, "{t:?}");
    let a = opens(&t)[0];
    assert_eq!(
        (a.kind, a.opened_ms, a.value, a.threshold, a.unit),
        (AlertType::BatteryLow, T0 + 2 * S10, 14.0, 15.0, "%")
    );
    assert!(st.battery_disarmed);
    let t = s.run(&mut st, &[with_battery(T0 + 20 * S10, 30.5)]);
    assert_eq!(resolves(&t).len(), 1);
    assert!(!st.battery_disarmed);
    assert_eq!(resolves(&t)[0].by, "battery_recharged");
    // The next discharge raises again, with a new id.
    let t = s.run(&mut st, &[with_battery(T0 + 30 * S10, 14.5)]);
    assert_eq!(opens(&t).len(), 1);
    assert_ne!(opens(&t)[0].alert_id, a.alert_id);
    // A 20 % threshold re-arms above 35 %.
    let mut s20 = Setup::home();
    s20.settings.battery_low_pct = 20;
    let mut st = CollarState::default();
    let t = s20.stream(
        &mut st,
        &[19.0, 35.0, 19.0, 35.5, 19.0]
            .iter()
            .enumerate()
            .map(|(i, p)| with_battery(T0 + i as i64 * S10, *p))
            .collect::<Vec<_>>(),
    );
    assert_eq!(opens(&t).len(), 2);
    assert_eq!(resolves(&t).len(), 1);
}
