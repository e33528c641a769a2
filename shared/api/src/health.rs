//! Health (the health function): liveness, readiness and the operators' detailed view.

use serde::{Deserialize, Serialize};

/// Build facts, so an answer says which binary gave it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildInfo {
    pub version: String,
    pub git_sha: String,
    /// `debug` or `release`.
    pub profile: String,
    pub arch: String,
}

/// `GET /v1/health`: cheap liveness, no dependency called.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Liveness {
    /// Always `ok`.
    pub status: String,
    pub service: String,
    pub version: String,
    pub git_sha: String,
    /// True on the first request of this instance.
    pub cold_start: bool,
    pub uptime_s: u64,
    pub build: BuildInfo,
}

/// One dependency's outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// e.g. `dynamodb:<table>`, `secretsmanager:public-keys`.
    pub name: String,
    pub ok: bool,
    pub latency_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `GET /v1/health/ready`: 200 when every check passed, 503 naming the failures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: String,
    pub checks: Vec<Check>,
    /// On a 503 only: the request id, as every error answer carries, to quote to operators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// One CloudWatch alarm, as operators see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmStatus {
    pub name: String,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `GET /v1/health/detailed` (`admin` scope): readiness, this stack's alarms, build info.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Detailed {
    /// `ready` or `not_ready`.
    pub status: String,
    pub checks: Vec<Check>,
    pub alarms: Vec<AlarmStatus>,
    pub alarms_in_alarm_state: usize,
    /// Why the alarms could not be read; `null` when they were.
    pub alarms_error: Option<String>,
    pub build: BuildInfo,
    pub cold_start: bool,
    pub uptime_s: u64,
}
