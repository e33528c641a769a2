//! Keeping and closing an account (the auth function): password change and reset, e-mail
//! verification, profile changes, sessions, erasure and export.
//!
//! Every token here (reset, verification) is single-use, bound to its purpose, stored only as
//! a hash and sent only by e-mail.

use serde::{Deserialize, Serialize};

/// `POST /v1/auth/password`: a new password for the signed-in owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    /// The password rules of registration.
    pub new_password: String,
}

/// What ending sessions answers (`POST /v1/auth/password`, `POST /v1/auth/logout-all`,
/// `POST /v1/auth/password-reset/confirm`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionsRevoked {
    /// Sessions (refresh families) ended by this call.
    pub sessions_revoked: u32,
    /// API keys revoked by this call (a reset only; 0 otherwise).
    #[serde(default)]
    pub api_keys_revoked: u32,
}

/// `POST /v1/auth/password-reset`: asks for a reset token by e-mail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    pub email: String,
}

/// `POST /v1/auth/password-reset/confirm`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    pub token: String,
    pub new_password: String,
}

/// `POST /v1/auth/verify-email/confirm`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmailConfirm {
    pub token: String,
}

/// A request taken and carried out out of band (202): `password-reset` (the same body whether
/// or not the account exists) and `verify-email`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    /// Always `accepted`.
    pub status: String,
    pub message: String,
}

/// `PATCH /v1/auth/me`: only the fields given change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    /// 1 to 100 printable characters; `""` clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// An IANA time zone name (`Europe/Paris`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// A BCP 47 language tag (`en`, `fr-CH`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// A new address: becomes `pending_email`, and the login once its verification is
    /// confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// One active session (refresh family) of `GET /v1/auth/sessions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub session_id: String,
    /// Unix seconds (`null` for sessions older than this field).
    pub created_at: Option<i64>,
    /// The last login or refresh, Unix seconds.
    pub last_used_at: Option<i64>,
    /// When its refresh token stops working, Unix seconds.
    pub expires_at: i64,
    /// The client's `User-Agent` at login (at most 200 characters).
    pub user_agent: Option<String>,
    /// An approximate source: the login's network (`203.0.113.0/24`, `2001:db8:1::/48`),
    /// never the full address.
    pub source: Option<String>,
    /// True for the session of the token that asked.
    pub current: bool,
}

/// `GET /v1/auth/sessions`: newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sessions {
    pub sessions: Vec<Session>,
}

/// `DELETE /v1/auth/me`: the password again, to erase the account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccount {
    pub password: String,
}

/// What `DELETE /v1/auth/me` answers (202): the account is closed, its data being erased.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDeleted {
    /// Always `erasing`.
    pub status: String,
    /// The erasure job (in the audit trail as `account_erased`).
    pub erasure_id: String,
}

/// An export's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportStatus {
    Pending,
    Running,
    Ready,
    Failed,
}

/// `POST /v1/auth/export` (202) and `GET /v1/auth/export/{export_id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Export {
    pub export_id: String,
    pub status: ExportStatus,
    /// Unix seconds.
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<i64>,
    /// When ready: a presigned GET of the zip, valid for 15 minutes from this answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// Lines per file of the zip, when ready (`readings.jsonl: 43200`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<std::collections::BTreeMap<String, u64>>,
    /// Why it failed (`export_too_large`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When the zip (and this record) is deleted, Unix seconds: 7 days after the request.
    pub expires_at: i64,
}
