//! The claim-attempts table: counters that bound claiming, one item per subject and window.
//!
//! `subject` (S) → `count` (N); TTL `expires_at`. Subjects:
//! - `attempt#user#<user id>#<window>` and `attempt#collar#<serial>#<window>`: claim attempts
//!   of an account and on a serial in a lockout window (counted before the code is checked,
//!   atomically, so parallel guesses all count);
//! - `claimed#user#<user id>#<hour>`: collars an account claimed in an hour (the quota).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::ReturnValue;

use crate::dynamo::{StoreError, get_n, n, s, sdk_err};

/// The claim-attempts table.
#[derive(Clone, Debug)]
pub struct ClaimAttemptsTable {
    client: Client,
    table: String,
}

impl ClaimAttemptsTable {
    /// Over `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// Adds one to `subject`'s counter (kept until `expires_at`, Unix s); the new count.
    pub async fn bump_counter(&self, subject: &str, expires_at: i64) -> Result<u32, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("subject", s(subject))
            .update_expression("ADD #count :one SET expires_at = if_not_exists(expires_at, :exp)")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":exp", n(expires_at))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out.attributes.as_ref().and_then(|a| get_n(a, "count")).unwrap_or(1).clamp(0, i64::from(u32::MAX)) as u32)
    }

    /// `subject`'s counter (0 when there is none); a strongly consistent read.
    pub async fn counter(&self, subject: &str) -> Result<u32, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("subject", s(subject))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_err)?;
        Ok(out.item.as_ref().and_then(|i| get_n(i, "count")).unwrap_or(0).clamp(0, i64::from(u32::MAX)) as u32)
    }
}
