//! The alerts function's settings.

use petty_shared::config::{CommonConfig, ConfigError, DataRouteConfig, Env, FromEnv};

/// Tables and the cursor key.
#[derive(Debug, Clone)]
pub struct AlertsConfig {
    pub common: CommonConfig,
    /// Collars: the ownership check and the caller's collars.
    pub collars_table: String,
    /// Households: whom the collar is shared with.
    pub members_table: String,
    /// API keys, the audit trail and cursors.
    pub routes: DataRouteConfig,
    /// Zones, settings, the evaluator's state and alerts.
    pub alerts_table: String,
    /// The delivery log `GET /v1/alerts/{alert_id}` shows.
    pub notifications_table: String,
}

impl FromEnv for AlertsConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonConfig::from_env(env)?,
            collars_table: env.required("COLLARS_TABLE")?,
            members_table: env.required("MEMBERS_TABLE")?,
            routes: DataRouteConfig::from_env(env)?,
            alerts_table: env.required("ALERTS_TABLE")?,
            notifications_table: env.required("NOTIFICATIONS_TABLE")?,
        })
    }
}
