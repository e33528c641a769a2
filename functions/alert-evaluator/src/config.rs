//! The evaluator's settings.

use petty_shared::config::{ConfigError, Env, FromEnv};

/// The tables it reads and writes.
#[derive(Debug, Clone)]
pub struct EvaluatorConfig {
    /// Deployment stage: a metric dimension.
    pub stage: String,
    /// Collars: who owns a collar since when, and the pet (species, weight, time zone).
    pub collars_table: String,
    /// Zones, settings, state and alerts.
    pub alerts_table: String,
}

impl FromEnv for EvaluatorConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            stage: env.required("STAGE")?,
            collars_table: env.required("COLLARS_TABLE")?,
            alerts_table: env.required("ALERTS_TABLE")?,
        })
    }
}
