//! The eraser's settings: every table it erases from, the exports bucket and its own queue.

use petty_shared::config::{ConfigError, Env, FromEnv};

#[derive(Debug, Clone)]
pub struct EraserConfig {
    pub users_table: String,
    pub sessions_table: String,
    pub api_keys_table: String,
    pub lockouts_table: String,
    pub audit_table: String,
    pub audit_retention_days: i64,
    pub collars_table: String,
    pub readings_table: String,
    pub alerts_table: String,
    pub feedback_table: String,
    pub timeline_events_table: String,
    pub notifications_table: String,
    pub exports_bucket: String,
    /// Where a job out of time queues itself again.
    pub erasure_queue_url: String,
}

impl FromEnv for EraserConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            users_table: env.required("USERS_TABLE")?,
            sessions_table: env.required("REFRESH_FAMILIES_TABLE")?,
            api_keys_table: env.required("API_KEYS_TABLE")?,
            lockouts_table: env.required("LOCKOUTS_TABLE")?,
            audit_table: env.required("AUDIT_TABLE")?,
            audit_retention_days: petty_shared::config::audit_retention_days(env)?,
            collars_table: env.required("COLLARS_TABLE")?,
            readings_table: env.required("READINGS_TABLE")?,
            alerts_table: env.required("ALERTS_TABLE")?,
            feedback_table: env.required("FEEDBACK_TABLE")?,
            timeline_events_table: env.required("TIMELINE_EVENTS_TABLE")?,
            notifications_table: env.required("NOTIFICATIONS_TABLE")?,
            exports_bucket: env.required("EXPORTS_BUCKET")?,
            erasure_queue_url: env.required("ERASURE_QUEUE_URL")?,
        })
    }
}
