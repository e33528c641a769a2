//! The data processor's settings.

use petty_shared::config::{CommonConfig, ConfigError, DataRouteConfig, Env, FromEnv};

/// Tables, the cursor key and retention.
#[derive(Debug, Clone)]
pub struct DataConfig {
    pub common: CommonConfig,
    pub collars_table: String,
    pub readings_table: String,
    /// API keys, the audit trail and cursors.
    pub routes: DataRouteConfig,
    /// Days readings are kept (DynamoDB TTL).
    pub retention_days: i64,
}

impl FromEnv for DataConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonConfig::from_env(env)?,
            collars_table: env.required("COLLARS_TABLE")?,
            readings_table: env.required("READINGS_TABLE")?,
            routes: DataRouteConfig::from_env(env)?,
            retention_days: petty_shared::config::reading_retention_days(env)?,
        })
    }
}
