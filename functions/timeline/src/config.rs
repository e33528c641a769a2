//! The timeline function's settings.

use petty_shared::config::{CommonConfig, ConfigError, Env, FromEnv};

/// Tables and the cursor key.
#[derive(Debug, Clone)]
pub struct TimelineConfig {
    pub common: CommonConfig,
    /// Collars: the ownership check and the pet's profile.
    pub collars_table: String,
    /// Readings, queried by collar and time.
    pub readings_table: String,
    /// API keys, for integrations reading a collar's timeline.
    pub api_keys_table: String,
    /// Per-user audit events (an API key's first use).
    pub audit_table: String,
    /// HMAC key for pagination cursors.
    pub cursor_key_secret_id: String,
    /// Days per-user audit events are kept.
    pub audit_retention_days: i64,
    /// What the timeline showed per day (feedback checks events against it).
    pub timeline_events_table: String,
    /// Owners' feedback and each pet's calibration.
    pub feedback_table: String,
}

impl FromEnv for TimelineConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonConfig::from_env(env)?,
            collars_table: env.required("COLLARS_TABLE")?,
            readings_table: env.required("READINGS_TABLE")?,
            api_keys_table: env.required("API_KEYS_TABLE")?,
            audit_table: env.required("AUDIT_TABLE")?,
            cursor_key_secret_id: env.required("CURSOR_KEY_SECRET_ID")?,
            audit_retention_days: petty_shared::config::audit_retention_days(env)?,
            timeline_events_table: env.required("TIMELINE_EVENTS_TABLE")?,
            feedback_table: env.required("FEEDBACK_TABLE")?,
        })
    }
}
