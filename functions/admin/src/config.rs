//! The admin function's settings.

use petty_shared::config::{CommonConfig, ConfigError, Env, FromEnv};

/// Tables and the IoT policy new collars get.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    pub common: CommonConfig,
    /// The registry: collars are registered here before anyone owns them.
    pub collars_table: String,
    /// Operator actions are audited.
    pub audit_table: String,
    pub audit_retention_days: i64,
    /// The AWS IoT policy attached to every collar certificate (connect as itself, publish
    /// to its own topic).
    pub iot_policy_name: String,
}

impl FromEnv for AdminConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonConfig::from_env(env)?,
            collars_table: env.required("COLLARS_TABLE")?,
            audit_table: env.required("AUDIT_TABLE")?,
            audit_retention_days: petty_shared::config::audit_retention_days(env)?,
            iot_policy_name: env.required("IOT_POLICY_NAME")?,
        })
    }
}
