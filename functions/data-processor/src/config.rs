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
        let retention_days: i64 = env.parse_or("READING_RETENTION_DAYS", 90)?;
        if !(1..=3650).contains(&retention_days) {
            return Err(ConfigError::Malformed {
                name: "READING_RETENTION_DAYS".into(),
                reason: "must be 1-3650".into(),
            });
        }
        Ok(Self {
            common: CommonConfig::from_env(env)?,
            collars_table: env.required("COLLARS_TABLE")?,
            readings_table: env.required("READINGS_TABLE")?,
            routes: DataRouteConfig::from_env(env)?,
            retention_days,
        })
    }
}
