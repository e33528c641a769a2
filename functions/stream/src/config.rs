//! The stream function's settings.

use petty_shared::config::{ConfigError, Env, FromEnv};

/// Tables and retention.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// Deployment stage: a metric dimension.
    pub stage: String,
    /// Collars: only claimed collars' readings are stored.
    pub collars_table: String,
    pub readings_table: String,
    /// Late readings mark their finished days stale there.
    pub timeline_events_table: String,
    /// Days readings are kept (DynamoDB TTL).
    pub retention_days: i64,
}

impl FromEnv for StreamConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            stage: env.required("STAGE")?,
            collars_table: env.required("COLLARS_TABLE")?,
            readings_table: env.required("READINGS_TABLE")?,
            timeline_events_table: env.required("TIMELINE_EVENTS_TABLE")?,
            retention_days: petty_shared::config::reading_retention_days(env)?,
        })
    }
}
