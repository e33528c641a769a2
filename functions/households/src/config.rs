//! The households function's settings.

use petty_shared::config::{CommonConfig, ConfigError, DataRouteConfig, Env, FromEnv};

#[derive(Debug, Clone)]
pub struct HouseholdsConfig {
    pub common: CommonConfig,
    /// API keys, the audit trail and cursors.
    pub routes: DataRouteConfig,
    /// Ownership (read; a transfer writes it).
    pub collars_table: String,
    /// Memberships and invitations.
    pub members_table: String,
    /// Names and verified addresses of the people in a household.
    pub users_table: String,
    /// The `From:` of invitations (an SES-verified identity).
    pub email_sender: String,
    /// Collars one account may hold (`MAX_COLLARS_PER_ACCOUNT`, as for claims): a transfer
    /// to someone at the limit is refused.
    pub collars_per_account: usize,
}

impl FromEnv for HouseholdsConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonConfig::from_env(env)?,
            routes: DataRouteConfig::from_env(env)?,
            collars_table: env.required("COLLARS_TABLE")?,
            members_table: env.required("MEMBERS_TABLE")?,
            users_table: env.required("USERS_TABLE")?,
            email_sender: env.required("EMAIL_SENDER")?,
            collars_per_account: env.parse_or("MAX_COLLARS_PER_ACCOUNT", 20)?,
        })
    }
}
