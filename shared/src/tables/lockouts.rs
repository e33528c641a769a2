//! The lockouts table: counters over a time window, one item per key. `email` (S) →
//! `failures` (N) in the window starting `window_start`, `locked_until` (Unix s); TTL
//! `expires_at`. Keys:
//! - `<email>`: failed logins (and failed password confirmations) of an address;
//! - `rate#<what>#<subject>`: requests counted for a rate limit (password resets per
//!   address and per client, verification mails and exports per account).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::ReturnValue;

use crate::dynamo::{Item, StoreError, get_n, n, s, sdk_err};

/// A counter's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    pub failures: u32,
    pub window_start: i64,
    pub locked_until: Option<i64>,
}

/// The key of a rate limit's counter.
pub fn rate_key(what: &str, subject: &str) -> String {
    format!("rate#{what}#{subject}")
}

/// Rate limits whose subject is a login address (erased with the account).
pub const ADDRESS_RATES: &[&str] = &["reset-email"];

/// The lockouts table.
#[derive(Clone, Debug)]
pub struct LockoutsTable {
    client: Client,
    table: String,
}

impl LockoutsTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// The counter under `key`.
    pub async fn lockout(&self, key: &str) -> Result<Option<Lockout>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("email", s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out.item.map(|i| Lockout {
            failures: get_n(&i, "failures").unwrap_or_default() as u32,
            window_start: get_n(&i, "window_start").unwrap_or_default(),
            locked_until: get_n(&i, "locked_until"),
        }))
    }

    /// Counts one (a new window when the old one is over); returns the new state.
    pub async fn record_failure(&self, key: &str, now: i64, window_s: i64) -> Result<Lockout, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("email", s(key))
            .update_expression("SET window_start = :now, failures = :one, expires_at = :exp REMOVE locked_until")
            .condition_expression("attribute_not_exists(email) OR window_start < :window_floor")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":exp", n(now + window_s * 2))
            .expression_attribute_values(":window_floor", n(now - window_s))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let attributes: Item = match out.map(|o| o.attributes).map_err(sdk_err) {
            Ok(attrs) => attrs.unwrap_or_default(),
            Err(StoreError::ConditionFailed) => {
                // Inside the current window: count it.
                self.client
                    .update_item()
                    .table_name(&self.table)
                    .key("email", s(key))
                    .update_expression("ADD failures :one")
                    .expression_attribute_values(":one", n(1))
                    .return_values(ReturnValue::AllNew)
                    .send()
                    .await
                    .map_err(sdk_err)?
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

    /// Locks `key` until `until`.
    pub async fn lock(&self, key: &str, until: i64) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("email", s(key))
            .update_expression("SET locked_until = :until, expires_at = :exp")
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":exp", n(until + 86_400))
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(())
    }

    /// Forgets the counter.
    pub async fn clear(&self, key: &str) -> Result<(), StoreError> {
        self.client.delete_item().table_name(&self.table).key("email", s(key)).send().await.map_err(sdk_err)?;
        Ok(())
    }
}
