//! The feedback function's settings.

use petty_shared::config::{CommonConfig, ConfigError, DataRouteConfig, Env, FromEnv};

/// Tables and the cursor key.
#[derive(Debug, Clone)]
pub struct FeedbackConfig {
    pub common: CommonConfig,
    /// Collars: the ownership check.
    pub collars_table: String,
    /// Households: whom the collar is shared with.
    pub members_table: String,
    /// API keys, the audit trail and cursors.
    pub routes: DataRouteConfig,
    /// What the timeline showed per day: feedback is accepted only on those events.
    pub timeline_events_table: String,
    /// Feedback (current and history) and each pet's calibration.
    pub feedback_table: String,
}

impl FromEnv for FeedbackConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonConfig::from_env(env)?,
            collars_table: env.required("COLLARS_TABLE")?,
            members_table: env.required("MEMBERS_TABLE")?,
            routes: DataRouteConfig::from_env(env)?,
            timeline_events_table: env.required("TIMELINE_EVENTS_TABLE")?,
            feedback_table: env.required("FEEDBACK_TABLE")?,
        })
    }
}
