//! The health function's settings.

use std::time::Duration;

use petty_shared::config::{CommonConfig, ConfigError, Env, FromEnv};

/// What the health function checks and how long it waits.
#[derive(Debug, Clone)]
pub struct HealthConfig {
    /// Settings every function shares.
    pub common: CommonConfig,
    /// Tables whose reachability decides readiness (`TABLE_NAMES`, comma-separated).
    pub tables: Vec<String>,
    /// This stack's alarm name prefix, so `/detailed` lists only our alarms.
    pub alarm_prefix: String,
    /// Per-dependency timeout for readiness checks.
    pub check_timeout: Duration,
}

impl FromEnv for HealthConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let common = CommonConfig::from_env(env)?;
        let alarm_prefix =
            env.optional("ALARM_PREFIX").map(str::to_owned).unwrap_or_else(|| format!("petty-{}-", common.stage));
        let timeout_ms: u64 = env.parse_or("HEALTH_CHECK_TIMEOUT_MS", 2000)?;
        if !(10..=10_000).contains(&timeout_ms) {
            return Err(ConfigError::Malformed {
                name: "HEALTH_CHECK_TIMEOUT_MS".into(),
                reason: "must be between 10 and 10000".into(),
            });
        }
        Ok(Self {
            common,
            tables: env.list("TABLE_NAMES"),
            alarm_prefix,
            check_timeout: Duration::from_millis(timeout_ms),
        })
    }
}
