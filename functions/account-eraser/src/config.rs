//! The eraser's settings: every table it erases from, the exports bucket and its own queue.

use petty_shared::account_jobs::AccountTables;
use petty_shared::config::{ConfigError, Env, FromEnv};

#[derive(Debug, Clone)]
pub struct EraserConfig {
    pub tables: AccountTables,
    pub lockouts_table: String,
    pub audit_retention_days: i64,
    /// Where a job out of time queues itself again.
    pub erasure_queue_url: String,
}

impl FromEnv for EraserConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            tables: AccountTables::from_env(env)?,
            lockouts_table: env.required("LOCKOUTS_TABLE")?,
            audit_retention_days: petty_shared::config::audit_retention_days(env)?,
            erasure_queue_url: env.required("ERASURE_QUEUE_URL")?,
        })
    }
}
