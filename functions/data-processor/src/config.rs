//! The data processor's settings.

use petty_shared::config::{CommonConfig, ConfigError, Env, FromEnv};

/// Tables, the cursor key and retention.
#[derive(Debug, Clone)]
pub struct DataConfig {
    pub common: CommonConfig,
    pub collars_table: String,
    pub readings_table: String,
    /// API keys, for collars posting their own readings.
    pub api_keys_table: String,
    /// Per-user audit events (API key first use, collar claimed/released).
    pub audit_table: String,
    /// HMAC key for pagination cursors.
    pub cursor_key_secret_id: String,
    /// Days readings are kept (DynamoDB TTL).
    pub retention_days: i64,
    /// Days per-user audit events are kept.
    pub audit_retention_days: i64,
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
            api_keys_table: env.required("API_KEYS_TABLE")?,
            audit_table: env.required("AUDIT_TABLE")?,
            cursor_key_secret_id: env.required("CURSOR_KEY_SECRET_ID")?,
            retention_days,
            audit_retention_days: petty_shared::config::audit_retention_days(env)?,
        })
    }
}
