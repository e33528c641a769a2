//! The timeline (`GET /v1/pet-timeline`): behaviour episodes computed from readings.

use serde::{Deserialize, Serialize};

use crate::feedback::Verdict;

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

/// Where a day's resting heart-rate baseline came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaselineSource {
    /// The median heart rate of the day's resting readings.
    Measured,
    /// Too few resting readings: the typical value for the pet's species and size.
    Profile,
}

/// What one episode measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventStats {
    /// Readings inside the episode.
    pub samples: u32,
    /// Absent in a no-data gap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heart_rate_mean_bpm: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heart_rate_min_bpm: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heart_rate_max_bpm: Option<u16>,
    /// Ground covered, metres.
    pub distance_m: f64,
}

/// What an event was measured against.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventMetadata {
    pub baseline_heart_rate_bpm: f64,
    pub baseline_source: BaselineSource,
}

/// The caller's current verdict on an event, shown on the timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFeedback {
    pub user_feedback: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected_behavior: Option<Behavior>,
    /// RFC 3339.
    pub submitted_at: String,
}

/// One timeline event: a behaviour episode. `event_id`, `timestamp`, `behavior`,
/// `confidence` and `metadata` are the fields of the system Petty replaces.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `<collar>.<start ms>.<behaviour>`: stable for the same readings, what feedback names.
    pub event_id: String,
    /// The start (RFC 3339), as older clients read it.
    pub timestamp: String,
    pub behavior: Behavior,
    /// Share of the episode's readings whose own label agrees with it, 0–1.
    pub confidence: f64,
    pub start: String,
    pub end: String,
    pub duration_s: f64,
    pub stats: EventStats,
    pub metadata: EventMetadata,
    /// The caller's current verdict on this event; `null` when none.
    pub feedback: Option<EventFeedback>,
}

/// The window a timeline or a plan covers, RFC 3339, `[from, to)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub from: String,
    pub to: String,
}

/// What a timeline page says about itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineMetadata {
    /// Readings in the window.
    pub data_points: usize,
    /// `behaviors.len()`.
    pub behaviors_detected: usize,
    /// Behaviours seen in the window (never `no_data`), sorted.
    pub behaviors: Vec<Behavior>,
    pub analysis_time_ms: f64,
    /// RFC 3339.
    pub generated_at: String,
    pub model_version: String,
    /// The consistent corrections this pet's thresholds were calibrated by.
    pub calibrated_by: Vec<String>,
    pub window: Window,
}

/// One page of `GET /v1/pet-timeline`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    pub collar_id: String,
    pub timeline: Vec<Event>,
    /// Opaque, bound to the collar and window; `null` on the last page.
    pub next_cursor: Option<String>,
    pub metadata: TimelineMetadata,
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
