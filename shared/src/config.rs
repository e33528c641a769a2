//! Typed settings from environment variables, read and validated once at cold start.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

/// Why configuration could not be loaded; always names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is absent or empty.
    #[error("environment variable {0} is required but not set")]
    Missing(String),
    /// A variable is present but its value is unusable.
    #[error("environment variable {name} is malformed: {reason}")]
    Malformed { name: String, reason: String },
}

impl ConfigError {
    /// The offending variable, for the structured log line.
    pub fn variable(&self) -> &str {
        match self {
            ConfigError::Missing(name) | ConfigError::Malformed { name, .. } => name,
        }
    }
}

/// A snapshot of the environment; tests build one from pairs instead of mutating the process.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    /// The process environment, captured once.
    pub fn process() -> Self {
        Self { vars: std::env::vars().collect() }
    }

    /// An environment from explicit pairs (tests, tools).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self { vars: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }

    /// A variable's trimmed value, treating empty as absent.
    pub fn optional(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    /// A variable that must be present.
    pub fn required(&self, name: &str) -> Result<String, ConfigError> {
        self.optional(name).map(str::to_owned).ok_or_else(|| ConfigError::Missing(name.to_owned()))
    }

    /// A variable parsed with `FromStr`, or `default` when absent.
    pub fn parse_or<T: FromStr>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.optional(name) {
            None => Ok(default),
            Some(raw) => {
                raw.parse().map_err(|e: T::Err| ConfigError::Malformed { name: name.to_owned(), reason: e.to_string() })
            }
        }
    }

    /// A duration given in whole seconds, bounded to `max`.
    pub fn seconds_or(&self, name: &str, default: u64, max: u64) -> Result<Duration, ConfigError> {
        let value: u64 = self.parse_or(name, default)?;
        if value > max {
            return Err(ConfigError::Malformed {
                name: name.to_owned(),
                reason: format!("{value} exceeds the maximum of {max} seconds"),
            });
        }
        Ok(Duration::from_secs(value))
    }

    /// A comma-separated list; empty entries are dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.optional(name)
            .map(|raw| raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

/// Implemented by each function's settings so [`crate::init`] can load them.
pub trait FromEnv: Sized {
    /// Reads and validates every variable the function needs.
    fn from_env(env: &Env) -> Result<Self, ConfigError>;
}

/// Settings every function has: who it is, which tokens it trusts, how long secrets are cached.
#[derive(Debug, Clone)]
pub struct CommonConfig {
    /// Deployment stage (`dev`, `prod`, ...): part of resource names and metric dimensions.
    pub stage: String,
    /// Expected `iss` of every token.
    pub jwt_issuer: String,
    /// Expected `aud` of every token.
    pub jwt_audience: String,
    /// Secrets Manager id of the public key set (JWKS) that verifies tokens.
    pub public_keys_secret_id: String,
    /// How long a fetched secret is served before it is fetched again.
    pub secret_ttl: Duration,
    /// Origins allowed by CORS (`*` for any).
    pub cors_allowed_origins: Vec<String>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
}

impl FromEnv for CommonConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let stage = env.required("STAGE")?;
        if !stage.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') || stage.len() > 32 {
            return Err(ConfigError::Malformed {
                name: "STAGE".into(),
                reason: "use 1-32 letters, digits or '-'".into(),
            });
        }
        let max_body_bytes: usize = env.parse_or("MAX_BODY_BYTES", 1024 * 1024)?;
        if max_body_bytes == 0 || max_body_bytes > 6 * 1024 * 1024 {
            return Err(ConfigError::Malformed {
                name: "MAX_BODY_BYTES".into(),
                reason: "must be between 1 and 6291456 (Lambda's payload limit)".into(),
            });
        }
        Ok(Self {
            stage,
            jwt_issuer: env.required("JWT_ISSUER")?,
            jwt_audience: env.required("JWT_AUDIENCE")?,
            public_keys_secret_id: env.required("PUBLIC_KEYS_SECRET_ID")?,
            secret_ttl: env.seconds_or("SECRET_TTL_SECONDS", 300, 3600)?,
            cors_allowed_origins: env.list("CORS_ALLOWED_ORIGINS"),
            max_body_bytes,
        })
    }
}

impl CommonConfig {
    /// What tokens' `iss` and `aud` must be.
    pub fn jwt_settings(&self) -> crate::jwt::JwtSettings {
        crate::jwt::JwtSettings { issuer: self.jwt_issuer.clone(), audience: self.jwt_audience.clone() }
    }
}

/// Days per-user security events are kept (`AUDIT_RETENTION_DAYS`, default 90): one setting
/// for every function that writes them.
pub fn audit_retention_days(env: &Env) -> Result<i64, ConfigError> {
    let days: i64 = env.parse_or("AUDIT_RETENTION_DAYS", 90)?;
    if !(1..=3650).contains(&days) {
        return Err(ConfigError::Malformed { name: "AUDIT_RETENTION_DAYS".into(), reason: "must be 1-3650".into() });
    }
    Ok(days)
}

/// Days readings are kept (`READING_RETENTION_DAYS`, default 90): one setting for both
/// ingestion paths.
pub fn reading_retention_days(env: &Env) -> Result<i64, ConfigError> {
    let days: i64 = env.parse_or("READING_RETENTION_DAYS", 90)?;
    if !(1..=3650).contains(&days) {
        return Err(ConfigError::Malformed { name: "READING_RETENTION_DAYS".into(), reason: "must be 1-3650".into() });
    }
    Ok(days)
}

/// What every data function (collars, readings, timeline, feedback) needs for its callers:
/// API keys (collars and integrations sign in with them), the audit trail and cursors.
#[derive(Debug, Clone)]
pub struct DataRouteConfig {
    pub api_keys_table: String,
    /// Per-user audit events (an API key's first use, collars claimed and released).
    pub audit_table: String,
    /// HMAC key for pagination cursors.
    pub cursor_key_secret_id: String,
    /// Days per-user audit events are kept.
    pub audit_retention_days: i64,
}

impl FromEnv for DataRouteConfig {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            api_keys_table: env.required("API_KEYS_TABLE")?,
            audit_table: env.required("AUDIT_TABLE")?,
            cursor_key_secret_id: env.required("CURSOR_KEY_SECRET_ID")?,
            audit_retention_days: audit_retention_days(env)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("STAGE", "dev"),
            ("JWT_ISSUER", "https://petty.example"),
            ("JWT_AUDIENCE", "petty-api"),
            ("PUBLIC_KEYS_SECRET_ID", "petty/dev/jwt-public-keys"),
        ]
    }

    #[test]
    fn loads_with_defaults() {
        let cfg = CommonConfig::from_env(&Env::from_pairs(base())).unwrap();
        assert_eq!(cfg.stage, "dev");
        assert_eq!(cfg.secret_ttl, Duration::from_secs(300));
        assert_eq!(cfg.max_body_bytes, 1024 * 1024);
        assert!(cfg.cors_allowed_origins.is_empty());
    }

    #[test]
    fn missing_variable_is_named() {
        let pairs: Vec<_> = base().into_iter().filter(|(k, _)| *k != "JWT_AUDIENCE").collect();
        let err = CommonConfig::from_env(&Env::from_pairs(pairs)).unwrap_err();
        assert_eq!(err, ConfigError::Missing("JWT_AUDIENCE".into()));
        assert_eq!(err.variable(), "JWT_AUDIENCE");
    }

    #[test]
    fn blank_counts_as_missing() {
        let mut pairs = base();
        pairs.push(("STAGE", "   "));
        let env = Env::from_pairs(pairs);
        assert_eq!(CommonConfig::from_env(&env).unwrap_err().variable(), "STAGE");
    }

    #[test]
    fn malformed_values_are_named() {
        for (name, value) in [
            ("SECRET_TTL_SECONDS", "five"),
            ("SECRET_TTL_SECONDS", "7200"),
            ("MAX_BODY_BYTES", "0"),
            ("MAX_BODY_BYTES", "-1"),
            ("STAGE", "dev stage"),
        ] {
            let mut pairs = base();
            pairs.push((name, value));
            let err = CommonConfig::from_env(&Env::from_pairs(pairs)).unwrap_err();
            assert!(matches!(err, ConfigError::Malformed { .. }), "{name}={value}: {err:?}");
            assert_eq!(err.variable(), name);
        }
    }

    #[test]
    fn lists_drop_empty_entries() {
        let env = Env::from_pairs([("L", " a, ,b ,")]);
        assert_eq!(env.list("L"), vec!["a", "b"]);
        assert!(env.list("ABSENT").is_empty());
    }
}
