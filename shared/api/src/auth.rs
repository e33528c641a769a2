//! Accounts and sessions (the auth function): register, login, refresh, profile, security
//! events.

use serde::{Deserialize, Serialize};

/// `POST /v1/auth/register`: a new account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Register {
    pub email: String,
    /// 12 to 128 characters, not a common password.
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `POST /v1/auth/login`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub email: String,
    pub password: String,
}

/// `POST /v1/auth/refresh`: trades a refresh token (one use) for a new pair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refresh {
    pub refresh_token: String,
}

/// What login and refresh answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Access-token lifetime in seconds.
    pub expires_in: u64,
}

/// `GET /v1/auth/me`, and what register answers: the account without its secrets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub user_id: String,
    pub email: String,
    /// `null` when the owner gave none.
    pub name: Option<String>,
    pub scopes: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// True once the owner proved they read mail at `email` (`POST /v1/auth/verify-email`).
    /// Alert e-mail goes to verified addresses only.
    #[serde(default)]
    pub email_verified: bool,
    /// A new address waiting for its verification (`PATCH /v1/auth/me` with `email`); `email`
    /// stays the login and the contact until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_email: Option<String>,
    /// IANA time zone (default `UTC`); the days a timeline is cut into.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// BCP 47 language tag (default `en`).
    #[serde(default = "default_locale")]
    pub locale: String,
}

/// The time zone of an account that never set one.
pub fn default_timezone() -> String {
    "UTC".to_owned()
}

/// The locale of an account that never set one.
pub fn default_locale() -> String {
    "en".to_owned()
}

/// One security event of `GET /v1/auth/events` (login, refresh reuse, key created...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityEvent {
    /// e.g. `login`, `refresh_reuse`, `api_key_created`.
    pub action: String,
    /// `success`, `failure`, `locked_out`, `family_revoked`...
    pub outcome: String,
    pub user_id: Option<String>,
    pub source_ip: Option<String>,
    /// Unix seconds.
    pub at: i64,
    /// Non-secret context (a key id, a collar id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// `GET /v1/auth/events`: the caller's most recent security events, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityEvents {
    pub events: Vec<SecurityEvent>,
}
