//! The API keys table: `key_id` (S) → `user_id`, `name`, `scopes`, `collar_ids`,
//! `secret_hash` (never the key), `created_at`, `expires_at`, `revoked`, `revoked_at`,
//! `last_used_at`; TTL `ttl` (a day past expiry, so a late request still gets a clear 401);
//! GSI `user_id-index` lists a user's keys.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use crate::auth::{ApiKeyRecord, ApiKeyStore};
use crate::dynamo::{Item, StoreError, get_bool, get_n, get_s, get_string_list, n, query_all, s, sdk_err, string_list};

/// A stored API key item back as a record; `None` when malformed.
fn record_from(item: &Item) -> Option<ApiKeyRecord> {
    Some(ApiKeyRecord {
        key_id: get_s(item, "key_id")?,
        user_id: get_s(item, "user_id")?,
        name: get_s(item, "name").unwrap_or_default(),
        scopes: get_string_list(item, "scopes"),
        collar_ids: get_string_list(item, "collar_ids"),
        secret_hash: get_s(item, "secret_hash")?,
        created_at: get_n(item, "created_at").unwrap_or_default(),
        expires_at: get_n(item, "expires_at"),
        revoked: get_bool(item, "revoked").unwrap_or(false),
        last_used_at: get_n(item, "last_used_at"),
    })
}

/// The API keys table.
#[derive(Clone, Debug)]
pub struct ApiKeysTable {
    client: Client,
    table: String,
}

impl ApiKeysTable {
    /// Over `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// Stores a new API key (its hash).
    pub async fn put_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("key_id", s(&key.key_id))
            .item("user_id", s(&key.user_id))
            .item("name", s(&key.name))
            .item("scopes", string_list(&key.scopes))
            .item("collar_ids", string_list(&key.collar_ids))
            .item("secret_hash", s(&key.secret_hash))
            .item("created_at", n(key.created_at))
            .item("revoked", AttributeValue::Bool(false))
            .condition_expression("attribute_not_exists(key_id)");
        if let Some(exp) = key.expires_at {
            req = req.item("expires_at", n(exp)).item("ttl", n(exp + 86_400));
        }
        req.send().await.map_err(sdk_err)?;
        Ok(())
    }

    /// A user's keys, newest first (every page).
    pub async fn keys_of_user(&self, user_id: &str) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let items = query_all(
            self.client
                .query()
                .table_name(&self.table)
                .index_name("user_id-index")
                .key_condition_expression("user_id = :u")
                .expression_attribute_values(":u", s(user_id)),
        )
        .await?;
        let mut keys: Vec<ApiKeyRecord> = items.iter().filter_map(record_from).collect();
        keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.key_id.cmp(&b.key_id)));
        Ok(keys)
    }

    /// Revokes a key the user owns; `ConditionFailed` when it is not theirs or does not exist.
    pub async fn revoke_key(&self, user_id: &str, key_id: &str, now: i64) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("key_id", s(key_id))
            .update_expression("SET revoked = :true, revoked_at = :now")
            .condition_expression("user_id = :u")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":u", s(user_id))
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }
}

impl ApiKeyStore for ApiKeysTable {
    async fn get(&self, key_id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("key_id", s(key_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out.item.as_ref().and_then(record_from))
    }

    async fn touch(&self, key_id: &str, now: i64, not_after: i64) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("key_id", s(key_id))
            .update_expression("SET last_used_at = :now")
            .condition_expression(
                "attribute_exists(key_id) AND (attribute_not_exists(last_used_at) OR last_used_at < :cutoff)",
            )
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":cutoff", n(not_after))
            .return_values(ReturnValue::UpdatedOld)
            .send()
            .await;
        match result.map_err(sdk_err) {
            Ok(out) => Ok(out.attributes.is_none_or(|old| !old.contains_key("last_used_at"))),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(other) => Err(other),
        }
    }
}
