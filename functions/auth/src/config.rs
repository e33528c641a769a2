//! The auth function's settings.

use std::time::Duration;

use petty_shared::config::{CommonConfig, ConfigError, Env, FromEnv};

/// Tables, the signing secret, token lifetimes and lockout policy.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub common: CommonConfig,
    pub users_table: String,
    pub families_table: String,
    pub api_keys_table: String,
    pub lockouts_table: String,
    pub audit_table: String,
    /// The private signing key set: only this function may read it.
    pub signing_keys_secret_id: String,
    /// Access-token lifetime (at most 15 minutes).
    pub access_ttl: Duration,
    /// Refresh-token (and family) lifetime.
    pub refresh_ttl: Duration,
    /// Failed logins within `lockout_window` that lock an account.
    pub lockout_threshold: u32,
    pub lockout_window: Duration,
    /// How long a locked account stays locked.
    pub lockout_duration: Duration,
    /// Days per-user audit events are kept.
    pub audit_retention_days: i64,
    /// The verified SES identity account mail is sent from.
    pub email_sender: String,
    /// The erasure jobs' queue.
    pub erasure_queue_url: String,
    /// The export jobs' queue.
    pub export_queue_url: String,
    /// Where finished exports are (presigned links).
    pub exports_bucket: String,
    /// `POST /v1/auth/password-reset` answers no sooner than this after it arrives, whether
    /// or not the account exists (the time says nothing either).
    pub reset_answer_floor: Duration,
}

impl FromEnv for AuthConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let threshold: u32 = env.parse_or("LOCKOUT_THRESHOLD", 5)?;
        if !(1..=100).contains(&threshold) {
            return Err(ConfigError::Malformed { name: "LOCKOUT_THRESHOLD".into(), reason: "must be 1-100".into() });
        }
        let refresh_days: u64 = env.parse_or("REFRESH_TOKEN_TTL_DAYS", 30)?;
        if !(1..=365).contains(&refresh_days) {
            return Err(ConfigError::Malformed {
                name: "REFRESH_TOKEN_TTL_DAYS".into(),
                reason: "must be 1-365".into(),
            });
        }
        Ok(Self {
            common: CommonConfig::from_env(env)?,
            users_table: env.required("USERS_TABLE")?,
            families_table: env.required("REFRESH_FAMILIES_TABLE")?,
            api_keys_table: env.required("API_KEYS_TABLE")?,
            lockouts_table: env.required("LOCKOUTS_TABLE")?,
            audit_table: env.required("AUDIT_TABLE")?,
            signing_keys_secret_id: env.required("SIGNING_KEYS_SECRET_ID")?,
            access_ttl: env.seconds_or("ACCESS_TOKEN_TTL_SECONDS", 900, 900)?,
            refresh_ttl: Duration::from_secs(refresh_days * 86_400),
            lockout_threshold: threshold,
            lockout_window: env.seconds_or("LOCKOUT_WINDOW_SECONDS", 900, 86_400)?,
            lockout_duration: env.seconds_or("LOCKOUT_SECONDS", 900, 86_400)?,
            audit_retention_days: petty_shared::config::audit_retention_days(env)?,
            email_sender: env.required("EMAIL_SENDER")?,
            erasure_queue_url: env.required("ERASURE_QUEUE_URL")?,
            export_queue_url: env.required("EXPORT_QUEUE_URL")?,
            exports_bucket: env.required("EXPORTS_BUCKET")?,
            reset_answer_floor: Duration::from_millis(env.parse_or("RESET_ANSWER_FLOOR_MS", 400)?),
        })
    }
}
