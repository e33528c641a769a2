//! Readings in and out (the data processor's `/v1/ingest` and `/v1/realtime`).
//!
//! A reading itself stays a JSON object on the way in: the data processor validates it field
//! by field to give each rule its own rejection reason, and rejects unknown fields by name.

use serde::{Deserialize, Serialize};

/// `POST /v1/ingest` as a batch (a single reading object is accepted too).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestBatch {
    /// 1 to 500 readings, as collars send them.
    pub readings: Vec<serde_json::Value>,
}

/// One rejected reading of a batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    /// Its position in the batch.
    pub index: usize,
    /// The rule's stable code (also a metric dimension), e.g. `heart_rate`.
    pub reason: String,
    /// What was wrong, naming the field.
    pub message: String,
}

/// What `POST /v1/ingest` answers for a batch: every reading is accounted for exactly once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestReport {
    /// Newly stored readings.
    pub accepted: usize,
    /// Readings already stored or repeated in the batch: not stored or counted again.
    pub duplicates: usize,
    pub rejected: Vec<Rejected>,
    /// Valid readings not stored in time (the answer is then a 503): sending them again is
    /// safe.
    #[serde(default)]
    pub not_stored: Vec<usize>,
    /// On a 503 only: the request id, as every error answer carries, to quote to operators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A GeoJSON point, `[lon, lat]` (degrees).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Always `Point`.
    #[serde(rename = "type")]
    pub kind: String,
    pub coordinates: Vec<f64>,
}

impl Point {
    /// A point at `lon`, `lat`.
    pub fn new(lon: f64, lat: f64) -> Self {
        Self { kind: "Point".into(), coordinates: vec![lon, lat] }
    }
}

/// `GET /v1/realtime`: the collar's latest reading.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Realtime {
    pub collar_id: String,
    /// Beats per minute.
    pub heart_rate: u16,
    /// 0 rest, 1 walk, 2 play.
    pub activity_level: u8,
    pub location: Point,
    /// The reading's own time (RFC 3339).
    pub timestamp: String,
    /// Seconds since the reading was taken.
    pub age_s: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_c: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub battery_pct: Option<f64>,
}
