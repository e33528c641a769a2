//! What the rules remember between batches. The caller stores it as JSON beside the collar,
//! so it is kept small: counters, a few timestamps, the open alerts, and a day of per-minute
//! resting heart rates packed into a short string.

use std::collections::{BTreeMap, VecDeque};

use petty_api::alerts::AlertType;
use petty_behaviour::segment::Sample;
use serde::{Deserialize, Serialize};

use crate::temperature;

/// An alert this collar has open, as the rules need to know it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenAlert {
    pub alert_id: String,
    pub kind: AlertType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_id: Option<String>,
    pub opened_ms: i64,
}

/// One collar's rule state (JSON; every field defaults, so an empty object is a new collar).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CollarState {
    /// The newest reading evaluated, Unix ms: anything at or before it is a re-delivery.
    pub last_ts_ms: i64,
    /// When new readings last arrived (the evaluator's clock, Unix ms): a collar uploading
    /// what it buffered is talking to us, however old its readings are.
    #[serde(skip_serializing_if = "is_default")]
    pub heard_ms: i64,
    /// Open alerts by [`super::open_key`].
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub open: BTreeMap<String, OpenAlert>,
    #[serde(skip_serializing_if = "is_default")]
    pub(crate) zone: ZoneRuns,
    #[serde(skip_serializing_if = "is_default")]
    pub(crate) heart: HeartRuns,
    #[serde(skip_serializing_if = "is_default")]
    pub(crate) temp: temperature::Runs,
    /// `battery_low` raised in this discharge (armed again above the re-arm level).
    #[serde(skip_serializing_if = "is_default")]
    pub(crate) battery_disarmed: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub(crate) rest: RestRing,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

impl CollarState {
    /// Forgets the runs that confirm or clear alerts (late readings break a run: the rules
    /// only count consecutive readings of the present). Open alerts, the battery's arming and
    /// the baseline stay.
    pub(crate) fn reset_runs(&mut self) {
        self.zone = ZoneRuns::default();
        self.heart = HeartRuns::default();
        self.temp = temperature::Runs::default();
    }
}

/// Consecutive fixes outside every active zone, and inside one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct ZoneRuns {
    pub outside: u8,
    pub inside: u8,
}

/// The heart-rate run in progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct HeartRuns {
    /// The first high resting reading of the current run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_start_ms: Option<i64>,
    /// Resting readings at or below the limit in a row within the run (noise, up to 2).
    #[serde(skip_serializing_if = "is_default")]
    pub run_low: u8,
    /// Since when resting readings have stayed at or below the limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calm_since_ms: Option<i64>,
}

/// Minutes the resting heart-rate ring covers: a day.
pub(crate) const REST_MINUTES: usize = 1_440;
/// Largest heart rate the ring stores, bpm (anything above is an artefact either way).
const REST_HR_MAX: u16 = 4_095;

/// The resting heart rate of each epoch minute of the last day that had a resting reading
/// (the minute's first one), for the baseline. Slot 0 holds `end_min − len + 1`; 0 is a
/// minute without a resting reading. The first and last slots are never 0.
///
/// On the wire, `{"end_min": m, "hr": "..."}`: a day fits in about 1.5 KB (see [`encode`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RestWire", into = "RestWire")]
pub(crate) struct RestRing {
    end_min: i64,
    slots: VecDeque<u16>,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
struct RestWire {
    end_min: i64,
    hr: String,
}

impl From<RestRing> for RestWire {
    fn from(r: RestRing) -> Self {
        RestWire { end_min: r.end_min, hr: encode(&r.slots) }
    }
}

impl From<RestWire> for RestRing {
    /// Lenient: a malformed string is a lost baseline (the profile's fallback is used), never
    /// a refused state.
    fn from(w: RestWire) -> Self {
        let mut ring = match decode(&w.hr) {
            Some(slots) => RestRing { end_min: w.end_min, slots },
            None => RestRing::default(),
        };
        while ring.slots.len() > REST_MINUTES {
            ring.slots.pop_front();
        }
        ring.normalize();
        ring
    }
}

impl RestRing {
    /// Records a resting reading's heart rate for its minute (the first in the minute wins)
    /// and drops minutes a day older than `minute`. Returns whether the ring changed.
    pub(crate) fn push(&mut self, minute: i64, hr: u16) -> bool {
        let hr = hr.min(REST_HR_MAX);
        if hr == 0 {
            return false;
        }
        if self.slots.is_empty() || minute.saturating_sub(self.end_min) > REST_MINUTES as i64 {
            self.slots = VecDeque::from([hr]);
            self.end_min = minute;
            return true;
        }
        if minute <= self.end_min {
            return false;
        }
        for _ in self.end_min + 1..minute {
            self.slots.push_back(0);
        }
        self.slots.push_back(hr);
        self.end_min = minute;
        self.trim(minute);
        true
    }

    /// Drops the minutes more than a day before `newest_min`. Returns whether any went.
    pub(crate) fn trim(&mut self, newest_min: i64) -> bool {
        let before = self.slots.len();
        let oldest_kept = newest_min.saturating_sub(REST_MINUTES as i64 - 1);
        while !self.slots.is_empty() && self.first_min() < oldest_kept {
            self.slots.pop_front();
        }
        self.normalize();
        self.slots.len() != before
    }

    fn first_min(&self) -> i64 {
        self.end_min - self.slots.len() as i64 + 1
    }

    fn normalize(&mut self) {
        while self.slots.front() == Some(&0) {
            self.slots.pop_front();
        }
        while self.slots.back() == Some(&0) {
            self.slots.pop_back();
            self.end_min -= 1;
        }
        if self.slots.is_empty() {
            *self = RestRing::default();
        }
    }

    /// The stored minutes as resting samples (what `segment::baseline` reads).
    pub(crate) fn samples(&self) -> Vec<Sample> {
        let first = self.first_min();
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, hr)| **hr != 0)
            .map(|(i, &hr)| Sample {
                ts_ms: (first + i as i64) * 60_000,
                heart_rate: hr,
                activity: 0,
                lat: 0.0,
                lon: 0.0,
            })
            .collect()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// Largest change from the previous stored rate that one character carries, bpm.
const DELTA_MAX: i32 = 31;

fn symbol(v: usize) -> char {
    ALPHABET[v] as char
}

fn value(c: u8) -> Option<usize> {
    ALPHABET.iter().position(|&a| a == c)
}

/// Packs the slots: `.` one empty minute; `~x` 2–65 empty minutes; `!xy` an absolute rate
/// (12 bits); any other alphabet character below `_` the change from the previous rate,
/// −31..=+31 bpm. Resting rates change slowly, so most minutes take one character.
fn encode(slots: &VecDeque<u16>) -> String {
    let mut out = String::with_capacity(slots.len() + 8);
    let mut prev: Option<u16> = None;
    let mut empty = 0usize;
    let flush = |out: &mut String, empty: &mut usize| {
        while *empty > 0 {
            if *empty == 1 {
                out.push('.');
                *empty = 0;
            } else {
                let n = (*empty).min(65);
                out.push('~');
                out.push(symbol(n - 2));
                *empty -= n;
            }
        }
    };
    for &hr in slots {
        if hr == 0 {
            empty += 1;
            continue;
        }
        flush(&mut out, &mut empty);
        let delta = prev.map(|p| i32::from(hr) - i32::from(p));
        match delta {
            Some(d) if d.abs() <= DELTA_MAX => out.push(symbol((d + DELTA_MAX) as usize)),
            _ => {
                out.push('!');
                out.push(symbol(usize::from(hr) / 64));
                out.push(symbol(usize::from(hr) % 64));
            }
        }
        prev = Some(hr);
    }
    flush(&mut out, &mut empty);
    out
}

/// Unpacks [`encode`]'s string; `None` when it is malformed.
fn decode(s: &str) -> Option<VecDeque<u16>> {
    let mut slots = VecDeque::new();
    let mut prev: Option<i32> = None;
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if slots.len() > 2 * REST_MINUTES {
            return None;
        }
        match b {
            b'.' => slots.push_back(0),
            b'~' => slots.extend(std::iter::repeat_n(0, value(bytes.next()?)? + 2)),
            b'!' => {
                let hr = value(bytes.next()?)? * 64 + value(bytes.next()?)?;
                let hr = u16::try_from(hr).ok().filter(|h| (1..=REST_HR_MAX).contains(h))?;
                slots.push_back(hr);
                prev = Some(i32::from(hr));
            }
            c => {
                let d = value(c).filter(|&v| v <= 2 * DELTA_MAX as usize)? as i32 - DELTA_MAX;
                let hr = prev? + d;
                let hr = u16::try_from(hr).ok().filter(|h| (1..=REST_HR_MAX).contains(h))?;
                slots.push_back(hr);
                prev = Some(i32::from(hr));
            }
        }
    }
    Some(slots)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ring_of(end_min: i64, slots: &[u16]) -> RestRing {
        let mut r = RestRing { end_min, slots: slots.iter().copied().collect() };
        r.normalize();
        r
    }

    #[test]
    fn push_keeps_the_first_rate_of_a_minute_and_a_day_at_most() {
        let mut r = RestRing::default();
        assert!(r.push(100, 80));
        assert!(!r.push(100, 95), "the minute's first resting reading wins");
        assert!(r.push(103, 82));
        assert_eq!(
            r.samples().iter().map(|s| (s.ts_ms / 60_000, s.heart_rate)).collect::<Vec<_>>(),
            vec![(100, 80), (103, 82)]
        );
        assert!(r.push(100 + 1_440, 90), "minute 100 is now a day old");
        assert_eq!(r.samples().iter().map(|s| s.ts_ms / 60_000).collect::<Vec<_>>(), vec![103, 1_540]);
        assert!(r.trim(103 + 1_440));
        assert_eq!(r.samples().len(), 1);
        assert!(r.len() <= REST_MINUTES);
        assert!(!r.push(2_000, 0), "no heart rate, no sample");
        // A silence longer than a day starts over.
        assert!(r.push(10_000, 70));
        assert_eq!(r.samples().len(), 1);
    }

    #[test]
    fn a_resting_day_packs_small() {
        let mut r = RestRing::default();
        let mut hr = 80i32;
        for m in 0..1_440i64 {
            hr = (hr + [(-2), 1, 0, 2, -1][(m % 5) as usize]).clamp(60, 110);
            if m % 7 != 0 {
                r.push(m, hr as u16);
            }
        }
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.len() < 1_700, "{} bytes", json.len());
        assert_eq!(serde_json::from_str::<RestRing>(&json).unwrap(), r);
    }

    #[test]
    fn malformed_strings_are_an_empty_ring() {
        for bad in [
            r#"{"end_min":5,"hr":"A"}"#,
            r#"{"end_min":5,"hr":"!"}"#,
            r#"{"end_min":5,"hr":"!AA"}"#,
            r#"{"end_min":5,"hr":"é"}"#,
        ] {
            assert_eq!(serde_json::from_str::<RestRing>(bad).unwrap(), RestRing::default(), "{bad}");
        }
        let r: RestRing = serde_json::from_str(r#"{"end_min":5,"hr":"!BQ.~A"}"#).unwrap();
        assert_eq!(r, ring_of(2, &[80]), "trailing empty minutes are dropped");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn encoding_round_trips(end_min in 0i64..100_000_000, slots in prop::collection::vec(prop_oneof![Just(0u16), 1u16..=4_095, 60u16..=90], 0..1_440)) {
            let r = ring_of(end_min, &slots);
            let json = serde_json::to_string(&r).unwrap();
            prop_assert_eq!(serde_json::from_str::<RestRing>(&json).unwrap(), r);
        }
    }
}
