//! What a pet can be found doing: the stable names events, feedback and the plan use.

use serde::{Deserialize, Serialize};

/// A behaviour the timeline reports. Episodes never overlap: at any time a pet is doing one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Behavior {
    /// Still, heart rate near its resting baseline.
    Rest,
    /// Still for a long time with the heart rate clearly below the baseline.
    DeepSleep,
    /// Moving at walking pace away from where it started.
    Walk,
    /// Playing mostly in place (tug, wrestling).
    Play,
    /// Play with running bursts: chasing and bringing back.
    PlayingFetch,
    /// Walking inside a small radius with a raised heart rate.
    AnxiousPacing,
    /// Still, but with the heart rate well above the pet's own resting baseline.
    ElevatedHeartRate,
    /// No readings: the collar was off, out of range, or out of battery.
    NoData,
}

impl Behavior {
    /// Every behaviour, in a fixed order (reports and tests iterate over it).
    pub const ALL: [Behavior; 8] = [
        Behavior::Rest,
        Behavior::DeepSleep,
        Behavior::Walk,
        Behavior::Play,
        Behavior::PlayingFetch,
        Behavior::AnxiousPacing,
        Behavior::ElevatedHeartRate,
        Behavior::NoData,
    ];

    /// The wire name (`deep_sleep`), also part of event ids.
    pub fn as_str(self) -> &'static str {
        match self {
            Behavior::Rest => "rest",
            Behavior::DeepSleep => "deep_sleep",
            Behavior::Walk => "walk",
            Behavior::Play => "play",
            Behavior::PlayingFetch => "playing_fetch",
            Behavior::AnxiousPacing => "anxious_pacing",
            Behavior::ElevatedHeartRate => "elevated_heart_rate",
            Behavior::NoData => "no_data",
        }
    }

    /// The behaviour with this wire name.
    pub fn parse(name: &str) -> Option<Behavior> {
        Behavior::ALL.into_iter().find(|b| b.as_str() == name)
    }

    /// True for the behaviours that count as exercise in the pet plan.
    pub fn is_active(self) -> bool {
        matches!(self, Behavior::Walk | Behavior::Play | Behavior::PlayingFetch)
    }
}

impl std::fmt::Display for Behavior {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_and_match_serde() {
        for b in Behavior::ALL {
            assert_eq!(Behavior::parse(b.as_str()), Some(b));
            assert_eq!(serde_json::to_value(b).unwrap(), b.as_str());
        }
        assert_eq!(Behavior::parse("sleep"), None);
    }
}
