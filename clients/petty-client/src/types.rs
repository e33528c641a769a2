//! The API's requests and responses.
//!
//! One definition of each type: the pet profile (`petty_shared::collar::Pet`, validated by the
//! data processor) and behaviour names (`petty_timeline::domain::Behavior`) are the functions'
//! own types, re-exported here. Responses that the functions build as ad-hoc JSON are defined
//! here once; the CLI journey (`tools/cli_journey.sh`) decodes every one of them from the real
//! functions, so a renamed or removed field fails a test. Unknown fields are ignored: the API
//! may add fields without breaking clients.

pub use petty_shared::collar::{ActivityProfile, Pet, Species};
pub use petty_timeline::domain::Behavior;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `POST /v1/auth/register`.
#[derive(Clone, Debug, Serialize)]
pub struct Register<'a> {
    pub email: &'a str,
    pub password: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
}

/// `POST /v1/auth/login`.
#[derive(Clone, Debug, Serialize)]
pub struct Login<'a> {
    pub email: &'a str,
    pub password: &'a str,
}

/// Login and refresh answer a token pair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: String,
    /// Access-token lifetime in seconds.
    pub expires_in: u64,
}

/// `GET /v1/auth/me`, and what register answers.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct User {
    pub user_id: String,
    pub email: String,
    pub name: Option<String>,
    pub scopes: Vec<String>,
    pub created_at: i64,
}

/// `POST /v1/api-keys`.
#[derive(Clone, Debug, Serialize)]
pub struct NewApiKey {
    pub name: String,
    pub scopes: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub collar_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_days: Option<u32>,
}

/// An API key as listed (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ApiKey {
    pub key_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub collar_ids: Vec<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked: bool,
}

/// What `POST /v1/api-keys` answers: the key and, once, its secret.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKey,
    pub api_key: String,
}

#[derive(Deserialize)]
pub(crate) struct ApiKeyList {
    pub api_keys: Vec<ApiKey>,
}

/// `POST /v1/collars`.
#[derive(Clone, Debug, Serialize)]
pub struct ClaimCollar<'a> {
    pub collar_id: &'a str,
    pub pet: &'a Pet,
}

/// A collar and its pet.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Collar {
    pub collar_id: String,
    pub pet: Pet,
    pub claimed_at: String,
    pub updated_at: String,
}

/// One page of `GET /v1/collars`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct CollarPage {
    pub collars: Vec<Collar>,
    pub next_cursor: Option<String>,
}

/// One rejected reading of an ingest batch.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Rejected {
    pub index: usize,
    pub reason: String,
    pub message: String,
}

/// What `POST /v1/ingest` answers for a batch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct IngestReport {
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: Vec<Rejected>,
    /// Valid readings not stored in time (sending them again is safe).
    #[serde(default)]
    pub not_stored: Vec<usize>,
}

/// A GeoJSON point, `[lon, lat]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    #[serde(rename = "type")]
    pub kind: String,
    pub coordinates: Vec<f64>,
}

/// `GET /v1/realtime`: the collar's latest reading.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Realtime {
    pub collar_id: String,
    pub heart_rate: u16,
    /// 0 rest, 1 walk, 2 play.
    pub activity_level: u8,
    pub location: Point,
    pub timestamp: String,
    /// Seconds since the reading was taken.
    pub age_s: i64,
    #[serde(default)]
    pub temperature_c: Option<f64>,
    #[serde(default)]
    pub battery_pct: Option<f64>,
}

/// An episode's statistics.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct EventStats {
    pub samples: u32,
    /// `None` in a no-data gap.
    pub heart_rate_mean_bpm: Option<f64>,
    pub heart_rate_min_bpm: Option<u16>,
    pub heart_rate_max_bpm: Option<u16>,
    pub distance_m: f64,
}

/// One timeline event (a behaviour episode).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Event {
    pub event_id: String,
    pub timestamp: String,
    pub behavior: Behavior,
    pub confidence: f64,
    pub start: String,
    pub end: String,
    pub duration_s: f64,
    pub stats: EventStats,
    #[serde(default)]
    pub metadata: Value,
    /// The caller's current verdict on this event, if any.
    #[serde(default)]
    pub feedback: Option<Value>,
}

/// The window a timeline covers.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Window {
    pub from: String,
    pub to: String,
}

/// What a timeline page says about itself.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct TimelineMetadata {
    pub data_points: usize,
    pub behaviors: Vec<Behavior>,
    pub analysis_time_ms: f64,
    pub model_version: String,
    pub window: Window,
    #[serde(default)]
    pub calibrated_by: Vec<String>,
}

/// One page of `GET /v1/pet-timeline`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Timeline {
    pub collar_id: String,
    pub timeline: Vec<Event>,
    pub next_cursor: Option<String>,
    pub metadata: TimelineMetadata,
}

/// One recommendation of the pet plan.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Recommendation {
    pub code: String,
    /// `info`, `advice` or `see_vet`.
    pub severity: String,
    pub message: String,
    #[serde(default)]
    pub evidence: Value,
}

/// `GET /v1/pet-plan`. Goals and nutrition are objects of `{value, unit}` figures, kept as
/// JSON so new figures need no client release.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Plan {
    pub collar_id: String,
    pub daily_goals: serde_json::Map<String, Value>,
    pub nutrition_plan: serde_json::Map<String, Value>,
    pub health_recommendations: Vec<Recommendation>,
}

/// An owner's verdict on an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Correct,
    Incorrect,
}

/// `POST /v1/submit-feedback`.
#[derive(Clone, Debug, Serialize)]
pub struct Feedback {
    pub event_id: String,
    pub user_feedback: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corrected_behavior: Option<Behavior>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// What a feedback submission answers.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct FeedbackReceipt {
    pub success: bool,
    pub feedback_id: String,
    pub replaced: bool,
    pub revisions: u32,
    pub calibrated_by: Vec<String>,
}

/// `GET /v1/health`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Liveness {
    pub status: String,
    pub service: String,
    pub version: String,
    pub git_sha: String,
    pub cold_start: bool,
    pub uptime_s: u64,
}

/// One dependency of `GET /v1/health/ready`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub latency_ms: f64,
    #[serde(default)]
    pub error: Option<String>,
}

/// `GET /v1/health/ready` (200 ready, 503 not).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Readiness {
    pub status: String,
    pub checks: Vec<Check>,
}

/// The API's one error shape.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct ErrorBody {
    pub error: ErrorDetail,
    #[serde(default)]
    pub request_id: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct ErrorDetail {
    pub code: String,
    pub message: String,
}
