//! API keys (served by the auth function): what collars and scripts authenticate with.

use serde::{Deserialize, Serialize};

/// `POST /v1/api-keys`: a key to create.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    pub name: String,
    /// A subset of `readings:read`, `readings:write`, `timeline:read` and of the owner's.
    pub scopes: Vec<String>,
    /// Limits the key to these collars; empty means any of the owner's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collar_ids: Vec<String>,
    /// 1 to 365; none means the key does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_days: Option<u32>,
}

/// An API key as listed: never its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub key_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub collar_ids: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; `null` when it never expires.
    pub expires_at: Option<i64>,
    /// Unix seconds (written at most hourly); `null` when never used.
    pub last_used_at: Option<i64>,
    pub revoked: bool,
}

/// What `POST /v1/api-keys` answers: the key and, this once, its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKey,
    /// `pty_<id>_<secret><checksum>`: shown once, only SHA-256 of the secret is kept.
    pub api_key: String,
}

/// `GET /v1/api-keys`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyList {
    pub api_keys: Vec<ApiKey>,
}
