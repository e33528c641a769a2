//! The auth function's storage: accounts, sessions and counters, as one trait over the
//! tables' modules in `petty_shared::tables` (users, sessions, lockouts), so the rules in
//! `lib.rs` and `account.rs` run over an in-memory double in unit tests.

use std::future::Future;

use petty_shared::api::Export;
use petty_shared::dynamo::StoreError;
use petty_shared::tables::lockouts::LockoutsTable;
use petty_shared::tables::sessions::SessionsTable;
use petty_shared::tables::users::{TokenError, TokenPurpose, UsersTable};

pub use petty_shared::tables::lockouts::Lockout;
pub use petty_shared::tables::sessions::{NewSession, Rotation, StoredSession};
pub use petty_shared::tables::users::{StoredToken, User};

/// The DynamoDB tables.
#[derive(Clone, Debug)]
pub struct AuthStore {
    pub users: UsersTable,
    pub sessions: SessionsTable,
    pub lockouts: LockoutsTable,
}

impl AuthStore {
    /// Over the configured tables.
    pub fn new(client: aws_sdk_dynamodb::Client, cfg: &crate::AuthConfig) -> Self {
        Self {
            users: UsersTable::new(client.clone(), cfg.users_table.clone()),
            sessions: SessionsTable::new(client.clone(), cfg.families_table.clone()),
            lockouts: LockoutsTable::new(client, cfg.lockouts_table.clone()),
        }
    }
}

type R<T> = Result<T, StoreError>;

/// Everything the auth function reads and writes of accounts, sessions and counters.
pub trait AccountStore: Send + Sync {
    /// Creates the account; `ConditionFailed` when the address is taken.
    fn create_user(&self, user: &User) -> impl Future<Output = R<()>> + Send;
    fn user_by_email(&self, email: &str) -> impl Future<Output = R<Option<User>>> + Send;
    fn user_by_id(&self, user_id: &str) -> impl Future<Output = R<Option<User>>> + Send;
    fn set_password(&self, user: &User, hash: &str, now: i64) -> impl Future<Output = R<()>> + Send;
    /// `(attribute, None = keep | Some("") = remove | Some(v))`.
    fn update_profile(
        &self,
        user: &User,
        changes: &[(&'static str, Option<String>)],
    ) -> impl Future<Output = R<()>> + Send;
    /// Stores a token's hash, invalidating the open one of its purpose.
    fn issue_token(&self, user: &User, token: &StoredToken) -> impl Future<Output = R<()>> + Send;
    /// The open, unexpired token with this hash and purpose.
    fn token(&self, hash: &str, purpose: TokenPurpose, now: i64)
    -> impl Future<Output = R<Option<StoredToken>>> + Send;
    fn reset_password(
        &self,
        t: &StoredToken,
        user: &User,
        hash: &str,
        now: i64,
    ) -> impl Future<Output = Result<(), TokenError>> + Send;
    fn verify_email(&self, t: &StoredToken, user: &User) -> impl Future<Output = Result<(), TokenError>> + Send;
    fn mark_deleted(&self, user: &User, now: i64) -> impl Future<Output = R<()>> + Send;
    fn put_export(&self, user_id: &str, export: &Export) -> impl Future<Output = R<()>> + Send;
    fn export(&self, user_id: &str, export_id: &str) -> impl Future<Output = R<Option<Export>>> + Send;
    fn put_erasure(
        &self,
        user_id: &str,
        record: &serde_json::Value,
        expires_at: i64,
    ) -> impl Future<Output = R<()>> + Send;

    fn create_session(&self, new: &NewSession) -> impl Future<Output = R<()>> + Send;
    /// Consumes `presented` and makes `next` current; a token presented twice revokes.
    fn rotate(&self, family: &str, presented: &str, next: &str, now: i64) -> impl Future<Output = R<Rotation>> + Send;
    fn revoke_family(&self, family: &str) -> impl Future<Output = R<()>> + Send;
    fn family_active(&self, family: &str, now: i64) -> impl Future<Output = R<bool>> + Send;
    fn sessions_of(&self, user_id: &str) -> impl Future<Output = R<Vec<StoredSession>>> + Send;
    /// Ends the user's session `family`; false when it is not theirs or not active.
    fn revoke_session_of_user(&self, user_id: &str, family: &str, now: i64) -> impl Future<Output = R<bool>> + Send;
    /// Ends every active session of the user but `keep`; how many.
    fn revoke_all_of_user(&self, user_id: &str, keep: Option<&str>, now: i64) -> impl Future<Output = R<u32>> + Send;

    fn lockout(&self, key: &str) -> impl Future<Output = R<Option<Lockout>>> + Send;
    /// Counts one in the window; the new state.
    fn record_failure(&self, key: &str, now: i64, window_s: i64) -> impl Future<Output = R<Lockout>> + Send;
    fn lock(&self, key: &str, until: i64) -> impl Future<Output = R<()>> + Send;
    fn clear_lockout(&self, key: &str) -> impl Future<Output = R<()>> + Send;
}

impl AccountStore for AuthStore {
    async fn create_user(&self, user: &User) -> R<()> {
        self.users.create_user(user).await
    }
    async fn user_by_email(&self, email: &str) -> R<Option<User>> {
        self.users.user_by_email(email).await
    }
    async fn user_by_id(&self, user_id: &str) -> R<Option<User>> {
        self.users.user_by_id(user_id).await
    }
    async fn set_password(&self, user: &User, hash: &str, now: i64) -> R<()> {
        self.users.set_password(user, hash, now).await
    }
    async fn update_profile(&self, user: &User, changes: &[(&'static str, Option<String>)]) -> R<()> {
        self.users.update_profile(user, changes).await
    }
    async fn issue_token(&self, user: &User, token: &StoredToken) -> R<()> {
        self.users.issue_token(user, token).await
    }
    async fn token(&self, hash: &str, purpose: TokenPurpose, now: i64) -> R<Option<StoredToken>> {
        self.users.token(hash, purpose, now).await
    }
    async fn reset_password(&self, t: &StoredToken, user: &User, hash: &str, now: i64) -> Result<(), TokenError> {
        self.users.reset_password(t, user, hash, now).await
    }
    async fn verify_email(&self, t: &StoredToken, user: &User) -> Result<(), TokenError> {
        self.users.verify_email(t, user).await
    }
    async fn mark_deleted(&self, user: &User, now: i64) -> R<()> {
        self.users.mark_deleted(user, now).await
    }
    async fn put_export(&self, user_id: &str, export: &Export) -> R<()> {
        self.users.put_export(user_id, export).await
    }
    async fn export(&self, user_id: &str, export_id: &str) -> R<Option<Export>> {
        self.users.export(user_id, export_id).await
    }
    async fn put_erasure(&self, user_id: &str, record: &serde_json::Value, expires_at: i64) -> R<()> {
        self.users.put_erasure(user_id, record, expires_at).await
    }
    async fn create_session(&self, new: &NewSession) -> R<()> {
        self.sessions.create(new).await
    }
    async fn rotate(&self, family: &str, presented: &str, next: &str, now: i64) -> R<Rotation> {
        self.sessions.rotate(family, presented, next, now).await
    }
    async fn revoke_family(&self, family: &str) -> R<()> {
        self.sessions.revoke(family).await
    }
    async fn family_active(&self, family: &str, now: i64) -> R<bool> {
        self.sessions.active(family, now).await
    }
    async fn sessions_of(&self, user_id: &str) -> R<Vec<StoredSession>> {
        self.sessions.sessions_of(user_id).await
    }
    async fn revoke_session_of_user(&self, user_id: &str, family: &str, now: i64) -> R<bool> {
        self.sessions.revoke_of_user(user_id, family, now).await
    }
    async fn revoke_all_of_user(&self, user_id: &str, keep: Option<&str>, now: i64) -> R<u32> {
        self.sessions.revoke_all_of_user(user_id, keep, now).await
    }
    async fn lockout(&self, key: &str) -> R<Option<Lockout>> {
        self.lockouts.lockout(key).await
    }
    async fn record_failure(&self, key: &str, now: i64, window_s: i64) -> R<Lockout> {
        self.lockouts.record_failure(key, now, window_s).await
    }
    async fn lock(&self, key: &str, until: i64) -> R<()> {
        self.lockouts.lock(key, until).await
    }
    async fn clear_lockout(&self, key: &str) -> R<()> {
        self.lockouts.clear(key).await
    }
}
