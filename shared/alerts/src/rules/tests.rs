//! Zone exits, the sweep, late / re-delivered / future readings and disabled types; shared
//! fixtures for the other rule tests.

use petty_api::alerts::{AlertSettings, AlertType, ZoneSpec};
use petty_api::collars::Species;
use petty_behaviour::Thresholds;
use petty_behaviour::geo::EARTH_RADIUS_M;

use super::*;
use crate::zone::{self, CheckedZone};

pub(super) const COLLAR: &str = "AB-1234";
/// 2024-07-03T09:46:40Z (11:46 in Berlin).
pub(super) const T0: i64 = 1_720_000_000_000;
pub(super) const HOME: (f64, f64) = (52.52, 13.405);
pub(super) const MIN: i64 = 60_000;

/// Metres north / east of `p`.
pub(super) fn offset(p: (f64, f64), north_m: f64, east_m: f64) -> (f64, f64) {
    let per_deg = EARTH_RADIUS_M.to_radians();
    (p.0 + north_m / per_deg, p.1 + east_m / (per_deg * p.0.to_radians().cos()))
}

pub(super) fn circle(id: &str, c: (f64, f64), radius_m: f64, hours: Option<(&str, &str)>) -> CheckedZone {
    let spec = ZoneSpec {
        name: id.into(),
        center: Some(vec![c.1, c.0]),
        radius_m: Some(radius_m),
        polygon: None,
        active_hours: hours.map(|(from, to)| petty_api::alerts::ActiveHours { from: from.into(), to: to.into() }),
    };
    zone::check(id, &spec).unwrap()
}

/// A 20 kg dog in Berlin with a 50 m home zone and default settings.
pub(super) struct Setup {
    pub settings: AlertSettings,
    pub zones: Vec<CheckedZone>,
    pub species: Species,
}

impl Setup {
    pub(super) fn home() -> Self {
        Self {
            settings: AlertSettings::default(),
            zones: vec![circle("home", HOME, 50.0, None)],
            species: Species::Dog,
        }
    }

    pub(super) fn ctx(&self, now_ms: i64) -> Context<'_> {
        Context {
            collar_id: COLLAR,
            now_ms,
            species: self.species,
            weight_kg: 20.0,
            tz: chrono_tz::Europe::Berlin,
            settings: &self.settings,
            zones: &self.zones,
            thresholds: Thresholds::default(),
        }
    }

    /// One batch, evaluated a second after its newest reading.
    pub(super) fn run(&self, state: &mut CollarState, readings: &[Observation]) -> Vec<Transition> {
        let now = readings.iter().map(|r| r.ts_ms).max().unwrap_or(T0) + 1_000;
        evaluate(state, &self.ctx(now), readings)
    }

    /// Readings as a live collar sends them: batches of six, each evaluated on arrival.
    pub(super) fn stream(&self, state: &mut CollarState, readings: &[Observation]) -> Vec<Transition> {
        readings.chunks(6).flat_map(|batch| self.run(state, batch)).collect()
    }
}

/// A resting reading at `p` with a normal heart rate.
pub(super) fn fix(ts_ms: i64, p: (f64, f64), accuracy_m: Option<f64>) -> Observation {
    Observation {
        ts_ms,
        heart_rate: 80,
        activity: 0,
        lat: p.0,
        lon: p.1,
        accuracy_m,
        temperature_c: None,
        battery_pct: None,
    }
}

pub(super) fn opens(t: &[Transition]) -> Vec<&NewAlert> {
    t.iter().filter_map(|t| if let Transition::Open(a) = t { Some(a) } else { None }).collect()
}

pub(super) fn resolves(t: &[Transition]) -> Vec<&Resolution> {
    t.iter().filter_map(|t| if let Transition::Resolve(r) = t { Some(r) } else { None }).collect()
}

fn north(m: f64) -> (f64, f64) {
    offset(HOME, m, 0.0)
}

#[test]
fn escape_is_confirmed_by_the_second_fix_outside_and_return_resolves() {
    let s = Setup::home();
    let mut st = CollarState::default();
    assert!(s.run(&mut st, &[fix(T0 - 10_000, HOME, Some(5.0))]).is_empty());
    assert!(s.run(&mut st, &[fix(T0, north(100.0), Some(5.0))]).is_empty(), "one fix outside is not an escape");
    let second = fix(T0 + 10_000, north(101.0), Some(5.0));
    let t = s.run(&mut st, std::slice::from_ref(&second));
    let id = format!("AB-1234.zone_exit.home.{}", T0 + 10_000);
    assert_eq!(
        t,
        vec![Transition::Open(NewAlert {
            alert_id: id.clone(),
            kind: AlertType::ZoneExit,
            zone_id: Some("home".into()),
            opened_ms: T0 + 10_000,
            value: 51.0,
            threshold: 5.0,
            unit: "m",
            reading: Some(second),
        })]
    );
    assert_eq!(st.open.keys().collect::<Vec<_>>(), ["zone_exit#home"]);
    assert!(
        s.run(&mut st, &[fix(T0 + 20_000, north(150.0), Some(5.0)), fix(T0 + 30_000, north(90.0), None)]).is_empty()
    );
    assert!(s.run(&mut st, &[fix(T0 + 40_000, HOME, Some(5.0))]).is_empty(), "one fix inside is not a return");
    let t = s.run(&mut st, &[fix(T0 + 50_000, north(20.0), Some(5.0))]);
    assert_eq!(
        t,
        vec![Transition::Resolve(Resolution {
            alert_id: id,
            kind: AlertType::ZoneExit,
            zone_id: Some("home".into()),
            at_ms: T0 + 50_000,
            by: "zone_return",
        })]
    );
    assert!(st.open.is_empty());
    // Both fixes in one batch: the second still confirms.
    let mut st = CollarState::default();
    let t = s.run(&mut st, &[fix(T0 + 10_000, north(80.0), None), fix(T0, north(80.0), None)]);
    assert_eq!(opens(&t).len(), 1);
    assert_eq!(opens(&t)[0].opened_ms, T0 + 10_000);
    assert_eq!(opens(&t)[0].threshold, DEFAULT_ACCURACY_M);
}

#[test]
fn fixes_at_the_fence_within_their_accuracy_break_the_run() {
    let s = Setup::home();
    let mut st = CollarState::default();
    let t = s.run(
        &mut st,
        &[
            fix(T0, north(100.0), Some(5.0)),
            fix(T0 + 10_000, north(52.0), Some(5.0)), // 2 m out, accuracy 5 m: ambiguous
            fix(T0 + 20_000, north(100.0), Some(5.0)),
            fix(T0 + 30_000, north(59.9), None), // 9.9 m out, default accuracy 10 m
            fix(T0 + 40_000, north(100.0), Some(5.0)),
            fix(T0 + 50_000, north(45.1), Some(5.0)), // 4.9 m inside: ambiguous too
        ],
    );
    assert!(t.is_empty(), "{t:?}");
    let t = s.run(&mut st, &[fix(T0 + 60_000, north(60.1), None), fix(T0 + 70_000, north(55.5), Some(5.0))]);
    assert_eq!(opens(&t).len(), 1, "10.1 m out with 10 m accuracy, then 5.5 m with 5 m: outside twice");
    assert_eq!(opens(&t)[0].value, 5.5);
    // Back at the fence: neither a return nor a new escape; deep inside twice resolves.
    assert!(
        s.run(&mut st, &[fix(T0 + 80_000, north(45.1), Some(5.0)), fix(T0 + 90_000, north(44.0), Some(5.0))])
            .is_empty()
    );
    let t = s.run(&mut st, &[fix(T0 + 100_000, north(44.0), Some(5.0))]);
    assert_eq!(resolves(&t).len(), 1);
}

#[test]
fn poor_and_broken_fixes_are_ignored() {
    let s = Setup::home();
    let mut st = CollarState::default();
    let mut nan = fix(T0 + 20_000, HOME, Some(5.0));
    nan.lat = f64::NAN;
    let t = s.run(
        &mut st,
        &[
            fix(T0, north(100.0), Some(50.0)), // exactly 50 m accuracy counts (50 m out: ambiguous)
            fix(T0 + 10_000, north(200.0), Some(50.0)), // 150 m out with 50 m accuracy: outside
            fix(T0 + 20_000, HOME, Some(80.0)), // poor: skipped, does not break the run
            nan,
            fix(T0 + 30_000, HOME, Some(f64::NAN)),
            fix(T0 + 40_000, HOME, Some(-1.0)),
            fix(T0 + 50_000, HOME, Some(50.5)),
        ],
    );
    assert!(t.is_empty());
    assert_eq!(st.zone.outside, 1);
    let t = s.run(&mut st, &[fix(T0 + 60_000, north(300.0), Some(300.0)), fix(T0 + 70_000, north(200.0), Some(50.0))]);
    assert_eq!(opens(&t).len(), 1);
    assert_eq!((opens(&t)[0].value, opens(&t)[0].threshold), (150.0, 50.0));
}

#[test]
fn the_nearest_zone_is_named_and_any_zone_is_a_return() {
    let mut s = Setup::home();
    s.zones.push(circle("park", north(500.0), 100.0, None));
    let mut st = CollarState::default();
    // 300 m north: 250 m outside home, 100 m outside the park.
    let t = s.run(&mut st, &[fix(T0, north(300.0), None), fix(T0 + 10_000, north(300.0), None)]);
    assert_eq!(opens(&t).len(), 1);
    assert_eq!((opens(&t)[0].zone_id.as_deref(), opens(&t)[0].value), (Some("park"), 100.0));
    // Inside home is a return, although the alert names the park.
    let t = s.run(&mut st, &[fix(T0 + 20_000, HOME, None), fix(T0 + 30_000, HOME, None)]);
    assert_eq!(resolves(&t).len(), 1);
    assert_eq!(resolves(&t)[0].zone_id.as_deref(), Some("park"));
    // Inside the park while outside home is not outside at all.
    assert!(s.run(&mut st, &[fix(T0 + 40_000, north(500.0), None), fix(T0 + 50_000, north(500.0), None)]).is_empty());
}

#[test]
fn without_zones_fixes_do_nothing() {
    let mut s = Setup::home();
    s.zones.clear();
    let mut st = CollarState::default();
    let t = s.run(&mut st, &(0..5).map(|i| fix(T0 + i * 10_000, north(1_000.0), None)).collect::<Vec<_>>());
    assert!(t.is_empty() && st.zone == Default::default());
}

#[test]
fn a_collar_uploading_an_old_buffer_is_not_silent_while_it_uploads() {
    let s = Setup::home();
    let mut st = CollarState::default();
    // Readings of three hours ago arrive now: old, but the collar is talking.
    let now = T0 + 180 * MIN;
    evaluate(&mut st, &s.ctx(now), &[fix(T0, HOME, None), fix(T0 + 10_000, HOME, None)]);
    assert_eq!(silent_at(&st, &s.settings), Some(now + ARRIVAL_GRACE_MS));
    assert_eq!(sweep(&mut st, COLLAR, &s.settings, now + 5_000), None, "mid-upload");
    // A re-delivery is not news: it does not move the grace.
    evaluate(&mut st, &s.ctx(now + 15_000), &[fix(T0 + 10_000, HOME, None)]);
    assert_eq!(silent_at(&st, &s.settings), Some(now + ARRIVAL_GRACE_MS));
    // Once the upload stops, the collar is what its newest reading says: long silent.
    let Some(Transition::Open(a)) = sweep(&mut st, COLLAR, &s.settings, now + ARRIVAL_GRACE_MS) else { panic!() };
    assert_eq!((a.kind, a.opened_ms), (AlertType::CollarOffline, now + ARRIVAL_GRACE_MS));
}

#[test]
fn the_sweep_opens_offline_once_and_a_fresh_reading_resolves_it() {
    let s = Setup::home();
    let mut st = CollarState::default();
    assert_eq!(silent_at(&st, &s.settings), None, "a collar never heard from is not silent");
    assert_eq!(sweep(&mut st, COLLAR, &s.settings, T0), None);
    s.run(&mut st, &[fix(T0, HOME, None)]);
    assert_eq!(silent_at(&st, &s.settings), Some(T0 + 30 * MIN));
    assert_eq!(sweep(&mut st, COLLAR, &s.settings, T0 + 30 * MIN - 1), None);
    let before = st.clone();
    let opened = sweep(&mut st, COLLAR, &s.settings, T0 + 45 * MIN + 59_000);
    let id = format!("AB-1234.collar_offline.-.{}", T0 + 30 * MIN);
    assert_eq!(
        opened,
        Some(Transition::Open(NewAlert {
            alert_id: id.clone(),
            kind: AlertType::CollarOffline,
            zone_id: None,
            opened_ms: T0 + 30 * MIN,
            value: 45.0,
            threshold: 30.0,
            unit: "min",
            reading: None,
        }))
    );
    assert_eq!(sweep(&mut st, COLLAR, &s.settings, T0 + 50 * MIN), None, "already open");
    assert_eq!(silent_at(&st, &s.settings), None);
    // Another sweep of the same state, later: the same alert.
    let mut again = before;
    let Some(Transition::Open(a)) = sweep(&mut again, COLLAR, &s.settings, T0 + 90 * MIN) else { panic!() };
    assert_eq!(a.alert_id, id);
    // A late reading does not resolve it; a fresh one does.
    let late = fix(T0 + 10 * MIN, HOME, None);
    assert!(evaluate(&mut st, &s.ctx(T0 + 60 * MIN), &[late]).is_empty());
    assert!(st.open.contains_key("collar_offline"));
    let t = evaluate(&mut st, &s.ctx(T0 + 60 * MIN), &[fix(T0 + 59 * MIN, HOME, None)]);
    assert_eq!(
        t,
        vec![Transition::Resolve(Resolution {
            alert_id: id,
            kind: AlertType::CollarOffline,
            zone_id: None,
            at_ms: T0 + 59 * MIN,
            by: "readings_resumed"
        })]
    );
    assert_eq!(silent_at(&st, &s.settings), Some(T0 + 89 * MIN));
    // Disabled: never silent.
    let off = AlertSettings { disabled: vec![AlertType::CollarOffline], ..AlertSettings::default() };
    assert_eq!(silent_at(&st, &off), None);
    assert_eq!(sweep(&mut st, COLLAR, &off, T0 + 1_000 * MIN), None);
}

#[test]
fn late_readings_raise_nothing_and_break_runs() {
    let s = Setup::home();
    let mut st = CollarState::default();
    let now = T0 + 60 * MIN;
    let mut late: Vec<Observation> = (0..10).map(|i| fix(T0 + i * 10_000, north(200.0), None)).collect();
    for r in &mut late {
        r.temperature_c = Some(41.0);
        r.battery_pct = Some(5.0);
        r.heart_rate = 200;
    }
    assert!(evaluate(&mut st, &s.ctx(now), &late).is_empty());
    assert!(st.open.is_empty());
    assert_eq!(st.last_ts_ms, T0 + 90_000, "late readings still advance the state");
    // The boundary: 15 minutes and 1 ms old is late, exactly 15 minutes is fresh. The late
    // fix does not count towards the run.
    let t = evaluate(&mut st, &s.ctx(now), &[fix(now - STALE_AFTER_MS - 1, north(200.0), None)]);
    assert!(t.is_empty());
    let t = evaluate(&mut st, &s.ctx(now), &[fix(now - STALE_AFTER_MS, north(200.0), None)]);
    assert!(t.is_empty(), "the first fresh fix outside");
    let t = evaluate(&mut st, &s.ctx(now), &[fix(now - STALE_AFTER_MS + 10_000, north(200.0), None)]);
    assert_eq!(opens(&t).len(), 1);
    // A fix that arrives late, between two fresh ones, breaks the run too.
    let mut st = CollarState::default();
    assert!(evaluate(&mut st, &s.ctx(T0), &[fix(T0, north(200.0), None)]).is_empty());
    assert_eq!(st.zone.outside, 1);
    assert!(evaluate(&mut st, &s.ctx(T0 + 20 * MIN), &[fix(T0 + MIN, north(200.0), None)]).is_empty());
    assert_eq!(st.zone, Default::default());
    assert!(evaluate(&mut st, &s.ctx(T0 + 20 * MIN), &[fix(T0 + 20 * MIN, north(200.0), None)]).is_empty());
}

#[test]
fn redelivered_reordered_and_duplicated_readings_change_nothing() {
    let s = Setup::home();
    let mut batch: Vec<Observation> =
        (0..12).map(|i| fix(T0 + i * 10_000, north(if i < 6 { 0.0 } else { 120.0 }), None)).collect();
    for (i, r) in batch.iter_mut().enumerate() {
        r.battery_pct = Some(20.0 - i as f64);
        r.temperature_c = Some(if i >= 8 { 40.5 } else { 38.5 });
    }
    let mut st = CollarState::default();
    let first = s.run(&mut st, &batch);
    assert_eq!(
        opens(&first).iter().map(|a| a.kind).collect::<Vec<_>>(),
        [AlertType::BatteryLow, AlertType::ZoneExit, AlertType::TemperatureHigh]
    );
    let after = st.clone();
    assert!(s.run(&mut st, &batch).is_empty(), "the same batch again");
    assert_eq!(st, after);
    // An older reading arriving afterwards is skipped entirely.
    assert!(s.run(&mut st, &[fix(T0 + 5_000, HOME, Some(3.0))]).is_empty());
    assert_eq!(st, after);
    // Reversed and with every reading twice: the same transitions.
    let mut shuffled: Vec<Observation> = batch.iter().rev().cloned().collect();
    shuffled.extend(batch.iter().cloned());
    let mut st2 = CollarState::default();
    assert_eq!(s.run(&mut st2, &shuffled), first);
    assert_eq!(st2, after);
    // Through JSON between batches: the same state.
    let json = serde_json::to_string(&after).unwrap();
    assert_eq!(serde_json::from_str::<CollarState>(&json).unwrap(), after);
    assert_eq!(serde_json::from_str::<CollarState>("{}").unwrap(), CollarState::default());
}

#[test]
fn readings_from_the_future_are_skipped() {
    let s = Setup::home();
    let mut st = CollarState::default();
    let t = evaluate(&mut st, &s.ctx(T0), &[fix(T0 + FUTURE_TOLERANCE_MS + 1, north(200.0), None)]);
    assert!(t.is_empty() && st == CollarState::default());
    evaluate(&mut st, &s.ctx(T0), &[fix(T0 + FUTURE_TOLERANCE_MS, north(200.0), None)]);
    assert_eq!(st.last_ts_ms, T0 + FUTURE_TOLERANCE_MS);
    // Absurd clocks do not overflow.
    assert!(evaluate(&mut st, &s.ctx(i64::MAX), &[fix(i64::MAX, HOME, None)]).is_empty());
    assert!(
        evaluate(&mut CollarState::default(), &s.ctx(i64::MIN), &[fix(i64::MIN, HOME, None), fix(-5, HOME, None)])
            .is_empty()
    );
}

#[test]
fn disabled_types_do_not_raise_but_open_ones_still_resolve() {
    let mut s = Setup::home();
    s.settings.disabled = AlertType::ALL.to_vec();
    let mut st = CollarState::default();
    let readings: Vec<Observation> = (0..80)
        .map(|i| {
            let mut r = fix(T0 + i * 10_000, north(200.0), None);
            (r.heart_rate, r.temperature_c, r.battery_pct) = (180, Some(41.0), Some(5.0));
            r
        })
        .collect();
    assert!(s.stream(&mut st, &readings).is_empty());
    assert!(st.open.is_empty());
    assert_eq!(sweep(&mut st, COLLAR, &s.settings, T0 + 1_000 * MIN), None);
    // Enabled, raised, then disabled: the return still resolves it.
    s.settings.disabled.clear();
    let mut st = CollarState::default();
    assert_eq!(opens(&s.run(&mut st, &readings[..2])).len(), 2, "zone exit and battery");
    s.settings.disabled = vec![AlertType::ZoneExit, AlertType::BatteryLow];
    let mut back = [fix(T0 + 20_000, HOME, None), fix(T0 + 30_000, HOME, None)];
    back[1].battery_pct = Some(90.0);
    let t = s.run(&mut st, &back);
    assert_eq!(resolves(&t).iter().map(|r| r.by).collect::<Vec<_>>(), ["zone_return", "battery_recharged"]);
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// A reading from a few small choices (so conditions actually confirm and clear).
    fn reading() -> impl Strategy<Value = (i64, u8, u8, u8, u8, u8)> {
        // (step seconds, place, heart rate, activity, temperature, battery)
        (prop::sample::select(vec![1i64, 1, 1, 2, 3, 31]), 0u8..4, 0u8..3, 0u8..4, 0u8..4, 0u8..5)
    }

    fn build(steps: &[(i64, u8, u8, u8, u8, u8)]) -> Vec<Observation> {
        let mut ts = T0;
        steps
            .iter()
            .map(|&(dt, place, hr, act, temp, bat)| {
                ts += dt * 10_000;
                let p = [HOME, north(48.0), north(120.0), north(400.0)][place as usize];
                let mut r = fix(ts, p, [None, Some(4.0), Some(12.0), Some(90.0)][(ts / 10_000 % 4) as usize]);
                r.heart_rate = [80, 130, 0][hr as usize];
                r.activity = [0, 0, 1, 2][act as usize];
                r.temperature_c = [None, Some(38.5), Some(40.5), Some(36.5)][temp as usize];
                r.battery_pct = [None, Some(50.0), Some(14.0), Some(16.0), Some(31.0)][bat as usize];
                r
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the readings: a re-delivered batch changes nothing, every transition keeps
        /// `state.open` in step (no second open of an open key, no resolve of a closed one),
        /// and splitting the stream into other batches gives the same transitions.
        #[test]
        fn transitions_are_consistent_and_idempotent(
            steps in prop::collection::vec(reading(), 1..300),
            cuts in prop::collection::vec(1usize..8, 1..40),
        ) {
            let s = Setup::home();
            let readings = build(&steps);
            let mut st = CollarState::default();
            let mut open: std::collections::BTreeSet<String> = Default::default();
            let mut all = Vec::new();
            let (mut i, mut c, mut all_fresh) = (0, 0, true);
            while i < readings.len() {
                let n = cuts[c % cuts.len()];
                c += 1;
                let batch = &readings[i..(i + n).min(readings.len())];
                i += n;
                let now = batch[batch.len() - 1].ts_ms + 1_000;
                all_fresh &= batch[0].ts_ms >= now - STALE_AFTER_MS;
                let t = evaluate(&mut st, &s.ctx(now), batch);
                let after = st.clone();
                prop_assert!(evaluate(&mut st, &s.ctx(now), batch).is_empty());
                prop_assert_eq!(&st, &after);
                for tr in &t {
                    match tr {
                        Transition::Open(a) => prop_assert!(open.insert(open_key(a.kind, a.zone_id.as_deref()))),
                        Transition::Resolve(r) => prop_assert!(open.remove(&open_key(r.kind, r.zone_id.as_deref()))),
                    }
                }
                prop_assert_eq!(open.iter().collect::<Vec<_>>(), st.open.keys().collect::<Vec<_>>());
                all.extend(t);
            }
            // When no batch held a late reading, how the stream was cut does not matter.
            if all_fresh {
                let mut one_by_one = CollarState::default();
                let t: Vec<Transition> =
                    readings.iter().flat_map(|r| evaluate(&mut one_by_one, &s.ctx(r.ts_ms), std::slice::from_ref(r))).collect();
                prop_assert_eq!(t, all);
                // Only when readings arrived differs (each on its own clock here).
                one_by_one.heard_ms = st.heard_ms;
                prop_assert_eq!(one_by_one, st);
            }
        }
    }
}
