//! The audit table: per-user security events for the "recent activity" page.
//!
//! `user_id` (S) + `sk` (S, `<unix ms:013>#<seq:06>#<random>`) → `action`, `outcome`, `at`,
//! optional `source_ip`, `detail`; TTL `expires_at`.

use aws_sdk_dynamodb::types::AttributeValue;

use crate::audit::{AuditEvent, AuditStore};
use crate::dynamo::{StoreError, get_n, get_s};

/// The audit table (an [`AuditStore`]). Any function that authenticates API keys writes
/// their first use here.
#[derive(Clone, Debug)]
pub struct AuditTable {
    client: aws_sdk_dynamodb::Client,
    table: String,
    retention_s: i64,
}

impl AuditTable {
    /// Events in `table`, kept for `retention_days`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>, retention_days: i64) -> Self {
        Self { client, table: table.into(), retention_s: retention_days * 86_400 }
    }

    /// The user's most recent events, newest first.
    pub async fn recent(&self, user_id: &str, limit: i32) -> Result<Vec<AuditEvent>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("user_id = :u")
            .expression_attribute_values(":u", AttributeValue::S(user_id.to_owned()))
            .scan_index_forward(false)
            .limit(limit)
            .send()
            .await
            .map_err(|e| StoreError::from_sdk(&e))?;
        Ok(out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|i| {
                Some(AuditEvent {
                    action: get_s(i, "action")?,
                    outcome: get_s(i, "outcome")?,
                    user_id: get_s(i, "user_id"),
                    source_ip: get_s(i, "source_ip"),
                    at: get_n(i, "at")?,
                    detail: get_s(i, "detail"),
                })
            })
            .collect())
    }
}

/// Milliseconds, then a per-process sequence: events of one instance keep their order even
/// within a millisecond; a random tail keeps instances apart.
fn sort_key() -> String {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 1_000_000;
    let ms = chrono::Utc::now().timestamp_millis();
    format!("{ms:013}#{seq:06}#{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

impl AuditStore for AuditTable {
    async fn record(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let Some(user_id) = &event.user_id else { return Ok(()) };
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let n = |v: i64| AttributeValue::N(v.to_string());
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("user_id", s(user_id))
            .item("sk", s(&sort_key()))
            .item("action", s(&event.action))
            .item("outcome", s(&event.outcome))
            .item("at", n(event.at))
            .item("expires_at", n(event.at + self.retention_s));
        if let Some(ip) = &event.source_ip {
            req = req.item("source_ip", s(ip));
        }
        if let Some(detail) = &event.detail {
            req = req.item("detail", s(detail));
        }
        req.send().await.map_err(|e| StoreError::from_sdk(&e))?;
        Ok(())
    }
}
