//! `GET /v1/pet-summary`: one row per local day of the pet, with weekly and monthly
//! aggregates and activity streaks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::behavior::Behavior;
use crate::timeline::BaselineSource;

/// The longest range one request may ask for, days.
pub const MAX_SUMMARY_DAYS: i64 = 366;

/// What one local day of the pet measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DaySummary {
    /// The local date, `YYYY-MM-DD`.
    pub date: String,
    /// Its bounds (RFC 3339, UTC): 23 or 25 hours apart when the clocks change.
    pub start: String,
    pub end: String,
    /// Minutes of walk, play and fetch.
    pub active_minutes: f64,
    /// The pet plan's daily goal on that day.
    pub active_goal_minutes: f64,
    pub goal_met: bool,
    /// Ground covered while active, metres.
    pub distance_m: f64,
    /// Deep sleep from 21:00 to 07:00 local time, hours.
    pub deep_sleep_night_h: f64,
    /// Deep sleep from 07:00 to 21:00 local time, hours.
    pub deep_sleep_day_h: f64,
    /// The day's resting heart-rate baseline and where it came from.
    pub resting_heart_rate_bpm: f64,
    pub baseline_source: BaselineSource,
    /// Episodes that started that day, by behaviour (`no_data` gaps included).
    pub episodes: BTreeMap<Behavior, u32>,
    /// Readings that day.
    pub readings: u32,
    /// Hours of the day counted: all of it (23–25), or from the claim, or today until now.
    pub hours: f64,
    /// Share of the counted hours with readings (not `no_data`), 0–1.
    pub coverage: f64,
    /// False for the current day (computed so far) and for a day the claim cut.
    pub complete: bool,
}

/// Aggregates over a week (ISO, Monday to Sunday) or a calendar month, clipped to the range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeriodSummary {
    /// First and last local date of the period inside the range.
    pub from: String,
    pub to: String,
    /// Days of the period inside the range, and those with any reading.
    pub days: u32,
    pub days_with_data: u32,
    /// Means over the days with data; `null` when there are none.
    pub active_minutes_avg: Option<f64>,
    pub deep_sleep_h_avg: Option<f64>,
    pub resting_heart_rate_bpm_avg: Option<f64>,
    pub distance_m_total: f64,
    pub goal_met_days: u32,
}

/// Consecutive days meeting the activity goal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Streaks {
    /// Ending on the range's last complete day (0 when that day missed the goal).
    pub current_days: u32,
    pub longest_days: u32,
    /// Last day of the longest streak, `YYYY-MM-DD`; `null` when there is none.
    pub longest_ended_on: Option<String>,
}

/// The answer of `GET /v1/pet-summary`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PetSummary {
    pub collar_id: String,
    /// The pet's IANA time zone the days are cut in.
    pub timezone: String,
    pub from: String,
    pub to: String,
    pub days: Vec<DaySummary>,
    pub weeks: Vec<PeriodSummary>,
    pub months: Vec<PeriodSummary>,
    pub streaks: Streaks,
    pub model_version: String,
    /// RFC 3339.
    pub generated_at: String,
}
