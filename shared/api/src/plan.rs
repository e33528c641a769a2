//! The pet plan (`GET /v1/pet-plan`): daily goals, nutrition and recommendations. Every number
//! carries its unit, in a `unit` field next to it.

use serde::{Deserialize, Serialize};

use crate::collars::{ActivityProfile, Species};
use crate::timeline::Window;

/// A number and its unit (`{"value": 30, "unit": "kg"}`); `T` is `u32` for counts, which stay
/// integers on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure<T = f64> {
    pub value: T,
    pub unit: String,
}

impl<T> Figure<T> {
    /// `value` in `unit`.
    pub fn new(value: T, unit: &str) -> Self {
        Self { value, unit: unit.to_owned() }
    }
}

/// Life stage: young animals need short bursts, seniors gentler exercise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifeStage {
    Young,
    Adult,
    Senior,
}

/// The daily activity goal and how the last 7 days compare, all in `unit` (min/day).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActiveMinutes {
    pub goal: f64,
    /// `null` with too little measured time.
    pub measured_avg: Option<f64>,
    /// Measured against the goal, percent; `null` with too little measured time.
    pub progress_pct: Option<f64>,
    pub unit: String,
}

/// A measured daily average in `unit`; `null` with too little measured time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeasuredAverage {
    pub measured_avg: Option<f64>,
    pub unit: String,
}

/// How much of the plan's window had readings, in `unit` (h).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeasuredOver {
    pub covered: f64,
    pub window: f64,
    pub unit: String,
}

/// The plan's goals for a day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DailyGoals {
    pub life_stage: LifeStage,
    /// Whole years; `null` without a birth date.
    pub age: Option<Figure<u32>>,
    pub active_minutes: ActiveMinutes,
    /// m/day.
    pub distance: MeasuredAverage,
    /// h/day.
    pub deep_sleep: MeasuredAverage,
    pub measured_over: MeasuredOver,
}

/// The resting energy requirement and how it was computed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RestingEnergy {
    pub value: f64,
    /// kcal/day.
    pub unit: String,
    pub formula: String,
}

/// Who chose the activity profile behind the energy factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileSource {
    /// The owner set it on the pet.
    Owner,
    /// From the measured activity.
    Measured,
    /// Neither: `typical`.
    Default,
}

/// The maintenance energy requirement: resting energy × the profile's factor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaintenanceEnergy {
    pub value: f64,
    /// kcal/day.
    pub unit: String,
    pub factor: f64,
    pub activity_profile: ActivityProfile,
    pub activity_profile_source: ProfileSource,
}

/// What and how much to feed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NutritionPlan {
    /// kg.
    pub weight: Figure,
    pub resting_energy_requirement: RestingEnergy,
    pub maintenance_energy_requirement: MaintenanceEnergy,
    /// meals/day.
    pub meals: Figure,
    /// kcal/meal.
    pub per_meal: Figure,
}

/// How much a recommendation matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Advice,
    SeeVet,
}

impl Severity {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Advice => "advice",
            Severity::SeeVet => "see_vet",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The figures a recommendation rests on; each recommendation names the ones it uses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Hours with readings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covered: Option<Figure>,
    /// Episodes in the last 7 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episodes: Option<Figure<u32>>,
    /// Measured active minutes a day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured: Option<Figure>,
    /// The active-minutes goal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<Figure>,
    /// Share of the window without readings, %.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_data: Option<Figure>,
}

/// One recommendation of the plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Stable: `not_enough_data`, `elevated_heart_rate_at_rest`, `anxious_pacing`,
    /// `low_activity`, `rest_days`, `activity_goal_met`, `collar_off`.
    pub code: String,
    pub severity: Severity,
    pub message: String,
    pub evidence: Evidence,
}

/// The pet the plan is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanPet {
    pub name: String,
    pub species: Species,
}

/// What the plan was computed from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanMetadata {
    pub window: Window,
    /// Readings in the window.
    pub data_points: usize,
    pub model_version: String,
    /// RFC 3339.
    pub generated_at: String,
}

/// `GET /v1/pet-plan`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub collar_id: String,
    pub pet: PlanPet,
    pub daily_goals: DailyGoals,
    pub nutrition_plan: NutritionPlan,
    pub health_recommendations: Vec<Recommendation>,
    pub metadata: PlanMetadata,
}
