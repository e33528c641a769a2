//! The timeline (`GET /v1/pet-timeline`): behaviour episodes computed from readings.

use serde::{Deserialize, Serialize};

pub use crate::behavior::Behavior;
use crate::feedback::Verdict;

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
    /// The pet's IANA time zone its days were cut in (`UTC` when unset).
    pub timezone: String,
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
