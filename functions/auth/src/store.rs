//! DynamoDB adapters for the auth function's tables, one small method per need.
//!
//! - users: `EMAIL#<email>` and `USER#<id>` items written in one transaction (the email item
//!   makes emails unique by a conditional write; the id item serves `/me`).
//! - refresh families: `family_id` → current `jti`, scopes, revoked; TTL `expires_at`.
//! - lockouts: `email` → failures in the window, `locked_until`; TTL `expires_at`.
//!
//! API keys and the audit trail live in `petty_shared::tables` (other functions read them).

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};
use petty_shared::dynamo::{
    Item, StoreError, get_bool, get_n, get_s, get_string_list as get_l, n, s, sdk_err as sdk, string_list as l,
};

/// An account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub user_id: String,
    pub email: String,
    pub name: Option<String>,
    pub password_hash: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
}

impl User {
    fn to_item(&self, pk: String) -> Item {
        let mut item = HashMap::from([
            ("pk".to_owned(), s(pk)),
            ("user_id".to_owned(), s(&self.user_id)),
            ("email".to_owned(), s(&self.email)),
            ("password_hash".to_owned(), s(&self.password_hash)),
            ("scopes".to_owned(), l(&self.scopes)),
            ("created_at".to_owned(), n(self.created_at)),
        ]);
        if let Some(name) = &self.name {
            item.insert("name".into(), s(name));
        }
        item
    }

    fn from_item(item: &Item) -> Option<Self> {
        Some(Self {
            user_id: get_s(item, "user_id")?,
            email: get_s(item, "email")?,
            name: get_s(item, "name"),
            password_hash: get_s(item, "password_hash")?,
            scopes: get_l(item, "scopes"),
            created_at: get_n(item, "created_at").unwrap_or_default(),
        })
    }
}

/// What presenting a refresh token did to its family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was current: the family now expects `new_jti`; scopes carried over.
    Rotated { scopes: Vec<String> },
    /// The token was already used: the family is now revoked.
    Reused { user_id: String },
    /// The family is revoked, expired or unknown.
    Dead,
}

/// A failed-login counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    pub failures: u32,
    pub window_start: i64,
    pub locked_until: Option<i64>,
}

/// The auth function's storage.
#[derive(Clone, Debug)]
pub struct AuthStore {
    client: Client,
    users: String,
    families: String,
    lockouts: String,
}

impl AuthStore {
    /// Over the given tables.
    pub fn new(client: Client, cfg: &crate::AuthConfig) -> Self {
        Self {
            client,
            users: cfg.users_table.clone(),
            families: cfg.families_table.clone(),
            lockouts: cfg.lockouts_table.clone(),
        }
    }

    /// Creates the account; `ConditionFailed` when the email is taken.
    pub async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let put = |pk: String| {
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&self.users)
                        .set_item(Some(user.to_item(pk)))
                        .condition_expression("attribute_not_exists(pk)")
                        .build()
                        .expect("table, item"),
                )
                .build()
        };
        let result = self
            .client
            .transact_write_items()
            .transact_items(put(format!("EMAIL#{}", user.email)))
            .transact_items(put(format!("USER#{}", user.user_id)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => {
                let is_conflict = err
                    .as_service_error()
                    .and_then(|e| match e {
                        TransactWriteItemsError::TransactionCanceledException(c) => c.cancellation_reasons.as_ref(),
                        _ => None,
                    })
                    .is_some_and(|reasons| reasons.iter().any(|r| r.code() == Some("ConditionalCheckFailed")));
                if is_conflict { Err(StoreError::ConditionFailed) } else { Err(sdk(err)) }
            }
        }
    }

    async fn user_by_pk(&self, pk: String) -> Result<Option<User>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.users)
            .key("pk", s(pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        Ok(out.item.as_ref().and_then(User::from_item))
    }

    /// The account with this (normalized) email.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.user_by_pk(format!("EMAIL#{email}")).await
    }

    /// The account with this id.
    pub async fn user_by_id(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        self.user_by_pk(format!("USER#{user_id}")).await
    }

    /// Starts a refresh family whose current token is `jti`.
    pub async fn create_family(
        &self,
        family: &str,
        user_id: &str,
        jti: &str,
        scopes: &[String],
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.families)
            .item("family_id", s(family))
            .item("user_id", s(user_id))
            .item("current_jti", s(jti))
            .item("scopes", l(scopes))
            .item("revoked", AttributeValue::Bool(false))
            .item("expires_at", n(expires_at))
            .condition_expression("attribute_not_exists(family_id)")
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    /// Consumes `presented` and makes `next` current, atomically; a token presented twice
    /// revokes the family (the stolen-token case).
    pub async fn rotate(&self, family: &str, presented: &str, next: &str, now: i64) -> Result<Rotation, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.families)
            .key("family_id", s(family))
            .update_expression("SET current_jti = :next, rotated_at = :now")
            .condition_expression("current_jti = :presented AND revoked = :false AND expires_at > :now")
            .expression_attribute_values(":next", s(next))
            .expression_attribute_values(":presented", s(presented))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Rotation::Rotated {
                scopes: out.attributes.as_ref().map(|a| get_l(a, "scopes")).unwrap_or_default(),
            }),
            Err(err) => match sdk(err) {
                StoreError::ConditionFailed => {
                    let current = self
                        .client
                        .get_item()
                        .table_name(&self.families)
                        .key("family_id", s(family))
                        .consistent_read(true)
                        .send()
                        .await
                        .map_err(sdk)?
                        .item;
                    let Some(item) = current else { return Ok(Rotation::Dead) };
                    let revoked = get_bool(&item, "revoked").unwrap_or(true);
                    let live = get_n(&item, "expires_at").is_some_and(|e| e > now);
                    if revoked || !live {
                        return Ok(Rotation::Dead);
                    }
                    self.revoke_family(family).await?;
                    Ok(Rotation::Reused { user_id: get_s(&item, "user_id").unwrap_or_default() })
                }
                other => Err(other),
            },
        }
    }

    /// Revokes a family: its refresh tokens die, and so do its access tokens on auth routes.
    pub async fn revoke_family(&self, family: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.families)
            .key("family_id", s(family))
            .update_expression("SET revoked = :true")
            .condition_expression("attribute_exists(family_id)")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    /// True when the family exists, is not revoked and has not expired.
    pub async fn family_active(&self, family: &str, now: i64) -> Result<bool, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.families)
            .key("family_id", s(family))
            .projection_expression("revoked, expires_at")
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        Ok(out.item.is_some_and(|i| {
            !get_bool(&i, "revoked").unwrap_or(true) && get_n(&i, "expires_at").is_some_and(|e| e > now)
        }))
    }

    /// The failed-login counter for an email.
    pub async fn lockout(&self, email: &str) -> Result<Option<Lockout>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.lockouts)
            .key("email", s(email))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        Ok(out.item.map(|i| Lockout {
            failures: get_n(&i, "failures").unwrap_or_default() as u32,
            window_start: get_n(&i, "window_start").unwrap_or_default(),
            locked_until: get_n(&i, "locked_until"),
        }))
    }

    /// Counts a failure (a new window when the old one is over); returns the new state.
    pub async fn record_failure(&self, email: &str, now: i64, window_s: i64) -> Result<Lockout, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.lockouts)
            .key("email", s(email))
            .update_expression("SET window_start = :now, failures = :one, expires_at = :exp REMOVE locked_until")
            .condition_expression("attribute_not_exists(email) OR window_start < :window_floor")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":exp", n(now + window_s * 2))
            .expression_attribute_values(":window_floor", n(now - window_s))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let attributes = match result_attributes(out) {
            Ok(Some(attrs)) => attrs,
            Ok(None) => Item::new(),
            Err(StoreError::ConditionFailed) => {
                // Inside the current window: count it.
                self.client
                    .update_item()
                    .table_name(&self.lockouts)
                    .key("email", s(email))
                    .update_expression("ADD failures :one")
                    .expression_attribute_values(":one", n(1))
                    .return_values(ReturnValue::AllNew)
                    .send()
                    .await
                    .map_err(sdk)?
                    .attributes
                    .unwrap_or_default()
            }
            Err(other) => return Err(other),
        };
        Ok(Lockout {
            failures: get_n(&attributes, "failures").unwrap_or(1) as u32,
            window_start: get_n(&attributes, "window_start").unwrap_or(now),
            locked_until: get_n(&attributes, "locked_until"),
        })
    }

    /// Locks the account until `until`.
    pub async fn lock(&self, email: &str, until: i64) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.lockouts)
            .key("email", s(email))
            .update_expression("SET locked_until = :until, expires_at = :exp")
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":exp", n(until + 86_400))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    /// Forgets failures after a successful login.
    pub async fn clear_lockout(&self, email: &str) -> Result<(), StoreError> {
        self.client.delete_item().table_name(&self.lockouts).key("email", s(email)).send().await.map_err(sdk)?;
        Ok(())
    }
}

/// The auth function's account storage: users, refresh families, lockouts (the DynamoDB
/// adapter is [`AuthStore`]; unit tests use an in-memory double).
pub trait AccountStore: Send + Sync {
    /// Creates the account; `ConditionFailed` when the email is taken.
    fn create_user(&self, user: &User) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The account with this (normalized) email.
    fn user_by_email(&self, email: &str) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;
    /// The account with this id.
    fn user_by_id(&self, user_id: &str) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;
    /// Starts a refresh family whose current token is `jti`.
    fn create_family(
        &self,
        family: &str,
        user_id: &str,
        jti: &str,
        scopes: &[String],
        expires_at: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Consumes `presented` and makes `next` current, atomically; a token presented twice
    /// revokes the family (the stolen-token case).
    fn rotate(
        &self,
        family: &str,
        presented: &str,
        next: &str,
        now: i64,
    ) -> impl Future<Output = Result<Rotation, StoreError>> + Send;
    /// Revokes a family: its refresh tokens die, and so do its access tokens on auth routes.
    fn revoke_family(&self, family: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// True when the family exists, is not revoked and has not expired.
    fn family_active(&self, family: &str, now: i64) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The failed-login counter for an email.
    fn lockout(&self, email: &str) -> impl Future<Output = Result<Option<Lockout>, StoreError>> + Send;
    /// Counts a failure (a new window when the old one is over); returns the new state.
    fn record_failure(
        &self,
        email: &str,
        now: i64,
        window_s: i64,
    ) -> impl Future<Output = Result<Lockout, StoreError>> + Send;
    /// Locks the account until `until`.
    fn lock(&self, email: &str, until: i64) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Forgets failures after a successful login.
    fn clear_lockout(&self, email: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl AccountStore for AuthStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        AuthStore::create_user(self, user).await
    }
    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        AuthStore::user_by_email(self, email).await
    }
    async fn user_by_id(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        AuthStore::user_by_id(self, user_id).await
    }
    async fn create_family(
        &self,
        family: &str,
        user_id: &str,
        jti: &str,
        scopes: &[String],
        expires_at: i64,
    ) -> Result<(), StoreError> {
        AuthStore::create_family(self, family, user_id, jti, scopes, expires_at).await
    }
    async fn rotate(&self, family: &str, presented: &str, next: &str, now: i64) -> Result<Rotation, StoreError> {
        AuthStore::rotate(self, family, presented, next, now).await
    }
    async fn revoke_family(&self, family: &str) -> Result<(), StoreError> {
        AuthStore::revoke_family(self, family).await
    }
    async fn family_active(&self, family: &str, now: i64) -> Result<bool, StoreError> {
        AuthStore::family_active(self, family, now).await
    }
    async fn lockout(&self, email: &str) -> Result<Option<Lockout>, StoreError> {
        AuthStore::lockout(self, email).await
    }
    async fn record_failure(&self, email: &str, now: i64, window_s: i64) -> Result<Lockout, StoreError> {
        AuthStore::record_failure(self, email, now, window_s).await
    }
    async fn lock(&self, email: &str, until: i64) -> Result<(), StoreError> {
        AuthStore::lock(self, email, until).await
    }
    async fn clear_lockout(&self, email: &str) -> Result<(), StoreError> {
        AuthStore::clear_lockout(self, email).await
    }
}

fn result_attributes<E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static, R>(
    out: Result<aws_sdk_dynamodb::operation::update_item::UpdateItemOutput, aws_sdk_dynamodb::error::SdkError<E, R>>,
) -> Result<Option<Item>, StoreError> {
    out.map(|o| o.attributes).map_err(sdk)
}
