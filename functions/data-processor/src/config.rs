//! The data processor's settings.

use petty_shared::config::{CommonConfig, ConfigError, DataRouteConfig, Env, FromEnv};

/// Tables, the cursor key, retention and the claim limits.
#[derive(Debug, Clone)]
pub struct DataConfig {
    pub common: CommonConfig,
    pub collars_table: String,
    pub readings_table: String,
    /// Late readings mark their finished days stale there.
    pub timeline_events_table: String,
    /// Claim attempts and claims per hour.
    pub claim_attempts_table: String,
    /// Households: the access check reads a caller's membership; a release ends them.
    pub members_table: String,
    /// Accounts: a pet claimed without a time zone gets its owner's.
    pub users_table: String,
    /// API keys, the audit trail and cursors.
    pub routes: DataRouteConfig,
    /// Days readings are kept (DynamoDB TTL).
    pub retention_days: i64,
    pub claims: ClaimLimits,
}

/// How claiming is bounded (every limit answers a clear 429 or 403).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimLimits {
    /// Collars one account may hold (`MAX_COLLARS_PER_ACCOUNT`, default 20): 403 past it.
    pub collars_per_account: usize,
    /// Collars one account may claim in an hour (`CLAIMS_PER_HOUR`, default 10): 429.
    pub claims_per_hour: u32,
    /// Claim attempts per account in a window (`CLAIM_ATTEMPTS_PER_ACCOUNT`, default 10): 429.
    pub attempts_per_account: u32,
    /// Claim attempts on one serial in a window (`CLAIM_ATTEMPTS_PER_COLLAR`, default 5): 429.
    pub attempts_per_collar: u32,
    /// The attempts window, seconds (`CLAIM_WINDOW_SECONDS`, default 900).
    pub window_s: i64,
}

impl Default for ClaimLimits {
    fn default() -> Self {
        Self {
            collars_per_account: 20,
            claims_per_hour: 10,
            attempts_per_account: 10,
            attempts_per_collar: 5,
            window_s: 900,
        }
    }
}

fn bounded<T: PartialOrd + std::fmt::Display + std::str::FromStr>(
    env: &Env,
    name: &str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    let value = env.parse_or(name, default)?;
    if !range.contains(&value) {
        let reason = format!("must be {} to {}", range.start(), range.end());
        return Err(ConfigError::Malformed { name: name.into(), reason });
    }
    Ok(value)
}

impl FromEnv for DataConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let d = ClaimLimits::default();
        Ok(Self {
            common: CommonConfig::from_env(env)?,
            collars_table: env.required("COLLARS_TABLE")?,
            readings_table: env.required("READINGS_TABLE")?,
            timeline_events_table: env.required("TIMELINE_EVENTS_TABLE")?,
            claim_attempts_table: env.required("CLAIM_ATTEMPTS_TABLE")?,
            members_table: env.required("MEMBERS_TABLE")?,
            users_table: env.required("USERS_TABLE")?,
            routes: DataRouteConfig::from_env(env)?,
            retention_days: petty_shared::config::reading_retention_days(env)?,
            claims: ClaimLimits {
                collars_per_account: bounded(env, "MAX_COLLARS_PER_ACCOUNT", d.collars_per_account, 1..=1000)?,
                claims_per_hour: bounded(env, "CLAIMS_PER_HOUR", d.claims_per_hour, 1..=1000)?,
                attempts_per_account: bounded(env, "CLAIM_ATTEMPTS_PER_ACCOUNT", d.attempts_per_account, 1..=1000)?,
                attempts_per_collar: bounded(env, "CLAIM_ATTEMPTS_PER_COLLAR", d.attempts_per_collar, 1..=1000)?,
                window_s: bounded(env, "CLAIM_WINDOW_SECONDS", d.window_s, 1..=86_400)?,
            },
        })
    }
}
