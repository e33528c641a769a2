//! The users table: accounts, their one-time tokens, exports and erasures. Hash key `pk` (S):
//!
//! - `USER#<id>`: the account (`user_id`, `email`, `name`, `password_hash`, `scopes`,
//!   `created_at`, `email_verified`, `timezone`, `locale`, `pending_email`, `deleted_at`,
//!   `disabled`) and the hashes of its open tokens (`reset_token`, `verify_token`). The
//!   authoritative copy.
//! - `EMAIL#<email>`: a copy of the account under its login address, written in the same
//!   transaction: the conditional put makes addresses unique, and login reads one item. Every
//!   change of the password or of the account's state updates both items in one transaction.
//! - `TOKEN#<sha256 of the token>`: an open one-time token (`purpose`, `user_id`, `email` it
//!   was sent to); TTL `expires_at`. Only its hash is stored; the account names its current
//!   token per purpose, so a new request invalidates the old one.
//! - `EXPORT#<user>#<export id>`: an export's status; TTL `expires_at` (7 days).
//! - `ERASURE#<user>`: an erasure's progress (ids, counts, times; never the address once done).

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use crate::dynamo::{
    Item, StoreError, TransactError, get_bool, get_n, get_s, get_string_list, n, s, sdk_err, string_list, transact,
};

/// Attribute names.
pub mod attr {
    pub const PK: &str = "pk";
    pub const USER_ID: &str = "user_id";
    pub const EMAIL: &str = "email";
    pub const NAME: &str = "name";
    pub const PASSWORD_HASH: &str = "password_hash";
    pub const SCOPES: &str = "scopes";
    pub const CREATED_AT: &str = "created_at";
    pub const EMAIL_VERIFIED: &str = "email_verified";
    pub const TIMEZONE: &str = "timezone";
    pub const LOCALE: &str = "locale";
    pub const PENDING_EMAIL: &str = "pending_email";
    pub const DELETED_AT: &str = "deleted_at";
    pub const DISABLED: &str = "disabled";
    pub const PASSWORD_CHANGED_AT: &str = "password_changed_at";
    pub const PURPOSE: &str = "purpose";
    pub const EXPIRES_AT: &str = "expires_at";
    pub const RECORD: &str = "record";
}

/// The account item's key.
pub fn user_key(user_id: &str) -> String {
    format!("USER#{user_id}")
}

/// The login-address item's key.
pub fn email_key(email: &str) -> String {
    format!("EMAIL#{email}")
}

fn token_key(hash: &str) -> String {
    format!("TOKEN#{hash}")
}

fn export_key(user_id: &str, export_id: &str) -> String {
    format!("EXPORT#{user_id}#{export_id}")
}

fn erasure_key(user_id: &str) -> String {
    format!("ERASURE#{user_id}")
}

/// What a household sees of an account ([`UsersTable::person`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub email: String,
    pub email_verified: bool,
    pub name: Option<String>,
    /// Not deleted, not disabled.
    pub active: bool,
}

/// An account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct User {
    pub user_id: String,
    pub email: String,
    pub name: Option<String>,
    pub password_hash: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub email_verified: bool,
    pub timezone: Option<String>,
    pub locale: Option<String>,
    pub pending_email: Option<String>,
    /// Set by `DELETE /v1/auth/me`: the account is closed and being erased.
    pub deleted_at: Option<i64>,
    /// Set by an operator: no login, no refresh.
    pub disabled: bool,
    /// Hash of the open password-reset token.
    pub reset_token: Option<String>,
    /// Hash of the open e-mail verification token.
    pub verify_token: Option<String>,
}

impl User {
    /// False once the account is deleted or disabled: it may not sign in or refresh.
    pub fn active(&self) -> bool {
        self.deleted_at.is_none() && !self.disabled
    }

    /// The hash of the open token of `purpose` (named on `USER#` only).
    pub fn open_token(&self, purpose: TokenPurpose) -> Option<&str> {
        match purpose {
            TokenPurpose::PasswordReset => self.reset_token.as_deref(),
            TokenPurpose::VerifyEmail => self.verify_token.as_deref(),
        }
    }

    fn to_item(&self, pk: String) -> Item {
        let mut item = HashMap::from([
            (attr::PK.to_owned(), s(pk)),
            (attr::USER_ID.to_owned(), s(&self.user_id)),
            (attr::EMAIL.to_owned(), s(&self.email)),
            (attr::PASSWORD_HASH.to_owned(), s(&self.password_hash)),
            (attr::SCOPES.to_owned(), string_list(&self.scopes)),
            (attr::CREATED_AT.to_owned(), n(self.created_at)),
            (attr::EMAIL_VERIFIED.to_owned(), AttributeValue::Bool(self.email_verified)),
        ]);
        for (k, v) in [(attr::NAME, &self.name), (attr::TIMEZONE, &self.timezone), (attr::LOCALE, &self.locale)] {
            if let Some(v) = v {
                item.insert(k.into(), s(v));
            }
        }
        item
    }

    fn from_item(item: &Item) -> Option<Self> {
        Some(Self {
            user_id: get_s(item, attr::USER_ID)?,
            email: get_s(item, attr::EMAIL)?,
            name: get_s(item, attr::NAME),
            password_hash: get_s(item, attr::PASSWORD_HASH)?,
            scopes: get_string_list(item, attr::SCOPES),
            created_at: get_n(item, attr::CREATED_AT).unwrap_or_default(),
            email_verified: get_bool(item, attr::EMAIL_VERIFIED).unwrap_or(false),
            timezone: get_s(item, attr::TIMEZONE),
            locale: get_s(item, attr::LOCALE),
            pending_email: get_s(item, attr::PENDING_EMAIL),
            deleted_at: get_n(item, attr::DELETED_AT),
            disabled: get_bool(item, attr::DISABLED).unwrap_or(false),
            reset_token: get_s(item, TokenPurpose::PasswordReset.attribute()),
            verify_token: get_s(item, TokenPurpose::VerifyEmail.attribute()),
        })
    }
}

/// What a one-time token is for: a token of one purpose is worthless for the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenPurpose {
    PasswordReset,
    VerifyEmail,
}

impl TokenPurpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::VerifyEmail => "verify_email",
        }
    }

    /// The account attribute naming the open token of this purpose.
    pub fn attribute(self) -> &'static str {
        match self {
            Self::PasswordReset => "reset_token",
            Self::VerifyEmail => "verify_token",
        }
    }

    fn parse(v: &str) -> Option<Self> {
        [Self::PasswordReset, Self::VerifyEmail].into_iter().find(|p| p.as_str() == v)
    }
}

/// An open token, as stored (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredToken {
    pub hash: String,
    pub purpose: TokenPurpose,
    pub user_id: String,
    /// The address it was sent to.
    pub email: String,
    pub expires_at: i64,
}

/// Why consuming a token failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Unknown, used, replaced, expired, or for another purpose.
    #[error("token is invalid, used or expired")]
    Invalid,
    /// The new address became someone's login meanwhile.
    #[error("address taken")]
    EmailTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The users table.
#[derive(Clone, Debug)]
pub struct UsersTable {
    client: Client,
    table: String,
}

impl UsersTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    fn put(&self, item: Item, condition: &str) -> TransactWriteItem {
        let put = Put::builder().table_name(&self.table).set_item(Some(item)).condition_expression(condition);
        TransactWriteItem::builder().put(put.build().expect("table, item")).build()
    }

    fn delete(&self, pk: String, condition: Option<(&str, Vec<(&str, AttributeValue)>)>) -> TransactWriteItem {
        let mut d = Delete::builder().table_name(&self.table).key(attr::PK, s(pk));
        if let Some((expr, values)) = condition {
            d = d.condition_expression(expr);
            for (k, v) in values {
                d = d.expression_attribute_values(k, v);
            }
        }
        TransactWriteItem::builder().delete(d.build().expect("table, key")).build()
    }

    fn update(&self, pk: String, expr: &str, condition: &str, values: &[(&str, AttributeValue)]) -> TransactWriteItem {
        self.update_named(pk, expr, condition, values, &[])
    }

    /// An update whose expression names attributes by placeholders (`name` is reserved).
    fn update_named(
        &self,
        pk: String,
        expr: &str,
        condition: &str,
        values: &[(&str, AttributeValue)],
        names: &[(String, &str)],
    ) -> TransactWriteItem {
        let mut u = Update::builder()
            .table_name(&self.table)
            .key(attr::PK, s(pk))
            .update_expression(expr)
            .condition_expression(condition);
        for (k, v) in values {
            u = u.expression_attribute_values(*k, v.clone());
        }
        for (placeholder, name) in names {
            u = u.expression_attribute_names(placeholder, *name);
        }
        TransactWriteItem::builder().update(u.build().expect("table, key, expression")).build()
    }

    /// The same change to both copies of an account (`USER#`, `EMAIL#`), only while it is
    /// not deleted.
    fn update_both(&self, user: &User, expr: &str, values: &[(&str, AttributeValue)]) -> Vec<TransactWriteItem> {
        let cond = "attribute_exists(pk) AND attribute_not_exists(deleted_at)";
        vec![
            self.update(user_key(&user.user_id), expr, cond, values),
            self.update(email_key(&user.email), expr, cond, values),
        ]
    }

    /// Creates the account; `ConditionFailed` when the address is taken.
    pub async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let cond = "attribute_not_exists(pk)";
        let items = vec![
            self.put(user.to_item(email_key(&user.email)), cond),
            self.put(user.to_item(user_key(&user.user_id)), cond),
        ];
        transact(&self.client, items).await.map_err(StoreError::from)
    }

    async fn get(&self, pk: String) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::PK, s(pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out.item)
    }

    /// The account with this (normalized) login address.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        Ok(self.get(email_key(email)).await?.as_ref().and_then(User::from_item))
    }

    /// The account with this id.
    pub async fn user_by_id(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        Ok(self.get(user_key(user_id)).await?.as_ref().and_then(User::from_item))
    }

    /// The account's contact address and whether it is verified (the notifier's read: its
    /// role may read only these attributes of `USER#` items).
    pub async fn contact(&self, user_id: &str) -> Result<Option<(String, bool)>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::PK, s(user_key(user_id)))
            .projection_expression("pk, email, email_verified")
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out
            .item
            .as_ref()
            .and_then(|i| Some((get_s(i, attr::EMAIL)?, get_bool(i, attr::EMAIL_VERIFIED).unwrap_or(false)))))
    }

    /// The account's IANA time zone, when set (a claimed pet's default zone: the data
    /// processor's role may read only `pk` and `timezone` of `USER#` items).
    pub async fn timezone(&self, user_id: &str) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::PK, s(user_key(user_id)))
            .projection_expression("pk, #tz")
            .expression_attribute_names("#tz", attr::TIMEZONE) // a reserved word
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out.item.as_ref().and_then(|i| get_s(i, attr::TIMEZONE)))
    }

    /// A person as a household shows them: address, whether it is verified, name and whether
    /// the account is open (a projection: never the password hash or a token).
    pub async fn person(&self, user_id: &str) -> Result<Option<Person>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::PK, s(user_key(user_id)))
            .projection_expression("pk, email, email_verified, #n, deleted_at, disabled")
            .expression_attribute_names("#n", attr::NAME)
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out.item.as_ref().and_then(|i| {
            Some(Person {
                email: get_s(i, attr::EMAIL)?,
                email_verified: get_bool(i, attr::EMAIL_VERIFIED).unwrap_or(false),
                name: get_s(i, attr::NAME),
                active: get_n(i, attr::DELETED_AT).is_none() && !get_bool(i, attr::DISABLED).unwrap_or(false),
            })
        }))
    }

    /// A new password hash on both copies; `ConditionFailed` when the account is gone.
    pub async fn set_password(&self, user: &User, hash: &str, now: i64) -> Result<(), StoreError> {
        let items = self.update_both(
            user,
            "SET password_hash = :h, password_changed_at = :now",
            &[(":h", s(hash)), (":now", n(now))],
        );
        transact(&self.client, items).await.map_err(StoreError::from)
    }

    /// Name, time zone, locale and the pending address (`None` leaves a field; `Some("")`
    /// removes it).
    pub async fn update_profile(
        &self,
        user: &User,
        changes: &[(&'static str, Option<String>)],
    ) -> Result<(), StoreError> {
        let (mut sets, mut removes, mut values, mut names) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (i, (name, value)) in changes.iter().enumerate() {
            let Some(value) = value else { continue };
            let placeholder = format!("#a{i}");
            if value.is_empty() {
                removes.push(placeholder.clone());
            } else {
                sets.push(format!("{placeholder} = :v{i}"));
                values.push((format!(":v{i}"), s(value)));
            }
            names.push((placeholder, *name));
        }
        if sets.is_empty() && removes.is_empty() {
            return Ok(());
        }
        let mut expr = String::new();
        if !sets.is_empty() {
            expr.push_str(&format!("SET {}", sets.join(", ")));
        }
        if !removes.is_empty() {
            expr.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let values: Vec<(&str, AttributeValue)> = values.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let cond = "attribute_exists(pk) AND attribute_not_exists(deleted_at)";
        let items = vec![
            self.update_named(user_key(&user.user_id), &expr, cond, &values, &names),
            self.update_named(email_key(&user.email), &expr, cond, &values, &names),
        ];
        transact(&self.client, items).await.map_err(StoreError::from)
    }

    /// Stores a new token of `purpose` for `user` (its hash), replacing and deleting the open
    /// one: only the newest works. `ConditionFailed` when another request raced this one.
    pub async fn issue_token(&self, user: &User, token: &StoredToken) -> Result<(), StoreError> {
        let item = HashMap::from([
            (attr::PK.to_owned(), s(token_key(&token.hash))),
            (attr::PURPOSE.to_owned(), s(token.purpose.as_str())),
            (attr::USER_ID.to_owned(), s(&token.user_id)),
            (attr::EMAIL.to_owned(), s(&token.email)),
            (attr::EXPIRES_AT.to_owned(), n(token.expires_at)),
        ]);
        let field = token.purpose.attribute();
        // The open token is named on `USER#` only (the login copy under `EMAIL#` has none): read
        // it there, whichever copy the caller holds.
        let current = self.user_by_id(&user.user_id).await?.ok_or(StoreError::ConditionFailed)?;
        let previous = current.open_token(token.purpose);
        let (cond, mut values) = match previous {
            Some(old) => (format!("{field} = :old AND attribute_not_exists(deleted_at)"), vec![(":old", s(old))]),
            None => (
                format!("attribute_exists(pk) AND attribute_not_exists({field}) AND attribute_not_exists(deleted_at)"),
                vec![],
            ),
        };
        values.push((":new", s(&token.hash)));
        let mut items = vec![
            self.put(item, "attribute_not_exists(pk)"),
            self.update(user_key(&user.user_id), &format!("SET {field} = :new"), &cond, &values),
        ];
        if let Some(old) = previous {
            items.push(self.delete(token_key(old), None));
        }
        transact(&self.client, items).await.map_err(StoreError::from)
    }

    /// The open token with this hash, if it exists, has not expired and is for `purpose`.
    pub async fn token(&self, hash: &str, purpose: TokenPurpose, now: i64) -> Result<Option<StoredToken>, StoreError> {
        let Some(item) = self.get(token_key(hash)).await? else { return Ok(None) };
        let token = StoredToken {
            hash: hash.to_owned(),
            purpose: match get_s(&item, attr::PURPOSE).as_deref().and_then(TokenPurpose::parse) {
                Some(p) => p,
                None => return Ok(None),
            },
            user_id: get_s(&item, attr::USER_ID).unwrap_or_default(),
            email: get_s(&item, attr::EMAIL).unwrap_or_default(),
            expires_at: get_n(&item, attr::EXPIRES_AT).unwrap_or_default(),
        };
        Ok((token.purpose == purpose && token.expires_at > now).then_some(token))
    }

    /// The token item's deletion, on condition it is still there and for its purpose: the
    /// single use (of two racing confirmations, one transaction wins).
    fn consume(&self, t: &StoredToken) -> TransactWriteItem {
        self.delete(
            token_key(&t.hash),
            Some(("attribute_exists(pk) AND purpose = :p", vec![(":p", s(t.purpose.as_str()))])),
        )
    }

    /// Consumes a reset token and sets the password, in one transaction.
    pub async fn reset_password(&self, t: &StoredToken, user: &User, hash: &str, now: i64) -> Result<(), TokenError> {
        let cond = "reset_token = :t AND attribute_not_exists(deleted_at)";
        let values = [(":t", s(&t.hash)), (":h", s(hash)), (":now", n(now))];
        let items = vec![
            self.consume(t),
            self.update(
                user_key(&user.user_id),
                "SET password_hash = :h, password_changed_at = :now REMOVE reset_token",
                cond,
                &values,
            ),
            self.update(
                email_key(&user.email),
                "SET password_hash = :h, password_changed_at = :now",
                "attribute_exists(pk) AND attribute_not_exists(deleted_at)",
                &values[1..],
            ),
        ];
        transact(&self.client, items).await.map_err(|e| match e {
            TransactError::Conditions(_) => TokenError::Invalid,
            TransactError::Store(s) => TokenError::Store(s),
        })
    }

    /// Consumes a verification token: marks the current address verified, or (a token sent to
    /// the pending address) makes the pending address the login, verified.
    pub async fn verify_email(&self, t: &StoredToken, user: &User) -> Result<(), TokenError> {
        let cond = "verify_token = :t AND attribute_not_exists(deleted_at)";
        let items = if t.email == user.email {
            let expr = "SET email_verified = :true";
            vec![
                self.consume(t),
                self.update(
                    user_key(&user.user_id),
                    "SET email_verified = :true REMOVE verify_token",
                    &format!("{cond} AND email = :e"),
                    &[(":t", s(&t.hash)), (":true", AttributeValue::Bool(true)), (":e", s(&user.email))],
                ),
                self.update(
                    email_key(&user.email),
                    expr,
                    "attribute_exists(pk)",
                    &[(":true", AttributeValue::Bool(true))],
                ),
            ]
        } else if user.pending_email.as_deref() == Some(t.email.as_str()) {
            let moved = User { email: t.email.clone(), email_verified: true, pending_email: None, ..user.clone() };
            vec![
                self.consume(t),
                self.update(
                    user_key(&user.user_id),
                    "SET email = :new, email_verified = :true REMOVE verify_token, pending_email",
                    &format!("{cond} AND pending_email = :new"),
                    &[(":t", s(&t.hash)), (":new", s(&t.email)), (":true", AttributeValue::Bool(true))],
                ),
                self.delete(email_key(&user.email), None),
                self.put(moved.to_item(email_key(&t.email)), "attribute_not_exists(pk)"),
            ]
        } else {
            return Err(TokenError::Invalid);
        };
        transact(&self.client, items).await.map_err(|e| match e {
            TransactError::Conditions(failed) if failed == [3] => TokenError::EmailTaken,
            TransactError::Conditions(_) => TokenError::Invalid,
            TransactError::Store(s) => TokenError::Store(s),
        })
    }

    /// Closes the account at once (both copies): no login, no refresh, no account route.
    pub async fn mark_deleted(&self, user: &User, now: i64) -> Result<(), StoreError> {
        transact(&self.client, self.update_both(user, "SET deleted_at = :now", &[(":now", n(now))]))
            .await
            .map_err(StoreError::from)
    }

    /// Erases the account's items: both copies and its open tokens (idempotent).
    pub async fn erase_account(&self, user_id: &str) -> Result<(), StoreError> {
        let Some(user) = self.user_by_id(user_id).await? else { return Ok(()) };
        let mut keys = vec![email_key(&user.email)];
        keys.extend([&user.reset_token, &user.verify_token].into_iter().flatten().map(|h| token_key(h)));
        for key in keys {
            // An `EMAIL#` item is deleted only while it still points at this account.
            let mut req = self.client.delete_item().table_name(&self.table).key(attr::PK, s(&key));
            if key.starts_with("EMAIL#") {
                req = req
                    .condition_expression("attribute_not_exists(pk) OR user_id = :u")
                    .expression_attribute_values(":u", s(user_id));
            }
            match req.send().await.map_err(sdk_err) {
                Ok(_) | Err(StoreError::ConditionFailed) => {}
                Err(other) => return Err(other),
            }
        }
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(attr::PK, s(user_key(user_id)))
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }

    /// Writes a job record (`EXPORT#…`, `ERASURE#…`) as JSON, with a TTL.
    async fn put_record(
        &self,
        pk: String,
        user_id: &str,
        record: &serde_json::Value,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(attr::PK, s(pk))
            .item(attr::USER_ID, s(user_id))
            .item(attr::RECORD, s(record.to_string()))
            .item(attr::EXPIRES_AT, n(expires_at))
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }

    async fn record(&self, pk: String) -> Result<Option<serde_json::Value>, StoreError> {
        Ok(self.get(pk).await?.and_then(|i| get_s(&i, attr::RECORD)).and_then(|r| serde_json::from_str(&r).ok()))
    }

    /// Saves an export's status (the wire type as JSON), kept until `expires_at`.
    pub async fn put_export(&self, user_id: &str, export: &petty_api::Export) -> Result<(), StoreError> {
        let record = serde_json::to_value(export).map_err(|e| StoreError::Other(e.to_string()))?;
        self.put_record(export_key(user_id, &export.export_id), user_id, &record, export.expires_at).await
    }

    /// The user's export with this id (another user's is `None`).
    pub async fn export(&self, user_id: &str, export_id: &str) -> Result<Option<petty_api::Export>, StoreError> {
        Ok(self.record(export_key(user_id, export_id)).await?.and_then(|v| serde_json::from_value(v).ok()))
    }

    /// Deletes an export's record.
    pub async fn delete_export(&self, user_id: &str, export_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(attr::PK, s(export_key(user_id, export_id)))
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }

    /// Saves an erasure's progress (JSON), kept until `expires_at`.
    pub async fn put_erasure(
        &self,
        user_id: &str,
        record: &serde_json::Value,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.put_record(erasure_key(user_id), user_id, record, expires_at).await
    }

    /// An erasure's progress.
    pub async fn erasure(&self, user_id: &str) -> Result<Option<serde_json::Value>, StoreError> {
        self.record(erasure_key(user_id)).await
    }
}
