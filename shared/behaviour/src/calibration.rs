//! Per-pet calibration from owners' feedback: consistent corrections move that pet's
//! thresholds, each to one documented value inside fixed bounds, never further.
//!
//! A correction `from → to` is consistent when the pet has at least [`MIN_CORRECTIONS`] of
//! them and they are at least two thirds of all feedback on `from` episodes. Each consistent
//! pair sets one threshold (table below and in the README); contradicting pairs cancel.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Behavior, Thresholds};

/// Corrections of one kind needed before they count.
pub const MIN_CORRECTIONS: u32 = 3;

/// One owner's judgement of one event, as calibration needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Judgement {
    /// What the timeline said.
    pub behavior: Behavior,
    /// What the owner said it was (`None` when they said the timeline was right).
    pub corrected: Option<Behavior>,
}

/// The thresholds one pet's feedback has moved (absent: the model's default).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pacing_behavior: Option<Behavior>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pacing_hr_ratio: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elevated_ratio: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deep_sleep_ratio: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetch_speed_mps: Option<f64>,
    /// The consistent corrections it came from (`from->to`), for the README and logs.
    #[serde(default)]
    pub because: Vec<String>,
}

/// What each consistent correction sets. The values are the bounds: a correction moves a
/// threshold to its bound at once, and nothing moves it further.
const RULES: &[(Behavior, Behavior, Knob, f64)] = &[
    (Behavior::AnxiousPacing, Behavior::Play, Knob::PacingMeansPlay, 0.0),
    (Behavior::AnxiousPacing, Behavior::Walk, Knob::PacingHr, 1.6),
    (Behavior::Walk, Behavior::AnxiousPacing, Knob::PacingHr, 1.2),
    (Behavior::ElevatedHeartRate, Behavior::Rest, Knob::Elevated, 1.6),
    (Behavior::Rest, Behavior::ElevatedHeartRate, Knob::Elevated, 1.2),
    (Behavior::DeepSleep, Behavior::Rest, Knob::DeepSleep, 0.8),
    (Behavior::Rest, Behavior::DeepSleep, Knob::DeepSleep, 0.94),
    (Behavior::Play, Behavior::PlayingFetch, Knob::Fetch, 0.8),
    (Behavior::PlayingFetch, Behavior::Play, Knob::Fetch, 1.8),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Knob {
    PacingMeansPlay,
    PacingHr,
    Elevated,
    DeepSleep,
    Fetch,
}

impl Calibration {
    /// The calibration a pet's current verdicts call for.
    pub fn from_judgements(verdicts: &[Judgement]) -> Self {
        let mut on: BTreeMap<Behavior, u32> = BTreeMap::new();
        let mut pairs: BTreeMap<(Behavior, Behavior), u32> = BTreeMap::new();
        for v in verdicts {
            *on.entry(v.behavior).or_default() += 1;
            if let Some(to) = v.corrected.filter(|to| *to != v.behavior) {
                *pairs.entry((v.behavior, to)).or_default() += 1;
            }
        }
        let consistent = |from: Behavior, to: Behavior| {
            let n = pairs.get(&(from, to)).copied().unwrap_or(0);
            n >= MIN_CORRECTIONS && n * 3 >= on.get(&from).copied().unwrap_or(0) * 2
        };
        let mut set: BTreeMap<Knob, Vec<(f64, String)>> = BTreeMap::new();
        for &(from, to, knob, value) in RULES {
            if consistent(from, to) {
                set.entry(knob).or_default().push((value, format!("{from}->{to}")));
            }
        }
        let mut c = Calibration::default();
        for (knob, values) in set {
            // Two corrections pulling one threshold opposite ways cancel out.
            let [(value, because)] = values.as_slice() else { continue };
            c.because.push(because.clone());
            match knob {
                Knob::PacingMeansPlay => c.pacing_behavior = Some(Behavior::Play),
                Knob::PacingHr => c.pacing_hr_ratio = Some(*value),
                Knob::Elevated => c.elevated_ratio = Some(*value),
                Knob::DeepSleep => c.deep_sleep_ratio = Some(*value),
                Knob::Fetch => c.fetch_speed_mps = Some(*value),
            }
        }
        c
    }

    /// True when nothing was moved.
    pub fn is_default(&self) -> bool {
        self.because.is_empty()
    }

    /// `base` with this pet's calibrated thresholds.
    pub fn apply(&self, base: &Thresholds) -> Thresholds {
        Thresholds {
            pacing_behavior: self.pacing_behavior.unwrap_or(base.pacing_behavior),
            pacing_hr_ratio: self.pacing_hr_ratio.unwrap_or(base.pacing_hr_ratio),
            elevated_ratio: self.elevated_ratio.unwrap_or(base.elevated_ratio),
            deep_sleep_ratio: self.deep_sleep_ratio.unwrap_or(base.deep_sleep_ratio),
            fetch_speed_mps: self.fetch_speed_mps.unwrap_or(base.fetch_speed_mps),
            ..*base
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Behavior::*;

    fn v(behavior: Behavior, corrected: Option<Behavior>, n: usize) -> Vec<Judgement> {
        vec![Judgement { behavior, corrected }; n]
    }

    #[test]
    fn three_consistent_corrections_move_one_threshold_to_its_bound() {
        let t = Thresholds::default();
        assert!(Calibration::from_judgements(&v(AnxiousPacing, Some(Play), 2)).is_default(), "two are not enough");
        let c = Calibration::from_judgements(&v(AnxiousPacing, Some(Play), 3));
        assert_eq!(c.pacing_behavior, Some(Play));
        assert_eq!(c.because, ["anxious_pacing->play"]);
        let applied = c.apply(&t);
        assert_eq!(applied.pacing_behavior, Play);
        assert_eq!(Thresholds { pacing_behavior: AnxiousPacing, ..applied }, t, "nothing else moves");
        // Fifty corrections move it no further than three.
        let many = Calibration::from_judgements(&v(ElevatedHeartRate, Some(Rest), 50));
        assert_eq!(many.apply(&t).elevated_ratio, 1.6);
    }

    #[test]
    fn corrections_must_be_most_of_the_feedback_on_that_behaviour() {
        let mut verdicts = v(ElevatedHeartRate, Some(Rest), 3);
        verdicts.extend(v(ElevatedHeartRate, None, 2)); // 3 of 5 < 2/3
        assert!(Calibration::from_judgements(&verdicts).is_default());
        verdicts.pop(); // 3 of 4 ≥ 2/3
        assert_eq!(Calibration::from_judgements(&verdicts).elevated_ratio, Some(1.6));
    }

    #[test]
    fn opposite_corrections_cancel_and_confirmations_change_nothing() {
        let mut verdicts = v(AnxiousPacing, Some(Walk), 3);
        verdicts.extend(v(Walk, Some(AnxiousPacing), 3));
        assert!(Calibration::from_judgements(&verdicts).is_default());
        assert!(Calibration::from_judgements(&v(Walk, None, 20)).is_default());
        assert!(Calibration::from_judgements(&v(Walk, Some(Walk), 5)).is_default(), "a 'correction' to itself");
    }

    #[test]
    fn round_trips_as_json() {
        let c = Calibration::from_judgements(&v(DeepSleep, Some(Rest), 4));
        let back: Calibration = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.apply(&Thresholds::default()).deep_sleep_ratio, 0.8);
    }
}
